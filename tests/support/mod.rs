//! A scripted, recording HTTP/1.1 server for the client's tests.
//!
//! It binds 127.0.0.1:0, records the method, raw path, raw query, headers and body of every
//! request, and answers each with the next scripted [`Reply`] (or the fallback): a status and
//! body, a gzip body, a body cut short, a dropped connection, or no answer at all. It is written
//! on raw TCP rather than axum so that it can misbehave exactly as a broken server or proxy does.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use pubnub_engine::{ConfigBuilder, PubNub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The raw (still encoded) path.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The raw query with the random `requestid` value replaced by `*`.
    pub fn masked_query(&self) -> String {
        self.query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some(("requestid", _)) => "requestid=*".to_string(),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The decoded value of a query parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| decode(value))
        })
    }

    /// The decoded path segments (split on `/` before decoding, as a server must).
    pub fn segments(&self) -> Vec<String> {
        self.path.split('/').skip(1).map(decode).collect()
    }
}

/// Percent-decodes `%XX` (a `+` stays a plus).
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("decoded UTF-8")
}

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status and body, with extra headers.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// The body gzip-compressed, with `Content-Encoding: gzip`.
    Gzip(u16, String),
    /// Headers claiming `claimed` bytes, then only `body`, then the connection closes.
    Truncated {
        status: u16,
        body: String,
        claimed: usize,
    },
    /// The connection closes without an answer.
    Drop,
    /// These bytes, as they are (status line, headers and all), then the connection closes.
    Raw(Vec<u8>),
    /// A 200 with a chunked body that never ends (until the client goes away).
    Endless,
    /// No answer, ever.
    Hang,
}

impl Reply {
    /// A JSON(-ish) body with `status`.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Full {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// The same reply with one more header.
    pub fn header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Full {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_string(), value.to_string()));
                Reply::Full {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

struct Shared {
    requests: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Reply>,
}

/// The server; it runs until the test's runtime ends.
pub struct TestServer {
    port: u16,
    shared: Arc<Shared>,
}

impl TestServer {
    /// A server answering `200 {"status":200,"message":"OK"}` until told otherwise.
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            fallback: Mutex::new(Reply::json(
                200,
                r#"{"status":200,"message":"OK","service":"test"}"#,
            )),
        });
        let accept = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, accept.clone()));
            }
        });
        TestServer { port, shared }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers the next request (after earlier scripted ones) with `reply`.
    pub fn push(&self, reply: Reply) {
        self.shared.script.lock().unwrap().push_back(reply);
    }

    /// Answers every unscripted request with `reply`.
    pub fn fallback(&self, reply: Reply) {
        *self.shared.fallback.lock().unwrap() = reply;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The only request so far.
    pub fn only(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected exactly one request: {requests:#?}"
        );
        requests.into_iter().next().unwrap()
    }

    /// A configuration builder pointed at this server, with keys `pub-key`/`sub-key` and
    /// user id `user-1`.
    pub fn builder(&self) -> ConfigBuilder {
        PubNub::builder("sub-key", "user-1")
            .publish_key("pub-key")
            .origin(self.url())
    }

    /// A client from [`TestServer::builder`].
    pub fn client(&self) -> PubNub {
        self.builder().build_client().expect("client")
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let mut start = lines.next().unwrap_or_default().split(' ');
        let method = start.next().unwrap_or_default().to_string();
        let target = start.next().unwrap_or_default().to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end..head_end + length].to_vec();
        buf.drain(..head_end + length);
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (target.clone(), String::new()),
        };
        shared.requests.lock().unwrap().push(Recorded {
            method,
            path,
            query,
            headers,
            body,
        });
        let reply = {
            let scripted = shared.script.lock().unwrap().pop_front();
            scripted.unwrap_or_else(|| shared.fallback.lock().unwrap().clone())
        };
        let ok = match reply {
            Reply::Full {
                status,
                headers,
                body,
            } => write(&mut stream, status, &headers, &body, body.len()).await,
            Reply::Gzip(status, body) => {
                let headers = [("Content-Encoding".to_string(), "gzip".to_string())];
                let gz = gzip(body.as_bytes());
                write(&mut stream, status, &headers, &gz, gz.len()).await
            }
            Reply::Truncated {
                status,
                body,
                claimed,
            } => {
                let _ = write(&mut stream, status, &[], body.as_bytes(), claimed).await;
                return;
            }
            Reply::Drop => return,
            Reply::Raw(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
                return;
            }
            Reply::Endless => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\n\
                            Transfer-Encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                // 64 KiB of JSON whitespace a chunk: it never ends, and never fails to parse.
                let chunk = [&b"10000\r\n"[..], &[b' '; 0x10000], b"\r\n"].concat();
                while stream.write_all(&chunk).await.is_ok() {}
                return;
            }
            Reply::Hang => std::future::pending().await,
        };
        if !ok {
            return;
        }
    }
}

async fn write(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    length: usize,
) -> bool {
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {length}\r\n");
    // The service's content type unless the reply names its own.
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("Content-Type: text/javascript; charset=UTF-8\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).await.is_ok() && stream.flush().await.is_ok()
}

/// A gzip member that inflates to `size` zero bytes (rounded up to 258) from ~1/160 of it: one
/// fixed-Huffman deflate block of a literal 0 and then (length 258, distance 1) copies. Its
/// trailer is left zero: a client that inflates it all fails on the CRC, after the damage.
pub fn gzip_bomb(size: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, bits: u32) {
            self.acc |= value << self.n;
            self.n += bits;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code: most significant bit first.
        fn code(&mut self, code: u64, bits: u32) {
            let reversed = (0..bits).fold(0, |r, i| r | (((code >> i) & 1) << (bits - 1 - i)));
            self.put(reversed, bits);
        }
    }
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // last block
    bits.put(1, 2); // fixed Huffman
    bits.code(0x30, 8); // literal 0
    for _ in 0..size.div_ceil(258) {
        bits.code(0b1100_0101, 8); // length 258 (symbol 285)
        bits.put(0, 5); // distance 1 (code 0)
    }
    bits.code(0, 7); // end of block
    bits.put(0, 7);
    let mut out = bits.out;
    out.extend_from_slice(&[0; 8]);
    out
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks.
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A port nothing listens on: bound, read, and released.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// Percent-encodes like the SDK (only `A-Z a-z 0-9 - _ . ~` raw), for building raw requests.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
pub mod local;
pub mod memory;

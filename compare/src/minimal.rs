//! A minimal PubNub-like server, written for the comparison: publish (GET with the message in
//! the path, POST with it in the body), subscribe v2 long-polls, `time`, and a presence-style
//! `200` for anything else (heartbeats, leaves). HTTP/1.1 with keep-alive on bare tokio TCP, no
//! framework, no validation beyond what keeps its answers well-formed: it costs as little as a
//! server can, so that a difference between two SDKs is not hidden behind the server's own work
//! (which `pubnub-local`, with its routing, access checks and hub, has more of).
//!
//! Messages are kept only for channels someone has subscribed to (a subscriber never receives
//! what was published before its handshake, so nothing else could ever be read), at most
//! [`KEEP`] per channel and for [`KEEP_FOR`]; a long-poll answers with at most 100 messages, in
//! timetoken order across its channels, or after [`LONG_POLL`] with none.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Messages kept per channel (as the in-process `pubnub-local` of the comparison keeps).
pub const KEEP: usize = 10_000;
/// How long a message is kept.
pub const KEEP_FOR: Duration = Duration::from_secs(60);
/// How long a long-poll waits before it answers with no messages.
const LONG_POLL: Duration = Duration::from_secs(280);
/// Messages in one subscribe answer, at most (as the service).
const PAGE: usize = 100;
/// A request head larger than this closes the connection (a 32 KiB message fits in a GET path).
const MAX_HEAD: usize = 128 * 1024;

/// Binds `127.0.0.1:0` and serves until the process ends: returns the origin URL.
pub async fn start() -> io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = Arc::new(Server::default());
    tokio::spawn(evict(server.clone()));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let server = server.clone();
            tokio::spawn(async move {
                let _ = connection(stream, &server).await;
            });
        }
    });
    Ok(url)
}

#[derive(Default)]
struct Server {
    store: Mutex<Store>,
}

#[derive(Default)]
struct Store {
    last: u64,
    channels: HashMap<String, Channel>,
}

/// A message as kept: its timetoken, and the whole envelope as JSON.
type Stored = (u64, Arc<str>);

/// A channel someone subscribed to.
struct Channel {
    /// Oldest first.
    queue: VecDeque<Stored>,
    /// The channel's last timetoken: its long-polls wait on it (and only its own: a publish
    /// wakes no long-poll of another channel).
    published: watch::Sender<u64>,
}

impl Default for Channel {
    fn default() -> Self {
        Channel {
            queue: VecDeque::new(),
            published: watch::channel(0).0,
        }
    }
}

impl Store {
    /// A timetoken after every one given out so far: 100 ns units of the wall clock.
    fn next(&mut self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| (d.as_nanos() / 100) as u64);
        self.last = now.max(self.last + 1);
        self.last
    }
}

/// Drops what is older than [`KEEP_FOR`], every few seconds.
async fn evict(server: Arc<Server>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let mut store = server.store.lock().expect("not poisoned");
        let oldest = store
            .next()
            .saturating_sub(KEEP_FOR.as_nanos() as u64 / 100);
        for Channel { queue, .. } in store.channels.values_mut() {
            while queue.front().is_some_and(|(tt, _)| *tt < oldest) {
                queue.pop_front();
            }
        }
    }
}

async fn connection(mut stream: TcpStream, server: &Server) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    loop {
        // The head: up to the blank line.
        let mut searched = 0;
        let head_end = loop {
            if let Some(i) = buf[searched..].windows(4).position(|w| w == b"\r\n\r\n") {
                break searched + i + 4;
            }
            searched = buf.len().saturating_sub(3);
            if buf.len() > MAX_HEAD || stream.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        };
        let Some(request) = Request::parse(&buf[..head_end]) else {
            return Ok(());
        };
        while buf.len() < head_end + request.content_length {
            if stream.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
        let body = &buf[head_end..head_end + request.content_length];
        // A client that goes away ends its long-poll (else it would wait for 280 s).
        let (status, json) = tokio::select! {
            answer = server.answer(&request, body) => answer,
            () = closed(&stream) => return Ok(()),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json; charset=UTF-8\r\n\
             Content-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            json.len()
        );
        let mut response = head.into_bytes();
        response.extend_from_slice(json.as_bytes());
        stream.write_all(&response).await?;
        buf.drain(..head_end + request.content_length);
    }
}

struct Request {
    post: bool,
    path: String,
    query: String,
    content_length: usize,
}

impl Request {
    fn parse(head: &[u8]) -> Option<Request> {
        let head = std::str::from_utf8(head).ok()?;
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?;
        let target = first.next()?;
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut content_length = 0;
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().ok()?;
                }
            }
        }
        Some(Request {
            post: method == "POST",
            path: path.to_string(),
            query: query.to_string(),
            content_length,
        })
    }

    fn param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .and_then(|(_, value)| String::from_utf8(decode(value)?).ok())
    }
}

const OK: &str = "200 OK";
const BAD: &str = "400 Bad Request";

impl Server {
    async fn answer(&self, request: &Request, body: &[u8]) -> (&'static str, String) {
        let segments: Vec<&str> = request.path.split('/').skip(1).collect();
        match segments.as_slice() {
            ["publish", _, sub, _, channel, _, message] if !request.post => match decode(message) {
                Some(message) => self.publish(request, sub, channel, &message),
                None => bad("invalid message"),
            },
            ["publish", _, sub, _, channel, _] if request.post => {
                self.publish(request, sub, channel, body)
            }
            ["v2", "subscribe", sub, channels, ..] => self.subscribe(request, sub, channels).await,
            ["time", ..] => (OK, format!("[{}]", self.lock().next())),
            ["v2", "presence", ..] => (
                OK,
                r#"{"status":200,"message":"OK","service":"Presence"}"#.into(),
            ),
            _ => (
                "404 Not Found",
                r#"{"status":404,"error":true,"message":"Not Found"}"#.into(),
            ),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().expect("not poisoned")
    }

    fn publish(
        &self,
        request: &Request,
        sub: &str,
        channel: &str,
        message: &[u8],
    ) -> (&'static str, String) {
        let (Some(sub), Some(channel)) = (text(sub), text(channel)) else {
            return bad("invalid key or channel");
        };
        let Ok(message) = std::str::from_utf8(message) else {
            return bad("the message is not UTF-8");
        };
        if serde_json::from_str::<serde::de::IgnoredAny>(message).is_err() {
            return bad("the message is not JSON");
        }
        let publisher = request.param("uuid").unwrap_or_default();
        {
            let mut store = self.lock();
            let tt = store.next();
            if let Some(Channel { queue, published }) = store.channels.get_mut(&channel) {
                let envelope = format!(
                    r#"{{"a":"1","f":0,"i":{},"p":{{"t":"{tt}","r":1}},"k":{},"c":{},"d":{message}}}"#,
                    json_string(&publisher),
                    json_string(&sub),
                    json_string(&channel),
                );
                if queue.len() == KEEP {
                    queue.pop_front();
                }
                queue.push_back((tt, envelope.into()));
                published.send_replace(tt);
            }
            (OK, format!(r#"[1,"Sent","{tt}"]"#))
        }
    }

    async fn subscribe(
        &self,
        request: &Request,
        _sub: &str,
        channels: &str,
    ) -> (&'static str, String) {
        let Some(channels) = channels
            .split(',')
            .map(text)
            .collect::<Option<Vec<String>>>()
        else {
            return bad("invalid channel");
        };
        let cursor = match request.param("tt").as_deref() {
            None | Some("") | Some("0") => 0,
            Some(tt) => match tt.parse::<u64>() {
                Ok(tt) => tt,
                Err(_) => return bad("invalid timetoken"),
            },
        };
        if cursor == 0 {
            // The handshake: from now on, these channels' messages are kept.
            let mut store = self.lock();
            for channel in channels {
                store.channels.entry(channel).or_default();
            }
            return (OK, answer(store.next(), &[]));
        }
        let deadline = tokio::time::Instant::now() + LONG_POLL;
        loop {
            let (found, mut published) = self.since(&channels, cursor);
            if let Some(last) = found.last().map(|(tt, _)| *tt) {
                return (OK, answer(last, &found));
            }
            if published.is_empty() {
                // Channels nobody handshook: nothing will ever come.
                tokio::time::sleep_until(deadline).await;
                return (OK, answer(cursor, &[]));
            }
            let woke = {
                let changed = published.iter_mut().map(|rx| Box::pin(rx.changed()));
                let any = futures::future::select_all(changed);
                tokio::time::timeout_at(deadline, any).await.is_ok()
            };
            if !woke {
                return (OK, answer(cursor, &[]));
            }
        }
    }

    /// The messages of `channels` after `cursor`, oldest first, at most a page; and, taken in
    /// the same moment, what to wait on for the next ones.
    fn since(&self, channels: &[String], cursor: u64) -> (Vec<Stored>, Vec<watch::Receiver<u64>>) {
        let store = self.lock();
        let mut found = Vec::new();
        let mut published = Vec::new();
        for channel in channels {
            if let Some(Channel {
                queue,
                published: tx,
            }) = store.channels.get(channel)
            {
                let from = queue.partition_point(|(tt, _)| *tt <= cursor);
                found.extend(queue.range(from..).take(PAGE).cloned());
                published.push(tx.subscribe());
            }
        }
        found.sort_unstable_by_key(|(tt, _)| *tt);
        found.truncate(PAGE);
        (found, published)
    }
}

/// Resolves when the peer has closed the connection; never while it is open (a pipelined
/// request waiting in the socket is left for the next read).
async fn closed(stream: &TcpStream) {
    let mut byte = [0u8; 1];
    match stream.peek(&mut byte).await {
        Ok(0) | Err(_) => {}
        Ok(_) => std::future::pending().await,
    }
}

fn answer(cursor: u64, messages: &[Stored]) -> String {
    let mut body =
        String::with_capacity(48 + messages.iter().map(|(_, m)| m.len() + 1).sum::<usize>());
    body.push_str(r#"{"t":{"t":""#);
    body.push_str(&cursor.to_string());
    body.push_str(r#"","r":1},"m":["#);
    for (i, (_, envelope)) in messages.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(envelope);
    }
    body.push_str("]}");
    body
}

fn bad(message: &str) -> (&'static str, String) {
    (
        BAD,
        format!(
            r#"{{"status":400,"error":true,"message":{}}}"#,
            json_string(message)
        ),
    )
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A percent-decoded path segment as text.
fn text(segment: &str) -> Option<String> {
    String::from_utf8(decode(segment)?).ok()
}

/// Percent-decoding; `None` for a broken escape.
fn decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes_and_refuses_broken_ones() {
        assert_eq!(decode("a%2Cb%7B").unwrap(), b"a,b{");
        assert!(decode("a%2").is_none());
        assert!(decode("a%zz").is_none());
    }

    #[test]
    fn parses_a_request_head() {
        let head = b"POST /publish/p/s/0/ch/0?uuid=u%201&seqn=1 HTTP/1.1\r\nHost: x\r\ncontent-length: 12\r\n\r\n";
        let request = Request::parse(head).unwrap();
        assert!(request.post);
        assert_eq!(request.path, "/publish/p/s/0/ch/0");
        assert_eq!(request.content_length, 12);
        assert_eq!(request.param("uuid").as_deref(), Some("u 1"));
        assert_eq!(request.param("tt"), None);
    }

    #[tokio::test]
    async fn a_subscriber_receives_what_is_published_after_its_handshake_in_order() {
        let server = Server::default();
        let get =
            |path: &str| Request::parse(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes()).unwrap();
        server.publish(&get("/publish/p/s/0/ch/0/1?uuid=a"), "s", "ch", b"1");
        let (_, handshake) = server.answer(&get("/v2/subscribe/s/ch,other/0"), b"").await;
        let cursor: serde_json::Value = serde_json::from_str(&handshake).unwrap();
        let tt = cursor["t"]["t"].as_str().unwrap().to_string();
        assert_eq!(cursor["m"], serde_json::json!([]));
        server.publish(&get("/"), "s", "ch", br#"{"n":2}"#);
        server.publish(&get("/"), "s", "other", b"3");
        let (status, body) = server
            .answer(
                &get(&format!("/v2/subscribe/s/ch,other/0?tt={tt}&tr=1")),
                b"",
            )
            .await;
        assert_eq!(status, OK);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let messages = body["m"].as_array().unwrap();
        assert_eq!(messages.len(), 2, "{body}");
        assert_eq!(messages[0]["d"], serde_json::json!({"n": 2}));
        assert_eq!(messages[0]["c"], "ch");
        assert_eq!(messages[1]["d"], 3);
        assert_eq!(body["t"]["t"], messages[1]["p"]["t"]);
        let (status, _) = server.answer(&get("/publish/p/s/0/ch/0/%7Bnot"), b"").await;
        assert_eq!(status, BAD);
    }
}

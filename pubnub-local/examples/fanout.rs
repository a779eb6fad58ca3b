//! Fan-out and idle-memory benchmark, loopback only and bounded.
//!
//! `cargo run --release -p pubnub-local --example fanout`
//!
//! 1. Opens 1,000 receive long-polls on one channel, publishes once, and reports the time
//!    from sending the publish until all 1,000 responses have been read.
//! 2. Holds 10,000 idle long-polls (one channel each) and reports the server's RSS.
//!
//! The server runs in a child process (this same binary with `serve`), so its RSS is its own
//! and the file descriptors of 10,000 client and 10,000 server sockets are split between two
//! processes. Clients speak raw HTTP/1.1 over tokio sockets to stay light.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FANOUT: usize = 1_000;
const IDLE: usize = 10_000;
const DEADLINE: Duration = Duration::from_secs(120);

fn main() {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        serve();
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let outcome = runtime.block_on(async { tokio::time::timeout(DEADLINE, bench()).await });
    if outcome.is_err() {
        eprintln!("benchmark did not finish within {DEADLINE:?}");
        std::process::exit(1);
    }
}

/// The child: a server with a long hold, answering `stats` lines on stdin with
/// `stats <waiting long-polls> <VmRSS kB>`.
fn serve() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime
        .block_on(
            pubnub_local::Server::builder()
                .hold(Duration::from_secs(280))
                .start(),
        )
        .expect("server starts");
    println!("listening on {}", server.url());
    let _ = std::io::stdout().flush();
    let hub = server.hub();
    for line in std::io::stdin().lock().lines() {
        match line.as_deref() {
            Ok("stats") => {
                println!("stats {} {}", hub.waiting_subscribers(), rss_kb());
                let _ = std::io::stdout().flush();
            }
            _ => break,
        }
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

struct Child {
    process: std::process::Child,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
}

impl Child {
    fn stats(&mut self) -> (usize, u64) {
        writeln!(self.input, "stats").expect("child stdin");
        let mut line = String::new();
        self.output.read_line(&mut line).expect("child stdout");
        let mut parts = line.split_whitespace().skip(1);
        let waiting = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let rss = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        (waiting, rss)
    }

    async fn wait_for_waiting(&mut self, n: usize) {
        let start = Instant::now();
        while self.stats().0 < n {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "long-polls never parked"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn spawn_server() -> (Child, SocketAddr) {
    let exe = std::env::current_exe().expect("current exe");
    let mut process = Command::new(exe)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let input = process.stdin.take().expect("stdin");
    let mut output = BufReader::new(process.stdout.take().expect("stdout"));
    let mut line = String::new();
    output.read_line(&mut line).expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse().ok())
        .expect("listening line");
    (
        Child {
            process,
            input,
            output,
        },
        addr,
    )
}

/// Sends one GET and reads one complete response (Content-Length framed).
async fn get(stream: &mut TcpStream, path: &str) -> String {
    send(stream, path).await;
    read_response(stream).await
}

async fn send(stream: &mut TcpStream, path: &str) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
}

async fn read_response(stream: &mut TcpStream) -> String {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed early");
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("content-length");
        if buffer.len() >= end + 4 + length {
            return String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]).into_owned();
        }
    }
}

async fn connect_many(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    // In batches, so the listen backlog never overflows into SYN retries.
    for batch in (0..n).collect::<Vec<_>>().chunks(500) {
        let connects = batch.iter().map(|_| TcpStream::connect(addr));
        for stream in futures_util::future::join_all(connects).await {
            streams.push(stream.expect("connect"));
        }
    }
    streams
}

async fn bench() {
    let (mut child, addr) = spawn_server();
    let (_, baseline_rss) = child.stats();
    let mut control = TcpStream::connect(addr).await.expect("connect");
    let handshake = get(&mut control, "/v2/subscribe/bench/fan/0?tt=0").await;
    let cursor = handshake
        .split("\"t\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("cursor")
        .to_string();

    // 1. Fan-out.
    let mut streams = connect_many(addr, FANOUT).await;
    for stream in &mut streams {
        send(stream, &format!("/v2/subscribe/bench/fan/0?tt={cursor}")).await;
    }
    child.wait_for_waiting(FANOUT).await;
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let body = read_response(&mut stream).await;
                assert!(body.contains("\"d\":\"fan-out\""), "{body}");
                (Instant::now(), stream)
            })
        })
        .collect();
    let start = Instant::now();
    let published = get(&mut control, "/publish/bench/bench/0/fan/0/%22fan-out%22").await;
    assert!(published.starts_with("[1,\"Sent\""), "{published}");
    let mut last = start;
    let mut open = Vec::with_capacity(FANOUT);
    for reader in readers {
        let (done, stream) = reader.await.expect("reader");
        last = last.max(done);
        open.push(stream);
    }
    let fanout = last.duration_since(start);
    drop(open);

    // 2. Idle long-polls.
    let mut idle = connect_many(addr, IDLE).await;
    for (i, stream) in idle.iter_mut().enumerate() {
        send(
            stream,
            &format!("/v2/subscribe/bench/idle-{i}/0?tt={cursor}"),
        )
        .await;
    }
    child.wait_for_waiting(IDLE).await;
    let (waiting, idle_rss) = child.stats();

    println!("fan-out: {FANOUT} long-polls answered {fanout:?} after one publish");
    println!(
        "idle: {waiting} long-polls held; server RSS {:.1} MiB (baseline {:.1} MiB, {:.1} KiB per long-poll)",
        idle_rss as f64 / 1024.0,
        baseline_rss as f64 / 1024.0,
        (idle_rss.saturating_sub(baseline_rss)) as f64 / waiting.max(1) as f64,
    );
    drop(idle);
}

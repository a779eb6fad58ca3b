//! Network faults on real loopback sockets: the fault proxy and the connect black hole.
//!
//! These run in real time. Awaits expected to hang sit under short timeouts (`SILENCE`);
//! everything else awaits a real event.

mod common;

use std::time::Duration;

use common::{server, until};
use pubnub_local::netfault::{ConnectBlackHole, FaultProxy, NetFault};
use pubnub_local::ServerHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// How long a stalled read or connect must stay silent.
const SILENCE: Duration = Duration::from_millis(400);

/// Bound on awaits that must complete (a failure, not a wait).
const PROMPT: Duration = Duration::from_secs(5);

const TIME_REQUEST: &[u8] = b"GET /time/0 HTTP/1.1\r\nHost: pubnub\r\n\r\n";

async fn proxied() -> (ServerHandle, FaultProxy) {
    let server = server().await;
    let proxy = FaultProxy::start(server.addr())
        .await
        .expect("proxy starts");
    (server, proxy)
}

async fn connect(proxy: &FaultProxy) -> TcpStream {
    timeout(PROMPT, TcpStream::connect(proxy.addr()))
        .await
        .expect("connect completes")
        .expect("connect succeeds")
}

/// One keep-alive `GET /time/0` on `stream`; returns the response head and body.
async fn time(stream: &mut TcpStream) -> (String, String) {
    stream.write_all(TIME_REQUEST).await.expect("write");
    timeout(PROMPT, read_response(stream))
        .await
        .expect("an answer arrives")
}

/// Reads one HTTP/1.1 response framed by `content-length`.
async fn read_response(stream: &mut TcpStream) -> (String, String) {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().expect("length"))
                })
                .expect("content-length");
            if buf.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]);
                return (head, body.into_owned());
            }
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "EOF before a whole response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn assert_time_answer((head, body): &(String, String)) {
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let tt: Vec<u64> = serde_json::from_str(body).expect("a JSON array");
    assert_eq!(tt.len(), 1, "{body}");
}

/// The read stays silent (no byte, no EOF, no error) for `SILENCE`.
async fn assert_silent(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    match timeout(SILENCE, stream.read(&mut byte)).await {
        Err(_elapsed) => {}
        Ok(Ok(0)) => panic!("the connection was closed (EOF)"),
        Ok(Ok(_)) => panic!("got a byte back: {byte:?}"),
        Ok(Err(e)) => panic!("the connection failed: {e}"),
    }
}

/// The peer closed: EOF or a reset, within `PROMPT`.
async fn assert_closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    match timeout(PROMPT, stream.read_to_end(&mut rest)).await {
        Ok(Ok(_)) | Ok(Err(_)) => {}
        Err(_) => panic!("the connection is still open"),
    }
}

#[tokio::test]
async fn pass_forwards_requests_and_eof() {
    let (server, proxy) = proxied().await;
    assert_eq!(proxy.fault(), NetFault::Pass);
    assert!(proxy.url().starts_with("http://127.0.0.1:"));
    let mut stream = connect(&proxy).await;
    // Two requests on one keep-alive connection.
    assert_time_answer(&time(&mut stream).await);
    assert_time_answer(&time(&mut stream).await);
    assert_eq!(proxy.connections(), 1);
    assert_eq!(server.requests().len(), 2);
    // The client's FIN reaches the server, which closes; that FIN comes back.
    stream.shutdown().await.expect("half-close");
    assert_closed(&mut stream).await;

    // An ordinary HTTP client works through it too.
    let answer = common::client()
        .get(format!("{}/time/0", proxy.url()))
        .send()
        .await
        .expect("request");
    assert_eq!(answer.status(), 200);
    assert_eq!(proxy.connections(), 2);
    assert_eq!(proxy.stalled(), 0);
}

#[tokio::test]
async fn black_hole_accepts_and_never_answers() {
    let (server, proxy) = proxied().await;
    let mut before = connect(&proxy).await;
    assert_time_answer(&time(&mut before).await);

    proxy.set(NetFault::BlackHole);
    assert_eq!(proxy.fault(), NetFault::BlackHole);
    let mut stream = connect(&proxy).await;
    stream
        .write_all(TIME_REQUEST)
        .await
        .expect("writes succeed");
    assert_silent(&mut stream).await;
    // The connection is still open: more writes succeed and still nothing comes back.
    stream
        .write_all(TIME_REQUEST)
        .await
        .expect("writes succeed");
    assert_silent(&mut stream).await;
    // The connection made before the switch is stalled too.
    before
        .write_all(TIME_REQUEST)
        .await
        .expect("writes succeed");
    assert_silent(&mut before).await;

    assert_eq!(proxy.connections(), 2);
    until(|| proxy.stalled() == 2).await;
    // Nothing reached the server after the first request.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn half_open_stalls_established_connections_but_not_new_ones() {
    let (server, proxy) = proxied().await;
    let mut established = connect(&proxy).await;
    assert_time_answer(&time(&mut established).await);

    proxy.set(NetFault::HalfOpen);
    established
        .write_all(TIME_REQUEST)
        .await
        .expect("writes succeed");
    assert_silent(&mut established).await;
    until(|| proxy.stalled() == 1).await;

    // A new flow works while the old one stays dead.
    let mut fresh = connect(&proxy).await;
    assert_time_answer(&time(&mut fresh).await);
    assert_silent(&mut established).await;
    assert_eq!(proxy.fault(), NetFault::HalfOpen);
    assert_eq!(proxy.connections(), 2);
    assert_eq!(server.requests().len(), 2);

    // The stalled connection ends when its client closes it.
    drop(established);
    until(|| proxy.stalled() == 0).await;
}

#[tokio::test]
async fn a_stalled_connection_stays_stalled_after_pass() {
    let (_server, proxy) = proxied().await;
    let mut stalled = connect(&proxy).await;
    assert_time_answer(&time(&mut stalled).await);
    proxy.set(NetFault::HalfOpen);
    until(|| proxy.stalled() == 1).await;

    proxy.set(NetFault::Pass);
    assert_eq!(proxy.fault(), NetFault::Pass);
    stalled
        .write_all(TIME_REQUEST)
        .await
        .expect("writes succeed");
    assert_silent(&mut stalled).await;
    assert_eq!(proxy.stalled(), 1);
    let mut fresh = connect(&proxy).await;
    assert_time_answer(&time(&mut fresh).await);
}

#[tokio::test]
async fn connects_to_a_connect_black_hole_hang() {
    let hole = ConnectBlackHole::start().await.expect("black hole starts");
    assert!(hole.url().starts_with("http://127.0.0.1:"));
    for _ in 0..2 {
        // Neither completes nor fails (a refused connect would fail at once).
        let attempt = timeout(SILENCE, TcpStream::connect(hole.addr())).await;
        assert!(attempt.is_err(), "connect completed: {attempt:?}");
    }
    // The same through an HTTP client with its own connect timeout.
    let client = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(SILENCE)
        .build()
        .expect("client");
    let error = client
        .get(format!("{}/time/0", hole.url()))
        .send()
        .await
        .expect_err("no answer");
    assert!(error.is_connect() || error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn shutdown_closes_every_connection() {
    let (_server, proxy) = proxied().await;
    let mut forwarding = connect(&proxy).await;
    assert_time_answer(&time(&mut forwarding).await);
    proxy.set(NetFault::BlackHole);
    let mut held = connect(&proxy).await;
    until(|| proxy.stalled() == 2).await;

    proxy.shutdown().await;
    assert_closed(&mut forwarding).await;
    assert_closed(&mut held).await;
    assert_eq!(proxy.stalled(), 0);
    assert!(
        TcpStream::connect(proxy.addr()).await.is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn dropping_the_proxy_closes_every_connection() {
    let (_server, proxy) = proxied().await;
    let mut forwarding = connect(&proxy).await;
    assert_time_answer(&time(&mut forwarding).await);
    proxy.set(NetFault::HalfOpen);
    let mut fresh = connect(&proxy).await;
    assert_time_answer(&time(&mut fresh).await);
    let addr = proxy.addr();

    drop(proxy);
    assert_closed(&mut forwarding).await;
    assert_closed(&mut fresh).await;
    // The accept loop ends too, closing the listener.
    let mut refused = false;
    for _ in 0..1000 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(refused, "the listener is still open");
}

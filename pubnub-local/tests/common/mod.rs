//! Helpers shared by the endpoint tests: a server on an ephemeral port with a short hold,
//! and a client that returns status, headers and parsed JSON.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use pubnub_local::{Server, ServerBuilder, ServerHandle};
use serde_json::Value;

/// Long-polls in HTTP tests hold briefly; hub tests cover long holds on a paused clock.
pub const HOLD: Duration = Duration::from_millis(400);

pub fn builder() -> ServerBuilder {
    Server::builder()
        .hold(HOLD)
        .faults(true)
        .record_requests(true)
}

pub async fn server() -> ServerHandle {
    builder().start().await.expect("server starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }
}

pub async fn get(server: &ServerHandle, path: &str) -> Answer {
    answer(
        client()
            .get(format!("{}{path}", server.url()))
            .send()
            .await
            .expect("request"),
    )
    .await
}

pub async fn post(server: &ServerHandle, path: &str, body: Vec<u8>) -> Answer {
    let request = client().post(format!("{}{path}", server.url())).body(body);
    answer(request.send().await.expect("request")).await
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    Answer {
        status,
        headers,
        text,
    }
}

/// Yields (never sleeps) until `condition` holds, for at most two seconds of wall time.
pub async fn until(mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "condition never held"
        );
        tokio::task::yield_now().await;
    }
}

/// The subscribe cursor of a handshake.
pub async fn handshake(server: &ServerHandle, channels: &str, query: &str) -> String {
    let answer = get(
        server,
        &format!("/v2/subscribe/demo/{channels}/0?tt=0&{query}"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["m"], Value::Array(vec![]));
    body["t"]["t"]
        .as_str()
        .expect("t.t is a string")
        .to_string()
}

/// Sends raw bytes on a fresh connection and returns whatever comes back before the server
/// closes it (or two seconds pass).
pub async fn raw(server: &ServerHandle, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    // The server may answer and close before the whole request is written.
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

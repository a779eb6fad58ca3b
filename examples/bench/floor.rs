//! The floor: the same publish requests the SDK sends, from a bare reqwest loop with no SDK;
//! a minimal PubNub-like axum server to measure the floor against; pubnub-local's own
//! in-memory throughput.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pubnub_local::hub::{Hub, Publish};

use crate::report::{Rate, Server};
use crate::throughput::{payload, run, CHANNEL};
use crate::{PUB_KEY, SUB_KEY};

/// A bare reqwest publisher: one client (one pool), URLs built by hand.
#[derive(Clone)]
pub struct Floor {
    client: reqwest::Client,
    prefix: Arc<str>,
    user: Arc<str>,
}

impl Floor {
    pub fn new(origin: &str, user: &str) -> Floor {
        Floor::to_channel(origin, user, CHANNEL)
    }

    pub fn to_channel(origin: &str, user: &str, channel: &str) -> Floor {
        Floor {
            // As the SDK's shared client: gzip accepted, default pool.
            client: client(),
            prefix: format!("{origin}/publish/{PUB_KEY}/{SUB_KEY}/0/{channel}/0/").into(),
            user: user.into(),
        }
    }

    /// Publish `n`: the SDK's request (path, `pnsdk`, `requestid`, `uuid`, `seqn`), checked
    /// for a `[1,"Sent",…]` answer.
    pub async fn publish(&self, n: u64) -> bool {
        let mut url = String::with_capacity(256);
        url.push_str(&self.prefix);
        encode_into(&mut url, &payload(n).to_string());
        url.push_str(concat!(
            "?pnsdk=PubNub-Engine-Rust%2F",
            env!("CARGO_PKG_VERSION"),
            "&requestid="
        ));
        url.push_str(&format!("{n:024x}"));
        url.push_str("&uuid=");
        url.push_str(&self.user);
        url.push_str(&format!("&seqn={}", n % 65535 + 1));
        let Ok(response) = self.client.get(url).send().await else {
            return false;
        };
        let ok = response.status().is_success();
        match response.bytes().await {
            Ok(body) => ok && body.starts_with(b"[1,"),
            Err(_) => false,
        }
    }

    pub async fn run(&self, concurrency: usize, duration: Duration) -> Rate {
        let floor = self.clone();
        run(concurrency, duration, u64::MAX, move |n| {
            let floor = floor.clone();
            async move { floor.publish(n).await }
        })
        .await
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .gzip(true)
        .build()
        .expect("a reqwest client")
}

/// A bare subscriber: a handshake, then long-polls from each answer's cursor, reporting the
/// `n` of every message and when it arrived. No SDK, no state machine: the floor of latency.
pub fn subscribe(
    origin: &str,
    channel: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<(Option<u64>, Instant)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let base = format!("{origin}/v2/subscribe/{SUB_KEY}/{channel}/0?uuid=bench-floor-listener");
    let client = client();
    tokio::spawn(async move {
        let (mut tt, mut tr) = ("0".to_string(), String::new());
        loop {
            let url = match tr.is_empty() {
                true => format!("{base}&tt={tt}"),
                false => format!("{base}&tt={tt}&tr={tr}"),
            };
            let Ok(response) = client.get(url).send().await else {
                return;
            };
            let Ok(body) = response.bytes().await else {
                return;
            };
            let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return;
            };
            for message in json["m"].as_array().into_iter().flatten() {
                // Taken as the message is handed over, as the SDK's is in its callback.
                let at = Instant::now();
                if tx.send((message["d"]["n"].as_u64(), at)).is_err() {
                    return;
                }
            }
            tt = json["t"]["t"].as_str().unwrap_or("0").to_string();
            tr = json["t"]["r"].to_string();
        }
    });
    rx
}

/// RFC 3986 percent-encoding, as strict as the SDK's.
fn encode_into(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// A minimal PubNub-like server: `axum::serve`, one handler, answers every request with a
/// publish success and a fresh timetoken. What pubnub-local's floor is compared with.
pub async fn start_minimal_server() -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let next = Arc::new(AtomicU64::new(17_000_000_000_000_000));
    let app = axum::Router::new().fallback(move || {
        let tt = next.fetch_add(1, Ordering::Relaxed);
        async move { format!(r#"[1,"Sent","{tt}"]"#) }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// pubnub-local without HTTP: publishes per second straight into its hub (one thread).
pub async fn hub_throughput(hub: &Hub) -> Server {
    let hub = hub.clone();
    let per_sec = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < Duration::from_millis(500) {
            for _ in 0..1000 {
                let publish = Publish::message("bench-hub", payload(n));
                hub.publish(SUB_KEY, publish).expect("a valid publish");
                n += 1;
            }
        }
        n as f64 / started.elapsed().as_secs_f64()
    })
    .await
    .expect("the hub loop does not panic");
    Server {
        hub_publish_per_sec: per_sec,
    }
}

//! Peak memory of a subscriber receiving a 10 MB answer made of numbers (issue 14): at most 4
//! times the answer, measured with a counting allocator. A binary of its own, with one test, so
//! that nothing else allocates while it measures; the server writes one prepared buffer.
//!
//! Before payloads were kept as text, this answer took ~481 MB: a `serde_json::Value` tree (~16
//! times JSON of small numbers), copied into every update and again for every listener.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{PubNub, StatusCategory, SubscriptionOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is to the system allocator.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// An HTTP answer of `body`, head included.
fn http(body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A subscribe answer of ten envelopes, each a ~1 MB array of numbers: ~10 MB.
fn numbers_answer() -> Vec<u8> {
    let numbers: Vec<String> = (0..260_000).map(|n| (n % 1000).to_string()).collect();
    let data = format!("[{}]", numbers.join(","));
    let envelopes: Vec<String> = (0..10)
        .map(|n| {
            format!(
                r#"{{"a":"1","f":0,"i":"p","p":{{"t":"{}","r":1}},"k":"k","c":"room","d":{data}}}"#,
                17_000_000_000_000_001u64 + n
            )
        })
        .collect();
    format!(
        r#"{{"t":{{"t":"17000000000000020","r":1}},"m":[{}]}}"#,
        envelopes.join(",")
    )
    .into_bytes()
}

#[test]
fn a_10_mb_answer_of_numbers_costs_at_most_4_times_its_size() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let body = numbers_answer();
        let size = body.len();
        assert!(size > 10_000_000, "{size}");
        let handshake = Arc::new(http(br#"{"t":{"t":"17000000000000000","r":1},"m":[]}"#));
        let big = Arc::new(http(&body));
        drop(body);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut served = 0;
            while let Ok((mut stream, _)) = listener.accept().await {
                let (handshake, big) = (handshake.clone(), big.clone());
                served += 1;
                let first = served == 1;
                tokio::spawn(async move {
                    // One request a connection at most matters: the handshake, then the answer.
                    let mut buf = vec![0u8; 8192];
                    let mut requests = 0;
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        requests += 1;
                        let reply = match (first, requests) {
                            (true, 1) => &handshake,
                            (_, 2) | (false, 1) => &big,
                            _ => return std::future::pending().await,
                        };
                        if stream.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });

        let pubnub = PubNub::builder("sub-key", "reader")
            .origin(origin)
            .max_subscribe_response_bytes(16 << 20)
            .long_poll_liveness(None)
            .build_client()
            .unwrap();
        let mut statuses = pubnub.status_stream();
        let room = pubnub
            .channel("room")
            .subscription(SubscriptionOptions::new());
        // Three listeners: two callbacks and a stream.
        room.on_message(|m| assert!(m.message.json().len() > 100_000));
        room.on_message(|m| assert_eq!(m.channel, "room"));
        let mut messages = room.message_stream();
        room.subscribe().unwrap();
        let connected = statuses.next().await.unwrap();
        assert_eq!(connected.category, StatusCategory::Connected);

        let before = CURRENT.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let mut received = Vec::new();
        for _ in 0..10 {
            let message = tokio::time::timeout(Duration::from_secs(30), messages.next())
                .await
                .expect("the answer arrives")
                .unwrap();
            received.push(message);
        }
        let peak = PEAK.load(Ordering::Relaxed) - before;
        println!(
            "answer {size} bytes; peak {peak} bytes above the start: {:.2}x",
            peak as f64 / size as f64
        );
        assert!(
            peak <= 4 * size,
            "peak {peak} bytes for a {size}-byte answer"
        );
        // The payloads are shared, not copied per listener: ten texts of ~1 MB.
        assert!(received
            .iter()
            .all(|m| m.message.json().starts_with("[0,1,2")));
        drop(received);
        pubnub.close().await;
    });
}

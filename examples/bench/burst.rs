//! A burst of 10,000 messages to a channel a client is subscribed to. Every message carries its
//! number, so the listener tells lost and duplicated ones apart.
//!
//! Two publishers: the server's hub itself (in-process only), which puts the whole burst in
//! place within milliseconds, faster than any HTTP client could, so the delivery rate is the
//! subscriber's own; and a second SDK client publishing over HTTP with 64 in flight, whose
//! delivery rate is bound by how fast it publishes.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pubnub_engine::{PubNub, StatusCategory, SubscriptionOptions};
use pubnub_local::hub::{Hub, Publish};
use serde_json::json;

use crate::report::Burst;
use crate::throughput::{client, run};
use crate::{CONCURRENCY, SUB_KEY};

pub const MESSAGES: u64 = 10_000;
const PATIENCE: Duration = Duration::from_secs(5);

/// Who publishes the burst.
pub enum Publisher {
    /// Straight into pubnub-local's hub, no HTTP.
    Hub(Hub),
    /// An SDK client over HTTP, 64 in flight.
    Sdk(PubNub),
}

struct Tally {
    counts: Vec<AtomicU32>,
    delivered: AtomicU64,
    recovered: AtomicU64,
    last: Mutex<Option<Instant>>,
    done: tokio::sync::Notify,
}

fn message(n: u64) -> serde_json::Value {
    json!({"text": "burst", "n": n})
}

pub async fn measure(origin: &str, channel: &str, publisher: Publisher) -> Burst {
    let listener = client(origin, "bench-burst-listener");
    let tally = Arc::new(Tally {
        counts: (0..MESSAGES).map(|_| AtomicU32::new(0)).collect(),
        delivered: AtomicU64::new(0),
        recovered: AtomicU64::new(0),
        last: Mutex::new(None),
        done: tokio::sync::Notify::new(),
    });
    let subscription = listener
        .channel(channel)
        .subscription(SubscriptionOptions::new());
    let t = tally.clone();
    subscription.on_message(move |message| {
        let Some(n) = message.message["n"].as_u64().filter(|n| *n < MESSAGES) else {
            return;
        };
        t.counts[n as usize].fetch_add(1, Ordering::Relaxed);
        if message.recovered {
            t.recovered.fetch_add(1, Ordering::Relaxed);
        }
        *t.last.lock().expect("not poisoned") = Some(Instant::now());
        if t.delivered.fetch_add(1, Ordering::Relaxed) + 1 == MESSAGES {
            t.done.notify_one();
        }
    });
    let mut statuses = listener.status_stream();
    subscription.subscribe().expect("a valid subscription");
    match tokio::time::timeout(PATIENCE, statuses.next()).await {
        Ok(Some(status)) if status.category == StatusCategory::Connected => {}
        other => panic!("the burst listener did not connect: {other:?}"),
    }
    // Let the first receive long-poll park before the burst starts.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let started = Instant::now();
    let failed = match publisher {
        Publisher::Hub(hub) => {
            let channel = channel.to_string();
            tokio::task::spawn_blocking(move || {
                (0..MESSAGES)
                    .filter(|n| {
                        let publish = Publish::message(channel.clone(), message(*n));
                        hub.publish(SUB_KEY, publish).is_err()
                    })
                    .count() as u64
            })
            .await
            .expect("the hub loop does not panic")
        }
        Publisher::Sdk(speaker) => {
            let channel = channel.to_string();
            let rate = run(CONCURRENCY, Duration::from_secs(30), MESSAGES, move |n| {
                let (speaker, channel) = (speaker.clone(), channel.clone());
                async move {
                    speaker
                        .publish()
                        .channel(channel)
                        .message(&message(n))
                        .await
                        .is_ok()
                }
            })
            .await;
            rate.failed
        }
    };
    let published_in = started.elapsed();
    // Everything delivered, or nothing more for a while.
    let _ = tokio::time::timeout(PATIENCE, tally.done.notified()).await;
    listener.close().await;

    let counts: Vec<u32> = tally
        .counts
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    let distinct = counts.iter().filter(|c| **c > 0).count() as u64;
    let duplicated = counts.iter().map(|c| u64::from(c.saturating_sub(1))).sum();
    let last = tally.last.lock().expect("not poisoned").unwrap_or(started);
    Burst {
        messages: MESSAGES,
        publish_failed: failed,
        published_per_sec: MESSAGES as f64 / published_in.as_secs_f64(),
        delivered: distinct,
        lost: MESSAGES - distinct,
        duplicated,
        recovered: tally.recovered.load(Ordering::Relaxed),
        delivered_per_sec: distinct as f64 / (last - started).as_secs_f64().max(1e-9),
    }
}

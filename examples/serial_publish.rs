//! Publishing reliably by hand: `cargo run --example serial_publish`.
//!
//! PubNub's guidance for messages that must arrive in order: publish one at a time, wait for
//! each answer before sending the next, retry what failed for a transient reason, and check
//! every result. Here `.retry(true)` makes a publish use the client's retry policy (publishes are
//! not retried unless asked), and the embedded `pubnub-local` fails on purpose: 503s, a dropped
//! connection, and a 403 that no retry can fix. Exits by itself.
//!
//! A retry after an answer was lost can store a message twice: publishing is at least once.
//! Every retry of one publish carries the same `seqn`, so a subscription with
//! `SubscriptionOptions::deduplicate` drops such copies. `pubnub.reliable_publisher(..)` does
//! all of this, plus per-channel queues and a rate limit, behind one call: see
//! `examples/reliable_publish.rs`.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{PubNub, RetryConfig, RetryPolicy, StatusCategory, SubscriptionOptions};
use pubnub_local::{Endpoint, Fault, Server};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder().record_requests(true).start().await?;
    println!("embedded pubnub-local at {}", server.url());
    let pubnub = PubNub::builder("demo", "ledger")
        .publish_key("demo")
        .origin(server.url())
        // At most 3 retries, 100 ms apart (plus jitter, at most as much again).
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(100),
            max_retries: 3,
        }))
        .build_client()?;

    let entries = pubnub
        .channel("ledger")
        .subscription(SubscriptionOptions::new().deduplicate(100));
    let mut received = entries.message_stream();
    let mut statuses = pubnub.status_stream();
    entries.subscribe()?;
    let connected = tokio::time::timeout(Duration::from_secs(5), statuses.next()).await?;
    assert_eq!(
        connected.map(|s| s.category),
        Some(StatusCategory::Connected)
    );

    // What goes wrong with the publish of each entry.
    let faults = [
        ("no trouble", None),
        ("two 503s", Some(Fault::status(503).times(2))),
        ("connection dropped", Some(Fault::reset())),
        ("403 forbidden", Some(Fault::status(403))),
        ("five 503s", Some(Fault::status(503).times(5))),
        ("no trouble", None),
    ];
    let mut delivered = Vec::new();
    for (id, (trouble, fault)) in (1..).zip(faults) {
        if let Some(fault) = fault {
            server.faults().inject(fault.on(Endpoint::Publish));
        }
        let entry = json!({ "id": id, "amount": id * 10 });
        // One at a time: the next entry is sent only once this one is settled.
        loop {
            let before = publishes(&server);
            let result = pubnub
                .publish()
                .channel("ledger")
                .message(&entry)
                .retry(true)
                .await;
            let attempts = publishes(&server) - before;
            match result {
                Ok(sent) => {
                    println!(
                        "entry {id} ({trouble}): sent after {attempts} attempt(s), timetoken {}",
                        sent.timetoken
                    );
                    delivered.push(id);
                }
                // The retries ran out but the problem may pass: wait, then the same entry again
                // (never the next one first, or the order is lost).
                Err(e) if e.is_transient() => {
                    println!(
                        "entry {id} ({trouble}): {attempts} attempts failed ({e}); again in 0.5 s"
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                // No retry can fix this (403, 400, too large…): report it and move on.
                Err(e) => println!("entry {id} ({trouble}): refused, not retried: {e}"),
            }
            break;
        }
    }

    // The subscriber sees the delivered entries, in the order they were published.
    for id in delivered {
        let m = tokio::time::timeout(Duration::from_secs(5), received.next())
            .await?
            .ok_or("stream ended")?;
        assert_eq!(m.message["id"], json!(id));
        println!("received {}", m.message);
    }
    entries.unsubscribe();
    pubnub.close().await;
    Ok(())
}

/// How many publish requests the server has seen.
fn publishes(server: &pubnub_local::ServerHandle) -> usize {
    let requests = server.requests();
    requests
        .iter()
        .filter(|r| r.path.starts_with("/publish/"))
        .count()
}

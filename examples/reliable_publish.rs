//! Reliable publishing against an embedded `pubnub-local` whose publish endpoint misbehaves:
//! 500s, a request that never answers, and answers lost *after* the message was stored (so the
//! retry stores it twice). A de-duplicating subscription still sees every message once, in
//! order; a plain subscription on the same channel shows the duplicates.
//!
//! ```text
//! cargo run --example reliable_publish
//! ```
//!
//! It exits by itself in a few seconds.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{
    Message, PubNub, ReliablePublisherOptions, RetryConfig, RetryPolicy, SubscriptionOptions,
    UpdateStream,
};
use pubnub_local::{Endpoint, Fault, Server};
use serde_json::json;

const CHANNEL: &str = "demo";
const MESSAGES: u64 = 12;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let server = Server::builder()
        .hold(Duration::from_secs(1))
        .start()
        .await?;
    let client = |user: &str| {
        PubNub::builder("demo-sub", user)
            .publish_key("demo-pub")
            .origin(server.url())
            .retry(RetryConfig::new(RetryPolicy::Linear {
                delay: Duration::from_millis(50),
                max_retries: 10,
            }))
            .non_subscribe_request_timeout(Duration::from_millis(500))
            .build_client()
    };

    // The receiving side: one subscription de-duplicates, the other shows every copy.
    let reader = client("reader")?;
    let once = reader
        .channel(CHANNEL)
        .subscription(SubscriptionOptions::new().deduplicate(100));
    let every = reader
        .channel(CHANNEL)
        .subscription(SubscriptionOptions::new());
    let (mut once_stream, mut every_stream) = (once.message_stream(), every.message_stream());
    let mut statuses = reader.status_stream();
    let subscribed = reader.subscription_set([once, every]);
    subscribed.subscribe()?;
    println!(
        "reader: {:?}",
        wait(statuses.next()).await?.map(|s| s.category)
    );

    // Faults on: publish requests fail in every way that matters, spread over the run
    // (a zero delay is "no fault" for one request).
    let faults = server.faults();
    let ok = || Fault::delay(Duration::ZERO);
    for fault in [
        Fault::status(500),
        ok(),
        Fault::store_then_reset(),
        ok(),
        ok(),
        Fault::hang(),
        ok(),
        Fault::store_then_fail(503),
        ok(),
        ok(),
        Fault::store_then_reset(),
    ] {
        faults.inject(fault.on(Endpoint::Publish));
    }

    let writer = client("writer")?;
    let publisher = writer
        .reliable_publisher(ReliablePublisherOptions::new().rate_limit(20, Duration::from_secs(1)));
    let mut deliveries = Vec::new();
    for n in 1..=MESSAGES {
        deliveries.push((n, publisher.try_send(CHANNEL, &json!({ "n": n }))?));
    }
    for (n, delivery) in deliveries {
        println!("sent     #{n:<2} timetoken {}", wait(delivery).await??);
    }
    wait(publisher.close()).await?;
    println!("counters {:?}", publisher.stats());

    // A marker from another client ends the collection.
    let marker = client("marker")?;
    wait(async { marker.publish().channel(CHANNEL).message(&"end").await }).await??;
    let deduplicated = numbers(&mut once_stream).await?;
    let raw = numbers(&mut every_stream).await?;
    println!("received with de-duplication    {deduplicated:?}");
    println!("received without de-duplication {raw:?}");
    assert_eq!(deduplicated, (1..=MESSAGES).collect::<Vec<_>>());

    drop(subscribed);
    reader.close().await;
    Ok(())
}

/// The `n` of every message up to the `"end"` marker.
async fn numbers(stream: &mut UpdateStream<Message>) -> Result<Vec<u64>, AnyError> {
    let mut seen = Vec::new();
    while let Some(message) = wait(stream.next()).await? {
        match message.message["n"].as_u64() {
            Some(n) => seen.push(n),
            None => break,
        }
    }
    Ok(seen)
}

/// Bounds every wait, so that the example ends even if something is broken.
async fn wait<T>(future: impl std::future::Future<Output = T>) -> Result<T, AnyError> {
    Ok(tokio::time::timeout(Duration::from_secs(10), future).await?)
}

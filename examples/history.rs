//! Message persistence and gap fill, offline: `cargo run --example history`.
//!
//! It starts an embedded `pubnub-local` whose subscribe queue keeps only 20 messages per channel
//! (the service keeps about 100) and which checks signatures with a secret key. Then it:
//!
//! 1. publishes 60 messages, reads them back a page of 25 at a time (newest page first) and
//!    counts them;
//! 2. lets a subscriber with gap fill on miss all 60 of a second burst while disconnected: the
//!    queue only still has the last 20, and gap fill reads the other 40 from history, delivering
//!    every message once, in order, the recovered ones marked;
//! 3. deletes part of the channel's history with the secret key.
//!
//! Every wait is bounded, so it always ends by itself.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{PubNub, StatusCategory, SubscriptionOptions};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder()
        .buffer_size(20)
        .secret_key("demo-secret")
        .publish_key("demo")
        .start()
        .await?;
    println!(
        "embedded pubnub-local at {} (queue of 20 per channel)",
        server.url()
    );
    // With the secret key, every request is signed, as a server-side app's would be.
    let client = |user: &str| {
        PubNub::builder("demo", user)
            .publish_key("demo")
            .secret_key("demo-secret")
            .origin(server.url())
    };
    let pubnub = client("writer").build_client()?;

    // 1. Publish, read back in pages, count.
    let mut first = None;
    for n in 0..60 {
        let sent = pubnub
            .publish()
            .channel("diary")
            .message(&json!({ "entry": n }))
            .meta(&json!({ "mood": if n % 2 == 0 { "good" } else { "fine" } }))
            .await?;
        first.get_or_insert(sent.timetoken);
    }
    let first = first.unwrap_or_default();
    let mut pages = pubnub
        .fetch_messages()
        .channels(["diary"])
        .count(25)
        .include_meta(true)
        .pages();
    while let Some(page) = pages.next().await {
        let page = page?;
        let entries = &page.channels["diary"];
        println!(
            "page      {} messages, entries {} to {}, the first's meta {}",
            entries.len(),
            entries[0].message,
            entries[entries.len() - 1].message,
            entries[0]
                .meta
                .as_ref()
                .map_or("-".into(), |m| m.to_string()),
        );
    }
    let counts = pubnub
        .message_counts()
        .channels(["diary"])
        .timetoken(first - 1)
        .await?;
    println!("counts    {counts:?}");

    // 2. Gap fill: a subscriber misses a burst three times longer than the queue.
    let reader = client("reader")
        .request_message_count_threshold(20)
        .gap_fill(5)
        .build_client()?;
    let subscription = reader
        .channel("live")
        .subscription(SubscriptionOptions::new());
    let mut messages = subscription.message_stream();
    let mut statuses = reader.status_stream();
    subscription.subscribe()?;
    wait_for(&mut statuses, StatusCategory::Connected).await;
    reader.disconnect();
    let mut burst = Vec::new();
    for n in 0..60 {
        let sent = pubnub
            .publish()
            .channel("live")
            .message(&json!({ "burst": n }))
            .await?;
        burst.push(sent.timetoken);
    }
    println!("burst     60 published while the reader was away");
    reader.reconnect();
    let mut received = Vec::new();
    while received.len() < burst.len() {
        match tokio::time::timeout(PATIENCE, messages.next()).await {
            Ok(Some(message)) => received.push(message),
            _ => break,
        }
    }
    let recovered = received.iter().filter(|m| m.recovered).count();
    let in_order = received
        .iter()
        .map(|m| m.timetoken)
        .eq(burst.iter().copied());
    println!(
        "gap fill  received {} of 60 ({recovered} recovered from history, {} from the queue), \
         in order and once each: {in_order}",
        received.len(),
        received.len() - recovered,
    );

    // 3. Delete the first 30 diary entries (start is exclusive, end inclusive).
    let diary = pubnub
        .fetch_messages()
        .channels(["diary"])
        .end(first)
        .count(100)
        .await?;
    let entries = &diary.channels["diary"];
    pubnub
        .delete_messages()
        .channel("diary")
        .start(entries[30].timetoken)
        .end(first)
        .await?;
    let left = pubnub
        .message_counts()
        .channels(["diary"])
        .timetoken(first - 1)
        .await?;
    println!(
        "deleted   30 entries; {} messages left in history",
        left["diary"]
    );

    reader.close().await;
    pubnub.close().await;
    Ok(())
}

async fn wait_for(statuses: &mut pubnub_engine::StatusStream, category: StatusCategory) {
    while let Ok(Some(status)) = tokio::time::timeout(PATIENCE, statuses.next()).await {
        println!("status    {:?}", status.category);
        if status.category == category {
            return;
        }
    }
}

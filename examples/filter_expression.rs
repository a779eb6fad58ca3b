//! Filter expressions: `cargo run --example filter_expression`.
//!
//! A subscriber sets one `filter_expression` in its configuration; the server evaluates it
//! against each message's `meta` (and payload, as `data.…`) and delivers only the messages that
//! match, so filtered-out messages never cross the network. Publishers attach `meta` per message.
//! Runs against an embedded `pubnub-local` and exits by itself.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{PubNub, StatusCategory, SubscriptionOptions};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder().start().await?;
    println!("embedded pubnub-local at {}", server.url());

    // The on-call engineer only wants urgent alerts, and not the ones they raised themselves
    // (`uuid` is a meta field the publisher sets: the filter does not see the sender's id).
    let filter = "meta.priority == 'high' && meta.uuid != 'oncall'";
    let oncall = PubNub::builder("demo", "oncall")
        .publish_key("demo")
        .origin(server.url())
        .filter_expression(filter)
        .build_client()?;
    let monitor = PubNub::builder("demo", "monitor")
        .publish_key("demo")
        .origin(server.url())
        .build_client()?;

    let alerts = oncall
        .channel("alerts")
        .subscription(SubscriptionOptions::new());
    let mut received = alerts.message_stream();
    let mut statuses = oncall.status_stream();
    alerts.subscribe()?;
    let connected = tokio::time::timeout(Duration::from_secs(5), statuses.next()).await?;
    assert_eq!(
        connected.map(|s| s.category),
        Some(StatusCategory::Connected)
    );
    println!("subscribed to alerts with filter: {filter}");

    let sent = [
        (&monitor, "disk 80% full", "low"),
        (&monitor, "database down", "high"),
        (&oncall, "looking into it", "high"),
        (&monitor, "backup finished", "low"),
        (&monitor, "database back up", "high"),
    ];
    for (client, text, priority) in sent {
        let meta = json!({ "priority": priority, "uuid": client.user_id() });
        client
            .publish()
            .channel("alerts")
            .message(&text)
            .meta(&meta)
            .await?;
        println!(
            "  sent     {text:?} (priority {priority}, by {})",
            client.user_id()
        );
    }
    for _ in 0..2 {
        let m = tokio::time::timeout(Duration::from_secs(5), received.next())
            .await?
            .ok_or("stream ended")?;
        println!(
            "  received {} (meta {})",
            m.message,
            m.meta.unwrap_or_default()
        );
    }
    // Nothing else passed the filter: the next message the subscriber sees is this marker.
    let marker = json!({ "priority": "high", "uuid": "monitor" });
    monitor
        .publish()
        .channel("alerts")
        .message(&"end")
        .meta(&marker)
        .await?;
    let next = tokio::time::timeout(Duration::from_secs(5), received.next()).await?;
    assert_eq!(next.map(|m| m.message.to_value()), Some(json!("end")));
    println!("the three other messages were filtered out by the server");

    alerts.unsubscribe();
    oncall.close().await;
    monitor.close().await;
    Ok(())
}

//! Wildcard subscribe and subscription sets: `cargo run --example wildcard_subscribe`.
//!
//! `sensors.*` receives every channel one level below `sensors.` (`sensors.kitchen`,
//! `sensors.garage`), and nothing else. A wildcard is allowed only as the last of at most three
//! dot-separated parts; names like `a.b.c.*` or `*` are refused before anything is sent. A
//! subscription set subscribes several subscriptions together, each keeping its own listeners.
//! Runs against an embedded `pubnub-local` and exits by itself.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{Message, PubNub, StatusCategory, SubscriptionOptions, UpdateStream};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder().start().await?;
    println!("embedded pubnub-local at {}", server.url());
    let pubnub = PubNub::builder("demo", "home-hub")
        .publish_key("demo")
        .origin(server.url())
        .build_client()?;

    let sensors = pubnub
        .channel("sensors.*")
        .subscription(SubscriptionOptions::new());
    let door = pubnub
        .channel("alarms.front-door")
        .subscription(SubscriptionOptions::new());
    let mut readings = sensors.message_stream();
    let mut alarms = door.message_stream();
    // One set, one subscribe: both subscriptions share one long-poll loop.
    let home = sensors.clone() + door.clone();
    let mut statuses = pubnub.status_stream();
    home.subscribe()?;
    let connected = tokio::time::timeout(Duration::from_secs(5), statuses.next()).await?;
    assert_eq!(
        connected.map(|s| s.category),
        Some(StatusCategory::Connected)
    );

    for (channel, event) in [
        ("sensors.kitchen", json!({ "celsius": 21.5 })),
        ("alarms.back-door", json!("open")), // neither subscription matches
        ("alarms.front-door", json!("open")),
        ("sensors.garage", json!({ "celsius": 12.0 })),
    ] {
        pubnub.publish().channel(channel).message(&event).await?;
    }
    for _ in 0..2 {
        show(&mut readings).await?;
    }
    show(&mut alarms).await?;

    let refused = pubnub
        .channel("a.b.c.*")
        .subscription(SubscriptionOptions::new());
    if let Err(e) = refused.subscribe() {
        println!("a.b.c.* refused before sending: {e}");
    }

    home.unsubscribe();
    pubnub.close().await;
    Ok(())
}

/// Waits (at most 5 s) for the next message of `stream` and prints it.
async fn show(stream: &mut UpdateStream<Message>) -> Result<(), Box<dyn std::error::Error>> {
    let m = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await?
        .ok_or("stream ended")?;
    // `channel` is the concrete channel, `subscription` the name or pattern that matched.
    println!("{} (via {}): {}", m.channel, m.subscription, m.message);
    Ok(())
}

//! Channel groups: `cargo run --example channel_groups`.
//!
//! A channel group is a list of channels kept by the server; subscribing to the group subscribes
//! to all of them, and channels added to the group later are picked up without resubscribing.
//! Runs against an embedded `pubnub-local` and exits by itself.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{PubNub, StatusCategory, SubscriptionOptions};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder().start().await?;
    println!("embedded pubnub-local at {}", server.url());
    let pubnub = PubNub::builder("demo", "dispatcher")
        .publish_key("demo")
        .origin(server.url())
        .build_client()?;

    // Manage the group: add channels, then list what the server keeps.
    pubnub
        .add_channel_to_channel_group()
        .channel_group("fleet")
        .channels(["truck-1", "truck-2"])
        .await?;
    let channels = pubnub
        .list_channels_in_channel_group()
        .channel_group("fleet")
        .await?;
    println!(
        "fleet = {channels:?}; groups of the key: {:?}",
        pubnub.list_channel_groups().await?
    );

    // Subscribe to the group like to any entity.
    let fleet = pubnub
        .channel_group("fleet")
        .subscription(SubscriptionOptions::new());
    let mut positions = fleet.message_stream();
    let mut statuses = pubnub.status_stream();
    fleet.subscribe()?;
    let connected = tokio::time::timeout(Duration::from_secs(5), statuses.next()).await?;
    assert_eq!(
        connected.map(|s| s.category),
        Some(StatusCategory::Connected)
    );

    // A channel added while subscribed is part of the group at once.
    pubnub
        .add_channel_to_channel_group()
        .channel_group("fleet")
        .channels(["truck-3"])
        .await?;
    for truck in ["truck-1", "truck-2", "truck-3"] {
        let position = json!({ "lat": 52.52, "lon": 13.40 });
        pubnub.publish().channel(truck).message(&position).await?;
    }
    for _ in 0..3 {
        let m = tokio::time::timeout(Duration::from_secs(5), positions.next())
            .await?
            .ok_or("stream ended")?;
        // `channel` is where it was published, `subscription` the group that matched.
        println!("{} via {}: {}", m.channel, m.subscription, m.message);
    }

    fleet.unsubscribe();
    pubnub
        .remove_channel_from_channel_group()
        .channel_group("fleet")
        .channels(["truck-1"])
        .await?;
    let channels = pubnub
        .list_channels_in_channel_group()
        .channel_group("fleet")
        .await?;
    println!("after removing truck-1: fleet = {channels:?}");
    pubnub.remove_channel_group().channel_group("fleet").await?;
    println!(
        "groups after removing fleet: {:?}",
        pubnub.list_channel_groups().await?
    );
    pubnub.close().await;
    Ok(())
}

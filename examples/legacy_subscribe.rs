//! The legacy subscribe API of PubNub's SDKs: `cargo run --example legacy_subscribe`.
//!
//! `pubnub.subscribe().channels([..]).execute()` subscribes by name; everything received goes to
//! the client-level listeners added with `add_listener`. It shares the subscribe loop (and the
//! reference counting of channels) with entity subscriptions, so old and new code can coexist.
//! Runs against an embedded `pubnub-local` and exits by itself.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{Listener, PubNub, StatusCategory, StatusStream};
use serde_json::json;
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder().start().await?;
    println!("embedded pubnub-local at {}", server.url());
    let pubnub = PubNub::builder("demo", "legacy-user")
        .publish_key("demo")
        .origin(server.url())
        .build_client()?;

    // One listener for everything: statuses, messages and presence events of every channel.
    let (received, mut arrivals) = mpsc::unbounded_channel();
    pubnub.add_listener(
        Listener::new()
            .on_status(|s| println!("status   {:?} {:?}", s.category, s.channels))
            .on_message(move |m| {
                println!("message  {} on {}", m.message, m.channel);
                let _ = received.send(m.channel);
            })
            .on_presence(|p| println!("presence {:?} {:?} on {}", p.event, p.user_id, p.channel)),
    );
    let mut statuses = pubnub.status_stream();

    pubnub
        .subscribe()
        .channels(["news", "sport"])
        .with_presence()
        .execute()?;
    wait_for(&mut statuses, StatusCategory::Connected).await?;
    for channel in ["news", "sport"] {
        let message = json!({ "headline": format!("{channel} update") });
        pubnub.publish().channel(channel).message(&message).await?;
    }
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(5), arrivals.recv()).await?;
    }

    // Unsubscribe from one channel: the loop goes on with the other.
    pubnub.unsubscribe().channels(["sport"]).execute();
    wait_for(&mut statuses, StatusCategory::SubscriptionChanged).await?;
    pubnub
        .publish()
        .channel("sport")
        .message(&"not seen: unsubscribed")
        .await?;
    pubnub
        .publish()
        .channel("news")
        .message(&"still seen")
        .await?;
    let channel = tokio::time::timeout(Duration::from_secs(5), arrivals.recv()).await?;
    assert_eq!(channel.as_deref(), Some("news"));

    pubnub.unsubscribe_all();
    wait_for(&mut statuses, StatusCategory::Disconnected).await?;
    pubnub.close().await;
    Ok(())
}

/// Waits (at most 5 s) for a status of `category`.
async fn wait_for(statuses: &mut StatusStream, category: StatusCategory) -> Result<(), String> {
    let found = async {
        while let Some(status) = statuses.next().await {
            if status.category == category {
                return true;
            }
        }
        false
    };
    match tokio::time::timeout(Duration::from_secs(5), found).await {
        Ok(true) => Ok(()),
        _ => Err(format!("no {category:?} status")),
    }
}

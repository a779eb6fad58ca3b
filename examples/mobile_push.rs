//! Mobile push, offline: `cargo run --example mobile_push`.
//!
//! It starts an embedded `pubnub-local`. Bob's Android phone (an FCM token) and iPhone (an
//! APNs2 token, production build) are registered for the channel `chat`; Alice publishes a
//! message built with `PushPayload`; pubnub-local's outbox then says what each phone would show.
//! Nothing leaves the machine. Every wait is bounded, so it always ends by itself.

use pubnub_engine::push::{Apns2Configuration, ApnsTarget, Environment, PushPayload, PushType};
use pubnub_engine::PubNub;
use serde_json::json;

const TOPIC: &str = "com.example.chat";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder().start().await?;
    println!("embedded pubnub-local at {}", server.url());
    let client = |user: &str| {
        PubNub::builder("demo", user)
            .publish_key("demo")
            .origin(server.url())
            .build_client()
    };
    let bob = client("bob")?;
    let alice = client("alice")?;

    // Bob's app registers each phone's push token once it has one.
    bob.add_channels_to_push()
        .push_type(PushType::Fcm)
        .channels(["chat"])
        .device_id("bob-android-fcm-token")
        .await?;
    bob.add_channels_to_push()
        .push_type(PushType::Apns2)
        .topic(TOPIC)
        .environment(Environment::Production)
        .channels(["chat"])
        .device_id("9f3c6b1e0d2a4c5b8e7f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5")
        .await?;
    let registered = bob
        .list_push_channels()
        .push_type(PushType::Fcm)
        .device_id("bob-android-fcm-token")
        .await?;
    println!("registered  the Android phone on {:?}", registered.channels);

    // Alice's message: what subscribers see, plus a notification for phones.
    let message = PushPayload::new("Alice", "lunch at noon?")
        .badge(1)
        .sound("default")
        .apns2(Apns2Configuration::new([
            ApnsTarget::new(TOPIC).environment(Environment::Production)
        ]))
        .fcm_data("room", json!("chat"))
        .message(json!({"text": "lunch at noon?"}))
        .build([PushType::Apns2, PushType::Fcm])?;
    println!("publishing  {message}");
    let sent = alice.publish().channel("chat").message(&message).await?;
    println!("published   at {}", sent.timetoken);

    for notification in server.push_outbox() {
        println!(
            "would push  {:?} to {}: {}",
            notification.push_type, notification.token, notification.payload
        );
    }

    // Bob uninstalls the app on his Android phone.
    bob.remove_device_from_push()
        .push_type(PushType::Fcm)
        .device_id("bob-android-fcm-token")
        .await?;
    server.clear_push_outbox();
    alice.publish().channel("chat").message(&message).await?;
    println!(
        "after the Android phone was removed: {} notification(s), to {:?}",
        server.push_outbox().len(),
        server
            .push_outbox()
            .iter()
            .map(|n| n.push_type)
            .collect::<Vec<_>>()
    );
    alice.close().await;
    bob.close().await;
    Ok(())
}

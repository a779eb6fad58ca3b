//! Message actions (reactions, read receipts), offline: `cargo run --example message_actions`.
//!
//! It starts an embedded `pubnub-local`. Alice posts a message, Bob and Carol react to it, and
//! Alice's client sees each reaction arrive through `on_message_action` as it happens. Then the
//! reactions are listed, read back attached to the message from history, and one is removed.
//! Every wait is bounded, so it always ends by itself.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{PubNub, StatusCategory, SubscriptionOptions};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(5);

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
    let alice = client("alice")?;
    let bob = client("bob")?;
    let carol = client("carol")?;

    // Alice watches the room: messages and the actions on them.
    let room = alice
        .channel("room")
        .subscription(SubscriptionOptions::new());
    room.on_message_action(|action| {
        println!(
            "event     {} {} {}={} on {}",
            action.publisher.as_deref().unwrap_or("?"),
            action.event,
            action.action_type,
            action.value,
            action.message_timetoken
        );
    });
    let mut actions = room.message_action_stream();
    let mut statuses = alice.status_stream();
    room.subscribe()?;
    while let Ok(Some(status)) = tokio::time::timeout(PATIENCE, statuses.next()).await {
        if status.category == StatusCategory::Connected {
            break;
        }
    }

    let posted = alice
        .publish()
        .channel("room")
        .message(&json!({"text": "lunch at noon?"}))
        .await?;
    println!("posted    message {}", posted.timetoken);

    let thumbs = bob
        .add_message_action()
        .channel("room")
        .message_timetoken(posted.timetoken)
        .action_type("reaction")
        .value("thumbs_up")
        .await?;
    carol
        .add_message_action()
        .channel("room")
        .message_timetoken(posted.timetoken)
        .action_type("reaction")
        .value("thumbs_up")
        .await?;
    carol
        .add_message_action()
        .channel("room")
        .message_timetoken(posted.timetoken)
        .action_type("receipt")
        .value("read")
        .await?;
    // The three events, as Alice's subscription received them.
    for _ in 0..3 {
        let _ = tokio::time::timeout(PATIENCE, actions.next()).await;
    }

    let listed = alice.get_message_actions().channel("room").await?;
    for action in &listed.actions {
        println!(
            "listed    {} {}={} at {}",
            action.user_id, action.action_type, action.value, action.action_timetoken
        );
    }

    let history = alice
        .fetch_messages()
        .channels(["room"])
        .include_message_actions(true)
        .await?;
    for message in &history.channels["room"] {
        for (kind, values) in &message.actions {
            for (value, by) in values {
                let users: Vec<&str> = by.iter().map(|a| a.user_id.as_str()).collect();
                println!(
                    "history   {} has {kind}={value} from {}",
                    message.message,
                    users.join(", ")
                );
            }
        }
    }

    bob.remove_message_action()
        .channel("room")
        .message_timetoken(posted.timetoken)
        .action_timetoken(thumbs.action_timetoken)
        .await?;
    let _ = tokio::time::timeout(PATIENCE, actions.next()).await;
    let left = alice.get_message_actions().channel("room").await?;
    println!(
        "left      {} actions after Bob took his back",
        left.actions.len()
    );

    for pubnub in [alice, bob, carol] {
        pubnub.close().await;
    }
    Ok(())
}

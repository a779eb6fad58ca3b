//! Presence with state: `cargo run --example presence_state`.
//!
//! A user's presence state is a small JSON object per channel (a mood, a typing flag, a game
//! score) that others read with `here_now`/`get_state` and see change as `StateChange` presence
//! events. The client remembers what it set and sends it again with every handshake and
//! heartbeat. Runs against an embedded `pubnub-local` and exits by itself.

use std::time::Duration;

use futures_util::{Stream, StreamExt};
use pubnub_engine::{PresenceAction, PresenceEvent, PubNub, SubscriptionOptions};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder().start().await?;
    println!("embedded pubnub-local at {}", server.url());
    let client = |user: &str| {
        PubNub::builder("demo", user)
            .publish_key("demo")
            .origin(server.url())
            // Heartbeats on: the presence engine keeps each user present while it runs.
            .heartbeat_interval(30)
            .build_client()
    };
    let (host, guest) = (client("host")?, client("guest")?);

    // The host watches the lobby's presence events.
    let watching = host
        .channel("lobby")
        .subscription(SubscriptionOptions::new().with_presence());
    let mut events = watching.presence_stream();
    let mut statuses = host.status_stream();
    watching.subscribe()?;
    // Connected: the host's loop has its cursor, so it will see every presence event from now.
    tokio::time::timeout(Duration::from_secs(5), statuses.next()).await?;

    // The guest joins, then sets its state.
    let joined = guest
        .channel("lobby")
        .subscription(SubscriptionOptions::new());
    joined.subscribe()?;
    next_from(&mut events, "guest", PresenceAction::Join).await?;
    let set = guest
        .set_state()
        .channels(["lobby"])
        .state(&json!({ "mood": "curious", "typing": false }))
        .await?;
    println!("guest set state {}", set.state);
    let change = next_from(&mut events, "guest", PresenceAction::StateChange).await?;
    println!("host sees the change: {}", change.state.unwrap_or_default());

    // Anyone can ask: one user's state, or everyone on a channel with their state.
    let state = host
        .get_state()
        .channels(["lobby"])
        .user_id("guest")
        .await?;
    for (channel, state) in &state.channels {
        println!("get_state: guest on {channel} is {state}");
    }
    let here = host
        .here_now()
        .channels(["lobby"])
        .include_state(true)
        .await?;
    for channel in &here.channels {
        println!(
            "here_now {}: {} present",
            channel.channel, channel.occupancy
        );
        for occupant in &channel.occupants {
            match &occupant.state {
                Some(state) => println!("  {} {state}", occupant.user_id),
                None => println!("  {} (no state)", occupant.user_id),
            }
        }
    }
    println!("where_now(guest) = {:?}", guest.where_now().await?.channels);

    // Closing unsubscribes and sends the leave.
    guest.close().await;
    next_from(&mut events, "guest", PresenceAction::Leave).await?;
    watching.unsubscribe();
    host.close().await;
    Ok(())
}

/// Waits (at most 5 s) for `user`'s next presence event of kind `action`, and prints it.
async fn next_from(
    events: &mut (impl Stream<Item = PresenceEvent> + Unpin),
    user: &str,
    action: PresenceAction,
) -> Result<PresenceEvent, String> {
    let found = async {
        while let Some(event) = events.next().await {
            if event.event == action && event.user_id.as_deref() == Some(user) {
                return Some(event);
            }
        }
        None
    };
    match tokio::time::timeout(Duration::from_secs(5), found).await {
        Ok(Some(event)) => {
            println!(
                "presence {:?} {user} (occupancy {})",
                event.event, event.occupancy
            );
            Ok(event)
        }
        _ => Err(format!("no {action:?} event from {user}")),
    }
}

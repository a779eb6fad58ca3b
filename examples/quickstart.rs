//! The SDK end to end in a few seconds: `cargo run --example quickstart`.
//!
//! Without keys it starts an embedded `pubnub-local` on 127.0.0.1 and talks to it; with
//! `PUBNUB_PUBLISH_KEY` and `PUBNUB_SUBSCRIBE_KEY` set it uses the real PubNub network (TLS,
//! default origin). It subscribes to a channel with presence, publishes messages with `meta`, sends a
//! signal and a fire, lets a second user join and leave, prints everything as it arrives, then
//! unsubscribes and exits. Every wait is bounded, so it always ends by itself.
//!
//! `RUST_LOG=pubnub_engine=debug` also logs every transition of the engines (on stderr).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{Stream, StreamExt};
use pubnub_engine::{
    Listener, PresenceAction, PubNub, StatusCategory, SubscriptionOptions, Update,
};
use serde_json::json;

/// How long to wait for anything before moving on: generous for the real network.
const PATIENCE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    logs();
    let started = Instant::now();

    // Where to connect: the real network when both keys are set, else an embedded server. The
    // server handle must live until the end: dropping it stops the server.
    let keys = std::env::var("PUBNUB_PUBLISH_KEY")
        .ok()
        .zip(std::env::var("PUBNUB_SUBSCRIBE_KEY").ok());
    let (_server, origin, (publish_key, subscribe_key)) = match keys {
        Some(keys) => {
            println!(
                "PUBNUB_PUBLISH_KEY and PUBNUB_SUBSCRIBE_KEY are set: using the PubNub network"
            );
            (None, None, keys)
        }
        None => {
            let server = pubnub_local::Server::builder().start().await?;
            println!(
                "no PUBNUB_PUBLISH_KEY/PUBNUB_SUBSCRIBE_KEY: using an embedded pubnub-local at {}",
                server.url()
            );
            let url = server.url();
            (Some(server), Some(url), ("demo".into(), "demo".into()))
        }
    };
    // On a real keyset, a fresh channel and fresh user names per run, so runs do not meet.
    let run = match origin {
        Some(_) => String::new(),
        None => format!(
            "-{}",
            SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros() % 1_000_000
        ),
    };
    let channel = format!("quickstart{run}");
    let client = |user: &str| {
        let mut builder = PubNub::builder(&subscribe_key, format!("{user}{run}"))
            .publish_key(&publish_key)
            // Heartbeats on: the presence engine announces us, so joins and leaves show.
            .heartbeat_interval(30);
        if let Some(origin) = &origin {
            builder = builder.origin(origin);
        }
        builder.build_client()
    };
    let pubnub = client("alice")?;

    // Show everything as it arrives: statuses from the client, updates from the subscription.
    pubnub.add_listener(Listener::new().on_status(|status| {
        let why = status
            .error
            .as_ref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        println!("status    {:?}{why}", status.category);
    }));
    let subscription = pubnub
        .channel(&channel)
        .subscription(SubscriptionOptions::new().with_presence());
    subscription.on_message(|m| {
        let meta = m.meta.map(|u| format!("  meta {u}")).unwrap_or_default();
        println!(
            "message   {}{meta}  from {}",
            m.message,
            m.publisher.unwrap_or_default()
        );
    });
    subscription.on_signal(|s| {
        println!(
            "signal    {}  from {}",
            s.message,
            s.publisher.unwrap_or_default()
        );
    });
    subscription.on_presence(|p| {
        let who = p.user_id.unwrap_or_default();
        println!("presence  {:?} {who}  (occupancy {})", p.event, p.occupancy);
    });

    // Streams are the other way to receive; here they let `main` wait for what it expects.
    let mut statuses = pubnub.status_stream();
    let mut updates = subscription.update_stream();

    println!(
        "subscribing to {channel} with presence as {}",
        pubnub.user_id()
    );
    subscription.subscribe()?;
    if !wait_for(&mut statuses, |s| s.category == StatusCategory::Connected).await {
        return Err("not connected: is the network reachable and are the keys right?".into());
    }

    // Three messages with meta (what filter expressions look at), then a signal.
    for n in 1..=3 {
        pubnub
            .publish()
            .channel(&channel)
            .message(&json!({"text": "hello", "n": n}))
            .meta(&json!({"lang": "en"}))
            .await?;
    }
    pubnub.signal().channel(&channel).message(&"typing").await?;
    // A fire reaches PubNub Functions only: no subscriber ever receives it.
    let fired = pubnub
        .fire()
        .channel(&channel)
        .message(&json!({"audit": "quickstart"}))
        .await?;
    println!(
        "fire      accepted at {} (Functions only: never delivered to subscribers)",
        fired.timetoken
    );

    let (mut messages, mut signals) = (0, 0);
    let all_arrived = wait_for(&mut updates, |u| {
        match u {
            Update::Message(_) => messages += 1,
            Update::Signal(_) => signals += 1,
            _ => {}
        }
        messages == 3 && signals == 1
    })
    .await;
    if !all_arrived {
        println!("(only {messages} messages and {signals} signals arrived in time)");
    }

    // A second user comes and goes: presence events for bob's join and leave.
    let bob = client("bob")?;
    let bob_name = bob.user_id().to_owned();
    let bobs = bob
        .channel(&channel)
        .subscription(SubscriptionOptions::new());
    bobs.subscribe()?;
    let is_bob = |u: &Update, action| match u {
        Update::Presence(p) => p.event == action && p.user_id.as_deref() == Some(bob_name.as_str()),
        _ => false,
    };
    if wait_for(&mut updates, |u| is_bob(u, PresenceAction::Join)).await {
        bob.close().await; // unsubscribes and sends the leave
        wait_for(&mut updates, |u| is_bob(u, PresenceAction::Leave)).await;
    } else {
        println!("(no presence events: is Presence enabled on this keyset?)");
        bob.close().await;
    }

    subscription.unsubscribe();
    wait_for(&mut statuses, |s| {
        s.category == StatusCategory::Disconnected
    })
    .await;
    pubnub.close().await;
    println!("done in {} ms", started.elapsed().as_millis());
    Ok(())
}

/// Takes items from `stream` until `done` says so; false if that took longer than [`PATIENCE`].
async fn wait_for<T>(
    stream: &mut (impl Stream<Item = T> + Unpin),
    mut done: impl FnMut(&T) -> bool,
) -> bool {
    let until_done = async {
        while let Some(item) = stream.next().await {
            if done(&item) {
                return true;
            }
        }
        false
    };
    tokio::time::timeout(PATIENCE, until_done)
        .await
        .unwrap_or(false)
}

/// Logs to stderr, quiet unless `RUST_LOG` asks for more.
fn logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

//! A terminal chat between processes: `cargo run --example chat -- NAME [ORIGIN]`.
//!
//! Start the local server once, then one chat per terminal:
//!
//! ```text
//! cargo run -p pubnub-local -- --bind 127.0.0.1:8090
//! cargo run --example chat -- alice
//! cargo run --example chat -- bob
//! ```
//!
//! Lines you type are published to the room; other people's messages, joins and leaves are
//! printed. `/who` lists who is here; `/quit`, Ctrl-D or Ctrl-C leaves (others see the leave).
//!
//! ORIGIN (or `PUBNUB_ORIGIN`) defaults to `http://127.0.0.1:8090`. With `PUBNUB_PUBLISH_KEY` and
//! `PUBNUB_SUBSCRIBE_KEY` set and no origin given, it uses the real PubNub network. The room is
//! `CHAT_ROOM` (default `chat`).

use std::io::BufRead;

use pubnub_engine::{Listener, PresenceAction, PubNub, StatusCategory, SubscriptionOptions};
use tokio::sync::mpsc;

const LOCAL: &str = "http://127.0.0.1:8090";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let name = args
        .next()
        .ok_or("usage: cargo run --example chat -- NAME [ORIGIN]")?;
    let origin = args.next().or_else(|| std::env::var("PUBNUB_ORIGIN").ok());
    let room = std::env::var("CHAT_ROOM").unwrap_or_else(|_| "chat".into());
    let keys = std::env::var("PUBNUB_PUBLISH_KEY")
        .ok()
        .zip(std::env::var("PUBNUB_SUBSCRIBE_KEY").ok());

    let (origin, (publish_key, subscribe_key)) = match (origin, keys) {
        (Some(origin), keys) => (Some(origin), keys.unwrap_or(("demo".into(), "demo".into()))),
        (None, Some(keys)) => (None, keys),
        (None, None) => (Some(LOCAL.to_owned()), ("demo".into(), "demo".into())),
    };
    let mut builder = PubNub::builder(subscribe_key, &name)
        .publish_key(publish_key)
        // Heartbeats keep us listed while the chat runs; a crashed chat times out in 60 s.
        .presence_timeout(60)
        .heartbeat_interval(25);
    if let Some(origin) = &origin {
        builder = builder.origin(origin);
    }
    let pubnub = builder.build_client()?;
    let shown_origin = origin.as_deref().unwrap_or("the PubNub network");
    println!("* {name} in room {room:?} on {shown_origin}. /who lists people, /quit leaves.");

    pubnub.add_listener(
        Listener::new().on_status(|status| match status.category.story() {
            StatusCategory::Connected => println!("* connected"),
            StatusCategory::UnexpectedDisconnect => println!("* connection lost, retrying…"),
            StatusCategory::Reconnected => println!("* reconnected"),
            StatusCategory::ConnectionError => match &status.error {
                Some(reason) => println!("* gave up reconnecting: {reason}"),
                None => println!("* gave up reconnecting"),
            },
            _ => {}
        }),
    );
    let chat = pubnub
        .channel(&room)
        .subscription(SubscriptionOptions::new().with_presence());
    let me = name.clone();
    chat.on_message(move |m| {
        let from = m.publisher.unwrap_or_default();
        if from != me {
            match m.message.as_str() {
                Some(text) => println!("[{from}] {text}"),
                None => println!("[{from}] {}", m.message),
            }
        }
    });
    let me = name.clone();
    chat.on_presence(move |p| {
        let who = p.user_id.unwrap_or_default();
        match p.event {
            _ if who == me => {}
            PresenceAction::Join => println!("* {who} joined ({} here)", p.occupancy),
            PresenceAction::Leave => println!("* {who} left ({} here)", p.occupancy),
            PresenceAction::Timeout => println!("* {who} timed out ({} here)", p.occupancy),
            _ => {}
        }
    });
    chat.subscribe()?;

    let mut lines = stdin_lines();
    loop {
        let line = tokio::select! {
            line = lines.recv() => line,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(line) = line else { break }; // Ctrl-D or Ctrl-C
        match line.trim() {
            "" => {}
            "/quit" => break,
            "/who" => match pubnub.here_now().channels([room.as_str()]).await {
                Ok(here) => {
                    let people: Vec<String> = here
                        .channels
                        .iter()
                        .flat_map(|c| c.occupants.iter().map(|o| o.user_id.clone()))
                        .collect();
                    println!("* here: {}", people.join(", "));
                }
                Err(e) => println!("* could not ask who is here: {e}"),
            },
            text => {
                if let Err(e) = pubnub.publish().channel(&room).message(text).await {
                    println!("* not sent: {e}");
                }
            }
        }
    }
    // Unsubscribes, sends the leave and stops the engines; bounded by the request timeout.
    pubnub.close().await;
    println!("* bye");
    Ok(())
}

/// Lines from stdin, read on a plain thread: stdin is blocking, and the channel closes at EOF.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

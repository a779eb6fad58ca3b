//! PubNub's "Handling Disconnects" snippet, translated line by line, with every branch of its
//! status table reached by a fault of an embedded `pubnub-local`:
//! `cargo run --example handle_disconnects`.
//!
//! The docs' Python:
//!
//! ```python
//! class HandleDisconnectsCallback(SubscribeCallback):
//!     def status(self, pubnub, status):
//!         if status.category == PNStatusCategory.PNUnexpectedDisconnectCategory:
//!             # internet got lost, do some magic and call reconnect when ready
//!             pubnub.reconnect()
//!         elif status.category == PNStatusCategory.PNTimeoutCategory:
//!             # do some magic and call reconnect when ready
//!             pubnub.reconnect()
//!         else:
//!             logger.debug(status)
//! ```
//!
//! In Rust, one `match status.category` reaches every situation of the docs' table; the
//! engine retries by itself, so `reconnect()` only skips what is left of the back-off.
//! Runs offline in about a second and exits non-zero if a branch is not reached.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pubnub_engine::{
    Listener, PubNub, RetryConfig, RetryPolicy, Status, StatusCategory, SubscriptionOptions,
    WeakPubNub,
};
use pubnub_local::{Endpoint, Fault, Server, ServerHandle};

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// The status listener of the docs, in Rust; returns the branch it took.
fn handle_disconnects(pubnub: &WeakPubNub, status: &Status) -> &'static str {
    match status.category {
        StatusCategory::UnexpectedDisconnect => {
            // The network failed (5xx, 429): the engine retries; reconnect() retries now.
            if let Some(pubnub) = pubnub.upgrade() {
                pubnub.reconnect();
            }
            "UnexpectedDisconnect"
        }
        StatusCategory::Timeout => {
            if let Some(pubnub) = pubnub.upgrade() {
                pubnub.reconnect();
            }
            "Timeout"
        }
        StatusCategory::NetworkIssues => "NetworkIssues",
        StatusCategory::Unknown => "Unknown",
        StatusCategory::AccessDenied => "AccessDenied",
        StatusCategory::BadRequest => "BadRequest",
        StatusCategory::ConnectionError => "ConnectionError",
        StatusCategory::Connected => "Connected",
        StatusCategory::Reconnected => "Reconnected",
        StatusCategory::Disconnected => "Disconnected",
        StatusCategory::SubscriptionChanged => "SubscriptionChanged",
        StatusCategory::RequestMessageCountExceeded => "RequestMessageCountExceeded",
        _ => "other",
    }
}

/// One client with the docs' listener; returns it and the branches its listener took.
fn client(server: &ServerHandle, user: &str) -> Result<(PubNub, Arc<Mutex<Vec<&'static str>>>)> {
    let pubnub = PubNub::builder("demo", user)
        .publish_key("demo")
        .origin(server.url())
        .handshake_timeout(Duration::from_millis(200))
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(50),
            max_retries: 2,
        }))
        .build_client()?;
    let taken = Arc::new(Mutex::new(Vec::new()));
    let (weak, sink) = (pubnub.downgrade(), taken.clone());
    pubnub.add_listener(Listener::new().on_status(move |status| {
        let branch = handle_disconnects(&weak, &status);
        let cause = status
            .error
            .as_ref()
            .map(|e| e.message.as_str())
            .unwrap_or("");
        println!("    {branch:<20} {cause}");
        sink.lock().unwrap().push(branch);
    }));
    Ok((pubnub, taken))
}

/// Waits until `taken` holds `branches` in this order.
async fn until(taken: &Mutex<Vec<&'static str>>, branches: &[&str]) -> Result<()> {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !taken.lock().unwrap().ends_with(branches) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .map_err(|_| format!("expected {branches:?}, got {:?}", taken.lock().unwrap()).into())
}

#[tokio::main]
async fn main() -> Result<()> {
    let server = Server::builder()
        .hold(Duration::from_secs(2))
        .faults(true)
        .start()
        .await?;
    let faults = server.faults();
    let mut reached = BTreeSet::new();
    let step = |what: &str| println!("\n{what}");

    step("subscribe, change the subscription, then a 500, a reset and garbage on the long-poll");
    let (pubnub, taken) = client(&server, "alice")?;
    pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new())
        .subscribe()?;
    until(&taken, &["Connected"]).await?;
    pubnub
        .channel("lobby")
        .subscription(SubscriptionOptions::new())
        .subscribe()?;
    until(&taken, &["SubscriptionChanged"]).await?;
    // The listener calls reconnect() on UnexpectedDisconnect, as the docs do: the loop then
    // handshakes at once and says Connected. The engine's own retry says Reconnected.
    for (fault, branches) in [
        (Fault::status(500), ["UnexpectedDisconnect", "Connected"]),
        (Fault::reset(), ["NetworkIssues", "Reconnected"]),
        (Fault::non_json(), ["Unknown", "Reconnected"]),
    ] {
        faults.inject(fault.on(Endpoint::Subscribe));
        until(&taken, &branches).await?;
    }
    step("disconnect");
    pubnub.disconnect();
    until(&taken, &["Disconnected"]).await?;
    reached.extend(taken.lock().unwrap().iter().copied());
    pubnub.close().await;

    step("a handshake that times out, then succeeds");
    let (pubnub, taken) = client(&server, "bob")?;
    faults.inject(Fault::hang().on(Endpoint::Subscribe));
    pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new())
        .subscribe()?;
    until(&taken, &["Timeout", "Connected"]).await?;
    reached.extend(taken.lock().unwrap().iter().copied());
    pubnub.close().await;

    for (what, fault, branches) in [
        (
            "a handshake refused by Access Manager (403)",
            Fault::status(403),
            &["AccessDenied"][..],
        ),
        (
            "a handshake refused as malformed (400)",
            Fault::status(400),
            &["BadRequest"][..],
        ),
        (
            "500s until the retries are given up",
            Fault::status(500).times(10),
            &["UnexpectedDisconnect", "ConnectionError"][..],
        ),
    ] {
        step(what);
        let (pubnub, taken) = client(&server, "carol")?;
        faults.inject(fault.on(Endpoint::Subscribe));
        pubnub
            .channel("room")
            .subscription(SubscriptionOptions::new())
            .subscribe()?;
        until(&taken, branches).await?;
        reached.extend(taken.lock().unwrap().iter().copied());
        pubnub.close().await;
    }

    let table = [
        "AccessDenied",
        "BadRequest",
        "Connected",
        "ConnectionError",
        "Disconnected",
        "NetworkIssues",
        "Reconnected",
        "SubscriptionChanged",
        "Timeout",
        "UnexpectedDisconnect",
        "Unknown",
    ];
    let missing: Vec<_> = table.iter().filter(|b| !reached.contains(*b)).collect();
    println!("\nbranches reached: {reached:?}");
    if !missing.is_empty() {
        return Err(format!("branches not reached: {missing:?}").into());
    }
    server.shutdown().await;
    Ok(())
}

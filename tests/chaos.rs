//! Chaos: the client against `pubnub-local` over loopback while faults are injected at random
//! from a fixed seed (see `support/chaos.rs` for the scenario; `examples/soak.rs` runs it for
//! longer), and the presence engine under faults on a paused clock.

mod support;

#[path = "support/chaos.rs"]
mod scenario;

use std::time::Duration;

use pubnub_engine::presence::machine::State as PresenceState;
use pubnub_engine::{RetryConfig, RetryPolicy, SubscriptionOptions};
use pubnub_local::{Endpoint, Fault};

use support::memory::Memory;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_arrives_once_and_in_order_through_random_faults() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let report = scenario::run(scenario::Options {
        seed,
        duration: Duration::ZERO,
        min_rounds: 22,
        per_round: 4,
        verbose: false,
    })
    .await;
    println!("seed {seed}\n{report}");
    assert!(report.is_clean(), "seed {seed}:\n{report}");
    assert!(report.reconnects > 0, "{report}");
    assert!(
        report.faults.len() == 11,
        "every fault kind was used: {report}"
    );
}

/// The trace names of the presence machine, from now on.
fn presence_names(trace: &mut pubnub_engine::TraceStream) -> Vec<&'static str> {
    trace
        .drain()
        .into_iter()
        .filter(|e| e.machine() == "presence")
        .map(|e| e.name())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn heartbeats_recover_give_up_per_policy_and_leave_once() {
    let memory = Memory::new();
    let pubnub = memory.client_with("present", |b| {
        b.heartbeat_interval(5)
            .presence_timeout(20)
            .retry(RetryConfig::new(RetryPolicy::Linear {
                delay: Duration::from_secs(1),
                max_retries: 2,
            }))
    });
    let faults = memory.server().faults();
    let mut trace = pubnub.trace();

    // Two failures, then success: recovered through DELAYED_HEARTBEAT.
    faults.inject(Fault::status(503).on(Endpoint::Presence).times(2));
    let sub = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    sub.subscribe().unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(matches!(
        pubnub.presence_state().await,
        Some(PresenceState::HeartbeatCooldown { .. })
    ));
    let names = presence_names(&mut trace);
    let pattern = [
        "JOINED",
        "HEARTBEAT",
        "HEARTBEAT_FAILURE",
        "DELAYED_HEARTBEAT",
        "HEARTBEAT_FAILURE",
        "CANCEL_DELAYED_HEARTBEAT",
        "DELAYED_HEARTBEAT",
        "HEARTBEAT_SUCCESS",
        "CANCEL_DELAYED_HEARTBEAT",
        "WAIT",
    ];
    assert_eq!(names, pattern);

    // Always failing: the first heartbeat after the cooldown and two retries, then give up.
    faults.inject(Fault::status(503).on(Endpoint::Presence).times(100));
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(
        matches!(
            pubnub.presence_state().await,
            Some(PresenceState::HeartbeatFailed { .. })
        ),
        "{:?}",
        pubnub.presence_state().await
    );
    let names = presence_names(&mut trace);
    assert_eq!(
        names.iter().filter(|n| **n == "HEARTBEAT_GIVEUP").count(),
        1
    );
    let heartbeats = memory.seen().iter().filter(|s| s.is_heartbeat()).count();
    assert_eq!(
        heartbeats,
        1 + 2 + 1 + 2,
        "3 until recovery, 3 until giving up"
    );
    // Given up means given up: no more heartbeats while time passes.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let later = memory.seen().iter().filter(|s| s.is_heartbeat()).count();
    assert_eq!(later, heartbeats);

    // Unsubscribing sends the leave exactly once, and closing sends no second one.
    faults.clear();
    sub.unsubscribe();
    pubnub.close().await;
    let leaves: Vec<_> = memory.seen().into_iter().filter(|s| s.is_leave()).collect();
    assert_eq!(leaves.len(), 1, "{leaves:#?}");
    assert!(leaves[0].segments().contains(&"room".to_string()));
    assert!(pubnub_engine::testing::task_tracker(&pubnub).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_fatal_heartbeat_error_gives_up_at_once() {
    let memory = Memory::new();
    let pubnub = memory.client_with("denied", |b| b.heartbeat_interval(5).presence_timeout(20));
    memory
        .server()
        .faults()
        .inject(Fault::status(403).on(Endpoint::Presence).times(100));
    let sub = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    sub.subscribe().unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(matches!(
        pubnub.presence_state().await,
        Some(PresenceState::HeartbeatFailed { .. })
    ));
    let heartbeats = memory.seen().iter().filter(|s| s.is_heartbeat()).count();
    assert_eq!(heartbeats, 1, "403 is not retried");
    drop(sub);
    pubnub.close().await;
    assert_eq!(memory.seen().iter().filter(|s| s.is_leave()).count(), 1);
}

//! Shutdown in every order: `close()` and drop of the client and its subscriptions, while
//! receiving, during a reconnect back-off, during a long-poll that never answers, with and
//! without the presence engine. Each must cancel every effect, send the leave exactly once, end
//! every task within one second (of paused time) and never panic.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{ErrorKind, PubNub, StatusCategory, Subscription, SubscriptionOptions};
use pubnub_local::{Endpoint, Fault};
use tokio_util::task::TaskTracker;

use support::memory::{Memory, NetFault};

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics anywhere in this binary (a panicking task would otherwise only print).
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A failing assertion of a test here is reported by the test itself.
            let in_tests = info
                .location()
                .is_some_and(|l| l.file().starts_with("tests"));
            if !in_tests {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

/// Where a client is when it is shut down.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Moment {
    Receiving,
    /// Every subscribe fails: the loop waits out a long exponential back-off.
    Backoff,
    /// The long-poll in flight never answers.
    Hanging,
}

struct Fixture {
    memory: Arc<Memory>,
    pubnub: PubNub,
    sub: Subscription,
    tracker: TaskTracker,
}

async fn start(moment: Moment, presence: bool) -> Fixture {
    count_panics();
    let memory = Memory::new();
    let pubnub = memory.client_with("leaver", |b| {
        let b = b.retry(pubnub_engine::RetryConfig::new(
            pubnub_engine::RetryPolicy::exponential(),
        ));
        if presence {
            b.heartbeat_interval(5).presence_timeout(20)
        } else {
            b
        }
    });
    let sub = pubnub
        .channel("bye")
        .subscription(SubscriptionOptions::new().with_presence());
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), statuses.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.category, StatusCategory::Connected);
    match moment {
        Moment::Receiving => {}
        Moment::Backoff => {
            memory
                .server()
                .faults()
                .inject(Fault::status(503).on(Endpoint::Subscribe).times(1000));
            memory.server().faults().drop_long_polls();
            // Into the back-off: after the first retries, the next waits 8 s or more.
            tokio::time::sleep(Duration::from_secs(8)).await;
            let state = pubnub.subscribe_state().await.unwrap();
            assert_eq!(state.name(), "ReceiveReconnecting");
        }
        Moment::Hanging => {
            memory.force(NetFault::Hang);
            memory.server().faults().drop_long_polls();
            // The retry comes after 2 s and up to 1 s of jitter; it hangs.
            tokio::time::sleep(Duration::from_secs(4)).await;
            let hanging = memory.seen().into_iter().rfind(|s| s.is_subscribe());
            assert_eq!(hanging.map(|s| s.fault), Some(Some(NetFault::Hang)));
        }
    }
    if presence {
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert!(memory.seen().iter().any(|s| s.is_heartbeat()));
    }
    let tracker = pubnub_engine::testing::task_tracker(&pubnub);
    Fixture {
        memory,
        pubnub,
        sub,
        tracker,
    }
}

/// Everything ended within one second, one leave was sent, nothing runs or panicked.
async fn assert_shut_down(memory: &Memory, tracker: &TaskTracker, what: &str) {
    tokio::time::timeout(Duration::from_secs(1), tracker.wait())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{what}: {} tasks still running after 1 s (closed: {})",
                tracker.len(),
                tracker.is_closed()
            )
        });
    assert_eq!(memory.in_flight(), 0, "{what}: requests in flight");
    assert_eq!(
        memory.server().hub().waiting_subscribers(),
        0,
        "{what}: a long-poll is still parked"
    );
    let heartbeats = memory.seen().iter().filter(|s| s.is_heartbeat()).count();
    // Time passes: nothing wakes up again (no heartbeat, no retry, no second leave).
    tokio::time::sleep(Duration::from_secs(600)).await;
    let leaves: Vec<_> = memory.seen().into_iter().filter(|s| s.is_leave()).collect();
    assert_eq!(leaves.len(), 1, "{what}: leaves {leaves:#?}");
    assert!(leaves[0].segments().contains(&"bye".to_string()), "{what}");
    assert_eq!(
        memory.seen().iter().filter(|s| s.is_heartbeat()).count(),
        heartbeats,
        "{what}: a heartbeat after shutdown"
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "{what}: a panic");
}

const MOMENTS: [Moment; 3] = [Moment::Receiving, Moment::Backoff, Moment::Hanging];

#[tokio::test(start_paused = true)]
async fn close_then_drop_in_every_state() {
    for presence in [false, true] {
        for moment in MOMENTS {
            let what = format!("close, {moment:?}, presence {presence}");
            let f = start(moment, presence).await;
            let started = tokio::time::Instant::now();
            f.pubnub.close().await;
            assert!(started.elapsed() <= Duration::from_secs(1), "{what}");
            assert!(
                pubnub_engine::testing::running_effects(&f.pubnub)
                    .await
                    .is_empty(),
                "{what}"
            );
            assert!(f.pubnub.subscribe_state().await.is_none(), "{what}");
            assert_eq!(
                pubnub_engine::testing::registry_size(&f.pubnub),
                (0, 0),
                "{what}"
            );
            drop(f.sub);
            drop(f.pubnub);
            assert_shut_down(&f.memory, &f.tracker, &what).await;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_client_before_its_subscriptions() {
    for presence in [false, true] {
        for moment in MOMENTS {
            let what = format!("client then subscription, {moment:?}, presence {presence}");
            let f = start(moment, presence).await;
            drop(f.pubnub);
            // A subscription holds the client weakly: dropping the last client handle shuts
            // everything down while the subscription handle is still held.
            assert_shut_down(&f.memory, &f.tracker, &what).await;
            assert!(!f.sub.is_subscribed(), "{what}");
            let error = f.sub.subscribe().unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Closed, "{what}");
            drop(f.sub);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_subscriptions_before_the_client() {
    for presence in [false, true] {
        for moment in MOMENTS {
            let what = format!("subscription then client, {moment:?}, presence {presence}");
            let f = start(moment, presence).await;
            drop(f.sub);
            tokio::time::sleep(Duration::from_millis(100)).await;
            // A dropped handle does not unsubscribe: the client keeps the subscription.
            assert_eq!(
                pubnub_engine::testing::registry_size(&f.pubnub).0,
                1,
                "{what}"
            );
            drop(f.pubnub);
            assert_shut_down(&f.memory, &f.tracker, &what).await;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn unsubscribing_then_closing_sends_one_leave() {
    for presence in [false, true] {
        let what = format!("unsubscribe then close, presence {presence}");
        let f = start(Moment::Receiving, presence).await;
        f.sub.unsubscribe();
        f.pubnub.close().await;
        drop(f.sub);
        assert_shut_down(&f.memory, &f.tracker, &what).await;
    }
}

#[tokio::test(start_paused = true)]
async fn close_is_idempotent_and_final() {
    let f = start(Moment::Receiving, true).await;
    let clone = f.pubnub.clone();
    f.pubnub.close().await;
    clone.close().await;
    let again = f
        .pubnub
        .channel("again")
        .subscription(SubscriptionOptions::new());
    assert_eq!(again.subscribe().unwrap_err().kind(), ErrorKind::Closed);
    // Every request of the application is refused too, before anything is sent (issue 33).
    let sent = f.memory.seen().len();
    assert_eq!(f.pubnub.time().await.unwrap_err().kind(), ErrorKind::Closed);
    let publish = f.pubnub.publish().channel("c").message(&1).await;
    assert_eq!(publish.unwrap_err().kind(), ErrorKind::Closed);
    let history = f.pubnub.fetch_messages().channels(["c"]).await;
    assert_eq!(history.unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(f.memory.seen().len(), sent, "nothing was sent");
    drop(again);
    drop(f.sub);
    drop(clone);
    assert_shut_down(&f.memory, &f.tracker, "close twice").await;
}

#[tokio::test(start_paused = true)]
async fn dropping_a_client_that_never_subscribed_is_quiet() {
    count_panics();
    let memory = Memory::new();
    let pubnub = memory.client("idle");
    let tracker = pubnub_engine::testing::task_tracker(&pubnub);
    let sub = pubnub
        .channel("never")
        .subscription(SubscriptionOptions::new());
    drop(sub);
    drop(pubnub);
    tokio::time::timeout(Duration::from_secs(1), tracker.wait())
        .await
        .expect("nothing to wait for");
    assert!(memory.seen().is_empty(), "{:?}", memory.seen());
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
}

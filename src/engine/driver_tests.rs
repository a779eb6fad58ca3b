//! The driver's rules, checked with the real subscribe machine and scripted effects on a paused
//! clock: the drain rule, one managed effect per kind, replaced results never reported, clean
//! shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;
use crate::engine::{Cursor, Input};
use crate::subscribe::machine::{Event, Invocation, State, SubscribeMachine};

/// Handshakes succeed after one second with a cursor derived from the input's first channel;
/// long-polls hang until cancelled and count their drops.
#[derive(Default)]
struct Scripted {
    receive_dropped: Arc<AtomicUsize>,
    statuses: Mutex<Vec<String>>,
}

struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Effects<SubscribeMachine> for Scripted {
    fn dispatch(&self, invocation: Invocation) -> Dispatch<Event> {
        match invocation {
            Invocation::Handshake { input, .. } => Dispatch::Async(Box::pin(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let first = input.channels.iter().next().cloned().unwrap_or_default();
                Some(Event::HandshakeSuccess {
                    cursor: Cursor::new(first.len() as u64, 1),
                })
            })),
            Invocation::ReceiveMessages { .. } => {
                let guard = DropGuard(self.receive_dropped.clone());
                Dispatch::Async(Box::pin(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    None
                }))
            }
            Invocation::EmitStatus(status) => {
                self.statuses
                    .lock()
                    .unwrap()
                    .push(format!("{:?}", status.category));
                Dispatch::Done
            }
            _ => Dispatch::Done,
        }
    }
}

fn start(
    effects: Arc<Scripted>,
) -> (
    Engine<SubscribeMachine>,
    broadcast::Receiver<TraceEntry>,
    TaskTracker,
    CancellationToken,
) {
    let (trace, rx) = broadcast::channel(256);
    let tracker = TaskTracker::new();
    let token = CancellationToken::new();
    let engine = Engine::spawn(
        MachineContext::default(),
        effects,
        trace,
        token.clone(),
        tracker.clone(),
    );
    (engine, rx, tracker, token)
}

fn drain(rx: &mut broadcast::Receiver<TraceEntry>) -> Vec<&'static str> {
    let mut names = Vec::new();
    while let Ok(entry) = rx.try_recv() {
        names.push(entry.name());
    }
    names
}

fn changed(channels: &[&str]) -> Event {
    Event::SubscriptionChanged {
        input: Input::channels(channels.iter().copied()),
    }
}

#[tokio::test(start_paused = true)]
async fn every_invocation_is_dispatched_in_order_before_the_next_event() {
    let effects = Arc::new(Scripted::default());
    let (engine, mut trace, _tracker, _token) = start(effects.clone());
    engine.send(changed(&["abc"]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let snapshot = engine.inspect().await.unwrap();
    assert_eq!(
        drain(&mut trace),
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_SUCCESS",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES"
        ]
    );
    assert_eq!(
        snapshot.state,
        State::Receiving {
            input: Input::channels(["abc"]),
            cursor: Cursor::new(3, 1),
            outage: false,
            probe: false,
        }
    );
    assert_eq!(snapshot.running, ["RECEIVE_MESSAGES"]);
    assert_eq!(*effects.statuses.lock().unwrap(), ["Connected"]);
}

#[tokio::test(start_paused = true)]
async fn a_restarted_managed_effect_cancels_the_old_one() {
    let effects = Arc::new(Scripted::default());
    let (engine, _trace, _tracker, _token) = start(effects.clone());
    engine.send(changed(&["a"]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    engine.send(changed(&["a", "b"]));
    engine.send(changed(&["a", "b", "c"]));
    let snapshot = engine.inspect().await.unwrap();
    assert_eq!(
        snapshot.running,
        ["RECEIVE_MESSAGES"],
        "one long-poll at a time"
    );
    assert_eq!(effects.receive_dropped.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_replaced_effect_never_reports_its_result() {
    // Both handshakes would succeed after a second; the first is replaced before it can.
    let effects = Arc::new(Scripted::default());
    let (engine, mut trace, _tracker, _token) = start(effects);
    engine.send(changed(&["a"]));
    engine.send(changed(&["bb"]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let snapshot = engine.inspect().await.unwrap();
    assert_eq!(
        snapshot.state,
        State::Receiving {
            input: Input::channels(["bb"]),
            cursor: Cursor::new(2, 1),
            outage: false,
            probe: false,
        },
        "the cursor is the second handshake's"
    );
    let events: Vec<_> = std::iter::from_fn(|| trace.try_recv().ok())
        .filter(|e| matches!(e, TraceEntry::Event { .. }))
        .map(|e| e.name())
        .collect();
    assert_eq!(
        events,
        [
            "SUBSCRIPTION_CHANGED",
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE_SUCCESS"
        ],
        "the replaced handshake's result never reached the machine"
    );
}

#[tokio::test(start_paused = true)]
async fn an_effect_that_ends_without_an_event_stops_running() {
    // A managed effect that ends with no event at all must not stay listed as running.
    struct Silent;
    impl Effects<SubscribeMachine> for Silent {
        fn dispatch(&self, invocation: Invocation) -> Dispatch<Event> {
            match invocation {
                Invocation::Handshake { .. } => Dispatch::Async(Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    None
                })),
                _ => Dispatch::Done,
            }
        }
    }
    let (trace, _rx) = broadcast::channel(64);
    let engine = Engine::<SubscribeMachine>::spawn(
        MachineContext::default(),
        Arc::new(Silent),
        trace,
        CancellationToken::new(),
        TaskTracker::new(),
    );
    engine.send(changed(&["a"]));
    assert_eq!(engine.inspect().await.unwrap().running, ["HANDSHAKE"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let snapshot = engine.inspect().await.unwrap();
    assert!(snapshot.running.is_empty());
    assert!(matches!(snapshot.state, State::Handshaking { .. }));
}

/// Heartbeats that never answer, counting their drops.
#[derive(Default)]
struct Hanging {
    dropped: Arc<AtomicUsize>,
}

impl Effects<crate::presence::machine::PresenceMachine> for Hanging {
    fn dispatch(
        &self,
        invocation: crate::presence::machine::Invocation,
    ) -> Dispatch<crate::presence::machine::Event> {
        use crate::presence::machine::Invocation as I;
        match invocation {
            I::Heartbeat { .. } => {
                let guard = DropCounter(self.dropped.clone());
                Dispatch::Async(Box::pin(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    None
                }))
            }
            _ => Dispatch::Done,
        }
    }
}

/// Counts its drop.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// PubNub's presence scenarios have no invocation that cancels a heartbeat: a heartbeat
/// replaced by a new one, and one whose state is left, are cancelled by the driver, untraced.
#[tokio::test(start_paused = true)]
async fn an_effect_whose_state_is_left_is_cancelled_untraced() {
    use crate::presence::machine::{Event as P, PresenceMachine};
    let effects = Arc::new(Hanging::default());
    let (trace, mut rx) = broadcast::channel(256);
    let engine = Engine::<PresenceMachine>::spawn(
        MachineContext::default(),
        effects.clone(),
        trace,
        CancellationToken::new(),
        TaskTracker::new(),
    );
    engine.send(P::Joined {
        input: Input::channels(["a"]),
    });
    engine.send(P::Joined {
        input: Input::channels(["b"]),
    });
    let snapshot = engine.inspect().await.unwrap();
    assert_eq!(
        snapshot.running,
        ["HEARTBEAT"],
        "the second replaced the first"
    );
    assert_eq!(effects.dropped.load(Ordering::SeqCst), 1);
    engine.send(P::LeftAll);
    let snapshot = engine.inspect().await.unwrap();
    assert!(snapshot.running.is_empty(), "{:?}", snapshot.running);
    assert_eq!(effects.dropped.load(Ordering::SeqCst), 2);
    assert_eq!(
        drain(&mut rx),
        [
            "JOINED",
            "HEARTBEAT",
            "JOINED",
            "HEARTBEAT",
            "LEFT_ALL",
            "LEAVE"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_ends_the_engine_and_its_effects() {
    let effects = Arc::new(Scripted::default());
    let (engine, _trace, tracker, token) = start(effects.clone());
    engine.send(changed(&["a"]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    engine.inspect().await.unwrap();
    drop(engine);
    tracker.close();
    tokio::time::timeout(Duration::from_secs(1), tracker.wait())
        .await
        .expect("every task ended");
    assert!(token.is_cancelled());
    assert_eq!(effects.receive_dropped.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_token_stops_the_engine() {
    let effects = Arc::new(Scripted::default());
    let (engine, _trace, tracker, token) = start(effects.clone());
    engine.send(changed(&["a"]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    token.cancel();
    tracker.close();
    tokio::time::timeout(Duration::from_secs(1), tracker.wait())
        .await
        .expect("every task ended");
    assert!(!engine.send(Event::Disconnect), "the queue is closed");
    assert_eq!(effects.receive_dropped.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_drops_the_running_effect_at_once() {
    let effects = Arc::new(Scripted::default());
    let (engine, _trace, _tracker, _token) = start(effects.clone());
    engine.send(changed(&["a"]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        engine.inspect().await.unwrap().running,
        ["RECEIVE_MESSAGES"]
    );
    engine.send(Event::Disconnect);
    let snapshot = engine.inspect().await.unwrap();
    assert!(snapshot.running.is_empty());
    assert_eq!(
        effects.receive_dropped.load(Ordering::SeqCst),
        1,
        "CANCEL_RECEIVE_MESSAGES dropped the long-poll before the next event was taken"
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_effect_still_cancels_the_engine_token() {
    struct Panics;
    impl Effects<SubscribeMachine> for Panics {
        fn dispatch(&self, invocation: Invocation) -> Dispatch<Event> {
            match invocation {
                Invocation::Handshake { .. } => Dispatch::Async(Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    panic!("an effect's bug")
                })),
                _ => Dispatch::Done,
            }
        }
    }
    let (trace, _rx) = broadcast::channel(64);
    let token = CancellationToken::new();
    let engine = Engine::<SubscribeMachine>::spawn(
        MachineContext::default(),
        Arc::new(Panics),
        trace,
        token.clone(),
        TaskTracker::new(),
    );
    engine.send(changed(&["a"]));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        token.is_cancelled(),
        "what watches the token (a heartbeat worker) stops with the engine"
    );
    assert!(!engine.send(Event::Disconnect), "the engine is gone");
}

mod idle_tests {
    //! When the driver says it is idle: managed effects may wait, immediate ones may not.

    use std::time::Duration;

    use super::*;
    use crate::engine::{Cursor, Input};
    use crate::subscribe::machine::{Event, Invocation, SubscribeMachine};
    use tokio::time::Instant;

    /// Handshakes answer after 1 s; each status is emitted by a task of its own that takes
    /// 3 s, and panics for `Disconnected`; long-polls hang.
    struct Slow;

    impl Effects<SubscribeMachine> for Slow {
        fn dispatch(&self, invocation: Invocation) -> Dispatch<Event> {
            match invocation {
                Invocation::Handshake { .. } => Dispatch::Async(Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Some(Event::HandshakeSuccess {
                        cursor: Cursor::new(17_000_000_000_000_000, 1),
                    })
                })),
                Invocation::ReceiveMessages { .. } => {
                    Dispatch::Async(Box::pin(std::future::pending()))
                }
                Invocation::EmitStatus(status) => Dispatch::Async(Box::pin(async move {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    assert_ne!(
                        status.category,
                        crate::StatusCategory::Disconnected,
                        "a panicking immediate effect"
                    );
                    None
                })),
                _ => Dispatch::Done,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_waits_for_immediate_effects_but_not_for_managed_ones() {
        let tracker = TaskTracker::new();
        let engine = Engine::<SubscribeMachine>::spawn(
            MachineContext::default(),
            Arc::new(Slow),
            TraceSink::lazy(8),
            CancellationToken::new(),
            tracker.clone(),
        );
        let started = Instant::now();
        assert_eq!(engine.idle().await, Some(0));
        assert_eq!(started.elapsed(), Duration::ZERO);

        engine.send(Event::SubscriptionChanged {
            input: Input::channels(["a"]),
        });
        // The handshake (managed) waits for its second: idle at once, one step taken.
        assert_eq!(engine.idle().await, Some(1));
        assert_eq!(started.elapsed(), Duration::ZERO);

        // Once it answers, the Connected status takes 3 s in a task of its own: idle only
        // after it, with the long-poll (managed) still hanging.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let steps = engine.idle().await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(4));
        let snapshot = engine.inspect().await.unwrap();
        assert_eq!(snapshot.running, ["RECEIVE_MESSAGES"]);
        // The handshake's end, its event, the status task's end.
        assert_eq!(steps, 4);

        // An immediate effect that panics still counts as ended.
        engine.send(Event::Disconnect);
        assert_eq!(engine.idle().await, Some(6));
        assert_eq!(started.elapsed(), Duration::from_secs(7));
    }
}

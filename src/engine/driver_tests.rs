//! The driver's rules, checked with the real subscribe machine and scripted effects on a paused
//! clock: the drain rule, one managed effect per kind, late results dropped, clean shutdown.

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
    let engine = Engine::spawn(effects, trace, token.clone(), tracker.clone());
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
            cursor: Cursor::new(3, 1)
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
    tokio::task::yield_now().await;
    assert_eq!(effects.receive_dropped.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_late_result_of_a_replaced_effect_is_dropped() {
    let effects = Arc::new(Scripted::default());
    let (trace, mut rx) = broadcast::channel(64);
    let (tx, _rx) = mpsc::unbounded_channel();
    let mut driver = Driver::<SubscribeMachine> {
        state: State::Unsubscribed,
        effects,
        trace: trace.into(),
        running: HashMap::new(),
        next_id: 0,
        tx: tx.downgrade(),
        token: CancellationToken::new(),
        tracker: TaskTracker::new(),
    };
    driver.on_msg(Msg::Event(changed(&["a"])));
    driver.on_msg(Msg::Event(changed(&["bb"])));
    let stale = Msg::Effect {
        kind: "HANDSHAKE",
        id: 1,
        event: Event::HandshakeSuccess {
            cursor: Cursor::new(1, 1),
        },
    };
    driver.on_msg(stale);
    assert!(matches!(driver.state, State::Handshaking { .. }));
    let current = Msg::Effect {
        kind: "HANDSHAKE",
        id: 2,
        event: Event::HandshakeSuccess {
            cursor: Cursor::new(2, 1),
        },
    };
    driver.on_msg(current);
    assert_eq!(
        driver.state,
        State::Receiving {
            input: Input::channels(["bb"]),
            cursor: Cursor::new(2, 1)
        }
    );
    let events: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
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
        "the stale result never reached the machine"
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

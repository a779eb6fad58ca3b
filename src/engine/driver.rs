//! The one run loop that drives any [`Machine`]: a queue of events, the pure transition, and the
//! dispatch of every invocation before the next event is taken (the *drain rule*).
//!
//! Managed effects run in their own tasks, each with its own [`CancellationToken`], keyed by
//! kind: starting a kind that is already running cancels the old one first, and a result that
//! arrives after its effect was cancelled or replaced is dropped, never fed back. The driver
//! knows no PubNub endpoint: what an invocation does is up to its [`Effects`].
//! No lock is held across an `.await`; the loop's state lives in the task that owns it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::engine::trace::{TraceEntry, TraceSink};
use crate::engine::{Lifecycle, Machine};

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What running an invocation amounts to.
pub(crate) enum Dispatch<E> {
    /// It ran to completion inside the driver (emitting a status or messages).
    Done,
    /// It goes on in its own task and may report an event when it ends.
    Async(BoxFuture<Option<E>>),
}

/// What each invocation of machine `M` does. Cancel invocations never reach it.
pub(crate) trait Effects<M: Machine>: Send + Sync + 'static {
    fn dispatch(&self, invocation: M::Invocation) -> Dispatch<M::Event>;
}

enum Msg<M: Machine> {
    /// An event from outside (the subscription manager, the user, an immediate effect).
    Event(M::Event),
    /// The result of the managed effect `kind` started as number `id`.
    Effect {
        kind: &'static str,
        id: u64,
        event: M::Event,
    },
    /// A request for the current state and running managed effects.
    Inspect(oneshot::Sender<Snapshot<M>>),
}

/// The state of an engine and the managed effects it has running.
#[derive(Debug, Clone)]
pub struct Snapshot<M: Machine> {
    /// The current state.
    pub state: M::State,
    /// The kinds of managed effects that are running (at most one of each).
    pub running: Vec<&'static str>,
}

/// A handle to a running engine: feeds it events and inspects it.
pub(crate) struct Engine<M: Machine> {
    tx: mpsc::UnboundedSender<Msg<M>>,
}

impl<M: Machine> Clone for Engine<M> {
    fn clone(&self) -> Self {
        Engine {
            tx: self.tx.clone(),
        }
    }
}

impl<M: Machine> Engine<M> {
    /// Starts the engine's task on `tracker`. It ends when `token` is cancelled, or when every
    /// handle is dropped and the events queued before have been handled; either way it then
    /// cancels `token`, which its effects watch.
    pub(crate) fn spawn(
        effects: Arc<dyn Effects<M>>,
        trace: impl Into<TraceSink>,
        token: CancellationToken,
        tracker: TaskTracker,
    ) -> Engine<M> {
        let (tx, rx) = mpsc::unbounded_channel();
        let driver = Driver::<M> {
            state: M::initial(),
            effects,
            trace: trace.into(),
            running: HashMap::new(),
            next_id: 0,
            tx: tx.downgrade(),
            token,
            tracker: tracker.clone(),
        };
        tracker.spawn(driver.run(rx));
        Engine { tx }
    }

    /// Queues an event; false when the engine has stopped.
    pub(crate) fn send(&self, event: M::Event) -> bool {
        self.tx.send(Msg::Event(event)).is_ok()
    }

    /// The current state and running effects, once every event queued before has been handled.
    pub(crate) async fn inspect(&self) -> Option<Snapshot<M>> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Msg::Inspect(reply)).ok()?;
        answer.await.ok()
    }
}

struct Driver<M: Machine> {
    state: M::State,
    effects: Arc<dyn Effects<M>>,
    trace: TraceSink,
    running: HashMap<&'static str, (u64, CancellationToken)>,
    next_id: u64,
    // Weak, so that the queue closes when every outside handle is gone.
    tx: mpsc::WeakUnboundedSender<Msg<M>>,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl<M: Machine> Driver<M> {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg<M>>) {
        loop {
            let msg = tokio::select! {
                biased;
                _ = self.token.cancelled() => break,
                msg = rx.recv() => match msg {
                    Some(msg) => msg,
                    None => break,
                },
            };
            self.on_msg(msg);
        }
        // Whether cancelled or abandoned by every handle, the engine ends its managed effects.
        for (_, (_, token)) in self.running.drain() {
            token.cancel();
        }
        self.token.cancel();
    }

    fn on_msg(&mut self, msg: Msg<M>) {
        {
            match msg {
                Msg::Event(event) => self.handle(event),
                Msg::Effect { kind, id, event } => {
                    if self
                        .running
                        .get(kind)
                        .is_some_and(|(current, _)| *current == id)
                    {
                        self.running.remove(kind);
                        self.handle(event);
                    } else {
                        tracing::trace!(
                            machine = M::NAME,
                            effect = kind,
                            event = M::event_name(&event),
                            "dropped the late result of a cancelled effect"
                        );
                    }
                }
                Msg::Inspect(reply) => {
                    let _ = reply.send(Snapshot {
                        state: self.state.clone(),
                        running: self.running.keys().copied().collect(),
                    });
                }
            }
        }
    }

    /// Takes one event through the transition and dispatches every invocation (the drain rule).
    fn handle(&mut self, event: M::Event) {
        let from = M::state_name(&self.state);
        let name = M::event_name(&event);
        let Some(transition) = M::transition(&self.state, &event) else {
            tracing::debug!(machine = M::NAME, "{from} --{name}--> (ignored)");
            self.trace.send(TraceEntry::Event {
                machine: M::NAME,
                name,
                from,
                to: None,
            });
            return;
        };
        let to = M::state_name(&transition.state);
        if tracing::enabled!(tracing::Level::DEBUG) {
            let names: Vec<&str> = transition
                .invocations
                .iter()
                .map(M::invocation_name)
                .collect();
            tracing::debug!(
                machine = M::NAME,
                "{from} --{name}--> {to} [{}]",
                names.join(", ")
            );
        }
        self.trace.send(TraceEntry::Event {
            machine: M::NAME,
            name,
            from,
            to: Some(to),
        });
        self.state = transition.state;
        for invocation in transition.invocations {
            self.dispatch(invocation);
        }
    }

    fn dispatch(&mut self, invocation: M::Invocation) {
        self.trace.send(TraceEntry::Invocation {
            machine: M::NAME,
            name: M::invocation_name(&invocation),
        });
        match M::lifecycle(&invocation) {
            Lifecycle::Cancel(kind) => {
                if let Some((_, token)) = self.running.remove(kind) {
                    token.cancel();
                }
            }
            Lifecycle::Managed(kind) => {
                if let Some((_, old)) = self.running.remove(kind) {
                    old.cancel();
                }
                let Dispatch::Async(effect) = self.effects.dispatch(invocation) else {
                    return;
                };
                self.next_id += 1;
                let id = self.next_id;
                let token = self.token.child_token();
                self.running.insert(kind, (id, token.clone()));
                let tx = self.tx.clone();
                let span = tracing::debug_span!("effect", machine = M::NAME, effect = kind, id);
                let effect = effect.instrument(span);
                self.tracker.spawn(async move {
                    let event = tokio::select! {
                        biased;
                        _ = token.cancelled() => return,
                        event = effect => event,
                    };
                    if let (Some(event), Some(tx)) = (event, tx.upgrade()) {
                        let _ = tx.send(Msg::Effect { kind, id, event });
                    }
                });
            }
            Lifecycle::Immediate => {
                let name = M::invocation_name(&invocation);
                if let Dispatch::Async(effect) = self.effects.dispatch(invocation) {
                    let effect = effect.instrument(tracing::debug_span!(
                        "effect",
                        machine = M::NAME,
                        effect = name
                    ));
                    // Immediate effects are never cancelled by the machine, and not by the
                    // engine's end either: a LEAVE queued just before the client was dropped
                    // must still be sent. Each is bounded by its request timeout, and effects
                    // that should stop with the engine (a heartbeat) watch its token themselves.
                    let tx = self.tx.clone();
                    self.tracker.spawn(async move {
                        if let (Some(event), Some(tx)) = (effect.await, tx.upgrade()) {
                            let _ = tx.send(Msg::Event(event));
                        }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;

//! The one run loop that drives any [`Machine`]: a queue of events, the pure transition, and the
//! dispatch of every invocation before the next event is taken (the *drain rule*).
//!
//! Managed effects are futures the driver's own task polls, at most one of each kind: starting
//! a kind that is already running drops the old future first, and cancelling one drops it, so
//! a cancelled or replaced effect can never report a result. An effect's result is handled in
//! the task that polled it, with no hop through a queue or to another task: the long-poll's
//! answer becomes the machine's next event, its messages reach the listeners, and the next
//! long-poll is sent, all in one wake-up of one task. An immediate effect that has work to
//! await (the presence heartbeat) runs in a task of its own. The driver knows no PubNub
//! endpoint: what an invocation does is up to its [`Effects`]. No lock is held across an
//! `.await`; the loop's state lives in the task that owns it.
//!
//! ENGINE.md §5 describes each managed effect in a task of its own with its own cancellation
//! token. This driver keeps what that guarantees (one effect per kind, restarting a kind
//! cancels the old one, a cancelled effect's result never reaches the machine, the engine's end
//! cancels every effect) with one task instead of one per effect: a spawn and a queue hop less
//! per long-poll, ~25 µs of publish → listener latency (BENCHMARKS.md).
//!
//! **Idle.** An engine is *idle* when its queue is empty, no task of an immediate effect is
//! still running, and every running managed effect has been polled since it last made progress
//! and is waiting (for the transport, a timer or another task). [`Engine::idle`] answers at
//! that point, which is what the test kit's [`testing::idle`](crate::testing::idle) builds on.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::instrument::Instrumented;
use tracing::Instrument;

use crate::engine::trace::{TraceEntry, TraceSink};
use crate::engine::{Context as MachineContext, Lifecycle, Machine, Snapshot};

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What running an invocation amounts to.
pub(crate) enum Dispatch<E> {
    /// It ran to completion inside the driver (emitting a status or messages).
    Done,
    /// It goes on (polled by the driver when managed, in a task of its own when immediate) and
    /// may report an event when it ends.
    Async(BoxFuture<Option<E>>),
}

/// What each invocation of machine `M` does. Cancel invocations never reach it.
pub(crate) trait Effects<M: Machine>: Send + Sync + 'static {
    fn dispatch(&self, invocation: M::Invocation) -> Dispatch<M::Event>;
}

/// Boxed in the queue: the queue allocates its first block of 32 slots at once, 8 bytes each
/// instead of an event each.
enum Msg<M: Machine> {
    /// An event from outside (the subscription manager, the user, an immediate effect).
    Event(M::Event),
    /// A request for the current state and running managed effects.
    Inspect(oneshot::Sender<Snapshot<M>>),
    /// A request to be told when the engine is idle, with its step count.
    Idle(oneshot::Sender<u64>),
    /// A task of an immediate effect ended, reporting this event or none.
    ImmediateDone(Option<M::Event>),
}

/// A managed effect the driver is polling.
struct Running<E> {
    kind: &'static str,
    effect: Instrumented<BoxFuture<Option<E>>>,
}

/// What wakes the driver.
enum Wake<M: Machine> {
    Stop,
    Msg(Box<Msg<M>>),
    /// The managed effect at this index of `running` ended, with or without an event.
    Effect(usize, Option<M::Event>),
    /// Nothing is ready and someone waits for the engine to be idle.
    Idle,
}

/// A handle to a running engine: feeds it events and inspects it.
pub(crate) struct Engine<M: Machine> {
    tx: mpsc::UnboundedSender<Box<Msg<M>>>,
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
        context: MachineContext,
        effects: Arc<dyn Effects<M>>,
        trace: impl Into<TraceSink>,
        token: CancellationToken,
        tracker: TaskTracker,
    ) -> Engine<M> {
        let (tx, rx) = mpsc::unbounded_channel();
        let driver = Driver::<M> {
            context,
            state: M::initial(),
            effects,
            trace: trace.into(),
            running: Vec::new(),
            next_id: 0,
            steps: 0,
            immediate: 0,
            idle_waiters: Vec::new(),
            inbox_first: false,
            tx: tx.downgrade(),
            token,
            tracker: tracker.clone(),
        };
        tracker.spawn(driver.run(rx));
        Engine { tx }
    }

    /// Queues an event; false when the engine has stopped.
    pub(crate) fn send(&self, event: M::Event) -> bool {
        self.tx.send(Box::new(Msg::Event(event))).is_ok()
    }

    /// The current state and running effects, once every event queued before has been handled.
    pub(crate) async fn inspect(&self) -> Option<Snapshot<M>> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Box::new(Msg::Inspect(reply))).ok()?;
        answer.await.ok()
    }

    /// Resolves once the engine is idle (see the module docs): every event queued before, and
    /// every event its effects reported meanwhile, has been handled and its invocations
    /// dispatched, no immediate effect's task is running, and every running managed effect is
    /// waiting. Returns the engine's step count (events handled, effects ended) so that a
    /// caller can tell whether anything happened between two idle points; `None` once the
    /// engine has stopped.
    pub(crate) async fn idle(&self) -> Option<u64> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Box::new(Msg::Idle(reply))).ok()?;
        answer.await.ok()
    }
}

/// Tells the engine that a task of an immediate effect ended: with its event when it ran to
/// the end, with none when it was dropped (it panicked, or the runtime is shutting down).
struct Report<M: Machine> {
    tx: Option<mpsc::WeakUnboundedSender<Box<Msg<M>>>>,
}

impl<M: Machine> Report<M> {
    fn send(mut self, event: Option<M::Event>) {
        if let Some(tx) = self.tx.take().and_then(|tx| tx.upgrade()) {
            let _ = tx.send(Box::new(Msg::ImmediateDone(event)));
        }
    }
}

impl<M: Machine> Drop for Report<M> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take().and_then(|tx| tx.upgrade()) {
            let _ = tx.send(Box::new(Msg::ImmediateDone(None)));
        }
    }
}

struct Driver<M: Machine> {
    /// What the machine decides with (retry policy, jitter, threshold).
    context: MachineContext,
    state: M::State,
    effects: Arc<dyn Effects<M>>,
    trace: TraceSink,
    /// At most one of each kind, in the order they were started.
    running: Vec<Running<M::Event>>,
    /// Numbers managed effects for their tracing spans.
    next_id: u64,
    /// Events handled and effects ended so far: what [`Engine::idle`] reports.
    steps: u64,
    /// Tasks of immediate effects still running.
    immediate: usize,
    /// Who waits for the engine to be idle.
    idle_waiters: Vec<oneshot::Sender<u64>>,
    /// Whether the inbox is looked at before the running effects on the next wake-up; it
    /// alternates, so that neither can starve the other.
    inbox_first: bool,
    // Weak, so that the queue closes when every outside handle is gone.
    tx: mpsc::WeakUnboundedSender<Box<Msg<M>>>,
    token: CancellationToken,
    tracker: TaskTracker,
}

/// Whatever ends the driver's task, a panic included, ends what watches the engine's token.
impl<M: Machine> Drop for Driver<M> {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

impl<M: Machine> Driver<M> {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Box<Msg<M>>>) {
        let token = self.token.clone();
        let cancelled = token.cancelled();
        tokio::pin!(cancelled);
        loop {
            let wake: Wake<M> = poll_fn(|cx| {
                if cancelled.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Stop);
                }
                self.inbox_first = !self.inbox_first;
                if self.inbox_first {
                    if let Poll::Ready(msg) = rx.poll_recv(cx) {
                        return Poll::Ready(msg.map_or(Wake::Stop, Wake::Msg));
                    }
                }
                if let Poll::Ready((index, event)) = self.poll_effects(cx) {
                    return Poll::Ready(Wake::Effect(index, event));
                }
                if !self.inbox_first {
                    if let Poll::Ready(msg) = rx.poll_recv(cx) {
                        return Poll::Ready(msg.map_or(Wake::Stop, Wake::Msg));
                    }
                }
                // Both the inbox and every effect are pending (their wakers are registered).
                if !self.idle_waiters.is_empty() && self.immediate == 0 {
                    return Poll::Ready(Wake::Idle);
                }
                Poll::Pending
            })
            .await;
            match wake {
                Wake::Stop => break,
                Wake::Msg(msg) => self.on_msg(*msg),
                Wake::Effect(index, event) => {
                    // It ended: it stops running, and its event (if any) is handled.
                    self.steps += 1;
                    self.running.remove(index);
                    if let Some(event) = event {
                        self.handle(event);
                    }
                }
                Wake::Idle => {
                    for waiter in self.idle_waiters.drain(..) {
                        let _ = waiter.send(self.steps);
                    }
                }
            }
        }
        // Whether cancelled or abandoned by every handle, the engine ends its managed effects
        // (and, when `self` drops, its token).
        self.running.clear();
    }

    /// Polls every running managed effect until one ends. All of them share the task's waker,
    /// so every wake-up polls each: cheap with at most a few kinds per machine.
    fn poll_effects(&mut self, cx: &mut Context<'_>) -> Poll<(usize, Option<M::Event>)> {
        for (index, running) in self.running.iter_mut().enumerate() {
            if let Poll::Ready(event) = Pin::new(&mut running.effect).poll(cx) {
                return Poll::Ready((index, event));
            }
        }
        Poll::Pending
    }

    /// Drops the running managed effect of `kind`, if any: it is cancelled where it stands.
    fn stop(&mut self, kind: &'static str) {
        self.running.retain(|running| running.kind != kind);
    }

    fn on_msg(&mut self, msg: Msg<M>) {
        match msg {
            Msg::Event(event) => self.handle(event),
            Msg::Inspect(reply) => {
                let _ = reply.send(Snapshot {
                    state: self.state.clone(),
                    running: self.running.iter().map(|r| r.kind).collect(),
                });
            }
            Msg::Idle(reply) => self.idle_waiters.push(reply),
            Msg::ImmediateDone(event) => {
                self.steps += 1;
                self.immediate = self.immediate.saturating_sub(1);
                if let Some(event) = event {
                    self.handle(event);
                }
            }
        }
    }

    /// Takes one event through the transition and dispatches every invocation (the drain rule).
    fn handle(&mut self, event: M::Event) {
        self.steps += 1;
        let from = M::state_name(&self.state);
        let name = M::event_name(&event);
        let Some(transition) = M::transition(&self.context, &self.state, &event) else {
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
            let names: Vec<String> = transition
                .invocations
                .iter()
                .map(|i| match M::invocation_detail(i) {
                    Some(detail) => format!("{} ({detail})", M::invocation_name(i)),
                    None => M::invocation_name(i).to_owned(),
                })
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
        // A managed effect lives only in the state that started it: one whose state was left
        // without an invocation cancelling it (PubNub's presence scenarios have none for a
        // heartbeat) is cancelled here, untraced, as an explicit cancel would.
        let allowed = M::entry_effect(&self.state);
        if self.running.iter().any(|r| Some(r.kind) != allowed) {
            self.running.retain(|r| Some(r.kind) == allowed);
        }
    }

    fn dispatch(&mut self, invocation: M::Invocation) {
        if self.trace.is_active() {
            self.trace.send(TraceEntry::Invocation {
                machine: M::NAME,
                name: M::invocation_name(&invocation),
                detail: M::invocation_detail(&invocation),
            });
        }
        match M::lifecycle(&invocation) {
            Lifecycle::Cancel(kind) => self.stop(kind),
            Lifecycle::Managed(kind) => {
                self.stop(kind);
                let Dispatch::Async(effect) = self.effects.dispatch(invocation) else {
                    return;
                };
                self.next_id += 1;
                let span = tracing::debug_span!(
                    "effect",
                    machine = M::NAME,
                    effect = kind,
                    id = self.next_id
                );
                self.running.push(Running {
                    kind,
                    effect: effect.instrument(span),
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
                    // engine's end either: each is bounded by its request timeout, and one
                    // that should stop with the engine (a heartbeat) watches its token itself.
                    // It always reports back, event or not (even if it panics), so that the
                    // engine knows when it is idle.
                    let report = Report {
                        tx: Some(self.tx.clone()),
                    };
                    self.immediate += 1;
                    self.tracker.spawn(async move {
                        let event = effect.await;
                        report.send(event);
                    });
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;

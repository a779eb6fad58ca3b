//! The client's subscribe side: both engines, the subscription registry, client-level
//! listeners, the trace, and the tasks they run. Started on first use, inside a tokio runtime.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::{CancellationToken, ReusableBoxFuture};
use tokio_util::task::TaskTracker;

use crate::engine::driver::Engine;
use crate::engine::trace::TraceSink;
use crate::engine::{Context, Cursor, Input, TraceEntry};
use crate::error::{Error, ErrorKind};
use crate::presence::effects::PresenceEffects;
use crate::presence::joined::Joined;
use crate::presence::requests::PresenceRequests;
use crate::service::Core;
use crate::status::Status;
use crate::subscribe::effects::SubscribeEffects;
use crate::subscribe::events::Update;
use crate::subscribe::high_water::HighWater;
use crate::subscribe::legacy::Legacy;
use crate::subscribe::listeners::{guarded, Listener, Listeners};
use crate::subscribe::manager::{DirectLeave, Manager, Registry};

/// How many trace entries a slow trace consumer may lag behind before it misses some.
const TRACE_CAPACITY: usize = 4096;

/// An id returned by [`PubNub::add_listener`](crate::PubNub::add_listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

struct StatusSink {
    tx: mpsc::Sender<Status>,
    dropped: Arc<AtomicU64>,
}

/// Client-level listeners: statuses and every update.
#[derive(Default)]
pub(crate) struct ClientListeners {
    listeners: Mutex<Vec<(ListenerId, Listener)>>,
    status_sinks: Mutex<Vec<StatusSink>>,
    /// Events that could not be decoded, delivered as `Update::Undecodable`.
    undecodable: AtomicU64,
    /// What the client-level listeners received on each channel (see [`HighWater`]).
    high_water: HighWater,
}

impl ClientListeners {
    /// Client-level listeners want everything any subscription receives: no floor.
    fn new() -> Self {
        let listeners = ClientListeners::default();
        listeners.high_water.set_floor(Some(0));
        listeners
    }

    pub(crate) fn count_undecodable(&self) {
        self.undecodable.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn undecodable(&self) -> u64 {
        self.undecodable.load(Ordering::Relaxed)
    }

    fn listeners(&self) -> Vec<Listener> {
        let list = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        list.iter().map(|(_, l)| l.clone()).collect()
    }

    pub(crate) fn status(&self, status: &Status) {
        {
            let mut sinks = self.status_sinks.lock().unwrap_or_else(|e| e.into_inner());
            sinks.retain(|s| !s.tx.is_closed());
            for sink in sinks.iter() {
                if sink.tx.try_send(status.clone()).is_err() {
                    sink.dropped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("a status stream's buffer is full; status dropped for it");
                }
            }
        }
        for listener in self.listeners() {
            for f in &listener.status {
                guarded(|| f(status));
            }
        }
    }

    /// Drops every listener and status stream sender.
    fn clear(&self) {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.status_sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The client-level listeners start no later than `timetoken` (`reconnect_from`).
    pub(crate) fn rewind_to(&self, timetoken: u64) {
        self.high_water.lower_floor(timetoken);
    }

    pub(crate) fn update(&self, update: &Update, from: u64) {
        if !self.high_water.admit_update(update, from) {
            return;
        }
        let listeners = {
            let list = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
            if list.iter().all(|(_, l)| l.update.is_empty()) {
                return;
            }
            list.iter().map(|(_, l)| l.clone()).collect::<Vec<_>>()
        };
        for listener in listeners {
            for f in &listener.update {
                guarded(|| f(update));
            }
        }
    }
}

/// A bounded stream of statuses; see [`PubNub::status_stream`](crate::PubNub::status_stream).
#[derive(Debug)]
pub struct StatusStream {
    rx: mpsc::Receiver<Status>,
    dropped: Arc<AtomicU64>,
}

impl StatusStream {
    /// How many statuses were dropped because this stream's buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl futures_util::Stream for StatusStream {
    type Item = Status;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Status>> {
        self.rx.poll_recv(cx)
    }
}

/// A stream of trace entries; see [`PubNub::trace`](crate::PubNub::trace).
///
/// It is a [`Stream`](futures_util::Stream) of [`TraceEntry`] that ends once the client is
/// closed or gone (after the entries already sent), so a test can `collect`, `take` or
/// `filter` it; [`TraceStream::next_entry`] is the same without importing `StreamExt`, and
/// [`TraceStream::drain`] takes what is there without waiting.
///
/// If the consumer falls more than 4096 entries behind, it skips ahead and
/// [`TraceStream::missed`] counts what it missed.
pub struct TraceStream {
    rx: broadcast::Receiver<TraceEntry>,
    missed: u64,
    ended: CancellationToken,
    /// While the stream waits: resolves when an entry is sent after it was created, or the
    /// client ends. It listens on a receiver of its own (a broadcast receiver cannot be polled
    /// without a future that owns it), so `rx` stays here for `drain`.
    wake: Option<ReusableBoxFuture<'static, ()>>,
}

impl std::fmt::Debug for TraceStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceStream")
            .field("missed", &self.missed)
            .field("ended", &self.ended.is_cancelled())
            .finish_non_exhaustive()
    }
}

/// Resolves when `rx` receives anything (an entry, a lag, the channel's end) or `ended` fires.
async fn woken(mut rx: broadcast::Receiver<TraceEntry>, ended: CancellationToken) {
    tokio::select! {
        _ = rx.recv() => {}
        _ = ended.cancelled() => {}
    }
}

impl TraceStream {
    pub(crate) fn new(rx: broadcast::Receiver<TraceEntry>, ended: CancellationToken) -> Self {
        TraceStream {
            rx,
            missed: 0,
            ended,
            wake: None,
        }
    }

    /// How many entries this stream missed by lagging.
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// The next entry, or `None` once the client is closed or gone.
    pub async fn next_entry(&mut self) -> Option<TraceEntry> {
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut *self).poll_entry(cx)).await
    }

    /// Every entry available right now, without waiting.
    pub fn drain(&mut self) -> Vec<TraceEntry> {
        let mut entries = Vec::new();
        loop {
            match self.rx.try_recv() {
                Ok(entry) => entries.push(entry),
                Err(broadcast::error::TryRecvError::Lagged(n)) => self.missed += n,
                Err(_) => return entries,
            }
        }
    }

    /// The next entry if one is there; else waits for one to be sent, or for the end.
    fn poll_entry(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<TraceEntry>> {
        use std::task::Poll;
        loop {
            match self.rx.try_recv() {
                Ok(entry) => return Poll::Ready(Some(entry)),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    self.missed += n;
                    continue;
                }
                Err(broadcast::error::TryRecvError::Closed) => return Poll::Ready(None),
                Err(broadcast::error::TryRecvError::Empty) => {}
            }
            // Entries already sent come first, then the end.
            if self.ended.is_cancelled() {
                return Poll::Ready(None);
            }
            // The waiting receiver must exist before `rx` is found empty, or an entry sent in
            // between would wake no one: a new one is made, then `rx` is looked at again.
            let Some(wake) = self.wake.as_mut() else {
                let wake = woken(self.rx.resubscribe(), self.ended.clone());
                self.wake = Some(ReusableBoxFuture::new(wake));
                continue;
            };
            match wake.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => {
                    let fresh = woken(self.rx.resubscribe(), self.ended.clone());
                    wake.set(fresh);
                }
            }
        }
    }
}

impl futures_util::Stream for TraceStream {
    type Item = TraceEntry;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<TraceEntry>> {
        self.poll_entry(cx)
    }
}

/// Both engines and what they share.
pub(crate) struct Subscriber {
    core: Arc<Core>,
    manager: OnceLock<Manager>,
    registry: Arc<Mutex<Registry>>,
    listeners: Arc<ClientListeners>,
    trace: TraceSink,
    tracker: TaskTracker,
    token: CancellationToken,
    next_id: AtomicU64,
    next_listener: AtomicU64,
    closed: AtomicBool,
    legacy: Legacy,
    /// Every subscription's listeners, so `close()` can end their streams.
    all_listeners: Mutex<Vec<Weak<Listeners>>>,
    /// Cancelled when the client is closed or dropped: trace streams end.
    ended: CancellationToken,
    /// Cancelled when `close()`'s deadline passes: a leave still in flight is abandoned.
    hard_stop: CancellationToken,
}

impl Subscriber {
    pub(crate) fn new(core: Arc<Core>) -> Subscriber {
        Subscriber {
            core,
            manager: OnceLock::new(),
            registry: Arc::default(),
            listeners: Arc::new(ClientListeners::new()),
            trace: TraceSink::lazy(TRACE_CAPACITY),
            tracker: TaskTracker::new(),
            token: CancellationToken::new(),
            next_id: AtomicU64::new(1),
            next_listener: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            legacy: Legacy::default(),
            all_listeners: Mutex::default(),
            ended: CancellationToken::new(),
            hard_stop: CancellationToken::new(),
        }
    }

    /// Listeners for a new subscription, remembered (weakly) so that `close()` can clear them.
    pub(crate) fn new_listeners(&self, dedupe: Option<usize>) -> Arc<Listeners> {
        let listeners = Arc::new(Listeners::deduplicating(dedupe));
        let mut all = self.all_listeners.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|weak| weak.strong_count() > 0);
        all.push(Arc::downgrade(&listeners));
        listeners
    }

    pub(crate) fn legacy(&self) -> &Legacy {
        &self.legacy
    }

    /// Unsubscribes everything, entity and legacy subscriptions alike.
    pub(crate) fn unsubscribe_all(&self) {
        self.legacy.clear();
        if let Some(manager) = self.manager.get() {
            manager.unsubscribe_all();
        }
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The manager, starting both engines on first use. Fails outside a tokio runtime or after
    /// `close()`.
    pub(crate) fn start(&self) -> Result<&Manager, Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Closed, "the client was closed"));
        }
        if let Some(manager) = self.manager.get() {
            return Ok(manager);
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::invalid(
                "subscribing needs a tokio runtime: call it from within one",
            ));
        }
        Ok(self.manager.get_or_init(|| self.spawn_engines()))
    }

    /// The manager if the engines were started.
    pub(crate) fn manager(&self) -> Option<&Manager> {
        self.manager.get()
    }

    fn spawn_engines(&self) -> Manager {
        let context = Context::from_config(self.core.config());
        let joined = Arc::new(Joined::default());
        let subscribe_token = self.token.child_token();
        let subscribe = Engine::spawn(
            context.clone(),
            Arc::new(SubscribeEffects {
                core: self.core.clone(),
                registry: self.registry.clone(),
                listeners: self.listeners.clone(),
                joined: joined.clone(),
            }),
            self.trace.clone(),
            subscribe_token,
            self.tracker.clone(),
        );
        let presence = (self.core.config().heartbeat_interval() > 0).then(|| {
            let token = self.token.child_token();
            let requests = PresenceRequests::start(
                self.core.clone(),
                token.clone(),
                self.hard_stop.clone(),
                joined.clone(),
                &self.tracker,
            );
            Engine::spawn(
                context.clone(),
                Arc::new(PresenceEffects::new(
                    self.core.clone(),
                    token.clone(),
                    requests,
                )),
                self.trace.clone(),
                token,
                self.tracker.clone(),
            )
        });
        let direct_leave = (presence.is_none() && !self.core.config().suppress_leave_events())
            .then(|| {
                // The same ordered, coalescing queue as the presence engine's: leaves of quick
                // unsubscribes become one request, and none outlives close()'s deadline. The
                // worker runs on the engines' runtime, so the last handle may be dropped
                // outside it.
                let requests = PresenceRequests::start(
                    self.core.clone(),
                    self.token.child_token(),
                    self.hard_stop.clone(),
                    joined,
                    &self.tracker,
                );
                Box::new(move |input: Input| requests.leave(input)) as DirectLeave
            });
        Manager::new(self.registry.clone(), subscribe, presence, direct_leave)
    }

    pub(crate) fn add_listener(&self, listener: Listener) -> ListenerId {
        let id = ListenerId(self.next_listener.fetch_add(1, Ordering::Relaxed));
        self.listeners
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, listener));
        id
    }

    pub(crate) fn remove_listener(&self, id: ListenerId) -> bool {
        let mut list = self
            .listeners
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let before = list.len();
        list.retain(|(other, _)| *other != id);
        list.len() != before
    }

    pub(crate) fn status_stream(&self, capacity: usize) -> StatusStream {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        self.listeners
            .status_sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(StatusSink {
                tx,
                dropped: dropped.clone(),
            });
        StatusStream { rx, dropped }
    }

    pub(crate) fn trace(&self) -> TraceStream {
        TraceStream::new(self.trace.subscribe(), self.ended.clone())
    }

    pub(crate) fn undecodable_events(&self) -> u64 {
        self.listeners.undecodable()
    }

    pub(crate) fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// (subscriptions, names) still registered.
    pub(crate) fn registry_size(&self) -> (usize, usize) {
        self.registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .size()
    }

    /// Unsubscribes everything, lets the engines send the leave, then ends every task, within
    /// the configured leave timeout: a leave the origin has not answered by then is abandoned.
    pub(crate) async fn close(&self) {
        let deadline = tokio::time::Instant::now() + self.core.config().leave_timeout();
        if self.closed.swap(true, Ordering::AcqRel) {
            self.tracker.close();
            self.tracker.wait().await;
            return;
        }
        self.unsubscribe_all();
        if let Some(manager) = self.manager.get() {
            // Wait until both engines have dispatched what the unsubscribe caused (the leave).
            let dispatched = async {
                manager.subscribe_engine().inspect().await;
                if let Some(presence) = manager.presence_engine() {
                    presence.inspect().await;
                }
            };
            let _ = tokio::time::timeout_at(deadline, dispatched).await;
        }
        self.token.cancel();
        self.tracker.close();
        if tokio::time::timeout_at(deadline, self.tracker.wait())
            .await
            .is_err()
        {
            // Everything but a leave in flight has ended with the token; give up on it.
            self.hard_stop.cancel();
            self.tracker.wait().await;
        }
        self.clear_listeners();
        self.ended.cancel();
    }

    /// Every stream ends, and callbacks let go of what they captured (a subscription handle,
    /// say): nothing the app registered outlives the client.
    fn clear_listeners(&self) {
        let all =
            std::mem::take(&mut *self.all_listeners.lock().unwrap_or_else(|e| e.into_inner()));
        for listeners in all.iter().filter_map(Weak::upgrade) {
            listeners.clear();
        }
        self.listeners.clear();
    }

    /// `reconnect_from(cursor)`: every set of listeners, the client's included, receives what
    /// it was never delivered since `cursor`, then the loop restarts from it.
    pub(crate) fn reconnect_from(&self, manager: &Manager, cursor: Cursor) {
        manager.lock().rewind_to(cursor.timetoken);
        self.listeners.rewind_to(cursor.timetoken);
        manager.reconnect(Some(cursor));
    }

    /// True after `close()`.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// On drop of the last client handle: unsubscribe (queuing the leave); the engines then end
    /// when their queues close with the manager.
    pub(crate) fn shutdown_on_drop(&self) {
        self.unsubscribe_all();
        self.tracker.close();
        self.clear_listeners();
        self.ended.cancel();
    }
}

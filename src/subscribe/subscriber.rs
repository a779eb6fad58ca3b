//! The client's subscribe side: both engines, the subscription registry, client-level
//! listeners, the trace, and the tasks they run. Started on first use, inside a tokio runtime.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::driver::Engine;
use crate::engine::trace::TraceSink;
use crate::engine::{Context, Cursor, Input};
use crate::error::{Error, ErrorKind};
use crate::presence::effects::PresenceEffects;
use crate::presence::joined::Joined;
use crate::presence::requests::PresenceRequests;
use crate::service::Core;
use crate::subscribe::effects::SubscribeEffects;
use crate::subscribe::listeners::{Listener, Listeners};
use crate::subscribe::manager::{DirectLeave, Manager, Registry};
use crate::subscribe::streams::ClientListeners;
pub use crate::subscribe::streams::{
    ClientEvent, EventStream, ListenerId, StatusStream, TraceStream,
};

/// How many trace entries a slow trace consumer may lag behind before it misses some.
const TRACE_CAPACITY: usize = 4096;

/// Legacy subscriptions by name: `(is_group, name)` → registry id.
#[derive(Default)]
pub(crate) struct Legacy {
    pub(crate) ids: Mutex<std::collections::HashMap<(bool, String), u64>>,
}

impl Legacy {
    /// Forgets every legacy subscription (after `unsubscribe_all`).
    fn clear(&self) {
        self.ids.lock().unwrap_or_else(|e| e.into_inner()).clear();
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
        self.listeners.add(listener)
    }

    pub(crate) fn remove_listener(&self, id: ListenerId) -> bool {
        self.listeners.remove(id)
    }

    pub(crate) fn status_stream(&self, capacity: usize) -> StatusStream {
        self.listeners.status_stream(capacity)
    }

    pub(crate) fn event_stream(&self, capacity: usize) -> EventStream {
        self.listeners.event_stream(capacity)
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
        self.core.close();
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

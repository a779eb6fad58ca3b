//! What the client's listeners receive outside subscriptions: the client-level listeners
//! (statuses and every update), the status stream and the trace stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::{CancellationToken, ReusableBoxFuture};

use crate::engine::TraceEntry;
use crate::status::Status;
use crate::subscribe::events::Update;
use crate::subscribe::high_water::HighWater;
use crate::subscribe::listeners::{guarded, Listener};

/// An id returned by [`PubNub::add_listener`](crate::PubNub::add_listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

/// A status stream's sender. Items are boxed: a channel allocates its first block of 32
/// slots at once, 8 bytes each boxed instead of a `Status` each (~3 KiB per stream).
struct StatusSink {
    tx: mpsc::Sender<Box<Status>>,
    dropped: Arc<AtomicU64>,
}

/// A status or an update, in the order the engine produced them: an item of
/// [`PubNub::event_stream`](crate::PubNub::event_stream).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A status of the subscribe loop.
    Status(Status),
    /// A message, signal, presence event, … that some subscription received.
    Update(Update),
}

/// An event stream's sender (items boxed, as a status stream's).
struct EventSink {
    tx: mpsc::Sender<Box<ClientEvent>>,
    dropped: Arc<AtomicU64>,
}

/// Client-level listeners: statuses and every update.
#[derive(Default)]
pub(crate) struct ClientListeners {
    listeners: Mutex<Vec<(ListenerId, Listener)>>,
    /// The id of the next listener added.
    next_id: AtomicU64,
    status_sinks: Mutex<Vec<StatusSink>>,
    /// Statuses and updates in one order; one lock, so that a status and the update after it
    /// reach every stream in that order.
    event_sinks: Mutex<Vec<EventSink>>,
    /// Events that could not be decoded, delivered as `Update::Undecodable`.
    undecodable: AtomicU64,
    /// What the client-level listeners received on each channel (see [`HighWater`]).
    high_water: HighWater,
}

impl ClientListeners {
    /// Client-level listeners want everything any subscription receives: no floor.
    pub(crate) fn new() -> Self {
        let listeners = ClientListeners::default();
        listeners.high_water.set_floor(Some(0));
        listeners.next_id.store(1, Ordering::Relaxed);
        listeners
    }

    pub(crate) fn add(&self, listener: Listener) -> ListenerId {
        let id = ListenerId(self.next_id.fetch_add(1, Ordering::Relaxed));
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, listener));
        id
    }

    pub(crate) fn remove(&self, id: ListenerId) -> bool {
        let mut list = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        let before = list.len();
        list.retain(|(other, _)| *other != id);
        list.len() != before
    }

    pub(crate) fn status_stream(self: &Arc<Self>, capacity: usize) -> StatusStream {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let mut sinks = self.status_sinks.lock().unwrap_or_else(|e| e.into_inner());
        // Streams dropped since the last status let go of their buffers now, not at the next
        // status (which may never come).
        sinks.retain(|s| !s.tx.is_closed());
        sinks.push(StatusSink {
            tx,
            dropped: dropped.clone(),
        });
        StatusStream {
            rx,
            dropped,
            listeners: Arc::downgrade(self),
        }
    }

    pub(crate) fn event_stream(self: &Arc<Self>, capacity: usize) -> EventStream {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let mut sinks = self.event_sinks.lock().unwrap_or_else(|e| e.into_inner());
        sinks.retain(|s| !s.tx.is_closed());
        sinks.push(EventSink {
            tx,
            dropped: dropped.clone(),
        });
        EventStream { rx, dropped }
    }

    /// Hands `event` to every event stream.
    fn to_event_streams(&self, event: impl FnOnce() -> ClientEvent) {
        let mut sinks = self.event_sinks.lock().unwrap_or_else(|e| e.into_inner());
        if sinks.is_empty() {
            return;
        }
        sinks.retain(|s| !s.tx.is_closed());
        let event = event();
        for sink in sinks.iter() {
            if sink.tx.try_send(Box::new(event.clone())).is_err() {
                sink.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("an event stream's buffer is full; event dropped for it");
            }
        }
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
        self.to_event_streams(|| ClientEvent::Status(status.clone()));
        {
            let mut sinks = self.status_sinks.lock().unwrap_or_else(|e| e.into_inner());
            sinks.retain(|s| !s.tx.is_closed());
            for sink in sinks.iter() {
                if sink.tx.try_send(Box::new(status.clone())).is_err() {
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
    pub(crate) fn clear(&self) {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.status_sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.event_sinks
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
        self.to_event_streams(|| ClientEvent::Update(update.clone()));
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
    rx: mpsc::Receiver<Box<Status>>,
    dropped: Arc<AtomicU64>,
    /// Where its sender is kept: a dropped stream takes its sender (and buffer) with it.
    listeners: std::sync::Weak<ClientListeners>,
}

impl Drop for StatusStream {
    fn drop(&mut self) {
        self.rx.close();
        if let Some(listeners) = self.listeners.upgrade() {
            listeners
                .status_sinks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|s| !s.tx.is_closed());
        }
    }
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
        self.rx
            .poll_recv(cx)
            .map(|status| status.map(|status| *status))
    }
}

/// A bounded stream of statuses and updates in one order; see
/// [`PubNub::event_stream`](crate::PubNub::event_stream).
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<Box<ClientEvent>>,
    dropped: Arc<AtomicU64>,
}

impl EventStream {
    /// How many events were dropped because this stream's buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl futures_util::Stream for EventStream {
    type Item = ClientEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ClientEvent>> {
        self.rx.poll_recv(cx).map(|event| event.map(|event| *event))
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

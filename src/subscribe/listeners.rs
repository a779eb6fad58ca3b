//! Listeners: callbacks and bounded streams that receive a subscription's updates.
//!
//! Callbacks run on the engine's task, in order, and must be quick (as in PubNub's SDKs).
//! Streams are bounded so that a slow consumer cannot grow memory without end or stall the other
//! subscriptions: when a stream's buffer is full, the update is dropped *for that stream only*
//! and counted; [`UpdateStream::dropped`] reports the count, and a warning is logged.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::mpsc;

use crate::status::Status;
use crate::subscribe::dedupe::Dedupe;
use crate::subscribe::events::{
    AppContextEvent, FileEvent, Message, MessageAction, PresenceEvent, Signal, UndecodableEvent,
    Update,
};
use crate::subscribe::high_water::HighWater;

/// The default number of updates a stream buffers for a slow consumer.
pub const DEFAULT_STREAM_CAPACITY: usize = 1024;

type Callback = Arc<dyn Fn(&Update) + Send + Sync>;
type StatusCallback = Arc<dyn Fn(&Status) + Send + Sync>;

/// A stream's sender. Items are boxed: a channel allocates its first block of 32 slots at
/// once, 8 bytes each boxed instead of an `Update` each (~8 KiB per stream).
struct Sink {
    tx: mpsc::Sender<Box<Update>>,
    dropped: Arc<AtomicU64>,
    accepts: fn(&Update) -> bool,
}

/// The callbacks and streams of one subscription (or of the client).
#[derive(Default)]
pub(crate) struct Listeners {
    inner: Mutex<ListenerList>,
    /// Drops messages already delivered, when the subscription asked for it.
    dedupe: Option<Dedupe>,
    /// What was delivered on each channel: another subscription's catch-up replays nothing.
    high_water: HighWater,
}

#[derive(Default)]
struct ListenerList {
    callbacks: Vec<Callback>,
    sinks: Vec<Sink>,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("Listeners")
            .field("callbacks", &list.callbacks.len())
            .field("streams", &list.sinks.len())
            .finish()
    }
}

impl Listeners {
    /// Listeners that drop duplicate messages when `window` is set (see `dedupe`).
    pub(crate) fn deduplicating(window: Option<usize>) -> Listeners {
        Listeners {
            dedupe: window.map(Dedupe::new),
            ..Listeners::default()
        }
    }

    /// Nothing at or before `floor` is wanted (`None`: the next batch's position); see
    /// [`HighWater`].
    pub(crate) fn start_after(&self, floor: Option<u64>) {
        self.high_water.set_floor(floor);
    }

    /// What comes after `timetoken` is wanted again (`reconnect_from`); see [`HighWater`].
    pub(crate) fn start_no_later_than(&self, timetoken: u64) {
        self.high_water.lower_floor(timetoken);
    }

    pub(crate) fn add_callback(&self, callback: Callback) {
        self.lock().callbacks.push(callback);
    }

    pub(crate) fn add_stream<T: FromUpdate>(&self, capacity: usize) -> UpdateStream<T> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let mut list = self.lock();
        // Streams dropped since the last delivery let go of their buffers now.
        list.sinks.retain(|sink| !sink.tx.is_closed());
        list.sinks.push(Sink {
            tx,
            dropped: dropped.clone(),
            accepts: T::accepts,
        });
        drop(list);
        UpdateStream {
            rx,
            dropped,
            _type: PhantomData,
        }
    }

    /// Drops every callback and stream sender: streams end, and closures holding client or
    /// subscription handles let go of them (breaking any cycle through this list).
    pub(crate) fn clear(&self) {
        let mut list = self.lock();
        list.callbacks.clear();
        list.sinks.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ListenerList> {
        // A panicking user callback must not wedge delivery for everyone else.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `update`, from a batch polled from `from`, to every callback and stream, unless
    /// these listeners had it already (see [`HighWater`]). No lock is held while callbacks
    /// run, so a callback may subscribe, unsubscribe or add listeners.
    pub(crate) fn deliver(&self, update: &Update, from: u64) {
        if !self.high_water.admit_update(update, from) {
            return;
        }
        if self.dedupe.as_ref().is_some_and(|d| d.is_duplicate(update)) {
            return;
        }
        let callbacks = {
            let mut list = self.lock();
            list.sinks.retain(|sink| !sink.tx.is_closed());
            for sink in list.sinks.iter().filter(|s| (s.accepts)(update)) {
                if sink.tx.try_send(Box::new(update.clone())).is_err() {
                    let n = sink.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::warn!(
                        channel = update.channel(),
                        dropped = n,
                        "a stream's buffer is full: its consumer is too slow; update dropped for that stream"
                    );
                }
            }
            if list.callbacks.is_empty() {
                return;
            }
            list.callbacks.clone()
        };
        for callback in callbacks {
            guarded(|| callback(update));
        }
    }
}

/// Runs a user callback; a panic in it is logged and contained, so it cannot kill the engine
/// task that delivers to every other listener.
pub(crate) fn guarded(callback: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(callback)) {
        let what = crate::error::panic_message(&*panic);
        tracing::error!("a listener callback panicked: {what}");
    }
}

/// Types a [`UpdateStream`] can yield.
pub trait FromUpdate: Send + 'static + sealed::Sealed {
    #[doc(hidden)]
    fn accepts(update: &Update) -> bool;
    #[doc(hidden)]
    fn from_update(update: Update) -> Option<Self>
    where
        Self: Sized;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! from_update {
    ($($ty:ty => $variant:ident),*) => {$(
        impl sealed::Sealed for $ty {}
        impl FromUpdate for $ty {
            fn accepts(update: &Update) -> bool {
                matches!(update, Update::$variant(_))
            }
            fn from_update(update: Update) -> Option<Self> {
                match update {
                    Update::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
        }
    )*};
}

from_update!(
    Message => Message,
    Signal => Signal,
    PresenceEvent => Presence,
    MessageAction => MessageAction,
    FileEvent => File,
    AppContextEvent => AppContext,
    UndecodableEvent => Undecodable
);

impl sealed::Sealed for Update {}
impl FromUpdate for Update {
    fn accepts(_: &Update) -> bool {
        true
    }
    fn from_update(update: Update) -> Option<Self> {
        Some(update)
    }
}

/// A bounded stream of one kind of update (or of every [`Update`]).
///
/// It ends when its subscription is dropped and the client is gone.
#[derive(Debug)]
pub struct UpdateStream<T> {
    rx: mpsc::Receiver<Box<Update>>,
    dropped: Arc<AtomicU64>,
    _type: PhantomData<fn() -> T>,
}

impl<T> UpdateStream<T> {
    /// How many updates were dropped because this stream's buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl<T: FromUpdate> Stream for UpdateStream<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(update)) => {
                    if let Some(item) = T::from_update(*update) {
                        return Poll::Ready(Some(item));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A client-level listener: statuses and every update, as in PubNub's `add_listener`.
///
/// ```
/// # use pubnub_engine::Listener;
/// let listener = Listener::new()
///     .on_status(|status| println!("{:?}", status.category))
///     .on_message(|message| println!("{}: {}", message.channel, message.message));
/// ```
#[derive(Default, Clone)]
pub struct Listener {
    pub(crate) status: Vec<StatusCallback>,
    pub(crate) update: Vec<Callback>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("status", &self.status.len())
            .field("callbacks", &self.update.len())
            .finish()
    }
}

macro_rules! listener_method {
    ($(#[$doc:meta] $name:ident => $ty:ty, $variant:ident;)*) => {
        impl Listener {$(
            #[$doc]
            pub fn $name(mut self, f: impl Fn($ty) + Send + Sync + 'static) -> Self {
                self.update.push(callback_for::<$ty>(f, |u| match u {
                    Update::$variant(inner) => Some(inner),
                    _ => None,
                }));
                self
            }
        )*}
    };
}

/// Wraps a typed user callback into one that receives every update and picks its kind.
pub(crate) fn callback_for<T: Clone + 'static>(
    f: impl Fn(T) + Send + Sync + 'static,
    pick: fn(&Update) -> Option<&T>,
) -> Callback {
    Arc::new(move |update: &Update| {
        if let Some(inner) = pick(update) {
            f(inner.clone())
        }
    })
}

impl Listener {
    /// An empty listener.
    pub fn new() -> Self {
        Listener::default()
    }

    /// Calls `f` with every status (its own copy, as every callback of this SDK).
    pub fn on_status(mut self, f: impl Fn(Status) + Send + Sync + 'static) -> Self {
        self.status
            .push(Arc::new(move |status: &Status| f(status.clone())));
        self
    }

    /// Calls `f` with every update of any kind.
    pub fn on_update(mut self, f: impl Fn(Update) + Send + Sync + 'static) -> Self {
        self.update
            .push(Arc::new(move |update: &Update| f(update.clone())));
        self
    }
}

listener_method! {
    /// Calls `f` with every message.
    on_message => Message, Message;
    /// Calls `f` with every signal.
    on_signal => Signal, Signal;
    /// Calls `f` with every presence event.
    on_presence => PresenceEvent, Presence;
    /// Calls `f` with every message action.
    on_message_action => MessageAction, MessageAction;
    /// Calls `f` with every file event.
    on_file => FileEvent, File;
    /// Calls `f` with every App Context event.
    on_objects => AppContextEvent, AppContext;
    /// Calls `f` with every event that could not be decoded.
    on_undecodable => UndecodableEvent, Undecodable;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribe::events::Message;

    #[test]
    fn listeners_of_a_deduplicating_subscription_see_a_copy_once() {
        use crate::subscribe::dedupe::tests::marked;
        use futures_util::{FutureExt, StreamExt};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        for (window, expected) in [(Some(10), 2), (None, 3)] {
            let listeners = Listeners::deduplicating(window);
            let calls = Arc::new(AtomicUsize::new(0));
            let counter = calls.clone();
            listeners.add_callback(Arc::new(move |_: &Update| {
                counter.fetch_add(1, Ordering::Relaxed);
            }));
            let mut stream = listeners.add_stream::<Message>(10);
            let first = marked("p", "c", "a", 1);
            let retried = marked("p", "c", "a", 1);
            let second = marked("p", "c", "a", 2);
            for update in [&first, &retried, &second] {
                listeners.deliver(update, 0);
            }
            assert_eq!(calls.load(Ordering::Relaxed), expected);
            let mut streamed = 0;
            while let Some(Some(_)) = stream.next().now_or_never() {
                streamed += 1;
            }
            assert_eq!(streamed, expected);
        }
    }
}

//! The observable trace of an engine: every event and every invocation, in dispatch order.
//!
//! Tests compare traces of names; apps subscribe to them with [`crate::PubNub::trace`] to see
//! what the engines do, and [`crate::diagram::Diagram::highlight`] draws a trace's path onto the
//! state diagram.

use std::fmt;
use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

/// How an ignored event shows in place of the state it led to: `Receiving --RECONNECT-->
/// (ignored)`.
pub const IGNORED: &str = "(ignored)";

/// One entry of an engine's trace.
///
/// Its `Display` is one line: `Receiving --RECEIVE_FAILURE--> ReceiveReconnecting` for an
/// applied event, `Receiving --RECONNECT--> (ignored)` for an ignored one, and the indented
/// name (with its decision, if any) for an invocation: `  RECEIVE_RECONNECT (attempt 1: retry
/// in 2.000 s)`. The names are the constants of [`crate::testing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceEntry {
    /// An event was taken from the queue.
    Event {
        /// The machine (`subscribe` or `presence`).
        machine: &'static str,
        /// The event's trace name, e.g. `RECEIVE_FAILURE`.
        name: &'static str,
        /// The state before the event.
        from: &'static str,
        /// The state after it, or `None` when the state ignored the event.
        to: Option<&'static str>,
    },
    /// An invocation was dispatched.
    Invocation {
        /// The machine (`subscribe` or `presence`).
        machine: &'static str,
        /// The invocation's trace name, e.g. `RECEIVE_RECONNECT`.
        name: &'static str,
        /// The decision it carries, if any: `attempt 2: retry in 4.000 s`, `attempt 7: give
        /// up`, or the category of an emitted status.
        detail: Option<String>,
    },
}

impl TraceEntry {
    /// The event or invocation name.
    pub fn name(&self) -> &'static str {
        match self {
            TraceEntry::Event { name, .. } | TraceEntry::Invocation { name, .. } => name,
        }
    }

    /// The machine this entry belongs to.
    pub fn machine(&self) -> &'static str {
        match self {
            TraceEntry::Event { machine, .. } | TraceEntry::Invocation { machine, .. } => machine,
        }
    }

    /// True for an event (applied or ignored).
    pub fn is_event(&self) -> bool {
        matches!(self, TraceEntry::Event { .. })
    }

    /// True for an invocation.
    pub fn is_invocation(&self) -> bool {
        matches!(self, TraceEntry::Invocation { .. })
    }

    /// True for an event the state ignored: the machine stayed where it was and dispatched
    /// nothing (ENGINE.md: `transition` returned `None`).
    pub fn is_ignored(&self) -> bool {
        matches!(self, TraceEntry::Event { to: None, .. })
    }

    /// True for an event that took a transition (to another state, or the same one again).
    pub fn is_applied(&self) -> bool {
        matches!(self, TraceEntry::Event { to: Some(_), .. })
    }

    /// The state before an event; `None` for an invocation.
    pub fn from(&self) -> Option<&'static str> {
        match self {
            TraceEntry::Event { from, .. } => Some(*from),
            TraceEntry::Invocation { .. } => None,
        }
    }

    /// The state after an applied event; `None` for an ignored event or an invocation.
    pub fn to(&self) -> Option<&'static str> {
        match self {
            TraceEntry::Event { to, .. } => *to,
            TraceEntry::Invocation { .. } => None,
        }
    }

    /// The decision an invocation carries (`attempt 2: retry in 4.000 s`, a status category).
    pub fn detail(&self) -> Option<&str> {
        match self {
            TraceEntry::Invocation { detail, .. } => detail.as_deref(),
            TraceEntry::Event { .. } => None,
        }
    }

    /// An event as a table row `(from, EVENT, to)`, with [`IGNORED`] as `to` when the state
    /// ignored it; `None` for an invocation.
    ///
    /// ```
    /// use pubnub_engine::testing::subscribe::{RECEIVING, RECONNECT};
    /// use pubnub_engine::engine::trace::IGNORED;
    /// use pubnub_engine::TraceEntry;
    ///
    /// let entry = TraceEntry::Event {
    ///     machine: "subscribe",
    ///     name: RECONNECT,
    ///     from: RECEIVING,
    ///     to: None,
    /// };
    /// assert_eq!(entry.transition(), Some((RECEIVING, RECONNECT, IGNORED)));
    /// assert_eq!(entry.to_string(), "Receiving --RECONNECT--> (ignored)");
    /// ```
    pub fn transition(&self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            TraceEntry::Event { name, from, to, .. } => Some((*from, *name, to.unwrap_or(IGNORED))),
            TraceEntry::Invocation { .. } => None,
        }
    }
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceEntry::Event {
                name,
                from,
                to: Some(to),
                ..
            } => write!(f, "{from} --{name}--> {to}"),
            TraceEntry::Event {
                name,
                from,
                to: None,
                ..
            } => write!(f, "{from} --{name}--> {IGNORED}"),
            TraceEntry::Invocation {
                name,
                detail: Some(detail),
                ..
            } => write!(f, "  {name} ({detail})"),
            TraceEntry::Invocation { name, .. } => write!(f, "  {name}"),
        }
    }
}

/// Where the engines of one client send their trace: a broadcast channel created when the
/// first [`TraceStream`](crate::TraceStream) subscribes. A broadcast channel allocates its whole
/// buffer up front (4096 entries are ~400 KiB), so an engine nobody traces must not own one:
/// before this was lazy, it was 90 % of a subscribed client's memory. Untraced, sending is a
/// load of the empty cell.
#[derive(Debug, Clone)]
pub(crate) struct TraceSink {
    tx: Arc<OnceLock<broadcast::Sender<TraceEntry>>>,
    capacity: usize,
}

impl TraceSink {
    /// A sink whose channel, once created, buffers `capacity` entries per lagging receiver.
    pub(crate) fn lazy(capacity: usize) -> TraceSink {
        TraceSink {
            tx: Arc::new(OnceLock::new()),
            capacity,
        }
    }

    /// A receiver of every entry sent from now on, creating the channel on first use.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<TraceEntry> {
        self.tx
            .get_or_init(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    /// True once someone subscribed: entries are worth building.
    pub(crate) fn is_active(&self) -> bool {
        self.tx.get().is_some()
    }

    /// Sends `entry` to the receivers, if any channel exists.
    pub(crate) fn send(&self, entry: TraceEntry) {
        if let Some(tx) = self.tx.get() {
            let _ = tx.send(entry);
        }
    }
}

impl From<broadcast::Sender<TraceEntry>> for TraceSink {
    fn from(tx: broadcast::Sender<TraceEntry>) -> TraceSink {
        TraceSink {
            tx: Arc::new(OnceLock::from(tx)),
            capacity: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_exists_only_once_someone_subscribes() {
        let sink = TraceSink::lazy(8);
        let entry = TraceEntry::Invocation {
            machine: "subscribe",
            name: "EMIT_STATUS",
            detail: None,
        };
        sink.send(entry.clone());
        assert!(sink.tx.get().is_none());
        let mut rx = sink.clone().subscribe();
        sink.send(entry.clone());
        assert_eq!(rx.try_recv().unwrap(), entry);
        assert!(rx.try_recv().is_err());
    }
}

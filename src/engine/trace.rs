//! The observable trace of an engine: every event and every invocation, in dispatch order.
//!
//! Tests compare traces of names; apps subscribe to them with [`crate::PubNub::trace`] to see
//! what the engines do, and [`crate::diagram::Diagram::highlight`] draws a trace's path onto the
//! state diagram.

use std::fmt;
use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

use crate::diagram::Edge;

/// One entry of an engine's trace.
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

    /// The diagram edge this entry took, for events that changed (or re-entered) a state.
    pub fn edge(&self) -> Option<Edge> {
        match self {
            TraceEntry::Event {
                name,
                from,
                to: Some(to),
                ..
            } => Some(Edge::new(*from, *name, *to)),
            _ => None,
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
            } => write!(f, "{from} --{name}--> (ignored)"),
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

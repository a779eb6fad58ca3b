//! The observable trace of an engine: every event and every invocation, in dispatch order.
//!
//! Tests compare traces of names; apps subscribe to them with [`crate::PubNub::trace`] to see
//! what the engines do, and [`crate::diagram::Diagram::highlight`] draws a trace's path onto the
//! state diagram.

use std::fmt;

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
            TraceEntry::Invocation { name, .. } => write!(f, "  {name}"),
        }
    }
}

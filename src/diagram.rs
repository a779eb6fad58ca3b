//! State diagrams generated from the transition functions themselves, so that the pictures in
//! `state-diagrams/` cannot drift from the code.
//!
//! [`Diagram::of`] enumerates the machine's sample states × sample events through
//! [`Machine::transition`] and keeps every edge it finds, labelled with the event names.
//! [`Diagram::to_dot`] and [`Diagram::to_mermaid`] render it; [`Diagram::highlight`] marks the
//! edges a recorded trace visited, so an incident can be drawn on the diagram.
//!
//! To draw what your own client did, record its trace with [`PubNub::trace`](crate::PubNub::trace)
//! and hand the entries to [`render_trace`] (or [`Diagram::highlight_trace`]):
//!
//! ```no_run
//! # async fn incident(pubnub: pubnub_engine::PubNub) -> std::io::Result<()> {
//! use pubnub_engine::diagram::render_trace;
//! use pubnub_engine::subscribe::machine::SubscribeMachine;
//!
//! let mut trace = pubnub.trace();
//! // … the app runs, the network misbehaves …
//! let entries = trace.drain();
//! let picture = render_trace::<SubscribeMachine>(&entries);
//! std::fs::write("incident.dot", picture.to_dot())?; // then: dot -Tsvg incident.dot -o incident.svg
//! # Ok(()) }
//! ```
//!
//! A [`TraceStream`](crate::TraceStream) records from the moment it is created and keeps the
//! most recent 4096 entries it has not read, so draining it after an incident gives the path
//! that led there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::engine::{Machine, TraceEntry};

/// One edge: a state, an event, and the state it leads to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    /// The state name before the event.
    pub from: String,
    /// The event's trace name.
    pub event: String,
    /// The state name after the event.
    pub to: String,
}

impl TraceEntry {
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

impl Edge {
    /// An edge `from --event--> to`.
    pub fn new(from: impl Into<String>, event: impl Into<String>, to: impl Into<String>) -> Self {
        Edge {
            from: from.into(),
            event: event.into(),
            to: to.into(),
        }
    }
}

/// The states and edges of one machine, with the edges a trace visited.
#[derive(Debug, Clone)]
pub struct Diagram {
    name: &'static str,
    initial: String,
    states: Vec<String>,
    edges: BTreeSet<Edge>,
    visited: BTreeSet<Edge>,
}

/// States drawn in the same rank (column), so the happy path runs straight through the middle.
fn ranks(name: &str) -> &'static [&'static [&'static str]] {
    match name {
        "subscribe" => &[
            &["HandshakeReconnecting", "HandshakeFailed"],
            &["ReceiveReconnecting", "ReceiveFailed"],
        ],
        "presence" => &[&["HeartbeatReconnecting", "HeartbeatFailed"]],
        _ => &[],
    }
}

/// The colour of visited edges.
const VISITED: &str = "#d62728";

/// Edges that form the happy path, drawn heavier and kept straight by Graphviz.
const HAPPY: &[(&str, &str)] = &[
    ("Unsubscribed", "Handshaking"),
    ("Handshaking", "Receiving"),
    ("HeartbeatInactive", "Heartbeating"),
    ("Heartbeating", "HeartbeatCooldown"),
];

impl Diagram {
    /// The diagram of machine `M`, found by enumerating its sample states × sample events.
    pub fn of<M: Machine>() -> Diagram {
        let mut states: Vec<String> = Vec::new();
        let mut edges = BTreeSet::new();
        let context = M::sample_context();
        for state in M::sample_states() {
            let from = M::state_name(&state).to_string();
            if !states.contains(&from) {
                states.push(from.clone());
            }
            for event in M::sample_events() {
                if let Some(t) = M::transition(&context, &state, &event) {
                    edges.insert(Edge::new(
                        from.clone(),
                        M::event_name(&event),
                        M::state_name(&t.state),
                    ));
                }
            }
        }
        Diagram {
            name: M::NAME,
            initial: M::state_name(&M::initial()).to_string(),
            states,
            edges,
            visited: BTreeSet::new(),
        }
    }

    /// Every edge of the machine.
    pub fn edges(&self) -> &BTreeSet<Edge> {
        &self.edges
    }

    /// Marks the edges of `path` as visited; returns the edges of `path` the diagram does not
    /// have (which would mean the trace came from a different version of the machine).
    pub fn highlight<'a>(&mut self, path: impl IntoIterator<Item = &'a Edge>) -> Vec<Edge> {
        let mut unknown = Vec::new();
        for edge in path {
            if self.edges.contains(edge) {
                self.visited.insert(edge.clone());
            } else {
                unknown.push(edge.clone());
            }
        }
        unknown
    }

    /// Marks the path a recorded trace took: the edge of every event entry of this diagram's
    /// machine (see [`TraceEntry::edge`]). Invocations, ignored events and entries of the other
    /// machine are skipped. Returns the edges the diagram does not have, as
    /// [`highlight`](Self::highlight) does.
    pub fn highlight_trace<'a>(
        &mut self,
        trace: impl IntoIterator<Item = &'a TraceEntry>,
    ) -> Vec<Edge> {
        let name = self.name;
        let path: Vec<Edge> = trace
            .into_iter()
            .filter(|entry| entry.machine() == name)
            .filter_map(TraceEntry::edge)
            .collect();
        self.highlight(&path)
    }

    /// The machine's short name, e.g. `subscribe`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The edges marked as visited so far.
    pub fn visited(&self) -> &BTreeSet<Edge> {
        &self.visited
    }

    /// Edges grouped by (from, to), with their event names, so parallel edges become one arrow.
    fn grouped(&self) -> BTreeMap<(&str, &str), Vec<&Edge>> {
        let mut grouped: BTreeMap<(&str, &str), Vec<&Edge>> = BTreeMap::new();
        for e in &self.edges {
            grouped
                .entry((e.from.as_str(), e.to.as_str()))
                .or_default()
                .push(e);
        }
        grouped
    }

    /// Graphviz DOT source. Visited edges are drawn bold and red, with the events that took them
    /// in bold red in the label.
    pub fn to_dot(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "digraph {} {{", self.name);
        out.push_str("  rankdir=LR;\n  newrank=true;\n  nodesep=0.6;\n  ranksep=1.1;\n");
        out.push_str("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f5f7fa\", fontname=\"Helvetica\"];\n");
        out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
        out.push_str("  start [shape=point, width=0.15, label=\"\"];\n");
        let _ = writeln!(out, "  start -> {};", self.initial);
        for state in &self.states {
            let _ = writeln!(out, "  {state};");
        }
        for rank in ranks(self.name) {
            let present: Vec<&str> = rank
                .iter()
                .copied()
                .filter(|s| self.states.iter().any(|x| x == s))
                .collect();
            if present.len() > 1 {
                let _ = writeln!(out, "  {{ rank=same; {}; }}", present.join("; "));
            }
        }
        for ((from, to), edges) in self.grouped() {
            let label: Vec<&str> = edges.iter().map(|e| e.event.as_str()).collect();
            let visited = edges.iter().any(|e| self.visited.contains(*e));
            let mut attrs = if visited {
                // Of the events sharing this arrow, name the ones taken in bold red.
                let label: Vec<String> = edges
                    .iter()
                    .map(|e| {
                        if self.visited.contains(*e) {
                            format!("<font color=\"{VISITED}\"><b>{}</b></font>", e.event)
                        } else {
                            e.event.clone()
                        }
                    })
                    .collect();
                format!("label=<{}>", label.join("<br/>"))
            } else {
                format!("label=\"{}\"", label.join("\\n"))
            };
            if HAPPY.contains(&(from, to)) {
                attrs.push_str(", weight=10, penwidth=1.6");
            } else if from == to {
                attrs.push_str(", weight=0");
            } else {
                attrs.push_str(", weight=1");
            }
            if visited {
                let _ = write!(attrs, ", color=\"{VISITED}\", penwidth=2.8");
            }
            let _ = writeln!(out, "  {from} -> {to} [{attrs}];");
        }
        out.push_str("}\n");
        out
    }

    /// A Markdown document with a Mermaid `stateDiagram-v2` block, which GitHub renders.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# The {} engine\n", self.name);
        out.push_str("Generated from the transition function by `cargo run --example state_diagrams`; do not edit.\n");
        out.push_str("Each arrow is labelled with the events that take it.\n\n");
        out.push_str("```mermaid\nstateDiagram-v2\n    direction LR\n");
        let _ = writeln!(out, "    [*] --> {}", self.initial);
        for ((from, to), edges) in self.grouped() {
            let label: Vec<&str> = edges.iter().map(|e| e.event.as_str()).collect();
            let _ = writeln!(out, "    {from} --> {to}: {}", label.join("<br/>"));
        }
        out.push_str("```\n");
        out
    }

    /// DOT source stamped with a fingerprint of itself in a `comment` attribute, which Graphviz
    /// copies into the SVG it renders; this is how a test tells that a committed SVG is fresh.
    pub fn to_stamped_dot(&self) -> String {
        let dot = self.to_dot();
        let stamp = fingerprint(&dot);
        dot.replacen(
            "{\n",
            &format!("{{\n  comment=\"source_fingerprint {stamp:016x}\";\n"),
            1,
        )
    }
}

/// The diagram of machine `M` with the path of `trace` drawn on it: every edge an event of `M`
/// took is bold and red in [`Diagram::to_dot`]. This is how to picture an incident from a trace
/// recorded with [`PubNub::trace`](crate::PubNub::trace). Edges the machine does not have (a
/// trace from another version) are left out; use [`Diagram::highlight_trace`] to see them.
///
/// ```
/// use pubnub_engine::diagram::render_trace;
/// use pubnub_engine::subscribe::machine::SubscribeMachine;
/// use pubnub_engine::TraceEntry;
///
/// let trace = [
///     TraceEntry::Event {
///         machine: "subscribe",
///         name: "RECEIVE_FAILURE",
///         from: "Receiving",
///         to: Some("ReceiveReconnecting"),
///     },
///     TraceEntry::Invocation { machine: "subscribe", name: "RECEIVE_RECONNECT", detail: None },
/// ];
/// let diagram = render_trace::<SubscribeMachine>(&trace);
/// assert_eq!(diagram.visited().len(), 1);
/// let dot = diagram.to_dot();
/// let arrow = dot.lines().find(|l| l.contains("Receiving -> ReceiveReconnecting")).unwrap();
/// assert!(arrow.contains("color=\"#d62728\"")); // visited: drawn bold and red
/// ```
pub fn render_trace<M: Machine>(trace: &[TraceEntry]) -> Diagram {
    let mut diagram = Diagram::of::<M>();
    let unknown = diagram.highlight_trace(trace);
    if !unknown.is_empty() {
        tracing::warn!(
            machine = M::NAME,
            ?unknown,
            "the trace has edges this machine does not have"
        );
    }
    diagram
}

/// FNV-1a over the DOT source: stable across platforms and Rust versions.
pub fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presence::machine::PresenceMachine;
    use crate::subscribe::machine::SubscribeMachine;

    #[test]
    fn subscribe_diagram_has_every_state_and_the_happy_path() {
        let d = Diagram::of::<SubscribeMachine>();
        assert_eq!(d.states.len(), 10);
        assert!(d
            .edges()
            .contains(&Edge::new("Receiving", "RECEIVE_SUCCESS", "FillingGap")));
        assert!(d
            .edges()
            .contains(&Edge::new("FillingGap", "GAP_FILL_PAGE", "FillingGap")));
        assert!(d
            .edges()
            .contains(&Edge::new("Handshaking", "HANDSHAKE_SUCCESS", "Receiving")));
        assert!(d
            .edges()
            .contains(&Edge::new("Receiving", "RECEIVE_SUCCESS", "Receiving")));
    }

    #[test]
    fn presence_diagram_has_both_left_branches() {
        let d = Diagram::of::<PresenceMachine>();
        assert_eq!(d.states.len(), 6);
        assert!(d
            .edges()
            .contains(&Edge::new("Heartbeating", "LEFT", "Heartbeating")));
        assert!(d
            .edges()
            .contains(&Edge::new("Heartbeating", "LEFT", "HeartbeatInactive")));
    }

    #[test]
    fn highlight_marks_known_edges_and_reports_unknown_ones() {
        let mut d = Diagram::of::<SubscribeMachine>();
        let known = Edge::new("Receiving", "RECEIVE_FAILURE", "ReceiveReconnecting");
        let unknown = Edge::new("Receiving", "TIMES_UP", "Receiving");
        let rejected = d.highlight([&known, &unknown]);
        assert_eq!(rejected, vec![unknown]);
        let dot = d.to_dot();
        let line = dot
            .lines()
            .find(|l| l.contains("Receiving -> ReceiveReconnecting"))
            .expect("edge drawn");
        assert!(line.contains("#d62728"), "{line}");
        assert!(!dot
            .lines()
            .find(|l| l.contains("Handshaking -> Receiving"))
            .expect("edge drawn")
            .contains("#d62728"));
    }

    #[test]
    fn highlight_trace_follows_events_of_its_own_machine_only() {
        let event = |machine, name, from, to| TraceEntry::Event {
            machine,
            name,
            from,
            to,
        };
        let trace = [
            event(
                "subscribe",
                "SUBSCRIPTION_CHANGED",
                "Unsubscribed",
                Some("Handshaking"),
            ),
            TraceEntry::Invocation {
                machine: "subscribe",
                name: "HANDSHAKE",
                detail: None,
            },
            event(
                "presence",
                "JOINED",
                "HeartbeatInactive",
                Some("Heartbeating"),
            ),
            event(
                "subscribe",
                "HANDSHAKE_SUCCESS",
                "Handshaking",
                Some("Receiving"),
            ),
            // Ignored events draw nothing.
            event("subscribe", "RECEIVE_SUCCESS", "Handshaking", None),
            // Unknown to the machine: reported, not drawn.
            event("subscribe", "TIMES_UP", "Receiving", Some("Receiving")),
        ];
        let mut d = Diagram::of::<SubscribeMachine>();
        let unknown = d.highlight_trace(&trace);
        assert_eq!(unknown, [Edge::new("Receiving", "TIMES_UP", "Receiving")]);
        let visited: Vec<&Edge> = d.visited().iter().collect();
        assert_eq!(
            visited,
            [
                &Edge::new("Handshaking", "HANDSHAKE_SUCCESS", "Receiving"),
                &Edge::new("Unsubscribed", "SUBSCRIPTION_CHANGED", "Handshaking"),
            ]
        );
        // Of the events sharing an arrow, only the one taken is marked.
        let dot = d.to_dot();
        let arrow = dot
            .lines()
            .find(|l| l.contains("Unsubscribed -> Handshaking"))
            .expect("edge drawn");
        assert!(arrow.contains("<b>SUBSCRIPTION_CHANGED</b>"), "{arrow}");
        assert!(arrow.contains("<br/>SUBSCRIPTION_RESTORED>"), "{arrow}");
        let presence = render_trace::<PresenceMachine>(&trace);
        assert_eq!(presence.name(), "presence");
        assert_eq!(presence.visited().len(), 1);
        assert!(presence
            .to_dot()
            .lines()
            .any(|l| l.contains("HeartbeatInactive -> Heartbeating") && l.contains("#d62728")));
    }

    #[test]
    fn stamped_dot_carries_the_fingerprint_of_the_plain_dot() {
        let d = Diagram::of::<PresenceMachine>();
        let stamped = d.to_stamped_dot();
        assert!(stamped.contains(&format!("{:016x}", fingerprint(&d.to_dot()))));
    }
}

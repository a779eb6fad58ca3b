//! What the two event engines share: their input and cursor types, the [`Machine`] trait that
//! lets one driver, one trace and one diagram generator serve both, and the single helper that
//! composes exit, transition and entry invocations.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Reason;
use crate::retry::{Endpoint, Jitter, RetryConfig, RetryDecision};

#[cfg(test)]
pub(crate) mod checks;
pub(crate) mod driver;
pub mod trace;

pub use trace::TraceEntry;

/// The channels and channel groups an engine works on, sorted so that request URLs are
/// deterministic.
///
/// The sets are shared: a state and the invocations its transitions ask for (the long-poll of
/// its entry) hold the same two sets, so a transition copies two pointers, not every name.
/// Change one with [`Arc::make_mut`], which copies it only while it is shared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Input {
    /// Channel names, including `-pnpres` names for presence subscriptions (subscribe engine).
    pub channels: Arc<BTreeSet<String>>,
    /// Channel group names, including `-pnpres` names for presence subscriptions.
    pub groups: Arc<BTreeSet<String>>,
}

impl Input {
    /// An input of these channels and groups.
    pub fn new<C, G>(channels: C, groups: G) -> Self
    where
        C: IntoIterator,
        C::Item: Into<String>,
        G: IntoIterator,
        G::Item: Into<String>,
    {
        Input::from_sets(
            channels.into_iter().map(Into::into).collect(),
            groups.into_iter().map(Into::into).collect(),
        )
    }

    /// An input of these channels only.
    pub fn channels<C>(channels: C) -> Self
    where
        C: IntoIterator,
        C::Item: Into<String>,
    {
        Input::new(channels, std::iter::empty::<String>())
    }

    /// An input of these two sets.
    pub fn from_sets(channels: BTreeSet<String>, groups: BTreeSet<String>) -> Self {
        Input {
            channels: Arc::new(channels),
            groups: Arc::new(groups),
        }
    }

    /// True when there is neither a channel nor a group.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.groups.is_empty()
    }

    /// The names in `self` or `other`.
    pub fn union(&self, other: &Input) -> Input {
        Input::from_sets(
            self.channels.union(&other.channels).cloned().collect(),
            self.groups.union(&other.groups).cloned().collect(),
        )
    }

    /// The names in `self` but not in `other`.
    pub fn difference(&self, other: &Input) -> Input {
        Input::from_sets(
            self.channels.difference(&other.channels).cloned().collect(),
            self.groups.difference(&other.groups).cloned().collect(),
        )
    }

    /// The names in both `self` and `other`.
    pub fn intersection(&self, other: &Input) -> Input {
        Input::from_sets(
            self.channels
                .intersection(&other.channels)
                .cloned()
                .collect(),
            self.groups.intersection(&other.groups).cloned().collect(),
        )
    }

    /// True when every name of `self` is in `other`.
    pub fn is_subset(&self, other: &Input) -> bool {
        self.channels.is_subset(&other.channels) && self.groups.is_subset(&other.groups)
    }

    /// The same input without presence (`-pnpres`) names: what heartbeats and leaves are sent for.
    pub fn without_presence(&self) -> Input {
        let keep = |n: &&String| !n.ends_with(PRESENCE_SUFFIX);
        Input::from_sets(
            self.channels.iter().filter(keep).cloned().collect(),
            self.groups.iter().filter(keep).cloned().collect(),
        )
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channels: Vec<&str> = self.channels.iter().map(String::as_str).collect();
        let groups: Vec<&str> = self.groups.iter().map(String::as_str).collect();
        write!(f, "[{}]", channels.join(","))?;
        if !groups.is_empty() {
            write!(f, " groups [{}]", groups.join(","))?;
        }
        Ok(())
    }
}

/// The suffix of presence channel and group names.
pub const PRESENCE_SUFFIX: &str = "-pnpres";

/// A position in the message stream: a 17-digit timetoken (100 ns units since the Unix epoch)
/// and the region that issued it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cursor {
    /// The timetoken.
    pub timetoken: u64,
    /// The region (`t.r` on the wire).
    pub region: u32,
}

impl Cursor {
    /// A cursor at `timetoken` in `region`.
    pub const fn new(timetoken: u64, region: u32) -> Self {
        Cursor { timetoken, region }
    }
}

/// A timetoken alone is a cursor with region 0.
impl From<u64> for Cursor {
    fn from(timetoken: u64) -> Self {
        Cursor::new(timetoken, 0)
    }
}

/// What the machines decide with, beside their state: the retry configuration, the client's
/// jitter and the message-count threshold. It is fixed for the life of an engine, so a
/// transition stays a pure function of (context, state, event).
#[derive(Debug, Clone)]
pub struct Context {
    /// The retry policy and the endpoint groups it excludes.
    pub retry: RetryConfig,
    /// The jitter added to retry delays ([`Jitter::at`] the attempt).
    pub jitter: Jitter,
    /// Messages in one subscribe response that make the subscribe machine emit
    /// `RequestMessageCountExceeded`.
    pub request_message_count_threshold: u32,
    /// Gap fill: when an answer reaches the threshold, the subscribe machine reads what the
    /// service's queue may have dropped from history, in at most this many pages, before it
    /// delivers the answer. `None`: off.
    pub gap_fill_max_pages: Option<u32>,
    /// How long a long-poll may stay silent before the subscribe machine hears of it and
    /// decides to prove that the network answers. `None`: off.
    pub long_poll_liveness: Option<Duration>,
}

impl Context {
    /// What a reconnecting state of a machine for `endpoint` decides on retry `attempt`.
    pub fn decide(&self, endpoint: Endpoint, attempt: u32, reason: &Reason) -> RetryDecision {
        RetryDecision::decide(&self.retry, &self.jitter, endpoint, attempt, reason)
    }
}

/// The default policy ([`RetryConfig::default`]), no jitter, a threshold of 100, no gap fill
/// and no liveness check: what the diagrams and the tables of the specification use.
impl Default for Context {
    fn default() -> Self {
        Context {
            retry: RetryConfig::default(),
            jitter: Jitter::off(),
            request_message_count_threshold: 100,
            gap_fill_max_pages: None,
            long_poll_liveness: None,
        }
    }
}

/// The state of an engine and the managed effects it has running.
#[derive(Debug, Clone)]
pub struct Snapshot<M: Machine> {
    /// The current state.
    pub state: M::State,
    /// The kinds of managed effects that are running (at most one of each).
    pub running: Vec<&'static str>,
}

/// The outcome of one transition: the new state and every invocation to dispatch, in order.
/// Only the machines make one (through `compose`); tests read it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition<S, I> {
    /// The state after the event.
    pub state: S,
    /// Exit invocations of the old state, then the transition's own, then entry of the new.
    pub invocations: Vec<I>,
}

pub(crate) mod lifecycle {
    /// How the driver treats an invocation (an engine internal; tests that check the driver's
    /// "one effect per kind" rule read it through [`testing::Lifecycle`](crate::testing::Lifecycle)).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Lifecycle {
        /// Starts a long-running, cancellable effect of this kind (the managed invocation's
        /// name).
        Managed(&'static str),
        /// Cancels the running effect of this kind.
        Cancel(&'static str),
        /// Runs to completion and is never cancelled.
        Immediate,
    }
}
pub(crate) use lifecycle::Lifecycle;

pub(crate) mod sealed {
    /// Only this crate's machines implement [`Machine`](super::Machine): each machine's module
    /// implements it.
    pub trait Sealed {}
}

/// A pure state machine: what the driver, the trace and the diagram generator need to know.
///
/// Implementations hold no data; the trait only groups the types and functions of one machine.
/// It is sealed: the subscribe and presence machines are its only implementations.
pub trait Machine: sealed::Sealed + 'static {
    /// The machine's states.
    type State: Clone + fmt::Debug + PartialEq + Send + Sync + 'static;
    /// The machine's events.
    type Event: Clone + fmt::Debug + Send + 'static;
    /// The machine's invocations.
    type Invocation: Clone + fmt::Debug + Send + 'static;

    /// A short name of the machine, e.g. `subscribe`.
    const NAME: &'static str;

    /// The state a machine starts in.
    fn initial() -> Self::State;
    /// The transition for `event` in `state`, or `None` when the event is ignored there.
    fn transition(
        context: &Context,
        state: &Self::State,
        event: &Self::Event,
    ) -> Option<Transition<Self::State, Self::Invocation>>;
    /// Invocations run when leaving `state`.
    fn on_exit(state: &Self::State) -> Vec<Self::Invocation>;
    /// Invocations run when entering `state` (a reconnecting state's carries its retry
    /// decision, taken with `context`).
    fn on_entry(context: &Context, state: &Self::State) -> Vec<Self::Invocation>;
    /// The kind of the managed effect `state` starts on entry, if any: the only one that may
    /// run while the machine is in it (the driver cancels any other when a state is left).
    fn entry_effect(state: &Self::State) -> Option<&'static str>;
    /// The trace name of a state (its variant name).
    fn state_name(state: &Self::State) -> &'static str;
    /// The trace name of an event (SCREAMING_SNAKE_CASE).
    fn event_name(event: &Self::Event) -> &'static str;
    /// The trace name of an invocation (SCREAMING_SNAKE_CASE).
    fn invocation_name(invocation: &Self::Invocation) -> &'static str;
    /// How the driver treats an invocation.
    fn lifecycle(invocation: &Self::Invocation) -> Lifecycle;
    /// The decision an invocation carries, for the trace and the logs (`retry in 2.000 s`,
    /// `give up`); `None` for invocations that carry none.
    fn invocation_detail(_invocation: &Self::Invocation) -> Option<String> {
        None
    }
    /// One or more representative values of every state variant (for diagrams and exhaustive tests).
    fn sample_states() -> Vec<Self::State>;
    /// One or more representative values of every event variant (for diagrams and exhaustive tests).
    fn sample_events() -> Vec<Self::Event>;
    /// The context the diagram is drawn in: the default one, with every opt-in decision on,
    /// so that their states and edges are drawn too.
    fn sample_context() -> Context {
        Context::default()
    }
}

/// The one place that composes a transition: exit of `from` ++ `own` ++ entry of `to`.
pub(crate) fn compose<M: Machine>(
    context: &Context,
    from: &M::State,
    to: M::State,
    own: Vec<M::Invocation>,
) -> Transition<M::State, M::Invocation> {
    let mut invocations = M::on_exit(from);
    invocations.extend(own);
    invocations.extend(M::on_entry(context, &to));
    Transition {
        state: to,
        invocations,
    }
}

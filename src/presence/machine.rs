//! The presence engine as a pure function: `transition(&State, &Event) -> Option<Transition>`.
//!
//! It keeps this client "present" on its channels with periodic heartbeats and announces
//! departures with a leave. It runs only when a heartbeat interval is configured. It performs no
//! I/O and reads no clock: the cooldown between heartbeats is the WAIT invocation, run by the
//! driver. The specification's transition table (ENGINE.md §2) is the contract, and every row of
//! it is a row of this module's tests.
//!
#![doc = concat!(
    "<div style=\"overflow-x: auto\">\n",
    include_str!("../../state-diagrams/presence.svg"),
    "</div>"
)]
//!
//! The diagram is generated from [`transition`] itself by `cargo run --example state_diagrams`
//! (`state-diagrams/presence.svg`, with its Mermaid and DOT sources beside it), and a test
//! fails while the committed files are stale.
//!
//! HEARTBEAT is a managed effect (cancelled on leaving Heartbeating), and DELAYED_HEARTBEAT
//! carries the machine's retry decision. The effects send heartbeats and leaves through one
//! ordered queue that coalesces them: a cancelled heartbeat not sent yet is never sent, so the
//! changes that arrive while one is in flight cost one follow-up heartbeat with the latest set.
//!
//! Set rules: `rest = I − x` and `gone = I ∩ x` for LEFT(x). A JOINED(x) with `x ⊆ I` and a
//! LEFT(x) with `gone = ∅` change nothing and are ignored, so no redundant heartbeat or leave is
//! sent. A heartbeat is never sent for an empty input.

use crate::engine::{compose, Context, Input, Lifecycle, Machine, Transition};
use crate::error::{ErrorKind, Reason};
use crate::retry::{Endpoint, RetryDecision};

/// The states of the presence engine (ENGINE.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// No channel to be present on.
    HeartbeatInactive,
    /// A heartbeat is in flight.
    Heartbeating {
        /// Channels and groups (never `-pnpres` names).
        input: Input,
    },
    /// Waiting `heartbeat_interval` before the next heartbeat.
    HeartbeatCooldown {
        /// Channels and groups.
        input: Input,
    },
    /// A heartbeat failed and is being retried.
    HeartbeatReconnecting {
        /// Channels and groups.
        input: Input,
        /// Retry attempt, starting at 1.
        attempts: u32,
        /// The last failure.
        reason: Reason,
    },
    /// Disconnected on purpose.
    HeartbeatStopped {
        /// Channels and groups.
        input: Input,
    },
    /// Heartbeat retries were given up.
    HeartbeatFailed {
        /// Channels and groups.
        input: Input,
        /// Why.
        reason: Reason,
    },
}

/// The events of the presence engine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Channels and groups were added.
    Joined {
        /// The names added.
        input: Input,
    },
    /// Channels and groups were removed.
    Left {
        /// The names removed.
        input: Input,
    },
    /// Everything was removed.
    LeftAll,
    /// A heartbeat succeeded.
    HeartbeatSuccess,
    /// A heartbeat failed.
    HeartbeatFailure {
        /// Why.
        reason: Reason,
    },
    /// The retry policy gave up.
    HeartbeatGiveup {
        /// The last failure.
        reason: Reason,
    },
    /// Stop on purpose.
    Disconnect,
    /// Start again.
    Reconnect,
    /// The cooldown has passed.
    TimesUp,
}

/// What the presence engine asks the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invocation {
    /// Managed: send a heartbeat. At most one is in flight: a new one replaces it (the driver
    /// cancels the old one, as it does for every managed effect of a kind already running), so
    /// a heartbeat superseded before it was sent is never sent, and one superseded while in
    /// flight never reports. PubNub's scenarios have no invocation that cancels a heartbeat:
    /// when Heartbeating is left, the driver cancels it, untraced ([`Machine::entry_effect`]).
    Heartbeat {
        /// Channels and groups.
        input: Input,
    },
    /// Managed: sleep `heartbeat_interval`, then TIMES_UP.
    Wait {
        /// Channels and groups.
        input: Input,
    },
    /// Cancel the running wait.
    CancelWait,
    /// Managed: wait as the machine decided, then a heartbeat; or report HEARTBEAT_GIVEUP at
    /// once when it decided to give up.
    DelayedHeartbeat {
        /// Channels and groups.
        input: Input,
        /// Retry attempt, starting at 1.
        attempts: u32,
        /// The last failure.
        reason: Reason,
        /// The machine's decision: how long to wait, or give up.
        retry: RetryDecision,
    },
    /// Cancel the running delayed heartbeat.
    CancelDelayedHeartbeat,
    /// Immediate: send a leave (unless leave events are suppressed).
    Leave {
        /// Channels and groups being left.
        input: Input,
    },
}

impl State {
    /// The trace name of the state.
    pub fn name(&self) -> &'static str {
        match self {
            State::HeartbeatInactive => "HeartbeatInactive",
            State::Heartbeating { .. } => "Heartbeating",
            State::HeartbeatCooldown { .. } => "HeartbeatCooldown",
            State::HeartbeatReconnecting { .. } => "HeartbeatReconnecting",
            State::HeartbeatStopped { .. } => "HeartbeatStopped",
            State::HeartbeatFailed { .. } => "HeartbeatFailed",
        }
    }

    /// The channels and groups of the state (`None` when inactive).
    pub fn input(&self) -> Option<&Input> {
        match self {
            State::HeartbeatInactive => None,
            State::Heartbeating { input }
            | State::HeartbeatCooldown { input }
            | State::HeartbeatReconnecting { input, .. }
            | State::HeartbeatStopped { input }
            | State::HeartbeatFailed { input, .. } => Some(input),
        }
    }
}

impl Event {
    /// The trace name of the event.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Joined { .. } => "JOINED",
            Event::Left { .. } => "LEFT",
            Event::LeftAll => "LEFT_ALL",
            Event::HeartbeatSuccess => "HEARTBEAT_SUCCESS",
            Event::HeartbeatFailure { .. } => "HEARTBEAT_FAILURE",
            Event::HeartbeatGiveup { .. } => "HEARTBEAT_GIVEUP",
            Event::Disconnect => "DISCONNECT",
            Event::Reconnect => "RECONNECT",
            Event::TimesUp => "TIMES_UP",
        }
    }
}

impl Invocation {
    /// The trace name of the invocation.
    pub fn name(&self) -> &'static str {
        match self {
            Invocation::Heartbeat { .. } => "HEARTBEAT",
            Invocation::Wait { .. } => "WAIT",
            Invocation::CancelWait => "CANCEL_WAIT",
            Invocation::DelayedHeartbeat { .. } => "DELAYED_HEARTBEAT",
            Invocation::CancelDelayedHeartbeat => "CANCEL_DELAYED_HEARTBEAT",
            Invocation::Leave { .. } => "LEAVE",
        }
    }

    /// How the driver treats this invocation.
    pub fn lifecycle(&self) -> Lifecycle {
        match self {
            Invocation::Heartbeat { .. } => Lifecycle::Managed("HEARTBEAT"),
            Invocation::Wait { .. } => Lifecycle::Managed("WAIT"),
            Invocation::DelayedHeartbeat { .. } => Lifecycle::Managed("DELAYED_HEARTBEAT"),
            Invocation::CancelWait => Lifecycle::Cancel("WAIT"),
            Invocation::CancelDelayedHeartbeat => Lifecycle::Cancel("DELAYED_HEARTBEAT"),
            Invocation::Leave { .. } => Lifecycle::Immediate,
        }
    }
}

fn heartbeating(input: Input) -> State {
    State::Heartbeating { input }
}

/// The presence engine's transition function (ENGINE.md §2) with the default [`Context`]
/// (the default retry policy without jitter): what the specification's tables use.
pub fn transition(state: &State, event: &Event) -> Option<Transition<State, Invocation>> {
    transition_with(&Context::default(), state, event)
}

/// The presence engine's transition function (ENGINE.md §2) in `context`: the retry decisions
/// of HeartbeatReconnecting come from it.
pub fn transition_with(
    context: &Context,
    state: &State,
    event: &Event,
) -> Option<Transition<State, Invocation>> {
    use State as S;
    let go =
        |to: State, own: Vec<Invocation>| Some(compose::<PresenceMachine>(context, state, to, own));
    let current = state.input();

    // The set rules apply in every state: nothing new joined, nothing known left → ignored.
    match (event, current) {
        (Event::Joined { input: x }, Some(i)) if x.is_subset(i) => return None,
        (Event::Joined { input: x }, None) if x.is_empty() => return None,
        (Event::Left { input: x }, Some(i)) if i.intersection(x).is_empty() => return None,
        _ => {}
    }

    // LEFT(x) from an active state: leave what is gone, heartbeat what remains.
    let left_active = |input: &Input, x: &Input| {
        let rest = input.difference(x);
        let leave = Invocation::Leave {
            input: input.intersection(x),
        };
        let to = if rest.is_empty() {
            S::HeartbeatInactive
        } else {
            heartbeating(rest)
        };
        go(to, vec![leave])
    };

    match (state, event) {
        (S::HeartbeatInactive, Event::Joined { input }) => go(heartbeating(input.clone()), vec![]),

        (
            S::Heartbeating { input } | S::HeartbeatCooldown { input },
            Event::Joined { input: x },
        )
        | (S::HeartbeatReconnecting { input, .. }, Event::Joined { input: x })
        | (S::HeartbeatFailed { input, .. }, Event::Joined { input: x }) => {
            go(heartbeating(input.union(x)), vec![])
        }
        (S::Heartbeating { input } | S::HeartbeatCooldown { input }, Event::Left { input: x })
        | (S::HeartbeatReconnecting { input, .. }, Event::Left { input: x })
        | (S::HeartbeatFailed { input, .. }, Event::Left { input: x }) => left_active(input, x),
        (S::Heartbeating { input } | S::HeartbeatCooldown { input }, Event::LeftAll)
        | (S::HeartbeatReconnecting { input, .. }, Event::LeftAll)
        | (S::HeartbeatFailed { input, .. }, Event::LeftAll) => go(
            S::HeartbeatInactive,
            vec![Invocation::Leave {
                input: input.clone(),
            }],
        ),
        (S::Heartbeating { input } | S::HeartbeatCooldown { input }, Event::Disconnect)
        | (S::HeartbeatReconnecting { input, .. }, Event::Disconnect)
        | (S::HeartbeatFailed { input, .. }, Event::Disconnect) => go(
            S::HeartbeatStopped {
                input: input.clone(),
            },
            vec![Invocation::Leave {
                input: input.clone(),
            }],
        ),

        (S::Heartbeating { input }, Event::HeartbeatSuccess)
        | (S::HeartbeatReconnecting { input, .. }, Event::HeartbeatSuccess) => go(
            S::HeartbeatCooldown {
                input: input.clone(),
            },
            vec![],
        ),
        (S::Heartbeating { input }, Event::HeartbeatFailure { reason }) => go(
            S::HeartbeatReconnecting {
                input: input.clone(),
                attempts: 1,
                reason: reason.clone(),
            },
            vec![],
        ),

        (S::HeartbeatCooldown { input }, Event::TimesUp) => go(heartbeating(input.clone()), vec![]),

        (
            S::HeartbeatReconnecting {
                input, attempts, ..
            },
            Event::HeartbeatFailure { reason },
        ) => go(
            S::HeartbeatReconnecting {
                input: input.clone(),
                attempts: attempts.saturating_add(1),
                reason: reason.clone(),
            },
            vec![],
        ),
        (S::HeartbeatReconnecting { input, .. }, Event::HeartbeatGiveup { reason }) => go(
            S::HeartbeatFailed {
                input: input.clone(),
                reason: reason.clone(),
            },
            vec![],
        ),
        (
            S::HeartbeatReconnecting { input, .. } | S::HeartbeatFailed { input, .. },
            Event::Reconnect,
        )
        | (S::HeartbeatStopped { input }, Event::Reconnect) => {
            go(heartbeating(input.clone()), vec![])
        }

        (S::HeartbeatStopped { input }, Event::Joined { input: x }) => go(
            S::HeartbeatStopped {
                input: input.union(x),
            },
            vec![],
        ),
        (S::HeartbeatStopped { input }, Event::Left { input: x }) => {
            let rest = input.difference(x);
            let to = if rest.is_empty() {
                S::HeartbeatInactive
            } else {
                S::HeartbeatStopped { input: rest }
            };
            go(to, vec![])
        }
        (S::HeartbeatStopped { .. }, Event::LeftAll) => go(S::HeartbeatInactive, vec![]),

        _ => None,
    }
}

/// The presence engine as a [`Machine`], for the driver, the trace and the diagrams.
#[derive(Debug, Clone, Copy, Default)]
pub struct PresenceMachine;

impl crate::engine::sealed::Sealed for PresenceMachine {}

impl Machine for PresenceMachine {
    type State = State;
    type Event = Event;
    type Invocation = Invocation;
    const NAME: &'static str = "presence";

    fn initial() -> State {
        State::HeartbeatInactive
    }

    fn transition(
        context: &Context,
        state: &State,
        event: &Event,
    ) -> Option<Transition<State, Invocation>> {
        transition_with(context, state, event)
    }

    fn on_exit(state: &State) -> Vec<Invocation> {
        match state {
            State::HeartbeatCooldown { .. } => vec![Invocation::CancelWait],
            State::HeartbeatReconnecting { .. } => vec![Invocation::CancelDelayedHeartbeat],
            _ => vec![],
        }
    }

    fn on_entry(context: &Context, state: &State) -> Vec<Invocation> {
        match state {
            State::Heartbeating { input } => vec![Invocation::Heartbeat {
                input: input.clone(),
            }],
            State::HeartbeatCooldown { input } => vec![Invocation::Wait {
                input: input.clone(),
            }],
            State::HeartbeatReconnecting {
                input,
                attempts,
                reason,
            } => vec![Invocation::DelayedHeartbeat {
                input: input.clone(),
                attempts: *attempts,
                reason: reason.clone(),
                retry: context.decide(Endpoint::Presence, *attempts, reason),
            }],
            _ => vec![],
        }
    }

    fn entry_effect(state: &State) -> Option<&'static str> {
        match state {
            State::Heartbeating { .. } => Some("HEARTBEAT"),
            State::HeartbeatCooldown { .. } => Some("WAIT"),
            State::HeartbeatReconnecting { .. } => Some("DELAYED_HEARTBEAT"),
            _ => None,
        }
    }

    fn state_name(state: &State) -> &'static str {
        state.name()
    }

    fn event_name(event: &Event) -> &'static str {
        event.name()
    }

    fn invocation_name(invocation: &Invocation) -> &'static str {
        invocation.name()
    }

    fn lifecycle(invocation: &Invocation) -> Lifecycle {
        invocation.lifecycle()
    }

    fn invocation_detail(invocation: &Invocation) -> Option<String> {
        match invocation {
            Invocation::DelayedHeartbeat {
                attempts, retry, ..
            } => Some(format!("attempt {attempts}: {retry}")),
            _ => None,
        }
    }

    fn sample_states() -> Vec<State> {
        let input = Input::channels(["a", "b"]);
        let reason = Reason::new(ErrorKind::Network, "connection reset");
        vec![
            State::HeartbeatInactive,
            State::Heartbeating {
                input: input.clone(),
            },
            State::HeartbeatCooldown {
                input: input.clone(),
            },
            State::HeartbeatReconnecting {
                input: input.clone(),
                attempts: 1,
                reason: reason.clone(),
            },
            State::HeartbeatStopped {
                input: input.clone(),
            },
            State::HeartbeatFailed { input, reason },
        ]
    }

    fn sample_events() -> Vec<Event> {
        let reason = Reason::new(ErrorKind::Timeout, "timed out");
        vec![
            Event::Joined {
                input: Input::channels(["c"]),
            },
            Event::Left {
                input: Input::channels(["a"]),
            },
            Event::Left {
                input: Input::channels(["a", "b"]),
            },
            Event::LeftAll,
            Event::HeartbeatSuccess,
            Event::HeartbeatFailure {
                reason: reason.clone(),
            },
            Event::HeartbeatGiveup { reason },
            Event::Disconnect,
            Event::Reconnect,
            Event::TimesUp,
        ]
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;

//! The presence machine's vocabulary ([`crate::presence::machine`], ENGINE.md §2): the trace
//! names of its states, events and invocations.
//!
//! State names are the variants' names (`Heartbeating`); event and invocation names are
//! SCREAMING_SNAKE_CASE (`HEARTBEAT_FAILURE`, `LEAVE`). A test in this module walks the machine
//! and fails when a name is added, renamed or removed without updating these lists.

/// The machine's name, as in [`TraceEntry::machine`](crate::TraceEntry::machine).
pub const MACHINE: &str = "presence";

// States.

/// State: no channel to be present on.
pub const HEARTBEAT_INACTIVE: &str = "HeartbeatInactive";
/// State: a heartbeat is in flight.
pub const HEARTBEATING: &str = "Heartbeating";
/// State: waiting for the heartbeat interval.
pub const HEARTBEAT_COOLDOWN: &str = "HeartbeatCooldown";
/// State: retrying a failed heartbeat.
pub const HEARTBEAT_RECONNECTING: &str = "HeartbeatReconnecting";
/// State: stopped (`disconnect()`).
pub const HEARTBEAT_STOPPED: &str = "HeartbeatStopped";
/// State: heartbeats were given up.
pub const HEARTBEAT_FAILED: &str = "HeartbeatFailed";

// Events.

/// Event: channels or groups were joined.
pub const JOINED: &str = "JOINED";
/// Event: channels or groups were left.
pub const LEFT: &str = "LEFT";
/// Event: everything was left.
pub const LEFT_ALL: &str = "LEFT_ALL";
/// Event: a heartbeat answered.
pub const HEARTBEAT_SUCCESS: &str = "HEARTBEAT_SUCCESS";
/// Event: a heartbeat failed.
pub const HEARTBEAT_FAILURE: &str = "HEARTBEAT_FAILURE";
/// Event: heartbeat retries are given up.
pub const HEARTBEAT_GIVEUP: &str = "HEARTBEAT_GIVEUP";
/// Event: `disconnect()`.
pub const DISCONNECT: &str = "DISCONNECT";
/// Event: `reconnect()`.
pub const RECONNECT: &str = "RECONNECT";
/// Event: the heartbeat interval has passed.
pub const TIMES_UP: &str = "TIMES_UP";

// Invocations.

/// Invocation (managed): send a heartbeat.
pub const HEARTBEAT: &str = "HEARTBEAT";
/// Invocation (managed): wait for the heartbeat interval.
pub const WAIT: &str = "WAIT";
/// Invocation: cancel the running wait.
pub const CANCEL_WAIT: &str = "CANCEL_WAIT";
/// Invocation (managed): retry the heartbeat after the decided delay, or give up.
pub const DELAYED_HEARTBEAT: &str = "DELAYED_HEARTBEAT";
/// Invocation: cancel the running heartbeat retry.
pub const CANCEL_DELAYED_HEARTBEAT: &str = "CANCEL_DELAYED_HEARTBEAT";
/// Invocation (immediate): send the leave.
pub const LEAVE: &str = "LEAVE";

/// Every state name.
pub const STATES: &[&str] = &[
    HEARTBEAT_INACTIVE,
    HEARTBEATING,
    HEARTBEAT_COOLDOWN,
    HEARTBEAT_RECONNECTING,
    HEARTBEAT_STOPPED,
    HEARTBEAT_FAILED,
];

/// Every event name.
pub const EVENTS: &[&str] = &[
    JOINED,
    LEFT,
    LEFT_ALL,
    HEARTBEAT_SUCCESS,
    HEARTBEAT_FAILURE,
    HEARTBEAT_GIVEUP,
    DISCONNECT,
    RECONNECT,
    TIMES_UP,
];

/// Every invocation name.
pub const INVOCATIONS: &[&str] = &[
    HEARTBEAT,
    WAIT,
    CANCEL_WAIT,
    DELAYED_HEARTBEAT,
    CANCEL_DELAYED_HEARTBEAT,
    LEAVE,
];

#[cfg(test)]
mod tests {
    use crate::presence::machine::PresenceMachine;

    #[test]
    fn the_constants_are_exactly_the_names_the_machine_uses() {
        super::super::vocabulary::assert_matches::<PresenceMachine>(
            super::MACHINE,
            super::STATES,
            super::EVENTS,
            super::INVOCATIONS,
        );
    }
}

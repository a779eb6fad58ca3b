//! The subscribe machine's vocabulary ([`crate::subscribe::machine`], ENGINE.md §1): the trace
//! names of its states, events and invocations.
//!
//! State names are the variants' names (`Receiving`); event and invocation names are
//! SCREAMING_SNAKE_CASE (`RECEIVE_FAILURE`, `EMIT_STATUS`). A test in this module walks the
//! machine and fails when a name is added, renamed or removed without updating these lists.

/// The machine's name, as in [`TraceEntry::machine`](crate::TraceEntry::machine).
pub const MACHINE: &str = "subscribe";

// States.

/// State: no subscription.
pub const UNSUBSCRIBED: &str = "Unsubscribed";
/// State: the handshake is in flight.
pub const HANDSHAKING: &str = "Handshaking";
/// State: retrying a failed handshake.
pub const HANDSHAKE_RECONNECTING: &str = "HandshakeReconnecting";
/// State: stopped (`disconnect()`) before the first handshake succeeded.
pub const HANDSHAKE_STOPPED: &str = "HandshakeStopped";
/// State: the handshake was given up.
pub const HANDSHAKE_FAILED: &str = "HandshakeFailed";
/// State: long-polling.
pub const RECEIVING: &str = "Receiving";
/// State: retrying after a failed long-poll.
pub const RECEIVE_RECONNECTING: &str = "ReceiveReconnecting";
/// State: stopped (`disconnect()`) while receiving; the cursor is kept.
pub const RECEIVE_STOPPED: &str = "ReceiveStopped";
/// State: the receive loop was given up; the cursor is kept.
pub const RECEIVE_FAILED: &str = "ReceiveFailed";

// Events.

/// Event: the set of channels and groups changed.
pub const SUBSCRIPTION_CHANGED: &str = "SUBSCRIPTION_CHANGED";
/// Event: the set changed, with a catch-up timetoken.
pub const SUBSCRIPTION_RESTORED: &str = "SUBSCRIPTION_RESTORED";
/// Event: the handshake answered.
pub const HANDSHAKE_SUCCESS: &str = "HANDSHAKE_SUCCESS";
/// Event: the handshake failed.
pub const HANDSHAKE_FAILURE: &str = "HANDSHAKE_FAILURE";
/// Event: a handshake retry answered.
pub const HANDSHAKE_RECONNECT_SUCCESS: &str = "HANDSHAKE_RECONNECT_SUCCESS";
/// Event: a handshake retry failed.
pub const HANDSHAKE_RECONNECT_FAILURE: &str = "HANDSHAKE_RECONNECT_FAILURE";
/// Event: handshake retries are given up.
pub const HANDSHAKE_RECONNECT_GIVEUP: &str = "HANDSHAKE_RECONNECT_GIVEUP";
/// Event: a long-poll answered.
pub const RECEIVE_SUCCESS: &str = "RECEIVE_SUCCESS";
/// Event: a long-poll failed.
pub const RECEIVE_FAILURE: &str = "RECEIVE_FAILURE";
/// Event: a long-poll stayed silent for the liveness interval (the next one proves the network
/// answers first).
pub const LONG_POLL_SILENT: &str = "LONG_POLL_SILENT";
/// Event: a receive retry answered.
pub const RECEIVE_RECONNECT_SUCCESS: &str = "RECEIVE_RECONNECT_SUCCESS";
/// Event: a receive retry failed.
pub const RECEIVE_RECONNECT_FAILURE: &str = "RECEIVE_RECONNECT_FAILURE";
/// Event: receive retries are given up.
pub const RECEIVE_RECONNECT_GIVEUP: &str = "RECEIVE_RECONNECT_GIVEUP";
/// Event: `disconnect()`.
pub const DISCONNECT: &str = "DISCONNECT";
/// Event: `reconnect()` or `reconnect_from(tt)`.
pub const RECONNECT: &str = "RECONNECT";
/// Event: every subscription is gone.
pub const UNSUBSCRIBE_ALL: &str = "UNSUBSCRIBE_ALL";

// Invocations.

/// Invocation (managed): send the handshake.
pub const HANDSHAKE: &str = "HANDSHAKE";
/// Invocation (managed): retry the handshake after the decided delay, or give up.
pub const HANDSHAKE_RECONNECT: &str = "HANDSHAKE_RECONNECT";
/// Invocation (managed): send the long-poll.
pub const RECEIVE_MESSAGES: &str = "RECEIVE_MESSAGES";
/// Invocation (managed): retry receiving after the decided delay, or give up.
pub const RECEIVE_RECONNECT: &str = "RECEIVE_RECONNECT";
/// Invocation: cancel the running handshake.
pub const CANCEL_HANDSHAKE: &str = "CANCEL_HANDSHAKE";
/// Invocation: cancel the running handshake retry.
pub const CANCEL_HANDSHAKE_RECONNECT: &str = "CANCEL_HANDSHAKE_RECONNECT";
/// Invocation: cancel the running long-poll.
pub const CANCEL_RECEIVE_MESSAGES: &str = "CANCEL_RECEIVE_MESSAGES";
/// Invocation: cancel the running receive retry.
pub const CANCEL_RECEIVE_RECONNECT: &str = "CANCEL_RECEIVE_RECONNECT";
/// Invocation (immediate): deliver a status; the trace entry's detail is its category.
pub const EMIT_STATUS: &str = "EMIT_STATUS";
/// Invocation (immediate): deliver the messages of an answer to the subscriptions.
pub const EMIT_MESSAGES: &str = "EMIT_MESSAGES";

/// State: gap fill reads what the service's queue may have dropped from history, holding the
/// answer that revealed it (with [`ConfigBuilder::gap_fill`](crate::ConfigBuilder::gap_fill)).
pub const FILLING_GAP: &str = "FillingGap";
/// Event: gap fill read one page of history.
pub const GAP_FILL_PAGE: &str = "GAP_FILL_PAGE";
/// Event: gap fill could not read a page of history.
pub const GAP_FILL_FAILURE: &str = "GAP_FILL_FAILURE";
/// Invocation (managed): read one page of a range from history.
pub const FILL_GAP: &str = "FILL_GAP";
/// Invocation: cancel the running gap fill.
pub const CANCEL_FILL_GAP: &str = "CANCEL_FILL_GAP";

/// Every state name.
pub const STATES: &[&str] = &[
    UNSUBSCRIBED,
    HANDSHAKING,
    HANDSHAKE_RECONNECTING,
    HANDSHAKE_STOPPED,
    HANDSHAKE_FAILED,
    RECEIVING,
    RECEIVE_RECONNECTING,
    RECEIVE_STOPPED,
    RECEIVE_FAILED,
    FILLING_GAP,
];

/// Every event name.
pub const EVENTS: &[&str] = &[
    SUBSCRIPTION_CHANGED,
    SUBSCRIPTION_RESTORED,
    HANDSHAKE_SUCCESS,
    HANDSHAKE_FAILURE,
    HANDSHAKE_RECONNECT_SUCCESS,
    HANDSHAKE_RECONNECT_FAILURE,
    HANDSHAKE_RECONNECT_GIVEUP,
    RECEIVE_SUCCESS,
    RECEIVE_FAILURE,
    LONG_POLL_SILENT,
    RECEIVE_RECONNECT_SUCCESS,
    RECEIVE_RECONNECT_FAILURE,
    RECEIVE_RECONNECT_GIVEUP,
    DISCONNECT,
    RECONNECT,
    UNSUBSCRIBE_ALL,
    GAP_FILL_PAGE,
    GAP_FILL_FAILURE,
];

/// Every invocation name.
pub const INVOCATIONS: &[&str] = &[
    HANDSHAKE,
    HANDSHAKE_RECONNECT,
    RECEIVE_MESSAGES,
    RECEIVE_RECONNECT,
    CANCEL_HANDSHAKE,
    CANCEL_HANDSHAKE_RECONNECT,
    CANCEL_RECEIVE_MESSAGES,
    CANCEL_RECEIVE_RECONNECT,
    EMIT_STATUS,
    EMIT_MESSAGES,
    FILL_GAP,
    CANCEL_FILL_GAP,
];

#[cfg(test)]
mod tests {
    use crate::subscribe::machine::SubscribeMachine;

    #[test]
    fn the_constants_are_exactly_the_names_the_machine_uses() {
        super::super::vocabulary::assert_matches::<SubscribeMachine>(
            super::MACHINE,
            super::STATES,
            super::EVENTS,
            super::INVOCATIONS,
        );
    }
}

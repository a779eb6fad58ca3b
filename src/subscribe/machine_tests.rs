//! The subscribe machine against ENGINE.md §1, written from the specification.
//!
//! The table has one row per row of §1.4 (RECONNECT rows twice: with and without a cursor), with
//! distinct inputs, cursors, reasons and attempts so that every piece of data is traced from the
//! event or the old state to the new state and the invocations. The expected values are built
//! here, never with the machine's own helpers.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{
    transition, Event, GapRange, Invocation, Messages, State, SubscribeMachine, RECONNECT_SETTLE,
};
use crate::engine::{Cursor, Input, Lifecycle, Machine};
use crate::error::{ErrorKind, Reason};
use crate::retry::RetryDecision;
use crate::status::{Status, StatusCategory};
use crate::subscribe::envelope::{Envelope, EnvelopeKind};

// ---------------------------------------------------------------------------------------------
// Fixtures: every value distinct, so a mix-up shows.

/// `I`: the current input.
fn i() -> Input {
    Input::new(["a", "b-pnpres"], ["g1"])
}

/// `I'`: the event's input.
fn i2() -> Input {
    Input::new(["c"], ["g2", "g2-pnpres"])
}

/// `c?`: a user catch-up cursor kept by the handshake states.
const C: Cursor = Cursor::new(16_900_000_000_000_000, 0);
/// `k`: the cursor kept by the receive states.
const K: Cursor = Cursor::new(17_000_000_000_000_100, 3);
/// `s`: the cursor carried by an event.
const S: Cursor = Cursor::new(17_000_000_000_000_200, 7);
/// `c` in the region of `s`: where a handshake from `c` answered with `s` starts receiving.
const CS: Cursor = Cursor::new(C.timetoken, S.region);
/// `o`: an older catch-up cursor carried by SUBSCRIPTION_RESTORED (before `c` and `k`).
const O: Cursor = Cursor::new(16_800_000_000_000_000, 1);
/// `r`: the cursor given to RECONNECT.
const R: Cursor = Cursor::new(17_000_000_000_000_300, 9);
/// `n`: the attempts of a reconnecting state.
const N: u32 = 3;

/// `e`: the reason kept by a state.
fn e() -> Reason {
    Reason::http(503, "service unavailable")
}

/// `e'`: the reason carried by an event.
fn e2() -> Reason {
    Reason::new(ErrorKind::Timeout, "timed out")
}

fn envelope(channel: &str, timetoken: u64, payload: serde_json::Value) -> Envelope {
    Envelope {
        kind: EnvelopeKind::Message,
        channel: channel.to_owned(),
        subscription: channel.to_owned(),
        published: Cursor::new(timetoken, 7),
        publisher: Some("publisher-1".to_owned()),
        payload: payload.into(),
        meta: None,
        custom_message_type: None,
        seqn: Some(1),
        error: None,
        recovered: false,
    }
}

/// `m`: the messages of a response.
fn m() -> Messages {
    Arc::from(vec![
        envelope("a", 17_000_000_000_000_150, json!({"text": "one"})),
        envelope("a", 17_000_000_000_000_160, json!("two")),
    ])
}

// ---------------------------------------------------------------------------------------------
// States, invocations and statuses, built from §1.1, §1.3 and §1.5.

fn handshaking(input: Input, cursor: Option<Cursor>) -> State {
    State::Handshaking {
        input,
        cursor,
        outage: false,
    }
}

/// Handshaking while the app knows of an outage (entered from HandshakeReconnecting).
fn handshaking_in_outage(input: Input, cursor: Option<Cursor>) -> State {
    State::Handshaking {
        input,
        cursor,
        outage: true,
    }
}

fn hs_reconnecting(input: Input, cursor: Option<Cursor>, attempts: u32, reason: Reason) -> State {
    State::HandshakeReconnecting {
        input,
        cursor,
        attempts,
        reason,
    }
}

fn hs_stopped(input: Input, cursor: Option<Cursor>) -> State {
    State::HandshakeStopped { input, cursor }
}

fn hs_failed(input: Input, cursor: Option<Cursor>, reason: Reason) -> State {
    State::HandshakeFailed {
        input,
        cursor,
        reason,
    }
}

fn receiving(input: Input, cursor: Cursor) -> State {
    State::Receiving {
        input,
        cursor,
        outage: false,
        probe: false,
    }
}

/// The same Receiving state, whose next long-poll proves the network answers first.
fn probing(state: State) -> State {
    match state {
        State::Receiving {
            input,
            cursor,
            outage,
            ..
        } => State::Receiving {
            input,
            cursor,
            outage,
            probe: true,
        },
        other => other,
    }
}

/// Receiving while the app knows of an outage (entered from ReceiveReconnecting).
fn receiving_in_outage(input: Input, cursor: Cursor) -> State {
    State::Receiving {
        input,
        cursor,
        outage: true,
        probe: false,
    }
}

fn rx_reconnecting(input: Input, cursor: Cursor, attempts: u32, reason: Reason) -> State {
    State::ReceiveReconnecting {
        input,
        cursor,
        attempts,
        reason,
    }
}

fn rx_stopped(input: Input, cursor: Cursor) -> State {
    State::ReceiveStopped { input, cursor }
}

fn rx_failed(input: Input, cursor: Cursor, reason: Reason) -> State {
    State::ReceiveFailed {
        input,
        cursor,
        reason,
    }
}

fn handshake(input: Input, cursor: Option<Cursor>) -> Invocation {
    Invocation::Handshake { input, cursor }
}

/// The decision ENGINE.md §3 gives for the default policy (exponential, 2 s doubling up to
/// 150 s, 6 retries) without jitter: what the tables' default context must decide.
pub(crate) fn default_decision(attempts: u32, reason: &Reason) -> RetryDecision {
    let transient = match reason.kind {
        ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Decode => true,
        ErrorKind::Http { status } => matches!(status, 408 | 429 | 500..=599),
        _ => false,
    };
    if !transient || attempts == 0 || attempts > 6 {
        return RetryDecision::GiveUp;
    }
    let seconds = (2u64 << (attempts - 1)).min(150);
    RetryDecision::Wait(Duration::from_secs(seconds))
}

fn handshake_reconnect(
    input: Input,
    cursor: Option<Cursor>,
    attempts: u32,
    reason: Reason,
) -> Invocation {
    Invocation::HandshakeReconnect {
        input,
        cursor,
        attempts,
        retry: default_decision(attempts, &reason),
        reason,
    }
}

fn receive(input: Input, cursor: Cursor) -> Invocation {
    Invocation::ReceiveMessages {
        input,
        cursor,
        liveness: None,
        probe: false,
    }
}

fn receive_reconnect(input: Input, cursor: Cursor, attempts: u32, reason: Reason) -> Invocation {
    Invocation::ReceiveReconnect {
        input,
        cursor,
        attempts,
        retry: default_decision(attempts, &reason),
        reason,
        settle: RECONNECT_SETTLE,
    }
}

fn emit_messages(messages: Messages, cursor: Cursor) -> Invocation {
    Invocation::EmitMessages { messages, cursor }
}

fn status_of(category: StatusCategory, input: &Input, error: Option<Reason>) -> Invocation {
    Invocation::EmitStatus(Status {
        category,
        error,
        channels: input.channels.iter().cloned().collect(),
        groups: input.groups.iter().cloned().collect(),
    })
}

/// EMIT_STATUS(category) for `input`, with no error.
fn status(category: StatusCategory, input: &Input) -> Invocation {
    status_of(category, input, None)
}

/// EMIT_STATUS(category(reason)) for `input`.
fn error_status(category: StatusCategory, input: &Input, reason: Reason) -> Invocation {
    status_of(category, input, Some(reason))
}

use Invocation::{
    CancelHandshake, CancelHandshakeReconnect, CancelReceiveMessages, CancelReceiveReconnect,
};
use StatusCategory::{
    Connected, ConnectionError, Disconnected, Reconnected, SubscriptionChanged,
    UnexpectedDisconnect,
};

// ---------------------------------------------------------------------------------------------
// The table.

type Row = crate::engine::checks::Row<SubscribeMachine>;

fn row(
    name: &'static str,
    from: State,
    event: Event,
    to: State,
    invocations: Vec<Invocation>,
) -> Row {
    Row::new(name, from, event, to, invocations)
}

fn changed(input: Input) -> Event {
    Event::SubscriptionChanged { input }
}

fn restored(input: Input, cursor: Cursor) -> Event {
    Event::SubscriptionRestored { input, cursor }
}

fn reconnect(cursor: Option<Cursor>) -> Event {
    Event::Reconnect { cursor }
}

/// Every row of ENGINE.md §1.4, in the order of the document.
fn table() -> Vec<Row> {
    vec![
        // Unsubscribed
        row(
            "Unsubscribed --SUBSCRIPTION_CHANGED(I')--> Handshaking{I', None}",
            State::Unsubscribed,
            changed(i2()),
            handshaking(i2(), None),
            vec![handshake(i2(), None)],
        ),
        row(
            "Unsubscribed --SUBSCRIPTION_RESTORED(I', o)--> Handshaking{I', Some(o)}",
            State::Unsubscribed,
            restored(i2(), O),
            handshaking(i2(), Some(O)),
            vec![handshake(i2(), Some(O))],
        ),
        // Handshaking
        row(
            "Handshaking{I,c} --SUBSCRIPTION_CHANGED(I')--> Handshaking{I', c} (cursor survives)",
            handshaking(i(), Some(C)),
            changed(i2()),
            handshaking(i2(), Some(C)),
            vec![CancelHandshake, handshake(i2(), Some(C))],
        ),
        row(
            "Handshaking{I,c} --SUBSCRIPTION_RESTORED(I', s > c)--> Handshaking{I', Some(c)}",
            handshaking(i(), Some(C)),
            restored(i2(), S),
            handshaking(i2(), Some(C)),
            vec![CancelHandshake, handshake(i2(), Some(C))],
        ),
        row(
            "Handshaking{I,c} --SUBSCRIPTION_RESTORED(I', o)--> Handshaking{I', Some(o)}",
            handshaking(i(), Some(C)),
            restored(i2(), O),
            handshaking(i2(), Some(O)),
            vec![CancelHandshake, handshake(i2(), Some(O))],
        ),
        row(
            "Handshaking{I,c} --HANDSHAKE_SUCCESS(s)--> Receiving{I, (c.t, s.r)} (catch up from \
             the older c, in the service's region)",
            handshaking(i(), Some(C)),
            Event::HandshakeSuccess { cursor: S },
            receiving(i(), CS),
            vec![CancelHandshake, status(Connected, &i()), receive(i(), CS)],
        ),
        row(
            "Handshaking{I,r} --HANDSHAKE_SUCCESS(s)--> Receiving{I, s} (a catch-up ahead of \
             the service never moves the loop forward)",
            handshaking(i(), Some(R)),
            Event::HandshakeSuccess { cursor: S },
            receiving(i(), S),
            vec![CancelHandshake, status(Connected, &i()), receive(i(), S)],
        ),
        row(
            "Handshaking{I,c} --RECONNECT(r)--> Handshaking{I, Some(r)} (reconnect_from)",
            handshaking(i(), Some(C)),
            reconnect(Some(R)),
            handshaking(i(), Some(R)),
            vec![CancelHandshake, handshake(i(), Some(R))],
        ),
        row(
            "Handshaking{I,c} in an outage --RECONNECT(r)--> Handshaking{I, Some(r)}, outage kept",
            handshaking_in_outage(i(), None),
            reconnect(Some(R)),
            handshaking_in_outage(i(), Some(R)),
            vec![CancelHandshake, handshake(i(), Some(R))],
        ),
        row(
            "Handshaking{I,c} --HANDSHAKE_FAILURE(e)--> HandshakeReconnecting{I, c, 1, e}",
            handshaking(i(), Some(C)),
            Event::HandshakeFailure { reason: e() },
            hs_reconnecting(i(), Some(C), 1, e()),
            vec![
                CancelHandshake,
                error_status(UnexpectedDisconnect, &i(), e()),
                handshake_reconnect(i(), Some(C), 1, e()),
            ],
        ),
        row(
            "Handshaking{I,c} --HANDSHAKE_FAILURE(403)--> HandshakeReconnecting{I, c, 1, 403} \
             (no status: ConnectionError follows at once)",
            handshaking(i(), Some(C)),
            Event::HandshakeFailure {
                reason: Reason::http(403, "Forbidden"),
            },
            hs_reconnecting(i(), Some(C), 1, Reason::http(403, "Forbidden")),
            vec![
                CancelHandshake,
                handshake_reconnect(i(), Some(C), 1, Reason::http(403, "Forbidden")),
            ],
        ),
        row(
            "Handshaking{I,c,outage} --HANDSHAKE_FAILURE(e)--> HandshakeReconnecting{I, c, 1, e} \
             (the app knows already: no second UnexpectedDisconnect)",
            handshaking_in_outage(i(), Some(C)),
            Event::HandshakeFailure { reason: e() },
            hs_reconnecting(i(), Some(C), 1, e()),
            vec![
                CancelHandshake,
                handshake_reconnect(i(), Some(C), 1, e()),
            ],
        ),
        row(
            "Handshaking{I,c} --DISCONNECT--> HandshakeStopped{I, c}",
            handshaking(i(), Some(C)),
            Event::Disconnect,
            hs_stopped(i(), Some(C)),
            vec![CancelHandshake, status(Disconnected, &i())],
        ),
        row(
            "Handshaking --UNSUBSCRIBE_ALL--> Unsubscribed",
            handshaking(i(), Some(C)),
            Event::UnsubscribeAll,
            State::Unsubscribed,
            vec![CancelHandshake, status(Disconnected, &i())],
        ),
        // HandshakeReconnecting
        row(
            "HandshakeReconnecting{I,c,n,e} --SUBSCRIPTION_CHANGED(I')--> Handshaking{I', c}",
            hs_reconnecting(i(), Some(C), N, e()),
            changed(i2()),
            handshaking_in_outage(i2(), Some(C)),
            vec![CancelHandshakeReconnect, handshake(i2(), Some(C))],
        ),
        row(
            "HandshakeReconnecting --SUBSCRIPTION_RESTORED(I', o)--> Handshaking{I', Some(o)}",
            hs_reconnecting(i(), Some(C), N, e()),
            restored(i2(), O),
            handshaking_in_outage(i2(), Some(O)),
            vec![CancelHandshakeReconnect, handshake(i2(), Some(O))],
        ),
        row(
            "HandshakeReconnecting{I,c,n,e} --HANDSHAKE_RECONNECT_SUCCESS(s)--> \
             Receiving{I, (c.t, s.r)}",
            hs_reconnecting(i(), Some(C), N, e()),
            Event::HandshakeReconnectSuccess { cursor: S },
            receiving(i(), CS),
            vec![
                CancelHandshakeReconnect,
                status(Connected, &i()),
                receive(i(), CS),
            ],
        ),
        row(
            "HandshakeReconnecting{I,None,n,e} --HANDSHAKE_RECONNECT_SUCCESS(s)--> Receiving{I, s}",
            hs_reconnecting(i(), None, N, e()),
            Event::HandshakeReconnectSuccess { cursor: S },
            receiving(i(), S),
            vec![
                CancelHandshakeReconnect,
                status(Connected, &i()),
                receive(i(), S),
            ],
        ),
        row(
            "HandshakeReconnecting{I,c,n,e} --HANDSHAKE_RECONNECT_FAILURE(e')--> \
             HandshakeReconnecting{I, c, n+1, e'}",
            hs_reconnecting(i(), Some(C), N, e()),
            Event::HandshakeReconnectFailure { reason: e2() },
            hs_reconnecting(i(), Some(C), N + 1, e2()),
            vec![
                CancelHandshakeReconnect,
                handshake_reconnect(i(), Some(C), N + 1, e2()),
            ],
        ),
        row(
            "HandshakeReconnecting{I,c,n,e} --HANDSHAKE_RECONNECT_GIVEUP(e')--> \
             HandshakeFailed{I, c, e'}",
            hs_reconnecting(i(), Some(C), N, e()),
            Event::HandshakeReconnectGiveup { reason: e2() },
            hs_failed(i(), Some(C), e2()),
            vec![
                CancelHandshakeReconnect,
                error_status(ConnectionError, &i(), e2()),
            ],
        ),
        row(
            "HandshakeReconnecting{I,c,n,e} --RECONNECT(r)--> Handshaking{I, r}",
            hs_reconnecting(i(), Some(C), N, e()),
            reconnect(Some(R)),
            handshaking_in_outage(i(), Some(R)),
            vec![CancelHandshakeReconnect, handshake(i(), Some(R))],
        ),
        row(
            "HandshakeReconnecting{I,c,n,e} --RECONNECT(None)--> Handshaking{I, c}",
            hs_reconnecting(i(), Some(C), N, e()),
            reconnect(None),
            handshaking_in_outage(i(), Some(C)),
            vec![CancelHandshakeReconnect, handshake(i(), Some(C))],
        ),
        row(
            "HandshakeReconnecting{I,c,n,e} --DISCONNECT--> HandshakeStopped{I, c}",
            hs_reconnecting(i(), Some(C), N, e()),
            Event::Disconnect,
            hs_stopped(i(), Some(C)),
            vec![CancelHandshakeReconnect, status(Disconnected, &i())],
        ),
        row(
            "HandshakeReconnecting --UNSUBSCRIBE_ALL--> Unsubscribed",
            hs_reconnecting(i(), Some(C), N, e()),
            Event::UnsubscribeAll,
            State::Unsubscribed,
            vec![CancelHandshakeReconnect, status(Disconnected, &i())],
        ),
        // HandshakeStopped
        row(
            "HandshakeStopped{I,c} --SUBSCRIPTION_CHANGED(I')--> HandshakeStopped{I', c}",
            hs_stopped(i(), Some(C)),
            changed(i2()),
            hs_stopped(i2(), Some(C)),
            vec![],
        ),
        row(
            "HandshakeStopped --SUBSCRIPTION_RESTORED(I', o)--> HandshakeStopped{I', Some(o)}",
            hs_stopped(i(), Some(C)),
            restored(i2(), O),
            hs_stopped(i2(), Some(O)),
            vec![],
        ),
        row(
            "HandshakeStopped{I,c} --RECONNECT(r)--> Handshaking{I, r}",
            hs_stopped(i(), Some(C)),
            reconnect(Some(R)),
            handshaking(i(), Some(R)),
            vec![handshake(i(), Some(R))],
        ),
        row(
            "HandshakeStopped{I,c} --RECONNECT(None)--> Handshaking{I, c}",
            hs_stopped(i(), Some(C)),
            reconnect(None),
            handshaking(i(), Some(C)),
            vec![handshake(i(), Some(C))],
        ),
        row(
            "HandshakeStopped --UNSUBSCRIBE_ALL--> Unsubscribed",
            hs_stopped(i(), Some(C)),
            Event::UnsubscribeAll,
            State::Unsubscribed,
            vec![],
        ),
        // HandshakeFailed
        row(
            "HandshakeFailed{I,c,e} --SUBSCRIPTION_CHANGED(I')--> Handshaking{I', c}",
            hs_failed(i(), Some(C), e()),
            changed(i2()),
            handshaking(i2(), Some(C)),
            vec![handshake(i2(), Some(C))],
        ),
        row(
            "HandshakeFailed --SUBSCRIPTION_RESTORED(I', o)--> Handshaking{I', Some(o)}",
            hs_failed(i(), Some(C), e()),
            restored(i2(), O),
            handshaking(i2(), Some(O)),
            vec![handshake(i2(), Some(O))],
        ),
        row(
            "HandshakeFailed{I,c,e} --RECONNECT(r)--> Handshaking{I, r}",
            hs_failed(i(), Some(C), e()),
            reconnect(Some(R)),
            handshaking(i(), Some(R)),
            vec![handshake(i(), Some(R))],
        ),
        row(
            "HandshakeFailed{I,c,e} --RECONNECT(None)--> Handshaking{I, c}",
            hs_failed(i(), Some(C), e()),
            reconnect(None),
            handshaking(i(), Some(C)),
            vec![handshake(i(), Some(C))],
        ),
        row(
            "HandshakeFailed --UNSUBSCRIBE_ALL--> Unsubscribed",
            hs_failed(i(), Some(C), e()),
            Event::UnsubscribeAll,
            State::Unsubscribed,
            vec![],
        ),
        // Receiving
        row(
            "Receiving{I,k} --SUBSCRIPTION_CHANGED(I')--> Receiving{I', k} (cursor survives)",
            receiving(i(), K),
            changed(i2()),
            receiving(i2(), K),
            vec![
                CancelReceiveMessages,
                status(SubscriptionChanged, &i2()),
                receive(i2(), K),
            ],
        ),
        row(
            "Receiving{I,k} --SUBSCRIPTION_RESTORED(I', s > k)--> Receiving{I', k}: a catch-up \
             never moves the loop forward",
            receiving(i(), K),
            restored(i2(), S),
            receiving(i2(), K),
            vec![
                CancelReceiveMessages,
                status(SubscriptionChanged, &i2()),
                receive(i2(), K),
            ],
        ),
        row(
            "Receiving --SUBSCRIPTION_RESTORED(I', o)--> Receiving{I', o}",
            receiving(i(), K),
            restored(i2(), O),
            receiving(i2(), O),
            vec![
                CancelReceiveMessages,
                status(SubscriptionChanged, &i2()),
                receive(i2(), O),
            ],
        ),
        row(
            "Receiving{I,k} --RECEIVE_SUCCESS(s, m)--> Receiving{I, s}",
            receiving(i(), K),
            Event::ReceiveSuccess {
                cursor: S,
                messages: m(),
            },
            receiving(i(), S),
            vec![
                CancelReceiveMessages,
                emit_messages(m(), S),
                receive(i(), S),
            ],
        ),
        row(
            "Receiving{I,k} --RECONNECT(r)--> Handshaking{I, Some(r)} (reconnect_from restarts the loop)",
            receiving(i(), K),
            reconnect(Some(R)),
            handshaking(i(), Some(R)),
            vec![CancelReceiveMessages, handshake(i(), Some(R))],
        ),
        row(
            "Receiving{I,k} --RECEIVE_FAILURE(e)--> ReceiveReconnecting{I, k, 1, e}",
            receiving(i(), K),
            Event::ReceiveFailure { reason: e() },
            rx_reconnecting(i(), K, 1, e()),
            vec![
                CancelReceiveMessages,
                error_status(UnexpectedDisconnect, &i(), e()),
                receive_reconnect(i(), K, 1, e()),
            ],
        ),
        row(
            "Receiving{I,k,outage} --RECEIVE_SUCCESS(s, m)--> Receiving{I, s} (Reconnected)",
            receiving_in_outage(i(), K),
            Event::ReceiveSuccess {
                cursor: S,
                messages: m(),
            },
            receiving(i(), S),
            vec![
                CancelReceiveMessages,
                status(Reconnected, &i()),
                emit_messages(m(), S),
                receive(i(), S),
            ],
        ),
        row(
            "Receiving{I,k,outage} --RECEIVE_FAILURE(e)--> ReceiveReconnecting{I, k, 1, e} \
             (no second UnexpectedDisconnect)",
            receiving_in_outage(i(), K),
            Event::ReceiveFailure { reason: e() },
            rx_reconnecting(i(), K, 1, e()),
            vec![CancelReceiveMessages, receive_reconnect(i(), K, 1, e())],
        ),
        row(
            "Receiving{I,k,outage} --SUBSCRIPTION_CHANGED(I')--> Receiving{I', k, outage}",
            receiving_in_outage(i(), K),
            changed(i2()),
            receiving_in_outage(i2(), K),
            vec![
                CancelReceiveMessages,
                status(SubscriptionChanged, &i2()),
                receive(i2(), K),
            ],
        ),
        row(
            "Receiving{I,k,o} --LONG_POLL_SILENT--> Receiving{I, k, o, probe} \
             (the next long-poll, from the same cursor, proves the network answers first)",
            receiving_in_outage(i(), K),
            Event::LongPollSilent,
            probing(receiving_in_outage(i(), K)),
            vec![
                CancelReceiveMessages,
                Invocation::ReceiveMessages {
                    input: i(),
                    cursor: K,
                    liveness: None,
                    probe: true,
                },
            ],
        ),
        row(
            "Receiving{I,k,probe} --RECEIVE_SUCCESS(s, m)--> Receiving{I, s} (no probe: the \
             network answered)",
            probing(receiving(i(), K)),
            Event::ReceiveSuccess {
                cursor: S,
                messages: m(),
            },
            receiving(i(), S),
            vec![
                CancelReceiveMessages,
                emit_messages(m(), S),
                receive(i(), S),
            ],
        ),
        row(
            "Receiving{I,k,probe} --RECEIVE_FAILURE(e)--> ReceiveReconnecting{I, k, 1, e} (the \
             probe failed: the outage is reported)",
            probing(receiving(i(), K)),
            Event::ReceiveFailure { reason: e() },
            rx_reconnecting(i(), K, 1, e()),
            vec![
                CancelReceiveMessages,
                error_status(UnexpectedDisconnect, &i(), e()),
                receive_reconnect(i(), K, 1, e()),
            ],
        ),
        row(
            "Receiving{I,k} --DISCONNECT--> ReceiveStopped{I, k}",
            receiving(i(), K),
            Event::Disconnect,
            rx_stopped(i(), K),
            vec![CancelReceiveMessages, status(Disconnected, &i())],
        ),
        row(
            "Receiving --UNSUBSCRIBE_ALL--> Unsubscribed",
            receiving(i(), K),
            Event::UnsubscribeAll,
            State::Unsubscribed,
            vec![CancelReceiveMessages, status(Disconnected, &i())],
        ),
        // ReceiveReconnecting
        row(
            "ReceiveReconnecting{I,k,n,e} --SUBSCRIPTION_CHANGED(I')--> Receiving{I', k}",
            rx_reconnecting(i(), K, N, e()),
            changed(i2()),
            receiving_in_outage(i2(), K),
            vec![
                CancelReceiveReconnect,
                status(SubscriptionChanged, &i2()),
                receive(i2(), K),
            ],
        ),
        row(
            "ReceiveReconnecting --SUBSCRIPTION_RESTORED(I', o)--> Receiving{I', o}",
            rx_reconnecting(i(), K, N, e()),
            restored(i2(), O),
            receiving_in_outage(i2(), O),
            vec![
                CancelReceiveReconnect,
                status(SubscriptionChanged, &i2()),
                receive(i2(), O),
            ],
        ),
        row(
            "ReceiveReconnecting{I,k,n,e} --RECEIVE_RECONNECT_SUCCESS(s, m)--> Receiving{I, s} \
             (the long-poll from the kept cursor answered: what was published during the outage \
             arrives, and only now is the loop Reconnected)",
            rx_reconnecting(i(), K, N, e()),
            Event::ReceiveReconnectSuccess {
                cursor: S,
                messages: m(),
            },
            receiving(i(), S),
            vec![
                CancelReceiveReconnect,
                status(Reconnected, &i()),
                emit_messages(m(), S),
                receive(i(), S),
            ],
        ),
        row(
            "ReceiveReconnecting{I,k,n,e} --LONG_POLL_SILENT--> Receiving{I, k} (the probe was \
             answered and the service held the long-poll from k for the settle time, as on an \
             idle channel: Reconnected, and the long-poll goes on from k)",
            rx_reconnecting(i(), K, N, e()),
            Event::LongPollSilent,
            receiving(i(), K),
            vec![
                CancelReceiveReconnect,
                status(Reconnected, &i()),
                receive(i(), K),
            ],
        ),
        row(
            "ReceiveReconnecting{I,k,n,e} --RECEIVE_RECONNECT_FAILURE(e')--> \
             ReceiveReconnecting{I, k, n+1, e'}",
            rx_reconnecting(i(), K, N, e()),
            Event::ReceiveReconnectFailure { reason: e2() },
            rx_reconnecting(i(), K, N + 1, e2()),
            vec![
                CancelReceiveReconnect,
                receive_reconnect(i(), K, N + 1, e2()),
            ],
        ),
        row(
            "ReceiveReconnecting{I,k,n,e} --RECEIVE_RECONNECT_GIVEUP(e')--> ReceiveFailed{I, k, e'}",
            rx_reconnecting(i(), K, N, e()),
            Event::ReceiveReconnectGiveup { reason: e2() },
            rx_failed(i(), K, e2()),
            vec![
                CancelReceiveReconnect,
                error_status(ConnectionError, &i(), e2()),
            ],
        ),
        row(
            "ReceiveReconnecting{I,k,n,e} --RECONNECT(r)--> Handshaking{I, r}",
            rx_reconnecting(i(), K, N, e()),
            reconnect(Some(R)),
            handshaking_in_outage(i(), Some(R)),
            vec![CancelReceiveReconnect, handshake(i(), Some(R))],
        ),
        row(
            "ReceiveReconnecting{I,k,n,e} --RECONNECT(None)--> Handshaking{I, Some(k)}",
            rx_reconnecting(i(), K, N, e()),
            reconnect(None),
            handshaking_in_outage(i(), Some(K)),
            vec![CancelReceiveReconnect, handshake(i(), Some(K))],
        ),
        row(
            "ReceiveReconnecting{I,k,n,e} --DISCONNECT--> ReceiveStopped{I, k}",
            rx_reconnecting(i(), K, N, e()),
            Event::Disconnect,
            rx_stopped(i(), K),
            vec![CancelReceiveReconnect, status(Disconnected, &i())],
        ),
        row(
            "ReceiveReconnecting --UNSUBSCRIBE_ALL--> Unsubscribed",
            rx_reconnecting(i(), K, N, e()),
            Event::UnsubscribeAll,
            State::Unsubscribed,
            vec![CancelReceiveReconnect, status(Disconnected, &i())],
        ),
        // ReceiveStopped
        row(
            "ReceiveStopped{I,k} --SUBSCRIPTION_CHANGED(I')--> ReceiveStopped{I', k}",
            rx_stopped(i(), K),
            changed(i2()),
            rx_stopped(i2(), K),
            vec![],
        ),
        row(
            "ReceiveStopped --SUBSCRIPTION_RESTORED(I', o)--> ReceiveStopped{I', o}",
            rx_stopped(i(), K),
            restored(i2(), O),
            rx_stopped(i2(), O),
            vec![],
        ),
        row(
            "ReceiveStopped{I,k} --RECONNECT(r)--> Handshaking{I, r}",
            rx_stopped(i(), K),
            reconnect(Some(R)),
            handshaking(i(), Some(R)),
            vec![handshake(i(), Some(R))],
        ),
        row(
            "ReceiveStopped{I,k} --RECONNECT(None)--> Handshaking{I, Some(k)}",
            rx_stopped(i(), K),
            reconnect(None),
            handshaking(i(), Some(K)),
            vec![handshake(i(), Some(K))],
        ),
        row(
            "ReceiveStopped --UNSUBSCRIBE_ALL--> Unsubscribed",
            rx_stopped(i(), K),
            Event::UnsubscribeAll,
            State::Unsubscribed,
            vec![],
        ),
        // ReceiveFailed
        row(
            "ReceiveFailed{I,k,e} --SUBSCRIPTION_CHANGED(I')--> Handshaking{I', Some(k)}",
            rx_failed(i(), K, e()),
            changed(i2()),
            handshaking(i2(), Some(K)),
            vec![handshake(i2(), Some(K))],
        ),
        row(
            "ReceiveFailed --SUBSCRIPTION_RESTORED(I', o)--> Handshaking{I', Some(o)}",
            rx_failed(i(), K, e()),
            restored(i2(), O),
            handshaking(i2(), Some(O)),
            vec![handshake(i2(), Some(O))],
        ),
        row(
            "ReceiveFailed{I,k,e} --RECONNECT(r)--> Handshaking{I, r}",
            rx_failed(i(), K, e()),
            reconnect(Some(R)),
            handshaking(i(), Some(R)),
            vec![handshake(i(), Some(R))],
        ),
        row(
            "ReceiveFailed{I,k,e} --RECONNECT(None)--> Handshaking{I, Some(k)}",
            rx_failed(i(), K, e()),
            reconnect(None),
            handshaking(i(), Some(K)),
            vec![handshake(i(), Some(K))],
        ),
        row(
            "ReceiveFailed --UNSUBSCRIBE_ALL--> Unsubscribed",
            rx_failed(i(), K, e()),
            Event::UnsubscribeAll,
            State::Unsubscribed,
            vec![],
        ),
    ]
}

/// Rows where the handshake states hold no catch-up cursor: `c? = None` must stay `None`.
fn table_without_catch_up_cursor() -> Vec<Row> {
    vec![
        row(
            "Handshaking{I,None} --SUBSCRIPTION_CHANGED(I')--> Handshaking{I', None}",
            handshaking(i(), None),
            changed(i2()),
            handshaking(i2(), None),
            vec![CancelHandshake, handshake(i2(), None)],
        ),
        row(
            "Handshaking{I,None} --HANDSHAKE_FAILURE(e)--> HandshakeReconnecting{I, None, 1, e}",
            handshaking(i(), None),
            Event::HandshakeFailure { reason: e() },
            hs_reconnecting(i(), None, 1, e()),
            vec![
                CancelHandshake,
                error_status(UnexpectedDisconnect, &i(), e()),
                handshake_reconnect(i(), None, 1, e()),
            ],
        ),
        row(
            "Handshaking{I,None} --HANDSHAKE_SUCCESS(s)--> Receiving{I, s}",
            handshaking(i(), None),
            Event::HandshakeSuccess { cursor: S },
            receiving(i(), S),
            vec![CancelHandshake, status(Connected, &i()), receive(i(), S)],
        ),
        row(
            "HandshakeReconnecting{I,None,n,e} --RECONNECT(None)--> Handshaking{I, None}",
            hs_reconnecting(i(), None, N, e()),
            reconnect(None),
            handshaking_in_outage(i(), None),
            vec![CancelHandshakeReconnect, handshake(i(), None)],
        ),
        row(
            "HandshakeReconnecting{I,None,n,e} --RECONNECT(r)--> Handshaking{I, r}",
            hs_reconnecting(i(), None, N, e()),
            reconnect(Some(R)),
            handshaking_in_outage(i(), Some(R)),
            vec![CancelHandshakeReconnect, handshake(i(), Some(R))],
        ),
        row(
            "HandshakeStopped{I,None} --RECONNECT(None)--> Handshaking{I, None}",
            hs_stopped(i(), None),
            reconnect(None),
            handshaking(i(), None),
            vec![handshake(i(), None)],
        ),
        row(
            "HandshakeFailed{I,None,e} --SUBSCRIPTION_CHANGED(I')--> Handshaking{I', None}",
            hs_failed(i(), None, e()),
            changed(i2()),
            handshaking(i2(), None),
            vec![handshake(i2(), None)],
        ),
        row(
            "HandshakeFailed{I,None,e} --RECONNECT(None)--> Handshaking{I, None}",
            hs_failed(i(), None, e()),
            reconnect(None),
            handshaking(i(), None),
            vec![handshake(i(), None)],
        ),
        // An input of groups only is not empty: it is a subscription, not UNSUBSCRIBE_ALL.
        row(
            "Unsubscribed --SUBSCRIPTION_CHANGED(groups only)--> Handshaking",
            State::Unsubscribed,
            changed(Input::new(Vec::<String>::new(), ["g9"])),
            handshaking(Input::new(Vec::<String>::new(), ["g9"]), None),
            vec![handshake(Input::new(Vec::<String>::new(), ["g9"]), None)],
        ),
    ]
}

fn check_rows(rows: &[Row]) {
    crate::engine::checks::check_rows(&crate::engine::Context::default(), rows);
}

fn names(invocations: &[Invocation]) -> Vec<&'static str> {
    invocations.iter().map(Invocation::name).collect()
}

#[test]
fn every_row_of_the_transition_table() {
    check_rows(&table());
}

#[test]
fn handshake_states_without_a_catch_up_cursor() {
    check_rows(&table_without_catch_up_cursor());
}

#[test]
fn the_table_covers_exactly_the_listed_pairs() {
    let covered: BTreeSet<(&str, &str)> = table()
        .iter()
        .chain(gap_table().iter().skip(1))
        .map(|r| (r.from.name(), handled_as(&r.event)))
        .collect();
    assert_eq!(covered, listed());
    // 47 rows in ENGINE.md §1.4, plus a second RECONNECT row (without cursor) for 6 states,
    // plus a fatal HANDSHAKE_FAILURE (no UnexpectedDisconnect when the machine gives up at once),
    // plus four rows of an outage the app was told of (after a subscription change),
    // plus three rows of reconnect_from while handshaking (two) or receiving,
    // plus two rows of a catch-up newer than the kept cursor (the loop does not move),
    // plus two rows of the handshake's catch-up decision (a catch-up cursor ahead of the
    // service's; a handshake retry without a catch-up cursor),
    // plus three rows of the long-poll liveness check (silent, then the probing poll's
    // success and failure).
    assert_eq!(table().len(), 47 + 6 + 1 + 4 + 3 + 2 + 2 + 3);
}

// ---------------------------------------------------------------------------------------------
// Exhaustive walk.

const STATE_NAMES: [&str; 10] = [
    "Unsubscribed",
    "Handshaking",
    "HandshakeReconnecting",
    "HandshakeStopped",
    "HandshakeFailed",
    "Receiving",
    "ReceiveReconnecting",
    "ReceiveStopped",
    "ReceiveFailed",
    "FillingGap",
];

const EVENT_NAMES: [&str; 18] = [
    "SUBSCRIPTION_CHANGED",
    "SUBSCRIPTION_RESTORED",
    "HANDSHAKE_SUCCESS",
    "HANDSHAKE_FAILURE",
    "HANDSHAKE_RECONNECT_SUCCESS",
    "HANDSHAKE_RECONNECT_FAILURE",
    "HANDSHAKE_RECONNECT_GIVEUP",
    "RECEIVE_SUCCESS",
    "RECEIVE_FAILURE",
    "LONG_POLL_SILENT",
    "RECEIVE_RECONNECT_SUCCESS",
    "RECEIVE_RECONNECT_FAILURE",
    "RECEIVE_RECONNECT_GIVEUP",
    "DISCONNECT",
    "RECONNECT",
    "UNSUBSCRIBE_ALL",
    "GAP_FILL_PAGE",
    "GAP_FILL_FAILURE",
];

const INVOCATION_NAMES: [&str; 12] = [
    "HANDSHAKE",
    "HANDSHAKE_RECONNECT",
    "RECEIVE_MESSAGES",
    "RECEIVE_RECONNECT",
    "CANCEL_HANDSHAKE",
    "CANCEL_HANDSHAKE_RECONNECT",
    "CANCEL_RECEIVE_MESSAGES",
    "CANCEL_RECEIVE_RECONNECT",
    "EMIT_STATUS",
    "EMIT_MESSAGES",
    "FILL_GAP",
    "CANCEL_FILL_GAP",
];

/// The (state, event) pairs ENGINE.md §1.4 lists; every other pair is ignored.
fn listed() -> BTreeSet<(&'static str, &'static str)> {
    const SC: &str = "SUBSCRIPTION_CHANGED";
    const SR: &str = "SUBSCRIPTION_RESTORED";
    const UA: &str = "UNSUBSCRIBE_ALL";
    // RECONNECT with a cursor (`reconnect_from`); a plain RECONNECT is "RECONNECT".
    const RF: &str = "RECONNECT(r)";
    let pairs: &[(&str, &[&str])] = &[
        ("Unsubscribed", &[SC, SR]),
        (
            "Handshaking",
            &[
                SC,
                SR,
                "HANDSHAKE_SUCCESS",
                "HANDSHAKE_FAILURE",
                RF,
                "DISCONNECT",
                UA,
            ],
        ),
        (
            "HandshakeReconnecting",
            &[
                SC,
                SR,
                "HANDSHAKE_RECONNECT_SUCCESS",
                "HANDSHAKE_RECONNECT_FAILURE",
                "HANDSHAKE_RECONNECT_GIVEUP",
                "RECONNECT",
                RF,
                "DISCONNECT",
                UA,
            ],
        ),
        ("HandshakeStopped", &[SC, SR, "RECONNECT", RF, UA]),
        ("HandshakeFailed", &[SC, SR, "RECONNECT", RF, UA]),
        (
            "Receiving",
            &[
                SC,
                SR,
                "RECEIVE_SUCCESS",
                "RECEIVE_FAILURE",
                "LONG_POLL_SILENT",
                RF,
                "DISCONNECT",
                UA,
            ],
        ),
        (
            "ReceiveReconnecting",
            &[
                SC,
                SR,
                "RECEIVE_RECONNECT_SUCCESS",
                "RECEIVE_RECONNECT_FAILURE",
                "RECEIVE_RECONNECT_GIVEUP",
                "LONG_POLL_SILENT",
                "RECONNECT",
                RF,
                "DISCONNECT",
                UA,
            ],
        ),
        ("ReceiveStopped", &[SC, SR, "RECONNECT", RF, UA]),
        ("ReceiveFailed", &[SC, SR, "RECONNECT", RF, UA]),
        (
            "FillingGap",
            &[
                SC,
                SR,
                "GAP_FILL_PAGE",
                "GAP_FILL_FAILURE",
                RF,
                "DISCONNECT",
                UA,
            ],
        ),
    ];
    let set: BTreeSet<_> = pairs
        .iter()
        .flat_map(|(state, events)| events.iter().map(move |event| (*state, *event)))
        .collect();
    assert_eq!(
        set.len(),
        63,
        "ENGINE.md §1.4's 48 rows, RECONNECT(r) in the 6 states that reconnect, \
         reconnect_from while handshaking or receiving, and FillingGap's 7 (§1.6)"
    );
    set
}

/// One value of every state variant, handshake states with and without a catch-up cursor.
fn my_states() -> Vec<State> {
    vec![
        State::Unsubscribed,
        handshaking(i(), Some(C)),
        handshaking(i(), None),
        hs_reconnecting(i(), Some(C), N, e()),
        hs_reconnecting(i(), None, 1, e()),
        hs_stopped(i(), Some(C)),
        hs_stopped(i(), None),
        hs_failed(i(), Some(C), e()),
        hs_failed(i(), None, e()),
        receiving(i(), K),
        rx_reconnecting(i(), K, N, e()),
        rx_stopped(i(), K),
        rx_failed(i(), K, e()),
        filling(i()),
        filling_at(i(), vec![range_a(), range_d()], 3, vec![]),
    ]
}

/// One or more values of every event variant (none with an empty input: see the empty rule).
fn my_events() -> Vec<Event> {
    vec![
        changed(i2()),
        restored(i2(), S),
        Event::HandshakeSuccess { cursor: S },
        Event::HandshakeFailure { reason: e2() },
        Event::HandshakeReconnectSuccess { cursor: S },
        Event::HandshakeReconnectFailure { reason: e2() },
        Event::HandshakeReconnectGiveup { reason: e2() },
        Event::ReceiveSuccess {
            cursor: S,
            messages: m(),
        },
        Event::ReceiveFailure { reason: e2() },
        Event::LongPollSilent,
        Event::ReceiveReconnectSuccess {
            cursor: S,
            messages: m(),
        },
        Event::ReceiveReconnectFailure { reason: e2() },
        Event::ReceiveReconnectGiveup { reason: e2() },
        Event::Disconnect,
        reconnect(None),
        reconnect(Some(R)),
        Event::UnsubscribeAll,
        page(vec![a_(140)], None),
        Event::GapFillFailure { reason: e() },
    ]
}

/// The name under which §1.4 handles `event`: an empty SUBSCRIPTION_CHANGED is UNSUBSCRIBE_ALL.
fn handled_as(event: &Event) -> &'static str {
    match event {
        Event::SubscriptionChanged { input } if input.is_empty() => "UNSUBSCRIBE_ALL",
        Event::Reconnect { cursor: Some(_) } => "RECONNECT(r)",
        other => other.name(),
    }
}

/// Every (state, event) pair of this test's values and of the machine's samples (what the
/// diagrams are drawn from) is handled exactly when §1.4 lists it.
#[test]
fn every_unlisted_pair_is_ignored_and_every_listed_pair_is_not() {
    let listed = listed();
    crate::engine::checks::walk_all::<SubscribeMachine>(
        (my_states(), my_events()),
        (&STATE_NAMES, &EVENT_NAMES),
        &|state, event| listed.contains(&(state.name(), handled_as(event))),
    );
}

#[test]
fn an_empty_subscription_changed_is_unsubscribe_all_in_every_state() {
    let mut states = my_states();
    states.extend(SubscribeMachine::sample_states());
    for state in &states {
        let empty = transition(state, &changed(Input::default()));
        let unsubscribe_all = transition(state, &Event::UnsubscribeAll);
        assert_eq!(empty, unsubscribe_all, "in {state:?}");
        match state {
            State::Unsubscribed => assert_eq!(empty, None),
            _ => assert_eq!(empty.map(|t| t.state), Some(State::Unsubscribed)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants.

#[test]
fn trace_names_are_spelled_as_in_engine_md() {
    let states: Vec<&str> = my_states()
        .iter()
        .map(SubscribeMachine::state_name)
        .collect();
    for name in &states {
        assert!(STATE_NAMES.contains(name), "state name {name}");
    }

    let events = [
        (changed(i2()), "SUBSCRIPTION_CHANGED"),
        (changed(Input::default()), "SUBSCRIPTION_CHANGED"),
        (restored(i2(), S), "SUBSCRIPTION_RESTORED"),
        (Event::HandshakeSuccess { cursor: S }, "HANDSHAKE_SUCCESS"),
        (Event::HandshakeFailure { reason: e() }, "HANDSHAKE_FAILURE"),
        (
            Event::HandshakeReconnectSuccess { cursor: S },
            "HANDSHAKE_RECONNECT_SUCCESS",
        ),
        (
            Event::HandshakeReconnectFailure { reason: e() },
            "HANDSHAKE_RECONNECT_FAILURE",
        ),
        (
            Event::HandshakeReconnectGiveup { reason: e() },
            "HANDSHAKE_RECONNECT_GIVEUP",
        ),
        (
            Event::ReceiveSuccess {
                cursor: S,
                messages: m(),
            },
            "RECEIVE_SUCCESS",
        ),
        (Event::ReceiveFailure { reason: e() }, "RECEIVE_FAILURE"),
        (Event::LongPollSilent, "LONG_POLL_SILENT"),
        (
            Event::ReceiveReconnectSuccess {
                cursor: S,
                messages: m(),
            },
            "RECEIVE_RECONNECT_SUCCESS",
        ),
        (
            Event::ReceiveReconnectFailure { reason: e() },
            "RECEIVE_RECONNECT_FAILURE",
        ),
        (
            Event::ReceiveReconnectGiveup { reason: e() },
            "RECEIVE_RECONNECT_GIVEUP",
        ),
        (Event::Disconnect, "DISCONNECT"),
        (reconnect(None), "RECONNECT"),
        (reconnect(Some(R)), "RECONNECT"),
        (Event::UnsubscribeAll, "UNSUBSCRIBE_ALL"),
    ];
    for (event, name) in &events {
        assert_eq!(event.name(), *name);
        assert_eq!(SubscribeMachine::event_name(event), *name);
    }

    let invocations = [
        (handshake(i(), None), "HANDSHAKE"),
        (
            handshake_reconnect(i(), None, 1, e()),
            "HANDSHAKE_RECONNECT",
        ),
        (receive(i(), K), "RECEIVE_MESSAGES"),
        (receive_reconnect(i(), K, 1, e()), "RECEIVE_RECONNECT"),
        (CancelHandshake, "CANCEL_HANDSHAKE"),
        (CancelHandshakeReconnect, "CANCEL_HANDSHAKE_RECONNECT"),
        (CancelReceiveMessages, "CANCEL_RECEIVE_MESSAGES"),
        (CancelReceiveReconnect, "CANCEL_RECEIVE_RECONNECT"),
        (status(Connected, &i()), "EMIT_STATUS"),
        (emit_messages(m(), S), "EMIT_MESSAGES"),
        (fill_gap(range_a()), "FILL_GAP"),
        (Invocation::CancelFillGap, "CANCEL_FILL_GAP"),
    ];
    crate::engine::checks::assert_spelled(
        &invocations,
        &INVOCATION_NAMES,
        Invocation::name,
        SubscribeMachine::invocation_name,
    );
}

#[test]
fn lifecycles_follow_section_1_3() {
    let managed = [
        (handshake(i(), None), CancelHandshake),
        (
            handshake_reconnect(i(), None, 1, e()),
            CancelHandshakeReconnect,
        ),
        (receive(i(), K), CancelReceiveMessages),
        (receive_reconnect(i(), K, 1, e()), CancelReceiveReconnect),
        (fill_gap(range_a()), Invocation::CancelFillGap),
    ];
    let mut kinds = BTreeSet::new();
    for (start, cancel) in &managed {
        let Lifecycle::Managed(kind) = SubscribeMachine::lifecycle(start) else {
            panic!("{} must be managed", start.name());
        };
        assert_eq!(
            SubscribeMachine::lifecycle(cancel),
            Lifecycle::Cancel(kind),
            "{} must cancel {}",
            cancel.name(),
            start.name()
        );
        kinds.insert(kind);
    }
    assert_eq!(kinds.len(), 5, "each managed invocation has its own kind");
    for immediate in [status(Connected, &i()), emit_messages(m(), S)] {
        assert_eq!(
            SubscribeMachine::lifecycle(&immediate),
            Lifecycle::Immediate
        );
    }
}

/// Exit invocation of each state (§1.1).
fn exit_of(state: &State) -> Option<Invocation> {
    match state {
        State::Handshaking { .. } => Some(CancelHandshake),
        State::HandshakeReconnecting { .. } => Some(CancelHandshakeReconnect),
        State::Receiving { .. } => Some(CancelReceiveMessages),
        State::ReceiveReconnecting { .. } => Some(CancelReceiveReconnect),
        State::FillingGap { .. } => Some(Invocation::CancelFillGap),
        _ => None,
    }
}

/// Entry invocation of each state (§1.1), carrying the state's data.
fn entry_of(state: &State) -> Option<Invocation> {
    match state.clone() {
        State::Handshaking { input, cursor, .. } => Some(handshake(input, cursor)),
        State::HandshakeReconnecting {
            input,
            cursor,
            attempts,
            reason,
        } => Some(handshake_reconnect(input, cursor, attempts, reason)),
        State::Receiving {
            input,
            cursor,
            probe,
            ..
        } => Some(Invocation::ReceiveMessages {
            input,
            cursor,
            liveness: None,
            probe,
        }),
        State::ReceiveReconnecting {
            input,
            cursor,
            attempts,
            reason,
        } => Some(receive_reconnect(input, cursor, attempts, reason)),
        State::FillingGap { ranges, .. } => Some(fill_gap(ranges[0].clone())),
        _ => None,
    }
}

#[test]
fn every_transition_is_exit_then_own_then_entry() {
    // What is left is the transition's own: only immediate invocations.
    crate::engine::checks::assert_exit_own_entry::<SubscribeMachine>(
        &my_states(),
        &my_events(),
        &exit_of,
        &entry_of,
        &|own| {
            matches!(
                own,
                Invocation::EmitStatus(_) | Invocation::EmitMessages { .. }
            )
        },
    );
}

#[test]
fn a_self_transition_cancels_and_restarts_the_long_poll() {
    let t = transition(
        &receiving(i(), K),
        &Event::ReceiveSuccess {
            cursor: S,
            messages: m(),
        },
    )
    .expect("RECEIVE_SUCCESS is handled in Receiving");
    assert_eq!(
        names(&t.invocations),
        [
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_MESSAGES",
            "RECEIVE_MESSAGES"
        ]
    );

    let t = transition(
        &hs_reconnecting(i(), None, 1, e()),
        &Event::HandshakeReconnectFailure { reason: e2() },
    )
    .expect("HANDSHAKE_RECONNECT_FAILURE is handled in HandshakeReconnecting");
    assert_eq!(
        names(&t.invocations),
        ["CANCEL_HANDSHAKE_RECONNECT", "HANDSHAKE_RECONNECT"]
    );
}

/// A give-up's status names the cause where the docs have a category for it (403, 400), and
/// says `ConnectionError` otherwise; the outage's first status names its cause. (reason, the
/// give-up's category, the error's category, the outage's category).
#[test]
fn failure_statuses_take_the_category_of_their_cause() {
    use StatusCategory as C;
    let cases = [
        (
            Reason::http(403, "Forbidden"),
            C::AccessDenied,
            C::AccessDenied,
            C::UnexpectedDisconnect,
        ),
        (
            Reason::http(400, "Bad Request"),
            C::BadRequest,
            C::BadRequest,
            C::UnexpectedDisconnect,
        ),
        (
            Reason::new(ErrorKind::Timeout, "timed out"),
            C::ConnectionError,
            C::Timeout,
            C::Timeout,
        ),
        (
            Reason::new(ErrorKind::Network, "connection refused"),
            C::ConnectionError,
            C::NetworkIssues,
            C::NetworkIssues,
        ),
        (
            Reason::new(ErrorKind::Decode, "not JSON"),
            C::ConnectionError,
            C::Unknown,
            C::Unknown,
        ),
        (
            Reason::http(500, "oops"),
            C::ConnectionError,
            C::Unknown,
            C::UnexpectedDisconnect,
        ),
    ];
    for (reason, given_up, error, outage) in cases {
        let t = transition(
            &hs_reconnecting(i(), None, 2, e()),
            &Event::HandshakeReconnectGiveup {
                reason: reason.clone(),
            },
        )
        .expect("HANDSHAKE_RECONNECT_GIVEUP is handled");
        let Some(Invocation::EmitStatus(status)) = t.invocations.last() else {
            panic!("no status in {:?}", t.invocations);
        };
        assert_eq!(status.category, given_up, "for {reason}");
        assert_eq!(status.category.story(), ConnectionError);
        assert_eq!(status.error.as_ref(), Some(&reason));
        assert_eq!(status.error_category(), Some(error), "for {reason}");

        let t = transition(
            &receiving(i(), C),
            &Event::ReceiveFailure {
                reason: reason.clone(),
            },
        )
        .expect("RECEIVE_FAILURE is handled");
        let statuses: Vec<StatusCategory> = t
            .invocations
            .iter()
            .filter_map(|inv| match inv {
                Invocation::EmitStatus(status) => Some(status.category),
                _ => None,
            })
            .collect();
        // A fatal failure (403, 400) starts no outage: the give-up status follows at once.
        if crate::retry::is_transient(&reason) {
            assert_eq!(statuses, [outage], "for {reason}");
        } else {
            assert_eq!(statuses, [], "for {reason}");
        }
        assert_eq!(outage.story(), UnexpectedDisconnect);
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions taken by the machine (ENGINE.md §3): the reconnecting states decide from the retry
// policy in the context, and the decision travels in the invocation.

fn context(retry: crate::retry::RetryConfig) -> crate::engine::Context {
    crate::engine::Context {
        retry,
        jitter: crate::retry::Jitter::off(),
        ..crate::engine::Context::default()
    }
}

/// The decision carried by the entry invocation of the state a failure leads to.
fn decision_after(context: &crate::engine::Context, from: State, event: Event) -> RetryDecision {
    let t = super::transition_with(context, &from, &event).expect("handled");
    let retry = t.invocations.iter().find_map(|i| match i {
        Invocation::HandshakeReconnect { retry, .. }
        | Invocation::ReceiveReconnect { retry, .. } => Some(*retry),
        _ => None,
    });
    retry.expect("a reconnect invocation")
}

#[test]
fn retry_decisions_travel_in_the_invocations() {
    use crate::retry::{Endpoint, RetryConfig, RetryPolicy};
    let secs = Duration::from_secs;
    let linear = RetryConfig::new(RetryPolicy::Linear {
        delay: secs(3),
        max_retries: 2,
    });
    let exponential = RetryConfig::new(RetryPolicy::Exponential {
        min_delay: secs(2),
        max_delay: secs(10),
        max_retries: 5,
    });
    let busy = Reason {
        retry_after: Some(42),
        ..Reason::http(429, "Too Many Requests")
    };
    let forbidden = Reason::http(403, "Forbidden");
    let timeout = Reason::new(ErrorKind::Timeout, "timed out");
    // (policy, attempts of the failing state, reason, expected decision for the next attempt)
    let rows: Vec<(&str, RetryConfig, u32, Reason, RetryDecision)> = vec![
        (
            "linear 1",
            linear.clone(),
            0,
            timeout.clone(),
            RetryDecision::Wait(secs(3)),
        ),
        (
            "linear 2",
            linear.clone(),
            1,
            timeout.clone(),
            RetryDecision::Wait(secs(3)),
        ),
        (
            "linear gives up after 2",
            linear.clone(),
            2,
            timeout.clone(),
            RetryDecision::GiveUp,
        ),
        (
            "exponential 1",
            exponential.clone(),
            0,
            e(),
            RetryDecision::Wait(secs(2)),
        ),
        (
            "exponential 3",
            exponential.clone(),
            2,
            e(),
            RetryDecision::Wait(secs(8)),
        ),
        (
            "exponential capped",
            exponential.clone(),
            3,
            e(),
            RetryDecision::Wait(secs(10)),
        ),
        (
            "exponential gives up after 5",
            exponential.clone(),
            5,
            e(),
            RetryDecision::GiveUp,
        ),
        (
            "Retry-After",
            exponential.clone(),
            0,
            busy,
            RetryDecision::Wait(secs(42)),
        ),
        (
            "fatal 403",
            exponential.clone(),
            0,
            forbidden,
            RetryDecision::GiveUp,
        ),
        (
            "none",
            RetryConfig::new(RetryPolicy::None),
            0,
            timeout.clone(),
            RetryDecision::GiveUp,
        ),
        (
            "excluded endpoint",
            linear.clone().excluding(Endpoint::Subscribe),
            0,
            timeout.clone(),
            RetryDecision::GiveUp,
        ),
        (
            "another endpoint excluded",
            linear.clone().excluding(Endpoint::Presence),
            0,
            timeout.clone(),
            RetryDecision::Wait(secs(3)),
        ),
    ];
    for (label, retry, attempts, reason, expected) in rows {
        let ctx = context(retry);
        // Attempt 1 comes from the first failure, later ones from a failing reconnect.
        let (hs_from, hs_event, rx_from, rx_event) = if attempts == 0 {
            (
                handshaking(i(), None),
                Event::HandshakeFailure {
                    reason: reason.clone(),
                },
                receiving(i(), K),
                Event::ReceiveFailure {
                    reason: reason.clone(),
                },
            )
        } else {
            (
                hs_reconnecting(i(), None, attempts, e2()),
                Event::HandshakeReconnectFailure {
                    reason: reason.clone(),
                },
                rx_reconnecting(i(), K, attempts, e2()),
                Event::ReceiveReconnectFailure {
                    reason: reason.clone(),
                },
            )
        };
        assert_eq!(
            decision_after(&ctx, hs_from, hs_event),
            expected,
            "handshake: {label}"
        );
        assert_eq!(
            decision_after(&ctx, rx_from, rx_event),
            expected,
            "receive: {label}"
        );
    }
}

#[test]
fn jitter_is_part_of_the_decision_and_reproducible() {
    use crate::retry::{Jitter, RetryConfig, RetryPolicy};
    let mut ctx = context(RetryConfig::new(RetryPolicy::Linear {
        delay: Duration::from_secs(1),
        max_retries: 10,
    }));
    ctx.jitter = Jitter::seeded(7);
    let failure = || Event::ReceiveFailure { reason: e2() };
    let first = decision_after(&ctx, receiving(i(), K), failure());
    assert_eq!(first, decision_after(&ctx, receiving(i(), K), failure()));
    let RetryDecision::Wait(delay) = first else {
        panic!("a transient failure is retried");
    };
    assert!(
        delay >= Duration::from_secs(1) && delay < Duration::from_secs(2),
        "{delay:?}"
    );
    // Another client (another seed) spreads its retries differently.
    let delays: std::collections::HashSet<RetryDecision> = (0..20)
        .map(|seed| {
            ctx.jitter = Jitter::seeded(seed);
            decision_after(&ctx, receiving(i(), K), failure())
        })
        .collect();
    assert!(delays.len() > 10, "{delays:?}");
}

#[test]
fn a_full_response_emits_request_message_count_exceeded_before_the_messages() {
    let mut ctx = crate::engine::Context {
        request_message_count_threshold: 2,
        ..crate::engine::Context::default()
    };
    let t = super::transition_with(
        &ctx,
        &receiving(i(), K),
        &Event::ReceiveSuccess {
            cursor: S,
            messages: m(),
        },
    )
    .expect("handled");
    assert_eq!(
        t.invocations,
        vec![
            CancelReceiveMessages,
            status(StatusCategory::RequestMessageCountExceeded, &i()),
            emit_messages(m(), S),
            receive(i(), S),
        ]
    );
    ctx.request_message_count_threshold = 3;
    let t = super::transition_with(
        &ctx,
        &receiving(i(), K),
        &Event::ReceiveSuccess {
            cursor: S,
            messages: m(),
        },
    )
    .expect("handled");
    assert_eq!(
        names(&t.invocations),
        [
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_MESSAGES",
            "RECEIVE_MESSAGES"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Gap fill (ENGINE.md §1.6): with a page budget in the context, an answer that reaches the
// threshold is held in FillingGap while history is read, then delivered after what was
// recovered; anything that stops the fill leaves the loop where the answer was polled from.

/// A context with gap fill on (3 pages) and a threshold of 2, the size of `m`.
fn gap_context() -> crate::engine::Context {
    crate::engine::Context {
        request_message_count_threshold: 2,
        gap_fill_max_pages: Some(3),
        ..crate::engine::Context::default()
    }
}

/// `a`'s range in `m` polled from `k` with input `I`: `k` to its first message (`…150`).
/// `b-pnpres` has no history, so it is the only one.
fn range_a() -> GapRange {
    GapRange {
        channel: "a".into(),
        subscription: "a".into(),
        after: K.timetoken,
        before: 17_000_000_000_000_150,
    }
}

/// `a`'s range once its newest page said the next one starts at `before`.
fn range_a_to(before: u64) -> GapRange {
    GapRange {
        before,
        ..range_a()
    }
}

/// A second range, of `d` in the group `g1`, for states built by hand (`m` has nothing of
/// `d`): the machine reads the ranges its state holds, it does not recompute them.
fn range_d() -> GapRange {
    GapRange {
        channel: "d".into(),
        subscription: "g1".into(),
        after: K.timetoken,
        before: 17_000_000_000_000_170,
    }
}

/// Where `a`'s newest page says its next page starts: strictly inside `range_a()`.
const MORE: u64 = 17_000_000_000_000_130;

/// FillingGap{I, k, s, m} with `ranges` left to read, `pages_left` in the budget, and what
/// was `recovered` so far.
fn filling_at(
    input: Input,
    ranges: Vec<GapRange>,
    pages_left: u32,
    recovered: Vec<Envelope>,
) -> State {
    State::FillingGap {
        input,
        from: K,
        cursor: S,
        messages: m(),
        ranges: ranges.into(),
        pages_left,
        recovered: recovered.into(),
    }
}

/// FillingGap as RECEIVE_SUCCESS(s, m) enters it from Receiving{I, k} in `gap_context()`.
fn filling(input: Input) -> State {
    filling_at(input, vec![range_a()], 3, vec![])
}

fn fill_gap(range: GapRange) -> Invocation {
    Invocation::FillGap { range }
}

fn page(recovered: Vec<Envelope>, more: Option<u64>) -> Event {
    Event::GapFillPage {
        recovered: recovered.into(),
        more,
    }
}

fn recovered(channel: &str, timetoken: u64) -> Envelope {
    Envelope {
        recovered: true,
        ..envelope(channel, timetoken, json!("old"))
    }
}

/// Recovered messages of `a` and `d`, by the last digits of their timetokens.
fn a_(tail: u64) -> Envelope {
    recovered("a", 17_000_000_000_000_000 + tail)
}

fn d_(tail: u64) -> Envelope {
    Envelope {
        subscription: "g1".into(),
        ..recovered("d", 17_000_000_000_000_000 + tail)
    }
}

/// EMIT_MESSAGES(`first` ++ m, s): what the fill recovered, then the answer.
fn emit_after(first: Vec<Envelope>) -> Invocation {
    emit_messages(first.into_iter().chain(m().iter().cloned()).collect(), S)
}

fn not_recovered(channels: &[&str], reason: Reason) -> Invocation {
    Invocation::EmitStatus(Status {
        category: StatusCategory::MessagesNotRecovered,
        error: Some(reason),
        channels: channels.iter().map(|c| c.to_string()).collect(),
        groups: vec![],
    })
}

/// MessagesNotRecovered for what the budget left of `channels`, `ranges` as the status says.
fn unread(channels: &[&str], ranges: &str) -> Invocation {
    not_recovered(
        channels,
        Reason::new(
            ErrorKind::NotRecovered,
            format!("not recovered from history: {ranges}"),
        ),
    )
}

/// What gap fill reports of `i()`'s group: it cannot be read from history.
fn group_uncovered() -> Invocation {
    Invocation::EmitStatus(Status {
        category: StatusCategory::MessagesNotRecovered,
        error: Some(Reason::new(
            ErrorKind::NotRecovered,
            "not read from history (channel groups and wildcards cannot be): g1",
        )),
        channels: vec![],
        groups: vec!["g1".into()],
    })
}

/// The end of a fill: CANCEL_FILL_GAP, `first` then `m`, what was `reported`, the group's
/// status, and the long-poll from `s`.
fn end(first: Vec<Envelope>, reported: Option<Invocation>) -> Vec<Invocation> {
    let mut out = vec![Invocation::CancelFillGap, emit_after(first)];
    out.extend(reported);
    out.extend([group_uncovered(), receive(i(), S)]);
    out
}

fn gap_table() -> Vec<Row> {
    use Invocation::*;
    use StatusCategory::*;
    let a_k_130 = "a (17000000000000100, 17000000000000130)";
    let d_k_170 = "d (17000000000000100, 17000000000000170)";
    vec![
        row(
            "Receiving{I,k} --RECEIVE_SUCCESS(s, m), |m| ≥ threshold--> FillingGap{I, k, s, m, \
             [a], 3, []}: FILL_GAP(a)",
            receiving(i(), K),
            Event::ReceiveSuccess {
                cursor: S,
                messages: m(),
            },
            filling(i()),
            vec![
                CancelReceiveMessages,
                status(RequestMessageCountExceeded, &i()),
                fill_gap(range_a()),
            ],
        ),
        // The same range's next page.
        row(
            "FillingGap{[a], 3, []} --GAP_FILL_PAGE(r, more inside a)--> FillingGap{[a to \
             more], 2, r}: FILL_GAP(a to more)",
            filling(i()),
            page(vec![a_(140)], Some(MORE)),
            filling_at(i(), vec![range_a_to(MORE)], 2, vec![a_(140)]),
            vec![CancelFillGap, fill_gap(range_a_to(MORE))],
        ),
        // A cursor that does not move the range down ends it: no page is read twice.
        row(
            "FillingGap{[a], 3, []} --GAP_FILL_PAGE(r, more = a's newer bound)--> Receiving{I, \
             s}: the range is done",
            filling(i()),
            page(vec![a_(140)], Some(range_a().before)),
            receiving(i(), S),
            end(vec![a_(140)], None),
        ),
        row(
            "FillingGap{[a], 3, []} --GAP_FILL_PAGE(r, more newer than a)--> Receiving{I, s}",
            filling(i()),
            page(vec![a_(140)], Some(17_000_000_000_000_160)),
            receiving(i(), S),
            end(vec![a_(140)], None),
        ),
        row(
            "FillingGap{[a], 3, []} --GAP_FILL_PAGE(r, more right after k)--> Receiving{I, s}: \
             nothing can be older",
            filling(i()),
            page(vec![a_(140)], Some(K.timetoken + 1)),
            receiving(i(), S),
            end(vec![a_(140)], None),
        ),
        // The next range.
        row(
            "FillingGap{[a, d], 3, []} --GAP_FILL_PAGE(r, no more)--> FillingGap{[d], 2, r}: \
             FILL_GAP(d)",
            filling_at(i(), vec![range_a(), range_d()], 3, vec![]),
            page(vec![a_(140)], None),
            filling_at(i(), vec![range_d()], 2, vec![a_(140)]),
            vec![CancelFillGap, fill_gap(range_d())],
        ),
        row(
            "FillingGap{[a to more, d], 2, r} --GAP_FILL_PAGE(r', more = a's new bound)--> \
             FillingGap{[d], 1, r ++ r'}",
            filling_at(i(), vec![range_a_to(MORE), range_d()], 2, vec![a_(140)]),
            page(vec![a_(120)], Some(MORE)),
            filling_at(i(), vec![range_d()], 1, vec![a_(140), a_(120)]),
            vec![CancelFillGap, fill_gap(range_d())],
        ),
        // The budget is spent.
        row(
            "FillingGap{[a], 1, []} --GAP_FILL_PAGE(r, more inside a)--> Receiving{I, s}: r \
             then m, MessagesNotRecovered(a to more)",
            filling_at(i(), vec![range_a()], 1, vec![]),
            page(vec![a_(140)], Some(MORE)),
            receiving(i(), S),
            end(vec![a_(140)], Some(unread(&["a"], a_k_130))),
        ),
        row(
            "FillingGap{[a, d], 1, []} --GAP_FILL_PAGE(r, no more)--> Receiving{I, s}: r then \
             m, MessagesNotRecovered(d, untouched)",
            filling_at(i(), vec![range_a(), range_d()], 1, vec![]),
            page(vec![a_(140)], None),
            receiving(i(), S),
            end(vec![a_(140)], Some(unread(&["d"], d_k_170))),
        ),
        row(
            "FillingGap{[a, d], 1, []} --GAP_FILL_PAGE(r, more inside a)--> Receiving{I, s}: \
             MessagesNotRecovered(a to more, d)",
            filling_at(i(), vec![range_a(), range_d()], 1, vec![]),
            page(vec![a_(140)], Some(MORE)),
            receiving(i(), S),
            end(
                vec![a_(140)],
                Some(unread(&["a", "d"], &format!("{a_k_130}, {d_k_170}"))),
            ),
        ),
        // The last page: everything recovered, in timetoken order, each once, then m.
        row(
            "FillingGap{[d], 2, r} --GAP_FILL_PAGE(r', no more)--> Receiving{I, s}: r ++ r' in \
             timetoken order, then m",
            filling_at(i(), vec![range_d()], 2, vec![a_(140), a_(120)]),
            page(vec![d_(130), d_(110)], None),
            receiving(i(), S),
            end(vec![d_(110), a_(120), d_(130), a_(140)], None),
        ),
        row(
            "FillingGap{[a to more], 2, r} --GAP_FILL_PAGE(r' with r's message again)--> \
             Receiving{I, s}: each message once",
            filling_at(i(), vec![range_a_to(MORE)], 2, vec![a_(140)]),
            page(vec![a_(120), a_(140)], None),
            receiving(i(), S),
            end(vec![a_(120), a_(140)], None),
        ),
        // A page that cannot be read ends the fill with what was recovered.
        row(
            "FillingGap{[a], 3, []} --GAP_FILL_FAILURE(e)--> Receiving{I, s}: m, \
             MessagesNotRecovered(a, e)",
            filling(i()),
            Event::GapFillFailure { reason: e() },
            receiving(i(), S),
            end(vec![], Some(not_recovered(&["a"], e()))),
        ),
        row(
            "FillingGap{[a to more, d], 2, r} --GAP_FILL_FAILURE(e)--> Receiving{I, s}: r then \
             m, MessagesNotRecovered(a, d, e)",
            filling_at(i(), vec![range_a_to(MORE), range_d()], 2, vec![a_(140)]),
            Event::GapFillFailure { reason: e() },
            receiving(i(), S),
            end(vec![a_(140)], Some(not_recovered(&["a", "d"], e()))),
        ),
        // Anything else that stops the fill: back to `k`, `m` (and what was recovered)
        // undelivered, polled again.
        row(
            "FillingGap --SUBSCRIPTION_CHANGED(I')--> Receiving{I', k}: m undelivered, polled again",
            filling(i()),
            changed(i2()),
            receiving(i2(), K),
            vec![
                CancelFillGap,
                status(SubscriptionChanged, &i2()),
                receive(i2(), K),
            ],
        ),
        row(
            "FillingGap --SUBSCRIPTION_RESTORED(I', o)--> Receiving{I', o}",
            filling(i()),
            restored(i2(), O),
            receiving(i2(), O),
            vec![
                CancelFillGap,
                status(SubscriptionChanged, &i2()),
                receive(i2(), O),
            ],
        ),
        row(
            "FillingGap --RECONNECT(r)--> Handshaking{I, Some(r)}",
            filling(i()),
            reconnect(Some(R)),
            handshaking(i(), Some(R)),
            vec![CancelFillGap, handshake(i(), Some(R))],
        ),
        row(
            "FillingGap --DISCONNECT--> ReceiveStopped{I, k}",
            filling(i()),
            Event::Disconnect,
            State::ReceiveStopped {
                input: i(),
                cursor: K,
            },
            vec![CancelFillGap, status(Disconnected, &i())],
        ),
        row(
            "FillingGap{[a to more, d], 2, r} --DISCONNECT--> ReceiveStopped{I, k}: r is \
             dropped with m, read again after the next poll from k",
            filling_at(i(), vec![range_a_to(MORE), range_d()], 2, vec![a_(140)]),
            Event::Disconnect,
            State::ReceiveStopped {
                input: i(),
                cursor: K,
            },
            vec![CancelFillGap, status(Disconnected, &i())],
        ),
        row(
            "FillingGap --UNSUBSCRIBE_ALL--> Unsubscribed",
            filling(i()),
            Event::UnsubscribeAll,
            State::Unsubscribed,
            vec![CancelFillGap, status(Disconnected, &i())],
        ),
    ]
}

#[test]
fn every_row_of_the_gap_fill_table() {
    let context = gap_context();
    crate::engine::checks::check_rows(&context, &gap_table());
    // FillingGap ignores what belongs to other states.
    for event in [
        Event::HandshakeSuccess { cursor: S },
        Event::ReceiveFailure { reason: e() },
        reconnect(None),
    ] {
        assert!(super::transition_with(&context, &filling(i()), &event).is_none());
    }
}

/// Receiving{I, k} --RECEIVE_SUCCESS(s, m)--> with `m` at the threshold and this page budget.
fn full_answer_with(
    gap_fill_max_pages: Option<u32>,
) -> crate::engine::Transition<State, Invocation> {
    let context = crate::engine::Context {
        gap_fill_max_pages,
        ..gap_context()
    };
    super::transition_with(
        &context,
        &receiving(i(), K),
        &Event::ReceiveSuccess {
            cursor: S,
            messages: m(),
        },
    )
    .expect("handled")
}

#[test]
fn without_gap_fill_a_full_answer_is_delivered_at_once() {
    assert_eq!(full_answer_with(None).state, receiving(i(), S));
}

#[test]
fn a_budget_of_no_pages_reports_every_range_at_once() {
    // The configuration refuses it; the machine still ends the fill before it starts.
    let t = full_answer_with(Some(0));
    assert_eq!(t.state, receiving(i(), S));
    let mut expected = vec![
        Invocation::CancelReceiveMessages,
        status(StatusCategory::RequestMessageCountExceeded, &i()),
    ];
    expected.extend(end(
        vec![],
        Some(unread(&["a"], "a (17000000000000100, 17000000000000150)")),
    ));
    // No FillingGap was entered or left: no CANCEL_FILL_GAP.
    expected.retain(|i| *i != Invocation::CancelFillGap);
    assert_eq!(t.invocations, expected);
}

#[test]
fn a_fill_ends_within_its_budget_whatever_history_answers() {
    // History that always says there is more, one timetoken down: the budget ends the fill.
    let context = gap_context();
    let mut state = filling(i());
    let mut pages = 0;
    while let State::FillingGap { ref ranges, .. } = state {
        pages += 1;
        let event = page(vec![], Some(ranges[0].before - 1));
        state = super::transition_with(&context, &state, &event)
            .expect("handled")
            .state;
        assert!(pages <= 3, "more pages than the budget");
    }
    assert_eq!(pages, 3);
    assert_eq!(state, receiving(i(), S));
}

#[test]
fn gap_ranges_cover_each_channel_up_to_its_first_event_and_idle_channels_up_to_the_cursor() {
    use super::gap_ranges;
    let from = Cursor::new(100, 1);
    let cursor = Cursor::new(500, 1);
    let mut in_group = envelope("x", 300, json!(1));
    in_group.subscription = "g1".into();
    let presence = envelope("a-pnpres", 120, json!({}));
    let answer = vec![
        envelope("a", 250, json!(1)),
        envelope("a", 200, json!(1)),
        in_group,
        presence,
        envelope("b", 101, json!(1)),
    ];
    let input = Input::new(["a", "b", "idle", "w.*", "idle-pnpres"], ["g1"]);
    let range = |channel: &str, subscription: &str, before| GapRange {
        channel: channel.into(),
        subscription: subscription.into(),
        after: 100,
        before,
    };
    assert_eq!(
        gap_ranges(&input, from, cursor, &answer),
        vec![
            range("a", "a", 200),
            // `b`'s first event is right after `from`: nothing can be missing.
            range("idle", "idle", 501),
            range("x", "g1", 300),
        ]
    );
    assert!(gap_ranges(
        &Input::new(["p-pnpres"], [] as [&str; 0]),
        from,
        cursor,
        &[]
    )
    .is_empty());
}

//! The subscribe engine as a pure function: `transition(&State, &Event) -> Option<Transition>`.
//!
//! It runs PubNub's subscribe loop: a handshake (`tt=0`) that yields a cursor, then long-polls
//! from that cursor, each returning messages and the next cursor. Failures go through the retry
//! policy in the `*Reconnecting` states and end in the `*Failed` states when it gives up;
//! `disconnect()` parks the loop in the `*Stopped` states. This module performs no I/O and reads
//! no clock: the driver runs what the invocations ask for. The specification's transition table
//! (ENGINE.md §1) is the contract, and every row of it is a row of this module's tests.
//!
#![doc = concat!(
    "<div style=\"overflow-x: auto\">\n",
    include_str!("../../state-diagrams/subscribe.svg"),
    "</div>"
)]
//!
//! The diagram is generated from [`transition`] itself by `cargo run --example state_diagrams`
//! (`state-diagrams/subscribe.svg`, with its Mermaid and DOT sources beside it), and a test
//! fails while the committed files are stale. Each arrow carries the events that take it; events
//! a state ignores have no arrow. [`diagram::render_trace`](crate::diagram::render_trace) draws
//! the path of a recorded trace onto it.
//!
//! Decisions are the machine's: entering a reconnecting state, it asks the retry policy of its
//! [`Context`] whether and when to retry, and the decision travels in the entry invocation
//! (`retry`); the effect only sleeps and sends, or reports the give-up at once. The message-count
//! threshold is in the context too, so `RequestMessageCountExceeded` is one of its invocations.
//!
//! Deliberate differences from PubNub's SDKs:
//! - the cursor survives every subscription change (Python resets it and loses messages);
//! - the receive loop's reconnect proves the network is back with a handshake, which the service
//!   answers at once, so `Reconnected` comes when the retry delay ends even on an idle channel; the
//!   long-poll then resumes from the kept cursor, so what was published during the outage arrives
//!   once (Python re-reads from the old cursor after a long-poll and delivers duplicates);
//! - a failed handshake is reported at once (`UnexpectedDisconnect`), unless the machine gives up
//!   at once (then `ConnectionError` says it);
//! - one outage tells one story: a subscription change during an outage keeps it open (`outage`
//!   in Handshaking and Receiving), so no second `UnexpectedDisconnect` is emitted and the next
//!   answer says `Reconnected`;
//! - network errors and timeouts are retried (the official Rust crate stops for good);
//! - RECONNECT during a reconnecting state skips the remaining back-off;
//! - a SUBSCRIPTION_RESTORED with an empty input is treated like UNSUBSCRIBE_ALL, as
//!   SUBSCRIPTION_CHANGED is (the table does not list it; an empty loop cannot be restored).

use std::sync::Arc;
use std::time::Duration;

use crate::engine::{compose, Context, Cursor, Input, Lifecycle, Machine, Transition};
use crate::error::{ErrorKind, Reason};
use crate::retry::{Endpoint, RetryDecision};
use crate::status::{Status, StatusCategory};
use crate::subscribe::envelope::{Envelope, EnvelopeKind};

/// The messages of one subscribe response, shared rather than copied between event and invocation.
pub type Messages = Arc<[Envelope]>;

/// The states of the subscribe engine (ENGINE.md §1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Nothing subscribed.
    Unsubscribed,
    /// A handshake is in flight.
    Handshaking {
        /// Channels and groups.
        input: Input,
        /// Catch-up cursor: a user timetoken or the cursor of an earlier receive loop.
        cursor: Option<Cursor>,
        /// The app was told of an outage that has not ended (the loop was reconnecting when
        /// the subscription changed): a failure is not reported a second time.
        outage: bool,
    },
    /// The handshake failed and is being retried.
    HandshakeReconnecting {
        /// Channels and groups.
        input: Input,
        /// Catch-up cursor.
        cursor: Option<Cursor>,
        /// Retry attempt, starting at 1.
        attempts: u32,
        /// The last failure.
        reason: Reason,
    },
    /// Disconnected on purpose before the handshake completed.
    HandshakeStopped {
        /// Channels and groups.
        input: Input,
        /// Catch-up cursor.
        cursor: Option<Cursor>,
    },
    /// Handshake retries were given up.
    HandshakeFailed {
        /// Channels and groups.
        input: Input,
        /// Catch-up cursor.
        cursor: Option<Cursor>,
        /// Why.
        reason: Reason,
    },
    /// The long-poll loop runs.
    Receiving {
        /// Channels and groups.
        input: Input,
        /// Where the next long-poll starts.
        cursor: Cursor,
        /// The app was told of an outage that has not ended (the loop was reconnecting when
        /// the subscription changed): the next answer reports `Reconnected`, and a failure is
        /// not reported a second time.
        outage: bool,
        /// The last long-poll was silent for the liveness interval: the next one first proves
        /// that the network answers (a handshake of the same input).
        probe: bool,
    },
    /// A long-poll failed and is being retried.
    ReceiveReconnecting {
        /// Channels and groups.
        input: Input,
        /// Where the next long-poll starts.
        cursor: Cursor,
        /// Retry attempt, starting at 1.
        attempts: u32,
        /// The last failure.
        reason: Reason,
    },
    /// Disconnected on purpose while receiving.
    ReceiveStopped {
        /// Channels and groups.
        input: Input,
        /// Where to resume.
        cursor: Cursor,
    },
    /// Receive retries were given up.
    ReceiveFailed {
        /// Channels and groups.
        input: Input,
        /// Where to resume.
        cursor: Cursor,
        /// Why.
        reason: Reason,
    },
    /// Gap fill: an answer reached the message-count threshold, so the service's queue may
    /// have dropped messages between `from` and the answer's; they are being read from
    /// history, one page at a time, before the answer is delivered. The machine decides after
    /// each page what comes next (ENGINE.md §1.6). Anything that stops the fill goes back to
    /// `from` with the answer (and what was recovered) undelivered: the next long-poll from
    /// there gets it again.
    FillingGap {
        /// Channels and groups.
        input: Input,
        /// The cursor the answer was polled from.
        from: Cursor,
        /// The answer's cursor: where the loop goes on.
        cursor: Cursor,
        /// The answer, delivered after what the fill recovers.
        messages: Messages,
        /// What is left to read, never empty: the page being read is the newest of the first
        /// range (whose `before` moves down as its pages are read).
        ranges: Arc<[GapRange]>,
        /// The pages the budget has left, the one being read included (at least 1).
        pages_left: u32,
        /// What the pages read so far recovered, in reading order.
        recovered: Messages,
    },
}

/// The events of the subscribe engine (ENGINE.md §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The full new input; an empty one means UNSUBSCRIBE_ALL.
    SubscriptionChanged {
        /// The new channels and groups.
        input: Input,
    },
    /// The full new input and a cursor to catch up from.
    SubscriptionRestored {
        /// The new channels and groups.
        input: Input,
        /// Where to catch up from.
        cursor: Cursor,
    },
    /// The handshake returned a cursor.
    HandshakeSuccess {
        /// The cursor to receive from.
        cursor: Cursor,
    },
    /// The handshake failed.
    HandshakeFailure {
        /// Why.
        reason: Reason,
    },
    /// A handshake retry succeeded.
    HandshakeReconnectSuccess {
        /// The cursor to receive from.
        cursor: Cursor,
    },
    /// A handshake retry failed.
    HandshakeReconnectFailure {
        /// Why.
        reason: Reason,
    },
    /// The retry policy gave up the handshake.
    HandshakeReconnectGiveup {
        /// The last failure.
        reason: Reason,
    },
    /// A long-poll returned.
    ReceiveSuccess {
        /// The server's next cursor.
        cursor: Cursor,
        /// What it delivered.
        messages: Messages,
    },
    /// A long-poll failed.
    ReceiveFailure {
        /// Why.
        reason: Reason,
    },
    /// A long-poll stayed silent for the liveness interval the machine asked for
    /// ([`Context::long_poll_liveness`]): a silent network and an idle channel look the same.
    LongPollSilent,
    /// The loop receives again: the reconnect's long-poll from the kept cursor answered.
    ReceiveReconnectSuccess {
        /// The server's next cursor, as the long-poll answered it.
        cursor: Cursor,
        /// What it delivered: what was published since the kept cursor.
        messages: Messages,
    },
    /// A long-poll retry failed.
    ReceiveReconnectFailure {
        /// Why.
        reason: Reason,
    },
    /// The retry policy gave up the long-poll.
    ReceiveReconnectGiveup {
        /// The last failure.
        reason: Reason,
    },
    /// Stop on purpose, keeping the input and cursor.
    Disconnect,
    /// Start again, optionally from a given cursor.
    Reconnect {
        /// Where to resume instead of the kept cursor.
        cursor: Option<Cursor>,
    },
    /// Leave everything.
    UnsubscribeAll,
    /// Gap fill read one page of history: the newest page of the range it was asked for.
    GapFillPage {
        /// The page's messages within the range, marked recovered.
        recovered: Messages,
        /// Where the channel's next (older) page starts, as history's answer says (`more`),
        /// if it has one. The machine decides whether to follow it.
        more: Option<u64>,
    },
    /// Gap fill could not read a page of history (after the client's retry policy).
    GapFillFailure {
        /// Why.
        reason: Reason,
    },
}

/// A range of one channel that gap fill reads from history: the messages published after
/// `after` and before `before` (both exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapRange {
    /// The channel.
    pub channel: String,
    /// The subscription its messages matched (`b`): recovered messages are routed by it.
    pub subscription: String,
    /// The older bound, exclusive: the cursor the answer was polled from.
    pub after: u64,
    /// The newer bound, exclusive: the channel's first message in the answer, or just past
    /// the answer's cursor for a channel the answer has nothing of.
    pub before: u64,
}

/// `a (17…1, 17…9)`: the channel and its bounds, as traces and statuses show a range.
impl std::fmt::Display for GapRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {})", self.channel, self.after, self.before)
    }
}

/// What the subscribe engine asks the driver to do (ENGINE.md §1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invocation {
    /// Managed: the handshake request.
    Handshake {
        /// Channels and groups.
        input: Input,
        /// Catch-up cursor whose timetoken replaces the server's.
        cursor: Option<Cursor>,
    },
    /// Managed: wait as the machine decided, then the handshake request; or report
    /// HANDSHAKE_RECONNECT_GIVEUP at once when it decided to give up.
    HandshakeReconnect {
        /// Channels and groups.
        input: Input,
        /// Catch-up cursor.
        cursor: Option<Cursor>,
        /// Retry attempt, starting at 1.
        attempts: u32,
        /// The last failure.
        reason: Reason,
        /// The machine's decision: how long to wait, or give up.
        retry: RetryDecision,
    },
    /// Managed: the long-poll. With `liveness`, a long-poll silent that long is dropped and
    /// LONG_POLL_SILENT reported; with `probe`, a handshake of the same input (answered at
    /// once) goes first, and its failure is the long-poll's.
    ReceiveMessages {
        /// Channels and groups.
        input: Input,
        /// Where to poll from.
        cursor: Cursor,
        /// How long the long-poll may stay silent before the machine hears of it.
        liveness: Option<Duration>,
        /// Prove the network answers before polling.
        probe: bool,
    },
    /// Managed: wait as the machine decided, then a request the service answers at once (a
    /// handshake of the same input) that proves the network is back, then the long-poll from
    /// the kept cursor: its answer is RECEIVE_RECONNECT_SUCCESS, its failure (or the probe's)
    /// RECEIVE_RECONNECT_FAILURE, and a long-poll still held after `settle` LONG_POLL_SILENT
    /// (the service keeps it open: an idle channel). Or report RECEIVE_RECONNECT_GIVEUP at once
    /// when the machine decided to give up.
    ReceiveReconnect {
        /// Channels and groups.
        input: Input,
        /// Where the long-poll resumes once the network is back.
        cursor: Cursor,
        /// Retry attempt, starting at 1.
        attempts: u32,
        /// The last failure.
        reason: Reason,
        /// The machine's decision: how long to wait, or give up.
        retry: RetryDecision,
        /// How long the long-poll must be held, after the probe, to count as served.
        settle: Duration,
    },
    /// Cancel the running handshake.
    CancelHandshake,
    /// Cancel the running handshake retry.
    CancelHandshakeReconnect,
    /// Cancel the running long-poll.
    CancelReceiveMessages,
    /// Cancel the running long-poll retry.
    CancelReceiveReconnect,
    /// Immediate: deliver a status.
    EmitStatus(Status),
    /// Managed: read one page of history, the newest of `range`, and report GAP_FILL_PAGE
    /// (or GAP_FILL_FAILURE). The machine decides what is read next.
    FillGap {
        /// The range to read a page of.
        range: GapRange,
    },
    /// Cancel the running gap fill.
    CancelFillGap,
    /// Immediate: route messages to the subscriptions they match.
    EmitMessages {
        /// The messages, in response order.
        messages: Messages,
        /// The cursor after them.
        cursor: Cursor,
    },
}

impl State {
    /// The trace name of the state.
    pub fn name(&self) -> &'static str {
        match self {
            State::Unsubscribed => "Unsubscribed",
            State::Handshaking { .. } => "Handshaking",
            State::HandshakeReconnecting { .. } => "HandshakeReconnecting",
            State::HandshakeStopped { .. } => "HandshakeStopped",
            State::HandshakeFailed { .. } => "HandshakeFailed",
            State::Receiving { .. } => "Receiving",
            State::ReceiveReconnecting { .. } => "ReceiveReconnecting",
            State::ReceiveStopped { .. } => "ReceiveStopped",
            State::ReceiveFailed { .. } => "ReceiveFailed",
            State::FillingGap { .. } => "FillingGap",
        }
    }

    /// The channels and groups of the state (empty when unsubscribed).
    pub fn input(&self) -> Option<&Input> {
        match self {
            State::Unsubscribed => None,
            State::Handshaking { input, .. }
            | State::HandshakeReconnecting { input, .. }
            | State::HandshakeStopped { input, .. }
            | State::HandshakeFailed { input, .. }
            | State::Receiving { input, .. }
            | State::ReceiveReconnecting { input, .. }
            | State::ReceiveStopped { input, .. }
            | State::ReceiveFailed { input, .. }
            | State::FillingGap { input, .. } => Some(input),
        }
    }

    /// The cursor the engine would resume from, if it has one.
    pub fn cursor(&self) -> Option<Cursor> {
        match self {
            State::Unsubscribed => None,
            State::Handshaking { cursor, .. }
            | State::HandshakeReconnecting { cursor, .. }
            | State::HandshakeStopped { cursor, .. }
            | State::HandshakeFailed { cursor, .. } => *cursor,
            State::Receiving { cursor, .. }
            | State::ReceiveReconnecting { cursor, .. }
            | State::ReceiveStopped { cursor, .. }
            | State::ReceiveFailed { cursor, .. } => Some(*cursor),
            // Until the answer is delivered, the loop resumes from where it polled it.
            State::FillingGap { from, .. } => Some(*from),
        }
    }
}

impl Event {
    /// The trace name of the event.
    pub fn name(&self) -> &'static str {
        match self {
            Event::SubscriptionChanged { .. } => "SUBSCRIPTION_CHANGED",
            Event::SubscriptionRestored { .. } => "SUBSCRIPTION_RESTORED",
            Event::HandshakeSuccess { .. } => "HANDSHAKE_SUCCESS",
            Event::HandshakeFailure { .. } => "HANDSHAKE_FAILURE",
            Event::HandshakeReconnectSuccess { .. } => "HANDSHAKE_RECONNECT_SUCCESS",
            Event::HandshakeReconnectFailure { .. } => "HANDSHAKE_RECONNECT_FAILURE",
            Event::HandshakeReconnectGiveup { .. } => "HANDSHAKE_RECONNECT_GIVEUP",
            Event::ReceiveSuccess { .. } => "RECEIVE_SUCCESS",
            Event::ReceiveFailure { .. } => "RECEIVE_FAILURE",
            Event::LongPollSilent => "LONG_POLL_SILENT",
            Event::ReceiveReconnectSuccess { .. } => "RECEIVE_RECONNECT_SUCCESS",
            Event::ReceiveReconnectFailure { .. } => "RECEIVE_RECONNECT_FAILURE",
            Event::ReceiveReconnectGiveup { .. } => "RECEIVE_RECONNECT_GIVEUP",
            Event::Disconnect => "DISCONNECT",
            Event::Reconnect { .. } => "RECONNECT",
            Event::UnsubscribeAll => "UNSUBSCRIBE_ALL",
            Event::GapFillPage { .. } => "GAP_FILL_PAGE",
            Event::GapFillFailure { .. } => "GAP_FILL_FAILURE",
        }
    }
}

impl Invocation {
    /// The trace name of the invocation.
    pub fn name(&self) -> &'static str {
        match self {
            Invocation::Handshake { .. } => "HANDSHAKE",
            Invocation::HandshakeReconnect { .. } => "HANDSHAKE_RECONNECT",
            Invocation::ReceiveMessages { .. } => "RECEIVE_MESSAGES",
            Invocation::ReceiveReconnect { .. } => "RECEIVE_RECONNECT",
            Invocation::CancelHandshake => "CANCEL_HANDSHAKE",
            Invocation::CancelHandshakeReconnect => "CANCEL_HANDSHAKE_RECONNECT",
            Invocation::CancelReceiveMessages => "CANCEL_RECEIVE_MESSAGES",
            Invocation::CancelReceiveReconnect => "CANCEL_RECEIVE_RECONNECT",
            Invocation::EmitStatus(_) => "EMIT_STATUS",
            Invocation::EmitMessages { .. } => "EMIT_MESSAGES",
            Invocation::FillGap { .. } => "FILL_GAP",
            Invocation::CancelFillGap => "CANCEL_FILL_GAP",
        }
    }

    /// How the driver treats this invocation.
    pub fn lifecycle(&self) -> Lifecycle {
        match self {
            Invocation::Handshake { .. } => Lifecycle::Managed("HANDSHAKE"),
            Invocation::HandshakeReconnect { .. } => Lifecycle::Managed("HANDSHAKE_RECONNECT"),
            Invocation::ReceiveMessages { .. } => Lifecycle::Managed("RECEIVE_MESSAGES"),
            Invocation::ReceiveReconnect { .. } => Lifecycle::Managed("RECEIVE_RECONNECT"),
            Invocation::CancelHandshake => Lifecycle::Cancel("HANDSHAKE"),
            Invocation::CancelHandshakeReconnect => Lifecycle::Cancel("HANDSHAKE_RECONNECT"),
            Invocation::CancelReceiveMessages => Lifecycle::Cancel("RECEIVE_MESSAGES"),
            Invocation::CancelReceiveReconnect => Lifecycle::Cancel("RECEIVE_RECONNECT"),
            Invocation::FillGap { .. } => Lifecycle::Managed("FILL_GAP"),
            Invocation::CancelFillGap => Lifecycle::Cancel("FILL_GAP"),
            Invocation::EmitStatus(_) | Invocation::EmitMessages { .. } => Lifecycle::Immediate,
        }
    }
}

fn status(category: StatusCategory, input: &Input) -> Invocation {
    Invocation::EmitStatus(Status::new(category, input))
}

/// The status that reports the start of an outage: its category names the cause.
fn outage_status(input: &Input, reason: &Reason) -> Invocation {
    let category = StatusCategory::of_outage(reason);
    Invocation::EmitStatus(Status::with_error(category, input, reason.clone()))
}

/// The status that reports the end of the loop: `AccessDenied`, `BadRequest` or
/// `ConnectionError`.
fn failure_status(input: &Input, reason: &Reason) -> Invocation {
    let category = StatusCategory::of_failure(reason);
    Invocation::EmitStatus(Status::with_error(category, input, reason.clone()))
}

fn handshaking(input: &Input, cursor: Option<Cursor>, outage: bool) -> State {
    State::Handshaking {
        input: input.clone(),
        cursor,
        outage,
    }
}

/// Where the loop goes on after a catch-up to `given` when it kept `kept`: back to `given`
/// when it is older, so the new subscription gets what it asked for (the others' listeners
/// drop what they already had); never forward, so no subscription skips anything. A
/// timetoken ahead of the kept cursor (or of the service's clock) does not move the loop: the
/// new subscription's listeners drop what is older than it (ENGINE.md §4.2).
fn catch_up(kept: Option<Cursor>, given: Cursor) -> Cursor {
    match kept {
        Some(kept) if kept.timetoken <= given.timetoken => kept,
        _ => given,
    }
}

/// The ranges an answer polled from `from` may be missing, one per channel: for a channel the
/// answer has events of, from `from` to its first one; for each subscribed channel it has
/// nothing of, from `from` to past the answer's cursor. Presence channels, wildcards and
/// undecodable events have no history and no range. Empty ranges are left out.
pub fn gap_ranges(
    input: &Input,
    from: Cursor,
    cursor: Cursor,
    messages: &[Envelope],
) -> Vec<GapRange> {
    use std::collections::BTreeMap;
    let stored = |channel: &str| !channel.ends_with(crate::engine::PRESENCE_SUFFIX);
    let mut first: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
    for envelope in messages {
        if envelope.kind == EnvelopeKind::Undecodable || !stored(&envelope.channel) {
            continue;
        }
        let tt = envelope.published.timetoken;
        first
            .entry(envelope.channel.as_str())
            .and_modify(|(_, t)| *t = (*t).min(tt))
            .or_insert((envelope.subscription.as_str(), tt));
    }
    for channel in input.channels.iter() {
        if stored(channel) && !channel.contains('*') {
            first
                .entry(channel)
                .or_insert((channel, cursor.timetoken.saturating_add(1)));
        }
    }
    first
        .into_iter()
        .filter(|(_, (_, before))| *before > from.timetoken.saturating_add(1))
        .map(|(channel, (subscription, before))| GapRange {
            channel: channel.to_owned(),
            subscription: subscription.to_owned(),
            after: from.timetoken,
            before,
        })
        .collect()
}

/// `a (17…1, 17…9), b (…)`: the ranges left unread.
fn describe(ranges: &[GapRange]) -> String {
    let list: Vec<String> = ranges.iter().map(GapRange::to_string).collect();
    format!("not recovered from history: {}", list.join(", "))
}

/// What gap fill holds whatever its progress: the answer and where it was polled from.
#[derive(Clone, Copy)]
struct Held<'a> {
    input: &'a Input,
    from: Cursor,
    cursor: Cursor,
    messages: &'a Messages,
}

impl<'a> Held<'a> {
    fn new(input: &'a Input, from: Cursor, cursor: Cursor, messages: &'a Messages) -> Self {
        Held {
            input,
            from,
            cursor,
            messages,
        }
    }
}

/// Gap fill's decision before each page: read the newest page of the first range left while
/// the budget has a page, else end the fill (what is left is reported unread).
fn fill(
    held: Held<'_>,
    ranges: Vec<GapRange>,
    pages_left: u32,
    recovered: Messages,
) -> (State, Vec<Invocation>) {
    if ranges.is_empty() || pages_left == 0 {
        let own = end_fill(held, &recovered, &ranges, None);
        return (receiving(held.input, held.cursor, false), own);
    }
    let state = State::FillingGap {
        input: held.input.clone(),
        from: held.from,
        cursor: held.cursor,
        messages: held.messages.clone(),
        ranges: ranges.into(),
        pages_left,
        recovered,
    };
    (state, vec![])
}

/// The ranges left after a page of `ranges[0]` that said `more`: the same range from `more`
/// when it is strictly inside it (a cursor that does not move the range down ends it, so a
/// page is never read twice), then the others.
fn after_page(ranges: &[GapRange], more: Option<u64>) -> Vec<GapRange> {
    let Some((range, rest)) = ranges.split_first() else {
        return Vec::new();
    };
    let mut left = Vec::with_capacity(ranges.len());
    match more {
        Some(next) if next < range.before && next > range.after.saturating_add(1) => {
            left.push(GapRange {
                before: next,
                ..range.clone()
            })
        }
        _ => {}
    }
    left.extend_from_slice(rest);
    left
}

/// The end of a fill: what was recovered (in timetoken order, each once), then the answer;
/// MessagesNotRecovered for the ranges left `unread` (with the failure's reason, else one
/// that names them), and for what history cannot be read for.
fn end_fill(
    held: Held<'_>,
    recovered: &[Envelope],
    unread: &[GapRange],
    failure: Option<&Reason>,
) -> Vec<Invocation> {
    let mut recovered = recovered.to_vec();
    recovered.sort_by_key(|e| e.published.timetoken);
    recovered.dedup_by(|a, b| a.channel == b.channel && a.published == b.published);
    let all: Messages = recovered
        .into_iter()
        .chain(held.messages.iter().cloned())
        .collect();
    let mut own = vec![Invocation::EmitMessages {
        messages: all,
        cursor: held.cursor,
    }];
    if !unread.is_empty() {
        let reason = match failure {
            Some(reason) => reason.clone(),
            None => Reason::new(ErrorKind::NotRecovered, describe(unread)),
        };
        own.push(not_recovered(unread, reason));
    }
    own.extend(uncovered(held.input));
    own
}

/// MessagesNotRecovered for what gap fill cannot read at all: the subscribed groups and
/// wildcards (history is read per channel, and the queue's limit covers them too), if any.
fn uncovered(input: &Input) -> Option<Invocation> {
    let stored = |name: &&String| !name.ends_with(crate::engine::PRESENCE_SUFFIX);
    let wildcards: Vec<String> = input
        .channels
        .iter()
        .filter(stored)
        .filter(|c| c.contains('*'))
        .cloned()
        .collect();
    let groups: Vec<String> = input.groups.iter().filter(stored).cloned().collect();
    if wildcards.is_empty() && groups.is_empty() {
        return None;
    }
    let names: Vec<&str> = wildcards
        .iter()
        .chain(&groups)
        .map(String::as_str)
        .collect();
    let reason = Reason::new(
        ErrorKind::NotRecovered,
        format!(
            "not read from history (channel groups and wildcards cannot be): {}",
            names.join(", ")
        ),
    );
    let mut status = Status::with_error(
        StatusCategory::MessagesNotRecovered,
        &Input::default(),
        reason,
    );
    status.channels = wildcards;
    status.groups = groups;
    Some(Invocation::EmitStatus(status))
}

/// MessagesNotRecovered for the channels of `ranges`.
fn not_recovered(ranges: &[GapRange], reason: Reason) -> Invocation {
    let mut status = Status::with_error(
        StatusCategory::MessagesNotRecovered,
        &Input::default(),
        reason,
    );
    status.channels = ranges.iter().map(|r| r.channel.clone()).collect();
    Invocation::EmitStatus(status)
}

/// Where the loop starts after a handshake the service answered with `server`: the catch-up
/// cursor when there is one and it is older, else the service's, always in the service's
/// region (ENGINE.md §1.3). A catch-up timetoken ahead of the service's clock does not move
/// the loop past what the service has: the subscription's listeners drop what is older than
/// it instead.
fn handshake_cursor(catch_up: Option<Cursor>, server: Cursor) -> Cursor {
    match catch_up {
        Some(c) if c.timetoken < server.timetoken => Cursor::new(c.timetoken, server.region),
        _ => server,
    }
}

/// How long a reconnect's long-poll from the kept cursor must be held by the service, after
/// the probe proved the network answers, to count as the loop receiving again (ENGINE.md
/// §1.4): a storm of failing long-polls answers within it, an idle channel does not.
pub const RECONNECT_SETTLE: Duration = Duration::from_secs(5);

/// What a long-poll's answer does in `input`'s loop polled from `from`: `Reconnected` first
/// when an outage is ending, the message-count threshold's status and, with gap fill on, a
/// fill of what the service's queue may have dropped; otherwise the messages, and the next
/// long-poll from `cursor`.
fn received(
    context: &Context,
    input: &Input,
    from: Cursor,
    cursor: Cursor,
    messages: &Messages,
    outage: bool,
) -> (State, Vec<Invocation>) {
    let mut own = Vec::with_capacity(3);
    if outage {
        // This answer is the proof that the loop receives again.
        own.push(status(StatusCategory::Reconnected, input));
    }
    if messages.len() >= context.request_message_count_threshold as usize {
        // The service's queue may have overflowed: older messages may be gone.
        own.push(status(StatusCategory::RequestMessageCountExceeded, input));
        // With gap fill on, read them from history before delivering the answer.
        if let Some(max_pages) = context.gap_fill_max_pages {
            let ranges = gap_ranges(input, from, cursor, messages);
            if !ranges.is_empty() {
                let held = Held::new(input, from, cursor, messages);
                let (to, then) = fill(held, ranges, max_pages, Arc::from(Vec::new()));
                own.extend(then);
                return (to, own);
            }
        }
    }
    own.push(Invocation::EmitMessages {
        messages: messages.clone(),
        cursor,
    });
    (receiving(input, cursor, false), own)
}

fn receiving(input: &Input, cursor: Cursor, outage: bool) -> State {
    State::Receiving {
        input: input.clone(),
        cursor,
        outage,
        probe: false,
    }
}

/// The subscribe engine's transition function (ENGINE.md §1.4) with the default [`Context`]
/// (the default retry policy without jitter): what the specification's tables use.
pub fn transition(state: &State, event: &Event) -> Option<Transition<State, Invocation>> {
    transition_with(&Context::default(), state, event)
}

/// The subscribe engine's transition function (ENGINE.md §1.4) in `context`: the retry
/// decisions of the reconnecting states and the message-count threshold come from it.
pub fn transition_with(
    context: &Context,
    state: &State,
    event: &Event,
) -> Option<Transition<State, Invocation>> {
    use State as S;
    let go = |to: State, own: Vec<Invocation>| {
        Some(compose::<SubscribeMachine>(context, state, to, own))
    };

    // An empty new input means "leave everything", whatever the state.
    let event = match event {
        Event::SubscriptionChanged { input } | Event::SubscriptionRestored { input, .. }
            if input.is_empty() =>
        {
            &Event::UnsubscribeAll
        }
        other => other,
    };

    match (state, event) {
        (S::Unsubscribed, Event::SubscriptionChanged { input }) => {
            go(handshaking(input, None, false), vec![])
        }
        (S::Unsubscribed, Event::SubscriptionRestored { input, cursor }) => {
            go(handshaking(input, Some(*cursor), false), vec![])
        }

        // Handshaking
        (S::Handshaking { cursor, outage, .. }, Event::SubscriptionChanged { input }) => {
            go(handshaking(input, *cursor, *outage), vec![])
        }
        (
            S::Handshaking {
                cursor: kept,
                outage,
                ..
            },
            Event::SubscriptionRestored { input, cursor },
        ) => go(
            handshaking(input, Some(catch_up(*kept, *cursor)), *outage),
            vec![],
        ),
        (
            S::Handshaking {
                input,
                cursor: catch_up,
                ..
            },
            Event::HandshakeSuccess { cursor },
        ) => go(
            receiving(input, handshake_cursor(*catch_up, *cursor), false),
            vec![status(StatusCategory::Connected, input)],
        ),
        (
            S::Handshaking {
                input,
                cursor,
                outage,
            },
            Event::HandshakeFailure { reason },
        ) => go(
            S::HandshakeReconnecting {
                input: input.clone(),
                cursor: *cursor,
                attempts: 1,
                reason: reason.clone(),
            },
            // The app learns at once that it is offline, and why, unless it knows already or
            // the failure is fatal (a 403, a 400: AccessDenied or BadRequest says it all). A
            // transient failure is told even when no retry follows (`RetryPolicy::None`): the
            // give-up's ConnectionError comes next.
            if !*outage && reason.kind.is_transient() {
                vec![outage_status(input, reason)]
            } else {
                vec![]
            },
        ),
        // `reconnect_from(tt)`: restart the handshake from `tt` (a plain reconnect while the
        // handshake is in flight has nothing to do).
        (
            S::Handshaking { input, outage, .. },
            Event::Reconnect {
                cursor: Some(given),
            },
        ) => go(handshaking(input, Some(*given), *outage), vec![]),
        (S::Handshaking { input, cursor, .. }, Event::Disconnect) => go(
            S::HandshakeStopped {
                input: input.clone(),
                cursor: *cursor,
            },
            vec![status(StatusCategory::Disconnected, input)],
        ),
        (S::Handshaking { input, .. }, Event::UnsubscribeAll) => go(
            S::Unsubscribed,
            vec![status(StatusCategory::Disconnected, input)],
        ),

        // HandshakeReconnecting
        (S::HandshakeReconnecting { cursor, .. }, Event::SubscriptionChanged { input }) => {
            go(handshaking(input, *cursor, true), vec![])
        }
        (
            S::HandshakeReconnecting { cursor: kept, .. },
            Event::SubscriptionRestored { input, cursor },
        ) => go(
            handshaking(input, Some(catch_up(*kept, *cursor)), true),
            vec![],
        ),
        (
            S::HandshakeReconnecting {
                input,
                cursor: catch_up,
                ..
            },
            Event::HandshakeReconnectSuccess { cursor },
        ) => go(
            receiving(input, handshake_cursor(*catch_up, *cursor), false),
            vec![status(StatusCategory::Connected, input)],
        ),
        (
            S::HandshakeReconnecting {
                input,
                cursor,
                attempts,
                ..
            },
            Event::HandshakeReconnectFailure { reason },
        ) => go(
            S::HandshakeReconnecting {
                input: input.clone(),
                cursor: *cursor,
                attempts: attempts.saturating_add(1),
                reason: reason.clone(),
            },
            vec![],
        ),
        (
            S::HandshakeReconnecting { input, cursor, .. },
            Event::HandshakeReconnectGiveup { reason },
        ) => go(
            S::HandshakeFailed {
                input: input.clone(),
                cursor: *cursor,
                reason: reason.clone(),
            },
            vec![failure_status(input, reason)],
        ),
        (S::HandshakeReconnecting { input, cursor, .. }, Event::Reconnect { cursor: given }) => {
            go(handshaking(input, given.or(*cursor), true), vec![])
        }
        (S::HandshakeReconnecting { input, cursor, .. }, Event::Disconnect) => go(
            S::HandshakeStopped {
                input: input.clone(),
                cursor: *cursor,
            },
            vec![status(StatusCategory::Disconnected, input)],
        ),
        (S::HandshakeReconnecting { input, .. }, Event::UnsubscribeAll) => go(
            S::Unsubscribed,
            vec![status(StatusCategory::Disconnected, input)],
        ),

        // HandshakeStopped
        (S::HandshakeStopped { cursor, .. }, Event::SubscriptionChanged { input }) => go(
            S::HandshakeStopped {
                input: input.clone(),
                cursor: *cursor,
            },
            vec![],
        ),
        (
            S::HandshakeStopped { cursor: kept, .. },
            Event::SubscriptionRestored { input, cursor },
        ) => go(
            S::HandshakeStopped {
                input: input.clone(),
                cursor: Some(catch_up(*kept, *cursor)),
            },
            vec![],
        ),
        (S::HandshakeStopped { input, cursor }, Event::Reconnect { cursor: given }) => {
            go(handshaking(input, given.or(*cursor), false), vec![])
        }
        (S::HandshakeStopped { .. }, Event::UnsubscribeAll) => go(S::Unsubscribed, vec![]),

        // HandshakeFailed
        (S::HandshakeFailed { cursor, .. }, Event::SubscriptionChanged { input }) => {
            go(handshaking(input, *cursor, false), vec![])
        }
        (
            S::HandshakeFailed { cursor: kept, .. },
            Event::SubscriptionRestored { input, cursor },
        ) => go(
            handshaking(input, Some(catch_up(*kept, *cursor)), false),
            vec![],
        ),
        (S::HandshakeFailed { input, cursor, .. }, Event::Reconnect { cursor: given }) => {
            go(handshaking(input, given.or(*cursor), false), vec![])
        }
        (S::HandshakeFailed { .. }, Event::UnsubscribeAll) => go(S::Unsubscribed, vec![]),

        // Receiving
        (S::Receiving { cursor, outage, .. }, Event::SubscriptionChanged { input }) => go(
            receiving(input, *cursor, *outage),
            vec![status(StatusCategory::SubscriptionChanged, input)],
        ),
        (
            S::Receiving {
                cursor: kept,
                outage,
                ..
            },
            Event::SubscriptionRestored { input, cursor },
        ) => go(
            receiving(input, catch_up(Some(*kept), *cursor), *outage),
            vec![status(StatusCategory::SubscriptionChanged, input)],
        ),
        (
            S::Receiving {
                input,
                cursor: from,
                outage,
                ..
            },
            Event::ReceiveSuccess { cursor, messages },
        ) => {
            // With `outage`, the loop was reconnecting when the subscription changed: this
            // answer ends the outage.
            let (to, own) = received(context, input, *from, *cursor, messages, *outage);
            go(to, own)
        }
        (
            S::Receiving {
                input,
                cursor,
                outage,
                ..
            },
            Event::ReceiveFailure { reason },
        ) => go(
            S::ReceiveReconnecting {
                input: input.clone(),
                cursor: *cursor,
                attempts: 1,
                reason: reason.clone(),
            },
            // As for a handshake: a fatal failure (a 403 from an expired or revoked token)
            // reports no outage, only the `AccessDenied` that ends the loop.
            if !*outage && reason.kind.is_transient() {
                vec![outage_status(input, reason)]
            } else {
                vec![]
            },
        ),
        // A long-poll silent for the liveness interval: a dead connection and an idle channel
        // look the same, so the next long-poll (from the same cursor, on a fresh request)
        // first proves that the network answers. Nothing is reported unless that fails.
        (
            S::Receiving {
                input,
                cursor,
                outage,
                ..
            },
            Event::LongPollSilent,
        ) => go(
            S::Receiving {
                input: input.clone(),
                cursor: *cursor,
                outage: *outage,
                probe: true,
            },
            vec![],
        ),
        // `reconnect_from(tt)` while receiving: the loop restarts from `tt` with a handshake;
        // every subscription receives what was published since (a plain reconnect while
        // receiving has nothing to do).
        (
            S::Receiving { input, outage, .. },
            Event::Reconnect {
                cursor: Some(given),
            },
        ) => go(handshaking(input, Some(*given), *outage), vec![]),
        (S::Receiving { input, cursor, .. }, Event::Disconnect) => go(
            S::ReceiveStopped {
                input: input.clone(),
                cursor: *cursor,
            },
            vec![status(StatusCategory::Disconnected, input)],
        ),
        (S::Receiving { input, .. }, Event::UnsubscribeAll) => go(
            S::Unsubscribed,
            vec![status(StatusCategory::Disconnected, input)],
        ),

        // ReceiveReconnecting
        // The outage goes on with the new input: the next answer says Reconnected.
        (S::ReceiveReconnecting { cursor, .. }, Event::SubscriptionChanged { input }) => go(
            receiving(input, *cursor, true),
            vec![status(StatusCategory::SubscriptionChanged, input)],
        ),
        (
            S::ReceiveReconnecting { cursor: kept, .. },
            Event::SubscriptionRestored { input, cursor },
        ) => go(
            receiving(input, catch_up(Some(*kept), *cursor), true),
            vec![status(StatusCategory::SubscriptionChanged, input)],
        ),
        // The long-poll from the kept cursor answered: the loop receives again, and what was
        // published during the outage arrives now, once, as any answer does.
        (
            S::ReceiveReconnecting {
                input,
                cursor: from,
                ..
            },
            Event::ReceiveReconnectSuccess { cursor, messages },
        ) => {
            let (to, own) = received(context, input, *from, *cursor, messages, true);
            go(to, own)
        }
        // The probe was answered and the service has held the long-poll from the kept cursor
        // for the settle time, as it holds one on an idle channel: the loop receives again.
        // The long-poll goes on from the same cursor.
        (S::ReceiveReconnecting { input, cursor, .. }, Event::LongPollSilent) => go(
            receiving(input, *cursor, false),
            vec![status(StatusCategory::Reconnected, input)],
        ),
        (
            S::ReceiveReconnecting {
                input,
                cursor,
                attempts,
                ..
            },
            Event::ReceiveReconnectFailure { reason },
        ) => go(
            S::ReceiveReconnecting {
                input: input.clone(),
                cursor: *cursor,
                attempts: attempts.saturating_add(1),
                reason: reason.clone(),
            },
            vec![],
        ),
        (
            S::ReceiveReconnecting { input, cursor, .. },
            Event::ReceiveReconnectGiveup { reason },
        ) => go(
            S::ReceiveFailed {
                input: input.clone(),
                cursor: *cursor,
                reason: reason.clone(),
            },
            vec![failure_status(input, reason)],
        ),
        (S::ReceiveReconnecting { input, cursor, .. }, Event::Reconnect { cursor: given }) => go(
            handshaking(input, Some(given.unwrap_or(*cursor)), true),
            vec![],
        ),
        (S::ReceiveReconnecting { input, cursor, .. }, Event::Disconnect) => go(
            S::ReceiveStopped {
                input: input.clone(),
                cursor: *cursor,
            },
            vec![status(StatusCategory::Disconnected, input)],
        ),
        (S::ReceiveReconnecting { input, .. }, Event::UnsubscribeAll) => go(
            S::Unsubscribed,
            vec![status(StatusCategory::Disconnected, input)],
        ),

        // ReceiveStopped
        (S::ReceiveStopped { cursor, .. }, Event::SubscriptionChanged { input }) => go(
            S::ReceiveStopped {
                input: input.clone(),
                cursor: *cursor,
            },
            vec![],
        ),
        (S::ReceiveStopped { cursor: kept, .. }, Event::SubscriptionRestored { input, cursor }) => {
            go(
                S::ReceiveStopped {
                    input: input.clone(),
                    cursor: catch_up(Some(*kept), *cursor),
                },
                vec![],
            )
        }
        (S::ReceiveStopped { input, cursor }, Event::Reconnect { cursor: given }) => go(
            handshaking(input, Some(given.unwrap_or(*cursor)), false),
            vec![],
        ),
        (S::ReceiveStopped { .. }, Event::UnsubscribeAll) => go(S::Unsubscribed, vec![]),

        // ReceiveFailed
        (S::ReceiveFailed { cursor, .. }, Event::SubscriptionChanged { input }) => {
            go(handshaking(input, Some(*cursor), false), vec![])
        }
        (S::ReceiveFailed { cursor: kept, .. }, Event::SubscriptionRestored { input, cursor }) => {
            go(
                handshaking(input, Some(catch_up(Some(*kept), *cursor)), false),
                vec![],
            )
        }
        (S::ReceiveFailed { input, cursor, .. }, Event::Reconnect { cursor: given }) => go(
            handshaking(input, Some(given.unwrap_or(*cursor)), false),
            vec![],
        ),
        (S::ReceiveFailed { .. }, Event::UnsubscribeAll) => go(S::Unsubscribed, vec![]),

        // FillingGap: after each page, the machine decides: the next page of the same range,
        // the next range, or the end (the budget is spent, or nothing is left). At the end,
        // the recovered messages first, then the answer, each in timetoken order per channel,
        // so every listener's delivered intervals grow in order.
        (
            S::FillingGap {
                input,
                from,
                cursor,
                messages,
                ranges,
                pages_left,
                recovered,
            },
            Event::GapFillPage {
                recovered: page,
                more,
            },
        ) => {
            let held = Held::new(input, *from, *cursor, messages);
            let so_far: Messages = recovered.iter().chain(page.iter()).cloned().collect();
            let left = after_page(ranges, *more);
            let (to, own) = fill(held, left, pages_left.saturating_sub(1), so_far);
            go(to, own)
        }
        // A page that cannot be read ends the fill: what was recovered is delivered, and
        // what is left (the rest of the range being read and the ranges after it) is reported
        // with the failure's reason.
        (
            S::FillingGap {
                input,
                from,
                cursor,
                messages,
                ranges,
                recovered,
                ..
            },
            Event::GapFillFailure { reason },
        ) => {
            let held = Held::new(input, *from, *cursor, messages);
            let own = end_fill(held, recovered, ranges, Some(reason));
            go(receiving(input, *cursor, false), own)
        }
        // Anything else that stops the fill leaves the answer undelivered and the loop at
        // `from`, as if the answer had not come: polling from `from` gets it again.
        (S::FillingGap { from, .. }, Event::SubscriptionChanged { input }) => go(
            receiving(input, *from, false),
            vec![status(StatusCategory::SubscriptionChanged, input)],
        ),
        (S::FillingGap { from, .. }, Event::SubscriptionRestored { input, cursor }) => go(
            receiving(input, catch_up(Some(*from), *cursor), false),
            vec![status(StatusCategory::SubscriptionChanged, input)],
        ),
        (
            S::FillingGap { input, .. },
            Event::Reconnect {
                cursor: Some(given),
            },
        ) => go(handshaking(input, Some(*given), false), vec![]),
        (S::FillingGap { input, from, .. }, Event::Disconnect) => go(
            S::ReceiveStopped {
                input: input.clone(),
                cursor: *from,
            },
            vec![status(StatusCategory::Disconnected, input)],
        ),
        (S::FillingGap { input, .. }, Event::UnsubscribeAll) => go(
            S::Unsubscribed,
            vec![status(StatusCategory::Disconnected, input)],
        ),

        _ => None,
    }
}

/// The subscribe engine as a [`Machine`], for the driver, the trace and the diagrams.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubscribeMachine;

impl crate::engine::sealed::Sealed for SubscribeMachine {}

impl Machine for SubscribeMachine {
    type State = State;
    type Event = Event;
    type Invocation = Invocation;
    const NAME: &'static str = "subscribe";

    fn initial() -> State {
        State::Unsubscribed
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
            State::Handshaking { .. } => vec![Invocation::CancelHandshake],
            State::HandshakeReconnecting { .. } => vec![Invocation::CancelHandshakeReconnect],
            State::Receiving { .. } => vec![Invocation::CancelReceiveMessages],
            State::ReceiveReconnecting { .. } => vec![Invocation::CancelReceiveReconnect],
            State::FillingGap { .. } => vec![Invocation::CancelFillGap],
            _ => vec![],
        }
    }

    fn on_entry(context: &Context, state: &State) -> Vec<Invocation> {
        match state {
            State::Handshaking { input, cursor, .. } => vec![Invocation::Handshake {
                input: input.clone(),
                cursor: *cursor,
            }],
            State::HandshakeReconnecting {
                input,
                cursor,
                attempts,
                reason,
            } => vec![Invocation::HandshakeReconnect {
                input: input.clone(),
                cursor: *cursor,
                attempts: *attempts,
                reason: reason.clone(),
                retry: context.decide(Endpoint::Subscribe, *attempts, reason),
            }],
            State::Receiving {
                input,
                cursor,
                probe,
                ..
            } => vec![Invocation::ReceiveMessages {
                input: input.clone(),
                cursor: *cursor,
                liveness: context.long_poll_liveness,
                probe: *probe,
            }],
            State::ReceiveReconnecting {
                input,
                cursor,
                attempts,
                reason,
            } => vec![Invocation::ReceiveReconnect {
                input: input.clone(),
                cursor: *cursor,
                attempts: *attempts,
                reason: reason.clone(),
                retry: context.decide(Endpoint::Subscribe, *attempts, reason),
                settle: RECONNECT_SETTLE,
            }],
            State::FillingGap { ranges, .. } => ranges
                .first()
                .map(|range| Invocation::FillGap {
                    range: range.clone(),
                })
                .into_iter()
                .collect(),
            _ => vec![],
        }
    }

    fn entry_effect(state: &State) -> Option<&'static str> {
        match state {
            State::Handshaking { .. } => Some("HANDSHAKE"),
            State::HandshakeReconnecting { .. } => Some("HANDSHAKE_RECONNECT"),
            State::Receiving { .. } => Some("RECEIVE_MESSAGES"),
            State::ReceiveReconnecting { .. } => Some("RECEIVE_RECONNECT"),
            State::FillingGap { .. } => Some("FILL_GAP"),
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
            Invocation::HandshakeReconnect {
                attempts, retry, ..
            }
            | Invocation::ReceiveReconnect {
                attempts, retry, ..
            } => Some(format!("attempt {attempts}: {retry}")),
            Invocation::EmitStatus(status) => Some(format!("{:?}", status.category)),
            Invocation::FillGap { range } => Some(range.to_string()),
            Invocation::ReceiveMessages { probe: true, .. } => {
                Some("prove the network answers first".to_owned())
            }
            _ => None,
        }
    }

    fn sample_states() -> Vec<State> {
        let input = Input::channels(["a"]);
        let cursor = Cursor::new(17_000_000_000_000_000, 1);
        let reason = Reason::new(ErrorKind::Network, "connection reset");
        let from = Cursor::new(16_999_999_999_999_000, 1);
        let filling = |count: usize| State::FillingGap {
            input: Input::channels(["a", "b"]),
            from,
            cursor,
            messages: Arc::from(vec![Envelope::sample("a", cursor.timetoken)]),
            ranges: ["a", "b"][..count]
                .iter()
                .map(|channel| GapRange {
                    channel: (*channel).to_owned(),
                    subscription: (*channel).to_owned(),
                    after: from.timetoken,
                    before: cursor.timetoken,
                })
                .collect(),
            pages_left: 2,
            recovered: Arc::from(Vec::new()),
        };
        vec![
            State::Unsubscribed,
            State::Handshaking {
                input: input.clone(),
                cursor: None,
                outage: false,
            },
            State::Handshaking {
                input: input.clone(),
                cursor: None,
                outage: true,
            },
            State::HandshakeReconnecting {
                input: input.clone(),
                cursor: None,
                attempts: 1,
                reason: reason.clone(),
            },
            State::HandshakeStopped {
                input: input.clone(),
                cursor: None,
            },
            State::HandshakeFailed {
                input: input.clone(),
                cursor: None,
                reason: reason.clone(),
            },
            State::Receiving {
                input: input.clone(),
                cursor,
                outage: false,
                probe: false,
            },
            State::Receiving {
                input: input.clone(),
                cursor,
                outage: true,
                probe: false,
            },
            State::ReceiveReconnecting {
                input: input.clone(),
                cursor,
                attempts: 1,
                reason: reason.clone(),
            },
            State::ReceiveStopped {
                input: input.clone(),
                cursor,
            },
            State::ReceiveFailed {
                input: input.clone(),
                cursor,
                reason,
            },
            // Two ranges, then one: a page leads to the next one, or to the end.
            filling(2),
            filling(1),
        ]
    }

    /// Gap fill on, and a threshold of one message, so that FillingGap is drawn; the
    /// long-poll liveness check on.
    fn sample_context() -> Context {
        Context {
            request_message_count_threshold: 1,
            gap_fill_max_pages: Some(1),
            long_poll_liveness: Some(Duration::from_secs(30)),
            ..Context::default()
        }
    }

    fn sample_events() -> Vec<Event> {
        let input = Input::channels(["a", "b"]);
        let cursor = Cursor::new(17_000_000_000_000_001, 2);
        let reason = Reason::new(ErrorKind::Timeout, "timed out");
        let messages: Messages = Arc::from(Vec::new());
        vec![
            Event::SubscriptionChanged {
                input: input.clone(),
            },
            Event::SubscriptionChanged {
                input: Input::default(),
            },
            Event::SubscriptionRestored { input, cursor },
            Event::HandshakeSuccess { cursor },
            Event::HandshakeFailure {
                reason: reason.clone(),
            },
            Event::HandshakeReconnectSuccess { cursor },
            Event::HandshakeReconnectFailure {
                reason: reason.clone(),
            },
            Event::HandshakeReconnectGiveup {
                reason: reason.clone(),
            },
            Event::ReceiveSuccess {
                cursor,
                messages: messages.clone(),
            },
            Event::ReceiveSuccess {
                cursor,
                messages: Arc::from(vec![Envelope::sample("b", cursor.timetoken)]),
            },
            Event::ReceiveFailure {
                reason: reason.clone(),
            },
            Event::LongPollSilent,
            Event::ReceiveReconnectSuccess { cursor, messages },
            Event::ReceiveReconnectFailure {
                reason: reason.clone(),
            },
            Event::ReceiveReconnectGiveup { reason },
            Event::Disconnect,
            Event::Reconnect { cursor: None },
            Event::UnsubscribeAll,
            Event::GapFillPage {
                recovered: Arc::from(Vec::new()),
                more: None,
            },
            Event::GapFillFailure {
                reason: Reason::new(ErrorKind::Network, "connection reset"),
            },
        ]
    }
}

#[cfg(test)]
#[path = "machine_tests.rs"]
pub(crate) mod tests;

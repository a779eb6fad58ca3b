//! Scenario tests of the two pure machines (ENGINE.md §1–§3): event sequences go through the
//! public `transition` functions and the trace of names (each event, then its invocations in
//! order) is compared with the expected list.
//!
//! Some scenarios feed events by hand; others use a tiny simulated driver that answers each
//! request-making invocation from a scripted server and obeys the decision a reconnect
//! invocation carries (the machine's, from the retry policy in its context): wait and make a
//! request, or give up without one. No runtime, no clock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use pubnub_engine::engine::{Context, Cursor, Input};
use pubnub_engine::error::{ErrorKind, Reason};
use pubnub_engine::presence::machine as presence;
use pubnub_engine::retry::{Jitter, RetryConfig, RetryDecision, RetryPolicy};
use pubnub_engine::status::{Status, StatusCategory};
use pubnub_engine::subscribe::envelope::{Envelope, EnvelopeKind};
use pubnub_engine::subscribe::machine::{self as subscribe, Event, Invocation, Messages, State};

// ---------------------------------------------------------------------------------------------
// Subscribe: hand-fed sequences.

/// What a run leaves behind: the final state, the trace of names and every invocation.
struct Run {
    state: State,
    trace: Vec<&'static str>,
    invocations: Vec<Invocation>,
    /// Requests sent to the server (simulated runs only).
    requests: usize,
    /// Each reconnect invocation's (attempts, the delay it carries; `None`: give up).
    delays: Vec<(u32, Option<Duration>)>,
}

impl Run {
    fn statuses(&self) -> Vec<&Status> {
        self.invocations
            .iter()
            .filter_map(|i| match i {
                Invocation::EmitStatus(status) => Some(status),
                _ => None,
            })
            .collect()
    }

    fn categories(&self) -> Vec<StatusCategory> {
        self.statuses().iter().map(|s| s.category).collect()
    }

    /// The last invocation with this trace name.
    fn last(&self, name: &str) -> &Invocation {
        self.invocations
            .iter()
            .rev()
            .find(|i| i.name() == name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.trace))
    }
}

/// Feeds `events` one by one from `start`. An ignored event is still traced.
fn run(start: State, events: Vec<Event>) -> Run {
    let mut state = start;
    let mut trace = Vec::new();
    let mut invocations = Vec::new();
    for event in events {
        trace.push(event.name());
        if let Some(t) = subscribe::transition(&state, &event) {
            state = t.state;
            trace.extend(t.invocations.iter().map(Invocation::name));
            invocations.extend(t.invocations);
        }
    }
    Run {
        state,
        trace,
        invocations,
        requests: 0,
        delays: Vec::new(),
    }
}

fn input() -> Input {
    Input::new(["chat", "chat-pnpres"], ["room-group"])
}

fn other_input() -> Input {
    Input::new(["chat", "news"], ["room-group"])
}

fn cursor(n: u64) -> Cursor {
    Cursor::new(17_000_000_000_000_000 + n, (n % 4) as u32)
}

fn message(channel: &str, text: &str) -> Envelope {
    Envelope {
        kind: EnvelopeKind::Message,
        channel: channel.to_owned(),
        subscription: channel.to_owned(),
        published: cursor(99),
        publisher: Some("alice".to_owned()),
        payload: serde_json::json!({ "text": text }).into(),
        meta: None,
        custom_message_type: None,
        seqn: None,
        error: None,
        recovered: false,
    }
}

fn messages(texts: &[&str]) -> Messages {
    Arc::from(texts.iter().map(|t| message("chat", t)).collect::<Vec<_>>())
}

fn network() -> Reason {
    Reason::new(ErrorKind::Network, "connection reset by peer")
}

fn changed(input: Input) -> Event {
    Event::SubscriptionChanged { input }
}

#[test]
fn happy_path() {
    let r = run(
        State::Unsubscribed,
        vec![
            changed(input()),
            Event::HandshakeSuccess { cursor: cursor(1) },
            Event::ReceiveSuccess {
                cursor: cursor(2),
                messages: messages(&["hello"]),
            },
            Event::ReceiveSuccess {
                cursor: cursor(3),
                messages: messages(&["how", "are you"]),
            },
            Event::UnsubscribeAll,
        ],
    );
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_SUCCESS",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES",
            "RECEIVE_SUCCESS",
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_MESSAGES",
            "RECEIVE_MESSAGES",
            "RECEIVE_SUCCESS",
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_MESSAGES",
            "RECEIVE_MESSAGES",
            "UNSUBSCRIBE_ALL",
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_STATUS",
        ]
    );
    assert_eq!(r.state, State::Unsubscribed);
    assert_eq!(
        r.categories(),
        [StatusCategory::Connected, StatusCategory::Disconnected]
    );
    let polls: Vec<Cursor> = r
        .invocations
        .iter()
        .filter_map(|i| match i {
            Invocation::ReceiveMessages { cursor, .. } => Some(*cursor),
            _ => None,
        })
        .collect();
    assert_eq!(polls, [cursor(1), cursor(2), cursor(3)]);
    assert_eq!(
        r.last("EMIT_MESSAGES"),
        &Invocation::EmitMessages {
            messages: messages(&["how", "are you"]),
            cursor: cursor(3),
        }
    );
    let connected = r.statuses()[0];
    assert_eq!(connected.channels, ["chat", "chat-pnpres"]);
    assert_eq!(connected.groups, ["room-group"]);
    assert_eq!(connected.error, None);
}

#[test]
fn disconnect_and_reconnect_keep_the_cursor() {
    let r = run(
        State::Unsubscribed,
        vec![
            changed(input()),
            Event::HandshakeSuccess { cursor: cursor(1) },
            Event::ReceiveSuccess {
                cursor: cursor(2),
                messages: messages(&["one"]),
            },
            Event::Disconnect,
            // A late result of the cancelled long-poll: ignored, but traced.
            Event::ReceiveSuccess {
                cursor: cursor(3),
                messages: messages(&["late"]),
            },
            // The subscription changes while stopped: nothing is sent.
            changed(other_input()),
            Event::Reconnect { cursor: None },
            Event::HandshakeSuccess { cursor: cursor(4) },
        ],
    );
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_SUCCESS",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES",
            "RECEIVE_SUCCESS",
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_MESSAGES",
            "RECEIVE_MESSAGES",
            "DISCONNECT",
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_STATUS",
            "RECEIVE_SUCCESS",
            "SUBSCRIPTION_CHANGED",
            "RECONNECT",
            "HANDSHAKE",
            "HANDSHAKE_SUCCESS",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES",
        ]
    );
    assert_eq!(
        r.categories(),
        [
            StatusCategory::Connected,
            StatusCategory::Disconnected,
            StatusCategory::Connected
        ]
    );
    // The reconnect catches up from the kept cursor, with the new input.
    assert_eq!(
        r.last("HANDSHAKE"),
        &Invocation::Handshake {
            input: other_input(),
            cursor: Some(cursor(2)),
        }
    );
    // The service answered the handshake with cursor 4: the machine receives from the older
    // kept cursor, in the service's region.
    assert_eq!(
        r.state,
        State::Receiving {
            input: other_input(),
            cursor: Cursor::new(cursor(2).timetoken, cursor(4).region),
            outage: false,
            probe: false,
        }
    );
}

#[test]
fn disconnect_during_the_handshake_then_reconnect_from_a_given_cursor() {
    let r = run(
        State::Unsubscribed,
        vec![
            changed(input()),
            Event::Disconnect,
            Event::HandshakeSuccess { cursor: cursor(1) },
            Event::Reconnect {
                cursor: Some(cursor(7)),
            },
        ],
    );
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "DISCONNECT",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "HANDSHAKE_SUCCESS",
            "RECONNECT",
            "HANDSHAKE",
        ]
    );
    assert_eq!(
        r.last("HANDSHAKE"),
        &Invocation::Handshake {
            input: input(),
            cursor: Some(cursor(7)),
        }
    );
}

#[test]
fn subscription_change_while_receive_reconnecting() {
    let r = run(
        State::Unsubscribed,
        vec![
            changed(input()),
            Event::HandshakeSuccess { cursor: cursor(1) },
            Event::ReceiveFailure { reason: network() },
            changed(other_input()),
            // The cancelled retry's late failure is ignored in Receiving.
            Event::ReceiveReconnectFailure { reason: network() },
        ],
    );
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_SUCCESS",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES",
            "RECEIVE_FAILURE",
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_STATUS",
            "RECEIVE_RECONNECT",
            "SUBSCRIPTION_CHANGED",
            "CANCEL_RECEIVE_RECONNECT",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES",
            "RECEIVE_RECONNECT_FAILURE",
        ]
    );
    assert_eq!(
        r.categories(),
        [
            StatusCategory::Connected,
            StatusCategory::NetworkIssues,
            StatusCategory::SubscriptionChanged
        ]
    );
    let changed_status = *r.statuses().last().unwrap();
    assert_eq!(changed_status.channels, ["chat", "news"]);
    // The outage goes on with the new channels: the next answer will say Reconnected.
    assert_eq!(
        r.state,
        State::Receiving {
            input: other_input(),
            cursor: cursor(1),
            outage: true,
            probe: false,
        }
    );
}

#[test]
fn one_outage_tells_one_story_even_when_the_subscription_changes_during_it() {
    let r = run(
        State::Unsubscribed,
        vec![
            changed(input()),
            Event::HandshakeSuccess { cursor: cursor(1) },
            Event::ReceiveFailure { reason: network() },
            changed(other_input()),
            // Still down: the long-poll with the new channels fails too; nothing new to say.
            Event::ReceiveFailure { reason: network() },
            changed(input()),
            // Back: the long-poll answers, and that is the recovery.
            Event::ReceiveSuccess {
                cursor: cursor(2),
                messages: messages(&["late"]),
            },
        ],
    );
    assert_eq!(
        r.categories(),
        [
            StatusCategory::Connected,
            StatusCategory::NetworkIssues,
            StatusCategory::SubscriptionChanged,
            StatusCategory::SubscriptionChanged,
            StatusCategory::Reconnected
        ]
    );
    assert_eq!(
        r.state,
        State::Receiving {
            input: input(),
            cursor: cursor(2),
            outage: false,
            probe: false,
        }
    );
}

#[test]
fn subscription_change_while_handshake_reconnecting() {
    let r = run(
        State::Unsubscribed,
        vec![
            Event::SubscriptionRestored {
                input: input(),
                cursor: cursor(5),
            },
            Event::HandshakeFailure { reason: network() },
            changed(other_input()),
        ],
    );
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_RESTORED",
            "HANDSHAKE",
            "HANDSHAKE_FAILURE",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "HANDSHAKE_RECONNECT",
            "SUBSCRIPTION_CHANGED",
            "CANCEL_HANDSHAKE_RECONNECT",
            "HANDSHAKE",
        ]
    );
    assert_eq!(
        r.last("HANDSHAKE"),
        &Invocation::Handshake {
            input: other_input(),
            cursor: Some(cursor(5)),
        }
    );
}

#[test]
fn reconnect_skips_the_back_off() {
    let r = run(
        State::Unsubscribed,
        vec![
            changed(input()),
            Event::HandshakeSuccess { cursor: cursor(1) },
            Event::ReceiveFailure { reason: network() },
            Event::ReceiveReconnectFailure { reason: network() },
            Event::Reconnect { cursor: None },
        ],
    );
    assert_eq!(
        r.trace[10..],
        [
            "RECEIVE_RECONNECT_FAILURE",
            "CANCEL_RECEIVE_RECONNECT",
            "RECEIVE_RECONNECT",
            "RECONNECT",
            "CANCEL_RECEIVE_RECONNECT",
            "HANDSHAKE",
        ]
    );
    assert_eq!(
        r.last("HANDSHAKE"),
        &Invocation::Handshake {
            input: input(),
            cursor: Some(cursor(1)),
        }
    );
}

#[test]
fn unsubscribe_all_forgets_the_cursor_and_an_empty_change_is_unsubscribe_all() {
    let r = run(
        State::Unsubscribed,
        vec![
            changed(input()),
            Event::HandshakeSuccess { cursor: cursor(1) },
            changed(Input::default()),
            changed(input()),
        ],
    );
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_SUCCESS",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES",
            "SUBSCRIPTION_CHANGED",
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_STATUS",
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
        ]
    );
    assert_eq!(
        r.categories(),
        [StatusCategory::Connected, StatusCategory::Disconnected]
    );
    assert_eq!(
        r.last("HANDSHAKE"),
        &Invocation::Handshake {
            input: input(),
            cursor: None,
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Subscribe: a simulated driver against a scripted server.

/// What the simulated server answers to one request.
#[derive(Clone)]
enum Reply {
    /// 200 with this cursor and these many messages.
    Ok(Cursor, usize),
    /// A failure.
    Fail(Reason),
    /// The long-poll stays open: no event comes back.
    Hang,
}

/// A server that answers requests in order and then hangs.
fn scripted(replies: Vec<Reply>) -> impl FnMut() -> Reply {
    let mut replies: VecDeque<Reply> = replies.into();
    move || replies.pop_front().unwrap_or(Reply::Hang)
}

fn batch(n: usize) -> Messages {
    Arc::from(
        (0..n)
            .map(|k| message("chat", &format!("m{k}")))
            .collect::<Vec<_>>(),
    )
}

/// The machines' context with `policy` and no jitter.
fn context(policy: RetryPolicy) -> Context {
    Context {
        retry: RetryConfig::new(policy),
        jitter: Jitter::off(),
        ..Context::default()
    }
}

/// The delay a decision carries, `None` for a give-up.
fn delay_of(retry: &RetryDecision) -> Option<Duration> {
    match retry {
        RetryDecision::Wait(delay) => Some(*delay),
        _ => None,
    }
}

/// Runs the engine like the driver does: one event at a time, every invocation dispatched in
/// order; a request-making invocation asks `server` and its result is the next event; a reconnect
/// invocation obeys the machine's decision: a request after the delay, or a give-up without one.
/// The receive reconnect sends two requests: a handshake (the probe), then the long-poll from
/// the kept cursor, which delivers; a long-poll the server holds is reported silent (the settle
/// time passed).
fn drive(policy: RetryPolicy, events: Vec<Event>, mut server: impl FnMut() -> Reply) -> Run {
    let context = context(policy);
    let mut run = run(State::Unsubscribed, vec![]);
    // Effect results are fed back before the next outside event (the drain rule).
    let mut queue: VecDeque<Event> = VecDeque::new();
    let mut outside: VecDeque<Event> = events.into();
    while let Some(event) = queue.pop_front().or_else(|| outside.pop_front()) {
        assert!(run.trace.len() < 500, "runaway: {:?}", run.trace);
        run.trace.push(event.name());
        let Some(t) = subscribe::transition_with(&context, &run.state, &event) else {
            continue;
        };
        run.state = t.state;
        for invocation in t.invocations {
            run.trace.push(invocation.name());
            let mut request = |ok: fn(Cursor, Messages) -> Event, fail: fn(Reason) -> Event| {
                run.requests += 1;
                match server() {
                    Reply::Ok(c, n) => Some(ok(c, batch(n))),
                    Reply::Fail(reason) => Some(fail(reason)),
                    Reply::Hang => None,
                }
            };
            let next = match &invocation {
                Invocation::Handshake { .. } => request(
                    |cursor, _| Event::HandshakeSuccess { cursor },
                    |reason| Event::HandshakeFailure { reason },
                ),
                Invocation::ReceiveMessages { .. } => request(
                    |cursor, messages| Event::ReceiveSuccess { cursor, messages },
                    |reason| Event::ReceiveFailure { reason },
                ),
                Invocation::HandshakeReconnect {
                    attempts,
                    reason,
                    retry,
                    ..
                } => {
                    let delay = delay_of(retry);
                    run.delays.push((*attempts, delay));
                    match delay {
                        None => Some(Event::HandshakeReconnectGiveup {
                            reason: reason.clone(),
                        }),
                        Some(_) => request(
                            |cursor, _| Event::HandshakeReconnectSuccess { cursor },
                            |reason| Event::HandshakeReconnectFailure { reason },
                        ),
                    }
                }
                Invocation::ReceiveReconnect {
                    attempts,
                    reason,
                    retry,
                    ..
                } => {
                    let delay = delay_of(retry);
                    run.delays.push((*attempts, delay));
                    match delay {
                        None => Some(Event::ReceiveReconnectGiveup {
                            reason: reason.clone(),
                        }),
                        Some(_) => {
                            run.requests += 1;
                            match server() {
                                Reply::Fail(reason) => {
                                    Some(Event::ReceiveReconnectFailure { reason })
                                }
                                Reply::Hang => None,
                                Reply::Ok(..) => {
                                    run.requests += 1;
                                    Some(match server() {
                                        Reply::Ok(cursor, n) => Event::ReceiveReconnectSuccess {
                                            cursor,
                                            messages: batch(n),
                                        },
                                        Reply::Fail(reason) => {
                                            Event::ReceiveReconnectFailure { reason }
                                        }
                                        Reply::Hang => Event::LongPollSilent,
                                    })
                                }
                            }
                        }
                    }
                }
                _ => None,
            };
            queue.extend(next);
            run.invocations.push(invocation);
        }
    }
    run
}

#[test]
fn linear_policy_with_3_retries_against_a_server_that_always_fails() {
    let policy = RetryPolicy::Linear {
        delay: Duration::from_secs(2),
        max_retries: 3,
    };
    let unavailable = Reason::http(503, "Service Unavailable");
    let r = drive(policy, vec![changed(input())], || {
        Reply::Fail(unavailable.clone())
    });
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_FAILURE",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "HANDSHAKE_RECONNECT",
            // retry 1
            "HANDSHAKE_RECONNECT_FAILURE",
            "CANCEL_HANDSHAKE_RECONNECT",
            "HANDSHAKE_RECONNECT",
            // retry 2
            "HANDSHAKE_RECONNECT_FAILURE",
            "CANCEL_HANDSHAKE_RECONNECT",
            "HANDSHAKE_RECONNECT",
            // retry 3
            "HANDSHAKE_RECONNECT_FAILURE",
            "CANCEL_HANDSHAKE_RECONNECT",
            "HANDSHAKE_RECONNECT",
            // the fourth gives up without a request
            "HANDSHAKE_RECONNECT_GIVEUP",
            "CANCEL_HANDSHAKE_RECONNECT",
            "EMIT_STATUS",
        ]
    );
    assert_eq!(r.requests, 1 + 3, "the handshake and three retries");
    let two = Some(Duration::from_secs(2));
    assert_eq!(r.delays, [(1, two), (2, two), (3, two), (4, None)]);
    assert_eq!(
        r.state,
        State::HandshakeFailed {
            input: input(),
            cursor: None,
            reason: unavailable.clone(),
        }
    );
    // The app hears of the outage at the first failure, and once more when retries end.
    assert_eq!(
        r.categories(),
        [
            StatusCategory::UnexpectedDisconnect,
            StatusCategory::ConnectionError
        ]
    );
    assert_eq!(r.statuses()[0].error, Some(unavailable.clone()));
    assert_eq!(r.statuses()[1].error, Some(unavailable));
}

#[test]
fn a_fatal_403_gives_up_on_the_first_handshake_reconnect() {
    let forbidden = Reason::http(403, "Forbidden");
    let r = drive(RetryPolicy::exponential(), vec![changed(input())], || {
        Reply::Fail(forbidden.clone())
    });
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_FAILURE",
            "CANCEL_HANDSHAKE",
            "HANDSHAKE_RECONNECT",
            "HANDSHAKE_RECONNECT_GIVEUP",
            "CANCEL_HANDSHAKE_RECONNECT",
            "EMIT_STATUS",
        ]
    );
    assert_eq!(r.requests, 1, "no retry request for a fatal failure");
    assert_eq!(r.delays, [(1, None)]);
    let status = r.statuses()[0];
    assert_eq!(status.category, StatusCategory::AccessDenied);
    assert_eq!(status.category.story(), StatusCategory::ConnectionError);
    assert_eq!(status.error, Some(forbidden));
    assert_eq!(status.error_category(), Some(StatusCategory::AccessDenied));
}

/// Issue 33: without retries (`RetryPolicy::None`), a transient failure still names its cause
/// (NetworkIssues, Timeout…) before the give-up's ConnectionError, as the README promises; the
/// receive loop too.
#[test]
fn without_retries_a_failure_names_its_cause_before_the_give_up() {
    let r = drive(RetryPolicy::None, vec![changed(input())], || {
        Reply::Fail(network())
    });
    assert_eq!(
        r.categories(),
        [
            StatusCategory::NetworkIssues,
            StatusCategory::ConnectionError
        ]
    );
    assert_eq!(r.requests, 1, "no retry request");
    let timeout = Reason::new(ErrorKind::Timeout, "timed out");
    let r = drive(
        RetryPolicy::None,
        vec![changed(input())],
        scripted(vec![Reply::Ok(cursor(1), 0), Reply::Fail(timeout)]),
    );
    assert_eq!(
        r.categories(),
        [
            StatusCategory::Connected,
            StatusCategory::Timeout,
            StatusCategory::ConnectionError
        ]
    );
}

#[test]
fn handshake_recovery() {
    let r = drive(
        RetryPolicy::linear(),
        vec![changed(input())],
        scripted(vec![
            Reply::Fail(Reason::http(503, "Service Unavailable")),
            Reply::Fail(Reason::new(ErrorKind::Timeout, "timed out")),
            Reply::Ok(cursor(1), 0),
        ]),
    );
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_FAILURE",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "HANDSHAKE_RECONNECT",
            "HANDSHAKE_RECONNECT_FAILURE",
            "CANCEL_HANDSHAKE_RECONNECT",
            "HANDSHAKE_RECONNECT",
            "HANDSHAKE_RECONNECT_SUCCESS",
            "CANCEL_HANDSHAKE_RECONNECT",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES",
        ]
    );
    assert_eq!(
        r.categories(),
        [
            StatusCategory::UnexpectedDisconnect,
            StatusCategory::Connected
        ]
    );
    assert_eq!(
        r.delays,
        [
            (1, Some(Duration::from_secs(2))),
            (2, Some(Duration::from_secs(2)))
        ]
    );
    assert_eq!(
        r.state,
        State::Receiving {
            input: input(),
            cursor: cursor(1),
            outage: false,
            probe: false,
        }
    );
}

#[test]
fn receive_recovery_reports_unexpected_disconnect_then_reconnected() {
    let timeout = Reason::new(ErrorKind::Timeout, "timed out");
    let r = drive(
        RetryPolicy::exponential(),
        vec![changed(input())],
        scripted(vec![
            Reply::Ok(cursor(1), 0),
            Reply::Fail(timeout.clone()),
            Reply::Fail(network()),
            // The probe, then the long-poll from the kept cursor.
            Reply::Ok(cursor(2), 0),
            Reply::Ok(cursor(3), 3),
        ]),
    );
    assert_eq!(
        r.trace,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_SUCCESS",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES",
            "RECEIVE_FAILURE",
            "CANCEL_RECEIVE_MESSAGES",
            "EMIT_STATUS",
            "RECEIVE_RECONNECT",
            "RECEIVE_RECONNECT_FAILURE",
            "CANCEL_RECEIVE_RECONNECT",
            "RECEIVE_RECONNECT",
            "RECEIVE_RECONNECT_SUCCESS",
            "CANCEL_RECEIVE_RECONNECT",
            "EMIT_STATUS",
            "EMIT_MESSAGES",
            "RECEIVE_MESSAGES",
        ]
    );
    assert_eq!(
        r.categories(),
        [
            StatusCategory::Connected,
            StatusCategory::Timeout,
            StatusCategory::Reconnected
        ]
    );
    assert_eq!(r.statuses()[1].error, Some(timeout.clone()));
    assert_eq!(r.statuses()[2].error, None);
    assert_eq!(
        r.delays,
        [
            (1, Some(Duration::from_secs(2))),
            (2, Some(Duration::from_secs(4)))
        ]
    );
    // The retries keep the cursor and carry the machine's decision; once a handshake proves the
    // network answers, the long-poll from the kept cursor (not the handshake's, which would
    // skip what was published during the outage) brings what was missed: only then is the
    // loop Reconnected.
    assert_eq!(
        r.last("RECEIVE_RECONNECT"),
        &Invocation::ReceiveReconnect {
            input: input(),
            cursor: cursor(1),
            attempts: 2,
            reason: network(),
            retry: RetryDecision::Wait(Duration::from_secs(4)),
            settle: subscribe::RECONNECT_SETTLE,
        }
    );
    assert_eq!(
        r.last("EMIT_MESSAGES"),
        &Invocation::EmitMessages {
            messages: batch(3),
            cursor: cursor(3),
        }
    );
    assert_eq!(
        r.last("RECEIVE_MESSAGES"),
        &Invocation::ReceiveMessages {
            input: input(),
            cursor: cursor(3),
            liveness: None,
            probe: false,
        }
    );
}

/// Issue 30: a server (or proxy) that answers handshakes but fails every long-poll. The probe
/// succeeds each time, but the loop is not receiving: no `Reconnected`, one outage status, and
/// the retry budget spans the whole outage, so the machine gives up after the policy's retries.
#[test]
fn a_storm_that_answers_handshakes_but_fails_long_polls_ends_in_a_give_up() {
    let policy = RetryPolicy::Linear {
        delay: Duration::from_secs(1),
        max_retries: 5,
    };
    let bad_gateway = Reason::new(ErrorKind::Http { status: 502 }, "bad gateway");
    let mut long_poll = false;
    let r = drive(policy, vec![changed(input())], move || {
        // Handshakes (tt=0) and long-polls alternate: the first request is the handshake.
        let reply = if long_poll {
            Reply::Fail(bad_gateway.clone())
        } else {
            Reply::Ok(cursor(1), 0)
        };
        long_poll = !long_poll;
        reply
    });
    assert_eq!(
        r.categories(),
        [
            StatusCategory::Connected,
            StatusCategory::UnexpectedDisconnect,
            StatusCategory::ConnectionError
        ],
        "one outage, told once, ended by a give-up: {:?}",
        r.trace
    );
    assert!(!r.trace.contains(&"RECEIVE_RECONNECT_SUCCESS"));
    // The handshake, the first long-poll, then five reconnects of a probe and a long-poll each.
    assert_eq!(r.requests, 2 + 5 * 2);
    let attempts: Vec<u32> = r.delays.iter().map(|(n, _)| *n).collect();
    assert_eq!(attempts, [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        r.delays.last().unwrap().1,
        None,
        "the sixth decision gives up"
    );
    assert!(matches!(r.state, State::ReceiveFailed { .. }));
}

/// On a channel nobody publishes to, the reconnect's long-poll is held by the service: after
/// the settle time the loop counts as receiving again (Reconnected) and polls on from the same
/// cursor.
#[test]
fn a_reconnect_on_an_idle_channel_is_reconnected_after_the_settle_time() {
    let r = drive(
        RetryPolicy::exponential(),
        vec![changed(input())],
        scripted(vec![
            Reply::Ok(cursor(1), 0),
            Reply::Fail(network()),
            Reply::Ok(cursor(2), 0),
            Reply::Hang,
        ]),
    );
    assert_eq!(
        r.trace[r.trace.len() - 5..],
        [
            "RECEIVE_RECONNECT",
            "LONG_POLL_SILENT",
            "CANCEL_RECEIVE_RECONNECT",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES",
        ]
    );
    assert_eq!(r.categories().last(), Some(&StatusCategory::Reconnected));
    assert_eq!(r.categories().len(), 3);
    assert_eq!(
        r.last("RECEIVE_MESSAGES"),
        &Invocation::ReceiveMessages {
            input: input(),
            cursor: cursor(1),
            liveness: None,
            probe: false,
        }
    );
}

#[test]
fn receive_retries_given_up_report_a_connection_error() {
    let r = drive(RetryPolicy::exponential(), vec![changed(input())], {
        let mut first = true;
        move || {
            if std::mem::take(&mut first) {
                Reply::Ok(cursor(1), 0)
            } else {
                Reply::Fail(network())
            }
        }
    });
    let mut expected = vec![
        "SUBSCRIPTION_CHANGED",
        "HANDSHAKE",
        "HANDSHAKE_SUCCESS",
        "CANCEL_HANDSHAKE",
        "EMIT_STATUS",
        "RECEIVE_MESSAGES",
        "RECEIVE_FAILURE",
        "CANCEL_RECEIVE_MESSAGES",
        "EMIT_STATUS",
        "RECEIVE_RECONNECT",
    ];
    for _ in 0..6 {
        expected.extend([
            "RECEIVE_RECONNECT_FAILURE",
            "CANCEL_RECEIVE_RECONNECT",
            "RECEIVE_RECONNECT",
        ]);
    }
    expected.extend([
        "RECEIVE_RECONNECT_GIVEUP",
        "CANCEL_RECEIVE_RECONNECT",
        "EMIT_STATUS",
    ]);
    assert_eq!(r.trace, expected);
    assert_eq!(r.requests, 1 + 1 + 6);
    assert_eq!(
        r.categories(),
        [
            StatusCategory::Connected,
            StatusCategory::NetworkIssues,
            StatusCategory::ConnectionError
        ]
    );
    assert_eq!(
        r.state,
        State::ReceiveFailed {
            input: input(),
            cursor: cursor(1),
            reason: network(),
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Presence.

struct PresenceRun {
    state: presence::State,
    trace: Vec<&'static str>,
    invocations: Vec<presence::Invocation>,
    heartbeats: usize,
}

impl PresenceRun {
    fn named(&self, name: &str) -> Vec<&presence::Invocation> {
        self.invocations
            .iter()
            .filter(|i| i.name() == name)
            .collect()
    }
}

/// Feeds `events` from `start`; HEARTBEAT and DELAYED_HEARTBEAT are answered by `server`
/// (`None` = no answer yet), DELAYED_HEARTBEAT asking `policy` first. WAIT never fires by
/// itself: scenarios feed TIMES_UP.
fn drive_presence(
    start: presence::State,
    events: Vec<presence::Event>,
    policy: RetryPolicy,
    mut server: impl FnMut() -> Option<Result<(), Reason>>,
) -> PresenceRun {
    use presence::{Event as E, Invocation as I};
    let context = context(policy);
    let mut run = PresenceRun {
        state: start,
        trace: Vec::new(),
        invocations: Vec::new(),
        heartbeats: 0,
    };
    // Effect results are fed back before the next outside event (the drain rule).
    let mut queue: VecDeque<E> = VecDeque::new();
    let mut outside: VecDeque<E> = events.into();
    while let Some(event) = queue.pop_front().or_else(|| outside.pop_front()) {
        assert!(run.trace.len() < 500, "runaway: {:?}", run.trace);
        run.trace.push(event.name());
        let Some(t) = presence::transition_with(&context, &run.state, &event) else {
            continue;
        };
        run.state = t.state;
        for invocation in t.invocations {
            run.trace.push(invocation.name());
            let mut send = || {
                run.heartbeats += 1;
                server().map(|result| match result {
                    Ok(()) => E::HeartbeatSuccess,
                    Err(reason) => E::HeartbeatFailure { reason },
                })
            };
            let next = match &invocation {
                I::Heartbeat { .. } => send(),
                I::DelayedHeartbeat { reason, retry, .. } => match retry {
                    RetryDecision::GiveUp => Some(E::HeartbeatGiveup {
                        reason: reason.clone(),
                    }),
                    RetryDecision::Wait(_) => send(),
                },
                _ => None,
            };
            queue.extend(next);
            run.invocations.push(invocation);
        }
    }
    run
}

fn joined(channels: &[&str]) -> presence::Event {
    presence::Event::Joined {
        input: Input::channels(channels.iter().copied()),
    }
}

fn left(channels: &[&str]) -> presence::Event {
    presence::Event::Left {
        input: Input::channels(channels.iter().copied()),
    }
}

fn healthy() -> Option<Result<(), Reason>> {
    Some(Ok(()))
}

#[test]
fn presence_join_and_leave() {
    use presence::Event as E;
    let r = drive_presence(
        presence::State::HeartbeatInactive,
        vec![
            joined(&["a"]),
            E::TimesUp,
            // Already present on "a": ignored.
            joined(&["a"]),
            joined(&["b"]),
            // Not present on "z": ignored.
            left(&["z"]),
            left(&["a"]),
            left(&["b"]),
        ],
        RetryPolicy::exponential(),
        healthy,
    );
    assert_eq!(
        r.trace,
        [
            "JOINED",
            "HEARTBEAT",
            "HEARTBEAT_SUCCESS",
            "WAIT",
            "TIMES_UP",
            "CANCEL_WAIT",
            "HEARTBEAT",
            "HEARTBEAT_SUCCESS",
            "WAIT",
            "JOINED",
            "JOINED",
            "CANCEL_WAIT",
            "HEARTBEAT",
            "HEARTBEAT_SUCCESS",
            "WAIT",
            "LEFT",
            "LEFT",
            "CANCEL_WAIT",
            "LEAVE",
            "HEARTBEAT",
            "HEARTBEAT_SUCCESS",
            "WAIT",
            "LEFT",
            "CANCEL_WAIT",
            "LEAVE",
        ]
    );
    assert_eq!(r.state, presence::State::HeartbeatInactive);
    let beats: Vec<Input> = r
        .named("HEARTBEAT")
        .into_iter()
        .map(|i| match i {
            presence::Invocation::Heartbeat { input } => input.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        beats,
        [
            Input::channels(["a"]),
            Input::channels(["a"]),
            Input::channels(["a", "b"]),
            Input::channels(["b"]),
        ]
    );
    assert_eq!(
        r.named("LEAVE"),
        [
            &presence::Invocation::Leave {
                input: Input::channels(["a"])
            },
            &presence::Invocation::Leave {
                input: Input::channels(["b"])
            },
        ]
    );
}

/// PubNub's presence event-engine scenarios name exactly these events and invocations.
const PUBNUB_PRESENCE_VOCABULARY: [&str; 16] = [
    // Invocations.
    "HEARTBEAT",
    "DELAYED_HEARTBEAT",
    "CANCEL_DELAYED_HEARTBEAT",
    "LEAVE",
    "WAIT",
    "CANCEL_WAIT",
    "EMIT_STATUS",
    // Events.
    "JOINED",
    "LEFT",
    "LEFT_ALL",
    "HEARTBEAT_SUCCESS",
    "HEARTBEAT_FAILURE",
    "HEARTBEAT_GIVEUP",
    "RECONNECT",
    "DISCONNECT",
    "TIMES_UP",
];

/// The flows of PubNub's presence scenarios (a join, a join whose heartbeats fail, a leave,
/// several waits) trace nothing outside their vocabulary, coalescing included.
#[test]
fn presence_flows_use_only_pubnub_vocabulary() {
    use presence::Event as E;
    let policy = RetryPolicy::Linear {
        delay: Duration::from_secs(2),
        max_retries: 3,
    };
    let mut failures = 0;
    let failing_twice = move || {
        failures += 1;
        Some(if failures <= 2 {
            Err(Reason::http(500, "Internal Server Error"))
        } else {
            Ok(())
        })
    };
    type Server = Box<dyn FnMut() -> Option<Result<(), Reason>>>;
    let flows: Vec<(Vec<E>, Server)> = vec![
        (vec![joined(&["a"])], Box::new(healthy)),
        (vec![joined(&["a", "b"])], Box::new(failing_twice)),
        (
            vec![joined(&["a", "b"]), left(&["a"]), E::LeftAll],
            Box::new(healthy),
        ),
        (
            vec![
                joined(&["a"]),
                E::TimesUp,
                E::TimesUp,
                E::TimesUp,
                joined(&["b"]),
            ],
            Box::new(healthy),
        ),
        // A join while a heartbeat is in flight: the new heartbeat replaces it, untraced.
        (
            vec![
                joined(&["a"]),
                joined(&["b"]),
                joined(&["c"]),
                E::Disconnect,
                E::Reconnect,
            ],
            Box::new(|| None),
        ),
    ];
    for (events, server) in flows {
        let r = drive_presence(presence::State::HeartbeatInactive, events, policy, server);
        for name in &r.trace {
            assert!(
                PUBNUB_PRESENCE_VOCABULARY.contains(name),
                "{name} is not in PubNub's presence vocabulary: {:?}",
                r.trace
            );
        }
    }
}

#[test]
fn presence_failure_give_up_and_recover() {
    let policy = RetryPolicy::Linear {
        delay: Duration::from_secs(2),
        max_retries: 2,
    };
    let failing = || Some(Err(Reason::http(500, "Internal Server Error")));
    let r = drive_presence(
        presence::State::HeartbeatInactive,
        vec![joined(&["a", "b"])],
        policy,
        failing,
    );
    assert_eq!(
        r.trace,
        [
            "JOINED",
            "HEARTBEAT",
            "HEARTBEAT_FAILURE",
            "DELAYED_HEARTBEAT",
            "HEARTBEAT_FAILURE",
            "CANCEL_DELAYED_HEARTBEAT",
            "DELAYED_HEARTBEAT",
            "HEARTBEAT_FAILURE",
            "CANCEL_DELAYED_HEARTBEAT",
            "DELAYED_HEARTBEAT",
            "HEARTBEAT_GIVEUP",
            "CANCEL_DELAYED_HEARTBEAT",
        ]
    );
    assert_eq!(r.heartbeats, 1 + 2);
    assert_eq!(r.state.name(), "HeartbeatFailed");

    // The app sees the network come back and reconnects.
    let r = drive_presence(r.state, vec![presence::Event::Reconnect], policy, healthy);
    assert_eq!(
        r.trace,
        ["RECONNECT", "HEARTBEAT", "HEARTBEAT_SUCCESS", "WAIT"]
    );
    assert_eq!(
        r.state,
        presence::State::HeartbeatCooldown {
            input: Input::channels(["a", "b"]),
        }
    );
}

#[test]
fn presence_recovers_on_a_delayed_heartbeat() {
    let mut replies = VecDeque::from([Err(Reason::new(ErrorKind::Timeout, "timed out")), Ok(())]);
    let r = drive_presence(
        presence::State::HeartbeatInactive,
        vec![joined(&["a"])],
        RetryPolicy::exponential(),
        move || replies.pop_front(),
    );
    assert_eq!(
        r.trace,
        [
            "JOINED",
            "HEARTBEAT",
            "HEARTBEAT_FAILURE",
            "DELAYED_HEARTBEAT",
            "HEARTBEAT_SUCCESS",
            "CANCEL_DELAYED_HEARTBEAT",
            "WAIT",
        ]
    );
    assert_eq!(
        r.state,
        presence::State::HeartbeatCooldown {
            input: Input::channels(["a"]),
        }
    );
}

#[test]
fn presence_fatal_failure_gives_up_at_once() {
    let r = drive_presence(
        presence::State::HeartbeatInactive,
        vec![joined(&["a"])],
        RetryPolicy::exponential(),
        || Some(Err(Reason::http(403, "Forbidden"))),
    );
    assert_eq!(
        r.trace,
        [
            "JOINED",
            "HEARTBEAT",
            "HEARTBEAT_FAILURE",
            "DELAYED_HEARTBEAT",
            "HEARTBEAT_GIVEUP",
            "CANCEL_DELAYED_HEARTBEAT",
        ]
    );
    assert_eq!(r.heartbeats, 1);
}

#[test]
fn presence_disconnect_and_reconnect() {
    use presence::Event as E;
    let r = drive_presence(
        presence::State::HeartbeatInactive,
        vec![
            joined(&["a"]),
            E::Disconnect,
            // A late TIMES_UP of the cancelled wait: ignored.
            E::TimesUp,
            joined(&["b"]),
            E::Reconnect,
            E::LeftAll,
        ],
        RetryPolicy::exponential(),
        healthy,
    );
    assert_eq!(
        r.trace,
        [
            "JOINED",
            "HEARTBEAT",
            "HEARTBEAT_SUCCESS",
            "WAIT",
            "DISCONNECT",
            "CANCEL_WAIT",
            "LEAVE",
            "TIMES_UP",
            "JOINED",
            "RECONNECT",
            "HEARTBEAT",
            "HEARTBEAT_SUCCESS",
            "WAIT",
            "LEFT_ALL",
            "CANCEL_WAIT",
            "LEAVE",
        ]
    );
    assert_eq!(
        r.named("LEAVE"),
        [
            &presence::Invocation::Leave {
                input: Input::channels(["a"])
            },
            &presence::Invocation::Leave {
                input: Input::channels(["a", "b"])
            },
        ]
    );
    assert_eq!(r.state, presence::State::HeartbeatInactive);
}

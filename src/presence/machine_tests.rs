//! The presence machine against ENGINE.md §2, written from the specification.
//!
//! One row per row of the §2 table, and both branches (rest ≠ ∅, rest = ∅) of every LEFT row,
//! with sets chosen so that `gone = I ∩ x` and `rest = I − x` differ from `x` and from `I`.
//! The expected values are built here, never with the machine's own helpers.

use std::collections::BTreeSet;

use super::{transition, Event, Invocation, PresenceMachine, State};
use crate::engine::{Input, Lifecycle, Machine};
use crate::error::{ErrorKind, Reason};

// ---------------------------------------------------------------------------------------------
// Fixtures.

/// `I`: the current input.
fn i() -> Input {
    Input::new(["a", "b"], ["g"])
}

/// `x` of a JOINED: partly new, partly known.
fn joined_x() -> Input {
    Input::new(["b", "c"], Vec::<String>::new())
}

/// `I ∪ x` for [`joined_x`].
fn i_union_x() -> Input {
    Input::new(["a", "b", "c"], ["g"])
}

/// `x` of a LEFT that leaves something behind: one known name, one unknown.
fn left_some() -> Input {
    Input::new(["b", "z"], Vec::<String>::new())
}

/// `gone = I ∩ x` for [`left_some`].
fn gone_some() -> Input {
    Input::channels(["b"])
}

/// `rest = I − x` for [`left_some`].
fn rest_some() -> Input {
    Input::new(["a"], ["g"])
}

/// `x` of a LEFT that removes everything (and an unknown name): `gone = I`, `rest = ∅`.
fn left_all_names() -> Input {
    Input::new(["a", "b", "z"], ["g"])
}

/// `n`: the attempts of a reconnecting state.
const N: u32 = 2;

/// `e`: the reason kept by a state.
fn e() -> Reason {
    Reason::new(ErrorKind::Network, "connection reset")
}

/// `e'`: the reason carried by an event.
fn e2() -> Reason {
    Reason::http(502, "bad gateway")
}

fn heartbeating(input: Input) -> State {
    State::Heartbeating { input }
}

fn cooldown(input: Input) -> State {
    State::HeartbeatCooldown { input }
}

fn reconnecting(input: Input, attempts: u32, reason: Reason) -> State {
    State::HeartbeatReconnecting {
        input,
        attempts,
        reason,
    }
}

fn stopped(input: Input) -> State {
    State::HeartbeatStopped { input }
}

fn failed(input: Input, reason: Reason) -> State {
    State::HeartbeatFailed { input, reason }
}

fn heartbeat(input: Input) -> Invocation {
    Invocation::Heartbeat { input }
}

fn wait(input: Input) -> Invocation {
    Invocation::Wait { input }
}

fn delayed(input: Input, attempts: u32, reason: Reason) -> Invocation {
    Invocation::DelayedHeartbeat {
        input,
        attempts,
        retry: crate::subscribe::machine::tests::default_decision(attempts, &reason),
        reason,
    }
}

fn leave(input: Input) -> Invocation {
    Invocation::Leave { input }
}

fn joined(input: Input) -> Event {
    Event::Joined { input }
}

fn left(input: Input) -> Event {
    Event::Left { input }
}

use Invocation::{CancelDelayedHeartbeat, CancelWait};
use State::HeartbeatInactive as Inactive;

// ---------------------------------------------------------------------------------------------
// The table.

type Row = crate::engine::checks::Row<PresenceMachine>;

fn row(
    name: &'static str,
    from: State,
    event: Event,
    to: State,
    invocations: Vec<Invocation>,
) -> Row {
    Row::new(name, from, event, to, invocations)
}

/// Every row of ENGINE.md §2, both LEFT branches, in the order of the document.
fn table() -> Vec<Row> {
    vec![
        row(
            "HeartbeatInactive --JOINED(x)--> Heartbeating{x}",
            Inactive,
            joined(joined_x()),
            heartbeating(joined_x()),
            vec![heartbeat(joined_x())],
        ),
        // Heartbeating
        row(
            "Heartbeating{I} --JOINED(x)--> Heartbeating{I∪x}",
            heartbeating(i()),
            joined(joined_x()),
            heartbeating(i_union_x()),
            vec![heartbeat(i_union_x())],
        ),
        row(
            "Heartbeating{I} --LEFT(x), rest ≠ ∅--> Heartbeating{rest}",
            heartbeating(i()),
            left(left_some()),
            heartbeating(rest_some()),
            vec![leave(gone_some()), heartbeat(rest_some())],
        ),
        row(
            "Heartbeating{I} --LEFT(x), rest = ∅--> HeartbeatInactive",
            heartbeating(i()),
            left(left_all_names()),
            Inactive,
            vec![leave(i())],
        ),
        row(
            "Heartbeating{I} --LEFT_ALL--> HeartbeatInactive",
            heartbeating(i()),
            Event::LeftAll,
            Inactive,
            vec![leave(i())],
        ),
        row(
            "Heartbeating{I} --HEARTBEAT_SUCCESS--> HeartbeatCooldown{I}",
            heartbeating(i()),
            Event::HeartbeatSuccess,
            cooldown(i()),
            vec![wait(i())],
        ),
        row(
            "Heartbeating{I} --HEARTBEAT_FAILURE(e)--> HeartbeatReconnecting{I, 1, e}",
            heartbeating(i()),
            Event::HeartbeatFailure { reason: e2() },
            reconnecting(i(), 1, e2()),
            vec![delayed(i(), 1, e2())],
        ),
        row(
            "Heartbeating{I} --DISCONNECT--> HeartbeatStopped{I}",
            heartbeating(i()),
            Event::Disconnect,
            stopped(i()),
            vec![leave(i())],
        ),
        // HeartbeatCooldown
        row(
            "HeartbeatCooldown{I} --JOINED(x)--> Heartbeating{I∪x}",
            cooldown(i()),
            joined(joined_x()),
            heartbeating(i_union_x()),
            vec![CancelWait, heartbeat(i_union_x())],
        ),
        row(
            "HeartbeatCooldown{I} --LEFT(x), rest ≠ ∅--> Heartbeating{rest}",
            cooldown(i()),
            left(left_some()),
            heartbeating(rest_some()),
            vec![CancelWait, leave(gone_some()), heartbeat(rest_some())],
        ),
        row(
            "HeartbeatCooldown{I} --LEFT(x), rest = ∅--> HeartbeatInactive",
            cooldown(i()),
            left(left_all_names()),
            Inactive,
            vec![CancelWait, leave(i())],
        ),
        row(
            "HeartbeatCooldown{I} --LEFT_ALL--> HeartbeatInactive",
            cooldown(i()),
            Event::LeftAll,
            Inactive,
            vec![CancelWait, leave(i())],
        ),
        row(
            "HeartbeatCooldown{I} --TIMES_UP--> Heartbeating{I}",
            cooldown(i()),
            Event::TimesUp,
            heartbeating(i()),
            vec![CancelWait, heartbeat(i())],
        ),
        row(
            "HeartbeatCooldown{I} --DISCONNECT--> HeartbeatStopped{I}",
            cooldown(i()),
            Event::Disconnect,
            stopped(i()),
            vec![CancelWait, leave(i())],
        ),
        // HeartbeatReconnecting
        row(
            "HeartbeatReconnecting{I,n,e} --HEARTBEAT_SUCCESS--> HeartbeatCooldown{I}",
            reconnecting(i(), N, e()),
            Event::HeartbeatSuccess,
            cooldown(i()),
            vec![CancelDelayedHeartbeat, wait(i())],
        ),
        row(
            "HeartbeatReconnecting{I,n,e} --HEARTBEAT_FAILURE(e')--> \
             HeartbeatReconnecting{I, n+1, e'}",
            reconnecting(i(), N, e()),
            Event::HeartbeatFailure { reason: e2() },
            reconnecting(i(), N + 1, e2()),
            vec![CancelDelayedHeartbeat, delayed(i(), N + 1, e2())],
        ),
        row(
            "HeartbeatReconnecting{I,n,e} --HEARTBEAT_GIVEUP(e')--> HeartbeatFailed{I, e'}",
            reconnecting(i(), N, e()),
            Event::HeartbeatGiveup { reason: e2() },
            failed(i(), e2()),
            vec![CancelDelayedHeartbeat],
        ),
        row(
            "HeartbeatReconnecting{I,n,e} --JOINED(x)--> Heartbeating{I∪x}",
            reconnecting(i(), N, e()),
            joined(joined_x()),
            heartbeating(i_union_x()),
            vec![CancelDelayedHeartbeat, heartbeat(i_union_x())],
        ),
        row(
            "HeartbeatReconnecting{I,n,e} --LEFT(x), rest ≠ ∅--> Heartbeating{rest}",
            reconnecting(i(), N, e()),
            left(left_some()),
            heartbeating(rest_some()),
            vec![
                CancelDelayedHeartbeat,
                leave(gone_some()),
                heartbeat(rest_some()),
            ],
        ),
        row(
            "HeartbeatReconnecting{I,n,e} --LEFT(x), rest = ∅--> HeartbeatInactive",
            reconnecting(i(), N, e()),
            left(left_all_names()),
            Inactive,
            vec![CancelDelayedHeartbeat, leave(i())],
        ),
        row(
            "HeartbeatReconnecting{I,n,e} --LEFT_ALL--> HeartbeatInactive",
            reconnecting(i(), N, e()),
            Event::LeftAll,
            Inactive,
            vec![CancelDelayedHeartbeat, leave(i())],
        ),
        row(
            "HeartbeatReconnecting{I,n,e} --RECONNECT--> Heartbeating{I}",
            reconnecting(i(), N, e()),
            Event::Reconnect,
            heartbeating(i()),
            vec![CancelDelayedHeartbeat, heartbeat(i())],
        ),
        row(
            "HeartbeatReconnecting{I,n,e} --DISCONNECT--> HeartbeatStopped{I}",
            reconnecting(i(), N, e()),
            Event::Disconnect,
            stopped(i()),
            vec![CancelDelayedHeartbeat, leave(i())],
        ),
        // HeartbeatStopped
        row(
            "HeartbeatStopped{I} --JOINED(x)--> HeartbeatStopped{I∪x}",
            stopped(i()),
            joined(joined_x()),
            stopped(i_union_x()),
            vec![],
        ),
        row(
            "HeartbeatStopped{I} --LEFT(x), rest ≠ ∅--> HeartbeatStopped{rest}",
            stopped(i()),
            left(left_some()),
            stopped(rest_some()),
            vec![],
        ),
        row(
            "HeartbeatStopped{I} --LEFT(x), rest = ∅--> HeartbeatInactive",
            stopped(i()),
            left(left_all_names()),
            Inactive,
            vec![],
        ),
        row(
            "HeartbeatStopped --LEFT_ALL--> HeartbeatInactive",
            stopped(i()),
            Event::LeftAll,
            Inactive,
            vec![],
        ),
        row(
            "HeartbeatStopped{I} --RECONNECT--> Heartbeating{I}",
            stopped(i()),
            Event::Reconnect,
            heartbeating(i()),
            vec![heartbeat(i())],
        ),
        // HeartbeatFailed
        row(
            "HeartbeatFailed{I,e} --JOINED(x)--> Heartbeating{I∪x}",
            failed(i(), e()),
            joined(joined_x()),
            heartbeating(i_union_x()),
            vec![heartbeat(i_union_x())],
        ),
        row(
            "HeartbeatFailed{I,e} --LEFT(x), rest ≠ ∅--> Heartbeating{rest}",
            failed(i(), e()),
            left(left_some()),
            heartbeating(rest_some()),
            vec![leave(gone_some()), heartbeat(rest_some())],
        ),
        row(
            "HeartbeatFailed{I,e} --LEFT(x), rest = ∅--> HeartbeatInactive",
            failed(i(), e()),
            left(left_all_names()),
            Inactive,
            vec![leave(i())],
        ),
        row(
            "HeartbeatFailed{I,e} --LEFT_ALL--> HeartbeatInactive",
            failed(i(), e()),
            Event::LeftAll,
            Inactive,
            vec![leave(i())],
        ),
        row(
            "HeartbeatFailed{I,e} --RECONNECT--> Heartbeating{I}",
            failed(i(), e()),
            Event::Reconnect,
            heartbeating(i()),
            vec![heartbeat(i())],
        ),
        row(
            "HeartbeatFailed{I,e} --DISCONNECT--> HeartbeatStopped{I}",
            failed(i(), e()),
            Event::Disconnect,
            stopped(i()),
            vec![leave(i())],
        ),
    ]
}

fn names(invocations: &[Invocation]) -> Vec<&'static str> {
    invocations.iter().map(Invocation::name).collect()
}

#[test]
fn every_row_of_the_transition_table() {
    crate::engine::checks::check_rows(&crate::engine::Context::default(), &table());
}

#[test]
fn the_table_covers_exactly_the_listed_pairs() {
    let covered: BTreeSet<(&str, &str)> = table()
        .iter()
        .map(|r| (r.from.name(), r.event.name()))
        .collect();
    assert_eq!(covered, listed());
    // 29 rows in ENGINE.md §2, plus the second branch of the 5 LEFT rows.
    assert_eq!(table().len(), 29 + 5);
}

// ---------------------------------------------------------------------------------------------
// Exhaustive walk and the set rules.

const STATE_NAMES: [&str; 6] = [
    "HeartbeatInactive",
    "Heartbeating",
    "HeartbeatCooldown",
    "HeartbeatReconnecting",
    "HeartbeatStopped",
    "HeartbeatFailed",
];

const EVENT_NAMES: [&str; 9] = [
    "JOINED",
    "LEFT",
    "LEFT_ALL",
    "HEARTBEAT_SUCCESS",
    "HEARTBEAT_FAILURE",
    "HEARTBEAT_GIVEUP",
    "DISCONNECT",
    "RECONNECT",
    "TIMES_UP",
];

const INVOCATION_NAMES: [&str; 6] = [
    "HEARTBEAT",
    "WAIT",
    "CANCEL_WAIT",
    "DELAYED_HEARTBEAT",
    "CANCEL_DELAYED_HEARTBEAT",
    "LEAVE",
];

/// The (state, event) pairs ENGINE.md §2 lists; every other pair is ignored.
fn listed() -> BTreeSet<(&'static str, &'static str)> {
    let pairs: &[(&str, &[&str])] = &[
        ("HeartbeatInactive", &["JOINED"]),
        (
            "Heartbeating",
            &[
                "JOINED",
                "LEFT",
                "LEFT_ALL",
                "HEARTBEAT_SUCCESS",
                "HEARTBEAT_FAILURE",
                "DISCONNECT",
            ],
        ),
        (
            "HeartbeatCooldown",
            &["JOINED", "LEFT", "LEFT_ALL", "TIMES_UP", "DISCONNECT"],
        ),
        (
            "HeartbeatReconnecting",
            &[
                "HEARTBEAT_SUCCESS",
                "HEARTBEAT_FAILURE",
                "HEARTBEAT_GIVEUP",
                "JOINED",
                "LEFT",
                "LEFT_ALL",
                "RECONNECT",
                "DISCONNECT",
            ],
        ),
        (
            "HeartbeatStopped",
            &["JOINED", "LEFT", "LEFT_ALL", "RECONNECT"],
        ),
        (
            "HeartbeatFailed",
            &["JOINED", "LEFT", "LEFT_ALL", "RECONNECT", "DISCONNECT"],
        ),
    ];
    let set: BTreeSet<_> = pairs
        .iter()
        .flat_map(|(state, events)| events.iter().map(move |event| (*state, *event)))
        .collect();
    assert_eq!(set.len(), 29, "ENGINE.md §2 has 29 rows");
    set
}

fn my_states() -> Vec<State> {
    vec![
        Inactive,
        heartbeating(i()),
        cooldown(i()),
        reconnecting(i(), N, e()),
        stopped(i()),
        failed(i(), e()),
    ]
}

fn my_events() -> Vec<Event> {
    vec![
        joined(joined_x()),
        left(left_some()),
        left(left_all_names()),
        Event::LeftAll,
        Event::HeartbeatSuccess,
        Event::HeartbeatFailure { reason: e2() },
        Event::HeartbeatGiveup { reason: e2() },
        Event::Disconnect,
        Event::Reconnect,
        Event::TimesUp,
    ]
}

/// The input a state holds (∅ when inactive), read from the variant, not from the machine.
fn input_of(state: &State) -> Input {
    match state {
        State::HeartbeatInactive => Input::default(),
        State::Heartbeating { input }
        | State::HeartbeatCooldown { input }
        | State::HeartbeatReconnecting { input, .. }
        | State::HeartbeatStopped { input }
        | State::HeartbeatFailed { input, .. } => input.clone(),
    }
}

/// The §2 set rules: JOINED(x ⊆ I) and LEFT(x) with I ∩ x = ∅ are ignored in every state.
fn ignored_by_set_rules(state: &State, event: &Event) -> bool {
    let current = input_of(state);
    match event {
        Event::Joined { input } => input.is_subset(&current),
        Event::Left { input } => current.intersection(input).is_empty(),
        _ => false,
    }
}

/// Every (state, event) pair of this test's values and of the machine's samples (what the
/// diagrams are drawn from) is handled exactly when §2 lists it.
#[test]
fn every_unlisted_pair_is_ignored_and_every_listed_pair_is_not() {
    let listed = listed();
    crate::engine::checks::walk_all::<PresenceMachine>(
        (my_states(), my_events()),
        (&STATE_NAMES, &EVENT_NAMES),
        &|state, event| {
            listed.contains(&(state.name(), event.name())) && !ignored_by_set_rules(state, event)
        },
    );
}

#[test]
fn joined_of_known_names_is_ignored_in_every_state() {
    for state in my_states() {
        let current = input_of(&state);
        let known = [
            current.clone(),
            Input::default(),
            Input::channels(current.channels.iter().take(1).cloned()),
            Input::new(Vec::<String>::new(), current.groups.iter().cloned()),
        ];
        for x in known {
            assert_eq!(
                transition(&state, &joined(x.clone())),
                None,
                "{} --JOINED({x})--> must be ignored",
                state.name()
            );
        }
    }
}

#[test]
fn left_of_unknown_names_is_ignored_in_every_state() {
    for state in my_states() {
        let unknown = [
            Input::default(),
            Input::channels(["z"]),
            Input::new(["y"], ["h"]),
            // A group named like a subscribed channel is a different name.
            Input::new(Vec::<String>::new(), ["a", "b"]),
        ];
        for x in unknown {
            assert_eq!(
                transition(&state, &left(x.clone())),
                None,
                "{} --LEFT({x})--> must be ignored",
                state.name()
            );
        }
    }
}

#[test]
fn a_heartbeat_is_never_sent_for_an_empty_input() {
    let mut states = my_states();
    states.extend(PresenceMachine::sample_states());
    let mut events = my_events();
    events.extend(PresenceMachine::sample_events());
    events.push(joined(Input::default()));
    events.push(left(Input::default()));
    for state in &states {
        for event in &events {
            let Some(t) = transition(state, event) else {
                continue;
            };
            for invocation in &t.invocations {
                let input = match invocation {
                    Invocation::Heartbeat { input }
                    | Invocation::Wait { input }
                    | Invocation::DelayedHeartbeat { input, .. }
                    | Invocation::Leave { input } => input,
                    _ => continue,
                };
                assert!(
                    !input.is_empty(),
                    "{state:?} --{event:?}--> {invocation:?} has an empty input"
                );
            }
            if let Some(input) = t.state.input() {
                assert!(!input.is_empty(), "{state:?} --{event:?}--> {:?}", t.state);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants.

#[test]
fn trace_names_are_spelled_as_in_engine_md() {
    let states: BTreeSet<&str> = my_states()
        .iter()
        .map(PresenceMachine::state_name)
        .collect();
    assert_eq!(states, STATE_NAMES.into_iter().collect::<BTreeSet<_>>());

    let events = [
        (joined(joined_x()), "JOINED"),
        (left(left_some()), "LEFT"),
        (Event::LeftAll, "LEFT_ALL"),
        (Event::HeartbeatSuccess, "HEARTBEAT_SUCCESS"),
        (Event::HeartbeatFailure { reason: e() }, "HEARTBEAT_FAILURE"),
        (Event::HeartbeatGiveup { reason: e() }, "HEARTBEAT_GIVEUP"),
        (Event::Disconnect, "DISCONNECT"),
        (Event::Reconnect, "RECONNECT"),
        (Event::TimesUp, "TIMES_UP"),
    ];
    crate::engine::checks::assert_spelled(
        &events,
        &EVENT_NAMES,
        Event::name,
        PresenceMachine::event_name,
    );

    let invocations = [
        (heartbeat(i()), "HEARTBEAT"),
        (wait(i()), "WAIT"),
        (CancelWait, "CANCEL_WAIT"),
        (delayed(i(), 1, e()), "DELAYED_HEARTBEAT"),
        (CancelDelayedHeartbeat, "CANCEL_DELAYED_HEARTBEAT"),
        (leave(i()), "LEAVE"),
    ];
    crate::engine::checks::assert_spelled(
        &invocations,
        &INVOCATION_NAMES,
        Invocation::name,
        PresenceMachine::invocation_name,
    );
}

#[test]
fn lifecycles_follow_section_2() {
    // A heartbeat is managed (a new one replaces it) but has no cancel invocation: PubNub's
    // scenarios have none.
    assert_eq!(
        PresenceMachine::lifecycle(&heartbeat(i())),
        Lifecycle::Managed("HEARTBEAT")
    );
    for (start, cancel) in [
        (wait(i()), CancelWait),
        (delayed(i(), 1, e()), CancelDelayedHeartbeat),
    ] {
        let Lifecycle::Managed(kind) = PresenceMachine::lifecycle(&start) else {
            panic!("{} must be managed", start.name());
        };
        assert_eq!(PresenceMachine::lifecycle(&cancel), Lifecycle::Cancel(kind));
    }
    assert_ne!(
        PresenceMachine::lifecycle(&wait(i())),
        PresenceMachine::lifecycle(&delayed(i(), 1, e()))
    );
    assert_eq!(
        PresenceMachine::lifecycle(&leave(i())),
        Lifecycle::Immediate
    );
}

fn exit_of(state: &State) -> Option<Invocation> {
    match state {
        State::HeartbeatCooldown { .. } => Some(CancelWait),
        State::HeartbeatReconnecting { .. } => Some(CancelDelayedHeartbeat),
        _ => None,
    }
}

fn entry_of(state: &State) -> Option<Invocation> {
    match state.clone() {
        State::Heartbeating { input } => Some(heartbeat(input)),
        State::HeartbeatCooldown { input } => Some(wait(input)),
        State::HeartbeatReconnecting {
            input,
            attempts,
            reason,
        } => Some(delayed(input, attempts, reason)),
        _ => None,
    }
}

#[test]
fn every_transition_is_exit_then_own_then_entry() {
    crate::engine::checks::assert_exit_own_entry::<PresenceMachine>(
        &my_states(),
        &my_events(),
        &exit_of,
        &entry_of,
        &|own| matches!(own, Invocation::Leave { .. }),
    );
}

#[test]
fn a_self_transition_cancels_and_restarts_the_delayed_heartbeat() {
    let t = transition(
        &reconnecting(i(), 1, e()),
        &Event::HeartbeatFailure { reason: e2() },
    )
    .expect("HEARTBEAT_FAILURE is handled in HeartbeatReconnecting");
    assert_eq!(
        names(&t.invocations),
        ["CANCEL_DELAYED_HEARTBEAT", "DELAYED_HEARTBEAT"]
    );
}

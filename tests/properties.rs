//! Properties (proptest) of both machines and of the driver behind the client.
//!
//! Machines: from the initial state, random event sequences never panic; the managed effects
//! running (tracked through each invocation's lifecycle, as the driver does) are always exactly
//! the entry effect of the current state, so two of one kind never run; a result of the running
//! effect is never ignored; and UNSUBSCRIBE_ALL / LEFT_ALL from any reachable state return to
//! Unsubscribed / HeartbeatInactive with nothing left running.
//!
//! Driver and client: random user actions interleaved with injected faults, through the
//! in-memory `pubnub-local`: the engines' final input is the union of what is still subscribed,
//! and nothing is left running after close.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use pubnub_engine::engine::{Context, Machine};
use pubnub_engine::presence::machine::{self as presence, PresenceMachine};
use pubnub_engine::subscribe::machine::{self as subscribe, Messages, SubscribeMachine};
use pubnub_engine::testing::Lifecycle;
use pubnub_engine::{Cursor, ErrorKind, Input, Reason, Subscription, SubscriptionOptions};
use pubnub_local::{Endpoint, Fault};

use support::memory::{Memory, NetFault};

fn input() -> impl Strategy<Value = Input> {
    (
        proptest::sample::subsequence(vec!["a", "b", "c", "a-pnpres", "w.*"], 0..=3),
        proptest::sample::subsequence(vec!["g1", "g2", "g1-pnpres"], 0..=2),
    )
        .prop_map(|(c, g)| Input::new(c, g))
}

fn plain_input() -> impl Strategy<Value = Input> {
    (
        proptest::sample::subsequence(vec!["a", "b", "c", "d"], 0..=3),
        proptest::sample::subsequence(vec!["g1", "g2"], 0..=1),
    )
        .prop_map(|(c, g)| Input::new(c, g))
}

fn cursor() -> impl Strategy<Value = Cursor> {
    (0u64..1000, 0u32..3).prop_map(|(t, r)| Cursor::new(17_000_000_000_000_000 + t, r))
}

fn reason() -> impl Strategy<Value = Reason> {
    prop_oneof![
        Just(Reason::new(ErrorKind::Network, "reset")),
        Just(Reason::new(ErrorKind::Timeout, "timed out")),
        Just(Reason::http(500, "oops")),
        Just(Reason::http(429, "slow down").with_retry_after(1)),
        Just(Reason::http(403, "Forbidden")),
    ]
}

fn no_messages() -> Messages {
    Arc::from(Vec::new())
}

fn subscribe_event() -> impl Strategy<Value = subscribe::Event> {
    use subscribe::Event as E;
    prop_oneof![
        input().prop_map(|input| E::SubscriptionChanged { input }),
        (input(), cursor()).prop_map(|(input, cursor)| E::SubscriptionRestored { input, cursor }),
        cursor().prop_map(|cursor| E::HandshakeSuccess { cursor }),
        reason().prop_map(|reason| E::HandshakeFailure { reason }),
        cursor().prop_map(|cursor| E::HandshakeReconnectSuccess { cursor }),
        reason().prop_map(|reason| E::HandshakeReconnectFailure { reason }),
        reason().prop_map(|reason| E::HandshakeReconnectGiveup { reason }),
        cursor().prop_map(|cursor| E::ReceiveSuccess {
            cursor,
            messages: no_messages()
        }),
        reason().prop_map(|reason| E::ReceiveFailure { reason }),
        cursor().prop_map(|cursor| E::ReceiveReconnectSuccess {
            cursor,
            messages: no_messages()
        }),
        reason().prop_map(|reason| E::ReceiveReconnectFailure { reason }),
        reason().prop_map(|reason| E::ReceiveReconnectGiveup { reason }),
        Just(E::Disconnect),
        proptest::option::of(cursor()).prop_map(|cursor| E::Reconnect { cursor }),
        Just(E::UnsubscribeAll),
    ]
}

fn presence_event() -> impl Strategy<Value = presence::Event> {
    use presence::Event as E;
    prop_oneof![
        plain_input().prop_map(|input| E::Joined { input }),
        plain_input().prop_map(|input| E::Left { input }),
        Just(E::LeftAll),
        Just(E::HeartbeatSuccess),
        reason().prop_map(|reason| E::HeartbeatFailure { reason }),
        reason().prop_map(|reason| E::HeartbeatGiveup { reason }),
        Just(E::Disconnect),
        Just(E::Reconnect),
        Just(E::TimesUp),
    ]
}

/// One step of a driver-faithful run: an outside event, or the result of the effect running.
#[derive(Debug, Clone)]
enum Step<E> {
    Outside(E),
    /// The running managed effect ends with outcome `n` (success, failure, give-up …).
    Result(u8, Cursor, Reason),
}

fn steps<E: std::fmt::Debug + Clone>(
    outside: impl Strategy<Value = E>,
) -> impl Strategy<Value = Vec<Step<E>>> {
    proptest::collection::vec(
        prop_oneof![
            2 => outside.prop_map(Step::Outside),
            3 => (0u8..3, cursor(), reason()).prop_map(|(n, c, r)| Step::Result(n, c, r)),
        ],
        0..60,
    )
}

/// What the driver's map of running effects holds after the machine's invocations.
fn track<M: Machine>(
    running: &mut BTreeSet<&'static str>,
    invocations: &[M::Invocation],
    to: &M::State,
) -> Result<(), TestCaseError> {
    for invocation in invocations {
        match M::lifecycle(invocation) {
            // The driver's rule: a managed effect replaces one of its kind still running.
            Lifecycle::Managed(kind) => {
                running.insert(kind);
            }
            Lifecycle::Cancel(kind) => {
                running.remove(kind);
            }
            Lifecycle::Immediate => {}
        }
    }
    // The driver's other rule: only the entry effect of the state entered may go on running.
    let allowed = M::entry_effect(to);
    running.retain(|kind| Some(*kind) == allowed);
    Ok(())
}

/// The managed effects a state's entry starts.
fn entry_effects<M: Machine>(state: &M::State) -> BTreeSet<&'static str> {
    M::on_entry(&Context::default(), state)
        .iter()
        .filter_map(|i| match M::lifecycle(i) {
            Lifecycle::Managed(kind) => Some(kind),
            _ => None,
        })
        .collect()
}

/// The result event a running subscribe effect may report.
fn subscribe_result(kind: &str, n: u8, cursor: Cursor, reason: Reason) -> subscribe::Event {
    use subscribe::Event as E;
    let messages = no_messages();
    match (kind, n) {
        ("HANDSHAKE", 0) => E::HandshakeSuccess { cursor },
        ("HANDSHAKE", _) => E::HandshakeFailure { reason },
        ("HANDSHAKE_RECONNECT", 0) => E::HandshakeReconnectSuccess { cursor },
        ("HANDSHAKE_RECONNECT", 1) => E::HandshakeReconnectFailure { reason },
        ("HANDSHAKE_RECONNECT", _) => E::HandshakeReconnectGiveup { reason },
        ("RECEIVE_MESSAGES", 0) => E::ReceiveSuccess { cursor, messages },
        ("RECEIVE_MESSAGES", _) => E::ReceiveFailure { reason },
        ("RECEIVE_RECONNECT", 0) => E::ReceiveReconnectSuccess { cursor, messages },
        ("RECEIVE_RECONNECT", 1) => E::ReceiveReconnectFailure { reason },
        (_, _) => E::ReceiveReconnectGiveup { reason },
    }
}

fn presence_result(kind: &str, n: u8, reason: Reason) -> presence::Event {
    use presence::Event as E;
    match (kind, n) {
        ("WAIT", _) => E::TimesUp,
        (_, 0) => E::HeartbeatSuccess,
        // Only a delayed heartbeat gives up (its decision); a heartbeat succeeds or fails.
        ("HEARTBEAT", _) => E::HeartbeatFailure { reason },
        (_, 1) => E::HeartbeatFailure { reason },
        (_, _) => E::HeartbeatGiveup { reason },
    }
}

/// Runs `steps` the way the driver would; checks the invariants after every step and that
/// `leave_all` from every reachable state ends in `rest` with nothing running.
fn run_machine<M: Machine>(
    steps: Vec<Step<M::Event>>,
    result: impl Fn(&str, u8, Cursor, Reason) -> Option<M::Event>,
    leave_all: &[M::Event],
    rest: &M::State,
    check: impl Fn(&M::State, &[M::Invocation]) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let mut state = M::initial();
    let mut running = BTreeSet::new();
    for step in steps {
        let event = match step {
            Step::Outside(event) => event,
            Step::Result(n, cursor, reason) => {
                // Only the running effect reports; the driver drops results of cancelled ones.
                let Some(kind) = running.iter().next().copied() else {
                    continue;
                };
                let Some(event) = result(kind, n, cursor, reason) else {
                    continue;
                };
                running.remove(kind);
                let transition = M::transition(&Context::default(), &state, &event);
                prop_assert!(
                    transition.is_some(),
                    "the result {event:?} of the running {kind} was ignored in {state:?}"
                );
                event
            }
        };
        if let Some(t) = M::transition(&Context::default(), &state, &event) {
            track::<M>(&mut running, &t.invocations, &t.state)?;
            check(&t.state, &t.invocations)?;
            state = t.state;
        }
        prop_assert_eq!(&running, &entry_effects::<M>(&state), "in {:?}", state);
        prop_assert!(running.len() <= 1);
        for leave in leave_all {
            let mut after = running.clone();
            match M::transition(&Context::default(), &state, leave) {
                Some(t) => {
                    track::<M>(&mut after, &t.invocations, &t.state)?;
                    prop_assert_eq!(&t.state, rest, "{:?} from {:?}", leave, state);
                    prop_assert!(after.is_empty(), "{after:?} left running after {leave:?}");
                }
                None => prop_assert_eq!(&state, rest, "{:?} ignored in {:?}", leave, state),
            }
        }
    }
    Ok(())
}

fn subscribe_check(
    _: &subscribe::State,
    invocations: &[subscribe::Invocation],
) -> Result<(), TestCaseError> {
    for i in invocations {
        if let subscribe::Invocation::Handshake { input, .. }
        | subscribe::Invocation::ReceiveMessages { input, .. } = i
        {
            prop_assert!(!input.is_empty(), "a request for nothing: {i:?}");
        }
    }
    Ok(())
}

fn presence_check(
    _: &presence::State,
    invocations: &[presence::Invocation],
) -> Result<(), TestCaseError> {
    for i in invocations {
        match i {
            presence::Invocation::Heartbeat { input }
            | presence::Invocation::Leave { input }
            | presence::Invocation::DelayedHeartbeat { input, .. } => {
                prop_assert!(!input.is_empty(), "{i:?} for nothing");
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Failures print their minimal input; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn subscribe_machine_runs_one_effect_and_always_unsubscribes(steps in steps(subscribe_event())) {
        run_machine::<SubscribeMachine>(
            steps,
            |kind, n, c, r| Some(subscribe_result(kind, n, c, r)),
            &[
                subscribe::Event::UnsubscribeAll,
                subscribe::Event::SubscriptionChanged { input: Input::default() },
                subscribe::Event::SubscriptionRestored {
                    input: Input::default(),
                    cursor: Cursor::new(17_000_000_000_000_000, 0),
                },
            ],
            &subscribe::State::Unsubscribed,
            subscribe_check,
        )?;
    }

    #[test]
    fn presence_machine_runs_one_effect_and_always_leaves(steps in steps(presence_event())) {
        run_machine::<PresenceMachine>(
            steps,
            |kind, n, _, r| Some(presence_result(kind, n, r)),
            &[presence::Event::LeftAll],
            &presence::State::HeartbeatInactive,
            presence_check,
        )?;
    }

    /// Any event in any order (results of effects that are not running included): no panic,
    /// and the running effects still match the state.
    #[test]
    fn arbitrary_events_never_break_the_machines(
        s in proptest::collection::vec(subscribe_event(), 0..60),
        p in proptest::collection::vec(presence_event(), 0..60),
    ) {
        let mut state = SubscribeMachine::initial();
        let mut running = BTreeSet::new();
        for event in s {
            if let Some(t) = subscribe::transition(&state, &event) {
                for i in &t.invocations {
                    match i.lifecycle() {
                        Lifecycle::Managed(k) => { running.insert(k); }
                        Lifecycle::Cancel(k) => { running.remove(k); }
                        Lifecycle::Immediate => {}
                    }
                }
                state = t.state;
            }
            prop_assert_eq!(&running, &entry_effects::<SubscribeMachine>(&state));
        }
        let mut state = PresenceMachine::initial();
        let mut running = BTreeSet::new();
        for event in p {
            if let Some(t) = presence::transition(&state, &event) {
                presence_check(&t.state, &t.invocations)?;
                // The presence machine has no invocation that cancels a heartbeat (PubNub's
                // scenarios have none): the driver's rules replace and end it.
                track::<PresenceMachine>(&mut running, &t.invocations, &t.state)?;
                state = t.state;
            }
            prop_assert_eq!(&running, &entry_effects::<PresenceMachine>(&state));
        }
    }
}

/// A user action or a fault, for the driver property.
#[derive(Debug, Clone)]
enum Action {
    Subscribe { target: usize, presence: bool },
    Unsubscribe(usize),
    Drop(usize),
    SetAdd(usize),
    SetRemove,
    Disconnect,
    Reconnect,
    UnsubscribeAll,
    ServerFault(u8),
    NetFault(u8),
    Wait(u64),
}

const TARGETS: [&str; 4] = ["a", "b", "c", "w.*"];

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0..TARGETS.len(), any::<bool>())
            .prop_map(|(target, presence)| Action::Subscribe { target, presence }),
        2 => (0usize..8).prop_map(Action::Unsubscribe),
        2 => (0usize..8).prop_map(Action::Drop),
        1 => (0..TARGETS.len()).prop_map(Action::SetAdd),
        1 => Just(Action::SetRemove),
        1 => Just(Action::Disconnect),
        1 => Just(Action::Reconnect),
        1 => Just(Action::UnsubscribeAll),
        2 => (0u8..6).prop_map(Action::ServerFault),
        2 => (0u8..4).prop_map(Action::NetFault),
        2 => (0u64..40).prop_map(Action::Wait),
    ]
}

/// Runs `actions` against a client with (or without) the presence engine; checks the final
/// input and that close ends everything.
async fn drive(actions: Vec<Action>, heartbeat: bool) -> Result<(), String> {
    let memory = Memory::new();
    let pubnub = memory.client_with("prop", |b| {
        if heartbeat {
            b.heartbeat_interval(10).presence_timeout(30)
        } else {
            b
        }
    });
    let mut subs: Vec<(Subscription, bool)> = Vec::new();
    let mut dropped: Vec<Input> = Vec::new();
    let set = pubnub.subscription_set([]);
    let mut set_members: Vec<Subscription> = Vec::new();
    let mut set_subscribed = false;
    for action in actions {
        match action {
            Action::Subscribe { target, presence } => {
                let options = if presence {
                    SubscriptionOptions::new().with_presence()
                } else {
                    SubscriptionOptions::new()
                };
                let sub = pubnub.channel(TARGETS[target]).subscription(options);
                sub.subscribe().map_err(|e| e.to_string())?;
                subs.push((sub, true));
            }
            Action::Unsubscribe(i) if !subs.is_empty() => {
                let i = i % subs.len();
                if subs[i].1 {
                    subs[i].0.unsubscribe();
                } else {
                    subs[i].0.subscribe().map_err(|e| e.to_string())?;
                }
                subs[i].1 = !subs[i].1;
            }
            Action::Drop(i) if !subs.is_empty() => {
                // A dropped handle does not unsubscribe: its names stay until unsubscribe_all.
                let (sub, subscribed) = subs.remove(i % subs.len());
                if subscribed {
                    dropped.push(sub.names().clone());
                }
            }
            Action::SetAdd(target) => {
                let sub = pubnub
                    .channel(TARGETS[target])
                    .subscription(SubscriptionOptions::new());
                set.add(sub.clone()).map_err(|e| e.to_string())?;
                set_members.push(sub);
                if !set_subscribed {
                    set.subscribe().map_err(|e| e.to_string())?;
                    set_subscribed = true;
                }
            }
            Action::SetRemove if !set_members.is_empty() => {
                let sub = set_members.remove(0);
                set.remove(&sub);
            }
            Action::Disconnect => pubnub.disconnect(),
            Action::Reconnect => pubnub.reconnect(),
            Action::UnsubscribeAll => {
                pubnub.unsubscribe_all();
                dropped.clear();
                for s in &mut subs {
                    s.1 = false;
                }
                set_subscribed = false;
            }
            Action::ServerFault(kind) => {
                let fault = match kind {
                    0 => Fault::status(500),
                    1 => Fault::status(429).retry_after(2),
                    2 => Fault::reset(),
                    3 => Fault::truncated(),
                    4 => Fault::non_json(),
                    _ => Fault::hang(),
                };
                memory
                    .server()
                    .faults()
                    .inject(fault.on(Endpoint::All).times(2));
            }
            Action::NetFault(kind) => memory.force(match kind {
                0 => NetFault::DropRequest,
                1 => NetFault::DropResponse,
                2 => NetFault::Delay(Duration::from_secs(5)),
                _ => NetFault::Hang,
            }),
            Action::Wait(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            _ => {}
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut union = dropped
        .iter()
        .fold(Input::default(), |u, names| u.union(names));
    for (sub, subscribed) in &subs {
        if *subscribed {
            union = union.union(sub.names());
        }
    }
    if set_subscribed {
        union = union.union(&set.names());
    }
    let state = pubnub.subscribe_state().await;
    let engine_input = state.as_ref().and_then(|s| s.input().cloned());
    if union.is_empty() {
        if engine_input.is_some() {
            return Err(format!("nothing subscribed, but the engine has {state:?}"));
        }
    } else if engine_input.as_ref() != Some(&union) {
        return Err(format!("engine input {engine_input:?} != union {union:?}"));
    }
    if heartbeat {
        let presence = pubnub.presence_state().await;
        let want = union.without_presence();
        let have = presence.as_ref().and_then(|s| s.input().cloned());
        let ok = if want.is_empty() {
            have.is_none()
        } else {
            have.as_ref() == Some(&want)
        };
        if !ok {
            return Err(format!("presence input {have:?} != {want:?}"));
        }
    }
    let tracker = pubnub_engine::testing::task_tracker(&pubnub);
    drop(subs);
    drop(set_members);
    drop(set);
    tokio::time::timeout(Duration::from_secs(60), pubnub.close())
        .await
        .map_err(|_| "close() did not end".to_string())?;
    if !tracker.is_empty() {
        return Err(format!("{} tasks left after close", tracker.len()));
    }
    if memory.in_flight() != 0 {
        return Err(format!(
            "{} requests in flight after close",
            memory.in_flight()
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        // Failures print their minimal input; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_engine_input_is_the_union_of_subscriptions_and_close_leaves_nothing(
        actions in proptest::collection::vec(action(), 0..30),
        heartbeat in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let outcome = runtime.block_on(drive(actions, heartbeat));
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

/// Found by the simulation: a set that `unsubscribe_all` cleared came back when a member was
/// added or removed.
#[tokio::test(start_paused = true)]
async fn a_set_cleared_by_unsubscribe_all_stays_unsubscribed() {
    let memory = Memory::new();
    let pubnub = memory.client("sets");
    let a = pubnub.channel("a").subscription(SubscriptionOptions::new());
    let set = pubnub.subscription_set([a.clone()]);
    set.subscribe().unwrap();
    pubnub.unsubscribe_all();
    assert!(!set.is_subscribed());
    set.add(pubnub.channel("b").subscription(SubscriptionOptions::new()))
        .unwrap();
    set.remove(&a);
    assert!(!set.is_subscribed());
    assert_eq!(pubnub_engine::testing::registry_size(&pubnub), (0, 0));
    assert_eq!(
        pubnub.subscribe_state().await,
        Some(subscribe::State::Unsubscribed)
    );
    pubnub.close().await;
}

/// Found by the property above: a subscribed set emptied by `remove` subscribes what is added.
#[tokio::test(start_paused = true)]
async fn an_emptied_set_subscribes_what_is_added_later() {
    let memory = Memory::new();
    let pubnub = memory.client("sets");
    let a = pubnub.channel("a").subscription(SubscriptionOptions::new());
    let set = pubnub.subscription_set([a.clone()]);
    set.subscribe().unwrap();
    set.remove(&a);
    set.add(pubnub.channel("b").subscription(SubscriptionOptions::new()))
        .unwrap();
    assert!(set.is_subscribed());
    let state = pubnub.subscribe_state().await.unwrap();
    assert_eq!(state.input(), Some(&Input::channels(["b"])));
    pubnub.close().await;
}

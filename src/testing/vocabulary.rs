//! Checks that a machine's vocabulary constants are exactly the names the machine uses.

use std::collections::BTreeSet;

use crate::engine::{Context, Machine};

/// Walks `M` from its initial and sample states through every sample event, three transitions
/// deep, and collects the names of every state reached, every event and every invocation
/// dispatched (exit, transition and entry invocations alike).
fn names<M: Machine>() -> [BTreeSet<&'static str>; 3] {
    let context = Context::default();
    let mut states = BTreeSet::new();
    let mut invocations = BTreeSet::new();
    let events: BTreeSet<&'static str> = M::sample_events().iter().map(M::event_name).collect();
    let mut seen: Vec<M::State> = Vec::new();
    let mut frontier: Vec<M::State> = M::sample_states();
    frontier.push(M::initial());
    for _depth in 0..3 {
        let mut next = Vec::new();
        for state in frontier {
            if seen.contains(&state) {
                continue;
            }
            states.insert(M::state_name(&state));
            let own = M::on_entry(&context, &state)
                .into_iter()
                .chain(M::on_exit(&state));
            invocations.extend(own.map(|i| M::invocation_name(&i)));
            for event in M::sample_events() {
                if let Some(transition) = M::transition(&context, &state, &event) {
                    states.insert(M::state_name(&transition.state));
                    invocations.extend(transition.invocations.iter().map(M::invocation_name));
                    next.push(transition.state);
                }
            }
            seen.push(state);
        }
        frontier = next;
    }
    [states, events, invocations]
}

/// Fails, naming the difference, unless the constants of machine `M` are exactly its names.
pub(crate) fn assert_matches<M: Machine>(
    machine: &str,
    states: &[&str],
    events: &[&str],
    invocations: &[&str],
) {
    assert_eq!(M::NAME, machine, "the machine's name");
    let [used_states, used_events, used_invocations] = names::<M>();
    for (kind, used, declared) in [
        ("state", used_states, states),
        ("event", used_events, events),
        ("invocation", used_invocations, invocations),
    ] {
        let declared: BTreeSet<&str> = declared.iter().copied().collect();
        let missing: Vec<_> = used.difference(&declared).collect();
        let stale: Vec<_> = declared.difference(&used).collect();
        assert!(
            missing.is_empty() && stale.is_empty(),
            "the {machine} machine's {kind} names changed: add {missing:?} to and remove \
             {stale:?} from src/testing/{machine}.rs (constants and the list), so that users' \
             tables keep naming what the machine does"
        );
    }
}

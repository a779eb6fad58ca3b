//! What the tests of every machine check the same way: that their states and events (and the
//! machine's own samples) name every variant of the vocabulary, and the exhaustive walk over
//! every (state, event) pair.

use std::collections::BTreeSet;

use super::{Context, Machine};

/// The state and event names of `states` and `events` are exactly `vocabulary`'s.
pub(crate) fn assert_covers<M: Machine>(
    states: &[M::State],
    events: &[M::Event],
    vocabulary: (&[&str], &[&str]),
) {
    let state_names: BTreeSet<&str> = states.iter().map(M::state_name).collect();
    let event_names: BTreeSet<&str> = events.iter().map(M::event_name).collect();
    assert_eq!(state_names, vocabulary.0.iter().copied().collect());
    assert_eq!(event_names, vocabulary.1.iter().copied().collect());
}

/// Every pair of `states × events` is handled (`Some`) exactly when `listed` says so.
pub(crate) fn walk<M: Machine>(
    states: &[M::State],
    events: &[M::Event],
    listed: &dyn Fn(&M::State, &M::Event) -> bool,
) {
    let context = Context::default();
    let mut failures = Vec::new();
    for state in states {
        for event in events {
            let expected = listed(state, event);
            let actual = M::transition(&context, state, event);
            if expected != actual.is_some() {
                let got = actual.map(|t| {
                    let names: Vec<_> = t.invocations.iter().map(M::invocation_name).collect();
                    (M::state_name(&t.state), names)
                });
                failures.push(format!(
                    "{state:?} --{event:?}--> expected {}, got {got:?}",
                    if expected { "Some" } else { "None" },
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Both walks: a test's own values, and the machine's samples (what the diagrams are drawn
/// from), each covering the whole vocabulary.
pub(crate) fn walk_all<M: Machine>(
    mine: (Vec<M::State>, Vec<M::Event>),
    vocabulary: (&[&str], &[&str]),
    listed: &dyn Fn(&M::State, &M::Event) -> bool,
) {
    for (states, events) in [mine, (M::sample_states(), M::sample_events())] {
        assert_covers::<M>(&states, &events, vocabulary);
        walk::<M>(&states, &events, listed);
    }
}

/// Every transition of `states × events` lists the exit invocation of the state it leaves first
/// (`exit_of`), the entry invocation of the state it enters last (`entry_of`), and between them
/// only invocations of its own that `own` accepts.
pub(crate) fn assert_exit_own_entry<M: Machine>(
    states: &[M::State],
    events: &[M::Event],
    exit_of: &dyn Fn(&M::State) -> Option<M::Invocation>,
    entry_of: &dyn Fn(&M::State) -> Option<M::Invocation>,
    own: &dyn Fn(&M::Invocation) -> bool,
) where
    M::Invocation: PartialEq,
{
    let context = Context::default();
    for state in states {
        for event in events {
            let Some(t) = M::transition(&context, state, event) else {
                continue;
            };
            let label = format!(
                "{} --{}--> {}",
                M::state_name(state),
                M::event_name(event),
                M::state_name(&t.state)
            );
            let mut rest: &[M::Invocation] = &t.invocations;
            if let Some(exit) = exit_of(state) {
                assert_eq!(rest.first(), Some(&exit), "{label}: exit first");
                rest = &rest[1..];
            }
            if let Some(entry) = entry_of(&t.state) {
                assert_eq!(rest.last(), Some(&entry), "{label}: entry last");
                rest = &rest[..rest.len() - 1];
            }
            for invocation in rest {
                assert!(
                    own(invocation),
                    "{label}: unexpected own invocation {invocation:?}"
                );
            }
        }
    }
}

/// `values` are spelled as `expected` lists them, in order, by their own `name` and by the
/// machine's (`machine_name`).
pub(crate) fn assert_spelled<T>(
    values: &[(T, &str)],
    expected: &[&str],
    name: impl Fn(&T) -> &'static str,
    machine_name: impl Fn(&T) -> &'static str,
) {
    let spelled: Vec<&str> = values.iter().map(|(_, name)| *name).collect();
    assert_eq!(spelled, expected);
    for (value, spelling) in values {
        assert_eq!(name(value), *spelling);
        assert_eq!(machine_name(value), *spelling);
    }
}

/// One row of a machine's transition table: (state, event, expected state, expected
/// invocations), named after the specification's row.
pub(crate) struct Row<M: Machine> {
    pub(crate) name: &'static str,
    pub(crate) from: M::State,
    pub(crate) event: M::Event,
    pub(crate) to: M::State,
    pub(crate) invocations: Vec<M::Invocation>,
}

impl<M: Machine> Row<M> {
    pub(crate) fn new(
        name: &'static str,
        from: M::State,
        event: M::Event,
        to: M::State,
        invocations: Vec<M::Invocation>,
    ) -> Self {
        Row {
            name,
            from,
            event,
            to,
            invocations,
        }
    }
}

/// Every row's transition in `context` is the one it expects; all failures are listed at once.
pub(crate) fn check_rows<M: Machine>(context: &Context, rows: &[Row<M>])
where
    M::Invocation: PartialEq,
{
    let names = |invocations: &[M::Invocation]| -> Vec<&'static str> {
        invocations.iter().map(M::invocation_name).collect()
    };
    let mut failures = Vec::new();
    for r in rows {
        match M::transition(context, &r.from, &r.event) {
            None => failures.push(format!(
                "{}\n    expected {:?} with {:?}\n    actual   None (ignored)",
                r.name,
                r.to,
                names(&r.invocations)
            )),
            Some(t) => {
                if t.state != r.to {
                    failures.push(format!(
                        "{}: wrong state\n    expected {:?}\n    actual   {:?}",
                        r.name, r.to, t.state
                    ));
                }
                if t.invocations != r.invocations {
                    failures.push(format!(
                        "{}: wrong invocations\n    expected {:?}\n    actual   {:?}\n    \
                         expected (full) {:?}\n    actual (full)   {:?}",
                        r.name,
                        names(&r.invocations),
                        names(&t.invocations),
                        r.invocations,
                        t.invocations
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

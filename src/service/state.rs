//! The presence state a client set with `set_state`, per channel and per group.
//!
//! The subscribe handshake and every heartbeat send it again (`state=`, keyed by name), so the
//! service keeps it when the user reconnects or times out and comes back.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::engine::{Input, PRESENCE_SUFFIX};

/// State objects by channel and by group name.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct PresenceState {
    channels: BTreeMap<String, Map<String, Value>>,
    groups: BTreeMap<String, Map<String, Value>>,
}

impl PresenceState {
    /// Sets `state` (an object) for every name; an empty object (or a non-object) clears it.
    pub(crate) fn set(&mut self, channels: &[String], groups: &[String], state: &Value) {
        let object = state.as_object().filter(|o| !o.is_empty());
        for (names, map) in [(channels, &mut self.channels), (groups, &mut self.groups)] {
            for name in names {
                match object {
                    Some(object) => map.insert(name.clone(), object.clone()),
                    None => map.remove(name),
                };
            }
        }
    }

    /// The state of the names in `input`, keyed by name, presence names skipped. Channels come
    /// first: a group with the same name as a channel does not replace the channel's state.
    pub(crate) fn for_input(&self, input: &Input) -> Option<Value> {
        let mut out = Map::new();
        for (names, map) in [
            (&input.channels, &self.channels),
            (&input.groups, &self.groups),
        ] {
            for name in names.iter().filter(|n| !n.ends_with(PRESENCE_SUFFIX)) {
                if let Some(state) = map.get(name) {
                    out.entry(name.clone())
                        .or_insert_with(|| Value::Object(state.clone()));
                }
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn filtered_to_the_input() {
        let mut state = PresenceState::default();
        state.set(&names(&["a", "b"]), &names(&["g"]), &json!({"mood": "ok"}));
        state.set(&names(&["c"]), &[], &json!({"n": 1}));

        let input = Input::new(["a", "c", "a-pnpres", "x"], ["g", "g-pnpres"]);
        assert_eq!(
            state.for_input(&input),
            Some(json!({"a": {"mood": "ok"}, "c": {"n": 1}, "g": {"mood": "ok"}}))
        );
        assert_eq!(state.for_input(&Input::channels(["x"])), None);
        assert_eq!(state.for_input(&Input::default()), None);
    }

    #[test]
    fn empty_object_clears() {
        let mut state = PresenceState::default();
        state.set(&names(&["a", "b"]), &[], &json!({"k": "v"}));
        state.set(&names(&["a"]), &[], &json!({}));
        assert_eq!(
            state.for_input(&Input::channels(["a", "b"])),
            Some(json!({"b": {"k": "v"}}))
        );
    }

    #[test]
    fn channel_wins_over_group_of_the_same_name() {
        let mut state = PresenceState::default();
        state.set(&names(&["same"]), &[], &json!({"from": "channel"}));
        state.set(&[], &names(&["same"]), &json!({"from": "group"}));
        let input = Input::new(["same"], ["same"]);
        assert_eq!(
            state.for_input(&input),
            Some(json!({"same": {"from": "channel"}}))
        );
    }
}

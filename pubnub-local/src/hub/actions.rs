//! Message actions (reactions, receipts): stored per channel, keyed by the message they
//! annotate, listed by `/v1/message-actions`, attached to messages by
//! `/v3/history-with-actions`, and announced to subscribers as `e: 3` events
//! (PROTOCOL.md §18.5, §5.5).

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::channels::{validate_plain, EventKind, Message, NameError};
use super::history::TimeRange;
use super::{Hub, State, Timetoken};

/// Default and largest page of a get-actions call (Python's `MAX_LIMIT`, C# docs).
pub const MAX_ACTIONS_LIMIT: usize = 100;

/// One action on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAction {
    /// The annotated message's timetoken.
    pub message_timetoken: Timetoken,
    /// The action's own timetoken, issued when it was added.
    pub action_timetoken: Timetoken,
    /// `type`, e.g. `reaction`.
    pub action_type: String,
    /// `value`, e.g. `smiley_face`.
    pub value: String,
    /// Who added it.
    pub uuid: String,
}

impl MessageAction {
    /// The `data` object of add and get answers.
    pub fn to_json(&self) -> Value {
        json!({
            "type": self.action_type,
            "value": self.value,
            "uuid": self.uuid,
            "actionTimetoken": self.action_timetoken.to_string(),
            "messageTimetoken": self.message_timetoken.to_string(),
        })
    }

    /// The `d` of the subscribe event announcing this action (Swift fixtures: no `uuid`, it
    /// travels as the envelope's `i`).
    fn event(&self, event: &str) -> Value {
        json!({
            "source": "actions",
            "version": "1.0",
            "event": event,
            "data": {
                "messageTimetoken": self.message_timetoken.to_string(),
                "actionTimetoken": self.action_timetoken.to_string(),
                "type": self.action_type,
                "value": self.value,
            },
        })
    }
}

/// Why an action call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The channel name is not a valid plain channel name.
    #[error("invalid channel: {0}")]
    InvalidChannel(#[from] NameError),
    /// The same user already added this type and value to this message (409).
    #[error("Action Already Added")]
    AlreadyAdded,
    /// Nothing matched the message and action timetokens (remove).
    #[error("No matching message actions to delete")]
    NotFound,
}

/// A page of a channel's actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionsPage {
    /// Ascending action timetoken order.
    pub actions: Vec<MessageAction>,
    /// Whether older actions of the slice were left out.
    pub more: bool,
}

/// One channel's actions.
#[derive(Debug, Default)]
pub(crate) struct ChannelActions {
    by_action: BTreeMap<Timetoken, MessageAction>,
    /// Action timetokens of each message, ascending.
    by_message: HashMap<Timetoken, Vec<Timetoken>>,
}

impl ChannelActions {
    /// The message's actions, ascending.
    pub(crate) fn of_message(&self, message: Timetoken) -> Vec<MessageAction> {
        self.by_message
            .get(&message)
            .into_iter()
            .flatten()
            .filter_map(|tt| self.by_action.get(tt).cloned())
            .collect()
    }

    fn duplicate(&self, message: Timetoken, action_type: &str, value: &str, uuid: &str) -> bool {
        self.of_message(message)
            .iter()
            .any(|a| a.action_type == action_type && a.value == value && a.uuid == uuid)
    }

    fn insert(&mut self, action: MessageAction) {
        self.by_message
            .entry(action.message_timetoken)
            .or_default()
            .push(action.action_timetoken);
        self.by_action.insert(action.action_timetoken, action);
    }

    fn remove(&mut self, message: Timetoken, action: Timetoken) -> Option<MessageAction> {
        if self.by_action.get(&action)?.message_timetoken != message {
            return None;
        }
        let removed = self.by_action.remove(&action)?;
        if let Some(list) = self.by_message.get_mut(&message) {
            list.retain(|tt| *tt != action);
            if list.is_empty() {
                self.by_message.remove(&message);
            }
        }
        Some(removed)
    }

    fn page(&self, range: TimeRange, limit: usize) -> ActionsPage {
        let mut matching = self
            .by_action
            .values()
            .rev()
            .filter(|a| range.contains(a.action_timetoken));
        let mut actions: Vec<MessageAction> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        actions.reverse();
        ActionsPage { actions, more }
    }
}

impl Hub {
    /// Adds an action to the message at `message_timetoken` on `channel` and announces it to
    /// the channel's subscribers. The message need not be in history (PROTOCOL.md §18.5).
    pub fn add_message_action(
        &self,
        sub_key: &str,
        channel: &str,
        message_timetoken: Timetoken,
        action_type: &str,
        value: &str,
        uuid: &str,
    ) -> Result<MessageAction, ActionError> {
        validate_plain(channel)?;
        let mut state = self.lock();
        let State { clock, spaces, .. } = &mut *state;
        let space = self.space(spaces, sub_key);
        let actions = space.actions.entry(channel.to_string()).or_default();
        if actions.duplicate(message_timetoken, action_type, value, uuid) {
            return Err(ActionError::AlreadyAdded);
        }
        let action = MessageAction {
            message_timetoken,
            action_timetoken: clock.issue(),
            action_type: action_type.to_string(),
            value: value.to_string(),
            uuid: uuid.to_string(),
        };
        actions.insert(action.clone());
        // The event is a publish of its own, later than the action (Swift fixture).
        let event = action_event(channel, clock.issue(), &action, "added");
        space.append(event, self.inner.config.buffer_size);
        Ok(action)
    }

    /// Removes one action and announces the removal.
    pub fn remove_message_action(
        &self,
        sub_key: &str,
        channel: &str,
        message_timetoken: Timetoken,
        action_timetoken: Timetoken,
    ) -> Result<MessageAction, ActionError> {
        validate_plain(channel)?;
        let mut state = self.lock();
        let State { clock, spaces, .. } = &mut *state;
        let space = spaces.get_mut(sub_key).ok_or(ActionError::NotFound)?;
        let removed = space
            .actions
            .get_mut(channel)
            .and_then(|actions| actions.remove(message_timetoken, action_timetoken))
            .ok_or(ActionError::NotFound)?;
        let event = action_event(channel, clock.issue(), &removed, "removed");
        space.append(event, self.inner.config.buffer_size);
        Ok(removed)
    }

    /// The newest `limit` actions of the channel in the slice (by action timetoken), oldest
    /// first, and whether older ones remain.
    pub fn message_actions(
        &self,
        sub_key: &str,
        channel: &str,
        range: TimeRange,
        limit: usize,
    ) -> Result<ActionsPage, NameError> {
        validate_plain(channel)?;
        let state = self.lock();
        Ok(state
            .spaces
            .get(sub_key)
            .and_then(|space| space.actions.get(channel))
            .map_or(
                ActionsPage {
                    actions: Vec::new(),
                    more: false,
                },
                |actions| actions.page(range, limit),
            ))
    }
}

/// The `e: 3` event for subscribers. `i` is the action's author for both events, so a client
/// keying reactions by (type, value, uuid) removes the one it showed.
fn action_event(
    channel: &str,
    timetoken: Timetoken,
    action: &MessageAction,
    kind: &str,
) -> Message {
    Message {
        channel: channel.to_string(),
        timetoken,
        payload: action.event(kind),
        kind: EventKind::Action,
        publisher: Some(action.uuid.clone()),
        meta: None,
        seqn: None,
        custom_message_type: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(message: u64, action: u64, value: &str) -> MessageAction {
        MessageAction {
            message_timetoken: Timetoken(message),
            action_timetoken: Timetoken(action),
            action_type: "reaction".into(),
            value: value.into(),
            uuid: "u".into(),
        }
    }

    #[test]
    fn pages_take_the_newest_and_say_more() {
        let mut actions = ChannelActions::default();
        for t in 1..=5 {
            actions.insert(action(100 + t % 2, t, &t.to_string()));
        }
        let page = actions.page(TimeRange::default(), 2);
        let tts: Vec<u64> = page.actions.iter().map(|a| a.action_timetoken.0).collect();
        assert_eq!(tts, vec![4, 5]);
        assert!(page.more);
        let next = TimeRange {
            start: Some(Timetoken(4)),
            end: None,
        };
        let page = actions.page(next, 3);
        let tts: Vec<u64> = page.actions.iter().map(|a| a.action_timetoken.0).collect();
        assert_eq!(tts, vec![1, 2, 3]);
        assert!(!page.more);
        let of_101: Vec<u64> = actions
            .of_message(Timetoken(101))
            .iter()
            .map(|a| a.action_timetoken.0)
            .collect();
        assert_eq!(of_101, vec![1, 3, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn actions_are_announced_on_the_channel_and_attached_to_history() {
        use crate::hub::{HistoryRequest, Publish, SubscribeRequest};

        let hub = Hub::default();
        let request = SubscribeRequest::channels(["ch"]);
        let cursor = hub.subscribe("k", request.clone()).unwrap().await.cursor;
        let message = hub
            .publish("k", Publish::message("ch", json!("hi")))
            .unwrap();
        let added = hub
            .add_message_action("k", "ch", message, "reaction", "+1", "fan")
            .unwrap();
        assert!(added.action_timetoken > message);
        assert_eq!(
            hub.add_message_action("k", "ch", message, "reaction", "+1", "fan"),
            Err(ActionError::AlreadyAdded)
        );
        let with_actions = HistoryRequest {
            channels: vec!["ch".into()],
            range: TimeRange::default(),
            max: 25,
            with_actions: true,
        };
        let found = hub.fetch_history("k", &with_actions).unwrap();
        assert_eq!(found[0].1[0].actions, vec![added.clone()]);

        let removed = hub
            .remove_message_action("k", "ch", message, added.action_timetoken)
            .unwrap();
        assert_eq!(removed, added);
        assert_eq!(
            hub.remove_message_action("k", "ch", message, added.action_timetoken),
            Err(ActionError::NotFound)
        );
        assert_eq!(
            hub.remove_message_action("nokey", "ch", message, added.action_timetoken),
            Err(ActionError::NotFound)
        );

        let response = hub
            .subscribe("k", SubscribeRequest { cursor, ..request })
            .unwrap()
            .await;
        let kinds: Vec<(EventKind, Option<&str>)> = response
            .messages
            .iter()
            .map(|d| (d.message.kind, d.message.payload["event"].as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (EventKind::Message, None),
                (EventKind::Action, Some("added")),
                (EventKind::Action, Some("removed")),
            ]
        );
        assert_eq!(
            response.messages[1].message.publisher.as_deref(),
            Some("fan")
        );
        assert!(response.messages[1].message.timetoken > added.action_timetoken);
    }

    #[test]
    fn remove_needs_the_right_message() {
        let mut actions = ChannelActions::default();
        actions.insert(action(100, 1, "a"));
        assert_eq!(actions.remove(Timetoken(99), Timetoken(1)), None);
        assert_eq!(
            actions.remove(Timetoken(100), Timetoken(1)),
            Some(action(100, 1, "a"))
        );
        assert_eq!(actions.remove(Timetoken(100), Timetoken(1)), None);
        assert!(actions.of_message(Timetoken(100)).is_empty());
    }
}

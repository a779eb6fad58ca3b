//! Presence events: the `d` payload and the `pn_*` `u` object of `<channel>-pnpres` messages
//! (PROTOCOL.md §5.7).

use serde_json::{json, Map, Value};

use super::super::timetoken::Clock;
use super::super::{EventKind, Message, PRESENCE_SUFFIX};
use super::Deltas;

/// Above this many bytes of uuids, an `interval` event says `here_now_refresh` instead of
/// listing its deltas, keeping it well under the 32 KiB message limit.
const MAX_INTERVAL_DELTA_BYTES: usize = 24 * 1024;

/// A presence event before it is given a timetoken.
pub(super) struct Event {
    pub(super) channel: String,
    pub(super) action: &'static str,
    pub(super) uuid: Option<String>,
    pub(super) occupancy: usize,
    pub(super) data: Option<Value>,
    pub(super) deltas: Option<Deltas>,
}

impl Event {
    pub(super) fn user(
        channel: &str,
        action: &'static str,
        uuid: &str,
        occupancy: usize,
        data: Option<Value>,
    ) -> Event {
        Event {
            channel: channel.to_string(),
            action,
            uuid: Some(uuid.to_string()),
            occupancy,
            data,
            deltas: None,
        }
    }

    pub(super) fn into_message(self, clock: &mut Clock) -> Message {
        let timestamp = clock.unix_seconds();
        let mut d = Map::new();
        let mut u = Map::new();
        d.insert("action".into(), json!(self.action));
        u.insert("pn_action".into(), json!(self.action));
        if let Some(uuid) = &self.uuid {
            d.insert("uuid".into(), json!(uuid));
            u.insert("pn_uuid".into(), json!(uuid));
        }
        d.insert("timestamp".into(), json!(timestamp));
        d.insert("occupancy".into(), json!(self.occupancy));
        u.insert("pn_timestamp".into(), json!(timestamp));
        u.insert("pn_occupancy".into(), json!(self.occupancy));
        u.insert("pn_ispresence".into(), json!(1));
        u.insert("pn_channel".into(), json!(self.channel));
        if let Some(Value::Object(state)) = &self.data {
            for (key, value) in state {
                u.insert(format!("pn_state_{key}"), value.clone());
            }
        }
        if let Some(data) = self.data {
            d.insert("data".into(), data);
        }
        if let Some(deltas) = self.deltas {
            let size: usize = [&deltas.join, &deltas.leave, &deltas.timeout]
                .iter()
                .flat_map(|list| list.iter())
                .map(|uuid| uuid.len() + 3)
                .sum();
            if size > MAX_INTERVAL_DELTA_BYTES {
                d.insert("here_now_refresh".into(), json!(true));
                u.insert("pn_here_now_refresh".into(), json!(true));
            } else {
                for (key, list) in [
                    ("join", deltas.join),
                    ("leave", deltas.leave),
                    ("timeout", deltas.timeout),
                ] {
                    if !list.is_empty() {
                        u.insert(format!("pn_{key}"), json!(list));
                        d.insert(key.into(), json!(list));
                    }
                }
            }
        }
        Message {
            channel: format!("{}{PRESENCE_SUFFIX}", self.channel),
            timetoken: clock.issue(),
            payload: Value::Object(d),
            kind: EventKind::Presence,
            publisher: None,
            meta: Some(Value::Object(u)),
            seqn: None,
            custom_message_type: None,
        }
    }
}

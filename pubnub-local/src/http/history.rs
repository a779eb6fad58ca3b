//! Message persistence: fetch (`/v3/history`, `/v3/history-with-actions`), message counts and
//! delete, in the service's shapes (PROTOCOL.md §18.2–§18.4, §18.6).
//!
//! Access Manager (to come) checks, per handler: fetch and counts need `read` on every
//! channel named, delete needs `delete` on its channel.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::response::Reply;
use super::routes::{path_list, percent_decode, percent_decode_cow, Query, Route};
use super::App;
use crate::hub::{
    EventKind, HistoryEntry, HistoryRequest, MessageAction, TimeRange, Timetoken,
    MAX_COUNT_CHANNELS, MAX_FETCH_CHANNELS,
};

/// Default and most messages of a one-channel fetch.
const SINGLE_CHANNEL_MAX: usize = 100;

/// Default and most messages per channel of a several-channel fetch or a fetch with actions.
const MULTI_CHANNEL_MAX: usize = 25;

pub(super) fn handle(app: &App, route: &Route<'_>, query: &Query<'_>) -> Reply {
    let result = match *route {
        Route::FetchHistory {
            sub_key,
            channels,
            with_actions,
        } => fetch(app, sub_key, channels, with_actions, query),
        Route::MessageCounts { sub_key, channels } => counts(app, sub_key, channels, query),
        Route::DeleteHistory { sub_key, channel } => delete(app, sub_key, channel, query),
        _ => return Reply::not_found("/v3/history"),
    };
    result.unwrap_or_else(|reply| reply)
}

/// Envelope E of PROTOCOL.md §1.3: `{"status":400,"error":true,"error_message":…,"channels":{}}`.
fn history_error(message: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({
            "status": 400,
            "error": true,
            "error_message": message,
            "channels": {},
        }),
    )
}

fn sub_key<'a>(app: &App, raw: &'a str) -> Result<std::borrow::Cow<'a, str>, Reply> {
    match percent_decode_cow(raw) {
        Ok(key) if app.key_allowed(&key) => Ok(key),
        _ => Err(Reply::invalid_sub_key()),
    }
}

/// An optional timetoken query parameter; anything but 1–19 digits is refused.
pub(super) fn timetoken_param(query: &Query<'_>, name: &str) -> Result<Option<Timetoken>, String> {
    match query.get(name) {
        None => Ok(None),
        Some(raw) => Timetoken::parse(raw)
            .map(Some)
            .ok_or_else(|| format!("Invalid timetoken: {name}")),
    }
}

fn range(query: &Query<'_>) -> Result<TimeRange, Reply> {
    let start = timetoken_param(query, "start").map_err(|m| history_error(&m))?;
    let end = timetoken_param(query, "end").map_err(|m| history_error(&m))?;
    Ok(TimeRange { start, end })
}

/// Channel names of a list segment, refusing an empty list and one longer than `most`.
fn channel_list(raw: &str, most: usize) -> Result<Vec<String>, Reply> {
    let channels = path_list(raw).map_err(|_| history_error("Invalid channel"))?;
    if channels.is_empty() {
        return Err(history_error("Invalid channel"));
    }
    if channels.len() > most {
        return Err(history_error("Too many channels"));
    }
    Ok(channels)
}

fn fetch(
    app: &App,
    sub_key_raw: &str,
    channels_raw: &str,
    with_actions: bool,
    query: &Query<'_>,
) -> Result<Reply, Reply> {
    let sub_key = sub_key(app, sub_key_raw)?;
    let channels = channel_list(channels_raw, MAX_FETCH_CHANNELS)?;
    if with_actions && channels.len() > 1 {
        return Err(history_error(
            "Multiple channels are not allowed with actions",
        ));
    }
    let ceiling = if with_actions || channels.len() > 1 {
        MULTI_CHANNEL_MAX
    } else {
        SINGLE_CHANNEL_MAX
    };
    let max = match query.get("max") {
        None => ceiling,
        // Above the maximum is lowered to it, as the SDKs do before sending.
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX).min(ceiling),
            _ => return Err(history_error("Invalid max")),
        },
    };
    let request = HistoryRequest {
        channels,
        range: range(query)?,
        max,
        with_actions,
    };
    let found = app
        .hub
        .fetch_history(&sub_key, &request)
        .map_err(|_| history_error("Invalid channel"))?;
    let fields = Fields {
        meta: query.flag("include_meta"),
        uuid: query.flag("include_uuid"),
        message_type: query.flag("include_message_type"),
        custom_message_type: query.flag("include_custom_message_type"),
        kind: query.flag("include_type"),
    };
    let mut by_channel = Map::new();
    for (channel, entries) in found {
        let items = entries.iter().map(|entry| fields.item(entry)).collect();
        by_channel.insert(channel, Value::Array(items));
    }
    Ok(Reply::ok(&json!({
        "status": 200,
        "error": false,
        "error_message": "",
        "channels": by_channel,
    })))
}

/// Which optional fields a fetch asked for.
struct Fields {
    meta: bool,
    uuid: bool,
    message_type: bool,
    custom_message_type: bool,
    /// `include_type`, which Python 7.x sent: the service (2023 recording) answered `"type":
    /// ""` for a message published without one; the type it names is the custom message type.
    kind: bool,
}

impl Fields {
    fn item(&self, entry: &HistoryEntry) -> Value {
        let message = &entry.message;
        let mut item = Map::new();
        item.insert("message".into(), message.payload.clone());
        item.insert("timetoken".into(), message.timetoken.to_string().into());
        if self.meta {
            // The JS SDK page shows `"meta": ""` for a message published without meta.
            let meta = message.meta.clone().unwrap_or_else(|| Value::from(""));
            item.insert("meta".into(), meta);
        }
        if self.uuid {
            if let Some(uuid) = &message.publisher {
                item.insert("uuid".into(), uuid.clone().into());
            }
        }
        if self.message_type {
            // `null` is an ordinary message; only file messages (4) have a number.
            let kind = match message.kind {
                EventKind::File => Value::from(4),
                _ => Value::Null,
            };
            item.insert("message_type".into(), kind);
        }
        if self.custom_message_type {
            if let Some(kind) = &message.custom_message_type {
                item.insert("custom_message_type".into(), kind.clone().into());
            }
        }
        if self.kind {
            let kind = message.custom_message_type.clone().unwrap_or_default();
            item.insert("type".into(), kind.into());
        }
        if !entry.actions.is_empty() {
            item.insert("actions".into(), actions_tree(&entry.actions));
        }
        Value::Object(item)
    }
}

/// `{type: {value: [{uuid, actionTimetoken}]}}`, each list in the order given (ascending).
fn actions_tree(actions: &[MessageAction]) -> Value {
    let mut tree = Map::new();
    for action in actions {
        let by_value = tree
            .entry(action.action_type.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(by_value) = by_value {
            let list = by_value
                .entry(action.value.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = list {
                list.push(json!({
                    "uuid": action.uuid,
                    "actionTimetoken": action.action_timetoken.to_string(),
                }));
            }
        }
    }
    Value::Object(tree)
}

fn counts(
    app: &App,
    sub_key_raw: &str,
    channels_raw: &str,
    query: &Query<'_>,
) -> Result<Reply, Reply> {
    let sub_key = sub_key(app, sub_key_raw)?;
    let channels = channel_list(channels_raw, MAX_COUNT_CHANNELS)?;
    let timetokens: Vec<Timetoken> = match (query.get("timetoken"), query.get("channelsTimetoken"))
    {
        (Some(_), Some(_)) => {
            return Err(history_error(
                "Use timetoken or channelsTimetoken, not both",
            ))
        }
        (None, None) => return Err(history_error("timetoken or channelsTimetoken is required")),
        (Some(raw), None) => {
            let tt = Timetoken::parse(raw)
                .ok_or_else(|| history_error("Invalid timetoken: timetoken"))?;
            vec![tt; channels.len()]
        }
        (None, Some(raw)) => {
            let list = raw
                .split(',')
                .map(|t| Timetoken::parse(t.trim()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| history_error("Invalid timetoken: channelsTimetoken"))?;
            match list.as_slice() {
                // One value covers every channel (Kotlin's doc).
                [one] => vec![*one; channels.len()],
                _ if list.len() == channels.len() => list,
                _ => {
                    return Err(history_error(
                        "channelsTimetoken does not match the channels",
                    ))
                }
            }
        }
    };
    let pairs: Vec<(String, Timetoken)> = channels.into_iter().zip(timetokens).collect();
    let counted = app
        .hub
        .message_counts(&sub_key, &pairs)
        .map_err(|_| history_error("Invalid channel"))?;
    let mut by_channel = Map::new();
    for (channel, count) in counted {
        by_channel.insert(channel, count.into());
    }
    Ok(Reply::ok(&json!({
        "status": 200,
        "error": false,
        "error_message": "",
        "channels": by_channel,
    })))
}

fn delete(
    app: &App,
    sub_key_raw: &str,
    channel_raw: &str,
    query: &Query<'_>,
) -> Result<Reply, Reply> {
    let sub_key = sub_key(app, sub_key_raw)?;
    // One channel: a comma inside it (encoded or not) is an invalid name.
    let channel = percent_decode(channel_raw).map_err(|_| history_error("Invalid channel"))?;
    let range = range(query)?;
    let deleted = app
        .hub
        .delete_history(&sub_key, &channel, range)
        .map_err(|_| history_error("Invalid channel"))?;
    tracing::debug!(channel, deleted, "history delete");
    Ok(Reply::ok(&json!({
        "status": 200,
        "error": false,
        "error_message": "",
    })))
}

//! Subscribe v2: request parsing and the envelope format (PROTOCOL.md §5).

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::response::Reply;
use super::routes::{path_list, percent_decode, query_list, Query};
use super::{App, Outcome};
use crate::hub::{Delivery, EventKind, SubscribeRequest, SubscribeResponse, Timetoken};

/// Largest presence timeout accepted from `heartbeat`; larger values are clamped.
pub(crate) const MAX_PRESENCE_TIMEOUT_SECS: u64 = 24 * 3600;

pub(super) async fn handle(app: &App, sub_key: &str, channels: &str, query: &Query) -> Outcome {
    let bad = |message: &str, details: String| -> Outcome {
        Reply::error_details(StatusCode::BAD_REQUEST, "Subscribe", message, &details).into()
    };
    let Ok(sub_key) = percent_decode(sub_key) else {
        return Reply::invalid_sub_key().into();
    };
    if !app.key_allowed(&sub_key) {
        return Reply::invalid_sub_key().into();
    }
    let Ok(channels) = path_list(channels) else {
        return bad("Invalid Arguments", "channel names must be UTF-8".into());
    };
    let cursor = match query.get("tt") {
        None | Some("") => Timetoken(0),
        Some(tt) => match Timetoken::parse(tt) {
            Some(tt) => tt,
            None => return bad("Invalid Arguments", format!("invalid timetoken {tt:?}")),
        },
    };
    let state = match query.json("state") {
        Some(Ok(Value::Object(state))) => Some(state),
        None => None,
        Some(_) => return bad("Invalid Arguments", "state must be a JSON object".into()),
    };
    let request = SubscribeRequest {
        channels,
        groups: query_list(query.get("channel-group")),
        cursor,
        region: query.get("tr").and_then(|r| r.parse().ok()),
        uuid: query
            .get("uuid")
            .filter(|u| !u.is_empty())
            .map(str::to_string),
        heartbeat: presence_timeout(query),
        state,
        filter: query.get("filter-expr").map(str::to_string),
    };
    let region_fallback = request.region.unwrap_or(app.hub.config().region);
    let future = match app.hub.subscribe(&sub_key, request) {
        Ok(future) => future,
        Err(crate::hub::SubscribeError::InvalidFilter(e)) => {
            return bad("Invalid filter expression", e.to_string())
        }
        Err(e) => {
            let message = if matches!(
                &e,
                crate::hub::SubscribeError::InvalidChannel {
                    reason: crate::hub::NameError::ReservedCharacter(_),
                    ..
                } | crate::hub::SubscribeError::InvalidGroup {
                    reason: crate::hub::NameError::ReservedCharacter(_),
                    ..
                }
            ) {
                "Reserved character in input parameters."
            } else {
                "Invalid Arguments"
            };
            return bad(message, e.to_string());
        }
    };
    // Taken before waiting: `drop_long_polls` affects the long-polls open at that moment.
    let dropped = app.faults.long_poll_token();
    tokio::select! {
        response = future => Reply::ok(&body(&response, &sub_key)).into(),
        _ = dropped.cancelled() => Outcome::Reset,
        _ = app.shutdown.cancelled() => {
            let response = SubscribeResponse {
                cursor: if cursor == Timetoken(0) { app.hub.now() } else { cursor },
                region: region_fallback,
                messages: Vec::new(),
            };
            Reply::ok(&body(&response, &sub_key)).into()
        }
    }
}

/// `heartbeat=N`: the presence timeout; absent or zero means the hub's default.
pub(super) fn presence_timeout(query: &Query) -> Option<Duration> {
    let secs: u64 = query.get("heartbeat")?.parse().ok()?;
    (secs > 0).then(|| Duration::from_secs(secs.min(MAX_PRESENCE_TIMEOUT_SECS)))
}

/// `{"t":{"t":"…","r":R},"m":[…]}`.
pub(crate) fn body(response: &SubscribeResponse, sub_key: &str) -> Value {
    let messages: Vec<Value> = response
        .messages
        .iter()
        .map(|d| envelope(d, sub_key, response.region))
        .collect();
    json!({
        "t": {"t": response.cursor.to_string(), "r": response.region},
        "m": messages,
    })
}

/// One message envelope (PROTOCOL.md §5.5): `a f k c d p` always, the rest when known.
pub(crate) fn envelope(delivery: &Delivery, sub_key: &str, region: u32) -> Value {
    let message = &delivery.message;
    let mut map = Map::new();
    let shard = if message.kind == EventKind::Presence {
        "2"
    } else {
        "1"
    };
    map.insert("a".into(), json!(shard));
    map.insert("f".into(), json!(0));
    if message.kind == EventKind::Signal {
        map.insert("e".into(), json!(1));
    }
    if let Some(publisher) = &message.publisher {
        map.insert("i".into(), json!(publisher));
    }
    if let Some(seqn) = message.seqn {
        map.insert("s".into(), json!(seqn));
    }
    map.insert(
        "p".into(),
        json!({"t": message.timetoken.to_string(), "r": region}),
    );
    map.insert("k".into(), json!(sub_key));
    map.insert("c".into(), json!(message.channel));
    map.insert("d".into(), message.payload.clone());
    if let Some(meta) = &message.meta {
        map.insert("u".into(), meta.clone());
    }
    if let Some(cmt) = &message.custom_message_type {
        map.insert("cmt".into(), json!(cmt));
    }
    if let Some(matched) = &delivery.matched {
        map.insert("b".into(), json!(matched));
    }
    Value::Object(map)
}

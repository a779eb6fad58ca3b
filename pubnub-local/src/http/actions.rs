//! Message actions: add, remove and get (`/v1/message-actions`), in the service's shapes
//! (PROTOCOL.md §18.5). Errors use envelope G: `{"status":N,"error":{"source":"actions",…}}`.
//!
//! Access Manager (to come) checks, per handler: add needs `write` on the channel, remove
//! needs `delete` on it, get needs `read` on it.

use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::{json, Value};

use super::history::timetoken_param;
use super::response::Reply;
use super::routes::{percent_decode, percent_decode_cow, Query, Route};
use super::App;
use crate::hub::{ActionError, TimeRange, Timetoken, MAX_ACTIONS_LIMIT};

/// Longest action `type` (the JS SDK refuses longer ones before sending).
const MAX_TYPE_CHARS: usize = 15;

pub(super) fn handle(app: &App, route: &Route<'_>, query: &Query<'_>, body: &Bytes) -> Reply {
    let result = match *route {
        Route::AddAction {
            sub_key,
            channel,
            message_tt,
        } => add(app, sub_key, channel, message_tt, query, body),
        Route::RemoveAction {
            sub_key,
            channel,
            message_tt,
            action_tt,
        } => remove(app, sub_key, channel, message_tt, action_tt),
        Route::GetActions { sub_key, channel } => get(app, sub_key, channel, query),
        _ => return Reply::not_found("/v1/message-actions"),
    };
    result.unwrap_or_else(|reply| reply)
}

fn actions_error(status: StatusCode, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({
            "status": status.as_u16(),
            "error": {"source": "actions", "message": message},
        }),
    )
}

fn bad_request(message: &str) -> Reply {
    actions_error(StatusCode::BAD_REQUEST, message)
}

/// The decoded key and channel; an unknown key is "Invalid Subkey" (Swift fixture).
fn target(app: &App, sub_key: &str, channel: &str) -> Result<(String, String), Reply> {
    let sub_key = match percent_decode_cow(sub_key) {
        Ok(key) if app.key_allowed(&key) => key.into_owned(),
        _ => return Err(bad_request("Invalid Subkey")),
    };
    let channel = percent_decode(channel).map_err(|_| bad_request("Invalid channel"))?;
    Ok((sub_key, channel))
}

fn path_timetoken(raw: &str) -> Result<Timetoken, Reply> {
    Timetoken::parse(raw).ok_or_else(|| bad_request("Invalid timetoken"))
}

/// A non-empty string field of the add body.
fn text_field<'a>(body: &'a Value, name: &str) -> Result<&'a str, Reply> {
    match body.get(name).and_then(Value::as_str) {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(bad_request(&format!("Missing or invalid {name}"))),
    }
}

fn refusal(error: &ActionError) -> Reply {
    match error {
        ActionError::AlreadyAdded => actions_error(StatusCode::CONFLICT, "Action Already Added"),
        ActionError::NotFound => bad_request("No matching message actions to delete"),
        ActionError::InvalidChannel(_) => bad_request("Invalid channel"),
    }
}

fn add(
    app: &App,
    sub_key: &str,
    channel: &str,
    message_tt: &str,
    query: &Query<'_>,
    body: &Bytes,
) -> Result<Reply, Reply> {
    let (sub_key, channel) = target(app, sub_key, channel)?;
    let message_tt = path_timetoken(message_tt)?;
    let body: Value =
        serde_json::from_slice(body).map_err(|_| bad_request("Could not parse request body"))?;
    let action_type = text_field(&body, "type")?;
    let value = text_field(&body, "value")?;
    if action_type.chars().count() > MAX_TYPE_CHARS {
        return Err(bad_request("Type is longer than 15 characters"));
    }
    let uuid = query
        .get("uuid")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| bad_request("Missing uuid"))?;
    let action = app
        .hub
        .add_message_action(&sub_key, &channel, message_tt, action_type, value, uuid)
        .map_err(|e| refusal(&e))?;
    Ok(Reply::ok(&json!({"status": 200, "data": action.to_json()})))
}

fn remove(
    app: &App,
    sub_key: &str,
    channel: &str,
    message_tt: &str,
    action_tt: &str,
) -> Result<Reply, Reply> {
    let (sub_key, channel) = target(app, sub_key, channel)?;
    let message_tt = path_timetoken(message_tt)?;
    let action_tt = path_timetoken(action_tt)?;
    app.hub
        .remove_message_action(&sub_key, &channel, message_tt, action_tt)
        .map_err(|e| refusal(&e))?;
    Ok(Reply::ok(&json!({"status": 200, "data": {}})))
}

fn get(app: &App, sub_key: &str, channel_raw: &str, query: &Query<'_>) -> Result<Reply, Reply> {
    let (sub_key_decoded, channel) = target(app, sub_key, channel_raw)?;
    let start = timetoken_param(query, "start").map_err(|m| bad_request(&m))?;
    let end = timetoken_param(query, "end").map_err(|m| bad_request(&m))?;
    let limit = match query.get("limit") {
        None => MAX_ACTIONS_LIMIT,
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n >= 1 => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(MAX_ACTIONS_LIMIT),
            _ => return Err(bad_request("Invalid limit")),
        },
    };
    let page = app
        .hub
        .message_actions(&sub_key_decoded, &channel, TimeRange { start, end }, limit)
        .map_err(|_| bad_request("Invalid channel"))?;
    let data: Vec<Value> = page.actions.iter().map(|a| a.to_json()).collect();
    let mut answer = json!({"status": 200, "data": data});
    // `more` continues backwards from the oldest action of this page (PROTOCOL.md §18.5).
    if let (true, Some(oldest)) = (page.more, page.actions.first()) {
        let oldest = oldest.action_timetoken.to_string();
        let mut url = format!("/v1/message-actions/{sub_key}/channel/{channel_raw}?start={oldest}");
        let mut more = json!({"url": "", "start": oldest, "limit": limit});
        if let Some(end) = end {
            url.push_str(&format!("&end={end}"));
            more["end"] = end.to_string().into();
        }
        url.push_str(&format!("&limit={limit}"));
        more["url"] = url.into();
        answer["more"] = more;
    }
    Ok(Reply::ok(&answer))
}

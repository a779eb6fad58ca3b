//! What the console's page does: publish (`POST /__console/publish`) and change faults
//! (`POST /__console/faults`). Both take JSON, and only JSON: a cross-site form cannot send
//! `application/json` without the browser asking first, and nothing here answers that.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json_reply;
use crate::http::{apply_fault_commands, rules_json, App, MAX_MESSAGE_BYTES, MAX_SIGNAL_BYTES};
use crate::hub::{EventKind, Publish};

/// Who a console publish is from, unless the form says.
pub(super) const CONSOLE_PUBLISHER: &str = "pubnub-local-console";

/// The publish form.
#[derive(Debug, Deserialize)]
struct Form {
    #[serde(default = "demo")]
    sub_key: String,
    channel: String,
    message: Value,
    #[serde(default)]
    signal: bool,
    #[serde(default)]
    publisher: Option<String>,
    #[serde(default)]
    meta: Option<Value>,
    #[serde(default)]
    custom_message_type: Option<String>,
    #[serde(default = "yes")]
    store: bool,
}

fn demo() -> String {
    "demo".into()
}

fn yes() -> bool {
    true
}

/// Whether the request says its body is JSON.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn refuse(status: StatusCode, error: &str) -> axum::response::Response {
    json_reply(status, &json!({"status": status.as_u16(), "error": error}))
}

/// Publishes through the hub directly, as a message or a signal: no Access Manager (the
/// console's token is the gate), no fault injection (the console is how one turns them on),
/// the service's size limits kept (32 KiB of JSON, 64 bytes for a signal).
pub(super) fn publish(app: &App, headers: &HeaderMap, body: &Bytes) -> axum::response::Response {
    if !is_json(headers) {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send JSON.");
    }
    let form: Form = match serde_json::from_slice(body) {
        Ok(form) => form,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("Invalid form: {e}")),
    };
    let text = form.message.to_string();
    if form.signal && text.len() > MAX_SIGNAL_BYTES {
        return refuse(StatusCode::BAD_REQUEST, "Signal size too large (64 bytes).");
    }
    if form.channel.len() + text.len() > MAX_MESSAGE_BYTES {
        return refuse(StatusCode::BAD_REQUEST, "Message Too Large (32 KiB).");
    }
    let publish = Publish {
        publisher: Some(
            form.publisher
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| CONSOLE_PUBLISHER.into()),
        ),
        meta: form.meta.filter(|m| !m.is_null()),
        custom_message_type: form.custom_message_type.filter(|t| !t.is_empty()),
        store: form.store,
        ..Publish {
            kind: if form.signal {
                EventKind::Signal
            } else {
                EventKind::Message
            },
            ..Publish::message(form.channel, form.message)
        }
    };
    match app.hub.publish(&form.sub_key, publish) {
        Ok(tt) => json_reply(
            StatusCode::OK,
            &json!({"status": 200, "timetoken": tt.to_string()}),
        ),
        Err(e) => refuse(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

/// The admin endpoint's commands (one or an array; see `http::admin`), whether or not
/// `/__faults` is served; answers the rules left, each with its id.
pub(super) fn faults(app: &App, headers: &HeaderMap, body: &Bytes) -> axum::response::Response {
    if !is_json(headers) {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Send JSON.");
    }
    match apply_fault_commands(app, body) {
        Ok(()) => json_reply(
            StatusCode::OK,
            &json!({"status": 200, "faults": rules_json(app)}),
        ),
        Err(reply) => {
            let status = reply.status;
            let detail: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
            json_reply(status, &json!({"status": status.as_u16(), "error": detail}))
        }
    }
}

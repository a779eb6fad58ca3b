//! Mobile push registrations (PROTOCOL.md §21.0), answered as the recorded service answers:
//! bodies in Python's `json.dumps` form (`", "` and `": "` separators, non-ASCII escaped),
//! `text/javascript; charset="UTF-8"`.
//!
//! ```text
//! GET /v1/push/sub-key/{sub}/devices/{token}?type=gcm|fcm|apns|mpns[&add=a,b][&remove=c]
//! GET /v1/push/sub-key/{sub}/devices/{token}/remove?type=…
//! GET /v2/push/sub-key/{sub}/devices-apns2/{token}?topic=…[&environment=…][&add=…][&remove=…]
//! GET /v2/push/sub-key/{sub}/devices-apns2/{token}/remove?topic=…[&environment=…]
//! ```
//!
//! `add` or `remove` (remove first) → `[1, "Modified Channels"]`; `/remove` →
//! `[1, "Removed Device"]`; neither → the device's channels, sorted, a page of `count` (default
//! 500, at most 1000) after `start` (exclusive: the last channel of the previous page).
//!
//! Errors are `400 {"error": "…"}`. Recorded: `Invalid type argument` (v1 without a known
//! `type`) and `Invalid device token` (a token that is not hexadecimal added with `type=apns`;
//! removes and lists take any token). pubnub-local's own, for what no recording shows:
//! `Missing topic argument` (v2 without `topic`), `Invalid environment argument` (v2 with an
//! environment other than `development` or `production`), `Invalid channel name "…": …`
//! (a name publish would refuse), `Invalid device token` (a token that is not UTF-8).

use axum::http::StatusCode;
use serde_json::Value;

use super::response::{Reply, JAVASCRIPT};
use super::routes::{percent_decode, percent_decode_cow, query_list, Query, Route};
use super::App;
use crate::hub::{PushDevice, PushEnvironment, PushGateway};

/// Default page of a list.
pub(crate) const DEFAULT_LIST_COUNT: usize = 500;

/// Largest page of a list ("Max of 1000 tokens at a time", PubNub's REST docs).
pub(crate) const MAX_LIST_COUNT: usize = 1000;

pub(super) fn handle(app: &App, route: &Route<'_>, query: &Query<'_>) -> Reply {
    let Route::Push {
        sub_key,
        token,
        apns2,
        remove_device,
    } = *route
    else {
        return Reply::not_found("/v1/push");
    };
    let sub_key = match percent_decode_cow(sub_key) {
        Ok(key) if app.key_allowed(&key) => key,
        _ => return Reply::invalid_sub_key(),
    };
    let token = match percent_decode(token) {
        Ok(token) if !token.is_empty() => token,
        _ => return error("Invalid device token"),
    };
    let device = match device(token, apns2, query) {
        Ok(device) => device,
        Err(reply) => return reply,
    };
    let hub = &app.hub;
    if remove_device {
        hub.push_remove_device(&sub_key, &device);
        return answer(&serde_json::json!([1, "Removed Device"]));
    }
    let (add, remove) = (query.get("add"), query.get("remove"));
    if add.is_none() && remove.is_none() {
        return list(&hub.push_channels(&sub_key, &device), query);
    }
    let (add, remove) = (query_list(add), query_list(remove));
    if let PushDevice::V1 {
        gateway: PushGateway::Apns,
        token,
    } = &device
    {
        if !add.is_empty() && !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return error("Invalid device token");
        }
    }
    if let Some((name, why)) = remove
        .iter()
        .chain(&add)
        .find_map(|name| crate::hub::validate_plain(name).err().map(|e| (name, e)))
    {
        return error(&format!("Invalid channel name {name:?}: {why}"));
    }
    match hub.push_modify(&sub_key, &device, &remove, &add) {
        Ok(()) => answer(&serde_json::json!([1, "Modified Channels"])),
        Err(why) => error(&format!("Invalid channel name: {why}")),
    }
}

/// The registrations a request names: `type` on v1; `topic` and `environment` on v2, where
/// `type` (JavaScript sends `apns2`) is ignored.
fn device(token: String, apns2: bool, query: &Query<'_>) -> Result<PushDevice, Reply> {
    if !apns2 {
        let gateway = query
            .get("type")
            .and_then(PushGateway::parse)
            .ok_or_else(|| error("Invalid type argument"))?;
        return Ok(PushDevice::V1 { gateway, token });
    }
    let topic = query
        .get("topic")
        .filter(|topic| !topic.is_empty())
        .ok_or_else(|| error("Missing topic argument"))?
        .to_string();
    let environment = match query.get("environment").filter(|e| !e.is_empty()) {
        None => PushEnvironment::Development,
        Some(name) => {
            PushEnvironment::parse(name).ok_or_else(|| error("Invalid environment argument"))?
        }
    };
    Ok(PushDevice::Apns2 {
        token,
        topic,
        environment,
    })
}

/// A page of `channels` (sorted): after `start`, at most `count`. A `count` that is not a
/// positive number is the default; a larger one is clamped.
fn list(channels: &[String], query: &Query<'_>) -> Reply {
    let count = query
        .get("count")
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
        .map_or(DEFAULT_LIST_COUNT, |c| c.min(MAX_LIST_COUNT));
    let from = match query.get("start").filter(|s| !s.is_empty()) {
        Some(start) => channels.partition_point(|c| c.as_str() <= start),
        None => 0,
    };
    let page: Vec<Value> = channels[from..]
        .iter()
        .take(count)
        .map(|c| Value::String(c.clone()))
        .collect();
    answer(&Value::Array(page))
}

fn answer(value: &Value) -> Reply {
    Reply::new(StatusCode::OK, python_json(value).into_bytes(), JAVASCRIPT)
}

/// The service's `400 {"error": "…"}`.
fn error(message: &str) -> Reply {
    let body = python_json(&serde_json::json!({ "error": message }));
    Reply::new(StatusCode::BAD_REQUEST, body.into_bytes(), JAVASCRIPT)
}

/// JSON as Python's `json.dumps` writes it by default: `", "` and `": "` separators, every
/// character outside ASCII escaped as `\uXXXX` (UTF-16, so astral ones as a surrogate pair).
pub(crate) fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_python(value, &mut out);
    out
}

fn write_python(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(key, out);
                out.push_str(": ");
                write_python(item, out);
            }
            out.push('}');
        }
        Value::String(text) => write_string(text, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(text: &str, out: &mut String) {
    // serde_json escapes quotes, backslashes and control characters as Python does (`\n`,
    // `\u001f`); only the non-ASCII characters it leaves raw need escaping here.
    let quoted = Value::String(text.to_string()).to_string();
    for c in quoted.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_pythons() {
        assert_eq!(
            python_json(&json!([1, "Modified Channels"])),
            r#"[1, "Modified Channels"]"#
        );
        assert_eq!(python_json(&json!([])), "[]");
        assert_eq!(
            python_json(&json!(["gcm_channel_1", "gcm_channel_2"])),
            r#"["gcm_channel_1", "gcm_channel_2"]"#
        );
        assert_eq!(
            python_json(&json!({"error": "Invalid type argument"})),
            r#"{"error": "Invalid type argument"}"#
        );
        // json.dumps(["测", "a\"b\n", "😀"])
        assert_eq!(
            python_json(&json!(["测", "a\"b\n", "😀"])),
            r#"["\u6d4b", "a\"b\n", "\ud83d\ude00"]"#
        );
    }

    #[test]
    fn list_pages() {
        let channels: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let page = |q: &str| {
            let reply = list(&channels, &Query::parse(q).unwrap());
            String::from_utf8(reply.body).unwrap()
        };
        assert_eq!(page(""), r#"["a", "b", "c", "d"]"#);
        assert_eq!(page("count=2"), r#"["a", "b"]"#);
        assert_eq!(page("count=2&start=b"), r#"["c", "d"]"#);
        assert_eq!(page("start=bb"), r#"["c", "d"]"#);
        assert_eq!(page("start=d"), "[]");
        assert_eq!(page("count=0&start="), r#"["a", "b", "c", "d"]"#);
        assert_eq!(page("count=x"), r#"["a", "b", "c", "d"]"#);
    }
}

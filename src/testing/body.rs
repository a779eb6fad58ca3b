//! Realistic answer bodies (PROTOCOL.md §2.4, §5.4, §5.8), for scripted answers.

use serde_json::{json, Value};

use crate::transport::{Request, Response};

/// The region every body of this module reports (`t.r`, `p.r`).
pub const REGION: u32 = 1;

/// A handshake answer: the cursor at `timetoken`, no messages.
///
/// ```
/// assert_eq!(
///     pubnub_engine::testing::body::handshake(17_000_000_000_000_000),
///     r#"{"t":{"t":"17000000000000000","r":1},"m":[]}"#
/// );
/// ```
pub fn handshake(timetoken: u64) -> String {
    format!(r#"{{"t":{{"t":"{timetoken}","r":{REGION}}},"m":[]}}"#)
}

/// A long-poll answer carrying `messages` (channel, payload), in order: the cursor moves to
/// `timetoken`, and the messages were published at the timetokens just before it (the last
/// one at `timetoken`). Give each answer a later `timetoken` than the one before, as the
/// service does.
///
/// ```
/// use serde_json::json;
/// let body = pubnub_engine::testing::body::messages(17_000_000_000_000_002, [("chat", json!("hi"))]);
/// assert!(body.starts_with(r#"{"t":{"t":"17000000000000002","r":1},"m":[{"#));
/// ```
pub fn messages<C, I>(timetoken: u64, messages: I) -> String
where
    C: AsRef<str>,
    I: IntoIterator<Item = (C, Value)>,
{
    let messages: Vec<(C, Value)> = messages.into_iter().collect();
    let first = timetoken.saturating_sub(messages.len().saturating_sub(1) as u64);
    let envelopes: Vec<String> = messages
        .into_iter()
        .enumerate()
        .map(|(i, (channel, payload))| {
            json!({
                "a": "1",
                "f": 0,
                "s": 1,
                "p": {"t": (first + i as u64).to_string(), "r": REGION},
                "k": "sub-key",
                "c": channel.as_ref(),
                "d": payload,
            })
        })
        .map(|envelope| envelope.to_string())
        .collect();
    // Written by hand so that `t` comes first, as the service sends it.
    format!(
        r#"{{"t":{{"t":"{timetoken}","r":{REGION}}},"m":[{}]}}"#,
        envelopes.join(",")
    )
}

/// A publish or signal answer: `[1,"Sent","<timetoken>"]`.
pub fn published(timetoken: u64) -> String {
    format!(r#"[1,"Sent","{timetoken}"]"#)
}

/// The body the service sends with an error `status`: Access Manager's for 403, the
/// balancer's for 400, 414 and 429, a generic one otherwise.
pub fn error(status: u16) -> String {
    let (service, message) = match status {
        400 => ("Balancer", "Invalid Arguments"),
        403 => ("Access Manager", "Forbidden"),
        404 => ("Balancer", "Not Found"),
        414 => ("Balancer", "Request URI Too Long"),
        429 => ("Balancer", "Too many requests."),
        500..=599 => ("Balancer", "Internal Server Error"),
        _ => ("Balancer", "Error"),
    };
    json!({"status": status, "error": true, "service": service, "message": message}).to_string()
}

/// The answer to a heartbeat.
pub fn heartbeat() -> String {
    r#"{"status":200,"message":"OK","service":"Presence"}"#.to_owned()
}

/// The answer to a leave.
pub fn leave() -> String {
    r#"{"status":200,"action":"leave","message":"OK","service":"Presence"}"#.to_owned()
}

/// The answer to `/time/0`: `[<timetoken>]`.
pub fn time(timetoken: u64) -> String {
    format!("[{timetoken}]")
}

/// A here-now answer for `channel` with these users present.
///
/// ```
/// let body = pubnub_engine::testing::body::here_now("room", ["alice", "bob"]);
/// assert!(body.contains(r#""occupancy":2"#));
/// ```
pub fn here_now<'a>(channel: &str, users: impl IntoIterator<Item = &'a str>) -> String {
    let users: Vec<Value> = users.into_iter().map(|u| json!({"uuid": u})).collect();
    json!({
        "status": 200, "message": "OK", "service": "Presence",
        "payload": {
            "channels": {channel: {"occupancy": users.len(), "uuids": users}},
            "total_channels": 1, "total_occupancy": users.len(),
        },
    })
    .to_string()
}

/// A here-now answer with nobody anywhere.
pub fn here_now_empty() -> String {
    json!({
        "status": 200, "message": "OK", "service": "Presence",
        "payload": {"channels": {}, "total_channels": 0, "total_occupancy": 0},
    })
    .to_string()
}

/// A where-now answer: the user is on these channels.
pub fn where_now<'a>(channels: impl IntoIterator<Item = &'a str>) -> String {
    let channels: Vec<&str> = channels.into_iter().collect();
    json!({"status": 200, "message": "OK", "service": "Presence", "payload": {"channels": channels}})
        .to_string()
}

/// App Context: the answer to a set or get of user metadata (`id`, `name`).
pub fn user_metadata(id: &str, name: &str) -> String {
    json!({"status": 200, "data": {
        "id": id, "name": name, "externalId": null, "profileUrl": null, "email": null,
        "custom": null, "updated": "2026-01-01T00:00:00.000000Z", "eTag": "AbCdEf",
    }})
    .to_string()
}

/// App Context: the answer to a set or get of channel metadata (`id`, `name`).
pub fn channel_metadata(id: &str, name: &str) -> String {
    json!({"status": 200, "data": {
        "id": id, "name": name, "description": null, "custom": null,
        "updated": "2026-01-01T00:00:00.000000Z", "eTag": "AbCdEf",
    }})
    .to_string()
}

/// History: a fetch-messages answer with `messages` (timetoken, payload) on `channel`.
pub fn history<I>(channel: &str, messages: I) -> String
where
    I: IntoIterator<Item = (u64, Value)>,
{
    let items: Vec<Value> = messages
        .into_iter()
        .map(|(tt, message)| json!({"message": message, "timetoken": tt.to_string()}))
        .collect();
    json!({"status": 200, "error": false, "error_message": "", "channels": {channel: items}})
        .to_string()
}

/// The path segments of a request (`/v2/objects/sub/uuids/u` → `["v2", "objects", …]`).
fn segments(request: &Request) -> Vec<String> {
    request
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(crate::testing::decode_segment)
        .collect()
}

/// Presence state: a set echoes the state sent; a get answers an empty state.
pub(crate) fn presence_state(request: &Request) -> String {
    if request.path.ends_with("/data") {
        let state: Value = request
            .query_value("state")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_else(|| json!({}));
        return json!({"status": 200, "message": "OK", "service": "Presence", "payload": state})
            .to_string();
    }
    let channels = segments(request).get(5).cloned().unwrap_or_default();
    let several = channels.contains(',') || request.query_value("channel-group").is_some();
    let payload = if several {
        json!({"channels": {}})
    } else {
        json!({})
    };
    json!({"status": 200, "message": "OK", "service": "Presence", "payload": payload}).to_string()
}

/// Channel groups: a list of a group answers no channel; the other calls succeed.
pub(crate) fn channel_groups(request: &Request) -> String {
    let group = segments(request).get(5).cloned().unwrap_or_default();
    json!({
        "status": 200, "message": "OK", "service": "channel-registry", "error": false,
        "payload": {"channels": [], "group": group, "groups": []},
    })
    .to_string()
}

/// History: nothing stored, no counts; a delete succeeds.
pub(crate) fn history_empty(request: &Request) -> String {
    let _ = request;
    r#"{"status":200,"error":false,"error_message":"","channels":{}}"#.to_owned()
}

/// Message actions: an add echoes the action with its timetoken; a get finds none.
pub(crate) fn message_action(request: &Request, now: u64) -> String {
    match request.method {
        crate::transport::Method::Post => {
            let sent: Value = request
                .body
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_else(|| json!({}));
            let message = segments(request).get(6).cloned().unwrap_or_default();
            json!({"status": 200, "data": {
                "type": sent["type"], "value": sent["value"],
                "uuid": request.query_value("uuid").unwrap_or_default(),
                "actionTimetoken": now.to_string(), "messageTimetoken": message,
            }})
            .to_string()
        }
        crate::transport::Method::Delete => r#"{"status":200,"data":{}}"#.to_owned(),
        _ => r#"{"status":200,"data":[]}"#.to_owned(),
    }
}

/// PubNub's "token with everything" (its Go, Swift and JavaScript SDKs' tests): what a grant
/// answers.
pub const TOKEN: &str = "qEF2AkF0GmEI03xDdHRsGDxDcmVzpURjaGFuoWljaGFubmVsLTEY70NncnChb2NoYW5uZWxfZ3JvdXAtMQVDdXNyoENzcGOgRHV1aWShZnV1aWQtMRhoQ3BhdKVEY2hhbqFtXmNoYW5uZWwtXFMqJBjvQ2dycKF0XjpjaGFubmVsX2dyb3VwLVxTKiQFQ3VzcqBDc3BjoER1dWlkoWpedXVpZC1cUyokGGhEbWV0YaBEdXVpZHR0ZXN0LWF1dGhvcml6ZWQtdXVpZENzaWdYIPpU-vCe9rkpYs87YUrFNWkyNq8CVvmKwEjVinnDrJJc";

/// Access Manager: a grant answers [`TOKEN`]; a revoke succeeds.
pub(crate) fn access_manager(request: &Request) -> String {
    match request.method {
        crate::transport::Method::Delete => {
            r#"{"data":{"message":"Success"},"service":"Access Manager","status":200}"#.to_owned()
        }
        _ => json!({"status": 200, "service": "Access Manager",
                    "data": {"message": "Success", "token": TOKEN}})
        .to_string(),
    }
}

/// App Context: a set echoes what was sent as the stored object; a get of one object is the
/// service's 404 (nothing was stored); lists are empty; removes succeed.
pub(crate) fn app_context(request: &Request, now: u64) -> Response {
    use crate::transport::Method;
    let parts = segments(request);
    // ["v2", "objects", sub, "uuids" | "channels", id?, relation?]
    let one = parts.len() == 5;
    match (request.method, one) {
        (Method::Patch, true) => {
            let mut data: Value = request
                .body
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_else(|| json!({}));
            if let Value::Object(map) = &mut data {
                map.insert("id".into(), json!(parts[4]));
                map.insert("updated".into(), json!("2026-01-01T00:00:00.000000Z"));
                map.insert("eTag".into(), json!(format!("{now:x}")));
            }
            Response::new(200, json!({"status": 200, "data": data}).to_string())
        }
        (Method::Get, true) => Response::new(
            404,
            r#"{"status":404,"error":{"message":"Requested object was not found.","source":"objects"}}"#,
        ),
        (Method::Delete, _) => Response::new(200, r#"{"status":200,"data":null}"#),
        _ => Response::new(200, r#"{"status":200,"data":[]}"#),
    }
}

/// The storage host of scripted upload forms and file URLs.
const STORAGE: &str = "https://files.scripted.invalid";

/// Files: an upload form pointing at a scripted storage, file messages sent, no file listed,
/// a file URL redirecting to storage, deletes succeeding.
pub(crate) fn files(request: &Request, now: u64) -> Response {
    use crate::transport::Method;
    let parts = segments(request);
    let path = request.path.as_str();
    if path.ends_with("/generate-upload-url") {
        let name: String = request
            .body
            .as_ref()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
            .and_then(|v| v["name"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let id = format!("{now:x}");
        return Response::new(
            200,
            json!({"status": 200, "data": {"id": id, "name": name}, "file_upload_request": {
                "url": format!("{STORAGE}/upload"), "method": "POST",
                "expiration_date": "2099-01-01T00:00:00Z",
                "form_fields": [
                    {"key": "key", "value": format!("sub/{id}/{name}")},
                    {"key": "Content-Type", "value": "application/octet-stream"},
                    {"key": "Policy", "value": "scripted"},
                ],
            }})
            .to_string(),
        );
    }
    if path.starts_with("/v1/files/publish-file/") {
        return Response::new(200, published(now));
    }
    match (request.method, parts.len()) {
        (Method::Delete, _) => Response::new(200, r#"{"status":200}"#),
        // …/files/{id}/{name}: the file's URL redirects to storage.
        (_, 8) => Response::new(307, String::new())
            .with_location(format!("{STORAGE}/download/{}/{}", parts[6], parts[7])),
        _ => Response::new(200, r#"{"status":200,"data":[],"next":null,"count":0}"#),
    }
}

/// Storage: an upload is stored (204), a download is an empty file.
pub(crate) fn file_storage(request: &Request) -> Response {
    match request.method {
        crate::transport::Method::Post => Response::new(204, ""),
        _ => Response::new(200, ""),
    }
}

/// Mobile push: registrations change, a device has no channel, a removal succeeds (the
/// service's own spacing).
pub(crate) fn push(request: &Request) -> String {
    if request.path.ends_with("/remove") {
        r#"[1, "Removed Device"]"#.to_owned()
    } else if request.query_value("add").is_some() || request.query_value("remove").is_some() {
        r#"[1, "Modified Channels"]"#.to_owned()
    } else {
        "[]".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribe::envelope::{parse, EnvelopeKind};

    #[test]
    fn the_subscribe_bodies_parse_as_the_service_sends_them() {
        let answer = parse(handshake(17_000_000_000_000_000).as_bytes()).unwrap();
        assert_eq!(answer.cursor.timetoken, 17_000_000_000_000_000);
        assert!(answer.messages.is_empty());

        let body = messages(
            17_000_000_000_000_010,
            [("a", json!({"n": 1})), ("b", json!("two"))],
        );
        let answer = parse(body.as_bytes()).unwrap();
        assert_eq!(answer.cursor.timetoken, 17_000_000_000_000_010);
        let got: Vec<_> = answer
            .messages
            .iter()
            .map(|m| (m.kind, m.channel.as_str(), m.published.timetoken))
            .collect();
        assert_eq!(
            got,
            [
                (EnvelopeKind::Message, "a", 17_000_000_000_000_009),
                (EnvelopeKind::Message, "b", 17_000_000_000_000_010),
            ]
        );
        assert_eq!(answer.messages[1].payload.to_string(), r#""two""#);
    }

    #[test]
    fn error_bodies_are_classified_by_their_status() {
        use crate::transport::response::check;
        use crate::transport::Response;
        use crate::ErrorKind;
        let denied = check(&Response::new(403, error(403))).unwrap_err();
        assert_eq!(denied.kind(), ErrorKind::AccessDenied);
        let failed = check(&Response::new(500, error(500))).unwrap_err();
        assert_eq!(failed.kind(), ErrorKind::Http { status: 500 });
        let sent = check(&Response::new(200, published(17_000_000_000_000_000))).unwrap();
        assert_eq!(sent[2], "17000000000000000");
    }
}

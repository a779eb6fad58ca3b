//! What the console's page reads, as JSON: the state of the server (channels, clients,
//! faults, App Context, grants, files, push outbox), each message, each request.
//!
//! Times are Unix milliseconds, what a browser's `Date` takes; timetokens stay strings (17
//! digits are more than a JavaScript number holds exactly). The secret key is never here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::http::{notification_json, rules_json, App, LoggedRequest};
use crate::hub::inspect::{ClientView, Inspection};
use crate::hub::{EventKind, ObjectKind, Observed, Timetoken};
use crate::pam::{Issued, Sets};

/// Longest list of each kind the state holds: a console is for reading, and a snapshot of
/// 10,000 clients every 200 ms would cost the server more than it tells a person.
pub(super) const MAX_ROWS: usize = 500;

/// Largest payload sent whole; a bigger one is sent as the start of its JSON text.
const MAX_PAYLOAD_CHARS: usize = 64 * 1024;

/// Unix milliseconds of a timetoken.
fn ms(tt: Timetoken) -> u64 {
    tt.0 / 10_000
}

/// The state of the server.
pub(super) fn state(app: &App) -> Value {
    let Inspection { now, keys, push } = app.hub.inspect(MAX_ROWS);
    let mut channels = Vec::new();
    let mut groups = Vec::new();
    let mut clients = Vec::new();
    let mut users = Vec::new();
    let mut channel_metadata = Vec::new();
    let mut memberships = Vec::new();
    let mut files = Vec::new();
    let (mut channel_count, mut client_count) = (0, 0);
    for key in &keys {
        let sub_key = &key.sub_key;
        channel_count += key.channel_count;
        client_count += key.client_count;
        for channel in &key.channels {
            let occupants: Vec<Value> = channel
                .occupants
                .iter()
                .map(|o| {
                    json!({
                        "uuid": o.uuid,
                        "state": o.state,
                        "last_heartbeat": ms(o.last_heartbeat),
                        "expires": ms(o.expires),
                    })
                })
                .collect();
            channels.push(json!({
                "sub_key": sub_key,
                "name": channel.name,
                "occupancy": channel.occupants.len(),
                "occupants": occupants,
                "subscribers": channel.subscribers,
                "buffered": channel.buffered,
                "last_message": channel.last_message.map(ms),
            }));
        }
        for (name, members) in &key.groups {
            groups.push(json!({"sub_key": sub_key, "name": name, "channels": members}));
        }
        clients.extend(key.clients.iter().map(|c| client(sub_key, c)));
        for (kind, out) in [
            (ObjectKind::User, &mut users),
            (ObjectKind::Channel, &mut channel_metadata),
        ] {
            let entities = match kind {
                ObjectKind::User => &key.users,
                ObjectKind::Channel => &key.channel_metadata,
            };
            out.extend(entities.iter().map(|entity| {
                let mut value = entity.full_json(kind);
                value["sub_key"] = json!(sub_key);
                value
            }));
        }
        memberships.extend(key.memberships.iter().map(|r| {
            json!({
                "sub_key": sub_key,
                "user": r.user,
                "channel": r.channel,
                "status": r.fields.get("status"),
                "type": r.fields.get("type"),
                "custom": r.custom,
                "updated": r.updated,
            })
        }));
        files.extend(key.files.iter().map(|f| {
            json!({
                "sub_key": sub_key,
                "channel": f.channel,
                "id": f.id,
                "name": f.name,
                "size": f.size,
                "content_type": f.content_type,
                "created": ms(f.created),
                "expires": f.expires.map(ms),
            })
        }));
    }
    let grants: Vec<Value> = app
        .tokens
        .as_ref()
        .map(|tokens| tokens.issued())
        .unwrap_or_default()
        .iter()
        .rev()
        .take(MAX_ROWS)
        .map(grant)
        .collect();
    let config = app.hub.config();
    json!({
        "server": {
            "version": env!("CARGO_PKG_VERSION"),
            "now": ms(now),
            "hold_ms": u64::try_from(config.hold.as_millis()).unwrap_or(u64::MAX),
            "presence_timeout_s": config.default_presence_timeout.as_secs(),
            "access_manager": app.options.signing.is_some(),
            "faults_endpoint": app.options.admin,
            "recording": app.recorder.is_some(),
        },
        "keys": keys.iter().map(|k| k.sub_key.as_str()).collect::<Vec<_>>(),
        "counts": {"channels": channel_count, "clients": client_count},
        "channels": channels,
        "groups": groups,
        "clients": clients,
        "faults": rules_json(app),
        "users": users,
        "channel_metadata": channel_metadata,
        "memberships": memberships,
        "grants": grants,
        "files": files,
        "push": push.iter().rev().map(notification_json).collect::<Vec<_>>(),
    })
}

fn client(sub_key: &str, c: &ClientView) -> Value {
    let present: Vec<Value> = c
        .present
        .iter()
        .map(|(channel, state)| json!({"channel": channel, "state": state}))
        .collect();
    json!({
        "sub_key": sub_key,
        "uuid": c.uuid,
        "channels": c.channels,
        "groups": c.groups,
        "filter": c.filter,
        "long_polls": c.long_polls,
        "last_request": c.last_request.map(ms),
        "present": present,
        "last_heartbeat": c.last_heartbeat.map(ms),
    })
}

/// A token as the console lists it: its permissions by name, newest first.
fn grant(issued: &Issued) -> Value {
    let sets = |sets: &Sets| {
        json!({
            "channels": permissions(&sets.channels),
            "groups": permissions(&sets.groups),
            "uuids": permissions(&sets.uuids),
        })
    };
    json!({
        "token": issued.token,
        "granted": issued.granted.saturating_mul(1000),
        "expires": issued.granted.saturating_add(issued.ttl.saturating_mul(60)).saturating_mul(1000),
        "ttl": issued.ttl,
        "authorized_uuid": issued.authorized_uuid,
        "resources": sets(&issued.resources),
        "patterns": sets(&issued.patterns),
        "meta": issued.meta,
        "revoked": issued.revoked.map(|s| s.saturating_mul(1000)),
    })
}

/// `{"name": ["read", "write"]}`: the service's permission bits by name.
fn permissions(set: &std::collections::BTreeMap<String, u32>) -> Value {
    const NAMES: [(u32, &str); 8] = [
        (1, "read"),
        (2, "write"),
        (4, "manage"),
        (8, "delete"),
        (16, "create"),
        (32, "get"),
        (64, "update"),
        (128, "join"),
    ];
    let map: Map<String, Value> = set
        .iter()
        .map(|(name, bits)| {
            let names: Vec<&str> = NAMES
                .iter()
                .filter(|(bit, _)| bits & bit != 0)
                .map(|(_, name)| *name)
                .collect();
            (name.clone(), json!(names))
        })
        .collect();
    Value::Object(map)
}

/// One message as it entered its channel.
pub(super) fn message(observed: &Observed) -> Value {
    let m = &observed.message;
    let kind = match m.kind {
        EventKind::Message => "message",
        EventKind::Signal => "signal",
        EventKind::Presence => "presence",
        EventKind::Action => "action",
        EventKind::Objects => "objects",
        EventKind::File => "file",
    };
    let text = m.payload.to_string();
    let (payload, truncated) = if text.chars().count() > MAX_PAYLOAD_CHARS {
        let cut: String = text.chars().take(MAX_PAYLOAD_CHARS).collect();
        (Value::String(cut), true)
    } else {
        (m.payload.clone(), false)
    };
    json!({
        "sub_key": &*observed.sub_key,
        "channel": m.channel,
        "timetoken": m.timetoken.to_string(),
        "at": ms(m.timetoken),
        "type": kind,
        "publisher": m.publisher,
        "meta": m.meta,
        "custom_message_type": m.custom_message_type,
        "seqn": m.seqn,
        "payload": payload,
        "truncated": truncated,
        "encrypted": encrypted(&m.payload),
    })
}

/// Whether a payload is what PubNub's SDKs publish with a cipher key: a JSON string of
/// base64 whose bytes are AES-CBC blocks (legacy) or start with the crypto module's `PNED`
/// header; or such a string as `pn_other` beside push keys. A guess, on purpose loose on the
/// side of "encrypted": plain text that happens to be 16-byte-aligned base64 is rare.
pub(super) fn encrypted(payload: &Value) -> bool {
    let text = match payload {
        Value::String(text) => text,
        Value::Object(map) => match map.get("pn_other") {
            Some(Value::String(text)) => text,
            _ => return false,
        },
        _ => return false,
    };
    if text.len() < 24 {
        return false;
    }
    match STANDARD.decode(text) {
        Ok(bytes) => bytes.starts_with(b"PNED") || bytes.len() % 16 == 0,
        Err(_) => false,
    }
}

/// One request of the log.
pub(super) fn request(request: &LoggedRequest) -> Value {
    json!(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_payloads_are_told_apart() {
        // AES-CBC of "hello" with a random IV (PubNub's Python SDK), and the crypto module's.
        let legacy = json!("xr9gIP0DHTL0bWqcsFw5uqfh8IV5R99wgpsZsy4UMTc=");
        let module = json!(STANDARD.encode(b"PNED\x01ACRH\x10................0123456789abcdef"));
        assert!(encrypted(&legacy));
        assert!(encrypted(&module));
        assert!(encrypted(&json!({"pn_other": legacy, "pn_apns": {}})));
        for plain in [
            json!("hello"),
            json!("not base64 at all, but long enough"),
            json!("aGVsbG8gd29ybGQsIGhvdyBhcmUgeW91Pw=="),
            json!({"text": "hi"}),
            json!(42),
        ] {
            assert!(!encrypted(&plain), "{plain}");
        }
    }

    #[test]
    fn permissions_are_named() {
        let set = [("a".to_string(), 1 | 2 | 128)].into_iter().collect();
        assert_eq!(permissions(&set), json!({"a": ["read", "write", "join"]}));
    }
}

//! Subscribe v2: request parsing and the envelope format (PROTOCOL.md §5).

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;

use super::response::Reply;
use super::routes::{path_list, percent_decode, query_list, Query};
use super::{App, Outcome};
use crate::hub::{SubscribeRequest, SubscribeResponse, Timetoken};

/// Largest presence timeout accepted from `heartbeat`; larger values are clamped.
pub(crate) const MAX_PRESENCE_TIMEOUT_SECS: u64 = 24 * 3600;

pub(super) async fn handle(app: &App, sub_key: &str, channels: &str, query: &Query<'_>) -> Outcome {
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
        response = future => Reply::ok_body(body(&response, &sub_key)).into(),
        _ = dropped.cancelled() => Outcome::Reset,
        _ = app.shutdown.cancelled() => {
            let response = SubscribeResponse {
                cursor: if cursor == Timetoken(0) { app.hub.now() } else { cursor },
                region: region_fallback,
                messages: Vec::new(),
            };
            Reply::ok_body(body(&response, &sub_key)).into()
        }
    }
}

/// `heartbeat=N`: the presence timeout; absent or zero means the hub's default.
pub(super) fn presence_timeout(query: &Query<'_>) -> Option<Duration> {
    let secs: u64 = query.get("heartbeat")?.parse().ok()?;
    (secs > 0).then(|| Duration::from_secs(secs.min(MAX_PRESENCE_TIMEOUT_SECS)))
}

/// `{"m":[…],"t":{"r":R,"t":"…"}}`, keys in the order serde_json's map used to print them.
///
/// Serialised straight from the stored messages: building a `serde_json::Value` per envelope
/// first cloned every payload and cost more than the rest of a subscribe answer.
pub(crate) fn body(response: &SubscribeResponse, sub_key: &str) -> Vec<u8> {
    let body = wire::Body {
        m: response
            .messages
            .iter()
            .map(|d| wire::Envelope::new(d, sub_key, response.region))
            .collect(),
        t: wire::Cursor {
            r: response.region,
            t: response.cursor.0,
        },
    };
    serde_json::to_vec(&body).expect("a subscribe body always serialises")
}

mod wire {
    //! One message envelope (PROTOCOL.md §5.5): `a f k c d p` always, `s` on every published
    //! message, the rest when known.

    use serde::{Serialize, Serializer};
    use serde_json::Value;

    use crate::hub::{Delivery, EventKind};

    #[derive(Serialize)]
    pub(super) struct Body<'a> {
        pub(super) m: Vec<Envelope<'a>>,
        pub(super) t: Cursor,
    }

    /// A timetoken and region; the timetoken travels as a string.
    #[derive(Serialize)]
    pub(super) struct Cursor {
        pub(super) r: u32,
        #[serde(serialize_with = "as_string")]
        pub(super) t: u64,
    }

    fn as_string<S: Serializer>(t: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }

    #[derive(Serialize)]
    pub(super) struct Envelope<'a> {
        a: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<&'a str>,
        c: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cmt: Option<&'a str>,
        d: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        e: Option<u8>,
        f: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        i: Option<&'a str>,
        k: &'a str,
        p: Cursor,
        #[serde(skip_serializing_if = "Option::is_none")]
        s: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        u: Option<&'a Value>,
    }

    impl<'a> Envelope<'a> {
        pub(super) fn new(delivery: &'a Delivery, sub_key: &'a str, region: u32) -> Self {
            let message = &delivery.message;
            Envelope {
                a: if message.kind == EventKind::Presence {
                    "2"
                } else {
                    "1"
                },
                b: delivery.matched.as_deref(),
                c: &message.channel,
                cmt: message.custom_message_type.as_deref(),
                d: &message.payload,
                e: match message.kind {
                    EventKind::Signal => Some(1),
                    EventKind::Objects => Some(2),
                    EventKind::Action => Some(3),
                    EventKind::File => Some(4),
                    EventKind::Message | EventKind::Presence => None,
                },
                f: 0,
                i: message.publisher.as_deref(),
                k: sub_key,
                p: Cursor {
                    r: region,
                    t: message.timetoken.0,
                },
                // The service puts `s` on every published message, 1 when the publisher sent
                // no `seqn` (recordings); signals and presence events carry none.
                s: match message.kind {
                    EventKind::Message => Some(message.seqn.unwrap_or(1)),
                    _ => message.seqn,
                },
                u: message.meta.as_ref(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::hub::{Delivery, EventKind, Message};

    fn delivery(kind: EventKind, full: bool, matched: Option<&str>) -> Delivery {
        Delivery {
            message: Arc::new(Message {
                channel: "ch.1".into(),
                timetoken: Timetoken(17_000_000_000_000_001),
                payload: json!({"text": "hi \"there\"", "n": [1, 2.5, null]}),
                kind,
                publisher: full.then(|| "user-1".to_string()),
                meta: full.then(|| json!({"lang": "en"})),
                seqn: full.then_some(7),
                custom_message_type: full.then(|| "chat".to_string()),
            }),
            matched: matched.map(str::to_string),
        }
    }

    #[test]
    fn the_body_is_byte_for_byte_what_a_json_value_printed() {
        let response = SubscribeResponse {
            cursor: Timetoken(17_000_000_000_000_002),
            region: 4,
            messages: vec![
                delivery(EventKind::Message, true, Some("ch.*")),
                delivery(EventKind::Message, false, None),
                delivery(EventKind::Signal, false, None),
                delivery(EventKind::Presence, false, Some("ch.1-pnpres")),
                delivery(EventKind::File, true, None),
            ],
        };
        let expected = json!({
            "t": {"t": "17000000000000002", "r": 4},
            "m": [
                {"a": "1", "f": 0, "i": "user-1", "s": 7,
                 "p": {"t": "17000000000000001", "r": 4}, "k": "sub-k", "c": "ch.1",
                 "d": {"text": "hi \"there\"", "n": [1, 2.5, null]}, "u": {"lang": "en"},
                 "cmt": "chat", "b": "ch.*"},
                {"a": "1", "f": 0, "s": 1, "p": {"t": "17000000000000001", "r": 4},
                 "k": "sub-k", "c": "ch.1", "d": {"text": "hi \"there\"", "n": [1, 2.5, null]}},
                {"a": "1", "f": 0, "e": 1, "p": {"t": "17000000000000001", "r": 4},
                 "k": "sub-k", "c": "ch.1", "d": {"text": "hi \"there\"", "n": [1, 2.5, null]}},
                {"a": "2", "f": 0, "p": {"t": "17000000000000001", "r": 4}, "k": "sub-k",
                 "c": "ch.1", "d": {"text": "hi \"there\"", "n": [1, 2.5, null]},
                 "b": "ch.1-pnpres"},
                {"a": "1", "f": 0, "e": 4, "i": "user-1", "s": 7,
                 "p": {"t": "17000000000000001", "r": 4}, "k": "sub-k", "c": "ch.1",
                 "d": {"text": "hi \"there\"", "n": [1, 2.5, null]}, "u": {"lang": "en"},
                 "cmt": "chat"},
            ],
        });
        let body = String::from_utf8(body(&response, "sub-k")).unwrap();
        assert_eq!(body, expected.to_string());
    }
}

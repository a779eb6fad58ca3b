//! Realistic answer bodies (PROTOCOL.md §2.4, §5.4, §5.8), for scripted answers.

use serde_json::{json, Value};

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

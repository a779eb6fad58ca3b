//! Every server answer becomes a JSON value or a typed [`Error`] (PROTOCOL.md §1.3).
//!
//! PubNub reports errors in several shapes: the publish service's arrays
//! (`[0,"Message Too Large","…"]`, `[0,"Forbidden"]`), Access Manager objects with the affected
//! channels under `payload`, Balancer objects for 413/414, `error_message`, nested `error`
//! objects, and sometimes an HTTP 200 whose body says `"status":403`. Bodies may also be
//! truncated, empty, HTML from a proxy, or anything else. Nothing here panics or indexes blindly.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Response;
use crate::error::{Error, ErrorKind};

/// The longest server text kept in an error message.
const MAX_MESSAGE: usize = 200;

/// The longest error body parsed as JSON: error answers are a few hundred bytes, and a tree of a
/// hostile megabyte would take ~16 times it. Longer ones are described by their status alone.
const MAX_ERROR_BODY: usize = 64 << 10;

/// The JSON body of a successful answer, or the error the answer describes.
pub(crate) fn check(response: &Response) -> Result<Value, Error> {
    if !response.is_success() {
        let parsed = (response.body.len() <= MAX_ERROR_BODY)
            .then(|| serde_json::from_slice::<Value>(&response.body).ok())
            .flatten();
        return Err(error_from(response.status, parsed.as_ref(), &response.body)
            .with_retry_after(response.retry_after));
    }
    let parsed = serde_json::from_slice::<Value>(&response.body);
    let json = parsed.map_err(|e| {
        let text = snippet(&response.body);
        let message = if text.is_empty() {
            "empty response body".to_owned()
        } else {
            format!("response is not JSON: {text}")
        };
        Error::answer(ErrorKind::Decode, response.status, message).with_source(e)
    })?;
    match embedded_error_status(&json) {
        Some(status) => {
            Err(error_from(status, Some(&json), &response.body)
                .with_retry_after(response.retry_after))
        }
        None => Ok(json),
    }
}

/// Success or the error the answer describes, for calls whose answer carries nothing else.
pub(crate) fn ok(response: &Response) -> Result<(), Error> {
    check(response).map(drop)
}

/// The value at `pointer` (`/payload/channels`) of a successful answer, deserialised into `T`;
/// a missing value or another shape is a [`ErrorKind::Decode`] error naming `what`.
pub(crate) fn field<T: DeserializeOwned>(
    response: &Response,
    pointer: &str,
    what: &str,
) -> Result<T, Error> {
    let mut json = check(response)?;
    let value = json
        .pointer_mut(pointer)
        .map(Value::take)
        .ok_or_else(|| Error::decode(format!("{what} response has no {pointer}")))?;
    decode(value, what)
}

/// The array at `key` of a checked answer: `None` when it is absent or null (the service
/// leaves an empty list out), a [`ErrorKind::Decode`] error naming `what` when it is anything
/// but an array.
pub(crate) fn array<'a>(
    json: &'a Value,
    key: &str,
    what: &str,
) -> Result<Option<&'a [Value]>, Error> {
    match json.get(key) {
        Some(Value::Array(items)) => Ok(Some(items)),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(Error::decode(format!(
            "{what}: `{key}` is not a list: {}",
            short(other)
        ))),
    }
}

/// The object at `key` of a checked answer, as [`array`] reads an array.
pub(crate) fn object<'a>(
    json: &'a Value,
    key: &str,
    what: &str,
) -> Result<Option<&'a serde_json::Map<String, Value>>, Error> {
    match json.get(key) {
        Some(Value::Object(map)) => Ok(Some(map)),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(Error::decode(format!(
            "{what}: `{key}` is not an object: {}",
            short(other)
        ))),
    }
}

/// Deserialises a checked body into `T`; a shape mismatch is a [`ErrorKind::Decode`] error.
pub(crate) fn decode<T: DeserializeOwned>(json: Value, what: &str) -> Result<T, Error> {
    serde_json::from_value(json)
        .map_err(|e| Error::decode(format!("unexpected {what} response")).with_source(e))
}

/// A timetoken given as a string of digits (publish, subscribe) or as a number (`/time/0`).
/// Parsed as an integer: 17-digit values do not survive a trip through `f64`.
pub(crate) fn timetoken(value: &Value) -> Option<u64> {
    match value {
        Value::String(text) => timetoken_digits(text),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

/// A timetoken written as a string of digits (no sign, no spaces).
pub(crate) fn timetoken_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The timetoken of a publish, fire or signal success, strictly `[1, "<text>", "<timetoken>"]`
/// (the timetoken also as an integer): anything else, `[1,1,1]` say, is not a success.
pub(crate) fn publish_timetoken(json: &Value) -> Result<u64, Error> {
    match json.as_array().map(Vec::as_slice) {
        Some([flag, Value::String(_), tt]) if flag.as_u64() == Some(1) => {
            timetoken(tt).filter(|tt| is_timetoken(*tt))
        }
        _ => None,
    }
    .ok_or_else(|| Error::decode(format!("unexpected publish response: {}", short(json))))
}

/// True for a plausible 17-digit timetoken (100 ns units since 1970: from 2001-09 on).
pub(crate) fn is_timetoken(tt: u64) -> bool {
    (10_000_000_000_000_000..100_000_000_000_000_000).contains(&tt)
}

/// The value of `/time/0`: `[17143123456789012]`.
pub(crate) fn time(json: &Value) -> Result<u64, Error> {
    match json.as_array().map(Vec::as_slice) {
        Some([tt, ..]) => timetoken(tt),
        _ => None,
    }
    .ok_or_else(|| Error::decode(format!("unexpected time response: {}", short(json))))
}

/// The status a 2xx body reports as an error: an object with `"status"` ≥ 400 or a truthy
/// `error`, or a service array whose first element is 0.
fn embedded_error_status(json: &Value) -> Option<u16> {
    match json {
        Value::Object(map) => {
            let status = map
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok());
            let flagged = match map.get("error") {
                Some(Value::Bool(flag)) => *flag,
                Some(Value::Number(n)) => n.as_u64() == Some(1),
                Some(Value::Object(_)) => true,
                _ => false,
            };
            match status {
                Some(status) if status >= 400 => Some(status),
                _ if flagged => Some(400),
                _ => None,
            }
        }
        Value::Array(items) => match items.as_slice() {
            [flag, Value::String(_), ..] if flag.as_u64() == Some(0) => Some(400),
            _ => None,
        },
        _ => None,
    }
}

/// The error an answer with `status` and (maybe) a JSON body describes.
fn error_from(status: u16, json: Option<&Value>, body: &[u8]) -> Error {
    let mut message = json.and_then(server_message).unwrap_or_else(|| {
        if body.is_empty() {
            format!("HTTP {status} with an empty body")
        } else {
            snippet(body)
        }
    });
    let lower = message.to_ascii_lowercase();
    let kind = if status == 413
        || lower.contains("message too large")
        || lower.contains("signal size too large")
        || lower.contains("entity too large")
    {
        ErrorKind::MessageTooLarge
    } else if status == 403 {
        ErrorKind::AccessDenied
    } else if status == 412 {
        ErrorKind::PreconditionFailed
    } else {
        ErrorKind::Http { status }
    };
    if let Some(affected) = json.and_then(affected_names) {
        message = format!("{message} ({affected})");
    }
    Error::answer(kind, status, message)
}

/// The human text of an error body, whatever its shape.
fn server_message(json: &Value) -> Option<String> {
    let text = match json {
        // [0,"Message Too Large","…"] and [0,"Forbidden"]
        Value::Array(items) => items.get(1).and_then(Value::as_str),
        Value::Object(map) => map
            .get("message")
            .and_then(Value::as_str)
            .or_else(|| map.get("error_message").and_then(Value::as_str))
            .or_else(|| map.get("error")?.get("message")?.as_str())
            .or_else(|| map.get("error").and_then(Value::as_str)),
        _ => None,
    }?;
    Some(clip(text))
}

/// The channels and groups an Access Manager body names under `payload`.
fn affected_names(json: &Value) -> Option<String> {
    let payload = json.get("payload")?;
    let list = |key: &str| -> Vec<String> {
        payload
            .get(key)
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).map(clip).collect())
            .unwrap_or_default()
    };
    let channels = list("channels");
    let groups = list("channel-groups");
    let mut parts = Vec::new();
    if !channels.is_empty() {
        parts.push(format!("channels: {}", channels.join(", ")));
    }
    if !groups.is_empty() {
        parts.push(format!("channel groups: {}", groups.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A printable prefix of a body that is not JSON.
pub(crate) fn snippet(body: &[u8]) -> String {
    clip(&String::from_utf8_lossy(body))
}

/// A short, single-line form of a JSON value for error messages.
pub(crate) fn short(json: &Value) -> String {
    clip(&json.to_string())
}

/// At most [`MAX_MESSAGE`] characters, control characters replaced by spaces, and the values
/// of `auth=` and `signature=` replaced by `***`: proxies and CDNs echo request URLs in their
/// error pages, and those end up in logs and statuses.
fn clip(text: &str) -> String {
    let text = redact(text);
    let mut out: String = text
        .chars()
        .take(MAX_MESSAGE)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_MESSAGE).is_some() {
        out.push('…');
    }
    out.trim().to_owned()
}

/// `text` with the values of credential query parameters replaced by `***`.
pub(crate) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for key in ["auth=", "signature="] {
            if let Some(value) = rest.strip_prefix(key) {
                let end = value
                    .find(|c: char| matches!(c, '&' | '"' | '\'' | '<' | '>') || c.is_whitespace())
                    .unwrap_or(value.len());
                out.push_str(key);
                out.push_str("***");
                rest = &value[end..];
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_echoed_urls_are_redacted() {
        let page =
            "<html>GET /v2/subscribe/s/c/0?auth=tok3n-secret&uuid=u&signature=v2.abc def</html>";
        let clipped = clip(page);
        assert!(!clipped.contains("tok3n-secret"), "{clipped}");
        assert!(!clipped.contains("v2.abc"), "{clipped}");
        assert!(
            clipped.contains("auth=***&uuid=u&signature=*** def"),
            "{clipped}"
        );
        assert_eq!(redact("no credentials here é"), "no credentials here é");
        assert_eq!(redact("auth="), "auth=***");
    }

    fn answer(status: u16, body: &str) -> Result<Value, Error> {
        check(&Response::new(status, body.to_owned()))
    }

    fn failure(status: u16, body: &str) -> Error {
        answer(status, body).expect_err("an error")
    }

    #[test]
    fn successes() {
        let json = answer(200, r#"[1,"Sent","17143123456789012"]"#).unwrap();
        assert_eq!(publish_timetoken(&json).unwrap(), 17_143_123_456_789_012);
        let json = answer(200, "[17143123456789012]").unwrap();
        assert_eq!(time(&json).unwrap(), 17_143_123_456_789_012);
        // u64::MAX and a string timetoken survive without f64.
        assert_eq!(
            time(&answer(200, "[18446744073709551615]").unwrap()).unwrap(),
            u64::MAX
        );
        assert_eq!(
            time(&answer(200, r#"["17143123456789013"]"#).unwrap()).unwrap(),
            17_143_123_456_789_013
        );
        let ok = answer(200, r#"{"status":200,"message":"OK","service":"Presence"}"#);
        assert!(ok.is_ok());
        let registry =
            r#"{"status":200,"message":"OK","service":"channel-registry","error":false}"#;
        assert!(answer(200, registry).is_ok());
    }

    /// (status, body, kind, http status, message)
    const ERRORS: &[(u16, &str, ErrorKind, u16, &str)] = &[
        (
            400,
            r#"[0,"Message Too Large","15635079026391944"]"#,
            ErrorKind::MessageTooLarge,
            400,
            "Message Too Large",
        ),
        (
            400,
            r#"[0,"Signal size too large","15910331991263359"]"#,
            ErrorKind::MessageTooLarge,
            400,
            "Signal size too large",
        ),
        (
            400,
            r#"[0,"Invalid Key","14820999375199241"]"#,
            ErrorKind::Http { status: 400 },
            400,
            "Invalid Key",
        ),
        (
            400,
            r#"[0,"Invalid JSON","15646801805496402"]"#,
            ErrorKind::Http { status: 400 },
            400,
            "Invalid JSON",
        ),
        (
            403,
            r#"[0,"Forbidden"]"#,
            ErrorKind::AccessDenied,
            403,
            "Forbidden",
        ),
        (
            403,
            r#"{"message":"Forbidden","payload":{"channels":["c1"],"channel-groups":["g1"]},"error":true,"service":"Access Manager","status":403}"#,
            ErrorKind::AccessDenied,
            403,
            "Forbidden (channels: c1; channel groups: g1)",
        ),
        (
            403,
            r#"{"error":true,"status":403,"service":"Access Manager","message":"Token is revoked"}"#,
            ErrorKind::AccessDenied,
            403,
            "Token is revoked",
        ),
        (
            403,
            r#"{"error":{"message":"Invalid signature","source":"grant","details":[]},"service":"Access Manager","status":403}"#,
            ErrorKind::AccessDenied,
            403,
            "Invalid signature",
        ),
        (
            413,
            r#"{"status":413,"error":true,"service":"Balancer","message":"Request Entity Too Large."}"#,
            ErrorKind::MessageTooLarge,
            413,
            "Request Entity Too Large.",
        ),
        (
            414,
            r#"{"message":"Request URI Too Long","error":true,"service":"Balancer","status":414}"#,
            ErrorKind::Http { status: 414 },
            414,
            "Request URI Too Long",
        ),
        (
            429,
            r#"{"status":429,"error":true,"message":"Too many requests."}"#,
            ErrorKind::Http { status: 429 },
            429,
            "Too many requests.",
        ),
        (
            400,
            r#"{"status":400,"error":true,"error_message":"Invalid Arguments","channels":{}}"#,
            ErrorKind::Http { status: 400 },
            400,
            "Invalid Arguments",
        ),
        (
            409,
            r#"{"status":409,"error":{"source":"actions","message":"Action Already Added"}}"#,
            ErrorKind::Http { status: 409 },
            409,
            "Action Already Added",
        ),
        (
            404,
            r#"{"message": "Not found","error": 1,"service": "Presence"}"#,
            ErrorKind::Http { status: 404 },
            404,
            "Not found",
        ),
        (
            500,
            "<html><body>Internal\nError</body></html>",
            ErrorKind::Http { status: 500 },
            500,
            "<html><body>Internal Error</body></html>",
        ),
        (
            502,
            "",
            ErrorKind::Http { status: 502 },
            502,
            "HTTP 502 with an empty body",
        ),
        (503, "[0,", ErrorKind::Http { status: 503 }, 503, "[0,"),
        // A 200 whose body is an error.
        (
            200,
            r#"{"status":403,"error":true,"message":"Forbidden","service":"Access Manager"}"#,
            ErrorKind::AccessDenied,
            403,
            "Forbidden",
        ),
        (
            200,
            r#"{"error":true,"message":"No state specified."}"#,
            ErrorKind::Http { status: 400 },
            400,
            "No state specified.",
        ),
        (
            200,
            r#"[0,"Invalid Key","14820999375199241"]"#,
            ErrorKind::Http { status: 400 },
            400,
            "Invalid Key",
        ),
        // Undecodable successes.
        (
            200,
            r#"[1,"Sent","1714"#,
            ErrorKind::Decode,
            200,
            r#"response is not JSON: [1,"Sent","1714"#,
        ),
        (
            200,
            "Sent!",
            ErrorKind::Decode,
            200,
            "response is not JSON: Sent!",
        ),
        (200, "", ErrorKind::Decode, 200, "empty response body"),
    ];

    #[test]
    fn every_error_shape() {
        for &(status, body, kind, http, message) in ERRORS {
            let error = failure(status, body);
            assert_eq!(error.kind(), kind, "{status} {body}");
            assert_eq!(error.status(), Some(http), "{status} {body}");
            assert_eq!(error.message(), message, "{status} {body}");
        }
    }

    #[test]
    fn retry_after_is_kept() {
        let response = Response::new(
            429,
            r#"{"status":429,"error":true,"message":"Too many requests."}"#,
        )
        .with_retry_after(5);
        let error = check(&response).unwrap_err();
        assert_eq!(error.retry_after(), Some(5));
        assert_eq!(error.reason().retry_after, Some(5));
    }

    #[test]
    fn unexpected_success_shapes_are_decode_errors() {
        for body in [
            r#"{"a":1}"#,
            "[]",
            r#"[1,"Sent"]"#,
            r#"[1,"Sent",1.5]"#,
            r#"[1,"Sent","-1"]"#,
            r#"[1,"Sent","99999999999999999999"]"#,
            "null",
            // Not the service's shape: a success must be [1, text, 17-digit timetoken].
            "[1,1,1]",
            r#"[1,"Sent","1"]"#,
            r#"[1,"Sent","17143123456789012","extra"]"#,
            r#"["1","Sent","17143123456789012"]"#,
        ] {
            let json = answer(200, body).unwrap();
            assert_eq!(
                publish_timetoken(&json).unwrap_err().kind(),
                ErrorKind::Decode,
                "{body}"
            );
        }
        for body in ["[]", r#"{"t":1}"#, "[-5]", "[1.7e16]", r#"["x"]"#] {
            let json = answer(200, body).unwrap();
            assert_eq!(time(&json).unwrap_err().kind(), ErrorKind::Decode, "{body}");
        }
    }

    #[test]
    fn no_answer_panics() {
        // Every prefix of every fixture, with every status class: never a panic.
        let bodies: Vec<&str> = ERRORS.iter().map(|e| e.1).collect();
        for body in bodies {
            for end in 0..=body.len() {
                let Some(prefix) = body.get(..end) else {
                    continue;
                };
                for status in [200, 204, 302, 400, 403, 413, 414, 429, 500, 999] {
                    let _ =
                        answer(status, prefix).map(|json| (publish_timetoken(&json), time(&json)));
                }
            }
        }
        let long = "x".repeat(10_000);
        assert!(failure(500, &long).message().chars().count() <= MAX_MESSAGE + 1);
        let _ = check(&Response::new(500, vec![0xff, 0xfe, 0x00]));
    }
}

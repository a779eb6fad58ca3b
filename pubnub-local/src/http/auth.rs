//! Access Manager signatures, checked as the service checks them when the server has a secret
//! key (PROTOCOL.md §12.3).
//!
//! Every request but `/time/0` (which the service answers without keys) must carry
//! `timestamp`, within ±60 s of this machine's clock (PubNub's REST docs: "no more than ± 60
//! second offset from NTP"), and `signature`:
//!
//! - a POST to `/publish…`: v1, base64url HMAC-SHA256 of `sub\npub\npath\nquery`. PubNub's
//!   Python, Kotlin and Go SDKs keep the `=` padding and its Rust crate drops it; both are
//!   accepted, since which the service takes is not known.
//! - everything else: v2, `"v2."` + unpadded base64url HMAC-SHA256 of
//!   `METHOD\npub\npath\nquery\nbody`.
//!
//! `path` is the path as received, `query` every parameter but `signature`, decoded, sorted by
//! name and re-encoded so that only `A-Z a-z 0-9 - _ .` stay raw. The publish key is the one in
//! the path for publish and signal; other paths name none, so it is the configured one
//! ([`ServerBuilder::publish_key`](crate::ServerBuilder::publish_key)), as the service knows
//! the keyset a subscribe key belongs to.
//!
//! A refusal is `403` with the body the service sends for a signature it did not produce
//! (PROTOCOL.md §12.2, shape F).

use axum::http::{Method, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use super::response::Reply;
use super::routes::{percent_decode_bytes, percent_decode_cow, Route};

type HmacSha256 = hmac::Hmac<Sha256>;

/// How far a request's `timestamp` may be from the server's clock, in seconds.
pub(crate) const MAX_SKEW_SECS: u64 = 60;

/// The keyset's secret, and the publish key that goes with it.
#[derive(Clone)]
pub(crate) struct Signing {
    pub(crate) secret: String,
    /// Signs requests whose path names no publish key; empty when not configured.
    pub(crate) publish_key: String,
}

impl std::fmt::Debug for Signing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signing")
            .field("secret", &"***")
            .field("publish_key", &self.publish_key)
            .finish()
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No `signature`, or one the server computes differently.
    Signature(&'static str),
    /// No usable `timestamp`, or one too far from now.
    Timestamp(&'static str),
}

impl Refusal {
    /// The service's 403 body for it.
    pub(crate) fn reply(&self) -> Reply {
        let (detail, location) = match self {
            Refusal::Signature(detail) => (*detail, "signature"),
            Refusal::Timestamp(detail) => (*detail, "timestamp"),
        };
        Reply::json(
            StatusCode::FORBIDDEN,
            &json!({
                "error": {
                    "message": "Invalid signature",
                    "source": "grant",
                    "details": [{
                        "message": detail,
                        "location": location,
                        "locationType": "query",
                    }],
                },
                "service": "Access Manager",
                "status": 403,
            }),
        )
    }
}

/// A request as the verifier needs it: raw path and query, body as received.
pub(crate) struct Signed<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) raw_query: &'a str,
    pub(crate) body: &'a [u8],
}

/// Checks `request` (routed as `route`) against `signing` at `now` (Unix seconds).
pub(crate) fn check(
    signing: &Signing,
    route: &Route<'_>,
    request: &Signed<'_>,
    now: u64,
) -> Result<(), Refusal> {
    let (publish_key, subscribe_key) = match *route {
        // Storage is pre-signed by its own forms, outside Access Manager.
        Route::Time
        | Route::Admin
        | Route::PushOutbox { .. }
        | Route::StorageUpload
        | Route::StorageDownload { .. } => return Ok(()),
        Route::Publish {
            pub_key, sub_key, ..
        }
        | Route::Signal {
            pub_key, sub_key, ..
        }
        | Route::PublishFile {
            pub_key, sub_key, ..
        } => (decode(pub_key), decode(sub_key)),
        Route::Subscribe { sub_key, .. }
        | Route::Heartbeat { sub_key, .. }
        | Route::Leave { sub_key, .. }
        | Route::HereNow { sub_key, .. }
        | Route::GlobalHereNow { sub_key }
        | Route::WhereNow { sub_key, .. }
        | Route::SetState { sub_key, .. }
        | Route::GetState { sub_key, .. }
        | Route::Group { sub_key, .. }
        | Route::DeleteGroup { sub_key, .. }
        | Route::ListGroups { sub_key }
        | Route::FetchHistory { sub_key, .. }
        | Route::MessageCounts { sub_key, .. }
        | Route::DeleteHistory { sub_key, .. }
        | Route::AddAction { sub_key, .. }
        | Route::RemoveAction { sub_key, .. }
        | Route::GetActions { sub_key, .. }
        | Route::Grant { sub_key }
        | Route::Revoke { sub_key, .. }
        | Route::AppContext { sub_key, .. }
        | Route::GenerateUploadUrl { sub_key, .. }
        | Route::ListFiles { sub_key, .. }
        | Route::File { sub_key, .. }
        | Route::Push { sub_key, .. } => (signing.publish_key.clone(), decode(sub_key)),
    };

    let mut signature = None;
    let mut timestamp = None;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in request.raw_query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let key = decode(key);
        let value = percent_decode_bytes(value);
        match key.as_str() {
            "signature" => {
                signature = Some(String::from_utf8_lossy(&value).into_owned());
                continue;
            }
            "timestamp" => timestamp = Some(String::from_utf8_lossy(&value).into_owned()),
            _ => {}
        }
        pairs.push((key, pam_encode(&value)));
    }
    let Some(signature) = signature.filter(|s| !s.is_empty()) else {
        return Err(Refusal::Signature("Signature is missing."));
    };
    let Some(timestamp) = timestamp.and_then(|t| t.parse::<u64>().ok()) else {
        return Err(Refusal::Timestamp("Timestamp is missing or not a number."));
    };
    if timestamp.abs_diff(now) > MAX_SKEW_SECS {
        return Err(Refusal::Timestamp(
            "Timestamp is more than 60 seconds away from the server's time.",
        ));
    }
    pairs.sort();
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let query = query.join("&");

    let Ok(mut mac) = HmacSha256::new_from_slice(signing.secret.as_bytes()) else {
        return Err(Refusal::Signature("The secret key cannot sign."));
    };
    let v1 = *request.method == Method::POST && request.path.starts_with("/publish");
    let matches = if v1 {
        mac.update(format!("{subscribe_key}\n{publish_key}\n{}\n{query}", request.path).as_bytes());
        let expected = base64url(&mac.finalize().into_bytes());
        // Padded (Python, Kotlin, Go) or not (PubNub's Rust crate).
        signature.trim_end_matches('=') == expected
            && (signature.len() == expected.len()
                || signature.len() == expected.len().next_multiple_of(4))
    } else {
        mac.update(
            format!(
                "{}\n{publish_key}\n{}\n{query}\n",
                request.method, request.path
            )
            .as_bytes(),
        );
        mac.update(request.body);
        let expected = base64url(&mac.finalize().into_bytes());
        signature.strip_prefix("v2.") == Some(expected.as_str())
    };
    if matches {
        Ok(())
    } else {
        Err(Refusal::Signature(
            "Client and server produced different signatures for the same inputs.",
        ))
    }
}

/// The Unix time now, in seconds.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn decode(segment: &str) -> String {
    percent_decode_cow(segment)
        .map(|s| s.into_owned())
        .unwrap_or_else(|_| segment.to_string())
}

/// Percent-encodes every byte but `A-Z a-z 0-9 - _ .`, escapes in upper case.
fn pam_encode(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// Unpadded base64 with the URL-safe alphabet.
fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row of `interop/signatures.json`: signatures PubNub's Python SDK computed.
    #[derive(Clone, serde::Deserialize)]
    struct Case {
        name: String,
        method: String,
        path: String,
        query: Vec<(String, String)>,
        body: Option<String>,
        publish_key: String,
        secret_key: String,
        timestamp: u64,
        signature: String,
    }

    #[derive(serde::Deserialize)]
    struct Table {
        cases: Vec<Case>,
    }

    fn table() -> Vec<Case> {
        let table: Table = serde_json::from_str(include_str!("../../interop/signatures.json"))
            .expect("the signature table parses");
        table.cases
    }

    /// The query as an SDK sends it: values percent-encoded, then `timestamp` and
    /// `signature` when given (the table lists what was signed before the SDK added them).
    fn raw_query(
        query: &[(String, String)],
        timestamp: Option<u64>,
        signature: Option<&str>,
    ) -> String {
        let timestamp = timestamp.map(|t| t.to_string());
        query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(timestamp.as_deref().map(|t| ("timestamp", t)))
            .chain(signature.map(|s| ("signature", s)))
            .map(|(k, v)| format!("{k}={}", pam_encode(v.as_bytes())))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The query of `case` as its SDK sent it.
    fn sent(case: &Case) -> String {
        raw_query(&case.query, Some(case.timestamp), Some(&case.signature))
    }

    fn check_case(case: &Case, raw_query: &str, now: u64) -> Result<(), Refusal> {
        let method = Method::from_bytes(case.method.as_bytes()).unwrap();
        let route = Route::parse(&method, &case.path).expect("a known route");
        let signing = Signing {
            secret: case.secret_key.clone(),
            publish_key: case.publish_key.clone(),
        };
        let request = Signed {
            method: &method,
            path: &case.path,
            raw_query,
            body: case.body.as_deref().unwrap_or("").as_bytes(),
        };
        check(&signing, &route, &request, now)
    }

    #[test]
    fn accepts_what_pubnubs_python_sdk_signs() {
        let cases = table();
        assert!(cases.len() >= 15);
        for case in &cases {
            assert_eq!(
                check_case(case, &sent(case), case.timestamp + 30),
                Ok(()),
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn v1_is_accepted_with_or_without_padding() {
        let case = table()
            .into_iter()
            .find(|c| c.method == "POST")
            .expect("a POST publish row");
        let unpadded = case.signature.trim_end_matches('=').to_string();
        assert_ne!(unpadded, case.signature);
        let raw = raw_query(&case.query, Some(case.timestamp), Some(&unpadded));
        assert_eq!(check_case(&case, &raw, case.timestamp), Ok(()));
        // A v2 signature of the same POST is refused: the service wants v1 there.
        let v2 = format!("v2.{unpadded}");
        let raw = raw_query(&case.query, Some(case.timestamp), Some(&v2));
        assert!(matches!(
            check_case(&case, &raw, case.timestamp),
            Err(Refusal::Signature(_))
        ));
    }

    #[test]
    fn a_stale_or_future_timestamp_is_refused() {
        let case = &table()[0];
        let raw = sent(case);
        assert_eq!(check_case(case, &raw, case.timestamp + 60), Ok(()));
        assert_eq!(check_case(case, &raw, case.timestamp - 60), Ok(()));
        for now in [case.timestamp + 61, case.timestamp - 61, 0] {
            assert!(
                matches!(check_case(case, &raw, now), Err(Refusal::Timestamp(_))),
                "now = {now}"
            );
        }
    }

    #[test]
    fn a_tampered_request_is_refused() {
        let cases = table();
        let case = cases
            .iter()
            .find(|c| c.name == "publish GET, every option")
            .unwrap();
        let now = case.timestamp;
        let signed = |query: &[(String, String)]| {
            raw_query(query, Some(case.timestamp), Some(&case.signature))
        };
        // Another value, an added parameter, a removed one: each changes the signed input.
        let mut query = case.query.clone();
        query.iter_mut().find(|(k, _)| k == "ttl").unwrap().1 = "48".into();
        let refused = check_case(case, &signed(&query), now);
        assert!(matches!(refused, Err(Refusal::Signature(_))), "{refused:?}");
        let mut added = case.query.clone();
        added.push(("norep".into(), "true".into()));
        assert!(check_case(case, &signed(&added), now).is_err());
        assert!(check_case(case, &signed(&case.query[1..]), now).is_err());
        // Another timestamp than the one signed (still within the window).
        let raw = raw_query(&case.query, Some(now + 1), Some(&case.signature));
        assert!(check_case(case, &raw, now).is_err());
        // Another path (the message), another secret.
        let mut other = case.clone();
        other.path = other.path.replace("hello", "hullo");
        assert!(check_case(&other, &sent(case), now).is_err());
        let mut other = case.clone();
        other.secret_key.push('x');
        assert!(check_case(&other, &sent(case), now).is_err());
    }

    #[test]
    fn a_missing_signature_or_timestamp_is_refused_and_time_is_exempt() {
        let cases = table();
        let case = &cases[0];
        assert_eq!(
            check_case(
                case,
                &raw_query(&case.query, Some(case.timestamp), None),
                case.timestamp
            ),
            Err(Refusal::Signature("Signature is missing."))
        );
        assert!(matches!(
            check_case(
                case,
                &raw_query(&case.query, None, Some(&case.signature)),
                case.timestamp
            ),
            Err(Refusal::Timestamp(_))
        ));
        let signing = Signing {
            secret: "s".into(),
            publish_key: String::new(),
        };
        let request = Signed {
            method: &Method::GET,
            path: "/time/0",
            raw_query: "uuid=u",
            body: b"",
        };
        assert_eq!(check(&signing, &Route::Time, &request, 0), Ok(()));
    }

    #[test]
    fn the_refusal_is_the_services_403() {
        let reply = Refusal::Signature("x").reply();
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(body["status"], 403);
        assert_eq!(body["service"], "Access Manager");
        assert_eq!(body["error"]["message"], "Invalid signature");
        assert_eq!(body["error"]["details"][0]["location"], "signature");
    }
}

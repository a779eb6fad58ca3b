//! Access Manager request signatures (PROTOCOL.md §12.3), computed only when the client has a
//! secret key: a `timestamp` (Unix seconds), then a `signature` over the request.
//!
//! Two forms, chosen as PubNub's own SDKs choose them (Python `pubnub/utils.py`
//! `sign_request`, Go `endpoints.go` `buildURL`, the Rust crate's `transport/middleware.rs`):
//!
//! - **v1**, for a POST to `/publish…` (publish and fire with a body): base64url of
//!   HMAC-SHA256 over `sub_key \n pub_key \n path \n query`, `=` padding kept as the Python,
//!   Kotlin and Go SDKs keep it, and no prefix. The service refuses a v2 signature there.
//! - **v2**, for everything else: `"v2."` and the unpadded base64url of HMAC-SHA256 over
//!   `METHOD \n pub_key \n path \n query \n body`.
//!
//! In both, `path` is the path exactly as sent and `query` is every parameter but `signature`,
//! sorted by name, each value percent-encoded so that only `A-Z a-z 0-9 - _ .` stay raw.
//! `pubnub-local/interop/signatures.py` computes a table of these with the Python SDK's own
//! function; the test below holds this module to it.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::encode;
use super::{Method, Request};

type HmacSha256 = hmac::Hmac<Sha256>;

/// What a signature is computed with.
#[derive(Clone, Copy)]
pub(crate) struct Keys<'a> {
    pub(crate) secret: &'a str,
    pub(crate) publish_key: &'a str,
    pub(crate) subscribe_key: &'a str,
}

/// The two signature forms PubNub's service accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `sub\npub\npath\nquery`, padded base64url, no prefix: POST `/publish…` only.
    V1,
    /// `METHOD\npub\npath\nquery\nbody`, `v2.` + unpadded base64url.
    V2,
}

/// The form a request of `method` to `path` is signed with.
pub(crate) fn scheme(method: Method, path: &str) -> Scheme {
    if method == Method::Post && path.starts_with("/publish") {
        Scheme::V1
    } else {
        Scheme::V2
    }
}

/// Adds `timestamp` (Unix seconds) and `signature` to `request`, replacing earlier ones, so a
/// retried request is signed afresh.
pub(crate) fn sign(request: &mut Request, keys: Keys<'_>, unix_seconds: u64) {
    request
        .query
        .retain(|(key, _)| *key != "timestamp" && *key != "signature");
    request.query.push(("timestamp", unix_seconds.to_string()));
    let signature = signature(request, keys);
    request.query.push(("signature", signature));
}

/// The signature of `request` (whose query must not contain `signature`).
pub(crate) fn signature(request: &Request, keys: Keys<'_>) -> String {
    let mut query: Vec<(&str, String)> = request
        .query
        .iter()
        .map(|(key, value)| (*key, pam_encode(value)))
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let query = query.join("&");
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = HmacSha256::new_from_slice(keys.secret.as_bytes()) else {
        return String::new();
    };
    match scheme(request.method, &request.path) {
        Scheme::V1 => {
            mac.update(
                format!(
                    "{}\n{}\n{}\n{query}",
                    keys.subscribe_key, keys.publish_key, request.path
                )
                .as_bytes(),
            );
            base64url(&mac.finalize().into_bytes(), true)
        }
        Scheme::V2 => {
            mac.update(
                format!(
                    "{}\n{}\n{}\n{query}\n",
                    request.method, keys.publish_key, request.path
                )
                .as_bytes(),
            );
            if let Some(body) = &request.body {
                mac.update(body);
            }
            format!("v2.{}", base64url(&mac.finalize().into_bytes(), false))
        }
    }
}

/// The query encoding PubNub's servers sign: percent-encoding of everything but
/// `A-Z a-z 0-9 - _ .` (so `~` too).
fn pam_encode(value: &str) -> String {
    encode::encode(value).replace('~', "%7E")
}

/// Base64 with the URL-safe alphabet, `=`-padded to a multiple of four when `pad`.
fn base64url(bytes: &[u8], pad: bool) -> String {
    if pad {
        URL_SAFE.encode(bytes)
    } else {
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: Keys<'static> = Keys {
        secret: "secKey",
        publish_key: "pubKey",
        subscribe_key: "subKey",
    };

    #[test]
    fn matches_the_reference_vector() {
        // PROTOCOL.md §12.3: the Rust SDK's middleware test vector.
        let mut request = Request::new(
            Method::Get,
            "/publish/pubKey/subKey/0/my_channel/0/%22hello%21%22",
        );
        request.query = vec![
            ("uuid", "userId".into()),
            ("ttl", "10".into()),
            ("store", "1".into()),
            ("pnsdk", "PubNub-Rust".into()),
            ("timestamp", "1679642098".into()),
        ];
        assert_eq!(
            signature(&request, KEYS),
            "v2.AHl5lMpzyT4qcvvlqaszCjTUqU6dPb10a4_XSaYCNIQ"
        );
    }

    /// One row of `pubnub-local/interop/signatures.json`, written by `signatures.py` with
    /// PubNub's Python SDK (`pubnub.utils.sign_request`); `.ci/run` regenerates the file and
    /// fails when it differs, so these expectations come from Python, not from this module.
    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        method: String,
        path: String,
        query: Vec<(String, String)>,
        body: Option<String>,
        publish_key: String,
        subscribe_key: String,
        secret_key: String,
        timestamp: u64,
        signature: String,
    }

    #[derive(serde::Deserialize)]
    struct Table {
        cases: Vec<Case>,
    }

    #[test]
    fn every_request_kind_is_signed_as_pubnubs_python_sdk_signs_it() {
        let table: Table =
            serde_json::from_str(include_str!("../../pubnub-local/interop/signatures.json"))
                .expect("the signature table parses");
        assert!(
            table.cases.len() >= 15,
            "the table covers every request kind"
        );
        for case in &table.cases {
            let method = match case.method.as_str() {
                "GET" => Method::Get,
                "POST" => Method::Post,
                "DELETE" => Method::Delete,
                other => panic!("{}: unexpected method {other}", case.name),
            };
            let mut request = Request::new(method, case.path.clone());
            // Names are `&'static str` in a request; a test may leak the table's few.
            request.query = case
                .query
                .iter()
                .map(|(k, v)| (&*Box::leak(k.clone().into_boxed_str()), v.clone()))
                .collect();
            request.body = case.body.clone().map(Into::into);
            let keys = Keys {
                secret: &case.secret_key,
                publish_key: &case.publish_key,
                subscribe_key: &case.subscribe_key,
            };
            sign(&mut request, keys, case.timestamp);
            assert_eq!(
                request.query_value("signature"),
                Some(case.signature.as_str()),
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn post_publish_is_v1_everything_else_v2() {
        assert_eq!(scheme(Method::Post, "/publish/p/s/0/c/0"), Scheme::V1);
        assert_eq!(scheme(Method::Get, "/publish/p/s/0/c/0/1"), Scheme::V2);
        assert_eq!(scheme(Method::Get, "/signal/p/s/0/c/0/1"), Scheme::V2);
        assert_eq!(scheme(Method::Get, "/v2/subscribe/s/c/0"), Scheme::V2);
        let mut post = Request::new(Method::Post, "/publish/pubKey/subKey/0/c/0");
        post.body = Some(bytes::Bytes::from_static(b"\"hi\""));
        sign(&mut post, KEYS, 1);
        let v1 = post.query_value("signature").unwrap();
        assert!(!v1.starts_with("v2."), "{v1}");
        assert_eq!(v1.len(), 44, "32 bytes padded: {v1}");
        assert!(v1.ends_with('='), "{v1}");
    }

    #[test]
    fn sign_replaces_an_earlier_signature() {
        let mut request = Request::new(Method::Get, "/time/0");
        request.query.push(("uuid", "u".into()));
        sign(&mut request, KEYS, 1);
        let first = request.query_value("signature").unwrap().to_string();
        sign(&mut request, KEYS, 2);
        assert_eq!(
            request
                .query
                .iter()
                .filter(|(k, _)| *k == "signature")
                .count(),
            1
        );
        assert_eq!(request.query_value("timestamp"), Some("2"));
        assert_ne!(request.query_value("signature").unwrap(), first);
    }

    #[test]
    fn base64url_padding() {
        assert_eq!(base64url(b"", false), "");
        assert_eq!(base64url(b"f", false), "Zg");
        assert_eq!(base64url(b"fo", false), "Zm8");
        assert_eq!(base64url(b"foo", false), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff], false), "-_8");
        assert_eq!(base64url(b"f", true), "Zg==");
        assert_eq!(base64url(b"fo", true), "Zm8=");
        assert_eq!(base64url(b"foo", true), "Zm9v");
    }

    #[test]
    fn pam_encoding_escapes_the_tilde() {
        assert_eq!(pam_encode("a b~*!'()[]"), "a%20b%7E%2A%21%27%28%29%5B%5D");
    }
}

//! Access Manager request signatures (PROTOCOL.md §12.3), computed only when the client has a
//! secret key: a `timestamp`, then `signature = "v2." + base64url(HMAC-SHA256(secret, …))` over
//! the method, the publish key, the path as sent, the sorted query and the body.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use super::encode;
use super::Request;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Adds `timestamp` (Unix seconds) and `signature` to `request`, replacing earlier ones, so a
/// retried request is signed afresh.
pub(crate) fn sign(request: &mut Request, secret: &str, publish_key: &str, unix_seconds: u64) {
    request
        .query
        .retain(|(key, _)| *key != "timestamp" && *key != "signature");
    request.query.push(("timestamp", unix_seconds.to_string()));
    let signature = signature(request, secret, publish_key);
    request.query.push(("signature", signature));
}

/// The v2 signature of `request` (whose query must not contain `signature`).
pub(crate) fn signature(request: &Request, secret: &str, publish_key: &str) -> String {
    let mut query: Vec<(&str, String)> = request
        .query
        .iter()
        .map(|(key, value)| (*key, pam_encode(value)))
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut input = format!(
        "{}\n{publish_key}\n{}\n{}\n",
        request.method,
        request.path,
        query.join("&")
    )
    .into_bytes();
    if let Some(body) = &request.body {
        input.extend_from_slice(body);
    }
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(&input);
    format!("v2.{}", base64url(&mac.finalize().into_bytes()))
}

/// The query encoding PubNub's servers sign: percent-encoding of everything but
/// `A-Z a-z 0-9 - _ .` (so `~` too).
fn pam_encode(value: &str) -> String {
    encode::encode(value).replace('~', "%7E")
}

/// Base64 with the URL-safe alphabet and no padding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Method;

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
            signature(&request, "secKey", "pubKey"),
            "v2.AHl5lMpzyT4qcvvlqaszCjTUqU6dPb10a4_XSaYCNIQ"
        );
    }

    #[test]
    fn sign_replaces_an_earlier_signature() {
        let mut request = Request::new(Method::Get, "/time/0");
        request.query.push(("uuid", "u".into()));
        sign(&mut request, "s", "p", 1);
        let first = request.query_value("signature").unwrap().to_string();
        sign(&mut request, "s", "p", 2);
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
    fn base64url_has_no_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn pam_encoding_escapes_the_tilde() {
        assert_eq!(pam_encode("a b~*!'()[]"), "a%20b%7E%2A%21%27%28%29%5B%5D");
    }
}

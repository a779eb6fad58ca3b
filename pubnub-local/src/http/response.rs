//! Response bodies in the service's shapes, and the headers every response carries.

use std::io::Write;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::hub::Timetoken;

/// Bodies at least this large are gzipped when the client accepts gzip.
const GZIP_MIN_BYTES: usize = 1024;

/// A finished answer before headers are added.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
    pub(crate) retry_after: Option<u32>,
    /// [`JAVASCRIPT`], [`JSON`] or [`PAM_JAVASCRIPT`], by service.
    pub(crate) content_type: &'static str,
    /// More headers (a redirect's `Location`, a download's own `Content-Type`); each
    /// replaces a header of the same name that `finish` would set.
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// Never gzipped: file bytes go out as storage sends them, with their own length.
    pub(crate) raw: bool,
}

/// What the service's recordings show on publish, subscribe, presence, time and errors.
pub(crate) const JAVASCRIPT: &str = "text/javascript; charset=\"UTF-8\"";

/// What the current service sends for channel-registry and App Context answers.
pub(crate) const JSON: &str = "application/json";

/// What Access Manager's recorded answers carry (grant, revoke, their errors, its 403s):
/// without the quotes of [`JAVASCRIPT`].
pub(crate) const PAM_JAVASCRIPT: &str = "text/javascript; charset=UTF-8";

impl Reply {
    /// A reply with no extra headers.
    pub(crate) fn new(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Reply {
        Reply {
            status,
            body,
            retry_after: None,
            content_type,
            headers: Vec::new(),
            raw: false,
        }
    }

    pub(crate) fn json(status: StatusCode, value: &Value) -> Reply {
        Reply::new(status, value.to_string().into_bytes(), JAVASCRIPT)
    }

    /// The same reply with one more header.
    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Reply {
        self.headers.push((name, value));
        self
    }

    /// The same reply with another `Content-Type`.
    pub(crate) fn with_content_type(mut self, content_type: &'static str) -> Reply {
        self.content_type = content_type;
        self
    }

    pub(crate) fn ok(value: &Value) -> Reply {
        Reply::json(StatusCode::OK, value)
    }

    /// A 200 with a JSON body serialised already.
    pub(crate) fn ok_body(body: Vec<u8>) -> Reply {
        Reply::new(StatusCode::OK, body, JAVASCRIPT)
    }

    /// `[1,"Sent","<tt>"]`, written directly: every publish answers with it, and building
    /// a JSON value to print it cost more than storing the message.
    pub(crate) fn sent(tt: Timetoken) -> Reply {
        Reply::new(
            StatusCode::OK,
            format!(r#"[1,"Sent","{tt}"]"#).into_bytes(),
            JAVASCRIPT,
        )
    }

    /// The publish service's array error: `400 [0,"<message>","<tt>"]`.
    pub(crate) fn publish_error(message: &str, tt: Timetoken) -> Reply {
        Reply::json(
            StatusCode::BAD_REQUEST,
            &json!([0, message, tt.to_string()]),
        )
    }

    /// The object error most services use.
    pub(crate) fn error(status: StatusCode, service: &str, message: &str) -> Reply {
        Reply::json(
            status,
            &json!({
                "status": status.as_u16(),
                "error": true,
                "service": service,
                "message": message,
            }),
        )
    }

    /// An object error with an explanation for the developer reading the response.
    pub(crate) fn error_details(
        status: StatusCode,
        service: &str,
        message: &str,
        details: &str,
    ) -> Reply {
        Reply::json(
            status,
            &json!({
                "status": status.as_u16(),
                "error": true,
                "service": service,
                "message": message,
                "details": details,
            }),
        )
    }

    pub(crate) fn not_found(path: &str) -> Reply {
        Reply::error(
            StatusCode::NOT_FOUND,
            "Balancer",
            &format!("Not found: '{}'", truncate_for_message(path)),
        )
    }

    /// `{"status":400,"message":"Invalid Subscribe Key",…}` (PROTOCOL.md §2.5).
    pub(crate) fn invalid_sub_key() -> Reply {
        Reply::json(
            StatusCode::BAD_REQUEST,
            &json!({
                "message": "Invalid Subscribe Key",
                "error": true,
                "service": "Access Manager",
                "status": 400,
            }),
        )
    }
}

fn truncate_for_message(path: &str) -> String {
    path.chars().take(200).collect()
}

/// The headers of every response: CORS, no caching, keep-alive (`finish` adds the content type).
pub(crate) fn common_headers(headers: &mut HeaderMap) {
    let pairs = [
        (header::CACHE_CONTROL, "no-cache, no-store, must-revalidate"),
        (header::CONNECTION, "keep-alive"),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (
            header::ACCESS_CONTROL_ALLOW_METHODS,
            "GET, POST, DELETE, OPTIONS",
        ),
        (
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Origin, X-Requested-With, Content-Type, Content-Encoding, Accept",
        ),
        (header::ACCESS_CONTROL_EXPOSE_HEADERS, "*"),
        (header::SERVER, "pubnub-local"),
    ];
    // Room for these and the few `finish` adds, so the map is allocated once, not grown.
    headers.reserve(pairs.len() + 5);
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// Turns a reply into a response; gzips the body when the request accepts it.
pub(crate) fn finish(reply: Reply, accept_gzip: bool) -> Response {
    let mut body = reply.body;
    let mut gzipped = false;
    if accept_gzip && !reply.raw && body.len() >= GZIP_MIN_BYTES {
        if let Some(compressed) = gzip(&body) {
            body = compressed;
            gzipped = true;
        }
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    common_headers(headers);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if gzipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Some(seconds) = reply.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    for (name, value) in reply.headers {
        headers.insert(name, value);
    }
    response
}

fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}

/// Whether an `Accept-Encoding` header admits gzip.
pub(crate) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.9"),
        );
        assert!(accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0"),
        );
        assert!(!accepts_gzip(&headers));
    }

    #[test]
    fn bodies() {
        assert_eq!(
            Reply::publish_error("Invalid JSON", Timetoken(17)).body,
            br#"[0,"Invalid JSON","17"]"#
        );
        assert_eq!(Reply::sent(Timetoken(5)).body, br#"[1,"Sent","5"]"#);
    }
}

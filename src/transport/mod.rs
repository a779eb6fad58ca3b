//! The network seam: one small [`Transport`] trait between the SDK and HTTP.
//!
//! Everything above the seam builds a [`Request`] (method, encoded path, raw query values, body,
//! timeout) and turns a [`Response`] (status, `Retry-After`, body) into a typed result. The
//! default [`ReqwestTransport`] speaks HTTP with reqwest and rustls; a test or a deterministic
//! simulation plugs in its own implementation with
//! [`ConfigBuilder::transport`](crate::ConfigBuilder::transport) and sees every request.

pub(crate) mod encode;
pub(crate) mod http;
pub(crate) mod response;
pub(crate) mod signature;
#[cfg(test)]
pub(crate) mod testing;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

use crate::error::Error;

pub(crate) use http::too_large;
pub use http::ReqwestTransport;

/// The longest answer read for requests other than subscribe, by default (they are far
/// smaller than a subscribe answer).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 << 20;

/// The `pnsdk` and `User-Agent` value of this SDK (PROTOCOL.md §10.5).
pub(crate) const SDK_NAME: &str = concat!("PubNub-Engine-Rust/", env!("CARGO_PKG_VERSION"));

/// The future a [`Transport`] returns: one HTTP exchange.
pub type TransportFuture = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send + 'static>>;

/// Sends one [`Request`] and returns the server's [`Response`], whatever its status.
///
/// A transport must not read more than [`Request::max_response_bytes`] of body (after
/// decompression): past it, it fails with
/// [`ErrorKind::ResponseTooLarge`](crate::ErrorKind::ResponseTooLarge). The client checks the
/// length of what a transport returns too, but only a transport that reads as a stream keeps a
/// body that never ends from taking the memory first.
///
/// Only failures to get an answer are errors ([`ErrorKind::Network`](crate::ErrorKind::Network),
/// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout), …); an HTTP 500 is an `Ok(Response)` that
/// the SDK classifies itself. Implementations must not retry: retries are decided above the
/// seam, by the caller's retry policy. The client also enforces [`Request::timeout`] around the
/// returned future, so a transport that never answers still ends, and a transport that panics
/// (in `send` or in its future) fails that one request with
/// [`ErrorKind::Network`](crate::ErrorKind::Network) instead of stopping the engine that sent it.
///
/// ```
/// use std::sync::Arc;
/// use pubnub_engine::{Config, PubNub, Request, Response, Transport, TransportFuture};
///
/// /// Answers every request with the same publish success, without any network.
/// #[derive(Debug)]
/// struct AlwaysSent;
///
/// impl Transport for AlwaysSent {
///     fn send(&self, _request: Request) -> TransportFuture {
///         Box::pin(async { Ok(Response::new(200, r#"[1,"Sent","17000000000000000"]"#)) })
///     }
/// }
///
/// let config = Config::builder("sub-key", "user-1")
///     .publish_key("pub-key")
///     .transport(Arc::new(AlwaysSent))
///     .build()?;
/// let pubnub = PubNub::new(config)?;
/// # Ok::<(), pubnub_engine::Error>(())
/// ```
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` and resolves to the server's answer.
    fn send(&self, request: Request) -> TransportFuture;
}

/// The HTTP method of a [`Request`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: every PubNub request except POST publish.
    Get,
    /// `POST`: publish with a body, add a message action.
    Post,
    /// `DELETE`: delete stored messages, remove a message action, remove App Context metadata.
    Delete,
    /// `PATCH`: set App Context metadata, memberships and members.
    Patch,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
        })
    }
}

/// How far an upload or a download got: `done` bytes of `total` (when known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes sent or received so far.
    pub done: u64,
    /// All the bytes there are to send or receive, when known.
    pub total: Option<u64>,
}

/// A callback told of a request's [`Progress`]: file uploads and downloads carry one.
#[derive(Clone)]
pub struct ProgressHook(pub(crate) std::sync::Arc<dyn Fn(Progress) + Send + Sync>);

impl ProgressHook {
    /// A hook that calls `report`.
    pub fn new(report: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        ProgressHook(std::sync::Arc::new(report))
    }

    /// Reports `progress`.
    pub fn report(&self, progress: Progress) {
        (self.0)(progress)
    }
}

impl fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook")
    }
}

/// Two hooks are equal when they are the same callback.
impl PartialEq for ProgressHook {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProgressHook {}

/// One HTTP request, as the SDK hands it to a [`Transport`].
///
/// `Debug` shows the `auth` and `signature` values as `***`, so a request can be logged.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, starting with `/`, every segment already percent-encoded; or, for the file
    /// storage a file upload or download goes to, an absolute `http(s)://` URL that the
    /// service gave (sent as it is, with no origin in front and no PubNub parameters).
    pub path: String,
    /// The query parameters with their raw (not yet encoded) values, in sending order.
    /// [`Request::path_and_query`] encodes each value exactly once.
    pub query: Vec<(&'static str, String)>,
    /// The body, sent as `application/json` (POST publish, message actions, App Context)
    /// unless [`headers`](Self::headers) name another `Content-Type` (a file upload's
    /// `multipart/form-data`).
    pub body: Option<Bytes>,
    /// Extra request headers, such as App Context's `If-Match`.
    pub headers: Vec<(&'static str, String)>,
    /// Told how far the body's upload and the answer's download got (file transfers). A
    /// transport that cannot tell may ignore it: the SDK reports the end itself.
    pub progress: Option<ProgressHook>,
    /// How long the whole exchange may take.
    pub timeout: Duration,
    /// The longest body the answer may have, counted after decompression: a longer one fails
    /// the request with [`ErrorKind::ResponseTooLarge`](crate::ErrorKind::ResponseTooLarge).
    pub max_response_bytes: usize,
}

/// The query parameters whose values are credentials.
const SECRET_PARAMS: [&str; 2] = ["auth", "signature"];

impl Request {
    /// A request with no query, no body, a 10 s timeout and a 4 MiB answer limit; `path` must
    /// be encoded already.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            progress: None,
            timeout: Duration::from_secs(10),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The raw value of the first query parameter called `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The same request with one more query parameter.
    pub(crate) fn param(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    /// The value of the first header called `name` (compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The same request with one more query parameter when `value` is set.
    pub(crate) fn param_opt(self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.param(name, value),
            None => self,
        }
    }

    /// True when [`path`](Self::path) is an absolute URL (file storage), not a path on the
    /// origin.
    pub fn is_absolute(&self) -> bool {
        self.path.starts_with("https://") || self.path.starts_with("http://")
    }

    /// The path and the encoded query, as they go on the wire: `/time/0?pnsdk=…&uuid=…`.
    pub fn path_and_query(&self) -> String {
        let mut out = String::new();
        self.write_path_and_query(&mut out);
        out
    }

    /// Appends [`Request::path_and_query`] to `out`, so a transport builds its URL in one
    /// string instead of copying the path (and the message in it) twice.
    pub(crate) fn write_path_and_query(&self, out: &mut String) {
        let query: usize = self
            .query
            .iter()
            .map(|(key, value)| key.len() + value.len() + 2)
            .sum();
        out.reserve(self.path.len() + query + query / 2);
        out.push_str(&self.path);
        for (i, (key, value)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            encode::encode_into(out, value);
        }
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Query<'a>(&'a [(&'static str, String)]);
        impl fmt::Debug for Query<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut map = f.debug_map();
                for (key, value) in self.0 {
                    if SECRET_PARAMS.contains(key) {
                        map.entry(key, &"***");
                    } else {
                        map.entry(key, value);
                    }
                }
                map.finish()
            }
        }
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &redacted_path(&self.path))
            .field("query", &Query(&self.query))
            .field("body_len", &self.body.as_ref().map(Bytes::len))
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// The path as `Debug` shows it: a token revoke names the token in its path, so what follows
/// `/grant/` in an Access Manager path is hidden.
fn redacted_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.find("/grant/") {
        Some(at) if path.starts_with("/v3/pam/") => {
            std::borrow::Cow::Owned(format!("{}/grant/***", &path[..at]))
        }
        _ => std::borrow::Cow::Borrowed(path),
    }
}

/// The server's answer to a [`Request`], whatever its status.
///
/// A transport does not follow redirects: a file download's `307` comes back as it is, with its
/// [`location`](Self::location), and the SDK follows it (to storage, without the `auth` and
/// signature that PubNub's own endpoints get).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The `Retry-After` header in seconds, when the server sent one as a number.
    pub retry_after: Option<u32>,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// The `Content-Type` header, when the server sent one (a downloaded file's).
    pub content_type: Option<String>,
    /// The body, already inflated if it was sent compressed.
    pub body: Bytes,
}

impl Response {
    /// An answer with `status` and `body` and no `Retry-After`.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Response {
            status,
            retry_after: None,
            location: None,
            content_type: None,
            body: body.into(),
        }
    }

    /// The same answer with a `Retry-After` in seconds.
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The same answer with a `Location` header (a redirect).
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// The same answer with a `Content-Type` header.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded_once() {
        let mut request = Request::new(Method::Get, "/v2/subscribe/sub/a%2Fb,c/0");
        request
            .query
            .push(("filter-expr", "meta.a == 'x' && meta.b > 1".into()));
        request.query.push(("meta", r#"{"k":"a&b"}"#.into()));
        request.query.push(("channel-group", "g1,g2".into()));
        assert_eq!(
            request.path_and_query(),
            "/v2/subscribe/sub/a%2Fb,c/0\
             ?filter-expr=meta.a%20%3D%3D%20%27x%27%20%26%26%20meta.b%20%3E%201\
             &meta=%7B%22k%22%3A%22a%26b%22%7D\
             &channel-group=g1%2Cg2"
        );
        assert_eq!(request.query_value("meta"), Some(r#"{"k":"a&b"}"#));
        assert_eq!(
            Request::new(Method::Get, "/time/0").path_and_query(),
            "/time/0"
        );
    }

    #[test]
    fn debug_hides_credentials() {
        let mut request = Request::new(Method::Post, "/publish/p/s/0/c/0");
        request.query.push(("auth", "top-secret-token".into()));
        request.query.push(("signature", "v2.signed".into()));
        request.query.push(("uuid", "me".into()));
        request.body = Some(Bytes::from_static(b"\"hi\""));
        let debug = format!("{request:?}");
        assert!(!debug.contains("top-secret-token"), "{debug}");
        assert!(!debug.contains("v2.signed"), "{debug}");
        assert!(debug.contains("\"auth\": \"***\""), "{debug}");
        assert!(debug.contains("\"me\""), "{debug}");
    }

    #[test]
    fn response_helpers() {
        let response = Response::new(429, "{}").with_retry_after(3);
        assert_eq!(response.retry_after, Some(3));
        assert!(!response.is_success());
        assert!(Response::new(204, "").is_success());
    }
}

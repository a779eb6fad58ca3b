//! The default [`Transport`]: reqwest with rustls, one connection pool per client.

use std::fmt;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};

use super::{
    Method, Progress, ProgressHook, Request, Response, Transport, TransportFuture, SDK_NAME,
};
use crate::error::{Error, ErrorKind};

/// Sends requests with reqwest (rustls, gzip, HTTP/2 over TLS) to one origin.
///
/// Each transport has its own `reqwest::Client`, and with it its own connection pool, never a
/// process-wide one: pooled connections are driven by tasks of the runtime that opened them,
/// so a pool shared by clients on two runtimes breaks one client's requests when the other
/// runtime shuts down (reqwest issues #1148, #2501). Clones of one
/// [`PubNub`](crate::PubNub) share its transport.
///
/// The client opens connections within the connect timeout, with TCP keepalive, and with
/// HTTP/2 PINGs while a request is open ([`ConfigBuilder`](crate::ConfigBuilder) documents
/// each). The transport sets no request timeout of its own: the client bounds every exchange, body included,
/// by [`Request::timeout`] on tokio's clock (one timer per request instead of two). Code that
/// calls [`Transport::send`] directly bounds it itself, with `tokio::time::timeout`.
#[derive(Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    base: String,
}

impl ReqwestTransport {
    /// A transport to `base`, a URL such as `https://ps.pndsn.com` or `http://127.0.0.1:8080`,
    /// with a client of its own and the default connection settings.
    pub fn new(base: &str) -> Result<Self, Error> {
        ReqwestTransport::with_reqwest_client(base, build_client(&NetworkSettings::default())?)
    }

    /// A transport to `base` with these connection settings.
    pub(crate) fn with_settings(
        base: &str,
        connect_timeout: Duration,
        tcp_keepalive: Option<Duration>,
    ) -> Result<Self, Error> {
        let settings = NetworkSettings {
            connect_timeout,
            tcp_keepalive,
        };
        ReqwestTransport::with_reqwest_client(base, build_client(&settings)?)
    }

    /// The escape hatch to reqwest: a transport to `base` that sends with `client`, a
    /// `reqwest::Client` of your own (a proxy, custom root certificates, …).
    ///
    /// This is the only place the public API names a reqwest type, so that reqwest can be
    /// upgraded without breaking the rest. The connection settings of
    /// [`ConfigBuilder`](crate::ConfigBuilder) (connect timeout, TCP keepalive) do not apply to
    /// such a client: set them on it.
    pub fn with_reqwest_client(base: &str, client: reqwest::Client) -> Result<Self, Error> {
        let url = reqwest::Url::parse(base)
            .map_err(|e| Error::invalid("the origin is not a URL").with_source(e))?;
        let plain = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if !matches!(url.scheme(), "http" | "https") || !plain || url.host_str().is_none() {
            // The origin is not echoed: it might carry credentials.
            return Err(Error::invalid(
                "the origin must be http(s)://host[:port], without credentials, path or query",
            ));
        }
        Ok(ReqwestTransport {
            client,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// The base URL requests go to.
    pub fn base(&self) -> &str {
        &self.base
    }
}

/// How long opening a connection (TCP and TLS) may take, by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle time before TCP keepalive probes start (then one every third of it, 3 unanswered
/// probes end the connection): a vanished peer is noticed within twice this.
pub const DEFAULT_TCP_KEEPALIVE: Duration = Duration::from_secs(15);

/// The connection settings of a built-in client.
struct NetworkSettings {
    connect_timeout: Duration,
    tcp_keepalive: Option<Duration>,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            tcp_keepalive: Some(DEFAULT_TCP_KEEPALIVE),
        }
    }
}

/// HTTP/2 PINGs: how often while a request is open, and how long one may go unanswered.
const H2_PING_INTERVAL: Duration = Duration::from_secs(15);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);
/// Unanswered keepalive probes after which the kernel ends a connection.
const KEEPALIVE_PROBES: u32 = 3;

/// The TLS configuration of every client of the process: rustls with ring, Mozilla's root
/// store (webpki-roots, as reqwest's `rustls-tls` uses), ALPN for HTTP/2 and HTTP/1.1. Built
/// once; a clone shares the root store.
fn tls_config() -> rustls::ClientConfig {
    static CONFIG: std::sync::OnceLock<rustls::ClientConfig> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|builder| {
                    builder
                        .with_root_certificates(roots.clone())
                        .with_no_client_auth()
                })
                // ring supports every default protocol version; this cannot fail.
                .unwrap_or_else(|_| {
                    rustls::ClientConfig::builder()
                        .with_root_certificates(roots)
                        .with_no_client_auth()
                });
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            config
        })
        .clone()
}

/// Whether the environment names a proxy as reqwest reads it (`ALL_PROXY`, `HTTP_PROXY`,
/// `HTTPS_PROXY`, upper or lower case, not empty); reqwest uses it when it does.
fn proxy_in_environment() -> bool {
    [
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

fn build_client(settings: &NetworkSettings) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        // Explicitly rustls: reqwest's default backend is whatever its features unify to in the
        // application's tree, and another crate enabling `native-tls` would otherwise switch
        // every client to OpenSSL (and ~0.9 MiB of root store per client; measured in compare/).
        // And one configuration for the whole process: reqwest's own parses the root store
        // again for every client (~28 KiB each).
        .use_preconfigured_tls(tls_config())
        .user_agent(SDK_NAME)
        .gzip(true)
        .pool_idle_timeout(Duration::from_secs(90))
        // Redirects come back as they are (a file download's 307): the SDK follows them to
        // storage itself, without PubNub's credentials.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .http2_keep_alive_interval(H2_PING_INTERVAL)
        .http2_keep_alive_timeout(H2_PING_TIMEOUT)
        .http2_keep_alive_while_idle(false);
    if !proxy_in_environment() {
        // What reqwest's proxy lookup would find: nothing. Without it the client saves the
        // environment's matcher (~1.9 KiB per client).
        builder = builder.no_proxy();
    }
    if let Some(idle) = settings.tcp_keepalive {
        builder = builder
            .tcp_keepalive(idle)
            .tcp_keepalive_interval((idle / 3).max(Duration::from_secs(1)))
            .tcp_keepalive_retries(KEEPALIVE_PROBES);
    }
    builder
        .build()
        .map_err(|e| Error::new(ErrorKind::Network, format!("HTTP client unavailable: {e}")))
}

impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestTransport")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: Request) -> TransportFuture {
        let mut url = String::with_capacity(self.base.len());
        if !request.is_absolute() {
            url.push_str(&self.base);
        }
        request.write_path_and_query(&mut url);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
            Method::Patch => reqwest::Method::PATCH,
        };
        // No reqwest timeout: the client bounds the whole exchange, body included, with
        // `Request::timeout` on tokio's clock, and a second timer per request costs CPU.
        let mut builder = self.client.request(method, url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.as_str());
        }
        let progress = request.progress;
        if let Some(body) = request.body {
            if request
                .headers
                .iter()
                .all(|(name, _)| !name.eq_ignore_ascii_case("content-type"))
            {
                builder = builder.header(CONTENT_TYPE, "application/json");
            }
            builder = match &progress {
                // A length, not chunks: storage (S3's POST uploads) refuses a chunked body.
                Some(hook) => builder
                    .header(reqwest::header::CONTENT_LENGTH, body.len())
                    .body(reporting_body(body, hook.clone())),
                None => builder.body(body),
            };
        }
        let limit = request.max_response_bytes;
        Box::pin(async move {
            let response = builder.send().await.map_err(reqwest_error)?;
            let status = response.status().as_u16();
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            // Only the delta-seconds form; PubNub sends no HTTP dates.
            let retry_after =
                header(RETRY_AFTER).and_then(|value| value.trim().parse::<u32>().ok());
            let location = header(LOCATION);
            let content_type = header(CONTENT_TYPE);
            let body = read_body(response, limit, progress.as_ref()).await?;
            Ok(Response {
                status,
                retry_after,
                location,
                content_type,
                body,
            })
        })
    }
}

/// The piece of an upload's body sent at a time when its progress is reported.
const UPLOAD_CHUNK: usize = 64 << 10;

/// `body` as a stream of chunks that reports each one to `hook` as the connection takes it.
fn reporting_body(body: bytes::Bytes, hook: ProgressHook) -> reqwest::Body {
    let total = u64::try_from(body.len()).unwrap_or(u64::MAX);
    let chunks = (0..body.len()).step_by(UPLOAD_CHUNK).map(move |start| {
        let end = (start + UPLOAD_CHUNK).min(body.len());
        hook.report(Progress {
            done: u64::try_from(end).unwrap_or(u64::MAX),
            total: Some(total),
        });
        Ok::<_, std::io::Error>(body.slice(start..end))
    });
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

/// Reads the (already decompressed) body chunk by chunk and stops at `limit` bytes: a body that
/// never ends or a decompression bomb costs at most the limit, never the memory of the machine.
/// Each chunk read is reported to `progress`.
async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
    progress: Option<&ProgressHook>,
) -> Result<bytes::Bytes, Error> {
    // The declared length is a hint only (a compressed body inflates past it); never trusted
    // beyond the limit.
    let declared = response.content_length();
    let hint = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let mut body = bytes::BytesMut::with_capacity(hint.min(limit));
    while let Some(chunk) = response.chunk().await.map_err(reqwest_error)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        if let Some(hook) = progress {
            let done = body.len() + chunk.len();
            hook.report(Progress {
                done: u64::try_from(done).unwrap_or(u64::MAX),
                total: declared,
            });
        }
        if body.is_empty() && chunk.len() == hint {
            // The whole body in one chunk: hand it on without a copy.
            return Ok(chunk);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The [`Error`] of a failed reqwest exchange. Connect, DNS and reset failures, and bodies cut
/// short by the connection closing, are [`ErrorKind::Network`]; timeouts
/// [`ErrorKind::Timeout`]; bodies that arrived but could not be decoded (a corrupt gzip stream)
/// [`ErrorKind::Decode`]. The URL is dropped: it carries the `auth` parameter. (Not a public
/// `From` impl, so that no reqwest type is part of the public API.)
fn reqwest_error(error: reqwest::Error) -> Error {
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else if error.is_builder() {
        ErrorKind::InvalidArgument
    } else if error.is_decode() && !connection_lost(&error) {
        ErrorKind::Decode
    } else {
        ErrorKind::Network
    };
    let message = match kind {
        ErrorKind::Timeout => "request timed out",
        ErrorKind::InvalidArgument => "request could not be built",
        ErrorKind::Decode => "response body could not be read",
        _ if error.is_connect() => "could not connect",
        _ => "connection failed",
    };
    Error::new(kind, message).with_source(error.without_url())
}

/// True when the chain holds an I/O error of a lost connection (reset, early end of the
/// body): the body was lost on the network rather than being undecodable.
fn connection_lost(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind as Io;
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                Io::UnexpectedEof
                    | Io::ConnectionReset
                    | Io::ConnectionAborted
                    | Io::BrokenPipe
                    | Io::NotConnected
            ) {
                return true;
            }
        }
        source = cause.source();
    }
    false
}

/// The error of an answer longer than `limit`.
pub(crate) fn too_large(limit: usize) -> Error {
    Error::new(
        ErrorKind::ResponseTooLarge,
        format!("the answer is longer than {limit} bytes (after decompression): cut there"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked() {
        for good in [
            "https://ps.pndsn.com",
            "http://127.0.0.1:8080",
            "http://[::1]:9/",
        ] {
            assert!(ReqwestTransport::new(good).is_ok(), "{good}");
        }
        for bad in [
            "ps.pndsn.com",
            "ftp://x",
            "http://h/path",
            "http://h/?q",
            "http://",
        ] {
            let error = ReqwestTransport::new(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
        let transport = ReqwestTransport::new("http://127.0.0.1:8080/").unwrap();
        assert_eq!(transport.base(), "http://127.0.0.1:8080");
        assert!(format!("{transport:?}").contains("127.0.0.1:8080"));
    }

    #[test]
    fn each_transport_has_its_own_client() {
        let transport =
            ReqwestTransport::with_settings("http://127.0.0.1:9", Duration::from_millis(250), None)
                .unwrap();
        assert_eq!(transport.base(), "http://127.0.0.1:9");
    }
}

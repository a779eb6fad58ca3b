//! The default [`Transport`]: reqwest with rustls, one connection pool per process.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use super::{Method, Request, Response, Transport, TransportFuture, SDK_NAME};
use crate::error::{Error, ErrorKind};

/// One client, so one connection pool, for every [`PubNub`](crate::PubNub) of the process:
/// a thousand clients share keep-alive connections instead of opening a thousand pools.
/// A build failure (the TLS backend could not start) is kept as text and reported on each use.
static SHARED: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();

/// Sends requests with reqwest (rustls, gzip, HTTP/2 over TLS) to one origin.
///
/// By default all transports share one `reqwest::Client`, and with it one connection pool.
/// The transport sets no timeout of its own: the client bounds every exchange, body included,
/// by [`Request::timeout`] on tokio's clock (one timer per request instead of two). Code that
/// calls [`Transport::send`] directly bounds it itself, with `tokio::time::timeout`.
#[derive(Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    base: String,
}

impl ReqwestTransport {
    /// A transport to `base`, a URL such as `https://ps.pndsn.com` or `http://127.0.0.1:8080`,
    /// using the process-wide shared client.
    pub fn new(base: &str) -> Result<Self, Error> {
        ReqwestTransport::with_client(base, ReqwestTransport::shared_client()?)
    }

    /// A transport to `base` using a client of your own (proxy, custom roots, …).
    pub fn with_client(base: &str, client: reqwest::Client) -> Result<Self, Error> {
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

    /// The process-wide client every default transport uses.
    pub fn shared_client() -> Result<reqwest::Client, Error> {
        SHARED
            .get_or_init(|| {
                reqwest::Client::builder()
                    .user_agent(SDK_NAME)
                    .gzip(true)
                    .pool_idle_timeout(Duration::from_secs(90))
                    .tcp_keepalive(Duration::from_secs(60))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|message| {
                Error::new(
                    ErrorKind::Network,
                    format!("HTTP client unavailable: {message}"),
                )
            })
    }

    /// The base URL requests go to.
    pub fn base(&self) -> &str {
        &self.base
    }
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
        url.push_str(&self.base);
        request.write_path_and_query(&mut url);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        // No reqwest timeout: the client bounds the whole exchange, body included, with
        // `Request::timeout` on tokio's clock, and a second timer per request costs CPU.
        let mut builder = self.client.request(method, url);
        if let Some(body) = request.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body);
        }
        Box::pin(async move {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            // Only the delta-seconds form; PubNub sends no HTTP dates.
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u32>().ok());
            let body = response.bytes().await?;
            Ok(Response {
                status,
                retry_after,
                body,
            })
        })
    }
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
    fn the_client_is_shared() {
        // Two handles to one pool: reqwest clients are an Arc inside, so compare via Debug is
        // not possible; the OnceLock guarantees a single build.
        assert!(ReqwestTransport::shared_client().is_ok());
        assert!(SHARED.get().is_some());
    }
}

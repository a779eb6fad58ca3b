//! The in-memory server as a [`pubnub_engine::Transport`] (feature `engine`): an app's tests
//! run a whole client against pubnub-local with no socket, on tokio's clock (paused or not).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use pubnub_engine::PubNub;
//!
//! let server = pubnub_local::Server::builder().build_in_memory();
//! let pubnub = PubNub::builder("sub-key", "tester")
//!     .publish_key("pub-key")
//!     .transport(server.transport())
//!     .build_client()?;
//! let sent = pubnub.publish().channel("orders").message(&"hi").await?;
//! assert!(sent.timetoken > 0);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use axum::body::Body;
use axum::Router;
use pubnub_engine::{Error, ErrorKind, Method, Request, Response, Transport, TransportFuture};

use crate::server::InMemoryServer;

/// The host the in-memory server sees: the URLs it builds (file storage) name it, and the
/// transport recognises them.
const HOST: &str = "pubnub-local.invalid";

impl InMemoryServer {
    /// This server as the client's transport: every request goes straight to its router, with
    /// no socket. Give it to [`ConfigBuilder::transport`](pubnub_engine::ConfigBuilder::transport).
    pub fn transport(&self) -> Arc<dyn Transport> {
        Arc::new(RouterTransport {
            router: self.router(),
        })
    }
}

/// The router, called as a tower service.
#[derive(Debug)]
struct RouterTransport {
    router: Router,
}

impl Transport for RouterTransport {
    fn send(&self, request: Request) -> TransportFuture {
        let router = self.router.clone();
        Box::pin(async move {
            let invalid =
                |e: axum::http::Error| Error::new(ErrorKind::InvalidArgument, e.to_string());
            let method = match request.method {
                Method::Get => axum::http::Method::GET,
                Method::Post => axum::http::Method::POST,
                Method::Delete => axum::http::Method::DELETE,
                Method::Patch => axum::http::Method::PATCH,
                #[allow(unreachable_patterns)]
                other => {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!("no {other} in the in-memory transport"),
                    ))
                }
            };
            // A URL the server built (file storage) names its host: only its path is routed.
            let mut uri = request.path_and_query();
            if request.is_absolute() {
                let after_scheme = uri.split_once("://").map_or("", |(_, rest)| rest);
                uri = match after_scheme.find('/') {
                    Some(at) => after_scheme[at..].to_string(),
                    None => "/".to_string(),
                };
            }
            let mut http = axum::http::Request::builder()
                .method(method)
                .uri(&uri)
                .header("host", HOST);
            if request.body.is_some() && request.header("content-type").is_none() {
                http = http.header("content-type", "application/json");
            }
            for (name, value) in &request.headers {
                http = http.header(*name, value.as_str());
            }
            let body = request
                .body
                .clone()
                .map(Body::from)
                .unwrap_or_else(Body::empty);
            let http = http.body(body).map_err(invalid)?;
            let mut router = router;
            let answer = tower_service::Service::call(&mut router, http)
                .await
                .map_err(|never| match never {})?;
            let (parts, body) = answer.into_parts();
            let header = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            let status = parts.status.as_u16();
            let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u32>().ok());
            let location = header("location");
            let content_type = header("content-type");
            let body = axum::body::to_bytes(body, request.max_response_bytes)
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorKind::ResponseTooLarge,
                        format!("the answer is over {} bytes", request.max_response_bytes),
                    )
                })?;
            let mut response = Response::new(status, body);
            response.retry_after = retry_after;
            if let Some(location) = location {
                response = response.with_location(location);
            }
            if let Some(content_type) = content_type {
                response = response.with_content_type(content_type);
            }
            Ok(response)
        })
    }
}

//! Helpers for tests against an in-process `pubnub-local` on 127.0.0.1:0.

use std::future::Future;
use std::time::Duration;

use pubnub_engine::{ConfigBuilder, Jitter, PubNub, RetryConfig, RetryPolicy};
use pubnub_local::{Server, ServerHandle};

/// A server with a short long-poll hold and request recording.
pub async fn server() -> ServerHandle {
    Server::builder()
        .hold(Duration::from_secs(2))
        .record_requests(true)
        .start()
        .await
        .expect("pubnub-local starts")
}

/// A client of `server` with a fast linear retry, so fault tests recover in milliseconds.
pub fn client(server: &ServerHandle) -> PubNub {
    client_with(server, "test-user", |b| b)
}

/// A client of `server` as `user`, with extra configuration.
pub fn client_with(
    server: &ServerHandle,
    user: &str,
    configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> PubNub {
    let builder = PubNub::builder("sub-key", user)
        .publish_key("pub-key")
        .origin(server.url())
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(20),
            max_retries: 50,
        }))
        .retry_jitter(Jitter::off());
    configure(builder).build_client().expect("client builds")
}

/// Awaits `future`, failing the test if it takes more than 10 s (it only does when broken).
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("timed out waiting for an event")
}

/// How many leave requests for `channel` the server received.
pub fn leaves(server: &ServerHandle, channel: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/leave"))
        .filter(|r| {
            r.path_segments()
                .iter()
                .any(|segment| segment.split(',').any(|c| c == channel))
        })
        .count()
}

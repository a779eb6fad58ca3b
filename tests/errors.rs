//! Every way a server answer or a connection can fail, and the typed error each becomes:
//! error bodies of every shape, broken connections, refused connections and timeouts.

mod support;

use std::time::Duration;

use pubnub_engine::{Error, ErrorKind, PubNub};
use serde_json::json;
use support::{closed_port, Reply, TestServer};

async fn publish(pubnub: &PubNub) -> Result<u64, Error> {
    pubnub
        .publish()
        .channel("chat")
        .message(&"hi")
        .await
        .map(|r| r.timetoken)
}

/// Publishes once against a server answering `reply`.
async fn publish_against(reply: Reply) -> Error {
    let server = TestServer::start().await;
    server.push(reply);
    let error = publish(&server.client()).await.expect_err("an error");
    assert_eq!(server.requests().len(), 1);
    error
}

#[tokio::test]
async fn publish_service_arrays() {
    let cases = [
        (
            r#"[0,"Message Too Large","15635079026391944"]"#,
            ErrorKind::MessageTooLarge,
            "Message Too Large",
        ),
        (
            r#"[0,"Invalid Key","14820999375199241"]"#,
            ErrorKind::Http { status: 400 },
            "Invalid Key",
        ),
        (
            r#"[0,"Invalid JSON","15646801805496402"]"#,
            ErrorKind::Http { status: 400 },
            "Invalid JSON",
        ),
    ];
    for (body, kind, message) in cases {
        let error = publish_against(Reply::json(400, body)).await;
        assert_eq!(error.kind(), kind, "{body}");
        assert_eq!(error.status(), Some(400));
        assert_eq!(error.message(), message);
        assert!(!error.is_transient());
    }
}

#[tokio::test]
async fn access_manager_bodies_keep_the_names() {
    let server = TestServer::start().await;
    server.push(Reply::json(
        403,
        r#"{"message":"Forbidden","payload":{"channels":["c1","c2"],"channel-groups":[":g1"]},"error":true,"service":"Access Manager","status":403}"#,
    ));
    server.push(Reply::json(
        403,
        r#"{"error":{"message":"Invalid signature","source":"grant","details":[{"message":"x","location":"signature","locationType":"query"}]},"service":"Access Manager","status":403}"#,
    ));
    let pubnub = server.client();
    let error = pubnub.here_now().channels(["c1", "c2"]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    assert_eq!(error.status(), Some(403));
    assert_eq!(
        error.message(),
        "Forbidden (channels: c1, c2; channel groups: :g1)"
    );
    assert_eq!(
        error.to_string(),
        "access denied (HTTP 403): Forbidden (channels: c1, c2; channel groups: :g1)"
    );
    let error = pubnub.time().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    assert_eq!(error.message(), "Invalid signature");
}

#[tokio::test]
async fn balancer_limits() {
    let error = publish_against(Reply::json(
        413,
        r#"{"status":413,"error":true,"service":"Balancer","message":"Request Entity Too Large."}"#,
    ))
    .await;
    assert_eq!(
        (error.kind(), error.status()),
        (ErrorKind::MessageTooLarge, Some(413))
    );

    let uri_too_long =
        r#"{"message":"Request URI Too Long","error":true,"service":"Balancer","status":414}"#;
    let error = publish_against(Reply::json(414, uri_too_long)).await;
    assert_eq!(
        (error.kind(), error.status()),
        (ErrorKind::MessageTooLarge, Some(414))
    );

    // Elsewhere a 414 is only an HTTP error (too many channels).
    let server = TestServer::start().await;
    server.push(Reply::json(414, uri_too_long));
    let error = server
        .client()
        .here_now()
        .channels(["a"])
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 414 });
    assert_eq!(error.message(), "Request URI Too Long");
}

#[tokio::test]
async fn rate_limits_carry_retry_after() {
    let error = publish_against(
        Reply::json(
            429,
            r#"{"status":429,"error":true,"message":"Too many requests."}"#,
        )
        .header("Retry-After", "7"),
    )
    .await;
    assert_eq!(error.kind(), ErrorKind::Http { status: 429 });
    assert_eq!(error.retry_after(), Some(7));
    assert_eq!(error.reason().retry_after, Some(7));
    assert!(error.is_transient());
}

#[tokio::test]
async fn server_errors_and_odd_bodies() {
    let cases = [
        (
            Reply::json(500, "<html>Internal Server Error</html>"),
            ErrorKind::Http { status: 500 },
            Some(500),
            true,
        ),
        (
            Reply::json(502, ""),
            ErrorKind::Http { status: 502 },
            Some(502),
            true,
        ),
        (
            Reply::json(503, "[0,"),
            ErrorKind::Http { status: 503 },
            Some(503),
            true,
        ),
        (
            Reply::json(200, r#"[1,"Sent","1700000"#),
            ErrorKind::Decode,
            Some(200),
            true,
        ),
        (
            Reply::json(200, "Sent!"),
            ErrorKind::Decode,
            Some(200),
            true,
        ),
        (Reply::json(200, ""), ErrorKind::Decode, Some(200), true),
        (
            Reply::json(200, r#"{"unexpected":true}"#),
            ErrorKind::Decode,
            None,
            true,
        ),
        (
            Reply::json(
                200,
                r#"{"status":403,"error":true,"message":"Forbidden","service":"Access Manager"}"#,
            ),
            ErrorKind::AccessDenied,
            Some(403),
            false,
        ),
        (
            Reply::json(
                404,
                r#"{"message":"Not found","error":1,"service":"Presence"}"#,
            ),
            ErrorKind::Http { status: 404 },
            Some(404),
            false,
        ),
    ];
    for (reply, kind, status, transient) in cases {
        let label = format!("{reply:?}");
        let error = publish_against(reply).await;
        assert_eq!(error.kind(), kind, "{label}");
        assert_eq!(error.status(), status, "{label}");
        assert_eq!(error.is_transient(), transient, "{label}");
    }
}

#[tokio::test]
async fn a_body_cut_short_is_a_network_error() {
    let error = publish_against(Reply::Truncated {
        status: 200,
        body: r#"[1,"Sent","17"#.into(),
        claimed: 100,
    })
    .await;
    // The connection closed before the body ended: lost on the network, not undecodable.
    assert_eq!(error.kind(), ErrorKind::Network);
    assert!(error.is_transient());
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test]
async fn a_corrupt_compressed_body_is_a_decode_error() {
    let error = publish_against(Reply::Full {
        status: 200,
        headers: vec![("Content-Encoding".into(), "gzip".into())],
        body: b"\x1f\x8b\x08\x00garbage that does not inflate".to_vec(),
    })
    .await;
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_dropped_connection_is_a_network_error() {
    let error = publish_against(Reply::Drop).await;
    assert_eq!(error.kind(), ErrorKind::Network);
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error_without_secrets() {
    let pubnub = PubNub::builder("sub-key", "user-1")
        .publish_key("pub-key")
        .auth_token("TOKEN-SECRET")
        .secret_key("SECRET-KEY")
        .origin(format!("http://127.0.0.1:{}", closed_port()))
        .build_client()
        .unwrap();
    let error = publish(&pubnub).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network);
    assert_eq!(error.status(), None);
    let mut texts = vec![format!("{error}"), format!("{error:?}")];
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        texts.push(format!("{cause} {cause:?}"));
        source = cause.source();
    }
    for text in texts {
        assert!(
            !text.contains("TOKEN-SECRET") && !text.contains("SECRET-KEY"),
            "{text}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out() {
    let server = TestServer::start().await;
    server.push(Reply::Hang);
    let pubnub = server
        .builder()
        .non_subscribe_request_timeout(Duration::from_secs(3))
        .build_client()
        .unwrap();
    let error = publish(&pubnub).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.is_transient());
}

/// Garbage of every kind, on every endpoint: errors, never panics.
#[tokio::test]
async fn no_answer_panics() {
    let server = TestServer::start().await;
    let pubnub = server.client();
    let bodies = [
        "",
        "null",
        "[]",
        "{}",
        "[0]",
        "[1]",
        r#"[1,"Sent"]"#,
        r#"[1,"Sent",null]"#,
        "[-1]",
        r#"{"payload":null}"#,
        r#"{"payload":[]}"#,
        r#"{"payload":{"channels":5}}"#,
        r#"{"occupancy":"x"}"#,
        r#"{"status":"500"}"#,
        r#"{"error":"yes"}"#,
        "\u{0}\u{1}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "99999999999999999999999999",
    ];
    for status in [200, 400, 403, 500] {
        for body in bodies {
            server.fallback(Reply::json(status, body));
            let _ = publish(&pubnub).await;
            let _ = pubnub.here_now().channels(["a"]).await;
            let _ = pubnub.here_now().await;
            let _ = pubnub.where_now().await;
            let _ = pubnub.get_state().channels(["a"]).await;
            let _ = pubnub.get_state().channels(["a", "b"]).await;
            let _ = pubnub
                .set_state()
                .channels(["a"])
                .state(&json!({"k": 1}))
                .await;
            let _ = pubnub.list_channel_groups().await;
            let _ = pubnub
                .list_channels_in_channel_group()
                .channel_group("g")
                .await;
            let _ = pubnub.time().await;
        }
    }
}

/// A transport of the application's that panics, in `send` or in the future it returns: that
/// request fails with a network error, the subscribe loop retries and connects, and a publish
/// gets the error instead of the panic.
#[tokio::test(start_paused = true)]
async fn a_panicking_transport_fails_one_request_not_the_engine() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use futures_util::StreamExt;
    use pubnub_engine::{Request, StatusCategory, SubscriptionOptions, Transport, TransportFuture};
    use support::memory::Memory;

    /// The first two subscribe requests and the first publish panic; the rest pass through.
    #[derive(Debug)]
    struct Panicky {
        inner: Arc<Memory>,
        subscribes: AtomicUsize,
        publishes: AtomicUsize,
    }
    impl Transport for Panicky {
        fn send(&self, request: Request) -> TransportFuture {
            if request.path.starts_with("/v2/subscribe/") {
                match self.subscribes.fetch_add(1, Ordering::SeqCst) {
                    0 => panic!("a transport bug, in send"),
                    1 => return Box::pin(async { panic!("a transport bug, in the exchange") }),
                    _ => {}
                }
            }
            if request.path.starts_with("/publish/")
                && self.publishes.fetch_add(1, Ordering::SeqCst) == 0
            {
                return Box::pin(async { panic!("a transport bug, in a publish") });
            }
            self.inner.send(request)
        }
    }

    let memory = Memory::new();
    let panicky = Arc::new(Panicky {
        inner: memory.clone(),
        subscribes: AtomicUsize::new(0),
        publishes: AtomicUsize::new(0),
    });
    let pubnub = memory.client_with("alice", |b| b.transport(panicky.clone()));
    let subscription = pubnub
        .channel("chat")
        .subscription(SubscriptionOptions::new());
    let mut messages = subscription.message_stream();
    let mut statuses = pubnub.status_stream();
    subscription.subscribe().unwrap();
    // The first failure is reported at once (the engine retries), then the retries connect.
    let status = tokio::time::timeout(Duration::from_secs(10), statuses.next())
        .await
        .expect("the failed handshake is reported")
        .unwrap();
    assert_eq!(
        status.category.story(),
        StatusCategory::UnexpectedDisconnect
    );
    let status = tokio::time::timeout(Duration::from_secs(10), statuses.next())
        .await
        .expect("connected after two retries")
        .unwrap();
    assert_eq!(status.category, StatusCategory::Connected);
    assert!(panicky.subscribes.load(Ordering::SeqCst) >= 3);

    let error = publish(&pubnub)
        .await
        .expect_err("the publish whose exchange panicked");
    assert_eq!(error.kind(), ErrorKind::Network);
    assert!(error.to_string().contains("transport panicked"), "{error}");
    publish(&pubnub)
        .await
        .expect("the next publish goes through");
    let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
        .await
        .expect("the engine still delivers")
        .unwrap();
    assert_eq!(message.message, json!("hi"));
}

//! Bad input and security: every bad input a user can give fails with its error kind before
//! anything is sent; secrets never appear in `Debug`, `Display` or logs; TLS is the default;
//! names and payloads that look like path syntax reach the server as data.

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{
    Config, CryptoModule, Error, ErrorKind, Method, PubNub, Request, RetryConfig, RetryPolicy,
    StatusCategory, SubscriptionOptions,
};
use pubnub_local::{Endpoint, Fault};
use serde_json::json;

use support::memory::Memory;

type Outcome = Result<(), Error>;

fn config(
    configure: impl FnOnce(pubnub_engine::ConfigBuilder) -> pubnub_engine::ConfigBuilder,
) -> Outcome {
    configure(Config::builder("sub-key", "user"))
        .build()
        .map(drop)
}

#[tokio::test(start_paused = true)]
async fn every_bad_input_fails_with_its_kind_and_sends_nothing() {
    use ErrorKind::{InvalidArgument as Invalid, MessageTooLarge as TooLarge};
    let memory = Memory::new();
    let pubnub = memory.client("user");
    let no_publish_key = PubNub::new(
        Config::builder("sub-key", "user")
            .transport(memory.clone())
            .build()
            .unwrap(),
    )
    .unwrap();
    let long = "x".repeat(93);
    let mut not_json = HashMap::new();
    not_json.insert((1, 2), "a map with tuple keys is not JSON");
    let publish = |channel: &str| {
        let pubnub = pubnub.clone();
        let channel = channel.to_string();
        async move {
            pubnub
                .publish()
                .channel(channel)
                .message(&1)
                .await
                .map(drop)
        }
    };
    let subscribe = |name: &str| {
        pubnub
            .channel(name)
            .subscription(SubscriptionOptions::new())
            .subscribe()
    };
    let hour = Duration::from_secs(3600);
    let table: Vec<(&str, Outcome, ErrorKind)> = vec![
        // Configuration.
        (
            "empty cipher key",
            CryptoModule::aes_cbc("").map(drop),
            Invalid,
        ),
        (
            "empty cipher key (legacy)",
            CryptoModule::legacy("", true).map(drop),
            Invalid,
        ),
        (
            "empty user id",
            config(|_| Config::builder("sub-key", "")),
            Invalid,
        ),
        (
            "blank user id",
            config(|_| Config::builder("sub-key", "   ")),
            Invalid,
        ),
        (
            "user id too long",
            config(|_| Config::builder("sub-key", "u".repeat(93))),
            Invalid,
        ),
        (
            "user id with a control",
            config(|_| Config::builder("sub-key", "a\u{1}")),
            Invalid,
        ),
        (
            "empty subscribe key",
            config(|_| Config::builder("", "user")),
            Invalid,
        ),
        (
            "key with a space",
            config(|b| b.publish_key("pub key")),
            Invalid,
        ),
        ("empty auth token", config(|b| b.auth_token("")), Invalid),
        ("empty secret key", config(|b| b.secret_key("")), Invalid),
        (
            "zero subscribe timeout",
            config(|b| b.subscribe_request_timeout(Duration::ZERO)),
            Invalid,
        ),
        (
            "two-hour subscribe timeout",
            config(|b| b.subscribe_request_timeout(2 * hour)),
            Invalid,
        ),
        (
            "zero request timeout",
            config(|b| b.non_subscribe_request_timeout(Duration::ZERO)),
            Invalid,
        ),
        (
            "absurd request timeout",
            config(|b| b.non_subscribe_request_timeout(Duration::MAX)),
            Invalid,
        ),
        (
            "heartbeat ≥ presence timeout",
            config(|b| b.presence_timeout(60).heartbeat_interval(60)),
            Invalid,
        ),
        (
            "blank filter expression",
            config(|b| b.filter_expression("  ")),
            Invalid,
        ),
        (
            "origin with a path",
            config(|b| b.origin("https://host/path?x")),
            Invalid,
        ),
        (
            "origin of another scheme",
            config(|b| b.origin("ftp://host")),
            Invalid,
        ),
        (
            "zero message count threshold",
            config(|b| b.request_message_count_threshold(0)),
            Invalid,
        ),
        // Publish and signal.
        ("publish: empty channel", publish("").await, Invalid),
        ("publish: comma", publish("a,b").await, Invalid),
        ("publish: slash", publish("a/b").await, Invalid),
        ("publish: dot-dot", publish("..").await, Invalid),
        ("publish: control", publish("a\nb").await, Invalid),
        ("publish: 93 chars", publish(&long).await, Invalid),
        (
            "publish: presence channel",
            publish("room-pnpres").await,
            Invalid,
        ),
        (
            "publish: 33 KB message",
            pubnub
                .publish()
                .channel("c")
                .message(&"m".repeat(33 * 1024))
                .await
                .map(drop),
            TooLarge,
        ),
        (
            "publish: 33 KB POST body",
            pubnub
                .publish()
                .channel("c")
                .message(&"m".repeat(33 * 1024))
                .use_post(true)
                .await
                .map(drop),
            TooLarge,
        ),
        (
            "signal: 65 bytes",
            pubnub
                .signal()
                .channel("c")
                .message(&"s".repeat(63))
                .await
                .map(drop),
            TooLarge,
        ),
        (
            "publish: not serialisable",
            pubnub
                .publish()
                .channel("c")
                .message(&not_json)
                .await
                .map(drop),
            Invalid,
        ),
        (
            "publish: meta not an object",
            pubnub
                .publish()
                .channel("c")
                .message(&1)
                .meta(&[1])
                .await
                .map(drop),
            Invalid,
        ),
        (
            "publish: no message",
            pubnub.publish().channel("c").await.map(drop),
            Invalid,
        ),
        (
            "publish: no publish key",
            no_publish_key
                .publish()
                .channel("c")
                .message(&1)
                .await
                .map(drop),
            Invalid,
        ),
        (
            "publish: bad custom message type",
            pubnub
                .publish()
                .channel("c")
                .message(&1)
                .custom_message_type("a b")
                .await
                .map(drop),
            Invalid,
        ),
        // Subscribe.
        ("subscribe: empty name", subscribe(""), Invalid),
        ("subscribe: comma", subscribe("a,b"), Invalid),
        ("subscribe: space", subscribe("a b"), Invalid),
        ("subscribe: deep wildcard", subscribe("a.b.c.*"), Invalid),
        ("subscribe: bare wildcard", subscribe("*"), Invalid),
        ("subscribe: 93 chars", subscribe(&long), Invalid),
        (
            "subscribe: 16-digit timetoken",
            pubnub
                .channel("ok")
                .subscription(SubscriptionOptions::new().timetoken(1_700_000_000_000_000))
                .subscribe(),
            Invalid,
        ),
        (
            "subscribe: 18-digit timetoken",
            pubnub
                .channel("ok")
                .subscription(SubscriptionOptions::new())
                .subscribe_with_timetoken(170_000_000_000_000_000),
            Invalid,
        ),
        (
            "reconnect from a bad timetoken",
            pubnub.reconnect_from(5),
            Invalid,
        ),
        (
            "subscribe: empty group",
            pubnub
                .channel_group("")
                .subscription(SubscriptionOptions::new())
                .subscribe(),
            Invalid,
        ),
        // Presence and channel groups.
        (
            "here now: bad channel",
            pubnub.here_now().channels(["a b"]).await.map(drop),
            Invalid,
        ),
        (
            "where now: empty user",
            pubnub.where_now().user_id("").await.map(drop),
            Invalid,
        ),
        (
            "set state: no names",
            pubnub.set_state().state(&json!({"k": 1})).await.map(drop),
            Invalid,
        ),
        (
            "heartbeat: no names",
            pubnub.heartbeat().await.map(drop),
            Invalid,
        ),
        (
            "group: empty name",
            pubnub
                .add_channel_to_channel_group()
                .channel_group("")
                .channels(["a"])
                .await
                .map(drop),
            Invalid,
        ),
        (
            "group: bad channel",
            pubnub
                .add_channel_to_channel_group()
                .channel_group("g")
                .channels(["a/b"])
                .await
                .map(drop),
            Invalid,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, outcome, kind) in &table {
        match outcome {
            Err(error) if error.kind() == *kind => {}
            other => wrong.push(format!("{what}: expected {kind:?}, got {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        memory.seen().is_empty(),
        "something reached the server: {:#?}",
        memory.seen()
    );
    pubnub.close().await;
}

/// Captures every log line (tracing and `log` records) of this test binary at TRACE.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        // Global, so the server's and the client's tasks log here whatever thread runs them;
        // `try_init` also forwards `log` records (reqwest, hyper).
        use tracing_subscriber::util::SubscriberInitExt;
        subscriber
            .try_init()
            .expect("the only subscriber of this binary");
        logs
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const SECRET_KEY: &str = "sec-c-SECRETKEY-31337";
const AUTH_TOKEN: &str = "TOKEN-SECRET-4242";
const CIPHER_KEY: &str = "CIPHER-SECRET-2718";

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(CIPHER_KEY),
        "{what} shows the cipher key: {text}"
    );
    assert!(
        !text.contains(SECRET_KEY),
        "{what} shows the secret key: {text}"
    );
    assert!(
        !text.contains(AUTH_TOKEN),
        "{what} shows the auth token: {text}"
    );
}

#[tokio::test]
async fn secrets_never_reach_debug_display_or_logs() {
    let logs = captured();
    let server = support::local::server().await;
    let builder = PubNub::builder("sub-key", "spy")
        .publish_key("pub-key")
        .secret_key(SECRET_KEY)
        .auth_token(AUTH_TOKEN)
        .crypto_module(CryptoModule::aes_cbc(CIPHER_KEY).unwrap())
        .origin(server.url())
        .heartbeat_interval(5)
        .presence_timeout(20)
        .non_subscribe_request_timeout(Duration::from_secs(2))
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(20),
            max_retries: 50,
        }));
    assert_clean("ConfigBuilder Debug", &format!("{builder:?}"));
    let config = builder.clone().build().unwrap();
    assert_clean("Config Debug", &format!("{config:?}"));
    let pubnub = builder.build_client().unwrap();
    assert_clean("PubNub Debug", &format!("{pubnub:?}"));

    // Successes: publish, subscribe, receive, presence.
    let sub = pubnub
        .channel("secret-room")
        .subscription(SubscriptionOptions::new().with_presence());
    let mut messages = sub.message_stream();
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    let status = support::local::within(statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Connected);
    pubnub
        .publish()
        .channel("secret-room")
        .message(&"hi")
        .await
        .unwrap();
    let hi = support::local::within(messages.next()).await.unwrap();
    assert_eq!((hi.message, hi.error), (json!("hi").into(), None));
    // A message that cannot be decrypted: logged and flagged, the key in neither.
    let plain = support::local::client_with(&server, "plain", |b| b.auth_token(AUTH_TOKEN));
    plain
        .publish()
        .channel("secret-room")
        .message(&"not encrypted")
        .await
        .unwrap();
    let flagged = support::local::within(messages.next()).await.unwrap();
    let reason = flagged.error.expect("a decryption error");
    assert_eq!(reason.kind, ErrorKind::Decryption);
    assert_clean("a decryption error", &format!("{reason} {reason:?}"));
    assert_clean(
        "CryptoModule Debug",
        &format!("{:?}", config.crypto_module()),
    );
    plain.close().await;
    pubnub.here_now().channels(["secret-room"]).await.unwrap();

    // Failures: refused by the server, a reset, a failing long-poll, a refused connection.
    let mut errors: Vec<Error> = Vec::new();
    server
        .faults()
        .inject(Fault::status(403).on(Endpoint::Publish));
    server
        .faults()
        .inject(Fault::reset().on(Endpoint::Presence));
    errors.extend(pubnub.publish().channel("c").message(&1).await.err());
    errors.extend(pubnub.here_now().channels(["c"]).await.err());
    server
        .faults()
        .inject(Fault::status(500).on(Endpoint::Subscribe));
    server.faults().drop_long_polls();
    loop {
        let status = support::local::within(statuses.next()).await.unwrap();
        assert_clean("Status Debug", &format!("{status:?}"));
        if status.category == StatusCategory::Reconnected {
            break;
        }
    }
    let closed = PubNub::builder("sub-key", "spy")
        .auth_token(AUTH_TOKEN)
        .secret_key(SECRET_KEY)
        .origin(format!("http://127.0.0.1:{}", support::closed_port()))
        .build_client()
        .unwrap();
    errors.extend(closed.time().await.err());
    assert_eq!(errors.len(), 3, "{errors:?}");
    for error in &errors {
        assert_clean("Error Display", &format!("{error}"));
        assert_clean("Error Debug", &format!("{error:?}"));
        let mut source = std::error::Error::source(error);
        while let Some(s) = source {
            assert_clean("Error source", &format!("{s} {s:?}"));
            source = s.source();
        }
    }
    let mut request = Request::new(Method::Get, "/x");
    request.query.push(("auth", AUTH_TOKEN.to_string()));
    assert_clean("Request Debug", &format!("{request:?}"));

    drop(sub);
    pubnub.close().await;
    closed.close().await;
    // The token was really in use: the server saw it on every request.
    assert!(server
        .requests()
        .iter()
        .all(|r| r.query_param("auth").as_deref() == Some(AUTH_TOKEN)));
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("request answered")
            && text.contains("--RECEIVE_SUCCESS-->")
            && text.contains("could not be decrypted"),
        "the capture works: {} bytes",
        text.len()
    );
    assert_clean("the logs", &text);
}

#[test]
fn tls_is_the_default_and_plain_http_only_when_asked() {
    let default = Config::builder("sub", "u").build().unwrap();
    assert_eq!(default.origin(), "https://ps.pndsn.com");
    assert!(default.is_secure());
    let host = Config::builder("sub", "u")
        .origin("example.com:8443")
        .build()
        .unwrap();
    assert_eq!(host.origin(), "https://example.com:8443");
    let client = PubNub::builder("sub", "u").build_client().unwrap();
    assert!(format!("{client:?}").contains("https://ps.pndsn.com"));

    let insecure = Config::builder("sub", "u").secure(false).build().unwrap();
    assert_eq!(insecure.origin(), "http://ps.pndsn.com");
    assert!(!insecure.is_secure());
    let explicit = Config::builder("sub", "u")
        .origin("http://127.0.0.1:9")
        .build()
        .unwrap();
    assert!(!explicit.is_secure());
    // An explicit https scheme wins over `secure(false)`.
    let https = Config::builder("sub", "u")
        .secure(false)
        .origin("https://example.com")
        .build()
        .unwrap();
    assert!(https.is_secure());
}

#[tokio::test]
async fn path_syntax_in_names_and_payloads_arrives_as_data() {
    let server = support::local::server().await;
    let pubnub = support::local::client_with(&server, "odd: user/1,2", |b| b);
    let names = [
        "%2F",
        "a?b",
        "a#b",
        "%2E%2E%2Fadmin",
        "x%3Fy&z=1",
        "a+b",
        "...",
    ];
    let payload = "../../admin?x=1#frag%2F&y=%00";
    let set = pubnub.subscription_set(
        names
            .iter()
            .map(|n| pubnub.channel(*n).subscription(SubscriptionOptions::new())),
    );
    let mut messages = set.message_stream();
    let mut statuses = pubnub.status_stream();
    set.subscribe().unwrap();
    support::local::within(statuses.next()).await.unwrap();
    for name in names {
        pubnub
            .publish()
            .channel(name)
            .message(&payload)
            .meta(&json!({"path": "../x?y#z"}))
            .await
            .unwrap();
    }
    for name in names {
        let m = support::local::within(messages.next()).await.unwrap();
        assert_eq!(m.channel, name);
        assert_eq!(m.message, json!(payload));
        assert_eq!(m.meta, Some(json!({"path": "../x?y#z"})));
        assert_eq!(m.publisher.as_deref(), Some("odd: user/1,2"));
    }
    // Names with a path separator or a dot segment are refused before anything is sent.
    for bad in ["../admin", "a/b", ".."] {
        let error = pubnub.publish().channel(bad).message(&1).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{bad}");
    }
    // The recording server saw each name as one path segment, decoded once.
    let publishes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/publish/"))
        .collect();
    assert_eq!(publishes.len(), names.len());
    for (request, name) in publishes.iter().zip(names) {
        let segments = request.path_segments();
        assert_eq!(segments.len(), 7, "{}", request.path);
        assert_eq!(segments[4], name, "{}", request.path);
        assert_eq!(segments[6], json!(payload).to_string(), "{}", request.path);
        assert_eq!(
            request.query_param("uuid").as_deref(),
            Some("odd: user/1,2")
        );
        assert!(!request.path.contains("/../") && !request.path.contains('#'));
    }
    pubnub.close().await;
}

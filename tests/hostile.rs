//! Hostile servers and payloads (issue 14): a body that never ends, a decompression bomb,
//! invalid UTF-8 in one envelope, a lone surrogate, a number out of range, HTML with status 200,
//! a chunked body cut in the middle, and publish answers that are not the service's.
//!
//! Each row asserts the outcome (a typed error, retried and reported, or an error event), and
//! that the good messages of the same answer arrive, exactly once. Peak memory is measured in
//! `tests/hostile_memory.rs`, a binary of its own so that no other test disturbs its counts.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{
    ErrorKind, Jitter, Message, PubNub, RetryConfig, RetryPolicy, StatusCategory, StatusStream,
    SubscriptionOptions, UndecodableEvent, UpdateStream,
};
use support::{gzip_bomb, Reply, TestServer};

const HANDSHAKE: &str = r#"{"t":{"t":"17000000000000000","r":1},"m":[]}"#;

/// A subscribe answer at cursor `tt` with these envelopes (JSON texts).
fn answer(tt: u64, envelopes: &[&str]) -> Vec<u8> {
    format!(
        r#"{{"t":{{"t":"{tt}","r":1}},"m":[{}]}}"#,
        envelopes.join(",")
    )
    .into_bytes()
}

fn message(n: u64, data: &str) -> String {
    format!(
        r#"{{"a":"1","f":0,"i":"alice","p":{{"t":"{}","r":1}},"k":"sub-key","c":"room","d":{data}}}"#,
        17_000_000_000_000_000 + n
    )
}

fn ok(body: Vec<u8>) -> Reply {
    Reply::Full {
        status: 200,
        headers: Vec::new(),
        body,
    }
}

struct Subscriber {
    pubnub: PubNub,
    statuses: StatusStream,
    messages: UpdateStream<Message>,
    undecodable: UpdateStream<UndecodableEvent>,
    _subscription: pubnub_engine::Subscription,
}

/// A subscriber of `room` on `server`, which answers the handshake and then `replies`, then
/// holds every long-poll.
async fn subscriber(server: &TestServer, replies: Vec<Reply>) -> Subscriber {
    server.fallback(Reply::Hang);
    server.push(ok(HANDSHAKE.as_bytes().to_vec()));
    for reply in replies {
        server.push(reply);
    }
    let pubnub = server
        .builder()
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(10),
            max_retries: 100,
        }))
        .retry_jitter(Jitter::off())
        .long_poll_liveness(None)
        .build_client()
        .unwrap();
    let mut statuses = pubnub.status_stream();
    let subscription = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let messages = subscription.message_stream();
    let undecodable = subscription.undecodable_stream();
    subscription.subscribe().unwrap();
    let connected = within(statuses.next()).await.unwrap();
    assert_eq!(connected.category, StatusCategory::Connected);
    Subscriber {
        pubnub,
        statuses,
        messages,
        undecodable,
        _subscription: subscription,
    }
}

async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("within 10 s")
}

impl Subscriber {
    async fn numbers(&mut self, count: usize) -> Vec<u64> {
        let mut out = Vec::new();
        for _ in 0..count {
            let m = within(self.messages.next()).await.unwrap();
            out.push(m.message["n"].as_u64().unwrap());
        }
        out
    }

    /// Nothing more arrives for a little while.
    async fn nothing_more(&mut self) {
        let quiet = tokio::time::timeout(Duration::from_millis(200), self.messages.next()).await;
        assert!(quiet.is_err(), "a duplicate: {quiet:?}");
    }
}

/// The answer fails the request: reported with `kind`, retried, and the next answer delivers.
async fn fails_then_recovers(bad: Reply, kind: fn(ErrorKind) -> bool) {
    let server = TestServer::start().await;
    // After the failure, a handshake proves the server answers, then the long-poll delivers.
    let probe = ok(HANDSHAKE.as_bytes().to_vec());
    let good = ok(answer(17_000_000_000_000_010, &[&message(1, r#"{"n":1}"#)]));
    let mut s = subscriber(&server, vec![bad, probe, good]).await;
    let status = within(s.statuses.next()).await.unwrap();
    assert_eq!(
        status.category.story(),
        StatusCategory::UnexpectedDisconnect
    );
    let error = status.error.expect("a reason");
    assert!(kind(error.kind), "{error:?}");
    let status = within(s.statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Reconnected);
    assert_eq!(s.numbers(1).await, [1]);
    s.nothing_more().await;
    s.pubnub.close().await;
}

#[tokio::test]
async fn a_body_that_never_ends_is_cut_at_the_limit() {
    fails_then_recovers(Reply::Endless, |k| k == ErrorKind::ResponseTooLarge).await;
}

#[tokio::test]
async fn a_gzip_bomb_is_cut_at_the_limit_after_inflating() {
    let bomb = gzip_bomb(64 << 20);
    assert!(bomb.len() < (1 << 20), "{} bytes", bomb.len());
    let reply = ok(bomb).header("Content-Encoding", "gzip");
    fails_then_recovers(reply, |k| k == ErrorKind::ResponseTooLarge).await;
}

#[tokio::test]
async fn html_with_status_200_is_an_undecodable_answer() {
    let html = b"<html><body>Welcome to the captive portal</body></html>".to_vec();
    fails_then_recovers(ok(html), |k| k == ErrorKind::Decode).await;
}

#[tokio::test]
async fn a_chunked_body_cut_in_the_middle_fails_the_request() {
    let body = String::from_utf8(answer(17_000_000_000_000_005, &[&message(9, "9")])).unwrap();
    let half = &body[..body.len() / 2];
    let raw = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{half}\r\n",
        half.len()
    );
    fails_then_recovers(Reply::Raw(raw.into_bytes()), |k| {
        matches!(k, ErrorKind::Network | ErrorKind::Decode)
    })
    .await;
}

/// One bad envelope among good ones: an error event in its place, the others delivered once,
/// no failure status, and the next long-poll starts past the answer.
async fn one_bad_envelope(body: Vec<u8>, reason: &str) -> UndecodableEvent {
    let server = TestServer::start().await;
    let mut s = subscriber(&server, vec![ok(body)]).await;
    assert_eq!(s.numbers(2).await, [1, 3]);
    let event = within(s.undecodable.next()).await.unwrap();
    assert!(event.reason.contains(reason), "{event:?}");
    assert_eq!(s.pubnub.undecodable_events(), 1);
    s.nothing_more().await;
    assert!(
        tokio::time::timeout(Duration::from_millis(100), s.statuses.next())
            .await
            .is_err(),
        "no status: the answer did not fail"
    );
    let polls: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.param("tt"))
        .collect();
    assert_eq!(polls, ["0", "17000000000000000", "17000000000000030"]);
    s.pubnub.close().await;
    event
}

#[tokio::test]
async fn invalid_utf8_in_one_of_three_envelopes() {
    let mut body = answer(
        17_000_000_000_000_030,
        &[&message(1, r#"{"n":1}"#), "BAD", &message(3, r#"{"n":3}"#)],
    );
    let bad = message(2, "\"caf\u{1}\"").into_bytes();
    let at = body.windows(3).position(|w| w == b"BAD").unwrap();
    let mut bad = bad;
    // The 0x01 becomes two bytes that are not UTF-8.
    let control = bad.iter().position(|b| *b == 1).unwrap();
    bad.splice(control..=control, [0xc3, 0x28]);
    body.splice(at..at + 3, bad);
    let event = one_bad_envelope(body, "invalid UTF-8").await;
    assert_eq!(event.channel, "room");
    assert_eq!(event.timetoken, 17_000_000_000_000_002);
    assert_eq!(event.publisher.as_deref(), Some("alice"));
    assert!(event.raw.contains("caf\u{fffd}("), "{}", event.raw);
}

#[tokio::test]
async fn a_lone_surrogate_is_an_error_event() {
    let body = answer(
        17_000_000_000_000_030,
        &[
            &message(1, r#"{"n":1}"#),
            &message(2, r#""cut in an emoji \ud83d""#),
            &message(3, r#"{"n":3}"#),
        ],
    );
    let event = one_bad_envelope(body, "escape").await;
    assert!(event.raw.contains(r"\ud83d"), "{}", event.raw);
}

#[tokio::test]
async fn a_number_out_of_range_is_an_error_event() {
    let body = answer(
        17_000_000_000_000_030,
        &[
            &message(1, r#"{"n":1}"#),
            &message(2, r#"{"n":1e400}"#),
            &message(3, r#"{"n":3}"#),
        ],
    );
    let event = one_bad_envelope(body, "out of range").await;
    assert_eq!(event.timetoken, 17_000_000_000_000_002);
}

/// A publish against `reply` fails with an error of `kind`.
async fn publish_fails(reply: Reply, kind: ErrorKind) -> pubnub_engine::Error {
    let server = TestServer::start().await;
    server.push(reply);
    let pubnub = server.client();
    let error = pubnub
        .publish()
        .channel("room")
        .message(&"hi")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), kind, "{error}");
    error
}

#[tokio::test]
async fn a_publish_answer_that_is_not_the_services_is_a_decode_error() {
    let error = publish_fails(ok(b"[1,1,1]".to_vec()), ErrorKind::Decode).await;
    assert!(error.to_string().contains("[1,1,1]"), "{error}");
    publish_fails(ok(b"<html>OK</html>".to_vec()), ErrorKind::Decode).await;
    publish_fails(ok(br#"[1,"Sent","1"]"#.to_vec()), ErrorKind::Decode).await;
}

#[tokio::test]
async fn endless_and_bomb_publish_answers_are_cut_at_the_limit() {
    publish_fails(Reply::Endless, ErrorKind::ResponseTooLarge).await;
    let bomb = ok(gzip_bomb(64 << 20)).header("Content-Encoding", "gzip");
    publish_fails(bomb, ErrorKind::ResponseTooLarge).await;
}

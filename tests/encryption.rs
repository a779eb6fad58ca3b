//! Message encryption end to end (issue 17), against an in-process `pubnub-local`: publish →
//! subscribe with each cryptor, clients of either module reading each other, `meta` left in
//! the clear for filters, and every bad input delivered with its typed decryption error while
//! the good messages around it arrive. (Known vectors are unit tests in `src/crypto/`; the
//! Python SDK's side is `tests/python_interop.rs`.)

mod support;

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use pubnub_engine::{
    CryptoModule, ErrorKind, Message, PubNub, ReliablePublisherOptions, RetryConfig, RetryPolicy,
    StatusCategory, StatusStream, Subscription, SubscriptionOptions, UpdateStream,
};
use pubnub_local::{Endpoint, Fault, ServerHandle};
use serde_json::{json, Value};

use support::local::{client, client_with, server, within};
use support::{Reply, TestServer};

const KEY: &str = "the-cipher-key";

fn modules() -> [(&'static str, CryptoModule); 3] {
    [
        ("aes-cbc", CryptoModule::aes_cbc(KEY).unwrap()),
        (
            "legacy, random IV",
            CryptoModule::legacy(KEY, true).unwrap(),
        ),
        (
            "legacy, constant IV",
            CryptoModule::legacy(KEY, false).unwrap(),
        ),
    ]
}

/// A client of `server` that encrypts with `crypto`.
fn encrypting(server: &ServerHandle, user: &str, crypto: &CryptoModule) -> PubNub {
    let crypto = crypto.clone();
    client_with(server, user, move |b| b.crypto_module(crypto))
}

struct Subscriber {
    pubnub: PubNub,
    statuses: StatusStream,
    messages: UpdateStream<Message>,
    subscription: Subscription,
}

/// `pubnub` subscribed to `channel`, connected.
async fn subscribed(pubnub: PubNub, channel: &str) -> Subscriber {
    let mut statuses = pubnub.status_stream();
    let subscription = pubnub
        .channel(channel)
        .subscription(SubscriptionOptions::new());
    let messages = subscription.message_stream();
    subscription.subscribe().unwrap();
    let status = within(statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Connected);
    Subscriber {
        pubnub,
        statuses,
        messages,
        subscription,
    }
}

impl Subscriber {
    async fn next(&mut self) -> Message {
        within(self.messages.next()).await.expect("stream open")
    }

    /// No status since `Connected`: nothing failed the subscribe loop. The last message was
    /// delivered after any status its answer could have caused, so nothing is waited for.
    fn no_status_since_connected(&mut self) {
        let status = self.statuses.next().now_or_never();
        assert!(status.is_none(), "{status:?}");
    }
}

#[tokio::test]
async fn each_cryptor_publishes_and_receives_through_pubnub_local() {
    let server = server().await;
    let message = json!({"text": "secret text ✓ \"quoted\"", "n": [1, 2.5, null], "ok": true});
    for (name, crypto) in modules() {
        let channel = format!("room-{}", name.replace([' ', ','], "-"));
        let mut reader = subscribed(encrypting(&server, "reader", &crypto), &channel).await;
        let writer = encrypting(&server, "writer", &crypto);
        writer
            .publish()
            .channel(&channel)
            .message(&message)
            .meta(&json!({"lang": "en"}))
            .await
            .unwrap();
        writer
            .publish()
            .channel(&channel)
            .message(&message)
            .use_post(true)
            .await
            .unwrap();
        writer.fire().channel(&channel).message(&1).await.unwrap();
        writer
            .signal()
            .channel(&channel)
            .message(&"typing")
            .await
            .unwrap();
        for _ in 0..2 {
            let received = reader.next().await;
            assert_eq!(received.message, message, "{name}");
            assert_eq!(received.error, None, "{name}");
            assert_eq!(received.publisher.as_deref(), Some("writer"));
        }
        reader.no_status_since_connected();

        // What the server saw: the payloads as base64 strings, `meta` and the signal in clear.
        let sent: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.path.contains(&format!("/0/{channel}/0")))
            .collect();
        assert_eq!(sent.len(), 4, "{name}");
        let payload = |n: usize| match sent[n].body.is_empty() {
            true => sent[n].path_segments().pop().unwrap(),
            false => String::from_utf8(sent[n].body.clone()).unwrap(),
        };
        for n in 0..3 {
            let base64: String = serde_json::from_str(&payload(n)).expect("a JSON string");
            assert!(!base64.contains("secret"), "{name}: {base64}");
            assert!(crypto.decrypt_string(&base64).is_ok(), "{name}: {base64}");
        }
        assert_eq!(
            sent[0].query_param("meta").as_deref(),
            Some(r#"{"lang":"en"}"#)
        );
        assert_eq!(payload(3), r#""typing""#);
        drop(reader.subscription);
        reader.pubnub.close().await;
        writer.close().await;
    }
}

#[tokio::test]
async fn either_module_reads_what_the_other_sends() {
    let server = server().await;
    let aes_cbc = CryptoModule::aes_cbc(KEY).unwrap();
    let legacy = CryptoModule::legacy(KEY, true).unwrap();
    let mut new_reader = subscribed(encrypting(&server, "new", &aes_cbc), "mixed").await;
    let mut old_reader = subscribed(encrypting(&server, "old", &legacy), "mixed").await;
    for (n, crypto) in [&aes_cbc, &legacy].into_iter().enumerate() {
        let writer = encrypting(&server, "writer", crypto);
        writer
            .publish()
            .channel("mixed")
            .message(&json!({"n": n}))
            .await
            .unwrap();
        writer.close().await;
    }
    for reader in [&mut new_reader, &mut old_reader] {
        for n in 0..2 {
            let received = reader.next().await;
            assert_eq!(
                (received.message, received.error),
                (json!({"n": n}).into(), None)
            );
        }
    }
    new_reader.pubnub.close().await;
    old_reader.pubnub.close().await;
}

#[tokio::test]
async fn meta_stays_in_the_clear_so_filters_still_work() {
    let server = server().await;
    let crypto = CryptoModule::aes_cbc(KEY).unwrap();
    let filtered = client_with(&server, "reader", {
        let crypto = crypto.clone();
        move |b| b.crypto_module(crypto).filter_expression("lang == 'en'")
    });
    let mut reader = subscribed(filtered, "filtered").await;
    let writer = encrypting(&server, "writer", &crypto);
    for (lang, text) in [("fr", "bonjour"), ("en", "hello")] {
        writer
            .publish()
            .channel("filtered")
            .message(&text)
            .meta(&json!({ "lang": lang }))
            .await
            .unwrap();
    }
    let received = reader.next().await;
    assert_eq!(
        (received.message, received.error),
        (json!("hello").into(), None)
    );
    assert_eq!(received.meta, Some(json!({"lang": "en"})));
    reader.pubnub.close().await;
    writer.close().await;
}

/// The reliable publisher encrypts once per message: every attempt carries the same
/// ciphertext and the same de-duplication mark (in `meta`, in the clear), so a retried message
/// still arrives once, decrypted.
#[tokio::test]
async fn the_reliable_publisher_encrypts_and_duplicates_are_still_dropped() {
    let server = server().await;
    let crypto = CryptoModule::aes_cbc(KEY).unwrap();
    let reader = encrypting(&server, "reader", &crypto);
    let mut statuses = reader.status_stream();
    let subscription = reader
        .channel("reliable")
        .subscription(SubscriptionOptions::new().deduplicate(100));
    let mut messages = subscription.message_stream();
    subscription.subscribe().unwrap();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::Connected
    );
    let writer = encrypting(&server, "writer", &crypto);
    let publisher =
        writer.reliable_publisher(ReliablePublisherOptions::new().no_rate_limit().retry(
            RetryConfig::new(RetryPolicy::Linear {
                delay: Duration::from_millis(10),
                max_retries: 5,
            }),
        ));
    // The first attempt is stored, but its answer is lost: the retry stores it again.
    server
        .faults()
        .inject(Fault::store_then_fail(500).on(Endpoint::Publish));
    within(publisher.send("reliable", &json!({"n": 1})))
        .await
        .unwrap();
    within(publisher.send("reliable", &json!({"n": 2})))
        .await
        .unwrap();
    let attempts: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/0/reliable/0/"))
        .collect();
    assert_eq!(attempts.len(), 3, "one retry");
    assert_eq!(attempts[0].path, attempts[1].path, "the same ciphertext");
    assert_eq!(
        attempts[0].query_param("meta"),
        attempts[1].query_param("meta")
    );
    for n in 1..=2 {
        let m = within(messages.next()).await.unwrap();
        assert_eq!((m.message, m.error), (json!({ "n": n }).into(), None));
    }
    publisher.close().await;
    writer.close().await;
    reader.close().await;
}

/// Every bad input of the issue, published raw by a client without a module between good
/// encrypted messages: each arrives with its payload as sent and a typed decryption error, in
/// order, the good ones decrypted, and the subscribe loop never fails.
#[tokio::test]
async fn bad_messages_arrive_flagged_between_good_ones() {
    let server = server().await;
    let crypto = CryptoModule::aes_cbc(KEY).unwrap();
    let mut reader = subscribed(encrypting(&server, "reader", &crypto), "hostile").await;
    let raw = client(&server);
    let good = |n: u64| {
        Value::String(
            crypto
                .encrypt_string(&json!({ "n": n }).to_string())
                .unwrap(),
        )
    };
    let wrong_key = CryptoModule::aes_cbc("another key").unwrap();
    let truncated = {
        let full = crypto.encrypt_string(r#"{"n":99}"#).unwrap();
        full[..full.len() - 8].to_string()
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!("this is not base64!"), "not base64"),
        // PNED, version 1, an unknown cryptor "XYZW", no cryptor data, one block.
        (
            json!("UE5FRAFYWVpXAAAAAAAAAAAAAAAAAAAAAAA="),
            "unknown cryptor \"XYZW\"",
        ),
        // PNED, version 7.
        (
            json!("UE5FRAdBQ1JIEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "version 7",
        ),
        (Value::String(truncated), "truncated"),
        (
            Value::String(wrong_key.encrypt_string(r#"{"n":99}"#).unwrap()),
            "wrong cipher key",
        ),
        (json!({"text": "a plain message"}), "not encrypted"),
        (json!("plain text"), "not base64"),
    ];
    let mut n = 0;
    raw.publish()
        .channel("hostile")
        .message(&good(n))
        .await
        .unwrap();
    for (payload, _) in &cases {
        raw.publish()
            .channel("hostile")
            .message(payload)
            .await
            .unwrap();
        n += 1;
        raw.publish()
            .channel("hostile")
            .message(&good(n))
            .await
            .unwrap();
    }
    let first = reader.next().await;
    assert_eq!((first.message, first.error), (json!({"n": 0}).into(), None));
    for (i, (payload, why)) in cases.iter().enumerate() {
        let bad = reader.next().await;
        let error = bad
            .error
            .unwrap_or_else(|| panic!("{payload} was not flagged"));
        assert_eq!(error.kind, ErrorKind::Decryption, "{payload}");
        assert!(error.message.contains(why), "{payload}: {error}");
        assert_eq!(&bad.message, payload, "delivered as received");
        let next = reader.next().await;
        let expected = json!({"n": i + 1});
        assert_eq!((next.message, next.error), (expected.into(), None));
    }
    reader.no_status_since_connected();
    reader.pubnub.close().await;
    raw.close().await;
}

/// One subscribe answer mixing kinds, from a scripted server (pubnub-local has no message
/// actions): signals and message actions are never decrypted nor flagged.
#[tokio::test]
async fn signals_and_message_actions_are_never_flagged() {
    let crypto = CryptoModule::aes_cbc(KEY).unwrap();
    let envelope = |n: u64, extra: &str, data: &str| {
        format!(
            r#"{{"a":"1","f":0,"i":"alice","p":{{"t":"{}","r":1}},"k":"sub-key","c":"room","d":{data}{extra}}}"#,
            17_000_000_000_000_000 + n
        )
    };
    let encrypted = Value::String(crypto.encrypt_string(r#"{"text":"hi"}"#).unwrap()).to_string();
    let action = r#"{"source":"actions","version":"1.0","event":"added","data":{"messageTimetoken":"17000000000000001","actionTimetoken":"17000000000000004","type":"reaction","value":"smile"}}"#;
    let answer = format!(
        r#"{{"t":{{"t":"17000000000000010","r":1}},"m":[{}]}}"#,
        [
            envelope(1, "", &encrypted),
            envelope(2, r#","e":1"#, r#""typing""#),
            envelope(3, r#","e":1"#, &encrypted),
            envelope(4, r#","e":3"#, action),
            envelope(5, "", r#""UE5FRAFBQ1JIEAAA""#),
        ]
        .join(",")
    );
    let server = TestServer::start().await;
    server.fallback(Reply::Hang);
    server.push(Reply::json(
        200,
        r#"{"t":{"t":"17000000000000000","r":1},"m":[]}"#,
    ));
    server.push(Reply::json(200, &answer));
    // The scripted server hangs on anything unscripted, the leave too: none is sent.
    let pubnub = server
        .builder()
        .crypto_module(crypto)
        .suppress_leave_events(true)
        .build_client()
        .unwrap();
    let subscription = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let mut messages = subscription.message_stream();
    let mut signals = subscription.signal_stream();
    let mut actions = subscription.message_action_stream();
    subscription.subscribe().unwrap();

    let hi = within(messages.next()).await.unwrap();
    assert_eq!((hi.message, hi.error), (json!({"text": "hi"}).into(), None));
    let truncated = within(messages.next()).await.unwrap();
    assert_eq!(truncated.error.map(|e| e.kind), Some(ErrorKind::Decryption));
    // Signals arrive as sent, even one that happens to look encrypted.
    assert_eq!(within(signals.next()).await.unwrap().message, "typing");
    let odd = within(signals.next()).await.unwrap();
    assert_eq!(odd.message.to_string(), encrypted);
    let action = within(actions.next()).await.unwrap();
    assert_eq!(
        (action.action_type.as_str(), action.value.as_str()),
        ("reaction", "smile")
    );
    pubnub.close().await;
}

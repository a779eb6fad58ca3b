//! The end-to-end path once more, with a secret key on both sides: `pubnub-local` started with
//! `secret_key` checks the timestamp and signature of every request the service checks (all
//! but `/time/0`, v1 for a POST to `/publish`, v2 for the rest), so each request kind below is
//! signed by the SDK and verified for real. A client with another secret key, or none, is
//! refused as the service refuses it: `403`, `AccessDenied`.
//!
//! Both signers are held to PubNub's Python SDK separately (`pubnub-local/interop/
//! signatures.json`); this test proves they agree with each other on live requests, whose
//! queries carry random request ids and real timestamps.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{ErrorKind, PubNub, StatusCategory, SubscriptionOptions};
use pubnub_local::{RecordedRequest, Server, ServerHandle};
use serde_json::json;

use support::local::{client_with, within};

const SECRET: &str = "sec-c-signed-e2e";

async fn signed_server() -> ServerHandle {
    Server::builder()
        .hold(Duration::from_secs(2))
        .record_requests(true)
        .secret_key(SECRET)
        .publish_key("pub-key")
        .start()
        .await
        .expect("pubnub-local starts")
}

fn signed_client(server: &ServerHandle, user: &str) -> PubNub {
    client_with(server, user, |b| b.secret_key(SECRET))
}

fn is_signed(request: &RecordedRequest) -> bool {
    request.query_param("timestamp").is_some() && request.query_param("signature").is_some()
}

#[tokio::test]
async fn every_request_kind_is_signed_and_accepted() {
    let server = signed_server().await;
    let alice = signed_client(&server, "alice");
    let bob = signed_client(&server, "bob");

    // Time needs no signature, but a signed one is answered too.
    assert_eq!(alice.time().await.unwrap().to_string().len(), 17);

    // Subscribe (handshake, then long-polls) with presence, and receive what is published.
    let sub = alice
        .channel("room")
        .subscription(SubscriptionOptions::new().with_presence());
    let mut messages = sub.message_stream();
    let mut signals = sub.signal_stream();
    let mut statuses = alice.status_stream();
    sub.subscribe().unwrap();
    let status = within(statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Connected, "{status:?}");

    let get = bob
        .publish()
        .channel("room")
        .message(&json!({"text": "a&b=c ü", "n": 1}))
        .meta(&json!({"lang": "en"}))
        .custom_message_type("chat-msg")
        .should_store(true)
        .ttl(2)
        .await
        .expect("signed GET publish");
    let post = bob
        .publish()
        .channel("room")
        .message(&"over POST (v1)")
        .meta(&json!({"k": "v"}))
        .use_post(true)
        .await
        .expect("signed POST publish");
    bob.fire()
        .channel("room")
        .message(&"fired")
        .await
        .expect("signed fire");
    bob.fire()
        .channel("room")
        .message(&"fired over POST")
        .use_post(true)
        .await
        .expect("signed POST fire");
    bob.signal()
        .channel("room")
        .message(&"typing")
        .await
        .expect("signed signal");
    let first = within(messages.next()).await.unwrap();
    assert_eq!(first.timetoken, get.timetoken);
    assert_eq!(first.message, json!({"text": "a&b=c ü", "n": 1}));
    let second = within(messages.next()).await.unwrap();
    assert_eq!(second.timetoken, post.timetoken);
    assert_eq!(second.message, json!("over POST (v1)"));
    assert_eq!(
        within(signals.next()).await.unwrap().message,
        json!("typing")
    );

    // Presence REST.
    bob.heartbeat()
        .channels(["room", "hall"])
        .await
        .expect("signed heartbeat");
    let here = bob.here_now().channels(["room"]).await.expect("here_now");
    assert_eq!(here.total_occupancy, 2);
    let mut rooms = bob.where_now().await.expect("where_now").channels;
    rooms.sort();
    assert_eq!(rooms, ["hall", "room"]);
    let state = json!({"mood": "signed & sealed", "n": 1.5});
    bob.set_state()
        .channels(["room"])
        .state(&state)
        .await
        .expect("set_state");
    let got = alice
        .get_state()
        .channels(["room"])
        .user_id("bob")
        .await
        .expect("get_state");
    assert_eq!(got.channels.get("room"), Some(&state));
    bob.leave().channels(["hall"]).await.expect("signed leave");

    // Channel groups.
    bob.add_channel_to_channel_group()
        .channel_group("family")
        .channels(["news", "日本"])
        .await
        .expect("cg add");
    bob.remove_channel_from_channel_group()
        .channel_group("family")
        .channels(["news"])
        .await
        .expect("cg remove");
    let channels = bob
        .list_channels_in_channel_group()
        .channel_group("family")
        .await
        .expect("cg list");
    assert_eq!(channels, ["日本"]);
    assert_eq!(
        bob.list_channel_groups().await.expect("cg list groups"),
        ["family"]
    );
    bob.remove_channel_group()
        .channel_group("family")
        .await
        .expect("cg delete");

    // A subscription to a group, signed with `channel-group` in the query.
    let group = bob
        .channel_group("family")
        .subscription(SubscriptionOptions::new());
    let mut bob_statuses = bob.status_stream();
    group.subscribe().unwrap();
    let status = within(bob_statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Connected, "{status:?}");

    alice.close().await;
    bob.close().await;

    // Every request but time carried a timestamp and a signature, and the server accepted each
    // (a refused one would have failed its call above); POST publishes were signed v1.
    let requests = server.requests();
    for request in requests.iter().filter(|r| r.path != "/time/0") {
        assert!(is_signed(request), "unsigned: {request:?}");
        let signature = request.query_param("signature").unwrap();
        if request.method == "POST" {
            assert!(
                !signature.starts_with("v2."),
                "POST publish is v1: {request:?}"
            );
        } else {
            assert!(signature.starts_with("v2."), "{request:?}");
        }
    }
    let kinds = |prefix: &str| {
        requests
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .count()
    };
    assert_eq!(
        requests.iter().filter(|r| r.method == "POST").count(),
        2,
        "POST publish and POST fire"
    );
    assert!(kinds("/v2/subscribe/") >= 3, "handshakes and long-polls");
    assert!(requests.iter().any(|r| r.path.ends_with("/leave")), "leave");
    assert!(
        requests.iter().any(|r| r.path.ends_with("/heartbeat")),
        "heartbeat"
    );
    assert_eq!(kinds("/v1/channel-registration/"), 5);
}

#[tokio::test]
async fn another_secret_key_or_none_is_access_denied() {
    let server = signed_server().await;
    for (who, pubnub) in [
        (
            "wrong secret",
            client_with(&server, "mallory", |b| b.secret_key("sec-c-wrong")),
        ),
        ("no secret", client_with(&server, "eve", |b| b)),
    ] {
        let error = pubnub
            .publish()
            .channel("room")
            .message(&1)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AccessDenied, "{who}: {error}");
        assert_eq!(error.status(), Some(403), "{who}");
        let error = pubnub
            .publish()
            .channel("room")
            .message(&1)
            .use_post(true)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AccessDenied, "{who}: POST {error}");
        let error = pubnub.here_now().channels(["room"]).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AccessDenied, "{who}: {error}");
        let error = pubnub.list_channel_groups().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AccessDenied, "{who}: {error}");

        // The handshake is refused and not retried (403 is not transient).
        let mut statuses = pubnub.status_stream();
        let sub = pubnub
            .channel("room")
            .subscription(SubscriptionOptions::new());
        sub.subscribe().unwrap();
        let status = within(statuses.next()).await.unwrap();
        assert_eq!(status.category, StatusCategory::AccessDenied, "{who}");
        assert_eq!(status.category.story(), StatusCategory::ConnectionError);
        assert_eq!(
            status.error_category(),
            Some(StatusCategory::AccessDenied),
            "{who}"
        );
        // Time is answered without keys, whatever the signature.
        assert_eq!(pubnub.time().await.unwrap().to_string().len(), 17);
        pubnub.close().await;
    }
}

#[tokio::test]
async fn a_long_message_goes_by_post_signed_and_arrives_whole() {
    let server = signed_server().await;
    let alice = signed_client(&server, "alice");
    let sub = alice
        .channel("large")
        .subscription(SubscriptionOptions::new());
    let mut messages = sub.message_stream();
    let mut statuses = alice.status_stream();
    sub.subscribe().unwrap();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::Connected
    );

    // 30 KiB with punctuation: over GET its escaped form would pass the 32 KiB limit.
    let text: String = "a, b; c/d? ".repeat(2_800);
    let message = json!({ "text": text });
    let short = json!({ "text": "short" });
    let sent = alice
        .publish()
        .channel("large")
        .message(&message)
        .await
        .expect("a long message is sent as a body");
    alice
        .publish()
        .channel("large")
        .message(&short)
        .await
        .unwrap();
    let compressed = alice
        .publish()
        .channel("large")
        .message(&message)
        .should_compress(true)
        .await
        .expect("a compressed body is inflated by the server");
    let received = within(messages.next()).await.unwrap();
    assert_eq!(received.timetoken, sent.timetoken);
    assert_eq!(received.message, message);
    assert_eq!(within(messages.next()).await.unwrap().message, short);
    let received = within(messages.next()).await.unwrap();
    assert_eq!(received.timetoken, compressed.timetoken);
    assert_eq!(received.message, message);

    let publishes: Vec<RecordedRequest> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/publish/"))
        .collect();
    assert_eq!(publishes.len(), 3);
    assert_eq!(publishes[0].method, "POST", "the long one in a body");
    assert_eq!(publishes[1].method, "GET", "the short one in the URL");
    assert_eq!(publishes[2].method, "POST");
    assert!(
        publishes[2].body.len() < publishes[0].body.len() / 4,
        "compressed: {} bytes",
        publishes[2].body.len()
    );
    assert!(publishes.iter().all(is_signed));
    alice.close().await;
}

//! The Python docs' snippets, translated line by line, do what the docs say (issue 16):
//! subscriptions live until unsubscribed, a catch-up belongs to one subscription,
//! `reconnect_from` restarts a receiving loop, sets from names.

mod support;

use futures_util::StreamExt;
use pubnub_engine::{
    ErrorKind, Listener, Message, PubNub, StatusCategory, SubscriptionOptions, UpdateStream,
};
use serde_json::{json, Value};

use support::local::{client, server, within};

/// Publishes `message` on `channel` and returns its timetoken.
async fn publish(pubnub: &PubNub, channel: &str, message: Value) -> u64 {
    pubnub
        .publish()
        .channel(channel)
        .message(&message)
        .await
        .unwrap()
        .timetoken
}

/// Waits for the next status, which must be `category`.
async fn expect_status(statuses: &mut pubnub_engine::StatusStream, category: StatusCategory) {
    let status = within(statuses.next()).await.unwrap();
    assert_eq!(status.category, category, "{status:?}");
}

/// The payloads of `stream` up to the `"end"` marker (excluded).
async fn until_end(stream: &mut UpdateStream<Message>) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let message = within(stream.next()).await.expect("stream open");
        if message.message == json!("end") {
            return seen;
        }
        seen.push(message.message.json_value());
    }
}

trait JsonValue {
    fn json_value(&self) -> Value;
}

impl JsonValue for pubnub_engine::Payload {
    fn json_value(&self) -> Value {
        serde_json::from_str(self.json()).unwrap()
    }
}

/// `pubnub.channel("room").subscription(...).subscribe()` with a client-level listener, as in
/// the docs: the temporary subscription is dropped at the end of the statement and keeps
/// receiving.
#[tokio::test]
async fn the_one_liner_subscribe_receives_every_message() {
    let server = server().await;
    let pubnub = client(&server);
    let (sink, mut received) = tokio::sync::mpsc::unbounded_channel();
    pubnub.add_listener(Listener::new().on_message(move |m| {
        let _ = sink.send(m.message.json_value());
    }));
    let mut statuses = pubnub.status_stream();
    pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new())
        .subscribe()
        .unwrap();
    expect_status(&mut statuses, StatusCategory::Connected).await;
    for i in 0..3 {
        publish(&pubnub, "room", json!(i)).await;
    }
    for i in 0..3 {
        assert_eq!(within(received.recv()).await, Some(json!(i)));
    }
    // It lives until unsubscribed: unsubscribe_all ends it.
    assert_eq!(pubnub_engine::testing::registry_size(&pubnub).0, 1);
    pubnub.unsubscribe_all();
    assert_eq!(pubnub_engine::testing::registry_size(&pubnub).0, 0);
}

/// A callback that captures its own subscription keeps no client alive: dropping the client
/// ends every task, and the subscription then refuses to subscribe.
#[tokio::test]
async fn a_callback_holding_its_subscription_does_not_keep_the_client() {
    let server = server().await;
    let pubnub = client(&server);
    let sub = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let me = sub.clone();
    sub.on_message(move |_| me.unsubscribe());
    sub.subscribe().unwrap();
    let tracker = pubnub_engine::testing::task_tracker(&pubnub);
    drop(pubnub);
    within(tracker.wait()).await;
    assert!(!sub.is_subscribed());
    assert_eq!(sub.subscribe().unwrap_err().kind(), ErrorKind::Closed);
}

/// The scoped form: the guard unsubscribes when dropped.
#[tokio::test]
async fn a_scoped_subscription_ends_with_its_guard() {
    let server = server().await;
    let pubnub = client(&server);
    let sub = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    {
        let _guard = sub.subscribe_scoped().unwrap();
        assert!(sub.is_subscribed());
    }
    assert!(!sub.is_subscribed());
    let set = pubnub.subscription_set_of(["a", "b"], ["g"], SubscriptionOptions::new());
    let guard = set.subscribe_scoped().unwrap();
    assert_eq!(pubnub_engine::testing::registry_size(&pubnub), (4, 3));
    guard.unsubscribe();
    assert_eq!(pubnub_engine::testing::registry_size(&pubnub), (0, 0));
}

/// Subscription A has a1..a3; B then subscribes with a catch-up timetoken from before them.
/// B receives its own channel's messages since then (and, on the shared channel, since then),
/// A receives nothing twice, and the client-level listener receives each message once.
#[tokio::test]
async fn a_catch_up_belongs_to_its_subscription() {
    let server = server().await;
    let pubnub = client(&server);
    let before = pubnub.time().await.unwrap();
    let publisher = support::local::client_with(&server, "publisher", |b| b);
    // Published before anyone subscribed: only a catch-up can deliver these.
    publish(&publisher, "b-room", json!("b0")).await;
    publish(&publisher, "shared", json!("s0")).await;

    let (sink, mut everything) = tokio::sync::mpsc::unbounded_channel();
    pubnub.add_listener(Listener::new().on_message(move |m| {
        let _ = sink.send(m.message.json_value());
    }));
    let mut statuses = pubnub.status_stream();
    let a = pubnub.subscription_set_of(["a-room", "shared"], [""; 0], SubscriptionOptions::new());
    let mut a_messages = a.message_stream();
    a.subscribe().unwrap();
    expect_status(&mut statuses, StatusCategory::Connected).await;
    for m in ["a1", "s1", "a2", "a3"] {
        let channel = if m.starts_with('s') {
            "shared"
        } else {
            "a-room"
        };
        publish(&publisher, channel, json!(m)).await;
    }
    for expected in ["a1", "s1", "a2", "a3"] {
        let m = within(a_messages.next()).await.unwrap();
        assert_eq!(m.message, json!(expected));
    }

    let b = pubnub.subscription_set_of(
        ["b-room", "shared"],
        [""; 0],
        SubscriptionOptions::new().timetoken(before),
    );
    let mut b_messages = b.message_stream();
    b.subscribe().unwrap();
    expect_status(&mut statuses, StatusCategory::SubscriptionChanged).await;
    publish(&publisher, "a-room", json!("a4")).await;
    publish(&publisher, "b-room", json!("b1")).await;
    for channel in ["a-room", "b-room", "shared"] {
        publish(&publisher, channel, json!("end")).await;
    }
    // Each set sees "end" once per channel: read up to the first, then the rest.
    let a_rest = until_end(&mut a_messages).await;
    assert_eq!(a_rest, [json!("a4")], "A receives nothing twice");
    let b_seen = until_end(&mut b_messages).await;
    let mut b_sorted: Vec<String> = b_seen.iter().map(|v| v.to_string()).collect();
    b_sorted.sort();
    assert_eq!(
        b_sorted,
        ["\"b0\"", "\"b1\"", "\"s0\"", "\"s1\""],
        "B receives its channels since its timetoken"
    );
    let mut all = Vec::new();
    let mut ends = 0;
    while ends < 3 {
        let value = within(everything.recv()).await.unwrap();
        if value == json!("end") {
            ends += 1;
        } else {
            all.push(value.to_string());
        }
    }
    all.sort();
    assert_eq!(
        all,
        ["\"a1\"", "\"a2\"", "\"a3\"", "\"a4\"", "\"b0\"", "\"b1\"", "\"s0\"", "\"s1\""],
        "the client-level listener receives every message once"
    );
}

/// A catch-up timetoken ahead of the loop does not move it: the subscriptions already there
/// skip nothing, and the new one receives what comes after its timetoken.
#[tokio::test]
async fn a_catch_up_from_the_future_skips_nothing_for_the_others() {
    let server = server().await;
    let pubnub = client(&server);
    let publisher = support::local::client_with(&server, "publisher", |b| b);
    let mut statuses = pubnub.status_stream();
    let a = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let mut a_messages = a.message_stream();
    a.subscribe().unwrap();
    expect_status(&mut statuses, StatusCategory::Connected).await;
    let now = pubnub.time().await.unwrap();
    let future = now + 10_000_000 * 3600; // an hour ahead
    let b = pubnub
        .channel("other")
        .subscription(SubscriptionOptions::new().timetoken(future));
    let mut b_messages = b.message_stream();
    b.subscribe().unwrap();
    expect_status(&mut statuses, StatusCategory::SubscriptionChanged).await;
    publish(&publisher, "room", json!("r1")).await;
    publish(&publisher, "other", json!("o1")).await;
    publish(&publisher, "room", json!("end")).await;
    assert_eq!(until_end(&mut a_messages).await, [json!("r1")]);
    // "o1" is older than B's timetoken: B does not receive it. It was published before A's
    // "end", so its batch was handled by the time A received "end".
    assert!(futures_util::FutureExt::now_or_never(b_messages.next()).is_none());
}

/// `reconnect_from(tt)` while receiving restarts the loop from `tt`: what the subscription was
/// never delivered since `tt` arrives, what it had does not arrive again.
#[tokio::test]
async fn reconnect_from_while_receiving_restarts_the_loop() {
    let server = server().await;
    let pubnub = client(&server);
    let publisher = support::local::client_with(&server, "publisher", |b| b);
    let before = pubnub.time().await.unwrap();
    publish(&publisher, "room", json!("missed")).await;
    let mut statuses = pubnub.status_stream();
    let sub = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let mut messages = sub.message_stream();
    sub.subscribe().unwrap();
    expect_status(&mut statuses, StatusCategory::Connected).await;
    publish(&publisher, "room", json!("live")).await;
    assert_eq!(
        within(messages.next()).await.unwrap().message,
        json!("live")
    );

    let mut trace = pubnub.trace();
    pubnub.reconnect_from(before).unwrap();
    expect_status(&mut statuses, StatusCategory::Connected).await;
    publish(&publisher, "room", json!("end")).await;
    assert_eq!(until_end(&mut messages).await, [json!("missed")]);
    let restarted = trace.drain().into_iter().any(|e| {
        e.to_string()
            .contains("Receiving --RECONNECT--> Handshaking")
    });
    assert!(restarted, "the trace shows the restart");

    // Nothing subscribed: a typed error, not a silent Ok.
    pubnub.unsubscribe_all();
    let error = pubnub.reconnect_from(before).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    assert_eq!(
        pubnub.reconnect_from(12_u64).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

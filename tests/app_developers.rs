//! What app developers trip on (issue 33): knowing when a subscription is live, one ordered
//! stream of statuses and updates, and a failure that names its cause without retries.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{
    ClientEvent, ErrorKind, RetryConfig, RetryPolicy, StatusCategory, SubscriptionOptions, Update,
};
use pubnub_local::{Endpoint, Fault};
use serde_json::json;

use support::local::{client, client_with, server, within};

#[tokio::test]
async fn subscribed_resolves_once_the_long_poll_covers_the_subscription() {
    let server = server().await;
    let pubnub = client(&server);
    let orders = pubnub
        .channel("orders")
        .subscription(SubscriptionOptions::new());
    let mut messages = orders.message_stream();
    orders.subscribe().unwrap();
    within(orders.subscribed()).await.unwrap();
    // Live: what is published now arrives.
    pubnub
        .publish()
        .channel("orders")
        .message(&"first")
        .await
        .unwrap();
    assert_eq!(
        within(messages.next()).await.unwrap().message,
        json!("first")
    );

    // Subscribing again to what is already subscribed emits no status; it is live at once.
    let again = pubnub
        .channel("orders")
        .subscription(SubscriptionOptions::new());
    again.subscribe().unwrap();
    within(again.subscribed()).await.unwrap();

    // A new channel while receiving: live once the loop's request names it.
    let set = pubnub.subscription_set_of(
        ["invoices", "orders"],
        Vec::<String>::new(),
        SubscriptionOptions::new(),
    );
    let mut set_messages = set.message_stream();
    set.subscribe().unwrap();
    within(set.subscribed()).await.unwrap();
    pubnub
        .publish()
        .channel("invoices")
        .message(&"invoice")
        .await
        .unwrap();
    assert_eq!(
        within(set_messages.next()).await.unwrap().message,
        json!("invoice")
    );

    // Disconnected: the wait fails instead of hanging.
    pubnub.disconnect();
    let late = pubnub
        .channel("late")
        .subscription(SubscriptionOptions::new());
    late.subscribe().unwrap();
    assert_eq!(
        within(late.subscribed()).await.unwrap_err().kind(),
        ErrorKind::Closed
    );
    pubnub.close().await;
    assert_eq!(
        within(orders.subscribed()).await.unwrap_err().kind(),
        ErrorKind::Closed
    );
}

#[tokio::test]
async fn subscribed_fails_with_the_reason_the_loop_stopped() {
    let server = server().await;
    let pubnub = client(&server);
    server
        .faults()
        .inject(Fault::status(403).on(Endpoint::Subscribe).times(1));
    let orders = pubnub
        .channel("orders")
        .subscription(SubscriptionOptions::new());
    orders.subscribe().unwrap();
    let error = within(orders.subscribed()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error}");
    assert_eq!(error.status(), Some(403));
    pubnub.close().await;
}

#[tokio::test]
async fn the_event_stream_keeps_statuses_and_updates_in_order() {
    let server = server().await;
    let pubnub = client(&server);
    let mut events = pubnub.event_stream();
    let feed = pubnub
        .channel("feed")
        .subscription(SubscriptionOptions::new());
    feed.subscribe().unwrap();
    feed.subscribed().await.unwrap();
    // An outage (the long-poll reset twice), messages published meanwhile, the recovery.
    server
        .faults()
        .inject(Fault::reset().on(Endpoint::LongPoll).times(2));
    server.faults().drop_long_polls();
    for i in 0..3 {
        pubnub.publish().channel("feed").message(&i).await.unwrap();
    }
    let mut seen = Vec::new();
    while seen.len() < 6 {
        match within(events.next()).await.unwrap() {
            ClientEvent::Status(status) => seen.push(format!("{:?}", status.category.story())),
            ClientEvent::Update(Update::Message(m)) => seen.push(m.message.to_string()),
            ClientEvent::Update(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            "Connected",
            "UnexpectedDisconnect",
            "Reconnected",
            "0",
            "1",
            "2"
        ],
        "the messages of the outage come after the Reconnected that ends it"
    );
    pubnub.close().await;
}

#[tokio::test]
async fn without_retries_the_first_status_names_the_cause() {
    let server = server().await;
    let pubnub = client_with(&server, "no-retries", |b| {
        b.retry(RetryConfig::new(RetryPolicy::None))
    });
    server
        .faults()
        .inject(Fault::reset().on(Endpoint::Subscribe).times(1));
    let mut statuses = pubnub.status_stream();
    let feed = pubnub
        .channel("feed")
        .subscription(SubscriptionOptions::new());
    feed.subscribe().unwrap();
    let first = within(statuses.next()).await.unwrap();
    assert_eq!(first.category, StatusCategory::NetworkIssues, "{first:?}");
    let end = within(statuses.next()).await.unwrap();
    assert_eq!(end.category, StatusCategory::ConnectionError);
    assert_eq!(end.error_category(), Some(StatusCategory::NetworkIssues));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), statuses.next())
            .await
            .is_err(),
        "nothing after the give-up"
    );
    pubnub.close().await;
}

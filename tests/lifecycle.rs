//! The client's life: panicking callbacks, streams ending on close, handles that do not keep a
//! client alive, and a client dropped outside its runtime still sending its leave.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{Listener, SubscriptionOptions};
use serde_json::json;

use support::local::{client, leaves, server, within};

#[tokio::test]
async fn a_panicking_callback_does_not_stop_delivery() {
    let server = server().await;
    let pubnub = client(&server);
    let sub = pubnub.channel("p").subscription(SubscriptionOptions::new());
    sub.on_message(|m| {
        if m.message == json!(1) {
            panic!("user bug");
        }
    });
    let mut stream = sub.message_stream();
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    for i in 1..=2 {
        pubnub.publish().channel("p").message(&i).await.unwrap();
    }
    assert_eq!(within(stream.next()).await.unwrap().message, json!(1));
    assert_eq!(
        within(stream.next()).await.unwrap().message,
        json!(2),
        "the engine survived the panic"
    );
    pubnub.close().await;
}

#[tokio::test]
async fn close_ends_every_stream() {
    let server = server().await;
    let pubnub = client(&server);
    let sub = pubnub.channel("s").subscription(SubscriptionOptions::new());
    let mut messages = sub.message_stream();
    let mut statuses = pubnub.status_stream();
    let mut trace = pubnub.trace();
    sub.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    pubnub.close().await;
    assert!(within(messages.next()).await.is_none());
    // The Disconnected status of the close, then the end.
    while within(statuses.next()).await.is_some() {}
    while within(trace.next_entry()).await.is_some() {}
    assert!(
        sub.subscribe().is_err(),
        "subscribing a closed client is an error"
    );
}

#[tokio::test]
async fn a_listener_holding_a_weak_handle_lets_the_client_go() {
    let server = server().await;
    let pubnub = client(&server);
    let weak = pubnub.downgrade();
    let upgrades = Arc::new(AtomicUsize::new(0));
    let counter = upgrades.clone();
    pubnub.add_listener(Listener::new().on_message(move |_| {
        if weak.upgrade().is_some() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let sub = pubnub.channel("w").subscription(SubscriptionOptions::new());
    let mut stream = sub.message_stream();
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    pubnub.publish().channel("w").message(&1).await.unwrap();
    within(stream.next()).await.unwrap();
    assert_eq!(upgrades.load(Ordering::SeqCst), 1);
    let weak = pubnub.downgrade();
    let tracker = pubnub_engine::testing::task_tracker(&pubnub);
    drop(sub);
    drop(pubnub);
    tracker.close();
    within(tracker.wait()).await;
    assert!(weak.upgrade().is_none(), "nothing kept the client alive");
    assert_eq!(leaves(&server, "w"), 1);
}

#[test]
fn a_client_dropped_outside_its_runtime_still_sends_the_leave() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (server, pubnub, sub, tracker) = runtime.block_on(async {
        let server = server().await;
        let pubnub = client(&server);
        let sub = pubnub
            .channel("outside")
            .subscription(SubscriptionOptions::new());
        let mut statuses = pubnub.status_stream();
        sub.subscribe().unwrap();
        within(statuses.next()).await.unwrap();
        let tracker = pubnub_engine::testing::task_tracker(&pubnub);
        (server, pubnub, sub, tracker)
    });
    // Dropped on this thread, which is not a runtime thread.
    drop(sub);
    drop(pubnub);
    runtime.block_on(async {
        tracker.close();
        tokio::time::timeout(Duration::from_secs(10), tracker.wait())
            .await
            .expect("every task ended");
        assert_eq!(leaves(&server, "outside"), 1);
    });
}

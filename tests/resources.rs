//! Bounded resources: a slow stream consumer neither grows memory nor stalls anyone else, a
//! 10,000-channel subscription set works, and subscriptions created and dropped in a loop leave
//! nothing registered. In-memory `pubnub-local` on a paused clock.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{StatusCategory, SubscriptionOptions};
use pubnub_local::Server;
use serde_json::json;

use support::memory::Memory;

/// Waits, in virtual time, until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 60 virtual seconds");
}

#[tokio::test(start_paused = true)]
async fn a_slow_stream_is_bounded_counts_its_losses_and_stalls_no_one() {
    // The publishes below run ahead of the subscriber: keep them all for catch-up.
    let memory = Memory::with_server(Server::builder().buffer_size(1000).build_in_memory());
    let pubnub = memory.client("slow");
    let slow = pubnub
        .channel("slow")
        .subscription(SubscriptionOptions::new().stream_capacity(8));
    let fast = pubnub
        .channel("fast")
        .subscription(SubscriptionOptions::new());
    // Never read: its buffer must stay at 8 however much arrives.
    let mut slow_stream = slow.message_stream();
    let mut fast_stream = fast.message_stream();
    // A callback on the slow subscription still sees everything: only its stream is bounded.
    let slow_callbacks = Arc::new(AtomicUsize::new(0));
    let counter = slow_callbacks.clone();
    slow.on_message(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let mut statuses = pubnub.status_stream();
    let both = slow.clone() + fast.clone();
    both.subscribe().unwrap();
    assert_eq!(
        statuses.next().await.unwrap().category,
        StatusCategory::Connected
    );
    for i in 0..300 {
        for channel in ["slow", "fast"] {
            pubnub.publish().channel(channel).message(&i).await.unwrap();
        }
    }
    // The fast consumer gets all 300, in order, while the slow one reads nothing.
    for i in 0..300 {
        let m = tokio::time::timeout(Duration::from_secs(60), fast_stream.next())
            .await
            .expect("the fast stream is not stalled")
            .unwrap();
        assert_eq!(m.message, json!(i));
    }
    assert_eq!(fast_stream.dropped(), 0);
    eventually("every slow callback", || {
        slow_callbacks.load(Ordering::Relaxed) == 300
    })
    .await;
    assert_eq!(
        slow_stream.dropped(),
        300 - 8,
        "overflow is counted, not silent"
    );
    // What is buffered is the oldest 8, then the stream is empty.
    for i in 0..8 {
        assert_eq!(slow_stream.next().await.unwrap().message, json!(i));
    }
    assert!(
        futures_util::FutureExt::now_or_never(slow_stream.next()).is_none(),
        "nothing beyond the capacity was kept"
    );
    // Once drained, the stream receives again.
    pubnub
        .publish()
        .channel("slow")
        .message(&"again")
        .await
        .unwrap();
    let m = tokio::time::timeout(Duration::from_secs(60), slow_stream.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.message, json!("again"));
    pubnub.close().await;
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_channels_in_one_set_then_nothing_left() {
    // ~59 KB of channel list: under http's 64 KiB URI limit, over the default 32 KiB.
    let memory = Memory::with_server(Server::builder().max_uri_len(1024 * 1024).build_in_memory());
    let pubnub = memory.client("many");
    let names: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
    let started = std::time::Instant::now();
    let set = pubnub.subscription_set(
        names
            .iter()
            .map(|n| pubnub.channel(n).subscription(SubscriptionOptions::new())),
    );
    let mut stream = set.message_stream();
    let mut statuses = pubnub.status_stream();
    set.subscribe().unwrap();
    let connected = statuses.next().await.unwrap();
    assert_eq!(connected.category, StatusCategory::Connected);
    assert_eq!(connected.channels.len(), 10_000);
    assert_eq!(
        pubnub_engine::testing::registry_size(&pubnub),
        (10_001, 10_000)
    );
    for channel in ["c0", "c4999", "c9999"] {
        pubnub
            .publish()
            .channel(channel)
            .message(&channel)
            .await
            .unwrap();
    }
    for channel in ["c0", "c4999", "c9999"] {
        let m = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.channel, channel);
    }
    let subscribe = memory
        .seen()
        .into_iter()
        .rfind(|s| s.is_subscribe())
        .unwrap();
    assert!(subscribe.uri.len() > 32 * 1024, "{}", subscribe.uri.len());
    drop(set.clone());
    assert_eq!(
        pubnub_engine::testing::registry_size(&pubnub),
        (10_001, 10_000),
        "a dropped handle does not unsubscribe"
    );
    set.unsubscribe();
    drop(set);
    assert_eq!(pubnub_engine::testing::registry_size(&pubnub), (0, 0));
    pubnub.close().await;
    assert_eq!(
        memory.seen().iter().filter(|s| s.is_leave()).count(),
        1,
        "one leave for the whole set"
    );
    // A regression guard, far above the ~1 s it takes in a debug build (it once took 15 s:
    // the set's names were a quadratic fold of unions).
    let took = started.elapsed();
    println!("10,000-channel set: {took:?} of wall time");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn a_thousand_subscriptions_unsubscribed_then_dropped_leave_nothing() {
    let memory = Memory::new();
    let pubnub = memory.client("churn");
    let keep = pubnub
        .channel("keep")
        .subscription(SubscriptionOptions::new());
    let mut keep_stream = keep.message_stream();
    keep.subscribe().unwrap();
    for i in 0..1000 {
        let channel = format!("churn-{}", i % 50);
        let sub = pubnub
            .channel(&channel)
            .subscription(SubscriptionOptions::new().with_presence());
        let _stream = sub.message_stream();
        sub.on_message(|_| {});
        // Unsubscribed explicitly, or by a scoped guard: a dropped handle alone would keep it.
        if i % 2 == 0 {
            sub.subscribe().unwrap();
            sub.unsubscribe();
        } else {
            let _guard = sub.subscribe_scoped().unwrap();
        }
        if i % 100 == 0 {
            // Let the engine run now and then, as an app would.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Dropped here.
    }
    // Only `keep` is left: its subscription and its one name.
    assert_eq!(pubnub_engine::testing::registry_size(&pubnub), (1, 1));
    let state = pubnub.subscribe_state().await.unwrap();
    let input = state.input().unwrap();
    assert_eq!(input.channels.iter().collect::<Vec<_>>(), ["keep"]);
    // And it still works.
    pubnub.publish().channel("keep").message(&1).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(60), keep_stream.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.message, json!(1));
    keep.unsubscribe();
    assert_eq!(pubnub_engine::testing::registry_size(&pubnub), (0, 0));
    pubnub.close().await;
    assert!(pubnub_engine::testing::task_tracker(&pubnub).is_empty());
    assert_eq!(memory.in_flight(), 0);
}

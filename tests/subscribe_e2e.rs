//! The whole client against `pubnub-local` over loopback: subscriptions, listeners, streams,
//! presence, catch-up, leave rules, recovery from faults, disconnect/reconnect and shutdown.
//!
//! These tests wait for events, never for time: every wait is bounded by a timeout that only
//! fires when something is broken.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{PubNub, StatusCategory, SubscriptionOptions};
use serde_json::json;

use support::local::{client, client_with, leaves, server, within};

#[tokio::test]
async fn a_published_message_reaches_listener_and_stream() {
    let server = server().await;
    let pubnub = client(&server);
    let sub = pubnub
        .channel("chat")
        .subscription(SubscriptionOptions::new());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    sub.on_message(move |m| {
        let _ = tx.send(m);
    });
    let mut stream = sub.message_stream();
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    let status = within(statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Connected);
    assert_eq!(status.channels, ["chat"]);

    let sent = pubnub
        .publish()
        .channel("chat")
        .message(&json!({"text": "hi"}))
        .meta(&json!({"lang": "en"}))
        .await
        .unwrap();
    let from_listener = within(rx.recv()).await.unwrap();
    let from_stream = within(stream.next()).await.unwrap();
    assert_eq!(from_listener, from_stream);
    assert_eq!(from_stream.timetoken, sent.timetoken);
    assert_eq!(from_stream.channel, "chat");
    assert_eq!(from_stream.subscription, "chat");
    assert_eq!(from_stream.message, json!({"text": "hi"}));
    assert_eq!(from_stream.meta, Some(json!({"lang": "en"})));
    assert_eq!(from_stream.publisher.as_deref(), Some(pubnub.user_id()));
    pubnub.close().await;
}

#[tokio::test]
async fn signals_and_presence_reach_their_own_listeners() {
    let server = server().await;
    let watcher = client_with(&server, "watcher", |b| b);
    let sub = watcher
        .channel("room")
        .subscription(SubscriptionOptions::new().with_presence());
    let mut signals = sub.signal_stream();
    let mut presence = sub.presence_stream();
    let mut statuses = watcher.status_stream();
    sub.subscribe().unwrap();
    within(statuses.next()).await.unwrap();

    let other = client_with(&server, "visitor", |b| b);
    other
        .heartbeat()
        .channels(["room"])
        .await
        .expect("heartbeat");
    loop {
        let event = within(presence.next()).await.unwrap();
        if event.user_id.as_deref() == Some("visitor") {
            assert_eq!(event.event, pubnub_engine::PresenceAction::Join);
            assert_eq!(event.channel, "room");
            assert_eq!(event.subscription, "room");
            break;
        }
    }
    other
        .signal()
        .channel("room")
        .message(&"typing")
        .await
        .unwrap();
    let signal = within(signals.next()).await.unwrap();
    assert_eq!(signal.message, json!("typing"));
    assert_eq!(signal.publisher.as_deref(), Some("visitor"));
    watcher.close().await;
}

#[tokio::test]
async fn two_subscriptions_on_one_channel_each_get_the_message_once() {
    let server = server().await;
    let pubnub = client(&server);
    let a = pubnub.channel("c").subscription(SubscriptionOptions::new());
    let b = pubnub.channel("c").subscription(SubscriptionOptions::new());
    let set =
        pubnub.subscription_set([pubnub.channel("c").subscription(SubscriptionOptions::new())]);
    let (mut sa, mut sb, mut sset) = (a.message_stream(), b.message_stream(), set.message_stream());
    let mut statuses = pubnub.status_stream();
    a.subscribe().unwrap();
    b.subscribe().unwrap();
    set.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    for i in 0..3 {
        pubnub.publish().channel("c").message(&i).await.unwrap();
    }
    for stream in [&mut sa, &mut sb, &mut sset] {
        for i in 0..3 {
            assert_eq!(within(stream.next()).await.unwrap().message, json!(i));
        }
    }
    // Nothing more arrives: one more publish is the next thing each stream sees.
    pubnub.publish().channel("c").message(&"end").await.unwrap();
    for stream in [&mut sa, &mut sb, &mut sset] {
        assert_eq!(within(stream.next()).await.unwrap().message, json!("end"));
    }
    pubnub.close().await;
}

#[tokio::test]
async fn wildcard_and_group_subscriptions_see_their_own_subscription_field() {
    let server = server().await;
    let pubnub = client(&server);
    pubnub
        .add_channel_to_channel_group()
        .channel_group("g")
        .channels(["member"])
        .await
        .unwrap();
    let wild = pubnub
        .channel("news.*")
        .subscription(SubscriptionOptions::new());
    let group = pubnub
        .channel_group("g")
        .subscription(SubscriptionOptions::new());
    let (mut sw, mut sg) = (wild.message_stream(), group.message_stream());
    let mut statuses = pubnub.status_stream();
    let set = wild.clone() + group.clone();
    set.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    pubnub
        .publish()
        .channel("news.sport")
        .message(&1)
        .await
        .unwrap();
    pubnub
        .publish()
        .channel("member")
        .message(&2)
        .await
        .unwrap();
    let w = within(sw.next()).await.unwrap();
    assert_eq!(
        (w.channel.as_str(), w.subscription.as_str()),
        ("news.sport", "news.*")
    );
    let g = within(sg.next()).await.unwrap();
    assert_eq!(
        (g.channel.as_str(), g.subscription.as_str()),
        ("member", "g")
    );
    pubnub.close().await;
}

#[tokio::test]
async fn subscribing_with_a_timetoken_catches_up() {
    let server = server().await;
    let pubnub = client(&server);
    let before = pubnub.time().await.unwrap();
    for i in 0..5 {
        pubnub
            .publish()
            .channel("history")
            .message(&i)
            .await
            .unwrap();
    }
    let sub = pubnub
        .channel("history")
        .subscription(SubscriptionOptions::new().timetoken(before));
    let mut stream = sub.message_stream();
    sub.subscribe().unwrap();
    for i in 0..5 {
        assert_eq!(within(stream.next()).await.unwrap().message, json!(i));
    }
    pubnub.close().await;
}

#[tokio::test]
async fn only_the_last_unsubscribe_of_a_channel_sends_a_leave() {
    let server = server().await;
    let pubnub = client(&server);
    let a = pubnub
        .channel("shared")
        .subscription(SubscriptionOptions::new());
    let b = pubnub
        .channel("shared")
        .subscription(SubscriptionOptions::new());
    let mut sb = b.message_stream();
    let mut statuses = pubnub.status_stream();
    a.subscribe().unwrap();
    b.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    a.unsubscribe();
    pubnub
        .publish()
        .channel("shared")
        .message(&"still")
        .await
        .unwrap();
    assert_eq!(within(sb.next()).await.unwrap().message, json!("still"));
    assert_eq!(leaves(&server, "shared"), 0, "no leave while b holds it");
    b.unsubscribe();
    // close() waits for every task, the leave included.
    pubnub.close().await;
    assert_eq!(leaves(&server, "shared"), 1, "exactly one leave");
}

#[tokio::test]
async fn disconnect_and_reconnect_resume_from_the_cursor_with_nothing_lost() {
    let server = server().await;
    let pubnub = client(&server);
    let sub = pubnub
        .channel("resume")
        .subscription(SubscriptionOptions::new());
    let mut stream = sub.message_stream();
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    pubnub
        .publish()
        .channel("resume")
        .message(&0)
        .await
        .unwrap();
    assert_eq!(within(stream.next()).await.unwrap().message, json!(0));
    pubnub.disconnect();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::Disconnected
    );
    for i in 1..4 {
        pubnub
            .publish()
            .channel("resume")
            .message(&i)
            .await
            .unwrap();
    }
    pubnub.reconnect();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::Connected
    );
    for i in 1..4 {
        assert_eq!(within(stream.next()).await.unwrap().message, json!(i));
    }
    pubnub.close().await;
}

#[tokio::test]
async fn the_trace_shows_transitions_in_dispatch_order() {
    let server = server().await;
    let pubnub = client(&server);
    let mut trace = pubnub.trace();
    let sub = pubnub.channel("t").subscription(SubscriptionOptions::new());
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    let mut names = Vec::new();
    while names.len() < 6 {
        let entry = within(trace.next_entry()).await.unwrap();
        if entry.machine() == "subscribe" {
            names.push(entry.name());
        }
    }
    assert_eq!(
        names,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_SUCCESS",
            "CANCEL_HANDSHAKE",
            "EMIT_STATUS",
            "RECEIVE_MESSAGES"
        ]
    );
    pubnub.close().await;
}

#[tokio::test]
async fn dropping_the_client_ends_every_task_and_sends_the_leave() {
    let server = server().await;
    let pubnub = client(&server);
    let sub = pubnub
        .channel("bye")
        .subscription(SubscriptionOptions::new());
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    let tracker = pubnub_engine::testing::task_tracker(&pubnub);
    drop(sub);
    drop(pubnub);
    tracker.close();
    tokio::time::timeout(Duration::from_secs(5), tracker.wait())
        .await
        .expect("every task of the client ended");
    assert_eq!(leaves(&server, "bye"), 1);
}

#[tokio::test]
async fn invalid_names_and_timetokens_are_refused_before_anything_is_sent() {
    let server = server().await;
    let pubnub: PubNub = client(&server);
    for name in ["", "a,b", "a:b", "a b", "a.b.c.*", "*", &"x".repeat(93)] {
        let sub = pubnub
            .channel(name)
            .subscription(SubscriptionOptions::new());
        let err = sub.subscribe().unwrap_err();
        assert_eq!(
            err.kind(),
            pubnub_engine::ErrorKind::InvalidArgument,
            "{name:?}"
        );
    }
    let sub = pubnub
        .channel("ok")
        .subscription(SubscriptionOptions::new().timetoken(123));
    assert_eq!(
        sub.subscribe().unwrap_err().kind(),
        pubnub_engine::ErrorKind::InvalidArgument
    );
    assert!(server.requests().is_empty(), "nothing reached the server");
}

#[tokio::test]
async fn the_legacy_builder_delivers_to_client_listeners() {
    let server = server().await;
    let pubnub = client(&server);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let status_tx = tx.clone();
    let id = pubnub.add_listener(
        pubnub_engine::Listener::new()
            .on_status(move |s| {
                let _ = status_tx.send(format!("status {:?}", s.category));
            })
            .on_message(move |m| {
                let _ = tx.send(format!("message {} {}", m.channel, m.message));
            }),
    );
    pubnub
        .subscribe()
        .channels(["legacy-a", "legacy-b"])
        .execute()
        .unwrap();
    assert_eq!(within(rx.recv()).await.unwrap(), "status Connected");
    pubnub
        .publish()
        .channel("legacy-b")
        .message(&1)
        .await
        .unwrap();
    assert_eq!(within(rx.recv()).await.unwrap(), "message legacy-b 1");

    pubnub.unsubscribe().channels(["legacy-b"]).execute();
    assert_eq!(
        within(rx.recv()).await.unwrap(),
        "status SubscriptionChanged"
    );
    pubnub
        .publish()
        .channel("legacy-b")
        .message(&2)
        .await
        .unwrap();
    pubnub
        .publish()
        .channel("legacy-a")
        .message(&3)
        .await
        .unwrap();
    assert_eq!(
        within(rx.recv()).await.unwrap(),
        "message legacy-a 3",
        "legacy-b is no longer subscribed"
    );
    assert!(pubnub.remove_listener(id));
    assert!(!pubnub.remove_listener(id));
    pubnub.close().await;
    assert_eq!(leaves(&server, "legacy-b"), 1);
    assert_eq!(leaves(&server, "legacy-a"), 1);
}

#[tokio::test]
async fn unsubscribe_all_forgets_the_cursor_and_the_next_subscribe_handshakes_afresh() {
    let server = server().await;
    let pubnub = client(&server);
    let mut statuses = pubnub.status_stream();
    let first = pubnub
        .channel("one")
        .subscription(SubscriptionOptions::new());
    first.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    pubnub.unsubscribe_all();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::Disconnected
    );
    assert!(!first.is_subscribed());
    assert_eq!(pubnub_engine::testing::registry_size(&pubnub), (0, 0));
    server.clear_requests();
    let second = pubnub
        .channel("two")
        .subscription(SubscriptionOptions::new());
    second.subscribe().unwrap();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::Connected
    );
    let handshake = server
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/v2/subscribe/"))
        .unwrap();
    assert_eq!(handshake.query_param("tt").as_deref(), Some("0"));
    assert_eq!(handshake.path_segments()[3], "two");
    pubnub.close().await;
}

#[tokio::test]
async fn a_subscription_set_follows_its_members() {
    let server = server().await;
    let pubnub = client(&server);
    let mut statuses = pubnub.status_stream();
    let a = pubnub
        .channel("set-a")
        .subscription(SubscriptionOptions::new());
    let b = pubnub
        .channel("set-b")
        .subscription(SubscriptionOptions::new());
    let set = pubnub.subscription_set([a.clone()]);
    let mut stream = set.message_stream();
    set.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    set.add(b.clone()).unwrap();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::SubscriptionChanged
    );
    assert!(b.is_subscribed());
    pubnub
        .publish()
        .channel("set-b")
        .message(&"b")
        .await
        .unwrap();
    assert_eq!(within(stream.next()).await.unwrap().message, json!("b"));
    let set = set - &a;
    within(statuses.next()).await.unwrap();
    assert!(!a.is_subscribed());
    pubnub
        .publish()
        .channel("set-a")
        .message(&"a")
        .await
        .unwrap();
    pubnub
        .publish()
        .channel("set-b")
        .message(&"b2")
        .await
        .unwrap();
    assert_eq!(within(stream.next()).await.unwrap().message, json!("b2"));
    set.unsubscribe();
    assert!(!b.is_subscribed());
    pubnub.close().await;
}

#[tokio::test]
async fn a_set_covering_a_message_twice_receives_it_once() {
    let server = server().await;
    let pubnub = client(&server);
    pubnub
        .add_channel_to_channel_group()
        .channel_group("both")
        .channels(["twice"])
        .await
        .unwrap();
    let set = pubnub
        .channel("twice")
        .subscription(SubscriptionOptions::new())
        + pubnub
            .channel_group("both")
            .subscription(SubscriptionOptions::new());
    let mut stream = set.message_stream();
    let mut statuses = pubnub.status_stream();
    set.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    pubnub.publish().channel("twice").message(&1).await.unwrap();
    pubnub.publish().channel("twice").message(&2).await.unwrap();
    assert_eq!(within(stream.next()).await.unwrap().message, json!(1));
    assert_eq!(within(stream.next()).await.unwrap().message, json!(2));
    pubnub.close().await;
}

#[tokio::test]
async fn a_member_shared_by_two_sets_stays_while_either_holds_it() {
    let server = server().await;
    let pubnub = client(&server);
    let shared = pubnub
        .channel("shared-member")
        .subscription(SubscriptionOptions::new());
    let mut stream = shared.message_stream();
    let one = pubnub.subscription_set([shared.clone()]);
    let two = shared.clone()
        + pubnub
            .channel("other")
            .subscription(SubscriptionOptions::new());
    let mut statuses = pubnub.status_stream();
    one.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    two.subscribe().unwrap();
    within(statuses.next()).await.unwrap();
    one.unsubscribe();
    assert!(shared.is_subscribed(), "the second set still holds it");
    pubnub
        .publish()
        .channel("shared-member")
        .message(&1)
        .await
        .unwrap();
    assert_eq!(within(stream.next()).await.unwrap().message, json!(1));
    two.unsubscribe();
    assert!(!shared.is_subscribed());
    shared.subscribe().unwrap();
    two.subscribe().unwrap();
    two.unsubscribe();
    assert!(shared.is_subscribed(), "its own subscribe still holds it");
    pubnub.close().await;
}

#[tokio::test]
async fn metadata_entities_have_no_presence_channel() {
    let server = server().await;
    let pubnub = client(&server);
    let options = SubscriptionOptions::new().with_presence();
    let user = pubnub.user_metadata("u-1").subscription(options.clone());
    assert_eq!(user.names().channels.iter().collect::<Vec<_>>(), ["u-1"]);
    let channel = pubnub.channel_metadata("c-1").subscription(options.clone());
    assert_eq!(channel.names().channels.iter().collect::<Vec<_>>(), ["c-1"]);
    let group = pubnub.channel_group("g-1").subscription(options);
    assert_eq!(
        group.names().groups.iter().collect::<Vec<_>>(),
        ["g-1", "g-1-pnpres"]
    );
}

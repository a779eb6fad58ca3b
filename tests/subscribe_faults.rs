//! The subscribe and presence engines against `pubnub-local` with faults injected: the loop
//! recovers, says so in its statuses and trace, and loses or duplicates nothing.

mod support;

use futures_util::StreamExt;
use pubnub_engine::{
    PubNub, Status, StatusCategory, StatusStream, SubscriptionOptions, TraceStream,
};
use pubnub_local::{Endpoint, Fault, ServerHandle};
use serde_json::json;

use support::local::{client, client_with, leaves, server, within};

/// Waits until the server holds a long-poll open (the client is in its receive loop).
async fn until_long_polling(server: &ServerHandle) {
    within(async {
        while server.hub().waiting_subscribers() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
}

async fn next_status(statuses: &mut StatusStream) -> Status {
    within(statuses.next()).await.expect("status stream open")
}

/// Every trace entry name of the subscribe engine until (and including) `last`.
async fn trace_until(trace: &mut TraceStream, last: &str) -> Vec<&'static str> {
    let mut names = Vec::new();
    loop {
        let entry = within(trace.next_entry()).await.expect("trace open");
        if entry.machine() != "subscribe" {
            continue;
        }
        names.push(entry.name());
        if entry.name() == last {
            return names;
        }
    }
}

async fn recover_from(fault: impl Fn() -> Fault, drop_polls: bool) {
    let server = server().await;
    let pubnub = client(&server);
    let sub = pubnub
        .channel("feed")
        .subscription(SubscriptionOptions::new());
    let mut messages = sub.message_stream();
    let mut statuses = pubnub.status_stream();
    let mut trace = pubnub.trace();
    sub.subscribe().unwrap();
    assert_eq!(
        next_status(&mut statuses).await.category,
        StatusCategory::Connected
    );
    pubnub
        .publish()
        .channel("feed")
        .message(&"before")
        .await
        .unwrap();
    assert_eq!(
        within(messages.next()).await.unwrap().message,
        json!("before")
    );

    until_long_polling(&server).await;
    server
        .faults()
        .inject(fault().on(Endpoint::Subscribe).times(4));
    if drop_polls {
        server.faults().drop_long_polls();
    } else {
        // The open long-poll returns with the next message; the following polls hit the fault.
        pubnub
            .publish()
            .channel("feed")
            .message(&"wake")
            .await
            .unwrap();
        assert_eq!(
            within(messages.next()).await.unwrap().message,
            json!("wake")
        );
    }
    for i in 0..10 {
        pubnub.publish().channel("feed").message(&i).await.unwrap();
    }
    let lost = next_status(&mut statuses).await;
    // The category names the cause (Timeout, NetworkIssues, Unknown, UnexpectedDisconnect);
    // the story is the same for every fault.
    assert_eq!(lost.category.story(), StatusCategory::UnexpectedDisconnect);
    assert_eq!(
        Some(lost.category),
        lost.error.as_ref().map(StatusCategory::of_outage)
    );
    assert!(lost.error.is_some());
    assert_eq!(
        next_status(&mut statuses).await.category,
        StatusCategory::Reconnected
    );
    for i in 0..10 {
        assert_eq!(
            within(messages.next()).await.unwrap().message,
            json!(i),
            "in order"
        );
    }
    pubnub
        .publish()
        .channel("feed")
        .message(&"after")
        .await
        .unwrap();
    assert_eq!(
        within(messages.next()).await.unwrap().message,
        json!("after"),
        "nothing was delivered twice"
    );
    let names = trace_until(&mut trace, "RECEIVE_RECONNECT_SUCCESS").await;
    assert!(names.contains(&"RECEIVE_FAILURE"), "{names:?}");
    let retries = names.iter().filter(|n| **n == "RECEIVE_RECONNECT").count();
    assert!(
        retries >= 3,
        "the trace shows the reconnect attempts: {names:?}"
    );
    pubnub.close().await;
}

#[tokio::test]
async fn recovers_from_dropped_long_polls_and_500s() {
    recover_from(|| Fault::status(500), true).await;
}

#[tokio::test]
async fn recovers_from_connection_resets() {
    recover_from(Fault::reset, true).await;
}

#[tokio::test]
async fn recovers_from_truncated_and_non_json_answers() {
    recover_from(Fault::truncated, false).await;
    recover_from(Fault::non_json, false).await;
}

#[tokio::test]
async fn recovers_from_429_with_retry_after() {
    recover_from(|| Fault::status(429).retry_after(0), true).await;
}

#[tokio::test]
async fn a_refused_handshake_gives_up_without_a_second_request() {
    let server = server().await;
    let pubnub = client(&server);
    server
        .faults()
        .inject(Fault::status(403).on(Endpoint::Subscribe).times(1));
    let mut statuses = pubnub.status_stream();
    let mut trace = pubnub.trace();
    // Held: dropping a subscription unsubscribes it.
    let sub = pubnub
        .channel("secret")
        .subscription(SubscriptionOptions::new());
    sub.subscribe().unwrap();
    let status = next_status(&mut statuses).await;
    assert_eq!(status.category, StatusCategory::AccessDenied);
    assert_eq!(status.category.story(), StatusCategory::ConnectionError);
    assert_eq!(status.error_category(), Some(StatusCategory::AccessDenied));
    let names = trace_until(&mut trace, "EMIT_STATUS").await;
    assert_eq!(
        names,
        [
            "SUBSCRIPTION_CHANGED",
            "HANDSHAKE",
            "HANDSHAKE_FAILURE",
            "CANCEL_HANDSHAKE",
            "HANDSHAKE_RECONNECT",
            "HANDSHAKE_RECONNECT_GIVEUP",
            "CANCEL_HANDSHAKE_RECONNECT",
            "EMIT_STATUS"
        ]
    );
    let subscribes = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v2/subscribe/"))
        .count();
    assert_eq!(subscribes, 1, "the give-up sent no request");
    pubnub.close().await;
}

#[tokio::test]
async fn a_server_restart_is_survived() {
    let server = server().await;
    let pubnub = client(&server);
    let sub = pubnub.channel("r").subscription(SubscriptionOptions::new());
    let mut messages = sub.message_stream();
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    assert_eq!(
        next_status(&mut statuses).await.category,
        StatusCategory::Connected
    );
    until_long_polling(&server).await;
    server.stop_listener().await;
    assert_eq!(
        next_status(&mut statuses).await.category,
        StatusCategory::NetworkIssues
    );
    // Published while the listener is down: straight into the hub.
    server.restart_listener().await.unwrap();
    pubnub
        .publish()
        .channel("r")
        .message(&"back")
        .await
        .unwrap();
    assert_eq!(
        next_status(&mut statuses).await.category,
        StatusCategory::Reconnected
    );
    assert_eq!(
        within(messages.next()).await.unwrap().message,
        json!("back")
    );
    pubnub.close().await;
}

fn with_presence(server: &ServerHandle, user: &str) -> PubNub {
    client_with(server, user, |b| {
        b.presence_timeout(20).heartbeat_interval(9)
    })
}

#[tokio::test]
async fn the_presence_engine_heartbeats_with_state_and_leaves_once() {
    let server = server().await;
    let pubnub = with_presence(&server, "present");
    pubnub
        .set_state()
        .channels(["room", "elsewhere"])
        .state(&json!({"mood": "ok"}))
        .await
        .unwrap();
    let mut statuses = pubnub.status_stream();
    let mut trace = pubnub.trace();
    let sub = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    sub.subscribe().unwrap();
    next_status(&mut statuses).await;
    // The presence engine joined and heartbeated.
    loop {
        let entry = within(trace.next_entry()).await.unwrap();
        if entry.machine() == "presence" && entry.name() == "HEARTBEAT_SUCCESS" {
            break;
        }
    }
    let requests = server.requests();
    let handshake = requests
        .iter()
        .find(|r| r.path.starts_with("/v2/subscribe/"))
        .unwrap();
    let state: serde_json::Value =
        serde_json::from_str(&handshake.query_param("state").unwrap()).unwrap();
    assert_eq!(
        state,
        json!({"room": {"mood": "ok"}}),
        "filtered to the subscribed channels"
    );
    let heartbeat = requests
        .iter()
        .find(|r| r.path.ends_with("/heartbeat"))
        .unwrap();
    assert_eq!(heartbeat.query_param("heartbeat").as_deref(), Some("20"));
    let state: serde_json::Value =
        serde_json::from_str(&heartbeat.query_param("state").unwrap()).unwrap();
    assert_eq!(state, json!({"room": {"mood": "ok"}}));
    let here = pubnub.here_now().channels(["room"]).await.unwrap();
    assert_eq!(here.total_occupancy, 1);

    sub.unsubscribe();
    pubnub.close().await;
    assert_eq!(
        leaves(&server, "room"),
        1,
        "exactly one leave, from the presence engine"
    );
}

/// Issue 30: a server (or a proxy in front of it) that answers handshakes but fails every
/// long-poll with a 502. The client reports one outage and, when the policy's retries are
/// spent, gives up: no Reconnected / UnexpectedDisconnect flapping, and every reconnect is a
/// probe and a long-poll from the kept cursor.
#[tokio::test]
async fn a_storm_of_failing_long_polls_behind_answered_handshakes_ends_in_a_give_up() {
    use pubnub_engine::{RetryConfig, RetryPolicy};
    use std::time::Duration;

    let server = server().await;
    let pubnub = client_with(&server, "storm", |b| {
        b.retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(20),
            max_retries: 3,
        }))
    });
    let sub = pubnub
        .channel("storm")
        .subscription(SubscriptionOptions::new());
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    assert_eq!(
        next_status(&mut statuses).await.category,
        StatusCategory::Connected
    );
    until_long_polling(&server).await;
    server.clear_requests();
    server
        .faults()
        .inject(Fault::status(502).on(Endpoint::LongPoll).times(1_000));
    server.faults().drop_long_polls();

    let outage = next_status(&mut statuses).await;
    assert_eq!(
        outage.category.story(),
        StatusCategory::UnexpectedDisconnect
    );
    let end = next_status(&mut statuses).await;
    assert_eq!(end.category, StatusCategory::ConnectionError, "{end:?}");
    assert_eq!(
        end.error.as_ref().and_then(|e| e.status),
        Some(502),
        "it gave up on the long-polls' failure"
    );
    // Nothing else was said: not a single Reconnected.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), statuses.next())
            .await
            .is_err(),
        "no status after the give-up"
    );
    // After the dropped long-poll: three reconnects of a probe (tt=0) and a long-poll from the
    // kept cursor each, then the give-up, which sends nothing.
    let subscribes: Vec<bool> = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v2/subscribe/"))
        .map(|r| r.query.contains("tt=0"))
        .collect();
    assert_eq!(
        subscribes,
        [true, false, true, false, true, false],
        "handshake probes (true) and long-polls (false)"
    );
    pubnub.close().await;
}

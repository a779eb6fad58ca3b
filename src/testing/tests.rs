//! The test kit tested the way a user would use it: a client on a [`ScriptedTransport`], a
//! paused clock, the trace as a stream.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use super::subscribe::*;
use super::*;
use crate::engine::trace::IGNORED;
use crate::transport::{Method, Request};
use crate::{ErrorKind, Jitter, RetryConfig, RetryPolicy, Subscription, SubscriptionOptions};

fn client(server: &Arc<ScriptedTransport>) -> PubNub {
    PubNub::builder("sub-key", "me")
        .publish_key("pub-key")
        .transport(server.clone())
        .retry_jitter(Jitter::off())
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_secs(2),
            max_retries: 3,
        }))
        .build_client()
        .unwrap()
}

fn subscribe(pubnub: &PubNub, channel: &str) -> Subscription {
    let subscription = pubnub
        .channel(channel)
        .subscription(SubscriptionOptions::new());
    subscription.subscribe().unwrap();
    subscription
}

/// A client of a scripted server, its trace from the start, subscribed to `a` and idle.
async fn subscribed_to_a() -> (PubNub, crate::TraceStream, Subscription) {
    let server = Arc::new(ScriptedTransport::new());
    let pubnub = client(&server);
    let trace = pubnub.trace();
    let a = subscribe(&pubnub, "a");
    idle(&pubnub).await;
    (pubnub, trace, a)
}

fn request(path: &str, query: &[(&'static str, &str)]) -> Request {
    let mut request = Request::new(Method::Get, path);
    for (key, value) in query {
        request.query.push((key, value.to_string()));
    }
    request
}

#[test]
fn requests_are_classified_by_path_and_cursor() {
    let cases = [
        (
            "/v2/subscribe/s/a,b/0",
            &[("tt", "0")][..],
            RequestKind::Handshake,
        ),
        ("/v2/subscribe/s/,/0", &[][..], RequestKind::Handshake),
        (
            "/v2/subscribe/s/a/0",
            &[("tt", "17000000000000000"), ("tr", "1")][..],
            RequestKind::LongPoll,
        ),
        (
            "/v2/presence/sub-key/s/channel/a/heartbeat",
            &[][..],
            RequestKind::Heartbeat,
        ),
        (
            "/v2/presence/sub-key/s/channel/,/leave",
            &[][..],
            RequestKind::Leave,
        ),
        ("/publish/p/s/0/a/0/%221%22", &[][..], RequestKind::Publish),
        ("/v2/publish/p/s/0/a/0", &[][..], RequestKind::Publish),
        ("/signal/p/s/0/a/0/%221%22", &[][..], RequestKind::Signal),
        ("/time/0", &[][..], RequestKind::Time),
        (
            "/v2/presence/sub-key/s/channel/a",
            &[][..],
            RequestKind::HereNow,
        ),
        ("/v2/presence/sub-key/s", &[][..], RequestKind::HereNow),
        (
            "/v2/presence/sub-key/s/uuid/me",
            &[][..],
            RequestKind::WhereNow,
        ),
        (
            "/v2/presence/sub-key/s/channel/a/uuid/me/data",
            &[][..],
            RequestKind::PresenceState,
        ),
        (
            "/v2/presence/sub-key/s/channel/a/uuid/me",
            &[][..],
            RequestKind::PresenceState,
        ),
        (
            "/v1/channel-registration/sub-key/s/channel-group/g",
            &[][..],
            RequestKind::ChannelGroups,
        ),
        (
            "/v3/history/sub-key/s/channel/a",
            &[][..],
            RequestKind::History,
        ),
        (
            "/v1/message-actions/s/channel/a",
            &[][..],
            RequestKind::MessageActions,
        ),
        ("/v3/pam/s/grant", &[][..], RequestKind::AccessManager),
        ("/v2/objects/s/uuids/me", &[][..], RequestKind::AppContext),
        ("/v1/files/s/channels/a/files", &[][..], RequestKind::Files),
        (
            "https://files.example/upload",
            &[][..],
            RequestKind::FileStorage,
        ),
        (
            "/v1/push/sub-key/s/devices/token",
            &[][..],
            RequestKind::Push,
        ),
        ("", &[][..], RequestKind::Other),
    ];
    for (path, query, kind) in cases {
        assert_eq!(RequestKind::of(&request(path, query)), kind, "{path}");
    }
}

#[tokio::test(start_paused = true)]
async fn scripted_answers_play_in_order_per_kind_then_the_defaults() {
    let server = Arc::new(
        ScriptedTransport::new()
            .with(
                RequestKind::Publish,
                [
                    Answer::error(500),
                    Answer::network_error(),
                    Answer::timeout(),
                    Answer::published(17_000_000_000_000_042).after(Duration::from_secs(3)),
                ],
            )
            .with(RequestKind::Time, [Answer::hang()]),
    );
    let pubnub = client(&server);
    let publish = || pubnub.publish().channel("a").message(&1);

    let error = publish().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 500 });
    assert_eq!(publish().await.unwrap_err().kind(), ErrorKind::Network);
    let started = tokio::time::Instant::now();
    assert_eq!(publish().await.unwrap_err().kind(), ErrorKind::Timeout);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    let started = tokio::time::Instant::now();
    assert_eq!(publish().await.unwrap().timetoken, 17_000_000_000_000_042);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(server.remaining(RequestKind::Publish), 0);
    // Then the default: sent, with a timetoken from the clock that never repeats.
    let first = publish().await.unwrap().timetoken;
    let second = publish().await.unwrap().timetoken;
    assert!(
        first >= FIRST_TIMETOKEN && second > first,
        "{first} {second}"
    );

    // A hanging answer ends with the client's own timeout.
    assert_eq!(pubnub.time().await.unwrap_err().kind(), ErrorKind::Timeout);
    // The script of Time is spent: the default answers.
    assert!(pubnub.time().await.is_ok());

    assert_eq!(server.count(RequestKind::Publish), 6);
    assert_eq!(server.kinds()[6..], [RequestKind::Time, RequestKind::Time]);
    let at: Vec<_> = server.requests().iter().map(|r| r.at).collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test(start_paused = true)]
async fn idle_means_every_ready_answer_is_handled_and_the_clock_has_not_moved() {
    let server = Arc::new(ScriptedTransport::new().with(
        RequestKind::Handshake,
        [Answer::error(500), Answer::error(500)],
    ));
    let pubnub = client(&server);
    // Before the first subscribe there is nothing to wait for.
    idle(&pubnub).await;
    let mut trace = pubnub.trace();
    let started = tokio::time::Instant::now();
    let _a = subscribe(&pubnub, "a");
    idle(&pubnub).await;
    assert_eq!(started.elapsed(), Duration::ZERO);
    // The first 500 is handled; the retry waits for its back-off.
    assert_eq!(
        transitions(&trace.drain(), MACHINE),
        [
            (UNSUBSCRIBED, SUBSCRIPTION_CHANGED, HANDSHAKING),
            (HANDSHAKING, HANDSHAKE_FAILURE, HANDSHAKE_RECONNECTING),
        ]
    );
    assert_eq!(server.kinds(), [RequestKind::Handshake]);

    // Two back-offs later the third handshake (the default answer) succeeds.
    tokio::time::sleep(Duration::from_secs(4)).await;
    idle(&pubnub).await;
    let entries = trace.drain();
    assert_eq!(
        transitions(&entries, MACHINE),
        [
            (
                HANDSHAKE_RECONNECTING,
                HANDSHAKE_RECONNECT_FAILURE,
                HANDSHAKE_RECONNECTING
            ),
            (
                HANDSHAKE_RECONNECTING,
                HANDSHAKE_RECONNECT_SUCCESS,
                RECEIVING
            ),
        ]
    );
    assert_eq!(
        invocations(&entries, MACHINE),
        [
            CANCEL_HANDSHAKE_RECONNECT,
            HANDSHAKE_RECONNECT,
            CANCEL_HANDSHAKE_RECONNECT,
            EMIT_STATUS,
            RECEIVE_MESSAGES,
        ]
    );
    assert_eq!(
        server.kinds(),
        [
            RequestKind::Handshake,
            RequestKind::Handshake,
            RequestKind::Handshake,
            RequestKind::LongPoll,
        ]
    );
    let at: Vec<_> = server.requests().iter().map(|r| r.at - started).collect();
    assert_eq!(
        at,
        [
            Duration::ZERO,
            Duration::from_secs(2),
            Duration::from_secs(4),
            Duration::from_secs(4),
        ]
    );
    pubnub.close().await;
    idle(&pubnub).await;
}

#[tokio::test(start_paused = true)]
async fn ignored_events_are_told_apart_from_applied_ones() {
    let (pubnub, mut trace, _a) = subscribed_to_a().await;
    trace.drain();
    // A plain reconnect while receiving has nothing to do.
    pubnub.reconnect();
    idle(&pubnub).await;
    let entries = trace.drain();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].is_ignored() && !entries[0].is_applied());
    assert_eq!(entries[0].from(), Some(RECEIVING));
    assert_eq!(entries[0].to(), None);
    assert_eq!(
        transitions(&entries, MACHINE),
        [(RECEIVING, RECONNECT, IGNORED)]
    );
    assert_eq!(entries[0].to_string(), "Receiving --RECONNECT--> (ignored)");
    pubnub.close().await;
}

#[tokio::test(start_paused = true)]
async fn the_trace_is_a_stream_that_ends_with_the_client() {
    let server = Arc::new(ScriptedTransport::new().with(
        RequestKind::LongPoll,
        [Answer::messages(
            17_100_000_000_000_000,
            [("a", json!("hi"))],
        )],
    ));
    let pubnub = client(&server);
    let trace = pubnub.trace();
    let a = subscribe(&pubnub, "a");
    let mut messages = a.message_stream();
    assert_eq!(messages.next().await.unwrap().message, "hi");
    drop(a);
    pubnub.close().await;
    let entries: Vec<TraceEntry> = trace.collect().await;
    assert_eq!(
        names(&entries, MACHINE)[..8],
        [
            SUBSCRIPTION_CHANGED,
            HANDSHAKE,
            HANDSHAKE_SUCCESS,
            CANCEL_HANDSHAKE,
            EMIT_STATUS,
            RECEIVE_MESSAGES,
            RECEIVE_SUCCESS,
            CANCEL_RECEIVE_MESSAGES,
        ]
    );
    assert!(entries.iter().all(|e| e.machine() == MACHINE));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_trace_stream_wakes_for_each_entry() {
    let server = Arc::new(ScriptedTransport::new());
    let pubnub = client(&server);
    let mut trace = pubnub.trace();
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(entry) = trace.next().await {
            seen.push(entry.name());
            if entry.to() == Some(RECEIVING) {
                break;
            }
        }
        (seen, trace.missed())
    });
    // The reader waits before anything is sent.
    tokio::task::yield_now().await;
    let _a = subscribe(&pubnub, "a");
    let (seen, missed) = reader.await.unwrap();
    assert_eq!(seen, [SUBSCRIPTION_CHANGED, HANDSHAKE, HANDSHAKE_SUCCESS]);
    assert_eq!(missed, 0);
    pubnub.close().await;
}

#[tokio::test(start_paused = true)]
async fn idle_waits_for_the_presence_engine_too() {
    let server = Arc::new(ScriptedTransport::new());
    let pubnub = PubNub::builder("sub-key", "me")
        .transport(server.clone())
        .heartbeat_interval(60)
        .build_client()
        .unwrap();
    let mut trace = pubnub.trace();
    let _a = subscribe(&pubnub, "a");
    idle(&pubnub).await;
    assert_eq!(
        transitions(&trace.drain(), super::presence::MACHINE),
        [
            (
                super::presence::HEARTBEAT_INACTIVE,
                super::presence::JOINED,
                super::presence::HEARTBEATING
            ),
            (
                super::presence::HEARTBEATING,
                super::presence::HEARTBEAT_SUCCESS,
                super::presence::HEARTBEAT_COOLDOWN
            ),
        ]
    );
    assert_eq!(
        pubnub.presence_state().await.map(|s| s.name()),
        Some("HeartbeatCooldown")
    );
    pubnub.close().await;
}

#[tokio::test(start_paused = true)]
async fn the_trace_stream_ends_when_the_last_client_handle_is_dropped() {
    let (pubnub, mut trace, a) = subscribed_to_a().await;
    drop(a);
    drop(pubnub);
    // What was sent before the end is still read, then the stream ends.
    let rest: Vec<TraceEntry> = (&mut trace).collect().await;
    assert_eq!(
        rest.first().map(TraceEntry::name),
        Some(SUBSCRIPTION_CHANGED)
    );
    assert_eq!(trace.next().await, None);
    assert_eq!(trace.next_entry().await, None);
}

/// Issue 33: with the scripted transport's defaults, every family's call succeeds as against a
/// healthy, empty service: an app that sets its profile, reads history, asks who is here, adds
/// a reaction, registers a device and sends a file at start runs on the script alone.
#[tokio::test(start_paused = true)]
async fn every_family_answers_by_default() {
    use crate::files::FileData;
    use crate::push::PushType;

    let server = Arc::new(ScriptedTransport::new());
    let pubnub = PubNub::builder("sub-key", "alice")
        .publish_key("pub-key")
        .transport(server.clone())
        .build_client()
        .unwrap();
    let me = pubnub
        .set_uuid_metadata()
        .user_id("alice")
        .name("Alice")
        .await
        .unwrap();
    assert_eq!(me.name.as_deref(), Some("Alice"));
    assert_eq!(me.id, "alice");
    let error = pubnub.get_uuid_metadata().user_id("bob").await.unwrap_err();
    assert_eq!(
        error.reason().status,
        Some(404),
        "nothing stored: the service's 404"
    );
    assert!(pubnub
        .get_all_uuid_metadata()
        .await
        .unwrap()
        .data
        .is_empty());
    let history = pubnub.fetch_messages().channels(["room"]).await.unwrap();
    assert!(history.channels.is_empty());
    pubnub
        .message_counts()
        .channels(["room"])
        .timetoken(17_000_000_000_000_000)
        .await
        .unwrap();
    let here = pubnub.here_now().channels(["room"]).await.unwrap();
    assert_eq!(here.total_occupancy, 0);
    assert!(pubnub.where_now().await.unwrap().channels.is_empty());
    pubnub
        .set_state()
        .channels(["room"])
        .state(&serde_json::json!({"mood": "ok"}))
        .await
        .unwrap();
    pubnub.get_state().channels(["room"]).await.unwrap();
    let action = pubnub
        .add_message_action()
        .channel("room")
        .message_timetoken(17_000_000_000_000_000)
        .action_type("reaction")
        .value("smile")
        .await
        .unwrap();
    assert_eq!(action.value, "smile");
    assert!(pubnub
        .list_channels_in_channel_group()
        .channel_group("g")
        .await
        .unwrap()
        .is_empty());
    pubnub
        .add_channels_to_push()
        .push_type(PushType::Fcm)
        .channels(["room"])
        .device_id("token")
        .await
        .unwrap();
    assert!(pubnub
        .list_push_channels()
        .push_type(PushType::Fcm)
        .device_id("token")
        .await
        .unwrap()
        .channels
        .is_empty());
    let sent = pubnub
        .send_file()
        .channel("room")
        .file_name("a.txt")
        .data(FileData::bytes("hi"))
        .await
        .unwrap();
    pubnub
        .download_file()
        .channel("room")
        .file_id(&sent.file_id)
        .file_name("a.txt")
        .await
        .unwrap();
    assert!(pubnub
        .list_files()
        .channel("room")
        .await
        .unwrap()
        .data
        .is_empty());
    let kinds = server.kinds();
    for kind in [
        RequestKind::AppContext,
        RequestKind::History,
        RequestKind::HereNow,
        RequestKind::WhereNow,
        RequestKind::PresenceState,
        RequestKind::MessageActions,
        RequestKind::ChannelGroups,
        RequestKind::Push,
        RequestKind::Files,
        RequestKind::FileStorage,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} in {kinds:?}");
    }
    assert!(!kinds.contains(&RequestKind::Other), "{kinds:?}");
}

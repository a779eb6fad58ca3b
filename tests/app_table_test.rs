//! How an app tests its own reaction to the service, with `pubnub_engine::testing`: a table of
//! scripted server answers, the UI states the app must show, and the path the subscribe
//! machine must take. No socket, no real sleep: the transport is scripted and tokio's clock is
//! paused, so the retries' back-off takes no time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use pubnub_engine::testing::subscribe::*;
use pubnub_engine::testing::{self, Answer, RequestKind, ScriptedTransport};
use pubnub_engine::{Listener, PubNub, Status, StatusCategory, Subscription, SubscriptionOptions};

// ---- The app under test ------------------------------------------------------------------

/// What the app's connection banner shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UiState {
    Connecting,
    Online,
    Offline,
    /// "Your session has expired: sign in again."
    AccessDenied,
}

/// A tiny chat screen: a banner that follows the statuses, and the messages of one channel.
struct ChatScreen {
    banner: Mutex<Vec<UiState>>,
    messages: Mutex<Vec<String>>,
    /// Kept for the screen's life: the app unsubscribes when the screen closes.
    subscription: Mutex<Option<Subscription>>,
}

impl ChatScreen {
    fn open(pubnub: &PubNub, channel: &str) -> Arc<ChatScreen> {
        let screen = Arc::new(ChatScreen {
            banner: Mutex::new(vec![UiState::Connecting]),
            messages: Mutex::default(),
            subscription: Mutex::default(),
        });
        let on_status = Arc::downgrade(&screen);
        pubnub.add_listener(Listener::new().on_status(move |status| {
            if let Some(screen) = on_status.upgrade() {
                screen.on_status(&status);
            }
        }));
        let subscription = pubnub
            .channel(channel)
            .subscription(SubscriptionOptions::new());
        let on_message = Arc::downgrade(&screen);
        subscription.on_message(move |message| {
            if let Some(screen) = on_message.upgrade() {
                let text = message.message.to_string();
                screen.messages.lock().unwrap().push(text);
            }
        });
        subscription.subscribe().expect("subscribe");
        *screen.subscription.lock().unwrap() = Some(subscription);
        screen
    }

    fn on_status(&self, status: &Status) {
        let next = if status.error_category() == Some(StatusCategory::AccessDenied) {
            UiState::AccessDenied
        } else {
            match status.category {
                StatusCategory::Connected | StatusCategory::Reconnected => UiState::Online,
                StatusCategory::Disconnected => UiState::Offline,
                // UnexpectedDisconnect, ConnectionError and every cause of an outage.
                _ if status.is_error() => UiState::Offline,
                _ => return,
            }
        };
        let mut banner = self.banner.lock().unwrap();
        if banner.last() != Some(&next) {
            banner.push(next);
        }
    }

    fn banner(&self) -> Vec<UiState> {
        self.banner.lock().unwrap().clone()
    }

    fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }
}

// ---- The table -----------------------------------------------------------------------------

use RequestKind::{Handshake, LongPoll};
use UiState::*;

const TT: u64 = 17_500_000_000_000_000;

/// One row: what the service answers, and what must follow.
struct Row {
    name: &'static str,
    script: Vec<(RequestKind, Vec<Answer>)>,
    banner: &'static [UiState],
    messages: &'static [&'static str],
    path: &'static [(&'static str, &'static str, &'static str)],
    requests: &'static [RequestKind],
}

fn table() -> Vec<Row> {
    vec![
        Row {
            name: "handshake 500, 500, 200: offline, then online",
            script: vec![(
                Handshake,
                vec![
                    Answer::error(500),
                    Answer::error(500),
                    Answer::handshake(TT),
                ],
            )],
            banner: &[Connecting, Offline, Online],
            messages: &[],
            path: &[
                (UNSUBSCRIBED, SUBSCRIPTION_CHANGED, HANDSHAKING),
                (HANDSHAKING, HANDSHAKE_FAILURE, HANDSHAKE_RECONNECTING),
                (
                    HANDSHAKE_RECONNECTING,
                    HANDSHAKE_RECONNECT_FAILURE,
                    HANDSHAKE_RECONNECTING,
                ),
                (
                    HANDSHAKE_RECONNECTING,
                    HANDSHAKE_RECONNECT_SUCCESS,
                    RECEIVING,
                ),
            ],
            requests: &[Handshake, Handshake, Handshake, LongPoll],
        },
        Row {
            name: "a message arrives",
            script: vec![(
                LongPoll,
                vec![Answer::messages(TT + 10, [("orders", json!({"id": 1}))])],
            )],
            banner: &[Connecting, Online],
            messages: &[r#"{"id":1}"#],
            path: &[
                (UNSUBSCRIBED, SUBSCRIPTION_CHANGED, HANDSHAKING),
                (HANDSHAKING, HANDSHAKE_SUCCESS, RECEIVING),
                (RECEIVING, RECEIVE_SUCCESS, RECEIVING),
            ],
            requests: &[Handshake, LongPoll, LongPoll],
        },
        Row {
            name: "access denied (403): no retry, the app asks to sign in",
            script: vec![(Handshake, vec![Answer::error(403)])],
            banner: &[Connecting, AccessDenied],
            messages: &[],
            path: &[
                (UNSUBSCRIBED, SUBSCRIPTION_CHANGED, HANDSHAKING),
                (HANDSHAKING, HANDSHAKE_FAILURE, HANDSHAKE_RECONNECTING),
                (
                    HANDSHAKE_RECONNECTING,
                    HANDSHAKE_RECONNECT_GIVEUP,
                    HANDSHAKE_FAILED,
                ),
            ],
            requests: &[Handshake],
        },
        Row {
            name: "the long-poll's connection resets: offline, then online again",
            script: vec![
                (LongPoll, vec![Answer::network_error()]),
                // The first handshake connects; the second proves the network answers.
                (
                    Handshake,
                    vec![Answer::handshake(TT), Answer::handshake(TT + 5)],
                ),
            ],
            banner: &[Connecting, Online, Offline, Online],
            messages: &[],
            // The long-poll from the kept cursor is held, as on any quiet channel: after the
            // settle time the loop is receiving again, and polls on from the same cursor.
            path: &[
                (UNSUBSCRIBED, SUBSCRIPTION_CHANGED, HANDSHAKING),
                (HANDSHAKING, HANDSHAKE_SUCCESS, RECEIVING),
                (RECEIVING, RECEIVE_FAILURE, RECEIVE_RECONNECTING),
                (RECEIVE_RECONNECTING, LONG_POLL_SILENT, RECEIVING),
            ],
            requests: &[Handshake, LongPoll, Handshake, LongPoll, LongPoll],
        },
    ]
}

#[tokio::test(start_paused = true)]
async fn the_chat_screen_follows_the_service() {
    for row in table() {
        let mut server = ScriptedTransport::new();
        for (kind, answers) in row.script {
            server = server.with(kind, answers);
        }
        let server = Arc::new(server);
        let pubnub = PubNub::builder("sub-key", "user-1")
            .transport(server.clone())
            .build_client()
            .unwrap();
        let mut trace = pubnub.trace();

        let screen = ChatScreen::open(&pubnub, "orders");
        // 20 s of the paused clock: every back-off of the default retry policy in these rows
        // has passed, and the long-poll the service holds is still open.
        testing::run_for(&pubnub, Duration::from_secs(20)).await;

        assert_eq!(screen.banner(), row.banner, "{}: banner", row.name);
        assert_eq!(screen.messages(), row.messages, "{}: messages", row.name);
        let entries = trace.drain();
        assert_eq!(
            testing::transitions(&entries, MACHINE),
            row.path,
            "{}: path",
            row.name
        );
        assert!(
            entries.iter().all(|e| !e.is_ignored()),
            "{}: an event was ignored",
            row.name
        );
        assert_eq!(server.kinds(), row.requests, "{}: requests", row.name);
        pubnub.close().await;
    }
}

/// A storm behind a balancer: handshakes are answered, every long-poll is a 502. The app goes
/// offline once and, when the default policy's six retries are spent, the loop gives up: no
/// Online / Offline flapping, and every reconnect is a probe and a long-poll.
#[tokio::test(start_paused = true)]
async fn a_storm_of_failing_long_polls_is_one_outage_that_ends() {
    let server = Arc::new(
        ScriptedTransport::new()
            .with(Handshake, vec![Answer::handshake(TT); 7])
            .with(LongPoll, vec![Answer::error(502); 7]),
    );
    let pubnub = PubNub::builder("sub-key", "user-1")
        .transport(server.clone())
        .build_client()
        .unwrap();
    let mut trace = pubnub.trace();
    let mut statuses = pubnub.status_stream();
    let screen = ChatScreen::open(&pubnub, "orders");
    // The default policy's back-off: 2 + 4 + 8 + 16 + 32 + 64 s.
    testing::run_for(&pubnub, Duration::from_secs(200)).await;

    assert_eq!(screen.banner(), [Connecting, Online, Offline]);
    let mut categories = Vec::new();
    while let Some(Some(status)) = futures_util::FutureExt::now_or_never(statuses.next()) {
        categories.push(status.category);
    }
    assert_eq!(
        categories,
        [
            StatusCategory::Connected,
            StatusCategory::UnexpectedDisconnect,
            StatusCategory::ConnectionError
        ]
    );
    let path = testing::transitions(&trace.drain(), MACHINE);
    let retries = (
        RECEIVE_RECONNECTING,
        RECEIVE_RECONNECT_FAILURE,
        RECEIVE_RECONNECTING,
    );
    let mut expected = vec![
        (UNSUBSCRIBED, SUBSCRIPTION_CHANGED, HANDSHAKING),
        (HANDSHAKING, HANDSHAKE_SUCCESS, RECEIVING),
        (RECEIVING, RECEIVE_FAILURE, RECEIVE_RECONNECTING),
    ];
    expected.extend([retries; 6]);
    expected.push((
        RECEIVE_RECONNECTING,
        RECEIVE_RECONNECT_GIVEUP,
        RECEIVE_FAILED,
    ));
    assert_eq!(path, expected);
    let mut requests = vec![Handshake, LongPoll];
    for _ in 0..6 {
        requests.extend([Handshake, LongPoll]);
    }
    assert_eq!(server.kinds(), requests);
    pubnub.close().await;
}

/// Asking for a reconnect while the app is online does nothing, and the trace says so.
#[tokio::test(start_paused = true)]
async fn a_reconnect_while_online_is_ignored() {
    let server = Arc::new(ScriptedTransport::new());
    let pubnub = PubNub::builder("sub-key", "user-1")
        .transport(server.clone())
        .build_client()
        .unwrap();
    let mut trace = pubnub.trace();
    let screen = ChatScreen::open(&pubnub, "orders");
    testing::idle(&pubnub).await;
    trace.drain();

    pubnub.reconnect();
    testing::idle(&pubnub).await;

    let entries = trace.drain();
    assert_eq!(
        testing::transitions(&entries, MACHINE),
        [(RECEIVING, RECONNECT, testing::IGNORED)]
    );
    assert_eq!(entries[0].to_string(), "Receiving --RECONNECT--> (ignored)");
    assert_eq!(screen.banner(), [Connecting, Online]);
    assert_eq!(server.kinds(), [Handshake, LongPoll]);
    pubnub.close().await;
}

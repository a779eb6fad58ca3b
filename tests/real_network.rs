//! What real networks do, with the default configuration where the clock can be paused: a
//! handshake or long-poll that gets no answer, a connection a middlebox starves, a network that
//! comes back while the channel is idle, a burst of subscription changes during an outage, a
//! `close()` against an origin that never answers, and clients on several runtimes.
//!
//! On the paused clock the in-memory server stands in for the network (a request that is never
//! answered is a black hole). The faults that only exist on sockets (a connect that hangs, a
//! proxy that accepts and never answers, an established connection that goes silent) use real
//! loopback sockets through `pubnub_local::netfault`, with timeouts scaled down so that the
//! tests take milliseconds; `cargo run --release --example real_network` measures the same
//! faults with the default configuration (BENCHMARKS.md).

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::config::{DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_LONG_POLL_LIVENESS};
use pubnub_engine::{
    Config, ConfigBuilder, Jitter, Message, PubNub, RetryConfig, RetryPolicy, Status,
    StatusCategory, StatusStream, SubscriptionOptions, UpdateStream,
};
use pubnub_local::netfault::{ConnectBlackHole, FaultProxy, NetFault};
use pubnub_local::{Server, ServerHandle};
use serde_json::json;
use tokio::time::Instant;

use support::memory::Memory;

// ---------------------------------------------------------------------------------------------
// Helpers.

/// A client of `memory` with the default configuration (and a fixed jitter seed).
fn default_client(memory: &Arc<Memory>, user: &str) -> PubNub {
    default_client_with(memory, user, |b| b)
}

fn default_client_with(
    memory: &Arc<Memory>,
    user: &str,
    configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> PubNub {
    let builder = Config::builder("sub-key", user)
        .publish_key("pub-key")
        .retry_jitter(Jitter::seeded(1))
        .transport(memory.clone());
    PubNub::new(configure(builder).build().expect("config")).expect("client")
}

/// A publisher on the same in-memory server, through a transport of its own (never faulted).
fn publisher(memory: &Arc<Memory>) -> PubNub {
    memory.sibling().client("publisher")
}

async fn publish(publisher: &PubNub, channel: &str, n: u32) {
    publisher
        .publish()
        .channel(channel)
        .message(&json!({ "n": n }))
        .await
        .expect("published");
}

/// The next status, failing the test after `limit`.
async fn status_within(statuses: &mut StatusStream, limit: Duration) -> Status {
    tokio::time::timeout(limit, statuses.next())
        .await
        .unwrap_or_else(|_| panic!("no status within {limit:?}"))
        .expect("status stream open")
}

async fn message_within(messages: &mut UpdateStream<Message>, limit: Duration) -> Message {
    tokio::time::timeout(limit, messages.next())
        .await
        .unwrap_or_else(|_| panic!("no message within {limit:?}"))
        .expect("message stream open")
}

/// Waits (yielding, never sleeping) until the hub of `memory` holds a long-poll.
async fn until_long_polling(hub: &pubnub_local::Hub) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while hub.waiting_subscribers() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the client long-polls");
}

/// The messages' `n`, in arrival order.
fn numbers(messages: &[Message]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| m.message["n"].as_u64().expect("n"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Paused clock, default configuration.

#[tokio::test(start_paused = true)]
async fn a_silent_handshake_is_reported_within_the_handshake_timeout_then_connects() {
    let memory = Memory::new();
    memory.black_hole(true);
    let pubnub = default_client(&memory, "alice");
    let mut statuses = pubnub.status_stream();
    let room = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let started = Instant::now();
    room.subscribe().unwrap();

    let status = status_within(&mut statuses, Duration::from_secs(60)).await;
    let waited = started.elapsed();
    assert_eq!(
        status.category.story(),
        StatusCategory::UnexpectedDisconnect
    );
    assert_eq!(status.error_category(), Some(StatusCategory::Timeout));
    assert!(
        waited >= DEFAULT_HANDSHAKE_TIMEOUT
            && waited <= DEFAULT_HANDSHAKE_TIMEOUT + Duration::from_millis(10),
        "first status after {waited:?}"
    );

    // The network comes back: the retry the machine decided connects, with no other status.
    memory.black_hole(false);
    let status = status_within(&mut statuses, Duration::from_secs(60)).await;
    assert_eq!(status.category, StatusCategory::Connected);
    pubnub.close().await;
}

#[tokio::test(start_paused = true)]
async fn a_starved_long_poll_is_renewed_from_the_same_cursor_and_nothing_is_lost() {
    let memory = Memory::new();
    let pubnub = default_client(&memory, "alice");
    let publisher = publisher(&memory);
    let mut statuses = pubnub.status_stream();
    let room = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let mut messages = room.message_stream();
    room.subscribe().unwrap();
    assert_eq!(
        status_within(&mut statuses, Duration::from_secs(10))
            .await
            .category,
        StatusCategory::Connected
    );
    until_long_polling(&memory.server().hub()).await;

    // m1 ends the long-poll; the next one goes into a connection that never answers.
    memory.force(support::memory::NetFault::Hang);
    publish(&publisher, "room", 1).await;
    let first = message_within(&mut messages, Duration::from_secs(10)).await;
    tokio::task::yield_now().await;
    let stalled_at = Instant::now();
    publish(&publisher, "room", 2).await;

    // The liveness interval passes; a handshake proves the network answers and the long-poll
    // is renewed from the cursor after m1, which delivers m2.
    let second = message_within(&mut messages, Duration::from_secs(120)).await;
    let waited = stalled_at.elapsed();
    assert!(
        waited >= DEFAULT_LONG_POLL_LIVENESS
            && waited <= DEFAULT_LONG_POLL_LIVENESS + Duration::from_millis(50),
        "renewed after {waited:?}"
    );
    assert_eq!(numbers(&[first, second]), [1, 2]);
    // Nothing to report to the app: no request failed, and nothing arrives twice.
    assert!(
        tokio::time::timeout(Duration::from_secs(60), statuses.next())
            .await
            .is_err(),
        "no status"
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(1), messages.next())
            .await
            .is_err(),
        "no duplicate"
    );
    pubnub.close().await;
}

#[tokio::test(start_paused = true)]
async fn a_silent_network_is_reported_by_the_liveness_check_and_reconnected_at_once() {
    let memory = Memory::new();
    let pubnub = default_client(&memory, "alice");
    let publisher = publisher(&memory);
    let mut statuses = pubnub.status_stream();
    let room = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let mut messages = room.message_stream();
    room.subscribe().unwrap();
    assert_eq!(
        status_within(&mut statuses, Duration::from_secs(10))
            .await
            .category,
        StatusCategory::Connected
    );
    until_long_polling(&memory.server().hub()).await;

    // The network goes silent on an idle channel: nothing but the SDK's own check can see it.
    memory.black_hole(true);
    let silent_at = Instant::now();
    let status = status_within(&mut statuses, Duration::from_secs(120)).await;
    let detected = silent_at.elapsed();
    assert_eq!(
        status.category.story(),
        StatusCategory::UnexpectedDisconnect
    );
    assert_eq!(status.error_category(), Some(StatusCategory::Timeout));
    assert!(
        detected <= DEFAULT_LONG_POLL_LIVENESS + DEFAULT_HANDSHAKE_TIMEOUT,
        "detected after {detected:?}"
    );
    assert!(detected <= Duration::from_secs(45));

    // Published during the outage, then the network is back while the engine waits its first
    // retry delay (2 s + this client's jitter of attempt 1): Reconnected when that delay ends.
    publish(&publisher, "room", 1).await;
    memory.black_hole(false);
    let back_at = Instant::now();
    let status = status_within(&mut statuses, Duration::from_secs(60)).await;
    let reconnected = back_at.elapsed();
    assert_eq!(status.category, StatusCategory::Reconnected);
    let running_delay = Duration::from_secs(2) + Jitter::seeded(1).at(1);
    assert!(
        reconnected <= running_delay + Duration::from_millis(200),
        "Reconnected {reconnected:?} after the network came back; the delay was {running_delay:?}"
    );

    // The long-poll resumed from the kept cursor: the message arrives, once.
    let message = message_within(&mut messages, Duration::from_secs(10)).await;
    assert_eq!(numbers(&[message]), [1]);
    assert!(
        tokio::time::timeout(Duration::from_secs(5), messages.next())
            .await
            .is_err(),
        "no duplicate"
    );
    // One outage, one story.
    assert!(
        tokio::time::timeout(Duration::from_secs(60), statuses.next())
            .await
            .is_err(),
        "no other status"
    );
    pubnub.close().await;
}

#[tokio::test(start_paused = true)]
async fn fifty_subscribe_calls_cost_at_most_two_heartbeats() {
    let memory = Memory::new();
    // A 20 ms round trip; the app's calls come in a row, each letting the engines run.
    memory.latency(Duration::from_millis(20));
    let pubnub = default_client_with(&memory, "alice", |b| b.heartbeat_interval(60));
    let mut subscriptions = Vec::new();
    for n in 0..50 {
        let subscription = pubnub
            .channel(format!("room-{n}"))
            .subscription(SubscriptionOptions::new());
        subscription.subscribe().unwrap();
        subscriptions.push(subscription);
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let heartbeats: Vec<_> = memory
        .seen()
        .into_iter()
        .filter(|s| s.is_heartbeat())
        .collect();
    assert!(
        !heartbeats.is_empty() && heartbeats.len() <= 2,
        "{} heartbeats",
        heartbeats.len()
    );
    // The last one carries every channel.
    let last = heartbeats.last().unwrap().segments();
    assert!(
        (0..50).all(|n| last
            .iter()
            .any(|s| s.split(',').any(|c| c == format!("room-{n}")))),
        "{last:?}"
    );
    pubnub.close().await;
}

#[tokio::test(start_paused = true)]
async fn two_hundred_changes_during_a_black_hole_keep_tasks_and_requests_bounded() {
    let memory = Memory::new();
    let pubnub = default_client_with(&memory, "alice", |b| b.heartbeat_interval(60));
    let base = pubnub
        .channel("base")
        .subscription(SubscriptionOptions::new());
    base.subscribe().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tasks_before = pubnub_engine::testing::task_tracker(&pubnub).len();

    memory.black_hole(true);
    let mut previous: Option<pubnub_engine::Subscription> = None;
    let mut most_tasks = 0;
    let mut most_in_flight = 0;
    for n in 0..200 {
        let next = pubnub
            .channel(format!("room-{n}"))
            .subscription(SubscriptionOptions::new());
        next.subscribe().unwrap();
        if let Some(old) = previous.replace(next) {
            old.unsubscribe();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        most_tasks = most_tasks.max(pubnub_engine::testing::task_tracker(&pubnub).len());
        most_in_flight = most_in_flight.max(memory.in_flight());
    }
    assert!(
        most_tasks <= tasks_before,
        "{most_tasks} tasks (were {tasks_before})"
    );
    // One subscribe request and one presence request at a time, at most.
    assert!(most_in_flight <= 2, "{most_in_flight} requests in flight");
    let close = Instant::now();
    pubnub.close().await;
    assert!(close.elapsed() <= Duration::from_millis(1500));
    assert!(pubnub_engine::testing::task_tracker(&pubnub).is_empty());
}

#[tokio::test(start_paused = true)]
async fn close_against_a_silent_origin_takes_at_most_the_leave_timeout() {
    for heartbeat_interval in [0, 60] {
        let memory = Memory::new();
        let pubnub = default_client_with(&memory, "alice", |b| {
            b.heartbeat_interval(heartbeat_interval)
        });
        let room = pubnub
            .channel("room")
            .subscription(SubscriptionOptions::new());
        room.subscribe().unwrap();
        until_long_polling(&memory.server().hub()).await;
        memory.black_hole(true);

        let started = Instant::now();
        pubnub.close().await;
        let took = started.elapsed();
        assert!(
            took <= Duration::from_millis(1500),
            "close took {took:?} (heartbeat interval {heartbeat_interval})"
        );
        assert!(pubnub_engine::testing::task_tracker(&pubnub).is_empty());
        // The leave was attempted.
        assert!(memory.seen().iter().any(|s| s.is_leave()));
    }
}

// ---------------------------------------------------------------------------------------------
// Real sockets: faults that only exist on TCP. Timeouts are scaled down (the figures with the
// default configuration are the example's).

async fn local_server() -> ServerHandle {
    Server::builder()
        .hold(Duration::from_secs(30))
        .start()
        .await
        .expect("pubnub-local starts")
}

/// A client of `origin` with short timeouts and a fast linear retry.
fn socket_client(origin: &str, configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> PubNub {
    let builder = PubNub::builder("sub-key", "alice")
        .publish_key("pub-key")
        .origin(origin)
        .connect_timeout(Duration::from_millis(300))
        .handshake_timeout(Duration::from_millis(300))
        .long_poll_liveness(Some(Duration::from_millis(400)))
        .leave_timeout(Duration::from_millis(300))
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(50),
            max_retries: 1000,
        }))
        .retry_jitter(Jitter::off());
    configure(builder).build_client().expect("client")
}

fn direct_publisher(server: &ServerHandle) -> PubNub {
    PubNub::builder("sub-key", "publisher")
        .publish_key("pub-key")
        .origin(server.url())
        .build_client()
        .expect("client")
}

#[tokio::test]
async fn a_connect_that_hangs_is_reported_within_the_connect_timeout() {
    let unreachable = ConnectBlackHole::start().await.expect("black hole");
    let pubnub = socket_client(&unreachable.url(), |b| {
        b.handshake_timeout(Duration::from_secs(5))
    });
    let mut statuses = pubnub.status_stream();
    let room = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let started = std::time::Instant::now();
    room.subscribe().unwrap();
    let status = status_within(&mut statuses, Duration::from_secs(4)).await;
    let waited = started.elapsed();
    assert_eq!(
        status.category.story(),
        StatusCategory::UnexpectedDisconnect
    );
    assert!(
        matches!(
            status.error_category(),
            Some(StatusCategory::Timeout | StatusCategory::NetworkIssues)
        ),
        "{status:?}"
    );
    // The connect timeout (300 ms), not the handshake timeout (5 s), ended it.
    assert!(waited < Duration::from_secs(2), "after {waited:?}");
    pubnub.close().await;
}

#[tokio::test]
async fn an_origin_that_accepts_and_never_answers_is_reported_then_recovered() {
    let server = local_server().await;
    let proxy = FaultProxy::start(server.addr()).await.expect("proxy");
    proxy.set(NetFault::BlackHole);
    let pubnub = socket_client(&proxy.url(), |b| b);
    let mut statuses = pubnub.status_stream();
    let room = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    room.subscribe().unwrap();
    let status = status_within(&mut statuses, Duration::from_secs(4)).await;
    assert_eq!(
        status.category.story(),
        StatusCategory::UnexpectedDisconnect
    );
    assert_eq!(status.error_category(), Some(StatusCategory::Timeout));

    proxy.set(NetFault::Pass);
    let status = status_within(&mut statuses, Duration::from_secs(4)).await;
    assert_eq!(status.category, StatusCategory::Connected);
    pubnub.close().await;
}

#[tokio::test]
async fn a_half_open_long_poll_is_renewed_and_nothing_is_lost() {
    let server = local_server().await;
    let proxy = FaultProxy::start(server.addr()).await.expect("proxy");
    let pubnub = socket_client(&proxy.url(), |b| b);
    let publisher = direct_publisher(&server);
    let mut statuses = pubnub.status_stream();
    let room = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let mut messages = room.message_stream();
    room.subscribe().unwrap();
    assert_eq!(
        status_within(&mut statuses, Duration::from_secs(4))
            .await
            .category,
        StatusCategory::Connected
    );
    until_long_polling(&server.hub()).await;

    // The long-poll's connection goes silent both ways, with no RST or FIN; new ones work.
    let connections = proxy.connections();
    proxy.set(NetFault::HalfOpen);
    publish(&publisher, "room", 1).await;
    let message = message_within(&mut messages, Duration::from_secs(4)).await;
    assert_eq!(numbers(&[message]), [1]);
    assert!(
        proxy.connections() > connections,
        "the message came over a new connection"
    );
    publish(&publisher, "room", 2).await;
    let message = message_within(&mut messages, Duration::from_secs(4)).await;
    assert_eq!(numbers(&[message]), [2]);
    // Renewed quietly: no request failed, so there is nothing to report.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), statuses.next())
            .await
            .is_err(),
        "no status"
    );
    pubnub.close().await;
}

#[tokio::test]
async fn a_network_gone_silent_is_reported_and_what_was_published_meanwhile_arrives_once() {
    let server = local_server().await;
    let proxy = FaultProxy::start(server.addr()).await.expect("proxy");
    let pubnub = socket_client(&proxy.url(), |b| b);
    let publisher = direct_publisher(&server);
    let mut statuses = pubnub.status_stream();
    let room = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let mut messages = room.message_stream();
    room.subscribe().unwrap();
    assert_eq!(
        status_within(&mut statuses, Duration::from_secs(4))
            .await
            .category,
        StatusCategory::Connected
    );
    until_long_polling(&server.hub()).await;

    proxy.set(NetFault::BlackHole);
    let status = status_within(&mut statuses, Duration::from_secs(4)).await;
    assert_eq!(
        status.category.story(),
        StatusCategory::UnexpectedDisconnect
    );
    publish(&publisher, "room", 1).await;
    publish(&publisher, "room", 2).await;

    proxy.set(NetFault::Pass);
    let status = status_within(&mut statuses, Duration::from_secs(4)).await;
    assert_eq!(status.category, StatusCategory::Reconnected);
    let first = message_within(&mut messages, Duration::from_secs(4)).await;
    let second = message_within(&mut messages, Duration::from_secs(4)).await;
    assert_eq!(numbers(&[first, second]), [1, 2]);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), messages.next())
            .await
            .is_err(),
        "no duplicate"
    );
    pubnub.close().await;
}

/// A subscribed client on a runtime of its own: receives on `channel` and reports what it
/// got and every status.
struct RuntimeClient {
    runtime: tokio::runtime::Runtime,
    pubnub: PubNub,
    messages: std::sync::mpsc::Receiver<u64>,
    statuses: std::sync::mpsc::Receiver<StatusCategory>,
    _subscription: pubnub_engine::Subscription,
}

impl RuntimeClient {
    fn start(origin: &str, channel: &str) -> RuntimeClient {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (message_tx, messages) = std::sync::mpsc::channel();
        let (status_tx, statuses) = std::sync::mpsc::channel();
        let pubnub = PubNub::builder("sub-key", "runtime-user")
            .origin(origin)
            .build_client()
            .expect("client");
        pubnub.add_listener(pubnub_engine::Listener::new().on_status(move |s| {
            let _ = status_tx.send(s.category);
        }));
        let subscription = runtime.block_on(async {
            let subscription = pubnub
                .channel(channel)
                .subscription(SubscriptionOptions::new());
            subscription.on_message(move |m| {
                let _ = message_tx.send(m.message["n"].as_u64().unwrap_or_default());
            });
            subscription.subscribe().unwrap();
            subscription
        });
        let client = RuntimeClient {
            runtime,
            pubnub,
            messages,
            statuses,
            _subscription: subscription,
        };
        client.expect_status(StatusCategory::Connected);
        client
    }

    fn expect_status(&self, category: StatusCategory) {
        let got = self
            .statuses
            .recv_timeout(Duration::from_secs(10))
            .expect("a status");
        assert_eq!(got, category);
    }

    fn expect_message(&self, n: u64) {
        let got = self
            .messages
            .recv_timeout(Duration::from_secs(10))
            .expect("a message");
        assert_eq!(got, n);
    }

    fn no_status(&self) {
        assert_eq!(self.statuses.try_recv().ok(), None, "no failure status");
    }
}

/// Publishes `n` on `channel` through a client on a runtime of its own.
fn publish_blocking(origin: &str, channel: &str, n: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        PubNub::builder("sub-key", "publisher")
            .publish_key("pub-key")
            .origin(origin)
            .build_client()
            .expect("client")
            .publish()
            .channel(channel)
            .message(&json!({ "n": n }))
            .await
            .expect("published");
    });
}

/// The server on a runtime of its own, so that every client runtime can come and go.
fn server_thread() -> (
    SocketAddr,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let server = local_server().await;
            addr_tx.send(server.addr()).unwrap();
            tokio::task::spawn_blocking(move || stop_rx.recv())
                .await
                .ok();
            server.shutdown().await;
        });
    });
    (addr_rx.recv().expect("server address"), stop_tx, thread)
}

#[test]
fn clients_on_two_runtimes_do_not_share_connections() {
    let (addr, stop, server) = server_thread();
    let origin = format!("http://{addr}");
    let keeper = RuntimeClient::start(&origin, "keep");
    let other = RuntimeClient::start(&origin, "other");
    publish_blocking(&origin, "keep", 1);
    publish_blocking(&origin, "other", 1);
    keeper.expect_message(1);
    other.expect_message(1);

    // Dropping the other runtime (and with it the tasks that drove its connections) must not
    // touch the keeper's parked long-poll, then five runtimes more come and go.
    drop(other);
    for round in 2..=6 {
        let passer = RuntimeClient::start(&origin, "passing");
        publish_blocking(&origin, "passing", round);
        passer.expect_message(round);
        drop(passer);
        publish_blocking(&origin, "keep", round);
        keeper.expect_message(round);
    }
    keeper.no_status();
    keeper.runtime.block_on(keeper.pubnub.close());
    drop(keeper);
    stop.send(()).unwrap();
    server.join().unwrap();
}

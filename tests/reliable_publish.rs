//! The reliable publisher, two ways.
//!
//! - On tokio's paused clock through an in-memory, counting [`Transport`]: the rate limit,
//!   one request in flight per channel and the global limit, backpressure, retries reusing
//!   the `seqn`, fatal errors, close and drop. Deterministic and instant.
//! - End to end against `pubnub-local` on loopback with fault injection: order under
//!   concurrent senders, channels that do not block each other, exactly-once delivery to a
//!   de-duplicating subscriber despite 500s, resets after the message was stored and
//!   timeouts, and a fatal error that fails only its own send.
//!
//! No test sleeps for real or binds a fixed port; every wait is bounded by a timeout that only
//! fires when something is broken.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::future::{Future, IntoFuture};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{
    Config, ErrorKind, Message, PubNub, ReliablePublisherOptions, Request, Response, RetryConfig,
    RetryPolicy, StatusCategory, Subscription, SubscriptionOptions, SubscriptionSet, Transport,
    TransportFuture, UpdateStream,
};
use pubnub_local::{Endpoint, Fault, Server, ServerHandle};
use serde_json::{json, Value};
use tokio::time::Instant;

use support::local::{client_with, within};

// ---------------------------------------------------------------------------------------------
// In memory, on the paused clock
// ---------------------------------------------------------------------------------------------

/// One publish attempt as the fake service saw it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    channel: String,
    message: Value,
    seqn: Option<u16>,
    request_id: String,
}

/// What the fake service does with an attempt.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Sent,
    Status(u16, &'static str),
    Hang,
    After(Duration),
}

/// How the fake answers: given the attempt and how many earlier attempts carried the same
/// channel and message.
type Rule = Box<dyn Fn(&Seen, usize) -> Answer + Send + Sync>;

#[derive(Debug, Default)]
struct Flight {
    per_channel: HashMap<String, usize>,
    total: usize,
    max_per_channel: usize,
    max_total: usize,
}

/// An in-memory publish service: records and counts every attempt, and how many are in
/// flight at once, per channel and in total.
struct Fake {
    seen: Mutex<Vec<Seen>>,
    rule: Rule,
    timetoken: AtomicU64,
    flight: Arc<Mutex<Flight>>,
}

impl std::fmt::Debug for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fake").finish_non_exhaustive()
    }
}

/// Leaves the in-flight count when the attempt ends, answered or cancelled.
struct InFlight {
    flight: Arc<Mutex<Flight>>,
    channel: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut flight = self.flight.lock().unwrap();
        flight.total -= 1;
        *flight.per_channel.get_mut(&self.channel).unwrap() -= 1;
    }
}

impl Fake {
    fn new(rule: impl Fn(&Seen, usize) -> Answer + Send + Sync + 'static) -> Arc<Fake> {
        Arc::new(Fake {
            seen: Mutex::default(),
            rule: Box::new(rule),
            timetoken: AtomicU64::new(17_000_000_000_000_000),
            flight: Arc::default(),
        })
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn on(&self, channel: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.channel == channel)
            .collect()
    }

    fn enter(&self, channel: &str) -> InFlight {
        let mut flight = self.flight.lock().unwrap();
        flight.total += 1;
        let on_channel = flight.per_channel.entry(channel.to_string()).or_default();
        *on_channel += 1;
        let on_channel = *on_channel;
        flight.max_per_channel = flight.max_per_channel.max(on_channel);
        flight.max_total = flight.max_total.max(flight.total);
        InFlight {
            flight: self.flight.clone(),
            channel: channel.to_string(),
        }
    }
}

impl Transport for Fake {
    fn send(&self, request: Request) -> TransportFuture {
        // /publish/{pub}/{sub}/0/{channel}/0/{message}
        let segments: Vec<String> = request.path.split('/').map(support::decode).collect();
        let seen = Seen {
            at: Instant::now(),
            channel: segments[5].clone(),
            message: serde_json::from_str(&segments[7]).unwrap(),
            seqn: request.query_value("seqn").map(|s| s.parse().unwrap()),
            request_id: request.query_value("requestid").unwrap().to_string(),
        };
        let answer = {
            let mut log = self.seen.lock().unwrap();
            let before = log
                .iter()
                .filter(|s| s.channel == seen.channel && s.message == seen.message)
                .count();
            log.push(seen.clone());
            (self.rule)(&seen, before)
        };
        let guard = self.enter(&seen.channel);
        let tt = self.timetoken.fetch_add(1, Ordering::Relaxed);
        let sent = Response::new(200, format!(r#"[1,"Sent","{tt}"]"#));
        Box::pin(async move {
            let _guard = guard;
            match answer {
                Answer::Sent => Ok(sent),
                Answer::Status(status, body) => Ok(Response::new(status, body)),
                Answer::Hang => std::future::pending().await,
                Answer::After(delay) => {
                    tokio::time::sleep(delay).await;
                    Ok(sent)
                }
            }
        })
    }
}

fn fake_client(fake: &Arc<Fake>) -> PubNub {
    let config = Config::builder("sub-key", "user-1")
        .publish_key("pub-key")
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(100),
            max_retries: 5,
        }))
        .transport(fake.clone())
        .build()
        .unwrap();
    PubNub::new(config).unwrap()
}

/// Bounds a wait on the paused clock (virtual time: it fires at once when nothing can run).
async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(600), future)
        .await
        .expect("stuck: nothing left to run")
}

/// Lets spawned tasks run until `done` holds, without moving the paused clock.
async fn settle(mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the condition never held");
}

const SERVER_ERROR: &str = r#"{"status":500,"error":true,"message":"Internal Server Error"}"#;

#[tokio::test(start_paused = true)]
async fn the_rate_limit_holds_per_channel_counted_at_the_service() {
    // The first attempt of every third message fails: retries count against the rate too.
    let fake = Fake::new(|seen, before| {
        if seen.message["n"].as_u64().unwrap() % 3 == 0 && before == 0 {
            Answer::Status(500, SERVER_ERROR)
        } else {
            Answer::Sent
        }
    });
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new());
    let start = Instant::now();
    let mut pending = Vec::new();
    for n in 0..30 {
        for channel in ["a", "b"] {
            pending.push(publisher.try_send(channel, &json!({ "n": n })).unwrap());
        }
    }
    for delivery in pending {
        bounded(delivery).await.unwrap();
    }

    for channel in ["a", "b"] {
        let times: Vec<Duration> = fake.on(channel).iter().map(|s| s.at - start).collect();
        assert_eq!(times.len(), 40, "30 messages and 10 retries on {channel}");
        let mut per_second: BTreeMap<u64, usize> = BTreeMap::new();
        for t in &times {
            *per_second.entry(t.as_secs()).or_default() += 1;
        }
        assert!(
            per_second.values().all(|&n| n <= 5),
            "{channel}: {per_second:?}"
        );
        // Not just per calendar second: no six attempts within any one second.
        for w in times.windows(6) {
            assert!(w[5] - w[0] >= Duration::from_secs(1), "{channel}: {w:?}");
        }
        // The channels ran side by side: each started at once.
        assert_eq!(times[0], Duration::ZERO);
    }
    let stats = publisher.stats();
    assert_eq!((stats.sent, stats.retried, stats.failed), (60, 20, 0));
}

#[tokio::test(start_paused = true)]
async fn one_request_in_flight_per_channel_and_at_most_the_global_limit() {
    let fake = Fake::new(|_, _| Answer::After(Duration::from_millis(100)));
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(
        ReliablePublisherOptions::new()
            .no_rate_limit()
            .max_in_flight(3),
    );
    let channels = ["c0", "c1", "c2", "c3", "c4", "c5"];
    let mut pending = Vec::new();
    for n in 0..4 {
        for channel in channels {
            pending.push(publisher.try_send(channel, &n).unwrap());
        }
    }
    for delivery in pending {
        bounded(delivery).await.unwrap();
    }
    let (per_channel, total) = {
        let flight = fake.flight.lock().unwrap();
        (flight.max_per_channel, flight.max_total)
    };
    assert_eq!(per_channel, 1);
    assert_eq!(total, 3);
    for channel in channels {
        let order: Vec<Value> = fake.on(channel).into_iter().map(|s| s.message).collect();
        assert_eq!(order, [json!(0), json!(1), json!(2), json!(3)]);
    }
    // Each channel's task ended with its queue.
    let tracker = pubnub_engine::testing::publisher_task_tracker(&publisher);
    settle(|| tracker.is_empty()).await;
}

#[tokio::test(start_paused = true)]
async fn retries_reuse_the_seqn_and_a_fatal_error_fails_only_its_own_send() {
    let fake = Fake::new(|seen, before| match seen.message.as_str() {
        Some("flaky") if before < 2 => Answer::Status(500, SERVER_ERROR),
        Some("forbidden") => Answer::Status(
            403,
            r#"{"message":"Forbidden","error":true,"service":"Access Manager","status":403}"#,
        ),
        Some("too-large") => Answer::Status(400, r#"[0,"Message Too Large","1"]"#),
        _ => Answer::Sent,
    });
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new());
    let messages = ["a", "flaky", "forbidden", "too-large", "b"];
    let pending: Vec<_> = messages
        .iter()
        .map(|m| publisher.try_send("c", m).unwrap())
        .collect();
    let mut results = Vec::new();
    for delivery in pending {
        results.push(bounded(delivery).await);
    }
    assert!(results[0].is_ok() && results[1].is_ok() && results[4].is_ok());
    assert_eq!(
        results[2].as_ref().unwrap_err().kind(),
        ErrorKind::AccessDenied
    );
    assert_eq!(
        results[3].as_ref().unwrap_err().kind(),
        ErrorKind::MessageTooLarge
    );

    let seen = fake.on("c");
    let order: Vec<&str> = seen.iter().map(|s| s.message.as_str().unwrap()).collect();
    assert_eq!(
        order,
        [
            "a",
            "flaky",
            "flaky",
            "flaky",
            "forbidden",
            "too-large",
            "b"
        ]
    );
    // One number per message, the same on every attempt, consecutive from message to message.
    let seqns: Vec<u16> = seen.iter().map(|s| s.seqn.unwrap()).collect();
    let first = seqns[0];
    let expected: Vec<u16> = [0u16, 1, 1, 1, 2, 3, 4]
        .iter()
        .map(|k| wrapping_seqn(first, *k))
        .collect();
    assert_eq!(seqns, expected);
    // Each attempt is a request of its own.
    let mut ids: Vec<&str> = seen.iter().map(|s| s.request_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), seen.len());

    let stats = publisher.stats();
    assert_eq!(
        (
            stats.sent,
            stats.failed,
            stats.retried,
            stats.queued,
            stats.in_flight
        ),
        (3, 2, 2, 0, 0)
    );
}

/// `first` advanced by `k` in the 1..=65535 cycle.
fn wrapping_seqn(first: u16, k: u16) -> u16 {
    let zero_based = (u32::from(first) - 1 + u32::from(k)) % u32::from(u16::MAX);
    zero_based as u16 + 1
}

#[tokio::test(start_paused = true)]
async fn a_hanging_channel_does_not_hold_up_another() {
    let fake = Fake::new(|seen, before| {
        if seen.channel == "stuck" && before == 0 {
            Answer::Hang
        } else {
            Answer::Sent
        }
    });
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new());
    let stuck = tokio::spawn(publisher.send("stuck", &"first"));
    settle(|| fake.seen().len() == 1).await;

    let start = Instant::now();
    for n in 0..5 {
        bounded(publisher.send("free", &n)).await.unwrap();
    }
    // Five messages at 5 per second: 0.8 s, while "stuck" waits for its 10 s timeout.
    assert_eq!(start.elapsed(), Duration::from_millis(800));
    assert!(!stuck.is_finished());
    bounded(stuck).await.unwrap().unwrap();
    assert!(start.elapsed() >= Duration::from_secs(10));
    assert_eq!(publisher.stats().retried, 1);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_makes_send_wait_and_try_send_fail() {
    let fake = Fake::new(|_, _| Answer::After(Duration::from_secs(1)));
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(
        ReliablePublisherOptions::new()
            .no_rate_limit()
            .queue_capacity(2),
    );
    let m0 = publisher.try_send("c", &0).unwrap();
    let m1 = publisher.try_send("c", &1).unwrap();
    let full = publisher.try_send("c", &2).map(|_| ()).unwrap_err();
    assert_eq!(full.kind(), ErrorKind::QueueFull);
    // Another channel has a queue of its own.
    let other = publisher.try_send("d", &0).unwrap();

    let m2 = tokio::spawn(publisher.send("c", &2));
    let m3 = tokio::spawn(publisher.send("c", &3));
    // The task takes 0 into flight, which makes room for 2 (it started waiting first).
    settle(|| publisher.stats().in_flight == 2 && fake.seen().len() == 2).await;
    let stats = publisher.stats();
    assert_eq!((stats.queued, stats.in_flight), (2, 2), "{stats:?}");
    assert!(!m3.is_finished());
    let still_full = publisher.try_send("c", &4).map(|_| ()).unwrap_err();
    assert_eq!(still_full.kind(), ErrorKind::QueueFull);

    for delivery in [m0, m1, other] {
        bounded(delivery).await.unwrap();
    }
    bounded(m2).await.unwrap().unwrap();
    bounded(m3).await.unwrap().unwrap();
    let order: Vec<Value> = fake.on("c").into_iter().map(|s| s.message).collect();
    assert_eq!(order, [json!(0), json!(1), json!(2), json!(3)]);
}

#[tokio::test(start_paused = true)]
async fn close_drains_what_was_accepted_and_refuses_the_rest() {
    let fake = Fake::new(|_, _| Answer::After(Duration::from_millis(500)));
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new().queue_capacity(1));
    // Futures dropped at once: accepted messages are sent anyway.
    drop(publisher.try_send("c", &0).unwrap());
    settle(|| publisher.stats().in_flight == 1).await;
    drop(publisher.try_send("c", &1).unwrap());
    let waiting = tokio::spawn(publisher.send("c", &2));
    settle(|| publisher.stats().queued == 1).await;
    tokio::task::yield_now().await;

    let closer = publisher.clone();
    bounded(closer.close()).await;
    let refused = bounded(waiting).await.unwrap().unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Closed);
    let order: Vec<Value> = fake.on("c").into_iter().map(|s| s.message).collect();
    assert_eq!(order, [json!(0), json!(1)]);
    assert!(publisher.is_closed());
    assert!(pubnub_engine::testing::publisher_task_tracker(&publisher).is_empty());
    let stats = publisher.stats();
    assert_eq!((stats.sent, stats.queued, stats.in_flight), (2, 0, 0));

    let after = publisher.try_send("c", &3).map(|_| ()).unwrap_err();
    assert_eq!(after.kind(), ErrorKind::Closed);
    let after = publisher.send("c", &3).await.unwrap_err();
    assert_eq!(after.kind(), ErrorKind::Closed);
}

#[tokio::test(start_paused = true)]
async fn flush_waits_for_what_was_accepted_before_it() {
    let fake = Fake::new(|_, _| Answer::Sent);
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new());
    for n in 0..4 {
        for channel in ["a", "b"] {
            drop(publisher.try_send(channel, &n).unwrap());
        }
    }
    let start = Instant::now();
    bounded(publisher.flush()).await;
    assert_eq!(publisher.stats().sent, 8);
    assert_eq!(start.elapsed(), Duration::from_millis(600));
    // Nothing pending: returns at once.
    bounded(publisher.flush()).await;
    assert_eq!(start.elapsed(), Duration::from_millis(600));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_publisher_and_client_ends_every_task() {
    let fake = Fake::new(|_, _| Answer::Hang);
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new());
    let tracker = pubnub_engine::testing::publisher_task_tracker(&publisher);
    let a = publisher.try_send("a", &1).unwrap();
    let b = publisher.try_send("b", &1).unwrap();
    drop(publisher.try_send("a", &2).unwrap());
    settle(|| fake.seen().len() == 2).await;
    assert_eq!(tracker.len(), 2, "one task per active channel");

    // The futures still hold the publisher; dropping the last handle abandons the work.
    drop(publisher);
    assert!(!tracker.is_closed());
    drop((a, b));
    bounded(tracker.wait()).await;
    drop(pubnub);
    settle(|| fake.flight.lock().unwrap().total == 0).await;
    assert_eq!(Arc::strong_count(&fake), 1, "the client is gone too");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_publisher_fails_the_futures_it_abandons() {
    let fake = Fake::new(|_, _| Answer::Hang);
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new());
    let delivery = publisher.try_send("a", &1).unwrap();
    // Polled elsewhere, the future keeps the publisher: its work goes on.
    let task = tokio::spawn(delivery);
    drop(publisher);
    settle(|| fake.seen().len() == 1).await;
    assert!(!task.is_finished());
    task.abort();
    assert!(bounded(task).await.unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn bad_input_fails_at_once_and_queues_nothing() {
    let fake = Fake::new(|_, _| Answer::Sent);
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new());
    let huge = "x".repeat(40 * 1024);
    let error = publisher.send("c", &huge).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MessageTooLarge);
    let error = publisher.try_send("c", &huge).map(|_| ()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MessageTooLarge);
    let error = publisher.send("", &1).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    // Not serialisable: a map whose keys are not strings.
    let not_json: HashMap<(u8, u8), u8> = HashMap::from([((1, 2), 3)]);
    let error = publisher.try_send("c", &not_json).map(|_| ()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);

    let no_key = PubNub::new(
        Config::builder("sub-key", "user-1")
            .transport(fake.clone())
            .build()
            .unwrap(),
    )
    .unwrap();
    let error = no_key
        .reliable_publisher(ReliablePublisherOptions::new())
        .send("c", &1)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);

    assert_eq!(publisher.stats(), Default::default());
    assert!(fake.seen().is_empty());
    assert!(pubnub_engine::testing::publisher_task_tracker(&publisher).is_empty());
}

#[test]
fn try_send_outside_a_runtime_is_an_error_not_a_panic() {
    let fake = Fake::new(|_, _| Answer::Sent);
    let pubnub = fake_client(&fake);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new());
    let error = publisher.try_send("c", &1).map(|_| ()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(publisher.stats(), Default::default());
}

// ---------------------------------------------------------------------------------------------
// End to end, against pubnub-local with fault injection
// ---------------------------------------------------------------------------------------------

/// A server whose channels buffer enough for every copy a test stores.
async fn server() -> ServerHandle {
    Server::builder()
        .hold(Duration::from_secs(2))
        .buffer_size(1000)
        .record_requests(true)
        .start()
        .await
        .expect("pubnub-local starts")
}

/// Subscribes `subscriptions` together on `reader` and waits until the loop is connected.
/// They stay subscribed while the returned set is held.
async fn subscribe_all(reader: &PubNub, subscriptions: Vec<Subscription>) -> SubscriptionSet {
    let mut statuses = reader.status_stream();
    let set = reader.subscription_set(subscriptions);
    set.subscribe().unwrap();
    let status = within(statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Connected);
    set
}

/// A connected client whose de-duplicating subscription to `channel` streams its messages.
async fn deduplicating_reader(
    server: &ServerHandle,
    channel: &str,
) -> ((PubNub, SubscriptionSet), UpdateStream<Message>) {
    let reader = client_with(server, "reader", |b| b);
    let sub = reader
        .channel(channel)
        .subscription(SubscriptionOptions::new().deduplicate(100));
    let delivered = sub.message_stream();
    let set = subscribe_all(&reader, vec![sub]).await;
    ((reader, set), delivered)
}

/// Messages from `stream` up to the `"end"` marker (excluded).
async fn until_end(stream: &mut UpdateStream<Message>) -> Vec<Message> {
    let mut messages = Vec::new();
    loop {
        let message = within(stream.next()).await.expect("stream open");
        if message.message == json!("end") {
            return messages;
        }
        messages.push(message);
    }
}

/// Publishes the `"end"` marker on each channel, from a client of its own.
async fn end_marker(server: &ServerHandle, channels: &[&str]) {
    let closer = client_with(server, "closer", |b| b);
    for channel in channels {
        within(
            closer
                .publish()
                .channel(*channel)
                .message(&"end")
                .into_future(),
        )
        .await
        .unwrap();
    }
}

/// Consecutive numbers in the 1..=65535 cycle.
fn assert_consecutive(seqns: &[u32]) {
    for w in seqns.windows(2) {
        let next = if w[0] == u32::from(u16::MAX) {
            1
        } else {
            w[0] + 1
        };
        assert_eq!(w[1], next, "{seqns:?}");
    }
}

/// A tiny xorshift generator: the fault plan is random, but the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test]
async fn order_per_channel_holds_under_concurrent_senders() {
    let server = server().await;
    let (_reader, mut delivered) = deduplicating_reader(&server, "c").await;

    for fault in [
        Fault::status(500),
        Fault::store_then_reset(),
        Fault::status(503),
        Fault::store_then_fail(500),
        Fault::status(500),
    ] {
        server.faults().inject(fault.on(Endpoint::Publish));
    }
    let pubnub = client_with(&server, "publisher", |b| b);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new().no_rate_limit());
    let mut senders = tokio::task::JoinSet::new();
    for task in 0..8u64 {
        let publisher = publisher.clone();
        senders.spawn(async move {
            let mut confirmed = Vec::new();
            for i in 0..10u64 {
                let tt = publisher
                    .send("c", &json!({"task": task, "i": i}))
                    .await
                    .unwrap();
                confirmed.push(((task, i), tt));
            }
            confirmed
        });
    }
    let mut confirmed = Vec::new();
    while let Some(result) = within(senders.join_next()).await {
        confirmed.extend(result.unwrap());
    }
    assert!(server.faults().pending().is_empty());
    end_marker(&server, &["c"]).await;

    let messages = until_end(&mut delivered).await;
    let order: Vec<(u64, u64)> = messages
        .iter()
        .map(|m| {
            let v = &m.message;
            (v["task"].as_u64().unwrap(), v["i"].as_u64().unwrap())
        })
        .collect();
    // Delivered in the order the service confirmed them: one in flight, never overtaken.
    confirmed.sort_by_key(|(_, tt)| *tt);
    let by_confirmation: Vec<(u64, u64)> = confirmed.iter().map(|(id, _)| *id).collect();
    assert_eq!(order, by_confirmation);
    // And every task's own messages in the order it sent them.
    for task in 0..8 {
        let mine: Vec<u64> = order
            .iter()
            .filter(|(t, _)| *t == task)
            .map(|(_, i)| *i)
            .collect();
        assert_eq!(mine, (0..10).collect::<Vec<_>>(), "task {task}");
    }
    let seqns: Vec<u32> = messages.iter().map(|m| m.seqn.unwrap()).collect();
    assert_consecutive(&seqns);
    assert!(messages
        .iter()
        .all(|m| m.publisher.as_deref() == Some("publisher")));
    let stats = publisher.stats();
    assert_eq!((stats.sent, stats.failed, stats.retried), (80, 0, 5));
}

#[tokio::test]
async fn a_hanging_channel_does_not_stop_another() {
    let server = server().await;
    let timeout = Duration::from_secs(2);
    let pubnub = client_with(&server, "publisher", |b| {
        b.non_subscribe_request_timeout(timeout)
    });
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new().no_rate_limit());
    server.faults().inject(Fault::hang().on(Endpoint::Publish));
    let stuck = tokio::spawn(publisher.send("stuck", &"first"));
    // Wait until the hanging request reached the server (it took the fault).
    within(async {
        while !server.faults().pending().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;

    let started = std::time::Instant::now();
    for n in 0..5 {
        within(publisher.send("free", &n)).await.unwrap();
    }
    assert!(
        !stuck.is_finished(),
        "the free channel finished while the stuck one still waited ({:?})",
        started.elapsed()
    );
    assert!(started.elapsed() < timeout);
    within(stuck).await.unwrap().unwrap();
    assert!(started.elapsed() >= timeout / 2);
    let stats = publisher.stats();
    assert_eq!((stats.sent, stats.retried, stats.failed), (6, 1, 0));
}

#[tokio::test]
async fn every_message_arrives_exactly_once_and_in_order_despite_random_faults() {
    const CHANNELS: [&str; 3] = ["orders", "payments", "audit"];
    const PER_CHANNEL: u64 = 25;
    let server = server().await;
    let reader = client_with(&server, "reader", |b| b);
    let mut deduplicated = Vec::new();
    let mut raw = Vec::new();
    let mut subscriptions = Vec::new();
    for channel in CHANNELS {
        let once = reader
            .channel(channel)
            .subscription(SubscriptionOptions::new().deduplicate(100));
        let every = reader
            .channel(channel)
            .subscription(SubscriptionOptions::new());
        deduplicated.push(once.message_stream());
        raw.push(every.message_stream());
        subscriptions.extend([once, every]);
    }
    let _subscribed = subscribe_all(&reader, subscriptions).await;

    // 40 publish requests meet a fault drawn from a fixed seed: 500s, resets and 500s after
    // the message was stored, hangs (the client times out, nothing stored) and delays past
    // the timeout (the client times out, the server may still store it, late).
    let mut rng = Rng(0x5EED_2026);
    let mut stored_then_failed = 0;
    for _ in 0..40 {
        let fault = match rng.below(10) {
            0 | 1 => Fault::status(500),
            2 => {
                stored_then_failed += 1;
                Fault::store_then_reset()
            }
            3 => {
                stored_then_failed += 1;
                Fault::store_then_fail(500)
            }
            4 => Fault::hang(),
            5 => Fault::delay(Duration::from_millis(600)),
            _ => Fault::delay(Duration::ZERO),
        };
        server.faults().inject(fault.on(Endpoint::Publish));
    }
    assert!(stored_then_failed > 0, "the seed plans stored duplicates");

    let pubnub = client_with(&server, "publisher", |b| {
        b.non_subscribe_request_timeout(Duration::from_millis(300))
    });
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new().no_rate_limit());
    let mut producers = tokio::task::JoinSet::new();
    for channel in CHANNELS {
        let publisher = publisher.clone();
        producers.spawn(async move {
            for n in 0..PER_CHANNEL {
                let message = json!({"channel": channel, "n": n});
                publisher.send(channel, &message).await.unwrap();
            }
        });
    }
    while let Some(result) = within(producers.join_next()).await {
        result.unwrap();
    }
    assert!(server.faults().pending().is_empty(), "every fault was used");
    let stats = publisher.stats();
    assert_eq!((stats.sent, stats.failed), (3 * PER_CHANNEL, 0));
    assert!(stats.retried >= stored_then_failed, "{stats:?}");
    end_marker(&server, &CHANNELS).await;

    let mut copies = 0;
    for (i, channel) in CHANNELS.iter().enumerate() {
        let once = until_end(&mut deduplicated[i]).await;
        let numbers: Vec<u64> = once
            .iter()
            .map(|m| m.message["n"].as_u64().unwrap())
            .collect();
        assert_eq!(
            numbers,
            (0..PER_CHANNEL).collect::<Vec<_>>(),
            "{channel}: exactly once, in order"
        );
        let seqns: Vec<u32> = once.iter().map(|m| m.seqn.unwrap()).collect();
        assert_consecutive(&seqns);

        let every = until_end(&mut raw[i]).await;
        let mut distinct: Vec<u64> = every
            .iter()
            .map(|m| m.message["n"].as_u64().unwrap())
            .collect();
        copies += distinct.len();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len() as u64,
            PER_CHANNEL,
            "{channel}: nothing lost"
        );
    }
    // Without de-duplication, every message stored before its answer was lost shows up twice.
    assert!(
        copies as u64 >= 3 * PER_CHANNEL + stored_then_failed,
        "{copies} copies of {} messages",
        3 * PER_CHANNEL
    );
}

#[tokio::test]
async fn a_fatal_error_fails_only_its_own_send() {
    let server = server().await;
    let (_reader, mut delivered) = deduplicating_reader(&server, "f").await;

    let pubnub = client_with(&server, "publisher", |b| b);
    let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new().no_rate_limit());
    server
        .faults()
        .inject(Fault::status(403).on(Endpoint::Publish));
    let pending: Vec<_> = (0..5)
        .map(|n| publisher.try_send("f", &n).unwrap())
        .collect();
    let mut results = Vec::new();
    for delivery in pending {
        results.push(within(delivery).await);
    }
    assert_eq!(
        results[0].as_ref().unwrap_err().kind(),
        ErrorKind::AccessDenied
    );
    assert!(results[1..].iter().all(Result::is_ok), "{results:?}");

    server
        .faults()
        .inject(Fault::status(400).on(Endpoint::Publish));
    let first = publisher.try_send("f", &5).unwrap();
    let second = publisher.try_send("f", &6).unwrap();
    let error = within(first).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 400 });
    within(second).await.unwrap();

    end_marker(&server, &["f"]).await;
    let numbers: Vec<Value> = until_end(&mut delivered)
        .await
        .into_iter()
        .map(|m| m.message.to_value())
        .collect();
    assert_eq!(numbers, [json!(1), json!(2), json!(3), json!(4), json!(6)]);
    let stats = publisher.stats();
    assert_eq!((stats.sent, stats.failed, stats.retried), (5, 2, 0));
}

/// Only what the reliable publisher marked is ever de-duplicated: the same payload published
/// twice by a publisher that does not mark it arrives twice, whatever its `s` (issue 15). Two
/// clients with one user id each send `seqn=1`, as a restarted app does; the service puts
/// `"s":1` on every message whose publisher sent no `seqn` at all.
#[tokio::test]
async fn a_deduplicating_subscription_never_drops_an_unmarked_message() {
    let server = server().await;
    let (_reader, mut delivered) = deduplicating_reader(&server, "c").await;

    for _ in 0..2 {
        let restarted = client_with(&server, "same-user", |b| b);
        within(
            restarted
                .publish()
                .channel("c")
                .message(&"ping")
                .into_future(),
        )
        .await
        .unwrap();
    }
    let one = client_with(&server, "one-client", |b| b);
    for _ in 0..2 {
        within(one.publish().channel("c").message(&"ping").into_future())
            .await
            .unwrap();
    }
    // A plain publish retried after the service stored it is delivered twice: it is not
    // marked, so nothing can tell it from a second "ping" (the reliable publisher marks).
    server
        .faults()
        .inject(Fault::store_then_reset().on(Endpoint::Publish));
    within(
        one.publish()
            .channel("c")
            .message(&"retried")
            .retry(true)
            .into_future(),
    )
    .await
    .unwrap();
    // The reliable publisher's retry of a stored message is marked, and delivered once.
    server
        .faults()
        .inject(Fault::store_then_reset().on(Endpoint::Publish));
    let publisher = one.reliable_publisher(ReliablePublisherOptions::new().no_rate_limit());
    within(publisher.send("c", &"marked")).await.unwrap();
    end_marker(&server, &["c"]).await;

    let messages = until_end(&mut delivered).await;
    let payloads: Vec<String> = messages
        .iter()
        .map(|m| m.message.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        payloads,
        ["ping", "ping", "ping", "ping", "retried", "retried", "marked"]
    );
    let seqns: Vec<Option<u32>> = messages[..2].iter().map(|m| m.seqn).collect();
    assert_eq!(seqns, [Some(1), Some(1)], "the same user id and seqn twice");
    let mark = &messages[6].meta.as_ref().expect("marked")["_rp"];
    assert_eq!(mark["n"], json!(1));
    assert_eq!(mark["id"].as_str().map(str::len), Some(16));
}

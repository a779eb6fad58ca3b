//! Silent network faults, measured with the client's default configuration:
//! `cargo run --release --example real_network [-- --json]` (~1.5 min).
//!
//! Everything runs on loopback with real sockets and real time: an in-process `pubnub-local`
//! and `pubnub_local::netfault`'s faults in front of it, which never answer (a black-holed
//! connect, an origin that accepts and stays silent, a half-open connection). Only the origin,
//! the keys and the user id are set on each client (plus a heartbeat interval where presence
//! matters), so the figures are what an application gets without tuning anything:
//!
//! 1. a black-holed connect → the first failure status;
//! 2. a black-holed handshake → the first failure status;
//! 3. a half-open long-poll → the message published meanwhile arrives (long-poll liveness
//!    renews it from the same cursor); then the whole origin black-holed → `UnexpectedDisconnect`;
//! 4. the network back → `Reconnected`, against the retry delay the engine was waiting, and the
//!    message published during the outage arrives exactly once;
//! 5. heartbeat requests caused by 50 `subscribe()` calls in a row;
//! 6. `close()` against a dead origin.
//!
//! One line per figure with its target. With `--json`, progress goes to stderr and one JSON
//! object to stdout. Every wait is bounded (60 s): a figure that does not come is reported as
//! a miss, never a hang. `RUST_LOG=pubnub_engine=debug` shows the engines' transitions.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pubnub_engine::{
    Message, PubNub, Status, StatusCategory, SubscriptionOptions, TraceEntry, UpdateStream,
};
use pubnub_local::netfault::{ConnectBlackHole, FaultProxy, NetFault};
use pubnub_local::{Server, ServerHandle};
use serde_json::{json, Map, Value};
use tokio::task::JoinHandle;

/// The longest any single wait may take before the figure is reported as missed.
const LIMIT: Duration = Duration::from_secs(60);
/// How often waits look at what the recorders saw (the times themselves are exact).
const POLL: Duration = Duration::from_millis(5);
/// After a message arrived, how long to watch for a duplicate of it.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(1);
/// pubnub-local accepts any key.
const KEY: &str = "demo";

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

#[tokio::main]
async fn main() -> Result<()> {
    logs();
    let json_output = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--json") => true,
        Some(_) => {
            eprintln!("usage: real_network [--json]");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let mut report = Report::new(json_output);

    let server = Server::builder().start().await?;
    report.say(format!(
        "pubnub-local at {}; every client uses the default configuration",
        server.url()
    ));

    connect_black_hole(&mut report).await?;
    handshake_black_hole(&server, &mut report).await?;
    silent_long_poll(&server, &mut report).await?;
    heartbeats_per_subscribe_calls(&mut report).await?;
    close_against_dead_origin(&server, &mut report).await?;

    let total = started.elapsed().as_secs_f64();
    report.finish(total);
    Ok(())
}

/// 1. The origin's TCP connects hang (SYNs dropped): how long until the app hears of it.
async fn connect_black_hole(report: &mut Report) -> Result<()> {
    report.step("1. black-holed connect");
    let hole = ConnectBlackHole::start().await?;
    let pubnub = client(&hole.url(), "rn-connect", 0)?;
    let recorder = Recorder::new(&pubnub);
    let subscription = pubnub
        .channel("rn-connect")
        .subscription(SubscriptionOptions::new());
    let start = Instant::now();
    subscription.subscribe()?;
    let first = recorder
        .wait(LIMIT, |log| log.statuses.first().cloned())
        .await;
    report.add(failure_figure(
        "connect_black_hole",
        "1. black-holed connect → first failure status",
        start,
        first,
    ));
    close(&pubnub, report).await;
    Ok(())
}

/// 2. The origin accepts connections and never answers: a handshake that hangs.
async fn handshake_black_hole(server: &ServerHandle, report: &mut Report) -> Result<()> {
    report.step("2. black-holed handshake");
    let proxy = FaultProxy::start(server.addr()).await?;
    proxy.set(NetFault::BlackHole);
    let pubnub = client(&proxy.url(), "rn-handshake", 0)?;
    let recorder = Recorder::new(&pubnub);
    let subscription = pubnub
        .channel("rn-handshake")
        .subscription(SubscriptionOptions::new());
    let start = Instant::now();
    subscription.subscribe()?;
    let first = recorder
        .wait(LIMIT, |log| log.statuses.first().cloned())
        .await;
    report.add(failure_figure(
        "handshake_black_hole",
        "2. black-holed handshake → first failure status",
        start,
        first,
    ));
    close(&pubnub, report).await;
    proxy.shutdown().await;
    Ok(())
}

/// A long-poll whose connection goes silent (3a: half-open; 3b: the whole origin
/// black-holed), then the network coming back (4).
async fn silent_long_poll(server: &ServerHandle, report: &mut Report) -> Result<()> {
    const CHANNEL: &str = "rn-live";
    report.step("3. half-open long-poll, then a black-holed origin; 4. the network back");
    let proxy = FaultProxy::start(server.addr()).await?;
    let pubnub = client(&proxy.url(), "rn-subscriber", 0)?;
    // Publishes straight to the server, whatever the proxy does.
    let publisher = client(&server.url(), "rn-publisher", 0)?;
    let mut recorder = Recorder::new(&pubnub);
    let subscription = pubnub
        .channel(CHANNEL)
        .subscription(SubscriptionOptions::new());
    recorder.watch_messages(subscription.message_stream());
    let start = Instant::now();
    subscription.subscribe()?;
    let connected = recorder
        .wait(LIMIT, |log| {
            log.status_after(start, StatusCategory::Connected)
        })
        .await;
    if connected.is_none() {
        report.add(Figure::missed(
            "half_open_detection",
            "3a. half-open long-poll → message delivered",
            "≤ 45 s",
            "the client never connected through the proxy",
        ));
        close(&pubnub, report).await;
        return Ok(());
    }

    // 3a. Half-open: the established long-poll is silenced, new connections still work.
    parked(server).await;
    let switch = Instant::now();
    proxy.set(NetFault::HalfOpen);
    publish(&publisher, CHANNEL, "3a-half-open").await?;
    let arrived = recorder
        .wait(LIMIT, |log| log.arrivals("3a-half-open").first().copied())
        .await;
    tokio::time::sleep(DUPLICATE_WINDOW).await;
    let disconnects = recorder.with(|log| {
        log.statuses_after(switch)
            .filter(|s| s.category.story() == StatusCategory::UnexpectedDisconnect)
            .count()
    });
    let copies = recorder.with(|log| log.arrivals("3a-half-open").len());
    let mut figure = match arrived {
        Some(at) => {
            let seconds = (at - switch).as_secs_f64();
            Figure::timed(
                "half_open_detection",
                "3a. half-open long-poll → message delivered",
                seconds,
                "≤ 45 s",
                seconds <= 45.0 && copies == 1,
            )
        }
        None => Figure::missed(
            "half_open_detection",
            "3a. half-open long-poll → message delivered",
            "≤ 45 s",
            "the message did not arrive within 60 s",
        ),
    };
    figure.note(format!(
        "UnexpectedDisconnect seen: {} ({disconnects}); the message arrived {copies}× ({})",
        if disconnects == 0 { "no" } else { "yes" },
        once(copies)
    ));
    report.extra("half_open_unexpected_disconnects", json!(disconnects));
    report.extra("half_open_message_copies", json!(copies));
    report.add(figure);

    // 3b. The whole origin goes silent: the long-poll, and every new connection.
    parked(server).await;
    let black_hole = Instant::now();
    proxy.set(NetFault::BlackHole);
    publish(&publisher, CHANNEL, "3b-outage").await?;
    let reported = recorder
        .wait(LIMIT, |log| {
            log.status_after(black_hole, StatusCategory::UnexpectedDisconnect)
        })
        .await;
    let Some((reported_at, status)) = reported else {
        report.add(Figure::missed(
            "black_hole_detection",
            "3b. black-holed long-poll → UnexpectedDisconnect",
            "≤ 45 s",
            "no UnexpectedDisconnect within 60 s",
        ));
        proxy.set(NetFault::Pass);
        close(&pubnub, report).await;
        return Ok(());
    };
    let seconds = (reported_at - black_hole).as_secs_f64();
    let mut figure = Figure::timed(
        "black_hole_detection",
        "3b. black-holed long-poll → UnexpectedDisconnect",
        seconds,
        "≤ 45 s",
        seconds <= 45.0,
    );
    figure.note(format!("reason: {}", reason(&status)));
    report.add(figure);

    // 4. The network is back: the engine is waiting its first retry delay. The RECEIVE_RECONNECT
    // invocation is traced right after the status it follows; wait for it (briefly).
    let retry = recorder
        .wait(Duration::from_secs(1), |log| log.retry_after(reported_at))
        .await;
    let pass = Instant::now();
    proxy.set(NetFault::Pass);
    let reconnected = recorder
        .wait(LIMIT, |log| {
            log.status_after(pass, StatusCategory::Reconnected)
        })
        .await;
    let outage_message = recorder
        .wait(LIMIT, |log| log.arrivals("3b-outage").first().copied())
        .await;
    // A live message after recovery, then a moment for duplicates of either.
    publish(&publisher, CHANNEL, "4-after").await?;
    let after = recorder
        .wait(LIMIT, |log| log.arrivals("4-after").first().copied())
        .await;
    tokio::time::sleep(DUPLICATE_WINDOW).await;
    let outage_copies = recorder.with(|log| log.arrivals("3b-outage").len());
    let after_copies = recorder.with(|log| log.arrivals("4-after").len());
    let label = "4. network back → Reconnected (idle channel)";
    let mut figure = match (reconnected, retry) {
        (Some((at, _)), Some((retry_at, attempt, delay))) => {
            let seconds = (at - pass).as_secs_f64();
            let waited = (pass - retry_at).as_secs_f64();
            let remaining = (delay - waited).max(0.0);
            let mut figure = Figure::timed(
                "reconnect_after_network_back",
                label,
                seconds,
                &format!("≤ {:.3} s", delay + 0.2),
                seconds <= delay + 0.2 && outage_copies == 1 && after_copies == 1,
            );
            figure.note(format!(
                "the running retry delay (attempt {attempt}) was {delay:.3} s, started {waited:.3} s \
                 before the switch: {remaining:.3} s were left, Reconnected {:+.0} ms after its end",
                (seconds - remaining) * 1000.0
            ));
            report.extra("reconnect_retry_delay_s", json!(round3(delay)));
            report.extra(
                "reconnect_retry_started_before_switch_s",
                json!(round3(waited)),
            );
            report.extra(
                "reconnect_beyond_retry_delay_ms",
                json!(((seconds - remaining) * 1000.0).round()),
            );
            figure
        }
        (Some((at, _)), None) => {
            let seconds = (at - pass).as_secs_f64();
            let mut figure = Figure::timed(
                "reconnect_after_network_back",
                label,
                seconds,
                "≤ retry delay + 0.2 s",
                false,
            );
            figure.note("no RECEIVE_RECONNECT in the trace: the retry delay is unknown".into());
            figure
        }
        (None, _) => Figure::missed(
            "reconnect_after_network_back",
            label,
            "≤ retry delay + 0.2 s",
            "no Reconnected within 60 s",
        ),
    };
    figure.note(format!(
        "message published during the outage: arrived {outage_copies}× ({}){}; \
         a message published after: {after_copies}× ({}){}",
        once(outage_copies),
        outage_message
            .map(|at| format!(", {:.3} s after the switch", (at - pass).as_secs_f64()))
            .unwrap_or_default(),
        once(after_copies),
        after
            .map(|_| String::new())
            .unwrap_or_else(|| " (missed)".into()),
    ));
    report.extra("outage_message_copies", json!(outage_copies));
    report.extra("after_recovery_message_copies", json!(after_copies));
    report.add(figure);

    drop(recorder);
    close(&pubnub, report).await;
    publisher.close().await;
    proxy.shutdown().await;
    Ok(())
}

/// 5. Fifty `subscribe()` calls in a row, each a new channel, with presence on.
async fn heartbeats_per_subscribe_calls(report: &mut Report) -> Result<()> {
    const CALLS: usize = 50;
    report.step("5. heartbeats per 50 subscribe calls");
    let server = Server::builder().record_requests(true).start().await?;
    let pubnub = client(&server.url(), "rn-presence", 60)?;
    let mut subscriptions = Vec::with_capacity(CALLS);
    for n in 0..CALLS {
        let subscription = pubnub
            .channel(format!("rn-hb-{n}"))
            .subscription(SubscriptionOptions::new());
        subscription.subscribe()?;
        subscriptions.push(subscription);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let requests = server.requests();
    let count = |what: &str| requests.iter().filter(|r| r.path.contains(what)).count();
    let heartbeats = count("/heartbeat");
    let mut figure = Figure::counted(
        "heartbeats_per_50_subscribe_calls",
        "5. heartbeat requests after 50 subscribe() calls (3 s)",
        heartbeats,
        "≤ 2",
        heartbeats <= 2,
    );
    // How many channels the last heartbeat and the last subscribe named: every one of the 50
    // should be covered, or the coalescing lost some.
    let channels_of = |what: &str, before: &str| {
        requests
            .iter()
            .rev()
            .find(|r| r.path.contains(what))
            .and_then(|r| {
                let segments = r.path_segments();
                let at = segments.iter().position(|s| s == before)?;
                Some(segments.get(at + 1)?.split(',').count())
            })
            .unwrap_or(0)
    };
    figure.note(format!(
        "requests recorded: {heartbeats} heartbeat (the last for {} channels), {} subscribe \
         (the last for {} channels), {} leave",
        channels_of("/heartbeat", "channel"),
        count("/v2/subscribe/"),
        channels_of("/v2/subscribe/", KEY),
        count("/leave")
    ));
    report.add(figure);
    close(&pubnub, report).await;
    drop(subscriptions);
    server.shutdown().await;
    Ok(())
}

/// 6. `close()` while the origin accepts and never answers (the leave hangs).
async fn close_against_dead_origin(server: &ServerHandle, report: &mut Report) -> Result<()> {
    report.step("6. close() against a dead origin");
    let proxy = FaultProxy::start(server.addr()).await?;
    let pubnub = client(&proxy.url(), "rn-closer", 60)?;
    let recorder = Recorder::new(&pubnub);
    let subscription = pubnub
        .channel("rn-close")
        .subscription(SubscriptionOptions::new());
    let start = Instant::now();
    subscription.subscribe()?;
    let connected = recorder
        .wait(LIMIT, |log| {
            log.status_after(start, StatusCategory::Connected)
        })
        .await;
    if connected.is_none() {
        report.add(Figure::missed(
            "close_dead_origin",
            "6. close() against a dead origin",
            "≤ 2 s",
            "the client never connected through the proxy",
        ));
        close(&pubnub, report).await;
        return Ok(());
    }
    parked(server).await;
    proxy.set(NetFault::BlackHole);
    let start = Instant::now();
    let closed = tokio::time::timeout(LIMIT, pubnub.close()).await;
    let figure = match closed {
        Ok(()) => {
            let seconds = start.elapsed().as_secs_f64();
            Figure::timed(
                "close_dead_origin",
                "6. close() against a dead origin",
                seconds,
                "≤ 2 s",
                seconds <= 2.0,
            )
        }
        Err(_) => Figure::missed(
            "close_dead_origin",
            "6. close() against a dead origin",
            "≤ 2 s",
            "close() did not return within 60 s",
        ),
    };
    report.add(figure);
    proxy.shutdown().await;
    Ok(())
}

/// A client with the default configuration: origin, keys, user id (and the heartbeat interval
/// when `heartbeat` is not 0).
fn client(origin: &str, user: &str, heartbeat: u32) -> Result<PubNub> {
    let mut builder = PubNub::builder(KEY, user).publish_key(KEY).origin(origin);
    if heartbeat != 0 {
        builder = builder.heartbeat_interval(heartbeat);
    }
    Ok(builder.build_client()?)
}

async fn publish(publisher: &PubNub, channel: &str, id: &str) -> Result<()> {
    publisher
        .publish()
        .channel(channel)
        .message(&json!({ "id": id }))
        .await?;
    Ok(())
}

/// Waits (bounded) until a receive long-poll is parked in the server, then a little more, so
/// that the fault that follows hits a long-poll in flight.
async fn parked(server: &ServerHandle) {
    let hub = server.hub();
    let _ = tokio::time::timeout(LIMIT, async {
        while hub.waiting_subscribers() == 0 {
            tokio::time::sleep(POLL).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Closes a client, bounded; says so when that took long.
async fn close(pubnub: &PubNub, report: &Report) {
    let start = Instant::now();
    if tokio::time::timeout(LIMIT, pubnub.close()).await.is_err() {
        report.say("   (close() did not return within 60 s)".into());
    } else if start.elapsed() > Duration::from_secs(2) {
        report.say(format!(
            "   (close() took {:.3} s)",
            start.elapsed().as_secs_f64()
        ));
    }
}

/// The figure for "time until the first status, which should be a failure".
fn failure_figure(
    key: &'static str,
    label: &'static str,
    start: Instant,
    first: Option<(Instant, Status)>,
) -> Figure {
    let Some((at, status)) = first else {
        return Figure::missed(key, label, "≤ 10 s", "no status within 60 s");
    };
    let seconds = (at - start).as_secs_f64();
    let expected = status.category == StatusCategory::UnexpectedDisconnect
        && matches!(
            status.error_category(),
            Some(StatusCategory::Timeout | StatusCategory::NetworkIssues)
        );
    let mut figure = Figure::timed(key, label, seconds, "≤ 10 s", seconds <= 10.0 && expected);
    figure.note(format!(
        "{:?}, error category {}: {}",
        status.category,
        status
            .error_category()
            .map_or_else(|| "none".to_string(), |c| format!("{c:?}")),
        reason(&status)
    ));
    figure
}

fn reason(status: &Status) -> String {
    status
        .error
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| "no error".into())
}

fn once(copies: usize) -> &'static str {
    match copies {
        0 => "LOST",
        1 => "nothing lost, nothing duplicated",
        _ => "DUPLICATED",
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `attempt N: retry in X s` → (N, X).
fn parse_retry(detail: &str) -> Option<(u32, f64)> {
    let (attempt, delay) = detail.strip_prefix("attempt ")?.split_once(": retry in ")?;
    Some((
        attempt.parse().ok()?,
        delay.strip_suffix(" s")?.parse().ok()?,
    ))
}

/// What a client's streams delivered, each with the moment its recorder task received it.
#[derive(Default)]
struct Log {
    statuses: Vec<(Instant, Status)>,
    trace: Vec<(Instant, TraceEntry)>,
    messages: Vec<(Instant, Message)>,
}

impl Log {
    fn statuses_after(&self, since: Instant) -> impl Iterator<Item = &Status> {
        self.statuses
            .iter()
            .filter(move |(at, _)| *at >= since)
            .map(|(_, s)| s)
    }

    fn status_after(&self, since: Instant, category: StatusCategory) -> Option<(Instant, Status)> {
        self.statuses
            .iter()
            .find(|(at, s)| *at >= since && s.category.story() == category)
            .cloned()
    }

    /// When each copy of the message `{"id": id}` arrived.
    fn arrivals(&self, id: &str) -> Vec<Instant> {
        self.messages
            .iter()
            .filter(|(_, m)| m.message.get("id").and_then(Value::as_str) == Some(id))
            .map(|(at, _)| *at)
            .collect()
    }

    /// The last RECEIVE_RECONNECT invocation of the subscribe engine dispatched since `since`
    /// that waits: (when, attempt, delay in seconds).
    fn retry_after(&self, since: Instant) -> Option<(Instant, u32, f64)> {
        self.trace
            .iter()
            .filter(|(at, _)| *at >= since)
            .filter_map(|(at, entry)| match entry {
                TraceEntry::Invocation {
                    machine: "subscribe",
                    name: "RECEIVE_RECONNECT",
                    detail: Some(detail),
                } => parse_retry(detail).map(|(attempt, delay)| (*at, attempt, delay)),
                _ => None,
            })
            .next_back()
    }
}

/// Records a client's statuses, trace and messages in tasks of their own.
struct Recorder {
    log: Arc<Mutex<Log>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Recorder {
    fn new(pubnub: &PubNub) -> Recorder {
        let log = Arc::new(Mutex::new(Log::default()));
        let mut statuses = pubnub.status_stream();
        let mut trace = pubnub.trace();
        let statuses_log = Arc::clone(&log);
        let trace_log = Arc::clone(&log);
        let tasks = vec![
            tokio::spawn(async move {
                while let Some(status) = statuses.next().await {
                    let at = Instant::now();
                    lock(&statuses_log).statuses.push((at, status));
                }
            }),
            tokio::spawn(async move {
                while let Some(entry) = trace.next_entry().await {
                    let at = Instant::now();
                    lock(&trace_log).trace.push((at, entry));
                }
            }),
        ];
        Recorder { log, tasks }
    }

    fn watch_messages(&mut self, mut messages: UpdateStream<Message>) {
        let log = Arc::clone(&self.log);
        self.tasks.push(tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                let at = Instant::now();
                lock(&log).messages.push((at, message));
            }
        }));
    }

    fn with<T>(&self, look: impl FnOnce(&Log) -> T) -> T {
        look(&lock(&self.log))
    }

    /// Polls `look` until it finds something, for at most `limit`.
    async fn wait<T>(&self, limit: Duration, mut look: impl FnMut(&Log) -> Option<T>) -> Option<T> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(found) = look(&lock(&self.log)) {
                return Some(found);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One measured figure and its target.
struct Figure {
    key: &'static str,
    label: &'static str,
    /// Seconds or a count; `null` when it never came.
    value: Value,
    shown: String,
    target: String,
    met: bool,
    notes: Vec<String>,
}

impl Figure {
    fn timed(
        key: &'static str,
        label: &'static str,
        seconds: f64,
        target: &str,
        met: bool,
    ) -> Self {
        Figure {
            key,
            label,
            value: json!(round3(seconds)),
            shown: format!("{seconds:.3} s"),
            target: target.into(),
            met,
            notes: Vec::new(),
        }
    }

    fn counted(
        key: &'static str,
        label: &'static str,
        count: usize,
        target: &str,
        met: bool,
    ) -> Self {
        Figure {
            key,
            label,
            value: json!(count),
            shown: count.to_string(),
            target: target.into(),
            met,
            notes: Vec::new(),
        }
    }

    fn missed(key: &'static str, label: &'static str, target: &str, why: &str) -> Self {
        Figure {
            key,
            label,
            value: Value::Null,
            shown: "missed".into(),
            target: target.into(),
            met: false,
            notes: vec![why.into()],
        }
    }

    fn note(&mut self, note: String) {
        self.notes.push(note);
    }
}

/// Prints figures as they come (stdout, or stderr with `--json`) and the JSON object at the end.
struct Report {
    json: bool,
    figures: Vec<Figure>,
    extra: Map<String, Value>,
}

impl Report {
    fn new(json: bool) -> Self {
        Report {
            json,
            figures: Vec::new(),
            extra: Map::new(),
        }
    }

    fn say(&self, line: String) {
        if self.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    fn step(&self, title: &str) {
        self.say(format!("\n{title}"));
    }

    fn add(&mut self, figure: Figure) {
        self.say(format!(
            "{:<56} {:>10}   target {:<10} {}",
            figure.label,
            figure.shown,
            figure.target,
            if figure.met { "met" } else { "MISSED" }
        ));
        for note in &figure.notes {
            self.say(format!("    {note}"));
        }
        self.figures.push(figure);
    }

    fn extra(&mut self, key: &str, value: Value) {
        self.extra.insert(key.into(), value);
    }

    fn finish(self, total: f64) {
        let met = self.figures.iter().filter(|f| f.met).count();
        self.say(format!(
            "\n{met} of {} targets met; total run time {total:.1} s",
            self.figures.len()
        ));
        if !self.json {
            return;
        }
        let mut out = Map::new();
        let mut targets = Map::new();
        for figure in &self.figures {
            out.insert(figure.key.into(), figure.value.clone());
            targets.insert(figure.key.into(), json!(figure.met));
        }
        out.extend(self.extra);
        out.insert("targets_met".into(), Value::Object(targets));
        out.insert("total_s".into(), json!(round3(total)));
        println!("{}", Value::Object(out));
    }
}

/// `RUST_LOG` logs to stderr (e.g. `RUST_LOG=pubnub_engine=debug`); nothing without it.
fn logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
}

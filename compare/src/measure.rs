//! The measurements, for one SDK or for both side by side in one process.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::sdks::{payload, Arrival, Listener, PublishFn, Sdk, SUB_KEY};

pub const CONCURRENCY: usize = 64;
const MEASURE: Duration = Duration::from_millis(1500);
const WARM_UP: u64 = 100;
const SAMPLES: u64 = 2000;
/// Between latency samples, so that the listener's long-poll is parked when the publish comes.
const GAP: Duration = Duration::from_millis(1);
pub const BURST: u64 = 10_000;
const PATIENCE: Duration = Duration::from_secs(5);
/// No arrival for this long ends a burst's or a fan-out's count.
const QUIET: Duration = Duration::from_secs(2);
/// Listeners connecting at once (fan-out, memory).
const CONNECTING: usize = 32;

type Arrivals = UnboundedReceiver<Arrival>;

/// What to measure (`--only`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Latency,
    Publish,
    Burst,
    Fanout,
    Memory,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::Latency,
        Step::Publish,
        Step::Burst,
        Step::Fanout,
        Step::Memory,
    ];

    pub fn flag(self) -> &'static str {
        match self {
            Step::Latency => "latency",
            Step::Publish => "publish",
            Step::Burst => "burst",
            Step::Fanout => "fanout",
            Step::Memory => "memory",
        }
    }

    pub fn parse(flag: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.flag() == flag)
    }
}

#[derive(serde::Serialize, serde::Deserialize, Default, Debug, Clone)]
pub struct Figures {
    pub publish_sequential_per_sec: f64,
    pub publish_concurrent_per_sec: f64,
    pub publish_failed: u64,
    pub latency_p50_us: f64,
    pub latency_p90_us: f64,
    pub latency_p99_us: f64,
    pub latency_lost: u64,
    pub burst_lost: u64,
    pub burst_duplicated: u64,
    pub burst_delivered_per_sec: f64,
    pub burst_http_lost: u64,
    pub burst_http_duplicated: u64,
    pub burst_http_delivered_per_sec: f64,
    pub fanout_subscribers: u64,
    /// Subscribers × messages of the fan-out: how many deliveries were due.
    pub fanout_expected: u64,
    pub fanout_lost: u64,
    pub fanout_duplicated: u64,
    pub fanout_delivered_per_sec: f64,
    pub memory_clients: u64,
    pub memory_per_client_kib: f64,
}

/// What a run measures, and against what.
pub struct Plan<'a> {
    pub origin: &'a str,
    /// The in-process server's hub, for the hub burst (none against another process).
    pub hub: Option<pubnub_local::hub::Hub>,
    pub steps: &'a [Step],
    pub rounds: usize,
    pub fanout_subscribers: usize,
    pub fanout_messages: u64,
    pub memory_clients: usize,
    pub quiet: bool,
}

impl Plan<'_> {
    fn progress(&self, what: &str) {
        if !self.quiet {
            eprintln!("compare: {what}");
        }
    }

    fn does(&self, step: Step) -> bool {
        self.steps.contains(&step)
    }
}

/// Channel names of this process's own, so that runs against one long-lived server (each SDK
/// in its own process) never share a channel.
fn channel(what: &str, sdk: Sdk) -> String {
    format!("compare-{what}-{}-{}", sdk.flag(), std::process::id())
}

/// Measures `sdks` (one, or both interleaved), in the order: latency first on a fresh process
/// (after the publish runs, ~200 idle keep-alive connections make every SDK's latency 20–60 µs
/// worse), publish, bursts, fan-out, memory.
pub async fn run(plan: &Plan<'_>, sdks: &[Sdk]) -> Vec<Figures> {
    let mut figures = vec![Figures::default(); sdks.len()];
    let publish: Vec<PublishFn> = sdks.iter().map(|sdk| sdk.publisher(plan.origin)).collect();
    if plan.does(Step::Latency) {
        plan.progress("publish → listener latency (interleaved samples)");
        latency(plan.origin, sdks, &publish, &mut figures).await;
    }
    if plan.does(Step::Publish) {
        plan.progress("publish, sequential and 64 in flight");
        publishing(plan.rounds, &publish, &mut figures).await;
    }
    if plan.does(Step::Burst) {
        plan.progress(
            "burst of 10,000 messages (from the hub when in-process), then from each SDK",
        );
        if let Some(hub) = &plan.hub {
            bursts(plan.origin, sdks, &publish, Some(hub), &mut figures).await;
        }
        bursts(plan.origin, sdks, &publish, None, &mut figures).await;
    }
    if plan.does(Step::Fanout) {
        plan.progress(&format!(
            "fan-out: {} messages to {} subscribers",
            plan.fanout_messages, plan.fanout_subscribers
        ));
        for (k, &sdk) in sdks.iter().enumerate() {
            fanout(plan, sdk, &publish[k], &mut figures[k]).await;
        }
    }
    if plan.does(Step::Memory) {
        plan.progress(&format!(
            "memory per subscribed client ({} clients)",
            plan.memory_clients
        ));
        assert_eq!(sdks.len(), 1, "memory is measured in a process of one SDK");
        memory(plan, sdks[0], &mut figures[0]).await;
    }
    figures
}

async fn latency(origin: &str, sdks: &[Sdk], publish: &[PublishFn], figures: &mut [Figures]) {
    let channels: Vec<String> = sdks.iter().map(|&sdk| channel("latency", sdk)).collect();
    let (mut arrivals, listening) = listeners(origin, sdks, &channels, "latency").await;
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); sdks.len()];
    for n in 0..WARM_UP + SAMPLES {
        for k in 0..sdks.len() {
            let sdk = (n as usize + k) % sdks.len();
            tokio::time::sleep(GAP).await;
            let started = Instant::now();
            let sent = publish[sdk](channels[sdk].clone(), n);
            match sample(n, sent, &mut arrivals[sdk]).await {
                Some(at) if n >= WARM_UP => samples[sdk].push(at - started),
                Some(_) => {}
                None => figures[sdk].latency_lost += 1,
            }
        }
    }
    drop(listening);
    for (s, f) in samples.iter_mut().zip(figures) {
        s.sort();
        let at = |q: f64| {
            let i = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len().max(1));
            s.get(i - 1).map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        f.latency_p50_us = at(0.50);
        f.latency_p90_us = at(0.90);
        f.latency_p99_us = at(0.99);
    }
}

async fn publishing(rounds: usize, publish: &[PublishFn], figures: &mut [Figures]) {
    let channel = format!("compare-publish-{}", std::process::id());
    for op in publish {
        // Warm up: connections, code paths.
        throughput(op, &channel, Duration::from_millis(300)).await;
    }
    let n = publish.len();
    let mut sequential: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut concurrent: Vec<Vec<f64>> = vec![Vec::new(); n];
    for round in 0..rounds {
        let rates = interleaved(publish, &channel, MEASURE).await;
        for sdk in 0..n {
            sequential[sdk].push(rates[sdk].0);
            figures[sdk].publish_failed += rates[sdk].1;
        }
        for k in 0..n {
            let sdk = (round + k) % n;
            let (rate, failed) = throughput(&publish[sdk], &channel, MEASURE / 2).await;
            concurrent[sdk].push(rate);
            figures[sdk].publish_failed += failed;
        }
    }
    for sdk in 0..n {
        figures[sdk].publish_sequential_per_sec = median(&mut sequential[sdk]);
        figures[sdk].publish_concurrent_per_sec = median(&mut concurrent[sdk]);
    }
}

/// A burst of [`BURST`] messages to each SDK's listener: from the in-process hub when `hub` is
/// given (the whole burst is in place within a few ms, so the delivery rate is the
/// subscriber's), else from the SDK's own publisher with 64 in flight.
async fn bursts(
    origin: &str,
    sdks: &[Sdk],
    publish: &[PublishFn],
    hub: Option<&pubnub_local::hub::Hub>,
    figures: &mut [Figures],
) {
    let kind = if hub.is_some() { "hub" } else { "http" };
    let channels: Vec<String> = sdks
        .iter()
        .map(|&sdk| channel(&format!("burst-{kind}"), sdk))
        .collect();
    let (mut arrivals, listening) = listeners(origin, sdks, &channels, kind).await;
    for k in 0..sdks.len() {
        // Who goes first alternates between the two kinds.
        let sdk = if hub.is_some() { k } else { sdks.len() - 1 - k };
        let started = Instant::now();
        let channel = channels[sdk].clone();
        let publishing = match hub {
            Some(hub) => {
                let hub = hub.clone();
                tokio::task::spawn_blocking(move || {
                    for n in 0..BURST {
                        let message = pubnub_local::hub::Publish::message(&channel, payload(n));
                        hub.publish(SUB_KEY, message).expect("a valid publish");
                    }
                })
            }
            None => {
                let op = publish[sdk].clone();
                tokio::spawn(async move {
                    let op = Arc::new(move |n| op(channel.clone(), n));
                    let _ = run_ops(CONCURRENCY, Duration::from_secs(60), BURST, op).await;
                })
            }
        };
        let counted = count(&mut arrivals[sdk], 1, BURST).await;
        let _ = publishing.await;
        let elapsed = counted
            .last
            .map_or(1e-9, |last| (last - started).as_secs_f64());
        let f = &mut figures[sdk];
        let (lost, duplicated, rate) = match hub {
            Some(_) => (
                &mut f.burst_lost,
                &mut f.burst_duplicated,
                &mut f.burst_delivered_per_sec,
            ),
            None => (
                &mut f.burst_http_lost,
                &mut f.burst_http_duplicated,
                &mut f.burst_http_delivered_per_sec,
            ),
        };
        *lost = BURST - counted.delivered;
        *duplicated = counted.duplicated;
        *rate = counted.delivered as f64 / elapsed;
    }
    drop(listening);
}

/// `fanout_subscribers` clients of `sdk`, each subscribed to one channel, and
/// `fanout_messages` published to it one after another by the SDK's publisher: deliveries lost,
/// duplicated, and delivered per second from the first publish to the last delivery.
async fn fanout(plan: &Plan<'_>, sdk: Sdk, publish: &PublishFn, figures: &mut Figures) {
    let (tx, mut arrivals) = unbounded_channel();
    let channel = channel("fanout", sdk);
    let subscribers = connect(
        plan.origin,
        sdk,
        plan.fanout_subscribers,
        |_| channel.clone(),
        &tx,
    )
    .await;
    drop(tx);
    let started = Instant::now();
    for n in 0..plan.fanout_messages {
        if !publish(channel.clone(), n).await {
            figures.publish_failed += 1;
        }
    }
    let counted = count(&mut arrivals, plan.fanout_subscribers, plan.fanout_messages).await;
    drop(subscribers);
    let expected = plan.fanout_subscribers as u64 * plan.fanout_messages;
    figures.fanout_subscribers = plan.fanout_subscribers as u64;
    figures.fanout_expected = expected;
    figures.fanout_lost = expected - counted.delivered;
    figures.fanout_duplicated = counted.duplicated;
    figures.fanout_delivered_per_sec = counted.delivered as f64
        / counted
            .last
            .map_or(1e-9, |last| (last - started).as_secs_f64());
}

/// The resident memory one subscribed client of `sdk` adds to this process: `memory_clients`
/// clients, each subscribed to a channel of its own and parked in its receive long-poll, after
/// one warm-up client (which sets up what every client of the process shares).
async fn memory(plan: &Plan<'_>, sdk: Sdk, figures: &mut Figures) {
    let (tx, _arrivals) = unbounded_channel();
    let warm_up = connect(plan.origin, sdk, 1, |_| channel("memory-warm-up", sdk), &tx).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let Some(before) = rss_kib() else {
        eprintln!("compare: no /proc/self/status here: memory not measured");
        return;
    };
    let clients = connect(
        plan.origin,
        sdk,
        plan.memory_clients,
        |i| channel(&format!("memory-{i}"), sdk),
        &tx,
    )
    .await;
    // Every receive long-poll parked.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib().unwrap_or(before);
    drop((clients, warm_up));
    figures.memory_clients = plan.memory_clients as u64;
    figures.memory_per_client_kib =
        after.saturating_sub(before) as f64 / plan.memory_clients as f64;
}

/// `count` listeners of `sdk`, the `i`-th on `channel(i)`, connected a few at a time.
async fn connect(
    origin: &str,
    sdk: Sdk,
    count: usize,
    channel: impl Fn(usize) -> String,
    tx: &tokio::sync::mpsc::UnboundedSender<Arrival>,
) -> Vec<Listener> {
    let pid = std::process::id();
    futures::stream::iter(0..count)
        .map(|i| {
            let (channel, tx) = (channel(i), tx.clone());
            async move {
                sdk.listener(origin, &channel, &format!("compare-{pid}-{i}"), i, tx)
                    .await
            }
        })
        .buffer_unordered(CONNECTING)
        .collect()
        .await
}

/// VmRSS of this process.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One listener per SDK, on its channel; the arrivals of each.
async fn listeners(
    origin: &str,
    sdks: &[Sdk],
    channels: &[String],
    tag: &str,
) -> (Vec<Arrivals>, Vec<Listener>) {
    let mut arrivals = Vec::new();
    let mut listening = Vec::new();
    for (k, &sdk) in sdks.iter().enumerate() {
        let (tx, rx) = unbounded_channel();
        let user = format!(
            "compare-listener-{tag}-{}-{}",
            sdk.flag(),
            std::process::id()
        );
        listening.push(sdk.listener(origin, &channels[k], &user, 0, tx).await);
        arrivals.push(rx);
    }
    (arrivals, listening)
}

/// Sequential publishes of the SDKs, interleaved one request at a time (who goes first
/// rotates): publishes per second of each over its own busy time, and failures.
async fn interleaved(publish: &[PublishFn], channel: &str, duration: Duration) -> Vec<(f64, u64)> {
    let n = publish.len();
    let mut busy = vec![Duration::ZERO; n];
    let mut done = vec![0u64; n];
    let mut failed = vec![0u64; n];
    let deadline = Instant::now() + duration;
    let mut i = 0u64;
    while Instant::now() < deadline {
        for k in 0..n {
            let sdk = (i as usize + k) % n;
            let started = Instant::now();
            let ok = publish[sdk](channel.to_string(), i).await;
            busy[sdk] += started.elapsed();
            if ok {
                done[sdk] += 1;
            } else {
                failed[sdk] += 1;
            }
        }
        i += 1;
    }
    (0..n)
        .map(|k| (done[k] as f64 / busy[k].as_secs_f64().max(1e-9), failed[k]))
        .collect()
}

/// [`CONCURRENCY`] tasks publishing for `duration`: publishes per second and failures.
async fn throughput(op: &PublishFn, channel: &str, duration: Duration) -> (f64, u64) {
    throughput_at(op, channel, CONCURRENCY, duration).await
}

/// Publishes with `concurrency` in flight for `duration`: publishes per second, failures.
pub async fn throughput_at(
    op: &PublishFn,
    channel: &str,
    concurrency: usize,
    duration: Duration,
) -> (f64, u64) {
    let (op, channel) = (op.clone(), channel.to_string());
    run_ops(
        concurrency,
        duration,
        u64::MAX,
        Arc::new(move |n| op(channel.clone(), n)),
    )
    .await
}

type Op = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

async fn run_ops(concurrency: usize, duration: Duration, max: u64, op: Op) -> (f64, u64) {
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, failed, op) = (next.clone(), failed.clone(), op.clone());
            tokio::spawn(async move {
                let mut done = 0u64;
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= max || Instant::now() >= deadline {
                        return done;
                    }
                    if op(n).await {
                        done += 1;
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        done += task.await.unwrap_or(0);
    }
    let rate = done as f64 / started.elapsed().as_secs_f64();
    (rate, failed.load(Ordering::Relaxed))
}

/// Publishes and waits for message `n` to arrive: the arrival time, or `None` when it did not.
async fn sample(
    n: u64,
    publish: impl Future<Output = bool>,
    arrivals: &mut Arrivals,
) -> Option<Instant> {
    let arrival = async {
        loop {
            match arrivals.recv().await {
                Some((_, m, at)) if m == n => return Some(at),
                Some(_) => continue,
                None => return None,
            }
        }
    };
    let (sent, arrived) = tokio::join!(publish, tokio::time::timeout(PATIENCE, arrival));
    match (sent, arrived) {
        (true, Ok(Some(at))) => Some(at),
        _ => None,
    }
}

struct Counted {
    delivered: u64,
    duplicated: u64,
    last: Option<Instant>,
}

/// Counts arrivals of messages `0..messages` at `listeners` listeners until all came or none
/// came for [`QUIET`]: distinct deliveries, duplicates, and when the last one arrived.
async fn count(arrivals: &mut Arrivals, listeners: usize, messages: u64) -> Counted {
    let expected = listeners as u64 * messages;
    let mut seen = vec![false; expected as usize];
    let mut counted = Counted {
        delivered: 0,
        duplicated: 0,
        last: None,
    };
    while counted.delivered < expected {
        match tokio::time::timeout(QUIET, arrivals.recv()).await {
            Ok(Some((id, n, at))) => {
                counted.last = Some(at);
                if n >= messages {
                    continue;
                }
                match seen.get_mut(id * messages as usize + n as usize) {
                    Some(true) => counted.duplicated += 1,
                    Some(slot) => {
                        *slot = true;
                        counted.delivered += 1;
                    }
                    None => {}
                }
            }
            _ => break,
        }
    }
    counted
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

//! pubnub-engine side by side with PubNub's official Rust crate (`pubnub` 0.9), in one run,
//! against one in-process `pubnub-local` on loopback.
//!
//! `cargo run --release --manifest-path compare/Cargo.toml -- [--json] [--rounds N]
//!  [--python PATH] [--buffer N]`
//!
//! Both SDKs run on the same client runtime (2 workers), the server on a runtime of its own
//! (2 workers), and every figure is taken for both in the same moments: sequential publishes and
//! latency samples are interleaved one by one, the concurrent and burst runs alternate which
//! SDK goes first. Each SDK publishes with its own client and listens with its own subscriber
//! on channels of its own, its messages read as a stream by a task of the application's (the
//! official crate's only way; ours can also call back). The server keeps 10,000 messages per
//! channel, so a message missing from a burst was lost by the SDK, not by the server's queue
//! (`--buffer 100` gives it the service's queue instead, where a subscriber that falls behind
//! loses what overflows).
//! `--python PATH` then runs `python/sdk.py` with that interpreter (PubNub's Python SDK
//! installed) against the same server, and adds its figures.
//!
//! `--origin URL` measures against a server in another process instead (the `pubnub-local`
//! binary, or any PubNub-compatible server): no hub burst then, since the hub is in-process
//! only. `--size BYTES` pads every published message to about that many bytes of JSON (e.g.
//! 30720 for the 30 KiB figures), and `--no-burst` skips the bursts.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use pubnub::subscribe::{EventEmitter, EventSubscriber, SubscriptionParams};
use pubnub::transport::TransportReqwest;
use pubnub::{Keyset, PubNubClientBuilder};
use serde_json::{json, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

const SUB_KEY: &str = "sub-c-compare";
const PUB_KEY: &str = "pub-c-compare";
const CONCURRENCY: usize = 64;
const MEASURE: Duration = Duration::from_millis(1500);
const WARM_UP: u64 = 100;
const SAMPLES: u64 = 2000;
/// Between latency samples, so that the listener's long-poll is parked when the publish comes.
const GAP: Duration = Duration::from_millis(1);
const BURST: u64 = 10_000;
const PATIENCE: Duration = Duration::from_secs(5);

/// The two SDKs, in the order of every table: ours first.
const SDKS: [&str; 2] = ["pubnub-engine", "pubnub 0.9 (official)"];

type Arrivals = UnboundedReceiver<(u64, Instant)>;

/// Publishing with one SDK: a boxed operation per message number.
type PublishFn =
    Arc<dyn Fn(String, u64) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// The `text` of every message: `--size` sets it.
static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn payload(n: u64) -> Value {
    let text = TEXT
        .get()
        .map_or("hello from the benchmark", String::as_str);
    json!({"text": text, "n": n})
}

fn main() {
    let mut json_out = false;
    let mut rounds = 3usize;
    let mut python: Option<String> = None;
    let mut buffer = BURST as usize;
    let mut origin: Option<String> = None;
    let mut bursts = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json_out = true,
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=15).contains(n))
                    .unwrap_or_else(|| usage())
            }
            "--python" => python = Some(args.next().unwrap_or_else(|| usage())),
            "--origin" => origin = Some(args.next().unwrap_or_else(|| usage())),
            "--no-burst" => bursts = false,
            "--size" => {
                let size: usize = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (40..=32_000).contains(n))
                    .unwrap_or_else(|| usage());
                // `{"text":"…","n":NNNN}`: about 25 bytes around the text.
                TEXT.set("x".repeat(size - 25)).expect("set once");
            }
            "--buffer" => {
                buffer = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| usage())
            }
            _ => usage(),
        }
    }
    let server_runtime = runtime("compare-server");
    let server = match &origin {
        Some(_) => None,
        None => Some(
            server_runtime
                .block_on(pubnub_local::Server::builder().buffer_size(buffer).start())
                .expect("pubnub-local starts on loopback"),
        ),
    };
    let in_process = server.is_some();
    let hub = server.as_ref().map(|s| s.hub()).filter(|_| bursts);
    let origin = match (origin, &server) {
        (Some(origin), _) => origin.trim_end_matches('/').to_string(),
        (None, Some(server)) => server.url(),
        (None, None) => unreachable!("either --origin or an in-process server"),
    };
    let client_runtime = runtime("compare-client");
    let report = client_runtime.block_on(async move {
        // On a worker, as an application's tasks are (block_on would poll it on the main thread).
        let task = tokio::spawn(async move {
            let mut report = tokio::time::timeout(
                Duration::from_secs(180),
                run(&origin, hub, bursts, rounds, json_out),
            )
            .await
            .expect("the comparison finishes within 3 minutes");
            if let Some(python) = python {
                if !json_out {
                    eprintln!("compare: the official Python SDK (a child process)");
                }
                report.official_python = Some(python_sdk(&python, &origin).await);
            }
            report.in_process = in_process;
            report
        });
        task.await.expect("the comparison does not panic")
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        print_table(&report);
    }
    std::process::exit(0);
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo run --release --manifest-path compare/Cargo.toml -- [--json] [--rounds N] \
         [--python PATH-TO-PYTHON-WITH-PUBNUB] [--buffer MESSAGES-PER-CHANNEL] [--origin URL] \
         [--size BYTES] [--no-burst]"
    );
    std::process::exit(2);
}

fn runtime(name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Our client, publishing and subscribing.
fn ours(origin: &str, user: &str) -> pubnub_engine::PubNub {
    pubnub_engine::PubNub::builder(SUB_KEY, user)
        .publish_key(PUB_KEY)
        .origin(origin)
        .build_client()
        .expect("a valid configuration")
}

/// The official crate's client, with its reqwest transport pointed at `origin`.
fn official(origin: &str, user: &str) -> pubnub::PubNubClient {
    let mut transport = TransportReqwest::default();
    transport.set_hostname(origin);
    PubNubClientBuilder::with_transport(transport)
        .with_keyset(Keyset {
            subscribe_key: SUB_KEY,
            publish_key: Some(PUB_KEY),
            secret_key: None,
        })
        .with_user_id(user)
        .build()
        .expect("a valid official configuration")
}

fn publishers(origin: &str) -> [PublishFn; 2] {
    let a = ours(origin, "compare-publisher");
    let b = official(origin, "compare-publisher-official");
    [
        Arc::new(move |channel: String, n: u64| {
            let a = a.clone();
            Box::pin(async move {
                a.publish()
                    .channel(&channel)
                    .message(&payload(n))
                    .await
                    .is_ok()
            })
        }),
        Arc::new(move |channel: String, n: u64| {
            let b = b.clone();
            Box::pin(async move {
                b.publish_message(payload(n))
                    .channel(channel)
                    .execute()
                    .await
                    .is_ok()
            })
        }),
    ]
}

/// Subscribes each SDK's listener to `channels[i]`; every message's `n` arrives on the
/// returned receivers with the moment the SDK handed it to the application.
async fn listeners(origin: &str, channels: [&str; 2], tag: &str) -> ([Arrivals; 2], Listening) {
    let (tx_a, rx_a) = unbounded_channel();
    let (tx_b, rx_b) = unbounded_channel();

    let a = ours(origin, &format!("compare-listener-{tag}"));
    let subscription = a
        .channel(channels[0])
        // Room for a whole burst, as the official crate's streams (unbounded) have.
        .subscription(pubnub_engine::SubscriptionOptions::new().stream_capacity(BURST as usize));
    // Read as a stream by a task of the application's, as the official crate's messages are
    // (it has no callbacks); `on_message` would save that task's wake-up.
    let mut messages = subscription.message_stream();
    let tx = tx_a.clone();
    tokio::spawn(async move {
        while let Some(message) = messages.next().await {
            let at = Instant::now();
            if let Some(n) = message.message["n"].as_u64() {
                if tx.send((n, at)).is_err() {
                    return;
                }
            }
        }
    });
    let mut statuses = a.status_stream();
    subscription.subscribe().expect("a valid subscription");
    let connected = tokio::time::timeout(PATIENCE, statuses.next()).await;
    assert!(
        matches!(connected, Ok(Some(ref s)) if s.category == pubnub_engine::StatusCategory::Connected),
        "pubnub-engine did not connect: {connected:?}"
    );

    let b = official(origin, &format!("compare-listener-official-{tag}"));
    let mut status = b.status_stream();
    let official_subscription = b.subscription(SubscriptionParams {
        channels: Some(&[channels[1]]),
        channel_groups: None,
        options: None,
    });
    let stream = official_subscription.messages_stream();
    official_subscription.subscribe();
    forward_official(stream, tx_b);
    let connected = tokio::time::timeout(PATIENCE, status.next()).await;
    assert!(
        matches!(
            connected,
            Ok(Some(pubnub::subscribe::ConnectionStatus::Connected))
        ),
        "the official SDK did not connect: {connected:?}"
    );
    (
        [rx_a, rx_b],
        Listening {
            _ours: (a, subscription),
            _official: (b, official_subscription),
        },
    )
}

/// The official crate delivers messages as a stream of raw payload bytes.
fn forward_official<S>(mut stream: S, tx: UnboundedSender<(u64, Instant)>)
where
    S: futures::Stream<Item = pubnub::subscribe::Message> + Send + Unpin + 'static,
{
    tokio::spawn(async move {
        while let Some(message) = stream.next().await {
            let at = Instant::now();
            let n = serde_json::from_slice::<Value>(&message.data)
                .ok()
                .and_then(|v| v["n"].as_u64());
            if let Some(n) = n {
                if tx.send((n, at)).is_err() {
                    return;
                }
            }
        }
    });
}

/// Keeps both listeners alive while a measurement runs.
struct Listening {
    _ours: (pubnub_engine::PubNub, pubnub_engine::Subscription),
    _official: (
        pubnub::PubNubClient,
        pubnub::subscribe::SubscriptionSet<
            pubnub::transport::middleware::PubNubMiddleware<TransportReqwest>,
            pubnub::providers::deserialization_serde::DeserializerSerde,
        >,
    ),
}

#[derive(serde::Serialize, Default, Debug, Clone)]
struct Figures {
    publish_sequential_per_sec: f64,
    publish_concurrent_per_sec: f64,
    publish_failed: u64,
    latency_p50_us: f64,
    latency_p90_us: f64,
    latency_p99_us: f64,
    latency_lost: u64,
    burst_lost: u64,
    burst_duplicated: u64,
    burst_delivered_per_sec: f64,
    burst_http_lost: u64,
    burst_http_duplicated: u64,
    burst_http_delivered_per_sec: f64,
}

#[derive(serde::Serialize, Debug)]
struct Report {
    origin: String,
    rounds: usize,
    cores: usize,
    pubnub_engine: Figures,
    official_rust: Figures,
    /// With `--python`: what `python/sdk.py` measured, as it printed it.
    official_python: Option<Value>,
    /// The server ran in this process (not `--origin`).
    in_process: bool,
    /// The bytes of JSON of each published message.
    message_bytes: usize,
}

async fn run(
    origin: &str,
    hub: Option<pubnub_local::hub::Hub>,
    bursts: bool,
    rounds: usize,
    quiet: bool,
) -> Report {
    let progress = |what: &str| {
        if !quiet {
            eprintln!("compare: {what}");
        }
    };
    let mut figures = [Figures::default(), Figures::default()];
    let publish = publishers(origin);

    // Latency first, on a fresh process: after the publish runs, ~200 idle keep-alive
    // connections make every SDK's latency (and the bare floor's in the bench) 20–60 µs worse.
    progress("publish → listener latency (interleaved samples)");
    let channels = ["compare-latency", "compare-latency-official"];
    let (mut arrivals, listening) = listeners(origin, channels, "latency").await;
    let mut samples: [Vec<Duration>; 2] = Default::default();
    for n in 0..WARM_UP + SAMPLES {
        for k in 0..2 {
            let sdk = (n as usize + k) % 2;
            tokio::time::sleep(GAP).await;
            let started = Instant::now();
            let sent = publish[sdk](channels[sdk].to_string(), n);
            match sample(n, sent, &mut arrivals[sdk]).await {
                Some(at) if n >= WARM_UP => samples[sdk].push(at - started),
                Some(_) => {}
                None => figures[sdk].latency_lost += 1,
            }
        }
    }
    drop(listening);
    for sdk in 0..2 {
        let s = &mut samples[sdk];
        s.sort();
        let at = |q: f64| {
            let i = ((q * s.len() as f64).ceil() as usize).clamp(1, s.len().max(1));
            s.get(i - 1).map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        figures[sdk].latency_p50_us = at(0.50);
        figures[sdk].latency_p90_us = at(0.90);
        figures[sdk].latency_p99_us = at(0.99);
    }

    progress("publish, sequential and 64 in flight");
    for op in &publish {
        // Warm up: connections, code paths.
        throughput(
            op,
            "compare-publish",
            CONCURRENCY,
            Duration::from_millis(300),
        )
        .await;
    }
    let mut sequential: [Vec<f64>; 2] = Default::default();
    let mut concurrent: [Vec<f64>; 2] = Default::default();
    for round in 0..rounds {
        let rates = interleaved(&publish, MEASURE).await;
        for sdk in 0..2 {
            sequential[sdk].push(rates[sdk].0);
            figures[sdk].publish_failed += rates[sdk].1;
        }
        for k in 0..2 {
            let sdk = (round + k) % 2;
            let (rate, failed) =
                throughput(&publish[sdk], "compare-publish", CONCURRENCY, MEASURE / 2).await;
            concurrent[sdk].push(rate);
            figures[sdk].publish_failed += failed;
        }
    }
    for sdk in 0..2 {
        figures[sdk].publish_sequential_per_sec = median(&mut sequential[sdk]);
        figures[sdk].publish_concurrent_per_sec = median(&mut concurrent[sdk]);
    }

    let kinds: &[&str] = match (bursts, hub.is_some()) {
        (false, _) => &[],
        (true, true) => &["hub", "http"],
        (true, false) => &["http"],
    };
    if bursts {
        progress("burst of 10,000 messages (from the hub when in-process), then from each SDK");
    }
    for &kind in kinds {
        let channels = [
            format!("compare-burst-{kind}"),
            format!("compare-burst-{kind}-official"),
        ];
        let (mut arrivals, listening) = listeners(origin, [&channels[0], &channels[1]], kind).await;
        for k in 0..2 {
            let sdk = if kind == "hub" { k } else { 1 - k };
            let started = Instant::now();
            let channel = channels[sdk].clone();
            let publishing = match kind {
                "hub" => {
                    let hub = hub.clone().expect("hub bursts only in-process");
                    tokio::task::spawn_blocking(move || {
                        for n in 0..BURST {
                            let message = pubnub_local::hub::Publish::message(&channel, payload(n));
                            hub.publish(SUB_KEY, message).expect("a valid publish");
                        }
                    })
                }
                _ => {
                    let op = publish[sdk].clone();
                    tokio::spawn(async move {
                        let op = Arc::new(move |n| op(channel.clone(), n));
                        let _ = run_ops(CONCURRENCY, Duration::from_secs(60), BURST, op).await;
                    })
                }
            };
            let (delivered, duplicated, last) = count(&mut arrivals[sdk]).await;
            let _ = publishing.await;
            let elapsed = last.map_or(1e-9, |last| (last - started).as_secs_f64());
            let f = &mut figures[sdk];
            let (lost, dup, rate) = match kind {
                "hub" => (
                    &mut f.burst_lost,
                    &mut f.burst_duplicated,
                    &mut f.burst_delivered_per_sec,
                ),
                _ => (
                    &mut f.burst_http_lost,
                    &mut f.burst_http_duplicated,
                    &mut f.burst_http_delivered_per_sec,
                ),
            };
            *lost = BURST - delivered;
            *dup = duplicated;
            *rate = delivered as f64 / elapsed;
        }
        drop(listening);
    }

    let [pubnub_engine, official_rust] = figures;
    Report {
        origin: origin.to_string(),
        rounds,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        pubnub_engine,
        official_rust,
        official_python: None,
        in_process: false,
        message_bytes: payload(0).to_string().len(),
    }
}

/// Runs `python/sdk.py` with `python` against `origin` (the server keeps running meanwhile)
/// and returns the one JSON object it prints.
async fn python_sdk(python: &str, origin: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/sdk.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg(origin)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stderr(std::process::Stdio::inherit())
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), output)
        .await
        .expect("the Python SDK's measurements finish within 5 minutes")
        .expect("python starts");
    assert!(
        output.status.success(),
        "python/sdk.py failed: {}",
        output.status
    );
    serde_json::from_slice(&output.stdout).expect("python/sdk.py prints one JSON object")
}

/// Sequential publishes of both SDKs, interleaved one request at a time (who goes first
/// alternates): publishes per second of each over its own busy time, and failures.
async fn interleaved(publish: &[PublishFn; 2], duration: Duration) -> [(f64, u64); 2] {
    let mut busy = [Duration::ZERO; 2];
    let mut done = [0u64; 2];
    let mut failed = [0u64; 2];
    let deadline = Instant::now() + duration;
    let mut n = 0u64;
    while Instant::now() < deadline {
        for k in 0..2 {
            let sdk = (n as usize + k) % 2;
            let started = Instant::now();
            let ok = publish[sdk]("compare-publish".to_string(), n).await;
            busy[sdk] += started.elapsed();
            if ok {
                done[sdk] += 1;
            } else {
                failed[sdk] += 1;
            }
        }
        n += 1;
    }
    [0, 1].map(|k| (done[k] as f64 / busy[k].as_secs_f64().max(1e-9), failed[k]))
}

/// `concurrency` tasks publishing for `duration`: publishes per second and failures.
async fn throughput(
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

type Op = Arc<dyn Fn(u64) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

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
                Some((m, at)) if m == n => return Some(at),
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

/// Counts a burst's arrivals until all came or none came for two seconds: distinct messages,
/// duplicates, and when the last one arrived.
async fn count(arrivals: &mut Arrivals) -> (u64, u64, Option<Instant>) {
    let mut seen = vec![false; BURST as usize];
    let (mut delivered, mut duplicated, mut last) = (0u64, 0u64, None);
    while delivered < BURST {
        match tokio::time::timeout(Duration::from_secs(2), arrivals.recv()).await {
            Ok(Some((n, at))) => {
                last = Some(at);
                match seen.get_mut(n as usize) {
                    Some(true) => duplicated += 1,
                    Some(slot) => {
                        *slot = true;
                        delivered += 1;
                    }
                    None => {}
                }
            }
            _ => break,
        }
    }
    (delivered, duplicated, last)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn print_table(report: &Report) {
    let (a, b) = (&report.pubnub_engine, &report.official_rust);
    let py = report.official_python.as_ref();
    let py_f = |key: &str| py.and_then(|p| p[key].as_f64());
    let python_name = py
        .and_then(|p| p["version"].as_str())
        .map_or("python".to_string(), |v| format!("python {v} (official)"));
    // The "advantage" columns say how many times better ours is: higher rates, lower latencies.
    print!("{:<44}{:>16}{:>24}", "figure", SDKS[0], SDKS[1]);
    if py.is_some() {
        print!("{:>26}", python_name);
    }
    print!("{:>12}", "vs Rust");
    if py.is_some() {
        print!("{:>12}", "vs Python");
    }
    println!();
    let row = |name: &str, unit: &str, ours: f64, rust: f64, python: Option<f64>, lower: bool| {
        let better = |theirs: f64| match lower {
            true => theirs / ours.max(1e-9),
            false => ours / theirs.max(1e-9),
        };
        print!(
            "{name:<44}{:>16}{:>24}",
            format!("{ours:.0}{unit}"),
            format!("{rust:.0}{unit}")
        );
        if py.is_some() {
            print!(
                "{:>26}",
                python.map_or("–".to_string(), |p| format!("{p:.0}{unit}"))
            );
        }
        print!("{:>11.2}x", better(rust));
        if py.is_some() {
            print!(
                "{:>12}",
                python.map_or("–".to_string(), |p| format!("{:.2}x", better(p)))
            );
        }
        println!();
    };
    row(
        "publish, sequential",
        "/s",
        a.publish_sequential_per_sec,
        b.publish_sequential_per_sec,
        py_f("publish_sequential_per_sec"),
        false,
    );
    row(
        "publish, 64 in flight",
        "/s",
        a.publish_concurrent_per_sec,
        b.publish_concurrent_per_sec,
        py_f("publish_concurrent_per_sec"),
        false,
    );
    for (name, key, ours, rust) in [
        (
            "publish → listener latency p50",
            "latency_p50_us",
            a.latency_p50_us,
            b.latency_p50_us,
        ),
        (
            "publish → listener latency p90",
            "latency_p90_us",
            a.latency_p90_us,
            b.latency_p90_us,
        ),
        (
            "publish → listener latency p99",
            "latency_p99_us",
            a.latency_p99_us,
            b.latency_p99_us,
        ),
    ] {
        row(name, " µs", ours, rust, py_f(key), true);
    }
    let burst = |f: &Figures, http: bool| match http {
        false => format!(
            "{} / {} / {:.0}/s",
            f.burst_lost, f.burst_duplicated, f.burst_delivered_per_sec
        ),
        true => format!(
            "{} / {} / {:.0}/s",
            f.burst_http_lost, f.burst_http_duplicated, f.burst_http_delivered_per_sec
        ),
    };
    // Only the bursts that ran (none with --no-burst; no hub burst with --origin).
    if a.burst_delivered_per_sec > 0.0 || b.burst_delivered_per_sec > 0.0 {
        println!(
            "{:<44}{:>16}{:>24}",
            "burst from the hub: lost/dup/delivered",
            burst(a, false),
            burst(b, false)
        );
    }
    let http_burst = a.burst_http_delivered_per_sec > 0.0 || b.burst_http_delivered_per_sec > 0.0;
    if http_burst {
        print!(
            "{:<44}{:>16}{:>24}",
            "burst, own publisher: lost/dup/delivered",
            burst(a, true),
            burst(b, true)
        );
    }
    if let Some(p) = py.filter(|_| http_burst) {
        print!(
            "{:>26}",
            format!(
                "{} / {} / {:.0}/s",
                p["burst_http_lost"],
                p["burst_http_duplicated"],
                p["burst_http_delivered_per_sec"].as_f64().unwrap_or(0.0)
            )
        );
    }
    if http_burst {
        println!();
    }
    println!(
        "\nfailed publishes: {} / {}{}; {} rounds (medians), {} cores, messages of {} bytes, origin {}{}",
        a.publish_failed,
        b.publish_failed,
        py.map_or(String::new(), |p| format!(" / {}", p["publish_failed"])),
        report.rounds,
        report.cores,
        report.message_bytes,
        report.origin,
        if report.in_process {
            " (pubnub-local in-process)"
        } else {
            " (another process)"
        }
    );
}

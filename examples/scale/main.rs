//! Thousands of clients in one process (issue 31):
//! `cargo run --release --example scale [-- --clients 100,1000,10000] [--messages 5] [--json]`.
//!
//! A server-side app or a load test runs many clients in one process. This starts
//! `pubnub-local` in a child process (this binary again, `--serve`), then, for each N, a client
//! process (this binary, `--clients-child N`) that opens N clients, each subscribed to a
//! channel of its own and to one shared channel, waits until every long-poll is parked, and
//! measures:
//!
//! - **memory per client**: the client process's RSS after, minus before (one warm-up client
//!   first, for what the process shares), over N;
//! - **fan-out**: `--messages` messages published one at a time on the shared channel; for
//!   each, the time from the publish until each client's callback ran: the last client, the
//!   p50 and p99 over clients, and how many never got it (within 15 s);
//! - **CPU per delivered message**: the client process's user + system CPU time during the
//!   fan-out, over the deliveries.
//!
//! It prints a table (or one JSON object) and writes two SVG charts, memory per client and
//! fan-out time against N, to `target/scale-memory.svg` and `target/scale-fanout.svg`. Nothing
//! is asserted; CI runs it once at N = 1,000.

use std::io::{BufRead, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pubnub_engine::{PubNub, StatusCategory, SubscriptionOptions};

mod chart;
use chart::chart;
use serde_json::{json, Value};

const SUB_KEY: &str = "scale-sub";
const PUB_KEY: &str = "scale-pub";
const SHARED: &str = "scale-shared";
const PATIENCE: Duration = Duration::from_secs(15);

fn main() {
    let mut args = std::env::args().skip(1);
    let mut sizes: Vec<usize> = vec![100, 1_000, 10_000];
    let mut messages = 5usize;
    let mut json_out = false;
    let mut out_dir = String::from("target");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--serve" => return serve(),
            "--clients-child" => {
                let origin = args.next().expect("origin");
                let n = args.next().and_then(|n| n.parse().ok()).expect("N");
                let messages = args.next().and_then(|n| n.parse().ok()).expect("messages");
                return clients_child(&origin, n, messages);
            }
            "--clients" => {
                sizes = args
                    .next()
                    .map(|list| list.split(',').filter_map(|n| n.parse().ok()).collect())
                    .filter(|sizes: &Vec<usize>| !sizes.is_empty())
                    .expect("--clients takes N,N,…")
            }
            "--messages" => {
                messages = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=100).contains(n))
                    .expect("--messages takes 1 to 100")
            }
            "--out" => out_dir = args.next().expect("--out takes a directory"),
            "--json" => json_out = true,
            "--bench" => {}
            other => {
                eprintln!("usage: scale [--clients N,N,…] [--messages M] [--json] [--out DIR] ({other:?}?)");
                std::process::exit(2);
            }
        }
    }
    let exe = std::env::current_exe().expect("this binary");
    let mut server = Command::new(&exe)
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server process starts");
    let mut first = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("the server's URL");
    let origin = first.trim().to_string();
    if !json_out {
        eprintln!("scale: pubnub-local at {origin} (another process)");
    }

    let mut results = Vec::new();
    for &n in &sizes {
        if !json_out {
            eprintln!("scale: {n} clients");
        }
        let output = Command::new(&exe)
            .args([
                "--clients-child",
                &origin,
                &n.to_string(),
                &messages.to_string(),
            ])
            .output()
            .expect("the client process runs");
        let text = String::from_utf8_lossy(&output.stdout);
        match text
            .lines()
            .find_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            Some(result) => results.push(result),
            None => {
                eprintln!(
                    "scale: the {n}-client process failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                std::process::exit(1);
            }
        }
    }
    drop(server.stdin.take());
    let _ = server.wait();

    if json_out {
        println!("{}", json!({ "runs": results }));
    } else {
        println!(
            "{:>7} {:>14} {:>11} {:>12} {:>12} {:>12} {:>7} {:>14}",
            "clients",
            "connect",
            "KiB/client",
            "fan-out last",
            "p50",
            "p99",
            "lost",
            "CPU/delivery"
        );
        for r in &results {
            println!(
                "{:>7} {:>12.2} s {:>11.1} {:>9.1} ms {:>9.1} ms {:>9.1} ms {:>7} {:>11.1} µs",
                r["clients"],
                r["connect_s"].as_f64().unwrap_or(0.0),
                r["kib_per_client"].as_f64().unwrap_or(0.0),
                r["fanout_last_ms"].as_f64().unwrap_or(0.0),
                r["fanout_p50_ms"].as_f64().unwrap_or(0.0),
                r["fanout_p99_ms"].as_f64().unwrap_or(0.0),
                r["lost"],
                r["cpu_us_per_delivery"].as_f64().unwrap_or(0.0),
            );
        }
        println!(
            "\n{messages} messages on the shared channel per N (medians over them; \"last\": the \
             last client's); the clients in one process (2 workers), pubnub-local in another"
        );
    }
    let points = |key: &str| -> Vec<(f64, f64)> {
        results
            .iter()
            .map(|r| {
                (
                    r["clients"].as_f64().unwrap_or(0.0),
                    r[key].as_f64().unwrap_or(0.0),
                )
            })
            .collect()
    };
    let _ = std::fs::create_dir_all(&out_dir);
    let charts = [
        (
            "scale-memory.svg",
            chart(
                "Memory per subscribed client",
                "KiB per client",
                &[("pubnub-engine", points("kib_per_client"))],
            ),
        ),
        (
            "scale-fanout.svg",
            chart(
                "Fan-out of one message to N clients",
                "milliseconds",
                &[
                    ("last client", points("fanout_last_ms")),
                    ("p99", points("fanout_p99_ms")),
                    ("p50", points("fanout_p50_ms")),
                ],
            ),
        ),
    ];
    for (name, svg) in charts {
        let path = format!("{out_dir}/{name}");
        if std::fs::write(&path, svg).is_ok() && !json_out {
            eprintln!("scale: wrote {path}");
        }
    }
}

/// The server process: pubnub-local on 127.0.0.1:0, its URL on stdout, until stdin closes.
fn serve() {
    let _ = pubnub_local::raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        // The service's 280 s hold: parked long-polls stay parked through a run.
        let server = pubnub_local::Server::builder()
            .start()
            .await
            .expect("pubnub-local starts");
        println!("{}", server.url());
        let _ = std::io::stdout().flush();
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
        drop(server);
    });
}

/// A client process: N clients, the figures as one JSON line.
fn clients_child(origin: &str, n: usize, messages: usize) {
    if let Ok((_, limit)) = pubnub_local::raise_fd_limit() {
        if (limit as usize) < n + 100 {
            eprintln!("scale: the open-file limit ({limit}) is below {n} clients");
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let client = |user: String| {
            PubNub::builder(SUB_KEY, user)
                .publish_key(PUB_KEY)
                .origin(origin)
                .build_client()
                .expect("a client")
        };
        let warm = client("scale-warm-up".into());
        warm.time().await.expect("the server answers");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let rss_before = status_kib("VmRSS:");

        // arrivals[k * n + i]: when client i got message k, in µs since the run's start.
        let start = Instant::now();
        let arrivals: Arc<Vec<AtomicU64>> =
            Arc::new((0..n * messages).map(|_| AtomicU64::new(0)).collect());
        let connected = Arc::new(AtomicUsize::new(0));
        let mut held = Vec::with_capacity(n);
        let connect_started = Instant::now();
        for i in 0..n {
            let pubnub = client(format!("scale-{i}"));
            let counted = connected.clone();
            pubnub.add_listener(pubnub_engine::Listener::new().on_status(move |status| {
                if status.category == StatusCategory::Connected {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }));
            let set = pubnub.subscription_set_of(
                [format!("scale-own-{i}"), SHARED.to_string()],
                Vec::<String>::new(),
                SubscriptionOptions::new(),
            );
            let arrivals = arrivals.clone();
            set.on_message(move |message| {
                let k = message.message.to_value()["k"].as_u64().unwrap_or(u64::MAX) as usize;
                if k < messages {
                    let at = start.elapsed().as_micros() as u64;
                    let _ = arrivals[k * n + i].compare_exchange(
                        0,
                        at.max(1),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
            });
            set.subscribe().expect("a valid subscription");
            held.push((pubnub, set));
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while connected.load(Ordering::Relaxed) < n {
            if Instant::now() > deadline {
                eprintln!(
                    "scale: {} of {n} clients connected in 120 s",
                    connected.load(Ordering::Relaxed)
                );
                std::process::exit(1);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let connect_s = connect_started.elapsed().as_secs_f64();
        // Let every long-poll reach the server and park.
        tokio::time::sleep(Duration::from_millis(500 + n as u64 / 10)).await;
        let rss_after = status_kib("VmRSS:");

        let publisher = client("scale-publisher".into());
        let cpu_before = cpu_us();
        let (mut last, mut p50, mut p99) = (Vec::new(), Vec::new(), Vec::new());
        let mut lost = 0usize;
        let mut delivered = 0usize;
        for k in 0..messages {
            let sent_at = start.elapsed().as_micros() as u64;
            publisher
                .publish()
                .channel(SHARED)
                .message(&json!({ "k": k }))
                .await
                .expect("the publish");
            let wait_until = Instant::now() + PATIENCE;
            let slots = &arrivals[k * n..(k + 1) * n];
            while slots.iter().any(|a| a.load(Ordering::Relaxed) == 0)
                && Instant::now() < wait_until
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let mut times: Vec<f64> = slots
                .iter()
                .map(|a| a.load(Ordering::Relaxed))
                .filter(|at| *at != 0)
                .map(|at| at.saturating_sub(sent_at) as f64 / 1000.0)
                .collect();
            lost += n - times.len();
            delivered += times.len();
            times.sort_by(f64::total_cmp);
            if let Some(max) = times.last() {
                last.push(*max);
                p50.push(times[times.len() / 2]);
                p99.push(times[(times.len() * 99 / 100).min(times.len() - 1)]);
            }
            // Let the renewed long-polls park before the next message.
            tokio::time::sleep(Duration::from_millis(300 + n as u64 / 20)).await;
        }
        let cpu = cpu_us().saturating_sub(cpu_before);
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        let result = json!({
            "clients": n,
            "connect_s": connect_s,
            "kib_per_client": (rss_after.saturating_sub(rss_before)) as f64 / n as f64,
            "fanout_last_ms": median(last),
            "fanout_p50_ms": median(p50),
            "fanout_p99_ms": median(p99),
            "lost": lost,
            "delivered": delivered,
            "cpu_us_per_delivery": if delivered > 0 { cpu as f64 / delivered as f64 } else { 0.0 },
        });
        println!("{result}");
        let _ = std::io::stdout().flush();
        // Exit without tearing down N clients one by one.
        std::process::exit(0);
    });
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

/// The process's user + system CPU time, µs (from /proc/self/stat, in clock ticks).
fn cpu_us() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name's closing parenthesis: utime is the 12th, stime 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // USER_HZ: 100 on Linux, whatever the kernel's own tick.
    let per_second = 100;
    (ticks(11) + ticks(12)) * 1_000_000 / per_second
}

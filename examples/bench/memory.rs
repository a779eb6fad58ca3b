//! Memory per subscribed client: 1,000 clients, each subscribed to a channel of its own with
//! its receive long-poll parked at the server, in a child process (this binary again) so that
//! the RSS it reports holds clients only, not the in-process server.

use std::process::Command;
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{StatusCategory, SubscriptionOptions};

use crate::report::Memory;
use crate::throughput::client;

/// The hidden argument that makes the binary the memory child.
pub const CHILD_FLAG: &str = "--memory-child";
const CLIENTS: usize = 1_000;
const PATIENCE: Duration = Duration::from_secs(20);

/// Runs the child and reads its one line of figures.
pub async fn measure(origin: &str) -> Option<Memory> {
    let exe = std::env::current_exe().ok()?;
    let origin = origin.to_string();
    let output =
        tokio::task::spawn_blocking(move || Command::new(exe).arg(CHILD_FLAG).arg(origin).output())
            .await
            .ok()?
            .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().find(|l| l.starts_with("memory "));
    let Some(line) = line else {
        eprintln!(
            "bench: the memory child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    };
    let numbers: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    let [clients, before, after] = numbers[..] else {
        return None;
    };
    Some(Memory {
        clients,
        rss_before_kib: before,
        rss_after_kib: after,
        per_client_kib: (after.saturating_sub(before)) as f64 / clients as f64,
    })
}

/// The child: prints `memory <clients> <rss before KiB> <rss after KiB>` and exits.
pub fn child(origin: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        // What every client of the process shares (the runtime, the connection pool, the TLS
        // configuration) is set up by a first client before the baseline is taken.
        let first = client(origin, "bench-memory-warmup");
        first.time().await.expect("the server answers");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = rss_kib();

        let mut held = Vec::with_capacity(CLIENTS);
        let mut connected = Vec::with_capacity(CLIENTS);
        for i in 0..CLIENTS {
            let pubnub = client(origin, &format!("bench-memory-{i}"));
            let subscription = pubnub
                .channel(format!("bench-memory-{i}"))
                .subscription(SubscriptionOptions::new());
            let mut statuses = pubnub.status_stream();
            subscription.subscribe().expect("a valid subscription");
            connected.push(async move {
                matches!(
                    statuses.next().await,
                    Some(status) if status.category == StatusCategory::Connected
                )
            });
            held.push((pubnub, subscription));
        }
        let all = futures_util::future::join_all(connected);
        let ok = tokio::time::timeout(PATIENCE, all)
            .await
            .map(|results| results.iter().all(|c| *c))
            .unwrap_or(false);
        if !ok {
            eprintln!("not every client connected within {PATIENCE:?}");
            std::process::exit(1);
        }
        // Let every receive long-poll reach the server and park.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib();
        println!("memory {CLIENTS} {before} {after}");
        std::process::exit(0);
    });
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

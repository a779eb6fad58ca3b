//! Publish throughput: the SDK against the floor, sequential (interleaved request by request)
//! and 64 in flight (alternating rounds), so that a busy moment of the machine hurts both alike.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use pubnub_engine::{CryptoModule, PubNub};
use serde_json::json;

use crate::floor::Floor;
use crate::report::{median, Publish, Rate};
use crate::{CONCURRENCY, MEASURE, PUB_KEY, SUB_KEY};

/// The channel publishes go to; nobody subscribes to it.
pub const CHANNEL: &str = "bench-publish";

/// The payload of publish `n`: about 60 bytes of JSON, the same for SDK and floor.
pub fn payload(n: u64) -> serde_json::Value {
    json!({"text": "hello from the benchmark", "n": n})
}

/// The crypto module every SDK client of the run uses (`--crypto`), if any.
pub static CRYPTO: OnceLock<CryptoModule> = OnceLock::new();

/// Gap fill's page budget for the burst listener (`--gap-fill PAGES`), when on.
pub static GAP_FILL: OnceLock<u32> = OnceLock::new();

/// A client of `origin` with the benchmark's keys (and the `--crypto` module).
pub fn client(origin: &str, user: &str) -> PubNub {
    let builder = PubNub::builder(SUB_KEY, user)
        .publish_key(PUB_KEY)
        .origin(origin);
    let builder = match GAP_FILL.get() {
        Some(pages) => builder.gap_fill(*pages),
        None => builder,
    };
    match CRYPTO.get() {
        Some(crypto) => builder.crypto_module(crypto.clone()),
        None => builder,
    }
    .build_client()
    .expect("a valid configuration")
}

/// Runs `op(n)` for n = 0, 1, … from `concurrency` tasks until `duration` has passed or `max`
/// operations have started; returns the completed operations per second and the failures.
pub async fn run<F, Fut>(concurrency: usize, duration: Duration, max: u64, op: F) -> Rate
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let cpu_before = client_cpu_ns();
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
        done += task.await.expect("a benchmark task does not panic");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_ns = client_cpu_ns().saturating_sub(cpu_before);
    Rate {
        per_sec: done as f64 / elapsed,
        failed: failed.load(Ordering::Relaxed),
        cpu_us_per_op: Some(cpu_ns as f64 / 1000.0 / done.max(1) as f64),
    }
}

/// CPU time used so far by the client runtime's threads, in ns (Linux schedstat; 0 elsewhere).
/// Per request, it separates work from waiting; it includes the workers' idle spinning, so it
/// compares runs of the same shape only.
pub fn client_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.trim() == crate::CLIENT_THREADS)
        })
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Publishes through the SDK.
async fn sdk(pubnub: &PubNub, concurrency: usize, duration: Duration) -> Rate {
    let pubnub = pubnub.clone();
    run(concurrency, duration, u64::MAX, move |n| {
        let pubnub = pubnub.clone();
        async move {
            pubnub
                .publish()
                .channel(CHANNEL)
                .message(&payload(n))
                .await
                .is_ok()
        }
    })
    .await
}

/// Sequential publishes through the SDK, the floor and the floor against the minimal server,
/// interleaved one request at a time in one task (the first of each trio rotates): all three
/// see the same machine at the same moment, which matters most here, since an awaited
/// request's speed is mostly how fast sleeping threads wake up.
async fn sequential(
    pubnub: &PubNub,
    floor: &Floor,
    minimal: &Floor,
    duration: Duration,
) -> [Rate; 3] {
    let (pubnub, floor, minimal) = (pubnub.clone(), floor.clone(), minimal.clone());
    let task = tokio::spawn(async move {
        let mut busy = [Duration::ZERO; 3];
        let mut done = [0u64; 3];
        let mut failed = [0u64; 3];
        let deadline = Instant::now() + duration;
        let mut n = 0u64;
        while Instant::now() < deadline {
            for k in 0..3 {
                let which = (n as usize + k) % 3;
                let started = Instant::now();
                let ok = match which {
                    0 => pubnub
                        .publish()
                        .channel(CHANNEL)
                        .message(&payload(n))
                        .await
                        .is_ok(),
                    1 => floor.publish(n).await,
                    _ => minimal.publish(n).await,
                };
                busy[which] += started.elapsed();
                if ok {
                    done[which] += 1;
                } else {
                    failed[which] += 1;
                }
            }
            n += 1;
        }
        [0, 1, 2].map(|k| Rate {
            per_sec: done[k] as f64 / busy[k].as_secs_f64().max(1e-9),
            failed: failed[k],
            cpu_us_per_op: None,
        })
    });
    task.await.expect("a benchmark task does not panic")
}

/// SDK and floor figures against `origin`, and the floor against the minimal server.
pub async fn publish(origin: &str, minimal: &str, rounds: usize) -> Publish {
    let pubnub = client(origin, "bench-publisher");
    let floor = Floor::new(origin, "bench-publisher");
    let floor_minimal = Floor::new(minimal, "bench-publisher");
    // Warm up: open the connections and fault in the code paths.
    let warm = Duration::from_millis(300);
    sdk(&pubnub, CONCURRENCY, warm).await;
    floor.run(CONCURRENCY, warm).await;
    floor_minimal.run(CONCURRENCY, warm).await;

    let mut samples: [Vec<Rate>; 6] = Default::default();
    for round in 0..rounds {
        let [s, f, m] = sequential(&pubnub, &floor, &floor_minimal, MEASURE).await;
        samples[0].push(s);
        samples[1].push(f);
        samples[2].push(m);
        // Which of the two goes first alternates, so neither always meets the machine in the
        // state the other left it in.
        if round % 2 == 0 {
            samples[3].push(sdk(&pubnub, CONCURRENCY, MEASURE / 2).await);
            samples[4].push(floor.run(CONCURRENCY, MEASURE / 2).await);
        } else {
            samples[4].push(floor.run(CONCURRENCY, MEASURE / 2).await);
            samples[3].push(sdk(&pubnub, CONCURRENCY, MEASURE / 2).await);
        }
        samples[5].push(floor_minimal.run(CONCURRENCY, MEASURE / 2).await);
    }
    let m = |i: usize| median(&samples[i]);
    // The ratio of each round's measurements, then the median over rounds: a busy moment of
    // the machine hurts both sides of a round alike.
    let paired = |sdk: usize, floor: usize| {
        let mut ratios: Vec<f64> = samples[sdk]
            .iter()
            .zip(&samples[floor])
            .map(|(s, f)| s.per_sec / f.per_sec.max(1e-9))
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    };
    Publish {
        sequential: m(0),
        floor_sequential: m(1),
        minimal_floor_sequential: m(2),
        sequential_ratio: paired(0, 1),
        concurrent: m(3),
        floor_concurrent: m(4),
        minimal_floor_concurrent: m(5),
        concurrent_ratio: paired(3, 4),
    }
}

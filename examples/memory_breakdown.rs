//! Where a subscribed client's memory goes: `cargo run --release --example memory_breakdown`.
//!
//! Counts live heap bytes with a counting global allocator (this example's own: nothing else
//! pays for it) while N clients (default 1,000) are built, given a subscription with a message
//! stream, subscribed, and left with their long-poll parked at an in-process `pubnub-local`
//! (on a runtime of its own, its allocations counted apart by thread name). Prints the heap
//! bytes per client each phase added, and the process's RSS per client for comparison.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{PubNub, StatusCategory, SubscriptionOptions};

/// Live bytes allocated by client threads, and by server threads.
static CLIENT: AtomicI64 = AtomicI64::new(0);
static SERVER: AtomicI64 = AtomicI64::new(0);

thread_local! {
    static IS_SERVER: Cell<bool> = const { Cell::new(false) };
}

struct Counting;

fn counter() -> &'static AtomicI64 {
    if IS_SERVER.try_with(Cell::get).unwrap_or(false) {
        &SERVER
    } else {
        &CLIENT
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counter().fetch_add(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Freed memory is counted against whoever frees it: close enough for a breakdown in
        // which clients and server share nothing but sockets.
        counter().fetch_sub(layout.size() as i64, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counter().fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(|| IS_SERVER.with(|s| s.set(true)))
        .enable_all()
        .build()
        .unwrap();
    let server = server_runtime
        .block_on(async {
            IS_SERVER.with(|s| s.set(true));
            let server = pubnub_local::Server::builder().start().await;
            IS_SERVER.with(|s| s.set(false));
            server
        })
        .expect("pubnub-local starts");
    let origin = server.url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = |i: usize| {
            PubNub::builder("sub-key", format!("user-{i}"))
                .publish_key("pub-key")
                .origin(origin.as_str())
                .build_client()
                .unwrap()
        };
        // What every client of the process shares is set up first.
        let warm = client(usize::MAX);
        warm.time().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;

        let mut phases: Vec<(&str, i64, i64)> = Vec::new();
        let mark = |phases: &mut Vec<(&str, i64, i64)>, name| {
            phases.push((name, CLIENT.load(Ordering::Relaxed), rss_kib()));
        };
        mark(&mut phases, "start");
        let clients: Vec<PubNub> = (0..n).map(client).collect();
        mark(&mut phases, "built (PubNub::builder(..).build_client())");
        let subs: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let s = c
                    .channel(format!("ch-{i}"))
                    .subscription(SubscriptionOptions::new());
                let stream = s.message_stream();
                (s, stream)
            })
            .collect();
        mark(&mut phases, "a subscription and its message stream");
        let mut connected = Vec::new();
        for (c, (s, _)) in clients.iter().zip(&subs) {
            let mut statuses = c.status_stream();
            s.subscribe().unwrap();
            connected.push(async move {
                while let Some(status) = statuses.next().await {
                    if status.category == StatusCategory::Connected {
                        return;
                    }
                }
            });
        }
        futures_util::future::join_all(connected).await;
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        mark(&mut phases, "subscribed, connected, long-poll parked");
        let sockets = std::fs::read_dir("/proc/self/fd")
            .map(|d| {
                d.flatten()
                    .filter(|e| {
                        std::fs::read_link(e.path())
                            .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                    })
                    .count()
            })
            .unwrap_or(0);
        println!("sockets in the process (both ends of each connection): {sockets}");

        println!("{n} clients; heap bytes per client (client threads), RSS per client");
        for pair in phases.windows(2) {
            let (_, heap0, rss0) = pair[0];
            let (name, heap1, rss1) = pair[1];
            println!(
                "  {:<48} heap {:>7.1} KiB   rss {:>7.1} KiB",
                name,
                (heap1 - heap0) as f64 / 1024.0 / n as f64,
                (rss1 - rss0) as f64 / n as f64,
            );
        }
        let (_, heap_start, rss_start) = phases[0];
        let (_, heap_end, rss_end) = *phases.last().unwrap();
        println!(
            "  {:<48} heap {:>7.1} KiB   rss {:>7.1} KiB",
            "total",
            (heap_end - heap_start) as f64 / 1024.0 / n as f64,
            (rss_end - rss_start) as f64 / n as f64,
        );
        drop(subs);
        std::process::exit(0);
    });
}

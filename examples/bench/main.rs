//! The end-to-end benchmark of issue 8, loopback only and bounded (well under a minute).
//!
//! `cargo run --release --example bench -- [--json] [--origin URL] [--rounds N]`
//!
//! It starts `pubnub-local` in-process on its own runtime (or uses `--origin`) and measures, in
//! the same run: publish throughput through the SDK and the *floor* (the same requests sent by
//! a bare reqwest loop, no SDK), sequentially and with 64 in flight; publish → listener latency;
//! a burst of 10,000 messages while subscribed; pubnub-local's own throughput and its floor
//! next to a minimal axum server's; and the memory of 1,000 subscribed clients (in a child
//! process, so the server's memory is not counted). Throughput figures are the median of
//! `--rounds` alternating rounds (default 3), because the machine may be busy with other work.
//!
//! The table goes to stdout; with `--json`, one JSON object with stable field names instead.
//! `--only STEP` runs one step (for profiling); `--crypto` gives every SDK client an AES-CBC
//! crypto module (the floor stays plain), for the cost of encryption. `--buffer N` gives the
//! in-process server a queue of N messages per channel instead of the whole burst (`--buffer
//! 100` is the service's queue, where a subscriber that falls behind loses what overflows), and
//! `--gap-fill PAGES` turns gap fill on in every SDK client, with that page budget: the burst's
//! report then counts the messages recovered from history. `BENCH_SERVER_THREADS` and
//! `BENCH_CLIENT_THREADS` change the two runtimes' worker counts (default 2 each;
//! `BENCH_CLIENT_THREADS=0` runs the client on a current-thread runtime, on the main thread).
//! BENCHMARKS.md explains the figures and records the ones measured on the reference machine.

mod burst;
mod floor;
mod latency;
mod memory;
mod report;
mod throughput;

use std::time::Duration;

use report::Report;

/// Messages published in flight for the concurrent figures.
pub const CONCURRENCY: usize = 64;

/// How long one throughput measurement runs.
pub const MEASURE: Duration = Duration::from_millis(1500);

/// Messages pubnub-local keeps per channel: the whole burst, so that a message lost in the
/// burst is lost by the SDK, not dropped by the server's catch-up buffer (100 by default,
/// like the service's queue).
pub const BUFFER: usize = burst::MESSAGES as usize;

/// The subscribe key every client and request uses.
pub const SUB_KEY: &str = "sub-c-bench";
/// The publish key every client and request uses.
pub const PUB_KEY: &str = "pub-c-bench";

struct Args {
    json: bool,
    origin: Option<String>,
    rounds: usize,
    /// Run one step only (`publish`, `latency`, `burst`, `server`, `memory`): for profiling.
    only: Option<String>,
    /// Every SDK client encrypts with an AES-CBC crypto module (the floor does not).
    crypto: bool,
    /// The in-process server's queue per channel (default: the whole burst).
    buffer: usize,
    /// Gap fill on, with this page budget (`--gap-fill PAGES`).
    gap_fill: Option<u32>,
}

impl Args {
    fn runs(&self, step: &str) -> bool {
        self.only.as_deref().is_none_or(|only| only == step)
    }
}

fn args() -> Args {
    let mut args = Args {
        json: false,
        origin: None,
        rounds: 3,
        only: None,
        crypto: false,
        buffer: BUFFER,
        gap_fill: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => args.json = true,
            "--crypto" => args.crypto = true,
            "--origin" => args.origin = it.next(),
            "--buffer" => {
                args.buffer = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .unwrap_or_else(|| usage("--buffer takes a number of messages"))
            }
            "--gap-fill" => {
                args.gap_fill = Some(
                    it.next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| *n > 0)
                        .unwrap_or_else(|| usage("--gap-fill takes a number of pages")),
                )
            }
            "--only" => args.only = it.next(),
            "--rounds" => {
                args.rounds = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=15).contains(n))
                    .unwrap_or_else(|| usage("--rounds takes a number from 1 to 15"))
            }
            memory::CHILD_FLAG => {
                let origin = it.next().unwrap_or_else(|| usage("missing origin"));
                memory::child(&origin);
                return args;
            }
            "-h" | "--help" => usage(""),
            // `cargo bench` passes `--bench` to every target; ignore it.
            "--bench" => {}
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    args
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("bench: {problem}");
    }
    eprintln!(
        "usage: cargo run --release --example bench -- [--json] [--origin URL] [--rounds N] \\
         [--only publish|latency|burst|server|memory] [--crypto] [--buffer N] [--gap-fill PAGES]"
    );
    std::process::exit(2);
}

fn main() {
    let args = args();
    if args.crypto {
        let crypto = pubnub_engine::CryptoModule::aes_cbc("bench-cipher-key").expect("a key");
        throughput::CRYPTO.set(crypto).expect("set once");
    }
    if let Some(pages) = args.gap_fill {
        throughput::GAP_FILL.set(pages).expect("set once");
    }
    // The server gets a runtime of its own, as if it were another process: the client's
    // figures then include no server work scheduled on the client's threads.
    let server_runtime = runtime("server");
    let server = match &args.origin {
        Some(_) => None,
        None => Some(
            server_runtime
                .block_on(
                    pubnub_local::Server::builder()
                        .buffer_size(args.buffer)
                        .start(),
                )
                .expect("pubnub-local starts on loopback"),
        ),
    };
    let origin = match (&args.origin, &server) {
        (Some(origin), _) => origin.trim_end_matches('/').to_string(),
        (None, Some(server)) => server.url(),
        (None, None) => unreachable!("either --origin or an in-process server"),
    };
    let minimal = server_runtime
        .block_on(floor::start_minimal_server())
        .expect("the minimal server starts on loopback");

    let client_runtime = runtime("client");
    let deadline = Duration::from_secs(120);
    // The measuring task runs on a worker of the client runtime, as an application's tasks
    // do: `block_on` would poll it on the main thread, and every hop between it and the
    // workers would be a wake-up of another thread that no application pays.
    let json = args.json;
    let hub = server.as_ref().map(|server| server.hub());
    let report = client_runtime.block_on(async move {
        let task = tokio::spawn(async move {
            tokio::time::timeout(deadline, run(&args, &origin, &minimal, hub)).await
        });
        task.await.expect("the benchmark task does not panic")
    });
    let Ok(report) = report else {
        eprintln!("bench: did not finish within {deadline:?}");
        std::process::exit(1);
    };
    if json {
        println!("{}", report.json());
    } else {
        print!("{}", report.table());
    }
    // Exit without tearing down a thousand connections and two runtimes.
    std::process::exit(0);
}

/// The name of the client runtime's threads (CPU time is counted over these).
pub const CLIENT_THREADS: &str = "bench-client";

fn runtime(name: &str) -> tokio::runtime::Runtime {
    let threads = std::env::var(format!("BENCH_{}_THREADS", name.to_uppercase()))
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    // 0: a current-thread runtime, driven by `block_on` on the main thread (so for the client
    // only: the server's runtime must run on its own; and the CPU figures, which count the
    // named worker threads, are then missing).
    let mut builder = match threads {
        0 if name == "server" => usage("BENCH_SERVER_THREADS must be at least 1"),
        0 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    builder
        .thread_name(format!("bench-{name}"))
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn run(
    args: &Args,
    origin: &str,
    minimal: &str,
    hub: Option<pubnub_local::hub::Hub>,
) -> Report {
    let mut report = Report::new(origin, hub.is_some(), args.rounds);
    report.encrypted = args.crypto;
    let progress = |what: &str| {
        if !args.json {
            eprintln!("bench: {what}");
        }
    };
    // Latency first: after the publish step, the process and the server hold ~200 idle
    // keep-alive connections, and both the SDK's latency and the floor's measure 20–60 µs
    // higher (p50) than on a fresh process.
    if args.runs("latency") {
        progress("publish → listener latency");
        let (sdk, floor) = latency::measure(origin).await;
        report.latency = Some(sdk);
        report.latency_floor = Some(floor);
    }
    if args.runs("publish") {
        progress("publish throughput (SDK and floor, alternating rounds)");
        report.publish = Some(throughput::publish(origin, minimal, args.rounds).await);
    }
    if args.runs("burst") {
        if let Some(hub) = &hub {
            progress("burst of 10,000 messages while subscribed, from the hub");
            let publisher = burst::Publisher::Hub(hub.clone());
            report.burst = Some(burst::measure(origin, "bench-burst-hub", publisher).await);
        }
        progress("burst of 10,000 messages while subscribed, from an SDK client");
        let publisher = burst::Publisher::Sdk(throughput::client(origin, "bench-burst-speaker"));
        report.burst_http = Some(burst::measure(origin, "bench-burst-http", publisher).await);
    }
    if let Some(hub) = hub.filter(|_| args.runs("server")) {
        progress("pubnub-local's own throughput");
        report.server = Some(floor::hub_throughput(&hub).await);
    }
    if args.runs("memory") {
        progress("memory of 1,000 subscribed clients (child process)");
        report.memory = memory::measure(origin).await;
    }
    report
}

//! pubnub-engine side by side with PubNub's official Rust crate (`pubnub` 0.9), in one run.
//!
//! `cargo run --release --manifest-path compare/Cargo.toml -- [OPTIONS]`
//!
//! Two ways to run:
//!
//! - **Both SDKs in this process** (the default): against an in-process `pubnub-local`, or with
//!   `--origin URL` a server in another process. Both SDKs run on the same client runtime
//!   (2 workers), the in-process server on a runtime of its own (2 workers), and every figure
//!   is taken for both in the same moments: sequential publishes and latency samples are
//!   interleaved one by one, the concurrent runs, bursts and fan-outs alternate or follow each
//!   other. Memory is always measured in a child process of one SDK (it is a process's figure).
//! - **Each SDK in its own process** (`--isolated`): this binary starts the server in a child
//!   process (`--server local`: `pubnub-local`; `--server minimal`: a minimal PubNub-like
//!   server written for the comparison, see `minimal.rs`; or `--origin URL`: one already
//!   running), then, for each of `--rounds` rounds, a child process per SDK measuring that SDK
//!   alone, the order rotating round by round. Figures are reported as the median with the
//!   range over rounds, and each ratio from the two SDKs' figures of the same round.
//!
//! Each SDK publishes with its own client and listens with its own subscriber on channels of
//! its own, its messages read as a stream by a task of the application's (the official
//! crate's only way; ours can also call back). The servers keep 10,000 messages per channel, so
//! a message missing from a burst was lost by the SDK, not by the server's queue (`--buffer 100`
//! gives the in-process `pubnub-local` the service's queue instead).
//!
//! Options: `--json`; `--rounds N`; `--only STEP,…` (latency, publish, burst, fanout, memory);
//! `--size BYTES` pads every message to about that many bytes of JSON (30720 for 30 KiB);
//! `--no-burst`; `--fanout N` subscribers (1,000) of `--fanout-messages M` messages (100);
//! `--memory-clients N` (1,000); `--python PATH` also runs `python/sdk.py` with that
//! interpreter (PubNub's Python SDK installed), a process of its own, against the same server.

mod curve;
mod measure;
mod minimal;
mod sdks;
mod table;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use measure::{Figures, Plan, Step, BURST};
use sdks::{payload, Sdk, TEXT};
use serde_json::Value;

/// The command line.
#[derive(Clone)]
struct Options {
    json: bool,
    rounds: usize,
    python: Option<String>,
    buffer: usize,
    origin: Option<String>,
    steps: Vec<Step>,
    size: Option<usize>,
    fanout: usize,
    fanout_messages: u64,
    memory_clients: usize,
    isolated: bool,
    server: ServerKind,
    /// `--sdk`: a child measuring one SDK.
    sdk: Option<Sdk>,
    /// `--serve`: a child serving.
    serve: Option<ServerKind>,
    /// `--curve LEVELS`: only the throughput-against-in-flight curve.
    curve: Option<Vec<usize>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ServerKind {
    Local,
    Minimal,
}

impl ServerKind {
    fn flag(self) -> &'static str {
        match self {
            ServerKind::Local => "local",
            ServerKind::Minimal => "minimal",
        }
    }

    fn parse(flag: &str) -> Option<ServerKind> {
        [ServerKind::Local, ServerKind::Minimal]
            .into_iter()
            .find(|k| k.flag() == flag)
    }
}

fn main() {
    let options = parse_args();
    if let Some(size) = options.size {
        // `{"text":"…","n":NNNN}`: about 25 bytes around the text.
        TEXT.set("x".repeat(size - 25)).expect("set once");
    }
    if let Some(kind) = options.serve {
        serve(kind, options.buffer);
    } else if let Some(levels) = options.curve.clone() {
        curve_here(&options, &levels);
    } else if let Some(sdk) = options.sdk {
        let origin = options.origin.clone().unwrap_or_else(|| usage());
        let figures = measure_here(&options, &origin, None, &[sdk]);
        println!("{}", serde_json::to_string(&figures[0]).expect("JSON"));
    } else if options.isolated {
        isolated(&options);
    } else {
        together(&options);
    }
    std::process::exit(0);
}

fn parse_args() -> Options {
    let mut o = Options {
        json: false,
        rounds: 3,
        python: None,
        buffer: BURST as usize,
        origin: None,
        steps: Step::ALL.to_vec(),
        size: None,
        fanout: 1000,
        fanout_messages: 100,
        memory_clients: 1000,
        isolated: false,
        server: ServerKind::Local,
        sdk: None,
        serve: None,
        curve: None,
    };
    let mut args = std::env::args().skip(1);
    let number = |args: &mut std::iter::Skip<std::env::Args>,
                  range: std::ops::RangeInclusive<usize>| {
        args.next()
            .and_then(|n| n.parse().ok())
            .filter(|n| range.contains(n))
            .unwrap_or_else(|| usage())
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => o.json = true,
            "--rounds" => o.rounds = number(&mut args, 1..=25),
            "--python" => o.python = Some(args.next().unwrap_or_else(|| usage())),
            "--origin" => {
                let origin = args.next().unwrap_or_else(|| usage());
                o.origin = Some(origin.trim_end_matches('/').to_string())
            }
            "--no-burst" => o.steps.retain(|s| *s != Step::Burst),
            "--only" => {
                let list = args.next().unwrap_or_else(|| usage());
                o.steps = list
                    .split(',')
                    .map(|s| Step::parse(s).unwrap_or_else(|| usage()))
                    .collect();
            }
            "--size" => o.size = Some(number(&mut args, 40..=32_000)),
            "--buffer" => o.buffer = number(&mut args, 1..=1_000_000),
            "--fanout" => o.fanout = number(&mut args, 1..=10_000),
            "--fanout-messages" => o.fanout_messages = number(&mut args, 1..=10_000) as u64,
            "--memory-clients" => o.memory_clients = number(&mut args, 1..=10_000),
            "--isolated" => o.isolated = true,
            "--server" => {
                o.server =
                    ServerKind::parse(&args.next().unwrap_or_default()).unwrap_or_else(|| usage())
            }
            "--sdk" => {
                o.sdk =
                    Some(Sdk::parse(&args.next().unwrap_or_default()).unwrap_or_else(|| usage()))
            }
            "--curve" => {
                let list = args.next().unwrap_or_else(|| usage());
                let levels: Vec<usize> = list
                    .split(',')
                    .map(|n| {
                        n.parse()
                            .ok()
                            .filter(|n| (1..=1024).contains(n))
                            .unwrap_or_else(|| usage())
                    })
                    .collect();
                o.curve = Some(levels);
            }
            "--serve" => {
                o.serve = Some(
                    ServerKind::parse(&args.next().unwrap_or_default()).unwrap_or_else(|| usage()),
                )
            }
            _ => usage(),
        }
    }
    o
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo run --release --manifest-path compare/Cargo.toml -- [--json] [--rounds N] \
         [--isolated [--server local|minimal]] [--origin URL] [--only latency,publish,burst,fanout,memory] \
         [--size BYTES] [--no-burst] [--fanout SUBSCRIBERS] [--fanout-messages N] \
         [--memory-clients N] [--buffer MESSAGES-PER-CHANNEL] [--python PATH-TO-PYTHON-WITH-PUBNUB] \
         | --curve 1,4,16,64,256 [--rounds N] [--origin URL]"
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

/// `--serve`: runs a server on `127.0.0.1:0`, prints its URL as the first line on stdout, and
/// serves until stdin closes (its parent ended).
fn serve(kind: ServerKind, buffer: usize) {
    let rt = runtime("compare-server");
    let (url, _server) = rt.block_on(async {
        match kind {
            ServerKind::Local => {
                let server = pubnub_local::Server::builder()
                    .buffer_size(buffer)
                    .start()
                    .await
                    .expect("pubnub-local starts on loopback");
                (server.url(), Some(server))
            }
            ServerKind::Minimal => (
                minimal::start()
                    .await
                    .expect("the minimal server starts on loopback"),
                None,
            ),
        }
    });
    println!("{url}");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

/// Measures `sdks` in this process (on a client runtime of its own, in a task on a worker as an
/// application's tasks are: `block_on` would poll it on the main thread).
fn measure_here(
    options: &Options,
    origin: &str,
    hub: Option<pubnub_local::hub::Hub>,
    sdks: &[Sdk],
) -> Vec<Figures> {
    let client_runtime = runtime("compare-client");
    let (origin, sdks, options) = (origin.to_string(), sdks.to_vec(), options.clone());
    let figures = client_runtime.block_on(async move {
        tokio::spawn(async move {
            let plan = Plan {
                origin: &origin,
                hub,
                steps: &options.steps,
                rounds: options.rounds,
                fanout_subscribers: options.fanout,
                fanout_messages: options.fanout_messages,
                memory_clients: options.memory_clients,
                quiet: options.json,
            };
            tokio::time::timeout(Duration::from_secs(600), measure::run(&plan, &sdks))
                .await
                .expect("the measurements finish within 10 minutes")
        })
        .await
        .expect("the measurements do not panic")
    });
    client_runtime.shutdown_timeout(Duration::from_secs(1));
    figures
}

/// The server of `--origin`, or `pubnub-local` started on `server_runtime` (its handle, to keep
/// while it is used).
fn origin_or_local(
    options: &Options,
    server_runtime: &tokio::runtime::Runtime,
) -> (String, Option<pubnub_local::ServerHandle>) {
    match &options.origin {
        Some(origin) => (origin.clone(), None),
        None => {
            let server = server_runtime
                .block_on(
                    pubnub_local::Server::builder()
                        .buffer_size(options.buffer)
                        .start(),
                )
                .expect("pubnub-local starts on loopback");
            (server.url(), Some(server))
        }
    }
}

/// `--curve`: against the server of `--origin`, or `pubnub-local` on a runtime of its own.
fn curve_here(options: &Options, levels: &[usize]) {
    let server_runtime = runtime("compare-server");
    let (origin, _server) = origin_or_local(options, &server_runtime);
    let client_runtime = runtime("compare-client");
    let (levels, rounds) = (levels.to_vec(), options.rounds);
    client_runtime.block_on(async move {
        tokio::spawn(async move {
            let out = concat!(env!("CARGO_MANIFEST_DIR"), "/target/compare-inflight.svg");
            curve::run(&origin, &levels, rounds, out).await
        })
        .await
        .expect("the curve does not panic")
    });
    client_runtime.shutdown_timeout(Duration::from_secs(1));
}

/// Both SDKs in this process; memory in a child process per SDK.
fn together(options: &Options) {
    let server_runtime = runtime("compare-server");
    let (origin, server) = origin_or_local(options, &server_runtime);
    let here: Vec<Step> = options
        .steps
        .iter()
        .copied()
        .filter(|s| *s != Step::Memory)
        .collect();
    let mut figures = if here.is_empty() {
        vec![Figures::default(); 2]
    } else {
        let hub = server.as_ref().map(|s| s.hub());
        measure_here(
            &Options {
                steps: here,
                ..options.clone()
            },
            &origin,
            hub,
            &Sdk::BOTH,
        )
    };
    if options.steps.contains(&Step::Memory) {
        for (k, sdk) in Sdk::BOTH.into_iter().enumerate() {
            let memory = child(options, sdk, &origin, &[Step::Memory]);
            figures[k].memory_clients = memory.memory_clients;
            figures[k].memory_per_client_kib = memory.memory_per_client_kib;
        }
    }
    let server_name = match &server {
        Some(_) => "pubnub-local in this process",
        None => "another process (--origin)",
    };
    let python = options
        .python
        .as_ref()
        .map(|p| python_sdk(p, &origin, options.json));
    let [ours, official]: [Figures; 2] = figures.try_into().expect("two SDKs");
    report(
        options,
        &origin,
        server_name,
        vec![ours],
        vec![official],
        python,
    );
}

/// Each SDK in its own process, rounds with the order rotated, against a server in a process of
/// its own.
fn isolated(options: &Options) {
    let (origin, server, server_name) = match &options.origin {
        Some(origin) => (
            origin.clone(),
            None,
            "another process (--origin)".to_string(),
        ),
        None => {
            let (url, child) = spawn_server(options.server, options.buffer);
            let name = match options.server {
                ServerKind::Local => "pubnub-local, another process",
                ServerKind::Minimal => "the minimal server, another process",
            };
            (url, Some(child), name.to_string())
        }
    };
    let mut figures: [Vec<Figures>; 2] = Default::default();
    for round in 0..options.rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        let mut this_round: [Figures; 2] = Default::default();
        let here: Vec<Step> = options
            .steps
            .iter()
            .copied()
            .filter(|s| *s != Step::Memory)
            .collect();
        for k in order {
            if !options.json {
                eprintln!(
                    "compare: round {} of {}, {} in a process of its own",
                    round + 1,
                    options.rounds,
                    Sdk::BOTH[k].name()
                );
            }
            if !here.is_empty() {
                this_round[k] = child(options, Sdk::BOTH[k], &origin, &here);
            }
            if options.steps.contains(&Step::Memory) {
                let memory = child(options, Sdk::BOTH[k], &origin, &[Step::Memory]);
                this_round[k].memory_clients = memory.memory_clients;
                this_round[k].memory_per_client_kib = memory.memory_per_client_kib;
            }
        }
        let [a, b] = this_round;
        figures[0].push(a);
        figures[1].push(b);
    }
    let python = options
        .python
        .as_ref()
        .map(|p| python_sdk(p, &origin, options.json));
    let [ours, official] = figures;
    report(options, &origin, &server_name, ours, official, python);
    if let Some(mut server) = server {
        let _ = server.kill();
        let _ = server.wait();
    }
}

/// This binary with `--serve KIND`: the server's URL, and the child (serving until its stdin
/// closes, so it ends with this process).
fn spawn_server(kind: ServerKind, buffer: usize) -> (String, Child) {
    let mut server = Command::new(std::env::current_exe().expect("this binary"))
        .args(["--serve", kind.flag(), "--buffer", &buffer.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server process starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("the server prints its URL");
    let url = line.trim().to_string();
    assert!(url.starts_with("http://"), "the server printed {line:?}");
    (url, server)
}

/// This binary with `--sdk`: `sdk` measured alone in a process of its own.
fn child(options: &Options, sdk: Sdk, origin: &str, steps: &[Step]) -> Figures {
    let steps: Vec<&str> = steps.iter().map(|s| s.flag()).collect();
    let mut command = Command::new(std::env::current_exe().expect("this binary"));
    command
        .args(["--sdk", sdk.flag(), "--origin", origin, "--json"])
        .args(["--only", &steps.join(",")])
        // With `--isolated` the rounds are processes, each measuring one round.
        .args(["--rounds", "1"])
        .args(["--fanout", &options.fanout.to_string()])
        .args(["--fanout-messages", &options.fanout_messages.to_string()])
        .args(["--memory-clients", &options.memory_clients.to_string()]);
    if let Some(size) = options.size {
        command.args(["--size", &size.to_string()]);
    }
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .expect("the measuring process starts");
    assert!(
        output.status.success(),
        "{} measuring {steps:?} failed: {}",
        sdk.name(),
        output.status
    );
    // The next process measured must not share the machine with this one's teardown (a
    // thousand sockets, and ~1 GiB freed after the official crate's memory step).
    std::thread::sleep(SETTLE);
    serde_json::from_slice(&output.stdout).expect("a child prints its figures as JSON")
}

/// A pause after each measuring process.
const SETTLE: Duration = Duration::from_secs(3);

/// Runs `python/sdk.py` with `python` against `origin` and returns the one JSON object it
/// prints.
fn python_sdk(python: &str, origin: &str, quiet: bool) -> Value {
    if !quiet {
        eprintln!("compare: the official Python SDK (a child process)");
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/sdk.py");
    let output = Command::new(python)
        .arg(script)
        .arg(origin)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stderr(Stdio::inherit())
        .output()
        .expect("python starts");
    assert!(
        output.status.success(),
        "python/sdk.py failed: {}",
        output.status
    );
    serde_json::from_slice(&output.stdout).expect("python/sdk.py prints one JSON object")
}

#[derive(serde::Serialize, Debug)]
struct Report {
    origin: String,
    server: String,
    /// Each SDK measured in a process of its own.
    isolated: bool,
    rounds: usize,
    cores: usize,
    /// The bytes of JSON of each published message.
    message_bytes: usize,
    /// One entry per round with `--isolated`; else one for the whole run.
    pubnub_engine: Vec<Figures>,
    official_rust: Vec<Figures>,
    /// With `--python`: what `python/sdk.py` measured, as it printed it.
    official_python: Option<Value>,
}

fn report(
    options: &Options,
    origin: &str,
    server: &str,
    ours: Vec<Figures>,
    official: Vec<Figures>,
    python: Option<Value>,
) {
    let report = Report {
        origin: origin.to_string(),
        server: server.to_string(),
        isolated: options.isolated,
        rounds: options.rounds,
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        message_bytes: payload(0).to_string().len(),
        pubnub_engine: ours,
        official_rust: official,
        official_python: python,
    };
    if options.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("JSON"));
    } else {
        table::print(&report);
    }
}

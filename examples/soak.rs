//! A longer run of the chaos scenario of `tests/chaos.rs`: a numbered sequence on several
//! channels through random faults injected by an in-process `pubnub-local`, then loss,
//! duplicates, reordering, reconnects and the worst recovery time.
//!
//! ```text
//! cargo run --release --example soak -- --seconds 300 [--seed 7] [--verbose]
//! ```
//!
//! Exits with status 1 when anything was lost, duplicated or reordered, or the statuses did
//! not tell the story.

#[path = "../tests/support/chaos.rs"]
mod scenario;

use std::time::Duration;

fn usage() -> ! {
    eprintln!("usage: soak [--seconds N] [--seed S] [--verbose]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut seconds = 60;
    let mut seed = 1;
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--seconds" => seconds = number(),
            "--seed" => seed = number(),
            "--verbose" => verbose = true,
            _ => usage(),
        }
    }
    println!("soak: {seconds} s, seed {seed}");
    let report = scenario::run(scenario::Options {
        seed,
        duration: Duration::from_secs(seconds),
        min_rounds: 11,
        per_round: 8,
        verbose,
    })
    .await;
    println!("{report}");
    if !report.is_clean() {
        std::process::exit(1);
    }
}

//! Files benchmark (issue 28): `cargo run --release --example files_bench [-- --rounds N]`.
//!
//! Starts `pubnub-local` in this process, on a runtime of its own (its storage in memory), and
//! measures in a child process (this binary again, so that the figures hold the client only):
//! `send_file` and `download_file` of 1 MiB and 5 MiB files, plain and encrypted (AES-CBC crypto
//! module), on loopback. For each: the median MiB/s over the rounds, and the peak memory the
//! call added to the process (VmHWM after the call minus VmRSS before it, with the peak reset by
//! `/proc/self/clear_refs` before each call), against the file's size. Prints a table; nothing is
//! asserted.

use std::process::Command;
use std::time::{Duration, Instant};

use pubnub_engine::files::{FileData, MAX_FILE_SIZE};
use pubnub_engine::{CryptoModule, PubNub};

const CHILD_FLAG: &str = "--files-child";
const MIB: usize = 1 << 20;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut rounds = 5usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            CHILD_FLAG => {
                let origin = args.next().expect("origin");
                let size: usize = args.next().and_then(|s| s.parse().ok()).expect("size");
                let crypto = args.next().as_deref() == Some("1");
                let rounds: usize = args.next().and_then(|s| s.parse().ok()).expect("rounds");
                child(&origin, size, crypto, rounds);
                return;
            }
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=50).contains(n))
                    .expect("--rounds takes 1 to 50")
            }
            "--bench" => {}
            other => {
                eprintln!("usage: files_bench [--rounds N] (unknown argument {other:?})");
                std::process::exit(2);
            }
        }
    }
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let server = server_runtime
        .block_on(pubnub_local::Server::builder().start())
        .expect("pubnub-local starts on loopback");
    let exe = std::env::current_exe().expect("this binary");
    println!(
        "{:<28} {:>12} {:>14} {:>16} {:>18}",
        "file", "send MiB/s", "download MiB/s", "send peak", "download peak"
    );
    // The largest file that still fits in 5 MiB once encrypted (header, IV, padding).
    let largest = MAX_FILE_SIZE - 64;
    for (label, size) in [("1 MiB", MIB), ("5 MiB", largest)] {
        for crypto in [false, true] {
            let output = Command::new(&exe)
                .args([
                    CHILD_FLAG,
                    &server.url(),
                    &size.to_string(),
                    if crypto { "1" } else { "0" },
                    &rounds.to_string(),
                ])
                .output()
                .expect("the child runs");
            let text = String::from_utf8_lossy(&output.stdout);
            let Some(line) = text.lines().find(|l| l.starts_with("files ")) else {
                eprintln!(
                    "files_bench: the child failed: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
                std::process::exit(1);
            };
            let f: Vec<f64> = line
                .split_whitespace()
                .skip(1)
                .filter_map(|n| n.parse().ok())
                .collect();
            let [send, download, send_peak, download_peak] = f[..] else {
                panic!("unexpected child line {line:?}");
            };
            let of_file = |kib: f64| {
                format!(
                    "{:.1} MiB ({:.2}×)",
                    kib / 1024.0,
                    kib * 1024.0 / size as f64
                )
            };
            println!(
                "{:<28} {:>12.0} {:>14.0} {:>16} {:>18}",
                format!("{label}{}", if crypto { ", encrypted" } else { "" }),
                send,
                download,
                of_file(send_peak),
                of_file(download_peak),
            );
        }
    }
    println!(
        "\n{rounds} rounds (medians; peaks: the highest), pubnub-local in-process (memory storage), \
         the client in a child process; peak = memory the call added at its highest, × the file's size"
    );
    drop(server);
    std::process::exit(0);
}

/// The child: prints `files <send MiB/s> <download MiB/s> <send peak KiB> <download peak KiB>`.
fn child(origin: &str, size: usize, crypto: bool, rounds: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut builder = PubNub::builder("bench-files", "bench")
            .publish_key("bench-files")
            .origin(origin);
        if crypto {
            builder = builder.crypto_module(CryptoModule::aes_cbc("bench-cipher-key").unwrap());
        }
        let pubnub = builder.build_client().expect("a client");
        let content: Vec<u8> = (0..size).map(|n| (n * 7 % 251) as u8).collect();
        // Warm-up: the connection pool, the runtime's buffers.
        let warm = pubnub
            .send_file()
            .channel("bench")
            .file_name("warm.bin")
            .data(FileData::bytes(content[..64 << 10].to_vec()))
            .await
            .expect("the warm-up upload");
        pubnub
            .download_file()
            .channel("bench")
            .file_id(&warm.file_id)
            .file_name("warm.bin")
            .await
            .expect("the warm-up download");

        let (mut sends, mut downloads) = (Vec::new(), Vec::new());
        let (mut send_peak, mut download_peak) = (0u64, 0u64);
        for round in 0..rounds {
            // The data the app hands over exists before the call: it is not the call's.
            let data = content.clone();
            let before = reset_peak();
            let started = Instant::now();
            let sent = pubnub
                .send_file()
                .channel("bench")
                .file_name(format!("file-{round}.bin"))
                .data(FileData::bytes(data))
                .await
                .expect("the upload");
            sends.push(started.elapsed());
            send_peak = send_peak.max(peak_kib().saturating_sub(before));

            let before = reset_peak();
            let started = Instant::now();
            let file = pubnub
                .download_file()
                .channel("bench")
                .file_id(&sent.file_id)
                .file_name(&sent.file_name)
                .await
                .expect("the download");
            downloads.push(started.elapsed());
            download_peak = download_peak.max(peak_kib().saturating_sub(before));
            assert_eq!(file.data.len(), size);
            drop(file);
        }
        let rate = |times: &mut Vec<Duration>| {
            times.sort();
            size as f64 / MIB as f64 / times[times.len() / 2].as_secs_f64()
        };
        println!(
            "files {:.1} {:.1} {send_peak} {download_peak}",
            rate(&mut sends),
            rate(&mut downloads)
        );
        std::process::exit(0);
    });
}

/// Resets the process's peak RSS to its current RSS; the current RSS in KiB.
fn reset_peak() -> u64 {
    // "5" resets VmHWM (Linux ≥ 4.0); without it the peak is the process's lifetime peak.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_kib("VmRSS:")
}

fn peak_kib() -> u64 {
    status_kib("VmHWM:")
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

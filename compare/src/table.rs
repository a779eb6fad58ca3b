//! The report as a table: each figure's median (with its range over rounds when there were
//! several processes' rounds), and how many times better ours is, round by round.

use crate::measure::{median, Figures};
use crate::sdks::Sdk;
use crate::Report;

/// A column of one figure over rounds: median, and the range when it varies.
fn cell(values: &[f64], unit: &str) -> String {
    let mut sorted = values.to_vec();
    let mid = median(&mut sorted);
    match (sorted.first(), sorted.last()) {
        (Some(lo), Some(hi)) if sorted.len() > 1 => format!("{mid:.0}{unit} [{lo:.0}–{hi:.0}]"),
        _ => format!("{mid:.0}{unit}"),
    }
}

/// Ours against theirs, round by round: how many times better (higher rates, lower latencies
/// and memory), median and range.
fn advantage(ours: &[f64], theirs: &[f64], lower: bool) -> String {
    let mut ratios: Vec<f64> = ours
        .iter()
        .zip(theirs)
        .map(|(&o, &t)| match lower {
            true => t / o.max(1e-9),
            false => o / t.max(1e-9),
        })
        .collect();
    let mid = median(&mut ratios);
    match (ratios.first(), ratios.last()) {
        (Some(lo), Some(hi)) if ratios.len() > 1 => format!("{mid:.2}x [{lo:.2}–{hi:.2}]"),
        _ => format!("{mid:.2}x"),
    }
}

pub fn print(report: &Report) {
    let (a, b) = (&report.pubnub_engine, &report.official_rust);
    let py = report.official_python.as_ref();
    let python_name = py
        .and_then(|p| p["version"].as_str())
        .map_or("python".to_string(), |v| format!("python {v} (official)"));
    let widths = if a.len() > 1 { (30, 34) } else { (18, 26) };
    print!(
        "{:<42}{:>w0$}{:>w1$}",
        "figure",
        Sdk::Ours.name(),
        Sdk::Official.name(),
        w0 = widths.0,
        w1 = widths.1
    );
    if py.is_some() {
        print!("{python_name:>26}");
    }
    print!("{:>24}", "vs Rust");
    if py.is_some() {
        print!("{:>12}", "vs Python");
    }
    println!();
    let row = |name: &str, unit: &str, get: fn(&Figures) -> f64, key: &str, lower: bool| {
        let (ours, theirs): (Vec<f64>, Vec<f64>) =
            (a.iter().map(get).collect(), b.iter().map(get).collect());
        if ours.iter().chain(&theirs).all(|v| *v == 0.0) {
            return; // not measured
        }
        print!(
            "{name:<42}{:>w0$}{:>w1$}",
            cell(&ours, unit),
            cell(&theirs, unit),
            w0 = widths.0,
            w1 = widths.1
        );
        let python = py.and_then(|p| p[key].as_f64());
        if py.is_some() {
            print!(
                "{:>26}",
                python.map_or("–".to_string(), |p| format!("{p:.0}{unit}"))
            );
        }
        print!("{:>24}", advantage(&ours, &theirs, lower));
        if py.is_some() {
            print!(
                "{:>12}",
                python.map_or("–".to_string(), |p| advantage(
                    &[median(&mut ours.clone())],
                    &[p],
                    lower
                ))
            );
        }
        println!();
    };
    row(
        "publish, sequential",
        "/s",
        |f| f.publish_sequential_per_sec,
        "publish_sequential_per_sec",
        false,
    );
    row(
        "publish, 64 in flight",
        "/s",
        |f| f.publish_concurrent_per_sec,
        "publish_concurrent_per_sec",
        false,
    );
    row(
        "publish → listener latency p50",
        " µs",
        |f| f.latency_p50_us,
        "latency_p50_us",
        true,
    );
    row(
        "publish → listener latency p90",
        " µs",
        |f| f.latency_p90_us,
        "latency_p90_us",
        true,
    );
    row(
        "publish → listener latency p99",
        " µs",
        |f| f.latency_p99_us,
        "latency_p99_us",
        true,
    );
    row(
        "burst from the hub: delivered",
        "/s",
        |f| f.burst_delivered_per_sec,
        "",
        false,
    );
    row(
        "burst, own publisher: delivered",
        "/s",
        |f| f.burst_http_delivered_per_sec,
        "burst_http_delivered_per_sec",
        false,
    );
    row(
        "fan-out: deliveries",
        "/s",
        |f| f.fanout_delivered_per_sec,
        "",
        false,
    );
    row(
        "memory per subscribed client",
        " KiB",
        |f| f.memory_per_client_kib,
        "",
        true,
    );

    // Losses: totals over rounds.
    let sum = |figures: &[Figures], get: fn(&Figures) -> u64| figures.iter().map(get).sum::<u64>();
    let losses = |name: &str,
                  lost: fn(&Figures) -> u64,
                  dup: fn(&Figures) -> u64,
                  of: fn(&Figures) -> u64,
                  rate: fn(&Figures) -> f64| {
        if a.iter().chain(b).all(|f| rate(f) == 0.0) {
            return;
        }
        let text = |f: &[Figures]| format!("{} / {} of {}", sum(f, lost), sum(f, dup), sum(f, of));
        println!(
            "{name:<42}{:>w0$}{:>w1$}",
            text(a),
            text(b),
            w0 = widths.0,
            w1 = widths.1
        );
    };
    losses(
        "burst from the hub: lost / duplicated",
        |f| f.burst_lost,
        |f| f.burst_duplicated,
        |f| {
            if f.burst_delivered_per_sec > 0.0 {
                super::BURST
            } else {
                0
            }
        },
        |f| f.burst_delivered_per_sec,
    );
    losses(
        "burst, own publisher: lost / duplicated",
        |f| f.burst_http_lost,
        |f| f.burst_http_duplicated,
        |f| {
            if f.burst_http_delivered_per_sec > 0.0 {
                super::BURST
            } else {
                0
            }
        },
        |f| f.burst_http_delivered_per_sec,
    );
    losses(
        "fan-out: lost / duplicated deliveries",
        |f| f.fanout_lost,
        |f| f.fanout_duplicated,
        |f| f.fanout_expected,
        |f| f.fanout_delivered_per_sec,
    );
    if let Some(p) = py.filter(|p| p["burst_http_delivered_per_sec"].as_f64().unwrap_or(0.0) > 0.0)
    {
        println!(
            "{:<42}{:>w$}",
            "python, burst: lost / duplicated",
            format!(
                "{} / {} of {}",
                p["burst_http_lost"],
                p["burst_http_duplicated"],
                super::BURST
            ),
            w = widths.0
        );
    }
    println!(
        "\nfailed publishes: {} / {}{}; {} rounds{}, {} cores, messages of {} bytes, origin {} ({}); \
         fan-out to {} subscribers, memory of {} clients",
        sum(a, |f| f.publish_failed),
        sum(b, |f| f.publish_failed),
        py.map_or(String::new(), |p| format!(" / {}", p["publish_failed"])),
        report.rounds,
        if report.isolated { ", each SDK in a process of its own" } else { " (medians), both SDKs in one process" },
        report.cores,
        report.message_bytes,
        report.origin,
        report.server,
        a.iter().map(|f| f.fanout_subscribers).max().unwrap_or(0),
        a.iter().map(|f| f.memory_clients).max().unwrap_or(0),
    );
}

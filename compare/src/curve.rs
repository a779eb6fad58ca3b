//! `--curve 1,4,16,64,256`: publish throughput against the number of requests in flight, for
//! this SDK, the official crate and the floor (a bare reqwest loop sending the same request as
//! this SDK), in one process against one server, rounds interleaved; a table and an SVG chart
//! (`compare/target/compare-inflight.svg`).

use std::sync::Arc;
use std::time::Duration;

use crate::measure;
use crate::sdks::{payload, PublishFn, Sdk};

#[path = "../../examples/scale/chart.rs"]
mod chart;

const PUB_KEY: &str = "compare-pub";
const SUB_KEY: &str = "compare-sub";
const MEASURE: Duration = Duration::from_millis(1500);

/// The floor's publish: this SDK's request (path, `pnsdk`, `uuid`, `requestid`), by a bare
/// reqwest client with gzip, checked for `[1,"Sent",…]`.
fn floor(origin: &str) -> PublishFn {
    let client = reqwest::Client::builder()
        .gzip(true)
        .build()
        .expect("a reqwest client");
    let origin = origin.to_string();
    Arc::new(move |channel: String, n: u64| {
        let client = client.clone();
        let url = format!(
            "{origin}/publish/{PUB_KEY}/{SUB_KEY}/0/{channel}/0/{}?pnsdk=PubNub-Engine-Rust%2F0.2.0&uuid=compare-floor&requestid={n:016x}",
            encode(&payload(n).to_string())
        );
        Box::pin(async move {
            match client.get(url).send().await {
                Ok(response) => response
                    .bytes()
                    .await
                    .is_ok_and(|body| body.starts_with(b"[1,")),
                Err(_) => false,
            }
        })
    })
}

/// Percent-encodes a path segment as the SDKs do (unreserved characters kept).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Measures every concurrency of `levels`, `rounds` times each, the three publishers in
/// rotating order; prints the table and writes the chart. Returns the medians per publisher.
pub async fn run(origin: &str, levels: &[usize], rounds: usize, out: &str) {
    let names = [
        "pubnub-engine",
        "pubnub 0.9 (official)",
        "floor (bare reqwest)",
    ];
    let publishers: Vec<PublishFn> = vec![
        Sdk::Ours.publisher(origin),
        Sdk::Official.publisher(origin),
        floor(origin),
    ];
    let channel = format!("compare-curve-{}", std::process::id());
    for op in &publishers {
        measure::throughput_at(op, &channel, 16, Duration::from_millis(300)).await;
    }
    let mut medians: Vec<Vec<(f64, f64)>> = vec![Vec::new(); publishers.len()];
    println!(
        "{:>9} {:>16} {:>22} {:>22} {:>12}",
        "in flight", names[0], names[1], names[2], "ours/floor"
    );
    for &level in levels {
        let mut rates: Vec<Vec<f64>> = vec![Vec::new(); publishers.len()];
        for round in 0..rounds {
            for k in 0..publishers.len() {
                let p = (round + k) % publishers.len();
                let (rate, _failed) =
                    measure::throughput_at(&publishers[p], &channel, level, MEASURE).await;
                rates[p].push(rate);
            }
        }
        let row: Vec<f64> = rates
            .iter_mut()
            .map(|r| {
                r.sort_by(f64::total_cmp);
                r[r.len() / 2]
            })
            .collect();
        for (p, rate) in row.iter().enumerate() {
            medians[p].push((level as f64, *rate));
        }
        println!(
            "{level:>9} {:>14.0}/s {:>20.0}/s {:>20.0}/s {:>11.1} %",
            row[0],
            row[1],
            row[2],
            100.0 * row[0] / row[2].max(1.0)
        );
    }
    println!("\n{rounds} rounds per level (medians), the three in rotating order, one process");
    let series: Vec<(&str, Vec<(f64, f64)>)> = names.iter().copied().zip(medians).collect();
    let svg = chart::chart_with(
        "Publish throughput against requests in flight",
        "publishes per second",
        "requests in flight",
        &series,
    );
    if std::fs::write(out, svg).is_ok() {
        eprintln!("compare: wrote {out}");
    }
}

//! The figures, the targets of issue 8, and their two renderings: a table and one JSON object
//! whose field names stay stable (scripts compare runs with them).

use std::fmt::Write;
use std::time::Duration;

use serde_json::{json, Map, Value};

/// One throughput measurement.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rate {
    pub per_sec: f64,
    pub failed: u64,
    /// CPU time of the client's threads per operation (when the operations ran alone).
    pub cpu_us_per_op: Option<f64>,
}

/// The median rate of several rounds (failures summed).
pub fn median(rates: &[Rate]) -> Rate {
    let middle = |values: Vec<f64>| {
        let mut sorted = values;
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied()
    };
    Rate {
        per_sec: middle(rates.iter().map(|r| r.per_sec).collect()).unwrap_or(0.0),
        failed: rates.iter().map(|r| r.failed).sum(),
        cpu_us_per_op: middle(rates.iter().filter_map(|r| r.cpu_us_per_op).collect()),
    }
}

#[derive(Debug, Default)]
pub struct Publish {
    pub sequential: Rate,
    pub floor_sequential: Rate,
    pub minimal_floor_sequential: Rate,
    /// The median over rounds of SDK / floor, each round's two measured back to back.
    pub sequential_ratio: f64,
    pub concurrent: Rate,
    pub floor_concurrent: Rate,
    pub minimal_floor_concurrent: Rate,
    pub concurrent_ratio: f64,
}

#[derive(Debug, Default)]
pub struct Latency {
    pub samples: usize,
    pub lost: u64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

impl Latency {
    pub fn from_samples(mut samples: Vec<Duration>, lost: u64) -> Latency {
        samples.sort();
        let at = |q: f64| {
            let i = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len().max(1));
            samples
                .get(i - 1)
                .map_or(0.0, |d| d.as_secs_f64() * 1_000_000.0)
        };
        Latency {
            samples: samples.len(),
            lost,
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            max_us: at(1.0),
        }
    }
}

#[derive(Debug, Default)]
pub struct Burst {
    pub messages: u64,
    pub publish_failed: u64,
    pub published_per_sec: f64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Delivered by gap fill from history (`--gap-fill`).
    pub recovered: u64,
    pub delivered_per_sec: f64,
}

#[derive(Debug, Default)]
pub struct Server {
    pub hub_publish_per_sec: f64,
}

#[derive(Debug, Default)]
pub struct Memory {
    pub clients: u64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub per_client_kib: f64,
}

#[derive(Debug, Default)]
pub struct Report {
    pub origin: String,
    pub in_process_server: bool,
    pub rounds: usize,
    /// Every SDK client encrypted with an AES-CBC crypto module (`--crypto`).
    pub encrypted: bool,
    pub publish: Option<Publish>,
    pub latency: Option<Latency>,
    /// The same exchange between a bare publisher and a bare long-poll loop.
    pub latency_floor: Option<Latency>,
    /// The burst published by the hub (in-process server only).
    pub burst: Option<Burst>,
    /// The burst published by an SDK client over HTTP.
    pub burst_http: Option<Burst>,
    pub server: Option<Server>,
    pub memory: Option<Memory>,
}

fn ratio(a: Rate, b: Rate) -> f64 {
    if b.per_sec > 0.0 {
        a.per_sec / b.per_sec
    } else {
        0.0
    }
}

fn burst_met(b: &Burst, rate: bool) -> bool {
    b.lost == 0 && b.duplicated == 0 && (!rate || b.delivered_per_sec >= 100_000.0)
}

fn burst_json(prefix: &str, b: Option<&Burst>, out: &mut Map<String, Value>) {
    let fields = [
        ("messages", b.map(|b| json!(b.messages))),
        ("publish_failed", b.map(|b| json!(b.publish_failed))),
        (
            "published_per_sec",
            b.map(|b| json!(b.published_per_sec.round())),
        ),
        ("delivered", b.map(|b| json!(b.delivered))),
        ("lost", b.map(|b| json!(b.lost))),
        ("duplicated", b.map(|b| json!(b.duplicated))),
        ("recovered", b.map(|b| json!(b.recovered))),
        (
            "delivered_per_sec",
            b.map(|b| json!(b.delivered_per_sec.round())),
        ),
    ];
    for (name, value) in fields {
        out.insert(format!("{prefix}_{name}"), value.unwrap_or(Value::Null));
    }
}

impl Report {
    pub fn new(origin: &str, in_process_server: bool, rounds: usize) -> Report {
        Report {
            origin: origin.to_string(),
            in_process_server,
            rounds,
            ..Report::default()
        }
    }

    /// The SDK's latency p99 over the bare floor's, when both were measured.
    fn latency_p99_ratio(&self) -> Option<f64> {
        let (sdk, floor) = (self.latency.as_ref()?, self.latency_floor.as_ref()?);
        (floor.p99_us > 0.0).then(|| sdk.p99_us / floor.p99_us)
    }

    /// (name, met) for every target of issue 8; `None` when the step did not run.
    fn targets(&self) -> Vec<(&'static str, Option<bool>)> {
        let p = self.publish.as_ref();
        let l = self.latency.as_ref();
        vec![
            (
                "publish_sequential_ratio",
                p.map(|p| p.sequential_ratio >= 0.85),
            ),
            (
                "publish_concurrent_ratio",
                p.map(|p| p.concurrent_ratio >= 0.90),
            ),
            ("latency_p50", l.map(|l| l.p50_us <= 150.0)),
            ("latency_p99", l.map(|l| l.p99_us <= 300.0)),
            // Issue 21: the p99 as a ratio to the floor's, measured in the same run.
            (
                "latency_p99_vs_floor",
                self.latency_p99_ratio().map(|ratio| ratio <= 1.10),
            ),
            ("burst", self.burst.as_ref().map(|b| burst_met(b, true))),
            (
                "burst_http_lost_duplicated",
                self.burst_http.as_ref().map(|b| burst_met(b, false)),
            ),
            (
                "memory_per_client",
                self.memory.as_ref().map(|m| m.per_client_kib <= 40.0),
            ),
        ]
    }

    pub fn json(&self) -> Value {
        let mut out = Map::new();
        let mut put = |name: &str, value: Value| {
            out.insert(name.to_string(), value);
        };
        put("origin", json!(self.origin));
        put("in_process_server", json!(self.in_process_server));
        put(
            "cores",
            json!(std::thread::available_parallelism().map_or(0, |n| n.get())),
        );
        put("rounds", json!(self.rounds));
        put("encrypted", json!(self.encrypted));
        put("concurrency", json!(crate::CONCURRENCY));
        let p = self.publish.as_ref();
        let rate = |f: fn(&Publish) -> Rate| p.map(|p| f(p).per_sec.round());
        let share = |a: fn(&Publish) -> Rate, b: fn(&Publish) -> Rate| p.map(|p| ratio(a(p), b(p)));
        put("publish_sequential_per_sec", json!(rate(|p| p.sequential)));
        put(
            "floor_sequential_per_sec",
            json!(rate(|p| p.floor_sequential)),
        );
        put(
            "publish_sequential_ratio",
            json!(p.map(|p| p.sequential_ratio)),
        );
        put("publish_concurrent_per_sec", json!(rate(|p| p.concurrent)));
        put(
            "floor_concurrent_per_sec",
            json!(rate(|p| p.floor_concurrent)),
        );
        put(
            "publish_concurrent_ratio",
            json!(p.map(|p| p.concurrent_ratio)),
        );
        let cpu = |f: fn(&Publish) -> Rate| {
            p.and_then(|p| f(p).cpu_us_per_op)
                .map(|us| (us * 100.0).round() / 100.0)
        };
        put("publish_concurrent_cpu_us", json!(cpu(|p| p.concurrent)));
        put(
            "floor_concurrent_cpu_us",
            json!(cpu(|p| p.floor_concurrent)),
        );
        put(
            "publish_failed",
            json!(p.map(|p| p.sequential.failed + p.concurrent.failed)),
        );
        put(
            "floor_failed",
            json!(p.map(|p| p.floor_sequential.failed + p.floor_concurrent.failed)),
        );
        put(
            "minimal_floor_sequential_per_sec",
            json!(rate(|p| p.minimal_floor_sequential)),
        );
        put(
            "minimal_floor_concurrent_per_sec",
            json!(rate(|p| p.minimal_floor_concurrent)),
        );
        put(
            "local_vs_minimal_sequential_ratio",
            json!(share(
                |p| p.floor_sequential,
                |p| p.minimal_floor_sequential
            )),
        );
        put(
            "local_vs_minimal_concurrent_ratio",
            json!(share(
                |p| p.floor_concurrent,
                |p| p.minimal_floor_concurrent
            )),
        );
        let l = self.latency.as_ref();
        put("latency_samples", json!(l.map(|l| l.samples)));
        put("latency_lost", json!(l.map(|l| l.lost)));
        put("latency_p50_us", json!(l.map(|l| l.p50_us.round())));
        put("latency_p90_us", json!(l.map(|l| l.p90_us.round())));
        put("latency_p99_us", json!(l.map(|l| l.p99_us.round())));
        put("latency_max_us", json!(l.map(|l| l.max_us.round())));
        let lf = self.latency_floor.as_ref();
        put("latency_floor_p50_us", json!(lf.map(|l| l.p50_us.round())));
        put("latency_floor_p99_us", json!(lf.map(|l| l.p99_us.round())));
        put(
            "latency_p99_vs_floor",
            json!(self
                .latency_p99_ratio()
                .map(|r| (r * 1000.0).round() / 1000.0)),
        );
        put(
            "server_hub_publish_per_sec",
            json!(self.server.as_ref().map(|s| s.hub_publish_per_sec.round())),
        );
        let m = self.memory.as_ref();
        put("memory_clients", json!(m.map(|m| m.clients)));
        put("memory_rss_before_kib", json!(m.map(|m| m.rss_before_kib)));
        put("memory_rss_after_kib", json!(m.map(|m| m.rss_after_kib)));
        put(
            "memory_per_client_kib",
            json!(m.map(|m| (m.per_client_kib * 10.0).round() / 10.0)),
        );
        let targets: Map<String, Value> = self
            .targets()
            .into_iter()
            .map(|(name, met)| (name.to_string(), json!(met)))
            .collect();
        put("targets_met", Value::Object(targets));
        burst_json("burst", self.burst.as_ref(), &mut out);
        burst_json("burst_http", self.burst_http.as_ref(), &mut out);
        Value::Object(out)
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let mut row = |figure: &str, value: String, target: &str| {
            let _ = writeln!(out, "{figure:<46} {value:>28}  {target}");
        };
        let rate = |r: Rate| format!("{:.0}/s", r.per_sec);
        let with_cpu = |r: Rate| match r.cpu_us_per_op {
            Some(us) => format!("{:.0}/s, {us:.1} µs CPU", r.per_sec),
            None => format!("{:.0}/s", r.per_sec),
        };
        let pct = |r: f64| format!("{:.1} %", 100.0 * r);
        row("figure", "measured".into(), "target");
        if let Some(p) = &self.publish {
            row("publish, sequential: SDK", with_cpu(p.sequential), "");
            row(
                "publish, sequential: floor",
                with_cpu(p.floor_sequential),
                "",
            );
            row("  SDK / floor", pct(p.sequential_ratio), "≥ 85 %");
            row("publish, 64 in flight: SDK", with_cpu(p.concurrent), "");
            row(
                "publish, 64 in flight: floor",
                with_cpu(p.floor_concurrent),
                "",
            );
            row("  SDK / floor", pct(p.concurrent_ratio), "≥ 90 %");
            row(
                "floor, sequential: this server / minimal",
                format!(
                    "{} / {}",
                    rate(p.floor_sequential),
                    rate(p.minimal_floor_sequential)
                ),
                "close",
            );
            row(
                "floor, 64 in flight: this server / minimal",
                format!(
                    "{} / {}",
                    rate(p.floor_concurrent),
                    rate(p.minimal_floor_concurrent)
                ),
                "close",
            );
        }
        if let Some(l) = &self.latency {
            row(
                "publish → listener latency p50 / p99",
                format!("{:.0} µs / {:.0} µs", l.p50_us, l.p99_us),
                "≤ 150 µs / ≤ 300 µs",
            );
            row(
                "  p90 / max (samples, lost)",
                format!(
                    "{:.0} µs / {:.0} µs ({}, {})",
                    l.p90_us, l.max_us, l.samples, l.lost
                ),
                "",
            );
        }
        if let Some(l) = &self.latency_floor {
            row(
                "  floor: bare publisher → bare long-poll",
                format!("{:.0} µs / {:.0} µs", l.p50_us, l.p99_us),
                "",
            );
        }
        if let Some(ratio) = self.latency_p99_ratio() {
            row("  p99 / floor p99", format!("{ratio:.2}×"), "≤ 1.10×");
        }
        for (name, burst, target) in [
            ("burst from the hub", &self.burst, "0 / 0, ≥ 100,000/s"),
            ("burst from an SDK client", &self.burst_http, "0 / 0"),
        ] {
            if let Some(b) = burst {
                row(
                    &format!("{name}: lost / duplicated, delivered/s"),
                    format!(
                        "{} / {}, {:.0}/s",
                        b.lost, b.duplicated, b.delivered_per_sec
                    ),
                    target,
                );
                row("  published/s", format!("{:.0}/s", b.published_per_sec), "");
                if b.recovered > 0 {
                    row("  recovered by gap fill", b.recovered.to_string(), "");
                }
            }
        }
        if let Some(s) = &self.server {
            row(
                "pubnub-local hub: publishes/s (no HTTP)",
                format!("{:.0}/s", s.hub_publish_per_sec),
                "",
            );
        }
        if let Some(m) = &self.memory {
            row(
                &format!("memory per subscribed client ({})", m.clients),
                format!("{:.1} KiB", m.per_client_kib),
                "≤ 40 KiB",
            );
        }
        let missed: Vec<&str> = self
            .targets()
            .into_iter()
            .filter(|(_, met)| *met == Some(false))
            .map(|(name, _)| name)
            .collect();
        let _ = writeln!(
            out,
            "\n{} rounds (medians), origin {}{}{}; targets missed: {}",
            self.rounds,
            self.origin,
            if self.in_process_server {
                " (pubnub-local in-process)"
            } else {
                ""
            },
            if self.encrypted {
                ", SDK messages encrypted (AES-CBC)"
            } else {
                ""
            },
            if missed.is_empty() {
                "none".to_string()
            } else {
                missed.join(", ")
            }
        );
        out
    }
}

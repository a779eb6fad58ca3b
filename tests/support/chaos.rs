//! The chaos scenario, shared by `tests/chaos.rs` (a short, seeded run) and `examples/soak.rs`
//! (the same for as long as asked).
//!
//! A publisher sends a numbered sequence on several channels while `pubnub-local` (over
//! loopback) injects, from a seeded schedule: 500/502/503, 429 with `Retry-After`, connection
//! resets, dropped long-polls, truncated and non-JSON bodies, answers slower than the client's
//! subscribe timeout, publish failures that store nothing, and a full listener stop/restart.
//! Three subscribers (a subscription set, one subscription per channel, a wildcard) must each
//! end with every accepted message exactly once, in publish order per channel, and their
//! statuses must tell the story: every `UnexpectedDisconnect` is followed by `Reconnected`.
//!
//! Nothing waits on a timer for its own sake: each step awaits an event (a publish answer, a
//! delivery, a status, a state) within a bound that only fails when something is broken.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pubnub_engine::subscribe::machine::State;
use pubnub_engine::{
    PubNub, RetryConfig, RetryPolicy, StatusCategory, Subscription, SubscriptionOptions,
    SubscriptionSet,
};
use pubnub_local::{Endpoint, Fault, Server, ServerHandle};
use tokio::sync::Notify;

pub const CHANNELS: [&str; 3] = ["chaos.0", "chaos.1", "chaos.2"];
/// The server holds a long-poll this long; the client gives up on one after `SUBSCRIBE_TIMEOUT`.
const HOLD: Duration = Duration::from_millis(1000);
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// Keep starting rounds until this much time has passed (after `min_rounds`).
    pub duration: Duration,
    /// At least this many rounds (each fault kind is used once every 11 rounds).
    pub min_rounds: u32,
    /// Messages published per round.
    pub per_round: u32,
    /// Print each round.
    pub verbose: bool,
}

/// What happened.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub rounds: u32,
    pub accepted: u64,
    pub failed_publishes: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub reordered: u64,
    pub unexpected_disconnects: u64,
    pub reconnects: u64,
    pub worst_recovery: Duration,
    pub faults: BTreeMap<&'static str, u32>,
    /// Long-polls that were parked when a "dropped long-polls" fault closed them.
    pub dropped_long_polls: u64,
    /// Statuses that do not tell the story, and steps that timed out.
    pub problems: Vec<String>,
    pub elapsed: Duration,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.lost == 0 && self.duplicates == 0 && self.reordered == 0 && self.problems.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "chaos: {} rounds in {:.1?}; published {} (+{} publishes failed and were not stored)",
            self.rounds, self.elapsed, self.accepted, self.failed_publishes
        )?;
        writeln!(
            f,
            "  delivered {} | lost {} | duplicates {} | reordered {}",
            self.delivered, self.lost, self.duplicates, self.reordered
        )?;
        writeln!(
            f,
            "  UnexpectedDisconnect {} | Reconnected {} | worst recovery {:?}",
            self.unexpected_disconnects, self.reconnects, self.worst_recovery
        )?;
        writeln!(
            f,
            "  faults: {:?} ({} parked long-polls dropped)",
            self.faults, self.dropped_long_polls
        )?;
        for problem in &self.problems {
            writeln!(f, "  PROBLEM: {problem}")?;
        }
        Ok(())
    }
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Every fault kind; each is used once in every cycle of rounds.
const KINDS: [&str; 11] = [
    "500",
    "502",
    "503",
    "429+Retry-After",
    "reset",
    "dropped long-polls",
    "truncated",
    "non-JSON",
    "slower than the timeout",
    "publish failures",
    "listener stop/restart",
];

/// What one subscriber received and which statuses it saw.
#[derive(Default)]
struct Seen {
    /// Channel → message numbers, in delivery order.
    messages: HashMap<String, Vec<u64>>,
    statuses: Vec<(Instant, StatusCategory)>,
}

struct Subscriber {
    name: &'static str,
    client: PubNub,
    seen: Arc<Mutex<Seen>>,
    _subscriptions: Vec<Subscription>,
    _set: Option<SubscriptionSet>,
}

fn client(server: &ServerHandle, user: &str) -> PubNub {
    PubNub::builder("sub-key", user)
        .publish_key("pub-key")
        .origin(server.url())
        .subscribe_request_timeout(SUBSCRIBE_TIMEOUT)
        .non_subscribe_request_timeout(Duration::from_secs(2))
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(20),
            max_retries: 10_000,
        }))
        .build_client()
        .expect("client builds")
}

impl Subscriber {
    async fn start(server: &ServerHandle, name: &'static str, notify: Arc<Notify>) -> Subscriber {
        let client = client(server, name);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let record = {
            let seen = seen.clone();
            let notify = notify.clone();
            move |m: pubnub_engine::Message| {
                let number = m.message.as_u64().unwrap_or(u64::MAX);
                seen.lock()
                    .unwrap()
                    .messages
                    .entry(m.channel.clone())
                    .or_default()
                    .push(number);
                notify.notify_one();
            }
        };
        let mut statuses = client.status_stream();
        {
            let seen = seen.clone();
            let notify = notify.clone();
            tokio::spawn(async move {
                while let Some(status) = statuses.next().await {
                    seen.lock()
                        .unwrap()
                        .statuses
                        // The story: a failure's cause (Timeout, NetworkIssues, …) folded in.
                        .push((Instant::now(), status.category.story()));
                    notify.notify_one();
                }
            });
        }
        let options = SubscriptionOptions::new;
        let (subscriptions, set) = match name {
            "set" => {
                let set = client
                    .subscription_set(CHANNELS.map(|c| client.channel(c).subscription(options())));
                set.on_message(record);
                set.subscribe().expect("subscribe");
                (Vec::new(), Some(set))
            }
            "each" => {
                let record = Arc::new(record);
                let subs: Vec<Subscription> = CHANNELS
                    .iter()
                    .map(|c| {
                        let s = client.channel(*c).subscription(options());
                        let record = record.clone();
                        s.on_message(move |m| record(m));
                        s.subscribe().expect("subscribe");
                        s
                    })
                    .collect();
                (subs, None)
            }
            _ => {
                let s = client.channel("chaos.*").subscription(options());
                s.on_message(record);
                s.subscribe().expect("subscribe");
                (vec![s], None)
            }
        };
        Subscriber {
            name,
            client,
            seen,
            _subscriptions: subscriptions,
            _set: set,
        }
    }

    fn categories(&self) -> Vec<StatusCategory> {
        let seen = self.seen.lock().unwrap();
        seen.statuses.iter().map(|(_, c)| *c).collect()
    }
}

/// Waits until `done` holds, re-checking on every delivery and status; false after `bound`.
async fn until(notify: &Notify, bound: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if done() {
            return true;
        }
        // A bounded wait for the next event, not a sleep: it returns as soon as one arrives.
        let wake = tokio::time::timeout_at(deadline, notify.notified());
        if wake.await.is_err() {
            return done();
        }
    }
}

/// True when every subscriber has every accepted message of every channel.
fn caught_up(subscribers: &[Subscriber], accepted: &HashMap<&str, Vec<u64>>) -> bool {
    subscribers.iter().all(|s| {
        let seen = s.seen.lock().unwrap();
        CHANNELS.iter().all(|c| {
            let want = accepted.get(c).map_or(0, Vec::len);
            seen.messages.get(*c).map_or(0, Vec::len) >= want
        })
    })
}

/// Runs the scenario.
pub async fn run(options: Options) -> Report {
    let started = Instant::now();
    let mut report = Report::default();
    let server = Server::builder()
        .hold(HOLD)
        .buffer_size(100_000)
        .start()
        .await
        .expect("pubnub-local starts");
    let notify = Arc::new(Notify::new());
    let mut subscribers = Vec::new();
    for name in ["set", "each", "wildcard"] {
        subscribers.push(Subscriber::start(&server, name, notify.clone()).await);
    }
    let connected = until(&notify, Duration::from_secs(10), || {
        subscribers
            .iter()
            .all(|s| s.categories().contains(&StatusCategory::Connected))
    })
    .await;
    if !connected {
        report.problems.push("subscribers never connected".into());
        return report;
    }

    let publisher = client(&server, "publisher");
    let mut rng = Rng(options.seed);
    let mut accepted: HashMap<&str, Vec<u64>> = HashMap::new();
    let mut next_number = 0u64;
    let mut order: Vec<usize> = Vec::new();
    let mut round = 0u32;
    while round < options.min_rounds || started.elapsed() < options.duration {
        if order.is_empty() {
            // A fresh shuffle of every kind: each cycle uses each fault once.
            order = (0..KINDS.len()).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        let kind = KINDS[order.pop().unwrap_or(0)];
        *report.faults.entry(kind).or_default() += 1;
        let times = 1 + rng.below(3) as u32;
        let faults = server.faults();
        let on_subscribe = |fault: Fault| faults.inject(fault.on(Endpoint::Subscribe).times(times));
        match kind {
            "500" => on_subscribe(Fault::status(500)),
            "502" => on_subscribe(Fault::status(502)),
            "503" => on_subscribe(Fault::status(503)),
            "429+Retry-After" => on_subscribe(Fault::status(429).retry_after(1)),
            "reset" => on_subscribe(Fault::reset()),
            "dropped long-polls" => {
                report.dropped_long_polls += server.hub().waiting_subscribers() as u64;
                faults.drop_long_polls();
            }
            "truncated" => on_subscribe(Fault::truncated()),
            "non-JSON" => on_subscribe(Fault::non_json()),
            "slower than the timeout" => {
                on_subscribe(Fault::delay(SUBSCRIBE_TIMEOUT + Duration::from_millis(500)))
            }
            // Faults that answer before the message is stored: a retried publish stores once.
            "publish failures" => {
                faults.inject(Fault::status(503).on(Endpoint::Publish).times(times));
                faults.inject(Fault::reset().on(Endpoint::Publish));
            }
            _ => {
                server.stop_listener().await;
                let down = until(&notify, Duration::from_secs(10), || {
                    subscribers.iter().all(|s| {
                        s.categories().last() == Some(&StatusCategory::UnexpectedDisconnect)
                    })
                })
                .await;
                if !down {
                    let last: Vec<_> = subscribers
                        .iter()
                        .map(|s| (s.name, s.categories().last().copied()))
                        .collect();
                    report.problems.push(format!(
                        "round {round}: after the listener stopped, not every subscriber \
                         reported UnexpectedDisconnect: {last:?}"
                    ));
                }
                server
                    .restart_listener()
                    .await
                    .expect("the listener restarts");
            }
        }
        for _ in 0..options.per_round {
            let channel = CHANNELS[rng.below(CHANNELS.len() as u64) as usize];
            next_number += 1;
            let sent = publisher
                .publish()
                .channel(channel)
                .message(&next_number)
                .retry(true)
                .await;
            match sent {
                Ok(_) => accepted.entry(channel).or_default().push(next_number),
                Err(_) => report.failed_publishes += 1,
            }
        }
        // Every other round, and after a listener bounce, everyone must catch up before the
        // next fault; the other rounds let faults overlap.
        if round % 2 == 1 || kind == "listener stop/restart" {
            let ok = until(&notify, Duration::from_secs(20), || {
                caught_up(&subscribers, &accepted)
            })
            .await;
            if !ok {
                report
                    .problems
                    .push(format!("round {round} ({kind}): not caught up within 20 s"));
            }
        }
        if options.verbose {
            println!("round {round}: {kind} ×{times}");
        }
        round += 1;
    }
    server.faults().clear();
    let ok = until(&notify, Duration::from_secs(30), || {
        caught_up(&subscribers, &accepted)
    })
    .await;
    if !ok {
        report
            .problems
            .push("not caught up 30 s after the last fault".into());
    }
    // Recovered loops report Reconnected after their last UnexpectedDisconnect.
    let recovered = until(&notify, Duration::from_secs(10), || {
        subscribers.iter().all(|s| {
            s.categories()
                .iter()
                .rev()
                .find(|c| **c != StatusCategory::SubscriptionChanged)
                != Some(&StatusCategory::UnexpectedDisconnect)
        })
    })
    .await;
    if !recovered {
        report
            .problems
            .push("a subscriber ended on UnexpectedDisconnect".into());
    }
    report.rounds = round;
    report.accepted = accepted.values().map(|v| v.len() as u64).sum();
    for s in &subscribers {
        let seen = s.seen.lock().unwrap();
        for channel in CHANNELS {
            let want = accepted.get(channel).cloned().unwrap_or_default();
            let got = seen.messages.get(channel).cloned().unwrap_or_default();
            report.delivered += got.len() as u64;
            let mut counts: HashMap<u64, u32> = HashMap::new();
            for n in &got {
                *counts.entry(*n).or_default() += 1;
            }
            report.lost += want.iter().filter(|n| !counts.contains_key(n)).count() as u64;
            report.duplicates += counts.values().map(|c| u64::from(c - 1)).sum::<u64>();
            report.reordered += got.windows(2).filter(|w| w[0] >= w[1]).count() as u64;
            let unknown = got.iter().filter(|n| !want.contains(n)).count();
            if unknown > 0 {
                report.problems.push(format!(
                    "{}: {unknown} messages on {channel} that were never accepted",
                    s.name
                ));
            }
        }
        // The story: each UnexpectedDisconnect is followed by Reconnected (the loop recovered
        // by itself; nothing here changes subscriptions or calls reconnect).
        let mut open: Option<Instant> = None;
        let mut connected = 0;
        for (at, category) in &seen.statuses {
            match category {
                StatusCategory::UnexpectedDisconnect => {
                    report.unexpected_disconnects += 1;
                    if open.is_some() {
                        report.problems.push(format!(
                            "{}: two UnexpectedDisconnect without Reconnected between",
                            s.name
                        ));
                    }
                    open = Some(*at);
                }
                StatusCategory::Reconnected => {
                    report.reconnects += 1;
                    match open.take() {
                        Some(since) => {
                            report.worst_recovery = report.worst_recovery.max(*at - since)
                        }
                        None => report.problems.push(format!(
                            "{}: Reconnected without UnexpectedDisconnect",
                            s.name
                        )),
                    }
                }
                StatusCategory::Connected => {
                    connected += 1;
                    if connected > 1 {
                        report
                            .problems
                            .push(format!("{}: a second Connected (a new handshake)", s.name));
                    }
                }
                // The per-channel subscriber's second and third subscribe can land after its
                // handshake: the loop then reports the change, which is part of the story.
                StatusCategory::SubscriptionChanged => {}
                other => report
                    .problems
                    .push(format!("{}: unexpected status {other:?}", s.name)),
            }
        }
        if seen
            .statuses
            .iter()
            .all(|(_, c)| *c != StatusCategory::Reconnected)
        {
            report.problems.push(format!(
                "{}: never saw UnexpectedDisconnect → Reconnected",
                s.name
            ));
        }
    }
    for s in &subscribers {
        let state = s.client.subscribe_state().await;
        if !matches!(state, Some(State::Receiving { .. })) {
            report
                .problems
                .push(format!("{} ended in {:?}", s.name, state.map(|s| s.name())));
        }
    }
    for s in subscribers {
        s.client.close().await;
    }
    publisher.close().await;
    report.elapsed = started.elapsed();
    report
}

//! Publish → listener latency: one client publishes, another's `on_message` callback receives;
//! the time from calling `publish` to the callback, one message at a time. Interleaved with the
//! same exchange between a bare reqwest publisher and a bare long-poll loop (the floor).

use std::future::{Future, IntoFuture};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use pubnub_engine::{StatusCategory, SubscriptionOptions};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::floor::{self, Floor};
use crate::report::Latency;
use crate::throughput::{client, payload};

const CHANNEL: &str = "bench-latency";
const FLOOR_CHANNEL: &str = "bench-latency-floor";
const WARM_UP: u64 = 100;
const SAMPLES: u64 = 2000;
/// Between two samples, so that the subscriber's next long-poll is parked at the server when
/// the publish arrives: the latency of a message to a waiting subscriber.
const GAP: Duration = Duration::from_millis(1);
const PATIENCE: Duration = Duration::from_secs(5);

type Arrivals = UnboundedReceiver<(Option<u64>, Instant)>;

/// The SDK's latency and the floor's.
pub async fn measure(origin: &str) -> (Latency, Latency) {
    let listener = client(origin, "bench-listener");
    let speaker = client(origin, "bench-speaker");
    let subscription = listener
        .channel(CHANNEL)
        .subscription(SubscriptionOptions::new());
    let (tx, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    subscription.on_message(move |message| {
        let at = Instant::now();
        let _ = tx.send((message.message["n"].as_u64(), at));
    });
    let mut statuses = listener.status_stream();
    subscription.subscribe().expect("a valid subscription");
    match tokio::time::timeout(PATIENCE, statuses.next()).await {
        Ok(Some(status)) if status.category == StatusCategory::Connected => {}
        other => panic!("the listener did not connect: {other:?}"),
    }
    let floor_speaker = Floor::to_channel(origin, "bench-floor-speaker", FLOOR_CHANNEL);
    let mut floor_arrivals = floor::subscribe(origin, FLOOR_CHANNEL);
    // The bare loop's handshake: give it a moment to park its first long-poll.
    tokio::time::sleep(Duration::from_millis(50)).await;

    let (mut sdk, mut bare) = (Vec::new(), Vec::new());
    let (mut sdk_lost, mut bare_lost) = (0, 0);
    let give_up = Instant::now() + Duration::from_secs(20);
    for n in 0..WARM_UP + SAMPLES {
        if Instant::now() > give_up {
            break;
        }
        tokio::time::sleep(GAP).await;
        let started = Instant::now();
        let publish = speaker
            .publish()
            .channel(CHANNEL)
            .message(&payload(n))
            .into_future();
        let took = sample(n, started, async { publish.await.is_ok() }, &mut arrivals).await;
        record(n, took, &mut sdk, &mut sdk_lost);

        tokio::time::sleep(GAP).await;
        let started = Instant::now();
        let publish = floor_speaker.publish(n);
        let took = sample(n, started, publish, &mut floor_arrivals).await;
        record(n, took, &mut bare, &mut bare_lost);
    }
    listener.close().await;
    (
        Latency::from_samples(sdk, sdk_lost),
        Latency::from_samples(bare, bare_lost),
    )
}

/// Publishes with `publish` and waits for message `n` to arrive.
async fn sample(
    n: u64,
    started: Instant,
    publish: impl Future<Output = bool>,
    arrivals: &mut Arrivals,
) -> Option<Duration> {
    let arrival = async {
        loop {
            match arrivals.recv().await {
                Some((Some(m), at)) if m == n => return Some(at),
                Some(_) => continue,
                None => return None,
            }
        }
    };
    let (sent, arrived) = tokio::join!(publish, tokio::time::timeout(PATIENCE, arrival));
    match (sent, arrived) {
        (true, Ok(Some(at))) => Some(at - started),
        _ => None,
    }
}

fn record(n: u64, sample: Option<Duration>, samples: &mut Vec<Duration>, lost: &mut u64) {
    match sample {
        Some(latency) if n >= WARM_UP => samples.push(latency),
        Some(_) => {}
        None => *lost += 1,
    }
}

//! Opt-in retries and timeouts, through an in-memory [`Transport`]: the seam a deterministic
//! simulation uses, and a way to count requests. Time is tokio's paused clock.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pubnub_engine::{
    Config, Error, ErrorKind, PubNub, Request, Response, RetryConfig, RetryPolicy, Transport,
    TransportFuture,
};

/// An in-memory transport: answers from a script, records every request.
#[derive(Debug, Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<Response, Error>>>,
    seen: Mutex<Vec<(tokio::time::Instant, Request)>>,
}

impl Scripted {
    fn new(answers: impl IntoIterator<Item = Result<Response, Error>>) -> Arc<Scripted> {
        Arc::new(Scripted {
            answers: Mutex::new(answers.into_iter().collect()),
            seen: Mutex::default(),
        })
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Seconds (of the paused clock) between consecutive requests.
    fn gaps(&self) -> Vec<Duration> {
        let seen = self.seen.lock().unwrap();
        seen.windows(2).map(|w| w[1].0 - w[0].0).collect()
    }
}

impl Transport for Scripted {
    fn send(&self, request: Request) -> TransportFuture {
        self.seen
            .lock()
            .unwrap()
            .push((tokio::time::Instant::now(), request));
        match self.answers.lock().unwrap().pop_front() {
            Some(answer) => Box::pin(async move { answer }),
            None => Box::pin(std::future::pending()),
        }
    }
}

fn client_with(transport: Arc<Scripted>, retry: RetryConfig) -> PubNub {
    let config = Config::builder("sub-key", "user-1")
        .publish_key("pub-key")
        .retry(retry)
        .transport(transport)
        .build()
        .unwrap();
    PubNub::new(config).unwrap()
}

fn answer(status: u16, body: &str) -> Result<Response, Error> {
    Ok(Response::new(status, body.to_owned()))
}

const SENT: &str = r#"[1,"Sent","17000000000000000"]"#;

#[tokio::test(start_paused = true)]
async fn opted_in_requests_retry_transient_failures_with_backoff() {
    let transport = Scripted::new([
        answer(500, "oops"),
        Err(Error::new(ErrorKind::Network, "connection reset")),
        answer(200, "not json"),
        answer(200, SENT),
    ]);
    let pubnub = client_with(
        transport.clone(),
        RetryConfig::new(RetryPolicy::exponential()),
    );
    let sent = pubnub
        .publish()
        .channel("c")
        .message(&1)
        .retry(true)
        .await
        .unwrap();
    assert_eq!(sent.timetoken, 17_000_000_000_000_000);
    assert_eq!(transport.count(), 4);
    // 2 s, 4 s, 8 s, each plus up to 1 s of jitter.
    for (gap, base) in transport.gaps().into_iter().zip([2, 4, 8]) {
        assert!(
            gap >= Duration::from_secs(base) && gap < Duration::from_secs(base + 1),
            "{gap:?}"
        );
    }
    // Each attempt is a new request id; the message and its seqn stay the same.
    let seen = transport.seen.lock().unwrap();
    let ids: HashSet<_> = seen
        .iter()
        .map(|(_, r)| r.query_value("requestid"))
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(seen.iter().all(|(_, r)| r.query_value("seqn") == Some("1")));
}

#[tokio::test(start_paused = true)]
async fn requests_are_not_retried_unless_asked() {
    let transport = Scripted::new([answer(500, "oops"), answer(200, SENT)]);
    let pubnub = client_with(transport.clone(), RetryConfig::new(RetryPolicy::linear()));
    let error = pubnub.publish().channel("c").message(&1).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 500 });
    assert_eq!(transport.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn fatal_failures_are_not_retried() {
    let transport = Scripted::new([answer(400, r#"[0,"Invalid Key","1"]"#), answer(200, SENT)]);
    let pubnub = client_with(transport.clone(), RetryConfig::new(RetryPolicy::linear()));
    let error = pubnub
        .publish()
        .channel("c")
        .message(&1)
        .retry(true)
        .await
        .unwrap_err();
    assert_eq!(error.message(), "Invalid Key");
    assert_eq!(transport.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn retries_give_up_after_the_policy_limit_and_honour_retry_after() {
    let policy = RetryPolicy::Linear {
        delay: Duration::from_secs(1),
        max_retries: 2,
    };
    let busy = || Ok(Response::new(429, r#"{"status":429,"error":true}"#).with_retry_after(7));
    let transport = Scripted::new([busy(), busy(), busy(), answer(200, "[1]")]);
    let pubnub = client_with(transport.clone(), RetryConfig::new(policy));
    let error = pubnub.time().retry(true).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 429 });
    assert_eq!(transport.count(), 3);
    assert_eq!(
        transport.gaps(),
        [Duration::from_secs(7), Duration::from_secs(7)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_transport_that_never_answers_times_out_on_tokio_time() {
    let transport = Scripted::new([]);
    let pubnub = client_with(transport.clone(), RetryConfig::new(RetryPolicy::None));
    let started = tokio::time::Instant::now();
    let error = pubnub.here_now().channels(["a"]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(transport.count(), 1);
}

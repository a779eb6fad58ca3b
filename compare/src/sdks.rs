//! The two SDKs behind one face: a publisher per SDK, and listeners that hand every arrived
//! message's number to the measurement with the moment the SDK delivered it.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use pubnub::subscribe::{EventEmitter, EventSubscriber, SubscriptionParams};
use pubnub::transport::TransportReqwest;
use pubnub::{Keyset, PubNubClientBuilder};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

pub const SUB_KEY: &str = "sub-c-compare";
pub const PUB_KEY: &str = "pub-c-compare";
/// Room in our listeners' streams for a whole burst, as the official crate's (unbounded) have.
pub const STREAM_CAPACITY: usize = 10_000;
const PATIENCE: Duration = Duration::from_secs(10);

/// A message arrived: which listener, the message's number, when.
pub type Arrival = (usize, u64, Instant);

/// Publishing with one SDK: a boxed operation per (channel, message number).
pub type PublishFn =
    Arc<dyn Fn(String, u64) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Keeps a listener subscribed while it lives.
pub type Listener = Box<dyn Any + Send>;

/// The `text` of every message: `--size` sets it.
pub static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub fn payload(n: u64) -> Value {
    let text = TEXT
        .get()
        .map_or("hello from the benchmark", String::as_str);
    json!({"text": text, "n": n})
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sdk {
    Ours,
    Official,
}

impl Sdk {
    pub const BOTH: [Sdk; 2] = [Sdk::Ours, Sdk::Official];

    pub fn name(self) -> &'static str {
        match self {
            Sdk::Ours => "pubnub-engine",
            Sdk::Official => "pubnub 0.9 (official)",
        }
    }

    /// Its name on the command line (`--sdk`).
    pub fn flag(self) -> &'static str {
        match self {
            Sdk::Ours => "ours",
            Sdk::Official => "official",
        }
    }

    pub fn parse(flag: &str) -> Option<Sdk> {
        Sdk::BOTH.into_iter().find(|sdk| sdk.flag() == flag)
    }

    pub fn publisher(self, origin: &str) -> PublishFn {
        match self {
            Sdk::Ours => {
                let client = ours(origin, "compare-publisher");
                Arc::new(move |channel: String, n: u64| {
                    let client = client.clone();
                    Box::pin(async move {
                        client
                            .publish()
                            .channel(&channel)
                            .message(&payload(n))
                            .await
                            .is_ok()
                    })
                })
            }
            Sdk::Official => {
                let client = official(origin, "compare-publisher-official");
                Arc::new(move |channel: String, n: u64| {
                    let client = client.clone();
                    Box::pin(async move {
                        client
                            .publish_message(payload(n))
                            .channel(channel)
                            .execute()
                            .await
                            .is_ok()
                    })
                })
            }
        }
    }

    /// A client of this SDK subscribed to `channel` (connected when this returns), whose
    /// messages are read as a stream by a task of the application's (the official crate's only
    /// way; ours could also call back) and sent to `tx` tagged with `id`.
    pub async fn listener(
        self,
        origin: &str,
        channel: &str,
        user: &str,
        id: usize,
        tx: UnboundedSender<Arrival>,
    ) -> Listener {
        match self {
            Sdk::Ours => {
                let client = ours(origin, user);
                let subscription = client.channel(channel).subscription(
                    pubnub_engine::SubscriptionOptions::new().stream_capacity(STREAM_CAPACITY),
                );
                let mut messages = subscription.message_stream();
                tokio::spawn(async move {
                    while let Some(message) = messages.next().await {
                        let at = Instant::now();
                        if let Some(n) = message.message["n"].as_u64() {
                            if tx.send((id, n, at)).is_err() {
                                return;
                            }
                        }
                    }
                });
                let mut statuses = client.status_stream();
                subscription.subscribe().expect("a valid subscription");
                let connected = tokio::time::timeout(PATIENCE, statuses.next()).await;
                assert!(
                    matches!(connected, Ok(Some(ref s)) if s.category == pubnub_engine::StatusCategory::Connected),
                    "pubnub-engine did not connect: {connected:?}"
                );
                Box::new((client, subscription))
            }
            Sdk::Official => {
                let client = official(origin, user);
                let mut status = client.status_stream();
                let subscription = client.subscription(SubscriptionParams {
                    channels: Some(&[channel]),
                    channel_groups: None,
                    options: None,
                });
                let mut stream = subscription.messages_stream();
                subscription.subscribe();
                // Its messages are a stream of raw payload bytes.
                tokio::spawn(async move {
                    while let Some(message) = stream.next().await {
                        let at = Instant::now();
                        let n = serde_json::from_slice::<Value>(&message.data)
                            .ok()
                            .and_then(|v| v["n"].as_u64());
                        if let Some(n) = n {
                            if tx.send((id, n, at)).is_err() {
                                return;
                            }
                        }
                    }
                });
                let connected = tokio::time::timeout(PATIENCE, status.next()).await;
                assert!(
                    matches!(
                        connected,
                        Ok(Some(pubnub::subscribe::ConnectionStatus::Connected))
                    ),
                    "the official SDK did not connect: {connected:?}"
                );
                Box::new((client, subscription))
            }
        }
    }
}

/// Our client, publishing and subscribing.
fn ours(origin: &str, user: &str) -> pubnub_engine::PubNub {
    pubnub_engine::PubNub::builder(SUB_KEY, user)
        .publish_key(PUB_KEY)
        .origin(origin)
        .build_client()
        .expect("a valid configuration")
}

/// The official crate's client, with its reqwest transport pointed at `origin`.
fn official(origin: &str, user: &str) -> pubnub::PubNubClient {
    let mut transport = TransportReqwest::default();
    transport.set_hostname(origin);
    PubNubClientBuilder::with_transport(transport)
        .with_keyset(Keyset {
            subscribe_key: SUB_KEY,
            publish_key: Some(PUB_KEY),
            secret_key: None,
        })
        .with_user_id(user)
        .build()
        .expect("a valid official configuration")
}

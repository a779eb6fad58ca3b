//! Reliable publishing: PubNub's "publish reliably" guidance as one API, and, with
//! [`SubscriptionOptions::deduplicate`](crate::SubscriptionOptions::deduplicate) on the
//! subscriber's side, exactly-once delivery end to end.
//!
//! PubNub asks every app to do by hand what a [`ReliablePublisher`] does: publish to a channel
//! serially, one message at a time; check every answer and publish the next message only after
//! success; retry what failed; stay under the ~100 messages a channel buffers for slow
//! subscribers; throttle bursts (say, 5 messages per second per channel).
//!
//! ```no_run
//! use pubnub_engine::{ReliablePublisherOptions, SubscriptionOptions};
//!
//! # async fn run(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
//! let publisher = pubnub.reliable_publisher(ReliablePublisherOptions::new());
//! let timetoken = publisher.send("orders", &serde_json::json!({"id": 1})).await?;
//!
//! // On the receiving side: every message once, retries or not.
//! let orders = pubnub
//!     .channel("orders")
//!     .subscription(SubscriptionOptions::new().deduplicate(100));
//! # Ok(()) }
//! ```
//!
//! # How it works
//!
//! - **Per channel**: a FIFO queue and at most one publish in flight, so messages are stored
//!   in the order they were accepted. Different channels proceed in parallel, up to
//!   [`max_in_flight`](ReliablePublisherOptions::max_in_flight) requests at once (a semaphore
//!   held for the duration of one HTTP attempt only: a channel sleeping on its rate limit or
//!   its back-off never holds up another channel).
//! - **One task per active channel**: started when a message is queued on an idle channel,
//!   ended as soon as that channel's queue is empty. No lock is held across an `.await`.
//! - **Retries** use the client's [`RetryConfig`] for
//!   [`Endpoint::Publish`](crate::Endpoint::Publish) (or the one given in the options):
//!   transient failures (network, timeout, 408, 429, 5xx) are retried after
//!   the policy's delay; a fatal error (400, 403, message too large) or a policy that gives up
//!   fails *that* message's `send` with its typed [`Error`], and the queue goes on with the
//!   next message, order kept.
//! - **Rate limit**: a token bucket per channel (default 5 messages per second, bursts of 1),
//!   taken before every *attempt*, retries included, so the service never sees more than the
//!   rate. The publisher sleeps until the next token; it never polls.
//! - **Backpressure**: each channel queues at most
//!   [`queue_capacity`](ReliablePublisherOptions::queue_capacity) messages (default 100, the
//!   size of PubNub's channel buffer). [`send`](ReliablePublisher::send) waits for room (in
//!   arrival order); [`try_send`](ReliablePublisher::try_send) fails with
//!   [`ErrorKind::QueueFull`] instead.
//! - **Bad input is never queued**: `send` and `try_send` serialise and check the message (size,
//!   channel, keys) before anything else and fail with [`ErrorKind::InvalidArgument`] or
//!   [`ErrorKind::MessageTooLarge`].
//! - **Memory**: a channel's entry (its next `seqn`, its rate-limit bucket, its empty queue:
//!   a few hundred bytes) lives as long as the publisher, so neither the numbering nor the
//!   rate limit restarts when a channel goes idle. A publisher fanning out to an unbounded
//!   number of distinct channels grows with them.
//!
//! # Marks and exactly-once delivery
//!
//! A publish whose answer is lost (a timeout, a connection reset after the service stored the
//! message) is retried, and the service may store it twice: publishing is at-least-once. The
//! publisher closes the loop with a mark in each message's `meta`, which the service passes
//! through to subscribers untouched:
//!
//! ```json
//! {"_rp": {"id": "9f1c0a7e5b3d2468", "n": 42}}
//! ```
//!
//! - `id` is random for each publisher (16 hex digits), so a restarted app, or two publishers
//!   sharing a user id, never share marks; `n` counts each channel's messages from 1, and
//!   **every retry of one message carries the same mark**;
//! - a de-duplicating subscription drops a marked message whose (channel, `id`, `n`) it has
//!   already seen among that publisher's last `window` messages on the channel. **Messages
//!   without a mark are never dropped**: the same payload published twice is two messages.
//!
//! Why a mark and not the protocol's `seqn` (the envelope's `s`): the service puts `"s":1` on
//! every message whose publisher sent no `seqn`, and PubNub's SDKs number per client from 1
//! again after every restart, so a repeated `s` with a repeated payload is often a second,
//! legitimate message ("ping", "ping"). A de-duplication keyed on it drops real messages.
//! The mark costs about 45 bytes of `meta` (the service's size limit counts the message, not
//! `meta`) and is visible to filter expressions as `meta._rp`.
//!
//! Each message still carries a `seqn` too (per channel, the same on every retry, starting at
//! a random number), as PubNub's SDKs send it; nothing relies on it.
//!
//! # Flush, close and drop
//!
//! - [`flush`](ReliablePublisher::flush) waits until every message accepted before the call
//!   has been sent or has failed.
//! - [`close`](ReliablePublisher::close) **drains**: it refuses new messages (sends waiting for
//!   room fail with [`ErrorKind::Closed`]), then waits until every
//!   accepted message was sent or failed and every task ended. Draining, rather than returning
//!   the unsent messages, keeps the one promise the API makes: an accepted message is sent
//!   unless its own `send` reports why not. Bound it with `tokio::time::timeout` if the
//!   service may be unreachable for long.
//! - Dropping the last handle (the publisher, its clones, and the futures from `send` and
//!   `try_send`, which each hold one) **abandons** the work: queued messages fail with
//!   `Closed`, the attempt in flight is cancelled and every task ends. Call `close().await`
//!   first to drain.
//! - Dropping a `send` future before it resolves withdraws the message only if it was still
//!   waiting for room; once accepted, the message is sent anyway.
//!
//! An error from `send` means the message was not *confirmed*: if an earlier attempt's answer
//! was lost, the service may still have stored it (and a de-duplicating subscriber then sees
//! it once).

mod bucket;
mod queue;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, TryAcquireError};

use crate::client::PubNub;
use crate::error::{Error, ErrorKind};
use crate::macros::setters;
use crate::publish::PreparedPublish;
use crate::request::RequestFuture;
use crate::retry::RetryConfig;

use self::queue::Shared;

/// How a [`ReliablePublisher`] behaves. Every setting has a default that follows PubNub's
/// guidance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReliablePublisherOptions {
    rate: Option<(u32, Duration)>,
    burst: u32,
    queue_capacity: usize,
    max_in_flight: usize,
    use_post: Option<bool>,
    retry: Option<RetryConfig>,
}

impl Default for ReliablePublisherOptions {
    fn default() -> Self {
        ReliablePublisherOptions {
            rate: Some((5, Duration::from_secs(1))),
            burst: 1,
            queue_capacity: 100,
            max_in_flight: 16,
            use_post: None,
            retry: None,
        }
    }
}

impl ReliablePublisherOptions {
    setters! {
        self;
        /// At most `messages` publish attempts per `per` on each channel (`messages` is at least
        /// 1; a zero `per` means no limit).
        rate_limit(messages: u32, per: Duration) o => o.rate = Some((messages.max(1), per));
        /// No rate limit.
        no_rate_limit() o => o.rate = None;
        /// How many messages a channel may send at once after a quiet spell (default 1, at least
        /// 1). With a burst of `b` and a rate of `r` per second, any one-second window holds at
        /// most `b - 1 + r` attempts; the default keeps it at `r`.
        burst(burst: u32) o => o.burst = burst.max(1);
        /// How many messages each channel queues, not counting the one in flight (default 100, at
        /// least 1).
        queue_capacity(capacity: usize) o =>
            o.queue_capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        /// How many publish requests may be in flight over all channels (default 16, at least 1).
        max_in_flight(requests: usize) o =>
            o.max_in_flight = requests.clamp(1, Semaphore::MAX_PERMITS);
        /// Send messages as POST bodies (`true`) or in the URL (`false`); default: as the
        /// client's [`publish_post_threshold`](crate::ConfigBuilder::publish_post_threshold) says.
        use_post(use_post: bool) o => o.use_post = Some(use_post);
    }

    /// The defaults: 5 messages per second per channel in bursts of 1, 100 queued messages per
    /// channel, 16 requests in flight over all channels, GET, the client's retry configuration.
    pub fn new() -> Self {
        ReliablePublisherOptions::default()
    }

    /// Retry with this configuration instead of the client's.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }
}

/// What a [`ReliablePublisher`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ReliablePublisherStats {
    /// Messages accepted and waiting in their channel's queue.
    pub queued: u64,
    /// Messages being published: waiting for a token or a request slot, in an HTTP attempt,
    /// or between two attempts.
    pub in_flight: u64,
    /// Messages the service confirmed.
    pub sent: u64,
    /// Attempts repeated after a transient failure.
    pub retried: u64,
    /// Messages whose `send` failed: a fatal error, or retries given up.
    pub failed: u64,
}

/// Publishes messages reliably: per channel in order, one at a time, retried, rate limited,
/// numbered for de-duplication. Created by [`PubNub::reliable_publisher`]; see
/// [the module documentation](crate::reliable) for the whole design.
///
/// Cloning is cheap: clones share the queues, the counters and the limits.
#[derive(Clone)]
pub struct ReliablePublisher {
    handle: Arc<Handle>,
}

/// One user-held reference to the shared state; the last one gone abandons the work.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.abandon();
    }
}

impl fmt::Debug for ReliablePublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReliablePublisher")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl PubNub {
    /// A reliable publisher using this client (see [`ReliablePublisher`]). It needs the
    /// client's publish key, and a tokio runtime when messages are sent.
    pub fn reliable_publisher(&self, options: ReliablePublisherOptions) -> ReliablePublisher {
        ReliablePublisher {
            handle: Arc::new(Handle {
                shared: Arc::new(Shared::new(self.clone(), options)),
            }),
        }
    }
}

impl ReliablePublisher {
    /// Publishes `message` to `channel` after the messages queued on it before, and resolves
    /// with the publish timetoken once the service accepted it.
    ///
    /// The message is serialised and checked now: bad input fails the future at once and
    /// queues nothing. The message joins its channel's queue when the future is first polled,
    /// waiting for room if the queue is full; futures waiting for room are admitted in the
    /// order they started waiting.
    #[must_use = "the message is queued only when the future is polled"]
    pub fn send<T: Serialize + ?Sized>(
        &self,
        channel: impl Into<String>,
        message: &T,
    ) -> RequestFuture<u64> {
        let channel = channel.into();
        let prepared = self.prepare(&channel, message);
        let handle = self.handle.clone();
        Box::pin(async move {
            let publish = prepared?;
            let shared = &handle.shared;
            let slot = shared
                .slots(&channel)?
                .acquire_owned()
                .await
                .map_err(|_| queue::closed())?;
            let reply = shared.enqueue(channel, publish, slot)?;
            reply.await.unwrap_or_else(|_| Err(queue::closed()))
        })
    }

    /// Queues `message` on `channel` now, or fails at once: with
    /// [`ErrorKind::QueueFull`] when the channel's queue is full (or others are waiting for
    /// room), [`ErrorKind::Closed`] after [`close`](ReliablePublisher::close), or the reason
    /// the message cannot be sent. The returned future resolves with the publish timetoken;
    /// dropping it does not withdraw the message.
    ///
    /// Messages queued by consecutive `try_send` calls are published in call order.
    pub fn try_send<T: Serialize + ?Sized>(
        &self,
        channel: impl Into<String>,
        message: &T,
    ) -> Result<RequestFuture<u64>, Error> {
        let channel = channel.into();
        let publish = self.prepare(&channel, message)?;
        let shared = &self.handle.shared;
        let slot = shared
            .slots(&channel)?
            .try_acquire_owned()
            .map_err(|error| match error {
                TryAcquireError::Closed => queue::closed(),
                TryAcquireError::NoPermits => Error::new(
                    ErrorKind::QueueFull,
                    format!(
                        "the queue of channel {channel:?} is full ({} messages)",
                        shared.queue_capacity()
                    ),
                ),
            })?;
        let reply = shared.enqueue(channel, publish, slot)?;
        let handle = self.handle.clone();
        Ok(Box::pin(async move {
            let _keep_alive = handle;
            reply.await.unwrap_or_else(|_| Err(queue::closed()))
        }))
    }

    /// Waits until every message accepted before this call has been sent or has failed.
    pub async fn flush(&self) {
        self.handle.shared.flush().await;
    }

    /// Refuses new messages, then waits until every accepted message has been sent or has
    /// failed and every task of the publisher has ended (it drains; see the
    /// [module documentation](crate::reliable#flush-close-and-drop)).
    pub async fn close(&self) {
        self.handle.shared.close().await;
    }

    /// True once [`close`](ReliablePublisher::close) was called.
    pub fn is_closed(&self) -> bool {
        self.handle.shared.is_closed()
    }

    /// The counters: queued, in flight, sent, retried, failed.
    pub fn stats(&self) -> ReliablePublisherStats {
        self.handle.shared.stats()
    }

    /// The tracker of the publisher's tasks (one per active channel); public as
    /// [`testing::publisher_task_tracker`](crate::testing::publisher_task_tracker).
    pub(crate) fn task_tracker(&self) -> tokio_util::task::TaskTracker {
        self.handle.shared.tracker().clone()
    }

    /// The message as a checked publish request, its `seqn` still to be set.
    fn prepare<T: Serialize + ?Sized>(
        &self,
        channel: &str,
        message: &T,
    ) -> Result<PreparedPublish, Error> {
        let shared = &self.handle.shared;
        let publish = shared.pubnub().publish().channel(channel).message(message);
        match shared.use_post() {
            Some(use_post) => publish.use_post(use_post),
            None => publish,
        }
        .seqn(0)
        .prepare()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_clamp_degenerate_values() {
        let options = ReliablePublisherOptions::new()
            .rate_limit(0, Duration::from_secs(1))
            .burst(0)
            .queue_capacity(0)
            .max_in_flight(0);
        assert_eq!(options.rate, Some((1, Duration::from_secs(1))));
        assert_eq!(options.burst, 1);
        assert_eq!(options.queue_capacity, 1);
        assert_eq!(options.max_in_flight, 1);
        assert_eq!(ReliablePublisherOptions::new().no_rate_limit().rate, None);
        let huge = ReliablePublisherOptions::new()
            .queue_capacity(usize::MAX)
            .max_in_flight(usize::MAX);
        assert_eq!(huge.queue_capacity, Semaphore::MAX_PERMITS);
        assert_eq!(huge.max_in_flight, Semaphore::MAX_PERMITS);
    }

    #[test]
    fn publisher_is_clone_send_sync() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<ReliablePublisher>();
    }
}

//! The publisher's shared state and the per-channel task that drains one queue.
//!
//! Every piece of state sits behind one `std::sync::Mutex`, taken briefly and never across an
//! `.await`: the task takes a message under the lock, publishes it without the lock, and takes
//! the lock again to record the outcome and take the next. A channel's entry (its counter, its
//! rate-limit bucket, its queue) lives as long as the publisher, so neither the numbering nor
//! the rate limit restarts when a channel goes idle and its task ends.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::bucket::TokenBucket;
use super::{ReliablePublisherOptions, ReliablePublisherStats};
use crate::client::PubNub;
use crate::error::{Error, ErrorKind};
use crate::publish::PreparedPublish;
use crate::retry::Endpoint;

/// The error of a message the publisher will not send because it was closed or dropped.
pub(super) fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the reliable publisher was closed")
}

/// What every handle and task of one publisher shares.
pub(super) struct Shared {
    pubnub: PubNub,
    options: ReliablePublisherOptions,
    state: Mutex<State>,
    /// Request slots over all channels: held for one HTTP attempt.
    requests: Semaphore,
    counters: Counters,
    /// Woken whenever a message is finished (sent or failed).
    progress: Notify,
    /// Cancelled when the last handle is dropped.
    cancel: CancellationToken,
    tracker: TaskTracker,
    /// This publisher's random id in the de-duplication mark (see [`mark`]).
    id: String,
}

#[derive(Default)]
struct State {
    channels: HashMap<String, ChannelState>,
    closed: bool,
}

impl State {
    /// The state of `channel`, made on first use; an error once the publisher is closed.
    fn channel(
        &mut self,
        channel: &str,
        options: &ReliablePublisherOptions,
    ) -> Result<&mut ChannelState, Error> {
        if self.closed {
            return Err(closed());
        }
        Ok(self
            .channels
            .entry(channel.to_owned())
            .or_insert_with(|| ChannelState::new(channel, options)))
    }
}

/// One channel: its queue, numbering, rate limit and progress.
struct ChannelState {
    queue: VecDeque<Job>,
    /// Free places in `queue`; a queued job holds one until its task takes it.
    slots: Arc<Semaphore>,
    /// Whether a task is draining the queue.
    draining: bool,
    bucket: Option<TokenBucket>,
    next_seqn: u16,
    /// The number of the next message in the de-duplication mark: 1, 2, …
    next_mark: u64,
    /// Messages ever accepted, and ever finished: `flush` waits for the second to catch up.
    accepted: u64,
    finished: u64,
}

/// One accepted message.
struct Job {
    publish: PreparedPublish,
    seqn: u16,
    reply: oneshot::Sender<Result<u64, Error>>,
    /// The message's place in the queue, given back when the task takes it.
    slot: OwnedSemaphorePermit,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    in_flight: AtomicU64,
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

/// The first `seqn` of a channel: random in 1..=65535, so that a restarted publisher with the
/// same user id does not repeat the numbers subscribers saw last.
fn first_seqn(channel: &str) -> u16 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write(channel.as_bytes());
    // In 0..65535, plus one: never 0.
    (hasher.finish() % u64::from(u16::MAX)) as u16 + 1
}

/// The number after `seqn`: 1, 2, …, 65535, 1, … (0 would read as "no number").
fn following(seqn: u16) -> u16 {
    seqn.checked_add(1).unwrap_or(1)
}

impl ChannelState {
    fn new(name: &str, options: &ReliablePublisherOptions) -> ChannelState {
        ChannelState {
            queue: VecDeque::new(),
            slots: Arc::new(Semaphore::new(options.queue_capacity)),
            draining: false,
            bucket: options
                .rate
                .map(|(messages, per)| TokenBucket::new(messages, per, options.burst)),
            next_seqn: first_seqn(name),
            next_mark: 1,
            accepted: 0,
            finished: 0,
        }
    }

    fn take_seqn(&mut self) -> u16 {
        let seqn = self.next_seqn;
        self.next_seqn = following(seqn);
        seqn
    }

    fn take_mark(&mut self) -> u64 {
        let number = self.next_mark;
        self.next_mark += 1;
        number
    }
}

/// A random id for one publisher: 16 hex digits, so that two publishers (or one restarted)
/// never share a mark.
fn publisher_id() -> String {
    static INSTANCES: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(INSTANCES.fetch_add(1, Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// The `meta` that marks message `number` of publisher `id` for de-duplication: the key a
/// de-duplicating subscription reads ([`crate::subscribe::dedupe::MARK`]); every attempt of
/// one message carries the same mark.
pub(crate) fn mark(id: &str, number: u64) -> String {
    format!(
        r#"{{"{}":{{"id":"{id}","n":{number}}}}}"#,
        crate::subscribe::dedupe::MARK
    )
}

impl Shared {
    pub(super) fn new(pubnub: PubNub, options: ReliablePublisherOptions) -> Shared {
        Shared {
            pubnub,
            requests: Semaphore::new(options.max_in_flight),
            options,
            state: Mutex::new(State::default()),
            counters: Counters::default(),
            progress: Notify::new(),
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            id: publisher_id(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn pubnub(&self) -> &PubNub {
        &self.pubnub
    }

    pub(super) fn use_post(&self) -> Option<bool> {
        self.options.use_post
    }

    pub(super) fn queue_capacity(&self) -> usize {
        self.options.queue_capacity
    }

    pub(super) fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    pub(super) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// The free places of `channel`'s queue, to wait on or try.
    pub(super) fn slots(&self, channel: &str) -> Result<Arc<Semaphore>, Error> {
        Ok(self.lock().channel(channel, &self.options)?.slots.clone())
    }

    /// Numbers `publish`, queues it in `slot` and starts the channel's task if it is idle.
    pub(super) fn enqueue(
        self: &Arc<Self>,
        channel: String,
        mut publish: PreparedPublish,
        slot: OwnedSemaphorePermit,
    ) -> Result<oneshot::Receiver<Result<u64, Error>>, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::invalid(
                "the reliable publisher needs a tokio runtime: send from within one",
            ));
        }
        let (reply, receiver) = oneshot::channel();
        let start = {
            let mut state = self.lock();
            let entry = state.channel(&channel, &self.options)?;
            let seqn = entry.take_seqn();
            publish.set_seqn(seqn);
            publish.set_meta(mark(&self.id, entry.take_mark()));
            entry.queue.push_back(Job {
                publish,
                seqn,
                reply,
                slot,
            });
            entry.accepted += 1;
            self.counters.queued.fetch_add(1, Ordering::Relaxed);
            !std::mem::replace(&mut entry.draining, true)
        };
        if start {
            let shared = Arc::clone(self);
            let cancel = self.cancel.clone();
            self.tracker.spawn(async move {
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = shared.drain(channel) => {}
                }
            });
        }
        Ok(receiver)
    }

    /// The channel's task: publishes its queue, in order, until it is empty.
    async fn drain(self: Arc<Self>, channel: String) {
        let mut finished = false;
        while let Some(job) = self.next_job(&channel, finished) {
            let Job {
                publish,
                seqn,
                reply,
                slot,
            } = job;
            drop(slot);
            let span = tracing::debug_span!("reliable_publish", %channel, seqn);
            let result = self.publish(&channel, &publish).instrument(span).await;
            self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
            let counter = match &result {
                Ok(_) => &self.counters.sent,
                Err(_) => &self.counters.failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            // The caller may have dropped its future: the message was sent all the same.
            let _ = reply.send(result);
            finished = true;
        }
    }

    /// Records that the previous job finished (when there was one), then takes the next job,
    /// or marks the channel idle.
    fn next_job(&self, channel: &str, finished: bool) -> Option<Job> {
        let job = {
            let mut state = self.lock();
            let entry = state.channels.get_mut(channel)?;
            if finished {
                entry.finished += 1;
            }
            let job = entry.queue.pop_front();
            if job.is_none() {
                entry.draining = false;
            }
            job
        };
        if finished {
            self.progress.notify_waiters();
        }
        if job.is_some() {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            self.counters.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        job
    }

    /// Publishes one message: a token and a request slot before every attempt, retries while
    /// the policy allows.
    async fn publish(&self, channel: &str, publish: &PreparedPublish) -> Result<u64, Error> {
        let retry = self
            .options
            .retry
            .as_ref()
            .unwrap_or_else(|| self.pubnub.config().retry());
        let mut attempt = 0;
        loop {
            self.take_token(channel).await;
            let result = {
                let _slot = self.requests.acquire().await.map_err(|_| closed())?;
                publish.attempt().await
            };
            let error = match result {
                Ok(sent) => return Ok(sent.timetoken),
                Err(error) => error,
            };
            attempt += 1;
            let jitter = self.pubnub.core().next_jitter();
            let Some(delay) = retry.delay(Endpoint::Publish, attempt, &error.reason(), jitter)
            else {
                tracing::debug!(%error, attempt, "publish failed");
                return Err(error);
            };
            self.counters.retried.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%error, attempt, ?delay, "retrying publish");
            tokio::time::sleep(delay).await;
        }
    }

    /// Waits for the channel's next token.
    async fn take_token(&self, channel: &str) {
        loop {
            let wait = {
                let mut state = self.lock();
                let bucket = state
                    .channels
                    .get_mut(channel)
                    .and_then(|entry| entry.bucket.as_mut());
                match bucket {
                    Some(bucket) => bucket.take(tokio::time::Instant::now()).err(),
                    None => None,
                }
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return,
            }
        }
    }

    /// Waits until every message accepted so far has finished.
    pub(super) async fn flush(&self) {
        let targets: Vec<(String, u64)> = self
            .lock()
            .channels
            .iter()
            .filter(|(_, entry)| entry.finished < entry.accepted)
            .map(|(name, entry)| (name.clone(), entry.accepted))
            .collect();
        loop {
            let progress = self.progress.notified();
            tokio::pin!(progress);
            // Registered before the check, so a message finishing in between still wakes us.
            progress.as_mut().enable();
            let done = {
                let state = self.lock();
                targets.iter().all(|(name, accepted)| {
                    state
                        .channels
                        .get(name)
                        .is_none_or(|entry| entry.finished >= *accepted)
                })
            };
            if done || self.cancel.is_cancelled() {
                return;
            }
            progress.await;
        }
    }

    /// Refuses new messages, drains the queues and waits for every task to end.
    pub(super) async fn close(&self) {
        {
            let mut state = self.lock();
            state.closed = true;
            for entry in state.channels.values() {
                entry.slots.close();
            }
        }
        self.flush().await;
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// The last handle is gone: fail what is queued, cancel the tasks.
    pub(super) fn abandon(&self) {
        self.cancel.cancel();
        self.tracker.close();
        let abandoned: Vec<Job> = {
            let mut state = self.lock();
            state.closed = true;
            state
                .channels
                .values_mut()
                .flat_map(|entry| {
                    entry.slots.close();
                    entry.queue.drain(..).collect::<Vec<_>>()
                })
                .collect()
        };
        let count = u64::try_from(abandoned.len()).unwrap_or(u64::MAX);
        self.counters.queued.fetch_sub(count, Ordering::Relaxed);
        if !abandoned.is_empty() {
            tracing::warn!(
                count,
                "reliable publisher dropped without close(): queued messages abandoned"
            );
        }
        // Dropped without the lock held: a job may hold the last handle of the client.
        drop(abandoned);
    }

    pub(super) fn stats(&self) -> ReliablePublisherStats {
        let c = &self.counters;
        ReliablePublisherStats {
            queued: c.queued.load(Ordering::Relaxed),
            in_flight: c.in_flight.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqn_wraps_and_skips_zero() {
        assert_eq!(following(1), 2);
        assert_eq!(following(u16::MAX - 1), u16::MAX);
        assert_eq!(following(u16::MAX), 1);
    }

    #[test]
    fn first_seqn_is_never_zero_and_varies() {
        let firsts: std::collections::HashSet<u16> =
            (0..64).map(|_| first_seqn("channel")).collect();
        assert!(!firsts.contains(&0));
        assert!(firsts.len() > 1, "{firsts:?}");
    }

    #[test]
    fn marks_are_json_objects_that_name_the_publisher_and_the_number() {
        let a = publisher_id();
        let b = publisher_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        let meta: serde_json::Value = serde_json::from_str(&mark(&a, 7)).unwrap();
        assert_eq!(meta, serde_json::json!({"_rp": {"id": a, "n": 7}}));
        let mut entry = ChannelState::new("c", &ReliablePublisherOptions::new());
        let numbers: Vec<u64> = (0..3).map(|_| entry.take_mark()).collect();
        assert_eq!(numbers, [1, 2, 3]);
    }

    #[test]
    fn a_channel_numbers_its_messages_consecutively() {
        let mut entry = ChannelState::new("c", &ReliablePublisherOptions::new());
        entry.next_seqn = u16::MAX - 1;
        let numbers: Vec<u16> = (0..4).map(|_| entry.take_seqn()).collect();
        assert_eq!(numbers, [u16::MAX - 1, u16::MAX, 1, 2]);
    }
}

//! De-duplication of a subscription's messages: the subscriber's half of exactly-once delivery.
//!
//! Publishing is at-least-once: a publish whose answer was lost (a timeout, a connection reset
//! after the service stored the message) is retried and can be stored twice. The
//! [reliable publisher](crate::reliable) sends every attempt of one message with the same
//! `seqn`, which subscribers receive as `s` (PROTOCOL.md §2.3, §5.5); a subscription created
//! with [`SubscriptionOptions::deduplicate`](crate::SubscriptionOptions::deduplicate) drops a
//! message it has already seen before any of its listeners or streams sees it.
//!
//! A message is identified by **(publisher, channel, `seqn`)** plus a 64-bit fingerprint of its
//! payload and `meta`. Every retry of one message carries the same payload, so the fingerprint
//! never hides a duplicate; it stops a *reused* number from dropping a different message: a
//! publisher that restarted with the same user id, two publishers sharing a user id, or the
//! client-wide counter of plain publishes meeting a reliable publisher's per-channel one.
//!
//! Memory is bounded twice: each (publisher, channel) pair remembers its last `window`
//! distinct messages, and at most [`MAX_PAIRS`] pairs are tracked (the least recently seen
//! pair is forgotten first). Messages without `seqn` and other kinds of update pass untouched.
//! A window is capped at [`MAX_WINDOW`], half of the `seqn` space, so a number that wrapped
//! around (`seqn` is a 16-bit counter) has always left the window before it comes back.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use crate::subscribe::events::Update;
use crate::subscribe::payload::Payload;

/// The most (publisher, channel) pairs one subscription tracks.
pub(crate) const MAX_PAIRS: usize = 4096;
/// The largest window: half of the 16-bit `seqn` space.
pub(crate) const MAX_WINDOW: usize = 32_768;

/// One remembered message: its `seqn` and the fingerprint of its payload and `meta`.
type Key = (u32, u64);

/// The de-duplication state of one subscription.
#[derive(Debug)]
pub(crate) struct Dedupe {
    windows: Mutex<Windows>,
}

impl Dedupe {
    /// Remembers the last `window` messages (clamped to `1..=MAX_WINDOW`) of each pair.
    pub(crate) fn new(window: usize) -> Dedupe {
        Dedupe {
            windows: Mutex::new(Windows::new(window)),
        }
    }

    /// True when `update` is a message this subscription has already seen; otherwise records
    /// it (when it has a `seqn`) and returns false.
    pub(crate) fn is_duplicate(&self, update: &Update) -> bool {
        let Update::Message(message) = update else {
            return false;
        };
        let Some(seqn) = message.seqn else {
            return false;
        };
        let key = (
            seqn,
            fingerprint(&message.message, message.user_metadata.as_ref()),
        );
        let publisher = message.publisher.as_deref().unwrap_or("");
        let first = self
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(&message.channel, publisher, key);
        if !first {
            tracing::debug!(
                channel = %message.channel,
                publisher,
                seqn,
                timetoken = message.timetoken,
                "dropped a duplicate message"
            );
        }
        !first
    }
}

/// A stable 64-bit hash of a payload and its `meta`. The payload's text is hashed, not a tree:
/// every copy of one published message carries the same text, and no tree is built for it.
fn fingerprint(payload: &Payload, meta: Option<&Value>) -> u64 {
    let mut hasher = DefaultHasher::new();
    payload.json().hash(&mut hasher);
    meta.hash(&mut hasher);
    hasher.finish()
}

/// The windows of every tracked pair, and which pair was seen least recently.
#[derive(Debug)]
struct Windows {
    window: usize,
    /// channel → publisher → window; nested so that a lookup needs no allocation.
    pairs: HashMap<String, HashMap<String, Window>>,
    /// Last use → (channel, publisher), oldest first.
    recency: BTreeMap<u64, (String, String)>,
    clock: u64,
}

/// The last messages of one (publisher, channel) pair.
#[derive(Debug, Default)]
struct Window {
    seen: HashSet<Key>,
    order: VecDeque<Key>,
    last_used: u64,
}

impl Window {
    /// Records `key`; false when it is already in the window.
    fn admit(&mut self, key: Key, capacity: usize) -> bool {
        if !self.seen.insert(key) {
            return false;
        }
        self.order.push_back(key);
        while self.order.len() > capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}

impl Windows {
    fn new(window: usize) -> Windows {
        Windows {
            window: window.clamp(1, MAX_WINDOW),
            pairs: HashMap::new(),
            recency: BTreeMap::new(),
            clock: 0,
        }
    }

    /// Records `key` for the pair; false when the pair's window already holds it.
    fn admit(&mut self, channel: &str, publisher: &str, key: Key) -> bool {
        self.clock += 1;
        let now = self.clock;
        if let Some(window) = self
            .pairs
            .get_mut(channel)
            .and_then(|publishers| publishers.get_mut(publisher))
        {
            if let Some(names) = self.recency.remove(&window.last_used) {
                self.recency.insert(now, names);
            }
            window.last_used = now;
            return window.admit(key, self.window);
        }
        if self.recency.len() >= MAX_PAIRS {
            self.forget_oldest();
        }
        let mut window = Window {
            last_used: now,
            ..Window::default()
        };
        window.admit(key, self.window);
        self.pairs
            .entry(channel.to_owned())
            .or_default()
            .insert(publisher.to_owned(), window);
        self.recency
            .insert(now, (channel.to_owned(), publisher.to_owned()));
        true
    }

    /// Forgets the pair seen least recently.
    fn forget_oldest(&mut self) {
        let Some((_, (channel, publisher))) = self.recency.pop_first() else {
            return;
        };
        if let Some(publishers) = self.pairs.get_mut(&channel) {
            publishers.remove(&publisher);
            if publishers.is_empty() {
                self.pairs.remove(&channel);
            }
        }
    }

    #[cfg(test)]
    fn pair_count(&self) -> usize {
        self.recency.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribe::events::Message;
    use serde_json::json;

    fn message(publisher: &str, channel: &str, seqn: Option<u32>, payload: Value) -> Update {
        Update::Message(Message {
            channel: channel.into(),
            subscription: channel.into(),
            timetoken: 17_000_000_000_000_000,
            publisher: Some(publisher.into()),
            message: payload.into(),
            user_metadata: None,
            custom_message_type: None,
            seqn,
        })
    }

    #[test]
    fn listeners_of_a_deduplicating_subscription_see_a_copy_once() {
        use crate::subscribe::listeners::Listeners;
        use futures_util::{FutureExt, StreamExt};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        let first = message("p", "c", Some(1), json!("a"));
        let second = message("p", "c", Some(2), json!("b"));
        for (window, expected) in [(Some(10), 2), (None, 3)] {
            let listeners = Listeners::deduplicating(window);
            let calls = Arc::new(AtomicUsize::new(0));
            let counter = calls.clone();
            listeners.add_callback(Arc::new(move |_: &Update| {
                counter.fetch_add(1, Ordering::Relaxed);
            }));
            let mut stream = listeners.add_stream::<Message>(10);
            for update in [&first, &first, &second] {
                listeners.deliver(update);
            }
            assert_eq!(calls.load(Ordering::Relaxed), expected);
            let mut streamed = 0;
            while let Some(Some(_)) = stream.next().now_or_never() {
                streamed += 1;
            }
            assert_eq!(streamed, expected);
        }
    }

    #[test]
    fn a_retried_message_is_dropped_once_seen() {
        let dedupe = Dedupe::new(10);
        let first = message("p", "c", Some(1), json!("a"));
        assert!(!dedupe.is_duplicate(&first));
        assert!(dedupe.is_duplicate(&first));
        assert!(dedupe.is_duplicate(&first));
        assert!(!dedupe.is_duplicate(&message("p", "c", Some(2), json!("b"))));
    }

    #[test]
    fn the_key_is_publisher_channel_and_seqn() {
        let dedupe = Dedupe::new(10);
        let cases = [
            (message("p", "c", Some(1), json!("a")), false),
            (message("q", "c", Some(1), json!("a")), false),
            (message("p", "d", Some(1), json!("a")), false),
            (message("p", "c", Some(2), json!("a")), false),
            (message("q", "c", Some(1), json!("a")), true),
            (message("p", "d", Some(1), json!("a")), true),
        ];
        for (i, (update, duplicate)) in cases.iter().enumerate() {
            assert_eq!(dedupe.is_duplicate(update), *duplicate, "case {i}");
        }
    }

    #[test]
    fn a_reused_number_with_another_payload_is_not_a_duplicate() {
        let dedupe = Dedupe::new(10);
        assert!(!dedupe.is_duplicate(&message("p", "c", Some(1), json!("a"))));
        assert!(!dedupe.is_duplicate(&message("p", "c", Some(1), json!("restarted"))));
        let mut with_meta = message("p", "c", Some(1), json!("a"));
        if let Update::Message(m) = &mut with_meta {
            m.user_metadata = Some(json!({"k": 1}));
        }
        assert!(!dedupe.is_duplicate(&with_meta));
        assert!(dedupe.is_duplicate(&with_meta));
    }

    #[test]
    fn messages_without_seqn_and_other_updates_pass() {
        let dedupe = Dedupe::new(10);
        let plain = message("p", "c", None, json!("a"));
        assert!(!dedupe.is_duplicate(&plain));
        assert!(!dedupe.is_duplicate(&plain));
    }

    #[test]
    fn the_window_keeps_the_last_n_of_each_pair() {
        let mut windows = Windows::new(3);
        for seqn in 1..=4 {
            assert!(windows.admit("c", "p", (seqn, 0)));
        }
        // 1 has left the window of three; 2, 3, 4 are still in it.
        assert!(windows.admit("c", "p", (1, 0)));
        assert!(!windows.admit("c", "p", (4, 0)));
        // 1 came back in and pushed 2 out.
        assert!(windows.admit("c", "p", (2, 0)));
        // Another pair has its own window.
        assert!(windows.admit("c", "q", (4, 0)));
    }

    #[test]
    fn numbers_that_wrap_around_are_new() {
        let mut windows = Windows::new(MAX_WINDOW + 10);
        assert_eq!(windows.window, MAX_WINDOW);
        // seqn counts 1..=65535 and wraps to 1: by then 1 has left the window.
        for seqn in (1..=u32::from(u16::MAX)).chain(1..=3) {
            assert!(windows.admit("c", "p", (seqn, 0)), "seqn {seqn}");
        }
        assert!(!windows.admit("c", "p", (3, 0)));
        assert_eq!(Windows::new(0).window, 1);
    }

    #[test]
    fn the_least_recently_seen_pair_is_forgotten_first() {
        let mut windows = Windows::new(4);
        for i in 0..MAX_PAIRS {
            assert!(windows.admit("c", &format!("p{i}"), (1, 0)));
        }
        // Touch p0 so that p1 becomes the oldest.
        assert!(!windows.admit("c", "p0", (1, 0)));
        assert!(windows.admit("c", "new", (1, 0)));
        assert_eq!(windows.pair_count(), MAX_PAIRS);
        assert!(!windows.admit("c", "p0", (1, 0)), "p0 is remembered");
        assert!(windows.admit("c", "p1", (1, 0)), "p1 was forgotten");
        assert_eq!(windows.pair_count(), MAX_PAIRS);
    }
}

//! De-duplication of a subscription's messages: the subscriber's half of exactly-once delivery.
//!
//! Publishing is at-least-once: a publish whose answer was lost (a timeout, a connection reset
//! after the service stored the message) is retried and can be stored twice. The
//! [reliable publisher](crate::reliable) marks every message in its `meta` with its own random
//! id and the message's number, `{"_rp":{"id":"<16 hex digits>","n":<number>}}`, the same on
//! every attempt; a subscription created with
//! [`SubscriptionOptions::deduplicate`](crate::SubscriptionOptions::deduplicate) drops a marked
//! message it has already seen before any of its listeners or streams sees it.
//!
//! **Only marked messages are ever dropped.** A message without the mark passes untouched,
//! however much it looks like another: an app may well publish `"ping"` twice, and the
//! envelope's `s` cannot tell copies apart (the service puts `"s":1` on every message whose
//! publisher sent no `seqn`, and PubNub's SDKs number per client, from 1 again after a
//! restart).
//!
//! A marked message is identified by **(channel, publisher id, number)**. The id is random per
//! publisher, so a restarted publisher or two publishers sharing a user id never collide.
//! Memory is bounded twice: each (channel, publisher id) pair remembers its last `window`
//! numbers, and at most [`MAX_PAIRS`] pairs are tracked (the least recently seen pair is
//! forgotten first). A window is at most [`MAX_WINDOW`] messages.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use crate::subscribe::events::Update;

/// The `meta` key of the reliable publisher's mark.
pub(crate) const MARK: &str = "_rp";
/// The most (channel, publisher id) pairs one subscription tracks.
pub(crate) const MAX_PAIRS: usize = 4096;
/// The largest window.
pub(crate) const MAX_WINDOW: usize = 32_768;
/// The longest publisher id read from a mark (this SDK's are 16 characters).
const MAX_ID: usize = 64;

/// One remembered message: its number.
type Key = u64;

/// The de-duplication state of one subscription.
#[derive(Debug)]
pub(crate) struct Dedupe {
    windows: Mutex<Windows>,
}

/// The (publisher id, number) of a marked `meta`, or `None` when it carries no valid mark.
pub(crate) fn mark_of(meta: Option<&Value>) -> Option<(&str, u64)> {
    let mark = meta?.get(MARK)?;
    let id = mark.get("id")?.as_str().filter(|id| id.len() <= MAX_ID)?;
    let number = mark.get("n")?.as_u64()?;
    Some((id, number))
}

impl Dedupe {
    /// Remembers the last `window` messages (clamped to `1..=MAX_WINDOW`) of each pair.
    pub(crate) fn new(window: usize) -> Dedupe {
        Dedupe {
            windows: Mutex::new(Windows::new(window)),
        }
    }

    /// True when `update` is a marked message this subscription has already seen; otherwise
    /// records it (when it is marked) and returns false.
    pub(crate) fn is_duplicate(&self, update: &Update) -> bool {
        let Update::Message(message) = update else {
            return false;
        };
        let Some((publisher, number)) = mark_of(message.meta.as_ref()) else {
            return false;
        };
        let first = self
            .windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .admit(&message.channel, publisher, number);
        if !first {
            tracing::debug!(
                channel = %message.channel,
                publisher,
                number,
                timetoken = message.timetoken,
                "dropped a duplicate message"
            );
        }
        !first
    }
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

/// The last messages of one (channel, publisher id) pair.
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
pub(crate) mod tests {
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
            meta: None,
            custom_message_type: None,
            seqn,
            error: None,
            recovered: false,
        })
    }

    /// A marked message; each copy of a retried message has its own timetoken.
    pub(crate) fn marked(publisher: &str, channel: &str, id: &str, number: u64) -> Update {
        static CLOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut update = message(publisher, channel, Some(1), json!("same"));
        if let Update::Message(m) = &mut update {
            m.meta = Some(json!({"_rp": {"id": id, "n": number}}));
            m.timetoken += CLOCK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        update
    }

    #[test]
    fn a_retried_message_is_dropped_once_seen() {
        let dedupe = Dedupe::new(10);
        let first = marked("p", "c", "a", 1);
        assert!(!dedupe.is_duplicate(&first));
        assert!(dedupe.is_duplicate(&first));
        assert!(dedupe.is_duplicate(&first));
        assert!(!dedupe.is_duplicate(&marked("p", "c", "a", 2)));
    }

    #[test]
    fn the_key_is_channel_publisher_id_and_number() {
        let dedupe = Dedupe::new(10);
        let cases = [
            (marked("p", "c", "a", 1), false),
            (marked("p", "c", "b", 1), false),
            (marked("p", "d", "a", 1), false),
            (marked("p", "c", "a", 2), false),
            // Another user id with the same mark: a retry seen through another publisher
            // entry is still the same message (the mark names the publisher).
            (marked("q", "c", "a", 1), true),
            (marked("p", "d", "a", 1), true),
            (marked("p", "c", "b", 1), true),
        ];
        for (i, (update, duplicate)) in cases.iter().enumerate() {
            assert_eq!(dedupe.is_duplicate(update), *duplicate, "case {i}");
        }
    }

    /// What the service delivers from publishers that do not mark: the same payload twice,
    /// each time with `"s":1` (or any repeated `seqn`), from one user id.
    #[test]
    fn unmarked_messages_always_pass_whatever_their_seqn() {
        let dedupe = Dedupe::new(10);
        for seqn in [Some(1), Some(1), None, None, Some(7), Some(7)] {
            assert!(!dedupe.is_duplicate(&message("p", "c", seqn, json!("ping"))));
        }
        // Meta that is not a valid mark does not mark.
        for meta in [
            json!({"k": 1}),
            json!({"_rp": "x"}),
            json!({"_rp": {"id": "a"}}),
            json!({"_rp": {"id": "a", "n": -1}}),
            json!({"_rp": {"id": 5, "n": 1}}),
            json!({"_rp": {"id": "x".repeat(65), "n": 1}}),
        ] {
            for _ in 0..2 {
                let mut update = message("p", "c", Some(1), json!("ping"));
                if let Update::Message(m) = &mut update {
                    m.meta = Some(meta.clone());
                }
                assert!(!dedupe.is_duplicate(&update), "{meta}");
            }
        }
    }

    #[test]
    fn signals_and_other_updates_pass() {
        let dedupe = Dedupe::new(10);
        let mut update = marked("p", "c", "a", 1);
        if let Update::Message(m) = update {
            update = Update::Signal(crate::subscribe::events::Signal {
                channel: m.channel,
                subscription: m.subscription,
                timetoken: m.timetoken,
                publisher: m.publisher,
                message: m.message,
                custom_message_type: m.custom_message_type,
            });
        }
        assert!(!dedupe.is_duplicate(&update));
        assert!(!dedupe.is_duplicate(&update));
    }

    #[test]
    fn the_window_keeps_the_last_n_of_each_pair() {
        let mut windows = Windows::new(3);
        for number in 1..=4 {
            assert!(windows.admit("c", "p", number));
        }
        // 1 has left the window of three; 2, 3, 4 are still in it.
        assert!(windows.admit("c", "p", 1));
        assert!(!windows.admit("c", "p", 4));
        // 1 came back in and pushed 2 out.
        assert!(windows.admit("c", "p", 2));
        // Another pair has its own window.
        assert!(windows.admit("c", "q", 4));
    }

    #[test]
    fn windows_are_clamped() {
        assert_eq!(Windows::new(MAX_WINDOW + 10).window, MAX_WINDOW);
        assert_eq!(Windows::new(0).window, 1);
    }

    #[test]
    fn the_least_recently_seen_pair_is_forgotten_first() {
        let mut windows = Windows::new(4);
        for i in 0..MAX_PAIRS {
            assert!(windows.admit("c", &format!("p{i}"), 1));
        }
        // Touch p0 so that p1 becomes the oldest.
        assert!(!windows.admit("c", "p0", 1));
        assert!(windows.admit("c", "new", 1));
        assert_eq!(windows.pair_count(), MAX_PAIRS);
        assert!(!windows.admit("c", "p0", 1), "p0 is remembered");
        assert!(windows.admit("c", "p1", 1), "p1 was forgotten");
        assert_eq!(windows.pair_count(), MAX_PAIRS);
    }
}

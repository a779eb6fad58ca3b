//! Message persistence: the per-channel store that `/v3/history` reads, counts and deletes
//! (PROTOCOL.md §18).
//!
//! It is separate from the subscribe catch-up buffer: that one keeps the last 100 events of
//! every kind for reconnecting subscribers; this one keeps the last
//! [`HubConfig::history_size`](super::HubConfig::history_size) published messages, honours
//! `store=0` and `ttl`, and never holds signals, presence or action events (the service stores
//! none of them).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use super::actions::MessageAction;
use super::channels::{validate_plain, Message, NameError};
use super::{Hub, State, Timetoken};

/// Most channels one fetch may name (REST page "Get message history").
pub const MAX_FETCH_CHANNELS: usize = 500;

/// Most channels one message-counts call may name (REST page "Get message count").
pub const MAX_COUNT_CHANNELS: usize = 100;

/// Counts stop here (REST page: "Channels with 10,000 messages or more have a count of 10000").
pub const MAX_COUNT: usize = 10_000;

/// Timetoken units (100 ns) in one hour, for `ttl`.
const UNITS_PER_HOUR: f64 = 3600.0 * 10_000_000.0;

/// A published message as history keeps it: the very message subscribers received (shared,
/// not copied) and its expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// The message: payload as published (a ciphertext is a JSON string), timetoken,
    /// publisher, `meta`, `custom_message_type`.
    pub message: Arc<Message>,
    /// When it leaves history because of its `ttl`; `None` keeps it until it is pushed out or
    /// deleted.
    pub expires: Option<Timetoken>,
}

impl StoredMessage {
    fn live(&self, now: Timetoken) -> bool {
        self.expires.is_none_or(|at| now < at)
    }
}

/// The expiry of a message published at `timetoken` with `ttl` hours; `None` (no per-message
/// expiry) for a zero, negative or non-finite `ttl` (PROTOCOL.md §18.1).
pub fn expiry(timetoken: Timetoken, ttl_hours: Option<f64>) -> Option<Timetoken> {
    let hours = ttl_hours.filter(|h| h.is_finite() && *h > 0.0)?;
    // Saturating float-to-int conversion: an absurd ttl means "practically never".
    let units = (hours * UNITS_PER_HOUR).round() as u64;
    Some(Timetoken(timetoken.0.saturating_add(units.max(1))))
}

/// A time slice of history or of actions: `start` excluded, `end` included, either open.
///
/// With both set the slice lies between them whichever is larger, `start` always the excluded
/// bound: the REST page deletes one message with `end=T, start=T+1` and the JS SDK page with
/// `start=T-1, end=T`, and both mean the same message (PROTOCOL.md §18.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    /// Excluded bound; alone it means "older than".
    pub start: Option<Timetoken>,
    /// Included bound; alone it means "this and newer".
    pub end: Option<Timetoken>,
}

impl TimeRange {
    /// Whether `tt` lies in the slice.
    pub fn contains(&self, tt: Timetoken) -> bool {
        match (self.start, self.end) {
            (None, None) => true,
            (Some(start), None) => tt < start,
            (None, Some(end)) => tt >= end,
            (Some(start), Some(end)) if start >= end => end <= tt && tt < start,
            (Some(start), Some(end)) => start < tt && tt <= end,
        }
    }
}

/// One channel's stored messages, oldest first, in timetoken order.
#[derive(Debug, Default)]
pub(crate) struct ChannelHistory {
    messages: VecDeque<StoredMessage>,
}

impl ChannelHistory {
    /// Appends a message (timetokens are issued under the hub lock, so order holds) and drops
    /// the oldest beyond `capacity`.
    pub(crate) fn push(&mut self, message: StoredMessage, capacity: usize) {
        self.messages.push_back(message);
        while self.messages.len() > capacity {
            self.messages.pop_front();
        }
    }

    /// Forgets expired messages, so they neither count nor take room.
    fn prune(&mut self, now: Timetoken) {
        self.messages.retain(|m| m.live(now));
    }

    fn in_range(&self, range: TimeRange) -> impl DoubleEndedIterator<Item = &Arc<Message>> {
        self.messages
            .iter()
            .map(|stored| &stored.message)
            .filter(move |m| range.contains(m.timetoken))
    }

    fn delete(&mut self, range: TimeRange) -> usize {
        let before = self.messages.len();
        self.messages
            .retain(|stored| !range.contains(stored.message.timetoken));
        before - self.messages.len()
    }
}

/// What a fetch asks for; the HTTP layer has already applied defaults and maxima.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest {
    /// Channels, plain names.
    pub channels: Vec<String>,
    /// The time slice.
    pub range: TimeRange,
    /// Messages per channel; the newest `max` of the slice are returned.
    pub max: usize,
    /// Whether to attach each message's actions (`/v3/history-with-actions`).
    pub with_actions: bool,
}

/// One message of a fetch answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The stored message.
    pub message: Arc<Message>,
    /// Its actions in ascending action timetoken order; empty unless asked for.
    pub actions: Vec<MessageAction>,
}

impl Hub {
    /// Reads history: per channel the newest `max` live messages of the slice, oldest first.
    /// Channels with no such message are left out, as the service leaves them out.
    pub fn fetch_history(
        &self,
        sub_key: &str,
        request: &HistoryRequest,
    ) -> Result<Vec<(String, Vec<HistoryEntry>)>, NameError> {
        for channel in &request.channels {
            validate_plain(channel)?;
        }
        let mut state = self.lock();
        let now = state.clock.cursor();
        let State { spaces, .. } = &mut *state;
        let Some(space) = spaces.get_mut(sub_key) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for channel in &request.channels {
            // `a,a` answers `a` once.
            if !seen.insert(channel) {
                continue;
            }
            let Some(history) = space.history.get_mut(channel) else {
                continue;
            };
            history.prune(now);
            let mut page: Vec<HistoryEntry> = history
                .in_range(request.range)
                .rev()
                .take(request.max)
                .map(|message| HistoryEntry {
                    message: Arc::clone(message),
                    actions: Vec::new(),
                })
                .collect();
            page.reverse();
            if request.with_actions {
                if let Some(actions) = space.actions.get(channel) {
                    for entry in &mut page {
                        entry.actions = actions.of_message(entry.message.timetoken);
                    }
                }
            }
            if !page.is_empty() {
                out.push((channel.clone(), page));
            }
        }
        Ok(out)
    }

    /// For each `(channel, timetoken)`, how many live stored messages are newer than the
    /// timetoken (exclusive, PROTOCOL.md §18.3), at most [`MAX_COUNT`].
    pub fn message_counts(
        &self,
        sub_key: &str,
        channels: &[(String, Timetoken)],
    ) -> Result<Vec<(String, usize)>, NameError> {
        for (channel, _) in channels {
            validate_plain(channel)?;
        }
        let mut state = self.lock();
        let now = state.clock.cursor();
        let State { spaces, .. } = &mut *state;
        let mut space = spaces.get_mut(sub_key);
        let mut counts = Vec::with_capacity(channels.len());
        for (channel, since) in channels {
            let count = match space
                .as_deref_mut()
                .and_then(|s| s.history.get_mut(channel))
            {
                Some(history) => {
                    history.prune(now);
                    let after = TimeRange {
                        start: None,
                        end: Some(Timetoken(since.0.saturating_add(1))),
                    };
                    history.in_range(after).take(MAX_COUNT).count()
                }
                None => 0,
            };
            counts.push((channel.clone(), count));
        }
        Ok(counts)
    }

    /// Deletes the channel's stored messages in the slice; returns how many went.
    pub fn delete_history(
        &self,
        sub_key: &str,
        channel: &str,
        range: TimeRange,
    ) -> Result<usize, NameError> {
        validate_plain(channel)?;
        let mut state = self.lock();
        let deleted = state
            .spaces
            .get_mut(sub_key)
            .and_then(|space| space.history.get_mut(channel))
            .map_or(0, |history| history.delete(range));
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(t: u64) -> StoredMessage {
        StoredMessage {
            message: Arc::new(Message {
                channel: "c".into(),
                timetoken: Timetoken(t),
                payload: serde_json::Value::from(t),
                kind: super::super::EventKind::Message,
                publisher: None,
                meta: None,
                seqn: None,
                custom_message_type: None,
            }),
            expires: None,
        }
    }

    #[test]
    fn ranges_exclude_start_and_include_end() {
        let range = |start: Option<u64>, end: Option<u64>| TimeRange {
            start: start.map(Timetoken),
            end: end.map(Timetoken),
        };
        let members =
            |r: TimeRange| -> Vec<u64> { (1..=6).filter(|t| r.contains(Timetoken(*t))).collect() };
        assert_eq!(members(range(None, None)), vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(members(range(Some(4), None)), vec![1, 2, 3]);
        assert_eq!(members(range(None, Some(4))), vec![4, 5, 6]);
        assert_eq!(members(range(Some(5), Some(2))), vec![2, 3, 4]);
        // The two recipes for deleting the single message 3 (REST page, JS SDK page).
        assert_eq!(members(range(Some(4), Some(3))), vec![3]);
        assert_eq!(members(range(Some(2), Some(3))), vec![3]);
        assert_eq!(members(range(Some(3), Some(3))), Vec::<u64>::new());
    }

    #[test]
    fn ttl_hours_become_an_expiry() {
        let t = Timetoken(17_000_000_000_000_000);
        assert_eq!(expiry(t, None), None);
        assert_eq!(expiry(t, Some(0.0)), None);
        assert_eq!(expiry(t, Some(-1.0)), None);
        assert_eq!(expiry(t, Some(f64::NAN)), None);
        assert_eq!(expiry(t, Some(1.0)), Some(Timetoken(t.0 + 36_000_000_000)));
        assert_eq!(expiry(t, Some(0.5)), Some(Timetoken(t.0 + 18_000_000_000)));
        assert_eq!(expiry(t, Some(1e300)), Some(Timetoken(u64::MAX)));
    }

    #[test]
    fn channel_history_is_bounded_and_deletes_slices() {
        let mut history = ChannelHistory::default();
        for t in 1..=5 {
            history.push(stored(t), 3);
        }
        let all: Vec<u64> = history
            .in_range(TimeRange::default())
            .map(|m| m.timetoken.0)
            .collect();
        assert_eq!(all, vec![3, 4, 5]);
        let one = TimeRange {
            start: Some(Timetoken(5)),
            end: Some(Timetoken(4)),
        };
        assert_eq!(history.delete(one), 1);
        let left: Vec<u64> = history
            .in_range(TimeRange::default())
            .map(|m| m.timetoken.0)
            .collect();
        assert_eq!(left, vec![3, 5]);
    }

    mod hub {
        use std::time::Duration;

        use serde_json::{json, Value};

        use crate::hub::{Hub, HubConfig, Publish};

        use super::*;

        const KEY: &str = "k";

        fn fetch(
            hub: &Hub,
            channels: &[&str],
            range: TimeRange,
            max: usize,
        ) -> Vec<(String, Vec<Value>)> {
            let request = HistoryRequest {
                channels: channels.iter().map(|c| c.to_string()).collect(),
                range,
                max,
                with_actions: false,
            };
            hub.fetch_history(KEY, &request)
                .unwrap()
                .into_iter()
                .map(|(c, entries)| {
                    (
                        c,
                        entries.iter().map(|e| e.message.payload.clone()).collect(),
                    )
                })
                .collect()
        }

        #[tokio::test(start_paused = true)]
        async fn publish_stores_what_the_service_stores() {
            let hub = Hub::default();
            let kept = hub.publish(KEY, Publish::message("a", json!(1))).unwrap();
            hub.publish(
                KEY,
                Publish {
                    store: false,
                    ..Publish::message("a", json!(2))
                },
            )
            .unwrap();
            hub.publish(
                KEY,
                Publish {
                    deliver: false,
                    store: false,
                    ..Publish::message("a", json!(3))
                },
            )
            .unwrap();
            hub.publish(KEY, Publish::signal("a", json!(4))).unwrap();
            // Stored but not delivered: a `store` without `deliver` is still history.
            hub.publish(
                KEY,
                Publish {
                    deliver: false,
                    ..Publish::message("a", json!(5))
                },
            )
            .unwrap();
            assert_eq!(
                fetch(&hub, &["a"], TimeRange::default(), 100),
                vec![("a".to_string(), vec![json!(1), json!(5)])]
            );
            // Another key is another store.
            assert!(hub
                .fetch_history(
                    "other",
                    &HistoryRequest {
                        channels: vec!["a".into()],
                        range: TimeRange::default(),
                        max: 100,
                        with_actions: false,
                    }
                )
                .unwrap()
                .is_empty());
            let counts = hub
                .message_counts(KEY, &[("a".into(), Timetoken(kept.0 - 1))])
                .unwrap();
            assert_eq!(counts, vec![("a".to_string(), 2)]);
            assert_eq!(
                hub.fetch_history(
                    KEY,
                    &HistoryRequest {
                        channels: vec!["a-pnpres".into()],
                        range: TimeRange::default(),
                        max: 1,
                        with_actions: false,
                    }
                ),
                Err(NameError::Presence)
            );
        }

        #[tokio::test(start_paused = true)]
        async fn ttl_follows_the_paused_clock_and_the_limit_holds() {
            let hub = Hub::new(HubConfig {
                history_size: 2,
                ..HubConfig::default()
            });
            let ttl = |payload: i64, hours: f64| Publish {
                ttl_hours: Some(hours),
                ..Publish::message("a", json!(payload))
            };
            hub.publish(KEY, ttl(1, 2.0)).unwrap();
            hub.publish(KEY, ttl(2, 1.0)).unwrap();
            hub.publish(KEY, ttl(3, 3.0)).unwrap();
            let all = || fetch(&hub, &["a"], TimeRange::default(), 100);
            assert_eq!(all(), vec![("a".to_string(), vec![json!(2), json!(3)])]);
            tokio::time::advance(Duration::from_secs(3601)).await;
            assert_eq!(all(), vec![("a".to_string(), vec![json!(3)])]);
            tokio::time::advance(Duration::from_secs(2 * 3600)).await;
            assert!(all().is_empty());
        }

        #[tokio::test(start_paused = true)]
        async fn counts_cap_at_ten_thousand() {
            let hub = Hub::new(HubConfig {
                history_size: 10_005,
                ..HubConfig::default()
            });
            for i in 0..10_005 {
                hub.publish(KEY, Publish::message("a", json!(i))).unwrap();
            }
            let counts = hub
                .message_counts(KEY, &[("a".into(), Timetoken(0))])
                .unwrap();
            assert_eq!(counts, vec![("a".to_string(), MAX_COUNT)]);
            let deleted = hub.delete_history(KEY, "a", TimeRange::default()).unwrap();
            assert_eq!(deleted, 10_005);
            assert_eq!(
                hub.delete_history(KEY, "never", TimeRange::default()),
                Ok(0)
            );
            assert_eq!(
                hub.delete_history(KEY, "a,b", TimeRange::default()),
                Err(NameError::ReservedCharacter(','))
            );
        }
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut history = ChannelHistory::default();
        history.push(stored(1), 0);
        assert_eq!(history.in_range(TimeRange::default()).count(), 0);
    }
}

//! What one subscription (or the client's own listeners) has already received, so that a
//! catch-up never delivers anything twice to anyone (ENGINE.md §4.2).
//!
//! The service delivers each channel's events in timetoken order, and a long-poll from cursor
//! `f` delivers *every* event after `f` on its channels. So after a batch from `f` delivered an
//! event at `t` on channel `c`, these listeners have had everything on `c` in `(f, t]`: that
//! interval is recorded. When another subscription's catch-up rewinds the shared loop, the
//! replayed events inside a recorded interval are dropped for these listeners only; events
//! they never had (older than when they started receiving `c`) still reach them.
//!
//! The *floor*: events at or before it are not wanted at all. It is the catch-up timetoken a
//! subscription was subscribed with, or the loop's position when it was subscribed without one
//! (it receives what comes from then on, not another subscription's replay).
//! `reconnect_from(tt)` lowers every floor to `tt`. Memory is bounded: at most
//! [`MAX_INTERVALS`] intervals per channel (the oldest are forgotten) and [`MAX_CHANNELS`]
//! channels (the least recently delivered on are forgotten, their last interval folded into the
//! floor).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::subscribe::events::Update;

/// The most channels whose intervals one set of listeners keeps.
pub(crate) const MAX_CHANNELS: usize = 16_384;
/// The most disjoint intervals kept per channel (one, unless catch-ups left gaps).
pub(crate) const MAX_INTERVALS: usize = 8;

#[derive(Debug, Default)]
struct Marks {
    /// Not wanted at or before this; `None` until the loop's position is known.
    floor: Option<u64>,
    /// The highest end of an interval forgotten to bound memory: never delivered again.
    folded: u64,
    /// Per channel, disjoint `(from, to]` intervals delivered, sorted.
    channels: HashMap<String, Vec<(u64, u64)>>,
}

/// The delivered intervals of one set of listeners.
#[derive(Debug, Default)]
pub(crate) struct HighWater {
    marks: Mutex<Marks>,
}

impl HighWater {
    /// [`admit`](HighWater::admit) for an update; an undecodable event may have no channel or
    /// timetoken to tell it apart, so it always passes.
    pub(crate) fn admit_update(&self, update: &Update, from: u64) -> bool {
        matches!(update, Update::Undecodable(_))
            || self.admit(update.channel(), update.timetoken(), from)
    }

    /// True when an event at `timetoken` on `channel`, from a batch polled from `from`, is new
    /// to these listeners; it is then recorded.
    pub(crate) fn admit(&self, channel: &str, timetoken: u64, from: u64) -> bool {
        let mut marks = self.marks.lock().unwrap_or_else(PoisonError::into_inner);
        let floor = (*marks.floor.get_or_insert(from)).max(marks.folded);
        if timetoken <= floor {
            return false;
        }
        if !marks.channels.contains_key(channel) && marks.channels.len() >= MAX_CHANNELS {
            marks.fold_half();
        }
        let intervals = marks.channels.entry(channel.to_owned()).or_default();
        if intervals
            .iter()
            .any(|(lo, hi)| *lo < timetoken && timetoken <= *hi)
        {
            return false;
        }
        record(intervals, from.min(timetoken - 1), timetoken);
        true
    }

    /// From now on, nothing at or before `floor` is wanted (a subscription's catch-up
    /// timetoken, or the loop's position when it subscribed); `None`: the position of the next
    /// batch.
    pub(crate) fn set_floor(&self, floor: Option<u64>) {
        self.marks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .floor = floor;
    }

    /// Events after `timetoken` are wanted again (`reconnect_from`): what was never delivered
    /// since then is, what was delivered is not, again.
    pub(crate) fn lower_floor(&self, timetoken: u64) {
        let mut marks = self.marks.lock().unwrap_or_else(PoisonError::into_inner);
        marks.floor = Some(marks.floor.map_or(timetoken, |f| f.min(timetoken)));
    }
}

/// Adds `(from, to]` to sorted disjoint `intervals`, merging what overlaps or touches.
fn record(intervals: &mut Vec<(u64, u64)>, from: u64, to: u64) {
    let (mut lo, mut hi) = (from, to);
    intervals.retain(|&(a, b)| {
        let touches = a <= hi && lo <= b;
        if touches {
            lo = lo.min(a);
            hi = hi.max(b);
        }
        !touches
    });
    let at = intervals.partition_point(|&(a, _)| a < lo);
    intervals.insert(at, (lo, hi));
    if intervals.len() > MAX_INTERVALS {
        intervals.remove(0);
    }
}

impl Marks {
    /// Forgets half of the channels, the least recent (lowest last timetoken) first.
    fn fold_half(&mut self) {
        let mut last: Vec<u64> = self
            .channels
            .values()
            .filter_map(|intervals| intervals.last().map(|(_, hi)| *hi))
            .collect();
        last.sort_unstable();
        let cut = last.get(last.len() / 2).copied().unwrap_or(0);
        self.channels
            .retain(|_, intervals| intervals.last().is_some_and(|(_, hi)| *hi > cut));
        self.folded = self.folded.max(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_channel_delivers_once_and_a_replay_brings_only_what_was_never_delivered() {
        let seen = HighWater::default();
        seen.set_floor(Some(5));
        // (channel, timetoken, batch polled from, admitted)
        let table = [
            ("a", 10, 5, true),
            ("a", 20, 10, true),
            ("b", 15, 5, true),
            // Another subscription's catch-up rewinds the loop to 1: a and b replay.
            ("a", 10, 1, false),
            ("b", 15, 1, false),
            ("a", 20, 1, false),
            // Older than the floor: not wanted.
            ("c", 3, 1, false),
            ("a", 30, 20, true),
            // A channel never delivered on: what is after the floor.
            ("c", 7, 1, true),
        ];
        for (i, (channel, timetoken, from, admitted)) in table.iter().enumerate() {
            assert_eq!(seen.admit(channel, *timetoken, *from), *admitted, "row {i}");
        }
    }

    #[test]
    fn events_older_than_what_was_delivered_but_never_delivered_pass_once() {
        let seen = HighWater::default();
        seen.set_floor(Some(0));
        // Receiving from 100: s1 at 150.
        assert!(seen.admit("shared", 150, 100));
        // A catch-up from 10 replays s0 at 50 (never delivered: before 100), then s1.
        assert!(seen.admit("shared", 50, 10));
        assert!(!seen.admit("shared", 150, 50));
        // A second catch-up from 10: nothing again.
        assert!(!seen.admit("shared", 50, 10));
        assert!(!seen.admit("shared", 150, 50));
    }

    #[test]
    fn an_unknown_floor_is_the_first_batch_position() {
        let seen = HighWater::default();
        // Subscribed before the loop had a position: the first batch polled from 100.
        assert!(seen.admit("a", 120, 100));
        assert!(
            !seen.admit("b", 90, 80),
            "before the position when it subscribed"
        );
        seen.set_floor(None);
        assert!(
            seen.admit("b", 90, 80),
            "unknown again: taken from the batch"
        );
    }

    #[test]
    fn a_lowered_floor_delivers_what_was_never_delivered_and_nothing_twice() {
        let seen = HighWater::default();
        seen.set_floor(Some(100));
        assert!(seen.admit("a", 150, 100));
        seen.lower_floor(10);
        assert!(seen.admit("a", 50, 10), "a was delivered on only after 100");
        assert!(!seen.admit("a", 150, 50), "a was delivered up to 150");
        seen.lower_floor(500);
        assert!(seen.admit("c", 20, 10), "lowering never raises");
    }

    #[test]
    fn intervals_merge_and_stay_bounded() {
        let mut intervals = Vec::new();
        record(&mut intervals, 10, 20);
        record(&mut intervals, 20, 30);
        assert_eq!(intervals, [(10, 30)]);
        record(&mut intervals, 1, 5);
        assert_eq!(intervals, [(1, 5), (10, 30)]);
        record(&mut intervals, 4, 12);
        assert_eq!(intervals, [(1, 30)]);
        for k in 0..20u64 {
            record(&mut intervals, 100 + 10 * k, 101 + 10 * k);
        }
        assert_eq!(intervals.len(), MAX_INTERVALS);
        assert_eq!(intervals.last(), Some(&(290, 291)));
    }

    #[test]
    fn channels_are_bounded_and_what_was_delivered_stays_out() {
        let seen = HighWater::default();
        seen.set_floor(Some(0));
        for n in 0..MAX_CHANNELS as u64 {
            assert!(seen.admit(&format!("c{n}"), n + 1, n));
        }
        assert!(seen.admit("one-more", 1_000_000, 999_999));
        let marks = seen.marks.lock().unwrap();
        assert!(marks.channels.len() <= MAX_CHANNELS / 2 + 1);
        let folded = marks.folded;
        drop(marks);
        assert!(folded >= (MAX_CHANNELS / 2) as u64);
        // A forgotten channel: what it delivered is still not repeated.
        assert!(!seen.admit("c0", 1, 0));
    }
}

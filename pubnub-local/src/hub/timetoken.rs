//! Timetokens and the hub's clock.
//!
//! A timetoken counts 100 ns units since the Unix epoch (17 digits today). The hub reads wall
//! time once, at creation, and from then on only advances by `tokio::time::Instant`, so a test
//! on a paused tokio clock controls every timetoken, presence timeout and long-poll hold.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// A PubNub timetoken: 100-nanosecond units since the Unix epoch.
///
/// It is a string on the wire in publish responses and subscribe envelopes, and a number in
/// `/time/0`; [`fmt::Display`] gives the digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timetoken(pub u64);

impl Timetoken {
    /// Parses a cursor as clients send it (`tt=…`): ASCII digits only, at most 19 of them.
    pub fn parse(s: &str) -> Option<Timetoken> {
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok().map(Timetoken)
    }

    /// The Unix time in whole seconds (presence events carry seconds, not timetokens).
    pub fn unix_seconds(self) -> u64 {
        self.0 / 10_000_000
    }
}

/// A UTC calendar date and time of day, for the ISO and S3 date forms of a timetoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: i64,
    pub(crate) day: i64,
    pub(crate) hour: u64,
    pub(crate) minute: u64,
    pub(crate) second: u64,
}

impl Timetoken {
    /// The UTC date and time of this timetoken, to the second.
    pub(crate) fn civil(self) -> Civil {
        let seconds = self.unix_seconds();
        let days = i64::try_from(seconds / 86_400).unwrap_or(0);
        let rest = seconds % 86_400;
        // Howard Hinnant's civil-from-days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: rest / 3600,
            minute: rest / 60 % 60,
            second: rest % 60,
        }
    }

    /// This timetoken plus `duration`, saturating.
    pub fn after(self, duration: Duration) -> Timetoken {
        let units = u64::try_from(duration.as_nanos() / 100).unwrap_or(u64::MAX);
        Timetoken(self.0.saturating_add(units))
    }
}

impl fmt::Display for Timetoken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Issues strictly increasing timetokens from the tokio clock.
#[derive(Debug)]
pub(crate) struct Clock {
    base_tt: u64,
    base: Instant,
    last: u64,
}

impl Clock {
    /// Starts at `start`, or at the current wall time when `None`.
    pub(crate) fn new(start: Option<Timetoken>) -> Clock {
        let base_tt = start.map(|t| t.0).unwrap_or_else(wall_clock_tt);
        Clock {
            base_tt,
            base: Instant::now(),
            last: 0,
        }
    }

    fn raw_now(&self) -> u64 {
        let elapsed = Instant::now().saturating_duration_since(self.base);
        let units = u64::try_from(elapsed.as_nanos() / 100).unwrap_or(u64::MAX);
        self.base_tt.saturating_add(units)
    }

    /// A new timetoken, greater than every one issued or observed before.
    pub(crate) fn issue(&mut self) -> Timetoken {
        self.last = self.raw_now().max(self.last.saturating_add(1));
        Timetoken(self.last)
    }

    /// The current cursor: not less than any timetoken issued so far, and less than every
    /// timetoken issued after it. A handshake answers with this.
    pub(crate) fn cursor(&mut self) -> Timetoken {
        self.last = self.raw_now().max(self.last);
        Timetoken(self.last)
    }

    /// The timetoken of a moment of the tokio clock, past or future (no timetoken is issued).
    pub(crate) fn at(&self, instant: Instant) -> Timetoken {
        let units = |d: Duration| u64::try_from(d.as_nanos() / 100).unwrap_or(u64::MAX);
        if instant >= self.base {
            Timetoken(self.base_tt.saturating_add(units(instant - self.base)))
        } else {
            Timetoken(self.base_tt.saturating_sub(units(self.base - instant)))
        }
    }

    /// Unix seconds at the current clock reading.
    pub(crate) fn unix_seconds(&self) -> u64 {
        Timetoken(self.raw_now()).unix_seconds()
    }
}

fn wall_clock_tt() -> u64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    u64::try_from(since.as_nanos() / 100).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_digits_only() {
        assert_eq!(Timetoken::parse("0"), Some(Timetoken(0)));
        assert_eq!(
            Timetoken::parse("17143123456789012"),
            Some(Timetoken(17143123456789012))
        );
        for bad in ["", "-1", "1.5", "abc", "12345678901234567890123", " 1"] {
            assert_eq!(Timetoken::parse(bad), None, "{bad:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn issued_timetokens_are_strictly_increasing_and_17_digits() {
        let mut clock = Clock::new(None);
        let a = clock.issue();
        let b = clock.issue();
        let c = clock.cursor();
        let d = clock.issue();
        assert!(a < b && b <= c && c < d);
        assert_eq!(a.to_string().len(), 17);
    }

    #[tokio::test(start_paused = true)]
    async fn clock_follows_tokio_time() {
        let mut clock = Clock::new(Some(Timetoken(17_000_000_000_000_000)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(clock.cursor(), Timetoken(17_000_000_020_000_000));
        assert_eq!(clock.unix_seconds(), 1_700_000_002);
        let now = Instant::now();
        assert_eq!(
            clock.at(now - Duration::from_secs(1)),
            Timetoken(17_000_000_010_000_000)
        );
        assert_eq!(
            clock.at(now + Duration::from_millis(1)),
            Timetoken(17_000_000_020_010_000)
        );
    }
}

//! The per-channel rate limit: a token bucket that is told the time and answers how long to
//! wait, so the publisher sleeps exactly until the next token instead of polling.
//!
//! Tokens are kept as time credit: one token is worth `interval` (the period divided by the
//! number of messages it allows), the bucket holds at most `burst` tokens, and credit accrues
//! with elapsed time. Integer `Duration` arithmetic, so the answer is exact and the second
//! `take` after sleeping the returned wait always succeeds.

use std::time::Duration;

use tokio::time::Instant;

/// A token bucket. It never reads the clock: every call takes `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenBucket {
    /// What one token is worth.
    interval: Duration,
    /// The most credit the bucket holds: `burst` tokens.
    capacity: Duration,
    credit: Duration,
    /// When `credit` was last brought up to date; `None` before the first take.
    updated: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket allowing `messages` (at least 1) per `period`, with bursts of up to
    /// `burst` (at least 1) messages at once.
    pub(crate) fn new(messages: u32, period: Duration, burst: u32) -> TokenBucket {
        let interval = period / messages.max(1);
        let capacity = interval.saturating_mul(burst.max(1));
        TokenBucket {
            interval,
            capacity,
            credit: capacity,
            updated: None,
        }
    }

    /// Takes a token at `now`, or says how long to wait until one is there.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        if let Some(updated) = self.updated {
            let elapsed = now.saturating_duration_since(updated);
            self.credit = self.credit.saturating_add(elapsed).min(self.capacity);
        }
        self.updated = Some(now);
        if self.credit >= self.interval {
            self.credit -= self.interval;
            Ok(())
        } else {
            Err(self.interval - self.credit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// (offset from the start in ms, expected answer) for consecutive takes.
    fn check(mut bucket: TokenBucket, steps: &[(u64, Result<(), Duration>)]) {
        let start = Instant::now();
        for (i, (at, expected)) in steps.iter().enumerate() {
            let now = start + MS * (*at as u32);
            assert_eq!(bucket.take(now), *expected, "step {i} at {at} ms");
        }
    }

    #[test]
    fn five_per_second_without_burst_spaces_messages_200_ms_apart() {
        check(
            TokenBucket::new(5, Duration::from_secs(1), 1),
            &[
                (0, Ok(())),
                (0, Err(200 * MS)),
                (150, Err(50 * MS)),
                (200, Ok(())),
                (250, Err(150 * MS)),
                (400, Ok(())),
                // A long pause refills only up to the burst: one token.
                (10_000, Ok(())),
                (10_000, Err(200 * MS)),
            ],
        );
    }

    #[test]
    fn a_burst_allows_that_many_at_once_then_the_rate() {
        check(
            TokenBucket::new(5, Duration::from_secs(1), 3),
            &[
                (0, Ok(())),
                (0, Ok(())),
                (0, Ok(())),
                (0, Err(200 * MS)),
                (100, Err(100 * MS)),
                (200, Ok(())),
                (200, Err(200 * MS)),
                // 800 ms later the bucket holds 3 tokens again, not 4.
                (1_000, Ok(())),
                (1_000, Ok(())),
                (1_000, Ok(())),
                (1_000, Err(200 * MS)),
            ],
        );
    }

    #[test]
    fn sleeping_the_answer_always_yields_a_token() {
        let mut bucket = TokenBucket::new(7, Duration::from_secs(1), 2);
        let mut now = Instant::now();
        let mut taken = Vec::new();
        while taken.len() < 50 {
            match bucket.take(now) {
                Ok(()) => taken.push(now),
                Err(wait) => {
                    assert!(wait > Duration::ZERO);
                    now += wait;
                    assert_eq!(bucket.take(now), Ok(()));
                    taken.push(now);
                }
            }
        }
        // Never more than burst + rate × window in any one-second window.
        for (i, t) in taken.iter().enumerate() {
            let in_window = taken[i..]
                .iter()
                .take_while(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 2 + 7, "{in_window} at {i}");
        }
    }

    #[test]
    fn degenerate_settings_do_not_panic() {
        let mut zero = TokenBucket::new(0, Duration::from_secs(1), 0);
        assert_eq!(zero, TokenBucket::new(1, Duration::from_secs(1), 1));
        assert_eq!(zero.take(Instant::now()), Ok(()));
        let mut unlimited = TokenBucket::new(5, Duration::ZERO, 1);
        let now = Instant::now();
        assert!((0..1000).all(|_| unlimited.take(now).is_ok()));
        let mut huge = TokenBucket::new(1, Duration::MAX, u32::MAX);
        assert_eq!(huge.take(now), Ok(()));
        // Time going backwards (it cannot with Instant, but saturate anyway).
        let mut bucket = TokenBucket::new(1, Duration::from_secs(1), 1);
        assert_eq!(bucket.take(now + Duration::from_secs(5)), Ok(()));
        assert_eq!(bucket.take(now), Err(Duration::from_secs(1)));
    }
}

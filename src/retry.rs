//! The retry policy: a small pure function from (attempt, reason) to an optional delay.
//!
//! ENGINE.md §3 is the contract. Classification is deliberately simple: connection problems,
//! timeouts, 408, 429, 5xx and undecodable answers are transient and retried; every other 4xx
//! is fatal and gives up at once, so an app with a revoked token does not hammer the service.
//! Jitter comes from [`Jitter`], a tiny seedable generator, so tests can fix or switch it off.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::error::Reason;

/// How failed requests of the engines are retried.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPolicy {
    /// Never retry.
    None,
    /// The same delay before every retry.
    Linear {
        /// Delay before each retry (plus jitter).
        delay: Duration,
        /// Retries allowed after the first failure.
        max_retries: u32,
    },
    /// A delay that doubles on every retry, up to a ceiling.
    Exponential {
        /// Delay before the first retry (plus jitter).
        min_delay: Duration,
        /// Ceiling of the delay (plus jitter).
        max_delay: Duration,
        /// Retries allowed after the first failure.
        max_retries: u32,
    },
}

impl RetryPolicy {
    /// The default linear policy: 2 s, 10 retries.
    pub const fn linear() -> Self {
        RetryPolicy::Linear {
            delay: Duration::from_secs(2),
            max_retries: 10,
        }
    }

    /// The default exponential policy: 2 s doubling up to 150 s, 6 retries.
    pub const fn exponential() -> Self {
        RetryPolicy::Exponential {
            min_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(150),
            max_retries: 6,
        }
    }

    /// The delay before retry number `attempt` (1-based) after a failure for `reason`, or `None`
    /// to give up. `jitter` is added to the computed delay, at most as much again as the delay
    /// itself: PubNub's policies add up to 1 s to delays of 2 s and more, and a test's 10 ms
    /// policy stays within 20 ms instead of waiting up to a second. Draw it from
    /// [`Jitter::next_delay`].
    pub fn delay(&self, attempt: u32, reason: &Reason, jitter: Duration) -> Option<Duration> {
        let max_retries = match *self {
            RetryPolicy::None => return None,
            RetryPolicy::Linear { max_retries, .. } => max_retries,
            RetryPolicy::Exponential { max_retries, .. } => max_retries,
        };
        if attempt == 0 || attempt > max_retries || !is_transient(reason) {
            return None;
        }
        if let (Some(429), Some(seconds)) = (reason.status, reason.retry_after) {
            // A server may ask for anything; an hour is the most this client will park for.
            return Some(Duration::from_secs(u64::from(seconds)).min(MAX_RETRY_AFTER));
        }
        let base = match *self {
            RetryPolicy::None => return None,
            RetryPolicy::Linear { delay, .. } => delay,
            RetryPolicy::Exponential {
                min_delay,
                max_delay,
                ..
            } => {
                // 2^(attempt-1) saturates long before it could overflow a u32 shift.
                let factor = 1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX);
                min_delay.saturating_mul(factor).min(max_delay)
            }
        };
        Some(base.saturating_add(jitter.min(base)))
    }
}

/// What a reconnecting state decided after a failure: wait this long and try again, or give up.
///
/// The engines' `*Reconnecting` states take this decision from the retry policy when they are
/// entered, and it travels in their invocation (`HANDSHAKE_RECONNECT`, `RECEIVE_RECONNECT`,
/// `DELAYED_HEARTBEAT`): the effect only sleeps and sends, or reports the give-up at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryDecision {
    /// Sleep this long, then try again.
    Wait(Duration),
    /// Retries are exhausted, the endpoint is excluded, or the failure is fatal: give up.
    GiveUp,
}

impl RetryDecision {
    /// The decision for retry `attempt` after a failure for `reason`, as `config` and the
    /// client's `jitter` make it for `endpoint`.
    pub fn decide(
        config: &RetryConfig,
        jitter: &Jitter,
        endpoint: Endpoint,
        attempt: u32,
        reason: &Reason,
    ) -> RetryDecision {
        match config.delay(endpoint, attempt, reason, jitter.at(attempt)) {
            Some(delay) => RetryDecision::Wait(delay),
            None => RetryDecision::GiveUp,
        }
    }

    /// True when the decision is to give up.
    pub fn is_give_up(&self) -> bool {
        matches!(self, RetryDecision::GiveUp)
    }
}

impl std::fmt::Display for RetryDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryDecision::Wait(delay) => write!(f, "retry in {:.3} s", delay.as_secs_f64()),
            RetryDecision::GiveUp => f.write_str("give up"),
        }
    }
}

/// The longest `Retry-After` honoured; longer requests are shortened to it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::exponential()
    }
}

/// Whether a failure is worth retrying (ENGINE.md §3): [`ErrorKind::is_transient`](crate::ErrorKind::is_transient) of its kind.
pub fn is_transient(reason: &Reason) -> bool {
    reason.kind.is_transient()
}

/// A group of endpoints a retry configuration can exclude.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    /// Subscribe handshake and receive.
    Subscribe,
    /// Heartbeat (and the other presence requests when a caller opts in).
    Presence,
    /// Publish and fire.
    Publish,
    /// Signal.
    Signal,
    /// Channel group management.
    ChannelGroups,
    /// Time.
    Time,
    /// Message persistence: fetch, count and delete stored messages.
    History,
    /// Message actions: add, remove and list.
    MessageActions,
    /// Access Manager: grant and revoke tokens.
    AccessManager,
    /// App Context: user and channel metadata, memberships and members.
    AppContext,
    /// Files: upload forms, uploads, downloads, lists and deletes (the file message is
    /// [`Publish`](Self::Publish)'s).
    Files,
    /// Mobile push: device registrations.
    Push,
}

/// A retry policy plus the endpoint groups it does not apply to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// The policy.
    pub policy: RetryPolicy,
    /// Endpoint groups that are never retried.
    pub excluded: BTreeSet<Endpoint>,
}

impl RetryConfig {
    /// A configuration applying `policy` to every endpoint group.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryConfig {
            policy,
            excluded: BTreeSet::new(),
        }
    }

    /// The same configuration, not applied to `endpoint`.
    pub fn excluding(mut self, endpoint: Endpoint) -> Self {
        self.excluded.insert(endpoint);
        self
    }

    /// The delay before retry `attempt` of a request to `endpoint`, or `None` to give up.
    pub fn delay(
        &self,
        endpoint: Endpoint,
        attempt: u32,
        reason: &Reason,
        jitter: Duration,
    ) -> Option<Duration> {
        if self.excluded.contains(&endpoint) {
            return None;
        }
        self.policy.delay(attempt, reason, jitter)
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig::new(RetryPolicy::default())
    }
}

/// A seedable source of jitter, uniform in [0, 1 s).
///
/// A xorshift64* generator: not cryptographic, but enough to spread reconnecting clients, and
/// reproducible from a seed in tests. [`Jitter::off`] always yields zero.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: Option<u64>,
}

impl Jitter {
    /// A generator that starts from `seed`.
    pub fn seeded(seed: u64) -> Self {
        // xorshift has a fixed point at zero; move away from it without folding seeds together
        // (`| 1` made seeds 2k and 2k+1 one generator).
        let state = seed ^ 0x9E37_79B9_7F4A_7C15;
        Jitter {
            state: Some(if state == 0 { 1 } else { state }),
        }
    }

    /// A generator that always returns zero jitter.
    pub fn off() -> Self {
        Jitter { state: None }
    }

    /// A generator seeded from the clock and the process, for production use.
    pub fn from_entropy() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Jitter::seeded(nanos ^ (u64::from(std::process::id()) << 32))
    }

    /// The jitter of retry `attempt`, in [0, 1 s) with millisecond resolution: a pure function
    /// of the seed and the attempt, so that the engines' pure machines can decide delays. Two
    /// clients (seeded apart) spread their retries; one client's n-th retry always waits the
    /// same jitter.
    pub fn at(&self, attempt: u32) -> Duration {
        let Some(seed) = self.state else {
            return Duration::ZERO;
        };
        // splitmix64 of the seed moved along by the attempt.
        let mut z = seed.wrapping_add(u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Duration::from_millis(z % 1000)
    }

    /// The next jitter value, in [0, 1 s) with millisecond resolution.
    pub fn next_delay(&mut self) -> Duration {
        let Some(state) = self.state.as_mut() else {
            return Duration::ZERO;
        };
        let mut x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        Duration::from_millis(r % 1000)
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;

//! The retry policy against ENGINE.md §3, written from the specification as tables.

use std::time::Duration;

use super::{is_transient, Endpoint, Jitter, RetryConfig, RetryPolicy};
use crate::error::{ErrorKind, Reason};

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

/// A transient failure with no `Retry-After`.
fn transient() -> Reason {
    Reason::new(ErrorKind::Network, "connection refused")
}

/// Delays for attempts 1..=8, with no jitter.
fn delays(policy: RetryPolicy, reason: &Reason) -> Vec<Option<Duration>> {
    (1..=8)
        .map(|attempt| policy.delay(attempt, reason, Duration::ZERO))
        .collect()
}

#[test]
fn the_defaults_are_the_documented_ones() {
    assert_eq!(
        RetryPolicy::linear(),
        RetryPolicy::Linear {
            delay: Duration::from_secs(2),
            max_retries: 10,
        }
    );
    assert_eq!(
        RetryPolicy::exponential(),
        RetryPolicy::Exponential {
            min_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(150),
            max_retries: 6,
        }
    );
    // The client default for subscribe and heartbeat is exponential.
    assert_eq!(RetryPolicy::default(), RetryPolicy::exponential());
}

#[test]
fn delays_for_attempts_1_to_8() {
    let custom_exponential = RetryPolicy::Exponential {
        min_delay: Duration::from_secs(3),
        max_delay: Duration::from_secs(20),
        max_retries: 8,
    };
    let short_linear = RetryPolicy::Linear {
        delay: Duration::from_millis(1500),
        max_retries: 3,
    };
    let ms = |m: u64| Some(Duration::from_millis(m));
    let table: [(&str, RetryPolicy, [Option<Duration>; 8]); 5] = [
        ("None", RetryPolicy::None, [None; 8]),
        (
            "default Linear (2 s × 10)",
            RetryPolicy::linear(),
            [secs(2); 8],
        ),
        (
            "default Exponential (2 s … 150 s × 6)",
            RetryPolicy::exponential(),
            [
                secs(2),
                secs(4),
                secs(8),
                secs(16),
                secs(32),
                secs(64),
                None,
                None,
            ],
        ),
        (
            "Exponential 3 s … 20 s × 8 (hits the ceiling)",
            custom_exponential,
            [
                secs(3),
                secs(6),
                secs(12),
                secs(20),
                secs(20),
                secs(20),
                secs(20),
                secs(20),
            ],
        ),
        (
            "Linear 1.5 s × 3",
            short_linear,
            [ms(1500), ms(1500), ms(1500), None, None, None, None, None],
        ),
    ];
    for (name, policy, expected) in table {
        assert_eq!(delays(policy, &transient()), expected, "{name}");
    }
}

#[test]
fn an_attempt_beyond_max_retries_gives_up() {
    for max_retries in [0u32, 1, 3, 6, 10] {
        let policies = [
            RetryPolicy::Linear {
                delay: Duration::from_secs(1),
                max_retries,
            },
            RetryPolicy::Exponential {
                min_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(60),
                max_retries,
            },
        ];
        for policy in policies {
            for attempt in 1..=max_retries + 3 {
                let delay = policy.delay(attempt, &transient(), Duration::ZERO);
                assert_eq!(
                    delay.is_some(),
                    attempt <= max_retries,
                    "{policy:?}, attempt {attempt}: {delay:?}"
                );
            }
        }
    }
}

#[test]
fn a_large_attempt_stays_at_the_ceiling() {
    let policy = RetryPolicy::Exponential {
        min_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(150),
        max_retries: u32::MAX,
    };
    for attempt in [8, 9, 31, 32, 33, 64, 65, 1000, u32::MAX] {
        assert_eq!(
            policy.delay(attempt, &transient(), Duration::ZERO),
            secs(150),
            "attempt {attempt}"
        );
    }
}

/// Every error kind and HTTP status class of §3, with its classification.
fn classification() -> Vec<(&'static str, Reason, bool)> {
    let kind = |kind, message| Reason::new(kind, message);
    vec![
        (
            "connect refused",
            kind(ErrorKind::Network, "connection refused"),
            true,
        ),
        (
            "connection reset",
            kind(ErrorKind::Network, "connection reset"),
            true,
        ),
        ("DNS failure", kind(ErrorKind::Network, "dns error"), true),
        ("timeout", kind(ErrorKind::Timeout, "timed out"), true),
        (
            "200 with an unparsable body",
            kind(ErrorKind::Decode, "expected value"),
            true,
        ),
        ("408", Reason::http(408, "Request Timeout"), true),
        ("429", Reason::http(429, "Too Many Requests"), true),
        ("500", Reason::http(500, "Internal Server Error"), true),
        ("502", Reason::http(502, "Bad Gateway"), true),
        ("503", Reason::http(503, "Service Unavailable"), true),
        ("504", Reason::http(504, "Gateway Timeout"), true),
        ("599", Reason::http(599, "Network Connect Timeout"), true),
        ("400", Reason::http(400, "Bad Request"), false),
        ("401", Reason::http(401, "Unauthorized"), false),
        ("403", Reason::http(403, "Forbidden"), false),
        ("404", Reason::http(404, "Not Found"), false),
        ("409", Reason::http(409, "Conflict"), false),
        ("413", Reason::http(413, "Payload Too Large"), false),
        ("414", Reason::http(414, "URI Too Long"), false),
        ("422", Reason::http(422, "Unprocessable"), false),
        (
            "451",
            Reason::http(451, "Unavailable For Legal Reasons"),
            false,
        ),
        ("499", Reason::http(499, "Client Closed"), false),
        (
            "InvalidArgument",
            kind(ErrorKind::InvalidArgument, "empty channel"),
            false,
        ),
        (
            "MessageTooLarge",
            kind(ErrorKind::MessageTooLarge, "too large"),
            false,
        ),
        (
            "AccessDenied",
            kind(ErrorKind::AccessDenied, "token revoked"),
            false,
        ),
    ]
}

#[test]
fn transient_and_fatal_failures() {
    let mut failures = Vec::new();
    for (name, reason, expected) in classification() {
        if is_transient(&reason) != expected {
            failures.push(format!(
                "{name}: expected {}",
                if expected { "transient" } else { "fatal" }
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_fatal_failure_gives_up_at_once_and_a_transient_one_is_retried() {
    let generous = RetryPolicy::Linear {
        delay: Duration::from_secs(2),
        max_retries: 100,
    };
    for (name, reason, transient) in classification() {
        for policy in [generous, RetryPolicy::exponential()] {
            let expected = if transient { secs(2) } else { None };
            assert_eq!(
                policy.delay(1, &reason, Duration::ZERO),
                expected,
                "{name} with {policy:?}"
            );
        }
    }
}

#[test]
fn retry_after_of_a_429_overrides_the_computed_delay() {
    let reason = Reason::http(429, "Too Many Requests").with_retry_after(7);
    for policy in [RetryPolicy::linear(), RetryPolicy::exponential()] {
        for attempt in 1..=3 {
            assert_eq!(
                policy.delay(attempt, &reason, Duration::ZERO),
                secs(7),
                "{policy:?}, attempt {attempt}"
            );
            assert_eq!(
                policy.delay(attempt, &reason, Duration::from_millis(640)),
                secs(7),
                "{policy:?}, attempt {attempt}, with jitter"
            );
        }
    }
    // A Retry-After longer than the ceiling is still honoured.
    let long = Reason::http(429, "Too Many Requests").with_retry_after(600);
    assert_eq!(
        RetryPolicy::exponential().delay(1, &long, Duration::ZERO),
        secs(600)
    );
    // Without Retry-After, a 429 gets the computed delay.
    let plain = Reason::http(429, "Too Many Requests");
    assert_eq!(
        RetryPolicy::exponential().delay(3, &plain, Duration::ZERO),
        secs(8)
    );
}

#[test]
fn retry_after_does_not_lift_the_other_limits() {
    let reason = Reason::http(429, "Too Many Requests").with_retry_after(7);
    assert_eq!(RetryPolicy::None.delay(1, &reason, Duration::ZERO), None);
    let policy = RetryPolicy::Linear {
        delay: Duration::from_secs(2),
        max_retries: 2,
    };
    assert_eq!(policy.delay(2, &reason, Duration::ZERO), secs(7));
    assert_eq!(policy.delay(3, &reason, Duration::ZERO), None);
}

const ENDPOINTS: [Endpoint; 8] = [
    Endpoint::Subscribe,
    Endpoint::Presence,
    Endpoint::Publish,
    Endpoint::Signal,
    Endpoint::ChannelGroups,
    Endpoint::Time,
    Endpoint::History,
    Endpoint::MessageActions,
];

#[test]
fn excluded_endpoint_groups_are_not_retried() {
    let config = RetryConfig::new(RetryPolicy::linear())
        .excluding(Endpoint::Publish)
        .excluding(Endpoint::Signal);
    for endpoint in ENDPOINTS {
        let excluded = matches!(endpoint, Endpoint::Publish | Endpoint::Signal);
        let expected = if excluded { None } else { secs(2) };
        assert_eq!(
            config.delay(endpoint, 1, &transient(), Duration::ZERO),
            expected,
            "{endpoint:?}"
        );
    }

    let everything = ENDPOINTS.into_iter().fold(
        RetryConfig::new(RetryPolicy::linear()),
        RetryConfig::excluding,
    );
    for endpoint in ENDPOINTS {
        assert_eq!(
            everything.delay(endpoint, 1, &transient(), Duration::ZERO),
            None
        );
    }

    let nothing = RetryConfig::new(RetryPolicy::exponential());
    for endpoint in ENDPOINTS {
        assert_eq!(
            nothing.delay(endpoint, 2, &transient(), Duration::ZERO),
            secs(4),
            "{endpoint:?}"
        );
    }
}

#[test]
fn the_default_config_is_exponential_for_every_endpoint_group() {
    // §3: "The client default is Exponential for subscribe and heartbeat; publish, signal and
    // fire are not retried automatically." Publish, signal and fire are kept out of automatic
    // retry by requiring the caller to opt a request in; once opted in, the default policy
    // applies, so the default excludes no endpoint group.
    let config = RetryConfig::default();
    assert_eq!(config.policy, RetryPolicy::exponential());
    for endpoint in [
        Endpoint::Subscribe,
        Endpoint::Presence,
        Endpoint::Publish,
        Endpoint::Signal,
    ] {
        assert_eq!(
            config.delay(endpoint, 1, &transient(), Duration::ZERO),
            secs(2),
            "{endpoint:?}"
        );
    }
}

#[test]
fn seeded_jitter_is_reproducible() {
    let draw = |seed| {
        let mut jitter = Jitter::seeded(seed);
        (0..64).map(|_| jitter.next_delay()).collect::<Vec<_>>()
    };
    assert_eq!(draw(42), draw(42));
    assert_eq!(draw(0), draw(0));
    assert_ne!(draw(1), draw(2));
    // Neighbouring seeds are different generators.
    assert_ne!(draw(2), draw(3));
    // `at` is a pure function of the seed and the attempt.
    let jitter = Jitter::seeded(5);
    assert_eq!(jitter.at(3), Jitter::seeded(5).at(3));
    assert!((1..=64).all(|n| jitter.at(n) < Duration::from_secs(1)));
    assert_ne!(
        (1..=8).map(|n| jitter.at(n)).collect::<Vec<_>>(),
        (1..=8).map(|n| Jitter::seeded(6).at(n)).collect::<Vec<_>>()
    );
    assert_eq!(Jitter::off().at(1), Duration::ZERO);
    // A clone continues the same sequence.
    let mut a = Jitter::seeded(9);
    a.next_delay();
    let mut b = a.clone();
    assert_eq!(
        (0..16).map(|_| a.next_delay()).collect::<Vec<_>>(),
        (0..16).map(|_| b.next_delay()).collect::<Vec<_>>()
    );
}

#[test]
fn jitter_is_uniform_in_zero_to_one_second() {
    for seed in [0u64, 1, 42, u64::MAX] {
        let mut jitter = Jitter::seeded(seed);
        let draws: Vec<Duration> = (0..10_000).map(|_| jitter.next_delay()).collect();
        assert!(
            draws.iter().all(|d| *d < Duration::from_secs(1)),
            "seed {seed}"
        );
        let min = draws.iter().min().unwrap();
        let max = draws.iter().max().unwrap();
        let mean = draws.iter().sum::<Duration>() / draws.len() as u32;
        assert!(*min < Duration::from_millis(20), "seed {seed}: min {min:?}");
        assert!(
            *max > Duration::from_millis(980),
            "seed {seed}: max {max:?}"
        );
        assert!(
            mean > Duration::from_millis(450) && mean < Duration::from_millis(550),
            "seed {seed}: mean {mean:?}"
        );
    }
    let mut entropy = Jitter::from_entropy();
    assert!((0..1000).all(|_| entropy.next_delay() < Duration::from_secs(1)));
}

#[test]
fn jitter_off_is_zero() {
    let mut jitter = Jitter::off();
    assert!((0..100).all(|_| jitter.next_delay() == Duration::ZERO));
}

#[test]
fn jitter_is_added_to_the_delay() {
    let j = Duration::from_millis(250);
    let custom = RetryPolicy::Exponential {
        min_delay: Duration::from_secs(3),
        max_delay: Duration::from_secs(20),
        max_retries: 8,
    };
    let cases = [
        (RetryPolicy::linear(), 1, Duration::from_millis(2250)),
        (RetryPolicy::linear(), 10, Duration::from_millis(2250)),
        (RetryPolicy::exponential(), 1, Duration::from_millis(2250)),
        (RetryPolicy::exponential(), 4, Duration::from_millis(16_250)),
        // Jitter is added after the ceiling: min(…, max_delay) + jitter.
        (custom, 7, Duration::from_millis(20_250)),
    ];
    for (policy, attempt, expected) in cases {
        assert_eq!(
            policy.delay(attempt, &transient(), j),
            Some(expected),
            "{policy:?}, attempt {attempt}"
        );
    }
    // Jitter never turns a give-up into a delay.
    assert_eq!(RetryPolicy::None.delay(1, &transient(), j), None);
    assert_eq!(RetryPolicy::exponential().delay(7, &transient(), j), None);
    assert_eq!(
        RetryPolicy::linear().delay(1, &Reason::http(403, "Forbidden"), j),
        None
    );
}

#[test]
fn seeded_jitter_gives_reproducible_delays() {
    let run = |seed| {
        let mut jitter = Jitter::seeded(seed);
        (1..=6)
            .map(|attempt| {
                RetryPolicy::exponential()
                    .delay(attempt, &transient(), jitter.next_delay())
                    .expect("within max_retries")
            })
            .collect::<Vec<_>>()
    };
    let first = run(7);
    assert_eq!(first, run(7));
    for (attempt, delay) in (1..=6u32).zip(&first) {
        let base = Duration::from_secs(2 << (attempt - 1));
        assert!(
            *delay >= base && *delay < base + Duration::from_secs(1),
            "attempt {attempt}: {delay:?}"
        );
    }
}

/// Issue 33: the jitter never adds more than the delay itself, so a test's fast policy is fast;
/// PubNub's policies (2 s and more) keep their full [0, 1 s) jitter.
#[test]
fn jitter_is_at_most_the_delay() {
    let fast = RetryPolicy::Linear {
        delay: Duration::from_millis(10),
        max_retries: 5,
    };
    let jitter = Duration::from_millis(900);
    assert_eq!(
        fast.delay(1, &transient(), jitter),
        Some(Duration::from_millis(20))
    );
    assert_eq!(
        RetryPolicy::linear().delay(1, &transient(), jitter),
        Some(Duration::from_millis(2_900))
    );
    assert_eq!(
        RetryPolicy::exponential().delay(3, &transient(), jitter),
        Some(Duration::from_millis(8_900))
    );
}

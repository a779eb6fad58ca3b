//! A test kit for table-driven tests of apps built on this SDK: each machine's vocabulary as
//! constants, helpers that turn a trace into table rows, a way to wait until the engines are
//! idle, and [`ScriptedTransport`], which answers from a script per kind of request so that an
//! app's reaction to a table of server answers runs with no socket, on a paused tokio clock.
//!
//! It needs nothing beyond the SDK's own dependencies, so it is always there. For paused time,
//! enable tokio's `test-util` feature in your dev-dependencies.
//!
//! # A table test
//!
//! ```
//! use std::sync::Arc;
//!
//! use pubnub_engine::testing::{self, subscribe::*, Answer, RequestKind, ScriptedTransport};
//! use pubnub_engine::{Jitter, PubNub, SubscriptionOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), pubnub_engine::Error> {
//! // tokio::time::pause(); // (with tokio's test-util) retries take no real time
//! let server = Arc::new(ScriptedTransport::new().with(
//!     RequestKind::Handshake,
//!     [Answer::error(403)], // Access Manager refuses
//! ));
//! let pubnub = PubNub::builder("sub-key", "user-1")
//!     .transport(server.clone())
//!     .retry_jitter(Jitter::off())
//!     .build_client()?;
//! let mut trace = pubnub.trace();
//! let orders = pubnub.channel("orders").subscription(SubscriptionOptions::new());
//! orders.subscribe()?;
//! testing::idle(&pubnub).await;
//!
//! assert_eq!(
//!     testing::transitions(&trace.drain(), MACHINE),
//!     [
//!         (UNSUBSCRIBED, SUBSCRIPTION_CHANGED, HANDSHAKING),
//!         (HANDSHAKING, HANDSHAKE_FAILURE, HANDSHAKE_RECONNECTING),
//!         // A 403 is not retried: the machine gives up at once, with no request.
//!         (HANDSHAKE_RECONNECTING, HANDSHAKE_RECONNECT_GIVEUP, HANDSHAKE_FAILED),
//!     ]
//! );
//! assert_eq!(server.kinds(), [RequestKind::Handshake]);
//! # Ok(())
//! # }
//! ```
//!
//! `tests/app_table_test.rs` in the repository is a longer example: a small app whose UI state
//! follows the statuses, driven by a table of scripts.

pub mod body;
pub mod presence;
pub mod subscribe;
mod transport;
#[cfg(test)]
mod vocabulary;

pub use crate::engine::lifecycle::Lifecycle;
pub use crate::engine::trace::IGNORED;
pub use transport::{
    Answer, Recorded, RequestKind, ScriptedTransport, FIRST_TIMETOKEN, LONG_POLL_HOLD,
};

use crate::engine::TraceEntry;
use crate::PubNub;

/// Resolves once the client's engines are idle: nothing more happens until time passes or
/// something from outside (a call of the app, a request's answer that is not there yet) comes.
///
/// Precisely, each engine (subscribe, and presence when it runs) is idle when:
/// - every event it was sent before the call, and every event its effects reported since, has
///   been through its transition, and every invocation it returned has been dispatched:
///   statuses and messages have reached the listeners and streams, the trace has every entry;
/// - no immediate effect is still running;
/// - every managed effect still running (a long-poll the service holds, a retry's back-off, a
///   delayed or hanging scripted answer, the heartbeat cooldown) has been polled since it last
///   made progress and is waiting.
///
/// The two engines are asked in turn until, twice in a row and with every other ready task of
/// the runtime run in between (the presence request worker, a transport's tasks), neither has
/// taken a step. An answer that is ready at once ([`ScriptedTransport`] with no delay) is
/// therefore handled before `idle` returns; one that waits for the clock is not, and with a
/// paused clock the clock does not move while `idle` runs. This holds on a current-thread
/// runtime (what `#[tokio::test]` uses); on a multi-threaded one a task running on another
/// thread may still be between two steps.
///
/// Returns at once before the first subscribe and after `close()`. It never returns while an
/// engine keeps taking steps without waiting (a retry policy with no delay and no limit).
pub async fn idle(pubnub: &PubNub) {
    /// Rounds of the other ready tasks between two looks at the engines.
    const YIELDS: usize = 4;
    let Some(manager) = pubnub.subscriber().manager() else {
        return;
    };
    let subscribe = manager.subscribe_engine().clone();
    let presence = manager.presence_engine().cloned();
    let mut last = None;
    let mut unchanged = 0;
    loop {
        for _ in 0..YIELDS {
            tokio::task::yield_now().await;
        }
        let steps = (
            subscribe.idle().await,
            match &presence {
                Some(presence) => presence.idle().await,
                None => None,
            },
        );
        if last == Some(steps) {
            unchanged += 1;
            if unchanged == 2 {
                return;
            }
        } else {
            last = Some(steps);
            unchanged = 0;
        }
    }
}

/// Lets `duration` pass on tokio's clock, then waits until the engines are [`idle`]: every
/// retry, back-off and delayed answer due by then has run, in the order of its deadline.
///
/// With a paused clock (`#[tokio::test(start_paused = true)]`) it takes no real time: tokio
/// moves the clock from one timer to the next whenever every task waits. (Not
/// `tokio::time::advance`, which moves the clock in one jump: a retry scheduled by a timer
/// that fired during the jump would start from its end, late.) With a running clock it
/// really waits.
pub async fn run_for(pubnub: &PubNub, duration: std::time::Duration) {
    tokio::time::sleep(duration).await;
    idle(pubnub).await;
}

/// The events of `machine` in `entries`, as table rows `(from, EVENT, to)`: `to` is
/// [`IGNORED`] for an event the state ignored. Compare them with rows of the constants of
/// [`subscribe`] or [`presence`].
pub fn transitions(
    entries: &[TraceEntry],
    machine: &str,
) -> Vec<(&'static str, &'static str, &'static str)> {
    entries
        .iter()
        .filter(|e| e.machine() == machine)
        .filter_map(TraceEntry::transition)
        .collect()
}

/// The invocations of `machine` in `entries`, by name, in dispatch order.
pub fn invocations(entries: &[TraceEntry], machine: &str) -> Vec<&'static str> {
    entries
        .iter()
        .filter(|e| e.machine() == machine && e.is_invocation())
        .map(TraceEntry::name)
        .collect()
}

/// Every event and invocation name of `machine` in `entries`, in order.
pub fn names(entries: &[TraceEntry], machine: &str) -> Vec<&'static str> {
    entries
        .iter()
        .filter(|e| e.machine() == machine)
        .map(TraceEntry::name)
        .collect()
}

/// A percent-encoded path segment or query value, decoded (invalid escapes kept as they are).
pub(crate) fn decode_segment(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;

/// The kinds of managed effects running in the client's subscribe and presence engines (at
/// most one of each kind, e.g. `["RECEIVE_MESSAGES", "WAIT"]`): what a leak check asserts
/// empty after `close()`.
pub async fn running_effects(pubnub: &PubNub) -> Vec<&'static str> {
    pubnub.running_effects().await
}

/// The tracker of every task the client spawned: `tracker.wait().await` after dropping or
/// closing the client proves that nothing outlives it.
pub fn task_tracker(pubnub: &PubNub) -> tokio_util::task::TaskTracker {
    pubnub.task_tracker()
}

/// (subscriptions, channel and group names) still registered with the client: `(0, 0)` once
/// everything was unsubscribed.
pub fn registry_size(pubnub: &PubNub) -> (usize, usize) {
    pubnub.registry_size()
}

/// The tracker of every task a reliable publisher spawned (one per active channel).
pub fn publisher_task_tracker(
    publisher: &crate::ReliablePublisher,
) -> tokio_util::task::TaskTracker {
    publisher.task_tracker()
}

//! What each presence invocation does: heartbeats, their retries, the cooldown and the leave.
//!
//! The retry decisions are the machine's (they travel in DELAYED_HEARTBEAT); heartbeats and
//! leaves go through [`PresenceRequests`], one ordered, coalescing queue and one worker.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::driver::{BoxFuture, Dispatch, Effects};
use crate::engine::Input;
use crate::presence::machine::{Event, Invocation, PresenceMachine};
use crate::presence::requests::PresenceRequests;
use crate::retry::RetryDecision;
use crate::service::Core;

/// The presence engine's effects.
pub(crate) struct PresenceEffects {
    core: Arc<Core>,
    /// The engine's token: heartbeats stop when the engine ends (leaves are still sent).
    token: CancellationToken,
    requests: PresenceRequests,
}

impl PresenceEffects {
    /// Effects for one presence engine, sending through `requests`.
    pub(crate) fn new(
        core: Arc<Core>,
        token: CancellationToken,
        requests: PresenceRequests,
    ) -> PresenceEffects {
        PresenceEffects {
            core,
            token,
            requests,
        }
    }
}

/// Queues a heartbeat and reports its outcome; nothing if the engine ended first. Dropping
/// the future (the machine cancelled it) drops the reply, so a heartbeat not sent yet never is.
fn heartbeat(
    requests: &PresenceRequests,
    token: CancellationToken,
    input: Input,
    delay: Duration,
) -> BoxFuture<Option<Event>> {
    let requests = requests.clone();
    Box::pin(async move {
        if !delay.is_zero() {
            // Queued when the delay has passed, so it takes its turn then.
            tokio::time::sleep(delay).await;
        }
        let reply = requests.heartbeat(input);
        let result = tokio::select! {
            biased;
            _ = token.cancelled() => return None,
            result = reply => result.ok()?,
        };
        Some(match result {
            Ok(()) => Event::HeartbeatSuccess,
            Err(e) => Event::HeartbeatFailure { reason: e.reason() },
        })
    })
}

impl Effects<PresenceMachine> for PresenceEffects {
    fn dispatch(&self, invocation: Invocation) -> Dispatch<Event> {
        match invocation {
            Invocation::Heartbeat { input } => Dispatch::Async(heartbeat(
                &self.requests,
                self.token.clone(),
                input,
                Duration::ZERO,
            )),
            Invocation::Wait { .. } => {
                let interval =
                    Duration::from_secs(u64::from(self.core.config().heartbeat_interval()));
                Dispatch::Async(Box::pin(async move {
                    tokio::time::sleep(interval).await;
                    Some(Event::TimesUp)
                }))
            }
            Invocation::DelayedHeartbeat {
                input,
                reason,
                retry,
                ..
            } => match retry {
                RetryDecision::GiveUp => {
                    Dispatch::Async(Box::pin(
                        async move { Some(Event::HeartbeatGiveup { reason }) },
                    ))
                }
                RetryDecision::Wait(delay) => {
                    Dispatch::Async(heartbeat(&self.requests, self.token.clone(), input, delay))
                }
            },
            Invocation::Leave { input } => {
                if !self.core.config().suppress_leave_events() && !input.is_empty() {
                    self.requests.leave(input);
                }
                Dispatch::Done
            }
            Invocation::CancelWait | Invocation::CancelDelayedHeartbeat => Dispatch::Done,
        }
    }
}

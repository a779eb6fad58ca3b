//! What each presence invocation does: heartbeats, their retries, the cooldown and the leave.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::Core;
use crate::engine::driver::{Dispatch, Effects};
use crate::engine::Input;
use crate::presence::machine::{Event, Invocation, PresenceMachine};
use crate::presence::rest;
use crate::retry::{Endpoint, Jitter};

/// The presence engine's effects.
pub(crate) struct PresenceEffects {
    pub(crate) core: Arc<Core>,
    pub(crate) jitter: Mutex<Jitter>,
    /// The engine's token: a heartbeat in flight stops when the engine ends.
    pub(crate) token: CancellationToken,
}

async fn heartbeat(core: Arc<Core>, input: Input, token: CancellationToken) -> Option<Event> {
    let result = tokio::select! {
        biased;
        _ = token.cancelled() => return None,
        result = rest::send_heartbeat(&core, &input) => result,
    };
    Some(match result {
        Ok(()) => Event::HeartbeatSuccess,
        Err(e) => Event::HeartbeatFailure { reason: e.reason() },
    })
}

impl Effects<PresenceMachine> for PresenceEffects {
    fn dispatch(&self, invocation: Invocation) -> Dispatch<Event> {
        let core = self.core.clone();
        match invocation {
            Invocation::Heartbeat { input } => {
                Dispatch::Async(Box::pin(heartbeat(core, input, self.token.clone())))
            }
            Invocation::Wait { .. } => {
                let interval = Duration::from_secs(u64::from(core.config().heartbeat_interval()));
                Dispatch::Async(Box::pin(async move {
                    tokio::time::sleep(interval).await;
                    Some(Event::TimesUp)
                }))
            }
            Invocation::DelayedHeartbeat {
                input,
                attempts,
                reason,
            } => {
                let jitter = self
                    .jitter
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .next_delay();
                let delay =
                    core.config()
                        .retry()
                        .delay(Endpoint::Presence, attempts, &reason, jitter);
                let token = self.token.clone();
                Dispatch::Async(Box::pin(async move {
                    let Some(delay) = delay else {
                        return Some(Event::HeartbeatGiveup { reason });
                    };
                    tokio::time::sleep(delay).await;
                    heartbeat(core, input, token).await
                }))
            }
            Invocation::Leave { input } => {
                if core.config().suppress_leave_events() || input.is_empty() {
                    return Dispatch::Done;
                }
                Dispatch::Async(Box::pin(async move {
                    if let Err(e) = rest::send_leave(&core, &input).await {
                        tracing::warn!(%input, "leave failed: {e}");
                    }
                    None
                }))
            }
            Invocation::CancelWait | Invocation::CancelDelayedHeartbeat => Dispatch::Done,
        }
    }
}

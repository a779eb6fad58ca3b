//! What each presence invocation does: heartbeats, their retries, the cooldown and the leave.
//!
//! Heartbeats and leaves go through one queue to one worker task, so they reach the server in
//! the order the machine dispatched them. Without it, a heartbeat for {a, b} still in flight
//! when `b` is left could land after the leave and make `b` present again until it timed out.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::Core;
use crate::engine::driver::{Dispatch, Effects};
use crate::engine::Input;
use crate::error::Error;
use crate::presence::machine::{Event, Invocation, PresenceMachine};
use crate::presence::rest;
use crate::retry::Endpoint;

enum Request {
    Heartbeat(Input, oneshot::Sender<Result<(), Error>>),
    Leave(Input),
}

/// The presence engine's effects.
pub(crate) struct PresenceEffects {
    core: Arc<Core>,
    /// The engine's token: heartbeats stop when the engine ends (leaves are still sent).
    token: CancellationToken,
    requests: mpsc::UnboundedSender<Request>,
}

impl PresenceEffects {
    /// Effects for one presence engine, with their request worker spawned on `tracker`. The
    /// worker ends once these effects are dropped and the queued requests are sent.
    pub(crate) fn new(
        core: Arc<Core>,
        token: CancellationToken,
        tracker: &TaskTracker,
    ) -> PresenceEffects {
        let (requests, queue) = mpsc::unbounded_channel();
        tracker.spawn(worker(core.clone(), token.clone(), queue));
        PresenceEffects {
            core,
            token,
            requests,
        }
    }
}

/// Queues a heartbeat, taking its turn now.
fn queue_heartbeat(
    requests: &mpsc::UnboundedSender<Request>,
    input: Input,
) -> Option<oneshot::Receiver<Result<(), Error>>> {
    let (reply, outcome) = oneshot::channel();
    requests.send(Request::Heartbeat(input, reply)).ok()?;
    Some(outcome)
}

/// The event a queued heartbeat reports; none if the engine ended first.
async fn heartbeat_outcome(
    outcome: Option<oneshot::Receiver<Result<(), Error>>>,
    token: CancellationToken,
) -> Option<Event> {
    let result = tokio::select! {
        biased;
        _ = token.cancelled() => return None,
        result = outcome? => result.ok()?,
    };
    Some(match result {
        Ok(()) => Event::HeartbeatSuccess,
        Err(e) => Event::HeartbeatFailure { reason: e.reason() },
    })
}

async fn worker(
    core: Arc<Core>,
    token: CancellationToken,
    mut queue: mpsc::UnboundedReceiver<Request>,
) {
    while let Some(request) = queue.recv().await {
        match request {
            Request::Heartbeat(input, reply) => {
                if token.is_cancelled() || reply.is_closed() {
                    continue;
                }
                let result = tokio::select! {
                    biased;
                    _ = token.cancelled() => continue,
                    result = rest::send_heartbeat(&core, &input) => result,
                };
                let _ = reply.send(result);
            }
            Request::Leave(input) => {
                if let Err(e) = rest::send_leave(&core, &input).await {
                    tracing::warn!(%input, "leave failed: {e}");
                }
            }
        }
    }
}

impl Effects<PresenceMachine> for PresenceEffects {
    fn dispatch(&self, invocation: Invocation) -> Dispatch<Event> {
        match invocation {
            Invocation::Heartbeat { input } => {
                let outcome = queue_heartbeat(&self.requests, input);
                Dispatch::Async(Box::pin(heartbeat_outcome(outcome, self.token.clone())))
            }
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
                attempts,
                reason,
            } => {
                let jitter = self.core.next_jitter();
                let delay =
                    self.core
                        .config()
                        .retry()
                        .delay(Endpoint::Presence, attempts, &reason, jitter);
                let Some(delay) = delay else {
                    return Dispatch::Async(Box::pin(async move {
                        Some(Event::HeartbeatGiveup { reason })
                    }));
                };
                // Queued when the delay has passed, so it takes its turn then.
                let requests = self.requests.clone();
                let token = self.token.clone();
                Dispatch::Async(Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    heartbeat_outcome(queue_heartbeat(&requests, input), token).await
                }))
            }
            Invocation::Leave { input } => {
                if !self.core.config().suppress_leave_events() && !input.is_empty() {
                    let _ = self.requests.send(Request::Leave(input));
                }
                Dispatch::Done
            }
            Invocation::CancelWait | Invocation::CancelDelayedHeartbeat => Dispatch::Done,
        }
    }
}

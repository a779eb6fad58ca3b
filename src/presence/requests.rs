//! Heartbeats and leaves go through one small ordered queue to one worker task.
//!
//! Order: they reach the server in the order they were queued, so a heartbeat for {a, b} still
//! in flight when `b` is left cannot land after the leave and make `b` present again.
//!
//! Bounds: the queue never holds more than a few entries, however fast subscriptions change
//! and however long the network is silent. A new heartbeat replaces every heartbeat still
//! queued (it carries the latest channel set, and the machine cancelled the others), and a
//! leave joins a leave at the tail of the queue. Fifty subscribe calls in a row cost the
//! heartbeat in flight plus one follow-up; two hundred changes during a black hole leave one
//! worker, at most one request in flight and a queue of at most three.
//!
//! Ending: heartbeats stop with the engine's token (a cancelled heartbeat is never sent; one in
//! flight is abandoned). Leaves are still sent when the engine ends, so that others see this
//! client go, unless `hard_stop` is cancelled: `close()` does that when its deadline passes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::Input;
use crate::error::Error;
use crate::presence::joined::{Joined, Outcome};
use crate::presence::rest as wire;
use crate::service::Core;

/// The answer to a queued heartbeat.
pub(crate) type HeartbeatReply = oneshot::Receiver<Result<(), Error>>;

enum Work {
    Heartbeat(Input, oneshot::Sender<Result<(), Error>>),
    Leave(Input),
}

/// The sending side of the queue; the worker ends once every clone is dropped and the queue is
/// empty, or when its token is cancelled and the queued leaves are sent.
///
/// The worker is started by the first request queued, on the runtime the engines run on: a
/// client that subscribes and never leaves nor heartbeats (the default) holds no task for it
/// (~2.6 KiB each, which counts with thousands of clients in one process).
#[derive(Clone)]
pub(crate) struct PresenceRequests {
    queue: Arc<Mutex<VecDeque<Work>>>,
    worker: Arc<Mutex<Lazy>>,
}

/// The worker, before and after its start.
enum Lazy {
    Waiting(Box<Starter>),
    /// Capacity 1: a pending wake-up is enough, whatever was queued since.
    Running(mpsc::Sender<()>),
}

struct Starter {
    worker: Worker,
    tracker: TaskTracker,
    runtime: tokio::runtime::Handle,
}

impl PresenceRequests {
    /// Starts the worker on `tracker`.
    pub(crate) fn start(
        core: Arc<Core>,
        token: CancellationToken,
        hard_stop: CancellationToken,
        joined: Arc<Joined>,
        tracker: &TaskTracker,
    ) -> PresenceRequests {
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let worker = Worker {
            core,
            queue: queue.clone(),
            token,
            hard_stop,
            joined,
        };
        let starter = Starter {
            worker,
            tracker: tracker.clone(),
            // Called where the engines are spawned, on their runtime.
            runtime: tokio::runtime::Handle::current(),
        };
        PresenceRequests {
            queue,
            worker: Arc::new(Mutex::new(Lazy::Waiting(Box::new(starter)))),
        }
    }

    /// Queues a heartbeat for `input` behind what is queued, replacing any heartbeat not sent
    /// yet. Dropping the reply cancels it: it is then never sent.
    pub(crate) fn heartbeat(&self, input: Input) -> HeartbeatReply {
        let (reply, answer) = oneshot::channel();
        self.push(|queue| {
            queue.retain(|work| !matches!(work, Work::Heartbeat(..)));
            merge_adjacent_leaves(queue);
            queue.push_back(Work::Heartbeat(input, reply));
        });
        answer
    }

    /// Queues a leave for `input`, joined with a leave at the tail of the queue.
    pub(crate) fn leave(&self, input: Input) {
        self.push(|queue| match queue.back_mut() {
            Some(Work::Leave(last)) => *last = last.union(&input),
            _ => queue.push_back(Work::Leave(input)),
        });
    }

    /// How many requests wait (not counting the one in flight).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn push(&self, change: impl FnOnce(&mut VecDeque<Work>)) {
        change(&mut self.queue.lock().unwrap_or_else(PoisonError::into_inner));
        let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        match &*worker {
            // Full means a wake-up is pending already; closed means the worker has ended.
            Lazy::Running(wake) => {
                let _ = wake.try_send(());
            }
            Lazy::Waiting(_) => {
                let (wake, woken) = mpsc::channel(1);
                let Lazy::Waiting(starter) = std::mem::replace(&mut *worker, Lazy::Running(wake))
                else {
                    return;
                };
                let Starter {
                    worker,
                    tracker,
                    runtime,
                } = *starter;
                // The worker finds the queue as it is now: no wake-up needed.
                runtime.spawn(tracker.track_future(worker.run(woken)));
            }
        }
    }
}

/// Two leaves next to each other become one request.
fn merge_adjacent_leaves(queue: &mut VecDeque<Work>) {
    let mut merged: VecDeque<Work> = VecDeque::with_capacity(queue.len());
    for work in queue.drain(..) {
        match (merged.back_mut(), work) {
            (Some(Work::Leave(last)), Work::Leave(input)) => *last = last.union(&input),
            (_, work) => merged.push_back(work),
        }
    }
    *queue = merged;
}

struct Worker {
    core: Arc<Core>,
    queue: Arc<Mutex<VecDeque<Work>>>,
    token: CancellationToken,
    hard_stop: CancellationToken,
    /// What may have been joined: a leave names nothing else.
    joined: Arc<Joined>,
}

impl Worker {
    fn pop(&self) -> Option<Work> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }

    async fn run(self, mut woken: mpsc::Receiver<()>) {
        loop {
            if let Some(work) = self.pop() {
                self.send(work).await;
                continue;
            }
            let open = tokio::select! {
                biased;
                _ = self.token.cancelled() => false,
                wake = woken.recv() => wake.is_some(),
            };
            if !open {
                // The engine ended: what is still queued is sent (leaves) or dropped
                // (heartbeats), then the worker ends.
                while let Some(work) = self.pop() {
                    self.send(work).await;
                }
                return;
            }
        }
    }

    async fn send(&self, work: Work) {
        match work {
            Work::Heartbeat(input, reply) => {
                if self.token.is_cancelled() || reply.is_closed() {
                    return;
                }
                self.joined.sent(&input);
                let result = tokio::select! {
                    biased;
                    _ = self.token.cancelled() => return,
                    result = wire::send_heartbeat(&self.core, &input) => result,
                };
                self.joined.answered(&input, Outcome::of(&result));
                let _ = reply.send(result);
            }
            Work::Leave(asked) => {
                // Filtered when it is sent: every request queued before it was marked by then.
                let input = self.joined.leave(&asked);
                if input.is_empty() {
                    tracing::debug!(%asked, "no leave: never joined");
                    return;
                }
                let result = tokio::select! {
                    biased;
                    _ = self.hard_stop.cancelled() => {
                        tracing::debug!(%input, "leave abandoned: the client closed");
                        return;
                    }
                    result = wire::send_leave(&self.core, &input) => result,
                };
                if let Err(e) = result {
                    tracing::warn!(%input, "leave failed: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> (PresenceRequests, mpsc::Receiver<()>) {
        let (wake, woken) = mpsc::channel(1);
        let requests = PresenceRequests {
            queue: Arc::default(),
            worker: Arc::new(Mutex::new(Lazy::Running(wake))),
        };
        (requests, woken)
    }

    fn shape(requests: &PresenceRequests) -> Vec<String> {
        let queue = requests.queue.lock().unwrap();
        queue
            .iter()
            .map(|work| match work {
                Work::Heartbeat(input, _) => format!("heartbeat {input}"),
                Work::Leave(input) => format!("leave {input}"),
            })
            .collect()
    }

    #[test]
    fn a_new_heartbeat_replaces_queued_ones_and_leaves_merge() {
        let (requests, _woken) = queue();
        let mut replies = Vec::new();
        for n in 0..50 {
            replies.push(requests.heartbeat(Input::channels([format!("c{n}")])));
        }
        assert_eq!(shape(&requests), ["heartbeat [c49]"]);
        requests.leave(Input::channels(["a"]));
        requests.leave(Input::channels(["b"]));
        assert_eq!(shape(&requests), ["heartbeat [c49]", "leave [a,b]"]);
        let _last = requests.heartbeat(Input::channels(["c"]));
        assert_eq!(shape(&requests), ["leave [a,b]", "heartbeat [c]"]);
        requests.leave(Input::channels(["d"]));
        let _again = requests.heartbeat(Input::channels(["e"]));
        assert_eq!(shape(&requests), ["leave [a,b,d]", "heartbeat [e]"]);
        // Replaced heartbeats answer nothing: their sender is gone.
        assert!(replies
            .iter_mut()
            .all(|reply| matches!(reply.try_recv(), Err(oneshot::error::TryRecvError::Closed))));
    }

    #[test]
    fn two_hundred_changes_keep_the_queue_short() {
        let (requests, _woken) = queue();
        let mut longest = 0;
        for n in 0..200 {
            if n % 2 == 0 {
                drop(requests.heartbeat(Input::channels([format!("c{n}")])));
            } else {
                requests.leave(Input::channels([format!("c{}", n - 1)]));
            }
            longest = longest.max(requests.queued());
        }
        assert!(longest <= 3, "{longest}");
    }
}

//! `GET /__console/events`: the console's live feed, as server-sent events.
//!
//! Nothing runs while nobody watches: the hub, the request log and the fault controller send
//! to channels that cost next to nothing without receivers. A connected page gets, in order:
//!
//! - `snapshot`: the state of the server (see [`super::snapshot::state`]), at once and then
//!   after every change, at most every [`SNAPSHOT_EVERY`] (changes in between are coalesced);
//! - `backlog`: `{"messages":[…],"requests":[…]}`, what happened before it connected (the
//!   channels' catch-up buffers, the request log);
//! - `message` and `request`: each one as it happens;
//! - `skipped`: `{"messages":N}` or `{"requests":N}` when the page fell that far behind.
//!
//! The feed ends at graceful shutdown; the browser's `EventSource` reconnects by itself.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::snapshot::{self, MAX_ROWS};
use crate::http::{App, LoggedRequest};
use crate::hub::Observed;

/// Shortest time between two snapshots: a busy server changes thousands of times a second,
/// a person reads a few times.
pub(super) const SNAPSHOT_EVERY: Duration = Duration::from_millis(200);

/// A comment line this often keeps idle connections open through proxies and lets the server
/// notice a page that went away.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The response: an event stream.
pub(super) fn events(app: Arc<App>) -> Response {
    Sse::new(stream(app))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

fn stream(app: Arc<App>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(Feed::new(app), |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    })
}

struct Feed {
    app: Arc<App>,
    messages: broadcast::Receiver<Observed>,
    requests: Option<broadcast::Receiver<Arc<LoggedRequest>>>,
    hub: watch::Receiver<u64>,
    faults: watch::Receiver<u64>,
    queue: VecDeque<Event>,
    /// Something changed since the last snapshot.
    dirty: bool,
    next_snapshot: Instant,
}

impl Feed {
    fn new(app: Arc<App>) -> Feed {
        // Receivers first, backlog second: what happens in between arrives twice rather than
        // never, and the page drops what it already has.
        let mut feed = Feed {
            messages: app.hub.observe_messages(),
            requests: app.log.as_ref().map(|log| log.subscribe()),
            hub: app.hub.observe_changes(),
            faults: app.faults.changes(),
            queue: VecDeque::new(),
            dirty: false,
            next_snapshot: Instant::now() + SNAPSHOT_EVERY,
            app,
        };
        feed.hub.mark_unchanged();
        feed.faults.mark_unchanged();
        feed.queue
            .push_back(named("snapshot", &snapshot::state(&feed.app)));
        let messages: Vec<Value> = feed
            .app
            .hub
            .recent_messages(MAX_ROWS)
            .iter()
            .map(snapshot::message)
            .collect();
        let requests: Vec<Value> = feed
            .app
            .log
            .as_ref()
            .map(|log| log.snapshot())
            .unwrap_or_default()
            .iter()
            .map(|r| snapshot::request(r))
            .collect();
        let backlog = json!({"messages": messages, "requests": requests});
        feed.queue.push_back(named("backlog", &backlog));
        feed
    }

    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.dirty && Instant::now() >= self.next_snapshot {
                self.dirty = false;
                self.next_snapshot = Instant::now() + SNAPSHOT_EVERY;
                return Some(named("snapshot", &snapshot::state(&self.app)));
            }
            let snapshot_due = self.dirty.then_some(self.next_snapshot);
            let Feed {
                app,
                messages,
                requests,
                hub,
                faults,
                queue,
                dirty,
                ..
            } = self;
            let requests = async {
                match requests {
                    Some(requests) => requests.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = app.shutdown.cancelled() => return None,
                message = messages.recv() => match message {
                    Ok(observed) => {
                        queue.push_back(named("message", &snapshot::message(&observed)));
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        queue.push_back(named("skipped", &json!({"messages": n})));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                request = requests => match request {
                    Ok(request) => {
                        queue.push_back(named("request", &snapshot::request(&request)));
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        queue.push_back(named("skipped", &json!({"requests": n})));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                changed = hub.changed() => {
                    changed.ok()?;
                    *dirty = true;
                }
                changed = faults.changed() => {
                    changed.ok()?;
                    *dirty = true;
                }
                _ = sleep_until(snapshot_due) => {}
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// An event of this name whose data is `value` (JSON never holds a raw line break, so the
/// data is one line).
fn named(name: &'static str, value: &Value) -> Event {
    Event::default().event(name).data(value.to_string())
}

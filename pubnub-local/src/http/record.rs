//! Two bounded logs of received requests: an opt-in one of the raw requests, so SDK tests can
//! assert the exact wire form, and the console's ([`RequestLog`]), which keeps what a person
//! reads (method, path, status, latency, fault) and is on whenever the console is.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::routes::{percent_decode, Query};
use crate::faults::FaultAction;

/// One request as the server received it, before any decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The raw (still percent-encoded) path.
    pub path: String,
    /// The raw query string, without `?`; empty when there was none.
    pub query: String,
    /// The raw body bytes (still compressed if the client compressed them).
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a query parameter, percent-decoded (`+` stays a plus).
    pub fn query_param(&self, name: &str) -> Option<String> {
        Query::parse(&self.query)
            .ok()?
            .get(name)
            .map(str::to_string)
    }

    /// The path's segments, each percent-decoded; a segment that is not UTF-8 is kept raw.
    pub fn path_segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .skip(1)
            .map(|s| percent_decode(s).unwrap_or_else(|_| s.to_string()))
            .collect()
    }
}

/// Keeps the most recent `capacity` requests.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    inner: Arc<Mutex<VecDeque<RecordedRequest>>>,
    capacity: usize,
}

impl Recorder {
    pub(crate) fn new(capacity: usize) -> Recorder {
        Recorder {
            inner: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn record(&self, method: &str, path: &str, query: &str, body: &[u8]) {
        let mut log = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() >= self.capacity {
            log.pop_front();
        }
        log.push_back(RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            body: body.to_vec(),
        });
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        let log = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// One request as the console's log shows it: no body, secrets in the query cut short.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct LoggedRequest {
    /// Increasing, so a console that reconnects can drop what it already shows.
    pub(crate) id: u64,
    /// Unix milliseconds (this machine's clock) when it arrived.
    pub(crate) at: u64,
    pub(crate) method: String,
    /// As received, a revoke's token hidden; at most [`MAX_LOGGED_CHARS`] characters.
    pub(crate) path: String,
    /// As received, `auth`, `signature` and `token` values cut to their first characters.
    pub(crate) query: String,
    /// The `uuid` query parameter.
    pub(crate) user: Option<String>,
    /// `None`: the connection closed without an answer (a `reset` or `hang` fault, a
    /// dropped long-poll, a client that gave up).
    pub(crate) status: Option<u16>,
    /// Milliseconds from arrival to answer (or to the close), on the server's clock.
    pub(crate) millis: u64,
    /// The fault applied, as [`FaultAction`]'s `Display` names it.
    pub(crate) fault: Option<String>,
}

/// Longest path or query the console's log keeps, in characters.
const MAX_LOGGED_CHARS: usize = 1024;

/// Query parameters whose values the console's log cuts short: tokens and signatures are
/// credentials, and their first characters are enough to tell them apart.
const SECRET_PARAMS: [&str; 3] = ["auth", "signature", "token"];

/// Requests a watcher may fall behind by before it is told it skipped some.
const WATCH_BACKLOG: usize = 256;

/// How much of a secret parameter's value is shown.
const SECRET_SHOWN: usize = 6;

/// The console's request log: always on while the console is, the last `capacity` requests,
/// and each new one sent to whoever watches.
#[derive(Debug, Clone)]
pub(crate) struct RequestLog {
    inner: Arc<LogInner>,
}

#[derive(Debug)]
struct LogInner {
    entries: Mutex<VecDeque<Arc<LoggedRequest>>>,
    capacity: usize,
    next_id: AtomicU64,
    sender: broadcast::Sender<Arc<LoggedRequest>>,
}

impl RequestLog {
    pub(crate) fn new(capacity: usize) -> RequestLog {
        RequestLog {
            inner: Arc::new(LogInner {
                entries: Mutex::new(VecDeque::with_capacity(capacity.max(1))),
                capacity: capacity.max(1),
                next_id: AtomicU64::new(1),
                sender: broadcast::Sender::new(WATCH_BACKLOG),
            }),
        }
    }

    /// Starts the entry of a request; it is logged when the returned value is dropped.
    pub(crate) fn begin(&self, method: &str, path: &str, query: &str) -> LogEntry {
        let user = Query::parse(query)
            .ok()
            .and_then(|q| q.get("uuid").map(|u| cut(u, MAX_LOGGED_CHARS)));
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        LogEntry {
            log: self.clone(),
            started: Instant::now(),
            request: Some(LoggedRequest {
                id: 0,
                at,
                method: method.to_string(),
                path: cut(path, MAX_LOGGED_CHARS),
                query: redact(query),
                user,
                status: None,
                millis: 0,
                fault: None,
            }),
        }
    }

    fn push(&self, mut request: LoggedRequest) {
        request.id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let request = Arc::new(request);
        {
            let mut entries = self.inner.entries.lock().unwrap_or_else(|p| p.into_inner());
            if entries.len() >= self.inner.capacity {
                entries.pop_front();
            }
            entries.push_back(Arc::clone(&request));
        }
        // Fails only when nobody watches.
        let _ = self.inner.sender.send(request);
    }

    /// The logged requests, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<Arc<LoggedRequest>> {
        let entries = self.inner.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.iter().cloned().collect()
    }

    /// Every request logged from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<LoggedRequest>> {
        self.inner.sender.subscribe()
    }
}

/// A request being served; logged when dropped, answered or not.
#[derive(Debug)]
pub(crate) struct LogEntry {
    log: RequestLog,
    started: Instant,
    request: Option<LoggedRequest>,
}

impl LogEntry {
    /// The status it was answered with; `None` for a close without an answer.
    pub(crate) fn answered(&mut self, status: Option<u16>) {
        if let Some(request) = &mut self.request {
            request.status = status;
        }
    }

    /// The fault it took.
    pub(crate) fn fault(&mut self, fault: &FaultAction) {
        if let Some(request) = &mut self.request {
            request.fault = Some(fault.to_string());
        }
    }
}

impl Drop for LogEntry {
    fn drop(&mut self) {
        if let Some(mut request) = self.request.take() {
            request.millis = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.log.push(request);
        }
    }
}

fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The raw query with the values of [`SECRET_PARAMS`] cut short, cut to
/// [`MAX_LOGGED_CHARS`].
fn redact(query: &str) -> String {
    let parts: Vec<String> = query
        .split('&')
        .map(|part| match part.split_once('=') {
            Some((key, value)) if SECRET_PARAMS.contains(&key) => {
                format!("{key}={}", cut(value, SECRET_SHOWN))
            }
            _ => part.to_string(),
        })
        .collect();
    cut(&parts.join("&"), MAX_LOGGED_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_log_is_bounded_and_hides_secrets() {
        let log = RequestLog::new(2);
        let mut watcher = log.subscribe();
        for n in 0..3 {
            let mut entry = log.begin("GET", &format!("/p/{n}"), "uuid=u&auth=abcdefghij&x=1");
            tokio::time::advance(std::time::Duration::from_millis(5)).await;
            entry.answered(Some(200));
            entry.fault(&FaultAction::Delay { ms: 5 });
        }
        let logged = log.snapshot();
        assert_eq!(logged.len(), 2);
        assert_eq!(logged[0].path, "/p/1");
        assert_eq!(logged[1].id, 3);
        assert_eq!(logged[1].query, "uuid=u&auth=abcdef…&x=1");
        assert_eq!(logged[1].user.as_deref(), Some("u"));
        assert_eq!(logged[1].status, Some(200));
        assert_eq!(logged[1].millis, 5);
        assert_eq!(logged[1].fault.as_deref(), Some("delay 5 ms"));
        assert_eq!(watcher.recv().await.unwrap().path, "/p/0");
        // Dropped unanswered: logged with no status.
        drop(log.begin("GET", "/v2/subscribe/k/c/0", "signature=v2.abcdefgh"));
        let last = log.snapshot().pop().unwrap();
        assert_eq!(
            (last.status, last.query.as_str()),
            (None, "signature=v2.abc…")
        );
        assert_eq!(cut("ééé", 2), "éé…");
    }
}

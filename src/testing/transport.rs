//! [`ScriptedTransport`]: a [`Transport`] that plays a script of answers per kind of request
//! and records every request, with no socket, on tokio's clock.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::body;
use crate::error::{Error, ErrorKind};
use crate::transport::{Request, Response, Transport, TransportFuture};

/// How long the service holds a long-poll on a quiet channel before answering it empty.
pub const LONG_POLL_HOLD: Duration = Duration::from_secs(280);

/// The timetoken of the first default answer; later ones follow tokio's clock from there.
pub const FIRST_TIMETOKEN: u64 = 17_000_000_000_000_000;

/// What a request is, as the service sees it (PROTOCOL.md §0).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestKind {
    /// `/v2/subscribe/…` with `tt=0` (or none): answered at once with the current cursor.
    Handshake,
    /// `/v2/subscribe/…` with `tt≠0`: held by the service until a message arrives.
    LongPoll,
    /// `/v2/presence/…/heartbeat`.
    Heartbeat,
    /// `/v2/presence/…/leave`.
    Leave,
    /// `/publish/…` or `/v2/publish/…` (publish and fire).
    Publish,
    /// `/signal/…`.
    Signal,
    /// `/time/0`.
    Time,
    /// `/v2/presence/sub-key/{sub}[/channel/{ch}]` (here-now).
    HereNow,
    /// `/v2/presence/sub-key/{sub}/uuid/{uuid}` (where-now).
    WhereNow,
    /// `/v2/presence/…/uuid/{uuid}/data` (set state) and `…/uuid/{uuid}` with channels (get state).
    PresenceState,
    /// `/v1/channel-registration/…` (channel groups).
    ChannelGroups,
    /// `/v3/history…` (fetch messages), `/v3/history/…/message-counts`, and `DELETE
    /// /v3/history/…` (delete messages).
    History,
    /// `/v1/message-actions/…`.
    MessageActions,
    /// `/v3/pam/…` (grant and revoke tokens).
    AccessManager,
    /// `/v2/objects/…` (App Context).
    AppContext,
    /// `/v1/files/…` (upload forms, lists, file URLs, deletes, file messages).
    Files,
    /// A storage URL (absolute): a file's upload or download.
    FileStorage,
    /// `/v1/push/…` and `/v2/push/…` (mobile push registrations).
    Push,
    /// Anything else.
    Other,
}

impl RequestKind {
    /// The kind of `request`, from its path and `tt`.
    pub fn of(request: &Request) -> RequestKind {
        let path = request.path.as_str();
        if path.starts_with("/v2/subscribe/") {
            match request.query_value("tt") {
                None | Some("0") => RequestKind::Handshake,
                Some(_) => RequestKind::LongPoll,
            }
        } else if path.starts_with("/v2/presence/") && path.ends_with("/heartbeat") {
            RequestKind::Heartbeat
        } else if path.starts_with("/v2/presence/") && path.ends_with("/leave") {
            RequestKind::Leave
        } else if path.starts_with("/publish/") || path.starts_with("/v2/publish/") {
            RequestKind::Publish
        } else if path.starts_with("/signal/") {
            RequestKind::Signal
        } else if path == "/time/0" {
            RequestKind::Time
        } else if request.is_absolute() {
            RequestKind::FileStorage
        } else if path.starts_with("/v2/presence/") {
            let segments: Vec<&str> = path.split('/').collect();
            match segments.as_slice() {
                [.., "uuid", _, "data"] => RequestKind::PresenceState,
                ["", "v2", "presence", "sub-key", _, "uuid", _] => RequestKind::WhereNow,
                [.., "uuid", _] => RequestKind::PresenceState,
                _ => RequestKind::HereNow,
            }
        } else if path.starts_with("/v1/channel-registration/") {
            RequestKind::ChannelGroups
        } else if path.starts_with("/v3/history") {
            RequestKind::History
        } else if path.starts_with("/v1/message-actions/") {
            RequestKind::MessageActions
        } else if path.starts_with("/v3/pam/") {
            RequestKind::AccessManager
        } else if path.starts_with("/v2/objects/") {
            RequestKind::AppContext
        } else if path.starts_with("/v1/files/") {
            RequestKind::Files
        } else if path.starts_with("/v1/push/") || path.starts_with("/v2/push/") {
            RequestKind::Push
        } else {
            RequestKind::Other
        }
    }
}

/// One scripted answer: a response, a failure, or silence, maybe after a delay on tokio's
/// clock.
///
/// ```
/// use std::time::Duration;
/// use pubnub_engine::testing::Answer;
///
/// let script = [
///     Answer::error(500),                                  // HTTP 500, at once
///     Answer::network_error().after(Duration::from_secs(1)), // a reset after 1 s
///     Answer::handshake(17_000_000_000_000_000),           // 200 with a cursor
/// ];
/// # let _ = script;
/// ```
#[derive(Debug, Clone)]
pub struct Answer {
    reply: Reply,
    delay: Duration,
}

#[derive(Debug, Clone)]
enum Reply {
    Response(Response),
    Fail(ErrorKind, String),
    Timeout,
    Hang,
}

impl Answer {
    fn new(reply: Reply) -> Answer {
        Answer {
            reply,
            delay: Duration::ZERO,
        }
    }

    /// Answers with `response`.
    pub fn response(response: Response) -> Answer {
        Answer::new(Reply::Response(response))
    }

    /// Answers with `status` and `body`.
    pub fn status(status: u16, body: impl Into<String>) -> Answer {
        Answer::response(Response::new(status, body.into()))
    }

    /// Answers 200 with `body`.
    pub fn ok(body: impl Into<String>) -> Answer {
        Answer::status(200, body)
    }

    /// Answers `status` with the body the service sends with it ([`body::error`]): 403 is
    /// Access Manager's refusal, 5xx a server error.
    pub fn error(status: u16) -> Answer {
        Answer::status(status, body::error(status))
    }

    /// A handshake answer: 200 with the cursor at `timetoken` ([`body::handshake`]).
    pub fn handshake(timetoken: u64) -> Answer {
        Answer::ok(body::handshake(timetoken))
    }

    /// A long-poll answer: 200 with `messages` (channel, payload), the cursor moving to
    /// `timetoken` ([`body::messages`]).
    pub fn messages<C, I>(timetoken: u64, messages: I) -> Answer
    where
        C: AsRef<str>,
        I: IntoIterator<Item = (C, serde_json::Value)>,
    {
        Answer::ok(body::messages(timetoken, messages))
    }

    /// A publish or signal answer: 200 `[1,"Sent","<timetoken>"]`.
    pub fn published(timetoken: u64) -> Answer {
        Answer::ok(body::published(timetoken))
    }

    /// No answer: the connection failed or was reset
    /// ([`ErrorKind::Network`](crate::ErrorKind::Network)).
    pub fn network_error() -> Answer {
        Answer::fail(ErrorKind::Network, "connection reset (scripted)")
    }

    /// No answer: the transport fails with `kind`.
    pub fn fail(kind: ErrorKind, message: impl Into<String>) -> Answer {
        Answer::new(Reply::Fail(kind, message.into()))
    }

    /// No answer within the request's own timeout ([`Request::timeout`]: 5 s for a handshake,
    /// 310 s for a long-poll, 10 s for the rest): it then fails with
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout), as the built-in transport does.
    pub fn timeout() -> Answer {
        Answer::new(Reply::Timeout)
    }

    /// No answer at all, until the client cancels the request (the engine moves on, or the
    /// client's own timeout for the request ends it).
    pub fn hang() -> Answer {
        Answer::new(Reply::Hang)
    }

    /// The same answer, given `delay` later (on tokio's clock, so instantly with a paused
    /// clock). The delay adds to a timeout's wait.
    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }

    fn play(self, request_timeout: Duration) -> TransportFuture {
        Box::pin(async move {
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            match self.reply {
                Reply::Response(response) => Ok(response),
                Reply::Fail(kind, message) => Err(Error::new(kind, message)),
                Reply::Timeout => {
                    tokio::time::sleep(request_timeout).await;
                    Err(Error::new(
                        ErrorKind::Timeout,
                        "request timed out (scripted)",
                    ))
                }
                Reply::Hang => std::future::pending().await,
            }
        })
    }
}

/// One request the transport received.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct Recorded {
    /// What it was.
    pub kind: RequestKind,
    /// The request itself (its `Debug` hides credentials).
    pub request: Request,
    /// When it was sent, on tokio's clock: differences between requests show retry delays.
    pub at: Instant,
}

/// A [`Transport`] that answers from a script per [`RequestKind`], in order, and records every
/// request: an app's reaction to a table of server answers becomes a test with no socket, on a
/// paused tokio clock.
///
/// When the script of a kind runs out, it answers as a healthy service would:
///
/// | kind | default answer |
/// |---|---|
/// | `Handshake` | 200 `{"t":{"t":"<now>","r":1},"m":[]}` at once |
/// | `LongPoll` | held for [`LONG_POLL_HOLD`] (280 s), then 200 with the request's cursor and no message (the engine's liveness check or a subscription change usually cancels it first) |
/// | `Heartbeat`, `Leave` | 200 with Presence's `OK` |
/// | `Publish`, `Signal` | 200 `[1,"Sent","<now>"]` |
/// | `Time` | 200 `[<now>]` |
/// | `Other` | 200 `{"status":200,"message":"OK"}` |
///
/// `<now>` is a timetoken that starts at [`FIRST_TIMETOKEN`], follows tokio's clock and never
/// repeats.
///
/// ```
/// use std::sync::Arc;
/// use pubnub_engine::testing::{Answer, RequestKind, ScriptedTransport};
/// use pubnub_engine::PubNub;
///
/// let server = Arc::new(ScriptedTransport::new().with(
///     RequestKind::Handshake,
///     [Answer::error(500), Answer::handshake(17_000_000_000_000_000)],
/// ));
/// let pubnub = PubNub::builder("sub-key", "user-1")
///     .transport(server.clone())
///     .build_client()?;
/// // … subscribe, then: server.kinds() == [Handshake, Handshake, LongPoll]
/// # Ok::<(), pubnub_engine::Error>(())
/// ```
pub struct ScriptedTransport {
    script: Mutex<Script>,
}

struct Script {
    answers: BTreeMap<RequestKind, VecDeque<Answer>>,
    requests: Vec<Recorded>,
    created: Instant,
    last_timetoken: u64,
}

impl Default for ScriptedTransport {
    fn default() -> Self {
        ScriptedTransport::new()
    }
}

impl ScriptedTransport {
    /// A transport with an empty script: every request gets its kind's default answer.
    pub fn new() -> ScriptedTransport {
        ScriptedTransport {
            script: Mutex::new(Script {
                answers: BTreeMap::new(),
                requests: Vec::new(),
                created: Instant::now(),
                last_timetoken: FIRST_TIMETOKEN.saturating_sub(1),
            }),
        }
    }

    /// The same transport with `answers` appended to the script of `kind`.
    pub fn with(self, kind: RequestKind, answers: impl IntoIterator<Item = Answer>) -> Self {
        self.script(kind, answers);
        self
    }

    /// Appends `answers` to the script of `kind`; they are played after what is scripted.
    pub fn script(&self, kind: RequestKind, answers: impl IntoIterator<Item = Answer>) {
        self.lock().answers.entry(kind).or_default().extend(answers);
    }

    /// Appends one answer to the script of `kind`.
    pub fn push(&self, kind: RequestKind, answer: Answer) {
        self.script(kind, [answer]);
    }

    /// How many scripted answers of `kind` have not been played yet.
    pub fn remaining(&self, kind: RequestKind) -> usize {
        self.lock().answers.get(&kind).map_or(0, VecDeque::len)
    }

    /// Every request so far, in the order they were sent.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The requests of `kind` so far.
    pub fn requests_of(&self, kind: RequestKind) -> Vec<Request> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.request.clone())
            .collect()
    }

    /// The kind of every request so far, in order: a one-line assertion of what the client
    /// sent.
    pub fn kinds(&self) -> Vec<RequestKind> {
        self.lock().requests.iter().map(|r| r.kind).collect()
    }

    /// How many requests of `kind` were sent.
    pub fn count(&self, kind: RequestKind) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.kind == kind)
            .count()
    }

    /// A poisoned lock only means a test panicked elsewhere; the script is still usable.
    fn lock(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Script {
    /// A timetoken from tokio's clock (100 ns units after [`FIRST_TIMETOKEN`]), later than
    /// every one given before.
    fn now(&mut self) -> u64 {
        let elapsed = u64::try_from(self.created.elapsed().as_nanos() / 100).unwrap_or(u64::MAX);
        let now = FIRST_TIMETOKEN
            .saturating_add(elapsed)
            .max(self.last_timetoken.saturating_add(1));
        self.last_timetoken = now;
        now
    }

    /// What a healthy service answers to a request of `kind`.
    fn default_answer(&mut self, kind: RequestKind, request: &Request) -> Answer {
        match kind {
            RequestKind::Handshake => Answer::handshake(self.now()),
            RequestKind::LongPoll => {
                let timetoken = request.query_value("tt").unwrap_or("0");
                let region = request.query_value("tr").unwrap_or("0");
                let (timetoken, region) = (
                    timetoken.parse::<u64>().unwrap_or(0),
                    region.parse::<u32>().unwrap_or(0),
                );
                let body = format!(r#"{{"t":{{"t":"{timetoken}","r":{region}}},"m":[]}}"#);
                Answer::ok(body).after(LONG_POLL_HOLD)
            }
            RequestKind::Heartbeat => Answer::ok(body::heartbeat()),
            RequestKind::Leave => Answer::ok(body::leave()),
            RequestKind::Publish | RequestKind::Signal => Answer::published(self.now()),
            RequestKind::Time => Answer::ok(body::time(self.now())),
            RequestKind::HereNow => Answer::ok(body::here_now_empty()),
            RequestKind::WhereNow => Answer::ok(body::where_now([] as [&str; 0])),
            RequestKind::PresenceState => Answer::ok(body::presence_state(request)),
            RequestKind::ChannelGroups => Answer::ok(body::channel_groups(request)),
            RequestKind::History => Answer::ok(body::history_empty(request)),
            RequestKind::MessageActions => {
                let now = self.now();
                Answer::ok(body::message_action(request, now))
            }
            RequestKind::AccessManager => Answer::ok(body::access_manager(request)),
            RequestKind::AppContext => {
                let now = self.now();
                Answer::response(body::app_context(request, now))
            }
            RequestKind::Files => {
                let now = self.now();
                Answer::response(body::files(request, now))
            }
            RequestKind::FileStorage => Answer::response(body::file_storage(request)),
            RequestKind::Push => Answer::ok(body::push(request)),
            RequestKind::Other => Answer::ok(r#"{"status":200,"message":"OK"}"#),
        }
    }
}

impl Transport for ScriptedTransport {
    fn send(&self, request: Request) -> TransportFuture {
        let kind = RequestKind::of(&request);
        let timeout = request.timeout;
        let answer = {
            let mut script = self.lock();
            let scripted = script.answers.get_mut(&kind).and_then(VecDeque::pop_front);
            let answer = scripted.unwrap_or_else(|| script.default_answer(kind, &request));
            script.requests.push(Recorded {
                kind,
                request,
                at: Instant::now(),
            });
            answer
        };
        answer.play(timeout)
    }
}

impl fmt::Debug for ScriptedTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let script = self.lock();
        let scripted: BTreeMap<RequestKind, usize> = script
            .answers
            .iter()
            .map(|(kind, answers)| (*kind, answers.len()))
            .collect();
        f.debug_struct("ScriptedTransport")
            .field("scripted", &scripted)
            .field("requests", &script.requests.len())
            .finish()
    }
}

//! [`Core`]: what every request needs (configuration, transport, identity, publish sequence,
//! presence state), shared by the client and by the engines' effects.
//!
//! The effects hold an `Arc<Core>` rather than the client, so a running engine never keeps the
//! client alive. A request is built with [`Core::request`] (the parameters every request
//! carries), sent with [`Core::send`] (one attempt within its timeout; any HTTP status is
//! `Ok`) and turned into a result with [`response::check`](crate::transport::response::check).
//! Request builders use [`Core::execute`], which adds the opt-in retry loop.

mod state;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::Value;

use self::state::PresenceState;
use crate::config::Config;
use crate::engine::Input;
use crate::error::{Error, ErrorKind};
use crate::retry::{Endpoint, Jitter};
use crate::transport::encode::{self, Segment};
use crate::transport::{Method, Request, Response, Transport, SDK_NAME};

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

/// The shared part of a client that requests and effects use.
pub struct Core {
    config: Config,
    transport: Arc<dyn Transport>,
    /// The last publish sequence number handed out (`seqn`, PROTOCOL.md §2.3).
    seqn: AtomicU16,
    /// Presence state set with `set_state`, sent on subscribe handshakes and heartbeats.
    presence_state: Mutex<PresenceState>,
    /// Jitter for the retry delays of request builders.
    jitter: Mutex<Jitter>,
    /// A token set with `PubNub::set_token`, replacing the configured auth key or token.
    token: std::sync::RwLock<Option<String>>,
    /// `close()` was called: requests the application makes are refused with `Closed` (the
    /// leaves `close()` itself sends are not).
    closed: std::sync::atomic::AtomicBool,
}

/// A fresh request id: a process-wide counter mixed with per-process random keys, in hex.
fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(n);
    format!("{:016x}{:08x}", hasher.finish(), n & 0xFFFF_FFFF)
}

/// Gives `request` a fresh `requestid`: every attempt is a new request to the service.
fn renew_request_id(request: &mut Request) {
    for (key, value) in &mut request.query {
        if *key == "requestid" {
            *value = request_id();
        }
    }
}

impl Core {
    /// A core sending through `transport`.
    pub(crate) fn new(config: Config, transport: Arc<dyn Transport>) -> Core {
        let jitter = config
            .retry_jitter()
            .cloned()
            .unwrap_or_else(Jitter::from_entropy);
        Core {
            config,
            transport,
            seqn: AtomicU16::new(0),
            presence_state: Mutex::new(PresenceState::default()),
            jitter: Mutex::new(jitter),
            token: std::sync::RwLock::new(None),
            closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Marks the client closed: later requests of the application fail with `Closed`.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// An error when the client was closed, before anything is sent.
    pub(crate) fn check_open(&self) -> Result<(), Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Closed, "the client was closed"));
        }
        Ok(())
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The transport.
    pub(crate) fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// The `auth` value: a token set at run time, else the configured token or key.
    pub(crate) fn auth(&self) -> Option<String> {
        let token = self.token.read().unwrap_or_else(|e| e.into_inner());
        token
            .clone()
            .or_else(|| self.config.auth().map(str::to_owned))
    }

    /// Replaces the auth token of every later request (an expired Access Manager token, say).
    pub(crate) fn set_token(&self, token: Option<String>) {
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token;
    }

    /// A request of `method` to `path` (already encoded) carrying what every request carries:
    /// `auth` when configured, `pnsdk`, a fresh `requestid` and `uuid`; with the non-subscribe
    /// timeout. Push the endpoint's own parameters after these.
    pub(crate) fn request(&self, method: Method, path: String) -> Request {
        let mut request = Request::new(method, path);
        // These four and an endpoint's few: one allocation instead of three growths.
        request.query.reserve(8);
        if let Some(auth) = self.auth() {
            request.query.push(("auth", auth));
        }
        request.query.push(("pnsdk", SDK_NAME.to_owned()));
        request.query.push(("requestid", request_id()));
        request
            .query
            .push(("uuid", self.config.user_id().to_owned()));
        request.timeout = self.config.non_subscribe_request_timeout();
        request.max_response_bytes = self.config.max_response_bytes();
        request
    }

    /// A request of `method` to the path `template` describes ([`encode::path`]: `{sub}` is
    /// the subscribe key, `{pub}` the publish key, each `{}` the next of `segments`), with what
    /// every request carries ([`Core::request`]).
    pub(crate) fn endpoint(
        &self,
        method: Method,
        template: &str,
        segments: &[Segment<'_>],
    ) -> Request {
        let keys = (
            self.config.subscribe_key(),
            self.config.publish_key().unwrap_or_default(),
        );
        self.request(method, encode::path(template, keys, segments))
    }

    /// A GET of [`Core::endpoint`].
    pub(crate) fn get(&self, template: &str, segments: &[Segment<'_>]) -> Request {
        self.endpoint(Method::Get, template, segments)
    }

    /// One attempt: sends `request` through the transport within its timeout. Any HTTP status
    /// is `Ok`; [`response::check`](crate::transport::response::check) classifies it.
    pub(crate) async fn send(&self, mut request: Request) -> Result<Response, Error> {
        // Storage URLs (file transfers) carry their own signature, never PubNub's.
        if !request.is_absolute() {
            self.sign(&mut request);
        }
        let method = request.method;
        let timeout = request.timeout;
        let started = tokio::time::Instant::now();
        // Enforced here too, so that a transport that never answers (a simulation, a stuck
        // connection) still ends, on tokio's clock.
        let limit = request.max_response_bytes;
        let result = match tokio::time::timeout(timeout, self.exchange(request)).await {
            // A transport of the application's may not stream; its answers are held to the
            // same limit once read.
            Ok(Ok(response)) if response.body.len() > limit => {
                Err(crate::transport::too_large(limit))
            }
            Ok(result) => result,
            Err(_) => Err(Error::new(ErrorKind::Timeout, "request timed out")),
        };
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Neither path nor query is logged: they carry messages and the auth token.
        match &result {
            Ok(response) => {
                tracing::debug!(%method, status = response.status, elapsed_ms, "request answered")
            }
            Err(error) => tracing::debug!(%method, %error, elapsed_ms, "request failed"),
        }
        result
    }

    /// Signs `request` with the secret key (Access Manager), when the client has one: what
    /// [`Core::send`] does to every request to the origin, and a file URL needs too.
    pub(crate) fn sign(&self, request: &mut Request) {
        if let Some(secret) = self.config.secret() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let keys = crate::transport::signature::Keys {
                secret,
                publish_key: self.config.publish_key().unwrap_or_default(),
                subscribe_key: self.config.subscribe_key(),
            };
            crate::transport::signature::sign(request, keys, now);
        }
    }

    /// The transport's exchange. A transport of the application's that panics fails this one
    /// request with a network error, which the retry policy treats like any other, instead of
    /// unwinding into the engine that sent it (and stopping its subscribe loop for good).
    async fn exchange(&self, request: Request) -> Result<Response, Error> {
        let panicked = |panic: Box<dyn std::any::Any + Send>| {
            let what = crate::error::panic_message(&*panic);
            tracing::error!("the transport panicked: {what}");
            Error::new(ErrorKind::Network, "the transport panicked")
        };
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| self.transport.send(request)))
            .map_err(panicked)?;
        AssertUnwindSafe(future)
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(panicked(panic)))
    }

    /// Sends `request` and parses the answer with `parse`. With `retry`, failures the
    /// configured [`RetryPolicy`](crate::RetryPolicy) deems transient are retried after its
    /// delay, each attempt with a new `requestid`; without it, the first failure is returned.
    /// Endpoint groups the configuration excludes are never retried, even when asked to.
    pub(crate) async fn execute<T, F>(
        &self,
        endpoint: Endpoint,
        request: Request,
        retry: bool,
        parse: F,
    ) -> Result<T, Error>
    where
        F: Fn(&Response) -> Result<T, Error>,
    {
        let mut attempt = 0;
        let mut request = request;
        loop {
            let next = retry.then(|| request.clone());
            let error = match self.send(request).await.and_then(|answer| parse(&answer)) {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let Some(mut next) = next else {
                return Err(error);
            };
            attempt += 1;
            let jitter = self.next_jitter();
            let Some(delay) = self
                .config
                .retry()
                .delay(endpoint, attempt, &error.reason(), jitter)
            else {
                return Err(error);
            };
            tracing::debug!(?endpoint, attempt, ?delay, %error, "retrying request");
            tokio::time::sleep(delay).await;
            renew_request_id(&mut next);
            request = next;
        }
    }

    /// A copy of `request` with a fresh `requestid`, for another attempt of it.
    pub(crate) fn renewed(&self, request: &Request) -> Request {
        let mut next = request.clone();
        renew_request_id(&mut next);
        next
    }

    /// The next publish sequence number: 1, 2, …, 65535, 1, … (0 is skipped: it would read as
    /// "no sequence number").
    pub(crate) fn next_seqn(&self) -> u16 {
        let step = |n: u16| n.checked_add(1).unwrap_or(1);
        let previous = self
            .seqn
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(step(n)))
            .unwrap_or(0);
        step(previous)
    }

    /// The next jitter for a retry delay, in [0, 1 s).
    pub(crate) fn next_jitter(&self) -> Duration {
        self.jitter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_delay()
    }

    /// The presence state set for the channels and groups of `input` (presence names
    /// ignored), as the JSON object keyed by name that subscribe and heartbeat send as
    /// `state=`; `None` when there is none.
    pub(crate) fn presence_state_for(&self, input: &Input) -> Option<String> {
        self.presence_state_value(input)
            .map(|state| state.to_string())
    }

    /// [`Core::presence_state_for`] as a JSON value.
    pub(crate) fn presence_state_value(&self, input: &Input) -> Option<Value> {
        self.presence_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .for_input(input)
    }

    /// Remembers `state` for `channels` and `groups`; an empty object forgets theirs.
    pub(crate) fn store_presence_state(
        &self,
        channels: &[String],
        groups: &[String],
        state: &Value,
    ) {
        self.presence_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(channels, groups, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ReqwestTransport;
    use serde_json::json;

    fn core() -> Core {
        let config = Config::builder("sub", "me")
            .auth_token("TOKEN-SECRET")
            .build()
            .unwrap();
        let transport = Arc::new(ReqwestTransport::new(config.origin()).unwrap());
        Core::new(config, transport)
    }

    #[test]
    fn request_ids_are_fresh_hex() {
        let a = request_id();
        assert_ne!(a, request_id());
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn common_parameters() {
        let core = core();
        let request = core.request(Method::Get, "/x".into());
        let keys: Vec<&str> = request.query.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["auth", "pnsdk", "requestid", "uuid"]);
        assert_eq!(request.query_value("auth"), Some("TOKEN-SECRET"));
        assert_eq!(request.query_value("pnsdk"), Some(SDK_NAME));
        assert_eq!(request.query_value("uuid"), Some("me"));
        assert_eq!(request.timeout, Duration::from_secs(10));
        let again = core.request(Method::Get, "/x".into());
        assert_ne!(
            again.query_value("requestid"),
            request.query_value("requestid")
        );
    }

    #[test]
    fn seqn_counts_from_one_wraps_and_skips_zero() {
        let core = core();
        assert_eq!(core.next_seqn(), 1);
        assert_eq!(core.next_seqn(), 2);
        core.seqn.store(u16::MAX - 1, Ordering::Relaxed);
        assert_eq!(core.next_seqn(), u16::MAX);
        assert_eq!(core.next_seqn(), 1);
        assert_eq!(core.next_seqn(), 2);
    }

    #[test]
    fn presence_state_as_query_value() {
        let core = core();
        assert_eq!(core.presence_state_for(&Input::channels(["a"])), None);
        core.store_presence_state(&["a".into()], &[], &json!({"mood": "ok"}));
        let input = Input::channels(["a", "b"]);
        assert_eq!(
            core.presence_state_for(&input).as_deref(),
            Some(r#"{"a":{"mood":"ok"}}"#)
        );
    }
}

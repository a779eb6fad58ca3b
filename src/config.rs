//! [`Config`]: keys, identity, origin, presence, retry and timeouts, validated once at build
//! time so that every request can rely on them.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::crypto::CryptoModule;
use crate::engine::Context;
use crate::error::Error;
use crate::macros::setters;
use crate::retry::{Jitter, RetryConfig};
use crate::transport::{ReqwestTransport, Transport};
use crate::validate;

/// PubNub's default origin.
pub const DEFAULT_ORIGIN: &str = "ps.pndsn.com";
/// The smallest presence timeout the service accepts; smaller values are raised to it.
pub const MIN_PRESENCE_TIMEOUT: u32 = 20;
/// How long a subscribe long-poll may take, by default: the service holds one ~280 s.
pub const DEFAULT_SUBSCRIBE_REQUEST_TIMEOUT: Duration = Duration::from_secs(310);
/// How long a request the service answers at once (publish, presence, REST) may take.
pub const DEFAULT_NON_SUBSCRIBE_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a file's upload to storage or download may take.
pub const DEFAULT_FILE_TRANSFER_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a handshake, or a reconnect request that proves the network is back, may take.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
pub use crate::transport::http::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TCP_KEEPALIVE};
/// How long a long-poll may stay silent before the client proves the network still answers
/// and renews it from the same cursor.
pub const DEFAULT_LONG_POLL_LIVENESS: Duration = Duration::from_secs(30);
/// How long `close()` gives the leave before it stops waiting.
pub const DEFAULT_LEAVE_TIMEOUT: Duration = Duration::from_millis(1500);
/// The longest subscribe answer read, by default: the largest legal one (100 messages of 32 KiB
/// with their envelopes) is about 3.3 MiB.
pub const DEFAULT_MAX_SUBSCRIBE_RESPONSE_BYTES: usize = 8 << 20;
pub use crate::transport::DEFAULT_MAX_RESPONSE_BYTES;
/// Messages longer than this (JSON bytes) are published with POST by default: measured faster
/// than GET from 1 KiB up, 3–5× at 30 KiB (BENCHMARKS.md).
pub const DEFAULT_PUBLISH_POST_THRESHOLD: usize = 1024;
/// The smallest answer limit accepted: a legal answer must always fit.
const MIN_RESPONSE_LIMIT: usize = 64 << 10;
/// The longest request timeout accepted: anything longer is a mistake, not a policy.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// The configuration of a [`PubNub`](crate::PubNub) client. Build it with [`Config::builder`].
///
/// `Debug` never shows the secret key, the auth key/token or the cipher key.
///
/// ```
/// use pubnub_engine::Config;
///
/// let config = Config::builder("sub-c-123", "user-1")
///     .publish_key("pub-c-456")
///     .origin("http://127.0.0.1:8090")
///     .heartbeat_interval(60)
///     .build()?;
/// assert_eq!(config.origin(), "http://127.0.0.1:8090");
/// assert!(!config.is_secure());
/// assert_eq!(config.presence_timeout(), 300);
/// # Ok::<(), pubnub_engine::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    subscribe_key: String,
    publish_key: Option<String>,
    secret_key: Option<Secret>,
    auth_key: Option<Secret>,
    auth_token: Option<Secret>,
    user_id: String,
    origin: String,
    secure: bool,
    presence_timeout: u32,
    heartbeat_interval: u32,
    suppress_leave_events: bool,
    filter_expression: Option<String>,
    retry: RetryConfig,
    jitter: Option<Jitter>,
    subscribe_request_timeout: Duration,
    non_subscribe_request_timeout: Duration,
    file_transfer_timeout: Duration,
    handshake_timeout: Duration,
    connect_timeout: Duration,
    tcp_keepalive: Option<Duration>,
    long_poll_liveness: Option<Duration>,
    leave_timeout: Duration,
    max_subscribe_response_bytes: usize,
    max_response_bytes: usize,
    request_message_count_threshold: u32,
    gap_fill_max_pages: Option<u32>,
    publish_post_threshold: Option<usize>,
    compress_publish: bool,
    crypto_module: Option<CryptoModule>,
    transport: Option<Arc<dyn Transport>>,
}

impl Config {
    /// A builder with the two required values and every default.
    pub fn builder(subscribe_key: impl Into<String>, user_id: impl Into<String>) -> ConfigBuilder {
        ConfigBuilder {
            config: Config {
                subscribe_key: subscribe_key.into(),
                publish_key: None,
                secret_key: None,
                auth_key: None,
                auth_token: None,
                user_id: user_id.into(),
                origin: DEFAULT_ORIGIN.to_owned(),
                secure: true,
                presence_timeout: 300,
                heartbeat_interval: 0,
                suppress_leave_events: false,
                filter_expression: None,
                retry: RetryConfig::default(),
                jitter: None,
                subscribe_request_timeout: DEFAULT_SUBSCRIBE_REQUEST_TIMEOUT,
                non_subscribe_request_timeout: DEFAULT_NON_SUBSCRIBE_REQUEST_TIMEOUT,
                file_transfer_timeout: DEFAULT_FILE_TRANSFER_TIMEOUT,
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                tcp_keepalive: Some(DEFAULT_TCP_KEEPALIVE),
                long_poll_liveness: Some(DEFAULT_LONG_POLL_LIVENESS),
                leave_timeout: DEFAULT_LEAVE_TIMEOUT,
                max_subscribe_response_bytes: DEFAULT_MAX_SUBSCRIBE_RESPONSE_BYTES,
                max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
                request_message_count_threshold: 100,
                gap_fill_max_pages: None,
                publish_post_threshold: Some(DEFAULT_PUBLISH_POST_THRESHOLD),
                compress_publish: false,
                crypto_module: None,
                transport: None,
            },
        }
    }

    /// The subscribe key.
    pub fn subscribe_key(&self) -> &str {
        &self.subscribe_key
    }

    /// The publish key, if any: publish, fire and signal need it.
    pub fn publish_key(&self) -> Option<&str> {
        self.publish_key.as_deref()
    }

    /// True when a secret key is configured (the key itself is never handed out).
    pub fn has_secret_key(&self) -> bool {
        self.secret_key.is_some()
    }

    /// The secret key, for signing requests; never logged.
    pub(crate) fn secret(&self) -> Option<&str> {
        self.secret_key.as_ref().map(Secret::expose)
    }

    /// The credential sent as `auth`: the token when one is set, else the auth key.
    pub(crate) fn auth(&self) -> Option<&str> {
        self.auth_token
            .as_ref()
            .or(self.auth_key.as_ref())
            .map(Secret::expose)
    }

    /// The user id, sent as `uuid` on every request.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The base URL requests go to, e.g. `https://ps.pndsn.com`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// True when requests use TLS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Seconds without a heartbeat after which the service reports this user as gone.
    pub fn presence_timeout(&self) -> u32 {
        self.presence_timeout
    }

    /// Seconds between heartbeats; 0 turns the presence engine off.
    pub fn heartbeat_interval(&self) -> u32 {
        self.heartbeat_interval
    }

    /// True when no `leave` is sent on unsubscribe.
    pub fn suppress_leave_events(&self) -> bool {
        self.suppress_leave_events
    }

    /// The subscribe filter expression, if any.
    pub fn filter_expression(&self) -> Option<&str> {
        self.filter_expression.as_deref()
    }

    /// The retry policy: automatic for subscribe and heartbeat, opt-in for other requests.
    pub fn retry(&self) -> &RetryConfig {
        &self.retry
    }

    /// The source of retry jitter, if one was set (otherwise each client seeds its own).
    pub fn retry_jitter(&self) -> Option<&Jitter> {
        self.jitter.as_ref()
    }

    /// How long a subscribe long-poll may take.
    pub fn subscribe_request_timeout(&self) -> Duration {
        self.subscribe_request_timeout
    }

    /// How long every other request may take.
    pub fn non_subscribe_request_timeout(&self) -> Duration {
        self.non_subscribe_request_timeout
    }

    /// How long a file's upload to storage, or its download, may take.
    pub fn file_transfer_timeout(&self) -> Duration {
        self.file_transfer_timeout
    }

    /// How long a handshake (and a reconnect request proving the network is back) may take.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// How long opening a connection may take.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The TCP keepalive idle time, if keepalive is on.
    pub fn tcp_keepalive(&self) -> Option<Duration> {
        self.tcp_keepalive
    }

    /// How long a long-poll may stay silent before it is checked and renewed, if at all.
    pub fn long_poll_liveness(&self) -> Option<Duration> {
        self.long_poll_liveness
    }

    /// How long `close()` waits for the leave.
    pub fn leave_timeout(&self) -> Duration {
        self.leave_timeout
    }

    /// The longest subscribe answer read (after decompression).
    pub fn max_subscribe_response_bytes(&self) -> usize {
        self.max_subscribe_response_bytes
    }

    /// The longest answer read for every other request (after decompression).
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// How many messages in one subscribe response trigger a `RequestMessageCountExceeded` status.
    pub fn request_message_count_threshold(&self) -> u32 {
        self.request_message_count_threshold
    }

    /// Gap fill's page budget when it is on (see [`ConfigBuilder::gap_fill`]).
    pub fn gap_fill_max_pages(&self) -> Option<u32> {
        self.gap_fill_max_pages
    }

    /// The message length above which publish and fire use POST, if they ever do on their
    /// own (see [`ConfigBuilder::publish_post_threshold`]).
    pub fn publish_post_threshold(&self) -> Option<usize> {
        self.publish_post_threshold
    }

    /// Whether POST publish bodies are compressed by default (see
    /// [`ConfigBuilder::compress_publish`]).
    pub fn compress_publish(&self) -> bool {
        self.compress_publish
    }

    /// The crypto module that encrypts published messages and decrypts received ones, if any.
    pub fn crypto_module(&self) -> Option<&CryptoModule> {
        self.crypto_module.as_ref()
    }

    /// The transport set with [`ConfigBuilder::transport`], if any.
    pub fn transport(&self) -> Option<&Arc<dyn Transport>> {
        self.transport.as_ref()
    }
}

/// A credential: `Debug` shows `***`, so that a configuration can be logged.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl Secret {
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt("***", f)
    }
}

/// Builds a [`Config`]; [`ConfigBuilder::build`] checks every value.
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Clone)]
pub struct ConfigBuilder {
    /// The values given so far, every other one at its default; `build` checks them.
    config: Config,
}

impl ConfigBuilder {
    setters! {
        self;
        /// The publish key (needed for publish, fire and signal).
        publish_key(key: impl Into<String>) b => b.config.publish_key = Some(key.into());
        /// The secret key: with it, every request is signed (Access Manager): it carries a
        /// `timestamp` and a `signature`, v1 for a POST publish or fire and v2 for everything else,
        /// as the service expects. The key itself is never sent, and it is kept out of `Debug` and
        /// logs.
        secret_key(key: impl Into<String>) b => b.config.secret_key = Some(Secret(key.into()));
        /// A legacy Access Manager auth key, sent as `auth` unless a token is set.
        auth_key(key: impl Into<String>) b => b.config.auth_key = Some(Secret(key.into()));
        /// An Access Manager v3 token, sent as `auth` in preference to an auth key.
        auth_token(token: impl Into<String>) b => b.config.auth_token = Some(Secret(token.into()));
        /// The origin: a host (`ps.pndsn.com`), `host:port`, or a URL (`http://127.0.0.1:8090`),
        /// whose scheme then decides TLS over [`secure`](Self::secure). Default `ps.pndsn.com`.
        origin(origin: impl Into<String>) b => b.config.origin = origin.into();
        /// Whether to use TLS when the origin has no scheme. Default true.
        secure(secure: bool) b => b.config.secure = secure;
        /// The presence timeout in seconds (default 300); values under 20 are raised to 20.
        presence_timeout(seconds: u32) b => b.config.presence_timeout = seconds;
        /// Seconds between heartbeats (default 0: the presence engine is off). Must be smaller
        /// than the presence timeout; `presence_timeout / 2 - 1` is the usual choice.
        heartbeat_interval(seconds: u32) b => b.config.heartbeat_interval = seconds;
        /// Send no `leave` on unsubscribe. Default false.
        suppress_leave_events(suppress: bool) b => b.config.suppress_leave_events = suppress;
        /// A subscribe filter expression, e.g. `meta.priority == "high"` (PROTOCOL.md §11).
        filter_expression(expression: impl Into<String>) b =>
            b.config.filter_expression = Some(expression.into());
        /// The retry configuration (default: [`RetryConfig::default`]). It applies automatically to
        /// subscribe and heartbeat; other requests use its policy only when they opt in with
        /// `.retry(true)`.
        retry(retry: RetryConfig) b => b.config.retry = retry;
        /// The source of the [0, 1 s) jitter added to retry delays, never more than the delay
        /// itself (so a test's 10 ms policy waits at most 20 ms; default: seeded per client
        /// from the clock). Tests fix it with [`Jitter::seeded`] or turn it off with
        /// [`Jitter::off`], so back-off timings are reproducible.
        retry_jitter(jitter: Jitter) b => b.config.jitter = Some(jitter);
        /// How long a subscribe long-poll may take (default 310 s; more than 0, at most an hour).
        subscribe_request_timeout(timeout: Duration) b => b.config.subscribe_request_timeout = timeout;
        /// How long any other request may take (default 10 s; more than 0, at most an hour).
        non_subscribe_request_timeout(timeout: Duration) b =>
            b.config.non_subscribe_request_timeout = timeout;
        /// How long a file's upload to storage or download may take (default 300 s; more than
        /// 0, at most an hour): files are up to 5 MiB, far more than a request's answer.
        file_transfer_timeout(timeout: Duration) b => b.config.file_transfer_timeout = timeout;
        /// How long a handshake may take, and each request that proves the network is back after
        /// a failure (default 5 s; more than 0, at most an hour). The service answers both at once,
        /// so a handshake that hangs is a silent network, reported as soon as this passes.
        handshake_timeout(timeout: Duration) b => b.config.handshake_timeout = timeout;
        /// How long opening a TCP (and TLS) connection may take (default 5 s; more than 0, at most
        /// an hour). A connect that hangs (an unreachable network, a full backlog) fails then.
        /// Applies to the built-in HTTP transport only.
        connect_timeout(timeout: Duration) b => b.config.connect_timeout = timeout;
        /// TCP keepalive on every connection of the built-in HTTP transport: the idle time before
        /// the first probe (default 15 s), then a probe every third of it, and the connection
        /// ends after 3 unanswered probes: a peer that vanished (Wi-Fi gone, a NAT that forgot
        /// the connection, a sleeping laptop) is noticed within about twice the idle time. `None`
        /// turns keepalive off. HTTP/2 connections also send PING frames every 15 s while a
        /// request is open and drop the connection when one goes unanswered for 10 s.
        tcp_keepalive(idle: Option<Duration>) b => b.config.tcp_keepalive = idle;
        /// How long a long-poll may stay silent before the client checks the network (default
        /// 30 s; `None` waits for the service's hold, ~280 s, and the subscribe request timeout).
        ///
        /// A connection that a middlebox keeps alive but starves answers TCP keepalive probes,
        /// so only traffic of the SDK's own can notice it. When a long-poll has been silent this
        /// long, the client sends a request the service answers at once (a handshake of the same
        /// channels): if it fails, the long-poll is reported failed (`UnexpectedDisconnect`, then
        /// reconnection); if it succeeds, the long-poll is renewed from the same cursor, so
        /// nothing is lost. **Cost:** on a channel with no messages for a long time this is two
        /// requests per interval instead of one long-poll per ~280 s hold (about 18 instead of 1
        /// per 280 s at the default); a channel with traffic pays nothing, since its long-polls
        /// return before the interval.
        long_poll_liveness(interval: Option<Duration>) b => b.config.long_poll_liveness = interval;
        /// How long `close()` gives the leave (default 1.5 s; more than 0, at most an hour):
        /// `close()` never takes longer, whatever the network does.
        leave_timeout(timeout: Duration) b => b.config.leave_timeout = timeout;
        /// The longest subscribe answer read, counted after decompression (default 8 MiB; at least
        /// 64 KiB). The largest legal answer (100 messages of 32 KiB) is about 3.3 MiB; a longer
        /// one
        /// (a body that never ends, a decompression bomb) fails with
        /// [`ErrorKind::ResponseTooLarge`](crate::ErrorKind::ResponseTooLarge) and is retried like
        /// an
        /// undecodable answer.
        max_subscribe_response_bytes(bytes: usize) b => b.config.max_subscribe_response_bytes = bytes;
        /// The longest answer read for every other request (default 4 MiB; at least 64 KiB).
        max_response_bytes(bytes: usize) b => b.config.max_response_bytes = bytes;
        /// Messages in one subscribe response that trigger `RequestMessageCountExceeded` (default
        /// 100).
        request_message_count_threshold(count: u32) b => b.config.request_message_count_threshold = count;
        /// Gap fill (default off): when one subscribe answer reaches
        /// [`request_message_count_threshold`](ConfigBuilder::request_message_count_threshold), the
        /// service's queue may have dropped older messages. With gap fill on, the subscribe machine
        /// then reads the range the answer may be missing, for each channel concerned, from
        /// message persistence (it must be enabled on the key), and delivers what it finds, in
        /// timetoken order and marked [`Message::recovered`](crate::Message::recovered), before
        /// the answer's own messages; each message reaches each listener once. It reads at most
        /// `max_pages` pages of up to 100 messages, one at a time, newest first; what it could not
        /// read (the budget was spent, or a read failed after the client's retry policy: what the
        /// pages before it recovered is still delivered) is reported by a
        /// [`MessagesNotRecovered`](crate::StatusCategory::MessagesNotRecovered) status.
        ///
        /// Channel groups and wildcard subscriptions cannot be read from history (it is read per
        /// channel): when a fill happens, they are named in a `MessagesNotRecovered` status.
        ///
        /// History is not filtered, so gap fill cannot be combined with a
        /// [`filter_expression`](ConfigBuilder::filter_expression); signals and unstored messages
        /// (`store(false)`, fire) are not in history and cannot be recovered.
        gap_fill(max_pages: u32) b => b.config.gap_fill_max_pages = Some(max_pages);
        /// Publish and fire send a message whose JSON (encrypted, with a crypto module) is longer
        /// than this many bytes as a POST body instead of in the URL (default 1 KiB; `None`:
        /// always in the URL, as PubNub's SDKs do unless told to POST). A request's own
        /// [`use_post`](crate::publish::Publish::use_post) wins over it. The service takes both
        /// forms; a body skips the percent-encoding and the URL parsing of a long path, which
        /// makes large messages several times faster (BENCHMARKS.md), and the size limit then
        /// counts the body's bytes rather than their escaped form. Signals are always sent in
        /// the URL, as the service requires.
        publish_post_threshold(bytes: Option<usize>) b => b.config.publish_post_threshold = bytes;
        /// Compress the body of every publish and fire sent with POST (default: no; a request's
        /// own [`should_compress`](crate::publish::Publish::should_compress) wins). The body is a
        /// zlib stream sent with `Content-Encoding: deflate`, as PubNub's JavaScript SDK sends it;
        /// the size limit still counts the uncompressed bytes, so this saves bandwidth, not size.
        /// Messages in the URL are never compressed.
        compress_publish(compress: bool) b => b.config.compress_publish = compress;
        /// Message encryption with PubNub's crypto module (see [`crate::crypto`]): publish and fire
        /// payloads are encrypted with it, and received messages decrypted before any listener
        /// sees them; one that cannot be decrypted arrives as received, with the reason in
        /// [`Message::error`](crate::Message::error). `meta` and signals are not encrypted.
        ///
        /// ```
        /// use pubnub_engine::{Config, CryptoModule};
        ///
        /// let config = Config::builder("sub-c-123", "user-1")
        ///     .crypto_module(CryptoModule::aes_cbc("my cipher key")?)
        ///     .build()?;
        /// assert!(config.crypto_module().is_some());
        /// assert!(!format!("{config:?}").contains("my cipher key"));
        /// # Ok::<(), pubnub_engine::Error>(())
        /// ```
        crypto_module(module: CryptoModule) b => b.config.crypto_module = Some(module);
        /// The transport every request goes through, instead of HTTP to the origin: for tests
        /// that count requests and for simulations against an in-memory server.
        transport(transport: Arc<dyn Transport>) b => b.config.transport = Some(transport);
    }

    /// The checked configuration, or an
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument)
    /// error naming the first bad value.
    pub fn build(self) -> Result<Config, Error> {
        key("subscribe key", &self.config.subscribe_key)?;
        if let Some(publish_key) = &self.config.publish_key {
            key("publish key", publish_key)?;
        }
        for (what, value) in [
            ("secret key", &self.config.secret_key),
            ("auth key", &self.config.auth_key),
            ("auth token", &self.config.auth_token),
        ] {
            if value.as_ref().is_some_and(|v| v.expose().is_empty()) {
                return Err(Error::invalid(format!("{what} is empty")));
            }
        }
        validate::user_id(&self.config.user_id)?;
        let (origin, secure) = resolve_origin(&self.config.origin, self.config.secure)?;
        let presence_timeout = self.config.presence_timeout.max(MIN_PRESENCE_TIMEOUT);
        if self.config.heartbeat_interval >= presence_timeout {
            return Err(Error::invalid(format!(
                "heartbeat interval {} s must be smaller than the presence timeout {presence_timeout} s",
                self.config.heartbeat_interval
            )));
        }
        if self
            .config
            .filter_expression
            .as_deref()
            .is_some_and(|e| e.trim().is_empty())
        {
            return Err(Error::invalid("filter expression is empty"));
        }
        timeout(
            "subscribe request timeout",
            self.config.subscribe_request_timeout,
        )?;
        timeout(
            "non-subscribe request timeout",
            self.config.non_subscribe_request_timeout,
        )?;
        timeout("handshake timeout", self.config.handshake_timeout)?;
        timeout("file transfer timeout", self.config.file_transfer_timeout)?;
        timeout("connect timeout", self.config.connect_timeout)?;
        timeout("leave timeout", self.config.leave_timeout)?;
        if let Some(idle) = self.config.tcp_keepalive {
            timeout("TCP keepalive idle time", idle)?;
        }
        if let Some(interval) = self.config.long_poll_liveness {
            timeout("long-poll liveness interval", interval)?;
        }
        for (what, bytes) in [
            (
                "max subscribe response bytes",
                self.config.max_subscribe_response_bytes,
            ),
            ("max response bytes", self.config.max_response_bytes),
        ] {
            if bytes < MIN_RESPONSE_LIMIT {
                return Err(Error::invalid(format!(
                    "{what} {bytes} must be at least {MIN_RESPONSE_LIMIT}"
                )));
            }
        }
        if self.config.request_message_count_threshold == 0 {
            return Err(Error::invalid(
                "request message count threshold must be at least 1",
            ));
        }
        if let Some(pages) = self.config.gap_fill_max_pages {
            if pages == 0 {
                return Err(Error::invalid("gap fill needs at least one page"));
            }
            if self.config.filter_expression.is_some() {
                return Err(Error::invalid(
                    "gap fill cannot be combined with a filter expression: history is not filtered",
                ));
            }
        }
        Ok(Config {
            origin,
            secure,
            presence_timeout,
            ..self.config
        })
    }
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("subscribe_key", &self.config.subscribe_key)
            .field("user_id", &self.config.user_id)
            .field("origin", &self.config.origin)
            .finish_non_exhaustive()
    }
}

/// A key: non-empty, printable, no whitespace (keys go into paths).
fn key(what: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(format!("{what} is empty")));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(format!(
            "{what} contains whitespace or a control character"
        )));
    }
    Ok(())
}

/// A timeout that is neither zero nor absurdly long.
fn timeout(what: &str, value: Duration) -> Result<(), Error> {
    if value.is_zero() || value > MAX_TIMEOUT {
        return Err(Error::invalid(format!(
            "{what} {value:?} must be more than 0 and at most one hour"
        )));
    }
    Ok(())
}

/// The base URL (`scheme://host[:port]`) and TLS flag of an origin given as a host,
/// `host:port` or a URL.
fn resolve_origin(origin: &str, secure: bool) -> Result<(String, bool), Error> {
    let bad = |why: &str| Error::invalid(format!("origin {origin:?} {why}"));
    let trimmed = origin.trim();
    let (scheme, rest) = match trimmed.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "https" => ("https", rest),
            "http" => ("http", rest),
            _ => return Err(bad("must use http or https")),
        },
        None if secure => ("https", trimmed),
        None => ("http", trimmed),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    if authority
        .chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '@' | '\\') || c.is_whitespace() || c.is_control())
    {
        return Err(bad("must be host[:port] without a path, query or user"));
    }
    let url = reqwest::Url::parse(&format!("{scheme}://{authority}"))
        .map_err(|e| bad("is not a valid host[:port]").with_source(e))?;
    let host = url.host_str().ok_or_else(|| bad("has no host"))?;
    let base = match url.port() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };
    Ok((base, scheme == "https"))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

impl ReqwestTransport {
    /// A transport to the configured origin with the configured connection settings
    /// (connect timeout, TCP keepalive): what [`PubNub::new`](crate::PubNub::new) uses.
    pub fn from_config(config: &Config) -> Result<Self, Error> {
        ReqwestTransport::with_settings(
            config.origin(),
            config.connect_timeout(),
            config.tcp_keepalive(),
        )
    }
}

impl Context {
    /// The context of a client with `config`: its retry configuration and threshold, and its
    /// jitter (the configured one, else one seeded from the clock).
    pub fn from_config(config: &Config) -> Context {
        Context {
            retry: config.retry().clone(),
            jitter: config
                .retry_jitter()
                .cloned()
                .unwrap_or_else(Jitter::from_entropy),
            request_message_count_threshold: config.request_message_count_threshold(),
            gap_fill_max_pages: config.gap_fill_max_pages(),
            long_poll_liveness: config.long_poll_liveness(),
        }
    }
}

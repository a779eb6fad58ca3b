//! Publish, fire and signal (PROTOCOL.md §2–4): builders that check everything they can before
//! sending, so a request the service would refuse is never sent.
//!
//! With a [crypto module](crate::crypto) configured, publish and fire payloads are encrypted
//! (the message's JSON, sent as the base64 string of the result); `meta` and signals are not.

use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::macros::markers;
use crate::request::{setters, Operation, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{encode, response, Method, Request, Response};
use crate::validate;

use self::kind::Kind;

/// The largest message, counted as PubNub does: the escaped channel plus the escaped message
/// (GET) or the body (POST), PROTOCOL.md §2.6.
pub const MAX_MESSAGE_SIZE: usize = 32 * 1024;
/// The largest signal payload: the bytes of its JSON.
pub const MAX_SIGNAL_SIZE: usize = 64;

/// The answer to a publish, fire or signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublishResult {
    /// When the service accepted the message (17 digits, 100 ns units since the Unix epoch);
    /// subscribers see it as the message's publish timetoken.
    pub timetoken: u64,
}

/// A publish request; `.await` it. Created by [`PubNub::publish`](crate::PubNub::publish).
pub type Publish = RequestBuilder<PublishOp<PublishKind>>;
/// A fire request: a publish that is neither stored nor delivered to subscribers, only to
/// Functions (`store=0&norep=true`). Created by [`PubNub::fire`](crate::PubNub::fire).
pub type Fire = RequestBuilder<PublishOp<FireKind>>;
/// A signal: a small (≤ 64 bytes of JSON), unstored message. Created by
/// [`PubNub::signal`](crate::PubNub::signal).
pub type SendSignal = RequestBuilder<PublishOp<SignalKind>>;

/// The publish, fire and signal endpoints; `K` says which.
#[derive(Debug)]
pub struct PublishOp<K> {
    channel: String,
    /// The message as JSON, or why it could not be serialised.
    message: Option<Result<String, Error>>,
    meta: Option<Result<String, Error>>,
    custom_message_type: Option<String>,
    should_store: Option<bool>,
    ttl: Option<u32>,
    /// POST (true) or GET (false) as asked for; `None`: by the client's threshold.
    use_post: Option<bool>,
    /// Compress a POST body (true) or not (false); `None`: as the client's configuration says.
    compress: Option<bool>,
    /// An explicit `seqn` instead of the client's counter (the reliable publisher's own).
    seqn: Option<u16>,
    kind: std::marker::PhantomData<K>,
}

impl<K> Default for PublishOp<K> {
    fn default() -> Self {
        PublishOp {
            channel: String::new(),
            message: None,
            meta: None,
            custom_message_type: None,
            should_store: None,
            ttl: None,
            use_post: None,
            compress: None,
            seqn: None,
            kind: std::marker::PhantomData,
        }
    }
}

markers! {
    /// A message for subscribers, stored by default.
    PublishKind;
    /// A message for Functions only.
    FireKind;
    /// A small message, never stored.
    SignalKind;
}

mod kind {
    /// Which of the three a [`PublishOp`](super::PublishOp) is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        Publish,
        Fire,
        Signal,
    }

    /// Publish, fire or signal.
    pub trait Of: Send + Sync + 'static {
        const KIND: Kind;
    }
    impl Of for super::PublishKind {
        const KIND: Kind = Kind::Publish;
    }
    impl Of for super::FireKind {
        const KIND: Kind = Kind::Fire;
    }
    impl Of for super::SignalKind {
        const KIND: Kind = Kind::Signal;
    }
    /// The kinds with a full message: publish and fire.
    pub trait Full {}
    impl Full for super::PublishKind {}
    impl Full for super::FireKind {}
}

/// A value serialised to JSON now, or why it could not be.
fn json<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<String, Error> {
    serde_json::to_string(value)
        .map_err(|e| Error::invalid(format!("{what} cannot be serialised to JSON")).with_source(e))
}

/// `result` again, for one more use of the builder.
fn again(result: &Option<Result<String, Error>>) -> Result<Option<String>, Error> {
    match result {
        None => Ok(None),
        Some(Ok(value)) => Ok(Some(value.clone())),
        Some(Err(error)) => Err(error.copy()),
    }
}

impl<K> RequestBuilder<PublishOp<K>> {
    setters! {
        /// The channel to send to (required).
        channel(channel: impl Into<String>) op => op.channel = channel.into();
        /// A custom message type, 3 to 50 characters of `A-Z a-z 0-9 _ -`
        /// (`cmt` on the subscriber's side).
        custom_message_type(value: impl Into<String>) op =>
            op.custom_message_type = Some(value.into());
    }

    /// The payload (required): anything `Serialize`, serialised to JSON now. A
    /// serialisation error is returned when the request is awaited.
    pub fn message<T: Serialize + ?Sized>(mut self, message: &T) -> Self {
        self.op.message = Some(json(message, "message"));
        self
    }
}

impl<K: kind::Full> RequestBuilder<PublishOp<K>> {
    setters! {
        /// Send the message as a POST body (`true`) or in the URL (`false`); unset, a message
        /// longer than [`publish_post_threshold`](crate::ConfigBuilder::publish_post_threshold)
        /// goes as a body.
        use_post(use_post: bool) op => op.use_post = Some(use_post);
        /// Compress the body when the message is sent with POST (Python's `should_compress`);
        /// unset, as [`compress_publish`](crate::ConfigBuilder::compress_publish) says. A
        /// message sent in the URL is never compressed.
        should_compress(compress: bool) op => op.compress = Some(compress);
    }

    /// Metadata for filter expressions (`u` on the subscriber's side): anything that
    /// serialises to a JSON object.
    pub fn meta<T: Serialize + ?Sized>(mut self, meta: &T) -> Self {
        self.op.meta = Some(match serde_json::to_value(meta) {
            Ok(value) if value.is_object() => Ok(value.to_string()),
            Ok(_) => Err(Error::invalid("meta must serialise to a JSON object")),
            Err(e) => Err(Error::invalid("meta cannot be serialised to JSON").with_source(e)),
        });
        self
    }
}

impl RequestBuilder<PublishOp<PublishKind>> {
    setters! {
        /// Store the message in history (`store=1`) or not (`store=0`); default: the key's
        /// setting.
        should_store(store: bool) op => op.should_store = Some(store);
    }

    /// Sends `seqn` instead of the next number of the client's counter.
    pub(crate) fn seqn(mut self, seqn: u16) -> Self {
        self.op.seqn = Some(seqn);
        self
    }

    /// How many hours Message Persistence keeps this message (`ttl`), as PubNub's publish
    /// documentation defines it:
    ///
    /// - without `ttl`, a stored message is kept for the keyset's retention period;
    /// - with `ttl(n)`, `n` ≥ 1, it expires after `n` hours (unless the keyset's retention is
    ///   Unlimited, which wins);
    /// - with [`should_store(false)`](Self::should_store) nothing is stored, the service
    ///   ignores `ttl`, and it is not sent.
    ///
    /// `ttl(0)` is refused with [`ErrorKind::InvalidArgument`] before anything is sent:
    /// PubNub's SDK references say a message stored with `ttl=0` never expires, while its
    /// current REST reference says it gets the keyset's retention. There is no per-message
    /// "keep forever"; set the keyset's retention to Unlimited instead.
    ///
    /// ```no_run
    /// # async fn demo(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
    /// pubnub.publish().channel("audit").message(&"login").should_store(true).ttl(24).await?;
    /// # Ok(()) }
    /// ```
    pub fn ttl(mut self, hours: u32) -> Self {
        self.op.ttl = Some(hours);
        self
    }

    /// Checks everything and builds the request without sending it.
    pub(crate) fn prepare(mut self) -> Result<PreparedPublish, Error> {
        let core = self.core().clone();
        let request = self.op.take_request(&core)?;
        Ok(PreparedPublish { core, request })
    }
}

impl<K: kind::Of> Operation for PublishOp<K> {
    type Output = PublishResult;
    const GROUP: Endpoint = match K::KIND {
        Kind::Signal => Endpoint::Signal,
        _ => Endpoint::Publish,
    };

    fn request(&self, core: &Core) -> Result<Request, Error> {
        self.build(core, again(&self.message)?)
    }

    /// The message moves into the request: a 30 KiB body is not copied for one send.
    fn take_request(&mut self, core: &Core) -> Result<Request, Error> {
        let message = self.message.take().transpose()?;
        self.build(core, message)
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<PublishResult, Error> {
        parse_answer(answer)
    }
}

impl<K: kind::Of> PublishOp<K> {
    /// Checks everything and builds the request with `message` (the builder's, serialised), or
    /// says why it cannot be sent.
    fn build(&self, core: &Core, message: Option<String>) -> Result<Request, Error> {
        let kind = K::KIND;
        let config = core.config();
        let publish_key = config
            .publish_key()
            .ok_or_else(|| Error::invalid("a publish key is required to publish"))?;
        validate::publish_channel(&self.channel)?;
        let message = message.ok_or_else(|| Error::invalid("message is missing"))?;
        let meta = again(&self.meta)?;
        if let Some(cmt) = &self.custom_message_type {
            validate::custom_message_type(cmt)?;
        }
        if kind == Kind::Publish && self.ttl == Some(0) {
            // PubNub documents `ttl=0` both as "no expiry" and as "the keyset's retention".
            return Err(Error::invalid(
                "ttl must be at least 1 hour; leave it unset for the keyset's retention",
            ));
        }
        // PubNub's SDKs encrypt publish and fire payloads, never signals (nor `meta`, which the
        // service filters on); the size limit applies to what is sent.
        let message = match config.crypto_module() {
            Some(crypto) if kind != Kind::Signal => crypto.encrypt_json(&message)?,
            _ => message,
        };
        let use_post = kind != Kind::Signal
            && self.use_post.unwrap_or_else(|| {
                config
                    .publish_post_threshold()
                    .is_some_and(|threshold| message.len() > threshold)
            });
        if kind == Kind::Signal {
            check_size(kind, message.len())?;
        }

        let service = if kind == Kind::Signal {
            "signal"
        } else {
            "publish"
        };
        // One allocation for the whole path, the encoded message included (JSON's own
        // punctuation is escaped, so its encoded form is longer; a rare longer one grows once).
        let sub_key = config.subscribe_key();
        let mut capacity = 16 + 3 * (publish_key.len() + sub_key.len() + self.channel.len());
        if !use_post {
            capacity += message.len() + message.len() / 4;
        }
        let mut path = String::with_capacity(capacity);
        path.push('/');
        path.push_str(service);
        path.push('/');
        encode::encode_into(&mut path, publish_key);
        path.push('/');
        encode::encode_into(&mut path, sub_key);
        path.push_str("/0/");
        let channel_at = path.len();
        encode::encode_into(&mut path, &self.channel);
        let channel_len = path.len() - channel_at;
        path.push_str("/0");
        // The size is counted as PubNub counts it, on what is sent: the escaped channel plus
        // the body (POST) or the escaped message (GET), measured while encoding it, in one
        // pass over the message (PROTOCOL.md §2.6).
        let mut body = None;
        let mut compress = false;
        if use_post {
            check_size(kind, channel_len + message.len())?;
            body = Some(message.into_bytes());
            compress = self.compress.unwrap_or_else(|| config.compress_publish());
        } else {
            path.push('/');
            let message_at = path.len();
            encode::encode_into(&mut path, &message);
            if kind != Kind::Signal {
                check_size(kind, channel_len + path.len() - message_at)?;
            }
        }
        let (store, norep) = match kind {
            Kind::Publish => (self.should_store, false),
            Kind::Fire => (Some(false), true),
            Kind::Signal => (None, false),
        };
        let method = if use_post { Method::Post } else { Method::Get };
        let mut request = core
            .request(method, path)
            .param_opt("store", store.map(|s| if s { "1" } else { "0" }))
            .param_opt(
                "ttl",
                // The service ignores `ttl` on a message it does not store.
                self.ttl
                    .filter(|_| kind == Kind::Publish && store != Some(false))
                    .map(|t| t.to_string()),
            )
            .param_opt("norep", norep.then_some("true"))
            .param_opt("meta", meta.filter(|_| kind != Kind::Signal))
            .param_opt("custom_message_type", self.custom_message_type.clone())
            .param_opt(
                "seqn",
                (kind != Kind::Signal)
                    .then(|| self.seqn.unwrap_or_else(|| core.next_seqn()).to_string()),
            );
        request.body = match body {
            // Measured and limited above on the uncompressed bytes, as the service counts
            // them (PROTOCOL.md §2.6); a zlib stream labelled `deflate`, as PubNub's JS SDK
            // sends it (§2.2).
            Some(plain) if compress => {
                request.headers.push(("content-encoding", "deflate".into()));
                Some(deflate(&plain)?.into())
            }
            body => body.map(Into::into),
        };
        Ok(request)
    }
}

/// The longest publish answer parsed: the service's are under 100 bytes.
const MAX_PUBLISH_ANSWER: usize = 4096;

/// A publish answer → its timetoken.
fn parse_answer(answer: &Response) -> Result<PublishResult, Error> {
    // The usual answer, `[1,"Sent","17…"]`, read without building a JSON value; anything else
    // goes through the full classification below.
    if answer.is_success() {
        if let Ok((1, _, timetoken)) = serde_json::from_slice::<(u8, &str, &str)>(&answer.body) {
            if let Some(timetoken) =
                response::timetoken_digits(timetoken).filter(|tt| response::is_timetoken(*tt))
            {
                return Ok(PublishResult { timetoken });
            }
        }
        // A publish answer is a few dozen bytes: a long "success" is not parsed into a tree.
        if answer.body.len() > MAX_PUBLISH_ANSWER {
            return Err(Error::answer(
                ErrorKind::Decode,
                answer.status,
                format!(
                    "unexpected publish response ({} bytes): {}",
                    answer.body.len(),
                    response::snippet(&answer.body)
                ),
            ));
        }
    }
    let json = response::check(answer).map_err(|error| {
        // A URI too long on publish is the message being too large.
        if error.status() == Some(414) {
            error.with_kind(ErrorKind::MessageTooLarge)
        } else {
            error
        }
    })?;
    let timetoken = response::publish_timetoken(&json)?;
    Ok(PublishResult { timetoken })
}

/// A checked publish request that can be attempted any number of times: what the reliable
/// publisher queues. Every attempt has a fresh `requestid` and the same `seqn`.
pub(crate) struct PreparedPublish {
    core: Arc<Core>,
    request: Request,
}

impl std::fmt::Debug for PreparedPublish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedPublish")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl PreparedPublish {
    /// Sets the `seqn` every attempt carries.
    pub(crate) fn set_seqn(&mut self, seqn: u16) {
        self.request.query.retain(|(key, _)| *key != "seqn");
        self.request.query.push(("seqn", seqn.to_string()));
    }

    /// Sets the `meta` every attempt carries (the reliable publisher's de-duplication mark).
    pub(crate) fn set_meta(&mut self, meta: String) {
        self.request.query.retain(|(key, _)| *key != "meta");
        self.request.query.push(("meta", meta));
    }

    /// One attempt, no retry.
    pub(crate) async fn attempt(&self) -> Result<PublishResult, Error> {
        let request = self.core.renewed(&self.request);
        self.core
            .execute(Endpoint::Publish, request, false, parse_answer)
            .await
    }
}

/// `data` as a zlib stream (RFC 1950).
fn deflate(data: &[u8]) -> Result<Vec<u8>, Error> {
    use std::io::Write as _;
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        flate2::Compression::default(),
    );
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .map_err(|e| Error::invalid("the message could not be compressed").with_source(e))
}

/// The size limits of PROTOCOL.md §2.6 (publish, fire: `size` counts the escaped channel and
/// the escaped message or the body) and §4 (signal: the bytes of its JSON).
fn check_size(kind: Kind, size: usize) -> Result<(), Error> {
    let limit = match kind {
        Kind::Signal => MAX_SIGNAL_SIZE,
        _ => MAX_MESSAGE_SIZE,
    };
    if size > limit {
        let what = if kind == Kind::Signal {
            "signal"
        } else {
            "message"
        };
        return Err(Error::new(
            ErrorKind::MessageTooLarge,
            format!("{what} is {size} bytes, more than the {limit} allowed"),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "publish_tests.rs"]
mod tests;

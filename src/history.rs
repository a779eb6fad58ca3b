//! Message persistence (PROTOCOL.md §18): what the service stored of a channel, read back
//! ([`PubNub::fetch_messages`](crate::PubNub::fetch_messages)), counted ([`PubNub::message_counts`](crate::PubNub::message_counts)) and deleted
//! ([`PubNub::delete_messages`](crate::PubNub::delete_messages)).
//!
//! Timetoken ranges follow the service: `start` is the newer bound and is exclusive, `end` the
//! older bound and inclusive; a page holds the newest messages of the range, oldest first, and
//! the next (older) page starts where it ended. [`FetchMessagesResult::more`] names the channels
//! that may have older messages in the range, and `pages()` walks every page.
//!
//! ```no_run
//! # async fn run(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
//! let result = pubnub
//!     .fetch_messages()
//!     .channels(["chat"])
//!     .count(25)
//!     .include_meta(true)
//!     .await?;
//! for message in &result.channels["chat"] {
//!     println!("{} {}", message.timetoken, message.message);
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Reason};
use crate::request::{setters, Operation, Paged, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::subscribe::payload::Payload;
use crate::transport::{response, Method, Request, Response};
use crate::validate;

/// Most messages per channel in one answer when one channel is fetched.
pub const MAX_SINGLE_CHANNEL: usize = 100;
/// Most messages per channel in one answer when several channels, or message actions, are
/// fetched.
pub const MAX_MULTIPLE_CHANNELS: usize = 25;
/// Most channels in one fetch request.
pub const MAX_CHANNELS: usize = 500;
/// Most channels in one message-counts request (PubNub's REST reference).
pub const MAX_COUNT_CHANNELS: usize = 100;

/// One stored message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistoryMessage {
    /// Its publish timetoken.
    pub timetoken: u64,
    /// The payload as published (decrypted when the client has a crypto module).
    pub message: Payload,
    /// The publisher's `meta` (with `include_meta`).
    pub meta: Option<Value>,
    /// The message type (with `include_message_type`): 0 or absent for a message, 4 for a file.
    pub message_type: Option<u32>,
    /// The custom message type (with `include_custom_message_type`).
    pub custom_message_type: Option<String>,
    /// The publisher's user id (with `include_uuid`).
    pub publisher: Option<String>,
    /// Its message actions, by type, then value (with `include_message_actions`).
    pub actions: BTreeMap<String, BTreeMap<String, Vec<ActionRef>>>,
    /// Why the payload could not be decrypted, when the client has a crypto module (kind
    /// [`ErrorKind::Decryption`](crate::ErrorKind::Decryption)); `message` is then as stored.
    pub error: Option<Reason>,
}

/// Who added a message action, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRef {
    /// The user id that added it.
    pub user_id: String,
    /// The action's timetoken.
    pub action_timetoken: u64,
}

/// The answer of [`FetchMessages`].
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct FetchMessagesResult {
    /// The messages of each channel that has any in the range, oldest first.
    pub channels: BTreeMap<String, Vec<HistoryMessage>>,
    /// The channels that may have older messages in the range, each with the `start` of its
    /// next page (the timetoken of its oldest message here).
    pub more: BTreeMap<String, u64>,
}
/// Reads stored messages; `.await` it for one page, or walk them all with `pages()`. Created
/// by [`PubNub::fetch_messages`](crate::PubNub::fetch_messages).
pub type FetchMessages = RequestBuilder<FetchOp>;
/// Counts stored messages per channel; `.await` it. Created by
/// [`PubNub::message_counts`](crate::PubNub::message_counts).
pub type MessageCounts = RequestBuilder<CountsOp>;
/// Deletes stored messages of one channel in a range; `.await` it. Created by
/// [`PubNub::delete_messages`](crate::PubNub::delete_messages). The service allows it only to
/// a client with the secret key, or with a token that grants `delete`.
pub type DeleteMessages = RequestBuilder<DeleteOp>;

/// The fetch endpoint (`/v3/history`, or `/v3/history-with-actions` for one channel).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FetchOp {
    channels: Vec<String>,
    start: Option<u64>,
    end: Option<u64>,
    count: Option<usize>,
    include_meta: bool,
    include_message_type: bool,
    include_custom_message_type: bool,
    include_uuid: bool,
    include_message_actions: bool,
    /// Decrypt with the client's crypto module (gap fill delivers as stored: the subscribe
    /// path decrypts).
    decrypt: bool,
}

impl Default for FetchOp {
    fn default() -> Self {
        FetchOp {
            channels: Vec::new(),
            start: None,
            end: None,
            count: None,
            include_meta: false,
            include_message_type: true,
            include_custom_message_type: false,
            include_uuid: true,
            include_message_actions: false,
            decrypt: true,
        }
    }
}

impl RequestBuilder<FetchOp> {
    setters! {
        /// The channels (at least one, at most [`MAX_CHANNELS`]; one with message actions).
        channels(channels: impl IntoIterator<Item = impl Into<String>>) op =>
            op.channels = channels.into_iter().map(Into::into).collect();
        /// The newer bound of the range, exclusive.
        start(timetoken: u64) op => op.start = Some(timetoken);
        /// The older bound of the range, inclusive.
        end(timetoken: u64) op => op.end = Some(timetoken);
        /// Most messages per channel: 1 to 100 for one channel (default 100), 1 to 25 for
        /// several or with message actions (default 25).
        count(count: usize) op => op.count = Some(count);
        /// Python's name for `count`.
        maximum_per_channel(count: usize) op => op.count = Some(count);
        /// Include each message's `meta` (default no).
        include_meta(include: bool) op => op.include_meta = include;
        /// Include each message's type (default yes, as PubNub's SDKs).
        include_message_type(include: bool) op => op.include_message_type = include;
        /// Include each message's custom message type (default no).
        include_custom_message_type(include: bool) op =>
            op.include_custom_message_type = include;
        /// Include each message's publisher (default yes).
        include_uuid(include: bool) op => op.include_uuid = include;
        /// Include each message's actions (default no; one channel only, 25 messages a page).
        include_message_actions(include: bool) op => op.include_message_actions = include;
    }
}

impl FetchOp {
    /// One page of one channel's stored messages after `after` and before `before` (both
    /// exclusive), everything included, not decrypted: what gap fill reads.
    pub(crate) fn gap_page(channel: &str, after: u64, before: u64) -> FetchOp {
        FetchOp {
            channels: vec![channel.to_owned()],
            start: Some(before),
            end: Some(after.saturating_add(1)),
            count: Some(MAX_SINGLE_CHANNEL),
            include_meta: true,
            include_message_type: true,
            include_custom_message_type: true,
            include_uuid: true,
            include_message_actions: false,
            decrypt: false,
        }
    }

    /// The most messages per channel this request may ask for.
    fn max_count(&self) -> usize {
        if self.channels.len() > 1 || self.include_message_actions {
            MAX_MULTIPLE_CHANNELS
        } else {
            MAX_SINGLE_CHANNEL
        }
    }

    /// The page size this request asks for, after checking it.
    fn checked_count(&self) -> Result<usize, Error> {
        let max = self.max_count();
        match self.count {
            None => Ok(max),
            Some(count) if (1..=max).contains(&count) => Ok(count),
            Some(count) => Err(Error::invalid(format!(
                "count {count} is out of range: 1 to {max} for this request"
            ))),
        }
    }

    /// What this fetch asked for: what its answer's `more` may point to.
    fn asked(&self) -> Asked<'_> {
        Asked {
            channels: &self.channels,
            count: self.count.unwrap_or_else(|| self.max_count()),
            start: self.start,
            end: self.end,
        }
    }
}

impl Operation for FetchOp {
    type Output = FetchMessagesResult;
    const GROUP: Endpoint = Endpoint::History;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        check_channels(&self.channels, MAX_CHANNELS)?;
        if self.include_message_actions && self.channels.len() > 1 {
            return Err(Error::invalid(
                "message actions can be fetched for one channel at a time",
            ));
        }
        check_range(self.start, self.end)?;
        let count = self.checked_count()?;
        let template = match self.channels.as_slice() {
            [_] if self.include_message_actions => {
                "/v3/history-with-actions/sub-key/{sub}/channel/{}"
            }
            _ => "/v3/history/sub-key/{sub}/channel/{}",
        };
        let flag = |on: bool| if on { "true" } else { "false" };
        Ok(core
            .get(template, &[(&self.channels).into()])
            .param("max", count.to_string())
            .param_opt("start", self.start.map(|t| t.to_string()))
            .param_opt("end", self.end.map(|t| t.to_string()))
            .param("include_meta", flag(self.include_meta))
            .param("include_message_type", flag(self.include_message_type))
            .param(
                "include_custom_message_type",
                flag(self.include_custom_message_type),
            )
            .param("include_uuid", flag(self.include_uuid)))
    }

    fn parse(&self, core: &Core, answer: &Response) -> Result<FetchMessagesResult, Error> {
        let crypto = core.config().crypto_module().filter(|_| self.decrypt);
        parse_fetch(answer, &self.asked(), crypto)
    }
}

impl Paged for FetchOp {
    /// After each page, the channels that may have older messages are fetched again from
    /// where their page ended: one channel per request, [`count`](FetchMessages::count)
    /// messages, or the most one channel may have when no count was given.
    fn follow(&self, page: &FetchMessagesResult) -> Vec<Self> {
        let count = self.count.unwrap_or(if self.include_message_actions {
            MAX_MULTIPLE_CHANNELS
        } else {
            MAX_SINGLE_CHANNEL
        });
        page.more
            .iter()
            .map(|(channel, start)| FetchOp {
                channels: vec![channel.clone()],
                count: Some(count),
                start: Some(*start),
                ..self.clone()
            })
            .collect()
    }
}

/// The channel list of a history request: 1 to [`MAX_CHANNELS`] valid names.
fn check_channels(channels: &[String], max: usize) -> Result<(), Error> {
    if channels.is_empty() {
        return Err(Error::invalid("at least one channel is required"));
    }
    if channels.len() > max {
        return Err(Error::invalid(format!(
            "{} channels: at most {max} in one request",
            channels.len()
        )));
    }
    validate::names("channel", channels)
}

/// A range: each bound a 17-digit timetoken, and `start` (newer, exclusive) after `end`
/// (older, inclusive) when both are given.
fn check_range(start: Option<u64>, end: Option<u64>) -> Result<(), Error> {
    for tt in [start, end].into_iter().flatten() {
        validate::timetoken(tt)?;
    }
    match (start, end) {
        (Some(start), Some(end)) if start <= end => Err(Error::invalid(format!(
            "start {start} must be newer than end {end}: start is the newer, exclusive bound"
        ))),
        _ => Ok(()),
    }
}

/// What a fetch asked for: what its answer's `more` may point to.
struct Asked<'a> {
    channels: &'a [String],
    count: usize,
    start: Option<u64>,
    end: Option<u64>,
}

impl Asked<'_> {
    /// Where a channel's next page starts, if its range has more: `service` (the answer's
    /// own `more.start`, trusted only when one channel was asked for: it is not per channel)
    /// or, after a full page, the oldest timetoken read. Only a start strictly older than this
    /// request's and newer than `end` continues the range; anything else (a server that
    /// repeats itself, a page that ended exactly at `end`) ends it.
    fn next_start(
        &self,
        channel: &str,
        oldest: Option<u64>,
        read: usize,
        service: Option<u64>,
    ) -> Option<u64> {
        if !self.channels.iter().any(|c| c == channel) {
            return None;
        }
        let service = service.filter(|_| self.channels.len() == 1);
        let next = service.or(oldest.filter(|_| read >= self.count))?;
        let newer_than_end = self.end.is_none_or(|end| next > end);
        let older_than_start = self.start.is_none_or(|start| next < start);
        (newer_than_end && older_than_start).then_some(next)
    }
}

/// Parses a fetch answer: `{"channels":{"ch":[{…}]},"more":{…}}`.
fn parse_fetch(
    answer: &Response,
    asked: &Asked<'_>,
    crypto: Option<&crate::crypto::CryptoModule>,
) -> Result<FetchMessagesResult, Error> {
    let json = response::check(answer)?;
    // An empty range: the service may leave `channels` out.
    let Some(channels) = response::object(&json, "channels", "history response")? else {
        return Ok(FetchMessagesResult::default());
    };
    let service_more = json
        .pointer("/more/start")
        .and_then(response::timetoken)
        .filter(|tt| *tt > 0);
    let mut result = FetchMessagesResult::default();
    for (channel, items) in channels {
        let Value::Array(items) = items else {
            return Err(Error::decode(format!(
                "history response: channel {channel:?} is not a list"
            )));
        };
        let mut messages = Vec::with_capacity(items.len());
        for item in items {
            messages.push(history_message(item, crypto)?);
        }
        messages.sort_by_key(|m| m.timetoken);
        let oldest = messages.first().map(|m| m.timetoken);
        if let Some(start) = asked.next_start(channel, oldest, messages.len(), service_more) {
            result.more.insert(channel.clone(), start);
        }
        result.channels.insert(channel.clone(), messages);
    }
    Ok(result)
}

fn history_message(
    item: &Value,
    crypto: Option<&crate::crypto::CryptoModule>,
) -> Result<HistoryMessage, Error> {
    let bad = |what: &str| Error::decode(format!("history message: {what}"));
    let timetoken = item
        .get("timetoken")
        .and_then(response::timetoken)
        .ok_or_else(|| bad("no valid timetoken"))?;
    let raw = item.get("message").ok_or_else(|| bad("no message"))?;
    let stored = Payload::from(raw.clone());
    let (message, error) = match crypto {
        Some(crypto) => match crypto.decrypt_payload(&stored) {
            Ok(plain) => (plain, None),
            Err(error) => (stored, Some(error.reason())),
        },
        None => (stored, None),
    };
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let message_type = match item.get("message_type") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_u64()
                .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad("message_type is not a number"))?,
        ),
    };
    let meta = match item.get("meta") {
        None | Some(Value::Null) => None,
        // The service stores "" when a message had no meta.
        Some(Value::String(s)) if s.is_empty() => None,
        Some(meta) => Some(meta.clone()),
    };
    Ok(HistoryMessage {
        timetoken,
        message,
        meta,
        message_type,
        custom_message_type: text("custom_message_type"),
        publisher: text("uuid"),
        actions: actions(item.get("actions")).ok_or_else(|| bad("malformed actions"))?,
        error,
    })
}

/// `{"reaction":{"smile":[{"uuid":"u","actionTimetoken":"…"}]}}`.
fn actions(value: Option<&Value>) -> Option<BTreeMap<String, BTreeMap<String, Vec<ActionRef>>>> {
    let mut out = BTreeMap::new();
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Some(out);
    };
    for (kind, values) in value.as_object()? {
        let mut by_value = BTreeMap::new();
        for (value, refs) in values.as_object()? {
            let refs = refs
                .as_array()?
                .iter()
                .map(|r| {
                    Some(ActionRef {
                        user_id: r.get("uuid")?.as_str()?.to_owned(),
                        action_timetoken: response::timetoken(r.get("actionTimetoken")?)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            by_value.insert(value.clone(), refs);
        }
        out.insert(kind.clone(), by_value);
    }
    Some(out)
}

/// The message-counts endpoint.
#[derive(Debug, Clone, Default)]
pub struct CountsOp {
    channels: Vec<String>,
    timetokens: Vec<u64>,
}

impl RequestBuilder<CountsOp> {
    setters! {
        /// The channels (at least one, at most [`MAX_COUNT_CHANNELS`]).
        channels(channels: impl IntoIterator<Item = impl Into<String>>) op =>
            op.channels = channels.into_iter().map(Into::into).collect();
        /// Count the messages newer than this timetoken, in every channel.
        timetoken(timetoken: u64) op => op.timetokens = vec![timetoken];
        /// One timetoken per channel, in the order of the channels.
        channels_timetoken(timetokens: impl IntoIterator<Item = u64>) op =>
            op.timetokens = timetokens.into_iter().collect();
    }
}

impl Operation for CountsOp {
    type Output = BTreeMap<String, u64>;
    const GROUP: Endpoint = Endpoint::History;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        check_channels(&self.channels, MAX_COUNT_CHANNELS)?;
        match self.timetokens.len() {
            0 => return Err(Error::invalid("a timetoken is required")),
            1 => {}
            n if n == self.channels.len() => {}
            n => {
                return Err(Error::invalid(format!(
                    "{n} timetokens for {} channels: give one, or one per channel",
                    self.channels.len()
                )))
            }
        }
        for tt in &self.timetokens {
            validate::timetoken(*tt)?;
        }
        let list: Vec<String> = self.timetokens.iter().map(u64::to_string).collect();
        let param = if list.len() == 1 {
            "timetoken"
        } else {
            "channelsTimetoken"
        };
        let template = "/v3/history/sub-key/{sub}/message-counts/{}";
        Ok(core
            .get(template, &[(&self.channels).into()])
            .param(param, list.join(",")))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<BTreeMap<String, u64>, Error> {
        response::field(answer, "/channels", "message counts")
    }
}

/// The endpoint that deletes stored messages.
#[derive(Debug, Clone, Default)]
pub struct DeleteOp {
    channel: String,
    start: Option<u64>,
    end: Option<u64>,
}

impl RequestBuilder<DeleteOp> {
    setters! {
        /// The exclusive bound of the range: the message published at `start` is kept. Alone,
        /// every message older than it is deleted. With [`end`](Self::end), in either order
        /// (as the service takes them), every message between the two: to delete the one
        /// message published at `T`, give `start(T - 1)` and `end(T)`, as PubNub's docs do.
        start(timetoken: u64) op => op.start = Some(timetoken);
        /// The inclusive bound of the range: the message published at `end` is deleted. Alone,
        /// every message from `end` to now is deleted.
        end(timetoken: u64) op => op.end = Some(timetoken);
        /// The channel (required).
        channel(channel: impl Into<String>) op => op.channel = channel.into();
    }
}

impl Operation for DeleteOp {
    type Output = ();
    const GROUP: Endpoint = Endpoint::History;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        validate::name("channel", &self.channel)?;
        for tt in [self.start, self.end].into_iter().flatten() {
            validate::timetoken(tt)?;
        }
        if let (Some(start), Some(end)) = (self.start, self.end) {
            if start == end {
                return Err(Error::invalid(format!(
                    "start and end are both {start}: the range is empty, nothing would be \
                     deleted (to delete the message published at T, give start T - 1 and end T)"
                )));
            }
        }
        if core.config().secret().is_none() && core.auth().is_none() {
            return Err(Error::invalid(
                "deleting messages needs the secret key, or a token that grants delete",
            ));
        }
        let template = "/v3/history/sub-key/{sub}/channel/{}";
        Ok(core
            .endpoint(Method::Delete, template, &[(&self.channel).into()])
            .param_opt("start", self.start.map(|t| t.to_string()))
            .param_opt("end", self.end.map(|t| t.to_string())))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<(), Error> {
        response::ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Response {
        Response::new(200, body.to_owned())
    }

    /// A fetch of `channels`, `count` per channel, over the whole range.
    fn all(channels: &[String], count: usize) -> Asked<'_> {
        Asked {
            channels,
            count,
            start: None,
            end: None,
        }
    }

    #[test]
    fn more_continues_a_range_only_older_and_within_it() {
        const T: u64 = 17_000_000_000_000_000;
        let one = ["a".to_owned()];
        let two = ["a".to_owned(), "b".to_owned()];
        let ask = |channels, start, end| Asked {
            channels,
            count: 2,
            start,
            end,
        };
        // A full page continues from its oldest message; a short one ends the range.
        assert_eq!(
            ask(&one, None, None).next_start("a", Some(T + 5), 2, None),
            Some(T + 5)
        );
        assert_eq!(
            ask(&one, None, None).next_start("a", Some(T + 5), 1, None),
            None
        );
        // The service's own `more` counts even on a short page (history with actions cuts
        // pages short), but only when one channel was asked for.
        assert_eq!(
            ask(&one, None, None).next_start("a", Some(T + 5), 1, Some(T + 4)),
            Some(T + 4)
        );
        assert_eq!(
            ask(&two, None, None).next_start("a", Some(T + 5), 2, Some(T + 1)),
            Some(T + 5)
        );
        assert_eq!(
            ask(&two, None, None).next_start("b", Some(T + 5), 1, Some(T + 1)),
            None
        );
        // Never a channel that was not asked for.
        assert_eq!(
            ask(&one, None, None).next_start("x", Some(T + 5), 2, None),
            None
        );
        // Never the same start again, nor a newer one: a server that repeats itself ends the
        // walk instead of looping.
        assert_eq!(
            ask(&one, Some(T + 5), None).next_start("a", Some(T + 5), 2, None),
            None
        );
        assert_eq!(
            ask(&one, Some(T + 5), None).next_start("a", Some(T + 3), 2, Some(T + 9)),
            None
        );
        // A page that ended exactly at `end` (inclusive) finished the range.
        assert_eq!(
            ask(&one, Some(T + 9), Some(T + 5)).next_start("a", Some(T + 5), 2, None),
            None
        );
        assert_eq!(
            ask(&one, Some(T + 9), Some(T + 5)).next_start("a", Some(T + 6), 2, None),
            Some(T + 6)
        );
    }

    #[test]
    fn ranges() {
        let (old, new) = (17_000_000_000_000_000, 17_000_000_000_000_001);
        let table = [
            (None, None, true),
            (Some(new), None, true),
            (None, Some(old), true),
            (Some(new), Some(old), true),
            (Some(old), Some(new), false),
            (Some(old), Some(old), false),
            (Some(5), None, false),
        ];
        for (start, end, ok) in table {
            assert_eq!(check_range(start, end).is_ok(), ok, "{start:?} {end:?}");
        }
    }

    #[test]
    fn a_page_is_parsed_oldest_first_and_a_full_one_has_more() {
        let body = r#"{"status":200,"error":false,"error_message":"","channels":{
            "a":[{"message":{"n":2},"timetoken":"17000000000000002","uuid":"u","message_type":null,"meta":""},
                 {"message":{"n":1},"timetoken":"17000000000000001","uuid":"u","message_type":0,"meta":{"k":1}}],
            "b":[{"message":"x","timetoken":17000000000000005,"custom_message_type":"chat-msg",
                  "actions":{"reaction":{"smile":[{"uuid":"v","actionTimetoken":"17000000000000009"}]}}}]}}"#;
        let asked = ["a".to_owned(), "b".to_owned()];
        let page = parse_fetch(&answer(body), &all(&asked, 2), None).unwrap();
        let a = &page.channels["a"];
        assert_eq!(a[0].timetoken, 17_000_000_000_000_001);
        assert_eq!(a[0].meta, Some(serde_json::json!({"k":1})));
        assert_eq!(a[0].message_type, Some(0));
        assert_eq!(a[1].meta, None);
        assert_eq!(a[1].publisher.as_deref(), Some("u"));
        let b = &page.channels["b"][0];
        assert_eq!(b.custom_message_type.as_deref(), Some("chat-msg"));
        assert_eq!(
            b.actions["reaction"]["smile"][0].action_timetoken,
            17_000_000_000_000_009
        );
        assert_eq!(
            page.more,
            BTreeMap::from([("a".to_owned(), 17_000_000_000_000_001)])
        );
    }

    #[test]
    fn hostile_answers_are_errors() {
        let a = ["a".to_owned()];
        for body in [
            r#"{"channels":[]}"#,
            r#"{"channels":{"a":{}}}"#,
            r#"{"channels":{"a":[{"message":1}]}}"#,
            r#"{"channels":{"a":[{"timetoken":"x","message":1}]}}"#,
            r#"{"channels":{"a":[{"timetoken":"17000000000000001"}]}}"#,
            r#"{"channels":{"a":[{"timetoken":"17000000000000001","message":1,"actions":[]}]}}"#,
            r#"{"channels":{"a":[{"timetoken":"17000000000000001","message":1,"message_type":"x"}]}}"#,
            "not json",
        ] {
            assert!(
                parse_fetch(&answer(body), &all(&a, 25), None).is_err(),
                "{body}"
            );
        }
        assert_eq!(
            parse_fetch(
                &answer(r#"{"status":200,"channels":{}}"#),
                &all(&a, 25),
                None
            )
            .unwrap(),
            FetchMessagesResult::default()
        );
    }
}

//! Message actions (PROTOCOL.md §18): reactions, receipts and other small annotations stored
//! with a message. Adding or removing one is also delivered to the channel's subscribers
//! ([`Listener::on_message_action`](crate::Listener::on_message_action)).
//!
//! ```no_run
//! # async fn run(pubnub: pubnub_engine::PubNub, message_tt: u64) -> Result<(), pubnub_engine::Error> {
//! let added = pubnub
//!     .add_message_action()
//!     .channel("chat")
//!     .message_timetoken(message_tt)
//!     .action_type("reaction")
//!     .value("smiley_face")
//!     .await?;
//! pubnub
//!     .remove_message_action()
//!     .channel("chat")
//!     .message_timetoken(message_tt)
//!     .action_timetoken(added.action_timetoken)
//!     .await?;
//! # Ok(()) }
//! ```

use std::pin::Pin;

use futures_util::Stream;
use serde_json::Value;

use crate::client::{into_future, PubNub};
use crate::error::Error;
use crate::retry::Endpoint;
use crate::transport::{encode, response, Method, Request, Response};
use crate::validate;

/// Most actions in one [`GetMessageActions`] answer.
pub const MAX_ACTIONS_PER_PAGE: usize = 100;

/// A stored message action.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageActionItem {
    /// The action's type, e.g. `reaction`.
    pub action_type: String,
    /// The action's value, e.g. `smiley_face`.
    pub value: String,
    /// The user id that added it.
    pub uuid: String,
    /// When it was added.
    pub action_timetoken: u64,
    /// The message it belongs to.
    pub message_timetoken: u64,
}

/// The answer of [`GetMessageActions`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GetMessageActionsResult {
    /// The actions, oldest first.
    pub actions: Vec<MessageActionItem>,
    /// Where the next (older) page starts, when the service says there is one: pass it to
    /// [`GetMessageActions::start`].
    pub more: Option<u64>,
}

/// `/v1/message-actions/{sub}/channel/{channel}` followed by `rest`.
fn request(pubnub: &PubNub, method: Method, channel: &str, rest: &str) -> Request {
    let core = pubnub.core();
    let path = format!(
        "/v1/message-actions/{}/channel/{}{rest}",
        core.sub_key_segment(),
        encode::encode(channel)
    );
    core.request(method, path)
}

fn check_message(channel: &str, message_timetoken: Option<u64>) -> Result<u64, Error> {
    validate::publish_channel(channel)?;
    let tt = message_timetoken.ok_or_else(|| Error::invalid("message_timetoken is required"))?;
    validate::timetoken(tt)?;
    Ok(tt)
}

fn item(value: &Value) -> Result<MessageActionItem, Error> {
    let bad = || Error::decode(format!("unexpected message action: {}", short(value)));
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let tt = |key: &str| value.get(key).and_then(response::timetoken);
    Ok(MessageActionItem {
        action_type: text("type").ok_or_else(bad)?,
        value: text("value").ok_or_else(bad)?,
        uuid: text("uuid").unwrap_or_default(),
        action_timetoken: tt("actionTimetoken").ok_or_else(bad)?,
        message_timetoken: tt("messageTimetoken").ok_or_else(bad)?,
    })
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Adds an action to a message; `.await` it. Created by [`PubNub::add_message_action`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct AddMessageAction {
    pubnub: PubNub,
    channel: String,
    message_timetoken: Option<u64>,
    action_type: String,
    value: String,
    retry: bool,
}

impl AddMessageAction {
    /// The message's channel (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The message's timetoken (required).
    pub fn message_timetoken(mut self, timetoken: u64) -> Self {
        self.message_timetoken = Some(timetoken);
        self
    }

    /// The action's type, e.g. `reaction` (required, at most 15 characters).
    pub fn action_type(mut self, action_type: impl Into<String>) -> Self {
        self.action_type = action_type.into();
        self
    }

    /// The action's value, e.g. `smiley_face` (required).
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = value.into();
        self
    }

    /// Retry transient failures with the client's retry configuration (default: no). A
    /// retried add whose first attempt was stored answers 409 (already added).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<MessageActionItem, Error> {
        let tt = check_message(&self.channel, self.message_timetoken)?;
        if self.action_type.is_empty() || self.action_type.chars().count() > 15 {
            return Err(Error::invalid("the action type must be 1 to 15 characters"));
        }
        if self.value.is_empty() {
            return Err(Error::invalid("the action value is empty"));
        }
        let body = serde_json::json!({"type": self.action_type, "value": self.value});
        let mut request = request(
            &self.pubnub,
            Method::Post,
            &self.channel,
            &format!("/message/{tt}"),
        );
        request.body = Some(body.to_string().into_bytes());
        self.pubnub
            .core()
            .execute(Endpoint::MessageActions, request, self.retry, |answer| {
                let json = response::check(answer)?;
                item(json.get("data").unwrap_or(&Value::Null))
            })
            .await
    }
}
into_future!(AddMessageAction, MessageActionItem);

/// Removes an action from a message; `.await` it. Created by
/// [`PubNub::remove_message_action`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct RemoveMessageAction {
    pubnub: PubNub,
    channel: String,
    message_timetoken: Option<u64>,
    action_timetoken: Option<u64>,
    retry: bool,
}

impl RemoveMessageAction {
    /// The message's channel (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The message's timetoken (required).
    pub fn message_timetoken(mut self, timetoken: u64) -> Self {
        self.message_timetoken = Some(timetoken);
        self
    }

    /// The action's timetoken (required).
    pub fn action_timetoken(mut self, timetoken: u64) -> Self {
        self.action_timetoken = Some(timetoken);
        self
    }

    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<(), Error> {
        let tt = check_message(&self.channel, self.message_timetoken)?;
        let action = self
            .action_timetoken
            .ok_or_else(|| Error::invalid("action_timetoken is required"))?;
        validate::timetoken(action)?;
        let request = request(
            &self.pubnub,
            Method::Delete,
            &self.channel,
            &format!("/message/{tt}/action/{action}"),
        );
        self.pubnub
            .core()
            .execute(Endpoint::MessageActions, request, self.retry, |answer| {
                response::check(answer).map(drop)
            })
            .await
    }
}
into_future!(RemoveMessageAction, ());

/// Lists the actions of a channel's messages, newest page first; `.await` it for one page, or
/// walk them all with [`GetMessageActions::pages`]. Created by
/// [`PubNub::get_message_actions`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct GetMessageActions {
    pubnub: PubNub,
    channel: String,
    start: Option<u64>,
    end: Option<u64>,
    limit: Option<usize>,
    retry: bool,
}

impl GetMessageActions {
    /// The channel (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// Actions older than this timetoken (exclusive).
    pub fn start(mut self, timetoken: u64) -> Self {
        self.start = Some(timetoken);
        self
    }

    /// Actions from this timetoken on (inclusive).
    pub fn end(mut self, timetoken: u64) -> Self {
        self.end = Some(timetoken);
        self
    }

    /// Most actions in the answer: 1 to 100 (default 100).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<GetMessageActionsResult, Error> {
        validate::publish_channel(&self.channel)?;
        for tt in [self.start, self.end].into_iter().flatten() {
            validate::timetoken(tt)?;
        }
        if let (Some(start), Some(end)) = (self.start, self.end) {
            if start <= end {
                return Err(Error::invalid(format!(
                    "start {start} must be newer than end {end}"
                )));
            }
        }
        let limit = self.limit.unwrap_or(MAX_ACTIONS_PER_PAGE);
        if !(1..=MAX_ACTIONS_PER_PAGE).contains(&limit) {
            return Err(Error::invalid(format!(
                "limit {limit} is out of range: 1 to {MAX_ACTIONS_PER_PAGE}"
            )));
        }
        let request = request(&self.pubnub, Method::Get, &self.channel, "")
            .param_opt("start", self.start.map(|t| t.to_string()))
            .param_opt("end", self.end.map(|t| t.to_string()))
            .param("limit", limit.to_string());
        self.pubnub
            .core()
            .execute(Endpoint::MessageActions, request, self.retry, parse_list)
            .await
    }

    /// Every page, newest first, until the service says there is no more (or a page comes
    /// back empty). Stops after the first error.
    pub fn pages(
        self,
    ) -> Pin<Box<dyn Stream<Item = Result<GetMessageActionsResult, Error>> + Send>> {
        Box::pin(futures_util::stream::unfold(
            Some(self),
            |next| async move {
                let next = next?;
                let template = next.clone();
                match next.send().await {
                    Ok(page) => {
                        // Only a start older than this page's and newer than `end` moves
                        // the walk on: a server that repeats itself cannot make it endless.
                        let following = match page.more {
                            Some(start)
                                if !page.actions.is_empty()
                                    && template.start.is_none_or(|current| start < current)
                                    && template.end.is_none_or(|end| start > end) =>
                            {
                                Some(template.start(start))
                            }
                            _ => None,
                        };
                        Some((Ok(page), following))
                    }
                    Err(error) => Some((Err(error), None)),
                }
            },
        ))
    }
}
into_future!(GetMessageActions, GetMessageActionsResult);

fn parse_list(answer: &Response) -> Result<GetMessageActionsResult, Error> {
    let json = response::check(answer)?;
    let list = match json.get("data") {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => return Ok(GetMessageActionsResult::default()),
        Some(_) => {
            return Err(Error::decode(
                "message actions response: `data` is not a list",
            ))
        }
    };
    let mut actions = list.iter().map(item).collect::<Result<Vec<_>, _>>()?;
    actions.sort_by_key(|a| a.action_timetoken);
    let more = json.pointer("/more/start").and_then(response::timetoken);
    Ok(GetMessageActionsResult { actions, more })
}

impl PubNub {
    /// Adds an action (a reaction, a receipt…) to a stored message.
    pub fn add_message_action(&self) -> AddMessageAction {
        AddMessageAction {
            pubnub: self.clone(),
            channel: String::new(),
            message_timetoken: None,
            action_type: String::new(),
            value: String::new(),
            retry: false,
        }
    }

    /// Removes an action from a message.
    pub fn remove_message_action(&self) -> RemoveMessageAction {
        RemoveMessageAction {
            pubnub: self.clone(),
            channel: String::new(),
            message_timetoken: None,
            action_timetoken: None,
            retry: false,
        }
    }

    /// Lists the actions of a channel's messages.
    pub fn get_message_actions(&self) -> GetMessageActions {
        GetMessageActions {
            pubnub: self.clone(),
            channel: String::new(),
            start: None,
            end: None,
            limit: None,
            retry: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_parsed_oldest_first_with_its_more() {
        let body = r#"{"status":200,"data":[
            {"type":"r","value":"b","uuid":"u","actionTimetoken":"17000000000000003","messageTimetoken":"17000000000000001"},
            {"type":"r","value":"a","uuid":"u","actionTimetoken":"17000000000000002","messageTimetoken":"17000000000000001"}],
            "more":{"url":"/v1/…","start":"17000000000000002","end":"17000000000000000","limit":2}}"#;
        let page = parse_list(&Response::new(200, body.to_owned())).unwrap();
        assert_eq!(page.actions[0].value, "a");
        assert_eq!(page.more, Some(17_000_000_000_000_002));
        for bad in [
            r#"{"data":{}}"#,
            r#"{"data":[{"type":"r"}]}"#,
            r#"{"data":[{"type":"r","value":"a","actionTimetoken":"x","messageTimetoken":"1"}]}"#,
        ] {
            assert!(
                parse_list(&Response::new(200, bad.to_owned())).is_err(),
                "{bad}"
            );
        }
    }
}

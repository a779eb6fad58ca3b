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

use serde_json::Value;

use crate::error::Error;
use crate::request::{setters, Operation, Paged, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{response, Method, Request, Response};
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
    pub user_id: String,
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
    /// the builder's `start`.
    pub more: Option<u64>,
}

/// Adds an action to a message; `.await` it. Created by
/// [`PubNub::add_message_action`](crate::PubNub::add_message_action). A retried add whose
/// first attempt was stored answers 409 (already added).
pub type AddMessageAction = RequestBuilder<ActionOp<AddAction>>;
/// Removes an action from a message; `.await` it. Created by
/// [`PubNub::remove_message_action`](crate::PubNub::remove_message_action).
pub type RemoveMessageAction = RequestBuilder<ActionOp<RemoveAction>>;
/// Lists the actions of a channel's messages, newest page first; `.await` it for one page, or
/// walk them all with `pages()`. Created by
/// [`PubNub::get_message_actions`](crate::PubNub::get_message_actions).
pub type GetMessageActions = RequestBuilder<GetActionsOp>;

/// The endpoints about one message's actions: `T` says which.
#[derive(Debug, Clone, Default)]
pub struct ActionOp<T> {
    channel: String,
    message_timetoken: Option<u64>,
    call: T,
}

/// Adds an action.
#[derive(Debug, Clone, Default)]
pub struct AddAction {
    action_type: String,
    value: String,
}

/// Removes an action.
#[derive(Debug, Clone, Default)]
pub struct RemoveAction {
    action_timetoken: Option<u64>,
}

impl<T> ActionOp<T> {
    /// The channel, checked, and the message's timetoken as a path segment.
    fn target(&self) -> Result<String, Error> {
        validate::publish_channel(&self.channel)?;
        let tt = self
            .message_timetoken
            .ok_or_else(|| Error::invalid("message_timetoken is required"))?;
        validate::timetoken(tt)?;
        Ok(tt.to_string())
    }
}

impl<T> RequestBuilder<ActionOp<T>> {
    setters! {
        /// The message's channel (required).
        channel(channel: impl Into<String>) op => op.channel = channel.into();
        /// The message's timetoken (required).
        message_timetoken(timetoken: u64) op => op.message_timetoken = Some(timetoken);
    }
}

impl RequestBuilder<ActionOp<AddAction>> {
    setters! {
        /// The action's type, e.g. `reaction` (required, at most 15 characters).
        action_type(action_type: impl Into<String>) op => op.call.action_type = action_type.into();
        /// The action's value, e.g. `smiley_face` (required).
        value(value: impl Into<String>) op => op.call.value = value.into();
    }
}

impl RequestBuilder<ActionOp<RemoveAction>> {
    setters! {
        /// The action's timetoken (required).
        action_timetoken(timetoken: u64) op => op.call.action_timetoken = Some(timetoken);
    }
}

impl Operation for ActionOp<AddAction> {
    type Output = MessageActionItem;
    const GROUP: Endpoint = Endpoint::MessageActions;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let tt = self.target()?;
        let AddAction { action_type, value } = &self.call;
        if action_type.is_empty() || action_type.chars().count() > 15 {
            return Err(Error::invalid("the action type must be 1 to 15 characters"));
        }
        if value.is_empty() {
            return Err(Error::invalid("the action value is empty"));
        }
        let body = serde_json::json!({"type": action_type, "value": value});
        let template = "/v1/message-actions/{sub}/channel/{}/message/{}";
        let segments = [(&self.channel).into(), tt.as_str().into()];
        let mut request = core.endpoint(Method::Post, template, &segments);
        request.body = Some(body.to_string().into());
        Ok(request)
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<MessageActionItem, Error> {
        let json = response::check(answer)?;
        item(json.get("data").unwrap_or(&Value::Null))
    }
}

impl Operation for ActionOp<RemoveAction> {
    type Output = ();
    const GROUP: Endpoint = Endpoint::MessageActions;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let tt = self.target()?;
        let action = self
            .call
            .action_timetoken
            .ok_or_else(|| Error::invalid("action_timetoken is required"))?;
        validate::timetoken(action)?;
        let action = action.to_string();
        let template = "/v1/message-actions/{sub}/channel/{}/message/{}/action/{}";
        let segments = [
            (&self.channel).into(),
            tt.as_str().into(),
            action.as_str().into(),
        ];
        Ok(core.endpoint(Method::Delete, template, &segments))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<(), Error> {
        response::ok(answer)
    }
}

/// The endpoint that lists actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GetActionsOp {
    channel: String,
    start: Option<u64>,
    end: Option<u64>,
    limit: Option<usize>,
}

impl RequestBuilder<GetActionsOp> {
    setters! {
        /// The channel (required).
        channel(channel: impl Into<String>) op => op.channel = channel.into();
        /// Actions older than this timetoken (exclusive).
        start(timetoken: u64) op => op.start = Some(timetoken);
        /// Actions from this timetoken on (inclusive).
        end(timetoken: u64) op => op.end = Some(timetoken);
        /// Most actions in the answer: 1 to 100 (default 100).
        limit(limit: usize) op => op.limit = Some(limit);
    }
}

impl Operation for GetActionsOp {
    type Output = GetMessageActionsResult;
    const GROUP: Endpoint = Endpoint::MessageActions;

    fn request(&self, core: &Core) -> Result<Request, Error> {
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
        Ok(core
            .get(
                "/v1/message-actions/{sub}/channel/{}",
                &[(&self.channel).into()],
            )
            .param_opt("start", self.start.map(|t| t.to_string()))
            .param_opt("end", self.end.map(|t| t.to_string()))
            .param("limit", limit.to_string()))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<GetMessageActionsResult, Error> {
        parse_list(answer)
    }
}

impl Paged for GetActionsOp {
    /// Newest page first, until the service says there is no more (or a page comes back
    /// empty). Only a start older than this page's and newer than `end` moves the walk on.
    fn follow(&self, page: &GetMessageActionsResult) -> Vec<Self> {
        match page.more {
            Some(start)
                if !page.actions.is_empty()
                    && self.start.is_none_or(|current| start < current)
                    && self.end.is_none_or(|end| start > end) =>
            {
                vec![GetActionsOp {
                    start: Some(start),
                    ..self.clone()
                }]
            }
            _ => Vec::new(),
        }
    }
}

fn item(value: &Value) -> Result<MessageActionItem, Error> {
    let bad = || {
        Error::decode(format!(
            "unexpected message action: {}",
            response::short(value)
        ))
    };
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let tt = |key: &str| value.get(key).and_then(response::timetoken);
    Ok(MessageActionItem {
        action_type: text("type").ok_or_else(bad)?,
        value: text("value").ok_or_else(bad)?,
        user_id: text("uuid").unwrap_or_default(),
        action_timetoken: tt("actionTimetoken").ok_or_else(bad)?,
        message_timetoken: tt("messageTimetoken").ok_or_else(bad)?,
    })
}

fn parse_list(answer: &Response) -> Result<GetMessageActionsResult, Error> {
    let json = response::check(answer)?;
    let Some(list) = response::array(&json, "data", "message actions response")? else {
        return Ok(GetMessageActionsResult::default());
    };
    let mut actions = list.iter().map(item).collect::<Result<Vec<_>, _>>()?;
    actions.sort_by_key(|a| a.action_timetoken);
    let more = json.pointer("/more/start").and_then(response::timetoken);
    Ok(GetMessageActionsResult { actions, more })
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

//! The presence REST requests (PROTOCOL.md §6): here now, where now, set and get state,
//! heartbeat and leave. Heartbeat and leave also exist as crate functions on an [`Input`], for
//! the presence engine's effects and the subscription manager.

mod here_now;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::client::{into_future, PubNub};
use crate::engine::Input;
use crate::error::Error;
use crate::presence::wire::{
    channel_request, execute_ok, group_param, heartbeat_request, leave_request,
};
use crate::retry::Endpoint;
use crate::transport::{encode, response, Method};
use crate::validate;

pub use here_now::{ChannelOccupancy, HereNow, HereNowResult, Occupant};

/// Builder arguments: channels and groups, checked and non-empty.
fn checked_names(what: &str, channels: &[String], groups: &[String]) -> Result<(), Error> {
    if channels.is_empty() && groups.is_empty() {
        return Err(Error::invalid(format!(
            "{what} needs at least one channel or group"
        )));
    }
    validate::names("channel", channels)?;
    validate::names("channel group", groups)
}

/// Setters for channel and group lists, shared by the builders below.
macro_rules! names_setters {
    () => {
        /// The channels.
        pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
            self.channels = channels.into_iter().map(Into::into).collect();
            self
        }

        /// The channel groups.
        pub fn channel_groups<I: IntoIterator<Item = S>, S: Into<String>>(
            mut self,
            groups: I,
        ) -> Self {
            self.groups = groups.into_iter().map(Into::into).collect();
            self
        }

        /// Retry transient failures with the client's retry configuration (default: no).
        pub fn retry(mut self, retry: bool) -> Self {
            self.retry = retry;
            self
        }
    };
}

/// The channels a user is present on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhereNowResult {
    /// The channels.
    pub channels: Vec<String>,
}

/// A where-now request; `.await` it. Created by [`PubNub::where_now`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct WhereNow {
    pubnub: PubNub,
    user_id: Option<String>,
    retry: bool,
}

impl WhereNow {
    /// The user to ask about (default: this client's user id).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<WhereNowResult, Error> {
        let core = self.pubnub.core();
        let user_id = self.user_id.as_deref().unwrap_or(self.pubnub.user_id());
        validate::user_id(user_id)?;
        let path = format!(
            "/v2/presence/sub-key/{}/uuid/{}",
            core.sub_key_segment(),
            encode::encode(user_id)
        );
        let request = core.request(Method::Get, path);
        core.execute(Endpoint::Presence, request, self.retry, |answer| {
            let mut json = response::check(answer)?;
            let channels = json
                .pointer_mut("/payload/channels")
                .map(Value::take)
                .ok_or_else(|| Error::decode("where now response has no payload.channels"))?;
            Ok(WhereNowResult {
                channels: response::decode(channels, "where now")?,
            })
        })
        .await
    }
}
into_future!(WhereNow, WhereNowResult);

/// The state the service stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SetStateResult {
    /// The state object, as the service echoed it.
    pub state: Value,
}

/// A set-state request; `.await` it. Created by [`PubNub::set_state`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct SetState {
    pubnub: PubNub,
    channels: Vec<String>,
    groups: Vec<String>,
    state: Option<Result<Value, Error>>,
    retry: bool,
}

impl SetState {
    names_setters!();

    /// The state (required): anything that serialises to a JSON object; `{}` clears it.
    pub fn state<T: Serialize + ?Sized>(mut self, state: &T) -> Self {
        self.state = Some(match serde_json::to_value(state) {
            Ok(value) if value.is_object() => Ok(value),
            Ok(_) => Err(Error::invalid("state must serialise to a JSON object")),
            Err(e) => Err(Error::invalid("state cannot be serialised to JSON").with_source(e)),
        });
        self
    }

    async fn send(self) -> Result<SetStateResult, Error> {
        checked_names("set state", &self.channels, &self.groups)?;
        let state = self
            .state
            .ok_or_else(|| Error::invalid("state is missing"))??;
        let core = self.pubnub.core();
        let rest = format!("/uuid/{}/data", encode::encode(self.pubnub.user_id()));
        let request = channel_request(core, &self.channels, &rest)
            .param("state", state.to_string())
            .param_opt("channel-group", group_param(&self.groups));
        let result = core
            .execute(Endpoint::Presence, request, self.retry, |answer| {
                let mut json = response::check(answer)?;
                let echoed = json.get_mut("payload").map(Value::take);
                Ok(SetStateResult {
                    state: echoed.unwrap_or_else(|| state.clone()),
                })
            })
            .await?;
        // Remembered only once the service accepted it: the handshake and heartbeats resend it.
        core.store_presence_state(&self.channels, &self.groups, &state);
        Ok(result)
    }
}
into_future!(SetState, SetStateResult);

/// A user's state on each channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GetStateResult {
    /// The state by channel name.
    pub channels: BTreeMap<String, Value>,
}

/// A get-state request; `.await` it. Created by [`PubNub::get_state`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct GetState {
    pubnub: PubNub,
    channels: Vec<String>,
    groups: Vec<String>,
    user_id: Option<String>,
    retry: bool,
}

impl GetState {
    names_setters!();

    /// The user to ask about (default: this client's user id).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    async fn send(self) -> Result<GetStateResult, Error> {
        checked_names("get state", &self.channels, &self.groups)?;
        let user_id = self.user_id.as_deref().unwrap_or(self.pubnub.user_id());
        validate::user_id(user_id)?;
        let core = self.pubnub.core();
        let rest = format!("/uuid/{}", encode::encode(user_id));
        let request = channel_request(core, &self.channels, &rest)
            .param_opt("channel-group", group_param(&self.groups));
        // One channel and no group: the payload is the bare state (PROTOCOL.md §6.6).
        let single = match (self.channels.as_slice(), self.groups.is_empty()) {
            ([channel], true) => Some(channel.clone()),
            _ => None,
        };
        core.execute(Endpoint::Presence, request, self.retry, |answer| {
            let mut json = response::check(answer)?;
            let payload = json
                .get_mut("payload")
                .map(Value::take)
                .ok_or_else(|| Error::decode("get state response has no payload"))?;
            let channels = match (&single, payload) {
                (Some(channel), state) => BTreeMap::from([(channel.clone(), state)]),
                (None, Value::Object(mut map)) => match map.remove("channels") {
                    Some(channels) => response::decode(channels, "get state")?,
                    None => BTreeMap::new(),
                },
                (None, _) => return Err(Error::decode("unexpected get state response")),
            };
            Ok(GetStateResult { channels })
        })
        .await
    }
}
into_future!(GetState, GetStateResult);

/// A heartbeat request; `.await` it. Created by [`PubNub::heartbeat`].
///
/// The presence engine sends heartbeats by itself when a heartbeat interval is configured;
/// this is for applications that manage presence by hand.
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct Heartbeat {
    pubnub: PubNub,
    channels: Vec<String>,
    groups: Vec<String>,
    retry: bool,
}

impl Heartbeat {
    names_setters!();

    async fn send(self) -> Result<(), Error> {
        checked_names("heartbeat", &self.channels, &self.groups)?;
        let core = self.pubnub.core();
        let request = heartbeat_request(core, &Input::new(self.channels, self.groups));
        execute_ok(core, request, self.retry).await
    }
}
into_future!(Heartbeat, ());

/// A leave request; `.await` it. Created by [`PubNub::leave`]. Sent even when
/// `suppress_leave_events` is set: that setting is about automatic leaves.
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct Leave {
    pubnub: PubNub,
    channels: Vec<String>,
    groups: Vec<String>,
    retry: bool,
}

impl Leave {
    names_setters!();

    async fn send(self) -> Result<(), Error> {
        checked_names("leave", &self.channels, &self.groups)?;
        let core = self.pubnub.core();
        let request = leave_request(core, &Input::new(self.channels, self.groups));
        execute_ok(core, request, self.retry).await
    }
}
into_future!(Leave, ());

impl PubNub {
    /// The channels a user is present on.
    pub fn where_now(&self) -> WhereNow {
        WhereNow {
            pubnub: self.clone(),
            user_id: None,
            retry: false,
        }
    }

    /// Sets this user's presence state on channels and groups. The client remembers it and
    /// sends it again with every subscribe handshake and heartbeat on those channels.
    pub fn set_state(&self) -> SetState {
        SetState {
            pubnub: self.clone(),
            channels: Vec::new(),
            groups: Vec::new(),
            state: None,
            retry: false,
        }
    }

    /// A user's presence state on channels and groups.
    pub fn get_state(&self) -> GetState {
        GetState {
            pubnub: self.clone(),
            channels: Vec::new(),
            groups: Vec::new(),
            user_id: None,
            retry: false,
        }
    }

    /// Announces this user on channels and groups for the presence timeout.
    pub fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            pubnub: self.clone(),
            channels: Vec::new(),
            groups: Vec::new(),
            retry: false,
        }
    }

    /// Tells the service this user left channels and groups.
    pub fn leave(&self) -> Leave {
        Leave {
            pubnub: self.clone(),
            channels: Vec::new(),
            groups: Vec::new(),
            retry: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::error::ErrorKind;
    use crate::presence::wire::{send_heartbeat, send_leave};
    use crate::transport::testing::Recorder;
    use crate::transport::{Request, Response};

    fn query(request: &Request) -> Vec<(&'static str, &str)> {
        let skip = ["pnsdk", "requestid", "uuid"];
        request
            .query
            .iter()
            .filter(|(k, _)| !skip.contains(k))
            .map(|(k, v)| (*k, v.as_str()))
            .collect()
    }

    #[tokio::test]
    async fn engine_heartbeat_skips_presence_names_and_sends_state() {
        let recorder = Arc::new(Recorder::default());
        let core = recorder.core(|b| b.presence_timeout(60));
        core.store_presence_state(&["a".into()], &["g".into()], &json!({"k": 1}));
        let input = Input::new(["b", "a", "a-pnpres"], ["g", "g-pnpres"]);
        send_heartbeat(&core, &input).await.unwrap();
        let requests = recorder.requests();
        assert_eq!(
            requests[0].path,
            "/v2/presence/sub-key/sub/channel/a,b/heartbeat"
        );
        assert_eq!(
            query(&requests[0]),
            [
                ("heartbeat", "60"),
                ("channel-group", "g"),
                ("state", r#"{"a":{"k":1},"g":{"k":1}}"#)
            ]
        );
    }

    #[tokio::test]
    async fn engine_heartbeat_and_leave_send_nothing_for_presence_only_inputs() {
        let recorder = Arc::new(Recorder::default());
        let core = recorder.core(|b| b);
        let input = Input::new(["a-pnpres"], ["g-pnpres"]);
        send_heartbeat(&core, &input).await.unwrap();
        send_leave(&core, &input).await.unwrap();
        send_leave(&core, &Input::default()).await.unwrap();
        assert!(recorder.requests().is_empty());
    }

    #[tokio::test]
    async fn engine_leave_honours_suppress_leave_events() {
        let recorder = Arc::new(Recorder::default());
        let core = recorder.core(|b| b);
        send_leave(&core, &Input::new(["x", "x-pnpres"], ["g"]))
            .await
            .unwrap();
        let requests = recorder.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].path, "/v2/presence/sub-key/sub/channel/x/leave");
        assert_eq!(query(&requests[0]), [("channel-group", "g")]);

        let recorder = Arc::new(Recorder::default());
        let core = recorder.core(|b| b.suppress_leave_events(true));
        send_leave(&core, &Input::channels(["x"])).await.unwrap();
        assert!(recorder.requests().is_empty());
    }

    #[tokio::test]
    async fn engine_heartbeat_failures_are_typed_and_not_retried() {
        let recorder = Arc::new(Recorder::default());
        let core = recorder.core(|b| b);
        recorder.push(Ok(Response::new(
            403,
            r#"{"message":"Forbidden","payload":{"channels":["a"]},"error":true,"status":403}"#,
        )));
        let error = send_heartbeat(&core, &Input::channels(["a"]))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AccessDenied);
        assert_eq!(error.reason().status, Some(403));
        recorder.push(Ok(Response::new(500, "")));
        let error = send_heartbeat(&core, &Input::channels(["a"]))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Http { status: 500 });
        assert_eq!(recorder.requests().len(), 2);
    }
}

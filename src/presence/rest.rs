//! The presence REST requests (PROTOCOL.md §6): here now, where now, set and get state,
//! heartbeat and leave. Heartbeat and leave are also what the presence engine's effects and
//! the subscription manager send.

mod here_now;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::engine::Input;
use crate::error::Error;
use crate::macros::markers;
use crate::request::{self, setters, AboutUser, Operation, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::encode::Segment;
use crate::transport::{response, Request, Response};
use crate::validate;

pub use here_now::{ChannelOccupancy, HereNowOp, HereNowResult, Occupant};

/// A here-now request; `.await` it. Created by [`PubNub::here_now`](crate::PubNub::here_now).
pub type HereNow = RequestBuilder<HereNowOp>;
/// A where-now request; `.await` it. Created by [`PubNub::where_now`](crate::PubNub::where_now).
pub type WhereNow = RequestBuilder<WhereNowOp>;
/// A set-state request; `.await` it. Created by [`PubNub::set_state`](crate::PubNub::set_state).
pub type SetState = RequestBuilder<SetStateOp>;
/// A get-state request; `.await` it. Created by [`PubNub::get_state`](crate::PubNub::get_state).
pub type GetState = RequestBuilder<GetStateOp>;
/// A heartbeat request; `.await` it. Created by [`PubNub::heartbeat`](crate::PubNub::heartbeat).
///
/// The presence engine sends heartbeats by itself when a heartbeat interval is configured;
/// this is for applications that manage presence by hand.
pub type Heartbeat = RequestBuilder<PresenceOp<HeartbeatKind>>;
/// A leave request; `.await` it. Created by [`PubNub::leave`](crate::PubNub::leave). Sent even
/// when `suppress_leave_events` is set: that setting is about automatic leaves.
pub type Leave = RequestBuilder<PresenceOp<LeaveKind>>;

/// The channels and channel groups a presence call names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Names {
    pub(crate) channels: Vec<String>,
    pub(crate) groups: Vec<String>,
}

impl Names {
    /// Checked and non-empty.
    fn required(&self, what: &str) -> Result<(), Error> {
        if self.channels.is_empty() && self.groups.is_empty() {
            return Err(Error::invalid(format!(
                "{what} needs at least one channel or group"
            )));
        }
        self.check()
    }

    /// Each name checked.
    fn check(&self) -> Result<(), Error> {
        validate::names("channel", &self.channels)?;
        validate::names("channel group", &self.groups)
    }

    /// `/v2/presence/sub-key/{sub}/channel/{names}` followed by `rest`.
    fn request(&self, core: &Core, rest: &str, segments: &[&str]) -> Request {
        let template = format!("/v2/presence/sub-key/{{sub}}/channel/{{}}{rest}");
        let mut values = vec![(&self.channels).into()];
        values.extend(segments.iter().map(|s| Segment::from(*s)));
        core.get(&template, &values)
    }

    /// The `channel-group` value, when there are groups.
    fn group_param(&self) -> Option<String> {
        (!self.groups.is_empty()).then(|| self.groups.join(","))
    }

    fn from_input(input: &Input) -> Names {
        let input = input.without_presence();
        Names {
            channels: input.channels.iter().cloned().collect(),
            groups: input.groups.iter().cloned().collect(),
        }
    }
}

mod names {
    /// The operations that name channels and groups.
    pub trait WithNames {
        fn names(&mut self) -> &mut super::Names;
    }
}
use names::WithNames;

impl<O: WithNames> RequestBuilder<O> {
    setters! {
        /// The channels.
        channels(channels: impl IntoIterator<Item = impl Into<String>>) op =>
            op.names().channels = channels.into_iter().map(Into::into).collect();
        /// The channel groups.
        channel_groups(groups: impl IntoIterator<Item = impl Into<String>>) op =>
            op.names().groups = groups.into_iter().map(Into::into).collect();
    }
}

/// Where now and get state ask about a user: the client's own unless one is given.
macro_rules! about_user {
    ($($op:ty),*) => {$(
        impl AboutUser for $op {
            fn user_id(&mut self) -> &mut Option<String> {
                &mut self.user_id
            }
        }
    )*};
}
about_user!(WhereNowOp, GetStateOp);

/// The user id of a call: the one given, else the client's own.
fn user_id_or_own<'a>(core: &'a Core, user_id: &'a Option<String>) -> Result<&'a str, Error> {
    let user_id = user_id.as_deref().unwrap_or(core.config().user_id());
    validate::user_id(user_id)?;
    Ok(user_id)
}

/// The channels a user is present on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhereNowResult {
    /// The channels.
    pub channels: Vec<String>,
}

/// The where-now endpoint.
#[derive(Debug, Clone, Default)]
pub struct WhereNowOp {
    user_id: Option<String>,
}

impl Operation for WhereNowOp {
    type Output = WhereNowResult;
    const GROUP: Endpoint = Endpoint::Presence;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let user_id = user_id_or_own(core, &self.user_id)?;
        Ok(core.get("/v2/presence/sub-key/{sub}/uuid/{}", &[user_id.into()]))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<WhereNowResult, Error> {
        Ok(WhereNowResult {
            channels: response::field(answer, "/payload/channels", "where now")?,
        })
    }
}

/// The state the service stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SetStateResult {
    /// The state object, as the service echoed it.
    pub state: Value,
}

/// The set-state endpoint.
#[derive(Debug, Default)]
pub struct SetStateOp {
    names: Names,
    state: Option<Result<Value, Error>>,
}

impl WithNames for SetStateOp {
    fn names(&mut self) -> &mut Names {
        &mut self.names
    }
}

impl RequestBuilder<SetStateOp> {
    /// The state (required): anything that serialises to a JSON object; `{}` clears it.
    pub fn state<T: Serialize + ?Sized>(mut self, state: &T) -> Self {
        self.op.state = Some(match serde_json::to_value(state) {
            Ok(value) if value.is_object() => Ok(value),
            Ok(_) => Err(Error::invalid("state must serialise to a JSON object")),
            Err(e) => Err(Error::invalid("state cannot be serialised to JSON").with_source(e)),
        });
        self
    }
}

impl SetStateOp {
    fn state(&self) -> Result<&Value, Error> {
        match &self.state {
            None => Err(Error::invalid("state is missing")),
            Some(Err(error)) => Err(error.copy()),
            Some(Ok(state)) => Ok(state),
        }
    }
}

impl Operation for SetStateOp {
    type Output = SetStateResult;
    const GROUP: Endpoint = Endpoint::Presence;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        self.names.required("set state")?;
        let state = self.state()?;
        let me = core.config().user_id();
        Ok(self
            .names
            .request(core, "/uuid/{}/data", &[me])
            .param("state", state.to_string())
            .param_opt("channel-group", self.names.group_param()))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<SetStateResult, Error> {
        let mut json = response::check(answer)?;
        let echoed = json.get_mut("payload").map(Value::take);
        Ok(SetStateResult {
            state: echoed.unwrap_or_else(|| self.state().cloned().unwrap_or_default()),
        })
    }

    /// Remembered only once the service accepted it: the handshake and heartbeats resend it.
    fn succeeded(&self, core: &Core, _: &SetStateResult) {
        if let Ok(state) = self.state() {
            core.store_presence_state(&self.names.channels, &self.names.groups, state);
        }
    }
}

/// A user's state on each channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GetStateResult {
    /// The state by channel name.
    pub channels: BTreeMap<String, Value>,
}

/// The get-state endpoint.
#[derive(Debug, Clone, Default)]
pub struct GetStateOp {
    names: Names,
    user_id: Option<String>,
}

impl WithNames for GetStateOp {
    fn names(&mut self) -> &mut Names {
        &mut self.names
    }
}

impl Operation for GetStateOp {
    type Output = GetStateResult;
    const GROUP: Endpoint = Endpoint::Presence;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        self.names.required("get state")?;
        let user_id = user_id_or_own(core, &self.user_id)?;
        Ok(self
            .names
            .request(core, "/uuid/{}", &[user_id])
            .param_opt("channel-group", self.names.group_param()))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<GetStateResult, Error> {
        let payload = response::field::<Value>(answer, "/payload", "get state")?;
        // One channel and no group: the payload is the bare state (PROTOCOL.md §6.6).
        let channels = match (
            self.names.channels.as_slice(),
            self.names.groups.is_empty(),
            payload,
        ) {
            ([channel], true, state) => BTreeMap::from([(channel.clone(), state)]),
            (_, _, Value::Object(mut map)) => match map.remove("channels") {
                Some(channels) => response::decode(channels, "get state")?,
                None => BTreeMap::new(),
            },
            _ => return Err(Error::decode("unexpected get state response")),
        };
        Ok(GetStateResult { channels })
    }
}

/// A heartbeat or a leave: `K` says which.
#[derive(Debug, Clone, Default)]
pub struct PresenceOp<K> {
    names: Names,
    kind: std::marker::PhantomData<K>,
}

markers! {
    /// Announces the user for the presence timeout.
    HeartbeatKind;
    /// Tells the service the user left.
    LeaveKind;
}

mod kind {
    /// A heartbeat or a leave.
    pub trait Kind: Send + Sync + 'static {
        const NAME: &'static str;
        const HEARTBEAT: bool;
    }
    impl Kind for super::HeartbeatKind {
        const NAME: &'static str = "heartbeat";
        const HEARTBEAT: bool = true;
    }
    impl Kind for super::LeaveKind {
        const NAME: &'static str = "leave";
        const HEARTBEAT: bool = false;
    }
}
use kind::Kind;

impl<K> WithNames for PresenceOp<K> {
    fn names(&mut self) -> &mut Names {
        &mut self.names
    }
}

impl<K: Kind> Operation for PresenceOp<K> {
    type Output = ();
    const GROUP: Endpoint = Endpoint::Presence;

    /// Sorted, each name once, presence names left out, as the engines send them.
    fn request(&self, core: &Core) -> Result<Request, Error> {
        self.names.required(K::NAME)?;
        let input = Input::new(self.names.channels.clone(), self.names.groups.clone());
        let names = Names::from_input(&input);
        let request = names.request(core, &format!("/{}", K::NAME), &[]);
        let groups = names.group_param();
        if !K::HEARTBEAT {
            return Ok(request.param_opt("channel-group", groups));
        }
        let input = input.without_presence();
        Ok(request
            .param("heartbeat", core.config().presence_timeout().to_string())
            .param_opt("channel-group", groups)
            .param_opt("state", core.presence_state_for(&input)))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<(), Error> {
        response::ok(answer)
    }
}

impl<K: Kind> PresenceOp<K> {
    /// The request for the channels and groups of `input`, presence names left out; `None`
    /// when nothing is left.
    fn for_input(input: &Input) -> Option<Self> {
        let names = Names::from_input(input);
        (!names.channels.is_empty() || !names.groups.is_empty()).then_some(PresenceOp {
            names,
            kind: std::marker::PhantomData,
        })
    }
}

/// One heartbeat for the channels and groups of `input` (presence names are skipped), with
/// the configured presence timeout and the stored state. An input with nothing left sends
/// nothing. One attempt: the presence engine decides about retries.
pub(crate) async fn send_heartbeat(core: &Core, input: &Input) -> Result<(), Error> {
    match PresenceOp::<HeartbeatKind>::for_input(input) {
        Some(op) => request::run_for_engine(core, &op, false).await,
        None => Ok(()),
    }
}

/// One leave for the channels and groups of `input` (presence names are skipped). Sends
/// nothing when the input has nothing left or `suppress_leave_events` is set.
pub(crate) async fn send_leave(core: &Core, input: &Input) -> Result<(), Error> {
    match PresenceOp::<LeaveKind>::for_input(input) {
        Some(op) if !core.config().suppress_leave_events() => {
            request::run_for_engine(core, &op, false).await
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::error::ErrorKind;
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

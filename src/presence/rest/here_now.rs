//! Here now (PROTOCOL.md §6.3): who is on which channel. One request shape, two answer shapes
//! (a flat body for one channel, a `payload` body otherwise), one typed result.

use std::collections::BTreeMap;
use std::future::IntoFuture;

use serde::Deserialize;
use serde_json::Value;

use crate::client::{PubNub, RequestFuture};
use crate::error::Error;
use crate::retry::Endpoint;
use crate::transport::{encode, response, Method};
use crate::validate;

/// The answer to [`PubNub::here_now`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HereNowResult {
    /// How many channels have someone on them.
    pub total_channels: u32,
    /// How many users are present, over all channels.
    pub total_occupancy: u32,
    /// The channels with their occupants, sorted by name.
    pub channels: Vec<ChannelOccupancy>,
}

/// Who is on one channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelOccupancy {
    /// The channel.
    pub channel: String,
    /// How many users are present.
    pub occupancy: u32,
    /// The users, when requested with `include_uuids` (the default).
    pub occupants: Vec<Occupant>,
}

/// One user present on a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Occupant {
    /// The user's id (`uuid` on the wire).
    pub user_id: String,
    /// The user's presence state, when requested with `include_state` and set.
    pub state: Option<Value>,
}

/// A here-now request; `.await` it. Created by [`PubNub::here_now`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct HereNow {
    pubnub: PubNub,
    channels: Vec<String>,
    groups: Vec<String>,
    include_uuids: bool,
    include_state: bool,
    limit: Option<u32>,
    offset: Option<u32>,
    retry: bool,
}

impl HereNow {
    /// The channels to ask about. With neither channels nor groups, every channel of the key.
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        self.channels = channels.into_iter().map(Into::into).collect();
        self
    }

    /// The channel groups to ask about.
    pub fn channel_groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        self.groups = groups.into_iter().map(Into::into).collect();
        self
    }

    /// List the users (default true); false asks for occupancy only.
    pub fn include_uuids(mut self, include: bool) -> Self {
        self.include_uuids = include;
        self
    }

    /// Include each user's presence state (default false).
    pub fn include_state(mut self, include: bool) -> Self {
        self.include_state = include;
        self
    }

    /// At most this many users per channel (the service's default and maximum is 1000).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skip this many users per channel (pagination).
    pub fn offset(mut self, offset: u32) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<HereNowResult, Error> {
        validate::names("channel", &self.channels)?;
        validate::names("channel group", &self.groups)?;
        let global = self.channels.is_empty() && self.groups.is_empty();
        let core = self.pubnub.core();
        let mut path = format!("/v2/presence/sub-key/{}", core.sub_key_segment());
        if !global {
            path.push_str("/channel/");
            path.push_str(&encode::name_list(self.channels.iter().map(String::as_str)));
        }
        let request = core
            .request(Method::Get, path)
            .param_opt(
                "channel-group",
                (!self.groups.is_empty()).then(|| self.groups.join(",")),
            )
            .param_opt("disable_uuids", (!self.include_uuids).then_some("1"))
            .param_opt("state", self.include_state.then_some("1"))
            .param_opt("limit", self.limit.map(|n| n.to_string()))
            .param_opt("offset", self.offset.map(|n| n.to_string()));
        // The flat body names no channel: it is the one asked about.
        let single = match (self.channels.as_slice(), self.groups.is_empty()) {
            ([channel], true) => Some(channel.clone()),
            _ => None,
        };
        core.execute(Endpoint::Presence, request, self.retry, |answer| {
            parse(response::check(answer)?, single.as_deref())
        })
        .await
    }
}

impl IntoFuture for HereNow {
    type Output = Result<HereNowResult, Error>;
    type IntoFuture = RequestFuture<HereNowResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl PubNub {
    /// Who is present on channels or groups, or on every channel of the key.
    pub fn here_now(&self) -> HereNow {
        HereNow {
            pubnub: self.clone(),
            channels: Vec::new(),
            groups: Vec::new(),
            include_uuids: true,
            include_state: false,
            limit: None,
            offset: None,
            retry: false,
        }
    }
}

/// One channel's entry, in both body shapes.
#[derive(Deserialize)]
struct Channel {
    occupancy: u32,
    #[serde(default)]
    uuids: Vec<Uuid>,
}

/// A user: a bare id, or an object when state was asked for.
#[derive(Deserialize)]
#[serde(untagged)]
enum Uuid {
    Id(String),
    Full {
        uuid: String,
        #[serde(default)]
        state: Option<Value>,
    },
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    channels: BTreeMap<String, Channel>,
    total_channels: Option<u32>,
    total_occupancy: Option<u32>,
}

impl Channel {
    fn into_occupancy(self, channel: String) -> ChannelOccupancy {
        let occupants = self
            .uuids
            .into_iter()
            .map(|uuid| match uuid {
                Uuid::Id(user_id) => Occupant {
                    user_id,
                    state: None,
                },
                Uuid::Full { uuid, state } => Occupant {
                    user_id: uuid,
                    state,
                },
            })
            .collect();
        ChannelOccupancy {
            channel,
            occupancy: self.occupancy,
            occupants,
        }
    }
}

/// The result of a checked here-now body; `single` is the channel of a one-channel request.
pub(crate) fn parse(mut json: Value, single: Option<&str>) -> Result<HereNowResult, Error> {
    if let Some(payload) = json.get_mut("payload").map(Value::take) {
        let payload: Payload = response::decode(payload, "here now")?;
        let channels: Vec<ChannelOccupancy> = payload
            .channels
            .into_iter()
            .map(|(name, channel)| channel.into_occupancy(name))
            .collect();
        let sum = channels
            .iter()
            .map(|c| c.occupancy)
            .fold(0u32, u32::saturating_add);
        return Ok(HereNowResult {
            total_channels: payload
                .total_channels
                .unwrap_or(channels.len().try_into().unwrap_or(u32::MAX)),
            total_occupancy: payload.total_occupancy.unwrap_or(sum),
            channels,
        });
    }
    let Some(name) = single else {
        return Err(Error::decode("here now response has no payload"));
    };
    let channel: Channel = response::decode(json, "here now")?;
    let channel = channel.into_occupancy(name.to_owned());
    Ok(HereNowResult {
        total_channels: 1,
        total_occupancy: channel.occupancy,
        channels: vec![channel],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    fn occupant(id: &str, state: Option<Value>) -> Occupant {
        Occupant {
            user_id: id.into(),
            state,
        }
    }

    #[test]
    fn flat_single_channel_bodies() {
        let body =
            json!({"status":200,"message":"OK","service":"Presence","uuids":["u1"],"occupancy":1});
        let result = parse(body, Some("ch")).unwrap();
        assert_eq!(result.total_channels, 1);
        assert_eq!(result.total_occupancy, 1);
        assert_eq!(result.channels[0].channel, "ch");
        assert_eq!(result.channels[0].occupants, [occupant("u1", None)]);

        let body = json!({"status":200,"uuids":[{"uuid":"u1","state":{"k":"v"}},{"uuid":"u2"}],"occupancy":2});
        let result = parse(body, Some("ch")).unwrap();
        assert_eq!(
            result.channels[0].occupants,
            [occupant("u1", Some(json!({"k":"v"}))), occupant("u2", None)]
        );

        let empty =
            json!({"status":200,"message":"OK","occupancy":0,"uuids":[],"service":"Presence"});
        assert_eq!(parse(empty, Some("ch")).unwrap().channels[0].occupancy, 0);
    }

    #[test]
    fn payload_bodies() {
        let body = json!({"status":200,"message":"OK","service":"Presence","payload":{
            "channels":{"ch2":{"uuids":["u1"],"occupancy":1},"ch1":{"occupancy":2}},
            "total_channels":2,"total_occupancy":3}});
        let result = parse(body, None).unwrap();
        assert_eq!((result.total_channels, result.total_occupancy), (2, 3));
        let names: Vec<&str> = result.channels.iter().map(|c| c.channel.as_str()).collect();
        assert_eq!(names, ["ch1", "ch2"]);
        assert!(result.channels[0].occupants.is_empty());

        let nobody = json!({"payload":{"channels":{},"total_channels":0,"total_occupancy":0}});
        assert_eq!(parse(nobody, None).unwrap(), HereNowResult::default());
        // A payload answer to a one-channel request is fine too.
        let one = json!({"payload":{"channels":{"ch":{"occupancy":1,"uuids":["u"]}}}});
        let result = parse(one, Some("ch")).unwrap();
        assert_eq!((result.total_channels, result.total_occupancy), (1, 1));
    }

    #[test]
    fn odd_bodies_are_decode_errors() {
        let cases = [
            (json!({"status":200}), Some("ch")),
            (json!({"occupancy":-1}), Some("ch")),
            (json!({"occupancy":1,"uuids":[5]}), Some("ch")),
            (json!({"occupancy":1}), None),
            (json!({"payload":{"channels":[]}}), None),
            (json!({"payload":"x"}), None),
        ];
        for (body, single) in cases {
            let error = parse(body.clone(), single).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Decode, "{body}");
        }
    }
}

//! Here now (PROTOCOL.md §6.3): who is on which channel. One request shape, two answer shapes
//! (a flat body for one channel, a `payload` body otherwise), one typed result.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Names, WithNames};
use crate::error::Error;
use crate::request::{setters, Operation, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{response, Request, Response};

/// The answer to [`PubNub::here_now`](crate::PubNub::here_now).
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

/// The here-now endpoint.
#[derive(Debug, Clone)]
pub struct HereNowOp {
    names: Names,
    include_uuids: bool,
    include_state: bool,
    limit: Option<u32>,
    offset: Option<u32>,
}

impl Default for HereNowOp {
    fn default() -> Self {
        HereNowOp {
            names: Names::default(),
            include_uuids: true,
            include_state: false,
            limit: None,
            offset: None,
        }
    }
}

impl WithNames for HereNowOp {
    fn names(&mut self) -> &mut Names {
        &mut self.names
    }
}

impl RequestBuilder<HereNowOp> {
    setters! {
        /// List the users (default true); false asks for occupancy only.
        include_uuids(include: bool) op => op.include_uuids = include;
        /// Include each user's presence state (default false).
        include_state(include: bool) op => op.include_state = include;
        /// At most this many users per channel (the service's default and maximum is 1000).
        limit(limit: u32) op => op.limit = Some(limit);
        /// Skip this many users per channel (pagination).
        offset(offset: u32) op => op.offset = Some(offset);
    }
}

impl Operation for HereNowOp {
    type Output = HereNowResult;
    const GROUP: Endpoint = Endpoint::Presence;

    /// With neither channels nor groups: every channel of the key.
    fn request(&self, core: &Core) -> Result<Request, Error> {
        self.names.check()?;
        let global = self.names.channels.is_empty() && self.names.groups.is_empty();
        let request = if global {
            core.get("/v2/presence/sub-key/{sub}", &[])
        } else {
            self.names.request(core, "", &[])
        };
        Ok(request
            .param_opt("channel-group", self.names.group_param())
            .param_opt("disable_uuids", (!self.include_uuids).then_some("1"))
            .param_opt("state", self.include_state.then_some("1"))
            .param_opt("limit", self.limit.map(|n| n.to_string()))
            .param_opt("offset", self.offset.map(|n| n.to_string())))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<HereNowResult, Error> {
        // The flat body names no channel: it is the one asked about.
        let single = match (self.names.channels.as_slice(), self.names.groups.is_empty()) {
            ([channel], true) => Some(channel.as_str()),
            _ => None,
        };
        parse(response::check(answer)?, single)
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

//! Presence REST: heartbeat, leave, here-now, where-now, set and get state (PROTOCOL.md §6).

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::response::Reply;
use super::routes::{path_list, percent_decode, query_list, Query, Route};
use super::subscribe::presence_timeout;
use super::App;
use crate::hub::{ChannelOccupancy, HereNow, NameError, PresenceError};

const SERVICE: &str = "Presence";

/// Default and largest here-now `limit` (PROTOCOL.md §6.3).
const MAX_HERE_NOW_LIMIT: usize = 1000;

pub(super) fn handle(app: &App, route: &Route<'_>, query: &Query<'_>) -> Reply {
    match serve(app, route, query) {
        Ok(reply) | Err(reply) => reply,
    }
}

fn bad(message: &str) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, SERVICE, message)
}

fn ok(extra: Value) -> Reply {
    let mut body = json!({"status": 200, "message": "OK", "service": SERVICE});
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    Reply::ok(&body)
}

fn presence_error(error: PresenceError) -> Reply {
    let reserved = matches!(
        error,
        PresenceError::InvalidChannel {
            reason: NameError::ReservedCharacter(_),
            ..
        } | PresenceError::InvalidGroup {
            reason: NameError::ReservedCharacter(_),
            ..
        }
    );
    let message = if reserved {
        "Reserved character in input parameters."
    } else {
        "Invalid Arguments"
    };
    Reply::error_details(
        StatusCode::BAD_REQUEST,
        SERVICE,
        message,
        &error.to_string(),
    )
}

fn decode(segment: &str) -> Result<String, Reply> {
    percent_decode(segment).map_err(|_| bad("Invalid Arguments"))
}

fn serve(app: &App, route: &Route<'_>, query: &Query<'_>) -> Result<Reply, Reply> {
    let hub = &app.hub;
    let sub_key = match *route {
        Route::Heartbeat { sub_key, .. }
        | Route::Leave { sub_key, .. }
        | Route::HereNow { sub_key, .. }
        | Route::GlobalHereNow { sub_key }
        | Route::WhereNow { sub_key, .. }
        | Route::SetState { sub_key, .. }
        | Route::GetState { sub_key, .. } => decode(sub_key)?,
        _ => return Err(Reply::not_found("/v2/presence")),
    };
    if !app.key_allowed(&sub_key) {
        return Err(Reply::invalid_sub_key());
    }
    let groups = query_list(query.get("channel-group"));
    let list = |raw: &str| path_list(raw).map_err(|_| bad("Invalid Arguments"));
    let uuid = || -> Result<String, Reply> {
        query
            .get("uuid")
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .ok_or_else(|| bad("Missing uuid"))
    };
    match *route {
        Route::Heartbeat { channels, .. } => {
            let channels = list(channels)?;
            let state = match query.json("state") {
                Some(Ok(Value::Object(state))) => Some(state),
                None => None,
                Some(_) => return Err(bad("Invalid state: a JSON object is required")),
            };
            hub.heartbeat(
                &sub_key,
                &uuid()?,
                &channels,
                &groups,
                presence_timeout(query),
                state.as_ref(),
            )
            .map_err(presence_error)?;
            Ok(ok(json!({})))
        }
        Route::Leave { channels, .. } => {
            let channels = list(channels)?;
            hub.leave(&sub_key, &uuid()?, &channels, &groups)
                .map_err(presence_error)?;
            Ok(ok(json!({"action": "leave"})))
        }
        Route::HereNow { channels, .. } => {
            let channels = list(channels)?;
            let here = hub
                .here_now(&sub_key, &channels, &groups)
                .map_err(presence_error)?;
            let options = HereNowOptions::from(query);
            if channels.len() == 1 && groups.is_empty() {
                let occupancy = here.channels.get(&channels[0]).cloned().unwrap_or_default();
                return Ok(ok(options.channel(&occupancy)));
            }
            Ok(ok(json!({"payload": options.payload(&here)})))
        }
        Route::GlobalHereNow { .. } => {
            let here = hub.global_here_now(&sub_key);
            let options = HereNowOptions::from(query);
            Ok(ok(json!({"payload": options.payload(&here)})))
        }
        Route::WhereNow { uuid, .. } => {
            let uuid = decode(uuid)?;
            let channels = hub.where_now(&sub_key, &uuid);
            Ok(ok(json!({"payload": {"channels": channels}})))
        }
        Route::SetState { channels, uuid, .. } => {
            let channels = list(channels)?;
            let uuid = decode(uuid)?;
            let state: Map<String, Value> = match query.json("state") {
                None => return Err(bad("No state specified.")),
                Some(Ok(Value::Object(state))) => state,
                Some(_) => return Err(bad("Invalid state: a JSON object is required")),
            };
            hub.set_state(&sub_key, &uuid, &channels, &groups, &state)
                .map_err(presence_error)?;
            Ok(ok(json!({"payload": state})))
        }
        Route::GetState { channels, uuid, .. } => {
            let channels = list(channels)?;
            let uuid = decode(uuid)?;
            let states = hub
                .get_state(&sub_key, &uuid, &channels, &groups)
                .map_err(presence_error)?;
            if channels.len() == 1 && groups.is_empty() {
                let state = states
                    .into_values()
                    .next()
                    .unwrap_or_else(|| Value::Object(Map::new()));
                return Ok(ok(json!({
                    "payload": state, "uuid": uuid, "channel": channels[0],
                })));
            }
            Ok(ok(json!({"payload": {"channels": states}, "uuid": uuid})))
        }
        _ => Err(Reply::not_found("/v2/presence")),
    }
}

struct HereNowOptions {
    uuids: bool,
    state: bool,
    limit: usize,
    offset: usize,
}

impl From<&Query<'_>> for HereNowOptions {
    fn from(query: &Query<'_>) -> Self {
        HereNowOptions {
            uuids: !query.flag("disable_uuids"),
            state: query.flag("state"),
            limit: query
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(MAX_HERE_NOW_LIMIT)
                .min(MAX_HERE_NOW_LIMIT),
            offset: query
                .get("offset")
                .and_then(|o| o.parse().ok())
                .unwrap_or(0),
        }
    }
}

impl HereNowOptions {
    /// `{"uuids":[…],"occupancy":N}`; uuids are objects when state is asked for.
    fn channel(&self, occupancy: &ChannelOccupancy) -> Value {
        let mut out = json!({"occupancy": occupancy.occupancy});
        if self.uuids {
            let uuids: Vec<Value> = occupancy
                .occupants
                .iter()
                .skip(self.offset)
                .take(self.limit)
                .map(|o| match (&o.state, self.state) {
                    (_, false) => json!(o.uuid),
                    (Some(state), true) => json!({"uuid": o.uuid, "state": state}),
                    (None, true) => json!({"uuid": o.uuid}),
                })
                .collect();
            out["uuids"] = Value::Array(uuids);
        }
        out
    }

    fn payload(&self, here: &HereNow) -> Value {
        let channels: Map<String, Value> = here
            .channels
            .iter()
            .map(|(name, occupancy)| (name.clone(), self.channel(occupancy)))
            .collect();
        let total: usize = here.channels.values().map(|c| c.occupancy).sum();
        json!({
            "channels": channels,
            "total_channels": here.channels.len(),
            "total_occupancy": total,
        })
    }
}

//! Channel groups: the `channel-registry` service (PROTOCOL.md §7).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::response::Reply;
use super::routes::{percent_decode, query_list, Query, Route};
use super::App;
use crate::hub::{GroupError, NameError};

const SERVICE: &str = "channel-registry";

fn ok(extra: Value) -> Reply {
    let mut body = json!({"status": 200, "service": SERVICE, "error": false});
    match extra {
        Value::Object(extra) if !extra.is_empty() => {
            if let Value::Object(body) = &mut body {
                body.extend(extra);
            }
        }
        _ => body["message"] = json!("OK"),
    }
    Reply::ok(&body)
}

fn bad(message: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({"status": 400, "message": message, "service": SERVICE, "error": true}),
    )
}

fn group_error(error: GroupError) -> Reply {
    match error {
        GroupError::TooManyChannels => bad("Maximum channels per group exceeded."),
        GroupError::InvalidGroup(NameError::ReservedCharacter(_))
        | GroupError::InvalidChannel {
            reason: NameError::ReservedCharacter(_),
            ..
        } => bad("Reserved character in input parameters."),
        other => bad(&format!("Invalid Arguments: {other}")),
    }
}

pub(super) fn handle(app: &App, route: &Route<'_>, query: &Query<'_>) -> Reply {
    let (Route::Group { sub_key, .. }
    | Route::DeleteGroup { sub_key, .. }
    | Route::ListGroups { sub_key }) = *route
    else {
        return Reply::not_found("/v1/channel-registration");
    };
    let Ok(sub_key) = percent_decode(sub_key) else {
        return bad("Invalid Arguments");
    };
    if !app.key_allowed(&sub_key) {
        return Reply::invalid_sub_key();
    }
    let hub = &app.hub;
    let group = match *route {
        Route::Group { group, .. } | Route::DeleteGroup { group, .. } => {
            match percent_decode(group) {
                Ok(group) => Some(group),
                Err(_) => return bad("Invalid Arguments"),
            }
        }
        _ => None,
    };
    let result = match (route, group) {
        (Route::ListGroups { .. }, _) => {
            return ok(json!({"payload": {"groups": hub.groups(&sub_key), "namespace": ""}}))
        }
        (Route::DeleteGroup { .. }, Some(group)) => hub.delete_group(&sub_key, &group),
        (Route::Group { .. }, Some(group)) => {
            let add = query_list(query.get("add"));
            let remove = query_list(query.get("remove"));
            if add.is_empty() && remove.is_empty() {
                return match hub.group_channels(&sub_key, &group) {
                    Ok(channels) => ok(json!({"payload": {"channels": channels, "group": group}})),
                    Err(e) => group_error(e),
                };
            }
            let added = match add.is_empty() {
                true => Ok(()),
                false => hub.add_channels_to_group(&sub_key, &group, &add),
            };
            added.and_then(|()| match remove.is_empty() {
                true => Ok(()),
                false => hub.remove_channels_from_group(&sub_key, &group, &remove),
            })
        }
        _ => return Reply::not_found("/v1/channel-registration"),
    };
    match result {
        Ok(()) => ok(json!({})),
        Err(e) => group_error(e),
    }
}

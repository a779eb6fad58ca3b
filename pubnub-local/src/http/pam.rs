//! Access Manager endpoints (grant, revoke) and the token check of every other request, when
//! the server has a secret key (PROTOCOL.md §12.4, §12.5).
//!
//! A request that carries a `signature` was checked against the secret key already
//! ([`super::auth`]) and may do anything. Any other request but `/time/0` must carry, as
//! `auth`, a token this server granted, not revoked and not expired, for the request's user
//! id when the token names one, whose resources or patterns grant the permission the request
//! needs on every channel and channel group it names. Anything else gets 403.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::response::Reply;
use super::routes::{path_list, percent_decode, query_list, Query, Route};
use super::App;
use axum::http::Method;

use super::routes::ObjectResource;
use crate::pam::{Grant, Kind, TokenError, DELETE, GET, MANAGE, READ, UPDATE, WRITE};

const SERVICE: &str = "Access Manager";

/// `POST /v3/pam/{sub_key}/grant` (signature checked already).
pub(crate) fn grant(app: &App, body: &[u8]) -> Reply {
    let Some(tokens) = &app.tokens else {
        return not_enabled();
    };
    let grant = match Grant::from_body(body) {
        Ok(grant) => grant,
        Err(why) => return invalid(&why),
    };
    let token = tokens.issue(&grant, app.hub.now().unix_seconds());
    Reply::ok(&json!({
        "status": 200,
        "data": {"message": "Success", "token": token},
        "service": SERVICE,
    }))
}

/// `DELETE /v3/pam/{sub_key}/grant/{token}` (signature checked already).
pub(crate) fn revoke(app: &App, token: &str) -> Reply {
    let Some(tokens) = &app.tokens else {
        return not_enabled();
    };
    let token = percent_decode(token).unwrap_or_default();
    match tokens.revoke(&token) {
        Ok(()) => Reply::ok(&json!({"status": 200, "data": {}, "service": SERVICE})),
        Err(_) => invalid("Invalid token."),
    }
}

fn not_enabled() -> Reply {
    Reply::error(
        StatusCode::BAD_REQUEST,
        SERVICE,
        "Access Manager is not enabled for this keyset: start pubnub-local with a secret key.",
    )
}

/// The grant endpoint's 400, in the shape of its signature errors (PROTOCOL.md §12.2).
fn invalid(why: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({
            "error": {
                "message": "Invalid request",
                "source": "grant",
                "details": [{"message": why, "location": "body", "locationType": "body"}],
            },
            "service": SERVICE,
            "status": 400,
        }),
    )
}

/// What `route` needs: every (kind, name, permission bits) the token must grant.
fn needs(route: &Route<'_>, method: &Method, query: &Query<'_>) -> Vec<(Kind, String, u32)> {
    let channels = |segment: &str, bits: u32| -> Vec<(Kind, String, u32)> {
        path_list(segment)
            .unwrap_or_else(|_| vec![segment.to_string()])
            .into_iter()
            .map(|name| (Kind::Channel, name, bits))
            .collect()
    };
    let one = |segment: &str, bits: u32| {
        let name = percent_decode(segment).unwrap_or_else(|_| segment.to_string());
        vec![(Kind::Channel, name, bits)]
    };
    let groups = |bits: u32| -> Vec<(Kind, String, u32)> {
        query_list(query.get("channel-group"))
            .into_iter()
            .map(|name| (Kind::Group, name, bits))
            .collect()
    };
    match *route {
        Route::Publish { channel, .. } | Route::Signal { channel, .. } => one(channel, WRITE),
        Route::Subscribe { channels: list, .. }
        | Route::Heartbeat { channels: list, .. }
        | Route::HereNow { channels: list, .. }
        | Route::SetState { channels: list, .. }
        | Route::GetState { channels: list, .. } => {
            let mut all = channels(list, READ);
            all.extend(groups(READ));
            all
        }
        Route::FetchHistory { channels: list, .. }
        | Route::MessageCounts { channels: list, .. } => channels(list, READ),
        Route::DeleteHistory { channel, .. } | Route::RemoveAction { channel, .. } => {
            one(channel, DELETE)
        }
        Route::AddAction { channel, .. } => one(channel, WRITE),
        // File Sharing, as PubNub's permission model lists it: sending a file (the upload
        // form and the file message) needs `write`, listing and downloading `read`, deleting
        // `delete`.
        Route::GenerateUploadUrl { channel, .. } | Route::PublishFile { channel, .. } => {
            one(channel, WRITE)
        }
        Route::ListFiles { channel, .. } => one(channel, READ),
        Route::File {
            channel, delete, ..
        } => one(channel, if delete { DELETE } else { READ }),
        Route::GetActions { channel, .. } => one(channel, READ),
        Route::Group { group, .. } => {
            let bits = if query.get("add").is_some() || query.get("remove").is_some() {
                MANAGE
            } else {
                READ
            };
            let name = percent_decode(group).unwrap_or_else(|_| group.to_string());
            vec![(Kind::Group, name, bits)]
        }
        Route::DeleteGroup { group, .. } => {
            let name = percent_decode(group).unwrap_or_else(|_| group.to_string());
            vec![(Kind::Group, name, MANAGE)]
        }
        // App Context: reading a user's or channel's record (or its memberships / members)
        // needs `get` on it, changing one `update`, removing one `delete`; the lists of all
        // need only a valid token (PROTOCOL.md §12.5).
        Route::AppContext {
            resource,
            id: Some(id),
            ..
        } => {
            let kind = match resource {
                ObjectResource::Users | ObjectResource::Memberships => Kind::Uuid,
                ObjectResource::Channels | ObjectResource::Members => Kind::Channel,
            };
            let bits = match *method {
                Method::GET => GET,
                Method::DELETE => DELETE,
                _ => UPDATE,
            };
            let name = percent_decode(id).unwrap_or_else(|_| id.to_string());
            vec![(kind, name, bits)]
        }
        // A valid token is enough (unsubscribing needs no permission, PubNub's docs).
        Route::Leave { .. }
        | Route::GlobalHereNow { .. }
        | Route::WhereNow { .. }
        | Route::ListGroups { .. }
        | Route::Time
        | Route::Grant { .. }
        | Route::Revoke { .. }
        | Route::AppContext { id: None, .. }
        | Route::StorageUpload
        | Route::StorageDownload { .. }
        | Route::Admin => Vec::new(),
    }
}

/// The service's 403 for a request its token does not cover, naming the channels and groups.
fn forbidden(needs: &[(Kind, String, u32)]) -> Reply {
    let names = |kind: Kind| -> Vec<&str> {
        let mut names: Vec<&str> = needs
            .iter()
            .filter(|(k, _, _)| *k == kind)
            .map(|(_, name, _)| name.as_str())
            .collect();
        names.dedup();
        names
    };
    let mut payload = serde_json::Map::new();
    let channels = names(Kind::Channel);
    if !channels.is_empty() {
        payload.insert("channels".into(), json!(channels));
    }
    let groups = names(Kind::Group);
    if !groups.is_empty() {
        payload.insert("channel-groups".into(), json!(groups));
    }
    let uuids = names(Kind::Uuid);
    if !uuids.is_empty() {
        payload.insert("uuids".into(), json!(uuids));
    }
    Reply::json(
        StatusCode::FORBIDDEN,
        &json!({
            "message": "Forbidden",
            "payload": Value::Object(payload),
            "error": true,
            "service": SERVICE,
            "status": 403,
        }),
    )
}

/// Checks the `auth` token of an unsigned request; `Err` is the 403 to answer.
pub(crate) fn authorize(
    app: &App,
    route: &Route<'_>,
    method: &Method,
    query: &Query<'_>,
) -> Result<(), Reply> {
    let Some(tokens) = &app.tokens else {
        return Ok(());
    };
    if *route == Route::Time {
        return Ok(());
    }
    let needs = needs(route, method, query);
    let Some(token) = query.get("auth").filter(|t| !t.is_empty()) else {
        return Err(forbidden(&needs));
    };
    let verified = match tokens.verify(token, app.hub.now().unix_seconds()) {
        Ok(verified) => verified,
        Err(TokenError::Revoked) => {
            return Err(Reply::error(
                StatusCode::FORBIDDEN,
                SERVICE,
                "Token is revoked",
            ))
        }
        Err(TokenError::Expired) => {
            return Err(Reply::error(
                StatusCode::FORBIDDEN,
                SERVICE,
                "Token is expired",
            ))
        }
        Err(TokenError::Invalid) => return Err(forbidden(&needs)),
    };
    if let Some(authorized) = &verified.authorized_uuid {
        if query.get("uuid") != Some(authorized.as_str()) {
            return Err(forbidden(&needs));
        }
    }
    let refused: Vec<(Kind, String, u32)> = needs
        .into_iter()
        .filter(|(kind, name, bits)| !verified.allows(*kind, name, *bits))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(forbidden(&refused))
    }
}

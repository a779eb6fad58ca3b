//! Access Manager endpoints (grant, revoke) and the token check of every other request, when
//! the server has a secret key (PROTOCOL.md §12.4, §12.5).
//!
//! A request that carries a `signature` was checked against the secret key already
//! ([`super::auth`]) and may do anything. Any other request but `/time/0` must carry, as
//! `auth`, a token this server granted, not revoked and not expired, for the request's user
//! id when the token names one, whose resources or patterns grant the permission the request
//! needs on every channel and channel group it names. Anything else gets 403.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Value};

use super::response::{Reply, PAM_JAVASCRIPT};
use super::routes::{path_list, percent_decode, query_list, Query, Route};
use super::App;
use axum::http::Method;

use super::routes::ObjectResource;
use crate::pam::{Grant, GrantError, Kind, TokenError, DELETE, GET, MANAGE, READ, UPDATE, WRITE};

const SERVICE: &str = "Access Manager";

/// The recorded answer to a grant whose `ttl` is out of range (2025), byte for byte.
pub(crate) const INVALID_TTL: &str = r#"{"error":{"message":"Invalid ttl","source":"grant","details":[{"message":"Range should be 1 to 43200 minute(s).","location":"ttl","locationType":"body"}]},"service":"Access Manager","status":400}"#;

/// The recorded answer to a revoke (2021 and 2025).
pub(crate) const REVOKED: &str =
    r#"{"data":{"message":"Success"},"service":"Access Manager","status":200}"#;

/// The recorded answer to revoking an expired token (2025).
pub(crate) const REVOKE_EXPIRED: &str = r#"{"error":{"details":[{"location":"token","locationType":"path","message":"Token is expired."}],"message":"Invalid token","source":"revoke"},"service":"Access Manager","status":400}"#;

/// Revoking a token this server did not issue (not recorded): the expired answer's shape.
pub(crate) const REVOKE_INVALID: &str = r#"{"error":{"details":[{"location":"token","locationType":"path","message":"Token is invalid."}],"message":"Invalid token","source":"revoke"},"service":"Access Manager","status":400}"#;

/// An Access Manager answer: its content type, without quotes.
fn pam_reply(status: StatusCode, body: impl Into<String>) -> Reply {
    Reply::new(status, body.into().into_bytes(), PAM_JAVASCRIPT)
}

/// `POST /v3/pam/{sub_key}/grant` (signature checked already).
pub(crate) fn grant(app: &App, body: &[u8]) -> Reply {
    let Some(tokens) = &app.tokens else {
        return not_enabled();
    };
    let grant = match Grant::from_body(body) {
        Ok(grant) => grant,
        Err(GrantError::Ttl) => return pam_reply(StatusCode::BAD_REQUEST, INVALID_TTL),
        Err(GrantError::Invalid(why)) => return invalid(&why),
    };
    let token = tokens.issue(&grant, app.hub.now().unix_seconds());
    let body = json!({
        "status": 200,
        "data": {"message": "Success", "token": token},
        "service": SERVICE,
    });
    pam_reply(StatusCode::OK, body.to_string())
}

/// `DELETE /v3/pam/{sub_key}/grant/{token}` (signature checked already).
pub(crate) fn revoke(app: &App, token: &str) -> Reply {
    let Some(tokens) = &app.tokens else {
        return not_enabled();
    };
    let token = percent_decode(token).unwrap_or_default();
    match tokens.revoke(&token, app.hub.now().unix_seconds()) {
        Ok(()) => pam_reply(StatusCode::OK, REVOKED),
        Err(TokenError::Expired) => pam_reply(StatusCode::BAD_REQUEST, REVOKE_EXPIRED),
        Err(_) => pam_reply(StatusCode::BAD_REQUEST, REVOKE_INVALID),
    }
}

fn not_enabled() -> Reply {
    Reply::error(
        StatusCode::BAD_REQUEST,
        SERVICE,
        "Access Manager is not enabled for this keyset: start pubnub-local with a secret key.",
    )
}

/// The grant endpoint's 400 for what no recording shows, in the shape of its others.
fn invalid(why: &str) -> Reply {
    let body = json!({
        "error": {
            "message": "Invalid request",
            "source": "grant",
            "details": [{"message": why, "location": "body", "locationType": "body"}],
        },
        "service": SERVICE,
        "status": 400,
    });
    pam_reply(StatusCode::BAD_REQUEST, body.to_string())
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
        // Mobile push: "read: … Manage push notification registrations" (PubNub's permission
        // model), on every channel added or removed; listing a device's channels and removing
        // the device name no channel, so a valid token is enough for them.
        Route::Push {
            remove_device: false,
            ..
        } => query_list(query.get("remove"))
            .into_iter()
            .chain(query_list(query.get("add")))
            .map(|name| (Kind::Channel, name, READ))
            .collect(),
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
        | Route::Push {
            remove_device: true,
            ..
        }
        | Route::PushOutbox { .. }
        | Route::Admin => Vec::new(),
    }
}

/// The service's 403 for a request its token does not cover, naming the channels, groups and
/// user ids, keys in the recorded order, with the recorded trailing newline:
/// `{"message":"Forbidden","payload":{"channels":[…]},"error":true,"service":"Access Manager","status":403}`.
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
    let mut payload = Vec::new();
    for (kind, key) in [
        (Kind::Channel, "channels"),
        (Kind::Group, "channel-groups"),
        (Kind::Uuid, "uuids"),
    ] {
        let names = names(kind);
        if !names.is_empty() {
            payload.push(format!(r#""{key}":{}"#, json!(names)));
        }
    }
    let body = format!(
        r#"{{"message":"Forbidden","payload":{{{}}},"error":true,"service":"{SERVICE}","status":403}}"#,
        payload.join(",")
    ) + "\n";
    pam_reply(StatusCode::FORBIDDEN, body)
}

/// The service's 403 for a token it no longer takes:
/// `{"error":true,"status":403,"service":"Access Manager","message":"Token is revoked"}` and a
/// newline, with `X-Pn-Cause: 4001` (both recorded for a revoked token; an expired one is not
/// recorded and answers the same shape without the header).
fn token_refused(message: &str, cause: Option<&'static str>) -> Reply {
    let body = format!(
        r#"{{"error":true,"status":403,"service":"{SERVICE}","message":{}}}"#,
        Value::String(message.to_string())
    ) + "\n";
    let reply = pam_reply(StatusCode::FORBIDDEN, body);
    match cause {
        Some(cause) => reply.with_header(
            HeaderName::from_static("x-pn-cause"),
            HeaderValue::from_static(cause),
        ),
        None => reply,
    }
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
        Err(TokenError::Revoked) => return Err(token_refused("Token is revoked", Some("4001"))),
        Err(TokenError::Expired) => return Err(token_refused("Token is expired", None)),
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

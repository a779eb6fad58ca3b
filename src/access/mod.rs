//! Access Manager (PROTOCOL.md §12): grant and revoke tokens with the secret key
//! ([`PubNub::grant_token`](crate::PubNub::grant_token), [`PubNub::revoke_token`](crate::PubNub::revoke_token)), read a token ([`parse_token`]) and use
//! one ([`PubNub::set_token`](crate::PubNub::set_token)).
//!
//! A server that holds the secret key grants a client a token naming what it may do, for a
//! time; the client sends it on every request (`auth`) and the service refuses the rest with
//! 403 ([`ErrorKind::AccessDenied`](crate::ErrorKind::AccessDenied)).
//!
//! ```no_run
//! use pubnub_engine::access::Permissions;
//!
//! # async fn run(server: pubnub_engine::PubNub, client: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
//! // On the server, which has the secret key:
//! let token = server
//!     .grant_token(60)
//!     .authorized_user_id("user-1")
//!     .channel("chat", Permissions::new().read().write())
//!     .channel_pattern("^news-.*$", Permissions::READ)
//!     .await?;
//! // On the client, which received it:
//! client.set_token(token)?;
//! # Ok(()) }
//! ```
//!
//! ## Refreshing a token
//!
//! A token expires [`Token::ttl`] minutes after it was granted ([`Token::expires_at`]). An
//! app either asks its server for a new token before then (read the expiry with
//! [`parse_token`]), or reacts to the refusal: a subscribe refused with 403 stops the loop
//! with a [`StatusCategory::AccessDenied`](crate::StatusCategory::AccessDenied) status and no
//! retry, and a request fails with [`ErrorKind::AccessDenied`](crate::ErrorKind::AccessDenied).
//! Either way, fetch a new token, call [`PubNub::set_token`](crate::PubNub::set_token), then [`PubNub::reconnect`](crate::PubNub::reconnect): the
//! loop resumes from its cursor, so nothing published meanwhile is lost.

mod token;

use serde_json::{json, Map, Value};

pub use token::{parse_token, Permissions, Token, TokenResources, MAX_TOKEN_LEN};

use crate::error::Error;
use crate::request::{setters, Operation, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{response, Method, Request, Response};

/// The longest TTL the service accepts, in minutes (30 days).
pub const MAX_TTL_MINUTES: u32 = 43_200;

/// One named resource or pattern of a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    permissions: Permissions,
}

/// The resources or patterns of a grant.
#[derive(Debug, Clone, Default)]
struct Sets {
    channels: Vec<Entry>,
    groups: Vec<Entry>,
    uuids: Vec<Entry>,
}

impl Sets {
    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.groups.is_empty() && self.uuids.is_empty()
    }

    fn all(&self) -> impl Iterator<Item = (&'static str, &Entry)> {
        self.channels
            .iter()
            .map(|e| ("channel", e))
            .chain(self.groups.iter().map(|e| ("channel group", e)))
            .chain(self.uuids.iter().map(|e| ("user id", e)))
    }

    /// The body's object for this set: the service's five names, channels repeated as
    /// `spaces` and user ids as `users`, as PubNub's Python SDK sends them.
    fn to_json(&self) -> Value {
        // A name given twice gets both grants' permissions, not the last one's.
        let set = |entries: &[Entry]| {
            let mut map: Map<String, Value> = Map::new();
            for e in entries {
                let before = map.get(&e.name).and_then(Value::as_u64).unwrap_or(0);
                let bits = before | u64::from(e.permissions.bits());
                map.insert(e.name.clone(), Value::from(bits));
            }
            Value::Object(map)
        };
        json!({
            "channels": set(&self.channels),
            "groups": set(&self.groups),
            "uuids": set(&self.uuids),
            "users": set(&self.uuids),
            "spaces": set(&self.channels),
        })
    }
}

/// Grants a token; `.await` it for the token. Created by
/// [`PubNub::grant_token`](crate::PubNub::grant_token).
///
/// Needs the secret key. Everything is checked before sending: the TTL (1 to
/// [`MAX_TTL_MINUTES`]), at least one resource or pattern, each with at least one permission,
/// each pattern a valid regular expression, `meta` a JSON object.
pub type GrantToken = RequestBuilder<GrantOp>;
/// Revokes a token; `.await` it. Created by
/// [`PubNub::revoke_token`](crate::PubNub::revoke_token).
pub type RevokeToken = RequestBuilder<RevokeOp>;

/// The grant endpoint.
#[derive(Debug, Clone, Default)]
pub struct GrantOp {
    ttl: u32,
    authorized_user_id: Option<String>,
    resources: Sets,
    patterns: Sets,
    meta: Option<Value>,
}

impl GrantOp {
    pub(crate) fn new(ttl_minutes: u32) -> Self {
        GrantOp {
            ttl: ttl_minutes,
            ..GrantOp::default()
        }
    }
}

impl RequestBuilder<GrantOp> {
    setters! {
        /// The only user id that may use the token (recommended: a token without one works
        /// for anyone who holds it).
        authorized_user_id(user_id: impl Into<String>) op =>
            op.authorized_user_id = Some(user_id.into());
        /// `authorized_user_id` by its older name.
        authorized_uuid(uuid: impl Into<String>) op => op.authorized_user_id = Some(uuid.into());
        /// Grants `permissions` on the channel `name`.
        channel(name: impl Into<String>, permissions: Permissions) op =>
            op.resources.channels.push(entry(name, permissions));
        /// Grants `permissions` on every channel whose name matches `pattern`, a regular
        /// expression.
        channel_pattern(pattern: impl Into<String>, permissions: Permissions) op =>
            op.patterns.channels.push(entry(pattern, permissions));
        /// Grants `permissions` on the channel group `name`.
        group(name: impl Into<String>, permissions: Permissions) op =>
            op.resources.groups.push(entry(name, permissions));
        /// Grants `permissions` on every channel group whose name matches `pattern`.
        group_pattern(pattern: impl Into<String>, permissions: Permissions) op =>
            op.patterns.groups.push(entry(pattern, permissions));
        /// Grants `permissions` on the user id `user_id` (App Context).
        user_id(user_id: impl Into<String>, permissions: Permissions) op =>
            op.resources.uuids.push(entry(user_id, permissions));
        /// Grants `permissions` on every user id that matches `pattern`.
        user_id_pattern(pattern: impl Into<String>, permissions: Permissions) op =>
            op.patterns.uuids.push(entry(pattern, permissions));
        /// `user_id` by its older name.
        uuid(uuid: impl Into<String>, permissions: Permissions) op =>
            op.resources.uuids.push(entry(uuid, permissions));
        /// `user_id_pattern` by its older name.
        uuid_pattern(pattern: impl Into<String>, permissions: Permissions) op =>
            op.patterns.uuids.push(entry(pattern, permissions));
        /// Data stored in the token, a JSON object ([`Token::meta`]).
        meta(meta: Value) op => op.meta = Some(meta);
    }
}

impl GrantOp {
    /// Everything that can be refused before sending.
    fn check(&self, core: &Core) -> Result<(), Error> {
        require_secret(core, "grant_token")?;
        if self.ttl == 0 || self.ttl > MAX_TTL_MINUTES {
            return Err(Error::invalid(format!(
                "ttl {} minutes is out of range: 1 to {MAX_TTL_MINUTES}",
                self.ttl
            )));
        }
        if self.resources.is_empty() && self.patterns.is_empty() {
            return Err(Error::invalid(
                "a grant names at least one channel, channel group or user id, or a pattern",
            ));
        }
        if self.authorized_user_id.as_deref() == Some("") {
            return Err(Error::invalid("the authorized user id is empty"));
        }
        for (what, entry) in self.resources.all() {
            check_entry(what, entry)?;
        }
        for (what, entry) in self.patterns.all() {
            check_entry(what, entry)?;
            if let Err(error) = regex_syntax::Parser::new().parse(&entry.name) {
                return Err(Error::invalid(format!(
                    "the {what} pattern {:?} is not a valid regular expression",
                    entry.name
                ))
                .with_source(error));
            }
        }
        if let Some(meta) = &self.meta {
            if !meta.is_object() {
                return Err(Error::invalid("meta must be a JSON object"));
            }
        }
        Ok(())
    }

    /// The request body.
    fn body(&self) -> Value {
        let mut permissions = json!({
            "resources": self.resources.to_json(),
            "patterns": self.patterns.to_json(),
            "meta": self.meta.clone().unwrap_or_else(|| json!({})),
        });
        if let Some(user) = &self.authorized_user_id {
            permissions["uuid"] = Value::String(user.clone());
        }
        json!({"ttl": self.ttl, "permissions": permissions})
    }
}

impl Operation for GrantOp {
    type Output = String;
    const GROUP: Endpoint = Endpoint::AccessManager;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        self.check(core)?;
        let mut request = core.endpoint(Method::Post, "/v3/pam/{sub}/grant", &[]);
        // Grant is authorised by the signature, not a token.
        request.query.retain(|(key, _)| *key != "auth");
        request.body = Some(self.body().to_string().into());
        Ok(request)
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<String, Error> {
        let json = response::check(answer)?;
        json.pointer("/data/token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Error::decode("grant response: no `data.token`"))
    }
}

/// The revoke endpoint. `Debug` hides the token.
#[derive(Clone)]
pub struct RevokeOp {
    token: String,
}

impl RevokeOp {
    pub(crate) fn new(token: String) -> Self {
        RevokeOp { token }
    }
}

impl std::fmt::Debug for RevokeOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeOp").field("token", &"***").finish()
    }
}

impl Operation for RevokeOp {
    type Output = ();
    const GROUP: Endpoint = Endpoint::AccessManager;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        require_secret(core, "revoke_token")?;
        parse_token(&self.token)?;
        let template = "/v3/pam/{sub}/grant/{}";
        let mut request = core.endpoint(Method::Delete, template, &[self.token.trim().into()]);
        request.query.retain(|(key, _)| *key != "auth");
        Ok(request)
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<(), Error> {
        response::ok(answer)
    }
}

fn entry(name: impl Into<String>, permissions: Permissions) -> Entry {
    Entry {
        name: name.into(),
        permissions,
    }
}

fn check_entry(what: &str, entry: &Entry) -> Result<(), Error> {
    if entry.name.is_empty() {
        return Err(Error::invalid(format!("a {what} name is empty")));
    }
    if entry.permissions.is_empty() {
        return Err(Error::invalid(format!(
            "the {what} {:?} is granted no permission",
            entry.name
        )));
    }
    if !Permissions::ALL.contains(entry.permissions) {
        return Err(Error::invalid(format!(
            "the {what} {:?} is granted unknown permission bits {:#x}",
            entry.name,
            entry.permissions.bits()
        )));
    }
    Ok(())
}

fn require_secret(core: &Core, what: &str) -> Result<(), Error> {
    if core.config().secret().is_none() {
        return Err(Error::invalid(format!(
            "{what} needs the secret key (ConfigBuilder::secret_key)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::ErrorKind;
    use crate::transport::testing::Recorder;

    /// A client's core, with the secret key or without.
    struct Client(Arc<Core>);

    impl Client {
        fn grant_token(&self, ttl: u32) -> GrantToken {
            RequestBuilder::new(&self.0, GrantOp::new(ttl))
        }

        fn revoke_token(&self, token: &str) -> RevokeToken {
            RequestBuilder::new(&self.0, RevokeOp::new(token.to_owned()))
        }
    }

    fn client(secret: bool) -> Client {
        let recorder = Arc::new(Recorder::default());
        Client(Arc::new(recorder.core(|b| {
            let b = b.publish_key("pub");
            if secret {
                b.secret_key("sec-SECRET")
            } else {
                b
            }
        })))
    }

    fn check(grant: &GrantToken) -> Result<(), Error> {
        grant.op.check(grant.core())
    }

    fn refused(grant: GrantToken) -> String {
        let error = check(&grant).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        error.to_string()
    }

    #[test]
    fn the_body_has_the_services_shape() {
        let grant = client(true)
            .grant_token(15)
            .authorized_user_id("u1")
            .channel("a", Permissions::new().read().write())
            .group("g", Permissions::MANAGE)
            .user_id("u2", Permissions::GET | Permissions::UPDATE)
            .channel_pattern("^b-.*$", Permissions::READ)
            .meta(json!({"k": 1}));
        check(&grant).unwrap();
        assert_eq!(
            grant.op.body(),
            json!({
                "ttl": 15,
                "permissions": {
                    "resources": {
                        "channels": {"a": 3}, "groups": {"g": 4}, "uuids": {"u2": 96},
                        "users": {"u2": 96}, "spaces": {"a": 3},
                    },
                    "patterns": {
                        "channels": {"^b-.*$": 1}, "groups": {}, "uuids": {},
                        "users": {}, "spaces": {"^b-.*$": 1},
                    },
                    "meta": {"k": 1},
                    "uuid": "u1",
                }
            })
        );
    }

    #[test]
    fn a_name_granted_twice_gets_both_permissions() {
        let grant = client(true)
            .grant_token(15)
            .channel("a", Permissions::READ)
            .channel("a", Permissions::WRITE);
        assert_eq!(
            grant.op.body()["permissions"]["resources"]["channels"]["a"],
            3
        );
    }

    #[test]
    fn bad_grants_are_refused_before_sending() {
        let ok = |ttl| {
            client(true)
                .grant_token(ttl)
                .channel("a", Permissions::READ)
        };
        check(&ok(1)).unwrap();
        check(&ok(MAX_TTL_MINUTES)).unwrap();
        assert!(refused(ok(0)).contains("ttl"));
        assert!(refused(ok(MAX_TTL_MINUTES + 1)).contains("ttl"));
        assert!(refused(client(true).grant_token(5)).contains("at least one"));
        assert!(
            refused(client(false).grant_token(5).channel("a", Permissions::READ))
                .contains("secret key")
        );
        assert!(refused(ok(5).channel("b", Permissions::NONE)).contains("no permission"));
        assert!(refused(ok(5).channel("", Permissions::READ)).contains("empty"));
        assert!(refused(ok(5).channel("b", Permissions::from_bits(256))).contains("unknown"));
        assert!(refused(ok(5).channel_pattern("^(a", Permissions::READ)).contains("regular"));
        assert!(refused(ok(5).meta(json!([1]))).contains("meta"));
        assert!(refused(ok(5).authorized_user_id("")).contains("authorized"));
    }

    #[tokio::test]
    async fn revoke_needs_the_secret_key_and_a_token() {
        let error = client(false).revoke_token("x").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        let error = client(true)
            .revoke_token("SECRET-garbage")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert!(!error.to_string().contains("SECRET"), "{error}");
        let debug = format!("{:?}", client(true).revoke_token("SECRET-token"));
        assert!(!debug.contains("SECRET"), "{debug}");
    }
}

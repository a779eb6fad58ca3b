//! Access Manager (PROTOCOL.md §12): grant and revoke tokens with the secret key
//! ([`PubNub::grant_token`], [`PubNub::revoke_token`]), read a token ([`parse_token`]) and use
//! one ([`PubNub::set_token`]).
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
//! Either way, fetch a new token, call [`PubNub::set_token`], then [`PubNub::reconnect`]: the
//! loop resumes from its cursor, so nothing published meanwhile is lost.

mod token;

use serde_json::{json, Map, Value};

pub use token::{parse_token, Permissions, Token, TokenResources, MAX_TOKEN_LEN};

use crate::client::{into_future, PubNub};
use crate::error::Error;
use crate::retry::Endpoint;
use crate::transport::{encode, response, Method};

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

/// Grants a token; `.await` it for the token. Created by [`PubNub::grant_token`].
///
/// Needs the secret key. Everything is checked before sending: the TTL (1 to
/// [`MAX_TTL_MINUTES`]), at least one resource or pattern, each with at least one permission,
/// each pattern a valid regular expression, `meta` a JSON object.
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct GrantToken {
    pubnub: PubNub,
    ttl: u32,
    authorized_user_id: Option<String>,
    resources: Sets,
    patterns: Sets,
    meta: Option<Value>,
    retry: bool,
}

impl GrantToken {
    /// The only user id that may use the token (recommended: a token without one works for
    /// anyone who holds it).
    pub fn authorized_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.authorized_user_id = Some(user_id.into());
        self
    }

    /// [`GrantToken::authorized_user_id`] by its older name.
    pub fn authorized_uuid(self, uuid: impl Into<String>) -> Self {
        self.authorized_user_id(uuid)
    }

    /// Grants `permissions` on the channel `name`.
    pub fn channel(mut self, name: impl Into<String>, permissions: Permissions) -> Self {
        self.resources.channels.push(entry(name, permissions));
        self
    }

    /// Grants `permissions` on every channel whose name matches `pattern`, a regular
    /// expression.
    pub fn channel_pattern(mut self, pattern: impl Into<String>, permissions: Permissions) -> Self {
        self.patterns.channels.push(entry(pattern, permissions));
        self
    }

    /// Grants `permissions` on the channel group `name`.
    pub fn group(mut self, name: impl Into<String>, permissions: Permissions) -> Self {
        self.resources.groups.push(entry(name, permissions));
        self
    }

    /// Grants `permissions` on every channel group whose name matches `pattern`.
    pub fn group_pattern(mut self, pattern: impl Into<String>, permissions: Permissions) -> Self {
        self.patterns.groups.push(entry(pattern, permissions));
        self
    }

    /// Grants `permissions` on the user id `user_id` (App Context).
    pub fn user_id(mut self, user_id: impl Into<String>, permissions: Permissions) -> Self {
        self.resources.uuids.push(entry(user_id, permissions));
        self
    }

    /// Grants `permissions` on every user id that matches `pattern`.
    pub fn user_id_pattern(mut self, pattern: impl Into<String>, permissions: Permissions) -> Self {
        self.patterns.uuids.push(entry(pattern, permissions));
        self
    }

    /// [`GrantToken::user_id`] by its older name.
    pub fn uuid(self, uuid: impl Into<String>, permissions: Permissions) -> Self {
        self.user_id(uuid, permissions)
    }

    /// [`GrantToken::user_id_pattern`] by its older name.
    pub fn uuid_pattern(self, pattern: impl Into<String>, permissions: Permissions) -> Self {
        self.user_id_pattern(pattern, permissions)
    }

    /// Data stored in the token, a JSON object ([`Token::meta`]).
    pub fn meta(mut self, meta: Value) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    /// Everything that can be refused before sending.
    fn check(&self) -> Result<(), Error> {
        require_secret(&self.pubnub, "grant_token")?;
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

    async fn send(self) -> Result<String, Error> {
        self.check()?;
        let core = self.pubnub.core();
        let path = format!("/v3/pam/{}/grant", core.sub_key_segment());
        let mut request = core.request(Method::Post, path);
        // Grant is authorised by the signature, not a token.
        request.query.retain(|(key, _)| *key != "auth");
        request.body = Some(self.body().to_string().into_bytes());
        core.execute(Endpoint::AccessManager, request, self.retry, |answer| {
            let json = response::check(answer)?;
            json.pointer("/data/token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| Error::decode("grant response: no `data.token`"))
        })
        .await
    }
}
into_future!(GrantToken, String);

/// Revokes a token; `.await` it. Created by [`PubNub::revoke_token`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Clone)]
pub struct RevokeToken {
    pubnub: PubNub,
    token: String,
    retry: bool,
}

impl std::fmt::Debug for RevokeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevokeToken")
            .field("token", &"***")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl RevokeToken {
    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<(), Error> {
        require_secret(&self.pubnub, "revoke_token")?;
        parse_token(&self.token)?;
        let core = self.pubnub.core();
        let path = format!(
            "/v3/pam/{}/grant/{}",
            core.sub_key_segment(),
            encode::encode(self.token.trim())
        );
        let mut request = core.request(Method::Delete, path);
        request.query.retain(|(key, _)| *key != "auth");
        core.execute(Endpoint::AccessManager, request, self.retry, |answer| {
            response::check(answer).map(|_| ())
        })
        .await
    }
}
into_future!(RevokeToken, ());

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

fn require_secret(pubnub: &PubNub, what: &str) -> Result<(), Error> {
    if pubnub.core().config().secret().is_none() {
        return Err(Error::invalid(format!(
            "{what} needs the secret key (ConfigBuilder::secret_key)"
        )));
    }
    Ok(())
}

impl PubNub {
    /// Grants a token for `ttl_minutes` (1 to [`MAX_TTL_MINUTES`]); name what it allows with
    /// the builder. Needs the secret key: only a server should hold it.
    pub fn grant_token(&self, ttl_minutes: u32) -> GrantToken {
        GrantToken {
            pubnub: self.clone(),
            ttl: ttl_minutes,
            authorized_user_id: None,
            resources: Sets::default(),
            patterns: Sets::default(),
            meta: None,
            retry: false,
        }
    }

    /// Revokes `token`: the service refuses it from then on. Needs the secret key, and
    /// Access Manager's revoke enabled on the keyset.
    pub fn revoke_token(&self, token: impl Into<String>) -> RevokeToken {
        RevokeToken {
            pubnub: self.clone(),
            token: token.into(),
            retry: false,
        }
    }

    /// Reads a token: [`parse_token`].
    pub fn parse_token(&self, token: &str) -> Result<Token, Error> {
        parse_token(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn client(secret: bool) -> PubNub {
        let builder = PubNub::builder("sub", "me").publish_key("pub");
        let builder = if secret {
            builder.secret_key("sec-SECRET")
        } else {
            builder
        };
        builder.build_client().unwrap()
    }

    fn refused(grant: GrantToken) -> String {
        let error = grant.check().unwrap_err();
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
        grant.check().unwrap();
        assert_eq!(
            grant.body(),
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
        assert_eq!(grant.body()["permissions"]["resources"]["channels"]["a"], 3);
    }

    #[test]
    fn bad_grants_are_refused_before_sending() {
        let ok = |ttl| {
            client(true)
                .grant_token(ttl)
                .channel("a", Permissions::READ)
        };
        ok(1).check().unwrap();
        ok(MAX_TTL_MINUTES).check().unwrap();
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

//! Access Manager tokens (PROTOCOL.md §12.4): what a grant asks for, the token issued for it,
//! and the checks a request's token must pass.
//!
//! A token is URL-safe base64, `=` padding kept (PubNub's Python SDK does not restore it), of a
//! CBOR map with byte-string keys, as the service's: `v` (2), `t` (Unix seconds at grant),
//! `ttl` (minutes), `res` and `pat` (each `{chan, grp, usr, spc, uuid}`: name → permission
//! bits), `meta`, `uuid` (the authorized user id, when granted one) and `sig`. The service's
//! signature algorithm is not public; this server's `sig` is HMAC-SHA256, with the secret key,
//! of the CBOR of the map without `sig`, so only tokens it (or another pubnub-local with the
//! same key) issued are accepted.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Mutex;

use base64::engine::general_purpose::{GeneralPurpose, URL_SAFE};
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use ciborium::value::{Integer, Value as Cbor};
use hmac::{KeyInit, Mac};
use regex::Regex;
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// A token's CBOR map, in order.
type Entries = Vec<(Cbor, Cbor)>;

/// The service's permission bits.
pub(crate) const READ: u32 = 1;
pub(crate) const WRITE: u32 = 2;
pub(crate) const MANAGE: u32 = 4;
pub(crate) const DELETE: u32 = 8;
pub(crate) const GET: u32 = 32;
pub(crate) const UPDATE: u32 = 64;

/// The longest TTL the service grants, in minutes (30 days).
pub(crate) const MAX_TTL: u64 = 43_200;

/// Longest token read, in characters.
const MAX_TOKEN_LEN: usize = 32 * 1024;

/// Tokens remembered for the console, newest kept.
const MAX_ISSUED: usize = 1000;

const ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Names with their permission bits, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sets {
    pub(crate) channels: BTreeMap<String, u32>,
    pub(crate) groups: BTreeMap<String, u32>,
    pub(crate) uuids: BTreeMap<String, u32>,
}

impl Sets {
    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.groups.is_empty() && self.uuids.is_empty()
    }
}

/// What a grant request asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grant {
    pub(crate) ttl: u64,
    pub(crate) authorized_uuid: Option<String>,
    pub(crate) resources: Sets,
    pub(crate) patterns: Sets,
    pub(crate) meta: serde_json::Map<String, Value>,
}

/// Why a grant body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GrantError {
    /// `ttl` is missing, not a whole number (or a string of digits), or outside
    /// 1..=[`MAX_TTL`]: the service's recorded "Invalid ttl".
    Ttl,
    /// Anything else, with the reason.
    Invalid(String),
}

impl From<String> for GrantError {
    fn from(why: String) -> GrantError {
        GrantError::Invalid(why)
    }
}

impl From<&str> for GrantError {
    fn from(why: &str) -> GrantError {
        GrantError::Invalid(why.to_string())
    }
}

impl Grant {
    /// Reads a grant body: `{"ttl":…,"permissions":{"resources":{…},"patterns":{…},
    /// "meta":{…},"uuid":"…"}}`. `spaces` are channels and `users` user ids, as the service's
    /// older names. `ttl` may be a number or, as old Python SDKs send it and the service
    /// accepted (2021 recording), a string of digits.
    pub(crate) fn from_body(body: &[u8]) -> Result<Grant, GrantError> {
        let json: Value = serde_json::from_slice(body).map_err(|_| "The body is not JSON.")?;
        let ttl = match json.get("ttl") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(digits)) if digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse().ok()
            }
            _ => None,
        }
        .filter(|ttl| (1..=MAX_TTL).contains(ttl))
        .ok_or(GrantError::Ttl)?;
        let permissions = json
            .get("permissions")
            .and_then(Value::as_object)
            .ok_or("No permissions.")?;
        let resources = sets(permissions.get("resources"), false)?;
        let patterns = sets(permissions.get("patterns"), true)?;
        if resources.is_empty() && patterns.is_empty() {
            return Err("No resources or patterns.".into());
        }
        let meta = match permissions.get("meta") {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(meta)) => meta.clone(),
            Some(_) => return Err("Invalid meta: an object is required.".into()),
        };
        let authorized_uuid = match permissions.get("uuid") {
            None | Some(Value::Null) => None,
            Some(Value::String(uuid)) if !uuid.is_empty() => Some(uuid.clone()),
            Some(_) => return Err("Invalid uuid.".into()),
        };
        Ok(Grant {
            ttl,
            authorized_uuid,
            resources,
            patterns,
            meta,
        })
    }
}

fn sets(value: Option<&Value>, patterns: bool) -> Result<Sets, String> {
    let mut out = Sets::default();
    let Some(value) = value else {
        return Ok(out);
    };
    let object = value
        .as_object()
        .ok_or("Invalid resources: an object is required.")?;
    for (kind, names) in object {
        let set = match kind.as_str() {
            "channels" | "spaces" => &mut out.channels,
            "groups" => &mut out.groups,
            "uuids" | "users" => &mut out.uuids,
            other => return Err(format!("Unknown resource type {other:?}.")),
        };
        let names = names
            .as_object()
            .ok_or_else(|| format!("Invalid {kind}: an object is required."))?;
        for (name, bits) in names {
            let bits = bits
                .as_u64()
                .and_then(|b| u32::try_from(b).ok())
                .filter(|b| (1..=255).contains(b))
                .ok_or_else(|| format!("Invalid permissions for {name:?}."))?;
            if name.is_empty() {
                return Err(format!("An empty name in {kind}."));
            }
            if patterns && Regex::new(name).is_err() {
                return Err(format!("Invalid pattern {name:?}."));
            }
            *set.entry(name.clone()).or_default() |= bits;
        }
    }
    Ok(out)
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// Not a token, or not one this server signed.
    Invalid,
    Expired,
    Revoked,
}

/// A token that passed every check but the permissions of the request.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) authorized_uuid: Option<String>,
    resources: Sets,
    patterns: Vec<(Kind, Regex, u32)>,
}

/// A kind of resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Channel,
    Group,
    Uuid,
}

impl Verified {
    /// Whether the token grants every bit of `needed` on `name` of `kind`, through its
    /// resource or any matching pattern.
    pub(crate) fn allows(&self, kind: Kind, name: &str, needed: u32) -> bool {
        let set = match kind {
            Kind::Channel => &self.resources.channels,
            Kind::Group => &self.resources.groups,
            Kind::Uuid => &self.resources.uuids,
        };
        let mut bits = set.get(name).copied().unwrap_or(0);
        for (pattern_kind, pattern, pattern_bits) in &self.patterns {
            if *pattern_kind == kind && pattern.is_match(name) {
                bits |= pattern_bits;
            }
        }
        bits & needed == needed
    }
}

/// Issues, revokes and checks tokens with one secret key.
pub(crate) struct Tokens {
    secret: String,
    /// Signatures of revoked tokens.
    revoked: Mutex<HashSet<Vec<u8>>>,
    /// The latest tokens granted or revoked, for the console.
    issued: Mutex<VecDeque<Issued>>,
}

/// A token granted (or revoked) here, as the console lists it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Issued {
    pub(crate) token: String,
    /// Unix seconds.
    pub(crate) granted: u64,
    /// Minutes.
    pub(crate) ttl: u64,
    pub(crate) authorized_uuid: Option<String>,
    pub(crate) resources: Sets,
    pub(crate) patterns: Sets,
    pub(crate) meta: serde_json::Map<String, Value>,
    /// Unix seconds of its revocation.
    pub(crate) revoked: Option<u64>,
    sig: Vec<u8>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("secret", &"***")
            .finish_non_exhaustive()
    }
}

fn bytes_key(key: &str) -> Cbor {
    Cbor::Bytes(key.as_bytes().to_vec())
}

fn int(n: u64) -> Cbor {
    Cbor::Integer(Integer::from(n))
}

fn set_cbor(set: &BTreeMap<String, u32>) -> Cbor {
    Cbor::Map(
        set.iter()
            .map(|(name, bits)| (Cbor::Text(name.clone()), int(u64::from(*bits))))
            .collect(),
    )
}

/// `{chan, grp, usr, spc, uuid}` in the service's order; `usr` and `spc` stay empty.
fn sets_cbor(sets: &Sets) -> Cbor {
    let empty = BTreeMap::new();
    Cbor::Map(vec![
        (bytes_key("chan"), set_cbor(&sets.channels)),
        (bytes_key("grp"), set_cbor(&sets.groups)),
        (bytes_key("usr"), set_cbor(&empty)),
        (bytes_key("spc"), set_cbor(&empty)),
        (bytes_key("uuid"), set_cbor(&sets.uuids)),
    ])
}

fn json_cbor(value: &Value) -> Cbor {
    match value {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                int(u)
            } else if let Some(i) = n.as_i64() {
                Cbor::Integer(Integer::from(i))
            } else {
                Cbor::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(items) => Cbor::Array(items.iter().map(json_cbor).collect()),
        Value::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), json_cbor(v)))
                .collect(),
        ),
    }
}

fn encode(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = ciborium::ser::into_writer(value, &mut out);
    out
}

fn key_text(key: &Cbor) -> Option<&str> {
    match key {
        Cbor::Bytes(bytes) => std::str::from_utf8(bytes).ok(),
        Cbor::Text(text) => Some(text),
        _ => None,
    }
}

fn unsigned(value: &Cbor) -> Option<u64> {
    match value {
        Cbor::Integer(i) => u64::try_from(i128::from(*i)).ok(),
        _ => None,
    }
}

fn read_sets(value: &Cbor) -> Option<Sets> {
    let Cbor::Map(entries) = value else {
        return None;
    };
    let mut out = Sets::default();
    for (key, names) in entries {
        let set = match key_text(key)? {
            "chan" | "spc" => &mut out.channels,
            "grp" => &mut out.groups,
            "uuid" | "usr" => &mut out.uuids,
            _ => continue,
        };
        let Cbor::Map(names) = names else {
            return None;
        };
        for (name, bits) in names {
            let bits = u32::try_from(unsigned(bits)?).ok()?;
            *set.entry(key_text(name)?.to_owned()).or_default() |= bits;
        }
    }
    Some(out)
}

/// Whether a token granted at `t` (Unix seconds) for `ttl` minutes has expired at `now`.
fn expired(t: u64, ttl: u64, now: u64) -> bool {
    now >= t.saturating_add(ttl.saturating_mul(60))
}

impl Tokens {
    pub(crate) fn new(secret: String) -> Tokens {
        Tokens {
            secret,
            revoked: Mutex::new(HashSet::new()),
            issued: Mutex::new(VecDeque::new()),
        }
    }

    fn mac(&self, bytes: &[u8]) -> Vec<u8> {
        let Ok(mut mac) = HmacSha256::new_from_slice(self.secret.as_bytes()) else {
            return Vec::new();
        };
        mac.update(bytes);
        mac.finalize().into_bytes().to_vec()
    }

    /// A token for `grant`, granted at `now` (Unix seconds).
    pub(crate) fn issue(&self, grant: &Grant, now: u64) -> String {
        let mut entries = vec![
            (bytes_key("v"), int(2)),
            (bytes_key("t"), int(now)),
            (bytes_key("ttl"), int(grant.ttl)),
            (bytes_key("res"), sets_cbor(&grant.resources)),
            (bytes_key("pat"), sets_cbor(&grant.patterns)),
            (
                bytes_key("meta"),
                json_cbor(&Value::Object(grant.meta.clone())),
            ),
        ];
        if let Some(uuid) = &grant.authorized_uuid {
            entries.push((bytes_key("uuid"), Cbor::Text(uuid.clone())));
        }
        let sig = self.mac(&encode(&Cbor::Map(entries.clone())));
        entries.push((bytes_key("sig"), Cbor::Bytes(sig.clone())));
        let token = URL_SAFE.encode(encode(&Cbor::Map(entries)));
        self.remember(Issued {
            token: token.clone(),
            granted: now,
            ttl: grant.ttl,
            authorized_uuid: grant.authorized_uuid.clone(),
            resources: grant.resources.clone(),
            patterns: grant.patterns.clone(),
            meta: grant.meta.clone(),
            revoked: None,
            sig,
        });
        token
    }

    fn remember(&self, issued: Issued) {
        let mut list = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        if list.len() == MAX_ISSUED {
            list.pop_front();
        }
        list.push_back(issued);
    }

    /// The latest tokens granted or revoked here, oldest first.
    pub(crate) fn issued(&self) -> Vec<Issued> {
        let list = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        list.iter().cloned().collect()
    }

    /// Decodes `token` and checks its signature; returns its entries and signature.
    fn open(&self, token: &str) -> Result<(Entries, Vec<u8>), TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let bytes = ANY_PADDING.decode(token).map_err(|_| TokenError::Invalid)?;
        let value: Cbor =
            ciborium::de::from_reader(bytes.as_slice()).map_err(|_| TokenError::Invalid)?;
        let Cbor::Map(mut entries) = value else {
            return Err(TokenError::Invalid);
        };
        let at = entries
            .iter()
            .position(|(k, _)| key_text(k) == Some("sig"))
            .ok_or(TokenError::Invalid)?;
        let (_, sig) = entries.remove(at);
        let Cbor::Bytes(sig) = sig else {
            return Err(TokenError::Invalid);
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(self.secret.as_bytes()) else {
            return Err(TokenError::Invalid);
        };
        mac.update(&encode(&Cbor::Map(entries.clone())));
        mac.verify_slice(&sig).map_err(|_| TokenError::Invalid)?;
        Ok((entries, sig))
    }

    /// Revokes `token` at `now` (Unix seconds), if this server issued it and it has not
    /// expired (the service refuses to revoke an expired token). Revoking twice succeeds.
    pub(crate) fn revoke(&self, token: &str, now: u64) -> Result<(), TokenError> {
        let (entries, sig) = self.open(token)?;
        let field = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| key_text(k) == Some(name))
                .and_then(|(_, v)| unsigned(v))
        };
        let (Some(t), Some(ttl)) = (field("t"), field("ttl")) else {
            return Err(TokenError::Invalid);
        };
        if expired(t, ttl, now) {
            return Err(TokenError::Expired);
        }
        self.revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sig.clone());
        let mut list = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        match list.iter_mut().find(|issued| issued.sig == sig) {
            Some(issued) => {
                issued.revoked.get_or_insert(now);
            }
            None => {
                // Granted by an earlier run with the same key, or forgotten: list it anyway.
                drop(list);
                let sets = |name: &str| {
                    entries
                        .iter()
                        .find(|(k, _)| key_text(k) == Some(name))
                        .and_then(|(_, v)| read_sets(v))
                        .unwrap_or_default()
                };
                let authorized_uuid = entries.iter().find_map(|(k, v)| match (key_text(k), v) {
                    (Some("uuid"), Cbor::Text(uuid)) => Some(uuid.clone()),
                    _ => None,
                });
                self.remember(Issued {
                    token: token.to_string(),
                    granted: t,
                    ttl,
                    authorized_uuid,
                    resources: sets("res"),
                    patterns: sets("pat"),
                    meta: serde_json::Map::new(),
                    revoked: Some(now),
                    sig,
                });
            }
        }
        Ok(())
    }

    /// Checks `token` at `now` (Unix seconds): signed here, not revoked, not expired.
    pub(crate) fn verify(&self, token: &str, now: u64) -> Result<Verified, TokenError> {
        let (entries, sig) = self.open(token)?;
        if self
            .revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&sig)
        {
            return Err(TokenError::Revoked);
        }
        let mut t = None;
        let mut ttl = None;
        let mut resources = Sets::default();
        let mut pattern_sets = Sets::default();
        let mut authorized_uuid = None;
        for (key, value) in &entries {
            match key_text(key) {
                Some("t") => t = unsigned(value),
                Some("ttl") => ttl = unsigned(value),
                Some("res") => resources = read_sets(value).ok_or(TokenError::Invalid)?,
                Some("pat") => pattern_sets = read_sets(value).ok_or(TokenError::Invalid)?,
                Some("uuid") => {
                    if let Cbor::Text(uuid) = value {
                        authorized_uuid = Some(uuid.clone());
                    }
                }
                _ => {}
            }
        }
        let (Some(t), Some(ttl)) = (t, ttl) else {
            return Err(TokenError::Invalid);
        };
        if expired(t, ttl, now) {
            return Err(TokenError::Expired);
        }
        let mut patterns = Vec::new();
        for (kind, set) in [
            (Kind::Channel, &pattern_sets.channels),
            (Kind::Group, &pattern_sets.groups),
            (Kind::Uuid, &pattern_sets.uuids),
        ] {
            for (pattern, bits) in set {
                let regex = Regex::new(pattern).map_err(|_| TokenError::Invalid)?;
                patterns.push((kind, regex, *bits));
            }
        }
        Ok(Verified {
            authorized_uuid,
            resources,
            patterns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grant(body: Value) -> Result<Grant, GrantError> {
        Grant::from_body(body.to_string().as_bytes())
    }

    fn sample() -> Grant {
        grant(json!({
            "ttl": 10,
            "permissions": {
                "resources": {"channels": {"a": 3}, "groups": {"g": 5}, "uuids": {}, "users": {"u": 32}, "spaces": {"a": 3}},
                "patterns": {"channels": {"^news-.*$": 1}},
                "meta": {"k": [1, -2, 1.5, null, true]},
                "uuid": "me",
            }
        }))
        .unwrap()
    }

    #[test]
    fn grant_bodies_are_read_and_checked() {
        let g = sample();
        assert_eq!(g.ttl, 10);
        assert_eq!(g.resources.channels["a"], 3);
        assert_eq!(g.resources.uuids["u"], 32);
        assert_eq!(g.authorized_uuid.as_deref(), Some("me"));
        let resources = json!({"channels": {"a": 1}});
        for ttl in [
            json!(0),
            json!(43201),
            json!("0"),
            json!("15.0"),
            json!(" 15"),
            json!(-1),
            json!(1.5),
            json!(null),
            json!("x"),
        ] {
            let body = json!({"ttl": ttl, "permissions": {"resources": resources}});
            assert_eq!(grant(body).unwrap_err(), GrantError::Ttl, "{ttl}");
        }
        assert_eq!(
            grant(json!({"permissions": {"resources": resources}})).unwrap_err(),
            GrantError::Ttl
        );
        for (ttl, minutes) in [(json!("15"), 15), (json!(1), 1), (json!("43200"), 43200)] {
            let body = json!({"ttl": ttl, "permissions": {"resources": resources}});
            assert_eq!(grant(body).unwrap().ttl, minutes);
        }
        for (body, why) in [
            (
                json!({"ttl": 1, "permissions": {"resources": {}}}),
                "No resources",
            ),
            (
                json!({"ttl": 1, "permissions": {"patterns": {"channels": {"^(": 1}}}}),
                "pattern",
            ),
            (
                json!({"ttl": 1, "permissions": {"resources": {"channels": {"a": 0}}}}),
                "permissions",
            ),
            (
                json!({"ttl": 1, "permissions": {"resources": resources, "meta": 3}}),
                "meta",
            ),
        ] {
            let GrantError::Invalid(error) = grant(body).unwrap_err() else {
                panic!("not a ttl error");
            };
            assert!(error.contains(why), "{error}");
        }
        assert!(Grant::from_body(b"not json").is_err());
    }

    #[test]
    fn issued_tokens_verify_until_they_expire_or_are_revoked() {
        let tokens = Tokens::new("secret".into());
        let token = tokens.issue(&sample(), 1_000);
        assert!(token.ends_with('=') || token.len().is_multiple_of(4));
        let ok = tokens.verify(&token, 1_000 + 599).unwrap();
        assert_eq!(ok.authorized_uuid.as_deref(), Some("me"));
        assert!(ok.allows(Kind::Channel, "a", READ | WRITE));
        assert!(!ok.allows(Kind::Channel, "a", MANAGE));
        assert!(ok.allows(Kind::Channel, "news-1", READ));
        assert!(!ok.allows(Kind::Channel, "news-1", WRITE));
        assert!(!ok.allows(Kind::Channel, "b", READ));
        assert!(ok.allows(Kind::Group, "g", MANAGE | READ));
        assert!(!ok.allows(Kind::Group, "a", READ));
        // Without padding too.
        assert!(tokens.verify(token.trim_end_matches('='), 1_000).is_ok());
        assert_eq!(
            tokens.verify(&token, 1_600).unwrap_err(),
            TokenError::Expired
        );
        // Another key's token, a tampered one, garbage.
        let other = Tokens::new("other".into()).issue(&sample(), 1_000);
        assert_eq!(
            tokens.verify(&other, 1_000).unwrap_err(),
            TokenError::Invalid
        );
        for bad in ["", "x", "qEF2AkF0", &"A".repeat(40_000)] {
            assert_eq!(tokens.verify(bad, 1_000).unwrap_err(), TokenError::Invalid);
        }
        assert_eq!(tokens.revoke(&token, 1_600), Err(TokenError::Expired));
        tokens.revoke(&token, 1_599).unwrap();
        tokens.revoke(&token, 1_599).unwrap();
        assert_eq!(
            tokens.verify(&token, 1_000).unwrap_err(),
            TokenError::Revoked
        );
        assert_eq!(
            tokens.revoke("garbage", 0).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn granted_and_revoked_tokens_are_remembered() {
        let tokens = Tokens::new("secret".into());
        let token = tokens.issue(&sample(), 1_000);
        let listed = tokens.issued();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].token, token);
        assert_eq!((listed[0].granted, listed[0].ttl), (1_000, 10));
        assert_eq!(listed[0].authorized_uuid.as_deref(), Some("me"));
        assert_eq!(listed[0].resources.channels["a"], READ | WRITE);
        tokens.revoke(&token, 1_100).unwrap();
        tokens.revoke(&token, 1_200).unwrap();
        assert_eq!(
            tokens.issued()[0].revoked,
            Some(1_100),
            "the first revocation"
        );
        // A token of an earlier run with the same key is listed when it is revoked.
        // (Another grant time: the same grant at the same second is the same token.)
        let earlier = Tokens::new("secret".into()).issue(&sample(), 1_050);
        tokens.revoke(&earlier, 1_300).unwrap();
        let listed = tokens.issued();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].revoked, Some(1_300));
        assert_eq!(listed[1].resources, sample().resources);
        assert_eq!(listed[1].authorized_uuid.as_deref(), Some("me"));
    }
}

//! Access Manager v3 tokens (PROTOCOL.md §12.4): URL-safe base64 of a CBOR map whose keys are
//! byte strings, read into a [`Token`] by [`parse_token`].

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{BitOr, BitOrAssign};

use base64::engine::general_purpose::GeneralPurpose;
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;
use ciborium::value::Value as Cbor;
use serde_json::{Map, Value};

use crate::error::Error;

/// Longest token [`parse_token`] reads, in characters: the service's tokens are a few hundred
/// characters; a bigger one is refused before it is decoded.
pub const MAX_TOKEN_LEN: usize = 32 * 1024;

/// What a grant allows on one resource: a set of the service's permission bits.
///
/// ```
/// use pubnub_engine::access::Permissions;
///
/// let p = Permissions::new().read().write();
/// assert_eq!(p, Permissions::READ | Permissions::WRITE);
/// assert_eq!(p.bits(), 3);
/// assert!(p.can_read() && !p.can_manage());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Permissions(u32);

impl Permissions {
    /// Nothing.
    pub const NONE: Permissions = Permissions(0);
    /// Subscribe, fetch history, here-now, list message actions.
    pub const READ: Permissions = Permissions(1);
    /// Publish, signal, add message actions.
    pub const WRITE: Permissions = Permissions(2);
    /// Channel group management.
    pub const MANAGE: Permissions = Permissions(4);
    /// Delete stored messages, remove message actions.
    pub const DELETE: Permissions = Permissions(8);
    /// App Context: create (legacy objects).
    pub const CREATE: Permissions = Permissions(16);
    /// App Context: read metadata and memberships.
    pub const GET: Permissions = Permissions(32);
    /// App Context: update metadata and memberships.
    pub const UPDATE: Permissions = Permissions(64);
    /// App Context: join (a channel's members).
    pub const JOIN: Permissions = Permissions(128);
    /// Every permission bit the service defines.
    pub const ALL: Permissions = Permissions(255);

    /// No permission; add some with the builder methods.
    pub const fn new() -> Permissions {
        Permissions(0)
    }

    /// The bits as the service sends them: read = 1, write = 2, manage = 4, delete = 8,
    /// create = 16, get = 32, update = 64, join = 128.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The permissions of `bits`, unknown bits kept.
    pub const fn from_bits(bits: u32) -> Permissions {
        Permissions(bits)
    }

    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// With read.
    pub const fn read(self) -> Permissions {
        Permissions(self.0 | 1)
    }
    /// With write.
    pub const fn write(self) -> Permissions {
        Permissions(self.0 | 2)
    }
    /// With manage.
    pub const fn manage(self) -> Permissions {
        Permissions(self.0 | 4)
    }
    /// With delete.
    pub const fn delete(self) -> Permissions {
        Permissions(self.0 | 8)
    }
    /// With create.
    pub const fn create(self) -> Permissions {
        Permissions(self.0 | 16)
    }
    /// With get.
    pub const fn get(self) -> Permissions {
        Permissions(self.0 | 32)
    }
    /// With update.
    pub const fn update(self) -> Permissions {
        Permissions(self.0 | 64)
    }
    /// With join.
    pub const fn join(self) -> Permissions {
        Permissions(self.0 | 128)
    }

    /// Whether read is set.
    pub const fn can_read(self) -> bool {
        self.contains(Self::READ)
    }
    /// Whether write is set.
    pub const fn can_write(self) -> bool {
        self.contains(Self::WRITE)
    }
    /// Whether manage is set.
    pub const fn can_manage(self) -> bool {
        self.contains(Self::MANAGE)
    }
    /// Whether delete is set.
    pub const fn can_delete(self) -> bool {
        self.contains(Self::DELETE)
    }
    /// Whether create is set.
    pub const fn can_create(self) -> bool {
        self.contains(Self::CREATE)
    }
    /// Whether get is set.
    pub const fn can_get(self) -> bool {
        self.contains(Self::GET)
    }
    /// Whether update is set.
    pub const fn can_update(self) -> bool {
        self.contains(Self::UPDATE)
    }
    /// Whether join is set.
    pub const fn can_join(self) -> bool {
        self.contains(Self::JOIN)
    }
}

impl BitOr for Permissions {
    type Output = Permissions;
    fn bitor(self, rhs: Permissions) -> Permissions {
        Permissions(self.0 | rhs.0)
    }
}

impl BitOrAssign for Permissions {
    fn bitor_assign(&mut self, rhs: Permissions) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 8] = [
            "read", "write", "manage", "delete", "create", "get", "update", "join",
        ];
        f.write_str("Permissions(")?;
        let mut first = true;
        for (bit, name) in NAMES.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        let unknown = self.0 & !Self::ALL.0;
        if unknown != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{unknown:#x}")?;
        }
        f.write_str(")")
    }
}

/// The resources (or patterns) of a token, each name with its permissions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TokenResources {
    /// Channels (`chan`).
    pub channels: BTreeMap<String, Permissions>,
    /// Channel groups (`grp`).
    pub groups: BTreeMap<String, Permissions>,
    /// User ids (`uuid`).
    pub user_ids: BTreeMap<String, Permissions>,
    /// Spaces (`spc`): the older name of channels, which the grant repeats.
    pub spaces: BTreeMap<String, Permissions>,
    /// Users (`usr`): the older name of user ids, which the grant repeats.
    pub users: BTreeMap<String, Permissions>,
}

impl TokenResources {
    /// Whether no resource is named.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
            && self.groups.is_empty()
            && self.user_ids.is_empty()
            && self.spaces.is_empty()
            && self.users.is_empty()
    }
}

/// A parsed Access Manager token. `Debug` leaves out the signature.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Token {
    /// The token format's version (2 today).
    pub version: u32,
    /// When it was granted, in Unix seconds.
    pub timestamp: u64,
    /// How long it lives after `timestamp`, in minutes.
    pub ttl: u32,
    /// The only user id that may use it, when the grant named one.
    pub authorized_user_id: Option<String>,
    /// Resources named exactly.
    pub resources: TokenResources,
    /// Resources named by regular expressions.
    pub patterns: TokenResources,
    /// The grant's `meta`.
    pub meta: Map<String, Value>,
    /// The service's signature of the token.
    pub signature: Vec<u8>,
}

impl Token {
    /// When it expires, in Unix seconds: `timestamp + ttl × 60`.
    pub fn expires_at(&self) -> u64 {
        self.timestamp
            .saturating_add(u64::from(self.ttl).saturating_mul(60))
    }

    /// Whether it has expired at `unix_seconds`.
    pub fn is_expired_at(&self, unix_seconds: u64) -> bool {
        unix_seconds >= self.expires_at()
    }

    /// [`Token::authorized_user_id`] by its older name.
    pub fn authorized_uuid(&self) -> Option<&str> {
        self.authorized_user_id.as_deref()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("version", &self.version)
            .field("timestamp", &self.timestamp)
            .field("ttl", &self.ttl)
            .field("authorized_user_id", &self.authorized_user_id)
            .field("resources", &self.resources)
            .field("patterns", &self.patterns)
            .field("meta", &self.meta)
            .field(
                "signature",
                &format_args!("<{} bytes>", self.signature.len()),
            )
            .finish()
    }
}

/// URL-safe base64 that takes `=` padding or none: the service's tokens have none, and the
/// tokens some servers issue keep it.
const BASE64URL_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Reads an Access Manager token: URL-safe base64 (with or without `=` padding) of CBOR.
///
/// Fails with [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for anything
/// that is not a token; the message never repeats the token.
///
/// ```
/// let token = pubnub_engine::access::parse_token(
///     "qEF2AkF0GmEI03xDdHRsGDxDcmVzpURjaGFuoWljaGFubmVsLTEY70NncnChb2NoYW5uZWxfZ3JvdXAtMQVDdXNyoENzcGOgRHV1aWShZnV1aWQtMRhoQ3BhdKVEY2hhbqFtXmNoYW5uZWwtXFMqJBjvQ2dycKF0XjpjaGFubmVsX2dyb3VwLVxTKiQFQ3VzcqBDc3BjoER1dWlkoWpedXVpZC1cUyokGGhEbWV0YaBEdXVpZHR0ZXN0LWF1dGhvcml6ZWQtdXVpZENzaWdYIPpU-vCe9rkpYs87YUrFNWkyNq8CVvmKwEjVinnDrJJc",
/// )?;
/// assert_eq!(token.ttl, 60);
/// assert!(token.resources.channels["channel-1"].can_read());
/// # Ok::<(), pubnub_engine::Error>(())
/// ```
pub fn parse_token(token: &str) -> Result<Token, Error> {
    let bad = |why: &str| Error::invalid(format!("not an Access Manager token: {why}"));
    let token = token.trim();
    if token.is_empty() {
        return Err(bad("it is empty"));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(bad("it is too long"));
    }
    let bytes = BASE64URL_ANY_PADDING
        .decode(token)
        .map_err(|_| bad("it is not URL-safe base64"))?;
    let value: Cbor =
        ciborium::de::from_reader(bytes.as_slice()).map_err(|_| bad("it is not CBOR"))?;
    let Cbor::Map(entries) = value else {
        return Err(bad("it is not a CBOR map"));
    };
    let mut version = None;
    let mut timestamp = None;
    let mut ttl = None;
    let mut resources = None;
    let mut patterns = None;
    let mut meta = Map::new();
    let mut authorized = None;
    let mut signature = None;
    for (key, value) in &entries {
        let Some(key) = key_text(key) else {
            return Err(bad("a key is neither a byte nor a text string"));
        };
        match key {
            "v" => version = Some(unsigned(value).ok_or_else(|| bad("`v` is not a number"))?),
            "t" => timestamp = Some(unsigned(value).ok_or_else(|| bad("`t` is not a number"))?),
            "ttl" => ttl = Some(unsigned(value).ok_or_else(|| bad("`ttl` is not a number"))?),
            "res" => resources = Some(resource_sets(value).ok_or_else(|| bad("bad `res`"))?),
            "pat" => patterns = Some(resource_sets(value).ok_or_else(|| bad("bad `pat`"))?),
            "meta" => match to_json(value, 0) {
                Some(Value::Object(map)) => meta = map,
                Some(Value::Null) => {}
                _ => return Err(bad("`meta` is not a map")),
            },
            "uuid" => match value {
                Cbor::Text(text) => authorized = Some(text.clone()),
                Cbor::Bytes(bytes) => {
                    authorized = Some(
                        String::from_utf8(bytes.clone()).map_err(|_| bad("`uuid` is not UTF-8"))?,
                    )
                }
                Cbor::Null => {}
                _ => return Err(bad("`uuid` is not a string")),
            },
            "sig" => match value {
                Cbor::Bytes(bytes) => signature = Some(bytes.clone()),
                _ => return Err(bad("`sig` is not a byte string")),
            },
            // Later versions may add fields.
            _ => {}
        }
    }
    let version = version.ok_or_else(|| bad("no version (`v`)"))?;
    Ok(Token {
        version: u32::try_from(version).map_err(|_| bad("`v` is out of range"))?,
        timestamp: timestamp.ok_or_else(|| bad("no timestamp (`t`)"))?,
        ttl: ttl
            .and_then(|t| u32::try_from(t).ok())
            .ok_or_else(|| bad("no usable `ttl`"))?,
        authorized_user_id: authorized,
        resources: resources.ok_or_else(|| bad("no resources (`res`)"))?,
        patterns: patterns.unwrap_or_default(),
        meta,
        signature: signature.ok_or_else(|| bad("no signature (`sig`)"))?,
    })
}

/// A map key: a byte string (as the service writes them) or a text string, as UTF-8.
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

/// `{chan: {name: bits}, grp: …, uuid: …, spc: …, usr: …}`.
fn resource_sets(value: &Cbor) -> Option<TokenResources> {
    let Cbor::Map(entries) = value else {
        return None;
    };
    let mut out = TokenResources::default();
    for (key, value) in entries {
        let set = match key_text(key)? {
            "chan" => &mut out.channels,
            "grp" => &mut out.groups,
            "uuid" => &mut out.user_ids,
            "spc" => &mut out.spaces,
            "usr" => &mut out.users,
            _ => continue,
        };
        let Cbor::Map(names) = value else {
            return None;
        };
        for (name, bits) in names {
            let name = key_text(name)?.to_owned();
            let bits = u32::try_from(unsigned(bits)?).ok()?;
            set.insert(name, Permissions::from_bits(bits));
        }
    }
    Some(out)
}

/// CBOR as JSON, for `meta`: byte strings and keys as UTF-8 text, tags dropped, non-finite
/// floats as null. `None` for what JSON cannot hold (a non-UTF-8 key, an integer beyond 64
/// bits) or nesting deeper than 64.
fn to_json(value: &Cbor, depth: usize) -> Option<Value> {
    if depth > 64 {
        return None;
    }
    Some(match value {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(*b),
        Cbor::Integer(i) => {
            let i = i128::from(*i);
            if let Ok(u) = u64::try_from(i) {
                Value::from(u)
            } else {
                Value::from(i64::try_from(i).ok()?)
            }
        }
        Cbor::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Cbor::Text(text) => Value::String(text.clone()),
        Cbor::Bytes(bytes) => Value::String(String::from_utf8(bytes.clone()).ok()?),
        Cbor::Tag(_, inner) => to_json(inner, depth + 1)?,
        Cbor::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| to_json(item, depth + 1))
                .collect::<Option<_>>()?,
        ),
        Cbor::Map(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                map.insert(key_text(key)?.to_owned(), to_json(value, depth + 1)?);
            }
            Value::Object(map)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use serde_json::json;

    /// PubNub's "token with everything", shared by the test suites of its Go, Swift, Ruby and
    /// JavaScript SDKs.
    const EVERYTHING: &str = "qEF2AkF0GmEI03xDdHRsGDxDcmVzpURjaGFuoWljaGFubmVsLTEY70NncnChb2NoYW5uZWxfZ3JvdXAtMQVDdXNyoENzcGOgRHV1aWShZnV1aWQtMRhoQ3BhdKVEY2hhbqFtXmNoYW5uZWwtXFMqJBjvQ2dycKF0XjpjaGFubmVsX2dyb3VwLVxTKiQFQ3VzcqBDc3BjoER1dWlkoWpedXVpZC1cUyokGGhEbWV0YaBEdXVpZHR0ZXN0LWF1dGhvcml6ZWQtdXVpZENzaWdYIPpU-vCe9rkpYs87YUrFNWkyNq8CVvmKwEjVinnDrJJc";

    /// A token with `meta`, from the test suite of PubNub's Kotlin SDK (`TokenParserTest`).
    const WITH_META: &str = "qEF2AkF0GmFLd-NDdHRsGQWgQ3Jlc6VEY2hhbqFjY2gxGP9DZ3JwoWNjZzEY_0N1c3KgQ3NwY6BEdXVpZKFldXVpZDEY_0NwYXSlRGNoYW6gQ2dycKBDdXNyoENzcGOgRHV1aWShYl4kAURtZXRho2VzY29yZRhkZWNvbG9yY3JlZGZhdXRob3JlcGFuZHVEdXVpZGtteWF1dGh1dWlkMUNzaWdYIP2vlxHik0EPZwtgYxAW3-LsBaX_WgWdYvtAXpYbKll3";

    /// From the test suite of PubNub's Rust crate (`parse_token`): floats and null in `meta`.
    const RUST_CRATE: &str = "qEF2AkF0GmQ1YSpDdHRsGQU5Q3Jlc6VEY2hhbqFvY2hhbm5lbFJlc291cmNlGP9DZ3JwoWxjaGFubmVsR3JvdXABQ3NwY6BDdXNyoER1dWlkoENwYXSlRGNoYW6haWNoYW5uZWwuKgJDZ3JwoW5jaGFubmVsR3JvdXAuKgRDc3BjoEN1c3KgRHV1aWShZnV1aWQuKhhoRG1ldGGkZG1ldGFkZGF0YWdpbnRlZ2VyGQU5ZW90aGVy9mVmbG9hdPtAKr1wo9cKPUR1dWlkZHV1aWRDc2lnWCAbOhXPSWx05l4c3Iuf-SWVOVpLM6xyto3lVPdMKdhJ2A";

    fn p(bits: u32) -> Permissions {
        Permissions::from_bits(bits)
    }

    #[test]
    fn parses_the_token_with_everything() {
        let token = parse_token(EVERYTHING).unwrap();
        assert_eq!(token.version, 2);
        assert_eq!(token.timestamp, 1_627_968_380);
        assert_eq!(token.ttl, 60);
        assert_eq!(token.expires_at(), 1_627_968_380 + 3600);
        assert_eq!(
            token.authorized_user_id.as_deref(),
            Some("test-authorized-uuid")
        );
        assert_eq!(token.resources.channels["channel-1"], p(239));
        assert_eq!(token.resources.groups["channel_group-1"], p(5));
        assert_eq!(token.resources.user_ids["uuid-1"], p(104));
        assert!(token.resources.spaces.is_empty() && token.resources.users.is_empty());
        assert_eq!(token.patterns.channels[r"^channel-\S*$"], p(239));
        assert_eq!(token.patterns.groups[r"^:channel_group-\S*$"], p(5));
        assert_eq!(token.patterns.user_ids[r"^uuid-\S*$"], p(104));
        assert!(token.meta.is_empty());
        assert_eq!(token.signature.len(), 32);
        let channel = token.resources.channels["channel-1"];
        assert!(channel.can_read() && channel.can_write() && channel.can_manage());
        assert!(channel.can_delete() && channel.can_get() && channel.can_update());
        assert!(channel.can_join() && !channel.can_create());
    }

    #[test]
    fn parses_meta() {
        let token = parse_token(WITH_META).unwrap();
        assert_eq!(token.ttl, 1440);
        assert_eq!(token.authorized_user_id.as_deref(), Some("myauthuuid1"));
        assert_eq!(
            Value::Object(token.meta.clone()),
            json!({"score": 100, "color": "red", "author": "pandu"})
        );
        assert_eq!(token.resources.channels["ch1"], Permissions::ALL);
        assert_eq!(token.patterns.user_ids["^$"], Permissions::READ);
        let token = parse_token(RUST_CRATE).unwrap();
        assert_eq!(token.meta["meta"], json!("data"));
        assert_eq!(token.meta["integer"], json!(1337));
        assert_eq!(token.meta["other"], Value::Null);
        assert!((token.meta["float"].as_f64().unwrap() - 13.37).abs() < 1e-9);
        assert_eq!(token.patterns.channels["channel.*"], Permissions::WRITE);
    }

    #[test]
    fn padding_is_optional() {
        let mut padded_some = false;
        for unpadded in [EVERYTHING, WITH_META, RUST_CRATE] {
            let padded = format!("{unpadded}{}", "=".repeat((4 - unpadded.len() % 4) % 4));
            padded_some |= padded != unpadded;
            assert_eq!(
                parse_token(&padded).unwrap(),
                parse_token(unpadded).unwrap()
            );
        }
        assert!(padded_some);
    }

    #[test]
    fn malformed_tokens_are_typed_errors_without_the_token() {
        let cut = &EVERYTHING[..EVERYTHING.len() / 2];
        let long = "A".repeat(MAX_TOKEN_LEN + 4);
        let not_a_map = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0x01]);
        // A map with only `v`.
        let only_version =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xa1, 0x41, b'v', 0x02]);
        // Deep nesting must not overflow the stack.
        let deep = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0x81; 10_000]);
        for bad in [
            "",
            "   ",
            "not a token!",
            "qEF2",
            cut,
            &long,
            &not_a_map,
            &only_version,
            &deep,
        ] {
            let error = parse_token(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{bad:.20}");
            if bad.len() > 8 {
                assert!(!error.to_string().contains(bad), "{error}");
            }
        }
    }

    #[test]
    fn debug_hides_the_signature() {
        let token = parse_token(EVERYTHING).unwrap();
        let debug = format!("{token:?}");
        assert!(debug.contains("<32 bytes>"), "{debug}");
        assert!(debug.contains("channel-1"), "{debug}");
        assert_eq!(
            format!("{:?}", p(239)),
            "Permissions(read | write | manage | delete | get | update | join)"
        );
        assert_eq!(format!("{:?}", p(0x101)), "Permissions(read | 0x100)");
    }
}

//! The subscribe response as it travels on the wire (PROTOCOL.md §5.4–5.5), and the typed
//! envelope every message, signal and event of a subscribe response becomes.
//!
//! Hostile input is expected: one envelope that cannot be decoded (invalid UTF-8, a lone
//! surrogate escape, a number out of range, a field of the wrong type) becomes an envelope of
//! kind [`EnvelopeKind::Undecodable`], delivered to the app as an error event; it never fails
//! the response (the same cursor would get the same answer forever) and is never dropped in
//! silence. Payloads are validated without building a JSON tree and kept as their text
//! ([`Payload`]), so parsing costs about the size of the answer, not ~16 times it.

use serde_json::Value;

use crate::engine::Cursor;
use crate::subscribe::payload::Payload;

/// What an envelope carries (`e` on the wire; presence is recognised by the `-pnpres` channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeKind {
    /// A published message (`e` absent or 0).
    Message,
    /// A signal (`e` = 1).
    Signal,
    /// An App Context (objects) event (`e` = 2).
    Objects,
    /// A message action (`e` = 3).
    MessageAction,
    /// A file event (`e` = 4).
    File,
    /// A presence event (on a `-pnpres` channel).
    Presence,
    /// An envelope that could not be decoded: its `payload` is the envelope's text as received
    /// (invalid UTF-8 replaced by U+FFFD), not JSON, and `error` says why.
    Undecodable,
}

/// One entry of a subscribe response's `m` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// What this envelope carries.
    pub kind: EnvelopeKind,
    /// The actual channel (`c`); for presence, the `-pnpres` channel.
    pub channel: String,
    /// The subscription match (`b`): a group, a wildcard pattern or the channel itself.
    pub subscription: String,
    /// The publish timetoken and region of this envelope (`p`).
    pub published: Cursor,
    /// The publisher (`i`).
    pub publisher: Option<String>,
    /// The payload (`d`), as published.
    pub payload: Payload,
    /// The publisher's metadata (`u`).
    pub meta: Option<Value>,
    /// The custom message type (`cmt`).
    pub custom_message_type: Option<String>,
    /// The publisher's sequence number (`s`).
    pub seqn: Option<u32>,
    /// Why an [`EnvelopeKind::Undecodable`] envelope could not be decoded.
    pub error: Option<String>,
    /// Read from history by gap fill, not delivered by the subscribe loop.
    pub recovered: bool,
}

/// A parsed subscribe response: the next cursor and the envelopes, in response order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeResponse {
    /// The cursor to poll from next (`t`).
    pub cursor: Cursor,
    /// The envelopes (`m`).
    pub messages: Vec<Envelope>,
}

/// Why a subscribe response could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError(pub String);

impl Envelope {
    /// A plain message on `channel` at `timetoken`, for samples and tests.
    pub(crate) fn sample(channel: &str, timetoken: u64) -> Envelope {
        Envelope {
            kind: EnvelopeKind::Message,
            channel: channel.to_owned(),
            subscription: channel.to_owned(),
            published: Cursor::new(timetoken, 1),
            publisher: None,
            payload: Payload::from(Value::Null),
            meta: None,
            custom_message_type: None,
            seqn: None,
            error: None,
            recovered: false,
        }
    }
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed subscribe response: {}", self.0)
    }
}

impl std::error::Error for EnvelopeError {}

/// Parses a subscribe response body (PROTOCOL.md §5.4). Never panics: a body without a valid
/// cursor is an [`EnvelopeError`]. An envelope that cannot be decoded becomes an
/// [`EnvelopeKind::Undecodable`] envelope in its place, so the others are kept and the cursor
/// moves past it.
pub fn parse(body: &[u8]) -> Result<SubscribeResponse, EnvelopeError> {
    match std::str::from_utf8(body) {
        Ok(text) => parse_text(text, &[]),
        Err(_) => {
            // Invalid UTF-8 somewhere: replace it, remember where, and fail only the
            // envelopes it is in.
            let (text, replaced) = lossy(body);
            parse_text(&text, &replaced)
        }
    }
}

/// `body` with every invalid UTF-8 sequence replaced by U+FFFD, and the byte offsets of the
/// replacements in the result.
fn lossy(body: &[u8]) -> (String, Vec<usize>) {
    let mut text = String::with_capacity(body.len() + 16);
    let mut replaced = Vec::new();
    for chunk in body.utf8_chunks() {
        text.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            replaced.push(text.len());
            text.push(char::REPLACEMENT_CHARACTER);
        }
    }
    (text, replaced)
}

fn parse_text(text: &str, replaced: &[usize]) -> Result<SubscribeResponse, EnvelopeError> {
    let wire: wire::Response<'_> =
        serde_json::from_str(text).map_err(|e| EnvelopeError(e.to_string()))?;
    let mut messages = Vec::with_capacity(wire.m.len());
    for raw in wire.m {
        let raw = raw.get();
        let start = raw.as_ptr() as usize - text.as_ptr() as usize;
        let damaged = replaced
            .iter()
            .any(|&at| at >= start && at < start + raw.len());
        let envelope = if damaged {
            Err(EnvelopeError("invalid UTF-8".to_owned()))
        } else {
            serde_json::from_str::<wire::Message<'_>>(raw)
                .map_err(|e| EnvelopeError(e.to_string()))
                .and_then(wire::Message::into_envelope)
        };
        messages.push(envelope.unwrap_or_else(|e| {
            tracing::warn!("an envelope could not be decoded: {}", e.0);
            wire::undecodable(raw, e.0)
        }));
    }
    Ok(SubscribeResponse {
        cursor: wire.t.into(),
        messages,
    })
}

mod wire {
    //! The JSON shape, lenient where PubNub's services and SDKs disagree: timetokens as strings
    //! or numbers, `e` as a number or a numeric string, `b` and `m` optional.

    use serde::de::{self, Deserializer, Visitor};
    use serde::Deserialize;
    use serde_json::value::RawValue;
    use serde_json::Value;

    use super::{Envelope, EnvelopeError, EnvelopeKind};
    use crate::engine::{Cursor, PRESENCE_SUFFIX};
    use crate::subscribe::payload::{self, Payload};

    #[derive(Deserialize)]
    pub(super) struct Response<'a> {
        pub(super) t: WireCursor,
        /// Each envelope is parsed on its own, so one bad envelope cannot spoil the others.
        #[serde(default, borrow)]
        pub(super) m: Vec<&'a RawValue>,
    }

    #[derive(Deserialize)]
    pub(super) struct WireCursor {
        #[serde(deserialize_with = "number_or_string")]
        t: u64,
        #[serde(default)]
        r: u32,
    }

    impl From<WireCursor> for Cursor {
        fn from(c: WireCursor) -> Cursor {
            Cursor::new(c.t, c.r)
        }
    }

    #[derive(Deserialize)]
    pub(super) struct Message<'a> {
        b: Option<String>,
        c: String,
        /// Kept as text: validated without a tree, parsed only if someone looks at it.
        #[serde(borrow)]
        d: Option<&'a RawValue>,
        #[serde(default, deserialize_with = "optional_number_or_string")]
        e: Option<u64>,
        i: Option<String>,
        p: WireCursor,
        s: Option<u32>,
        u: Option<Value>,
        cmt: Option<String>,
    }

    impl Message<'_> {
        pub(super) fn into_envelope(self) -> Result<Envelope, EnvelopeError> {
            let kind = match self.e {
                None | Some(0) if self.c.ends_with(PRESENCE_SUFFIX) => EnvelopeKind::Presence,
                None | Some(0) => EnvelopeKind::Message,
                Some(1) => EnvelopeKind::Signal,
                Some(2) => EnvelopeKind::Objects,
                Some(3) => EnvelopeKind::MessageAction,
                Some(4) => EnvelopeKind::File,
                Some(other) => {
                    return Err(EnvelopeError(format!("unknown envelope type e={other}")))
                }
            };
            let payload = match self.d {
                Some(d) => {
                    // Lone surrogates, numbers out of range, nesting too deep: refused here,
                    // without building a tree, so that `Payload` can always be parsed later.
                    payload::check_json(d.get())
                        .map_err(|e| EnvelopeError(format!("payload: {e}")))?;
                    Payload::from_validated(d.get())
                }
                None => Payload::from(Value::Null),
            };
            Ok(Envelope {
                kind,
                subscription: self.b.unwrap_or_else(|| self.c.clone()),
                channel: self.c,
                published: self.p.into(),
                publisher: self.i,
                payload,
                meta: self.u,
                custom_message_type: self.cmt,
                seqn: self.s,
                error: None,
                recovered: false,
            })
        }
    }

    /// What can still be read of an envelope that could not be decoded: every field is
    /// optional and taken only when it has the right type.
    #[derive(Deserialize, Default)]
    struct Partial {
        b: Option<Value>,
        c: Option<Value>,
        i: Option<Value>,
        p: Option<Value>,
    }

    /// The error envelope for `raw`, which could not be decoded because of `error`.
    pub(super) fn undecodable(raw: &str, error: String) -> Envelope {
        let partial = serde_json::from_str::<Partial>(raw).unwrap_or_default();
        let text = |v: Option<Value>| match v {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        let channel = text(partial.c).unwrap_or_default();
        let published = partial
            .p
            .and_then(|p| serde_json::from_value::<WireCursor>(p).ok())
            .map(Cursor::from)
            .unwrap_or_default();
        Envelope {
            kind: EnvelopeKind::Undecodable,
            subscription: text(partial.b).unwrap_or_else(|| channel.clone()),
            channel,
            published,
            publisher: text(partial.i),
            payload: Payload::from_validated(raw),
            meta: None,
            custom_message_type: None,
            seqn: None,
            error: Some(error),
            recovered: false,
        }
    }

    struct NumberOrString;

    impl Visitor<'_> for NumberOrString {
        type Value = u64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an unsigned integer or a string of digits")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::custom("negative number"))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            v.parse().map_err(|_| E::custom("not a number"))
        }
    }

    fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(NumberOrString)
    }

    fn optional_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        Option::<Value>::deserialize(d)?
            .map(|v| match v {
                Value::Number(n) => n.as_u64().ok_or_else(|| de::Error::custom("bad number")),
                Value::String(s) => s.parse().map_err(|_| de::Error::custom("not a number")),
                _ => Err(de::Error::custom("expected a number")),
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_recorded_exchange() {
        let body = br#"{"t":{"t":"14818963573055360","r":12},"m":[{"a":"2","f":0,"i":"pub","s":1,
            "p":{"t":"14818963573025400","r":12},"k":"sub-c","c":"ch","d":"hey"}]}"#;
        let r = parse(body).unwrap();
        assert_eq!(r.cursor, Cursor::new(14818963573055360, 12));
        let m = &r.messages[0];
        assert_eq!(m.kind, EnvelopeKind::Message);
        assert_eq!(m.channel, "ch");
        assert_eq!(m.subscription, "ch", "b defaults to c");
        assert_eq!(m.published, Cursor::new(14818963573025400, 12));
        assert_eq!(m.publisher.as_deref(), Some("pub"));
        assert_eq!(m.payload, json!("hey"));
        assert_eq!(m.seqn, Some(1));
    }

    #[test]
    fn classifies_every_kind_and_accepts_lenient_forms() {
        let body = br#"{"t":{"t":17000000000000001,"r":1},"m":[
            {"a":"1","f":0,"e":1,"p":{"t":"1","r":1},"k":"k","c":"c","d":"sig","b":"c"},
            {"a":"1","f":0,"e":"2","p":{"t":"2","r":1},"k":"k","c":"c","d":{}},
            {"a":"1","f":0,"e":3,"p":{"t":"3","r":1},"k":"k","c":"c","d":{}},
            {"a":"1","f":0,"e":4,"p":{"t":"4","r":1},"k":"k","c":"c","d":{}},
            {"a":"2","f":0,"p":{"t":"5","r":1},"k":"k","c":"c-pnpres","d":{"action":"join"},"b":"g-pnpres"},
            {"a":"1","f":0,"p":{"t":"6","r":1},"k":"k","c":"a.b","d":1,"b":"a.*","u":{"x":1},"cmt":"chat"}]}"#;
        let r = parse(body).unwrap();
        let kinds: Vec<_> = r.messages.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                EnvelopeKind::Signal,
                EnvelopeKind::Objects,
                EnvelopeKind::MessageAction,
                EnvelopeKind::File,
                EnvelopeKind::Presence,
                EnvelopeKind::Message
            ]
        );
        assert_eq!(r.messages[4].subscription, "g-pnpres");
        assert_eq!(r.messages[5].subscription, "a.*");
        assert_eq!(r.messages[5].meta, Some(json!({"x":1})));
        assert_eq!(r.messages[5].custom_message_type.as_deref(), Some("chat"));
    }

    #[test]
    fn missing_m_is_an_empty_batch() {
        let r = parse(br#"{"t":{"t":"17000000000000000","r":4}}"#).unwrap();
        assert!(r.messages.is_empty());
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"not json",
            b"[1,\"Sent\",\"1\"]",
            b"{\"t\":{\"t\":\"abc\",\"r\":1},\"m\":[]}",
            b"{\"t\":{\"t\":\"-1\",\"r\":1},\"m\":[]}",
            b"{\"t\":{\"t\":\"1\",\"r\":1},\"m\":{}}",
            b"{\"t\":{\"t\":\"1\",\"r\":1},\"m\":[{\"c\":\"x\",\"p\":{\"t\":\"1\"",
            b"{\"t\":{\"t\":\"99999999999999999999999\",\"r\":1}}",
        ] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn a_bad_envelope_becomes_an_error_envelope_and_the_others_are_kept() {
        let good = r#"{"a":"1","f":0,"p":{"t":"5","r":1},"k":"k","c":"ok","d":1}"#;
        for (bad, channel) in [
            (r#"{"c":"x"}"#, "x"),
            (r#"{"c":"x","p":{"t":"1"},"e":99}"#, "x"),
            (r#"{"c":"x","p":{"t":"1"},"e":[1]}"#, "x"),
            (r#"{"c":7,"p":{"t":"1"}}"#, ""),
            (r#""not an object""#, ""),
            (r#"{"c":"x","p":{"t":"3"},"i":"js","d":"cut \ud83d"}"#, "x"),
            (r#"{"c":"x","p":{"t":"3"},"d":{"n":1e400}}"#, "x"),
            (r#"{"c":"x","p":{"t":"3"},"d":1,"u":{"n":-1e999}}"#, "x"),
        ] {
            let body = format!(r#"{{"t":{{"t":"9","r":1}},"m":[{bad},{good}]}}"#);
            let r = parse(body.as_bytes()).unwrap_or_else(|e| panic!("{bad}: {e}"));
            assert_eq!(r.cursor, Cursor::new(9, 1));
            assert_eq!(r.messages.len(), 2, "{bad}");
            let error = &r.messages[0];
            assert_eq!(error.kind, EnvelopeKind::Undecodable, "{bad}");
            assert_eq!(error.channel, channel, "{bad}");
            assert_eq!(error.payload.json(), bad);
            assert!(error.error.is_some());
            assert_eq!(r.messages[1].channel, "ok");
            assert_eq!(r.messages[1].payload, json!(1));
        }
    }

    #[test]
    fn invalid_utf8_fails_only_its_envelope() {
        let mut body =
            br#"{"t":{"t":"9","r":1},"m":[{"p":{"t":"1"},"c":"a","i":"p","d":"one"},"#.to_vec();
        body.extend_from_slice(br#"{"p":{"t":"2"},"c":"b","i":"p","d":"bad "#);
        body.extend_from_slice(&[0xff, 0xfe]);
        body.extend_from_slice(br#""},{"p":{"t":"3"},"c":"c","d":"three"}]}"#);
        let r = parse(&body).unwrap();
        assert_eq!(r.messages.len(), 3);
        assert_eq!(r.messages[0].payload, json!("one"));
        let bad = &r.messages[1];
        assert_eq!(bad.kind, EnvelopeKind::Undecodable);
        assert_eq!((bad.channel.as_str(), bad.published.timetoken), ("b", 2));
        assert_eq!(bad.publisher.as_deref(), Some("p"));
        assert!(bad.payload.json().contains("bad \u{fffd}"));
        assert_eq!(bad.error.as_deref(), Some("invalid UTF-8"));
        assert_eq!(r.messages[2].payload, json!("three"));
    }

    #[test]
    fn payloads_stay_text_until_used() {
        let r = parse(br#"{"t":{"t":"9","r":1},"m":[{"p":{"t":"1"},"c":"a","d":{"b": [1, 2]}}]}"#)
            .unwrap();
        assert_eq!(r.messages[0].payload.json(), r#"{"b": [1, 2]}"#);
        assert_eq!(r.messages[0].payload["b"][1], 2);
    }
}

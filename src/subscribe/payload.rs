//! [`Payload`]: a message's JSON as it arrived, shared between listeners and parsed only when
//! someone looks at it.
//!
//! A subscribe answer can carry megabytes. Parsed into a `serde_json::Value` tree, JSON of small
//! numbers takes ~16 times its size, and each copy per update and per listener takes it again:
//! a 10 MB answer cost 481 MB. A payload keeps the raw text (validated once, when the answer is
//! parsed, with no tree built) behind an `Arc`, so every listener shares one copy; it is parsed
//! into a tree only on first use of [`Payload::value`] (or `Deref`), once, and
//! [`Payload::deserialize`] reads your own type straight from the text.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::error::{Error, ErrorKind};

/// A JSON payload (a message, a signal): its text as published, shared, and parsed into a
/// [`Value`] only when first looked at.
///
/// It dereferences to [`Value`], so `payload["text"]`, `payload.as_str()` and
/// `payload == json!(…)` work as on a `Value`; [`Payload::deserialize`] reads your own type
/// from the text without building a tree, and [`Payload::json`] is the text itself.
///
/// ```
/// use pubnub_engine::Payload;
/// use serde_json::json;
///
/// let payload = Payload::from(json!({"text": "hello", "n": 1}));
/// assert_eq!(payload["text"], "hello");
/// assert_eq!(payload, json!({"n": 1, "text": "hello"}));
/// #[derive(serde::Deserialize)]
/// struct Chat { text: String }
/// assert_eq!(payload.deserialize::<Chat>()?.text, "hello");
/// # Ok::<(), pubnub_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Payload {
    inner: Arc<Inner>,
}

struct Inner {
    text: Box<str>,
    value: OnceLock<Value>,
}

impl Payload {
    /// A payload of JSON text that was validated already (the envelope parser checks it with
    /// no tree). Text that is not JSON reads as `null` through [`Payload::value`].
    pub(crate) fn from_validated(text: impl Into<Box<str>>) -> Payload {
        Payload {
            inner: Arc::new(Inner {
                text: text.into(),
                value: OnceLock::new(),
            }),
        }
    }

    /// The JSON text, as published. (Not `get`: that is [`Value::get`], which `Deref` keeps.)
    pub fn json(&self) -> &str {
        &self.inner.text
    }

    /// The payload as a [`Value`], parsed on first use and kept.
    pub fn value(&self) -> &Value {
        self.inner
            .value
            .get_or_init(|| serde_json::from_str(&self.inner.text).unwrap_or(Value::Null))
    }

    /// The payload as your own type, read straight from the text.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Error> {
        match self.inner.value.get() {
            Some(value) => T::deserialize(value).map_err(decode_error),
            None => serde_json::from_str(&self.inner.text).map_err(decode_error),
        }
    }

    /// A copy of the payload as an owned [`Value`].
    pub fn to_value(&self) -> Value {
        self.value().clone()
    }

    /// The length of the JSON text, in bytes.
    pub fn len(&self) -> usize {
        self.inner.text.len()
    }

    /// True for an empty text (never the case for a payload that came from the service).
    pub fn is_empty(&self) -> bool {
        self.inner.text.is_empty()
    }
}

/// Checks that `text` is JSON a [`Value`] can hold, without building one: so that a
/// [`Payload`] made of it can always be parsed later.
pub(crate) fn check_json(text: &str) -> Result<(), serde_json::Error> {
    serde_json::from_str::<Valid>(text).map(|_| ())
}

/// JSON that a `Value` can hold: read through `deserialize_any` like a `Value` (so strings
/// are decoded, numbers range-checked and nesting limited as when the payload is parsed
/// later), but nothing is kept. `IgnoredAny` would skip without those checks.
struct Valid;

impl<'de> Deserialize<'de> for Valid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Valid, D::Error> {
        d.deserialize_any(ValidVisitor)
    }
}

struct ValidVisitor;

impl<'de> Visitor<'de> for ValidVisitor {
    type Value = Valid;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Valid, E> {
        Ok(Valid)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Valid, A::Error> {
        while seq.next_element::<Valid>()?.is_some() {}
        Ok(Valid)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Valid, A::Error> {
        while map.next_entry::<Valid, Valid>()?.is_some() {}
        Ok(Valid)
    }
}

fn decode_error(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::Decode, e.to_string())
}

impl Deref for Payload {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value()
    }
}

impl From<Value> for Payload {
    fn from(value: Value) -> Payload {
        Payload {
            inner: Arc::new(Inner {
                text: value.to_string().into_boxed_str(),
                value: OnceLock::from(value),
            }),
        }
    }
}

impl Default for Payload {
    fn default() -> Payload {
        Payload::from(Value::Null)
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || self.json() == other.json()
            || self.value() == other.value()
    }
}

impl Eq for Payload {}

impl PartialEq<Value> for Payload {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl PartialEq<Payload> for Value {
    fn eq(&self, other: &Payload) -> bool {
        self == other.value()
    }
}

/// `payload == 1`, `payload == "text"`, … compare as a [`Value`] does.
macro_rules! eq_as_value {
    ($($ty:ty),*) => {$(
        impl PartialEq<$ty> for Payload {
            fn eq(&self, other: &$ty) -> bool {
                self.value() == other
            }
        }
    )*};
}

eq_as_value!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64, bool, str, String);

impl PartialEq<&str> for Payload {
    fn eq(&self, other: &&str) -> bool {
        self.value() == *other
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

/// The JSON text, as published.
impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

/// Serialises as the JSON it holds (the text is written as is, not as a string).
impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(self.json()) {
            Ok(raw) => raw.serialize(serializer),
            Err(_) => Value::Null.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parsed_once_on_first_use_and_shared_by_clones() {
        let payload = Payload::from_validated(r#"{"a":[1,2,3]}"#);
        assert!(payload.inner.value.get().is_none(), "nothing parsed yet");
        let clone = payload.clone();
        assert_eq!(clone["a"][1], 2);
        assert!(payload.inner.value.get().is_some(), "parsed once, for both");
        assert_eq!(payload.json(), r#"{"a":[1,2,3]}"#);
        assert_eq!(payload.to_string(), r#"{"a":[1,2,3]}"#);
        assert_eq!(serde_json::to_string(&payload).unwrap(), r#"{"a":[1,2,3]}"#);
    }

    #[test]
    fn compares_as_json() {
        let spaced = Payload::from_validated(r#"{ "b": 1, "a": "x" }"#);
        assert_eq!(spaced, json!({"a": "x", "b": 1}));
        assert_eq!(json!({"a": "x", "b": 1}), spaced);
        assert_eq!(spaced, Payload::from(json!({"b": 1, "a": "x"})));
        assert_ne!(spaced, json!({"a": "y", "b": 1}));
        assert_eq!(Payload::from_validated("1"), 1);
        assert_eq!(Payload::from_validated(r#""x""#), "x");
        assert_eq!(Payload::from_validated("true"), true);
    }

    #[test]
    fn deserializes_without_a_tree() {
        let payload = Payload::from_validated(r#"[1,"two"]"#);
        let (n, s): (u8, String) = payload.deserialize().unwrap();
        assert_eq!((n, s.as_str()), (1, "two"));
        assert!(payload.inner.value.get().is_none());
        let error = payload.deserialize::<String>().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode);
    }
}

//! What subscribers receive: typed messages, signals, presence and other events, decoded once
//! from an [`Envelope`] and handed to every matching subscription.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::engine::PRESENCE_SUFFIX;
use crate::error::{Error, Reason};
use crate::subscribe::envelope::{Envelope, EnvelopeKind};
use crate::subscribe::payload::Payload;

/// A message published to a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The channel it was published to.
    pub channel: String,
    /// The subscription it matched: the channel, a wildcard pattern or a channel group.
    pub subscription: String,
    /// The publish timetoken.
    pub timetoken: u64,
    /// The publisher's user id, when it sent one.
    pub publisher: Option<String>,
    /// The payload, as published: its JSON text, shared by every listener and parsed on first
    /// use (it dereferences to a [`Value`]).
    pub message: Payload,
    /// The publisher's `meta` (what [`Publish::meta`](crate::publish::Publish::meta) sent;
    /// `meta` everywhere: history's [`HistoryMessage::meta`](crate::history::HistoryMessage::meta)
    /// too).
    pub meta: Option<Value>,
    /// The custom message type.
    pub custom_message_type: Option<String>,
    /// The envelope's sequence number (`s`): the publisher's `seqn`; the service puts 1 when
    /// the publisher sent none, so it does not identify a message.
    pub seqn: Option<u32>,
    /// Why the payload could not be decrypted, when the client has a
    /// [crypto module](crate::crypto) and it could not (kind
    /// [`ErrorKind::Decryption`](crate::ErrorKind::Decryption)): a wrong key, damaged data, an
    /// unknown format, or a message that was never encrypted. `message` is then the payload as
    /// received. Always `None` without a crypto module.
    pub error: Option<Reason>,
    /// Read from history by gap fill ([`ConfigBuilder::gap_fill`](crate::ConfigBuilder::gap_fill)):
    /// the service's queue had dropped it, and it arrives before the answer that revealed
    /// the gap.
    pub recovered: bool,
}

impl Message {
    /// The payload as the caller's own type.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.message.deserialize()
    }
}

/// A signal: a small, unstored message.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// The channel it was sent to.
    pub channel: String,
    /// The subscription it matched.
    pub subscription: String,
    /// The timetoken.
    pub timetoken: u64,
    /// The sender's user id.
    pub publisher: Option<String>,
    /// The payload (it dereferences to a [`Value`]).
    pub message: Payload,
    /// The custom message type.
    pub custom_message_type: Option<String>,
}

impl Signal {
    /// The payload as the caller's own type.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Error> {
        self.message.deserialize()
    }
}

/// What a presence event announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresenceAction {
    /// A user joined.
    Join,
    /// A user left.
    Leave,
    /// A user stopped heartbeating and timed out.
    Timeout,
    /// A user changed their state.
    StateChange,
    /// A periodic summary (interval mode), with deltas.
    Interval,
}

/// What happened to a message action (the event's `event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageActionEvent {
    /// It was added (`added`).
    Added,
    /// It was removed (`removed`).
    Removed,
}

/// What happened to an App Context object (the event's `event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppContextAction {
    /// It was set (`set`).
    Set,
    /// It was deleted (`delete`).
    Delete,
}

/// The kind of App Context object an event concerns (the event's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppContextObject {
    /// A user's metadata (`uuid`).
    User,
    /// A channel's metadata (`channel`).
    Channel,
    /// A membership: a user in a channel (`membership`).
    Membership,
}

/// Each event kind's name on the wire (`join`, `added`, `set`, `uuid`, …), as `as_str()` and
/// `Display`.
macro_rules! wire_names {
    ($($ty:ty { $($variant:ident => $name:literal),* $(,)? })*) => {$(
        impl $ty {
            /// The name the service uses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(<$ty>::$variant => $name,)*
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}

wire_names! {
    PresenceAction {
        Join => "join",
        Leave => "leave",
        Timeout => "timeout",
        StateChange => "state-change",
        Interval => "interval",
    }
    MessageActionEvent { Added => "added", Removed => "removed" }
    AppContextAction { Set => "set", Delete => "delete" }
    AppContextObject { User => "uuid", Channel => "channel", Membership => "membership" }
}

/// A presence event on a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceEvent {
    /// What happened.
    pub event: PresenceAction,
    /// The user it concerns (absent for `Interval`).
    pub user_id: Option<String>,
    /// Unix seconds.
    pub timestamp: u64,
    /// How many users are present.
    pub occupancy: u64,
    /// The user's state (`data` on the wire).
    pub state: Option<Value>,
    /// Users who joined since the last interval.
    pub joined: Vec<String>,
    /// Users who left since the last interval.
    pub left: Vec<String>,
    /// Users who timed out since the last interval.
    pub timedout: Vec<String>,
    /// The deltas were too large to send: call `here_now`.
    pub here_now_refresh: bool,
    /// The channel (without `-pnpres`).
    pub channel: String,
    /// The subscription it matched (without `-pnpres`).
    pub subscription: String,
    /// The timetoken of the event.
    pub timetoken: u64,
}

/// A message action (reaction, receipt…) added or removed.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageAction {
    /// The channel.
    pub channel: String,
    /// The subscription it matched.
    pub subscription: String,
    /// The timetoken of the event.
    pub timetoken: u64,
    /// Who added or removed it.
    pub publisher: Option<String>,
    /// Added or removed.
    pub event: MessageActionEvent,
    /// The timetoken of the message it applies to.
    pub message_timetoken: u64,
    /// The timetoken of the action.
    pub action_timetoken: u64,
    /// The action's type, e.g. `reaction`.
    pub action_type: String,
    /// The action's value.
    pub value: String,
}

/// A file shared on a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEvent {
    /// The channel.
    pub channel: String,
    /// The subscription it matched.
    pub subscription: String,
    /// The timetoken.
    pub timetoken: u64,
    /// Who shared it.
    pub publisher: Option<String>,
    /// The message sent with the file.
    pub message: Option<Value>,
    /// The metadata published with it (`meta`), if any.
    pub meta: Option<Value>,
    /// Its custom message type, if one was given.
    pub custom_message_type: Option<String>,
    /// The file's id.
    pub file_id: String,
    /// The file's name.
    pub file_name: String,
    /// The URL to download it from, built as PubNub's SDKs build it (with the client's auth
    /// token, and signed when it has a secret key): it redirects to the file in storage. Set
    /// on events delivered to listeners and streams; `None` only when it cannot be built.
    pub url: Option<String>,
}

/// An App Context (objects) event: channel, user or membership metadata set or deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct AppContextEvent {
    /// The channel.
    pub channel: String,
    /// The subscription it matched.
    pub subscription: String,
    /// The timetoken.
    pub timetoken: u64,
    /// Set or deleted.
    pub event: AppContextAction,
    /// What it concerns: a user's metadata, a channel's, or a membership.
    pub object_type: AppContextObject,
    /// The object's data.
    pub data: Value,
}

/// An event that could not be decoded: invalid UTF-8, a lone surrogate escape (a JavaScript
/// publisher cutting a string inside an emoji), a number out of range, a field of the wrong type,
/// or a payload whose shape does not fit its kind. It is delivered instead of being dropped,
/// and the subscription goes on past it.
#[derive(Debug, Clone, PartialEq)]
pub struct UndecodableEvent {
    /// The channel, when it could be read (else empty).
    pub channel: String,
    /// The subscription it matched, when it could be read (else the channel).
    pub subscription: String,
    /// The publish timetoken, when it could be read (else 0).
    pub timetoken: u64,
    /// The publisher, when it could be read.
    pub publisher: Option<String>,
    /// The envelope as received, invalid UTF-8 replaced by U+FFFD.
    pub raw: String,
    /// Why it could not be decoded.
    pub reason: String,
}

/// Anything a subscription can receive.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Update {
    /// A message.
    Message(Message),
    /// A signal.
    Signal(Signal),
    /// A presence event.
    Presence(PresenceEvent),
    /// A message action.
    MessageAction(MessageAction),
    /// A file.
    File(FileEvent),
    /// An App Context event.
    AppContext(AppContextEvent),
    /// An event that could not be decoded.
    Undecodable(UndecodableEvent),
}

impl Update {
    /// The channel this update happened on.
    pub fn channel(&self) -> &str {
        match self {
            Update::Message(m) => &m.channel,
            Update::Signal(s) => &s.channel,
            Update::Presence(p) => &p.channel,
            Update::MessageAction(a) => &a.channel,
            Update::File(f) => &f.channel,
            Update::AppContext(o) => &o.channel,
            Update::Undecodable(u) => &u.channel,
        }
    }

    /// The timetoken of the update.
    pub fn timetoken(&self) -> u64 {
        match self {
            Update::Message(m) => m.timetoken,
            Update::Signal(s) => s.timetoken,
            Update::Presence(p) => p.timetoken,
            Update::MessageAction(a) => a.timetoken,
            Update::File(f) => f.timetoken,
            Update::AppContext(o) => o.timetoken,
            Update::Undecodable(u) => u.timetoken,
        }
    }

    /// Decodes an envelope. An envelope that could not be decoded, or whose payload does not
    /// fit its kind (a malformed presence event, say), becomes [`Update::Undecodable`].
    pub fn from_envelope(envelope: &Envelope) -> Update {
        Update::decode(envelope).unwrap_or_else(|reason| {
            Update::Undecodable(UndecodableEvent {
                channel: envelope.channel.clone(),
                subscription: envelope.subscription.clone(),
                timetoken: envelope.published.timetoken,
                publisher: envelope.publisher.clone(),
                raw: envelope.payload.json().to_owned(),
                reason,
            })
        })
    }

    fn decode(envelope: &Envelope) -> Result<Update, String> {
        let e = envelope;
        let channel = e.channel.clone();
        let subscription = e.subscription.clone();
        let timetoken = e.published.timetoken;
        let decode = |what: &str, err: serde_json::Error| format!("malformed {what}: {err}");
        Ok(match e.kind {
            EnvelopeKind::Undecodable => {
                return Err(e.error.clone().unwrap_or_else(|| "undecodable".to_owned()))
            }
            EnvelopeKind::Message => Update::Message(Message {
                channel,
                subscription,
                timetoken,
                publisher: e.publisher.clone(),
                message: e.payload.clone(),
                meta: e.meta.clone(),
                custom_message_type: e.custom_message_type.clone(),
                seqn: e.seqn,
                error: None,
                recovered: e.recovered,
            }),
            EnvelopeKind::Signal => Update::Signal(Signal {
                channel,
                subscription,
                timetoken,
                publisher: e.publisher.clone(),
                message: e.payload.clone(),
                custom_message_type: e.custom_message_type.clone(),
            }),
            EnvelopeKind::Presence => {
                let p = serde_json::from_str::<WirePresence>(e.payload.json())
                    .map_err(|err| decode("presence event", err))?;
                let strip = |s: &str| s.strip_suffix(PRESENCE_SUFFIX).unwrap_or(s).to_string();
                Update::Presence(PresenceEvent {
                    event: p.action,
                    user_id: p.uuid,
                    timestamp: p.timestamp,
                    occupancy: p.occupancy,
                    state: p.data,
                    joined: p.join,
                    left: p.leave,
                    timedout: p.timeout,
                    here_now_refresh: p.here_now_refresh,
                    channel: strip(&e.channel),
                    subscription: strip(&e.subscription),
                    timetoken,
                })
            }
            EnvelopeKind::MessageAction => {
                let a = serde_json::from_str::<WireAction>(e.payload.json())
                    .map_err(|err| decode("message action", err))?;
                Update::MessageAction(MessageAction {
                    channel,
                    subscription,
                    timetoken,
                    publisher: e.publisher.clone(),
                    event: a.event,
                    message_timetoken: a.data.message_timetoken,
                    action_timetoken: a.data.action_timetoken,
                    action_type: a.data.action_type,
                    value: a.data.value,
                })
            }
            EnvelopeKind::File => {
                let f = serde_json::from_str::<WireFile>(e.payload.json())
                    .map_err(|err| decode("file event", err))?;
                Update::File(FileEvent {
                    channel,
                    subscription,
                    timetoken,
                    publisher: e.publisher.clone(),
                    message: f.message,
                    meta: e.meta.clone(),
                    custom_message_type: e.custom_message_type.clone(),
                    file_id: f.file.id,
                    file_name: f.file.name,
                    url: None,
                })
            }
            EnvelopeKind::Objects => {
                let o = serde_json::from_str::<WireObjects>(e.payload.json())
                    .map_err(|err| decode("App Context event", err))?;
                Update::AppContext(AppContextEvent {
                    channel,
                    subscription,
                    timetoken,
                    event: o.event,
                    object_type: o.object_type,
                    data: o.data,
                })
            }
        })
    }
}

#[derive(Deserialize)]
struct WirePresence {
    #[serde(deserialize_with = "presence_action")]
    action: PresenceAction,
    uuid: Option<String>,
    #[serde(default)]
    timestamp: u64,
    #[serde(default)]
    occupancy: u64,
    data: Option<Value>,
    #[serde(default)]
    join: Vec<String>,
    #[serde(default)]
    leave: Vec<String>,
    #[serde(default)]
    timeout: Vec<String>,
    #[serde(default)]
    here_now_refresh: bool,
}

fn presence_action<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PresenceAction, D::Error> {
    let action = String::deserialize(d)?;
    Ok(match action.as_str() {
        "join" => PresenceAction::Join,
        "leave" => PresenceAction::Leave,
        "timeout" => PresenceAction::Timeout,
        "state-change" => PresenceAction::StateChange,
        "interval" => PresenceAction::Interval,
        other => {
            return Err(serde::de::Error::custom(format!(
                "unknown presence action {other:?}"
            )))
        }
    })
}

#[derive(Deserialize)]
struct WireAction {
    #[serde(deserialize_with = "message_action_event")]
    event: MessageActionEvent,
    data: WireActionData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireActionData {
    #[serde(deserialize_with = "timetoken")]
    message_timetoken: u64,
    #[serde(deserialize_with = "timetoken")]
    action_timetoken: u64,
    #[serde(rename = "type")]
    action_type: String,
    value: String,
}

#[derive(Deserialize)]
struct WireFile {
    message: Option<Value>,
    file: WireFileInfo,
}

#[derive(Deserialize)]
struct WireFileInfo {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct WireObjects {
    #[serde(deserialize_with = "app_context_action")]
    event: AppContextAction,
    #[serde(rename = "type", deserialize_with = "app_context_object")]
    object_type: AppContextObject,
    #[serde(default)]
    data: Value,
}

fn message_action_event<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<MessageActionEvent, D::Error> {
    match String::deserialize(d)?.as_str() {
        "added" => Ok(MessageActionEvent::Added),
        "removed" => Ok(MessageActionEvent::Removed),
        other => Err(serde::de::Error::custom(format!(
            "unknown action event {other:?}"
        ))),
    }
}

fn app_context_action<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<AppContextAction, D::Error> {
    match String::deserialize(d)?.as_str() {
        "set" => Ok(AppContextAction::Set),
        "delete" => Ok(AppContextAction::Delete),
        other => Err(serde::de::Error::custom(format!(
            "unknown App Context event {other:?}"
        ))),
    }
}

fn app_context_object<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<AppContextObject, D::Error> {
    match String::deserialize(d)?.as_str() {
        "uuid" => Ok(AppContextObject::User),
        "channel" => Ok(AppContextObject::Channel),
        "membership" => Ok(AppContextObject::Membership),
        other => Err(serde::de::Error::custom(format!(
            "unknown App Context type {other:?}"
        ))),
    }
}

fn timetoken<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => s.parse().map_err(serde::de::Error::custom),
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom("timetoken out of range")),
        _ => Err(serde::de::Error::custom("expected a timetoken")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Cursor;
    use crate::error::ErrorKind;
    use serde_json::json;

    fn envelope(kind: EnvelopeKind, channel: &str, b: &str, payload: Value) -> Envelope {
        Envelope {
            kind,
            channel: channel.into(),
            subscription: b.into(),
            published: Cursor::new(17000000000000001, 1),
            publisher: Some("u1".into()),
            payload: payload.into(),
            meta: Some(json!({"m": 1})),
            custom_message_type: None,
            seqn: Some(7),
            error: None,
            recovered: false,
        }
    }

    #[test]
    fn decodes_messages_and_user_types() {
        let e = envelope(EnvelopeKind::Message, "a.b", "a.*", json!({"n": 5}));
        let Update::Message(m) = Update::from_envelope(&e) else {
            panic!("not a message")
        };
        assert_eq!(m.subscription, "a.*");
        assert_eq!(m.seqn, Some(7));
        #[derive(Deserialize, PartialEq, Debug)]
        struct N {
            n: u32,
        }
        assert_eq!(m.deserialize::<N>().unwrap(), N { n: 5 });
        assert_eq!(
            m.deserialize::<String>().unwrap_err().kind(),
            ErrorKind::Decode
        );
    }

    #[test]
    fn decodes_presence_with_state_and_deltas() {
        let e = envelope(
            EnvelopeKind::Presence,
            "room-pnpres",
            "g-pnpres",
            json!({"action":"interval","timestamp":1567099526,"occupancy":2,
                   "join":["x"],"leave":["y"],"here_now_refresh":true}),
        );
        let Update::Presence(p) = Update::from_envelope(&e) else {
            panic!("not presence")
        };
        assert_eq!(p.event, PresenceAction::Interval);
        assert_eq!((p.channel.as_str(), p.subscription.as_str()), ("room", "g"));
        assert_eq!(
            (p.joined, p.left),
            (vec!["x".to_string()], vec!["y".to_string()])
        );
        assert!(p.here_now_refresh);
        let e = envelope(
            EnvelopeKind::Presence,
            "room-pnpres",
            "room-pnpres",
            json!({"action":"state-change","uuid":"u","timestamp":1,"occupancy":1,"data":{"k":"v"}}),
        );
        let Update::Presence(p) = Update::from_envelope(&e) else {
            panic!("not presence")
        };
        assert_eq!(p.state, Some(json!({"k":"v"})));
    }

    #[test]
    fn decodes_actions_files_and_objects() {
        let a = envelope(
            EnvelopeKind::MessageAction,
            "c",
            "c",
            json!({"source":"actions","version":"1.0","event":"added","data":{
                "messageTimetoken":"15725459448096144","actionTimetoken":"15725459793173220",
                "type":"reaction","value":"winky_face"}}),
        );
        assert!(matches!(
            Update::from_envelope(&a),
            Update::MessageAction(MessageAction {
                message_timetoken: 15725459448096144,
                ..
            })
        ));
        let f = envelope(
            EnvelopeKind::File,
            "c",
            "c",
            json!({"message":"hi","file":{"id":"5a3e","name":"x.jpg"}}),
        );
        assert!(matches!(
            Update::from_envelope(&f),
            Update::File(FileEvent { .. })
        ));
        let o = envelope(
            EnvelopeKind::Objects,
            "c",
            "c",
            json!({"source":"objects","version":"2.0","event":"set","type":"uuid","data":{"id":"u"}}),
        );
        assert!(matches!(Update::from_envelope(&o), Update::AppContext(_)));
    }

    #[test]
    fn malformed_event_payloads_are_undecodable_events() {
        for (kind, payload) in [
            (EnvelopeKind::Presence, json!("join")),
            (EnvelopeKind::Presence, json!({"action":"dance"})),
            (EnvelopeKind::MessageAction, json!({"event":"added"})),
            (EnvelopeKind::File, json!({"file":{}})),
            (EnvelopeKind::Objects, json!([])),
        ] {
            let e = envelope(kind, "c-pnpres", "c-pnpres", payload.clone());
            let Update::Undecodable(u) = Update::from_envelope(&e) else {
                panic!("{kind:?} {payload} decoded")
            };
            assert_eq!(u.channel, "c-pnpres");
            assert_eq!(u.timetoken, 17000000000000001);
            assert_eq!(u.publisher.as_deref(), Some("u1"));
            assert_eq!(u.raw, payload.to_string());
            assert!(u.reason.starts_with("malformed"), "{}", u.reason);
        }
    }
}

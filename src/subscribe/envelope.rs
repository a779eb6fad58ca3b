//! The subscribe response as it travels on the wire (PROTOCOL.md §5.4–5.5), and the typed
//! envelope every message, signal and event of a subscribe response becomes.

use serde_json::Value;

use crate::engine::Cursor;

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
    pub payload: Value,
    /// The publisher's metadata (`u`).
    pub meta: Option<Value>,
    /// The custom message type (`cmt`).
    pub custom_message_type: Option<String>,
    /// The publisher's sequence number (`s`).
    pub seqn: Option<u32>,
}

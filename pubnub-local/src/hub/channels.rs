//! Channel names, stored messages and the per-channel catch-up buffers.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;

use super::Timetoken;

/// Suffix that turns a channel (or group) name into its presence channel.
pub const PRESENCE_SUFFIX: &str = "-pnpres";

/// Longest channel, group or uuid name, in characters (PROTOCOL.md §10.1).
pub const MAX_NAME_CHARS: usize = 92;

/// Why a channel or group name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("name is empty")]
    Empty,
    /// The name is longer than [`MAX_NAME_CHARS`] characters.
    #[error("name is longer than 92 characters")]
    TooLong,
    /// The name holds one of `, : * / \`, a space or a control character.
    #[error("name contains reserved character {0:?}")]
    ReservedCharacter(char),
    /// A wildcard pattern where only a plain name is allowed (publish, channel groups).
    #[error("wildcard names cannot be used here")]
    Wildcard,
    /// A `-pnpres` name where only a plain name is allowed (publish, presence calls).
    #[error("presence channels cannot be used here")]
    Presence,
    /// A wildcard deeper than `a.b.*`, or a `*` that is not the last segment.
    #[error("wildcard maximum depth exceeded")]
    WildcardTooDeep,
}

/// Checks a plain channel or group name: what publish, channel groups and presence accept.
pub fn validate_plain(name: &str) -> Result<(), NameError> {
    if name.ends_with(PRESENCE_SUFFIX) {
        return Err(NameError::Presence);
    }
    if name.contains('*') {
        return Err(NameError::Wildcard);
    }
    validate_base(name)
}

fn validate_base(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(NameError::TooLong);
    }
    match name
        .chars()
        .find(|c| matches!(c, ',' | ':' | '*' | '/' | '\\' | ' ') || c.is_control())
    {
        Some(c) => Err(NameError::ReservedCharacter(c)),
        None => Ok(()),
    }
}

/// One name in a subscribe request's channel list, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelTarget {
    /// A plain channel, or a `-pnpres` channel (`presence` set, `name` is the full name).
    Channel {
        /// The channel name as subscribed.
        name: String,
        /// Whether the name ends with `-pnpres`.
        presence: bool,
    },
    /// `prefix.*` or `prefix.*-pnpres`: every channel whose name starts with `prefix.`.
    Wildcard {
        /// The pattern as subscribed; it becomes `b` in envelopes.
        pattern: String,
        /// The prefix including its trailing dot, e.g. `a.` for `a.*`.
        prefix: String,
        /// Whether this is the presence form (`a.*-pnpres`).
        presence: bool,
    },
}

/// Classifies a subscribe channel: plain, presence, wildcard (`a.*`, `a.b.*`, optionally with
/// `-pnpres`), refusing anything else.
pub fn parse_subscribe_channel(name: &str) -> Result<ChannelTarget, NameError> {
    let (base, presence) = match name.strip_suffix(PRESENCE_SUFFIX) {
        Some(base) => (base, true),
        None => (name, false),
    };
    if let Some(stem) = base.strip_suffix(".*") {
        validate_base(stem)?;
        // `a.*` is depth one and `a.b.*` depth two; PubNub allows no deeper pattern.
        if stem.matches('.').count() > 1 {
            return Err(NameError::WildcardTooDeep);
        }
        return Ok(ChannelTarget::Wildcard {
            pattern: name.to_string(),
            prefix: format!("{stem}."),
            presence,
        });
    }
    if base.contains('*') {
        return Err(NameError::WildcardTooDeep);
    }
    validate_base(base)?;
    Ok(ChannelTarget::Channel {
        name: name.to_string(),
        presence,
    })
}

/// What kind of event a stored message is; decides `e` in the envelope. New kinds come with
/// new features, so `match` on it needs a `_` arm.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An ordinary published message (`e` absent).
    Message,
    /// A signal (`e: 1`).
    Signal,
    /// A presence event on a `-pnpres` channel (`e` absent).
    Presence,
    /// A message action added or removed (`e: 3`).
    Action,
    /// An App Context (objects) event: metadata or a membership set or deleted (`e: 2`).
    Objects,
    /// A file message (`e: 4`): `{"message": …, "file": {"id", "name"}}` or its ciphertext,
    /// published by `/v1/files/publish-file` after the upload. Stored in history with
    /// `message_type` 4.
    File,
}

/// A message as stored in a channel buffer and delivered to subscribers.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The channel it was published to (`c`).
    pub channel: String,
    /// Its publish timetoken (`p.t`).
    pub timetoken: Timetoken,
    /// The payload (`d`).
    pub payload: Value,
    /// Message, signal or presence event.
    pub kind: EventKind,
    /// The publisher's uuid (`i`), when it sent one.
    pub publisher: Option<String>,
    /// Publish `meta` (`u`); for presence events the server's `pn_*` object.
    pub meta: Option<Value>,
    /// Publish `seqn` (`s`).
    pub seqn: Option<i64>,
    /// Publish `custom_message_type` (`cmt`).
    pub custom_message_type: Option<String>,
}

/// The last `capacity` messages of one channel, oldest first, in timetoken order.
#[derive(Debug, Default)]
pub(crate) struct ChannelBuffer {
    messages: VecDeque<Arc<Message>>,
}

impl ChannelBuffer {
    pub(crate) fn push(&mut self, message: Arc<Message>, capacity: usize) {
        self.messages.push_back(message);
        while self.messages.len() > capacity.max(1) {
            self.messages.pop_front();
        }
    }

    /// Messages published strictly after `cursor`.
    pub(crate) fn after(&self, cursor: Timetoken) -> impl Iterator<Item = &Arc<Message>> {
        // Timetokens are issued under the hub lock before the push, so the buffer is sorted.
        let start = self.messages.partition_point(|m| m.timetoken <= cursor);
        self.messages.range(start..)
    }

    pub(crate) fn len(&self) -> usize {
        self.messages.len()
    }

    /// The newest `n` messages, oldest first.
    pub(crate) fn newest(&self, n: usize) -> impl Iterator<Item = &Arc<Message>> {
        self.messages.range(self.messages.len().saturating_sub(n)..)
    }
}

/// The subscription names a message on `channel` can match, besides group names: the channel
/// itself and every wildcard pattern that covers it. Used to wake the right long-polls.
pub(crate) fn wildcard_names(channel: &str) -> Vec<String> {
    let (base, suffix) = match channel.strip_suffix(PRESENCE_SUFFIX) {
        Some(base) => (base, PRESENCE_SUFFIX),
        None => (channel, ""),
    };
    base.match_indices('.')
        .map(|(i, _)| format!("{}.*{suffix}", &base[..i]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names() {
        assert_eq!(validate_plain("chat.room-1_ü"), Ok(()));
        assert_eq!(validate_plain(""), Err(NameError::Empty));
        assert_eq!(validate_plain(&"x".repeat(92)), Ok(()));
        assert_eq!(validate_plain(&"x".repeat(93)), Err(NameError::TooLong));
        for (name, c) in [
            ("a,b", ','),
            ("a:b", ':'),
            ("a/b", '/'),
            ("a\\b", '\\'),
            ("a b", ' '),
            ("a\u{1}", '\u{1}'),
        ] {
            assert_eq!(validate_plain(name), Err(NameError::ReservedCharacter(c)));
        }
        assert_eq!(validate_plain("a.*"), Err(NameError::Wildcard));
        assert_eq!(validate_plain("a-pnpres"), Err(NameError::Presence));
    }

    #[test]
    fn subscribe_names() {
        assert_eq!(
            parse_subscribe_channel("a-pnpres"),
            Ok(ChannelTarget::Channel {
                name: "a-pnpres".into(),
                presence: true
            })
        );
        assert_eq!(
            parse_subscribe_channel("a.b.*-pnpres"),
            Ok(ChannelTarget::Wildcard {
                pattern: "a.b.*-pnpres".into(),
                prefix: "a.b.".into(),
                presence: true
            })
        );
        assert_eq!(
            parse_subscribe_channel("a.b.c.*"),
            Err(NameError::WildcardTooDeep)
        );
        assert_eq!(
            parse_subscribe_channel("a*"),
            Err(NameError::WildcardTooDeep)
        );
        assert_eq!(
            parse_subscribe_channel("*"),
            Err(NameError::WildcardTooDeep)
        );
        assert_eq!(parse_subscribe_channel(".*"), Err(NameError::Empty));
        assert_eq!(parse_subscribe_channel("-pnpres"), Err(NameError::Empty));
    }

    #[test]
    fn wildcard_names_cover_every_dot_prefix() {
        assert_eq!(wildcard_names("a.b.c"), vec!["a.*", "a.b.*"]);
        assert_eq!(wildcard_names("a.b-pnpres"), vec!["a.*-pnpres"]);
        assert!(wildcard_names("plain").is_empty());
    }

    #[test]
    fn buffer_keeps_the_newest() {
        let mut buffer = ChannelBuffer::default();
        for t in 1..=5 {
            let m = Message {
                channel: "c".into(),
                timetoken: Timetoken(t),
                payload: Value::Null,
                kind: EventKind::Message,
                publisher: None,
                meta: None,
                seqn: None,
                custom_message_type: None,
            };
            buffer.push(Arc::new(m), 3);
        }
        assert_eq!(buffer.len(), 3);
        let after: Vec<u64> = buffer.after(Timetoken(3)).map(|m| m.timetoken.0).collect();
        assert_eq!(after, vec![4, 5]);
    }
}

//! Client-side checks of names and identifiers, so that a request that cannot succeed is
//! refused with [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) before
//! anything is sent (PROTOCOL.md §10.1).

use crate::engine::{Input, PRESENCE_SUFFIX};
use crate::error::Error;

/// The longest channel, group or user id, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 92;

/// Characters PubNub reserves in channel and group names.
const RESERVED: [char; 6] = [',', ':', '*', '/', '\\', ' '];

/// A channel or group name that can be sent in a path: non-empty, at most 92 characters, none
/// of `, : * / \` or space, no control characters. `.` and `..` are refused too: URL parsers
/// (and servers) treat them as dot segments, so they cannot be addressed.
pub(crate) fn name(what: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid(format!("{what} name is empty")));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(format!(
            "{what} name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| RESERVED.contains(c) || c.is_control())
    {
        return Err(Error::invalid(format!(
            "{what} name {name:?} contains the reserved character {c:?}"
        )));
    }
    if name == "." || name == ".." {
        return Err(Error::invalid(format!(
            "{what} name {name:?} is a dot segment"
        )));
    }
    Ok(())
}

/// A channel that can be published to: a valid name that is not a presence channel.
pub(crate) fn publish_channel(channel: &str) -> Result<(), Error> {
    name("channel", channel)?;
    if channel.ends_with(PRESENCE_SUFFIX) {
        return Err(Error::invalid(format!(
            "cannot publish to the presence channel {channel:?}"
        )));
    }
    Ok(())
}

/// Every name of a list, each checked with [`name`].
pub(crate) fn names<'a>(
    what: &str,
    list: impl IntoIterator<Item = &'a String>,
) -> Result<(), Error> {
    list.into_iter().try_for_each(|n| name(what, n))
}

/// Every name of a subscription: at least one, each a valid channel or group name. Channels may
/// be wildcards (`a.*`, `a.b.*`, at most two dots, `*` only at the end after a `.`), and presence
/// names (`-pnpres`) follow the same rules as the names they belong to.
pub(crate) fn subscribe_names(input: &Input) -> Result<(), Error> {
    if input.is_empty() {
        return Err(Error::invalid(
            "a subscription needs a channel or a channel group",
        ));
    }
    for channel in input.channels.iter() {
        subscribe_channel(channel)?;
    }
    for group in input.groups.iter() {
        name("channel group", group)?;
        let base = group.strip_suffix(PRESENCE_SUFFIX).unwrap_or(group);
        name("channel group", base)?;
    }
    Ok(())
}

fn subscribe_channel(channel: &str) -> Result<(), Error> {
    let base = channel.strip_suffix(PRESENCE_SUFFIX).unwrap_or(channel);
    let Some(prefix) = base.strip_suffix(".*") else {
        name("channel", base)?;
        return name("channel", channel);
    };
    if channel.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(format!(
            "channel name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if prefix.matches('.').count() > 1 {
        return Err(Error::invalid(format!(
            "wildcard {channel:?} is deeper than a.b.* (at most two dots)"
        )));
    }
    name("channel", prefix)
}

/// A timetoken a user gives to catch up from: 17 digits (100 ns units since the Unix epoch).
pub(crate) fn timetoken(timetoken: u64) -> Result<(), Error> {
    if (10_000_000_000_000_000..100_000_000_000_000_000).contains(&timetoken) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "timetoken {timetoken} does not have 17 digits"
        )))
    }
}

/// A user id (`uuid` on the wire): non-empty, at most 92 characters, no control characters.
pub(crate) fn user_id(user_id: &str) -> Result<(), Error> {
    if user_id.trim().is_empty() {
        return Err(Error::invalid("user_id is empty"));
    }
    if user_id.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(format!(
            "user_id is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if user_id.chars().any(char::is_control) {
        return Err(Error::invalid("user_id contains a control character"));
    }
    if user_id == "." || user_id == ".." {
        return Err(Error::invalid("user_id cannot be a dot segment"));
    }
    Ok(())
}

/// A custom message type: 3 to 50 characters of `A-Z a-z 0-9 _ -`.
pub(crate) fn custom_message_type(value: &str) -> Result<(), Error> {
    let valid = (3..=50).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "custom message type {value:?} must be 3 to 50 characters of A-Z a-z 0-9 _ -"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn channel_names() {
        let long_ok = "é".repeat(92);
        let good = [
            "a",
            "chat.room-1_x~",
            "日本語",
            "a.b.c.d",
            "%2F",
            "?#&=+",
            "...",
            &long_ok,
        ];
        for n in good {
            assert!(name("channel", n).is_ok(), "{n:?}");
        }
        let long_bad = "a".repeat(93);
        let bad = [
            "", "a,b", "a:b", "a*", "a/b", "a\\b", "a b", "tab\t", "nul\0", "del\x7f", "c1\u{85}",
            ".", "..", &long_bad,
        ];
        for n in bad {
            assert_eq!(
                name("channel", n).unwrap_err().kind(),
                ErrorKind::InvalidArgument,
                "{n:?}"
            );
        }
    }

    #[test]
    fn presence_channels_cannot_be_published_to() {
        assert!(publish_channel("room").is_ok());
        assert!(publish_channel("room-pnpres").is_err());
        assert!(publish_channel("").is_err());
    }

    #[test]
    fn user_ids() {
        assert!(user_id("user-1").is_ok());
        assert!(user_id("a user: with/odd,chars").is_ok());
        assert!(user_id(&"u".repeat(92)).is_ok());
        for bad in ["", "  ", "\n", "a\u{1}", "..", &"u".repeat(93)] {
            assert!(user_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn custom_message_types() {
        for good in ["abc", "chat_message", "Type-1", &"x".repeat(50)] {
            assert!(custom_message_type(good).is_ok(), "{good:?}");
        }
        for bad in ["", "ab", "has space", "ünï", "a*b", &"x".repeat(51)] {
            assert!(custom_message_type(bad).is_err(), "{bad:?}");
        }
    }
}

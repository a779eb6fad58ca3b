//! The typed answers of App Context and their parsing.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::transport::{response, Response};

/// A user's metadata (the service calls users `uuids`), as App Context stores it: what
/// [`get_uuid_metadata`](crate::PubNub::get_uuid_metadata) returns. Named as PubNub's JavaScript
/// SDK names it, apart from the subscribable [`UserMetadata`](crate::UserMetadata) entity.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct UserMetadataObject {
    /// The user id.
    pub id: String,
    /// The display name.
    pub name: Option<String>,
    /// The e-mail address.
    pub email: Option<String>,
    /// An id in another system.
    pub external_id: Option<String>,
    /// A profile picture URL.
    pub profile_url: Option<String>,
    /// The custom fields (with `include_custom`): a flat JSON object.
    pub custom: Option<Value>,
    /// The status (with `include_status`), e.g. `active`.
    pub status: Option<String>,
    /// The type (with `include_type`), e.g. `admin`.
    pub user_type: Option<String>,
    /// When it was last changed, as the service writes it (ISO 8601).
    pub updated: Option<String>,
    /// The version tag: pass it to `if_matches_etag` to change only this version.
    pub etag: Option<String>,
}

/// A channel's metadata, as App Context stores it: what
/// [`get_channel_metadata`](crate::PubNub::get_channel_metadata) returns (apart from the
/// subscribable [`ChannelMetadata`](crate::ChannelMetadata) entity).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ChannelMetadataObject {
    /// The channel id.
    pub id: String,
    /// The display name.
    pub name: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// The custom fields (with `include_custom`): a flat JSON object.
    pub custom: Option<Value>,
    /// The status (with `include_status`).
    pub status: Option<String>,
    /// The type (with `include_type`).
    pub channel_type: Option<String>,
    /// When it was last changed (ISO 8601).
    pub updated: Option<String>,
    /// The version tag.
    pub etag: Option<String>,
}

/// One channel a user belongs to.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Membership {
    /// The channel: its id, and its other fields with `include_channel`.
    pub channel: ChannelMetadataObject,
    /// The membership's own custom fields (with `include_custom`).
    pub custom: Option<Value>,
    /// The membership's status (with `include_status`).
    pub status: Option<String>,
    /// The membership's type (with `include_type`).
    pub membership_type: Option<String>,
    /// When it was last changed (ISO 8601).
    pub updated: Option<String>,
    /// The version tag.
    pub etag: Option<String>,
}

/// One user of a channel.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Member {
    /// The user: its id, and its other fields with `include_user`.
    pub user: UserMetadataObject,
    /// The membership's own custom fields (with `include_custom`).
    pub custom: Option<Value>,
    /// The membership's status (with `include_status`).
    pub status: Option<String>,
    /// The membership's type (with `include_type`).
    pub member_type: Option<String>,
    /// When it was last changed (ISO 8601).
    pub updated: Option<String>,
    /// The version tag.
    pub etag: Option<String>,
}

/// A channel to add a user to, with the membership's own fields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MembershipInput {
    /// The channel id.
    pub channel: String,
    /// The membership's custom fields: a flat JSON object.
    pub custom: Option<Value>,
    /// The membership's status.
    pub status: Option<String>,
    /// The membership's type.
    pub membership_type: Option<String>,
}

impl MembershipInput {
    /// A membership of `channel` with no fields of its own.
    pub fn new(channel: impl Into<String>) -> Self {
        MembershipInput {
            channel: channel.into(),
            custom: None,
            status: None,
            membership_type: None,
        }
    }

    /// The membership's custom fields (a flat JSON object of scalars).
    pub fn custom(mut self, custom: Value) -> Self {
        self.custom = Some(custom);
        self
    }

    /// The membership's status.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// The membership's type.
    pub fn membership_type(mut self, kind: impl Into<String>) -> Self {
        self.membership_type = Some(kind.into());
        self
    }
}

/// A user to add to a channel, with the membership's own fields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MemberInput {
    /// The user id.
    pub user_id: String,
    /// The membership's custom fields: a flat JSON object.
    pub custom: Option<Value>,
    /// The membership's status.
    pub status: Option<String>,
    /// The membership's type.
    pub member_type: Option<String>,
}

impl MemberInput {
    /// A membership of `user_id` with no fields of its own.
    pub fn new(user_id: impl Into<String>) -> Self {
        MemberInput {
            user_id: user_id.into(),
            custom: None,
            status: None,
            member_type: None,
        }
    }

    /// The membership's custom fields (a flat JSON object of scalars).
    pub fn custom(mut self, custom: Value) -> Self {
        self.custom = Some(custom);
        self
    }

    /// The membership's status.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// The membership's type.
    pub fn member_type(mut self, kind: impl Into<String>) -> Self {
        self.member_type = Some(kind.into());
        self
    }
}

/// One page of a list answer.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Page<T> {
    /// The objects of this page, in the requested order.
    pub data: Vec<T>,
    /// How many objects match in all (with `include_total_count`).
    pub total_count: Option<u64>,
    /// The cursor of the next page, when there is one: pass it to `start`.
    pub next: Option<String>,
    /// The cursor of the previous page, when there is one: pass it to `end`.
    pub prev: Option<String>,
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn custom(map: &Map<String, Value>) -> Option<Value> {
    match map.get("custom") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.clone()),
    }
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, Error> {
    value
        .as_object()
        .ok_or_else(|| Error::decode(format!("unexpected {what}: {}", short(value))))
}

fn required_id(map: &Map<String, Value>, what: &str) -> Result<String, Error> {
    text(map, "id").ok_or_else(|| Error::decode(format!("{what} without an id")))
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

pub(crate) fn user(value: &Value) -> Result<UserMetadataObject, Error> {
    let map = object(value, "user metadata")?;
    Ok(UserMetadataObject {
        id: required_id(map, "user metadata")?,
        name: text(map, "name"),
        email: text(map, "email"),
        external_id: text(map, "externalId"),
        profile_url: text(map, "profileUrl"),
        custom: custom(map),
        status: text(map, "status"),
        user_type: text(map, "type"),
        updated: text(map, "updated"),
        etag: text(map, "eTag"),
    })
}

pub(crate) fn channel(value: &Value) -> Result<ChannelMetadataObject, Error> {
    let map = object(value, "channel metadata")?;
    Ok(ChannelMetadataObject {
        id: required_id(map, "channel metadata")?,
        name: text(map, "name"),
        description: text(map, "description"),
        custom: custom(map),
        status: text(map, "status"),
        channel_type: text(map, "type"),
        updated: text(map, "updated"),
        etag: text(map, "eTag"),
    })
}

pub(crate) fn membership(value: &Value) -> Result<Membership, Error> {
    let map = object(value, "membership")?;
    let channel = channel(map.get("channel").unwrap_or(&Value::Null))?;
    Ok(Membership {
        channel,
        custom: custom(map),
        status: text(map, "status"),
        membership_type: text(map, "type"),
        updated: text(map, "updated"),
        etag: text(map, "eTag"),
    })
}

pub(crate) fn member(value: &Value) -> Result<Member, Error> {
    let map = object(value, "member")?;
    let user = user(map.get("uuid").unwrap_or(&Value::Null))?;
    Ok(Member {
        user,
        custom: custom(map),
        status: text(map, "status"),
        member_type: text(map, "type"),
        updated: text(map, "updated"),
        etag: text(map, "eTag"),
    })
}

/// The `data` object of a single-object answer.
pub(crate) fn single<T>(
    answer: &Response,
    item: fn(&Value) -> Result<T, Error>,
) -> Result<T, Error> {
    let json = response::check(answer)?;
    item(json.get("data").unwrap_or(&Value::Null))
}

/// A list answer: `data`, `totalCount`, `next`, `prev`.
pub(crate) fn page<T>(
    answer: &Response,
    item: fn(&Value) -> Result<T, Error>,
) -> Result<Page<T>, Error> {
    let json = response::check(answer)?;
    let data = response::array(&json, "data", "App Context list")?
        .unwrap_or_default()
        .iter()
        .map(item)
        .collect::<Result<Vec<_>, _>>()?;
    let cursor = |key: &str| {
        json.get(key)
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
    };
    Ok(Page {
        data,
        total_count: json.get("totalCount").and_then(Value::as_u64),
        next: cursor("next"),
        prev: cursor("prev"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_items_parse() {
        let body = r#"{"status":200,"data":[
            {"id":"a","name":"Alice","custom":{"x":1},"updated":"2020-06-17T16:28:14.060718Z","eTag":"E1","type":"admin"},
            {"id":"b"}],"totalCount":7,"next":"MTI","prev":""}"#;
        let page = page(&Response::new(200, body.to_owned()), user).unwrap();
        assert_eq!(page.data.len(), 2);
        assert_eq!(page.data[0].name.as_deref(), Some("Alice"));
        assert_eq!(page.data[0].user_type.as_deref(), Some("admin"));
        assert_eq!(page.data[0].etag.as_deref(), Some("E1"));
        assert_eq!(page.total_count, Some(7));
        assert_eq!(page.next.as_deref(), Some("MTI"));
        assert_eq!(page.prev, None);

        let body = r#"{"status":200,"data":[{"channel":{"id":"room","name":"Room"},"custom":{"role":"mod"},"eTag":"M"}]}"#;
        let memberships = super::page(&Response::new(200, body.to_owned()), membership).unwrap();
        assert_eq!(memberships.data[0].channel.id, "room");
        assert_eq!(memberships.data[0].channel.name.as_deref(), Some("Room"));

        for bad in [
            r#"{"status":200,"data":{}}"#,
            r#"{"status":200,"data":[{"name":"no id"}]}"#,
            r#"{"status":200,"data":[1]}"#,
            r#"{"status":200,"data":[{"uuid":{"id":"u"}}]}"#,
        ] {
            assert!(
                super::page(&Response::new(200, bad.to_owned()), membership).is_err(),
                "{bad}"
            );
        }
        let error = single(
            &Response::new(
                412,
                r#"{"status":412,"error":{"message":"Object already changed","source":"objects"}}"#,
            ),
            user,
        )
        .unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::PreconditionFailed);
    }
}

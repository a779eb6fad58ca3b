//! App Context (objects v2): user and channel metadata and the memberships between them, per
//! subscribe key, with ETags and the `e: 2` events the service sends to subscribers of the
//! affected channel and user id (PROTOCOL.md §19).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::channels::{EventKind, Message};
use super::{Hub, KeySpace, State, Timetoken};

/// Users or channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// User (`uuid`) metadata.
    User,
    /// Channel metadata.
    Channel,
}

impl ObjectKind {
    /// The `type` of its events.
    pub fn event_type(self) -> &'static str {
        match self {
            ObjectKind::User => "uuid",
            ObjectKind::Channel => "channel",
        }
    }

    /// The text fields a set call may change, besides `status` and `type`.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            ObjectKind::User => &["name", "externalId", "profileUrl", "email"],
            ObjectKind::Channel => &["name", "description"],
        }
    }
}

/// Stored metadata of one user or channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// The id.
    pub id: String,
    /// Text fields (`name`, `email`, `description`, `status`, `type`, …) that are set.
    pub fields: Map<String, Value>,
    /// The custom object, when set.
    pub custom: Option<Value>,
    /// ISO 8601 time of the last change.
    pub updated: String,
    /// The version tag.
    pub etag: String,
}

impl Entity {
    /// Every field: what filters see and what events carry.
    pub fn full_json(&self, kind: ObjectKind) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), Value::String(self.id.clone()));
        for field in kind.fields().iter().chain(&["status", "type"]) {
            map.insert(
                (*field).to_owned(),
                self.fields.get(*field).cloned().unwrap_or(Value::Null),
            );
        }
        map.insert("custom".into(), self.custom.clone().unwrap_or(Value::Null));
        map.insert("updated".into(), Value::String(self.updated.clone()));
        map.insert("eTag".into(), Value::String(self.etag.clone()));
        Value::Object(map)
    }
}

/// A membership's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// The user.
    pub user: String,
    /// The channel.
    pub channel: String,
    /// `status` and `type`, when set.
    pub fields: Map<String, Value>,
    /// The custom object, when set.
    pub custom: Option<Value>,
    /// ISO 8601 time of the last change.
    pub updated: String,
    /// The version tag.
    pub etag: String,
}

/// A membership with the metadata of both ends, as lists show it.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationView {
    /// The membership.
    pub relation: Relation,
    /// The user's metadata, when it has some.
    pub user: Option<Entity>,
    /// The channel's metadata, when it has some.
    pub channel: Option<Entity>,
}

/// One side of the memberships: a user's channels or a channel's users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side<'a> {
    /// The memberships of this user.
    User(&'a str),
    /// The members of this channel.
    Channel(&'a str),
}

/// A membership to set: the other end's id and the fields given.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationPatch {
    /// The channel (for a user's side) or the user (for a channel's side).
    pub other: String,
    /// `status` / `type` given (a null removes).
    pub fields: Map<String, Value>,
    /// `custom` given: `Some(Value::Null)` removes it.
    pub custom: Option<Value>,
}

/// Why an App Context call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// No metadata under that id (404).
    #[error("Requested object was not found.")]
    NotFound,
    /// `If-Match` named another version (412).
    #[error("Object already changed by another request since last retrieval.")]
    PreconditionFailed,
}

/// Everything App Context stores for one subscribe key.
#[derive(Debug, Default)]
pub(crate) struct ObjectStore {
    users: BTreeMap<String, Entity>,
    channels: BTreeMap<String, Entity>,
    /// Keyed by (user, channel).
    relations: BTreeMap<(String, String), Relation>,
}

impl ObjectStore {
    fn entities(&mut self, kind: ObjectKind) -> &mut BTreeMap<String, Entity> {
        match kind {
            ObjectKind::User => &mut self.users,
            ObjectKind::Channel => &mut self.channels,
        }
    }

    /// Every membership, by user then channel.
    pub(super) fn all_relations(&self) -> impl Iterator<Item = &Relation> {
        self.relations.values()
    }

    pub(super) fn entities_ref(&self, kind: ObjectKind) -> &BTreeMap<String, Entity> {
        match kind {
            ObjectKind::User => &self.users,
            ObjectKind::Channel => &self.channels,
        }
    }
}

/// ISO 8601 with microseconds of a timetoken, trailing zeros of the fraction dropped as the
/// service drops them (Go's RFC 3339 form): `2020-06-17T16:28:14.060718Z`,
/// `2024-03-07T08:46:53.26682Z`, `1970-01-01T00:00:00Z`.
pub fn iso_time(tt: Timetoken) -> String {
    let micros = (tt.0 % 10_000_000) / 10;
    let c = tt.civil();
    let fraction = format!(".{micros:06}");
    let fraction = fraction.trim_end_matches('0').trim_end_matches('.');
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

fn hash_of(value: &impl Hash) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// A user's or channel's version tag for a change made at `tt` with `content`: 32 lowercase
/// hex digits, the service's form (`545a3c6408b1497c3b30746afe5505d3`).
fn entity_etag(content: &str, tt: Timetoken) -> String {
    let high = hash_of(&(content, tt.0));
    let low = hash_of(&(tt.0, content, "low"));
    format!("{high:016x}{low:016x}")
}

/// A membership's version tag: 14 characters of base64, like the service's
/// (`AZO/t53al7m8fw`), and like them a function of the content alone: every membership with
/// the same custom, status and type has the same one, whenever it was set.
fn membership_etag(content: &str) -> String {
    let high = hash_of(&content);
    let low = hash_of(&(content, "low"));
    let mut bytes = high.to_be_bytes().to_vec();
    bytes.extend_from_slice(&low.to_be_bytes()[..2]);
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

/// Applies `patch` (text fields, a null removes) and `custom` to `fields` and `custom`;
/// whether anything changed.
fn merge(
    fields: &mut Map<String, Value>,
    custom: &mut Option<Value>,
    patch: &Map<String, Value>,
    new_custom: Option<&Value>,
) -> bool {
    let before = (fields.clone(), custom.clone());
    for (key, value) in patch {
        if value.is_null() {
            fields.remove(key);
        } else {
            fields.insert(key.clone(), value.clone());
        }
    }
    match new_custom {
        None => {}
        Some(Value::Null) => *custom = None,
        Some(value) => *custom = Some(value.clone()),
    }
    before != (fields.clone(), custom.clone())
}

/// The fields that are set: events carry no nulls (live captures of the service).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

fn objects_event(event: &str, kind: &str, data: Value) -> Value {
    json!({
        "source": "objects",
        "version": "2.0",
        "event": event,
        "type": kind,
        "data": data,
    })
}

impl Relation {
    /// The `data` of a membership event.
    fn event_data(&self) -> Value {
        let mut data = json!({
            "channel": {"id": self.channel},
            "uuid": {"id": self.user},
            "updated": self.updated,
            "eTag": self.etag,
        });
        if let Some(custom) = &self.custom {
            data["custom"] = custom.clone();
        }
        for (key, value) in &self.fields {
            data[key] = value.clone();
        }
        data
    }
}

impl KeySpace {
    /// Delivers an App Context event on `channel`.
    fn objects_event(&mut self, channel: &str, tt: Timetoken, payload: Value, capacity: usize) {
        self.append(
            Message {
                channel: channel.to_string(),
                timetoken: tt,
                payload,
                kind: EventKind::Objects,
                publisher: None,
                meta: None,
                seqn: None,
                custom_message_type: None,
            },
            capacity,
        );
    }
}

impl Hub {
    /// Sets the metadata of a user or channel: text fields in `patch` (a null removes one),
    /// `custom` replaced when given. Announces `set` on the id's channel when anything changed;
    /// identical data changes nothing (same ETag, no event).
    pub fn set_object(
        &self,
        sub_key: &str,
        kind: ObjectKind,
        id: &str,
        patch: &Map<String, Value>,
        custom: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Entity, ObjectError> {
        let mut state = self.lock();
        let State { clock, spaces, .. } = &mut *state;
        let space = self.space(spaces, sub_key);
        let existing = space.objects.entities(kind).get(id).cloned();
        if let Some(expected) = if_match {
            match &existing {
                Some(entity) if entity.etag == expected => {}
                _ => return Err(ObjectError::PreconditionFailed),
            }
        }
        let mut entity = existing.clone().unwrap_or_else(|| Entity {
            id: id.to_string(),
            fields: Map::new(),
            custom: None,
            updated: String::new(),
            etag: String::new(),
        });
        let changed = merge(&mut entity.fields, &mut entity.custom, patch, custom);
        if existing.is_some() && !changed {
            return Ok(entity);
        }
        let tt = clock.issue();
        entity.updated = iso_time(tt);
        let content = json!([entity.fields, entity.custom]).to_string();
        entity.etag = entity_etag(&content, tt);
        space
            .objects
            .entities(kind)
            .insert(id.to_string(), entity.clone());
        let event = objects_event(
            "set",
            kind.event_type(),
            without_nulls(entity.full_json(kind)),
        );
        let capacity = self.inner.config.buffer_size;
        space.objects_event(id, clock.issue(), event, capacity);
        Ok(entity)
    }

    /// The metadata of a user or channel.
    pub fn get_object(
        &self,
        sub_key: &str,
        kind: ObjectKind,
        id: &str,
    ) -> Result<Entity, ObjectError> {
        let state = self.lock();
        state
            .spaces
            .get(sub_key)
            .and_then(|space| space.objects.entities_ref(kind).get(id))
            .cloned()
            .ok_or(ObjectError::NotFound)
    }

    /// Removes the metadata of a user or channel (memberships stay) and announces `delete`.
    /// Removing what is not there succeeds without an event.
    pub fn remove_object(
        &self,
        sub_key: &str,
        kind: ObjectKind,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<(), ObjectError> {
        let mut state = self.lock();
        let State { clock, spaces, .. } = &mut *state;
        let Some(space) = spaces.get_mut(sub_key) else {
            return if if_match.is_some() {
                Err(ObjectError::PreconditionFailed)
            } else {
                Ok(())
            };
        };
        let entities = space.objects.entities(kind);
        if let Some(expected) = if_match {
            if entities.get(id).is_none_or(|e| e.etag != expected) {
                return Err(ObjectError::PreconditionFailed);
            }
        }
        if entities.remove(id).is_none() {
            return Ok(());
        }
        let event = objects_event("delete", kind.event_type(), json!({"id": id}));
        let capacity = self.inner.config.buffer_size;
        space.objects_event(id, clock.issue(), event, capacity);
        Ok(())
    }

    /// Every user's or channel's metadata, by id.
    pub fn all_objects(&self, sub_key: &str, kind: ObjectKind) -> Vec<Entity> {
        let state = self.lock();
        state
            .spaces
            .get(sub_key)
            .map(|space| space.objects.entities_ref(kind).values().cloned().collect())
            .unwrap_or_default()
    }

    /// Sets and deletes memberships of one user or one channel. Each change is announced
    /// (`membership` events) on the channel and on the user id.
    pub fn manage_relations(
        &self,
        sub_key: &str,
        side: Side<'_>,
        set: &[RelationPatch],
        delete: &[String],
    ) {
        let key = |other: &str| match side {
            Side::User(user) => (user.to_string(), other.to_string()),
            Side::Channel(channel) => (other.to_string(), channel.to_string()),
        };
        let mut state = self.lock();
        let State { clock, spaces, .. } = &mut *state;
        let space = self.space(spaces, sub_key);
        let capacity = self.inner.config.buffer_size;
        for other in delete {
            let (user, channel) = key(other);
            if let Some(removed) = space
                .objects
                .relations
                .remove(&(user.clone(), channel.clone()))
            {
                let data =
                    json!({"channel": {"id": removed.channel}, "uuid": {"id": removed.user}});
                let event = objects_event("delete", "membership", data);
                space.objects_event(&channel, clock.issue(), event.clone(), capacity);
                space.objects_event(&user, clock.issue(), event, capacity);
            }
        }
        for patch in set {
            let (user, channel) = key(&patch.other);
            let existing = space
                .objects
                .relations
                .get(&(user.clone(), channel.clone()))
                .cloned();
            let mut relation = existing.clone().unwrap_or_else(|| Relation {
                user: user.clone(),
                channel: channel.clone(),
                fields: Map::new(),
                custom: None,
                updated: String::new(),
                etag: String::new(),
            });
            let changed = merge(
                &mut relation.fields,
                &mut relation.custom,
                &patch.fields,
                patch.custom.as_ref(),
            );
            if existing.is_some() && !changed {
                continue;
            }
            let tt = clock.issue();
            relation.updated = iso_time(tt);
            relation.etag = membership_etag(&json!([relation.fields, relation.custom]).to_string());
            let event = objects_event("set", "membership", relation.event_data());
            space
                .objects
                .relations
                .insert((user.clone(), channel.clone()), relation);
            space.objects_event(&channel, clock.issue(), event.clone(), capacity);
            space.objects_event(&user, clock.issue(), event, capacity);
        }
    }

    /// The memberships of a user or the members of a channel, with both ends' metadata.
    pub fn relations(&self, sub_key: &str, side: Side<'_>) -> Vec<RelationView> {
        let state = self.lock();
        let Some(space) = state.spaces.get(sub_key) else {
            return Vec::new();
        };
        let store = &space.objects;
        store
            .relations
            .values()
            .filter(|r| match side {
                Side::User(user) => r.user == user,
                Side::Channel(channel) => r.channel == channel,
            })
            .map(|r| RelationView {
                relation: r.clone(),
                user: store.users.get(&r.user).cloned(),
                channel: store.channels.get(&r.channel).cloned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::SubscribeRequest;

    #[test]
    fn iso_times() {
        // 2020-06-17T16:28:14.060718Z
        assert_eq!(
            iso_time(Timetoken(15_924_112_940_607_180)),
            "2020-06-17T16:28:14.060718Z"
        );
        assert_eq!(
            iso_time(Timetoken(17_098_012_132_668_200)),
            "2024-03-07T08:46:53.26682Z"
        );
        assert_eq!(
            iso_time(Timetoken(17_098_012_130_000_000)),
            "2024-03-07T08:46:53Z"
        );
        assert_eq!(iso_time(Timetoken(0)), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn etags_have_the_services_forms() {
        let user = entity_etag("[{},null]", Timetoken(1));
        assert_eq!(user.len(), 32);
        assert!(user
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(user, entity_etag("[{},null]", Timetoken(2)));
        let membership = membership_etag("[{},null]");
        assert_eq!(membership.len(), 14);
        assert_eq!(membership, membership_etag("[{},null]"), "content alone");
        assert_ne!(membership, membership_etag(r#"[{},{"a":1}]"#));
    }

    #[tokio::test(start_paused = true)]
    async fn sets_are_versioned_and_announced() {
        let hub = Hub::default();
        let request = SubscribeRequest::channels(["alice", "room"]);
        let cursor = hub.subscribe("k", request.clone()).unwrap().await.cursor;
        let mut patch = Map::new();
        patch.insert("name".into(), json!("Alice"));
        let first = hub
            .set_object("k", ObjectKind::User, "alice", &patch, None, None)
            .unwrap();
        let same = hub
            .set_object("k", ObjectKind::User, "alice", &patch, None, None)
            .unwrap();
        assert_eq!(first, same);
        assert_eq!(
            hub.set_object("k", ObjectKind::User, "alice", &patch, None, Some("old")),
            Err(ObjectError::PreconditionFailed)
        );
        let custom = json!({"mood": "happy"});
        let second = hub
            .set_object(
                "k",
                ObjectKind::User,
                "alice",
                &Map::new(),
                Some(&custom),
                Some(&first.etag),
            )
            .unwrap();
        assert_ne!(second.etag, first.etag);
        assert_eq!(second.fields["name"], json!("Alice"));
        hub.manage_relations(
            "k",
            Side::Channel("room"),
            &[RelationPatch {
                other: "alice".into(),
                fields: Map::new(),
                custom: None,
            }],
            &[],
        );
        assert_eq!(hub.relations("k", Side::User("alice")).len(), 1);
        hub.remove_object("k", ObjectKind::User, "alice", None)
            .unwrap();
        assert_eq!(
            hub.get_object("k", ObjectKind::User, "alice"),
            Err(ObjectError::NotFound)
        );
        let response = hub
            .subscribe("k", SubscribeRequest { cursor, ..request })
            .unwrap()
            .await;
        let events: Vec<(String, String, String)> = response
            .messages
            .iter()
            .map(|d| {
                let p = &d.message.payload;
                (
                    d.message.channel.clone(),
                    p["event"].as_str().unwrap_or_default().to_owned(),
                    p["type"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let e = |c: &str, ev: &str, t: &str| (c.to_owned(), ev.to_owned(), t.to_owned());
        assert_eq!(
            events,
            vec![
                e("alice", "set", "uuid"),
                e("alice", "set", "uuid"),
                e("room", "set", "membership"),
                e("alice", "set", "membership"),
                e("alice", "delete", "uuid"),
            ]
        );
    }
}

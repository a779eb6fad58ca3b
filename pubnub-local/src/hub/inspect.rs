//! A read-only view of the hub for the console: channels with their occupants, channel groups,
//! the user ids that subscribe, App Context, files and the push outbox, each list capped. It
//! takes the hub's lock once and copies what it shows; nothing here changes the hub.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::time::Instant;

use super::{
    Entity, Hub, Message, ObjectKind, Observed, PushNotification, Relation, StoredFile, Timetoken,
    PRESENCE_SUFFIX,
};

/// The hub at one moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Inspection {
    /// The hub's clock when it was taken.
    pub(crate) now: Timetoken,
    /// Every subscribe key that was used, by name.
    pub(crate) keys: Vec<KeyView>,
    /// The newest push notifications of every key, oldest first.
    pub(crate) push: Vec<PushNotification>,
}

/// One subscribe key. Every list is sorted by name and holds at most the inspection's limit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyView {
    pub(crate) sub_key: String,
    /// Channels with buffered messages, occupants or subscribers (not `-pnpres` ones).
    pub(crate) channels: Vec<ChannelView>,
    /// How many channels there are, listed or not.
    pub(crate) channel_count: usize,
    pub(crate) groups: Vec<(String, Vec<String>)>,
    pub(crate) clients: Vec<ClientView>,
    pub(crate) client_count: usize,
    pub(crate) users: Vec<Entity>,
    pub(crate) channel_metadata: Vec<Entity>,
    pub(crate) memberships: Vec<Relation>,
    pub(crate) files: Vec<StoredFile>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ChannelView {
    pub(crate) name: String,
    pub(crate) occupants: Vec<OccupantView>,
    /// Messages kept for catch-up.
    pub(crate) buffered: usize,
    pub(crate) last_message: Option<Timetoken>,
    /// User ids whose latest subscribe names this channel.
    pub(crate) subscribers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OccupantView {
    pub(crate) uuid: String,
    pub(crate) state: Option<Value>,
    pub(crate) last_heartbeat: Timetoken,
    pub(crate) expires: Timetoken,
}

/// A user id that subscribes, or is present without subscribing.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ClientView {
    pub(crate) uuid: String,
    /// Channels and groups of its latest subscribe.
    pub(crate) channels: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) filter: Option<String>,
    /// Long-polls open right now.
    pub(crate) long_polls: u32,
    pub(crate) last_request: Option<Timetoken>,
    /// Channels where it is present, with its state there.
    pub(crate) present: Vec<(String, Option<Value>)>,
    pub(crate) last_heartbeat: Option<Timetoken>,
}

impl Hub {
    /// What the hub holds now; each list capped at `limit` entries.
    pub(crate) fn inspect(&self, limit: usize) -> Inspection {
        let mut state = self.lock();
        let now = state.clock.cursor();
        let clock = &state.clock;
        let at = |instant: Instant| clock.at(instant);
        let mut keys: Vec<KeyView> = state
            .spaces
            .iter()
            .map(|(sub_key, space)| {
                let mut channels: BTreeMap<&str, ChannelView> = BTreeMap::new();
                let view = |name: &str| -> ChannelView {
                    ChannelView {
                        name: name.to_string(),
                        ..ChannelView::default()
                    }
                };
                for (name, buffer) in &space.channels {
                    if name.ends_with(PRESENCE_SUFFIX) {
                        continue;
                    }
                    let channel = channels.entry(name).or_insert_with(|| view(name));
                    channel.buffered = buffer.len();
                    channel.last_message = buffer.newest(1).next().map(|m| m.timetoken);
                }
                let mut clients: BTreeMap<&str, ClientView> = BTreeMap::new();
                for (uuid, client) in space.clients.iter() {
                    for name in &client.channels {
                        // Patterns and presence channels are not channels one publishes to.
                        if name.ends_with(PRESENCE_SUFFIX) || name.contains('*') {
                            continue;
                        }
                        let channel = channels.entry(name).or_insert_with(|| view(name));
                        channel.subscribers.push(uuid.clone());
                    }
                    clients.insert(
                        uuid,
                        ClientView {
                            uuid: uuid.clone(),
                            channels: client.channels.clone(),
                            groups: client.groups.clone(),
                            filter: client.filter.clone(),
                            long_polls: client.long_polls,
                            last_request: Some(at(client.last_request)),
                            ..ClientView::default()
                        },
                    );
                }
                for (name, uuid, presence_state, heartbeat, expires) in space.occupants() {
                    let channel = channels.entry(name).or_insert_with(|| view(name));
                    channel.occupants.push(OccupantView {
                        uuid: uuid.to_string(),
                        state: presence_state.cloned(),
                        last_heartbeat: at(heartbeat),
                        expires: at(expires),
                    });
                    let client = clients.entry(uuid).or_insert_with(|| ClientView {
                        uuid: uuid.to_string(),
                        ..ClientView::default()
                    });
                    client
                        .present
                        .push((name.to_string(), presence_state.cloned()));
                    let heartbeat = at(heartbeat);
                    client.last_heartbeat = client.last_heartbeat.max(Some(heartbeat));
                }
                let channel_count = channels.len();
                let client_count = clients.len();
                let mut channels: Vec<ChannelView> = channels.into_values().take(limit).collect();
                for channel in &mut channels {
                    channel.occupants.sort_by(|a, b| a.uuid.cmp(&b.uuid));
                    channel.subscribers.sort();
                }
                let mut clients: Vec<ClientView> = clients.into_values().take(limit).collect();
                for client in &mut clients {
                    client.present.sort_by(|a, b| a.0.cmp(&b.0));
                }
                let mut files: Vec<StoredFile> = state
                    .files
                    .all()
                    .filter(|(key, _)| key == sub_key)
                    .map(|(_, file)| file.clone())
                    .collect();
                files.sort_by(|a, b| (&a.channel, &a.id).cmp(&(&b.channel, &b.id)));
                files.truncate(limit);
                let objects = &space.objects;
                KeyView {
                    sub_key: sub_key.clone(),
                    channels,
                    channel_count,
                    groups: space
                        .groups
                        .iter()
                        .take(limit)
                        .map(|(name, members)| (name.clone(), members.iter().cloned().collect()))
                        .collect(),
                    clients,
                    client_count,
                    users: capped(objects.entities_ref(ObjectKind::User).values(), limit),
                    channel_metadata: capped(
                        objects.entities_ref(ObjectKind::Channel).values(),
                        limit,
                    ),
                    memberships: capped(objects.all_relations(), limit),
                    files,
                }
            })
            .collect();
        keys.sort_by(|a, b| a.sub_key.cmp(&b.sub_key));
        let push = state.push_outbox.newest(limit).cloned().collect();
        Inspection { now, keys, push }
    }

    /// The newest `limit` messages of every channel buffer (messages, signals, presence and
    /// other events), oldest first: what a console shows of what happened before it opened.
    pub(crate) fn recent_messages(&self, limit: usize) -> Vec<Observed> {
        let state = self.lock();
        let mut out: Vec<(Arc<str>, Arc<Message>)> = Vec::new();
        for (sub_key, space) in &state.spaces {
            let key: Arc<str> = Arc::from(sub_key.as_str());
            for buffer in space.channels.values() {
                out.extend(
                    buffer
                        .newest(limit)
                        .map(|m| (Arc::clone(&key), Arc::clone(m))),
                );
            }
        }
        out.sort_by_key(|(_, m)| m.timetoken);
        let skip = out.len().saturating_sub(limit);
        out.into_iter()
            .skip(skip)
            .map(|(sub_key, message)| Observed { sub_key, message })
            .collect()
    }
}

fn capped<'a, T: Clone + 'a>(items: impl Iterator<Item = &'a T>, limit: usize) -> Vec<T> {
    items.take(limit).cloned().collect()
}

//! The in-memory PubNub core: channels, buffers, cursors, presence, channel groups, filters,
//! history, actions, App Context, the records of shared files, and mobile push registrations
//! with the outbox of what would have been pushed.
//!
//! Nothing here knows about HTTP. The HTTP layer parses a request, calls one [`Hub`] method and
//! formats the answer; a deterministic simulation can call the same methods directly on a
//! paused tokio clock.
//!
//! All state sits behind one mutex that is never held across an `.await`. Every message gets
//! its timetoken and enters its channel buffer under that lock, so buffers are sorted and a
//! long-poll that found nothing newer than its cursor cannot miss a message published before
//! it registered as a waiter.
//!
//! Data is separated by subscribe key, as on the real service.

mod actions;
mod channels;
mod clients;
mod files;
mod groups;
mod history;
pub(crate) mod inspect;
mod objects;
mod presence;
mod push;
mod subscribe;
mod timetoken;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{broadcast, watch, Notify};

pub use actions::{ActionError, ActionsPage, MessageAction, MAX_ACTIONS_LIMIT};
pub use channels::{
    parse_subscribe_channel, validate_plain, ChannelTarget, EventKind, Message, NameError,
    MAX_NAME_CHARS, PRESENCE_SUFFIX,
};
pub use files::{
    channel_hash, object_key, FilesPage, NewFile, StoredFile, MAX_FILES_LIMIT, MAX_FILE_BYTES,
};
pub use groups::{GroupError, MAX_CHANNELS_PER_GROUP};
pub use history::{
    expiry, HistoryEntry, HistoryRequest, StoredMessage, TimeRange, MAX_COUNT, MAX_COUNT_CHANNELS,
    MAX_FETCH_CHANNELS,
};
pub use objects::{
    iso_time, Entity, ObjectError, ObjectKind, Relation, RelationPatch, RelationView, Side,
};
pub use presence::{ChannelOccupancy, HereNow, Occupant, PresenceError};
pub use push::{
    PushDevice, PushEnvironment, PushGateway, PushNotification, PushType, MAX_PUSH_OUTBOX,
    PUSH_DEBUG_PUBLISHER, PUSH_DEBUG_SUFFIX,
};
pub use subscribe::{Delivery, SubscribeError, SubscribeRequest, SubscribeResponse};
pub use timetoken::Timetoken;

use channels::ChannelBuffer;
use timetoken::Clock;

/// Messages a watcher (the console) may fall behind by before it is told it skipped some.
const OBSERVED_BACKLOG: usize = 1024;

/// Settings of a [`Hub`].
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// How long a receive long-poll waits for a message before answering with no messages.
    pub hold: Duration,
    /// How many recent messages each channel keeps for catch-up subscribes.
    pub buffer_size: usize,
    /// How many published messages each channel keeps in history (message persistence);
    /// 0 stores none.
    pub history_size: usize,
    /// Most messages in one subscribe response; the cursor then points at the last one sent.
    pub max_messages_per_response: usize,
    /// Occupancy above which a channel switches from per-user presence events to `interval`.
    pub announce_max: usize,
    /// Period of `interval` presence events.
    pub presence_interval: Duration,
    /// Presence timeout when a request sends no `heartbeat`.
    pub default_presence_timeout: Duration,
    /// Region reported in cursors (`r`) when the client sent no `tr`.
    pub region: u32,
    /// First timetoken; `None` reads the wall clock once at start.
    pub start_timetoken: Option<Timetoken>,
    /// How long an uploaded file is kept (File Sharing); `None` keeps it until it is deleted.
    /// The service keeps files for the keyset's retention; pubnub-local has no per-channel
    /// retention, so this one setting covers every channel.
    pub file_retention: Option<Duration>,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            hold: Duration::from_secs(280),
            buffer_size: 100,
            history_size: 10_000,
            max_messages_per_response: 100,
            announce_max: 20,
            presence_interval: Duration::from_secs(10),
            default_presence_timeout: Duration::from_secs(300),
            region: 1,
            start_timetoken: None,
            file_retention: None,
        }
    }
}

/// What to publish: a message or a signal, and its optional envelope fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    /// Target channel (a plain name).
    pub channel: String,
    /// The payload, already parsed.
    pub payload: Value,
    /// [`EventKind::Message`], [`EventKind::Signal`] or [`EventKind::File`].
    pub kind: EventKind,
    /// Publisher uuid, delivered as `i`.
    pub publisher: Option<String>,
    /// `meta`, delivered as `u` and seen by filter expressions.
    pub meta: Option<Value>,
    /// `seqn`, delivered as `s`.
    pub seqn: Option<i64>,
    /// `custom_message_type`, delivered as `cmt`.
    pub custom_message_type: Option<String>,
    /// `false` for fire (`store=0&norep=true`): accepted and given a timetoken, never delivered.
    pub deliver: bool,
    /// `false` for `store=0`: not kept in history. Signals are never kept; file messages are
    /// kept like messages.
    pub store: bool,
    /// `ttl` in hours: the message leaves history that long after its timetoken. `None`, zero
    /// or negative: no per-message expiry.
    pub ttl_hours: Option<f64>,
}

impl Publish {
    /// A plain message with no optional fields.
    pub fn message(channel: impl Into<String>, payload: Value) -> Publish {
        Publish {
            channel: channel.into(),
            payload,
            kind: EventKind::Message,
            publisher: None,
            meta: None,
            seqn: None,
            custom_message_type: None,
            deliver: true,
            store: true,
            ttl_hours: None,
        }
    }

    /// A signal with no optional fields.
    pub fn signal(channel: impl Into<String>, payload: Value) -> Publish {
        Publish {
            kind: EventKind::Signal,
            ..Publish::message(channel, payload)
        }
    }
}

/// Why a publish was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The channel name is not a valid plain channel name.
    #[error("invalid channel: {0}")]
    InvalidChannel(#[from] NameError),
    /// [`EventKind::Presence`] cannot be published by clients.
    #[error("presence events cannot be published")]
    PresenceKind,
    /// [`EventKind::Action`] and [`EventKind::Objects`] events come from the message-actions
    /// and App Context calls, not from publish.
    #[error("action events cannot be published")]
    ActionKind,
}

/// The shared in-memory server state. Cheap to clone: every clone is the same hub.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    config: HubConfig,
    state: Mutex<State>,
    observers: Arc<Observers>,
}

/// How the hub tells a watcher (the console) what happens, without being asked: every message
/// that enters a channel, and a version number bumped on every other change. Sending costs
/// next to nothing when nobody watches, so the hub never polls and is never polled.
#[derive(Debug)]
pub(crate) struct Observers {
    messages: broadcast::Sender<Observed>,
    changed: watch::Sender<u64>,
}

impl Observers {
    fn touch(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// A message as it entered its channel, with its subscribe key.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    pub(crate) sub_key: Arc<str>,
    pub(crate) message: Arc<Message>,
}

struct State {
    clock: Clock,
    spaces: HashMap<String, KeySpace>,
    next_waiter: u64,
    next_interval: tokio::time::Instant,
    /// File Sharing: the files of every key and channel.
    files: files::FileStore,
    /// Mobile push: what was pushed, every key.
    push_outbox: push::Outbox,
}

/// Everything that belongs to one subscribe key.
#[derive(Default)]
struct KeySpace {
    /// Set when the space is created by [`Hub::space`]; `None` only in unit tests.
    observer: Option<(Arc<str>, Arc<Observers>)>,
    /// The user ids that subscribed recently, for the console.
    clients: clients::Clients,
    channels: HashMap<String, ChannelBuffer>,
    groups: BTreeMap<String, BTreeSet<String>>,
    presence: presence::PresenceSpace,
    /// Waiting long-polls by the subscription name they wait on (channel, pattern or group).
    waiters: HashMap<String, HashMap<u64, Arc<Notify>>>,
    /// Message persistence, by channel (separate from the catch-up buffers above).
    history: HashMap<String, history::ChannelHistory>,
    /// Message actions, by channel.
    actions: HashMap<String, actions::ChannelActions>,
    /// App Context: user and channel metadata, memberships.
    objects: objects::ObjectStore,
    /// Mobile push registrations.
    push: push::PushStore,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(HubConfig::default())
    }
}

impl Hub {
    /// A new, empty hub. Its clock starts now (or at `config.start_timetoken`).
    pub fn new(config: HubConfig) -> Hub {
        let state = State {
            clock: Clock::new(config.start_timetoken),
            spaces: HashMap::new(),
            next_waiter: 0,
            next_interval: tokio::time::Instant::now() + config.presence_interval,
            files: files::FileStore::default(),
            push_outbox: push::Outbox::default(),
        };
        let observers = Observers {
            messages: broadcast::Sender::new(OBSERVED_BACKLOG),
            changed: watch::Sender::new(0),
        };
        Hub {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(state),
                observers: Arc::new(observers),
            }),
        }
    }

    /// The space of `sub_key`, created on first use.
    fn space<'a>(
        &self,
        spaces: &'a mut HashMap<String, KeySpace>,
        sub_key: &str,
    ) -> &'a mut KeySpace {
        spaces
            .entry(sub_key.to_string())
            .or_insert_with(|| KeySpace {
                observer: Some((Arc::from(sub_key), Arc::clone(&self.inner.observers))),
                ..KeySpace::default()
            })
    }

    /// Tells watchers that something changed besides a message.
    fn touch(&self) {
        self.inner.observers.touch();
    }

    /// Every message that enters a channel from now on (published, presence, action, App
    /// Context and file events), with its key.
    pub(crate) fn observe_messages(&self) -> broadcast::Receiver<Observed> {
        self.inner.observers.messages.subscribe()
    }

    /// A receiver that sees a new value whenever the hub's state changes.
    pub(crate) fn observe_changes(&self) -> watch::Receiver<u64> {
        self.inner.observers.changed.subscribe()
    }

    /// The hub's settings.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock; if one ever did, the state is still
        // consistent enough for a test server, so keep serving rather than cascade panics.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current cursor, as a handshake or `/time/0` would return it.
    pub fn now(&self) -> Timetoken {
        self.lock().clock.cursor()
    }

    /// Publishes a message or signal and returns its timetoken.
    ///
    /// Size limits depend on the wire form and are checked by the HTTP layer.
    pub fn publish(&self, sub_key: &str, publish: Publish) -> Result<Timetoken, PublishError> {
        validate_plain(&publish.channel)?;
        match publish.kind {
            EventKind::Presence => return Err(PublishError::PresenceKind),
            EventKind::Action | EventKind::Objects => return Err(PublishError::ActionKind),
            EventKind::Message | EventKind::Signal | EventKind::File => {}
        }
        let mut state = self.lock();
        let State {
            clock,
            spaces,
            push_outbox,
            ..
        } = &mut *state;
        let timetoken = clock.issue();
        // Signals are never stored (PROTOCOL.md §18.1); file messages are, as `message_type` 4.
        let store = publish.store
            && matches!(publish.kind, EventKind::Message | EventKind::File)
            && self.inner.config.history_size > 0;
        if !publish.deliver && !store {
            return Ok(timetoken);
        }
        let expires = expiry(timetoken, publish.ttl_hours);
        let message = Arc::new(Message {
            channel: publish.channel,
            timetoken,
            payload: publish.payload,
            kind: publish.kind,
            publisher: publish.publisher,
            meta: publish.meta,
            seqn: publish.seqn,
            custom_message_type: publish.custom_message_type,
        });
        let space = self.space(spaces, sub_key);
        if store {
            // The history shares the delivered message: no copy of the payload.
            let stored = StoredMessage {
                message: Arc::clone(&message),
                expires,
            };
            space
                .history
                .entry(message.channel.clone())
                .or_default()
                .push(stored, self.inner.config.history_size);
        }
        if publish.deliver {
            let capacity = self.inner.config.buffer_size;
            space.append_shared(Arc::clone(&message), capacity);
            // Mobile push follows delivery: fire (not delivered) and signals push nothing.
            if message.kind == EventKind::Message {
                push::on_publish(space, push_outbox, clock, sub_key, &message, capacity);
            }
        }
        Ok(timetoken)
    }

    /// Number of receive long-polls currently waiting, over all keys. Tests use it to know a
    /// long-poll has parked before they publish or advance time.
    pub fn waiting_subscribers(&self) -> usize {
        let state = self.lock();
        let mut ids = std::collections::HashSet::new();
        for space in state.spaces.values() {
            for waiters in space.waiters.values() {
                ids.extend(waiters.keys().copied());
            }
        }
        ids.len()
    }
}

impl KeySpace {
    /// Stores a message and wakes every long-poll that may want it.
    fn append(&mut self, message: Message, capacity: usize) {
        self.append_shared(Arc::new(message), capacity);
    }

    /// [`KeySpace::append`] for a message already shared (with history).
    fn append_shared(&mut self, message: Arc<Message>, capacity: usize) {
        let mut names = channels::wildcard_names(&message.channel);
        let base = message.channel.strip_suffix(PRESENCE_SUFFIX);
        for (group, members) in &self.groups {
            match base {
                Some(base) if members.contains(base) => {
                    names.push(format!("{group}{PRESENCE_SUFFIX}"))
                }
                None if members.contains(&message.channel) => names.push(group.clone()),
                _ => {}
            }
        }
        names.push(message.channel.clone());
        let channel = message.channel.clone();
        if let Some((sub_key, observers)) = &self.observer {
            // Fails only when nobody watches.
            let _ = observers.messages.send(Observed {
                sub_key: Arc::clone(sub_key),
                message: Arc::clone(&message),
            });
            observers.touch();
        }
        self.channels
            .entry(channel)
            .or_default()
            .push(message, capacity);
        for name in names {
            if let Some(waiters) = self.waiters.get(&name) {
                for notify in waiters.values() {
                    notify.notify_one();
                }
            }
        }
    }

    /// Channels of a group, or none for an unknown group.
    fn group_members(&self, group: &str) -> impl Iterator<Item = &String> {
        self.groups.get(group).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests;

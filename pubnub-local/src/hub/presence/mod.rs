//! Presence: occupants, heartbeats, timeouts, state, and the events they publish on
//! `<channel>-pnpres` (announce mode up to `announce_max`, `interval` mode above it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

mod events;

use events::Event;

use super::timetoken::Clock;
use super::{
    parse_subscribe_channel, validate_plain, ChannelTarget, Hub, HubConfig, KeySpace, NameError,
    PRESENCE_SUFFIX,
};

/// Why a presence call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceError {
    /// Neither channels nor groups were given.
    #[error("no channels or channel groups")]
    NoChannels,
    /// A channel name is invalid.
    #[error("invalid channel {name:?}: {reason}")]
    InvalidChannel {
        /// The refused name.
        name: String,
        /// Why.
        reason: NameError,
    },
    /// A group name is invalid.
    #[error("invalid channel group {name:?}: {reason}")]
    InvalidGroup {
        /// The refused name.
        name: String,
        /// Why.
        reason: NameError,
    },
}

/// One occupant in a here-now answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Occupant {
    /// The occupant's uuid.
    pub uuid: String,
    /// Its state on this channel, if any was set.
    pub state: Option<Value>,
}

/// Occupancy of one channel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChannelOccupancy {
    /// Number of occupants.
    pub occupancy: usize,
    /// The occupants, sorted by uuid.
    pub occupants: Vec<Occupant>,
}

/// A here-now answer: channels with at least one occupant, by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HereNow {
    /// Occupied channels.
    pub channels: BTreeMap<String, ChannelOccupancy>,
}

#[derive(Debug, Default)]
pub(crate) struct PresenceSpace {
    channels: HashMap<String, ChannelPresence>,
    /// State by channel, then uuid. Kept apart from occupancy: state can be set for a uuid
    /// that is not subscribed, and it ends when the uuid leaves or times out.
    states: HashMap<String, HashMap<String, Value>>,
}

#[derive(Debug, Default)]
struct ChannelPresence {
    occupants: BTreeMap<String, Presence>,
    pending: Deltas,
}

#[derive(Debug)]
struct Presence {
    expires: Instant,
    /// The latest heartbeat (explicit or a subscribe's), for the console.
    heartbeat: Instant,
}

#[derive(Debug, Default)]
pub(super) struct Deltas {
    pub(super) join: Vec<String>,
    pub(super) leave: Vec<String>,
    pub(super) timeout: Vec<String>,
}

impl Deltas {
    fn is_empty(&self) -> bool {
        self.join.is_empty() && self.leave.is_empty() && self.timeout.is_empty()
    }
}

impl KeySpace {
    /// Marks `uuid` present on `channels` until `timeout` from now; announces joins and
    /// state changes.
    pub(crate) fn heartbeat(
        &mut self,
        clock: &mut Clock,
        config: &HubConfig,
        uuid: &str,
        channels: &[String],
        timeout: Duration,
        states: Option<&Map<String, Value>>,
    ) {
        let now = Instant::now();
        let expires = now + timeout;
        let mut events = Vec::new();
        for channel in channels {
            let new_state = states
                .and_then(|s| s.get(channel))
                .filter(|v| v.is_object())
                .cloned();
            let state_changed = match &new_state {
                Some(state) => self.set_state_entry(channel, uuid, state.clone()),
                None => false,
            };
            let entry = self.presence.channels.entry(channel.clone()).or_default();
            let joined = entry
                .occupants
                .insert(
                    uuid.to_string(),
                    Presence {
                        expires,
                        heartbeat: now,
                    },
                )
                .is_none();
            let occupancy = entry.occupants.len();
            if joined && occupancy > config.announce_max {
                entry.pending.join.push(uuid.to_string());
            } else if joined {
                events.push(Event::user(channel, "join", uuid, occupancy, new_state));
            } else if state_changed {
                events.push(Event::user(
                    channel,
                    "state-change",
                    uuid,
                    occupancy,
                    new_state,
                ));
            }
        }
        self.emit(clock, config, events);
    }

    /// Removes `uuid` from `channels` (explicit leave or timeout).
    fn depart(
        &mut self,
        clock: &mut Clock,
        config: &HubConfig,
        uuid: &str,
        channels: &[String],
        action: &'static str,
    ) {
        let mut events = Vec::new();
        for channel in channels {
            let Some(entry) = self.presence.channels.get_mut(channel) else {
                continue;
            };
            let before = entry.occupants.len();
            if entry.occupants.remove(uuid).is_none() {
                continue;
            }
            if before > config.announce_max {
                let list = if action == "timeout" {
                    &mut entry.pending.timeout
                } else {
                    &mut entry.pending.leave
                };
                list.push(uuid.to_string());
            } else {
                events.push(Event::user(channel, action, uuid, before - 1, None));
            }
            if let Some(states) = self.presence.states.get_mut(channel) {
                states.remove(uuid);
            }
        }
        self.emit(clock, config, events);
    }

    /// Stores state; `{}` clears it. Returns whether it changed.
    fn set_state_entry(&mut self, channel: &str, uuid: &str, state: Value) -> bool {
        let states = self.presence.states.entry(channel.to_string()).or_default();
        let empty = state.as_object().is_some_and(Map::is_empty);
        let previous = if empty {
            states.remove(uuid)
        } else {
            states.insert(uuid.to_string(), state.clone())
        };
        previous.as_ref() != Some(&state) && !(empty && previous.is_none())
    }

    fn state_of(&self, channel: &str, uuid: &str) -> Option<&Value> {
        self.presence.states.get(channel)?.get(uuid)
    }

    fn occupancy(&self, channel: &str) -> usize {
        self.presence
            .channels
            .get(channel)
            .map_or(0, |c| c.occupants.len())
    }

    fn emit(&mut self, clock: &mut Clock, config: &HubConfig, events: Vec<Event>) {
        for event in events {
            let message = event.into_message(clock);
            self.append(message, config.buffer_size);
        }
    }

    /// Times out expired occupants and, when `interval_due`, sends `interval` events.
    fn sweep(&mut self, clock: &mut Clock, config: &HubConfig, interval_due: bool) {
        let now = Instant::now();
        let mut expired: Vec<(String, String)> = Vec::new();
        for (channel, entry) in &self.presence.channels {
            for (uuid, presence) in &entry.occupants {
                if presence.expires <= now {
                    expired.push((channel.clone(), uuid.clone()));
                }
            }
        }
        for (channel, uuid) in expired {
            self.depart(clock, config, &uuid, &[channel], "timeout");
        }
        if interval_due {
            let mut events = Vec::new();
            for (channel, entry) in &mut self.presence.channels {
                let occupancy = entry.occupants.len();
                if occupancy > config.announce_max || !entry.pending.is_empty() {
                    events.push(Event {
                        channel: channel.clone(),
                        action: "interval",
                        uuid: None,
                        occupancy,
                        data: None,
                        deltas: Some(std::mem::take(&mut entry.pending)),
                    });
                }
            }
            events.sort_by(|a, b| a.channel.cmp(&b.channel));
            self.emit(clock, config, events);
        }
        self.presence
            .channels
            .retain(|_, entry| !entry.occupants.is_empty() || !entry.pending.is_empty());
    }

    /// Plain channels named by a presence call plus the channels of its plain groups.
    /// `-pnpres` names and wildcard patterns are skipped: they make nobody present.
    fn presence_targets(
        &self,
        channels: &[String],
        groups: &[String],
    ) -> Result<Vec<String>, PresenceError> {
        if channels.is_empty() && groups.is_empty() {
            return Err(PresenceError::NoChannels);
        }
        let mut out = BTreeSet::new();
        for name in channels {
            match parse_subscribe_channel(name) {
                Ok(ChannelTarget::Channel {
                    presence: false, ..
                }) => {
                    out.insert(name.clone());
                }
                Ok(_) => {}
                Err(reason) => {
                    return Err(PresenceError::InvalidChannel {
                        name: name.clone(),
                        reason,
                    })
                }
            }
        }
        for group in groups {
            if group.ends_with(PRESENCE_SUFFIX) {
                continue;
            }
            validate_plain(group).map_err(|reason| PresenceError::InvalidGroup {
                name: group.clone(),
                reason,
            })?;
            out.extend(self.group_members(group).cloned());
        }
        Ok(out.into_iter().collect())
    }

    /// Every occupant of every channel, for the console: channel, user id, state, latest
    /// heartbeat and expiry.
    pub(in crate::hub) fn occupants(
        &self,
    ) -> impl Iterator<Item = (&str, &str, Option<&Value>, Instant, Instant)> {
        self.presence
            .channels
            .iter()
            .flat_map(move |(channel, entry)| {
                entry.occupants.iter().map(move |(uuid, presence)| {
                    let state = self.state_of(channel, uuid);
                    (
                        channel.as_str(),
                        uuid.as_str(),
                        state,
                        presence.heartbeat,
                        presence.expires,
                    )
                })
            })
    }

    fn channel_occupancy(&self, channel: &str) -> ChannelOccupancy {
        let occupants: Vec<Occupant> = self
            .presence
            .channels
            .get(channel)
            .into_iter()
            .flat_map(|c| c.occupants.keys())
            .map(|uuid| Occupant {
                uuid: uuid.clone(),
                state: self.state_of(channel, uuid).cloned(),
            })
            .collect();
        ChannelOccupancy {
            occupancy: occupants.len(),
            occupants,
        }
    }
}

impl Hub {
    /// An explicit heartbeat: `uuid` is present on the channels (and the groups' channels)
    /// for `timeout` (the default presence timeout when `None`). `state` is keyed by channel.
    pub fn heartbeat(
        &self,
        sub_key: &str,
        uuid: &str,
        channels: &[String],
        groups: &[String],
        timeout: Option<Duration>,
        state: Option<&Map<String, Value>>,
    ) -> Result<(), PresenceError> {
        let config = &self.inner.config;
        let timeout = timeout.unwrap_or(config.default_presence_timeout);
        let mut guard = self.lock();
        let super::State { clock, spaces, .. } = &mut *guard;
        let space = self.space(spaces, sub_key);
        let targets = space.presence_targets(channels, groups)?;
        space.heartbeat(clock, config, uuid, &targets, timeout, state);
        drop(guard);
        self.touch();
        Ok(())
    }

    /// An explicit leave: `uuid` leaves the channels and the groups' channels.
    pub fn leave(
        &self,
        sub_key: &str,
        uuid: &str,
        channels: &[String],
        groups: &[String],
    ) -> Result<(), PresenceError> {
        let mut guard = self.lock();
        let super::State { clock, spaces, .. } = &mut *guard;
        let space = self.space(spaces, sub_key);
        let targets = space.presence_targets(channels, groups)?;
        space.depart(clock, &self.inner.config, uuid, &targets, "leave");
        drop(guard);
        self.touch();
        Ok(())
    }

    /// Occupants of the channels and the groups' channels; unoccupied channels are left out.
    pub fn here_now(
        &self,
        sub_key: &str,
        channels: &[String],
        groups: &[String],
    ) -> Result<HereNow, PresenceError> {
        let guard = self.lock();
        let Some(space) = guard.spaces.get(sub_key) else {
            // Validate names even for a key nobody has used yet.
            KeySpace::default().presence_targets(channels, groups)?;
            return Ok(HereNow::default());
        };
        let mut out = HereNow::default();
        for channel in space.presence_targets(channels, groups)? {
            let occupancy = space.channel_occupancy(&channel);
            if occupancy.occupancy > 0 {
                out.channels.insert(channel, occupancy);
            }
        }
        Ok(out)
    }

    /// Occupants of every occupied channel of the key.
    pub fn global_here_now(&self, sub_key: &str) -> HereNow {
        let guard = self.lock();
        let mut out = HereNow::default();
        if let Some(space) = guard.spaces.get(sub_key) {
            for channel in space.presence.channels.keys() {
                let occupancy = space.channel_occupancy(channel);
                if occupancy.occupancy > 0 {
                    out.channels.insert(channel.clone(), occupancy);
                }
            }
        }
        out
    }

    /// Channels where `uuid` is present, sorted.
    pub fn where_now(&self, sub_key: &str, uuid: &str) -> Vec<String> {
        let guard = self.lock();
        let mut out: Vec<String> = guard
            .spaces
            .get(sub_key)
            .into_iter()
            .flat_map(|space| space.presence.channels.iter())
            .filter(|(_, entry)| entry.occupants.contains_key(uuid))
            .map(|(channel, _)| channel.clone())
            .collect();
        out.sort();
        out
    }

    /// Sets `uuid`'s state on the channels and the groups' channels (`{}` clears it) and
    /// announces `state-change` where the uuid is present.
    pub fn set_state(
        &self,
        sub_key: &str,
        uuid: &str,
        channels: &[String],
        groups: &[String],
        state: &Map<String, Value>,
    ) -> Result<(), PresenceError> {
        let config = &self.inner.config;
        let mut guard = self.lock();
        let super::State { clock, spaces, .. } = &mut *guard;
        let space = self.space(spaces, sub_key);
        let targets = space.presence_targets(channels, groups)?;
        let mut events = Vec::new();
        for channel in &targets {
            space.set_state_entry(channel, uuid, Value::Object(state.clone()));
            let present = space
                .presence
                .channels
                .get(channel)
                .is_some_and(|c| c.occupants.contains_key(uuid));
            if present {
                let occupancy = space.occupancy(channel);
                let data = Some(Value::Object(state.clone()));
                events.push(Event::user(channel, "state-change", uuid, occupancy, data));
            }
        }
        space.emit(clock, config, events);
        drop(guard);
        self.touch();
        Ok(())
    }

    /// `uuid`'s state on each of the channels and the groups' channels (`{}` when unset).
    pub fn get_state(
        &self,
        sub_key: &str,
        uuid: &str,
        channels: &[String],
        groups: &[String],
    ) -> Result<BTreeMap<String, Value>, PresenceError> {
        let guard = self.lock();
        let empty = KeySpace::default();
        let space = guard.spaces.get(sub_key).unwrap_or(&empty);
        let targets = space.presence_targets(channels, groups)?;
        Ok(targets
            .into_iter()
            .map(|channel| {
                let state = space
                    .state_of(&channel, uuid)
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Map::new()));
                (channel, state)
            })
            .collect())
    }

    /// Runs presence housekeeping at the current clock: timeouts, and `interval` events when
    /// the interval has elapsed. [`Hub::run_sweeper`] calls it every second.
    pub fn sweep(&self) {
        let config = &self.inner.config;
        let mut guard = self.lock();
        let now = Instant::now();
        let interval_due = now >= guard.next_interval;
        if interval_due {
            guard.next_interval = now + config.presence_interval;
        }
        let super::State { clock, spaces, .. } = &mut *guard;
        let mut forgot = false;
        for space in spaces.values_mut() {
            space.sweep(clock, config, interval_due);
            forgot |= space.clients.forget_idle(now);
        }
        drop(guard);
        if forgot {
            self.touch();
        }
    }

    /// Calls [`Hub::sweep`] every second, forever. The server spawns it; a simulation on a
    /// paused clock can spawn it too.
    pub async fn run_sweeper(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sweep();
        }
    }
}

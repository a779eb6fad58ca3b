//! Subscribe: handshake, receive long-polls, catch-up and the waiter registry.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{
    parse_subscribe_channel, validate_plain, ChannelBuffer, ChannelTarget, EventKind, Hub,
    KeySpace, Message, NameError, Timetoken, PRESENCE_SUFFIX,
};
use crate::filter::{Filter, FilterError};

/// A subscribe call, as `/v2/subscribe` carries it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscribeRequest {
    /// Channels, `-pnpres` channels and wildcard patterns.
    pub channels: Vec<String>,
    /// Channel groups; `g-pnpres` subscribes to the presence of the group's channels.
    pub groups: Vec<String>,
    /// `tt`: zero for a handshake, else the cursor of the previous response.
    pub cursor: Timetoken,
    /// `tr`: echoed back as the region when present.
    pub region: Option<u32>,
    /// The subscriber's uuid; without it the subscribe is not a presence heartbeat.
    pub uuid: Option<String>,
    /// `heartbeat`: the presence timeout for this uuid on these channels.
    pub heartbeat: Option<Duration>,
    /// `state`: presence state keyed by channel.
    pub state: Option<Map<String, Value>>,
    /// `filter-expr`, evaluated against each message's `meta` and payload.
    pub filter: Option<String>,
}

impl SubscribeRequest {
    /// A handshake on these channels, with nothing else set.
    pub fn channels<I, S>(channels: I) -> SubscribeRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SubscribeRequest {
            channels: channels.into_iter().map(Into::into).collect(),
            ..SubscribeRequest::default()
        }
    }
}

/// One delivered message and the subscription name it matched through.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The stored message.
    pub message: Arc<Message>,
    /// `b`: the group, wildcard pattern or presence channel that matched; `None` for a direct
    /// channel subscription.
    pub matched: Option<String>,
}

/// A subscribe answer: the next cursor and the messages, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscribeResponse {
    /// `t.t`: the cursor for the next receive.
    pub cursor: Timetoken,
    /// `t.r`.
    pub region: u32,
    /// `m`, at most `max_messages_per_response` of them, in timetoken order.
    pub messages: Vec<Delivery>,
}

/// Why a subscribe was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// Neither channels nor groups were given.
    #[error("no channels or channel groups")]
    NoChannels,
    /// A channel name or pattern is invalid.
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
    /// The filter expression does not parse.
    #[error("invalid filter expression: {0}")]
    InvalidFilter(#[from] FilterError),
}

/// A validated subscription: what a long-poll matches against.
#[derive(Debug)]
struct Subscription {
    channels: Vec<String>,
    wildcards: Vec<Wildcard>,
    groups: Vec<GroupTarget>,
    filter: Option<Filter>,
}

#[derive(Debug)]
struct Wildcard {
    pattern: String,
    prefix: String,
    presence: bool,
}

#[derive(Debug)]
struct GroupTarget {
    subscribed: String,
    base: String,
    presence: bool,
}

impl Subscription {
    fn parse(request: &SubscribeRequest) -> Result<Subscription, SubscribeError> {
        if request.channels.is_empty() && request.groups.is_empty() {
            return Err(SubscribeError::NoChannels);
        }
        let mut sub = Subscription {
            channels: Vec::new(),
            wildcards: Vec::new(),
            groups: Vec::new(),
            filter: None,
        };
        for name in &request.channels {
            let target =
                parse_subscribe_channel(name).map_err(|reason| SubscribeError::InvalidChannel {
                    name: name.clone(),
                    reason,
                })?;
            match target {
                ChannelTarget::Channel { name, .. } => sub.channels.push(name),
                ChannelTarget::Wildcard {
                    pattern,
                    prefix,
                    presence,
                } => sub.wildcards.push(Wildcard {
                    pattern,
                    prefix,
                    presence,
                }),
            }
        }
        for name in &request.groups {
            let (base, presence) = match name.strip_suffix(PRESENCE_SUFFIX) {
                Some(base) => (base, true),
                None => (name.as_str(), false),
            };
            validate_plain(base).map_err(|reason| SubscribeError::InvalidGroup {
                name: name.clone(),
                reason,
            })?;
            sub.groups.push(GroupTarget {
                subscribed: name.clone(),
                base: base.to_string(),
                presence,
            });
        }
        sub.channels.sort();
        sub.channels.dedup();
        if let Some(expression) = request.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            sub.filter = Some(Filter::parse(expression)?);
        }
        Ok(sub)
    }

    /// Names under which a waiting long-poll registers; see `KeySpace::append`.
    fn wait_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.channels.clone();
        names.extend(self.wildcards.iter().map(|w| w.pattern.clone()));
        names.extend(self.groups.iter().map(|g| g.subscribed.clone()));
        names.sort();
        names.dedup();
        names
    }

    /// The join of `uuid` within the last second before `cursor`, on the presence channels
    /// this subscription names directly, when it is that user's latest presence event there:
    /// the user is present right now through a heartbeat that came just before this handshake.
    /// A join followed by a leave belongs to an earlier session, whose messages must not be
    /// replayed. Nor is a join followed by a message this subscription receives: a client that
    /// subscribes again before its leave arrived already received the messages published since
    /// its join, and rewinding to it would deliver them twice. Then there is no rewind (`None`)
    /// and the client misses its own join, not a message. Presence events in between (anyone's)
    /// do not prevent the rewind: in a busy room the client would otherwise never see itself
    /// join, and a presence event replayed within that second is the lesser harm.
    fn recent_join(&self, space: &KeySpace, uuid: &str, cursor: Timetoken) -> Option<Timetoken> {
        const GRACE: u64 = 10_000_000; // one second in timetoken units
        let since = Timetoken(cursor.0.saturating_sub(GRACE));
        let own_presence = |m: &Message| {
            m.kind == EventKind::Presence
                && m.payload.get("uuid").and_then(Value::as_str) == Some(uuid)
        };
        let join = self
            .channels
            .iter()
            .filter(|c| c.ends_with(PRESENCE_SUFFIX))
            .filter_map(|c| space.channels.get(c))
            .filter_map(|buffer| {
                buffer
                    .after(since)
                    .filter(|m| own_presence(m))
                    .last()
                    .filter(|m| m.payload.get("action").and_then(Value::as_str) == Some("join"))
                    .map(|m| m.timetoken)
            })
            .max()?;
        // Everything the rewind would deliver (no cap: the window is at most a second, and a
        // capped read could hide a message behind presence events).
        let replayed = self.collect(space, Timetoken(join.0 - 1), usize::MAX);
        replayed
            .iter()
            .all(|d| d.message.kind == EventKind::Presence)
            .then_some(join)
    }

    /// Channels a subscribe heartbeats: plain channels and plain groups' members.
    fn presence_channels(&self, space: &KeySpace) -> Vec<String> {
        let mut out: Vec<String> = self
            .channels
            .iter()
            .filter(|c| !c.ends_with(PRESENCE_SUFFIX))
            .cloned()
            .collect();
        for group in self.groups.iter().filter(|g| !g.presence) {
            out.extend(space.group_members(&group.base).cloned());
        }
        out.sort();
        out.dedup();
        out
    }

    /// Messages newer than `cursor` that this subscription receives, oldest first, capped.
    fn collect(&self, space: &KeySpace, cursor: Timetoken, max: usize) -> Vec<Delivery> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        // One delivery per message and match: a message reached both through its channel and
        // through a group holding it arrives twice, once with each `b`, as clients route by `b`.
        // True when the message was added.
        let mut take = |message: &Arc<Message>, matched: Option<&str>| {
            if !seen.insert((message.timetoken, matched.map(str::to_string))) {
                return false;
            }
            if message.kind != EventKind::Presence {
                if let Some(filter) = &self.filter {
                    if !filter.matches(message.meta.as_ref(), &message.payload) {
                        return false;
                    }
                }
            }
            out.push(Delivery {
                message: Arc::clone(message),
                matched: matched.map(str::to_string),
            });
            true
        };
        // Each buffer is sorted, so the `max` oldest messages of all of them are among the `max`
        // oldest each one adds: reading stops there, however far behind the subscriber is (a
        // subscriber 10,000 messages behind used to copy and sort all 10,000 on every poll).
        let max = max.max(1);
        let mut read = |buffer: &ChannelBuffer, matched: Option<&str>| {
            let added = buffer.after(cursor).filter(|m| take(m, matched));
            added.take(max).for_each(drop);
        };
        for channel in &self.channels {
            // A presence channel is a match through itself, so it carries `b` like the service.
            let matched = channel
                .ends_with(PRESENCE_SUFFIX)
                .then_some(channel.as_str());
            if let Some(buffer) = space.channels.get(channel) {
                read(buffer, matched);
            }
        }
        for wildcard in &self.wildcards {
            for (name, buffer) in &space.channels {
                let base = name.strip_suffix(PRESENCE_SUFFIX);
                let hit = match (wildcard.presence, base) {
                    (true, Some(base)) => base.starts_with(&wildcard.prefix),
                    (false, None) => name.starts_with(&wildcard.prefix),
                    _ => false,
                };
                if hit {
                    read(buffer, Some(&wildcard.pattern));
                }
            }
        }
        for group in &self.groups {
            for member in space.group_members(&group.base) {
                let channel = if group.presence {
                    format!("{member}{PRESENCE_SUFFIX}")
                } else {
                    member.clone()
                };
                if let Some(buffer) = space.channels.get(&channel) {
                    read(buffer, Some(&group.subscribed));
                }
            }
        }
        out.sort_by_key(|d| d.message.timetoken);
        out.truncate(max);
        out
    }
}

/// Removes a waiting long-poll from the registry when its future completes or is dropped
/// (the client went away), so abandoned long-polls cost nothing.
struct Registration {
    hub: Hub,
    sub_key: String,
    names: Vec<String>,
    id: u64,
    notify: Arc<Notify>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        if let Some(space) = state.spaces.get_mut(&self.sub_key) {
            for name in &self.names {
                if let Some(waiters) = space.waiters.get_mut(name) {
                    waiters.remove(&self.id);
                    if waiters.is_empty() {
                        space.waiters.remove(name);
                    }
                }
            }
        }
    }
}

/// Counts a long-poll as open in its user's client entry until it answers or is dropped.
struct OpenLongPoll {
    hub: Hub,
    sub_key: String,
    uuid: String,
}

impl Drop for OpenLongPoll {
    fn drop(&mut self) {
        {
            let mut state = self.hub.lock();
            if let Some(space) = state.spaces.get_mut(&self.sub_key) {
                space.clients.long_poll_ended(&self.uuid);
            }
        }
        self.hub.touch();
    }
}

impl Hub {
    /// Starts a subscribe: validates it and records the implicit presence heartbeat at once,
    /// then returns a future that answers a handshake immediately and a receive when a
    /// matching message exists or the hold time has passed.
    ///
    /// Dropping the future abandons the long-poll.
    pub fn subscribe(
        &self,
        sub_key: &str,
        request: SubscribeRequest,
    ) -> Result<impl Future<Output = SubscribeResponse> + Send + 'static, SubscribeError> {
        let subscription = Subscription::parse(&request)?;
        let region = request.region.unwrap_or(self.inner.config.region);
        let handshake = {
            let mut state = self.lock();
            // The handshake cursor is taken before the heartbeat so that the subscriber's own
            // join event (when it also subscribes to `-pnpres`) arrives on its first receive,
            // as with the service, where joins come a moment after the handshake.
            let handshake = (request.cursor == Timetoken(0)).then(|| {
                let cursor = state.clock.cursor();
                // A client's presence heartbeat may reach us just before its handshake; its
                // join is then older than the cursor. Start just before its latest recent join
                // so the client still sees itself join, as with the service.
                let join = match (&request.uuid, state.spaces.get(sub_key)) {
                    (Some(uuid), Some(space)) => subscription.recent_join(space, uuid, cursor),
                    _ => None,
                };
                join.map_or(cursor, |tt| Timetoken(tt.0 - 1))
            });
            if let Some(uuid) = &request.uuid {
                let super::State { clock, spaces, .. } = &mut *state;
                let space = self.space(spaces, sub_key);
                let long_poll = request.cursor != Timetoken(0);
                space
                    .clients
                    .subscribed(uuid, &request, Instant::now(), long_poll);
                let channels = subscription.presence_channels(space);
                let timeout = request
                    .heartbeat
                    .unwrap_or(self.inner.config.default_presence_timeout);
                space.heartbeat(
                    clock,
                    &self.inner.config,
                    uuid,
                    &channels,
                    timeout,
                    request.state.as_ref(),
                );
            }
            handshake
        };
        self.touch();
        let open = match (&request.uuid, handshake) {
            (Some(uuid), None) => Some(OpenLongPoll {
                hub: self.clone(),
                sub_key: sub_key.to_string(),
                uuid: uuid.clone(),
            }),
            _ => None,
        };
        let hub = self.clone();
        let sub_key = sub_key.to_string();
        let deadline = Instant::now() + self.inner.config.hold;
        Ok(async move {
            // Counted as open until this future answers or is dropped.
            let _open = open;
            if let Some(cursor) = handshake {
                return SubscribeResponse {
                    cursor,
                    region,
                    messages: Vec::new(),
                };
            }
            hub.receive(sub_key, subscription, request.cursor, region, deadline)
                .await
        })
    }

    async fn receive(
        self,
        sub_key: String,
        subscription: Subscription,
        cursor: Timetoken,
        region: u32,
        deadline: Instant,
    ) -> SubscribeResponse {
        let max = self.inner.config.max_messages_per_response;
        let mut registration: Option<Registration> = None;
        loop {
            let notify = {
                let mut state = self.lock();
                let messages = match state.spaces.get(&sub_key) {
                    Some(space) => subscription.collect(space, cursor, max),
                    None => Vec::new(),
                };
                if let Some(last) = messages.last() {
                    return SubscribeResponse {
                        cursor: last.message.timetoken,
                        region,
                        messages,
                    };
                }
                match &registration {
                    Some(registration) => Arc::clone(&registration.notify),
                    None => {
                        // Registered under the same lock as the empty collect: any later
                        // publish sees this waiter, so no wake-up is lost.
                        let id = state.next_waiter;
                        state.next_waiter += 1;
                        let notify = Arc::new(Notify::new());
                        let names = subscription.wait_names();
                        let space = self.space(&mut state.spaces, &sub_key);
                        for name in &names {
                            space
                                .waiters
                                .entry(name.clone())
                                .or_default()
                                .insert(id, Arc::clone(&notify));
                        }
                        registration = Some(Registration {
                            hub: self.clone(),
                            sub_key: sub_key.clone(),
                            names,
                            id,
                            notify: Arc::clone(&notify),
                        });
                        notify
                    }
                }
            };
            tokio::select! {
                _ = notify.notified() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return SubscribeResponse { cursor, region, messages: Vec::new() };
                }
            }
        }
    }
}

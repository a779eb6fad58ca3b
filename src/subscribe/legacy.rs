//! The legacy subscribe API of PubNub's SDKs: `pubnub.subscribe().channels([..]).execute()`,
//! whose updates go to the client-level listeners ([`PubNub::add_listener`]).
//!
//! Each legacy channel or group is registered like an anonymous subscription, so it shares the
//! reference counting of ENGINE.md §4 with entity subscriptions.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::engine::{Cursor, Input, PRESENCE_SUFFIX};
use crate::error::Error;
use crate::subscribe::listeners::Listeners;
use crate::validate::{subscribe_names, timetoken as validate_timetoken};
use crate::PubNub;

/// `pubnub.subscribe()`: the legacy subscribe builder.
#[derive(Debug, Clone)]
#[must_use = "nothing is subscribed until `execute()`"]
pub struct SubscribeBuilder {
    client: PubNub,
    channels: BTreeSet<String>,
    groups: BTreeSet<String>,
    timetoken: Option<u64>,
    presence: bool,
}

/// `pubnub.unsubscribe()`: the legacy unsubscribe builder.
#[derive(Debug, Clone)]
#[must_use = "nothing is unsubscribed until `execute()`"]
pub struct UnsubscribeBuilder {
    client: PubNub,
    channels: BTreeSet<String>,
    groups: BTreeSet<String>,
}

impl PubNub {
    /// The legacy subscribe builder; updates go to [`PubNub::add_listener`] listeners.
    pub fn subscribe(&self) -> SubscribeBuilder {
        SubscribeBuilder {
            client: self.clone(),
            channels: BTreeSet::new(),
            groups: BTreeSet::new(),
            timetoken: None,
            presence: false,
        }
    }

    /// The legacy unsubscribe builder.
    pub fn unsubscribe(&self) -> UnsubscribeBuilder {
        UnsubscribeBuilder {
            client: self.clone(),
            channels: BTreeSet::new(),
            groups: BTreeSet::new(),
        }
    }
}

/// The `channels` and `channel_groups` setters of both builders.
macro_rules! names_setters {
    ($what:literal) => {
        #[doc = concat!("Channels to ", $what, " (wildcards such as `a.*` allowed).")]
        pub fn channels(mut self, channels: impl IntoIterator<Item = impl Into<String>>) -> Self {
            self.channels.extend(channels.into_iter().map(Into::into));
            self
        }

        #[doc = concat!("Channel groups to ", $what, ".")]
        pub fn channel_groups(
            mut self,
            groups: impl IntoIterator<Item = impl Into<String>>,
        ) -> Self {
            self.groups.extend(groups.into_iter().map(Into::into));
            self
        }
    };
}

impl SubscribeBuilder {
    names_setters!("subscribe to");

    /// Catch up from this 17-digit timetoken.
    pub fn with_timetoken(mut self, timetoken: u64) -> Self {
        self.timetoken = Some(timetoken);
        self
    }

    /// Also receive presence events.
    pub fn with_presence(mut self) -> Self {
        self.presence = true;
        self
    }

    /// Subscribes. Fails with `InvalidArgument` before anything is sent for invalid names or
    /// timetoken.
    pub fn execute(self) -> Result<(), Error> {
        let entries: Vec<((bool, String), Input)> = self
            .channels
            .iter()
            .map(|c| ((false, c.clone()), self.names_for(c, false)))
            .chain(
                self.groups
                    .iter()
                    .map(|g| ((true, g.clone()), self.names_for(g, true))),
            )
            .collect();
        if entries.is_empty() {
            return Err(Error::invalid(
                "subscribe needs at least one channel or group",
            ));
        }
        let all = entries
            .iter()
            .fold(Input::default(), |acc, (_, names)| acc.union(names));
        subscribe_names(&all)?;
        if let Some(tt) = self.timetoken {
            validate_timetoken(tt)?;
        }
        let subscriber = self.client.subscriber();
        let manager = subscriber.start()?;
        let legacy = subscriber.legacy();
        let mut ids = legacy.ids.lock().unwrap_or_else(|e| e.into_inner());
        let entries: Vec<(u64, Input)> = entries
            .into_iter()
            .map(|(key, names)| {
                let id = *ids.entry(key).or_insert_with(|| subscriber.next_id());
                (id, names)
            })
            .collect();
        drop(ids);
        manager.change(self.timetoken.map(|t| Cursor::new(t, 0)), |r| {
            for (id, names) in entries {
                // Legacy updates reach the client-level listeners; nothing listens per entry.
                r.insert(id, names, Arc::new(Listeners::default()));
            }
        });
        Ok(())
    }

    fn names_for(&self, name: &str, group: bool) -> Input {
        let mut set = BTreeSet::from([name.to_string()]);
        if self.presence {
            set.insert(format!("{name}{PRESENCE_SUFFIX}"));
        }
        if group {
            Input::from_sets(BTreeSet::new(), set)
        } else {
            Input::from_sets(set, BTreeSet::new())
        }
    }
}

impl UnsubscribeBuilder {
    names_setters!("unsubscribe from");

    /// Unsubscribes (a leave is sent for the names no other subscription holds).
    pub fn execute(self) {
        let subscriber = self.client.subscriber();
        let Some(manager) = subscriber.manager() else {
            return;
        };
        let removed: Vec<u64> = {
            let mut ids = subscriber
                .legacy()
                .ids
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let keys = self
                .channels
                .into_iter()
                .map(|c| (false, c))
                .chain(self.groups.into_iter().map(|g| (true, g)));
            keys.filter_map(|key| ids.remove(&key)).collect()
        };
        if !removed.is_empty() {
            manager.change(None, |r| {
                for id in removed {
                    r.remove(id);
                }
            });
        }
    }
}

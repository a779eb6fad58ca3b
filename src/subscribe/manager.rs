//! Subscriptions → engine input (ENGINE.md §4).
//!
//! The engine's input is the union of every subscribed subscription, with reference counts so
//! that unsubscribing one of two subscriptions on a channel keeps the channel and sends no
//! leave. Each change sends the subscribe engine the full new input, and the presence engine
//! the names that appeared (JOINED) or disappeared (LEFT). Without the presence engine, the
//! manager sends the leave itself, so other users still see this one go.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::engine::driver::Engine;
use crate::engine::{Cursor, Input};
use crate::presence::machine::{Event as PresenceEvent, PresenceMachine};
use crate::subscribe::listeners::Listeners;
use crate::subscribe::machine::{Event, SubscribeMachine};

/// One subscribed subscription (or subscription set); its listeners live in `routes`.
struct Entry {
    names: Input,
    /// How many holders keep it subscribed: its own `subscribe()` and each subscribed set
    /// it is a member of.
    owners: usize,
}

/// Every subscribed subscription, the reference counts of their names, and the routes from a
/// subscription match (`b`) to the listeners that want it.
#[derive(Default)]
pub(crate) struct Registry {
    entries: HashMap<u64, Entry>,
    channels: BTreeMap<String, usize>,
    groups: BTreeMap<String, usize>,
    routes: HashMap<String, Vec<(u64, Arc<Listeners>)>>,
    /// The cursor the long-poll in flight started from, once the loop has one: a subscription
    /// subscribed without a catch-up timetoken receives what comes after it (not another
    /// one's catch-up), and a batch's events are recorded as delivered from it.
    pub(crate) polling_from: Option<u64>,
}

impl Registry {
    /// The union of every subscribed name.
    pub(crate) fn input(&self) -> Input {
        Input::from_sets(
            self.channels.keys().cloned().collect(),
            self.groups.keys().cloned().collect(),
        )
    }

    pub(crate) fn contains(&self, id: u64) -> bool {
        self.entries.contains_key(&id)
    }

    /// Subscribes `id` with `names`, replacing what it had.
    pub(crate) fn insert(&mut self, id: u64, names: Input, listeners: Arc<Listeners>) {
        self.remove(id);
        for name in names.channels.iter() {
            *self.channels.entry(name.clone()).or_default() += 1;
        }
        for name in names.groups.iter() {
            *self.groups.entry(name.clone()).or_default() += 1;
        }
        for name in names.channels.iter().chain(names.groups.iter()) {
            self.routes
                .entry(name.clone())
                .or_default()
                .push((id, listeners.clone()));
        }
        self.entries.insert(id, Entry { names, owners: 1 });
    }

    /// Adds one holder of `id`, subscribing it with `names` if it was not subscribed.
    pub(crate) fn acquire(&mut self, id: u64, names: Input, listeners: Arc<Listeners>) {
        match self.entries.get_mut(&id) {
            Some(entry) => entry.owners += 1,
            None => self.insert(id, names, listeners),
        }
    }

    /// Removes one holder of `id`, unsubscribing it when none is left.
    pub(crate) fn release(&mut self, id: u64) {
        match self.entries.get_mut(&id) {
            Some(entry) if entry.owners > 1 => entry.owners -= 1,
            Some(_) => {
                self.remove(id);
            }
            None => {}
        }
    }

    /// Unsubscribes `id` whatever holds it; true when it was subscribed.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        let Some(entry) = self.entries.remove(&id) else {
            return false;
        };
        for (counts, names) in [
            (&mut self.channels, &entry.names.channels),
            (&mut self.groups, &entry.names.groups),
        ] {
            for name in names.iter() {
                if let Some(count) = counts.get_mut(name) {
                    *count -= 1;
                    if *count == 0 {
                        counts.remove(name);
                    }
                }
            }
        }
        for name in entry.names.channels.iter().chain(entry.names.groups.iter()) {
            if let Some(route) = self.routes.get_mut(name) {
                route.retain(|(other, _)| *other != id);
                if route.is_empty() {
                    self.routes.remove(name);
                }
            }
        }
        true
    }

    /// Unsubscribes everything (the loop's position stays: it is the loop's, not theirs).
    pub(crate) fn clear(&mut self) {
        *self = Registry {
            polling_from: self.polling_from,
            ..Registry::default()
        };
    }

    /// The subscriptions a subscription match (`b`) is delivered to, with their ids.
    pub(crate) fn routes(&self, subscription: &str) -> &[(u64, Arc<Listeners>)] {
        self.routes.get(subscription).map_or(&[], Vec::as_slice)
    }

    /// Every subscription's listeners start no later than `timetoken` (`reconnect_from`).
    pub(crate) fn rewind_to(&self, timetoken: u64) {
        for routes in self.routes.values() {
            for (_, listeners) in routes {
                listeners.start_no_later_than(timetoken);
            }
        }
    }

    /// How many subscriptions are subscribed, and how many names they hold (for leak checks).
    pub(crate) fn size(&self) -> (usize, usize) {
        (self.entries.len(), self.channels.len() + self.groups.len())
    }
}

/// Sends the leave for names that disappeared, when the presence engine does not.
pub(crate) type DirectLeave = Box<dyn Fn(Input) + Send + Sync>;

/// Turns subscription changes into engine events.
pub(crate) struct Manager {
    registry: Arc<Mutex<Registry>>,
    subscribe: Engine<SubscribeMachine>,
    presence: Option<Engine<PresenceMachine>>,
    direct_leave: Option<DirectLeave>,
}

impl Manager {
    pub(crate) fn new(
        registry: Arc<Mutex<Registry>>,
        subscribe: Engine<SubscribeMachine>,
        presence: Option<Engine<PresenceMachine>>,
        direct_leave: Option<DirectLeave>,
    ) -> Self {
        Manager {
            registry,
            subscribe,
            presence,
            direct_leave,
        }
    }

    pub(crate) fn subscribe_engine(&self) -> &Engine<SubscribeMachine> {
        &self.subscribe
    }

    pub(crate) fn presence_engine(&self) -> Option<&Engine<PresenceMachine>> {
        self.presence.as_ref()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `change` to the registry and announces the difference to the engines. The lock
    /// is held while events are queued, so the engines see changes in the order they happened.
    pub(crate) fn change(&self, catch_up: Option<Cursor>, change: impl FnOnce(&mut Registry)) {
        let mut registry = self.lock();
        let before = registry.input();
        change(&mut registry);
        let after = registry.input();
        self.announce(&before, &after, catch_up);
    }

    fn announce(&self, before: &Input, after: &Input, catch_up: Option<Cursor>) {
        if after.is_empty() {
            if before.is_empty() {
                return;
            }
            self.subscribe.send(Event::UnsubscribeAll);
            self.left_all(before);
            return;
        }
        match catch_up {
            Some(cursor) => {
                self.subscribe.send(Event::SubscriptionRestored {
                    input: after.clone(),
                    cursor,
                });
            }
            None if after == before => return,
            None => {
                self.subscribe.send(Event::SubscriptionChanged {
                    input: after.clone(),
                });
            }
        }
        let (before, after) = (before.without_presence(), after.without_presence());
        let joined = after.difference(&before);
        let left = before.difference(&after);
        if let Some(presence) = &self.presence {
            if !joined.is_empty() {
                presence.send(PresenceEvent::Joined { input: joined });
            }
            if !left.is_empty() {
                presence.send(PresenceEvent::Left { input: left });
            }
        } else if !left.is_empty() {
            self.leave(left);
        }
    }

    fn left_all(&self, before: &Input) {
        if let Some(presence) = &self.presence {
            presence.send(PresenceEvent::LeftAll);
        } else {
            let gone = before.without_presence();
            if !gone.is_empty() {
                self.leave(gone);
            }
        }
    }

    fn leave(&self, input: Input) {
        if let Some(leave) = &self.direct_leave {
            leave(input);
        }
    }

    /// Unsubscribes everything; the next subscribe starts with a fresh handshake.
    pub(crate) fn unsubscribe_all(&self) {
        self.change(None, Registry::clear);
    }

    /// Stops both engines' loops, keeping input and cursor.
    pub(crate) fn disconnect(&self) {
        self.subscribe.send(Event::Disconnect);
        if let Some(presence) = &self.presence {
            presence.send(PresenceEvent::Disconnect);
        }
    }

    /// Restarts both engines' loops, from `cursor` when given.
    pub(crate) fn reconnect(&self, cursor: Option<Cursor>) {
        self.subscribe.send(Event::Reconnect { cursor });
        if let Some(presence) = &self.presence {
            presence.send(PresenceEvent::Reconnect);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_counts_keep_shared_names() {
        let mut r = Registry::default();
        let l = Arc::new(Listeners::default());
        r.insert(1, Input::channels(["a", "b"]), l.clone());
        r.insert(2, Input::channels(["b", "c"]), l.clone());
        assert_eq!(r.input(), Input::channels(["a", "b", "c"]));
        assert_eq!(r.routes("b").len(), 2);
        assert!(r.remove(2));
        assert_eq!(r.input(), Input::channels(["a", "b"]));
        assert_eq!(r.routes("b").len(), 1);
        assert!(r.routes("c").is_empty());
        assert!(!r.remove(2), "removing twice is harmless");
        r.remove(1);
        assert_eq!(r.size(), (0, 0));
        assert!(r.routes.is_empty(), "no route left behind");
    }

    #[test]
    fn an_entry_held_twice_stays_until_both_release_it() {
        let mut r = Registry::default();
        let l = Arc::new(Listeners::default());
        for _ in 0..2 {
            r.acquire(1, Input::channels(["a"]), l.clone());
        }
        r.release(1);
        assert!(r.contains(1));
        r.release(1);
        assert!(!r.contains(1));
        r.release(1);
        assert_eq!(r.size(), (0, 0));
    }

    #[test]
    fn insert_replaces_the_names_of_an_entry() {
        let mut r = Registry::default();
        let l = Arc::new(Listeners::default());
        r.insert(1, Input::channels(["a"]), l.clone());
        r.insert(1, Input::channels(["b"]), l);
        assert_eq!(r.input(), Input::channels(["b"]));
        assert_eq!(r.size(), (1, 1));
    }
}

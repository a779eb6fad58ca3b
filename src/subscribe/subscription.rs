//! Entities, subscriptions and subscription sets: the API of PubNub's SDKs in idiomatic Rust.
//!
//! ```no_run
//! # async fn demo(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
//! use futures_util::StreamExt;
//! use pubnub_engine::SubscriptionOptions;
//!
//! let chat = pubnub.channel("chat").subscription(SubscriptionOptions::new().with_presence());
//! chat.on_message(|m| println!("{}: {}", m.channel, m.message));
//! let mut presence = chat.presence_stream();
//! chat.subscribe()?;
//! while let Some(event) = presence.next().await {
//!     println!("{:?} {:?}", event.event, event.user_id);
//! }
//! # Ok(()) }
//! ```
//!
//! # Lifetime
//!
//! As in PubNub's SDKs, **a subscription lives until it is unsubscribed**: subscribing hands it
//! to the client, which keeps it and its listeners until [`Subscription::unsubscribe`],
//! [`PubNub::unsubscribe_all`] or [`PubNub::close`]. Dropping a handle never unsubscribes, so
//! the docs' one-liner works:
//!
//! ```no_run
//! # fn demo(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
//! # use pubnub_engine::SubscriptionOptions;
//! pubnub.channel("room").subscription(SubscriptionOptions::new()).subscribe()?;
//! # Ok(()) }
//! ```
//!
//! For a subscription scoped to a block, [`Subscription::subscribe_scoped`] returns a
//! [`SubscriptionGuard`] that unsubscribes when dropped.
//!
//! Entities, subscriptions and sets hold the client *weakly*: a callback that captures its own
//! subscription keeps no client alive, and dropping the last [`PubNub`] handle still
//! unsubscribes everything and ends every task. Methods that need the client then fail with
//! [`ErrorKind::Closed`] (or do nothing, for `unsubscribe`).
//!
//! # Catch-up
//!
//! A subscription subscribed with a catch-up timetoken receives its channels' messages since
//! that timetoken; the other subscriptions, which share the one subscribe loop, receive nothing
//! twice and skip nothing: each set of listeners remembers the last timetoken it received on
//! each channel. A timetoken ahead of the loop's cursor (or of the service's clock) does not
//! move the loop forward: the new subscription receives what comes after its timetoken, the
//! others are untouched (ENGINE.md §4.2).

use std::collections::BTreeSet;
use std::ops::{Add, Sub};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::client::WeakPubNub;
use crate::engine::{Cursor, Input, PRESENCE_SUFFIX};
use crate::error::{Error, ErrorKind};
use crate::macros::setters;
use crate::subscribe::events::{
    AppContextEvent, FileEvent, Message, MessageAction, PresenceEvent, Signal, UndecodableEvent,
    Update,
};
use crate::subscribe::listeners::{
    callback_for, FromUpdate, Listeners, UpdateStream, DEFAULT_STREAM_CAPACITY,
};
use crate::subscribe::manager::Registry;
use crate::validate::{subscribe_names as validate_names, timetoken as validate_timetoken};
use crate::PubNub;

/// How a subscription behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionOptions {
    presence: bool,
    timetoken: Option<u64>,
    region: u32,
    stream_capacity: Option<usize>,
    deduplicate: Option<usize>,
}

impl SubscriptionOptions {
    setters! {
        self;
        /// Also receive presence events (subscribes to `<name>-pnpres`).
        with_presence() o => o.presence = true;
        /// Catch up from this 17-digit timetoken when subscribing.
        timetoken(timetoken: u64) o => o.timetoken = Some(timetoken);
        /// The region of the catch-up timetoken (`tr`), as the service gave it with the timetoken
        /// (a [`Cursor`]'s region); default 0.
        region(region: u32) o => o.region = region;
        /// How many updates each of this subscription's streams buffers for a slow consumer
        /// (default 1024). Past that, updates are dropped for that stream and counted.
        stream_capacity(capacity: usize) o => o.stream_capacity = Some(capacity);
    }

    /// Default options: no presence events, no catch-up.
    pub fn new() -> Self {
        SubscriptionOptions::default()
    }

    fn catch_up(&self) -> Option<Cursor> {
        self.timetoken.map(|tt| Cursor::new(tt, self.region))
    }

    /// Drop duplicate messages before any listener or stream of this subscription sees them:
    /// a message that a [`ReliablePublisher`](crate::ReliablePublisher) marked (in its `meta`)
    /// with the same publisher id and number as one of that publisher's last `window` messages
    /// on that channel (clamped to 1..=32768). This is how its retries are delivered exactly
    /// once; see [`reliable`](crate::reliable). Unmarked messages are never dropped: the same
    /// payload published twice by any other publisher arrives twice.
    /// Client-level listeners, and the set-level listeners of a [`SubscriptionSet`], still see
    /// every copy; its members' own listeners follow their options.
    pub fn deduplicate(mut self, window: usize) -> Self {
        self.deduplicate = Some(window);
        self
    }
}

/// What kind of entity a name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Group,
    /// App Context events of a channel or user: a channel without presence.
    Metadata,
}

macro_rules! entity {
    ($(#[$doc:meta] $name:ident, $kind:expr, $ctor:ident, $what:literal;)*) => {$(
        #[$doc]
        #[derive(Clone)]
        pub struct $name {
            client: WeakPubNub,
            name: String,
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("name", &self.name).finish()
            }
        }

        impl $name {
            #[doc = concat!("The ", $what, ".")]
            pub fn name(&self) -> &str {
                &self.name
            }

            /// A subscription to this entity, not yet subscribed. Once subscribed, it stays
            /// subscribed until unsubscribed, whether its handles are kept or not.
            #[must_use = "a subscription does nothing until subscribed"]
            pub fn subscription(&self, options: SubscriptionOptions) -> Subscription {
                Subscription::new(&self.client, $kind, &self.name, options)
            }
        }

        impl PubNub {
            #[doc = concat!("The ", $what, " `name`, to subscribe to.")]
            pub fn $ctor(&self, name: impl Into<String>) -> $name {
                $name {
                    client: self.downgrade(),
                    name: name.into(),
                }
            }
        }
    )*};
}

entity! {
    /// A channel.
    Channel, Kind::Channel, channel, "channel name";
    /// A channel group.
    ChannelGroup, Kind::Group, channel_group, "channel group name";
    /// A channel's App Context metadata: its events arrive on the channel named by its id.
    ChannelMetadata, Kind::Metadata, channel_metadata, "channel id";
    /// A user's App Context metadata: its events arrive on the channel named by the user id.
    UserMetadata, Kind::Metadata, user_metadata, "user id";
}

/// What subscriptions and sets share: an id in the registry, listeners, and how to subscribe.
struct Handle {
    id: u64,
    client: WeakPubNub,
    listeners: Arc<Listeners>,
    stream_capacity: usize,
}

impl Handle {
    /// A handle of `client`; when the client is gone already, one that can never subscribe.
    fn new(client: &WeakPubNub, options: &SubscriptionOptions) -> Handle {
        let stream_capacity = options.stream_capacity.unwrap_or(DEFAULT_STREAM_CAPACITY);
        match client.upgrade() {
            Some(pubnub) => Handle {
                id: pubnub.subscriber().next_id(),
                client: client.clone(),
                listeners: pubnub.subscriber().new_listeners(options.deduplicate),
                stream_capacity,
            },
            None => Handle {
                id: 0,
                client: client.clone(),
                listeners: Arc::new(Listeners::deduplicating(options.deduplicate)),
                stream_capacity,
            },
        }
    }

    /// The client, or `Closed` when every handle to it was dropped.
    fn client(&self) -> Result<PubNub, Error> {
        self.client
            .upgrade()
            .ok_or_else(|| Error::new(ErrorKind::Closed, "the client was dropped"))
    }

    fn stream<T: FromUpdate>(&self) -> UpdateStream<T> {
        self.listeners.add_stream(self.stream_capacity)
    }
}

macro_rules! listener_api {
    ($target:ty) => {
        impl $target {
            /// Calls `f` with every message this subscription receives.
            pub fn on_message(&self, f: impl Fn(Message) + Send + Sync + 'static) {
                self.handle()
                    .listeners
                    .add_callback(callback_for(f, |u| match u {
                        Update::Message(m) => Some(m),
                        _ => None,
                    }));
            }

            /// Calls `f` with every signal this subscription receives.
            pub fn on_signal(&self, f: impl Fn(Signal) + Send + Sync + 'static) {
                self.handle()
                    .listeners
                    .add_callback(callback_for(f, |u| match u {
                        Update::Signal(s) => Some(s),
                        _ => None,
                    }));
            }

            /// Calls `f` with every presence event this subscription receives.
            pub fn on_presence(&self, f: impl Fn(PresenceEvent) + Send + Sync + 'static) {
                self.handle()
                    .listeners
                    .add_callback(callback_for(f, |u| match u {
                        Update::Presence(p) => Some(p),
                        _ => None,
                    }));
            }

            /// Calls `f` with every message action this subscription receives.
            pub fn on_message_action(&self, f: impl Fn(MessageAction) + Send + Sync + 'static) {
                self.handle()
                    .listeners
                    .add_callback(callback_for(f, |u| match u {
                        Update::MessageAction(a) => Some(a),
                        _ => None,
                    }));
            }

            /// Calls `f` with every file event this subscription receives.
            pub fn on_file(&self, f: impl Fn(FileEvent) + Send + Sync + 'static) {
                self.handle()
                    .listeners
                    .add_callback(callback_for(f, |u| match u {
                        Update::File(x) => Some(x),
                        _ => None,
                    }));
            }

            /// Calls `f` with every App Context event this subscription receives.
            pub fn on_objects(&self, f: impl Fn(AppContextEvent) + Send + Sync + 'static) {
                self.handle()
                    .listeners
                    .add_callback(callback_for(f, |u| match u {
                        Update::AppContext(o) => Some(o),
                        _ => None,
                    }));
            }

            /// Calls `f` with every event this subscription receives that could not be decoded
            /// (invalid UTF-8, a lone surrogate, a number out of range, …).
            pub fn on_undecodable(&self, f: impl Fn(UndecodableEvent) + Send + Sync + 'static) {
                self.handle()
                    .listeners
                    .add_callback(callback_for(f, |u| match u {
                        Update::Undecodable(x) => Some(x),
                        _ => None,
                    }));
            }

            /// Calls `f` with every update of any kind.
            pub fn on_update(&self, f: impl Fn(Update) + Send + Sync + 'static) {
                self.handle()
                    .listeners
                    .add_callback(Arc::new(move |update: &Update| f(update.clone())));
            }

            /// A bounded stream of the messages this subscription receives.
            pub fn message_stream(&self) -> UpdateStream<Message> {
                self.handle().stream()
            }

            /// A bounded stream of the signals this subscription receives.
            pub fn signal_stream(&self) -> UpdateStream<Signal> {
                self.handle().stream()
            }

            /// A bounded stream of the presence events this subscription receives.
            pub fn presence_stream(&self) -> UpdateStream<PresenceEvent> {
                self.handle().stream()
            }

            /// A bounded stream of the message actions this subscription receives.
            pub fn message_action_stream(&self) -> UpdateStream<MessageAction> {
                self.handle().stream()
            }

            /// A bounded stream of the file events this subscription receives.
            pub fn file_stream(&self) -> UpdateStream<FileEvent> {
                self.handle().stream()
            }

            /// A bounded stream of the App Context events this subscription receives.
            pub fn objects_stream(&self) -> UpdateStream<AppContextEvent> {
                self.handle().stream()
            }

            /// A bounded stream of the events this subscription receives that could not be
            /// decoded.
            pub fn undecodable_stream(&self) -> UpdateStream<UndecodableEvent> {
                self.handle().stream()
            }

            /// A bounded stream of every update this subscription receives.
            pub fn update_stream(&self) -> UpdateStream<Update> {
                self.handle().stream()
            }
        }
    };
}

/// A subscription to one entity, with its own listeners.
///
/// Cloning gives another handle to the same subscription. Once subscribed, it stays subscribed
/// (with its listeners) until [`unsubscribe`](Subscription::unsubscribe),
/// [`PubNub::unsubscribe_all`] or [`PubNub::close`]; dropping handles does not unsubscribe
/// (see [`subscribe_scoped`](Subscription::subscribe_scoped) for that).
#[derive(Clone)]
pub struct Subscription {
    inner: Arc<SubscriptionInner>,
}

struct SubscriptionInner {
    handle: Handle,
    names: Input,
    catch_up: Option<Cursor>,
    /// Subscribed by its own `subscribe()` (sets that hold it count separately).
    direct: AtomicBool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.inner.handle.id)
            .field("names", &self.inner.names)
            .finish()
    }
}

impl Subscription {
    fn new(
        client: &WeakPubNub,
        kind: Kind,
        name: &str,
        options: SubscriptionOptions,
    ) -> Subscription {
        let mut names = BTreeSet::new();
        names.insert(name.to_string());
        // Presence exists for channels and groups only (ENGINE.md §4).
        if options.presence && kind != Kind::Metadata {
            names.insert(format!("{name}{PRESENCE_SUFFIX}"));
        }
        let names = match kind {
            Kind::Channel | Kind::Metadata => Input::from_sets(names, BTreeSet::new()),
            Kind::Group => Input::from_sets(BTreeSet::new(), names),
        };
        Subscription {
            inner: Arc::new(SubscriptionInner {
                handle: Handle::new(client, &options),
                names,
                catch_up: options.catch_up(),
                direct: AtomicBool::new(false),
            }),
        }
    }

    fn handle(&self) -> &Handle {
        &self.inner.handle
    }

    /// The channels and groups this subscription covers (with `-pnpres` names for presence).
    pub fn names(&self) -> &Input {
        &self.inner.names
    }

    /// Subscribes, catching up from the options' timetoken if one was given. Fails with
    /// `InvalidArgument` before anything is sent when a name or the timetoken is invalid.
    pub fn subscribe(&self) -> Result<(), Error> {
        self.subscribe_from(self.inner.catch_up)
    }

    /// Subscribes, catching up from `timetoken` (17 digits).
    pub fn subscribe_with_timetoken(&self, timetoken: u64) -> Result<(), Error> {
        self.subscribe_from(Some(Cursor::new(timetoken, 0)))
    }

    /// Resolves once the subscribe loop receives for this subscription: its long-poll has
    /// every name of it in its request (at once when it already has, as after subscribing
    /// twice, when no status comes). Fails with the reason when the loop stops first (its
    /// retries given up, access refused), and with `Closed` when the loop is disconnected or
    /// the client closed. Call it after [`subscribe`](Subscription::subscribe):
    ///
    /// ```no_run
    /// # async fn run(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
    /// use pubnub_engine::SubscriptionOptions;
    ///
    /// let orders = pubnub.channel("orders").subscription(SubscriptionOptions::new());
    /// orders.subscribe()?;
    /// orders.subscribed().await?; // what is published from now on arrives
    /// pubnub.publish().channel("orders").message(&"first").await?;
    /// # Ok(()) }
    /// ```
    pub async fn subscribed(&self) -> Result<(), Error> {
        let client = self.handle().client()?;
        client.until_receiving(&self.inner.names).await
    }

    /// Subscribes (as [`subscribe`](Subscription::subscribe)) and returns a guard that
    /// unsubscribes this subscription when dropped: a subscription scoped to a block.
    #[must_use = "dropping the guard unsubscribes at once"]
    pub fn subscribe_scoped(&self) -> Result<SubscriptionGuard, Error> {
        self.subscribe()?;
        Ok(SubscriptionGuard {
            target: Scoped::One(self.clone()),
        })
    }

    fn subscribe_from(&self, catch_up: Option<Cursor>) -> Result<(), Error> {
        validate_names(&self.inner.names)?;
        if let Some(c) = catch_up {
            validate_timetoken(c.timetoken)?;
        }
        let h = self.handle();
        let client = h.client()?;
        let manager = client.subscriber().start()?;
        let was_direct = self.inner.direct.swap(true, Ordering::AcqRel);
        let (names, listeners) = (self.inner.names.clone(), h.listeners.clone());
        manager.change(catch_up, |r| {
            // Held already, unless `unsubscribe_all` cleared everything since.
            if !was_direct || !r.contains(h.id) {
                start_listeners(&listeners, catch_up, r);
                r.acquire(h.id, names, listeners);
            }
        });
        Ok(())
    }

    /// Unsubscribes. Names other subscriptions (or subscribed sets holding this one) still
    /// hold stay in the loop, with no leave sent.
    pub fn unsubscribe(&self) {
        let h = self.handle();
        if self.inner.direct.swap(false, Ordering::AcqRel) {
            if let Some(client) = h.client.upgrade() {
                if let Some(manager) = client.subscriber().manager() {
                    manager.change(None, |r| r.release(h.id));
                }
            }
        }
    }

    /// True while subscribed.
    pub fn is_subscribed(&self) -> bool {
        self.handle().is_registered()
    }
}

impl Handle {
    fn is_registered(&self) -> bool {
        self.client.upgrade().is_some_and(|client| {
            client
                .subscriber()
                .manager()
                .is_some_and(|m| m.lock().contains(self.id))
        })
    }
}

/// Where listeners subscribed now start: after the catch-up timetoken, or after what the loop
/// has delivered (so that another subscription's catch-up replays nothing to them).
fn start_listeners(listeners: &Listeners, catch_up: Option<Cursor>, registry: &Registry) {
    listeners.start_after(catch_up.map(|c| c.timetoken).or(registry.polling_from));
}

/// Unsubscribes what it guards when dropped; see [`Subscription::subscribe_scoped`] and
/// [`SubscriptionSet::subscribe_scoped`].
#[derive(Debug)]
pub struct SubscriptionGuard {
    target: Scoped,
}

#[derive(Debug)]
enum Scoped {
    One(Subscription),
    Set(SubscriptionSet),
}

impl SubscriptionGuard {
    /// Unsubscribes now (as dropping the guard does).
    pub fn unsubscribe(self) {}
}

impl Drop for SubscriptionGuard {
    fn drop(&mut self) {
        match &self.target {
            Scoped::One(subscription) => subscription.unsubscribe(),
            Scoped::Set(set) => set.unsubscribe(),
        }
    }
}

listener_api!(Subscription);

/// Several subscriptions subscribed and unsubscribed together, with listeners of their own.
///
/// Subscribing a set subscribes each member too, so the members' own listeners keep working.
/// Like a subscription, a subscribed set stays subscribed until unsubscribed, whether its
/// handles are kept or not.
#[derive(Clone)]
pub struct SubscriptionSet {
    inner: Arc<SetInner>,
}

struct SetInner {
    handle: Handle,
    members: Mutex<Vec<Subscription>>,
    /// Subscribed: the set holds each of its members once.
    subscribed: AtomicBool,
    /// The catch-up of `subscribe()` (from the options of `subscription_set_of`).
    catch_up: Option<Cursor>,
}

impl std::fmt::Debug for SubscriptionSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionSet")
            .field("id", &self.inner.handle.id)
            .field("members", &self.members().len())
            .finish()
    }
}

impl PubNub {
    /// A set of existing subscriptions, subscribed together.
    pub fn subscription_set(
        &self,
        subscriptions: impl IntoIterator<Item = Subscription>,
    ) -> SubscriptionSet {
        SubscriptionSet::new(&self.downgrade(), subscriptions)
    }

    /// A set of one subscription per channel and per channel group, each with `options` —
    /// PubNub's `subscription_set(channels=[...], channel_groups=[...])`.
    ///
    /// ```no_run
    /// # fn demo(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
    /// use pubnub_engine::SubscriptionOptions;
    ///
    /// let set = pubnub.subscription_set_of(
    ///     ["room-1", "room-2"],
    ///     ["friends"],
    ///     SubscriptionOptions::new().with_presence(),
    /// );
    /// set.on_message(|m| println!("{}: {}", m.channel, m.message));
    /// set.subscribe()?;
    /// # Ok(()) }
    /// ```
    pub fn subscription_set_of<C, G>(
        &self,
        channels: C,
        channel_groups: G,
        options: SubscriptionOptions,
    ) -> SubscriptionSet
    where
        C: IntoIterator,
        C::Item: Into<String>,
        G: IntoIterator,
        G::Item: Into<String>,
    {
        let weak = self.downgrade();
        let members: Vec<Subscription> = channels
            .into_iter()
            .map(|name| (Kind::Channel, name.into()))
            .chain(
                channel_groups
                    .into_iter()
                    .map(|name| (Kind::Group, name.into())),
            )
            .map(|(kind, name)| Subscription::new(&weak, kind, &name, options.clone()))
            .collect();
        SubscriptionSet::new_with(&weak, members, &options)
    }
}

impl SubscriptionSet {
    fn new(client: &WeakPubNub, members: impl IntoIterator<Item = Subscription>) -> Self {
        SubscriptionSet::new_with(client, members, &SubscriptionOptions::default())
    }

    /// A set whose own listeners follow `options` (stream capacity, de-duplication) and which
    /// catches up from the options' timetoken when subscribed.
    fn new_with(
        client: &WeakPubNub,
        members: impl IntoIterator<Item = Subscription>,
        options: &SubscriptionOptions,
    ) -> Self {
        SubscriptionSet {
            inner: Arc::new(SetInner {
                handle: Handle::new(client, options),
                members: Mutex::new(members.into_iter().collect()),
                subscribed: AtomicBool::new(false),
                catch_up: options.catch_up(),
            }),
        }
    }

    fn handle(&self) -> &Handle {
        &self.inner.handle
    }

    /// The member subscriptions.
    pub fn members(&self) -> Vec<Subscription> {
        self.inner
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The union of the members' channels and groups.
    pub fn names(&self) -> Input {
        // Extended in place: a fold over `Input::union` copies the whole union once per member,
        // which took seconds for a set of 10,000 subscriptions.
        let (mut channels, mut groups) = (BTreeSet::new(), BTreeSet::new());
        for s in self.members() {
            channels.extend(s.names().channels.iter().cloned());
            groups.extend(s.names().groups.iter().cloned());
        }
        Input::from_sets(channels, groups)
    }

    /// Adds a subscription; it is subscribed at once when the set is.
    pub fn add(&self, subscription: Subscription) -> Result<(), Error> {
        // The registry too: `unsubscribe_all` clears it without touching the set's flag.
        let subscribed = self.is_subscribed();
        if subscribed {
            validate_names(subscription.names())?;
        }
        self.inner
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscription.clone());
        if subscribed {
            let h = self.handle();
            let (names, listeners) = (self.names(), h.listeners.clone());
            let sh = subscription.handle();
            h.client()?.subscriber().start()?.change(None, |r| {
                if !r.contains(sh.id) {
                    start_listeners(&sh.listeners, None, r);
                }
                r.acquire(sh.id, subscription.names().clone(), sh.listeners.clone());
                r.insert(h.id, names, listeners);
            });
        }
        Ok(())
    }

    /// Removes a subscription (the set stops holding it; it stays subscribed if it was
    /// subscribed on its own or by another set).
    pub fn remove(&self, subscription: &Subscription) {
        let removed: Vec<Subscription> = {
            let mut members = self.inner.members.lock().unwrap_or_else(|e| e.into_inner());
            let (gone, kept) = members
                .drain(..)
                .partition(|s| Arc::ptr_eq(&s.inner, &subscription.inner));
            *members = kept;
            gone
        };
        if removed.is_empty() || !self.is_subscribed() {
            return;
        }
        let h = self.handle();
        let (names, listeners) = (self.names(), h.listeners.clone());
        let Some(client) = h.client.upgrade() else {
            return;
        };
        let Some(manager) = client.subscriber().manager() else {
            return;
        };
        manager.change(None, |r| {
            for s in &removed {
                r.release(s.handle().id);
            }
            // Kept registered even when empty: it is still subscribed, and a member added later
            // is subscribed at once (`is_subscribed` reads the registry, which `unsubscribe_all`
            // clears).
            r.insert(h.id, names, listeners);
        });
    }

    /// Subscribes every member and the set.
    pub fn subscribe(&self) -> Result<(), Error> {
        self.subscribe_from(self.inner.catch_up)
    }

    /// Subscribes every member and the set, catching up from `timetoken`.
    pub fn subscribe_with_timetoken(&self, timetoken: u64) -> Result<(), Error> {
        self.subscribe_from(Some(Cursor::new(timetoken, 0)))
    }

    /// Resolves once the subscribe loop receives for every member of the set (see
    /// [`Subscription::subscribed`]).
    pub async fn subscribed(&self) -> Result<(), Error> {
        let client = self.handle().client()?;
        client.until_receiving(&self.names()).await
    }

    /// Subscribes (as [`subscribe`](SubscriptionSet::subscribe)) and returns a guard that
    /// unsubscribes the set when dropped.
    #[must_use = "dropping the guard unsubscribes at once"]
    pub fn subscribe_scoped(&self) -> Result<SubscriptionGuard, Error> {
        self.subscribe()?;
        Ok(SubscriptionGuard {
            target: Scoped::Set(self.clone()),
        })
    }

    fn subscribe_from(&self, catch_up: Option<Cursor>) -> Result<(), Error> {
        let members = self.members();
        let names = self.names();
        validate_names(&names)?;
        if let Some(c) = catch_up {
            validate_timetoken(c.timetoken)?;
        }
        let h = self.handle();
        let client = h.client()?;
        let manager = client.subscriber().start()?;
        let was_subscribed = self.inner.subscribed.swap(true, Ordering::AcqRel);
        let listeners = h.listeners.clone();
        manager.change(catch_up, |r| {
            // Held already, unless `unsubscribe_all` cleared everything since.
            if !was_subscribed || !r.contains(h.id) {
                for s in &members {
                    let sh = s.handle();
                    // A member subscribed already keeps what it has received.
                    if !r.contains(sh.id) {
                        start_listeners(&sh.listeners, catch_up, r);
                    }
                    r.acquire(sh.id, s.names().clone(), sh.listeners.clone());
                }
            }
            if !r.contains(h.id) {
                start_listeners(&listeners, catch_up, r);
            }
            r.insert(h.id, names, listeners);
        });
        Ok(())
    }

    /// Unsubscribes the set: it stops holding its members, which stay subscribed if they
    /// were subscribed on their own or by another set.
    pub fn unsubscribe(&self) {
        self.inner.release_all();
    }

    /// True while subscribed.
    pub fn is_subscribed(&self) -> bool {
        self.inner.subscribed.load(Ordering::Acquire) && self.handle().is_registered()
    }
}

impl SetInner {
    fn release_all(&self) {
        if !self.subscribed.swap(false, Ordering::AcqRel) {
            return;
        }
        let Some(client) = self.handle.client.upgrade() else {
            return;
        };
        let Some(manager) = client.subscriber().manager() else {
            return;
        };
        let ids: Vec<u64> = self
            .members
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|s| s.handle().id)
            .collect();
        manager.change(None, |r| {
            // Cleared by `unsubscribe_all` since: the holds it had are gone, and releasing
            // would take away holds that other sets acquired after.
            if !r.remove(self.handle.id) {
                return;
            }
            for id in ids {
                r.release(id);
            }
        });
    }
}

listener_api!(SubscriptionSet);

impl Add for Subscription {
    type Output = SubscriptionSet;

    /// `a + b`: a set of both subscriptions.
    fn add(self, other: Subscription) -> SubscriptionSet {
        let client = self.handle().client.clone();
        SubscriptionSet::new(&client, [self, other])
    }
}

impl Add<Subscription> for SubscriptionSet {
    type Output = SubscriptionSet;

    /// `set + s`: the set, with `s` added.
    fn add(self, other: Subscription) -> SubscriptionSet {
        if let Err(e) = SubscriptionSet::add(&self, other) {
            tracing::warn!("subscription added to a set was not subscribed: {e}");
        }
        self
    }
}

impl Sub<&Subscription> for SubscriptionSet {
    type Output = SubscriptionSet;

    /// `set - &s`: the set, without `s`.
    fn sub(self, other: &Subscription) -> SubscriptionSet {
        self.remove(other);
        self
    }
}

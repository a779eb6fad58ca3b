//! [`PubNub`], the client: a cheap `Clone` around shared state, the entry point of every
//! request builder.

mod requests;

use std::fmt;
use std::sync::Arc;

use crate::config::{Config, ConfigBuilder};
use crate::engine::{Cursor, Input};
use crate::error::{Error, ErrorKind};
use crate::service::Core;
use crate::subscribe::listeners::{Listener, DEFAULT_STREAM_CAPACITY};
use crate::subscribe::subscriber::{
    EventStream, ListenerId, StatusStream, Subscriber, TraceStream,
};
use crate::transport::{ReqwestTransport, Transport};

/// A PubNub client. Cloning it is cheap: clones share one configuration, one transport (and
/// so one connection pool), the publish sequence number and the presence state.
///
/// `Debug` never shows the secret key or the auth key/token.
///
/// ```no_run
/// use pubnub_engine::PubNub;
///
/// # async fn run() -> Result<(), pubnub_engine::Error> {
/// let pubnub = PubNub::builder("sub-c-…", "user-1")
///     .publish_key("pub-c-…")
///     .build_client()?;
/// let sent = pubnub.publish().channel("chat").message(&"hello").await?;
/// println!("published at {}", sent.timetoken);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PubNub {
    pub(crate) inner: Arc<Inner>,
}

/// What clones of one client share.
pub(crate) struct Inner {
    /// What requests and the engines' effects need.
    pub(crate) core: Arc<Core>,
    /// The subscribe and presence engines, subscriptions and listeners.
    pub(crate) subscriber: Subscriber,
}

impl Drop for Inner {
    /// The last handle is gone: unsubscribe (so the leave is queued); the engines then drain
    /// their queues, cancel every effect and end their tasks.
    fn drop(&mut self) {
        self.subscriber.shutdown_on_drop();
    }
}

impl PubNub {
    /// A client with `config`, sending through the configured transport or, by default, HTTP to
    /// the configured origin over a connection pool of its own (shared by its clones).
    pub fn new(config: Config) -> Result<PubNub, Error> {
        let transport = match config.transport() {
            Some(transport) => Arc::clone(transport),
            None => Arc::new(ReqwestTransport::from_config(&config)?) as Arc<dyn Transport>,
        };
        let core = Arc::new(Core::new(config, transport));
        let subscriber = Subscriber::new(core.clone());
        Ok(PubNub {
            inner: Arc::new(Inner { core, subscriber }),
        })
    }

    /// A configuration builder; finish it with [`ConfigBuilder::build_client`].
    pub fn builder(subscribe_key: impl Into<String>, user_id: impl Into<String>) -> ConfigBuilder {
        Config::builder(subscribe_key, user_id)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.inner.core.config()
    }

    /// The user id sent as `uuid` on every request.
    pub fn user_id(&self) -> &str {
        self.config().user_id()
    }

    /// Replaces the Access Manager token sent as `auth` on every later request, including the
    /// subscribe loop's next long-poll: refresh an expiring token without losing subscriptions
    /// or the cursor. After an `AccessDenied`, call [`PubNub::reconnect`] once the new token is
    /// set (see [`access`](crate::access) on refreshing).
    ///
    /// The token is read first ([`parse_token`](crate::access::parse_token)): one that is not
    /// an Access Manager token fails with
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) and the token in use
    /// stays. A legacy auth key is configured with
    /// [`ConfigBuilder::auth_key`](crate::ConfigBuilder::auth_key) instead.
    pub fn set_token(&self, token: impl Into<String>) -> Result<(), Error> {
        let token = token.into();
        crate::access::parse_token(&token)?;
        self.core().set_token(Some(token.trim().to_owned()));
        Ok(())
    }

    /// The shared core that requests and effects use.
    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.inner.core
    }

    pub(crate) fn subscriber(&self) -> &Subscriber {
        &self.inner.subscriber
    }

    /// A handle that does not keep the client alive: give it to listener callbacks that need
    /// the client, so that a callback never keeps its own client from shutting down.
    ///
    /// ```no_run
    /// # fn demo(pubnub: pubnub_engine::PubNub) {
    /// use pubnub_engine::Listener;
    /// let weak = pubnub.downgrade();
    /// pubnub.add_listener(Listener::new().on_message(move |m| {
    ///     if let Some(pubnub) = weak.upgrade() {
    ///         // e.g. acknowledge: pubnub.signal().channel(&m.channel)…
    ///         let _ = (pubnub, m);
    ///     }
    /// }));
    /// # }
    /// ```
    pub fn downgrade(&self) -> WeakPubNub {
        WeakPubNub {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Adds a client-level listener: every status, and every update of every subscription
    /// (legacy subscriptions deliver only here). Returns an id for [`PubNub::remove_listener`].
    ///
    /// A callback that captures a [`PubNub`] keeps the client alive until [`PubNub::close`];
    /// capture a [`WeakPubNub`] from [`PubNub::downgrade`] instead.
    pub fn add_listener(&self, listener: Listener) -> ListenerId {
        self.subscriber().add_listener(listener)
    }

    /// Removes a listener added with [`PubNub::add_listener`]; false if it was not there.
    pub fn remove_listener(&self, id: ListenerId) -> bool {
        self.subscriber().remove_listener(id)
    }

    /// How many received events could not be decoded (invalid UTF-8, a lone surrogate, a
    /// number out of range, a payload that does not fit its kind). Each was delivered as
    /// [`Update::Undecodable`](crate::Update::Undecodable) to the listeners
    /// (`on_undecodable`, `undecodable_stream()`), never dropped in silence.
    pub fn undecodable_events(&self) -> u64 {
        self.subscriber().undecodable_events()
    }

    /// A bounded stream of statuses (`Connected`, `UnexpectedDisconnect`, `Reconnected`, …).
    pub fn status_stream(&self) -> StatusStream {
        self.subscriber().status_stream(DEFAULT_STREAM_CAPACITY)
    }

    /// Statuses and updates in **one** order, the order the subscribe engine produced them: a
    /// message received after a `Reconnected` comes after it. [`status_stream`](Self::status_stream)
    /// and a subscription's `update_stream()` are two streams, and merging them (`select!`)
    /// can put a message before the status that preceded it; this stream cannot. Updates
    /// are those of every subscription, once each (as client-level listeners get them).
    ///
    /// ```no_run
    /// # async fn run(pubnub: pubnub_engine::PubNub) {
    /// use futures_util::StreamExt;
    /// use pubnub_engine::{ClientEvent, Update};
    ///
    /// let mut events = pubnub.event_stream();
    /// while let Some(event) = events.next().await {
    ///     match event {
    ///         ClientEvent::Status(status) => println!("status {:?}", status.category),
    ///         ClientEvent::Update(Update::Message(m)) => println!("{}: {}", m.channel, m.message),
    ///         ClientEvent::Update(_) => {}
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub fn event_stream(&self) -> EventStream {
        self.subscriber().event_stream(DEFAULT_STREAM_CAPACITY)
    }

    /// The engines' trace from now on: every event (`from --EVENT--> to`) and invocation, in
    /// dispatch order. Draw a recorded trace onto the state diagram with
    /// [`diagram::render_trace`](crate::diagram::render_trace); `examples/reconnect.rs` does.
    pub fn trace(&self) -> TraceStream {
        self.subscriber().trace()
    }

    /// Resolves once the subscribe loop's long-poll covers `names` (at once when it already
    /// does): the loop is receiving with every one of these channels and groups in its
    /// request. Fails with the reason when the loop stops before that (its retries given up,
    /// access refused), with `Closed` when it is disconnected or the client closed. What
    /// [`Subscription::subscribed`](crate::Subscription::subscribed) and
    /// [`SubscriptionSet::subscribed`](crate::SubscriptionSet::subscribed) wait for.
    pub(crate) async fn until_receiving(&self, names: &Input) -> Result<(), Error> {
        use crate::subscribe::machine::State;
        // Opened before the first look: a transition between the look and the wait is told.
        let mut statuses = self.status_stream();
        loop {
            match self.subscribe_state().await {
                Some(State::Receiving { input, .. }) if names.is_subset(&input) => return Ok(()),
                Some(
                    State::HandshakeFailed { reason, .. } | State::ReceiveFailed { reason, .. },
                ) => {
                    return Err(Error::from_reason(&reason));
                }
                Some(State::HandshakeStopped { .. } | State::ReceiveStopped { .. }) => {
                    return Err(Error::new(
                        ErrorKind::Closed,
                        "the subscribe loop is disconnected: reconnect() resumes it",
                    ));
                }
                None if self.subscriber().is_closed() => {
                    return Err(Error::new(ErrorKind::Closed, "the client was closed"));
                }
                _ => {}
            }
            if futures_util::StreamExt::next(&mut statuses).await.is_none() {
                return Err(Error::new(ErrorKind::Closed, "the client was closed"));
            }
        }
    }

    /// Stops the subscribe loop and heartbeats, keeping subscriptions and the cursor; the
    /// presence engine sends a leave. Resume with [`PubNub::reconnect`].
    pub fn disconnect(&self) {
        if let Some(manager) = self.subscriber().manager() {
            manager.disconnect();
        }
    }

    /// Restarts the subscribe loop from the kept cursor (skipping any remaining back-off).
    /// While the loop is receiving or handshaking there is nothing to restart and nothing
    /// happens.
    pub fn reconnect(&self) {
        if let Some(manager) = self.subscriber().manager() {
            manager.reconnect(None);
        }
    }

    /// Restarts the subscribe loop from `cursor` — a 17-digit timetoken, or a [`Cursor`] with
    /// the region the service gave with it — in every state, receiving included: the loop
    /// handshakes again and every subscription receives what was published since (each
    /// receives nothing twice). Fails with `InvalidArgument` for a malformed timetoken and
    /// when nothing is subscribed (there is no loop to restart), and with `Closed` after
    /// [`close`](PubNub::close).
    pub fn reconnect_from(&self, cursor: impl Into<Cursor>) -> Result<(), Error> {
        let cursor = cursor.into();
        crate::validate::timetoken(cursor.timetoken)?;
        let subscriber = self.subscriber();
        if subscriber.is_closed() {
            return Err(Error::new(ErrorKind::Closed, "the client was closed"));
        }
        let Some(manager) = subscriber
            .manager()
            .filter(|m| !m.lock().input().is_empty())
        else {
            return Err(Error::invalid(
                "reconnect_from: nothing is subscribed, so there is no loop to restart",
            ));
        };
        subscriber.reconnect_from(manager, cursor);
        Ok(())
    }

    /// Unsubscribes every subscription and forgets the cursor: the next subscribe starts with a
    /// fresh handshake. A leave is sent for every channel and group.
    pub fn unsubscribe_all(&self) {
        self.subscriber().unsubscribe_all();
    }

    /// Closes the client gracefully: unsubscribes everything, sends the leave, cancels every
    /// effect and waits until every task of the client has ended. Requests still work after
    /// it; subscribing fails with [`ErrorKind::Closed`](crate::ErrorKind::Closed).
    pub async fn close(&self) {
        self.subscriber().close().await;
    }

    /// The state of the subscribe engine, once the events queued before have been handled
    /// (`None` before the first subscribe or after close).
    pub async fn subscribe_state(&self) -> Option<crate::subscribe::machine::State> {
        let manager = self.subscriber().manager()?;
        Some(manager.subscribe_engine().inspect().await?.state)
    }

    /// The state of the presence engine (`None` when it is off, before the first subscribe or
    /// after close).
    pub async fn presence_state(&self) -> Option<crate::presence::machine::State> {
        let manager = self.subscriber().manager()?;
        Some(manager.presence_engine()?.inspect().await?.state)
    }

    /// The kinds of managed effects running in the subscribe and presence engines (at most
    /// one of each kind); public as [`testing::running_effects`](crate::testing::running_effects).
    pub(crate) async fn running_effects(&self) -> Vec<&'static str> {
        let Some(manager) = self.subscriber().manager() else {
            return Vec::new();
        };
        let mut running = Vec::new();
        if let Some(s) = manager.subscribe_engine().inspect().await {
            running.extend(s.running);
        }
        if let Some(presence) = manager.presence_engine() {
            if let Some(s) = presence.inspect().await {
                running.extend(s.running);
            }
        }
        running
    }

    /// The tracker of every task this client spawned; public as
    /// [`testing::task_tracker`](crate::testing::task_tracker).
    pub(crate) fn task_tracker(&self) -> tokio_util::task::TaskTracker {
        self.subscriber().tracker().clone()
    }

    /// (subscriptions, channel and group names) still registered; public as
    /// [`testing::registry_size`](crate::testing::registry_size).
    pub(crate) fn registry_size(&self) -> (usize, usize) {
        self.subscriber().registry_size()
    }
}

/// A handle to a client that does not keep it alive; see [`PubNub::downgrade`].
#[derive(Clone)]
pub struct WeakPubNub {
    inner: std::sync::Weak<Inner>,
}

impl WeakPubNub {
    /// The client, if any strong handle to it is still alive.
    pub fn upgrade(&self) -> Option<PubNub> {
        self.inner.upgrade().map(|inner| PubNub { inner })
    }
}

impl fmt::Debug for WeakPubNub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakPubNub")
            .field("alive", &(self.inner.strong_count() > 0))
            .finish()
    }
}

impl fmt::Debug for PubNub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PubNub")
            .field("config", self.config())
            .field("transport", self.inner.core.transport())
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// Builds the configuration and a client with it: `PubNub::new(self.build()?)`.
    pub fn build_client(self) -> Result<PubNub, Error> {
        PubNub::new(self.build()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Input;
    use serde_json::json;

    fn client() -> PubNub {
        PubNub::builder("sub", "me")
            .auth_token("TOKEN-SECRET")
            .secret_key("sec-SECRET")
            .build_client()
            .unwrap()
    }

    #[test]
    fn is_clone_send_sync_and_static() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<PubNub>();
    }

    #[test]
    fn debug_has_no_secrets() {
        let debug = format!("{:?}", client());
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("ReqwestTransport"), "{debug}");
    }

    #[test]
    fn clones_share_the_core() {
        let pubnub = client();
        let clone = pubnub.clone();
        assert_eq!(pubnub.core().next_seqn(), 1);
        assert_eq!(clone.core().next_seqn(), 2);
        clone
            .core()
            .store_presence_state(&["a".into()], &[], &json!({"k": 1}));
        let state = pubnub.core().presence_state_value(&Input::channels(["a"]));
        assert_eq!(state, Some(json!({"a": {"k": 1}})));
    }
}

//! A [PubNub](https://www.pubnub.com) client whose subscribe and presence loops are explicit,
//! inspectable state machines, with `pubnub-local`, a PubNub-compatible server for offline
//! development and tests, in the same workspace.
//!
//! Start with [`PubNub`]: it publishes ([`publish`](PubNub::publish), [`fire`](PubNub::fire),
//! [`signal`](PubNub::signal)), subscribes to entities ([`channel`](PubNub::channel),
//! [`channel_group`](PubNub::channel_group), …) and answers presence questions
//! ([`here_now`](PubNub::here_now), [`set_state`](PubNub::set_state), …). Every request is a
//! builder you `.await`; every failure is an [`Error`] with a [`kind`](Error::kind).
//!
//! # Quickstart
//!
//! `cargo run --example quickstart` runs the SDK end to end against an embedded `pubnub-local`,
//! with no account and no network. Against the real network, with your keys:
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use pubnub_engine::{Listener, PubNub, SubscriptionOptions};
//! use serde_json::json;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), pubnub_engine::Error> {
//!     let pubnub = PubNub::builder("sub-c-…", "user-1")
//!         .publish_key("pub-c-…")
//!         .heartbeat_interval(60) // be present, and see who else is
//!         .build_client()?;
//!     pubnub.add_listener(Listener::new().on_status(|s| println!("status {:?}", s.category)));
//!
//!     let chat = pubnub
//!         .channel("chat")
//!         .subscription(SubscriptionOptions::new().with_presence());
//!     chat.on_message(|m| println!("{}: {}", m.publisher.unwrap_or_default(), m.message));
//!     chat.on_presence(|p| println!("{:?} {}", p.event, p.user_id.unwrap_or_default()));
//!     let mut statuses = pubnub.status_stream();
//!     chat.subscribe()?;
//!     statuses.next().await; // Connected: from now on, nothing published is missed
//!
//!     pubnub
//!         .publish()
//!         .channel("chat")
//!         .message(&json!({"text": "hello"}))
//!         .meta(&json!({"lang": "en"}))
//!         .await?;
//!     pubnub.signal().channel("chat").message(&"typing").await?;
//!
//!     chat.unsubscribe(); // sends the leave
//!     pubnub.close().await; // ends every task of the client
//!     Ok(())
//! }
//! ```
//!
//! With a cipher key, [`ConfigBuilder::crypto_module`] turns on message encryption with PubNub's
//! crypto module ([`CryptoModule::aes_cbc`], or [`CryptoModule::legacy`] for older apps): publish
//! and fire payloads are encrypted, received messages decrypted before any listener sees them,
//! and one that cannot be decrypted arrives as received with the reason in [`Message::error`].
//! The formats are PubNub's own ([`crypto`] describes them), so clients of PubNub's SDKs read
//! what this one sends and the other way round.
//!
//! Stored messages are read with [`PubNub::fetch_messages`] (a page, or every page as a
//! `Stream`), counted with [`PubNub::message_counts`] and deleted with
//! [`PubNub::delete_messages`] ([`history`]); reactions and receipts are
//! [`PubNub::add_message_action`] and its siblings ([`message_actions`]). With
//! [`ConfigBuilder::gap_fill`], a subscriber that fell further behind than the service queues
//! reads what it missed from history before going on: the subscribe machine decides it (state
//! `FillingGap`), and each recovered message arrives once, in order, with
//! [`Message::recovered`] set.
//!
//! Access Manager ([`access`]): with the secret key, a server grants time-limited tokens
//! ([`PubNub::grant_token`]) naming the channels, groups and user ids a client may use, and
//! revokes them ([`PubNub::revoke_token`]); a client sets its token with [`PubNub::set_token`]
//! and reads it with [`parse_token`]. A refusal is [`ErrorKind::AccessDenied`], and a refused
//! subscribe stops the loop with a [`StatusCategory::AccessDenied`] status (no retry): set a new
//! token and [`reconnect`](PubNub::reconnect). `pubnub-local` started with a secret key
//! enforces tokens as the service does (`cargo run --example access_manager`).
//!
//! App Context ([`objects`]) stores user profiles, channel descriptions and who belongs to which
//! channel on the service: [`set_uuid_metadata`](PubNub::set_uuid_metadata),
//! [`set_channel_metadata`](PubNub::set_channel_metadata),
//! [`set_channel_members`](PubNub::set_channel_members),
//! [`get_memberships`](PubNub::get_memberships) and the rest of PubNub's set / get / remove /
//! list calls, with filters, sorting, pages and ETags. Each change reaches the subscribers of the
//! [`channel_metadata`](PubNub::channel_metadata) or [`user_metadata`](PubNub::user_metadata)
//! entity it concerns through `on_objects`.
//!
//! Files ([`files`]): [`send_file`](PubNub::send_file) uploads a file (from bytes, a path or
//! an `AsyncRead`, at most 5 MiB, encrypted with the crypto module if there is one) and
//! publishes its file message; subscribers get a [`FileEvent`] with a ready download URL;
//! [`download_file`](PubNub::download_file), [`list_files`](PubNub::list_files),
//! [`delete_file`](PubNub::delete_file) and [`get_file_url`](PubNub::get_file_url) do the
//! rest, with progress reports for a progress bar.
//!
//! Mobile push ([`push`]): [`add_channels_to_push`](PubNub::add_channels_to_push) registers a
//! device's FCM or APNs2 token on channels, and [`push::PushPayload`] builds the `pn_apns` /
//! `pn_fcm` parts of a message that PubNub turns into notifications for those devices.
//! `pubnub-local` keeps the registrations and records what would be pushed.
//!
//! Subscriptions deliver through callbacks (`on_message`, as in PubNub's SDKs) or bounded
//! [`Stream`](futures_util::Stream)s (`message_stream()`), per [`Subscription`], per
//! [`SubscriptionSet`], or for the whole client ([`PubNub::add_listener`]). The legacy
//! `pubnub.subscribe().channels([..]).execute()` builder is there too ([`SubscribeBuilder`]).
//! The `examples/` directory has runnable examples of each of these, of channel groups,
//! wildcards, filters, presence state, encryption, history and gap fill, message actions,
//! Access Manager, App Context, files, mobile push,
//! serial publishing, fault recovery and a terminal chat.
//!
//! # Architecture
//!
//! Layers, each testable on its own; each imports only the layers before it (ENGINE.md §6, and
//! a test of the crate fails on any import cycle between its files).
//!
//! 1. **Machines.** [`subscribe::machine`] (the long-poll loop) and [`presence::machine`]
//!    (heartbeats and leave) are pure functions `transition(&State, &Event) ->
//!    Option<Transition>`. A transition is the new state plus a list of *invocations*: values
//!    that ask for an effect (a handshake, a long-poll, a status, a back-off sleep) without doing
//!    it. The list is always the old state's exit invocations, then the transition's own, then
//!    the new state's entry invocations. Machines do no I/O, read no clock and take no lock, so
//!    their tests are tables of `(state, event, expected state, expected invocations)`. They
//!    decide everything (retry or give up, where to resume, when a silent long-poll needs
//!    proof that the network answers) with the pure [`RetryPolicy::delay`] and
//!    [`retry::is_transient`] and the plain values of their [`engine::Context`]; they import
//!    neither the client, the configuration, the transport nor any effect.
//! 2. **The driver.** One task per machine takes events from a queue, calls `transition`, and
//!    dispatches *every* invocation it returned before taking the next event: the **drain rule**,
//!    which makes the order of effects a function of the order of events. Long-running effects
//!    (requests, back-off sleeps, the heartbeat wait) are futures the driver's task polls beside
//!    its queue, at most one of each kind; cancelling one drops it where it stands, so a
//!    cancelled effect never reports a result, and a long-poll's answer becomes the next event,
//!    reaches the listeners and sends the next long-poll in one wake-up of one task. The driver
//!    knows no PubNub endpoint and makes no decision of its own.
//! 3. **Transport.** A [`Request`] goes through the [`Transport`] (reqwest with rustls by
//!    default, or yours) and comes back as a [`Response`], whatever its status; the transport
//!    knows no configuration type and never retries.
//! 4. **Service.** The client's core: configuration, transport, identity, the publish sequence
//!    and the presence state. It sends one request within its timeout, signs it when a secret
//!    key is set, and retries it only when asked.
//! 5. **Requests.** Every REST call is an operation — one endpoint described: its checks
//!    (a typed [`ErrorKind::InvalidArgument`] before anything is sent), its request, how its
//!    answer reads — run by one generic builder, [`RequestBuilder`], which is `.await`-able, has
//!    the one `.retry(true)` opt-in and, for every paged list, `pages()`. The families
//!    ([`publish`], [`history`], [`objects`], [`access`], …) hold their operations and setters
//!    and know neither the client nor the engines.
//! 6. **Effects.** What each invocation does (`subscribe::effects`, `presence::effects`): a
//!    request through the service, or an operation of a family (gap fill reads history's fetch),
//!    turned into the next event. Effects decide nothing: a reconnect invocation carries the
//!    machine's decision (wait this long, or give up), a long-poll the liveness interval.
//! 7. **Client.** [`PubNub`]: the entry point of every family, the subscriptions and their
//!    listeners, the engines' lifecycle.
//!
//! Between the user and the subscribe machine, the subscription manager turns subscriptions
//! into the machine's input: the union of every subscribed name, reference counted, so two
//! subscriptions of one channel share it and the leave is sent only when the last one goes.
//!
//! The state diagrams are generated from the transition functions, so they cannot drift from
//! the code. Each machine's page shows its own, [`subscribe::machine`] and
//! [`presence::machine`]; the subscribe engine's is below. Their SVG, Mermaid and DOT files are
//! in the repository's `state-diagrams/`.
//!
#![doc = concat!(
    "<div style=\"overflow-x: auto\">\n",
    include_str!("../state-diagrams/subscribe.svg"),
    "</div>"
)]
//!
//! A running client shows what its engines do: [`PubNub::trace`] streams every event
//! (`Receiving --RECEIVE_FAILURE--> ReceiveReconnecting`) and invocation in dispatch order,
//! [`PubNub::subscribe_state`] tells the current state, and
//! [`diagram::render_trace`] draws a recorded trace onto the diagram, which turns an incident
//! into a picture (`cargo run --example reconnect` does it). With `RUST_LOG=pubnub_engine=debug`
//! every transition is logged as one line.
//!
//! # Testing your app against `pubnub-local`
//!
//! `pubnub-local` speaks PubNub's wire protocol, keeps everything in memory and breaks on
//! purpose. Add it as a dev-dependency, start it in-process on a free loopback port, and point
//! the client's origin at it:
//!
//! ```
//! use std::time::Duration;
//!
//! use futures_util::StreamExt;
//! use pubnub_engine::{PubNub, RetryConfig, RetryPolicy, StatusCategory, SubscriptionOptions};
//! use pubnub_local::{Endpoint, Fault, Server};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::time::timeout(Duration::from_secs(30), async {
//! let server = Server::builder().start().await?; // 127.0.0.1, a free port
//! let pubnub = PubNub::builder("any-sub-key", "tester")
//!     .publish_key("any-pub-key")
//!     .origin(server.url()) // http://127.0.0.1:PORT
//!     // Retry fast: tests should not wait for the default back-off.
//!     .retry(RetryConfig::new(RetryPolicy::Linear {
//!         delay: Duration::from_millis(10),
//!         max_retries: 5,
//!     }))
//!     .build_client()?;
//! let orders = pubnub.channel("orders").subscription(SubscriptionOptions::new());
//! let mut messages = orders.message_stream();
//! let mut statuses = pubnub.status_stream();
//! orders.subscribe()?;
//! assert_eq!(statuses.next().await.unwrap().category, StatusCategory::Connected);
//!
//! // The next subscribe request answers HTTP 500: the app sees the outage and the recovery,
//! // and loses nothing.
//! server.faults().inject(Fault::status(500).on(Endpoint::Subscribe));
//! pubnub.publish().channel("orders").message(&1).await?;
//! assert_eq!(messages.next().await.unwrap().message, 1);
//! let status = statuses.next().await.unwrap();
//! assert_eq!(status.category, StatusCategory::UnexpectedDisconnect);
//! pubnub.publish().channel("orders").message(&2).await?;
//! assert_eq!(statuses.next().await.unwrap().category, StatusCategory::Reconnected);
//! assert_eq!(messages.next().await.unwrap().message, 2);
//! pubnub.close().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).await?
//! # }
//! ```
//!
//! Besides HTTP statuses, faults can delay, hang, reset or truncate requests, store a message
//! and then fail the publish (to test duplicates), drop every open long-poll
//! (`faults().drop_long_polls()`), or take the whole listener away and back
//! (`stop_listener()` / `restart_listener()`). `server.requests()` (with
//! `record_requests(true)`) shows what the SDK sent.
//!
//! ## A whole app on a paused clock, with no socket
//!
//! With its `engine` feature (`pubnub-local = { version = "…", features = ["engine"] }` in
//! `[dev-dependencies]`), `pubnub-local`'s in-memory server is a [`Transport`]: every call of the
//! app — subscribe, publish, history, presence, App Context, files, push — goes to the real
//! server code with no socket and no glue, and tokio's paused clock runs the long-polls, the
//! retries' back-off and the heartbeats in no time. Retry delays carry at most as much jitter as
//! the delay itself, so a fast test policy stays fast.
//!
//! ```
//! use std::time::Duration;
//!
//! use futures_util::StreamExt;
//! use pubnub_engine::{PubNub, RetryConfig, RetryPolicy, StatusCategory, SubscriptionOptions};
//! use pubnub_local::{Endpoint, Fault, Server};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::builder().build_in_memory();
//! let pubnub = PubNub::builder("sub-key", "alice")
//!     .publish_key("pub-key")
//!     .transport(server.transport())
//!     .retry(RetryConfig::new(RetryPolicy::Linear {
//!         delay: Duration::from_millis(10),
//!         max_retries: 5,
//!     }))
//!     .build_client()?;
//!
//! // The app at start: its profile, its room, live before it says hello.
//! pubnub
//!     .set_uuid_metadata()
//!     .user_id("alice")
//!     .name("Alice")
//!     .await?;
//! let room = pubnub.channel("room").subscription(SubscriptionOptions::new());
//! let mut messages = room.message_stream();
//! room.subscribe()?;
//! room.subscribed().await?;
//! pubnub.publish().channel("room").message(&"hello").await?;
//! assert_eq!(messages.next().await.unwrap().message, "hello");
//!
//! // An outage: the next long-poll is reset; the app hears it, recovers, and loses nothing.
//! let mut statuses = pubnub.status_stream();
//! server.faults().inject(Fault::reset().on(Endpoint::LongPoll));
//! server.faults().drop_long_polls();
//! pubnub.publish().channel("room").message(&"during").await?;
//! assert_eq!(statuses.next().await.unwrap().category.story(), StatusCategory::UnexpectedDisconnect);
//! assert_eq!(statuses.next().await.unwrap().category, StatusCategory::Reconnected);
//! assert_eq!(messages.next().await.unwrap().message, "during");
//!
//! // History and App Context answer as the service does.
//! let history = pubnub.fetch_messages().channels(["room"]).await?;
//! assert_eq!(history.channels["room"].len(), 2);
//! let me = pubnub.get_uuid_metadata().user_id("alice").await?;
//! assert_eq!(me.name.as_deref(), Some("Alice"));
//! pubnub.close().await;
//! # Ok(()) }
//! ```
//!
//! Any [`Transport`] (one method) can stand in for the network the same way.
//! [`testing`] is a kit for table tests of an app: a scripted transport, the machines' names as
//! constants, and a way to wait until the engines are idle.
#![warn(missing_docs)]

pub mod access;
pub mod channel_groups;
mod client;
pub mod config;
pub mod crypto;
pub mod diagram;
pub mod engine;
pub mod error;
pub mod files;
pub mod history;
mod macros;
pub mod message_actions;
pub mod objects;
pub mod presence;
pub mod publish;
pub mod push;
pub mod reliable;
mod request;
pub mod retry;
mod service;
pub mod status;
pub mod subscribe;
pub mod testing;
pub mod time;
pub mod transport;
mod validate;

pub use access::{parse_token, GrantToken, Permissions, RevokeToken, Token};
pub use channel_groups::{
    AddChannelToChannelGroup, ListChannelGroups, ListChannelsInChannelGroup,
    RemoveChannelFromChannelGroup, RemoveChannelGroup,
};
pub use client::{PubNub, WeakPubNub};
pub use config::{Config, ConfigBuilder};
pub use crypto::CryptoModule;
pub use engine::{Cursor, Input, TraceEntry};
pub use error::{Error, ErrorKind, Reason};
pub use files::{DownloadedFile, FileData, SendFileResult};
pub use history::{
    ActionRef, DeleteMessages, FetchMessages, FetchMessagesResult, HistoryMessage, MessageCounts,
};
pub use message_actions::{
    AddMessageAction, GetMessageActions, GetMessageActionsResult, MessageActionItem,
    RemoveMessageAction,
};
pub use presence::rest::{
    ChannelOccupancy, GetState, GetStateResult, Heartbeat, HereNow, HereNowResult, Leave, Occupant,
    SetState, SetStateResult, WhereNow, WhereNowResult,
};
pub use publish::{Fire, Publish, PublishResult, SendSignal};
pub use reliable::{ReliablePublisher, ReliablePublisherOptions, ReliablePublisherStats};
pub use request::{PageStream, RequestBuilder, RequestFuture};
pub use retry::{Endpoint, Jitter, RetryConfig, RetryDecision, RetryPolicy};
pub use status::{Status, StatusCategory};
pub use subscribe::events::{
    AppContextAction, AppContextEvent, AppContextObject, FileEvent, Message, MessageAction,
    MessageActionEvent, PresenceAction, PresenceEvent, Signal, UndecodableEvent, Update,
};
pub use subscribe::legacy::{SubscribeBuilder, UnsubscribeBuilder};
pub use subscribe::listeners::{Listener, UpdateStream};
pub use subscribe::payload::Payload;
pub use subscribe::subscriber::{ClientEvent, EventStream, ListenerId, StatusStream, TraceStream};
pub use subscribe::subscription::{
    Channel, ChannelGroup, ChannelMetadata, Subscription, SubscriptionGuard, SubscriptionOptions,
    SubscriptionSet, UserMetadata,
};
pub use time::Time;
pub use transport::{
    Method, Progress, ProgressHook, Request, ReqwestTransport, Response, Transport, TransportFuture,
};

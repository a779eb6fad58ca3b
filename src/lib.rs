//! pubnub-engine: a PubNub SDK whose subscribe and presence loops are explicit, inspectable
//! state machines.
//!
//! Start with [`PubNub`]: every request is a builder you `.await`, every failure an [`Error`]
//! with a [`kind`](Error::kind).
//!
//! ```no_run
//! use pubnub_engine::PubNub;
//!
//! # async fn run() -> Result<(), pubnub_engine::Error> {
//! let pubnub = PubNub::builder("sub-c-…", "user-1")
//!     .publish_key("pub-c-…")
//!     .build_client()?;
//! pubnub.publish().channel("chat").message(&"hello").await?;
//! let present = pubnub.here_now().channels(["chat"]).await?;
//! println!("{} here", present.total_occupancy);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod channel_groups;
mod client;
pub mod config;
pub mod diagram;
pub mod engine;
pub mod error;
pub mod presence;
pub mod publish;
pub mod retry;
pub mod status;
pub mod subscribe;
pub mod time;
pub mod transport;
mod validate;

pub use channel_groups::{
    AddChannelToChannelGroup, ListChannelGroups, ListChannelsInChannelGroup,
    RemoveChannelFromChannelGroup, RemoveChannelGroup,
};
pub use client::{PubNub, RequestFuture};
pub use config::{Config, ConfigBuilder};
pub use engine::{Cursor, Input, TraceEntry};
pub use error::{Error, ErrorKind, Reason};
pub use presence::rest::{
    ChannelOccupancy, GetState, GetStateResult, Heartbeat, HereNow, HereNowResult, Leave, Occupant,
    SetState, SetStateResult, WhereNow, WhereNowResult,
};
pub use publish::{Fire, Publish, PublishResult, SendSignal};
pub use retry::{Endpoint, Jitter, RetryConfig, RetryPolicy};
pub use status::{Status, StatusCategory};
pub use subscribe::events::{
    AppContextEvent, FileEvent, Message, MessageAction, PresenceAction, PresenceEvent, Signal,
    Update,
};
pub use subscribe::legacy::{SubscribeBuilder, UnsubscribeBuilder};
pub use subscribe::listeners::{Listener, UpdateStream};
pub use subscribe::subscriber::{ListenerId, StatusStream, TraceStream};
pub use subscribe::subscription::{
    Channel, ChannelGroup, ChannelMetadata, Subscription, SubscriptionOptions, SubscriptionSet,
    UserMetadata,
};
pub use time::Time;
pub use transport::{Method, Request, ReqwestTransport, Response, Transport, TransportFuture};

//! Mobile push (PROTOCOL.md §21): register a device's push token on channels, so that a message
//! published there with a `pn_apns` or `pn_fcm` part reaches the device as a notification, and
//! build those parts ([`PushPayload`]).
//!
//! FCM registrations (and the deprecated GCM, APNs and MPNS ones) use the service's v1 device
//! endpoints (`/v1/push/sub-key/{sub}/devices/{token}`, with `type`); APNs over HTTP/2 uses the
//! v2 ones (`/v2/push/sub-key/{sub}/devices-apns2/{token}`, with the app's `topic` and an
//! [`Environment`]). Adding or removing answers `[1, "Modified Channels"]`, removing a device
//! `[1, "Removed Device"]` (both even for registrations that never existed), listing an array
//! of channel names.
//!
//! ```no_run
//! # async fn run(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
//! use pubnub_engine::push::{Environment, PushType};
//!
//! pubnub
//!     .add_channels_to_push()
//!     .push_type(PushType::Apns2)
//!     .topic("com.example.chat")
//!     .environment(Environment::Production)
//!     .channels(["chat"])
//!     .device_id("a655fba9931ab")
//!     .await?;
//! let channels = pubnub
//!     .list_push_channels()
//!     .push_type(PushType::Fcm)
//!     .device_id("fcm-token")
//!     .await?;
//! # Ok(()) }
//! ```

mod payload;

pub use payload::{Apns2Configuration, ApnsTarget, PushPayload};

use std::marker::PhantomData;

use serde_json::Value;

use crate::error::Error;
use crate::macros::markers;
use crate::request::{setters, Operation, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{response, Request, Response};
use crate::validate;

/// The longest request URI the service takes (its balancer answers 414 above ~32 KiB): the
/// bound on how many channels one call can add or remove.
pub const MAX_URI_BYTES: usize = 32 * 1024;
/// Most channels one [`list_push_channels`](crate::PubNub::list_push_channels) answer holds
/// (`count`); the service's default is 500.
pub const MAX_LIST_COUNT: u32 = 1000;
/// The longest device token this SDK sends. The service documents none; APNs tokens are 64
/// hex digits and FCM tokens about 160 characters.
pub const MAX_DEVICE_ID_BYTES: usize = 512;

/// The push service a device's token belongs to.
///
/// Use [`Fcm`](Self::Fcm) for Android (and web) devices and [`Apns2`](Self::Apns2) for Apple
/// devices. The other variants are the service's older gateways, still accepted by it (the
/// recorded service answered every one) and deprecated in PubNub's SDKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushType {
    /// Firebase Cloud Messaging. Sent as `type=gcm`, as PubNub's Kotlin SDK sends it and the
    /// recorded service stores it: the same registrations as [`Gcm`](Self::Gcm).
    Fcm,
    /// Apple Push Notification service over HTTP/2: needs a [`topic`](RequestBuilder::topic)
    /// and an [`Environment`].
    Apns2,
    /// Google Cloud Messaging, FCM's former name (`type=gcm`). Deprecated: use `Fcm`.
    Gcm,
    /// APNs with certificates (`type=apns`), before HTTP/2. Deprecated: use `Apns2`.
    Apns,
    /// Microsoft Push Notification Service (`type=mpns`). Deprecated: retired by Microsoft.
    Mpns,
}

impl PushType {
    /// The `type` parameter of the v1 endpoints; `None` for APNs2 (the v2 endpoints).
    fn gateway(self) -> Option<&'static str> {
        match self {
            PushType::Fcm | PushType::Gcm => Some("gcm"),
            PushType::Apns => Some("apns"),
            PushType::Mpns => Some("mpns"),
            PushType::Apns2 => None,
        }
    }
}

/// The APNs environment an APNs2 registration is for: the app's development build (sandbox)
/// or its App Store build. A device registered in one receives nothing sent to the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Environment {
    /// The APNs sandbox (the default, as in PubNub's SDKs).
    #[default]
    Development,
    /// Production APNs.
    Production,
}

impl Environment {
    /// The name the service uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Production => "production",
        }
    }
}

/// The registration endpoints of one device; `A` says which call.
#[derive(Debug, Clone)]
pub struct PushOp<A> {
    device_id: String,
    push_type: Option<PushType>,
    topic: Option<String>,
    environment: Environment,
    channels: Vec<String>,
    start: Option<String>,
    count: Option<u32>,
    action: PhantomData<A>,
}

impl<A> Default for PushOp<A> {
    fn default() -> Self {
        PushOp {
            device_id: String::new(),
            push_type: None,
            topic: None,
            environment: Environment::default(),
            channels: Vec::new(),
            start: None,
            count: None,
            action: PhantomData,
        }
    }
}

markers! {
    /// Adds channels to a device's registrations.
    AddChannels;
    /// Removes channels from a device's registrations.
    RemoveChannels;
    /// Lists the channels a device is registered on.
    ListChannels;
    /// Removes every registration of a device.
    RemoveDevice;
}

/// Registers a device on channels; `.await` it. Created by
/// [`PubNub::add_channels_to_push`](crate::PubNub::add_channels_to_push).
pub type AddChannelsToPush = RequestBuilder<PushOp<AddChannels>>;
/// Unregisters a device from channels; `.await` it. Created by
/// [`PubNub::remove_channels_from_push`](crate::PubNub::remove_channels_from_push).
pub type RemoveChannelsFromPush = RequestBuilder<PushOp<RemoveChannels>>;
/// The channels a device is registered on; `.await` it. Created by
/// [`PubNub::list_push_channels`](crate::PubNub::list_push_channels).
pub type ListPushChannels = RequestBuilder<PushOp<ListChannels>>;
/// Removes every registration of a device (for its push type, or APNs2 topic and
/// environment); `.await` it. Created by
/// [`PubNub::remove_device_from_push`](crate::PubNub::remove_device_from_push).
pub type RemoveDeviceFromPush = RequestBuilder<PushOp<RemoveDevice>>;

/// What the channels of a device are, as [`list_push_channels`](crate::PubNub::list_push_channels)
/// answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPushChannelsResult {
    /// The channels, in the service's order.
    pub channels: Vec<String>,
}

mod action {
    use super::*;

    /// What a [`PushOp`] does.
    pub trait Action: Send + Sync + 'static {
        type Output: Send + 'static;
        /// The path after the device's.
        const PATH: &'static str;
        /// The channel list's parameter, for the calls that change registrations.
        const CHANNELS: Option<&'static str>;
        fn read(answer: &Response) -> Result<Self::Output, Error>;
    }

    /// The calls that add or remove channels.
    pub trait Changes {}
    impl Changes for AddChannels {}
    impl Changes for RemoveChannels {}

    impl Action for AddChannels {
        type Output = ();
        const PATH: &'static str = "";
        const CHANNELS: Option<&'static str> = Some("add");
        fn read(answer: &Response) -> Result<(), Error> {
            response::ok(answer)
        }
    }

    impl Action for RemoveChannels {
        type Output = ();
        const PATH: &'static str = "";
        const CHANNELS: Option<&'static str> = Some("remove");
        fn read(answer: &Response) -> Result<(), Error> {
            response::ok(answer)
        }
    }

    impl Action for RemoveDevice {
        type Output = ();
        const PATH: &'static str = "/remove";
        const CHANNELS: Option<&'static str> = None;
        fn read(answer: &Response) -> Result<(), Error> {
            response::ok(answer)
        }
    }

    impl Action for ListChannels {
        type Output = ListPushChannelsResult;
        const PATH: &'static str = "";
        const CHANNELS: Option<&'static str> = None;
        fn read(answer: &Response) -> Result<ListPushChannelsResult, Error> {
            let json = response::check(answer)?;
            let bad = || {
                Error::decode(format!(
                    "unexpected push channels: {}",
                    response::short(&json)
                ))
            };
            let channels = match &json {
                Value::Array(items) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned).ok_or_else(bad))
                    .collect::<Result<Vec<_>, _>>()?,
                _ => return Err(bad()),
            };
            Ok(ListPushChannelsResult { channels })
        }
    }
}
use action::Action;

impl<A> RequestBuilder<PushOp<A>> {
    setters! {
        /// The device's push token (required), as the push service gave it to the app.
        device_id(device_id: impl Into<String>) op => op.device_id = device_id.into();
        /// The push service of the token (required).
        push_type(push_type: PushType) op => op.push_type = Some(push_type);
        /// The app's APNs topic, its bundle id (required for [`PushType::Apns2`], ignored
        /// otherwise).
        topic(topic: impl Into<String>) op => op.topic = Some(topic.into());
        /// The APNs environment (for [`PushType::Apns2`]; default
        /// [`Environment::Development`]).
        environment(environment: Environment) op => op.environment = environment;
    }
}

impl<A: action::Changes> RequestBuilder<PushOp<A>> {
    setters! {
        /// The channels (at least one; as many as fit in the service's 32 KiB request URI).
        channels(channels: impl IntoIterator<Item = impl Into<String>>) op =>
            op.channels = channels.into_iter().map(Into::into).collect();
    }
}

impl RequestBuilder<PushOp<ListChannels>> {
    setters! {
        /// The page that starts after this channel: the last channel of the page before.
        start(channel: impl Into<String>) op => op.start = Some(channel.into());
        /// Most channels in the answer: 1 to 1000 (the service's default: 500).
        count(count: u32) op => op.count = Some(count);
    }
}

impl<A: Action> Operation for PushOp<A> {
    type Output = A::Output;
    const GROUP: Endpoint = Endpoint::Push;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let push_type = self.push_type.ok_or_else(|| {
            Error::invalid("the push type is required (PushType::Fcm or PushType::Apns2)")
        })?;
        check_device_id(&self.device_id)?;
        let mut request = match push_type.gateway() {
            Some(gateway) => core
                .get(
                    &format!("/v1/push/sub-key/{{sub}}/devices/{{}}{}", A::PATH),
                    &[(&self.device_id).into()],
                )
                .param("type", gateway),
            None => {
                let topic = self.topic.as_deref().unwrap_or_default();
                check_topic(topic)?;
                core.get(
                    &format!("/v2/push/sub-key/{{sub}}/devices-apns2/{{}}{}", A::PATH),
                    &[(&self.device_id).into()],
                )
                .param("environment", self.environment.as_str())
                .param("topic", topic)
            }
        };
        if let Some(param) = A::CHANNELS {
            if self.channels.is_empty() {
                return Err(Error::invalid("at least one channel is required"));
            }
            self.channels
                .iter()
                .try_for_each(|channel| validate::publish_channel(channel))?;
            request = request.param(param, self.channels.join(","));
        }
        if let Some(count) = self.count {
            if !(1..=MAX_LIST_COUNT).contains(&count) {
                return Err(Error::invalid(format!(
                    "count {count} is out of range: 1 to {MAX_LIST_COUNT}"
                )));
            }
        }
        let request = request
            .param_opt("start", self.start.clone().filter(|s| !s.is_empty()))
            .param_opt("count", self.count.map(|c| c.to_string()));
        let uri = request.path_and_query().len();
        if uri > MAX_URI_BYTES {
            return Err(Error::invalid(format!(
                "{} channels make a request of {uri} bytes, over the service's {MAX_URI_BYTES}: \
                 register them in several calls",
                self.channels.len()
            )));
        }
        Ok(request)
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<A::Output, Error> {
        A::read(answer)
    }
}

/// A device token that can be sent in a path: not empty, no control character, not a dot
/// segment, at most [`MAX_DEVICE_ID_BYTES`].
fn check_device_id(device_id: &str) -> Result<(), Error> {
    if device_id.trim().is_empty() {
        return Err(Error::invalid("the device id (push token) is empty"));
    }
    if device_id.len() > MAX_DEVICE_ID_BYTES {
        return Err(Error::invalid(format!(
            "the device id is longer than {MAX_DEVICE_ID_BYTES} bytes"
        )));
    }
    if device_id.chars().any(char::is_control) || device_id == "." || device_id == ".." {
        return Err(Error::invalid(
            "the device id has control characters or is a dot segment",
        ));
    }
    Ok(())
}

/// An APNs topic (the app's bundle id): required, printable, without spaces.
fn check_topic(topic: &str) -> Result<(), Error> {
    if topic.is_empty() {
        return Err(Error::invalid(
            "the APNs topic (the app's bundle id) is required for PushType::Apns2",
        ));
    }
    if topic.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(format!(
            "the APNs topic {topic:?} has spaces or control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

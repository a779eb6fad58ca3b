//! Mobile push (PROTOCOL.md §21): which device tokens are registered on which channels, and the
//! outbox of notifications the service would have handed to FCM and APNs.
//!
//! Registrations are kept per subscribe key, as the recorded service keeps them: a v1
//! registration per (gateway, token), where `gcm` and `fcm` are one gateway; an APNs2 one per
//! (token, topic, environment). The two kinds never see each other.
//!
//! Nothing is sent anywhere. When a delivered message (not a signal, not fire) carries
//! `pn_fcm` (or the older `pn_gcm`) or `pn_apns`, [`outbox`] works out, under the lock that
//! gives the message its timetoken, every notification a registered device would receive, and
//! the hub keeps them, the last [`MAX_PUSH_OUTBOX`], for tests to read
//! ([`Hub::push_outbox`]). With `"pn_debug": true` it also publishes what it did, as text, on
//! `<channel>-pndebug`.

mod outbox;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;

use super::channels::{validate_plain, EventKind, Message, NameError};
use super::timetoken::Clock;
use super::{Hub, KeySpace, State, Timetoken};

/// How many notifications the outbox keeps; older ones are dropped first.
pub const MAX_PUSH_OUTBOX: usize = 10_000;

/// The publisher (`i`) of the messages sent on `<channel>-pndebug`.
pub const PUSH_DEBUG_PUBLISHER: &str = "pubnub-push-debug";

/// Suffix of the channel that `pn_debug` reports go to.
pub const PUSH_DEBUG_SUFFIX: &str = "-pndebug";

/// The `type` of a v1 registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PushGateway {
    /// Firebase Cloud Messaging: `type=gcm` or `type=fcm`, one set of registrations.
    Fcm,
    /// APNs with certificates (`type=apns`), before HTTP/2.
    Apns,
    /// Microsoft Push Notification Service (`type=mpns`): registrations are kept and listed,
    /// nothing is ever pushed to them (Microsoft retired MPNS, and no payload key for it is
    /// documented).
    Mpns,
}

impl PushGateway {
    /// Reads a v1 `type`: `gcm`, `fcm`, `apns` or `mpns`.
    pub fn parse(value: &str) -> Option<PushGateway> {
        match value {
            "gcm" | "fcm" => Some(PushGateway::Fcm),
            "apns" => Some(PushGateway::Apns),
            "mpns" => Some(PushGateway::Mpns),
            _ => None,
        }
    }
}

/// The APNs environment of an APNs2 registration or target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PushEnvironment {
    /// The APNs sandbox: the default, as in PubNub's SDKs.
    #[default]
    Development,
    /// Production APNs.
    Production,
}

impl PushEnvironment {
    /// Reads `development` or `production`.
    pub fn parse(value: &str) -> Option<PushEnvironment> {
        match value {
            "development" => Some(PushEnvironment::Development),
            "production" => Some(PushEnvironment::Production),
            _ => None,
        }
    }

    /// The name the service uses.
    pub fn as_str(self) -> &'static str {
        match self {
            PushEnvironment::Development => "development",
            PushEnvironment::Production => "production",
        }
    }
}

/// One device's registrations: what the registration calls name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PushDevice {
    /// `/v1/push/sub-key/{sub}/devices/{token}?type=…`.
    V1 {
        /// The `type`.
        gateway: PushGateway,
        /// The push token, decoded, case kept.
        token: String,
    },
    /// `/v2/push/sub-key/{sub}/devices-apns2/{token}?topic=…&environment=…`.
    Apns2 {
        /// The push token, decoded, case kept.
        token: String,
        /// The app's bundle id.
        topic: String,
        /// The APNs environment.
        environment: PushEnvironment,
    },
}

impl PushDevice {
    /// The push token.
    pub fn token(&self) -> &str {
        match self {
            PushDevice::V1 { token, .. } | PushDevice::Apns2 { token, .. } => token,
        }
    }
}

/// The service a notification would have gone through.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PushType {
    /// FCM (`pn_fcm`, or `pn_gcm`) to a `gcm`/`fcm` registration.
    Fcm,
    /// APNs over HTTP/2 (`pn_apns` with `pn_push`) to an APNs2 registration.
    Apns2,
    /// Legacy APNs (`pn_apns` without `pn_push`) to an `apns` registration.
    Apns,
}

impl PushType {
    /// `fcm`, `apns2` or `apns`.
    pub fn as_str(self) -> &'static str {
        match self {
            PushType::Fcm => "fcm",
            PushType::Apns2 => "apns2",
            PushType::Apns => "apns",
        }
    }
}

/// A notification the service would have pushed to one device.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct PushNotification {
    /// The subscribe key of the publish and the registration.
    pub sub_key: String,
    /// The channel the message was published on.
    pub channel: String,
    /// The message's publish timetoken.
    pub timetoken: Timetoken,
    /// FCM, APNs2 or legacy APNs.
    pub push_type: PushType,
    /// The device's push token, as registered.
    pub token: String,
    /// APNs2: the registration's topic (the app's bundle id).
    pub topic: Option<String>,
    /// APNs2: the registration's environment.
    pub environment: Option<PushEnvironment>,
    /// What the device would receive: `pn_fcm` (without `pn_exceptions`), or `pn_apns`
    /// without `pn_push` (`aps` and the custom keys).
    pub payload: Value,
}

/// Every registration of one subscribe key, both ways round.
#[derive(Debug, Default)]
pub(crate) struct PushStore {
    devices: BTreeMap<PushDevice, BTreeSet<String>>,
    channels: HashMap<String, BTreeSet<PushDevice>>,
}

impl PushStore {
    fn modify(&mut self, device: &PushDevice, remove: &[String], add: &[String]) {
        let registered = self.devices.entry(device.clone()).or_default();
        for channel in remove {
            if registered.remove(channel) {
                if let Some(devices) = self.channels.get_mut(channel) {
                    devices.remove(device);
                    if devices.is_empty() {
                        self.channels.remove(channel);
                    }
                }
            }
        }
        for channel in add {
            if registered.insert(channel.clone()) {
                self.channels
                    .entry(channel.clone())
                    .or_default()
                    .insert(device.clone());
            }
        }
        if registered.is_empty() {
            self.devices.remove(device);
        }
    }

    fn remove_device(&mut self, device: &PushDevice) {
        let channels: Vec<String> = self
            .devices
            .get(device)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default();
        self.modify(device, &channels, &[]);
    }

    /// The devices registered on `channel`, in order.
    pub(crate) fn on_channel(&self, channel: &str) -> impl Iterator<Item = &PushDevice> {
        self.channels.get(channel).into_iter().flatten()
    }
}

/// The last [`MAX_PUSH_OUTBOX`] notifications of every key, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    notifications: VecDeque<PushNotification>,
}

impl Outbox {
    /// The newest `n` notifications, oldest first.
    pub(crate) fn newest(&self, n: usize) -> impl Iterator<Item = &PushNotification> {
        let len = self.notifications.len();
        self.notifications.range(len.saturating_sub(n)..)
    }

    fn push(&mut self, notification: PushNotification) {
        if self.notifications.len() == MAX_PUSH_OUTBOX {
            self.notifications.pop_front();
        }
        self.notifications.push_back(notification);
    }
}

/// Records what `message` (delivered on `sub_key`) pushes, and reports it on
/// `<channel>-pndebug` when it asks for `pn_debug`. Cheap for a message that pushes nothing.
pub(crate) fn on_publish(
    space: &mut KeySpace,
    outbox: &mut Outbox,
    clock: &mut Clock,
    sub_key: &str,
    message: &Message,
    capacity: usize,
) {
    let Some(request) = outbox::PushRequest::read(&message.payload) else {
        return;
    };
    let plan = request.plan(space.push.on_channel(&message.channel));
    let reports = request
        .debug
        .then(|| plan.debug_report(&message.channel, message.timetoken));
    for delivery in plan.deliveries {
        let (topic, environment) = match delivery.device {
            PushDevice::Apns2 {
                topic, environment, ..
            } => (Some(topic.clone()), Some(*environment)),
            PushDevice::V1 { .. } => (None, None),
        };
        outbox.push(PushNotification {
            sub_key: sub_key.to_string(),
            channel: message.channel.clone(),
            timetoken: message.timetoken,
            push_type: delivery.push_type,
            token: delivery.device.token().to_string(),
            topic,
            environment,
            payload: delivery.payload,
        });
    }
    let debug_channel = format!("{}{PUSH_DEBUG_SUFFIX}", message.channel);
    for text in reports.into_iter().flatten() {
        space.append_shared(
            Arc::new(Message {
                channel: debug_channel.clone(),
                timetoken: clock.issue(),
                payload: Value::String(text),
                kind: EventKind::Message,
                publisher: Some(PUSH_DEBUG_PUBLISHER.to_string()),
                meta: None,
                seqn: None,
                custom_message_type: None,
            }),
            capacity,
        );
    }
}

impl Hub {
    /// Removes `device` from the channels in `remove`, then registers it on those in `add`,
    /// as one registration call does. Both are idempotent; nothing changes when a name is not
    /// a plain channel name.
    pub fn push_modify(
        &self,
        sub_key: &str,
        device: &PushDevice,
        remove: &[String],
        add: &[String],
    ) -> Result<(), NameError> {
        for channel in remove.iter().chain(add) {
            validate_plain(channel)?;
        }
        let mut state = self.lock();
        let space = self.space(&mut state.spaces, sub_key);
        space.push.modify(device, remove, add);
        self.touch();
        Ok(())
    }

    /// The channels `device` is registered on, sorted.
    pub fn push_channels(&self, sub_key: &str, device: &PushDevice) -> Vec<String> {
        let state = self.lock();
        state
            .spaces
            .get(sub_key)
            .and_then(|space| space.push.devices.get(device))
            .map(|channels| channels.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Removes every registration of `device` (one gateway, or one topic and environment).
    pub fn push_remove_device(&self, sub_key: &str, device: &PushDevice) {
        let mut state = self.lock();
        if let Some(space) = state.spaces.get_mut(sub_key) {
            space.push.remove_device(device);
        }
        self.touch();
    }

    /// The notifications pushed so far (the last [`MAX_PUSH_OUTBOX`]), oldest first.
    pub fn push_outbox(&self) -> Vec<PushNotification> {
        let state = self.lock();
        state.push_outbox.notifications.iter().cloned().collect()
    }

    /// Forgets the notifications pushed so far.
    pub fn clear_push_outbox(&self) {
        let mut state = self.lock();
        let State { push_outbox, .. } = &mut *state;
        push_outbox.notifications.clear();
        self.touch();
    }
}

#[cfg(test)]
mod tests;

//! The push parts of a message (`pn_apns`, `pn_fcm`, `pn_debug`), built as PubNub's push
//! documentation and its JavaScript SDK's `NotificationsPayload` build them.

use serde_json::{json, Map, Value};

use super::{Environment, PushType};
use crate::error::Error;

/// One APNs2 destination: an app (its topic) in one environment, minus some devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsTarget {
    topic: String,
    environment: Environment,
    excluded_devices: Vec<String>,
}

impl ApnsTarget {
    /// The app whose bundle id is `topic`, in [`Environment::Development`].
    pub fn new(topic: impl Into<String>) -> Self {
        ApnsTarget {
            topic: topic.into(),
            environment: Environment::Development,
            excluded_devices: Vec::new(),
        }
    }

    /// The APNs environment (default development).
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// Devices (tokens) that must not get this notification, such as the sender's own.
    pub fn excluded_devices(
        mut self,
        devices: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.excluded_devices = devices.into_iter().map(Into::into).collect();
        self
    }
}

/// How PubNub sends an APNs2 notification (one `pn_push` entry): its targets, and optionally
/// a collapse id and an expiration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apns2Configuration {
    targets: Vec<ApnsTarget>,
    collapse_id: Option<String>,
    expiration: Option<String>,
}

impl Apns2Configuration {
    /// A configuration for these targets (at least one).
    pub fn new(targets: impl IntoIterator<Item = ApnsTarget>) -> Self {
        Apns2Configuration {
            targets: targets.into_iter().collect(),
            collapse_id: None,
            expiration: None,
        }
    }

    /// APNs' `apns-collapse-id`: notifications with the same id replace each other.
    pub fn collapse_id(mut self, id: impl Into<String>) -> Self {
        self.collapse_id = Some(id.into());
        self
    }

    /// APNs' `apns-expiration`, as an ISO 8601 date (`2026-12-31T23:59:59Z`): when APNs stops
    /// trying to deliver.
    pub fn expiration(mut self, date: impl Into<String>) -> Self {
        self.expiration = Some(date.into());
        self
    }

    fn to_json(&self) -> Result<Value, Error> {
        if self.targets.is_empty() {
            return Err(Error::invalid(
                "an APNs2 configuration needs at least one target",
            ));
        }
        let targets = self
            .targets
            .iter()
            .map(|target| {
                if target.topic.trim().is_empty() {
                    return Err(Error::invalid("an APNs2 target needs a topic"));
                }
                let mut json = json!({
                    "environment": target.environment.as_str(),
                    "topic": target.topic,
                });
                if !target.excluded_devices.is_empty() {
                    json["excluded_devices"] = json!(target.excluded_devices);
                }
                Ok(json)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut json = json!({"auth_method": "token", "targets": targets, "version": "v2"});
        if let Some(id) = &self.collapse_id {
            json["collapse_id"] = json!(id);
        }
        if let Some(date) = &self.expiration {
            json["expiration"] = json!(date);
        }
        Ok(json)
    }
}

/// A notification for APNs and FCM, built into the `pn_apns` / `pn_fcm` (and `pn_debug`) parts
/// of a message: publish the result, and PubNub sends each registered device its part.
///
/// ```
/// use pubnub_engine::push::{ApnsTarget, Apns2Configuration, PushPayload, PushType};
/// use serde_json::json;
///
/// let message = PushPayload::new("Chat invitation", "You have been invited to 'quiz' chat")
///     .badge(1)
///     .sound("default")
///     .apns2(Apns2Configuration::new([ApnsTarget::new("com.example.chat")]))
///     .message(json!({"text": "You have been invited to 'quiz' chat"}))
///     .build([PushType::Apns2, PushType::Fcm])
///     .unwrap();
/// assert_eq!(message["pn_apns"]["aps"]["alert"]["title"], "Chat invitation");
/// assert_eq!(message["pn_fcm"]["notification"]["body"], "You have been invited to 'quiz' chat");
/// assert_eq!(message["text"], "You have been invited to 'quiz' chat");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushPayload {
    title: Option<String>,
    subtitle: Option<String>,
    body: Option<String>,
    badge: Option<u32>,
    sound: Option<String>,
    icon: Option<String>,
    tag: Option<String>,
    image: Option<String>,
    silent: bool,
    debug: bool,
    apns2: Vec<Apns2Configuration>,
    apns_fields: Map<String, Value>,
    fcm_data: Map<String, Value>,
    message: Map<String, Value>,
}

impl PushPayload {
    /// A notification with this title and body (either may be empty).
    pub fn new(title: impl Into<String>, body: impl Into<String>) -> Self {
        let text = |s: String| (!s.is_empty()).then_some(s);
        PushPayload {
            title: text(title.into()),
            body: text(body.into()),
            ..PushPayload::default()
        }
    }

    /// A subtitle (APNs only).
    pub fn subtitle(mut self, subtitle: impl Into<String>) -> Self {
        self.subtitle = Some(subtitle.into()).filter(|s| !s.is_empty());
        self
    }

    /// The app icon's badge number (APNs only).
    pub fn badge(mut self, badge: u32) -> Self {
        self.badge = Some(badge);
        self
    }

    /// The sound to play: APNs' `aps.sound`, FCM's `android.notification.sound`.
    pub fn sound(mut self, sound: impl Into<String>) -> Self {
        self.sound = Some(sound.into()).filter(|s| !s.is_empty());
        self
    }

    /// The notification's icon (FCM's `android.notification.icon`).
    pub fn icon(mut self, icon: impl Into<String>) -> Self {
        self.icon = Some(icon.into()).filter(|s| !s.is_empty());
        self
    }

    /// A tag: FCM replaces an earlier notification with the same tag
    /// (`android.notification.tag`).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into()).filter(|s| !s.is_empty());
        self
    }

    /// An image URL (FCM's `notification.image`).
    pub fn image(mut self, url: impl Into<String>) -> Self {
        self.image = Some(url.into()).filter(|s| !s.is_empty());
        self
    }

    /// A silent (background) notification: APNs' `content-available: 1` without alert, badge
    /// or sound; FCM's notification moved under `data` so that the app handles it.
    pub fn silent(mut self, silent: bool) -> Self {
        self.silent = silent;
        self
    }

    /// Asks PubNub to report how it delivered the notification on `<channel>-pndebug`
    /// (`pn_debug: true`).
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// How to send the APNs2 notification (required to build for [`PushType::Apns2`]; one
    /// call per configuration).
    pub fn apns2(mut self, configuration: Apns2Configuration) -> Self {
        self.apns2.push(configuration);
        self
    }

    /// A custom key of the APNs payload, next to `aps` (what the app reads from the
    /// notification's `userInfo`).
    pub fn apns_field(mut self, key: impl Into<String>, value: Value) -> Self {
        self.apns_fields.insert(key.into(), value);
        self
    }

    /// A key of FCM's `data`, handed to the app.
    pub fn fcm_data(mut self, key: impl Into<String>, value: Value) -> Self {
        self.fcm_data.insert(key.into(), value);
        self
    }

    /// What subscribers (not push services) receive: the keys of this JSON object are put at
    /// the top of the message, next to the push parts. Anything but an object is kept under
    /// `"message"`.
    pub fn message(mut self, message: Value) -> Self {
        self.message = match message {
            Value::Object(map) => map,
            other => Map::from_iter([("message".to_owned(), other)]),
        };
        self
    }

    /// The message: the [`message`](Self::message)'s keys plus `pn_apns` (for
    /// [`PushType::Apns2`] or the legacy `Apns`), `pn_fcm` (for [`PushType::Fcm`] or `Gcm`),
    /// and `pn_debug` when asked for. A platform with nothing to show is left out.
    pub fn build(&self, platforms: impl IntoIterator<Item = PushType>) -> Result<Value, Error> {
        let platforms: Vec<PushType> = platforms.into_iter().collect();
        if platforms.is_empty() {
            return Err(Error::invalid("build for at least one push type"));
        }
        if platforms.contains(&PushType::Mpns) {
            return Err(Error::invalid("MPNS has no payload: Microsoft retired it"));
        }
        let mut message = self.message.clone();
        for key in ["pn_apns", "pn_fcm", "pn_gcm", "pn_debug"] {
            if message.contains_key(key) {
                return Err(Error::invalid(format!(
                    "the message has its own {key}: build the push parts here instead"
                )));
            }
        }
        let mut pushed = false;
        // Legacy APNs wins over APNs2 when both are asked for, as in PubNub's JS SDK.
        let apns = if platforms.contains(&PushType::Apns) {
            Some(false)
        } else if platforms.contains(&PushType::Apns2) {
            Some(true)
        } else {
            None
        };
        if let Some(http2) = apns {
            if let Some(apns) = self.apns(http2)? {
                message.insert("pn_apns".to_owned(), apns);
                pushed = true;
            }
        }
        if platforms.contains(&PushType::Fcm) || platforms.contains(&PushType::Gcm) {
            if let Some(fcm) = self.fcm() {
                message.insert("pn_fcm".to_owned(), fcm);
                pushed = true;
            }
        }
        if pushed && self.debug {
            message.insert("pn_debug".to_owned(), Value::Bool(true));
        }
        Ok(Value::Object(message))
    }

    /// `pn_apns`, or `None` when it would show nothing.
    fn apns(&self, http2: bool) -> Result<Option<Value>, Error> {
        let mut aps = Map::new();
        if self.silent {
            aps.insert("content-available".to_owned(), json!(1));
        } else {
            let mut alert = Map::new();
            for (key, value) in [
                ("title", &self.title),
                ("subtitle", &self.subtitle),
                ("body", &self.body),
            ] {
                if let Some(value) = value {
                    alert.insert(key.to_owned(), json!(value));
                }
            }
            if alert.is_empty() && self.apns_fields.is_empty() {
                return Ok(None);
            }
            if !alert.is_empty() {
                aps.insert("alert".to_owned(), Value::Object(alert));
            }
            if let Some(badge) = self.badge {
                aps.insert("badge".to_owned(), json!(badge));
            }
            if let Some(sound) = &self.sound {
                aps.insert("sound".to_owned(), json!(sound));
            }
        }
        let mut apns = self.apns_fields.clone();
        apns.insert("aps".to_owned(), Value::Object(aps));
        if http2 {
            if self.apns2.is_empty() {
                return Err(Error::invalid(
                    "an APNs2 payload needs an Apns2Configuration (the app's topic)",
                ));
            }
            let push = self
                .apns2
                .iter()
                .map(Apns2Configuration::to_json)
                .collect::<Result<Vec<_>, _>>()?;
            apns.insert("pn_push".to_owned(), Value::Array(push));
        }
        Ok(Some(Value::Object(apns)))
    }

    /// `pn_fcm`, or `None` when it would hold nothing.
    fn fcm(&self) -> Option<Value> {
        let mut notification = Map::new();
        for (key, value) in [
            ("title", &self.title),
            ("body", &self.body),
            ("image", &self.image),
        ] {
            if let Some(value) = value {
                notification.insert(key.to_owned(), json!(value));
            }
        }
        let mut android = Map::new();
        for (key, value) in [
            ("sound", &self.sound),
            ("icon", &self.icon),
            ("tag", &self.tag),
        ] {
            if let Some(value) = value {
                android.insert(key.to_owned(), json!(value));
            }
        }
        let mut data = self.fcm_data.clone();
        let mut fcm = Map::new();
        if !notification.is_empty() {
            if self.silent {
                data.insert("notification".to_owned(), Value::Object(notification));
            } else {
                fcm.insert("notification".to_owned(), Value::Object(notification));
            }
        }
        if !data.is_empty() {
            fcm.insert("data".to_owned(), Value::Object(data));
        }
        if !android.is_empty() {
            fcm.insert("android".to_owned(), json!({ "notification": android }));
        }
        (!fcm.is_empty()).then_some(Value::Object(fcm))
    }
}

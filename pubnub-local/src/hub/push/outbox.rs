//! What a published message pushes, worked out from its payload and the registrations on its
//! channel: no state, no clock, no lock (the caller holds the hub's).
//!
//! - `pn_fcm` (or, when it has none, the older `pn_gcm`) goes to every `gcm`/`fcm`
//!   registration, except the tokens listed in its `pn_exceptions` (a PubNub directive from
//!   its support pages, removed from what the device gets).
//! - `pn_apns` with `pn_push` goes to every APNs2 registration whose topic and environment
//!   (default `development`) are those of one of the `pn_push[].targets`, unless the target
//!   lists its token in `excluded_devices` (compared without case: tokens are hex). The device
//!   gets `pn_apns` without `pn_push`: `aps` and the custom keys.
//! - `pn_apns` without `pn_push` goes, as it is, to every legacy `apns` registration.
//!
//! A device gets at most one notification per message. `mpns` registrations get nothing.
//!
//! The `pn_debug` report's texts are pubnub-local's own: the service's are not documented. They
//! follow the shapes a third-party parser of `-pndebug` channels expects (PROTOCOL.md §21.1).

use serde_json::{Map, Value};

use super::{PushDevice, PushEnvironment, PushGateway, PushType};
use crate::hub::Timetoken;

/// The push parts of a message.
pub(super) struct PushRequest<'a> {
    fcm: Option<&'a Map<String, Value>>,
    apns: Option<&'a Map<String, Value>>,
    /// `"pn_debug": true`.
    pub(super) debug: bool,
}

/// One APNs2 target of `pn_push`.
struct Target<'a> {
    topic: &'a str,
    environment: PushEnvironment,
    excluded: Vec<&'a str>,
}

/// One device's notification.
pub(super) struct Delivery<'d> {
    pub(super) push_type: PushType,
    pub(super) device: &'d PushDevice,
    pub(super) payload: Value,
}

/// Every notification of one message, and the devices left out on purpose.
#[derive(Default)]
pub(super) struct Plan<'d> {
    pub(super) deliveries: Vec<Delivery<'d>>,
    excluded: Vec<(PushType, &'d str)>,
}

impl<'a> PushRequest<'a> {
    /// `None` when the message pushes nothing (no `pn_fcm`, `pn_gcm` or `pn_apns` object).
    pub(super) fn read(payload: &'a Value) -> Option<PushRequest<'a>> {
        let object = payload.as_object()?;
        let part = |key: &str| object.get(key).and_then(Value::as_object);
        let fcm = part("pn_fcm").or_else(|| part("pn_gcm"));
        let apns = part("pn_apns");
        if fcm.is_none() && apns.is_none() {
            return None;
        }
        Some(PushRequest {
            fcm,
            apns,
            debug: object.get("pn_debug") == Some(&Value::Bool(true)),
        })
    }

    /// The notifications for `devices`, the registrations on the message's channel.
    pub(super) fn plan<'d>(&self, devices: impl Iterator<Item = &'d PushDevice>) -> Plan<'d> {
        let fcm = self.fcm.map(|fcm| {
            let exceptions = strings(fcm.get("pn_exceptions"));
            (without(fcm, "pn_exceptions"), exceptions)
        });
        let targets = self.apns.and_then(|apns| apns.get("pn_push")).map(targets);
        let apns2 = self.apns.map(|apns| without(apns, "pn_push"));
        let mut plan = Plan::default();
        for device in devices {
            match device {
                PushDevice::V1 {
                    gateway: PushGateway::Fcm,
                    token,
                } => {
                    let Some((payload, exceptions)) = &fcm else {
                        continue;
                    };
                    if exceptions.contains(&token.as_str()) {
                        plan.excluded.push((PushType::Fcm, token));
                    } else {
                        plan.deliver(PushType::Fcm, device, payload);
                    }
                }
                PushDevice::V1 {
                    gateway: PushGateway::Apns,
                    ..
                } => {
                    if let (Some(apns), None) = (self.apns, &targets) {
                        plan.deliver(PushType::Apns, device, &Value::Object(apns.clone()));
                    }
                }
                PushDevice::V1 {
                    gateway: PushGateway::Mpns,
                    ..
                } => {}
                PushDevice::Apns2 {
                    token,
                    topic,
                    environment,
                } => {
                    let (Some(targets), Some(payload)) = (&targets, &apns2) else {
                        continue;
                    };
                    let mut matching = targets
                        .iter()
                        .filter(|t| t.topic == topic && t.environment == *environment)
                        .peekable();
                    if matching.peek().is_none() {
                        continue;
                    }
                    if matching.any(|t| !t.excludes(token)) {
                        plan.deliver(PushType::Apns2, device, payload);
                    } else {
                        plan.excluded.push((PushType::Apns2, token));
                    }
                }
            }
        }
        plan
    }
}

impl Target<'_> {
    fn excludes(&self, token: &str) -> bool {
        self.excluded.iter().any(|t| t.eq_ignore_ascii_case(token))
    }
}

/// The targets of every `pn_push` configuration; malformed ones (no topic, an unknown
/// environment) are skipped.
fn targets(pn_push: &Value) -> Vec<Target<'_>> {
    let configurations = pn_push.as_array().map(Vec::as_slice).unwrap_or_default();
    configurations
        .iter()
        .filter_map(|c| c.get("targets")?.as_array())
        .flatten()
        .filter_map(|target| {
            let topic = target.get("topic")?.as_str().filter(|t| !t.is_empty())?;
            let environment = match target.get("environment") {
                None | Some(Value::Null) => PushEnvironment::Development,
                Some(value) => PushEnvironment::parse(value.as_str()?)?,
            };
            Some(Target {
                topic,
                environment,
                excluded: strings(target.get("excluded_devices")),
            })
        })
        .collect()
}

/// The strings of a JSON array (anything else: none).
fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `object` without `key`.
fn without(object: &Map<String, Value>, key: &str) -> Value {
    let mut object = object.clone();
    object.remove(key);
    Value::Object(object)
}

/// The types in the order of the report's "Devices found" line, with the names it uses.
const REPORTED: [(PushType, &str, &str); 3] = [
    (PushType::Apns, "apns", "APNS"),
    (PushType::Apns2, "apns2", "APNS2"),
    (PushType::Fcm, "gcm", "GCM"),
];

impl<'d> Plan<'d> {
    fn deliver(&mut self, push_type: PushType, device: &'d PushDevice, payload: &Value) {
        self.deliveries.push(Delivery {
            push_type,
            device,
            payload: payload.clone(),
        });
    }

    fn tokens(&self, push_type: PushType) -> Vec<&str> {
        self.deliveries
            .iter()
            .filter(|d| d.push_type == push_type)
            .map(|d| d.device.token())
            .collect()
    }

    /// The `pn_debug` report, one text per message on `<channel>-pndebug`.
    pub(super) fn debug_report(&self, channel: &str, timetoken: Timetoken) -> Vec<String> {
        if self.deliveries.is_empty() && self.excluded.is_empty() {
            return vec![format!(
                "No mobile push registrations found for channel: {channel} timetoken: {timetoken}"
            )];
        }
        let counts: Vec<String> = REPORTED
            .iter()
            .map(|(t, name, _)| format!("{name}: {}", self.tokens(*t).len()))
            .collect();
        let mut report = vec![format!(
            "Devices found for push notification {}",
            counts.join(" ")
        )];
        for (push_type, name, _) in REPORTED {
            let tokens = self.tokens(push_type);
            if !tokens.is_empty() {
                report.push(format!(
                    "Registered devices for {name}: {}",
                    py_list(&tokens)
                ));
            }
            let excluded: Vec<&str> = self
                .excluded
                .iter()
                .filter(|(t, _)| *t == push_type)
                .map(|(_, token)| *token)
                .collect();
            if !excluded.is_empty() {
                report.push(format!(
                    "Excluded devices for {name}: {}",
                    py_list(&excluded)
                ));
            }
        }
        for (push_type, _, job) in REPORTED {
            let sent = self.tokens(push_type).len();
            if sent > 0 {
                report.push(format!(
                    "Completed {job} push job timetoken: {timetoken} expected: {sent} sent: {sent} \
                     removed: 0 errored 0"
                ));
            }
        }
        report
    }
}

/// A Python `repr` of a list of strings, as the service's reports print device lists.
pub(super) fn py_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| format!("'{}'", item.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect();
    format!("[{}]", quoted.join(", "))
}

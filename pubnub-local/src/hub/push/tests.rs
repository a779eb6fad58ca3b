//! Registrations and the outbox, on the hub without HTTP.

use serde_json::{json, Value};

use super::*;
use crate::hub::{Publish, SubscribeRequest};

const KEY: &str = "sub-key";

fn v1(gateway: PushGateway, token: &str) -> PushDevice {
    PushDevice::V1 {
        gateway,
        token: token.into(),
    }
}

fn apns2(token: &str, topic: &str, environment: PushEnvironment) -> PushDevice {
    PushDevice::Apns2 {
        token: token.into(),
        topic: topic.into(),
        environment,
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

fn register(hub: &Hub, device: &PushDevice, channels: &[&str]) {
    hub.push_modify(KEY, device, &[], &names(channels)).unwrap();
}

/// (type, token, topic, environment, payload) of one notification.
type Sent = (
    PushType,
    String,
    Option<String>,
    Option<PushEnvironment>,
    Value,
);

/// Every notification, in order.
fn sent(hub: &Hub) -> Vec<Sent> {
    hub.push_outbox()
        .into_iter()
        .map(|n| (n.push_type, n.token, n.topic, n.environment, n.payload))
        .collect()
}

#[test]
fn registrations_remove_first_then_add_per_gateway_and_apns2_key() {
    let hub = Hub::default();
    let gcm = v1(PushGateway::Fcm, "0000000000000000");
    let apns = v1(PushGateway::Apns, "0000000000000000");
    register(&hub, &gcm, &["b", "a", "a"]);
    register(&hub, &apns, &["x"]);
    assert_eq!(hub.push_channels(KEY, &gcm), ["a", "b"]);
    assert_eq!(hub.push_channels(KEY, &apns), ["x"]);
    assert_eq!(
        hub.push_channels(KEY, &v1(PushGateway::Mpns, "0000000000000000")),
        Vec::<String>::new()
    );
    // Remove first, then add: removing and adding one name keeps it.
    hub.push_modify(KEY, &gcm, &names(&["a", "b", "never"]), &names(&["b", "c"]))
        .unwrap();
    assert_eq!(hub.push_channels(KEY, &gcm), ["b", "c"]);
    assert!(hub.push_channels("other-key", &gcm).is_empty());

    let dev = apns2(
        "0000000000000000",
        "com.example.app",
        PushEnvironment::Development,
    );
    let prod = apns2(
        "0000000000000000",
        "com.example.app",
        PushEnvironment::Production,
    );
    let other_topic = apns2(
        "0000000000000000",
        "com.example.other",
        PushEnvironment::Development,
    );
    register(&hub, &dev, &["d1", "d2"]);
    register(&hub, &prod, &["p1"]);
    register(&hub, &other_topic, &["t1"]);
    hub.push_remove_device(KEY, &dev);
    assert!(hub.push_channels(KEY, &dev).is_empty());
    assert_eq!(hub.push_channels(KEY, &prod), ["p1"]);
    assert_eq!(hub.push_channels(KEY, &other_topic), ["t1"]);
    assert_eq!(
        hub.push_channels(KEY, &apns),
        ["x"],
        "v1 and v2 are separate"
    );
    hub.push_remove_device(KEY, &v1(PushGateway::Apns, "nonexistent"));
    hub.push_remove_device("no-such-key", &dev);

    // A bad name changes nothing.
    for bad in ["a b", "", "x.*", "c-pnpres", "a/b"] {
        assert!(hub
            .push_modify(KEY, &gcm, &names(&["b"]), &names(&["ok", bad]))
            .is_err());
    }
    assert_eq!(hub.push_channels(KEY, &gcm), ["b", "c"]);
}

#[test]
fn fcm_and_legacy_apns_devices_get_their_parts() {
    let hub = Hub::default();
    register(&hub, &v1(PushGateway::Fcm, "fcm-1"), &["news"]);
    register(&hub, &v1(PushGateway::Fcm, "fcm-2"), &["news"]);
    register(&hub, &v1(PushGateway::Apns, "abcdef"), &["news"]);
    register(&hub, &v1(PushGateway::Mpns, "mpns-1"), &["news"]);
    register(&hub, &v1(PushGateway::Fcm, "elsewhere"), &["sport"]);
    let message = json!({
        "text": "hi",
        "pn_fcm": {"notification": {"title": "T"}, "pn_exceptions": ["fcm-2"]},
        "pn_apns": {"aps": {"alert": "hi"}, "room": 1},
    });
    let tt = hub.publish(KEY, Publish::message("news", message)).unwrap();
    let outbox = hub.push_outbox();
    assert!(outbox
        .iter()
        .all(|n| n.timetoken == tt && n.channel == "news" && n.sub_key == KEY));
    assert_eq!(
        sent(&hub),
        vec![
            (
                PushType::Fcm,
                "fcm-1".into(),
                None,
                None,
                json!({"notification": {"title": "T"}})
            ),
            (
                PushType::Apns,
                "abcdef".into(),
                None,
                None,
                json!({"aps": {"alert": "hi"}, "room": 1})
            ),
        ]
    );
    hub.clear_push_outbox();
    // The older key, and nothing for a payload without one.
    hub.publish(
        KEY,
        Publish::message("news", json!({"pn_gcm": {"data": {"a": 1}}})),
    )
    .unwrap();
    hub.publish(
        KEY,
        Publish::message("news", json!({"pn_other": {}, "text": "x"})),
    )
    .unwrap();
    hub.publish(KEY, Publish::message("news", json!("pn_fcm")))
        .unwrap();
    hub.publish(
        KEY,
        Publish::message("news", json!({"pn_fcm": "not an object"})),
    )
    .unwrap();
    let tokens: Vec<String> = sent(&hub).into_iter().map(|s| s.1).collect();
    assert_eq!(tokens, ["fcm-1", "fcm-2"]);
}

#[test]
fn apns2_devices_get_what_targets_their_topic_and_environment() {
    let hub = Hub::default();
    let topic = "com.example.chat";
    register(
        &hub,
        &apns2("aaaa", topic, PushEnvironment::Development),
        &["c"],
    );
    register(
        &hub,
        &apns2("bbbb", topic, PushEnvironment::Production),
        &["c"],
    );
    register(
        &hub,
        &apns2("cccc", topic, PushEnvironment::Development),
        &["c"],
    );
    register(
        &hub,
        &apns2("dddd", "com.other", PushEnvironment::Development),
        &["c"],
    );
    register(&hub, &v1(PushGateway::Apns, "eeee"), &["c"]);
    let message = json!({"pn_apns": {
        "aps": {"alert": {"title": "T", "body": "B"}},
        "custom": true,
        "pn_push": [{"auth_method": "token", "version": "v2",
                     "targets": [{"topic": topic, "excluded_devices": ["CCCC"]}]}],
    }});
    hub.publish(KEY, Publish::message("c", message)).unwrap();
    assert_eq!(
        sent(&hub),
        vec![(
            PushType::Apns2,
            "aaaa".into(),
            Some(topic.into()),
            Some(PushEnvironment::Development),
            json!({"aps": {"alert": {"title": "T", "body": "B"}}, "custom": true})
        )],
        "development only (the default), cccc excluded, no legacy APNs with pn_push"
    );
    hub.clear_push_outbox();
    let both = json!({"pn_apns": {"aps": {}, "pn_push": [
        {"targets": [{"topic": topic, "environment": "production"}]},
        {"targets": [{"topic": topic, "environment": "development"},
                     {"topic": topic, "environment": "staging"}, {"environment": "production"}]},
    ]}});
    hub.publish(KEY, Publish::message("c", both)).unwrap();
    let tokens: Vec<String> = sent(&hub).into_iter().map(|s| s.1).collect();
    assert_eq!(tokens, ["aaaa", "bbbb", "cccc"]);
}

#[test]
fn signals_fire_and_files_push_nothing() {
    let hub = Hub::default();
    register(&hub, &v1(PushGateway::Fcm, "t"), &["c"]);
    let payload = json!({"pn_fcm": {"data": {}}});
    hub.publish(KEY, Publish::signal("c", payload.clone()))
        .unwrap();
    let fire = Publish {
        deliver: false,
        store: false,
        ..Publish::message("c", payload.clone())
    };
    hub.publish(KEY, fire).unwrap();
    let file = Publish {
        kind: EventKind::File,
        ..Publish::message("c", payload.clone())
    };
    hub.publish(KEY, file).unwrap();
    assert!(hub.push_outbox().is_empty());
    // Not stored, still delivered: pushed.
    let unstored = Publish {
        store: false,
        ..Publish::message("c", payload)
    };
    hub.publish(KEY, unstored).unwrap();
    assert_eq!(hub.push_outbox().len(), 1);
}

#[test]
fn the_outbox_keeps_the_last_notifications() {
    let mut outbox = Outbox::default();
    for i in 0..MAX_PUSH_OUTBOX + 5 {
        outbox.push(PushNotification {
            sub_key: KEY.into(),
            channel: "c".into(),
            timetoken: Timetoken(i as u64),
            push_type: PushType::Fcm,
            token: "t".into(),
            topic: None,
            environment: None,
            payload: Value::Null,
        });
    }
    assert_eq!(outbox.notifications.len(), MAX_PUSH_OUTBOX);
    assert_eq!(outbox.notifications[0].timetoken, Timetoken(5));
}

#[tokio::test(start_paused = true)]
async fn pn_debug_reports_on_the_pndebug_channel() {
    let hub = Hub::default();
    let request = SubscribeRequest::channels(["c-pndebug", "empty-pndebug"]);
    let cursor = hub.subscribe(KEY, request.clone()).unwrap().await.cursor;
    register(&hub, &v1(PushGateway::Fcm, "fcm-1"), &["c"]);
    register(
        &hub,
        &apns2("aaaa", "t", PushEnvironment::Development),
        &["c"],
    );
    register(
        &hub,
        &apns2("bbbb", "t", PushEnvironment::Development),
        &["c"],
    );
    let message = json!({
        "pn_debug": true,
        "pn_fcm": {"data": {}},
        "pn_apns": {"aps": {}, "pn_push": [{"targets": [{"topic": "t", "excluded_devices": ["bbbb"]}]}]},
    });
    let tt = hub
        .publish(KEY, Publish::message("c", message.clone()))
        .unwrap();
    let quiet = json!({"pn_debug": false, "pn_fcm": {}});
    hub.publish(KEY, Publish::message("c", quiet)).unwrap();
    let empty_tt = hub
        .publish(KEY, Publish::message("empty", message))
        .unwrap();
    let response = hub
        .subscribe(KEY, SubscribeRequest { cursor, ..request })
        .unwrap()
        .await;
    let reports: Vec<(String, Value, Option<String>)> = response
        .messages
        .iter()
        .map(|d| {
            let m = &d.message;
            (m.channel.clone(), m.payload.clone(), m.publisher.clone())
        })
        .collect();
    let debug = |channel: &str, text: String| {
        (
            channel.to_string(),
            Value::String(text),
            Some(PUSH_DEBUG_PUBLISHER.to_string()),
        )
    };
    assert_eq!(
        reports,
        vec![
            debug("c-pndebug", "Devices found for push notification apns: 0 apns2: 1 gcm: 1".into()),
            debug("c-pndebug", "Registered devices for apns2: ['aaaa']".into()),
            debug("c-pndebug", "Excluded devices for apns2: ['bbbb']".into()),
            debug("c-pndebug", "Registered devices for gcm: ['fcm-1']".into()),
            debug(
                "c-pndebug",
                format!("Completed APNS2 push job timetoken: {tt} expected: 1 sent: 1 removed: 0 errored 0")
            ),
            debug(
                "c-pndebug",
                format!("Completed GCM push job timetoken: {tt} expected: 1 sent: 1 removed: 0 errored 0")
            ),
            debug(
                "empty-pndebug",
                format!("No mobile push registrations found for channel: empty timetoken: {empty_tt}")
            ),
        ]
    );
    assert!(response.messages.iter().all(|d| d.message.timetoken > tt));
}

#[test]
fn python_lists_escape_quotes() {
    assert_eq!(
        outbox::py_list(&["a", "it's", "b\\c"]),
        r"['a', 'it\'s', 'b\\c']"
    );
    assert_eq!(outbox::py_list(&[]), "[]");
}

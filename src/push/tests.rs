//! Mobile push against the service's recorded exchanges (PubNub's Python SDK fixtures,
//! `tests/integrational/fixtures/native_sync/{add_channels_to_push,list_push_channels,
//! remove_channels_from_push,remove_device_from_push}/`) and the payload shapes of PubNub's
//! push documentation and JavaScript SDK.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::error::ErrorKind;
use crate::transport::testing::Recorder;

const MODIFIED: &str = r#"[1, "Modified Channels"]"#;
const REMOVED: &str = r#"[1, "Removed Device"]"#;
const D0: &str = "0000000000000000";
const TOPIC: &str = "com.example.testapp.notifications";

fn client() -> (Arc<Recorder>, Arc<Core>) {
    let recorder = Arc::new(Recorder::default());
    let core = Arc::new(recorder.core(|b| b));
    (recorder, core)
}

fn answer(recorder: &Recorder, status: u16, body: &str) {
    recorder.push(Ok(Response::new(status, body.to_owned())));
}

/// The request's query without the parameters every request has.
fn query(request: &Request) -> Vec<(&'static str, &str)> {
    request
        .query
        .iter()
        .filter(|(k, _)| !["pnsdk", "requestid", "uuid"].contains(k))
        .map(|(k, v)| (*k, v.as_str()))
        .collect()
}

fn add<A>(core: &Arc<Core>) -> RequestBuilder<PushOp<A>> {
    RequestBuilder::new(core, PushOp::default())
}

#[tokio::test]
async fn v1_registrations_as_recorded() {
    let (recorder, core) = client();
    answer(&recorder, 200, MODIFIED);
    add::<AddChannels>(&core)
        .push_type(PushType::Apns)
        .channels(["test_channel_1", "test_channel_2"])
        .device_id(D0)
        .await
        .unwrap();
    answer(&recorder, 200, MODIFIED);
    add::<RemoveChannels>(&core)
        .push_type(PushType::Gcm)
        .channels(["gcm_remove_channel_1", "gcm_remove_channel_2"])
        .device_id(D0)
        .await
        .unwrap();
    answer(&recorder, 200, r#"["gcm_channel_1", "gcm_channel_2"]"#);
    let listed = add::<ListChannels>(&core)
        .push_type(PushType::Fcm)
        .device_id(D0)
        .await
        .unwrap();
    assert_eq!(listed.channels, ["gcm_channel_1", "gcm_channel_2"]);
    answer(&recorder, 200, REMOVED);
    add::<RemoveDevice>(&core)
        .push_type(PushType::Mpns)
        .device_id(D0)
        .await
        .unwrap();

    let requests = recorder.requests();
    let path = format!("/v1/push/sub-key/sub/devices/{D0}");
    assert_eq!(requests[0].path, path);
    assert_eq!(
        query(&requests[0]),
        [("type", "apns"), ("add", "test_channel_1,test_channel_2")]
    );
    assert!(requests[0]
        .path_and_query()
        .contains("add=test_channel_1%2Ctest_channel_2"));
    assert_eq!(requests[1].path, path);
    assert_eq!(
        query(&requests[1]),
        [
            ("type", "gcm"),
            ("remove", "gcm_remove_channel_1,gcm_remove_channel_2")
        ]
    );
    assert_eq!(requests[2].path, path);
    assert_eq!(query(&requests[2]), [("type", "gcm")], "FCM travels as gcm");
    assert_eq!(requests[3].path, format!("{path}/remove"));
    assert_eq!(query(&requests[3]), [("type", "mpns")]);
    assert!(requests
        .iter()
        .all(|r| r.method == crate::transport::Method::Get));
}

#[tokio::test]
async fn apns2_registrations_as_recorded() {
    let (recorder, core) = client();
    answer(&recorder, 200, MODIFIED);
    add::<AddChannels>(&core)
        .push_type(PushType::Apns2)
        .channels(["apns2_prod_channel_1", "apns2_prod_channel_2"])
        .device_id(D0)
        .topic(TOPIC)
        .environment(Environment::Production)
        .await
        .unwrap();
    answer(
        &recorder,
        200,
        r#"["apns2_dev_channel_2", "apns2_dev_channel_1", "apns2_channel_2", "apns2_channel_1"]"#,
    );
    let listed = add::<ListChannels>(&core)
        .push_type(PushType::Apns2)
        .device_id(D0)
        .topic(TOPIC)
        .await
        .unwrap();
    assert_eq!(listed.channels.len(), 4);
    assert_eq!(
        listed.channels[0], "apns2_dev_channel_2",
        "the service's order"
    );
    answer(&recorder, 200, REMOVED);
    add::<RemoveDevice>(&core)
        .push_type(PushType::Apns2)
        .device_id(D0)
        .topic(TOPIC)
        .await
        .unwrap();
    let requests = recorder.requests();
    let path = format!("/v2/push/sub-key/sub/devices-apns2/{D0}");
    assert_eq!(requests[0].path, path);
    assert_eq!(
        query(&requests[0]),
        [
            ("environment", "production"),
            ("topic", TOPIC),
            ("add", "apns2_prod_channel_1,apns2_prod_channel_2")
        ]
    );
    assert_eq!(requests[1].path, path);
    assert_eq!(
        query(&requests[1]),
        [("environment", "development"), ("topic", TOPIC)],
        "development by default, no type on v2"
    );
    assert_eq!(requests[2].path, format!("{path}/remove"));
}

#[tokio::test]
async fn device_ids_are_path_segments_and_lists_page() {
    let (recorder, core) = client();
    for device in ["测试设备ID123456", "  1234567890ABCDEF  ", "a/b?c"] {
        answer(&recorder, 200, REMOVED);
        add::<RemoveDevice>(&core)
            .push_type(PushType::Apns)
            .device_id(device)
            .await
            .unwrap();
    }
    let paths: Vec<String> = recorder.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/push/sub-key/sub/devices/%E6%B5%8B%E8%AF%95%E8%AE%BE%E5%A4%87ID123456/remove",
            "/v1/push/sub-key/sub/devices/%20%201234567890ABCDEF%20%20/remove",
            "/v1/push/sub-key/sub/devices/a%2Fb%3Fc/remove",
        ]
    );
    answer(&recorder, 200, "[]");
    let listed = add::<ListChannels>(&core)
        .push_type(PushType::Fcm)
        .device_id(D0)
        .start("ch_4")
        .count(2)
        .await
        .unwrap();
    assert!(listed.channels.is_empty());
    let last = recorder.requests().pop().unwrap();
    assert_eq!(
        query(&last),
        [("type", "gcm"), ("start", "ch_4"), ("count", "2")]
    );
}

#[tokio::test]
async fn service_errors_are_typed() {
    let (recorder, core) = client();
    answer(&recorder, 400, r#"{"error": "Invalid device token"}"#);
    let error = add::<AddChannels>(&core)
        .push_type(PushType::Apns)
        .channels(["test_channel_1"])
        .device_id("device_id_should_be_16_characters_long")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 400 });
    assert!(error.message().contains("Invalid device token"), "{error}");
    answer(&recorder, 400, r#"{"error": "Invalid type argument"}"#);
    let error = add::<ListChannels>(&core)
        .push_type(PushType::Apns)
        .device_id(D0)
        .await
        .unwrap_err();
    assert!(error.message().contains("Invalid type argument"), "{error}");
    answer(
        &recorder,
        403,
        r#"{"message":"Forbidden","payload":{"channels":["a"]},"error":true,"service":"Access Manager","status":403}"#,
    );
    let error = add::<AddChannels>(&core)
        .push_type(PushType::Fcm)
        .channels(["a"])
        .device_id(D0)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    // A list that is not a list of names is a decode error, never a panic.
    for body in [r#"{"status":200}"#, "[1, 2]", "not json"] {
        answer(&recorder, 200, body);
        let error = add::<ListChannels>(&core)
            .push_type(PushType::Fcm)
            .device_id(D0)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{body}");
    }
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let (recorder, core) = client();
    let many: Vec<String> = (0..2_000)
        .map(|n| format!("a_rather_long_channel_name_{n}"))
        .collect();
    let cases: Vec<(&str, RequestBuilder<PushOp<AddChannels>>)> = vec![
        ("no push type", add(&core).channels(["a"]).device_id(D0)),
        (
            "no device",
            add(&core).push_type(PushType::Fcm).channels(["a"]),
        ),
        (
            "blank device",
            add(&core)
                .push_type(PushType::Fcm)
                .channels(["a"])
                .device_id("  "),
        ),
        (
            "control",
            add(&core)
                .push_type(PushType::Fcm)
                .channels(["a"])
                .device_id("a\nb"),
        ),
        (
            "no channels",
            add(&core).push_type(PushType::Fcm).device_id(D0),
        ),
        (
            "empty channel",
            add(&core)
                .push_type(PushType::Fcm)
                .channels([""])
                .device_id(D0),
        ),
        (
            "comma",
            add(&core)
                .push_type(PushType::Fcm)
                .channels(["a,b"])
                .device_id(D0),
        ),
        (
            "wildcard",
            add(&core)
                .push_type(PushType::Fcm)
                .channels(["a.*"])
                .device_id(D0),
        ),
        (
            "presence",
            add(&core)
                .push_type(PushType::Fcm)
                .channels(["a-pnpres"])
                .device_id(D0),
        ),
        (
            "too many",
            add(&core)
                .push_type(PushType::Fcm)
                .channels(many.clone())
                .device_id(D0),
        ),
        (
            "apns2 without topic",
            add(&core)
                .push_type(PushType::Apns2)
                .channels(["a"])
                .device_id(D0),
        ),
        (
            "topic with a space",
            add(&core)
                .push_type(PushType::Apns2)
                .channels(["a"])
                .device_id(D0)
                .topic("com.example app"),
        ),
    ];
    for (case, request) in cases {
        let error = request.await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{case}: {error}");
    }
    for count in [0, MAX_LIST_COUNT + 1] {
        let error = add::<ListChannels>(&core)
            .push_type(PushType::Fcm)
            .device_id(D0)
            .count(count)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    }
    assert!(recorder.requests().is_empty());
    // The 100 channels the service took in one recorded call go.
    answer(&recorder, 200, MODIFIED);
    let hundred: Vec<String> = (0..100).map(|n| format!("max_channel_{n}")).collect();
    add::<RemoveChannels>(&core)
        .push_type(PushType::Apns)
        .channels(hundred)
        .device_id(D0)
        .await
        .unwrap();
}

// --- payloads -------------------------------------------------------------------------------

#[test]
fn apns2_and_fcm_as_the_js_sdk_builds_them() {
    let payload = PushPayload::new("title", "body")
        .apns2(Apns2Configuration::new([ApnsTarget::new("com.test.app")]));
    assert_eq!(
        payload.build([PushType::Apns2, PushType::Fcm]).unwrap(),
        json!({
            "pn_apns": {
                "aps": {"alert": {"title": "title", "body": "body"}},
                "pn_push": [{
                    "auth_method": "token",
                    "targets": [{"environment": "development", "topic": "com.test.app"}],
                    "version": "v2"
                }]
            },
            "pn_fcm": {"notification": {"title": "title", "body": "body"}}
        })
    );
}

#[test]
fn the_documented_apns_and_fcm_examples() {
    // "pn_apns": {"aps": {"alert": "hi", "badge": 2, "sound": "melody"}, "pn_other": …} is
    // the legacy form; the builder writes the alert as a dictionary.
    let legacy = PushPayload::new("", "hi")
        .badge(2)
        .sound("melody")
        .apns_field("pn_other", json!({"additional": "fields"}))
        .build([PushType::Apns])
        .unwrap();
    assert_eq!(
        legacy,
        json!({"pn_apns": {
            "aps": {"alert": {"body": "hi"}, "badge": 2, "sound": "melody"},
            "pn_other": {"additional": "fields"}
        }})
    );
    // The FCM payload of "check FCM payload".
    let fcm = PushPayload::new("Portugal vs Denmark", "great match!")
        .fcm_data("room", json!("Portugal vs Denmark"))
        .fcm_data("body", json!("great match!"))
        .build([PushType::Fcm])
        .unwrap();
    assert_eq!(
        fcm,
        json!({"pn_fcm": {
            "notification": {"title": "Portugal vs Denmark", "body": "great match!"},
            "data": {"room": "Portugal vs Denmark", "body": "great match!"}
        }})
    );
}

#[test]
fn full_silent_and_debug_payloads() {
    let full = PushPayload::new("t", "b")
        .subtitle("s")
        .badge(26)
        .sound("default")
        .icon("ic")
        .tag("tg")
        .image("https://example.com/i.png")
        .apns2(
            Apns2Configuration::new([ApnsTarget::new("com.a")
                .environment(Environment::Production)
                .excluded_devices(["d1"])])
            .collapse_id("c")
            .expiration("2026-12-31T23:59:59Z"),
        )
        .debug(true)
        .message(json!({"text": "hello"}))
        .build([PushType::Apns2, PushType::Fcm])
        .unwrap();
    assert_eq!(
        full,
        json!({
            "text": "hello",
            "pn_apns": {
                "aps": {"alert": {"title": "t", "subtitle": "s", "body": "b"}, "badge": 26, "sound": "default"},
                "pn_push": [{
                    "auth_method": "token",
                    "targets": [{"environment": "production", "topic": "com.a", "excluded_devices": ["d1"]}],
                    "version": "v2",
                    "collapse_id": "c",
                    "expiration": "2026-12-31T23:59:59Z"
                }]
            },
            "pn_fcm": {
                "notification": {"title": "t", "body": "b", "image": "https://example.com/i.png"},
                "android": {"notification": {"sound": "default", "icon": "ic", "tag": "tg"}}
            },
            "pn_debug": true
        })
    );
    // Silent: APNs' content-available without alert, badge or sound; FCM's notification in data.
    let silent = PushPayload::new("t", "b")
        .badge(1)
        .sound("s")
        .silent(true)
        .build([PushType::Apns, PushType::Fcm])
        .unwrap();
    assert_eq!(
        silent,
        json!({
            "pn_apns": {"aps": {"content-available": 1}},
            "pn_fcm": {"data": {"notification": {"title": "t", "body": "b"}}, "android": {"notification": {"sound": "s"}}}
        })
    );
}

#[test]
fn empty_and_invalid_payloads() {
    // Nothing to show: no push part, and no pn_debug either.
    let empty = PushPayload::new("", "").debug(true).message(json!("plain"));
    assert_eq!(
        empty.build([PushType::Apns, PushType::Fcm]).unwrap(),
        json!({"message": "plain"})
    );
    let invalid = [
        PushPayload::new("t", "b").build([]),
        PushPayload::new("t", "b").build([PushType::Apns2]),
        PushPayload::new("t", "b")
            .apns2(Apns2Configuration::new([]))
            .build([PushType::Apns2]),
        PushPayload::new("t", "b")
            .apns2(Apns2Configuration::new([ApnsTarget::new(" ")]))
            .build([PushType::Apns2]),
        PushPayload::new("t", "b").build([PushType::Mpns]),
        PushPayload::new("t", "b")
            .message(json!({"pn_fcm": {}}))
            .build([PushType::Fcm]),
    ];
    for result in invalid {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}

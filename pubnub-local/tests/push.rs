//! Mobile push over HTTP (PROTOCOL.md §21): the registration calls answer byte for byte what
//! the service answered in PubNub's Python SDK recordings (the same requests, in the same
//! order), the recorded errors and this server's own, the stores kept apart, list pages, Access
//! Manager and faults; then the outbox of what published messages would push, over the handle
//! and `/__push/outbox`, and the `pn_debug` reports on `<channel>-pndebug`. PubNub's Python SDK
//! drives the registrations in `interop/push.py`.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{answer, client, get, handshake, post, server, Answer};
use hmac::{KeyInit, Mac};
use pubnub_local::{Endpoint, Fault, PushEnvironment, PushType, Server, ServerHandle, Timetoken};
use serde_json::{json, Value};

const MC: &str = r#"[1, "Modified Channels"]"#;
const RD: &str = r#"[1, "Removed Device"]"#;
const D0: &str = "0000000000000000";
const TOPIC: &str = "com.example.testapp.notifications";

/// `/v1/push/sub-key/demo/devices/{device}{rest}` with `uuid=test-uuid` last, as recorded.
fn v1(device: &str, rest: &str) -> String {
    let sep = if rest.contains('?') { '&' } else { '?' };
    format!("/v1/push/sub-key/demo/devices/{device}{rest}{sep}uuid=test-uuid")
}

/// `/v2/push/sub-key/demo/devices-apns2/{device}{rest}`.
fn v2(device: &str, rest: &str) -> String {
    let sep = if rest.contains('?') { '&' } else { '?' };
    format!("/v2/push/sub-key/demo/devices-apns2/{device}{rest}{sep}uuid=test-uuid")
}

/// Asserts the exact answer: status, body, length and content type.
async fn exchange(server: &ServerHandle, path: &str, status: u16, body: &str) -> Answer {
    let answer = get(server, path).await;
    assert_eq!(
        (answer.status, answer.text.as_str()),
        (status, body),
        "{path}"
    );
    assert_eq!(
        answer.headers["content-type"],
        r#"text/javascript; charset="UTF-8""#
    );
    assert_eq!(
        answer.headers["content-length"],
        body.len().to_string().as_str()
    );
    answer
}

async fn ok(server: &ServerHandle, path: &str, body: &str) {
    exchange(server, path, 200, body).await;
}

#[tokio::test]
async fn v1_registrations_answer_as_recorded() {
    let server = server().await;
    // add_channels_to_push/apns_basic_success, gcm_basic_success, special_characters.
    ok(
        &server,
        &v1(D0, "?add=test_channel_1%2Ctest_channel_2&type=apns"),
        MC,
    )
    .await;
    ok(
        &server,
        &v1(D0, "?add=gcm_channel_1%2Cgcm_channel_2&type=gcm"),
        MC,
    )
    .await;
    ok(
        &server,
        &v1(
            D0,
            "?add=channel-with-dash%2Cchannel_with_underscore%2Cchannel.with.dots&type=apns",
        ),
        MC,
    )
    .await;
    // list_push_channels/gcm_basic_success (CL 34), mpns_basic_success (CL 2).
    ok(
        &server,
        &v1(D0, "?type=gcm"),
        r#"["gcm_channel_1", "gcm_channel_2"]"#,
    )
    .await;
    ok(&server, &v1(D0, "?type=mpns"), "[]").await;
    ok(
        &server,
        &v1(D0, "?type=apns"),
        r#"["channel-with-dash", "channel.with.dots", "channel_with_underscore", "test_channel_1", "test_channel_2"]"#,
    )
    .await;
    // list_push_channels/after_mixed_operations, on a fresh device.
    let d = "1111111111111111";
    ok(&server, &v1(d, "?add=ch_1%2Cch_2%2Cch_3&type=apns"), MC).await;
    ok(&server, &v1(d, "?remove=ch_2&type=apns"), MC).await;
    ok(&server, &v1(d, "?add=ch_4%2Cch_5&type=apns"), MC).await;
    ok(&server, &v1(d, "?remove=ch_1&type=apns"), MC).await;
    let answer = exchange(
        &server,
        &v1(d, "?type=apns"),
        200,
        r#"["ch_3", "ch_4", "ch_5"]"#,
    )
    .await;
    assert_eq!(answer.headers["access-control-allow-origin"], "*");
    // remove_channels_from_push: duplicates, channels never added, 100 at once.
    ok(
        &server,
        &v1(
            D0,
            "?remove=duplicate_channel%2Cduplicate_channel%2Cunique_channel%2Cduplicate_channel&type=apns",
        ),
        MC,
    )
    .await;
    ok(
        &server,
        &v1(
            D0,
            "?remove=nonexistent_channel_1%2Cnonexistent_channel_2&type=apns",
        ),
        MC,
    )
    .await;
    let hundred: Vec<String> = (0..100).map(|i| format!("max_channel_{i}")).collect();
    let list = hundred.join("%2C");
    ok(&server, &v1(D0, &format!("?add={list}&type=gcm")), MC).await;
    let listed = get(&server, &v1(D0, "?type=gcm")).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 102);
    ok(&server, &v1(D0, &format!("?remove={list}&type=gcm")), MC).await;
    ok(
        &server,
        &v1(D0, "?type=gcm"),
        r#"["gcm_channel_1", "gcm_channel_2"]"#,
    )
    .await;
    // remove_device_from_push: apns only; gcm stays; then the list is empty.
    ok(&server, &v1(D0, "/remove?type=apns"), RD).await;
    ok(&server, &v1(D0, "?type=apns"), "[]").await;
    ok(
        &server,
        &v1(D0, "?type=gcm"),
        r#"["gcm_channel_1", "gcm_channel_2"]"#,
    )
    .await;
    // nonexistent_device, multiple_rapid_removals, case_sensitive_device_id, mpns.
    ok(
        &server,
        &v1("nonexistent_device_123", "/remove?type=apns"),
        RD,
    )
    .await;
    for _ in 0..3 {
        ok(&server, &v1(D0, "/remove?type=apns"), RD).await;
    }
    ok(&server, &v1("abcdef1234567890", "?add=lower&type=apns"), MC).await;
    ok(&server, &v1("ABCDEF1234567890", "?add=upper&type=apns"), MC).await;
    ok(
        &server,
        &v1("abcdef1234567890", "?type=apns"),
        r#"["lower"]"#,
    )
    .await;
    ok(&server, &v1("ABCDEF1234567890", "/remove?type=apns"), RD).await;
    ok(
        &server,
        &v1("abcdef1234567890", "?type=apns"),
        r#"["lower"]"#,
    )
    .await;
    ok(
        &server,
        &v1(D0, "?remove=mpns_remove_channel_1&type=mpns"),
        MC,
    )
    .await;
    ok(&server, &v1(D0, "/remove?type=mpns"), RD).await;
}

#[tokio::test]
async fn tokens_are_decoded_and_kept_as_sent() {
    let server = server().await;
    // unicode_device_id and whitespace_device_id: percent-encoded path segments.
    let unicode = "%E6%B5%8B%E8%AF%95%E8%AE%BE%E5%A4%87ID123456";
    let spaces = "%20%201234567890ABCDEF%20%20";
    ok(&server, &v1(unicode, "?remove=test_channel&type=apns"), MC).await;
    ok(&server, &v1(unicode, "/remove?type=apns"), RD).await;
    ok(&server, &v1(spaces, "/remove?type=apns"), RD).await;
    // FCM tokens are not hex; the same token decoded twice names one device.
    ok(&server, &v1(unicode, "?add=u1&type=gcm"), MC).await;
    ok(
        &server,
        &v1(
            "%E6%B5%8B%E8%AF%95%E8%AE%BE%E5%A4%87ID%31%323456",
            "?type=gcm",
        ),
        r#"["u1"]"#,
    )
    .await;
    ok(&server, &v1(spaces, "?add=s1&type=fcm"), MC).await;
    ok(&server, &v1(spaces, "?type=gcm"), r#"["s1"]"#).await;
    ok(&server, &v1("1234567890ABCDEF", "?type=gcm"), "[]").await;
    // Non-ASCII channel names come back escaped, as json.dumps writes them.
    ok(&server, &v1("t", "?add=%E6%B5%8B&type=gcm"), MC).await;
    ok(&server, &v1("t", "?type=gcm"), r#"["\u6d4b"]"#).await;
    // The registration is the token decoded: the hub sees the same.
    let device = pubnub_local::PushDevice::V1 {
        gateway: pubnub_local::PushGateway::Fcm,
        token: "  1234567890ABCDEF  ".into(),
    };
    assert_eq!(server.hub().push_channels("demo", &device), ["s1"]);
}

#[tokio::test]
async fn apns2_registrations_are_per_topic_and_environment() {
    let server = server().await;
    let dev = format!("environment=development&topic={TOPIC}");
    let prod = format!("environment=production&topic={TOPIC}");
    // add_channels_to_push/apns2_development_environment, apns2_production_environment.
    ok(
        &server,
        &v2(
            D0,
            &format!("?add=apns2_dev_channel_1%2Capns2_dev_channel_2&{dev}"),
        ),
        MC,
    )
    .await;
    ok(
        &server,
        &v2(
            D0,
            &format!("?add=apns2_prod_channel_1%2Capns2_prod_channel_2&{prod}"),
        ),
        MC,
    )
    .await;
    ok(
        &server,
        &v2(D0, &format!("?{dev}")),
        r#"["apns2_dev_channel_1", "apns2_dev_channel_2"]"#,
    )
    .await;
    ok(
        &server,
        &v2(D0, &format!("?{prod}")),
        r#"["apns2_prod_channel_1", "apns2_prod_channel_2"]"#,
    )
    .await;
    // No environment is development; JavaScript's `type=apns2` is ignored.
    ok(
        &server,
        &v2(D0, &format!("?topic={TOPIC}&type=apns2")),
        r#"["apns2_dev_channel_1", "apns2_dev_channel_2"]"#,
    )
    .await;
    // apns2_topic_validation: each topic its own list.
    for topic in [
        "com.example.app",
        "com.example-app.notifications",
        "com.example_app.notifications",
        "com.EXAMPLE.APP.NOTIFICATIONS",
        "com.example.app.notifications-dev",
    ] {
        let q = format!("environment=development&topic={topic}");
        ok(
            &server,
            &v2(D0, &format!("?add=apns2_topic_test_channel&{q}")),
            MC,
        )
        .await;
        ok(
            &server,
            &v2(D0, &format!("?{q}")),
            r#"["apns2_topic_test_channel"]"#,
        )
        .await;
    }
    // v1 and v2 are separate stores.
    ok(&server, &v1(D0, "?type=apns"), "[]").await;
    // apns2_cross_environment_removal.
    ok(
        &server,
        &v2(
            D0,
            &format!("?add=cross_env_channel_1%2Ccross_env_channel_2&{dev}"),
        ),
        MC,
    )
    .await;
    ok(
        &server,
        &v2(
            D0,
            &format!("?add=cross_env_channel_1%2Ccross_env_channel_2&{prod}"),
        ),
        MC,
    )
    .await;
    ok(&server, &v2(D0, &format!("/remove?{dev}")), RD).await;
    ok(&server, &v2(D0, &format!("?{dev}")), "[]").await;
    ok(
        &server,
        &v2(D0, &format!("?{prod}")),
        r#"["apns2_prod_channel_1", "apns2_prod_channel_2", "cross_env_channel_1", "cross_env_channel_2"]"#,
    )
    .await;
    // apns2_basic_success remove: channels never added.
    ok(
        &server,
        &v2(
            D0,
            &format!("?{dev}&remove=apns2_remove_channel_1%2Capns2_remove_channel_2"),
        ),
        MC,
    )
    .await;
    // APNs2 tokens are not checked (only legacy APNs adds are recorded refused).
    ok(&server, &v2("not-hex", &format!("?add=x&{dev}")), MC).await;
}

#[tokio::test]
async fn errors_as_recorded_and_this_servers_own() {
    let server = server().await;
    let type_error = r#"{"error": "Invalid type argument"}"#;
    // invalid_push_type_error (add, list, remove, remove device), and unknown types.
    for rest in [
        "?add=test_channel_1",
        "",
        "?remove=test_channel_1",
        "/remove",
        "?add=a&type=foo",
        "?type=",
        "?type=apns2",
        "?type=GCM",
    ] {
        exchange(&server, &v1(D0, rest), 400, type_error).await;
    }
    // invalid_device_id_error: not hex, added as APNs (CL 33). Removes and lists take it.
    let bad = "device_id_should_be_16_characters_long";
    let token_error = r#"{"error": "Invalid device token"}"#;
    exchange(
        &server,
        &v1(bad, "?add=test_channel_1%2Ctest_channel_2&type=apns"),
        400,
        token_error,
    )
    .await;
    ok(&server, &v1(bad, "?type=apns"), "[]").await;
    ok(&server, &v1(bad, "?remove=x&type=apns"), MC).await;
    ok(&server, &v1(bad, "?add=x&type=gcm"), MC).await;
    exchange(&server, &v1("%FF", "?type=gcm"), 400, token_error).await;
    // v2 without a topic, with an unknown environment.
    for rest in ["?add=a", "?topic=&add=a", "/remove?environment=development"] {
        exchange(
            &server,
            &v2(D0, rest),
            400,
            r#"{"error": "Missing topic argument"}"#,
        )
        .await;
    }
    exchange(
        &server,
        &v2(D0, "?topic=t&environment=staging"),
        400,
        r#"{"error": "Invalid environment argument"}"#,
    )
    .await;
    // Names publish refuses; nothing of the call is applied.
    for (add, why) in [
        ("a%20b", "reserved character ' '"),
        ("news.*", "wildcard"),
        ("c-pnpres", "presence"),
        (&"x".repeat(93), "longer than 92"),
    ] {
        let answer = get(&server, &v1(D0, &format!("?add=ok,{add}&type=gcm"))).await;
        assert_eq!(answer.status, 400, "{add}");
        let text = answer.json()["error"].as_str().unwrap().to_string();
        assert!(
            text.starts_with("Invalid channel name") && text.contains(why),
            "{text}"
        );
    }
    ok(&server, &v1(D0, "?type=gcm"), "[]").await;
    // Empty names in a list are dropped, as in channel lists everywhere.
    ok(&server, &v1(D0, "?add=a,,b,&type=gcm"), MC).await;
    ok(&server, &v1(D0, "?type=gcm"), r#"["a", "b"]"#).await;
    // Only GET; unknown paths.
    let post = post(&server, &v1(D0, "?type=gcm"), Vec::new()).await;
    assert_eq!(post.status, 405);
    assert_eq!(
        get(&server, "/v1/push/sub-key/demo/devices/").await.status,
        404
    );
    // Keys not allowed.
    let closed = common::builder()
        .allowed_keys(["open"])
        .start()
        .await
        .unwrap();
    let refused = get(&closed, &v1(D0, "?type=gcm")).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["message"], json!("Invalid Subscribe Key"));
}

#[tokio::test]
async fn fcm_and_gcm_are_one_store_and_keys_are_apart() {
    let server = server().await;
    ok(&server, &v1("tok", "?add=a&type=fcm"), MC).await;
    ok(&server, &v1("tok", "?add=b&type=gcm"), MC).await;
    ok(&server, &v1("tok", "?type=fcm"), r#"["a", "b"]"#).await;
    ok(&server, &v1("tok", "?type=apns"), "[]").await;
    ok(&server, &v1("tok", "/remove?type=fcm"), RD).await;
    ok(&server, &v1("tok", "?type=gcm"), "[]").await;
    ok(&server, &v1("tok", "?add=a&type=gcm"), MC).await;
    let other = "/v1/push/sub-key/other/devices/tok?type=gcm";
    ok(&server, other, "[]").await;
}

#[tokio::test]
async fn lists_page_with_start_and_count() {
    let server = server().await;
    let names: Vec<String> = (0..1200).map(|i| format!("ch-{i:04}")).collect();
    for chunk in names.chunks(600) {
        ok(
            &server,
            &v1("pager", &format!("?add={}&type=gcm", chunk.join(","))),
            MC,
        )
        .await;
    }
    let page = |query: String| {
        let server = server.clone();
        async move {
            let body = get(&server, &v1("pager", &format!("?type=gcm{query}")))
                .await
                .json();
            body.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let first = page(String::new()).await;
    assert_eq!(first, names[..500], "500 by default, sorted");
    assert_eq!(page("&count=5000".into()).await.len(), 1000, "at most 1000");
    assert_eq!(page("&count=0".into()).await.len(), 500);
    // Walk it: `start` is the last channel of the previous page.
    let mut all = Vec::new();
    let mut start = String::new();
    loop {
        let got = page(format!("&count=450&start={start}")).await;
        if got.is_empty() {
            break;
        }
        start = got.last().unwrap().clone();
        all.extend(got);
    }
    assert_eq!(all, names);
    // JavaScript may send start and count on an add: ignored there.
    ok(
        &server,
        &v1("pager", "?add=zz&type=gcm&start=a&count=1"),
        MC,
    )
    .await;
    assert_eq!(page("&start=ch-1199".into()).await, ["zz"]);
}

fn publish_path(channel: &str, message: &Value) -> String {
    let text = message.to_string();
    let mut encoded = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("/publish/demo/demo/0/{channel}/0/{encoded}?uuid=pusher")
}

async fn publish(server: &ServerHandle, channel: &str, message: &Value) -> Timetoken {
    let answer = get(server, &publish_path(channel, message)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    Timetoken(answer.json()[2].as_str().unwrap().parse().unwrap())
}

#[tokio::test]
async fn published_pushes_land_in_the_outbox() {
    let server = server().await;
    ok(&server, &v1("fcm-token", "?add=chat&type=gcm"), MC).await;
    ok(&server, &v1("abcdef01", "?add=chat&type=apns"), MC).await;
    let prod = format!("environment=production&topic={TOPIC}");
    let dev = format!("environment=development&topic={TOPIC}");
    ok(
        &server,
        &v2("prod-device", &format!("?add=chat&{prod}")),
        MC,
    )
    .await;
    ok(&server, &v2("dev-device", &format!("?add=chat&{dev}")), MC).await;
    ok(&server, &v2("excluded", &format!("?add=chat&{dev}")), MC).await;

    // No pn_* part: nothing.
    publish(&server, "chat", &json!({"text": "hello"})).await;
    assert!(server.push_outbox().is_empty());

    // FCM: the pn_fcm object, to the FCM device only.
    let fcm = json!({"notification": {"title": "Portugal vs Denmark", "body": "great match!"}});
    let tt = publish(&server, "chat", &json!({"text": "hi", "pn_fcm": fcm})).await;
    let outbox = server.push_outbox();
    assert_eq!(outbox.len(), 1);
    let n = &outbox[0];
    assert_eq!(
        (
            n.push_type,
            n.token.as_str(),
            n.channel.as_str(),
            n.timetoken
        ),
        (PushType::Fcm, "fcm-token", "chat", tt)
    );
    assert_eq!((&n.topic, n.environment), (&None, None));
    assert_eq!(n.payload, fcm);
    server.clear_push_outbox();

    // APNs2 for development: the production device gets nothing, `excluded` is excluded,
    // the device gets pn_apns without pn_push; legacy APNs gets nothing with pn_push.
    let message = json!({"pn_apns": {
        "aps": {"alert": "hello world"}, "room": "chat",
        "pn_push": [{"auth_method": "token", "version": "v2",
                     "targets": [{"environment": "development", "topic": TOPIC,
                                  "excluded_devices": ["excluded"]}]}]}});
    publish(&server, "chat", &message).await;
    let outbox = server.push_outbox();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    let n = &outbox[0];
    assert_eq!(
        (n.push_type, n.token.as_str()),
        (PushType::Apns2, "dev-device")
    );
    assert_eq!(
        (n.topic.as_deref(), n.environment),
        (Some(TOPIC), Some(PushEnvironment::Development))
    );
    assert_eq!(
        n.payload,
        json!({"aps": {"alert": "hello world"}, "room": "chat"})
    );
    server.clear_push_outbox();

    // Legacy APNs (no pn_push), by POST; a signal and fire push nothing.
    let legacy = json!({"pn_apns": {"aps": {"alert": "hi", "badge": 2}}});
    let posted = post(
        &server,
        "/publish/demo/demo/0/chat/0?uuid=p",
        legacy.to_string().into_bytes(),
    )
    .await;
    assert_eq!(posted.status, 200, "{}", posted.text);
    let signal = format!(
        "/signal/demo/demo/0/chat/0/{}",
        "%7B%22pn_fcm%22%3A%7B%7D%7D"
    );
    assert_eq!(get(&server, &signal).await.status, 200);
    let fire = format!(
        "{}&store=0&norep=true",
        publish_path("chat", &json!({"pn_fcm": {}}))
    );
    assert_eq!(get(&server, &fire).await.status, 200);
    let outbox = server.push_outbox();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(
        (outbox[0].push_type, outbox[0].token.as_str()),
        (PushType::Apns, "abcdef01")
    );
    assert_eq!(
        outbox[0].payload,
        json!({"aps": {"alert": "hi", "badge": 2}})
    );

    // Over HTTP: the same records; DELETE forgets them.
    let listed = get(&server, "/__push/outbox").await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.json(),
        json!({"status": 200, "notifications": [{
            "sub_key": "demo", "channel": "chat", "timetoken": outbox[0].timetoken.to_string(),
            "push_type": "apns", "token": "abcdef01",
            "payload": {"aps": {"alert": "hi", "badge": 2}}}]})
    );
    publish(&server, "chat", &message).await;
    let listed = get(&server, "/__push/outbox").await.json();
    assert_eq!(listed["notifications"][1]["topic"], json!(TOPIC));
    assert_eq!(
        listed["notifications"][1]["environment"],
        json!("development")
    );
    let cleared = client()
        .delete(format!("{}/__push/outbox", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer(cleared).await.json(),
        json!({"status": 200, "message": "OK"})
    );
    assert!(server.push_outbox().is_empty());
}

#[tokio::test]
async fn pn_debug_reports_reach_a_pndebug_subscriber() {
    let server = server().await;
    ok(&server, &v1("fcm-1", "?add=game&type=gcm"), MC).await;
    ok(
        &server,
        &v2("apns-1", &format!("?add=game&topic={TOPIC}")),
        MC,
    )
    .await;
    let cursor = handshake(&server, "game-pndebug", "uuid=debugger").await;
    let message = json!({
        "pn_debug": true,
        "pn_fcm": {"data": {"message": "hello"}},
        "pn_apns": {"aps": {"alert": "hello"},
                    "pn_push": [{"push_type": "alert", "auth_method": "token", "version": "v2",
                                 "targets": [{"environment": "development", "topic": TOPIC}]}]},
    });
    let tt = publish(&server, "game", &message).await;
    let body = get(
        &server,
        &format!("/v2/subscribe/demo/game-pndebug/0?tt={cursor}&uuid=debugger"),
    )
    .await
    .json();
    let texts: Vec<&str> = body["m"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["c"], json!("game-pndebug"));
            assert_eq!(m["i"], json!("pubnub-push-debug"));
            m["d"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        texts,
        [
            "Devices found for push notification apns: 0 apns2: 1 gcm: 1".to_string(),
            "Registered devices for apns2: ['apns-1']".to_string(),
            "Registered devices for gcm: ['fcm-1']".to_string(),
            format!(
                "Completed APNS2 push job timetoken: {tt} expected: 1 sent: 1 removed: 0 errored 0"
            ),
            format!(
                "Completed GCM push job timetoken: {tt} expected: 1 sent: 1 removed: 0 errored 0"
            ),
        ]
    );
    assert_eq!(server.push_outbox().len(), 2);
}

#[tokio::test]
async fn push_faults_and_the_in_memory_server() {
    let server = server().await;
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::Push));
    let failed = get(&server, &v1(D0, "?add=a&type=gcm")).await;
    assert_eq!(failed.status, 503);
    assert_eq!(failed.json()["service"], json!("Push"));
    ok(&server, &v1(D0, "?type=gcm"), "[]").await;

    let memory = Server::builder().build_in_memory();
    let hub = memory.hub();
    let device = pubnub_local::PushDevice::V1 {
        gateway: pubnub_local::PushGateway::Fcm,
        token: "t".into(),
    };
    hub.push_modify("k", &device, &[], &["c".to_string()])
        .unwrap();
    hub.publish(
        "k",
        pubnub_local::hub::Publish::message("c", json!({"pn_gcm": {"a": 1}})),
    )
    .unwrap();
    assert_eq!(memory.push_outbox()[0].payload, json!({"a": 1}));
    memory.clear_push_outbox();
    assert!(memory.push_outbox().is_empty());
}

const SECRET: &str = "sec-c-push";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `path?query` signed v2 with the publish key `demo` (the values must need no encoding).
fn signed(method: &str, path: &str, query: &str, body: &str) -> String {
    let query = format!("{query}&timestamp={}", now());
    let mut pairs: Vec<&str> = query.split('&').collect();
    pairs.sort();
    let sorted = pairs.join("&");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{method}\ndemo\n{path}\n{sorted}\n{body}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{path}?{query}&signature=v2.{signature}")
}

#[tokio::test]
async fn access_manager_needs_read_on_the_channels_registered() {
    let server = common::builder()
        .secret_key(SECRET)
        .publish_key("demo")
        .start()
        .await
        .unwrap();
    let body = json!({"ttl": 5, "permissions": {"resources": {"channels": {"mine": 1, "w": 2}}}})
        .to_string();
    let granted = post(
        &server,
        &signed("POST", "/v3/pam/demo/grant", "uuid=admin", &body),
        body.clone().into_bytes(),
    )
    .await;
    let token = granted.json()["data"]["token"]
        .as_str()
        .unwrap()
        .replace('=', "%3D");
    let path = "/v1/push/sub-key/demo/devices/tok";
    // Without a token, nothing; with one, read on every channel added or removed.
    let none = get(&server, &format!("{path}?type=gcm&uuid=u")).await;
    assert_eq!(none.status, 403);
    ok(
        &server,
        &format!("{path}?add=mine&type=gcm&uuid=u&auth={token}"),
        MC,
    )
    .await;
    let refused = get(
        &server,
        &format!("{path}?add=mine,w&type=gcm&uuid=u&auth={token}"),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["payload"], json!({"channels": ["w"]}));
    let refused = get(
        &server,
        &format!("{path}?remove=other&type=gcm&uuid=u&auth={token}"),
    )
    .await;
    assert_eq!(refused.status, 403);
    // Listing and removing the device name no channel: any valid token.
    ok(
        &server,
        &format!("{path}?type=gcm&uuid=u&auth={token}"),
        r#"["mine"]"#,
    )
    .await;
    // A signed request may do anything.
    ok(
        &server,
        &signed("GET", path, "add=other&type=gcm&uuid=admin", ""),
        MC,
    )
    .await;
    ok(
        &server,
        &signed("GET", &format!("{path}/remove"), "type=gcm&uuid=admin", ""),
        RD,
    )
    .await;
    // The outbox is this server's, outside Access Manager.
    assert_eq!(get(&server, "/__push/outbox").await.status, 200);
}

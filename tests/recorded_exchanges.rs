//! Recorded exchanges: for each request kind, the exact request the SDK sends for fixed inputs
//! (method, path, every query parameter in order, body) and the parse of a realistic answer.
//!
//! The answers are shaped like the service's recorded ones (PROTOCOL.md, the Python SDK's VCR
//! fixtures, the Swift SDK's response fixtures). A change to what goes on the wire, or to how an
//! answer is read, is a visible diff here. Only `requestid` is masked: it is random, and each
//! test checks that it is there.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{ErrorKind, StatusCategory, SubscriptionOptions};
use serde_json::json;
use support::{Recorded, Reply, TestServer};

/// What every request starts with: `pnsdk`, the random `requestid` (masked), `uuid`.
const COMMON: &str = concat!(
    "pnsdk=PubNub-Engine-Rust%2F",
    env!("CARGO_PKG_VERSION"),
    "&requestid=*&uuid=user-1"
);
const SENT: &str = r#"[1,"Sent","17000000000000001"]"#;

/// The only request so far, after checking its `requestid`.
fn only(server: &TestServer) -> Recorded {
    let request = server.only();
    assert_request_id(&request);
    request
}

fn assert_request_id(request: &Recorded) {
    // A fresh random id per request (other SDKs send a UUID; the service does not read it).
    let id = request.param("requestid").expect("a requestid");
    assert!(
        id.len() >= 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
}

/// Method, path, masked query and body of `request`.
fn exchange(request: &Recorded) -> (String, String, String, String) {
    (
        request.method.clone(),
        request.path.clone(),
        request.masked_query(),
        String::from_utf8(request.body.clone()).unwrap(),
    )
}

fn expect(method: &str, path: &str, query: &str, body: &str) -> (String, String, String, String) {
    (method.into(), path.into(), query.into(), body.into())
}

#[tokio::test]
async fn publish_get() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, SENT));
    let sent = server
        .client()
        .publish()
        .channel("café")
        .message(&json!({"text": "hi & bye", "n": 1}))
        .meta(&json!({"lang": "en"}))
        .custom_message_type("chat-msg")
        .should_store(true)
        .ttl(24)
        .await
        .unwrap();
    assert_eq!(sent.timetoken, 17_000_000_000_000_001);
    assert_eq!(
        exchange(&only(&server)),
        expect(
            "GET",
            "/publish/pub-key/sub-key/0/caf%C3%A9/0/\
             %7B%22n%22%3A1%2C%22text%22%3A%22hi%20%26%20bye%22%7D",
            &format!(
                "{COMMON}&store=1&ttl=24&meta=%7B%22lang%22%3A%22en%22%7D\
                 &custom_message_type=chat-msg&seqn=1"
            ),
            "",
        )
    );
}

#[tokio::test]
async fn publish_post() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, SENT));
    let sent = server
        .client()
        .publish()
        .channel("chat")
        .message(&json!({"text": "a&b /?#"}))
        .use_post(true)
        .await
        .unwrap();
    assert_eq!(sent.timetoken, 17_000_000_000_000_001);
    let request = only(&server);
    assert_eq!(
        exchange(&request),
        expect(
            "POST",
            "/publish/pub-key/sub-key/0/chat/0",
            &format!("{COMMON}&seqn=1"),
            r#"{"text":"a&b /?#"}"#,
        )
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn ttl_follows_the_services_rules() {
    let server = TestServer::start().await;
    server.fallback(Reply::json(200, SENT));
    let pubnub = server.client();
    // Not stored: the service ignores `ttl`, so it is not sent.
    pubnub
        .publish()
        .channel("c")
        .message(&1)
        .should_store(false)
        .ttl(5)
        .await
        .unwrap();
    // Stored per the keyset: `ttl` is sent.
    pubnub
        .publish()
        .channel("c")
        .message(&2)
        .ttl(5)
        .await
        .unwrap();
    let queries: Vec<String> = server
        .requests()
        .iter()
        .map(Recorded::masked_query)
        .collect();
    assert_eq!(
        queries,
        [
            format!("{COMMON}&store=0&seqn=1"),
            format!("{COMMON}&ttl=5&seqn=2"),
        ]
    );
    // 0 means "no expiry" in some of PubNub's documents and "the keyset's retention" in
    // others: refused, and nothing is sent.
    let error = pubnub
        .publish()
        .channel("c")
        .message(&3)
        .should_store(true)
        .ttl(0)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn fire_get_and_post() {
    let server = TestServer::start().await;
    server.fallback(Reply::json(200, SENT));
    let pubnub = server.client();
    pubnub.fire().channel("chat").message(&5).await.unwrap();
    let sent = pubnub
        .fire()
        .channel("chat")
        .message(&json!(["a"]))
        .use_post(true)
        .await
        .unwrap();
    assert_eq!(sent.timetoken, 17_000_000_000_000_001);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    requests.iter().for_each(assert_request_id);
    assert_eq!(
        exchange(&requests[0]),
        expect(
            "GET",
            "/publish/pub-key/sub-key/0/chat/0/5",
            &format!("{COMMON}&store=0&norep=true&seqn=1"),
            "",
        )
    );
    assert_eq!(
        exchange(&requests[1]),
        expect(
            "POST",
            "/publish/pub-key/sub-key/0/chat/0",
            &format!("{COMMON}&store=0&norep=true&seqn=2"),
            r#"["a"]"#,
        )
    );
}

#[tokio::test]
async fn signal() {
    let server = TestServer::start().await;
    // Python recording `signal/*`: the same array as publish.
    server.push(Reply::json(200, r#"[1,"Sent","15640049765289377"]"#));
    let sent = server
        .client()
        .signal()
        .channel("chat")
        .message(&"typing")
        .custom_message_type("typing")
        .await
        .unwrap();
    assert_eq!(sent.timetoken, 15_640_049_765_289_377);
    assert_eq!(
        exchange(&only(&server)),
        expect(
            "GET",
            "/signal/pub-key/sub-key/0/chat/0/%22typing%22",
            &format!("{COMMON}&custom_message_type=typing"),
            "",
        )
    );
}

#[tokio::test]
async fn publish_errors_parse_as_the_service_sends_them() {
    let server = TestServer::start().await;
    // Python recordings `publish/invalid_key`, `publish/not_permitted` (2023).
    server.push(Reply::json(400, r#"[0,"Invalid Key","14820999375199241"]"#));
    server.push(Reply::json(
        403,
        r#"{"message":"Forbidden","payload":{"channels":["chat"]},"error":true,"service":"Access Manager","status":403}"#,
    ));
    let pubnub = server.client();
    let error = pubnub
        .publish()
        .channel("chat")
        .message(&1)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 400 });
    assert_eq!(error.message(), "Invalid Key");
    let error = pubnub
        .publish()
        .channel("chat")
        .message(&1)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    assert_eq!(error.status(), Some(403));
}

#[tokio::test]
async fn subscribe_handshake_long_poll_and_the_leave_of_close() {
    let server = TestServer::start().await;
    // The handshake and a long-poll answer as recorded (Python `asyncio/subscription`, 2023):
    // `s` on the message although its publisher sent no seqn, a presence event with its
    // `pn_*` `u`, and `b` only on the presence match.
    server.push(Reply::json(
        200,
        r#"{"t":{"t":"16765820393089705","r":42},"m":[]}"#,
    ));
    server.push(Reply::json(
        200,
        r#"{"t":{"t":"16765820413995457","r":42},"m":[
            {"a":"5","f":0,"i":"bob","s":1,"p":{"t":"16765820413995450","r":42},"k":"sub-key","c":"room","d":"hey","u":{"lang":"en"},"cmt":"chat"},
            {"a":"5","f":0,"p":{"t":"16765820413995457","r":42},"k":"sub-key","c":"room-pnpres","u":{"pn_action":"join","pn_uuid":"bob","pn_timestamp":1676582041,"pn_occupancy":2,"pn_ispresence":1,"pn_channel":"room"},"d":{"action":"join","uuid":"bob","timestamp":1676582041,"occupancy":2},"b":"room-pnpres"}]}"#,
    ));
    // Later long-polls hang, as the service holds them; close() cancels them.
    server.fallback(Reply::Hang);
    let pubnub = server.client();
    let sub = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new().with_presence());
    let mut messages = sub.message_stream();
    let mut presence = sub.presence_stream();
    let mut statuses = pubnub.status_stream();
    sub.subscribe().unwrap();
    let status = within(statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Connected);

    let message = within(messages.next()).await.unwrap();
    assert_eq!(message.channel, "room");
    assert_eq!(message.subscription, "room");
    assert_eq!(message.timetoken, 16_765_820_413_995_450);
    assert_eq!(message.message, json!("hey"));
    assert_eq!(message.publisher.as_deref(), Some("bob"));
    assert_eq!(message.meta, Some(json!({"lang": "en"})));
    assert_eq!(message.custom_message_type.as_deref(), Some("chat"));
    assert_eq!(message.seqn, Some(1));
    let join = within(presence.next()).await.unwrap();
    assert_eq!(join.event, pubnub_engine::PresenceAction::Join);
    assert_eq!(join.user_id.as_deref(), Some("bob"));
    assert_eq!(join.channel, "room");
    assert_eq!(join.occupancy, 2);

    // The leave goes out with the default configuration (no heartbeat interval: no presence
    // engine, so the client sends it itself).
    server.push(Reply::json(
        200,
        r#"{"status": 200, "message": "OK", "action": "leave", "service": "Presence"}"#,
    ));
    pubnub.close().await;

    let requests = server.requests();
    requests.iter().for_each(assert_request_id);
    let exchanges: Vec<_> = requests.iter().map(exchange).collect();
    let subscribe = "/v2/subscribe/sub-key/room,room-pnpres/0";
    assert_eq!(
        exchanges[..3],
        [
            expect(
                "GET",
                subscribe,
                &format!("{COMMON}&tt=0&heartbeat=300"),
                ""
            ),
            expect(
                "GET",
                subscribe,
                &format!("{COMMON}&tt=16765820393089705&tr=42&heartbeat=300"),
                ""
            ),
            expect(
                "GET",
                subscribe,
                &format!("{COMMON}&tt=16765820413995457&tr=42&heartbeat=300"),
                ""
            ),
        ]
    );
    assert_eq!(
        exchanges.last().unwrap(),
        &expect(
            "GET",
            "/v2/presence/sub-key/sub-key/channel/room/leave",
            COMMON,
            ""
        )
    );
}

#[tokio::test]
async fn subscribe_to_a_group_with_a_filter_and_a_message_from_a_member() {
    let server = TestServer::start().await;
    server.push(Reply::json(
        200,
        r#"{"t":{"t":"17000000000000000","r":1},"m":[]}"#,
    ));
    // Python recording `cg_sub_pub_unsub`: `c` the member channel, `b` the group.
    server.push(Reply::json(
        200,
        r#"{"t":{"t":"17000000000000002","r":1},"m":[{"a":"2","f":0,"i":"eb63","s":1,"p":{"t":"17000000000000002","r":1},"k":"sub-key","c":"news","d":"hey","b":"family"}]}"#,
    ));
    server.fallback(Reply::Hang);
    let pubnub = server
        .builder()
        .filter_expression("meta.lang == 'en' && n > 1")
        .build_client()
        .unwrap();
    let sub = pubnub
        .channel_group("family")
        .subscription(SubscriptionOptions::new());
    let mut messages = sub.message_stream();
    sub.subscribe().unwrap();
    let message = within(messages.next()).await.unwrap();
    assert_eq!(
        (message.channel.as_str(), message.subscription.as_str()),
        ("news", "family")
    );
    assert_eq!(message.message, json!("hey"));
    pubnub.close().await;
    let requests = server.requests();
    let filter = "filter-expr=meta.lang%20%3D%3D%20%27en%27%20%26%26%20n%20%3E%201";
    assert_eq!(
        exchange(&requests[0]),
        expect(
            "GET",
            "/v2/subscribe/sub-key/,/0",
            &format!("{COMMON}&tt=0&channel-group=family&heartbeat=300&{filter}"),
            ""
        )
    );
    assert_eq!(
        exchange(&requests[1]),
        expect(
            "GET",
            "/v2/subscribe/sub-key/,/0",
            &format!(
                "{COMMON}&tt=17000000000000000&tr=1&channel-group=family&heartbeat=300&{filter}"
            ),
            ""
        )
    );
    assert_eq!(
        exchange(requests.last().unwrap()),
        expect(
            "GET",
            "/v2/presence/sub-key/sub-key/channel/,/leave",
            &format!("{COMMON}&channel-group=family"),
            ""
        )
    );
}

#[tokio::test]
async fn heartbeat_and_leave() {
    let server = TestServer::start().await;
    // Tornado recording `heartbeat/timeout`; Python recording `subscription/join_leave`.
    server.push(Reply::json(
        200,
        r#"{"status": 200, "message": "OK", "service": "Presence"}"#,
    ));
    server.push(Reply::json(
        200,
        r#"{"status": 200, "message": "OK", "action": "leave", "service": "Presence"}"#,
    ));
    let pubnub = server.client();
    pubnub
        .heartbeat()
        .channels(["a", "b.é"])
        .channel_groups(["g"])
        .await
        .unwrap();
    pubnub.leave().channels(["a"]).await.unwrap();
    let requests = server.requests();
    requests.iter().for_each(assert_request_id);
    assert_eq!(
        exchange(&requests[0]),
        expect(
            "GET",
            "/v2/presence/sub-key/sub-key/channel/a,b.%C3%A9/heartbeat",
            &format!("{COMMON}&heartbeat=300&channel-group=g"),
            ""
        )
    );
    assert_eq!(
        exchange(&requests[1]),
        expect(
            "GET",
            "/v2/presence/sub-key/sub-key/channel/a/leave",
            COMMON,
            ""
        )
    );
}

#[tokio::test]
async fn here_now_one_channel_and_several() {
    let server = TestServer::start().await;
    // One channel: the flat body (Python recording `here_now/single_channel`), with state.
    server.push(Reply::json(
        200,
        r#"{"status": 200, "message": "OK", "service": "Presence", "uuids": [{"uuid": "u1", "state": {"mood": "ok"}}, {"uuid": "u2"}], "occupancy": 2}"#,
    ));
    // Several: the `payload` body (Python recording `here_now/multiple_channels`).
    server.push(Reply::json(
        200,
        r#"{"status": 200, "message": "OK", "payload": {"channels": {"a": {"uuids": ["u1"], "occupancy": 1}, "b": {"uuids": ["u1", "u2"], "occupancy": 2}}, "total_channels": 2, "total_occupancy": 3}, "service": "Presence"}"#,
    ));
    let pubnub = server.client();
    let one = pubnub
        .here_now()
        .channels(["a"])
        .include_state(true)
        .await
        .unwrap();
    assert_eq!((one.total_channels, one.total_occupancy), (1, 2));
    assert_eq!(one.channels[0].channel, "a");
    assert_eq!(one.channels[0].occupants[0].user_id, "u1");
    assert_eq!(
        one.channels[0].occupants[0].state,
        Some(json!({"mood": "ok"}))
    );
    assert_eq!(one.channels[0].occupants[1].state, None);
    let both = pubnub.here_now().channels(["a", "b"]).await.unwrap();
    assert_eq!((both.total_channels, both.total_occupancy), (2, 3));
    let b = both.channels.iter().find(|c| c.channel == "b").unwrap();
    assert_eq!(b.occupancy, 2);
    let requests = server.requests();
    requests.iter().for_each(assert_request_id);
    assert_eq!(
        exchange(&requests[0]),
        expect(
            "GET",
            "/v2/presence/sub-key/sub-key/channel/a",
            &format!("{COMMON}&state=1"),
            ""
        )
    );
    assert_eq!(
        exchange(&requests[1]),
        expect(
            "GET",
            "/v2/presence/sub-key/sub-key/channel/a,b",
            COMMON,
            ""
        )
    );
}

#[tokio::test]
async fn where_now() {
    let server = TestServer::start().await;
    server.push(Reply::json(
        200,
        r#"{"status": 200, "message": "OK", "payload": {"channels": ["a", "b"]}, "service": "Presence"}"#,
    ));
    let found = server
        .client()
        .where_now()
        .user_id("someone else")
        .await
        .unwrap();
    assert_eq!(found.channels, ["a", "b"]);
    assert_eq!(
        exchange(&only(&server)),
        expect(
            "GET",
            "/v2/presence/sub-key/sub-key/uuid/someone%20else",
            COMMON,
            ""
        )
    );
}

#[tokio::test]
async fn set_state_and_get_state() {
    let server = TestServer::start().await;
    // Python recordings `native_sync/state/*`.
    server.push(Reply::json(
        200,
        r#"{"status": 200, "message": "OK", "payload": {"count": 5, "name": "Alex"}, "service": "Presence"}"#,
    ));
    server.push(Reply::json(
        200,
        r#"{"status": 200, "message": "OK", "payload": {"count": 5, "name": "Alex"}, "uuid": "user-1", "channel": "a", "service": "Presence"}"#,
    ));
    server.push(Reply::json(
        200,
        r#"{"status": 200, "message": "OK", "payload": {"channels": {"a": {"count": 5}, "b": {"name": "Alex"}}}, "uuid": "user-1", "service": "Presence"}"#,
    ));
    let pubnub = server.client();
    let state = json!({"count": 5, "name": "Alex"});
    let set = pubnub
        .set_state()
        .channels(["a"])
        .state(&state)
        .await
        .unwrap();
    assert_eq!(set.state, state);
    let one = pubnub.get_state().channels(["a"]).await.unwrap();
    assert_eq!(one.channels.get("a"), Some(&state));
    let two = pubnub
        .get_state()
        .channels(["a", "b"])
        .channel_groups(["g"])
        .await
        .unwrap();
    assert_eq!(two.channels.get("a"), Some(&json!({"count": 5})));
    assert_eq!(two.channels.get("b"), Some(&json!({"name": "Alex"})));
    let requests = server.requests();
    requests.iter().for_each(assert_request_id);
    assert_eq!(
        exchange(&requests[0]),
        expect(
            "GET",
            "/v2/presence/sub-key/sub-key/channel/a/uuid/user-1/data",
            &format!("{COMMON}&state=%7B%22count%22%3A5%2C%22name%22%3A%22Alex%22%7D"),
            ""
        )
    );
    assert_eq!(
        exchange(&requests[1]),
        expect(
            "GET",
            "/v2/presence/sub-key/sub-key/channel/a/uuid/user-1",
            COMMON,
            ""
        )
    );
    assert_eq!(
        exchange(&requests[2]),
        expect(
            "GET",
            "/v2/presence/sub-key/sub-key/channel/a,b/uuid/user-1",
            &format!("{COMMON}&channel-group=g"),
            ""
        )
    );
}

#[tokio::test]
async fn channel_groups() {
    let server = TestServer::start().await;
    // Python recordings `groups/*` and the Swift fixture for list-groups.
    let ok = r#"{"status": 200, "message": "OK", "service": "channel-registry", "error": false}"#;
    server.push(Reply::json(200, ok));
    server.push(Reply::json(200, ok));
    server.push(Reply::json(
        200,
        r#"{"status": 200, "payload": {"channels": ["news", "日本"], "group": "family"}, "service": "channel-registry", "error": false}"#,
    ));
    server.push(Reply::json(
        200,
        r#"{"status": 200, "payload": {"namespace": "", "groups": ["family", "work"]}, "service": "channel-registry", "error": false}"#,
    ));
    server.push(Reply::json(200, ok));
    let pubnub = server.client();
    pubnub
        .add_channel_to_channel_group()
        .channel_group("family")
        .channels(["news", "日本"])
        .await
        .unwrap();
    pubnub
        .remove_channel_from_channel_group()
        .channel_group("family")
        .channels(["sport"])
        .await
        .unwrap();
    let channels = pubnub
        .list_channels_in_channel_group()
        .channel_group("family")
        .await
        .unwrap();
    assert_eq!(channels, ["news", "日本"]);
    assert_eq!(
        pubnub.list_channel_groups().await.unwrap(),
        ["family", "work"]
    );
    pubnub
        .remove_channel_group()
        .channel_group("family")
        .await
        .unwrap();
    let requests = server.requests();
    requests.iter().for_each(assert_request_id);
    let group = "/v1/channel-registration/sub-key/sub-key/channel-group/family";
    let exchanges: Vec<_> = requests.iter().map(exchange).collect();
    assert_eq!(
        exchanges,
        [
            expect(
                "GET",
                group,
                &format!("{COMMON}&add=news%2C%E6%97%A5%E6%9C%AC"),
                ""
            ),
            expect("GET", group, &format!("{COMMON}&remove=sport"), ""),
            expect("GET", group, COMMON, ""),
            expect(
                "GET",
                "/v1/channel-registration/sub-key/sub-key/channel-group",
                COMMON,
                ""
            ),
            expect("GET", &format!("{group}/remove"), COMMON, ""),
        ]
    );
}

#[tokio::test]
async fn time() {
    let server = TestServer::start().await;
    // Python recording `time/get`: a number, not a string.
    server.push(Reply::json(200, "[14818963707386265]"));
    assert_eq!(
        server.client().time().await.unwrap(),
        14_818_963_707_386_265
    );
    assert_eq!(
        exchange(&only(&server)),
        expect("GET", "/time/0", COMMON, "")
    );
}

#[tokio::test]
async fn a_secret_key_adds_timestamp_and_signature_last() {
    let server = TestServer::start().await;
    server.fallback(Reply::json(200, SENT));
    let pubnub = server
        .builder()
        .secret_key("sec-key")
        .auth_key("token")
        .build_client()
        .unwrap();
    pubnub.publish().channel("c").message(&1).await.unwrap();
    pubnub
        .publish()
        .channel("c")
        .message(&1)
        .use_post(true)
        .await
        .unwrap();
    let requests = server.requests();
    for (request, v2) in requests.iter().zip([true, false]) {
        let query = request.masked_query();
        let (head, tail) = query.split_once("&timestamp=").expect("a timestamp");
        assert_eq!(
            head,
            format!("auth=token&{}&seqn={}", COMMON, if v2 { 1 } else { 2 })
        );
        let (timestamp, signature) = tail.split_once("&signature=").expect("a signature");
        assert!(timestamp.len() == 10 && timestamp.bytes().all(|b| b.is_ascii_digit()));
        // v2: "v2." and 43 characters; v1 (POST publish): 44 with its `=` padding, encoded.
        if v2 {
            assert!(
                signature.starts_with("v2.") && signature.len() == 46,
                "{signature}"
            );
        } else {
            assert!(
                signature.ends_with("%3D") && signature.len() == 46,
                "{signature}"
            );
        }
    }
}

/// Awaits `future`, failing the test after 10 s (it only takes that long when broken).
async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("timed out")
}

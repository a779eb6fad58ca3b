//! The exact wire form of the presence and channel group requests: method, path and query as
//! a recording server on 127.0.0.1:0 receives them (PROTOCOL.md §6–7).

mod support;

use serde_json::{json, Value};
use support::{Reply, TestServer};

/// What every request starts with (`requestid` masked: it is random).
const COMMON: &str = concat!(
    "pnsdk=PubNub-Engine-Rust%2F",
    env!("CARGO_PKG_VERSION"),
    "&requestid=*&uuid=user-1"
);

#[tokio::test]
async fn here_now_for_one_channel() {
    let server = TestServer::start().await;
    server.push(Reply::json(
        200,
        r#"{"status":200,"message":"OK","service":"Presence","uuids":["u1","u2"],"occupancy":2}"#,
    ));
    let result = server
        .client()
        .here_now()
        .channels(["lobby"])
        .await
        .unwrap();
    assert_eq!((result.total_channels, result.total_occupancy), (1, 2));
    assert_eq!(result.channels[0].channel, "lobby");
    let ids: Vec<&str> = result.channels[0]
        .occupants
        .iter()
        .map(|o| o.user_id.as_str())
        .collect();
    assert_eq!(ids, ["u1", "u2"]);
    let request = server.only();
    assert_eq!(request.path, "/v2/presence/sub-key/sub-key/channel/lobby");
    assert_eq!(request.masked_query(), COMMON);
}

#[tokio::test]
async fn here_now_for_channels_and_groups_with_options() {
    let server = TestServer::start().await;
    server.push(Reply::json(
        200,
        r#"{"status":200,"message":"OK","service":"Presence","payload":{"channels":{
            "a":{"occupancy":1,"uuids":[{"uuid":"u1","state":{"mood":"ok"}}]},
            "b":{"occupancy":1,"uuids":[{"uuid":"u2"}]}},"total_channels":2,"total_occupancy":2}}"#,
    ));
    let result = server
        .client()
        .here_now()
        .channels(["b", "a"])
        .channel_groups(["g1", "g2"])
        .include_uuids(false)
        .include_state(true)
        .limit(10)
        .offset(5)
        .await
        .unwrap();
    assert_eq!(result.channels.len(), 2);
    assert_eq!(
        result.channels[0].occupants[0].state,
        Some(json!({"mood": "ok"}))
    );
    assert_eq!(result.channels[1].occupants[0].state, None);
    let request = server.only();
    assert_eq!(request.path, "/v2/presence/sub-key/sub-key/channel/b,a");
    assert_eq!(
        request.masked_query(),
        format!("{COMMON}&channel-group=g1%2Cg2&disable_uuids=1&state=1&limit=10&offset=5")
    );
}

#[tokio::test]
async fn here_now_for_groups_only_and_globally() {
    let server = TestServer::start().await;
    let empty =
        r#"{"status":200,"payload":{"channels":{},"total_channels":0,"total_occupancy":0}}"#;
    server.fallback(Reply::json(200, empty));
    let pubnub = server.client();
    pubnub.here_now().channel_groups(["g"]).await.unwrap();
    let global = pubnub.here_now().await.unwrap();
    assert_eq!(global.total_occupancy, 0);
    let requests = server.requests();
    assert_eq!(requests[0].path, "/v2/presence/sub-key/sub-key/channel/,");
    assert_eq!(
        requests[0].masked_query(),
        format!("{COMMON}&channel-group=g")
    );
    assert_eq!(requests[1].path, "/v2/presence/sub-key/sub-key");
    assert_eq!(requests[1].masked_query(), COMMON);
}

#[tokio::test]
async fn set_state_is_sent_and_then_carried_by_heartbeats() {
    let server = TestServer::start().await;
    server.push(Reply::json(
        200,
        r#"{"status":200,"message":"OK","payload":{"mood":"ok & fine"},"service":"Presence"}"#,
    ));
    let pubnub = server.client();
    let state = json!({"mood": "ok & fine"});
    let set = pubnub
        .set_state()
        .channels(["a", "b"])
        .channel_groups(["g"])
        .state(&state)
        .await
        .unwrap();
    assert_eq!(set.state, state);
    pubnub
        .heartbeat()
        .channels(["a", "c", "a-pnpres"])
        .channel_groups(["g"])
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(
        requests[0].path,
        "/v2/presence/sub-key/sub-key/channel/a,b/uuid/user-1/data"
    );
    assert_eq!(
        requests[0].masked_query(),
        format!("{COMMON}&state=%7B%22mood%22%3A%22ok%20%26%20fine%22%7D&channel-group=g")
    );
    assert_eq!(
        requests[1].path,
        "/v2/presence/sub-key/sub-key/channel/a,c/heartbeat"
    );
    let heartbeat_state: Value =
        serde_json::from_str(&requests[1].param("state").unwrap()).unwrap();
    assert_eq!(heartbeat_state, json!({"a": state, "g": state}));
    assert!(requests[1]
        .masked_query()
        .starts_with(&format!("{COMMON}&heartbeat=300&channel-group=g&state=")));
}

#[tokio::test]
async fn get_state_for_one_and_several_channels() {
    let server = TestServer::start().await;
    server.push(Reply::json(
        200,
        r#"{"status":200,"message":"OK","payload":{"count":5},"uuid":"u","channel":"a","service":"Presence"}"#,
    ));
    server.push(Reply::json(
        200,
        r#"{"status":200,"message":"OK","payload":{"channels":{"a":{"count":5},"b":{}}},"uuid":"u","service":"Presence"}"#,
    ));
    let pubnub = server.client();
    let one = pubnub
        .get_state()
        .channels(["a"])
        .user_id("u")
        .await
        .unwrap();
    assert_eq!(
        one.channels,
        [("a".to_string(), json!({"count": 5}))].into()
    );
    let many = pubnub
        .get_state()
        .channels(["a", "b"])
        .channel_groups(["g"])
        .await
        .unwrap();
    assert_eq!(many.channels.len(), 2);
    let requests = server.requests();
    assert_eq!(
        requests[0].path,
        "/v2/presence/sub-key/sub-key/channel/a/uuid/u"
    );
    assert_eq!(requests[0].masked_query(), COMMON);
    assert_eq!(
        requests[1].path,
        "/v2/presence/sub-key/sub-key/channel/a,b/uuid/user-1"
    );
    assert_eq!(
        requests[1].masked_query(),
        format!("{COMMON}&channel-group=g")
    );
}

#[tokio::test]
async fn heartbeat_and_leave() {
    let server = TestServer::start().await;
    let pubnub = server
        .builder()
        .presence_timeout(120)
        .suppress_leave_events(true)
        .build_client()
        .unwrap();
    pubnub.heartbeat().channels(["b", "a"]).await.unwrap();
    // An explicit leave is sent even with suppress_leave_events.
    pubnub
        .leave()
        .channels(["a"])
        .channel_groups(["g1", "g2"])
        .await
        .unwrap();
    pubnub.leave().channel_groups(["g"]).await.unwrap();
    let requests = server.requests();
    assert_eq!(
        requests[0].path,
        "/v2/presence/sub-key/sub-key/channel/a,b/heartbeat"
    );
    assert_eq!(
        requests[0].masked_query(),
        format!("{COMMON}&heartbeat=120")
    );
    assert_eq!(
        requests[1].path,
        "/v2/presence/sub-key/sub-key/channel/a/leave"
    );
    assert_eq!(
        requests[1].masked_query(),
        format!("{COMMON}&channel-group=g1%2Cg2")
    );
    assert_eq!(
        requests[2].path,
        "/v2/presence/sub-key/sub-key/channel/,/leave"
    );
}

#[tokio::test]
async fn channel_group_requests() {
    let server = TestServer::start().await;
    let ok = r#"{"status":200,"message":"OK","service":"channel-registry","error":false}"#;
    server.push(Reply::json(200, ok));
    server.push(Reply::json(200, ok));
    server.push(Reply::json(
        200,
        r#"{"status":200,"payload":{"channels":["a","b"],"group":"grp~日本"},"service":"channel-registry","error":false}"#,
    ));
    server.push(Reply::json(
        200,
        r#"{"status":200,"payload":{"namespace":"","groups":["g1","grp~日本"]},"service":"channel-registry","error":false}"#,
    ));
    server.push(Reply::json(200, ok));
    let pubnub = server.client();
    pubnub
        .add_channel_to_channel_group()
        .channel_group("grp~日本")
        .channels(["a", "b"])
        .await
        .unwrap();
    pubnub
        .remove_channel_from_channel_group()
        .channel_group("grp~日本")
        .channels(["b"])
        .await
        .unwrap();
    let channels = pubnub
        .list_channels_in_channel_group()
        .channel_group("grp~日本")
        .await
        .unwrap();
    assert_eq!(channels, ["a", "b"]);
    let groups = pubnub.list_channel_groups().await.unwrap();
    assert_eq!(groups, ["g1", "grp~日本"]);
    pubnub
        .remove_channel_group()
        .channel_group("grp~日本")
        .await
        .unwrap();

    let base = "/v1/channel-registration/sub-key/sub-key/channel-group";
    let seen: Vec<(String, String)> = server
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.masked_query()))
        .collect();
    let expected = [
        (
            format!("{base}/grp~%E6%97%A5%E6%9C%AC"),
            format!("{COMMON}&add=a%2Cb"),
        ),
        (
            format!("{base}/grp~%E6%97%A5%E6%9C%AC"),
            format!("{COMMON}&remove=b"),
        ),
        (format!("{base}/grp~%E6%97%A5%E6%9C%AC"), COMMON.to_string()),
        (base.to_string(), COMMON.to_string()),
        (
            format!("{base}/grp~%E6%97%A5%E6%9C%AC/remove"),
            COMMON.to_string(),
        ),
    ];
    assert_eq!(seen, expected);
}

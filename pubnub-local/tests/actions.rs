//! Message actions over HTTP (PROTOCOL.md §18.5): add, get, remove, 409, paging with `more`,
//! actions in history-with-actions, `e: 3` events to subscribers, error bodies.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use pubnub_local::{Endpoint, Fault, InMemoryServer, Server};
use serde_json::{json, Value};

struct Local {
    server: InMemoryServer,
}

impl Local {
    fn new() -> Local {
        Local {
            server: Server::builder()
                .hold(Duration::from_secs(5))
                .build_in_memory(),
        }
    }

    async fn call(&self, method: Method, uri: &str, body: &str) -> (u16, Value) {
        let mut router = self.server.router();
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = tower_service::Service::call(&mut router, request)
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&bytes)));
        (status, body)
    }

    async fn publish(&self, channel: &str, text: &str) -> u64 {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/publish/k/k/0/{channel}/0/%22{text}%22?uuid=author"),
                "",
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body[2].as_str().unwrap().parse().unwrap()
    }

    async fn add(
        &self,
        channel: &str,
        message: u64,
        kind: &str,
        value: &str,
        uuid: &str,
    ) -> (u16, Value) {
        self.call(
            Method::POST,
            &format!("/v1/message-actions/k/channel/{channel}/message/{message}?uuid={uuid}"),
            &json!({"type": kind, "value": value}).to_string(),
        )
        .await
    }

    async fn action_tt(&self, channel: &str, message: u64, value: &str, uuid: &str) -> u64 {
        let (status, body) = self.add(channel, message, "reaction", value, uuid).await;
        assert_eq!(status, 200, "{body}");
        body["data"]["actionTimetoken"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

fn actions_error(status: u16, message: &str) -> Value {
    json!({"status": status, "error": {"source": "actions", "message": message}})
}

#[tokio::test(start_paused = true)]
async fn add_get_remove_and_the_duplicate_409() {
    let local = Local::new();
    let message = local.publish("ch", "hello").await;

    let (status, body) = local
        .add("ch", message, "reaction", "smiley_face", "user-456")
        .await;
    assert_eq!(status, 200);
    let action_tt = body["data"]["actionTimetoken"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(action_tt.parse::<u64>().unwrap() > message);
    assert_eq!(
        body,
        json!({"status": 200, "data": {"type": "reaction", "value": "smiley_face",
               "uuid": "user-456", "actionTimetoken": action_tt,
               "messageTimetoken": message.to_string()}})
    );

    let (status, body) = local
        .add("ch", message, "reaction", "smiley_face", "user-456")
        .await;
    assert_eq!(
        (status, body),
        (409, actions_error(409, "Action Already Added"))
    );
    // Another user, or another value, is a new action.
    let (status, _) = local
        .add("ch", message, "reaction", "smiley_face", "user-789")
        .await;
    assert_eq!(status, 200);
    let (status, _) = local
        .add("ch", message, "reaction", "heart", "user-456")
        .await;
    assert_eq!(status, 200);

    let (status, body) = local
        .call(Method::GET, "/v1/message-actions/k/channel/ch", "")
        .await;
    assert_eq!(status, 200);
    assert!(body.get("more").is_none(), "{body}");
    let data = body["data"].as_array().unwrap();
    let values: Vec<(&str, &str)> = data
        .iter()
        .map(|a| (a["value"].as_str().unwrap(), a["uuid"].as_str().unwrap()))
        .collect();
    assert_eq!(
        values,
        vec![
            ("smiley_face", "user-456"),
            ("smiley_face", "user-789"),
            ("heart", "user-456")
        ]
    );

    let remove = format!("/v1/message-actions/k/channel/ch/message/{message}/action/{action_tt}");
    let (status, body) = local.call(Method::DELETE, &remove, "").await;
    assert_eq!((status, body), (200, json!({"status": 200, "data": {}})));
    let (status, body) = local.call(Method::DELETE, &remove, "").await;
    assert_eq!(
        (status, body),
        (
            400,
            actions_error(400, "No matching message actions to delete")
        )
    );
    // The action is gone: adding it again is allowed.
    let (status, _) = local
        .add("ch", message, "reaction", "smiley_face", "user-456")
        .await;
    assert_eq!(status, 200);
    // The wrong message timetoken matches nothing.
    let (status, _) = local
        .call(
            Method::DELETE,
            &format!(
                "/v1/message-actions/k/channel/ch/message/{}/action/{}",
                message + 1,
                data[1]["actionTimetoken"].as_str().unwrap()
            ),
            "",
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(start_paused = true)]
async fn get_pages_backwards_with_more() {
    let local = Local::new();
    let message = local.publish("ch", "hello").await;
    let mut tts = Vec::new();
    for i in 0..7 {
        tts.push(local.action_tt("ch", message, &format!("v{i}"), "u").await);
    }
    let (_, body) = local
        .call(Method::GET, "/v1/message-actions/k/channel/ch?limit=3", "")
        .await;
    let page: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    assert_eq!(page, vec!["v4", "v5", "v6"]);
    assert_eq!(
        body["more"],
        json!({"url": format!("/v1/message-actions/k/channel/ch?start={}&limit=3", tts[4]),
               "start": tts[4].to_string(), "limit": 3})
    );
    // Follow `more` with an `end` bound: it is carried along.
    let (_, body) = local
        .call(
            Method::GET,
            &format!(
                "/v1/message-actions/k/channel/ch?start={}&end={}&limit=2",
                tts[4], tts[1]
            ),
            "",
        )
        .await;
    let page: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    assert_eq!(page, vec!["v2", "v3"]);
    assert_eq!(body["more"]["end"], json!(tts[1].to_string()));
    assert_eq!(
        body["more"]["url"],
        json!(format!(
            "/v1/message-actions/k/channel/ch?start={}&end={}&limit=2",
            tts[2], tts[1]
        ))
    );
    let (_, body) = local
        .call(
            Method::GET,
            &format!(
                "/v1/message-actions/k/channel/ch?start={}&end={}",
                tts[2], tts[1]
            ),
            "",
        )
        .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert!(body.get("more").is_none());
    // Above 100 is lowered to 100; an empty channel has an empty list.
    let (status, body) = local
        .call(
            Method::GET,
            "/v1/message-actions/k/channel/other?limit=500",
            "",
        )
        .await;
    assert_eq!((status, body), (200, json!({"status": 200, "data": []})));
}

#[tokio::test(start_paused = true)]
async fn history_with_actions_groups_them_by_type_and_value() {
    let local = Local::new();
    let first = local.publish("ch", "first").await;
    let second = local.publish("ch", "second").await;
    let a = local.action_tt("ch", first, "smiley_face", "u1").await;
    let b = local.action_tt("ch", first, "smiley_face", "u2").await;
    let (_, body) = local.add("ch", first, "receipt", "read", "u1").await;
    let c = body["data"]["actionTimetoken"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, body) = local
        .call(
            Method::GET,
            "/v3/history-with-actions/sub-key/k/channel/ch?include_uuid=true",
            "",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["channels"]["ch"],
        json!([
            {"message": "first", "timetoken": first.to_string(), "uuid": "author", "actions": {
                "reaction": {"smiley_face": [
                    {"uuid": "u1", "actionTimetoken": a.to_string()},
                    {"uuid": "u2", "actionTimetoken": b.to_string()},
                ]},
                "receipt": {"read": [{"uuid": "u1", "actionTimetoken": c}]},
            }},
            {"message": "second", "timetoken": second.to_string(), "uuid": "author"},
        ])
    );
    // Plain history never carries actions; with actions the default page is 25.
    let (_, body) = local
        .call(Method::GET, "/v3/history/sub-key/k/channel/ch", "")
        .await;
    assert!(body["channels"]["ch"][0].get("actions").is_none());
    for i in 0..30 {
        local.publish("ch", &format!("m{i}")).await;
    }
    let (_, body) = local
        .call(
            Method::GET,
            "/v3/history-with-actions/sub-key/k/channel/ch?max=100",
            "",
        )
        .await;
    assert_eq!(body["channels"]["ch"].as_array().unwrap().len(), 25);
    assert!(body.get("more").is_none());
}

#[tokio::test(start_paused = true)]
async fn adds_and_removals_reach_subscribers_as_e3_events() {
    let local = Local::new();
    let (_, handshake) = local
        .call(Method::GET, "/v2/subscribe/k/ch/0?tt=0&uuid=watcher", "")
        .await;
    let cursor = handshake["t"]["t"].as_str().unwrap().to_string();
    let message = local.publish("ch", "hello").await;
    let action = local.action_tt("ch", message, "smiley_face", "fan").await;
    let remove = format!("/v1/message-actions/k/channel/ch/message/{message}/action/{action}");
    let (status, _) = local.call(Method::DELETE, &remove, "").await;
    assert_eq!(status, 200);

    let (_, body) = local
        .call(
            Method::GET,
            &format!("/v2/subscribe/k/ch/0?tt={cursor}&uuid=watcher"),
            "",
        )
        .await;
    let events = body["m"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{body}");
    assert_eq!(events[0]["d"], json!("hello"));
    let data = json!({"messageTimetoken": message.to_string(),
                      "actionTimetoken": action.to_string(),
                      "type": "reaction", "value": "smiley_face"});
    for (event, kind) in events[1..].iter().zip(["added", "removed"]) {
        assert_eq!(event["e"], json!(3));
        assert_eq!(event["i"], json!("fan"));
        assert_eq!(event["c"], json!("ch"));
        assert_eq!(event["k"], json!("k"));
        assert!(event.get("s").is_none());
        assert_eq!(
            event["d"],
            json!({"source": "actions", "version": "1.0", "event": kind, "data": data})
        );
        let published: u64 = event["p"]["t"].as_str().unwrap().parse().unwrap();
        assert!(published > action, "the event is a later publish");
    }
    // Events are not history messages.
    let (_, body) = local
        .call(Method::GET, "/v3/history/sub-key/k/channel/ch", "")
        .await;
    assert_eq!(body["channels"]["ch"].as_array().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn bad_requests_get_actions_error_bodies() {
    let local = Local::new();
    let add = |body: &'static str, path: &'static str| {
        let local = &local;
        async move { local.call(Method::POST, path, body).await }
    };
    let ok_path = "/v1/message-actions/k/channel/ch/message/15000000000000000?uuid=u";
    for (body, path, message) in [
        (r#"{"value":"v"}"#, ok_path, "Missing or invalid type"),
        (
            r#"{"type":"","value":"v"}"#,
            ok_path,
            "Missing or invalid type",
        ),
        (r#"{"type":"t"}"#, ok_path, "Missing or invalid value"),
        (
            r#"{"type":"t","value":5}"#,
            ok_path,
            "Missing or invalid value",
        ),
        ("not json", ok_path, "Could not parse request body"),
        (
            r#"{"type":"sixteen-chars-xx","value":"v"}"#,
            ok_path,
            "Type is longer than 15 characters",
        ),
        (
            r#"{"type":"t","value":"v"}"#,
            "/v1/message-actions/k/channel/ch/message/abc?uuid=u",
            "Invalid timetoken",
        ),
        (
            r#"{"type":"t","value":"v"}"#,
            "/v1/message-actions/k/channel/ch/message/15000000000000000",
            "Missing uuid",
        ),
        (
            r#"{"type":"t","value":"v"}"#,
            "/v1/message-actions/k/channel/a%2Cb/message/15000000000000000?uuid=u",
            "Invalid channel",
        ),
    ] {
        let (status, answer) = add(body, path).await;
        assert_eq!(
            (status, answer),
            (400, actions_error(400, message)),
            "{body} {path}"
        );
    }
    for (method, path, message) in [
        (
            Method::DELETE,
            "/v1/message-actions/k/channel/ch/message/1/action/x",
            "Invalid timetoken",
        ),
        (
            Method::GET,
            "/v1/message-actions/k/channel/ch?limit=0",
            "Invalid limit",
        ),
        (
            Method::GET,
            "/v1/message-actions/k/channel/ch?start=x",
            "Invalid timetoken: start",
        ),
    ] {
        let (status, answer) = local.call(method, path, "").await;
        assert_eq!(
            (status, answer),
            (400, actions_error(400, message)),
            "{path}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_message_actions_fault_group() {
    let local = Local::new();
    local
        .server
        .faults()
        .inject(Fault::status(500).on(Endpoint::MessageActions).times(1));
    let message = local.publish("ch", "hello").await;
    let (status, _) = local.add("ch", message, "reaction", "x", "u").await;
    assert_eq!(status, 500);
    let (status, _) = local.add("ch", message, "reaction", "x", "u").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn add_over_a_real_socket_is_recorded() {
    let server = common::server().await;
    let message = common::get(&server, "/publish/k/k/0/ch/0/%22hi%22")
        .await
        .json()[2]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/message-actions/k/channel/ch/message/{message}?uuid=u");
    let answer = common::post(
        &server,
        &path,
        br#"{"type":"reaction","value":"+1"}"#.to_vec(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["data"]["value"], json!("+1"));
    let recorded = server
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("recorded");
    assert_eq!(
        recorded.path,
        format!("/v1/message-actions/k/channel/ch/message/{message}")
    );
    assert_eq!(recorded.body, br#"{"type":"reaction","value":"+1"}"#);

    // The admin endpoint names the groups `message-actions` and `history`. A stored-then-failed
    // add is there when the client retries: the retry gets the 409.
    let commands = br#"[{"endpoint":"message-actions","fault":"store_then_fail","status":500},
        {"endpoint":"history","fault":"status","status":503}]"#;
    assert_eq!(
        common::post(&server, "/__faults", commands.to_vec())
            .await
            .status,
        200
    );
    let body = br#"{"type":"reaction","value":"-1"}"#.to_vec();
    assert_eq!(common::post(&server, &path, body.clone()).await.status, 500);
    let retry = common::post(&server, &path, body).await;
    assert_eq!(retry.status, 409, "{}", retry.text);
    let history = common::get(&server, "/v3/history/sub-key/k/channel/ch").await;
    assert_eq!(history.status, 503);
    assert_eq!(
        common::get(&server, "/v3/history/sub-key/k/channel/ch")
            .await
            .status,
        200
    );
    server.shutdown().await;
}

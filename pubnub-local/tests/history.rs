//! Message persistence over HTTP (PROTOCOL.md §18.1–§18.4, §18.6): what is stored, fetch
//! ranges and pages, include flags, counts, delete, errors. The router runs in memory on a
//! paused clock, so `ttl` expiry is driven by `tokio::time::advance`.

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
        Local::with(Server::builder())
    }

    fn with(builder: pubnub_local::ServerBuilder) -> Local {
        Local {
            server: builder.build_in_memory(),
        }
    }

    async fn call(&self, method: Method, uri: &str) -> (u16, Value) {
        let mut router = self.server.router();
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
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

    async fn get(&self, uri: &str) -> (u16, Value) {
        self.call(Method::GET, uri).await
    }

    /// Publishes a JSON string payload; returns its timetoken.
    async fn publish(&self, channel: &str, text: &str, query: &str) -> u64 {
        let (status, body) = self
            .get(&format!("/publish/k/k/0/{channel}/0/%22{text}%22?{query}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body[2].as_str().unwrap().parse().unwrap()
    }

    /// The messages of one channel of a fetch, as `message` values.
    async fn fetch(&self, channel: &str, query: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/v3/history/sub-key/k/channel/{channel}?{query}"))
            .await;
        assert_eq!(status, 200, "{body}");
        messages(&body, channel)
    }
}

fn messages(body: &Value, channel: &str) -> Vec<Value> {
    body["channels"][channel]
        .as_array()
        .map(|items| items.iter().map(|i| i["message"].clone()).collect())
        .unwrap_or_default()
}

fn texts(range: std::ops::RangeInclusive<u32>) -> Vec<Value> {
    range.map(|i| json!(format!("m{i}"))).collect()
}

fn history_error(message: &str) -> Value {
    json!({"status": 400, "error": true, "error_message": message, "channels": {}})
}

#[tokio::test(start_paused = true)]
async fn fetch_answers_in_the_recorded_shape_with_every_include_flag() {
    let local = Local::new();
    let with_all = local
        .publish(
            "ch",
            "one",
            "uuid=alice&meta=%7B%22lang%22%3A%22en%22%7D&custom_message_type=chat-msg",
        )
        .await;
    let bare = local.publish("ch", "two", "").await;

    let (status, body) = local.get("/v3/history/sub-key/k/channel/ch").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"status": 200, "error": false, "error_message": "", "channels": {"ch": [
            {"message": "one", "timetoken": with_all.to_string()},
            {"message": "two", "timetoken": bare.to_string()},
        ]}})
    );

    let (_, body) = local
        .get(
            "/v3/history/sub-key/k/channel/ch?max=100&include_meta=true&include_uuid=true\
             &include_message_type=true&include_custom_message_type=true&uuid=reader&pnsdk=x",
        )
        .await;
    assert_eq!(
        body["channels"]["ch"],
        json!([
            {"message": "one", "timetoken": with_all.to_string(), "meta": {"lang": "en"},
             "uuid": "alice", "message_type": null, "custom_message_type": "chat-msg"},
            {"message": "two", "timetoken": bare.to_string(), "meta": "", "message_type": null},
        ])
    );
    // `fetch_messages/include_message_type.json` (2023): Python 7.x's `include_type` gave
    // `"type": ""` for a message published without one.
    let (_, body) = local
        .get(
            "/v3/history-with-actions/sub-key/k/channel/ch?include_message_type=true\
             &include_meta=false&include_type=true&max=25",
        )
        .await;
    assert_eq!(
        body["channels"]["ch"],
        json!([
            {"message": "one", "timetoken": with_all.to_string(), "message_type": null,
             "type": "chat-msg"},
            {"message": "two", "timetoken": bare.to_string(), "message_type": null, "type": ""},
        ])
    );
    // `false` is the same as absent.
    let (_, body) = local
        .get("/v3/history/sub-key/k/channel/ch?include_meta=false&include_uuid=false")
        .await;
    assert_eq!(body["channels"]["ch"][0].as_object().unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn store_0_fire_and_signals_stay_out_of_history() {
    let local = Local::new();
    local.publish("ch", "kept", "store=1").await;
    local.publish("ch", "not-stored", "store=0").await;
    local.publish("ch", "fired", "store=0&norep=true").await;
    let (status, _) = local.get("/signal/k/k/0/ch/0/%22sig%22").await;
    assert_eq!(status, 200);
    assert_eq!(local.fetch("ch", "").await, vec![json!("kept")]);
    // A channel that never stored anything is left out of `channels`.
    let (_, body) = local.get("/v3/history/sub-key/k/channel/empty").await;
    assert_eq!(body["channels"], json!({}));
}

#[tokio::test(start_paused = true)]
async fn ttl_expires_messages_on_the_hub_clock() {
    let local = Local::new();
    let before = local.publish("ch", "forever", "").await;
    local.publish("ch", "hour", "ttl=1").await;
    local.publish("ch", "half", "ttl=0.5").await;
    local.publish("ch", "zero", "ttl=0").await;
    local.publish("ch", "ignored", "store=0&ttl=5").await;
    let count = |body: Value| body["channels"]["ch"].as_u64().unwrap();

    tokio::time::advance(Duration::from_secs(29 * 60)).await;
    assert_eq!(
        local.fetch("ch", "").await,
        vec![
            json!("forever"),
            json!("hour"),
            json!("half"),
            json!("zero")
        ]
    );
    tokio::time::advance(Duration::from_secs(2 * 60)).await;
    assert_eq!(
        local.fetch("ch", "").await,
        vec![json!("forever"), json!("hour"), json!("zero")]
    );
    tokio::time::advance(Duration::from_secs(30 * 60)).await;
    assert_eq!(
        local.fetch("ch", "").await,
        vec![json!("forever"), json!("zero")]
    );
    let (_, body) = local
        .get(&format!(
            "/v3/history/sub-key/k/message-counts/ch?timetoken={before}"
        ))
        .await;
    assert_eq!(count(body), 1, "expired messages are not counted");
}

#[tokio::test(start_paused = true)]
async fn each_channel_keeps_the_newest_history_size_messages() {
    let local = Local::with(Server::builder().history_size(3).buffer_size(2));
    for i in 1..=5 {
        local.publish("ch", &format!("m{i}"), "").await;
    }
    assert_eq!(local.fetch("ch", "").await, texts(3..=5));

    let none = Local::with(Server::builder().history_size(0));
    none.publish("ch", "m1", "").await;
    assert!(none.fetch("ch", "").await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn pages_are_the_newest_max_oldest_first_and_page_backwards_with_start() {
    let local = Local::new();
    let mut tts = Vec::new();
    for i in 1..=120 {
        tts.push(local.publish("ch", &format!("m{i}"), "").await);
    }
    // Recorded: 120 messages, max=25, no range → the newest 25, ascending.
    assert_eq!(local.fetch("ch", "max=25").await, texts(96..=120));
    // One channel: default and maximum 100.
    assert_eq!(local.fetch("ch", "").await, texts(21..=120));
    assert_eq!(local.fetch("ch", "max=1000").await, texts(21..=120));

    let mut collected: Vec<Value> = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let query = match &start {
            Some(start) => format!("max=50&start={start}"),
            None => "max=50".to_string(),
        };
        let (_, body) = local
            .get(&format!("/v3/history/sub-key/k/channel/ch?{query}"))
            .await;
        assert!(body.get("more").is_none(), "no `more` on plain history");
        let page = body["channels"]["ch"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if page.is_empty() {
            break;
        }
        start = Some(page[0]["timetoken"].as_str().unwrap().to_string());
        let mut older: Vec<Value> = page.iter().map(|i| i["message"].clone()).collect();
        older.extend(collected);
        collected = older;
    }
    assert_eq!(collected, texts(1..=120));

    // start excluded, end included.
    let (s, e) = (tts[9], tts[4]); // m10, m5
    assert_eq!(local.fetch("ch", &format!("start={s}")).await.len(), 9);
    assert_eq!(
        local.fetch("ch", &format!("start={s}&end={e}")).await,
        texts(5..=9)
    );
    assert_eq!(
        local.fetch("ch", &format!("end={}", tts[115])).await,
        texts(116..=120)
    );
    assert_eq!(
        local.fetch("ch", &format!("start={s}&end={e}&max=2")).await,
        texts(8..=9),
        "a page of a slice is its newest part"
    );
}

#[tokio::test(start_paused = true)]
async fn several_channels_default_to_25_each() {
    let local = Local::new();
    for i in 1..=30 {
        local.publish("a", &format!("m{i}"), "").await;
        local.publish("b%C3%BC", &format!("m{i}"), "").await;
    }
    local.publish("only-one", "m1", "").await;
    let (status, body) = local
        .get("/v3/history/sub-key/k/channel/a,b%C3%BC,only-one,nothing")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(messages(&body, "a"), texts(6..=30));
    assert_eq!(messages(&body, "bü"), texts(6..=30));
    assert_eq!(messages(&body, "only-one"), texts(1..=1));
    assert_eq!(body["channels"].as_object().unwrap().len(), 3);
    let (_, body) = local
        .get("/v3/history/sub-key/k/channel/a,only-one?max=100")
        .await;
    assert_eq!(
        messages(&body, "a").len(),
        25,
        "the maximum for several channels"
    );
    let (_, body) = local
        .get("/v3/history/sub-key/k/channel/a,only-one?max=2")
        .await;
    assert_eq!(messages(&body, "a"), texts(29..=30));
}

#[tokio::test(start_paused = true)]
async fn counts_are_exclusive_of_the_timetoken() {
    let local = Local::new();
    let a1 = local.publish("a", "m1", "").await;
    let a2 = local.publish("a", "m2", "").await;
    let b1 = local.publish("b", "m1", "").await;

    let (status, body) = local
        .get(&format!(
            "/v3/history/sub-key/k/message-counts/a,b,c?timetoken={a1}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"status": 200, "error": false, "error_message": "",
               "channels": {"a": 1, "b": 1, "c": 0}})
    );
    let (_, body) = local
        .get(&format!(
            "/v3/history/sub-key/k/message-counts/a,b?channelsTimetoken={}%2C{b1}",
            a1 - 1
        ))
        .await;
    assert_eq!(body["channels"], json!({"a": 2, "b": 0}));
    let (_, body) = local
        .get(&format!(
            "/v3/history/sub-key/k/message-counts/a,b?channelsTimetoken={a2}"
        ))
        .await;
    assert_eq!(
        body["channels"],
        json!({"a": 0, "b": 1}),
        "one value for all"
    );

    for (query, message) in [
        ("", "timetoken or channelsTimetoken is required"),
        (
            "timetoken=1&channelsTimetoken=1,2",
            "Use timetoken or channelsTimetoken, not both",
        ),
        (
            "channelsTimetoken=1,2,3",
            "channelsTimetoken does not match the channels",
        ),
        ("timetoken=abc", "Invalid timetoken: timetoken"),
        (
            "channelsTimetoken=1,x",
            "Invalid timetoken: channelsTimetoken",
        ),
    ] {
        let (status, body) = local
            .get(&format!("/v3/history/sub-key/k/message-counts/a,b?{query}"))
            .await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body, history_error(message), "{query}");
    }
}

#[tokio::test(start_paused = true)]
async fn delete_takes_start_as_the_excluded_bound_either_way_round() {
    let local = Local::new();
    let mut tts = Vec::new();
    for i in 1..=6 {
        tts.push(local.publish("ch", &format!("m{i}"), "").await);
    }
    let delete = |query: String| {
        let local = &local;
        async move {
            let (status, body) = local
                .call(
                    Method::DELETE,
                    &format!("/v3/history/sub-key/k/channel/ch?{query}"),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                body,
                json!({"status": 200, "error": false, "error_message": ""})
            );
        }
    };
    // REST page recipe for one message: end = T, start = T + 1.
    delete(format!("end={}&start={}", tts[1], tts[1] + 1)).await;
    // JS SDK page recipe: start = T - 1, end = T.
    delete(format!("start={}&end={}", tts[3] - 1, tts[3])).await;
    assert_eq!(
        local.fetch("ch", "").await,
        vec![json!("m1"), json!("m3"), json!("m5"), json!("m6")]
    );
    // Equal bounds delete nothing; `start` alone deletes what is older.
    delete(format!("start={0}&end={0}", tts[4])).await;
    delete(format!("start={}", tts[2])).await;
    assert_eq!(
        local.fetch("ch", "").await,
        vec![json!("m3"), json!("m5"), json!("m6")]
    );
    delete(String::new()).await;
    assert!(local.fetch("ch", "").await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn bad_arguments_get_history_error_bodies() {
    let local = Local::new();
    let many: Vec<String> = (0..501).map(|i| format!("c{i}")).collect();
    let cases = [
        (
            "/v3/history/sub-key/k/channel/ch?start=abc",
            "Invalid timetoken: start",
        ),
        (
            "/v3/history/sub-key/k/channel/ch?end=-1",
            "Invalid timetoken: end",
        ),
        ("/v3/history/sub-key/k/channel/ch?max=0", "Invalid max"),
        ("/v3/history/sub-key/k/channel/ch?max=ten", "Invalid max"),
        ("/v3/history/sub-key/k/channel/a%2Cb", "Invalid channel"),
        ("/v3/history/sub-key/k/channel/,", "Invalid channel"),
        (
            "/v3/history-with-actions/sub-key/k/channel/a,b",
            "Multiple channels are not allowed with actions",
        ),
    ];
    for (uri, message) in cases {
        let (status, body) = local.get(uri).await;
        assert_eq!(status, 400, "{uri}");
        assert_eq!(body, history_error(message), "{uri}");
    }
    let (status, body) = local
        .get(&format!("/v3/history/sub-key/k/channel/{}", many.join(",")))
        .await;
    assert_eq!((status, body), (400, history_error("Too many channels")));
    let (status, body) = local
        .get(&format!(
            "/v3/history/sub-key/k/message-counts/{}?timetoken=1",
            many[..101].join(",")
        ))
        .await;
    assert_eq!((status, body), (400, history_error("Too many channels")));
    let (status, body) = local
        .call(Method::DELETE, "/v3/history/sub-key/k/channel/a%2Cb")
        .await;
    assert_eq!((status, body), (400, history_error("Invalid channel")));
    let (status, _) = local
        .call(Method::POST, "/v3/history/sub-key/k/channel/ch")
        .await;
    assert_eq!(status, 405);
}

#[tokio::test(start_paused = true)]
async fn the_history_fault_group_targets_only_history() {
    let local = Local::new();
    local
        .server
        .faults()
        .inject(Fault::status(503).on(Endpoint::History).times(1));
    local.publish("ch", "m1", "").await;
    let (status, body) = local.get("/v3/history/sub-key/k/channel/ch").await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], json!(503));
    assert_eq!(local.fetch("ch", "").await, texts(1..=1));
}

#[tokio::test]
async fn history_over_a_real_socket_with_allowed_keys() {
    let server = common::builder()
        .allowed_keys(["k"])
        .start()
        .await
        .expect("server starts");
    let sent = common::get(&server, "/publish/k/k/0/ch/0/%7B%22a%22%3A1%7D?uuid=u")
        .await
        .json();
    let answer = common::get(
        &server,
        "/v3/history/sub-key/k/channel/ch?include_uuid=true",
    )
    .await;
    assert_eq!(
        answer.headers["content-type"],
        "text/javascript; charset=\"UTF-8\""
    );
    assert_eq!(
        answer.json()["channels"]["ch"],
        json!([{"message": {"a": 1}, "timetoken": sent[2], "uuid": "u"}])
    );
    let refused = common::get(&server, "/v3/history/sub-key/other/channel/ch").await;
    assert_eq!(refused.status, 400);
    server.shutdown().await;
}

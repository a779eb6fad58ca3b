//! Property tests of every parser of untrusted input, on arbitrary bytes and on mutations of
//! valid input: no panic, and a typed error when the input is not valid.
//!
//! SDK side: the subscribe envelope, the typed events built from it, and every REST answer
//! (publish, signal, time, presence, channel groups, error bodies) through the public API with
//! an in-memory transport that answers with arbitrary statuses and bodies.
//! `pubnub-local` side: filter expressions, and paths, query strings and POST bodies through
//! the in-memory router.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use pubnub_engine::subscribe::envelope;
use pubnub_engine::{
    Config, ErrorKind, PubNub, Request, Response, Transport, TransportFuture, Update,
};
use pubnub_local::filter::Filter;
use pubnub_local::Server;
use serde_json::Value;

const VALID_SUBSCRIBE: &[&str] = &[
    r#"{"t":{"t":"17000000000000000","r":1},"m":[]}"#,
    r#"{"t":{"t":"17000000000000001","r":12},"m":[{"a":"1","f":0,"i":"u","s":3,"p":{"t":"17000000000000001","r":12},"k":"s","c":"ch","d":{"text":"hi"},"u":{"m":1},"b":"ch.*","cmt":"chat"}]}"#,
    r#"{"t":{"t":"17000000000000002","r":1},"m":[{"a":"2","f":0,"p":{"t":"17000000000000002","r":1},"k":"s","c":"ch-pnpres","d":{"action":"join","uuid":"u","timestamp":1700000000,"occupancy":2,"state":{"k":1}},"b":"ch-pnpres"}]}"#,
    r#"{"t":{"t":17000000000000003,"r":1},"m":[{"e":1,"p":{"t":"17000000000000003"},"c":"ch","d":"typing"},{"e":"3","p":{"t":"1"},"c":"ch","d":{"source":"actions","event":"added","data":{"type":"reaction","value":"x","messageTimetoken":"1","actionTimetoken":"2"}}}]}"#,
    r#"{"t":{"t":"17000000000000004","r":1},"m":[{"e":2,"p":{"t":"4"},"c":"ch","d":{"source":"objects","version":"2.0","event":"set","type":"uuid","data":{"id":"u"}}},{"e":4,"p":{"t":"5"},"c":"ch","d":{"message":"m","file":{"id":"f","name":"n.txt"}}}]}"#,
    r#"{"t":{"t":"17000000000000005","r":1},"m":[{"p":{"t":"6"},"c":"ch-pnpres","d":{"action":"interval","occupancy":30,"join":["a","b"],"timeout":["c"],"here_now_refresh":false}}]}"#,
    // Hostile shapes (issue 14): a lone surrogate, a number out of range, a wrong type, deep
    // nesting, each beside a good envelope.
    r#"{"t":{"t":"17000000000000006","r":1},"m":[{"p":{"t":"7"},"c":"ch","d":"cut \ud83d"},{"p":{"t":"8"},"c":"ch","d":1}]}"#,
    r#"{"t":{"t":"17000000000000007","r":1},"m":[{"p":{"t":"9"},"c":"ch","d":1e400,"i":"js"},{"p":{"t":"10"},"c":"ch","d":[1,2]}]}"#,
    r#"{"t":{"t":"17000000000000008","r":1},"m":[{"p":{"t":"11"},"c":["ch"],"d":1},{"p":{"t":"12"},"c":"ch","u":{"n":-1e999},"d":1}]}"#,
    r#"{"t":{"t":"17000000000000009","r":1},"m":[{"p":{"t":"13"},"c":"ch","d":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}"#,
];

const VALID_BODIES: &[&str] = &[
    r#"[1,"Sent","17000000000000000"]"#,
    r#"[0,"Message Too Large","17000000000000000"]"#,
    r#"[17000000000000000]"#,
    r#"{"status":200,"message":"OK","service":"Presence","occupancy":2,"uuids":["a",{"uuid":"b","state":{"k":1}}]}"#,
    r#"{"status":200,"message":"OK","payload":{"total_channels":1,"total_occupancy":1,"channels":{"a":{"occupancy":1,"uuids":["u"]}}},"service":"Presence"}"#,
    r#"{"status":200,"message":"OK","payload":{"channels":["a","b"]},"service":"Presence"}"#,
    r#"{"status":200,"message":"OK","payload":{"k":1},"uuid":"u","channel":"a","service":"Presence"}"#,
    r#"{"status":200,"payload":{"channels":{"a":{"k":1}}},"uuid":"u","service":"Presence"}"#,
    r#"{"status":200,"payload":{"channels":["a"],"group":"g"},"service":"channel-registry","error":false}"#,
    r#"{"status":200,"payload":{"groups":["g"],"namespace":""},"service":"channel-registry","error":false}"#,
    r#"{"status":403,"error":true,"message":"Forbidden","payload":{"channels":["a"]},"service":"Access Manager"}"#,
    r#"{"status":400,"error":true,"message":"Invalid Arguments","service":"Presence"}"#,
    r#"{"error":{"message":"Token is expired.","source":"grant","details":[{"message":"x","location":"auth","locationType":"query"}]},"status":403}"#,
    "<html><body>502 Bad Gateway</body></html>",
    "",
];

/// Byte-level mutations of a valid input: flips, inserts, deletions, truncation, splices.
fn mutated(valid: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(valid),
        proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    )
        .prop_map(|(base, edits)| {
            let mut bytes = base.as_bytes().to_vec();
            for (op, at, byte) in edits {
                let at = if bytes.is_empty() {
                    0
                } else {
                    at % bytes.len()
                };
                match op % 5 {
                    0 if !bytes.is_empty() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    2 if !bytes.is_empty() => {
                        bytes.remove(at);
                    }
                    3 => bytes.truncate(at),
                    // Splice a structural character: the mutations that reach deepest.
                    _ => bytes.insert(at, b"{}[],:\"0-e."[usize::from(byte) % 11]),
                }
            }
            bytes
        })
}

fn arbitrary_or_mutated(valid: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..256),
        4 => mutated(valid),
    ]
}

/// Parses, then builds every typed event; nothing may panic, every payload handed on is JSON
/// that parses, and every envelope that could not be decoded says why.
fn parse_subscribe(body: &[u8]) {
    if let Ok(response) = envelope::parse(body) {
        for e in &response.messages {
            let update = Update::from_envelope(e);
            let _ = update.channel();
            match &update {
                Update::Message(m) => {
                    assert!(
                        serde_json::from_str::<serde_json::Value>(m.message.json()).is_ok(),
                        "{}",
                        m.message
                    );
                    let _ = m.message.value();
                }
                Update::Signal(s) => {
                    let _ = s.message.value();
                }
                Update::Undecodable(u) => assert!(!u.reason.is_empty()),
                _ => {}
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        // Failures print their minimal input; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn subscribe_envelopes_never_panic(body in arbitrary_or_mutated(VALID_SUBSCRIBE)) {
        parse_subscribe(&body);
    }

    #[test]
    fn arbitrary_json_values_as_envelopes(value in json_value()) {
        let body = serde_json::json!({"t": {"t": "1", "r": 1}, "m": [value.clone()]});
        parse_subscribe(body.to_string().as_bytes());
        let body = serde_json::json!({"t": value.clone(), "m": value});
        parse_subscribe(body.to_string().as_bytes());
    }

    #[test]
    fn filter_expressions_parse_or_fail_typed(
        text in prop_oneof![
            1 => ".{0,80}",
            2 => mutated(&[
                "meta.priority == 'high'",
                "(a > 1 && b < 2.5) || !(c != \"x\")",
                "meta.tags contains 'vip' && data.n >= -3",
                "meta.region like 'us-*' || meta.k[1] == 2",
                "uuid in ('a','b')",
            ]).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ],
        meta in json_value(),
        data in json_value(),
    ) {
        if let Ok(filter) = Filter::parse(&text) {
            let _ = filter.matches(Some(&meta), &data);
            let _ = filter.matches(None, &data);
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9\\-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                proptest::sample::select(vec![
                    "t",
                    "r",
                    "m",
                    "c",
                    "d",
                    "p",
                    "e",
                    "b",
                    "i",
                    "s",
                    "u",
                    "action",
                    "uuid",
                    "occupancy",
                    "join",
                    "timeout",
                    "leave",
                    "source",
                    "event",
                    "data",
                    "type",
                    "message",
                    "file",
                    "id",
                    "name",
                    "status",
                    "payload",
                    "channels",
                    "error"
                ])
                .prop_map(str::to_string),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Answers every request with the same status, body and `Retry-After`.
#[derive(Debug)]
struct Fixed(u16, Vec<u8>, Option<u32>);

impl Transport for Fixed {
    fn send(&self, _request: Request) -> TransportFuture {
        let mut response = Response::new(self.0, self.1.clone());
        response.retry_after = self.2;
        Box::pin(async move { Ok(response) })
    }
}

/// Every REST request of the client, answered with `status` and `body`: each ends in a value or
/// a typed error, never a panic; an error status is never a success.
async fn every_request(status: u16, body: Vec<u8>, retry_after: Option<u32>) {
    let config = Config::builder("sub", "me")
        .publish_key("pub")
        .transport(Arc::new(Fixed(status, body.clone(), retry_after)))
        .build()
        .unwrap();
    let pubnub = PubNub::new(config).unwrap();
    let json = serde_json::json!({"k": 1});
    let outcomes: Vec<(&str, Result<(), pubnub_engine::Error>)> = vec![
        (
            "publish",
            pubnub.publish().channel("c").message(&1).await.map(drop),
        ),
        (
            "publish post",
            pubnub
                .publish()
                .channel("c")
                .message(&1)
                .use_post(true)
                .await
                .map(drop),
        ),
        (
            "signal",
            pubnub.signal().channel("c").message(&1).await.map(drop),
        ),
        (
            "fire",
            pubnub.fire().channel("c").message(&1).await.map(drop),
        ),
        ("time", pubnub.time().await.map(drop)),
        (
            "here_now",
            pubnub.here_now().channels(["a", "b"]).await.map(drop),
        ),
        ("here_now global", pubnub.here_now().await.map(drop)),
        ("where_now", pubnub.where_now().await.map(drop)),
        (
            "set_state",
            pubnub
                .set_state()
                .channels(["a"])
                .state(&json)
                .await
                .map(drop),
        ),
        (
            "get_state",
            pubnub.get_state().channels(["a"]).await.map(drop),
        ),
        (
            "heartbeat",
            pubnub.heartbeat().channels(["a"]).await.map(drop),
        ),
        ("leave", pubnub.leave().channels(["a"]).await.map(drop)),
        (
            "add to group",
            pubnub
                .add_channel_to_channel_group()
                .channel_group("g")
                .channels(["a"])
                .await
                .map(drop),
        ),
        (
            "remove from group",
            pubnub
                .remove_channel_from_channel_group()
                .channel_group("g")
                .channels(["a"])
                .await
                .map(drop),
        ),
        (
            "list group",
            pubnub
                .list_channels_in_channel_group()
                .channel_group("g")
                .await
                .map(drop),
        ),
        ("list groups", pubnub.list_channel_groups().await.map(drop)),
        (
            "remove group",
            pubnub
                .remove_channel_group()
                .channel_group("g")
                .await
                .map(drop),
        ),
    ];
    for (what, outcome) in outcomes {
        let Err(error) = outcome else {
            assert!(
                (200..300).contains(&status),
                "{what}: HTTP {status} {:?} was taken for a success",
                String::from_utf8_lossy(&body)
            );
            continue;
        };
        assert!(
            !matches!(error.kind(), ErrorKind::InvalidArgument | ErrorKind::Closed),
            "{what}: {error:?}"
        );
        // Display and Debug of any error work, whatever the body held.
        let _ = format!("{error} {error:?}");
    }
}

fn rest_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        // Failures print their minimal input; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn rest_answers_are_values_or_typed_errors(
        status in prop_oneof![
            4 => Just(200u16),
            1 => proptest::sample::select(vec![204u16, 400, 403, 404, 413, 414, 429, 500, 502, 503]),
            1 => 100u16..600,
        ],
        body in arbitrary_or_mutated(VALID_BODIES),
        retry_after in proptest::option::of(0u32..100),
    ) {
        rest_runtime().block_on(every_request(status, body, retry_after));
    }
}

/// Answers handshakes properly and every long-poll, a second later, with the same body.
#[derive(Debug)]
struct LongPolls(Vec<u8>);

impl Transport for LongPolls {
    fn send(&self, request: Request) -> TransportFuture {
        let handshake = request.query_value("tt") == Some("0");
        let body = self.0.clone();
        Box::pin(async move {
            if handshake {
                return Ok(Response::new(200, VALID_SUBSCRIBE[0]));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(Response::new(200, body))
        })
    }
}

/// The subscribe loop fed garbage: it keeps retrying (a 200 it cannot parse is transient) and
/// never panics; its statuses and effects stay consistent.
#[tokio::test(start_paused = true)]
async fn the_subscribe_loop_survives_garbage_answers() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = arbitrary_or_mutated(VALID_SUBSCRIBE);
    for _ in 0..100 {
        let body = strategy.new_tree(&mut runner).unwrap().current();
        let config = Config::builder("sub", "me")
            .transport(Arc::new(LongPolls(body)))
            .build()
            .unwrap();
        let pubnub = PubNub::new(config).unwrap();
        let sub = pubnub
            .channel("c")
            .subscription(pubnub_engine::SubscriptionOptions::new());
        sub.on_update(|u| {
            let _ = u.channel();
        });
        sub.subscribe().unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        let running = pubnub_engine::testing::running_effects(&pubnub).await;
        assert!(running.len() <= 1, "{running:?}");
        drop(sub);
        pubnub.close().await;
        assert!(pubnub_engine::testing::task_tracker(&pubnub).is_empty());
    }
}

/// Valid requests of every endpoint, as the SDK sends them, for mutation.
const VALID_REQUESTS: &[&str] = &[
    "/time/0?uuid=u",
    "/publish/pk/sk/0/chat/0/%22hi%22?uuid=u&seqn=1&meta=%7B%22a%22%3A1%7D&store=1&ttl=2",
    "/signal/pk/sk/0/chat/0/%7B%22t%22%3A1%7D?uuid=u",
    "/v2/subscribe/sk/a,b%2Cc,w.*,d-pnpres/0?tt=0&uuid=u&heartbeat=300&channel-group=g1,g2&filter-expr=meta.a%20%3D%3D%20%271%27&state=%7B%22a%22%3A%7B%22k%22%3A1%7D%7D",
    "/v2/subscribe/sk/a/0?tt=17000000000000000&tr=1&uuid=u",
    "/v2/presence/sub-key/sk/channel/a,b/heartbeat?uuid=u&heartbeat=60&state=%7B%7D",
    "/v2/presence/sub-key/sk/channel/a/leave?uuid=u&channel-group=g",
    "/v2/presence/sub_key/sk/channel/a,b?uuid=u&disable_uuids=0&state=1",
    "/v2/presence/sub-key/sk?uuid=u",
    "/v2/presence/sub-key/sk/uuid/u%2F1?uuid=u",
    "/v2/presence/sub-key/sk/channel/a/uuid/u/data?state=%7B%22k%22%3A1%7D&uuid=u",
    "/v2/presence/sub-key/sk/channel/a/uuid/u?uuid=u",
    "/v1/channel-registration/sub-key/sk/channel-group/g?add=a,b&uuid=u",
    "/v1/channel-registration/sub-key/sk/channel-group/g?remove=a&uuid=u",
    "/v1/channel-registration/sub-key/sk/channel-group/g/remove?uuid=u",
    "/v1/channel-registration/sub-key/sk/channel-group?uuid=u",
];

/// Characters a raw URI may carry, plus percent escapes valid and not.
fn uri_mutation() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(VALID_REQUESTS),
        proptest::collection::vec(
            (
                any::<u8>(),
                any::<usize>(),
                proptest::sample::select(vec![
                    "/",
                    "%",
                    "%2F",
                    "%2C",
                    "%00",
                    "%FF",
                    "%C3",
                    "%ZZ",
                    ",",
                    "..",
                    "?",
                    "&",
                    "=",
                    "+",
                    "*",
                    ":",
                    "-pnpres",
                    "%22",
                    "%7B",
                    "0",
                    "99999999999999999999",
                    "a",
                    "%E6%97%A5",
                    "=%7B%22",
                    "tt=",
                    "&tt=-1",
                ]),
            ),
            1..5,
        ),
    )
        .prop_map(|(base, edits)| {
            let mut text = base.to_string();
            for (op, at, piece) in edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match op % 3 {
                    0 => text.insert_str(at, piece),
                    1 => {
                        let end = (at + piece.len()).min(text.len());
                        let mut end = end;
                        while !text.is_char_boundary(end) {
                            end -= 1;
                        }
                        text.replace_range(at..end, "");
                    }
                    _ => text.truncate(at.max(1)),
                }
            }
            text
        })
}

async fn call(router: &axum::Router, method: &str, uri: &str, body: Vec<u8>) -> Option<u16> {
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .ok()?;
    let mut router = router.clone();
    let response = tower_service::Service::call(&mut router, request)
        .await
        .expect("infallible");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    // Every answer of the server is JSON, so that clients can parse errors too.
    if status != 200 || !uri.starts_with("/time") {
        assert!(
            serde_json::from_slice::<Value>(&bytes).is_ok() || bytes.is_empty(),
            "{uri}: HTTP {status} {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
    Some(status)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1500,
        // Failures print their minimal input; no regression files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn server_routes_and_queries_never_panic(
        uri in prop_oneof![uri_mutation(), "/[ -~]{0,120}"],
        post in any::<bool>(),
        body in arbitrary_or_mutated(&[r#"{"text":"hi"}"#, "\"x\"", "[1,2,3]", "12.5e3"]),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let server = Server::builder()
            .hold(Duration::from_millis(10))
            .build_in_memory();
        let router = server.router();
        let method = if post { "POST" } else { "GET" };
        let body = if post { body } else { Vec::new() };
        if let Some(status) = runtime.block_on(call(&router, method, &uri, body)) {
            prop_assert!((200..600).contains(&status));
        }
    }
}

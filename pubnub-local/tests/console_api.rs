//! The console's API without a browser: its token, the state it reads, the live feed (SSE),
//! publishing and fault switches. `console_browser.rs` drives the page itself.

mod common;

use std::time::Duration;

use common::{answer, client, get, handshake, until, Answer};
use pubnub_local::{Endpoint, Fault, Server, ServerHandle};
use serde_json::{json, Value};

/// The longest the feed may take to send the next event.
const EVENT_WITHIN: Duration = Duration::from_secs(5);

/// Every console route, as (method, path, a body that the route accepts).
const ROUTES: [(&str, &str, &str); 5] = [
    ("GET", "/console", ""),
    ("GET", "/__console/events", ""),
    ("GET", "/__console/state", ""),
    (
        "POST",
        "/__console/publish",
        r#"{"channel":"guarded","message":"hi"}"#,
    ),
    ("POST", "/__console/faults", r#"{"action":"clear"}"#),
];

/// Sends one request to a console route; the feed's open stream is not read (it never ends),
/// every other answer is.
async fn call(server: &ServerHandle, method: &str, path: &str, body: &str) -> Answer {
    let url = format!("{}{path}", server.url());
    let request = match method {
        "GET" => client().get(url),
        _ => client()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string()),
    };
    let response = request.send().await.expect("request");
    let streaming = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if streaming {
        return Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: String::new(),
        };
    }
    answer(response).await
}

/// `POST` of a JSON body, as the page sends it.
async fn post_json(server: &ServerHandle, path: &str, body: &str) -> Answer {
    call(server, "POST", path, body).await
}

/// `/__console/state` as JSON.
async fn state(server: &ServerHandle, query: &str) -> Value {
    let answer = get(server, &format!("/__console/state{query}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

/// The timetoken of a publish's answer, `[1,"Sent","TT"]`.
fn sent(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()[2]
        .as_str()
        .expect("a timetoken string")
        .to_string()
}

/// Unix milliseconds of a timetoken, as the console's JSON gives times.
fn ms(timetoken: &str) -> u64 {
    timetoken.parse::<u64>().expect("digits") / 10_000
}

/// The query part of a console URL: `?token=…`.
fn token_query(url: &str) -> String {
    let (_, query) = url.split_once('?').expect("the URL carries a query");
    format!("?{query}")
}

#[tokio::test]
async fn without_a_secret_key_the_console_is_open() {
    let server = Server::builder().start().await.expect("server starts");
    assert_eq!(
        server.console_url(),
        Some(format!("{}/console", server.url()))
    );
    let page = get(&server, "/console").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(page.text.contains("<script>") && page.text.contains("<style>"));
    // Any token, or none, opens an open console.
    assert_eq!(get(&server, "/console?token=whatever").await.status, 200);
    let body = state(&server, "").await;
    assert_eq!(body["server"]["version"], json!(env!("CARGO_PKG_VERSION")));
    assert_eq!(body["server"]["access_manager"], json!(false));
    assert_eq!(body["server"]["faults_endpoint"], json!(false));
    assert_eq!(body["server"]["recording"], json!(false));
    for (method, path, body) in ROUTES {
        let answer = call(&server, method, path, body).await;
        assert_eq!(answer.status, 200, "{method} {path}: {}", answer.text);
    }
}

#[tokio::test]
async fn a_console_token_guards_every_route() {
    let server = common::builder()
        .console_token("t0k")
        .start()
        .await
        .expect("server starts");
    assert_eq!(
        server.console_url(),
        Some(format!("{}/console?token=t0k", server.url()))
    );
    for (method, path, body) in ROUTES {
        let what = format!("{method} {path}");
        let missing = call(&server, method, path, body).await;
        assert_eq!(missing.status, 401, "{what}: {}", missing.text);
        let empty = call(&server, method, &format!("{path}?token="), body).await;
        assert_eq!(empty.status, 403, "{what}: an empty token is another token");
        for wrong in ["t0", "t0k0", "T0K", "x0k"] {
            let answer = call(&server, method, &format!("{path}?token={wrong}"), body).await;
            assert_eq!(answer.status, 403, "{what} with {wrong}: {}", answer.text);
        }
        let right = call(&server, method, &format!("{path}?token=t0k"), body).await;
        assert_eq!(right.status, 200, "{what}: {}", right.text);
        if path == "/console" {
            assert!(missing.text.contains("token"), "{}", missing.text);
            assert!(
                !missing.text.contains("<script"),
                "the refusal has no script"
            );
            assert_eq!(missing.headers["content-type"], "text/html; charset=utf-8");
        } else {
            assert_eq!(
                missing.json(),
                json!({"status": 401, "error": "The console needs its token: ?token=…"})
            );
            assert_eq!(
                call(&server, method, &format!("{path}?token=nope"), body)
                    .await
                    .json(),
                json!({"status": 403, "error": "Wrong console token."})
            );
        }
    }
    // Other query parameters are ignored; the token is read decoded.
    assert_eq!(
        get(&server, "/__console/state?x=1&token=t0k").await.status,
        200
    );
    assert_eq!(
        get(&server, "/__console/state?token=t%30k").await.status,
        200
    );
    // Refused requests did nothing: only the one with the token published.
    let history = get(&server, "/v3/history/sub-key/demo/channel/guarded").await;
    assert_eq!(history.status, 200, "{}", history.text);
    let messages = &history.json()["channels"]["guarded"];
    assert_eq!(messages.as_array().map(Vec::len), Some(1), "{messages}");

    // A token of any characters: `console_url()` encodes it so that it opens the console.
    let odd = "a b+c&token=d/é?#%";
    let server = Server::builder()
        .console_token(odd)
        .start()
        .await
        .expect("server starts");
    let url = server.console_url().unwrap();
    let page = common::answer(client().get(&url).send().await.expect("request")).await;
    assert_eq!(page.status, 200, "{url}");
    let state_url = url.replace("/console?", "/__console/state?");
    let answer = common::answer(client().get(&state_url).send().await.expect("request")).await;
    assert_eq!(answer.status, 200, "{state_url}");
    assert_eq!(get(&server, "/__console/state?token=a").await.status, 403);
}

#[tokio::test]
async fn a_secret_key_makes_up_a_token_and_never_shows_the_key() {
    const SECRET: &str = "sec-c-TOP-SECRET-4f1d";
    let server = Server::builder()
        .secret_key(SECRET)
        .start()
        .await
        .expect("server starts");
    let url = server.console_url().expect("the console is on");
    assert!(
        url.starts_with(&format!("{}/console?token=", server.url())),
        "{url}"
    );
    let query = token_query(&url);
    let token = query.trim_start_matches("?token=");
    assert_eq!(token.len(), 32, "128 bits in hex: {token}");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    assert!(!token.contains(SECRET));

    let page = answer(client().get(&url).send().await.expect("request")).await;
    assert_eq!(page.status, 200);
    assert!(!page.text.contains(SECRET), "the page holds the secret key");
    let state_answer = get(&server, &format!("/__console/state{query}")).await;
    assert_eq!(state_answer.status, 200);
    assert!(!state_answer.text.contains(SECRET), "{}", state_answer.text);
    assert_eq!(state_answer.json()["server"]["access_manager"], json!(true));
    // Without the token, or with another server's, refused.
    assert_eq!(get(&server, "/console").await.status, 401);
    assert_eq!(get(&server, "/__console/state").await.status, 401);
    let other = Server::builder()
        .secret_key(SECRET)
        .start()
        .await
        .expect("server starts");
    let other_query = token_query(&other.console_url().unwrap());
    assert_ne!(other_query, query, "each server makes up its own token");
    let refused = get(&server, &format!("/__console/state{other_query}")).await;
    assert_eq!(refused.status, 403);
    assert!(!refused.text.contains(SECRET));
    // The feed's first snapshot is the same state: no key there either.
    let mut feed = Feed::open(&server, &query).await;
    let (name, snapshot) = feed.next().await;
    assert_eq!(name, "snapshot");
    assert!(!snapshot.to_string().contains(SECRET));
}

#[tokio::test]
async fn console_off_serves_none_of_it() {
    let server = common::builder()
        .console(false)
        .start()
        .await
        .expect("server starts");
    assert_eq!(server.console_url(), None);
    for (method, path, body) in ROUTES {
        let answer = call(&server, method, path, body).await;
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.text);
    }
    // Off with a token is still off.
    let server = common::builder()
        .console(false)
        .console_token("t0k")
        .start()
        .await
        .expect("server starts");
    assert_eq!(server.console_url(), None);
    assert_eq!(get(&server, "/console?token=t0k").await.status, 404);
    assert_eq!(get(&server, "/__console/state?token=t0k").await.status, 404);
}

#[tokio::test]
async fn state_shows_channels_clients_and_the_last_message() {
    let server = common::server().await;
    let empty = state(&server, "").await;
    assert_eq!(empty["keys"], json!([]));
    assert_eq!(empty["counts"], json!({"channels": 0, "clients": 0}));
    assert_eq!(empty["channels"], json!([]));
    assert_eq!(empty["clients"], json!([]));
    assert_eq!(empty["server"]["hold_ms"], json!(common::HOLD.as_millis()));
    assert_eq!(empty["server"]["faults_endpoint"], json!(true));
    assert_eq!(empty["server"]["recording"], json!(true));

    // {"room":{"mood":"busy"}}
    let presence_state = "%7B%22room%22%3A%7B%22mood%22%3A%22busy%22%7D%7D";
    handshake(
        &server,
        "room",
        &format!("uuid=alice&heartbeat=60&state={presence_state}"),
    )
    .await;
    let published = get(
        &server,
        "/publish/demo/demo/0/room/0/%7B%22text%22%3A%22hi%22%7D?uuid=bob",
    )
    .await;
    let tt = sent(&published);

    let body = state(&server, "").await;
    assert_eq!(body["keys"], json!(["demo"]));
    assert_eq!(body["counts"]["channels"], json!(1), "{body}");
    let channels = body["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 1, "no -pnpres channel: {body}");
    let room = &channels[0];
    assert_eq!(room["sub_key"], json!("demo"));
    assert_eq!(room["name"], json!("room"));
    assert_eq!(room["occupancy"], json!(1));
    assert_eq!(room["occupants"][0]["uuid"], json!("alice"));
    assert_eq!(room["occupants"][0]["state"], json!({"mood": "busy"}));
    let heartbeat = room["occupants"][0]["last_heartbeat"].as_u64().unwrap();
    let expires = room["occupants"][0]["expires"].as_u64().unwrap();
    assert!(
        expires >= heartbeat + 59_000,
        "heartbeat=60: {heartbeat} → {expires}"
    );
    assert_eq!(room["subscribers"], json!(["alice"]));
    assert_eq!(room["buffered"], json!(1), "the published message");
    assert_eq!(room["last_message"], json!(ms(&tt)));

    let alice = body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["uuid"] == json!("alice"))
        .unwrap_or_else(|| panic!("alice is a client: {body}"));
    assert_eq!(alice["sub_key"], json!("demo"));
    assert_eq!(alice["channels"], json!(["room"]));
    assert_eq!(alice["groups"], json!([]));
    assert_eq!(alice["long_polls"], json!(0));
    assert_eq!(
        alice["present"],
        json!([{"channel": "room", "state": {"mood": "busy"}}])
    );
    assert_eq!(alice["last_heartbeat"], json!(heartbeat));
    assert!(alice["last_request"].as_u64().unwrap() <= ms(&tt));
    assert!(body["server"]["now"].as_u64().unwrap() >= ms(&tt));
    assert_eq!(body["faults"], json!([]));

    // A fault shows, with its id; console requests are neither faulted nor recorded.
    let id = server
        .faults()
        .add(Fault::status(503).times(3))
        .expect("added");
    let body = state(&server, "").await;
    assert_eq!(
        body["faults"],
        json!([{"id": id.0, "endpoint": "all", "fault": "status", "status": 503, "times": 3}])
    );
    assert_eq!(
        server.faults().pending()[0].times,
        3,
        "not used by the console"
    );
    let recorded: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert!(
        recorded.iter().all(|path| !path.starts_with("/__console")),
        "{recorded:?}"
    );
    assert!(recorded.iter().any(|path| path.starts_with("/publish/")));
}

/// The console's event stream, read chunk by chunk.
struct Feed {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// Every event read so far, for the message of a test that fails.
    seen: Vec<String>,
    /// Events read but not yet asked for.
    passed: Vec<(String, Value)>,
}

impl Feed {
    async fn open(server: &ServerHandle, query: &str) -> Feed {
        // No overall timeout: the stream stays open; each read has its own below.
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let response = http
            .get(format!("{}/__console/events{query}", server.url()))
            .send()
            .await
            .expect("the feed answers");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Feed {
            response,
            buffer: Vec::new(),
            seen: Vec::new(),
            passed: Vec::new(),
        }
    }

    /// The next event, as its name and its data's JSON; keep-alive comments are skipped.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let block = String::from_utf8(block).expect("UTF-8 events");
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim_start().to_string();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.strip_prefix(' ').unwrap_or(value));
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let value = serde_json::from_str(&data)
                    .unwrap_or_else(|e| panic!("{name} data is not JSON ({e}): {data}"));
                self.seen.push(format!("{name} {data}"));
                return (name, value);
            }
            let chunk = tokio::time::timeout(EVENT_WITHIN, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no event in time; so far: {:#?}", self.seen))
                .expect("the stream reads")
                .expect("the stream stays open");
            self.buffer.extend_from_slice(&chunk);
        }
    }

    /// The first event named `name` whose data satisfies `wanted`, read or already read:
    /// messages and requests race each other, so the events passed over are kept for a later
    /// call rather than dropped.
    async fn until(&mut self, name: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(at) = self
            .passed
            .iter()
            .position(|(got, data)| got == name && wanted(data))
        {
            return self.passed.remove(at).1;
        }
        loop {
            let (got, data) = self.next().await;
            if got == name && wanted(&data) {
                return data;
            }
            self.passed.push((got, data));
        }
    }
}

#[tokio::test]
async fn the_feed_sends_a_snapshot_then_what_happens() {
    let server = common::server().await;
    let before = sent(&get(&server, "/publish/demo/demo/0/room/0/%22before%22?uuid=bob").await);
    let mut feed = Feed::open(&server, "").await;

    let (name, snapshot) = feed.next().await;
    assert_eq!(name, "snapshot");
    assert_eq!(snapshot["channels"][0]["name"], json!("room"));
    assert_eq!(snapshot["channels"][0]["buffered"], json!(1));
    let (name, backlog) = feed.next().await;
    assert_eq!(name, "backlog");
    let messages = backlog["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{backlog}");
    assert_eq!(messages[0]["payload"], json!("before"));
    assert_eq!(messages[0]["timetoken"], json!(before));
    let requests = backlog["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "the publish, not the feed: {backlog}");
    assert_eq!(requests[0]["method"], json!("GET"));
    assert_eq!(
        requests[0]["path"],
        json!("/publish/demo/demo/0/room/0/%22before%22")
    );
    assert_eq!(requests[0]["user"], json!("bob"));
    assert_eq!(requests[0]["status"], json!(200));

    // {"text":"hi"} with meta {"lang":"en"}
    let after = sent(
        &get(
            &server,
            "/publish/demo/demo/0/room/0/%7B%22text%22%3A%22hi%22%7D\
             ?uuid=bob&meta=%7B%22lang%22%3A%22en%22%7D&custom_message_type=chat&seqn=4",
        )
        .await,
    );
    let message = feed
        .until("message", |m| m["timetoken"] == json!(after))
        .await;
    assert_eq!(
        message,
        json!({
            "sub_key": "demo",
            "channel": "room",
            "timetoken": after,
            "at": ms(&after),
            "type": "message",
            "publisher": "bob",
            "meta": {"lang": "en"},
            "custom_message_type": "chat",
            "seqn": 4,
            "payload": {"text": "hi"},
            "truncated": false,
            "encrypted": false,
        })
    );
    let request = feed
        .until("request", |r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("%7B%22text%22%3A%22hi%22%7D"))
        })
        .await;
    assert_eq!(request["status"], json!(200));
    assert_eq!(request["fault"], Value::Null);
    assert!(request["query"].as_str().unwrap().contains("uuid=bob"));
    // The hub changed: a later snapshot shows the second message.
    let snapshot = feed
        .until("snapshot", |s| s["channels"][0]["buffered"] == json!(2))
        .await;
    assert_eq!(snapshot["channels"][0]["last_message"], json!(ms(&after)));

    // A faulted request names its fault; a signal is a message event of its type.
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::Time));
    assert_eq!(get(&server, "/time/0").await.status, 503);
    let request = feed
        .until("request", |r| r["path"] == json!("/time/0"))
        .await;
    assert_eq!(request["status"], json!(503));
    assert_eq!(request["fault"], json!("status 503"));
    let signal = sent(&get(&server, "/signal/demo/demo/0/room/0/%22ping%22").await);
    let message = feed
        .until("message", |m| m["timetoken"] == json!(signal))
        .await;
    assert_eq!(message["type"], json!("signal"));
    assert_eq!(message["publisher"], Value::Null);
    assert_eq!(message["payload"], json!("ping"));
}

#[tokio::test]
async fn console_publish_reaches_a_waiting_long_poll() {
    let server = common::builder()
        .hold(Duration::from_secs(10))
        .start()
        .await
        .expect("server starts");
    let hub = server.hub();
    let mut cursor = handshake(&server, "room", "uuid=carol").await;

    for (form, payload, publisher, signal) in [
        (
            json!({"channel": "room", "message": {"n": 1}, "meta": {"from": "test"},
                   "custom_message_type": "note"}),
            json!({"n": 1}),
            "pubnub-local-console",
            false,
        ),
        (
            json!({"channel": "room", "message": "ping", "signal": true, "publisher": "ops"}),
            json!("ping"),
            "ops",
            true,
        ),
    ] {
        let url = format!(
            "{}/v2/subscribe/demo/room/0?tt={cursor}&uuid=carol",
            server.url()
        );
        let poll = tokio::spawn(async move { client().get(url).send().await });
        until(|| hub.waiting_subscribers() == 1).await;
        let answer = post_json(&server, "/__console/publish", &form.to_string()).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let reply = answer.json();
        assert_eq!(reply["status"], json!(200));
        let tt = reply["timetoken"].as_str().expect("a timetoken string");
        let received = tokio::time::timeout(Duration::from_secs(5), poll)
            .await
            .expect("the long-poll answers at once")
            .unwrap()
            .expect("answered");
        let received = answer_json(received).await;
        let envelope = &received["m"][0];
        assert_eq!(envelope["c"], json!("room"));
        assert_eq!(envelope["d"], payload);
        assert_eq!(envelope["i"], json!(publisher));
        assert_eq!(envelope["p"]["t"], json!(tt));
        if signal {
            assert_eq!(envelope["e"], json!(1), "a signal");
        } else {
            assert!(envelope.get("e").is_none(), "a message: {envelope}");
            assert_eq!(envelope["u"], json!({"from": "test"}));
            assert_eq!(envelope["cmt"], json!("note"));
        }
        cursor = received["t"]["t"].as_str().unwrap().to_string();
    }
    // Messages are stored unless the form says not to; signals never are.
    let unstored = json!({"channel": "room", "message": "gone", "store": false});
    let answer = post_json(&server, "/__console/publish", &unstored.to_string()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let history = get(&server, "/v3/history/sub-key/demo/channel/room")
        .await
        .json();
    let stored: Vec<&Value> = history["channels"]["room"]
        .as_array()
        .expect("room's history")
        .iter()
        .map(|m| &m["message"])
        .collect();
    assert_eq!(stored, vec![&json!({"n": 1})]);
}

async fn answer_json(response: reqwest::Response) -> Value {
    let answer = answer(response).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

#[tokio::test]
async fn console_publish_refuses_bad_forms_with_a_reason() {
    let server = common::server().await;
    let bad: [(&str, u16, &str); 10] = [
        ("nope", 400, "Invalid form"),
        ("", 400, "Invalid form"),
        (r#"{"message":"hi"}"#, 400, "missing field `channel`"),
        (r#"{"channel":"room"}"#, 400, "missing field `message`"),
        (r#"{"channel":7,"message":"hi"}"#, 400, "Invalid form"),
        (r#"["room","hi"]"#, 400, "Invalid form"),
        (r#"{"channel":"","message":"hi"}"#, 400, "invalid channel"),
        (
            r#"{"channel":"a,b","message":"hi"}"#,
            400,
            "invalid channel",
        ),
        (
            r#"{"channel":"room-pnpres","message":"hi"}"#,
            400,
            "invalid channel",
        ),
        (
            r#"{"channel":"room","message":"0123456789012345678901234567890123456789012345678901234567890123","signal":true}"#,
            400,
            "Signal size too large",
        ),
    ];
    for (body, status, reason) in bad {
        let answer = post_json(&server, "/__console/publish", body).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
        let reply = answer.json();
        assert_eq!(reply["status"], json!(status));
        let error = reply["error"].as_str().expect("an error string");
        assert!(error.contains(reason), "{body}: {error}");
    }
    let big = json!({"channel": "room", "message": "x".repeat(33 * 1024)});
    let answer = post_json(&server, "/__console/publish", &big.to_string()).await;
    assert_eq!(answer.status, 400);
    assert!(answer.json()["error"]
        .as_str()
        .unwrap()
        .contains("Too Large"));
    // Only JSON: a form post (what a cross-site page could send) is refused.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = client()
            .post(format!("{}/__console/publish", server.url()))
            .body(r#"{"channel":"room","message":"hi"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = common::answer(request.send().await.expect("request")).await;
        assert_eq!(answer.status, 415, "{content_type:?}");
        assert_eq!(answer.json()["error"], json!("Send JSON."));
    }
    let charset = client()
        .post(format!("{}/__console/publish", server.url()))
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(r#"{"channel":"room","message":"ok"}"#);
    assert_eq!(
        common::answer(charset.send().await.unwrap()).await.status,
        200
    );
    // Nothing refused was published; the server still serves.
    let history = get(&server, "/v3/history/sub-key/demo/channel/room")
        .await
        .json();
    assert_eq!(history["channels"]["room"][0]["message"], json!("ok"));
    assert_eq!(history["channels"]["room"].as_array().unwrap().len(), 1);
    assert_eq!(get(&server, "/time/0").await.status, 200);
}

#[tokio::test]
async fn console_faults_switch_a_group_on_and_off_like_the_admin_endpoint() {
    let server = common::server().await;
    // On: the page's switch, a status fault for the publish group "forever".
    let on = r#"{"endpoint":"publish","fault":"status","status":500,"times":10000}"#;
    let answer = post_json(&server, "/__console/faults", on).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let reply = answer.json();
    assert_eq!(reply["status"], json!(200));
    let rules = reply["faults"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    let id = rules[0]["id"].as_u64().expect("an id");
    assert_eq!(
        rules[0],
        json!({"id": id, "endpoint": "publish", "fault": "status", "status": 500, "times": 10000})
    );
    // The same rule, the same id, in /__faults.
    let listed = get(&server, "/__faults").await.json();
    assert_eq!(listed["faults"], reply["faults"]);

    for _ in 0..2 {
        let failed = get(&server, "/publish/demo/demo/0/room/0/%22x%22").await;
        assert_eq!(failed.status, 500, "{}", failed.text);
    }
    let signal = get(&server, "/signal/demo/demo/0/room/0/1").await;
    assert_eq!(signal.status, 200, "signals are another group");
    assert_eq!(
        get(&server, "/time/0").await.status,
        200,
        "other groups served"
    );
    assert_eq!(server.faults().pending()[0].times, 9998);

    // Off: remove by id, as the switch does.
    let off = format!(r#"[{{"action":"remove","id":{id}}}]"#);
    let answer = post_json(&server, "/__console/faults", &off).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["faults"], json!([]));
    assert!(server.faults().pending().is_empty());
    assert_eq!(
        get(&server, "/publish/demo/demo/0/room/0/%22y%22")
            .await
            .status,
        200
    );

    // Several at once, and clear.
    let many = r#"[{"endpoint":"time","fault":"status","status":502,"times":1},
                   {"endpoint":"all","fault":"delay","ms":5,"user":"bob","channel":"room"}]"#;
    let answer = post_json(&server, "/__console/faults", many).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let rules = answer.json()["faults"].clone();
    assert_eq!(rules[0]["endpoint"], json!("time"));
    assert_eq!(rules[1]["user"], json!("bob"));
    assert_eq!(rules[1]["channel"], json!("room"));
    assert_eq!(get(&server, "/time/0").await.status, 502);
    let answer = post_json(&server, "/__console/faults", r#"{"action":"clear"}"#).await;
    assert_eq!(answer.json()["faults"], json!([]));
    assert!(server.faults().pending().is_empty());
}

#[tokio::test]
async fn console_faults_work_without_the_admin_endpoint_and_refuse_bad_commands() {
    let server = Server::builder()
        .hold(common::HOLD)
        .start()
        .await
        .expect("server starts");
    assert_eq!(
        post_json(&server, "/__faults", r#"{"fault":"reset"}"#)
            .await
            .status,
        404,
        "no /__faults without .faults(true)"
    );
    assert_eq!(
        state(&server, "").await["server"]["faults_endpoint"],
        json!(false)
    );
    let on = r#"{"endpoint":"time","fault":"status","status":503,"retry_after":2,"times":2}"#;
    let answer = post_json(&server, "/__console/faults", on).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    for _ in 0..2 {
        let failed = get(&server, "/time/0").await;
        assert_eq!(failed.status, 503);
        assert_eq!(failed.headers["retry-after"], "2");
    }
    assert_eq!(
        get(&server, "/time/0").await.status,
        200,
        "times 2: used up"
    );
    assert_eq!(state(&server, "").await["faults"], json!([]));

    // A fault on every endpoint spares the console's own routes.
    let all = r#"{"fault":"status","status":500,"times":5}"#;
    assert_eq!(
        post_json(&server, "/__console/faults", all).await.status,
        200
    );
    assert_eq!(get(&server, "/console").await.status, 200);
    assert_eq!(state(&server, "").await["faults"][0]["times"], json!(5));
    let published = post_json(
        &server,
        "/__console/publish",
        r#"{"channel":"room","message":1}"#,
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(server.faults().pending()[0].times, 5);
    assert_eq!(get(&server, "/time/0").await.status, 500);
    let answer = post_json(&server, "/__console/faults", r#"{"action":"clear"}"#).await;
    assert_eq!(answer.status, 200);
    assert!(server.faults().pending().is_empty());

    for (body, status) in [
        ("nope", 400),
        ("", 400),
        (r#"{"fault":"explode"}"#, 400),
        (r#"{"action":"explode"}"#, 400),
        (r#"{"action":"remove"}"#, 400),
        (r#"[{"endpoint":"nowhere","fault":"reset"}]"#, 400),
    ] {
        let answer = post_json(&server, "/__console/faults", body).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
        let reply = answer.json();
        assert_eq!(reply["status"], json!(status));
        assert_eq!(reply["error"]["status"], json!(status), "{reply}");
        assert!(reply["error"]["message"].is_string(), "{reply}");
    }
    let plain = client()
        .post(format!("{}/__console/faults", server.url()))
        .body(r#"{"action":"clear"}"#);
    assert_eq!(
        common::answer(plain.send().await.unwrap()).await.status,
        415
    );
    assert!(
        server.faults().pending().is_empty(),
        "nothing refused was applied"
    );
}

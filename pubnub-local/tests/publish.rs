//! Publish, fire, signal, time, and the HTTP basics every endpoint shares.

mod common;

use std::io::Write;

use common::{get, handshake, post, server};
use serde_json::{json, Value};

fn tt_of(body: &Value) -> u64 {
    body[2]
        .as_str()
        .expect("timetoken string")
        .parse()
        .expect("digits")
}

#[tokio::test]
async fn time_is_a_number_in_an_array() {
    let server = server().await;
    let answer = get(&server, "/time/0").await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    let tt = body[0].as_u64().expect("a number");
    assert_eq!(tt.to_string().len(), 17);
    assert_eq!(
        answer.headers["content-type"],
        "text/javascript; charset=\"UTF-8\""
    );
    assert_eq!(answer.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn publish_get_and_receive_with_every_envelope_field() {
    let server = server().await;
    let cursor = handshake(&server, "ch", "uuid=sub").await;
    let answer = get(
        &server,
        "/publish/demo/demo/0/ch/0/%7B%22text%22%3A%22hi%20there%22%7D\
         ?uuid=pub&seqn=7&meta=%7B%22lang%22%3A%22en%22%7D&custom_message_type=chat-msg&store=1&pnsdk=x",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body[0], json!(1));
    assert_eq!(body[1], json!("Sent"));
    let tt = tt_of(&body);
    assert!(tt > cursor.parse::<u64>().unwrap());

    let received = get(
        &server,
        &format!("/v2/subscribe/demo/ch/0?tt={cursor}&tr=12&uuid=sub"),
    )
    .await;
    let body = received.json();
    assert_eq!(body["t"]["t"], json!(tt.to_string()));
    assert_eq!(body["t"]["r"], json!(12), "region echoed");
    let envelope = &body["m"][0];
    assert_eq!(envelope["a"], json!("1"));
    assert_eq!(envelope["f"], json!(0));
    assert_eq!(envelope["k"], json!("demo"));
    assert_eq!(envelope["c"], json!("ch"));
    assert_eq!(envelope["d"], json!({"text": "hi there"}));
    assert_eq!(envelope["p"]["t"], json!(tt.to_string()));
    assert_eq!(envelope["i"], json!("pub"));
    assert_eq!(envelope["s"], json!(7));
    assert_eq!(envelope["u"], json!({"lang": "en"}));
    assert_eq!(envelope["cmt"], json!("chat-msg"));
    assert!(envelope.get("e").is_none());
    assert!(envelope.get("b").is_none(), "direct channel: no b");
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn publish_post_plain_deflated_and_v2() {
    let server = server().await;
    let cursor = handshake(&server, "p", "").await;
    for (path, body) in [
        ("/publish/demo/demo/0/p/0?uuid=a", b"\"plain\"".to_vec()),
        ("/publish/demo/demo/0/p/0?uuid=a", zlib(b"{\"z\":true}")),
        ("/v2/publish/demo/demo/0/p/0", zlib(b"[1,2]")),
    ] {
        let answer = post(&server, path, body).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    }
    let body = get(&server, &format!("/v2/subscribe/demo/p/0?tt={cursor}"))
        .await
        .json();
    let payloads: Vec<&Value> = body["m"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["d"])
        .collect();
    assert_eq!(
        payloads,
        vec![&json!("plain"), &json!({"z": true}), &json!([1, 2])]
    );
}

#[tokio::test]
async fn fire_is_accepted_but_never_delivered() {
    let server = server().await;
    let cursor = handshake(&server, "f", "").await;
    for query in ["store=0&norep=true", "norep=1&store=0"] {
        let answer = get(
            &server,
            &format!("/publish/demo/demo/0/f/0/%22fire%22?{query}"),
        )
        .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()[1], json!("Sent"));
    }
    get(&server, "/publish/demo/demo/0/f/0/%22kept%22?store=0").await;
    let body = get(&server, &format!("/v2/subscribe/demo/f/0?tt={cursor}"))
        .await
        .json();
    assert_eq!(body["m"].as_array().unwrap().len(), 1);
    assert_eq!(body["m"][0]["d"], json!("kept"));
}

#[tokio::test]
async fn signal_is_delivered_with_e_1_and_limited_to_64_bytes() {
    let server = server().await;
    let cursor = handshake(&server, "s", "").await;
    let ok = get(
        &server,
        "/signal/demo/demo/0/s/0/%22typing%22?uuid=me&custom_message_type=typing",
    )
    .await;
    assert_eq!(ok.status, 200);
    let long = format!("%22{}%22", "x".repeat(63));
    let too_big = get(&server, &format!("/signal/demo/demo/0/s/0/{long}")).await;
    assert_eq!(too_big.status, 400);
    assert_eq!(too_big.json()[1], json!("Signal size too large"));
    assert_eq!(tt_of(&too_big.json()).to_string().len(), 17);

    let body = get(&server, &format!("/v2/subscribe/demo/s/0?tt={cursor}"))
        .await
        .json();
    let envelope = &body["m"][0];
    assert_eq!(envelope["e"], json!(1));
    assert_eq!(envelope["d"], json!("typing"));
    assert_eq!(envelope["i"], json!("me"));
    assert_eq!(envelope["cmt"], json!("typing"));
}

#[tokio::test]
async fn publish_errors_use_the_array_shape() {
    let server = server().await;
    let big = format!("%22{}%22", "x".repeat(32 * 1024));
    let cases = [
        ("/publish/demo/demo/0/c/0/%7Bnot%20json", "Invalid JSON"),
        ("/publish/demo/demo/0/c/0/", "Invalid JSON"),
        ("/publish/demo/demo/0/c/0/1?meta=%7Bbad", "Invalid JSON"),
        (
            &format!("/publish/demo/demo/0/c/0/{big}"),
            "Message Too Large",
        ),
        ("/publish/demo/demo/0/c-pnpres/0/1", "Invalid Channel"),
        ("/publish/demo/demo/0/a.*/0/1", "Invalid Channel"),
        ("/publish/demo/demo/0/a%2Fb/0/1", "Invalid Channel"),
        ("/publish/demo/demo/0/a%2Cb/0/1", "Invalid Channel"),
        ("/publish/demo/demo/0/a%20b/0/1", "Invalid Channel"),
        ("/publish/demo/demo/0/%FF/0/1", "Invalid Channel"),
        ("/publish/demo/demo/0/c/0/%22%FF%22", "Invalid JSON"),
    ];
    for (path, message) in cases {
        let answer = get(&server, path).await;
        assert_eq!(answer.status, 400, "{path}");
        let body = answer.json();
        assert_eq!(body[0], json!(0), "{path}");
        assert_eq!(body[1], json!(message), "{path}");
        assert_eq!(tt_of(&body).to_string().len(), 17);
    }
    let long_name = "n".repeat(93);
    let answer = get(&server, &format!("/publish/demo/demo/0/{long_name}/0/1")).await;
    assert_eq!(answer.json()[1], json!("Invalid Channel"));

    let answer = post(&server, "/publish/demo/demo/0/c/0", vec![b'1'; 40 * 1024]).await;
    assert_eq!(answer.json()[1], json!("Message Too Large"));
    let bomb = zlib(&vec![b' '; 10 * 1024 * 1024]);
    let answer = post(&server, "/publish/demo/demo/0/c/0", bomb).await;
    assert_eq!(answer.json()[1], json!("Message Too Large"));
}

#[tokio::test]
async fn allowed_keys_reject_others() {
    let server = common::builder()
        .allowed_keys(["pub-ok", "sub-ok"])
        .start()
        .await
        .unwrap();
    assert_eq!(
        get(&server, "/publish/pub-ok/sub-ok/0/c/0/1").await.status,
        200
    );
    let answer = get(&server, "/publish/pub-bad/sub-ok/0/c/0/1").await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()[1], json!("Invalid Key"));
    let answer = get(&server, "/publish/pub-ok/sub-bad/0/c/0/1").await;
    assert_eq!(answer.json()["message"], json!("Invalid Subscribe Key"));
    for path in [
        "/v2/subscribe/sub-bad/c/0",
        "/v2/presence/sub-key/sub-bad/channel/c",
        "/v1/channel-registration/sub-key/sub-bad/channel-group",
    ] {
        let answer = get(&server, path).await;
        assert_eq!(answer.status, 400, "{path}");
        assert_eq!(answer.json()["message"], json!("Invalid Subscribe Key"));
    }
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let server = server().await;
    for path in [
        "/",
        "/nope",
        "/time",
        "/time/1",
        "/v2/subscribe/demo",
        "/publish/a/b/0/c/0/1/extra",
    ] {
        let answer = get(&server, path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.json()["status"], json!(404));
    }
    let answer = post(&server, "/time/0", vec![]).await;
    assert_eq!(answer.status, 405);
    let answer = common::client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/publish/a/b/0/c/0", server.url()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
}

#[tokio::test]
async fn hostile_paths_never_break_the_server() {
    let server = server().await;
    let huge = format!("/publish/demo/demo/0/c/0/{}", "9".repeat(60_000));
    let answer = get(&server, &huge).await;
    assert_eq!(answer.json()[1], json!("Message Too Large"));
    let huge_subscribe = format!("/v2/subscribe/demo/{}/0", "c".repeat(60_000));
    assert_eq!(get(&server, &huge_subscribe).await.status, 414);
    // Beyond what an HTTP client library will even send: 2 MiB of path, raw.
    let head = format!(
        "GET /v2/subscribe/demo/{}/0 HTTP/1.1\r\nHost: x\r\n\r\n",
        "c".repeat(2 << 20)
    );
    let reply = common::raw(&server, head.as_bytes()).await;
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 4"),
        "{}",
        &reply[..reply.len().min(80)]
    );
    // Invalid UTF-8 and garbage bytes in the request line.
    let reply = common::raw(&server, b"GET /time/0\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 4"),
        "{reply}"
    );
    let reply = common::raw(&server, b"\x00\x01\x02 garbage\r\n\r\n").await;
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 4"),
        "{reply}"
    );
    // `../` are plain segments, never a filesystem path; `%2F` cannot hide a separator.
    // (Sent raw: client libraries normalise dot segments away.)
    let dots = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let reply = common::raw(&server, dots("/publish/demo/demo/0/../0/1").as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let reply = common::raw(&server, dots("/time/0/../0").as_bytes()).await;
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    assert_eq!(
        get(&server, "/v2/subscribe/demo/..%2F..%2Fetc/0")
            .await
            .status,
        400
    );
    assert_eq!(
        get(&server, "/v2/subscribe/demo/%FF%FE/0").await.status,
        400
    );
    assert_eq!(get(&server, "/time/0?x=%FF").await.status, 400);
    // Still healthy.
    assert_eq!(get(&server, "/time/0").await.status, 200);
}

#[tokio::test]
async fn plus_is_never_a_space_in_paths() {
    let server = server().await;
    let cursor = handshake(&server, "a+b", "").await;
    get(&server, "/publish/demo/demo/0/a+b/0/%22x+y%22").await;
    let body = get(&server, &format!("/v2/subscribe/demo/a+b/0?tt={cursor}"))
        .await
        .json();
    assert_eq!(body["m"][0]["c"], json!("a+b"));
    assert_eq!(body["m"][0]["d"], json!("x+y"));
}

#[tokio::test]
async fn every_published_message_carries_s_signals_do_not() {
    let server = server().await;
    let cursor = handshake(&server, "ch", "uuid=sub").await;
    // No `seqn`: the service still sends `"s":1` (recordings); a signal has no `s`.
    assert_eq!(
        get(&server, "/publish/demo/demo/0/ch/0/1?uuid=pub")
            .await
            .status,
        200
    );
    assert_eq!(
        get(&server, "/signal/demo/demo/0/ch/0/2?uuid=pub")
            .await
            .status,
        200
    );
    let received = get(
        &server,
        &format!("/v2/subscribe/demo/ch/0?tt={cursor}&uuid=sub"),
    )
    .await;
    let body = received.json();
    let m = body["m"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{body}");
    assert_eq!(m[0]["d"], json!(1));
    assert_eq!(m[0]["s"], json!(1));
    assert_eq!(m[1]["e"], json!(1));
    assert!(m[1].get("s").is_none(), "{}", m[1]);
}

#[tokio::test]
async fn content_types_follow_the_service() {
    let server = server().await;
    let javascript = "text/javascript; charset=\"UTF-8\"";
    for path in [
        "/time/0",
        "/publish/demo/demo/0/ch/0/1",
        "/v2/subscribe/demo/ch/0?tt=0",
        "/v2/presence/sub-key/demo/channel/ch",
        "/v2/presence/sub-key/demo/channel/ch/leave",
        "/publish/demo/demo/0/ch/0/%7B",
    ] {
        let answer = get(&server, path).await;
        assert_eq!(answer.headers["content-type"], javascript, "{path}");
    }
    // The channel registry answers application/json, errors included.
    for path in [
        "/v1/channel-registration/sub-key/demo/channel-group/g?add=a,b",
        "/v1/channel-registration/sub-key/demo/channel-group/g",
        "/v1/channel-registration/sub-key/demo/channel-group",
        "/v1/channel-registration/sub-key/demo/channel-group/g/remove",
        "/v1/channel-registration/sub-key/demo/channel-group/g%3Ax?add=a",
    ] {
        let answer = get(&server, path).await;
        assert_eq!(answer.headers["content-type"], "application/json", "{path}");
        assert_eq!(
            answer.json()["service"],
            json!("channel-registry"),
            "{path}"
        );
    }
}

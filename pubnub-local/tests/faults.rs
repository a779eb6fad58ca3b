//! Fault injection, the admin endpoint, listener stop/restart, shutdown and recording.

mod common;

use std::time::{Duration, Instant};

use common::{client, get, handshake, post, server, until};
use pubnub_local::{Endpoint, Fault};
use serde_json::json;

#[tokio::test]
async fn status_faults_are_bounded_and_carry_retry_after() {
    let server = server().await;
    server.faults().inject(
        Fault::status(503)
            .on(Endpoint::Time)
            .times(2)
            .retry_after(3),
    );
    for _ in 0..2 {
        let answer = get(&server, "/time/0").await;
        assert_eq!(answer.status, 503);
        assert_eq!(answer.headers["retry-after"], "3");
        assert_eq!(answer.json()["status"], json!(503));
    }
    assert_eq!(get(&server, "/time/0").await.status, 200);
    assert!(server.faults().pending().is_empty());
}

#[tokio::test]
async fn faults_only_hit_their_endpoint_group() {
    let server = server().await;
    server
        .faults()
        .inject(Fault::status(500).on(Endpoint::Signal));
    assert_eq!(get(&server, "/publish/demo/demo/0/c/0/1").await.status, 200);
    assert_eq!(get(&server, "/signal/demo/demo/0/c/0/1").await.status, 500);
    server
        .faults()
        .inject(Fault::status(429).on(Endpoint::ChannelGroups));
    assert_eq!(get(&server, "/time/0").await.status, 200);
    let answer = get(
        &server,
        "/v1/channel-registration/sub-key/demo/channel-group",
    )
    .await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.json()["service"], json!("channel-registry"));
}

#[tokio::test]
async fn delay_then_serve() {
    let server = server().await;
    server
        .faults()
        .inject(Fault::delay(Duration::from_millis(150)).on(Endpoint::Time));
    let start = Instant::now();
    assert_eq!(get(&server, "/time/0").await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn reset_truncated_non_json_and_hang() {
    let server = server().await;
    let url = format!("{}/time/0", server.url());
    server.faults().inject(Fault::reset().on(Endpoint::Time));
    let error = client()
        .get(&url)
        .send()
        .await
        .expect_err("connection closed");
    assert!(!error.is_status());

    server
        .faults()
        .inject(Fault::truncated().on(Endpoint::Time));
    let answer = get(&server, "/time/0").await;
    assert_eq!(answer.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&answer.text).is_err());
    assert!(answer.text.starts_with("[1"));

    server.faults().inject(Fault::non_json().on(Endpoint::Time));
    let answer = get(&server, "/time/0").await;
    assert_eq!(answer.status, 200);
    assert!(answer.text.starts_with("<html>"));

    server.faults().inject(Fault::hang().on(Endpoint::Time));
    let quick = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = quick.get(&url).send().await.expect_err("client times out");
    assert!(error.is_timeout());
    assert_eq!(get(&server, "/time/0").await.status, 200);
}

#[tokio::test]
async fn store_then_fail_delivers_the_message_anyway() {
    let server = server().await;
    let cursor = handshake(&server, "dup", "").await;
    server
        .faults()
        .inject(Fault::store_then_fail(500).on(Endpoint::Publish));
    let answer = get(&server, "/publish/demo/demo/0/dup/0/%22once%22?seqn=1").await;
    assert_eq!(answer.status, 500);
    server.faults().inject(Fault::store_then_reset());
    let error = client()
        .get(format!(
            "{}/publish/demo/demo/0/dup/0/%22twice%22",
            server.url()
        ))
        .send()
        .await;
    assert!(error.is_err());
    let body = get(&server, &format!("/v2/subscribe/demo/dup/0?tt={cursor}"))
        .await
        .json();
    let payloads: Vec<_> = body["m"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["d"].clone())
        .collect();
    assert_eq!(payloads, vec![json!("once"), json!("twice")]);
}

#[tokio::test]
async fn drop_long_polls_closes_only_open_ones() {
    let server = server().await;
    let cursor = handshake(&server, "lp", "").await;
    let long_client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/v2/subscribe/demo/lp/0?tt={cursor}", server.url());
    let poll = tokio::spawn(long_client.get(&url).send());
    let hub = server.hub();
    until(|| hub.waiting_subscribers() == 1).await;
    server.faults().drop_long_polls();
    assert!(poll.await.unwrap().is_err(), "closed without a response");
    // The next long-poll works normally.
    let body = get(&server, &format!("/v2/subscribe/demo/lp/0?tt={cursor}"))
        .await
        .json();
    assert_eq!(body["m"], json!([]));
}

#[tokio::test]
async fn stop_and_restart_the_listener_on_the_same_port() {
    let server = server().await;
    let addr = server.addr();
    let cursor = handshake(&server, "sr", "").await;
    let url = format!("{}/v2/subscribe/demo/sr/0?tt={cursor}", server.url());
    let poll = tokio::spawn(client().get(url).send());
    let hub = server.hub();
    until(|| hub.waiting_subscribers() == 1).await;
    server.stop_listener().await;
    assert!(poll.await.unwrap().is_err(), "open connections are dropped");
    let refused = client()
        .get(format!("{}/time/0", server.url()))
        .send()
        .await;
    assert!(refused.is_err(), "nothing listens");
    server.restart_listener().await.unwrap();
    assert_eq!(server.addr(), addr);
    assert_eq!(get(&server, "/time/0").await.status, 200);
}

#[tokio::test]
async fn admin_endpoint_only_when_enabled() {
    let off = pubnub_local::Server::builder().start().await.unwrap();
    let answer = post(&off, "/__faults", br#"{"fault":"reset"}"#.to_vec()).await;
    assert_eq!(answer.status, 404);

    let server = server().await;
    let commands = br#"[
        {"endpoint":"time","fault":"status","status":502,"times":1},
        {"endpoint":"publish","fault":"store_then_fail","status":503}
    ]"#;
    let answer = post(&server, "/__faults", commands.to_vec()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["faults"].as_array().unwrap().len(), 2);
    assert_eq!(get(&server, "/time/0").await.status, 502);
    let listed = get(&server, "/__faults").await.json();
    assert_eq!(listed["faults"][0]["fault"], json!("store_then_fail"));
    post(&server, "/__faults", br#"{"action":"clear"}"#.to_vec()).await;
    assert!(server.faults().pending().is_empty());
    for bad in [
        &b"nope"[..],
        br#"{"fault":"explode"}"#,
        br#"{"action":"explode"}"#,
    ] {
        assert_eq!(post(&server, "/__faults", bad.to_vec()).await.status, 400);
    }
    let answer = post(
        &server,
        "/__faults",
        br#"{"action":"restart_listener","down_ms":100}"#.to_vec(),
    )
    .await;
    assert_eq!(answer.status, 200);
    // The restart completes on its own; wait for the port to answer again.
    let start = Instant::now();
    loop {
        if let Ok(r) = client()
            .get(format!("{}/time/0", server.url()))
            .send()
            .await
        {
            if r.status() == 200 && start.elapsed() >= Duration::from_millis(100) {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "listener came back"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn graceful_shutdown_answers_open_long_polls() {
    let server = common::builder()
        .hold(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let cursor = handshake(&server, "sd", "").await;
    let url = format!("{}/v2/subscribe/demo/sd/0?tt={cursor}", server.url());
    let poll = tokio::spawn(client().get(url).send());
    let hub = server.hub();
    until(|| hub.waiting_subscribers() == 1).await;
    let start = Instant::now();
    server.shutdown().await;
    let response = poll.await.unwrap().expect("answered, not dropped");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body, json!({"t": {"t": cursor, "r": 1}, "m": []}));
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn requests_are_recorded_raw() {
    let server = server().await;
    get(
        &server,
        "/publish/demo/demo/0/a%2Cb/0/%22x%22?meta=%7B%7D&uuid=me",
    )
    .await;
    post(
        &server,
        "/publish/demo/demo/0/c/0?uuid=me",
        b"\"body\"".to_vec(),
    )
    .await;
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/publish/demo/demo/0/a%2Cb/0/%22x%22");
    assert_eq!(requests[0].query, "meta=%7B%7D&uuid=me");
    assert_eq!(requests[0].query_param("meta").as_deref(), Some("{}"));
    assert_eq!(requests[0].path_segments()[4], "a,b");
    assert_eq!(requests[1].body, b"\"body\"");
    server.clear_requests();
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_long_poll_fault_spares_handshakes() {
    let server = server().await;
    server
        .faults()
        .inject(Fault::status(502).on(Endpoint::LongPoll).times(2));
    // Handshakes (no `tt`, `tt=0`) are answered and consume nothing.
    let cursor = handshake(&server, "lp502", "").await;
    assert_eq!(get(&server, "/v2/subscribe/demo/lp502/0").await.status, 200);
    assert_eq!(server.faults().pending()[0].times, 2);
    for _ in 0..2 {
        let answer = get(&server, &format!("/v2/subscribe/demo/lp502/0?tt={cursor}")).await;
        assert_eq!(answer.status, 502);
        assert_eq!(answer.json()["service"], json!("Subscribe"));
    }
    assert!(server.faults().pending().is_empty());
    // Used up: the next long-poll is served (a message waits for it, so it answers at once).
    get(&server, "/publish/demo/demo/0/lp502/0/%22hi%22").await;
    let answer = get(&server, &format!("/v2/subscribe/demo/lp502/0?tt={cursor}")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["m"][0]["d"], json!("hi"));
}

#[tokio::test]
async fn subscribe_and_all_faults_still_hit_handshakes_and_long_polls() {
    let server = server().await;
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::Subscribe));
    assert_eq!(
        get(&server, "/v2/subscribe/demo/sa/0?tt=0").await.status,
        503
    );
    let cursor = handshake(&server, "sa", "").await;
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::Subscribe));
    let url = format!("/v2/subscribe/demo/sa/0?tt={cursor}");
    assert_eq!(get(&server, &url).await.status, 503);
    server.faults().inject(Fault::status(500));
    assert_eq!(get(&server, &url).await.status, 500);
    // Over HTTP, by name.
    let answer = post(
        &server,
        "/__faults",
        br#"{"endpoint":"long-poll","fault":"status","status":504}"#.to_vec(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["faults"][0]["endpoint"], json!("long-poll"));
    assert_eq!(
        get(&server, "/v2/subscribe/demo/sa/0?tt=0").await.status,
        200
    );
    assert_eq!(get(&server, &url).await.status, 504);
}

#[tokio::test]
async fn a_fault_for_one_user_spares_the_other_client() {
    let server = server().await;
    server.faults().inject(
        Fault::status(500)
            .on(Endpoint::Publish)
            .for_user("bob")
            .times(1),
    );
    // Alice asks first: a server-wide fault would have been hers.
    let alice = get(&server, "/publish/demo/demo/0/room/0/%22a%22?uuid=alice").await;
    assert_eq!(alice.status, 200, "{}", alice.text);
    let anonymous = get(&server, "/publish/demo/demo/0/room/0/%22n%22").await;
    assert_eq!(anonymous.status, 200);
    assert_eq!(
        server.faults().pending()[0].times,
        1,
        "not used up by others"
    );
    let bob = get(&server, "/publish/demo/demo/0/room/0/%22b%22?uuid=bob").await;
    assert_eq!(bob.status, 500);
    assert!(server.faults().pending().is_empty());
    let bob = get(&server, "/publish/demo/demo/0/room/0/%22b%22?uuid=bob").await;
    assert_eq!(bob.status, 200, "times(1): once");
}

#[tokio::test]
async fn a_fault_on_one_channel_fails_only_requests_naming_it() {
    let server = server().await;
    // Over HTTP, by name, with both matcher keys in the admin JSON.
    let answer = post(
        &server,
        "/__faults",
        br#"{"endpoint":"all","fault":"status","status":503,"times":3,"channel":"room"}"#.to_vec(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["faults"][0]["channel"], json!("room"));
    assert_eq!(answer.json()["faults"][0].get("user"), None);
    let other = get(&server, "/publish/demo/demo/0/lobby/0/1?uuid=alice").await;
    assert_eq!(other.status, 200);
    assert_eq!(
        get(&server, "/time/0").await.status,
        200,
        "names no channel"
    );
    let room = get(&server, "/publish/demo/demo/0/room/0/1?uuid=alice").await;
    assert_eq!(room.status, 503);
    // A subscribe matches when any of its channels is the channel (names decoded).
    let cursor = handshake(&server, "lobby", "uuid=alice").await;
    let answer = get(&server, "/v2/subscribe/demo/lobby,ro%6Fm/0?tt=0").await;
    assert_eq!(answer.status, 503);
    let presence = get(&server, "/v2/subscribe/demo/room-pnpres/0?tt=0").await;
    assert_eq!(presence.status, 200, "another name");
    let signal = get(&server, "/signal/demo/demo/0/room/0/1").await;
    assert_eq!(signal.status, 503);
    assert!(server.faults().pending().is_empty());
    let answer = get(
        &server,
        &format!("/v2/subscribe/demo/lobby,room/0?tt={cursor}"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn rules_are_listed_with_ids_and_removed_by_id() {
    let server = server().await;
    let kept = server
        .faults()
        .add(Fault::status(502).on(Endpoint::Time))
        .unwrap();
    let answer = post(
        &server,
        "/__faults",
        br#"{"endpoint":"time","fault":"status","status":503}"#.to_vec(),
    )
    .await;
    let listed = answer.json()["faults"].clone();
    assert_eq!(listed[0]["id"], json!(kept.0));
    let removed = listed[1]["id"].as_u64().unwrap();
    let command = format!(r#"{{"action":"remove","id":{removed}}}"#);
    let answer = post(&server, "/__faults", command.clone().into_bytes()).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["faults"].as_array().unwrap().len(), 1);
    // Removing again is fine; without an id it is not.
    assert_eq!(
        post(&server, "/__faults", command.into_bytes())
            .await
            .status,
        200
    );
    let bare = post(&server, "/__faults", br#"{"action":"remove"}"#.to_vec()).await;
    assert_eq!(bare.status, 400);
    assert_eq!(get(&server, "/time/0").await.status, 502);
    assert_eq!(server.faults().remove(kept), None, "used up");
}

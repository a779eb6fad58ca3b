//! The router without sockets, on a paused clock: the path a deterministic simulation takes.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use pubnub_local::{Endpoint, Fault, Server};
use serde_json::{json, Value};

async fn call(router: &axum::Router, uri: &str) -> (u16, Result<Value, String>) {
    let mut router = router.clone();
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let response = tower_service::Service::call(&mut router, request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = match response.into_body().collect().await {
        Ok(bytes) => serde_json::from_slice(&bytes.to_bytes()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    (status, body)
}

#[tokio::test(start_paused = true)]
async fn long_poll_hold_on_a_paused_clock() {
    let server = Server::builder()
        .hold(Duration::from_secs(280))
        .build_in_memory();
    let router = server.router();
    let (_, handshake) = call(&router, "/v2/subscribe/k/c/0?tt=0").await;
    let cursor = handshake.unwrap()["t"]["t"].as_str().unwrap().to_string();

    let start = tokio::time::Instant::now();
    let (status, body) = call(&router, &format!("/v2/subscribe/k/c/0?tt={cursor}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(280),
        "the full hold, in virtual time"
    );
    assert_eq!(body.unwrap(), json!({"t": {"t": cursor, "r": 1}, "m": []}));

    let poll = {
        let router = router.clone();
        let uri = format!("/v2/subscribe/k/c/0?tt={cursor}");
        tokio::spawn(async move { call(&router, &uri).await })
    };
    let hub = server.hub();
    while hub.waiting_subscribers() == 0 {
        tokio::task::yield_now().await;
    }
    tokio::time::advance(Duration::from_secs(100)).await;
    let (status, _) = call(&router, "/publish/k/k/0/c/0/%22late%22").await;
    assert_eq!(status, 200);
    let (_, body) = poll.await.unwrap();
    assert_eq!(body.unwrap()["m"][0]["d"], json!("late"));
    assert_eq!(start.elapsed(), Duration::from_secs(380));
}

#[tokio::test(start_paused = true)]
async fn presence_timeout_on_a_paused_clock() {
    let server = Server::builder().build_in_memory();
    tokio::spawn(server.hub().run_sweeper());
    let router = server.router();
    let (status, _) = call(
        &router,
        "/v2/presence/sub-key/k/channel/room/heartbeat?uuid=u&heartbeat=30",
    )
    .await;
    assert_eq!(status, 200);
    let (_, here) = call(&router, "/v2/presence/sub-key/k/channel/room").await;
    assert_eq!(here.unwrap()["occupancy"], json!(1));
    tokio::time::sleep(Duration::from_secs(31)).await;
    let (_, here) = call(&router, "/v2/presence/sub-key/k/channel/room").await;
    assert_eq!(here.unwrap()["occupancy"], json!(0));
}

#[tokio::test(start_paused = true)]
async fn faults_work_without_sockets() {
    let server = Server::builder().record_requests(true).build_in_memory();
    let router = server.router();
    server.faults().inject(Fault::reset().on(Endpoint::Time));
    let (_, body) = call(&router, "/time/0").await;
    assert!(body.is_err(), "a reset is a body that fails to read");
    server
        .faults()
        .inject(Fault::delay(Duration::from_secs(5)).on(Endpoint::Time));
    let start = tokio::time::Instant::now();
    let (status, _) = call(&router, "/time/0").await;
    assert_eq!(status, 200);
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(server.requests().len(), 2);
}

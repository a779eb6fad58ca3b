//! App Context over HTTP (PROTOCOL.md §19): the answer shapes, include options, list answers
//! with cursors, ETag preconditions, `e: 2` events and error bodies, on the in-memory router.

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

    async fn call_with(
        &self,
        method: Method,
        uri: &str,
        body: &str,
        if_match: Option<&str>,
    ) -> (u16, Value) {
        let mut router = self.server.router();
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json");
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        let request = request.body(Body::from(body.to_string())).unwrap();
        let response = tower_service::Service::call(&mut router, request)
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&bytes)));
        (status, body)
    }

    async fn call(&self, method: Method, uri: &str, body: &str) -> (u16, Value) {
        self.call_with(method, uri, body, None).await
    }
}

#[tokio::test]
async fn objects_have_the_service_shapes() {
    let local = Local::new();
    let (status, body) = local
        .call(
            Method::PATCH,
            "/v2/objects/k/uuids/alice?include=custom",
            r#"{"name":"Alice","custom":{"a":1},"status":"active"}"#,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(body["status"], 200);
    assert_eq!(data["id"], "alice");
    assert_eq!(data["name"], "Alice");
    assert_eq!(data["email"], Value::Null, "unset text fields are null");
    assert_eq!(data["custom"], json!({"a": 1}));
    assert!(
        data.get("status").is_none(),
        "status only with include=status"
    );
    assert!(data["eTag"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(data["updated"].as_str().is_some_and(|u| u.ends_with('Z')));

    let (status, body) = local
        .call(Method::GET, "/v2/objects/k/uuids/alice", "")
        .await;
    assert_eq!(status, 200);
    assert!(
        body["data"].get("custom").is_none(),
        "custom only with include"
    );

    let (status, body) = local
        .call(Method::GET, "/v2/objects/k/channels/nothing", "")
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"status": 404, "error": {"message": "Requested object was not found.", "source": "objects"}})
    );

    for bad in [
        r#"{"custom":{"nested":{"a":1}}}"#,
        r#"{"custom":[1]}"#,
        r#"{"name":5}"#,
        "not json",
    ] {
        let (status, body) = local
            .call(Method::PATCH, "/v2/objects/k/channels/c", bad)
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["source"], "objects");
    }

    let (status, body) = local
        .call(Method::DELETE, "/v2/objects/k/uuids/alice", "")
        .await;
    assert_eq!((status, body), (200, json!({"status": 200, "data": null})));
    let (status, _) = local
        .call(Method::POST, "/v2/objects/k/uuids/alice", "{}")
        .await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn lists_page_with_cursors_and_count() {
    let local = Local::new();
    for i in 0..5 {
        local
            .call(
                Method::PATCH,
                &format!("/v2/objects/k/channels/ch-{i}"),
                &format!(r#"{{"name":"Channel {}"}}"#, 4 - i),
            )
            .await;
    }
    let (status, first) = local
        .call(
            Method::GET,
            "/v2/objects/k/channels?limit=2&count=true&sort=name:desc",
            "",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(first["totalCount"], 5);
    assert!(first.get("prev").is_none());
    let ids: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ch-0", "ch-1"]);
    let next = first["next"].as_str().unwrap();
    let (_, second) = local
        .call(
            Method::GET,
            &format!("/v2/objects/k/channels?limit=2&sort=name:desc&start={next}"),
            "",
        )
        .await;
    assert_eq!(second["data"][0]["id"], "ch-2");
    assert!(second.get("totalCount").is_none(), "count only when asked");
    let (_, last) = local
        .call(
            Method::GET,
            &format!(
                "/v2/objects/k/channels?limit=2&sort=name:desc&start={}",
                second["next"].as_str().unwrap()
            ),
            "",
        )
        .await;
    assert_eq!(last["data"].as_array().unwrap().len(), 1);
    assert!(last.get("next").is_none());

    for bad in [
        "limit=0",
        "limit=101",
        "sort=email:asc",
        "sort=name:up",
        "filter=name%20%3D%3D",
        "start=%21%21",
    ] {
        let (status, body) = local
            .call(Method::GET, &format!("/v2/objects/k/channels?{bad}"), "")
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (_, filtered) = local
        .call(
            Method::GET,
            "/v2/objects/k/channels?filter=name%20like%20%27*3%27%20%7C%7C%20id%20%3D%3D%20%27ch-4%27",
            "",
        )
        .await;
    let ids: Vec<&str> = filtered["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ch-1", "ch-4"]);
}

#[tokio::test]
async fn memberships_if_match_events_and_faults() {
    let local = Local::new();
    let hub = local.server.hub();
    let request = pubnub_local::hub::SubscribeRequest::channels(["room", "alice"]);
    let cursor = hub.subscribe("k", request.clone()).unwrap().await.cursor;

    let (status, set) = local
        .call(
            Method::PATCH,
            "/v2/objects/k/channels/room/uuids?include=custom,uuid",
            r#"{"set":[{"uuid":{"id":"alice"},"custom":{"role":"mod"}}],"delete":[]}"#,
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        set["data"][0]["uuid"],
        json!({"id": "alice"}),
        "no metadata"
    );
    assert_eq!(set["data"][0]["custom"], json!({"role": "mod"}));
    let (_, memberships) = local
        .call(Method::GET, "/v2/objects/k/uuids/alice/channels", "")
        .await;
    assert_eq!(memberships["data"][0]["channel"], json!({"id": "room"}));
    let (status, _) = local
        .call(
            Method::PATCH,
            "/v2/objects/k/uuids/alice/channels",
            r#"{"set":[{"channel":{}}]}"#,
        )
        .await;
    assert_eq!(status, 400);

    let (_, room) = local
        .call(
            Method::PATCH,
            "/v2/objects/k/channels/room",
            r#"{"name":"Room"}"#,
        )
        .await;
    let etag = room["data"]["eTag"].as_str().unwrap().to_owned();
    let (status, refused) = local
        .call_with(
            Method::PATCH,
            "/v2/objects/k/channels/room",
            r#"{"name":"Other"}"#,
            Some("stale"),
        )
        .await;
    assert_eq!(status, 412);
    assert_eq!(refused["status"], 412);
    assert_eq!(refused["error"]["source"], "objects");
    let (status, _) = local
        .call_with(
            Method::DELETE,
            "/v2/objects/k/channels/room",
            "",
            Some(&etag),
        )
        .await;
    assert_eq!(status, 200);

    let response = hub
        .subscribe(
            "k",
            pubnub_local::hub::SubscribeRequest { cursor, ..request },
        )
        .unwrap()
        .await;
    let events: Vec<(String, Value)> = response
        .messages
        .iter()
        .map(|d| (d.message.channel.clone(), d.message.payload.clone()))
        .collect();
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events[0].0, "room");
    assert_eq!(events[1].0, "alice");
    assert_eq!(
        events[0].1,
        json!({"source": "objects", "version": "2.0", "event": "set", "type": "membership",
               "data": {"channel": {"id": "room"}, "uuid": {"id": "alice"}, "custom": {"role": "mod"},
                        "updated": events[0].1["data"]["updated"], "eTag": events[0].1["data"]["eTag"]}})
    );
    assert_eq!(
        events[2].1["data"],
        json!({"id": "room", "name": "Room", "updated": room["data"]["updated"], "eTag": etag}),
        "no null fields in events"
    );
    assert_eq!(events[3].1["event"], "delete");

    local
        .server
        .faults()
        .inject(Fault::status(503).on(Endpoint::AppContext));
    let (status, _) = local.call(Method::GET, "/v2/objects/k/uuids", "").await;
    assert_eq!(status, 503);
    let (status, _) = local.call(Method::GET, "/v2/objects/k/uuids", "").await;
    assert_eq!(status, 200);
}

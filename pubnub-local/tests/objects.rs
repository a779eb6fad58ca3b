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
        let (status, _, text) = self.raw(method, uri, body, if_match).await;
        let body =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
        (status, body)
    }

    /// Status, `Content-Type` and the body as sent.
    async fn raw(
        &self,
        method: Method,
        uri: &str,
        body: &str,
        if_match: Option<&str>,
    ) -> (u16, String, String) {
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
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            content_type,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
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
    // The last page still names the offset past it (the service does); what follows is empty.
    assert_eq!(last["next"], "NQ");
    let (_, after) = local
        .call(Method::GET, "/v2/objects/k/channels?limit=2&start=NQ", "")
        .await;
    assert_eq!(after["data"], json!([]));
    assert!(after.get("next").is_none(), "no next on an empty page");

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

/// `PATCH` members as PubNub's Python SDK's pagination fixture does: 15 uuids, then pages of 10.
#[tokio::test]
async fn next_is_on_every_non_empty_page_and_total_count_only_with_count() {
    let local = Local::new();
    let set: Vec<Value> = (0..15)
        .map(|i| json!({"uuid": {"id": format!("test-fix-118-{i}")}}))
        .collect();
    let body = json!({"set": set, "delete": []}).to_string();
    let (status, all) = local
        .call(
            Method::PATCH,
            "/v2/objects/k/channels/somechannelid/uuids",
            &body,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(all["data"].as_array().unwrap().len(), 15);
    assert_eq!(all["next"], "MTU", "all 15 of 15, and still next");
    assert!(all.get("prev").is_none() && all.get("totalCount").is_none());

    let members = "/v2/objects/k/channels/somechannelid/uuids";
    let (_, first) = local
        .call(Method::GET, &format!("{members}?limit=10"), "")
        .await;
    assert_eq!(
        (first["next"].as_str(), first.get("prev")),
        (Some("MTA"), None)
    );
    let (_, last) = local
        .call(Method::GET, &format!("{members}?limit=10&start=MTA"), "")
        .await;
    assert_eq!(last["data"].as_array().unwrap().len(), 5);
    assert_eq!(
        (&last["next"], &last["prev"]),
        (&json!("MTU"), &json!("MTA"))
    );

    // `include=…totalCount…` is ignored; `count=True` (Python's spelling) counts.
    let include = "include=custom%2Cstatus%2Ctype%2CtotalCount%2Cuuid%2Cuuid.custom";
    let (_, included) = local
        .call(Method::GET, &format!("{members}?{include}"), "")
        .await;
    assert!(included.get("totalCount").is_none(), "{included}");
    let (_, counted) = local
        .call(Method::GET, &format!("{members}?count=True&limit=10"), "")
        .await;
    assert_eq!(counted["totalCount"], 15);

    // Keys in the service's order; an empty list is exactly this.
    let (_, content_type, text) = local
        .raw(
            Method::GET,
            &format!("{members}?count=true&limit=1&start=MTA"),
            "",
            None,
        )
        .await;
    assert_eq!(content_type, "application/json");
    assert!(
        text.starts_with(r#"{"status":200,"data":[{"uuid":{"id":"test-fix-118-5"},"updated":""#)
            && text.ends_with(r#""}],"totalCount":15,"next":"MTE","prev":"MTA"}"#),
        "{text}"
    );
    let (status, content_type, text) = local
        .raw(Method::GET, "/v2/objects/k/uuids/nobody/channels", "", None)
        .await;
    assert_eq!(
        (status, content_type.as_str(), text.as_str()),
        (200, "application/json", r#"{"status":200,"data":[]}"#)
    );
}

/// The nested channel of a membership, as `channel_memberships_with_include_object` recorded it.
#[tokio::test]
async fn nested_objects_are_full_when_included_and_metadata_exists() {
    let local = Local::new();
    let (_, channel) = local
        .call(
            Method::PATCH,
            "/v2/objects/k/channels/somechannel?include=custom,status,type",
            r#"{"name":"some name","description":"This is a bit longer text","status":"active","type":"QAChannel","custom":{"public":false}}"#,
        )
        .await;
    let (updated, etag) = (&channel["data"]["updated"], &channel["data"]["eTag"]);
    assert_eq!(etag.as_str().unwrap().len(), 32);

    let include = "include=custom%2Cstatus%2Ctype%2CtotalCount%2Cchannel%2Cchannel.custom%2Cchannel.type%2Cchannel.status";
    let memberships = "/v2/objects/k/uuids/someuuid/channels";
    let body = r#"{"set": [{"channel": {"id": "somechannel"}, "custom": {"isDefaultChannel": true}, "status": "OFF", "type": "1"}], "delete": []}"#;
    let (status, _, text) = local
        .raw(
            Method::PATCH,
            &format!("{memberships}?{include}"),
            body,
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    let membership = &answer["data"][0];
    let expected = format!(
        r#"{{"status":200,"data":[{{"channel":{{"id":"somechannel","name":"some name","description":"This is a bit longer text","type":"QAChannel","status":"active","custom":{{"public":false}},"updated":{updated},"eTag":{etag}}},"type":"1","status":"OFF","custom":{{"isDefaultChannel":true}},"updated":{},"eTag":{}}}],"next":"MQ"}}"#,
        membership["updated"], membership["eTag"]
    );
    assert_eq!(text, expected);
    let (_, _, again) = local
        .raw(Method::GET, &format!("{memberships}?{include}"), "", None)
        .await;
    assert_eq!(again, expected, "GET answers the same");

    // `channel.custom` alone: the full object without type and status.
    let (_, custom_only) = local
        .call(
            Method::GET,
            &format!("{memberships}?include=custom%2Cchannel.custom"),
            "",
        )
        .await;
    assert_eq!(
        custom_only["data"][0]["channel"],
        json!({"id": "somechannel", "name": "some name", "description": "This is a bit longer text",
               "custom": {"public": false}, "updated": updated, "eTag": etag})
    );
    // No include: `{"id"}` alone, and no custom, status or type of the membership.
    let (_, bare) = local.call(Method::GET, memberships, "").await;
    assert_eq!(
        bare["data"][0],
        json!({"channel": {"id": "somechannel"}, "updated": membership["updated"],
               "eTag": membership["eTag"]})
    );
    // A channel without metadata is `{"id"}` even when included.
    let (_, otter) = local
        .call(
            Method::PATCH,
            &format!("{memberships}?{include}"),
            r#"{"set":[{"channel":{"id":"otterchannel"}}],"delete":[{"channel":{"id":"somechannel"}}]}"#,
        )
        .await;
    assert_eq!(otter["data"][0]["channel"], json!({"id": "otterchannel"}));
}

#[tokio::test]
async fn stale_if_match_answers_the_recorded_412s() {
    let local = Local::new();
    for (path, body, text) in [
        (
            "/v2/objects/k/uuids/someuuid?include=status%2Ctype",
            r#"{"name": "Some name-3", "email": null, "externalId": null, "profileUrl": null}"#,
            "User to update has been modified after it was read.",
        ),
        (
            "/v2/objects/k/channels/somechannelid?include=status%2Ctype",
            r#"{"name": "Some name"}"#,
            "Channel to update has been modified after it was read.",
        ),
    ] {
        let (_, current) = local.call(Method::PATCH, path, body).await;
        let etag = current["data"]["eTag"].as_str().unwrap().to_owned();
        let (status, content_type, refused) = local
            .raw(
                Method::PATCH,
                path,
                body,
                Some("61be2ee0fe1e34816572c9079e1ffeec"),
            )
            .await;
        assert_eq!((status, content_type.as_str()), (412, "application/json"));
        assert_eq!(
            refused,
            format!(r#"{{"status":412,"error":{{"message":"{text}","source":"objects"}}}}"#)
        );
        let (status, _) = local
            .call_with(Method::PATCH, path, r#"{"name":"fresh"}"#, Some(&etag))
            .await;
        assert_eq!(status, 200, "the current eTag is accepted");
    }
    let (status, refused) = local
        .call_with(
            Method::DELETE,
            "/v2/objects/k/channels/somechannelid",
            "",
            Some("stale"),
        )
        .await;
    assert_eq!(status, 412);
    assert_eq!(
        refused["error"]["message"],
        "Channel to delete has been modified after it was read."
    );
    let (status, content_type, text) = local
        .raw(Method::DELETE, "/v2/objects/k/uuids/someuuid", "", None)
        .await;
    assert_eq!(
        (status, content_type.as_str(), text.as_str()),
        (200, "application/json", r#"{"status":200,"data":null}"#)
    );
}

#[tokio::test]
async fn updated_and_etags_have_the_services_forms() {
    let local = Local::new();
    let (_, user) = local
        .call(
            Method::PATCH,
            "/v2/objects/k/uuids/someuuid?include=status%2Ctype",
            r#"{"name":"some name"}"#,
        )
        .await;
    // `PATCH` answers: entity keys in the service's order.
    let (_, _, text) = local
        .raw(
            Method::GET,
            "/v2/objects/k/uuids/someuuid?include=status%2Ctype",
            "",
            None,
        )
        .await;
    assert!(
        text.starts_with(r#"{"status":200,"data":{"id":"someuuid","name":"some name","externalId":null,"profileUrl":null,"email":null,"type":null,"status":null,"updated":"#),
        "{text}"
    );
    let etag = user["data"]["eTag"].as_str().unwrap();
    assert!(
        etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit()),
        "{etag}"
    );
    let updated = user["data"]["updated"].as_str().unwrap();
    let seconds = updated
        .strip_suffix('Z')
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1;
    if let Some((_, fraction)) = seconds.split_once('.') {
        assert!(
            !fraction.is_empty() && !fraction.ends_with('0'),
            "{updated}"
        );
    }
    // Memberships: 14 characters, the same for the same content whenever it was set.
    let (_, members) = local
        .call(
            Method::PATCH,
            "/v2/objects/k/channels/room/uuids",
            r#"{"set":[{"uuid":{"id":"a"}},{"uuid":{"id":"b"}},{"uuid":{"id":"c"},"custom":{"x":1}}]}"#,
        )
        .await;
    let etags: Vec<&str> = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["eTag"].as_str().unwrap())
        .collect();
    assert!(etags.iter().all(|e| e.len() == 14), "{etags:?}");
    assert_eq!(etags[0], etags[1]);
    assert_ne!(etags[0], etags[2]);
}

//! Presence REST and channel groups over HTTP.

mod common;

use common::{get, handshake, server};
use serde_json::{json, Value};

const OK: &str = r#"{"status":200,"message":"OK","service":"Presence"}"#;

#[tokio::test]
async fn heartbeat_and_leave_at_both_paths() {
    let server = server().await;
    let cursor = handshake(&server, "room-pnpres", "").await;
    for (key_word, uuid) in [("sub-key", "a"), ("sub_key", "b")] {
        let answer = get(
            &server,
            &format!(
                "/v2/presence/{key_word}/demo/channel/room/heartbeat?uuid={uuid}&heartbeat=60"
            ),
        )
        .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json(), serde_json::from_str::<Value>(OK).unwrap());
    }
    let answer = get(
        &server,
        "/v2/presence/sub_key/demo/channel/room/leave?uuid=a",
    )
    .await;
    assert_eq!(
        answer.json(),
        json!({"status": 200, "action": "leave", "message": "OK", "service": "Presence"})
    );
    let body = get(
        &server,
        &format!("/v2/subscribe/demo/room-pnpres/0?tt={cursor}"),
    )
    .await
    .json();
    let events: Vec<(Value, Value, Value)> = body["m"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["d"]["action"].clone(),
                e["d"]["uuid"].clone(),
                e["d"]["occupancy"].clone(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            (json!("join"), json!("a"), json!(1)),
            (json!("join"), json!("b"), json!(2)),
            (json!("leave"), json!("a"), json!(1)),
        ]
    );
    let timestamp = body["m"][0]["d"]["timestamp"].as_u64().unwrap();
    assert_eq!(timestamp.to_string().len(), 10, "Unix seconds");
}

#[tokio::test]
async fn here_now_single_multi_global() {
    let server = server().await;
    get(
        &server,
        "/v2/presence/sub-key/demo/channel/h1,h2/heartbeat?uuid=u1",
    )
    .await;
    get(
        &server,
        "/v2/presence/sub-key/demo/channel/h1/heartbeat?uuid=u2",
    )
    .await;
    get(
        &server,
        "/v2/presence/sub-key/demo/channel/h1/uuid/u1/data?state=%7B%22k%22%3A1%7D",
    )
    .await;

    let single = get(&server, "/v2/presence/sub-key/demo/channel/h1")
        .await
        .json();
    assert_eq!(
        single,
        json!({"status": 200, "message": "OK", "service": "Presence", "uuids": ["u1", "u2"], "occupancy": 2})
    );
    let with_state = get(&server, "/v2/presence/sub-key/demo/channel/h1?state=1")
        .await
        .json();
    assert_eq!(
        with_state["uuids"],
        json!([{"uuid": "u1", "state": {"k": 1}}, {"uuid": "u2"}])
    );
    let counts = get(
        &server,
        "/v2/presence/sub-key/demo/channel/h1?disable_uuids=1",
    )
    .await
    .json();
    assert!(counts.get("uuids").is_none());
    assert_eq!(counts["occupancy"], json!(2));
    let paged = get(
        &server,
        "/v2/presence/sub-key/demo/channel/h1?limit=1&offset=1",
    )
    .await
    .json();
    assert_eq!(paged["uuids"], json!(["u2"]));
    let empty = get(&server, "/v2/presence/sub-key/demo/channel/nobody")
        .await
        .json();
    assert_eq!(empty["occupancy"], json!(0));
    assert_eq!(empty["uuids"], json!([]));

    let multi = get(&server, "/v2/presence/sub-key/demo/channel/h1,h2,nobody")
        .await
        .json();
    assert_eq!(
        multi["payload"],
        json!({
            "channels": {
                "h1": {"uuids": ["u1", "u2"], "occupancy": 2},
                "h2": {"uuids": ["u1"], "occupancy": 1},
            },
            "total_channels": 2,
            "total_occupancy": 3,
        })
    );
    for path in [
        "/v2/presence/sub-key/demo",
        "/v2/presence/sub_key/demo?disable_uuids=1",
    ] {
        let global = get(&server, path).await.json();
        assert_eq!(global["payload"]["total_occupancy"], json!(3), "{path}");
        assert_eq!(global["payload"]["channels"]["h2"]["occupancy"], json!(1));
    }
    let groups = get(
        &server,
        "/v1/channel-registration/sub-key/demo/channel-group/hg?add=h2",
    )
    .await;
    assert_eq!(groups.status, 200);
    let by_group = get(
        &server,
        "/v2/presence/sub-key/demo/channel/,?channel-group=hg",
    )
    .await
    .json();
    assert_eq!(by_group["payload"]["channels"]["h2"]["occupancy"], json!(1));
}

#[tokio::test]
async fn where_now_and_state() {
    let server = server().await;
    get(
        &server,
        "/v2/presence/sub-key/demo/channel/s1,s2/heartbeat?uuid=me",
    )
    .await;
    let where_now = get(&server, "/v2/presence/sub-key/demo/uuid/me")
        .await
        .json();
    assert_eq!(where_now["payload"], json!({"channels": ["s1", "s2"]}));
    let nowhere = get(&server, "/v2/presence/sub-key/demo/uuid/ghost")
        .await
        .json();
    assert_eq!(nowhere["payload"], json!({"channels": []}));

    let set = get(
        &server,
        "/v2/presence/sub-key/demo/channel/s1,s2/uuid/me/data?state=%7B%22mood%22%3A%22ok%22%7D",
    )
    .await;
    assert_eq!(set.json()["payload"], json!({"mood": "ok"}));
    let single = get(&server, "/v2/presence/sub-key/demo/channel/s1/uuid/me")
        .await
        .json();
    assert_eq!(
        single,
        json!({"status": 200, "message": "OK", "service": "Presence", "payload": {"mood": "ok"}, "uuid": "me", "channel": "s1"})
    );
    let multi = get(&server, "/v2/presence/sub-key/demo/channel/s1,s2/uuid/me")
        .await
        .json();
    assert_eq!(
        multi["payload"]["channels"],
        json!({"s1": {"mood": "ok"}, "s2": {"mood": "ok"}})
    );
    assert_eq!(multi["uuid"], json!("me"));

    let missing = get(&server, "/v2/presence/sub-key/demo/channel/s1/uuid/me/data").await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["message"], json!("No state specified."));
    let not_object = get(
        &server,
        "/v2/presence/sub-key/demo/channel/s1/uuid/me/data?state=5",
    )
    .await;
    assert_eq!(not_object.status, 400);
    let cleared = get(
        &server,
        "/v2/presence/sub-key/demo/channel/s1/uuid/me/data?state=%7B%7D",
    )
    .await;
    assert_eq!(cleared.status, 200);
    let single = get(&server, "/v2/presence/sub-key/demo/channel/s1/uuid/me")
        .await
        .json();
    assert_eq!(single["payload"], json!({}));
}

#[tokio::test]
async fn presence_errors() {
    let server = server().await;
    for path in [
        "/v2/presence/sub-key/demo/channel/a%2Cb/heartbeat?uuid=x",
        "/v2/presence/sub-key/demo/channel/,/heartbeat?uuid=x",
        "/v2/presence/sub-key/demo/channel/a/heartbeat",
        "/v2/presence/sub-key/demo/channel/a/heartbeat?uuid=x&state=%5B1%5D",
        "/v2/presence/sub-key/demo/channel/a/leave",
    ] {
        let answer = get(&server, path).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.text);
        assert_eq!(answer.json()["service"], json!("Presence"), "{path}");
    }
    assert_eq!(
        get(&server, "/v2/presence/sub-key/demo/channel/a/bogus")
            .await
            .status,
        404
    );
    assert_eq!(
        get(&server, "/v2/presence/wrong/demo/channel/a")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn channel_groups_registry() {
    let server = server().await;
    let base = "/v1/channel-registration/sub-key/demo/channel-group";
    let ok = json!({"status": 200, "message": "OK", "service": "channel-registry", "error": false});
    assert_eq!(get(&server, &format!("{base}/g1?add=b,a")).await.json(), ok);
    assert_eq!(
        get(&server, &format!("{base}/g1?add=c%2Cd")).await.json(),
        ok
    );
    assert_eq!(get(&server, &format!("{base}/g2?add=x")).await.json(), ok);
    let list = get(&server, &format!("{base}/g1")).await.json();
    assert_eq!(
        list,
        json!({"status": 200, "payload": {"channels": ["a", "b", "c", "d"], "group": "g1"}, "service": "channel-registry", "error": false})
    );
    assert_eq!(
        get(&server, &format!("{base}/g1?remove=a,d")).await.json(),
        ok
    );
    assert_eq!(
        get(&server, &format!("{base}/g1")).await.json()["payload"]["channels"],
        json!(["b", "c"])
    );
    let groups = get(&server, base).await.json();
    assert_eq!(
        groups["payload"],
        json!({"groups": ["g1", "g2"], "namespace": ""})
    );
    assert_eq!(get(&server, &format!("{base}/g1/remove")).await.json(), ok);
    assert_eq!(
        get(&server, base).await.json()["payload"]["groups"],
        json!(["g2"])
    );
    let gone = get(&server, &format!("{base}/g1")).await.json();
    assert_eq!(gone["payload"], json!({"channels": [], "group": "g1"}));

    for bad in [
        format!("{base}/g:1?add=a"),
        format!("{base}/g?add=a%3Ab"),
        format!("{base}/g?add=a.*"),
        format!("{base}/g-pnpres?add=a"),
    ] {
        let answer = get(&server, &bad).await;
        assert_eq!(answer.status, 400, "{bad}");
        assert_eq!(answer.json()["service"], json!("channel-registry"));
        assert_eq!(answer.json()["error"], json!(true));
    }
    let many: Vec<String> = (0..2001).map(|i| format!("c{i}")).collect();
    let answer = get(&server, &format!("{base}/big?add={}", many.join(","))).await;
    assert_eq!(answer.status, 400);
}

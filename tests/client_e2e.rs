//! The client against `pubnub-local`, the project's PubNub-compatible server, over real HTTP
//! on 127.0.0.1: what one side sends, the other understands.

mod support;

use std::time::Duration;

use pubnub_engine::{ErrorKind, Method, PubNub, Request, ReqwestTransport, Transport};
use pubnub_local::{Endpoint, Fault, ServerHandle};
use serde_json::{json, Value};
use support::encode;

async fn server() -> ServerHandle {
    pubnub_local::Server::builder()
        .hold(Duration::from_secs(5))
        .record_requests(true)
        .start()
        .await
        .expect("pubnub-local starts")
}

fn client(server: &ServerHandle, user_id: &str) -> PubNub {
    PubNub::builder("sub-key", user_id)
        .publish_key("pub-key")
        .origin(server.url())
        .build_client()
        .expect("client")
}

/// A raw subscribe request (the subscribe engine is not part of this test): returns the
/// cursor `(tt, region)` and the envelopes.
async fn subscribe(
    server: &ServerHandle,
    channels: &[&str],
    groups: &[&str],
    cursor: Option<(String, u64)>,
) -> ((String, u64), Vec<Value>) {
    let list: Vec<String> = channels.iter().map(|c| encode(c)).collect();
    let list = if list.is_empty() {
        ",".to_string()
    } else {
        list.join(",")
    };
    let mut request = Request::new(Method::Get, format!("/v2/subscribe/sub-key/{list}/0"));
    request.query.push(("uuid", "raw-subscriber".into()));
    match cursor {
        Some((tt, region)) => {
            request.query.push(("tt", tt));
            request.query.push(("tr", region.to_string()));
        }
        None => request.query.push(("tt", "0".into())),
    }
    if !groups.is_empty() {
        request.query.push(("channel-group", groups.join(",")));
    }
    let transport = ReqwestTransport::new(&server.url()).unwrap();
    let response = transport.send(request).await.expect("subscribe answered");
    assert_eq!(response.status, 200, "{:?}", response.body);
    let body: Value = serde_json::from_slice(&response.body).expect("JSON");
    let tt = body["t"]["t"]
        .as_str()
        .expect("t.t is a string")
        .to_string();
    let region = body["t"]["r"].as_u64().expect("t.r is a number");
    let messages = body["m"].as_array().cloned().unwrap_or_default();
    ((tt, region), messages)
}

#[tokio::test]
async fn publish_then_fetch_with_a_raw_subscribe() {
    let server = server().await;
    let pubnub = client(&server, "publisher-1");
    let channel = "ünï?#&=+%2F..";
    let (cursor, none) = subscribe(&server, &[channel], &[], None).await;
    assert!(none.is_empty());

    let message = json!({"text": "hello & welcome / ?#", "n": 1});
    let meta = json!({"priority": "high", "k": "a&b"});
    let get = pubnub
        .publish()
        .channel(channel)
        .message(&message)
        .meta(&meta)
        .custom_message_type("chat-message")
        .await
        .unwrap();
    let post = pubnub
        .publish()
        .channel(channel)
        .message(&"over POST")
        .use_post(true)
        .await
        .unwrap();
    // Fired messages are never delivered to subscribers.
    pubnub
        .fire()
        .channel(channel)
        .message(&"fired")
        .await
        .unwrap();
    assert!(post.timetoken > get.timetoken);

    let (_, envelopes) = subscribe(&server, &[channel], &[], Some(cursor)).await;
    assert_eq!(envelopes.len(), 2, "{envelopes:#?}");
    let first = &envelopes[0];
    assert_eq!(first["c"], channel);
    assert_eq!(first["d"], message);
    assert_eq!(first["u"], meta);
    assert_eq!(first["cmt"], "chat-message");
    assert_eq!(first["i"], "publisher-1");
    assert_eq!(first["s"], 1);
    assert_eq!(first["p"]["t"], get.timetoken.to_string());
    let second = &envelopes[1];
    assert_eq!(second["d"], "over POST");
    assert_eq!(second["s"], 2);
    assert_eq!(second["p"]["t"], post.timetoken.to_string());
}

#[tokio::test]
async fn signals_are_limited_to_64_bytes_on_both_sides() {
    let server = server().await;
    let pubnub = client(&server, "signaller");
    let (cursor, _) = subscribe(&server, &["typing"], &[], None).await;

    // 62 letters and two quotes: exactly 64 bytes of JSON, accepted by client and server.
    let fits = "a".repeat(62);
    pubnub
        .signal()
        .channel("typing")
        .message(&fits)
        .await
        .unwrap();
    let error = pubnub
        .signal()
        .channel("typing")
        .message(&"a".repeat(63))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MessageTooLarge);
    let signals = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/signal/"))
        .count();
    assert_eq!(signals, 1, "the oversized signal was not sent");

    // The server draws the line at the same place.
    let transport = ReqwestTransport::new(&server.url()).unwrap();
    let path = format!(
        "/signal/pub-key/sub-key/0/typing/0/{}",
        encode(&format!("\"{}\"", "a".repeat(63)))
    );
    let response = transport
        .send(Request::new(Method::Get, path))
        .await
        .unwrap();
    assert_eq!(response.status, 400);
    assert!(String::from_utf8_lossy(&response.body).contains("Signal size too large"));

    let (_, envelopes) = subscribe(&server, &["typing"], &[], Some(cursor)).await;
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0]["e"], 1);
    assert_eq!(envelopes[0]["d"], fits.as_str());
}

#[tokio::test]
async fn channel_group_round_trip() {
    let server = server().await;
    let pubnub = client(&server, "grouper");
    pubnub
        .add_channel_to_channel_group()
        .channel_group("family")
        .channels(["news", "sport", "日本"])
        .await
        .unwrap();
    let mut channels = pubnub
        .list_channels_in_channel_group()
        .channel_group("family")
        .await
        .unwrap();
    channels.sort();
    assert_eq!(channels, ["news", "sport", "日本"]);
    assert!(pubnub
        .list_channel_groups()
        .await
        .unwrap()
        .contains(&"family".to_string()));

    pubnub
        .remove_channel_from_channel_group()
        .channel_group("family")
        .channels(["sport"])
        .await
        .unwrap();
    let mut channels = pubnub
        .list_channels_in_channel_group()
        .channel_group("family")
        .await
        .unwrap();
    channels.sort();
    assert_eq!(channels, ["news", "日本"]);

    // A message on a member channel arrives through the group.
    let (cursor, _) = subscribe(&server, &[], &["family"], None).await;
    pubnub
        .publish()
        .channel("日本")
        .message(&"konnichiwa")
        .await
        .unwrap();
    let (_, envelopes) = subscribe(&server, &[], &["family"], Some(cursor)).await;
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0]["c"], "日本");
    assert_eq!(envelopes[0]["b"], "family");

    pubnub
        .remove_channel_group()
        .channel_group("family")
        .await
        .unwrap();
    let channels = pubnub
        .list_channels_in_channel_group()
        .channel_group("family")
        .await
        .unwrap();
    assert!(channels.is_empty());
}

#[tokio::test]
async fn here_now_after_a_heartbeat_and_after_a_leave() {
    let server = server().await;
    let alice = client(&server, "alice");
    let bob = client(&server, "bob");
    alice.heartbeat().channels(["room", "hall"]).await.unwrap();
    bob.heartbeat().channels(["room"]).await.unwrap();

    let room = alice.here_now().channels(["room"]).await.unwrap();
    assert_eq!(room.total_occupancy, 2);
    let mut who: Vec<String> = room.channels[0]
        .occupants
        .iter()
        .map(|o| o.user_id.clone())
        .collect();
    who.sort();
    assert_eq!(who, ["alice", "bob"]);

    let both = bob.here_now().channels(["room", "hall"]).await.unwrap();
    assert_eq!((both.total_channels, both.total_occupancy), (2, 3));
    let counts = bob
        .here_now()
        .channels(["room"])
        .include_uuids(false)
        .await
        .unwrap();
    assert_eq!(counts.channels[0].occupancy, 2);
    assert!(counts.channels[0].occupants.is_empty());

    let mut rooms = alice.where_now().await.unwrap().channels;
    rooms.sort();
    assert_eq!(rooms, ["hall", "room"]);

    alice.leave().channels(["room"]).await.unwrap();
    let room = bob.here_now().channels(["room"]).await.unwrap();
    assert_eq!(room.total_occupancy, 1);
    assert_eq!(room.channels[0].occupants[0].user_id, "bob");
}

#[tokio::test]
async fn set_and_get_state() {
    let server = server().await;
    let pubnub = client(&server, "stateful");
    pubnub.heartbeat().channels(["room"]).await.unwrap();
    let state = json!({"mood": "curious & calm", "level": 3});
    let set = pubnub
        .set_state()
        .channels(["room", "hall"])
        .state(&state)
        .await
        .unwrap();
    assert_eq!(set.state, state);

    let one = pubnub.get_state().channels(["room"]).await.unwrap();
    assert_eq!(one.channels.get("room"), Some(&state));
    let both = client(&server, "observer")
        .get_state()
        .channels(["room", "hall"])
        .user_id("stateful")
        .await
        .unwrap();
    assert_eq!(both.channels.get("hall"), Some(&state));
    assert_eq!(both.channels.get("room"), Some(&state));

    let with_state = pubnub
        .here_now()
        .channels(["room"])
        .include_state(true)
        .await
        .unwrap();
    assert_eq!(
        with_state.channels[0].occupants[0].state,
        Some(state.clone())
    );

    // The stored state rides on the next heartbeat.
    server.clear_requests();
    pubnub.heartbeat().channels(["room"]).await.unwrap();
    let heartbeat = server.requests().pop().unwrap();
    let sent: Value = serde_json::from_str(&heartbeat.query_param("state").unwrap()).unwrap();
    assert_eq!(sent, json!({"room": state}));
}

#[tokio::test]
async fn time_and_server_faults() {
    let server = server().await;
    let pubnub = client(&server, "timer");
    let now = pubnub.time().await.unwrap();
    assert_eq!(now.to_string().len(), 17);

    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::Publish).times(1));
    let error = pubnub.publish().channel("c").message(&1).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 503 });
    assert!(error.is_transient());
    pubnub.publish().channel("c").message(&1).await.unwrap();

    server
        .faults()
        .inject(Fault::non_json().on(Endpoint::Time).times(1));
    assert_eq!(pubnub.time().await.unwrap_err().kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn unknown_keys_are_typed_errors() {
    let server = pubnub_local::Server::builder()
        .allowed_keys(["sub-key", "pub-key"])
        .start()
        .await
        .unwrap();
    let wrong = PubNub::builder("sub-key", "u")
        .publish_key("pub-wrong")
        .origin(server.url())
        .build_client()
        .unwrap();
    let error = wrong.publish().channel("c").message(&1).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 400 });
    assert_eq!(error.message(), "Invalid Key");
}

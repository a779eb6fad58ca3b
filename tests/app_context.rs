//! App Context (user and channel metadata, memberships, members) against `pubnub-local` over
//! loopback: every call, the events other clients' calls cause on `channel_metadata` and
//! `user_metadata` subscriptions, paging, filter and sort, ETag preconditions, and bad input
//! refused before anything is sent.

mod support;

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use pubnub_engine::objects::{MemberInput, MembershipInput, SortDirection};
use pubnub_engine::{AppContextEvent, ErrorKind, StatusCategory, SubscriptionOptions};
use pubnub_local::{Endpoint, Fault, ServerHandle};
use serde_json::json;

use support::local::{client_with, server, within};

#[tokio::test]
async fn metadata_is_set_read_listed_and_removed() {
    let server = server().await;
    let pubnub = client_with(&server, "alice", |b| b);

    let alice = pubnub
        .set_uuid_metadata()
        .name("Alice")
        .email("alice@example.com")
        .custom(json!({"mood": "happy", "age": 30}))
        .status("active")
        .user_type("admin")
        .await
        .unwrap();
    assert_eq!(alice.id, "alice", "the client's own user id by default");
    assert_eq!(alice.name.as_deref(), Some("Alice"));
    assert_eq!(alice.custom, Some(json!({"mood": "happy", "age": 30})));
    assert_eq!(alice.status.as_deref(), Some("active"));
    assert_eq!(alice.user_type.as_deref(), Some("admin"));
    assert!(alice.updated.as_deref().is_some_and(|u| u.ends_with('Z')));
    assert!(alice.etag.is_some());

    let read = pubnub.get_uuid_metadata().user_id("alice").await.unwrap();
    assert_eq!(read, alice);
    let without_custom = pubnub
        .get_uuid_metadata()
        .include_custom(false)
        .await
        .unwrap();
    assert_eq!(without_custom.custom, None);

    // Only the fields given change.
    let renamed = pubnub
        .set_uuid_metadata()
        .user_id("alice")
        .name("Alice B.")
        .await
        .unwrap();
    assert_eq!(renamed.email.as_deref(), Some("alice@example.com"));
    assert_ne!(renamed.etag, alice.etag);

    let room = pubnub
        .set_channel_metadata()
        .channel("room")
        .name("The room")
        .description("Where we talk")
        .custom(json!({"topic": "rust"}))
        .channel_type("public")
        .await
        .unwrap();
    assert_eq!(room.description.as_deref(), Some("Where we talk"));
    assert_eq!(room.channel_type.as_deref(), Some("public"));
    assert_eq!(
        pubnub.get_channel_metadata().channel("room").await.unwrap(),
        room
    );
    let all = pubnub
        .get_all_channel_metadata()
        .include_custom(true)
        .include_total_count(true)
        .await
        .unwrap();
    assert_eq!(all.total_count, Some(1));
    assert_eq!(all.data, vec![room]);

    pubnub
        .remove_channel_metadata()
        .channel("room")
        .await
        .unwrap();
    let missing = pubnub
        .get_channel_metadata()
        .channel("room")
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::Http { status: 404 });
    pubnub.remove_uuid_metadata().await.unwrap();
    assert!(pubnub
        .get_all_uuid_metadata()
        .await
        .unwrap()
        .data
        .is_empty());
    pubnub.close().await;
}

#[tokio::test]
async fn memberships_and_members_are_two_views_of_one_relation() {
    let server = server().await;
    let pubnub = client_with(&server, "admin", |b| b);
    for (id, name) in [("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")] {
        pubnub
            .set_uuid_metadata()
            .user_id(id)
            .name(name)
            .custom(json!({"team": if id == "bob" { "red" } else { "blue" }}))
            .await
            .unwrap();
    }
    pubnub
        .set_channel_metadata()
        .channel("room")
        .name("Room")
        .await
        .unwrap();

    let members = pubnub
        .set_channel_members()
        .channel("room")
        .set([
            MemberInput::new("bob"),
            MemberInput::new("alice").custom(json!({"role": "moderator"})),
        ])
        .include_custom(true)
        .include_user(true)
        .await
        .unwrap();
    let ids: Vec<&str> = members.data.iter().map(|m| m.user.id.as_str()).collect();
    assert_eq!(ids, ["alice", "bob"]);
    assert_eq!(members.data[0].user.name.as_deref(), Some("Alice"));
    assert_eq!(members.data[0].custom, Some(json!({"role": "moderator"})));

    let memberships = pubnub
        .set_memberships()
        .user_id("carol")
        .set([MembershipInput::new("room").status("invited")])
        .await
        .unwrap();
    assert_eq!(memberships.data[0].channel.id, "room");
    assert_eq!(memberships.data[0].channel.name, None, "no include_channel");
    assert_eq!(memberships.data[0].status.as_deref(), Some("invited"));

    let of_alice = pubnub
        .get_memberships()
        .user_id("alice")
        .include_channel(true)
        .include_custom(true)
        .await
        .unwrap();
    assert_eq!(of_alice.data.len(), 1);
    assert_eq!(of_alice.data[0].channel.name.as_deref(), Some("Room"));
    assert_eq!(of_alice.data[0].custom, Some(json!({"role": "moderator"})));

    let blue = pubnub
        .get_channel_members()
        .channel("room")
        .filter("uuid.custom.team == 'blue'")
        .sort("uuid.name", SortDirection::Desc)
        .include_user(true)
        .await
        .unwrap();
    let names: Vec<_> = blue
        .data
        .iter()
        .map(|m| m.user.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["Carol", "Alice"]);

    let after = pubnub
        .manage_channel_members()
        .channel("room")
        .remove(["bob"])
        .set([MemberInput::new("dave")])
        .await
        .unwrap();
    let ids: Vec<&str> = after.data.iter().map(|m| m.user.id.as_str()).collect();
    assert_eq!(ids, ["alice", "carol", "dave"]);
    let left = pubnub
        .remove_memberships()
        .user_id("alice")
        .remove(["room"])
        .await
        .unwrap();
    assert!(left.data.is_empty());
    pubnub.close().await;
}

#[tokio::test]
async fn subscribers_of_the_channel_and_the_user_receive_the_events() {
    let server = server().await;
    let watcher = client_with(&server, "watcher", |b| b);
    let room = watcher
        .channel_metadata("room")
        .subscription(SubscriptionOptions::new());
    let alice = watcher
        .user_metadata("alice")
        .subscription(SubscriptionOptions::new());
    let heard: Arc<Mutex<Vec<AppContextEvent>>> = Arc::default();
    let sink = Arc::clone(&heard);
    room.on_objects(move |event| sink.lock().unwrap().push(event));
    let mut alice_events = alice.objects_stream();
    let mut room_events = room.objects_stream();
    let mut statuses = watcher.status_stream();
    room.subscribe().unwrap();
    alice.subscribe().unwrap();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::Connected
    );
    while server.hub().waiting_subscribers() == 0 {
        tokio::task::yield_now().await;
    }

    let other = client_with(&server, "admin", |b| b);
    other
        .set_channel_metadata()
        .channel("room")
        .name("Room")
        .custom(json!({"topic": "rust"}))
        .await
        .unwrap();
    let event = within(room_events.next()).await.unwrap();
    assert_eq!(
        (event.event.as_str(), event.object_type.as_str()),
        ("set", "channel")
    );
    assert_eq!(event.channel, "room");
    assert_eq!(event.data["id"], "room");
    assert_eq!(event.data["name"], "Room");
    assert_eq!(event.data["custom"]["topic"], "rust");

    other
        .set_uuid_metadata()
        .user_id("alice")
        .name("Alice")
        .await
        .unwrap();
    let event = within(alice_events.next()).await.unwrap();
    assert_eq!(
        (event.event.as_str(), event.object_type.as_str()),
        ("set", "uuid")
    );
    assert_eq!(event.data["name"], "Alice");

    // A membership is announced on both the channel and the user.
    other
        .set_channel_members()
        .channel("room")
        .set([MemberInput::new("alice")])
        .await
        .unwrap();
    for stream in [&mut room_events, &mut alice_events] {
        let event = within(stream.next()).await.unwrap();
        assert_eq!(
            (event.event.as_str(), event.object_type.as_str()),
            ("set", "membership")
        );
        assert_eq!(event.data["channel"]["id"], "room");
        assert_eq!(event.data["uuid"]["id"], "alice");
    }

    other.remove_uuid_metadata().user_id("alice").await.unwrap();
    let event = within(alice_events.next()).await.unwrap();
    assert_eq!(
        (event.event.as_str(), event.object_type.as_str()),
        ("delete", "uuid")
    );
    assert_eq!(event.data, json!({"id": "alice"}));
    other
        .remove_channel_metadata()
        .channel("room")
        .await
        .unwrap();
    let event = within(room_events.next()).await.unwrap();
    assert_eq!(
        (event.event.as_str(), event.object_type.as_str()),
        ("delete", "channel")
    );

    // Setting identical data again changes nothing and announces nothing.
    let set = other
        .set_channel_metadata()
        .channel("room")
        .name("Again")
        .await
        .unwrap();
    let same = other
        .set_channel_metadata()
        .channel("room")
        .name("Again")
        .await
        .unwrap();
    assert_eq!(set.etag, same.etag);
    other
        .set_channel_metadata()
        .channel("room")
        .name("Final")
        .await
        .unwrap();
    let event = within(room_events.next()).await.unwrap();
    assert_eq!(event.data["name"], "Again");
    let event = within(room_events.next()).await.unwrap();
    assert_eq!(
        event.data["name"], "Final",
        "the identical set sent no event"
    );

    within(async {
        while heard.lock().unwrap().len() < 5 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let kinds: Vec<String> = heard
        .lock()
        .unwrap()
        .iter()
        .map(|e| format!("{}:{}", e.event, e.object_type))
        .collect();
    assert_eq!(
        kinds,
        [
            "set:channel",
            "set:membership",
            "delete:channel",
            "set:channel",
            "set:channel"
        ],
        "on_objects saw the room's events"
    );
    watcher.close().await;
    other.close().await;
}

#[tokio::test]
async fn pages_walk_the_list_forwards_and_back() {
    let server = server().await;
    let pubnub = client_with(&server, "admin", |b| b);
    for i in 0..7 {
        pubnub
            .set_uuid_metadata()
            .user_id(format!("user-{i}"))
            .name(format!("User {i}"))
            .await
            .unwrap();
    }
    let first = pubnub
        .get_all_uuid_metadata()
        .limit(3)
        .include_total_count(true)
        .await
        .unwrap();
    assert_eq!(first.data.len(), 3);
    assert_eq!(first.total_count, Some(7));
    assert!(first.prev.is_none());
    let second = pubnub
        .get_all_uuid_metadata()
        .limit(3)
        .start(first.next.clone().unwrap())
        .await
        .unwrap();
    assert_eq!(second.data[0].id, "user-3");
    let back = pubnub
        .get_all_uuid_metadata()
        .limit(3)
        .end(second.prev.clone().unwrap())
        .await
        .unwrap();
    assert_eq!(back.data, first.data);

    let pages: Vec<_> = pubnub
        .get_all_uuid_metadata()
        .limit(3)
        .pages()
        .collect()
        .await;
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p.as_ref().unwrap().data.len())
        .collect();
    assert_eq!(sizes, [3, 3, 1], "three pages");
    let ids: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().data)
        .map(|u| u.id)
        .collect();
    assert_eq!(ids, (0..7).map(|i| format!("user-{i}")).collect::<Vec<_>>());
    pubnub.close().await;
}

#[tokio::test]
async fn filter_and_sort_select_and_order() {
    let server = server().await;
    let pubnub = client_with(&server, "admin", |b| b);
    for (id, name, rank) in [
        ("general", "General", 3),
        ("games", "Games", 1),
        ("random", "Random", 2),
        ("gossip", "Gossip", 4),
    ] {
        pubnub
            .set_channel_metadata()
            .channel(id)
            .name(name)
            .custom(json!({"rank": rank, "open": rank != 4}))
            .await
            .unwrap();
    }
    let ids = |page: pubnub_engine::objects::Page<
        pubnub_engine::objects::ChannelMetadataObject,
    >| { page.data.into_iter().map(|c| c.id).collect::<Vec<_>>() };
    let g = pubnub
        .get_all_channel_metadata()
        .filter("name like 'G*' && custom.open == true")
        .sort("name", SortDirection::Desc)
        .await
        .unwrap();
    assert_eq!(ids(g), ["general", "games"]);
    let either = pubnub
        .get_all_channel_metadata()
        .filter("(id == 'random' || id == 'gossip') && name != 'Gossip'")
        .await
        .unwrap();
    assert_eq!(ids(either), ["random"]);
    let by_update = pubnub
        .get_all_channel_metadata()
        .sort("updated", SortDirection::Desc)
        .await
        .unwrap();
    assert_eq!(ids(by_update), ["gossip", "random", "games", "general"]);
    let by_id = pubnub
        .get_all_channel_metadata()
        .sort("id", SortDirection::Asc)
        .await
        .unwrap();
    assert_eq!(ids(by_id), ["games", "general", "gossip", "random"]);
    pubnub.close().await;
}

#[tokio::test]
async fn a_stale_etag_is_a_precondition_failure() {
    let server = server().await;
    let pubnub = client_with(&server, "alice", |b| b);
    let first = pubnub.set_uuid_metadata().name("Alice").await.unwrap();
    let etag = first.etag.clone().unwrap();
    let second = pubnub
        .set_uuid_metadata()
        .name("Alice 2")
        .if_matches_etag(etag.clone())
        .await
        .unwrap();
    let stale = pubnub
        .set_uuid_metadata()
        .name("Alice 3")
        .if_matches_etag(etag.clone())
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::PreconditionFailed);
    let stale_remove = pubnub
        .remove_uuid_metadata()
        .if_matches_etag(etag)
        .await
        .unwrap_err();
    assert_eq!(stale_remove.kind(), ErrorKind::PreconditionFailed);
    let kept = pubnub.get_uuid_metadata().await.unwrap();
    assert_eq!(kept.name.as_deref(), Some("Alice 2"));
    let with_header = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert_eq!(with_header, 3);
    pubnub
        .remove_uuid_metadata()
        .if_matches_etag(second.etag.unwrap())
        .await
        .unwrap();
    pubnub.close().await;
}

#[tokio::test]
async fn transient_failures_are_retried_when_asked() {
    let server = server().await;
    let pubnub = client_with(&server, "alice", |b| b);
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::AppContext).times(2));
    let set = pubnub
        .set_uuid_metadata()
        .name("Alice")
        .retry(true)
        .await
        .unwrap();
    assert_eq!(set.name.as_deref(), Some("Alice"));
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::AppContext));
    let failed = pubnub.get_uuid_metadata().await.unwrap_err();
    assert_eq!(failed.kind(), ErrorKind::Http { status: 503 });
    pubnub.close().await;
}

fn request_count(server: &ServerHandle) -> usize {
    server.requests().len()
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let server = server().await;
    let pubnub = client_with(&server, "alice", |b| b);
    let long = "x".repeat(93);
    let before = request_count(&server);
    let errors = vec![
        pubnub.set_uuid_metadata().user_id("").await.unwrap_err(),
        pubnub.set_uuid_metadata().user_id(&long).await.unwrap_err(),
        pubnub.set_channel_metadata().channel("").await.unwrap_err(),
        pubnub
            .set_channel_metadata()
            .channel(&long)
            .await
            .unwrap_err(),
        pubnub.get_channel_metadata().await.unwrap_err(),
        pubnub
            .set_uuid_metadata()
            .custom(json!({"nested": {"no": 1}}))
            .await
            .unwrap_err(),
        pubnub
            .set_channel_metadata()
            .channel("c")
            .custom(json!(["not", "an", "object"]))
            .await
            .unwrap_err(),
        pubnub
            .set_channel_members()
            .channel("c")
            .set([MemberInput::new("u").custom(json!({"list": [1]}))])
            .await
            .unwrap_err(),
        pubnub.get_all_uuid_metadata().limit(0).await.unwrap_err(),
        pubnub.get_all_uuid_metadata().limit(101).await.unwrap_err(),
        pubnub
            .get_all_uuid_metadata()
            .filter("(name == 'a'")
            .await
            .unwrap_err(),
        pubnub
            .get_all_uuid_metadata()
            .filter("name == 'a")
            .await
            .unwrap_err(),
        pubnub
            .get_all_uuid_metadata()
            .filter("name == 'a')")
            .await
            .unwrap_err(),
        pubnub
            .get_all_uuid_metadata()
            .sort("channel.name", SortDirection::Asc)
            .await
            .unwrap_err(),
        pubnub.manage_memberships().await.unwrap_err(),
        pubnub
            .set_memberships()
            .set([MembershipInput::new("")])
            .await
            .unwrap_err(),
        pubnub
            .remove_channel_members()
            .channel("c")
            .remove([long.clone()])
            .await
            .unwrap_err(),
        pubnub
            .set_uuid_metadata()
            .if_matches_etag("")
            .await
            .unwrap_err(),
    ];
    for error in &errors {
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    }
    assert_eq!(request_count(&server), before, "nothing was sent");
    pubnub.close().await;
}

#[tokio::test]
async fn signed_app_context_requests_are_accepted() {
    const SECRET: &str = "sec-c-app-context";
    let server = pubnub_local::Server::builder()
        .record_requests(true)
        .secret_key(SECRET)
        .publish_key("pub-key")
        .start()
        .await
        .unwrap();
    let pubnub = client_with(&server, "alice", |b| b.secret_key(SECRET));
    let set = pubnub
        .set_uuid_metadata()
        .name("Alice")
        .custom(json!({"a": 1}))
        .await
        .unwrap();
    pubnub
        .set_uuid_metadata()
        .name("Alice 2")
        .if_matches_etag(set.etag.unwrap())
        .await
        .unwrap();
    pubnub
        .manage_memberships()
        .set([MembershipInput::new("room")])
        .remove(["other"])
        .await
        .unwrap();
    pubnub
        .get_all_channel_metadata()
        .filter("name like 'a*'")
        .sort("name", SortDirection::Asc)
        .await
        .unwrap();
    pubnub.remove_uuid_metadata().await.unwrap();
    let unsigned = client_with(&server, "mallory", |b| b);
    let refused = unsigned.get_uuid_metadata().await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::AccessDenied);
    assert!(server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v2/objects")
            && r.query_param("uuid").as_deref() == Some("alice"))
        .all(|r| r
            .query_param("signature")
            .is_some_and(|s| s.starts_with("v2."))));
    pubnub.close().await;
    unsigned.close().await;
}

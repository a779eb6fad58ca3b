//! Access Manager end to end (issue 19): `pubnub-local` started with a secret key grants and
//! revokes tokens and refuses what a request's token does not allow; a client with the secret
//! key grants, clients with tokens subscribe and publish.
//!
//! The server is `pubnub-local`'s router in memory (tests/support/memory.rs), so the tokio
//! clock is paused: TTLs and long-polls pass in virtual time. Request signatures carry the
//! wall clock on both sides, which a paused tokio clock does not touch.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::access::{parse_token, Permissions};
use pubnub_engine::{ErrorKind, PubNub, StatusCategory, SubscriptionOptions};
use pubnub_local::Server;
use serde_json::json;

use support::memory::Memory;

const SECRET: &str = "sec-c-access-manager";

/// An enforcing server, and its admin client (which holds the secret key).
fn setup() -> (Arc<Memory>, PubNub) {
    let memory = Memory::with_server(
        Server::builder()
            .secret_key(SECRET)
            .publish_key("pub-key")
            .build_in_memory(),
    );
    let admin = memory.client_with("admin", |b| b.secret_key(SECRET));
    (memory, admin)
}

/// A client of `memory` as `user` with `token`.
fn client(memory: &Arc<Memory>, user: &str, token: &str) -> PubNub {
    let client = memory.client(user);
    client.set_token(token).expect("a token");
    client
}

/// Fails the test when `future` takes more than `secs` of (virtual) time.
async fn within<T>(secs: u64, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), future)
        .await
        .expect("timed out")
}

fn subscribes_to(memory: &Memory, channel: &str) -> usize {
    memory
        .seen()
        .iter()
        .filter(|s| s.is_subscribe())
        .filter(|s| {
            s.segments()
                .get(3)
                .is_some_and(|c| c.split(',').any(|c| c == channel))
        })
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_token_for_one_channel_subscribes_there_and_not_elsewhere() {
    let (memory, admin) = setup();
    let token = admin
        .grant_token(60)
        .authorized_user_id("alice")
        .channel("allowed", Permissions::READ)
        .await
        .expect("grant");

    let alice = client(&memory, "alice", &token);
    let mut statuses = alice.status_stream();
    let allowed = alice
        .channel("allowed")
        .subscription(SubscriptionOptions::new());
    let mut messages = allowed.message_stream();
    allowed.subscribe().unwrap();
    let status = within(10, statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Connected, "{status:?}");
    let sent = admin
        .publish()
        .channel("allowed")
        .message(&"hi")
        .await
        .expect("the admin publishes with its signature");
    let message = within(10, messages.next()).await.unwrap();
    assert_eq!(message.timetoken, sent.timetoken);

    // Another client of alice's, on a channel the token does not name.
    let elsewhere = client(&memory, "alice", &token);
    let mut statuses = elsewhere.status_stream();
    elsewhere
        .channel("other")
        .subscription(SubscriptionOptions::new())
        .subscribe()
        .unwrap();
    let status = within(10, statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::AccessDenied, "{status:?}");
    let error = status.error.expect("the cause");
    assert_eq!(error.kind, ErrorKind::AccessDenied);
    assert!(error.message.contains("other"), "{error:?}");
    // No retry storm: an hour later, still the one refused handshake.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(subscribes_to(&memory, "other"), 1);

    // The token is alice's: another user id holding it is refused.
    let mallory = client(&memory, "mallory", &token);
    let error = mallory.here_now().channels(["allowed"]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    alice.close().await;
    elsewhere.close().await;
}

#[tokio::test(start_paused = true)]
async fn a_publish_without_write_permission_is_a_typed_error() {
    let (memory, admin) = setup();
    let token = admin
        .grant_token(60)
        .authorized_user_id("reader")
        .channel("news", Permissions::READ)
        .await
        .unwrap();
    let reader = client(&memory, "reader", &token);
    let error = reader
        .publish()
        .channel("news")
        .message(&1)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    assert_eq!(error.status(), Some(403));
    assert!(error.to_string().contains("news"), "{error}");
    assert!(!error.to_string().contains(&token), "{error}");
    // What it may do, it does.
    reader
        .fetch_messages()
        .channels(["news"])
        .await
        .expect("read allows fetching history");
    assert!(memory.accepted().is_empty(), "nothing was stored");
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_is_refused_and_a_new_one_recovers_without_losing_messages() {
    let (memory, admin) = setup();
    let grant = || {
        admin
            .grant_token(1)
            .authorized_user_id("alice")
            .channel("room", Permissions::READ)
    };
    let token = grant().await.unwrap();
    let parsed = parse_token(&token).unwrap();
    assert_eq!(parsed.ttl, 1);

    let alice = client(&memory, "alice", &token);
    let mut statuses = alice.status_stream();
    let room = alice
        .channel("room")
        .subscription(SubscriptionOptions::new());
    let mut messages = room.message_stream();
    room.subscribe().unwrap();
    assert_eq!(
        within(10, statuses.next()).await.unwrap().category,
        StatusCategory::Connected
    );
    let first = admin.publish().channel("room").message(&1).await.unwrap();
    assert_eq!(
        within(10, messages.next()).await.unwrap().timetoken,
        first.timetoken
    );

    // A minute later the next long-poll is refused: the loop stops, no retry.
    let status = within(400, statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::AccessDenied, "{status:?}");
    let refused_at = subscribes_to(&memory, "room");
    let second = admin.publish().channel("room").message(&2).await.unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(subscribes_to(&memory, "room"), refused_at, "no retries");

    // The app fetches a new token, sets it and reconnects: the message published while
    // refused arrives.
    let fresh = grant().await.unwrap();
    alice.set_token(&fresh).unwrap();
    alice.reconnect();
    let message = within(10, messages.next()).await.unwrap();
    assert_eq!(message.timetoken, second.timetoken);
    assert_eq!(message.message, json!(2));
    alice.close().await;
}

#[tokio::test(start_paused = true)]
async fn a_revoked_token_is_refused() {
    let (memory, admin) = setup();
    let token = admin
        .grant_token(60)
        .channel("c", Permissions::new().read().write())
        .await
        .unwrap();
    let user = client(&memory, "anyone", &token);
    user.publish()
        .channel("c")
        .message(&1)
        .await
        .expect("granted");
    admin.revoke_token(&token).await.expect("revoke");
    let error = user.publish().channel("c").message(&2).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    assert!(error.to_string().contains("revoked"), "{error}");
    // Revoking needs the secret key: refused before anything is sent.
    let before = memory.seen().len();
    let error = user.revoke_token(&token).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(memory.seen().len(), before);
}

#[tokio::test(start_paused = true)]
async fn a_pattern_grant_matches_the_channels_it_should() {
    let (memory, admin) = setup();
    let token = admin
        .grant_token(60)
        .channel_pattern("^room-[0-9]+$", Permissions::WRITE)
        .group("family", Permissions::MANAGE)
        .await
        .unwrap();
    let user = client(&memory, "u", &token);
    for (channel, allowed) in [
        ("room-1", true),
        ("room-42", true),
        ("room-x", false),
        ("xroom-1", false),
        ("room-1-b", false),
    ] {
        let result = user.publish().channel(channel).message(&1).await;
        match result {
            Ok(_) => assert!(allowed, "{channel} was allowed"),
            Err(error) => {
                assert!(!allowed, "{channel}: {error}");
                assert_eq!(error.kind(), ErrorKind::AccessDenied);
            }
        }
    }
    // Manage on the group: add channels to it; read is not granted, so listing is refused.
    user.add_channel_to_channel_group()
        .channel_group("family")
        .channels(["news"])
        .await
        .expect("manage");
    let error = user
        .list_channels_in_channel_group()
        .channel_group("family")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
}

#[tokio::test(start_paused = true)]
async fn pubnub_local_tokens_parse_and_bad_grants_send_nothing() {
    let (memory, admin) = setup();
    let token = admin
        .grant_token(30)
        .authorized_user_id("alice")
        .channel("a", Permissions::new().read().write())
        .group("g", Permissions::READ)
        .user_id("alice", Permissions::GET | Permissions::UPDATE)
        .channel_pattern("^b-.*$", Permissions::READ)
        .meta(json!({"role": "member", "level": 3}))
        .await
        .unwrap();
    assert!(token.len().is_multiple_of(4), "padding kept: {token}");
    let parsed = parse_token(&token).unwrap();
    assert_eq!(parsed.version, 2);
    assert_eq!(parsed.ttl, 30);
    assert_eq!(parsed.authorized_user_id.as_deref(), Some("alice"));
    assert_eq!(
        parsed.resources.channels["a"],
        Permissions::READ | Permissions::WRITE
    );
    assert_eq!(parsed.resources.groups["g"], Permissions::READ);
    assert_eq!(
        parsed.resources.user_ids["alice"],
        Permissions::GET | Permissions::UPDATE
    );
    assert_eq!(parsed.patterns.channels["^b-.*$"], Permissions::READ);
    assert_eq!(parsed.meta["role"], json!("member"));
    assert_eq!(parsed.meta["level"], json!(3));
    assert_eq!(parsed.signature.len(), 32);

    let before = memory.seen().len();
    let cases = [
        admin.grant_token(0).channel("a", Permissions::READ),
        admin.grant_token(43_201).channel("a", Permissions::READ),
        admin.grant_token(5),
        admin
            .grant_token(5)
            .channel_pattern("^(", Permissions::READ),
        admin.grant_token(5).channel("a", Permissions::NONE),
        admin
            .grant_token(5)
            .channel("a", Permissions::READ)
            .meta(json!("x")),
    ];
    for grant in cases {
        let error = grant.await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    }
    let no_secret = memory.client("no-secret");
    let error = no_secret
        .grant_token(5)
        .channel("a", Permissions::READ)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(no_secret.set_token("not-a-token").is_err());
    assert_eq!(memory.seen().len(), before, "nothing was sent");
}

#[tokio::test(start_paused = true)]
async fn app_context_calls_need_get_update_and_delete_on_their_user_or_channel() {
    let (memory, admin) = setup();
    let token = admin
        .grant_token(60)
        .authorized_user_id("alice")
        .user_id("alice", Permissions::GET | Permissions::UPDATE)
        .channel("room", Permissions::GET)
        .await
        .expect("grant");
    let alice = client(&memory, "alice", &token);

    alice
        .set_uuid_metadata()
        .user_id("alice")
        .name("Alice")
        .await
        .expect("update on her own user id");
    let me = alice
        .get_uuid_metadata()
        .user_id("alice")
        .await
        .expect("get on her own user id");
    assert_eq!(me.name.as_deref(), Some("Alice"));
    let denied = |result: Result<(), pubnub_engine::Error>| {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::AccessDenied);
    };
    denied(
        alice
            .set_uuid_metadata()
            .user_id("bob")
            .name("Bob")
            .await
            .map(drop),
    );
    denied(
        alice
            .remove_uuid_metadata()
            .user_id("alice")
            .await
            .map(drop),
    );

    admin
        .set_channel_metadata()
        .channel("room")
        .name("The room")
        .await
        .expect("the secret key may do anything");
    let room = alice
        .get_channel_metadata()
        .channel("room")
        .await
        .expect("get on the channel");
    assert_eq!(room.name.as_deref(), Some("The room"));
    denied(
        alice
            .set_channel_metadata()
            .channel("room")
            .name("Renamed")
            .await
            .map(drop),
    );
    denied(
        alice
            .get_channel_metadata()
            .channel("other")
            .await
            .map(drop),
    );
}

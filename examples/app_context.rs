//! App Context in a tiny chat roster, offline: `cargo run --example app_context`.
//!
//! It starts an embedded `pubnub-local`. An admin client stores the profiles of three users
//! and the description of a channel, and makes the users members of it (one a moderator). A
//! roster client watches the channel's metadata and Alice's profile, and sees each change as it
//! happens through `on_objects`. Then the roster is listed with the users' profiles, two at a
//! time, sorted by name; a stale edit is refused by its ETag; a user leaves. Every wait is
//! bounded, so it always ends by itself.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::objects::{MemberInput, SortDirection};
use pubnub_engine::{ErrorKind, PubNub, StatusCategory, SubscriptionOptions};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder().start().await?;
    println!("embedded pubnub-local at {}", server.url());
    let client = |user: &str| {
        PubNub::builder("demo", user)
            .publish_key("demo")
            .origin(server.url())
            .build_client()
    };
    let admin = client("admin")?;
    let roster = client("roster")?;

    // The roster watches the room's metadata and Alice's profile.
    let lobby = roster
        .channel_metadata("lobby")
        .subscription(SubscriptionOptions::new());
    let alice = roster
        .user_metadata("alice")
        .subscription(SubscriptionOptions::new());
    for subscription in [&lobby, &alice] {
        subscription.on_objects(|event| {
            println!(
                "event     {} {} on {}: {}",
                event.event, event.object_type, event.channel, event.data
            );
        });
    }
    let mut events = futures_util::stream::select(lobby.objects_stream(), alice.objects_stream());
    let mut statuses = roster.status_stream();
    lobby.subscribe()?;
    alice.subscribe()?;
    while let Ok(Some(status)) = tokio::time::timeout(PATIENCE, statuses.next()).await {
        if status.category == StatusCategory::Connected {
            break;
        }
    }

    for (id, name, mood) in [
        ("alice", "Alice", "curious"),
        ("bob", "Bob", "sleepy"),
        ("carol", "Carol", "cheerful"),
    ] {
        let profile = admin
            .set_uuid_metadata()
            .user_id(id)
            .name(name)
            .custom(json!({ "mood": mood }))
            .await?;
        println!("profile   {} ({})", profile.id, name);
    }
    admin
        .set_channel_metadata()
        .channel("lobby")
        .name("Lobby")
        .description("Say hello")
        .await?;
    admin
        .set_channel_members()
        .channel("lobby")
        .set([
            MemberInput::new("alice").custom(json!({"role": "moderator"})),
            MemberInput::new("bob"),
            MemberInput::new("carol"),
        ])
        .await?;

    // Alice's profile, the lobby, three memberships on the lobby and Alice's on her own id:
    // six events for the roster.
    for _ in 0..6 {
        if tokio::time::timeout(PATIENCE, events.next()).await.is_err() {
            println!("(an event did not arrive in time)");
            break;
        }
    }

    println!("roster of the lobby, by name, two per page:");
    let mut pages = admin
        .get_channel_members()
        .channel("lobby")
        .include_user(true)
        .include_user_custom(true)
        .include_custom(true)
        .sort("uuid.name", SortDirection::Asc)
        .limit(2)
        .pages();
    while let Some(page) = pages.next().await {
        for member in page?.data {
            let role = member
                .custom
                .as_ref()
                .and_then(|c| c["role"].as_str())
                .unwrap_or("member");
            let mood = member
                .user
                .custom
                .as_ref()
                .and_then(|c| c["mood"].as_str())
                .unwrap_or("?");
            println!(
                "  {:<6} {:<9} feeling {}",
                member.user.name.as_deref().unwrap_or(&member.user.id),
                role,
                mood
            );
        }
        println!("  --");
    }

    // Two editors read the same profile; the second edit is refused by its ETag.
    let read = admin.get_uuid_metadata().user_id("alice").await?;
    let etag = read.etag.unwrap_or_default();
    admin
        .set_uuid_metadata()
        .user_id("alice")
        .custom(json!({"mood": "busy"}))
        .if_matches_etag(etag.clone())
        .await?;
    match admin
        .set_uuid_metadata()
        .user_id("alice")
        .custom(json!({"mood": "away"}))
        .if_matches_etag(etag)
        .await
    {
        Err(error) if error.kind() == ErrorKind::PreconditionFailed => {
            println!("stale     edit refused: {error}")
        }
        other => println!("stale     edit unexpectedly: {other:?}"),
    }

    let left = admin
        .remove_channel_members()
        .channel("lobby")
        .remove(["bob"])
        .await?;
    let ids: Vec<&str> = left.data.iter().map(|m| m.user.id.as_str()).collect();
    println!("bob left  members now {ids:?}");

    // Alice's edit and the membership removal's event on the lobby.
    for _ in 0..2 {
        if tokio::time::timeout(PATIENCE, events.next()).await.is_err() {
            break;
        }
    }
    roster.close().await;
    admin.close().await;
    Ok(())
}

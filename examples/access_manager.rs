//! Access Manager: `cargo run --example access_manager`.
//!
//! A server that holds the secret key grants a user a token naming what it may do; the user's
//! client sends it with every request, and the service refuses the rest with 403. Runs against
//! an embedded `pubnub-local` started with a secret key (so it enforces tokens as the service
//! does) and exits by itself.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::access::{parse_token, Permissions};
use pubnub_engine::{ErrorKind, PubNub, StatusCategory, SubscriptionOptions};

const SECRET_KEY: &str = "sec-c-example";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder()
        .secret_key(SECRET_KEY)
        .publish_key("demo")
        .start()
        .await?;
    println!(
        "embedded pubnub-local at {} (enforcing tokens)",
        server.url()
    );

    // Your server: it has the secret key, so it may grant, revoke, and do anything.
    let backend = PubNub::builder("demo", "backend")
        .publish_key("demo")
        .secret_key(SECRET_KEY)
        .origin(server.url())
        .build_client()?;
    let token = backend
        .grant_token(15)
        .authorized_user_id("alice")
        .channel("chat", Permissions::new().read().write())
        .channel_pattern("^news-.*$", Permissions::READ)
        .meta(serde_json::json!({"plan": "free"}))
        .await?;
    let parsed = parse_token(&token)?;
    println!(
        "granted alice a token for {} minutes (expires at {}): chat {:?}, patterns {:?}",
        parsed.ttl,
        parsed.expires_at(),
        parsed.resources.channels["chat"],
        parsed.patterns.channels.keys().collect::<Vec<_>>(),
    );

    // Alice's app: no secret key, only the token her server gave her.
    let alice = PubNub::builder("demo", "alice")
        .publish_key("demo")
        .origin(server.url())
        .build_client()?;
    alice.set_token(&token)?;

    let chat = alice
        .channel("chat")
        .subscription(SubscriptionOptions::new());
    let mut messages = chat.message_stream();
    let mut statuses = alice.status_stream();
    chat.subscribe()?;
    let status = tokio::time::timeout(Duration::from_secs(5), statuses.next()).await?;
    assert_eq!(status.map(|s| s.category), Some(StatusCategory::Connected));
    alice.publish().channel("chat").message(&"hello").await?;
    let received = tokio::time::timeout(Duration::from_secs(5), messages.next()).await?;
    println!("alice received on chat: {:?}", received.map(|m| m.message));

    // Read-only on news-*: publishing there is refused with a typed error.
    match alice.publish().channel("news-today").message(&"hi").await {
        Err(error) if error.kind() == ErrorKind::AccessDenied => {
            println!("publish to news-today refused: {error}")
        }
        other => return Err(format!("expected AccessDenied, got {other:?}").into()),
    }

    // The backend revokes the token: alice's next request is refused. An app would fetch a
    // new token from its server, `set_token` it and `reconnect()`.
    backend.revoke_token(&token).await?;
    match alice
        .publish()
        .channel("chat")
        .message(&"still here?")
        .await
    {
        Err(error) if error.kind() == ErrorKind::AccessDenied => {
            println!("after revoke_token: {error}")
        }
        other => return Err(format!("expected AccessDenied, got {other:?}").into()),
    }

    alice.close().await;
    server.shutdown().await;
    Ok(())
}

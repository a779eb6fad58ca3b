//! Message encryption with PubNub's crypto module: `cargo run --example encryption`.
//!
//! Alice and Bob share a cipher key and use the AES-CBC cryptor; Carol still runs an older app
//! with the legacy cryptor; Eve has no key. Bob reads what Alice and Carol send, Eve (and the
//! server) see only base64, and a message Bob cannot decrypt reaches him flagged instead of
//! being lost. Runs against an embedded `pubnub-local`, exits by itself, and exits non-zero if
//! anything differs from what is printed as expected.

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{
    CryptoModule, ErrorKind, Message, PubNub, StatusCategory, SubscriptionOptions, UpdateStream,
};
use serde_json::json;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const CIPHER_KEY: &str = "my-cipher-key";

#[tokio::main]
async fn main() -> Result {
    let server = pubnub_local::Server::builder().start().await?;
    println!("embedded pubnub-local at {}", server.url());
    let client = |user: &str, crypto: Option<CryptoModule>| -> Result<PubNub> {
        let builder = PubNub::builder("demo", user)
            .publish_key("demo")
            .origin(server.url());
        let builder = match crypto {
            Some(crypto) => builder.crypto_module(crypto),
            None => builder,
        };
        Ok(builder.build_client()?)
    };
    let alice = client("alice", Some(CryptoModule::aes_cbc(CIPHER_KEY)?))?;
    let bob = client("bob", Some(CryptoModule::aes_cbc(CIPHER_KEY)?))?;
    let carol = client("carol", Some(CryptoModule::legacy(CIPHER_KEY, true)?))?;
    let eve = client("eve", None)?;

    let mut bob_reads = subscribe(&bob, "plans").await?;
    let mut eve_reads = subscribe(&eve, "plans").await?;
    println!("bob (AES-CBC) and eve (no key) subscribed to plans");

    // `meta` stays in the clear, so the service can still filter on it.
    let plan = json!({"text": "meet at noon", "where": "the usual café"});
    alice
        .publish()
        .channel("plans")
        .message(&plan)
        .meta(&json!({"from": "alice"}))
        .await?;
    println!("alice sends {plan} (encrypted with AES-CBC)");
    let reply = json!("I'll bring the maps");
    carol.publish().channel("plans").message(&reply).await?;
    println!("carol sends {reply} (encrypted with the legacy cryptor)");
    eve.publish()
        .channel("plans")
        .message(&"eve was here")
        .await?;
    println!("eve sends \"eve was here\" (not encrypted)");

    println!("what eve receives:");
    for _ in 0..3 {
        let m = next(&mut eve_reads).await?;
        println!("  from {}: {}", m.publisher.unwrap_or_default(), m.message);
    }
    println!("what bob receives:");
    let from_alice = next(&mut bob_reads).await?;
    show(&from_alice);
    check(
        from_alice.message == plan && from_alice.error.is_none(),
        "alice's AES-CBC message",
    )?;
    let from_carol = next(&mut bob_reads).await?;
    show(&from_carol);
    check(
        from_carol.message == reply && from_carol.error.is_none(),
        "carol's legacy message (an AES-CBC module reads both)",
    )?;
    let from_eve = next(&mut bob_reads).await?;
    show(&from_eve);
    check(
        from_eve.message == json!("eve was here")
            && from_eve.error.as_ref().map(|e| e.kind) == Some(ErrorKind::Decryption),
        "eve's plain message arrives as sent, flagged",
    )?;

    // The module on its own, for an app's own data (a file, a database field).
    let crypto = CryptoModule::aes_cbc(CIPHER_KEY)?;
    let sealed = crypto.encrypt_string("a note for later")?;
    println!("a note encrypted by the app: {sealed}");
    let opened = crypto.decrypt_string(&sealed)?;
    check(opened == "a note for later", "the note decrypts")?;
    let wrong = CryptoModule::aes_cbc("not the key")?.decrypt_string(&sealed);
    match &wrong {
        Err(error) => println!("with another key: {error}"),
        Ok(text) => println!("with another key: {text:?}"),
    }
    check(
        wrong.is_err_and(|e| e.kind() == ErrorKind::Decryption),
        "another key is refused",
    )?;

    for pubnub in [alice, bob, carol, eve] {
        pubnub.close().await;
    }
    println!("done: every message arrived, decrypted or flagged");
    Ok(())
}

/// `pubnub` subscribed to `channel`, once connected.
async fn subscribe(pubnub: &PubNub, channel: &str) -> Result<UpdateStream<Message>> {
    let subscription = pubnub
        .channel(channel)
        .subscription(SubscriptionOptions::new());
    let messages = subscription.message_stream();
    let mut statuses = pubnub.status_stream();
    subscription.subscribe()?;
    let status = tokio::time::timeout(Duration::from_secs(5), statuses.next()).await?;
    check(
        status.map(|s| s.category) == Some(StatusCategory::Connected),
        "connected",
    )?;
    // Dropping the handle does not unsubscribe (as in PubNub's SDKs): `close()` does.
    Ok(messages)
}

async fn next(messages: &mut UpdateStream<Message>) -> Result<Message> {
    Ok(
        tokio::time::timeout(Duration::from_secs(5), messages.next())
            .await?
            .ok_or("stream ended")?,
    )
}

fn show(m: &Message) {
    let from = m.publisher.as_deref().unwrap_or_default();
    match &m.error {
        None => println!("  from {from}: {}", m.message),
        Some(error) => println!("  from {from}: {} (flagged: {error})", m.message),
    }
}

fn check(ok: bool, what: &str) -> Result {
    if ok {
        println!("  ok: {what}");
        Ok(())
    } else {
        Err(format!("unexpected: {what}").into())
    }
}

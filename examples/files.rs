//! Files, offline: `cargo run --example files`.
//!
//! It starts an embedded `pubnub-local` (files stored in memory). Alice shares a 2 MiB
//! scan, encrypted, on a channel Bob watches, with a progress bar drawn in the terminal; Bob's
//! `on_file` listener gets the file's name and a ready download URL, Bob downloads it (another
//! progress bar), checks it is byte for byte what Alice sent, lists the channel's files and
//! deletes it. Every wait is bounded, so it always ends by itself.

use std::io::Write as _;
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::files::FileData;
use pubnub_engine::{CryptoModule, Progress, PubNub, StatusCategory, SubscriptionOptions};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(10);

/// Draws `progress` as a bar on the terminal's current line.
fn bar(label: &'static str) -> impl Fn(Progress) + Send + Sync + 'static {
    move |progress: Progress| {
        let total = progress.total.unwrap_or(progress.done).max(1);
        let filled = usize::try_from(progress.done * 30 / total).unwrap_or(30);
        print!(
            "\r{label:<10}[{:<30}] {:>5.1} %  {} / {} KiB",
            "#".repeat(filled.min(30)),
            progress.done as f64 * 100.0 / total as f64,
            progress.done / 1024,
            total / 1024,
        );
        let _ = std::io::stdout().flush();
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = pubnub_local::Server::builder().start().await?;
    println!("embedded pubnub-local at {}", server.url());
    // Both ends share a cipher key: the file is stored encrypted, and so is its message.
    let client = |user: &str| {
        PubNub::builder("demo", user)
            .publish_key("demo")
            .origin(server.url())
            .crypto_module(CryptoModule::aes_cbc("a shared secret")?)
            .build_client()
    };
    let alice = client("alice")?;
    let bob = client("bob")?;

    // Bob watches the channel for files.
    let desk = bob
        .channel("support")
        .subscription(SubscriptionOptions::new());
    let mut files = desk.file_stream();
    let mut statuses = bob.status_stream();
    desk.subscribe()?;
    while let Ok(Some(status)) = tokio::time::timeout(PATIENCE, statuses.next()).await {
        if status.category == StatusCategory::Connected {
            break;
        }
    }

    // Alice shares a 2 MiB "scan".
    let scan: Vec<u8> = (0..2u32 << 20).map(|n| (n * 31 % 251) as u8).collect();
    let sent = alice
        .send_file()
        .channel("support")
        .file_name("scan.png")
        .data(FileData::bytes(scan.clone()))
        .message(&json!({"text": "the scan you asked for"}))
        .on_progress(bar("upload"))
        .await?;
    println!(
        "\nsent      {} as {} at {}",
        sent.file_name, sent.file_id, sent.timetoken
    );

    // Bob's listener sees it, decrypted, with a URL to download it from.
    let event = tokio::time::timeout(PATIENCE, files.next())
        .await?
        .ok_or("the file stream ended")?;
    println!(
        "event     {} shared {} ({}) with {}",
        event.publisher.as_deref().unwrap_or("?"),
        event.file_name,
        event.file_id,
        event
            .message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    );
    println!("url       {}", event.url.as_deref().unwrap_or("(none)"));

    let file = bob
        .download_file()
        .channel(&event.channel)
        .file_id(&event.file_id)
        .file_name(&event.file_name)
        .on_progress(bar("download"))
        .await?;
    println!(
        "\nreceived  {} bytes, {}, the same as sent: {}",
        file.data.len(),
        file.content_type.as_deref().unwrap_or("no content type"),
        file.data == scan
    );
    assert_eq!(file.data, scan, "the downloaded file is what was sent");

    let listed = bob.list_files().channel("support").await?;
    for info in &listed.data {
        println!(
            "listed    {} {} ({} bytes stored, encrypted) {}",
            info.id, info.name, info.size, info.created
        );
    }
    bob.delete_file()
        .channel("support")
        .file_id(&sent.file_id)
        .file_name(&sent.file_name)
        .await?;
    let left = bob.list_files().channel("support").await?;
    println!("deleted   {} file(s) left on the channel", left.data.len());
    Ok(())
}

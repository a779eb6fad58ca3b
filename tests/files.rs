//! Files end to end (issue 28): the SDK against `pubnub-local` on a real socket (127.0.0.1:0)
//! through the SDK's own HTTP transport, so that the upload form, the multipart upload to the
//! server's storage, the 307 and the download are real HTTP exchanges.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::access::Permissions;
use pubnub_engine::files::{FileData, MAX_FILE_SIZE};
use pubnub_engine::{
    CryptoModule, ErrorKind, FileEvent, PubNub, RetryConfig, RetryPolicy, StatusCategory,
    SubscriptionOptions,
};
use pubnub_local::faults::{Endpoint, Fault};
use pubnub_local::{Server, ServerHandle};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(10);

async fn server() -> ServerHandle {
    Server::builder()
        .start()
        .await
        .expect("pubnub-local starts")
}

fn client(server: &ServerHandle, user: &str) -> PubNub {
    client_with(server, user, |b| b)
}

fn client_with(
    server: &ServerHandle,
    user: &str,
    configure: impl FnOnce(pubnub_engine::ConfigBuilder) -> pubnub_engine::ConfigBuilder,
) -> PubNub {
    configure(
        PubNub::builder("sub-key", user)
            .publish_key("pub-key")
            .origin(server.url())
            // Retries without a wait: the tests run on the real clock.
            .retry(RetryConfig::new(RetryPolicy::None)),
    )
    .build_client()
    .expect("a client")
}

/// A file of `len` bytes that is not all one value.
fn file(len: usize) -> Vec<u8> {
    (0..len).map(|n| (n * 7 % 251) as u8).collect()
}

/// Subscribes `pubnub` to `channel` and waits until it is connected; the file stream.
async fn watch(pubnub: &PubNub, channel: &str) -> pubnub_engine::UpdateStream<FileEvent> {
    let subscription = pubnub
        .channel(channel)
        .subscription(SubscriptionOptions::new());
    let files = subscription.file_stream();
    let mut statuses = pubnub.status_stream();
    subscription.subscribe().unwrap();
    loop {
        let status = tokio::time::timeout(PATIENCE, statuses.next())
            .await
            .expect("connected in time")
            .expect("a status");
        if status.category == StatusCategory::Connected {
            break;
        }
    }
    files
}

#[tokio::test]
async fn send_receive_download_list_and_delete() {
    let server = server().await;
    let alice = client(&server, "alice");
    let bob = client(&server, "bob");
    let mut files = watch(&bob, "support").await;

    let content = file(300_000);
    let sent = alice
        .send_file()
        .channel("support")
        .file_name("scan 1.png")
        .data(FileData::bytes(content.clone()))
        .message(&json!({"text": "the scan"}))
        .meta(&json!({"kind": "scan"}))
        .custom_message_type("file-share")
        .await
        .unwrap();
    assert!(!sent.file_id.is_empty());
    assert_eq!(sent.file_name, "scan 1.png");

    // The event: who, what, and a URL that downloads the file.
    let event = tokio::time::timeout(PATIENCE, files.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.file_id, sent.file_id);
    assert_eq!(event.file_name, "scan 1.png");
    assert_eq!(event.timetoken, sent.timetoken);
    assert_eq!(event.publisher.as_deref(), Some("alice"));
    assert_eq!(event.message, Some(json!({"text": "the scan"})));
    assert_eq!(event.meta, Some(json!({"kind": "scan"})));
    assert_eq!(event.custom_message_type.as_deref(), Some("file-share"));
    let url = event.url.clone().expect("a download URL");
    assert!(url.starts_with(&format!(
        "{}/v1/files/sub-key/channels/support/files/{}/scan%201.png?",
        server.url(),
        sent.file_id
    )));
    assert!(url.contains("uuid=bob"), "{url}");

    let downloaded = bob
        .download_file()
        .channel("support")
        .file_id(&event.file_id)
        .file_name(&event.file_name)
        .await
        .unwrap();
    assert_eq!(downloaded.data, content);
    assert_eq!(downloaded.name, "scan 1.png");
    assert_eq!(
        bob.get_file_url()
            .channel("support")
            .file_id(&sent.file_id)
            .file_name("scan 1.png")
            .url()
            .unwrap()
            .split('?')
            .next(),
        url.split('?').next()
    );

    // History keeps the file message, marked as one (message type 4).
    let history = bob
        .fetch_messages()
        .channels(["support"])
        .include_message_type(true)
        .include_meta(true)
        .await
        .unwrap();
    let stored = &history.channels["support"][0];
    assert_eq!(stored.timetoken, sent.timetoken);
    assert_eq!(stored.message_type, Some(4));
    assert_eq!(
        stored.message.to_value(),
        json!({"message": {"text": "the scan"}, "file": {"id": sent.file_id, "name": "scan 1.png"}})
    );

    // Three more, listed two at a time.
    for n in 2..=4 {
        alice
            .send_file()
            .channel("support")
            .file_name(format!("scan {n}.png"))
            .data(FileData::bytes(file(10 * n)))
            .await
            .unwrap();
    }
    let pages: Vec<_> = bob
        .list_files()
        .channel("support")
        .limit(2)
        .pages()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(pages.len(), 2);
    let listed: Vec<_> = pages.iter().flat_map(|p| p.data.iter()).collect();
    assert_eq!(listed.len(), 4);
    let ids: Vec<&str> = listed.iter().map(|f| f.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "by id, as the service lists them");
    let first = listed.iter().find(|f| f.id == sent.file_id).unwrap();
    assert_eq!(first.size, 300_000);

    bob.delete_file()
        .channel("support")
        .file_id(&sent.file_id)
        .file_name("scan 1.png")
        .await
        .unwrap();
    let left = bob.list_files().channel("support").await.unwrap();
    assert_eq!(left.data.len(), 3);
    let error = bob
        .download_file()
        .channel("support")
        .file_id(&sent.file_id)
        .file_name("scan 1.png")
        .await
        .unwrap_err();
    assert_eq!(error.reason().status, Some(404), "{error}");
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn encrypted_files_are_stored_encrypted_and_read_by_key_holders_only() {
    let server = server().await;
    let key = || CryptoModule::aes_cbc("enigma").unwrap();
    let alice = client_with(&server, "alice", |b| b.crypto_module(key()));
    let bob = client_with(&server, "bob", |b| b.crypto_module(key()));
    let eve = client(&server, "eve");
    let mut files = watch(&bob, "secret").await;

    let content = file(MAX_FILE_SIZE - 64);
    let sent = alice
        .send_file()
        .channel("secret")
        .file_name("plans.pdf")
        .data(FileData::bytes(content.clone()))
        .message(&"for your eyes only")
        .await
        .unwrap();
    let event = tokio::time::timeout(PATIENCE, files.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.file_id, sent.file_id);
    assert_eq!(event.message, Some(json!("for your eyes only")));

    let download = |who: &PubNub| {
        who.download_file()
            .channel("secret")
            .file_id(&sent.file_id)
            .file_name("plans.pdf")
    };
    assert_eq!(download(&bob).await.unwrap().data, content);
    // Without the key: the stored bytes, PubNub's crypto module format.
    let stored = download(&eve).await.unwrap().data;
    assert!(stored.starts_with(b"PNEDACRH") || stored.starts_with(b"PNED\x01ACRH"));
    assert_ne!(stored, content);
    let listed = bob.list_files().channel("secret").await.unwrap();
    assert_eq!(listed.data[0].size, stored.len() as u64);
    // The largest file the service takes, encrypted, fits.
    assert!(stored.len() <= MAX_FILE_SIZE, "{}", stored.len());
    for c in [alice, bob, eve] {
        c.close().await;
    }
}

#[tokio::test]
async fn progress_is_reported_while_uploading_and_downloading() {
    let server = server().await;
    let pubnub = client(&server, "alice");
    let content = file(2 << 20);
    let uploads = Arc::new(Mutex::new(Vec::new()));
    let seen = uploads.clone();
    let sent = pubnub
        .send_file()
        .channel("c")
        .file_name("big.bin")
        .data(FileData::bytes(content.clone()))
        .on_progress(move |p| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    let downloads = Arc::new(Mutex::new(Vec::new()));
    let seen = downloads.clone();
    let file = pubnub
        .download_file()
        .channel("c")
        .file_id(&sent.file_id)
        .file_name("big.bin")
        .on_progress(move |p| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    assert_eq!(file.data, content);
    for (what, reports) in [("upload", uploads), ("download", downloads)] {
        let reports = reports.lock().unwrap();
        assert!(reports.len() > 2, "{what}: {reports:?}");
        assert!(
            reports.windows(2).all(|w| w[0].done <= w[1].done),
            "{what}: monotonic"
        );
        let last = reports.last().unwrap();
        assert_eq!(Some(last.done), last.total, "{what} ends complete");
        assert!(last.done >= content.len() as u64);
    }
    pubnub.close().await;
}

#[tokio::test]
async fn storage_refusals_and_cut_uploads_are_errors_and_nothing_is_published() {
    let server = server().await;
    let pubnub = client(&server, "alice");
    let send = || {
        pubnub
            .send_file()
            .channel("c")
            .file_name("a.txt")
            .data(FileData::bytes("Knights who say Ni!"))
    };
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::FileStorage).times(1));
    let error = send().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 503 });
    assert!(
        error.message().starts_with("storage refused the upload"),
        "{error}"
    );
    assert!(error.unpublished_file().is_none());

    server
        .faults()
        .inject(Fault::reset().on(Endpoint::FileStorage).times(1));
    let error = send().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network, "{error}");

    // With .retry(true), a transient refusal is retried with the client's policy.
    let patient = client_with(&server, "alice", |b| {
        b.retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(10),
            max_retries: 2,
        }))
    });
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::FileStorage).times(1));
    patient
        .send_file()
        .channel("c")
        .file_name("a.txt")
        .data(FileData::bytes("Knights who say Ni!"))
        .retry(true)
        .await
        .unwrap();

    let history = pubnub.fetch_messages().channels(["c"]).await.unwrap();
    assert_eq!(
        history.channels.get("c").map_or(0, Vec::len),
        1,
        "only the upload that went through was published"
    );
    pubnub.close().await;
}

#[tokio::test]
async fn a_file_message_that_cannot_be_published_is_retried_then_named() {
    let server = server().await;
    let pubnub = client(&server, "alice");
    // Two failures: the third attempt publishes.
    server
        .faults()
        .inject(Fault::status(500).on(Endpoint::PublishFile).times(2));
    pubnub
        .send_file()
        .channel("c")
        .file_name("a.txt")
        .data(FileData::bytes("x"))
        .await
        .unwrap();

    // Every attempt fails: the error names the uploaded file, which can be published later.
    server.faults().inject(
        Fault::status(500)
            .on(Endpoint::PublishFile)
            .times(pubnub_engine::files::FILE_PUBLISH_ATTEMPTS),
    );
    let error = pubnub
        .send_file()
        .channel("c")
        .file_name("b.txt")
        .data(FileData::bytes("y"))
        .message(&"later")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 500 });
    let (id, name) = error.unpublished_file().expect("the file is named");
    assert_eq!(name, "b.txt");
    let published = pubnub
        .publish_file_message()
        .channel("c")
        .file(id, name)
        .message(&"later")
        .await
        .unwrap();
    let history = pubnub.fetch_messages().channels(["c"]).await.unwrap();
    let last = history.channels["c"].last().unwrap();
    assert_eq!(last.timetoken, published.timetoken);
    assert_eq!(
        last.message.to_value(),
        json!({"message": "later", "file": {"id": id, "name": "b.txt"}})
    );
    pubnub.close().await;
}

#[tokio::test]
async fn access_manager_applies_write_read_and_delete() {
    const SECRET: &str = "sec-c-files";
    let server = Server::builder()
        .secret_key(SECRET)
        .publish_key("pub-key")
        .start()
        .await
        .unwrap();
    let admin = client_with(&server, "admin", |b| b.secret_key(SECRET));
    let grant = |user: &'static str, permissions: Permissions| {
        admin
            .grant_token(60)
            .authorized_user_id(user)
            .channel("room", permissions)
    };
    let reader = client(&server, "reader");
    reader
        .set_token(grant("reader", Permissions::READ).await.unwrap())
        .unwrap();
    let writer = client(&server, "writer");
    writer
        .set_token(
            grant("writer", Permissions::READ | Permissions::WRITE)
                .await
                .unwrap(),
        )
        .unwrap();

    let send = |who: &PubNub| {
        who.send_file()
            .channel("room")
            .file_name("a.txt")
            .data(FileData::bytes("x"))
    };
    let error = send(&reader).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error}");
    let sent = send(&writer).await.unwrap();

    // Read lists and downloads; deleting needs delete.
    assert_eq!(
        reader
            .list_files()
            .channel("room")
            .await
            .unwrap()
            .data
            .len(),
        1
    );
    let file = reader
        .download_file()
        .channel("room")
        .file_id(&sent.file_id)
        .file_name("a.txt")
        .await
        .unwrap();
    assert_eq!(file.data, b"x");
    let error = writer
        .delete_file()
        .channel("room")
        .file_id(&sent.file_id)
        .file_name("a.txt")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied, "{error}");
    admin
        .delete_file()
        .channel("room")
        .file_id(&sent.file_id)
        .file_name("a.txt")
        .await
        .unwrap();
    // Without any token nothing is allowed.
    let stranger = client(&server, "stranger");
    let error = stranger.list_files().channel("room").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    for c in [admin, reader, writer, stranger] {
        c.close().await;
    }
}

#[tokio::test]
async fn files_stream_and_save_to_disk() {
    let server = server().await;
    let pubnub = client(&server, "alice");
    let dir = std::env::temp_dir().join(format!("pubnub-engine-files-e2e-{}", std::process::id()));
    tokio::fs::create_dir_all(&dir).await.unwrap();
    let source = dir.join("source.bin");
    let content = file(200_000);
    tokio::fs::write(&source, &content).await.unwrap();
    let sent = pubnub
        .send_file()
        .channel("c")
        .file_name("source.bin")
        .data(FileData::path(&source))
        .await
        .unwrap();
    let download = || {
        pubnub
            .download_file()
            .channel("c")
            .file_id(&sent.file_id)
            .file_name("source.bin")
    };
    let target = dir.join("target.bin");
    assert_eq!(download().save_to(&target).await.unwrap(), 200_000);
    assert_eq!(tokio::fs::read(&target).await.unwrap(), content);
    let mut streamed = Vec::new();
    let mut chunks = download().stream();
    while let Some(chunk) = chunks.next().await {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(streamed, content);
    tokio::fs::remove_dir_all(&dir).await.unwrap();
    pubnub.close().await;
}

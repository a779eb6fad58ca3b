//! This SDK with PubNub's official Python SDK on one in-process `pubnub-local`: de-duplication
//! (issue 15), encrypted messages both ways with each crypto module (issue 17,
//! `pubnub-local/interop/crypto.py`), compared as decrypted values, Access Manager tokens
//! granted by one SDK, parsed and used by the other (issue 19, `pam_tokens.py`), and App Context
//! metadata written by one SDK and read by the other (issue 20,
//! `pubnub-local/interop/app_context.py`), and files sent by one SDK and downloaded by the
//! other, plain and with each cryptor (issue 28, `pubnub-local/interop/file_exchange.py`).
//!
//! Ignored in the plain test run: it needs the Python SDK, which
//! `pubnub-local/interop/run.sh` installs (CI runs it) and then runs these tests with
//! `PUBNUB_INTEROP_PYTHON` set to that interpreter:
//!
//! ```text
//! PUBNUB_INTEROP_PYTHON=target/pubnub-local-interop-venv/bin/python \
//!     cargo test --test python_interop -- --ignored
//! ```

mod support;

use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use pubnub_engine::{CryptoModule, StatusCategory, SubscriptionOptions};
use serde_json::{json, Value};

use support::local::{client_with, server, within};

fn python() -> PathBuf {
    std::env::var_os("PUBNUB_INTEROP_PYTHON")
        .map(PathBuf::from)
        .expect("PUBNUB_INTEROP_PYTHON: the Python with PubNub's SDK (see pubnub-local/interop)")
}

/// The same payload twice from each of two Python clients sharing a user id: nothing marks
/// them for de-duplication, so a de-duplicating subscription receives all four (issue 15).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PubNub's Python SDK: run by pubnub-local/interop/run.sh"]
async fn a_deduplicating_subscription_receives_every_python_publish() {
    let python = python();
    let server = server().await;
    let reader = client_with(&server, "rust-reader", |b| b);
    let mut statuses = reader.status_stream();
    let sub = reader
        .channel("interop-dedupe")
        .subscription(SubscriptionOptions::new().deduplicate(100));
    let mut messages = sub.message_stream();
    sub.subscribe().unwrap();
    let status = within(statuses.next()).await.unwrap();
    assert_eq!(status.category, StatusCategory::Connected);

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pubnub-local/interop/publish_twice.py"
    );
    let url = server.url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args([script, &url, "interop-dedupe", "pub-key", "sub-key"])
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    assert!(
        output.status.success(),
        "publish_twice.py failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    reader
        .publish()
        .channel("interop-dedupe")
        .message(&"end")
        .await
        .unwrap();

    let mut received = Vec::new();
    loop {
        let message = within(messages.next()).await.expect("stream open");
        if message.message == json!("end") {
            break;
        }
        assert_eq!(message.publisher.as_deref(), Some("python-publisher"));
        received.push(message.message.as_str().unwrap().to_owned());
    }
    assert_eq!(received, ["ping"; 4]);
}

/// The cipher key of the encryption tests.
const CIPHER_KEY: &str = "interop-cipher-key";

/// `pubnub-local/interop/crypto.py`.
fn crypto_script() -> &'static str {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pubnub-local/interop/crypto.py"
    )
}

/// What is published encrypted, both ways: every JSON type, escapes, characters beyond ASCII,
/// and a message of many blocks.
fn messages() -> Vec<Value> {
    vec![
        json!({"text": "hello ✓", "n": 1, "nested": {"list": [1, "two", {"three": 3.5}]}}),
        json!("a string with \"quotes\", a \\ backslash, ünïcödé and 🙃"),
        json!(42),
        json!(-3.25),
        json!(true),
        json!(["x", 1, false]),
        json!({"long": "0123456789abcdef".repeat(200)}),
    ]
}

/// This SDK's module for one of crypto.py's cryptor names.
fn module(cryptor: &str) -> CryptoModule {
    match cryptor {
        "aes-cbc" => CryptoModule::aes_cbc(CIPHER_KEY),
        "legacy" => CryptoModule::legacy(CIPHER_KEY, true),
        "legacy-constant-iv" => CryptoModule::legacy(CIPHER_KEY, false),
        other => panic!("unknown cryptor {other}"),
    }
    .unwrap()
}

/// `crypto.py` with `args`, proxies off for loopback.
fn crypto_py(args: &[&str]) -> Command {
    let mut command = Command::new(python());
    command
        .arg(crypto_script())
        .args(args)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    command
}

/// The Python SDK publishes encrypted with each of its crypto modules; this SDK decrypts.
/// The pairs include readers of the other module: a client moving from the legacy cryptor to
/// AES-CBC reads both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PubNub's Python SDK: run by pubnub-local/interop/run.sh"]
async fn this_sdk_decrypts_what_the_python_sdk_publishes() {
    let server = server().await;
    let url = server.url();
    let sent = serde_json::to_string(&messages()).unwrap();
    let pairs = [
        ("aes-cbc", module("aes-cbc")),
        ("legacy", module("legacy")),
        ("legacy-constant-iv", module("legacy-constant-iv")),
        ("legacy", module("aes-cbc")),
        ("aes-cbc", module("legacy")),
    ];
    for (n, (python_cryptor, reader_module)) in pairs.into_iter().enumerate() {
        let channel = format!("interop-crypto-from-python-{n}");
        let reader = client_with(&server, "rust-reader", |b| b.crypto_module(reader_module));
        let mut statuses = reader.status_stream();
        let subscription = reader
            .channel(&channel)
            .subscription(SubscriptionOptions::new());
        let mut received = subscription.message_stream();
        subscription.subscribe().unwrap();
        let status = within(statuses.next()).await.unwrap();
        assert_eq!(status.category, StatusCategory::Connected);

        let args = [
            "publish",
            &url,
            &channel,
            "pub-key",
            "sub-key",
            python_cryptor,
            CIPHER_KEY,
            &sent,
        ]
        .map(str::to_owned);
        let output = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crypto_py(&args).output()
        })
        .await
        .unwrap()
        .expect("python runs");
        assert!(
            output.status.success(),
            "crypto.py publish ({python_cryptor}) failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for expected in messages() {
            let message = within(received.next()).await.expect("stream open");
            assert_eq!(message.error, None, "from Python's {python_cryptor}");
            assert_eq!(message.message, expected, "from Python's {python_cryptor}");
            assert_eq!(message.publisher.as_deref(), Some("python-publish"));
        }
        drop(subscription);
        reader.close().await;
    }
}

/// A child process that is killed if the test ends before it does.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This SDK publishes encrypted with each module (GET and POST); the Python SDK, subscribed
/// with its own crypto module, decrypts every message to the same value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PubNub's Python SDK: run by pubnub-local/interop/run.sh"]
async fn the_python_sdk_decrypts_what_this_sdk_publishes() {
    let server = server().await;
    let url = server.url();
    let count = messages().len().to_string();
    let pairs = [
        ("aes-cbc", "aes-cbc"),
        ("legacy", "legacy"),
        ("legacy-constant-iv", "legacy-constant-iv"),
        ("legacy", "aes-cbc"),
        ("aes-cbc", "legacy"),
    ];
    for (n, (writer_cryptor, python_cryptor)) in pairs.into_iter().enumerate() {
        let channel = format!("interop-crypto-to-python-{n}");
        let child = crypto_py(&[
            "subscribe",
            &url,
            &channel,
            "pub-key",
            "sub-key",
            python_cryptor,
            CIPHER_KEY,
            &count,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
        let mut child = Killed(child);
        let stdout = child.0.stdout.take().unwrap();
        // Its log (the SDK reports the long-poll it cancels on stop), shown only on failure.
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.0.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let log = move || log.lock().unwrap().clone();
        let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = within(lines.recv()).await;
        assert_eq!(
            first.as_deref(),
            Some("connected"),
            "crypto.py subscribe: {}",
            log()
        );

        let writer = client_with(&server, "rust-writer", |b| {
            b.crypto_module(module(writer_cryptor))
        });
        for (i, message) in messages().iter().enumerate() {
            writer
                .publish()
                .channel(&channel)
                .message(message)
                .use_post(i % 2 == 1)
                .await
                .unwrap();
        }
        for expected in messages() {
            let line = within(lines.recv())
                .await
                .unwrap_or_else(|| panic!("crypto.py ended early: {}", log()));
            let received: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(received["error"], Value::Null, "{writer_cryptor}: {line}");
            assert_eq!(
                received["message"], expected,
                "{writer_cryptor} → Python's {python_cryptor}"
            );
        }
        let status = tokio::task::spawn_blocking(move || child.0.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "crypto.py subscribe: {status}: {}", log());
        writer.close().await;
    }
}

/// Runs `pubnub-local/interop/pam_tokens.py` with `args`; its standard output, trimmed.
async fn pam_tokens_py(args: Vec<String>) -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pubnub-local/interop/pam_tokens.py"
    );
    let python = python();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args(args)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .output()
    })
    .await
    .unwrap()
    .expect("python runs");
    assert!(
        output.status.success(),
        "pam_tokens.py failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Access Manager (issue 19): a token PubNub's Python SDK grants from an enforcing
/// `pubnub-local` is parsed and used by this SDK, and one this SDK grants is parsed by
/// Python's `parse_token` (which needs the `=` padding pubnub-local keeps).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PubNub's Python SDK: run by pubnub-local/interop/run.sh"]
async fn tokens_granted_by_either_sdk_are_parsed_and_used_by_the_other() {
    use pubnub_engine::access::{parse_token, Permissions};
    use pubnub_engine::ErrorKind;

    const SECRET: &str = "sec-c-interop-tokens";
    let server = pubnub_local::Server::builder()
        .secret_key(SECRET)
        .publish_key("pub-key")
        .start()
        .await
        .unwrap();

    // Python grants; this SDK parses and uses.
    let token = pam_tokens_py(
        [
            "grant",
            &server.url(),
            "pub-key",
            "sub-key",
            SECRET,
            "py-room",
            "rust-user",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    let parsed = parse_token(&token).expect("this SDK parses Python's token");
    assert_eq!(parsed.ttl, 10);
    assert_eq!(parsed.authorized_user_id.as_deref(), Some("rust-user"));
    assert_eq!(
        parsed.resources.channels["py-room"],
        Permissions::READ | Permissions::WRITE
    );
    let user = client_with(&server, "rust-user", |b| b);
    user.set_token(&token).unwrap();
    user.publish()
        .channel("py-room")
        .message(&"granted by Python")
        .await
        .expect("the token allows it");
    let error = user
        .publish()
        .channel("elsewhere")
        .message(&1)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);

    // This SDK grants; Python parses.
    let admin = client_with(&server, "rust-admin", |b| b.secret_key(SECRET));
    let token = admin
        .grant_token(25)
        .authorized_user_id("py-user")
        .channel("rs-room", Permissions::READ)
        .channel_pattern("^rs-.*$", Permissions::WRITE)
        .meta(json!({"from": "rust"}))
        .await
        .unwrap();
    let parsed: Value =
        serde_json::from_str(&pam_tokens_py(vec!["parse".into(), token]).await).unwrap();
    assert_eq!(parsed["ttl"], json!(25));
    assert_eq!(parsed["authorized_uuid"], json!("py-user"));
    assert_eq!(
        parsed["resources"]["channels"]["rs-room"]["read"],
        json!(true)
    );
    assert_eq!(
        parsed["resources"]["channels"]["rs-room"]["write"],
        json!(false)
    );
    assert_eq!(
        parsed["patterns"]["channels"]["^rs-.*$"]["write"],
        json!(true)
    );
    assert_eq!(parsed["meta"], json!({"from": "rust"}));
}

/// `app_context.py` in `mode` (`write` or `read`) for ids starting with `prefix`.
fn app_context_py(url: &str, mode: &str, prefix: &str) -> std::process::Output {
    Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/pubnub-local/interop/app_context.py"
        ))
        .args([url, mode, prefix])
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .output()
        .expect("python runs")
}

/// App Context both ways: the Python SDK stores a user, a channel and a membership that this
/// SDK reads; this SDK stores them and the Python SDK reads them (issue 20).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PubNub's Python SDK: run by pubnub-local/interop/run.sh"]
async fn app_context_metadata_is_shared_with_the_python_sdk() {
    use pubnub_engine::objects::MemberInput;

    let server = server().await;
    let url = server.url();
    let pubnub = client_with(&server, "rust-app-context", |b| b);

    let written = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || app_context_py(&url, "write", "py"))
            .await
            .unwrap()
    };
    assert!(
        written.status.success(),
        "app_context.py write:\n{}\n{}",
        String::from_utf8_lossy(&written.stdout),
        String::from_utf8_lossy(&written.stderr)
    );
    let user = pubnub.get_uuid_metadata().user_id("py-user").await.unwrap();
    assert_eq!(user.name.as_deref(), Some("Py User"));
    assert_eq!(user.email.as_deref(), Some("py@example.com"));
    assert_eq!(user.custom, Some(json!({"lang": "python", "n": 1})));
    let room = pubnub
        .get_channel_metadata()
        .channel("py-room")
        .await
        .unwrap();
    assert_eq!(room.description.as_deref(), Some("made in Python"));
    let members = pubnub
        .get_channel_members()
        .channel("py-room")
        .include_custom(true)
        .include_user(true)
        .await
        .unwrap();
    assert_eq!(members.data.len(), 1);
    assert_eq!(members.data[0].user.name.as_deref(), Some("Py User"));
    assert_eq!(members.data[0].custom, Some(json!({"role": "owner"})));

    pubnub
        .set_uuid_metadata()
        .user_id("rs-user")
        .name("Rust User")
        .custom(json!({"lang": "rust", "n": 2}))
        .await
        .unwrap();
    pubnub
        .set_channel_metadata()
        .channel("rs-room")
        .name("Rust Room")
        .description("made in Rust")
        .await
        .unwrap();
    pubnub
        .set_channel_members()
        .channel("rs-room")
        .set([MemberInput::new("rs-user").custom(json!({"role": "owner"}))])
        .await
        .unwrap();
    let read = tokio::task::spawn_blocking(move || app_context_py(&url, "read", "rs"))
        .await
        .unwrap();
    assert!(
        read.status.success(),
        "app_context.py read:\n{}\n{}",
        String::from_utf8_lossy(&read.stdout),
        String::from_utf8_lossy(&read.stderr)
    );
    pubnub.close().await;
}

/// `pubnub-local/interop/{script}` with `args`, run to its end and required to succeed; its
/// stdout.
async fn interop_py(script: &'static str, args: Vec<String>) -> String {
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(format!(
                "{}/pubnub-local/interop/{script}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .args(&args)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `file_exchange.py` with `args`; its stdout.
async fn file_exchange_py(args: Vec<String>) -> String {
    interop_py("file_exchange.py", args).await
}

/// Files both ways (issue 28): the Python SDK sends, this SDK receives the event and downloads;
/// this SDK sends, the Python SDK downloads; plain, with a bare cipher key (the legacy cryptor)
/// and with the AES-CBC crypto module, and the bytes are equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PubNub's Python SDK: run by pubnub-local/interop/run.sh"]
async fn files_are_exchanged_with_the_python_sdk_plain_and_encrypted() {
    use pubnub_engine::files::FileData;

    let server = server().await;
    let url = server.url();
    let dir = std::env::temp_dir().join(format!("pubnub-interop-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let content: Vec<u8> = (0..150_000u32).map(|n| (n * 13 % 256) as u8).collect();
    let source = dir.join("source.bin");
    std::fs::write(&source, &content).unwrap();

    for cryptor in ["none", "legacy", "aes-cbc"] {
        let channel = format!("interop-files-{cryptor}");
        let rust = client_with(&server, "rust-files", |b| match cryptor {
            "none" => b,
            other => b.crypto_module(module(other)),
        });
        let mut statuses = rust.status_stream();
        let sub = rust
            .channel(channel.as_str())
            .subscription(SubscriptionOptions::new());
        let mut events = sub.file_stream();
        sub.subscribe().unwrap();
        let status = within(statuses.next()).await.unwrap();
        assert_eq!(status.category, StatusCategory::Connected);

        // Python sends; this SDK sees the event and downloads the same bytes.
        let line = file_exchange_py(vec![
            "send".into(),
            url.clone(),
            channel.clone(),
            cryptor.into(),
            CIPHER_KEY.into(),
            source.display().to_string(),
            "from-python.bin".into(),
        ])
        .await;
        let sent: Value = serde_json::from_str(line.trim()).unwrap();
        let event = within(events.next()).await.unwrap();
        assert_eq!(event.file_id, sent["id"].as_str().unwrap(), "{cryptor}");
        assert_eq!(event.file_name, "from-python.bin");
        assert_eq!(event.message, Some(json!({"from": "python"})), "{cryptor}");
        let file = rust
            .download_file()
            .channel(channel.as_str())
            .file_id(&event.file_id)
            .file_name(&event.file_name)
            .await
            .unwrap();
        assert!(
            file.data == content,
            "{cryptor}: Python's upload read by this SDK"
        );

        // This SDK sends; Python downloads the same bytes.
        let ours = rust
            .send_file()
            .channel(channel.as_str())
            .file_name("from-rust.bin")
            .data(FileData::bytes(content.clone()))
            .message(&json!({"from": "rust"}))
            .await
            .unwrap();
        let out = dir.join(format!("from-rust-{cryptor}.bin"));
        file_exchange_py(vec![
            "download".into(),
            url.clone(),
            channel.clone(),
            cryptor.into(),
            CIPHER_KEY.into(),
            ours.file_id.clone(),
            ours.file_name.clone(),
            out.display().to_string(),
        ])
        .await;
        assert!(
            std::fs::read(&out).unwrap() == content,
            "{cryptor}: this SDK's upload read by Python"
        );
        rust.close().await;
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `push.py` with `args` (its `register` and `list` modes, keys pub-key / sub-key); its stdout.
async fn push_py(args: Vec<String>) -> String {
    interop_py("push.py", args).await
}

/// Push registrations both ways (issue 29): the Python SDK registers an FCM device and this SDK
/// lists it; this SDK registers one and the Python SDK lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PubNub's Python SDK: run by pubnub-local/interop/run.sh"]
async fn push_registrations_are_shared_with_the_python_sdk() {
    use pubnub_engine::push::PushType;

    let server = server().await;
    let url = server.url();
    let pubnub = client_with(&server, "rust-push", |b| b);

    push_py(vec![
        "register".into(),
        url.clone(),
        "py-device".into(),
        "py-a".into(),
        "py-b".into(),
    ])
    .await;
    let listed = pubnub
        .list_push_channels()
        .push_type(PushType::Fcm)
        .device_id("py-device")
        .await
        .unwrap();
    assert_eq!(listed.channels, ["py-a", "py-b"]);

    pubnub
        .add_channels_to_push()
        .push_type(PushType::Fcm)
        .channels(["rust-a", "rust-b"])
        .device_id("rust-device")
        .await
        .unwrap();
    let line = push_py(vec!["list".into(), url.clone(), "rust-device".into()]).await;
    let channels: Vec<String> = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(channels, ["rust-a", "rust-b"]);
    pubnub.close().await;
}

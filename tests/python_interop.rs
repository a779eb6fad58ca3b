//! This SDK with PubNub's official Python SDK on one in-process `pubnub-local`.
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

use std::path::PathBuf;
use std::process::Command;

use futures_util::StreamExt;
use pubnub_engine::{StatusCategory, SubscriptionOptions};
use serde_json::json;

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

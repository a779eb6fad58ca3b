//! No leave for channels the client never joined (issue 15): "joined" means a request that
//! joins the channel (a handshake, a heartbeat) was sent and not refused. After a handshake
//! refused with 403 — by Access Manager, here a client whose secret key the server does not
//! know — `close()` must send no leave. The rules are the table test in
//! `src/presence/joined.rs`.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::{PubNub, Status, StatusCategory, SubscriptionOptions};
use pubnub_local::{Server, ServerBuilder, ServerHandle};

use support::local::{client_with, within};

/// Subscribes `pubnub` to `room`, returns the first status, then closes the client.
async fn subscribe_then_close(pubnub: PubNub) -> Status {
    let mut statuses = pubnub.status_stream();
    let sub = pubnub
        .channel("room")
        .subscription(SubscriptionOptions::new());
    sub.subscribe().unwrap();
    let status = within(statuses.next()).await.unwrap();
    pubnub.close().await;
    status
}

async fn start(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> ServerHandle {
    let builder = Server::builder()
        .hold(Duration::from_secs(2))
        .record_requests(true);
    configure(builder).start().await.unwrap()
}

/// The paths of the leave requests the server received.
fn leaves(server: &ServerHandle) -> Vec<String> {
    server
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.ends_with("/leave"))
        .collect()
}

#[tokio::test]
async fn a_refused_handshake_then_close_sends_no_leave() {
    let server = start(|b| b.secret_key("sec-c-server").publish_key("pub-key")).await;
    let pubnub = client_with(&server, "refused", |b| b.secret_key("sec-c-other"));
    let status = subscribe_then_close(pubnub).await;
    assert_eq!(status.error_category(), Some(StatusCategory::AccessDenied));
    let leaves = leaves(&server);
    assert!(
        leaves.is_empty(),
        "a leave for a channel never joined: {leaves:#?}"
    );
}

#[tokio::test]
async fn a_joined_channel_is_left_on_close() {
    let server = start(|b| b).await;
    let status = subscribe_then_close(client_with(&server, "joined", |b| b)).await;
    assert_eq!(status.category, StatusCategory::Connected);
    let leaves = leaves(&server);
    assert_eq!(leaves.len(), 1, "{leaves:#?}");
    assert!(leaves[0].contains("/channel/room/"), "{leaves:#?}");
}

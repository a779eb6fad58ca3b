//! Paging against a server that repeats itself: every `pages()` stream ends instead of asking
//! for the same page forever (the service's cursors only move one way; a broken proxy or a
//! hostile server may not).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use pubnub_engine::testing::{Answer, RequestKind, ScriptedTransport};
use pubnub_engine::PubNub;

fn client(kind: RequestKind, answer: &str) -> (PubNub, Arc<ScriptedTransport>) {
    let server = Arc::new(
        ScriptedTransport::new().with(kind, (0..50).map(|_| Answer::ok(answer.to_owned()))),
    );
    let pubnub = PubNub::builder("sub-key", "user-1")
        .publish_key("pub-key")
        .transport(server.clone())
        .build_client()
        .unwrap();
    (pubnub, server)
}

async fn count<T>(stream: impl futures_util::Stream<Item = T>) -> usize {
    tokio::time::timeout(Duration::from_secs(10), stream.count())
        .await
        .expect("the walk ends")
}

#[tokio::test]
async fn history_pages_end_when_the_server_repeats_a_full_page() {
    let (pubnub, server) = client(
        RequestKind::History,
        r#"{"status":200,"channels":{"a":[
            {"message":1,"timetoken":"17000000000000001"},
            {"message":2,"timetoken":"17000000000000002"}]}}"#,
    );
    let pages = count(pubnub.fetch_messages().channels(["a"]).count(2).pages()).await;
    // The first page, then the page older than its oldest message: the same answer again,
    // which is not older, so the walk stops.
    assert_eq!(pages, 2);
    assert_eq!(server.requests_of(RequestKind::History).len(), 2);
}

#[tokio::test]
async fn message_action_pages_end_when_more_does_not_move() {
    let (pubnub, server) = client(
        RequestKind::MessageActions,
        r#"{"status":200,"data":[{"type":"reaction","value":"x","uuid":"u",
            "actionTimetoken":"17000000000000005","messageTimetoken":"17000000000000001"}],
            "more":{"start":"17000000000000005","limit":1}}"#,
    );
    let pages = count(pubnub.get_message_actions().channel("a").pages()).await;
    assert_eq!(pages, 2);
    assert_eq!(server.requests_of(RequestKind::MessageActions).len(), 2);
}

#[tokio::test]
async fn app_context_pages_end_when_a_cursor_comes_back() {
    let (pubnub, server) = client(
        RequestKind::AppContext,
        r#"{"status":200,"data":[{"id":"u1","name":"One","updated":"2026-01-01T00:00:00.0Z",
            "eTag":"AbC"}],"next":"CURSOR"}"#,
    );
    // A page as full as asked for (limit 1), whose cursor comes back on the next page.
    let pages = count(pubnub.get_all_uuid_metadata().limit(1).pages()).await;
    assert_eq!(pages, 2);
    assert_eq!(server.requests_of(RequestKind::AppContext).len(), 2);
    // A page shorter than the limit is the last, whatever cursor it names (the service names
    // one on every page that is not empty).
    let before = server.requests_of(RequestKind::AppContext).len();
    let pages = count(pubnub.get_all_uuid_metadata().pages()).await;
    assert_eq!(pages, 1);
    assert_eq!(
        server.requests_of(RequestKind::AppContext).len(),
        before + 1
    );
}

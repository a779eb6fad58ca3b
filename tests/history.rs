//! Message persistence, message actions and gap fill against `pubnub-local` over loopback.
//!
//! Every call is checked against what the server stored; bad input is checked to be refused
//! before anything is sent; gap fill is checked to deliver a burst larger than the service's
//! queue exactly once, in order, marked recovered (across two channels, across more than one
//! history page, when history itself has dropped messages, and when its page budget runs out).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use pubnub_engine::{
    ErrorKind, Message, PubNub, Status, StatusCategory, SubscriptionOptions, SubscriptionSet,
};
use pubnub_local::{Endpoint, Fault, Server, ServerHandle};
use serde_json::json;

use support::local::{client, client_with, server, within};

/// The timetokens of `messages`, in delivery order.
fn timetokens(messages: &[Message]) -> Vec<u64> {
    messages.iter().map(|m| m.timetoken).collect()
}

async fn publish_n(pubnub: &PubNub, channel: &str, n: usize) -> Vec<u64> {
    let mut timetokens = Vec::with_capacity(n);
    for i in 0..n {
        let sent = pubnub
            .publish()
            .channel(channel)
            .message(&json!({ "n": i }))
            .await
            .expect("publish");
        timetokens.push(sent.timetoken);
    }
    timetokens
}

fn sent_requests(server: &ServerHandle) -> usize {
    server.requests().len()
}

#[tokio::test]
async fn fetch_reads_back_what_was_published_with_its_details() {
    let server = server().await;
    let pubnub = client(&server);
    let first = pubnub
        .publish()
        .channel("log")
        .message(&json!({"text": "one"}))
        .meta(&json!({"lang": "en"}))
        .custom_message_type("text-message")
        .await
        .unwrap();
    let second = pubnub
        .publish()
        .channel("log")
        .message(&json!("two"))
        .await
        .unwrap();
    pubnub
        .publish()
        .channel("log")
        .message(&json!("not stored"))
        .should_store(false)
        .await
        .unwrap();
    pubnub
        .signal()
        .channel("log")
        .message(&json!("sig"))
        .await
        .unwrap();

    let result = pubnub
        .fetch_messages()
        .channels(["log"])
        .include_meta(true)
        .include_custom_message_type(true)
        .await
        .unwrap();
    assert!(result.more.is_empty());
    let log = &result.channels["log"];
    assert_eq!(
        log.len(),
        2,
        "unstored messages and signals are not in history"
    );
    assert_eq!(log[0].timetoken, first.timetoken);
    assert_eq!(log[0].message, json!({"text": "one"}));
    assert_eq!(log[0].meta, Some(json!({"lang": "en"})));
    assert_eq!(log[0].custom_message_type.as_deref(), Some("text-message"));
    assert_eq!(log[0].publisher.as_deref(), Some("test-user"));
    assert_eq!(log[1].timetoken, second.timetoken);
    assert_eq!(log[1].message, json!("two"));
    assert_eq!(log[1].meta, None);

    // Without the includes, the details stay out.
    let plain = pubnub
        .fetch_messages()
        .channels(["log"])
        .include_uuid(false)
        .await
        .unwrap();
    assert_eq!(plain.channels["log"][0].meta, None);
    assert_eq!(plain.channels["log"][0].publisher, None);
    assert_eq!(plain.channels["log"][0].custom_message_type, None);
    pubnub.close().await;
}

#[tokio::test]
async fn fetch_reads_several_channels_and_honours_the_range_bounds() {
    let server = server().await;
    let pubnub = client(&server);
    let a = publish_n(&pubnub, "a", 5).await;
    let b = publish_n(&pubnub, "b", 3).await;

    let both = pubnub
        .fetch_messages()
        .channels(["a", "b", "empty"])
        .await
        .unwrap();
    let tts = |r: &pubnub_engine::history::FetchMessagesResult, c: &str| -> Vec<u64> {
        r.channels
            .get(c)
            .map(|m| m.iter().map(|m| m.timetoken).collect())
            .unwrap_or_default()
    };
    assert_eq!(tts(&both, "a"), a);
    assert_eq!(tts(&both, "b"), b);
    assert!(!both.channels.contains_key("empty"));

    // start is exclusive (newer bound), end inclusive (older bound).
    let range = pubnub
        .fetch_messages()
        .channels(["a"])
        .start(a[3])
        .end(a[1])
        .await
        .unwrap();
    assert_eq!(tts(&range, "a"), a[1..3].to_vec());

    // count keeps the newest of the range and says where the older rest starts.
    let newest = pubnub
        .fetch_messages()
        .channels(["a"])
        .count(2)
        .await
        .unwrap();
    assert_eq!(tts(&newest, "a"), a[3..].to_vec());
    assert_eq!(newest.more.get("a"), Some(&a[3]));
    pubnub.close().await;
}

#[tokio::test]
async fn pages_walk_a_channel_longer_than_one_page_oldest_last() {
    let server = server().await;
    let pubnub = client(&server);
    let sent = publish_n(&pubnub, "long", 230).await;

    let pages: Vec<_> = pubnub
        .fetch_messages()
        .channels(["long"])
        .pages()
        .collect()
        .await;
    let pages: Vec<_> = pages.into_iter().map(|p| p.expect("page")).collect();
    assert_eq!(pages.len(), 3, "100 + 100 + 30");
    // Pages go backwards in time; each page is oldest first.
    let mut read: Vec<u64> = pages
        .iter()
        .rev()
        .flat_map(|p| p.channels["long"].iter().map(|m| m.timetoken))
        .collect();
    assert_eq!(read, sent);
    read.dedup();
    assert_eq!(read.len(), 230, "no message twice");

    // With a count, every page has that many (but the last).
    let sizes: Vec<usize> = pubnub
        .fetch_messages()
        .channels(["long"])
        .count(40)
        .pages()
        .map(|p| p.expect("page").channels["long"].len())
        .collect()
        .await;
    assert_eq!(sizes, [40, 40, 40, 40, 40, 30]);
    pubnub.close().await;
}

#[tokio::test]
async fn message_counts_count_per_channel_since_timetokens() {
    let server = server().await;
    let pubnub = client(&server);
    let a = publish_n(&pubnub, "a", 6).await;
    let b = publish_n(&pubnub, "b", 4).await;

    let since_start = pubnub
        .message_counts()
        .channels(["a", "b"])
        .timetoken(a[0] - 1)
        .await
        .unwrap();
    assert_eq!(
        since_start,
        BTreeMap::from([("a".into(), 6), ("b".into(), 4)])
    );

    let each = pubnub
        .message_counts()
        .channels(["a", "b"])
        .channels_timetoken([a[3], b[0]])
        .await
        .unwrap();
    assert_eq!(each["a"], 2, "newer than a[3]");
    assert_eq!(each["b"], 3, "newer than b[0]");
    pubnub.close().await;
}

#[tokio::test]
async fn delete_needs_the_secret_key_and_removes_the_range() {
    let server = Server::builder()
        .secret_key("sec-key")
        .publish_key("pub-key")
        .record_requests(true)
        .start()
        .await
        .unwrap();
    let pubnub = client_with(&server, "admin", |b| b.secret_key("sec-key"));
    let sent = publish_n(&pubnub, "trash", 5).await;

    let without = client(&server);
    let before = sent_requests(&server);
    let refused = without
        .delete_messages()
        .channel("trash")
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidArgument);
    assert_eq!(sent_requests(&server), before, "nothing sent");

    // Delete messages 1..=3: end is inclusive, start exclusive.
    pubnub
        .delete_messages()
        .channel("trash")
        .start(sent[4])
        .end(sent[1])
        .await
        .unwrap();
    let left = pubnub.fetch_messages().channels(["trash"]).await.unwrap();
    let left: Vec<u64> = left.channels["trash"].iter().map(|m| m.timetoken).collect();
    assert_eq!(left, vec![sent[0], sent[4]]);

    // PubNub's documented way to delete the one message published at T: start = T - 1 (older,
    // exclusive), end = T (inclusive).
    pubnub
        .delete_messages()
        .channel("trash")
        .start(sent[4] - 1)
        .end(sent[4])
        .await
        .unwrap();
    let left = pubnub.fetch_messages().channels(["trash"]).await.unwrap();
    let left: Vec<u64> = left.channels["trash"].iter().map(|m| m.timetoken).collect();
    assert_eq!(left, vec![sent[0]]);
    // Equal bounds delete nothing: refused before sending.
    let before = sent_requests(&server);
    let empty = pubnub
        .delete_messages()
        .channel("trash")
        .start(sent[0])
        .end(sent[0])
        .await
        .unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::InvalidArgument);
    assert_eq!(sent_requests(&server), before, "nothing sent");

    pubnub.delete_messages().channel("trash").await.unwrap();
    let none = pubnub.fetch_messages().channels(["trash"]).await.unwrap();
    assert!(none.channels.is_empty());
    pubnub.close().await;
    without.close().await;
}

#[tokio::test]
async fn message_actions_are_added_listed_attached_announced_and_removed() {
    let server = server().await;
    let watcher = client_with(&server, "watcher", |b| b);
    let sub = watcher
        .channel("chat")
        .subscription(SubscriptionOptions::new());
    let mut actions = sub.message_action_stream();
    let mut statuses = watcher.status_stream();
    sub.subscribe().unwrap();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::Connected
    );

    let pubnub = client_with(&server, "alice", |b| b);
    let message = pubnub
        .publish()
        .channel("chat")
        .message(&json!("hello"))
        .await
        .unwrap();
    let added = pubnub
        .add_message_action()
        .channel("chat")
        .message_timetoken(message.timetoken)
        .action_type("reaction")
        .value("smiley_face")
        .await
        .unwrap();
    assert_eq!(added.action_type, "reaction");
    assert_eq!(added.value, "smiley_face");
    assert_eq!(added.user_id, "alice");
    assert_eq!(added.message_timetoken, message.timetoken);

    let event = within(actions.next()).await.unwrap();
    assert_eq!(event.event, pubnub_engine::MessageActionEvent::Added);
    assert_eq!(event.action_type, "reaction");
    assert_eq!(event.value, "smiley_face");
    assert_eq!(event.message_timetoken, message.timetoken);
    assert_eq!(event.action_timetoken, added.action_timetoken);
    assert_eq!(event.publisher.as_deref(), Some("alice"));

    let listed = pubnub.get_message_actions().channel("chat").await.unwrap();
    assert_eq!(listed.actions, vec![added.clone()]);

    let with_actions = pubnub
        .fetch_messages()
        .channels(["chat"])
        .include_message_actions(true)
        .await
        .unwrap();
    let refs = &with_actions.channels["chat"][0].actions["reaction"]["smiley_face"];
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].user_id, "alice");
    assert_eq!(refs[0].action_timetoken, added.action_timetoken);

    pubnub
        .remove_message_action()
        .channel("chat")
        .message_timetoken(message.timetoken)
        .action_timetoken(added.action_timetoken)
        .await
        .unwrap();
    let removed = within(actions.next()).await.unwrap();
    assert_eq!(removed.event, pubnub_engine::MessageActionEvent::Removed);
    assert_eq!(removed.action_timetoken, added.action_timetoken);
    let listed = pubnub.get_message_actions().channel("chat").await.unwrap();
    assert!(listed.actions.is_empty());
    pubnub.close().await;
    watcher.close().await;
}

#[tokio::test]
async fn message_action_pages_walk_every_action_once() {
    let server = server().await;
    let pubnub = client(&server);
    let message = pubnub
        .publish()
        .channel("votes")
        .message(&json!("poll"))
        .await
        .unwrap();
    for i in 0..7 {
        pubnub
            .add_message_action()
            .channel("votes")
            .message_timetoken(message.timetoken)
            .action_type("vote")
            .value(format!("option-{i}"))
            .await
            .unwrap();
    }
    let pages: Vec<_> = pubnub
        .get_message_actions()
        .channel("votes")
        .limit(3)
        .pages()
        .collect()
        .await;
    let pages: Vec<_> = pages.into_iter().map(|p| p.expect("page")).collect();
    assert_eq!(
        pages.iter().map(|p| p.actions.len()).collect::<Vec<_>>(),
        [3, 3, 1]
    );
    let mut values: Vec<String> = pages
        .iter()
        .flat_map(|p| p.actions.iter().map(|a| a.value.clone()))
        .collect();
    values.sort();
    values.dedup();
    assert_eq!(values.len(), 7);
    pubnub.close().await;
}

#[tokio::test]
async fn bad_history_input_is_refused_before_anything_is_sent() {
    let server = server().await;
    let pubnub = client(&server);
    let before = sent_requests(&server);
    let invalid = |e: pubnub_engine::Error| {
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    };

    invalid(pubnub.fetch_messages().await.unwrap_err());
    invalid(pubnub.fetch_messages().channels([""]).await.unwrap_err());
    let many: Vec<String> = (0..501).map(|i| format!("c{i}")).collect();
    invalid(
        pubnub
            .fetch_messages()
            .channels(many.clone())
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .fetch_messages()
            .channels(["a"])
            .count(0)
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .fetch_messages()
            .channels(["a"])
            .count(101)
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .fetch_messages()
            .channels(["a", "b"])
            .count(26)
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .fetch_messages()
            .channels(["a"])
            .start(10_000)
            .end(20_000)
            .await
            .unwrap_err(),
    );
    invalid(pubnub.message_counts().channels(["a"]).await.unwrap_err());
    invalid(
        pubnub
            .message_counts()
            .channels(["a", "b"])
            .channels_timetoken([1, 2, 3])
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .message_counts()
            .channels(many)
            .timetoken(1)
            .await
            .unwrap_err(),
    );
    let over_counts: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
    invalid(
        pubnub
            .message_counts()
            .channels(over_counts)
            .timetoken(17_000_000_000_000_000)
            .await
            .unwrap_err(),
    );
    invalid(pubnub.delete_messages().await.unwrap_err());
    invalid(
        pubnub
            .add_message_action()
            .channel("a")
            .message_timetoken(1)
            .value("v")
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .add_message_action()
            .channel("a")
            .message_timetoken(1)
            .action_type("a-type-longer-than-15")
            .value("v")
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .add_message_action()
            .channel("a")
            .action_type("reaction")
            .value("v")
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .remove_message_action()
            .channel("a")
            .message_timetoken(1)
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .get_message_actions()
            .channel("a")
            .limit(0)
            .await
            .unwrap_err(),
    );
    invalid(
        pubnub
            .get_message_actions()
            .channel("a")
            .limit(101)
            .await
            .unwrap_err(),
    );
    assert_eq!(sent_requests(&server), before, "nothing was sent");
    pubnub.close().await;
}

// ---------------------------------------------------------------------------------------------
// Gap fill: a subscriber that was away while more was published than the service queues.

/// A server whose subscribe queue keeps `queue` messages per channel, and whose history keeps
/// `history`.
async fn small_queue_server(queue: usize, history: usize) -> ServerHandle {
    Server::builder()
        .hold(Duration::from_secs(2))
        .buffer_size(queue)
        .history_size(history)
        .start()
        .await
        .unwrap()
}

/// A subscriber of `channels` with gap fill on (`pages`) or off, whose threshold is the
/// server's queue length: a full answer may have dropped older messages.
struct Away {
    pubnub: PubNub,
    _set: SubscriptionSet,
    messages: tokio::sync::mpsc::UnboundedReceiver<Message>,
    statuses: pubnub_engine::StatusStream,
}

async fn subscriber(
    server: &ServerHandle,
    channels: &[&str],
    queue: u32,
    gap_fill: Option<u32>,
) -> Away {
    subscriber_with(server, channels, queue, gap_fill, |b| b).await
}

/// [`subscriber`], with more configuration.
async fn subscriber_with(
    server: &ServerHandle,
    channels: &[&str],
    queue: u32,
    gap_fill: Option<u32>,
    configure: impl FnOnce(pubnub_engine::ConfigBuilder) -> pubnub_engine::ConfigBuilder,
) -> Away {
    let pubnub = client_with(server, "reader", |b| {
        let b = configure(b.request_message_count_threshold(queue));
        match gap_fill {
            Some(pages) => b.gap_fill(pages),
            None => b,
        }
    });
    let set = pubnub.subscription_set_of(
        channels.iter().copied(),
        std::iter::empty::<&str>(),
        SubscriptionOptions::new(),
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    set.on_message(move |m| {
        let _ = tx.send(m);
    });
    let mut statuses = pubnub.status_stream();
    set.subscribe().unwrap();
    assert_eq!(
        within(statuses.next()).await.unwrap().category,
        StatusCategory::Connected
    );
    Away {
        pubnub,
        _set: set,
        messages: rx,
        statuses,
    }
}

impl Away {
    /// Receives `n` messages, failing if they do not come.
    async fn receive(&mut self, n: usize) -> Vec<Message> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            out.push(within(self.messages.recv()).await.expect("a message"));
        }
        out
    }

    /// Disconnects, has `publisher` publish `n` messages to `channel` meanwhile, and
    /// reconnects from the kept cursor: what the subscriber missed. Their timetokens.
    async fn miss(&mut self, publisher: &PubNub, channel: &str, n: usize) -> Vec<u64> {
        self.pubnub.disconnect();
        let sent = publish_n(publisher, channel, n).await;
        self.pubnub.reconnect();
        sent
    }

    /// The statuses emitted so far, without waiting.
    fn statuses_now(&mut self) -> Vec<Status> {
        let mut out = Vec::new();
        while let Some(Some(status)) = self.statuses.next().now_or_never() {
            out.push(status);
        }
        out
    }

    /// Publishes a marker on `channel` and checks it is the next message this subscriber
    /// gets: nothing was delivered twice before it (delivery is in order, so a duplicate
    /// would come first). No waiting on the clock.
    async fn next_is_marker(&mut self, publisher: &PubNub, channel: &str) {
        let marker = publisher
            .publish()
            .channel(channel)
            .message(&json!("marker"))
            .await
            .unwrap();
        let next = within(self.messages.recv()).await.expect("a message");
        assert_eq!(next.timetoken, marker.timetoken, "nothing twice: {next:?}");
        assert!(!next.recovered);
    }
}

#[tokio::test]
async fn gap_fill_delivers_a_burst_larger_than_the_queue_exactly_once_in_order() {
    let server = small_queue_server(20, 10_000).await;
    let mut away = subscriber(&server, &["burst"], 20, Some(5)).await;
    let publisher = client(&server);
    // 150 messages: more than the queue (20) and more than one history page (100).
    let sent = away.miss(&publisher, "burst", 150).await;

    let got = away.receive(150).await;
    assert_eq!(timetokens(&got), sent);
    assert_eq!(
        got.iter().filter(|m| m.recovered).count(),
        130,
        "all but the queue's 20 came from history"
    );
    assert!(got[..130].iter().all(|m| m.recovered));
    assert!(got[130..].iter().all(|m| !m.recovered));
    assert_eq!(got[0].message, json!({"n": 0}));
    assert_eq!(got[0].channel, "burst");
    assert_eq!(got[0].subscription, "burst");
    assert_eq!(got[0].publisher.as_deref(), Some("test-user"));
    // The loop goes on after the fill: the next message is live, and nothing came twice.
    away.next_is_marker(&publisher, "burst").await;
    let categories: Vec<_> = away
        .statuses_now()
        .into_iter()
        .map(|s| s.category)
        .collect();
    assert!(categories.contains(&StatusCategory::RequestMessageCountExceeded));
    assert!(!categories.contains(&StatusCategory::MessagesNotRecovered));

    away.pubnub.close().await;
    publisher.close().await;
}

#[tokio::test]
async fn without_gap_fill_the_same_burst_loses_what_the_queue_dropped() {
    let server = small_queue_server(20, 10_000).await;
    let mut away = subscriber(&server, &["burst"], 20, None).await;
    let publisher = client(&server);
    let sent = away.miss(&publisher, "burst", 150).await;

    let got = away.receive(20).await;
    assert_eq!(timetokens(&got), sent[130..]);
    away.next_is_marker(&publisher, "burst").await;
    let categories: Vec<_> = away
        .statuses_now()
        .into_iter()
        .map(|s| s.category)
        .collect();
    assert!(categories.contains(&StatusCategory::RequestMessageCountExceeded));
    away.pubnub.close().await;
    publisher.close().await;
}

#[tokio::test]
async fn gap_fill_recovers_gaps_in_two_channels_each_in_order() {
    let server = small_queue_server(10, 10_000).await;
    let mut away = subscriber(&server, &["left", "right"], 10, Some(10)).await;
    away.pubnub.disconnect();
    let publisher = client(&server);
    let mut left = Vec::new();
    let mut right = Vec::new();
    for _ in 0..4 {
        left.extend(publish_n(&publisher, "left", 15).await);
        right.extend(publish_n(&publisher, "right", 10).await);
    }
    away.pubnub.reconnect();

    let got = away.receive(100).await;
    let of = |channel: &str| -> Vec<u64> {
        got.iter()
            .filter(|m| m.channel == channel)
            .map(|m| m.timetoken)
            .collect()
    };
    assert_eq!(of("left"), left);
    assert_eq!(of("right"), right);
    assert!(got.iter().filter(|m| m.recovered).count() >= 80);
    away.next_is_marker(&publisher, "left").await;
    away.pubnub.close().await;
    publisher.close().await;
}

#[tokio::test]
async fn gap_fill_delivers_what_history_still_has_when_it_dropped_the_rest() {
    // History keeps 50: of 150 published, messages 0..100 are gone from everywhere.
    let server = small_queue_server(20, 50).await;
    let mut away = subscriber(&server, &["old"], 20, Some(5)).await;
    let publisher = client(&server);
    let sent = away.miss(&publisher, "old", 150).await;

    let got = away.receive(50).await;
    assert_eq!(timetokens(&got), sent[100..]);
    assert_eq!(got.iter().filter(|m| m.recovered).count(), 30);
    away.next_is_marker(&publisher, "old").await;
    away.pubnub.close().await;
    publisher.close().await;
}

#[tokio::test]
async fn gap_fill_reports_what_its_page_budget_could_not_read() {
    let server = small_queue_server(20, 10_000).await;
    // One page of 100: a 230-message gap leaves 110 unread.
    let mut away = subscriber(&server, &["big"], 20, Some(1)).await;
    let publisher = client(&server);
    let sent = away.miss(&publisher, "big", 250).await;

    let got = away.receive(120).await;
    // The newest page of the gap, then the queue: still in order, each once.
    assert_eq!(timetokens(&got), sent[130..]);
    away.next_is_marker(&publisher, "big").await;
    let not_recovered: Vec<Status> = away
        .statuses_now()
        .into_iter()
        .filter(|s| s.category == StatusCategory::MessagesNotRecovered)
        .collect();
    assert_eq!(not_recovered.len(), 1);
    assert_eq!(not_recovered[0].channels, ["big"]);
    let error = not_recovered[0].error.as_ref().expect("a reason");
    assert_eq!(error.kind, ErrorKind::NotRecovered);
    away.pubnub.close().await;
    publisher.close().await;
}

#[tokio::test]
async fn gap_fill_refuses_a_filter_expression_and_an_empty_budget() {
    let server = server().await;
    let with_filter = PubNub::builder("sub-key", "u")
        .origin(server.url())
        .filter_expression("lang == 'en'")
        .gap_fill(3)
        .build_client();
    assert_eq!(with_filter.unwrap_err().kind(), ErrorKind::InvalidArgument);
    let no_pages = PubNub::builder("sub-key", "u")
        .origin(server.url())
        .gap_fill(0)
        .build_client();
    assert_eq!(no_pages.unwrap_err().kind(), ErrorKind::InvalidArgument);
}

async fn faulty_small_queue_server() -> ServerHandle {
    Server::builder()
        .hold(Duration::from_secs(2))
        .buffer_size(20)
        .faults(true)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn gap_fill_retries_history_failures_with_the_clients_policy() {
    let server = faulty_small_queue_server().await;
    let mut away = subscriber(&server, &["burst"], 20, Some(5)).await;
    away.pubnub.disconnect();
    let publisher = client(&server);
    let sent = publish_n(&publisher, "burst", 150).await;
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::History).times(2));
    away.pubnub.reconnect();

    let got = away.receive(150).await;
    assert_eq!(timetokens(&got), sent);
    assert!(server.faults().pending().is_empty(), "both faults were hit");
    away.next_is_marker(&publisher, "burst").await;
    away.pubnub.close().await;
    publisher.close().await;
}

#[tokio::test]
async fn a_history_refusal_delivers_the_answer_and_reports_the_gap() {
    let server = faulty_small_queue_server().await;
    let mut away = subscriber(&server, &["burst"], 20, Some(5)).await;
    away.pubnub.disconnect();
    let publisher = client(&server);
    let sent = publish_n(&publisher, "burst", 150).await;
    server
        .faults()
        .inject(Fault::status(403).on(Endpoint::History).times(1));
    away.pubnub.reconnect();

    let got = away.receive(20).await;
    assert_eq!(timetokens(&got), sent[130..]);
    assert!(got.iter().all(|m| !m.recovered));
    away.next_is_marker(&publisher, "burst").await;
    let not_recovered: Vec<Status> = away
        .statuses_now()
        .into_iter()
        .filter(|s| s.category == StatusCategory::MessagesNotRecovered)
        .collect();
    assert_eq!(not_recovered.len(), 1);
    assert_eq!(not_recovered[0].channels, ["burst"]);
    assert_eq!(
        not_recovered[0].error.as_ref().map(|e| e.kind),
        Some(ErrorKind::AccessDenied)
    );
    away.pubnub.close().await;
    publisher.close().await;
}

#[tokio::test]
async fn a_history_refusal_mid_way_delivers_what_was_recovered_and_reports_the_rest() {
    // 250 published, 20 queued: a 230-message gap, read newest page first. The first page
    // (100) is read; the second is refused. What the first page recovered is delivered before
    // the answer, and the older rest of the range is reported with the refusal.
    let server = faulty_small_queue_server().await;
    let mut away = subscriber(&server, &["burst"], 20, Some(5)).await;
    // The first history request passes (a delay of nothing), the second is refused.
    let faults = server.faults();
    faults.inject(Fault::delay(Duration::ZERO).on(Endpoint::History).times(1));
    faults.inject(Fault::status(403).on(Endpoint::History).times(1));
    let publisher = client(&server);
    let sent = away.miss(&publisher, "burst", 250).await;

    let got = away.receive(120).await;
    assert_eq!(timetokens(&got), sent[130..]);
    assert_eq!(got.iter().filter(|m| m.recovered).count(), 100);
    assert!(faults.pending().is_empty(), "both faults were hit");
    away.next_is_marker(&publisher, "burst").await;
    let reported: Vec<(Vec<String>, Option<ErrorKind>)> = away
        .statuses_now()
        .into_iter()
        .filter(|s| s.category == StatusCategory::MessagesNotRecovered)
        .map(|s| (s.channels, s.error.map(|e| e.kind)))
        .collect();
    assert_eq!(
        reported,
        [(vec!["burst".to_owned()], Some(ErrorKind::AccessDenied))]
    );
    away.pubnub.close().await;
    publisher.close().await;
}

#[tokio::test]
async fn gap_fill_recovers_what_an_outage_overflowed() {
    // The network fails while 150 messages are published: the loop retries its long-poll
    // from the kept cursor, and the first answer after the outage is the queue's last 20.
    let server = faulty_small_queue_server().await;
    let mut away = subscriber(&server, &["outage"], 20, Some(5)).await;
    while server.hub().waiting_subscribers() == 0 {
        tokio::task::yield_now().await;
    }
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::Subscribe).times(10_000));
    server.faults().drop_long_polls();
    let publisher = client(&server);
    let sent = publish_n(&publisher, "outage", 150).await;
    server.faults().clear();

    let got = away.receive(150).await;
    assert_eq!(timetokens(&got), sent);
    assert_eq!(got.iter().filter(|m| m.recovered).count(), 130);
    away.next_is_marker(&publisher, "outage").await;
    let categories: Vec<_> = away
        .statuses_now()
        .into_iter()
        .map(|s| s.category)
        .collect();
    assert!(
        categories.contains(&StatusCategory::Reconnected),
        "{categories:?}"
    );
    assert!(!categories.contains(&StatusCategory::MessagesNotRecovered));
    away.pubnub.close().await;
    publisher.close().await;
}

#[tokio::test]
async fn gap_fill_gets_past_a_history_request_that_is_never_answered() {
    // Not a polite failure: the history request is accepted and never answered. The fill's
    // request times out (here after 300 ms), is retried with the client's policy, and the
    // retry recovers everything.
    let server = faulty_small_queue_server().await;
    let mut away = subscriber_with(&server, &["silent"], 20, Some(5), |b| {
        b.non_subscribe_request_timeout(Duration::from_millis(300))
    })
    .await;
    server
        .faults()
        .inject(Fault::hang().on(Endpoint::History).times(1));
    let publisher = client(&server);
    let sent = away.miss(&publisher, "silent", 150).await;

    let got = away.receive(150).await;
    assert_eq!(timetokens(&got), sent);
    assert_eq!(got.iter().filter(|m| m.recovered).count(), 130);
    assert!(server.faults().pending().is_empty(), "the hang was hit");
    away.next_is_marker(&publisher, "silent").await;
    away.pubnub.close().await;
    publisher.close().await;
}

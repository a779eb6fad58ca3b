//! Requests the client refuses to send: invalid names, missing keys or payloads, oversized
//! messages and signals. The recording server must see nothing.

mod support;

use std::collections::HashMap;

use pubnub_engine::{Error, ErrorKind, PubNub};
use serde_json::json;
use support::{Reply, TestServer};

async fn publish(pubnub: &PubNub) -> Result<u64, Error> {
    pubnub
        .publish()
        .channel("chat")
        .message(&"hi")
        .await
        .map(|r| r.timetoken)
}

#[tokio::test]
async fn invalid_requests_are_refused_before_sending() {
    let server = TestServer::start().await;
    let pubnub = server.client();
    let long = "c".repeat(93);
    let bad_channels = [
        "",
        "a,b",
        "a:b",
        "a*",
        "a/b",
        "a\\b",
        "a b",
        "tab\t",
        "nl\n",
        "del\u{7f}",
        ".",
        "..",
        long.as_str(),
        "room-pnpres",
    ];
    for channel in bad_channels {
        let error = pubnub
            .publish()
            .channel(channel)
            .message(&1)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{channel:?}");
        let error = pubnub
            .signal()
            .channel(channel)
            .message(&1)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{channel:?}");
    }

    let invalid = |result: Result<_, Error>, what: &str| {
        let error = result
            .err()
            .unwrap_or_else(|| panic!("{what} was accepted"));
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{what}: {error}");
    };
    invalid(pubnub.publish().channel("c").await.map(drop), "no message");
    let mut not_json = HashMap::new();
    not_json.insert((1, 2), "tuple keys are not JSON");
    invalid(
        pubnub
            .publish()
            .channel("c")
            .message(&not_json)
            .await
            .map(drop),
        "unserialisable",
    );
    invalid(
        pubnub
            .publish()
            .channel("c")
            .message(&1)
            .meta(&[1, 2])
            .await
            .map(drop),
        "meta array",
    );
    for cmt in ["ab", "has space", &"x".repeat(51), "ünï"] {
        invalid(
            pubnub
                .publish()
                .channel("c")
                .message(&1)
                .custom_message_type(cmt)
                .await
                .map(drop),
            cmt,
        );
    }
    let no_publish_key = PubNub::builder("sub-key", "u")
        .origin(server.url())
        .build_client()
        .unwrap();
    invalid(publish(&no_publish_key).await.map(drop), "no publish key");
    invalid(
        pubnub.here_now().channels(["a b"]).await.map(drop),
        "here now channel",
    );
    invalid(
        pubnub.here_now().channel_groups(["g*"]).await.map(drop),
        "here now group",
    );
    invalid(
        pubnub.where_now().user_id("").await.map(drop),
        "empty user id",
    );
    invalid(
        pubnub.set_state().state(&json!({"k": 1})).await.map(drop),
        "set state without names",
    );
    invalid(
        pubnub.set_state().channels(["a"]).await.map(drop),
        "set state without state",
    );
    invalid(
        pubnub.set_state().channels(["a"]).state(&5).await.map(drop),
        "state not an object",
    );
    invalid(
        pubnub.get_state().await.map(drop),
        "get state without names",
    );
    invalid(
        pubnub.heartbeat().await.map(drop),
        "heartbeat without names",
    );
    invalid(
        pubnub.leave().channels(["a,b"]).await.map(drop),
        "leave of a list",
    );
    invalid(
        pubnub
            .add_channel_to_channel_group()
            .channels(["a"])
            .await
            .map(drop),
        "no group",
    );
    invalid(
        pubnub
            .add_channel_to_channel_group()
            .channel_group("g")
            .await
            .map(drop),
        "no channels",
    );
    invalid(
        pubnub
            .remove_channel_from_channel_group()
            .channel_group("g")
            .channels(["a/b"])
            .await
            .map(drop),
        "bad channel",
    );
    invalid(
        pubnub
            .list_channels_in_channel_group()
            .channel_group("g:h")
            .await
            .map(drop),
        "ns group",
    );
    invalid(
        pubnub.remove_channel_group().await.map(drop),
        "no group to delete",
    );

    assert!(server.requests().is_empty(), "{:#?}", server.requests());
}

#[tokio::test]
async fn oversized_messages_and_signals_are_refused_before_sending() {
    let server = TestServer::start().await;
    let pubnub = server.client();
    let too_large = |result: Result<_, Error>| {
        assert_eq!(
            result.map(drop).unwrap_err().kind(),
            ErrorKind::MessageTooLarge
        );
    };
    // 32 KiB of text, whether in a body (the default for a long message) or escaped in the
    // URL; over GET a third as many spaces escape to the same size.
    too_large(
        pubnub
            .publish()
            .channel("c")
            .message(&"a".repeat(32 * 1024))
            .await,
    );
    too_large(
        pubnub
            .publish()
            .channel("c")
            .message(&" ".repeat(11_000))
            .use_post(false)
            .await,
    );
    too_large(
        pubnub
            .fire()
            .channel("c")
            .message(&"a".repeat(32 * 1024))
            .await,
    );
    too_large(
        pubnub
            .publish()
            .channel("c")
            .message(&"a".repeat(32 * 1024))
            .use_post(true)
            .await,
    );
    too_large(pubnub.signal().channel("c").message(&"a".repeat(63)).await);
    too_large(
        pubnub
            .signal()
            .channel("c")
            .message(&json!({"text": "a".repeat(60)}))
            .await,
    );
    assert!(server.requests().is_empty());

    // Just under the limits: sent. The spaces go in a body by default, so they fit.
    server.fallback(Reply::json(200, r#"[1,"Sent","17000000000000000"]"#));
    pubnub
        .publish()
        .channel("c")
        .message(&" ".repeat(11_000))
        .await
        .unwrap();
    pubnub
        .signal()
        .channel("c")
        .message(&"a".repeat(62))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
}

//! A server started with a secret key refuses what is not signed with it or authorised by a token (the signatures
//! themselves are checked against PubNub's Python SDK in `src/http/auth.rs`, and end to end
//! with the SDK in the workspace's `tests/signed_e2e.rs`).

mod common;

use common::{builder, get};
use serde_json::json;

#[tokio::test]
async fn unsigned_stale_and_forged_requests_get_the_services_403() {
    let server = builder()
        .secret_key("sec-c-test")
        .publish_key("demo")
        .start()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Unsigned and without a token: Access Manager's `Forbidden`, naming the channel.
    let answer = get(&server, "/v2/subscribe/demo/ch/0?tt=0&uuid=u").await;
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!({"message": "Forbidden", "payload": {"channels": ["ch"]}, "error": true,
               "service": "Access Manager", "status": 403})
    );
    let cases = [
        (format!("/publish/demo/demo/0/ch/0/1?uuid=u&timestamp={now}&signature=v2.forged"), "signature"),
        (format!("/v2/presence/sub-key/demo/channel/ch?uuid=u&timestamp={}&signature=v2.x", now - 3600), "timestamp"),
        ("/v1/channel-registration/sub-key/demo/channel-group?uuid=u&signature=v2.x".to_string(), "timestamp"),
        (format!("/v1/channel-registration/sub-key/demo/channel-group/g?add=a&uuid=u&timestamp={now}&signature=v2.forged"), "signature"),
    ];
    for (path, location) in cases {
        let answer = get(&server, &path).await;
        assert_eq!(answer.status, 403, "{path}: {}", answer.text);
        let body = answer.json();
        assert_eq!(body["status"], json!(403));
        assert_eq!(body["service"], json!("Access Manager"));
        assert_eq!(body["error"]["message"], json!("Invalid signature"));
        assert_eq!(
            body["error"]["details"][0]["location"],
            json!(location),
            "{path}"
        );
    }
    // A refused request changes nothing.
    assert!(server.hub().groups("demo").is_empty());
    // `/time/0` needs no keys and no signature.
    let time = get(&server, "/time/0?uuid=u").await;
    assert_eq!(time.status, 200, "{}", time.text);
}

#[tokio::test]
async fn history_and_actions_are_checked_too() {
    let server = builder()
        .secret_key("sec-c-test")
        .publish_key("demo")
        .start()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signed = format!("uuid=u&timestamp={now}&signature=v2.forged");
    let client = common::client();
    let url = server.url();
    let requests = [
        client.get(format!("{url}/v3/history/sub-key/demo/channel/ch?{signed}")),
        client.get(format!(
            "{url}/v3/history/sub-key/demo/message-counts/ch?timetoken=1&{signed}"
        )),
        client.delete(format!("{url}/v3/history/sub-key/demo/channel/ch?{signed}")),
        client
            .post(format!(
                "{url}/v1/message-actions/demo/channel/ch/message/1?{signed}"
            ))
            .body(r#"{"type":"reaction","value":"+1"}"#),
        client.delete(format!(
            "{url}/v1/message-actions/demo/channel/ch/message/1/action/2?{signed}"
        )),
        client.get(format!("{url}/v1/message-actions/demo/channel/ch?{signed}")),
    ];
    for request in requests {
        let answer = common::answer(request.send().await.unwrap()).await;
        assert_eq!(answer.status, 403, "{}", answer.text);
        assert_eq!(
            answer.json()["error"]["message"],
            json!("Invalid signature")
        );
    }
    // The refused add stored nothing.
    let page = server
        .hub()
        .message_actions("demo", "ch", Default::default(), 100)
        .unwrap();
    assert!(page.actions.is_empty());
}

#[test]
fn the_builder_does_not_show_the_secret_key() {
    let debug = format!(
        "{:?}",
        builder().secret_key("sec-c-hidden").publish_key("pk")
    );
    assert!(!debug.contains("sec-c-hidden"), "{debug}");
    assert!(debug.contains("secret_key: Some(\"***\")"), "{debug}");
}

//! Access Manager over HTTP (PROTOCOL.md §12.4, §12.5): with a secret key the server grants and
//! revokes tokens (signed requests) and refuses unsigned requests their token does not allow,
//! with the service's bodies. End to end with the SDK in the workspace's
//! `tests/access_manager.rs`, with PubNub's Python SDK in `interop/access.py`.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{answer, builder, client, get, post, server};
use hmac::{KeyInit, Mac};
use pubnub_local::ServerHandle;
use serde_json::{json, Value};

const SECRET: &str = "sec-c-access";
const PUB: &str = "demo";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `path?query` signed v2 (the query's values must need no encoding).
fn signed(method: &str, path: &str, query: &str, body: &str) -> String {
    let query = format!("{query}&timestamp={}", now());
    let mut pairs: Vec<&str> = query.split('&').collect();
    pairs.sort();
    let sorted = pairs.join("&");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{method}\n{PUB}\n{path}\n{sorted}\n{body}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{path}?{query}&signature=v2.{signature}")
}

async fn enforcing() -> ServerHandle {
    builder()
        .secret_key(SECRET)
        .publish_key(PUB)
        .start()
        .await
        .unwrap()
}

async fn grant(server: &ServerHandle, body: &Value) -> common::Answer {
    let body = body.to_string();
    let path = signed("POST", "/v3/pam/demo/grant", "uuid=admin", &body);
    post(server, &path, body.into_bytes()).await
}

/// Percent-encodes a token for a query value or a path segment.
fn encode(token: &str) -> String {
    token.replace('=', "%3D")
}

#[tokio::test]
async fn grant_enforce_and_revoke() {
    let server = enforcing().await;
    let answer_ = grant(
        &server,
        &json!({"ttl": 5, "permissions": {
            "resources": {"channels": {"a": 1}, "groups": {"g": 1}},
            "patterns": {"channels": {"^p-.*$": 2}},
            "meta": {}, "uuid": "u"}}),
    )
    .await;
    assert_eq!(answer_.status, 200, "{}", answer_.text);
    let body = answer_.json();
    assert_eq!(body["service"], json!("Access Manager"));
    let token = body["data"]["token"].as_str().unwrap().to_string();
    assert!(token.len().is_multiple_of(4), "padded: {token}");
    let auth = encode(&token);

    // Read on `a` and `g`: a handshake there is answered; `b` and `h` are named in the 403.
    let ok = get(
        &server,
        &format!("/v2/subscribe/demo/a/0?tt=0&uuid=u&channel-group=g&auth={auth}"),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let refused = get(
        &server,
        &format!("/v2/subscribe/demo/a,b/0?tt=0&uuid=u&channel-group=g,h&auth={auth}"),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json(),
        json!({"message": "Forbidden", "payload": {"channels": ["b"], "channel-groups": ["h"]},
               "error": true, "service": "Access Manager", "status": 403})
    );

    // Write through the pattern only; read is not write.
    let publish = |channel: &str, uuid: &str| {
        format!("/publish/demo/demo/0/{channel}/0/%221%22?uuid={uuid}&auth={auth}")
    };
    assert_eq!(get(&server, &publish("p-1", "u")).await.status, 200);
    assert_eq!(get(&server, &publish("a", "u")).await.status, 403);
    assert_eq!(get(&server, &publish("xp-1", "u")).await.status, 403);
    // The token is u's.
    assert_eq!(get(&server, &publish("p-1", "v")).await.status, 403);
    // No token, a token that is not one.
    let none = get(&server, "/publish/demo/demo/0/p-1/0/1?uuid=u").await;
    assert_eq!(none.json()["payload"]["channels"], json!(["p-1"]));
    let garbage = get(&server, "/publish/demo/demo/0/p-1/0/1?uuid=u&auth=qEF2AkF0").await;
    assert_eq!(garbage.status, 403);
    // `/time/0` needs nothing.
    assert_eq!(get(&server, "/time/0").await.status, 200);

    // Revoke (signed DELETE, the token as a path segment): refused from then on.
    let path = format!("/v3/pam/demo/grant/{}", encode(&token));
    let revoke = client()
        .delete(format!(
            "{}{}",
            server.url(),
            signed("DELETE", &path, "uuid=admin", "")
        ))
        .send()
        .await
        .unwrap();
    let revoke = answer(revoke).await;
    assert_eq!(revoke.status, 200, "{}", revoke.text);
    let after = get(&server, &publish("p-1", "u")).await;
    assert_eq!(after.status, 403);
    assert_eq!(after.json()["message"], json!("Token is revoked"));
}

#[tokio::test]
async fn bad_grants_and_unsigned_grants_are_refused() {
    let server = enforcing().await;
    for body in [
        json!({"ttl": 0, "permissions": {"resources": {"channels": {"a": 1}}}}),
        json!({"ttl": 43201, "permissions": {"resources": {"channels": {"a": 1}}}}),
        json!({"ttl": 5, "permissions": {"resources": {}, "patterns": {}}}),
        json!({"ttl": 5, "permissions": {"patterns": {"channels": {"^(": 1}}}}),
    ] {
        let refused = grant(&server, &body).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.text);
        assert_eq!(refused.json()["service"], json!("Access Manager"));
    }
    let unsigned = post(
        &server,
        "/v3/pam/demo/grant?uuid=admin",
        br#"{"ttl":5,"permissions":{"resources":{"channels":{"a":1}}}}"#.to_vec(),
    )
    .await;
    assert_eq!(unsigned.status, 403);
    assert_eq!(
        unsigned.json()["error"]["message"],
        json!("Invalid signature")
    );
}

#[tokio::test]
async fn without_a_secret_key_everything_is_open_and_grant_is_not_served() {
    let server = server().await;
    let open = get(&server, "/publish/demo/demo/0/a/0/1?uuid=u").await;
    assert_eq!(open.status, 200, "{}", open.text);
    let refused = post(&server, "/v3/pam/demo/grant?uuid=u", b"{}".to_vec()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["service"], json!("Access Manager"));
}

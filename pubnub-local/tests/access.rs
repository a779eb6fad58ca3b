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

const PAM_TYPE: &str = "text/javascript; charset=UTF-8";

#[tokio::test]
async fn grant_and_revoke_answer_as_recorded() {
    let server = enforcing().await;
    // `pam/grant_token.yaml`: a ttl sent as a string of digits is that many minutes.
    let granted = grant(
        &server,
        &json!({"ttl": "15", "permissions": {"resources": {"channels": {"foo": 1, "bar": 1}}}}),
    )
    .await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    assert_eq!(granted.headers["content-type"], PAM_TYPE);
    let body = granted.json();
    assert_eq!(body["data"]["message"], json!("Success"));
    let token = body["data"]["token"].as_str().unwrap().to_string();
    let handshake = format!(
        "/v2/subscribe/demo/foo/0?tt=0&uuid=u&auth={}",
        encode(&token)
    );
    assert_eq!(get(&server, &handshake).await.status, 200);

    // `pam/grant_token_invalid_ttl.json`, byte for byte; the same for every invalid ttl.
    let invalid_ttl = r#"{"error":{"message":"Invalid ttl","source":"grant","details":[{"message":"Range should be 1 to 43200 minute(s).","location":"ttl","locationType":"body"}]},"service":"Access Manager","status":400}"#;
    for ttl in [
        json!(43201),
        json!(0),
        json!("43201"),
        json!("1.5"),
        json!(null),
    ] {
        let refused = grant(
            &server,
            &json!({"ttl": ttl, "permissions": {"resources": {"channels": {"test_channel": 1}}}}),
        )
        .await;
        assert_eq!(
            (refused.status, refused.text.as_str()),
            (400, invalid_ttl),
            "{ttl}"
        );
        assert_eq!(refused.headers["content-type"], PAM_TYPE);
    }

    // `pam/revoke_token.json`: exactly this, then the token is refused with the recorded 403.
    let revoked = revoke(&server, &token).await;
    assert_eq!(
        (revoked.status, revoked.text.as_str()),
        (
            200,
            r#"{"data":{"message":"Success"},"service":"Access Manager","status":200}"#
        )
    );
    assert_eq!(revoked.headers["content-type"], PAM_TYPE);
    let refused = get(&server, &handshake).await;
    assert_eq!(
        (refused.status, refused.text.as_str()),
        (
            403,
            "{\"error\":true,\"status\":403,\"service\":\"Access Manager\",\"message\":\"Token is revoked\"}\n"
        )
    );
    assert_eq!(refused.headers["x-pn-cause"], "4001");
    assert_eq!(refused.headers["content-type"], PAM_TYPE);
    // Revoking again succeeds; a token this server never issued is refused (not recorded).
    assert_eq!(revoke(&server, &token).await.status, 200);
    let foreign = revoke(&server, "qEF2AkF0GmgwVj9D").await;
    assert_eq!(foreign.status, 400);
    assert_eq!(foreign.json()["error"]["source"], json!("revoke"));

    // `asyncio/publish/not_permitted.json`: keys in the recorded order, a trailing newline.
    let forbidden = get(
        &server,
        "/publish/demo/demo/0/asyncio-int-publish/0/%22hey%22?ttl=0&uuid=u",
    )
    .await;
    assert_eq!(
        (forbidden.status, forbidden.text.as_str()),
        (
            403,
            "{\"message\":\"Forbidden\",\"payload\":{\"channels\":[\"asyncio-int-publish\"]},\"error\":true,\"service\":\"Access Manager\",\"status\":403}\n"
        )
    );
}

async fn revoke(server: &ServerHandle, token: &str) -> common::Answer {
    let path = format!("/v3/pam/demo/grant/{}", encode(token));
    let response = client()
        .delete(format!(
            "{}{}",
            server.url(),
            signed("DELETE", &path, "uuid=admin", "")
        ))
        .send()
        .await
        .unwrap();
    answer(response).await
}

/// `pam/revoke_expired_token.json`: a 1-minute token revoked after it expired, on the in-memory
/// server's paused clock (signatures are checked against the wall clock, tokens against the
/// server's).
#[tokio::test(start_paused = true)]
async fn revoking_an_expired_token_is_the_recorded_400() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;

    let server = pubnub_local::Server::builder()
        .secret_key(SECRET)
        .publish_key(PUB)
        .build_in_memory();
    let call = |method: &str, uri: String, body: String| {
        let mut router = server.router();
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body))
            .unwrap();
        async move {
            let response = tower_service::Service::call(&mut router, request)
                .await
                .unwrap();
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(bytes.to_vec()).unwrap())
        }
    };
    let body = json!({"ttl": 1, "permissions": {"resources": {"channels": {"test_channel": 207}}}})
        .to_string();
    let (status, granted) = call(
        "POST",
        signed("POST", "/v3/pam/demo/grant", "uuid=admin", &body),
        body,
    )
    .await;
    assert_eq!(status, 200, "{granted}");
    let token: Value = serde_json::from_str(&granted).unwrap();
    let path = format!(
        "/v3/pam/demo/grant/{}",
        encode(token["data"]["token"].as_str().unwrap())
    );
    tokio::time::advance(std::time::Duration::from_secs(61)).await;
    let (status, text) = call(
        "DELETE",
        signed("DELETE", &path, "uuid=admin", ""),
        String::new(),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (
            400,
            r#"{"error":{"details":[{"location":"token","locationType":"path","message":"Token is expired."}],"message":"Invalid token","source":"revoke"},"service":"Access Manager","status":400}"#
        )
    );
}

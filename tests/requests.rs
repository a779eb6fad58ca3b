//! The exact wire form of every request the client sends: method, path, query and body, as a
//! recording server on 127.0.0.1:0 receives them (PROTOCOL.md).

mod support;

use pubnub_engine::{ErrorKind, Method, PubNub, Request, ReqwestTransport, Transport};
use serde_json::{json, Value};
use support::{Reply, TestServer};

/// What every request starts with (`requestid` masked: it is random).
const COMMON: &str = concat!(
    "pnsdk=PubNub-Engine-Rust%2F",
    env!("CARGO_PKG_VERSION"),
    "&requestid=*&uuid=user-1"
);
const SENT: &str = r#"[1,"Sent","17000000000000001"]"#;

#[tokio::test]
async fn publish_get() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, SENT));
    let sent = server
        .client()
        .publish()
        .channel("chat")
        .message(&json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(sent.timetoken, 17_000_000_000_000_001);
    let request = server.only();
    assert_eq!(request.method, "GET");
    assert_eq!(
        request.path,
        "/publish/pub-key/sub-key/0/chat/0/%7B%22text%22%3A%22hi%22%7D"
    );
    assert_eq!(request.masked_query(), format!("{COMMON}&seqn=1"));
    assert!(request.body.is_empty());
    let requestid = request.param("requestid").unwrap();
    assert!(requestid.len() >= 16 && requestid.bytes().all(|b| b.is_ascii_hexdigit()));
}

#[tokio::test]
async fn publish_with_every_option() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, SENT));
    let meta = json!({"k": "a&b=c", "lang": "日本", "quote": "\"x\""});
    server
        .builder()
        .auth_key("auth key/1")
        .build_client()
        .unwrap()
        .publish()
        .channel("chat")
        .message(&"hello world")
        .should_store(true)
        .ttl(24)
        .meta(&meta)
        .custom_message_type("chat-msg_1")
        .await
        .unwrap();
    let request = server.only();
    assert_eq!(
        request.path,
        "/publish/pub-key/sub-key/0/chat/0/%22hello%20world%22"
    );
    assert_eq!(
        request.masked_query(),
        concat!(
            "auth=auth%20key%2F1&pnsdk=PubNub-Engine-Rust%2F",
            env!("CARGO_PKG_VERSION"),
            "&requestid=*&uuid=user-1\
         &store=1&ttl=24\
         &meta=%7B%22k%22%3A%22a%26b%3Dc%22%2C%22lang%22%3A%22%E6%97%A5%E6%9C%AC%22%2C%22quote%22%3A%22%5C%22x%5C%22%22%7D\
         &custom_message_type=chat-msg_1&seqn=1"
        )
    );
    let decoded: Value = serde_json::from_str(&request.param("meta").unwrap()).unwrap();
    assert_eq!(decoded, meta);
    assert_eq!(request.param("auth").as_deref(), Some("auth key/1"));
}

#[tokio::test]
async fn publish_post_sends_the_json_body() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, SENT));
    server
        .client()
        .publish()
        .channel("chat")
        .message(&json!({"text": "a&b /?#"}))
        .should_store(false)
        .use_post(true)
        .await
        .unwrap();
    let request = server.only();
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/publish/pub-key/sub-key/0/chat/0");
    assert_eq!(request.masked_query(), format!("{COMMON}&store=0&seqn=1"));
    assert_eq!(request.body, br#"{"text":"a&b /?#"}"#);
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn fire_is_unstored_and_unreplicated() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, SENT));
    let sent = server
        .client()
        .fire()
        .channel("chat")
        .message(&5)
        .meta(&json!({"a": 1}))
        .await
        .unwrap();
    assert_eq!(sent.timetoken, 17_000_000_000_000_001);
    let request = server.only();
    assert_eq!(request.path, "/publish/pub-key/sub-key/0/chat/0/5");
    assert_eq!(
        request.masked_query(),
        format!("{COMMON}&store=0&norep=true&meta=%7B%22a%22%3A1%7D&seqn=1")
    );
}

#[tokio::test]
async fn signal_has_its_own_path_and_no_seqn() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, SENT));
    server
        .client()
        .signal()
        .channel("chat")
        .message(&"typing")
        .custom_message_type("typing")
        .await
        .unwrap();
    let request = server.only();
    assert_eq!(
        request.path,
        "/signal/pub-key/sub-key/0/chat/0/%22typing%22"
    );
    assert_eq!(
        request.masked_query(),
        format!("{COMMON}&custom_message_type=typing")
    );
}

#[tokio::test]
async fn seqn_counts_publishes_and_fires_per_client() {
    let server = TestServer::start().await;
    server.fallback(Reply::json(200, SENT));
    let pubnub = server.client();
    pubnub.publish().channel("c").message(&1).await.unwrap();
    pubnub
        .clone()
        .publish()
        .channel("c")
        .message(&2)
        .await
        .unwrap();
    pubnub.signal().channel("c").message(&3).await.unwrap();
    pubnub.fire().channel("c").message(&4).await.unwrap();
    server
        .client()
        .publish()
        .channel("c")
        .message(&5)
        .await
        .unwrap();
    let seqns: Vec<Option<String>> = server.requests().iter().map(|r| r.param("seqn")).collect();
    let expected = [Some("1"), Some("2"), None, Some("3"), Some("1")];
    assert_eq!(seqns, expected.map(|s| s.map(String::from)));
}

#[tokio::test]
async fn reserved_and_unicode_names_reach_the_server_as_data() {
    let server = TestServer::start().await;
    server.fallback(Reply::json(200, SENT));
    let pubnub = server.client();
    let names = [
        ("日本語", "%E6%97%A5%E6%9C%AC%E8%AA%9E"),
        ("%2F", "%252F"),
        ("what?", "what%3F"),
        ("#tag", "%23tag"),
        ("a&b=c+d", "a%26b%3Dc%2Bd"),
        ("..x", "..x"),
        ("ok-_.~", "ok-_.~"),
    ];
    for (name, encoded) in names {
        pubnub
            .publish()
            .channel(name)
            .message(&"../../etc?x#y")
            .await
            .unwrap();
        let request = server.requests().pop().unwrap();
        assert_eq!(request.path.split('/').nth(5), Some(encoded), "{name}");
        let segments = request.segments();
        assert_eq!(segments[4], name);
        assert_eq!(segments[6], "\"../../etc?x#y\"");
    }
}

#[tokio::test]
async fn a_hostile_user_id_is_one_path_segment_and_one_query_value() {
    let server = TestServer::start().await;
    server.fallback(Reply::json(
        200,
        r#"{"status":200,"message":"OK","payload":{"channels":["a","b"]},"service":"Presence"}"#,
    ));
    let pubnub = server.client();
    let result = pubnub
        .where_now()
        .user_id("../admin?x=1&y#z")
        .await
        .unwrap();
    assert_eq!(result.channels, ["a", "b"]);
    let request = server.only();
    assert_eq!(
        request.path,
        "/v2/presence/sub-key/sub-key/uuid/..%2Fadmin%3Fx%3D1%26y%23z"
    );
    assert_eq!(request.segments()[5], "../admin?x=1&y#z");
    assert_eq!(request.masked_query(), COMMON);

    let odd = PubNub::builder("sub-key", "me & you/../x")
        .origin(server.url())
        .build_client()
        .unwrap();
    odd.where_now().await.unwrap();
    let request = server.requests().pop().unwrap();
    assert_eq!(
        request.path,
        "/v2/presence/sub-key/sub-key/uuid/me%20%26%20you%2F..%2Fx"
    );
    assert_eq!(request.param("uuid").as_deref(), Some("me & you/../x"));
}

#[tokio::test]
async fn time_needs_no_credentials() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, "[17143123456789012]"));
    let pubnub = server.builder().auth_token("TOKEN").build_client().unwrap();
    assert_eq!(pubnub.time().await.unwrap(), 17_143_123_456_789_012);
    let request = server.only();
    assert_eq!(request.path, "/time/0");
    assert_eq!(request.masked_query(), COMMON);
}

#[tokio::test]
async fn the_auth_token_goes_on_every_other_request() {
    let server = TestServer::start().await;
    server.fallback(Reply::json(200, SENT));
    let pubnub = server
        .builder()
        .auth_key("legacy")
        .auth_token("qEF2AkF0+/=")
        .build_client()
        .unwrap();
    pubnub.publish().channel("c").message(&1).await.unwrap();
    let request = server.only();
    assert!(request.query.starts_with("auth=qEF2AkF0%2B%2F%3D&pnsdk="));
}

#[tokio::test]
async fn a_filter_expression_with_ampersands_is_one_query_value() {
    let server = TestServer::start().await;
    server.push(Reply::json(
        200,
        r#"{"t":{"t":"17000000000000000","r":1},"m":[]}"#,
    ));
    let transport = ReqwestTransport::new(&server.url()).unwrap();
    let mut request = Request::new(Method::Get, "/v2/subscribe/sub-key/ch/0");
    let filter = "meta.a == 'x' && meta.b > 1 || data.c LIKE \"a+b%\"";
    request.query.push(("tt", "0".into()));
    request.query.push(("filter-expr", filter.into()));
    let response = transport.send(request).await.unwrap();
    assert_eq!(response.status, 200);
    let seen = server.only();
    assert_eq!(
        seen.query,
        "tt=0&filter-expr=meta.a%20%3D%3D%20%27x%27%20%26%26%20meta.b%20%3E%201\
         %20%7C%7C%20data.c%20LIKE%20%22a%2Bb%25%22"
    );
    assert_eq!(seen.param("filter-expr").as_deref(), Some(filter));
}

#[tokio::test]
async fn headers_and_gzip_answers() {
    let server = TestServer::start().await;
    server.push(Reply::Gzip(200, SENT.to_string()));
    let sent = server
        .client()
        .publish()
        .channel("c")
        .message(&1)
        .await
        .unwrap();
    assert_eq!(sent.timetoken, 17_000_000_000_000_001);
    let request = server.only();
    assert!(request
        .header("accept-encoding")
        .unwrap_or_default()
        .contains("gzip"));
    assert!(request
        .header("user-agent")
        .unwrap_or_default()
        .starts_with("PubNub-Engine-Rust/"));
}

#[tokio::test]
async fn a_secret_key_signs_every_request() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, SENT));
    let client = server
        .builder()
        .secret_key("sec-key")
        .build_client()
        .unwrap();
    assert!(!format!("{client:?}").contains("sec-key"));
    client.publish().channel("chat").message(&1).await.unwrap();
    let request = server.only();
    let timestamp: u64 = request.param("timestamp").unwrap().parse().unwrap();
    assert!(timestamp > 1_700_000_000, "Unix seconds");
    let signature = request.param("signature").unwrap();
    assert!(signature.starts_with("v2."), "{signature}");
    assert_eq!(
        signature.len(),
        3 + 43,
        "v2. and an unpadded base64url SHA-256"
    );
    assert!(
        !request.query.contains("sec-key"),
        "the secret is never sent"
    );
}

#[tokio::test]
async fn set_token_replaces_the_auth_of_later_requests() {
    let server = TestServer::start().await;
    server.push(Reply::json(200, SENT));
    server.push(Reply::json(200, SENT));
    let client = server
        .builder()
        .auth_token("old-token")
        .build_client()
        .unwrap();
    client.publish().channel("c").message(&1).await.unwrap();
    // PubNub's "token with everything" (its Go, Swift and JavaScript SDKs' tests).
    const TOKEN: &str = "qEF2AkF0GmEI03xDdHRsGDxDcmVzpURjaGFuoWljaGFubmVsLTEY70NncnChb2NoYW5uZWxfZ3JvdXAtMQVDdXNyoENzcGOgRHV1aWShZnV1aWQtMRhoQ3BhdKVEY2hhbqFtXmNoYW5uZWwtXFMqJBjvQ2dycKF0XjpjaGFubmVsX2dyb3VwLVxTKiQFQ3VzcqBDc3BjoER1dWlkoWpedXVpZC1cUyokGGhEbWV0YaBEdXVpZHR0ZXN0LWF1dGhvcml6ZWQtdXVpZENzaWdYIPpU-vCe9rkpYs87YUrFNWkyNq8CVvmKwEjVinnDrJJc";
    // Not a token: refused, and the token in use stays.
    let error = client.set_token("new-token").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(!error.to_string().contains("new-token"), "{error}");
    client.set_token(TOKEN).unwrap();
    assert!(!format!("{client:?}").contains(TOKEN));
    client.publish().channel("c").message(&2).await.unwrap();
    let auths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.param("auth").unwrap())
        .collect();
    assert_eq!(auths, ["old-token", TOKEN]);
}

/// An upload form whose storage is `storage` (the recording server itself).
fn upload_form(storage: &str) -> String {
    json!({
        "status": 200,
        "data": {"id": "5ada5e32-7af2-405e-a689-37c499a72f74", "name": "king_arthur.txt"},
        "file_upload_request": {
            "url": storage,
            "method": "POST",
            "expiration_date": "2025-05-05T17:27:45Z",
            "form_fields": [
                {"key": "tagging", "value": "<Tagging/>"},
                {"key": "key", "value": "sub-key/h/5ada5e32/king_arthur.txt"},
                {"key": "Content-Type", "value": "text/plain; charset=utf-8"},
                {"key": "Policy", "value": "cG9saWN5"},
                {"key": "X-Amz-Signature", "value": "0702dcfc"}
            ]
        }
    })
    .to_string()
}

#[tokio::test]
async fn send_file_uploads_with_a_length_and_no_pubnub_parameters() {
    let server = TestServer::start().await;
    let storage = format!("{}/storage/upload", server.url());
    server.push(Reply::json(200, &upload_form(&storage)));
    server.push(Reply::json(204, ""));
    server.push(Reply::json(200, SENT));
    let file: Vec<u8> = (0..200_000u32).map(|n| (n % 251) as u8).collect();
    let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = reports.clone();
    server
        .client()
        .send_file()
        .channel("chat")
        .file_name("king_arthur.txt")
        .data(pubnub_engine::files::FileData::bytes(file.clone()))
        .on_progress(move |p| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let generate = &requests[0];
    assert_eq!(generate.method, "POST");
    assert_eq!(
        generate.path,
        "/v1/files/sub-key/channels/chat/generate-upload-url"
    );
    assert_eq!(generate.header("content-type"), Some("application/json"));
    assert_eq!(generate.body, br#"{"name":"king_arthur.txt"}"#);

    // Storage (S3) takes a POST with a length, never a chunked body, and no PubNub parameter.
    let upload = &requests[1];
    assert_eq!(upload.method, "POST");
    assert_eq!(upload.path, "/storage/upload");
    assert_eq!(upload.query, "");
    assert_eq!(upload.header("transfer-encoding"), None);
    assert_eq!(
        upload.header("content-length"),
        Some(upload.body.len().to_string().as_str())
    );
    let content_type = upload.header("content-type").unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = &upload.body;
    let file_at = body
        .windows(file.len())
        .position(|w| w == &file[..])
        .expect("the file is in the body");
    let head = String::from_utf8_lossy(&body[..file_at]);
    let order: Vec<usize> = [
        "tagging",
        "key",
        "Content-Type",
        "Policy",
        "X-Amz-Signature",
        "file",
    ]
    .iter()
    .map(|name| head.find(&format!("name=\"{name}\"")).unwrap())
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "fields in order, the file last"
    );
    // Progress went up to the whole body.
    let reports = reports.lock().unwrap();
    let total = u64::try_from(body.len()).unwrap();
    assert!(reports.len() >= 2, "{reports:?}");
    assert!(reports.windows(2).all(|w| w[0].done <= w[1].done));
    assert_eq!(reports.last().unwrap().done, total);

    let publish = &requests[2];
    assert!(publish
        .path
        .starts_with("/v1/files/publish-file/pub-key/sub-key/0/chat/0/"));
}

#[tokio::test]
async fn download_file_reads_the_307_and_fetches_storage_without_credentials() {
    let server = TestServer::start().await;
    let location = format!(
        "{}/storage/king_arthur.txt?X-Amz-Signature=5bf9",
        server.url()
    );
    server.push(Reply::json(307, "").header("Location", &location));
    server.push(
        Reply::json(200, "Knights who say Ni!").header("Content-Type", "text/plain; charset=utf-8"),
    );
    let client = server
        .builder()
        .auth_key("test_auth_key")
        .build_client()
        .unwrap();
    let file = client
        .download_file()
        .channel("chat")
        .file_id("5ada5e32")
        .file_name("king_arthur.txt")
        .await
        .unwrap();
    assert_eq!(file.data, b"Knights who say Ni!");
    assert_eq!(
        file.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        2,
        "the transport itself never follows a redirect"
    );
    assert_eq!(
        requests[0].path,
        "/v1/files/sub-key/channels/chat/files/5ada5e32/king_arthur.txt"
    );
    assert_eq!(requests[0].param("auth").as_deref(), Some("test_auth_key"));
    assert_eq!(requests[1].path, "/storage/king_arthur.txt");
    assert_eq!(requests[1].query, "X-Amz-Signature=5bf9");

    // The URL of get_file_url is the first request's, without its request id.
    let url = client
        .get_file_url()
        .channel("chat")
        .file_id("5ada5e32")
        .file_name("king_arthur.txt")
        .await
        .unwrap();
    assert!(url.starts_with(&format!(
        "{}/v1/files/sub-key/channels/chat/files/5ada5e32/king_arthur.txt?",
        server.url()
    )));
    assert!(
        url.contains("auth=test_auth_key") && !url.contains("requestid"),
        "{url}"
    );
}

//! File Sharing over HTTP: the upload form, the storage's upload and download, the file URL's
//! redirect, list pages, delete, publish-file (`e: 4`, history `message_type` 4), the storage's
//! S3 errors, Access Manager and faults. Raw requests, as an SDK sends them; PubNub's Python SDK
//! drives the same flow in `interop/files.py`. Time-dependent cases (form expiry, retention)
//! run the router in memory on a paused clock.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::{answer, client, get, handshake, post, server, Answer};
use hmac::{KeyInit, Mac};
use http_body_util::BodyExt;
use pubnub_local::{Endpoint, Fault, InMemoryServer, Server, ServerHandle};
use serde_json::{json, Value};

const BOUNDARY: &str = "755d6f50aef5680eb094d596585b8612";
const NI: &[u8] = b"Knights who say Ni!";
const FIELD_ORDER: [&str; 9] = [
    "tagging",
    "key",
    "Content-Type",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "X-Amz-Algorithm",
    "X-Amz-Date",
    "Policy",
    "X-Amz-Signature",
];

/// One part: name, filename, bytes.
type Part = (String, Option<String>, Vec<u8>);

/// An issued upload form.
#[derive(Debug, Clone)]
struct Form {
    url: String,
    id: String,
    name: String,
    fields: Vec<(String, String)>,
}

impl Form {
    fn parse(body: &Value) -> Form {
        let request = &body["file_upload_request"];
        Form {
            url: request["url"].as_str().unwrap().to_string(),
            id: body["data"]["id"].as_str().unwrap().to_string(),
            name: body["data"]["name"].as_str().unwrap().to_string(),
            fields: request["form_fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["key"].as_str().unwrap().to_string(),
                        f["value"].as_str().unwrap().to_string(),
                    )
                })
                .collect(),
        }
    }

    fn field(&self, name: &str) -> &str {
        &self.fields.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// Every field in order, then the file: what SDKs send.
    fn parts(&self, file: &[u8]) -> Vec<Part> {
        let mut parts: Vec<Part> = self
            .fields
            .iter()
            .map(|(n, v)| (n.clone(), None, v.clone().into_bytes()))
            .collect();
        parts.push(("file".into(), Some(self.name.clone()), file.to_vec()));
        parts
    }
}

/// A multipart body as httpx writes one.
fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, data) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(filename) = filename {
            disposition.push_str(&format!(
                "; filename=\"{filename}\"\r\nContent-Type: text/plain"
            ));
        }
        out.extend_from_slice(format!("{disposition}\r\n\r\n").as_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn channel_hash(channel: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(channel.as_bytes()))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn generate(server: &ServerHandle, channel: &str, name: &str) -> Answer {
    let body = json!({"name": name}).to_string();
    let request = client()
        .post(format!(
            "{}/v1/files/demo/channels/{channel}/generate-upload-url?uuid=sender",
            server.url()
        ))
        .header("content-type", "application/json")
        .body(body);
    answer(request.send().await.unwrap()).await
}

async fn upload(form: &Form, parts: &[Part]) -> Answer {
    let request = client()
        .post(&form.url)
        .header("content-type", multipart_type())
        .body(multipart(parts));
    answer(request.send().await.unwrap()).await
}

/// Generates a form and uploads `data` with it; the form.
async fn send(server: &ServerHandle, channel: &str, name: &str, data: &[u8]) -> Form {
    let generated = generate(server, channel, name).await;
    assert_eq!(generated.status, 200, "{}", generated.text);
    let form = Form::parse(&generated.json());
    let uploaded = upload(&form, &form.parts(data)).await;
    assert_eq!(uploaded.status, 204, "{}", uploaded.text);
    form
}

fn xml_code(text: &str) -> &str {
    let start = text.find("<Code>").expect("an S3 error") + "<Code>".len();
    &text[start..start + text[start..].find("</Code>").unwrap()]
}

#[tokio::test]
async fn the_whole_flow_with_raw_requests() {
    let server = server().await;
    let channel = "files_native_sync_ch";

    // The upload form, in the recorded shape and order, pointing at this server.
    let generated = generate(&server, channel, "king_arthur.txt").await;
    assert_eq!(generated.status, 200, "{}", generated.text);
    assert_eq!(generated.headers["content-type"], "application/json");
    assert!(
        generated
            .text
            .starts_with(r#"{"status":200,"data":{"id":""#),
        "{}",
        generated.text
    );
    assert!(generated.text.contains(r#""file_upload_request":{"url":"#));
    assert!(generated.text.contains(
        r#"{"key":"tagging","value":"\u003cTagging\u003e\u003cTagSet\u003e\u003cTag\u003e\u003cKey\u003eObjectTTLInDays\u003c/Key\u003e\u003cValue\u003e0\u003c/Value\u003e"#
    ));
    let body = generated.json();
    let form = Form::parse(&body);
    assert_eq!(form.name, "king_arthur.txt");
    assert_eq!(form.url, format!("{}/__files/upload", server.url()));
    assert_eq!(body["file_upload_request"]["method"], "POST");
    let names: Vec<&str> = form.fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, FIELD_ORDER);
    let key = format!(
        "demo/f-tIAcNXJO9m81fWVV_o-fSQ-veupNrTloVAUPbeUQQ/{}/king_arthur.txt",
        form.id
    );
    assert_eq!(form.field("key"), key);
    assert_eq!(form.field("Content-Type"), "text/plain; charset=utf-8");
    assert_eq!(form.field("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
    let expiration = body["file_upload_request"]["expiration_date"]
        .as_str()
        .unwrap();
    assert_eq!(expiration.len(), "2025-05-05T17:27:45Z".len());
    let policy = String::from_utf8(STANDARD.decode(form.field("Policy")).unwrap()).unwrap();
    assert!(policy.contains(&format!("\"expiration\": \"{expiration}\"")));
    assert!(policy.contains("[\"content-length-range\", 0, 5242880]"));

    // Upload: every field in order, the file last → 204.
    let uploaded = upload(&form, &form.parts(NI)).await;
    assert_eq!(uploaded.status, 204, "{}", uploaded.text);
    let download_url = format!("{}/__files/download/{key}", server.url());
    assert_eq!(uploaded.headers["location"], download_url.as_str());

    // The file message: delivered as `e: 4`, stored as message type 4.
    let cursor = handshake(&server, channel, "uuid=receiver").await;
    let message =
        json!({"message": {"test_message": "test"}, "file": {"id": form.id, "name": form.name}});
    let sent = get(
        &server,
        &format!(
            "/v1/files/publish-file/demo/demo/0/{channel}/0/{}?meta=null&store=1&ttl=222&uuid=sender&custom_message_type=file-msg",
            encode(&message.to_string())
        ),
    )
    .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let timetoken = sent.json()[2].as_str().unwrap().to_string();
    assert_eq!(sent.json(), json!([1, "Sent", timetoken]));
    let received = get(
        &server,
        &format!("/v2/subscribe/demo/{channel}/0?tt={cursor}&uuid=receiver"),
    )
    .await
    .json();
    let event = &received["m"][0];
    assert_eq!(event["e"], 4);
    assert_eq!(event["d"], message);
    assert_eq!(event["i"], "sender");
    assert_eq!(event["cmt"], "file-msg");
    assert_eq!(event["p"]["t"], timetoken.as_str());
    let history = get(
        &server,
        &format!("/v3/history/sub-key/demo/channel/{channel}?include_message_type=true"),
    )
    .await
    .json();
    assert_eq!(
        history["channels"][channel],
        json!([{"message": message, "timetoken": timetoken, "message_type": 4}])
    );

    // The file URL redirects to the download, which answers the bytes and their type.
    let path = format!(
        "/v1/files/demo/channels/{channel}/files/{}/king_arthur.txt",
        form.id
    );
    let redirect = no_redirects()
        .get(format!("{}{path}?uuid=receiver", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 307);
    assert_eq!(redirect.headers()["location"], download_url.as_str());
    let downloaded = client().get(&download_url).send().await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(
        downloaded.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(downloaded.headers()["content-length"], "19");
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), NI);

    // List, in id order, in pages.
    let second = send(&server, channel, "b.bin", &[0, 1, 2, 255]).await;
    let third = send(&server, channel, "c", b"").await;
    let mut ids = [form.id.clone(), second.id.clone(), third.id.clone()];
    ids.sort();
    let list = |query: String| {
        let server = server.clone();
        async move {
            let answer = get(
                &server,
                &format!("/v1/files/demo/channels/{channel}/files{query}"),
            )
            .await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            answer.json()
        }
    };
    let page = list("?limit=2".into()).await;
    assert_eq!(page["count"], 2);
    let listed: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids[..2]);
    let item = page["data"][0].as_object().unwrap();
    let keys: Vec<&str> = item.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 4);
    let next = page["next"].as_str().expect("a next token").to_string();
    let last = list(format!("?limit=2&next={next}")).await;
    assert_eq!(last["data"].as_array().unwrap().len(), 1);
    assert_eq!(last["data"][0]["id"], ids[2].as_str());
    assert_eq!(last["next"], Value::Null);
    let all = list(String::new()).await;
    assert_eq!(all["count"], 3);
    let king = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == form.id.as_str())
        .unwrap();
    assert_eq!(king["name"], "king_arthur.txt");
    assert_eq!(king["size"], 19);
    assert!(king["created"].as_str().unwrap().ends_with('Z'));
    // Unknown extension: S3's default type.
    let third_download = client()
        .get(format!(
            "{}/__files/download/demo/{}/{}/c",
            server.url(),
            channel_hash(channel),
            third.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        third_download.headers()["content-type"],
        "binary/octet-stream"
    );

    // Delete: gone from lists and from storage.
    let deleted = client()
        .delete(format!("{}{path}?uuid=receiver", server.url()))
        .send()
        .await
        .unwrap();
    let deleted = answer(deleted).await;
    assert_eq!(
        (deleted.status, deleted.text.as_str()),
        (200, r#"{"status":200}"#)
    );
    assert_eq!(list(String::new()).await["count"], 2);
    let gone = get(&server, download_url.strip_prefix(&server.url()).unwrap()).await;
    assert_eq!(gone.status, 404);
    assert_eq!(xml_code(&gone.text), "NoSuchKey");
    assert_eq!(gone.headers["content-type"], "application/xml");
    // The service does not look the file up for its URL.
    let redirect = no_redirects()
        .get(format!("{}{path}", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 307);

    // Every request was recorded, the upload with its body.
    let requests = server.requests();
    let upload = requests
        .iter()
        .find(|r| r.path == "/__files/upload")
        .unwrap();
    assert_eq!(upload.method, "POST");
    assert!(upload
        .body
        .ends_with(format!("{}\r\n--{BOUNDARY}--\r\n", "Knights who say Ni!").as_bytes()));
    assert!(requests
        .iter()
        .any(|r| r.path.starts_with("/v1/files/publish-file/")));
}

#[tokio::test]
async fn five_mebibytes_is_the_limit() {
    let server = server().await;
    let exactly = vec![7u8; 5 * 1024 * 1024];
    let form = send(&server, "big", "file_5mb", &exactly).await;
    let downloaded = client()
        .get(format!(
            "{}/__files/download/demo/{}/{}/file_5mb",
            server.url(),
            channel_hash("big"),
            form.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.bytes().await.unwrap().len(), exactly.len());

    // One byte more: S3's EntityTooLarge, with the file's size.
    let form = Form::parse(&generate(&server, "big", "file_5mb").await.json());
    let refused = upload(&form, &form.parts(&vec![7u8; 5 * 1024 * 1024 + 1])).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.headers["content-type"], "application/xml");
    assert!(
        refused.text.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>EntityTooLarge</Code>\
             <Message>Your proposed upload exceeds the maximum allowed size</Message>\
             <ProposedSize>5242881</ProposedSize><MaxSizeAllowed>5242880</MaxSizeAllowed>\
             <RequestId>"
        ),
        "{}",
        refused.text
    );
    // Far more than the storage reads: still answered (not a dropped connection).
    let huge = upload(&form, &form.parts(&vec![7u8; 10 * 1024 * 1024])).await;
    assert_eq!(huge.status, 400);
    assert_eq!(xml_code(&huge.text), "EntityTooLarge");
    let listed = get(&server, "/v1/files/demo/channels/big/files")
        .await
        .json();
    assert_eq!(listed["count"], 1);
    // Other routes keep their 2 MiB limit.
    let too_big = post(
        &server,
        "/v1/files/demo/channels/big/generate-upload-url",
        vec![b' '; 3 * 1024 * 1024],
    )
    .await;
    assert_eq!(too_big.status, 413);
}

#[tokio::test]
async fn the_form_must_be_the_one_issued_with_the_file_last() {
    let server = server().await;
    let form = Form::parse(&generate(&server, "ch", "a.txt").await.json());
    let good = form.parts(NI);
    let refused = |parts: Vec<Part>| {
        let form = form.clone();
        async move { upload(&form, &parts).await }
    };

    // A required field after the file is ignored, so it is missing.
    let mut late = good.clone();
    let signature = late.remove(8);
    late.push(signature);
    let got = refused(late).await;
    assert_eq!(got.status, 400);
    assert_eq!(xml_code(&got.text), "InvalidArgument");
    assert!(got.text.contains(
        "Bucket POST must contain a field named 'X-Amz-Signature'.  If it is specified, please check the order of the fields."
    ), "{}", got.text);
    // No key at all.
    let mut keyless = good.clone();
    keyless.remove(1);
    let got = refused(keyless).await;
    assert!(got.text.contains("named 'key'"), "{}", got.text);
    // Another key than issued.
    let mut other = good.clone();
    other[1].2 = b"demo/x/y/z.txt".to_vec();
    let got = refused(other).await;
    assert_eq!(got.status, 403);
    assert_eq!(xml_code(&got.text), "AccessDenied");
    assert!(
        got.text.contains(&format!(
            "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$key\", \"{}\"]",
            form.field("key")
        )),
        "{}",
        got.text
    );
    // A field the policy does not name.
    let mut extra = good.clone();
    extra.insert(0, ("acl".into(), None, b"public-read".to_vec()));
    let got = refused(extra).await;
    assert_eq!(got.status, 403);
    assert!(got.text.contains("Extra input fields: acl"), "{}", got.text);
    // A policy that is not the one signed, a signature never issued.
    let mut tampered = good.clone();
    tampered[7].2 = STANDARD.encode("{}").into_bytes();
    let got = refused(tampered).await;
    assert_eq!(
        (got.status, xml_code(&got.text)),
        (403, "SignatureDoesNotMatch")
    );
    // No file.
    let got = refused(good[..9].to_vec()).await;
    assert_eq!(got.status, 400);
    assert!(got
        .text
        .contains("POST requires exactly one file upload per request."));
    // Not multipart, or not well-formed.
    let urlencoded = client()
        .post(&form.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("key=x")
        .send()
        .await
        .unwrap();
    let urlencoded = answer(urlencoded).await;
    assert_eq!(
        (urlencoded.status, xml_code(&urlencoded.text)),
        (412, "PreconditionFailed")
    );
    let broken = client()
        .post(&form.url)
        .header("content-type", multipart_type())
        .body(format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nunterminated"
        ))
        .send()
        .await
        .unwrap();
    let broken = answer(broken).await;
    assert_eq!(
        (broken.status, xml_code(&broken.text)),
        (400, "MalformedPOSTRequest")
    );

    // After all that, the form still works, and a `Content-Type` of the sender's choice is
    // kept (the policy allows any); fields after the file are ignored.
    let mut own_type = good.clone();
    own_type[2].2 = b"image/png".to_vec();
    own_type.push(("ignored".into(), None, b"x".to_vec()));
    assert_eq!(refused(own_type).await.status, 204);
    let downloaded = client()
        .get(format!(
            "{}/__files/download/{}",
            server.url(),
            form.field("key")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn generate_refuses_bad_names_and_channels() {
    let server = server().await;
    for (path, body, message) in [
        ("ch", r#"{"name":""}"#, "[name] is missing or empty"),
        ("ch", r#"{}"#, "[name] is missing or empty"),
        (
            "ch",
            r#"not json"#,
            "Invalid request body: a JSON object with a name is required",
        ),
        (
            "a%2Cb",
            r#"{"name":"x"}"#,
            "[channel] contains invalid characters",
        ),
    ] {
        let answer = post(
            &server,
            &format!("/v1/files/demo/channels/{path}/generate-upload-url"),
            body.as_bytes().to_vec(),
        )
        .await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(
            answer.json(),
            json!({"status": 400, "error": {"message": message, "source": "Files", "code": 3001}})
        );
    }
    let long = json!({"name": "x".repeat(1000)}).to_string();
    let answer = post(
        &server,
        "/v1/files/demo/channels/ch/generate-upload-url",
        long.into_bytes(),
    )
    .await;
    assert_eq!(answer.json()["error"]["message"], "[name] is too long");
    for query in ["limit=0", "limit=x", "next=%FF%FE"] {
        let answer = get(
            &server,
            &format!("/v1/files/demo/channels/ch/files?{query}"),
        )
        .await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
    }
    // Above 100 is lowered to 100.
    let answer = get(&server, "/v1/files/demo/channels/ch/files?limit=1000").await;
    assert_eq!(
        answer.json(),
        json!({"status": 200, "data": [], "next": null, "count": 0})
    );
    assert_eq!(
        answer.text,
        r#"{"status":200,"data":[],"next":null,"count":0}"#
    );
}

const SECRET: &str = "sec-c-files";

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
    mac.update(format!("{method}\ndemo\n{path}\n{sorted}\n{body}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{path}?{query}&signature=v2.{signature}")
}

async fn token(server: &ServerHandle, channels: Value) -> String {
    let body = json!({"ttl": 5, "permissions": {"resources": {"channels": channels}}}).to_string();
    let path = signed("POST", "/v3/pam/demo/grant", "uuid=admin", &body);
    let granted = post(server, &path, body.into_bytes()).await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    granted.json()["data"]["token"]
        .as_str()
        .unwrap()
        .replace('=', "%3D")
}

#[tokio::test]
async fn access_manager_permissions() {
    let server = common::builder()
        .secret_key(SECRET)
        .publish_key("demo")
        .start()
        .await
        .unwrap();
    // read = 1, write = 2, delete = 8.
    let reader = token(&server, json!({"ch": 1})).await;
    let writer = token(&server, json!({"ch": 3})).await;
    let deleter = token(&server, json!({"ch": 8})).await;
    let generate = |auth: &str| {
        let url = format!(
            "{}/v1/files/demo/channels/ch/generate-upload-url?uuid=u&auth={auth}",
            server.url()
        );
        async move {
            let request = client().post(url).body(r#"{"name":"a.txt"}"#);
            answer(request.send().await.unwrap()).await
        }
    };

    // No write: refused with the service's 403, before any upload form exists.
    let refused = generate(&reader).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json(),
        json!({"message": "Forbidden", "payload": {"channels": ["ch"]}, "error": true,
               "service": "Access Manager", "status": 403})
    );
    // Write: a form; the upload itself is outside Access Manager.
    let generated = generate(&writer).await;
    assert_eq!(generated.status, 200, "{}", generated.text);
    let form = Form::parse(&generated.json());
    assert_eq!(upload(&form, &form.parts(NI)).await.status, 204);

    let message =
        encode(&json!({"message": null, "file": {"id": form.id, "name": "a.txt"}}).to_string());
    let publish = |auth: &str| {
        format!("/v1/files/publish-file/demo/demo/0/ch/0/{message}?uuid=u&auth={auth}")
    };
    assert_eq!(get(&server, &publish(&reader)).await.status, 403);
    assert_eq!(get(&server, &publish(&writer)).await.status, 200);

    let file = format!("/v1/files/demo/channels/ch/files/{}/a.txt", form.id);
    let list = |auth: &str| format!("/v1/files/demo/channels/ch/files?uuid=u&auth={auth}");
    assert_eq!(get(&server, &list(&reader)).await.status, 200);
    assert_eq!(get(&server, &list(&deleter)).await.status, 403);
    let url = |auth: &str| format!("{}{file}?uuid=u&auth={auth}", server.url());
    assert_eq!(
        no_redirects()
            .get(url(&reader))
            .send()
            .await
            .unwrap()
            .status(),
        307
    );
    assert_eq!(
        no_redirects()
            .get(url(&deleter))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // The download the redirect names needs no token.
    let download = format!("{}/__files/download/{}", server.url(), form.field("key"));
    assert_eq!(client().get(&download).send().await.unwrap().status(), 200);
    assert_eq!(
        client().delete(url(&writer)).send().await.unwrap().status(),
        403
    );
    assert_eq!(
        client()
            .delete(url(&deleter))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A signed request may do anything; its body is part of what is signed.
    let body = r#"{"name":"b.txt"}"#;
    let path = signed(
        "POST",
        "/v1/files/demo/channels/other/generate-upload-url",
        "uuid=admin",
        body,
    );
    assert_eq!(
        post(&server, &path, body.as_bytes().to_vec()).await.status,
        200
    );
    let tampered = post(&server, &path, br#"{"name":"c.txt"}"#.to_vec()).await;
    assert_eq!(tampered.status, 403);
    assert_eq!(tampered.json()["error"]["message"], "Invalid signature");
}

#[tokio::test]
async fn fault_groups() {
    let server = server().await;
    // The REST calls: the service's JSON error.
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::Files).retry_after(2));
    let refused = generate(&server, "ch", "a.txt").await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.headers["retry-after"], "2");
    assert_eq!(refused.json()["service"], "Files");
    let form = Form::parse(&generate(&server, "ch", "a.txt").await.json());

    // The storage: S3's XML error, a dropped connection, a slow upload.
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::FileStorage));
    let slow_down = upload(&form, &form.parts(NI)).await;
    assert_eq!(slow_down.status, 503);
    assert_eq!(xml_code(&slow_down.text), "SlowDown");
    server
        .faults()
        .inject(Fault::reset().on(Endpoint::FileStorage));
    let cut = client()
        .post(&form.url)
        .header("content-type", multipart_type())
        .body(multipart(&form.parts(NI)))
        .send()
        .await;
    assert!(cut.is_err(), "the connection is closed without an answer");
    assert_eq!(
        get(&server, "/v1/files/demo/channels/ch/files")
            .await
            .json()["count"],
        0
    );
    server
        .faults()
        .inject(Fault::delay(Duration::from_millis(150)).on(Endpoint::FileStorage));
    let start = std::time::Instant::now();
    assert_eq!(upload(&form, &form.parts(NI)).await.status, 204);
    assert!(start.elapsed() >= Duration::from_millis(150));

    // Stored, then failed: the file is there though the client was told otherwise; and a
    // download cut in half.
    server
        .faults()
        .inject(Fault::store_then_fail(500).on(Endpoint::FileStorage));
    let other = Form::parse(&generate(&server, "ch", "b.txt").await.json());
    assert_eq!(upload(&other, &other.parts(NI)).await.status, 500);
    assert_eq!(
        get(&server, "/v1/files/demo/channels/ch/files")
            .await
            .json()["count"],
        2
    );
    server
        .faults()
        .inject(Fault::truncated().on(Endpoint::FileStorage));
    let download = format!("/__files/download/{}", form.field("key"));
    assert_eq!(
        get(&server, &download).await.text.as_bytes(),
        &NI[..NI.len() / 2]
    );

    // publish-file has its own group: a failed publish after a good upload.
    let message =
        encode(&json!({"message": "hi", "file": {"id": form.id, "name": "a.txt"}}).to_string());
    let publish = format!("/v1/files/publish-file/demo/demo/0/ch/0/{message}?store=1");
    server
        .faults()
        .inject(Fault::store_then_fail(500).on(Endpoint::PublishFile));
    assert_eq!(get(&server, &publish).await.status, 500);
    let history = get(&server, "/v3/history/sub-key/demo/channel/ch")
        .await
        .json();
    assert_eq!(history["channels"]["ch"].as_array().unwrap().len(), 1);

    // Over the admin endpoint, by name.
    let commands = br#"[{"endpoint":"file-storage","fault":"status","status":500},
                        {"endpoint":"files","fault":"status","status":429},
                        {"endpoint":"publish-file","fault":"status","status":502}]"#;
    assert_eq!(
        post(&server, "/__faults", commands.to_vec()).await.status,
        200
    );
    assert_eq!(
        xml_code(&get(&server, &download).await.text),
        "InternalError"
    );
    assert_eq!(
        get(&server, "/v1/files/demo/channels/ch/files")
            .await
            .status,
        429
    );
    assert_eq!(get(&server, &publish).await.status, 502);
    assert!(server.faults().pending().is_empty());
}

#[tokio::test]
async fn files_dir_keeps_the_bytes_on_disk() {
    let dir = std::env::temp_dir().join(format!(
        "pubnub-local-files-{}-{}",
        std::process::id(),
        now()
    ));
    let server = common::builder().files_dir(&dir).start().await.unwrap();
    let form = send(&server, "ch", "../../escape.txt", NI).await;
    let stored: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    // Named by a hash, never by the file's name.
    assert_eq!(stored[0].parent(), Some(dir.as_path()));
    assert_eq!(std::fs::read(&stored[0]).unwrap(), NI);
    let path = format!(
        "/v1/files/demo/channels/ch/files/{}/{}",
        form.id,
        encode(&form.name)
    );
    let location = no_redirects()
        .get(format!("{}{path}", server.url()))
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let downloaded = client().get(&location).send().await.unwrap();
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), NI);
    let deleted = client()
        .delete(format!("{}{path}", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The router in memory, on the test's (paused) clock.
struct Local {
    server: InMemoryServer,
}

struct Reply {
    status: u16,
    text: String,
}

impl Local {
    async fn call(&self, method: Method, uri: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let mut router = self.server.router();
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "files.test:8090")
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        let response = tower_service::Service::call(&mut router, request)
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn generate(&self, name: &str) -> Form {
        let body = json!({"name": name}).to_string().into_bytes();
        let reply = self
            .call(
                Method::POST,
                "/v1/files/k/channels/ch/generate-upload-url",
                "application/json",
                body,
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let form = Form::parse(&serde_json::from_str(&reply.text).unwrap());
        assert_eq!(form.url, "http://files.test:8090/__files/upload");
        form
    }

    async fn upload(&self, form: &Form) -> Reply {
        let body = multipart(&form.parts(NI));
        self.call(Method::POST, "/__files/upload", &multipart_type(), body)
            .await
    }

    async fn count(&self) -> u64 {
        let reply = self
            .call(Method::GET, "/v1/files/k/channels/ch/files", "", Vec::new())
            .await;
        let body: Value = serde_json::from_str(&reply.text).unwrap();
        body["count"].as_u64().unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn an_upload_form_expires_after_sixty_seconds() {
    let local = Local {
        server: Server::builder().build_in_memory(),
    };
    let early = local.generate("a.txt").await;
    let late = local.generate("b.txt").await;
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(local.upload(&early).await.status, 204);
    tokio::time::advance(Duration::from_secs(1)).await;
    let expired = local.upload(&late).await;
    assert_eq!(expired.status, 403);
    assert!(
        expired.text.contains(
            "<Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message>"
        ),
        "{}",
        expired.text
    );
    assert_eq!(local.count().await, 1);
    // A fresh form works.
    let fresh = local.generate("b.txt").await;
    assert_eq!(local.upload(&fresh).await.status, 204);
}

#[tokio::test(start_paused = true)]
async fn files_expire_with_the_retention() {
    let local = Local {
        server: Server::builder()
            .files_retention(Duration::from_secs(24 * 3600))
            .build_in_memory(),
    };
    let form = local.generate("a.txt").await;
    // The tag names the retention in days.
    assert!(form.field("tagging").contains("<Value>1</Value>"));
    assert_eq!(local.upload(&form).await.status, 204);
    let download = format!("/__files/download/{}", form.field("key"));
    assert_eq!(
        local
            .call(Method::GET, &download, "", Vec::new())
            .await
            .status,
        200
    );
    tokio::time::advance(Duration::from_secs(24 * 3600 - 1)).await;
    assert_eq!(local.count().await, 1);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(local.count().await, 0);
    let gone = local.call(Method::GET, &download, "", Vec::new()).await;
    assert_eq!(gone.status, 404);
}

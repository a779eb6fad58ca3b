//! Files against the service's recorded answers (PubNub's Python SDK fixtures,
//! `tests/integrational/fixtures/native_sync/file_upload/`): the requests each step sends and
//! what each answer becomes.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::*;
use crate::crypto::CryptoModule;
use crate::error::ErrorKind;
use crate::transport::testing::Recorder;

/// The upload form the service answered for `king_arthur.txt` (its policy shortened).
const FORM: &str = r#"{"status":200,"data":{"id":"5ada5e32-7af2-405e-a689-37c499a72f74","name":"king_arthur.txt"},"file_upload_request":{"url":"https://pubnub-mnemosyne-files-us-east-1-prd.s3.dualstack.us-east-1.amazonaws.com/","method":"POST","expiration_date":"2025-05-05T17:27:45Z","form_fields":[{"key":"tagging","value":"\u003cTagging\u003e\u003cTagSet\u003e\u003cTag\u003e\u003cKey\u003eObjectTTLInDays\u003c/Key\u003e\u003cValue\u003e1\u003c/Value\u003e\u003c/Tag\u003e\u003c/TagSet\u003e\u003c/Tagging\u003e"},{"key":"key","value":"sub/f-tIAcNXJO9m81fWVV_o-fSQ-veupNrTloVAUPbeUQQ/5ada5e32-7af2-405e-a689-37c499a72f74/king_arthur.txt"},{"key":"Content-Type","value":"text/plain; charset=utf-8"},{"key":"X-Amz-Credential","value":"AKIAY7AU6GQDV5LCPVEX/20250505/us-east-1/s3/aws4_request"},{"key":"X-Amz-Security-Token","value":""},{"key":"X-Amz-Algorithm","value":"AWS4-HMAC-SHA256"},{"key":"X-Amz-Date","value":"20250505T172745Z"},{"key":"Policy","value":"CnsKCSJleHBpcmF0aW9uIjogIjIwMjUtMDUtMDVUMTc6Mjc6NDVaIg=="},{"key":"X-Amz-Signature","value":"0702dcfc9049fbfa9b4e1fbfa58753d5c960b69411395cb3495438698ab87b83"}]}}"#;
const FILE_ID: &str = "5ada5e32-7af2-405e-a689-37c499a72f74";
const STORAGE: &str =
    "https://pubnub-mnemosyne-files-us-east-1-prd.s3.dualstack.us-east-1.amazonaws.com/";
const SENT: &str = r#"[1,"Sent","17464660053723019"]"#;
const TOO_LARGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message><ProposedSize>5244681</ProposedSize><MaxSizeAllowed>5242880</MaxSizeAllowed><RequestId>8W8NAT1S1REK9Y3P</RequestId></Error>"#;
const EXPIRED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>"#;

fn client(configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> (Arc<Recorder>, Arc<Core>) {
    let recorder = Arc::new(Recorder::default());
    let core = Arc::new(recorder.core(|b| configure(b.publish_key("pub"))));
    (recorder, core)
}

use crate::config::ConfigBuilder;

fn answer(status: u16, body: &str) -> Result<Response, Error> {
    Ok(Response::new(status, body.to_owned()))
}

/// The parts of a multipart body: (name, filename, content) in order.
fn parts(request: &Request) -> Vec<(String, Option<String>, Vec<u8>)> {
    let content_type = request.header("Content-Type").unwrap();
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap();
    let body = request.body.as_ref().unwrap();
    let delimiter = format!("--{boundary}");
    let text = body.as_ref();
    let mut parts = Vec::new();
    let mut at = delimiter.len();
    assert!(text.starts_with(delimiter.as_bytes()));
    loop {
        if text[at..].starts_with(b"--\r\n") {
            assert_eq!(at + 4, text.len(), "nothing after the closing boundary");
            return parts;
        }
        at += 2; // CRLF
        let head_end = find(&text[at..], b"\r\n\r\n").unwrap() + at;
        let head = std::str::from_utf8(&text[at..head_end]).unwrap();
        let name = between(head, "name=\"", "\"").unwrap();
        let filename = between(head, "filename=\"", "\"");
        let next =
            find(&text[head_end..], format!("\r\n{delimiter}").as_bytes()).unwrap() + head_end;
        parts.push((name, filename, text[head_end + 4..next].to_vec()));
        at = next + 2 + delimiter.len();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}

/// The decoded message segment of a publish-file path.
fn published(request: &Request) -> String {
    let segment = request.path.rsplit('/').next().unwrap().as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < segment.len() {
        if segment[i] == b'%' {
            let hex = std::str::from_utf8(&segment[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(segment[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn send_file_takes_the_three_steps_of_the_service() {
    let (recorder, core) = client(|b| b);
    recorder.push(answer(200, FORM));
    recorder.push(answer(204, ""));
    recorder.push(answer(200, SENT));
    let result = SendFile::new(&core)
        .channel("files_native_sync_ch")
        .file_name("king_arthur.txt")
        .data(FileData::bytes("Knights who say Ni!"))
        .message(&json!({"test_message": "test"}))
        .meta(&json!({"k": "v"}))
        .should_store(true)
        .ttl(222)
        .custom_message_type("test_message")
        .await
        .unwrap();
    assert_eq!(
        result,
        SendFileResult {
            timetoken: 17_464_660_053_723_019,
            file_id: FILE_ID.into(),
            file_name: "king_arthur.txt".into(),
        }
    );
    let requests = recorder.requests();
    assert_eq!(requests.len(), 3);

    let generate = &requests[0];
    assert_eq!(generate.method, Method::Post);
    assert_eq!(
        generate.path,
        "/v1/files/sub/channels/files_native_sync_ch/generate-upload-url"
    );
    let body: Value = serde_json::from_slice(generate.body.as_ref().unwrap()).unwrap();
    assert_eq!(body, json!({"name": "king_arthur.txt"}));

    // The form's fields in the order the service gave them, then the file, last.
    let upload = &requests[1];
    assert_eq!(upload.method, Method::Post);
    assert_eq!(upload.path, STORAGE);
    assert!(
        upload.query.is_empty(),
        "no PubNub parameter goes to storage"
    );
    let parts = parts(upload);
    let names: Vec<&str> = parts.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "tagging",
            "key",
            "Content-Type",
            "X-Amz-Credential",
            "X-Amz-Security-Token",
            "X-Amz-Algorithm",
            "X-Amz-Date",
            "Policy",
            "X-Amz-Signature",
            "file"
        ]
    );
    assert_eq!(parts[2].2, b"text/plain; charset=utf-8");
    assert_eq!(parts[4].2, b"");
    assert_eq!(parts[9].1.as_deref(), Some("king_arthur.txt"));
    assert_eq!(parts[9].2, b"Knights who say Ni!");
    assert_eq!(upload.timeout, core.config().file_transfer_timeout());

    let publish = &requests[2];
    assert_eq!(publish.method, Method::Get);
    assert!(
        publish
            .path
            .starts_with("/v1/files/publish-file/pub/sub/0/files_native_sync_ch/0/"),
        "{}",
        publish.path
    );
    let message: Value = serde_json::from_str(&published(publish)).unwrap();
    assert_eq!(
        message,
        json!({"message": {"test_message": "test"}, "file": {"id": FILE_ID, "name": "king_arthur.txt"}})
    );
    assert_eq!(publish.query_value("store"), Some("1"));
    assert_eq!(publish.query_value("ttl"), Some("222"));
    assert_eq!(publish.query_value("meta"), Some(r#"{"k":"v"}"#));
    assert_eq!(
        publish.query_value("custom_message_type"),
        Some("test_message")
    );
    assert_eq!(publish.query_value("uuid"), Some("me"));
}

#[tokio::test]
async fn a_file_message_without_message_or_options_sends_null_and_no_store() {
    let (recorder, core) = client(|b| b);
    for body in [FORM, "", SENT] {
        recorder.push(answer(if body.is_empty() { 204 } else { 200 }, body));
    }
    SendFile::new(&core)
        .channel("ch")
        .file_name("a.txt")
        .data(FileData::bytes("x"))
        .await
        .unwrap();
    let publish = &recorder.requests()[2];
    let message: Value = serde_json::from_str(&published(publish)).unwrap();
    assert_eq!(message["message"], Value::Null);
    for absent in ["store", "ttl", "meta", "custom_message_type"] {
        assert_eq!(publish.query_value(absent), None, "{absent}");
    }
}

#[tokio::test]
async fn encrypted_files_are_uploaded_encrypted_and_their_message_too() {
    let crypto = CryptoModule::aes_cbc("enigma").unwrap();
    let (recorder, core) = client(|b| b.crypto_module(crypto.clone()));
    for (status, body) in [(200, FORM), (204, ""), (200, SENT)] {
        recorder.push(answer(status, body));
    }
    SendFile::new(&core)
        .channel("ch")
        .file_name("king_arthur.txt")
        .data(FileData::bytes("Knights who say Ni!"))
        .message(&"hello")
        .await
        .unwrap();
    let requests = recorder.requests();
    let mut file = parts(&requests[1]).pop().unwrap().2;
    assert_ne!(file, b"Knights who say Ni!");
    assert!(file.starts_with(b"PNED"), "the crypto module's header");
    crypto.decrypt_in_place(&mut file).unwrap();
    assert_eq!(file, b"Knights who say Ni!");
    // The whole file message is one encrypted JSON string, as PubNub's SDKs send it.
    let segment: Value = serde_json::from_str(&published(&requests[2])).unwrap();
    let plain = crypto
        .decrypt_payload(&crate::subscribe::payload::Payload::from(segment))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(plain.json()).unwrap(),
        json!({"message": "hello", "file": {"id": FILE_ID, "name": "king_arthur.txt"}})
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let (recorder, core) = client(|b| b);
    let send = || SendFile::new(&core).channel("ch").file_name("a.txt");
    let cases: Vec<(SendFile, ErrorKind)> = vec![
        (
            send().data(FileData::bytes("x")).channel(""),
            ErrorKind::InvalidArgument,
        ),
        (
            send().data(FileData::bytes("x")).channel("a,b"),
            ErrorKind::InvalidArgument,
        ),
        (
            send().data(FileData::bytes("x")).file_name(""),
            ErrorKind::InvalidArgument,
        ),
        (
            send().data(FileData::bytes("x")).file_name("dir/a.txt"),
            ErrorKind::InvalidArgument,
        ),
        (
            send().data(FileData::bytes("x")).file_name("..\\a"),
            ErrorKind::InvalidArgument,
        ),
        (
            send().data(FileData::bytes("x")).file_name(".."),
            ErrorKind::InvalidArgument,
        ),
        (
            send().data(FileData::bytes("x")).file_name("a\nb"),
            ErrorKind::InvalidArgument,
        ),
        (send(), ErrorKind::InvalidArgument),
        (
            send().data(FileData::bytes("x")).meta(&[1, 2]),
            ErrorKind::InvalidArgument,
        ),
        (
            send().data(FileData::bytes("x")).ttl(0),
            ErrorKind::InvalidArgument,
        ),
        (
            send().data(FileData::bytes("x")).custom_message_type("x"),
            ErrorKind::InvalidArgument,
        ),
        (
            send().data(FileData::bytes(vec![0; MAX_FILE_SIZE + 1])),
            ErrorKind::MessageTooLarge,
        ),
        (
            send().data(FileData::reader(tokio::io::repeat(1))),
            ErrorKind::MessageTooLarge,
        ),
        (
            send().data(FileData::path("/nonexistent/pubnub-engine/file")),
            ErrorKind::InvalidArgument,
        ),
    ];
    for (request, kind) in cases {
        let debug = format!("{request:?}");
        let error = request.await.unwrap_err();
        assert_eq!(error.kind(), kind, "{debug}: {error}");
    }
    // Without a publish key, and an empty file with encryption.
    let (recorder2, core2) = client(|b| b.crypto_module(CryptoModule::aes_cbc("k").unwrap()));
    let error = SendFile::new(&core2)
        .channel("ch")
        .file_name("a")
        .data(FileData::bytes(""))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    let recorder3 = Arc::new(Recorder::default());
    let core3 = Arc::new(recorder3.core(|b| b));
    let error = SendFile::new(&core3)
        .channel("ch")
        .file_name("a")
        .data(FileData::bytes("x"))
        .await
        .unwrap_err();
    assert!(error.message().contains("publish key"), "{error}");
    assert!(recorder.requests().is_empty());
    assert!(recorder2.requests().is_empty());
    assert!(recorder3.requests().is_empty());
}

#[tokio::test]
async fn files_on_disk_and_from_readers_are_sent_whole() {
    let dir = std::env::temp_dir().join(format!("pubnub-engine-files-{}", std::process::id()));
    tokio::fs::create_dir_all(&dir).await.unwrap();
    let path = dir.join("on-disk.bin");
    let content: Vec<u8> = (0..70_000u32).map(|n| (n % 253) as u8).collect();
    tokio::fs::write(&path, &content).await.unwrap();
    for data in [
        FileData::path(&path),
        FileData::reader(std::io::Cursor::new(content.clone())),
    ] {
        let (recorder, core) = client(|b| b);
        for (status, body) in [(200, FORM), (204, ""), (200, SENT)] {
            recorder.push(answer(status, body));
        }
        SendFile::new(&core)
            .channel("ch")
            .file_name("on-disk.bin")
            .data(data)
            .await
            .unwrap();
        assert_eq!(parts(&recorder.requests()[1]).pop().unwrap().2, content);
    }
    // A file on disk over the limit is refused from its size, before it is read.
    let large = dir.join("large.bin");
    let file = std::fs::File::create(&large).unwrap();
    file.set_len(u64::try_from(MAX_FILE_SIZE).unwrap() + 1)
        .unwrap();
    let (recorder, core) = client(|b| b);
    let error = SendFile::new(&core)
        .channel("ch")
        .file_name("large.bin")
        .data(FileData::path(&large))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MessageTooLarge);
    assert!(recorder.requests().is_empty());
    tokio::fs::remove_dir_all(&dir).await.unwrap();
}

#[tokio::test]
async fn storage_errors_carry_storage_s_message() {
    let (recorder, core) = client(|b| b);
    recorder.push(answer(200, FORM));
    recorder.push(answer(400, TOO_LARGE));
    let error = SendFile::new(&core)
        .channel("ch")
        .file_name("a")
        .data(FileData::bytes("x"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MessageTooLarge);
    assert!(
        error
            .message()
            .contains("EntityTooLarge: Your proposed upload exceeds the maximum allowed size"),
        "{error}"
    );
    assert_eq!(error.reason().status, Some(400));

    recorder.push(answer(200, FORM));
    recorder.push(answer(503, "<html>Slow Down</html>"));
    let error = SendFile::new(&core)
        .channel("ch")
        .file_name("a")
        .data(FileData::bytes("x"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 503 });
    assert!(error.message().contains("Slow Down"), "{error}");
    assert!(error.unpublished_file().is_none(), "nothing was uploaded");
    // Nothing was published after a refused upload.
    assert_eq!(recorder.requests().len(), 4);
}

#[tokio::test]
async fn an_expired_upload_form_is_asked_for_again_once() {
    let (recorder, core) = client(|b| b);
    for (status, body) in [
        (200, FORM),
        (403, EXPIRED),
        (200, FORM),
        (204, ""),
        (200, SENT),
    ] {
        recorder.push(answer(status, body));
    }
    SendFile::new(&core)
        .channel("ch")
        .file_name("a.txt")
        .data(FileData::bytes("Knights who say Ni!"))
        .await
        .unwrap();
    let requests = recorder.requests();
    assert_eq!(requests.len(), 5);
    assert!(requests[2].path.ends_with("/generate-upload-url"));
    assert_eq!(parts(&requests[3]).pop().unwrap().2, b"Knights who say Ni!");

    // Twice expired: the second refusal is the error.
    for (status, body) in [(200, FORM), (403, EXPIRED), (200, FORM), (403, EXPIRED)] {
        recorder.push(answer(status, body));
    }
    let error = SendFile::new(&core)
        .channel("ch")
        .file_name("a.txt")
        .data(FileData::bytes("x"))
        .await
        .unwrap_err();
    assert!(error.message().contains("Policy expired"), "{error}");
    assert_eq!(recorder.requests().len(), 9);
}

#[tokio::test(start_paused = true)]
async fn the_file_message_is_retried_and_a_final_failure_names_the_file() {
    let (recorder, core) = client(|b| b);
    recorder.push(answer(200, FORM));
    recorder.push(answer(204, ""));
    for _ in 0..FILE_PUBLISH_ATTEMPTS - 1 {
        recorder.push(answer(500, "{}"));
    }
    recorder.push(answer(200, SENT));
    let sent = SendFile::new(&core)
        .channel("ch")
        .file_name("a.txt")
        .data(FileData::bytes("x"))
        .await
        .unwrap();
    assert_eq!(sent.timetoken, 17_464_660_053_723_019);
    let attempts = 2 + usize::try_from(FILE_PUBLISH_ATTEMPTS).unwrap();
    assert_eq!(recorder.requests().len(), attempts);

    recorder.push(answer(200, FORM));
    recorder.push(answer(204, ""));
    for _ in 0..FILE_PUBLISH_ATTEMPTS {
        recorder.push(Err(Error::new(ErrorKind::Network, "connection reset")));
    }
    let error = SendFile::new(&core)
        .channel("ch")
        .file_name("a.txt")
        .data(FileData::bytes("x"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Network);
    assert_eq!(error.unpublished_file(), Some((FILE_ID, "king_arthur.txt")));
    assert_eq!(recorder.requests().len(), 2 * attempts);

    // A refusal is not retried: it would be refused again.
    recorder.push(answer(200, FORM));
    recorder.push(answer(204, ""));
    recorder.push(answer(
        403,
        r#"{"message":"Forbidden","payload":{"channels":["ch"]},"error":true,"service":"Access Manager","status":403}"#,
    ));
    let error = SendFile::new(&core)
        .channel("ch")
        .file_name("a.txt")
        .data(FileData::bytes("x"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AccessDenied);
    assert!(error.unpublished_file().is_some());
    assert_eq!(recorder.requests().len(), 2 * attempts + 3);
}

#[tokio::test]
async fn publish_file_message_publishes_a_file_already_uploaded() {
    let (recorder, core) = client(|b| b);
    recorder.push(answer(200, SENT));
    let result = RequestBuilder::new(&core, PublishFileOp::default())
        .channel("ch")
        .file("2222", "test")
        .message(&json!({"test": "test"}))
        .meta(&json!({}))
        .should_store(false)
        .ttl(5)
        .custom_message_type("test_message")
        .await
        .unwrap();
    assert_eq!(result.timetoken, 17_464_660_053_723_019);
    let request = &recorder.requests()[0];
    assert_eq!(
        serde_json::from_str::<Value>(&published(request)).unwrap(),
        json!({"message": {"test": "test"}, "file": {"id": "2222", "name": "test"}})
    );
    assert_eq!(request.query_value("store"), Some("0"));
    assert_eq!(
        request.query_value("ttl"),
        None,
        "no ttl for an unstored message"
    );
    assert_eq!(request.query_value("meta"), Some("{}"));
    // The file is required.
    let error = RequestBuilder::new(&core, PublishFileOp::default())
        .channel("ch")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert_eq!(recorder.requests().len(), 1);
}

#[tokio::test]
async fn download_follows_the_redirect_to_storage_without_pubnub_parameters() {
    let (recorder, core) = client(|b| b.auth_key("test_auth_key"));
    let location = "https://files-us-east-1.pndsn.com/sub/f-tIAc/5ada5e32/king_arthur.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3900&X-Amz-Signature=5bf9";
    recorder.push(Ok(Response::new(307, "").with_location(location)));
    recorder
        .push(Ok(Response::new(200, "Knights who say Ni!")
            .with_content_type("text/plain; charset=utf-8")));
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let file = DownloadFile::new(&core)
        .channel("files_native_sync_ch")
        .file_id(FILE_ID)
        .file_name("king_arthur.txt")
        .on_progress(move |p| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    assert_eq!(file.data, b"Knights who say Ni!");
    assert_eq!(file.name, "king_arthur.txt");
    assert_eq!(
        file.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let requests = recorder.requests();
    assert_eq!(
        requests[0].path,
        format!("/v1/files/sub/channels/files_native_sync_ch/files/{FILE_ID}/king_arthur.txt")
    );
    assert_eq!(requests[0].query_value("auth"), Some("test_auth_key"));
    assert_eq!(requests[1].path, location);
    assert!(requests[1].query.is_empty());
    assert_eq!(requests[1].max_response_bytes, MAX_FILE_SIZE + 1024);
    let last = *reports.lock().unwrap().last().unwrap();
    assert_eq!(
        last,
        Progress {
            done: 19,
            total: Some(19)
        }
    );

    // A relative Location is on the origin; a missing one is an error.
    recorder.push(Ok(Response::new(307, "").with_location("/storage/x")));
    recorder.push(answer(200, "x"));
    DownloadFile::new(&core)
        .channel("ch")
        .file_id("i")
        .file_name("n")
        .await
        .unwrap();
    let origin = core.config().origin().trim_end_matches('/').to_owned();
    assert_eq!(recorder.requests()[3].path, format!("{origin}/storage/x"));
    recorder.push(answer(307, ""));
    let error = DownloadFile::new(&core)
        .channel("ch")
        .file_id("i")
        .file_name("n")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn downloads_are_decrypted_saved_and_streamed() {
    // The legacy file PubNub's Python SDK uploaded with the cipher key `silly_walk`.
    use base64::Engine as _;
    let stored = base64::engine::general_purpose::STANDARD
        .decode("Nzc2NTIzNzY5ODI4MTk3Nsu+EXSwNJF0JSrIvXVBG0iEUsP0SKsej9Ust2kyLfEA")
        .unwrap();
    let crypto = CryptoModule::legacy("silly_walk", true).unwrap();
    let (recorder, core) = client(|b| b.crypto_module(crypto));
    let serve = |recorder: &Recorder| {
        recorder.push(Ok(
            Response::new(307, "").with_location("https://storage.test/f")
        ));
        recorder.push(Ok(Response::new(200, stored.clone())));
    };
    let download = || {
        DownloadFile::new(&core)
            .channel("ch")
            .file_id("id")
            .file_name("king_arthur.txt")
    };
    serve(&recorder);
    assert_eq!(download().await.unwrap().data, b"Knights who say Ni!");

    serve(&recorder);
    let path = std::env::temp_dir().join(format!("pubnub-engine-dl-{}", std::process::id()));
    assert_eq!(download().save_to(&path).await.unwrap(), 19);
    assert_eq!(
        tokio::fs::read(&path).await.unwrap(),
        b"Knights who say Ni!"
    );
    tokio::fs::remove_file(&path).await.unwrap();

    serve(&recorder);
    let chunks: Vec<Bytes> = download()
        .stream()
        .map(Result::unwrap)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(chunks.concat(), b"Knights who say Ni!");

    // A damaged file is a decryption error; storage's refusal an error of its own.
    recorder.push(Ok(
        Response::new(307, "").with_location("https://storage.test/f")
    ));
    recorder.push(Ok(Response::new(200, stored[..stored.len() - 1].to_vec())));
    assert_eq!(download().await.unwrap_err().kind(), ErrorKind::Decryption);
    recorder.push(Ok(
        Response::new(307, "").with_location("https://storage.test/f")
    ));
    recorder.push(answer(
        404,
        "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
    ));
    let error = download().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Http { status: 404 });
    assert!(error.message().contains("NoSuchKey"), "{error}");
    let mut stream = download().stream();
    recorder.push(answer(
        403,
        r#"{"message":"Forbidden","error":true,"status":403}"#,
    ));
    assert_eq!(
        stream.next().await.unwrap().unwrap_err().kind(),
        ErrorKind::AccessDenied
    );
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn list_files_reads_pages_and_follows_next() {
    let (recorder, core) = client(|b| b);
    let page1 = r#"{"status":200,"data":[{"name":"king_arthur.txt","id":"0b7f19b8-fda2-4d6d-9415-ef286cf876d6","size":19,"created":"2025-05-05T17:26:44Z"},{"name":"king_arthur.txt","id":"4dc97849-e0b9-4693-93bf-f57508e8a8b9","size":48,"created":"2025-05-05T17:26:45Z"}],"next":"1c9409wBeGwq","count":2}"#;
    let page2 = r#"{"status":200,"data":[{"name":"b.txt","id":"5e9f3cb0","size":1,"created":"2025-05-05T17:26:46Z"}],"next":null,"count":1}"#;
    recorder.push(answer(200, page1));
    let list =
        || RequestBuilder::new(&core, ListFilesOp::default()).channel("files_native_sync_ch");
    let page = list().limit(2).await.unwrap();
    assert_eq!(page.count, 2);
    assert_eq!(page.next.as_deref(), Some("1c9409wBeGwq"));
    assert_eq!(
        page.data[1],
        FileInfo {
            id: "4dc97849-e0b9-4693-93bf-f57508e8a8b9".into(),
            name: "king_arthur.txt".into(),
            size: 48,
            created: "2025-05-05T17:26:45Z".into(),
        }
    );
    let request = &recorder.requests()[0];
    assert_eq!(
        request.path,
        "/v1/files/sub/channels/files_native_sync_ch/files"
    );
    assert_eq!(request.query_value("limit"), Some("2"));
    assert_eq!(request.query_value("next"), None);

    recorder.push(answer(200, page1));
    recorder.push(answer(200, page2));
    let pages: Vec<ListFilesResult> = list().limit(2).pages().map(Result::unwrap).collect().await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1].data[0].id, "5e9f3cb0");
    assert_eq!(
        recorder.requests()[2].query_value("next"),
        Some("1c9409wBeGwq")
    );

    // The recorded empty channel, and bad limits.
    recorder.push(answer(
        200,
        r#"{"status":200,"data":[],"next":null,"count":0}"#,
    ));
    assert_eq!(list().await.unwrap(), ListFilesResult::default());
    assert_eq!(recorder.requests()[3].query_value("limit"), Some("100"));
    for limit in [0, MAX_LIST_LIMIT + 1] {
        let error = list().limit(limit).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    }
    recorder.push(answer(200, r#"{"status":200,"data":[{"id":1}]}"#));
    assert_eq!(list().await.unwrap_err().kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn delete_file_sends_delete_and_reads_the_recorded_answer() {
    let (recorder, core) = client(|b| b);
    recorder.push(answer(200, r#"{"status":200}"#));
    RequestBuilder::new(&core, DeleteFileOp::default())
        .channel("ch")
        .file_id(FILE_ID)
        .file_name("a b.txt")
        .await
        .unwrap();
    let request = &recorder.requests()[0];
    assert_eq!(request.method, Method::Delete);
    assert_eq!(
        request.path,
        format!("/v1/files/sub/channels/ch/files/{FILE_ID}/a%20b.txt")
    );
    let error = RequestBuilder::new(&core, DeleteFileOp::default())
        .channel("ch")
        .file_name("a")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "no file id");
}

#[tokio::test]
async fn file_urls_are_built_as_pubnub_s_sdks_build_them() {
    let (recorder, core) = client(|b| b.origin("https://ps.pndsn.com").auth_key("test_auth_key"));
    let url = GetFileUrl::new(&core)
        .channel("files_native_sync_ch")
        .file_id("random_file_id")
        .file_name("random file name")
        .await
        .unwrap();
    assert!(
        url.starts_with(
            "https://ps.pndsn.com/v1/files/sub/channels/files_native_sync_ch/files/random_file_id/random%20file%20name?"
        ),
        "{url}"
    );
    assert!(url.contains("auth=test_auth_key"), "{url}");
    assert!(url.contains("uuid=me"), "{url}");
    assert!(!url.contains("requestid"), "{url}");
    assert!(recorder.requests().is_empty(), "built, never requested");

    // With a secret key the URL is signed.
    let (_, core) = client(|b| b.secret_key("sec"));
    let url = GetFileUrl::new(&core)
        .channel("ch")
        .file_id("i")
        .file_name("n")
        .url()
        .unwrap();
    assert!(url.contains("signature=v2."), "{url}");
    assert!(url.contains("timestamp="), "{url}");
    let error = GetFileUrl::new(&core).channel("ch").url().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn uploads_report_their_progress() {
    let (recorder, core) = client(|b| b);
    for (status, body) in [(200, FORM), (204, ""), (200, SENT)] {
        recorder.push(answer(status, body));
    }
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    SendFile::new(&core)
        .channel("ch")
        .file_name("a.txt")
        .data(FileData::bytes(vec![7; 100_000]))
        .on_progress(move |p| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    let upload = &recorder.requests()[1];
    let total = u64::try_from(upload.body.as_ref().unwrap().len()).unwrap();
    assert!(
        upload.progress.is_some(),
        "the transport reports the body as it goes"
    );
    assert_eq!(
        reports.lock().unwrap().last(),
        Some(&Progress {
            done: total,
            total: Some(total)
        })
    );
}

#[test]
fn file_data_debug_never_shows_the_bytes() {
    assert_eq!(
        format!("{:?}", FileData::bytes("secret")),
        "FileData::bytes(6 bytes)"
    );
    assert_eq!(
        format!("{:?}", FileData::reader(&b""[..])),
        "FileData::reader(..)"
    );
}

#[test]
fn the_recorded_encrypted_file_and_file_message_decrypt() {
    // `send_and_download_encrypted_file.json` (2024, cipher key `silly_walk`, legacy cryptor
    // with a random IV): the stored object and the file message's path segment.
    let crypto = CryptoModule::legacy("silly_walk", true).unwrap();
    let hex = "4445aeca6ebb9ee5630423598e984bf99dfbd30d6b97806accee3a21e9ab87361d47cc2dfc1b8f3f6fa59f7a6e506c89";
    let mut stored: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    crypto.decrypt_in_place(&mut stored).unwrap();
    assert_eq!(stored, b"Knights who say Ni!");

    let segment = "\"xaV64cWsa2P3j5u5piKvm/bdHdLnqJ9P8kAsuQ7tehjctPjw2ctuX4JiyomF8bbGdjOle0mVKkoQXOAotxpwhWMBeQWVHx/iwU1LWfxjoXCD9CB+JKf6Bsep8TUZRkjHAitmDtigGGXTTh8iTEg437rfTftA+GjKwkehoXbcRkpidsCzMeMyqTL6yB5dsd8g\"";
    let value: Value = serde_json::from_str(segment).unwrap();
    let plain = crypto
        .decrypt_payload(&crate::subscribe::payload::Payload::from(value))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(plain.json()).unwrap(),
        json!({"message": {"test_message": "test"}, "file": {"id": "ebe63895-eefb-4b3a-b1c9-7f65036cfc54", "name": "king_arthur.txt"}})
    );
}

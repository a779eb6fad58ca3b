//! Tests of publish, fire and signal: answers, sizes, and what a crypto module changes.

use super::*;
use crate::config::ConfigBuilder;
use crate::crypto::CryptoModule;
use crate::transport::testing::Recorder;

#[test]
fn answers_read_with_and_without_the_fast_path() {
    let read = |status: u16, body: &str| parse_answer(&Response::new(status, body.to_owned()));
    let tt = 17_000_000_000_000_001;
    // The usual answer, and forms only the full classification understands.
    assert_eq!(
        read(200, r#"[1,"Sent","17000000000000001"]"#)
            .unwrap()
            .timetoken,
        tt
    );
    assert_eq!(
        read(200, r#"[1,"Sent",17000000000000001]"#)
            .unwrap()
            .timetoken,
        tt
    );
    assert_eq!(
        read(200, r#"[1,"S\u0065nt","17000000000000001"]"#)
            .unwrap()
            .timetoken,
        tt
    );
    // Errors, including one a 200 carries, never take the fast path.
    assert!(read(200, r#"[0,"Invalid Key","17000000000000001"]"#).is_err());
    assert!(read(400, r#"[1,"Sent","17000000000000001"]"#).is_err());
    assert_eq!(
        read(400, r#"[0,"Message Too Large","1"]"#)
            .unwrap_err()
            .kind(),
        ErrorKind::MessageTooLarge
    );
    assert!(read(200, r#"[1,"Sent","-5"]"#).is_err());
    // Strict: only [1, text, 17-digit timetoken] is a success.
    for body in [
        "[1,1,1]",
        r#"[1,"Sent","1"]"#,
        r#"[1,"Sent","17000000000000001",2]"#,
    ] {
        let error = read(200, body).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{body}");
        assert!(error.to_string().contains(body), "{error}");
    }
    // A huge answer is refused without building a tree, its start quoted, credentials
    // redacted.
    let huge = format!("[1,\"auth=SECRET\",{}]", "1,".repeat(1 << 20));
    let error = read(200, &huge).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(!error.to_string().contains("SECRET"), "{error}");
    assert!(error.to_string().len() < 600, "{error}");
}

/// A core with a publish key, configured further by `configure`.
fn core_with(configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Arc<Core> {
    let recorder = Arc::new(Recorder::default());
    Arc::new(recorder.core(|b| configure(b.publish_key("pub-c"))))
}

fn client(crypto: Option<CryptoModule>) -> Arc<Core> {
    core_with(|b| match crypto {
        Some(crypto) => b.crypto_module(crypto),
        None => b,
    })
}

/// The same fields as another kind of request.
fn as_kind<J, K>(op: PublishOp<J>) -> PublishOp<K> {
    PublishOp {
        channel: op.channel,
        message: op.message,
        meta: op.meta,
        custom_message_type: op.custom_message_type,
        should_store: op.should_store,
        ttl: op.ttl,
        use_post: op.use_post,
        compress: op.compress,
        seqn: op.seqn,
        kind: std::marker::PhantomData,
    }
}

/// The request `op` makes as a `kind`.
fn request(core: &Core, op: Publish, kind: Kind) -> Result<Request, Error> {
    match kind {
        Kind::Publish => op.op.request(core),
        Kind::Fire => as_kind::<_, FireKind>(op.op).request(core),
        Kind::Signal => as_kind::<_, SignalKind>(op.op).request(core),
    }
}

/// The request a builder would send, its message as sent (decoded from the path or the
/// body), and its `meta`.
fn as_sent(core: &Core, op: Publish, kind: Kind) -> Result<(String, Option<String>), Error> {
    let request = request(core, op, kind)?;
    let message = match &request.body {
        Some(body) => String::from_utf8(body.to_vec()).unwrap(),
        None => {
            let segment = request.path.rsplit('/').next().unwrap();
            percent_decode(segment)
        }
    };
    let meta = request
        .query
        .iter()
        .find(|(key, _)| *key == "meta")
        .map(|(_, value)| value.clone());
    Ok((message, meta))
}

fn percent_decode(encoded: &str) -> String {
    let mut out = Vec::new();
    let mut bytes = encoded.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let hex = [bytes.next().unwrap(), bytes.next().unwrap()];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
        } else {
            out.push(byte);
        }
    }
    String::from_utf8(out).unwrap()
}

fn params(core: &Arc<Core>, message: &serde_json::Value, use_post: bool) -> Publish {
    RequestBuilder::new(core, PublishOp::default())
        .channel("chat")
        .message(message)
        .meta(&serde_json::json!({"lang": "en"}))
        .use_post(use_post)
}

#[test]
fn publish_and_fire_are_encrypted_signals_and_meta_are_not() {
    let crypto = CryptoModule::aes_cbc("enigma").unwrap();
    let pubnub = client(Some(crypto.clone()));
    let message = serde_json::json!({"text": "hello"});
    for (kind, use_post) in [
        (Kind::Publish, false),
        (Kind::Publish, true),
        (Kind::Fire, false),
        (Kind::Fire, true),
    ] {
        let (sent, meta) = as_sent(&pubnub, params(&pubnub, &message, use_post), kind).unwrap();
        // A JSON string of the base64 of PNED 1 ACRH …, which decrypts to the JSON.
        let base64: String = serde_json::from_str(&sent).unwrap();
        assert!(base64.starts_with("UE5FRAFBQ1JI"), "{kind:?}: {sent}");
        assert_eq!(crypto.decrypt_string(&base64).unwrap(), message.to_string());
        assert_eq!(meta.as_deref(), Some(r#"{"lang":"en"}"#));
    }
    let typing = params(&pubnub, &serde_json::json!("typing"), false);
    let (sent, _) = as_sent(&pubnub, typing, Kind::Signal).unwrap();
    assert_eq!(sent, r#""typing""#);
    // Without a module, nothing changes.
    let plain = client(None);
    let (sent, _) = as_sent(&plain, params(&plain, &message, false), Kind::Publish).unwrap();
    assert_eq!(sent, message.to_string());
}

#[test]
fn the_size_limit_applies_to_the_encrypted_message() {
    let pubnub = client(Some(CryptoModule::aes_cbc("enigma").unwrap()));
    // 25,000 bytes of JSON fit as they are, but not once encrypted and in base64 (33,000+).
    let message = serde_json::json!("a".repeat(25_000));
    let plain = client(None);
    assert!(as_sent(&plain, params(&plain, &message, true), Kind::Publish).is_ok());
    let error = as_sent(&pubnub, params(&pubnub, &message, true), Kind::Publish).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MessageTooLarge);
    let small = serde_json::json!("a".repeat(20_000));
    assert!(as_sent(&pubnub, params(&pubnub, &small, true), Kind::Publish).is_ok());
}

#[test]
fn sizes_follow_the_escaped_form() {
    let pubnub = client(None);
    let check = |kind: Kind, message: &str, use_post: bool| {
        // "chat": 4 bytes of the limit go to the channel.
        let mut op = RequestBuilder::new(&pubnub, PublishOp::default())
            .channel("chat")
            .use_post(use_post);
        op.op.message = Some(Ok(message.to_owned()));
        request(&pubnub, op, kind).map(drop)
    };
    // GET: 4 + (3 + limit-10 + 3) escaped for a string of plain letters.
    let fits = format!("\"{}\"", "a".repeat(MAX_MESSAGE_SIZE - 10));
    assert!(check(Kind::Publish, &fits, false).is_ok());
    assert!(check(Kind::Fire, &fits, false).is_ok());
    let over = format!("\"{}\"", "a".repeat(MAX_MESSAGE_SIZE - 9));
    let error = check(Kind::Publish, &over, false).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MessageTooLarge);
    assert!(check(Kind::Fire, &over, false).is_err());
    // POST: 4 + the body, unescaped.
    let body_fits = format!("\"{}\"", "a".repeat(MAX_MESSAGE_SIZE - 6));
    assert!(check(Kind::Publish, &body_fits, true).is_ok());
    let body_over = format!("\"{}\"", "a".repeat(MAX_MESSAGE_SIZE - 5));
    assert!(check(Kind::Publish, &body_over, true).is_err());
    // Escaping triples the cost of reserved characters over GET, not over POST.
    let spaces = format!("\"{}\"", " ".repeat(MAX_MESSAGE_SIZE / 3));
    assert!(check(Kind::Publish, &spaces, false).is_err());
    assert!(check(Kind::Publish, &spaces, true).is_ok());
    // Signals count JSON bytes: "…" with 62 letters is 64 bytes.
    assert!(check(Kind::Signal, &format!("\"{}\"", "a".repeat(62)), false).is_ok());
    assert!(check(Kind::Signal, &format!("\"{}\"", "a".repeat(63)), false).is_err());
    let two_byte = |n: usize| format!("\"{}\"", "é".repeat(n));
    assert!(check(Kind::Signal, &two_byte(31), false).is_ok());
    assert!(check(Kind::Signal, &two_byte(32), false).is_err());
}

#[test]
fn long_messages_go_by_post_unless_told_otherwise() {
    let method = |core: &Arc<Core>, kind: Kind, len: usize, use_post: Option<bool>| {
        let mut op = RequestBuilder::new(core, PublishOp::default())
            .channel("chat")
            .message(&"a".repeat(len - 2));
        op.op.use_post = use_post;
        let request = request(core, op, kind).unwrap();
        assert_eq!(request.body.is_some(), request.method == Method::Post);
        request.method
    };
    let default = client(None);
    let threshold = crate::config::DEFAULT_PUBLISH_POST_THRESHOLD;
    // The JSON's length decides: up to the threshold in the URL, above it in a body.
    assert_eq!(
        method(&default, Kind::Publish, threshold, None),
        Method::Get
    );
    assert_eq!(
        method(&default, Kind::Publish, threshold + 1, None),
        Method::Post
    );
    assert_eq!(
        method(&default, Kind::Fire, threshold + 1, None),
        Method::Post
    );
    // The request's own choice wins, both ways.
    assert_eq!(
        method(&default, Kind::Publish, threshold + 1, Some(false)),
        Method::Get
    );
    assert_eq!(
        method(&default, Kind::Publish, 10, Some(true)),
        Method::Post
    );
    // Signals are only ever sent in the URL.
    assert_eq!(method(&default, Kind::Signal, 60, Some(true)), Method::Get);
    // Without a threshold, only an explicit use_post posts.
    let never = core_with(|b| b.publish_post_threshold(None));
    assert_eq!(method(&never, Kind::Publish, 30_000, None), Method::Get);
    let low = core_with(|b| b.publish_post_threshold(Some(16)));
    assert_eq!(method(&low, Kind::Publish, 17, None), Method::Post);
    assert_eq!(method(&low, Kind::Publish, 16, None), Method::Get);
}

#[test]
fn post_bodies_are_compressed_when_asked_and_never_in_the_url() {
    use std::io::Read as _;
    let request = |core: &Arc<Core>, use_post: Option<bool>, compress: Option<bool>| {
        let mut op = RequestBuilder::new(core, PublishOp::default())
            .channel("chat")
            .message(&serde_json::json!({"text": "z".repeat(4000)}));
        op.op.use_post = use_post;
        op.op.compress = compress;
        request(core, op, Kind::Publish).unwrap()
    };
    let inflate = |body: &[u8]| {
        let mut out = String::new();
        flate2::read::ZlibDecoder::new(body)
            .read_to_string(&mut out)
            .unwrap();
        out
    };
    let plain = client(None);
    let sent = request(&plain, None, Some(true));
    assert_eq!(sent.header("Content-Encoding"), Some("deflate"));
    let body = sent.body.as_deref().unwrap();
    assert!(body.len() < 200, "4 KB of one letter compresses well");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&inflate(body)).unwrap(),
        serde_json::json!({"text": "z".repeat(4000)})
    );
    // Off by default; a URL message is never compressed.
    let sent = request(&plain, None, None);
    assert_eq!(sent.header("Content-Encoding"), None);
    assert!(sent.body.unwrap().starts_with(b"{\"text\""));
    let sent = request(&plain, Some(false), Some(true));
    assert!(sent.body.is_none());
    assert_eq!(sent.header("Content-Encoding"), None);

    // The configuration turns it on; the request's own choice wins.
    let compressing = core_with(|b| b.compress_publish(true));
    assert_eq!(
        request(&compressing, None, None).header("Content-Encoding"),
        Some("deflate")
    );
    assert_eq!(
        request(&compressing, None, Some(false)).header("Content-Encoding"),
        None
    );
}

//! Known vectors from PubNub's SDKs, and every bad input as a typed error.
//!
//! The vectors with the IV 00 01 … 0f were computed with PubNub's Python SDK 10.4.0 (the one
//! `pubnub-local/interop/requirements.txt` pins), its IV generator replaced by that constant:
//! `AesCbcCryptoModule(config).encrypt(text)` and `LegacyCryptoModule(config).encrypt(text)`.
//! The others are the test vectors of PubNub's official Rust crate (`pubnub` 0.6,
//! `src/providers/crypto/`).

use super::*;
use serde_json::json;

/// The IV the vectors were computed with.
const IV: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

fn aes_cbc(key: &str) -> CryptoModule {
    CryptoModule::aes_cbc(key).unwrap().with_fixed_iv(IV)
}

fn legacy(key: &str, random_iv: bool) -> CryptoModule {
    CryptoModule::legacy(key, random_iv)
        .unwrap()
        .with_fixed_iv(IV)
}

/// (cipher key, plaintext, base64 the Python SDK produces).
const AES_CBC_VECTORS: [(&str, &str, &str); 4] = [
    (
        "enigma",
        r#"{"text":"hello"}"#,
        "UE5FRAFBQ1JIEAABAgMEBQYHCAkKCwwNDg9cK9BkvBsegFNCo3VS2iAjDqDNgZH8iyM3uHCE+wHhZg==",
    ),
    (
        "enigma",
        "\"Hello there 🙃\"",
        "UE5FRAFBQ1JIEAABAgMEBQYHCAkKCwwNDg9VYyZzbA/HkERUkV6YzxrZJ0cOswVNgluyjeKFZe1P1Q==",
    ),
    (
        "enigma",
        "\"a\"",
        "UE5FRAFBQ1JIEAABAgMEBQYHCAkKCwwNDg/DUPlhnaaoQMIaE9We+xUN",
    ),
    (
        "my-secret-cipher-key",
        r#"{"text":"hello"}"#,
        "UE5FRAFBQ1JIEAABAgMEBQYHCAkKCwwNDg9D3Cn1DmVsrwlSxzgUfxPBrExGyt/x3Je9TrZwtimUPg==",
    ),
];

/// (cipher key, plaintext, base64 the Python SDK produces) with the legacy cryptor and a random
/// IV (here the fixed one, in front).
const LEGACY_RANDOM_IV_VECTORS: [(&str, &str, &str); 3] = [
    (
        "enigma",
        r#"{"text":"hello"}"#,
        "AAECAwQFBgcICQoLDA0OD3B7YZ1rlwgbTYa9PrCJaTm5yg6tJb0Ch8uM7IGg2Yhp",
    ),
    (
        "enigma",
        "\"a\"",
        "AAECAwQFBgcICQoLDA0OD4i4zNXLRoxWd/DgQw/Uo90=",
    ),
    (
        "my-secret-cipher-key",
        "\"Hello there 🙃\"",
        "AAECAwQFBgcICQoLDA0OD0IztWY9pT4yzxRERv2yav3mmAB5EimXq7Ut8wC/7Vfa",
    ),
];

/// (cipher key, plaintext, base64) with the legacy cryptor and the constant IV. The second is
/// also the official Rust crate's vector.
const LEGACY_CONSTANT_IV_VECTORS: [(&str, &str, &str); 4] = [
    (
        "enigma",
        r#"{"text":"hello"}"#,
        "c6+rzVcGGhwYAlDLScrox9R8HzVl4YEaFROaKhjXrgk=",
    ),
    (
        "enigma",
        "\"Hello there 🙃\"",
        "4K7StI9dRz7utFsDHvuy082CQupbJvdwzrRja47qAV4=",
    ),
    ("enigma", "\"a\"", "mshl+8P1+nvbfQv71T1+FA=="),
    (
        "my-secret-cipher-key",
        "\"Hello there 🙃\"",
        "6NdouaHX12siM1OnJCpMt/liE5Yz/jxsHKZ2T3eJPk4=",
    ),
];

#[test]
fn aes_cbc_vectors() {
    for (key, plain, expected) in AES_CBC_VECTORS {
        let module = aes_cbc(key);
        assert_eq!(module.encrypt_string(plain).unwrap(), expected, "{plain}");
        assert_eq!(module.decrypt_string(expected).unwrap(), plain);
        // A module of the other kind reads it too: it is chosen by the header.
        assert_eq!(legacy(key, true).decrypt_string(expected).unwrap(), plain);
    }
}

#[test]
fn legacy_vectors_with_a_random_iv() {
    for (key, plain, expected) in LEGACY_RANDOM_IV_VECTORS {
        let module = legacy(key, true);
        assert_eq!(module.encrypt_string(plain).unwrap(), expected, "{plain}");
        assert_eq!(module.decrypt_string(expected).unwrap(), plain);
        // No header: an AES-CBC module reads it with its legacy cryptor (random IV by default).
        assert_eq!(aes_cbc(key).decrypt_string(expected).unwrap(), plain);
    }
}

#[test]
fn legacy_vectors_with_the_constant_iv() {
    for (key, plain, expected) in LEGACY_CONSTANT_IV_VECTORS {
        let module = legacy(key, false);
        assert_eq!(module.encrypt_string(plain).unwrap(), expected, "{plain}");
        assert_eq!(module.decrypt_string(expected).unwrap(), plain);
        let reader = aes_cbc(key).legacy_random_iv(false);
        assert_eq!(reader.decrypt_string(expected).unwrap(), plain);
    }
}

#[test]
fn official_rust_crate_vectors_with_random_ivs() {
    let plain = "\"Hello there 🙃\"";
    let module = CryptoModule::aes_cbc("enigma").unwrap();
    for encrypted in [
        "UE5FRAFBQ1JIELzZwCmyT4vQLcjIAf8hSX2/mRRRby+egFPTqmwSKIFcjI1V/ig/y3M1iTlwknrTSw==",
        "UE5FRAFBQ1JIECL8XmJWRSElf8c7ykQfMcnLQVc+Mta7ln3jcF7bHNmCk4nKMoyhPN19oMO5uVPxSA==",
        "fRm/rMArHgQuIuhuJMbXV8JLOUqf5sP72lGC4EaW98nNhmJltQcmCol9XXWgeDJC",
        "gk6glnaeb+8zeEvZR1q3sHyQV7xTo1pNf4cc4uJF+a2bK1fMY816Hc9I6j+gYR+5",
    ] {
        assert_eq!(module.decrypt_string(encrypted).unwrap(), plain);
    }
}

#[test]
fn random_ivs_differ_and_round_trip() {
    for module in [
        CryptoModule::aes_cbc("enigma").unwrap(),
        CryptoModule::legacy("enigma", true).unwrap(),
    ] {
        let a = module.encrypt(b"same text").unwrap();
        let b = module.encrypt(b"same text").unwrap();
        assert_ne!(a, b, "{module:?}");
        assert_eq!(module.decrypt(&a).unwrap(), b"same text");
        assert_eq!(module.decrypt(&b).unwrap(), b"same text");
    }
    // Every length around the block size, bytes that are not UTF-8 included.
    let module = CryptoModule::aes_cbc([0xFFu8, 0, 1]).unwrap();
    for len in 1..=49 {
        let data: Vec<u8> = (0..len).map(|n| (n * 37 % 256) as u8).collect();
        let encrypted = module.encrypt(&data).unwrap();
        assert_eq!(encrypted.len(), 26 + (len / 16 + 1) * 16);
        assert_eq!(module.decrypt(&encrypted).unwrap(), data);
    }
}

#[test]
fn keys_are_derived_as_pubnub_does() {
    let module = CryptoModule::aes_cbc("enigma").unwrap();
    // The legacy key is hex text, the AES-CBC key the raw digest of the same SHA-256.
    assert_eq!(
        &module.inner.legacy_key,
        b"67a4f45f0d1d9bc606486fc42dc49416"
    );
    assert_eq!(
        module.inner.aes_cbc_key[..4],
        [0x67, 0xa4, 0xf4, 0x5f],
        "the digest"
    );
}

#[test]
fn empty_keys_and_data_are_refused() {
    for result in [
        CryptoModule::aes_cbc(""),
        CryptoModule::legacy("", true),
        CryptoModule::legacy(b"", false),
    ] {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
    let module = CryptoModule::aes_cbc("enigma").unwrap();
    assert_eq!(
        module.encrypt(b"").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        module.decrypt(b"").unwrap_err().kind(),
        ErrorKind::Decryption
    );
    assert_eq!(
        module.decrypt_string("").unwrap_err().kind(),
        ErrorKind::Decryption
    );
}

/// Every way data can be bad: a typed decryption error, and no panic.
#[test]
fn bad_input_is_a_decryption_error() {
    let module = aes_cbc("enigma");
    let good = module.encrypt(br#"{"text":"hello"}"#).unwrap();
    let b64 = |data: &[u8]| STANDARD.encode(data);
    let mut unknown_cryptor = good.clone();
    unknown_cryptor[5..9].copy_from_slice(b"XYZW");
    let mut long_iv = Vec::new();
    header::write(&mut long_iv, AES_CBC_ID, &[0; 300]);
    long_iv.extend_from_slice(&[0; 32]);
    let mut flipped_padding = good.clone();
    let last = flipped_padding.len() - 17;
    flipped_padding[last] ^= 0xFF; // the last block's padding decrypts to garbage
    let cases: Vec<(String, &str)> = vec![
        ("not base64!".into(), "not base64"),
        ("UE5FRAFBQ1JIEAABAgMEBQYHCAkKCwwNDg9".into(), "not base64"),
        (b64(b"PNED\x01AC"), "truncated"),
        (b64(b"PNED\x02ACRH\x10"), "unknown crypto header version 2"),
        (b64(&unknown_cryptor), "unknown cryptor \"XYZW\""),
        (b64(&long_iv), "300 bytes where a 16-byte IV"),
        (b64(&good[..good.len() - 1]), "truncated"),
        (b64(&good[..26]), "truncated"),
        (b64(&good[..good.len() - 16]), "padding"),
        (b64(&flipped_padding), "padding"),
        (b64(b"short"), "truncated"),
        (b64(&[0u8; 16]), "truncated"),
        (b64(&[0u8; 48]), "padding"),
    ];
    for (input, why) in cases {
        let error = module.decrypt_string(&input).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decryption, "{input}");
        assert!(error.message().contains(why), "{input}: {error}");
    }
    // The wrong key: the padding check fails (or, rarely, the text is not UTF-8).
    let wrong = CryptoModule::aes_cbc("not enigma").unwrap();
    for n in 0..50 {
        let encrypted = module.encrypt_string(&format!("{{\"n\":{n}}}")).unwrap();
        let error = wrong.decrypt_string(&encrypted).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decryption);
        assert!(error.message().starts_with("wrong cipher key"), "{error}");
    }
}

#[test]
fn received_payloads_are_decrypted_or_refused() {
    let module = aes_cbc("enigma");
    // Encrypted JSON → the JSON it was.
    let sent = module.encrypt_json(r#"{"text":"hello"}"#).unwrap();
    assert_eq!(sent, format!("\"{}\"", AES_CBC_VECTORS[0].2));
    let payload = Payload::from_validated(sent);
    assert_eq!(
        module.decrypt_payload(&payload).unwrap(),
        json!({"text": "hello"})
    );
    // Another SDK's escapes in the JSON string (`\/`) are read as JSON.
    let escaped = format!("\"{}\"", AES_CBC_VECTORS[3].2.replace('/', "\\/"));
    let payload = Payload::from_validated(escaped);
    assert_eq!(
        aes_cbc("my-secret-cipher-key")
            .decrypt_payload(&payload)
            .unwrap(),
        json!({"text": "hello"})
    );
    // Every SDK encrypts JSON: decrypted text that is not JSON is refused, never delivered as
    // a value (the caller delivers the payload as received, with the error).
    let raw = Payload::from(json!(module.encrypt_string("plain words").unwrap()));
    let error = module.decrypt_payload(&raw).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decryption);
    assert!(error.message().contains("not JSON"), "{error}");
    // Anything but a string was not encrypted.
    for (payload, kind) in [
        (json!({"text": "hello"}), "an object"),
        (json!([1]), "an array"),
        (json!(7), "a number"),
        (json!(true), "a boolean"),
        (json!(null), "null"),
    ] {
        let error = module.decrypt_payload(&payload.into()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decryption);
        assert_eq!(
            error.message(),
            format!("not encrypted: the payload is {kind}, not an encrypted string")
        );
    }
}

#[test]
fn the_key_is_never_shown() {
    let module = CryptoModule::aes_cbc("super-secret-key").unwrap();
    let debug = format!("{module:?}");
    assert_eq!(
        debug,
        r#"CryptoModule { encrypts_with: "AES-CBC (ACRH)", legacy_random_iv: true, .. }"#
    );
    let wrong = CryptoModule::aes_cbc("another-secret").unwrap();
    let error = wrong
        .decrypt_string(&module.encrypt_string("\"x\"").unwrap())
        .unwrap_err();
    let text = format!("{error} {error:?}");
    let derived = String::from_utf8_lossy(&module.inner.legacy_key[..8]).into_owned();
    for secret in ["super-secret-key", "another-secret", &derived] {
        assert!(
            !text.contains(secret) && !debug.contains(secret),
            "{secret}"
        );
    }
}

/// A message of the legacy cryptor written in the other IV mode decrypts, padding and all, to
/// the message without its first 16 bytes (or to nothing): the module tries the other mode
/// and delivers what parses as JSON, never the wrong value.
#[test]
fn a_legacy_message_in_the_other_iv_mode_is_read_right_or_refused() {
    let messages = [
        json!("Hello, PubNub!"),
        json!({"text": "a longer message, more than one block of sixteen bytes"}),
        json!(7),
    ];
    for (writer_random, reader_random) in [(false, true), (true, false)] {
        let writer = CryptoModule::legacy("enigma", writer_random).unwrap();
        let reader = CryptoModule::legacy("enigma", reader_random).unwrap();
        for message in &messages {
            let sent = Payload::from_validated(writer.encrypt_json(&message.to_string()).unwrap());
            assert_eq!(
                reader.decrypt_payload(&sent).unwrap(),
                *message,
                "written with random IV {writer_random}, read with {reader_random}"
            );
        }
    }
    // The AES-CBC cryptor reads legacy data of either mode the same way.
    let constant = CryptoModule::legacy("enigma", false).unwrap();
    let sent = Payload::from_validated(constant.encrypt_json(r#""Hello, PubNub!""#).unwrap());
    let reader = CryptoModule::aes_cbc("enigma").unwrap();
    assert_eq!(
        reader.decrypt_payload(&sent).unwrap(),
        json!("Hello, PubNub!")
    );
    // Neither mode gives JSON: a wrong key is refused, not delivered as garbage or "".
    let other_key = CryptoModule::legacy("another key", true).unwrap();
    let error = other_key.decrypt_payload(&sent).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decryption);
}

/// A file encrypted in place is what `encrypt` gives for it, and decrypts in place, with every
/// cryptor.
#[test]
fn files_encrypt_and_decrypt_in_place() {
    for len in [1, 15, 16, 17, 4096, 100_000] {
        let file: Vec<u8> = (0..len).map(|n| (n % 251) as u8).collect();
        for module in [
            aes_cbc("enigma"),
            legacy("enigma", true),
            legacy("enigma", false),
        ] {
            let mut data = file.clone();
            module.encrypt_in_place(&mut data).unwrap();
            assert_eq!(data, module.encrypt(&file).unwrap(), "{len} bytes");
            module.decrypt_in_place(&mut data).unwrap();
            assert_eq!(data, file);
        }
    }
    // Empty files are refused; damaged ones are decryption errors.
    let module = aes_cbc("enigma");
    assert_eq!(
        module.encrypt_in_place(&mut Vec::new()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let mut data = module.encrypt(b"Knights who say Ni!").unwrap();
    data.pop();
    assert_eq!(
        module.decrypt_in_place(&mut data).unwrap_err().kind(),
        ErrorKind::Decryption
    );
    // The legacy vector recorded by PubNub's Python SDK for a file (key `silly_walk`, IV in
    // front): "Knights who say Ni!".
    let recorded = STANDARD
        .decode("Nzc2NTIzNzY5ODI4MTk3Nsu+EXSwNJF0JSrIvXVBG0iEUsP0SKsej9Ust2kyLfEA")
        .unwrap();
    let mut data = recorded.clone();
    CryptoModule::legacy("silly_walk", true)
        .unwrap()
        .decrypt_in_place(&mut data)
        .unwrap();
    assert_eq!(data, b"Knights who say Ni!");
    let mut data = recorded;
    CryptoModule::aes_cbc("silly_walk")
        .unwrap()
        .decrypt_in_place(&mut data)
        .unwrap();
    assert_eq!(data, b"Knights who say Ni!");
}

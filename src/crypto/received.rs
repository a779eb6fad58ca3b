//! Received updates, decrypted: the subscribe effect's one call into the crypto module, so that
//! every listener sees the decrypted message (or the raw one and why) and the machine never
//! sees the difference.

use super::CryptoModule;
use crate::subscribe::envelope::{Envelope, EnvelopeKind};
use crate::subscribe::events::Update;

/// Decodes an envelope as a client with `crypto` does: a message's payload is decrypted (or
/// delivered as received, with the reason in [`Message::error`](crate::Message::error)), and
/// so is a file event's when it is an encrypted string. Signals, message actions, presence and
/// App Context events are never encrypted, so they are decoded as they are.
pub(crate) fn decode(envelope: &Envelope, crypto: Option<&CryptoModule>) -> Update {
    let Some(crypto) = crypto else {
        return Update::from_envelope(envelope);
    };
    match envelope.kind {
        EnvelopeKind::Message => {
            let mut update = Update::from_envelope(envelope);
            if let Update::Message(message) = &mut update {
                match crypto.decrypt_payload(&message.message) {
                    Ok(payload) => message.message = payload,
                    Err(error) => {
                        tracing::warn!(
                            channel = %message.channel,
                            timetoken = message.timetoken,
                            "a message could not be decrypted: {}",
                            error.message()
                        );
                        message.error = Some(error.reason());
                    }
                }
            }
            update
        }
        // PubNub's SDKs encrypt a file event's whole payload, `{"message":…,"file":…}`.
        EnvelopeKind::File if envelope.payload.json().starts_with('"') => {
            match crypto.decrypt_payload(&envelope.payload) {
                Ok(payload) => Update::from_envelope(&Envelope {
                    payload,
                    ..envelope.clone()
                }),
                Err(error) => Update::from_envelope(&Envelope {
                    kind: EnvelopeKind::Undecodable,
                    error: Some(format!("file event: {error}")),
                    ..envelope.clone()
                }),
            }
        }
        _ => Update::from_envelope(envelope),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Cursor;
    use crate::error::ErrorKind;
    use serde_json::{json, Value};

    fn envelope(kind: EnvelopeKind, payload: Value) -> Envelope {
        Envelope {
            kind,
            channel: "c".into(),
            subscription: "c".into(),
            published: Cursor::new(17000000000000001, 1),
            publisher: Some("u1".into()),
            payload: payload.into(),
            meta: None,
            custom_message_type: None,
            seqn: Some(7),
            error: None,
            recovered: false,
        }
    }

    #[test]
    fn a_crypto_module_decrypts_messages_and_flags_what_it_cannot() {
        let crypto = CryptoModule::aes_cbc("enigma").unwrap();
        let encrypted = |json: &str| Value::String(crypto.encrypt_string(json).unwrap());
        let message = |payload: Value| {
            let e = envelope(EnvelopeKind::Message, payload);
            let Update::Message(m) = decode(&e, Some(&crypto)) else {
                panic!("not a message")
            };
            m
        };
        let m = message(encrypted(r#"{"text":"hi"}"#));
        assert_eq!((m.message, m.error), (json!({"text": "hi"}).into(), None));
        let wrong_key = CryptoModule::aes_cbc("other").unwrap();
        for (payload, why) in [
            (json!({"text": "plain"}), "not encrypted"),
            (json!("plain text"), "not base64"),
            (
                json!("UE5FRAFYWVpXAAAAAAAAAAAAAAAAAAAAAAA="),
                "unknown cryptor",
            ),
            (json!("UE5FRAFBQ1JIEAAA"), "truncated"),
            (
                Value::String(wrong_key.encrypt_string("1").unwrap()),
                "wrong cipher key",
            ),
        ] {
            let m = message(payload.clone());
            let error = m.error.expect("flagged");
            assert_eq!(error.kind, ErrorKind::Decryption);
            assert!(error.message.contains(why), "{payload}: {error}");
            // Delivered as received, with everything else.
            assert_eq!(m.message, payload);
            assert_eq!((m.channel.as_str(), m.seqn), ("c", Some(7)));
        }
        // Signals and message actions are never encrypted: decoded as they are, never flagged.
        let signal = envelope(EnvelopeKind::Signal, json!("typing"));
        assert_eq!(
            decode(&signal, Some(&crypto)),
            Update::from_envelope(&signal)
        );
        let action = envelope(
            EnvelopeKind::MessageAction,
            json!({"event":"added","data":{"messageTimetoken":"1","actionTimetoken":"2",
                   "type":"reaction","value":"x"}}),
        );
        assert!(matches!(
            decode(&action, Some(&crypto)),
            Update::MessageAction(_)
        ));
        // Without a module nothing is decrypted.
        let e = envelope(EnvelopeKind::Message, encrypted("1"));
        let Update::Message(m) = decode(&e, None) else {
            panic!("not a message")
        };
        assert_eq!((m.message, m.error), (e.payload, None));
    }

    #[test]
    fn encrypted_file_events_are_decrypted() {
        let crypto = CryptoModule::aes_cbc("enigma").unwrap();
        let file = r#"{"message":"hi","file":{"id":"5a3e","name":"x.jpg"}}"#;
        let e = envelope(
            EnvelopeKind::File,
            json!(crypto.encrypt_string(file).unwrap()),
        );
        let Update::File(f) = decode(&e, Some(&crypto)) else {
            panic!("not decrypted")
        };
        assert_eq!(
            (f.file_name.as_str(), f.message),
            ("x.jpg", Some(json!("hi")))
        );
        // One that cannot be decrypted is an undecodable event that says why.
        let wrong = CryptoModule::aes_cbc("other").unwrap();
        let Update::Undecodable(u) = decode(&e, Some(&wrong)) else {
            panic!("decoded")
        };
        assert!(
            u.reason.starts_with("file event: decryption failed"),
            "{}",
            u.reason
        );
        assert_eq!(u.raw, e.payload.json());
        // A plain file event is read as it is.
        let plain = envelope(EnvelopeKind::File, serde_json::from_str(file).unwrap());
        assert!(matches!(decode(&plain, Some(&crypto)), Update::File(_)));
    }
}

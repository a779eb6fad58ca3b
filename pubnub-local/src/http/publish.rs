//! Publish (GET and POST, `/v2/publish`), fire, signal, and File Sharing's publish-file
//! (`/v1/files/publish-file`, the same GET form and answers, delivered as `e: 4`).

use std::io::Read;

use axum::body::Bytes;
use serde_json::Value;

use super::response::Reply;
use super::routes::{percent_decode_bytes, percent_decode_cow, Query, Route};
use super::App;
use crate::hub::{EventKind, Publish};

/// Publish size limit: channel plus escaped message (PROTOCOL.md §2.6).
pub(crate) const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// `/v2/publish` size limit.
pub(crate) const MAX_V2_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

/// Signal payload limit, on the JSON text's UTF-8 bytes.
pub(crate) const MAX_SIGNAL_BYTES: usize = 64;

pub(super) fn handle(app: &App, route: &Route<'_>, query: &Query<'_>, body: &Bytes) -> Reply {
    let (pub_key, sub_key, channel_raw, message_raw, kind, limit) = match *route {
        Route::Publish {
            pub_key,
            sub_key,
            channel,
            message,
            v2,
        } => {
            let limit = if v2 {
                MAX_V2_MESSAGE_BYTES
            } else {
                MAX_MESSAGE_BYTES
            };
            (
                pub_key,
                sub_key,
                channel,
                message,
                EventKind::Message,
                limit,
            )
        }
        Route::Signal {
            pub_key,
            sub_key,
            channel,
            message,
        } => (
            pub_key,
            sub_key,
            channel,
            Some(message),
            EventKind::Signal,
            MAX_MESSAGE_BYTES,
        ),
        // The message segment is JSON, or a ciphertext as a JSON string: published as it is.
        Route::PublishFile {
            pub_key,
            sub_key,
            channel,
            message,
        } => (
            pub_key,
            sub_key,
            channel,
            Some(message),
            EventKind::File,
            MAX_MESSAGE_BYTES,
        ),
        _ => return Reply::not_found("/publish"),
    };
    let hub = &app.hub;
    let fail = |message: &str| Reply::publish_error(message, hub.now());

    let (Ok(pub_key), Ok(sub_key)) = (percent_decode_cow(pub_key), percent_decode_cow(sub_key))
    else {
        return fail("Invalid Key");
    };
    if !app.key_allowed(&sub_key) {
        return Reply::invalid_sub_key();
    }
    if !app.key_allowed(&pub_key) {
        return fail("Invalid Key");
    }
    let Ok(channel) = percent_decode_cow(channel_raw) else {
        return fail("Invalid Channel");
    };

    // The size rule of PROTOCOL.md §2.6: escaped channel plus the message as received.
    let text = match message_raw {
        Some(segment) => {
            if channel_raw.len() + segment.len() > limit {
                return fail("Message Too Large");
            }
            percent_decode_bytes(segment)
        }
        None => match inflate(body, limit) {
            Some(bytes) if channel_raw.len() + bytes.len() > limit => {
                return fail("Message Too Large")
            }
            Some(bytes) => bytes,
            None => return fail("Message Too Large"),
        },
    };
    if kind == EventKind::Signal && text.len() > MAX_SIGNAL_BYTES {
        return fail("Signal size too large");
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&text) else {
        return fail("Invalid JSON");
    };
    let meta = match query.json("meta") {
        None | Some(Ok(Value::Null)) => None,
        Some(Ok(meta)) => Some(meta),
        Some(Err(())) => return fail("Invalid JSON"),
    };
    // Fire is `store=0` with `norep=true|1`: accepted, never delivered (PROTOCOL.md §3). A
    // file message is always delivered: PubNub's Python SDK sends `store=0` unless asked to
    // store, and `norep` with it when asked not to replicate.
    let fire = kind == EventKind::Message && query.get("store") == Some("0") && query.flag("norep");
    let publish = Publish {
        channel: channel.into_owned(),
        payload,
        kind,
        publisher: query.get("uuid").map(str::to_string),
        meta,
        seqn: query.get("seqn").and_then(|s| s.parse().ok()),
        custom_message_type: query
            .get("custom_message_type")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        deliver: !fire,
        // `store=0` keeps it out of history (PROTOCOL.md §18.1); `ttl` is in hours.
        store: query.get("store") != Some("0"),
        ttl_hours: query.get("ttl").and_then(|s| s.trim().parse().ok()),
    };
    match hub.publish(&sub_key, publish) {
        Ok(tt) => Reply::sent(tt),
        Err(_) => fail("Invalid Channel"),
    }
}

/// The body, inflated by its magic bytes whatever `Content-Encoding` says (PROTOCOL.md §2.2).
/// `None` when it inflates past `limit` (a zip bomb is just a message that is too large).
fn inflate(body: &[u8], limit: usize) -> Option<Vec<u8>> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX) + 1;
    let mut out = Vec::new();
    let result = match body {
        [0x1f, 0x8b, ..] => flate2::read::GzDecoder::new(body)
            .take(cap)
            .read_to_end(&mut out),
        // zlib: CMF 0x78 and a header checksum that is a multiple of 31.
        [0x78, flg, ..] if (0x7800u16 | u16::from(*flg)).is_multiple_of(31) => {
            flate2::read::ZlibDecoder::new(body)
                .take(cap)
                .read_to_end(&mut out)
        }
        _ => return Some(body.to_vec()),
    };
    match result {
        Ok(_) if out.len() > limit => None,
        Ok(_) => Some(out),
        // Not really compressed after all: take the bytes as they came.
        Err(_) => Some(body.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_by_magic_bytes() {
        assert_eq!(inflate(&zlib(b"\"hi\""), 100).unwrap(), b"\"hi\"");
        assert_eq!(inflate(&gzip(b"{\"a\":1}"), 100).unwrap(), b"{\"a\":1}");
        assert_eq!(inflate(b"{\"a\":1}", 100).unwrap(), b"{\"a\":1}");
        // `x` followed by a byte that fails the zlib checksum is plain text.
        assert_eq!(inflate(b"xyz", 100).unwrap(), b"xyz");
    }

    #[test]
    fn refuses_bombs() {
        let bomb = zlib(&vec![b' '; 1_000_000]);
        assert_eq!(inflate(&bomb, 1000), None);
    }
}

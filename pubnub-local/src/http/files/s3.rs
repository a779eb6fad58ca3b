//! S3's side of the wire: its XML error bodies, and reading an upload body as S3 does — whole
//! up to the form's limit, and a larger one to its end (bounded), so that the client reads the
//! `EntityTooLarge` answer rather than a connection closed under its feet.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::BytesMut;
use http_body_util::BodyExt;

use super::form::random_u64;
use crate::http::response::Reply;
use crate::hub::MAX_FILE_BYTES;

/// Largest upload body kept: the 5 MiB file plus room for the form around it. A larger one is
/// read to its end (up to [`MAX_DRAIN`]) and answered `EntityTooLarge`.
const MAX_UPLOAD_BODY: usize = 5 * 1024 * 1024 + 64 * 1024;

/// Most bytes read of a body too large to keep, so that the client gets its answer rather than
/// a connection closed under its feet; past this the answer goes out (and the connection
/// closes) at once.
const MAX_DRAIN: u64 = 64 * 1024 * 1024;

/// How an upload body was read.
pub(crate) enum UploadBody {
    Complete(Bytes),
    /// Longer than [`MAX_UPLOAD_BODY`]: this many bytes were seen (or announced).
    TooLarge(u64),
    /// The client went away or the body could not be read.
    Failed,
}

/// Reads an upload body, keeping at most [`MAX_UPLOAD_BODY`] bytes.
pub(crate) async fn read_upload(mut body: Body, content_length: Option<u64>) -> UploadBody {
    if let Some(announced) = content_length.filter(|n| *n > MAX_DRAIN) {
        return UploadBody::TooLarge(announced);
    }
    let mut kept = BytesMut::new();
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return if seen > MAX_UPLOAD_BODY as u64 {
                UploadBody::TooLarge(seen)
            } else {
                UploadBody::Failed
            };
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if seen <= MAX_UPLOAD_BODY as u64 {
            kept.extend_from_slice(&data);
        } else if seen > MAX_DRAIN {
            return UploadBody::TooLarge(seen);
        }
    }
    if seen > MAX_UPLOAD_BODY as u64 {
        UploadBody::TooLarge(seen)
    } else {
        UploadBody::Complete(kept.freeze())
    }
}

/// S3's answer to an upload over the policy's `content-length-range`.
pub(crate) fn entity_too_large(proposed: u64) -> Reply {
    s3_error(
        StatusCode::BAD_REQUEST,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        &[
            ("ProposedSize", &proposed.to_string()),
            ("MaxSizeAllowed", &MAX_FILE_BYTES.to_string()),
        ],
    )
}

/// S3's answer to a body that is not multipart/form-data.
pub(crate) fn malformed() -> Reply {
    s3_error(
        StatusCode::BAD_REQUEST,
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed multipart/form-data.",
        &[],
    )
}

pub(crate) fn access_denied(why: &str) -> Reply {
    s3_error(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        &format!("Invalid according to Policy: {why}"),
        &[],
    )
}

/// An injected fault's status, as S3 would word it.
pub(crate) fn fault_error(status: StatusCode) -> Reply {
    let code = match status.as_u16() {
        503 => "SlowDown",
        500 => "InternalError",
        403 => "AccessDenied",
        404 => "NoSuchKey",
        _ => "InvalidRequest",
    };
    s3_error(
        status,
        code,
        status.canonical_reason().unwrap_or("Injected fault"),
        &[],
    )
}

/// `<?xml …?>\n<Error><Code>…</Code><Message>…</Message>…<RequestId>…</RequestId><HostId>…`,
/// S3's error body (recordings).
pub(crate) fn s3_error(
    status: StatusCode,
    code: &str,
    message: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>",
        escape(code),
        escape(message)
    );
    for (name, value) in extra {
        xml.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    const ALNUM: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let request_id: String = (0..16)
        .map(|_| char::from(ALNUM[(random_u64() % 36) as usize]))
        .collect();
    let host_id = STANDARD.encode(
        (0..7)
            .flat_map(|_| random_u64().to_be_bytes())
            .collect::<Vec<u8>>(),
    );
    xml.push_str(&format!(
        "<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
    ));
    let mut reply = Reply::new(status, xml.into_bytes(), "application/xml");
    reply.raw = true;
    reply
}

/// Text-node escaping: quotes stay raw, as in S3's messages (`named 'key'`, `["eq", …]`).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_s3s_xml() {
        let reply = entity_too_large(5_244_681);
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        let text = String::from_utf8(reply.body).unwrap();
        assert!(text.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>EntityTooLarge</Code>\
             <Message>Your proposed upload exceeds the maximum allowed size</Message>\
             <ProposedSize>5244681</ProposedSize><MaxSizeAllowed>5242880</MaxSizeAllowed>\
             <RequestId>"
        ));
        assert!(text.ends_with("</HostId></Error>"));
        let denied = String::from_utf8(access_denied("a <b> & \"c\"").body).unwrap();
        assert!(denied
            .contains("<Message>Invalid according to Policy: a &lt;b&gt; &amp; \"c\"</Message>"));
    }
}

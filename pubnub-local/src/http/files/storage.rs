//! The storage step of File Sharing: the stand-in for the S3 bucket the service's upload forms
//! point at. `POST /__files/upload` takes the form as S3 takes a POST-policy upload and
//! answers `204`; `GET /__files/download/{key}` answers the bytes with their content type.
//! Errors are S3's XML bodies.
//!
//! A form is checked against the one this server issued, found by its signature: unknown
//! signature or another policy → `SignatureDoesNotMatch`; past its expiry → `AccessDenied`
//! "Policy expired."; a field another than issued, or one not issued → `AccessDenied`;
//! a file over 5 MiB → `EntityTooLarge`. As on S3, fields after the file are ignored, so a
//! required field sent after it is missing ("please check the order of the fields").
//!
//! Bytes are kept in memory, or in a directory (`--files-dir`) under a hash of their key, so a
//! file name never becomes a path.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};

use super::form::{random_u64, Form, Signer, FIELD_ORDER};
use super::multipart::{self, Part};
use super::s3::{access_denied, entity_too_large, malformed, s3_error};
use crate::http::response::Reply;
use crate::hub::{Hub, NewFile, Timetoken, MAX_FILE_BYTES};

/// How long a form stays known after it expired, so that a late upload is told "expired".
const EXPIRED_FORM_MEMORY: Duration = Duration::from_secs(3600);

/// The content type of a stored object whose form said none (S3's default).
const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// A form issued for one file.
#[derive(Debug, Clone)]
struct Ticket {
    sub_key: String,
    channel: String,
    id: String,
    name: String,
    form: Form,
}

#[derive(Debug, Clone)]
enum Blob {
    Memory(Bytes),
    Disk(PathBuf),
}

/// Issued forms and stored bytes.
#[derive(Debug)]
pub(crate) struct Storage {
    signer: Signer,
    /// By signature.
    tickets: Mutex<HashMap<String, Ticket>>,
    /// By object key.
    blobs: Mutex<HashMap<String, Blob>>,
    dir: Option<PathBuf>,
}

/// The parts of an issued form's file that storage needs.
pub(crate) struct Issue<'a> {
    pub(crate) sub_key: &'a str,
    pub(crate) channel: &'a str,
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) key: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) retention_days: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Storage {
    /// Bytes in memory, or under `dir`.
    pub(crate) fn new(dir: Option<PathBuf>) -> Storage {
        Storage {
            signer: Signer::random(),
            tickets: Mutex::default(),
            blobs: Mutex::default(),
            dir,
        }
    }

    /// Issues (and remembers) the form for one upload.
    pub(crate) fn issue(&self, issue: &Issue<'_>, now: Timetoken) -> Form {
        let form = self
            .signer
            .form(issue.key, issue.content_type, issue.retention_days, now);
        let signature = form
            .field("X-Amz-Signature")
            .unwrap_or_default()
            .to_string();
        let mut tickets = lock(&self.tickets);
        tickets.retain(|_, t| now < t.form.expires.after(EXPIRED_FORM_MEMORY));
        tickets.insert(
            signature,
            Ticket {
                sub_key: issue.sub_key.to_string(),
                channel: issue.channel.to_string(),
                id: issue.id.to_string(),
                name: issue.name.to_string(),
                form: form.clone(),
            },
        );
        form
    }

    /// Drops the bytes of files the hub no longer has (expired).
    pub(crate) async fn forget_expired(&self, hub: &Hub) {
        for file in hub.expire_files() {
            self.remove(&file.key).await;
        }
    }

    /// Drops an object's bytes.
    pub(crate) async fn remove(&self, key: &str) {
        let removed = lock(&self.blobs).remove(key);
        if let Some(Blob::Disk(path)) = removed {
            let _ = tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await;
        }
    }

    /// `POST /__files/upload`: `Location` is where the object can be downloaded.
    pub(crate) async fn upload(
        &self,
        hub: &Hub,
        content_type: Option<&str>,
        body: &Bytes,
        download_base: &str,
    ) -> Reply {
        let Some(boundary) = content_type.and_then(multipart::boundary) else {
            return s3_error(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                &[(
                    "Condition",
                    "Bucket POST must be of the enclosure-type multipart/form-data",
                )],
            );
        };
        let parts = match multipart::parse(body, &boundary) {
            Ok(parts) => parts,
            Err(why) => {
                tracing::debug!(%why, "malformed upload");
                return malformed();
            }
        };
        let checked = match self.check(&parts, hub.now()) {
            Ok(checked) => checked,
            Err(reply) => return *reply,
        };
        let Checked { ticket, file } = checked;
        let size = file.data.len() as u64;
        if size > MAX_FILE_BYTES {
            return entity_too_large(size);
        }
        let content_type = field(&parts, "Content-Type")
            .map(|p| p.text())
            .filter(|t| !t.is_empty() && HeaderValue::from_str(t).is_ok())
            .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string());
        let key = ticket.form.field("key").unwrap_or_default().to_string();
        // Copied out of the request buffer, so the buffer (and its form) is not kept alive.
        let data = Bytes::copy_from_slice(file.data);
        if let Err(e) = self.store(&key, data).await {
            tracing::error!(error = %e, "cannot store an uploaded file");
            return s3_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
                &[],
            );
        }
        let new = NewFile {
            channel: ticket.channel,
            id: ticket.id,
            name: ticket.name,
            size,
            content_type,
        };
        if let Err(e) = hub.add_file(&ticket.sub_key, new) {
            // The channel was checked when the form was issued; keep no orphan bytes.
            tracing::error!(error = %e, "an issued form names an invalid channel");
            self.remove(&key).await;
            return malformed();
        }
        let mut reply = Reply::new(StatusCode::NO_CONTENT, Vec::new(), "application/xml");
        if let Ok(location) = HeaderValue::from_str(&format!("{download_base}{}", encode_key(&key)))
        {
            reply = reply.with_header(header::LOCATION, location);
        }
        reply
    }

    /// Finds the form's ticket and checks the form against it, as S3 checks a POST policy.
    fn check<'p, 'a>(
        &self,
        parts: &'p [Part<'a>],
        now: Timetoken,
    ) -> Result<Checked<'p, 'a>, Box<Reply>> {
        // S3 ignores what follows the file.
        let Some(at) = parts.iter().position(|p| p.name == "file") else {
            return Err(Box::new(s3_error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "POST requires exactly one file upload per request.",
                &[("ArgumentName", "file"), ("ArgumentValue", "0")],
            )));
        };
        let (fields, file) = (&parts[..at], &parts[at]);
        for required in [
            "key",
            "Policy",
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Signature",
        ] {
            if field(fields, required).is_none() {
                let message = format!(
                    "Bucket POST must contain a field named '{required}'.  If it is specified, \
                     please check the order of the fields."
                );
                return Err(Box::new(s3_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidArgument",
                    &message,
                    &[("ArgumentName", required), ("ArgumentValue", "")],
                )));
            }
        }
        let text = |name: &str| field(fields, name).map(Part::text).unwrap_or_default();
        let ticket = lock(&self.tickets)
            .get(&text("X-Amz-Signature"))
            .filter(|t| t.form.field("Policy") == Some(text("Policy").as_str()))
            .cloned();
        let Some(ticket) = ticket else {
            return Err(Box::new(s3_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you \
                 provided. Check your key and signing method.",
                &[],
            )));
        };
        if now >= ticket.form.expires {
            return Err(Box::new(access_denied("Policy expired.")));
        }
        // Every field must be one the policy names (S3 exempts the policy, the signature,
        // the file and `x-ignore-` fields).
        if let Some(extra) = fields.iter().find(|p| {
            !FIELD_ORDER.iter().any(|n| n.eq_ignore_ascii_case(&p.name))
                && !p.name.to_ascii_lowercase().starts_with("x-ignore-")
        }) {
            return Err(Box::new(access_denied(&format!(
                "Extra input fields: {}",
                extra.name
            ))));
        }
        // `Content-Type` may be anything (`starts-with ""`); the rest must be as issued.
        for (name, issued) in &ticket.form.fields {
            if matches!(*name, "Policy" | "X-Amz-Signature" | "Content-Type") {
                continue;
            }
            if field(fields, name).map(Part::text).as_deref() != Some(issued.as_str()) {
                let issued = serde_json::Value::from(issued.as_str());
                return Err(Box::new(access_denied(&format!(
                    "Policy Condition failed: [\"eq\", \"${}\", {issued}]",
                    name.to_ascii_lowercase()
                ))));
            }
        }
        Ok(Checked { ticket, file })
    }

    async fn store(&self, key: &str, data: Bytes) -> std::io::Result<()> {
        let blob = match &self.dir {
            None => Blob::Memory(data),
            Some(dir) => {
                let dir = dir.clone();
                let name: String = Sha256::digest(key.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let path = dir.join(&name);
                let target = path.clone();
                // Written aside then renamed, so a download never reads half a file.
                tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    let partial = dir.join(format!("{name}.{:016x}.part", random_u64()));
                    std::fs::write(&partial, &data)?;
                    std::fs::rename(&partial, &target)
                })
                .await
                .map_err(std::io::Error::other)??;
                Blob::Disk(path)
            }
        };
        lock(&self.blobs).insert(key.to_string(), blob);
        Ok(())
    }

    /// `GET /__files/download/{key}`: the bytes, with the content type given at upload.
    pub(crate) async fn download(&self, hub: &Hub, raw_key: &str) -> Reply {
        let key = decode_key(raw_key);
        let found = key.as_deref().and_then(|key| {
            let file = hub.file_by_key(key)?;
            let blob = lock(&self.blobs).get(key).cloned()?;
            Some((file, blob))
        });
        let Some((file, blob)) = found else {
            let key = key.unwrap_or_else(|| raw_key.to_string());
            return s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
                &[("Key", &key)],
            );
        };
        let data = match blob {
            Blob::Memory(bytes) => Ok(bytes.to_vec()),
            Blob::Disk(path) => tokio::task::spawn_blocking(move || std::fs::read(path))
                .await
                .map_err(std::io::Error::other)
                .and_then(|read| read),
        };
        let Ok(data) = data else {
            return s3_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
                &[],
            );
        };
        let content_type = HeaderValue::from_str(&file.content_type)
            .unwrap_or(HeaderValue::from_static(DEFAULT_CONTENT_TYPE));
        let mut reply = Reply::new(StatusCode::OK, data, "application/octet-stream")
            .with_header(header::CONTENT_TYPE, content_type);
        reply.raw = true;
        reply
    }
}

/// A form that passed its checks.
struct Checked<'p, 'a> {
    ticket: Ticket,
    file: &'p Part<'a>,
}

/// The first of `parts` with this name (S3 compares names without case).
fn field<'p, 'a>(parts: &'p [Part<'a>], name: &str) -> Option<&'p Part<'a>> {
    parts.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// An object key as a URL path: sub key, channel hash, id and name each percent-encoded (a
/// `/` in a name included).
pub(crate) fn encode_key(key: &str) -> String {
    key.splitn(4, '/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// The inverse of [`encode_key`].
fn decode_key(raw: &str) -> Option<String> {
    raw.split('/')
        .map(|s| crate::http::routes::percent_decode(s).ok())
        .collect::<Option<Vec<_>>>()
        .map(|segments| segments.join("/"))
}

/// Percent-encodes all but RFC 3986's unreserved characters.
pub(crate) fn encode_segment(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_urls() {
        let key = "sub/h-_/5ada/a b/c\"d%.txt";
        let encoded = encode_key(key);
        assert_eq!(encoded, "sub/h-_/5ada/a%20b%2Fc%22d%25.txt");
        assert_eq!(decode_key(&encoded).as_deref(), Some(key));
        assert_eq!(decode_key("a/%FF"), None);
    }
}

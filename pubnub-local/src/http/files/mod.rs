//! File Sharing: the Files service's REST calls and the storage behind them, in the shapes of
//! the service's recorded answers (PubNub's Python SDK cassettes) and S3's.
//!
//! ```text
//! POST   /v1/files/{sub}/channels/{ch}/generate-upload-url  {"name":…}  → 200 upload form
//! POST   /__files/upload          the form, multipart, file last          → 204 (storage.rs)
//! GET    /v1/files/publish-file/{pub}/{sub}/0/{ch}/0/{msg}               → [1,"Sent",tt] (publish.rs)
//! GET    /v1/files/{sub}/channels/{ch}/files/{id}/{name}                 → 307 to the download
//! GET    /__files/download/{sub}/{channel hash}/{id}/{name}              → 200 the bytes
//! GET    /v1/files/{sub}/channels/{ch}/files?limit=&next=                → 200 a page of files
//! DELETE /v1/files/{sub}/channels/{ch}/files/{id}/{name}                 → 200 {"status":200}
//! ```
//!
//! The upload form and redirects point at this server by the request's `Host`, so they work on
//! whatever address it listens on. Like the service, the file URL answers `307` without
//! looking the file up; the download answers S3's `NoSuchKey` for a file that is not there.
//! Answers are compact JSON with Go's HTML escaping (`<` as `\u003c`), as the service's are.
//!
//! Errors of these calls: `{"status":400,"error":{"message":…,"source":"Files","code":3001}}`,
//! the shape of the service's (the Swift SDK's mocks); the wording and the code for anything
//! but an invalid channel are this server's.

mod form;
mod multipart;
mod s3;
mod storage;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;

pub(crate) use form::random_u64;
pub(crate) use s3::{entity_too_large, fault_error, malformed, read_upload, UploadBody};
pub(crate) use storage::{encode_segment, Storage};

use super::response::{Reply, JSON};
use super::routes::{
    percent_decode, percent_decode_cow, Query, Route, DOWNLOAD_PREFIX, UPLOAD_PATH,
};
use super::App;
use crate::hub::{object_key, validate_plain, MAX_FILES_LIMIT};
use form::{content_type_for, iso_seconds, uuid_v4};
use storage::{encode_key, Issue};

/// S3's longest object key, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// The code of the service's 400 for a bad parameter (Swift mock: an invalid channel).
const INVALID_PARAMETER: u16 = 3001;

pub(super) async fn handle(
    app: &App,
    route: &Route<'_>,
    query: &Query<'_>,
    body: &Bytes,
    headers: &HeaderMap,
) -> Reply {
    app.files.forget_expired(&app.hub).await;
    let origin = origin(headers);
    let result = match *route {
        Route::GenerateUploadUrl { sub_key, channel } => {
            generate(app, sub_key, channel, body, &origin)
        }
        Route::ListFiles { sub_key, channel } => list(app, sub_key, channel, query),
        Route::File {
            sub_key,
            channel,
            id,
            name,
            delete: false,
        } => redirect(app, sub_key, channel, id, name, &origin),
        Route::File {
            sub_key,
            channel,
            id,
            name,
            delete: true,
        } => delete(app, sub_key, channel, id, name).await,
        Route::StorageUpload => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let base = format!("{origin}{DOWNLOAD_PREFIX}");
            Ok(app.files.upload(&app.hub, content_type, body, &base).await)
        }
        Route::StorageDownload { key } => Ok(app.files.download(&app.hub, key).await),
        _ => return Reply::not_found("/v1/files"),
    };
    result.unwrap_or_else(|reply| reply)
}

/// `http://` and the request's `Host`: where this server was reached. A missing or odd host
/// (anything but a name, an address and a port) falls back to `localhost`.
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

#[derive(Serialize)]
struct FilesError<'a> {
    status: u16,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    source: &'static str,
    code: u16,
}

/// The Files service's error body.
fn files_error(status: StatusCode, message: &str) -> Reply {
    go_json(
        status,
        &FilesError {
            status: status.as_u16(),
            error: ErrorBody {
                message,
                source: "Files",
                code: INVALID_PARAMETER,
            },
        },
    )
}

fn invalid(message: &str) -> Reply {
    files_error(StatusCode::BAD_REQUEST, message)
}

/// Compact JSON as Go's encoder writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped (they
/// only ever occur inside strings, where the escapes mean the same).
fn go_json(status: StatusCode, value: &impl Serialize) -> Reply {
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Reply::new(status, out.into_bytes(), JSON)
}

/// The decoded subscribe key and channel of a files path.
fn target(app: &App, sub_key: &str, channel: &str) -> Result<(String, String), Reply> {
    let sub_key = match percent_decode_cow(sub_key) {
        Ok(key) if app.key_allowed(&key) => key.into_owned(),
        _ => return Err(Reply::invalid_sub_key()),
    };
    let bad_channel = || invalid("[channel] contains invalid characters");
    let channel = percent_decode(channel).map_err(|_| bad_channel())?;
    validate_plain(&channel).map_err(|_| bad_channel())?;
    Ok((sub_key, channel))
}

/// A decoded id and name of a file path.
fn file_names(id: &str, name: &str) -> Result<(String, String), Reply> {
    let id = percent_decode(id).map_err(|_| invalid("[id] contains invalid characters"))?;
    let name = percent_decode(name).map_err(|_| invalid("[name] contains invalid characters"))?;
    Ok((id, name))
}

#[derive(Serialize)]
struct UploadAnswer<'a> {
    status: u16,
    data: FileRef<'a>,
    file_upload_request: UploadRequest<'a>,
}

#[derive(Serialize)]
struct FileRef<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct UploadRequest<'a> {
    url: String,
    method: &'static str,
    expiration_date: String,
    form_fields: Vec<FormField<'a>>,
}

#[derive(Serialize)]
struct FormField<'a> {
    key: &'a str,
    value: &'a str,
}

/// `POST …/generate-upload-url` with `{"name": …}`: a new file id and the form to upload it
/// with, valid for 60 s.
fn generate(
    app: &App,
    sub_key: &str,
    channel: &str,
    body: &Bytes,
    origin: &str,
) -> Result<Reply, Reply> {
    let (sub_key, channel) = target(app, sub_key, channel)?;
    let body: Value = serde_json::from_slice(body)
        .map_err(|_| invalid("Invalid request body: a JSON object with a name is required"))?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("[name] is missing or empty"))?;
    let id = uuid_v4();
    let key = object_key(&sub_key, &channel, &id, name);
    if key.len() > MAX_KEY_BYTES {
        return Err(invalid("[name] is too long"));
    }
    // The tag names the retention in days, as the service's does (0: kept until deleted).
    let retention_days = app
        .hub
        .config()
        .file_retention
        .map_or(0, |keep| keep.as_secs().div_ceil(86_400).max(1));
    let issue = Issue {
        sub_key: &sub_key,
        channel: &channel,
        id: &id,
        name,
        key: &key,
        content_type: content_type_for(name),
        retention_days,
    };
    let form = app.files.issue(&issue, app.hub.now());
    let answer = UploadAnswer {
        status: 200,
        data: FileRef { id: &id, name },
        file_upload_request: UploadRequest {
            url: format!("{origin}{UPLOAD_PATH}"),
            method: "POST",
            expiration_date: iso_seconds(form.expires),
            form_fields: form
                .fields
                .iter()
                .map(|(key, value)| FormField { key, value })
                .collect(),
        },
    };
    Ok(go_json(StatusCode::OK, &answer))
}

#[derive(Serialize)]
struct ListAnswer<'a> {
    status: u16,
    data: Vec<ListItem<'a>>,
    next: Option<String>,
    count: usize,
}

#[derive(Serialize)]
struct ListItem<'a> {
    name: &'a str,
    id: &'a str,
    size: u64,
    created: String,
}

/// `GET …/files?limit=&next=`: files in id order, `next` (an opaque token: the last id of the
/// page) when more remain, `null` otherwise.
fn list(app: &App, sub_key: &str, channel: &str, query: &Query<'_>) -> Result<Reply, Reply> {
    let (sub_key, channel) = target(app, sub_key, channel)?;
    let limit = match query.get("limit") {
        None => MAX_FILES_LIMIT,
        // Above the maximum is lowered to it, as history does with `max`.
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(n) if n >= 1 => usize::try_from(n)
                .unwrap_or(usize::MAX)
                .min(MAX_FILES_LIMIT),
            _ => return Err(invalid("[limit] must be a number from 1 to 100")),
        },
    };
    let after = match query.get("next").filter(|n| !n.is_empty()) {
        None => None,
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| invalid("[next] is not a token this server issued"))?,
        ),
    };
    let page = app
        .hub
        .list_files(&sub_key, &channel, after.as_deref(), limit)
        .map_err(|_| invalid("[channel] contains invalid characters"))?;
    let next = page
        .files
        .last()
        .filter(|_| page.more)
        .map(|last| URL_SAFE_NO_PAD.encode(last.id.as_bytes()));
    let data: Vec<ListItem<'_>> = page
        .files
        .iter()
        .map(|file| ListItem {
            name: &file.name,
            id: &file.id,
            size: file.size,
            created: iso_seconds(file.created),
        })
        .collect();
    let count = data.len();
    Ok(go_json(
        StatusCode::OK,
        &ListAnswer {
            status: 200,
            data,
            next,
            count,
        },
    ))
}

/// `GET …/files/{id}/{name}`: `307` to the storage's download of that object. No lookup: the
/// service answers a made-up id the same way (recording), and the download says `NoSuchKey`.
fn redirect(
    app: &App,
    sub_key: &str,
    channel: &str,
    id: &str,
    name: &str,
    origin: &str,
) -> Result<Reply, Reply> {
    let (sub_key, channel) = target(app, sub_key, channel)?;
    let (id, name) = file_names(id, name)?;
    let key = object_key(&sub_key, &channel, &id, &name);
    let location = format!("{origin}{DOWNLOAD_PREFIX}{}", encode_key(&key));
    let location = HeaderValue::from_str(&location)
        .map_err(|_| invalid("[name] contains invalid characters"))?;
    Ok(Reply::new(StatusCode::TEMPORARY_REDIRECT, Vec::new(), JSON)
        .with_header(header::LOCATION, location))
}

/// `DELETE …/files/{id}/{name}`: `{"status":200}`, also for a file that is not there (storage
/// deletes are idempotent; the service's answer for a missing file is not recorded).
async fn delete(
    app: &App,
    sub_key: &str,
    channel: &str,
    id: &str,
    name: &str,
) -> Result<Reply, Reply> {
    let (sub_key, channel) = target(app, sub_key, channel)?;
    let (id, name) = file_names(id, name)?;
    let deleted = app
        .hub
        .delete_file(&sub_key, &channel, &id, &name)
        .map_err(|_| invalid("[channel] contains invalid characters"))?;
    if let Some(file) = deleted {
        app.files.remove(&file.key).await;
    }
    Ok(go_json(StatusCode::OK, &serde_json::json!({"status": 200})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_escapes() {
        let reply = go_json(
            StatusCode::OK,
            &serde_json::json!({"v": "<Tagging>&\u{2028}"}),
        );
        assert_eq!(
            String::from_utf8(reply.body).unwrap(),
            r#"{"v":"\u003cTagging\u003e\u0026\u2028"}"#
        );
    }

    #[test]
    fn origins_come_from_the_host_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(origin(&headers), "http://localhost");
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8090"));
        assert_eq!(origin(&headers), "http://127.0.0.1:8090");
        headers.insert(header::HOST, HeaderValue::from_static("[::1]:80"));
        assert_eq!(origin(&headers), "http://[::1]:80");
        headers.insert(header::HOST, HeaderValue::from_static("evil\"/x"));
        assert_eq!(origin(&headers), "http://localhost");
    }

    #[test]
    fn the_files_error_shape() {
        let reply = invalid("[channel] contains invalid characters");
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            String::from_utf8(reply.body).unwrap(),
            r#"{"status":400,"error":{"message":"[channel] contains invalid characters","source":"Files","code":3001}}"#
        );
    }
}

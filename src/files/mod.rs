//! Files (PROTOCOL.md §20): share a file on a channel — send it, list a channel's files,
//! download one, delete one — as PubNub's SDKs do, encrypted or not.
//!
//! [`send_file`](crate::PubNub::send_file) takes PubNub's three steps: it asks the service for
//! an upload form (`generate-upload-url`), uploads the file to the storage that form names
//! (`multipart/form-data`, the form's fields in their order and the file last), then publishes
//! the file message (`{"message": …, "file": {"id", "name"}}`), which subscribers receive as a
//! [`FileEvent`](crate::FileEvent) with a ready download URL. The publish is retried (as
//! PubNub's JavaScript, Kotlin and Go SDKs do) so that an upload is never orphaned in silence:
//! when it still fails, the error names the file ([`Error::unpublished_file`]) and
//! [`publish_file_message`](crate::PubNub::publish_file_message) can publish it later.
//!
//! With a [crypto module](crate::crypto), a file's contents are encrypted before the upload and
//! decrypted after the download, in PubNub's formats (the same as for bytes), in place: a
//! 5 MiB file is never held twice. The file message is encrypted like any message.
//!
//! ```no_run
//! # async fn run(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
//! use pubnub_engine::files::FileData;
//!
//! let sent = pubnub
//!     .send_file()
//!     .channel("support")
//!     .file_name("report.pdf")
//!     .data(FileData::path("report.pdf"))
//!     .message(&serde_json::json!({"text": "here is the report"}))
//!     .on_progress(|p| println!("{} of {:?} bytes", p.done, p.total))
//!     .await?;
//! let file = pubnub
//!     .download_file()
//!     .channel("support")
//!     .file_id(&sent.file_id)
//!     .file_name(&sent.file_name)
//!     .await?;
//! assert_eq!(file.name, "report.pdf");
//! # Ok(()) }
//! ```

mod multipart;

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, ErrorKind};
use crate::request::{self, setters, Operation, Paged, RequestBuilder, RequestFuture};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{encode, response, Method, Progress, ProgressHook, Request, Response};
use crate::validate;

/// The largest file the service takes: 5 MiB (its storage policy's
/// `content-length-range`).
pub const MAX_FILE_SIZE: usize = 5 * 1024 * 1024;
/// Most files in one [`list_files`](crate::PubNub::list_files) answer.
pub const MAX_LIST_LIMIT: usize = 100;
/// How many times the file message is published before `send_file` gives up.
pub const FILE_PUBLISH_ATTEMPTS: u32 = 5;
/// The longest file name sent: the service documents no limit, but the name travels in URLs.
pub const MAX_FILE_NAME_BYTES: usize = 1024;

/// A file's id and name: what identifies it on its channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FileRef {
    /// The id the service gave it.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// What [`send_file`](crate::PubNub::send_file) answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendFileResult {
    /// The timetoken of the file message.
    pub timetoken: u64,
    /// The id the service gave the file.
    pub file_id: String,
    /// The file's name.
    pub file_name: String,
}

/// One stored file of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its size in bytes, as stored (encrypted files are a little larger).
    pub size: u64,
    /// When it was uploaded, as the service writes it (RFC 3339).
    pub created: String,
}

/// One page of [`list_files`](crate::PubNub::list_files).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListFilesResult {
    /// The files, in the service's order (by id).
    pub data: Vec<FileInfo>,
    /// Where the next page starts, when there is one: pass it to `next`.
    pub next: Option<String>,
    /// How many files this page holds.
    pub count: u64,
}

/// A downloaded file, decrypted when the client has a crypto module.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadedFile {
    /// Its name.
    pub name: String,
    /// The content type storage gave, when it gave one.
    pub content_type: Option<String>,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// The bytes of a file to send: in memory, on disk, or from any [`AsyncRead`].
pub struct FileData(Source);

enum Source {
    Bytes(Vec<u8>),
    Path(PathBuf),
    Reader(Pin<Box<dyn AsyncRead + Send>>),
}

impl FileData {
    /// Bytes in memory.
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        FileData(Source::Bytes(data.into()))
    }

    /// The file at `path`, read when the request is awaited.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        FileData(Source::Path(path.into()))
    }

    /// Everything `reader` gives until its end (at most [`MAX_FILE_SIZE`] bytes).
    pub fn reader(reader: impl AsyncRead + Send + 'static) -> Self {
        FileData(Source::Reader(Box::pin(reader)))
    }

    /// The whole file, in one buffer of its own; a file larger than [`MAX_FILE_SIZE`] is
    /// refused before anything is sent (a file on disk before it is read).
    async fn read(self) -> Result<Vec<u8>, Error> {
        let too_large = |size: u64| {
            Error::new(
                ErrorKind::MessageTooLarge,
                format!("the file is {size} bytes, more than the {MAX_FILE_SIZE} allowed"),
            )
        };
        let io = |e: std::io::Error| Error::invalid("the file could not be read").with_source(e);
        let limit = u64::try_from(MAX_FILE_SIZE).unwrap_or(u64::MAX);
        let data = match self.0 {
            Source::Bytes(data) => data,
            Source::Path(path) => {
                let size = tokio::fs::metadata(&path).await.map_err(io)?.len();
                if size > limit {
                    return Err(too_large(size));
                }
                tokio::fs::read(&path).await.map_err(io)?
            }
            Source::Reader(reader) => {
                let mut data = Vec::new();
                reader
                    .take(limit + 1)
                    .read_to_end(&mut data)
                    .await
                    .map_err(io)?;
                data
            }
        };
        let size = u64::try_from(data.len()).unwrap_or(u64::MAX);
        if size > limit {
            return Err(too_large(size));
        }
        Ok(data)
    }
}

impl std::fmt::Debug for FileData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Source::Bytes(data) => write!(f, "FileData::bytes({} bytes)", data.len()),
            Source::Path(path) => write!(f, "FileData::path({path:?})"),
            Source::Reader(_) => f.write_str("FileData::reader(..)"),
        }
    }
}

/// A file name the service and every file system take: not empty, no path separator, no
/// control character, not a dot segment.
fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid("the file name is empty"));
    }
    if name.len() > MAX_FILE_NAME_BYTES {
        return Err(Error::invalid(format!(
            "the file name is longer than {MAX_FILE_NAME_BYTES} bytes"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\') || c.is_control())
    {
        return Err(Error::invalid(format!(
            "the file name {name:?} contains {c:?}: a name, not a path"
        )));
    }
    if name == "." || name == ".." {
        return Err(Error::invalid("the file name is a dot segment"));
    }
    Ok(())
}

/// A file's channel, id and name, checked.
fn check_file(channel: &str, file: &FileRef) -> Result<(), Error> {
    validate::publish_channel(channel)?;
    if file.id.is_empty() || file.id.chars().any(char::is_control) {
        return Err(Error::invalid(
            "the file id is empty or has control characters",
        ));
    }
    check_name(&file.name)
}

/// A value serialised to JSON now, or why it could not be.
fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| Error::invalid(format!("{what} cannot be serialised to JSON")).with_source(e))
}

const FILE_PATH: &str = "/v1/files/{sub}/channels/{}/files/{}/{}";

// ---------------------------------------------------------------------------------------------
// The endpoints

/// The endpoint that issues an upload form (`generate-upload-url`).
#[derive(Debug, Clone)]
struct GenerateUploadOp {
    channel: String,
    name: String,
}

/// The storage form the service issued for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UploadForm {
    file: FileRef,
    url: String,
    method: String,
    fields: Vec<(String, String)>,
}

impl Operation for GenerateUploadOp {
    type Output = UploadForm;
    const GROUP: Endpoint = Endpoint::Files;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let template = "/v1/files/{sub}/channels/{}/generate-upload-url";
        let mut request = core.endpoint(Method::Post, template, &[(&self.channel).into()]);
        request.body = Some(json!({ "name": self.name }).to_string().into());
        Ok(request)
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<UploadForm, Error> {
        let json = response::check(answer)?;
        let text = |pointer: &str| json.pointer(pointer).and_then(Value::as_str);
        let bad = || {
            Error::decode(format!(
                "unexpected upload form: {}",
                response::short(&json)
            ))
        };
        let file = FileRef {
            id: text("/data/id").ok_or_else(bad)?.to_owned(),
            name: text("/data/name").ok_or_else(bad)?.to_owned(),
        };
        let url = text("/file_upload_request/url").ok_or_else(bad)?.to_owned();
        let method = text("/file_upload_request/method")
            .unwrap_or("POST")
            .to_owned();
        let fields = response::array(&json["file_upload_request"], "form_fields", "upload form")?
            .unwrap_or_default()
            .iter()
            .map(|field| {
                let key = field.get("key").and_then(Value::as_str);
                let value = field.get("value").and_then(Value::as_str);
                match (key, value) {
                    (Some(key), Some(value)) => Ok((key.to_owned(), value.to_owned())),
                    _ => Err(bad()),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(bad());
        }
        Ok(UploadForm {
            file,
            url,
            method,
            fields,
        })
    }
}

/// The file message of a file: its `message`, `meta` and storage options.
#[derive(Debug, Clone, Default)]
struct FileMessage {
    message: Option<Value>,
    meta: Option<Value>,
    should_store: Option<bool>,
    ttl: Option<u32>,
    custom_message_type: Option<String>,
}

impl FileMessage {
    fn check(&self) -> Result<(), Error> {
        if self.meta.as_ref().is_some_and(|meta| !meta.is_object()) {
            return Err(Error::invalid("meta must serialise to a JSON object"));
        }
        if let Some(cmt) = &self.custom_message_type {
            validate::custom_message_type(cmt)?;
        }
        if self.ttl == Some(0) {
            return Err(Error::invalid(
                "ttl must be at least 1 hour; leave it unset for the keyset's retention",
            ));
        }
        Ok(())
    }
}

/// The endpoint that publishes a file message (`/v1/files/publish-file`).
#[derive(Debug, Clone, Default)]
pub struct PublishFileOp {
    channel: String,
    file: Option<FileRef>,
    message: FileMessage,
    /// Why the message or meta could not be serialised.
    invalid: Option<String>,
}

impl Operation for PublishFileOp {
    type Output = crate::publish::PublishResult;
    const GROUP: Endpoint = Endpoint::Publish;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        if let Some(why) = &self.invalid {
            return Err(Error::invalid(why.clone()));
        }
        let publish_key = core
            .config()
            .publish_key()
            .ok_or_else(|| Error::invalid("a publish key is required to publish"))?;
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| Error::invalid("the file id and name are required"))?;
        check_file(&self.channel, file)?;
        self.message.check()?;
        // As PubNub's Python SDK writes it: the message (null when none), then the file.
        let payload = json!({
            "message": self.message.message.clone().unwrap_or(Value::Null),
            "file": {"id": file.id, "name": file.name},
        })
        .to_string();
        let payload = match core.config().crypto_module() {
            Some(crypto) => crypto.encrypt_json(&payload)?,
            None => payload,
        };
        let mut path = String::from("/v1/files/publish-file/");
        encode::encode_into(&mut path, publish_key);
        path.push('/');
        encode::encode_into(&mut path, core.config().subscribe_key());
        path.push_str("/0/");
        encode::encode_into(&mut path, &self.channel);
        path.push_str("/0/");
        encode::encode_into(&mut path, &payload);
        let FileMessage {
            meta,
            should_store,
            ttl,
            custom_message_type,
            ..
        } = &self.message;
        Ok(core
            .request(Method::Get, path)
            .param_opt("store", should_store.map(|s| if s { "1" } else { "0" }))
            .param_opt(
                "ttl",
                ttl.filter(|_| *should_store != Some(false))
                    .map(|t| t.to_string()),
            )
            .param_opt("meta", meta.as_ref().map(Value::to_string))
            .param_opt("custom_message_type", custom_message_type.clone()))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<crate::publish::PublishResult, Error> {
        let timetoken = response::publish_timetoken(&response::check(answer)?)?;
        Ok(crate::publish::PublishResult { timetoken })
    }
}

/// The endpoint that lists a channel's files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ListFilesOp {
    channel: String,
    limit: Option<usize>,
    next: Option<String>,
}

impl Operation for ListFilesOp {
    type Output = ListFilesResult;
    const GROUP: Endpoint = Endpoint::Files;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        validate::publish_channel(&self.channel)?;
        let limit = self.limit.unwrap_or(MAX_LIST_LIMIT);
        if !(1..=MAX_LIST_LIMIT).contains(&limit) {
            return Err(Error::invalid(format!(
                "limit {limit} is out of range: 1 to {MAX_LIST_LIMIT}"
            )));
        }
        if self.next.as_deref() == Some("") {
            return Err(Error::invalid("the page cursor is empty"));
        }
        Ok(core
            .get(
                "/v1/files/{sub}/channels/{}/files",
                &[(&self.channel).into()],
            )
            .param("limit", limit.to_string())
            .param_opt("next", self.next.clone()))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<ListFilesResult, Error> {
        let json = response::check(answer)?;
        let data = response::array(&json, "data", "list files")?
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
                let bad = || Error::decode(format!("unexpected file: {}", response::short(item)));
                Ok(FileInfo {
                    id: text("id").ok_or_else(bad)?,
                    name: text("name").ok_or_else(bad)?,
                    size: item.get("size").and_then(Value::as_u64).unwrap_or(0),
                    created: text("created").unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let next = json
            .get("next")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        let count = json
            .get("count")
            .and_then(Value::as_u64)
            .unwrap_or(u64::try_from(data.len()).unwrap_or(u64::MAX));
        Ok(ListFilesResult { data, next, count })
    }
}

impl Paged for ListFilesOp {
    /// The next page while the service names one (and the page was not empty).
    fn follow(&self, page: &ListFilesResult) -> Vec<Self> {
        match &page.next {
            Some(next) if !page.data.is_empty() => vec![ListFilesOp {
                next: Some(next.clone()),
                ..self.clone()
            }],
            _ => Vec::new(),
        }
    }
}

/// The endpoint that deletes a file.
#[derive(Debug, Clone, Default)]
pub struct DeleteFileOp {
    channel: String,
    file: FileRef,
}

impl Operation for DeleteFileOp {
    type Output = ();
    const GROUP: Endpoint = Endpoint::Files;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        file_request(core, Method::Delete, &self.channel, &self.file)
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<(), Error> {
        response::ok(answer)
    }
}

/// A request to a file's PubNub URL: `GET` redirects to storage, `DELETE` deletes it.
fn file_request(
    core: &Core,
    method: Method,
    channel: &str,
    file: &FileRef,
) -> Result<Request, Error> {
    check_file(channel, file)?;
    let segments = [
        channel.into(),
        file.id.as_str().into(),
        file.name.as_str().into(),
    ];
    Ok(core.endpoint(method, FILE_PATH, &segments))
}

/// The URL a file is downloaded from, built here as PubNub's SDKs build it: the service's
/// file path with the client's parameters (its `auth` token and, with a secret key, a
/// signature). Requested, it redirects to storage.
pub(crate) fn download_url(core: &Core, channel: &str, file: &FileRef) -> Result<String, Error> {
    let mut request = file_request(core, Method::Get, channel, file)?;
    request.query.retain(|(key, _)| *key != "requestid");
    core.sign(&mut request);
    let mut url = core.config().origin().trim_end_matches('/').to_owned();
    request.write_path_and_query(&mut url);
    Ok(url)
}

/// A received file event's download URL; `None` (and a warning) when it cannot be built.
pub(crate) fn file_url(core: &Core, channel: &str, id: &str, name: &str) -> Option<String> {
    let file = FileRef {
        id: id.to_owned(),
        name: name.to_owned(),
    };
    download_url(core, channel, &file)
        .inspect_err(|error| tracing::warn!(channel, id, "no URL for a file event: {error}"))
        .ok()
}

// ---------------------------------------------------------------------------------------------
// The builders

/// The setters of the builders that name one file (`channel`, `file_id`, `file_name`), on
/// fields `channel: String` and `file: FileRef` of the operation (`file_setters!()`) or of the
/// builder itself (`file_setters!(self;)`).
macro_rules! file_setters {
    ($($on:tt)*) => {
        setters! { $($on)*
            /// The file's channel (required).
            channel(channel: impl Into<String>) at => at.channel = channel.into();
            /// The file's id (required).
            file_id(id: impl Into<String>) at => at.file.id = id.into();
            /// The file's name (required).
            file_name(name: impl Into<String>) at => at.file.name = name.into();
        }
    };
}

impl RequestBuilder<DeleteFileOp> {
    file_setters!();
}

/// Deletes a file; `.await` it. Created by [`PubNub::delete_file`](crate::PubNub::delete_file).
pub type DeleteFile = RequestBuilder<DeleteFileOp>;
/// Lists a channel's files, a page at a time; `.await` it for one page, or walk them all with
/// `pages()`. Created by [`PubNub::list_files`](crate::PubNub::list_files).
pub type ListFiles = RequestBuilder<ListFilesOp>;
/// Publishes the message of a file already uploaded; `.await` it. Created by
/// [`PubNub::publish_file_message`](crate::PubNub::publish_file_message).
pub type PublishFileMessage = RequestBuilder<PublishFileOp>;

impl RequestBuilder<ListFilesOp> {
    setters! {
        /// The channel (required).
        channel(channel: impl Into<String>) op => op.channel = channel.into();
        /// Most files in the answer: 1 to 100 (default 100).
        limit(limit: usize) op => op.limit = Some(limit);
        /// The page that starts here: a [`ListFilesResult::next`] of an earlier answer.
        next(next: impl Into<String>) op => op.next = Some(next.into());
    }
}

/// The file message setters of `send_file` and `publish_file_message`.
macro_rules! message_setters {
    ($message:ident) => {
        /// The message sent with the file: anything `Serialize`, serialised to JSON now.
        pub fn message<T: Serialize + ?Sized>(mut self, message: &T) -> Self {
            match to_json(message, "message") {
                Ok(value) => self.$message().message = Some(value),
                Err(error) => self.set_invalid(error),
            }
            self
        }

        /// Metadata for filter expressions: anything that serialises to a JSON object.
        pub fn meta<T: Serialize + ?Sized>(mut self, meta: &T) -> Self {
            match to_json(meta, "meta") {
                Ok(value) => self.$message().meta = Some(value),
                Err(error) => self.set_invalid(error),
            }
            self
        }

        /// Store the file message in history (`store=1`) or not; default: the key's setting.
        pub fn should_store(mut self, store: bool) -> Self {
            self.$message().should_store = Some(store);
            self
        }

        /// How many hours history keeps the file message (at least 1; see
        /// [`Publish::ttl`](crate::publish::Publish::ttl)).
        pub fn ttl(mut self, hours: u32) -> Self {
            self.$message().ttl = Some(hours);
            self
        }

        /// A custom message type, 3 to 50 characters of `A-Z a-z 0-9 _ -`.
        pub fn custom_message_type(mut self, value: impl Into<String>) -> Self {
            self.$message().custom_message_type = Some(value.into());
            self
        }
    };
}

impl RequestBuilder<PublishFileOp> {
    message_setters!(file_message);

    /// The file's channel (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.op.channel = channel.into();
        self
    }

    /// The file's id and name (required), as `send_file` or its error gave them.
    pub fn file(mut self, id: impl Into<String>, name: impl Into<String>) -> Self {
        self.op.file = Some(FileRef {
            id: id.into(),
            name: name.into(),
        });
        self
    }

    fn file_message(&mut self) -> &mut FileMessage {
        &mut self.op.message
    }

    fn set_invalid(&mut self, error: Error) {
        self.op.invalid = Some(error.message().to_owned());
    }
}

/// Sends a file: upload form, upload, file message; `.await` it. Created by
/// [`PubNub::send_file`](crate::PubNub::send_file).
#[must_use = "a request does nothing until it is awaited"]
pub struct SendFile {
    core: Arc<Core>,
    channel: String,
    name: String,
    data: Option<FileData>,
    message: FileMessage,
    invalid: Option<Error>,
    progress: Option<ProgressHook>,
    retry: bool,
}

impl std::fmt::Debug for SendFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendFile")
            .field("channel", &self.channel)
            .field("name", &self.name)
            .field("data", &self.data)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl SendFile {
    pub(crate) fn new(core: &Arc<Core>) -> Self {
        SendFile {
            core: core.clone(),
            channel: String::new(),
            name: String::new(),
            data: None,
            message: FileMessage::default(),
            invalid: None,
            progress: None,
            retry: false,
        }
    }

    message_setters!(file_message);

    /// The channel to share the file on (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The file's name (required): what receivers see and download it by. A name, not a path.
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The file's bytes (required): [`FileData::bytes`], [`FileData::path`] or
    /// [`FileData::reader`]; at most [`MAX_FILE_SIZE`].
    pub fn data(mut self, data: FileData) -> Self {
        self.data = Some(data);
        self
    }

    /// Told how much of the upload went: `done` of `total` bytes of its body.
    pub fn on_progress(mut self, report: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(ProgressHook::new(report));
        self
    }

    /// Retry the upload form and the upload on transient failures with the client's retry
    /// configuration (default: no). The file message is retried whatever this says.
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    fn file_message(&mut self) -> &mut FileMessage {
        &mut self.message
    }

    fn set_invalid(&mut self, error: Error) {
        self.invalid = Some(error);
    }

    async fn send(self) -> Result<SendFileResult, Error> {
        let SendFile {
            core,
            channel,
            name,
            data,
            message,
            invalid,
            progress,
            retry,
        } = self;
        if let Some(error) = invalid {
            return Err(error);
        }
        core.check_open()?;
        // Everything that can be refused is refused before anything is sent.
        if core.config().publish_key().is_none() {
            return Err(Error::invalid("a publish key is required to send a file"));
        }
        validate::publish_channel(&channel)?;
        check_name(&name)?;
        message.check()?;
        let data = data
            .ok_or_else(|| Error::invalid("the file's data is missing"))?
            .read()
            .await?;
        let crypto = core.config().crypto_module().cloned();
        if data.is_empty() && crypto.is_some() {
            return Err(Error::invalid("an empty file cannot be encrypted"));
        }
        let generate = GenerateUploadOp {
            channel: channel.clone(),
            name: name.clone(),
        };
        let mut form = request::run(&core, &generate, retry).await?;
        let mut file = data;
        if let Some(crypto) = &crypto {
            crypto.encrypt_in_place(&mut file)?;
        }
        let mut upload = multipart::Upload::around(file, &form.fields, &form.file.name);
        if let Err(error) = upload_to(&core, &form, &upload, progress.clone(), retry).await {
            if !is_expired(&error) {
                return Err(error);
            }
            // An upload form that expired before it was used: a fresh one, once.
            tracing::debug!("upload form expired: asking for a new one");
            form = request::run(&core, &generate, retry).await?;
            upload = upload.with_fields(&form.fields, &form.file.name);
            upload_to(&core, &form, &upload, progress, retry).await?;
        }
        drop(upload);
        let file = form.file;
        let publish = PublishFileOp {
            channel,
            file: Some(file.clone()),
            message,
            invalid: None,
        };
        let result = publish_with_retries(&core, &publish)
            .await
            .map_err(|error| error.with_unpublished_file(file.id.clone(), file.name.clone()))?;
        Ok(SendFileResult {
            timetoken: result.timetoken,
            file_id: file.id,
            file_name: file.name,
        })
    }
}

impl std::future::IntoFuture for SendFile {
    type Output = Result<SendFileResult, Error>;
    type IntoFuture = RequestFuture<SendFileResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Whether storage refused an upload because its form expired.
fn is_expired(error: &Error) -> bool {
    matches!(error.kind(), ErrorKind::Http { status: 400 | 403 })
        && error.message().to_ascii_lowercase().contains("expired")
}

/// Uploads `upload` (the multipart body around the file) to the storage `form` names.
async fn upload_to(
    core: &Core,
    form: &UploadForm,
    upload: &multipart::Upload,
    progress: Option<ProgressHook>,
    retry: bool,
) -> Result<(), Error> {
    if !form.method.eq_ignore_ascii_case("POST") {
        // The service has only ever answered POST forms; another method would need another body.
        return Err(Error::decode(format!(
            "the upload form asks for {}, which this SDK does not send",
            form.method
        )));
    }
    let mut request = Request::new(Method::Post, form.url.clone());
    request
        .headers
        .push(("Content-Type", upload.content_type()));
    request.body = Some(upload.body.clone());
    request.progress = progress.clone();
    request.timeout = core.config().file_transfer_timeout();
    let result = core
        .execute(Endpoint::Files, request, retry, storage_answer)
        .await;
    if let (Ok(()), Some(hook)) = (&result, &progress) {
        let total = u64::try_from(upload.body.len()).unwrap_or(u64::MAX);
        hook.report(Progress {
            done: total,
            total: Some(total),
        });
    }
    result
}

/// A storage answer: 2xx is the upload stored; anything else an error with storage's own
/// message (S3 answers XML: `<Error><Code>EntityTooLarge</Code><Message>…</Message>…`).
fn storage_answer(answer: &Response) -> Result<(), Error> {
    if answer.is_success() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&answer.body);
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_owned())
    };
    let message = match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("storage refused the upload: {code}: {message}"),
        (None, Some(message)) => format!("storage refused the upload: {message}"),
        _ => format!(
            "storage refused the upload: HTTP {}: {}",
            answer.status,
            response::snippet(&answer.body)
        ),
    };
    let kind = if tag("Code").as_deref() == Some("EntityTooLarge") {
        ErrorKind::MessageTooLarge
    } else {
        ErrorKind::Http {
            status: answer.status,
        }
    };
    Err(Error::answer(kind, answer.status, message))
}

/// Publishes the file message, [`FILE_PUBLISH_ATTEMPTS`] times at most while it fails for
/// transient reasons, waiting as the client's retry policy says between attempts.
async fn publish_with_retries(
    core: &Core,
    publish: &PublishFileOp,
) -> Result<crate::publish::PublishResult, Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match request::run(core, publish, false).await {
            Ok(result) => return Ok(result),
            Err(error) => error,
        };
        if attempt >= FILE_PUBLISH_ATTEMPTS || !error.is_transient() {
            return Err(error);
        }
        let delay = core
            .config()
            .retry()
            .delay(
                Endpoint::Publish,
                attempt,
                &error.reason(),
                core.next_jitter(),
            )
            .unwrap_or_default();
        tracing::debug!(attempt, ?delay, %error, "retrying the file message");
        tokio::time::sleep(delay).await;
    }
}

/// Downloads a file; `.await` it for its bytes, or [`save_to`](Self::save_to) a path, or
/// [`stream`](Self::stream) them. Created by
/// [`PubNub::download_file`](crate::PubNub::download_file).
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct DownloadFile {
    core: Arc<Core>,
    channel: String,
    file: FileRef,
    progress: Option<ProgressHook>,
    retry: bool,
}

impl DownloadFile {
    pub(crate) fn new(core: &Arc<Core>) -> Self {
        DownloadFile {
            core: core.clone(),
            channel: String::new(),
            file: FileRef::default(),
            progress: None,
            retry: false,
        }
    }

    file_setters!(self;);

    /// Told how much of the download came: `done` of `total` bytes (when storage says).
    pub fn on_progress(mut self, report: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(ProgressHook::new(report));
        self
    }

    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    /// Downloads the file and writes it to `path` (created or replaced); the number of bytes
    /// written.
    pub async fn save_to(self, path: impl AsRef<std::path::Path>) -> Result<u64, Error> {
        let file = self.send().await?;
        tokio::fs::write(path.as_ref(), &file.data)
            .await
            .map_err(|e| Error::invalid("the file could not be written").with_source(e))?;
        Ok(u64::try_from(file.data.len()).unwrap_or(u64::MAX))
    }

    /// The file's bytes as a `Stream` of chunks: for code that consumes a byte stream. The
    /// file is downloaded (and decrypted) first, then handed on chunk by chunk.
    pub fn stream(self) -> Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>> {
        const CHUNK: usize = 64 << 10;
        Box::pin(futures_util::stream::once(self.send()).flat_map(|result| {
            let chunks: Vec<Result<Bytes, Error>> = match result {
                Ok(file) => {
                    let data = Bytes::from(file.data);
                    (0..data.len())
                        .step_by(CHUNK)
                        .map(|at| Ok(data.slice(at..(at + CHUNK).min(data.len()))))
                        .collect()
                }
                Err(error) => vec![Err(error)],
            };
            futures_util::stream::iter(chunks)
        }))
    }

    async fn send(self) -> Result<DownloadedFile, Error> {
        let core = &self.core;
        core.check_open()?;
        let mut request = file_request(core, Method::Get, &self.channel, &self.file)?;
        request.timeout = core.config().file_transfer_timeout();
        let answer = core
            .execute(Endpoint::Files, request, self.retry, |answer| {
                match (answer.status, &answer.location) {
                    (300..=399, Some(location)) => Ok(Download::Redirect(location.clone())),
                    (300..=399, None) => Err(Error::decode("a file redirect without a Location")),
                    _ if answer.is_success() => Ok(Download::Here(answer.clone())),
                    _ => Err(response::check(answer)
                        .err()
                        .unwrap_or_else(|| Error::decode("unexpected file answer"))),
                }
            })
            .await?;
        let answer = match answer {
            Download::Here(answer) => answer,
            Download::Redirect(location) => {
                let mut request = Request::new(Method::Get, absolute(core, &location));
                request.timeout = core.config().file_transfer_timeout();
                // The largest file, encrypted: its header, IV and padding.
                request.max_response_bytes = MAX_FILE_SIZE + 1024;
                request.progress = self.progress.clone();
                core.execute(Endpoint::Files, request, self.retry, |answer| {
                    if answer.is_success() {
                        Ok(answer.clone())
                    } else {
                        Err(storage_answer(answer).err().unwrap_or_else(|| {
                            Error::decode("storage answered with a redirect loop")
                        }))
                    }
                })
                .await?
            }
        };
        let mut data = Vec::from(answer.body);
        if let Some(crypto) = core.config().crypto_module() {
            crypto.decrypt_in_place(&mut data)?;
        }
        if let Some(hook) = &self.progress {
            let done = u64::try_from(data.len()).unwrap_or(u64::MAX);
            hook.report(Progress {
                done,
                total: Some(done),
            });
        }
        Ok(DownloadedFile {
            name: self.file.name,
            content_type: answer.content_type,
            data,
        })
    }
}

impl std::future::IntoFuture for DownloadFile {
    type Output = Result<DownloadedFile, Error>;
    type IntoFuture = RequestFuture<DownloadedFile>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// What the file URL answered: the file itself, or where it is.
enum Download {
    Here(Response),
    Redirect(String),
}

/// A redirect's location as an absolute URL: a relative one is on the origin.
fn absolute(core: &Core, location: &str) -> String {
    if location.starts_with("https://") || location.starts_with("http://") {
        location.to_owned()
    } else {
        format!("{}{location}", core.config().origin().trim_end_matches('/'))
    }
}

/// Builds a file's download URL, without a request (as PubNub's SDKs build it); `.await` it
/// for the URL. Created by [`PubNub::get_file_url`](crate::PubNub::get_file_url).
#[must_use = "the URL is built when the builder is awaited"]
#[derive(Debug)]
pub struct GetFileUrl {
    core: Arc<Core>,
    channel: String,
    file: FileRef,
}

impl GetFileUrl {
    pub(crate) fn new(core: &Arc<Core>) -> Self {
        GetFileUrl {
            core: core.clone(),
            channel: String::new(),
            file: FileRef::default(),
        }
    }

    file_setters!(self;);

    /// The URL, at once.
    pub fn url(&self) -> Result<String, Error> {
        download_url(&self.core, &self.channel, &self.file)
    }
}

impl std::future::IntoFuture for GetFileUrl {
    type Output = Result<String, Error>;
    type IntoFuture = std::future::Ready<Result<String, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        std::future::ready(self.url())
    }
}

#[cfg(test)]
mod tests;

//! The one public error type of the SDK, and [`Reason`], the comparable error summary the state
//! machines carry.
//!
//! Every failure, whether the caller's input was rejected before anything was sent or the server
//! answered with something unexpected, is an [`Error`] whose [`Error::kind`] says what happened.

use std::fmt;

/// The boxed underlying cause of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, coarse enough to match on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The connection could not be made or was lost (connect refused, reset, DNS failure).
    Network,
    /// The request did not complete within its timeout.
    Timeout,
    /// The server answered with an HTTP status that no more specific kind describes.
    Http {
        /// The HTTP status code.
        status: u16,
    },
    /// Access Manager refused the request (HTTP 403).
    AccessDenied,
    /// The message or signal is too large, detected by the client or the server.
    MessageTooLarge,
    /// The caller gave an argument that cannot be sent (empty channel, missing key, …).
    InvalidArgument,
    /// A server answer that could not be parsed.
    Decode,
    /// A server answer longer than the configured limit (counted after decompression): the
    /// body was cut there and dropped. Retried like an undecodable answer.
    ResponseTooLarge,
    /// The client, or the reliable publisher, was closed.
    Closed,
    /// A bounded queue is full: [`ReliablePublisher::try_send`](crate::ReliablePublisher::try_send)
    /// to a channel whose queue holds as many messages as it may.
    QueueFull,
    /// Data could not be encrypted: the system's random generator failed.
    Encryption,
    /// Data could not be decrypted: not encrypted, not base64, cut short, of an unknown format,
    /// or not decrypted by the key (a wrong key, damaged data). A received message that cannot
    /// be decrypted carries it in [`Message::error`](crate::Message::error).
    Decryption,
    /// Gap fill's page budget ran out before it read every range the service's queue may
    /// have dropped (in a [`MessagesNotRecovered`](crate::StatusCategory::MessagesNotRecovered)
    /// status).
    NotRecovered,
    /// An App Context write whose `If-Match` ETag no longer matches the stored object: someone
    /// changed it since it was read (HTTP 412). Read it again and retry the change.
    PreconditionFailed,
}

impl ErrorKind {
    /// The HTTP status this kind implies, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            ErrorKind::Http { status } => Some(*status),
            ErrorKind::AccessDenied => Some(403),
            ErrorKind::PreconditionFailed => Some(412),
            _ => None,
        }
    }

    /// Whether a failure of this kind is worth retrying (ENGINE.md §3): connection problems,
    /// timeouts, 408, 429, 5xx and answers that cannot be read; every other 4xx is fatal.
    pub fn is_transient(&self) -> bool {
        match self {
            ErrorKind::Network
            | ErrorKind::Timeout
            | ErrorKind::Decode
            | ErrorKind::ResponseTooLarge => true,
            ErrorKind::Http { status } => {
                *status == 408 || *status == 429 || (500..=599).contains(status)
            }
            ErrorKind::AccessDenied
            | ErrorKind::MessageTooLarge
            | ErrorKind::InvalidArgument
            | ErrorKind::Closed
            | ErrorKind::QueueFull
            | ErrorKind::Encryption
            | ErrorKind::Decryption
            | ErrorKind::NotRecovered
            | ErrorKind::PreconditionFailed => false,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Network => f.write_str("network error"),
            ErrorKind::Timeout => f.write_str("timeout"),
            ErrorKind::Http { status } => write!(f, "HTTP {status}"),
            ErrorKind::AccessDenied => f.write_str("access denied"),
            ErrorKind::MessageTooLarge => f.write_str("message too large"),
            ErrorKind::InvalidArgument => f.write_str("invalid argument"),
            ErrorKind::Decode => f.write_str("undecodable response"),
            ErrorKind::ResponseTooLarge => f.write_str("response too large"),
            ErrorKind::Closed => f.write_str("client closed"),
            ErrorKind::QueueFull => f.write_str("queue full"),
            ErrorKind::Encryption => f.write_str("encryption failed"),
            ErrorKind::Decryption => f.write_str("decryption failed"),
            ErrorKind::NotRecovered => f.write_str("not recovered"),
            ErrorKind::PreconditionFailed => f.write_str("precondition failed"),
        }
    }
}

/// A comparable summary of a failure, carried by the state machines' events and states.
///
/// It is `Clone + Eq` so that tests can compare whole invocations. It never holds a secret: the
/// message is the server's error text or a short description, never a URL with credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The HTTP status of the answer, when there was one.
    pub status: Option<u16>,
    /// The server's `Retry-After`, in seconds, when it sent one.
    pub retry_after: Option<u32>,
    /// A short, human-readable description.
    pub message: String,
}

impl Reason {
    /// A reason of `kind` with a message and no HTTP status.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Reason {
            kind,
            status: kind.status(),
            retry_after: None,
            message: message.into(),
        }
    }

    /// A reason for an HTTP answer with `status`; 403 becomes [`ErrorKind::AccessDenied`].
    pub fn http(status: u16, message: impl Into<String>) -> Self {
        let kind = if status == 403 {
            ErrorKind::AccessDenied
        } else {
            ErrorKind::Http { status }
        };
        Reason {
            kind,
            status: Some(status),
            retry_after: None,
            message: message.into(),
        }
    }

    /// The same reason with a `Retry-After` in seconds.
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe(f, self.kind, self.status, &self.message)
    }
}

/// `kind (HTTP status): message`, as errors and reasons print: the status only when the kind
/// does not name it already, the message only when there is one.
fn describe(
    f: &mut fmt::Formatter<'_>,
    kind: ErrorKind,
    status: Option<u16>,
    message: &str,
) -> fmt::Result {
    match (kind, status) {
        (ErrorKind::Http { .. }, _) | (_, None) => write!(f, "{kind}")?,
        (kind, Some(status)) => write!(f, "{kind} (HTTP {status})")?,
    }
    if !message.is_empty() {
        write!(f, ": {message}")?;
    }
    Ok(())
}

/// The one error type of the SDK: what happened ([`Error::kind`]), a short message, the HTTP
/// status and `Retry-After` of the server's answer when there was one, and the underlying cause.
///
/// It never holds a secret: messages are the server's error text or a short description, and
/// errors from the HTTP stack are stored without their URL (which carries the `auth` parameter).
///
/// ```
/// use pubnub_engine::{Error, ErrorKind};
///
/// let error = Error::new(ErrorKind::InvalidArgument, "channel name is empty");
/// assert_eq!(error.kind(), ErrorKind::InvalidArgument);
/// assert_eq!(error.to_string(), "invalid argument: channel name is empty");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{}", Text(self))]
pub struct Error {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    retry_after: Option<u32>,
    #[source]
    source: Option<BoxError>,
    /// The file a `send_file` uploaded but could not announce: (id, name).
    unpublished_file: Option<Box<(String, String)>>,
}

impl Error {
    /// An error of `kind` with a short description. The HTTP status is the one `kind` implies.
    ///
    /// Custom [`Transport`](crate::Transport)s use this to report failures, e.g.
    /// `Error::new(ErrorKind::Network, "connection reset")`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            status: kind.status(),
            retry_after: None,
            source: None,
            unpublished_file: None,
        }
    }

    /// The same error, caused by `source`.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// An invalid argument: the request was not sent.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    /// Data that could not be decrypted.
    pub(crate) fn decryption(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Decryption, message)
    }

    /// An undecodable server answer.
    pub(crate) fn decode(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Decode, message)
    }

    /// The error a [`Reason`] describes (a status's cause, a machine's last failure).
    pub(crate) fn from_reason(reason: &Reason) -> Self {
        let mut error = Error::new(reason.kind, reason.message.clone());
        error.status = reason.status;
        error.retry_after = reason.retry_after;
        error
    }

    /// An error about an HTTP answer: `kind` with the answer's `status`.
    pub(crate) fn answer(kind: ErrorKind, status: u16, message: impl Into<String>) -> Self {
        Error {
            status: Some(status),
            ..Error::new(kind, message)
        }
    }

    /// The same error with the server's `Retry-After`, in seconds.
    pub(crate) fn with_retry_after(mut self, seconds: Option<u32>) -> Self {
        self.retry_after = seconds;
        self
    }

    /// A copy of this error for one more use (a builder checked twice, say): its cause is kept
    /// as text.
    pub(crate) fn copy(&self) -> Self {
        Error {
            kind: self.kind,
            message: self.message.clone(),
            status: self.status,
            retry_after: self.retry_after,
            source: self
                .source
                .as_ref()
                .map(|source| BoxError::from(source.to_string())),
            unpublished_file: self.unpublished_file.clone(),
        }
    }

    /// The same error, about a file that was uploaded but whose message could not be
    /// published.
    pub(crate) fn with_unpublished_file(mut self, id: String, name: String) -> Self {
        self.message = format!(
            "the file {name:?} (id {id}) was uploaded, but its message could not be published: {}",
            self.message
        );
        self.unpublished_file = Some(Box::new((id, name)));
        self
    }

    /// For a [`send_file`](crate::PubNub::send_file) whose upload succeeded but whose file
    /// message could not be published: the file's id and name, to publish it later with
    /// [`publish_file_message`](crate::PubNub::publish_file_message).
    pub fn unpublished_file(&self) -> Option<(&str, &str)> {
        self.unpublished_file
            .as_deref()
            .map(|(id, name)| (id.as_str(), name.as_str()))
    }

    /// The same error with another kind (e.g. a 414 on publish is a message too large).
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status of the server's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The server's `Retry-After`, in seconds, when it sent one.
    pub fn retry_after(&self) -> Option<u32> {
        self.retry_after
    }

    /// The short description: the server's error text or what the client rejected.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The comparable summary the state machines carry.
    pub fn reason(&self) -> Reason {
        Reason {
            kind: self.kind,
            status: self.status,
            retry_after: self.retry_after,
            message: self.message.clone(),
        }
    }

    /// Whether a retry policy would retry this failure ([`ErrorKind::is_transient`]).
    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }
}

/// The text of an [`Error`]: the same as its [`Reason`]'s, without cloning the message.
struct Text<'a>(&'a Error);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe(f, self.0.kind, self.0.status, &self.0.message)
    }
}

/// The message of a caught panic, for the log line that replaces it.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_reason() {
        let cases = [
            (
                Error::new(ErrorKind::Timeout, "request timed out"),
                "timeout: request timed out",
            ),
            (
                Error::answer(ErrorKind::Http { status: 500 }, 500, "Internal"),
                "HTTP 500: Internal",
            ),
            (
                Error::answer(ErrorKind::AccessDenied, 403, "Forbidden"),
                "access denied (HTTP 403): Forbidden",
            ),
            (
                Error::answer(ErrorKind::MessageTooLarge, 400, "Message Too Large"),
                "message too large (HTTP 400): Message Too Large",
            ),
            (Error::new(ErrorKind::Closed, ""), "client closed"),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
            assert_eq!(error.reason().to_string(), text);
        }
    }

    #[test]
    fn reason_carries_status_and_retry_after() {
        let error = Error::answer(ErrorKind::Http { status: 429 }, 429, "Too many requests.")
            .with_retry_after(Some(7));
        let reason = error.reason();
        assert_eq!(reason.kind, ErrorKind::Http { status: 429 });
        assert_eq!(reason.status, Some(429));
        assert_eq!(reason.retry_after, Some(7));
        assert_eq!(reason.message, "Too many requests.");
        assert!(error.is_transient());
        assert!(!Error::invalid("empty channel").is_transient());
    }

    #[test]
    fn source_is_kept() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let error = Error::new(ErrorKind::Network, "connection failed").with_source(io);
        assert_eq!(error.source().map(|s| s.to_string()), Some("reset".into()));
        assert!(Error::invalid("x").source().is_none());
    }

    #[test]
    fn error_is_send_sync_and_small() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert!(std::mem::size_of::<Error>() <= 80);
    }
}

//! The one public error type of the SDK, and [`Reason`], the comparable error summary the state
//! machines carry.
//!
//! Every failure, whether the caller's input was rejected before anything was sent or the server
//! answered with something unexpected, is an [`Error`] whose [`Error::kind`] says what happened.

use std::fmt;

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
    /// The client was closed.
    Closed,
}

impl ErrorKind {
    /// The HTTP status this kind implies, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            ErrorKind::Http { status } => Some(*status),
            ErrorKind::AccessDenied => Some(403),
            _ => None,
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
            ErrorKind::Closed => f.write_str("client closed"),
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
        match (&self.kind, self.status) {
            (ErrorKind::Http { .. }, _) | (_, None) => write!(f, "{}", self.kind)?,
            (kind, Some(status)) => write!(f, "{kind} (HTTP {status})")?,
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

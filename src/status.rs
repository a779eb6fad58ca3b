//! Statuses: what the subscribe engine tells a person about the connection (ENGINE.md §1.5).

use crate::engine::Input;
use crate::error::{ErrorKind, Reason};

/// The category of a [`Status`], named as in PubNub's documentation.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCategory {
    /// A handshake succeeded: the client is receiving.
    Connected,
    /// The automatic retry recovered a failed receive loop.
    Reconnected,
    /// The loop was stopped on purpose (disconnect or unsubscribe).
    Disconnected,
    /// The receive loop failed; automatic retries follow.
    UnexpectedDisconnect,
    /// Retries were given up, or the handshake failed for good.
    ConnectionError,
    /// The set of channels and groups changed while receiving.
    SubscriptionChanged,
    /// Access Manager refused a request.
    AccessDenied,
    /// The server refused a request as malformed.
    BadRequest,
    /// A request timed out.
    Timeout,
    /// The network failed (connect, reset, DNS).
    NetworkIssues,
    /// One response carried at least `request_message_count_threshold` messages: older messages
    /// may have been dropped by the server's queue.
    RequestMessageCountExceeded,
    /// Anything else.
    Unknown,
}

impl StatusCategory {
    /// The category that best describes a failure `reason`.
    pub fn of_error(reason: &Reason) -> StatusCategory {
        match reason.kind {
            ErrorKind::AccessDenied => StatusCategory::AccessDenied,
            ErrorKind::Http { status: 400 } | ErrorKind::InvalidArgument => {
                StatusCategory::BadRequest
            }
            ErrorKind::Timeout => StatusCategory::Timeout,
            ErrorKind::Network => StatusCategory::NetworkIssues,
            _ => StatusCategory::Unknown,
        }
    }
}

/// A status: what happened to the connection, why, and which channels and groups it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// What happened.
    pub category: StatusCategory,
    /// Why, for `UnexpectedDisconnect` and `ConnectionError`.
    pub error: Option<Reason>,
    /// The channels subscribed when it happened.
    pub channels: Vec<String>,
    /// The channel groups subscribed when it happened.
    pub groups: Vec<String>,
}

impl Status {
    /// A status of `category` for the channels and groups of `input`.
    pub fn new(category: StatusCategory, input: &Input) -> Self {
        Status {
            category,
            error: None,
            channels: input.channels.iter().cloned().collect(),
            groups: input.groups.iter().cloned().collect(),
        }
    }

    /// A status of `category` caused by `reason`.
    pub fn with_error(category: StatusCategory, input: &Input, reason: Reason) -> Self {
        Status {
            error: Some(reason),
            ..Status::new(category, input)
        }
    }

    /// The category of the error behind this status (AccessDenied, BadRequest, Timeout,
    /// NetworkIssues or Unknown), or `None` when the status carries no error.
    pub fn error_category(&self) -> Option<StatusCategory> {
        self.error.as_ref().map(StatusCategory::of_error)
    }

    /// True for statuses that report a failure.
    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }
}

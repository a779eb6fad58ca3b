//! Statuses: what the subscribe engine tells a person about the connection (ENGINE.md §1.5).

use crate::engine::Input;
use crate::error::{ErrorKind, Reason};

/// The category of a [`Status`], named as in PubNub's documentation ("Handling
/// Disconnects"): one `match status.category` reaches every situation of the docs' table.
///
/// Failures get the category of their cause where the docs name one; the rest of the story is
/// told by the other categories. [`StatusCategory::story`] folds the cause categories back
/// into the six-step story, for apps that only want online / offline / gave up:
///
/// | situation | category | [`story`](StatusCategory::story) |
/// |---|---|---|
/// | the first handshake succeeded | `Connected` | `Connected` |
/// | the network is back after an outage | `Reconnected` | `Reconnected` |
/// | stopped on purpose (disconnect, unsubscribe) | `Disconnected` | `Disconnected` |
/// | channels or groups changed while receiving | `SubscriptionChanged` | `SubscriptionChanged` |
/// | an outage began (retries follow): a request timed out | `Timeout` | `UnexpectedDisconnect` |
/// | … the network failed (connect, reset, DNS) | `NetworkIssues` | `UnexpectedDisconnect` |
/// | … the server's answer could not be read | `Unknown` | `UnexpectedDisconnect` |
/// | … any other transient failure (5xx, 429) | `UnexpectedDisconnect` | `UnexpectedDisconnect` |
/// | refused by Access Manager (403): no retry | `AccessDenied` | `ConnectionError` |
/// | refused as malformed (400): no retry | `BadRequest` | `ConnectionError` |
/// | retries given up, or another fatal answer | `ConnectionError` | `ConnectionError` |
/// | one answer carried many messages: some may be lost | `RequestMessageCountExceeded` | itself |
/// | gap fill could not recover all of them | `MessagesNotRecovered` | itself |
///
/// An outage reports one failure status, whatever happens until it ends (`Reconnected`) or is
/// given up (`ConnectionError`). The cause is always in [`Status::error`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCategory {
    /// A handshake succeeded: the client is receiving.
    Connected,
    /// The network is back after an outage: the client is receiving again, nothing was lost.
    Reconnected,
    /// The loop was stopped on purpose (disconnect or unsubscribe).
    Disconnected,
    /// An outage began with a failure that is not a timeout, a network failure or an
    /// unreadable answer (a 5xx, a 429): automatic retries follow.
    UnexpectedDisconnect,
    /// Retries were given up, or a fatal answer other than 403 / 400 ended the loop.
    ConnectionError,
    /// The set of channels and groups changed while receiving.
    SubscriptionChanged,
    /// Access Manager refused the subscribe (403): the loop stopped, no retry. Set a valid
    /// token ([`PubNub::set_token`](crate::PubNub::set_token)) and reconnect.
    AccessDenied,
    /// The server refused a request as malformed (400): the loop stopped, no retry.
    BadRequest,
    /// An outage began with a request that timed out: automatic retries follow.
    Timeout,
    /// An outage began with a network failure (connect, reset, DNS): automatic retries follow.
    NetworkIssues,
    /// One response carried at least `request_message_count_threshold` messages: older messages
    /// may have been dropped by the server's queue.
    RequestMessageCountExceeded,
    /// An outage began with an answer that could not be read (not JSON, cut short, too
    /// large): automatic retries follow.
    Unknown,
    /// Gap fill ([`ConfigBuilder::gap_fill`](crate::ConfigBuilder::gap_fill)) could not
    /// recover every message the service's queue may have dropped: its page budget ran out, or
    /// history could not be read. [`Status::channels`] names the channels concerned and
    /// [`Status::error`] says why and which ranges are missing. The loop goes on.
    MessagesNotRecovered,
}

impl StatusCategory {
    /// The category that best describes a failure `reason`: `AccessDenied`, `BadRequest`,
    /// `Timeout`, `NetworkIssues`, or `Unknown` for anything else.
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

    /// The category of the status that reports the start of an outage caused by `reason`
    /// (retries follow).
    pub fn of_outage(reason: &Reason) -> StatusCategory {
        match reason.kind {
            ErrorKind::Timeout => StatusCategory::Timeout,
            ErrorKind::Network => StatusCategory::NetworkIssues,
            ErrorKind::Decode | ErrorKind::ResponseTooLarge => StatusCategory::Unknown,
            _ => StatusCategory::UnexpectedDisconnect,
        }
    }

    /// The category of the status that reports the end of the loop because of `reason` (a
    /// fatal answer, or retries given up).
    pub fn of_failure(reason: &Reason) -> StatusCategory {
        match StatusCategory::of_error(reason) {
            category @ (StatusCategory::AccessDenied | StatusCategory::BadRequest) => category,
            _ => StatusCategory::ConnectionError,
        }
    }

    /// The story this category tells: the cause categories folded into `UnexpectedDisconnect`
    /// (an outage began, retries follow) and `ConnectionError` (the loop stopped for good);
    /// the others are their own story (see the table above).
    pub fn story(self) -> StatusCategory {
        match self {
            StatusCategory::Timeout | StatusCategory::NetworkIssues | StatusCategory::Unknown => {
                StatusCategory::UnexpectedDisconnect
            }
            StatusCategory::AccessDenied | StatusCategory::BadRequest => {
                StatusCategory::ConnectionError
            }
            other => other,
        }
    }
}

/// A status: what happened to the connection, why, and which channels and groups it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// What happened.
    pub category: StatusCategory,
    /// Why, for the failure categories (`UnexpectedDisconnect`, `Timeout`, `NetworkIssues`,
    /// `Unknown`, `AccessDenied`, `BadRequest`, `ConnectionError`).
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

#[cfg(test)]
mod tests {
    use super::StatusCategory as C;
    use super::*;

    /// (reason, outage category, failure category).
    #[test]
    fn failures_take_the_category_of_their_cause() {
        let cases = [
            (
                Reason::new(ErrorKind::Timeout, "t"),
                C::Timeout,
                C::ConnectionError,
            ),
            (
                Reason::new(ErrorKind::Network, "n"),
                C::NetworkIssues,
                C::ConnectionError,
            ),
            (
                Reason::new(ErrorKind::Decode, "d"),
                C::Unknown,
                C::ConnectionError,
            ),
            (
                Reason::new(ErrorKind::ResponseTooLarge, "r"),
                C::Unknown,
                C::ConnectionError,
            ),
            (
                Reason::http(500, "oops"),
                C::UnexpectedDisconnect,
                C::ConnectionError,
            ),
            (
                Reason::http(429, "slow"),
                C::UnexpectedDisconnect,
                C::ConnectionError,
            ),
            (
                Reason::http(403, "Forbidden"),
                C::UnexpectedDisconnect,
                C::AccessDenied,
            ),
            (
                Reason::http(400, "Bad"),
                C::UnexpectedDisconnect,
                C::BadRequest,
            ),
            (
                Reason::http(404, "Not found"),
                C::UnexpectedDisconnect,
                C::ConnectionError,
            ),
        ];
        for (reason, outage, failure) in cases {
            assert_eq!(C::of_outage(&reason), outage, "{reason:?}");
            assert_eq!(C::of_failure(&reason), failure, "{reason:?}");
            assert_eq!(outage.story(), C::UnexpectedDisconnect);
            assert_eq!(failure.story(), C::ConnectionError);
        }
    }

    #[test]
    fn the_story_categories_are_their_own_story() {
        for category in [
            C::Connected,
            C::Reconnected,
            C::Disconnected,
            C::SubscriptionChanged,
            C::UnexpectedDisconnect,
            C::ConnectionError,
            C::RequestMessageCountExceeded,
            C::MessagesNotRecovered,
        ] {
            assert_eq!(category.story(), category);
        }
    }
}

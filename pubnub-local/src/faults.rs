//! Fault injection: make the next N requests of an endpoint group misbehave.
//!
//! Every fault is bounded by its count and removes itself when used up. Faults are consumed
//! in the order they were added; a request takes at most one.
//!
//! ```
//! use pubnub_local::faults::{Endpoint, Fault, FaultController};
//! use std::time::Duration;
//!
//! let faults = FaultController::new();
//! faults.inject(Fault::status(503).on(Endpoint::Subscribe).times(2).retry_after(1));
//! faults.inject(Fault::delay(Duration::from_millis(200)).on(Endpoint::Publish));
//! assert_eq!(faults.pending().len(), 2);
//! faults.clear();
//! ```

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// The endpoint groups a fault can target. New groups come with new endpoints, so `match` on it
/// needs a `_` arm.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    /// `/v2/subscribe`: handshakes and long-polls. A rule for this group also applies to
    /// [`Endpoint::LongPoll`] requests.
    Subscribe,
    /// `/v2/subscribe` with a non-zero `tt`: the long-poll that waits for messages, not the
    /// handshake (`tt` absent or `0`), which stays answered. Serialized `long-poll`.
    LongPoll,
    /// `/publish` and `/v2/publish`.
    Publish,
    /// `/signal`.
    Signal,
    /// `/v2/presence`: heartbeat, leave, here-now, where-now, state.
    Presence,
    /// `/v1/channel-registration`.
    ChannelGroups,
    /// `/time/0`.
    Time,
    /// `/v3/history` and `/v3/history-with-actions`: fetch, message counts, delete.
    History,
    /// `/v1/message-actions`: add, remove, get.
    MessageActions,
    /// `/v2/objects`: App Context (user and channel metadata, memberships, members).
    AppContext,
    /// `/v1/files/{sub_key}/channels/…`: File Sharing's REST calls (generate an upload form,
    /// list files, get a file's URL, delete a file).
    Files,
    /// `/v1/files/publish-file`: the file message a sender publishes after its upload.
    PublishFile,
    /// The storage step of File Sharing, the stand-in for S3: the upload (`POST
    /// /__files/upload`) and the download (`GET /__files/download/…`). A `status` fault
    /// answers with S3's XML error body.
    FileStorage,
    /// `/v1/push` and `/v2/push`: mobile push registrations (add, remove, list channels,
    /// remove a device).
    Push,
    /// Any of the above.
    All,
}

impl Endpoint {
    /// Whether a rule for `self` applies to a request of group `request`, the narrowest group
    /// it belongs to (`LongPoll` for a long-poll, never `All`).
    fn covers(self, request: Endpoint) -> bool {
        self == Endpoint::All
            || self == request
            || (self == Endpoint::Subscribe && request == Endpoint::LongPoll)
    }
}

/// What a faulted request does instead of (or besides) its normal work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer at once with this HTTP status and a JSON error body, without doing the work.
    Status {
        /// HTTP status code.
        status: u16,
        /// `Retry-After` header, in seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u32>,
    },
    /// Wait, then handle the request normally.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Close the connection without answering (the work is not done).
    Reset,
    /// Do the work, then answer with only the first half of the JSON body.
    Truncated,
    /// Do the work, then answer 200 with a body that is not JSON.
    NonJson,
    /// Never answer: hold the request until the client gives up (or the server stops).
    Hang,
    /// Publish, signal, publish-file, message actions and file storage only: store and
    /// deliver the message (add or remove the action, store the upload), then answer with
    /// this status instead of success. Tests at-least-once publishing (the retry makes a
    /// duplicate; a retried add gets 409).
    StoreThenFail {
        /// HTTP status code.
        status: u16,
    },
    /// Publish, signal, publish-file, message actions and file storage only: do the work,
    /// then close the connection.
    StoreThenReset,
}

/// One bounded fault rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Which requests it applies to.
    #[serde(default = "all_endpoints")]
    pub endpoint: Endpoint,
    /// What happens to them.
    #[serde(flatten)]
    pub action: FaultAction,
    /// How many more requests it applies to.
    #[serde(default = "one")]
    pub times: u32,
}

fn all_endpoints() -> Endpoint {
    Endpoint::All
}

fn one() -> u32 {
    1
}

impl Fault {
    /// A fault for every endpoint, once.
    pub fn new(action: FaultAction) -> Fault {
        Fault {
            endpoint: Endpoint::All,
            action,
            times: 1,
        }
    }

    /// Answer with `status` (e.g. 500, 503, 429, 403).
    pub fn status(status: u16) -> Fault {
        Fault::new(FaultAction::Status {
            status,
            retry_after: None,
        })
    }

    /// Delay the request by `delay`, then serve it.
    pub fn delay(delay: Duration) -> Fault {
        Fault::new(FaultAction::Delay {
            ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Close the connection without a response.
    pub fn reset() -> Fault {
        Fault::new(FaultAction::Reset)
    }

    /// Serve the request but cut its body in half.
    pub fn truncated() -> Fault {
        Fault::new(FaultAction::Truncated)
    }

    /// Serve the request but answer 200 with a body that is not JSON.
    pub fn non_json() -> Fault {
        Fault::new(FaultAction::NonJson)
    }

    /// Never answer.
    pub fn hang() -> Fault {
        Fault::new(FaultAction::Hang)
    }

    /// Publish the message, then answer `status`.
    pub fn store_then_fail(status: u16) -> Fault {
        Fault::new(FaultAction::StoreThenFail { status })
    }

    /// Publish the message, then close the connection.
    pub fn store_then_reset() -> Fault {
        Fault::new(FaultAction::StoreThenReset)
    }

    /// Restricts the fault to one endpoint group.
    pub fn on(mut self, endpoint: Endpoint) -> Fault {
        self.endpoint = endpoint;
        self
    }

    /// Applies the fault to the next `times` matching requests (default 1).
    pub fn times(mut self, times: u32) -> Fault {
        self.times = times;
        self
    }

    /// Adds `Retry-After: seconds` to a [`Fault::status`] answer; no effect on other faults.
    pub fn retry_after(mut self, seconds: u32) -> Fault {
        if let FaultAction::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(seconds);
        }
        self
    }
}

/// Controls faults of one server. Cheap to clone; all clones share the same rules.
#[derive(Debug, Clone, Default)]
pub struct FaultController {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rules: Mutex<Vec<Fault>>,
    long_polls: Mutex<CancellationToken>,
}

impl FaultController {
    /// A controller with no faults.
    pub fn new() -> FaultController {
        FaultController::default()
    }

    fn rules(&self) -> MutexGuard<'_, Vec<Fault>> {
        self.inner.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a fault rule. A rule with `times == 0` is ignored.
    pub fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            self.rules().push(fault);
        }
    }

    /// Removes every pending rule.
    pub fn clear(&self) {
        self.rules().clear();
    }

    /// Rules not yet used up, in the order they will be applied.
    pub fn pending(&self) -> Vec<Fault> {
        self.rules().clone()
    }

    /// Closes every subscribe long-poll that is open right now, without a response. Later
    /// subscribes are not affected.
    pub fn drop_long_polls(&self) {
        let mut token = self
            .inner
            .long_polls
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        token.cancel();
        *token = CancellationToken::new();
    }

    /// A token cancelled by the next [`FaultController::drop_long_polls`].
    pub(crate) fn long_poll_token(&self) -> CancellationToken {
        self.inner
            .long_polls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Consumes one use of the first rule matching `endpoint`.
    pub(crate) fn take(&self, endpoint: Endpoint) -> Option<FaultAction> {
        let mut rules = self.rules();
        let index = rules
            .iter()
            .position(|rule| rule.endpoint.covers(endpoint) && applies(&rule.action, endpoint))?;
        let rule = &mut rules[index];
        let action = rule.action.clone();
        rule.times -= 1;
        if rule.times == 0 {
            rules.remove(index);
        }
        Some(action)
    }
}

/// "Store then fail" only means something where a message, an action or a file is stored.
fn applies(action: &FaultAction, endpoint: Endpoint) -> bool {
    match action {
        FaultAction::StoreThenFail { .. } | FaultAction::StoreThenReset => matches!(
            endpoint,
            Endpoint::Publish
                | Endpoint::Signal
                | Endpoint::MessageActions
                | Endpoint::PublishFile
                | Endpoint::FileStorage
        ),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_bounded_and_ordered() {
        let faults = FaultController::new();
        faults.inject(Fault::status(500).on(Endpoint::Publish).times(2));
        faults.inject(Fault::reset());
        faults.inject(Fault::hang().times(0));
        assert_eq!(faults.take(Endpoint::Time), Some(FaultAction::Reset));
        assert_eq!(faults.take(Endpoint::Time), None);
        let status = FaultAction::Status {
            status: 500,
            retry_after: None,
        };
        assert_eq!(faults.take(Endpoint::Publish), Some(status.clone()));
        assert_eq!(faults.take(Endpoint::Publish), Some(status));
        assert_eq!(faults.take(Endpoint::Publish), None);
        assert!(faults.pending().is_empty());
    }

    #[test]
    fn store_then_fail_skips_other_endpoints() {
        let faults = FaultController::new();
        faults.inject(Fault::store_then_fail(500));
        assert_eq!(faults.take(Endpoint::Subscribe), None);
        assert_eq!(
            faults.take(Endpoint::Signal),
            Some(FaultAction::StoreThenFail { status: 500 })
        );
    }

    #[test]
    fn long_poll_rules_spare_handshakes_and_subscribe_rules_cover_both() {
        let faults = FaultController::new();
        faults.inject(Fault::status(502).on(Endpoint::LongPoll));
        assert_eq!(faults.take(Endpoint::Subscribe), None, "a handshake");
        assert!(faults.take(Endpoint::LongPoll).is_some());
        faults.inject(Fault::reset().on(Endpoint::Subscribe).times(2));
        assert_eq!(faults.take(Endpoint::Subscribe), Some(FaultAction::Reset));
        assert_eq!(faults.take(Endpoint::LongPoll), Some(FaultAction::Reset));
        faults.inject(Fault::reset());
        assert_eq!(faults.take(Endpoint::LongPoll), Some(FaultAction::Reset));
        // A rule for long-polls never applies to another group.
        faults.inject(Fault::reset().on(Endpoint::LongPoll));
        assert_eq!(faults.take(Endpoint::Publish), None);
        assert_eq!(faults.take(Endpoint::All), None);
    }

    #[test]
    fn json_form() {
        let fault: Fault = serde_json::from_str(
            r#"{"endpoint":"channel-groups","fault":"status","status":503,"retry_after":2,"times":3}"#,
        )
        .unwrap();
        assert_eq!(
            fault,
            Fault::status(503)
                .on(Endpoint::ChannelGroups)
                .retry_after(2)
                .times(3)
        );
        let fault: Fault = serde_json::from_str(r#"{"fault":"delay","ms":50}"#).unwrap();
        assert_eq!(fault, Fault::delay(Duration::from_millis(50)));
        for (name, endpoint) in [
            ("files", Endpoint::Files),
            ("publish-file", Endpoint::PublishFile),
            ("file-storage", Endpoint::FileStorage),
            ("long-poll", Endpoint::LongPoll),
            ("push", Endpoint::Push),
        ] {
            let fault: Fault =
                serde_json::from_str(&format!(r#"{{"endpoint":"{name}","fault":"reset"}}"#))
                    .unwrap();
            assert_eq!(fault, Fault::reset().on(endpoint));
        }
    }

    #[test]
    fn drop_long_polls_cancels_only_current_token() {
        let faults = FaultController::new();
        let before = faults.long_poll_token();
        faults.drop_long_polls();
        assert!(before.is_cancelled());
        assert!(!faults.long_poll_token().is_cancelled());
    }
}

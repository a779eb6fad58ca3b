//! Fault injection: make the next N requests of an endpoint group misbehave.
//!
//! Every fault is bounded by its count and removes itself when used up. Faults are consumed
//! in the order they were added; a request takes at most one.
//!
//! A fault may also name a user id ([`Fault::for_user`]) or a channel ([`Fault::on_channel`]):
//! it then applies to, and counts, only the requests that match, so two clients of one server
//! can be broken separately.
//!
//! ```
//! use pubnub_local::faults::{Endpoint, Fault, FaultController};
//! use std::time::Duration;
//!
//! let faults = FaultController::new();
//! faults.inject(Fault::status(503).on(Endpoint::Subscribe).times(2).retry_after(1));
//! faults.inject(Fault::delay(Duration::from_millis(200)).on(Endpoint::Publish));
//! faults.inject(Fault::status(500).on(Endpoint::Publish).for_user("bob").on_channel("room"));
//! assert_eq!(faults.pending().len(), 3);
//! faults.clear();
//! ```

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
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

/// How the console's request log names a fault: `status 503`, `delay 500 ms`, `reset`, …
impl std::fmt::Display for FaultAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultAction::Status {
                status,
                retry_after: Some(seconds),
            } => write!(f, "status {status} (Retry-After {seconds})"),
            FaultAction::Status { status, .. } => write!(f, "status {status}"),
            FaultAction::Delay { ms } => write!(f, "delay {ms} ms"),
            FaultAction::Reset => f.write_str("reset"),
            FaultAction::Truncated => f.write_str("truncated"),
            FaultAction::NonJson => f.write_str("non_json"),
            FaultAction::Hang => f.write_str("hang"),
            FaultAction::StoreThenFail { status } => write!(f, "store_then_fail {status}"),
            FaultAction::StoreThenReset => f.write_str("store_then_reset"),
        }
    }
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
    /// Only requests from this user id (their `uuid` query parameter); `None`: anyone's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Only requests that name this channel (decoded, exactly as listed: `room-pnpres` and
    /// `room.*` are other names); `None`: any request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
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
            user: None,
            channel: None,
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

    /// Restricts the fault to requests whose `uuid` query parameter is `user_id`. Requests of
    /// other users neither take it nor use up its [`times`](Fault::times).
    pub fn for_user(mut self, user_id: impl Into<String>) -> Fault {
        self.user = Some(user_id.into());
        self
    }

    /// Restricts the fault to requests that name `channel`: the channel of a publish, signal,
    /// file or message-action call, any channel of a subscribe, presence or history call's
    /// channel list, the channel of an App Context channel call, a push call's `add` or
    /// `remove` channels. Names are compared decoded and exactly (a channel reached through a
    /// channel group is not named by the request).
    pub fn on_channel(mut self, channel: impl Into<String>) -> Fault {
        self.channel = Some(channel.into());
        self
    }

    /// Whether the request of `user` naming `channels` (computed on demand) matches the
    /// fault's matchers.
    fn matches<F>(&self, user: Option<&str>, channels: &mut Names<F>) -> bool
    where
        F: FnOnce() -> Vec<String>,
    {
        if self.user.is_some() && self.user.as_deref() != user {
            return false;
        }
        match &self.channel {
            Some(channel) => channels.get().iter().any(|name| name == channel),
            None => true,
        }
    }

    /// Adds `Retry-After: seconds` to a [`Fault::status`] answer; no effect on other faults.
    pub fn retry_after(mut self, seconds: u32) -> Fault {
        if let FaultAction::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(seconds);
        }
        self
    }
}

/// The channels a request names, decoded only when a rule asks for them: most requests meet
/// no channel rule, and decoding a 1,000-channel subscribe for nothing would cost.
struct Names<F> {
    compute: Option<F>,
    names: Vec<String>,
}

impl<F: FnOnce() -> Vec<String>> Names<F> {
    fn get(&mut self) -> &[String] {
        if let Some(compute) = self.compute.take() {
            self.names = compute();
        }
        &self.names
    }
}

/// Identifies one pending rule of a [`FaultController`], to [remove](FaultController::remove)
/// it before it is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FaultId(pub u64);

impl std::fmt::Display for FaultId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Controls faults of one server. Cheap to clone; all clones share the same rules.
#[derive(Debug, Clone, Default)]
pub struct FaultController {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    rules: Mutex<Rules>,
    long_polls: Mutex<CancellationToken>,
    /// Bumped whenever the rules change, so a console can show them without polling.
    changed: watch::Sender<u64>,
}

impl Default for Inner {
    fn default() -> Inner {
        Inner {
            rules: Mutex::default(),
            long_polls: Mutex::default(),
            changed: watch::Sender::new(0),
        }
    }
}

#[derive(Debug, Default)]
struct Rules {
    next_id: u64,
    pending: Vec<(FaultId, Fault)>,
}

impl FaultController {
    /// A controller with no faults.
    pub fn new() -> FaultController {
        FaultController::default()
    }

    fn lock(&self) -> MutexGuard<'_, Rules> {
        self.inner.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn touch(&self) {
        self.inner.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Adds a fault rule. A rule with `times == 0` is ignored.
    pub fn inject(&self, fault: Fault) {
        self.add(fault);
    }

    /// [`inject`](Self::inject), returning the rule's id for [`remove`](Self::remove);
    /// `None` when `times == 0` (nothing was added).
    pub fn add(&self, fault: Fault) -> Option<FaultId> {
        if fault.times == 0 {
            return None;
        }
        let id = {
            let mut rules = self.lock();
            let id = FaultId(rules.next_id);
            rules.next_id += 1;
            rules.pending.push((id, fault));
            id
        };
        self.touch();
        Some(id)
    }

    /// Removes one pending rule; returns it, or `None` when it was used up or removed already.
    pub fn remove(&self, id: FaultId) -> Option<Fault> {
        let removed = {
            let mut rules = self.lock();
            let at = rules.pending.iter().position(|(rule, _)| *rule == id)?;
            rules.pending.remove(at).1
        };
        self.touch();
        Some(removed)
    }

    /// Removes every pending rule.
    pub fn clear(&self) {
        self.lock().pending.clear();
        self.touch();
    }

    /// Rules not yet used up, in the order they will be applied.
    pub fn pending(&self) -> Vec<Fault> {
        self.lock().pending.iter().map(|(_, f)| f.clone()).collect()
    }

    /// [`pending`](Self::pending) with each rule's id.
    pub fn rules(&self) -> Vec<(FaultId, Fault)> {
        self.lock().pending.clone()
    }

    /// A receiver that sees a new value whenever the rules change (added, used, removed).
    pub(crate) fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
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

    /// Consumes one use of the first rule matching a request of group `endpoint`, from
    /// `user`, naming the channels `channels` returns (called at most once, and only when a
    /// rule names a channel).
    pub(crate) fn take(
        &self,
        endpoint: Endpoint,
        user: Option<&str>,
        channels: impl FnOnce() -> Vec<String>,
    ) -> Option<FaultAction> {
        let mut names = Names {
            compute: Some(channels),
            names: Vec::new(),
        };
        let action = {
            let mut rules = self.lock();
            let index = rules.pending.iter().position(|(_, rule)| {
                rule.endpoint.covers(endpoint)
                    && applies(&rule.action, endpoint)
                    && rule.matches(user, &mut names)
            })?;
            let rule = &mut rules.pending[index].1;
            let action = rule.action.clone();
            rule.times -= 1;
            if rule.times == 0 {
                rules.pending.remove(index);
            }
            action
        };
        self.touch();
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

    /// A request of `endpoint` by nobody in particular, naming no channel.
    fn take(faults: &FaultController, endpoint: Endpoint) -> Option<FaultAction> {
        faults.take(endpoint, None, Vec::new)
    }

    #[test]
    fn rules_are_bounded_and_ordered() {
        let faults = FaultController::new();
        faults.inject(Fault::status(500).on(Endpoint::Publish).times(2));
        faults.inject(Fault::reset());
        faults.inject(Fault::hang().times(0));
        assert_eq!(take(&faults, Endpoint::Time), Some(FaultAction::Reset));
        assert_eq!(take(&faults, Endpoint::Time), None);
        let status = FaultAction::Status {
            status: 500,
            retry_after: None,
        };
        assert_eq!(take(&faults, Endpoint::Publish), Some(status.clone()));
        assert_eq!(take(&faults, Endpoint::Publish), Some(status));
        assert_eq!(take(&faults, Endpoint::Publish), None);
        assert!(faults.pending().is_empty());
    }

    #[test]
    fn store_then_fail_skips_other_endpoints() {
        let faults = FaultController::new();
        faults.inject(Fault::store_then_fail(500));
        assert_eq!(take(&faults, Endpoint::Subscribe), None);
        assert_eq!(
            take(&faults, Endpoint::Signal),
            Some(FaultAction::StoreThenFail { status: 500 })
        );
    }

    #[test]
    fn long_poll_rules_spare_handshakes_and_subscribe_rules_cover_both() {
        let faults = FaultController::new();
        faults.inject(Fault::status(502).on(Endpoint::LongPoll));
        assert_eq!(take(&faults, Endpoint::Subscribe), None, "a handshake");
        assert!(take(&faults, Endpoint::LongPoll).is_some());
        faults.inject(Fault::reset().on(Endpoint::Subscribe).times(2));
        assert_eq!(take(&faults, Endpoint::Subscribe), Some(FaultAction::Reset));
        assert_eq!(take(&faults, Endpoint::LongPoll), Some(FaultAction::Reset));
        faults.inject(Fault::reset());
        assert_eq!(take(&faults, Endpoint::LongPoll), Some(FaultAction::Reset));
        // A rule for long-polls never applies to another group.
        faults.inject(Fault::reset().on(Endpoint::LongPoll));
        assert_eq!(take(&faults, Endpoint::Publish), None);
        assert_eq!(take(&faults, Endpoint::All), None);
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
        let json = r#"{"endpoint":"publish","fault":"status","status":500,"times":1,"user":"bob","channel":"room"}"#;
        let fault: Fault = serde_json::from_str(json).unwrap();
        assert_eq!(
            fault,
            Fault::status(500)
                .on(Endpoint::Publish)
                .for_user("bob")
                .on_channel("room")
        );
        assert_eq!(serde_json::to_string(&fault).unwrap(), json);
        let plain = serde_json::to_value(Fault::reset()).unwrap();
        assert_eq!(plain.get("user"), None, "no matcher, no key");
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
    fn matchers_count_only_matching_requests() {
        let faults = FaultController::new();
        faults.inject(Fault::reset().on(Endpoint::Publish).for_user("bob"));
        faults.inject(Fault::status(500).on_channel("room").times(2));
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Alice's publish to another channel takes nothing.
        let take_as = |user, channels: &[&str]| {
            let channels = names(channels);
            faults.take(Endpoint::Publish, user, move || channels)
        };
        assert_eq!(take_as(Some("alice"), &["lobby"]), None);
        assert_eq!(take_as(None, &[]), None);
        assert_eq!(take_as(Some("bob"), &["lobby"]), Some(FaultAction::Reset));
        assert_eq!(
            take_as(Some("bob"), &["lobby"]),
            None,
            "bob's fault is used up"
        );
        let status = Some(FaultAction::Status {
            status: 500,
            retry_after: None,
        });
        // Any channel of a list matches; names are compared exactly.
        assert_eq!(take_as(Some("alice"), &["room-pnpres", "room.*"]), None);
        assert_eq!(take_as(Some("alice"), &["a", "room"]), status);
        assert_eq!(faults.pending()[0].times, 1);
        // Channels are not computed when no rule names one.
        faults.clear();
        faults.inject(Fault::reset().for_user("bob"));
        let computed = std::cell::Cell::new(false);
        let none = faults.take(Endpoint::Time, Some("alice"), || {
            computed.set(true);
            Vec::new()
        });
        assert_eq!(none, None);
        assert!(!computed.get());
    }

    #[test]
    fn ids_remove_one_rule_and_changes_are_seen() {
        let faults = FaultController::new();
        let mut changes = faults.changes();
        let first = faults.add(Fault::reset()).unwrap();
        let second = faults.add(Fault::hang()).unwrap();
        assert_eq!(faults.add(Fault::hang().times(0)), None);
        assert_ne!(first, second);
        assert!(changes.has_changed().unwrap());
        changes.borrow_and_update();
        assert_eq!(faults.remove(first), Some(Fault::reset()));
        assert_eq!(faults.remove(first), None);
        assert_eq!(faults.rules(), vec![(second, Fault::hang())]);
        assert!(changes.has_changed().unwrap());
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

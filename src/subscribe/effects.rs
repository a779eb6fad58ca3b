//! What each subscribe invocation does: the handshake and long-poll requests, their retries,
//! and the delivery of statuses and messages.
//!
//! The effects decide nothing: a reconnect invocation carries the machine's decision (wait
//! this long, or give up), and the effect sleeps and sends, or reports the give-up at once.
//! Timeouts follow what the service does: a handshake (`tt=0`) is answered at once, so it gets
//! the short handshake timeout; a long-poll is held by the service, so it gets the long one,
//! and one that stays silent past the liveness interval the machine gave is reported to it (see
//! [`ConfigBuilder::long_poll_liveness`](crate::ConfigBuilder::long_poll_liveness)).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::driver::{Dispatch, Effects};
use crate::engine::{Cursor, Input};
use crate::error::Error;
use crate::files;
use crate::history::{FetchOp, HistoryMessage};
use crate::presence::joined::{Joined, Outcome};
use crate::request;
use crate::retry::RetryDecision;
use crate::service::Core;
use crate::status::Status;
use crate::subscribe::envelope::{self, Envelope, EnvelopeKind, SubscribeResponse};
use crate::subscribe::events::Update;
use crate::subscribe::listeners::Listeners;
use crate::subscribe::machine::{Event, GapRange, Invocation, Messages, SubscribeMachine};
use crate::subscribe::manager::Registry;
use crate::subscribe::streams::ClientListeners;
use crate::transport::encode;
use crate::transport::{Method, Request};

/// Which invocation a handshake answers, and so which events report it.
#[derive(Clone, Copy)]
enum Answer {
    Handshake,
    HandshakeReconnect,
}

impl Answer {
    fn event(self, answer: Result<SubscribeResponse, Error>) -> Event {
        match (self, answer) {
            (Answer::Handshake, Ok(r)) => Event::HandshakeSuccess { cursor: r.cursor },
            (Answer::Handshake, Err(e)) => Event::HandshakeFailure { reason: e.reason() },
            (Answer::HandshakeReconnect, Ok(r)) => {
                Event::HandshakeReconnectSuccess { cursor: r.cursor }
            }
            (Answer::HandshakeReconnect, Err(e)) => {
                Event::HandshakeReconnectFailure { reason: e.reason() }
            }
        }
    }
}

/// The subscribe engine's effects.
pub(crate) struct SubscribeEffects {
    pub(crate) core: Arc<Core>,
    pub(crate) registry: Arc<Mutex<Registry>>,
    pub(crate) listeners: Arc<ClientListeners>,
    /// What may have been joined, reported for every handshake (see [`Joined`]).
    pub(crate) joined: Arc<Joined>,
}

/// The subscribe request for `input` from `cursor` (`tt=0` for a handshake, never with `tr`).
pub(crate) fn request(core: &Core, input: &Input, cursor: Option<Cursor>) -> Request {
    let config = core.config();
    let channels = if input.channels.is_empty() {
        ",".to_string()
    } else {
        encode::name_list(input.channels.iter().map(String::as_str))
    };
    let path = format!(
        "/v2/subscribe/{}/{channels}/0",
        encode::encode(config.subscribe_key())
    );
    let mut request = core.request(Method::Get, path);
    request.max_response_bytes = config.max_subscribe_response_bytes();
    match cursor {
        Some(c) if c.timetoken != 0 => {
            request.timeout = config.subscribe_request_timeout();
            request.query.push(("tt", c.timetoken.to_string()));
            if c.region != 0 {
                request.query.push(("tr", c.region.to_string()));
            }
        }
        _ => {
            request.timeout = config.handshake_timeout();
            request.query.push(("tt", "0".to_string()));
        }
    }
    if !input.groups.is_empty() {
        let groups: Vec<&str> = input.groups.iter().map(String::as_str).collect();
        request.query.push(("channel-group", groups.join(",")));
    }
    request
        .query
        .push(("heartbeat", config.presence_timeout().to_string()));
    if let Some(state) = core.presence_state_for(&input.without_presence()) {
        request.query.push(("state", state));
    }
    if let Some(filter) = config.filter_expression() {
        request.query.push(("filter-expr", filter.to_string()));
    }
    request
}

/// Sends a subscribe request and parses the answer into a cursor and envelopes.
pub(crate) async fn subscribe(
    core: &Core,
    input: &Input,
    cursor: Option<Cursor>,
) -> Result<SubscribeResponse, Error> {
    let response = core.send(request(core, input, cursor)).await?;
    if response.is_success() {
        if let Ok(parsed) = envelope::parse(&response.body) {
            return Ok(parsed);
        }
    }
    // Not an envelope: an error answer (possibly a 200 whose body reports one), or garbage.
    crate::transport::response::check(&response)?;
    Err(Error::decode(format!(
        "malformed subscribe response ({} bytes)",
        response.body.len()
    )))
}

/// A handshake of `input`, reported to `joined`: it joins the names (presence) unless refused.
async fn handshake(
    core: &Core,
    joined: &Joined,
    input: &Input,
) -> Result<SubscribeResponse, Error> {
    joined.sent(input);
    let result = subscribe(core, input, None).await;
    joined.answered(input, Outcome::of(&result));
    result
}

/// What a long-poll from `cursor` did, as the machine asked for it: with `probe`, a handshake
/// of the same input (answered at once) goes first, and its failure is the long-poll's; with
/// `liveness`, a long-poll silent that long is dropped and reported as silent (the machine
/// decides what follows). One subscribe request is in flight at a time, as always, and the
/// cursor does not move.
enum Polled {
    Answered(SubscribeResponse),
    Failed(Error),
    Silent,
}

async fn receive(
    core: &Core,
    joined: &Joined,
    input: &Input,
    cursor: Cursor,
    liveness: Option<Duration>,
    probe: bool,
) -> Polled {
    if probe {
        if let Err(e) = handshake(core, joined, input).await {
            return Polled::Failed(e);
        }
    }
    let poll = subscribe(core, input, Some(cursor));
    let answer = match liveness {
        Some(liveness) => match tokio::time::timeout(liveness, poll).await {
            Ok(answer) => answer,
            Err(_) => return Polled::Silent,
        },
        None => poll.await,
    };
    match answer {
        Ok(r) => Polled::Answered(r),
        Err(e) => Polled::Failed(e),
    }
}

/// Records where the long-poll about to start polls from: the origin of the batch it brings.
fn set_polling_from(registry: &Mutex<Registry>, cursor: Cursor) {
    registry
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .polling_from = Some(cursor.timetoken);
}

impl SubscribeEffects {
    /// Obeys a reconnecting state's decision: reports the give-up at once (no request), or
    /// waits the decided delay and then handshakes, reported as `answer` says.
    fn reconnect(
        &self,
        input: Input,
        retry: RetryDecision,
        answer: Answer,
        give_up: impl FnOnce() -> Event + Send + 'static,
    ) -> Dispatch<Event> {
        match retry {
            RetryDecision::GiveUp => Dispatch::Async(Box::pin(async move { Some(give_up()) })),
            RetryDecision::Wait(delay) => self.handshake(input, Some(delay), answer),
        }
    }

    /// After `delay` (a reconnecting state's decision), a handshake of `input`, answered at
    /// once (after a failure, it proves the network is back), reported as `answer` says.
    fn handshake(&self, input: Input, delay: Option<Duration>, answer: Answer) -> Dispatch<Event> {
        let (core, joined) = (self.core.clone(), self.joined.clone());
        Dispatch::Async(Box::pin(async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            Some(answer.event(handshake(&core, &joined, &input).await))
        }))
    }

    fn emit_status(&self, status: &Status) {
        self.listeners.status(status);
    }

    /// Routes each envelope to the subscriptions its match (`b`) names, at most once per
    /// subscription, in response order; client-level listeners see every update once.
    fn emit_messages(&self, messages: &Messages, cursor: Cursor) {
        // A subscription that covers a message twice (its channel and a group holding it)
        // receives it once: remember (subscription, channel, timetoken) within this response.
        // Client-level listeners use the key 0, which no `Arc` address can be.
        let mut delivered: HashSet<(usize, &str, u64)> = HashSet::new();
        let crypto = self.core.config().crypto_module();
        // The cursor this batch was polled from: each set of listeners records what it had.
        let from = self
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .polling_from
            .unwrap_or(0);
        for message in messages.iter() {
            let (channel, timetoken) = (message.channel.as_str(), message.published.timetoken);
            // Decrypted here, once for every listener; the machine never sees the difference.
            let mut update = crate::crypto::received::decode(message, crypto);
            if let Update::File(file) = &mut update {
                file.url =
                    files::file_url(&self.core, &file.channel, &file.file_id, &file.file_name);
            }
            // An undecodable event may have no channel or timetoken to tell it apart: it is
            // never taken for a second copy of another.
            let undecodable = matches!(update, Update::Undecodable(_));
            if undecodable {
                self.listeners.count_undecodable();
            }
            let mut first = |key: usize| undecodable || delivered.insert((key, channel, timetoken));
            if first(0) {
                self.listeners.update(&update, from);
            }
            // Targets are looked up for each message, under the lock, and delivered to without
            // it: a callback may unsubscribe a subscription, which then receives nothing more.
            let targets: Vec<Arc<Listeners>> = {
                let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
                registry
                    .routes(&message.subscription)
                    .iter()
                    .map(|(_, l)| l.clone())
                    .collect()
            };
            for listeners in targets {
                if first(Arc::as_ptr(&listeners) as usize) {
                    listeners.deliver(&update, from);
                }
            }
        }
        tracing::trace!(
            count = messages.len(),
            timetoken = cursor.timetoken,
            "delivered"
        );
    }
}

impl Effects<SubscribeMachine> for SubscribeEffects {
    fn dispatch(&self, invocation: Invocation) -> Dispatch<Event> {
        let core = self.core.clone();
        match invocation {
            Invocation::Handshake { input, .. } => self.handshake(input, None, Answer::Handshake),
            Invocation::HandshakeReconnect {
                input,
                reason,
                retry,
                ..
            } => self.reconnect(input, retry, Answer::HandshakeReconnect, || {
                Event::HandshakeReconnectGiveup { reason }
            }),
            Invocation::ReceiveMessages {
                input,
                cursor,
                liveness,
                probe,
            } => {
                let (registry, joined) = (self.registry.clone(), self.joined.clone());
                Dispatch::Async(Box::pin(async move {
                    // Started after the previous batch was delivered: the next batch's origin.
                    set_polling_from(&registry, cursor);
                    Some(
                        match receive(&core, &joined, &input, cursor, liveness, probe).await {
                            Polled::Answered(r) => Event::ReceiveSuccess {
                                cursor: r.cursor,
                                messages: r.messages.into(),
                            },
                            Polled::Failed(e) => Event::ReceiveFailure { reason: e.reason() },
                            Polled::Silent => Event::LongPollSilent,
                        },
                    )
                }))
            }
            // After the machine's delay: a handshake of the same input proves the network
            // answers, then the long-poll from the kept cursor shows whether the loop receives
            // (answered, or held for the settle time as on an idle channel) or not.
            Invocation::ReceiveReconnect {
                input,
                cursor,
                retry: RetryDecision::Wait(delay),
                settle,
                ..
            } => {
                let (registry, joined) = (self.registry.clone(), self.joined.clone());
                Dispatch::Async(Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    set_polling_from(&registry, cursor);
                    Some(
                        match receive(&core, &joined, &input, cursor, Some(settle), true).await {
                            Polled::Answered(r) => Event::ReceiveReconnectSuccess {
                                cursor: r.cursor,
                                messages: r.messages.into(),
                            },
                            Polled::Failed(e) => {
                                Event::ReceiveReconnectFailure { reason: e.reason() }
                            }
                            Polled::Silent => Event::LongPollSilent,
                        },
                    )
                }))
            }
            Invocation::ReceiveReconnect { reason, .. } => Dispatch::Async(Box::pin(async move {
                Some(Event::ReceiveReconnectGiveup { reason })
            })),
            Invocation::FillGap { range } => {
                Dispatch::Async(Box::pin(async move { Some(fill_gap(&core, &range).await) }))
            }
            Invocation::EmitStatus(status) => {
                self.emit_status(&status);
                Dispatch::Done
            }
            Invocation::EmitMessages { messages, cursor } => {
                self.emit_messages(&messages, cursor);
                Dispatch::Done
            }
            Invocation::CancelHandshake
            | Invocation::CancelHandshakeReconnect
            | Invocation::CancelReceiveMessages
            | Invocation::CancelReceiveReconnect
            | Invocation::CancelFillGap => Dispatch::Done,
        }
    }
}

/// Reads the newest page of `range` from history (with the client's retry policy): its
/// messages within the range, and where the channel's next page starts. Which page comes next,
/// and whether one does, is the machine's decision.
async fn fill_gap(core: &Core, range: &GapRange) -> Event {
    let op = FetchOp::gap_page(&range.channel, range.after, range.before);
    let page = match request::run_for_engine(core, &op, true).await {
        Ok(page) => page,
        Err(error) => {
            return Event::GapFillFailure {
                reason: error.reason(),
            }
        }
    };
    let stored = page.channels.get(&range.channel).into_iter().flatten();
    let recovered: Messages = stored
        .filter(|m| range.after < m.timetoken && m.timetoken < range.before)
        .map(|m| recovered_envelope(range, m))
        .collect();
    let more = page.more.get(&range.channel).copied();
    tracing::debug!(%range, recovered = recovered.len(), ?more, "gap fill page read");
    Event::GapFillPage { recovered, more }
}

/// A stored message as the envelope a subscribe answer would have carried, marked recovered.
fn recovered_envelope(range: &GapRange, message: &HistoryMessage) -> Envelope {
    Envelope {
        kind: match message.message_type {
            Some(4) => EnvelopeKind::File,
            _ => EnvelopeKind::Message,
        },
        channel: range.channel.clone(),
        subscription: range.subscription.clone(),
        published: Cursor::new(message.timetoken, 0),
        publisher: message.publisher.clone(),
        payload: message.message.clone(),
        meta: message.meta.clone(),
        custom_message_type: message.custom_message_type.clone(),
        seqn: None,
        error: None,
        recovered: true,
    }
}

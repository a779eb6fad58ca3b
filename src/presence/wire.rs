//! The presence requests the engines send (heartbeat, leave), below the client: the effects
//! use them without importing the client, and the presence REST builders reuse them.

use crate::engine::Input;
use crate::error::Error;
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{encode, response, Method, Request};

/// A GET of `/v2/presence/sub-key/{sub}/channel/{names}` followed by `rest`.
pub(crate) fn channel_request(core: &Core, channels: &[String], rest: &str) -> Request {
    let path = format!(
        "/v2/presence/sub-key/{}/channel/{}{rest}",
        core.sub_key_segment(),
        encode::name_list(channels.iter().map(String::as_str)),
    );
    core.request(Method::Get, path)
}

/// Sends a presence request whose answer carries nothing but success.
pub(crate) async fn execute_ok(core: &Core, request: Request, retry: bool) -> Result<(), Error> {
    core.execute(Endpoint::Presence, request, retry, |a| {
        response::check(a).map(drop)
    })
    .await
}

/// The `channel-group` value, when there are groups.
pub(crate) fn group_param(groups: &[String]) -> Option<String> {
    (!groups.is_empty()).then(|| groups.join(","))
}

/// The heartbeat request for `input`, presence names left out, with the stored state.
pub(crate) fn heartbeat_request(core: &Core, input: &Input) -> Request {
    let input = input.without_presence();
    let channels: Vec<String> = input.channels.iter().cloned().collect();
    let groups: Vec<String> = input.groups.iter().cloned().collect();
    channel_request(core, &channels, "/heartbeat")
        .param("heartbeat", core.config().presence_timeout().to_string())
        .param_opt("channel-group", group_param(&groups))
        .param_opt("state", core.presence_state_for(&input))
}

/// The leave request for `input`, presence names left out.
pub(crate) fn leave_request(core: &Core, input: &Input) -> Request {
    let input = input.without_presence();
    let channels: Vec<String> = input.channels.iter().cloned().collect();
    let groups: Vec<String> = input.groups.iter().cloned().collect();
    channel_request(core, &channels, "/leave").param_opt("channel-group", group_param(&groups))
}

/// One heartbeat for the channels and groups of `input` (presence names are skipped), with
/// the configured presence timeout and the stored state. An input with nothing left sends
/// nothing. One attempt: the presence engine decides about retries.
pub(crate) async fn send_heartbeat(core: &Core, input: &Input) -> Result<(), Error> {
    if input.without_presence().is_empty() {
        return Ok(());
    }
    execute_ok(core, heartbeat_request(core, input), false).await
}

/// One leave for the channels and groups of `input` (presence names are skipped). Sends
/// nothing when the input has nothing left or `suppress_leave_events` is set.
pub(crate) async fn send_leave(core: &Core, input: &Input) -> Result<(), Error> {
    if input.without_presence().is_empty() || core.config().suppress_leave_events() {
        return Ok(());
    }
    execute_ok(core, leave_request(core, input), false).await
}

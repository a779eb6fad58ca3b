//! Request paths and query strings: routing, percent-decoding and list splitting, done by hand
//! so that the rules of PROTOCOL.md §10.2 hold exactly: split the path on `/` before decoding,
//! split channel lists on a raw `,` before decoding, decode query lists before splitting, and
//! never read `+` as a space.

use std::borrow::Cow;

use axum::http::Method;

use crate::faults::Endpoint;
use crate::hub::Timetoken;

/// A recognised request, with path segments still percent-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    Time,
    Publish {
        pub_key: &'a str,
        sub_key: &'a str,
        channel: &'a str,
        /// The GET message segment; `None` for POST (the body is the message).
        message: Option<&'a str>,
        /// `/v2/publish`: the large-message form.
        v2: bool,
    },
    Signal {
        pub_key: &'a str,
        sub_key: &'a str,
        channel: &'a str,
        message: &'a str,
    },
    Subscribe {
        sub_key: &'a str,
        channels: &'a str,
    },
    Heartbeat {
        sub_key: &'a str,
        channels: &'a str,
    },
    Leave {
        sub_key: &'a str,
        channels: &'a str,
    },
    HereNow {
        sub_key: &'a str,
        channels: &'a str,
    },
    GlobalHereNow {
        sub_key: &'a str,
    },
    WhereNow {
        sub_key: &'a str,
        uuid: &'a str,
    },
    SetState {
        sub_key: &'a str,
        channels: &'a str,
        uuid: &'a str,
    },
    GetState {
        sub_key: &'a str,
        channels: &'a str,
        uuid: &'a str,
    },
    Group {
        sub_key: &'a str,
        group: &'a str,
    },
    DeleteGroup {
        sub_key: &'a str,
        group: &'a str,
    },
    ListGroups {
        sub_key: &'a str,
    },
    /// `/v3/history` (one or more channels) or `/v3/history-with-actions` (one channel).
    FetchHistory {
        sub_key: &'a str,
        channels: &'a str,
        with_actions: bool,
    },
    MessageCounts {
        sub_key: &'a str,
        channels: &'a str,
    },
    DeleteHistory {
        sub_key: &'a str,
        channel: &'a str,
    },
    AddAction {
        sub_key: &'a str,
        channel: &'a str,
        message_tt: &'a str,
    },
    RemoveAction {
        sub_key: &'a str,
        channel: &'a str,
        message_tt: &'a str,
        action_tt: &'a str,
    },
    GetActions {
        sub_key: &'a str,
        channel: &'a str,
    },
    /// `POST /v3/pam/{sub_key}/grant`: grant a token.
    Grant {
        sub_key: &'a str,
    },
    /// `DELETE /v3/pam/{sub_key}/grant/{token}`: revoke one.
    Revoke {
        sub_key: &'a str,
        token: &'a str,
    },
    /// `/v2/objects/{sub_key}/…`: App Context. `id` is the user of `uuids/{id}[/channels]` or
    /// the channel of `channels/{id}[/uuids]`; `None` for the lists of all.
    AppContext {
        sub_key: &'a str,
        resource: ObjectResource,
        id: Option<&'a str>,
    },
    /// `POST /v1/files/{sub_key}/channels/{channel}/generate-upload-url`: an upload form.
    GenerateUploadUrl {
        sub_key: &'a str,
        channel: &'a str,
    },
    /// `GET /v1/files/{sub_key}/channels/{channel}/files`: list a channel's files.
    ListFiles {
        sub_key: &'a str,
        channel: &'a str,
    },
    /// `GET` (a redirect to the download) or `DELETE`
    /// `/v1/files/{sub_key}/channels/{channel}/files/{id}/{name}`. `name` is the rest of the
    /// path: PubNub's Python SDK puts id and name in the path unencoded, so a `/` in a name
    /// makes more segments.
    File {
        sub_key: &'a str,
        channel: &'a str,
        id: &'a str,
        name: &'a str,
        delete: bool,
    },
    /// `GET /v1/files/publish-file/{pub_key}/{sub_key}/0/{channel}/0/{message}`.
    PublishFile {
        pub_key: &'a str,
        sub_key: &'a str,
        channel: &'a str,
        message: &'a str,
    },
    /// `POST /__files/upload`: the storage's upload (S3's POST-policy form), where upload
    /// forms point.
    StorageUpload,
    /// `GET /__files/download/{object key}`: the storage's download, where file URLs redirect.
    StorageDownload {
        key: &'a str,
    },
    /// `GET /v1/push/sub-key/{sub_key}/devices/{token}[/remove]` (`apns2: false`) or
    /// `GET /v2/push/sub-key/{sub_key}/devices-apns2/{token}[/remove]`: add, remove or list a
    /// device's channels, or (`remove_device`) remove all of them.
    Push {
        sub_key: &'a str,
        token: &'a str,
        apns2: bool,
        remove_device: bool,
    },
    /// `GET` or `DELETE /__push/outbox`: the notifications pushed so far, or forget them.
    PushOutbox {
        clear: bool,
    },
    Admin,
}

/// Where upload forms point: the storage's upload endpoint (not a PubNub path).
pub(crate) const UPLOAD_PATH: &str = "/__files/upload";

/// Where file URLs redirect, followed by the object key.
pub(crate) const DOWNLOAD_PREFIX: &str = "/__files/download/";

/// What an App Context path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectResource {
    /// `uuids` or `uuids/{id}`.
    Users,
    /// `channels` or `channels/{id}`.
    Channels,
    /// `uuids/{id}/channels`.
    Memberships,
    /// `channels/{id}/uuids`.
    Members,
}

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteError {
    NotFound,
    MethodNotAllowed,
}

impl<'a> Route<'a> {
    /// Matches a raw (still encoded) path.
    pub(crate) fn parse(method: &Method, path: &'a str) -> Result<Route<'a>, RouteError> {
        let segments: Vec<&str> = path.split('/').collect();
        let get = *method == Method::GET;
        let post = *method == Method::POST;
        let delete = *method == Method::DELETE;
        let patch = *method == Method::PATCH;
        let route = match segments.as_slice() {
            ["", "time", "0"] => Route::Time,
            ["", "publish", pk, sk, "0", ch, "0", msg] => {
                return only(
                    get,
                    Route::Publish {
                        pub_key: pk,
                        sub_key: sk,
                        channel: ch,
                        message: Some(msg),
                        v2: false,
                    },
                )
            }
            ["", "publish", pk, sk, "0", ch, "0"] | ["", "v2", "publish", pk, sk, "0", ch, "0"] => {
                return only(
                    post,
                    Route::Publish {
                        pub_key: pk,
                        sub_key: sk,
                        channel: ch,
                        message: None,
                        v2: segments[1] == "v2",
                    },
                )
            }
            ["", "signal", pk, sk, "0", ch, "0", msg] => Route::Signal {
                pub_key: pk,
                sub_key: sk,
                channel: ch,
                message: msg,
            },
            ["", "v2", "subscribe", sk, chs, "0"] => Route::Subscribe {
                sub_key: sk,
                channels: chs,
            },
            ["", "v2", "presence", key, rest @ ..] if is_sub_key_word(key) => {
                presence_route(rest).ok_or(RouteError::NotFound)?
            }
            ["", "v1", "channel-registration", "sub-key", sk, "channel-group"] => {
                Route::ListGroups { sub_key: sk }
            }
            ["", "v1", "channel-registration", "sub-key", sk, "channel-group", g] => Route::Group {
                sub_key: sk,
                group: g,
            },
            ["", "v1", "channel-registration", "sub-key", sk, "channel-group", g, "remove"] => {
                Route::DeleteGroup {
                    sub_key: sk,
                    group: g,
                }
            }
            ["", "v3", "history", key, sk, "channel", chs] if is_sub_key_word(key) => {
                return if get {
                    Ok(Route::FetchHistory {
                        sub_key: sk,
                        channels: chs,
                        with_actions: false,
                    })
                } else {
                    only(
                        delete,
                        Route::DeleteHistory {
                            sub_key: sk,
                            channel: chs,
                        },
                    )
                };
            }
            ["", "v3", "history-with-actions", key, sk, "channel", ch] if is_sub_key_word(key) => {
                Route::FetchHistory {
                    sub_key: sk,
                    channels: ch,
                    with_actions: true,
                }
            }
            ["", "v3", "history", key, sk, "message-counts", chs] if is_sub_key_word(key) => {
                Route::MessageCounts {
                    sub_key: sk,
                    channels: chs,
                }
            }
            ["", "v1", "message-actions", sk, "channel", ch] => Route::GetActions {
                sub_key: sk,
                channel: ch,
            },
            ["", "v1", "message-actions", sk, "channel", ch, "message", mt] => {
                return only(
                    post,
                    Route::AddAction {
                        sub_key: sk,
                        channel: ch,
                        message_tt: mt,
                    },
                )
            }
            ["", "v1", "message-actions", sk, "channel", ch, "message", mt, "action", at] => {
                return only(
                    delete,
                    Route::RemoveAction {
                        sub_key: sk,
                        channel: ch,
                        message_tt: mt,
                        action_tt: at,
                    },
                )
            }
            ["", "v3", "pam", sk, "grant"] => return only(post, Route::Grant { sub_key: sk }),
            ["", "v3", "pam", sk, "grant", token] => {
                return only(delete, Route::Revoke { sub_key: sk, token })
            }
            ["", "v2", "objects", sk, rest @ ..] => {
                let (resource, id) = match rest {
                    ["uuids"] => (ObjectResource::Users, None),
                    ["channels"] => (ObjectResource::Channels, None),
                    ["uuids", id] if !id.is_empty() => (ObjectResource::Users, Some(*id)),
                    ["channels", id] if !id.is_empty() => (ObjectResource::Channels, Some(*id)),
                    ["uuids", id, "channels"] if !id.is_empty() => {
                        (ObjectResource::Memberships, Some(*id))
                    }
                    ["channels", id, "uuids"] if !id.is_empty() => {
                        (ObjectResource::Members, Some(*id))
                    }
                    _ => return Err(RouteError::NotFound),
                };
                let allowed = match (resource, id) {
                    (ObjectResource::Users | ObjectResource::Channels, None) => get,
                    (ObjectResource::Users | ObjectResource::Channels, Some(_)) => {
                        get || patch || delete
                    }
                    _ => get || patch,
                };
                return only(
                    allowed,
                    Route::AppContext {
                        sub_key: sk,
                        resource,
                        id,
                    },
                );
            }
            ["", "v1", "files", "publish-file", pk, sk, "0", ch, "0", msg] => Route::PublishFile {
                pub_key: pk,
                sub_key: sk,
                channel: ch,
                message: msg,
            },
            ["", "v1", "files", sk, "channels", ch, "generate-upload-url"] => {
                return only(
                    post,
                    Route::GenerateUploadUrl {
                        sub_key: sk,
                        channel: ch,
                    },
                )
            }
            ["", "v1", "files", sk, "channels", ch, "files"] => Route::ListFiles {
                sub_key: sk,
                channel: ch,
            },
            ["", "v1", "files", sk, "channels", ch, "files", id, rest @ ..]
                if !id.is_empty() && rest.iter().any(|s| !s.is_empty()) =>
            {
                let name = path.splitn(9, '/').nth(8).unwrap_or_default();
                return only(
                    get || delete,
                    Route::File {
                        sub_key: sk,
                        channel: ch,
                        id,
                        name,
                        delete,
                    },
                );
            }
            ["", "v1", "push", "sub-key", sk, "devices", token, rest @ ..]
                if !token.is_empty() && matches!(rest, [] | ["remove"]) =>
            {
                Route::Push {
                    sub_key: sk,
                    token,
                    apns2: false,
                    remove_device: !rest.is_empty(),
                }
            }
            ["", "v2", "push", "sub-key", sk, "devices-apns2", token, rest @ ..]
                if !token.is_empty() && matches!(rest, [] | ["remove"]) =>
            {
                Route::Push {
                    sub_key: sk,
                    token,
                    apns2: true,
                    remove_device: !rest.is_empty(),
                }
            }
            ["", "__push", "outbox"] => {
                return only(get || delete, Route::PushOutbox { clear: delete })
            }
            ["", "__files", "upload"] => return only(post, Route::StorageUpload),
            ["", "__files", "download", _, ..] => {
                let key = path.strip_prefix(DOWNLOAD_PREFIX).unwrap_or_default();
                return only(get, Route::StorageDownload { key });
            }
            ["", "__faults"] => {
                return if get || post {
                    Ok(Route::Admin)
                } else {
                    Err(RouteError::MethodNotAllowed)
                }
            }
            _ => return Err(RouteError::NotFound),
        };
        only(get, route)
    }

    /// The fault-injection group of this route; `None` for Access Manager's and the admin
    /// endpoints.
    pub(crate) fn endpoint(&self) -> Option<Endpoint> {
        Some(match self {
            Route::Time => Endpoint::Time,
            Route::Publish { .. } => Endpoint::Publish,
            Route::Signal { .. } => Endpoint::Signal,
            Route::Subscribe { .. } => Endpoint::Subscribe,
            Route::Heartbeat { .. }
            | Route::Leave { .. }
            | Route::HereNow { .. }
            | Route::GlobalHereNow { .. }
            | Route::WhereNow { .. }
            | Route::SetState { .. }
            | Route::GetState { .. } => Endpoint::Presence,
            Route::Group { .. } | Route::DeleteGroup { .. } | Route::ListGroups { .. } => {
                Endpoint::ChannelGroups
            }
            Route::FetchHistory { .. }
            | Route::MessageCounts { .. }
            | Route::DeleteHistory { .. } => Endpoint::History,
            Route::AddAction { .. } | Route::RemoveAction { .. } | Route::GetActions { .. } => {
                Endpoint::MessageActions
            }
            Route::AppContext { .. } => Endpoint::AppContext,
            Route::GenerateUploadUrl { .. } | Route::ListFiles { .. } | Route::File { .. } => {
                Endpoint::Files
            }
            Route::PublishFile { .. } => Endpoint::PublishFile,
            Route::StorageUpload | Route::StorageDownload { .. } => Endpoint::FileStorage,
            Route::Push { .. } => Endpoint::Push,
            Route::Grant { .. }
            | Route::Revoke { .. }
            | Route::PushOutbox { .. }
            | Route::Admin => return None,
        })
    }

    /// The fault group of this request: [`Route::endpoint`], except that a subscribe with a
    /// non-zero `tt` is a [`Endpoint::LongPoll`] (which a rule for `Subscribe` still covers).
    /// An unparseable `tt` is answered 400 at once, so it is no long-poll.
    pub(crate) fn fault_group(&self, query: &Query<'_>) -> Option<Endpoint> {
        let long_poll = matches!(self, Route::Subscribe { .. })
            && query
                .get("tt")
                .and_then(Timetoken::parse)
                .is_some_and(|tt| tt != Timetoken(0));
        if long_poll {
            Some(Endpoint::LongPoll)
        } else {
            self.endpoint()
        }
    }

    /// The channels this request names, decoded, for faults that match a channel: the
    /// channel of a single-channel path, each name of a path's channel list, the channel of
    /// an App Context channel call, a push call's `add` and `remove` lists. Names that do not
    /// decode are left out. Channel groups are not expanded.
    pub(crate) fn channels(&self, query: &Query<'_>) -> Vec<String> {
        let one = |raw: &str| percent_decode(raw).into_iter().collect();
        match *self {
            Route::Publish { channel, .. }
            | Route::Signal { channel, .. }
            | Route::PublishFile { channel, .. }
            | Route::DeleteHistory { channel, .. }
            | Route::AddAction { channel, .. }
            | Route::RemoveAction { channel, .. }
            | Route::GetActions { channel, .. }
            | Route::GenerateUploadUrl { channel, .. }
            | Route::ListFiles { channel, .. }
            | Route::File { channel, .. } => one(channel),
            Route::Subscribe { channels, .. }
            | Route::Heartbeat { channels, .. }
            | Route::Leave { channels, .. }
            | Route::HereNow { channels, .. }
            | Route::SetState { channels, .. }
            | Route::GetState { channels, .. }
            | Route::FetchHistory { channels, .. }
            | Route::MessageCounts { channels, .. } => channels
                .split(',')
                .filter(|s| !s.is_empty())
                .filter_map(|s| percent_decode(s).ok())
                .collect(),
            Route::AppContext {
                resource: ObjectResource::Channels | ObjectResource::Members,
                id: Some(id),
                ..
            } => one(id),
            Route::Push { .. } => {
                let mut names = query_list(query.get("add"));
                names.extend(query_list(query.get("remove")));
                names
            }
            _ => Vec::new(),
        }
    }

    /// The name of the service that answers this route, for error bodies.
    pub(crate) fn service(&self) -> &'static str {
        if matches!(self, Route::Grant { .. } | Route::Revoke { .. }) {
            return "Access Manager";
        }
        match self.endpoint() {
            Some(Endpoint::Presence) => "Presence",
            Some(Endpoint::ChannelGroups) => "channel-registry",
            Some(Endpoint::Subscribe | Endpoint::LongPoll) => "Subscribe",
            Some(Endpoint::Publish | Endpoint::Signal) => "Publish",
            Some(Endpoint::History) => "Storage",
            Some(Endpoint::MessageActions) => "actions",
            Some(Endpoint::AppContext) => "objects",
            Some(Endpoint::Files) => "Files",
            Some(Endpoint::PublishFile) => "Publish",
            Some(Endpoint::FileStorage) => "S3",
            Some(Endpoint::Push) => "Push",
            _ => "Balancer",
        }
    }
}

impl Route<'_> {
    /// The storage endpoints: pre-signed, outside Access Manager, answering S3's way.
    pub(crate) fn is_storage(&self) -> bool {
        matches!(self, Route::StorageUpload | Route::StorageDownload { .. })
    }
}

fn only(allowed: bool, route: Route<'_>) -> Result<Route<'_>, RouteError> {
    if allowed {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed)
    }
}

/// Both spellings are in production use (PROTOCOL.md §0).
fn is_sub_key_word(segment: &str) -> bool {
    segment == "sub-key" || segment == "sub_key"
}

fn presence_route<'a>(rest: &[&'a str]) -> Option<Route<'a>> {
    Some(match rest {
        [sk] => Route::GlobalHereNow { sub_key: sk },
        [sk, "channel", chs] => Route::HereNow {
            sub_key: sk,
            channels: chs,
        },
        [sk, "channel", chs, "heartbeat"] => Route::Heartbeat {
            sub_key: sk,
            channels: chs,
        },
        [sk, "channel", chs, "leave"] => Route::Leave {
            sub_key: sk,
            channels: chs,
        },
        [sk, "channel", chs, "uuid", uuid] => Route::GetState {
            sub_key: sk,
            channels: chs,
            uuid,
        },
        [sk, "channel", chs, "uuid", uuid, "data"] => Route::SetState {
            sub_key: sk,
            channels: chs,
            uuid,
        },
        [sk, "uuid", uuid] => Route::WhereNow { sub_key: sk, uuid },
        _ => return None,
    })
}

/// A percent-encoded string that does not decode to UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError;

/// Decodes `%XX` escapes into bytes. A `%` not followed by two hex digits stays as it is
/// (lenient, like most servers); `+` stays a plus.
pub(crate) fn percent_decode_bytes(input: &str) -> Vec<u8> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Decodes `%XX` escapes and requires UTF-8.
pub(crate) fn percent_decode(input: &str) -> Result<String, DecodeError> {
    percent_decode_cow(input).map(Cow::into_owned)
}

/// [`percent_decode`] without a copy when there is nothing to decode (keys, most names and
/// query values): the publish path decodes a dozen of them per request.
pub(crate) fn percent_decode_cow(input: &str) -> Result<Cow<'_, str>, DecodeError> {
    if !input.contains('%') {
        return Ok(Cow::Borrowed(input));
    }
    String::from_utf8(percent_decode_bytes(input))
        .map(Cow::Owned)
        .map_err(|_| DecodeError)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A channel-list path segment: `,` alone means none; otherwise split on raw commas, then
/// decode each name. Empty names (from `a,,b`) are dropped.
pub(crate) fn path_list(segment: &str) -> Result<Vec<String>, DecodeError> {
    segment
        .split(',')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// A comma-list query value, already decoded: split and drop empty names.
pub(crate) fn query_list(value: Option<&str>) -> Vec<String> {
    value
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Decoded query parameters, in order. Unknown parameters are kept and ignored by handlers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query<'a> {
    // Borrowed from the request unless a value holds an escape: most hold none.
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Query<'a> {
    pub(crate) fn parse(raw: &'a str) -> Result<Query<'a>, DecodeError> {
        let mut pairs = Vec::with_capacity(8);
        for part in raw.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((percent_decode_cow(key)?, percent_decode_cow(value)?));
        }
        Ok(Query { pairs })
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// `1` or `true` (any case) are true.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    }

    /// A JSON value in a query parameter. Old SDKs encoded spaces as `+`; inside JSON a `+`
    /// outside a string can only be whitespace, so on a parse failure retry with `+` as space.
    pub(crate) fn json(&self, name: &str) -> Option<Result<serde_json::Value, ()>> {
        let raw = self.get(name)?;
        Some(
            serde_json::from_str(raw)
                .or_else(|_| serde_json::from_str(&raw.replace('+', " ")))
                .map_err(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%2Fb+c%20d").unwrap(), "a/b+c d");
        assert_eq!(percent_decode("100%").unwrap(), "100%");
        assert_eq!(percent_decode("%zz%4").unwrap(), "%zz%4");
        assert_eq!(percent_decode("%E2%9C%93").unwrap(), "✓");
        assert_eq!(percent_decode("%FF"), Err(DecodeError));
    }

    #[test]
    fn lists() {
        assert_eq!(path_list(",").unwrap(), Vec::<String>::new());
        assert_eq!(path_list("a,b%2Cc").unwrap(), vec!["a", "b,c"]);
        let q = Query::parse("channel-group=g1%2Cg2&add=a,b&flag=TRUE&x").unwrap();
        assert_eq!(query_list(q.get("channel-group")), vec!["g1", "g2"]);
        assert_eq!(query_list(q.get("add")), vec!["a", "b"]);
        assert!(q.flag("flag"));
        assert_eq!(q.get("x"), Some(""));
        assert!(Query::parse("a=%FF").is_err());
    }

    #[test]
    fn json_params_tolerate_plus_for_space() {
        let q =
            Query::parse("old=%7B%22b%22%3A+%22q+w%22%7D&new=%7B%22b%22%3A%22q+w%22%7D&bad=%7B")
                .unwrap();
        // Not JSON as sent, so `+` was a space (old Python); valid JSON keeps its plus.
        assert_eq!(q.json("old"), Some(Ok(serde_json::json!({"b": "q w"}))));
        assert_eq!(q.json("new"), Some(Ok(serde_json::json!({"b": "q+w"}))));
        assert_eq!(q.json("bad"), Some(Err(())));
        assert_eq!(q.json("none"), None);
    }

    #[test]
    fn long_polls_are_their_own_fault_group() {
        let route = Route::parse(&Method::GET, "/v2/subscribe/s/a,b/0").unwrap();
        let group = |query: &str| route.fault_group(&Query::parse(query).unwrap());
        for handshake in ["", "tt=0", "tt=", "tt=00", "tt=x", "uuid=u&tt=0"] {
            assert_eq!(group(handshake), Some(Endpoint::Subscribe), "{handshake:?}");
        }
        for long_poll in ["tt=17000000000000000", "tr=1&tt=1"] {
            assert_eq!(group(long_poll), Some(Endpoint::LongPoll), "{long_poll:?}");
        }
        assert_eq!(
            Route::Time.fault_group(&Query::parse("tt=5").unwrap()),
            Some(Endpoint::Time)
        );
    }

    #[test]
    fn channels_named_by_a_request() {
        let get = Method::GET;
        let named = |method: &Method, path: &str, query: &str| {
            let route = Route::parse(method, path).unwrap();
            route.channels(&Query::parse(query).unwrap())
        };
        assert_eq!(named(&get, "/publish/p/s/0/a%2Cb/0/1", ""), vec!["a,b"]);
        assert_eq!(
            named(&get, "/v2/subscribe/s/a,b%2Fc,,%FF/0", "channel-group=g"),
            vec!["a", "b/c"]
        );
        assert_eq!(
            named(&get, "/v2/presence/sub-key/s/channel/x/heartbeat", ""),
            vec!["x"]
        );
        assert_eq!(
            named(
                &Method::POST,
                "/v1/message-actions/s/channel/r/message/1",
                ""
            ),
            vec!["r"]
        );
        assert_eq!(named(&get, "/v2/objects/s/channels/c/uuids", ""), vec!["c"]);
        assert!(named(&get, "/v2/objects/s/uuids/c", "").is_empty());
        assert_eq!(
            named(
                &get,
                "/v1/push/sub-key/s/devices/t",
                "type=fcm&add=a,b&remove=c"
            ),
            vec!["a", "b", "c"]
        );
        assert!(named(&get, "/time/0", "").is_empty());
    }

    #[test]
    fn push_routes() {
        let get = Method::GET;
        let push = |token, apns2, remove_device| Route::Push {
            sub_key: "s",
            token,
            apns2,
            remove_device,
        };
        assert_eq!(
            Route::parse(&get, "/v1/push/sub-key/s/devices/a%20b"),
            Ok(push("a%20b", false, false))
        );
        assert_eq!(
            Route::parse(&get, "/v1/push/sub-key/s/devices/t/remove"),
            Ok(push("t", false, true))
        );
        assert_eq!(
            Route::parse(&get, "/v2/push/sub-key/s/devices-apns2/t"),
            Ok(push("t", true, false))
        );
        assert_eq!(
            Route::parse(&get, "/v2/push/sub-key/s/devices-apns2/t/remove"),
            Ok(push("t", true, true))
        );
        assert_eq!(
            Route::parse(&Method::POST, "/v1/push/sub-key/s/devices/t"),
            Err(RouteError::MethodNotAllowed)
        );
        for missing in [
            "/v1/push/sub-key/s/devices/",
            "/v1/push/sub-key/s/devices/t/other",
            "/v1/push/sub-key/s/devices-apns2/t",
            "/v2/push/sub-key/s/devices/t",
            "/v2/push/sub-key/s/devices-apns2/t/remove/x",
        ] {
            assert_eq!(
                Route::parse(&get, missing),
                Err(RouteError::NotFound),
                "{missing}"
            );
        }
        assert_eq!(push("t", false, false).endpoint(), Some(Endpoint::Push));
        assert_eq!(push("t", true, true).service(), "Push");
        assert_eq!(
            Route::parse(&Method::DELETE, "/__push/outbox"),
            Ok(Route::PushOutbox { clear: true })
        );
        assert_eq!(
            Route::parse(&Method::POST, "/__push/outbox"),
            Err(RouteError::MethodNotAllowed)
        );
    }

    #[test]
    fn file_routes() {
        let get = Method::GET;
        assert_eq!(
            Route::parse(
                &Method::POST,
                "/v1/files/s/channels/c%2F1/generate-upload-url"
            ),
            Ok(Route::GenerateUploadUrl {
                sub_key: "s",
                channel: "c%2F1"
            })
        );
        assert_eq!(
            Route::parse(&get, "/v1/files/s/channels/c/generate-upload-url"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse(&get, "/v1/files/s/channels/c/files"),
            Ok(Route::ListFiles {
                sub_key: "s",
                channel: "c"
            })
        );
        // Python sends the name unencoded: a `/` in it is part of the name.
        assert_eq!(
            Route::parse(&Method::DELETE, "/v1/files/s/channels/c/files/id-1/a/b.txt"),
            Ok(Route::File {
                sub_key: "s",
                channel: "c",
                id: "id-1",
                name: "a/b.txt",
                delete: true
            })
        );
        assert_eq!(
            Route::parse(&get, "/v1/files/s/channels/c/files/id-1/n%20m.txt"),
            Ok(Route::File {
                sub_key: "s",
                channel: "c",
                id: "id-1",
                name: "n%20m.txt",
                delete: false
            })
        );
        assert_eq!(
            Route::parse(&Method::POST, "/v1/files/s/channels/c/files/id-1/n"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse(&get, "/v1/files/publish-file/p/s/0/c/0/%7B%7D"),
            Ok(Route::PublishFile {
                pub_key: "p",
                sub_key: "s",
                channel: "c",
                message: "%7B%7D"
            })
        );
        assert_eq!(
            Route::parse(&Method::POST, "/__files/upload"),
            Ok(Route::StorageUpload)
        );
        assert_eq!(
            Route::parse(&get, "/__files/upload"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse(&get, "/__files/download/s/h/id/a%20b.txt"),
            Ok(Route::StorageDownload {
                key: "s/h/id/a%20b.txt"
            })
        );
        assert_eq!(Route::StorageUpload.endpoint(), Some(Endpoint::FileStorage));
        assert_eq!(
            Route::parse(&get, "/v1/files/s/channels/c/files")
                .unwrap()
                .service(),
            "Files"
        );
    }

    #[test]
    fn routing() {
        let get = Method::GET;
        assert_eq!(Route::parse(&get, "/time/0"), Ok(Route::Time));
        assert_eq!(
            Route::parse(&get, "/v2/presence/sub_key/s/channel/a,b/heartbeat"),
            Ok(Route::Heartbeat {
                sub_key: "s",
                channels: "a,b"
            })
        );
        assert_eq!(
            Route::parse(&get, "/v2/presence/sub-key/s/uuid/u%2F1"),
            Ok(Route::WhereNow {
                sub_key: "s",
                uuid: "u%2F1"
            })
        );
        assert_eq!(
            Route::parse(&Method::POST, "/v2/publish/p/s/0/c/0"),
            Ok(Route::Publish {
                pub_key: "p",
                sub_key: "s",
                channel: "c",
                message: None,
                v2: true
            })
        );
        assert_eq!(
            Route::parse(&Method::POST, "/publish/p/s/0/c/0/1"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse(&get, "/publish/p/s/0/../0/1"),
            Ok(Route::Publish {
                pub_key: "p",
                sub_key: "s",
                channel: "..",
                message: Some("1"),
                v2: false
            })
        );
        assert_eq!(
            Route::parse(&get, "/v3/history/sub-key/s/channel/a,b"),
            Ok(Route::FetchHistory {
                sub_key: "s",
                channels: "a,b",
                with_actions: false
            })
        );
        assert_eq!(
            Route::parse(&Method::DELETE, "/v3/history/sub-key/s/channel/a"),
            Ok(Route::DeleteHistory {
                sub_key: "s",
                channel: "a"
            })
        );
        assert_eq!(
            Route::parse(&get, "/v3/history-with-actions/sub-key/s/channel/a"),
            Ok(Route::FetchHistory {
                sub_key: "s",
                channels: "a",
                with_actions: true
            })
        );
        assert_eq!(
            Route::parse(&get, "/v3/history/sub-key/s/message-counts/a,b"),
            Ok(Route::MessageCounts {
                sub_key: "s",
                channels: "a,b"
            })
        );
        assert_eq!(
            Route::parse(&Method::POST, "/v1/message-actions/s/channel/a/message/15"),
            Ok(Route::AddAction {
                sub_key: "s",
                channel: "a",
                message_tt: "15"
            })
        );
        assert_eq!(
            Route::parse(
                &Method::DELETE,
                "/v1/message-actions/s/channel/a/message/15/action/16"
            ),
            Ok(Route::RemoveAction {
                sub_key: "s",
                channel: "a",
                message_tt: "15",
                action_tt: "16"
            })
        );
        assert_eq!(
            Route::parse(&get, "/v1/message-actions/s/channel/a"),
            Ok(Route::GetActions {
                sub_key: "s",
                channel: "a"
            })
        );
        assert_eq!(
            Route::parse(&Method::PATCH, "/v2/objects/s/uuids/u%2F1/channels"),
            Ok(Route::AppContext {
                sub_key: "s",
                resource: ObjectResource::Memberships,
                id: Some("u%2F1")
            })
        );
        assert_eq!(
            Route::parse(&get, "/v2/objects/s/channels"),
            Ok(Route::AppContext {
                sub_key: "s",
                resource: ObjectResource::Channels,
                id: None
            })
        );
        assert_eq!(
            Route::parse(&Method::DELETE, "/v2/objects/s/channels/c/uuids"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse(&Method::PATCH, "/v2/objects/s/uuids"),
            Err(RouteError::MethodNotAllowed)
        );
        assert_eq!(
            Route::parse(&get, "/v2/objects/s/uuids/"),
            Err(RouteError::NotFound)
        );
        for (method, path) in [
            (Method::POST, "/v3/history/sub-key/s/channel/a"),
            (
                Method::DELETE,
                "/v3/history-with-actions/sub-key/s/channel/a",
            ),
            (Method::GET, "/v1/message-actions/s/channel/a/message/15"),
            (
                Method::POST,
                "/v1/message-actions/s/channel/a/message/15/action/16",
            ),
            (Method::DELETE, "/v1/message-actions/s/channel/a"),
        ] {
            assert_eq!(
                Route::parse(&method, path),
                Err(RouteError::MethodNotAllowed),
                "{method} {path}"
            );
        }
        for missing in [
            "/",
            "",
            "/time",
            "/time/0/",
            "/v2/subscribe/s/c",
            "/publish/p/s/0/a/b/0/1",
            "/v1/files/s/channels/c/files/id",
            "/v1/files/s/channels/c/files/id/",
            "/v1/files/s/channels/c",
            "/__files/download",
            "/__files",
        ] {
            assert_eq!(
                Route::parse(&get, missing),
                Err(RouteError::NotFound),
                "{missing}"
            );
        }
    }
}

//! App Context (PROTOCOL.md §19): metadata of users and channels stored by the service, and
//! the memberships between them, with `set` / `delete` events delivered to subscribers of the
//! [`channel_metadata`](crate::PubNub::channel_metadata) and
//! [`user_metadata`](crate::PubNub::user_metadata) entities (see
//! [`Listener::on_objects`](crate::Listener::on_objects)).
//!
//! The calls follow the names of PubNub's Python SDK: `set_uuid_metadata`, `get_uuid_metadata`,
//! `remove_uuid_metadata`, `get_all_uuid_metadata`, the same four for channels,
//! `set_memberships` / `remove_memberships` / `get_memberships` / `manage_memberships` for the
//! channels of a user, and `set_channel_members` / `remove_channel_members` /
//! `get_channel_members` / `manage_channel_members` for the users of a channel. Every call is a
//! builder: `.await` it. Lists come a [`Page`] at a time; `pages()` walks them all.
//!
//! ```no_run
//! # async fn run(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
//! use pubnub_engine::objects::{MemberInput, SortDirection};
//! use serde_json::json;
//!
//! let alice = pubnub
//!     .set_uuid_metadata()
//!     .user_id("alice")
//!     .name("Alice")
//!     .custom(json!({"mood": "happy"}))
//!     .await?;
//! pubnub
//!     .set_channel_members()
//!     .channel("room")
//!     .set([MemberInput::new("alice").custom(json!({"role": "moderator"}))])
//!     .await?;
//! let members = pubnub
//!     .get_channel_members()
//!     .channel("room")
//!     .include_user(true)
//!     .sort("uuid.name", SortDirection::Asc)
//!     .await?;
//! // Change the profile only if nobody else changed it since.
//! let changed = pubnub
//!     .set_uuid_metadata()
//!     .user_id("alice")
//!     .name("Alice B.")
//!     .if_matches_etag(alice.etag.unwrap_or_default())
//!     .await;
//! # let _ = (members, changed);
//! # Ok(()) }
//! ```

mod check;
mod types;

use std::pin::Pin;

use futures_util::Stream;
use serde_json::{json, Map, Value};

use crate::client::{into_future, PubNub};
use crate::error::Error;
use crate::retry::Endpoint;
use crate::transport::{encode, Method, Request, Response};

pub use types::{ChannelMetadata, Member, Membership, Page, UserMetadata};

/// Longest user or channel id, in characters: PubNub's limits page gives 92 characters for a
/// user id and for a channel id.
pub const MAX_ID_CHARS: usize = 92;

/// Largest (and default) page of a list call.
pub const MAX_LIMIT: usize = 100;

/// The order of a sort key.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

impl SortDirection {
    fn as_str(self) -> &'static str {
        match self {
            SortDirection::Asc => "asc",
            SortDirection::Desc => "desc",
        }
    }
}

/// A channel to add a user to, with the membership's own fields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MembershipInput {
    /// The channel id.
    pub channel: String,
    /// The membership's custom fields: a flat JSON object.
    pub custom: Option<Value>,
    /// The membership's status.
    pub status: Option<String>,
    /// The membership's type.
    pub membership_type: Option<String>,
}

impl MembershipInput {
    /// A membership of `channel` with no fields of its own.
    pub fn new(channel: impl Into<String>) -> Self {
        MembershipInput {
            channel: channel.into(),
            custom: None,
            status: None,
            membership_type: None,
        }
    }

    /// The membership's custom fields (a flat JSON object of scalars).
    pub fn custom(mut self, custom: Value) -> Self {
        self.custom = Some(custom);
        self
    }

    /// The membership's status.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// The membership's type.
    pub fn membership_type(mut self, kind: impl Into<String>) -> Self {
        self.membership_type = Some(kind.into());
        self
    }
}

/// A user to add to a channel, with the membership's own fields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MemberInput {
    /// The user id.
    pub user_id: String,
    /// The membership's custom fields: a flat JSON object.
    pub custom: Option<Value>,
    /// The membership's status.
    pub status: Option<String>,
    /// The membership's type.
    pub member_type: Option<String>,
}

impl MemberInput {
    /// A membership of `user_id` with no fields of its own.
    pub fn new(user_id: impl Into<String>) -> Self {
        MemberInput {
            user_id: user_id.into(),
            custom: None,
            status: None,
            member_type: None,
        }
    }

    /// The membership's custom fields (a flat JSON object of scalars).
    pub fn custom(mut self, custom: Value) -> Self {
        self.custom = Some(custom);
        self
    }

    /// The membership's status.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// The membership's type.
    pub fn member_type(mut self, kind: impl Into<String>) -> Self {
        self.member_type = Some(kind.into());
        self
    }
}

/// What a list or object call asks the service to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Includes {
    custom: bool,
    status: bool,
    kind: bool,
    total_count: bool,
    nested: bool,
    nested_custom: bool,
    nested_status: bool,
    nested_type: bool,
}

impl Includes {
    fn object() -> Self {
        Includes {
            custom: true,
            status: true,
            kind: true,
            total_count: false,
            nested: false,
            nested_custom: false,
            nested_status: false,
            nested_type: false,
        }
    }

    fn list() -> Self {
        Includes {
            custom: false,
            ..Includes::object()
        }
    }

    /// The `include` value; `nested` names the nested object (`channel` or `uuid`).
    fn param(&self, nested: Option<&str>) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        for (on, name) in [
            (self.custom, "custom"),
            (self.status, "status"),
            (self.kind, "type"),
        ] {
            if on {
                parts.push(name.to_owned());
            }
        }
        if let Some(nested) = nested {
            let any = self.nested || self.nested_custom || self.nested_status || self.nested_type;
            if any {
                parts.push(nested.to_owned());
            }
            for (on, name) in [
                (self.nested_custom, "custom"),
                (self.nested_status, "status"),
                (self.nested_type, "type"),
            ] {
                if on {
                    parts.push(format!("{nested}.{name}"));
                }
            }
        }
        (!parts.is_empty()).then(|| parts.join(","))
    }
}

/// Which list a list call reads: decides the allowed sort keys and the nested object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Users,
    Channels,
    Memberships,
    Members,
}

impl ListKind {
    fn nested(self) -> Option<&'static str> {
        match self {
            ListKind::Users | ListKind::Channels => None,
            ListKind::Memberships => Some("channel"),
            ListKind::Members => Some("uuid"),
        }
    }

    fn sort_key_allowed(self, key: &str) -> bool {
        const OWN: [&str; 5] = ["id", "name", "updated", "status", "type"];
        const RELATION: [&str; 3] = ["updated", "status", "type"];
        match self.nested() {
            None => OWN.contains(&key),
            Some(nested) => {
                RELATION.contains(&key)
                    || key
                        .strip_prefix(nested)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|field| OWN.contains(&field))
            }
        }
    }
}

/// Filter, sort and paging of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ListOptions {
    filter: Option<String>,
    sort: Vec<(String, SortDirection)>,
    limit: Option<usize>,
    start: Option<String>,
    end: Option<String>,
}

impl ListOptions {
    fn check(&self, kind: ListKind) -> Result<(), Error> {
        if let Some(filter) = &self.filter {
            check::filter(filter)?;
        }
        for (key, _) in &self.sort {
            if !kind.sort_key_allowed(key) {
                return Err(Error::invalid(format!("{key:?} is not a sort key here")));
            }
        }
        if let Some(limit) = self.limit {
            check::limit(limit)?;
        }
        if self.start.is_some() && self.end.is_some() {
            return Err(Error::invalid(
                "give either start (the next page) or end (the previous page), not both",
            ));
        }
        for cursor in [&self.start, &self.end].into_iter().flatten() {
            if cursor.is_empty() {
                return Err(Error::invalid("a page cursor is empty"));
            }
        }
        Ok(())
    }

    fn apply(&self, mut request: Request, includes: &Includes) -> Request {
        if includes.total_count {
            request = request.param("count", "true");
        }
        request = request.param("limit", self.limit.unwrap_or(MAX_LIMIT).to_string());
        if let Some(filter) = &self.filter {
            request = request.param("filter", filter.clone());
        }
        if !self.sort.is_empty() {
            let sort: Vec<String> = self
                .sort
                .iter()
                .map(|(key, direction)| format!("{key}:{}", direction.as_str()))
                .collect();
            request = request.param("sort", sort.join(","));
        }
        request
            .param_opt("start", self.start.clone())
            .param_opt("end", self.end.clone())
    }
}

/// `/v2/objects/{sub_key}/{segments…}`, each segment encoded.
fn request(pubnub: &PubNub, method: Method, segments: &[&str]) -> Request {
    let core = pubnub.core();
    let mut path = format!("/v2/objects/{}", core.sub_key_segment());
    for segment in segments {
        path.push('/');
        path.push_str(&encode::encode(segment));
    }
    core.request(method, path)
}

fn with_include(request: Request, includes: &Includes, nested: Option<&str>) -> Request {
    request.param_opt("include", includes.param(nested))
}

fn with_body(mut request: Request, body: &Value) -> Request {
    request.body = Some(body.to_string().into_bytes());
    request
}

fn with_etag(mut request: Request, etag: &Option<String>) -> Result<Request, Error> {
    if let Some(etag) = etag {
        if etag.is_empty() || etag.chars().any(char::is_control) {
            return Err(Error::invalid(
                "the ETag is empty or has control characters",
            ));
        }
        request.headers.push(("If-Match", etag.clone()));
    }
    Ok(request)
}

async fn execute<T>(
    pubnub: &PubNub,
    request: Request,
    retry: bool,
    parse: impl Fn(&Response) -> Result<T, Error>,
) -> Result<T, Error> {
    pubnub
        .core()
        .execute(Endpoint::AppContext, request, retry, parse)
        .await
}

/// The user id of a call: the one given, else the client's own.
fn user_id_or_own(pubnub: &PubNub, user_id: &Option<String>) -> String {
    user_id
        .clone()
        .unwrap_or_else(|| pubnub.config().user_id().to_owned())
}

/// Puts a text field into a set body when it was given.
fn put_text(body: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(value) = value {
        body.insert(key.to_owned(), Value::String(value.clone()));
    }
}

/// The methods every App Context builder has.
macro_rules! common_methods {
    () => {
        /// Retry transient failures with the client's retry configuration (default: no).
        pub fn retry(mut self, retry: bool) -> Self {
            self.retry = retry;
            self
        }

        /// Include the custom fields in the answer.
        pub fn include_custom(mut self, include: bool) -> Self {
            self.includes.custom = include;
            self
        }

        /// Include the status in the answer (default: yes).
        pub fn include_status(mut self, include: bool) -> Self {
            self.includes.status = include;
            self
        }

        /// Include the type in the answer (default: yes).
        pub fn include_type(mut self, include: bool) -> Self {
            self.includes.kind = include;
            self
        }
    };
}

/// The methods of list calls: filter, sort, limit, cursors, total count.
macro_rules! list_methods {
    () => {
        /// Only the objects that match this filter expression, e.g.
        /// `name like 'a*' && custom.mood == 'happy'` (PubNub's App Context filter language).
        pub fn filter(mut self, expression: impl Into<String>) -> Self {
            self.list.filter = Some(expression.into());
            self
        }

        /// Sorts by `key` (`id`, `name`, `updated`, `status`, `type`; for memberships and
        /// members also the nested object's, as `channel.name` or `uuid.name`); call again
        /// for a secondary key.
        pub fn sort(mut self, key: impl Into<String>, direction: SortDirection) -> Self {
            self.list.sort.push((key.into(), direction));
            self
        }

        /// Most objects in the answer: 1 to 100 (default 100).
        pub fn limit(mut self, limit: usize) -> Self {
            self.list.limit = Some(limit);
            self
        }

        /// The page that starts at this cursor: a [`Page::next`] of an earlier answer.
        pub fn start(mut self, cursor: impl Into<String>) -> Self {
            self.list.start = Some(cursor.into());
            self.list.end = None;
            self
        }

        /// The page that ends at this cursor: a [`Page::prev`] of an earlier answer.
        pub fn end(mut self, cursor: impl Into<String>) -> Self {
            self.list.end = Some(cursor.into());
            self.list.start = None;
            self
        }

        /// Include the number of all matching objects ([`Page::total_count`]).
        pub fn include_total_count(mut self, include: bool) -> Self {
            self.includes.total_count = include;
            self
        }
    };
}

/// `pages()` of the read-only list calls.
macro_rules! pages_method {
    ($page:ty) => {
        /// Every page from this one on, until the service gives no next cursor (or an empty
        /// page, or a cursor it already gave: a server that repeats itself cannot make the
        /// walk endless). Stops after the first error.
        pub fn pages(self) -> Pin<Box<dyn Stream<Item = Result<$page, Error>> + Send>> {
            let seen = std::collections::HashSet::<String>::new();
            Box::pin(futures_util::stream::unfold(
                (Some(self), seen),
                |(next, mut seen)| async move {
                    let next = next?;
                    let template = next.clone();
                    if let Some(start) = &template.list.start {
                        seen.insert(start.clone());
                    }
                    match next.send().await {
                        Ok(page) => {
                            let following = match &page.next {
                                Some(cursor) if !page.data.is_empty() && !seen.contains(cursor) => {
                                    Some(template.start(cursor.clone()))
                                }
                                _ => None,
                            };
                            Some((Ok(page), (following, seen)))
                        }
                        Err(error) => Some((Err(error), (None, seen))),
                    }
                },
            ))
        }
    };
}

/// The methods that read a nested object of memberships (`channel`) or members (`uuid`).
macro_rules! nested_methods {
    ($plain:ident, $custom:ident, $status:ident, $kind:ident, $what:literal) => {
        #[doc = concat!("Include the ", $what, "'s metadata in each item (not only its id).")]
        pub fn $plain(mut self, include: bool) -> Self {
            self.includes.nested = include;
            self
        }

        #[doc = concat!("Include the ", $what, "'s custom fields in each item.")]
        pub fn $custom(mut self, include: bool) -> Self {
            self.includes.nested_custom = include;
            self
        }

        #[doc = concat!("Include the ", $what, "'s status in each item.")]
        pub fn $status(mut self, include: bool) -> Self {
            self.includes.nested_status = include;
            self
        }

        #[doc = concat!("Include the ", $what, "'s type in each item.")]
        pub fn $kind(mut self, include: bool) -> Self {
            self.includes.nested_type = include;
            self
        }
    };
}

// ---------------------------------------------------------------------------------------------
// User metadata

/// Sets a user's metadata; `.await` it for the stored [`UserMetadata`]. Created by
/// [`PubNub::set_uuid_metadata`]. Only the fields given are sent; `custom` replaces the stored
/// custom object as a whole.
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct SetUserMetadata {
    pubnub: PubNub,
    user_id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
    profile_url: Option<String>,
    custom: Option<Value>,
    status: Option<String>,
    user_type: Option<String>,
    etag: Option<String>,
    includes: Includes,
    retry: bool,
}

impl SetUserMetadata {
    common_methods!();

    /// The user (default: the client's own user id).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// The display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The e-mail address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// An id in another system.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// A profile picture URL.
    pub fn profile_url(mut self, profile_url: impl Into<String>) -> Self {
        self.profile_url = Some(profile_url.into());
        self
    }

    /// The custom fields: a flat JSON object of strings, numbers, booleans (or null).
    pub fn custom(mut self, custom: Value) -> Self {
        self.custom = Some(custom);
        self
    }

    /// The status, e.g. `active`.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// The type, e.g. `admin`.
    pub fn user_type(mut self, user_type: impl Into<String>) -> Self {
        self.user_type = Some(user_type.into());
        self
    }

    /// Change the metadata only if its stored version still has this ETag; otherwise the call
    /// fails with [`ErrorKind::PreconditionFailed`](crate::ErrorKind::PreconditionFailed).
    pub fn if_matches_etag(mut self, etag: impl Into<String>) -> Self {
        self.etag = Some(etag.into());
        self
    }

    async fn send(self) -> Result<UserMetadata, Error> {
        let user_id = user_id_or_own(&self.pubnub, &self.user_id);
        check::id("user", &user_id)?;
        if let Some(custom) = &self.custom {
            check::custom(custom)?;
        }
        let mut body = Map::new();
        put_text(&mut body, "name", &self.name);
        put_text(&mut body, "email", &self.email);
        put_text(&mut body, "externalId", &self.external_id);
        put_text(&mut body, "profileUrl", &self.profile_url);
        put_text(&mut body, "status", &self.status);
        put_text(&mut body, "type", &self.user_type);
        if let Some(custom) = &self.custom {
            body.insert("custom".into(), custom.clone());
        }
        let request = request(&self.pubnub, Method::Patch, &["uuids", &user_id]);
        let request = with_include(request, &self.includes, None);
        let request = with_etag(with_body(request, &Value::Object(body)), &self.etag)?;
        execute(&self.pubnub, request, self.retry, |answer| {
            types::single(answer, types::user)
        })
        .await
    }
}
into_future!(SetUserMetadata, UserMetadata);

/// Reads a user's metadata; `.await` it. Created by [`PubNub::get_uuid_metadata`]. A user
/// with no metadata is an HTTP 404 error.
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct GetUserMetadata {
    pubnub: PubNub,
    user_id: Option<String>,
    includes: Includes,
    retry: bool,
}

impl GetUserMetadata {
    common_methods!();

    /// The user (default: the client's own user id).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    async fn send(self) -> Result<UserMetadata, Error> {
        let user_id = user_id_or_own(&self.pubnub, &self.user_id);
        check::id("user", &user_id)?;
        let request = request(&self.pubnub, Method::Get, &["uuids", &user_id]);
        let request = with_include(request, &self.includes, None);
        execute(&self.pubnub, request, self.retry, |answer| {
            types::single(answer, types::user)
        })
        .await
    }
}
into_future!(GetUserMetadata, UserMetadata);

/// Removes a user's metadata; `.await` it. Created by [`PubNub::remove_uuid_metadata`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct RemoveUserMetadata {
    pubnub: PubNub,
    user_id: Option<String>,
    etag: Option<String>,
    retry: bool,
}

impl RemoveUserMetadata {
    /// The user (default: the client's own user id).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Remove only if the stored version still has this ETag.
    pub fn if_matches_etag(mut self, etag: impl Into<String>) -> Self {
        self.etag = Some(etag.into());
        self
    }

    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<(), Error> {
        let user_id = user_id_or_own(&self.pubnub, &self.user_id);
        check::id("user", &user_id)?;
        let request = request(&self.pubnub, Method::Delete, &["uuids", &user_id]);
        let request = with_etag(request, &self.etag)?;
        execute(&self.pubnub, request, self.retry, |answer| {
            crate::transport::response::check(answer).map(drop)
        })
        .await
    }
}
into_future!(RemoveUserMetadata, ());

/// Lists the metadata of all users, a page at a time; `.await` it for one [`Page`], or walk
/// them all with `pages()`. Created by [`PubNub::get_all_uuid_metadata`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct GetAllUserMetadata {
    pubnub: PubNub,
    list: ListOptions,
    includes: Includes,
    retry: bool,
}

impl GetAllUserMetadata {
    common_methods!();
    list_methods!();
    pages_method!(Page<UserMetadata>);

    async fn send(self) -> Result<Page<UserMetadata>, Error> {
        self.list.check(ListKind::Users)?;
        let request = request(&self.pubnub, Method::Get, &["uuids"]);
        let request = self.list.apply(request, &self.includes);
        let request = with_include(request, &self.includes, None);
        execute(&self.pubnub, request, self.retry, |answer| {
            types::page(answer, types::user)
        })
        .await
    }
}
into_future!(GetAllUserMetadata, Page<UserMetadata>);

// ---------------------------------------------------------------------------------------------
// Channel metadata

/// Sets a channel's metadata; `.await` it for the stored [`ChannelMetadata`]. Created by
/// [`PubNub::set_channel_metadata`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct SetChannelMetadata {
    pubnub: PubNub,
    channel: String,
    name: Option<String>,
    description: Option<String>,
    custom: Option<Value>,
    status: Option<String>,
    channel_type: Option<String>,
    etag: Option<String>,
    includes: Includes,
    retry: bool,
}

impl SetChannelMetadata {
    common_methods!();

    /// The channel (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The custom fields: a flat JSON object of strings, numbers, booleans (or null).
    pub fn custom(mut self, custom: Value) -> Self {
        self.custom = Some(custom);
        self
    }

    /// The status, e.g. `active`.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// The type, e.g. `admin`.
    pub fn channel_type(mut self, channel_type: impl Into<String>) -> Self {
        self.channel_type = Some(channel_type.into());
        self
    }

    /// Change the metadata only if its stored version still has this ETag; otherwise the call
    /// fails with [`ErrorKind::PreconditionFailed`](crate::ErrorKind::PreconditionFailed).
    pub fn if_matches_etag(mut self, etag: impl Into<String>) -> Self {
        self.etag = Some(etag.into());
        self
    }

    async fn send(self) -> Result<ChannelMetadata, Error> {
        check::id("channel", &self.channel)?;
        if let Some(custom) = &self.custom {
            check::custom(custom)?;
        }
        let mut body = Map::new();
        put_text(&mut body, "name", &self.name);
        put_text(&mut body, "description", &self.description);
        put_text(&mut body, "status", &self.status);
        put_text(&mut body, "type", &self.channel_type);
        if let Some(custom) = &self.custom {
            body.insert("custom".into(), custom.clone());
        }
        let request = request(&self.pubnub, Method::Patch, &["channels", &self.channel]);
        let request = with_include(request, &self.includes, None);
        let request = with_etag(with_body(request, &Value::Object(body)), &self.etag)?;
        execute(&self.pubnub, request, self.retry, |answer| {
            types::single(answer, types::channel)
        })
        .await
    }
}
into_future!(SetChannelMetadata, ChannelMetadata);

/// Reads a channel's metadata; `.await` it. Created by [`PubNub::get_channel_metadata`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct GetChannelMetadata {
    pubnub: PubNub,
    channel: String,
    includes: Includes,
    retry: bool,
}

impl GetChannelMetadata {
    common_methods!();

    /// The channel (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    async fn send(self) -> Result<ChannelMetadata, Error> {
        check::id("channel", &self.channel)?;
        let request = request(&self.pubnub, Method::Get, &["channels", &self.channel]);
        let request = with_include(request, &self.includes, None);
        execute(&self.pubnub, request, self.retry, |answer| {
            types::single(answer, types::channel)
        })
        .await
    }
}
into_future!(GetChannelMetadata, ChannelMetadata);

/// Removes a channel's metadata; `.await` it. Created by [`PubNub::remove_channel_metadata`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct RemoveChannelMetadata {
    pubnub: PubNub,
    channel: String,
    etag: Option<String>,
    retry: bool,
}

impl RemoveChannelMetadata {
    /// The channel (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// Remove only if the stored version still has this ETag.
    pub fn if_matches_etag(mut self, etag: impl Into<String>) -> Self {
        self.etag = Some(etag.into());
        self
    }

    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<(), Error> {
        check::id("channel", &self.channel)?;
        let request = request(&self.pubnub, Method::Delete, &["channels", &self.channel]);
        let request = with_etag(request, &self.etag)?;
        execute(&self.pubnub, request, self.retry, |answer| {
            crate::transport::response::check(answer).map(drop)
        })
        .await
    }
}
into_future!(RemoveChannelMetadata, ());

/// Lists the metadata of all channels, a page at a time. Created by
/// [`PubNub::get_all_channel_metadata`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct GetAllChannelMetadata {
    pubnub: PubNub,
    list: ListOptions,
    includes: Includes,
    retry: bool,
}

impl GetAllChannelMetadata {
    common_methods!();
    list_methods!();
    pages_method!(Page<ChannelMetadata>);

    async fn send(self) -> Result<Page<ChannelMetadata>, Error> {
        self.list.check(ListKind::Channels)?;
        let request = request(&self.pubnub, Method::Get, &["channels"]);
        let request = self.list.apply(request, &self.includes);
        let request = with_include(request, &self.includes, None);
        execute(&self.pubnub, request, self.retry, |answer| {
            types::page(answer, types::channel)
        })
        .await
    }
}
into_future!(GetAllChannelMetadata, Page<ChannelMetadata>);

// ---------------------------------------------------------------------------------------------
// Memberships (the channels of a user)

/// Lists the channels a user belongs to. Created by [`PubNub::get_memberships`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct GetMemberships {
    pubnub: PubNub,
    user_id: Option<String>,
    list: ListOptions,
    includes: Includes,
    retry: bool,
}

impl GetMemberships {
    common_methods!();
    list_methods!();
    pages_method!(Page<Membership>);
    nested_methods!(
        include_channel,
        include_channel_custom,
        include_channel_status,
        include_channel_type,
        "channel"
    );

    /// The user (default: the client's own user id).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    async fn send(self) -> Result<Page<Membership>, Error> {
        let user_id = user_id_or_own(&self.pubnub, &self.user_id);
        check::id("user", &user_id)?;
        self.list.check(ListKind::Memberships)?;
        let request = request(&self.pubnub, Method::Get, &["uuids", &user_id, "channels"]);
        let request = self.list.apply(request, &self.includes);
        let request = with_include(request, &self.includes, Some("channel"));
        execute(&self.pubnub, request, self.retry, |answer| {
            types::page(answer, types::membership)
        })
        .await
    }
}
into_future!(GetMemberships, Page<Membership>);

/// Adds a user to channels and removes it from others in one call, then answers a page of
/// the user's memberships; `.await` it. Created by [`PubNub::manage_memberships`],
/// [`PubNub::set_memberships`] and [`PubNub::remove_memberships`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct ManageMemberships {
    pubnub: PubNub,
    user_id: Option<String>,
    set: Vec<MembershipInput>,
    remove: Vec<String>,
    list: ListOptions,
    includes: Includes,
    retry: bool,
}

impl ManageMemberships {
    common_methods!();
    list_methods!();
    nested_methods!(
        include_channel,
        include_channel_custom,
        include_channel_status,
        include_channel_type,
        "channel"
    );

    /// The user (default: the client's own user id).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Channels to add the user to (or whose membership fields to change).
    pub fn set(mut self, memberships: impl IntoIterator<Item = MembershipInput>) -> Self {
        self.set.extend(memberships);
        self
    }

    /// Channels to remove the user from.
    pub fn remove<S: Into<String>>(mut self, channels: impl IntoIterator<Item = S>) -> Self {
        self.remove.extend(channels.into_iter().map(Into::into));
        self
    }

    async fn send(self) -> Result<Page<Membership>, Error> {
        let user_id = user_id_or_own(&self.pubnub, &self.user_id);
        check::id("user", &user_id)?;
        self.list.check(ListKind::Memberships)?;
        if self.set.is_empty() && self.remove.is_empty() {
            return Err(Error::invalid("no membership to set or remove"));
        }
        let mut set = Vec::with_capacity(self.set.len());
        for item in &self.set {
            check::id("channel", &item.channel)?;
            let mut entry = Map::new();
            entry.insert("channel".into(), json!({"id": item.channel}));
            if let Some(custom) = &item.custom {
                check::custom(custom)?;
                entry.insert("custom".into(), custom.clone());
            }
            put_text(&mut entry, "status", &item.status);
            put_text(&mut entry, "type", &item.membership_type);
            set.push(Value::Object(entry));
        }
        let mut delete = Vec::with_capacity(self.remove.len());
        for channel in &self.remove {
            check::id("channel", channel)?;
            delete.push(json!({"channel": {"id": channel}}));
        }
        let body = json!({"set": set, "delete": delete});
        let request = request(
            &self.pubnub,
            Method::Patch,
            &["uuids", &user_id, "channels"],
        );
        let request = self.list.apply(request, &self.includes);
        let request = with_body(
            with_include(request, &self.includes, Some("channel")),
            &body,
        );
        execute(&self.pubnub, request, self.retry, |answer| {
            types::page(answer, types::membership)
        })
        .await
    }
}
into_future!(ManageMemberships, Page<Membership>);

// ---------------------------------------------------------------------------------------------
// Members (the users of a channel)

/// Lists the users of a channel. Created by [`PubNub::get_channel_members`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct GetChannelMembers {
    pubnub: PubNub,
    channel: String,
    list: ListOptions,
    includes: Includes,
    retry: bool,
}

impl GetChannelMembers {
    common_methods!();
    list_methods!();
    pages_method!(Page<Member>);
    nested_methods!(
        include_user,
        include_user_custom,
        include_user_status,
        include_user_type,
        "user"
    );

    /// The channel (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    async fn send(self) -> Result<Page<Member>, Error> {
        check::id("channel", &self.channel)?;
        self.list.check(ListKind::Members)?;
        let request = request(
            &self.pubnub,
            Method::Get,
            &["channels", &self.channel, "uuids"],
        );
        let request = self.list.apply(request, &self.includes);
        let request = with_include(request, &self.includes, Some("uuid"));
        execute(&self.pubnub, request, self.retry, |answer| {
            types::page(answer, types::member)
        })
        .await
    }
}
into_future!(GetChannelMembers, Page<Member>);

/// Adds users to a channel and removes others in one call, then answers a page of the
/// channel's members; `.await` it. Created by [`PubNub::manage_channel_members`],
/// [`PubNub::set_channel_members`] and [`PubNub::remove_channel_members`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug, Clone)]
pub struct ManageChannelMembers {
    pubnub: PubNub,
    channel: String,
    set: Vec<MemberInput>,
    remove: Vec<String>,
    list: ListOptions,
    includes: Includes,
    retry: bool,
}

impl ManageChannelMembers {
    common_methods!();
    list_methods!();
    nested_methods!(
        include_user,
        include_user_custom,
        include_user_status,
        include_user_type,
        "user"
    );

    /// The channel (required).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// Users to add to the channel (or whose membership fields to change).
    pub fn set(mut self, members: impl IntoIterator<Item = MemberInput>) -> Self {
        self.set.extend(members);
        self
    }

    /// Users to remove from the channel.
    pub fn remove<S: Into<String>>(mut self, user_ids: impl IntoIterator<Item = S>) -> Self {
        self.remove.extend(user_ids.into_iter().map(Into::into));
        self
    }

    async fn send(self) -> Result<Page<Member>, Error> {
        check::id("channel", &self.channel)?;
        self.list.check(ListKind::Members)?;
        if self.set.is_empty() && self.remove.is_empty() {
            return Err(Error::invalid("no member to set or remove"));
        }
        let mut set = Vec::with_capacity(self.set.len());
        for item in &self.set {
            check::id("user", &item.user_id)?;
            let mut entry = Map::new();
            entry.insert("uuid".into(), json!({"id": item.user_id}));
            if let Some(custom) = &item.custom {
                check::custom(custom)?;
                entry.insert("custom".into(), custom.clone());
            }
            put_text(&mut entry, "status", &item.status);
            put_text(&mut entry, "type", &item.member_type);
            set.push(Value::Object(entry));
        }
        let mut delete = Vec::with_capacity(self.remove.len());
        for user_id in &self.remove {
            check::id("user", user_id)?;
            delete.push(json!({"uuid": {"id": user_id}}));
        }
        let body = json!({"set": set, "delete": delete});
        let request = request(
            &self.pubnub,
            Method::Patch,
            &["channels", &self.channel, "uuids"],
        );
        let request = self.list.apply(request, &self.includes);
        let request = with_body(with_include(request, &self.includes, Some("uuid")), &body);
        execute(&self.pubnub, request, self.retry, |answer| {
            types::page(answer, types::member)
        })
        .await
    }
}
into_future!(ManageChannelMembers, Page<Member>);

// ---------------------------------------------------------------------------------------------
// Entry points

impl PubNub {
    /// Sets a user's metadata (App Context).
    pub fn set_uuid_metadata(&self) -> SetUserMetadata {
        SetUserMetadata {
            pubnub: self.clone(),
            user_id: None,
            name: None,
            email: None,
            external_id: None,
            profile_url: None,
            custom: None,
            status: None,
            user_type: None,
            etag: None,
            includes: Includes::object(),
            retry: false,
        }
    }

    /// Reads a user's metadata (App Context).
    pub fn get_uuid_metadata(&self) -> GetUserMetadata {
        GetUserMetadata {
            pubnub: self.clone(),
            user_id: None,
            includes: Includes::object(),
            retry: false,
        }
    }

    /// Removes a user's metadata (App Context).
    pub fn remove_uuid_metadata(&self) -> RemoveUserMetadata {
        RemoveUserMetadata {
            pubnub: self.clone(),
            user_id: None,
            etag: None,
            retry: false,
        }
    }

    /// Lists the metadata of all users (App Context).
    pub fn get_all_uuid_metadata(&self) -> GetAllUserMetadata {
        GetAllUserMetadata {
            pubnub: self.clone(),
            list: ListOptions::default(),
            includes: Includes::list(),
            retry: false,
        }
    }

    /// Sets a channel's metadata (App Context).
    pub fn set_channel_metadata(&self) -> SetChannelMetadata {
        SetChannelMetadata {
            pubnub: self.clone(),
            channel: String::new(),
            name: None,
            description: None,
            custom: None,
            status: None,
            channel_type: None,
            etag: None,
            includes: Includes::object(),
            retry: false,
        }
    }

    /// Reads a channel's metadata (App Context).
    pub fn get_channel_metadata(&self) -> GetChannelMetadata {
        GetChannelMetadata {
            pubnub: self.clone(),
            channel: String::new(),
            includes: Includes::object(),
            retry: false,
        }
    }

    /// Removes a channel's metadata (App Context).
    pub fn remove_channel_metadata(&self) -> RemoveChannelMetadata {
        RemoveChannelMetadata {
            pubnub: self.clone(),
            channel: String::new(),
            etag: None,
            retry: false,
        }
    }

    /// Lists the metadata of all channels (App Context).
    pub fn get_all_channel_metadata(&self) -> GetAllChannelMetadata {
        GetAllChannelMetadata {
            pubnub: self.clone(),
            list: ListOptions::default(),
            includes: Includes::list(),
            retry: false,
        }
    }

    /// Lists the channels a user belongs to (App Context).
    pub fn get_memberships(&self) -> GetMemberships {
        GetMemberships {
            pubnub: self.clone(),
            user_id: None,
            list: ListOptions::default(),
            includes: Includes::list(),
            retry: false,
        }
    }

    /// Adds a user to channels and removes it from others (App Context).
    pub fn manage_memberships(&self) -> ManageMemberships {
        ManageMemberships {
            pubnub: self.clone(),
            user_id: None,
            set: Vec::new(),
            remove: Vec::new(),
            list: ListOptions::default(),
            includes: Includes::list(),
            retry: false,
        }
    }

    /// Adds a user to channels: [`PubNub::manage_memberships`] with only
    /// [`ManageMemberships::set`].
    pub fn set_memberships(&self) -> ManageMemberships {
        self.manage_memberships()
    }

    /// Removes a user from channels: [`PubNub::manage_memberships`] with only
    /// [`ManageMemberships::remove`].
    pub fn remove_memberships(&self) -> ManageMemberships {
        self.manage_memberships()
    }

    /// Lists the users of a channel (App Context).
    pub fn get_channel_members(&self) -> GetChannelMembers {
        GetChannelMembers {
            pubnub: self.clone(),
            channel: String::new(),
            list: ListOptions::default(),
            includes: Includes::list(),
            retry: false,
        }
    }

    /// Adds users to a channel and removes others (App Context).
    pub fn manage_channel_members(&self) -> ManageChannelMembers {
        ManageChannelMembers {
            pubnub: self.clone(),
            channel: String::new(),
            set: Vec::new(),
            remove: Vec::new(),
            list: ListOptions::default(),
            includes: Includes::list(),
            retry: false,
        }
    }

    /// Adds users to a channel: [`PubNub::manage_channel_members`] with only
    /// [`ManageChannelMembers::set`].
    pub fn set_channel_members(&self) -> ManageChannelMembers {
        self.manage_channel_members()
    }

    /// Removes users from a channel: [`PubNub::manage_channel_members`] with only
    /// [`ManageChannelMembers::remove`].
    pub fn remove_channel_members(&self) -> ManageChannelMembers {
        self.manage_channel_members()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_values() {
        assert_eq!(
            Includes::object().param(None).as_deref(),
            Some("custom,status,type")
        );
        let mut includes = Includes::list();
        includes.nested_custom = true;
        assert_eq!(
            includes.param(Some("channel")).as_deref(),
            Some("status,type,channel,channel.custom")
        );
        includes.status = false;
        includes.kind = false;
        includes.nested_custom = false;
        assert_eq!(includes.param(Some("uuid")), None);
    }

    #[test]
    fn sort_keys_by_list() {
        assert!(ListKind::Users.sort_key_allowed("name"));
        assert!(!ListKind::Users.sort_key_allowed("channel.name"));
        assert!(ListKind::Memberships.sort_key_allowed("channel.name"));
        assert!(ListKind::Memberships.sort_key_allowed("updated"));
        assert!(!ListKind::Memberships.sort_key_allowed("name"));
        assert!(!ListKind::Memberships.sort_key_allowed("uuid.name"));
        assert!(ListKind::Members.sort_key_allowed("uuid.updated"));
        assert!(!ListKind::Members.sort_key_allowed("uuid."));
    }
}

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
pub(crate) mod kinds;
mod list;
mod types;

use std::marker::PhantomData;

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::macros::markers;
use crate::request::{setters, AboutUser, Operation, Paged, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{response, Method, Request, Response};

use self::list::{Includes, ListOptions};
pub use types::{
    ChannelMetadataObject, Member, MemberInput, Membership, MembershipInput, Page,
    UserMetadataObject,
};

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

// ---------------------------------------------------------------------------------------------
// The builders: users and channels share one implementation of each call, and so do the two
// directions of a membership (the channels of a user, the users of a channel).

/// Sets a user's metadata; `.await` it for the stored [`UserMetadataObject`]. Created by
/// [`PubNub::set_uuid_metadata`](crate::PubNub::set_uuid_metadata). Only the fields given are
/// sent; `custom` replaces the stored custom object as a whole.
pub type SetUserMetadata = RequestBuilder<SetMetadataOp<Users>>;
/// Reads a user's metadata; `.await` it. Created by
/// [`PubNub::get_uuid_metadata`](crate::PubNub::get_uuid_metadata). A user with no metadata is
/// an HTTP 404 error.
pub type GetUserMetadata = RequestBuilder<GetMetadataOp<Users>>;
/// Removes a user's metadata; `.await` it. Created by
/// [`PubNub::remove_uuid_metadata`](crate::PubNub::remove_uuid_metadata).
pub type RemoveUserMetadata = RequestBuilder<RemoveMetadataOp<Users>>;
/// Lists the metadata of all users, a page at a time; `.await` it for one [`Page`], or walk
/// them all with `pages()`. Created by
/// [`PubNub::get_all_uuid_metadata`](crate::PubNub::get_all_uuid_metadata).
pub type GetAllUserMetadata = RequestBuilder<GetAllMetadataOp<Users>>;
/// Sets a channel's metadata; `.await` it for the stored [`ChannelMetadataObject`]. Created by
/// [`PubNub::set_channel_metadata`](crate::PubNub::set_channel_metadata).
pub type SetChannelMetadata = RequestBuilder<SetMetadataOp<Channels>>;
/// Reads a channel's metadata; `.await` it. Created by
/// [`PubNub::get_channel_metadata`](crate::PubNub::get_channel_metadata).
pub type GetChannelMetadata = RequestBuilder<GetMetadataOp<Channels>>;
/// Removes a channel's metadata; `.await` it. Created by
/// [`PubNub::remove_channel_metadata`](crate::PubNub::remove_channel_metadata).
pub type RemoveChannelMetadata = RequestBuilder<RemoveMetadataOp<Channels>>;
/// Lists the metadata of all channels, a page at a time. Created by
/// [`PubNub::get_all_channel_metadata`](crate::PubNub::get_all_channel_metadata).
pub type GetAllChannelMetadata = RequestBuilder<GetAllMetadataOp<Channels>>;
/// Lists the channels a user belongs to. Created by
/// [`PubNub::get_memberships`](crate::PubNub::get_memberships).
pub type GetMemberships = RequestBuilder<GetRelationsOp<Memberships>>;
/// Adds a user to channels and removes it from others in one call, then answers a page of
/// the user's memberships; `.await` it. Created by
/// [`PubNub::manage_memberships`](crate::PubNub::manage_memberships),
/// [`PubNub::set_memberships`](crate::PubNub::set_memberships) and
/// [`PubNub::remove_memberships`](crate::PubNub::remove_memberships).
pub type ManageMemberships = RequestBuilder<ManageRelationsOp<Memberships>>;
/// Lists the users of a channel. Created by
/// [`PubNub::get_channel_members`](crate::PubNub::get_channel_members).
pub type GetChannelMembers = RequestBuilder<GetRelationsOp<Members>>;
/// Adds users to a channel and removes others in one call, then answers a page of the
/// channel's members; `.await` it. Created by
/// [`PubNub::manage_channel_members`](crate::PubNub::manage_channel_members),
/// [`PubNub::set_channel_members`](crate::PubNub::set_channel_members) and
/// [`PubNub::remove_channel_members`](crate::PubNub::remove_channel_members).
pub type ManageChannelMembers = RequestBuilder<ManageRelationsOp<Members>>;

markers! {
    /// User metadata (the service calls users `uuids`).
    Users;
    /// Channel metadata.
    Channels;
    /// The channels of a user.
    Memberships;
    /// The users of a channel.
    Members;
}

use self::kinds::{Conditional, Entry, Identified, Included, Kind, Listed, Nested, Relation};

/// The id of a call about `K`: the one given, else the client's own user id (users only).
fn id_of<K: Kind>(core: &Core, id: &Option<String>) -> Result<String, Error> {
    let id = match id {
        Some(id) => id.clone(),
        None if K::DEFAULTS_TO_OWN => core.config().user_id().to_owned(),
        None => String::new(),
    };
    check::id(K::WHAT, &id)?;
    Ok(id)
}

/// `/v2/objects/{sub}/…` with `segments` after it.
fn objects(core: &Core, method: Method, segments: &[&str]) -> Request {
    let mut template = String::from("/v2/objects/{sub}");
    for _ in segments {
        template.push_str("/{}");
    }
    let values: Vec<_> = segments.iter().map(|s| (*s).into()).collect();
    core.endpoint(method, &template, &values)
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

fn with_body(mut request: Request, body: &Value) -> Request {
    request.body = Some(body.to_string().into());
    request
}

impl<O: Identified<Of = Users>> AboutUser for O {
    fn user_id(&mut self) -> &mut Option<String> {
        self.id()
    }
}

impl<O: Identified<Of = Channels>> RequestBuilder<O> {
    setters! {
        /// The channel (required).
        channel(channel: impl Into<String>) op => *op.id() = Some(channel.into());
    }
}

impl<O: Included> RequestBuilder<O> {
    setters! {
        /// Include the custom fields in the answer.
        include_custom(include: bool) op => op.includes().custom = include;
        /// Include the status in the answer (default: yes).
        include_status(include: bool) op => op.includes().status = include;
        /// Include the type in the answer (default: yes).
        include_type(include: bool) op => op.includes().kind = include;
    }
}

impl<O: Conditional> RequestBuilder<O> {
    setters! {
        /// Change (or remove) the metadata only if its stored version still has this ETag;
        /// otherwise the call fails with
        /// [`ErrorKind::PreconditionFailed`](crate::ErrorKind::PreconditionFailed).
        if_matches_etag(etag: impl Into<String>) op => *op.etag() = Some(etag.into());
    }
}

impl<O: Listed> RequestBuilder<O> {
    setters! {
        /// Only the objects that match this filter expression, e.g.
        /// `name like 'a*' && custom.mood == 'happy'` (PubNub's App Context filter language).
        filter(expression: impl Into<String>) op => op.list().filter = Some(expression.into());
        /// Sorts by `key` (`id`, `name`, `updated`, `status`, `type`; for memberships and
        /// members also the nested object's, as `channel.name` or `uuid.name`); call again
        /// for a secondary key.
        sort(key: impl Into<String>, direction: SortDirection) op =>
            op.list().sort.push((key.into(), direction));
        /// Most objects in the answer: 1 to 100 (default 100).
        limit(limit: usize) op => op.list().limit = Some(limit);
        /// The page that starts at this cursor: a [`Page::next`] of an earlier answer.
        start(cursor: impl Into<String>) op => {
            op.list().start = Some(cursor.into());
            op.list().end = None
        };
        /// The page that ends at this cursor: a [`Page::prev`] of an earlier answer.
        end(cursor: impl Into<String>) op => {
            op.list().end = Some(cursor.into());
            op.list().start = None
        };
    }
}

impl<O: Listed + Included> RequestBuilder<O> {
    setters! {
        /// Include the number of all matching objects ([`Page::total_count`]).
        include_total_count(include: bool) op => op.includes().total_count = include;
    }
}

/// The setters that include the nested object of memberships (`channel`) or members (`user`).
macro_rules! nested_setters {
    ($relation:ty, $what:literal: $plain:ident, $custom:ident, $status:ident, $kind:ident) => {
        impl<O: Nested<Of = $relation>> RequestBuilder<O> {
            setters! {
                #[doc = concat!("Include the ", $what, "'s metadata in each item (not only its id).")]
                $plain(include: bool) op => op.includes().nested = include;
                #[doc = concat!("Include the ", $what, "'s custom fields in each item.")]
                $custom(include: bool) op => op.includes().nested_custom = include;
                #[doc = concat!("Include the ", $what, "'s status in each item.")]
                $status(include: bool) op => op.includes().nested_status = include;
                #[doc = concat!("Include the ", $what, "'s type in each item.")]
                $kind(include: bool) op => op.includes().nested_type = include;
            }
        }
    };
}
nested_setters!(Memberships, "channel": include_channel, include_channel_custom,
    include_channel_status, include_channel_type);
nested_setters!(Members, "user": include_user, include_user_custom, include_user_status,
    include_user_type);

/// Implements the accessor traits of an operation from its field names.
macro_rules! accessors {
    ($op:ident<$k:ident: $bound:ident> $(id: $of:ty)? $(, includes $inc:ident)? $(, list $list:ident)? $(, etag $etag:ident)?) => {
        $(impl<$k: $bound> Identified for $op<$k> {
            type Of = $of;
            fn id(&mut self) -> &mut Option<String> {
                &mut self.id
            }
        })?
        $(impl<$k: $bound> Included for $op<$k> {
            fn includes(&mut self) -> &mut Includes {
                &mut self.$inc
            }
        })?
        $(impl<$k: $bound> Listed for $op<$k> {
            fn list(&mut self) -> &mut ListOptions {
                &mut self.$list
            }
        })?
        $(impl<$k: $bound> Conditional for $op<$k> {
            fn etag(&mut self) -> &mut Option<String> {
                &mut self.$etag
            }
        })?
    };
}

// ---------------------------------------------------------------------------------------------
// Metadata of users and channels

/// Sets the metadata of a user or a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct SetMetadataOp<K> {
    id: Option<String>,
    /// The fields given, under their wire names; `custom` among them.
    fields: Map<String, Value>,
    etag: Option<String>,
    includes: Includes,
    kind: PhantomData<K>,
}

impl<K> Default for SetMetadataOp<K> {
    fn default() -> Self {
        SetMetadataOp {
            id: None,
            fields: Map::new(),
            etag: None,
            includes: Includes::object(),
            kind: PhantomData,
        }
    }
}

accessors!(SetMetadataOp<K: Kind> id: K, includes includes, etag etag);

impl<K: Kind> RequestBuilder<SetMetadataOp<K>> {
    fn field(mut self, key: &str, value: impl Into<String>) -> Self {
        self.op
            .fields
            .insert(key.to_owned(), Value::String(value.into()));
        self
    }

    /// The display name.
    pub fn name(self, name: impl Into<String>) -> Self {
        self.field("name", name)
    }

    /// The status, e.g. `active`.
    pub fn status(self, status: impl Into<String>) -> Self {
        self.field("status", status)
    }

    /// The custom fields: a flat JSON object of strings, numbers, booleans (or null).
    pub fn custom(mut self, custom: Value) -> Self {
        self.op.fields.insert("custom".to_owned(), custom);
        self
    }
}

impl RequestBuilder<SetMetadataOp<Users>> {
    /// The e-mail address.
    pub fn email(self, email: impl Into<String>) -> Self {
        self.field("email", email)
    }

    /// An id in another system.
    pub fn external_id(self, external_id: impl Into<String>) -> Self {
        self.field("externalId", external_id)
    }

    /// A profile picture URL.
    pub fn profile_url(self, profile_url: impl Into<String>) -> Self {
        self.field("profileUrl", profile_url)
    }

    /// The type, e.g. `admin`.
    pub fn user_type(self, user_type: impl Into<String>) -> Self {
        self.field("type", user_type)
    }
}

impl RequestBuilder<SetMetadataOp<Channels>> {
    /// A description.
    pub fn description(self, description: impl Into<String>) -> Self {
        self.field("description", description)
    }

    /// The type, e.g. `admin`.
    pub fn channel_type(self, channel_type: impl Into<String>) -> Self {
        self.field("type", channel_type)
    }
}

impl<K: Kind> Operation for SetMetadataOp<K> {
    type Output = K::Metadata;
    const GROUP: Endpoint = Endpoint::AppContext;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let id = id_of::<K>(core, &self.id)?;
        if let Some(custom) = self.fields.get("custom") {
            check::custom(custom)?;
        }
        let request = objects(core, Method::Patch, &[K::PATH, &id])
            .param_opt("include", self.includes.param(None));
        with_etag(
            with_body(request, &Value::Object(self.fields.clone())),
            &self.etag,
        )
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<K::Metadata, Error> {
        types::single(answer, K::parse)
    }
}

/// Reads the metadata of a user or a channel.
#[derive(Debug, Clone)]
pub struct GetMetadataOp<K> {
    id: Option<String>,
    includes: Includes,
    kind: PhantomData<K>,
}

impl<K> Default for GetMetadataOp<K> {
    fn default() -> Self {
        GetMetadataOp {
            id: None,
            includes: Includes::object(),
            kind: PhantomData,
        }
    }
}

accessors!(GetMetadataOp<K: Kind> id: K, includes includes);

impl<K: Kind> Operation for GetMetadataOp<K> {
    type Output = K::Metadata;
    const GROUP: Endpoint = Endpoint::AppContext;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let id = id_of::<K>(core, &self.id)?;
        Ok(objects(core, Method::Get, &[K::PATH, &id])
            .param_opt("include", self.includes.param(None)))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<K::Metadata, Error> {
        types::single(answer, K::parse)
    }
}

/// Removes the metadata of a user or a channel.
#[derive(Debug, Clone)]
pub struct RemoveMetadataOp<K> {
    id: Option<String>,
    etag: Option<String>,
    kind: PhantomData<K>,
}

impl<K> Default for RemoveMetadataOp<K> {
    fn default() -> Self {
        RemoveMetadataOp {
            id: None,
            etag: None,
            kind: PhantomData,
        }
    }
}

accessors!(RemoveMetadataOp<K: Kind> id: K, etag etag);

impl<K: Kind> Operation for RemoveMetadataOp<K> {
    type Output = ();
    const GROUP: Endpoint = Endpoint::AppContext;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let id = id_of::<K>(core, &self.id)?;
        with_etag(objects(core, Method::Delete, &[K::PATH, &id]), &self.etag)
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<(), Error> {
        response::ok(answer)
    }
}

/// Lists the metadata of all users or all channels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GetAllMetadataOp<K> {
    list: ListOptions,
    includes: Includes,
    kind: PhantomData<K>,
}

impl<K> Default for GetAllMetadataOp<K> {
    fn default() -> Self {
        GetAllMetadataOp {
            list: ListOptions::default(),
            includes: Includes::list(),
            kind: PhantomData,
        }
    }
}

accessors!(GetAllMetadataOp<K: Kind>, includes includes, list list);

impl<K: Kind> Operation for GetAllMetadataOp<K> {
    type Output = Page<K::Metadata>;
    const GROUP: Endpoint = Endpoint::AppContext;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        self.list.check(K::LIST)?;
        let request = objects(core, Method::Get, &[K::PATH]);
        Ok(self
            .list
            .apply(request, &self.includes)
            .param_opt("include", self.includes.param(None)))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<Page<K::Metadata>, Error> {
        types::page(answer, K::parse)
    }
}

impl<K: Kind> Paged for GetAllMetadataOp<K> {
    fn follow(&self, page: &Page<K::Metadata>) -> Vec<Self> {
        next_page(self, &self.list, page)
    }
}

/// The request for the page after `page`, when it names one and was full. The service names
/// a `next` on every page that is not empty, the last one included (its recordings): a page
/// shorter than the limit is the last, and asking for the one after it would cost a request
/// for an empty answer.
fn next_page<O: Clone + Listed, T>(op: &O, list: &ListOptions, page: &Page<T>) -> Vec<O> {
    let full = page.data.len() >= list.limit.unwrap_or(MAX_LIMIT);
    match &page.next {
        Some(cursor) if full && list.start.as_ref() != Some(cursor) => {
            let mut next = op.clone();
            next.list().start = Some(cursor.clone());
            next.list().end = None;
            vec![next]
        }
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Memberships (the channels of a user) and members (the users of a channel)

/// Lists the memberships of a user, or the members of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GetRelationsOp<R> {
    id: Option<String>,
    list: ListOptions,
    includes: Includes,
    relation: PhantomData<R>,
}

impl<R> Default for GetRelationsOp<R> {
    fn default() -> Self {
        GetRelationsOp {
            id: None,
            list: ListOptions::default(),
            includes: Includes::list(),
            relation: PhantomData,
        }
    }
}

accessors!(GetRelationsOp<R: Relation> id: R::Owner, includes includes, list list);

impl<R: Relation> Nested for GetRelationsOp<R> {
    type Of = R;
}

impl<R: Relation> Operation for GetRelationsOp<R> {
    type Output = Page<R::Item>;
    const GROUP: Endpoint = Endpoint::AppContext;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let id = id_of::<R::Owner>(core, &self.id)?;
        self.list.check(R::LIST)?;
        let path = [<R::Owner as Kind>::PATH, &id, <R::Other as Kind>::PATH];
        let request = objects(core, Method::Get, &path);
        Ok(self
            .list
            .apply(request, &self.includes)
            .param_opt("include", self.includes.param(Some(R::NESTED))))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<Page<R::Item>, Error> {
        types::page(answer, R::parse)
    }
}

impl<R: Relation> Paged for GetRelationsOp<R> {
    fn follow(&self, page: &Page<R::Item>) -> Vec<Self> {
        next_page(self, &self.list, page)
    }
}

/// Sets and removes memberships of a user, or members of a channel, in one call.
#[derive(Debug, Clone, PartialEq)]
pub struct ManageRelationsOp<R> {
    id: Option<String>,
    set: Vec<Entry>,
    remove: Vec<String>,
    list: ListOptions,
    includes: Includes,
    relation: PhantomData<R>,
}

impl<R> Default for ManageRelationsOp<R> {
    fn default() -> Self {
        ManageRelationsOp {
            id: None,
            set: Vec::new(),
            remove: Vec::new(),
            list: ListOptions::default(),
            includes: Includes::list(),
            relation: PhantomData,
        }
    }
}

accessors!(ManageRelationsOp<R: Relation> id: R::Owner, includes includes, list list);

impl<R: Relation> Nested for ManageRelationsOp<R> {
    type Of = R;
}

impl<R: Relation> RequestBuilder<ManageRelationsOp<R>> {
    setters! {
        /// Memberships to add (or whose fields to change): channels for a user, users for a
        /// channel.
        set(items: impl IntoIterator<Item = R::Input>) op =>
            op.set.extend(items.into_iter().map(R::entry));
        /// Memberships to remove: channel ids for a user, user ids for a channel.
        remove(ids: impl IntoIterator<Item = impl Into<String>>) op =>
            op.remove.extend(ids.into_iter().map(Into::into));
    }
}

impl<R: Relation> Operation for ManageRelationsOp<R> {
    type Output = Page<R::Item>;
    const GROUP: Endpoint = Endpoint::AppContext;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let id = id_of::<R::Owner>(core, &self.id)?;
        self.list.check(R::LIST)?;
        if self.set.is_empty() && self.remove.is_empty() {
            return Err(Error::invalid(format!(
                "no {} to set or remove",
                if R::NESTED == "channel" {
                    "membership"
                } else {
                    "member"
                }
            )));
        }
        let other = <R::Other as Kind>::WHAT;
        let mut set = Vec::with_capacity(self.set.len());
        for item in &self.set {
            check::id(other, &item.id)?;
            let mut entry = Map::new();
            entry.insert(R::NESTED.into(), json!({"id": item.id}));
            if let Some(custom) = &item.custom {
                check::custom(custom)?;
                entry.insert("custom".into(), custom.clone());
            }
            for (key, value) in [("status", &item.status), ("type", &item.kind)] {
                if let Some(value) = value {
                    entry.insert(key.into(), Value::String(value.clone()));
                }
            }
            set.push(Value::Object(entry));
        }
        let mut delete = Vec::with_capacity(self.remove.len());
        for removed in &self.remove {
            check::id(other, removed)?;
            delete.push(json!({R::NESTED: {"id": removed}}));
        }
        let path = [<R::Owner as Kind>::PATH, &id, <R::Other as Kind>::PATH];
        let request = objects(core, Method::Patch, &path);
        let request = self
            .list
            .apply(request, &self.includes)
            .param_opt("include", self.includes.param(Some(R::NESTED)));
        Ok(with_body(request, &json!({"set": set, "delete": delete})))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<Page<R::Item>, Error> {
        types::page(answer, R::parse)
    }
}

//! The kinds App Context's generic calls are written over: users and channels, and the two
//! directions of a membership; and the traits that give the builders their setters.

use serde_json::Value;

use super::list::{Includes, ListKind, ListOptions};
use super::types::{self, ChannelMetadataObject, Member, Membership, UserMetadataObject};
use super::{Channels, MemberInput, Members, MembershipInput, Memberships, Users};
use crate::error::Error;

/// Users or channels.
pub trait Kind: Copy + Default + Eq + std::hash::Hash + Send + Sync + 'static {
    type Metadata: Send + 'static;
    /// The path segment of the kind: `uuids`, `channels`.
    const PATH: &'static str;
    /// What the id names in error messages.
    const WHAT: &'static str;
    const LIST: ListKind;
    /// A call without an id is about the client's own user.
    const DEFAULTS_TO_OWN: bool;
    fn parse(value: &Value) -> Result<Self::Metadata, Error>;
}

impl Kind for Users {
    type Metadata = UserMetadataObject;
    const PATH: &'static str = "uuids";
    const WHAT: &'static str = "user";
    const LIST: ListKind = ListKind::Users;
    const DEFAULTS_TO_OWN: bool = true;
    fn parse(value: &Value) -> Result<UserMetadataObject, Error> {
        types::user(value)
    }
}

impl Kind for Channels {
    type Metadata = ChannelMetadataObject;
    const PATH: &'static str = "channels";
    const WHAT: &'static str = "channel";
    const LIST: ListKind = ListKind::Channels;
    const DEFAULTS_TO_OWN: bool = false;
    fn parse(value: &Value) -> Result<ChannelMetadataObject, Error> {
        types::channel(value)
    }
}

/// A direction of memberships: whose list (`Owner`) of what (`Other`).
pub trait Relation: Copy + Default + Eq + std::hash::Hash + Send + Sync + 'static {
    type Owner: Kind;
    type Other: Kind;
    type Item: Send + 'static;
    type Input;
    /// The key of the nested object: `channel`, `uuid`.
    const NESTED: &'static str;
    const LIST: ListKind;
    fn parse(value: &Value) -> Result<Self::Item, Error>;
    fn entry(input: Self::Input) -> Entry;
}

impl Relation for Memberships {
    type Owner = Users;
    type Other = Channels;
    type Item = Membership;
    type Input = MembershipInput;
    const NESTED: &'static str = "channel";
    const LIST: ListKind = ListKind::Memberships;
    fn parse(value: &Value) -> Result<Membership, Error> {
        types::membership(value)
    }
    fn entry(input: MembershipInput) -> Entry {
        Entry {
            id: input.channel,
            custom: input.custom,
            status: input.status,
            kind: input.membership_type,
        }
    }
}

impl Relation for Members {
    type Owner = Channels;
    type Other = Users;
    type Item = Member;
    type Input = MemberInput;
    const NESTED: &'static str = "uuid";
    const LIST: ListKind = ListKind::Members;
    fn parse(value: &Value) -> Result<Member, Error> {
        types::member(value)
    }
    fn entry(input: MemberInput) -> Entry {
        Entry {
            id: input.user_id,
            custom: input.custom,
            status: input.status,
            kind: input.member_type,
        }
    }
}

/// The operations about one user or channel: `Of` says which.
pub trait Identified {
    type Of: Kind;
    fn id(&mut self) -> &mut Option<String>;
}

/// The operations that ask the service to include fields.
pub trait Included {
    fn includes(&mut self) -> &mut Includes;
}

/// The operations that read a list.
pub trait Listed {
    fn list(&mut self) -> &mut ListOptions;
}

/// The operations that can include the nested object of a relation.
pub trait Nested: Included {
    type Of: Relation;
}

/// One membership to set: the other side's id and the membership's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub(crate) id: String,
    pub(crate) custom: Option<Value>,
    pub(crate) status: Option<String>,
    pub(crate) kind: Option<String>,
}

/// The operations that change the stored object only if its ETag matches.
pub trait Conditional {
    fn etag(&mut self) -> &mut Option<String>;
}

//! Channel group management (PROTOCOL.md §7): a group is a server-side list of channels that a
//! client subscribes to by the group's name.

use crate::error::Error;
use crate::macros::markers;
use crate::request::{setters, Operation, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{response, Request, Response};
use crate::validate;

/// The endpoints of one channel group; `A` says which.
#[derive(Debug, Clone, Default)]
pub struct GroupOp<A> {
    group: String,
    channels: Vec<String>,
    action: std::marker::PhantomData<A>,
}

/// Adds channels to a group; `.await` it. Created by
/// [`PubNub::add_channel_to_channel_group`](crate::PubNub::add_channel_to_channel_group).
pub type AddChannelToChannelGroup = RequestBuilder<GroupOp<AddChannels>>;
/// Removes channels from a group; `.await` it. Created by
/// [`PubNub::remove_channel_from_channel_group`](crate::PubNub::remove_channel_from_channel_group).
pub type RemoveChannelFromChannelGroup = RequestBuilder<GroupOp<RemoveChannels>>;
/// Lists the channels of a group; `.await` it. Created by
/// [`PubNub::list_channels_in_channel_group`](crate::PubNub::list_channels_in_channel_group).
/// An unknown group has no channels.
pub type ListChannelsInChannelGroup = RequestBuilder<GroupOp<ListChannels>>;
/// Deletes a group; `.await` it. Created by
/// [`PubNub::remove_channel_group`](crate::PubNub::remove_channel_group).
pub type RemoveChannelGroup = RequestBuilder<GroupOp<DeleteGroup>>;
markers! {
    /// Adds channels to the group.
    AddChannels;
    /// Removes channels from the group.
    RemoveChannels;
    /// Lists the group's channels.
    ListChannels;
    /// Deletes the group.
    DeleteGroup;
}

/// Lists the groups of the key; `.await` it. Created by
/// [`PubNub::list_channel_groups`](crate::PubNub::list_channel_groups).
pub type ListChannelGroups = RequestBuilder<ListGroupsOp>;

mod action {
    use super::*;

    /// What a [`GroupOp`] does.
    pub trait Action: Send + Sync + 'static {
        type Output: Send + 'static;
        /// The path after the group's, and the channel list's parameter.
        const PATH: &'static str;
        const CHANNELS: Option<&'static str>;
        fn read(answer: &Response) -> Result<Self::Output, Error>;
    }

    /// The actions that add or remove channels.
    pub trait Changes {}
    impl Changes for AddChannels {}
    impl Changes for RemoveChannels {}

    /// `action!(Type => Output, path after the group's, channel list's parameter, reader)`.
    macro_rules! action {
        ($($action:ty => $output:ty, $path:literal, $channels:expr, $read:expr;)*) => {$(
            impl Action for $action {
                type Output = $output;
                const PATH: &'static str = $path;
                const CHANNELS: Option<&'static str> = $channels;
                fn read(answer: &Response) -> Result<$output, Error> {
                    $read(answer)
                }
            }
        )*};
    }

    action! {
        AddChannels => (), "", Some("add"), response::ok;
        RemoveChannels => (), "", Some("remove"), response::ok;
        ListChannels => Vec<String>, "", None, |answer| {
            response::field(answer, "/payload/channels", "channel group")
        };
        DeleteGroup => (), "/remove", None, response::ok;
    }
}
use action::Action;

impl<A> RequestBuilder<GroupOp<A>> {
    setters! {
        /// The channel group (required).
        channel_group(group: impl Into<String>) op => op.group = group.into();
    }
}

impl<A: action::Changes> RequestBuilder<GroupOp<A>> {
    setters! {
        /// The channels to add or remove (at least one).
        channels(channels: impl IntoIterator<Item = impl Into<String>>) op =>
            op.channels = channels.into_iter().map(Into::into).collect();
    }
}

impl<A: Action> Operation for GroupOp<A> {
    type Output = A::Output;
    const GROUP: Endpoint = Endpoint::ChannelGroups;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        validate::name("channel group", &self.group)?;
        let path = format!(
            "/v1/channel-registration/sub-key/{{sub}}/channel-group/{{}}{}",
            A::PATH
        );
        let request = core.get(&path, &[(&self.group).into()]);
        let Some(param) = A::CHANNELS else {
            return Ok(request);
        };
        if self.channels.is_empty() {
            return Err(Error::invalid("at least one channel is required"));
        }
        validate::names("channel", &self.channels)?;
        Ok(request.param(param, self.channels.join(",")))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<A::Output, Error> {
        A::read(answer)
    }
}

/// The endpoint that lists the groups of the key.
#[derive(Debug, Clone, Default)]
pub struct ListGroupsOp;

impl Operation for ListGroupsOp {
    type Output = Vec<String>;
    const GROUP: Endpoint = Endpoint::ChannelGroups;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        Ok(core.get("/v1/channel-registration/sub-key/{sub}/channel-group", &[]))
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<Vec<String>, Error> {
        response::field(answer, "/payload/groups", "channel group")
    }
}

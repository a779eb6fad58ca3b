//! The entry point of every request family: one method per call, named as PubNub's SDKs name
//! it, each returning the family's builder. The families know nothing of the client; the client
//! knows them all, here.

use crate::access::{parse_token, GrantOp, GrantToken, RevokeOp, RevokeToken, Token};
use crate::channel_groups::{
    AddChannelToChannelGroup, GroupOp, ListChannelGroups, ListChannelsInChannelGroup, ListGroupsOp,
    RemoveChannelFromChannelGroup, RemoveChannelGroup,
};
use crate::error::Error;
use crate::files::{DeleteFile, DownloadFile, GetFileUrl, ListFiles, PublishFileMessage, SendFile};
use crate::history::{CountsOp, DeleteMessages, DeleteOp, FetchMessages, FetchOp, MessageCounts};
use crate::message_actions::{
    AddMessageAction, GetActionsOp, GetMessageActions, RemoveMessageAction,
};
use crate::objects::{
    GetAllChannelMetadata, GetAllUserMetadata, GetChannelMembers, GetChannelMetadata,
    GetMemberships, GetUserMetadata, ManageChannelMembers, ManageMemberships,
    RemoveChannelMetadata, RemoveUserMetadata, SetChannelMetadata, SetUserMetadata,
};
use crate::presence::rest::{
    GetState, GetStateOp, Heartbeat, HereNow, HereNowOp, Leave, PresenceOp, SetState, SetStateOp,
    WhereNow, WhereNowOp,
};
use crate::publish::{Fire, Publish, PublishOp, SendSignal};
use crate::push::{
    AddChannelsToPush, ListPushChannels, RemoveChannelsFromPush, RemoveDeviceFromPush,
};
use crate::request::RequestBuilder;
use crate::time::{Time, TimeOp};

use super::PubNub;

impl PubNub {
    /// A builder of `op` for this client.
    fn call<O>(&self, op: O) -> RequestBuilder<O> {
        RequestBuilder::new(self.core(), op)
    }

    /// Publishes a message to a channel.
    ///
    /// ```no_run
    /// # async fn run(pubnub: pubnub_engine::PubNub) -> Result<(), pubnub_engine::Error> {
    /// use serde_json::json;
    /// let sent = pubnub
    ///     .publish()
    ///     .channel("chat")
    ///     .message(&json!({"text": "hi"}))
    ///     .meta(&json!({"priority": "high"}))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn publish(&self) -> Publish {
        self.call(PublishOp::default())
    }

    /// Fires a message: like publish, but only Functions see it.
    pub fn fire(&self) -> Fire {
        self.call(PublishOp::default())
    }

    /// Sends a signal: a message of at most 64 bytes of JSON, never stored.
    pub fn signal(&self) -> SendSignal {
        self.call(PublishOp::default())
    }

    /// Reads stored messages of one or more channels (message persistence must be enabled
    /// on the key).
    pub fn fetch_messages(&self) -> FetchMessages {
        self.call(FetchOp::default())
    }

    /// Counts the stored messages of channels since a timetoken.
    pub fn message_counts(&self) -> MessageCounts {
        self.call(CountsOp::default())
    }

    /// Deletes stored messages of a channel.
    pub fn delete_messages(&self) -> DeleteMessages {
        self.call(DeleteOp::default())
    }

    /// Adds an action (a reaction, a receipt…) to a stored message.
    pub fn add_message_action(&self) -> AddMessageAction {
        self.call(Default::default())
    }

    /// Removes an action from a message.
    pub fn remove_message_action(&self) -> RemoveMessageAction {
        self.call(Default::default())
    }

    /// Lists the actions of a channel's messages.
    pub fn get_message_actions(&self) -> GetMessageActions {
        self.call(GetActionsOp::default())
    }

    /// Adds channels to a channel group (creating the group).
    pub fn add_channel_to_channel_group(&self) -> AddChannelToChannelGroup {
        self.call(GroupOp::default())
    }

    /// Removes channels from a channel group.
    pub fn remove_channel_from_channel_group(&self) -> RemoveChannelFromChannelGroup {
        self.call(GroupOp::default())
    }

    /// The channels of a channel group.
    pub fn list_channels_in_channel_group(&self) -> ListChannelsInChannelGroup {
        self.call(GroupOp::default())
    }

    /// The channel groups of the subscribe key.
    pub fn list_channel_groups(&self) -> ListChannelGroups {
        self.call(ListGroupsOp)
    }

    /// Deletes a channel group.
    pub fn remove_channel_group(&self) -> RemoveChannelGroup {
        self.call(GroupOp::default())
    }

    /// The service's current timetoken: 17 digits, 100 ns units since the Unix epoch.
    pub fn time(&self) -> Time {
        self.call(TimeOp)
    }

    /// The channels a user is present on.
    pub fn where_now(&self) -> WhereNow {
        self.call(WhereNowOp::default())
    }

    /// Sets this user's presence state on channels and groups. The client remembers it and
    /// sends it again with every subscribe handshake and heartbeat on those channels.
    pub fn set_state(&self) -> SetState {
        self.call(SetStateOp::default())
    }

    /// A user's presence state on channels and groups.
    pub fn get_state(&self) -> GetState {
        self.call(GetStateOp::default())
    }

    /// Announces this user on channels and groups for the presence timeout.
    pub fn heartbeat(&self) -> Heartbeat {
        self.call(PresenceOp::default())
    }

    /// Tells the service this user left channels and groups.
    pub fn leave(&self) -> Leave {
        self.call(PresenceOp::default())
    }

    /// Who is present on channels or groups, or on every channel of the key.
    pub fn here_now(&self) -> HereNow {
        self.call(HereNowOp::default())
    }

    /// Sets a user's metadata (App Context).
    pub fn set_uuid_metadata(&self) -> SetUserMetadata {
        self.call(Default::default())
    }

    /// Reads a user's metadata (App Context).
    pub fn get_uuid_metadata(&self) -> GetUserMetadata {
        self.call(Default::default())
    }

    /// Removes a user's metadata (App Context).
    pub fn remove_uuid_metadata(&self) -> RemoveUserMetadata {
        self.call(Default::default())
    }

    /// Lists the metadata of all users (App Context).
    pub fn get_all_uuid_metadata(&self) -> GetAllUserMetadata {
        self.call(Default::default())
    }

    /// Sets a channel's metadata (App Context).
    pub fn set_channel_metadata(&self) -> SetChannelMetadata {
        self.call(Default::default())
    }

    /// Reads a channel's metadata (App Context).
    pub fn get_channel_metadata(&self) -> GetChannelMetadata {
        self.call(Default::default())
    }

    /// Removes a channel's metadata (App Context).
    pub fn remove_channel_metadata(&self) -> RemoveChannelMetadata {
        self.call(Default::default())
    }

    /// Lists the metadata of all channels (App Context).
    pub fn get_all_channel_metadata(&self) -> GetAllChannelMetadata {
        self.call(Default::default())
    }

    /// Lists the channels a user belongs to (App Context).
    pub fn get_memberships(&self) -> GetMemberships {
        self.call(Default::default())
    }

    /// Adds a user to channels and removes it from others (App Context).
    pub fn manage_memberships(&self) -> ManageMemberships {
        self.call(Default::default())
    }

    /// Adds a user to channels: [`PubNub::manage_memberships`] with only
    /// [`ManageMemberships::set`].
    pub fn set_memberships(&self) -> ManageMemberships {
        self.call(Default::default())
    }

    /// Removes a user from channels: [`PubNub::manage_memberships`] with only
    /// [`ManageMemberships::remove`].
    pub fn remove_memberships(&self) -> ManageMemberships {
        self.call(Default::default())
    }

    /// Lists the users of a channel (App Context).
    pub fn get_channel_members(&self) -> GetChannelMembers {
        self.call(Default::default())
    }

    /// Adds users to a channel and removes others (App Context).
    pub fn manage_channel_members(&self) -> ManageChannelMembers {
        self.call(Default::default())
    }

    /// Adds users to a channel: [`PubNub::manage_channel_members`] with only
    /// [`ManageChannelMembers::set`].
    pub fn set_channel_members(&self) -> ManageChannelMembers {
        self.call(Default::default())
    }

    /// Removes users from a channel: [`PubNub::manage_channel_members`] with only
    /// [`ManageChannelMembers::remove`].
    pub fn remove_channel_members(&self) -> ManageChannelMembers {
        self.call(Default::default())
    }

    /// Grants a token for `ttl_minutes` (1 to [`MAX_TTL_MINUTES`](crate::access::MAX_TTL_MINUTES)); name what it allows with
    /// the builder. Needs the secret key: only a server should hold it.
    pub fn grant_token(&self, ttl_minutes: u32) -> GrantToken {
        self.call(GrantOp::new(ttl_minutes))
    }

    /// Revokes `token`: the service refuses it from then on. Needs the secret key, and
    /// Access Manager's revoke enabled on the keyset.
    pub fn revoke_token(&self, token: impl Into<String>) -> RevokeToken {
        self.call(RevokeOp::new(token.into()))
    }

    /// Reads a token: [`parse_token`].
    pub fn parse_token(&self, token: &str) -> Result<Token, Error> {
        parse_token(token)
    }

    /// Shares a file on a channel: uploads it (encrypted with the client's crypto module, if
    /// any) and publishes its file message ([`files`](crate::files)).
    pub fn send_file(&self) -> SendFile {
        SendFile::new(self.core())
    }

    /// Lists the files of a channel.
    pub fn list_files(&self) -> ListFiles {
        self.call(Default::default())
    }

    /// The URL a file is downloaded from, built without a request.
    pub fn get_file_url(&self) -> GetFileUrl {
        GetFileUrl::new(self.core())
    }

    /// Downloads a file (and decrypts it with the client's crypto module, if any).
    pub fn download_file(&self) -> DownloadFile {
        DownloadFile::new(self.core())
    }

    /// Deletes a file from a channel.
    pub fn delete_file(&self) -> DeleteFile {
        self.call(Default::default())
    }

    /// Publishes the message of a file already uploaded: what `send_file` does last, for a
    /// file whose message could not be published ([`Error::unpublished_file`]).
    pub fn publish_file_message(&self) -> PublishFileMessage {
        self.call(Default::default())
    }

    /// Registers a device's push token on channels: a message published there with a
    /// `pn_apns` / `pn_fcm` part ([`PushPayload`](crate::push::PushPayload)) reaches the
    /// device as a notification ([`push`](crate::push)).
    pub fn add_channels_to_push(&self) -> AddChannelsToPush {
        self.call(Default::default())
    }

    /// Unregisters a device's push token from channels.
    pub fn remove_channels_from_push(&self) -> RemoveChannelsFromPush {
        self.call(Default::default())
    }

    /// The channels a device's push token is registered on.
    pub fn list_push_channels(&self) -> ListPushChannels {
        self.call(Default::default())
    }

    /// Removes every registration of a device's push token.
    pub fn remove_device_from_push(&self) -> RemoveDeviceFromPush {
        self.call(Default::default())
    }
}

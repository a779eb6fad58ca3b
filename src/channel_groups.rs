//! Channel group management (PROTOCOL.md §7): a group is a server-side list of channels that a
//! client subscribes to by the group's name.

use serde_json::Value;

use crate::client::{into_future, PubNub};
use crate::error::Error;
use crate::retry::Endpoint;
use crate::transport::{encode, response, Method, Request, Response};
use crate::validate;

/// `/v1/channel-registration/sub-key/{sub}/channel-group` followed by `rest`.
fn request(pubnub: &PubNub, rest: &str) -> Request {
    let core = pubnub.core();
    let path = format!(
        "/v1/channel-registration/sub-key/{}/channel-group{rest}",
        core.sub_key_segment()
    );
    core.request(Method::Get, path)
}

/// Sends a channel group request, parsing the answer with `parse`.
async fn execute<T>(
    pubnub: &PubNub,
    request: Request,
    retry: bool,
    parse: impl Fn(&Response) -> Result<T, Error>,
) -> Result<T, Error> {
    pubnub
        .core()
        .execute(Endpoint::ChannelGroups, request, retry, parse)
        .await
}

/// `/{group}`, checked and encoded.
fn group_segment(group: &str) -> Result<String, Error> {
    validate::name("channel group", group)?;
    Ok(format!("/{}", encode::encode(group)))
}

/// A string list at `pointer` in a checked body.
fn list_at(answer: &Response, pointer: &str) -> Result<Vec<String>, Error> {
    let mut json = response::check(answer)?;
    let list = json
        .pointer_mut(pointer)
        .map(Value::take)
        .ok_or_else(|| Error::decode(format!("channel group response has no {pointer}")))?;
    response::decode(list, "channel group")
}

/// Adds or removes channels: the same request with `add=` or `remove=`.
async fn change(
    pubnub: PubNub,
    param: &'static str,
    group: String,
    channels: Vec<String>,
    retry: bool,
) -> Result<(), Error> {
    let segment = group_segment(&group)?;
    if channels.is_empty() {
        return Err(Error::invalid("at least one channel is required"));
    }
    validate::names("channel", &channels)?;
    let request = request(&pubnub, &segment).param(param, channels.join(","));
    execute(&pubnub, request, retry, |a| response::check(a).map(drop)).await
}

/// Setters shared by the builders that name a group.
macro_rules! group_setters {
    () => {
        /// The channel group (required).
        pub fn channel_group(mut self, group: impl Into<String>) -> Self {
            self.group = group.into();
            self
        }

        /// Retry transient failures with the client's retry configuration (default: no).
        pub fn retry(mut self, retry: bool) -> Self {
            self.retry = retry;
            self
        }
    };
}

/// Adds channels to a group; `.await` it. Created by [`PubNub::add_channel_to_channel_group`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct AddChannelToChannelGroup {
    pubnub: PubNub,
    group: String,
    channels: Vec<String>,
    retry: bool,
}

impl AddChannelToChannelGroup {
    group_setters!();

    /// The channels to add (at least one).
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        self.channels = channels.into_iter().map(Into::into).collect();
        self
    }

    async fn send(self) -> Result<(), Error> {
        change(self.pubnub, "add", self.group, self.channels, self.retry).await
    }
}
into_future!(AddChannelToChannelGroup, ());

/// Removes channels from a group; `.await` it. Created by
/// [`PubNub::remove_channel_from_channel_group`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct RemoveChannelFromChannelGroup {
    pubnub: PubNub,
    group: String,
    channels: Vec<String>,
    retry: bool,
}

impl RemoveChannelFromChannelGroup {
    group_setters!();

    /// The channels to remove (at least one).
    pub fn channels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, channels: I) -> Self {
        self.channels = channels.into_iter().map(Into::into).collect();
        self
    }

    async fn send(self) -> Result<(), Error> {
        change(self.pubnub, "remove", self.group, self.channels, self.retry).await
    }
}
into_future!(RemoveChannelFromChannelGroup, ());

/// Lists the channels of a group; `.await` it. Created by
/// [`PubNub::list_channels_in_channel_group`]. An unknown group has no channels.
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct ListChannelsInChannelGroup {
    pubnub: PubNub,
    group: String,
    retry: bool,
}

impl ListChannelsInChannelGroup {
    group_setters!();

    async fn send(self) -> Result<Vec<String>, Error> {
        let segment = group_segment(&self.group)?;
        let request = request(&self.pubnub, &segment);
        execute(&self.pubnub, request, self.retry, |a| {
            list_at(a, "/payload/channels")
        })
        .await
    }
}
into_future!(ListChannelsInChannelGroup, Vec<String>);

/// Lists the groups of the key; `.await` it. Created by [`PubNub::list_channel_groups`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct ListChannelGroups {
    pubnub: PubNub,
    retry: bool,
}

impl ListChannelGroups {
    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<Vec<String>, Error> {
        let request = request(&self.pubnub, "");
        execute(&self.pubnub, request, self.retry, |a| {
            list_at(a, "/payload/groups")
        })
        .await
    }
}
into_future!(ListChannelGroups, Vec<String>);

/// Deletes a group; `.await` it. Created by [`PubNub::remove_channel_group`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct RemoveChannelGroup {
    pubnub: PubNub,
    group: String,
    retry: bool,
}

impl RemoveChannelGroup {
    group_setters!();

    async fn send(self) -> Result<(), Error> {
        let segment = group_segment(&self.group)?;
        let request = request(&self.pubnub, &format!("{segment}/remove"));
        execute(&self.pubnub, request, self.retry, |a| {
            response::check(a).map(drop)
        })
        .await
    }
}
into_future!(RemoveChannelGroup, ());

impl PubNub {
    /// Adds channels to a channel group (creating the group).
    pub fn add_channel_to_channel_group(&self) -> AddChannelToChannelGroup {
        AddChannelToChannelGroup {
            pubnub: self.clone(),
            group: String::new(),
            channels: Vec::new(),
            retry: false,
        }
    }

    /// Removes channels from a channel group.
    pub fn remove_channel_from_channel_group(&self) -> RemoveChannelFromChannelGroup {
        RemoveChannelFromChannelGroup {
            pubnub: self.clone(),
            group: String::new(),
            channels: Vec::new(),
            retry: false,
        }
    }

    /// The channels of a channel group.
    pub fn list_channels_in_channel_group(&self) -> ListChannelsInChannelGroup {
        ListChannelsInChannelGroup {
            pubnub: self.clone(),
            group: String::new(),
            retry: false,
        }
    }

    /// The channel groups of the subscribe key.
    pub fn list_channel_groups(&self) -> ListChannelGroups {
        ListChannelGroups {
            pubnub: self.clone(),
            retry: false,
        }
    }

    /// Deletes a channel group.
    pub fn remove_channel_group(&self) -> RemoveChannelGroup {
        RemoveChannelGroup {
            pubnub: self.clone(),
            group: String::new(),
            retry: false,
        }
    }
}

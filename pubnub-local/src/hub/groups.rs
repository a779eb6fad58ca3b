//! Channel groups: named sets of channels, per subscribe key.

use super::{validate_plain, Hub, NameError};

/// Most channels one group may hold (PubNub's documented default).
pub const MAX_CHANNELS_PER_GROUP: usize = 2000;

/// Why a channel-group call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// The group name is not a valid plain name.
    #[error("invalid group name: {0}")]
    InvalidGroup(NameError),
    /// A channel name is not a valid plain name (wildcards cannot be grouped).
    #[error("invalid channel name {name:?}: {reason}")]
    InvalidChannel {
        /// The refused name.
        name: String,
        /// Why.
        reason: NameError,
    },
    /// Adding would put more than [`MAX_CHANNELS_PER_GROUP`] channels in the group.
    #[error("maximum channel count per group exceeded")]
    TooManyChannels,
}

fn check_channels(channels: &[String]) -> Result<(), GroupError> {
    for name in channels {
        validate_plain(name).map_err(|reason| GroupError::InvalidChannel {
            name: name.clone(),
            reason,
        })?;
    }
    Ok(())
}

impl Hub {
    /// Adds channels to a group, creating it. All or nothing.
    pub fn add_channels_to_group(
        &self,
        sub_key: &str,
        group: &str,
        channels: &[String],
    ) -> Result<(), GroupError> {
        validate_plain(group).map_err(GroupError::InvalidGroup)?;
        check_channels(channels)?;
        let mut state = self.lock();
        let space = self.space(&mut state.spaces, sub_key);
        let members = space.groups.entry(group.to_string()).or_default();
        let new = channels.iter().filter(|c| !members.contains(*c)).count();
        if members.len() + new > MAX_CHANNELS_PER_GROUP {
            if members.is_empty() {
                space.groups.remove(group);
            }
            return Err(GroupError::TooManyChannels);
        }
        members.extend(channels.iter().cloned());
        self.touch();
        Ok(())
    }

    /// Removes channels from a group; unknown channels are ignored. An emptied group remains
    /// listed, as on the service, until it is deleted.
    pub fn remove_channels_from_group(
        &self,
        sub_key: &str,
        group: &str,
        channels: &[String],
    ) -> Result<(), GroupError> {
        validate_plain(group).map_err(GroupError::InvalidGroup)?;
        let mut state = self.lock();
        if let Some(members) = state
            .spaces
            .get_mut(sub_key)
            .and_then(|space| space.groups.get_mut(group))
        {
            for channel in channels {
                members.remove(channel);
            }
        }
        self.touch();
        Ok(())
    }

    /// The channels of a group, sorted; empty for an unknown group.
    pub fn group_channels(&self, sub_key: &str, group: &str) -> Result<Vec<String>, GroupError> {
        validate_plain(group).map_err(GroupError::InvalidGroup)?;
        let state = self.lock();
        Ok(state
            .spaces
            .get(sub_key)
            .map(|space| space.group_members(group).cloned().collect())
            .unwrap_or_default())
    }

    /// Deletes a group. Deleting an unknown group succeeds.
    pub fn delete_group(&self, sub_key: &str, group: &str) -> Result<(), GroupError> {
        validate_plain(group).map_err(GroupError::InvalidGroup)?;
        let mut state = self.lock();
        if let Some(space) = state.spaces.get_mut(sub_key) {
            space.groups.remove(group);
        }
        self.touch();
        Ok(())
    }

    /// Every group of the key, sorted.
    pub fn groups(&self, sub_key: &str) -> Vec<String> {
        let state = self.lock();
        state
            .spaces
            .get(sub_key)
            .map(|space| space.groups.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn add_list_remove_delete() {
        let hub = Hub::default();
        hub.add_channels_to_group("k", "g", &names(&["b", "a"]))
            .unwrap();
        hub.add_channels_to_group("k", "g", &names(&["a", "c"]))
            .unwrap();
        assert_eq!(
            hub.group_channels("k", "g").unwrap(),
            names(&["a", "b", "c"])
        );
        assert!(hub.group_channels("other", "g").unwrap().is_empty());
        hub.remove_channels_from_group("k", "g", &names(&["b", "zzz"]))
            .unwrap();
        assert_eq!(hub.group_channels("k", "g").unwrap(), names(&["a", "c"]));
        assert_eq!(hub.groups("k"), names(&["g"]));
        hub.delete_group("k", "g").unwrap();
        assert!(hub.groups("k").is_empty());
        assert!(hub.group_channels("k", "g").unwrap().is_empty());
    }

    #[tokio::test]
    async fn refuses_bad_names_and_oversized_groups() {
        let hub = Hub::default();
        assert!(matches!(
            hub.add_channels_to_group("k", "g:x", &names(&["a"])),
            Err(GroupError::InvalidGroup(_))
        ));
        assert!(matches!(
            hub.add_channels_to_group("k", "g", &names(&["a.*"])),
            Err(GroupError::InvalidChannel { .. })
        ));
        let many: Vec<String> = (0..=MAX_CHANNELS_PER_GROUP)
            .map(|i| format!("c{i}"))
            .collect();
        assert_eq!(
            hub.add_channels_to_group("k", "g", &many),
            Err(GroupError::TooManyChannels)
        );
        assert!(hub.groups("k").is_empty());
    }
}

//! The user ids that subscribe, as the console shows them: what each one's latest subscribe
//! named, how many of its long-polls are open, when it last asked.
//!
//! Presence says who is *on* a channel; this says who is *listening*, which is what one looks
//! for when a message does not arrive. Only subscribes that carry a `uuid` are counted.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::SubscribeRequest;

/// How long a user id that no longer subscribes stays listed.
pub(crate) const IDLE_KEPT: Duration = Duration::from_secs(30);

/// The subscribers of one key, by user id.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    by_uuid: HashMap<String, Client>,
}

/// One user id's subscribes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Client {
    /// The channels of its latest subscribe, as sent (patterns and `-pnpres` included).
    pub(crate) channels: Vec<String>,
    /// The channel groups of its latest subscribe.
    pub(crate) groups: Vec<String>,
    /// Its long-polls open right now (more than one is a client bug worth seeing).
    pub(crate) long_polls: u32,
    /// When its latest subscribe arrived.
    pub(crate) last_request: Instant,
    /// Its latest `filter-expr`, if any.
    pub(crate) filter: Option<String>,
}

impl Clients {
    /// A subscribe of `uuid` arrived; `long_poll` when it will wait (not a handshake).
    pub(crate) fn subscribed(
        &mut self,
        uuid: &str,
        request: &SubscribeRequest,
        now: Instant,
        long_poll: bool,
    ) {
        let client = match self.by_uuid.get_mut(uuid) {
            Some(client) => client,
            None => self.by_uuid.entry(uuid.to_string()).or_insert(Client {
                channels: Vec::new(),
                groups: Vec::new(),
                long_polls: 0,
                last_request: now,
                filter: None,
            }),
        };
        // Compared before copied: a client long-polls the same channels again and again.
        if client.channels != request.channels {
            client.channels.clone_from(&request.channels);
        }
        if client.groups != request.groups {
            client.groups.clone_from(&request.groups);
        }
        if client.filter != request.filter {
            client.filter.clone_from(&request.filter);
        }
        client.last_request = now;
        if long_poll {
            client.long_polls += 1;
        }
    }

    /// One of `uuid`'s long-polls answered or was abandoned.
    pub(crate) fn long_poll_ended(&mut self, uuid: &str) {
        if let Some(client) = self.by_uuid.get_mut(uuid) {
            client.long_polls = client.long_polls.saturating_sub(1);
        }
    }

    /// Forgets the user ids with no open long-poll that last subscribed before `now -
    /// IDLE_KEPT`; true when any was forgotten.
    pub(crate) fn forget_idle(&mut self, now: Instant) -> bool {
        let before = self.by_uuid.len();
        self.by_uuid
            .retain(|_, c| c.long_polls > 0 || now.duration_since(c.last_request) < IDLE_KEPT);
        self.by_uuid.len() != before
    }

    /// Every listed user id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Client)> {
        self.by_uuid.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn long_polls_are_counted_and_idle_clients_forgotten() {
        let mut clients = Clients::default();
        let mut request = SubscribeRequest::channels(["a", "b-pnpres"]);
        request.groups = vec!["g".into()];
        let start = Instant::now();
        clients.subscribed("u", &request, start, false);
        clients.subscribed("u", &request, start, true);
        clients.subscribed("u", &request, start, true);
        let (_, client) = clients.iter().next().unwrap();
        assert_eq!(client.long_polls, 2);
        assert_eq!(client.channels, vec!["a", "b-pnpres"]);
        assert_eq!(client.groups, vec!["g"]);
        clients.long_poll_ended("u");
        clients.long_poll_ended("u");
        clients.long_poll_ended("u");
        clients.long_poll_ended("nobody");
        assert_eq!(clients.iter().next().unwrap().1.long_polls, 0);
        assert!(!clients.forget_idle(start + IDLE_KEPT - Duration::from_millis(1)));
        assert!(clients.forget_idle(start + IDLE_KEPT));
        assert_eq!(clients.iter().count(), 0);
        // An open long-poll keeps a client listed however old its request.
        clients.subscribed("v", &request, start, true);
        assert!(!clients.forget_idle(start + IDLE_KEPT * 10));
    }
}

//! `/time/0`: the service's current timetoken (PROTOCOL.md §8).

use crate::client::{into_future, PubNub};
use crate::error::Error;
use crate::retry::Endpoint;
use crate::transport::{response, Method};

/// A time request; `.await` it for the timetoken. Created by [`PubNub::time`].
#[must_use = "a request does nothing until it is awaited"]
#[derive(Debug)]
pub struct Time {
    pubnub: PubNub,
    retry: bool,
}

impl Time {
    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    async fn send(self) -> Result<u64, Error> {
        let core = self.pubnub.core();
        let mut request = core.request(Method::Get, "/time/0".to_owned());
        // Time needs no permission; as the JS SDK does, no credential is sent with it.
        request.query.retain(|(key, _)| *key != "auth");
        core.execute(Endpoint::Time, request, self.retry, |a| {
            response::time(&response::check(a)?)
        })
        .await
    }
}
into_future!(Time, u64);

impl PubNub {
    /// The service's current timetoken: 17 digits, 100 ns units since the Unix epoch.
    pub fn time(&self) -> Time {
        Time {
            pubnub: self.clone(),
            retry: false,
        }
    }
}

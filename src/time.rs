//! `/time/0`: the service's current timetoken (PROTOCOL.md §8).

use crate::error::Error;
use crate::request::{Operation, RequestBuilder};
use crate::retry::Endpoint;
use crate::service::Core;
use crate::transport::{response, Request, Response};

/// A time request; `.await` it for the timetoken. Created by [`PubNub::time`](crate::PubNub::time).
pub type Time = RequestBuilder<TimeOp>;

/// The time endpoint.
#[derive(Debug, Clone, Default)]
pub struct TimeOp;

impl Operation for TimeOp {
    type Output = u64;
    const GROUP: Endpoint = Endpoint::Time;

    fn request(&self, core: &Core) -> Result<Request, Error> {
        let mut request = core.get("/time/0", &[]);
        // Time needs no permission; as the JS SDK does, no credential is sent with it.
        request.query.retain(|(key, _)| *key != "auth");
        Ok(request)
    }

    fn parse(&self, _: &Core, answer: &Response) -> Result<u64, Error> {
        response::time(&response::check(answer)?)
    }
}

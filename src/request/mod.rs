//! The one request layer: every REST call of the SDK is an [`Operation`] — a small description
//! of one endpoint (its retry group, the checks made before anything is sent, the request it
//! sends, how its answer reads) — run by one generic builder, [`RequestBuilder`].
//!
//! A request family (`publish`, `history`, `objects`, …) holds its operations and the setters
//! of their builders; it knows neither the client nor the engines, so the engines' effects can
//! run an operation too (gap fill runs history's). What an operation cannot describe it does
//! not do: sending, retrying (the one opt-in `.retry(true)`), signing and timeouts are the
//! [service's](crate::service); walking the pages of a list is [`RequestBuilder::pages`],
//! for every [`Paged`] operation.
//!
//! Adding an endpoint is one operation and its types:
//!
//! ```text
//! #[derive(Debug, Clone, Default)]
//! pub struct ListGroups;
//!
//! impl Operation for ListGroups {
//!     type Output = Vec<String>;
//!     const GROUP: Endpoint = Endpoint::ChannelGroups;
//!     fn request(&self, core: &Core) -> Result<Request, Error> {
//!         Ok(core.get("/v1/channel-registration/sub-key/{sub}/channel-group", &[]))
//!     }
//!     fn parse(&self, _: &Core, answer: &Response) -> Result<Vec<String>, Error> {
//!         response::field(answer, "/payload/groups", "channel groups")
//!     }
//! }
//! pub type ListChannelGroups = RequestBuilder<ListGroups>;
//! ```
//!
//! and an entry point on [`PubNub`](crate::PubNub) (`client/requests.rs`).

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;

use crate::error::Error;
use crate::service::Core;

pub(crate) use self::operation::{Operation, Paged};
pub(crate) use crate::macros::setters;

/// The future of a request builder: what `.await` on a builder runs.
pub type RequestFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

/// The pages of a list, one answer each, as a `Stream`: what `pages()` returns.
pub type PageStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send + 'static>>;

pub(crate) mod operation {
    use std::hash::Hash;

    use crate::error::Error;
    use crate::retry::Endpoint;
    use crate::service::Core;
    use crate::transport::{Request, Response};

    /// One endpoint, described.
    pub trait Operation: Send + Sync + 'static {
        /// What the call resolves to.
        type Output: Send + 'static;
        /// The retry group of the endpoint.
        const GROUP: Endpoint;
        /// Checks everything that can be refused before sending (a typed
        /// [`InvalidArgument`](crate::ErrorKind::InvalidArgument)) and builds the request.
        fn request(&self, core: &Core) -> Result<Request, Error>;
        /// [`Operation::request`] for the one send of a builder, which may move its data into
        /// the request instead of copying it (a publish moves its message).
        fn take_request(&mut self, core: &Core) -> Result<Request, Error> {
            self.request(core)
        }
        /// Reads the answer, whatever its status.
        fn parse(&self, core: &Core, answer: &Response) -> Result<Self::Output, Error>;
        /// What a success changes in the client (`set_state` remembers its state).
        fn succeeded(&self, _core: &Core, _output: &Self::Output) {}
    }

    /// An operation whose answer says where the rest of a list is.
    pub trait Paged: Operation + Clone + Hash + Eq {
        /// The operations that read what follows `page` (none at the end of the list).
        fn follow(&self, page: &Self::Output) -> Vec<Self>;
    }
}

/// The builder of every request: an operation (one endpoint, described) with the client's core
/// and the retry opt-in.
/// `.await` it to send it. Each family names its builders (`FetchMessages`, `Publish`, …) and
/// adds their setters.
#[must_use = "a request does nothing until it is awaited"]
#[derive(Clone)]
pub struct RequestBuilder<O> {
    core: Arc<Core>,
    pub(crate) op: O,
    retry: bool,
}

impl<O> RequestBuilder<O> {
    /// A builder of `op` for the client with `core`.
    pub(crate) fn new(core: &Arc<Core>, op: O) -> Self {
        RequestBuilder {
            core: core.clone(),
            op,
            retry: false,
        }
    }

    /// Retry transient failures with the client's retry configuration (default: no).
    pub fn retry(mut self, retry: bool) -> Self {
        self.retry = retry;
        self
    }

    /// The client's core.
    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.core
    }
}

impl<O: Operation> RequestBuilder<O> {
    /// Checks, sends (with the opt-in retry) and reads the answer.
    async fn send(mut self) -> Result<O::Output, Error> {
        self.core.check_open()?;
        let request = self.op.take_request(&self.core)?;
        finish(&self.core, &self.op, request, self.retry).await
    }
}

/// Runs `op` for the client with `core`: checks it, sends it, and reads its answer.
pub(crate) async fn run<O: Operation>(
    core: &Core,
    op: &O,
    retry: bool,
) -> Result<O::Output, Error> {
    core.check_open()?;
    let request = op.request(core)?;
    finish(core, op, request, retry).await
}

/// [`run`] for the engines' own requests (heartbeats, leaves, gap fill): they go on while
/// `close()` sends its leaves, when the application's requests are already refused.
pub(crate) async fn run_for_engine<O: Operation>(
    core: &Core,
    op: &O,
    retry: bool,
) -> Result<O::Output, Error> {
    let request = op.request(core)?;
    finish(core, op, request, retry).await
}

/// Sends `request`, the request of `op`, and reads its answer.
async fn finish<O: Operation>(
    core: &Core,
    op: &O,
    request: crate::transport::Request,
    retry: bool,
) -> Result<O::Output, Error> {
    let output = core
        .execute(O::GROUP, request, retry, |answer| op.parse(core, answer))
        .await?;
    op.succeeded(core, &output);
    Ok(output)
}

impl<O: Operation> IntoFuture for RequestBuilder<O> {
    type Output = Result<O::Output, Error>;
    type IntoFuture = RequestFuture<O::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl<O: Paged> RequestBuilder<O> {
    /// Every page from this one on, as a `Stream`: after each answer, the requests that read
    /// what follows it, until the list ends. A request already sent is never sent again, so a
    /// server that repeats itself cannot make the walk endless. Stops after the first error.
    pub fn pages(self) -> PageStream<O::Output> {
        let walk = Walk {
            core: self.core,
            retry: self.retry,
            queue: VecDeque::from([self.op]),
            sent: HashSet::new(),
        };
        Box::pin(futures_util::stream::unfold(walk, |mut walk| async move {
            let op = walk.next()?;
            match run(&walk.core, &op, walk.retry).await {
                Ok(page) => {
                    walk.queue.extend(op.follow(&page));
                    Some((Ok(page), walk))
                }
                Err(error) => {
                    walk.queue.clear();
                    Some((Err(error), walk))
                }
            }
        }))
    }
}

/// The state of a [`RequestBuilder::pages`] walk.
struct Walk<O> {
    core: Arc<Core>,
    retry: bool,
    queue: VecDeque<O>,
    sent: HashSet<O>,
}

impl<O: Paged> Walk<O> {
    /// The next request not sent yet.
    fn next(&mut self) -> Option<O> {
        while let Some(op) = self.queue.pop_front() {
            if self.sent.insert(op.clone()) {
                return Some(op);
            }
        }
        None
    }
}

pub(crate) mod about {
    /// The operations about one user id, the client's own unless one is given (where now,
    /// get state, App Context's user metadata and memberships).
    pub trait AboutUser {
        fn user_id(&mut self) -> &mut Option<String>;
    }
}
pub(crate) use about::AboutUser;

impl<O: AboutUser> RequestBuilder<O> {
    setters! {
        /// The user (default: the client's own user id).
        user_id(user_id: impl Into<String>) op => *op.user_id() = Some(user_id.into());
    }
}

impl<O: fmt::Debug> fmt::Debug for RequestBuilder<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("op", &self.op)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

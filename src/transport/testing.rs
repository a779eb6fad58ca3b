//! An in-memory transport for unit tests: records every request and answers from a script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::{Request, Response, Transport, TransportFuture};
use crate::config::{Config, ConfigBuilder};
use crate::error::Error;
use crate::service::Core;

/// Records requests; answers each with the next scripted answer, or `200 {"status":200}`.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    answers: Mutex<VecDeque<Result<Response, Error>>>,
    requests: Mutex<Vec<Request>>,
}

impl Recorder {
    /// Scripts the next answer.
    pub(crate) fn push(&self, answer: Result<Response, Error>) {
        self.answers.lock().unwrap().push_back(answer);
    }

    /// Every request so far.
    pub(crate) fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// A core using this recorder, configured by `configure` from `sub`/`me` defaults.
    pub(crate) fn core(
        self: &Arc<Self>,
        configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    ) -> Core {
        let config: Config = configure(Config::builder("sub", "me"))
            .transport(self.clone())
            .build()
            .unwrap();
        Core::new(config, self.clone())
    }
}

impl Transport for Recorder {
    fn send(&self, request: Request) -> TransportFuture {
        self.requests.lock().unwrap().push(request);
        let answer = self
            .answers
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| Ok(Response::new(200, r#"{"status":200,"message":"OK"}"#)));
        Box::pin(async move { answer })
    }
}

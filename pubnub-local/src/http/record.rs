//! An opt-in, bounded log of received requests, so SDK tests can assert the exact wire form.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::routes::{percent_decode, Query};

/// One request as the server received it, before any decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The raw (still percent-encoded) path.
    pub path: String,
    /// The raw query string, without `?`; empty when there was none.
    pub query: String,
    /// The raw body bytes (still compressed if the client compressed them).
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a query parameter, percent-decoded (`+` stays a plus).
    pub fn query_param(&self, name: &str) -> Option<String> {
        Query::parse(&self.query)
            .ok()?
            .get(name)
            .map(str::to_string)
    }

    /// The path's segments, each percent-decoded; a segment that is not UTF-8 is kept raw.
    pub fn path_segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .skip(1)
            .map(|s| percent_decode(s).unwrap_or_else(|_| s.to_string()))
            .collect()
    }
}

/// Keeps the most recent `capacity` requests.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    inner: Arc<Mutex<VecDeque<RecordedRequest>>>,
    capacity: usize,
}

impl Recorder {
    pub(crate) fn new(capacity: usize) -> Recorder {
        Recorder {
            inner: Arc::default(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn record(&self, method: &str, path: &str, query: &str, body: &[u8]) {
        let mut log = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() >= self.capacity {
            log.pop_front();
        }
        log.push_back(RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            body: body.to_vec(),
        });
    }

    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        let log = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

//! An in-memory PubNub for deterministic tests: `pubnub-local`'s router called as a tower
//! service through the client's [`Transport`] seam, with no socket, on tokio's (paused) clock.
//!
//! Server-side faults (500, 429, truncated bodies, …) come from the server's own
//! [`FaultController`](pubnub_local::FaultController); transport-level faults (a request lost
//! before the server, an answer lost after it, a delay, a request that never ends) come from a
//! seeded [`Rng`], so one seed is one schedule.
//!
//! The transport also keeps the ground truth the oracles need: every publish the server
//! *accepted* (even when the answer was then lost on the way back), and how many subscribe
//! requests were in flight at once.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use pubnub_engine::{
    Config, ConfigBuilder, Error, ErrorKind, Method, PubNub, Request, Response, RetryConfig,
    RetryPolicy, Transport, TransportFuture,
};
use pubnub_local::{InMemoryServer, Server};

/// splitmix64: tiny, seedable, good enough to draw schedules.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A fault the transport applies to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetFault {
    /// The request never reaches the server; the client sees a network error.
    DropRequest,
    /// The server handles the request; its answer is lost (a reset after the work was done).
    DropResponse,
    /// The request reaches the server after a delay.
    Delay(Duration),
    /// No answer, ever: the client's own timeout ends it.
    Hang,
}

/// One publish the server accepted: what a subscriber of `channel` must see exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub channel: String,
    pub timetoken: u64,
    /// The message as JSON text.
    pub payload: String,
}

/// A request as the transport saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    /// Path and encoded query, as on the wire.
    pub uri: String,
    pub fault: Option<NetFault>,
}

impl Seen {
    pub fn is_subscribe(&self) -> bool {
        self.uri.starts_with("/v2/subscribe/")
    }

    pub fn is_leave(&self) -> bool {
        self.path().ends_with("/leave")
    }

    pub fn is_heartbeat(&self) -> bool {
        self.path().ends_with("/heartbeat")
    }

    pub fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or("")
    }

    /// The decoded path segments.
    pub fn segments(&self) -> Vec<String> {
        self.path().split('/').skip(1).map(super::decode).collect()
    }
}

#[derive(Debug, Default)]
struct State {
    rng: Option<Rng>,
    /// Percentage of requests that get a transport fault (when `rng` is set).
    fault_percent: u64,
    /// Whether publishes may get transport faults (a lost answer makes a retried publish
    /// store twice; the oracle counts by timetoken, so that is allowed).
    fault_publishes: bool,
    /// Forced faults for the next requests, before any random one.
    forced: Vec<NetFault>,
    /// While set, every new request hangs: a network that stays silent.
    black_hole: bool,
    /// A delay before every request reaches the server (a network's round trip).
    latency: Option<Duration>,
    seen: Vec<Seen>,
    accepted: Vec<Accepted>,
    subscribes_in_flight: usize,
    max_subscribes_in_flight: usize,
    in_flight: usize,
}

/// The transport; see the module docs.
pub struct Memory {
    inner: Arc<Inner>,
}

struct Inner {
    server: Arc<InMemoryServer>,
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory").finish_non_exhaustive()
    }
}

/// Counts requests in flight; decremented when the request's future ends or is dropped
/// (a cancelled effect drops it).
struct InFlight {
    memory: Arc<Inner>,
    subscribe: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.memory.lock();
        state.in_flight -= 1;
        if self.subscribe {
            state.subscribes_in_flight -= 1;
        }
    }
}

impl Memory {
    /// A transport to a fresh in-memory server with a 280 s hold (the service's).
    pub fn new() -> Arc<Memory> {
        Memory::with_server(Server::builder().build_in_memory())
    }

    /// A transport to `server`.
    pub fn with_server(server: InMemoryServer) -> Arc<Memory> {
        Memory::sharing(Arc::new(server))
    }

    /// Another transport to the same server, with faults of its own (none to start with): a
    /// second client on another network.
    pub fn sibling(&self) -> Arc<Memory> {
        Memory::sharing(self.inner.server.clone())
    }

    fn sharing(server: Arc<InMemoryServer>) -> Arc<Memory> {
        Arc::new(Memory {
            inner: Arc::new(Inner {
                server,
                state: Mutex::default(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.lock()
    }

    pub fn server(&self) -> &InMemoryServer {
        &self.inner.server
    }

    /// Random transport faults on `percent`% of requests, drawn from `rng`.
    pub fn random_faults(&self, rng: Rng, percent: u64, publishes_too: bool) {
        let mut state = self.lock();
        state.rng = Some(rng);
        state.fault_percent = percent;
        state.fault_publishes = publishes_too;
    }

    /// Stops random faults (forced ones still apply).
    pub fn calm(&self) {
        self.lock().fault_percent = 0;
    }

    /// While `on`, every new request gets no answer, ever (requests already at the server are
    /// answered as usual: use it on an idle client to model a silent network).
    pub fn black_hole(&self, on: bool) {
        self.lock().black_hole = on;
    }

    /// Every request reaches the server `delay` late, as over a real network.
    pub fn latency(&self, delay: Duration) {
        self.lock().latency = Some(delay);
    }

    /// The next request gets `fault`.
    pub fn force(&self, fault: NetFault) {
        self.lock().forced.push(fault);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.lock().accepted.clone()
    }

    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    pub fn max_subscribes_in_flight(&self) -> usize {
        self.lock().max_subscribes_in_flight
    }

    /// A client of this transport: linear 1 s retry (×1000), so faults never exhaust it.
    pub fn client(self: &Arc<Self>, user: &str) -> PubNub {
        self.client_with(user, |b| b)
    }

    pub fn client_with(
        self: &Arc<Self>,
        user: &str,
        configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    ) -> PubNub {
        let builder = Config::builder("sub-key", user)
            .publish_key("pub-key")
            .retry(RetryConfig::new(RetryPolicy::Linear {
                delay: Duration::from_secs(1),
                max_retries: 1000,
            }))
            .transport(self.clone());
        PubNub::new(configure(builder).build().expect("config")).expect("client")
    }

    fn choose_fault(&self, request: &Request) -> Option<NetFault> {
        let mut state = self.lock();
        if state.black_hole {
            return Some(NetFault::Hang);
        }
        if !state.forced.is_empty() {
            return Some(state.forced.remove(0));
        }
        if let Some(delay) = state.latency {
            return Some(NetFault::Delay(delay));
        }
        let publish = request.path.starts_with("/publish/") || request.path.starts_with("/signal/");
        if publish && !state.fault_publishes {
            return None;
        }
        let percent = state.fault_percent;
        let rng = state.rng.as_mut()?;
        if percent == 0 || !rng.chance(percent) {
            return None;
        }
        Some(match rng.below(4) {
            0 => NetFault::DropRequest,
            1 => NetFault::DropResponse,
            2 => NetFault::Delay(Duration::from_millis(rng.below(20_000))),
            _ => NetFault::Hang,
        })
    }
}

fn reset() -> Error {
    Error::new(ErrorKind::Network, "connection reset (simulated)")
}

/// `[1,"Sent","<tt>"]` → tt.
fn sent_timetoken(body: &[u8]) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get(2)?.as_str()?.parse().ok()
}

impl Transport for Memory {
    fn send(&self, request: Request) -> TransportFuture {
        let fault = self.choose_fault(&request);
        let uri = request.path_and_query();
        let subscribe = request.path.starts_with("/v2/subscribe/");
        {
            let mut state = self.lock();
            state.seen.push(Seen {
                method: request.method,
                uri: uri.clone(),
                fault,
            });
            state.in_flight += 1;
            if subscribe {
                state.subscribes_in_flight += 1;
                state.max_subscribes_in_flight = state
                    .max_subscribes_in_flight
                    .max(state.subscribes_in_flight);
            }
        }
        let guard = InFlight {
            memory: self.inner.clone(),
            subscribe,
        };
        let memory = self.inner.clone();
        Box::pin(async move {
            let _guard = guard;
            match fault {
                Some(NetFault::DropRequest) => return Err(reset()),
                Some(NetFault::Hang) => std::future::pending::<()>().await,
                Some(NetFault::Delay(delay)) => tokio::time::sleep(delay).await,
                _ => {}
            }
            let method = match request.method {
                Method::Get => axum::http::Method::GET,
                Method::Post => axum::http::Method::POST,
                Method::Delete => axum::http::Method::DELETE,
                Method::Patch => axum::http::Method::PATCH,
                #[allow(unreachable_patterns)]
                other => {
                    let message = format!("no {other} in the memory transport");
                    return Err(Error::new(ErrorKind::InvalidArgument, message));
                }
            };
            let body = request.body.clone().unwrap_or_default();
            let mut http = axum::http::Request::builder().method(method).uri(&uri);
            if request.body.is_some() && request.header("content-type").is_none() {
                http = http.header("content-type", "application/json");
            }
            for (name, value) in &request.headers {
                http = http.header(*name, value.as_str());
            }
            let http = http
                .body(Body::from(body))
                .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
            let mut router = memory.server.router();
            let answer = tower_service::Service::call(&mut router, http)
                .await
                .expect("the router is infallible");
            let status = answer.status().as_u16();
            let retry_after = answer
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok());
            let body = axum::body::to_bytes(answer.into_body(), usize::MAX)
                .await
                .map_err(|_| reset())?;
            let publish = request.path.starts_with("/publish/");
            if publish && status == 200 {
                if let Some(timetoken) = sent_timetoken(&body) {
                    let segments: Vec<String> =
                        request.path.split('/').map(super::decode).collect();
                    let payload = match &request.body {
                        Some(body) => String::from_utf8_lossy(body).into_owned(),
                        None => segments.get(7).cloned().unwrap_or_default(),
                    };
                    memory.lock().accepted.push(Accepted {
                        channel: segments.get(5).cloned().unwrap_or_default(),
                        timetoken,
                        payload,
                    });
                }
            }
            if fault == Some(NetFault::DropResponse) {
                return Err(reset());
            }
            let mut response = Response::new(status, body);
            response.retry_after = retry_after;
            Ok(response)
        })
    }
}

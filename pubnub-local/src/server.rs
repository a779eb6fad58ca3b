//! The server: builder, handle, listener and connections.
//!
//! Connections are served by hyper directly (not `axum::serve`) so that each one can be
//! dropped on demand: a fault closes one connection without an answer, `stop_listener`
//! closes them all and frees the port.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::faults::FaultController;
use crate::http::{
    self, App, ConnControl, ConsoleOptions, FileStorage, ListenerControl, Options, RecordedRequest,
    Recorder, RequestLog, Signing,
};
use crate::hub::{Hub, HubConfig, PushNotification, Timetoken};

/// How long graceful shutdown waits for open requests before closing their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Largest request head hyper buffers (a 10,000-channel subscribe is ~100 KiB).
const MAX_HEAD_BYTES: usize = 1024 * 1024;

/// Requests the console's log keeps.
const CONSOLE_LOG: usize = 500;

/// Entry point: `Server::builder()`.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// A builder with the defaults: `127.0.0.1:0`, 280 s hold, 100-message buffers,
    /// announce-max 20, any key, no admin endpoint, no request recording, the console on.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }
}

/// Configures and starts a [`Server`]. `Debug` does not show the secret key.
#[derive(Clone)]
pub struct ServerBuilder {
    bind: SocketAddr,
    hub: HubConfig,
    allowed_keys: Option<HashSet<String>>,
    admin: bool,
    record: Option<usize>,
    max_uri_len: usize,
    secret_key: Option<String>,
    publish_key: String,
    files_dir: Option<PathBuf>,
    console: bool,
    console_token: Option<String>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("bind", &self.bind)
            .field("hub", &self.hub)
            .field("allowed_keys", &self.allowed_keys)
            .field("admin", &self.admin)
            .field("record", &self.record)
            .field("max_uri_len", &self.max_uri_len)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("publish_key", &self.publish_key)
            .field("files_dir", &self.files_dir)
            .field("console", &self.console)
            .field("console_token", &self.console_token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            hub: HubConfig::default(),
            allowed_keys: None,
            admin: false,
            record: None,
            max_uri_len: 32 * 1024,
            secret_key: None,
            publish_key: String::new(),
            files_dir: None,
            console: true,
            console_token: None,
        }
    }
}

impl ServerBuilder {
    /// Address to listen on (default `127.0.0.1:0`, an ephemeral port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// How long a receive long-poll waits for messages (default 280 s).
    pub fn hold(mut self, hold: Duration) -> Self {
        self.hub.hold = hold;
        self
    }

    /// Messages kept per channel for catch-up (default 100).
    pub fn buffer_size(mut self, size: usize) -> Self {
        self.hub.buffer_size = size;
        self
    }

    /// Messages kept per channel in history, for `/v3/history` (default 10,000; 0 keeps
    /// none). Separate from the catch-up buffer.
    pub fn history_size(mut self, size: usize) -> Self {
        self.hub.history_size = size;
        self
    }

    /// Occupancy above which presence switches to `interval` events (default 20).
    pub fn announce_max(mut self, max: usize) -> Self {
        self.hub.announce_max = max;
        self
    }

    /// Period of `interval` presence events (default 10 s).
    pub fn presence_interval(mut self, interval: Duration) -> Self {
        self.hub.presence_interval = interval;
        self
    }

    /// Accept only these publish/subscribe keys; others get `Invalid Key` errors.
    pub fn allowed_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_keys = Some(keys.into_iter().map(Into::into).collect());
        self
    }

    /// Serve the `/__faults` admin endpoint (default off). The handle's
    /// [`FaultController`] works either way.
    pub fn faults(mut self, enabled: bool) -> Self {
        self.admin = enabled;
        self
    }

    /// Keep the last 10,000 requests for [`ServerHandle::requests`] (default off).
    pub fn record_requests(mut self, enabled: bool) -> Self {
        self.record = enabled.then_some(10_000);
        self
    }

    /// Longest request URI before `414 Request URI Too Long` (default 32 KiB).
    pub fn max_uri_len(mut self, len: usize) -> Self {
        self.max_uri_len = len;
        self
    }

    /// Enforce Access Manager as the service does for a keyset with this secret key (default:
    /// none, and nothing is checked). Grant (`POST /v3/pam/{sub_key}/grant`) and revoke
    /// (`DELETE /v3/pam/{sub_key}/grant/{token}`) are then served. A request that carries a
    /// `signature` must carry a `timestamp` within ±60 s of this machine's clock and a
    /// signature computed with this key (v1 for a POST to `/publish`, v2 for the rest,
    /// PROTOCOL.md §12.3), and may then do anything; every other request but `/time/0` must
    /// carry, as `auth`, an unexpired, unrevoked token granted here that allows it
    /// (PROTOCOL.md §12.5). Anything else gets the service's `403`. Set
    /// [`publish_key`](Self::publish_key) too.
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// The publish key of the keyset the [`secret_key`](Self::secret_key) belongs to: v2
    /// signatures include it, and only publish and signal paths name one (default: empty).
    pub fn publish_key(mut self, key: impl Into<String>) -> Self {
        self.publish_key = key.into();
        self
    }

    /// Keep uploaded files' bytes in this directory instead of in memory (default: memory). It
    /// is created if needed; each file is one file in it, named by a hash of its object key.
    /// What the server knows about the files (names, ids, sizes) stays in memory, so files
    /// left there by an earlier run are not served again.
    pub fn files_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.files_dir = Some(dir.into());
        self
    }

    /// How long uploaded files are kept (default: until deleted). The service keeps them for
    /// the keyset's retention; pubnub-local has no per-channel retention, so this one setting
    /// covers every channel. Expiry follows the hub's clock (tokio time).
    pub fn files_retention(mut self, retention: Duration) -> Self {
        self.hub.file_retention = Some(retention);
        self
    }

    /// Serve the console at `/console` and its API under `/__console/` (default on). Off, those
    /// paths are the server's ordinary 404s and no request log is kept for it.
    pub fn console(mut self, enabled: bool) -> Self {
        self.console = enabled;
        self
    }

    /// The token the console asks for (`/console?token=…`). Without one, a server with a
    /// [`secret_key`](Self::secret_key) makes up a random one (see
    /// [`ServerHandle::console_url`]) and a server without one leaves the console open.
    pub fn console_token(mut self, token: impl Into<String>) -> Self {
        self.console_token = Some(token.into());
        self
    }

    /// Start timetokens here instead of at the wall clock (deterministic tests).
    pub fn start_timetoken(mut self, tt: Timetoken) -> Self {
        self.hub.start_timetoken = Some(tt);
        self
    }

    /// Replaces every hub setting at once.
    pub fn hub_config(mut self, config: HubConfig) -> Self {
        self.hub = config;
        self
    }

    fn app(self) -> Arc<App> {
        let tokens = self.secret_key.clone().map(crate::pam::Tokens::new);
        let console = self.console.then(|| ConsoleOptions {
            token: self
                .console_token
                .filter(|t| !t.is_empty())
                .or_else(|| self.secret_key.is_some().then(http::random_token)),
        });
        Arc::new(App {
            tokens,
            files: FileStorage::new(self.files_dir),
            hub: Hub::new(self.hub),
            faults: FaultController::new(),
            options: Options {
                allowed_keys: self.allowed_keys,
                admin: self.admin,
                max_uri_len: self.max_uri_len,
                signing: self.secret_key.map(|secret| Signing {
                    secret,
                    publish_key: self.publish_key,
                }),
                console: console.clone(),
            },
            recorder: self.record.map(Recorder::new),
            log: console.map(|_| RequestLog::new(CONSOLE_LOG)),
            shutdown: CancellationToken::new(),
            listener: OnceLock::new(),
        })
    }

    /// Builds the service without a socket, for in-memory transports: call the returned
    /// router as a tower service (`tower_service::Service::call`, or `ServiceExt::oneshot`).
    /// Works on a paused tokio clock. Spawn [`Hub::run_sweeper`] yourself if presence
    /// timeouts matter. A `reset` fault here yields a response body that fails to read.
    pub fn build_in_memory(self) -> InMemoryServer {
        let app = self.app();
        InMemoryServer {
            router: service(&app),
            app,
        }
    }

    /// Binds and starts serving; also starts the presence sweeper.
    pub async fn start(self) -> io::Result<ServerHandle> {
        let bind = self.bind;
        if let Some(dir) = &self.files_dir {
            std::fs::create_dir_all(dir)?;
        }
        let app = self.app();
        let listener = Arc::new(Listener {
            addr: Mutex::new(bind),
            router: service(&app),
            running: tokio::sync::Mutex::new(None),
            connections: Mutex::new(CancellationToken::new()),
            graceful: CancellationToken::new(),
            tracker: TaskTracker::new(),
        });
        listener.start().await?;
        let weak: Weak<dyn ListenerControl> =
            Arc::downgrade(&listener) as Weak<dyn ListenerControl>;
        let _ = app.listener.set(weak);
        let sweeper = tokio::spawn(app.hub.clone().run_sweeper());
        Ok(ServerHandle {
            inner: Arc::new(HandleInner {
                app,
                listener,
                sweeper,
            }),
        })
    }
}

/// Every endpoint: PubNub's, and the console's when it is on.
fn service(app: &Arc<App>) -> Router {
    let router = http::router(Arc::clone(app));
    if app.options.console.is_some() {
        router.merge(crate::console::router(Arc::clone(app)))
    } else {
        router
    }
}

/// The server's service without a socket; see [`ServerBuilder::build_in_memory`].
pub struct InMemoryServer {
    router: Router,
    app: Arc<App>,
}

impl std::fmt::Debug for InMemoryServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryServer").finish_non_exhaustive()
    }
}

impl InMemoryServer {
    /// The axum router serving every endpoint.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The in-memory core.
    pub fn hub(&self) -> Hub {
        self.app.hub.clone()
    }

    /// The fault controller.
    pub fn faults(&self) -> FaultController {
        self.app.faults.clone()
    }

    /// Recorded requests (empty unless `record_requests(true)`).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.app
            .recorder
            .as_ref()
            .map(Recorder::snapshot)
            .unwrap_or_default()
    }

    /// The mobile push notifications this server would have sent, oldest first (the last
    /// [`MAX_PUSH_OUTBOX`](crate::hub::MAX_PUSH_OUTBOX)).
    pub fn push_outbox(&self) -> Vec<PushNotification> {
        self.app.hub.push_outbox()
    }

    /// Forgets the mobile push notifications sent so far.
    pub fn clear_push_outbox(&self) {
        self.app.hub.clear_push_outbox();
    }
}

/// A running server. Cheap to clone; when the last clone is dropped the server stops.
#[derive(Clone)]
pub struct ServerHandle {
    inner: Arc<HandleInner>,
}

struct HandleInner {
    app: Arc<App>,
    listener: Arc<Listener>,
    sweeper: JoinHandle<()>,
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        self.app.shutdown.cancel();
        self.listener.close_all();
        if let Ok(mut running) = self.listener.running.try_lock() {
            if let Some(running) = running.take() {
                running.stop.cancel();
            }
        }
        self.sweeper.abort();
    }
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The bound address (with the real port when port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        *self
            .inner
            .listener
            .addr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// `http://ADDR`, the origin to give an SDK.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The console's address, `http://ADDR/console`, with `?token=…` when it asks for one;
    /// `None` when the console is off. It holds the token: show it only to whoever may
    /// drive this server.
    pub fn console_url(&self) -> Option<String> {
        let console = self.inner.app.options.console.as_ref()?;
        let url = format!("{}/console", self.url());
        Some(match &console.token {
            Some(token) => format!("{url}?token={}", crate::http::encode_query_value(token)),
            None => url,
        })
    }

    /// The fault controller of this server.
    pub fn faults(&self) -> FaultController {
        self.inner.app.faults.clone()
    }

    /// The in-memory core behind the server.
    pub fn hub(&self) -> Hub {
        self.inner.app.hub.clone()
    }

    /// Requests received so far, oldest first (empty unless `record_requests(true)`).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner
            .app
            .recorder
            .as_ref()
            .map(Recorder::snapshot)
            .unwrap_or_default()
    }

    /// The mobile push notifications this server would have sent, oldest first (the last
    /// [`MAX_PUSH_OUTBOX`](crate::hub::MAX_PUSH_OUTBOX)): one per registered device a published
    /// message's `pn_fcm` / `pn_apns` reaches. Also `GET /__push/outbox`.
    pub fn push_outbox(&self) -> Vec<PushNotification> {
        self.inner.app.hub.push_outbox()
    }

    /// Forgets the mobile push notifications sent so far (`DELETE /__push/outbox`).
    pub fn clear_push_outbox(&self) {
        self.inner.app.hub.clear_push_outbox();
    }

    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        if let Some(recorder) = &self.inner.app.recorder {
            recorder.clear();
        }
    }

    /// Stops accepting, closes the port and drops every open connection without answering.
    pub async fn stop_listener(&self) {
        self.inner.listener.stop().await;
    }

    /// Listens again on the same address (a no-op when already listening).
    pub async fn restart_listener(&self) -> io::Result<()> {
        self.inner.listener.start().await
    }

    /// Graceful shutdown: stops accepting, answers open long-polls at once with no
    /// messages, lets other requests finish (up to 5 s), then closes everything.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.app.shutdown.cancel();
        inner.listener.stop_accepting().await;
        inner.listener.graceful.cancel();
        inner.listener.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, inner.listener.tracker.wait())
            .await
            .is_err()
        {
            inner.listener.close_all();
        }
        inner.sweeper.abort();
    }
}

struct Listener {
    addr: Mutex<SocketAddr>,
    router: Router,
    running: tokio::sync::Mutex<Option<Running>>,
    /// Parent of every connection's kill token; replaced after each "close all".
    connections: Mutex<CancellationToken>,
    graceful: CancellationToken,
    tracker: TaskTracker,
}

struct Running {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl ListenerControl for Listener {
    fn bounce(self: Arc<Self>, down: Duration) {
        tokio::spawn(async move {
            // Let the admin response that asked for this leave before its connection closes.
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.stop().await;
            tokio::time::sleep(down).await;
            if let Err(e) = self.start().await {
                tracing::error!(error = %e, "could not restart the listener");
            }
        });
    }
}

impl Listener {
    async fn start(self: &Arc<Self>) -> io::Result<()> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let addr = *self.addr.lock().unwrap_or_else(|p| p.into_inner());
        let listener = bind(addr)?;
        let local = listener.local_addr()?;
        *self.addr.lock().unwrap_or_else(|p| p.into_inner()) = local;
        let stop = CancellationToken::new();
        let task = tokio::spawn(Arc::clone(self).accept_loop(listener, stop.clone()));
        *running = Some(Running { stop, task });
        tracing::info!(%local, "listening");
        Ok(())
    }

    async fn stop_accepting(&self) {
        let running = self.running.lock().await.take();
        if let Some(running) = running {
            running.stop.cancel();
            let _ = running.task.await;
        }
    }

    async fn stop(&self) {
        self.stop_accepting().await;
        self.close_all();
        tracing::info!("listener stopped, connections dropped");
    }

    fn close_all(&self) {
        let mut token = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        token.cancel();
        *token = CancellationToken::new();
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener, stop: CancellationToken) {
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    let kill = self
                        .connections
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .child_token();
                    let router = self.router.clone();
                    let graceful = self.graceful.clone();
                    self.tracker
                        .spawn(serve_connection(stream, router, kill, graceful));
                }
                Err(e) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Binds with `SO_REUSEADDR` so a restarted listener gets its port back at once.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    kill: CancellationToken,
    graceful: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let control = ConnControl { kill: kill.clone() };
    let service = hyper::service::service_fn(move |mut request| {
        request.extensions_mut().insert(control.clone());
        let mut router = router.clone();
        tower_service::Service::call(&mut router, request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.keep_alive(true).max_buf_size(MAX_HEAD_BYTES);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    // Biased, kill first: once a connection is killed it must not finish a pending answer.
    tokio::select! {
        biased;
        // Dropping the connection closes the socket with no answer to an open request.
        _ = kill.cancelled() => {}
        _ = connection.as_mut() => {}
        _ = graceful.cancelled() => {
            connection.as_mut().graceful_shutdown();
            tokio::select! {
                biased;
                _ = kill.cancelled() => {}
                _ = connection.as_mut() => {}
            }
        }
    }
}

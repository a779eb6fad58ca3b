//! Network faults that real networks produce, on loopback.
//!
//! HTTP-level faults ([`crate::faults`]) answer badly; the faults here never answer at all, the
//! way broken networks do, so that clients must rely on their own timeouts:
//!
//! - [`FaultProxy`]: a TCP proxy in front of a server. [`NetFault::BlackHole`] accepts
//!   connections and never answers; [`NetFault::HalfOpen`] silently kills established flows
//!   (no RST, no FIN) while new connections keep working, like a NAT or load balancer that
//!   forgot its mappings.
//! - [`ConnectBlackHole`]: an address where TCP connects hang (SYNs dropped, nothing refused),
//!   like a firewall that drops packets or an unreachable origin.
//!
//! One difference from a real dead path: the proxy's kernel still ACKs what the client sends,
//! so the client's TCP retransmission timeout and TCP keepalive never fire. Only timeouts of
//! the client's own (request, read or idle timeouts) detect these faults, which is what they
//! are for.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! use pubnub_local::netfault::{ConnectBlackHole, FaultProxy, NetFault};
//!
//! let server = pubnub_local::Server::builder().start().await?;
//! let proxy = FaultProxy::start(server.addr()).await?;
//! println!("point the SDK's origin at {}", proxy.url());
//! // … connections made now are forwarded; then the network silently drops them:
//! proxy.set(NetFault::HalfOpen);
//! assert_eq!(proxy.fault(), NetFault::HalfOpen);
//!
//! let nowhere = ConnectBlackHole::start().await?;
//! println!("connecting to {} hangs", nowhere.url());
//! proxy.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # How the connect black hole works (Linux)
//!
//! When a listener's accept queue is full, Linux drops incoming SYNs (it counts them in
//! `ListenOverflows`/`ListenDrops` of `/proc/net/netstat`) instead of refusing them, so the
//! client retransmits its SYN and `connect` waits (about 2 minutes with the default
//! `tcp_syn_retries = 6`, then `ETIMEDOUT`). [`ConnectBlackHole`] listens with a backlog of 0,
//! never accepts, and fills the queue itself: with backlog `n` the kernel queues `n + 1`
//! connections, so one filler is enough with backlog 0, and the next connect hangs. The
//! accept-queue check comes after the SYN-cookie decision, so `tcp_syncookies` (0, 1 or 2) does
//! not change this: measured on Linux 6.18 with all three values. `start` does not rely on these
//! numbers: it adds fillers until one does not complete within 200 ms. This is Linux
//! behaviour: where a full backlog is answered with a reset (Windows), `start` returns that
//! error, and where every connect completes, it gives up after 16 fillers with an error.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

/// What a [`FaultProxy`] does to connections; see [`FaultProxy::set`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetFault {
    /// Forward new connections both ways (the default). Connections stalled earlier stay
    /// stalled: a dead flow does not come back to life.
    Pass,
    /// An origin that accepts TCP and then never answers: connections accepted from now on
    /// are held open, their bytes read and discarded, nothing is sent back and nothing is
    /// forwarded upstream. Connections already established are stalled as by
    /// [`NetFault::HalfOpen`].
    BlackHole,
    /// A middlebox that keeps established connections open but forwards nothing: every
    /// connection accepted before this call stops forwarding both ways at once (no RST, no
    /// FIN; client bytes are read and discarded). Connections accepted afterwards are
    /// forwarded normally, like a new flow after a NAT re-mapping.
    HalfOpen,
}

/// The proxy's state, shared with every task through a watch channel.
#[derive(Debug, Clone, Copy)]
struct State {
    fault: NetFault,
    /// Connections accepted so far; also the sequence number of the next one.
    accepted: u64,
    /// Every connection numbered below this is stalled for good.
    stall_below: u64,
}

struct Shared {
    upstream: SocketAddr,
    state: watch::Sender<State>,
    stalled: AtomicUsize,
}

/// A TCP proxy on `127.0.0.1:0` in front of an upstream address, with [`NetFault`]s.
///
/// It runs on the tokio runtime it was started on. [`FaultProxy::shutdown`], or dropping the
/// proxy, closes the listener and every connection.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    token: CancellationToken,
    tracker: TaskTracker,
    _cancel_on_drop: DropGuard,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .field("fault", &self.fault())
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Listens on `127.0.0.1:0` and forwards to `upstream` (starting in [`NetFault::Pass`]).
    pub async fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (state, _) = watch::channel(State {
            fault: NetFault::Pass,
            accepted: 0,
            stall_below: 0,
        });
        let shared = Arc::new(Shared {
            upstream,
            state,
            stalled: AtomicUsize::new(0),
        });
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(accept_loop(
            listener,
            Arc::clone(&shared),
            token.clone(),
            tracker.clone(),
        ));
        Ok(FaultProxy {
            addr,
            shared,
            _cancel_on_drop: token.clone().drop_guard(),
            token,
            tracker,
        })
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the origin to give a client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches the fault. `BlackHole` and `HalfOpen` stall every connection accepted so far,
    /// for good; `Pass` only changes what happens to new connections. A connection the kernel
    /// has established but the proxy has not accepted yet counts as new.
    pub fn set(&self, fault: NetFault) {
        self.shared.state.send_modify(|state| {
            state.fault = fault;
            if fault != NetFault::Pass {
                state.stall_below = state.accepted;
            }
        });
    }

    /// The current fault.
    pub fn fault(&self) -> NetFault {
        self.shared.state.borrow().fault
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.state.borrow().accepted as usize
    }

    /// Connections currently stalled or black-holed (still open on the client's side).
    pub fn stalled(&self) -> usize {
        self.shared.stalled.load(Ordering::SeqCst)
    }

    /// Closes the listener and every connection, and waits for all of the proxy's tasks.
    pub async fn shutdown(&self) {
        self.token.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let client = match accepted {
            Ok((client, _)) => client,
            Err(e) => {
                // Usually EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "fault proxy: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Numbering and reading the fault under the watch's lock makes them atomic with
        // `set`: a connection is either before a stall (and stalled) or after it. Returning
        // false bumps the counter without waking every connection task.
        let mut seq_fault = (0, NetFault::Pass);
        shared.state.send_if_modified(|state| {
            seq_fault = (state.accepted, state.fault);
            state.accepted += 1;
            false
        });
        let (seq, fault) = seq_fault;
        let _ = client.set_nodelay(true);
        let conn = connection(client, seq, fault, Arc::clone(&shared), token.clone());
        tracker.spawn(conn);
    }
}

/// One client connection, from accept until it closes, stalls for good, or the proxy stops.
async fn connection(
    mut client: TcpStream,
    seq: u64,
    fault: NetFault,
    shared: Arc<Shared>,
    token: CancellationToken,
) {
    let mut state = shared.state.subscribe();
    if fault == NetFault::BlackHole {
        return hold(client, None, &shared, &token).await;
    }
    let upstream = tokio::select! {
        biased;
        _ = token.cancelled() => return,
        _ = stalled(&mut state, seq) => return hold(client, None, &shared, &token).await,
        upstream = TcpStream::connect(shared.upstream) => upstream,
    };
    let mut upstream = match upstream {
        Ok(upstream) => upstream,
        Err(e) => {
            // Like a reverse proxy with a dead backend: the client sees its connection close.
            tracing::debug!(error = %e, "fault proxy: upstream connect failed");
            return;
        }
    };
    let _ = upstream.set_nodelay(true);
    {
        // Borrowed halves, so that the streams outlive the copies when a stall drops them
        // (together with any bytes read but not yet written, as a dead flow loses them).
        let (client_rd, client_wr) = client.split();
        let (upstream_rd, upstream_wr) = upstream.split();
        let forward =
            async { tokio::try_join!(pipe(client_rd, upstream_wr), pipe(upstream_rd, client_wr)) };
        // Biased, stall first: once `set` has returned, no byte is forwarded any more, even
        // if it arrived in the same wake-up as the stall.
        tokio::select! {
            biased;
            _ = token.cancelled() => return,
            _ = stalled(&mut state, seq) => {}
            // Both directions reached EOF, or one failed: dropping both streams closes them.
            _ = forward => return,
        }
    }
    // The upstream socket stays open but unread: the server sees a silent peer too.
    hold(client, Some(upstream), &shared, &token).await;
}

/// Resolves once connection `seq` is stalled. `wait_for` checks the current value first,
/// so a stall set before the connection's task started is seen at once.
async fn stalled(state: &mut watch::Receiver<State>, seq: u64) {
    let _ = state.wait_for(|s| seq < s.stall_below).await;
}

/// Copies one direction until EOF, then passes the EOF on (shuts down the write half).
async fn pipe(
    mut from: impl tokio::io::AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
) -> io::Result<()> {
    tokio::io::copy(&mut from, &mut to).await?;
    to.shutdown().await
}

/// A stalled connection: never writes, reads and discards what the client sends (so its
/// writes keep succeeding and its buffers never fill), and ends only when the client closes
/// or the proxy stops.
async fn hold(
    mut client: TcpStream,
    upstream: Option<TcpStream>,
    shared: &Shared,
    token: &CancellationToken,
) {
    shared.stalled.fetch_add(1, Ordering::SeqCst);
    let _stalled = Decrement(&shared.stalled);
    let mut sink = [0u8; 8192];
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            read = client.read(&mut sink) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
        }
    }
    drop(upstream);
}

/// Decrements the stalled count however `hold` ends (including when its task is dropped).
struct Decrement<'a>(&'a AtomicUsize);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How long a filler connect may take before the accept queue counts as full.
const FILL_PROBE: Duration = Duration::from_millis(200);

/// At most this many fillers; Linux needs one with backlog 0 (see the module docs).
const MAX_FILLERS: usize = 16;

/// An address on `127.0.0.1` where TCP connects hang: SYNs are dropped, never refused.
///
/// A listener with a full accept queue that never accepts; see the module docs for why this
/// works. Dropping it closes the listener (connects are then refused).
pub struct ConnectBlackHole {
    addr: SocketAddr,
    _listener: TcpListener,
    /// Connections that fill the accept queue; kept so that they stay queued.
    fillers: Vec<TcpStream>,
}

impl std::fmt::Debug for ConnectBlackHole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectBlackHole")
            .field("addr", &self.addr)
            .field("fillers", &self.fillers.len())
            .finish()
    }
}

impl ConnectBlackHole {
    /// Binds `127.0.0.1:0` with a backlog of 0 and fills the accept queue (takes ~200 ms:
    /// the last filler must time out). Fails if the queue never fills.
    pub async fn start() -> io::Result<ConnectBlackHole> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
        let listener = socket.listen(0)?;
        let addr = listener.local_addr()?;
        let mut fillers = Vec::new();
        while fillers.len() < MAX_FILLERS {
            match tokio::time::timeout(FILL_PROBE, TcpStream::connect(addr)).await {
                Ok(filler) => fillers.push(filler?),
                // This SYN was dropped: the queue is full. Dropping the attempt sends nothing.
                Err(_) => {
                    return Ok(ConnectBlackHole {
                        addr,
                        _listener: listener,
                        fillers,
                    })
                }
            }
        }
        Err(io::Error::other(format!(
            "connect black hole: {MAX_FILLERS} connects to a listener with backlog 0 all \
             completed; this system does not drop SYNs when the accept queue is full"
        )))
    }

    /// The address where connects hang.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

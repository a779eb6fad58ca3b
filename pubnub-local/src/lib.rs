//! A PubNub-compatible HTTP server for offline development, tests and fault injection.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use pubnub_local::faults::{Endpoint, Fault};
//! use std::time::Duration;
//!
//! let server = pubnub_local::Server::builder()
//!     .hold(Duration::from_secs(5))
//!     .record_requests(true)
//!     .start()
//!     .await?;
//! println!("point the SDK's origin at {}", server.url());
//! server.faults().inject(Fault::status(503).on(Endpoint::Subscribe).times(2));
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Architecture
//!
//! - [`hub`]: the in-memory core (channels, buffers, cursors, presence, groups, mobile push
//!   registrations and the outbox of what would have been pushed). No HTTP;
//!   time comes from `tokio::time`, so paused-clock tests drive hold expiry and timeouts.
//! - `http` (private): parse request → call the hub → format the response, plus fault
//!   injection, request recording, and File Sharing's storage (the stand-in for the S3
//!   bucket its upload forms point at).
//! - [`filter`]: the `filter-expr` language.
//! - [`faults`]: bounded fault rules and the controller shared with the HTTP layer.
//! - [`netfault`]: network faults on loopback (a TCP proxy that black-holes or silently
//!   stalls connections, and an address where connects hang).
//! - [`Server`] / [`ServerHandle`]: listener and connections (hyper HTTP/1.1), graceful
//!   shutdown, stop/restart of the listener.
//! - `console` (private): the web page at `/console` and its API under `/__console/`: a live
//!   view of the hub (server-sent events), the request log, fault switches, a publish form.
#![warn(missing_docs)]

mod console;
#[cfg(feature = "engine")]
mod engine;
pub mod faults;
pub mod filter;
mod http;
pub mod hub;
pub mod netfault;
mod pam;
mod server;

pub use faults::{Endpoint, Fault, FaultAction, FaultController, FaultId};
pub use http::RecordedRequest;
pub use hub::{
    Hub, HubConfig, PushDevice, PushEnvironment, PushGateway, PushNotification, PushType, Timetoken,
};
pub use server::{InMemoryServer, Server, ServerBuilder, ServerHandle};

/// Raises this process's soft limit of open files to its hard limit, so that the server holds
/// as many long-polls (each a socket) as the system allows: 10,000 clients need 10,000 sockets,
/// and a shell's default soft limit is often 1,024. Returns the soft limit before and after;
/// an error when the limit cannot be read or raised (the server then runs with what it has).
#[cfg(unix)]
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit reads one rlimit through a valid pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok((before, limit.rlim_cur))
}

/// Elsewhere there is no such limit to raise.
#[cfg(not(unix))]
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    Ok((u64::MAX, u64::MAX))
}

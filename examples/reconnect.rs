//! Recovery from faults, seen from inside the subscribe engine:
//! `cargo run --example reconnect [-- OUT_DIR]`.
//!
//! Starts an embedded `pubnub-local`, subscribes, then breaks the server on purpose: failed
//! handshakes, HTTP 500s on the long-poll, a dropped long-poll, the whole listener going away and
//! coming back, and a 403 that is not retried. It prints every transition of the engine as it
//! happens (`Receiving --RECEIVE_FAILURE--> ReceiveReconnecting`), each retry decision the
//! machine takes (`RECEIVE_RECONNECT (attempt 1: retry in 0.412 s)`) and the statuses a user
//! sees, and checks that no message is lost. `examples/real_network.rs` shows the silent faults
//! (black holes, half-open connections) with the default configuration. At the end it draws the path the engine took onto the
//! subscribe state diagram: `OUT_DIR/reconnect-path.dot` (default `target/`), and `.svg` when
//! Graphviz's `dot` is installed. `pubnub_engine::diagram::render_trace` does the drawing; use it
//! on a trace of your own app to picture an incident.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use pubnub_engine::diagram::render_trace;
use pubnub_engine::subscribe::machine::SubscribeMachine;
use pubnub_engine::{
    Message, PubNub, RetryConfig, RetryPolicy, Status, StatusCategory, StatusStream,
    SubscriptionOptions, TraceEntry, TraceStream, UpdateStream,
};
use pubnub_local::hub::Publish;
use pubnub_local::{Endpoint, Fault, Server, ServerHandle};
use serde_json::json;

const CHANNEL: &str = "orders";
/// Any wait longer than this means something is broken: the example then stops with an error.
const LIMIT: Duration = Duration::from_secs(10);

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

#[tokio::main]
async fn main() -> Result<()> {
    let out_dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));

    let server = Server::builder().faults(true).start().await?;
    println!("pubnub-local at {} (fault injection on)", server.url());
    let pubnub = PubNub::builder("demo", "watcher")
        .publish_key("demo")
        .origin(server.url())
        // Quick retries so the example takes seconds; the default is exponential from 2 s.
        // The engine adds jitter to each delay, at most as much again (100-200 ms here): 20
        // retries outlast step 4's 2 s outage, whatever the jitter.
        .retry(RetryConfig::new(RetryPolicy::Linear {
            delay: Duration::from_millis(100),
            max_retries: 20,
        }))
        .build_client()?;
    let subscription = pubnub
        .channel(CHANNEL)
        .subscription(SubscriptionOptions::new());
    let mut watch = Watch::new(&pubnub, subscription.message_stream());
    let mut sent = 0;

    step("1. the first two handshakes fail with 503, the third succeeds");
    server
        .faults()
        .inject(Fault::status(503).on(Endpoint::Subscribe).times(2));
    subscription.subscribe()?;
    watch.until(Wait::Status(StatusCategory::Connected)).await?;

    step("2. three long-polls in a row answer HTTP 500");
    watch.until_parked(&server).await?;
    server
        .faults()
        .inject(Fault::status(500).on(Endpoint::Subscribe).times(3));
    // The open long-poll returns this message; the next three requests hit the fault.
    publish(&pubnub, &mut sent).await?;
    watch
        .until(Wait::Status(StatusCategory::UnexpectedDisconnect))
        .await?;
    // Each retry proves the network is back with a handshake, which the service answers at
    // once: Reconnected comes when a retry delay ends, even on this idle channel.
    watch
        .until(Wait::Status(StatusCategory::Reconnected))
        .await?;
    publish(&pubnub, &mut sent).await?;
    watch.until(Wait::Message(sent)).await?;

    step("3. the server drops the open long-poll without an answer");
    watch.until_parked(&server).await?;
    server.faults().drop_long_polls();
    watch
        .until(Wait::Status(StatusCategory::UnexpectedDisconnect))
        .await?;
    watch
        .until(Wait::Status(StatusCategory::Reconnected))
        .await?;
    publish(&pubnub, &mut sent).await?;
    watch.until(Wait::Message(sent)).await?;

    step("4. the listener goes away for 2 s; a message is published meanwhile");
    watch.until_parked(&server).await?;
    server.stop_listener().await;
    watch
        .until(Wait::Status(StatusCategory::UnexpectedDisconnect))
        .await?;
    // Straight into the server's hub: the port is closed, so the SDK could not publish now.
    sent += 1;
    let order = Publish::message(CHANNEL, json!({ "order": sent }));
    server.hub().publish("demo", order)?;
    watch.for_a_while(Duration::from_secs(2)).await;
    server.restart_listener().await?;
    watch
        .until(Wait::Status(StatusCategory::Reconnected))
        .await?;
    watch.until(Wait::Message(sent)).await?; // caught up from the cursor it kept

    step("5. a 403 (token revoked) is not retried; the app reconnects by hand");
    watch.until_parked(&server).await?;
    server
        .faults()
        .inject(Fault::status(403).on(Endpoint::Subscribe));
    publish(&pubnub, &mut sent).await?;
    watch
        .until(Wait::Status(StatusCategory::ConnectionError))
        .await?;
    pubnub.reconnect();
    watch.until(Wait::Status(StatusCategory::Connected)).await?;
    publish(&pubnub, &mut sent).await?;
    watch.until(Wait::Message(sent)).await?;

    step("6. unsubscribe");
    subscription.unsubscribe();
    watch
        .until(Wait::Status(StatusCategory::Disconnected))
        .await?;
    pubnub.close().await;
    watch.drain();
    println!("\nall {} messages arrived, in order", watch.received);

    // The picture: the subscribe diagram with every edge the engine took drawn in red.
    let diagram = render_trace::<SubscribeMachine>(&watch.path);
    std::fs::create_dir_all(&out_dir)?;
    let dot = out_dir.join("reconnect-path.dot");
    std::fs::write(&dot, diagram.to_dot())?;
    println!(
        "{} of the {} edges of the subscribe engine taken; wrote {}",
        diagram.visited().len(),
        diagram.edges().len(),
        dot.display()
    );
    let svg = dot.with_extension("svg");
    match Command::new("dot")
        .arg("-Tsvg")
        .arg(&dot)
        .arg("-o")
        .arg(&svg)
        .status()
    {
        Ok(status) if status.success() => println!("wrote {}", svg.display()),
        Ok(status) => println!("dot failed ({status}): no SVG"),
        Err(_) => println!("Graphviz `dot` is not installed: no SVG"),
    }
    Ok(())
}

/// Publishes the next order, `{"order": n}`.
async fn publish(pubnub: &PubNub, sent: &mut u32) -> Result<()> {
    *sent += 1;
    let order = json!({ "order": *sent });
    pubnub.publish().channel(CHANNEL).message(&order).await?;
    Ok(())
}

fn step(title: &str) {
    println!("\n{title}");
}

/// What [`Watch::until`] waits for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wait {
    /// A status of this category (after the one the previous wait found).
    Status(StatusCategory),
    /// Message number `n` (they are numbered from 1).
    Message(u32),
}

/// Prints transitions, statuses and messages in the order they happen, keeps the engine's
/// path, and checks that messages arrive in order.
struct Watch {
    trace: TraceStream,
    statuses: StatusStream,
    messages: UpdateStream<Message>,
    /// The subscribe engine's events so far: the path to draw.
    path: Vec<TraceEntry>,
    received: u32,
    /// Every status so far, and how many of them earlier waits have looked at.
    seen: Vec<StatusCategory>,
    checked: usize,
    /// The last trace entry, when it was an EMIT_STATUS or EMIT_MESSAGES invocation.
    last_emit: Option<&'static str>,
}

impl Watch {
    fn new(pubnub: &PubNub, messages: UpdateStream<Message>) -> Watch {
        Watch {
            trace: pubnub.trace(),
            statuses: pubnub.status_stream(),
            messages,
            path: Vec::new(),
            received: 0,
            seen: Vec::new(),
            checked: 0,
            last_emit: None,
        }
    }

    /// Shows everything that happens until `wait` is met; an error after [`LIMIT`].
    async fn until(&mut self, wait: Wait) -> Result<()> {
        let met = async {
            while !self.met(wait) {
                if !self.next().await? {
                    return Err(format!("the client went away before {wait:?}"));
                }
            }
            Ok(())
        };
        match tokio::time::timeout(LIMIT, met).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(format!("no {wait:?} within {LIMIT:?}").into()),
        }
    }

    fn met(&mut self, wait: Wait) -> bool {
        match wait {
            Wait::Message(n) => self.received >= n,
            Wait::Status(category) => {
                let found = self.seen[self.checked..]
                    .iter()
                    .position(|s| *s == category);
                if let Some(i) = found {
                    self.checked += i + 1;
                }
                found.is_some()
            }
        }
    }

    /// Shows everything that happens until the client's long-poll waits in the server, so that
    /// the next fault hits the request after it.
    async fn until_parked(&mut self, server: &ServerHandle) -> Result<()> {
        let parked = async {
            while server.hub().waiting_subscribers() == 0 {
                self.for_a_while(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(LIMIT, parked)
            .await
            .map_err(|_| format!("no long-poll waiting within {LIMIT:?}").into())
    }

    /// Shows everything that happens during `period`.
    async fn for_a_while(&mut self, period: Duration) {
        let _ =
            tokio::time::timeout(period, async { while let Ok(true) = self.next().await {} }).await;
    }

    /// Shows what is left in the trace.
    fn drain(&mut self) {
        for entry in self.trace.drain() {
            let _ = self.entry(entry);
        }
    }

    /// Waits for the next trace entry, status or message and shows it; false once the client
    /// is gone.
    async fn next(&mut self) -> Result<bool, String> {
        tokio::select! {
            biased;
            Some(entry) = self.trace.next_entry() => self.entry(entry)?,
            Some(status) = self.statuses.next() => self.status(&status),
            Some(message) = self.messages.next() => self.message(&message)?,
            else => return Ok(false),
        }
        Ok(true)
    }

    fn entry(&mut self, entry: TraceEntry) -> Result<(), String> {
        // The engine traces an invocation before running it, and the next entry after running
        // it. So when an EMIT_* was the last entry, what it delivered is waiting in the streams
        // now: show that first, to print things in the order they happened.
        match self.last_emit.take() {
            Some("EMIT_STATUS") => {
                if let Some(Some(status)) = self.statuses.next().now_or_never() {
                    self.status(&status);
                }
            }
            Some(_) => {
                while let Some(Some(message)) = self.messages.next().now_or_never() {
                    self.message(&message)?;
                }
            }
            None => {}
        }
        match entry {
            // Only the subscribe engine runs here (no heartbeat interval: presence is off).
            TraceEntry::Event { .. } => {
                println!("    {entry}");
                self.path.push(entry);
            }
            TraceEntry::Invocation { name, .. } => {
                if name == "EMIT_STATUS" || name == "EMIT_MESSAGES" {
                    self.last_emit = Some(name);
                }
                // The machine's retry decisions: how long it waits, or that it gives up.
                if name.ends_with("_RECONNECT") && !name.starts_with("CANCEL_") {
                    println!("    {entry}");
                }
            }
        }
        Ok(())
    }

    fn status(&mut self, status: &Status) {
        match &status.error {
            Some(reason) => println!("  status: {:?} ({reason})", status.category),
            None => println!("  status: {:?}", status.category),
        }
        // The story: a failure's cause (Timeout, NetworkIssues, AccessDenied…) folded into
        // UnexpectedDisconnect / ConnectionError.
        self.seen.push(status.category.story());
    }

    fn message(&mut self, message: &Message) -> Result<(), String> {
        self.received += 1;
        println!("  message: {}", message.message);
        if message.message != json!({ "order": self.received }) {
            return Err(format!(
                "expected order {}, got {}",
                self.received, message.message
            ));
        }
        Ok(())
    }
}

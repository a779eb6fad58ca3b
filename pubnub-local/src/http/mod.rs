//! The HTTP layer: parse a request, call the hub, format the answer. Routing is done by hand
//! in [`routes`] (one axum fallback handler) because PubNub's path rules — split before
//! decoding, raw commas in channel lists, `+` never a space — are not axum's.

mod actions;
mod admin;
mod auth;
mod files;
mod groups;
mod history;
mod objects;
mod pam;
mod presence;
mod publish;
mod push;
mod record;
mod response;
mod routes;
mod subscribe;

use std::collections::HashSet;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use tokio_util::sync::CancellationToken;

use crate::faults::{FaultAction, FaultController};
use crate::hub::Hub;

pub(crate) use admin::{apply as apply_fault_commands, notification_json, rules_json};
pub(crate) use auth::Signing;
pub(crate) use files::Storage as FileStorage;
pub(crate) use publish::{MAX_MESSAGE_BYTES, MAX_SIGNAL_BYTES};
use record::LogEntry;
pub use record::RecordedRequest;
pub(crate) use record::{LoggedRequest, Recorder, RequestLog};
use response::{accepts_gzip, finish, Reply};
use routes::{Query, Route, RouteError};

/// Largest request body read; bigger bodies get 413. `/v2/publish` allows 2 MiB messages.
/// File Sharing's storage upload has its own, larger limit (`files::read_upload`).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024 + 1024;

/// Longest a `hang` fault holds a request when the client never gives up.
const MAX_HANG: Duration = Duration::from_secs(3600);

/// Longest a `delay` fault waits.
const MAX_DELAY: Duration = Duration::from_secs(600);

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// When set, only these publish/subscribe keys are accepted.
    pub(crate) allowed_keys: Option<HashSet<String>>,
    /// Whether `/__faults` is served.
    pub(crate) admin: bool,
    /// Longest request URI (path and query) before 414; publish computes its own limit.
    pub(crate) max_uri_len: usize,
    /// With a secret key, every request but `/time/0` must be signed.
    pub(crate) signing: Option<Signing>,
    /// Whether the console is served, and the token it asks for.
    pub(crate) console: Option<ConsoleOptions>,
}

/// Settings of the console.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleOptions {
    /// Required as `?token=` when set (always set with a secret key).
    pub(crate) token: Option<String>,
}

/// Lets the admin endpoint stop and restart the listener it is served by.
pub(crate) trait ListenerControl: Send + Sync {
    /// Stops listening, waits `down`, listens again on the same address.
    fn bounce(self: Arc<Self>, down: Duration);
}

/// Shared state of every request.
pub(crate) struct App {
    pub(crate) hub: Hub,
    pub(crate) faults: FaultController,
    pub(crate) options: Options,
    pub(crate) recorder: Option<Recorder>,
    /// The console's request log, while the console is on.
    pub(crate) log: Option<RequestLog>,
    /// Access Manager tokens, with a secret key: grant, revoke and check them.
    pub(crate) tokens: Option<crate::pam::Tokens>,
    /// File Sharing's storage: issued upload forms and the files' bytes.
    pub(crate) files: FileStorage,
    /// Cancelled at graceful shutdown: long-polls answer at once, hung requests close.
    pub(crate) shutdown: CancellationToken,
    pub(crate) listener: OnceLock<Weak<dyn ListenerControl>>,
}

/// Inserted into each request by the connection that carries it, so a fault can close that
/// connection without answering.
#[derive(Debug, Clone)]
pub(crate) struct ConnControl {
    pub(crate) kill: CancellationToken,
}

/// What a handler decided.
pub(crate) enum Outcome {
    Reply(Reply),
    /// Close the connection without a response.
    Reset,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Outcome {
        Outcome::Reply(reply)
    }
}

impl App {
    fn key_allowed(&self, key: &str) -> bool {
        self.options
            .allowed_keys
            .as_ref()
            .is_none_or(|keys| keys.contains(key))
    }
}

/// A console token that cannot be guessed: 128 random bits, hex.
pub(crate) fn random_token() -> String {
    let (a, b) = (files::random_u64(), files::random_u64());
    format!("{a:016x}{b:016x}")
}

/// Percent-encodes a query value (a console token given on the command line may hold
/// anything).
pub(crate) fn encode_query_value(value: &str) -> String {
    files::encode_segment(value)
}

/// The router serving the whole PubNub surface from one fallback handler.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new().fallback(handle).with_state(app)
}

async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    // Logged when this future ends, answered or dropped (a client that went away).
    let mut entry = app.log.as_ref().map(|log| {
        let uri = request.uri();
        log.begin(
            request.method().as_str(),
            &loggable(uri.path()),
            uri.query().unwrap_or(""),
        )
    });
    let response = answer(&app, request, &mut entry).await;
    if let Some(entry) = &mut entry {
        entry.answered(Some(response.status().as_u16()));
    }
    response
}

async fn answer(app: &Arc<App>, request: Request, entry: &mut Option<LogEntry>) -> Response {
    let conn = request.extensions().get::<ConnControl>().cloned();
    let (parts, body) = request.into_parts();
    if parts.method == Method::OPTIONS {
        // CORS preflight: the headers are the answer.
        return finish(
            Reply::new(StatusCode::OK, Vec::new(), response::JAVASCRIPT),
            false,
        );
    }
    let accept_gzip = accepts_gzip(&parts.headers);
    let path = parts.uri.path();
    let raw_query = parts.uri.query().unwrap_or("");
    // File uploads take up to 5 MiB and the form around them; everything else 2 MiB.
    let body = if parts.method == Method::POST && path == routes::UPLOAD_PATH {
        let length = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        match files::read_upload(body, length).await {
            files::UploadBody::Complete(body) => body,
            files::UploadBody::TooLarge(seen) => {
                if let Some(recorder) = &app.recorder {
                    recorder.record(parts.method.as_str(), path, raw_query, &[]);
                }
                return finish(files::entity_too_large(seen), false);
            }
            files::UploadBody::Failed => return finish(files::malformed(), false),
        }
    } else {
        let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
            let reply = Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Balancer",
                "Request Entity Too Large.",
            );
            return finish(reply, accept_gzip);
        };
        body
    };
    if let Some(recorder) = &app.recorder {
        recorder.record(parts.method.as_str(), path, raw_query, &body);
    }
    let mut fault = None;
    let request = Incoming {
        method: &parts.method,
        path,
        raw_query,
        headers: &parts.headers,
    };
    let outcome = serve(app, &request, body, &mut fault).await;
    if let (Some(entry), Some(fault)) = (entry.as_mut(), &fault) {
        entry.fault(fault);
    }
    match outcome {
        Outcome::Reply(reply) => {
            tracing::debug!(method = %parts.method, path = %loggable(path), status = reply.status.as_u16(), "request");
            finish(reply, accept_gzip)
        }
        Outcome::Reset => {
            tracing::debug!(method = %parts.method, path = %loggable(path), "request: connection dropped");
            // Over a connection `reset` never returns and the entry is logged, unanswered,
            // when the connection drops this future. In memory the "answer" is a body that
            // fails: logged now, as unanswered too.
            let response = reset(conn).await;
            drop(entry.take());
            response
        }
    }
}

/// Closes the request's connection without an answer. Without a connection (the router used
/// in memory) the best imitation is a body that fails while it is read.
async fn reset(conn: Option<ConnControl>) -> Response {
    if let Some(conn) = conn {
        conn.kill.cancel();
        // The connection task drops this future together with the connection.
        std::future::pending::<()>().await;
    }
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "pubnub-local: connection reset (fault)",
        ))
    });
    Response::new(Body::from_stream(failing))
}

/// A request's head, as `serve` reads it.
struct Incoming<'a> {
    method: &'a Method,
    path: &'a str,
    raw_query: &'a str,
    headers: &'a HeaderMap,
}

/// Serves one request; `applied` is set to the fault it took, if any.
async fn serve(
    app: &App,
    request: &Incoming<'_>,
    body: Bytes,
    applied: &mut Option<FaultAction>,
) -> Outcome {
    let Incoming {
        method,
        path,
        raw_query,
        headers,
    } = *request;
    let route = match Route::parse(method, path) {
        Ok(route) => route,
        Err(RouteError::NotFound) => return Reply::not_found(path).into(),
        Err(RouteError::MethodNotAllowed) => {
            return Reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Balancer",
                "Method Not Allowed",
            )
            .into()
        }
    };
    if route == Route::Admin {
        if !app.options.admin {
            return Reply::not_found(path).into();
        }
        return admin::handle(app, method, &body).into();
    }
    if let Route::PushOutbox { clear } = route {
        return admin::push_outbox(app, clear).into();
    }
    let service = route.service();
    let Ok(query) = Query::parse(raw_query) else {
        return Reply::error(StatusCode::BAD_REQUEST, service, "Could Not Parse Request").into();
    };
    let publishes = matches!(
        route,
        Route::Publish { .. } | Route::Signal { .. } | Route::PublishFile { .. }
    );
    // Publish answers "Message Too Large" for long URIs itself, as the service does.
    if !publishes && path.len() + raw_query.len() + 1 > app.options.max_uri_len {
        return Reply::error(StatusCode::URI_TOO_LONG, "Balancer", "Request URI Too Long").into();
    }
    // Access Manager answers before the service behind it: a refused request takes no fault.
    // A signed request (and grant and revoke, which must be) is checked against the secret
    // key; any other against its token. File storage is outside it: its forms are their own
    // signature, its downloads are what a file URL redirects to.
    if let (Some(signing), false) = (&app.options.signing, route.is_storage()) {
        let pam_route = matches!(route, Route::Grant { .. } | Route::Revoke { .. });
        if pam_route || query.get("signature").is_some() {
            let signed = auth::Signed {
                method,
                path,
                raw_query,
                body: &body,
            };
            if let Err(refusal) = auth::check(signing, &route, &signed, auth::unix_now()) {
                tracing::debug!(?refusal, path = %loggable(path), "signature refused");
                return refusal.reply().into();
            }
        } else if let Err(reply) = pam::authorize(app, &route, method, &query) {
            tracing::debug!(path = %loggable(path), "token refused");
            return reply.into();
        }
    }
    let fault = route.fault_group(&query).and_then(|group| {
        let user = query.get("uuid");
        app.faults.take(group, user, || route.channels(&query))
    });
    if let Some(fault) = &fault {
        tracing::info!(?fault, path, "injecting fault");
        *applied = Some(fault.clone());
    }
    match &fault {
        Some(FaultAction::Status {
            status,
            retry_after,
        }) => {
            let mut reply = fault_reply(&route, error_status(*status));
            reply.retry_after = *retry_after;
            return reply.into();
        }
        Some(FaultAction::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(*ms).min(MAX_DELAY)).await;
        }
        Some(FaultAction::Reset) => return Outcome::Reset,
        Some(FaultAction::Hang) => {
            tokio::select! {
                _ = app.shutdown.cancelled() => {}
                _ = tokio::time::sleep(MAX_HANG) => {}
            }
            return Outcome::Reset;
        }
        _ => {}
    }
    let outcome = dispatch(app, &route, method, &query, &body, headers).await;
    let Outcome::Reply(mut reply) = outcome else {
        return outcome;
    };
    match fault {
        Some(FaultAction::Truncated) => {
            let half = reply.body.len() / 2;
            reply.body.truncate(half);
        }
        Some(FaultAction::NonJson) => {
            reply.status = StatusCode::OK;
            reply.body = b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec();
        }
        Some(FaultAction::StoreThenFail { status }) if reply.status.is_success() => {
            reply = fault_reply(&route, error_status(status));
        }
        Some(FaultAction::StoreThenReset) if reply.status.is_success() => return Outcome::Reset,
        _ => {}
    }
    reply.into()
}

/// The path as logged: a token revoke names the token in its path, which stays out of logs.
fn loggable(path: &str) -> std::borrow::Cow<'_, str> {
    match path.find("/grant/") {
        Some(at) if path.starts_with("/v3/pam/") => format!("{}/grant/***", &path[..at]).into(),
        _ => path.into(),
    }
}

/// The error body of an injected status: the service's JSON, or S3's XML for file storage.
fn fault_reply(route: &Route<'_>, status: StatusCode) -> Reply {
    if route.is_storage() {
        return files::fault_error(status);
    }
    let message = status.canonical_reason().unwrap_or("Injected fault");
    Reply::error(status, route.service(), message)
}

/// An injected status must be an error status; anything else becomes 500.
fn error_status(status: u16) -> StatusCode {
    match StatusCode::from_u16(status) {
        Ok(code) if code.is_client_error() || code.is_server_error() => code,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn dispatch(
    app: &App,
    route: &Route<'_>,
    method: &Method,
    query: &Query<'_>,
    body: &Bytes,
    headers: &HeaderMap,
) -> Outcome {
    match *route {
        Route::Time => Reply::ok(&serde_json::json!([app.hub.now().0])).into(),
        Route::Publish { .. } | Route::Signal { .. } | Route::PublishFile { .. } => {
            publish::handle(app, route, query, body).into()
        }
        Route::GenerateUploadUrl { .. }
        | Route::ListFiles { .. }
        | Route::File { .. }
        | Route::StorageUpload
        | Route::StorageDownload { .. } => {
            files::handle(app, route, query, body, headers).await.into()
        }
        Route::Subscribe { sub_key, channels } => {
            subscribe::handle(app, sub_key, channels, query).await
        }
        Route::Heartbeat { .. }
        | Route::Leave { .. }
        | Route::HereNow { .. }
        | Route::GlobalHereNow { .. }
        | Route::WhereNow { .. }
        | Route::SetState { .. }
        | Route::GetState { .. } => presence::handle(app, route, query).into(),
        Route::Group { .. } | Route::DeleteGroup { .. } | Route::ListGroups { .. } => {
            groups::handle(app, route, query)
                .with_content_type(response::JSON)
                .into()
        }
        Route::FetchHistory { .. } | Route::MessageCounts { .. } | Route::DeleteHistory { .. } => {
            history::handle(app, route, query).into()
        }
        Route::AddAction { .. } | Route::RemoveAction { .. } | Route::GetActions { .. } => {
            actions::handle(app, route, query, body).into()
        }
        Route::Grant { .. } => pam::grant(app, body).into(),
        Route::Revoke { token, .. } => pam::revoke(app, token).into(),
        Route::AppContext { .. } => {
            let if_match = headers
                .get(header::IF_MATCH)
                .and_then(|value| value.to_str().ok());
            objects::handle(app, route, method, query, body, if_match).into()
        }
        Route::Push { .. } => push::handle(app, route, query).into(),
        Route::PushOutbox { clear } => admin::push_outbox(app, clear).into(),
        Route::Admin => Reply::not_found("/__faults").into(),
    }
}

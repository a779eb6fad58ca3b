//! The console: a web page served by the server itself at `/console`, to see channels,
//! clients, messages, requests and faults live, and to drive them.
//!
//! The page is three files compiled into the binary (`page/`: HTML, CSS, plain JavaScript;
//! no build step), served as one document with the style and script inline, so that it loads
//! in one request and its Content-Security-Policy allows exactly those two (by hash) and
//! nothing from elsewhere. It reads the server through its own API, under a prefix no PubNub
//! path uses:
//!
//! | route | what |
//! |---|---|
//! | `GET /console` | the page |
//! | `GET /__console/events` | the live feed, server-sent events ([`feed`]) |
//! | `GET /__console/state` | the state the feed's `snapshot` events carry, once |
//! | `POST /__console/publish` | publish a message or signal through the hub ([`actions`]) |
//! | `POST /__console/faults` | the fault commands of `/__faults` ([`actions`]) |
//!
//! With a token (always with a secret key: given, or made up at start), every route needs
//! `?token=`: `401` without, `403` with another. Console routes are
//! not PubNub's: no Access Manager, no faults, no CORS headers, not in the request log.

mod actions;
mod feed;
mod snapshot;

use std::sync::{Arc, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http::App;

const HTML: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/console.css");
const SCRIPT: &str = include_str!("page/console.js");

/// The page as served, assembled once.
struct Page {
    html: String,
    /// What the page may run and load: its own style and script (by hash), connections to
    /// this server, nothing else (no CDN, no other inline code, no frames). `data:` is the
    /// empty favicon, so the browser does not ask for `/favicon.ico`.
    policy: HeaderValue,
}

fn page_assembled() -> &'static Page {
    static PAGE: OnceLock<Page> = OnceLock::new();
    PAGE.get_or_init(|| {
        let hash = |text: &str| STANDARD.encode(Sha256::digest(text.as_bytes()));
        let html = HTML
            .replace("<!-- console.css -->", &format!("<style>{STYLE}</style>"))
            .replace("<!-- console.js -->", &format!("<script>{SCRIPT}</script>"));
        let policy = format!(
            "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; \
             connect-src 'self'; img-src data:; form-action 'none'; base-uri 'none'; \
             frame-ancestors 'none'",
            hash(SCRIPT),
            hash(STYLE)
        );
        Page {
            html,
            policy: HeaderValue::from_str(&policy)
                .unwrap_or(HeaderValue::from_static("default-src 'none'")),
        }
    })
}

/// The console's routes; mounted next to PubNub's when the console is on.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/console", get(page))
        .route("/__console/events", get(events))
        .route("/__console/state", get(state))
        .route("/__console/publish", action(actions::publish))
        .route("/__console/faults", action(actions::faults))
        .with_state(app)
}

/// `?token=`, the only query parameter the console reads.
#[derive(Debug, Default, Deserialize)]
struct Access {
    token: Option<String>,
}

/// Why a request was refused: no token, or another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denied {
    Missing,
    Wrong,
}

impl Denied {
    fn status(self) -> StatusCode {
        match self {
            Denied::Missing => StatusCode::UNAUTHORIZED,
            Denied::Wrong => StatusCode::FORBIDDEN,
        }
    }
}

fn check(app: &App, access: &Access) -> Result<(), Denied> {
    let expected = app
        .options
        .console
        .as_ref()
        .and_then(|c| c.token.as_deref());
    match (expected, access.token.as_deref()) {
        (None, _) => Ok(()),
        (Some(_), None) => Err(Denied::Missing),
        (Some(expected), Some(given)) if same(expected, given) => Ok(()),
        (Some(_), Some(_)) => Err(Denied::Wrong),
    }
}

/// Compares in time that depends on the lengths only, not on where the first difference is.
fn same(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    a.len() == b.len() && diff == 0
}

/// A response with the console's headers: no caching, no sniffing, no referrer (the page's
/// URL holds the token).
fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::SERVER, HeaderValue::from_static("pubnub-local"));
    response
}

pub(crate) fn json_reply(status: StatusCode, value: &Value) -> Response {
    respond(status, "application/json", value.to_string())
}

fn api_denied(denied: Denied) -> Response {
    let error = match denied {
        Denied::Missing => "The console needs its token: ?token=…",
        Denied::Wrong => "Wrong console token.",
    };
    let status = denied.status();
    json_reply(status, &json!({"status": status.as_u16(), "error": error}))
}

async fn page(State(app): State<Arc<App>>, Query(access): Query<Access>) -> Response {
    let page = page_assembled();
    let (status, body) = match check(&app, &access) {
        Ok(()) => (StatusCode::OK, page.html.clone()),
        Err(denied) => (denied.status(), denied_page(denied)),
    };
    let mut response = respond(status, "text/html; charset=utf-8", body);
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, page.policy.clone());
    response
}

fn denied_page(denied: Denied) -> String {
    let why = match denied {
        Denied::Missing => {
            "This server has a secret key, so its console needs the token \
            printed when it started: open the URL of the <code>console:</code> line, \
            <code>/console?token=…</code>."
        }
        Denied::Wrong => {
            "That is not this server's console token. Open the URL of the \
            <code>console:</code> line printed when it started."
        }
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>pubnub-local console: token needed</title></head>\
         <body><main><h1>pubnub-local console</h1><p>{why}</p></main></body></html>"
    )
}

async fn events(State(app): State<Arc<App>>, Query(access): Query<Access>) -> Response {
    match check(&app, &access) {
        Ok(()) => feed::events(app),
        Err(denied) => api_denied(denied),
    }
}

async fn state(State(app): State<Arc<App>>, Query(access): Query<Access>) -> Response {
    match check(&app, &access) {
        Ok(()) => json_reply(StatusCode::OK, &snapshot::state(&app)),
        Err(denied) => api_denied(denied),
    }
}

/// A `POST` route running `run` on the body once the token is checked.
fn action(run: fn(&App, &HeaderMap, &Bytes) -> Response) -> MethodRouter<Arc<App>> {
    post(
        move |State(app): State<Arc<App>>,
              Query(access): Query<Access>,
              headers: HeaderMap,
              body: Bytes| async move {
            match check(&app, &access) {
                Ok(()) => run(&app, &headers, &body),
                Err(denied) => api_denied(denied),
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_one_document_with_its_style_and_script() {
        // Neither file may end its element early.
        assert!(!SCRIPT.contains("</script"));
        assert!(!STYLE.contains("</style"));
        let page = page_assembled();
        assert!(page.html.contains(STYLE) && page.html.contains(SCRIPT));
        assert!(!page.html.contains("<!-- console."));
        let policy = page.policy.to_str().unwrap();
        assert!(policy.contains("script-src 'sha256-"), "{policy}");
        assert!(!policy.contains("unsafe"), "{policy}");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "a"));
    }
}

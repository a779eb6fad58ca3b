//! The console in a real browser: headless Chromium driven over WebDriver (plain HTTP and
//! JSON, spoken here with reqwest; no WebDriver crate).
//!
//! Ignored in the normal run. Run it with ChromeDriver (Debian: `chromium`, `chromium-driver`):
//!
//! ```sh
//! PUBNUB_LOCAL_CHROMEDRIVER=/usr/bin/chromedriver \
//!     cargo test -p pubnub-local --test console_browser -- --ignored --nocapture
//! ```
//!
//! `PUBNUB_LOCAL_CHROMIUM` names the browser (default `/usr/bin/chromium`);
//! `PUBNUB_LOCAL_SCREENSHOTS` the directory for `console.png` (1280×800) and
//! `console-narrow.png` (default `target/console-screenshots`; `pubnub-local/docs` refreshes
//! the README's).
//!
//! The only test that sleeps for real: a browser runs on the wall clock.

mod common;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{answer, client};
use pubnub_local::{Server, ServerHandle};
use serde_json::{json, Value};

/// How long the test waits for the page to show what happened: a bound so that a broken page
/// fails instead of hanging, not a speed target. How fast it was (the page's load time, the
/// time from a publish until the page shows it; targets 200 ms and 1 s) is printed as figures,
/// as benchmarks report theirs, never asserted on a shared machine's clock.
const SHOWN_WITHIN: Duration = Duration::from_secs(10);

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// ChromeDriver, killed when dropped, with whatever it started that is still running.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // ChromeDriver leads its own process group, which its browsers join: a test that
        // failed before it closed its session must not leave a browser running.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill() only sends a signal, to the group this test started.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(path: &str) -> Driver {
        // A free port: bind, read, release. ChromeDriver binds it a moment later.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let start = Instant::now();
        loop {
            let status = client().get(format!("{}/status", driver.url)).send().await;
            if let Ok(status) = status {
                let text = status.text().await.unwrap_or_default();
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if body["value"]["ready"] == json!(true) {
                    return driver;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ChromeDriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One browser session, closed when dropped.
struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`.
    base: String,
}

impl Drop for Browser {
    /// Closes the session (the browser quits) even when the test failed: a blocking request,
    /// since drop cannot wait for a future.
    fn drop(&mut self) {
        let Some(rest) = self.base.strip_prefix("http://") else {
            return;
        };
        let Some((addr, path)) = rest.split_once('/') else {
            return;
        };
        if let Ok(mut stream) = std::net::TcpStream::connect(addr) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /{path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            // The answer's first bytes say the session is gone; the connection may stay open.
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read(&mut [0u8; 1024]);
            }
        }
    }
}

impl Browser {
    async fn open(driver: &Driver, chromium: &str) -> Browser {
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--disable-crash-reporter",
                         "--window-size=1280,800",
                         // Nothing but the page: no update checks, sync or other calls
                         // home, which a machine without internet refuses many at a time.
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run", "--disable-quic"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let created = call(
            &http,
            "POST",
            &format!("{}/session", driver.url),
            capabilities,
        )
        .await;
        let id = created["sessionId"].as_str().expect("a session id");
        Browser {
            base: format!("{}/session/{id}", driver.url),
            http,
        }
    }

    async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        call(&self.http, method, &format!("{}{path}", self.base), body).await
    }

    async fn go(&self, url: &str) {
        self.cmd("POST", "/url", json!({"url": url})).await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    async fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .cmd(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.cmd("POST", &format!("/element/{element}/click"), json!({}))
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.cmd("POST", &format!("/element/{element}/clear"), json!({}))
            .await;
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    /// Polls `script` until it returns `true`; how long that took.
    async fn until(&self, what: &str, within: Duration, script: &str, args: Value) -> Duration {
        let start = Instant::now();
        loop {
            if self.js(script, args.clone()).await == json!(true) {
                return start.elapsed();
            }
            assert!(start.elapsed() < within, "the page never showed {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    async fn screenshot(&self, path: &PathBuf) {
        let png = self.cmd("GET", "/screenshot", Value::Null).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64"))
            .expect("a PNG");
        assert!(bytes.starts_with(b"\x89PNG"));
        std::fs::write(path, bytes).expect("screenshot written");
    }

    /// The browser's console messages since the last call.
    async fn log(&self) -> Vec<Value> {
        let entries = self
            .cmd("POST", "/se/log", json!({"type": "browser"}))
            .await;
        entries.as_array().cloned().unwrap_or_default()
    }
}

async fn call(http: &reqwest::Client, method: &str, url: &str, body: Value) -> Value {
    let request = match method {
        "GET" => http.get(url),
        "DELETE" => http.delete(url),
        _ => http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string()),
    };
    let response = request.send().await.expect("WebDriver answers");
    let status = response.status();
    let text = response.text().await.expect("WebDriver's answer");
    let body: Value = serde_json::from_str(&text).expect("WebDriver's JSON");
    assert!(status.is_success(), "{method} {url}: {status} {body}");
    body["value"].clone()
}

async fn get(server: &ServerHandle, path: &str) -> common::Answer {
    let response = client()
        .get(format!("{}{path}", server.url()))
        .send()
        .await
        .expect("request");
    answer(response).await
}

/// A handshake's cursor.
async fn cursor(server: &ServerHandle, channels: &str, query: &str) -> String {
    let body = get(
        server,
        &format!("/v2/subscribe/demo/{channels}/0?tt=0&{query}"),
    )
    .await
    .json();
    body["t"]["t"].as_str().expect("a cursor").to_string()
}

/// Opens `url` and returns the browser's navigation timing of it, in milliseconds: `load`
/// (navigation start to the load event's end), `dom` (to DOMContentLoaded), `bytes`
/// transferred and how many other `requests` the page made while loading.
async fn load(browser: &Browser, url: &str) -> Value {
    browser.go(url).await;
    browser
        .js(
            "const n = performance.getEntriesByType('navigation')[0]; \
             return {load: Math.round(n.loadEventEnd - n.startTime), \
                     dom: Math.round(n.domContentLoadedEventEnd - n.startTime), \
                     response: Math.round(n.responseEnd - n.startTime), \
                     bytes: n.transferSize, status: n.responseStatus, \
                     requests: performance.getEntriesByType('resource').length};",
            json!([]),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver: set PUBNUB_LOCAL_CHROMEDRIVER and run with --ignored"]
async fn the_console_in_a_real_browser() {
    let Ok(chromedriver) = std::env::var("PUBNUB_LOCAL_CHROMEDRIVER") else {
        eprintln!("skipped: set PUBNUB_LOCAL_CHROMEDRIVER=/usr/bin/chromedriver");
        return;
    };
    let chromium =
        std::env::var("PUBNUB_LOCAL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let shots = std::env::var("PUBNUB_LOCAL_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots")
        });
    std::fs::create_dir_all(&shots).expect("screenshot directory");
    let begun = Instant::now();

    let server = Server::builder()
        .hold(Duration::from_secs(5))
        .start()
        .await
        .expect("server starts");
    let console = server.console_url().expect("the console is on by default");
    let driver = Driver::start(&chromedriver).await;
    let browser = Browser::open(&driver, &chromium).await;

    // One document, nothing else loaded. Its load time (navigation start to the load event,
    // measured by the browser) is a figure: the first load also starts the browser's renderer
    // for this site, the second is the page's own, as in a browser that is already open.
    let cold = load(&browser, &console).await;
    let warm = load(&browser, &console).await;
    for timing in [&cold, &warm] {
        assert_eq!(timing["requests"], json!(0), "one document: {timing}");
        assert_eq!(timing["status"], json!(200), "{timing}");
        assert!(timing["load"].as_f64().is_some(), "a load time: {timing}");
    }
    eprintln!(
        "figure: page load {} ms (first {} ms; target 200 ms)",
        warm["load"], cold["load"]
    );
    browser
        .until(
            "the live feed",
            Duration::from_secs(2),
            "return document.getElementById('connection').dataset.state === 'live';",
            json!([]),
        )
        .await;

    // A client subscribes (a long-poll stays open), another publishes.
    let state = "%7B%22room%22%3A%7B%22mood%22%3A%22busy%22%7D%7D";
    let alice = cursor(
        &server,
        "room",
        &format!("uuid=alice&heartbeat=60&state={state}"),
    )
    .await;
    let poll = {
        let url = format!(
            "{}/v2/subscribe/demo/room/0?tt={alice}&uuid=alice&heartbeat=60",
            server.url()
        );
        tokio::spawn(async move { client().get(url).send().await })
    };
    let published = Instant::now();
    let sent = get(
        &server,
        "/publish/demo/demo/0/room/0/%7B%22text%22%3A%22hello%20from%20bob%22%7D?uuid=bob",
    )
    .await;
    assert_eq!(sent.status, 200);
    let client_shown = browser
        .until(
            "alice in the clients",
            SHOWN_WITHIN,
            "const row = document.querySelector('#clients tr[data-user=\"alice\"]'); \
             return !!row && row.textContent.includes('room') && row.textContent.includes('busy');",
            json!([]),
        )
        .await;
    let occupancy_shown = browser
        .until(
            "room's occupancy",
            SHOWN_WITHIN,
            "const cell = document.querySelector('#channels tr[data-channel=\"room\"] .occupancy'); \
             return !!cell && cell.textContent === '1';",
            json!([]),
        )
        .await;
    let message_shown = browser
        .until(
            "bob's message",
            SHOWN_WITHIN,
            "const item = document.querySelector('#feed li[data-channel=\"room\"]'); \
             return !!item && item.textContent.includes('hello from bob') && item.textContent.includes('bob');",
            json!([]),
        )
        .await;
    eprintln!(
        "figure: shown after the publish: client {client_shown:?}, occupancy \
         {occupancy_shown:?}, message {message_shown:?} (total {:?}; target 1 s)",
        published.elapsed()
    );
    let polled = poll.await.unwrap().expect("alice's long-poll answers");
    let polled: Value = serde_json::from_str(&polled.text().await.unwrap()).unwrap();
    assert_eq!(polled["m"][0]["d"], json!({"text": "hello from bob"}));

    // A fault switched on in the page fails the next publish; off again, publishes pass.
    browser.click("#tab-faults").await;
    browser
        .click("#switches button[data-endpoint=\"publish\"]")
        .await;
    browser
        .until(
            "the publish switch on",
            SHOWN_WITHIN,
            "return document.querySelector('#switches button[data-endpoint=\"publish\"]').getAttribute('aria-pressed') === 'true';",
            json!([]),
        )
        .await;
    let failed = get(&server, "/publish/demo/demo/0/room/0/%22x%22?uuid=bob").await;
    assert_eq!(failed.status, 500, "{}", failed.text);
    assert_eq!(
        get(&server, "/time/0").await.status,
        200,
        "other groups served"
    );
    browser
        .until(
            "the failed request in the log",
            SHOWN_WITHIN,
            "return [...document.querySelectorAll('#requests tbody tr')].some(r => r.textContent.includes('status 500'));",
            json!([]),
        )
        .await;
    browser
        .click("#switches button[data-endpoint=\"publish\"]")
        .await;
    browser
        .until(
            "the publish switch off",
            SHOWN_WITHIN,
            "return document.querySelector('#switches button[data-endpoint=\"publish\"]').getAttribute('aria-pressed') === 'false';",
            json!([]),
        )
        .await;
    assert!(server.faults().pending().is_empty());
    assert_eq!(
        get(&server, "/publish/demo/demo/0/room/0/%22y%22")
            .await
            .status,
        200
    );

    // A client's fault from its row: bob's requests are delayed, alice's are not.
    browser.click("#tab-messages").await;
    get(&server, "/v2/subscribe/demo/lobby/0?tt=0&uuid=bob").await;
    browser
        .until(
            "bob in the clients",
            SHOWN_WITHIN,
            "return !!document.querySelector('#clients tr[data-user=\"bob\"] button');",
            json!([]),
        )
        .await;
    browser
        .click("#clients tr[data-user=\"bob\"] button[aria-label=\"Delay bob 2 s\"]")
        .await;
    browser
        .until(
            "bob's delay",
            SHOWN_WITHIN,
            "const row = document.querySelector('#clients tr[data-user=\"bob\"]'); return !!row && row.textContent.includes('delay 2000 ms');",
            json!([]),
        )
        .await;
    let rules = server.faults().pending();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].user.as_deref(), Some("bob"));

    // Keyboard: arrows move between tabs.
    browser
        .js(
            "document.getElementById('tab-messages').focus();",
            json!([]),
        )
        .await;
    let tab = browser.find("#tab-messages").await;
    browser
        .cmd(
            "POST",
            &format!("/element/{tab}/value"),
            json!({"text": "\u{E014}"}),
        )
        .await;
    let focused = browser
        .js(
            "return [document.activeElement.id, document.getElementById('tab-presence').getAttribute('aria-selected'), document.getElementById('panel-presence').hidden];",
            json!([]),
        )
        .await;
    assert_eq!(focused, json!(["tab-presence", "true", false]));
    browser.click("#tab-messages").await;

    // Published from the form, received by a subscriber's long-poll.
    let carol = cursor(&server, "room", "uuid=carol").await;
    let poll = {
        let url = format!(
            "{}/v2/subscribe/demo/room/0?tt={carol}&uuid=carol",
            server.url()
        );
        tokio::spawn(async move { client().get(url).send().await })
    };
    browser.type_into("#pub-channel", "room").await;
    browser
        .type_into("#pub-message", r#"{"from": "the console", "n": 1}"#)
        .await;
    browser.click("#publish-message").await;
    let received = tokio::time::timeout(Duration::from_secs(3), poll)
        .await
        .expect("carol's long-poll answers at once")
        .unwrap()
        .expect("answered");
    let received: Value = serde_json::from_str(&received.text().await.unwrap()).unwrap();
    assert_eq!(
        received["m"][0]["d"],
        json!({"from": "the console", "n": 1})
    );
    assert_eq!(received["m"][0]["i"], json!("pubnub-local-console"));
    browser
        .until(
            "the publish answer",
            SHOWN_WITHIN,
            "return document.getElementById('publish-status').textContent.startsWith('Message sent');",
            json!([]),
        )
        .await;
    browser
        .until(
            "the console's message in the feed",
            SHOWN_WITHIN,
            "return document.querySelector('#feed li').textContent.includes('the console');",
            json!([]),
        )
        .await;

    // Something in each view, for the screenshots.
    get(
        &server,
        "/signal/demo/demo/0/room/0/%22typing%22?uuid=alice",
    )
    .await;
    get(
        &server,
        "/v1/channel-registration/sub-key/demo/channel-group/lobby-group?add=lobby,room",
    )
    .await;
    let ciphertext = "%22xr9gIP0DHTL0bWqcsFw5uqfh8IV5R99wgpsZsy4UMTc%3D%22";
    get(
        &server,
        &format!("/publish/demo/demo/0/secrets/0/{ciphertext}?uuid=dave"),
    )
    .await;
    browser
        .until(
            "the encrypted message",
            SHOWN_WITHIN,
            "return [...document.querySelectorAll('#feed li[data-channel=\"secrets\"] .badge')].some(b => b.textContent === 'encrypted');",
            json!([]),
        )
        .await;
    browser
        .until(
            "the channel group",
            SHOWN_WITHIN,
            "return document.querySelector('#groups tbody').textContent.includes('lobby-group');",
            json!([]),
        )
        .await;

    // Screenshots: wide, then narrow (the layout becomes one column).
    // Tables scrolled sideways by the clicks above are shown from their first column.
    browser
        .js(
            "window.scrollTo(0, 0); \
             document.querySelectorAll('*').forEach(e => { if (e.scrollLeft) e.scrollLeft = 0; });",
            json!([]),
        )
        .await;
    let wide = browser
        .js("return [window.innerWidth, window.innerHeight];", json!([]))
        .await;
    eprintln!("viewport {wide}");
    browser.screenshot(&shots.join("console.png")).await;
    browser.resize(430, 900).await;
    let narrow = browser
        .js(
            "return {width: window.innerWidth, scroll: document.documentElement.scrollWidth, \
                     columns: getComputedStyle(document.querySelector('.layout')).gridTemplateColumns.split(' ').length};",
            json!([]),
        )
        .await;
    eprintln!("narrow: {narrow}");
    assert_eq!(narrow["columns"], json!(1), "{narrow}");
    assert!(
        narrow["scroll"].as_f64() <= narrow["width"].as_f64(),
        "no sideways scrolling of the page: {narrow}"
    );
    browser.screenshot(&shots.join("console-narrow.png")).await;

    // No error in the browser's console.
    let log = browser.log().await;
    let errors: Vec<&Value> = log
        .iter()
        .filter(|entry| entry["level"] == json!("SEVERE"))
        .collect();
    assert!(errors.is_empty(), "browser errors: {errors:?}");
    eprintln!(
        "browser log: {} entries, no error; screenshots in {}; whole test {:?}",
        log.len(),
        shots.display(),
        begun.elapsed()
    );
    drop(browser);
    server.shutdown().await;
}

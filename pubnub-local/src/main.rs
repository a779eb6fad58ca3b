//! `pubnub-local`: run the server from the command line.
//!
//! The first line on stdout is exactly `listening on http://ADDR` (with the real port when
//! `:0` was asked for), so scripts can read the URL; logs go to stderr.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use pubnub_local::Server;

const USAGE: &str = "\
usage: pubnub-local [options]

  --bind ADDR           address to listen on (default 127.0.0.1:8090; port 0 = any free port)
  --hold SECS           subscribe long-poll hold time (default 280)
  --buffer N            messages kept per channel for catch-up (default 100)
  --history N           messages kept per channel in history (default 10000; 0 = none)
  --announce-max N      occupancy above which presence uses interval events (default 20)
  --presence-interval SECS   period of interval events (default 10)
  --allowed-key KEY     accept only these keys (repeatable; default: any key)
  --secret-key KEY      enforce Access Manager with this secret key, as the service does:
                        serve grant and revoke (signed), check every signature (v1 for a
                        POST to /publish, v2 for the rest, timestamp within 60 s), and
                        refuse every unsigned request but /time/0 whose `auth` token
                        does not grant it
  --publish-key KEY     the publish key that goes with --secret-key (v2 signatures of
                        requests whose path names no publish key include it)
  --files-dir DIR       keep uploaded files' bytes in DIR (created if needed) instead of
                        in memory; what is known about them stays in memory
  --files-retention-days N   delete uploaded files N days after upload (default: kept
                        until deleted)
  --faults              serve the POST /__faults fault-injection endpoint
                        (GET /__push/outbox, what mobile push would have sent, is
                        always served)
  --no-console          do not serve the web console (/console, /__console/...)
  --console-token T     the token the console asks for (/console?token=T); with
                        --secret-key and no token, a random one is made up; either
                        way the console's URL is printed on stderr at start
  --record              keep the last 10,000 requests (library use only; costs memory)
  -h, --help            this text

Logging: RUST_LOG (default info), to stderr.
";

#[derive(Debug)]
struct Args {
    bind: SocketAddr,
    hold: Duration,
    buffer: usize,
    history: usize,
    announce_max: usize,
    presence_interval: Duration,
    allowed_keys: Vec<String>,
    secret_key: Option<String>,
    publish_key: Option<String>,
    files_dir: Option<PathBuf>,
    files_retention_days: Option<u64>,
    faults: bool,
    console: bool,
    console_token: Option<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        bind: SocketAddr::from(([127, 0, 0, 1], 8090)),
        hold: Duration::from_secs(280),
        buffer: 100,
        history: 10_000,
        announce_max: 20,
        presence_interval: Duration::from_secs(10),
        allowed_keys: Vec::new(),
        secret_key: None,
        publish_key: None,
        files_dir: None,
        files_retention_days: None,
        faults: false,
        console: true,
        console_token: None,
    };
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_string(), Some(value.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--bind" => {
                let v = value()?;
                parsed.bind = v.parse().map_err(|_| format!("bad address {v:?}"))?;
            }
            "--hold" => parsed.hold = Duration::from_secs(number(&flag, &value()?)?),
            "--buffer" => parsed.buffer = number(&flag, &value()?)? as usize,
            "--history" => parsed.history = number(&flag, &value()?)? as usize,
            "--announce-max" => parsed.announce_max = number(&flag, &value()?)? as usize,
            "--presence-interval" => {
                parsed.presence_interval = Duration::from_secs(number(&flag, &value()?)?.max(1))
            }
            "--allowed-key" => parsed.allowed_keys.push(value()?),
            "--secret-key" => parsed.secret_key = Some(value()?),
            "--publish-key" => parsed.publish_key = Some(value()?),
            "--files-dir" => parsed.files_dir = Some(PathBuf::from(value()?)),
            "--files-retention-days" => {
                parsed.files_retention_days = Some(number(&flag, &value()?)?.max(1))
            }
            "--faults" => parsed.faults = true,
            "--no-console" => parsed.console = false,
            "--console-token" => parsed.console_token = Some(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if parsed.publish_key.is_some() && parsed.secret_key.is_none() {
        return Err("--publish-key is only used with --secret-key".into());
    }
    if parsed.console_token.is_some() && !parsed.console {
        return Err("--console-token is only used with the console (no --no-console)".into());
    }
    if parsed.console_token.as_deref() == Some("") {
        return Err("--console-token needs a token".into());
    }
    Ok(Some(parsed))
}

fn number(flag: &str, value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a whole number"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("pubnub-local: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match pubnub_local::raise_fd_limit() {
        Ok((before, after)) if after > before => {
            tracing::info!(before, after, "raised the open-file limit")
        }
        Ok((_, limit)) if limit < 10_000 => tracing::warn!(
            limit,
            "the open-file limit is low and cannot be raised further: at most about that many \
             clients can long-poll at once (raise the hard limit: ulimit -Hn)"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "the open-file limit could not be raised"),
    }

    let mut builder = Server::builder()
        .bind(args.bind)
        .hold(args.hold)
        .buffer_size(args.buffer)
        .history_size(args.history)
        .announce_max(args.announce_max)
        .presence_interval(args.presence_interval)
        .faults(args.faults)
        .console(args.console);
    if let Some(token) = args.console_token {
        builder = builder.console_token(token);
    }
    if !args.allowed_keys.is_empty() {
        builder = builder.allowed_keys(args.allowed_keys);
    }
    if let Some(dir) = &args.files_dir {
        builder = builder.files_dir(dir);
    }
    if let Some(days) = args.files_retention_days {
        builder = builder.files_retention(Duration::from_secs(days.saturating_mul(86_400)));
    }
    if let Some(secret) = args.secret_key {
        builder = builder
            .secret_key(secret)
            .publish_key(args.publish_key.unwrap_or_default());
    }
    let server = match builder.start().await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("pubnub-local: cannot start on {}: {e}", args.bind);
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {}", server.url());
    let _ = stdout.flush();
    drop(stdout);
    // On stderr, whatever RUST_LOG says: stdout's first line stays the address alone, and
    // the console's token is shown to whoever started the server.
    if let Some(url) = server.console_url() {
        eprintln!("console: {url}");
    }

    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %e, "cannot wait for Ctrl-C; shutting down");
    }
    tracing::info!("shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Option<Args>, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments() {
        let args = parse(&[
            "--bind",
            "127.0.0.1:0",
            "--hold=5",
            "--faults",
            "--allowed-key",
            "k",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(args.bind.port(), 0);
        assert_eq!(args.hold, Duration::from_secs(5));
        assert!(args.faults);
        assert_eq!(args.allowed_keys, vec!["k"]);
        assert_eq!(args.secret_key, None);
        let signed = parse(&["--secret-key", "sec", "--publish-key=pub"])
            .unwrap()
            .unwrap();
        assert_eq!(signed.secret_key.as_deref(), Some("sec"));
        assert_eq!(signed.publish_key.as_deref(), Some("pub"));
        assert!(parse(&["--publish-key", "pub"]).is_err());
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--bind"]).is_err());
        assert!(parse(&["--hold", "x"]).is_err());
        assert!(parse(&["--nope"]).is_err());
        assert_eq!(parse(&[]).unwrap().unwrap().history, 10_000);
        assert_eq!(parse(&["--history=5"]).unwrap().unwrap().history, 5);
        assert!(parse(&["--history", "-1"]).is_err());
        let files = parse(&["--files-dir", "/tmp/f", "--files-retention-days=2"])
            .unwrap()
            .unwrap();
        assert_eq!(files.files_dir, Some(PathBuf::from("/tmp/f")));
        assert_eq!(files.files_retention_days, Some(2));
        assert_eq!(parse(&[]).unwrap().unwrap().files_dir, None);
        assert!(parse(&["--files-dir"]).is_err());
        let console = parse(&[]).unwrap().unwrap();
        assert!(console.console);
        assert_eq!(console.console_token, None);
        assert!(!parse(&["--no-console"]).unwrap().unwrap().console);
        let token = parse(&["--console-token=t0k"]).unwrap().unwrap();
        assert_eq!(token.console_token.as_deref(), Some("t0k"));
        assert!(parse(&["--no-console", "--console-token", "t"]).is_err());
        assert!(parse(&["--console-token="]).is_err());
        assert!(parse(&["--console-token"]).is_err());
    }
}

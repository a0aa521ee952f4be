//! `oxmcp dev`: the dev console, a local web page (127.0.0.1, an unguessable token in its
//! URL) connected to the target.
//!
//! This first part serves the page and its API: the message log (every frame of a stdio
//! target, both directions, with its time since start) and requests sent from the page.
//! The page is plain HTML, CSS and JavaScript embedded in the binary.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use oxmcp::client::{CallOptions, Client};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::CliError;
use crate::target::{Endpoint, Target};

/// The page.
const PAGE: &str = include_str!("dev/console.html");

/// How many frames the log keeps (older ones are dropped first).
const LOG_LIMIT: usize = 5_000;

/// The longest frame kept whole in the log; longer ones are cut.
const MAX_LOGGED_FRAME: usize = 256 * 1024;

/// The message log: frames in both directions, numbered from 0, the latest [`LOG_LIMIT`].
#[derive(Debug)]
pub struct Log {
    started: Instant,
    inner: Mutex<LogInner>,
}

#[derive(Debug, Default)]
struct LogInner {
    /// The number of the first frame in `frames`.
    first: u64,
    frames: VecDeque<Value>,
}

impl Log {
    fn new() -> Arc<Log> {
        Arc::new(Log {
            started: Instant::now(),
            inner: Mutex::new(LogInner::default()),
        })
    }

    /// Adds one frame; `dir` is `client` (sent to the server) or `server`.
    fn push(&self, dir: &str, bytes: &[u8]) {
        let cut = bytes.len() > MAX_LOGGED_FRAME;
        let bytes = &bytes[..bytes.len().min(MAX_LOGGED_FRAME)];
        let text = String::from_utf8_lossy(bytes);
        let message = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text.into()));
        let mut inner = self.inner.lock().expect("log lock");
        let n = inner.first + inner.frames.len() as u64;
        let mut frame = json!({
            "n": n,
            "t": self.started.elapsed().as_secs_f64() * 1000.0,
            "from": dir,
            "message": message,
        });
        if cut {
            frame["cut"] = Value::Bool(true);
        }
        inner.frames.push_back(frame);
        if inner.frames.len() > LOG_LIMIT {
            inner.frames.pop_front();
            inner.first += 1;
        }
    }

    /// The frames numbered `since` and later that are still kept.
    fn since(&self, since: u64) -> Vec<Value> {
        let inner = self.inner.lock().expect("log lock");
        let skip = since.saturating_sub(inner.first) as usize;
        inner.frames.iter().skip(skip).cloned().collect()
    }
}

/// Splits a byte stream into newline-ended frames for the log.
struct Framer {
    log: Arc<Log>,
    dir: &'static str,
    partial: Vec<u8>,
}

impl Framer {
    fn feed(&mut self, mut bytes: &[u8]) {
        while let Some(end) = bytes.iter().position(|b| *b == b'\n') {
            let room = MAX_LOGGED_FRAME + 1 - self.partial.len().min(MAX_LOGGED_FRAME + 1);
            self.partial.extend_from_slice(&bytes[..end.min(room)]);
            let frame = std::mem::take(&mut self.partial);
            let frame = frame.strip_suffix(b"\r").unwrap_or(&frame);
            if !frame.is_empty() {
                self.log.push(self.dir, frame);
            }
            bytes = &bytes[end + 1..];
        }
        let room = MAX_LOGGED_FRAME + 1 - self.partial.len().min(MAX_LOGGED_FRAME + 1);
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// A reader or writer whose bytes also go to the log.
struct Tap<T> {
    inner: T,
    framer: Framer,
}

impl<T> Tap<T> {
    fn new(inner: T, log: Arc<Log>, dir: &'static str) -> Self {
        Tap {
            inner,
            framer: Framer {
                log,
                dir,
                partial: Vec::new(),
            },
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tap<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let fresh = buf.filled()[before..].to_vec();
            self.framer.feed(&fresh);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tap<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.framer.feed(&buf[..n]);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What the page's API handlers share.
struct Console {
    token: String,
    log: Arc<Log>,
    client: Client,
    /// A stdio server, stopped when the console stops.
    _child: Option<tokio::process::Child>,
}

/// A fresh unguessable token: 128 random bits, hex.
fn new_token() -> Result<String, CliError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| CliError::usage(format!("no randomness for the console's token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The value of `name` in a URI's query.
fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| v.to_owned())
    })
}

/// Whether the request carries the console's token (in the query or `x-oxmcp-token`).
fn authorized(console: &Console, uri: &Uri, headers: &axum::http::HeaderMap) -> bool {
    let given = query_param(uri, "token").or_else(|| {
        headers
            .get("x-oxmcp-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    given.is_some_and(|given| constant_time_eq(given.as_bytes(), console.token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "this page needs the token from the URL `oxmcp dev` printed",
    )
        .into_response()
}

fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Lets through only requests that carry the console's token.
async fn require_token(
    State(console): State<Arc<Console>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !authorized(&console, request.uri(), request.headers()) {
        return forbidden();
    }
    next.run(request).await
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
        .into_response()
}

async fn log_since(State(console): State<Arc<Console>>, uri: Uri) -> Response {
    let since = query_param(&uri, "since")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    json_response(&Value::Array(console.log.since(since)))
}

/// `POST /api/request`: `{"method": M, "params": {...}}`, answered with `{"result": R}` or
/// `{"error": "..."}`.
async fn request(State(console): State<Arc<Console>>, body: Bytes) -> Response {
    let asked: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return json_response(&json!({
                "error": format!("expected a JSON object {{\"method\": ..., \"params\": {{...}}}}: {e}")
            }))
        }
    };
    let Some(method) = asked.get("method").and_then(Value::as_str) else {
        return json_response(&json!({"error": "expected a string \"method\""}));
    };
    let params = match asked.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => {
            return json_response(&json!({
                "error": format!("\"params\" must be an object, got {other}")
            }))
        }
    };
    let answer = match console
        .client
        .request::<Value>(method, params, CallOptions::default())
        .await
    {
        Ok(result) => json!({"result": result}),
        Err(e) => json!({"error": e.to_string()}),
    };
    json_response(&answer)
}

/// Connects to the target, tapping a stdio server's frames into `log`; returns the
/// connection and the stdio server's process.
async fn connect(
    target: &Target,
    log: &Arc<Log>,
) -> Result<(Client, Option<tokio::process::Child>), CliError> {
    let endpoint = target.resolve()?;
    let builder = target.builder();
    match &endpoint {
        Endpoint::Stdio { program, args, env } => {
            let mut child = tokio::process::Command::new(program)
                .args(args)
                .envs(env)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| CliError::usage(format!("cannot start {program:?}: {e}")))?;
            let stdin = child.stdin.take().expect("piped stdin");
            let stdout = child.stdout.take().expect("piped stdout");
            let client = builder
                .connect_io(
                    Tap::new(stdout, log.clone(), "server"),
                    Tap::new(stdin, log.clone(), "client"),
                )
                .await
                .map_err(|e| CliError::from(e).context(format!("connecting to {program:?}")))?;
            Ok((client, Some(child)))
        }
        Endpoint::Http { .. } => Ok((endpoint.connect(builder, target.login()).await?, None)),
    }
}

/// `oxmcp dev TARGET [--port P] [--open]`.
pub async fn dev(target: &Target, port: u16, open: bool) -> Result<u8, CliError> {
    let log = Log::new();
    let (client, child) = connect(target, &log).await?;
    let token = new_token()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| CliError::usage(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::usage(format!("cannot listen: {e}")))?;
    let url = format!("http://{addr}/?token={token}");
    let console = Arc::new(Console {
        token,
        log,
        client,
        _child: child,
    });
    let app = axum::Router::new()
        .route("/", axum::routing::get(page))
        .route("/api/log", axum::routing::get(log_since))
        .route("/api/request", axum::routing::post(request))
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            require_token,
        ))
        .with_state(console);
    eprintln!("oxmcp dev console: {url}");
    println!("{url}");
    if open {
        oxmcp::client::oauth::open_in_browser(&url);
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| CliError::usage(format!("the console stopped: {e}")))?;
    Ok(0)
}

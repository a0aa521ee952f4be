//! `oxmcp dev`: the dev console, a local web page connected to the target.
//!
//! The page (plain HTML, CSS and JavaScript embedded in the binary) is served on
//! 127.0.0.1 behind a [`guard::Guard`]: an unguessable token on every request, the
//! `Host` and `Origin` checked. Its API:
//! - `GET /api/events?since=N` (an event stream) and `GET /api/log?since=N` (one poll):
//!   the [`events::Events`]: frames both ways, the server's questions, the connection's
//!   state;
//! - `POST /api/request` `{"method", "params"}`: any request, answered `{"result"}` or
//!   `{"error"}` (progress is asked for, so that it shows in the log);
//! - `POST /api/answer` `{"id", "result"}` or `{"id", "error"}`: answers a question
//!   of the server (elicitation, sampling);
//! - `GET`/`POST /api/roots`: the roots given to the server;
//! - `POST /api/connect` `{"era"}`: reconnects (restarting a stdio server), in an era;
//! - `POST /api/log-level` `{"level"}`: the level of the server's log messages;
//! - `GET /api/export`: the frames as an `oxmcp record` recording.

mod events;
mod guard;
mod session;

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use oxmcp::client::CallOptions;
use oxmcp::protocol::logging::LoggingLevel;
use oxmcp::protocol::roots::Root;
use serde_json::{json, Map, Value};

use crate::error::CliError;
use crate::target::Target;
use events::Events;
use guard::{query_param, Guard};
use session::Session;

/// The page.
const PAGE: &str = include_str!("console.html");

/// What the API's handlers share.
struct Console {
    events: Arc<Events>,
    session: Arc<Session>,
}

type Shared = State<Arc<Console>>;

fn json_response(value: &Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        value.to_string(),
    )
        .into_response()
}

/// `{"error": message}`.
fn failure(message: impl std::fmt::Display) -> Response {
    json_response(&json!({"error": message.to_string()}))
}

/// The body as a JSON object, or what was expected.
fn object(body: &Bytes, expected: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("expected a JSON object {expected}, got {other}")),
        Err(e) => Err(format!("expected a JSON object {expected}: {e}")),
    }
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            // The token is in the page's URL: never send it on.
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 img-src data: blob:; media-src data: blob:; frame-ancestors 'none'",
            ),
        ],
        PAGE,
    )
        .into_response()
}

/// Where a reader of the events starts: `since`, or after the `Last-Event-ID` of an
/// event stream that reconnects.
fn since(uri: &Uri, headers: &HeaderMap) -> u64 {
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .map(|last| last + 1);
    resumed
        .or_else(|| query_param(uri, "since").and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

async fn log(State(console): Shared, uri: Uri, headers: HeaderMap) -> Response {
    json_response(&Value::Array(console.events.since(since(&uri, &headers))))
}

/// The events as a stream of server-sent events, `id` their number, `data` the event.
async fn event_stream(State(console): Shared, uri: Uri, headers: HeaderMap) -> Response {
    let start = since(&uri, &headers);
    let stream = futures_util::stream::unfold(
        (console.events.clone(), start),
        |(events, next)| async move {
            events.wait_beyond(next).await;
            let fresh = events.since(next);
            let mut chunk = String::new();
            let mut after = next;
            for event in &fresh {
                let n = event["n"].as_u64().unwrap_or(after);
                chunk.push_str(&format!("id: {n}\ndata: {event}\n\n"));
                after = n + 1;
            }
            Some((Ok::<_, Infallible>(chunk), (events, after)))
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn request(State(console): Shared, body: Bytes) -> Response {
    let asked = match object(&body, r#"{"method": ..., "params": {...}}"#) {
        Ok(asked) => asked,
        Err(e) => return failure(e),
    };
    let Some(method) = asked.get("method").and_then(Value::as_str) else {
        return failure("expected a string \"method\"");
    };
    let params = match asked.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => return failure(format!("\"params\" must be an object, got {other}")),
    };
    let Some(client) = console.session.client() else {
        return failure("not connected: press Reconnect");
    };
    // Progress is asked for (and shown from the log), so that servers send it.
    let options = CallOptions::new().on_progress(|_| {});
    match client.request::<Value>(method, params, options).await {
        Ok(result) => json_response(&json!({"result": result})),
        Err(e) => failure(e),
    }
}

async fn answer(State(console): Shared, body: Bytes) -> Response {
    let asked = match object(
        &body,
        r#"{"id": N, "result": {...}} or {"id": N, "error": "..."}"#,
    ) {
        Ok(asked) => asked,
        Err(e) => return failure(e),
    };
    let Some(id) = asked.get("id").and_then(Value::as_u64) else {
        return failure("expected the number \"id\" of the server's request");
    };
    let answer = match (asked.get("result"), asked.get("error")) {
        (Some(result), None) => Ok(result.clone()),
        (None, Some(error)) => Err(error
            .as_str()
            .map_or_else(|| error.to_string(), str::to_owned)),
        _ => return failure("expected one of \"result\" and \"error\""),
    };
    if console.session.asks.answer(id, answer) {
        json_response(&json!({"ok": true}))
    } else {
        failure(format!("the server's request {id} is no longer waiting"))
    }
}

async fn roots(State(console): Shared) -> Response {
    roots_answer(&console)
}

async fn set_roots(State(console): Shared, body: Bytes) -> Response {
    let roots: Vec<Root> = match serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| serde_json::from_value(v["roots"].clone()).map_err(|e| e.to_string()))
    {
        Ok(roots) => roots,
        Err(e) => {
            return failure(format!(
                "expected {{\"roots\": [{{\"uri\": \"file:///...\", \"name\": ...}}]}}: {e}"
            ))
        }
    };
    match console.session.set_roots(roots).await {
        Ok(()) => roots_answer(&console),
        Err(e) => failure(e),
    }
}

fn roots_answer(console: &Console) -> Response {
    json_response(&json!({"roots": console.session.roots()}))
}

async fn connect(State(console): Shared, body: Bytes) -> Response {
    let asked = if body.is_empty() {
        Map::new()
    } else {
        match object(&body, r#"{"era": "auto"|"modern"|"legacy"|REVISION}"#) {
            Ok(asked) => asked,
            Err(e) => return failure(e),
        }
    };
    let era = match asked.get("era").and_then(Value::as_str) {
        None => None,
        Some(era) => match crate::target::parse_era(era) {
            Ok(era) => Some(era),
            Err(e) => return failure(e),
        },
    };
    match console.session.connect(era).await {
        Ok(status) => json_response(&status),
        Err(e) => failure(e),
    }
}

async fn log_level(State(console): Shared, body: Bytes) -> Response {
    let level = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| serde_json::from_value::<LoggingLevel>(v["level"].clone()).ok());
    let Some(level) = level else {
        return failure(
            "expected {\"level\": \"debug\"|\"info\"|\"notice\"|\"warning\"|\"error\"|...}",
        );
    };
    let Some(client) = console.session.client() else {
        return failure("not connected: press Reconnect");
    };
    match client.set_log_level(level).await {
        Ok(()) => json_response(&json!({"ok": true})),
        Err(e) => failure(e),
    }
}

async fn export(State(console): Shared) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"oxmcp-dev.jsonl\"",
            ),
        ],
        console.events.recording(),
    )
        .into_response()
}

async fn state(State(console): Shared) -> Response {
    json_response(&json!({"stdio": console.session.is_stdio()}))
}

/// `oxmcp dev TARGET [--port P] [--open]`.
pub async fn dev(target: &Target, port: u16, open: bool) -> Result<u8, CliError> {
    target.resolve()?;
    let events = Arc::new(Events::new());
    let session = Arc::new(Session::new(target.clone(), events.clone()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| CliError::usage(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::usage(format!("cannot listen: {e}")))?;
    let guard = Arc::new(Guard::new(addr.port())?);
    let url = guard.url();
    // A first connection: its failure is shown on the page, where Reconnect is.
    if let Err(e) = session.connect(None).await {
        eprintln!("oxmcp dev: {e}");
    }
    let console = Arc::new(Console { events, session });
    let app = axum::Router::new()
        .route("/", get(page))
        .route("/api/events", get(event_stream))
        .route("/api/log", get(log))
        .route("/api/state", get(state))
        .route("/api/request", post(request))
        .route("/api/answer", post(answer))
        .route("/api/roots", get(roots).post(set_roots))
        .route("/api/connect", post(connect))
        .route("/api/log-level", post(log_level))
        .route("/api/export", get(export))
        .with_state(console)
        .layer(axum::middleware::from_fn_with_state(guard, guard::check));
    eprintln!("oxmcp dev console: {url}");
    println!("{url}");
    if open {
        oxmcp::client::oauth::open_in_browser(&url);
    }
    // Not a graceful shutdown: the page's event stream never ends by itself.
    tokio::select! {
        served = axum::serve(listener, app) => {
            served.map_err(|e| CliError::usage(format!("the console stopped: {e}")))?;
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(0)
}

//! The connection: one POST per outgoing frame, answers fed back to the engine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use oxmcp_protocol::RequestId;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::auth::{AuthHook, Challenge, MAX_AUTH_RETRIES};
use super::frame::{header_value, param_value, tool_headers, InProbe, OutProbe, ToolHeaders};
use super::HttpClientConfig;
use crate::error::{Error, Result};
use crate::rpc::{OutFrame, Peer};
use crate::transport::{FrameSource, ReadFrame};

mod answer;
mod standalone;

const SESSION_ID: &str = "mcp-session-id";
const PROTOCOL_VERSION: &str = "mcp-protocol-version";
const LAST_EVENT_ID: &str = "last-event-id";
const MCP_METHOD: &str = "mcp-method";
const MCP_NAME: &str = "mcp-name";

/// The frames the server sent, for the engine.
pub(crate) struct HttpSource {
    rx: mpsc::Receiver<String>,
}

impl FrameSource for HttpSource {
    async fn next_frame(&mut self) -> std::io::Result<Option<ReadFrame>> {
        Ok(self.rx.recv().await.map(ReadFrame::Frame))
    }
}

/// How long a request waits for the standalone stream to be answered.
const GATE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a transport knows about the session.
#[derive(Default)]
struct State {
    /// The legacy session id the server assigned.
    session: Option<String>,
    /// The negotiated legacy revision, sent as `MCP-Protocol-Version`.
    version: Option<String>,
    /// The client's `initialize` request, repeated when the server forgets the session.
    init: Option<String>,
    /// The standalone GET stream was started.
    standalone: bool,
    /// Requests in flight, by id: aborting one closes its stream.
    in_flight: HashMap<String, tokio::task::AbortHandle>,
    reinits: u64,
    /// The `Mcp-Param-*` headers of each tool, from the last `tools/list` answers.
    tool_headers: ToolHeaders,
}

struct Shared {
    http: reqwest::Client,
    /// Authorization of every request (`client::oauth`), if any.
    auth: Option<Arc<dyn AuthHook>>,
    url: reqwest::Url,
    headers: HeaderMap,
    config: HttpClientConfig,
    incoming: mpsc::Sender<String>,
    state: Mutex<State>,
    reinit: tokio::sync::Mutex<()>,
    /// The engine: requests the transport cannot get answered are failed there.
    peer: Peer,
    closed: CancellationToken,
    /// Whether requests may go out: closed from `notifications/initialized` until the
    /// standalone GET stream is answered, so the server has that stream before the
    /// session's first request (a result it sends there is not missed).
    ready: tokio::sync::watch::Sender<bool>,
}

/// Where a stream resumes.
struct Cursor {
    last_id: Option<String>,
    retry: Duration,
    events: usize,
    /// Why the stream last broke off, if it did.
    broke: Option<reqwest::Error>,
}

impl Cursor {
    fn new(retry: Duration) -> Self {
        Cursor {
            last_id: None,
            retry,
            events: 0,
            broke: None,
        }
    }
}

/// Starts the transport: POSTs what `rx` yields until `peer` closes. Returns the source
/// of incoming frames and what to run on close (delete the session). A request that gets
/// no answer (the server cannot be reached, an HTTP error status, a body that is not
/// JSON-RPC) fails at `peer` with an [`Error`] saying so.
pub(crate) fn start(
    config: HttpClientConfig,
    mut rx: mpsc::Receiver<OutFrame>,
    peer: Peer,
) -> Result<(HttpSource, crate::transport::CloseHook)> {
    let (http, url, headers) = build(&config)?;
    let (tx, incoming) = mpsc::channel(crate::rpc::outbound::OUTBOUND_CAPACITY);
    let shared = Arc::new(Shared {
        http,
        auth: config.auth.0.clone(),
        url,
        headers,
        config,
        incoming: tx,
        state: Mutex::default(),
        reinit: tokio::sync::Mutex::new(()),
        closed: peer.closed().clone(),
        peer,
        ready: tokio::sync::watch::Sender::new(true),
    });
    let writer = shared.clone();
    tokio::spawn(async move {
        loop {
            let frame = tokio::select! {
                frame = rx.recv() => frame,
                _ = writer.closed.cancelled() => None,
            };
            match frame {
                Some(frame) => writer.dispatch(frame),
                None => break,
            }
        }
        let handles: Vec<_> = writer.lock().in_flight.drain().map(|(_, h)| h).collect();
        handles.iter().for_each(tokio::task::AbortHandle::abort);
    });
    let hook: crate::transport::CloseHook = Box::new(move || Box::pin(shared.delete_session()));
    Ok((HttpSource { rx: incoming }, hook))
}

/// Why an HTTP request got no response to read.
enum SendFailure {
    /// The exchange itself failed.
    Http(reqwest::Error),
    /// Authorizing it failed (`client::oauth` says why).
    Auth(Error),
}

impl SendFailure {
    fn into_error(self, connect_timeout: Option<Duration>) -> Error {
        match self {
            SendFailure::Http(e) => send_error(e, connect_timeout),
            SendFailure::Auth(e) => e,
        }
    }
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendFailure::Http(e) => e.fmt(f),
            SendFailure::Auth(e) => e.fmt(f),
        }
    }
}

/// Checks `config` and builds what its requests need: the HTTP client, the URL, the
/// custom headers.
pub(crate) fn build(
    config: &HttpClientConfig,
) -> Result<(reqwest::Client, reqwest::Url, HeaderMap)> {
    config.validate()?;
    super::crypto_provider();
    let url: reqwest::Url = config.url.parse().expect("validated");
    let mut headers = HeaderMap::new();
    for (name, value) in &config.headers {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).expect("validated"),
            HeaderValue::from_str(value).expect("validated"),
        );
    }
    let mut builder = reqwest::Client::builder();
    if let Some(timeout) = config.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    let http = builder
        .build()
        .map_err(|e| Error::transport("build the HTTP client", e))?;
    Ok((http, url, headers))
}

/// The error of an HTTP request that got no response: the server could not be reached
/// (refused, timed out, TLS), or the exchange broke off.
pub(crate) fn send_error(e: reqwest::Error, connect_timeout: Option<Duration>) -> Error {
    if is_tls(&e) {
        Error::tls(e)
    } else if e.is_timeout() {
        // The only timeout the HTTP client sets is the connect timeout.
        Error::connect_timeout(connect_timeout.unwrap_or_default(), e)
    } else if e.is_connect() {
        Error::connect(e)
    } else {
        Error::transport("send the HTTP request", e)
    }
}

/// Whether a rustls error is among the causes of `e`.
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if e.is::<rustls::Error>() {
            return true;
        }
        // An io::Error's `source` skips the error it wraps.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if is_tls(inner) {
                return true;
            }
        }
        cause = e.source();
    }
    false
}

/// A response body read up to a limit.
pub(crate) struct Body {
    pub(crate) bytes: Vec<u8>,
    /// The body went on past the limit (`bytes` holds the start).
    over: bool,
}

/// Reads a body, stopping past `limit` bytes.
pub(crate) async fn read_body(response: Response, limit: usize) -> Result<Body> {
    let mut bytes = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| Error::transport("read the HTTP response", e))?;
        if bytes.len() + chunk.len() > limit {
            let room = limit - bytes.len();
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Body { bytes, over: true });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body { bytes, over: false })
}

/// Mirrors the arguments the tool's schema designates into `Mcp-Param-{Name}` headers.
fn param_headers(headers: &mut HeaderMap, tools: &ToolHeaders, tool: &str, probe: &OutProbe) {
    let (Some(pairs), Some(arguments)) = (
        tools.get(tool),
        probe.params.as_ref().and_then(|p| p.arguments.as_ref()),
    ) else {
        return;
    };
    for (argument, name) in pairs {
        let Some(value) = arguments.get(argument).and_then(param_value) else {
            continue;
        };
        let name = HeaderName::from_bytes(format!("mcp-param-{name}").as_bytes());
        if let (Ok(name), Ok(value)) = (name, HeaderValue::from_str(&value)) {
            headers.insert(name, value);
        }
    }
}

/// The start of a body, for an error message.
fn snippet(body: &[u8]) -> String {
    let end = body.len().min(200);
    String::from_utf8_lossy(&body[..end]).into_owned()
}

fn is_sse(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("http state lock")
    }

    /// Sends one frame in its own task, so a long stream never holds up the others.
    fn dispatch(self: &Arc<Self>, frame: OutFrame) {
        let probe = OutProbe::read(&frame.text);
        if probe.method.as_deref() == Some("notifications/cancelled") {
            let key = probe
                .params
                .as_ref()
                .and_then(|p| p.request_id.as_ref())
                .map(Value::to_string);
            let mut state = self.lock();
            if let Some(handle) = key.and_then(|k| state.in_flight.remove(&k)) {
                // Closing the stream is the cancellation on HTTP.
                handle.abort();
            }
            if state.version.is_none() {
                // Modern servers expect no notifications/cancelled over HTTP.
                return;
            }
        }
        if probe.method.as_deref() == Some("notifications/initialized")
            && self.config.standalone_stream
        {
            self.ready.send_replace(false);
        }
        let this = self.clone();
        if probe.is_request() {
            let key = probe.id.as_ref().map(Value::to_string).unwrap_or_default();
            let mut state = self.lock();
            let task = tokio::spawn({
                let key = key.clone();
                async move {
                    this.request(probe, frame.text).await;
                    this.lock().in_flight.remove(&key);
                }
            });
            state.in_flight.insert(key, task.abort_handle());
        } else {
            tokio::spawn(async move { this.other(probe, frame.text).await });
        }
    }

    /// Builds an HTTP request with the headers of the session and of the message.
    fn build(&self, method: Method, probe: Option<&OutProbe>) -> reqwest::RequestBuilder {
        let state = self.lock();
        let mut headers = self.headers.clone();
        if let Some(session) = state.session.as_deref().and_then(|s| s.parse().ok()) {
            headers.insert(SESSION_ID, session);
        }
        let version = probe
            .and_then(OutProbe::meta_version)
            .or(state.version.as_deref());
        if let Some(version) = version.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(PROTOCOL_VERSION, version);
        }
        if let Some(probe) = probe {
            if let Some(m) = probe.method.as_deref() {
                if let Ok(m) = HeaderValue::from_str(m) {
                    headers.insert(MCP_METHOD, m);
                }
            }
            if let Some(name) = probe.mcp_name() {
                if let Ok(name) = HeaderValue::from_str(&header_value(name)) {
                    headers.insert(MCP_NAME, name);
                }
                if probe.method.as_deref() == Some("tools/call") {
                    param_headers(&mut headers, &state.tool_headers, name, probe);
                }
            }
        }
        let accept = if method == Method::GET {
            "text/event-stream"
        } else {
            self.config.accept.as_str()
        };
        if let Ok(accept) = HeaderValue::from_str(accept) {
            headers.insert(ACCEPT, accept);
        }
        if method == Method::POST {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        self.http.request(method, self.url.clone()).headers(headers)
    }

    /// Sends a POST, again per the configured [`RetryPolicy`](super::RetryPolicy): after a
    /// failed connect (the server never saw it), or a 429 or 503 answer to a request that
    /// changes nothing.
    async fn post(&self, probe: &OutProbe, text: &str) -> Result<Response, SendFailure> {
        let policy = self.config.retry;
        if policy.is_none() {
            return self.send(Method::POST, Some(probe), Some(text), None).await;
        }
        let idempotent = probe
            .method
            .as_deref()
            .is_some_and(super::retry::idempotent);
        let start = std::time::Instant::now();
        let mut attempt = 0;
        loop {
            let sent = self.send(Method::POST, Some(probe), Some(text), None).await;
            let elapsed = start.elapsed();
            let wait = match &sent {
                Err(SendFailure::Http(e)) if e.is_connect() => {
                    policy.delay_within(attempt, None, elapsed)
                }
                Ok(r)
                    if idempotent
                        && matches!(
                            r.status(),
                            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
                        ) =>
                {
                    policy.delay_within(attempt, super::retry::retry_after(r.headers()), elapsed)
                }
                _ => None,
            };
            let Some(wait) = wait else { return sent };
            tracing::debug!(
                method = probe.method.as_deref().unwrap_or(""),
                attempt = attempt + 1,
                ?wait,
                "retrying a POST"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Sends a request with the authorization hook's headers; after a 401 or 403 the hook
    /// acted on (a refreshed token, a new authorization, a step-up, a DPoP nonce), sends
    /// it again, at most [`MAX_AUTH_RETRIES`] times.
    async fn send(
        &self,
        method: Method,
        probe: Option<&OutProbe>,
        body: Option<&str>,
        last_id: Option<&str>,
    ) -> Result<Response, SendFailure> {
        let mut retries = 0;
        loop {
            let mut request = self.build(method.clone(), probe);
            if let Some(last) = last_id {
                request = request.header(LAST_EVENT_ID, last);
            }
            if let Some(body) = body {
                request = request.body(body.to_owned());
            }
            let Some(hook) = &self.auth else {
                return request.send().await.map_err(SendFailure::Http);
            };
            let sent = hook
                .headers(&method, &self.url)
                .await
                .map_err(SendFailure::Auth)?;
            let response = request
                .headers(sent.clone())
                .send()
                .await
                .map_err(SendFailure::Http)?;
            let status = response.status();
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                && retries < MAX_AUTH_RETRIES
            {
                retries += 1;
                let challenge = Challenge {
                    status,
                    headers: response.headers(),
                    sent: &sent,
                };
                match hook.challenged(challenge).await {
                    Ok(true) => continue,
                    Ok(false) => return Ok(response),
                    Err(e) => return Err(SendFailure::Auth(e)),
                }
            }
            hook.answered(response.headers());
            return Ok(response);
        }
    }

    async fn deliver(&self, text: String) {
        if text.len() > self.config.max_frame {
            tracing::warn!(size = text.len(), "skipped a message over the size limit");
            return;
        }
        let _ = self.incoming.send(text).await;
    }

    /// Sends a request and delivers its answer, or fails it at the engine with the reason
    /// there is none.
    async fn request(self: &Arc<Self>, probe: OutProbe, text: String) {
        let id = probe.id.clone().unwrap_or(Value::Null);
        let is_init = probe.method.as_deref() == Some("initialize");
        if !is_init {
            let mut ready = self.ready.subscribe();
            let _ = tokio::time::timeout(GATE_WAIT, ready.wait_for(|open| *open)).await;
        }
        if is_init {
            let mut state = self.lock();
            state.init = Some(text.clone());
            state.session = None;
            state.version = None;
        }
        let mut retried = false;
        let answer = loop {
            let sent_session = self.lock().session.clone();
            let response = match self.post(&probe, &text).await {
                Ok(r) => r,
                Err(e) => break Err(e.into_error(self.config.connect_timeout)),
            };
            if response.status() == StatusCode::NOT_FOUND
                && sent_session.is_some()
                && !retried
                && !is_init
            {
                retried = true;
                tracing::debug!("the server forgot the session; initializing again");
                if let Err(e) = self.reinitialize(sent_session).await {
                    break Err(e.with_context("the server forgot the session (HTTP 404)"));
                }
                continue;
            }
            if is_init {
                self.keep_session(&response);
            }
            break self
                .answer(response, &id, probe.meta_version().is_none())
                .await;
        };
        match answer {
            Ok(text) => {
                if is_init {
                    self.lock().version = InProbe::read(&text).negotiated_version();
                }
                let text = if probe.method.as_deref() == Some("tools/list") {
                    let (headers, rewritten) = tool_headers(&text);
                    self.lock().tool_headers.extend(headers);
                    rewritten.unwrap_or(text)
                } else {
                    text
                };
                self.deliver(text).await;
            }
            Err(error) => self.fail(&id, error),
        }
    }

    /// Fails the engine's request `id` with `error`.
    fn fail(&self, id: &Value, error: Error) {
        let failed =
            RequestId::deserialize(id).is_ok_and(|request| self.peer.fail_pending(&request, error));
        if !failed {
            tracing::debug!(%id, "a request failed that no one waits for");
        }
    }

    fn keep_session(&self, response: &Response) {
        if let Some(session) = response
            .headers()
            .get(SESSION_ID)
            .and_then(|v| v.to_str().ok())
        {
            self.lock().session = Some(session.to_owned());
        }
    }

    /// Sends a notification or a response; opens the standalone stream after
    /// `notifications/initialized`.
    async fn other(self: &Arc<Self>, probe: OutProbe, text: String) {
        let initialized = probe.method.as_deref() == Some("notifications/initialized");
        let response = match self.post(&probe, &text).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "sending a message failed");
                if initialized {
                    self.ready.send_replace(true);
                }
                return;
            }
        };
        let status = response.status();
        if !status.is_success() {
            tracing::debug!(%status, method = ?probe.method, "the server refused a message");
            if initialized {
                self.ready.send_replace(true);
            }
            return;
        }
        if is_sse(&response) {
            let mut cursor = Cursor::new(self.config.default_retry);
            self.read_sse(response, None, &mut cursor).await;
        }
        if probe.method.as_deref() == Some("notifications/initialized") {
            self.open_standalone();
        }
    }
}

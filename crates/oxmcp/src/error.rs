//! The library-facing error type of clients and transports.

use std::fmt;
use std::time::Duration;

use oxmcp_protocol::ErrorObject;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from a client, a transport or the connection machinery.
///
/// The kind is private; ask with the predicates ([`is_timeout`](Error::is_timeout),
/// [`is_closed`](Error::is_closed), [`is_connect`](Error::is_connect),
/// [`http_status`](Error::http_status), [`rpc_code`](Error::rpc_code), ...). The cause,
/// when there is one, is returned by [`source`](std::error::Error::source), never repeated
/// in `Display`.
///
/// Only an error the server itself answered with is an [`rpc_error`](Error::rpc_error):
/// failures of the transport (a server that cannot be reached, an HTTP error status, a
/// body that is not JSON-RPC) are kinds of their own, never made-up JSON-RPC errors.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    /// What was being attempted, said before the kind (`Display` only).
    context: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The most bytes of an HTTP error body kept in an [`Error`].
pub(crate) const HTTP_BODY_KEEP: usize = 512;

#[derive(Debug)]
#[allow(dead_code)] // which kinds occur depends on the features
pub(crate) enum Kind {
    /// The peer answered with a JSON-RPC error.
    Rpc(ErrorObject),
    /// No answer within the time allowed.
    Timeout(Duration),
    /// The server's startup hook failed.
    Startup,
    /// The connection is closed.
    Closed,
    /// Reading or writing the transport failed.
    Transport(&'static str),
    /// The server could not be reached (connection refused, name not resolved, ...).
    Connect,
    /// Connecting to the server took longer than allowed.
    ConnectTimeout(Duration),
    /// The TLS handshake with the server failed.
    Tls,
    /// The server answered an HTTP request with an error status and no JSON-RPC answer;
    /// `body` is the start of what it sent (at most [`HTTP_BODY_KEEP`] bytes).
    Http { status: u16, body: String },
    /// The peer broke the protocol (an unparseable or unexpected message).
    Protocol(String),
    /// The request was cancelled by the caller.
    Cancelled,
    /// No mutually supported protocol revision.
    Version(String),
    /// A value could not be serialized or deserialized.
    Serde(&'static str),
    /// The operation is not available: not in this era, or this client has no handler
    /// for what the server asked.
    Unsupported(String),
    /// One of this client's handlers (sampling, elicitation, roots) failed while answering
    /// an input request of the server.
    Handler(String, ErrorObject),
    /// Authorizing with the server failed (OAuth): which step, which URL or field, and
    /// what was expected.
    Auth(OAuthError),
    /// The client's circuit breaker is open: the server is taken for unavailable.
    CircuitOpen(CircuitOpen),
}

/// Why a request was refused without reaching the server, from [`Error::circuit_open`]:
/// the client's circuit breaker (`client::CircuitBreaker`) is open after failures in a
/// row, and says when the next attempt goes through. `Display` says it all.
///
/// ```
/// # fn handle(error: &oxmcp::Error) {
/// if let Some(open) = error.circuit_open() {
///     eprintln!("unavailable after {} failures; next attempt in {:?}", open.failures(), open.retry_in());
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitOpen {
    failures: u32,
    retry_at: std::time::Instant,
    probing: bool,
}

#[cfg_attr(not(feature = "client"), allow(dead_code))] // made by the client's breaker
impl CircuitOpen {
    /// Open until `retry_at`, after `failures` failures.
    pub(crate) fn new(failures: u32, retry_at: std::time::Instant) -> Self {
        CircuitOpen {
            failures,
            retry_at,
            probing: false,
        }
    }

    /// Half-open: the probes allowed are in flight.
    pub(crate) fn probing(failures: u32) -> Self {
        CircuitOpen {
            failures,
            retry_at: std::time::Instant::now(),
            probing: true,
        }
    }

    /// How many failures in a row opened the circuit (and failed probes since).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// When the next request goes through as a probe (now, or past, while
    /// [`is_probing`](Self::is_probing)).
    pub fn retry_at(&self) -> std::time::Instant {
        self.retry_at
    }

    /// How long until the next request goes through as a probe (zero while
    /// [`is_probing`](Self::is_probing)).
    pub fn retry_in(&self) -> Duration {
        self.retry_at
            .saturating_duration_since(std::time::Instant::now())
    }

    /// Whether the open period is over and a probe is already checking the server: the
    /// answer comes as soon as the probe ends.
    pub fn is_probing(&self) -> bool {
        self.probing
    }
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server is unavailable: its circuit breaker opened after {} failures in a row",
            self.failures
        )?;
        if self.probing {
            f.write_str("; a probe is checking whether it is back, retry when it ends")
        } else {
            let wait = self.retry_in();
            write!(
                f,
                "; the next attempt goes through in {:.1} s",
                wait.as_secs_f64()
            )
        }
    }
}

/// What failed while authorizing with a server (OAuth), from [`Error::oauth_error`]: the
/// step, with the URL, field or error code it concerns. `Display` gives the whole message
/// (which URL, which field, what was expected).
///
/// ```
/// # fn handle(error: &oxmcp::Error) {
/// use oxmcp::OAuthError;
///
/// match error.oauth_error() {
///     Some(OAuthError::TokenEndpoint { error: Some(code), .. }) if code == "invalid_grant" => {
///         // The grant is spent or revoked: sign in again.
///     }
///     Some(other) => eprintln!("authorization failed: {other}"),
///     None => {}
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthError {
    /// A metadata document (Protected Resource Metadata, authorization server metadata)
    /// could not be fetched from `url`: unreachable, an error status, not JSON, too large.
    Discovery {
        /// The document's URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// A metadata document was fetched but is not what it must be: its `field` (such as
    /// `resource`, `issuer`, `authorization_servers`, `authorization_endpoint`) is
    /// missing or names another server than expected.
    Metadata {
        /// Where the document came from.
        url: String,
        /// The field that is wrong.
        field: String,
        /// What was found and what was expected.
        message: String,
    },
    /// The client could not be registered (RFC 7591) at `url`, or the authorization
    /// server offers no way to identify it (`url` is `None` then).
    Registration {
        /// The registration endpoint, when there is one.
        url: Option<String>,
        /// What failed.
        message: String,
    },
    /// The authorization response (the redirect back) is refused: its `field` (`state`,
    /// `iss`, `code`, or `error` when the authorization server refused, with its RFC 6749
    /// code in `error`).
    AuthorizationResponse {
        /// The parameter that is wrong or missing.
        field: String,
        /// The authorization server's `error` code, when it sent one.
        error: Option<String>,
        /// What was found and what was expected.
        message: String,
    },
    /// The token endpoint at `url` refused the request or answered what is not a token.
    TokenEndpoint {
        /// The token endpoint.
        url: String,
        /// The RFC 6749 `error` code it answered with (`invalid_grant`,
        /// `invalid_client`, ...), when it sent one.
        error: Option<String>,
        /// What failed.
        message: String,
    },
    /// The server still answers `403 insufficient_scope` after the allowed step-up
    /// authorizations.
    InsufficientScope {
        /// The scopes the server's last challenge asked for.
        scope: String,
        /// What happened.
        message: String,
    },
    /// Refreshing the access token failed.
    RefreshFailed {
        /// The RFC 6749 `error` code of the token endpoint, when it sent one.
        error: Option<String>,
        /// What failed.
        message: String,
    },
    /// The user agent step (the browser, the loopback redirect listener, a pasted URL)
    /// failed.
    UserAgent {
        /// What failed.
        message: String,
    },
    /// This side failed: the configuration, a signing key, the token store, the random
    /// source.
    Local {
        /// What failed.
        message: String,
    },
}

impl OAuthError {
    /// The whole message: what failed, where, and what was expected.
    pub fn message(&self) -> &str {
        match self {
            OAuthError::Discovery { message, .. }
            | OAuthError::Metadata { message, .. }
            | OAuthError::Registration { message, .. }
            | OAuthError::AuthorizationResponse { message, .. }
            | OAuthError::TokenEndpoint { message, .. }
            | OAuthError::InsufficientScope { message, .. }
            | OAuthError::RefreshFailed { message, .. }
            | OAuthError::UserAgent { message }
            | OAuthError::Local { message } => message,
        }
    }

    /// The URL the failure concerns, when there is one.
    pub fn url(&self) -> Option<&str> {
        match self {
            OAuthError::Discovery { url, .. }
            | OAuthError::Metadata { url, .. }
            | OAuthError::TokenEndpoint { url, .. } => Some(url),
            OAuthError::Registration { url, .. } => url.as_deref(),
            _ => None,
        }
    }

    /// The RFC 6749 `error` code the authorization server answered with, when it did.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            OAuthError::AuthorizationResponse { error, .. }
            | OAuthError::TokenEndpoint { error, .. }
            | OAuthError::RefreshFailed { error, .. } => error.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for OAuthError {}

impl From<OAuthError> for Error {
    fn from(error: OAuthError) -> Self {
        Error::new(Kind::Auth(error))
    }
}

#[allow(dead_code)] // which constructors are used depends on the features
impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                context: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Says what was being attempted, before the error's own words in `Display`.
    pub(crate) fn with_context(mut self, context: impl Into<String>) -> Self {
        self.inner.context = Some(context.into());
        self
    }

    pub(crate) fn rpc(error: ErrorObject) -> Self {
        Self::new(Kind::Rpc(error))
    }

    pub(crate) fn startup(
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::new(Kind::Startup).with_source(source)
    }

    pub(crate) fn timeout(after: Duration) -> Self {
        Self::new(Kind::Timeout(after))
    }

    pub(crate) fn closed() -> Self {
        Self::new(Kind::Closed)
    }

    pub(crate) fn transport(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::new(Kind::Transport(what)).with_source(source)
    }

    pub(crate) fn connect(
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::new(Kind::Connect).with_source(source)
    }

    pub(crate) fn connect_timeout(
        after: Duration,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::new(Kind::ConnectTimeout(after)).with_source(source)
    }

    pub(crate) fn tls(
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::new(Kind::Tls).with_source(source)
    }

    /// An HTTP error status; `body` is what the server sent, kept up to
    /// [`HTTP_BODY_KEEP`] bytes.
    pub(crate) fn http(status: u16, body: &[u8]) -> Self {
        let mut end = body.len().min(HTTP_BODY_KEEP);
        // Not in the middle of a character, when the body is UTF-8.
        if let Err(e) = std::str::from_utf8(&body[..end]) {
            if e.error_len().is_none() {
                end = e.valid_up_to();
            }
        }
        let body = String::from_utf8_lossy(&body[..end]).trim().to_owned();
        Self::new(Kind::Http { status, body })
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Self::new(Kind::Protocol(message.into()))
    }

    pub(crate) fn cancelled() -> Self {
        Self::new(Kind::Cancelled)
    }

    pub(crate) fn version(message: impl Into<String>) -> Self {
        Self::new(Kind::Version(message.into()))
    }

    pub(crate) fn serde(what: &'static str, source: serde_json::Error) -> Self {
        Self::new(Kind::Serde(what)).with_source(source)
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Self::new(Kind::Unsupported(message.into()))
    }

    /// An authorization failure on this side ([`OAuthError::Local`]).
    pub(crate) fn auth(message: impl Into<String>) -> Self {
        OAuthError::Local {
            message: message.into(),
        }
        .into()
    }

    /// An authorization error ([`is_auth`](Self::is_auth), [`OAuthError::Local`]) with
    /// this message, for the OAuth extension points (a user agent, a token store) to fail
    /// with. Say what failed, where, and what was expected; to say which step failed,
    /// convert an [`OAuthError`] instead (`OAuthError::UserAgent { .. }.into()`).
    pub fn authorization(message: impl Into<String>) -> Self {
        Self::auth(message)
    }

    /// A request refused by an open circuit breaker.
    pub(crate) fn unavailable(open: CircuitOpen) -> Self {
        Self::new(Kind::CircuitOpen(open))
    }

    /// Whether this says the server did not answer: a transport failure (unreachable, the
    /// connection lost, an HTTP `5xx`) or a timeout; what a circuit breaker counts.
    pub(crate) fn is_outage(&self) -> bool {
        match &self.inner.kind {
            Kind::Timeout(_)
            | Kind::ConnectTimeout(_)
            | Kind::Closed
            | Kind::Transport(_)
            | Kind::Connect
            | Kind::Tls => true,
            Kind::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub(crate) fn handler(what: impl Into<String>, error: ErrorObject) -> Self {
        Self::new(Kind::Handler(what.into(), error))
    }

    /// The JSON-RPC error the peer answered with, if that is what this is.
    pub fn rpc_error(&self) -> Option<&ErrorObject> {
        match &self.inner.kind {
            Kind::Rpc(e) => Some(e),
            _ => None,
        }
    }

    /// The code of the JSON-RPC error the peer answered with, if that is what this is.
    pub fn rpc_code(&self) -> Option<i64> {
        self.rpc_error().map(|e| e.code)
    }

    /// The HTTP status of a failed HTTP exchange (Streamable HTTP client): an error status
    /// the server answered with instead of a JSON-RPC response.
    pub fn http_status(&self) -> Option<u16> {
        match &self.inner.kind {
            Kind::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The start of the body the server sent with an HTTP error status (at most 512 bytes),
    /// when [`http_status`](Self::http_status) is set.
    pub fn http_body(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::Http { body, .. } => Some(body),
            _ => None,
        }
    }

    /// Whether no answer came within the time allowed, or connecting to the server took
    /// too long.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Kind::Timeout(_) | Kind::ConnectTimeout(_))
    }

    /// Whether the server could not be reached: the connection was refused or timed out,
    /// its name did not resolve, or the TLS handshake failed ([`is_tls`](Self::is_tls)).
    pub fn is_connect(&self) -> bool {
        matches!(
            self.inner.kind,
            Kind::Connect | Kind::ConnectTimeout(_) | Kind::Tls
        )
    }

    /// Whether the TLS handshake with the server failed (the cause is the `source`).
    pub fn is_tls(&self) -> bool {
        matches!(self.inner.kind, Kind::Tls)
    }

    /// Whether the server's startup hook failed (the cause is the `source`).
    pub fn is_startup(&self) -> bool {
        matches!(self.inner.kind, Kind::Startup)
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.inner.kind, Kind::Closed)
    }

    /// Whether the transport failed: reading or writing it, reaching the server
    /// ([`is_connect`](Self::is_connect)), or an HTTP exchange
    /// ([`http_status`](Self::http_status)).
    pub fn is_transport(&self) -> bool {
        matches!(
            self.inner.kind,
            Kind::Transport(_)
                | Kind::Connect
                | Kind::ConnectTimeout(_)
                | Kind::Tls
                | Kind::Http { .. }
        )
    }

    /// Whether the peer broke the protocol.
    pub fn is_protocol(&self) -> bool {
        matches!(self.inner.kind, Kind::Protocol(_))
    }

    /// Whether the request was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.kind, Kind::Cancelled)
    }

    /// Whether client and server share no protocol revision.
    pub fn is_version(&self) -> bool {
        matches!(self.inner.kind, Kind::Version(_))
    }

    /// Whether the operation is not available: the era does not have it (such as
    /// `subscriptions/listen` with a legacy server), or the server asked for input this
    /// client has no handler for.
    pub fn is_unsupported(&self) -> bool {
        matches!(self.inner.kind, Kind::Unsupported(_))
    }

    /// Whether authorizing with the server failed (OAuth): discovery, registration, the
    /// user's consent, a token request, or a check on what the authorization server
    /// answered. The message says which URL or field and what was expected.
    pub fn is_auth(&self) -> bool {
        matches!(self.inner.kind, Kind::Auth(_))
    }

    /// What failed while authorizing (OAuth), when that is what this is: the step, and
    /// the URL, field or error code it concerns.
    pub fn oauth_error(&self) -> Option<&OAuthError> {
        match &self.inner.kind {
            Kind::Auth(e) => Some(e),
            _ => None,
        }
    }

    /// Why the request was refused without reaching the server, when the client's circuit
    /// breaker is open (`client::CircuitBreaker`): the server is taken for unavailable
    /// after failures in a row, and [`CircuitOpen::retry_in`] says when the next attempt
    /// goes through.
    pub fn circuit_open(&self) -> Option<&CircuitOpen> {
        match &self.inner.kind {
            Kind::CircuitOpen(open) => Some(open),
            _ => None,
        }
    }

    /// The error one of this client's own handlers (sampling, elicitation, roots)
    /// returned while answering the server's input request, if that is what ended the
    /// call.
    pub fn handler_error(&self) -> Option<&ErrorObject> {
        match &self.inner.kind {
            Kind::Handler(_, e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("oxmcp::Error");
        d.field("kind", &self.inner.kind);
        if let Some(context) = &self.inner.context {
            d.field("context", context);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(context) = &self.inner.context {
            write!(f, "{context}: ")?;
        }
        match &self.inner.kind {
            Kind::Rpc(e) => write!(f, "peer returned error {}: {}", e.code, e.message),
            Kind::Timeout(d) => write!(f, "request timed out after {d:?}"),
            Kind::Closed => f.write_str("connection closed"),
            Kind::Startup => f.write_str("server startup failed"),
            Kind::Transport(what) => write!(f, "transport failed: {what}"),
            Kind::Connect => f.write_str("could not connect to the server"),
            Kind::ConnectTimeout(d) => write!(f, "connecting to the server timed out after {d:?}"),
            Kind::Tls => f.write_str("the TLS handshake with the server failed"),
            Kind::Http { status, body } if body.is_empty() => {
                write!(
                    f,
                    "the server answered HTTP {status} without a JSON-RPC response"
                )
            }
            Kind::Http { status, body } => write!(
                f,
                "the server answered HTTP {status} without a JSON-RPC response: {body:?}"
            ),
            Kind::Protocol(m) => write!(f, "protocol violation: {m}"),
            Kind::Cancelled => f.write_str("request cancelled"),
            Kind::Version(m) => write!(f, "no common protocol version: {m}"),
            Kind::Serde(what) => write!(f, "could not {what}"),
            Kind::Unsupported(m) => write!(f, "not supported: {m}"),
            Kind::Auth(e) => write!(f, "authorization failed: {e}"),
            Kind::CircuitOpen(open) => write!(f, "{open}"),
            Kind::Handler(what, e) => {
                write!(f, "{what} failed with error {}: {}", e.code, e.message)
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Error>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_does_not_repeat_the_source() {
        let e = Error::transport("write", std::io::Error::other("pipe gone"));
        assert_eq!(e.to_string(), "transport failed: write");
        assert_eq!(e.source().unwrap().to_string(), "pipe gone");
        assert!(e.is_transport());
        assert!(!e.is_timeout());
    }

    #[test]
    fn rpc_errors_are_reachable() {
        let e = Error::rpc(ErrorObject::method_not_found("x"));
        assert_eq!(e.rpc_error().unwrap().code, -32601);
    }

    #[test]
    fn http_bodies_are_bounded_at_a_character() {
        let body = "é".repeat(HTTP_BODY_KEEP);
        let e = Error::http(500, body.as_bytes());
        let kept = e.http_body().unwrap();
        assert!(kept.len() <= HTTP_BODY_KEEP && kept.chars().all(|c| c == 'é'));
        assert_eq!(e.http_status(), Some(500));
        assert!(e.is_transport() && !e.is_connect() && e.rpc_code().is_none());
    }

    #[test]
    fn outages_are_what_the_server_did_not_answer() {
        let outages = [
            Error::timeout(Duration::from_secs(1)),
            Error::closed(),
            Error::connect(std::io::Error::other("refused")),
            Error::transport("write", std::io::Error::other("pipe gone")),
            Error::http(502, b"bad gateway"),
        ];
        for e in outages {
            assert!(e.is_outage(), "{e}");
        }
        let answers = [
            Error::rpc(ErrorObject::method_not_found("x")),
            Error::http(429, b"slow down"),
            Error::http(404, b""),
            Error::cancelled(),
            Error::protocol("garbled"),
        ];
        for e in answers {
            assert!(!e.is_outage(), "{e}");
        }
        let open = Error::unavailable(CircuitOpen::new(
            4,
            std::time::Instant::now() + Duration::from_secs(30),
        ));
        assert_eq!(open.circuit_open().map(CircuitOpen::failures), Some(4));
        let message = open.to_string();
        assert!(
            message.starts_with("the server is unavailable")
                && message.contains("after 4 failures in a row")
                && message.contains("next attempt goes through in"),
            "{message}"
        );
        assert!(!open.is_outage() && !open.is_transport());
    }

    #[test]
    fn context_comes_before_the_kind() {
        let e = Error::closed().with_context("probing");
        assert_eq!(e.to_string(), "probing: connection closed");
        assert!(e.is_closed());
    }
}

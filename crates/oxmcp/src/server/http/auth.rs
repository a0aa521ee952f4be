//! The protected resource's gate on the HTTP endpoint (feature `auth`): who a request
//! comes from, or the challenge that refuses it.

use axum::body::Body;
use http::{HeaderMap, Method, Response};

use super::service::Inner;
use crate::server::auth::{Authn, Challenge};

/// What the gate decided about a request.
pub(crate) enum Gate {
    /// Let through, with its caller (`None`: the endpoint is not protected).
    Open(Option<Authn>),
    /// Refused at once.
    Refused(Response<Body>),
    /// A `POST` without a valid token: refused, once its body says what it targets (the
    /// challenge names the scopes that needs).
    NeedsBody(Challenge),
}

/// Authenticates a request to a protected endpoint.
pub(crate) async fn gate(inner: &Inner, method: &Method, headers: &HeaderMap) -> Gate {
    let Some(resource) = &inner.config.auth else {
        return Gate::Open(None);
    };
    if *method == Method::OPTIONS {
        return Gate::Open(None);
    }
    match resource.authenticate(headers).await {
        Ok(authn) => Gate::Open(Some(authn)),
        // A 401 names the scopes the target needs (MCP authorization, RFC 6750 §3), for
        // an invalid token as for none: what the body targets says which.
        Err(challenge @ (Challenge::NoToken | Challenge::Invalid(_)))
            if *method == Method::POST =>
        {
            Gate::NeedsBody(challenge)
        }
        Err(challenge) => Gate::Refused(resource.refuse(&challenge, &[])),
    }
}

/// The caller of a request that opens a long-lived connection (an HTTP+SSE stream, a
/// WebSocket upgrade), or the challenge that refuses it: without a body, the challenge
/// names no scopes (those of each message are checked as it comes).
#[cfg(any(feature = "sse-server", feature = "ws-server"))]
pub(crate) async fn open_connection(
    inner: &Inner,
    headers: &HeaderMap,
) -> Result<Option<Authn>, Response<Body>> {
    match gate(inner, &Method::GET, headers).await {
        Gate::Open(caller) => Ok(caller),
        Gate::Refused(response) => Err(response),
        Gate::NeedsBody(challenge) => Err(refuse_post(inner, &challenge, b"")),
    }
}

/// The refusal of a `POST` whose body is `body`: the challenge names the scopes its target
/// needs.
pub(crate) fn refuse_post(inner: &Inner, challenge: &Challenge, body: &[u8]) -> Response<Body> {
    let resource = inner
        .config
        .auth
        .as_ref()
        .expect("only protected endpoints refuse");
    let scopes = inner.shared.scopes_for_message(body);
    resource.refuse(challenge, &scopes)
}

/// The HTTP answer to a reply that is a scope error: `401` (no token) or `403`
/// (insufficient scope, step-up) with the challenge naming every scope the target needs,
/// the JSON-RPC error in the body.
pub(crate) fn step_up(inner: &Inner, error: Option<i64>, text: &str) -> Option<Response<Body>> {
    use crate::server::auth::{AUTHENTICATION_REQUIRED, INSUFFICIENT_SCOPE};
    let resource = inner.config.auth.as_ref()?;
    let challenge = match error? {
        AUTHENTICATION_REQUIRED => Challenge::NoToken,
        INSUFFICIENT_SCOPE => Challenge::InsufficientScope,
        _ => return None,
    };
    let scopes = crate::server::auth::scopes_in_error(text);
    let mut response = resource.refuse(&challenge, &scopes);
    *response.body_mut() = Body::from(text.to_owned());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Some(response)
}

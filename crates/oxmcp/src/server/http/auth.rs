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
    /// A `POST` without a token: refused, once its body says what it targets (the
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
        Err(Challenge::NoToken) if *method == Method::POST => Gate::NeedsBody(Challenge::NoToken),
        Err(challenge) => Gate::Refused(resource.refuse(&challenge, &[])),
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

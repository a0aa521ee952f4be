//! The HTTP form of a request the router's rate limit refused: `429 Too Many Requests`
//! with `Retry-After`.

use std::time::Duration;

use http::{header, HeaderValue, Response, StatusCode};

use axum::body::Body;

use super::service::json;
use crate::rpc::OutFrame;
use crate::server::limits::RATE_LIMITED;

/// The answer to a `POST` whose one response is a refusal by the rate limit, if it is one.
pub(super) fn refusal(first: &OutFrame) -> Option<Response<Body>> {
    if first.error? != RATE_LIMITED || !first.is_response {
        return None;
    }
    let wait = retry_after(&first.text).unwrap_or(Duration::from_secs(1));
    // Whole seconds, rounded up: a client that waits that long finds a token.
    let seconds = wait.as_millis().div_ceil(1000).max(1);
    let mut response = json(StatusCode::TOO_MANY_REQUESTS, first.text.clone());
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Some(response)
}

/// The wait a rate-limit error names in its `data`.
fn retry_after(text: &str) -> Option<Duration> {
    #[derive(serde::Deserialize)]
    struct Frame {
        error: oxmcp_protocol::jsonrpc::ErrorObject,
    }
    let frame: Frame = serde_json::from_str(text).ok()?;
    crate::server::limits::retry_after(&frame.error)
}

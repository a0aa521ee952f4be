//! The authorization hook of the HTTP client transport: what it asks before each request
//! and tells after a 401 or 403. The transport knows nothing of how tokens are obtained
//! (that is `client::oauth`); it only attaches what the hook gives and retries when the
//! hook says a new attempt may succeed.

use std::future::Future;
use std::pin::Pin;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};

use crate::error::Result;

/// A boxed future, for the object-safe hook.
pub(crate) type HookFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the server answered that the hook may act on (only `client::oauth` reads it).
#[cfg_attr(not(feature = "oauth"), allow(dead_code))]
pub(crate) struct Challenge<'a> {
    /// 401 or 403.
    pub(crate) status: StatusCode,
    /// The response's headers (`WWW-Authenticate`, `DPoP-Nonce`).
    pub(crate) headers: &'a HeaderMap,
    /// The headers the hook gave for the refused request.
    pub(crate) sent: &'a HeaderMap,
}

/// Authorization for every HTTP request of a connection.
pub(crate) trait AuthHook: Send + Sync + 'static {
    /// The headers to add to a request (`Authorization`, `DPoP`), waiting for a token if
    /// one is being obtained.
    fn headers<'a>(&'a self, method: &'a Method, url: &'a Url)
        -> HookFuture<'a, Result<HeaderMap>>;

    /// The server refused a request with 401 or 403: refresh, re-authorize or step up.
    /// `Ok(true)`: try the request again; `Ok(false)`: nothing to do, the refusal stands;
    /// `Err`: why authorization failed.
    fn challenged<'a>(&'a self, challenge: Challenge<'a>) -> HookFuture<'a, Result<bool>>;

    /// Headers of a response that was not refused (a new `DPoP-Nonce`).
    fn answered(&self, _headers: &HeaderMap) {}
}

/// How many times one request is retried after the hook acted on a refusal.
pub(crate) const MAX_AUTH_RETRIES: usize = 3;

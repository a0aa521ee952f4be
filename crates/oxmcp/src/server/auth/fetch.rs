//! Fetching JSON documents (key sets, metadata, introspection answers): bounded in size
//! and time.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

/// The largest document read: 1 MiB.
const MAX_DOCUMENT: usize = 1024 * 1024;

/// The HTTP client of every verifier (one connection pool).
pub(crate) fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap_or_default()
    })
}

/// Sends `request` and reads its JSON answer (an object), within `timeout`.
pub(crate) async fn json(
    request: reqwest::RequestBuilder,
    what: &str,
    timeout: Duration,
) -> Result<Value, String> {
    let read = async {
        let mut response = request
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{what}: HTTP {status}"));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT as u64)
        {
            return Err(format!("{what}: larger than {MAX_DOCUMENT} bytes"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{what}: {e}"))? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(format!("{what}: larger than {MAX_DOCUMENT} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("{what}: expected a JSON object: {e}"))?;
        if !value.is_object() {
            return Err(format!("{what}: expected a JSON object"));
        }
        Ok(value)
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| Err(format!("{what}: no answer within {timeout:?}")))
}

/// GETs the JSON object at `url`.
pub(crate) async fn get_json(url: &str, what: &str, timeout: Duration) -> Result<Value, String> {
    json(client().get(url), what, timeout).await
}

//! Who may use the console: requests that carry its token, addressed to it by name
//! (`Host`), and coming from its own page or from no page at all (`Origin`).
//!
//! The token keeps other local pages and users from driving the console; the `Host`
//! check defeats DNS rebinding (a page of another site whose name was made to point to
//! 127.0.0.1 sends its own name); the `Origin` check refuses requests of other pages.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::error::CliError;

/// The console's token and address.
#[derive(Debug)]
pub struct Guard {
    token: String,
    port: u16,
}

impl Guard {
    /// A fresh unguessable token (128 random bits, hex) for a console on `port`.
    pub fn new(port: u16) -> Result<Guard, CliError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| CliError::usage(format!("no randomness for the console's token: {e}")))?;
        Ok(Guard {
            token: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            port,
        })
    }

    /// The page's URL, token included.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/?token={}", self.port, self.token)
    }

    /// Why this request is refused, if it is.
    fn refusal(&self, uri: &Uri, headers: &HeaderMap) -> Option<String> {
        let port = self.port;
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let named =
            |host: &str| host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}");
        if !host.is_some_and(named) {
            return Some(format!(
                "expected the Host 127.0.0.1:{port} or localhost:{port}, got {}",
                host.unwrap_or("none")
            ));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            let own = origin.strip_prefix("http://").is_some_and(named);
            if !own {
                return Some(format!(
                    "expected requests from the console's own page (Origin \
                     http://127.0.0.1:{port}), got Origin {origin}"
                ));
            }
        }
        let given = query_param(uri, "token").or_else(|| {
            headers
                .get("x-oxmcp-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        if !given.is_some_and(|given| constant_time_eq(given.as_bytes(), self.token.as_bytes())) {
            return Some("this page needs the token from the URL `oxmcp dev` printed".into());
        }
        None
    }
}

/// The value of `name` in a URI's query.
pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| v.to_owned())
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Lets through only the requests the [`Guard`] accepts; others get `403` and the reason.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    if let Some(reason) = guard.refusal(request.uri(), request.headers()) {
        return (StatusCode::FORBIDDEN, reason).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (header::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn the_guard_wants_the_token_its_own_host_and_its_own_origin() {
        let guard = Guard::new(4000).unwrap();
        assert_eq!(guard.token.len(), 32);
        let good: Uri = format!("/api/events?token={}", guard.token)
            .parse()
            .unwrap();
        let host = ("host", "127.0.0.1:4000");
        assert_eq!(guard.refusal(&good, &headers(&[host])), None);
        assert_eq!(
            guard.refusal(&good, &headers(&[("host", "localhost:4000")])),
            None
        );
        let own = ("origin", "http://127.0.0.1:4000");
        assert_eq!(guard.refusal(&good, &headers(&[host, own])), None);

        let rebound = guard.refusal(&good, &headers(&[("host", "evil.example:4000")]));
        assert!(rebound.unwrap().contains("expected the Host"));
        let other_page = ("origin", "http://evil.example");
        let refused = guard.refusal(&good, &headers(&[host, other_page]));
        assert!(refused.unwrap().contains("Origin http://evil.example"));
        for uri in ["/", "/?token=", "/?token=0123"] {
            let refused = guard.refusal(&uri.parse().unwrap(), &headers(&[host]));
            assert!(refused.unwrap().contains("token"), "{uri}");
        }
        let other = Guard::new(4000).unwrap();
        assert_ne!(other.token, guard.token);
    }
}

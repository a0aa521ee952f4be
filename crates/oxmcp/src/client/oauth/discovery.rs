//! Discovery: the `WWW-Authenticate` challenge, Protected Resource Metadata (RFC 9728)
//! and authorization server metadata (RFC 8414, OpenID Connect Discovery), with the
//! 2025-03-26 fallbacks.

use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, OAuthError, Result};

/// The most bytes read of a metadata document or a token response.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The parameters of a `Bearer` (or `DPoP`) challenge in `WWW-Authenticate`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct WwwAuthenticate {
    /// The scheme of the challenge the parameters come from, lowercase.
    pub(crate) scheme: String,
    pub(crate) resource_metadata: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) error: Option<String>,
}

impl WwwAuthenticate {
    /// Reads the first `Bearer` or `DPoP` challenge of the header values (RFC 9110
    /// §11.6.1 syntax: `scheme param=value, param="quoted value"`); `None` if there is
    /// none.
    pub(crate) fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        for value in values {
            let mut found: Option<WwwAuthenticate> = None;
            let mut rest = value.trim();
            while !rest.is_empty() {
                // A token: a scheme (followed by a space or the end) or a parameter name.
                let end = rest
                    .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
                    .unwrap_or(rest.len());
                let token = &rest[..end];
                rest = rest[end..].trim_start();
                if let Some(after) = rest.strip_prefix('=') {
                    let (value, after) = param_value(after.trim_start());
                    rest = after;
                    if let Some(challenge) = found.as_mut() {
                        match token.to_ascii_lowercase().as_str() {
                            "resource_metadata" => challenge.resource_metadata = Some(value),
                            "scope" => challenge.scope = Some(value),
                            "error" => challenge.error = Some(value),
                            _ => {}
                        }
                    }
                } else if !token.is_empty() {
                    // A new challenge begins.
                    if found.is_some() {
                        return found;
                    }
                    let scheme = token.to_ascii_lowercase();
                    if scheme == "bearer" || scheme == "dpop" {
                        found = Some(WwwAuthenticate {
                            scheme,
                            ..WwwAuthenticate::default()
                        });
                    }
                }
                rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
            }
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// The challenge's scopes, space separated.
    pub(crate) fn scopes(&self) -> Vec<String> {
        split_scopes(self.scope.as_deref())
    }
}

/// A parameter value: a quoted string (with `\` escapes) or a token; and what follows.
fn param_value(s: &str) -> (String, &str) {
    if let Some(quoted) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        value.push(next);
                    }
                }
                '"' => return (value, &quoted[i + 1..]),
                c => value.push(c),
            }
        }
        (value, "")
    } else {
        let end = s
            .find(|c: char| c == ',' || c.is_whitespace())
            .unwrap_or(s.len());
        (s[..end].to_owned(), &s[end..])
    }
}

/// Scopes from a space-separated list.
pub(crate) fn split_scopes(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Protected Resource Metadata (RFC 9728 §2), the fields used.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResourceMetadata {
    pub(crate) resource: String,
    #[serde(default)]
    pub(crate) authorization_servers: Vec<String>,
    #[serde(default)]
    pub(crate) scopes_supported: Option<Vec<String>>,
}

/// Authorization server metadata (RFC 8414 §2), the fields used.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServerMetadata {
    pub(crate) issuer: String,
    pub(crate) authorization_endpoint: Option<String>,
    pub(crate) token_endpoint: String,
    #[serde(default)]
    pub(crate) registration_endpoint: Option<String>,
    #[serde(default)]
    pub(crate) scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) client_id_metadata_document_supported: bool,
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: bool,
    /// The JWS algorithms the server accepts in DPoP proofs (RFC 9449 §5.1).
    #[serde(default)]
    pub(crate) dpop_signing_alg_values_supported: Option<Vec<String>>,
}

impl ServerMetadata {
    /// The 2025-03-26 defaults when an authorization server publishes no metadata: the
    /// endpoints at the root of `origin`.
    pub(crate) fn fallback(origin: &str) -> Self {
        ServerMetadata {
            issuer: origin.to_owned(),
            authorization_endpoint: Some(format!("{origin}/authorize")),
            token_endpoint: format!("{origin}/token"),
            registration_endpoint: Some(format!("{origin}/register")),
            scopes_supported: None,
            token_endpoint_auth_methods_supported: None,
            code_challenge_methods_supported: None,
            client_id_metadata_document_supported: false,
            authorization_response_iss_parameter_supported: false,
            dpop_signing_alg_values_supported: None,
        }
    }

    /// Whether the server accepts this token endpoint authentication method (RFC 8414:
    /// `client_secret_basic` when the field is absent).
    pub(crate) fn supports_auth_method(&self, method: &str) -> bool {
        match &self.token_endpoint_auth_methods_supported {
            Some(methods) => methods.iter().any(|m| m == method),
            None => method == "client_secret_basic",
        }
    }

    /// Whether the server takes DPoP proofs signed with `alg`.
    pub(crate) fn supports_dpop(&self, alg: &str) -> bool {
        self.dpop_signing_alg_values_supported
            .as_ref()
            .is_some_and(|a| a.iter().any(|x| x == alg))
    }

    pub(crate) fn supports_scope(&self, scope: &str) -> bool {
        self.scopes_supported
            .as_ref()
            .is_some_and(|s| s.iter().any(|x| x == scope))
    }
}

/// What discovery found for one MCP server.
#[derive(Debug, Clone)]
pub(crate) struct Discovery {
    /// The resource to name in authorization and token requests (RFC 8707), from the
    /// Protected Resource Metadata; `None` for a 2025-03-26 server that has none.
    pub(crate) resource: Option<String>,
    pub(crate) resource_metadata: Option<ResourceMetadata>,
    /// The issuer identifier the metadata was looked up with.
    pub(crate) issuer: String,
    pub(crate) metadata: ServerMetadata,
}

/// The origin of a URL without a trailing slash (`https://host:port`).
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The well-known URLs of a resource's Protected Resource Metadata, in the order to try
/// them (RFC 9728 §3.1): path-based first (when the URL has a path), then the root.
pub(crate) fn resource_metadata_urls(server: &Url) -> Vec<String> {
    let origin = origin(server);
    let path = server.path().trim_end_matches('/');
    let mut urls = Vec::new();
    if !path.is_empty() {
        urls.push(format!(
            "{origin}/.well-known/oauth-protected-resource{path}"
        ));
    }
    urls.push(format!("{origin}/.well-known/oauth-protected-resource"));
    urls
}

/// The well-known URLs of an authorization server's metadata, in the order to try them:
/// with a path in the issuer, RFC 8414 path insertion, then OpenID Connect with path
/// insertion, then OpenID Connect with the path appended; without one, RFC 8414 then
/// OpenID Connect at the root.
pub(crate) fn server_metadata_urls(issuer: &Url) -> Vec<String> {
    let origin = origin(issuer);
    let path = issuer.path().trim_end_matches('/');
    if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    }
}

/// Whether the Protected Resource Metadata's `resource` names the server at `server`:
/// the same origin, and a path that is the server's path or one of its parents
/// (compared by segments, a trailing slash ignored).
pub(crate) fn resource_matches(resource: &str, server: &Url) -> bool {
    let Ok(resource) = Url::parse(resource) else {
        return false;
    };
    if resource.origin() != server.origin() || resource.fragment().is_some() {
        return false;
    }
    let theirs: Vec<&str> = resource
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let ours: Vec<&str> = server.path().split('/').filter(|s| !s.is_empty()).collect();
    ours.starts_with(&theirs)
}

/// An HTTP exchange for metadata.
pub(crate) struct Fetcher<'a> {
    pub(crate) http: &'a reqwest::Client,
    /// `MCP-Protocol-Version` to send with metadata requests, if known.
    pub(crate) version: Option<&'a str>,
}

impl Fetcher<'_> {
    /// GETs a JSON document: `Ok(None)` when the server has none there (a 4xx status),
    /// an error when it cannot be reached, answers 5xx, or sends what is not JSON.
    pub(crate) async fn get_json(&self, url: &str, what: &str) -> Result<Option<Value>> {
        let mut request = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(version) = self.version {
            request = request.header("mcp-protocol-version", version);
        }
        let failed = |message: String| -> Error {
            OAuthError::Discovery {
                url: url.to_owned(),
                message,
            }
            .into()
        };
        let response = request
            .send()
            .await
            .map_err(|e| failed(format!("could not fetch the {what} at {url}")).with_source(e))?;
        let status = response.status();
        if status.is_client_error() {
            return Ok(None);
        }
        if status != StatusCode::OK {
            return Err(failed(format!(
                "the {what} at {url} answered HTTP {status} (expected 200 with a JSON document)"
            )));
        }
        let body = read_limited(response, url, what, failed).await?;
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| failed(format!("the {what} at {url} is not JSON")).with_source(e))?;
        if !value.is_object() {
            return Err(failed(format!("the {what} at {url} is not a JSON object")));
        }
        Ok(Some(value))
    }

    /// Fetches the Protected Resource Metadata: at `hinted` (from the challenge) only, or
    /// at the well-known URLs of `server`. `Ok(None)` if there is none.
    pub(crate) async fn resource_metadata(
        &self,
        server: &Url,
        hinted: Option<&str>,
    ) -> Result<Option<ResourceMetadata>> {
        let urls = match hinted {
            Some(url) => vec![url.to_owned()],
            None => resource_metadata_urls(server),
        };
        for url in &urls {
            let Some(value) = self.get_json(url, "protected resource metadata").await? else {
                continue;
            };
            let metadata: ResourceMetadata = serde_json::from_value(value).map_err(|e| {
                metadata_error(
                    url,
                    "resource, authorization_servers",
                    format!(
                        "the protected resource metadata at {url} is malformed (expected \
                     `resource` and `authorization_servers`)"
                    ),
                )
                .with_source(e)
            })?;
            if !resource_matches(&metadata.resource, server) {
                return Err(metadata_error(
                    url,
                    "resource",
                    format!(
                        "the protected resource metadata at {url} names resource {:?}, which is \
                     not the server {server} (expected the same origin and the server's path \
                     or a parent of it)",
                        oxmcp_protocol::error::echo(&metadata.resource)
                    ),
                ));
            }
            return Ok(Some(metadata));
        }
        if let Some(url) = hinted {
            return Err(metadata_error(
                url,
                "resource_metadata",
                format!(
                    "the server's challenge points to protected resource metadata at {url}, which \
                 does not exist"
                ),
            ));
        }
        Ok(None)
    }

    /// Fetches the metadata of the authorization server `issuer`, checking that its
    /// `issuer` is `issuer` exactly (RFC 8414 §3.3), or only of the same origin when
    /// `exact` is false (2025-03-26 servers, where the client knows no issuer, only the
    /// server's origin). `Ok(None)` if none is published.
    pub(crate) async fn server_metadata(
        &self,
        issuer: &str,
        exact: bool,
    ) -> Result<Option<ServerMetadata>> {
        let parsed = Url::parse(issuer).map_err(|e| {
            metadata_error(
                issuer,
                "authorization_servers",
                format!(
                    "the authorization server {issuer:?} is not a URL (field \
                 `authorization_servers` of the protected resource metadata)"
                ),
            )
            .with_source(e)
        })?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.query().is_some() {
            return Err(metadata_error(
                issuer,
                "authorization_servers",
                format!(
                    "the authorization server {issuer:?} is not an http(s) URL without a query"
                ),
            ));
        }
        for url in server_metadata_urls(&parsed) {
            let Some(value) = self.get_json(&url, "authorization server metadata").await? else {
                continue;
            };
            let metadata: ServerMetadata = serde_json::from_value(value).map_err(|e| {
                metadata_error(
                    &url,
                    "issuer, token_endpoint",
                    format!(
                        "the authorization server metadata at {url} is malformed (expected at \
                     least `issuer` and `token_endpoint` as strings)"
                    ),
                )
                .with_source(e)
            })?;
            let same_origin =
                || Url::parse(&metadata.issuer).is_ok_and(|i| i.origin() == parsed.origin());
            if exact && metadata.issuer != issuer {
                return Err(metadata_error(
                    &url,
                    "issuer",
                    format!(
                        "the authorization server metadata at {url} says issuer {:?}, expected \
                     {issuer:?} (the issuer it was looked up with)",
                        oxmcp_protocol::error::echo(&metadata.issuer)
                    ),
                ));
            }
            if !exact && !same_origin() {
                return Err(metadata_error(
                    &url,
                    "issuer",
                    format!(
                        "the authorization server metadata at {url} says issuer {:?}, expected \
                     an issuer at {issuer} (the server's origin)",
                        oxmcp_protocol::error::echo(&metadata.issuer)
                    ),
                ));
            }
            return Ok(Some(metadata));
        }
        Ok(None)
    }

    /// The whole discovery for the server at `server`, after a challenge (if any).
    pub(crate) async fn discover(
        &self,
        server: &Url,
        challenge: Option<&WwwAuthenticate>,
    ) -> Result<Discovery> {
        let hinted = challenge.and_then(|c| c.resource_metadata.as_deref());
        let prm = self.resource_metadata(server, hinted).await?;
        let Some(prm) = prm else {
            // 2025-03-26: the authorization server is the server's origin.
            let origin = origin(server);
            let metadata = self
                .server_metadata(&origin, false)
                .await?
                .unwrap_or_else(|| ServerMetadata::fallback(&origin));
            let issuer = metadata.issuer.clone();
            return Ok(Discovery {
                resource: None,
                resource_metadata: None,
                issuer,
                metadata,
            });
        };
        let issuer = prm.authorization_servers.first().cloned().ok_or_else(|| {
            metadata_error(
                server.as_str(),
                "authorization_servers",
                format!(
                    "the protected resource metadata of {server} lists no authorization server \
                 (field `authorization_servers` is empty)"
                ),
            )
        })?;
        let metadata = self.server_metadata(&issuer, true).await?.ok_or_else(|| {
            metadata_error(
                &issuer,
                "issuer",
                format!(
                    "the authorization server {issuer} publishes no metadata (tried {})",
                    server_metadata_urls(&Url::parse(&issuer).expect("checked")).join(", ")
                ),
            )
        })?;
        Ok(Discovery {
            resource: Some(prm.resource.clone()),
            resource_metadata: Some(prm),
            issuer,
            metadata,
        })
    }
}

/// A metadata document's `field` is wrong ([`OAuthError::Metadata`]).
pub(crate) fn metadata_error(url: &str, field: &str, message: String) -> Error {
    OAuthError::Metadata {
        url: url.to_owned(),
        field: field.to_owned(),
        message,
    }
    .into()
}

/// Reads a response body up to [`MAX_BODY`] bytes; `failed` makes the error of the step
/// it belongs to.
pub(crate) async fn read_limited(
    response: reqwest::Response,
    url: &str,
    what: &str,
    failed: impl Fn(String) -> Error,
) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk
            .map_err(|e| failed(format!("reading the {what} from {url} failed")).with_source(e))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(failed(format!(
                "the {what} from {url} is larger than {MAX_BODY} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn challenges_are_parsed_with_quoted_and_bare_values() {
        let c = WwwAuthenticate::parse([
            r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="https://x/.well-known/oauth-protected-resource/mcp""#,
        ])
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(c.scopes(), ["a", "b"]);
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://x/.well-known/oauth-protected-resource/mcp")
        );
        let c =
            WwwAuthenticate::parse([r#"Basic realm="x", DPoP error=use_dpop_nonce, algs="ES256""#])
                .unwrap();
        assert_eq!(c.scheme, "dpop");
        assert_eq!(c.error.as_deref(), Some("use_dpop_nonce"));
        let c = WwwAuthenticate::parse([r#"Bearer scope="a \"q\"", error="x"#]).unwrap();
        assert_eq!(c.scope.as_deref(), Some("a \"q\""));
        assert_eq!(c.error.as_deref(), Some("x"));
        assert!(WwwAuthenticate::parse([r#"Basic realm="x""#, ""]).is_none());
        assert!(WwwAuthenticate::parse(["Bearer"]).is_some());
    }

    #[test]
    fn resource_metadata_is_looked_up_path_based_then_at_the_root() {
        assert_eq!(
            resource_metadata_urls(&url("https://h:8443/a/mcp/")),
            [
                "https://h:8443/.well-known/oauth-protected-resource/a/mcp",
                "https://h:8443/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            resource_metadata_urls(&url("https://h/")),
            ["https://h/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn server_metadata_urls_insert_the_path() {
        assert_eq!(
            server_metadata_urls(&url("https://as.example/tenant1")),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant1",
                "https://as.example/.well-known/openid-configuration/tenant1",
                "https://as.example/tenant1/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            server_metadata_urls(&url("https://as.example")),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn the_resource_must_be_the_server_or_a_parent() {
        let server = url("https://h/api/mcp");
        assert!(resource_matches("https://h/api/mcp", &server));
        assert!(resource_matches("https://h/api/mcp/", &server));
        assert!(resource_matches("https://h", &server));
        assert!(resource_matches("https://h/api", &server));
        assert!(!resource_matches("https://h/ap", &server));
        assert!(!resource_matches("https://h/api/mcp/x", &server));
        assert!(!resource_matches("https://other/api/mcp", &server));
        assert!(!resource_matches("http://h/api/mcp", &server));
        assert!(!resource_matches("not a url", &server));
    }
}

/// Hostile metadata servers: every bad answer fails with a clear error, none hangs.
#[cfg(test)]
mod hostile {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves `body` (with `status`) to every request, on a loopback port.
    async fn serve(status: u16, body: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                });
            }
        });
        format!("http://{addr}")
    }

    async fn server_metadata_error(status: u16, body: &[u8]) -> Error {
        crate::transport::http::client::crypto_provider();
        let issuer = serve(status, body.to_vec()).await;
        let http = reqwest::Client::new();
        let fetcher = Fetcher {
            http: &http,
            version: None,
        };
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            fetcher.server_metadata(&issuer, true),
        )
        .await
        .expect("answered within 5 s")
        .expect_err("refused")
    }

    #[tokio::test]
    async fn malformed_metadata_is_refused_with_the_url_and_the_fields() {
        let e = server_metadata_error(200, b"{\"issuer\": 5}").await;
        assert!(e.is_auth(), "{e}");
        assert!(
            matches!(
                e.oauth_error(),
                Some(OAuthError::Metadata { url, field, .. })
                    if url.ends_with("/.well-known/oauth-authorization-server")
                        && field == "issuer, token_endpoint"
            ),
            "{e:?}"
        );
        let shown = e.to_string();
        assert!(
            shown.contains("/.well-known/oauth-authorization-server"),
            "{shown}"
        );
        assert!(shown.contains("`issuer` and `token_endpoint`"), "{shown}");
        let e = server_metadata_error(200, b"<html>").await;
        assert!(e.to_string().contains("is not JSON"), "{e}");
        let e = server_metadata_error(503, b"").await;
        assert!(e.to_string().contains("HTTP 503"), "{e}");
        assert!(
            matches!(e.oauth_error(), Some(OAuthError::Discovery { .. })),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn oversized_metadata_is_refused() {
        let mut body = b"{\"issuer\":\"".to_vec();
        body.extend(std::iter::repeat_n(b'x', MAX_BODY + 10));
        body.extend_from_slice(b"\"}");
        let e = server_metadata_error(200, &body).await;
        assert!(e.to_string().contains("larger than 65536 bytes"), "{e}");
    }

    #[tokio::test]
    async fn metadata_of_another_issuer_is_refused() {
        let e = server_metadata_error(
            200,
            br#"{"issuer":"https://attacker.example","token_endpoint":"https://attacker.example/token"}"#,
        )
        .await;
        let shown = e.to_string();
        assert!(shown.contains("\"https://attacker.example\""), "{shown}");
        assert!(
            shown.contains("the issuer it was looked up with"),
            "{shown}"
        );
    }
}

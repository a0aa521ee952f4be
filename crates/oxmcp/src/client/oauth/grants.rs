//! What the extension grants take from the application: assertions (a workload's JWT, a
//! user's ID token) and the enterprise identity provider.

use std::path::PathBuf;
use std::sync::Arc;

use super::agent::AgentFuture;
use crate::error::Error;

/// A JWT the client presents: a workload identity token (the JWT bearer grant, RFC 7523
/// §2.1), or the user's ID token from the enterprise identity provider. Asked for anew
/// each time tokens are obtained, so a source may rotate it.
///
/// A `String` is a fixed assertion; [`AssertionFile`] re-reads a file (a Kubernetes
/// projected service account token, a CI job's OIDC token written to disk).
pub trait AssertionSource: Send + Sync + 'static {
    /// The current assertion (a compact JWT).
    fn assertion(&self) -> AgentFuture<'_>;
}

impl AssertionSource for String {
    fn assertion(&self) -> AgentFuture<'_> {
        Box::pin(async move { Ok(self.clone()) })
    }
}

/// An assertion read from a file each time it is needed (surrounding whitespace
/// trimmed).
#[derive(Debug, Clone)]
pub struct AssertionFile(pub PathBuf);

impl AssertionSource for AssertionFile {
    fn assertion(&self) -> AgentFuture<'_> {
        Box::pin(async move {
            let text = tokio::fs::read_to_string(&self.0).await.map_err(|e| {
                Error::auth(format!(
                    "could not read the assertion file {}",
                    self.0.display()
                ))
                .with_source(e)
            })?;
            let jwt = text.trim();
            if jwt.split('.').count() != 3 {
                return Err(Error::auth(format!(
                    "the assertion file {} does not hold a JWT (expected three \
                     base64url parts separated by dots)",
                    self.0.display()
                )));
            }
            Ok(jwt.to_owned())
        })
    }
}

/// The enterprise identity provider of the enterprise-managed authorization extension
/// (SEP-990): the client exchanges the user's ID token there (RFC 8693 token exchange)
/// for an identity assertion authorization grant (ID-JAG), which the MCP server's
/// authorization server then takes in a JWT bearer grant (RFC 7523).
#[derive(Clone)]
#[must_use]
pub struct IdentityProvider {
    pub(crate) token_endpoint: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) id_token: Arc<dyn AssertionSource>,
}

impl std::fmt::Debug for IdentityProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProvider")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl IdentityProvider {
    /// The identity provider's token endpoint, the client's id there, and the user's ID
    /// token (from the single sign-on that logged them in).
    pub fn new(
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        id_token: impl AssertionSource,
    ) -> Self {
        IdentityProvider {
            token_endpoint: token_endpoint.into(),
            client_id: client_id.into(),
            client_secret: None,
            id_token: Arc::new(id_token),
        }
    }

    /// The client's secret at the identity provider (sent with `client_secret_basic`).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }
}

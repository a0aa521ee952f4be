//! One connection's authorization: the token it holds, and the flows that get a new one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::discovery::{split_scopes, Discovery, Fetcher, ResourceMetadata, WwwAuthenticate};
use super::dpop::{Audience, Dpop, DPOP};
use super::pkce::{random_token, Pkce};
use super::store::{Registration, StoredAuth, Tokens};
use super::{Grant, OAuth};
use crate::error::{Error, OAuthError, Result};
use crate::transport::http::client::auth::{AuthHook, Challenge, HookFuture};

mod identity;
mod token;

/// A token this close to expiry is refreshed before use.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// The JWT bearer grant type (RFC 7523 §2.1).
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub(crate) struct Session {
    config: OAuth,
    /// The MCP server's URL, as configured.
    server: String,
    http: reqwest::Client,
    state: Mutex<State>,
    /// Held while a flow runs (refresh, authorization), so concurrent refusals start one.
    flow: tokio::sync::Mutex<()>,
    /// Step-ups since a request last succeeded.
    step_ups: AtomicUsize,
    /// The DPoP key, made when a token is first requested from a server that takes DPoP.
    dpop: std::sync::OnceLock<Dpop>,
}

#[derive(Default)]
struct State {
    loaded: bool,
    stored: StoredAuth,
    discovery: Option<Discovery>,
    /// The scopes asked for last.
    requested: Vec<String>,
}

/// The scopes to ask for (MCP scope selection strategy): those of the challenge, else
/// the configured ones, else the resource's `scopes_supported`, else none.
pub(crate) fn select_scopes(
    challenge: Option<&WwwAuthenticate>,
    configured: Option<&[String]>,
    resource: Option<&ResourceMetadata>,
) -> Vec<String> {
    if let Some(scopes) = challenge
        .map(WwwAuthenticate::scopes)
        .filter(|s| !s.is_empty())
    {
        return scopes;
    }
    if let Some(scopes) = configured {
        return scopes.to_vec();
    }
    resource
        .and_then(|r| r.scopes_supported.clone())
        .unwrap_or_default()
}

/// `held` then the scopes of `more` not in it.
pub(crate) fn union(held: &[String], more: &[String]) -> Vec<String> {
    let mut all = held.to_vec();
    for scope in more {
        if !all.contains(scope) {
            all.push(scope.clone());
        }
    }
    all
}

/// Checks the `iss` of an authorization response (RFC 9207): required when the server
/// advertises it, and when present equal to the issuer by simple string comparison.
pub(crate) fn check_iss(iss: Option<&str>, issuer: &str, advertised: bool) -> Result<()> {
    match iss {
        None if advertised => Err(response_error(
            "iss",
            None,
            format!(
                "the authorization response has no `iss` parameter, but the authorization server \
             {issuer} advertises authorization_response_iss_parameter_supported (RFC 9207); \
             expected iss={issuer:?}"
            ),
        )),
        Some(iss) if iss != issuer => Err(response_error(
            "iss",
            None,
            format!(
                "the authorization response's `iss` is {iss:?}, expected {issuer:?} (RFC 9207: \
             the response may come from another authorization server)"
            ),
        )),
        _ => Ok(()),
    }
}

impl Session {
    pub(crate) fn new(config: OAuth, server: String) -> Self {
        crate::transport::http::client::crypto_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        Session {
            config,
            server,
            http,
            state: Mutex::default(),
            flow: tokio::sync::Mutex::new(()),
            step_ups: AtomicUsize::new(0),
            dpop: std::sync::OnceLock::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("oauth state lock")
    }

    fn fetcher(&self) -> Fetcher<'_> {
        Fetcher {
            http: &self.http,
            version: None,
        }
    }

    fn server_url(&self) -> Result<Url> {
        Url::parse(&self.server).map_err(|e| {
            Error::auth(format!("the server URL {:?} is not a URL", self.server)).with_source(e)
        })
    }

    /// The stored entry, loaded on first use.
    fn ensure_loaded(&self) -> Result<()> {
        if self.lock().loaded {
            return Ok(());
        }
        let stored = self.config.store.load(&self.server)?.unwrap_or_default();
        let mut state = self.lock();
        if !state.loaded {
            state.loaded = true;
            state.stored = stored;
        }
        Ok(())
    }

    fn save(&self) -> Result<()> {
        let stored = self.lock().stored.clone();
        self.config.store.save(&self.server, &stored)
    }

    fn tokens(&self) -> Option<Tokens> {
        self.lock().stored.tokens.clone()
    }

    fn authorization(tokens: &Tokens) -> Option<HeaderValue> {
        let scheme = if tokens.token_type.eq_ignore_ascii_case("dpop") {
            "DPoP"
        } else {
            "Bearer"
        };
        HeaderValue::from_str(&format!("{scheme} {}", tokens.access_token)).ok()
    }

    async fn discovery(
        &self,
        challenge: Option<&WwwAuthenticate>,
        fresh: bool,
    ) -> Result<Discovery> {
        if !fresh {
            if let Some(d) = self.lock().discovery.clone() {
                return Ok(d);
            }
        }
        let server = self.server_url()?;
        let discovery = self.fetcher().discover(&server, challenge).await?;
        let mut state = self.lock();
        // A resource that now names another authorization server: what the previous one
        // issued is no use there.
        if state
            .stored
            .issuer
            .as_deref()
            .is_some_and(|i| i != discovery.issuer)
        {
            tracing::info!(issuer = %discovery.issuer, "the authorization server changed; registering again");
            state.stored = StoredAuth::default();
        }
        state.stored.issuer = Some(discovery.issuer.clone());
        state.discovery = Some(discovery.clone());
        Ok(discovery)
    }

    /// Refreshes the access token; keeps the refresh token when no new one is issued.
    async fn refresh(&self) -> Result<()> {
        let Some(old) = self.tokens() else {
            return Err(refresh_error(None, "no tokens to refresh".to_owned()));
        };
        let Some(refresh_token) = old.refresh_token.clone() else {
            return Err(refresh_error(None, "no refresh token".to_owned()));
        };
        let d = self.discovery(None, false).await?;
        let client = self.client(&d).await?;
        let params = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.clone()),
        ];
        let held = split_scopes(old.scope.as_deref());
        let mut tokens = self
            .token_request(&d, &client, params, &held)
            .await
            .map_err(|e| match e.oauth_error() {
                Some(OAuthError::TokenEndpoint { error, message, .. }) => refresh_error(
                    error.clone(),
                    format!("refreshing the token failed: {message}"),
                ),
                _ => e,
            })?;
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(refresh_token);
        }
        self.lock().stored.tokens = Some(tokens);
        self.save()
    }

    /// Obtains new tokens with the configured grant, asking for `scopes`.
    async fn authorize(
        &self,
        challenge: Option<&WwwAuthenticate>,
        scopes: Option<Vec<String>>,
    ) -> Result<()> {
        let d = self.discovery(challenge, true).await?;
        let mut scopes = scopes.unwrap_or_else(|| {
            select_scopes(
                challenge,
                self.config.scopes.as_deref(),
                d.resource_metadata.as_ref(),
            )
        });
        let client = self.client(&d).await?;
        let tokens = match &self.config.grant {
            Grant::AuthorizationCode(agent) => {
                if self.config.offline_access
                    && d.metadata.supports_scope("offline_access")
                    && !scopes.iter().any(|s| s == "offline_access")
                {
                    scopes.push("offline_access".to_owned());
                }
                self.lock().requested = scopes.clone();
                self.authorization_code(agent.as_ref(), &d, &client, &scopes)
                    .await?
            }
            grant => {
                self.lock().requested = scopes.clone();
                let mut params = match grant {
                    Grant::JwtBearer(source) => vec![
                        ("grant_type", JWT_BEARER.to_owned()),
                        ("assertion", source.assertion().await?),
                    ],
                    Grant::Enterprise(idp) => vec![
                        ("grant_type", JWT_BEARER.to_owned()),
                        (
                            "assertion",
                            self.identity_assertion(idp, &d, &scopes).await?,
                        ),
                    ],
                    _ => vec![("grant_type", "client_credentials".to_owned())],
                };
                if !scopes.is_empty() {
                    params.push(("scope", scopes.join(" ")));
                }
                self.token_request(&d, &client, params, &scopes).await?
            }
        };
        self.lock().stored.tokens = Some(tokens);
        self.save()
    }

    async fn authorization_code(
        &self,
        agent: &dyn super::UserAgent,
        d: &Discovery,
        client: &Registration,
        scopes: &[String],
    ) -> Result<Tokens> {
        let m = &d.metadata;
        let endpoint = m.authorization_endpoint.as_deref().ok_or_else(|| {
            super::discovery::metadata_error(
                &d.issuer,
                "authorization_endpoint",
                format!(
                    "the authorization server metadata of {} has no authorization_endpoint",
                    d.issuer
                ),
            )
        })?;
        if let Some(methods) = &m.code_challenge_methods_supported {
            if !methods.iter().any(|x| x == "S256") {
                return Err(super::discovery::metadata_error(
                    &d.issuer,
                    "code_challenge_methods_supported",
                    format!(
                        "the authorization server {} does not support PKCE with S256 \
                     (code_challenge_methods_supported: {methods:?})",
                        d.issuer
                    ),
                ));
            }
        }
        let pkce = Pkce::new()?;
        let state = random_token(16)?;
        let redirect_uri = agent.redirect_uri();
        let mut url = Url::parse(endpoint).map_err(|e| {
            super::discovery::metadata_error(
                &d.issuer,
                "authorization_endpoint",
                format!("the authorization_endpoint {endpoint:?} is not a URL"),
            )
            .with_source(e)
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &client.client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &state);
            if !scopes.is_empty() {
                query.append_pair("scope", &scopes.join(" "));
            }
            if let Some(resource) = &d.resource {
                query.append_pair("resource", resource);
            }
        }
        let redirect = agent.authorize(url.as_str()).await?;
        let code = read_redirect(&redirect, &state, d)?;
        let params = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", pkce.verifier),
        ];
        self.token_request(d, client, params, scopes).await
    }

    /// Acts on a 401 or 403; `Ok(true)` when the request should be sent again.
    async fn on_challenge(&self, challenge: Challenge<'_>) -> Result<bool> {
        self.ensure_loaded()?;
        let www = WwwAuthenticate::parse(
            challenge
                .headers
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        // The MCP server wants a DPoP nonce (RFC 9449 §9): try again with it.
        if let Some(dpop) = self.dpop.get() {
            let fresh = dpop.remember_nonce(challenge.headers, Audience::ResourceServer);
            if challenge.status == StatusCode::UNAUTHORIZED
                && www.as_ref().and_then(|w| w.error.as_deref()) == Some("use_dpop_nonce")
            {
                return Ok(fresh);
            }
        }
        let _flow = self.flow.lock().await;
        // Another request renewed the token meanwhile: just try again with it.
        let current = self.tokens().as_ref().and_then(Self::authorization);
        if current.is_some() && current.as_ref() != challenge.sent.get(AUTHORIZATION) {
            return Ok(true);
        }
        if challenge.status == StatusCode::FORBIDDEN {
            let Some(www) = www.filter(|w| w.error.as_deref() == Some("insufficient_scope")) else {
                return Ok(false);
            };
            let n = self.step_ups.fetch_add(1, Ordering::Relaxed) + 1;
            if n > self.config.max_step_ups {
                let scope = www.scope.clone().unwrap_or_default();
                return Err(OAuthError::InsufficientScope {
                    message: format!(
                        "the server still answers 403 insufficient_scope (scope {scope:?}) \
                         after {} step-up authorizations; giving up",
                        self.config.max_step_ups
                    ),
                    scope,
                }
                .into());
            }
            let held = {
                let state = self.lock();
                let granted = state
                    .stored
                    .tokens
                    .as_ref()
                    .map(|t| split_scopes(t.scope.as_deref()))
                    .unwrap_or_default();
                union(&state.requested, &granted)
            };
            let scopes = union(&held, &www.scopes());
            self.authorize(Some(&www), Some(scopes)).await?;
            return Ok(true);
        }
        // 401: refresh when possible, else authorize again.
        if self.tokens().is_some_and(|t| t.refresh_token.is_some())
            && challenge.sent.contains_key(AUTHORIZATION)
        {
            match self.refresh().await {
                Ok(()) => return Ok(true),
                Err(e) => {
                    tracing::debug!(error = %e, "refreshing the token failed; authorizing again")
                }
            }
        }
        self.authorize(www.as_ref(), None).await?;
        Ok(true)
    }

    async fn headers_for(&self, method: &Method, url: &Url) -> Result<HeaderMap> {
        self.ensure_loaded()?;
        let mut headers = HeaderMap::new();
        let Some(mut tokens) = self.tokens() else {
            return Ok(headers);
        };
        if tokens.expires_within(EXPIRY_MARGIN) && tokens.refresh_token.is_some() {
            let _flow = self.flow.lock().await;
            if let Some(latest) = self.tokens() {
                tokens = latest;
            }
            if tokens.expires_within(EXPIRY_MARGIN) {
                match self.refresh().await {
                    Ok(()) => tokens = self.tokens().unwrap_or(tokens),
                    // The server will refuse the old token; the 401 starts a new flow.
                    Err(e) => tracing::debug!(error = %e, "refreshing the token failed"),
                }
            }
        }
        if let Some(value) = Self::authorization(&tokens) {
            headers.insert(AUTHORIZATION, value);
        }
        if tokens.token_type.eq_ignore_ascii_case("dpop") {
            if let Some(dpop) = self.dpop.get() {
                let proof = dpop.proof(
                    method,
                    url,
                    Some(&tokens.access_token),
                    Audience::ResourceServer,
                )?;
                if let Ok(value) = HeaderValue::from_str(&proof) {
                    headers.insert(DPOP, value);
                }
            }
        }
        Ok(headers)
    }
}

/// The code of an authorization response, after checking `state` and `iss`.
fn read_redirect(redirect: &str, state: &str, d: &Discovery) -> Result<String> {
    let url = Url::parse(redirect).map_err(|e| {
        response_error(
            "redirect_uri",
            None,
            format!("the redirect {redirect:?} is not a URL"),
        )
        .with_source(e)
    })?;
    let mut code = None;
    let mut got_state = None;
    let mut iss = None;
    let mut error = None;
    let mut description = None;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "code" => code = Some(value.into_owned()),
            "state" => got_state = Some(value.into_owned()),
            "iss" => iss = Some(value.into_owned()),
            "error" => error = Some(value.into_owned()),
            "error_description" => description = Some(value.into_owned()),
            _ => {}
        }
    }
    if got_state.as_deref() != Some(state) {
        return Err(response_error(
            "state",
            None,
            "the redirect's `state` does not match the authorization request's (a forged or \
             stale redirect); refused"
                .to_owned(),
        ));
    }
    check_iss(
        iss.as_deref(),
        &d.issuer,
        d.metadata.authorization_response_iss_parameter_supported,
    )?;
    if let Some(error) = error {
        let message = format!(
            "the authorization server {} refused the authorization: {error}{}",
            d.issuer,
            description.map(|d| format!(" ({d})")).unwrap_or_default()
        );
        return Err(response_error("error", Some(error), message));
    }
    code.ok_or_else(|| {
        response_error(
            "code",
            None,
            "the redirect has no `code` parameter".to_owned(),
        )
    })
}

/// The `error` of an OAuth error response body.
fn oauth_error(body: &[u8]) -> Option<String> {
    let parsed: Value = serde_json::from_slice(body).ok()?;
    parsed.get("error")?.as_str().map(str::to_owned)
}

/// An authorization response refused for its `field` ([`OAuthError::AuthorizationResponse`]).
fn response_error(field: &str, error: Option<String>, message: String) -> Error {
    OAuthError::AuthorizationResponse {
        field: field.to_owned(),
        error,
        message,
    }
    .into()
}

/// A refresh that failed ([`OAuthError::RefreshFailed`]).
fn refresh_error(error: Option<String>, message: String) -> Error {
    OAuthError::RefreshFailed { error, message }.into()
}

/// What to say of an error status from an OAuth endpoint, with its `error` and
/// `error_description`; and its `error` code.
fn refusal(url: &str, what: &str, status: StatusCode, body: &[u8]) -> (String, Option<String>) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(|s| oxmcp_protocol::error::echo(s).to_string())
    };
    let code = field("error");
    let detail = match (&code, field("error_description")) {
        (Some(e), Some(d)) => format!(": {e} ({d})"),
        (Some(e), None) => format!(": {e}"),
        _ => String::new(),
    };
    (
        format!("the {what} at {url} was refused with HTTP {status}{detail}"),
        code,
    )
}

impl AuthHook for Session {
    fn headers<'a>(
        &'a self,
        method: &'a Method,
        url: &'a Url,
    ) -> HookFuture<'a, Result<HeaderMap>> {
        Box::pin(self.headers_for(method, url))
    }

    fn challenged<'a>(&'a self, challenge: Challenge<'a>) -> HookFuture<'a, Result<bool>> {
        Box::pin(self.on_challenge(challenge))
    }

    fn answered(&self, headers: &HeaderMap) {
        if let Some(dpop) = self.dpop.get() {
            dpop.remember_nonce(headers, Audience::ResourceServer);
        }
        self.step_ups.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn scopes_come_from_the_challenge_then_the_resource() {
        let www = WwwAuthenticate {
            scope: Some("a b".into()),
            ..WwwAuthenticate::default()
        };
        let prm = ResourceMetadata {
            resource: "https://h/mcp".into(),
            authorization_servers: vec![],
            scopes_supported: Some(s(&["x", "y"])),
        };
        assert_eq!(select_scopes(Some(&www), None, Some(&prm)), s(&["a", "b"]));
        assert_eq!(select_scopes(None, None, Some(&prm)), s(&["x", "y"]));
        assert_eq!(
            select_scopes(
                Some(&WwwAuthenticate::default()),
                Some(&s(&["c"])),
                Some(&prm)
            ),
            s(&["c"])
        );
        assert!(select_scopes(None, None, None).is_empty());
        assert_eq!(union(&s(&["a", "b"]), &s(&["b", "c"])), s(&["a", "b", "c"]));
    }

    #[test]
    fn iss_is_required_when_advertised_and_compared_exactly() {
        let issuer = "https://as.example";
        assert!(check_iss(Some(issuer), issuer, true).is_ok());
        assert!(check_iss(None, issuer, false).is_ok());
        assert!(check_iss(Some(issuer), issuer, false).is_ok());
        let missing = check_iss(None, issuer, true).unwrap_err();
        assert!(missing.is_auth() && missing.to_string().contains("no `iss`"));
        // A trailing-slash variant is another issuer (RFC 9207 §2.4).
        assert!(check_iss(Some("https://as.example/"), issuer, true).is_err());
        assert!(check_iss(Some("https://evil.example"), issuer, false).is_err());
    }
}

#[cfg(test)]
mod redirects {
    use super::super::discovery::ServerMetadata;
    use super::*;

    fn discovery(iss_supported: bool) -> Discovery {
        let mut metadata = ServerMetadata::fallback("https://as.example");
        metadata.authorization_response_iss_parameter_supported = iss_supported;
        Discovery {
            resource: None,
            resource_metadata: None,
            issuer: "https://as.example".into(),
            metadata,
        }
    }

    #[test]
    fn refused_authorizations_and_wrong_issuers_are_typed() {
        let d = discovery(true);
        let iss = "iss=https%3A%2F%2Fas.example";
        let refused = format!("http://127.0.0.1/cb?state=s&{iss}&error=access_denied");
        let e = read_redirect(&refused, "s", &d).unwrap_err();
        assert!(
            matches!(
                e.oauth_error(),
                Some(OAuthError::AuthorizationResponse { field, error: Some(code), .. })
                    if field == "error" && code == "access_denied"
            ),
            "{e:?}"
        );
        assert_eq!(e.oauth_error().unwrap().error_code(), Some("access_denied"));
        let forged = "http://127.0.0.1/cb?state=s&iss=https%3A%2F%2Fevil.example&code=c";
        let e = read_redirect(forged, "s", &d).unwrap_err();
        assert!(
            matches!(
                e.oauth_error(),
                Some(OAuthError::AuthorizationResponse { field, error: None, .. }) if field == "iss"
            ),
            "{e:?}"
        );
        let e = read_redirect(
            &format!("http://127.0.0.1/cb?state=t&{iss}&code=c"),
            "s",
            &d,
        )
        .unwrap_err();
        assert!(
            matches!(
                e.oauth_error(),
                Some(OAuthError::AuthorizationResponse { field, .. }) if field == "state"
            ),
            "{e:?}"
        );
    }

    #[test]
    fn a_redirect_with_a_forged_state_is_refused() {
        let d = discovery(false);
        let ok = "http://127.0.0.1:1/callback?code=c&state=s1";
        assert_eq!(read_redirect(ok, "s1", &d).unwrap(), "c");
        for forged in [
            "http://127.0.0.1:1/callback?code=c&state=s2",
            "http://127.0.0.1:1/callback?code=c",
        ] {
            let e = read_redirect(forged, "s1", &d).unwrap_err();
            assert!(e.is_auth() && e.to_string().contains("`state`"), "{e}");
        }
    }

    #[test]
    fn the_redirect_iss_is_checked_before_the_code_is_used() {
        let d = discovery(true);
        let e = read_redirect("http://x/cb?code=c&state=s", "s", &d).unwrap_err();
        assert!(e.to_string().contains("no `iss`"), "{e}");
        let e = read_redirect(
            "http://x/cb?code=c&state=s&iss=https%3A%2F%2Fas.example%2F",
            "s",
            &d,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("expected \"https://as.example\""),
            "{e}"
        );
        let ok = "http://x/cb?code=c&state=s&iss=https%3A%2F%2Fas.example";
        assert_eq!(read_redirect(ok, "s", &d).unwrap(), "c");
        let e = read_redirect(
            "http://x/cb?error=access_denied&state=s&iss=https%3A%2F%2Fas.example",
            "s",
            &d,
        )
        .unwrap_err();
        assert!(e.to_string().contains("access_denied"), "{e}");
    }
}

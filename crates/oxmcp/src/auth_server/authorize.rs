//! The authorization endpoint, and the [`Login`] trait that decides who the user is.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;

use super::clients::Client;
use super::store::Grant;
use super::{hashed, random_token, Inner};

/// The largest query string or form the authorization endpoint reads.
const MAX_REQUEST: usize = 8 * 1024;

/// Form fields of the login page; everything else is the authorization request.
const LOGIN_FIELDS: [&str; 3] = ["login_username", "login_password", "login_consent"];

/// A validated authorization request, as a [`Login`] sees it.
#[derive(Debug)]
pub struct AuthorizationRequest {
    /// The client asking.
    pub client: Client,
    /// Where the answer goes (already checked against the client's redirect URIs).
    pub redirect_uri: String,
    /// The scopes asked for (already checked against what the client may ask).
    pub scopes: Vec<String>,
    /// The resource (RFC 8707) the token will be for.
    pub resource: Option<String>,
    /// The request's headers (cookies, for a login that keeps sessions).
    pub headers: HeaderMap,
    /// On a form POST back to the endpoint: the login fields (`login_username`,
    /// `login_password`, `login_consent`) that were sent.
    pub submitted: Option<HashMap<String, String>>,
    params: Vec<(String, String)>,
    code_challenge: String,
    redirect_given: bool,
}

impl AuthorizationRequest {
    /// The authorization request as hidden `<input>` fields (HTML-escaped), for a login
    /// form that posts back to the authorization endpoint.
    pub fn hidden_fields(&self) -> String {
        self.params
            .iter()
            .map(|(k, v)| {
                format!(
                    r#"<input type="hidden" name="{}" value="{}">"#,
                    escape(k),
                    escape(v)
                )
            })
            .collect()
    }
}

/// What a [`Login`] decides.
pub enum LoginDecision {
    /// The user `subject` approves; `scopes` narrows the grant (`None`: as asked).
    Approve {
        /// The user's stable identifier, the token's `sub`.
        subject: String,
        /// The scopes granted, a subset of those asked for (`None`: all of them).
        scopes: Option<Vec<String>>,
    },
    /// The user refuses: the client gets `access_denied`.
    Deny,
    /// Not decided yet: show this response (a login or consent page).
    Respond(Response),
}

impl fmt::Debug for LoginDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginDecision::Approve { subject, scopes } => f
                .debug_struct("Approve")
                .field("subject", subject)
                .field("scopes", scopes)
                .finish(),
            LoginDecision::Deny => f.write_str("Deny"),
            LoginDecision::Respond(_) => f.write_str("Respond(..)"),
        }
    }
}

/// Decides who the user is and whether they consent to an authorization request. Runs
/// after the request was validated (client, redirect URI, PKCE, scopes, resource).
pub trait Login: Send + Sync + 'static {
    /// The decision for `request`.
    fn login<'a>(&'a self, request: &'a AuthorizationRequest) -> BoxFuture<'a, LoginDecision>;
}

/// Development login: approves every request as one configured subject. Never use it
/// where anyone else can reach the server.
#[derive(Clone, Debug)]
pub struct AutoApprove {
    subject: String,
}

impl AutoApprove {
    /// Approves every request as `subject`.
    pub fn new(subject: impl Into<String>) -> AutoApprove {
        AutoApprove {
            subject: subject.into(),
        }
    }
}

impl Login for AutoApprove {
    fn login<'a>(&'a self, _: &'a AuthorizationRequest) -> BoxFuture<'a, LoginDecision> {
        Box::pin(std::future::ready(LoginDecision::Approve {
            subject: self.subject.clone(),
            scopes: None,
        }))
    }
}

/// The default login: refuses everything until one is configured.
pub(crate) struct DenyAll;

impl Login for DenyAll {
    fn login<'a>(&'a self, _: &'a AuthorizationRequest) -> BoxFuture<'a, LoginDecision> {
        Box::pin(std::future::ready(LoginDecision::Deny))
    }
}

type CheckFn = dyn Fn(&str, &str) -> BoxFuture<'static, Option<String>> + Send + Sync;

/// A minimal HTML login and consent page: a user name and password form that names the
/// client and the scopes asked for, with Allow and Deny buttons. `check(user, password)`
/// returns the subject of a valid login.
#[derive(Clone)]
pub struct LoginPage {
    check: Arc<CheckFn>,
    title: String,
}

impl fmt::Debug for LoginPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginPage")
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

impl LoginPage {
    /// A page whose logins `check` verifies (returning the user's subject).
    pub fn new<F, Fut>(check: F) -> LoginPage
    where
        F: Fn(String, String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Option<String>> + Send + 'static,
    {
        LoginPage {
            check: Arc::new(move |u, p| Box::pin(check(u.to_owned(), p.to_owned()))),
            title: "Sign in".into(),
        }
    }

    /// The page's heading (default "Sign in").
    pub fn title(mut self, title: impl Into<String>) -> LoginPage {
        self.title = title.into();
        self
    }

    fn page(&self, request: &AuthorizationRequest, error: Option<&str>) -> Response {
        let client = request
            .client
            .client_name
            .as_deref()
            .unwrap_or(&request.client.client_id);
        let scopes: String = if request.scopes.is_empty() {
            "<li>(no particular scope)</li>".into()
        } else {
            request
                .scopes
                .iter()
                .map(|s| format!("<li>{}</li>", escape(s)))
                .collect()
        };
        let error = error
            .map(|e| format!(r#"<p role="alert">{}</p>"#, escape(e)))
            .unwrap_or_default();
        let html = format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width"></head>
<body><main><h1>{title}</h1>
<p><strong>{client}</strong> asks for access to:</p><ul>{scopes}</ul>{error}
<form method="post">{hidden}
<p><label>User <input name="login_username" autocomplete="username" required></label></p>
<p><label>Password <input type="password" name="login_password" autocomplete="current-password" required></label></p>
<p><button name="login_consent" value="allow">Allow</button>
<button name="login_consent" value="deny" formnovalidate>Deny</button></p>
</form></main></body></html>"#,
            title = escape(&self.title),
            client = escape(client),
            hidden = request.hidden_fields(),
        );
        let status = if error.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        html_response(status, html)
    }
}

impl Login for LoginPage {
    fn login<'a>(&'a self, request: &'a AuthorizationRequest) -> BoxFuture<'a, LoginDecision> {
        Box::pin(async move {
            let Some(form) = &request.submitted else {
                return LoginDecision::Respond(self.page(request, None));
            };
            if form.get("login_consent").map(String::as_str) == Some("deny") {
                return LoginDecision::Deny;
            }
            let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
            match (self.check)(field("login_username"), field("login_password")).await {
                Some(subject) => LoginDecision::Approve {
                    subject,
                    scopes: None,
                },
                None => {
                    LoginDecision::Respond(self.page(request, Some("Wrong user name or password.")))
                }
            }
        })
    }
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_response(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    response
}

/// An error shown to the user, never redirected: the client or redirect URI cannot be
/// trusted.
fn error_page(message: &str) -> Response {
    html_response(
        StatusCode::BAD_REQUEST,
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\
             <body><h1>Authorization error</h1><p>{}</p></body></html>",
            escape(message)
        ),
    )
}

/// Where errors and the code go once the redirect URI is trusted.
struct Redirect<'a> {
    uri: &'a str,
    state: Option<&'a str>,
    issuer: &'a str,
}

impl Redirect<'_> {
    fn send(&self, pairs: &[(&str, &str)]) -> Response {
        let mut url = url::Url::parse(self.uri).expect("checked against a registered URI");
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in pairs {
                query.append_pair(k, v);
            }
            if let Some(state) = self.state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", self.issuer);
        }
        let mut response = StatusCode::FOUND.into_response();
        let headers = response.headers_mut();
        if let Ok(location) = HeaderValue::from_str(url.as_str()) {
            headers.insert(header::LOCATION, location);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    fn error(&self, error: &str, description: &str) -> Response {
        self.send(&[("error", error), ("error_description", description)])
    }
}

/// Parses form-encoded pairs; a parameter given twice is an error (RFC 6749 §3.1).
pub(crate) fn parse_pairs(raw: &str) -> Result<Vec<(String, String)>, String> {
    if raw.len() > MAX_REQUEST {
        return Err(format!("the request is larger than {MAX_REQUEST} bytes"));
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if pairs.iter().any(|(seen, _)| *seen == k) {
            return Err(format!("the parameter `{k}` is given more than once"));
        }
        pairs.push((k.into_owned(), v.into_owned()));
    }
    Ok(pairs)
}

pub(crate) async fn authorize(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    handle(inner, headers, query.unwrap_or_default(), false).await
}

pub(crate) async fn authorize_form(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    handle(inner, headers, body, true).await
}

async fn handle(inner: Arc<Inner>, headers: HeaderMap, raw: String, posted: bool) -> Response {
    let pairs = match parse_pairs(&raw) {
        Ok(pairs) => pairs,
        Err(e) => return error_page(&e),
    };
    let (login, params): (Vec<_>, Vec<_>) = pairs
        .into_iter()
        .partition(|(k, _)| LOGIN_FIELDS.contains(&k.as_str()));
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    // Until the client and its redirect URI are known, errors are shown, not redirected.
    let Some(client_id) = get("client_id").filter(|c| !c.is_empty()) else {
        return error_page("The request has no client_id.");
    };
    let client = match inner.client(client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return error_page("The client is not registered with this server."),
        Err(why) => return error_page(&format!("The client cannot be used: {why}")),
    };
    let (redirect_uri, redirect_given) = match get("redirect_uri") {
        Some(uri) if client.redirect_uri_matches(uri) => (uri.to_owned(), true),
        Some(_) => {
            return error_page("The redirect_uri is not registered for this client.");
        }
        None if client.redirect_uris.len() == 1 => (client.redirect_uris[0].clone(), false),
        None => return error_page("The request has no redirect_uri."),
    };
    let state = get("state").map(str::to_owned);
    let redirect = Redirect {
        uri: &redirect_uri,
        state: state.as_deref(),
        issuer: &inner.issuer,
    };

    if get("response_type") != Some("code") {
        return redirect.error("unsupported_response_type", "response_type must be `code`");
    }
    if !client.may_use("authorization_code") {
        return redirect.error(
            "unauthorized_client",
            "this client may not use the authorization_code grant",
        );
    }
    let Some(challenge) = get("code_challenge") else {
        return redirect.error(
            "invalid_request",
            "PKCE is required: send code_challenge with code_challenge_method=S256",
        );
    };
    if get("code_challenge_method") != Some("S256") {
        return redirect.error(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not supported)",
        );
    }
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return redirect.error(
            "invalid_request",
            "code_challenge must be the 43-character base64url SHA-256 of the verifier",
        );
    }
    let scopes = match inner.check_scopes(&client, get("scope")) {
        Ok(scopes) => scopes,
        Err(why) => return redirect.error("invalid_scope", &why),
    };
    let resource = match inner.check_resource(get("resource")) {
        Ok(resource) => resource,
        Err(why) => return redirect.error("invalid_target", &why),
    };

    let request = AuthorizationRequest {
        client,
        redirect_uri: redirect_uri.clone(),
        scopes,
        resource,
        headers,
        submitted: posted.then(|| login.into_iter().collect()),
        params: params.clone(),
        code_challenge: challenge.to_owned(),
        redirect_given,
    };
    let (subject, scopes) = match inner.login.login(&request).await {
        LoginDecision::Approve { subject, scopes } => {
            let scopes = match scopes {
                Some(narrowed) => narrowed
                    .into_iter()
                    .filter(|s| request.scopes.contains(s))
                    .collect(),
                None => request.scopes.clone(),
            };
            (subject, scopes)
        }
        LoginDecision::Deny => {
            return redirect.error("access_denied", "the user or server denied the request")
        }
        LoginDecision::Respond(response) => return response,
    };

    let code = random_token();
    let grant = Grant {
        client_id: request.client.client_id.clone(),
        subject,
        scopes,
        resource: request.resource.clone(),
        redirect_uri: request.redirect_given.then(|| request.redirect_uri.clone()),
        code_challenge: Some(request.code_challenge.clone()),
        family: random_token(),
        expires_at: SystemTime::now() + inner.ttl.code,
    };
    if let Err(e) = inner.store.put_code(hashed(&code), grant).await {
        tracing::warn!(error = %e, "cannot store an authorization code");
        return redirect.error(
            "temporarily_unavailable",
            "the server cannot issue codes right now",
        );
    }
    redirect.send(&[("code", &code)])
}

impl Inner {
    /// The scopes asked for (`scope`, space-separated), each checked against what the
    /// client may ask and what the server supports. Absent: the client's allowed scopes.
    pub(crate) fn check_scopes(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
            return Ok(client.scopes.clone().unwrap_or_default());
        };
        if scope.len() > 1024 {
            return Err("scope is longer than 1024 characters".into());
        }
        let mut scopes: Vec<String> = Vec::new();
        for s in scope.split(' ').filter(|s| !s.is_empty()) {
            if client
                .scopes
                .as_ref()
                .is_some_and(|allowed| !allowed.iter().any(|a| a == s))
            {
                return Err(format!("this client may not ask for the scope `{s}`"));
            }
            if self
                .scopes_supported
                .as_ref()
                .is_some_and(|supported| !supported.iter().any(|a| a == s))
            {
                return Err(format!("the scope `{s}` is not supported by this server"));
            }
            if !scopes.iter().any(|seen| seen == s) {
                scopes.push(s.to_owned());
            }
        }
        Ok(scopes)
    }

    /// A `resource` (RFC 8707): an absolute URI without a fragment, one of the configured
    /// resources if there is a list.
    pub(crate) fn check_resource(&self, resource: Option<&str>) -> Result<Option<String>, String> {
        let Some(resource) = resource else {
            return Ok(None);
        };
        let url = url::Url::parse(resource)
            .map_err(|_| format!("resource `{resource}` is not an absolute URI"))?;
        if url.fragment().is_some() || resource.len() > 2048 {
            return Err("resource must not have a fragment (nor exceed 2048 characters)".into());
        }
        if let Some(allowed) = &self.resources {
            if !allowed.iter().any(|r| r == resource) {
                return Err(format!("this server issues no tokens for `{resource}`"));
            }
        }
        Ok(Some(resource.to_owned()))
    }
}

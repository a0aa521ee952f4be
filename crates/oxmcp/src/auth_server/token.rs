//! The token endpoint (RFC 6749 §3.2, OAuth 2.1), client authentication, revocation
//! (RFC 7009) and dynamic client registration (RFC 7591).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::authorize::parse_pairs;
use super::clients::{self, AuthMethod, Client};
use super::keys::{b64, verify_jws};
use super::store::{Grant, Redeemed};
use super::{hashed, json_response, random_token, unix, Inner};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An error response per RFC 6749 §5.2.
pub(crate) struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    basic: bool,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> OAuthError {
        let status = match code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        OAuthError {
            status,
            code,
            description: description.into(),
            basic: false,
        }
    }

    fn response(self) -> Response {
        let mut response = json_response(
            self.status,
            json!({"error": self.code, "error_description": self.description}),
            true,
        );
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.basic {
                "Basic realm=\"token\""
            } else {
                "Bearer"
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

type Outcome = Result<Response, OAuthError>;

struct Params(Vec<(String, String)>);

impl Params {
    fn parse(headers: &HeaderMap, body: &str) -> Result<Params, OAuthError> {
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Err(OAuthError::new(
                "invalid_request",
                "expected a body of type application/x-www-form-urlencoded",
            ));
        }
        parse_pairs(body)
            .map(Params)
            .map_err(|e| OAuthError::new("invalid_request", e))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::new("invalid_request", format!("`{name}` is required")))
    }
}

fn percent_decode(s: &str) -> Option<String> {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// Authenticates the client of a token or revocation request.
async fn authenticate(
    inner: &Inner,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Client, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        });
    let assertion = params.get("client_assertion");
    let secret = params.get("client_secret");
    let used = [basic.is_some(), assertion.is_some(), secret.is_some()];
    if used.iter().filter(|u| **u).count() > 1 {
        return Err(OAuthError::new(
            "invalid_request",
            "use exactly one client authentication method",
        ));
    }
    let invalid = |why: &str| {
        let mut e = OAuthError::new("invalid_client", why);
        e.basic = basic.is_some();
        e
    };
    let (client_id, method, credential) = if let Some(basic) = basic {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| invalid("the Basic credentials are not base64"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| invalid("the Basic credentials have no `:`"))?;
        let (Some(id), Some(secret)) = (percent_decode(id), percent_decode(secret)) else {
            return Err(invalid("the Basic credentials are not form-encoded"));
        };
        (id, AuthMethod::ClientSecretBasic, Some(secret))
    } else if let Some(assertion) = assertion {
        if params.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::new(
                "invalid_request",
                format!("client_assertion_type must be `{JWT_BEARER}`"),
            ));
        }
        let id =
            peek_subject(assertion).ok_or_else(|| invalid("the client assertion has no `sub`"))?;
        (id, AuthMethod::PrivateKeyJwt, Some(assertion.to_owned()))
    } else if let Some(secret) = secret {
        let id = params.require("client_id")?.to_owned();
        (id, AuthMethod::ClientSecretPost, Some(secret.to_owned()))
    } else {
        let id = params.require("client_id")?.to_owned();
        (id, AuthMethod::None, None)
    };
    if params.get("client_id").is_some_and(|id| id != client_id) {
        return Err(invalid("client_id does not match the authenticated client"));
    }
    let client = match inner.client(&client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return Err(invalid("unknown client")),
        Err(why) => return Err(invalid(&format!("the client cannot be used: {why}"))),
    };
    match (client.auth_method, method) {
        (AuthMethod::None, AuthMethod::None) => Ok(client),
        (
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost,
        ) => {
            if client.secret_matches(credential.as_deref().unwrap_or_default()) {
                Ok(client)
            } else {
                Err(invalid("wrong client secret"))
            }
        }
        (AuthMethod::PrivateKeyJwt, AuthMethod::PrivateKeyJwt) => {
            check_assertion(inner, &client, credential.as_deref().unwrap_or_default())
                .await
                .map_err(|why| invalid(&format!("client assertion refused: {why}")))?;
            Ok(client)
        }
        (registered, _) => Err(invalid(&format!(
            "this client authenticates with {}",
            registered.as_str()
        ))),
    }
}

/// The `sub` of a JWT, unverified (to find the client whose keys verify it).
fn peek_subject(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// RFC 7523 §3: signed by the client's key, `iss` = `sub` = client id, `aud` the token
/// endpoint or the issuer, not expired, `jti` used once.
async fn check_assertion(inner: &Inner, client: &Client, jwt: &str) -> Result<(), String> {
    if jwt.len() > 8 * 1024 {
        return Err("longer than 8 KiB".into());
    }
    let jwks = client.jwks.as_ref().ok_or("the client has no keys")?;
    let claims = verify_jws(jwt, jwks)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(&client.client_id) || text("sub") != Some(&client.client_id) {
        return Err("`iss` and `sub` must be the client id".into());
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let token_endpoint = inner.endpoint("/token");
    if !audiences
        .iter()
        .any(|a| *a == token_endpoint || *a == inner.issuer)
    {
        return Err(format!("`aud` must be `{token_endpoint}` or the issuer"));
    }
    let now = unix(SystemTime::now());
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or("`exp` is required")?;
    if exp + 30 < now {
        return Err("expired".into());
    }
    if exp > now + 3600 {
        return Err("`exp` is more than an hour away".into());
    }
    let jti = text("jti").ok_or("`jti` is required")?;
    let until = SystemTime::UNIX_EPOCH + Duration::from_secs(exp + 30);
    match inner
        .store
        .once(format!("jti:{}:{jti}", client.client_id), until)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err("this assertion (`jti`) was already used".into()),
        Err(e) => Err(format!("storage: {e}")),
    }
}

pub(crate) async fn token(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    match token_inner(&inner, &headers, &body).await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

async fn token_inner(inner: &Inner, headers: &HeaderMap, body: &str) -> Outcome {
    let params = Params::parse(headers, body)?;
    let client = authenticate(inner, headers, &params).await?;
    match params.require("grant_type")? {
        "authorization_code" => authorization_code(inner, &client, &params).await,
        "refresh_token" => refresh(inner, &client, &params).await,
        "client_credentials" => client_credentials(inner, &client, &params),
        other => Err(OAuthError::new(
            "unsupported_grant_type",
            format!("grant_type `{other}` is not supported (expected authorization_code, refresh_token or client_credentials)"),
        )),
    }
}

fn storage(e: impl std::fmt::Display) -> OAuthError {
    tracing::warn!(error = %e, "authorization server storage");
    OAuthError::new(
        "temporarily_unavailable",
        "the server cannot issue tokens right now",
    )
}

/// What is being redeemed: an authorization code or a refresh token.
#[derive(Clone, Copy)]
enum Redeeming {
    Code,
    Refresh,
}

/// The grant a code or refresh token stands for, if `client` may use it. A replay revokes
/// the grant's family (a code's until its refresh tokens would expire, a refresh token's
/// until it would have) and is refused, as are unknown ones and another client's.
async fn settle(
    inner: &Inner,
    client: &Client,
    redeemed: Redeemed,
    what: Redeeming,
) -> Result<Grant, OAuthError> {
    let (name, revoked, unknown) = match what {
        Redeeming::Code => (
            "the authorization code",
            "the tokens issued from it are revoked",
            "is invalid or expired",
        ),
        Redeeming::Refresh => (
            "the refresh token",
            "every token of its family is revoked",
            "is invalid, expired or revoked",
        ),
    };
    let grant = match redeemed {
        Redeemed::Fresh(grant) => grant,
        Redeemed::Replayed(grant) => {
            let until = match what {
                Redeeming::Code => SystemTime::now() + inner.ttl.refresh,
                Redeeming::Refresh => grant.expires_at,
            };
            inner
                .store
                .revoke_family(grant.family, until)
                .await
                .map_err(storage)?;
            return Err(OAuthError::new(
                "invalid_grant",
                format!("{name} was already used; {revoked}"),
            ));
        }
        Redeemed::Unknown => {
            return Err(OAuthError::new(
                "invalid_grant",
                format!("{name} {unknown}"),
            ))
        }
    };
    if grant.client_id != client.client_id {
        return Err(OAuthError::new(
            "invalid_grant",
            format!("{name} was issued to another client"),
        ));
    }
    Ok(grant)
}

async fn authorization_code(inner: &Inner, client: &Client, params: &Params) -> Outcome {
    let code = params.require("code")?;
    let redeemed = inner
        .store
        .redeem_code(&hashed(code))
        .await
        .map_err(storage)?;
    let grant = settle(inner, client, redeemed, Redeeming::Code).await?;
    if let Some(expected) = &grant.redirect_uri {
        if params.get("redirect_uri") != Some(expected.as_str()) {
            return Err(OAuthError::new(
                "invalid_grant",
                "redirect_uri must be the one of the authorization request",
            ));
        }
    }
    let verifier = params.require("code_verifier")?;
    if !(43..=128).contains(&verifier.len())
        || !verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    {
        return Err(OAuthError::new(
            "invalid_grant",
            "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]",
        ));
    }
    let computed = b64(Sha256::digest(verifier.as_bytes()));
    let expected = grant.code_challenge.as_deref().unwrap_or_default();
    let same = computed.len() == expected.len()
        && computed
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(OAuthError::new(
            "invalid_grant",
            "the code_verifier does not match the code_challenge (PKCE)",
        ));
    }
    let mut grant = grant;
    grant.resource = bind_resource(inner, grant.resource, params.get("resource"))?;
    issue(inner, client, grant, true).await
}

/// The resource of a token request: the one bound at authorization, or (if none was)
/// a valid one given now.
fn bind_resource(
    inner: &Inner,
    bound: Option<String>,
    given: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    match (bound, given) {
        (Some(bound), Some(given)) if bound != given => Err(OAuthError::new(
            "invalid_target",
            format!("this grant is for the resource `{bound}`"),
        )),
        (Some(bound), _) => Ok(Some(bound)),
        (None, given) => inner
            .check_resource(given)
            .map_err(|e| OAuthError::new("invalid_target", e)),
    }
}

async fn refresh(inner: &Inner, client: &Client, params: &Params) -> Outcome {
    if !client.may_use("refresh_token") {
        return Err(OAuthError::new(
            "unauthorized_client",
            "this client may not use refresh tokens",
        ));
    }
    let token = params.require("refresh_token")?;
    let redeemed = inner
        .store
        .redeem_refresh(&hashed(token))
        .await
        .map_err(storage)?;
    let grant = settle(inner, client, redeemed, Redeeming::Refresh).await?;
    if inner
        .store
        .family_revoked(&grant.family)
        .await
        .map_err(storage)?
    {
        return Err(OAuthError::new(
            "invalid_grant",
            "the refresh token was revoked",
        ));
    }
    let mut grant = grant;
    if let Some(scope) = params.get("scope") {
        let asked: Vec<String> = scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(Into::into)
            .collect();
        if let Some(extra) = asked.iter().find(|s| !grant.scopes.contains(s)) {
            return Err(OAuthError::new(
                "invalid_scope",
                format!("the scope `{extra}` was not granted"),
            ));
        }
        grant.scopes = asked;
    }
    grant.resource = bind_resource(inner, grant.resource, params.get("resource"))?;
    issue(inner, client, grant, true).await
}

fn client_credentials(inner: &Inner, client: &Client, params: &Params) -> Outcome {
    if client.auth_method == AuthMethod::None || !client.may_use("client_credentials") {
        return Err(OAuthError::new(
            "unauthorized_client",
            "client_credentials needs a confidential client registered for it",
        ));
    }
    let scopes = inner
        .check_scopes(client, params.get("scope"))
        .map_err(|e| OAuthError::new("invalid_scope", e))?;
    let resource = inner
        .check_resource(params.get("resource"))
        .map_err(|e| OAuthError::new("invalid_target", e))?;
    let grant = Grant {
        client_id: client.client_id.clone(),
        subject: client.client_id.clone(),
        scopes,
        resource,
        redirect_uri: None,
        code_challenge: None,
        family: random_token(),
        expires_at: SystemTime::now(),
    };
    Ok(token_response(inner, &grant, None))
}

/// Issues an access token and, where the client may refresh, a new refresh token in the
/// grant's family (keeping the family's absolute expiry).
async fn issue(inner: &Inner, client: &Client, mut grant: Grant, refreshable: bool) -> Outcome {
    let refresh = if refreshable && client.may_use("refresh_token") {
        let token = random_token();
        if grant.code_challenge.is_some() {
            // From a code: the family starts now.
            grant.expires_at = SystemTime::now() + inner.ttl.refresh;
        }
        grant.redirect_uri = None;
        grant.code_challenge = None;
        inner
            .store
            .put_refresh(hashed(&token), grant.clone())
            .await
            .map_err(storage)?;
        Some(token)
    } else {
        None
    };
    Ok(token_response(inner, &grant, refresh))
}

fn token_response(inner: &Inner, grant: &Grant, refresh: Option<String>) -> Response {
    let now = SystemTime::now();
    let expires_in = inner.ttl.access.as_secs();
    let scope = grant.scopes.join(" ");
    let claims = json!({
        "iss": inner.issuer,
        "sub": grant.subject,
        "aud": grant.resource.as_deref().unwrap_or(&inner.issuer),
        "client_id": grant.client_id,
        "scope": scope,
        "iat": unix(now),
        "exp": unix(now) + expires_in,
        "jti": random_token(),
    });
    let access = inner.keys.current().sign_jwt("at+jwt", &claims);
    let mut body = Map::new();
    body.insert("access_token".into(), json!(access));
    body.insert("token_type".into(), json!("Bearer"));
    body.insert("expires_in".into(), json!(expires_in));
    body.insert("scope".into(), json!(scope));
    if let Some(refresh) = refresh {
        body.insert("refresh_token".into(), json!(refresh));
    }
    json_response(StatusCode::OK, Value::Object(body), true)
}

pub(crate) async fn revoke(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let result: Outcome = async {
        let params = Params::parse(&headers, &body)?;
        let client = authenticate(&inner, &headers, &params).await?;
        let token = params.require("token")?;
        // A refresh token of this client revokes its family. Anything else (an unknown
        // token, another client's, an access token, which is a self-contained JWT that
        // expires on its own) is answered 200 as RFC 7009 §2.2 says.
        if let Some(grant) = inner
            .store
            .refresh_grant(&hashed(token))
            .await
            .map_err(storage)?
        {
            if grant.client_id == client.client_id {
                inner
                    .store
                    .revoke_family(grant.family, grant.expires_at)
                    .await
                    .map_err(storage)?;
            }
        }
        Ok(json_response(StatusCode::OK, json!({}), true))
    }
    .await;
    result.unwrap_or_else(OAuthError::response)
}

pub(crate) async fn register(State(inner): State<Arc<Inner>>, body: axum::body::Bytes) -> Response {
    let error = |code: &'static str, description: String| {
        json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": code, "error_description": description}),
            true,
        )
    };
    if !inner.registration {
        return json_response(
            StatusCode::FORBIDDEN,
            json!({"error": "access_denied", "error_description": "dynamic client registration is disabled"}),
            true,
        );
    }
    let meta: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(meta) => meta,
        Err(e) => {
            return error(
                "invalid_client_metadata",
                format!("expected a JSON object of client metadata: {e}"),
            )
        }
    };
    let policy = clients::Policy {
        supported_scopes: inner.scopes_supported.as_deref(),
    };
    let client = match clients::from_metadata(
        random_token(),
        &meta,
        AuthMethod::ClientSecretBasic,
        &policy,
    ) {
        Ok(client) => client,
        Err(why) if why.contains("redirect URI") => return error("invalid_redirect_uri", why),
        Err(why) => return error("invalid_client_metadata", why),
    };
    let secret = matches!(
        client.auth_method,
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
    )
    .then(random_token);
    let client = match &secret {
        Some(secret) => clients::with_new_secret(client, secret),
        None => client,
    };
    let response =
        clients::registration_response(&client, secret.as_deref(), unix(SystemTime::now()));
    if let Err(e) = inner.store.put_client(client).await {
        tracing::warn!(error = %e, "cannot store a registered client");
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "temporarily_unavailable", "error_description": "registration is not possible right now"}),
            true,
        );
    }
    json_response(StatusCode::CREATED, response, true)
}

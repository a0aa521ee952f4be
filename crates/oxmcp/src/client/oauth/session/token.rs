//! The token endpoint: requests with the client's authentication (and DPoP proofs), and
//! the identity assertion grant (SEP-990).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde_json::Value;

use super::super::discovery::{metadata_error, read_limited, Discovery};
use super::super::dpop::{Audience, Dpop, DPOP};
use super::super::grants::IdentityProvider;
use super::super::jose::client_assertion;
use super::super::store::{Registration, Tokens};
use super::{oauth_error, refusal, Session};
use crate::error::{Error, OAuthError, Result};

/// The token exchange grant type (RFC 8693).
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The identity assertion authorization grant token type (SEP-990).
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The client assertion type of `private_key_jwt` (RFC 7523 §2.2).
const JWT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What a token endpoint answers.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl Session {
    /// The DPoP key, when DPoP is on and the authorization server takes ES256 proofs.
    fn dpop_for(&self, d: &Discovery) -> Result<Option<&Dpop>> {
        if !self.config.dpop || !d.metadata.supports_dpop("ES256") {
            return Ok(None);
        }
        if self.dpop.get().is_none() {
            let _ = self.dpop.set(Dpop::new()?);
        }
        Ok(self.dpop.get())
    }

    /// Posts a token request with the client's authentication; the tokens it answers.
    /// With DPoP, the request carries a proof, and is sent once more with the server's
    /// nonce when it answers `use_dpop_nonce` (RFC 9449 §8).
    pub(super) async fn token_request(
        &self,
        d: &Discovery,
        client: &Registration,
        mut params: Vec<(&'static str, String)>,
        requested: &[String],
    ) -> Result<Tokens> {
        let endpoint = &d.metadata.token_endpoint;
        let grant = params
            .iter()
            .find(|(k, _)| *k == "grant_type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if let Some(resource) = &d.resource {
            params.push(("resource", resource.clone()));
        }
        let dpop = self.dpop_for(d)?;
        let url = Url::parse(endpoint).map_err(|e| {
            metadata_error(
                &d.issuer,
                "token_endpoint",
                format!("the token_endpoint {endpoint:?} is not a URL"),
            )
            .with_source(e)
        })?;
        let what = format!("{grant} token request");
        let mut attempts = 0;
        let (status, bytes) = loop {
            attempts += 1;
            let mut params = params.clone();
            let mut request = self.http.post(endpoint);
            request = self.authenticate(request, &mut params, client, &d.issuer, None)?;
            if let Some(dpop) = dpop {
                let proof = dpop.proof(&Method::POST, &url, None, Audience::AuthorizationServer)?;
                request = request.header(DPOP, proof);
            }
            let (status, headers, bytes) =
                self.post_form(request, &params, endpoint, &what).await?;
            if let Some(dpop) = dpop {
                let fresh = dpop.remember_nonce(&headers, Audience::AuthorizationServer);
                if status == StatusCode::BAD_REQUEST
                    && fresh
                    && attempts == 1
                    && oauth_error(&bytes).as_deref() == Some("use_dpop_nonce")
                {
                    continue;
                }
            }
            break (status, bytes);
        };
        if !status.is_success() {
            let (message, code) = refusal(endpoint, &what, status, &bytes);
            return Err(token_error(endpoint, code, message));
        }
        let answer: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| {
            token_error(
                endpoint,
                None,
                format!(
                    "the token response of {endpoint} is malformed (expected a JSON object with \
                 string `access_token` and `token_type`)"
                ),
            )
            .with_source(e)
        })?;
        if !answer.token_type.eq_ignore_ascii_case("bearer")
            && !answer.token_type.eq_ignore_ascii_case("dpop")
        {
            return Err(token_error(
                endpoint,
                None,
                format!(
                "the token response of {endpoint} has token_type {:?} (expected Bearer or DPoP)",
                answer.token_type
            ),
            ));
        }
        if answer.token_type.eq_ignore_ascii_case("dpop") && dpop.is_none() {
            return Err(token_error(
                endpoint,
                None,
                format!(
                    "the token response of {endpoint} has token_type DPoP, but no DPoP proof was \
                 sent (expected Bearer)"
                ),
            ));
        }
        let expires_in = answer.expires_in.as_ref().and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        });
        Ok(Tokens {
            access_token: answer.access_token,
            token_type: answer.token_type,
            refresh_token: answer.refresh_token,
            expires_at: expires_in.map(|s| now().saturating_add(s)),
            scope: answer
                .scope
                .or_else(|| (!requested.is_empty()).then(|| requested.join(" "))),
        })
    }

    /// Adds the client's authentication to a token request: HTTP Basic, the secret in
    /// the body, a signed client assertion (audience: the issuer), or just the id.
    /// `method` overrides the registration's.
    fn authenticate(
        &self,
        mut request: reqwest::RequestBuilder,
        params: &mut Vec<(&'static str, String)>,
        client: &Registration,
        issuer: &str,
        method: Option<&str>,
    ) -> Result<reqwest::RequestBuilder> {
        let secret = client.client_secret.clone().unwrap_or_default();
        match method.unwrap_or(&client.token_endpoint_auth_method) {
            "client_secret_basic" => {
                let enc =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                let credentials =
                    STANDARD.encode(format!("{}:{}", enc(&client.client_id), enc(&secret)));
                request = request.header(AUTHORIZATION, format!("Basic {credentials}"));
                // The id in the body too: RFC 6749 allows it (it is no credential), and
                // authorization servers that look the client up by it before checking
                // the header (the official Python SDK's) refuse the request without it.
                params.push(("client_id", client.client_id.clone()));
            }
            "client_secret_post" => {
                params.push(("client_id", client.client_id.clone()));
                params.push(("client_secret", secret));
            }
            "private_key_jwt" => {
                let key = self.config.signing_key.as_deref().ok_or_else(|| {
                    Error::auth(
                        "the client is registered for private_key_jwt, but no signing key is \
                         configured (OAuth::private_key_jwt)",
                    )
                })?;
                params.push(("client_id", client.client_id.clone()));
                params.push(("client_assertion_type", JWT_ASSERTION_TYPE.to_owned()));
                params.push((
                    "client_assertion",
                    client_assertion(key, &client.client_id, issuer)?,
                ));
            }
            _ => params.push(("client_id", client.client_id.clone())),
        }
        Ok(request)
    }

    /// Posts a form to an OAuth endpoint; its status, headers and (bounded) body.
    async fn post_form(
        &self,
        request: reqwest::RequestBuilder,
        params: &[(&'static str, String)],
        endpoint: &str,
        what: &str,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>)> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let response = request
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                token_error(endpoint, None, format!("the {what} to {endpoint} failed"))
                    .with_source(e)
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let failed = |message| token_error(endpoint, None, message);
        let bytes = read_limited(response, endpoint, "token response", failed).await?;
        Ok((status, headers, bytes))
    }

    /// Token exchange at the enterprise identity provider (RFC 8693): the user's ID
    /// token for an identity assertion (ID-JAG) for this authorization server and
    /// resource.
    pub(super) async fn identity_assertion(
        &self,
        idp: &IdentityProvider,
        d: &Discovery,
        scopes: &[String],
    ) -> Result<String> {
        let endpoint = &idp.token_endpoint;
        let mut params = vec![
            ("grant_type", TOKEN_EXCHANGE.to_owned()),
            ("requested_token_type", ID_JAG.to_owned()),
            ("subject_token", idp.id_token.assertion().await?),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token".to_owned(),
            ),
            ("audience", d.issuer.clone()),
            (
                "resource",
                d.resource.clone().unwrap_or_else(|| self.server.clone()),
            ),
        ];
        if !scopes.is_empty() {
            params.push(("scope", scopes.join(" ")));
        }
        let client = Registration {
            issuer: endpoint.clone(),
            client_id: idp.client_id.clone(),
            client_secret: idp.client_secret.clone(),
            token_endpoint_auth_method: String::new(),
        };
        let method = if idp.client_secret.is_some() {
            "client_secret_basic"
        } else {
            "none"
        };
        let request = self.authenticate(
            self.http.post(endpoint),
            &mut params,
            &client,
            endpoint,
            Some(method),
        )?;
        let what = "token exchange (identity assertion)";
        let (status, _, bytes) = self.post_form(request, &params, endpoint, what).await?;
        if !status.is_success() {
            let (message, code) = refusal(endpoint, what, status, &bytes);
            return Err(token_error(endpoint, code, message));
        }
        #[derive(Deserialize)]
        struct Exchanged {
            access_token: String,
            #[serde(default)]
            issued_token_type: Option<String>,
        }
        let answer: Exchanged = serde_json::from_slice(&bytes).map_err(|e| {
            token_error(
                endpoint,
                None,
                format!(
                    "the token exchange response of {endpoint} is malformed (expected a JSON \
                 object with a string `access_token`)"
                ),
            )
            .with_source(e)
        })?;
        match answer.issued_token_type.as_deref() {
            None | Some(ID_JAG) => Ok(answer.access_token),
            Some(other) => Err(token_error(
                endpoint,
                None,
                format!(
                    "the token exchange response of {endpoint} has issued_token_type {:?} \
                 (expected {ID_JAG})",
                    oxmcp_protocol::error::echo(other)
                ),
            )),
        }
    }
}

/// A failure at the token endpoint `url` ([`OAuthError::TokenEndpoint`]).
fn token_error(url: &str, error: Option<String>, message: String) -> Error {
    OAuthError::TokenEndpoint {
        url: url.to_owned(),
        error,
        message,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::super::super::OAuth;
    use super::*;

    #[test]
    fn basic_authentication_names_the_client_in_the_body_too() {
        let session = Session::new(
            OAuth::client_credentials("app", "s3cret"),
            "https://mcp.example/mcp".into(),
        );
        let client = Registration {
            issuer: "https://as.example".into(),
            client_id: "app".into(),
            client_secret: Some("s3cret".into()),
            token_endpoint_auth_method: "client_secret_basic".into(),
        };
        let mut params = vec![("grant_type", "client_credentials".to_owned())];
        let request = session
            .authenticate(
                reqwest::Client::new().post("https://as.example/token"),
                &mut params,
                &client,
                "https://as.example",
                None,
            )
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            request.headers()[AUTHORIZATION],
            format!("Basic {}", STANDARD.encode("app:s3cret"))
        );
        assert!(params.contains(&("client_id", "app".to_owned())));
        assert!(!params.iter().any(|(k, _)| *k == "client_secret"));
    }
}

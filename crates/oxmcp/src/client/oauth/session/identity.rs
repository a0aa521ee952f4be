//! The client's identity with an authorization server: pre-registered, a client ID
//! metadata document (CIMD), or dynamic client registration (RFC 7591).

use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::json;

use super::super::discovery::{read_limited, Discovery};
use super::super::store::Registration;
use super::super::Grant;
use super::{refusal, Session, JWT_BEARER};
use crate::error::{Error, OAuthError, Result};

impl Session {
    /// The client's identity with the discovered authorization server.
    pub(super) async fn client(&self, d: &Discovery) -> Result<Registration> {
        let m = &d.metadata;
        if let Some(id) = &self.config.client_id {
            let method = match &self.config.client_secret {
                _ if self.config.signing_key.is_some() => "private_key_jwt",
                None => "none",
                Some(_) if m.supports_auth_method("client_secret_basic") => "client_secret_basic",
                Some(_) if m.supports_auth_method("client_secret_post") => "client_secret_post",
                Some(_) => "client_secret_basic",
            };
            return Ok(Registration {
                issuer: d.issuer.clone(),
                client_id: id.clone(),
                client_secret: self.config.client_secret.clone(),
                token_endpoint_auth_method: method.to_owned(),
            });
        }
        if let Some(reg) = self.lock().stored.registration.clone() {
            if reg.issuer == d.issuer {
                return Ok(reg);
            }
        }
        if let Some(url) = &self.config.client_metadata_url {
            if m.client_id_metadata_document_supported {
                return Ok(Registration {
                    issuer: d.issuer.clone(),
                    client_id: url.clone(),
                    client_secret: None,
                    token_endpoint_auth_method: "none".to_owned(),
                });
            }
        }
        let Some(endpoint) = &m.registration_endpoint else {
            return Err(OAuthError::Registration {
                url: None,
                message: format!(
                    "the authorization server {} has no registration_endpoint and no client \
                     ID metadata document support; configure a pre-registered client \
                     (OAuth::client_id)",
                    d.issuer
                ),
            }
            .into());
        };
        let registration = self.register(d, endpoint).await?;
        let mut state = self.lock();
        state.stored.registration = Some(registration.clone());
        drop(state);
        self.save()?;
        Ok(registration)
    }

    /// Dynamic Client Registration (RFC 7591).
    async fn register(&self, d: &Discovery, endpoint: &str) -> Result<Registration> {
        let m = &d.metadata;
        let method = match &m.token_endpoint_auth_methods_supported {
            None => "none",
            Some(methods) if methods.iter().any(|x| x == "none") => "none",
            Some(_) if m.supports_auth_method("client_secret_basic") => "client_secret_basic",
            Some(_) if m.supports_auth_method("client_secret_post") => "client_secret_post",
            Some(_) => "none",
        };
        let (grant_types, redirect_uris) = match &self.config.grant {
            Grant::AuthorizationCode(agent) => (
                json!(["authorization_code", "refresh_token"]),
                json!([agent.redirect_uri()]),
            ),
            Grant::ClientCredentials => (json!(["client_credentials"]), json!([])),
            Grant::JwtBearer(_) | Grant::Enterprise(_) => (json!([JWT_BEARER]), json!([])),
        };
        let body = json!({
            "client_name": self.config.client_name,
            "redirect_uris": redirect_uris,
            "grant_types": grant_types,
            "response_types": ["code"],
            "token_endpoint_auth_method": method,
            "application_type": "native",
        });
        let response = self
            .http
            .post(endpoint)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| {
                registration_error(
                    endpoint,
                    format!("client registration at {endpoint} failed"),
                )
                .with_source(e)
            })?;
        let status = response.status();
        let failed = |message| registration_error(endpoint, message);
        let bytes =
            read_limited(response, endpoint, "client registration response", failed).await?;
        if !status.is_success() {
            let (message, _) = refusal(endpoint, "client registration", status, &bytes);
            return Err(registration_error(endpoint, message));
        }
        #[derive(Deserialize)]
        struct Registered {
            client_id: String,
            #[serde(default)]
            client_secret: Option<String>,
            #[serde(default)]
            token_endpoint_auth_method: Option<String>,
        }
        let registered: Registered = serde_json::from_slice(&bytes).map_err(|e| {
            registration_error(
                endpoint,
                format!(
                    "the client registration response of {endpoint} is malformed (expected a \
                 JSON object with a string `client_id`)"
                ),
            )
            .with_source(e)
        })?;
        let method = match (
            registered.token_endpoint_auth_method,
            &registered.client_secret,
        ) {
            (Some(method), _) => method,
            (None, Some(_)) if method == "none" => "client_secret_basic".to_owned(),
            (None, _) => method.to_owned(),
        };
        Ok(Registration {
            issuer: d.issuer.clone(),
            client_id: registered.client_id,
            client_secret: registered.client_secret,
            token_endpoint_auth_method: method,
        })
    }
}

/// A failure at the registration endpoint `url` ([`OAuthError::Registration`]).
fn registration_error(url: &str, message: String) -> Error {
    OAuthError::Registration {
        url: Some(url.to_owned()),
        message,
    }
    .into()
}

//! Client ID Metadata Documents: a client id that is an https URL names a JSON document
//! with the client's metadata. Fetched with a timeout and a size limit, no redirects, no
//! proxy, and never from a loopback or private address unless configured (SSRF).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use url::Url;

use super::clients::{self, AuthMethod, Client};
use super::CimdSettings;

/// Whether a client id is a URL (and so names a metadata document).
pub(crate) fn is_url_client_id(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

pub(crate) struct Fetcher {
    settings: CimdSettings,
    http: std::sync::OnceLock<Result<reqwest::Client, String>>,
}

/// Resolves names and refuses addresses that are not public (unless allowed), so a
/// client id whose host resolves to an internal address is never fetched.
struct Guard {
    allow_private: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || clients::is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("`{host}` resolves to no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Fetcher {
    pub(crate) fn new(settings: CimdSettings) -> Fetcher {
        Fetcher {
            settings,
            http: std::sync::OnceLock::new(),
        }
    }

    fn http(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_init(|| {
                if rustls::crypto::CryptoProvider::get_default().is_none() {
                    let _ = rustls::crypto::ring::default_provider().install_default();
                }
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .timeout(self.settings.timeout)
                    .dns_resolver(Arc::new(Guard {
                        allow_private: self.settings.allow_private,
                    }))
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Checks the URL (https, a path, no fragment, credentials or dot segments; an IP
    /// literal host must be public unless allowed).
    fn check_url(&self, client_id: &str) -> Result<Url, String> {
        if client_id.len() > 2048 {
            return Err("the client id URL is longer than 2048 characters".into());
        }
        let url = Url::parse(client_id).map_err(|e| format!("the client id is not a URL: {e}"))?;
        let loopback_http = url.scheme() == "http"
            && self.settings.allow_private
            && matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback());
        if url.scheme() != "https" && !loopback_http {
            return Err("a URL client id must use https".into());
        }
        if url.as_str() != client_id {
            return Err("a URL client id must be in normalized form".into());
        }
        if url.path() == "/"
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err("a URL client id must have a path, and no fragment or credentials".into());
        }
        if client_id.contains("/./") || client_id.contains("/../") {
            return Err("a URL client id must not have dot segments".into());
        }
        let literal: Option<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(ip.into()),
            Some(url::Host::Ipv6(ip)) => Some(ip.into()),
            _ => None,
        };
        if let Some(ip) = literal {
            if !self.settings.allow_private && !clients::is_public(ip) {
                return Err(format!(
                    "the client id's host {ip} is a private or loopback address, which this \
                     server does not fetch from"
                ));
            }
        }
        Ok(url)
    }

    /// Fetches and validates the document of `client_id`.
    pub(crate) async fn fetch(
        &self,
        client_id: &str,
        supported_scopes: Option<&[String]>,
    ) -> Result<Client, String> {
        let url = self.check_url(client_id)?;
        let http = self.http()?;
        let mut response = http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("cannot fetch the client metadata document: {}", chain(&e)))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!(
                "the client metadata document answered {} (expected 200)",
                response.status()
            ));
        }
        let max_age = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .filter_map(|d| d.trim().strip_prefix("max-age="))
                    .find_map(|s| s.parse::<u64>().ok())
            })
            .unwrap_or(300)
            .clamp(60, 24 * 3600);
        let limit = self.settings.max_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(format!(
                "the client metadata document is larger than {limit} bytes"
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("cannot read the client metadata document: {}", chain(&e)))?
        {
            if body.len() + chunk.len() > limit {
                return Err(format!(
                    "the client metadata document is larger than {limit} bytes"
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("the client metadata document is not JSON: {e}"))?;
        let Value::Object(meta) = doc else {
            return Err("the client metadata document is not a JSON object".into());
        };
        if meta.get("client_id").and_then(Value::as_str) != Some(client_id) {
            return Err("the client metadata document's `client_id` is not its own URL".into());
        }
        if meta.contains_key("client_secret") || meta.contains_key("client_secret_expires_at") {
            return Err("a client metadata document must not contain a client secret".into());
        }
        let policy = clients::Policy { supported_scopes };
        let mut client =
            clients::from_metadata(client_id.to_owned(), &meta, AuthMethod::None, &policy)
                .map_err(|e| format!("the client metadata document is invalid: {e}"))?;
        if matches!(
            client.auth_method,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        ) {
            return Err("a client metadata document cannot use a client secret".into());
        }
        client.expires_at = Some(SystemTime::now() + Duration::from_secs(max_age));
        Ok(client)
    }
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

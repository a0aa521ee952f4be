//! DPoP (RFC 9449): a key the connection holds, proofs of it on token and resource
//! requests, and the nonces servers hand out.

use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName};
use reqwest::{Method, Url};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::jose::{now, SigningKey};
use super::pkce::random_token;
use crate::error::Result;

/// The `DPoP` request header.
pub(crate) const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header.
pub(crate) const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The longest nonce kept (a server's nonce is opaque, but not a megabyte).
const MAX_NONCE: usize = 1024;

/// The connection's DPoP key and the nonces of the servers it talks to.
pub(crate) struct Dpop {
    key: SigningKey,
    jwk: Value,
    /// The authorization server's nonce (its token endpoint) and the resource server's.
    nonces: Mutex<Nonces>,
}

#[derive(Default)]
struct Nonces {
    authorization_server: Option<String>,
    resource_server: Option<String>,
}

/// Which server a proof or a nonce is for.
#[derive(Clone, Copy)]
pub(crate) enum Audience {
    AuthorizationServer,
    ResourceServer,
}

/// `url` without its query and fragment (the `htu` claim, RFC 9449 §4.2).
pub(crate) fn htu(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// `BASE64URL(SHA256(access_token))` (the `ath` claim).
pub(crate) fn ath(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

impl Dpop {
    /// A fresh ES256 key.
    pub(crate) fn new() -> Result<Self> {
        let key = SigningKey::generate_es256()?;
        let jwk = key.public_jwk().unwrap_or_default();
        Ok(Dpop {
            key,
            jwk,
            nonces: Mutex::default(),
        })
    }

    fn nonces(&self) -> std::sync::MutexGuard<'_, Nonces> {
        self.nonces.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The JWK thumbprint of the key (what a bound token's `cnf.jkt` names).
    #[cfg(test)]
    pub(crate) fn thumbprint(&self) -> String {
        super::jose::thumbprint(&self.jwk)
    }

    /// A proof for one request: `method` on `url`, with `ath` when an access token is
    /// presented, and the server's latest nonce.
    pub(crate) fn proof(
        &self,
        method: &Method,
        url: &Url,
        access_token: Option<&str>,
        to: Audience,
    ) -> Result<String> {
        let mut claims = json!({
            "jti": random_token(16)?,
            "htm": method.as_str(),
            "htu": htu(url),
            "iat": now(),
        });
        if let Some(token) = access_token {
            claims["ath"] = Value::from(ath(token));
        }
        let nonce = match to {
            Audience::AuthorizationServer => self.nonces().authorization_server.clone(),
            Audience::ResourceServer => self.nonces().resource_server.clone(),
        };
        if let Some(nonce) = nonce {
            claims["nonce"] = Value::from(nonce);
        }
        let mut header = Map::new();
        header.insert("typ".into(), Value::from("dpop+jwt"));
        header.insert("jwk".into(), self.jwk.clone());
        self.key.sign_jwt(header, &claims)
    }

    /// Keeps the `DPoP-Nonce` of a response; whether there was a new one.
    pub(crate) fn remember_nonce(&self, headers: &HeaderMap, from: Audience) -> bool {
        let Some(nonce) = headers
            .get(DPOP_NONCE)
            .and_then(|v| v.to_str().ok())
            .filter(|n| !n.is_empty() && n.len() <= MAX_NONCE)
        else {
            return false;
        };
        let mut nonces = self.nonces();
        let slot = match from {
            Audience::AuthorizationServer => &mut nonces.authorization_server,
            Audience::ResourceServer => &mut nonces.resource_server,
        };
        if slot.as_deref() == Some(nonce) {
            return false;
        }
        *slot = Some(nonce.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(proof: &str) -> Value {
        let part = proof.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn a_proof_names_the_request_without_query_or_fragment() {
        let dpop = Dpop::new().unwrap();
        let url = Url::parse("https://rs.example/mcp?x=1#frag").unwrap();
        let a = claims(
            &dpop
                .proof(&Method::GET, &url, Some("tok"), Audience::ResourceServer)
                .unwrap(),
        );
        assert_eq!(a["htu"], "https://rs.example/mcp");
        assert_eq!(a["htm"], "GET");
        assert_eq!(a["ath"], ath("tok"));
        assert!(a.get("nonce").is_none());
        let b = claims(
            &dpop
                .proof(&Method::GET, &url, None, Audience::ResourceServer)
                .unwrap(),
        );
        assert_ne!(a["jti"], b["jti"], "a fresh jti per proof");
        assert!(b.get("ath").is_none());
        assert_eq!(dpop.thumbprint().len(), 43);
    }

    #[test]
    fn nonces_are_kept_per_server_and_bounded() {
        let dpop = Dpop::new().unwrap();
        let url = Url::parse("https://as.example/token").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(DPOP_NONCE, "n1".parse().unwrap());
        assert!(dpop.remember_nonce(&headers, Audience::AuthorizationServer));
        assert!(
            !dpop.remember_nonce(&headers, Audience::AuthorizationServer),
            "not new"
        );
        let to_as = claims(
            &dpop
                .proof(&Method::POST, &url, None, Audience::AuthorizationServer)
                .unwrap(),
        );
        assert_eq!(to_as["nonce"], "n1");
        let to_rs = claims(
            &dpop
                .proof(&Method::POST, &url, None, Audience::ResourceServer)
                .unwrap(),
        );
        assert!(to_rs.get("nonce").is_none());
        headers.insert(DPOP_NONCE, "x".repeat(MAX_NONCE + 1).parse().unwrap());
        assert!(!dpop.remember_nonce(&headers, Audience::ResourceServer));
    }
}

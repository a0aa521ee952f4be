//! Signed JWTs (JWS compact serialization, RFC 7515): client assertions (RFC 7523) and
//! DPoP proofs (RFC 9449), signed with `ring`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};

/// The JWS algorithms a [`SigningKey`] can sign with.
const ALGORITHMS: &str = "ES256, ES384, RS256, PS256, EdDSA";

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private key that signs JWTs: the client's key for `private_key_jwt` client
/// authentication (RFC 7523 §2.2), given as a PKCS#8 PEM with its JWS algorithm
/// (`ES256`, `ES384`, `RS256`, `PS256` or `EdDSA`).
///
/// ```
/// use oxmcp::client::oauth::SigningKey;
///
/// let key = SigningKey::generate_es256().unwrap();
/// assert_eq!(key.algorithm(), "ES256");
/// ```
pub struct SigningKey {
    pair: Pair,
    alg: &'static str,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn bad_key(what: impl std::fmt::Display) -> Error {
    Error::auth(format!("the signing key {what}"))
}

impl SigningKey {
    /// A key from a PEM `PRIVATE KEY` block (unencrypted PKCS#8), for the JWS algorithm
    /// `alg`. Fails, saying what was expected, when the PEM is not PKCS#8, the algorithm
    /// is unknown or the key is not of its kind.
    pub fn from_pem(pem: &str, alg: &str) -> Result<Self> {
        const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
        const END: &str = "-----END PRIVATE KEY-----";
        let body = pem
            .split_once(BEGIN)
            .and_then(|(_, rest)| rest.split_once(END))
            .map(|(body, _)| body)
            .ok_or_else(|| {
                let found = pem
                    .lines()
                    .map(str::trim)
                    .find(|l| l.starts_with("-----BEGIN"))
                    .unwrap_or("no PEM block");
                bad_key(format!(
                    "is not a PKCS#8 PEM: expected a `{BEGIN}` block, found {:?} (convert \
                     with `openssl pkcs8 -topk8 -nocrypt`)",
                    oxmcp_protocol::error::echo(found)
                ))
            })?;
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(clean)
            .map_err(|e| bad_key(format!("PEM is not valid base64: {e}")))?;
        Self::from_pkcs8_der(&der, alg)
    }

    /// A key from a DER-encoded, unencrypted PKCS#8 document, for the JWS algorithm
    /// `alg` (see [`from_pem`](Self::from_pem)).
    pub fn from_pkcs8_der(der: &[u8], alg: &str) -> Result<Self> {
        let rejected = |kind: &str, e: ring::error::KeyRejected| {
            bad_key(format!("is not a {kind} PKCS#8 key as {alg} needs ({e})"))
        };
        let rng = SystemRandom::new();
        let (pair, alg) = match alg {
            "ES256" => (
                Pair::Ecdsa(
                    EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        der,
                        &rng,
                    )
                    .map_err(|e| rejected("P-256", e))?,
                ),
                "ES256",
            ),
            "ES384" => (
                Pair::Ecdsa(
                    EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
                        der,
                        &rng,
                    )
                    .map_err(|e| rejected("P-384", e))?,
                ),
                "ES384",
            ),
            "RS256" | "PS256" => (
                Pair::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|e| rejected("RSA", e))?),
                if alg == "RS256" { "RS256" } else { "PS256" },
            ),
            "EdDSA" => (
                Pair::Ed25519(
                    Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                        .map_err(|e| rejected("Ed25519", e))?,
                ),
                "EdDSA",
            ),
            other => {
                return Err(bad_key(format!(
                    "algorithm {:?} is not supported (expected one of {ALGORITHMS})",
                    oxmcp_protocol::error::echo(other)
                )))
            }
        };
        Ok(SigningKey { pair, alg, rng })
    }

    /// A new random P-256 key (ES256).
    pub fn generate_es256() -> Result<Self> {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng)
            .map_err(|_| Error::auth("generating a P-256 key failed"))?;
        Self::from_pkcs8_der(pkcs8.as_ref(), "ES256")
    }

    /// The JWS algorithm this key signs with.
    pub fn algorithm(&self) -> &'static str {
        self.alg
    }

    /// The public key as a JWK (RFC 7517), for elliptic-curve keys (`EC` and `OKP`);
    /// `None` for RSA keys.
    pub(crate) fn public_jwk(&self) -> Option<Value> {
        match &self.pair {
            Pair::Ecdsa(pair) => {
                // Uncompressed point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let n = (point.len() - 1) / 2;
                let crv = if self.alg == "ES256" {
                    "P-256"
                } else {
                    "P-384"
                };
                Some(json!({
                    "kty": "EC",
                    "crv": crv,
                    "x": URL_SAFE_NO_PAD.encode(&point[1..=n]),
                    "y": URL_SAFE_NO_PAD.encode(&point[n + 1..]),
                }))
            }
            Pair::Ed25519(pair) => Some(json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
            })),
            Pair::Rsa(_) => None,
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let failed = || Error::auth(format!("signing with the {} key failed", self.alg));
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| failed()),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = if self.alg == "RS256" {
                    &signature::RSA_PKCS1_SHA256
                } else {
                    &signature::RSA_PSS_SHA256
                };
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(padding, &self.rng, message, &mut out)
                    .map_err(|_| failed())?;
                Ok(out)
            }
        }
    }

    /// A compact JWS of `claims`, with `header` (`alg` is set here).
    pub(crate) fn sign_jwt(
        &self,
        mut header: Map<String, Value>,
        claims: &Value,
    ) -> Result<String> {
        header.insert("alg".into(), Value::from(self.alg));
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// How long a client assertion is valid.
const ASSERTION_LIFETIME: u64 = 300;

/// A client assertion for `private_key_jwt` (RFC 7523 §2.2): the client as `iss` and
/// `sub`, the authorization server's issuer as `aud`, valid five minutes, a fresh `jti`.
pub(crate) fn client_assertion(
    key: &SigningKey,
    client_id: &str,
    audience: &str,
) -> Result<String> {
    let iat = now();
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": iat,
        "exp": iat + ASSERTION_LIFETIME,
        "jti": super::pkce::random_token(16)?,
    });
    let mut header = Map::new();
    header.insert("typ".into(), Value::from("JWT"));
    key.sign_jwt(header, &claims)
}

#[cfg(test)]
/// The JWK SHA-256 thumbprint (RFC 7638) of an `EC` or `OKP` public key, base64url.
pub(crate) fn thumbprint(jwk: &Value) -> String {
    use sha2::{Digest, Sha256};
    // The required members in lexicographic order, no whitespace.
    let canonical = match jwk["kty"].as_str() {
        Some("EC") => json!({"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}),
        _ => json!({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}),
    };
    // serde_json without `preserve_order` writes object keys sorted.
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// A P-256 PKCS#8 key as Node (`jose.exportPKCS8`) writes it.
    const NODE_P256: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUhpW27CxVXd941DE
fN84ImVttmhsmqSBAhoQ2dplGY6hRANCAASudYUbUcwpxoCjmT5oh1b4omdgENwE
tUtlhw9qkqvdxUPT1wKfELgXM3Yin+BjF5O+tvIpqsaCNdDu374dDhNY
-----END PRIVATE KEY-----
";

    #[test]
    fn a_pkcs8_pem_signs_a_jwt_that_verifies() {
        let key = SigningKey::from_pem(NODE_P256, "ES256").unwrap();
        let jwt = client_assertion(&key, "me", "https://as.example").unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "me");
        assert_eq!(claims["sub"], "me");
        assert_eq!(claims["aud"], "https://as.example");
        assert!(claims["exp"].as_u64() > claims["iat"].as_u64());
        let jwk = key.public_jwk().unwrap();
        let mut point = vec![4u8];
        point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let public = signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point);
        let signed = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .unwrap();
    }

    #[test]
    fn bad_keys_say_what_was_expected() {
        let e =
            SigningKey::from_pem("-----BEGIN EC PRIVATE KEY-----\nAA==\n", "ES256").unwrap_err();
        assert!(e.is_auth() && e.to_string().contains("PKCS#8"), "{e}");
        let e = SigningKey::from_pem(NODE_P256, "HS256").unwrap_err();
        assert!(e.to_string().contains("expected one of ES256"), "{e}");
        let e = SigningKey::from_pem(NODE_P256, "RS256").unwrap_err();
        assert!(e.to_string().contains("RSA"), "{e}");
    }

    #[test]
    fn thumbprint_matches_rfc7638_example_shape() {
        // RFC 7638 §3.1 uses an RSA key; an EC key's canonical form is crv, kty, x, y.
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "use": "sig"});
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(
            br#"{"crv":"P-256","kty":"EC","x":"a","y":"b"}"#,
        ));
        assert_eq!(thumbprint(&jwk), expected);
    }
}

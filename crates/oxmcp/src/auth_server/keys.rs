//! Signing keys, the JWKS document, JWT signing and the verification of client assertions.

use std::fmt;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// A JWS signing algorithm the authorization server signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (the default).
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
}

impl Algorithm {
    /// The JWS name (`"ES256"`, `"RS256"`).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::ES256 => "ES256",
            Algorithm::RS256 => "RS256",
        }
    }
}

/// Why a key could not be generated or loaded.
#[derive(Debug)]
pub struct KeyError(String);

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

enum Pair {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private key the authorization server signs access tokens with, and its public JWK.
///
/// The key id (`kid`) is the RFC 7638 thumbprint of the public key.
pub struct SigningKey {
    pair: Pair,
    kid: String,
    jwk: Value,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

impl SigningKey {
    /// A new random ES256 (P-256) key.
    pub fn generate_es256() -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError("cannot generate a P-256 key".into()))?;
        Self::from_pkcs8_der(pkcs8.as_ref())
    }

    /// Loads a private key from PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`, a P-256 key
    /// for ES256 or an RSA key of 2048 bits or more for RS256) or PKCS#1
    /// (`-----BEGIN RSA PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<SigningKey, KeyError> {
        let (label, der) = pem_decode(pem)?;
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der)
                .map_err(|e| KeyError(format!("not a usable PKCS#1 RSA key: {e}")))
                .and_then(Self::from_rsa),
            "EC PRIVATE KEY" => Err(KeyError(
                "SEC1 EC keys are not supported: convert to PKCS#8 (`openssl pkcs8 -topk8 -nocrypt`)"
                    .into(),
            )),
            other => Err(KeyError(format!(
                "expected a PEM `PRIVATE KEY` or `RSA PRIVATE KEY`, found `{other}`"
            ))),
        }
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        let rng = SystemRandom::new();
        if let Ok(pair) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
        {
            let point = pair.public_key().as_ref();
            let jwk = json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64(&point[1..33]),
                "y": b64(&point[33..65]),
            });
            return Ok(Self::finish(Pair::Ec(pair), jwk));
        }
        match RsaKeyPair::from_pkcs8(der) {
            Ok(pair) => Self::from_rsa(pair),
            Err(e) => Err(KeyError(format!(
                "the PKCS#8 key is neither a P-256 key nor a usable RSA key ({e})"
            ))),
        }
    }

    fn from_rsa(pair: RsaKeyPair) -> Result<SigningKey, KeyError> {
        if pair.public().modulus_len() < 256 {
            return Err(KeyError("RSA keys must have at least 2048 bits".into()));
        }
        let parts: signature::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
        let jwk = json!({
            "kty": "RSA",
            "n": b64(strip_zeros(&parts.n)),
            "e": b64(strip_zeros(&parts.e)),
        });
        Ok(Self::finish(Pair::Rsa(pair), jwk))
    }

    fn finish(pair: Pair, mut jwk: Value) -> SigningKey {
        let kid = thumbprint(&jwk);
        let alg = match pair {
            Pair::Ec(_) => Algorithm::ES256,
            Pair::Rsa(_) => Algorithm::RS256,
        };
        let object = jwk.as_object_mut().expect("an object");
        object.insert("kid".into(), Value::String(kid.clone()));
        object.insert("alg".into(), Value::String(alg.name().into()));
        object.insert("use".into(), Value::String("sig".into()));
        SigningKey { pair, kid, jwk }
    }

    /// The key id, the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        match self.pair {
            Pair::Ec(_) => Algorithm::ES256,
            Pair::Rsa(_) => Algorithm::RS256,
        }
    }

    /// The public key as a JWK (with `kid`, `alg` and `use`).
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// Signs `claims` as a compact JWS with the header `typ`, `alg` and `kid`.
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> String {
        let header = json!({"alg": self.algorithm().name(), "typ": typ, "kid": self.kid});
        let input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let rng = SystemRandom::new();
        let signature = match &self.pair {
            Pair::Ec(pair) => pair
                .sign(&rng, input.as_bytes())
                .expect("ECDSA signing does not fail")
                .as_ref()
                .to_vec(),
            Pair::Rsa(pair) => {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut out,
                )
                .expect("RSA signing does not fail");
                out
            }
        };
        format!("{input}.{}", b64(signature))
    }
}

/// The RFC 7638 thumbprint of a public JWK (EC or RSA).
fn thumbprint(jwk: &Value) -> String {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
    let canonical = match field("kty") {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            field("crv"),
            field("x"),
            field("y")
        ),
        _ => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            field("e"),
            field("n")
        ),
    };
    b64(Sha256::digest(canonical.as_bytes()))
}

fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), KeyError> {
    let begin = pem
        .find("-----BEGIN ")
        .ok_or_else(|| KeyError("expected a PEM block (`-----BEGIN ...-----`)".into()))?;
    let rest = &pem[begin + 11..];
    let label_end = rest
        .find("-----")
        .ok_or_else(|| KeyError("a PEM header without its closing dashes".into()))?;
    let label = rest[..label_end].to_owned();
    let body = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body
        .find(&end_marker)
        .ok_or_else(|| KeyError(format!("the PEM block has no `{end_marker}` line")))?;
    let text: String = body[..end].split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| KeyError(format!("the PEM body is not base64: {e}")))?;
    Ok((label, der))
}

/// The signing key and the keys retired by rotation, published until their overlap ends.
pub(crate) struct KeyRing {
    inner: RwLock<Ring>,
}

struct Ring {
    current: std::sync::Arc<SigningKey>,
    retired: Vec<(std::sync::Arc<SigningKey>, SystemTime)>,
}

impl KeyRing {
    pub(crate) fn new(key: SigningKey) -> KeyRing {
        KeyRing {
            inner: RwLock::new(Ring {
                current: std::sync::Arc::new(key),
                retired: Vec::new(),
            }),
        }
    }

    pub(crate) fn current(&self) -> std::sync::Arc<SigningKey> {
        self.inner.read().expect("not poisoned").current.clone()
    }

    /// Signs with `key` from now on; the previous key stays in the JWKS for `overlap`.
    pub(crate) fn rotate(&self, key: SigningKey, overlap: Duration) {
        let mut ring = self.inner.write().expect("not poisoned");
        let now = SystemTime::now();
        ring.retired.retain(|(_, until)| *until > now);
        let old = std::mem::replace(&mut ring.current, std::sync::Arc::new(key));
        ring.retired.push((old, now + overlap));
    }

    /// The JWKS document: the current key and the retired keys still in their overlap.
    pub(crate) fn jwks(&self) -> Value {
        let ring = self.inner.read().expect("not poisoned");
        let now = SystemTime::now();
        let mut keys = vec![ring.current.public_jwk().clone()];
        keys.extend(
            ring.retired
                .iter()
                .filter(|(_, until)| *until > now)
                .map(|(key, _)| key.public_jwk().clone()),
        );
        json!({ "keys": keys })
    }
}

// ---------------------------------------------------------------------------------------
// Verifying client assertions (private_key_jwt)

/// A decoded, signature-checked JWT's claims.
pub(crate) type Claims = Map<String, Value>;

/// Verifies a compact JWS against the keys of a JWKS document (ES256 and RS256 only;
/// the key's `kty` must match the `alg`, so no algorithm confusion). Returns the claims.
pub(crate) fn verify_jws(token: &str, jwks: &Value) -> Result<Claims, String> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("expected a compact JWS (three dot-separated parts)".into());
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| format!("the {what} is not base64url"))
    };
    let header: Value = serde_json::from_slice(&decode(header, "header")?)
        .map_err(|_| "the header is not JSON".to_owned())?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let (kty, algorithm): (&str, &'static dyn signature::VerificationAlgorithm) = match alg {
        "ES256" => ("EC", &signature::ECDSA_P256_SHA256_FIXED),
        "RS256" => ("RSA", &signature::RSA_PKCS1_2048_8192_SHA256),
        other => {
            return Err(format!(
                "unsupported alg `{other}` (expected ES256 or RS256)"
            ))
        }
    };
    let kid = header.get("kid").and_then(Value::as_str);
    let signature = decode(sig, "signature")?;
    let input = &token[..token.len() - sig.len() - 1];
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let candidates = keys.iter().filter(|k| {
        k.get("kty").and_then(Value::as_str) == Some(kty)
            && kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid))
            && k.get("alg")
                .and_then(Value::as_str)
                .is_none_or(|a| a == alg)
    });
    for key in candidates {
        let field = |name: &str| {
            key.get(name)
                .and_then(Value::as_str)
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        };
        let ok = match kty {
            "EC" => match (field("x"), field("y")) {
                (Some(x), Some(y))
                    if x.len() == 32
                        && y.len() == 32
                        && key.get("crv").and_then(Value::as_str) == Some("P-256") =>
                {
                    let mut point = vec![4u8];
                    point.extend(x);
                    point.extend(y);
                    signature::UnparsedPublicKey::new(algorithm, point)
                        .verify(input.as_bytes(), &signature)
                        .is_ok()
                }
                _ => false,
            },
            _ => match (field("n"), field("e")) {
                (Some(n), Some(e)) => signature::RsaPublicKeyComponents { n, e }
                    .verify(
                        &signature::RSA_PKCS1_2048_8192_SHA256,
                        input.as_bytes(),
                        &signature,
                    )
                    .is_ok(),
                _ => false,
            },
        };
        if ok {
            let claims: Value = serde_json::from_slice(&decode(payload, "payload")?)
                .map_err(|_| "the payload is not JSON".to_owned())?;
            return match claims {
                Value::Object(claims) => Ok(claims),
                _ => Err("the payload is not a JSON object".into()),
            };
        }
    }
    Err("the signature does not verify with any of the client's keys".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es256_tokens_verify_against_the_jwks() {
        let key = SigningKey::generate_es256().unwrap();
        let ring = KeyRing::new(key);
        let token = ring.current().sign_jwt("at+jwt", &json!({"sub": "alice"}));
        let claims = verify_jws(&token, &ring.jwks()).unwrap();
        assert_eq!(claims["sub"], "alice");
        // A tampered payload fails.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = b64(r#"{"sub":"mallory"}"#);
        parts[1] = &forged;
        assert!(verify_jws(&parts.join("."), &ring.jwks()).is_err());
    }

    #[test]
    fn rotation_keeps_the_old_key_for_the_overlap() {
        let ring = KeyRing::new(SigningKey::generate_es256().unwrap());
        let old = ring.current();
        let old_token = old.sign_jwt("at+jwt", &json!({}));
        ring.rotate(
            SigningKey::generate_es256().unwrap(),
            Duration::from_secs(60),
        );
        assert_ne!(ring.current().kid(), old.kid());
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
        assert!(verify_jws(&old_token, &ring.jwks()).is_ok());
        ring.rotate(SigningKey::generate_es256().unwrap(), Duration::ZERO);
        // The first key's overlap was 60 s and still runs; the second's ended at once.
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn pem_errors_say_what_was_expected() {
        let err = SigningKey::from_pem("hello").unwrap_err().to_string();
        assert!(err.contains("PEM"), "{err}");
        let err =
            SigningKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
                .unwrap_err()
                .to_string();
        assert!(err.contains("PRIVATE KEY"), "{err}");
    }
}

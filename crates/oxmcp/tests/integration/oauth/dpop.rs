//! A DPoP proof checker written from RFC 9449 §4.3, independent of the client's code.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// What a valid proof says.
#[derive(Default, Debug)]
pub(super) struct Checked {
    /// The JWK SHA-256 thumbprint of the proof's key (RFC 7638).
    pub(super) jkt: String,
    pub(super) jti: String,
    pub(super) nonce: Option<String>,
}

fn b64(part: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| format!("a part is not base64url: {e}"))
}

fn s256(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(s.as_bytes()))
}

/// Checks `proof` for a `method` request to `url`, presenting `access_token` if any.
pub(super) fn check(
    proof: &str,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> Result<Checked, String> {
    // 1-2: one well-formed JWT.
    let parts: Vec<&str> = proof.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err(format!("not a compact JWS: {} parts", parts.len()));
    };
    let h: Value = serde_json::from_slice(&b64(header)?).map_err(|e| e.to_string())?;
    let c: Value = serde_json::from_slice(&b64(claims)?).map_err(|e| e.to_string())?;
    // 4: typ.
    if h["typ"] != "dpop+jwt" {
        return Err(format!("typ is {}, expected dpop+jwt", h["typ"]));
    }
    // 5: an asymmetric algorithm (the client uses ES256).
    if h["alg"] != "ES256" {
        return Err(format!("alg is {}, expected ES256", h["alg"]));
    }
    // 7: a public key, no private part.
    let jwk = &h["jwk"];
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" || !jwk["d"].is_null() {
        return Err(format!("jwk is not a public P-256 key: {jwk}"));
    }
    // 6: the signature verifies with that key.
    let mut point = vec![4u8];
    point.extend(b64(jwk["x"].as_str().unwrap_or_default())?);
    point.extend(b64(jwk["y"].as_str().unwrap_or_default())?);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(format!("{header}.{claims}").as_bytes(), &b64(signature)?)
        .map_err(|_| "the signature does not verify with the jwk".to_owned())?;
    // 3: the required claims; 8: htm; 9: htu without query and fragment; 11: iat.
    let jti = c["jti"].as_str().unwrap_or_default();
    if jti.len() < 12 {
        return Err(format!("jti {jti:?} is missing or too short to be unique"));
    }
    if c["htm"] != method {
        return Err(format!("htm is {}, expected {method}", c["htm"]));
    }
    let htu = c["htu"].as_str().unwrap_or_default();
    let expected = url.split(['?', '#']).next().unwrap_or_default();
    if htu.contains(['?', '#']) || htu != expected {
        return Err(format!("htu is {htu:?}, expected {expected:?}"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let iat = c["iat"].as_i64().ok_or("iat is not a number")?;
    if (now - iat).abs() > 60 {
        return Err(format!("iat {iat} is not within a minute of now ({now})"));
    }
    // 12: ath, the hash of the token presented with it.
    match access_token {
        Some(token) if c["ath"] != s256(token) => {
            return Err(format!("ath is {}, expected the token's hash", c["ath"]))
        }
        None if !c["ath"].is_null() => return Err("ath on a request without a token".into()),
        _ => {}
    }
    let canonical = json!({"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]});
    Ok(Checked {
        jkt: s256(&canonical.to_string()),
        jti: jti.to_owned(),
        nonce: c["nonce"].as_str().map(str::to_owned),
    })
}

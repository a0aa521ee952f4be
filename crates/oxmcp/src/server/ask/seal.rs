//! Sealed `requestState`: what a modern request carries between its rounds, signed so a
//! client can neither forge nor alter it, nor replay it elsewhere.
//!
//! # Format
//!
//! ```text
//! v1.<key id>.<payload>.<mac>
//! ```
//!
//! - `payload` is base64url (no padding) of a JSON object:
//!   `{"aud": audience, "exp": expiry (Unix seconds), "m": method, "r": request digest,
//!   "s": state}`, where the request digest is base64url of SHA-256 over the canonical JSON
//!   of the request's salient params (`tools/call`: name and arguments) and `s` is what the
//!   question engine keeps (answers so far, questions pending).
//! - `mac` is base64url of HMAC-SHA256, keyed with the secret of `key id`, over
//!   `oxmcp.requestState.v1.<key id>.<payload>`.
//!
//! The state is signed, not encrypted: the client can read it (it holds only the client's
//! own answers and digests of the questions), but any change breaks the signature.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use oxmcp_protocol::error::echo;
use oxmcp_protocol::ErrorObject;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The format tag, first in every sealed state.
const VERSION_TAG: &str = "v1";
/// Domain separation of the MAC input.
const MAC_CONTEXT: &str = "oxmcp.requestState.v1.";
/// The shortest secret a key may have, in bytes.
const MIN_SECRET_LEN: usize = 32;
/// How long a sealed state stays valid unless configured otherwise.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

/// The keys that sign the `requestState` of multi round-trip requests (2026-07-28).
///
/// The current key signs; it and every older key still in the ring verify. To rotate
/// without breaking requests in progress, make the new key current and keep the old one
/// until the state it signed has expired (five minutes by default):
///
/// ```
/// use oxmcp::server::ask::KeyRing;
///
/// let ring = KeyRing::new("2024-06", [7u8; 32]);
/// // Later: "2024-07" signs from now on; state signed with "2024-06" is still accepted.
/// let ring = ring.rotate("2024-07", [9u8; 32]);
/// assert_eq!(ring.current_id(), "2024-07");
/// assert_eq!(ring.ids().collect::<Vec<_>>(), ["2024-07", "2024-06"]);
/// ```
///
/// Without a configured ring, a server uses [`KeyRing::generate`]'s random key, one per
/// process: state then survives neither a restart nor a hop to another server process.
/// Servers behind a load balancer share one ring.
#[derive(Clone)]
pub struct KeyRing {
    /// The signing key first, then older keys, newest first.
    keys: Arc<Vec<Key>>,
}

struct Key {
    id: String,
    secret: Vec<u8>,
}

impl KeyRing {
    /// A ring of one random key (32 bytes from the operating system's generator).
    ///
    /// # Panics
    /// If the operating system has no random numbers to give.
    #[must_use]
    pub fn generate() -> Self {
        let mut secret = [0u8; 32];
        let mut id = [0u8; 6];
        getrandom::fill(&mut secret)
            .and_then(|()| getrandom::fill(&mut id))
            .expect("the operating system's random number generator failed");
        let id = format!("r{}", URL_SAFE_NO_PAD.encode(id));
        KeyRing::new(id, secret)
    }

    /// A ring whose signing key is `secret`, known as `id`.
    ///
    /// The id travels in every state (it picks the key that verifies it); it is not secret.
    ///
    /// # Panics
    /// If `id` is empty, longer than 64 characters or has characters other than ASCII
    /// letters, digits, `-` and `_`, or if `secret` is shorter than 32 bytes.
    #[must_use]
    pub fn new(id: impl Into<String>, secret: impl AsRef<[u8]>) -> Self {
        KeyRing {
            keys: Arc::new(vec![Key::new(id.into(), secret.as_ref())]),
        }
    }

    /// Adds an older key that still verifies, but no longer signs.
    ///
    /// # Panics
    /// As [`KeyRing::new`], and if a key of this id is in the ring already.
    #[must_use]
    pub fn with_previous(self, id: impl Into<String>, secret: impl AsRef<[u8]>) -> Self {
        let key = Key::new(id.into(), secret.as_ref());
        let mut keys = self.into_keys();
        assert!(
            keys.iter().all(|k| k.id != key.id),
            "the key ring holds a key {:?} already",
            key.id
        );
        keys.push(key);
        KeyRing {
            keys: Arc::new(keys),
        }
    }

    /// Makes a new key the signing key; the current one keeps verifying.
    ///
    /// # Panics
    /// As [`KeyRing::with_previous`].
    #[must_use]
    pub fn rotate(self, id: impl Into<String>, secret: impl AsRef<[u8]>) -> Self {
        let key = Key::new(id.into(), secret.as_ref());
        let mut keys = self.into_keys();
        assert!(
            keys.iter().all(|k| k.id != key.id),
            "the key ring holds a key {:?} already",
            key.id
        );
        keys.insert(0, key);
        KeyRing {
            keys: Arc::new(keys),
        }
    }

    /// The id of the signing key.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// The ids of all keys, the signing key first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// The process-wide ring used when a server configures none.
    pub(crate) fn process_default() -> KeyRing {
        static DEFAULT: OnceLock<KeyRing> = OnceLock::new();
        DEFAULT.get_or_init(KeyRing::generate).clone()
    }

    fn into_keys(self) -> Vec<Key> {
        Arc::try_unwrap(self.keys).unwrap_or_else(|shared| {
            shared
                .iter()
                .map(|k| Key {
                    id: k.id.clone(),
                    secret: k.secret.clone(),
                })
                .collect()
        })
    }

    fn signing(&self) -> &Key {
        &self.keys[0]
    }

    fn find(&self, id: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }
}

impl Key {
    fn new(id: String, secret: &[u8]) -> Self {
        assert!(
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "invalid key id {id:?}: use 1 to 64 characters of A-Z a-z 0-9 - _"
        );
        assert!(
            secret.len() >= MIN_SECRET_LEN,
            "the secret of key {id:?} is {} bytes long; use at least {MIN_SECRET_LEN} random bytes",
            secret.len()
        );
        Key {
            id,
            secret: secret.to_vec(),
        }
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(MAC_CONTEXT.as_bytes());
        mac.update(self.id.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac
    }
}

impl fmt::Debug for KeyRing {
    /// Shows the key ids, never the secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current_id())
            .field("previous", &self.ids().skip(1).collect::<Vec<_>>())
            .finish()
    }
}

/// What a sealed state is bound to: the request's method and a digest of its salient
/// params. State presented on another request does not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    method: String,
    digest: String,
}

impl Binding {
    /// Binds to `method` with these salient params (for `tools/call`:
    /// `{"name": ..., "arguments": ...}`). Key order and whitespace do not matter.
    pub(crate) fn new(method: &str, salient: &Value) -> Self {
        Binding {
            method: method.to_owned(),
            digest: URL_SAFE_NO_PAD.encode(Sha256::digest(canonical_json(salient).as_bytes())),
        }
    }
}

/// Seals and opens states for one server: its keys, audience and time to live.
#[derive(Debug, Clone)]
pub(crate) struct Sealer {
    keys: KeyRing,
    audience: String,
    ttl: Duration,
}

/// The signed payload, as written.
#[derive(Serialize)]
struct SealPayload<'a, S> {
    aud: &'a str,
    exp: u64,
    m: &'a str,
    r: &'a str,
    s: &'a S,
}

/// The signed payload, as read.
#[derive(Deserialize)]
struct OpenPayload<S> {
    aud: String,
    exp: u64,
    m: String,
    r: String,
    s: S,
}

/// Why a presented `requestState` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StateError {
    /// Not a state this SDK made.
    Malformed(&'static str),
    /// Sealed with a key this server does not hold.
    UnknownKey(String),
    /// The signature does not verify.
    Tampered,
    /// Sealed for another server.
    WrongAudience(String),
    /// Expired this many seconds ago.
    Expired(u64),
    /// Sealed for another request.
    Mismatch(&'static str),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid requestState: ")?;
        match self {
            StateError::Malformed(what) => {
                write!(f, "malformed ({what}); echo the requestState exactly as the server sent it")
            }
            StateError::UnknownKey(id) => write!(
                f,
                "sealed with key {id:?}, which this server does not hold (state from another server, or a retired key)"
            ),
            StateError::Tampered => f.write_str(
                "its signature does not verify: it was modified, or sealed by another server",
            ),
            StateError::WrongAudience(aud) => {
                write!(f, "issued by another server (audience {aud:?})")
            }
            StateError::Expired(ago) => write!(
                f,
                "expired {ago} s ago; send the request again without requestState and inputResponses"
            ),
            StateError::Mismatch(what) => write!(
                f,
                "issued for a different request ({what} differs); it only works on a retry of the request it was issued for"
            ),
        }
    }
}

impl StateError {
    /// The `-32602` error sent to the client.
    pub(crate) fn to_error_object(&self) -> ErrorObject {
        ErrorObject::invalid_params(self.to_string())
    }
}

impl Sealer {
    pub(crate) fn new(keys: KeyRing, audience: impl Into<String>, ttl: Duration) -> Self {
        Sealer {
            keys,
            audience: audience.into(),
            ttl,
        }
    }

    /// Seals `state` for the request `binding` describes, valid for the time to live.
    pub(crate) fn seal<S: Serialize>(&self, binding: &Binding, state: &S) -> String {
        self.seal_at(binding, state, SystemTime::now())
    }

    pub(crate) fn seal_at<S: Serialize>(
        &self,
        binding: &Binding,
        state: &S,
        now: SystemTime,
    ) -> String {
        let payload = SealPayload {
            aud: self.audience.as_str(),
            exp: unix_secs(now).saturating_add(self.ttl.as_secs()),
            m: binding.method.as_str(),
            r: binding.digest.as_str(),
            s: state,
        };
        let json = serde_json::to_vec(&payload).expect("request state serializes");
        let payload = URL_SAFE_NO_PAD.encode(json);
        let key = self.keys.signing();
        let mac = URL_SAFE_NO_PAD.encode(key.mac(&payload).finalize().into_bytes());
        format!("{VERSION_TAG}.{}.{payload}.{mac}", key.id)
    }

    /// Opens a state presented with the request `binding` describes.
    pub(crate) fn open<S: serde::de::DeserializeOwned>(
        &self,
        sealed: &str,
        binding: &Binding,
    ) -> Result<S, StateError> {
        self.open_at(sealed, binding, SystemTime::now())
    }

    pub(crate) fn open_at<S: serde::de::DeserializeOwned>(
        &self,
        sealed: &str,
        binding: &Binding,
        now: SystemTime,
    ) -> Result<S, StateError> {
        let mut parts = sealed.split('.');
        let (Some(tag), Some(id), Some(payload), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(StateError::Malformed("not four dot-separated parts"));
        };
        if tag != VERSION_TAG {
            return Err(StateError::Malformed("unknown format version"));
        }
        let Some(key) = self.keys.find(id) else {
            return Err(StateError::UnknownKey(echo(id).to_string()));
        };
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| StateError::Malformed("the signature is not base64url"))?;
        key.mac(payload)
            .verify_slice(&mac)
            .map_err(|_| StateError::Tampered)?;
        // Signed by us from here on: decoding failures mean a format change, not an attack.
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| StateError::Malformed("the payload is not base64url"))?;
        let payload: OpenPayload<S> = serde_json::from_slice(&json)
            .map_err(|_| StateError::Malformed("the payload does not decode"))?;
        if payload.aud != self.audience {
            return Err(StateError::WrongAudience(echo(&payload.aud).to_string()));
        }
        let now = unix_secs(now);
        if now > payload.exp {
            return Err(StateError::Expired(now - payload.exp));
        }
        if payload.m != binding.method {
            return Err(StateError::Mismatch("the method"));
        }
        if payload.r != binding.digest {
            return Err(StateError::Mismatch("the name or arguments"));
        }
        Ok(payload.s)
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// JSON with object keys sorted, no whitespace: the same text for equal values however
/// they were written.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A short digest of a JSON value (16 bytes of SHA-256, base64url).
pub(crate) fn short_digest(value: &Value) -> String {
    let full = Sha256::digest(canonical_json(value).as_bytes());
    URL_SAFE_NO_PAD.encode(&full[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sealer(keys: KeyRing) -> Sealer {
        Sealer::new(keys, "server-a", DEFAULT_TTL)
    }

    fn call(args: Value) -> Binding {
        Binding::new("tools/call", &json!({"name": "book", "arguments": args}))
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    const T0: u64 = 1_800_000_000;

    #[test]
    fn seals_and_opens() {
        let s = sealer(KeyRing::new("k1", [1u8; 32]));
        let b = call(json!({"city": "Paris", "n": 2}));
        let token = s.seal_at(&b, &json!({"answers": [1, 2]}), at(T0));
        assert!(token.starts_with("v1.k1."), "{token}");
        let state: Value = s.open_at(&token, &b, at(T0 + 10)).unwrap();
        assert_eq!(state, json!({"answers": [1, 2]}));
        // The same arguments written differently bind the same.
        let reordered = Binding::new(
            "tools/call",
            &serde_json::from_str(r#"{ "arguments": {"n": 2, "city": "Paris"}, "name": "book" }"#)
                .unwrap(),
        );
        assert_eq!(
            s.open_at::<Value>(&token, &reordered, at(T0 + 10)).unwrap(),
            json!({"answers": [1, 2]})
        );
    }

    #[test]
    fn tampered_state_is_refused() {
        let s = sealer(KeyRing::new("k1", [1u8; 32]));
        let b = call(json!({}));
        let token = s.seal_at(&b, &json!({"answers": ["yes"]}), at(T0));
        let parts: Vec<&str> = token.split('.').collect();
        // Swap in another payload, keeping the signature.
        let forged_payload = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(
                &json!({"aud": "server-a", "exp": T0 + 300, "m": "tools/call",
                "r": b.digest, "s": {"answers": ["no"]}}),
            )
            .unwrap(),
        );
        let forged = format!("v1.k1.{forged_payload}.{}", parts[3]);
        assert_eq!(
            s.open_at::<Value>(&forged, &b, at(T0)),
            Err(StateError::Tampered)
        );
        // Flip one character of the signature.
        let mut mac: Vec<char> = parts[3].chars().collect();
        mac[0] = if mac[0] == 'A' { 'B' } else { 'A' };
        let flipped = format!("v1.k1.{}.{}", parts[2], mac.into_iter().collect::<String>());
        assert_eq!(
            s.open_at::<Value>(&flipped, &b, at(T0)),
            Err(StateError::Tampered)
        );
        let e = StateError::Tampered.to_error_object();
        assert_eq!(e.code, -32602);
        assert!(
            e.message.contains("signature does not verify"),
            "{}",
            e.message
        );
    }

    #[test]
    fn malformed_state_is_refused() {
        let s = sealer(KeyRing::new("k1", [1u8; 32]));
        let b = call(json!({}));
        for bad in [
            "",
            "garbage",
            "v1.k1.x",
            "v2.k1.a.b",
            "v1.k1.a.b.c",
            "v1.k1.a.!!",
        ] {
            match s.open_at::<Value>(bad, &b, at(T0)) {
                Err(StateError::Malformed(_)) => {}
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn expired_state_is_refused() {
        let s = sealer(KeyRing::new("k1", [1u8; 32]));
        let b = call(json!({}));
        let token = s.seal_at(&b, &json!(null), at(T0));
        assert!(s.open_at::<Value>(&token, &b, at(T0 + 300)).is_ok());
        assert_eq!(
            s.open_at::<Value>(&token, &b, at(T0 + 301)),
            Err(StateError::Expired(1))
        );
        let short = Sealer::new(
            KeyRing::new("k1", [1u8; 32]),
            "server-a",
            Duration::from_secs(5),
        );
        let token = short.seal_at(&b, &json!(null), at(T0));
        let err = short.open_at::<Value>(&token, &b, at(T0 + 65)).unwrap_err();
        assert_eq!(err, StateError::Expired(60));
        assert!(err.to_string().contains("expired 60 s ago"), "{err}");
    }

    #[test]
    fn foreign_state_is_refused() {
        let b = call(json!({}));
        let ours = sealer(KeyRing::new("k1", [1u8; 32]));
        // Another server with its own key.
        let theirs = sealer(KeyRing::new("k9", [9u8; 32]));
        let token = theirs.seal_at(&b, &json!(null), at(T0));
        assert_eq!(
            ours.open_at::<Value>(&token, &b, at(T0)),
            Err(StateError::UnknownKey("k9".into()))
        );
        // Another server that happens to use the same key id.
        let same_id = sealer(KeyRing::new("k1", [2u8; 32]));
        let token = same_id.seal_at(&b, &json!(null), at(T0));
        assert_eq!(
            ours.open_at::<Value>(&token, &b, at(T0)),
            Err(StateError::Tampered)
        );
        // Another server sharing the key but not the audience.
        let other_audience = Sealer::new(KeyRing::new("k1", [1u8; 32]), "server-b", DEFAULT_TTL);
        let token = other_audience.seal_at(&b, &json!(null), at(T0));
        let err = ours.open_at::<Value>(&token, &b, at(T0)).unwrap_err();
        assert_eq!(err, StateError::WrongAudience("server-b".into()));
        assert!(err.to_string().contains("another server"), "{err}");
    }

    #[test]
    fn state_for_another_request_is_refused() {
        let s = sealer(KeyRing::new("k1", [1u8; 32]));
        let token = s.seal_at(&call(json!({"n": 1})), &json!(null), at(T0));
        assert_eq!(
            s.open_at::<Value>(&token, &call(json!({"n": 2})), at(T0)),
            Err(StateError::Mismatch("the name or arguments"))
        );
        let other_tool = Binding::new(
            "tools/call",
            &json!({"name": "other", "arguments": {"n": 1}}),
        );
        assert_eq!(
            s.open_at::<Value>(&token, &other_tool, at(T0)),
            Err(StateError::Mismatch("the name or arguments"))
        );
        let prompt = Binding::new(
            "prompts/get",
            &json!({"name": "book", "arguments": {"n": 1}}),
        );
        assert_eq!(
            s.open_at::<Value>(&token, &prompt, at(T0)),
            Err(StateError::Mismatch("the method"))
        );
    }

    #[test]
    fn rotation_keeps_old_state_valid() {
        let b = call(json!({}));
        let before = sealer(KeyRing::new("old", [1u8; 32]));
        let old_token = before.seal_at(&b, &json!("old"), at(T0));

        let after = sealer(KeyRing::new("old", [1u8; 32]).rotate("new", [2u8; 32]));
        let new_token = after.seal_at(&b, &json!("new"), at(T0));
        assert!(new_token.starts_with("v1.new."), "the new key signs");
        assert_eq!(
            after.open_at::<Value>(&old_token, &b, at(T0)),
            Ok(json!("old"))
        );
        assert_eq!(
            after.open_at::<Value>(&new_token, &b, at(T0)),
            Ok(json!("new"))
        );

        // Once the old key is retired, its state is refused.
        let retired = sealer(KeyRing::new("new", [2u8; 32]));
        assert_eq!(
            retired.open_at::<Value>(&old_token, &b, at(T0)),
            Err(StateError::UnknownKey("old".into()))
        );
        // with_previous is the same ring, built in another order.
        let same = sealer(KeyRing::new("new", [2u8; 32]).with_previous("old", [1u8; 32]));
        assert_eq!(
            same.open_at::<Value>(&old_token, &b, at(T0)),
            Ok(json!("old"))
        );
    }

    #[test]
    fn generated_rings_differ_and_hide_their_secrets() {
        let a = KeyRing::generate();
        let b = KeyRing::generate();
        assert_ne!(a.current_id(), b.current_id());
        let token = sealer(a.clone()).seal(&call(json!({})), &json!(1));
        assert!(sealer(b).open::<Value>(&token, &call(json!({}))).is_err());
        assert!(sealer(a.clone())
            .open::<Value>(&token, &call(json!({})))
            .is_ok());
        let debug = format!("{a:?}");
        assert!(
            debug.contains(a.current_id()) && !debug.contains("secret"),
            "{debug}"
        );
        assert_eq!(
            KeyRing::process_default().current_id(),
            KeyRing::process_default().current_id()
        );
    }

    #[test]
    #[should_panic(expected = "at least 32 random bytes")]
    fn short_secrets_are_refused() {
        let _ = KeyRing::new("k", b"short");
    }

    #[test]
    #[should_panic(expected = "invalid key id")]
    fn key_ids_cannot_hold_dots() {
        let _ = KeyRing::new("a.b", [0u8; 32]);
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let a: Value =
            serde_json::from_str(r#"{"b": [1, {"y": 1, "x": "\u00e9"}], "a": null}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":null,"b":[1,{"x":"é","y":1}]}"#);
        assert_eq!(short_digest(&a).len(), 22);
    }
}

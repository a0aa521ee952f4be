//! OAuth clients: pre-registered, dynamically registered (RFC 7591) and Client ID Metadata
//! Documents (URL client ids), and the redirect URI rules.

use std::net::IpAddr;
use std::time::SystemTime;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

/// How a client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A public client: no authentication, PKCE only.
    None,
    /// A client secret in the `Authorization: Basic` header.
    ClientSecretBasic,
    /// A client secret in the request body.
    ClientSecretPost,
    /// A JWT signed with one of the client's keys (RFC 7523).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The registered name (`"none"`, `"client_secret_basic"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    fn parse(name: &str) -> Option<AuthMethod> {
        [
            AuthMethod::None,
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
            AuthMethod::PrivateKeyJwt,
        ]
        .into_iter()
        .find(|m| m.as_str() == name)
    }
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// The client id (a URL for a Client ID Metadata Document).
    pub client_id: String,
    /// The redirect URIs, matched exactly (a loopback redirect URI's port may vary).
    pub redirect_uris: Vec<String>,
    /// The grant types the client may use.
    pub grant_types: Vec<String>,
    /// How the client authenticates at the token endpoint.
    pub auth_method: AuthMethod,
    /// The scopes the client may ask for; `None`: any the server supports.
    pub scopes: Option<Vec<String>>,
    /// The client's public keys (a JWKS), for `private_key_jwt`.
    pub jwks: Option<Value>,
    /// A name to show on the consent page.
    pub client_name: Option<String>,
    /// When a cached metadata document must be fetched again (`None`: never expires).
    pub expires_at: Option<SystemTime>,
    secret_hash: Option<[u8; 32]>,
}

const CODE_GRANTS: [&str; 2] = ["authorization_code", "refresh_token"];

impl Client {
    /// A public client (no secret; authorization code with PKCE, refresh tokens).
    pub fn public(
        client_id: impl Into<String>,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> Client {
        Client {
            client_id: client_id.into(),
            redirect_uris: redirect_uris.into_iter().map(Into::into).collect(),
            grant_types: CODE_GRANTS.iter().map(|g| (*g).to_owned()).collect(),
            auth_method: AuthMethod::None,
            scopes: None,
            jwks: None,
            client_name: None,
            expires_at: None,
            secret_hash: None,
        }
    }

    /// A confidential client with a secret (accepted by `client_secret_basic` and
    /// `client_secret_post`); it may also use `client_credentials`.
    pub fn confidential(
        client_id: impl Into<String>,
        secret: &str,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> Client {
        let mut client = Client::public(client_id, redirect_uris);
        client.auth_method = AuthMethod::ClientSecretBasic;
        client.secret_hash = Some(Sha256::digest(secret.as_bytes()).into());
        client.grant_types.push("client_credentials".into());
        client
    }

    /// A client that authenticates with JWTs signed by one of the keys in `jwks`
    /// (`private_key_jwt`); it may also use `client_credentials`.
    pub fn private_key_jwt(
        client_id: impl Into<String>,
        jwks: Value,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> Client {
        let mut client = Client::public(client_id, redirect_uris);
        client.auth_method = AuthMethod::PrivateKeyJwt;
        client.jwks = Some(jwks);
        client.grant_types.push("client_credentials".into());
        client
    }

    /// Limits the scopes the client may ask for.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Client {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the grant types the client may use.
    pub fn grant_types(mut self, grants: impl IntoIterator<Item = impl Into<String>>) -> Client {
        self.grant_types = grants.into_iter().map(Into::into).collect();
        self
    }

    /// Whether `secret` is this client's secret (compared in constant time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        let Some(expected) = &self.secret_hash else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Whether the client may use this grant type.
    pub fn may_use(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// The registered redirect URI that `given` matches: exactly, except that the port
    /// of an `http` loopback redirect URI may vary (RFC 8252 §7.3).
    pub fn redirect_uri_matches(&self, given: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| redirect_matches(r, given))
    }
}

/// Exact match, except the port of an http loopback IP literal (and `localhost`).
pub(crate) fn redirect_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    let (Ok(r), Ok(g)) = (Url::parse(registered), Url::parse(given)) else {
        return false;
    };
    let loopback = |u: &Url| u.scheme() == "http" && is_loopback_host(u);
    loopback(&r)
        && loopback(&g)
        && r.host_str() == g.host_str()
        && r.path() == g.path()
        && r.query() == g.query()
        && r.fragment().is_none()
        && g.fragment().is_none()
        && g.username().is_empty()
        && g.password().is_none()
        // The URL parser normalizes; the given string must be what it parsed to, so
        // `..` segments or odd encodings cannot sneak past.
        && (g.as_str() == given || g.as_str() == format!("{given}/"))
}

fn is_loopback_host(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local,
/// shared, multicast, documentation or unspecified).
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                || v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0])
        }
    }
}

/// Checks one redirect URI of a registration: absolute, no fragment; `https`, `http` on
/// a loopback host, or a private-use scheme with a dot (RFC 8252 §7.1).
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > 2048 {
        return Err("a redirect URI is longer than 2048 characters".into());
    }
    let url = Url::parse(uri).map_err(|e| format!("redirect URI `{uri}` is not a URL: {e}"))?;
    if url.fragment().is_some() {
        return Err(format!("redirect URI `{uri}` must not have a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => Err(format!(
            "redirect URI `{uri}`: http is only allowed on loopback hosts; use https"
        )),
        scheme if scheme.contains('.') => Ok(()),
        scheme => Err(format!(
            "redirect URI `{uri}`: scheme `{scheme}` is not allowed (expected https, http on \
             a loopback host, or a reverse-domain private-use scheme)"
        )),
    }
}

/// What the server allows in registrations.
pub(crate) struct Policy<'a> {
    pub(crate) supported_scopes: Option<&'a [String]>,
}

/// Builds a client from registration metadata (RFC 7591 §2), checking every field.
/// `default_method` applies when `token_endpoint_auth_method` is absent.
pub(crate) fn from_metadata(
    client_id: String,
    meta: &Map<String, Value>,
    default_method: AuthMethod,
    policy: &Policy<'_>,
) -> Result<Client, String> {
    let text = |name: &str| -> Result<Option<&str>, String> {
        match meta.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("`{name}` must be a string")),
        }
    };
    let list = |name: &str| -> Result<Option<Vec<String>>, String> {
        match meta.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) if items.len() <= 20 => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("`{name}` must be an array of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::Array(_)) => Err(format!("`{name}` has more than 20 entries")),
            Some(_) => Err(format!("`{name}` must be an array of strings")),
        }
    };
    let method = match text("token_endpoint_auth_method")? {
        None => default_method,
        Some(name) => AuthMethod::parse(name).ok_or_else(|| {
            format!(
                "token_endpoint_auth_method `{name}` is not supported (expected none, \
                 client_secret_basic, client_secret_post or private_key_jwt)"
            )
        })?,
    };
    let grant_types = list("grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]);
    for grant in &grant_types {
        match grant.as_str() {
            "authorization_code" | "refresh_token" => {}
            "client_credentials" if method != AuthMethod::None => {}
            "client_credentials" => {
                return Err("client_credentials needs an authenticated client, not `none`".into())
            }
            other => return Err(format!("grant type `{other}` is not supported")),
        }
    }
    if let Some(types) = list("response_types")? {
        if types.iter().any(|t| t != "code") {
            return Err("response_types: only `code` is supported".into());
        }
    }
    let redirect_uris = list("redirect_uris")?.unwrap_or_default();
    if grant_types.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        return Err("redirect_uris is required for the authorization_code grant".into());
    }
    for uri in &redirect_uris {
        check_redirect_uri(uri)?;
    }
    let scopes = match text("scope")? {
        None => None,
        Some(scope) => {
            let scopes: Vec<String> = scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(Into::into)
                .collect();
            if let Some(supported) = policy.supported_scopes {
                if let Some(unknown) = scopes.iter().find(|s| !supported.contains(s)) {
                    return Err(format!("scope `{unknown}` is not supported by this server"));
                }
            }
            Some(scopes)
        }
    };
    let jwks = match meta.get("jwks") {
        Some(Value::Object(o)) if o.get("keys").is_some_and(Value::is_array) => {
            Some(Value::Object(o.clone()))
        }
        Some(_) => return Err("`jwks` must be an object with a `keys` array".into()),
        None => None,
    };
    if meta.contains_key("jwks_uri") {
        return Err("`jwks_uri` is not supported; send the keys inline as `jwks`".into());
    }
    if method == AuthMethod::PrivateKeyJwt && jwks.is_none() {
        return Err("private_key_jwt needs the client's keys in `jwks`".into());
    }
    let client_name = text("client_name")?.map(|n| n.chars().take(200).collect());
    Ok(Client {
        client_id,
        redirect_uris,
        grant_types,
        auth_method: method,
        scopes,
        jwks,
        client_name,
        expires_at: None,
        secret_hash: None,
    })
}

/// Gives a dynamically registered confidential client its secret.
pub(crate) fn with_new_secret(mut client: Client, secret: &str) -> Client {
    client.secret_hash = Some(Sha256::digest(secret.as_bytes()).into());
    client
}

/// The registration response (RFC 7591 §3.2.1) of a client.
pub(crate) fn registration_response(
    client: &Client,
    secret: Option<&str>,
    issued_at: u64,
) -> Value {
    let mut out = json!({
        "client_id": client.client_id,
        "client_id_issued_at": issued_at,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": client.auth_method.as_str(),
    });
    let object = out.as_object_mut().expect("an object");
    if let Some(secret) = secret {
        object.insert("client_secret".into(), json!(secret));
        object.insert("client_secret_expires_at".into(), json!(0));
    }
    if let Some(scopes) = &client.scopes {
        object.insert("scope".into(), json!(scopes.join(" ")));
    }
    if let Some(name) = &client.client_name {
        object.insert("client_name".into(), json!(name));
    }
    if let Some(jwks) = &client.jwks {
        object.insert("jwks".into(), jwks.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ports_vary_everything_else_is_exact() {
        let r = "http://127.0.0.1/callback";
        assert!(redirect_matches(r, "http://127.0.0.1:53123/callback"));
        assert!(redirect_matches(
            "http://127.0.0.1:3000/callback",
            "http://127.0.0.1:4000/callback"
        ));
        assert!(!redirect_matches(r, "http://127.0.0.1:5/callback/../evil"));
        assert!(!redirect_matches(r, "http://127.0.0.1:5/callbackx"));
        assert!(!redirect_matches(r, "http://127.0.0.2:5/callback"));
        assert!(!redirect_matches(r, "http://user@127.0.0.1:5/callback"));
        let r = "https://app.example/cb";
        assert!(redirect_matches(r, r));
        assert!(!redirect_matches(r, "https://app.example:444/cb"));
        assert!(!redirect_matches(r, "https://app.example/cb?x=1"));
        assert!(!redirect_matches(r, "https://APP.example/cb"));
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}

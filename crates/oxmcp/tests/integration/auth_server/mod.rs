//! The built-in authorization server (`oxmcp::auth_server`): the flows, and every hostile
//! case on its side. Most tests drive the axum router in-process; the Client ID Metadata
//! Document tests serve documents on loopback.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use oxmcp::auth_server::{AuthorizationServer, AutoApprove, Client, LoginPage, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

mod hostile;

const ISSUER: &str = "http://as.test";
const RESOURCE: &str = "http://127.0.0.1:9/mcp";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-verifier";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The usual server: a public client `app` on a loopback redirect URI, a confidential
/// client `svc`, scopes `notes:read notes:write`, auto-approving `alice`.
fn server() -> AuthorizationServer {
    builder().build().unwrap()
}

fn builder() -> oxmcp::auth_server::Builder {
    AuthorizationServer::builder(ISSUER)
        .login(AutoApprove::new("alice"))
        .scopes(["notes:read", "notes:write"])
        .client(
            Client::public("app", ["http://127.0.0.1/callback"])
                .scopes(["notes:read", "notes:write"]),
        )
        .client(
            Client::confidential("svc", "s3cret", ["https://svc.example/cb"])
                .scopes(["notes:read"]),
        )
}

/// An answer: status, headers, body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn location(&self) -> url::Url {
        let location = self
            .headers
            .get(header::LOCATION)
            .unwrap_or_else(|| panic!("no Location; {} {}", self.status, self.body));
        url::Url::parse(location.to_str().unwrap()).unwrap()
    }

    fn query(&self, name: &str) -> Option<String> {
        self.location()
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// An OAuth error response: its status and `error`.
    fn error(&self) -> (StatusCode, String) {
        (
            self.status,
            self.json()["error"].as_str().unwrap_or("").to_owned(),
        )
    }
}

async fn send(server: &AuthorizationServer, request: Request<Body>) -> Answer {
    let response = server.router().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn get(server: &AuthorizationServer, uri: &str) -> Answer {
    send(server, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

async fn post(
    server: &AuthorizationServer,
    path: &str,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Answer {
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        request = request.header(
            header::AUTHORIZATION,
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
    }
    send(server, request.body(Body::from(form(pairs))).unwrap()).await
}

/// The authorization request of the public client `app`, with `extra` parameters
/// replacing or adding to the usual ones.
fn authorize_uri(extra: &[(&str, &str)]) -> String {
    let c = challenge(VERIFIER);
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", "app"),
        ("redirect_uri", "http://127.0.0.1:53682/callback"),
        ("code_challenge", &c),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
        ("scope", "notes:read"),
        ("resource", RESOURCE),
    ];
    for (k, v) in extra {
        pairs.retain(|(key, _)| key != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    format!("/authorize?{}", form(&pairs))
}

/// Runs the authorization request and returns the code.
async fn code(server: &AuthorizationServer, extra: &[(&str, &str)]) -> String {
    let answer = get(server, &authorize_uri(extra)).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    assert_eq!(answer.query("error"), None, "{}", answer.location());
    answer.query("code").expect("a code")
}

async fn exchange(server: &AuthorizationServer, code: &str) -> Answer {
    exchange_with(server, code, &[], None).await
}

/// The code exchange of the public client `app`, with `changes` replacing the usual
/// parameters (an empty value leaves one out), and Basic credentials if given.
async fn exchange_with(
    server: &AuthorizationServer,
    code: &str,
    changes: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Answer {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", "app"),
        ("redirect_uri", "http://127.0.0.1:53682/callback"),
        ("code_verifier", VERIFIER),
        ("resource", RESOURCE),
    ];
    for (k, v) in changes {
        pairs.retain(|(key, _)| key != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    post(server, "/token", &pairs, basic).await
}

async fn refresh(server: &AuthorizationServer, token: &str) -> Answer {
    post(
        server,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", "app"),
        ],
        None,
    )
    .await
}

/// A JWT's header and claims, after checking its signature against the server's JWKS.
fn verified(server: &AuthorizationServer, jwt: &str) -> (Value, Value) {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode =
        |p: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap() };
    let (header, claims) = (decode(parts[0]), decode(parts[1]));
    let jwks = server.jwks();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the kid is in the JWKS");
    let field = |name: &str| URL_SAFE_NO_PAD.decode(key[name].as_str().unwrap()).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    let ok = match header["alg"].as_str().unwrap() {
        "ES256" => {
            let mut point = vec![4u8];
            point.extend(field("x"));
            point.extend(field("y"));
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P256_SHA256_FIXED,
                point,
            )
            .verify(input.as_bytes(), &signature)
            .is_ok()
        }
        "RS256" => ring::signature::RsaPublicKeyComponents {
            n: field("n"),
            e: field("e"),
        }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            input.as_bytes(),
            &signature,
        )
        .is_ok(),
        other => panic!("unexpected alg {other}"),
    };
    assert!(ok, "the signature verifies");
    (header, claims)
}

#[tokio::test]
async fn metadata_discovery_and_jwks() {
    let server = server();
    let answer = get(&server, "/.well-known/oauth-authorization-server").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    let meta = answer.json();
    assert_eq!(meta["issuer"], ISSUER);
    assert_eq!(meta["authorization_endpoint"], "http://as.test/authorize");
    assert_eq!(meta["token_endpoint"], "http://as.test/token");
    assert_eq!(meta["registration_endpoint"], "http://as.test/register");
    assert_eq!(meta["revocation_endpoint"], "http://as.test/revoke");
    assert_eq!(meta["jwks_uri"], "http://as.test/jwks");
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    assert_eq!(
        meta["scopes_supported"],
        json!(["notes:read", "notes:write"])
    );
    assert_eq!(
        meta["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!([
            "none",
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    let oidc = get(&server, "/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(oidc["issuer"], ISSUER);
    assert_eq!(oidc["subject_types_supported"], json!(["public"]));
    // Browser-based clients may read the metadata and call the endpoints (CORS).
    assert_eq!(answer.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let preflight = send(
        &server,
        Request::options("/token")
            .header(header::ORIGIN, "https://inspector.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(preflight.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .contains("authorization"));
    let jwks = get(&server, "/jwks").await.json();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["alg"], "ES256");
    assert!(key.get("d").is_none(), "no private part");

    // An issuer with a path: RFC 8414 inserts the well-known segment before it.
    let tenant = AuthorizationServer::builder("http://as.test/tenant1/")
        .build()
        .unwrap();
    assert_eq!(tenant.issuer(), "http://as.test/tenant1");
    let meta = get(&tenant, "/.well-known/oauth-authorization-server/tenant1")
        .await
        .json();
    assert_eq!(meta["issuer"], "http://as.test/tenant1");
    assert_eq!(meta["token_endpoint"], "http://as.test/tenant1/token");
    let oidc = get(&tenant, "/tenant1/.well-known/openid-configuration").await;
    assert_eq!(oidc.status, StatusCode::OK);
    assert_eq!(get(&tenant, "/tenant1/jwks").await.status, StatusCode::OK);
}

#[tokio::test]
async fn code_flow_issues_an_rfc9068_token_for_the_resource() {
    let server = server();
    let answer = get(&server, &authorize_uri(&[])).await;
    assert_eq!(answer.status, StatusCode::FOUND);
    let location = answer.location();
    // The loopback port may differ from the registered URI's (RFC 8252).
    assert_eq!(
        location.as_str().split('?').next().unwrap(),
        "http://127.0.0.1:53682/callback"
    );
    assert_eq!(answer.query("state").as_deref(), Some("xyz"));
    assert_eq!(answer.query("iss").as_deref(), Some(ISSUER));
    let code = answer.query("code").unwrap();

    let answer = exchange(&server, &code).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(answer.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let body = answer.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "notes:read");
    assert!(body["refresh_token"].is_string());
    let (header, claims) = verified(&server, body["access_token"].as_str().unwrap());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], RESOURCE);
    assert_eq!(claims["client_id"], "app");
    assert_eq!(claims["scope"], "notes:read");
    assert!(claims["jti"].is_string());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let server = server();
    let code = code(&server, &[]).await;
    let first = exchange(&server, &code).await.json();
    let r1 = first["refresh_token"].as_str().unwrap();
    let second = refresh(&server, r1).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.headers[header::CACHE_CONTROL], "no-store");
    let second = second.json();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "rotated");
    let (_, claims) = verified(&server, second["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], RESOURCE, "the resource stays bound");
    // r1 again: a reuse. Refused, and r2 (same family) dies with it.
    assert_eq!(
        refresh(&server, r1).await.error(),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(
        refresh(&server, r2).await.error(),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    // A narrower scope is fine; a wider one is not.
    let code = self::code(&server, &[("scope", "notes:read notes:write")]).await;
    let r = exchange(&server, &code).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let narrowed = post(
        &server,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &r),
            ("client_id", "app"),
            ("scope", "notes:read"),
        ],
        None,
    )
    .await
    .json();
    assert_eq!(narrowed["scope"], "notes:read");
    let r = narrowed["refresh_token"].as_str().unwrap();
    let wider = post(
        &server,
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", r),
            ("client_id", "app"),
            ("scope", "notes:admin"),
        ],
        None,
    )
    .await;
    assert_eq!(wider.error().1, "invalid_scope");
}

#[tokio::test]
async fn client_credentials_with_basic_and_post() {
    let server = server();
    let basic = post(
        &server,
        "/token",
        &[("grant_type", "client_credentials"), ("resource", RESOURCE)],
        Some(("svc", "s3cret")),
    )
    .await;
    assert_eq!(basic.status, StatusCode::OK, "{}", basic.body);
    let body = basic.json();
    assert!(body.get("refresh_token").is_none());
    let (_, claims) = verified(&server, body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], "svc");
    assert_eq!(claims["client_id"], "svc");
    assert_eq!(claims["scope"], "notes:read");
    let posted = post(
        &server,
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "s3cret"),
            ("scope", "notes:read"),
        ],
        None,
    )
    .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    // A scope the client may not have.
    let wide = post(
        &server,
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "notes:write"),
        ],
        Some(("svc", "s3cret")),
    )
    .await;
    assert_eq!(wide.error().1, "invalid_scope");
    // A public client may not.
    let public = post(
        &server,
        "/token",
        &[("grant_type", "client_credentials"), ("client_id", "app")],
        None,
    )
    .await;
    assert_eq!(public.error().1, "unauthorized_client");
    let other = post(
        &server,
        "/token",
        &[("grant_type", "password"), ("client_id", "app")],
        None,
    )
    .await;
    assert_eq!(other.error().1, "unsupported_grant_type");
}

/// A client assertion (RFC 7523) signed by `key`.
fn assertion(key: &SigningKey, client_id: &str, aud: &str, jti: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    key.sign_jwt(
        "JWT",
        &json!({"iss": client_id, "sub": client_id, "aud": aud, "exp": now + 60, "jti": jti}),
    )
}

#[tokio::test]
async fn private_key_jwt_client_authentication() {
    let key = SigningKey::generate_es256().unwrap();
    let jwks = json!({"keys": [key.public_jwk()]});
    let server = builder()
        .client(Client::private_key_jwt(
            "robot",
            jwks,
            ["https://robot.example/cb"],
        ))
        .build()
        .unwrap();
    let jwt_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    let token = |a: String| {
        let server = server.clone();
        async move {
            post(
                &server,
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", jwt_type),
                    ("client_assertion", &a),
                ],
                None,
            )
            .await
        }
    };
    let ok = token(assertion(&key, "robot", "http://as.test/token", "1")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // The same jti again: a replayed assertion.
    let replay = token(assertion(&key, "robot", "http://as.test/token", "1")).await;
    assert_eq!(
        replay.error(),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    assert!(replay.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
    // Signed by another key.
    let stranger = SigningKey::generate_es256().unwrap();
    let forged = token(assertion(&stranger, "robot", "http://as.test/token", "2")).await;
    assert_eq!(forged.error().1, "invalid_client");
    // `alg: none`, claiming to be the client.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(r#"{"iss":"robot","sub":"robot","aud":"http://as.test/token","exp":9999999999,"jti":"4"}"#)
    );
    let unsigned = token(none).await;
    assert_eq!(unsigned.error().1, "invalid_client");
    assert!(unsigned.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("unsupported alg"));
    // For another audience.
    let elsewhere = token(assertion(&key, "robot", "https://other.example/token", "3")).await;
    assert_eq!(elsewhere.error().1, "invalid_client");
}

#[tokio::test]
async fn dynamic_registration_then_the_code_flow() {
    let server = server();
    let register = |meta: Value| {
        let server = server.clone();
        async move {
            send(
                &server,
                Request::post("/register")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(meta.to_string()))
                    .unwrap(),
            )
            .await
        }
    };
    let answer = register(json!({"redirect_uris": ["http://localhost/cb"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"], "client_name": "Mine", "scope": "notes:read"})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    let client = answer.json();
    let id = client["client_id"].as_str().unwrap();
    assert!(
        client.get("client_secret").is_none(),
        "a public client has no secret"
    );
    let code = code(
        &server,
        &[
            ("client_id", id),
            ("redirect_uri", "http://localhost:4242/cb"),
        ],
    )
    .await;
    let token = exchange_with(
        &server,
        &code,
        &[
            ("client_id", id),
            ("redirect_uri", "http://localhost:4242/cb"),
            ("resource", ""),
        ],
        None,
    )
    .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);

    // A confidential registration gets a secret that works.
    let answer = register(json!({"redirect_uris": ["https://web.example/cb"], "token_endpoint_auth_method": "client_secret_post", "grant_types": ["client_credentials"]})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let client = answer.json();
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let token = post(
        &server,
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
        None,
    )
    .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);

    // Refused metadata, each with a reason.
    for (meta, error) in [
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (json!({"redirect_uris": []}), "invalid_client_metadata"),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "scope": "admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ] {
        let answer = register(meta.clone()).await;
        assert_eq!(
            answer.error(),
            (StatusCode::BAD_REQUEST, error.to_owned()),
            "{meta}"
        );
        assert!(!answer.json()["error_description"]
            .as_str()
            .unwrap()
            .is_empty());
    }
    let closed = AuthorizationServer::builder(ISSUER)
        .dynamic_registration(false)
        .build()
        .unwrap();
    let meta = get(&closed, "/.well-known/oauth-authorization-server")
        .await
        .json();
    assert!(meta.get("registration_endpoint").is_none());
}

#[tokio::test]
async fn revocation_of_a_refresh_token_revokes_its_family() {
    let server = server();
    let code = code(&server, &[]).await;
    let r = exchange(&server, &code).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Another client cannot revoke it.
    let other = post(
        &server,
        "/revoke",
        &[("token", &r)],
        Some(("svc", "s3cret")),
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(refresh(&server, &r).await.status, StatusCode::OK);
    let code = self::code(&server, &[]).await;
    let r = exchange(&server, &code).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = post(
        &server,
        "/revoke",
        &[
            ("token", &r),
            ("client_id", "app"),
            ("token_type_hint", "refresh_token"),
        ],
        None,
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(revoked.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(refresh(&server, &r).await.error().1, "invalid_grant");
    // Unknown tokens are answered 200 too (RFC 7009 §2.2).
    let unknown = post(
        &server,
        "/revoke",
        &[("token", "nope"), ("client_id", "app")],
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::OK);
}

#[tokio::test]
async fn key_rotation_and_rs256_keys_from_pem() {
    let pem = include_str!("rsa2048.pem");
    let key = SigningKey::from_pem(pem).unwrap();
    assert_eq!(key.algorithm(), oxmcp::auth_server::Algorithm::RS256);
    let server = builder().signing_key(key).build().unwrap();
    let code = code(&server, &[]).await;
    let token = exchange(&server, &code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (header, _) = verified(&server, &token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(server.jwks()["keys"][0]["kty"], "RSA");

    server.rotate_key(SigningKey::generate_es256().unwrap());
    let keys = get(&server, "/jwks").await.json();
    assert_eq!(
        keys["keys"].as_array().unwrap().len(),
        2,
        "the old key stays for the overlap"
    );
    // Tokens signed before the rotation still verify; new ones use the new key.
    verified(&server, &token);
    let code = self::code(&server, &[]).await;
    let fresh = exchange(&server, &code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (header, _) = verified(&server, &fresh);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], keys["keys"][0]["kid"]);
}

#[tokio::test]
async fn the_login_page_asks_then_approves_or_denies() {
    let server = builder()
        .login(LoginPage::new(
            |user: String, password: String| async move {
                (user == "alice" && password == "wonderland").then_some(user)
            },
        ))
        .build()
        .unwrap();
    let uri = authorize_uri(&[("state", "<script>")]);
    let page = get(&server, &uri).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert!(page.body.contains("name=\"login_password\""));
    assert!(page.body.contains("notes:read"));
    assert!(!page.body.contains("<script>"), "parameters are escaped");
    let query = uri.split_once('?').unwrap().1.to_owned();
    let submit = |extra: &str| {
        let server = server.clone();
        let body = format!("{query}&{extra}");
        async move {
            send(
                &server,
                Request::post("/authorize")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
        }
    };
    let wrong = submit("login_username=alice&login_password=nope&login_consent=allow").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong user name or password"));
    let right = submit("login_username=alice&login_password=wonderland&login_consent=allow").await;
    assert_eq!(right.status, StatusCode::FOUND);
    assert!(right.query("code").is_some());
    assert_eq!(right.query("state").as_deref(), Some("<script>"));
    let denied = submit("login_consent=deny").await;
    assert_eq!(denied.query("error").as_deref(), Some("access_denied"));
    assert_eq!(denied.query("iss").as_deref(), Some(ISSUER));

    // With no login configured, everything is denied.
    let bare = AuthorizationServer::builder(ISSUER)
        .client(Client::public("app", ["http://127.0.0.1/callback"]))
        .build()
        .unwrap();
    let answer = get(&bare, &authorize_uri(&[("scope", "")])).await;
    assert_eq!(answer.query("error").as_deref(), Some("access_denied"));
}

/// Serves `doc` (with `client_id` set to its own URL) at `/client.json` on loopback;
/// returns the URL.
async fn serve_document(make: impl Fn(&str) -> Value + Send + Sync + 'static) -> String {
    serve_counted(make).await.0
}

/// [`serve_document`], also counting the fetches.
async fn serve_counted(
    make: impl Fn(&str) -> Value + Send + Sync + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/client.json", listener.local_addr().unwrap());
    let doc = make(&url).to_string();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/client.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { ([(header::CONTENT_TYPE, "application/json")], doc) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

#[tokio::test]
async fn client_id_metadata_documents() {
    let (url, hits) = serve_counted(|url| json!({"client_id": url, "client_name": "Doc", "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "none"})).await;
    let server = builder()
        .allow_private_metadata_documents(true)
        .build()
        .unwrap();
    let code = tokio::time::timeout(
        Duration::from_secs(10),
        code(&server, &[("client_id", &url)]),
    )
    .await
    .expect("answered within 10 s");
    let token = exchange_with(&server, &code, &[("client_id", &url)], None).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.body);
    let (_, claims) = verified(&server, token.json()["access_token"].as_str().unwrap());
    assert_eq!(claims["client_id"], url.as_str());
    // Fetched once, then cached (authorization and token requests alike).
    self::code(&server, &[("client_id", &url)]).await;
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    // With metadata documents turned off, a URL client id is just an unknown client.
    let off = builder()
        .client_id_metadata_documents(false)
        .build()
        .unwrap();
    let meta = get(&off, "/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(meta["client_id_metadata_document_supported"], false);
    let answer = get(&off, &authorize_uri(&[("client_id", &url)])).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body.contains("not registered"));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

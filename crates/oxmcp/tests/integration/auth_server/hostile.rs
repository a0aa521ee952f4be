//! Hostile input at the authorization server: every case is refused with an error that
//! says what was expected, and nothing is redirected to a URI that is not registered.

use super::*;

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let server = server();
    let code = code(&server, &[]).await;
    let first = exchange(&server, &code).await;
    assert_eq!(first.status, StatusCode::OK);
    let refresh_token = first.json()["refresh_token"].as_str().unwrap().to_owned();
    let replay = exchange(&server, &code).await;
    assert_eq!(
        replay.error(),
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    assert_eq!(replay.headers[header::CACHE_CONTROL], "no-store");
    assert!(replay.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("already used"));
    // The refresh token issued from the code is revoked.
    assert_eq!(
        refresh(&server, &refresh_token).await.error().1,
        "invalid_grant"
    );
}

#[tokio::test]
async fn pkce_is_required_and_checked() {
    let server = server();
    let code = code(&server, &[]).await;
    let wrong = exchange_with(
        &server,
        &code,
        &[("code_verifier", &"x".repeat(43)), ("resource", "")],
        None,
    )
    .await;
    assert_eq!(wrong.error().1, "invalid_grant");
    assert!(wrong.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("PKCE"));
    // The code was burned by the failed attempt.
    assert_eq!(exchange(&server, &code).await.error().1, "invalid_grant");

    let code = self::code(&server, &[]).await;
    let missing = exchange_with(
        &server,
        &code,
        &[("code_verifier", ""), ("resource", "")],
        None,
    )
    .await;
    assert_eq!(missing.error().1, "invalid_request");

    // At the authorization endpoint: no challenge, plain, or a malformed one.
    for extra in [
        vec![("code_challenge", ""), ("code_challenge_method", "")],
        vec![("code_challenge_method", "plain")],
        vec![("code_challenge_method", "")],
        vec![("code_challenge", "short")],
    ] {
        let answer = get(&server, &authorize_uri(&extra)).await;
        assert_eq!(
            answer.query("error").as_deref(),
            Some("invalid_request"),
            "{extra:?}"
        );
        assert_eq!(answer.query("state").as_deref(), Some("xyz"));
        assert_eq!(answer.query("iss").as_deref(), Some(ISSUER));
        assert!(answer.query("code").is_none());
    }
}

#[tokio::test]
async fn unregistered_redirect_uris_are_shown_an_error_never_redirected() {
    let server = server();
    for redirect in [
        "https://evil.example/callback",
        "http://127.0.0.1:53682/callback/../evil",
        "http://127.0.0.1:53682/other",
        "http://127.0.0.1.evil.example/callback",
        "http://127.0.0.1@evil.example/callback",
        "http://evil.example@127.0.0.1/callback",
        "http://127.0.0.1:53682/callback?next=https://evil.example",
        "http://127.0.0.1:53682/callback#x",
        "https://127.0.0.1:53682/callback",
        "//evil.example/callback",
        "javascript:alert(1)",
    ] {
        let answer = get(
            &server,
            &authorize_uri(&[("redirect_uri", redirect), ("response_type", "token")]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{redirect}");
        assert!(answer.headers.get(header::LOCATION).is_none(), "{redirect}");
        assert!(
            answer.body.contains("redirect_uri is not registered"),
            "{redirect}: {}",
            answer.body
        );
    }
    // Unknown clients and missing client ids are not redirected either.
    for extra in [vec![("client_id", "nobody")], vec![("client_id", "")]] {
        let answer = get(&server, &authorize_uri(&extra)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(answer.headers.get(header::LOCATION).is_none());
    }
    // The token endpoint wants the same redirect URI as the authorization request.
    let code = code(&server, &[]).await;
    let other = exchange_with(
        &server,
        &code,
        &[
            ("redirect_uri", "http://127.0.0.1:1/callback"),
            ("resource", ""),
        ],
        None,
    )
    .await;
    assert_eq!(other.error().1, "invalid_grant");
}

#[tokio::test]
async fn errors_after_the_redirect_check_go_to_the_registered_uri() {
    let server = server();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("scope", "notes:admin")], "invalid_scope"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (
            &[("resource", "http://x.example/mcp#frag")],
            "invalid_target",
        ),
        (&[("resource", "not a uri")], "invalid_target"),
    ];
    for (extra, error) in cases {
        let answer = get(&server, &authorize_uri(extra)).await;
        assert_eq!(answer.status, StatusCode::FOUND);
        assert!(answer
            .location()
            .as_str()
            .starts_with("http://127.0.0.1:53682/callback?"));
        assert_eq!(answer.query("error").as_deref(), Some(error), "{extra:?}");
        assert!(answer.query("error_description").is_some());
        assert_eq!(answer.query("state").as_deref(), Some("xyz"));
    }
    // With a resource allow-list, other resources are refused.
    let strict = builder().resources([RESOURCE]).build().unwrap();
    let answer = get(
        &strict,
        &authorize_uri(&[("resource", "http://127.0.0.1:9/other")]),
    )
    .await;
    assert_eq!(answer.query("error").as_deref(), Some("invalid_target"));
    // A code bound to one resource cannot be exchanged for another.
    let code = code(&server, &[]).await;
    let other = exchange_with(
        &server,
        &code,
        &[("resource", "http://other.example/mcp")],
        None,
    )
    .await;
    assert_eq!(other.error().1, "invalid_target");
}

#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client() {
    let server = server();
    let wrong = post(
        &server,
        "/token",
        &[("grant_type", "client_credentials")],
        Some(("svc", "guess")),
    )
    .await;
    assert_eq!(
        wrong.error(),
        (StatusCode::UNAUTHORIZED, "invalid_client".into())
    );
    assert!(wrong.headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_eq!(wrong.headers[header::CACHE_CONTROL], "no-store");
    let posted = post(
        &server,
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "guess"),
        ],
        None,
    )
    .await;
    assert_eq!(posted.error().1, "invalid_client");
    // A confidential client must authenticate; a public one cannot claim a secret.
    let bare = post(
        &server,
        "/token",
        &[("grant_type", "client_credentials"), ("client_id", "svc")],
        None,
    )
    .await;
    assert_eq!(bare.error().1, "invalid_client");
    let unknown = post(
        &server,
        "/token",
        &[("grant_type", "client_credentials")],
        Some(("nobody", "x")),
    )
    .await;
    assert_eq!(unknown.error().1, "invalid_client");
    // Two methods at once, or a client_id that disagrees with the credentials.
    let both = post(
        &server,
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", "s3cret"),
        ],
        Some(("svc", "s3cret")),
    )
    .await;
    assert_eq!(both.error().1, "invalid_request");
    let mismatch = post(
        &server,
        "/token",
        &[("grant_type", "client_credentials"), ("client_id", "app")],
        Some(("svc", "s3cret")),
    )
    .await;
    assert_eq!(mismatch.error().1, "invalid_client");
    // A code issued to one client is useless to another.
    let code = code(&server, &[]).await;
    let stolen = exchange_with(
        &server,
        &code,
        &[("client_id", ""), ("resource", "")],
        Some(("svc", "s3cret")),
    )
    .await;
    assert_eq!(stolen.error().1, "invalid_grant");
}

#[tokio::test]
async fn oversized_and_malformed_requests() {
    let server = server();
    // A query over 8 KiB: shown an error, not processed.
    let long = authorize_uri(&[("state", &"s".repeat(9000))]);
    let answer = get(&server, &long).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.body.contains("larger than"));
    // A token request body over 16 KiB.
    let big = post(
        &server,
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("pad", &"p".repeat(20_000)),
        ],
        Some(("svc", "s3cret")),
    )
    .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A registration over the limit.
    let meta =
        json!({"redirect_uris": ["https://a.example/cb"], "client_name": "n".repeat(20_000)});
    let answer = send(
        &server,
        Request::post("/register")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(meta.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A parameter twice.
    let twice = send(
        &server,
        Request::post("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                "grant_type=client_credentials&grant_type=client_credentials&client_id=app",
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(twice.error().1, "invalid_request");
    assert!(twice.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("more than once"));
    let dup = get(&server, &format!("{}&state=again", authorize_uri(&[]))).await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    // Not a form.
    let json_body = send(
        &server,
        Request::post("/token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(json_body.error().1, "invalid_request");
    assert!(json_body.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("x-www-form-urlencoded"));
    // An oversized or garbage client assertion.
    let jwt_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    for junk in [
        "a.b.c",
        "not a jwt",
        "e30.e30.",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzdmMifQ.",
    ] {
        let answer = post(
            &server,
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", jwt_type),
                ("client_assertion", junk),
            ],
            None,
        )
        .await;
        assert_eq!(answer.error().1, "invalid_client", "{junk}");
    }
    // A request over 8 KiB is refused before any of it is parsed.
    let huge = format!("{}.{}.x", "e".repeat(5000), "e".repeat(5000));
    let answer = post(
        &server,
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", jwt_type),
            ("client_assertion", &huge),
        ],
        None,
    )
    .await;
    assert_eq!(answer.error().1, "invalid_request");
    assert!(answer.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("larger than"));
    // Unknown codes and refresh tokens.
    assert_eq!(
        exchange(&server, "made-up").await.error().1,
        "invalid_grant"
    );
    assert_eq!(refresh(&server, "made-up").await.error().1, "invalid_grant");
}

#[tokio::test]
async fn metadata_documents_on_private_addresses_are_refused() {
    // Served on loopback, but the server does not allow private addresses (the default).
    let url = serve_document(
        |url| json!({"client_id": url, "redirect_uris": ["http://127.0.0.1/callback"]}),
    )
    .await;
    let https_loopback = url.replace("http://", "https://");
    let server = server();
    for client_id in [
        url.as_str(),
        https_loopback.as_str(),
        "https://10.0.0.1/client.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/client.json",
        "https://localhost:1/client.json",
    ] {
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            get(&server, &authorize_uri(&[("client_id", client_id)])),
        )
        .await
        .expect("answered within 10 s");
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{client_id}");
        assert!(answer.headers.get(header::LOCATION).is_none());
        assert!(
            answer.body.contains("cannot be used"),
            "{client_id}: {}",
            answer.body
        );
    }
    // Malformed URL client ids.
    for client_id in [
        "https://a.example/",
        "https://user@a.example/c.json",
        "https://a.example/c.json#f",
    ] {
        let answer = get(&server, &authorize_uri(&[("client_id", client_id)])).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{client_id}");
    }
}

#[tokio::test]
async fn bad_metadata_documents_are_refused() {
    let server = builder()
        .allow_private_metadata_documents(true)
        .metadata_document_limits(Duration::from_secs(5), 1024)
        .build()
        .unwrap();
    type Make = Box<dyn Fn(&str) -> Value + Send + Sync>;
    let cases: Vec<(Make, &str)> = vec![
        (
            Box::new(
                |_| json!({"client_id": "https://someone.else/c.json", "redirect_uris": ["http://127.0.0.1/callback"]}),
            ),
            "not its own URL",
        ),
        (
            Box::new(
                |url| json!({"client_id": url, "redirect_uris": ["http://127.0.0.1/callback"], "pad": "p".repeat(2000)}),
            ),
            "larger than 1024 bytes",
        ),
        (
            Box::new(
                |url| json!({"client_id": url, "redirect_uris": ["http://127.0.0.1/callback"], "client_secret": "x"}),
            ),
            "client secret",
        ),
        (
            Box::new(
                |url| json!({"client_id": url, "redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "client_secret_basic"}),
            ),
            "client secret",
        ),
        (
            Box::new(|url| json!({"client_id": url, "redirect_uris": ["http://evil.example/cb"]})),
            "redirect URI",
        ),
    ];
    for (make, why) in cases {
        let url = serve_document(make).await;
        let answer = get(&server, &authorize_uri(&[("client_id", &url)])).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{why}");
        assert!(answer.body.contains(why), "{why}: {}", answer.body);
    }
}

#[tokio::test]
async fn a_full_store_refuses_instead_of_growing() {
    use oxmcp::auth_server::{MemoryLimits, MemoryStore};
    let server = builder()
        .store(MemoryStore::with_limits(MemoryLimits {
            clients: 1,
            entries: 1,
        }))
        .build()
        .unwrap();
    let register = || {
        let server = server.clone();
        async move {
            let meta = json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none"});
            send(
                &server,
                Request::post("/register")
                    .body(Body::from(meta.to_string()))
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(register().await.status, StatusCode::CREATED);
    let full = register().await;
    assert_eq!(
        full.error(),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable".into()
        )
    );
    // One live code fits; the next authorization request is told to come back later.
    self::code(&server, &[]).await;
    let answer = get(&server, &authorize_uri(&[])).await;
    assert_eq!(
        answer.query("error").as_deref(),
        Some("temporarily_unavailable")
    );
    assert_eq!(answer.query("state").as_deref(), Some("xyz"));
}

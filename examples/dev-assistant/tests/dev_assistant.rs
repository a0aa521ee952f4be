//! The `dev-assistant` example, run as a process on a git repository the test makes, and
//! spoken to through the oxmcp client (stdio, and HTTP with JWTs).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use oxmcp::client::{Client, HttpClientConfig};
use oxmcp::protocol::content::ContentBlock;
use oxmcp::transport::stdio::ChildCommand;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

/// A scratch directory: `repo/` (the served root, a git repository) beside `secret.txt`.
struct Scratch(PathBuf);

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.com"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("git is installed");
    assert!(status.success(), "git {args:?}");
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("oxmcp-dev-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let repo = dir.join("repo");
        std::fs::create_dir_all(repo.join("src")).unwrap();
        std::fs::create_dir_all(repo.join("target")).unwrap();
        std::fs::write(dir.join("secret.txt"), "the secret").unwrap();
        std::fs::write(repo.join(".gitignore"), "target/\n").unwrap();
        std::fs::write(
            repo.join("src/lib.rs"),
            "pub fn answer() -> u32 {\n    42\n}\n\npub fn other() {}\n",
        )
        .unwrap();
        std::fs::write(repo.join("README.md"), "# Demo\n").unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "First commit"]);
        std::fs::write(repo.join("README.md"), "# Demo\n\nMore words.\n").unwrap();
        git(&repo, &["commit", "-q", "-am", "Describe the demo"]);
        // Now: an unstaged change, a staged one, an untracked file, an ignored one.
        std::fs::write(
            repo.join("src/lib.rs"),
            "pub fn answer() -> u32 {\n    43\n}\n\npub fn other() {}\n",
        )
        .unwrap();
        std::fs::write(repo.join("NOTES.md"), "staged note\n").unwrap();
        git(&repo, &["add", "NOTES.md"]);
        std::fs::write(repo.join("new.txt"), "untracked answer\n").unwrap();
        std::fs::write(repo.join("target/build.rs"), "fn answer() {}\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.join("secret.txt"), repo.join("escape.txt")).unwrap();
        Scratch(dir)
    }

    fn root(&self) -> PathBuf {
        self.0.join("repo")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn connect(root: &Path, extra: &[&str]) -> Client {
    let command = ChildCommand::new(env!("CARGO_BIN_EXE_dev-assistant"))
        .arg("--root")
        .arg(root)
        .args(extra);
    Client::builder()
        .connect_stdio(command)
        .await
        .expect("connect to the dev-assistant example")
}

fn text(content: &[ContentBlock]) -> String {
    match &content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

async fn ok(client: &Client, name: &str, args: Value) -> String {
    let result = client.call_tool(name, args.clone()).await.unwrap();
    assert!(
        !result.is_error(),
        "{name} {args}: {}",
        text(&result.content)
    );
    text(&result.content)
}

async fn refused(client: &Client, name: &str, args: Value) -> String {
    let result = client.call_tool(name, args.clone()).await.unwrap();
    assert!(
        result.is_error(),
        "{name} {args} succeeded: {:?}",
        result.content
    );
    text(&result.content)
}

#[tokio::test(flavor = "multi_thread")]
async fn files_and_code_search_stay_below_the_root_and_respect_gitignore() {
    let s = Scratch::new("files");
    let client = connect(&s.root(), &[]).await;
    assert!(ok(&client, "read_file", json!({"path": "src/lib.rs"}))
        .await
        .contains("43"));
    let listing = ok(&client, "list_directory", json!({"path": ""})).await;
    for entry in ["src/", "README.md", "target/", "escape.txt@"] {
        assert!(listing.lines().any(|l| l == entry), "{entry} in {listing}");
    }
    for (path, why) in [
        ("../secret.txt", "climbs out"),
        ("/etc/passwd", "absolute"),
        ("escape.txt", "outside the root"),
        ("src%2F..%2F..%2Fsecret.txt", "percent-encoded"),
    ] {
        let answer = refused(&client, "read_file", json!({"path": path})).await;
        assert!(answer.contains(why), "{path}: {answer}");
    }

    let found = ok(&client, "search_code", json!({"pattern": "answer"})).await;
    assert!(
        found.contains("src/lib.rs:1: pub fn answer() -> u32 {"),
        "{found}"
    );
    assert!(found.contains("new.txt:1:"), "{found}");
    assert!(!found.contains("target/"), "ignored by .gitignore: {found}");
    assert!(!found.contains("secret"), "{found}");
    let only_rs = ok(
        &client,
        "search_code",
        json!({"pattern": "pub fn", "glob": "*.rs"}),
    )
    .await;
    assert_eq!(only_rs.lines().count(), 2, "{only_rs}");
    let capped = ok(
        &client,
        "search_code",
        json!({"pattern": "pub fn", "max_matches": 1}),
    )
    .await;
    assert!(capped.contains("stopped after 1 matches"), "{capped}");
    let answer = refused(
        &client,
        "search_code",
        json!({"pattern": "x", "path": ".."}),
    )
    .await;
    assert!(answer.contains("climbs out"), "{answer}");
    let answer = refused(&client, "search_code", json!({"pattern": "("})).await;
    assert!(answer.contains("not a valid regex"), "{answer}");

    let small = connect(&s.root(), &["--max-file-size", "10"]).await;
    let answer = refused(&small, "read_file", json!({"path": "src/lib.rs"})).await;
    assert!(answer.contains("over the limit of 10 bytes"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn git_status_diff_and_log_describe_the_repository() {
    let s = Scratch::new("git");
    let client = connect(&s.root(), &[]).await;
    let status = ok(&client, "git_status", json!({})).await;
    for line in [
        "staged added: NOTES.md",
        "unstaged modified: src/lib.rs",
        "unstaged untracked: new.txt",
    ] {
        assert!(status.lines().any(|l| l == line), "{line} in:\n{status}");
    }
    assert!(!status.contains("target"), "{status}");

    let diff = ok(&client, "git_diff", json!({})).await;
    assert!(
        diff.contains("--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,5 +1,5 @@"),
        "{diff}"
    );
    assert!(diff.contains("\n-    42\n+    43\n"), "{diff}");
    assert!(!diff.contains("NOTES.md"), "{diff}");
    let staged = ok(&client, "git_diff", json!({"staged": true})).await;
    assert!(
        staged.contains("+++ b/NOTES.md") && staged.contains("+staged note"),
        "{staged}"
    );
    let none = ok(&client, "git_diff", json!({"path": "README.md"})).await;
    assert_eq!(none, "no unstaged changes");

    let log = ok(&client, "git_log", json!({})).await;
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].ends_with("Ada: Describe the demo"), "{log}");
    assert!(lines[1].ends_with("Ada: First commit"), "{log}");
    let one = ok(&client, "git_log", json!({"max_count": 1})).await;
    assert_eq!(one.lines().count(), 1);

    std::fs::remove_file(s.root().join("README.md")).unwrap();
    std::fs::write(s.root().join("src/data.bin"), [0u8, 1, 2]).unwrap();
    let status = ok(&client, "git_status", json!({})).await;
    assert!(status.contains("unstaged deleted: README.md"), "{status}");
    let diff = ok(&client, "git_diff", json!({"path": "README.md"})).await;
    assert!(
        diff.contains("-More words.") && !diff.contains("src/lib.rs"),
        "{diff}"
    );
    git(&s.root(), &["add", "src/data.bin"]);
    let staged = ok(&client, "git_diff", json!({"staged": true, "path": "src"})).await;
    assert_eq!(
        staged,
        "--- a/src/data.bin\n+++ b/src/data.bin\nBinary files differ\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn git_tools_never_run_the_filter_commands_a_repository_configures() {
    let s = Scratch::new("filter");
    let repo = s.root();
    let pwned = s.0.join("PWNED");
    // A clean filter on every Rust file, set after the commits so that git itself never ran it.
    std::fs::write(repo.join(".git/info/attributes"), "*.rs filter=evil\n").unwrap();
    git(
        &repo,
        &[
            "config",
            "filter.evil.clean",
            &format!("touch {} && cat", pwned.display()),
        ],
    );
    let client = connect(&repo, &[]).await;
    let status = ok(&client, "git_status", json!({})).await;
    assert!(status.contains("unstaged modified: src/lib.rs"), "{status}");
    ok(&client, "git_diff", json!({})).await;
    ok(&client, "git_diff", json!({"staged": true})).await;
    assert!(
        !pwned.exists(),
        "a filter command from the repository's config ran"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_command_runs_only_allowed_programs_with_a_timeout_and_capped_output() {
    let s = Scratch::new("cmd");
    let client = connect(
        &s.root(),
        &[
            "--allow",
            "echo",
            "--allow",
            "sleep",
            "--allow",
            "seq",
            "--allow",
            "pwd",
            "--command-timeout",
            "1",
            "--max-output",
            "1000",
        ],
    )
    .await;
    let call = |args: Value| {
        let client = client.clone();
        async move { client.call_tool("run_command", args).await.unwrap() }
    };
    let echo = call(json!({"command": "echo", "args": ["hello", "$HOME;", "*"]})).await;
    assert!(!echo.is_error());
    let out = echo.structured_content.unwrap();
    assert_eq!(out["stdout"], "hello $HOME; *\n", "no shell");
    assert_eq!(out["exit_code"], 0);

    let pwd = call(json!({"command": "pwd", "cwd": "src"})).await;
    let dir = pwd.structured_content.unwrap()["stdout"]
        .as_str()
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(
        Path::new(&dir),
        s.root().canonicalize().unwrap().join("src")
    );

    let answer = refused(
        &client,
        "run_command",
        json!({"command": "rm", "args": ["-rf", "."]}),
    )
    .await;
    assert!(
        answer.contains("not allowed") && answer.contains("echo, sleep"),
        "{answer}"
    );
    let answer = refused(&client, "run_command", json!({"command": "/bin/echo"})).await;
    assert!(answer.contains("not allowed"), "{answer}");
    let answer = refused(
        &client,
        "run_command",
        json!({"command": "pwd", "cwd": ".."}),
    )
    .await;
    assert!(answer.contains("climbs out"), "{answer}");

    let started = Instant::now();
    let answer = refused(
        &client,
        "run_command",
        json!({"command": "sleep", "args": ["30"]}),
    )
    .await;
    assert!(answer.contains("within 1 s and was killed"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "killed at the timeout"
    );

    let big = call(json!({"command": "seq", "args": ["1", "100000"]})).await;
    let out = big.structured_content.unwrap();
    assert_eq!(out["truncated"], true);
    assert_eq!(out["stdout"].as_str().unwrap().len(), 1000);
    assert!(out["stdout"].as_str().unwrap().starts_with("1\n2\n3\n"));
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An ES256 key: the JWKS to publish and a function that signs tokens.
fn es256() -> (Value, impl Fn(&Value) -> String) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
        "x": b64(&point[1..33]), "y": b64(&point[33..65]),
    }]});
    let key = jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref());
    let sign = move |claims: &Value| {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("k1".into());
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    };
    (jwks, sign)
}

/// Kills the server when the test ends, however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn over_http_a_call_needs_a_token_with_its_scope_and_is_logged() {
    let s = Scratch::new("http");
    let (jwks, sign) = es256();
    let jwks_file = s.0.join("jwks.json");
    std::fs::write(&jwks_file, jwks.to_string()).unwrap();
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let log_file = s.0.join("server.log");
    let issuer = "https://issuer.example";
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_dev-assistant"))
            .arg("--root")
            .arg(s.root())
            .args([
                "--allow",
                "echo",
                "--http",
                &addr.to_string(),
                "--issuer",
                issuer,
                "--jwks",
            ])
            .arg(&jwks_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_file).unwrap())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://{addr}/mcp");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    let unauthenticated = loop {
        let sent = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(ping.clone())
            .send()
            .await;
        match sent {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => {
                assert!(server.0.try_wait().unwrap().is_none(), "the server exited");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the server never listened: {e}"),
        }
    };
    assert_eq!(unauthenticated.status(), 401);
    assert!(unauthenticated.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let connect = |sub: &str, scope: &str| {
        let token = sign(&json!({
            "iss": issuer, "sub": sub, "aud": url, "client_id": "test-client",
            "scope": scope, "iat": now, "exp": now + 600, "jti": sub,
        }));
        Client::builder().connect_http_with(
            HttpClientConfig::new(&url).header("authorization", format!("Bearer {token}")),
        )
    };
    let client = connect("ada", "dev:read")
        .await
        .expect("an authenticated client connects");
    let readme = ok(&client, "read_file", json!({"path": "README.md"})).await;
    assert!(readme.contains("More words."));
    // Reading is not running: run_command needs dev:run.
    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.iter().any(|n| n == "git_log") && !names.iter().any(|n| n == "run_command"));
    let run = json!({"command": "echo", "args": ["hi"]});
    let refused = client
        .call_tool("run_command", run.clone())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("dev:run"), "{refused}");
    let runner = connect("grace", "dev:run").await.unwrap();
    let echoed = runner.call_tool("run_command", run).await.unwrap();
    assert_eq!(echoed.structured_content.unwrap()["stdout"], "hi\n");
    ok(&runner, "git_status", json!({})).await;

    // The request log names the method, the tool and the caller.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = std::fs::read_to_string(&log_file).unwrap();
        let logged = log.lines().any(|l| {
            l.contains("dev_assistant::requests")
                && l.contains("tools/call")
                && l.contains("read_file")
                && l.contains("ada")
        });
        if logged {
            break;
        }
        assert!(Instant::now() < deadline, "no request log line in:\n{log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop((client, runner));
}

#[test]
fn http_without_an_issuer_is_refused_at_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_dev-assistant"))
        .args(["--root", ".", "--http", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--http needs --issuer"), "{stderr}");
}

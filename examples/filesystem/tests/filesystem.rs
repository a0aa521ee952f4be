//! The `filesystem` example, run as a process and spoken to through the oxmcp client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::content::{ContentBlock, ResourceContents};
use oxmcp::protocol::message::ServerNotification;
use oxmcp::protocol::{ProtocolVersion, SubscriptionFilter};
use oxmcp::transport::stdio::ChildCommand;
use serde_json::json;
use tokio::sync::mpsc;

/// A scratch directory: `root/` (served) beside `secret.txt` (not served).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("oxmcp-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/docs/sub")).unwrap();
        std::fs::write(dir.join("secret.txt"), "the secret").unwrap();
        std::fs::write(dir.join("root/hello.txt"), "hello from disk").unwrap();
        std::fs::write(dir.join("root/docs/guide.md"), "# Guide").unwrap();
        std::fs::write(dir.join("root/docs/sub/deep.md"), "deep").unwrap();
        std::fs::write(dir.join("root/data.bin"), [0xffu8, 0xfe, 0]).unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("root/escape.txt"))
                .unwrap();
            std::os::unix::fs::symlink(&dir, dir.join("root/outside")).unwrap();
        }
        Scratch(dir)
    }

    fn root(&self) -> PathBuf {
        self.0.join("root")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn command(root: &Path, extra: &[&str]) -> ChildCommand {
    ChildCommand::new(env!("CARGO_BIN_EXE_filesystem"))
        .arg("--root")
        .arg(root)
        .args(extra)
}

async fn connect(root: &Path, extra: &[&str]) -> Client {
    Client::builder()
        .connect_stdio(command(root, extra))
        .await
        .expect("connect to the filesystem example")
}

fn text(content: &[ContentBlock]) -> String {
    match &content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// The URIs of every resource listed.
async fn resource_uris(client: &Client) -> Vec<String> {
    let mut uris: Vec<String> = client
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri)
        .collect();
    uris.sort();
    uris
}

/// Calls a tool, expecting success; returns its text.
async fn ok(client: &Client, name: &str, args: serde_json::Value) -> String {
    let result = client.call_tool(name, args.clone()).await.unwrap();
    assert!(
        !result.is_error(),
        "{name} {args}: {}",
        text(&result.content)
    );
    text(&result.content)
}

/// Calls a tool, expecting an `isError` result; returns its text.
async fn refused(client: &Client, name: &str, args: serde_json::Value) -> String {
    let result = client.call_tool(name, args.clone()).await.unwrap();
    assert!(
        result.is_error(),
        "{name} {args} succeeded: {:?}",
        result.content
    );
    text(&result.content)
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_tools_read_list_and_search() {
    let s = Scratch::new("ro");
    let client = connect(&s.root(), &[]).await;
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    names.sort();
    assert_eq!(names, ["list_directory", "read_file", "search_files"]);

    assert_eq!(
        ok(&client, "read_file", json!({"path": "hello.txt"})).await,
        "hello from disk"
    );
    assert_eq!(
        ok(&client, "read_file", json!({"path": "./docs/guide.md"})).await,
        "# Guide"
    );
    let listing = ok(&client, "list_directory", json!({"path": ""})).await;
    assert!(listing.contains("[DIR]  docs/"), "{listing}");
    assert!(listing.contains("[FILE] hello.txt"), "{listing}");
    let found = ok(&client, "search_files", json!({"pattern": "*.md"})).await;
    assert_eq!(found, "docs/guide.md\ndocs/sub/deep.md");
    let found = ok(&client, "search_files", json!({"pattern": "docs/*.md"})).await;
    assert_eq!(found, "docs/guide.md");
    // Without --write there is nothing to write with.
    assert!(client
        .call_tool("write_file", json!({"path": "x.txt", "content": "y"}))
        .await
        .is_err());
    assert!(
        refused(&client, "read_file", json!({"path": "missing.txt"}))
            .await
            .contains("does not exist")
    );
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn traversal_attempts_are_refused_by_tools_and_resources() {
    let s = Scratch::new("traversal");
    let client = connect(&s.root(), &["--write"]).await;
    let secret = s.0.join("secret.txt");
    let secret = secret.to_str().unwrap();
    let attempts = [
        ("../secret.txt", "climbs out"),
        ("docs/../../secret.txt", "climbs out"),
        (secret, "absolute"),
        ("..\\secret.txt", "backslashes"),
        ("docs\\..\\..\\secret.txt", "backslashes"),
        ("C:\\Windows\\win.ini", "drive letters"),
        ("%2e%2e/secret.txt", "percent-encoded"),
        ("%2E%2E%2Fsecret.txt", "percent-encoded"),
        #[cfg(unix)]
        ("escape.txt", "through a link"),
        #[cfg(unix)]
        ("outside/secret.txt", "through a link"),
    ];
    for (path, why) in attempts {
        let message = refused(&client, "read_file", json!({"path": path})).await;
        assert!(
            message.contains("refused") && message.contains(why),
            "{path}: {message}"
        );
        let message = refused(&client, "write_file", json!({"path": path, "content": "x"})).await;
        assert!(message.contains("refused"), "write {path}: {message}");
        let message = refused(&client, "list_directory", json!({"path": path})).await;
        assert!(
            message.contains("refused") || message.contains("does not exist"),
            "{path}: {message}"
        );
    }
    #[cfg(unix)]
    {
        // A new file through a link to a directory outside, and a move out through it.
        let message = refused(
            &client,
            "write_file",
            json!({"path": "outside/new.txt", "content": "x"}),
        )
        .await;
        assert!(message.contains("through a link"), "{message}");
        let message = refused(
            &client,
            "move_file",
            json!({"source": "hello.txt", "destination": "outside/moved.txt"}),
        )
        .await;
        assert!(message.contains("through a link"), "{message}");
        assert!(!s.0.join("moved.txt").exists() && !s.0.join("new.txt").exists());
    }
    let message = refused(
        &client,
        "move_file",
        json!({"source": "../secret.txt", "destination": "stolen.txt"}),
    )
    .await;
    assert!(message.contains("climbs out"), "{message}");
    assert_eq!(
        std::fs::read_to_string(s.0.join("secret.txt")).unwrap(),
        "the secret"
    );

    // The same through resource URIs: decoded once, then checked like a path.
    for uri in [
        "file:///%2e%2e/secret.txt",
        "file:///docs/%2E%2E/%2E%2E/secret.txt",
        "file:///%252e%252e/secret.txt",
        "file:///..%5csecret.txt",
        "file:///%2Fetc%2Fpasswd",
        #[cfg(unix)]
        "file:///escape.txt",
    ] {
        let err = client.read_resource(uri).await.unwrap_err().to_string();
        assert!(err.contains("refused"), "{uri}: {err}");
    }
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn extensions_and_sizes_are_limited() {
    let s = Scratch::new("limits");
    std::fs::write(s.root().join("big.txt"), "x".repeat(2000)).unwrap();
    let client = connect(&s.root(), &["--write", "--max-size", "1000"]).await;
    let message = refused(&client, "read_file", json!({"path": "data.bin"})).await;
    assert!(message.contains("extension is not allowed"), "{message}");
    let message = refused(
        &client,
        "write_file",
        json!({"path": "run.exe", "content": "x"}),
    )
    .await;
    assert!(message.contains("extension is not allowed"), "{message}");
    let message = refused(&client, "read_file", json!({"path": "big.txt"})).await;
    assert!(
        message.contains("over the limit of 1000 bytes"),
        "{message}"
    );
    let message = refused(
        &client,
        "write_file",
        json!({"path": "big2.txt", "content": "y".repeat(1001)}),
    )
    .await;
    assert!(message.contains("over the limit"), "{message}");
    assert!(!s.root().join("big2.txt").exists());
    let err = client
        .read_resource("file:///big.txt")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("over the limit"), "{err}");
    // Files of other extensions are not listed either.
    let uris = resource_uris(&client).await;

    assert!(!uris.iter().any(|u| u.ends_with("data.bin")), "{uris:?}");
    client.close().await.unwrap();

    // `--extensions '*'` allows any.
    let client = connect(&s.root(), &["--extensions", "*"]).await;
    let read = client.read_resource("file:///data.bin").await.unwrap();
    assert!(matches!(&read.contents[0], ResourceContents::Blob(_)));
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn write_and_move_stay_below_the_root() {
    let s = Scratch::new("write");
    let client = connect(&s.root(), &["--write"]).await;
    ok(
        &client,
        "write_file",
        json!({"path": "new/dir/note.txt", "content": "written"}),
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(s.root().join("new/dir/note.txt")).unwrap(),
        "written"
    );
    ok(
        &client,
        "move_file",
        json!({"source": "new/dir/note.txt", "destination": "docs/note.md"}),
    )
    .await;
    assert_eq!(
        ok(&client, "read_file", json!({"path": "docs/note.md"})).await,
        "written"
    );
    let message = refused(
        &client,
        "move_file",
        json!({"source": "hello.txt", "destination": "docs/guide.md"}),
    )
    .await;
    assert!(message.contains("exists already"), "{message}");
    assert_eq!(
        std::fs::read_to_string(s.root().join("docs/guide.md")).unwrap(),
        "# Guide"
    );
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn files_are_paginated_resources() {
    let s = Scratch::new("pages");
    let client = connect(&s.root(), &["--page-size", "2"]).await;
    let first = client.list_resources(None).await.unwrap();
    assert_eq!(first.resources.len(), 2);
    assert!(first.next_cursor.is_some());
    let uris = resource_uris(&client).await;

    assert_eq!(
        uris,
        [
            "file:///docs/guide.md",
            "file:///docs/sub/deep.md",
            "file:///hello.txt"
        ]
    );
    let templates = client.list_all_resource_templates().await.unwrap();
    assert_eq!(templates[0].uri_template, "file:///{+path}");
    let read = client
        .read_resource("file:///docs/sub/deep.md")
        .await
        .unwrap();
    match &read.contents[0] {
        ResourceContents::Text(t) => {
            assert_eq!(t.text, "deep");
            assert_eq!(t.mime_type.as_deref(), Some("text/markdown"));
        }
        other => panic!("expected text, got {other:?}"),
    }
    // A name that needs escaping round-trips through its URI.
    std::fs::write(s.root().join("with space.txt"), "spaced").unwrap();
    let read = client
        .read_resource("file:///with%20space.txt")
        .await
        .unwrap();
    assert!(matches!(&read.contents[0], ResourceContents::Text(t) if t.text == "spaced"));
    client.close().await.unwrap();
}

/// Waits for a notification that `pick` accepts.
async fn wait_for(
    rx: &mut mpsc::UnboundedReceiver<ServerNotification>,
    what: &str,
    pick: impl Fn(&ServerNotification) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(n) = rx.recv().await {
            if pick(&n) {
                return;
            }
        }
        panic!("the connection closed before {what}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within 10 s"));
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_on_disk_are_announced_to_legacy_subscribers() {
    let s = Scratch::new("notify-legacy");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let client = Client::builder()
        .era(EraChoice::Legacy(ProtocolVersion::V2025_06_18))
        .on_notification(move |n| {
            let _ = tx.send(n);
        })
        .connect_stdio(command(&s.root(), &[]))
        .await
        .unwrap();
    client
        .subscribe_resource("file:///hello.txt")
        .await
        .unwrap();
    std::fs::write(s.root().join("hello.txt"), "changed").unwrap();
    wait_for(
        &mut rx,
        "resources/updated",
        |n| matches!(n, ServerNotification::ResourceUpdated(p) if p.uri == "file:///hello.txt"),
    )
    .await;
    let read = client.read_resource("file:///hello.txt").await.unwrap();
    assert!(matches!(&read.contents[0], ResourceContents::Text(t) if t.text == "changed"));

    std::fs::write(s.root().join("docs/added.md"), "new").unwrap();
    wait_for(&mut rx, "resources/list_changed", |n| {
        matches!(n, ServerNotification::ResourceListChanged(_))
    })
    .await;
    let uris = resource_uris(&client).await;

    assert!(
        uris.contains(&"file:///docs/added.md".to_owned()),
        "{uris:?}"
    );

    std::fs::remove_dir_all(s.root().join("docs")).unwrap();
    wait_for(&mut rx, "resources/list_changed", |n| {
        matches!(n, ServerNotification::ResourceListChanged(_))
    })
    .await;
    // The removals may be announced one by one: wait until the list is settled.
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let uris = resource_uris(&client).await;

            if uris == ["file:///hello.txt"] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the removed files leave the list");
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_are_announced_to_modern_listeners_over_http() {
    let s = Scratch::new("notify-modern");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_filesystem"))
        .args([
            "--root",
            s.root().to_str().unwrap(),
            "--write",
            "--http",
            &addr,
        ])
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://{addr}/mcp");
    let client = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match Client::builder()
                .era(EraChoice::Modern)
                .connect_http(url.clone())
                .await
            {
                Ok(client) => return client,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
    .expect("the HTTP server answers within 20 s");
    let filter = SubscriptionFilter::new()
        .with_resources_list_changed(true)
        .with_resource_subscriptions(vec!["file:///hello.txt".into()]);
    let mut listen = client.listen(filter).await.unwrap();
    ok(
        &client,
        "write_file",
        json!({"path": "hello.txt", "content": "via http"}),
    )
    .await;
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match listen.next().await {
                Some(Ok(ServerNotification::ResourceUpdated(p))) => return p.uri,
                Some(Ok(_)) => continue,
                other => panic!("the subscription ended: {other:?}"),
            }
        }
    })
    .await
    .expect("resources/updated within 10 s");
    assert_eq!(got, "file:///hello.txt");
    drop(listen);
    let _ = client.close().await;
    server.kill().unwrap();
    let _ = server.wait();
}

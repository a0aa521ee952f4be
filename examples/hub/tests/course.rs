//! The `hub` binary in front of the course's own servers, `examples/filesystem` and
//! `examples/database`, and, when `cargo xtask interop` (or `ci`) set them up, servers oxmcp
//! did not write: the Python SDK's `MCPServer` and the npm
//! `@modelcontextprotocol/server-filesystem` (see `foreign.rs`).
//!
//! The example binaries are found beside the hub's (`cargo test --workspace` builds them);
//! without them the test says so and passes, unless `CI` is set: then it fails.

use std::path::PathBuf;
use std::time::Duration;

use oxmcp::client::Client;
use oxmcp::protocol::content::ContentBlock;
use oxmcp::transport::stdio::ChildCommand;
use serde_json::{json, Value};

/// The debug binary of `examples/<name>`, beside the hub's.
fn example(name: &str) -> Option<PathBuf> {
    let hub = PathBuf::from(env!("CARGO_BIN_EXE_hub"));
    let path = hub.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing in CI: build it (cargo build -p {name})",
        path.display()
    );
    eprintln!(
        "skipped: {} is missing (cargo build -p {name})",
        path.display()
    );
    None
}

/// The foreign servers, if set up: (python, its scripts dir, server-filesystem's entry).
fn foreign() -> Option<(String, String, String)> {
    let var = |v: &str| std::env::var(v).ok().filter(|s| !s.is_empty());
    let found = (
        var("OXMCP_INTEROP_PYTHON")?,
        var("OXMCP_INTEROP_DIR")?,
        var("OXMCP_SERVER_FILESYSTEM")?,
    );
    Some(found)
}

fn text(content: &[ContentBlock]) -> String {
    match &content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

async fn call(client: &Client, name: &str, args: Value) -> (bool, String) {
    let result = client.call_tool(name, args).await.unwrap();
    (result.is_error(), text(&result.content))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_course_servers_and_foreign_ones_in_one_hub() {
    let (Some(filesystem), Some(database)) = (example("filesystem"), example("database")) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("oxmcp-hub-course-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("files")).unwrap();
    std::fs::write(dir.join("files/hello.txt"), "hello from disk").unwrap();
    let db = dir.join("app.db");

    // The database, made through the example itself with --write.
    let seed = Client::builder()
        .connect_stdio(
            ChildCommand::new(&database)
                .arg("--db")
                .arg(&db)
                .arg("--write"),
        )
        .await
        .unwrap();
    for sql in [
        "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT)",
        "INSERT INTO books VALUES (1, 'Dune'), (2, 'Emma')",
    ] {
        let r = seed.call_tool("query", json!({"sql": sql})).await.unwrap();
        assert!(!r.is_error(), "{sql}: {}", text(&r.content));
    }
    seed.close().await.unwrap();

    let root = dir.join("files");
    let mut servers = json!({
        "files": {
            "command": filesystem,
            "args": ["--root", root, "--write"]
        },
        "db": {
            "command": database,
            "args": ["--db", db, "--audit", dir.join("audit.log")]
        }
    });
    let foreign = foreign();
    if let Some((python, scripts, npm_fs)) = &foreign {
        servers["py"] = json!({
            "command": python,
            "args": [format!("{scripts}/server.py")],
            "timeout": 20
        });
        servers["npmfs"] = json!({
            "command": "node",
            "args": [npm_fs, root],
            "allow": ["read_text_file", "list_directory"]
        });
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the foreign servers must be set up in CI (cargo xtask interop)"
        );
        eprintln!("the foreign servers are not set up: the hub runs the course's only");
    }
    let config = dir.join("hub.json");
    std::fs::write(&config, json!({ "mcpServers": servers }).to_string()).unwrap();

    let hub = tokio::time::timeout(
        Duration::from_secs(60),
        Client::builder().connect_stdio(
            ChildCommand::new(env!("CARGO_BIN_EXE_hub"))
                .arg("--config")
                .arg(&config),
        ),
    )
    .await
    .expect("the hub starts within 60 s")
    .expect("connect to the hub");
    let names: Vec<String> = hub
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    for expected in [
        "files_read_file",
        "files_write_file",
        "files_list_directory",
        "files_search_files",
        "files_move_file",
        "db_list_tables",
        "db_get_table",
        "db_query",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }

    // One back end writes, the other (ours or the reference one) reads it.
    let (failed, out) = call(
        &hub,
        "files_write_file",
        json!({"path": "from-hub.txt", "content": "written through the hub"}),
    )
    .await;
    assert!(!failed, "{out}");
    let (failed, out) = call(&hub, "files_read_file", json!({"path": "from-hub.txt"})).await;
    assert!(!failed && out == "written through the hub", "{out}");
    let (failed, out) = call(&hub, "files_read_file", json!({"path": "../app.db"})).await;
    assert!(failed && out.contains("refused"), "{out}");

    let (failed, out) = call(&hub, "db_list_tables", json!({})).await;
    assert!(!failed && out == "books", "{out}");
    let (failed, out) = call(
        &hub,
        "db_get_table",
        json!({"table": "books", "limit": 1, "offset": 1}),
    )
    .await;
    assert!(
        !failed && out.contains("Emma") && !out.contains("Dune"),
        "{out}"
    );
    let (failed, out) = call(&hub, "db_query", json!({"sql": "DELETE FROM books"})).await;
    assert!(failed && out.contains("read-only"), "{out}");

    if foreign.is_some() {
        let file = root.join("from-hub.txt");
        let (failed, out) = call(
            &hub,
            "npmfs_read_text_file",
            json!({"path": file.to_str().unwrap()}),
        )
        .await;
        assert!(!failed && out == "written through the hub", "{out}");
        let (failed, out) = call(&hub, "py_add", json!({"a": 2, "b": 40})).await;
        assert!(!failed && out == "42", "{out}");
    }
    hub.close().await.unwrap();
    let audit = std::fs::read_to_string(dir.join("audit.log")).unwrap();
    assert!(audit.contains("DELETE FROM books"), "{audit}");
    let _ = std::fs::remove_dir_all(&dir);
}

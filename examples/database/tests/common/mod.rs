//! The checks both databases pass: the `database` example run as a process, spoken to
//! through the oxmcp client.

use std::time::Duration;

use oxmcp::client::Client;
use oxmcp::protocol::content::{ContentBlock, ResourceContents};
use oxmcp::transport::stdio::ChildCommand;
use serde_json::{json, Value};

/// Starts the example on `db` with `extra` flags.
pub async fn connect(db: &str, extra: &[&str]) -> Client {
    Client::builder()
        .connect_stdio(
            ChildCommand::new(env!("CARGO_BIN_EXE_database"))
                .arg("--db")
                .arg(db)
                .args(extra),
        )
        .await
        .expect("connect to the database example")
}

fn text(content: &[ContentBlock]) -> String {
    match &content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// Calls a tool, expecting success; returns its structured result.
pub async fn ok(client: &Client, name: &str, args: Value) -> Value {
    let result = client.call_tool(name, args.clone()).await.unwrap();
    assert!(
        !result.is_error(),
        "{name} {args}: {}",
        text(&result.content)
    );
    result
        .structured_content
        .clone()
        .unwrap_or_else(|| Value::String(text(&result.content)))
}

/// Calls a tool, expecting an `isError` result; returns its text.
pub async fn refused(client: &Client, name: &str, args: Value) -> String {
    let result = client.call_tool(name, args.clone()).await.unwrap();
    assert!(
        result.is_error(),
        "{name} {args} succeeded: {:?}",
        result.content
    );
    text(&result.content)
}

async fn count(client: &Client) -> i64 {
    let rows = ok(
        client,
        "query",
        json!({"sql": "SELECT count(*) AS n FROM users"}),
    )
    .await;
    rows["rows"][0]["n"].as_i64().expect("a count")
}

/// Creates the table `users` (3 rows) through the example with `--write`.
pub async fn seed(db: &str) {
    let client = connect(db, &["--write"]).await;
    for sql in [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL)",
        "INSERT INTO users (id, name, score) VALUES (1, 'ada', 9.5), (2, 'bob', 7.0), (3, 'cy', NULL)",
    ] {
        ok(&client, "query", json!({"sql": sql})).await;
    }
    let inserted = ok(
        &client,
        "query",
        json!({"sql": "UPDATE users SET score = 8.0 WHERE id = 2"}),
    )
    .await;
    assert_eq!(inserted["rows_affected"], 1, "{inserted}");
    client.close().await.unwrap();
}

/// The checks on a seeded database, read-only.
pub async fn read_only_checks(db: &str, audit: &std::path::Path) {
    let client = connect(db, &["--audit", audit.to_str().unwrap()]).await;
    assert_eq!(ok(&client, "list_tables", json!({})).await, "users");

    let page = ok(
        &client,
        "get_table",
        json!({"table": "users", "limit": 2, "offset": 1}),
    )
    .await;
    assert_eq!(
        page["rows"],
        json!([{"id": 2, "name": "bob", "score": 8.0}, {"id": 3, "name": "cy", "score": null}])
    );
    assert_eq!(page["truncated"], false);

    let rows = ok(
        &client,
        "query",
        json!({"sql": "SELECT name FROM users WHERE score > 8.5"}),
    )
    .await;
    assert_eq!(rows["rows"], json!([{"name": "ada"}]));

    // Changes are refused by the database, whatever the statement looks like.
    for sql in [
        "DELETE FROM users",
        "drop table users",
        "UPDATE users SET name = 'x'",
        "/* harmless */ INSERT INTO users (id, name) VALUES (9, 'eve')",
        "WITH gone AS (DELETE FROM users RETURNING id) SELECT count(*) FROM gone",
        "CREATE TABLE other (x INTEGER)",
    ] {
        let message = refused(&client, "query", json!({"sql": sql})).await;
        assert!(message.contains("refused"), "{sql}: {message}");
    }
    // Stacked statements: the second never runs.
    let _ = client
        .call_tool("query", json!({"sql": "SELECT 1; DROP TABLE users"}))
        .await
        .unwrap();
    assert_eq!(count(&client).await, 3);

    // Injection through the table name: only names the database lists are taken.
    for table in [
        "users; DROP TABLE users",
        "users\" ; DROP TABLE users; --",
        "users WHERE 1=1 --",
        "(SELECT * FROM users)",
    ] {
        let message = refused(&client, "get_table", json!({"table": table, "limit": 1})).await;
        assert!(message.contains("no table"), "{table}: {message}");
    }
    let message = refused(&client, "get_table", json!({"table": "users", "limit": -1})).await;
    assert!(message.contains("0 or more"), "{message}");
    assert_eq!(count(&client).await, 3);

    // The schema resource.
    let read = client.read_resource("db://schema").await.unwrap();
    let ResourceContents::Text(schema) = &read.contents[0] else {
        panic!("expected text");
    };
    let schema: Value = serde_json::from_str(&schema.text).unwrap();
    let columns: Vec<&str> = schema["tables"]["users"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["id", "name", "score"]);
    assert_eq!(schema["tables"]["users"]["columns"][1]["nullable"], false);
    client.close().await.unwrap();

    let log = std::fs::read_to_string(audit).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.iter().any(|l| l["tool"] == "query"
            && l["detail"]["sql"] == "DELETE FROM users"
            && l["error"].is_string()),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["tool"] == "get_table" && l["rows"] == 2),
        "{log}"
    );
    assert!(lines.iter().all(|l| l["time"].is_number()));
}

/// The row cap and the time limit.
pub async fn limit_checks(db: &str, endless: &str) {
    let client = connect(db, &["--max-rows", "2", "--timeout", "300"]).await;
    let rows = ok(
        &client,
        "query",
        json!({"sql": "SELECT id FROM users ORDER BY id"}),
    )
    .await;
    assert_eq!(rows["rows"], json!([{"id": 1}, {"id": 2}]));
    assert_eq!(rows["truncated"], true);
    let message = tokio::time::timeout(
        Duration::from_secs(10),
        refused(&client, "query", json!({"sql": endless})),
    )
    .await
    .expect("the time limit stops the statement");
    assert!(message.contains("--timeout"), "{message}");
    // The connection is fine afterwards.
    assert_eq!(count(&client).await, 3);
    client.close().await.unwrap();
}

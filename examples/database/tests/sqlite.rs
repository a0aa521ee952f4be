//! The `database` example on SQLite (bundled: nothing to install).

mod common;

use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oxmcp-db-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_read_only_limits_injection_schema_and_audit() {
    let dir = scratch("sqlite");
    let db = dir.join("app.db");
    let db = db.to_str().unwrap();
    common::seed(db).await;
    common::read_only_checks(db, &dir.join("audit.log")).await;
    common::limit_checks(
        db,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_sqlite_file_is_not_created_read_only() {
    let dir = scratch("missing");
    let db = dir.join("none.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_database"))
        .arg("--db")
        .arg(&db)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open the SQLite database"));
    assert!(!db.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

//! The `database` example on a real PostgreSQL, started by the test: Debian's `postgresql`
//! package (`initdb` and `pg_ctl` from `/usr/lib/postgresql/*/bin`), a cluster in a temp
//! dir on a free loopback port, stopped by its PID at the end. As root (CI), the server
//! runs as the `postgres` user, since PostgreSQL refuses to run as root.
//!
//! Without the package the test says so and passes, unless `CI` is set: then it fails
//! (`cargo xtask ci` installs the package when it is missing).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running cluster; stopped (by PID) and removed on drop.
struct Cluster {
    dir: PathBuf,
    port: u16,
    pid: Option<u32>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            // SIGINT: PostgreSQL's fast shutdown.
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
            for _ in 0..100 {
                if !Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The directory of the newest PostgreSQL's programs, if installed.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
        .collect();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL program, as `postgres` when we are root.
fn pg(bin: &Path, program: &str, args: &[&str]) -> Command {
    let exe = bin.join(program);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe).args(args);
        c
    } else {
        let mut c = Command::new(exe);
        c.args(args);
        c
    }
}

fn run(mut command: Command, what: &str) {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start() -> Option<Cluster> {
    let Some(bin) = bin_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL must be installed in CI (apt-get install postgresql)"
        );
        eprintln!("skipped: no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("oxmcp-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cluster = Cluster {
        dir: dir.clone(),
        port,
        pid: None,
    };
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "postgres:postgres"]).arg(&dir);
                c
            },
            "chown",
        );
    }
    let data = dir.join("data");
    let data_s = data.to_str().unwrap();
    run(
        pg(
            &bin,
            "initdb",
            &[
                "-D",
                data_s,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        ),
        "initdb",
    );
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
        dir.to_str().unwrap()
    );
    let log = dir.join("log");
    run(
        pg(
            &bin,
            "pg_ctl",
            &[
                "-D",
                data_s,
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        ),
        "pg_ctl start",
    );
    let pid = std::fs::read_to_string(data.join("postmaster.pid")).unwrap();
    cluster.pid = pid.lines().next().and_then(|l| l.trim().parse().ok());
    Some(cluster)
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_read_only_limits_injection_schema_and_audit() {
    let Some(cluster) = start() else {
        return;
    };
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    common::seed(&url).await;
    common::read_only_checks(&url, &cluster.dir.join("audit.log")).await;
    common::limit_checks(&url, "SELECT pg_sleep(30)").await;
    // Leaving the read-only transaction from inside it does not open a writable one.
    let client = common::connect(&url, &[]).await;
    let _ = client
        .call_tool("query", serde_json::json!({"sql": "COMMIT"}))
        .await
        .unwrap();
    let message = common::refused(
        &client,
        "query",
        serde_json::json!({"sql": "DELETE FROM users"}),
    )
    .await;
    assert!(message.contains("read-only"), "{message}");
    client.close().await.unwrap();
}

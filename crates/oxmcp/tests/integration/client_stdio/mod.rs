//! The stdio client with real child processes (`sh` scripts standing in for servers):
//! legacy servers that quit on the `server/discover` probe, and how a child is stopped.

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oxmcp::client::{Client, EraChoice};
use oxmcp::protocol::ProtocolVersion;
use oxmcp::transport::stdio::{ChildCommand, StderrMode};

/// A legacy server in `sh`: appends `start` to `$LOG` when it starts, exits at once when
/// the first line is not `initialize` (as rmcp 1.x/2.x do), answers `initialize` and
/// `ping`, and runs `$AFTER` (default: exit) once stdin ends.
const LEGACY_SH: &str = r#"
echo start >> "$LOG"
read -r line || exit 1
case "$line" in
  *'"method":"initialize"'*) ;;
  *) echo "expected initialize" >&2; exit 1 ;;
esac
id() { printf '%s' "$1" | sed -n 's/^{"jsonrpc":"2.0","id":\([0-9]*\).*/\1/p'; }
printf '{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"sh-legacy","version":"1"}}}\n' "$(id "$line")"
while read -r line; do
  case "$line" in
    *'"method":"ping"'*) printf '{"jsonrpc":"2.0","id":%s,"result":{}}\n' "$(id "$line")" ;;
  esac
done
eval "${AFTER:-exit 0}"
"#;

/// A scratch directory of this test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("oxmcp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn legacy_sh(scratch: &Scratch, after: &str) -> ChildCommand {
    ChildCommand::new("sh")
        .args(["-c", LEGACY_SH])
        .env("LOG", scratch.path("log"))
        .env("AFTER", after)
        .stderr(StderrMode::Capture)
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command name in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Waits up to 5 s for `pid` to be gone.
async fn wait_gone(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Waits up to 5 s for `file` to hold a number.
async fn read_pid(file: &Path) -> u32 {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(Ok(pid)) = std::fs::read_to_string(file).map(|s| s.trim().parse()) {
            return pid;
        }
        assert!(Instant::now() < until, "no pid in {}", file.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn auto_mode_starts_again_a_server_that_quits_on_discover() {
    let scratch = Scratch::new("respawn");
    let client = tokio::time::timeout(
        Duration::from_secs(5),
        Client::builder().connect_stdio(legacy_sh(&scratch, "exit 0")),
    )
    .await
    .expect("connected within 5 s")
    .expect("connected after starting the server again");
    assert_eq!(client.protocol_version(), ProtocolVersion::V2025_11_25);
    assert_eq!(client.server_info().unwrap().name, "sh-legacy");
    client.ping().await.unwrap();
    // Started twice: the probe, then the legacy handshake.
    assert_eq!(
        scratch.read("log").lines().count(),
        2,
        "{}",
        scratch.read("log")
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn auto_mode_says_what_it_tried_when_the_fresh_start_fails_too() {
    let scratch = Scratch::new("respawn-fails");
    let command = ChildCommand::new("sh")
        .args(["-c", r#"echo start >> "$LOG"; read -r line; exit 1"#])
        .env("LOG", scratch.path("log"));
    let err = Client::builder().connect_stdio(command).await.unwrap_err();
    assert!(err.is_closed(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("server/discover") && message.contains("initialize"),
        "{message}"
    );
    assert_eq!(scratch.read("log").lines().count(), 2);
}

#[tokio::test]
async fn connect_io_says_why_a_probe_closed() {
    // Over plain streams nothing can be started again: the error explains instead.
    let (client_end, server_end) = tokio::io::duplex(4096);
    drop(server_end);
    let (read, write) = tokio::io::split(client_end);
    let err = Client::builder().connect_io(read, write).await.unwrap_err();
    assert!(err.is_closed(), "{err:?}");
    let source = std::error::Error::source(&err)
        .expect("a cause")
        .to_string();
    assert!(source.contains("EraChoice::Legacy"), "{source}");
}

#[tokio::test]
async fn close_sends_sigterm_to_a_server_that_ignores_stdin_eof() {
    let scratch = Scratch::new("sigterm");
    // Ignores the end of stdin; on SIGTERM notes it and exits.
    let after = format!(
        r#"trap 'echo term > "{}"; exit 0' TERM; while :; do sleep 0.05; done"#,
        scratch.path("mark").display()
    );
    let command = legacy_sh(&scratch, &after).shutdown_grace(Duration::from_millis(300));
    let client = Client::builder()
        .era(EraChoice::Legacy(ProtocolVersion::V2025_11_25))
        .connect_stdio(command)
        .await
        .unwrap();
    let pid = client.child_process().unwrap().id().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), client.close())
        .await
        .expect("closed within 5 s")
        .unwrap();
    // Its handler ran: SIGTERM came before any SIGKILL.
    assert_eq!(scratch.read("mark").trim(), "term");
    assert!(wait_gone(pid).await);
}

/// A server that starts a grandchild (`sleep`), notes its pid, and waits for it even
/// after stdin ends.
fn with_grandchild(scratch: &Scratch) -> ChildCommand {
    let after = format!(
        r#"sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > "{}"; wait"#,
        scratch.path("grandchild").display()
    );
    legacy_sh(scratch, &after).shutdown_grace(Duration::from_millis(300))
}

async fn legacy_client(command: ChildCommand) -> Client {
    Client::builder()
        .era(EraChoice::Legacy(ProtocolVersion::V2025_11_25))
        .connect_stdio(command)
        .await
        .unwrap()
}

#[tokio::test]
async fn close_stops_the_whole_process_group() {
    let scratch = Scratch::new("group-close");
    let client = legacy_client(with_grandchild(&scratch)).await;
    let child = client.child_process().unwrap().id().await.unwrap();
    // The script starts its grandchild once stdin ends, which close() does first.
    let close = tokio::spawn(client.close());
    let grandchild = read_pid(&scratch.path("grandchild")).await;
    tokio::time::timeout(Duration::from_secs(5), close)
        .await
        .expect("closed within 5 s")
        .unwrap()
        .unwrap();
    assert!(wait_gone(child).await, "the server outlived close()");
    assert!(
        wait_gone(grandchild).await,
        "its grandchild outlived close()"
    );
}

#[tokio::test]
async fn a_dropped_client_leaves_no_orphan() {
    let scratch = Scratch::new("group-drop");
    // The grandchild starts at once here, before the handshake.
    let script =
        format!(r#"sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > "$GRANDCHILD"{LEGACY_SH}"#);
    let command = ChildCommand::new("sh")
        .args(["-c", &script])
        .env("LOG", scratch.path("log"))
        .env("GRANDCHILD", scratch.path("grandchild"))
        .env("AFTER", "wait")
        .stderr(StderrMode::Null);
    let client = legacy_client(command).await;
    let grandchild = read_pid(&scratch.path("grandchild")).await;
    assert!(!gone(grandchild));
    drop(client);
    assert!(
        wait_gone(grandchild).await,
        "a grandchild outlived its dropped client"
    );
}

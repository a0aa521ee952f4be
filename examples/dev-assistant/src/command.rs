//! `run_command`: an allow-listed program, run without a shell in a directory below the
//! root, with a timeout that kills its whole process group and capped output.

use std::process::Stdio;
use std::time::Duration;

use oxmcp::server::{Args, Json, State, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::{execution, St};

/// The variables a command inherits; everything else of the server's environment (keys,
/// tokens) stays out.
const INHERITED: [&str; 5] = ["PATH", "HOME", "LANG", "LC_ALL", "TERM"];

#[derive(Deserialize, JsonSchema)]
pub struct CommandArgs {
    /// The program: one of the names the server allows (`--allow`).
    command: String,
    /// Its arguments, each passed as is (no shell: no globbing, pipes or substitutions).
    #[serde(default)]
    args: Vec<String>,
    /// The directory to run it in, relative to the root (default: the root).
    cwd: Option<String>,
}

/// What a command did.
#[derive(Serialize, JsonSchema)]
pub struct CommandOutput {
    /// Its exit code (`null` when a signal ended it).
    exit_code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Whether output was cut at the limit (`--max-output` bytes per stream).
    truncated: bool,
}

pub async fn run_command(
    State(ws): St,
    Args(args): Args<CommandArgs>,
) -> Result<Json<CommandOutput>, ToolError> {
    if !ws.allow.contains(&args.command) {
        let allowed = if ws.allow.is_empty() {
            "none: start the server with --allow CMD".to_owned()
        } else {
            ws.allow.join(", ")
        };
        return Err(execution(format!(
            "the command {:?} is not allowed (allowed: {allowed})",
            args.command
        )));
    }
    let cwd = ws
        .root
        .existing(args.cwd.as_deref().unwrap_or(""))
        .map_err(execution)?;
    if !cwd.is_dir() {
        return Err(execution(format!(
            "{:?} is not a directory",
            args.cwd.unwrap_or_default()
        )));
    }
    let mut command = tokio::process::Command::new(&args.command);
    command
        .args(&args.args)
        .current_dir(&cwd)
        .env_clear()
        .envs(
            INHERITED
                .iter()
                .filter_map(|k| Some((k, std::env::var_os(k)?))),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so that a timeout kills what it started too.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| execution(format!("cannot run {:?}: {e}", args.command)))?;
    let group = child.id();
    let cap = ws.max_output;
    let stdout = tokio::spawn(capped(child.stdout.take(), cap));
    let stderr = tokio::spawn(capped(child.stderr.take(), cap));
    let status = match tokio::time::timeout(ws.command_timeout, child.wait()).await {
        Ok(status) => status.map_err(|e| execution(format!("{:?} failed: {e}", args.command)))?,
        Err(_) => {
            kill_group(group);
            let _ = child.kill().await;
            stdout.abort();
            stderr.abort();
            return Err(execution(format!(
                "{:?} did not finish within {} s and was killed (--command-timeout)",
                args.command,
                ws.command_timeout.as_secs()
            )));
        }
    };
    // The program is done; a child it left behind may still hold the pipes open.
    kill_group(group);
    let grace = Duration::from_secs(2);
    let (out, out_cut) = tokio::time::timeout(grace, stdout)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let (err, err_cut) = tokio::time::timeout(grace, stderr)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok(Json(CommandOutput {
        exit_code: status.code(),
        stdout: out,
        stderr: err,
        truncated: out_cut || err_cut,
    }))
}

/// Kills the process group `id` leads, if any is left.
fn kill_group(id: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = id.and_then(|id| rustix::process::Pid::from_raw(id as i32)) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    #[cfg(not(unix))]
    let _ = id;
}

/// Reads a stream to its end, keeping its first `cap` bytes (the rest is drained so the
/// program never blocks on a full pipe): the text, and whether it was cut.
async fn capped(stream: Option<impl AsyncRead + Unpin>, cap: usize) -> (String, bool) {
    let Some(mut stream) = stream else {
        return (String::new(), false);
    };
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                cut |= n > room;
            }
        }
    }
    (String::from_utf8_lossy(&kept).into_owned(), cut)
}

//! `read_file` and `list_directory`: the workspace's files, through the filesystem
//! example's path checks.

use oxmcp::server::{Args, State, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::{execution, St};

/// The most entries one listing shows.
const MAX_ENTRIES: usize = 1000;

#[derive(Deserialize, JsonSchema)]
pub struct PathArg {
    /// A path relative to the root, with `/` separators (`""` or `.` is the root).
    path: String,
}

pub async fn read_file(State(ws): St, Args(args): Args<PathArg>) -> Result<String, ToolError> {
    let path = ws.root.file(&args.path).map_err(execution)?;
    let size = tokio::fs::metadata(&path)
        .await
        .map_err(|e| execution(format!("cannot read {:?}: {e}", args.path)))?
        .len();
    if size > ws.max_file {
        return Err(execution(format!(
            "{:?} is {size} bytes, over the limit of {} bytes (--max-file-size); search it with search_code",
            args.path, ws.max_file
        )));
    }
    let data = tokio::fs::read(&path)
        .await
        .map_err(|e| execution(format!("cannot read {:?}: {e}", args.path)))?;
    String::from_utf8(data).map_err(|_| execution(format!("{:?} is not UTF-8 text", args.path)))
}

pub async fn list_directory(State(ws): St, Args(args): Args<PathArg>) -> Result<String, ToolError> {
    let dir = ws.root.existing(&args.path).map_err(execution)?;
    if !dir.is_dir() {
        return Err(execution(format!("{:?} is not a directory", args.path)));
    }
    let mut entries = tokio::fs::read_dir(&dir)
        .await
        .map_err(|e| execution(format!("cannot list {:?}: {e}", args.path)))?;
    let mut lines = Vec::new();
    let mut more = false;
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| execution(format!("cannot list {:?}: {e}", args.path)))?
    {
        if lines.len() == MAX_ENTRIES {
            more = true;
            break;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        lines.push(match entry.file_type().await {
            Ok(t) if t.is_dir() => format!("{name}/"),
            Ok(t) if t.is_symlink() => format!("{name}@"),
            _ => name,
        });
    }
    lines.sort();
    if lines.is_empty() {
        return Ok("(empty directory)".into());
    }
    if more {
        lines.push(format!("... (only the first {MAX_ENTRIES} entries)"));
    }
    Ok(lines.join("\n"))
}

//! `git_status`, `git_diff` and `git_log` with gitoxide (no `git` binary): the repository
//! must be the root itself, so nothing outside the root is shown.

use gix::bstr::{BString, ByteSlice};
use gix::diff::blob::unified_diff::{ConsumeBinaryHunk, ContextSize};
use gix::diff::blob::{diff_with_slider_heuristics, Algorithm, InternedInput, UnifiedDiff};
use gix::diff::index::ChangeRef;
use gix::status::index_worktree::iter::Summary;
use oxmcp::server::{Args, State, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::search::floor_char_boundary;
use crate::{execution, St, Workspace};

/// The most commits `git_log` shows, and the most entries `git_status` lists.
const MAX_COMMITS: usize = 200;
const MAX_ENTRIES: usize = 1000;

/// Runs `work` on a blocking thread with the repository at the root.
async fn with_repo<T: Send + 'static>(
    ws: std::sync::Arc<Workspace>,
    work: impl FnOnce(&Workspace, gix::Repository) -> Result<T, String> + Send + 'static,
) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(move || {
        // No config section is trusted for the settings that name programs: a
        // repository's own config could otherwise have status run its filter drivers
        // (`filter.NAME.clean`), commands outside `--allow`.
        let options = gix::open::Options::default().filter_config_section(|_| false);
        let repo = gix::open_opts(ws.root.real(), options).map_err(|e| {
            format!("the workspace root is not a git repository (or cannot be read): {e}")
        })?;
        work(&ws, repo)
    })
    .await
    .map_err(|e| ToolError::internal(e.to_string()))?
    .map_err(execution)
}

/// A path's `git status` word.
fn summary_word(summary: Summary) -> &'static str {
    match summary {
        Summary::Removed => "deleted",
        Summary::Added => "untracked",
        Summary::Modified => "modified",
        Summary::TypeChange => "type changed",
        Summary::Renamed => "renamed",
        Summary::Copied => "copied",
        Summary::IntentToAdd => "intent to add",
        Summary::Conflict => "conflict",
    }
}

fn change_word(change: &ChangeRef<'_, '_>) -> &'static str {
    match change {
        ChangeRef::Addition { .. } => "added",
        ChangeRef::Deletion { .. } => "deleted",
        ChangeRef::Modification { .. } => "modified",
        ChangeRef::Rewrite { copy: true, .. } => "copied",
        ChangeRef::Rewrite { .. } => "renamed",
    }
}

/// Every change of the status: `(staged, word, path)`, and the unstaged modifications'
/// index blob ids for the diff.
type Changes = Vec<(bool, &'static str, String, Option<gix::ObjectId>)>;

fn changes(repo: &gix::Repository) -> Result<Changes, String> {
    let iter = repo
        .status(gix::progress::Discard)
        .map_err(|e| format!("git status failed: {e}"))?
        .untracked_files(gix::status::UntrackedFiles::Files)
        .into_iter(Vec::<BString>::new())
        .map_err(|e| format!("git status failed: {e}"))?;
    let mut found = Vec::new();
    for item in iter {
        let item = item.map_err(|e| format!("git status failed: {e}"))?;
        match item {
            gix::status::Item::TreeIndex(change) => {
                let (location, _, _, id) = change.fields();
                found.push((
                    true,
                    change_word(&change),
                    location.to_str_lossy().into_owned(),
                    Some(id.to_owned()),
                ));
            }
            gix::status::Item::IndexWorktree(item) => {
                let Some(summary) = item.summary() else {
                    continue;
                };
                let id = match &item {
                    gix::status::index_worktree::Item::Modification { entry, .. } => Some(entry.id),
                    _ => None,
                };
                found.push((
                    false,
                    summary_word(summary),
                    item.rela_path().to_str_lossy().into_owned(),
                    id,
                ));
            }
        }
        if found.len() > MAX_ENTRIES {
            break;
        }
    }
    found.sort_by(|a, b| (!a.0, &a.2).cmp(&(!b.0, &b.2)));
    Ok(found)
}

pub async fn git_status(State(ws): St) -> Result<String, ToolError> {
    with_repo(ws, |_, repo| {
        let found = changes(&repo)?;
        if found.is_empty() {
            return Ok("nothing to commit, working tree clean".to_owned());
        }
        let mut lines: Vec<String> = found
            .iter()
            .take(MAX_ENTRIES)
            .map(|(staged, word, path, _)| {
                let area = if *staged { "staged" } else { "unstaged" };
                format!("{area} {word}: {path}")
            })
            .collect();
        if found.len() > MAX_ENTRIES {
            lines.push(format!("... (only the first {MAX_ENTRIES} changes)"));
        }
        Ok(lines.join("\n"))
    })
    .await
}

#[derive(Deserialize, JsonSchema)]
pub struct DiffArgs {
    /// Only files at or below this path, relative to the root.
    path: Option<String>,
    /// The staged changes (HEAD against the index) instead of the unstaged ones (the index
    /// against the working tree).
    #[serde(default)]
    staged: bool,
}

pub async fn git_diff(State(ws): St, Args(args): Args<DiffArgs>) -> Result<String, ToolError> {
    if let Some(path) = &args.path {
        crate::paths::lexical(path).map_err(execution)?;
    }
    with_repo(ws, move |ws, repo| {
        let prefix = args
            .path
            .as_deref()
            .map(|p| p.trim_start_matches("./").trim_end_matches('/'))
            .unwrap_or("");
        let mut out = String::new();
        for (staged, word, path, id) in changes(&repo)? {
            let below = prefix.is_empty()
                || path == prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|r| r.starts_with('/'));
            if staged != args.staged || !below || word == "untracked" {
                continue;
            }
            if out.len() > ws.max_output {
                out.truncate(floor_char_boundary(&out, ws.max_output));
                out.push_str(&format!(
                    "\n... (stopped at {} bytes, --max-output)\n",
                    ws.max_output
                ));
                return Ok(out);
            }
            let (before, after) = if args.staged {
                staged_sides(&repo, &path)?
            } else {
                let before = match id {
                    Some(id) => blob(&repo, id)?,
                    None => blob_in_index(&repo, &path)?,
                };
                let after = std::fs::read(ws.root.real().join(&path)).unwrap_or_default();
                (before, after)
            };
            out.push_str(&unified(&path, &before, &after)?);
        }
        if out.is_empty() {
            let which = if args.staged { "staged" } else { "unstaged" };
            return Ok(format!("no {which} changes"));
        }
        Ok(out)
    })
    .await
}

fn blob(repo: &gix::Repository, id: gix::ObjectId) -> Result<Vec<u8>, String> {
    Ok(repo
        .find_blob(id)
        .map_err(|e| format!("cannot read the blob {id}: {e}"))?
        .data
        .clone())
}

fn blob_in_index(repo: &gix::Repository, path: &str) -> Result<Vec<u8>, String> {
    let index = repo
        .index_or_empty()
        .map_err(|e| format!("cannot read the index: {e}"))?;
    match index.entry_by_path(path.as_bytes().as_bstr()) {
        Some(entry) => blob(repo, entry.id),
        None => Ok(Vec::new()),
    }
}

/// A staged file's content in HEAD and in the index.
fn staged_sides(repo: &gix::Repository, path: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let before = match repo.head_tree() {
        Ok(tree) => match tree
            .lookup_entry_by_path(path)
            .map_err(|e| format!("cannot read HEAD's tree: {e}"))?
        {
            Some(entry) => blob(repo, entry.object_id())?,
            None => Vec::new(),
        },
        // No commit yet: everything staged is new.
        Err(_) => Vec::new(),
    };
    Ok((before, blob_in_index(repo, path)?))
}

/// A unified diff of one file, three lines of context.
fn unified(path: &str, before: &[u8], after: &[u8]) -> Result<String, String> {
    let head = format!("--- a/{path}\n+++ b/{path}\n");
    let binary = |data: &[u8]| data[..data.len().min(8000)].contains(&0);
    if binary(before) || binary(after) {
        return Ok(format!("{head}Binary files differ\n"));
    }
    let input = InternedInput::new(before, after);
    let diff = diff_with_slider_heuristics(Algorithm::Histogram, &input);
    let hunks = UnifiedDiff::new(
        &diff,
        &input,
        ConsumeBinaryHunk::new(Vec::new(), "\n"),
        ContextSize::symmetrical(3),
    )
    .consume()
    .map_err(|e| format!("cannot diff {path}: {e}"))?;
    Ok(format!("{head}{}", String::from_utf8_lossy(&hunks)))
}

#[derive(Deserialize, JsonSchema)]
pub struct LogArgs {
    /// At most this many commits, newest first (default 20, at most 200).
    max_count: Option<usize>,
}

pub async fn git_log(State(ws): St, Args(args): Args<LogArgs>) -> Result<String, ToolError> {
    let max = args.max_count.unwrap_or(20).clamp(1, MAX_COMMITS);
    with_repo(ws, move |_, repo| {
        let head = match repo.head_commit() {
            Ok(head) => head,
            Err(_) => return Ok("no commits yet".to_owned()),
        };
        let walk = head
            .ancestors()
            .all()
            .map_err(|e| format!("cannot walk the history: {e}"))?;
        let mut lines = Vec::new();
        for info in walk.take(max) {
            let info = info.map_err(|e| format!("cannot walk the history: {e}"))?;
            let commit = info
                .object()
                .map_err(|e| format!("cannot read commit {}: {e}", info.id))?;
            let summary = commit
                .message()
                .map(|m| m.summary().to_str_lossy().into_owned())
                .unwrap_or_default();
            let (author, when) = match commit.author() {
                Ok(sig) => (
                    sig.name.to_str_lossy().into_owned(),
                    sig.time()
                        .map(|t| t.format_or_unix(gix::date::time::format::SHORT))
                        .unwrap_or_default(),
                ),
                Err(_) => (String::new(), String::new()),
            };
            lines.push(format!(
                "{} {when} {author}: {summary}",
                info.id.to_hex_with_len(8)
            ));
        }
        Ok(lines.join("\n"))
    })
    .await
}

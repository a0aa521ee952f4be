//! `search_code`: a regex over the workspace's files as ripgrep searches: `.gitignore`,
//! `.ignore` and hidden files respected, binary files skipped, matches and bytes capped.

use std::path::Path;

use grep_regex::RegexMatcherBuilder;
use grep_searcher::sinks::Lossy;
use grep_searcher::{BinaryDetection, SearcherBuilder};
use ignore::WalkBuilder;
use oxmcp::server::{Args, State, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::{execution, St, Workspace};

/// The default and largest number of matching lines one search returns.
const DEFAULT_MATCHES: usize = 100;
const MAX_MATCHES: usize = 1000;
/// A matching line is shown up to this many bytes.
const MAX_LINE: usize = 300;
/// Files larger than this are not searched.
const MAX_SEARCHED_FILE: u64 = 10 << 20;

#[derive(Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// A regular expression (Rust `regex` syntax), matched line by line.
    pattern: String,
    /// Where to search, relative to the root (default: the whole workspace).
    path: Option<String>,
    /// Only files whose path matches this glob, e.g. `*.rs` (gitignore syntax).
    glob: Option<String>,
    /// Ignore case.
    #[serde(default)]
    case_insensitive: bool,
    /// At most this many matching lines (default 100, at most 1000).
    max_matches: Option<usize>,
}

pub async fn search_code(State(ws): St, Args(args): Args<SearchArgs>) -> Result<String, ToolError> {
    let start = ws
        .root
        .existing(args.path.as_deref().unwrap_or(""))
        .map_err(execution)?;
    tokio::task::spawn_blocking(move || search(&ws, &start, &args))
        .await
        .map_err(|e| ToolError::internal(e.to_string()))?
}

fn search(ws: &Workspace, start: &Path, args: &SearchArgs) -> Result<String, ToolError> {
    let matcher = RegexMatcherBuilder::new()
        .case_insensitive(args.case_insensitive)
        .line_terminator(Some(b'\n'))
        .build(&args.pattern)
        .map_err(|e| {
            execution(format!(
                "the pattern {:?} is not a valid regex: {e}",
                args.pattern
            ))
        })?;
    let max = args
        .max_matches
        .unwrap_or(DEFAULT_MATCHES)
        .clamp(1, MAX_MATCHES);
    let mut walk = WalkBuilder::new(start);
    // .gitignore applies even in a workspace that is not a git repository; links are not
    // followed, so the search stays below the root.
    walk.require_git(false)
        .follow_links(false)
        .max_filesize(Some(MAX_SEARCHED_FILE));
    if let Some(glob) = &args.glob {
        let mut overrides = ignore::overrides::OverrideBuilder::new(start);
        overrides
            .add(glob)
            .map_err(|e| execution(format!("the glob {glob:?} is not valid: {e}")))?;
        walk.overrides(
            overrides
                .build()
                .map_err(|e| execution(format!("the glob {glob:?} is not valid: {e}")))?,
        );
    }
    let mut searcher = SearcherBuilder::new()
        .binary_detection(BinaryDetection::quit(0))
        .line_number(true)
        .build();
    let mut out = String::new();
    let mut found = 0;
    let mut stopped = None;
    for entry in walk.build() {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Some(shown) = ws.root.relative(entry.path()) else {
            continue;
        };
        let result = searcher.search_path(
            &matcher,
            entry.path(),
            Lossy(|number, line| {
                if found == max {
                    stopped = Some(format!("stopped after {max} matches"));
                    return Ok(false);
                }
                if out.len() > ws.max_output {
                    stopped = Some(format!("stopped at {} bytes (--max-output)", ws.max_output));
                    return Ok(false);
                }
                found += 1;
                let line = line.trim_end();
                let cut = floor_char_boundary(line, MAX_LINE);
                let more = if cut < line.len() { " ..." } else { "" };
                out.push_str(&format!("{shown}:{number}: {}{more}\n", &line[..cut]));
                Ok(true)
            }),
        );
        if let Err(e) = result {
            tracing::debug!(path = %shown, "search skipped a file: {e}");
        }
        if stopped.is_some() {
            break;
        }
    }
    if found == 0 {
        return Ok(format!("no match for {:?}", args.pattern));
    }
    if let Some(why) = stopped {
        out.push_str(&format!("... ({why})\n"));
    }
    Ok(out)
}

/// The largest index `<= max` on a character boundary of `s`.
pub fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

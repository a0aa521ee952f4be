//! `filesystem`: the course's filesystem server (chapter 8). File access bounded to one
//! directory, read-only unless `--write`.
//!
//! ```text
//! filesystem --root DIR [--write] [--http ADDR] [--max-size BYTES]
//!            [--extensions LIST] [--page-size N] [--max-resources N]
//! ```
//!
//! Tools: `read_file {path}`, `list_directory {path}`, `search_files {pattern}`, and with
//! `--write` also `write_file {path, content}` and `move_file {source, destination}`.
//! Paths are relative to the root, with `/` separators. Every file below the root is listed
//! as a resource `file:///{path}` (in pages of `--page-size`), and the template
//! `file:///{+path}` reads any of them. Changes on disk (by the tools or anyone else) are
//! announced: `notifications/resources/list_changed` when files appear or go,
//! `notifications/resources/updated` to the subscribers of a file that changed.
//!
//! Refused, with a message that says why: absolute paths, `..`, Windows-style paths
//! (backslashes, drive letters), percent-encoded paths, symbolic links that lead outside
//! the root, files whose extension is not on the allow-list (`--extensions`, comma
//! separated, `*` for any; default: common text formats), files over `--max-size` bytes
//! (default 1 MiB) both ways.
//!
//! Over stdio by default, or over Streamable HTTP at `http://ADDR/mcp` with `--http ADDR`.
//! Logs go to stderr (`RUST_LOG`).

mod glob;
mod paths;
mod watch;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use oxmcp::server::{
    mime_type_for, resource, tool, Args, FileContents, ResourceUri, Router, ServerHandle, State,
    ToolError,
};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::glob::Glob;
use crate::paths::Root;

/// The URI prefix of the files: `file:///` names the root.
const SCHEME: &str = "file:///";

/// The extensions allowed without `--extensions`.
const DEFAULT_EXTENSIONS: &str =
    "txt,md,markdown,json,yaml,yml,toml,csv,tsv,xml,html,css,js,ts,rs,py,go,c,h,sh,log,ini,cfg";

/// The most results of one `search_files` or `list_directory`.
const MAX_RESULTS: usize = 1000;

/// The most entries one tree walk visits, so a huge tree cannot stall a call.
const MAX_WALK: usize = 100_000;

/// The server's state.
struct Fs {
    root: Root,
    max_size: u64,
    max_resources: usize,
    /// The files listed as resources (paths relative to the root).
    listed: Mutex<BTreeSet<String>>,
    handle: ServerHandle<Arc<Fs>>,
}

type St = State<Arc<Fs>>;

fn execution(message: String) -> ToolError {
    ToolError::execution(message)
}

impl Fs {
    /// Reads a file below the root, within the size limit.
    async fn read(&self, relative: &str) -> Result<(PathBuf, Vec<u8>), String> {
        let path = self.root.file(relative)?;
        let size = tokio::fs::metadata(&path)
            .await
            .map_err(|e| format!("cannot read {relative:?}: {e}"))?
            .len();
        self.check_size(relative, size)?;
        let mut data = Vec::new();
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| format!("cannot read {relative:?}: {e}"))?;
        // The file may grow between the check and the read: read at most the limit.
        use tokio::io::AsyncReadExt as _;
        file.take(self.max_size + 1)
            .read_to_end(&mut data)
            .await
            .map_err(|e| format!("cannot read {relative:?}: {e}"))?;
        self.check_size(relative, data.len() as u64)?;
        Ok((path, data))
    }

    fn check_size(&self, relative: &str, size: u64) -> Result<(), String> {
        if size > self.max_size {
            return Err(format!(
                "{relative:?} is {size} bytes, over the limit of {} bytes (--max-size)",
                self.max_size
            ));
        }
        Ok(())
    }

    /// The allowed files below the root (relative paths, sorted), at most `limit`; symbolic
    /// links to directories are not followed.
    fn walk(&self, limit: usize, keep: impl Fn(&str) -> bool) -> (Vec<String>, bool) {
        let mut found = Vec::new();
        let mut stack = vec![self.root.real().to_path_buf()];
        let mut visited = 0;
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                visited += 1;
                if visited > MAX_WALK {
                    return (found, true);
                }
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                let path = entry.path();
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() && self.root.allows(&path) {
                    let Some(rel) = self.root.relative(&path) else {
                        continue;
                    };
                    if keep(&rel) {
                        if found.len() == limit {
                            return (found, true);
                        }
                        found.push(rel);
                    }
                }
            }
        }
        found.sort();
        (found, false)
    }

    /// Makes the resource list match the disk: adds the files that appeared, removes the
    /// ones that went (each change announced as `list_changed`).
    fn sync_resources(self: &Arc<Self>) {
        let (now, truncated) = self.walk(self.max_resources, |_| true);
        if truncated {
            tracing::warn!(
                "more than {} files below the root: only the first are listed as resources \
                 (--max-resources)",
                self.max_resources
            );
        }
        let now: BTreeSet<String> = now.into_iter().collect();
        let mut listed = self.listed.lock().unwrap_or_else(|e| e.into_inner());
        for gone in listed.difference(&now) {
            self.handle.remove_resource(&uri_of(gone));
        }
        for new in now.difference(&listed) {
            let def = resource(read_resource)
                .name(new.clone())
                .mime_type(mime_type_for(Path::new(new)));
            if let Err(e) = self.handle.add_resource(&uri_of(new), def) {
                tracing::warn!("cannot list {new:?}: {e}");
            }
        }
        *listed = now;
    }
}

/// The characters a path keeps unescaped in a URI: unreserved ones and `/`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The URI of a file below the root.
fn uri_of(relative: &str) -> String {
    format!("{SCHEME}{}", utf8_percent_encode(relative, PATH))
}

#[derive(Deserialize, JsonSchema)]
struct PathArg {
    /// A path relative to the root, with `/` separators (`""` or `.` is the root).
    path: String,
}

async fn read_file(State(fs): St, Args(args): Args<PathArg>) -> Result<String, ToolError> {
    let (_, data) = fs.read(&args.path).await.map_err(execution)?;
    String::from_utf8(data).map_err(|_| {
        execution(format!(
            "{:?} is not UTF-8 text; read it as the resource {}",
            args.path,
            uri_of(&args.path)
        ))
    })
}

#[derive(Deserialize, JsonSchema)]
struct WriteArgs {
    /// A path relative to the root, with `/` separators; missing directories are created.
    path: String,
    /// The new contents of the file (UTF-8 text).
    content: String,
}

async fn write_file(State(fs): St, Args(args): Args<WriteArgs>) -> Result<String, ToolError> {
    fs.check_size(&args.path, args.content.len() as u64)
        .map_err(execution)?;
    let path = fs.root.writable(&args.path).await.map_err(execution)?;
    tokio::fs::write(&path, args.content.as_bytes())
        .await
        .map_err(|e| execution(format!("cannot write {:?}: {e}", args.path)))?;
    Ok(format!(
        "wrote {} bytes to {}",
        args.content.len(),
        args.path
    ))
}

async fn list_directory(State(fs): St, Args(args): Args<PathArg>) -> Result<String, ToolError> {
    let dir = fs.root.existing(&args.path).map_err(execution)?;
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
        if lines.len() == MAX_RESULTS {
            more = true;
            break;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let line = match entry.file_type().await {
            Ok(t) if t.is_dir() => format!("[DIR]  {name}/"),
            Ok(t) if t.is_symlink() => format!("[LINK] {name}"),
            _ => format!("[FILE] {name}"),
        };
        lines.push(line);
    }
    lines.sort_by(|a, b| a[7..].cmp(&b[7..]));
    if lines.is_empty() {
        return Ok("(empty directory)".into());
    }
    if more {
        lines.push(format!("... (only the first {MAX_RESULTS} entries)"));
    }
    Ok(lines.join("\n"))
}

#[derive(Deserialize, JsonSchema)]
struct SearchArgs {
    /// A glob: `*` any characters but `/`, `**` any characters, `?` one character. Without
    /// `/` it matches file names at any depth (`*.md`); with `/`, paths from the root
    /// (`docs/**.md`).
    pattern: String,
}

async fn search_files(State(fs): St, Args(args): Args<SearchArgs>) -> Result<String, ToolError> {
    let glob = Glob::new(&args.pattern).map_err(execution)?;
    let (found, truncated) =
        tokio::task::spawn_blocking(move || fs.walk(MAX_RESULTS, |rel| glob.matches(rel)))
            .await
            .map_err(|e| ToolError::internal(e.to_string()))?;
    if found.is_empty() {
        return Ok(format!("no file matches {:?}", args.pattern));
    }
    let mut text = found.join("\n");
    if truncated {
        text.push_str(&format!("\n... (stopped after {MAX_RESULTS} results)"));
    }
    Ok(text)
}

#[derive(Deserialize, JsonSchema)]
struct MoveArgs {
    /// The file or directory to move, relative to the root.
    source: String,
    /// Where to move it, relative to the root; must not exist yet.
    destination: String,
}

async fn move_file(State(fs): St, Args(args): Args<MoveArgs>) -> Result<String, ToolError> {
    let source = fs.root.existing(&args.source).map_err(execution)?;
    if source == fs.root.real() {
        return Err(execution("the root itself cannot be moved".into()));
    }
    if source.is_file() {
        fs.root.file(&args.source).map_err(execution)?;
    }
    if fs.root.existing(&args.destination).is_ok() {
        return Err(execution(format!(
            "{:?} exists already; move to a new name",
            args.destination
        )));
    }
    let destination = fs
        .root
        .writable(&args.destination)
        .await
        .map_err(execution)?;
    tokio::fs::rename(&source, &destination)
        .await
        .map_err(|e| execution(format!("cannot move {:?}: {e}", args.source)))?;
    Ok(format!("moved {} to {}", args.source, args.destination))
}

/// Reads `file:///{+path}`: the listed files and any other below the root.
async fn read_resource(
    State(fs): St,
    ResourceUri(uri): ResourceUri,
) -> Result<FileContents, ToolError> {
    let encoded = uri
        .strip_prefix(SCHEME)
        .ok_or_else(|| ToolError::resource_not_found(&uri))?;
    // Decoded once: what is still percent-encoded after that is refused by the path check.
    let relative = percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|_| ToolError::invalid_arguments(format!("{uri:?} is not UTF-8")))?;
    let (path, data) = fs.read(&relative).await.map_err(|why| {
        if why.contains("refused") || why.contains("limit") {
            ToolError::invalid_arguments(why)
        } else {
            ToolError::resource_not_found(&uri)
        }
    })?;
    Ok(FileContents::new(&path, data))
}

/// The command line.
struct Options {
    root: PathBuf,
    write: bool,
    http: Option<String>,
    max_size: u64,
    extensions: Option<Vec<String>>,
    page_size: usize,
    max_resources: usize,
}

const USAGE: &str = "usage: filesystem --root DIR [--write] [--http ADDR] [--max-size BYTES] \
[--extensions LIST|*] [--page-size N] [--max-resources N]";

fn options() -> Result<Options, String> {
    let mut root = None;
    let mut write = false;
    let mut http = None;
    let mut max_size = 1 << 20;
    let mut extensions = Some(DEFAULT_EXTENSIONS.to_owned());
    let mut page_size = 100;
    let mut max_resources = 10_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "--write" {
            write = true;
            continue;
        }
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not {v:?}"))
        };
        match flag.as_str() {
            "--root" => root = Some(PathBuf::from(value()?)),
            "--http" => http = Some(value()?),
            "--max-size" => max_size = number(value()?)?,
            "--extensions" => extensions = Some(value()?),
            "--page-size" => page_size = number(value()?)?.max(1) as usize,
            "--max-resources" => max_resources = number(value()?)? as usize,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let root = root.ok_or_else(|| format!("--root is required\n{USAGE}"))?;
    let extensions = extensions.filter(|e| e.trim() != "*").map(|list| {
        list.split(',')
            .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect()
    });
    Ok(Options {
        root,
        write,
        http,
        max_size,
        extensions,
        page_size,
        max_resources,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("filesystem: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let options = options()?;
    let root = Root::new(&options.root, options.extensions)
        .map_err(|e| format!("--root {}: {e}", options.root.display()))?;
    let mut router: Router<Arc<Fs>> = Router::new()
        .name("filesystem")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions(
            "Files below one directory. Paths are relative to it, with `/` separators; \
             the resource file:///PATH is the file PATH.",
        )
        .page_size(options.page_size)
        .tool(
            "read_file",
            tool(read_file)
                .description("Reads a text file below the root")
                .read_only(),
        )
        .tool(
            "list_directory",
            tool(list_directory)
                .description("Lists a directory below the root ([DIR], [FILE] or [LINK] per entry)")
                .read_only(),
        )
        .tool(
            "search_files",
            tool(search_files)
                .description("Finds files below the root whose name (or path) matches a glob")
                .read_only(),
        )
        .resource_template(
            "file:///{+path}",
            resource(read_resource)
                .name("file")
                .description("A file below the root"),
        );
    if options.write {
        router = router
            .tool(
                "write_file",
                tool(write_file).description(
                    "Creates or replaces a text file below the root (missing directories are created)",
                ),
            )
            .tool(
                "move_file",
                tool(move_file)
                    .description("Moves or renames a file or directory below the root; the destination must not exist"),
            );
    }
    let fs = Arc::new(Fs {
        root,
        max_size: options.max_size,
        max_resources: options.max_resources,
        listed: Mutex::default(),
        handle: router.handle(),
    });
    let router = router.with_state(fs.clone());
    fs.sync_resources();
    // Kept alive while the server runs: dropping it stops the watching.
    let _watcher = watch::start(fs.clone()).map_err(|e| format!("cannot watch the root: {e}"))?;
    let served = match options.http {
        Some(addr) => router.serve_http(addr).await,
        None => router.serve_stdio().await,
    };
    served.map_err(|e| e.to_string())
}

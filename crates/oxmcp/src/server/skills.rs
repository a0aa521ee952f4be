//! The skills extension on the server: a directory of skills published with
//! `skills/list`, `skills/get`, `resources/read` and `resources/directory/read`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use oxmcp_protocol::content::{BlobResourceContents, ResourceContents, TextResourceContents};
use oxmcp_protocol::error::echo;
use oxmcp_protocol::{ErrorObject, JsonObject};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{resource, CacheHints, MethodRequest, Router, ServerExtension};
use crate::skills::{
    digest, parse_frontmatter, valid_name, SkillEntry, SkillError, SkillFile, SkillResources,
    EXTENSION_ID, MAX_FILES_PER_SKILL, MAX_SKILL_BYTES, SKILL_MD,
};

/// The MIME type of directories in `resources/directory/read`.
const DIRECTORY_MIME: &str = "inode/directory";

/// How deep below the root skills are looked for.
const MAX_DEPTH: usize = 8;

/// The skills extension (`io.modelcontextprotocol/skills`, SEP-2640): the skills found in a
/// directory, each a folder with a `SKILL.md`, published with `skills/list`, `skills/get`,
/// `resources/read` (`skill://<path>/<file>`) and `resources/directory/read`.
///
/// The files are read once, when the skills are loaded, and served from memory, so the
/// digests and sizes in the listing always match what a read returns.
///
/// ```no_run
/// use oxmcp::server::{Router, Skills};
///
/// # fn main() -> Result<(), oxmcp::skills::SkillError> {
/// let router: Router = Router::new().extension(Skills::dir("skills")?);
/// // or, panicking on a bad directory: Router::new().skills_dir("skills")
/// # let _ = router;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Skills {
    skills: Arc<Vec<Skill>>,
    cache: CacheHints,
}

#[derive(Debug)]
struct Skill {
    /// `pdf-processing`, or `team/pdf-processing` for a nested one.
    path: String,
    frontmatter: JsonObject,
    /// `SKILL.md` first.
    files: Vec<LoadedFile>,
}

#[derive(Debug)]
struct LoadedFile {
    /// Relative to the skill's directory, `/`-separated.
    relative: String,
    bytes: Arc<[u8]>,
    entry: SkillFile,
}

impl Skill {
    fn uri(&self) -> String {
        format!("skill://{}/{SKILL_MD}", self.path)
    }

    fn entry(&self) -> SkillEntry {
        SkillEntry {
            uri: self.uri(),
            frontmatter: self.frontmatter.clone(),
            resources: SkillResources::Files(self.files.iter().map(|f| f.entry.clone()).collect()),
        }
    }
}

impl Skills {
    /// Loads the skills below `root`: every directory holding a `SKILL.md` is a skill, its
    /// path below the root the skill's path, and every file below it one of its files.
    ///
    /// # Errors
    /// When the root cannot be read, or a skill breaks the rules: no valid front matter, a
    /// directory name that is not the front matter's `name` or breaks the naming rules, more
    /// than 512 files or 16 MiB. Symbolic links are refused rather than followed.
    pub fn dir(root: impl AsRef<Path>) -> Result<Self, SkillError> {
        let root = root.as_ref();
        let mut skills = Vec::new();
        find_skills(root, root, 0, &mut skills)?;
        skills.sort_by(|a: &Skill, b| a.path.cmp(&b.path));
        Ok(Skills {
            skills: Arc::new(skills),
            cache: CacheHints::default(),
        })
    }

    /// The cache hints (`ttlMs`, `cacheScope`) of `skills/list` and `skills/get` results
    /// (default: immediately stale, private).
    pub fn cache_hints(mut self, hints: CacheHints) -> Self {
        self.cache = hints;
        self
    }

    /// The loaded skills' entries, as `skills/list` answers them.
    pub fn entries(&self) -> Vec<SkillEntry> {
        self.skills.iter().map(Skill::entry).collect()
    }

    fn with_cache(&self, mut result: JsonObject) -> Value {
        result.insert("ttlMs".into(), json!(self.cache.ttl_ms));
        result.insert("cacheScope".into(), json!(self.cache.scope));
        Value::Object(result)
    }

    fn list(&self, request: &MethodRequest) -> Result<Value, ErrorObject> {
        #[derive(Deserialize)]
        struct Params {
            cursor: Option<String>,
        }
        let params: Params = request.decode()?;
        if let Some(cursor) = params.cursor {
            return Err(ErrorObject::invalid_params(format!(
                "unknown cursor {:?}: skills/list answers in one page, with no nextCursor",
                echo(&cursor)
            )));
        }
        let mut result = JsonObject::new();
        result.insert("skills".into(), json!(self.entries()));
        Ok(self.with_cache(result))
    }

    fn get(&self, request: &MethodRequest) -> Result<Value, ErrorObject> {
        #[derive(Deserialize)]
        struct Params {
            uri: String,
        }
        let params: Params = request.decode()?;
        let skill = self
            .skills
            .iter()
            .find(|s| s.uri() == params.uri)
            .ok_or_else(|| {
                ErrorObject::invalid_params(format!(
                    "no skill {:?}: expected the uri of a SKILL.md that skills/list names",
                    echo(&params.uri)
                ))
            })?;
        let mut result = JsonObject::new();
        result.insert("skill".into(), json!(skill.entry()));
        Ok(self.with_cache(result))
    }

    fn directory(&self, request: &MethodRequest) -> Result<Value, ErrorObject> {
        #[derive(Deserialize)]
        struct Params {
            uri: String,
            cursor: Option<String>,
        }
        let params: Params = request.decode()?;
        let not_a_directory = || {
            ErrorObject::invalid_params(format!(
                "{:?} is not a directory of a skill this server serves",
                echo(&params.uri)
            ))
        };
        if params.cursor.is_some() {
            return Err(ErrorObject::invalid_params(
                "unknown cursor: resources/directory/read answers in one page",
            ));
        }
        let wanted = params
            .uri
            .strip_prefix("skill://")
            .ok_or_else(not_a_directory)?
            .trim_end_matches('/');
        let (skill, inner) = self
            .skills
            .iter()
            .find_map(|s| {
                let rest = wanted.strip_prefix(s.path.as_str())?;
                if rest.is_empty() {
                    Some((s, ""))
                } else {
                    rest.strip_prefix('/').map(|inner| (s, inner))
                }
            })
            .ok_or_else(not_a_directory)?;
        let prefix = if inner.is_empty() {
            String::new()
        } else {
            format!("{inner}/")
        };
        let base = format!("skill://{}/{prefix}", skill.path);
        let mut children = Vec::new();
        let mut subdirectories = BTreeSet::new();
        for file in &skill.files {
            let Some(rest) = file.relative.strip_prefix(&prefix) else {
                continue;
            };
            match rest.split_once('/') {
                Some((dir, _)) => {
                    subdirectories.insert(dir);
                }
                None => children.push(json!({
                    "uri": file.entry.uri,
                    "name": rest,
                    "mimeType": mime_for(rest),
                    "size": file.entry.size,
                })),
            }
        }
        if children.is_empty() && subdirectories.is_empty() {
            return Err(not_a_directory());
        }
        for dir in subdirectories {
            children.push(json!({
                "uri": format!("{base}{dir}"),
                "name": dir,
                "mimeType": DIRECTORY_MIME,
            }));
        }
        Ok(json!({ "resources": children }))
    }
}

impl<S: Clone + Send + Sync + 'static> ServerExtension<S> for Skills {
    fn id(&self) -> &str {
        EXTENSION_ID
    }

    fn settings(&self) -> JsonObject {
        let mut settings = JsonObject::new();
        settings.insert("directoryRead".into(), Value::Bool(true));
        settings
    }

    fn install(self, mut router: Router<S>) -> Router<S> {
        for skill in self.skills.iter() {
            for file in &skill.files {
                let mime = mime_for(&file.relative);
                let contents = contents(&file.entry.uri, mime, &file.bytes);
                let mut def = resource(move || {
                    let contents = contents.clone();
                    async move { contents }
                })
                .mime_type(mime)
                .size(file.entry.size);
                def = if file.relative == SKILL_MD {
                    let text =
                        |k: &str| skill.frontmatter[k].as_str().unwrap_or_default().to_owned();
                    def.name(text("name")).description(text("description"))
                } else {
                    def.name(file.relative.clone())
                };
                router = router.resource(&file.entry.uri, def);
            }
        }
        let (list, get, dir) = (self.clone(), self.clone(), self);
        router
            .method("skills/list", move |r| {
                let answer = list.list(&r);
                async move { answer }
            })
            .method("skills/get", move |r| {
                let answer = get.get(&r);
                async move { answer }
            })
            .method("resources/directory/read", move |r| {
                let answer = dir.directory(&r);
                async move { answer }
            })
    }
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// Publishes the skills below `root` ([`Skills::dir`]) as the
    /// `io.modelcontextprotocol/skills` extension.
    ///
    /// # Panics
    /// If the skills do not load ([`Skills::dir`] says why).
    pub fn skills_dir(self, root: impl AsRef<Path>) -> Self {
        let root = root.as_ref();
        match Skills::dir(root) {
            Ok(skills) => self.extension(skills),
            Err(e) => panic!("the skills in {} do not load: {e}", root.display()),
        }
    }
}

/// A resource's contents: text when the bytes are UTF-8, a blob otherwise.
fn contents(uri: &str, mime: &str, bytes: &[u8]) -> ResourceContents {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let mut c = TextResourceContents::new(uri, text);
            c.mime_type = Some(mime.to_owned());
            ResourceContents::Text(c)
        }
        Err(_) => {
            let mut c = BlobResourceContents::new(
                uri,
                base64::engine::general_purpose::STANDARD.encode(bytes),
            );
            c.mime_type = Some(mime.to_owned());
            ResourceContents::Blob(c)
        }
    }
}

fn mime_for(name: &str) -> &'static str {
    match name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
    {
        Some(ext) if ext == "md" => "text/markdown",
        Some(ext) if ext == "txt" => "text/plain",
        Some(ext) if ext == "json" => "application/json",
        Some(ext) if ext == "py" => "text/x-python",
        Some(ext) if ext == "sh" => "text/x-shellscript",
        Some(ext) if ext == "html" => "text/html",
        _ => "application/octet-stream",
    }
}

fn err(message: String) -> SkillError {
    SkillError(message)
}

fn read_dir(dir: &Path) -> Result<Vec<(String, PathBuf, fs::FileType)>, SkillError> {
    let mut out = Vec::new();
    let entries =
        fs::read_dir(dir).map_err(|e| err(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| err(format!("cannot read {}: {e}", dir.display())))?;
        let kind = entry
            .file_type()
            .map_err(|e| err(format!("cannot read {}: {e}", entry.path().display())))?;
        let name = entry
            .file_name()
            .into_string()
            .map_err(|name| err(format!("{:?} in {} is not UTF-8", name, dir.display())))?;
        out.push((name, entry.path(), kind));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn find_skills(
    root: &Path,
    dir: &Path,
    depth: usize,
    skills: &mut Vec<Skill>,
) -> Result<(), SkillError> {
    if dir.join(SKILL_MD).is_file() && dir != root {
        skills.push(load_skill(root, dir)?);
        return Ok(());
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    for (name, path, kind) in read_dir(dir)? {
        if kind.is_dir() && !name.starts_with('.') {
            find_skills(root, &path, depth + 1, skills)?;
        }
    }
    Ok(())
}

fn load_skill(root: &Path, dir: &Path) -> Result<Skill, SkillError> {
    let relative = dir.strip_prefix(root).unwrap_or(dir);
    let segments: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let path = segments.join("/");
    let name = segments.last().cloned().unwrap_or_default();
    if !valid_name(&name) {
        return Err(err(format!(
            "skill directory {name:?} ({}): a skill name is 1 to 64 lowercase letters, digits and single hyphens",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    let mut total = 0u64;
    collect_files(dir, "", 0, &mut files, &mut total)?;
    let skill_md = files
        .iter()
        .position(|f: &(String, Vec<u8>)| f.0 == SKILL_MD)
        .ok_or_else(|| err(format!("{} has no regular file SKILL.md", dir.display())))?;
    let first = files.remove(skill_md);
    files.insert(0, first);
    let text = std::str::from_utf8(&files[0].1)
        .map_err(|_| err(format!("{}/SKILL.md is not UTF-8", dir.display())))?;
    let frontmatter =
        parse_frontmatter(text).map_err(|e| err(format!("{}: {e}", dir.display())))?;
    if frontmatter["name"].as_str() != Some(name.as_str()) {
        return Err(err(format!(
            "{}: the front matter names the skill {}, but its directory is {name:?}; they must be equal",
            dir.display(),
            frontmatter["name"]
        )));
    }
    let files = files
        .into_iter()
        .map(|(relative, bytes)| LoadedFile {
            entry: SkillFile {
                uri: format!("skill://{path}/{relative}"),
                digest: digest(&bytes),
                size: bytes.len() as u64,
            },
            relative,
            bytes: Arc::from(bytes),
        })
        .collect();
    Ok(Skill {
        path,
        frontmatter,
        files,
    })
}

fn collect_files(
    dir: &Path,
    prefix: &str,
    depth: usize,
    files: &mut Vec<(String, Vec<u8>)>,
    total: &mut u64,
) -> Result<(), SkillError> {
    for (name, path, kind) in read_dir(dir)? {
        if name.starts_with('.') {
            continue;
        }
        let relative = format!("{prefix}{name}");
        if kind.is_symlink() {
            return Err(err(format!(
                "{} is a symbolic link; skills serve only regular files",
                path.display()
            )));
        }
        if kind.is_dir() {
            if depth >= MAX_DEPTH {
                return Err(err(format!("{} is nested too deep", path.display())));
            }
            collect_files(&path, &format!("{relative}/"), depth + 1, files, total)?;
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        if files.len() >= MAX_FILES_PER_SKILL {
            return Err(err(format!(
                "{}: a skill has at most {MAX_FILES_PER_SKILL} files",
                dir.display()
            )));
        }
        // Read at most one byte past the limit, whatever the file's size says now.
        let room = MAX_SKILL_BYTES - *total;
        let mut bytes = Vec::new();
        fs::File::open(&path)
            .and_then(|f| f.take(room + 1).read_to_end(&mut bytes))
            .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        if bytes.len() as u64 > room {
            return Err(err(format!(
                "{}: the skill's files pass {MAX_SKILL_BYTES} bytes, the most a skill may have",
                path.display()
            )));
        }
        *total += bytes.len() as u64;
        files.push((relative, bytes));
    }
    Ok(())
}

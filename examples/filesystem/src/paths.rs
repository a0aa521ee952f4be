//! Where a path a client names may lead: below the root, and nowhere else.
//!
//! A path is a plain relative path with `/` separators. Refused before the disk is touched:
//! absolute paths, `..` components, backslashes and drive letters (Windows-style paths),
//! percent-encoded bytes, NUL. Then the real location (every symbolic link resolved) must
//! still be below the root's real location, so a link that points outside is refused too.

use std::path::{Path, PathBuf};

/// Why a path was refused, or the file is missing: a message for the client.
pub type Refusal = String;

/// The root and the rules.
#[derive(Debug)]
pub struct Root {
    /// The root's real (canonical) location.
    real: PathBuf,
    /// The file extensions allowed (lowercase, no dot); `None`: every extension.
    extensions: Option<Vec<String>>,
}

impl Root {
    /// The root at `dir`, which must exist; `extensions` as for [`Root::allows`].
    pub fn new(dir: &Path, extensions: Option<Vec<String>>) -> std::io::Result<Root> {
        let real = dir.canonicalize()?;
        if !real.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        Ok(Root { real, extensions })
    }

    /// The root's real location.
    pub fn real(&self) -> &Path {
        &self.real
    }

    /// Whether a file of this name may be read, written or listed: its extension is on the
    /// allow-list (or there is no list).
    pub fn allows(&self, path: &Path) -> bool {
        let Some(list) = &self.extensions else {
            return true;
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        list.contains(&ext)
    }

    fn check_extension(&self, shown: &str, path: &Path) -> Result<(), Refusal> {
        if self.allows(path) {
            return Ok(());
        }
        let list = self.extensions.as_deref().unwrap_or_default().join(", ");
        Err(format!(
            "path {shown:?} refused: its extension is not allowed (allowed: {list})"
        ))
    }

    /// An existing file or directory below the root.
    pub fn existing(&self, relative: &str) -> Result<PathBuf, Refusal> {
        let rel = lexical(relative)?;
        let real = self
            .real
            .join(rel)
            .canonicalize()
            .map_err(|_| format!("{relative:?} does not exist"))?;
        self.inside(relative, &real)?;
        Ok(real)
    }

    /// An existing file below the root, with an allowed extension.
    pub fn file(&self, relative: &str) -> Result<PathBuf, Refusal> {
        let real = self.existing(relative)?;
        if !real.is_file() {
            return Err(format!("{relative:?} is not a file"));
        }
        self.check_extension(relative, &real)?;
        Ok(real)
    }

    /// Where a file may be created or replaced below the root: missing parent directories
    /// are created (below the root only); an existing entry must be a file whose real
    /// location is below the root.
    pub async fn writable(&self, relative: &str) -> Result<PathBuf, Refusal> {
        let rel = lexical(relative)?;
        if rel.as_os_str().is_empty() {
            return Err(format!("path {relative:?} refused: it names the root"));
        }
        let target = self.real.join(rel);
        self.check_extension(relative, &target)?;
        match tokio::fs::symlink_metadata(&target).await {
            Ok(_) => {
                let real = self.existing(relative)?;
                if !real.is_file() {
                    return Err(format!("{relative:?} is not a file"));
                }
                self.check_extension(relative, &real)?;
                return Ok(real);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot reach {relative:?}: {e}")),
        }
        let parent = target.parent().unwrap_or(&self.real);
        // The deepest ancestor that exists must really be below the root: the directories
        // created under it then are too.
        let mut existing = parent;
        while tokio::fs::symlink_metadata(existing).await.is_err() {
            existing = existing.parent().unwrap_or(&self.real);
        }
        let real = existing
            .canonicalize()
            .map_err(|e| format!("cannot reach {relative:?}: {e}"))?;
        self.inside(relative, &real)?;
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| format!("cannot create the directories of {relative:?}: {e}"))?;
        let real_parent = parent
            .canonicalize()
            .map_err(|e| format!("cannot reach {relative:?}: {e}"))?;
        self.inside(relative, &real_parent)?;
        Ok(real_parent.join(target.file_name().unwrap_or_default()))
    }

    /// Refuses a real location outside the root.
    fn inside(&self, shown: &str, real: &Path) -> Result<(), Refusal> {
        if real.starts_with(&self.real) {
            Ok(())
        } else {
            Err(format!(
                "path {shown:?} refused: it leads outside the root through a link"
            ))
        }
    }

    /// The path of a real location below the root, relative to it, with `/` separators.
    pub fn relative(&self, real: &Path) -> Option<String> {
        let rel = real.strip_prefix(&self.real).ok()?;
        let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        Some(parts?.join("/"))
    }
}

/// Checks a client's path without touching the disk; `""` and `"."` name the root.
pub fn lexical(relative: &str) -> Result<&Path, Refusal> {
    let refuse = |why: &str| Err(format!("path {relative:?} refused: {why}"));
    if relative.contains('\0') {
        return refuse("it contains a NUL byte");
    }
    if relative.starts_with('/') {
        return refuse("it is absolute; give a path relative to the root");
    }
    if relative.contains('\\') || relative.contains(':') {
        return refuse("backslashes and drive letters are not allowed; separate with `/`");
    }
    if has_percent_escape(relative) {
        return refuse("it holds a percent-encoded byte; give the plain path");
    }
    if relative.split('/').any(|part| part == "..") {
        return refuse("it climbs out with `..`");
    }
    Ok(Path::new(relative))
}

/// Whether `s` holds a `%XX` escape.
fn has_percent_escape(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_refusals_say_why() {
        for (bad, why) in [
            ("/etc/passwd", "absolute"),
            ("../secret.txt", "climbs out"),
            ("a/../../secret.txt", "climbs out"),
            ("..\\secret.txt", "backslashes"),
            ("C:/Windows/win.ini", "drive letters"),
            ("\\\\server\\share", "backslashes"),
            ("%2e%2e/secret.txt", "percent-encoded"),
            ("a%2F..%2Fsecret", "percent-encoded"),
            ("a\0b", "NUL"),
        ] {
            let err = lexical(bad).unwrap_err();
            assert!(err.contains("refused") && err.contains(why), "{bad}: {err}");
        }
        assert!(lexical("notes/a.txt").is_ok());
        assert!(lexical("./notes//a.txt").is_ok());
        assert!(lexical("100%.txt").is_ok());
    }
}

//! Skills (`io.modelcontextprotocol/skills`, SEP-2640): the wire shapes and the checks both
//! sides share.
//!
//! A skill is a directory with a `SKILL.md` at its root (YAML front matter with at least
//! `name` and `description`, then Markdown) and any files beside it. A server lists skills
//! with `skills/list` and `skills/get`; each entry carries the skill's `SKILL.md` URI, its
//! front matter as JSON, and every file's URI, SHA-256 digest and size. The files
//! themselves are read with `resources/read`, and a client verifies each against its entry
//! before using it.

use std::fmt;

use oxmcp_protocol::JsonObject;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The extension's identifier.
pub const EXTENSION_ID: &str = "io.modelcontextprotocol/skills";

/// The file at the root of every skill.
pub const SKILL_MD: &str = "SKILL.md";

/// The most files one skill may have, `SKILL.md` included (the SEP's limit).
pub const MAX_FILES_PER_SKILL: usize = 512;

/// The most bytes one skill's files may add up to (16 MiB, the SEP's limit).
pub const MAX_SKILL_BYTES: u64 = 16 * 1024 * 1024;

/// One skill, as `skills/list` and `skills/get` describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillEntry {
    /// The URI of the skill's `SKILL.md` (`skill://pdf-processing/SKILL.md`).
    pub uri: String,
    /// The front matter of `SKILL.md`, as JSON.
    pub frontmatter: JsonObject,
    /// The skill's files, or [`SkillResources::Dynamic`].
    pub resources: SkillResources,
}

/// The files of a skill entry.
#[derive(Debug, Clone, PartialEq)]
pub enum SkillResources {
    /// Every file of the skill, `SKILL.md` included, with its digest and size.
    Files(Vec<SkillFile>),
    /// The server publishes no manifest (`"dynamic"`): files are not verifiable.
    Dynamic,
}

impl Serialize for SkillResources {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        match self {
            SkillResources::Files(files) => files.serialize(serializer),
            SkillResources::Dynamic => serializer.serialize_str("dynamic"),
        }
    }
}

impl<'de> Deserialize<'de> for SkillResources {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(deserializer)? {
            Value::String(s) if s == "dynamic" => Ok(SkillResources::Dynamic),
            value @ Value::Array(_) => serde_json::from_value(value)
                .map(SkillResources::Files)
                .map_err(D::Error::custom),
            other => Err(D::Error::custom(format!(
                "expected an array of {{uri, digest, size}} or \"dynamic\", got {other}"
            ))),
        }
    }
}

/// One file of a skill: its URI, the SHA-256 digest of its bytes and their number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillFile {
    /// The file's URI (within the skill's directory).
    pub uri: String,
    /// `sha256:` and 64 lowercase hex digits.
    pub digest: String,
    /// The length of the file in bytes.
    pub size: u64,
}

/// Something wrong with a skill: a file, its front matter, or a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillError(pub(crate) String);

impl fmt::Display for SkillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SkillError {}

/// The digest of `bytes` as the SEP writes it: `sha256:` and 64 lowercase hex digits.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Whether `name` follows the Agent Skills naming rules: 1 to 64 characters of lowercase
/// ASCII letters, digits and hyphens, with no leading, trailing or doubled hyphen.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// The front matter of a `SKILL.md`: the YAML between a first line `---` and the next line
/// `---`, as a JSON object with a non-empty string `name` and `description`.
///
/// # Errors
/// When the text does not start with a front matter block, the YAML does not parse or is
/// not a mapping, or `name` or `description` is missing.
pub fn parse_frontmatter(text: &str) -> Result<JsonObject, SkillError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let missing = || {
        SkillError(
            "SKILL.md does not start with a front matter block (a line `---`, YAML, a line `---`)"
                .into(),
        )
    };
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or_else(missing)?;
    let mut yaml_end = None;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare
            .strip_prefix("---")
            .is_some_and(|tail| tail.trim_matches([' ', '\t']).is_empty())
        {
            yaml_end = Some(offset);
            break;
        }
        offset += line.len();
    }
    let yaml = &rest[..yaml_end.ok_or_else(missing)?];
    let value: Value = serde_yaml_ng::from_str(yaml).map_err(|e| {
        SkillError(format!(
            "the front matter of SKILL.md is not valid YAML: {e}"
        ))
    })?;
    let Value::Object(object) = value else {
        return Err(SkillError(
            "the front matter of SKILL.md is not a YAML mapping".into(),
        ));
    };
    for field in ["name", "description"] {
        if object
            .get(field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(SkillError(format!(
                "the front matter of SKILL.md has no non-empty string `{field}`"
            )));
        }
    }
    Ok(object)
}

/// `segment` when it is a plain path segment: not empty, not `.` or `..` (percent-encoded or
/// not), without `\\`, `?` or `#`.
fn plain_segment(segment: &str) -> Option<&str> {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    let dots = decoded == "." || decoded == "..";
    (!segment.is_empty() && !dots && !segment.contains(['\\', '?', '#'])).then_some(segment)
}

/// The skill path of a `SKILL.md` URI: `skill://a/b/SKILL.md` is `a/b`. `None` when the URI
/// does not end in `/SKILL.md` or has `.`, `..` or empty segments.
pub fn skill_path(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("skill://")?;
    let path = rest.strip_suffix("/SKILL.md")?;
    path.split('/')
        .all(|s| plain_segment(s).is_some())
        .then_some(path)
}

impl SkillEntry {
    /// Checks the entry holds together: its `uri` is a `SKILL.md` whose skill name (the last
    /// path segment) is the front matter's `name`, and every file lies within the skill's
    /// directory (no `.`, `..` or empty segments) with a well-formed digest.
    ///
    /// # Errors
    /// What is wrong, first problem only.
    pub fn check(&self) -> Result<(), SkillError> {
        let path = skill_path(&self.uri).ok_or_else(|| {
            SkillError(format!(
                "skill uri {:?} is not skill://<path>/SKILL.md with plain path segments",
                self.uri
            ))
        })?;
        let name = path.rsplit('/').next().unwrap_or(path);
        if self.frontmatter.get("name").and_then(Value::as_str) != Some(name) {
            return Err(SkillError(format!(
                "skill {}: the front matter's name is not {name:?}, the last segment of its uri",
                self.uri
            )));
        }
        if let SkillResources::Files(files) = &self.resources {
            for file in files {
                self.check_within(&file.uri)?;
                let hex = file.digest.strip_prefix("sha256:").unwrap_or("");
                if hex.len() != 64
                    || !hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return Err(SkillError(format!(
                        "skill {}: {} has digest {:?}, expected sha256: and 64 lowercase hex digits",
                        self.uri, file.uri, file.digest
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks `uri` is the skill's `SKILL.md` or a file within its directory.
    ///
    /// # Errors
    /// When it lies elsewhere (another scheme or skill, `..`, `.` or empty segments).
    pub fn check_within(&self, uri: &str) -> Result<(), SkillError> {
        let outside = || {
            SkillError(format!(
                "{uri:?} is not a file within skill {}: refused",
                self.uri
            ))
        };
        if uri == self.uri {
            return Ok(());
        }
        let dir = self.uri.strip_suffix(SKILL_MD).ok_or_else(outside)?;
        let rest = uri.strip_prefix(dir).ok_or_else(outside)?;
        if rest.split('/').any(|s| plain_segment(s).is_none()) {
            return Err(outside());
        }
        Ok(())
    }

    /// The manifest entry of `uri`, when the entry lists its files.
    pub fn file(&self, uri: &str) -> Option<&SkillFile> {
        match &self.resources {
            SkillResources::Files(files) => files.iter().find(|f| f.uri == uri),
            SkillResources::Dynamic => None,
        }
    }
}

/// Checks `bytes`, the content read for `file`, against its size and digest.
///
/// # Errors
/// When the size or the digest differs: the content must not be used.
pub fn verify(file: &SkillFile, bytes: &[u8]) -> Result<(), SkillError> {
    if bytes.len() as u64 != file.size {
        return Err(SkillError(format!(
            "{} is {} bytes, but its skill entry says {}: not used",
            file.uri,
            bytes.len(),
            file.size
        )));
    }
    let actual = digest(bytes);
    if actual != file.digest {
        return Err(SkillError(format!(
            "{} has digest {actual}, but its skill entry says {}: not used",
            file.uri, file.digest
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_the_leading_yaml_block() {
        let fm = parse_frontmatter(
            "---\nname: a-b\ndescription: Does X\nmetadata:\n  k: 1\n---\nBody\n",
        )
        .unwrap();
        assert_eq!(fm["name"], "a-b");
        assert_eq!(fm["metadata"]["k"], 1);
        for bad in [
            "no front matter",
            "---\nname: a\n",
            "---\nname: a\n---\n",
            "---\n- a\n---\n",
            "---\nname: [\n---\n",
        ] {
            assert!(parse_frontmatter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_and_paths() {
        assert!(valid_name("pdf-processing"));
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "../x", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert_eq!(skill_path("skill://a/b/SKILL.md"), Some("a/b"));
        for bad in [
            "skill://../SKILL.md",
            "skill://a//SKILL.md",
            "file:///SKILL.md",
            "skill://a/x.md",
        ] {
            assert_eq!(skill_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn verification_checks_size_then_digest() {
        let file = SkillFile {
            uri: "skill://a/SKILL.md".into(),
            digest: digest(b"hello"),
            size: 5,
        };
        assert!(verify(&file, b"hello").is_ok());
        assert!(verify(&file, b"hello!")
            .unwrap_err()
            .to_string()
            .contains("6 bytes"));
        assert!(verify(&file, b"jello")
            .unwrap_err()
            .to_string()
            .contains("digest"));
    }
}

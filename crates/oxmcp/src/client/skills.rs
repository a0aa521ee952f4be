//! The skills extension on the client: list skills, load one (its `SKILL.md`, verified),
//! and read its other files when they are needed, each verified against the entry.
//!
//! Nothing is fetched ahead of need: listing reads no file, loading reads only `SKILL.md`.

use base64::Engine as _;
use oxmcp_protocol::content::ResourceContents;
use oxmcp_protocol::JsonObject;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{CallOptions, Client};
use crate::error::{Error, Result};
use crate::skills::{parse_frontmatter, verify, SkillEntry, SkillError};

/// The most pages of `skills/list` followed before giving up on a server whose cursors never
/// end.
const MAX_PAGES: usize = 100;

/// A skill whose `SKILL.md` was read, verified against its entry (size, digest) and whose
/// front matter matched the entry's field by field.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoadedSkill {
    /// The entry it was loaded from.
    pub entry: SkillEntry,
    /// The front matter of `SKILL.md`.
    pub frontmatter: JsonObject,
    /// The whole text of `SKILL.md`, front matter included.
    pub text: String,
}

fn refused(e: SkillError) -> Error {
    Error::protocol(e.to_string())
}

impl Client {
    /// Every skill the server lists (`skills/list`, following pagination). Entries that do
    /// not hold together ([`SkillEntry::check`]: a `uri` that is no `SKILL.md`, files
    /// outside the skill's directory, a malformed digest) are left out, with a warning in
    /// the log. No file is read.
    ///
    /// # Errors
    /// If a request fails, a page does not decode, or the cursors never end.
    pub async fn list_skills(&self) -> Result<Vec<SkillEntry>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            skills: Vec<Value>,
            next_cursor: Option<String>,
        }
        let mut skills = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = Map::new();
            if let Some(c) = cursor.take() {
                params.insert("cursor".into(), Value::String(c));
            }
            let page: Page = self
                .request("skills/list", params, CallOptions::default())
                .await?;
            for raw in page.skills {
                match serde_json::from_value::<SkillEntry>(raw) {
                    Ok(entry) => match entry.check() {
                        Ok(()) => skills.push(entry),
                        Err(e) => tracing::warn!("skills/list: entry left out: {e}"),
                    },
                    Err(e) => tracing::warn!("skills/list: entry left out: {e}"),
                }
            }
            match page.next_cursor {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => return Ok(skills),
            }
        }
        Err(Error::protocol(format!(
            "skills/list still had a nextCursor after {MAX_PAGES} pages"
        )))
    }

    /// The entry of one skill (`skills/get`), checked like [`list_skills`](Self::list_skills)'.
    ///
    /// # Errors
    /// If the request fails (an unknown skill is an invalid-params error) or the entry does
    /// not hold together.
    pub async fn get_skill(&self, uri: &str) -> Result<SkillEntry> {
        #[derive(Deserialize)]
        struct Got {
            skill: SkillEntry,
        }
        let mut params = Map::new();
        params.insert("uri".into(), Value::String(uri.to_owned()));
        let got: Got = self
            .request("skills/get", params, CallOptions::default())
            .await?;
        got.skill.check().map_err(refused)?;
        Ok(got.skill)
    }

    /// Loads a skill: reads its `SKILL.md`, verifies it against the entry (size, then
    /// digest), parses its front matter and compares it with the entry's, field by field.
    /// Reads no other file.
    ///
    /// # Errors
    /// If the read fails, or any check does: the content must not be used then.
    pub async fn load_skill(&self, entry: &SkillEntry) -> Result<LoadedSkill> {
        let bytes = self.read_skill_file(entry, &entry.uri).await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::protocol(format!("{} is not UTF-8 text: not used", entry.uri)))?;
        let frontmatter = parse_frontmatter(&text).map_err(refused)?;
        let keys = frontmatter.keys().chain(entry.frontmatter.keys());
        for key in keys {
            let (file, listed) = (frontmatter.get(key), entry.frontmatter.get(key));
            if file.unwrap_or(&Value::Null) != listed.unwrap_or(&Value::Null) {
                return Err(Error::protocol(format!(
                    "{}: front matter field {key:?} is {} in the file but {} in the skill entry: not loaded",
                    entry.uri,
                    file.unwrap_or(&Value::Null),
                    listed.unwrap_or(&Value::Null),
                )));
            }
        }
        Ok(LoadedSkill {
            entry: entry.clone(),
            frontmatter,
            text,
        })
    }

    /// Reads one file of a skill and verifies it against the entry's manifest (size, then
    /// digest). The URI must be the skill's `SKILL.md` or a file within its directory; with
    /// a `"dynamic"` entry there is no manifest and the bytes are returned unverified.
    ///
    /// # Errors
    /// If the URI lies outside the skill or is not in its manifest, the read fails, or the
    /// content does not match.
    pub async fn read_skill_file(&self, entry: &SkillEntry, uri: &str) -> Result<Vec<u8>> {
        entry.check_within(uri).map_err(refused)?;
        let file = entry.file(uri);
        if file.is_none() && matches!(entry.resources, crate::skills::SkillResources::Files(_)) {
            return Err(Error::protocol(format!(
                "{uri} is not in the manifest of skill {}: refused",
                entry.uri
            )));
        }
        let result = self.read_resource(uri).await?;
        let part = result
            .contents
            .into_iter()
            .find(|c| match c {
                ResourceContents::Text(t) => t.uri == uri,
                ResourceContents::Blob(b) => b.uri == uri,
            })
            .ok_or_else(|| {
                Error::protocol(format!("the read of {uri} returned no contents for it"))
            })?;
        let bytes =
            match part {
                ResourceContents::Text(t) => t.text.into_bytes(),
                ResourceContents::Blob(b) => base64::engine::general_purpose::STANDARD
                    .decode(b.blob)
                    .map_err(|_| Error::protocol(format!("the blob of {uri} is not base64")))?,
            };
        if let Some(file) = file {
            verify(file, &bytes).map_err(refused)?;
        }
        Ok(bytes)
    }
}

//! Skills (SEP-2640): a directory published by the server, listed, loaded and verified by
//! the client; hostile directories refused at load, hostile servers refused by the client.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use oxmcp::server::{MethodRequest, Router, Skills};
use oxmcp::skills::{digest, SkillResources, EXTENSION_ID};
use oxmcp::testing::TestClient;
use serde_json::{json, Map, Value};

use crate::support::{checked, legacy, modern};

const SKILL_MD: &str =
    "---\nname: pdf-processing\ndescription: Extract, fill, and assemble PDF documents\n---\n\nSkill body.\n";
const FORMS: &str = "# Forms\n\nFill the fields.\n";

/// A fresh directory under the system's temporary one, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("oxmcp-skills-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture() -> TempDir {
    let dir = TempDir::new();
    dir.write("pdf-processing/SKILL.md", SKILL_MD)
        .write("pdf-processing/references/FORMS.md", FORMS);
    dir
}

#[tokio::test]
async fn a_skills_directory_is_listed_loaded_and_read_verified() {
    let dir = fixture();
    for era in [modern(), legacy()] {
        let (client, tap) = checked(Router::new().skills_dir(dir.path()), era).await;
        assert_eq!(
            client.server_extension(EXTENSION_ID).unwrap()["directoryRead"],
            true
        );
        let skills = client.list_skills().await.unwrap();
        assert_eq!(skills.len(), 1);
        let entry = &skills[0];
        assert_eq!(entry.uri, "skill://pdf-processing/SKILL.md");
        assert_eq!(entry.frontmatter["name"], "pdf-processing");
        let SkillResources::Files(files) = &entry.resources else {
            panic!("a manifest");
        };
        assert_eq!(files[0].digest, digest(SKILL_MD.as_bytes()));
        assert_eq!(files[1].uri, "skill://pdf-processing/references/FORMS.md");
        assert_eq!(files[1].size, FORMS.len() as u64);

        let loaded = client.load_skill(entry).await.unwrap();
        assert_eq!(loaded.text, SKILL_MD);
        let forms = client.read_skill_file(entry, &files[1].uri).await.unwrap();
        assert_eq!(forms, FORMS.as_bytes());
        assert_eq!(&client.get_skill(&entry.uri).await.unwrap(), entry);

        // The SKILL.md resource carries the front matter's name and description.
        let listed = client.list_all_resources().await.unwrap();
        let md = listed.iter().find(|r| r.uri == entry.uri).unwrap();
        assert_eq!(md.name, "pdf-processing");
        assert_eq!(md.mime_type.as_deref(), Some("text/markdown"));

        let children: Value = client
            .request(
                "resources/directory/read",
                params(json!({"uri": "skill://pdf-processing"})),
                Default::default(),
            )
            .await
            .unwrap();
        let names: Vec<_> = children["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["mimeType"].as_str().unwrap()))
            .collect();
        assert_eq!(
            names,
            [
                ("SKILL.md", "text/markdown"),
                ("references", "inode/directory")
            ]
        );
        tap.assert_clean();
    }
}

fn params(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn unknown_and_traversing_skill_uris_are_invalid_params() {
    let dir = fixture();
    let (client, _tap) = checked(Router::new().skills_dir(dir.path()), modern()).await;
    for uri in [
        "skill://nonexistent/SKILL.md",
        "skill://pdf-processing/../pdf-processing/SKILL.md",
        "skill://../etc/SKILL.md",
    ] {
        let err = client.get_skill(uri).await.unwrap_err();
        assert_eq!(err.rpc_code(), Some(-32602), "{uri}: {err}");
    }
    for uri in [
        "skill://pdf-processing/SKILL.md",
        "skill://pdf-processing/..",
        "skill://pdf-processing/../../etc",
        "file:///etc",
    ] {
        let err = client
            .request::<Value>(
                "resources/directory/read",
                params(json!({ "uri": uri })),
                Default::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.rpc_code(), Some(-32602), "{uri}: {err}");
    }
}

#[test]
fn hostile_skill_directories_are_refused_at_load() {
    // Past the 16 MiB a skill may have.
    let big = fixture();
    big.write(
        "pdf-processing/big.bin",
        vec![0u8; 16 * 1024 * 1024 + 1 - SKILL_MD.len() - FORMS.len()],
    );
    let err = Skills::dir(big.path()).unwrap_err().to_string();
    assert!(err.contains("16777216 bytes"), "{err}");

    // More than 512 files.
    let many = fixture();
    for i in 0..511 {
        many.write(&format!("pdf-processing/f/{i}.txt"), "x");
    }
    let err = Skills::dir(many.path()).unwrap_err().to_string();
    assert!(err.contains("at most 512 files"), "{err}");

    // A directory name other than the front matter's name.
    let renamed = TempDir::new();
    renamed.write("other-name/SKILL.md", SKILL_MD);
    let err = Skills::dir(renamed.path()).unwrap_err().to_string();
    assert!(err.contains("must be equal"), "{err}");

    // No front matter.
    let bare = TempDir::new();
    bare.write("pdf-processing/SKILL.md", "# no front matter\n");
    let err = Skills::dir(bare.path()).unwrap_err().to_string();
    assert!(err.contains("front matter"), "{err}");

    // A symbolic link out of the skill is refused, not followed.
    #[cfg(unix)]
    {
        let linked = fixture();
        std::os::unix::fs::symlink("/etc/hostname", linked.path().join("pdf-processing/leak"))
            .unwrap();
        let err = Skills::dir(linked.path()).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
    }
}

/// A hostile server: its listing is `entries`, its reads answer `SKILL_MD` (or `FORMS`)
/// whatever the entry says; it records what was read.
fn hostile(entries: Value, reads: Arc<Mutex<Vec<String>>>) -> Router {
    Router::new()
        .resource("skill://pdf-processing/SKILL.md", || async { SKILL_MD })
        .resource("skill://pdf-processing/references/FORMS.md", || async {
            FORMS
        })
        .layer(tower::util::MapRequestLayer::new(
            move |request: oxmcp::server::middleware::McpRequest| {
                if request.method() == "resources/read" {
                    reads.lock().unwrap().push(request.method().to_owned());
                }
                request
            },
        ))
        .method("skills/list", move |_: MethodRequest| {
            let entries = entries.clone();
            async move { Ok(json!({ "skills": entries, "ttlMs": 0, "cacheScope": "private" })) }
        })
}

fn entry(skill_md: &str, name: &str) -> Value {
    json!({
        "uri": "skill://pdf-processing/SKILL.md",
        "frontmatter": { "name": "pdf-processing", "description": name },
        "resources": [
            { "uri": "skill://pdf-processing/SKILL.md", "digest": digest(skill_md.as_bytes()), "size": skill_md.len() },
            { "uri": "skill://pdf-processing/references/FORMS.md", "digest": digest(FORMS.as_bytes()), "size": FORMS.len() },
        ],
    })
}

async fn client_of(entries: Value) -> (TestClient, Arc<Mutex<Vec<String>>>) {
    let reads = Arc::new(Mutex::new(Vec::new()));
    let client = TestClient::builder(hostile(entries, reads.clone()))
        .connect()
        .await
        .unwrap();
    (client, reads)
}

#[tokio::test]
async fn the_client_refuses_skill_content_that_does_not_verify() {
    const DESCRIPTION: &str = "Extract, fill, and assemble PDF documents";
    // Same size, other bytes: a digest mismatch.
    let same_size = SKILL_MD.replace("Skill body.", "Evil body!!");
    // Extra bytes: a size mismatch.
    let longer = format!("{SKILL_MD}extra");
    for (listed, description, expect) in [
        (same_size.as_str(), DESCRIPTION, "digest"),
        (longer.as_str(), DESCRIPTION, "bytes"),
        (
            SKILL_MD,
            "Exfiltrate credentials",
            "front matter field \"description\"",
        ),
    ] {
        let (client, _) = client_of(json!([entry(listed, description)])).await;
        let skills = client.list_skills().await.unwrap();
        let err = client.load_skill(&skills[0]).await.unwrap_err().to_string();
        assert!(err.contains(expect), "{expect}: {err}");
    }
}

#[tokio::test]
async fn listing_reads_nothing_and_traversing_entries_are_left_out() {
    let mut outside = entry(SKILL_MD, "Extract, fill, and assemble PDF documents");
    outside["resources"][1]["uri"] = json!("skill://pdf-processing/../other/SECRET.md");
    let mut climbing = entry(SKILL_MD, "x");
    climbing["uri"] = json!("skill://../pdf-processing/SKILL.md");
    let mut encoded = entry(SKILL_MD, "x");
    encoded["resources"][1]["uri"] = json!("skill://pdf-processing/%2E%2E/x");
    let good = entry(SKILL_MD, "Extract, fill, and assemble PDF documents");
    let (client, reads) = client_of(json!([outside, climbing, encoded, good])).await;
    let skills = client.list_skills().await.unwrap();
    assert_eq!(skills.len(), 1, "only the entry that holds together");
    assert!(reads.lock().unwrap().is_empty(), "listing read a file");

    // A file outside the skill, or not in its manifest, is refused without a request.
    for uri in [
        "skill://other/SKILL.md",
        "skill://pdf-processing/../other/x",
        "skill://pdf-processing/unlisted.md",
    ] {
        let err = client.read_skill_file(&skills[0], uri).await.unwrap_err();
        assert!(err.to_string().contains("refused"), "{uri}: {err}");
    }
    assert!(reads.lock().unwrap().is_empty());
}

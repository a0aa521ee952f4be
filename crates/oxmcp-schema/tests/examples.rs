//! Every example shipped with the 2026-07-28 specification validates against the
//! definition it illustrates (the folder it sits in).

use std::fs;
use std::path::Path;

use oxmcp_protocol::ProtocolVersion;
use oxmcp_schema::validate_def;

#[test]
fn spec_examples_validate_against_their_definitions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/2026-07-28");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let def = dir.file_name().unwrap().to_str().unwrap().to_owned();
        for file in fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let value: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            checked += 1;
            if let Err(e) = validate_def(ProtocolVersion::V2026_07_28, &def, &value) {
                failures.push(format!("{}: {e}", path.display()));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} examples found under {}",
        root.display()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

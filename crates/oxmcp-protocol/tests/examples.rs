//! Every official example of 2026-07-28 (`tests/fixtures/2026-07-28/examples/<TypeName>/`)
//! deserializes into the type named by its folder and serializes back unchanged.

mod common;

#[test]
fn every_2026_07_28_example_round_trips() {
    let root = common::fixtures_dir().join("2026-07-28").join("examples");
    let checked = common::check_all(&root);
    // The official set had 129 examples in 88 folders; fewer means fixtures went missing.
    assert!(
        checked >= 129,
        "only {checked} examples found under {}",
        root.display()
    );
}

#[test]
fn unmapped_definitions_fail() {
    let err = common::check("SomethingNew", &serde_json::json!({})).unwrap_err();
    assert!(err.contains("SomethingNew"), "{err}");
}

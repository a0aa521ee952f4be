//! Golden messages of the legacy revisions (`tests/fixtures/legacy/<revision>/<TypeName>/`),
//! written from the legacy schemas (and validated against them when written), round-trip
//! through the same types as the 2026-07-28 examples.

mod common;

fn check_revision(rev: &str, at_least: usize) {
    let root = common::fixtures_dir().join("legacy").join(rev);
    let checked = common::check_all(&root);
    assert!(
        checked >= at_least,
        "only {checked} fixtures found under {}",
        root.display()
    );
}

#[test]
fn legacy_2024_11_05_round_trips() {
    check_revision("2024-11-05", 31);
}

#[test]
fn legacy_2025_03_26_round_trips() {
    check_revision("2025-03-26", 10);
}

#[test]
fn legacy_2025_06_18_round_trips() {
    check_revision("2025-06-18", 12);
}

#[test]
fn legacy_2025_11_25_round_trips() {
    check_revision("2025-11-25", 27);
}

//! What the `oxmcp` command pays at start-up before its `main` runs (issue 16: no heavy
//! start-up of its own). Timings are measured by `cargo xtask bench --only cli`, never here.

/// Linked as a position-dependent executable on Linux (see `build.rs`): the dynamic loader
/// has no relative relocations to apply, so no page of `.data.rel.ro` is written at start.
#[cfg(target_os = "linux")]
#[test]
fn the_command_is_linked_without_pie_on_linux() {
    let path = env!("CARGO_BIN_EXE_oxmcp");
    let mut image = [0u8; 18];
    std::io::Read::read_exact(
        &mut std::fs::File::open(path).unwrap_or_else(|e| panic!("opening {path}: {e}")),
        &mut image,
    )
    .unwrap_or_else(|e| panic!("reading {path}: {e}"));
    assert_eq!(&image[..4], b"\x7fELF", "{path} is not an ELF file");
    // e_type, at offset 16 of the ELF header (host byte order): 2 = ET_EXEC, 3 = ET_DYN (PIE).
    let kind = u16::from_ne_bytes([image[16], image[17]]);
    assert_eq!(
        kind, 2,
        "{path} is ELF type {kind}, expected 2 (ET_EXEC, not PIE): build.rs should link it \
         with -no-pie"
    );
}

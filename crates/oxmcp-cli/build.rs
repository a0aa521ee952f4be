//! Link options of the `oxmcp` command (issue 16: `oxmcp call` has no heavy start-up of its
//! own).
//!
//! On Linux the command is linked as a position-dependent executable (`-no-pie`). A PIE
//! binary of this size carries ~15,000 (fat LTO) to ~27,000 (thin LTO) relative
//! relocations that the dynamic loader applies at every start, writing, and so copying,
//! every page of `.data.rel.ro` (~120 pages): about a third of the command's page faults
//! and a quarter of its start-up instructions. Linked at a fixed address, those pages
//! are mapped from the page cache as they are. The cost is ASLR of the executable's own
//! image (libraries, heap and stacks stay randomised); `-Wl,-z,pack-relative-relocs`
//! keeps PIE but saves only the loader's reading of the table, not the copied pages.
//! Only the binaries get it (`rustc-link-arg-bins`): the crate has no library.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

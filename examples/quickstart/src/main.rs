//! The quickstart server.
fn main() {}

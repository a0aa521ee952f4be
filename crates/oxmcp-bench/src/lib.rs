//! Benchmarks for oxmcp.

//! Benchmarks for oxmcp: a neutral load generator and a no-SDK floor server.
//!
//! Nothing in this crate depends on an MCP SDK. The load generator speaks raw
//! newline-delimited JSON-RPC to any stdio MCP server, so it measures oxmcp and
//! other SDKs the same way, and [`floor`] is a hand-written minimal server that
//! serves as the practical speed limit every other server is compared to.
//!
//! - [`loadgen::run`] spawns one server, performs the handshake of an [`Era`],
//!   keeps N `tools/call` requests in flight and returns a [`Report`].
//! - [`compare::run`] runs several servers alternately over repetitions and
//!   summarises the median of each figure as a ratio to the first server.
//!
//! # Running
//!
//! ```text
//! export CARGO_TARGET_DIR=/work/target-bench
//! cargo build --release -p oxmcp-bench
//! B=$CARGO_TARGET_DIR/release
//!
//! # one server, one setting; table on stderr, JSON line on stdout
//! $B/loadgen --server $B/floor-stdio --era modern --inflight 32 --requests 20000 --json
//!
//! # several servers side by side, the first is the baseline of every ratio
//! taskset -c 0 $B/compare --reps 5 --requests 20000 --inflight 1,32 --era legacy,modern \
//!     floor=$B/floor-stdio oxmcp="path/to/server --stdio" other="node server.js"
//! ```
//!
//! The machine running the benchmarks is usually shared and noisy, so absolute
//! figures mean little: compare servers measured in the same run, and read the
//! `±` spread next to each median. On virtual machines where waking a process
//! on another CPU is expensive, one-in-flight figures are bimodal (the server
//! and the load generator on the same CPU or not); pinning the whole run to one
//! CPU with `taskset -c 0` makes them stable, at the price of measuring
//! multi-threaded servers on a single CPU.

pub mod cli;
pub mod cmdline;
pub mod compare;
pub mod floor;
pub mod loadgen;
pub mod procfs;
pub mod report;
pub mod stats;

pub use loadgen::{Config, Era, Error, Report};

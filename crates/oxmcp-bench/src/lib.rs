//! Benchmarks for oxmcp: a neutral load generator and a no-SDK floor server.
//!
//! The load generators use no MCP SDK. The stdio one speaks raw newline-delimited
//! JSON-RPC to any stdio MCP server, so it measures oxmcp and other SDKs the same
//! way, and [`floor`] is a hand-written minimal server that serves as the practical
//! speed limit every other server is compared to. `examples/rmcp_echo.rs` is the same
//! `echo` tool written with rmcp, the official Rust SDK, as a reference peer (rmcp is a
//! dev-dependency of this crate only); servers that refuse an era are reported `n/a`.
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
//! # Scale: sessions, tools, floods
//!
//! `scale-bench [--quick] [--json] --echo PATH_TO_ECHO [--rmcp PATH_TO_RMCP_ECHO]` measures
//! what the per-call figures above do not (budgets in brackets):
//!
//! - **idle-sessions**: starts `PATH --http ADDR`, opens legacy sessions over raw HTTP/1.1
//!   (`initialize` with 2025-11-25, then `notifications/initialized`; nothing else), in
//!   rounds of 1,000, and reads the server's `VmRSS` after each round. The first round is a
//!   warm-up: the runtime's and the allocator's first growth is not per-session cost. The
//!   figure is the slope after it, RSS growth per session as sessions accumulate
//!   (≤ 2 KiB). The oldest and the newest session are then checked to still answer.
//! - **tools-scale**: `echo --tools 1` against `echo --tools 1000` over stdio, alternating
//!   over repetitions: server CPU per `tools/call echo` (with [`loadgen::run`], 16 in
//!   flight; ratio of the medians ≤ 1.1×) and per full `tools/list` (following
//!   `nextCursor`), which must come from the registry's cached serialization.
//! - **flood**: over stdio, 50,000 `tools/call echo` written without waiting for any
//!   answer while a reader collects them, in the legacy and the modern era: every id must
//!   be answered exactly once (0 lost), and the server's peak RSS, `VmHWM`, stays below
//!   64 MiB.
//!
//! `--rmcp` adds a reference server (legacy era only) to idle-sessions and the legacy flood;
//! its failures are reported and skipped. With `--json`, each result is one JSON line on
//! stdout: `{"bench":"idle-sessions","server":..,"sessions":1000,"rss_per_session_bytes":..}`,
//! `{"bench":"tools-scale","server":"oxmcp","tools":1000,"cpu_per_call_ratio":..,
//! "list_cpu_us_1":..,"list_cpu_us_1000":..}` and `{"bench":"flood","server":..,"era":..,
//! "requests":50000,"answered":..,"peak_rss_bytes":..}`, with more fields; a failure is a
//! line with an `"error"` field. `--quick` keeps the whole run under about a minute.
//!
//! ```text
//! $B/scale-bench --json --echo $B/echo
//! ```
//!
//! # Overhead: authorization and observability
//!
//! `overhead-bench [--requests N] [--reps R] [--cold N] [--json]` starts itself as an
//! `echo` server three ways (plain; with a `Cached<JwtVerifier>` of RS256 tokens; with spans
//! and metrics recorded) and reports server CPU per `tools/call` of each against plain, at
//! 16 raw HTTP clients (both eras; the JWT one warm and cold) and over stdio (spans and
//! metrics only). Lines `{"bench":"auth",..}` and `{"bench":"observability",..}`.
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
pub mod rawhttp;
pub mod report;
pub mod stats;

pub use loadgen::{Config, Era, Error, Report};

//! The load generator: spawns one stdio MCP server and measures it.
//!
//! [`run`] spawns the server command with piped stdin/stdout (stderr is
//! inherited), times the handshake of the chosen [`Era`], runs a warm-up and
//! then a measured phase of `tools/call` `echo` requests with exactly
//! `inflight` requests outstanding, and returns a [`Report`]. A writer thread
//! sends requests as permits come back; the calling thread reads responses,
//! matches them by id and checks each is a result echoing the text.

use std::fmt;
use std::io::BufReader;
use std::process::{Child, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::stats::Latency;
use crate::{cmdline, procfs};

mod session;

use session::Session;

/// The text every `echo` call sends and expects back.
pub const ECHO_TEXT: &str = "hello";
/// Protocol revision offered in a legacy `initialize`.
pub const LEGACY_VERSION: &str = "2025-11-25";
/// Protocol revision every modern request carries in its `_meta`.
pub const MODERN_VERSION: &str = "2026-07-28";
/// How long [`run`] waits for the server to exit after closing its stdin.
pub const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Which protocol era's handshake and request shape to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// `initialize` + `notifications/initialized`, then plain requests.
    Legacy,
    /// `server/discover`, then requests carrying version and capabilities in `_meta`.
    Modern,
}

impl Era {
    /// The era's name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Era::Legacy => "legacy",
            Era::Modern => "modern",
        }
    }
}

impl fmt::Display for Era {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Era {
    type Err = Error;

    fn from_str(s: &str) -> Result<Era, Error> {
        match s {
            "legacy" => Ok(Era::Legacy),
            "modern" => Ok(Era::Modern),
            _ => Err(Error::new(format!(
                "unknown era {s:?} (expected legacy or modern)"
            ))),
        }
    }
}

/// What to run and how hard.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The server's command line (see [`cmdline::command`]).
    pub server: String,
    /// Protocol era of the handshake and requests.
    pub era: Era,
    /// Requests kept outstanding at once (at least 1).
    pub inflight: usize,
    /// Requests in the measured phase.
    pub requests: usize,
    /// Requests sent before the measured phase and not reported.
    pub warmup: usize,
    /// Give up (kill the server) after this long without any response.
    pub timeout: Duration,
}

impl Config {
    /// A configuration with defaults: legacy era, 1 in flight, 10 000 requests,
    /// 1 000 warm-up requests, 30 s timeout.
    pub fn new(server: impl Into<String>) -> Config {
        Config {
            server: server.into(),
            era: Era::Legacy,
            inflight: 1,
            requests: 10_000,
            warmup: 1_000,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A failure that prevented measuring a server at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
    unsupported: bool,
}

impl Error {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            unsupported: false,
        }
    }

    /// The server answered the handshake but refused the era: it does not speak
    /// that protocol revision (the method is unknown or the version is not offered).
    pub fn unsupported(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
            unsupported: true,
        }
    }

    /// Whether the server refused the era rather than failed (see [`Error::unsupported`]).
    pub fn is_unsupported(&self) -> bool {
        self.unsupported
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::new(message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The figures measured for one server in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The server command line.
    pub server: String,
    /// Protocol era used.
    pub era: Era,
    /// Requests kept in flight.
    pub inflight: usize,
    /// Warm-up requests sent before measuring.
    pub warmup: usize,
    /// Requests in the measured phase.
    pub requests: usize,
    /// Responses received in the measured phase, good or bad.
    pub responses: usize,
    /// Measured requests without a matching, well-formed echo result.
    pub errors: usize,
    /// Measured phase: first send to last response.
    pub wall: Duration,
    /// Responses per second of wall time.
    pub throughput_rps: f64,
    /// Send-to-receive latency of the good responses.
    pub latency: Latency,
    /// Server CPU time (user + system, whole process tree) per measured request,
    /// in µs: from nanosecond per-thread counters when they account for all the
    /// time, otherwise from clock ticks (see [`procfs::cpu_delta`]).
    pub cpu_us_per_call: Option<f64>,
    /// Whether `cpu_us_per_call` has nanosecond precision (else tick precision).
    pub cpu_precise: bool,
    /// The same figure from `/proc/<pid>/stat` utime + stime alone, in µs.
    pub cpu_tick_us_per_call: Option<f64>,
    /// CPU time of the load generator's reader and writer threads per measured
    /// request, in µs: when it nears the wall time per request, the client, not
    /// the server, is the limit.
    pub client_cpu_us_per_call: Option<f64>,
    /// Resolution of `cpu_tick_us_per_call`: one clock tick divided by the requests, in µs.
    pub cpu_resolution_us: f64,
    /// Clock ticks per second used to convert CPU time.
    pub clk_tck: u64,
    /// Peak resident memory (`VmHWM`, summed over the tree) at the end, in KiB.
    pub peak_rss_kib: Option<u64>,
    /// Resident memory (`VmRSS`, summed over the tree) right after the handshake, in KiB.
    pub idle_rss_kib: Option<u64>,
    /// Spawn to the handshake response.
    pub startup: Duration,
    /// Closing stdin to the server's exit (or kill).
    pub shutdown: Duration,
    /// Whether the server had to be killed: it outlived [`EXIT_GRACE`] or timed out.
    pub killed: bool,
    /// Processes in the server's tree at the end of the measured phase.
    pub processes: usize,
    /// Protocol version the server agreed to in the handshake.
    pub protocol_version: Option<String>,
    /// The first problem seen in the measured phase, for diagnosis.
    pub first_error: Option<String>,
}

/// Spawns the server, measures it as `config` says and shuts it down.
///
/// Returns `Err` only when nothing could be measured: the server failed to
/// start or its handshake failed. Bad responses, timeouts and crashes during
/// the requests are reported as [`Report::errors`] and [`Report::first_error`].
pub fn run(config: &Config) -> Result<Report, Error> {
    if config.inflight == 0 {
        return Err(Error::new("inflight must be at least 1"));
    }
    let mut command = cmdline::command(&config.server).map_err(Error::new)?;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());

    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| Error::new(format!("cannot start {:?}: {e}", config.server)))?;
    let pid = child.id();
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(Error::new("child has no piped stdin/stdout"));
    };
    let child = Arc::new(Mutex::new(child));
    let _reaper = KillOnDrop(Arc::clone(&child));
    let watchdog = Watchdog::start(Arc::clone(&child), config.timeout);
    let mut session = Session {
        stdin,
        stdout: BufReader::with_capacity(64 * 1024, stdout),
        era: config.era,
        progress: Arc::clone(&watchdog.progress),
    };

    let protocol_version = session.handshake().map_err(|e| {
        if watchdog.fired() {
            Error::new(format!("{e} (no answer within {:?})", config.timeout))
        } else {
            e
        }
    })?;
    let startup = started.elapsed();
    let idle_rss_kib = procfs::tree_status_kib(pid, "VmRSS");

    session.phase(1, config.warmup, config.inflight);
    let cpu_before = procfs::cpu_sample(pid);
    let measured = session.phase(1 + config.warmup as u64, config.requests, config.inflight);
    let cpu_after = procfs::cpu_sample(pid);
    let peak_rss_kib = procfs::tree_status_kib(pid, "VmHWM");
    let processes = procfs::tree(pid).len();
    let timed_out = watchdog.stop();

    let Session { stdin, stdout, .. } = session;
    drop(stdin);
    let closed = Instant::now();
    let killed = wait_or_kill(&child, EXIT_GRACE) || timed_out;
    let shutdown = closed.elapsed();
    drop(stdout);

    let clk_tck = procfs::clk_tck();
    let requests = config.requests.max(1) as f64;
    let cpu = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) if config.requests > 0 => {
            Some(procfs::cpu_delta(&before, &after, clk_tck))
        }
        _ => None,
    };
    let mut first_error = measured.first_error;
    if timed_out {
        let message = format!("timed out: no response for {:?}", config.timeout);
        first_error = Some(first_error.map_or(message.clone(), |e| format!("{message}; {e}")));
    }
    let mut latencies = measured.latencies_ns;
    let wall_s = measured.wall.as_secs_f64();
    Ok(Report {
        server: config.server.clone(),
        era: config.era,
        inflight: config.inflight,
        warmup: config.warmup,
        requests: config.requests,
        responses: measured.responses,
        errors: config.requests - measured.ok,
        wall: measured.wall,
        throughput_rps: if wall_s > 0.0 {
            measured.responses as f64 / wall_s
        } else {
            0.0
        },
        latency: Latency::from_nanos(&mut latencies),
        cpu_us_per_call: cpu.map(|c| c.seconds * 1e6 / requests),
        cpu_precise: cpu.is_some_and(|c| c.precise),
        cpu_tick_us_per_call: cpu.map(|c| c.tick_seconds * 1e6 / requests),
        client_cpu_us_per_call: measured.client_cpu_ns.map(|ns| ns as f64 / 1e3 / requests),
        cpu_resolution_us: 1e6 / clk_tck as f64 / requests,
        clk_tck,
        peak_rss_kib,
        idle_rss_kib,
        startup,
        shutdown,
        killed,
        processes,
        protocol_version,
        first_error,
    })
}

/// Waits up to `grace` for the child to exit, then kills it.
/// Returns whether it had to kill.
fn wait_or_kill(child: &Mutex<Child>, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    loop {
        let mut child = child.lock().unwrap_or_else(PoisonError::into_inner);
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return false,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return true;
            }
            Ok(None) => {}
        }
        drop(child);
        thread::sleep(Duration::from_millis(2));
    }
}

/// Kills and reaps the child if it is still running when dropped (error paths).
struct KillOnDrop(Arc<Mutex<Child>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let mut child = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Kills the server when no response arrives for `timeout`, so reads never hang.
struct Watchdog {
    progress: Arc<AtomicU64>,
    stop: mpsc::Sender<()>,
    thread: Option<thread::JoinHandle<bool>>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(child: Arc<Mutex<Child>>, timeout: Duration) -> Watchdog {
        let progress = Arc::new(AtomicU64::new(0));
        let fired = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = {
            let progress = Arc::clone(&progress);
            let fired = Arc::clone(&fired);
            thread::spawn(move || {
                let mut last = progress.load(Ordering::Relaxed);
                let mut since = Instant::now();
                loop {
                    match stopped.recv_timeout(Duration::from_millis(100)) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return false,
                    }
                    let now = progress.load(Ordering::Relaxed);
                    if now != last {
                        last = now;
                        since = Instant::now();
                    } else if since.elapsed() >= timeout {
                        fired.store(true, Ordering::Relaxed);
                        let _ = child.lock().unwrap_or_else(PoisonError::into_inner).kill();
                        return true;
                    }
                }
            })
        };
        Watchdog {
            progress,
            stop,
            thread: Some(thread),
            fired,
        }
    }

    /// Whether the watchdog has killed the server.
    fn fired(&self) -> bool {
        self.fired.load(Ordering::Relaxed)
    }

    /// Stops watching; returns whether the watchdog killed the server.
    fn stop(mut self) -> bool {
        let _ = self.stop.send(());
        self.thread.take().is_some_and(|t| t.join().unwrap_or(true))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.stop.send(());
    }
}

//! Reading a server's CPU time and memory from Linux `/proc`.
//!
//! Figures are summed over the process *tree* rooted at the spawned child, so
//! servers started through a wrapper (`sh -c`, `npx`, `uv run`, ...) are
//! measured whole. Threads are included by the kernel in their process's figures.

use std::collections::HashMap;
use std::fs;
use std::process::Command;
use std::sync::OnceLock;

/// CPU time of one process from its `/proc/<pid>/stat` line, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Parent process id.
    pub ppid: u32,
    /// utime + stime: CPU time spent by the process itself.
    pub own_ticks: u64,
    /// cutime + cstime: CPU time of its children that exited and were waited for.
    pub children_ticks: u64,
}

/// Parses the contents of `/proc/<pid>/stat`; `None` if it is malformed.
pub fn parse_stat(text: &str) -> Option<Stat> {
    // The command name (field 2) is in parentheses and may contain spaces or
    // parentheses itself, so the fixed fields start after the *last* ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // `fields[0]` is field 3 (state), so field n is `fields[n - 3]`.
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        ppid: u32::try_from(field(4)?).ok()?,
        own_ticks: field(14)? + field(15)?,
        children_ticks: field(16)? + field(17)?,
    })
}

/// Reads and parses `/proc/<pid>/stat`.
pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Reads a `kB` field such as `VmHWM` or `VmRSS` from `/proc/<pid>/status`, in KiB.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    parse_status_kib(
        &fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        field,
    )
}

/// Extracts a `kB` field from the contents of `/proc/<pid>/status`, in KiB.
pub fn parse_status_kib(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// `root` followed by all its live descendants, found by scanning `/proc`.
pub fn tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = stat(pid) {
                children.entry(stat.ppid).or_default().push(pid);
            }
        }
    }
    let mut pids = vec![root];
    let mut next = 0;
    while next < pids.len() {
        if let Some(kids) = children.get(&pids[next]) {
            pids.extend(kids.iter().copied().filter(|k| *k != root));
        }
        next += 1;
    }
    pids
}

/// Total CPU time of the tree rooted at `root`, in clock ticks.
///
/// Counts each live process's own time plus the time of children it already
/// reaped, so nothing is counted twice. `None` if `root` cannot be read.
pub fn tree_cpu_ticks(root: u32) -> Option<u64> {
    stat(root)?;
    Some(ticks_of(&tree(root)))
}

fn ticks_of(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|&pid| stat(pid))
        .map(|s| s.own_ticks + s.children_ticks)
        .sum()
}

/// Nanoseconds on CPU of one thread, the first field of its `schedstat`.
pub fn thread_cpu_ns(pid: u32, tid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?;
    text.split_ascii_whitespace().next()?.parse().ok()
}

/// A snapshot of the CPU time of a process tree, taken by [`cpu_sample`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuSample {
    /// [`tree_cpu_ticks`]: complete (exited threads and reaped children
    /// included) but only as precise as a clock tick.
    pub ticks: u64,
    /// Nanosecond CPU time of every live thread of the tree, by thread id.
    pub threads: HashMap<u32, u64>,
}

/// Samples the CPU time of the tree rooted at `root`; `None` if `root` is gone.
pub fn cpu_sample(root: u32) -> Option<CpuSample> {
    stat(root)?;
    Some(sample_of(&tree(root)))
}

/// Nanoseconds on CPU of the calling thread, from `/proc/thread-self/schedstat`.
pub fn current_thread_cpu_ns() -> Option<u64> {
    let text = fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_ascii_whitespace().next()?.parse().ok()
}

fn sample_of(pids: &[u32]) -> CpuSample {
    let mut threads = HashMap::new();
    for &pid in pids {
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(ns) = thread_cpu_ns(pid, tid) {
                threads.insert(tid, ns);
            }
        }
    }
    CpuSample {
        ticks: ticks_of(pids),
        threads,
    }
}

/// CPU time spent between two samples of the same tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuDelta {
    /// Best estimate, in seconds.
    pub seconds: f64,
    /// Whether `seconds` comes from nanosecond `schedstat` counters (`true`)
    /// or from clock ticks.
    pub precise: bool,
    /// The clock-tick figure alone, in seconds.
    pub tick_seconds: f64,
}

/// The CPU time between `before` and `after`, with `clk_tck` ticks per second.
///
/// Uses the per-thread nanosecond counters when they exist and agree with the tick
/// counters within 3 ticks (rounding); a bigger gap means CPU time went to
/// threads or processes that exited in between, and only ticks include those.
pub fn cpu_delta(before: &CpuSample, after: &CpuSample, clk_tck: u64) -> CpuDelta {
    let tick_seconds = after.ticks.saturating_sub(before.ticks) as f64 / clk_tck as f64;
    let ns: u64 = after
        .threads
        .iter()
        .map(|(tid, &ns)| ns.saturating_sub(before.threads.get(tid).copied().unwrap_or(0)))
        .sum();
    let precise_seconds = ns as f64 / 1e9;
    let agree = (precise_seconds - tick_seconds).abs() <= 3.0 / clk_tck as f64;
    if agree && !after.threads.is_empty() {
        CpuDelta {
            seconds: precise_seconds,
            precise: true,
            tick_seconds,
        }
    } else {
        CpuDelta {
            seconds: tick_seconds,
            precise: false,
            tick_seconds,
        }
    }
}

/// Sum of a `/proc/<pid>/status` KiB field over the tree rooted at `root`.
///
/// For `VmHWM` this is the sum of each process's own peak, which can exceed the
/// tree's simultaneous peak but equals it for a single process.
pub fn tree_status_kib(root: u32, field: &str) -> Option<u64> {
    let own = status_kib(root, field)?;
    let others: u64 = tree(root)
        .into_iter()
        .skip(1)
        .filter_map(|pid| status_kib(pid, field))
        .sum();
    Some(own + others)
}

/// Clock ticks per second (`_SC_CLK_TCK`), from `getconf CLK_TCK`.
///
/// Asked once and cached. Falls back to 100, the value on every common Linux
/// configuration, when `getconf` is unavailable; see [`clk_tck_is_assumed`].
pub fn clk_tck() -> u64 {
    clk_tck_probe().0
}

/// Whether [`clk_tck`] had to assume 100 because `getconf CLK_TCK` failed.
pub fn clk_tck_is_assumed() -> bool {
    clk_tck_probe().1
}

fn clk_tck_probe() -> (u64, bool) {
    static TCK: OnceLock<(u64, bool)> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
            .filter(|&tck: &u64| tck > 0)
            .map_or((100, true), |tck| (tck, false))
    })
}

/// Runs `clients` to completion, each in a task of the current tokio runtime, and returns
/// the CPU time of the process tree of `pid` per call (`calls` in all, µs) with what the
/// clients returned. The clients are dropped after the second sample, so closing their
/// connections is not counted.
pub async fn cpu_per_call_while<T, E, F>(
    pid: u32,
    calls: usize,
    clients: Vec<F>,
) -> Result<(f64, Vec<T>), String>
where
    F: std::future::Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let before = cpu_sample(pid).ok_or("no /proc stat")?;
    let tasks: Vec<_> = clients.into_iter().map(tokio::spawn).collect();
    let mut done = Vec::with_capacity(tasks.len());
    for task in tasks {
        done.push(
            task.await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?,
        );
    }
    let after = cpu_sample(pid).ok_or("no /proc stat")?;
    let cpu = cpu_delta(&before, &after, clk_tck());
    Ok((cpu.seconds * 1e6 / calls.max(1) as f64, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_name() {
        let text = "4242 (a) b (c) S 17 4242 4242 0 -1 4194560 100 0 0 0 12 34 5 6 20 0 1 0 1 1 1";
        let stat = parse_stat(text).unwrap();
        assert_eq!(
            stat,
            Stat {
                ppid: 17,
                own_ticks: 46,
                children_ticks: 11
            }
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn delta_prefers_precise_unless_time_went_missing() {
        let sample = |ticks, ns| CpuSample {
            ticks,
            threads: HashMap::from([(1, ns)]),
        };
        let delta = cpu_delta(&sample(10, 100_000_000), &sample(11, 112_345_678), 100);
        assert!(delta.precise);
        assert!((delta.seconds - 0.012_345_678).abs() < 1e-12);
        assert!((delta.tick_seconds - 0.01).abs() < 1e-12);
        // 50 ticks of CPU, but live threads account for only 2 ms of it.
        let delta = cpu_delta(&sample(10, 0), &sample(60, 2_000_000), 100);
        assert!(!delta.precise);
        assert!((delta.seconds - 0.5).abs() < 1e-12);
    }

    #[test]
    fn status_fields() {
        let text = "Name:\tx\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(parse_status_kib(text, "VmHWM"), Some(2048));
        assert_eq!(parse_status_kib(text, "VmRSS"), Some(1024));
        assert_eq!(parse_status_kib(text, "VmSwap"), None);
    }

    #[test]
    fn own_process() {
        let me = std::process::id();
        assert!(tree_cpu_ticks(me).is_some());
        let thread_before = current_thread_cpu_ns().unwrap();
        let before = cpu_sample(me).unwrap();
        assert!(before.threads.contains_key(&me));
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(30) {
            std::hint::black_box(0);
        }
        let delta = cpu_delta(&before, &cpu_sample(me).unwrap(), clk_tck());
        assert!(delta.seconds > 0.0, "{delta:?}");
        assert!(current_thread_cpu_ns().unwrap() > thread_before);
        assert!(tree_status_kib(me, "VmHWM").unwrap() > 0);
        assert_eq!(tree(me)[0], me);
        assert!(clk_tck() > 0);
    }
}

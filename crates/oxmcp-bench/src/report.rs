//! Rendering reports: JSON objects for machines, tables for people.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::loadgen::Report;

/// A figure of a [`Report`] that `compare` summarises across repetitions.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Key in JSON output.
    pub key: &'static str,
    /// Label in tables, with its unit.
    pub label: &'static str,
    /// Whether a larger value is better (throughput) rather than worse.
    pub higher_is_better: bool,
    /// Extracts the figure; `None` when it could not be measured.
    pub get: fn(&Report) -> Option<f64>,
}

/// The figures `compare` summarises, in table order.
pub const METRICS: &[Metric] = &[
    Metric {
        key: "throughput_rps",
        label: "throughput req/s",
        higher_is_better: true,
        get: |r| Some(r.throughput_rps),
    },
    Metric {
        key: "p50_us",
        label: "latency p50 µs",
        higher_is_better: false,
        get: |r| Some(r.latency.p50_us),
    },
    Metric {
        key: "p99_us",
        label: "latency p99 µs",
        higher_is_better: false,
        get: |r| Some(r.latency.p99_us),
    },
    Metric {
        key: "max_us",
        label: "latency max µs",
        higher_is_better: false,
        get: |r| Some(r.latency.max_us),
    },
    Metric {
        key: "cpu_us_per_call",
        label: "server CPU µs/call",
        higher_is_better: false,
        get: |r| r.cpu_us_per_call,
    },
    Metric {
        key: "peak_rss_kib",
        label: "peak RSS KiB",
        higher_is_better: false,
        get: |r| r.peak_rss_kib.map(|v| v as f64),
    },
    Metric {
        key: "idle_rss_kib",
        label: "idle RSS KiB",
        higher_is_better: false,
        get: |r| r.idle_rss_kib.map(|v| v as f64),
    },
    Metric {
        key: "client_cpu_us_per_call",
        label: "loadgen CPU µs/call",
        higher_is_better: false,
        get: |r| r.client_cpu_us_per_call,
    },
    Metric {
        key: "startup_ms",
        label: "startup ms",
        higher_is_better: false,
        get: |r| Some(r.startup.as_secs_f64() * 1e3),
    },
];

/// Rounds to 3 decimals so JSON output stays readable.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// One report as a flat JSON object; `name` labels the server when given.
pub fn to_json(report: &Report, name: Option<&str>) -> Value {
    let opt = |v: Option<f64>| v.map(round3);
    let mut object = json!({
        "kind": "run",
        "server": report.server,
        "era": report.era.as_str(),
        "inflight": report.inflight,
        "warmup": report.warmup,
        "requests": report.requests,
        "responses": report.responses,
        "errors": report.errors,
        "wall_ms": round3(report.wall.as_secs_f64() * 1e3),
        "throughput_rps": round3(report.throughput_rps),
        "p50_us": round3(report.latency.p50_us),
        "p99_us": round3(report.latency.p99_us),
        "max_us": round3(report.latency.max_us),
        "mean_us": round3(report.latency.mean_us),
        "cpu_us_per_call": opt(report.cpu_us_per_call),
        "cpu_precise": report.cpu_precise,
        "cpu_tick_us_per_call": opt(report.cpu_tick_us_per_call),
        "cpu_resolution_us": round3(report.cpu_resolution_us),
        "client_cpu_us_per_call": opt(report.client_cpu_us_per_call),
        "clk_tck": report.clk_tck,
        "peak_rss_kib": report.peak_rss_kib,
        "idle_rss_kib": report.idle_rss_kib,
        "startup_ms": round3(report.startup.as_secs_f64() * 1e3),
        "shutdown_ms": round3(report.shutdown.as_secs_f64() * 1e3),
        "killed": report.killed,
        "processes": report.processes,
        "protocol_version": report.protocol_version,
        "first_error": report.first_error,
    });
    if let Some(name) = name {
        object["name"] = json!(name);
    }
    object
}

/// Formats an optional figure, `-` when missing.
pub fn figure(value: Option<f64>) -> String {
    match value {
        None => "-".to_owned(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// One report as a human-readable table.
pub fn to_table(report: &Report) -> String {
    let mut out = String::new();
    let kib = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
    let rows: Vec<(&str, String)> = vec![
        ("server", report.server.clone()),
        (
            "era / protocol",
            format!(
                "{} / {}",
                report.era,
                report.protocol_version.as_deref().unwrap_or("?")
            ),
        ),
        ("in flight", report.inflight.to_string()),
        (
            "requests (warm-up)",
            format!("{} ({})", report.requests, report.warmup),
        ),
        ("responses", report.responses.to_string()),
        ("errors", report.errors.to_string()),
        ("wall ms", figure(Some(report.wall.as_secs_f64() * 1e3))),
        ("throughput req/s", figure(Some(report.throughput_rps))),
        ("latency p50 µs", figure(Some(report.latency.p50_us))),
        ("latency p99 µs", figure(Some(report.latency.p99_us))),
        ("latency max µs", figure(Some(report.latency.max_us))),
        ("latency mean µs", figure(Some(report.latency.mean_us))),
        (
            "server CPU µs/call",
            format!(
                "{} ({}; ticks alone: {} ±{} at CLK_TCK {})",
                figure(report.cpu_us_per_call),
                if report.cpu_precise {
                    "schedstat ns"
                } else {
                    "clock ticks"
                },
                figure(report.cpu_tick_us_per_call),
                figure(Some(report.cpu_resolution_us)),
                report.clk_tck
            ),
        ),
        ("loadgen CPU µs/call", figure(report.client_cpu_us_per_call)),
        ("peak RSS KiB", kib(report.peak_rss_kib)),
        ("idle RSS KiB", kib(report.idle_rss_kib)),
        (
            "startup ms",
            figure(Some(report.startup.as_secs_f64() * 1e3)),
        ),
        (
            "shutdown ms",
            format!(
                "{}{}",
                figure(Some(report.shutdown.as_secs_f64() * 1e3)),
                if report.killed { " (killed)" } else { "" }
            ),
        ),
        ("processes", report.processes.to_string()),
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "{label:<20} {value}");
    }
    if let Some(error) = &report.first_error {
        let _ = writeln!(out, "{:<20} {error}", "first error");
    }
    out
}

/// Lays out `rows` of cells as left-aligned columns separated by two spaces.
pub fn columns(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..width)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_and_columns() {
        assert_eq!(figure(None), "-");
        assert_eq!(figure(Some(12345.6)), "12346");
        assert_eq!(figure(Some(12.34)), "12.3");
        assert_eq!(figure(Some(1.234)), "1.23");
        let table = columns(&[
            vec!["a".into(), "bb".into()],
            vec!["ccc".into(), "d".into()],
        ]);
        assert_eq!(table, "a    bb\nccc  d\n");
        assert_eq!(round3(1.23456), 1.235);
    }
}

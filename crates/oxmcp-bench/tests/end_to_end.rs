//! End-to-end: the load generator against the floor server, both built by this crate.

use std::time::Duration;

use oxmcp_bench::compare::{self, Plan, Server};
use oxmcp_bench::report::METRICS;
use oxmcp_bench::{loadgen, report, Config, Era, Report};

/// The floor server's command line, quoted in case the path has spaces.
fn floor() -> String {
    format!("'{}'", env!("CARGO_BIN_EXE_floor-stdio"))
}

fn config(era: Era, inflight: usize, requests: usize) -> Config {
    Config {
        era,
        inflight,
        requests,
        warmup: 50,
        timeout: Duration::from_secs(20),
        ..Config::new(floor())
    }
}

fn assert_sane(report: &Report, requests: usize) {
    let table = report::to_table(report);
    assert_eq!(report.errors, 0, "{table}");
    assert_eq!(report.first_error, None, "{table}");
    assert_eq!(report.responses, requests, "{table}");
    assert!(report.wall > Duration::ZERO, "{table}");
    assert!(report.wall < Duration::from_secs(60), "{table}");
    assert!(report.throughput_rps > 0.0, "{table}");
    let l = report.latency;
    assert!(
        l.p50_us > 0.0 && l.p50_us <= l.p99_us && l.p99_us <= l.max_us,
        "{table}"
    );
    assert!(l.mean_us > 0.0 && l.mean_us <= l.max_us, "{table}");
    // Every request took at most the whole phase.
    assert!(l.max_us <= report.wall.as_secs_f64() * 1e6 + 1.0, "{table}");
    let cpu = report.cpu_us_per_call.expect("CPU time measured");
    // Tick-based figures of such short runs may round down to zero.
    assert!((0.0..1e5).contains(&cpu), "{table}");
    if report.cpu_precise {
        assert!(cpu > 0.0, "{table}");
    }
    let peak = report.peak_rss_kib.expect("peak RSS measured");
    let idle = report.idle_rss_kib.expect("idle RSS measured");
    assert!(idle > 0 && peak >= idle && peak < 1024 * 1024, "{table}");
    assert!(report.startup > Duration::ZERO && report.startup < Duration::from_secs(10));
    assert!(!report.killed, "floor must exit when stdin closes\n{table}");
    assert_eq!(report.processes, 1, "{table}");
    assert!(report.clk_tck > 0);
    let json = report::to_json(report, Some("floor"));
    assert_eq!(json["errors"], 0);
    assert_eq!(json["responses"], requests);
    assert_eq!(json["name"], "floor");
}

#[test]
fn legacy_one_in_flight() {
    let report = loadgen::run(&config(Era::Legacy, 1, 300)).unwrap();
    assert_sane(&report, 300);
    assert_eq!(report.protocol_version.as_deref(), Some("2025-11-25"));
}

#[test]
fn legacy_pipelined() {
    let report = loadgen::run(&config(Era::Legacy, 16, 2_000)).unwrap();
    assert_sane(&report, 2_000);
}

#[test]
fn modern_pipelined() {
    let report = loadgen::run(&config(Era::Modern, 8, 1_000)).unwrap();
    assert_sane(&report, 1_000);
    assert_eq!(report.protocol_version.as_deref(), Some("2026-07-28"));
}

#[test]
fn more_in_flight_than_requests() {
    let report = loadgen::run(&Config {
        warmup: 0,
        ..config(Era::Legacy, 64, 10)
    })
    .unwrap();
    assert_sane(&report, 10);
}

#[test]
fn compare_two_floors() {
    let plan = Plan {
        servers: vec![
            Server {
                name: "floor".into(),
                command: floor(),
            },
            Server {
                name: "again".into(),
                command: floor(),
            },
        ],
        eras: vec![Era::Legacy, Era::Modern],
        inflights: vec![1, 4],
        reps: 2,
        requests: 200,
        warmup: 20,
        timeout: Duration::from_secs(20),
    };
    let mut runs = 0;
    let groups = compare::run(&plan, |_, _, result| {
        assert!(result.is_ok(), "{result:?}");
        runs += 1;
    });
    assert_eq!(runs, 2 * 2 * 2 * 2);
    assert_eq!(groups.len(), 4);
    for group in &groups {
        for (s, summary) in group.servers.iter().enumerate() {
            assert_eq!((summary.runs, summary.errors), (2, 0), "{summary:?}");
            assert!(summary.failures.is_empty());
            for (m, metric) in METRICS.iter().enumerate() {
                assert!(summary.median(m).is_some_and(|v| v > 0.0), "{}", metric.key);
                let ratio = group.ratio(s, m).unwrap();
                assert!(ratio > 0.0 && ratio.is_finite());
                if s == 0 {
                    assert_eq!(ratio, 1.0);
                }
            }
        }
        let table = compare::to_table(group, &plan);
        assert!(
            table.contains("floor") && table.contains("again"),
            "{table}"
        );
        assert_eq!(compare::to_json(group, &plan).len(), 2);
    }
}

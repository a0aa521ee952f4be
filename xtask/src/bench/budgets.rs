//! The budgets of `cargo xtask bench`: each row read from the benchmarks' JSON lines,
//! judged against its limit, and the table printed at the end.

use crate::json::Json;

/// Whether a budget is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Pass,
    Fail,
    NotMeasured,
    /// A figure reported for reference, with no limit.
    Reported,
}

/// One budget and how oxmcp fared.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Budget {
    /// What is measured, and where.
    name: String,
    /// oxmcp's figure, with its unit.
    figure: String,
    /// oxmcp's ratio to the floor, when the budget is a ratio.
    ratio: Option<f64>,
    /// The limit, as text.
    limit: String,
    /// rmcp's figure or ratio in the same setting, for reference.
    rmcp: String,
    pub(super) verdict: Verdict,
}

/// A number member of a JSON object, by path (`["ratio", "p50_us"]`).
fn number(object: &Json, path: &[&str]) -> Option<f64> {
    let mut value = object;
    for key in path {
        value = value.get(key)?;
    }
    match value {
        Json::Number(n) => n.parse().ok(),
        _ => None,
    }
}

/// A string member of a JSON object.
fn text<'a>(object: &'a Json, key: &str) -> Option<&'a str> {
    object.get(key)?.as_str()
}

/// The first line with all the given string and number members.
fn find<'a>(
    lines: &'a [Json],
    strings: &[(&str, &str)],
    numbers: &[(&str, f64)],
) -> Option<&'a Json> {
    lines.iter().find(|line| {
        strings.iter().all(|(k, v)| text(line, k) == Some(v))
            && numbers.iter().all(|(k, v)| number(line, &[k]) == Some(*v))
    })
}

fn verdict(value: Option<f64>, ok: impl Fn(f64) -> bool) -> Verdict {
    match value {
        None => Verdict::NotMeasured,
        Some(v) if ok(v) => Verdict::Pass,
        Some(_) => Verdict::Fail,
    }
}

fn shown(value: Option<f64>, unit: &str) -> String {
    match value {
        None => "-".to_owned(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0} {unit}"),
        Some(v) => format!("{v:.2} {unit}"),
    }
}

fn shown_ratio(value: Option<f64>) -> String {
    value.map_or("-".to_owned(), |r| format!("×{r:.2}"))
}

/// Checks every budget against the JSON lines of the run.
pub(super) fn check(lines: &[Json]) -> Vec<Budget> {
    let mut budgets = Vec::new();
    let summary = |name: &str, era: &str, inflight: f64| {
        find(
            lines,
            &[("kind", "summary"), ("name", name), ("era", era)],
            &[("inflight", inflight)],
        )
    };
    // stdio: server CPU per call, and p50 latency at depth 1, as ratios to the floor.
    for era in ["legacy", "modern"] {
        for inflight in [1.0, 32.0] {
            let ours = summary("oxmcp", era, inflight);
            let ratio = ours.and_then(|s| number(s, &["ratio", "cpu_us_per_call"]));
            let cpu_ratio = |name: &str| {
                summary(name, era, inflight).and_then(|s| number(s, &["ratio", "cpu_us_per_call"]))
            };
            let rmcp = cpu_ratio("rmcp");
            // For reference beside rmcp: the floor on an event loop with handlers off the
            // reader, and a minimal typed SDK (`floor-async-stdio [--typed]`).
            let reference = match (cpu_ratio("async-floor"), cpu_ratio("typed-floor")) {
                (Some(structure), Some(typed)) => format!(
                    "{}; async floor ×{structure:.2}, typed floor ×{typed:.2}",
                    shown_ratio(rmcp)
                ),
                _ => shown_ratio(rmcp),
            };
            // Issue 10 set ×1.15 at 32 in flight (where the per-request cost shows); at 1
            // in flight the round trip dominates and ×2.0 stays.
            let limit = if inflight > 1.0 { 1.15 } else { 2.0 };
            budgets.push(Budget {
                name: format!("stdio server CPU/call, {era}, {inflight} in flight"),
                figure: shown(
                    ours.and_then(|s| number(s, &["median", "cpu_us_per_call"])),
                    "µs",
                ),
                ratio,
                limit: format!("≤ ×{limit}"),
                rmcp: reference,
                verdict: verdict(ratio, |r| r <= limit),
            });
        }
        let ours = summary("oxmcp", era, 1.0);
        let ratio = ours.and_then(|s| number(s, &["ratio", "p50_us"]));
        budgets.push(Budget {
            name: format!("stdio latency p50, {era}, 1 in flight"),
            figure: shown(ours.and_then(|s| number(s, &["median", "p50_us"])), "µs"),
            ratio,
            limit: "≤ ×1.5".into(),
            rmcp: shown_ratio(
                summary("rmcp", era, 1.0).and_then(|s| number(s, &["ratio", "p50_us"])),
            ),
            verdict: verdict(ratio, |r| r <= 1.5),
        });
    }
    // The proxy (stdio front, stdio back, echo behind it) at 1 in flight: its client-observed
    // latency against a direct call plus one more hop (the floor's round trip), and its own
    // CPU per call against the floor's. `compare` counts a server's CPU with the processes it
    // starts, so the proxy's own is its count less that of the same echo served directly.
    // The reference column gives the same figures for a bare byte relay (`relay-stdio`),
    // which parses nothing: what the extra hop costs before any work.
    for era in ["legacy", "modern"] {
        let p50 =
            |name: &str| summary(name, era, 1.0).and_then(|s| number(s, &["median", "p50_us"]));
        let cpu_us = |name: &str| {
            summary(name, era, 1.0).and_then(|s| number(s, &["median", "cpu_us_per_call"]))
        };
        let latency = |name: &str| match (p50(name), p50("oxmcp"), p50("floor")) {
            (Some(hop), Some(direct), Some(floor)) => Some(hop / (direct + floor)),
            _ => None,
        };
        let own = |name: &str| match (cpu_us(name), cpu_us("oxmcp")) {
            (Some(tree), Some(echo)) => Some((tree - echo).max(0.0)),
            _ => None,
        };
        let own_ratio = |name: &str| match (own(name), cpu_us("floor")) {
            (Some(own), Some(floor)) if floor > 0.0 => Some(own / floor),
            _ => None,
        };
        let relay = |ratio: Option<f64>| match ratio {
            Some(r) => format!("bare relay ×{r:.2}"),
            None => "-".into(),
        };
        let ratio = latency("proxy");
        budgets.push(Budget {
            name: format!("proxy latency p50 / (direct + one hop), {era}"),
            figure: shown(p50("proxy"), "µs"),
            ratio,
            limit: "≤ ×1.3".into(),
            rmcp: relay(latency("relay")),
            verdict: verdict(ratio, |r| r <= 1.3),
        });
        let ratio = own_ratio("proxy");
        budgets.push(Budget {
            name: format!("proxy's own CPU/call, {era}, 1 in flight"),
            figure: shown(own("proxy"), "µs"),
            ratio,
            limit: "≤ ×2.0".into(),
            rmcp: relay(own_ratio("relay")),
            verdict: verdict(ratio, |r| r <= 2.0),
        });
    }
    // A hub of 10 back ends answering tools/list from its cache, against one server listing
    // as many tools (hub-bench starts it with `--tools N`).
    let hub = find(
        lines,
        &[("kind", "summary"), ("name", "hub-tools-list")],
        &[],
    );
    let ratio = hub.and_then(|s| number(s, &["ratio", "hub_us"]));
    budgets.push(Budget {
        name: "hub of 10: tools/list vs one server".into(),
        figure: shown(hub.and_then(|s| number(s, &["median", "hub_us"])), "µs"),
        ratio,
        limit: "≤ ×1.5".into(),
        rmcp: "-".into(),
        verdict: verdict(ratio, |r| r <= 1.5),
    });
    // HTTP: server CPU per call with 16 clients.
    for era in ["legacy", "modern"] {
        let http = |server: &str| {
            find(
                lines,
                &[("bench", "http"), ("server", server), ("era", era)],
                &[("clients", 16.0)],
            )
        };
        let ours = http("oxmcp");
        let ratio = ours.and_then(|s| number(s, &["cpu_ratio_to_baseline"]));
        let rmcp = http("rmcp");
        budgets.push(Budget {
            name: format!("HTTP server CPU/call, {era}, 16 clients"),
            figure: shown(ours.and_then(|s| number(s, &["cpu_us_per_call"])), "µs"),
            ratio,
            limit: "≤ ×1.25".into(),
            rmcp: if rmcp.is_some_and(|r| r.get("unsupported") == Some(&Json::Bool(true))) {
                "n/a".into()
            } else {
                shown_ratio(rmcp.and_then(|s| number(s, &["cpu_ratio_to_baseline"])))
            },
            verdict: verdict(ratio, |r| r <= 1.25),
        });
    }
    // HTTP+SSE and WebSocket: server CPU per call at 16 clients against Streamable HTTP on
    // the same listener, in the same run.
    for era in ["legacy", "modern"] {
        for transport in ["http+sse", "websocket"] {
            let row = find(
                lines,
                &[
                    ("bench", "transports"),
                    ("era", era),
                    ("transport", transport),
                ],
                &[("clients", 16.0)],
            );
            let ratio = row.and_then(|r| number(r, &["cpu_ratio_to_streamable"]));
            budgets.push(Budget {
                name: format!("{transport} server CPU/call vs Streamable HTTP, {era}, 16 clients"),
                figure: shown(row.and_then(|r| number(r, &["cpu_us_per_call"])), "µs"),
                ratio,
                limit: "≤ ×1.3".into(),
                rmcp: "n/a".into(),
                verdict: verdict(ratio, |r| r <= 1.3),
            });
        }
    }
    let idle_ws = find(lines, &[("bench", "idle-ws"), ("server", "oxmcp")], &[])
        .and_then(|l| number(l, &["rss_per_connection_bytes"]));
    budgets.push(Budget {
        name: "RSS per idle WebSocket connection".into(),
        figure: shown(idle_ws, "B"),
        ratio: None,
        limit: "≤ 4096 B".into(),
        rmcp: "n/a".into(),
        verdict: verdict(idle_ws, |b| b <= 4096.0),
    });
    // Output validation: a structured tool's call with its result checked against its
    // schema, as a ratio to the same call unchecked (in-process, one in flight).
    let validation = find(lines, &[("bench", "output-validation")], &[]);
    let ratio = validation.and_then(|l| number(l, &["ratio"]));
    budgets.push(Budget {
        name: "tools/call with output validation vs without".into(),
        figure: shown(
            validation.and_then(|l| number(l, &["ns_per_call_with"])),
            "ns",
        ),
        ratio,
        limit: "≤ ×1.25".into(),
        rmcp: "-".into(),
        verdict: verdict(ratio, |r| r <= 1.25),
    });
    overhead_budgets(lines, &mut budgets);
    // Idle stdio RSS right after the handshake: the worst median over the settings.
    let idle = |name: &str| {
        lines
            .iter()
            .filter(|l| text(l, "kind") == Some("summary") && text(l, "name") == Some(name))
            .filter_map(|l| number(l, &["median", "idle_rss_kib"]))
            .reduce(f64::max)
    };
    let ours = idle("oxmcp");
    budgets.push(Budget {
        name: "idle stdio server RSS (worst median)".into(),
        figure: shown(ours.map(|k| k / 1024.0), "MiB"),
        ratio: None,
        limit: "≤ 4 MiB".into(),
        rmcp: shown(idle("rmcp").map(|k| k / 1024.0), "MiB"),
        verdict: verdict(ours, |k| k <= 4.0 * 1024.0),
    });
    // scale-bench: RSS per idle HTTP session, tools-scale, floods.
    let scale =
        |bench: &str, server: &str| find(lines, &[("bench", bench), ("server", server)], &[]);
    let per_session = |server: &str| {
        scale("idle-sessions", server).and_then(|l| number(l, &["rss_per_session_bytes"]))
    };
    let ours = per_session("oxmcp");
    budgets.push(Budget {
        name: "RSS per idle legacy HTTP session".into(),
        figure: shown(ours, "B"),
        ratio: None,
        limit: "≤ 2048 B".into(),
        rmcp: shown(per_session("rmcp"), "B"),
        verdict: verdict(ours, |b| b <= 2048.0),
    });
    let ratio = scale("tools-scale", "oxmcp").and_then(|l| number(l, &["cpu_per_call_ratio"]));
    budgets.push(Budget {
        name: "CPU/call with 1000 tools vs 1 tool".into(),
        figure: shown_ratio(ratio),
        ratio,
        limit: "≤ ×1.1".into(),
        rmcp: "-".into(),
        verdict: verdict(ratio, |r| r <= 1.1),
    });
    for era in ["legacy", "modern"] {
        let flood = |server: &str| {
            find(
                lines,
                &[("bench", "flood"), ("server", server), ("era", era)],
                &[],
            )
        };
        let ours = flood("oxmcp");
        let answered =
            ours.and_then(|l| Some((number(l, &["answered"])?, number(l, &["requests"])?)));
        let rmcp = flood("rmcp");
        let rmcp_answered =
            rmcp.and_then(|l| Some((number(l, &["answered"])?, number(l, &["requests"])?)));
        budgets.push(Budget {
            name: format!("flood, {era}: every request answered"),
            figure: answered.map_or("-".into(), |(a, r)| format!("{a:.0}/{r:.0}")),
            ratio: None,
            limit: "all".into(),
            rmcp: rmcp_answered.map_or("-".into(), |(a, r)| format!("{a:.0}/{r:.0}")),
            verdict: match answered {
                None => Verdict::NotMeasured,
                Some((a, r)) if a == r => Verdict::Pass,
                Some(_) => Verdict::Fail,
            },
        });
        let peak = ours.and_then(|l| number(l, &["peak_rss_bytes"]));
        let mib = |b: f64| b / (1024.0 * 1024.0);
        budgets.push(Budget {
            name: format!("flood, {era}: peak RSS"),
            figure: shown(peak.map(mib), "MiB"),
            ratio: None,
            limit: "< 64 MiB".into(),
            rmcp: shown(
                rmcp.and_then(|l| number(l, &["peak_rss_bytes"])).map(mib),
                "MiB",
            ),
            verdict: verdict(peak, |b| b < 64.0 * 1024.0 * 1024.0),
        });
    }
    // The oxmcp command (issue 16): `oxmcp call` against the floor, as a ratio to the
    // floor's own start-up plus one call. With it, the least ratio any client in a process
    // of its own can reach (one more process start: see cli-bench), measured in the same run.
    let cli = find(lines, &[("bench", "cli")], &[]);
    let ratio = cli.and_then(|l| number(l, &["ratio"]));
    let call = shown(cli.and_then(|l| number(l, &["median_ms", "call"])), "ms");
    budgets.push(Budget {
        name: "oxmcp call vs the server's start-up + one call (stdio)".into(),
        figure: match cli.and_then(|l| number(l, &["least_ratio"])) {
            Some(least) => format!("{call} (least possible ×{least:.2})"),
            None => call,
        },
        ratio,
        limit: "≤ ×1.5".into(),
        rmcp: "n/a".into(),
        verdict: verdict(ratio, |r| r <= 1.5),
    });
    budgets
}

/// `overhead-bench`: an authenticated call (RS256 JWT, cache warm) against the same call
/// without auth (issue 12), with the cold figure (each call a token's first
/// verification) reported; spans and metrics on against off (issue 14), over HTTP and
/// stdio. Ratios of server CPU per call, both measured in the same run.
fn overhead_budgets(lines: &[Json], budgets: &mut Vec<Budget>) {
    let cpu = |row: Option<&Json>| shown(row.and_then(|r| number(r, &["cpu_us_per_call"])), "µs");
    for era in ["legacy", "modern"] {
        let auth = find(lines, &[("bench", "auth"), ("era", era)], &[]);
        let ratio = auth.and_then(|r| number(r, &["ratio"]));
        budgets.push(Budget {
            name: format!("JWT (RS256, cache warm) CPU/call vs no auth, HTTP {era}, 16 clients"),
            figure: cpu(auth),
            ratio,
            limit: "≤ ×1.3".into(),
            rmcp: "n/a".into(),
            verdict: verdict(ratio, |r| r <= 1.3),
        });
        let cold = auth.and_then(|r| number(r, &["cold_ratio"]));
        budgets.push(Budget {
            name: format!("JWT cold (each call a new token) CPU/call vs no auth, HTTP {era}"),
            figure: shown(
                auth.and_then(|r| number(r, &["cold_cpu_us_per_call"])),
                "µs",
            ),
            ratio: cold,
            limit: "-".into(),
            rmcp: "n/a".into(),
            verdict: match cold {
                Some(_) => Verdict::Reported,
                None => Verdict::NotMeasured,
            },
        });
        for (transport, setting) in [("http", "16 clients"), ("stdio", "32 in flight")] {
            let row = find(
                lines,
                &[
                    ("bench", "observability"),
                    ("transport", transport),
                    ("era", era),
                ],
                &[],
            );
            let ratio = row.and_then(|r| number(r, &["ratio"]));
            // Over stdio, for reference: the server plus only the stock parts of one
            // span and one observation, timed in a hot loop (`bare_components` in
            // overhead-bench), against the same server.
            let bare = find(
                lines,
                &[
                    ("bench", "observability-components"),
                    ("transport", transport),
                    ("era", era),
                ],
                &[],
            )
            .and_then(|r| number(r, &["ratio"]));
            budgets.push(Budget {
                name: format!("spans + metrics CPU/call vs none, {transport} {era}, {setting}"),
                figure: cpu(row),
                ratio,
                limit: "≤ ×1.3".into(),
                rmcp: bare.map_or("n/a".into(), |r| format!("bare parts alone ×{r:.2}")),
                verdict: verdict(ratio, |r| r <= 1.3),
            });
        }
    }
}

/// The budgets as aligned columns.
pub(super) fn table(budgets: &[Budget]) -> String {
    let mut rows = vec![[
        "budget (oxmcp)".to_owned(),
        "figure".to_owned(),
        "ratio".to_owned(),
        "limit".to_owned(),
        "rmcp (reference)".to_owned(),
        "verdict".to_owned(),
    ]];
    for b in budgets {
        rows.push([
            b.name.clone(),
            b.figure.clone(),
            shown_ratio(b.ratio),
            b.limit.clone(),
            b.rmcp.clone(),
            match b.verdict {
                Verdict::Pass => "PASS",
                Verdict::Fail => "FAIL",
                Verdict::NotMeasured => "not measured",
                Verdict::Reported => "(reported)",
            }
            .to_owned(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::from("  ");
        for (cell, width) in row.iter().zip(&widths) {
            line.push_str(cell);
            line.push_str(&" ".repeat(width - cell.chars().count() + 2));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn budgets_from_json_lines() {
        let lines: Vec<Json> = [
            r#"{"kind":"summary","name":"oxmcp","era":"legacy","inflight":1,"median":{"cpu_us_per_call":4.0,"p50_us":5.0,"idle_rss_kib":3000},"ratio":{"cpu_us_per_call":2.5,"p50_us":1.2}}"#,
            r#"{"kind":"summary","name":"rmcp","era":"legacy","inflight":1,"median":{"idle_rss_kib":6000},"ratio":{"cpu_us_per_call":12.0,"p50_us":7.0}}"#,
            r#"{"bench":"http","era":"modern","clients":16,"server":"oxmcp","cpu_us_per_call":10.0,"cpu_ratio_to_baseline":1.2}"#,
            r#"{"bench":"http","era":"modern","clients":16,"server":"rmcp","unsupported":true}"#,
            r#"{"bench":"flood","server":"oxmcp","era":"legacy","requests":50000,"answered":49999,"peak_rss_bytes":1000}"#,
            r#"{"bench":"transports","era":"legacy","clients":16,"transport":"websocket","cpu_us_per_call":30.0,"cpu_ratio_to_streamable":0.8}"#,
            r#"{"bench":"transports","era":"legacy","clients":16,"transport":"http+sse","cpu_us_per_call":50.0,"cpu_ratio_to_streamable":1.4}"#,
            r#"{"bench":"idle-ws","server":"oxmcp","sockets":1000,"rss_per_connection_bytes":5000.0}"#,
            r#"{"bench":"auth","era":"modern","clients":16,"cpu_us_per_call":40.0,"ratio":1.1,"cold_cpu_us_per_call":90.0,"cold_ratio":2.4}"#,
            r#"{"bench":"observability","transport":"stdio","era":"legacy","cpu_us_per_call":9.0,"ratio":1.5}"#,
            r#"{"bench":"cli","reps":30,"median_ms":{"server":1.0,"version":1.1,"call":2.5,"process":0.9},"ratio":2.5,"least_ratio":1.9}"#,
        ]
        .iter()
        .map(|l| json::parse(l).unwrap())
        .collect();
        let budgets = check(&lines);
        let by_name = |name: &str| budgets.iter().find(|b| b.name == name).unwrap();
        let cli = by_name("oxmcp call vs the server's start-up + one call (stdio)");
        assert_eq!(
            (cli.verdict, cli.ratio, cli.figure.as_str()),
            (Verdict::Fail, Some(2.5), "2.50 ms (least possible ×1.90)")
        );
        let cpu = by_name("stdio server CPU/call, legacy, 1 in flight");
        assert_eq!((cpu.verdict, cpu.ratio), (Verdict::Fail, Some(2.5)));
        assert_eq!(cpu.rmcp, "×12.00");
        assert_eq!(
            by_name("stdio latency p50, legacy, 1 in flight").verdict,
            Verdict::Pass
        );
        assert_eq!(
            by_name("stdio server CPU/call, modern, 32 in flight").verdict,
            Verdict::NotMeasured
        );
        let http = by_name("HTTP server CPU/call, modern, 16 clients");
        assert_eq!((http.verdict, http.rmcp.as_str()), (Verdict::Pass, "n/a"));
        assert_eq!(
            by_name("idle stdio server RSS (worst median)").verdict,
            Verdict::Pass
        );
        assert_eq!(
            by_name("flood, legacy: every request answered").verdict,
            Verdict::Fail
        );
        assert_eq!(by_name("flood, legacy: peak RSS").verdict, Verdict::Pass);
        assert_eq!(
            by_name("RSS per idle legacy HTTP session").verdict,
            Verdict::NotMeasured
        );
        let ws = by_name("websocket server CPU/call vs Streamable HTTP, legacy, 16 clients");
        assert_eq!((ws.verdict, ws.ratio), (Verdict::Pass, Some(0.8)));
        assert_eq!(
            by_name("http+sse server CPU/call vs Streamable HTTP, legacy, 16 clients").verdict,
            Verdict::Fail
        );
        assert_eq!(
            by_name("http+sse server CPU/call vs Streamable HTTP, modern, 16 clients").verdict,
            Verdict::NotMeasured
        );
        assert_eq!(
            by_name("RSS per idle WebSocket connection").verdict,
            Verdict::Fail
        );
        let jwt = by_name("JWT (RS256, cache warm) CPU/call vs no auth, HTTP modern, 16 clients");
        assert_eq!((jwt.verdict, jwt.ratio), (Verdict::Pass, Some(1.1)));
        let cold = by_name("JWT cold (each call a new token) CPU/call vs no auth, HTTP modern");
        assert_eq!(
            (cold.verdict, cold.figure.as_str()),
            (Verdict::Reported, "90.00 µs")
        );
        assert_eq!(
            by_name("spans + metrics CPU/call vs none, stdio legacy, 32 in flight").verdict,
            Verdict::Fail
        );
        assert_eq!(
            by_name("spans + metrics CPU/call vs none, http legacy, 16 clients").verdict,
            Verdict::NotMeasured
        );
        assert!(table(&budgets).contains("not measured"));
    }
}

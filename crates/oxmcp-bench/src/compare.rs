//! Side-by-side comparison of several servers in one run.
//!
//! For each era and in-flight setting, every repetition runs every server once,
//! rotating which goes first, so slow drifts of a noisy machine hit all servers
//! alike. Each figure is summarised by its median over the repetitions and
//! reported as a ratio to the first server's median (normally the floor).

use std::str::FromStr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::loadgen::{self, Config, Era, Error, Report};
use crate::report::{columns, figure, round3, Metric, METRICS};
use crate::stats::median;

/// A server to compare: a short name and its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Name used in tables and JSON (e.g. `floor`).
    pub name: String,
    /// Command line that starts it.
    pub command: String,
}

impl FromStr for Server {
    type Err = Error;

    /// Parses `name=command line`.
    fn from_str(s: &str) -> Result<Server, Error> {
        match s.split_once('=') {
            Some((name, command)) if !name.is_empty() && !command.trim().is_empty() => Ok(Server {
                name: name.to_owned(),
                command: command.to_owned(),
            }),
            _ => Err(Error::new(format!("expected name=command, got {s:?}"))),
        }
    }
}

/// What to compare and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The servers; the first is the baseline of every ratio.
    pub servers: Vec<Server>,
    /// Eras to measure, each one a separate group.
    pub eras: Vec<Era>,
    /// In-flight settings to measure, each one a separate group.
    pub inflights: Vec<usize>,
    /// Repetitions of every server in every group.
    pub reps: usize,
    /// Measured requests per run.
    pub requests: usize,
    /// Warm-up requests per run.
    pub warmup: usize,
    /// Per-run timeout without responses.
    pub timeout: Duration,
}

/// The median figures of one server in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Server name.
    pub name: String,
    /// Server command line.
    pub command: String,
    /// Runs that produced a report.
    pub runs: usize,
    /// Why the other runs failed.
    pub failures: Vec<String>,
    /// Why the server refused this era, if it did (see [`Error::unsupported`]): it is
    /// then shown as `n/a` and not run again in the group.
    pub unsupported: Option<String>,
    /// Errors summed over all runs.
    pub errors: usize,
    /// The first error message of any run, for diagnosis.
    pub first_error: Option<String>,
    /// Per [`METRICS`] entry: every run's value, sorted.
    pub samples: Vec<Vec<f64>>,
}

impl Summary {
    /// Median of metric `index` (into [`METRICS`]) over the runs.
    pub fn median(&self, index: usize) -> Option<f64> {
        median(&self.samples[index])
    }

    /// Spread of metric `index`: (max - min) / median, e.g. 0.05 for ±2.5 %.
    pub fn spread(&self, index: usize) -> Option<f64> {
        let samples = &self.samples[index];
        let mid = self.median(index)?;
        let (min, max) = (samples.first()?, samples.last()?);
        (mid != 0.0).then(|| (max - min) / mid.abs())
    }
}

/// All servers measured with one era and one in-flight setting.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Protocol era.
    pub era: Era,
    /// Requests in flight.
    pub inflight: usize,
    /// One summary per server, in the plan's order (baseline first).
    pub servers: Vec<Summary>,
}

impl Group {
    /// Ratio of `server`'s median of metric `index` to the baseline's.
    pub fn ratio(&self, server: usize, index: usize) -> Option<f64> {
        let base = self.servers.first()?.median(index)?;
        let value = self.servers.get(server)?.median(index)?;
        (base != 0.0).then(|| value / base)
    }
}

/// Runs the plan; `on_run(name, rep, result)` is called after every single run.
pub fn run<F>(plan: &Plan, mut on_run: F) -> Vec<Group>
where
    F: FnMut(&Server, usize, &Result<Report, Error>),
{
    let mut groups = Vec::new();
    for &era in &plan.eras {
        for &inflight in &plan.inflights {
            let mut summaries: Vec<Summary> = plan
                .servers
                .iter()
                .map(|s| Summary {
                    name: s.name.clone(),
                    command: s.command.clone(),
                    runs: 0,
                    failures: Vec::new(),
                    unsupported: None,
                    errors: 0,
                    first_error: None,
                    samples: vec![Vec::new(); METRICS.len()],
                })
                .collect();
            let n = plan.servers.len();
            for rep in 0..plan.reps {
                for turn in 0..n {
                    let index = (turn + rep) % n;
                    let server = &plan.servers[index];
                    if summaries[index].unsupported.is_some() {
                        continue;
                    }
                    let config = Config {
                        server: server.command.clone(),
                        era,
                        inflight,
                        requests: plan.requests,
                        warmup: plan.warmup,
                        timeout: plan.timeout,
                    };
                    let result = loadgen::run(&config);
                    on_run(server, rep, &result);
                    let summary = &mut summaries[index];
                    match result {
                        Ok(report) => {
                            summary.runs += 1;
                            summary.errors += report.errors;
                            if summary.first_error.is_none() {
                                summary.first_error = report.first_error.clone();
                            }
                            for (samples, metric) in summary.samples.iter_mut().zip(METRICS) {
                                samples.extend((metric.get)(&report));
                            }
                        }
                        Err(e) if e.is_unsupported() => summary.unsupported = Some(e.to_string()),
                        Err(e) => summary.failures.push(e.to_string()),
                    }
                }
            }
            for summary in &mut summaries {
                for samples in &mut summary.samples {
                    samples.sort_by(f64::total_cmp);
                }
            }
            groups.push(Group {
                era,
                inflight,
                servers: summaries,
            });
        }
    }
    groups
}

/// One JSON object per server of the group: medians, ratios and spreads.
pub fn to_json(group: &Group, plan: &Plan) -> Vec<Value> {
    group
        .servers
        .iter()
        .enumerate()
        .map(|(s, summary)| {
            let mut medians = serde_json::Map::new();
            let mut ratios = serde_json::Map::new();
            let mut spreads = serde_json::Map::new();
            for (m, metric) in METRICS.iter().enumerate() {
                medians.insert(metric.key.into(), json!(summary.median(m).map(round3)));
                ratios.insert(metric.key.into(), json!(group.ratio(s, m).map(round3)));
                spreads.insert(metric.key.into(), json!(summary.spread(m).map(round3)));
            }
            json!({
                "kind": "summary",
                "name": summary.name,
                "server": summary.command,
                "baseline": group.servers[0].name,
                "era": group.era.as_str(),
                "inflight": group.inflight,
                "requests": plan.requests,
                "warmup": plan.warmup,
                "reps": plan.reps,
                "runs": summary.runs,
                "failures": summary.failures,
                "unsupported": summary.unsupported.is_some(),
                "errors": summary.errors,
                "first_error": summary.first_error,
                "median": medians,
                "ratio": ratios,
                "spread": spreads,
            })
        })
        .collect()
}

/// The group as a table: a row per metric, a column per server, each cell
/// `median ×ratio ±half-spread%`.
pub fn to_table(group: &Group, plan: &Plan) -> String {
    let base = group.servers.first().map_or("?", |s| s.name.as_str());
    let mut out = format!(
        "era={} inflight={} requests={} warmup={} reps={}: median ×ratio-to-{base} ±half-spread\n",
        group.era, group.inflight, plan.requests, plan.warmup, plan.reps
    );
    let mut rows = vec![std::iter::once("metric".to_owned())
        .chain(group.servers.iter().map(|s| s.name.clone()))
        .collect::<Vec<_>>()];
    for (m, metric) in METRICS.iter().enumerate() {
        let mut row = vec![label(metric)];
        for (s, summary) in group.servers.iter().enumerate() {
            if summary.runs == 0 {
                let state = if summary.unsupported.is_some() {
                    "n/a"
                } else {
                    "failed"
                };
                row.push(state.to_owned());
                continue;
            }
            let ratio = group
                .ratio(s, m)
                .map_or("-".to_owned(), |r| format!("×{r:.2}"));
            let spread = summary
                .spread(m)
                .map_or(String::new(), |p| format!(" ±{:.0}%", p * 50.0));
            row.push(format!("{} {ratio}{spread}", figure(summary.median(m))));
        }
        rows.push(row);
    }
    let mut errors = vec!["errors (all runs)".to_owned()];
    errors.extend(group.servers.iter().map(|s| {
        let failed = if s.failures.is_empty() {
            String::new()
        } else {
            format!(", {} runs failed", s.failures.len())
        };
        format!("{}{failed}", s.errors)
    }));
    rows.push(errors);
    out.push_str(&columns(&rows));
    for summary in &group.servers {
        if let Some(reason) = &summary.unsupported {
            out.push_str(&format!(
                "{}: n/a, does not serve this era: {reason}\n",
                summary.name
            ));
        }
        if let Some(failure) = summary.failures.first() {
            out.push_str(&format!("{}: run failed: {failure}\n", summary.name));
        }
        if let Some(error) = &summary.first_error {
            out.push_str(&format!("{}: first error: {error}\n", summary.name));
        }
    }
    out
}

fn label(metric: &Metric) -> String {
    let direction = if metric.higher_is_better {
        "↑"
    } else {
        "↓"
    };
    format!("{} {direction}", metric.label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_spec() {
        let server: Server = "oxmcp=target/release/server --stdio".parse().unwrap();
        assert_eq!(server.name, "oxmcp");
        assert_eq!(server.command, "target/release/server --stdio");
        assert!("noequals".parse::<Server>().is_err());
        assert!("=cmd".parse::<Server>().is_err());
    }

    #[test]
    fn ratios_and_spreads() {
        let summary = |name: &str, values: Vec<f64>| Summary {
            name: name.into(),
            command: name.into(),
            runs: values.len(),
            failures: Vec::new(),
            unsupported: None,
            errors: 0,
            first_error: None,
            samples: vec![values; METRICS.len()],
        };
        let group = Group {
            era: Era::Legacy,
            inflight: 1,
            servers: vec![
                summary("floor", vec![9.0, 10.0, 11.0]),
                summary("x", vec![20.0]),
            ],
        };
        assert_eq!(group.ratio(0, 0), Some(1.0));
        assert_eq!(group.ratio(1, 0), Some(2.0));
        assert_eq!(group.servers[0].spread(0), Some(0.2));
        let plan = Plan {
            servers: Vec::new(),
            eras: vec![Era::Legacy],
            inflights: vec![1],
            reps: 3,
            requests: 10,
            warmup: 0,
            timeout: Duration::from_secs(1),
        };
        let table = to_table(&group, &plan);
        assert!(table.contains("×2.00"), "{table}");
        let json = to_json(&group, &plan);
        assert_eq!(json[1]["ratio"]["throughput_rps"], 2.0);
        assert_eq!(json[1]["baseline"], "floor");
    }
}

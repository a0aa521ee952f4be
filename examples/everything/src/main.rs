//! `everything`: an MCP server with the full surface the official conformance suite expects
//! of a server under test (tools, resources, templates, prompts, completions, logging,
//! progress, sampling and elicitation), in both protocol eras.
//!
//! It serves stdio by default; `--http ADDR` serves Streamable HTTP at `http://ADDR/mcp`
//! instead (both eras on that one URL), and on the same listener the HTTP+SSE transport of
//! 2024-11-05 (`/sse`, `/messages`) and WebSocket (`/ws`, subprotocol `mcp`). `--metrics`
//! adds `/metrics` (Prometheus), `/healthz` and `/readyz` on the same listener; `--otlp URL`
//! exports the MCP spans to an OTLP/HTTP collector (`URL/v1/traces`). `RUST_LOG` sets what
//! is logged on stderr (default `info`); `--log-format json` (or `OXMCP_LOG=json`) writes
//! each log line as one JSON object instead of text. See `EXPECTATIONS.md` for what each
//! fixture must do.

mod apps;
mod fixtures;
mod mrtr;
mod tasks;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use oxmcp::metrics::{Metrics, MetricsLayer};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

#[tokio::main(flavor = "current_thread")]
async fn main() -> oxmcp::Result<()> {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("everything: {error}");
            std::process::exit(2);
        }
    };
    let metrics = Metrics::new();
    let tracer = match options.otlp.as_deref().map(otlp_tracer).transpose() {
        Ok(tracer) => tracer,
        Err(error) => {
            eprintln!("everything: --otlp: {error}");
            std::process::exit(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = match options.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => {
            // Colour only for a person at a terminal: hosts write server stderr to log files.
            let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(colour)
                .with_filter(filter)
                .boxed()
        }
    };
    // The metrics and the exporter see oxmcp's MCP spans whatever RUST_LOG says.
    let mcp_spans = Targets::new().with_target("oxmcp::otel", tracing::Level::INFO);
    let measure = options
        .metrics
        .then(|| MetricsLayer::new(metrics.clone()).with_filter(mcp_spans.clone()));
    // oxmcp's own bridge for the MCP spans.
    let export = tracer
        .as_ref()
        .map(|(_, tracer)| oxmcp::otel::layer(tracer.clone()).with_filter(mcp_spans));
    tracing_subscriber::registry()
        .with(logs)
        .with(measure)
        .with(export)
        .init();

    let served = match options.http {
        Some(addr) if options.metrics => fixtures::router().http(addr).metrics(metrics).await,
        Some(addr) => fixtures::router().serve_http(addr).await,
        None => fixtures::router().serve_stdio().await,
    };
    if let Some((provider, _)) = tracer {
        // Sends the spans still batched.
        let _ = provider.shutdown();
    }
    served
}

/// How log lines are written on stderr.
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
enum LogFormat {
    /// Human-readable text, coloured at a terminal.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `fields`, `target`, `spans`).
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<LogFormat, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format `{other}`: expected `text` or `json`")),
        }
    }
}

/// The command line: `[--http ADDR] [--metrics] [--otlp URL] [--log-format text|json]`.
#[derive(Default)]
struct Options {
    /// Serve Streamable HTTP at `http://ADDR/mcp` instead of stdio.
    http: Option<String>,
    /// Serve `/metrics`, `/healthz` and `/readyz` beside `/mcp` (with `--http`).
    metrics: bool,
    /// Export the MCP spans over OTLP/HTTP to this collector (`http://host:4318`).
    otlp: Option<String>,
    /// How logs are written on stderr; `OXMCP_LOG=json` when the flag is absent.
    log_format: LogFormat,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut options = Options::default();
        let mut log_format = std::env::var("OXMCP_LOG").ok().filter(|v| !v.is_empty());
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
                None => (arg, None),
            };
            match flag.as_str() {
                "--http" => options.http = inline.or_else(|| args.next()),
                "--otlp" => options.otlp = inline.or_else(|| args.next()),
                "--metrics" => options.metrics = true,
                "--log-format" => log_format = inline.or_else(|| args.next()),
                _ => {}
            }
        }
        if let Some(format) = log_format {
            options.log_format = format.parse()?;
        }
        Ok(options)
    }
}

/// A tracer whose spans go to the OTLP/HTTP collector at `url` (its `/v1/traces`).
fn otlp_tracer(url: &str) -> Result<(SdkTracerProvider, SdkTracer), String> {
    let endpoint = if url.ends_with("/v1/traces") {
        url.to_owned()
    } else {
        format!("{}/v1/traces", url.trim_end_matches('/'))
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| e.to_string())?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name("oxmcp-everything")
                .build(),
        )
        .build();
    let tracer = provider.tracer("oxmcp-everything");
    Ok((provider, tracer))
}

//! `overhead-bench`: what authorization and observability cost a server, each as a ratio
//! of server CPU per `tools/call` to the same server without it, measured in one run.
//!
//! ```text
//! overhead-bench [--requests N] [--reps R] [--cold N] [--only http|stdio] [--json]
//! overhead-bench --serve ADDR|stdio [--jwks FILE --issuer ISS --audience AUD] [--observe [--no-activation]]
//! overhead-bench --bare N
//! ```
//!
//! The server is this binary itself (`--serve`): the `echo` tool of `examples/echo`, on a
//! current-thread runtime, over Streamable HTTP at `http://ADDR/mcp` or over stdio. It
//! runs in three variants, alternated over R repetitions, each repetition a fresh process:
//!
//! - **plain**: no auth, no subscriber: the baseline of every ratio;
//! - **jwt**: `--jwks FILE --issuer ISS --audience AUD`: every request carries an RS256
//!   bearer token, checked by `Cached<JwtVerifier>` (the verifier of `examples/notes`)
//!   against a JWKS read from a file, behind `ProtectedResource` (issue 12);
//! - **observed**: `--observe`: a subscriber that records every MCP span through the
//!   `otel` feature's spans (`oxmcp::otel::layer` with an SDK tracer provider and no
//!   exporter, context activation on) and the `metrics` feature's `MetricsLayer`
//!   (issue 14).
//!
//! Over HTTP, 16 keep-alive raw HTTP/1.1 clients (no SDK, see [`oxmcp_bench::rawhttp`]),
//! both eras. The jwt variant is measured warm (each client its own token, verified once
//! during the warm-up and then served from the cache) and cold: N distinct tokens, each
//! sent once (a new `jti`, the client's own subject, so a legacy session keeps its
//! subject): the figure is CPU per call when every call is a token's first verification.
//! Over stdio (observed vs plain only: stdio has no bearer tokens), the stdio load
//! generator with 32 requests in flight, both eras.
//!
//! JSON lines (`--json`) on stdout: `{"bench":"auth","era":..,"clients":16,
//! "cpu_us_per_call":..,"baseline_cpu_us_per_call":..,"ratio":..,
//! "cold_cpu_us_per_call":..,"cold_ratio":..}` and `{"bench":"observability",
//! "transport":"http"|"stdio","era":..,"cpu_us_per_call":..,"baseline_cpu_us_per_call":..,
//! "ratio":..}`; tables on stderr.

use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::TracerProvider as _;
use oxmcp::auth_server::SigningKey;
use oxmcp::metrics::{Metrics, MetricsLayer};
use oxmcp::server::auth::{Cached, Jwks, JwtVerifier, ProtectedResource};
use oxmcp::server::http::HttpConfig;
use oxmcp::server::{tool, Args, Router};
use oxmcp_bench::rawhttp::{call, open_client, Conn, Failure, SelfServer};
use oxmcp_bench::{cli, loadgen, procfs, stats, Era};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

const CLIENTS: usize = 16;
const STDIO_INFLIGHT: usize = 32;
const ISSUER: &str = "https://issuer.bench.example";
const AUDIENCE: &str = "https://mcp.bench.example/mcp";
/// The RSA-2048 test key of the authorization server's tests: RS256 is what most
/// identity providers sign with, and the costliest common signature to verify.
const RSA_PEM: &str = include_str!("../../../oxmcp/tests/integration/auth_server/rsa2048.pem");

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// The text to send back.
    text: String,
}

async fn echo(Args(args): Args<EchoArgs>) -> String {
    args.text
}

/// `--serve ADDR|stdio [--jwks FILE --issuer ISS --audience AUD] [--observe]`.
fn serve(args: &cli::Args, addr: &str) -> ! {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // Kept alive while serving: dropping the provider would stop the spans.
    let mut _observed = None;
    if args.switch("observe") {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let tracer = provider.tracer("overhead-bench");
        let metrics = Metrics::new();
        // `--no-activation` (for profiling by hand): without context activation.
        let activate = !args.switch("no-activation");
        let mcp_spans = || Targets::new().with_target("oxmcp::otel", tracing::Level::INFO);
        let subscriber = tracing_subscriber::registry()
            .with(MetricsLayer::new(metrics.clone()).with_filter(mcp_spans()))
            .with(
                oxmcp::otel::layer(tracer)
                    .with_context_activation(activate)
                    .with_filter(mcp_spans()),
            );
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        _observed = Some((provider, metrics));
    }
    let router = Router::new().name("overhead-bench").tool(
        "echo",
        tool(echo).description("Send the text back unchanged."),
    );
    let result = if addr == "stdio" {
        runtime.block_on(router.serve_stdio())
    } else {
        let mut config = HttpConfig::new()
            .max_sessions(1_000_000)
            .max_sessions_per_peer(1_000_000);
        if let Some(jwks) = args.value("jwks") {
            let keys = Jwks::from_file(jwks).unwrap_or_else(|e| {
                eprintln!("overhead-bench --serve: --jwks {jwks}: {e}");
                std::process::exit(2)
            });
            let issuer = args.value("issuer").unwrap_or(ISSUER);
            let audience = args.value("audience").unwrap_or(AUDIENCE);
            let verifier = Cached::new(JwtVerifier::new(keys, issuer).audience(audience));
            config = config.auth(ProtectedResource::new(audience, verifier));
        }
        runtime.block_on(router.http(addr.to_owned()).config(config).into_future())
    };
    if let Err(e) = result {
        eprintln!("overhead-bench --serve: {e}");
        std::process::exit(1);
    }
    std::process::exit(0)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Plain,
    Jwt,
    Observed,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Jwt => "jwt",
            Variant::Observed => "observed",
        }
    }

    /// The server's arguments after `--serve ADDR`.
    fn args(self, jwks: &Path) -> Vec<String> {
        match self {
            Variant::Plain => Vec::new(),
            Variant::Jwt => vec![
                "--jwks".into(),
                jwks.display().to_string(),
                "--issuer".into(),
                ISSUER.into(),
                "--audience".into(),
                AUDIENCE.into(),
            ],
            Variant::Observed => vec!["--observe".into()],
        }
    }
}

/// The bearer tokens the clients send: client `i` sends `tokens[i][k]` on its call `k`
/// (cycling), so one token per client is the warm case and a token per call the cold one.
type Tokens = Vec<Vec<String>>;

/// RS256 access tokens: `per_client` for each of the [`CLIENTS`] clients, each its own
/// subject (`client-i`), all distinct (`jti`).
fn mint(key: &SigningKey, per_client: usize, batch: &str) -> Tokens {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (0..CLIENTS)
        .map(|i| {
            (0..per_client)
                .map(|k| {
                    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": format!("client-{i}"),
                        "client_id": "overhead-bench", "scope": "echo", "iat": now,
                        "exp": now + 3600, "jti": format!("{batch}-{i}-{k}")});
                    key.sign_jwt("at+jwt", &claims)
                })
                .collect()
        })
        .collect()
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}

/// Server CPU µs per call with [`CLIENTS`] clients making `requests` calls in all, after
/// a warm-up with `warm` tokens (`None`: no auth); the measured calls send `measured`
/// tokens (the warm ones again when `None`).
async fn cpu_per_call(
    variant: Variant,
    era: Era,
    requests: usize,
    jwks: &Path,
    warm: Option<&Tokens>,
    measured: Option<&Tokens>,
) -> Result<f64, Failure> {
    let server = SelfServer::start(&variant.args(jwks)).await?;
    let per_client = requests / CLIENTS;
    let mut conns: Vec<Conn> = Vec::new();
    for i in 0..CLIENTS {
        let headers = warm.map(|t| bearer(&t[i][0])).unwrap_or_default();
        let mut conn = open_client(&server.addr, era, &headers).await?;
        for k in 0..(per_client / 10).max(10) {
            call(&mut conn, era, k).await?;
        }
        conns.push(conn);
    }
    let measured: Option<Tokens> = measured.or(warm).cloned();
    let clients: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut conn)| {
            let tokens = measured.as_ref().map(|t| t[i].clone());
            async move {
                for k in 0..per_client {
                    if let Some(tokens) = &tokens {
                        conn.headers = bearer(&tokens[k % tokens.len()]);
                    }
                    call(&mut conn, era, k + 1_000_000).await?;
                }
                Ok::<_, Failure>(conn)
            }
        })
        .collect();
    let (cpu, _conns) =
        procfs::cpu_per_call_while(server.pid, per_client * CLIENTS, clients).await?;
    Ok(cpu)
}

/// The medians of the samples, by label.
struct Medians(Vec<(&'static str, Vec<f64>)>);

impl Medians {
    fn push(&mut self, label: &'static str, value: f64) {
        match self.0.iter_mut().find(|(l, _)| *l == label) {
            Some((_, values)) => values.push(value),
            None => self.0.push((label, vec![value])),
        }
    }

    fn median(&self, label: &str) -> Option<f64> {
        let (_, values) = self.0.iter().find(|(l, _)| *l == label)?;
        stats::median(values)
    }
}

fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    finite(Some(a? / b?))
}

fn shown(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.2}"))
}

struct Plan {
    requests: usize,
    reps: usize,
    cold: usize,
    json: bool,
    jwks: PathBuf,
    warm: Tokens,
    cold_tokens: Tokens,
}

async fn http(plan: &Plan) -> bool {
    let mut failed = false;
    for era in [Era::Legacy, Era::Modern] {
        let mut samples = Medians(Vec::new());
        let variants = [Variant::Plain, Variant::Jwt, Variant::Observed];
        for rep in 0..plan.reps {
            // Rotated, so a drift of the machine hits every variant alike.
            for v in 0..variants.len() {
                let variant = variants[(v + rep) % variants.len()];
                let tokens = (variant == Variant::Jwt).then_some(&plan.warm);
                match cpu_per_call(variant, era, plan.requests, &plan.jwks, tokens, None).await {
                    Ok(cpu) => samples.push(variant.name(), cpu),
                    Err(e) => {
                        eprintln!(
                            "overhead-bench: {} ({era}): {}",
                            variant.name(),
                            e.message()
                        );
                        failed = true;
                    }
                }
            }
            // Every call the first of its token: warmed up with other tokens.
            let cold = cpu_per_call(
                Variant::Jwt,
                era,
                plan.cold,
                &plan.jwks,
                Some(&plan.warm),
                Some(&plan.cold_tokens),
            )
            .await;
            match cold {
                Ok(cpu) => samples.push("cold", cpu),
                Err(e) => {
                    eprintln!("overhead-bench: jwt cold ({era}): {}", e.message());
                    failed = true;
                }
            }
        }
        let plain = samples.median("plain");
        let jwt = samples.median("jwt");
        let cold = samples.median("cold");
        let observed = samples.median("observed");
        eprintln!(
            "\nserver CPU per call over Streamable HTTP, {era}, {CLIENTS} clients, {} calls x {} reps (medians, ×ratio to plain):",
            plan.requests, plan.reps
        );
        for (label, value) in [
            ("plain", plain),
            ("jwt (warm cache)", jwt),
            ("jwt (cold: each token's first call)", cold),
            ("spans + metrics", observed),
        ] {
            eprintln!(
                "  {label:<38} {:>8} µs  ×{}",
                shown(value),
                shown(ratio(value, plain))
            );
        }
        if plan.json {
            println!(
                "{}",
                json!({"bench": "auth", "era": era.as_str(), "clients": CLIENTS,
                    "requests": plan.requests, "reps": plan.reps, "cold_tokens": plan.cold,
                    "verifier": "Cached<JwtVerifier> RS256, JWKS file",
                    "cpu_us_per_call": finite(jwt), "baseline_cpu_us_per_call": finite(plain),
                    "ratio": ratio(jwt, plain), "cold_cpu_us_per_call": finite(cold),
                    "cold_ratio": ratio(cold, plain)})
            );
            observability_line(plan, "http", era, ("clients", CLIENTS), observed, plain);
        }
    }
    failed
}

/// The JSON line of spans + metrics against neither, over `transport`.
fn observability_line(
    plan: &Plan,
    transport: &str,
    era: Era,
    (setting, load): (&str, usize),
    observed: Option<f64>,
    plain: Option<f64>,
) {
    let mut line = json!({"bench": "observability", "transport": transport, "era": era.as_str(),
        "requests": plan.requests, "reps": plan.reps,
        "cpu_us_per_call": finite(observed), "baseline_cpu_us_per_call": finite(plain),
        "ratio": ratio(observed, plain)});
    line[setting] = load.into();
    println!("{line}");
}

/// Observed vs plain over stdio, with the stdio load generator.
fn stdio(plan: &Plan) -> bool {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe.display().to_string(),
        Err(e) => {
            eprintln!("overhead-bench: {e}");
            return true;
        }
    };
    let mut failed = false;
    for era in [Era::Legacy, Era::Modern] {
        let mut samples = Medians(Vec::new());
        for rep in 0..plan.reps {
            let order = if rep % 2 == 0 {
                [Variant::Plain, Variant::Observed]
            } else {
                [Variant::Observed, Variant::Plain]
            };
            // Beside each repetition's servers, so that a drift of the machine moves it
            // alike.
            // At least 200,000 iterations (about 0.1 s): a thread's CPU time in
            // `/proc` moves in scheduler ticks while it runs.
            if let Some(bare) = bare_components(plan.requests.max(200_000)) {
                samples.push("bare", bare);
            }
            for variant in order {
                let mut config = loadgen::Config::new(
                    [exe.as_str(), "--serve", "stdio"]
                        .into_iter()
                        .map(str::to_owned)
                        .chain(variant.args(&plan.jwks))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                config.era = era;
                config.inflight = STDIO_INFLIGHT;
                config.requests = plan.requests;
                config.warmup = (plan.requests / 10).clamp(100, 2_000);
                match loadgen::run(&config) {
                    Ok(report) if report.errors == 0 => match report.cpu_us_per_call {
                        Some(cpu) => samples.push(variant.name(), cpu),
                        None => failed = true,
                    },
                    Ok(report) => {
                        eprintln!(
                            "overhead-bench: stdio {} ({era}): {} errors: {:?}",
                            variant.name(),
                            report.errors,
                            report.first_error
                        );
                        failed = true;
                    }
                    Err(e) => {
                        eprintln!("overhead-bench: stdio {} ({era}): {e}", variant.name());
                        failed = true;
                    }
                }
            }
        }
        let plain = samples.median("plain");
        let observed = samples.median("observed");
        let bare = samples.median("bare");
        eprintln!(
            "\nserver CPU per call over stdio, {era}, {STDIO_INFLIGHT} in flight, {} calls x {} reps (medians):",
            plan.requests, plan.reps
        );
        eprintln!("  {:<38} {:>8} µs", "plain", shown(plain));
        eprintln!(
            "  {:<38} {:>8} µs  ×{}",
            "spans + metrics",
            shown(observed),
            shown(ratio(observed, plain))
        );
        eprintln!(
            "  {:<38} {:>8} µs  ×{} (plain + these alone)",
            "bare components, in a loop",
            shown(bare),
            shown(ratio(plain.zip(bare).map(|(p, b)| p + b), plain))
        );
        if plan.json {
            let setting = ("inflight", STDIO_INFLIGHT);
            observability_line(plan, "stdio", era, setting, observed, plain);
            println!(
                "{}",
                json!({"bench": "observability-components", "transport": "stdio",
                    "era": era.as_str(), "cpu_us_per_call": finite(bare),
                    "baseline_cpu_us_per_call": finite(plain),
                    "ratio": ratio(plain.zip(bare).map(|(p, b)| p + b), plain)})
            );
        }
    }
    failed
}

/// What the stock parts of "spans and metrics on" cost per call by themselves, in µs of
/// this thread's CPU: in a hot loop of `n` iterations, with nothing of oxmcp in it, each
/// iteration does what observing one `tools/call` needs at the least:
///
/// - a `tracing` span with the MCP fields (the spans are `tracing` spans, so a user's own
///   subscriber sees them), recorded by `tracing-subscriber`'s registry, entered and
///   exited once (a handler that answers at its first poll), then closed;
/// - an OpenTelemetry span with the MCP attributes, from the same SDK tracer as the
///   observed server's (no exporter), started, made current while the span is entered
///   (so that what the tool calls joins the trace: issue 14), and ended;
/// - one observation of the operation-duration histogram: two clock reads, the label set
///   written, one lock, one hash lookup.
///
/// No MCP facts are read from a request and nothing is dispatched between layers: the
/// figure is a lower bound for any implementation built on these crates.
fn bare_components(n: usize) -> Option<f64> {
    use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
    use opentelemetry::KeyValue;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::Instant;

    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let tracer = provider.tracer("overhead-bench");
    let histogram: Mutex<HashMap<Box<str>, [u64; 16]>> = Mutex::default();
    let mut key = String::new();
    let subscriber = tracing_subscriber::registry();
    tracing::subscriber::with_default(subscriber, || {
        let mut run = |n: usize| {
            for i in 0..n {
                let started = Instant::now();
                let (method, tool, version) = ("tools/call", "echo", "2025-11-25");
                let span = tracing::info_span!(
                    target: "oxmcp::otel",
                    "mcp.server",
                    otel.kind = "server",
                    mcp.method.name = method,
                    jsonrpc.request.id = i,
                    mcp.protocol.version = version,
                    network.transport = "pipe",
                    gen_ai.tool.name = tool,
                    gen_ai.operation.name = "execute_tool",
                    error.type = tracing::field::Empty,
                );
                let otel = tracer
                    .span_builder("tools/call echo")
                    .with_kind(SpanKind::Server)
                    .with_attributes(vec![
                        KeyValue::new("mcp.method.name", method),
                        KeyValue::new("jsonrpc.request.id", i as i64),
                        KeyValue::new("mcp.protocol.version", version),
                        KeyValue::new("network.transport", "pipe"),
                        KeyValue::new("gen_ai.tool.name", tool),
                        KeyValue::new("gen_ai.operation.name", "execute_tool"),
                    ])
                    .start(&tracer);
                // Current while the handler runs (once here), so that what the tool
                // calls joins the trace.
                let cx = opentelemetry::Context::current_with_span(otel);
                {
                    let _entered = span.enter();
                    let _active = cx.clone().attach();
                }
                cx.span().end();
                drop(span);
                let seconds = started.elapsed().as_secs_f64();
                key.clear();
                for (label, value) in [
                    ("mcp_method_name", method),
                    ("gen_ai_tool_name", tool),
                    ("mcp_protocol_version", version),
                    ("network_transport", "pipe"),
                ] {
                    if !key.is_empty() {
                        key.push(',');
                    }
                    key.push_str(label);
                    key.push_str("=\"");
                    key.push_str(value);
                    key.push('"');
                }
                let bucket = ((seconds * 1e6) as usize).min(15);
                let mut series = histogram.lock().expect("histogram lock");
                match series.get_mut(key.as_str()) {
                    Some(counts) => counts[bucket] += 1,
                    None => series.entry(key.as_str().into()).or_default()[bucket] += 1,
                }
            }
        };
        run(n / 10);
        let before = procfs::current_thread_cpu_ns()?;
        run(n);
        let after = procfs::current_thread_cpu_ns()?;
        Some((after - before) as f64 / 1_000.0 / n as f64)
    })
}

const USAGE: &str = "usage: overhead-bench [--requests N] [--reps R] [--cold N] [--only http|stdio] [--json]\n       \
overhead-bench --serve ADDR|stdio [--jwks FILE --issuer ISS --audience AUD] [--observe [--no-activation]]\n       \
overhead-bench --bare N";

fn main() {
    let args = match cli::Args::parse(
        std::env::args().skip(1),
        &[
            "requests", "reps", "cold", "serve", "jwks", "issuer", "audience", "only", "bare",
        ],
        &["json", "observe", "no-activation"],
    ) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("overhead-bench: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Some(addr) = args.value("serve") {
        serve(&args, addr);
    }
    // `--bare N` (for profiling by hand): the bare components alone, N iterations.
    if let Some(n) = args.value("bare") {
        let n = n.parse().unwrap_or(0);
        let us = bare_components(n).map_or("-".into(), |us| format!("{us:.3}"));
        eprintln!("bare components: {us} µs per call");
        return;
    }
    let parsed = (|| {
        Ok::<_, String>((
            args.get("requests", 16_000usize)?,
            args.get("reps", 3usize)?.max(1),
            args.get("cold", 1_600usize)?,
        ))
    })();
    let (requests, reps, cold) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("overhead-bench: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let key = SigningKey::from_pem(RSA_PEM).expect("the test key loads");
    let dir = std::env::temp_dir().join(format!("overhead-bench-{}", std::process::id()));
    let jwks = dir.join("jwks.json");
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::write(
            &jwks,
            json!({"keys": [key.public_jwk()]}).to_string().as_bytes(),
        )
    });
    if let Err(e) = written {
        eprintln!("overhead-bench: cannot write {}: {e}", jwks.display());
        std::process::exit(1);
    }
    let per_client = cold.div_ceil(CLIENTS).max(1);
    let plan = Plan {
        requests: requests.max(CLIENTS),
        reps,
        cold: per_client * CLIENTS,
        json: args.switch("json"),
        jwks,
        warm: mint(&key, 1, "warm"),
        cold_tokens: mint(&key, per_client, "cold"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let only = args.value("only");
    let mut failed = false;
    if only.is_none_or(|o| o == "http") {
        failed |= runtime.block_on(http(&plan));
    }
    drop(runtime);
    if only.is_none_or(|o| o == "stdio") {
        failed |= stdio(&plan);
    }
    let _ = std::fs::remove_dir_all(&dir);
    if failed {
        std::process::exit(1);
    }
}

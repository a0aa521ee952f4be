//! The commands that talk to a server: inspect, list, call, read, prompt, complete, ping,
//! listen.

use std::time::Instant;

use oxmcp::client::{CallOptions, Client};
use oxmcp::protocol::{
    Era, LoggingLevel, PromptReference, ResourceTemplateReference, ServerNotification,
    SubscriptionFilter,
};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use crate::args;
use crate::cli::{ListKind, Manner};
use crate::error::{CliError, EXIT_TOOL_ERROR};
use crate::interact::{self, notification_line, ProgressBar};
use crate::render::{self, pretty, to_json, Style};
use crate::target::Target;

/// A connected server, with what is needed to explain its failures.
pub struct Session {
    /// The connection.
    pub client: Client,
}

impl Session {
    /// Connects to `target`; notifications go to `notify`, and the server's questions are
    /// asked on the terminal when `ask`.
    pub async fn open(
        target: &Target,
        ask: bool,
        notify: impl Fn(ServerNotification) + Send + Sync + 'static,
    ) -> Result<Session, CliError> {
        let endpoint = target.resolve()?;
        let builder = interact::with_handlers(target.builder(), ask).on_notification(notify);
        let client = endpoint.connect(builder, target.login()).await?;
        Ok(Session { client })
    }

    /// Connects with notifications printed to stderr.
    pub async fn open_quiet(target: &Target, ask: bool) -> Result<Session, CliError> {
        let style = Style::stderr();
        Self::open(target, ask, move |n| {
            eprintln!("{}", notification_line(&n, style))
        })
        .await
    }

    /// `error` with what the server process wrote to stderr, when there is any.
    pub fn explain(&self, error: oxmcp::Error) -> CliError {
        let mut failure = CliError::from(error);
        if let Some(child) = self.client.child_process() {
            let stderr = child.stderr_output();
            if !stderr.trim().is_empty() {
                failure = failure.with_note(&format!("the server's stderr:\n{stderr}"));
            }
        }
        failure
    }

    /// Closes the connection (and stops a child server).
    pub async fn close(self) {
        if let Err(e) = self.client.close().await {
            tracing::debug!(error = %e, "closing the connection failed");
        }
    }

    fn era_name(&self) -> &'static str {
        match self.client.era() {
            Era::Legacy => "legacy",
            _ => "modern",
        }
    }

    /// Asks the server for log messages (info and up), when it logs.
    async fn ask_for_logs(&self) {
        if self.client.server_capabilities().logging.is_some() {
            if let Err(e) = self.client.set_log_level(LoggingLevel::Info).await {
                tracing::debug!(error = %e, "logging/setLevel failed");
            }
        }
    }
}

/// Cancels `token` on Ctrl-C.
fn cancel_on_interrupt() -> CancellationToken {
    let token = CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            fire.cancel();
        }
    });
    token
}

/// Connects, sends one request, and closes: the result as JSON.
async fn once<T, F, Fut>(
    target: &Target,
    ask: bool,
    doing: String,
    request: F,
) -> Result<Value, CliError>
where
    T: serde::Serialize,
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = oxmcp::Result<T>>,
{
    let session = Session::open_quiet(target, ask).await?;
    let result = request(session.client.clone()).await;
    let result = result.map_err(|e| session.explain(e).context(doing));
    session.close().await;
    Ok(to_json(&result?))
}

/// Prints `value` pretty on stdout.
fn print_json(value: &Value) {
    println!("{}", pretty(value));
}

/// Every item of one kind, as JSON values.
async fn list_of(session: &Session, kind: ListKind) -> Result<Vec<Value>, CliError> {
    let c = &session.client;
    fn values<T: serde::Serialize>(items: oxmcp::Result<Vec<T>>) -> oxmcp::Result<Vec<Value>> {
        items.map(|v| v.iter().map(to_json).collect())
    }
    let items = match kind {
        ListKind::Tools => values(c.list_all_tools().await),
        ListKind::Resources => values(c.list_all_resources().await),
        ListKind::Templates => values(c.list_all_resource_templates().await),
        ListKind::Prompts => values(c.list_all_prompts().await),
    };
    items.map_err(|e| {
        session
            .explain(e)
            .context(format!("listing {}", kind_name(kind)))
    })
}

fn kind_name(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Tools => "tools",
        ListKind::Resources => "resources",
        ListKind::Templates => "resource templates",
        ListKind::Prompts => "prompts",
    }
}

/// `oxmcp inspect`.
pub async fn inspect(target: &Target, json_out: bool) -> Result<u8, CliError> {
    let session = Session::open_quiet(target, false).await?;
    let caps = to_json(session.client.server_capabilities());
    let has = |key: &str| caps.get(key).is_some_and(|v| !v.is_null());
    let mut lists = Map::new();
    for (kind, key, capability) in [
        (ListKind::Tools, "tools", "tools"),
        (ListKind::Resources, "resources", "resources"),
        (ListKind::Templates, "resourceTemplates", "resources"),
        (ListKind::Prompts, "prompts", "prompts"),
    ] {
        let items = if has(capability) {
            list_of(&session, kind).await?
        } else {
            Vec::new()
        };
        lists.insert(key.into(), Value::Array(items));
    }
    let details = session.client.server();
    let report = json!({
        "server": details.info.as_ref().map(to_json),
        "protocolVersion": session.client.protocol_version().as_str(),
        "era": session.era_name(),
        "supportedVersions": details.supported_versions,
        "capabilities": caps,
        "instructions": details.instructions,
        "tools": lists["tools"],
        "resources": lists["resources"],
        "resourceTemplates": lists["resourceTemplates"],
        "prompts": lists["prompts"],
    });
    session.close().await;
    if json_out {
        print_json(&report);
        return Ok(0);
    }
    let style = Style::stdout();
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let server = &report["server"];
    println!(
        "{} {} {}",
        style.bold("server"),
        s(server, "name"),
        s(server, "version")
    );
    println!(
        "{} {} ({})",
        style.bold("protocol"),
        s(&report, "protocolVersion"),
        s(&report, "era")
    );
    let capability_names: Vec<String> = report["capabilities"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, v)| {
            let flags: Vec<&str> = v
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, on)| on.as_bool() == Some(true))
                .map(|(k, _)| k.as_str())
                .collect();
            if flags.is_empty() {
                name.clone()
            } else {
                format!("{name} ({})", flags.join(", "))
            }
        })
        .collect();
    println!(
        "{} {}",
        style.bold("capabilities"),
        capability_names.join(", ")
    );
    if let Some(instructions) = report["instructions"].as_str() {
        println!(
            "{}\n  {}",
            style.bold("instructions"),
            instructions.replace('\n', "\n  ")
        );
    }
    for (kind, key, title) in [
        (ListKind::Tools, "tools", "tools"),
        (ListKind::Resources, "resources", "resources"),
        (
            ListKind::Templates,
            "resourceTemplates",
            "resource templates",
        ),
        (ListKind::Prompts, "prompts", "prompts"),
    ] {
        let items = report[key].as_array().cloned().unwrap_or_default();
        println!("\n{} ({})", style.bold(title), items.len());
        print!("{}", render::table(&render::rows(kind, &items), style));
    }
    Ok(0)
}

/// `oxmcp list`.
pub async fn list(target: &Target, kind: ListKind, json_out: bool) -> Result<u8, CliError> {
    let session = Session::open_quiet(target, false).await?;
    let items = list_of(&session, kind).await;
    session.close().await;
    let items = items?;
    if json_out {
        print_json(&Value::Array(items));
    } else {
        print!(
            "{}",
            render::table(&render::rows(kind, &items), Style::stdout())
        );
    }
    Ok(0)
}

/// `oxmcp call`.
pub async fn call(
    target: &Target,
    tool: &str,
    pairs: &[String],
    args_json: Option<&str>,
    manner: Manner,
) -> Result<u8, CliError> {
    // Bad `key=value` syntax or JSON is found before any server is started.
    for pair in pairs {
        args::split_pair(pair).map_err(CliError::usage)?;
    }
    let session = Session::open_quiet(target, interact::can_ask(manner.non_interactive)).await?;
    let outcome = call_in(&session, tool, pairs, args_json, manner.json).await;
    session.close().await;
    outcome
}

async fn call_in(
    session: &Session,
    tool: &str,
    pairs: &[String],
    args_json: Option<&str>,
    json_out: bool,
) -> Result<u8, CliError> {
    let tools = session
        .client
        .list_all_tools()
        .await
        .map_err(|e| session.explain(e).context("listing tools"))?;
    let Some(found) = tools.iter().find(|t| t.name == tool) else {
        let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        return Err(CliError::usage(format!(
            "the server has no tool {tool:?}; it has: {}",
            names.join(", ")
        )));
    };
    let arguments =
        args::tool_arguments(pairs, args_json, &found.input_schema).map_err(CliError::usage)?;
    session.ask_for_logs().await;
    let bar = ProgressBar::new();
    let drawing = bar.clone();
    let options = CallOptions::new()
        .on_progress(move |p| drawing.update(&p))
        .cancel_on(cancel_on_interrupt());
    let result = session
        .client
        .call_tool_with(tool, Value::Object(arguments), options)
        .await;
    bar.finish();
    let result = result.map_err(|e| session.explain(e).context(format!("calling {tool}")))?;
    let value = to_json(&result);
    if json_out {
        print_json(&value);
    } else {
        print!("{}", render::tool_result(&value, Style::stdout()));
    }
    if result.is_error == Some(true) {
        eprintln!(
            "{}",
            Style::stderr().red(&format!("the tool {tool} reported an error (isError)"))
        );
        return Ok(EXIT_TOOL_ERROR);
    }
    Ok(0)
}

/// `oxmcp read`.
pub async fn read(target: &Target, uri: &str, manner: Manner) -> Result<u8, CliError> {
    let ask = interact::can_ask(manner.non_interactive);
    let value = once(target, ask, format!("reading {uri}"), |c| async move {
        c.read_resource(uri).await
    })
    .await?;
    if manner.json {
        print_json(&value);
        return Ok(0);
    }
    let style = Style::stdout();
    for part in value["contents"].as_array().into_iter().flatten() {
        match part.get("text").and_then(Value::as_str) {
            // One text part prints as it is, so that `oxmcp read` pipes well.
            Some(text) if value["contents"].as_array().map(Vec::len) == Some(1) => {
                println!("{text}")
            }
            _ => println!("{}", render::resource_contents(part, style)),
        }
    }
    Ok(0)
}

/// `oxmcp prompt`.
pub async fn prompt(
    target: &Target,
    name: &str,
    pairs: &[String],
    manner: Manner,
) -> Result<u8, CliError> {
    let arguments = args::string_pairs(pairs).map_err(CliError::usage)?;
    let arguments = (!arguments.is_empty()).then_some(Value::Object(arguments));
    let ask = interact::can_ask(manner.non_interactive);
    let value = once(
        target,
        ask,
        format!("getting prompt {name}"),
        |c| async move { c.get_prompt(name, arguments).await },
    )
    .await?;
    if manner.json {
        print_json(&value);
        return Ok(0);
    }
    let style = Style::stdout();
    if let Some(description) = value["description"].as_str() {
        println!("{}", style.dim(description));
    }
    for message in value["messages"].as_array().into_iter().flatten() {
        let role = message["role"].as_str().unwrap_or("?");
        println!(
            "{} {}",
            style.bold(&format!("{role}:")),
            render::content_block(&message["content"], style)
        );
    }
    Ok(0)
}

/// `oxmcp complete`.
#[allow(clippy::too_many_arguments)]
pub async fn complete(
    target: &Target,
    prompt: Option<&str>,
    template: Option<&str>,
    argument: &str,
    value: &str,
    context: &[String],
    json_out: bool,
) -> Result<u8, CliError> {
    let context = args::string_pairs(context).map_err(CliError::usage)?;
    let context = (!context.is_empty()).then_some(Value::Object(context));
    let result = once(
        target,
        false,
        format!("completing {argument}"),
        |c| async move {
            match (prompt, template) {
                (Some(name), _) => {
                    c.complete(PromptReference::new(name), argument, value, context)
                        .await
                }
                (None, Some(uri)) => {
                    c.complete(
                        ResourceTemplateReference::new(uri),
                        argument,
                        value,
                        context,
                    )
                    .await
                }
                (None, None) => unreachable!("clap requires --prompt or --template"),
            }
        },
    )
    .await?;
    if json_out {
        print_json(&result);
        return Ok(0);
    }
    for value in result["completion"]["values"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!("{}", value.as_str().unwrap_or_default());
    }
    if result["completion"]["hasMore"].as_bool() == Some(true) {
        let total = result["completion"]["total"]
            .as_u64()
            .map(|t| format!(" ({t} in all)"))
            .unwrap_or_default();
        eprintln!("{}", Style::stderr().dim(&format!("[more values{total}]")));
    }
    Ok(0)
}

/// `oxmcp ping`.
pub async fn ping(target: &Target, count: u32, json_out: bool) -> Result<u8, CliError> {
    let started = Instant::now();
    let session = Session::open_quiet(target, false).await?;
    let connect_ms = started.elapsed().as_secs_f64() * 1e3;
    let style = Style::stdout();
    if !json_out {
        println!(
            "connected in {connect_ms:.2} ms ({} {})",
            session.client.protocol_version(),
            session.era_name()
        );
    }
    let mut times = Vec::new();
    for i in 1..=count {
        let sent = Instant::now();
        if let Err(e) = session.client.ping().await {
            let failure = session.explain(e).context(format!("ping {i}"));
            session.close().await;
            return Err(failure);
        }
        let ms = sent.elapsed().as_secs_f64() * 1e3;
        times.push(ms);
        if !json_out {
            println!("{} {i}: {ms:.3} ms", style.dim("ping"));
        }
    }
    let protocol = session.client.protocol_version().as_str();
    session.close().await;
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    let max = times.iter().copied().fold(0.0, f64::max);
    let avg = times.iter().sum::<f64>() / times.len() as f64;
    if json_out {
        print_json(&json!({
            "protocolVersion": protocol,
            "connectMs": connect_ms,
            "roundTripsMs": times,
            "minMs": min, "avgMs": avg, "maxMs": max,
        }));
    } else {
        println!("min/avg/max {min:.3}/{avg:.3}/{max:.3} ms");
    }
    Ok(0)
}

/// `oxmcp listen`.
pub async fn listen(
    target: &Target,
    resources: &[String],
    count: Option<u64>,
    json_out: bool,
) -> Result<u8, CliError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let session = Session::open(target, false, move |n| {
        let _ = tx.send(n);
    })
    .await?;
    session.ask_for_logs().await;
    let style = Style::stdout();
    let print = |n: &ServerNotification| {
        if json_out {
            println!("{}", to_json(n));
        } else {
            println!("{}", notification_line(n, style));
        }
    };
    let interrupted = cancel_on_interrupt();
    let mut printed = 0u64;
    let done = |printed: u64| count.is_some_and(|c| printed >= c);
    let outcome = if session.client.era() == Era::Legacy {
        for uri in resources {
            session
                .client
                .subscribe_resource(uri)
                .await
                .map_err(|e| session.explain(e).context(format!("subscribing to {uri}")))?;
        }
        eprintln!(
            "{}",
            Style::stderr().dim("[listening to the legacy session; Ctrl-C to stop]")
        );
        loop {
            if done(printed) {
                break Ok(0);
            }
            tokio::select! {
                n = rx.recv() => match n {
                    Some(n) => { print(&n); printed += 1; }
                    None => break Ok(0),
                },
                () = session.client.closed() => break Err(CliError::failure("the server closed the connection")),
                () = interrupted.cancelled() => break Ok(0),
            }
        }
    } else {
        let filter = SubscriptionFilter::new()
            .with_tools_list_changed(true)
            .with_prompts_list_changed(true)
            .with_resources_list_changed(true)
            .with_resource_subscriptions(resources.to_vec());
        let mut subscription = session
            .client
            .listen(filter)
            .await
            .map_err(|e| session.explain(e).context("subscriptions/listen"))?;
        eprintln!(
            "{} {}",
            Style::stderr().dim("[subscribed; the server agreed to send:"),
            Style::stderr().dim(&format!(
                "{}; Ctrl-C to stop]",
                to_json(subscription.acknowledged())
            ))
        );
        loop {
            if done(printed) {
                break Ok(0);
            }
            tokio::select! {
                n = subscription.next() => match n {
                    Some(Ok(n)) => { print(&n); printed += 1; }
                    Some(Err(e)) => break Err(session.explain(e).context("listening")),
                    None => break Ok(0),
                },
                // Log messages and other notifications outside the subscription.
                Some(n) = rx.recv() => { print(&n); printed += 1; }
                () = interrupted.cancelled() => break Ok(0),
            }
        }
    };
    session.close().await;
    outcome
}

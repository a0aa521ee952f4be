//! What the server sends while a command runs: log messages and notifications (to
//! stderr), progress (a bar on a terminal), and its questions (elicitation and sampling,
//! asked on the terminal or refused).

use std::io::{IsTerminal, Write as _};
use std::sync::{Arc, Mutex};

use oxmcp::client::ClientBuilder;
use oxmcp::protocol::{
    CreateMessageRequestParams, CreateMessageResult, ElicitAction, ElicitRequestParams,
    ElicitResult, ErrorObject, Role, SamplingMessageContent, ServerNotification,
};
use oxmcp::Progress;
use serde_json::{Map, Value};

use crate::render::{pretty, to_json, Style};

/// Whether the server's questions can be put to a person: not refused with
/// `--non-interactive`, and both stdin and stderr are a terminal.
pub fn can_ask(non_interactive: bool) -> bool {
    !non_interactive && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Answers the server's questions (elicitation, sampling): on the terminal when `ask`,
/// else refused.
pub fn with_handlers(builder: ClientBuilder, ask: bool) -> ClientBuilder {
    let style = Style::stderr();
    builder
        .on_elicitation(move |request| async move {
            if ask {
                tokio::task::spawn_blocking(move || elicit(&request, style))
                    .await
                    .map_err(|e| ErrorObject::new(-32603, format!("asking failed: {e}")))?
            } else {
                eprintln!(
                    "{} {}",
                    style.dim(
                        "[elicitation declined, not asking: --non-interactive or no terminal]"
                    ),
                    request.message()
                );
                Ok(ElicitResult::new(ElicitAction::Decline))
            }
        })
        .on_sampling(move |request| async move {
            if ask {
                tokio::task::spawn_blocking(move || sample(&request, style))
                    .await
                    .map_err(|e| ErrorObject::new(-32603, format!("asking failed: {e}")))?
            } else {
                eprintln!(
                    "{}",
                    style.dim("[sampling refused, not asking: --non-interactive or no terminal]")
                );
                Err(ErrorObject::new(
                    -1,
                    "the user (oxmcp CLI, not interactive) refused the sampling request",
                ))
            }
        })
}

/// A notification as one line for stderr.
pub fn notification_line(n: &ServerNotification, style: Style) -> String {
    let value = to_json(n);
    let method = value.get("method").and_then(Value::as_str).unwrap_or("?");
    let params = value.get("params").cloned().unwrap_or(Value::Null);
    if let ServerNotification::LoggingMessage(log) = n {
        let data = match &log.data {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let logger = log
            .logger
            .as_deref()
            .map(|l| format!(" {l}:"))
            .unwrap_or_default();
        return format!(
            "{}{logger} {data}",
            style.dim(&format!("[log {}]", log.level.as_str()))
        );
    }
    match params {
        Value::Null => style.dim(&format!("[{method}]")),
        params => format!("{} {params}", style.dim(&format!("[{method}]"))),
    }
}

/// Draws a call's progress: a bar redrawn in place on a terminal, else one line per update.
#[derive(Clone)]
pub struct ProgressBar {
    terminal: bool,
    drawn: Arc<Mutex<bool>>,
}

impl ProgressBar {
    /// A bar on stderr.
    pub fn new() -> Self {
        ProgressBar {
            terminal: std::io::stderr().is_terminal(),
            drawn: Arc::new(Mutex::new(false)),
        }
    }

    /// Shows one update.
    pub fn update(&self, p: &Progress) {
        let message = p
            .message
            .as_deref()
            .map(|m| format!(" {m}"))
            .unwrap_or_default();
        let mut stderr = std::io::stderr().lock();
        if !self.terminal {
            let _ = match p.total {
                Some(total) => writeln!(stderr, "[progress {}/{}]{message}", p.progress, total),
                None => writeln!(stderr, "[progress {}]{message}", p.progress),
            };
            return;
        }
        const WIDTH: usize = 30;
        let line = match p.total {
            Some(total) if total > 0.0 => {
                let ratio = (p.progress / total).clamp(0.0, 1.0);
                let filled = (ratio * WIDTH as f64).round() as usize;
                format!(
                    "[{}{}] {:>3.0}%{message}",
                    "#".repeat(filled),
                    "-".repeat(WIDTH - filled),
                    ratio * 100.0
                )
            }
            _ => format!("[{}]{message}", p.progress),
        };
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
        *self.drawn.lock().expect("progress lock") = true;
    }

    /// Clears the bar, if one was drawn.
    pub fn finish(&self) {
        if std::mem::take(&mut *self.drawn.lock().expect("progress lock")) {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Reads one line from the terminal after showing `prompt` on stderr; `None` at the end of input.
fn ask_line(prompt: &str) -> Option<String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
    }
}

/// Asks the user an elicitation: a form built from its schema, or a URL to visit.
fn elicit(request: &ElicitRequestParams, style: Style) -> Result<ElicitResult, ErrorObject> {
    eprintln!("\n{} {}", style.bold("The server asks:"), request.message());
    let form = match request {
        ElicitRequestParams::Url(url) => {
            eprintln!("  open {}", style.cyan(&url.url));
            let answer = ask_line("Done? [y]es / [n]o (decline) / [c]ancel: ").unwrap_or_default();
            return Ok(ElicitResult::new(action(&answer)));
        }
        ElicitRequestParams::Form(form) => form,
    };
    let answer = ask_line("Answer? [y]es / [n]o (decline) / [c]ancel: ").unwrap_or_default();
    match action(&answer) {
        ElicitAction::Accept => {}
        other => return Ok(ElicitResult::new(other)),
    }
    let schema = to_json(&form.requested_schema);
    let required = crate::render::required(&schema);
    let mut content = Map::new();
    for (name, field) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let required = required.contains(&name.as_str());
        if let Some(value) = ask_field(name, field, required, style) {
            content.insert(name.clone(), value);
        }
    }
    Ok(ElicitResult::accept(content))
}

fn action(answer: &str) -> ElicitAction {
    match answer.trim().to_ascii_lowercase().as_str() {
        "" | "y" | "yes" => ElicitAction::Accept,
        "c" | "cancel" => ElicitAction::Cancel,
        _ => ElicitAction::Decline,
    }
}

/// Asks one form field until the answer fits its schema; `None` leaves it out.
fn ask_field(name: &str, field: &Value, required: bool, style: Style) -> Option<Value> {
    let title = field.get("title").and_then(Value::as_str).unwrap_or(name);
    let kind = field
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let choices: Vec<Value> = field
        .get("enum")
        .or_else(|| field.get("items").and_then(|i| i.get("enum")))
        .and_then(Value::as_array)
        .cloned()
        .or_else(|| {
            field
                .get("oneOf")
                .and_then(Value::as_array)
                .map(|branches| {
                    branches
                        .iter()
                        .filter_map(|b| b.get("const").cloned())
                        .collect()
                })
        })
        .unwrap_or_default();
    let default = field.get("default");
    if let Some(description) = field.get("description").and_then(Value::as_str) {
        eprintln!("  {}", style.dim(description));
    }
    let hint = if choices.is_empty() {
        kind.to_owned()
    } else {
        let names: Vec<String> = choices
            .iter()
            .map(|c| {
                c.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| c.to_string())
            })
            .collect();
        format!("one of {}", names.join(", "))
    };
    let default_text = default
        .map(|d| {
            format!(
                " [{}]",
                d.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| d.to_string())
            )
        })
        .unwrap_or_default();
    let mark = if required { "*" } else { "" };
    for _ in 0..5 {
        let answer = ask_line(&format!("  {title}{mark} ({hint}){default_text}: "))?;
        if answer.is_empty() {
            if let Some(default) = default {
                return Some(default.clone());
            }
            if !required {
                return None;
            }
            eprintln!("  {}", style.red("required"));
            continue;
        }
        let value = match kind {
            "integer" => answer.parse::<i64>().ok().map(Value::from),
            "number" => answer
                .parse::<f64>()
                .ok()
                .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number)),
            "boolean" => match answer.to_ascii_lowercase().as_str() {
                "y" | "yes" | "true" => Some(Value::Bool(true)),
                "n" | "no" | "false" => Some(Value::Bool(false)),
                _ => None,
            },
            "array" => Some(Value::Array(
                answer
                    .split(',')
                    .map(|s| Value::String(s.trim().to_owned()))
                    .collect(),
            )),
            _ => Some(Value::String(answer.clone())),
        };
        let fits = |v: &Value| match v {
            Value::Array(items) => items
                .iter()
                .all(|i| choices.is_empty() || choices.contains(i)),
            other => choices.is_empty() || choices.contains(other),
        };
        match value {
            Some(v) if fits(&v) => return Some(v),
            _ => eprintln!("  {}", style.red(&format!("expected {hint}"))),
        }
    }
    None
}

/// Asks the user to play the model for a sampling request.
fn sample(
    request: &CreateMessageRequestParams,
    style: Style,
) -> Result<CreateMessageResult, ErrorObject> {
    eprintln!(
        "\n{}",
        style.bold("The server asks for a model's answer (sampling):")
    );
    if let Some(system) = &request.system_prompt {
        eprintln!("  {} {system}", style.dim("system:"));
    }
    for message in &request.messages {
        let role = match message.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        for block in message.content.blocks() {
            let block = to_json(block);
            let text = match block.get("text").and_then(Value::as_str) {
                Some(text) => text.to_owned(),
                None => pretty(&block),
            };
            eprintln!("  {} {text}", style.dim(&format!("{role}:")));
        }
    }
    match ask_line("Your answer (empty to refuse): ") {
        Some(text) if !text.is_empty() => Ok(CreateMessageResult::new(
            Role::Assistant,
            SamplingMessageContent::text(text),
            "human (oxmcp CLI)",
        )),
        _ => Err(ErrorObject::new(
            -1,
            "the user refused the sampling request",
        )),
    }
}

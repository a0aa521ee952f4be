//! Readable output: content blocks, lists, colour only on a terminal.

use std::fmt::Write as _;
use std::io::IsTerminal;

use serde::Serialize;
use serde_json::Value;

/// Text styles, on only when the stream is a terminal and `NO_COLOR` is unset.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Styles for stdout.
    pub fn stdout() -> Self {
        Style {
            on: std::io::stdout().is_terminal() && no_color_unset(),
        }
    }

    /// Styles for stderr.
    pub fn stderr() -> Self {
        Style {
            on: std::io::stderr().is_terminal() && no_color_unset(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A heading.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Something secondary.
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// An error.
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    /// A name.
    pub fn cyan(&self, text: &str) -> String {
        self.paint("36", text)
    }
}

fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `value` as JSON, to a `Value`.
pub fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Pretty JSON.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The size in bytes of base64 data.
fn decoded_len(base64: &str) -> usize {
    let trimmed = base64.trim_end_matches('=');
    trimmed.len() * 3 / 4
}

/// A content block (text, image, audio, resource link, embedded resource) as text.
pub fn content_block(block: &Value, style: Style) -> String {
    let str_of = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or("");
    match str_of("type") {
        "text" => str_of("text").to_owned(),
        kind @ ("image" | "audio") => style.dim(&format!(
            "[{kind} {}, {} bytes]",
            str_of("mimeType"),
            decoded_len(str_of("data"))
        )),
        "resource_link" => style.dim(&format!(
            "[resource link {}{}]",
            str_of("uri"),
            block
                .get("name")
                .and_then(Value::as_str)
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        )),
        "resource" => block
            .get("resource")
            .map(|r| resource_contents(r, style))
            .unwrap_or_default(),
        _ => pretty(block),
    }
}

/// One part of a resource's contents as text: the text itself, or a note for a blob.
pub fn resource_contents(contents: &Value, style: Style) -> String {
    let str_of = |key: &str| contents.get(key).and_then(Value::as_str);
    let uri = str_of("uri").unwrap_or("");
    match (str_of("text"), str_of("blob")) {
        (Some(text), _) => format!("{}\n{text}", style.dim(&format!("[resource {uri}]"))),
        (None, Some(blob)) => style.dim(&format!(
            "[resource {uri}: {}, {} bytes]",
            str_of("mimeType").unwrap_or("binary"),
            decoded_len(blob)
        )),
        _ => pretty(contents),
    }
}

/// A tool result: its content blocks, then its structured content.
pub fn tool_result(result: &Value, style: Style) -> String {
    let mut out = String::new();
    for block in result
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let _ = writeln!(out, "{}", content_block(block, style));
    }
    if let Some(structured) = result.get("structuredContent") {
        let _ = writeln!(out, "{}", style.dim("structured content:"));
        let _ = writeln!(out, "{}", pretty(structured));
    }
    out
}

/// The first line of a description, cut to a reasonable width.
pub fn summary(text: Option<&str>) -> String {
    let line = text.unwrap_or("").lines().next().unwrap_or("").trim();
    if line.chars().count() > 100 {
        let cut: String = line.chars().take(99).collect();
        format!("{cut}…")
    } else {
        line.to_owned()
    }
}

/// The names an object schema lists as `required`.
pub fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// A tool's arguments in short: `a: integer, b?: string`.
pub fn signature(schema: &Value) -> String {
    let required = required(schema);
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, p)| {
            let kind = match p.get("type") {
                Some(Value::String(t)) => t.clone(),
                Some(Value::Array(ts)) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("|"),
                _ if p.get("enum").is_some() => "enum".to_owned(),
                _ => "any".to_owned(),
            };
            let optional = if required.contains(&name.as_str()) {
                ""
            } else {
                "?"
            };
            format!("{name}{optional}: {kind}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per item: `name  description`, the names padded to one width.
pub fn table(rows: &[(String, String)], style: Style) -> String {
    let width = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    let mut out = String::new();
    for (name, rest) in rows {
        let pad = width.saturating_sub(name.chars().count());
        let _ = writeln!(out, "  {}{}  {}", style.cyan(name), " ".repeat(pad), rest);
    }
    out
}

/// The rows of `oxmcp list` for items of `kind`, as JSON values.
pub fn rows(kind: crate::cli::ListKind, items: &[Value]) -> Vec<(String, String)> {
    use crate::cli::ListKind;
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    items
        .iter()
        .map(|item| match kind {
            ListKind::Tools => (
                s(item, "name").unwrap_or_default(),
                format!(
                    "({})  {}",
                    signature(item.get("inputSchema").unwrap_or(&Value::Null)),
                    summary(s(item, "description").as_deref())
                ),
            ),
            ListKind::Resources | ListKind::Templates => {
                let uri = if matches!(kind, ListKind::Resources) {
                    "uri"
                } else {
                    "uriTemplate"
                };
                let description = s(item, "description").map(|d| summary(Some(&d)));
                (
                    s(item, uri).unwrap_or_default(),
                    [s(item, "name"), s(item, "mimeType"), description]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("  "),
                )
            }
            ListKind::Prompts => {
                let arguments: Vec<String> = item
                    .get("arguments")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        let name = s(a, "name").unwrap_or_default();
                        match a.get("required").and_then(Value::as_bool) {
                            Some(true) => name,
                            _ => format!("{name}?"),
                        }
                    })
                    .collect();
                (
                    s(item, "name").unwrap_or_default(),
                    format!(
                        "({})  {}",
                        arguments.join(", "),
                        summary(s(item, "description").as_deref())
                    ),
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_blocks_read_well() {
        let plain = Style { on: false };
        assert_eq!(
            content_block(&json!({"type": "text", "text": "hi"}), plain),
            "hi"
        );
        assert_eq!(
            content_block(
                &json!({"type": "image", "mimeType": "image/png", "data": "AAAA"}),
                plain
            ),
            "[image image/png, 3 bytes]"
        );
        assert_eq!(
            content_block(
                &json!({"type": "resource", "resource": {"uri": "a://b", "text": "body"}}),
                plain
            ),
            "[resource a://b]\nbody"
        );
        assert_eq!(
            signature(
                &json!({"properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                              "required": ["a"]})
            ),
            "a: integer, b?: string"
        );
    }
}

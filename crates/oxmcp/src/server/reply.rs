//! Turning a handler's outcome into the result a request gets.

use oxmcp_protocol::completion::{CompleteResult, Completion};
use oxmcp_protocol::jsonrpc::ErrorObject;
use oxmcp_protocol::ProtocolVersion;

use crate::rpc::Reply;
use crate::server::context::Context;
use crate::server::shared::Shared;

pub(crate) fn complete_result(completion: Completion, modern: bool) -> CompleteResult {
    let mut result = CompleteResult::new(completion);
    if modern {
        result.result_type = Some(oxmcp_protocol::result::ResultType::Complete);
    }
    result
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Reply {
    // Room for a small result and the frame around it, so neither grows the buffer.
    let mut out = Vec::with_capacity(256);
    serde_json::to_writer(&mut out, value)
        .map_err(|e| ErrorObject::internal(format!("could not serialize the result: {e}")))?;
    String::from_utf8(out)
        .map_err(|_| ErrorObject::internal("a result serialized to invalid UTF-8"))
}

/// Runs a modern request's handler: its output, or the questions it left open (then the
/// handler is dropped and the round ends with an `InputRequiredResult`).
pub(crate) async fn drive<F: std::future::Future>(
    context: &Context,
    handler: F,
) -> crate::server::ask::Driven<F::Output> {
    let mut handler = std::pin::pin!(handler);
    let driven = std::future::poll_fn(|cx| {
        context.driver().register(cx.waker());
        match handler.as_mut().poll(cx) {
            std::task::Poll::Ready(output) => {
                std::task::Poll::Ready(crate::server::ask::Driven::Done(output))
            }
            std::task::Poll::Pending => match context.round() {
                Some(round) if round.has_open() => std::task::Poll::Ready(
                    crate::server::ask::Driven::InputRequired(round.input_required()),
                ),
                _ => std::task::Poll::Pending,
            },
        }
    })
    .await;
    if let Some(round) = context.round() {
        round.end();
    }
    driven
}

/// Serializes a modern result whose own `_meta` is unset, with the server's `_meta`
/// (serialized once, when the server starts) as its `_meta`.
pub(crate) fn encode_with_meta<T: serde::Serialize>(value: &T, shared: &Shared) -> Reply {
    let meta = &shared.config().server_info_meta_json;
    let mut out = encode(value)?;
    // A result is an object: open it again at its closing brace.
    if out.ends_with('}') {
        out.pop();
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(r#""_meta":"#);
        out.push_str(meta);
        out.push('}');
    }
    Ok(out)
}

/// The result of a `tools/call`; `shared` (the server's `_meta`) is needed by a modern
/// result only.
pub(super) fn finish_tool(
    shared: Option<&Shared>,
    outcome: Result<oxmcp_protocol::tools::CallToolResult, ErrorObject>,
    version: ProtocolVersion,
) -> Reply {
    let mut result = outcome?;
    let modern = version.is_modern();
    if let Some(reply) = encode_texts(&result, modern, shared) {
        return reply;
    }
    if modern {
        result.result_type = Some(oxmcp_protocol::result::ResultType::Complete);
        if let (None, Some(shared)) = (&result.meta, shared) {
            return encode_with_meta(&result, shared);
        }
    }
    encode(&result)
}

/// The common result, plain text blocks and nothing else of the tool's own (no structured
/// content, no annotations, no `_meta`), written straight out: the same bytes as
/// serializing the `CallToolResult` (member order included), for about a third of the
/// cost. `None` for any other result.
fn encode_texts(
    result: &oxmcp_protocol::tools::CallToolResult,
    modern: bool,
    shared: Option<&Shared>,
) -> Option<Reply> {
    use oxmcp_protocol::content::ContentBlock;
    if result.structured_content.is_some() || result.meta.is_some() || result.result_type.is_some()
    {
        return None;
    }
    fn plain(block: &ContentBlock) -> Option<&str> {
        match block {
            ContentBlock::Text(text) if text.annotations.is_none() && text.meta.is_none() => {
                Some(text.text.as_str())
            }
            _ => None,
        }
    }
    if !result.content.iter().all(|block| plain(block).is_some()) {
        return None;
    }
    let texts = result.content.iter().filter_map(plain);
    Some(Ok(write_texts(texts, result.is_error, modern, shared)))
}

/// The result of a tool whose handler returned a `String`: the same bytes as
/// [`finish_tool`] writes for the one text block it converts into, without building the
/// `CallToolResult` (a vector and a block made and dropped per call).
pub(super) fn text_result(text: &str, modern: bool, shared: Option<&Shared>) -> String {
    write_texts(std::iter::once(text), None, modern, shared)
}

/// Writes a result of plain text blocks (see [`encode_texts`]).
fn write_texts<'a>(
    texts: impl Iterator<Item = &'a str> + Clone,
    is_error: Option<bool>,
    modern: bool,
    shared: Option<&Shared>,
) -> String {
    // Room for everything written below, the server's `_meta` of a modern result
    // included: growing the buffer midway would copy it.
    let mut room = 96;
    if let (true, Some(shared)) = (modern, shared) {
        room += shared.config().server_info_meta_json.len();
    }
    for text in texts.clone() {
        room += text.len() + 32;
    }
    // Built as a `String` from `str`s throughout: no UTF-8 check of the whole at the end.
    let mut out = String::with_capacity(room);
    out.push_str(r#"{"content":["#);
    for (i, text) in texts.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"type":"text","text":"#);
        push_json_str(&mut out, text);
        out.push('}');
    }
    out.push(']');
    match is_error {
        Some(true) => out.push_str(r#","isError":true"#),
        Some(false) => out.push_str(r#","isError":false"#),
        None => {}
    }
    if modern {
        out.push_str(r#","resultType":"complete""#);
        if let Some(shared) = shared {
            out.push_str(r#","_meta":"#);
            out.push_str(&shared.config().server_info_meta_json);
        }
    }
    out.push('}');
    out
}

/// Writes `text` as a JSON string, escaped exactly as `serde_json` escapes it: `"` and `\`,
/// control characters as `\b`, `\f`, `\n`, `\r`, `\t` or `\u00XX`, everything else as it
/// is. The runs between escapes are copied as `str`s (an escaped byte is ASCII, so the
/// runs end on character boundaries).
fn push_json_str(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut run = 0;
    for (at, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[run..at]);
        run = at + 1;
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&text[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = (0u8..0x80)
            .map(|b| format!("a{}b", char::from(b)))
            .collect();
        cases.extend(
            [
                "",
                "plain",
                "\"",
                "\\",
                "é\u{1F600}\u{7f}\u{80}\u{2028}",
                "\n\n",
                "x\u{0}",
                "\u{1f}end",
                "ends with \\",
            ]
            .map(str::to_owned),
        );
        cases.push((0u32..0x3000).filter_map(char::from_u32).collect());
        for text in cases {
            let mut out = String::new();
            super::push_json_str(&mut out, &text);
            assert_eq!(out, serde_json::to_string(&text).unwrap(), "{text:?}");
        }
    }

    use oxmcp_protocol::content::{ContentBlock, TextContent};
    use oxmcp_protocol::tools::CallToolResult;

    use super::*;

    /// What serde writes for `result` as a `tools/call` result of either era.
    fn serialized(mut result: CallToolResult, modern: bool) -> String {
        if modern {
            result.result_type = Some(oxmcp_protocol::result::ResultType::Complete);
        }
        serde_json::to_string(&result).unwrap()
    }

    #[test]
    fn plain_text_results_are_written_as_serde_writes_them() {
        let texts = [
            vec![],
            vec!["hello"],
            vec!["", "two\nblocks", "quotes \" and \\ and \u{1} and é and 😀"],
        ];
        for texts in texts {
            for is_error in [None, Some(true), Some(false)] {
                for modern in [false, true] {
                    let mut result =
                        CallToolResult::new(texts.iter().map(|t| ContentBlock::text(*t)).collect());
                    result.is_error = is_error;
                    let fast = encode_texts(&result, modern, None)
                        .expect("plain text takes the fast path")
                        .unwrap();
                    assert_eq!(fast, serialized(result, modern));
                }
            }
        }
    }

    #[test]
    fn a_string_result_is_written_as_its_text_block_would_be() {
        for text in [
            "",
            "hello",
            "quotes \" and \\ and \u{1} and \n and é and 😀",
        ] {
            for version in [ProtocolVersion::V2025_06_18, ProtocolVersion::V2026_07_28] {
                let block = CallToolResult::new(vec![ContentBlock::text(text)]);
                let expected = finish_tool(None, Ok(block), version).unwrap();
                assert_eq!(text_result(text, version.is_modern(), None), expected);
            }
        }
    }

    #[test]
    fn anything_but_plain_text_goes_through_serde() {
        let mut annotated = TextContent::new("a");
        annotated.meta = Some(Default::default());
        let others = [
            CallToolResult::new(vec![ContentBlock::Text(annotated)]),
            CallToolResult::new(vec![ContentBlock::image("AAAA", "image/png")]),
            {
                let mut r = CallToolResult::new(vec![ContentBlock::text("a")]);
                r.structured_content = Some(serde_json::json!({"a": 1}));
                r
            },
            {
                let mut r = CallToolResult::new(vec![ContentBlock::text("a")]);
                r.meta = Some(Default::default());
                r
            },
        ];
        for result in others {
            assert!(encode_texts(&result, false, None).is_none(), "{result:?}");
        }
    }
}

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
    if version.is_modern() {
        result.result_type = Some(oxmcp_protocol::result::ResultType::Complete);
        if let (None, Some(shared)) = (&result.meta, shared) {
            return encode_with_meta(&result, shared);
        }
    }
    encode(&result)
}

//! Decoding incoming frames into JSON-RPC messages and encoding outgoing ones.
//!
//! Decoding borrows from the frame: `params` and `result` stay raw JSON until a handler
//! asks for them, so the hot path parses each byte once.

use std::borrow::Cow;
use std::fmt::Write as _;

use oxmcp_protocol::jsonrpc::{ErrorObject, RequestId, JSONRPC_VERSION};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One decoded JSON-RPC message, borrowing from its frame.
#[derive(Debug)]
pub(crate) enum Message<'a> {
    Request {
        id: RequestId,
        method: Cow<'a, str>,
        params: Option<&'a RawValue>,
    },
    Notification {
        method: Cow<'a, str>,
        params: Option<&'a RawValue>,
    },
    Result {
        id: RequestId,
        result: &'a RawValue,
    },
    Error {
        id: Option<RequestId>,
        error: ErrorObject,
    },
}

/// Why a frame is not a valid message; carries what the error response needs.
#[derive(Debug)]
pub(crate) struct Invalid {
    /// The id, when it could be read (the error response echoes it).
    pub(crate) id: Option<RequestId>,
    pub(crate) error: ErrorObject,
}

/// What a frame held: one message, a batch, or garbage.
pub(crate) enum Decoded<'a> {
    Single(Result<Message<'a>, Invalid>),
    Batch(Vec<Result<Message<'a>, Invalid>>),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "borrow_opt_str")]
    jsonrpc: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "borrow_opt_str")]
    method: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// An optional string that borrows from the input when it has no escapes.
///
/// serde's `borrow` attribute borrows a `Cow<str>` field but not an `Option<Cow<str>>`,
/// which it always copies: use `#[serde(borrow, default, deserialize_with =
/// "borrow_opt_str")]` on those.
pub(crate) fn borrow_opt_str<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'de>>::deserialize(d)?.map(|b| b.0))
}

/// Keeps a present `null` as `Some("null")` instead of folding it into `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Decodes one frame (one line on stdio, one POST body on HTTP).
pub(crate) fn decode(frame: &str) -> Decoded<'_> {
    let trimmed = frame.trim_start();
    if trimmed.starts_with('[') {
        return match serde_json::from_str::<Vec<&RawValue>>(frame) {
            Ok(items) if items.is_empty() => Decoded::Single(Err(Invalid {
                id: None,
                error: ErrorObject::invalid_request("empty batch"),
            })),
            Ok(items) => {
                Decoded::Batch(items.into_iter().map(|raw| decode_one(raw.get())).collect())
            }
            Err(e) => Decoded::Single(Err(parse_failure(&e))),
        };
    }
    Decoded::Single(decode_one(frame))
}

fn parse_failure(e: &serde_json::Error) -> Invalid {
    use serde_json::error::Category;
    let error = match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ErrorObject::parse_error(format!("invalid JSON: {}", strip_position(e)))
        }
        Category::Data => {
            ErrorObject::invalid_request(format!("not a JSON-RPC message: {}", strip_position(e)))
        }
    };
    Invalid { id: None, error }
}

/// serde_json's message without the " at line 1 column 7" tail.
pub(crate) fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) if e.line() > 0 => text[..i].to_owned(),
        _ => text,
    }
}

fn decode_one(frame: &str) -> Result<Message<'_>, Invalid> {
    let env: Envelope<'_> = match serde_json::from_str(frame) {
        Ok(env) => env,
        Err(e) => {
            // Valid JSON of the wrong shape (a number, a string, ...) is an invalid request.
            let mut invalid = parse_failure(&e);
            if invalid.error.code == oxmcp_protocol::jsonrpc::error_code::PARSE_ERROR
                && serde_json::from_str::<serde::de::IgnoredAny>(frame).is_ok()
            {
                invalid.error = ErrorObject::invalid_request(
                    "not a JSON-RPC message: expected a JSON object".to_owned(),
                );
            }
            return Err(invalid);
        }
    };
    let null_id = env.id.is_some_and(|raw| raw.get() == "null");
    let id = match env.id {
        None => None,
        // Only an error response may carry a null id (its request's id was unreadable).
        Some(_) if null_id && env.error.is_some() && env.method.is_none() => None,
        Some(raw) => match serde_json::from_str::<RequestId>(raw.get()) {
            Ok(id) => Some(id),
            Err(_) => {
                return Err(Invalid {
                    id: None,
                    error: ErrorObject::invalid_request(format!(
                        "id must be a string or an integer, got {}",
                        truncate(raw.get(), 64)
                    )),
                })
            }
        },
    };
    let invalid_with = |id: Option<RequestId>, message: &str| Invalid {
        id,
        error: ErrorObject::invalid_request(message.to_owned()),
    };
    let invalid = |message: String| invalid_with(id.clone(), &message);
    match env.jsonrpc.as_deref() {
        Some(JSONRPC_VERSION) => {}
        Some(other) => return Err(invalid(format!("jsonrpc must be \"2.0\", got {other:?}"))),
        None => return Err(invalid("missing member \"jsonrpc\": \"2.0\"".to_owned())),
    }
    if let Some(params) = env.params {
        let first = params.get().as_bytes().first().copied();
        if first != Some(b'{') && first != Some(b'[') {
            return Err(invalid("params must be an object".to_owned()));
        }
    }
    match (env.method, id, env.result, env.error) {
        (Some(method), Some(id), None, None) => Ok(Message::Request {
            id,
            method,
            params: env.params,
        }),
        (Some(method), None, None, None) => Ok(Message::Notification {
            method,
            params: env.params,
        }),
        (None, Some(id), Some(result), None) => Ok(Message::Result { id, result }),
        (None, id, None, Some(error)) => match serde_json::from_str::<ErrorObject>(error.get()) {
            Ok(error) => Ok(Message::Error { id, error }),
            Err(e) => Err(Invalid {
                id,
                error: ErrorObject::invalid_request(format!(
                    "malformed error object: {}",
                    strip_position(&e)
                )),
            }),
        },
        (None, id, Some(_), Some(_)) => Err(invalid_with(
            id,
            "a response must not carry both result and error",
        )),
        (Some(_), id, _, _) => Err(invalid_with(id, "a request must not carry result or error")),
        (None, None, Some(_), None) => Err(invalid_with(None, "a result response needs an id")),
        (None, id, None, None) => Err(invalid_with(
            id,
            "a message needs a method, a result or an error",
        )),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Writes a request id as JSON.
fn push_id(out: &mut String, id: &RequestId) {
    match id {
        RequestId::Number(n) => {
            let _ = write!(out, "{n}");
        }
        RequestId::String(s) => push_json_string(out, s),
    }
}

fn push_json_string(out: &mut String, s: &str) {
    // serde_json's string escaping, written straight into the frame.
    let quoted = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
    out.push_str(&quoted);
}

/// `{"jsonrpc":"2.0","id":ID,"result":RESULT}` from an already serialized result.
pub(crate) fn encode_result(id: &RequestId, result: &str) -> String {
    let mut out = String::with_capacity(result.len() + 48);
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    push_id(&mut out, id);
    out.push_str(r#","result":"#);
    out.push_str(result);
    out.push('}');
    out
}

/// [`encode_result`], turning the result's own buffer into the frame: with a numeric id
/// (what clients send), no new buffer and no second copy of the result.
pub(crate) fn encode_result_in_place(id: &RequestId, mut result: String) -> String {
    let RequestId::Number(n) = id else {
        return encode_result(id, &result);
    };
    // Without room to spare, moving the result would reallocate it and copy it twice.
    if result.capacity() < result.len() + 64 {
        return encode_result(id, &result);
    }
    const OPEN: &str = r#"{"jsonrpc":"2.0","id":"#;
    const RESULT: &str = r#","result":"#;
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(*n);
    let mut head = [0u8; OPEN.len() + 20 + RESULT.len()];
    let mut len = 0;
    for part in [OPEN, digits, RESULT] {
        head[len..len + part.len()].copy_from_slice(part.as_bytes());
        len += part.len();
    }
    let head = std::str::from_utf8(&head[..len]).expect("ASCII");
    result.reserve(head.len() + 1);
    result.insert_str(0, head);
    result.push('}');
    result
}

/// `{"jsonrpc":"2.0","id":ID,"error":{...}}`. An unknown id is `null` when `null_unknown`
/// is set, and left out otherwise.
pub(crate) fn encode_error(
    id: Option<&RequestId>,
    null_unknown: bool,
    error: &ErrorObject,
) -> String {
    let mut out = String::with_capacity(96 + error.message.len());
    out.push_str(r#"{"jsonrpc":"2.0","#);
    match id {
        Some(id) => {
            out.push_str(r#""id":"#);
            push_id(&mut out, id);
            out.push(',');
        }
        None if null_unknown => out.push_str(r#""id":null,"#),
        None => {}
    }
    out.push_str(r#""error":"#);
    out.push_str(&serde_json::to_string(error).unwrap_or_else(|_| {
        r#"{"code":-32603,"message":"error could not be encoded"}"#.to_owned()
    }));
    out.push('}');
    out
}

/// `{"jsonrpc":"2.0","id":ID,"method":M,"params":P}`.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn encode_request(id: &RequestId, method: &str, params: Option<&str>) -> String {
    let mut out = String::with_capacity(64 + method.len() + params.map_or(0, str::len));
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    push_id(&mut out, id);
    out.push_str(r#","method":"#);
    push_json_string(&mut out, method);
    if let Some(params) = params {
        out.push_str(r#","params":"#);
        out.push_str(params);
    }
    out.push('}');
    out
}

/// `{"jsonrpc":"2.0","method":M,"params":P}`.
pub(crate) fn encode_notification(method: &str, params: Option<&str>) -> String {
    let mut out = String::with_capacity(48 + method.len() + params.map_or(0, str::len));
    out.push_str(r#"{"jsonrpc":"2.0","method":"#);
    push_json_string(&mut out, method);
    if let Some(params) = params {
        out.push_str(r#","params":"#);
        out.push_str(params);
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxmcp_protocol::jsonrpc::error_code::*;

    fn single(frame: &str) -> Result<Message<'_>, Invalid> {
        match decode(frame) {
            Decoded::Single(m) => m,
            Decoded::Batch(_) => panic!("unexpected batch"),
        }
    }

    fn code(frame: &str) -> i64 {
        single(frame).expect_err("should be invalid").error.code
    }

    #[test]
    fn decodes_each_kind() {
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Ok(Message::Request {
                id: RequestId::Number(1),
                ..
            })
        ));
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Ok(Message::Notification { .. })
        ));
        match single(r#"{"jsonrpc":"2.0","id":"a","result":{"x":1}}"#) {
            Ok(Message::Result { id, result }) => {
                assert_eq!(id, RequestId::from("a"));
                assert_eq!(result.get(), r#"{"x":1}"#);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            single(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#),
            Ok(Message::Error { id: None, .. })
        ));
    }

    #[test]
    fn escaped_method_names_decode() {
        match single(r#"{"jsonrpc":"2.0","id":1,"method":"tools\/call"}"#) {
            Ok(Message::Request { method, .. }) => assert_eq!(method, "tools/call"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn classifies_bad_input() {
        assert_eq!(code("{not json"), PARSE_ERROR);
        assert_eq!(code(""), PARSE_ERROR);
        assert_eq!(code("42"), INVALID_REQUEST);
        assert_eq!(code(r#""hello""#), INVALID_REQUEST);
        assert_eq!(code(r#"{"id":1,"method":"ping"}"#), INVALID_REQUEST);
        assert_eq!(
            code(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#),
            INVALID_REQUEST
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":7}"#),
            INVALID_REQUEST
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1}"#), INVALID_REQUEST);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#),
            INVALID_REQUEST
        );
        assert_eq!(code("[]"), INVALID_REQUEST);
    }

    #[test]
    fn invalid_requests_keep_their_id() {
        let bad = single(r#"{"jsonrpc":"1.0","id":"k","method":"ping"}"#).unwrap_err();
        assert_eq!(bad.id, Some(RequestId::from("k")));
    }

    #[test]
    fn messages_do_not_leak_positions() {
        let bad = single("{\"jsonrpc\":").unwrap_err();
        assert!(!bad.error.message.contains("line"), "{}", bad.error.message);
    }

    #[test]
    fn batches_decode_element_by_element() {
        match decode(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}, 5]"#) {
            Decoded::Batch(items) => {
                assert_eq!(items.len(), 2);
                assert!(items[0].is_ok());
                assert_eq!(items[1].as_ref().unwrap_err().error.code, INVALID_REQUEST);
            }
            Decoded::Single(_) => panic!("expected a batch"),
        }
    }

    #[test]
    fn encodes_valid_json() {
        let id = RequestId::from("a\"b");
        let frames = [
            encode_result(&id, r#"{"ok":true}"#),
            encode_error(
                Some(&RequestId::Number(3)),
                false,
                &ErrorObject::method_not_found("x/y"),
            ),
            encode_error(None, false, &ErrorObject::parse_error("bad")),
            encode_error(None, true, &ErrorObject::parse_error("bad")),
            encode_request(&id, "tools/call", Some(r#"{"name":"n"}"#)),
            encode_notification("notifications/initialized", None),
        ];
        for f in &frames {
            let v: serde_json::Value = serde_json::from_str(f).unwrap();
            assert_eq!(v["jsonrpc"], "2.0");
        }
        let v: serde_json::Value = serde_json::from_str(&frames[0]).unwrap();
        assert_eq!(v["id"], "a\"b");
    }

    #[test]
    fn a_result_becomes_its_frame_in_place() {
        let id = RequestId::Number(-42);
        let mut roomy = String::with_capacity(256);
        roomy.push_str(r#"{"content":[]}"#);
        let expected = r#"{"jsonrpc":"2.0","id":-42,"result":{"content":[]}}"#;
        assert_eq!(encode_result_in_place(&id, roomy), expected);
        // Without room to spare, and with a string id, the frame is built anew.
        assert_eq!(
            encode_result_in_place(&id, r#"{"content":[]}"#.to_owned()),
            expected
        );
        let id = RequestId::String("a\"b".into());
        assert_eq!(
            encode_result_in_place(&id, "{}".to_owned()),
            r#"{"jsonrpc":"2.0","id":"a\"b","result":{}}"#
        );
        let id = RequestId::Number(i64::MIN);
        let mut roomy = String::with_capacity(256);
        roomy.push_str("{}");
        assert_eq!(
            encode_result_in_place(&id, roomy),
            format!(r#"{{"jsonrpc":"2.0","id":{},"result":{{}}}}"#, i64::MIN)
        );
    }
}

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
        params: Params<'a>,
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

/// A request's params.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Params<'a> {
    /// As sent (`None` when absent), not read yet.
    Raw(Option<&'a RawValue>),
    /// Read in the envelope's own pass, for a method the handler reads eagerly: they are
    /// in the slot given to [`decode_with`] (read in place, they are never moved).
    Eager,
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

/// Which methods have their params read in the envelope's pass.
pub(crate) type Eager<'f> = &'f (dyn Fn(&str) -> bool + Sync);

/// Reads no params eagerly.
pub(crate) fn never_eager(_: &str) -> bool {
    false
}

/// The members of a message. A present `null` is kept (`Some("null")`), not folded into
/// `None`.
struct Envelope<'a> {
    jsonrpc: Option<Cow<'a, str>>,
    id: Option<&'a RawValue>,
    method: Option<Cow<'a, str>>,
    params: Option<Params<'a>>,
    result: Option<&'a RawValue>,
    error: Option<&'a RawValue>,
}

/// Decodes an [`Envelope`]; the `params` of a request whose `id` and `method` come first
/// (as clients write them) are read as `E` in the same pass when `eager` names the method,
/// with no raw scan first.
struct EnvelopeSeed<'f, E> {
    eager: Eager<'f>,
    /// Where eagerly read params go.
    slot: &'f mut Option<E>,
    /// Set when params were read eagerly (even if reading failed).
    tried: &'f mut bool,
}

/// Decodes a value straight into its slot (not through `next_value`'s return, which
/// moved a params struct of ~200 bytes twice more).
struct Slot<'s, E>(&'s mut Option<E>);

impl<'de, E: Deserialize<'de> + Default> serde::de::DeserializeSeed<'de> for Slot<'_, E> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // Read in place: a large `E` is not built aside and moved here.
        E::deserialize_in_place(d, self.0.insert(E::default()))
    }
}

/// The members an envelope knows; others are ignored.
enum Member {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    Other,
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Names;
        impl serde::de::Visitor<'_> for Names {
            type Value = Member;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Member, E> {
                Ok(match name {
                    "jsonrpc" => Member::Jsonrpc,
                    "id" => Member::Id,
                    "method" => Member::Method,
                    "params" => Member::Params,
                    "result" => Member::Result,
                    "error" => Member::Error,
                    _ => Member::Other,
                })
            }
        }
        d.deserialize_identifier(Names)
    }
}

impl<'de, E: Deserialize<'de> + Default> serde::de::DeserializeSeed<'de> for EnvelopeSeed<'_, E> {
    type Value = Envelope<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, E: Deserialize<'de> + Default> serde::de::Visitor<'de> for EnvelopeSeed<'_, E> {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON-RPC message object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        #[derive(Deserialize)]
        struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
        fn once<T, Er: serde::de::Error>(slot: &Option<T>, name: &'static str) -> Result<(), Er> {
            match slot {
                Some(_) => Err(Er::duplicate_field(name)),
                None => Ok(()),
            }
        }
        let mut env = Envelope {
            jsonrpc: None,
            id: None,
            method: None,
            params: None,
            result: None,
            error: None,
        };
        // `jsonrpc` and `method` may be `null` (then absent); a second one is still a
        // duplicate.
        let (mut seen_jsonrpc, mut seen_method) = (false, false);
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Jsonrpc => {
                    if std::mem::replace(&mut seen_jsonrpc, true) {
                        return Err(A::Error::duplicate_field("jsonrpc"));
                    }
                    env.jsonrpc = map.next_value::<Option<Text<'de>>>()?.map(|t| t.0);
                }
                Member::Id => {
                    once(&env.id, "id")?;
                    env.id = Some(map.next_value()?);
                }
                Member::Method => {
                    if std::mem::replace(&mut seen_method, true) {
                        return Err(A::Error::duplicate_field("method"));
                    }
                    env.method = map.next_value::<Option<Text<'de>>>()?.map(|t| t.0);
                }
                Member::Params => {
                    once(&env.params, "params")?;
                    // Only a request's params (an id came first) are read eagerly.
                    let eager =
                        env.id.is_some() && env.method.as_deref().is_some_and(|m| (self.eager)(m));
                    env.params = Some(if eager {
                        *self.tried = true;
                        map.next_value_seed(Slot(&mut *self.slot))?;
                        Params::Eager
                    } else {
                        Params::Raw(Some(map.next_value()?))
                    });
                }
                Member::Result => {
                    once(&env.result, "result")?;
                    env.result = Some(map.next_value()?);
                }
                Member::Error => {
                    once(&env.error, "error")?;
                    env.error = Some(map.next_value()?);
                }
                Member::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(env)
    }
}

/// An optional string that borrows from the input when it has no escapes.
///
/// serde's `borrow` attribute borrows a `Cow<str>` field but not an `Option<Cow<str>>`,
/// which it always copies: use `#[serde(borrow, default, deserialize_with =
/// "borrow_opt_str")]` on those.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) fn borrow_opt_str<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'de>>::deserialize(d)?.map(|b| b.0))
}

/// Decodes one frame (one line on stdio, one POST body on HTTP), reading no params.
#[cfg(test)]
pub(crate) fn decode(frame: &str) -> Decoded<'_> {
    decode_with::<serde::de::IgnoredAny>(frame, &never_eager, &mut None)
}

/// Decodes one frame; the params of a request whose method `eager` names are read as `E`
/// in the same pass, into `slot` (the message then says [`Params::Eager`]). Params that do
/// not read as `E` are left raw (the frame is decoded again without reading them), so the
/// handler reports their fault in its own words. The requests of a batch are read raw.
pub(crate) fn decode_with<'a, E: Deserialize<'a> + Default>(
    frame: &'a str,
    eager: Eager<'_>,
    slot: &mut Option<E>,
) -> Decoded<'a> {
    let trimmed = frame.trim_start();
    if trimmed.starts_with('[') {
        return match serde_json::from_str::<Vec<&RawValue>>(frame) {
            Ok(items) if items.is_empty() => Decoded::Single(Err(Invalid {
                id: None,
                error: ErrorObject::invalid_request("empty batch"),
            })),
            Ok(items) => Decoded::Batch(
                items
                    .into_iter()
                    .map(|raw| {
                        decode_one::<serde::de::IgnoredAny>(raw.get(), &never_eager, &mut None)
                    })
                    .collect(),
            ),
            Err(e) => Decoded::Single(Err(parse_failure(&e))),
        };
    }
    Decoded::Single(decode_one(frame, eager, slot))
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

/// Reads the envelope of `frame`; on failure, also says whether params were read eagerly.
fn envelope<'a, E: Deserialize<'a> + Default>(
    frame: &'a str,
    eager: Eager<'_>,
    slot: &mut Option<E>,
) -> Result<Envelope<'a>, (serde_json::Error, bool)> {
    use serde::de::DeserializeSeed as _;
    let mut tried = false;
    let mut de = serde_json::Deserializer::from_str(frame);
    let seed = EnvelopeSeed {
        eager,
        slot,
        tried: &mut tried,
    };
    match seed
        .deserialize(&mut de)
        .and_then(|env| de.end().map(|()| env))
    {
        Ok(env) => Ok(env),
        Err(e) => Err((e, tried)),
    }
}

fn decode_one<'a, E: Deserialize<'a> + Default>(
    frame: &'a str,
    eager: Eager<'_>,
    slot: &mut Option<E>,
) -> Result<Message<'a>, Invalid> {
    let decoded = match envelope(frame, eager, slot) {
        // Eagerly read params that do not fit are left raw, for the handler to fault.
        Err((_, true)) => {
            *slot = None;
            envelope(frame, &never_eager, slot)
        }
        other => other,
    };
    let env: Envelope<'a> = match decoded {
        Ok(env) => env,
        Err((e, _)) => {
            // Valid JSON of the wrong shape (a number, a string, ...) is an invalid request.
            let mut invalid = parse_failure(&e);
            if invalid.error.code == oxmcp_protocol::jsonrpc::error_code::PARSE_ERROR
                && serde_json::from_str::<serde::de::IgnoredAny>(frame).is_ok()
            {
                invalid.error = ErrorObject::invalid_request(
                    "not a JSON-RPC message: expected a JSON object".to_owned(),
                );
            }
            // A message that is an object but not a valid one (a method that is not a
            // string, a member given twice) is answered with its id when it can be read.
            if invalid.error.code == oxmcp_protocol::jsonrpc::error_code::INVALID_REQUEST {
                invalid.id = readable_id(frame);
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
    let params = match env.params {
        None => Params::Raw(None),
        Some(Params::Raw(Some(raw))) => {
            let first = raw.get().as_bytes().first().copied();
            if first != Some(b'{') && first != Some(b'[') {
                return Err(invalid("params must be an object".to_owned()));
            }
            Params::Raw(Some(raw))
        }
        Some(params) => params,
    };
    match (env.method, id, env.result, env.error) {
        (Some(method), Some(id), None, None) => Ok(Message::Request { id, method, params }),
        (Some(method), None, None, None) => Ok(Message::Notification {
            method,
            params: match params {
                Params::Raw(raw) => raw,
                // Only a request's params are read eagerly (never reached).
                Params::Eager => {
                    *slot = None;
                    return decode_one(frame, &never_eager, slot);
                }
            },
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

/// The id of an object that is not a valid message, when it has exactly one that is a
/// valid request id (whatever is wrong with its other members).
fn readable_id(frame: &str) -> Option<RequestId> {
    #[derive(Deserialize)]
    struct IdOnly<'a> {
        #[serde(borrow)]
        id: Option<&'a RawValue>,
    }
    let only: IdOnly<'_> = serde_json::from_str(frame).ok()?;
    serde_json::from_str(only.id?.get()).ok()
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
    push_result(&mut out, id, result);
    out
}

/// Appends [`encode_result`]'s frame to `out`.
pub(crate) fn push_result(out: &mut String, id: &RequestId, result: &str) {
    out.reserve(result.len() + 48);
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    match id {
        RequestId::Number(n) => out.push_str(itoa::Buffer::new().format(*n)),
        RequestId::String(_) => push_id(out, id),
    }
    out.push_str(r#","result":"#);
    out.push_str(result);
    out.push('}');
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

    #[derive(Debug, Default, Deserialize)]
    struct Named {
        name: String,
    }

    fn eager_call(method: &str) -> bool {
        method == "call"
    }

    fn eager(frame: &str) -> Result<(Message<'_>, Option<Named>), Invalid> {
        let mut slot = None;
        match decode_with::<Named>(frame, &eager_call, &mut slot) {
            Decoded::Single(m) => m.map(|m| (m, slot)),
            Decoded::Batch(_) => panic!("unexpected batch"),
        }
    }

    /// Params of a request whose method is read eagerly come decoded; those that do not
    /// fit, those of other methods and those before the method or id come raw.
    #[test]
    fn eager_params_are_read_with_the_message() {
        match eager(r#"{"jsonrpc":"2.0","id":1,"method":"call","params":{"name":"x","more":[1]}}"#)
        {
            Ok((
                Message::Request {
                    params: Params::Eager,
                    ..
                },
                Some(Named { name }),
            )) => assert_eq!(name, "x"),
            other => panic!("{other:?}"),
        }
        for (frame, raw) in [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"call","params":{"name":5}}"#,
                Some(r#"{"name":5}"#),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"call","params":[]}"#,
                Some("[]"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"other","params":{"name":"x"}}"#,
                Some(r#"{"name":"x"}"#),
            ),
            (
                r#"{"jsonrpc":"2.0","params":{"name":"x"},"id":1,"method":"call"}"#,
                Some(r#"{"name":"x"}"#),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"call","params":{"name":"x"},"id":1}"#,
                Some(r#"{"name":"x"}"#),
            ),
            (r#"{"jsonrpc":"2.0","id":1,"method":"call"}"#, None),
        ] {
            match eager(frame) {
                Ok((
                    Message::Request {
                        params: Params::Raw(params),
                        ..
                    },
                    None,
                )) => assert_eq!(params.map(RawValue::get), raw, "{frame}"),
                other => panic!("{frame}: {other:?}"),
            }
        }
        // A notification's params are never read eagerly.
        assert!(matches!(
            eager(r#"{"jsonrpc":"2.0","method":"call","params":{"name":"x"}}"#),
            Ok((
                Message::Notification {
                    params: Some(_),
                    ..
                },
                None
            ))
        ));
        // Faults are the same as without eager reading.
        for frame in [
            r#"{"jsonrpc":"2.0","id":1,"method":"call","params":null}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"call","params":{"name":"x"},"params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"call","params":{"name":"x"}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"call","params":{"name":"x"}}"#,
        ] {
            let plain = single(frame).expect_err(frame);
            let read = eager(frame).expect_err(frame);
            assert_eq!(plain.error.code, read.error.code, "{frame}");
            assert_eq!(plain.error.message, read.error.message, "{frame}");
            assert_eq!(plain.id, read.id, "{frame}");
        }
    }

    /// A member given twice is refused, as serde refuses it, even when the first was null.
    #[test]
    fn duplicate_members_are_refused() {
        for frame in [
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
            r#"{"jsonrpc":null,"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":null,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"result":{}}"#,
        ] {
            let invalid = single(frame).expect_err(frame);
            assert_eq!(invalid.error.code, INVALID_REQUEST, "{frame}");
            assert!(
                invalid.error.message.contains("duplicate field"),
                "{frame}: {}",
                invalid.error.message
            );
        }
        assert_eq!(code("5"), INVALID_REQUEST);
        assert!(single("5")
            .unwrap_err()
            .error
            .message
            .contains("JSON-RPC message object"));
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

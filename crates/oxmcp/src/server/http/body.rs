//! What a `POST` needs to know about its body before the connection handles it, read in
//! one borrowed pass: no `serde_json::Value` tree for the usual single message.
//!
//! The fast path reads a JSON object into [`Probe`], which borrows its strings and keeps
//! `id` and `arguments` as raw JSON. Anything it cannot read the way a `Value` would (a
//! batch, a scalar, a duplicated member, nesting deep enough to hit serde_json's recursion
//! limit) goes the slow way, through a `Value`, so both ways give the same answers.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use oxmcp_protocol::jsonrpc::RequestId;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::service::routes_legacy;
use crate::rpc::{self, Decoded, Message, Peer};
use crate::server::connection::params::CallParams;
use crate::server::ConnectionHandler;
use http::HeaderMap;

/// A `POST`'s body, read for its handling.
pub(crate) struct Posted<'a> {
    pub(crate) summary: Summary<'a>,
    /// Whether it goes the legacy way ([`routes_legacy`]).
    pub(crate) legacy: bool,
    /// The body's request, decoded by the engine's own decoder, when the body is one valid
    /// request that the engine can take as it is ([`Peer::handle_decoded`]): the body is
    /// then parsed once. `None`: the engine decodes the body itself.
    pub(crate) request: Option<Message<'a>>,
}

impl<'a> Posted<'a> {
    /// Reads a body (UTF-8 text); `Err` when it is not JSON. The params of a request that
    /// `handler` reads eagerly go in `eager`, as the engine would read them.
    pub(crate) fn read(
        handler: &ConnectionHandler,
        headers: &HeaderMap,
        text: &'a str,
        eager: &mut Option<CallParams<'a>>,
        slow: &'a mut Option<Value>,
    ) -> Result<Self, String> {
        if let Some(read) = Posted::request(handler, headers, text, eager) {
            return Ok(read);
        }
        *eager = None;
        let summary = Summary::read(text, slow)?;
        let legacy = routes_legacy(headers, summary.method.as_deref() == Some("initialize"));
        Ok(Posted {
            summary,
            legacy,
            request: None,
        })
    }

    /// The usual body, one request, decoded once: its summary is what the engine's decoder
    /// read (a legacy request's params are not summarized: the legacy way checks none of
    /// them). `None` for any other body, and for a body whose [`Summary`] this could not
    /// tell as [`Summary::read`] would: one that pass reads the slow way (see [`plain`]),
    /// or a modern request whose params (which its headers are checked against) are not
    /// read eagerly with a protocol version and client capabilities in their `_meta`.
    fn request(
        handler: &ConnectionHandler,
        headers: &HeaderMap,
        text: &'a str,
        eager: &mut Option<CallParams<'a>>,
    ) -> Option<Self> {
        if !plain(text.as_bytes()) {
            return None;
        }
        let Decoded::Single(Ok(message)) = Peer::decode(handler, text, eager) else {
            return None;
        };
        let Message::Request { id, method, params } = &message else {
            return None;
        };
        let mut summary = Summary {
            shape: Some(Shape::Object),
            has_method: true,
            method: Some(method.clone()),
            id: Some(id.clone()),
            id_set: true,
            ..Summary::default()
        };
        let legacy = routes_legacy(headers, method == "initialize");
        if !legacy {
            let (rpc::Params::Eager, Some(call)) = (params, eager.as_ref()) else {
                return None;
            };
            let meta = call.meta.as_ref()?;
            // A `null` there is present to the summary, absent to the params.
            meta.client_capabilities?;
            summary.version = Some(meta.protocol_version.clone()?);
            summary.capabilities = true;
            summary.name = Some(call.name.clone());
            summary.arguments = call.arguments.map(Arguments::Raw);
        }
        Some(Posted {
            summary,
            legacy,
            request: Some(message),
        })
    }
}

/// How a body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One JSON object.
    Object,
    /// An array (a 2025-03-26 batch): its length and how many items want a reply.
    Batch { len: usize, wanting: usize },
    /// Any other JSON value.
    Other,
}

/// A tool call's `arguments`, raw or already parsed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arguments<'a> {
    Raw(&'a RawValue),
    Parsed(&'a Value),
}

/// What the handlers of a `POST` read from its body.
#[derive(Debug, Default)]
pub(crate) struct Summary<'a> {
    pub(crate) shape: Option<Shape>,
    /// Whether the object has a `method` member (of any type).
    pub(crate) has_method: bool,
    /// `method`, when it is a string.
    pub(crate) method: Option<Cow<'a, str>>,
    /// `id`, when it is a valid request id.
    pub(crate) id: Option<RequestId>,
    /// Whether the object has an `id` member other than `null`.
    id_set: bool,
    /// Whether the object has a `result` or an `error` member.
    answer: bool,
    /// `params.name`, when a string.
    pub(crate) name: Option<Cow<'a, str>>,
    /// `params.uri`, when a string.
    pub(crate) uri: Option<Cow<'a, str>>,
    /// `params.taskId`, when a string (the tasks extension's methods).
    pub(crate) task_id: Option<Cow<'a, str>>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`, when a string.
    pub(crate) version: Option<Cow<'a, str>>,
    /// Whether `params._meta["io.modelcontextprotocol/clientCapabilities"]` is there.
    pub(crate) capabilities: bool,
    /// `params.arguments`, when there (even `null`; but a request decoded once, by
    /// [`Posted::read`], reads a `null` as none: the same to the `Mcp-Param` checks, the
    /// only reader).
    pub(crate) arguments: Option<Arguments<'a>>,
}

impl<'a> Summary<'a> {
    /// Reads a body (UTF-8 text); `Err` when it is not JSON.
    pub(crate) fn read(text: &'a str, slow: &'a mut Option<Value>) -> Result<Self, String> {
        if let Some(summary) = fast(text) {
            return Ok(summary);
        }
        let value = serde_json::from_str::<Value>(text)
            .map_err(|e| crate::rpc::frame::strip_position(&e))?;
        Ok(Summary::of(slow.insert(value)))
    }

    /// The summary of a parsed body.
    fn of(value: &'a Value) -> Self {
        let Some(object) = value.as_object() else {
            let shape = match value {
                Value::Array(items) => Shape::Batch {
                    len: items.len(),
                    wanting: items.iter().filter(|item| wants_reply(item)).count(),
                },
                _ => Shape::Other,
            };
            return Summary {
                shape: Some(shape),
                ..Summary::default()
            };
        };
        let str_of = |v: Option<&'a Value>| v.and_then(Value::as_str).map(Cow::Borrowed);
        let params = object.get("params");
        let meta = params.and_then(|p| p.get("_meta"));
        Summary {
            shape: Some(Shape::Object),
            has_method: object.contains_key("method"),
            method: str_of(object.get("method")),
            id: object
                .get("id")
                .and_then(|id| serde_json::from_value(id.clone()).ok()),
            id_set: object.get("id").is_some_and(|id| !id.is_null()),
            answer: object.contains_key("result") || object.contains_key("error"),
            name: str_of(params.and_then(|p| p.get("name"))),
            uri: str_of(params.and_then(|p| p.get("uri"))),
            task_id: str_of(params.and_then(|p| p.get("taskId"))),
            version: str_of(meta.and_then(|m| m.get(oxmcp_protocol::meta::PROTOCOL_VERSION))),
            capabilities: meta
                .and_then(|m| m.get(oxmcp_protocol::meta::CLIENT_CAPABILITIES))
                .is_some(),
            arguments: params
                .and_then(|p| p.get("arguments"))
                .map(Arguments::Parsed),
        }
    }

    /// Whether the body is one JSON object.
    pub(crate) fn is_object(&self) -> bool {
        self.shape == Some(Shape::Object)
    }

    /// How many responses the body calls for (`batches`: whether a batch is answered in
    /// one array).
    pub(crate) fn expected_responses(&self, batches: bool) -> usize {
        match self.shape {
            Some(Shape::Batch { len: 0, .. }) => 1,
            Some(Shape::Batch { wanting, .. }) if batches => wanting.min(1),
            Some(Shape::Batch { wanting, .. }) => wanting,
            Some(Shape::Object) if self.has_method => usize::from(self.id_set),
            Some(Shape::Object) => usize::from(!self.answer),
            _ => 1,
        }
    }
}

/// Whether an item of a batch calls for a response.
fn wants_reply(item: &Value) -> bool {
    match item.as_object() {
        Some(obj) if obj.contains_key("method") => obj.get("id").is_some_and(|id| !id.is_null()),
        Some(obj) => !(obj.contains_key("result") || obj.contains_key("error")),
        None => true,
    }
}

/// The most `{` and `[` a body may hold for the fast path: with fewer, no nesting reaches
/// serde_json's recursion limit (128), which a `Value` would hit and a raw value would not.
const MAX_OPENERS: usize = 120;

/// The longest run of digits a body may hold for the fast path: a longer number might not
/// fit an `f64`.
const MAX_DIGITS: usize = 300;

/// Whether the fast path may read a body: it keeps `id` and `arguments` raw, and serde_json
/// skips a raw value without all the checks a `Value` makes. So this refuses what those
/// checks could reject: nesting near the recursion limit, numbers maybe out of `f64` range
/// (with an exponent, or very many digits) and surrogate escapes (`\uD800`, maybe lone).
/// It follows strings for valid JSON; on invalid JSON both ways fail anyway.
fn plain(bytes: &[u8]) -> bool {
    let mut openers = 0usize;
    let mut digits = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        match b {
            b'0'..=b'9' => {
                digits += 1;
                if digits > MAX_DIGITS {
                    return false;
                }
                continue;
            }
            b'e' | b'E' if digits > 0 => return false,
            // A string, to its end: only its escapes matter (most of a body is strings).
            b'"' => loop {
                let Some(at) = bytes
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|&b| b == b'"' || b == b'\\'))
                else {
                    return true;
                };
                i += at + 1;
                if bytes[i - 1] == b'"' {
                    break;
                }
                let surrogate = bytes.get(i) == Some(&b'u')
                    && matches!(bytes.get(i + 1), Some(b'd' | b'D'))
                    && matches!(
                        bytes.get(i + 2),
                        Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
                    );
                if surrogate {
                    return false;
                }
                i += 1; // the escaped character
            },
            b'{' | b'[' => {
                openers += 1;
                if openers > MAX_OPENERS {
                    return false;
                }
            }
            _ => {}
        }
        digits = 0;
    }
    true
}

/// The borrowed pass; `None` when the body must go the slow way.
fn fast(text: &str) -> Option<Summary<'_>> {
    let start = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if !start.starts_with('{') || !plain(text.as_bytes()) {
        return None;
    }
    let probe: Probe<'_> = serde_json::from_str(text).ok()?;
    let (name, uri, task_id, version, capabilities, arguments) = match probe.params.0 {
        Some(params) => {
            let meta = params.meta.0.unwrap_or_default();
            (
                params.name.0,
                params.uri.0,
                params.task_id.0,
                meta.version.0,
                meta.capabilities,
                params.arguments.map(Arguments::Raw),
            )
        }
        None => (None, None, None, None, false, None),
    };
    Some(Summary {
        shape: Some(Shape::Object),
        has_method: probe.method.is_some(),
        method: probe.method.and_then(|m| m.0),
        id: probe
            .id
            .and_then(|raw| serde_json::from_str::<RequestId>(raw.get()).ok()),
        id_set: probe.id.is_some_and(|raw| raw.get() != "null"),
        answer: probe.result || probe.error,
        name,
        uri,
        task_id,
        version,
        capabilities,
        arguments,
    })
}

/// The members of a message the fast path reads. A duplicated member fails it (a `Value`
/// keeps the last), and so sends the body the slow way.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    method: Option<Text<'a>>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default, deserialize_with = "seen")]
    result: bool,
    #[serde(default, deserialize_with = "seen")]
    error: bool,
    #[serde(default, borrow)]
    params: Object<Params<'a>>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    uri: Text<'a>,
    #[serde(default, borrow, rename = "taskId")]
    task_id: Text<'a>,
    #[serde(default, borrow, rename = "_meta")]
    meta: Object<Meta<'a>>,
    #[serde(default, borrow, deserialize_with = "present")]
    arguments: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(default, borrow, rename = "io.modelcontextprotocol/protocolVersion")]
    version: Text<'a>,
    #[serde(
        default,
        deserialize_with = "seen",
        rename = "io.modelcontextprotocol/clientCapabilities"
    )]
    capabilities: bool,
}

/// A member that is there, even as `null` (which `Option` would fold into `None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Whether a member is there, whatever its value.
fn seen<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

/// Any JSON value; the string when it is one (borrowed when it has no escapes).
#[derive(Default)]
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Any JSON value; `T` read from it when it is an object.
struct Object<T>(Option<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Object(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Object(Some(t)))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Object(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Object(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// For fuzzing: panics unless the fast and the slow pass agree on `text`.
#[cfg(feature = "fuzzing")]
pub(crate) fn check_fast_path(text: &str) {
    let slow = serde_json::from_str::<Value>(text);
    let Some(fast) = fast(text) else {
        return;
    };
    let value = slow.unwrap_or_else(|e| panic!("the fast path read invalid JSON {text:?}: {e}"));
    let slow = Summary::of(&value);
    let arguments = |a: &Option<Arguments<'_>>| {
        a.map(|a| match a {
            Arguments::Raw(raw) => serde_json::from_str::<Value>(raw.get())
                .unwrap_or_else(|e| panic!("raw arguments that do not parse in {text:?}: {e}")),
            Arguments::Parsed(value) => value.clone(),
        })
    };
    let owned = |s: &Option<Cow<'_, str>>| s.as_deref().map(str::to_owned);
    let fields = |s: &Summary<'_>| {
        (
            s.shape,
            s.has_method,
            owned(&s.method),
            s.id.clone(),
            s.id_set,
            s.answer,
            (owned(&s.name), owned(&s.uri), owned(&s.version)),
            s.capabilities,
            arguments(&s.arguments),
        )
    };
    assert_eq!(
        fields(&fast),
        fields(&slow),
        "the two passes disagree on {text:?}"
    );
}

#[cfg(test)]
mod tests;

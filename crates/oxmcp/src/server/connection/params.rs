//! The params of requests, read borrowing from their frame.

use std::borrow::Cow;

use oxmcp_protocol::jsonrpc::ProgressToken;
use oxmcp_protocol::logging::LoggingLevel;
use serde::Deserialize;
use serde_json::value::RawValue;

/// The reserved `_meta` keys of a request, borrowed from its params.
#[derive(Deserialize, Default)]
pub(crate) struct MetaPeek<'a> {
    #[serde(
        rename = "io.modelcontextprotocol/protocolVersion",
        borrow,
        default,
        deserialize_with = "crate::rpc::frame::borrow_opt_str"
    )]
    pub(crate) protocol_version: Option<Cow<'a, str>>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow, default)]
    pub(crate) client_capabilities: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientInfo", borrow, default)]
    pub(super) client_info: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/logLevel", default)]
    pub(super) log_level: Option<LoggingLevel>,
    #[serde(rename = "progressToken", default)]
    pub(super) progress_token: Option<ProgressToken>,
    /// W3C trace context, for the request's span (feature `otel`).
    #[cfg(feature = "otel")]
    #[serde(
        borrow,
        default,
        deserialize_with = "crate::rpc::frame::borrow_opt_str"
    )]
    pub(super) traceparent: Option<Cow<'a, str>>,
    #[cfg(feature = "otel")]
    #[serde(
        borrow,
        default,
        deserialize_with = "crate::rpc::frame::borrow_opt_str"
    )]
    pub(super) tracestate: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
pub(super) struct ParamsPeek<'a> {
    #[serde(rename = "_meta", borrow, default)]
    pub(super) meta: Option<MetaPeek<'a>>,
}

/// The params of `tools/call` and `prompts/get`, read in one pass: the target, its
/// arguments, the reserved `_meta` keys and the members of a multi round-trip retry.
///
/// Read in place ([`Deserialize::deserialize_in_place`]): the engine reads a request's
/// params into a slot while it reads the envelope around them, and a derived reader would
/// build the struct aside and move it there (two copies of its ~200 bytes per request).
/// Members other than these are ignored; each may appear once; `name` is required.
#[derive(Default)]
pub(crate) struct CallParams<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) arguments: Option<&'a RawValue>,
    pub(crate) meta: Option<MetaPeek<'a>>,
    pub(super) input_responses: Option<&'a RawValue>,
    pub(super) request_state: Option<Cow<'a, str>>,
}

/// The members of [`CallParams`], in order.
const CALL_MEMBERS: [&str; 5] = [
    "name",
    "arguments",
    "_meta",
    "inputResponses",
    "requestState",
];

impl<'de> Deserialize<'de> for CallParams<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut params = CallParams::default();
        Self::deserialize_in_place(d, &mut params)?;
        Ok(params)
    }

    fn deserialize_in_place<D: serde::Deserializer<'de>>(
        d: D,
        place: &mut Self,
    ) -> Result<(), D::Error> {
        d.deserialize_struct("CallParams", &CALL_MEMBERS, CallInPlace(place))
    }
}

/// Reads the members of a `tools/call` or `prompts/get` params object into place.
struct CallInPlace<'p, 'de>(&'p mut CallParams<'de>);

impl<'de> serde::de::Visitor<'de> for CallInPlace<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object with a name")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        /// A string that borrows from the input unless it has escapes.
        #[derive(Deserialize)]
        #[serde(transparent)]
        struct Text<'a>(#[serde(borrow)] Cow<'a, str>);
        /// [`Text`], or `null`.
        #[derive(Deserialize)]
        #[serde(transparent)]
        struct OptText<'a>(
            #[serde(borrow, deserialize_with = "crate::rpc::frame::borrow_opt_str")]
            Option<Cow<'a, str>>,
        );
        let place = self.0;
        let mut seen = [false; CALL_MEMBERS.len()];
        while let Some(member) = map.next_key::<CallMember>()? {
            let CallMember(Some(index)) = member else {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(A::Error::duplicate_field(CALL_MEMBERS[index]));
            }
            match index {
                0 => place.name = map.next_value::<Text<'de>>()?.0,
                1 => place.arguments = map.next_value()?,
                2 => place.meta = map.next_value()?,
                3 => place.input_responses = map.next_value()?,
                _ => place.request_state = map.next_value::<OptText<'de>>()?.0,
            }
        }
        if !seen[0] {
            return Err(A::Error::missing_field("name"));
        }
        Ok(())
    }
}

/// A member name of [`CallParams`]: its index in [`CALL_MEMBERS`], or `None` for another.
struct CallMember(Option<usize>);

impl<'de> Deserialize<'de> for CallMember {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Names;
        impl serde::de::Visitor<'_> for Names {
            type Value = CallMember;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<CallMember, E> {
                Ok(CallMember(CALL_MEMBERS.iter().position(|m| *m == name)))
            }
        }
        d.deserialize_identifier(Names)
    }
}

impl<'a> CallParams<'a> {
    /// The members a multi round-trip retry carries.
    pub(super) fn retry(&self) -> crate::server::ask::Retry<'_> {
        crate::server::ask::Retry {
            input_responses: self.input_responses,
            request_state: self.request_state.as_deref(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct UriParams {
    pub(super) uri: String,
}

/// The params of `resources/read`, with the members of a multi round-trip retry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReadParams<'a> {
    pub(super) uri: String,
    #[serde(borrow, default)]
    pub(super) input_responses: Option<&'a RawValue>,
    #[serde(
        borrow,
        default,
        deserialize_with = "crate::rpc::frame::borrow_opt_str"
    )]
    pub(super) request_state: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
pub(super) struct CursorParams {
    #[serde(default)]
    pub(super) cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<CallParams<'_>, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn call_params_read_every_member_borrowing_where_they_can() {
        let params = read(
            r#"{"name":"echo","arguments":{"text":"hi"},"_meta":{"progressToken":7},
                "inputResponses":{"a":1},"requestState":"st","extra":[1,{"x":2}]}"#,
        )
        .unwrap();
        assert!(matches!(params.name, Cow::Borrowed("echo")));
        assert_eq!(params.arguments.unwrap().get(), r#"{"text":"hi"}"#);
        let meta = params.meta.unwrap();
        assert_eq!(meta.progress_token, Some(ProgressToken::Number(7)));
        assert_eq!(params.input_responses.unwrap().get(), r#"{"a":1}"#);
        assert!(matches!(params.request_state, Some(Cow::Borrowed("st"))));
    }

    #[test]
    fn call_params_unescape_a_name_and_take_null_for_absent() {
        let params =
            read(r#"{"name":"a\"b","arguments":null,"_meta":null,"requestState":null}"#).unwrap();
        assert_eq!(params.name, "a\"b");
        assert!(params.arguments.is_none() && params.meta.is_none());
        assert!(params.request_state.is_none() && params.input_responses.is_none());
    }

    fn fault(json: &str) -> String {
        read(json).err().expect("refused")
    }

    #[test]
    fn call_params_need_one_name_and_an_object() {
        assert!(fault(r#"{"arguments":{}}"#).contains("missing field `name`"));
        let twice = fault(r#"{"name":"a","name":"b"}"#);
        assert!(twice.contains("duplicate field `name`"), "{twice}");
        let twice = fault(r#"{"name":"a","_meta":{},"_meta":{}}"#);
        assert!(twice.contains("duplicate field `_meta`"), "{twice}");
        for refused in [
            r#"["echo",{}]"#,
            r#"{"name":7}"#,
            r#"{"name":"a","requestState":5}"#,
            "null",
        ] {
            fault(refused);
        }
    }

    #[test]
    fn call_params_read_in_place_set_what_the_input_has() {
        let mut place = CallParams::default();
        let mut de = serde_json::Deserializer::from_str(r#"{"name":"new","requestState":"s"}"#);
        CallParams::deserialize_in_place(&mut de, &mut place).unwrap();
        assert_eq!(place.name, "new");
        assert_eq!(place.request_state.as_deref(), Some("s"));
        assert!(place.arguments.is_none() && place.meta.is_none());
    }
}

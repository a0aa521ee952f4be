//! The named errors of the schemas and the typed `data` of the MCP-specific ones.
//!
//! Error objects are all [`ErrorObject`]s and error responses all
//! [`JsonRpcErrorResponse`]s; the aliases here give them their schema names.

use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::elicitation::ElicitRequestURLParams;
use crate::jsonrpc::{error_code, ErrorObject, JsonRpcErrorResponse};
use crate::lifecycle::ClientCapabilities;

/// `-32700`: invalid JSON (an error object).
pub type ParseError = ErrorObject;
/// `-32600`: not a valid request (an error object).
pub type InvalidRequestError = ErrorObject;
/// `-32601`: no such method (an error object).
pub type MethodNotFoundError = ErrorObject;
/// `-32602`: invalid params (an error object).
pub type InvalidParamsError = ErrorObject;
/// `-32603`: internal error (an error object).
pub type InternalError = ErrorObject;

/// `-32020`: HTTP headers do not match the body (a full error response, 2026-07-28).
pub type HeaderMismatchError = JsonRpcErrorResponse;
/// `-32021`: a required client capability was not declared (a full error response,
/// 2026-07-28); `data` is [`MissingRequiredClientCapabilityData`].
pub type MissingRequiredClientCapabilityError = JsonRpcErrorResponse;
/// `-32022`: unsupported protocol version (a full error response, 2026-07-28);
/// `data` is [`UnsupportedProtocolVersionData`].
pub type UnsupportedProtocolVersionError = JsonRpcErrorResponse;
/// `-32042`: the request needs URL elicitations first (a full error response,
/// 2025-11-25); `data` is [`URLElicitationRequiredData`].
pub type URLElicitationRequiredError = JsonRpcErrorResponse;

/// The `data` of a `-32021` error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MissingRequiredClientCapabilityData {
    /// The capabilities the request needs.
    pub required_capabilities: ClientCapabilities,
}

impl MissingRequiredClientCapabilityData {
    /// The capabilities the request needs.
    pub fn new(required_capabilities: ClientCapabilities) -> Self {
        MissingRequiredClientCapabilityData {
            required_capabilities,
        }
    }
}

/// The `data` of a `-32022` error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsupportedProtocolVersionData {
    /// The revision the client asked for.
    pub requested: String,
    /// The revisions the server supports.
    pub supported: Vec<String>,
}

impl UnsupportedProtocolVersionData {
    /// What was asked and what is supported.
    pub fn new(requested: impl Into<String>, supported: Vec<String>) -> Self {
        UnsupportedProtocolVersionData {
            requested: requested.into(),
            supported,
        }
    }
}

/// The `data` of a `-32042` error (2025-11-25).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct URLElicitationRequiredData {
    /// The URL elicitations to complete before retrying.
    pub elicitations: Vec<ElicitRequestURLParams>,
}

impl URLElicitationRequiredData {
    /// These elicitations.
    pub fn new(elicitations: Vec<ElicitRequestURLParams>) -> Self {
        URLElicitationRequiredData { elicitations }
    }
}

/// The most bytes of peer input an error message quotes; [`echo`] cuts longer input.
pub const ECHO_LIMIT: usize = 128;

/// The most bytes of an error message about the peer's input ([`ErrorObject::parse_error`],
/// [`ErrorObject::invalid_request`], [`ErrorObject::invalid_params`]); [`shorten_message`]
/// cuts longer ones in the middle.
pub const MESSAGE_LIMIT: usize = 768;

/// Peer input as an error message quotes it: whole when it is at most [`ECHO_LIMIT`] bytes,
/// otherwise its start (cut on a character boundary), an ellipsis and its length, so that a
/// 4 MiB method name comes back as `"aaaa…" (4194304 bytes)`, not whole.
///
/// `Display` writes the text as is, `Debug` quotes and escapes it.
///
/// ```
/// use oxmcp_protocol::error::echo;
///
/// assert_eq!(format!("unknown tool: {}", echo("add")), "unknown tool: add");
/// let long = "x".repeat(10_000);
/// let message = format!("unknown tool: {:?}", echo(&long));
/// assert!(message.len() < 200);
/// assert!(message.starts_with("unknown tool: \"xxx"));
/// assert!(message.ends_with("\"… (10000 bytes)"));
/// ```
pub fn echo(input: &str) -> Echo<'_> {
    Echo(input)
}

/// Peer input, cut for an error message; made by [`echo`].
#[derive(Clone, Copy)]
pub struct Echo<'a>(&'a str);

impl Echo<'_> {
    /// The part quoted, and whether it is all of the input.
    fn head(&self) -> (&str, bool) {
        if self.0.len() <= ECHO_LIMIT {
            (self.0, true)
        } else {
            (&self.0[..floor_char_boundary(self.0, ECHO_LIMIT)], false)
        }
    }
}

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.head() {
            (all, true) => f.write_str(all),
            (head, false) => write!(f, "{head}… ({} bytes)", self.0.len()),
        }
    }
}

impl fmt::Debug for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.head() {
            (all, true) => write!(f, "{all:?}"),
            (head, false) => write!(f, "{head:?}… ({} bytes)", self.0.len()),
        }
    }
}

/// An error message that may quote peer input it did not cut itself (a decoder's message
/// naming the value it refused), at most about [`MESSAGE_LIMIT`] bytes: a longer one keeps
/// its start and its end (where decoders say what they expected) around an ellipsis that
/// gives the number of bytes left out.
///
/// ```
/// use oxmcp_protocol::error::shorten_message;
///
/// assert_eq!(shorten_message("invalid type: string \"a\", expected u32"), "invalid type: string \"a\", expected u32");
/// let message = format!("invalid type: string \"{}\", expected u32", "a".repeat(1 << 20));
/// let short = shorten_message(&message);
/// assert!(short.len() < 1024);
/// assert!(short.starts_with("invalid type: string \"aaa"));
/// assert!(short.ends_with("aaa\", expected u32"));
/// ```
pub fn shorten_message(message: &str) -> Cow<'_, str> {
    if message.len() <= MESSAGE_LIMIT {
        return Cow::Borrowed(message);
    }
    let keep = MESSAGE_LIMIT / 2 - 32;
    let head = floor_char_boundary(message, keep);
    let mut tail = message.len() - keep;
    while !message.is_char_boundary(tail) {
        tail += 1;
    }
    Cow::Owned(format!(
        "{} …({} bytes left out)… {}",
        &message[..head],
        tail - head,
        &message[tail..]
    ))
}

/// The largest character boundary of `text` at or before `index`.
fn floor_char_boundary(text: &str, index: usize) -> usize {
    let mut i = index.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl ErrorObject {
    /// `-32020`: HTTP headers do not match the body (2026-07-28). A message longer than
    /// [`MESSAGE_LIMIT`] is cut in the middle.
    pub fn header_mismatch(message: impl Into<String>) -> Self {
        Self::about_input(error_code::HEADER_MISMATCH, message)
    }

    /// `-32021`: the request needs client capabilities that were not declared (2026-07-28).
    pub fn missing_required_client_capability(
        message: impl Into<String>,
        required: ClientCapabilities,
    ) -> Self {
        let data = MissingRequiredClientCapabilityData::new(required);
        let err = Self::new(error_code::MISSING_REQUIRED_CLIENT_CAPABILITY, message);
        match serde_json::to_value(data) {
            Ok(v) => err.with_data(v),
            Err(_) => err,
        }
    }

    /// `-32042`: the user must complete these URL elicitations first (2025-11-25).
    pub fn url_elicitation_required(
        message: impl Into<String>,
        elicitations: Vec<ElicitRequestURLParams>,
    ) -> Self {
        let data = URLElicitationRequiredData::new(elicitations);
        let err = Self::new(error_code::URL_ELICITATION_REQUIRED, message);
        match serde_json::to_value(data) {
            Ok(v) => err.with_data(v),
            Err(_) => err,
        }
    }

    /// `-32002`: resource not found (2025-11-25 and older), with the URI in `data`; a URI
    /// longer than [`ECHO_LIMIT`] is cut (see [`echo`]) in both.
    pub fn resource_not_found(uri: &str) -> Self {
        Self::resource_not_found_with_code(error_code::RESOURCE_NOT_FOUND, uri)
    }

    /// "resource not found" under `code` (the code differs between protocol revisions),
    /// with the URI in `data`, cut as in [`resource_not_found`](Self::resource_not_found).
    pub fn resource_not_found_with_code(code: i64, uri: &str) -> Self {
        let uri = echo(uri).to_string();
        Self::new(code, format!("resource not found: {uri}"))
            .with_data(serde_json::json!({ "uri": uri }))
    }

    /// `data` read as `T`: `None` without data, `Some(Err)` when it does not fit.
    pub fn data_as<T: DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.data.as_ref().map(|d| T::deserialize(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::ElicitationCapability;
    use serde_json::json;

    #[test]
    fn echoed_input_is_cut_on_a_character_boundary() {
        assert_eq!(echo("short").to_string(), "short");
        assert_eq!(format!("{:?}", echo("a\"b")), r#""a\"b""#);
        let exact = "é".repeat(ECHO_LIMIT / 2);
        assert_eq!(echo(&exact).to_string(), exact);
        // 'é' is two bytes: a cut at an odd byte backs up to the boundary before it.
        let long = format!("x{}", "é".repeat(1000));
        let cut = echo(&long).to_string();
        assert_eq!(cut, format!("x{}… (2001 bytes)", "é".repeat(63)));
        let huge = "m".repeat(4 << 20);
        for e in [
            ErrorObject::method_not_found(&huge),
            ErrorObject::unsupported_protocol_version(&huge, &["2026-07-28"]),
            ErrorObject::resource_not_found(&huge),
            ErrorObject::invalid_params(format!("bad value {huge:?}, expected a number")),
            ErrorObject::invalid_request(huge.clone()),
            ErrorObject::parse_error(huge.clone()),
            ErrorObject::header_mismatch(huge.clone()),
        ] {
            assert!(e.message.len() < 1024, "{}", e.message.len());
            assert!(e.message.contains("mmmm"), "{}", e.message);
            assert!(e.data.map_or(0, |d| d.to_string().len()) < 1024);
        }
        let message = format!("bad value {huge:?}, expected a number");
        let e = ErrorObject::invalid_params(message.clone());
        assert!(e.message.starts_with("bad value \"mmm"), "{}", e.message);
        assert!(
            e.message.ends_with("mmm\", expected a number"),
            "{}",
            e.message
        );
        let kept = MESSAGE_LIMIT - 64;
        let left_out = format!("({} bytes left out)", message.len() - kept);
        assert!(e.message.contains(&left_out), "{}", e.message);
    }

    #[test]
    fn typed_error_data() {
        let caps = ClientCapabilities::new().with_elicitation(ElicitationCapability::new());
        let e = ErrorObject::missing_required_client_capability("needs elicitation", caps.clone());
        assert_eq!(e.code, -32021);
        assert_eq!(
            e.data,
            Some(json!({"requiredCapabilities": {"elicitation": {}}}))
        );
        let data: MissingRequiredClientCapabilityData = e.data_as().unwrap().unwrap();
        assert_eq!(data.required_capabilities, caps);

        let e = ErrorObject::unsupported_protocol_version("1900-01-01", &["2026-07-28"]);
        let data: UnsupportedProtocolVersionData = e.data_as().unwrap().unwrap();
        assert_eq!(
            data,
            UnsupportedProtocolVersionData::new("1900-01-01", vec!["2026-07-28".into()])
        );

        let e = ErrorObject::url_elicitation_required(
            "authorize first",
            vec![ElicitRequestURLParams::new("go", "https://x.test/").with_elicitation_id("e")],
        );
        assert_eq!(e.code, -32042);
        let data: URLElicitationRequiredData = e.data_as().unwrap().unwrap();
        assert_eq!(data.elicitations[0].elicitation_id.as_deref(), Some("e"));
        assert!(ErrorObject::header_mismatch("x")
            .data_as::<UnsupportedProtocolVersionData>()
            .is_none());
    }
}

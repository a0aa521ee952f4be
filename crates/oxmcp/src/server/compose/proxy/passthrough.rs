//! A back end's `tools/call` result passed on to the proxy's client as JSON text, without
//! decoding it into a `CallToolResult` and writing it again: read in one pass, its members
//! copied as they came, except what differs between the back end's era and the front's
//! (the modern `resultType`, and the server's own key in `_meta`: the back end's out, the
//! front's in, for a modern front).

use std::borrow::Cow;
use std::fmt;

use oxmcp_protocol::meta::SERVER_INFO;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::server::handler::FinishCx;
use crate::server::Context;

/// What writing a result for the front request needs: its era, and (modern) the context
/// whose server's `_meta` the result takes.
pub(super) struct Front {
    modern: bool,
    cx: Option<Context>,
}

impl Front {
    /// The front request that `cx` finishes.
    pub(super) fn of(cx: &FinishCx) -> Front {
        let modern = cx.version.is_modern();
        Front {
            modern,
            cx: if modern { cx.drive.clone() } else { None },
        }
    }

    /// The front's result for the back end's `raw`; `None` unless `raw` is a complete
    /// `CallToolResult` (the client then reads it the typed way, which follows a task or
    /// an input round, or says what is wrong with it).
    pub(super) fn pass(&self, raw: &RawValue) -> Option<String> {
        let own_meta = match self.cx.as_ref().and_then(Context::shared) {
            Some(shared) => members(&shared.config().server_info_meta_json),
            None => "",
        };
        rewrite(raw.get(), self.modern, own_meta).ok()
    }
}

/// The members of a JSON object's text, without its braces.
fn members(object: &str) -> &str {
    object
        .strip_prefix('{')
        .and_then(|o| o.strip_suffix('}'))
        .unwrap_or("")
}

/// `raw` (a `tools/call` result of the back end, of either era) as the result of the
/// front's era: `resultType` (if any, `"complete"`) dropped (and written for a modern front), the
/// `SERVER_INFO` key of `_meta` dropped and `own_meta` (members of the front's `_meta`)
/// added; every other member copied as it is. Fails on what is not a `CallToolResult`
/// object (no `content` array, an `isError` that is not a boolean, a `_meta` that is not
/// an object, a member twice) or not complete (a `resultType` other than `"complete"`).
pub(super) fn rewrite(raw: &str, modern: bool, own_meta: &str) -> serde_json::Result<String> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let out = de.deserialize_map(Rewrite {
        modern,
        own_meta,
        capacity: raw.len() + own_meta.len() + 32,
    })?;
    de.end()?;
    Ok(out)
}

struct Rewrite<'m> {
    modern: bool,
    own_meta: &'m str,
    capacity: usize,
}

/// The members of a `CallToolResult` read here, each at most once.
const KNOWN: [&str; 5] = [
    "content",
    "isError",
    "structuredContent",
    "resultType",
    "_meta",
];

impl<'de> Visitor<'de> for Rewrite<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CallToolResult object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let mut out = String::with_capacity(self.capacity);
        out.push('{');
        let mut seen = [false; KNOWN.len()];
        let mut meta: Vec<(Key<'de>, &'de RawValue)> = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if let Some(i) = KNOWN.iter().position(|k| *k == key.0) {
                if std::mem::replace(&mut seen[i], true) {
                    return Err(de::Error::duplicate_field(KNOWN[i]));
                }
            }
            match &*key.0 {
                "resultType" => {
                    let kind = map.next_value::<Key<'de>>()?;
                    if kind.0 != "complete" {
                        return Err(de::Error::invalid_value(
                            de::Unexpected::Str(&kind.0),
                            &"\"complete\"",
                        ));
                    }
                }
                "_meta" => {
                    meta = map.next_value::<Members<'de>>()?.0;
                }
                "content" => {
                    let value: &'de RawValue = map.next_value()?;
                    if !value.get().starts_with('[') {
                        return Err(de::Error::invalid_type(
                            de::Unexpected::Other(value.get()),
                            &"an array of content blocks",
                        ));
                    }
                    member(&mut out, &key, value.get());
                }
                "isError" => {
                    let value: Option<bool> = map.next_value()?;
                    if let Some(value) = value {
                        member(&mut out, &key, if value { "true" } else { "false" });
                    }
                }
                _ => {
                    let value: &'de RawValue = map.next_value()?;
                    member(&mut out, &key, value.get());
                }
            }
        }
        if !seen[0] {
            return Err(de::Error::missing_field("content"));
        }
        if self.modern {
            member(&mut out, &Key(Cow::Borrowed("resultType")), "\"complete\"");
        }
        meta.retain(|(key, _)| key.0 != SERVER_INFO);
        if !meta.is_empty() || !self.own_meta.is_empty() {
            out.push_str(",\"_meta\":{");
            for (i, (key, value)) in meta.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                key.write(&mut out);
                out.push(':');
                out.push_str(value.get());
            }
            if !self.own_meta.is_empty() {
                if !meta.is_empty() {
                    out.push(',');
                }
                out.push_str(self.own_meta);
            }
            out.push('}');
        }
        out.push('}');
        Ok(out)
    }
}

/// Appends `"key":value` to an object being written (after a comma unless it is the first).
fn member(out: &mut String, key: &Key<'_>, value: &str) {
    if !out.ends_with('{') {
        out.push(',');
    }
    key.write(out);
    out.push(':');
    out.push_str(value);
}

/// A member name, borrowed from the input unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    /// Writes the name as a JSON string.
    fn write(&self, out: &mut String) {
        match &self.0 {
            // Borrowed: it was written without escapes, and is copied as it was.
            Cow::Borrowed(name) => {
                out.push('"');
                out.push_str(name);
                out.push('"');
            }
            Cow::Owned(name) => {
                // Writing a string as JSON cannot fail.
                out.push_str(&serde_json::to_string(name).unwrap_or_default());
            }
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The members of an object, in order, their values left as text.
struct Members<'de>(Vec<(Key<'de>, &'de RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a _meta object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    const FRONT: &str = r#""io.modelcontextprotocol/serverInfo":{"name":"front","version":"1"}"#;

    fn rewritten(raw: &str, modern: bool) -> Value {
        let own = if modern { FRONT } else { "" };
        let text = rewrite(raw, modern, own).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn a_legacy_result_passes_to_a_legacy_front_as_it_came() {
        let raw = r#"{"content":[{"type":"text","text":"a \"q\" é"}],"isError":false,"structuredContent":{"n":[1,2]},"x-other":null,"_meta":{"k":"v"}}"#;
        assert_eq!(rewrite(raw, false, "").unwrap(), raw);
    }

    #[test]
    fn the_era_members_are_rewritten_and_nothing_else() {
        let modern_back = r#"{"content":[{"type":"text","text":"hi"}],"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"back","version":"2"},"own":1}}"#;
        assert_eq!(
            rewritten(modern_back, false),
            json!({"content": [{"type": "text", "text": "hi"}], "_meta": {"own": 1}})
        );
        assert_eq!(
            rewritten(modern_back, true),
            json!({
                "content": [{"type": "text", "text": "hi"}],
                "resultType": "complete",
                "_meta": {"own": 1, "io.modelcontextprotocol/serverInfo": {"name": "front", "version": "1"}},
            })
        );
        let only_server_info = r#"{"content":[],"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"back"}}}"#;
        assert_eq!(rewritten(only_server_info, false), json!({"content": []}));
        let legacy_back = r#"{"content":[],"isError":true}"#;
        assert_eq!(
            rewritten(legacy_back, true),
            json!({
                "content": [],
                "isError": true,
                "resultType": "complete",
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "front", "version": "1"}},
            })
        );
        // A member name written with escapes keeps its meaning.
        assert_eq!(
            rewritten(r#"{"content":[],"a\u0062\"":1}"#, false),
            json!({"content": [], "ab\"": 1})
        );
    }

    #[test]
    fn what_is_not_a_call_tool_result_is_refused() {
        for bad in [
            "[]",
            "{}",
            r#"{"content":{}}"#,
            r#"{"content":null}"#,
            r#"{"content":[],"isError":"yes"}"#,
            r#"{"content":[],"_meta":[]}"#,
            r#"{"content":[],"content":[]}"#,
            r#"{"content":[]} x"#,
            r#"{"content":["#,
            r#"{"content":[],"resultType":"task"}"#,
            r#"{"content":[],"resultType":"input_required"}"#,
            r#"{"content":[],"resultType":1}"#,
        ] {
            assert!(rewrite(bad, false, "").is_err(), "{bad}");
            assert!(rewrite(bad, true, FRONT).is_err(), "{bad}");
        }
    }
}

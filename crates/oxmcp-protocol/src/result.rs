//! What every result carries: `resultType` (2026-07-28), the cache hints of cacheable
//! results, and the empty result.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::meta::Meta;

/// The `resultType` of a 2026-07-28 result: how the client should read it.
///
/// Results from earlier revisions carry no `resultType`; a client treats an absent one
/// as [`ResultType::Complete`]. Unknown values are kept in [`ResultType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResultType {
    /// `"complete"`: the request finished and the result holds its final content.
    Complete,
    /// `"input_required"`: the result is an
    /// [`InputRequiredResult`](crate::mrtr::InputRequiredResult); the client must answer
    /// its input requests and retry the request.
    InputRequired,
    /// Any other value, kept verbatim.
    Other(String),
}

impl ResultType {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            ResultType::Complete => "complete",
            ResultType::InputRequired => "input_required",
            ResultType::Other(s) => s,
        }
    }

    /// Reads a wire string; unknown strings become [`ResultType::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "complete" => ResultType::Complete,
            "input_required" => ResultType::InputRequired,
            other => ResultType::Other(other.to_owned()),
        }
    }

    /// Whether this is [`ResultType::InputRequired`].
    pub fn is_input_required(&self) -> bool {
        matches!(self, ResultType::InputRequired)
    }
}

impl fmt::Display for ResultType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResultType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResultType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(ResultType::parse(&s))
    }
}

/// The `cacheScope` of a cacheable 2026-07-28 result, analogous to HTTP
/// `Cache-Control: public` / `private`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// Holds no user-specific data: any client or intermediary may cache and share it.
    Public,
    /// May be reused only within the same authorization context.
    Private,
}

/// A result with no content: the answer to `ping`, `logging/setLevel`,
/// `resources/subscribe` and the like.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EmptyResult {
    /// The result type (2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl EmptyResult {
    /// An empty result: `{}`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `resultType`.
    pub fn with_result_type(mut self, result_type: ResultType) -> Self {
        self.result_type = Some(result_type);
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn result_type_keeps_unknown_values() {
        let known: ResultType = serde_json::from_value(json!("input_required")).unwrap();
        assert_eq!(known, ResultType::InputRequired);
        assert!(known.is_input_required());
        let other: ResultType = serde_json::from_value(json!("streaming")).unwrap();
        assert_eq!(other, ResultType::Other("streaming".into()));
        assert_eq!(serde_json::to_value(&other).unwrap(), json!("streaming"));
        assert_eq!(
            serde_json::to_value(ResultType::Complete).unwrap(),
            json!("complete")
        );
        assert!(serde_json::from_value::<ResultType>(json!(3)).is_err());
    }

    #[test]
    fn cache_scope_is_lowercase() {
        assert_eq!(
            serde_json::to_value(CacheScope::Public).unwrap(),
            json!("public")
        );
        let p: CacheScope = serde_json::from_value(json!("private")).unwrap();
        assert_eq!(p, CacheScope::Private);
        assert!(serde_json::from_value::<CacheScope>(json!("Public")).is_err());
    }

    #[test]
    fn empty_result_is_empty() {
        assert_eq!(serde_json::to_value(EmptyResult::new()).unwrap(), json!({}));
        let r: EmptyResult = serde_json::from_value(json!({"resultType": "complete"})).unwrap();
        assert_eq!(r.result_type, Some(ResultType::Complete));
    }
}

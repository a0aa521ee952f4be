//! Argument completion: `completion/complete`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::message::TypedResultResponse;
use crate::meta::Meta;
use crate::method;
use crate::result::ResultType;
use crate::serde_util::{from_value, str_member};

/// A reference to a prompt: `{"type": "ref/prompt", "name": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "ref/prompt", rename_all = "camelCase")]
#[non_exhaustive]
pub struct PromptReference {
    /// The prompt's name.
    pub name: String,
    /// A human-readable name (2025-06-18 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl PromptReference {
    /// A reference to prompt `name`.
    pub fn new(name: impl Into<String>) -> Self {
        PromptReference {
            name: name.into(),
            title: None,
        }
    }

    /// Sets `title`.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
}

/// A reference to a resource template: `{"type": "ref/resource", "uri": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "ref/resource", rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResourceTemplateReference {
    /// The URI or URI template.
    pub uri: String,
}

impl ResourceTemplateReference {
    /// A reference to `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        ResourceTemplateReference { uri: uri.into() }
    }
}

/// The 2024-11-05 and 2025-03-26 name of [`ResourceTemplateReference`].
pub type ResourceReference = ResourceTemplateReference;

/// What is being completed: a prompt or a resource template.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum CompletionReference {
    /// `"ref/prompt"`.
    Prompt(PromptReference),
    /// `"ref/resource"`.
    ResourceTemplate(ResourceTemplateReference),
}

impl<'de> Deserialize<'de> for CompletionReference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        match str_member(&v, "type") {
            Some("ref/prompt") => from_value(v).map(CompletionReference::Prompt),
            Some("ref/resource") => from_value(v).map(CompletionReference::ResourceTemplate),
            Some(other) => Err(D::Error::custom(format_args!(
                "unknown reference type `{}`",
                crate::error::echo(other)
            ))),
            None => Err(D::Error::missing_field("type")),
        }
    }
}

impl From<PromptReference> for CompletionReference {
    fn from(r: PromptReference) -> Self {
        CompletionReference::Prompt(r)
    }
}

impl From<ResourceTemplateReference> for CompletionReference {
    fn from(r: ResourceTemplateReference) -> Self {
        CompletionReference::ResourceTemplate(r)
    }
}

/// The argument being completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompletionArgument {
    /// The argument's name.
    pub name: String,
    /// What the user typed so far.
    pub value: String,
}

impl CompletionArgument {
    /// An argument and its partial value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        CompletionArgument {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Context for a completion (2025-06-18 onward).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompletionContext {
    /// Arguments already resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<BTreeMap<String, String>>,
}

impl CompletionContext {
    /// No context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `arguments`.
    pub fn with_arguments(mut self, arguments: BTreeMap<String, String>) -> Self {
        self.arguments = Some(arguments);
        self
    }
}

/// Params of `completion/complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompleteRequestParams {
    /// What is being completed.
    #[serde(rename = "ref")]
    pub reference: CompletionReference,
    /// The argument being completed.
    pub argument: CompletionArgument,
    /// Context (2025-06-18 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<CompletionContext>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl CompleteRequestParams {
    /// Completion params.
    pub fn new(reference: impl Into<CompletionReference>, argument: CompletionArgument) -> Self {
        CompleteRequestParams {
            reference: reference.into(),
            argument,
            context: None,
            meta: None,
        }
    }

    /// Sets `context`.
    pub fn with_context(mut self, context: CompletionContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// The `completion` member of a [`CompleteResult`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Completion {
    /// The suggestions, at most 100.
    pub values: Vec<String>,
    /// How many suggestions exist in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Whether there are more suggestions than returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
}

impl Completion {
    /// These suggestions.
    pub fn new(values: Vec<String>) -> Self {
        Completion {
            values,
            total: None,
            has_more: None,
        }
    }

    /// Sets `total`.
    pub fn with_total(mut self, total: u64) -> Self {
        self.total = Some(total);
        self
    }

    /// Sets `hasMore`.
    pub fn with_has_more(mut self, has_more: bool) -> Self {
        self.has_more = Some(has_more);
        self
    }
}

/// The result of `completion/complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CompleteResult {
    /// The suggestions.
    pub completion: Completion,
    /// The result type (2026-07-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl CompleteResult {
    /// A result with these suggestions.
    pub fn new(completion: Completion) -> Self {
        CompleteResult {
            completion,
            result_type: None,
            meta: None,
        }
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

request_message! {
    /// `completion/complete`: asks for argument suggestions.
    CompleteRequest = method::COMPLETION_COMPLETE, required CompleteRequestParams
}

/// The response to `completion/complete`.
pub type CompleteResultResponse = TypedResultResponse<CompleteResult>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_dispatch_on_type() {
        let p: CompletionReference =
            serde_json::from_value(json!({"type": "ref/prompt", "name": "p"})).unwrap();
        assert!(matches!(&p, CompletionReference::Prompt(r) if r.name == "p"));
        let r: CompletionReference =
            serde_json::from_value(json!({"type": "ref/resource", "uri": "file:///{x}"})).unwrap();
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"type": "ref/resource", "uri": "file:///{x}"})
        );
        assert!(serde_json::from_value::<CompletionReference>(
            json!({"type": "ref/tool", "name": "t"})
        )
        .is_err());
    }
}

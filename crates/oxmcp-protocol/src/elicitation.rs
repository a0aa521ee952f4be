//! Elicitation: the server asks the user for input, through a form or a URL
//! (`elicitation/create`, 2025-06-18 onward).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::meta::Meta;
use crate::method;
use crate::result::ResultType;
use crate::serde_util::from_value;
use crate::tasks::TaskMetadata;
use crate::JsonObject;

mod schema;

pub use schema::*;

/// How the user is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitationMode {
    /// In-band: the client shows a form built from a schema.
    Form,
    /// Out-of-band: the client opens a URL (2025-11-25 onward).
    Url,
}

/// Params of a form-mode `elicitation/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ElicitRequestFormParams {
    /// `"form"`, or absent (which means form too; 2025-06-18 never sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ElicitationMode>,
    /// What to ask the user.
    pub message: String,
    /// The form's fields.
    pub requested_schema: RequestedSchema,
    /// Run the request as a task (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskMetadata>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ElicitRequestFormParams {
    /// A form (without an explicit `mode`).
    pub fn new(message: impl Into<String>, requested_schema: RequestedSchema) -> Self {
        ElicitRequestFormParams {
            mode: None,
            message: message.into(),
            requested_schema,
            task: None,
            meta: None,
        }
    }

    /// Writes `"mode": "form"` explicitly.
    pub fn with_explicit_mode(mut self) -> Self {
        self.mode = Some(ElicitationMode::Form);
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Params of a URL-mode `elicitation/create`: `{"mode": "url", ...}` (2025-11-25 onward).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename = "url", rename_all = "camelCase")]
#[non_exhaustive]
pub struct ElicitRequestURLParams {
    /// Why the user should open the URL.
    pub message: String,
    /// The URL to open.
    pub url: String,
    /// The elicitation's id (2025-11-25; 2026-07-28 dropped it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation_id: Option<String>,
    /// Run the request as a task (2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskMetadata>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ElicitRequestURLParams {
    /// Asks the user to open `url`.
    pub fn new(message: impl Into<String>, url: impl Into<String>) -> Self {
        ElicitRequestURLParams {
            message: message.into(),
            url: url.into(),
            elicitation_id: None,
            task: None,
            meta: None,
        }
    }

    /// Sets `elicitationId`.
    pub fn with_elicitation_id(mut self, elicitation_id: impl Into<String>) -> Self {
        self.elicitation_id = Some(elicitation_id.into());
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Params of `elicitation/create`, picked by `mode`: `"url"` is URL mode, `"form"` or
/// no mode is form mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ElicitRequestParams {
    /// Form mode.
    Form(ElicitRequestFormParams),
    /// URL mode.
    Url(ElicitRequestURLParams),
}

impl ElicitRequestParams {
    /// The mode.
    pub fn mode(&self) -> ElicitationMode {
        match self {
            ElicitRequestParams::Form(_) => ElicitationMode::Form,
            ElicitRequestParams::Url(_) => ElicitationMode::Url,
        }
    }

    /// The message shown to the user.
    pub fn message(&self) -> &str {
        match self {
            ElicitRequestParams::Form(p) => &p.message,
            ElicitRequestParams::Url(p) => &p.message,
        }
    }
}

impl<'de> Deserialize<'de> for ElicitRequestParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        match v.get("mode") {
            None | Some(Value::Null) => from_value(v).map(ElicitRequestParams::Form),
            Some(Value::String(m)) if m == "form" => from_value(v).map(ElicitRequestParams::Form),
            Some(Value::String(m)) if m == "url" => from_value(v).map(ElicitRequestParams::Url),
            Some(other) => Err(D::Error::custom(format_args!(
                "unknown elicitation mode {}",
                crate::error::echo(&other.to_string())
            ))),
        }
    }
}

impl From<ElicitRequestFormParams> for ElicitRequestParams {
    fn from(p: ElicitRequestFormParams) -> Self {
        ElicitRequestParams::Form(p)
    }
}

impl From<ElicitRequestURLParams> for ElicitRequestParams {
    fn from(p: ElicitRequestURLParams) -> Self {
        ElicitRequestParams::Url(p)
    }
}

/// What the user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitAction {
    /// Submitted the form or agreed.
    Accept,
    /// Explicitly declined.
    Decline,
    /// Dismissed without choosing.
    Cancel,
}

/// The client's answer to `elicitation/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ElicitResult {
    /// What the user did.
    pub action: ElicitAction,
    /// The submitted form data (accepted form mode only): strings, numbers, booleans
    /// and (2025-11-25 onward) arrays of strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<JsonObject>,
    /// The result type (not in any schema revision for this result; kept for uniformity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ElicitResult {
    /// A result with this action and no content.
    pub fn new(action: ElicitAction) -> Self {
        ElicitResult {
            action,
            content: None,
            result_type: None,
            meta: None,
        }
    }

    /// An accepted form with its data.
    pub fn accept(content: JsonObject) -> Self {
        ElicitResult {
            content: Some(content),
            ..Self::new(ElicitAction::Accept)
        }
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Params of `notifications/elicitation/complete` (2025-11-25).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ElicitationCompleteNotificationParams {
    /// The id of the URL-mode elicitation that completed.
    pub elicitation_id: String,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ElicitationCompleteNotificationParams {
    /// Elicitation `elicitation_id` completed.
    pub fn new(elicitation_id: impl Into<String>) -> Self {
        ElicitationCompleteNotificationParams {
            elicitation_id: elicitation_id.into(),
            meta: None,
        }
    }
}

input_request_message! {
    /// `elicitation/create`: the server asks the user for input.
    ElicitRequest = method::ELICITATION_CREATE, required ElicitRequestParams
}

notification_message! {
    /// `notifications/elicitation/complete`: a URL-mode elicitation finished (2025-11-25).
    ElicitationCompleteNotification = method::NOTIFICATION_ELICITATION_COMPLETE, required ElicitationCompleteNotificationParams
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_vs_url_mode() {
        let form = json!({"message": "m", "requestedSchema": {"type": "object", "properties": {}}});
        let p: ElicitRequestParams = serde_json::from_value(form.clone()).unwrap();
        assert!(matches!(&p, ElicitRequestParams::Form(f) if f.mode.is_none()));
        assert_eq!(p.mode(), ElicitationMode::Form);
        assert_eq!(serde_json::to_value(&p).unwrap(), form);

        let explicit = json!({"mode": "form", "message": "m",
            "requestedSchema": {"type": "object", "properties": {}}});
        let p: ElicitRequestParams = serde_json::from_value(explicit.clone()).unwrap();
        assert!(
            matches!(&p, ElicitRequestParams::Form(f) if f.mode == Some(ElicitationMode::Form))
        );
        assert_eq!(serde_json::to_value(&p).unwrap(), explicit);

        let url =
            json!({"mode": "url", "message": "m", "url": "https://x.test/", "elicitationId": "e1"});
        let p: ElicitRequestParams = serde_json::from_value(url.clone()).unwrap();
        assert!(
            matches!(&p, ElicitRequestParams::Url(u) if u.elicitation_id.as_deref() == Some("e1"))
        );
        assert_eq!(p.mode(), ElicitationMode::Url);
        assert_eq!(serde_json::to_value(&p).unwrap(), url);
        // A constructed URL request writes its mode.
        assert_eq!(
            serde_json::to_value(ElicitRequestURLParams::new("m", "https://x.test/")).unwrap(),
            json!({"mode": "url", "message": "m", "url": "https://x.test/"})
        );
        // URL mode without a url is an error, not a form.
        assert!(serde_json::from_value::<ElicitRequestParams>(
            json!({"mode": "url", "message": "m"})
        )
        .is_err());
        assert!(serde_json::from_value::<ElicitRequestParams>(
            json!({"mode": "voice", "message": "m"})
        )
        .is_err());
    }

    #[test]
    fn elicit_result_actions() {
        for (action, s) in [
            (ElicitAction::Accept, "accept"),
            (ElicitAction::Decline, "decline"),
            (ElicitAction::Cancel, "cancel"),
        ] {
            let r = ElicitResult::new(action);
            assert_eq!(serde_json::to_value(&r).unwrap(), json!({"action": s}));
        }
        let mut data = JsonObject::new();
        data.insert("name".into(), json!("octocat"));
        let r: ElicitResult =
            serde_json::from_value(json!({"action": "accept", "content": {"name": "octocat"}}))
                .unwrap();
        assert_eq!(r, ElicitResult::accept(data));
        assert!(serde_json::from_value::<ElicitResult>(json!({"action": "maybe"})).is_err());
    }
}

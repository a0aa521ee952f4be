//! Content blocks: what tools return, prompts hold and sampling exchanges.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::lifecycle::Icon;
use crate::meta::Meta;
use crate::serde_util::{from_value, str_member};
use crate::JsonObject;

/// The sender or recipient of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user.
    User,
    /// The assistant (the model).
    Assistant,
}

/// Hints to the client about how to use or display an object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Annotations {
    /// Who the object is meant for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<Role>>,
    /// Importance from 0 (least) to 1 (most).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serde_util::opt_f64_js"
    )]
    pub priority: Option<f64>,
    /// ISO 8601 time of the last modification (2025-06-18 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Annotations {
    /// No annotations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `audience`.
    pub fn with_audience(mut self, audience: Vec<Role>) -> Self {
        self.audience = Some(audience);
        self
    }

    /// Sets `priority` (0 to 1).
    pub fn with_priority(mut self, priority: f64) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Sets `lastModified` (an ISO 8601 time).
    pub fn with_last_modified(mut self, last_modified: impl Into<String>) -> Self {
        self.last_modified = Some(last_modified.into());
        self
    }
}

/// Adds `with_annotations` and `with_meta` to a content struct.
macro_rules! annotated_setters {
    ($t:ty) => {
        impl $t {
            /// Sets `annotations`.
            pub fn with_annotations(mut self, annotations: Annotations) -> Self {
                self.annotations = Some(annotations);
                self
            }

            /// Sets `_meta`.
            pub fn with_meta(mut self, meta: Meta) -> Self {
                self.meta = Some(meta);
                self
            }
        }
    };
}

/// Text content: `{"type": "text", "text": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "text", rename_all = "camelCase")]
#[non_exhaustive]
pub struct TextContent {
    /// The text.
    pub text: String,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl TextContent {
    /// Text content.
    pub fn new(text: impl Into<String>) -> Self {
        TextContent {
            text: text.into(),
            annotations: None,
            meta: None,
        }
    }
}
annotated_setters!(TextContent);

/// An image: `{"type": "image", "data": <base64>, "mimeType": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "image", rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageContent {
    /// The base64-encoded image.
    pub data: String,
    /// The image's MIME type.
    pub mime_type: String,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ImageContent {
    /// An image from base64 data and a MIME type.
    pub fn new(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        ImageContent {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
            meta: None,
        }
    }
}
annotated_setters!(ImageContent);

/// Audio: `{"type": "audio", "data": <base64>, "mimeType": ...}` (2025-03-26 onward).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "audio", rename_all = "camelCase")]
#[non_exhaustive]
pub struct AudioContent {
    /// The base64-encoded audio.
    pub data: String,
    /// The audio's MIME type.
    pub mime_type: String,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl AudioContent {
    /// Audio from base64 data and a MIME type.
    pub fn new(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        AudioContent {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
            meta: None,
        }
    }
}
annotated_setters!(AudioContent);

/// A link to a resource the client may read (2025-06-18 onward):
/// `{"type": "resource_link", "uri": ..., "name": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "resource_link", rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResourceLink {
    /// The resource's URI.
    pub uri: String,
    /// The resource's programmatic name.
    pub name: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the resource is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The resource's MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The raw size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Icons to display (2025-11-25 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ResourceLink {
    /// A link to `uri` named `name`.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceLink {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            icons: None,
            annotations: None,
            meta: None,
        }
    }

    /// Sets `title`.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets `description`.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets `mimeType`.
    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Sets `size`.
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Sets `icons`.
    pub fn with_icons(mut self, icons: Vec<Icon>) -> Self {
        self.icons = Some(icons);
        self
    }
}
annotated_setters!(ResourceLink);

/// A resource's contents embedded in a message: `{"type": "resource", "resource": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "resource", rename_all = "camelCase")]
#[non_exhaustive]
pub struct EmbeddedResource {
    /// The contents.
    pub resource: ResourceContents,
    /// Display hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl EmbeddedResource {
    /// Embeds these contents.
    pub fn new(resource: impl Into<ResourceContents>) -> Self {
        EmbeddedResource {
            resource: resource.into(),
            annotations: None,
            meta: None,
        }
    }
}
annotated_setters!(EmbeddedResource);

/// Content of tool results and prompt messages, picked by its `type` member.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ContentBlock {
    /// `"text"`.
    Text(TextContent),
    /// `"image"`.
    Image(ImageContent),
    /// `"audio"` (2025-03-26 onward).
    Audio(AudioContent),
    /// `"resource_link"` (2025-06-18 onward).
    ResourceLink(ResourceLink),
    /// `"resource"`.
    Resource(EmbeddedResource),
}

impl ContentBlock {
    /// Text content.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text(TextContent::new(text))
    }

    /// An image from base64 data and a MIME type.
    pub fn image(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        ContentBlock::Image(ImageContent::new(data, mime_type))
    }

    /// Audio from base64 data and a MIME type.
    pub fn audio(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        ContentBlock::Audio(AudioContent::new(data, mime_type))
    }

    /// A link to the resource `uri` named `name`.
    pub fn resource_link(uri: impl Into<String>, name: impl Into<String>) -> Self {
        ContentBlock::ResourceLink(ResourceLink::new(uri, name))
    }

    /// Embedded resource contents.
    pub fn embedded(resource: impl Into<ResourceContents>) -> Self {
        ContentBlock::Resource(EmbeddedResource::new(resource))
    }

    /// The wire `type` of this block.
    pub fn kind(&self) -> &'static str {
        match self {
            ContentBlock::Text(_) => "text",
            ContentBlock::Image(_) => "image",
            ContentBlock::Audio(_) => "audio",
            ContentBlock::ResourceLink(_) => "resource_link",
            ContentBlock::Resource(_) => "resource",
        }
    }

    /// The text, if this is a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ContentBlock::Text(t) => Some(&t.text),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        match str_member(&v, "type") {
            Some("text") => from_value(v).map(ContentBlock::Text),
            Some("image") => from_value(v).map(ContentBlock::Image),
            Some("audio") => from_value(v).map(ContentBlock::Audio),
            Some("resource_link") => from_value(v).map(ContentBlock::ResourceLink),
            Some("resource") => from_value(v).map(ContentBlock::Resource),
            Some(other) => Err(D::Error::custom(format_args!(
                "unknown content type `{}`",
                crate::error::echo(other)
            ))),
            None => Err(D::Error::missing_field("type")),
        }
    }
}

impl From<TextContent> for ContentBlock {
    fn from(c: TextContent) -> Self {
        ContentBlock::Text(c)
    }
}

impl From<ImageContent> for ContentBlock {
    fn from(c: ImageContent) -> Self {
        ContentBlock::Image(c)
    }
}

impl From<AudioContent> for ContentBlock {
    fn from(c: AudioContent) -> Self {
        ContentBlock::Audio(c)
    }
}

impl From<ResourceLink> for ContentBlock {
    fn from(c: ResourceLink) -> Self {
        ContentBlock::ResourceLink(c)
    }
}

impl From<EmbeddedResource> for ContentBlock {
    fn from(c: EmbeddedResource) -> Self {
        ContentBlock::Resource(c)
    }
}

/// A text resource's contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TextResourceContents {
    /// The resource's URI.
    pub uri: String,
    /// The resource's MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The text.
    pub text: String,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl TextResourceContents {
    /// The text contents of `uri`.
    pub fn new(uri: impl Into<String>, text: impl Into<String>) -> Self {
        TextResourceContents {
            uri: uri.into(),
            mime_type: None,
            text: text.into(),
            meta: None,
        }
    }

    /// Sets `mimeType`.
    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// A binary resource's contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BlobResourceContents {
    /// The resource's URI.
    pub uri: String,
    /// The resource's MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The base64-encoded bytes.
    pub blob: String,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl BlobResourceContents {
    /// The binary contents of `uri`, base64-encoded.
    pub fn new(uri: impl Into<String>, blob: impl Into<String>) -> Self {
        BlobResourceContents {
            uri: uri.into(),
            mime_type: None,
            blob: blob.into(),
            meta: None,
        }
    }

    /// Sets `mimeType`.
    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// A resource's contents: text (has `text`) or binary (has `blob`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ResourceContents {
    /// Text contents.
    Text(TextResourceContents),
    /// Binary contents.
    Blob(BlobResourceContents),
}

impl ResourceContents {
    /// Text contents of `uri`.
    pub fn text(uri: impl Into<String>, text: impl Into<String>) -> Self {
        ResourceContents::Text(TextResourceContents::new(uri, text))
    }

    /// Binary contents of `uri`, base64-encoded.
    pub fn blob(uri: impl Into<String>, blob: impl Into<String>) -> Self {
        ResourceContents::Blob(BlobResourceContents::new(uri, blob))
    }

    /// The resource's URI.
    pub fn uri(&self) -> &str {
        match self {
            ResourceContents::Text(t) => &t.uri,
            ResourceContents::Blob(b) => &b.uri,
        }
    }

    /// The resource's MIME type.
    pub fn mime_type(&self) -> Option<&str> {
        match self {
            ResourceContents::Text(t) => t.mime_type.as_deref(),
            ResourceContents::Blob(b) => b.mime_type.as_deref(),
        }
    }
}

impl From<TextResourceContents> for ResourceContents {
    fn from(c: TextResourceContents) -> Self {
        ResourceContents::Text(c)
    }
}

impl From<BlobResourceContents> for ResourceContents {
    fn from(c: BlobResourceContents) -> Self {
        ResourceContents::Blob(c)
    }
}

/// A model's request to call a tool, in sampling (2025-11-25 onward):
/// `{"type": "tool_use", "id": ..., "name": ..., "input": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "tool_use", rename_all = "camelCase")]
#[non_exhaustive]
pub struct ToolUseContent {
    /// The id of this tool use, echoed by the matching [`ToolResultContent`].
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The tool's arguments.
    pub input: JsonObject,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ToolUseContent {
    /// A tool use.
    pub fn new(id: impl Into<String>, name: impl Into<String>, input: JsonObject) -> Self {
        ToolUseContent {
            id: id.into(),
            name: name.into(),
            input,
            meta: None,
        }
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// The result of a tool use, in sampling (2025-11-25 onward):
/// `{"type": "tool_result", "toolUseId": ..., "content": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "tool_result", rename_all = "camelCase")]
#[non_exhaustive]
pub struct ToolResultContent {
    /// The id of the [`ToolUseContent`] answered.
    pub tool_use_id: String,
    /// The result's content.
    pub content: Vec<ContentBlock>,
    /// Structured result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// Whether the tool use failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Reserved metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ToolResultContent {
    /// The result of tool use `tool_use_id`.
    pub fn new(tool_use_id: impl Into<String>, content: Vec<ContentBlock>) -> Self {
        ToolResultContent {
            tool_use_id: tool_use_id.into(),
            content,
            structured_content: None,
            is_error: None,
            meta: None,
        }
    }

    /// Sets `structuredContent`.
    pub fn with_structured_content(mut self, value: Value) -> Self {
        self.structured_content = Some(value);
        self
    }

    /// Sets `isError`.
    pub fn with_is_error(mut self, is_error: bool) -> Self {
        self.is_error = Some(is_error);
        self
    }

    /// Sets `_meta`.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// Content of a sampling message, picked by its `type` member.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum SamplingMessageContentBlock {
    /// `"text"`.
    Text(TextContent),
    /// `"image"`.
    Image(ImageContent),
    /// `"audio"` (2025-03-26 onward).
    Audio(AudioContent),
    /// `"tool_use"` (2025-11-25 onward).
    ToolUse(ToolUseContent),
    /// `"tool_result"` (2025-11-25 onward).
    ToolResult(ToolResultContent),
}

impl SamplingMessageContentBlock {
    /// Text content.
    pub fn text(text: impl Into<String>) -> Self {
        SamplingMessageContentBlock::Text(TextContent::new(text))
    }

    /// The text, if this is a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            SamplingMessageContentBlock::Text(t) => Some(&t.text),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for SamplingMessageContentBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        match str_member(&v, "type") {
            Some("text") => from_value(v).map(SamplingMessageContentBlock::Text),
            Some("image") => from_value(v).map(SamplingMessageContentBlock::Image),
            Some("audio") => from_value(v).map(SamplingMessageContentBlock::Audio),
            Some("tool_use") => from_value(v).map(SamplingMessageContentBlock::ToolUse),
            Some("tool_result") => from_value(v).map(SamplingMessageContentBlock::ToolResult),
            Some(other) => Err(D::Error::custom(format_args!(
                "unknown sampling content type `{}`",
                crate::error::echo(other)
            ))),
            None => Err(D::Error::missing_field("type")),
        }
    }
}

impl From<TextContent> for SamplingMessageContentBlock {
    fn from(c: TextContent) -> Self {
        SamplingMessageContentBlock::Text(c)
    }
}

impl From<ImageContent> for SamplingMessageContentBlock {
    fn from(c: ImageContent) -> Self {
        SamplingMessageContentBlock::Image(c)
    }
}

impl From<AudioContent> for SamplingMessageContentBlock {
    fn from(c: AudioContent) -> Self {
        SamplingMessageContentBlock::Audio(c)
    }
}

impl From<ToolUseContent> for SamplingMessageContentBlock {
    fn from(c: ToolUseContent) -> Self {
        SamplingMessageContentBlock::ToolUse(c)
    }
}

impl From<ToolResultContent> for SamplingMessageContentBlock {
    fn from(c: ToolResultContent) -> Self {
        SamplingMessageContentBlock::ToolResult(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_block_dispatches_on_type() {
        let cases = [
            (json!({"type": "text", "text": "hi"}), "text"),
            (
                json!({"type": "image", "data": "AA==", "mimeType": "image/png"}),
                "image",
            ),
            (
                json!({"type": "audio", "data": "AA==", "mimeType": "audio/wav"}),
                "audio",
            ),
            (
                json!({"type": "resource_link", "uri": "file:///a", "name": "a"}),
                "resource_link",
            ),
            (
                json!({"type": "resource", "resource": {"uri": "file:///a", "text": "x"}}),
                "resource",
            ),
        ];
        for (json, kind) in cases {
            let block: ContentBlock = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(block.kind(), kind);
            assert_eq!(serde_json::to_value(&block).unwrap(), json);
        }
        // An image block is never taken for text, even with a `text` member.
        let b: ContentBlock = serde_json::from_value(
            json!({"type": "image", "data": "AA==", "mimeType": "image/png", "text": "x"}),
        )
        .unwrap();
        assert!(matches!(b, ContentBlock::Image(_)));
        let err = serde_json::from_value::<ContentBlock>(json!({"type": "video", "data": ""}))
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown content type `video`"),
            "{err}"
        );
        assert!(serde_json::from_value::<ContentBlock>(json!({"text": "no type"})).is_err());
        // A tagged block with a missing member reports it.
        let err = serde_json::from_value::<ContentBlock>(json!({"type": "image", "data": "AA=="}))
            .unwrap_err();
        assert!(err.to_string().contains("mimeType"), "{err}");
    }

    #[test]
    fn constructors_write_the_tag() {
        assert_eq!(
            serde_json::to_value(ContentBlock::text("hello")).unwrap(),
            json!({"type": "text", "text": "hello"})
        );
        assert_eq!(
            serde_json::to_value(ContentBlock::image("AA==", "image/png")).unwrap(),
            json!({"type": "image", "data": "AA==", "mimeType": "image/png"})
        );
        assert_eq!(
            serde_json::to_value(ContentBlock::embedded(ResourceContents::blob(
                "file:///b",
                "AA=="
            )))
            .unwrap(),
            json!({"type": "resource", "resource": {"uri": "file:///b", "blob": "AA=="}})
        );
        let annotated = TextContent::new("x").with_annotations(
            Annotations::new()
                .with_priority(1.0)
                .with_audience(vec![Role::User]),
        );
        assert_eq!(
            serde_json::to_value(annotated).unwrap(),
            json!({"type": "text", "text": "x", "annotations": {"priority": 1, "audience": ["user"]}})
        );
    }

    #[test]
    fn resource_contents_untagged_choice() {
        let t: ResourceContents = serde_json::from_value(
            json!({"uri": "file:///a", "text": "x", "mimeType": "text/plain"}),
        )
        .unwrap();
        assert!(matches!(&t, ResourceContents::Text(c) if c.text == "x"));
        assert_eq!(t.mime_type(), Some("text/plain"));
        let b: ResourceContents =
            serde_json::from_value(json!({"uri": "file:///b", "blob": "AA=="})).unwrap();
        assert!(matches!(&b, ResourceContents::Blob(c) if c.blob == "AA=="));
        assert_eq!(b.uri(), "file:///b");
        assert!(serde_json::from_value::<ResourceContents>(json!({"uri": "file:///c"})).is_err());
    }

    #[test]
    fn sampling_blocks_dispatch_on_type() {
        let v = json!({"type": "tool_use", "id": "1", "name": "f", "input": {"a": 1}});
        let b: SamplingMessageContentBlock = serde_json::from_value(v.clone()).unwrap();
        assert!(matches!(&b, SamplingMessageContentBlock::ToolUse(u) if u.name == "f"));
        assert_eq!(serde_json::to_value(&b).unwrap(), v);
        let v = json!({"type": "tool_result", "toolUseId": "1", "content": [], "isError": true});
        let b: SamplingMessageContentBlock = serde_json::from_value(v.clone()).unwrap();
        assert!(
            matches!(&b, SamplingMessageContentBlock::ToolResult(r) if r.is_error == Some(true))
        );
        assert_eq!(serde_json::to_value(&b).unwrap(), v);
        assert!(serde_json::from_value::<SamplingMessageContentBlock>(
            json!({"type": "resource_link", "uri": "x", "name": "y"})
        )
        .is_err());
    }
}

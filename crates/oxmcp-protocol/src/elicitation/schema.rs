//! The form fields of elicitation: flat, primitive JSON Schemas.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::serde_util::{from_value, str_member};

/// The format of a string field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StringFormat {
    /// `"email"`.
    Email,
    /// `"uri"`.
    Uri,
    /// `"date"`.
    Date,
    /// `"date-time"`.
    DateTime,
}

/// A string field: `{"type": "string", ...}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename = "string", rename_all = "camelCase")]
#[non_exhaustive]
pub struct StringSchema {
    /// The field's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The shortest allowed length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// The longest allowed length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// The expected format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<StringFormat>,
    /// The default value (2025-11-25 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl StringSchema {
    /// `{"type": "string"}`.
    pub fn new() -> Self {
        Self::default()
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

    /// Sets `format`.
    pub fn with_format(mut self, format: StringFormat) -> Self {
        self.format = Some(format);
        self
    }
}

/// Whether a number field takes integers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberType {
    /// `"number"`: any number.
    #[default]
    Number,
    /// `"integer"`: integers only.
    Integer,
}

/// A number field: `{"type": "number" | "integer", ...}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NumberSchema {
    /// `"number"` or `"integer"`.
    #[serde(rename = "type")]
    pub kind: NumberType,
    /// The field's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The smallest allowed value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serde_util::opt_f64_js"
    )]
    pub minimum: Option<f64>,
    /// The largest allowed value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serde_util::opt_f64_js"
    )]
    pub maximum: Option<f64>,
    /// The default value (2025-11-25 onward).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::serde_util::opt_f64_js"
    )]
    pub default: Option<f64>,
}

impl NumberSchema {
    /// A number field of this kind.
    pub fn new(kind: NumberType) -> Self {
        NumberSchema {
            kind,
            ..Self::default()
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

    /// Sets `minimum` and `maximum`.
    pub fn with_range(mut self, minimum: Option<f64>, maximum: Option<f64>) -> Self {
        self.minimum = minimum;
        self.maximum = maximum;
        self
    }
}

/// A boolean field: `{"type": "boolean", ...}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename = "boolean", rename_all = "camelCase")]
#[non_exhaustive]
pub struct BooleanSchema {
    /// The field's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

impl BooleanSchema {
    /// `{"type": "boolean"}`.
    pub fn new() -> Self {
        Self::default()
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

    /// Sets `default`.
    pub fn with_default(mut self, default: bool) -> Self {
        self.default = Some(default);
        self
    }
}

/// One choice of a titled enum: `{"const": value, "title": label}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TitledEnumOption {
    /// The value submitted.
    #[serde(rename = "const")]
    pub value: String,
    /// The label shown.
    pub title: String,
}

impl TitledEnumOption {
    /// A choice.
    pub fn new(value: impl Into<String>, title: impl Into<String>) -> Self {
        TitledEnumOption {
            value: value.into(),
            title: title.into(),
        }
    }
}

/// Single choice among plain values: `{"type": "string", "enum": [...]}`
/// (2025-11-25 onward; the same shape as a 2025-06-18 `EnumSchema` without names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "string", rename_all = "camelCase")]
#[non_exhaustive]
pub struct UntitledSingleSelectEnumSchema {
    /// The field's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The allowed values.
    #[serde(rename = "enum")]
    pub enum_values: Vec<String>,
    /// The default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl UntitledSingleSelectEnumSchema {
    /// A choice among these values.
    pub fn new(enum_values: Vec<String>) -> Self {
        UntitledSingleSelectEnumSchema {
            title: None,
            description: None,
            enum_values,
            default: None,
        }
    }
}

/// Single choice among labelled values: `{"type": "string", "oneOf": [...]}` (2025-11-25 onward).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "string", rename_all = "camelCase")]
#[non_exhaustive]
pub struct TitledSingleSelectEnumSchema {
    /// The field's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The choices.
    pub one_of: Vec<TitledEnumOption>,
    /// The default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl TitledSingleSelectEnumSchema {
    /// A choice among these options.
    pub fn new(one_of: Vec<TitledEnumOption>) -> Self {
        TitledSingleSelectEnumSchema {
            title: None,
            description: None,
            one_of,
            default: None,
        }
    }
}

/// The `items` of an [`UntitledMultiSelectEnumSchema`]: `{"type": "string", "enum": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "string")]
#[non_exhaustive]
pub struct UntitledEnumItems {
    /// The allowed values.
    #[serde(rename = "enum")]
    pub enum_values: Vec<String>,
}

impl UntitledEnumItems {
    /// These values.
    pub fn new(enum_values: Vec<String>) -> Self {
        UntitledEnumItems { enum_values }
    }
}

/// Multiple choice among plain values: `{"type": "array", "items": {"enum": [...]}}`
/// (2025-11-25 onward).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "array", rename_all = "camelCase")]
#[non_exhaustive]
pub struct UntitledMultiSelectEnumSchema {
    /// The field's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The fewest choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// The most choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// The allowed values.
    pub items: UntitledEnumItems,
    /// The default choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<String>>,
}

impl UntitledMultiSelectEnumSchema {
    /// A multiple choice among these values.
    pub fn new(enum_values: Vec<String>) -> Self {
        UntitledMultiSelectEnumSchema {
            title: None,
            description: None,
            min_items: None,
            max_items: None,
            items: UntitledEnumItems::new(enum_values),
            default: None,
        }
    }
}

/// The `items` of a [`TitledMultiSelectEnumSchema`]: `{"anyOf": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TitledEnumItems {
    /// The choices.
    pub any_of: Vec<TitledEnumOption>,
}

impl TitledEnumItems {
    /// These choices.
    pub fn new(any_of: Vec<TitledEnumOption>) -> Self {
        TitledEnumItems { any_of }
    }
}

/// Multiple choice among labelled values: `{"type": "array", "items": {"anyOf": [...]}}`
/// (2025-11-25 onward).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "array", rename_all = "camelCase")]
#[non_exhaustive]
pub struct TitledMultiSelectEnumSchema {
    /// The field's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The fewest choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// The most choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// The choices.
    pub items: TitledEnumItems,
    /// The default choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<String>>,
}

impl TitledMultiSelectEnumSchema {
    /// A multiple choice among these options.
    pub fn new(any_of: Vec<TitledEnumOption>) -> Self {
        TitledMultiSelectEnumSchema {
            title: None,
            description: None,
            min_items: None,
            max_items: None,
            items: TitledEnumItems::new(any_of),
            default: None,
        }
    }
}

/// Single choice with parallel `enumNames` labels: the 2025-06-18 `EnumSchema`, kept as
/// `LegacyTitledEnumSchema` (deprecated) since 2025-11-25.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "string", rename_all = "camelCase")]
#[non_exhaustive]
pub struct LegacyTitledEnumSchema {
    /// The field's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The allowed values.
    #[serde(rename = "enum")]
    pub enum_values: Vec<String>,
    /// Labels of the values, in the same order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_names: Option<Vec<String>>,
    /// The default value (2025-11-25 onward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl LegacyTitledEnumSchema {
    /// A choice among values with labels.
    pub fn new(enum_values: Vec<String>, enum_names: Vec<String>) -> Self {
        LegacyTitledEnumSchema {
            title: None,
            description: None,
            enum_values,
            enum_names: Some(enum_names),
            default: None,
        }
    }
}

/// Any enum field. Told apart by shape: `"type": "array"` is multiple choice (titled if
/// `items.anyOf`), otherwise `oneOf` is titled single choice, `enumNames` is legacy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum EnumSchema {
    /// Single choice among plain values.
    UntitledSingleSelect(UntitledSingleSelectEnumSchema),
    /// Single choice among labelled values.
    TitledSingleSelect(TitledSingleSelectEnumSchema),
    /// Multiple choice among plain values.
    UntitledMultiSelect(UntitledMultiSelectEnumSchema),
    /// Multiple choice among labelled values.
    TitledMultiSelect(TitledMultiSelectEnumSchema),
    /// Single choice with `enumNames` labels.
    LegacyTitled(LegacyTitledEnumSchema),
}

impl EnumSchema {
    fn from_json<E: serde::de::Error>(v: Value) -> Result<Self, E> {
        match str_member(&v, "type") {
            Some("array") => {
                if v.get("items").and_then(|i| i.get("anyOf")).is_some() {
                    from_value(v).map(EnumSchema::TitledMultiSelect)
                } else {
                    from_value(v).map(EnumSchema::UntitledMultiSelect)
                }
            }
            Some("string") => {
                if v.get("oneOf").is_some() {
                    from_value(v).map(EnumSchema::TitledSingleSelect)
                } else if v.get("enumNames").is_some() {
                    from_value(v).map(EnumSchema::LegacyTitled)
                } else {
                    from_value(v).map(EnumSchema::UntitledSingleSelect)
                }
            }
            Some(other) => Err(E::custom(format_args!(
                "unknown enum schema type `{}`",
                crate::error::echo(other)
            ))),
            None => Err(E::missing_field("type")),
        }
    }
}

impl<'de> Deserialize<'de> for EnumSchema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EnumSchema::from_json(Value::deserialize(d)?)
    }
}

/// A field of an elicitation form: a flat, primitive JSON Schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum PrimitiveSchemaDefinition {
    /// A string field.
    String(StringSchema),
    /// A number or integer field.
    Number(NumberSchema),
    /// A boolean field.
    Boolean(BooleanSchema),
    /// An enum field (single or multiple choice).
    Enum(EnumSchema),
}

impl<'de> Deserialize<'de> for PrimitiveSchemaDefinition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Value::deserialize(d)?;
        match str_member(&v, "type") {
            Some("boolean") => from_value(v).map(PrimitiveSchemaDefinition::Boolean),
            Some("number" | "integer") => from_value(v).map(PrimitiveSchemaDefinition::Number),
            Some("string") if v.get("enum").is_none() && v.get("oneOf").is_none() => {
                from_value(v).map(PrimitiveSchemaDefinition::String)
            }
            Some("string" | "array") => {
                EnumSchema::from_json(v).map(PrimitiveSchemaDefinition::Enum)
            }
            Some(other) => Err(D::Error::custom(format_args!(
                "unsupported field type `{}`",
                crate::error::echo(other)
            ))),
            None => Err(D::Error::missing_field("type")),
        }
    }
}

impl From<StringSchema> for PrimitiveSchemaDefinition {
    fn from(s: StringSchema) -> Self {
        PrimitiveSchemaDefinition::String(s)
    }
}

impl From<NumberSchema> for PrimitiveSchemaDefinition {
    fn from(s: NumberSchema) -> Self {
        PrimitiveSchemaDefinition::Number(s)
    }
}

impl From<BooleanSchema> for PrimitiveSchemaDefinition {
    fn from(s: BooleanSchema) -> Self {
        PrimitiveSchemaDefinition::Boolean(s)
    }
}

impl From<EnumSchema> for PrimitiveSchemaDefinition {
    fn from(s: EnumSchema) -> Self {
        PrimitiveSchemaDefinition::Enum(s)
    }
}

/// The `requestedSchema` of a form: `{"type": "object", "properties": {...}}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename = "object")]
#[non_exhaustive]
pub struct RequestedSchema {
    /// The JSON Schema dialect (2025-11-25 onward).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The fields.
    pub properties: BTreeMap<String, PrimitiveSchemaDefinition>,
    /// The names of the required fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
}

impl RequestedSchema {
    /// A form without fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field.
    pub fn with_property(
        mut self,
        name: impl Into<String>,
        schema: impl Into<PrimitiveSchemaDefinition>,
    ) -> Self {
        self.properties.insert(name.into(), schema.into());
        self
    }

    /// Sets `required`.
    pub fn with_required(mut self, required: Vec<String>) -> Self {
        self.required = Some(required);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn primitive_schemas_dispatch_on_shape() {
        let cases = [
            (json!({"type": "string", "format": "date-time"}), "string"),
            (json!({"type": "integer", "minimum": 1}), "number"),
            (json!({"type": "boolean", "default": true}), "boolean"),
            (
                json!({"type": "string", "enum": ["a", "b"]}),
                "untitled-single",
            ),
            (
                json!({"type": "string", "oneOf": [{"const": "a", "title": "A"}]}),
                "titled-single",
            ),
            (
                json!({"type": "array", "items": {"type": "string", "enum": ["a"]}}),
                "untitled-multi",
            ),
            (
                json!({"type": "array", "items": {"anyOf": [{"const": "a", "title": "A"}]}}),
                "titled-multi",
            ),
            (
                json!({"type": "string", "enum": ["a"], "enumNames": ["A"]}),
                "legacy",
            ),
        ];
        for (json, expected) in cases {
            let s: PrimitiveSchemaDefinition = serde_json::from_value(json.clone()).unwrap();
            let kind = match &s {
                PrimitiveSchemaDefinition::String(_) => "string",
                PrimitiveSchemaDefinition::Number(_) => "number",
                PrimitiveSchemaDefinition::Boolean(_) => "boolean",
                PrimitiveSchemaDefinition::Enum(EnumSchema::UntitledSingleSelect(_)) => {
                    "untitled-single"
                }
                PrimitiveSchemaDefinition::Enum(EnumSchema::TitledSingleSelect(_)) => {
                    "titled-single"
                }
                PrimitiveSchemaDefinition::Enum(EnumSchema::UntitledMultiSelect(_)) => {
                    "untitled-multi"
                }
                PrimitiveSchemaDefinition::Enum(EnumSchema::TitledMultiSelect(_)) => "titled-multi",
                PrimitiveSchemaDefinition::Enum(EnumSchema::LegacyTitled(_)) => "legacy",
            };
            assert_eq!(kind, expected, "{json}");
            assert_eq!(serde_json::to_value(&s).unwrap(), json);
        }
        assert!(
            serde_json::from_value::<PrimitiveSchemaDefinition>(json!({"type": "object"})).is_err()
        );
    }
}

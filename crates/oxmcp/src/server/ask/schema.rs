//! Elicitation forms from Rust types: a `JsonSchema` flattened to MCP's restricted form
//! schema (an object of primitive fields), and answers checked against it.
//!
//! A field may be a string (with `format` email, uri, date or date-time, and length
//! bounds), a number or integer (with bounds), a boolean, a single choice among strings (an
//! enum of unit variants: plain, or titled when variants carry a title or doc comment) or a
//! multiple choice among them (a `Vec`/set of such an enum). `Option<_>` fields are optional;
//! `default`s (from `#[serde(default)]`) are offered to the user. Revisions before
//! 2025-11-25 have no multiple choice and no defaults beyond booleans; titled choices are
//! sent to them with `enumNames`.

use oxmcp_protocol::elicitation::{
    BooleanSchema, EnumSchema, LegacyTitledEnumSchema, NumberSchema, NumberType,
    PrimitiveSchemaDefinition, RequestedSchema, StringFormat, StringSchema, TitledEnumOption,
    TitledMultiSelectEnumSchema, TitledSingleSelectEnumSchema, UntitledMultiSelectEnumSchema,
    UntitledSingleSelectEnumSchema,
};
use oxmcp_protocol::error::echo;
use oxmcp_protocol::{JsonObject, ProtocolVersion};
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{Map, Value};

/// The form schema of `T` as sent to a client speaking `version`.
pub(crate) fn form_schema<T: JsonSchema>(
    version: ProtocolVersion,
) -> Result<RequestedSchema, String> {
    let root = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    flatten(&root, version)
}

/// Flattens a root JSON Schema (draft 2020-12, definitions under `$defs`).
pub(crate) fn flatten(root: &Value, version: ProtocolVersion) -> Result<RequestedSchema, String> {
    let object = resolve(root, root, 0)?;
    if type_name(&object) != Some("object") {
        return Err(format!(
            "a form is an object of fields (a struct), not {}",
            describe(&object)
        ));
    }
    for unsupported in ["allOf", "anyOf", "oneOf", "patternProperties", "if"] {
        if object.contains_key(unsupported) {
            return Err(format!("`{unsupported}` at the top level is not supported"));
        }
    }
    let mut schema = RequestedSchema::new();
    if let Some(properties) = object.get("properties") {
        let Some(properties) = properties.as_object() else {
            return Err("`properties` is not an object".into());
        };
        for (name, property) in properties {
            let field =
                field(root, property, version).map_err(|e| format!("field `{name}`: {e}"))?;
            schema.properties.insert(name.clone(), field);
        }
    }
    if let Some(required) = object.get("required").and_then(Value::as_array) {
        let names: Vec<String> = required
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        if let Some(missing) = names.iter().find(|n| !schema.properties.contains_key(*n)) {
            return Err(format!("required field `{missing}` has no schema"));
        }
        if !names.is_empty() {
            schema.required = Some(names);
        }
    }
    Ok(schema)
}

/// Follows `$ref`s into `$defs` and unwraps `Option`s (`anyOf [X, null]`, `type [x, null]`),
/// keeping the outer schema's title, description and default over the inner ones.
fn resolve(root: &Value, schema: &Value, depth: usize) -> Result<Map<String, Value>, String> {
    if depth > 16 {
        return Err("its schema refers to itself (recursive types are not allowed)".into());
    }
    let Some(map) = schema.as_object() else {
        return match schema {
            Value::Bool(true) => Err("it accepts any value".into()),
            _ => Err("its schema is not an object".into()),
        };
    };
    let mut inner: Option<Map<String, Value>> = None;
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        let target = reference
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs")?.get(name))
            .ok_or_else(|| format!("unresolvable reference {reference:?}"))?;
        inner = Some(resolve(root, target, depth + 1)?);
    } else {
        for combinator in ["anyOf", "oneOf"] {
            let Some(branches) = map.get(combinator).and_then(Value::as_array) else {
                continue;
            };
            let non_null: Vec<&Value> = branches.iter().filter(|b| !is_null_schema(b)).collect();
            if non_null.len() == 1 && branches.len() == 2 {
                inner = Some(resolve(root, non_null[0], depth + 1)?);
            }
        }
    }
    let mut out = match inner {
        Some(mut inner) => {
            for (key, value) in map {
                if !matches!(key.as_str(), "$ref" | "anyOf" | "oneOf") {
                    inner.insert(key.clone(), value.clone());
                }
            }
            inner
        }
        None => map.clone(),
    };
    // `type: ["string", "null"]` is an optional string.
    if let Some(Value::Array(types)) = out.get("type") {
        let non_null: Vec<&Value> = types
            .iter()
            .filter(|t| t.as_str() != Some("null"))
            .collect();
        if non_null.len() == 1 {
            let single = non_null[0].clone();
            out.insert("type".into(), single);
        }
    }
    if let Some(Value::Array(values)) = out.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if out.get("default").is_some_and(Value::is_null) {
        out.remove("default");
    }
    Ok(out)
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
        || schema.get("const").is_some_and(Value::is_null)
}

fn type_name(schema: &Map<String, Value>) -> Option<&str> {
    schema.get("type").and_then(Value::as_str)
}

fn describe(schema: &Map<String, Value>) -> String {
    match schema.get("type") {
        Some(Value::String(t)) => format!("a value of type `{t}`"),
        Some(Value::Array(ts)) => format!("a value of several types {}", Value::Array(ts.clone())),
        _ if schema.contains_key("oneOf") || schema.contains_key("anyOf") => {
            "a choice among differently shaped values".into()
        }
        _ => "a value without a type".into(),
    }
}

fn text(schema: &Map<String, Value>, key: &str) -> Option<String> {
    schema.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn count(schema: &Map<String, Value>, key: &str) -> Option<u64> {
    schema.get(key).and_then(Value::as_u64)
}

fn number(schema: &Map<String, Value>, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

/// One field of the form.
fn field(
    root: &Value,
    property: &Value,
    version: ProtocolVersion,
) -> Result<PrimitiveSchemaDefinition, String> {
    let schema = resolve(root, property, 0)?;
    let title = text(&schema, "title");
    let description = text(&schema, "description");
    let defaults = version >= ProtocolVersion::V2025_11_25;
    if let Some(choice) = choices(root, &schema)? {
        let default = schema
            .get("default")
            .and_then(Value::as_str)
            .filter(|d| choice.contains(d) && defaults)
            .map(str::to_owned);
        return Ok(PrimitiveSchemaDefinition::Enum(single_choice(
            choice,
            title,
            description,
            default,
            version,
        )));
    }
    match type_name(&schema) {
        Some("string") => {
            let format = match schema.get("format").and_then(Value::as_str) {
                Some("email") => Some(StringFormat::Email),
                Some("uri") => Some(StringFormat::Uri),
                Some("date") => Some(StringFormat::Date),
                Some("date-time") => Some(StringFormat::DateTime),
                // Other formats (uuid, ...) are hints a form cannot show; the type's own
                // decoding still checks them.
                _ => None,
            };
            let mut s = StringSchema::new();
            s.title = title;
            s.description = description;
            s.min_length = count(&schema, "minLength");
            s.max_length = count(&schema, "maxLength");
            s.format = format;
            s.default = text(&schema, "default").filter(|_| defaults);
            Ok(s.into())
        }
        Some(kind @ ("number" | "integer")) => {
            let mut n = NumberSchema::new(if kind == "integer" {
                NumberType::Integer
            } else {
                NumberType::Number
            });
            n.title = title;
            n.description = description;
            n.minimum = number(&schema, "minimum");
            n.maximum = number(&schema, "maximum");
            n.default = number(&schema, "default").filter(|_| defaults);
            Ok(n.into())
        }
        Some("boolean") => {
            let mut b = BooleanSchema::new();
            b.title = title;
            b.description = description;
            b.default = schema.get("default").and_then(Value::as_bool);
            Ok(b.into())
        }
        Some("array") => {
            let items = schema
                .get("items")
                .ok_or("an array without `items` is not allowed")?;
            let items = resolve(root, items, 0)?;
            let Some(choice) = choices(root, &items)? else {
                return Err(
                    "a list is only allowed as a multiple choice among strings (a Vec of a unit-variant enum)"
                        .into(),
                );
            };
            if version < ProtocolVersion::V2025_11_25 {
                return Err(format!(
                    "a multiple choice needs protocol revision 2025-11-25 or later (the client speaks {version})"
                ));
            }
            let default = schema.get("default").and_then(Value::as_array).and_then(|d| {
                d.iter()
                    .map(|v| v.as_str().filter(|s| choice.contains(s)).map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
            });
            Ok(PrimitiveSchemaDefinition::Enum(multi_choice(
                choice,
                title,
                description,
                count(&schema, "minItems"),
                count(&schema, "maxItems"),
                default,
            )))
        }
        _ => Err(format!(
            "{} cannot be a form field (fields are strings, numbers, booleans and choices among strings)",
            describe(&schema)
        )),
    }
}

/// The options of a choice among strings.
enum Choice {
    Plain(Vec<String>),
    Titled(Vec<TitledEnumOption>),
}

impl Choice {
    fn contains(&self, value: &str) -> bool {
        match self {
            Choice::Plain(values) => values.iter().any(|v| v == value),
            Choice::Titled(options) => options.iter().any(|o| o.value == value),
        }
    }
}

/// Reads `enum: [strings]` or `oneOf`/`anyOf` of constants as a choice; `None` when the
/// schema is no choice at all.
fn choices(root: &Value, schema: &Map<String, Value>) -> Result<Option<Choice>, String> {
    if let Some(values) = schema.get("enum") {
        let values = values
            .as_array()
            .and_then(|vs| {
                vs.iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or("a choice may only be among strings")?;
        return Ok(Some(Choice::Plain(values)));
    }
    let Some(branches) = ["oneOf", "anyOf"]
        .iter()
        .find_map(|k| schema.get(*k).and_then(Value::as_array))
    else {
        return Ok(None);
    };
    let mut options = Vec::with_capacity(branches.len());
    let mut titled = false;
    let shapes = || {
        "a choice among differently shaped values cannot be a form field (only enums of unit variants)"
            .to_owned()
    };
    for branch in branches {
        let branch = resolve(root, branch, 0)?;
        // A constant, or (for variants without docs, which schemars groups) an enum.
        let values: Vec<String> = match (branch.get("const"), branch.get("enum")) {
            (Some(Value::String(c)), _) => vec![c.clone()],
            (None, Some(Value::Array(vs))) => vs
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(shapes)?,
            _ => return Err(shapes()),
        };
        let label = text(&branch, "title").or_else(|| text(&branch, "description"));
        let single = values.len() == 1;
        for value in values {
            let label = label.clone().filter(|_| single);
            titled |= label.is_some();
            let label = label.unwrap_or_else(|| value.clone());
            options.push(TitledEnumOption::new(value, label));
        }
    }
    Ok(Some(if titled {
        Choice::Titled(options)
    } else {
        Choice::Plain(options.into_iter().map(|o| o.value).collect())
    }))
}

fn single_choice(
    choice: Choice,
    title: Option<String>,
    description: Option<String>,
    default: Option<String>,
    version: ProtocolVersion,
) -> EnumSchema {
    match choice {
        Choice::Plain(values) => {
            let mut e = UntitledSingleSelectEnumSchema::new(values);
            e.title = title;
            e.description = description;
            e.default = default;
            EnumSchema::UntitledSingleSelect(e)
        }
        Choice::Titled(options) if version < ProtocolVersion::V2025_11_25 => {
            let (values, names) = options.into_iter().map(|o| (o.value, o.title)).unzip();
            let mut e = LegacyTitledEnumSchema::new(values, names);
            e.title = title;
            e.description = description;
            EnumSchema::LegacyTitled(e)
        }
        Choice::Titled(options) => {
            let mut e = TitledSingleSelectEnumSchema::new(options);
            e.title = title;
            e.description = description;
            e.default = default;
            EnumSchema::TitledSingleSelect(e)
        }
    }
}

fn multi_choice(
    choice: Choice,
    title: Option<String>,
    description: Option<String>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    default: Option<Vec<String>>,
) -> EnumSchema {
    match choice {
        Choice::Plain(values) => {
            let mut e = UntitledMultiSelectEnumSchema::new(values);
            e.title = title;
            e.description = description;
            e.min_items = min_items;
            e.max_items = max_items;
            e.default = default;
            EnumSchema::UntitledMultiSelect(e)
        }
        Choice::Titled(options) => {
            let mut e = TitledMultiSelectEnumSchema::new(options);
            e.title = title;
            e.description = description;
            e.min_items = min_items;
            e.max_items = max_items;
            e.default = default;
            EnumSchema::TitledMultiSelect(e)
        }
    }
}

/// Checks submitted form content against the form: required fields present, each value of
/// its field's type and within its bounds. Fields the form does not have are left alone.
pub(crate) fn validate(content: &JsonObject, schema: &RequestedSchema) -> Result<(), String> {
    for name in schema.required.iter().flatten() {
        if content.get(name).is_none_or(Value::is_null) {
            return Err(format!("required field `{name}` is missing"));
        }
    }
    for (name, value) in content {
        let Some(field) = schema.properties.get(name) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        check_field(field, value).map_err(|e| format!("field `{name}`: {e}"))?;
    }
    Ok(())
}

fn check_field(field: &PrimitiveSchemaDefinition, value: &Value) -> Result<(), String> {
    match field {
        PrimitiveSchemaDefinition::String(s) => {
            let text = value.as_str().ok_or("expected a string")?;
            let len = text.chars().count() as u64;
            if s.min_length.is_some_and(|min| len < min)
                || s.max_length.is_some_and(|max| len > max)
            {
                return Err(format!(
                    "length {len} is outside {}..={}",
                    s.min_length.unwrap_or(0),
                    s.max_length.map_or("".into(), |m| m.to_string())
                ));
            }
            match s.format {
                Some(format) if !format_ok(format, text) => Err(format!(
                    "{:?} is not a valid {}",
                    echo(text),
                    format_name(format)
                )),
                _ => Ok(()),
            }
        }
        PrimitiveSchemaDefinition::Number(n) => {
            let x = value.as_f64().ok_or("expected a number")?;
            if n.kind == NumberType::Integer
                && !(value.is_i64() || value.is_u64() || x.fract() == 0.0)
            {
                return Err(format!("{value} is not an integer"));
            }
            if n.minimum.is_some_and(|min| x < min) || n.maximum.is_some_and(|max| x > max) {
                return Err(format!("{value} is out of range"));
            }
            Ok(())
        }
        PrimitiveSchemaDefinition::Boolean(_) => value
            .as_bool()
            .map(drop)
            .ok_or_else(|| "expected a boolean".into()),
        PrimitiveSchemaDefinition::Enum(e) => check_choice(e, value),
        _ => Ok(()),
    }
}

fn check_choice(schema: &EnumSchema, value: &Value) -> Result<(), String> {
    let one_of = |allowed: Vec<&str>, v: &Value| -> Result<(), String> {
        let s = v.as_str().ok_or("expected a string")?;
        if allowed.contains(&s) {
            Ok(())
        } else {
            Err(format!(
                "{:?} is not one of the choices {allowed:?}",
                echo(s)
            ))
        }
    };
    let many = |allowed: Vec<&str>, min: Option<u64>, max: Option<u64>| -> Result<(), String> {
        let items = value.as_array().ok_or("expected a list of choices")?;
        let n = items.len() as u64;
        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            return Err(format!("{n} choices is outside the allowed number"));
        }
        items.iter().try_for_each(|v| one_of(allowed.clone(), v))
    };
    match schema {
        EnumSchema::UntitledSingleSelect(e) => {
            one_of(e.enum_values.iter().map(String::as_str).collect(), value)
        }
        EnumSchema::LegacyTitled(e) => {
            one_of(e.enum_values.iter().map(String::as_str).collect(), value)
        }
        EnumSchema::TitledSingleSelect(e) => {
            one_of(e.one_of.iter().map(|o| o.value.as_str()).collect(), value)
        }
        EnumSchema::UntitledMultiSelect(e) => many(
            e.items.enum_values.iter().map(String::as_str).collect(),
            e.min_items,
            e.max_items,
        ),
        EnumSchema::TitledMultiSelect(e) => many(
            e.items.any_of.iter().map(|o| o.value.as_str()).collect(),
            e.min_items,
            e.max_items,
        ),
        _ => Ok(()),
    }
}

fn format_name(format: StringFormat) -> &'static str {
    match format {
        StringFormat::Email => "email address",
        StringFormat::Uri => "URI",
        StringFormat::Date => "date (YYYY-MM-DD)",
        StringFormat::DateTime => "date and time (RFC 3339)",
    }
}

/// A light check of the formats a form may ask for.
fn format_ok(format: StringFormat, s: &str) -> bool {
    fn date(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    }
    match format {
        StringFormat::Email => s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !s.contains(char::is_whitespace)
        }),
        StringFormat::Uri => s.split_once(':').is_some_and(|(scheme, _)| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }),
        StringFormat::Date => date(s),
        StringFormat::DateTime => {
            s.len() > 11
                && s.is_char_boundary(10)
                && date(&s[..10])
                && matches!(s.as_bytes()[10], b'T' | b't' | b' ')
        }
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;

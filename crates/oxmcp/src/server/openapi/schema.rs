//! OpenAPI schemas as self-contained JSON Schema (2020-12): `$ref`s inlined, cycles and
//! oversized expansions cut, the 3.0 dialect translated.

use serde_json::{Map, Value};

/// The deepest chain of `$ref`s expanded inside one schema; past it the reference is cut.
const MAX_REF_DEPTH: usize = 32;

/// Follows a local `$ref` (`#/components/...`) to what it points at.
pub(super) fn lookup<'a>(doc: &'a Value, reference: &str) -> Result<&'a Value, String> {
    let Some(pointer) = reference.strip_prefix('#') else {
        return Err(format!(
            "`$ref` `{reference}` is not a local reference (only `#/...` references into this document are supported)"
        ));
    };
    // A pointer in a URI fragment may be percent-encoded (`#/paths/~1pets%7Bid%7D`).
    let pointer = percent_encoding::percent_decode_str(pointer).decode_utf8_lossy();
    doc.pointer(&pointer)
        .ok_or_else(|| format!("`$ref` `{reference}` points at nothing in the document"))
}

/// An object that may be a `$ref` (a parameter, a request body, a response, a path item),
/// followed to what it points at.
pub(super) fn deref<'a>(doc: &'a Value, mut value: &'a Value) -> Result<&'a Value, String> {
    for _ in 0..MAX_REF_DEPTH {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => value = lookup(doc, reference)?,
            None => return Ok(value),
        }
    }
    Err(format!(
        "more than {MAX_REF_DEPTH} `$ref`s in a row (a reference cycle?)"
    ))
}

/// Turns the schemas of one document into JSON Schema.
pub(super) struct Resolver<'a> {
    doc: &'a Value,
    /// OpenAPI 3.0, whose schema dialect is translated (`nullable`, boolean
    /// `exclusiveMinimum`...); 3.1 schemas are JSON Schema 2020-12 already.
    v30: bool,
    /// How many schema nodes one tool's schemas may still have; past it references are
    /// cut, so a document whose references multiply cannot blow a schema up.
    budget: usize,
    /// The references being expanded, to cut cycles.
    stack: Vec<String>,
}

/// Keywords whose value is one schema.
const ONE: &[&str] = &[
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
    "contentSchema",
];
/// Keywords whose value maps names to schemas.
const MAP: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
/// Keywords whose value is a list of schemas.
const LIST: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords a schema beside a `$ref` may carry that only annotate it.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "default",
    "example",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$comment",
];
/// Keywords dropped: identifiers that would change how references resolve once inlined.
const DROPPED: &[&str] = &["$id", "$schema", "$anchor", "$dynamicAnchor"];

impl<'a> Resolver<'a> {
    pub(super) fn new(doc: &'a Value, v30: bool, budget: usize) -> Self {
        Resolver {
            doc,
            v30,
            budget,
            stack: Vec::new(),
        }
    }

    /// `schema`, self-contained.
    pub(super) fn schema(&mut self, schema: &Value) -> Result<Value, String> {
        let object = match schema {
            Value::Bool(_) => return Ok(schema.clone()),
            Value::Object(object) => object,
            other => {
                return Err(format!(
                    "a schema must be an object or a boolean, found {}",
                    kind(other)
                ))
            }
        };
        if self.budget == 0 {
            return Ok(cut("the schema is too large to inline"));
        }
        self.budget -= 1;
        if let Some(reference) = object.get("$ref") {
            let Some(reference) = reference.as_str() else {
                return Err("`$ref` must be a string".to_owned());
            };
            return self.reference(reference, object);
        }
        let mut out = Map::with_capacity(object.len());
        for (key, value) in object {
            if key.starts_with("x-") || DROPPED.contains(&key.as_str()) {
                continue;
            }
            let converted = match key.as_str() {
                k if ONE.contains(&k) => self.schema(value).map_err(|e| format!("{k}: {e}"))?,
                "items" => match value {
                    // A draft-04 tuple.
                    Value::Array(list) => {
                        out.insert("prefixItems".to_owned(), self.list(list, key)?);
                        continue;
                    }
                    _ => self.schema(value).map_err(|e| format!("items: {e}"))?,
                },
                k if MAP.contains(&k) => {
                    let Value::Object(map) = value else {
                        return Err(format!("`{k}` must be an object, found {}", kind(value)));
                    };
                    let mut converted = Map::with_capacity(map.len());
                    for (name, schema) in map {
                        let schema = self
                            .schema(schema)
                            .map_err(|e| format!("{k}.{name}: {e}"))?;
                        converted.insert(name.clone(), schema);
                    }
                    Value::Object(converted)
                }
                k if LIST.contains(&k) => {
                    let Value::Array(list) = value else {
                        return Err(format!("`{k}` must be an array, found {}", kind(value)));
                    };
                    self.list(list, k)?
                }
                // Data (`enum`, `const`, `default`, `example(s)`) and other keywords, as
                // they are.
                _ => value.clone(),
            };
            out.insert(key.clone(), converted);
        }
        if self.v30 {
            translate_30(&mut out);
        }
        Ok(Value::Object(out))
    }

    fn list(&mut self, list: &[Value], keyword: &str) -> Result<Value, String> {
        list.iter()
            .enumerate()
            .map(|(i, s)| self.schema(s).map_err(|e| format!("{keyword}[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    fn reference(&mut self, reference: &str, object: &Map<String, Value>) -> Result<Value, String> {
        if self.stack.iter().any(|r| r == reference) {
            return Ok(cut(&format!("cycle cut: {reference}")));
        }
        if self.stack.len() >= MAX_REF_DEPTH {
            return Ok(cut(&format!("reference chain too deep: {reference}")));
        }
        let target = lookup(self.doc, reference)?;
        self.stack.push(reference.to_owned());
        let resolved = self.schema(target);
        self.stack.pop();
        let resolved = resolved.map_err(|e| format!("in {reference}: {e}"))?;
        // Keywords beside the `$ref` (3.1 allows them; 3.0 ignores them): annotations
        // override the target's, anything else applies as well as the target.
        let siblings: Map<String, Value> = object
            .iter()
            .filter(|(k, _)| *k != "$ref" && !k.starts_with("x-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if siblings.is_empty() || self.v30 {
            return Ok(resolved);
        }
        if siblings.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) {
            if let Value::Object(mut map) = resolved {
                map.extend(siblings);
                return Ok(Value::Object(map));
            }
            return Ok(resolved);
        }
        let mut rest = self.schema(&Value::Object(siblings))?;
        if let Value::Object(map) = &mut rest {
            map.insert("allOf".to_owned(), Value::Array(vec![resolved]));
        }
        Ok(rest)
    }
}

/// A schema that accepts anything, in place of one that was cut.
fn cut(why: &str) -> Value {
    let mut map = Map::new();
    map.insert("$comment".to_owned(), Value::String(why.to_owned()));
    Value::Object(map)
}

/// The OpenAPI 3.0 schema dialect in JSON Schema 2020-12 terms.
fn translate_30(schema: &mut Map<String, Value>) {
    if schema.remove("nullable") == Some(Value::Bool(true)) {
        match schema.get_mut("type") {
            Some(Value::String(t)) => {
                let t = std::mem::take(t);
                schema.insert(
                    "type".to_owned(),
                    Value::Array(vec![Value::String(t), "null".into()]),
                );
            }
            Some(Value::Array(types)) if !types.iter().any(|t| t == "null") => {
                types.push("null".into());
            }
            _ => {}
        }
        if let Some(Value::Array(values)) = schema.get_mut("enum") {
            if !values.contains(&Value::Null) {
                values.push(Value::Null);
            }
        }
    }
    for (exclusive, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(Value::Bool(on)) = schema.get(exclusive) {
            let on = *on;
            schema.remove(exclusive);
            if on {
                if let Some(limit) = schema.remove(bound) {
                    schema.insert(exclusive.to_owned(), limit);
                }
            }
        }
    }
}

/// What a JSON value is, for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cycles_are_cut_and_30_translated() {
        let doc = json!({"components": {"schemas": {
            "Node": {"type": "object", "nullable": true, "properties": {
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                "n": {"type": "integer", "minimum": 0, "exclusiveMinimum": true}
            }}
        }}});
        let mut resolver = Resolver::new(&doc, true, 1000);
        let schema = resolver
            .schema(&json!({"$ref": "#/components/schemas/Node"}))
            .unwrap();
        assert_eq!(schema["type"], json!(["object", "null"]));
        assert_eq!(
            schema["properties"]["children"]["items"],
            json!({"$comment": "cycle cut: #/components/schemas/Node"})
        );
        assert_eq!(
            schema["properties"]["n"],
            json!({"type": "integer", "exclusiveMinimum": 0})
        );
    }

    #[test]
    fn a_missing_reference_says_which() {
        let doc = json!({});
        let err = Resolver::new(&doc, false, 10)
            .schema(&json!({"properties": {"a": {"$ref": "#/components/schemas/Gone"}}}))
            .unwrap_err();
        assert_eq!(
            err,
            "properties.a: `$ref` `#/components/schemas/Gone` points at nothing in the document"
        );
    }

    #[test]
    fn references_that_multiply_stay_within_the_budget() {
        // Each level refers to the next twice: 2^40 nodes if inlined naively.
        let mut schemas = Map::new();
        for i in 0..40 {
            let next = format!("#/components/schemas/S{}", i + 1);
            schemas.insert(
                format!("S{i}"),
                json!({"type": "object", "properties": {"a": {"$ref": next}, "b": {"$ref": next}}}),
            );
        }
        schemas.insert("S40".into(), json!({"type": "string"}));
        let doc = json!({"components": {"schemas": schemas}});
        let schema = Resolver::new(&doc, false, 5000)
            .schema(&json!({"$ref": "#/components/schemas/S0"}))
            .unwrap();
        assert!(schema.to_string().len() < 1_000_000);
        assert!(schema.to_string().contains("too large"));
    }
}

//! `key=value` arguments, typed by a tool's input schema.

use serde_json::{Map, Number, Value};

/// Splits `key=value`.
pub fn split_pair(pair: &str) -> Result<(&str, &str), String> {
    match pair.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key, value)),
        _ => Err(format!(
            "expected an argument as key=value (such as a=1), got {pair:?}"
        )),
    }
}

/// `key=value` pairs as strings (prompt arguments, completion context).
pub fn string_pairs(pairs: &[String]) -> Result<Map<String, Value>, String> {
    pairs
        .iter()
        .map(|pair| {
            let (k, v) = split_pair(pair)?;
            Ok((k.to_owned(), Value::String(v.to_owned())))
        })
        .collect()
}

/// A tool's arguments: `base` (the `--args` JSON object, if any), then each `key=value`
/// typed by `schema`'s property of that name; checked against the schema's `required` and
/// `additionalProperties: false`.
pub fn tool_arguments(
    pairs: &[String],
    base: Option<&str>,
    schema: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut arguments = match base {
        None => Map::new(),
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                return Err(format!(
                    "--args must be a JSON object such as {{\"a\": 1}}, got {other}"
                ))
            }
            Err(e) => return Err(format!("--args is not JSON ({e}); expected an object")),
        },
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    for pair in pairs {
        let (key, text) = split_pair(pair)?;
        let property = properties.and_then(|p| p.get(key));
        if property.is_none() && closed {
            let known: Vec<&str> = properties
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            return Err(format!(
                "the tool takes no argument {key:?}; it takes: {}",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        }
        let value = typed(text, property.unwrap_or(&Value::Bool(true)))
            .map_err(|expected| format!("argument {key}: expected {expected}, got {text:?}"))?;
        arguments.insert(key.to_owned(), value);
    }
    let schema_value = Value::Object(schema.clone());
    let missing: Vec<&str> = crate::render::required(&schema_value)
        .into_iter()
        .filter(|name| !arguments.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing required argument{} {} (give {})",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            missing
                .iter()
                .map(|m| format!("{m}=..."))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    Ok(arguments)
}

/// The JSON types a property schema allows (`type`, a list of them, or `anyOf`/`oneOf`
/// branches); empty when it says nothing.
fn types(schema: &Value) -> Vec<&str> {
    let mut found = Vec::new();
    match schema.get("type") {
        Some(Value::String(t)) => found.push(t.as_str()),
        Some(Value::Array(ts)) => found.extend(ts.iter().filter_map(Value::as_str)),
        _ => {}
    }
    for key in ["anyOf", "oneOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            found.extend(types(branch));
        }
    }
    found
}

/// `text` as the value `schema` describes; `Err` says what was expected.
fn typed(text: &str, schema: &Value) -> Result<Value, String> {
    if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
        return choices
            .iter()
            .find(|c| match c {
                Value::String(s) => s == text,
                other => serde_json::from_str::<Value>(text).is_ok_and(|v| v == **other),
            })
            .cloned()
            .ok_or_else(|| {
                let names: Vec<String> = choices.iter().map(Value::to_string).collect();
                format!("one of {}", names.join(", "))
            });
    }
    let allowed = types(schema);
    if allowed.is_empty() {
        // Nothing said: JSON when it reads as JSON (numbers, true, [..]), else a string.
        return Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())));
    }
    // Every type but string first: `a=1` is a number when the schema allows both.
    for kind in allowed.iter().filter(|t| **t != "string") {
        let value = match *kind {
            "integer" => text
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| text.parse::<u64>().map(Value::from))
                .ok(),
            // `2` stays an integer on the wire.
            "number" => text.parse::<i64>().map(Value::from).ok().or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
            }),
            "boolean" => match text {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            "null" => (text == "null").then_some(Value::Null),
            "array" => serde_json::from_str(text).ok().filter(Value::is_array),
            "object" => serde_json::from_str(text).ok().filter(Value::is_object),
            _ => None,
        };
        if let Some(value) = value {
            return Ok(value);
        }
    }
    if allowed.contains(&"string") {
        return Ok(Value::String(text.to_owned()));
    }
    Err(allowed
        .iter()
        .map(|t| match *t {
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "true or false",
            "null" => "null",
            "array" => "a JSON array such as [1,2]",
            "object" => "a JSON object such as {\"k\":1}",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn args(pairs: &[&str]) -> Vec<String> {
        pairs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_take_the_schema_s_types() {
        let s = schema(json!({"type": "object", "properties": {
            "n": {"type": "integer"}, "x": {"type": "number"}, "s": {"type": "string"},
            "b": {"type": "boolean"}, "l": {"type": "array"}, "o": {"type": "object"},
            "opt": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "e": {"type": "string", "enum": ["a", "b"]}
        }}));
        let got = tool_arguments(
            &args(&[
                "n=1",
                "x=2.5",
                "s=1",
                "b=true",
                "l=[1,\"a\"]",
                "o={\"k\":1}",
                "opt=7",
                "e=b",
                "free=3",
            ]),
            None,
            &s,
        )
        .unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"n": 1, "x": 2.5, "s": "1", "b": true, "l": [1, "a"], "o": {"k": 1},
                   "opt": 7, "e": "b", "free": 3})
        );
    }

    #[test]
    fn pairs_override_the_json_arguments() {
        let s = schema(json!({"properties": {"a": {"type": "integer"}}}));
        let got = tool_arguments(&args(&["a=2"]), Some(r#"{"a": 1, "b": "x"}"#), &s).unwrap();
        assert_eq!(Value::Object(got), json!({"a": 2, "b": "x"}));
    }

    #[test]
    fn mismatches_say_what_was_expected() {
        let s = schema(json!({"type": "object", "additionalProperties": false,
            "properties": {"a": {"type": "integer"}, "e": {"enum": ["x", "y"]}},
            "required": ["a"]}));
        let err = tool_arguments(&args(&["a=abc"]), None, &s).unwrap_err();
        assert_eq!(err, "argument a: expected an integer, got \"abc\"");
        let err = tool_arguments(&args(&["a=1", "e=z"]), None, &s).unwrap_err();
        assert_eq!(err, "argument e: expected one of \"x\", \"y\", got \"z\"");
        let err = tool_arguments(&args(&["a=1", "zz=1"]), None, &s).unwrap_err();
        assert!(err.contains("no argument \"zz\"; it takes: a, e"), "{err}");
        let err = tool_arguments(&[], None, &s).unwrap_err();
        assert_eq!(err, "missing required argument a (give a=...)");
        let err = tool_arguments(&args(&["novalue"]), None, &s).unwrap_err();
        assert!(err.contains("expected an argument as key=value"), "{err}");
        let err = tool_arguments(&[], Some("[1]"), &s).unwrap_err();
        assert!(err.contains("--args must be a JSON object"), "{err}");
        let err = tool_arguments(&[], Some("{"), &s).unwrap_err();
        assert!(err.contains("--args is not JSON"), "{err}");
    }
}

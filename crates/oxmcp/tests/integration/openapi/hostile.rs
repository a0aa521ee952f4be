//! Documents that try to break the import: reference cycles, references to nothing,
//! references that multiply, many operations, things that are not OpenAPI at all.

use oxmcp::server::openapi::OpenApi;
use serde_json::{json, Map, Value};

fn import(doc: Value) -> Result<oxmcp::server::Router, String> {
    OpenApi::from_value(doc)
        .and_then(|api| api.base_url("http://127.0.0.1:1").router())
        .map_err(|e| e.to_string())
}

/// The message of an import that must fail.
fn refused(doc: Value) -> String {
    match import(doc) {
        Ok(_) => panic!("the document was imported"),
        Err(e) => e,
    }
}

fn one_operation(schema: Value, components: Value) -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/things": {"post": {
            "operationId": "make",
            "requestBody": {"content": {"application/json": {"schema": schema}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}
        }}},
        "components": {"schemas": components}
    })
}

/// A schema that refers to itself, directly or through another, is cut at the second
/// occurrence: the tool exists and its schema is valid.
#[test]
fn reference_cycles_are_cut() {
    let doc = one_operation(
        json!({"$ref": "#/components/schemas/A"}),
        json!({
            "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}, "me": {"$ref": "#/components/schemas/A"}}},
            "B": {"type": "array", "items": {"$ref": "#/components/schemas/A"}},
            "Loop": {"$ref": "#/components/schemas/Loop"}
        }),
    );
    let router = import(doc).unwrap();
    let tool = router.tools().next().unwrap();
    let body = &tool.input_schema["properties"]["body"];
    assert_eq!(
        body["properties"]["me"],
        json!({"$comment": "cycle cut: #/components/schemas/A"})
    );
    assert_eq!(
        body["properties"]["b"]["items"],
        json!({"$comment": "cycle cut: #/components/schemas/A"})
    );
    jsonschema::draft202012::meta::validate(&Value::Object(tool.input_schema.clone())).unwrap();

    // A reference to itself and nothing else.
    let doc = one_operation(
        json!({"$ref": "#/components/schemas/Loop"}),
        json!({
            "Loop": {"$ref": "#/components/schemas/Loop"}
        }),
    );
    let router = import(doc).unwrap();
    let tool = router.tools().next().unwrap();
    assert_eq!(
        tool.input_schema["properties"]["body"],
        json!({"$comment": "cycle cut: #/components/schemas/Loop"})
    );
}

/// A reference to nothing, or outside the document, fails the import with a message
/// that names the operation and the reference.
#[test]
fn missing_and_external_references_are_refused_by_name() {
    let doc = one_operation(
        json!({"type": "object", "properties": {"x": {"$ref": "#/components/schemas/Gone"}}}),
        json!({}),
    );
    assert_eq!(
        refused(doc),
        "OpenAPI import: POST /things: requestBody: properties.x: `$ref` `#/components/schemas/Gone` points at nothing in the document"
    );
    let doc = one_operation(json!({"$ref": "other.yaml#/Pet"}), json!({}));
    assert_eq!(
        refused(doc),
        "OpenAPI import: POST /things: requestBody: `$ref` `other.yaml#/Pet` is not a local reference (only `#/...` references into this document are supported)"
    );
    let mut doc = one_operation(json!({}), json!({}));
    doc["paths"]["/things"]["post"]["parameters"] =
        json!([{"$ref": "#/components/parameters/nope"}]);
    assert_eq!(
        refused(doc),
        "OpenAPI import: POST /things: parameters[0]: `$ref` `#/components/parameters/nope` points at nothing in the document"
    );
}

/// References that multiply (each level refers to the next twice: 2^50 nodes inlined
/// naively), in thousands of operations: the import finishes, every schema bounded.
#[test]
fn huge_documents_stay_bounded() {
    let mut schemas = Map::new();
    for i in 0..50 {
        let next = format!("#/components/schemas/S{}", i + 1);
        schemas.insert(
            format!("S{i}"),
            json!({"type": "object", "properties": {"left": {"$ref": next}, "right": {"$ref": next}}}),
        );
    }
    schemas.insert("S50".into(), json!({"type": "string"}));
    let mut paths = Map::new();
    for i in 0..2000 {
        paths.insert(
            format!("/things/{i}"),
            json!({"get": {
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }}),
        );
    }
    paths.insert(
        "/deep".into(),
        json!({"post": {
            "operationId": "deep",
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}},
            "responses": {"200": {"description": "ok"}}
        }}),
    );
    let doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas}
    });
    let text = doc.to_string();
    let router = OpenApi::parse(&text)
        .unwrap()
        .base_url("http://127.0.0.1:1")
        .router()
        .unwrap();
    assert_eq!(router.tools().count(), 2001);
    let deep = router.tools().find(|t| t.name == "deep").unwrap();
    let size = Value::Object(deep.input_schema.clone()).to_string().len();
    assert!(size < 2_000_000, "{size} bytes");
    assert!(Value::Object(deep.input_schema.clone())
        .to_string()
        .contains("too large"));
}

/// What is not an OpenAPI 3.0 or 3.1 document is refused, saying what was expected.
#[test]
fn what_is_not_openapi_3_is_refused_clearly() {
    let err = |text: &str| OpenApi::parse(text).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"swagger": "2.0", "paths": {}}"#),
        "OpenAPI import: Swagger 2.0 documents are not supported: expected OpenAPI 3.0 or 3.1 (convert it first)"
    );
    assert_eq!(
        err("openapi: 4.0.0\n"),
        "OpenAPI import: OpenAPI 4.0.0 is not supported: expected 3.0 or 3.1"
    );
    assert_eq!(
        err("- a list\n"),
        "OpenAPI import: expected an OpenAPI document (an object), found an array"
    );
    assert_eq!(
        err("title: no version\n"),
        "OpenAPI import: not an OpenAPI document: expected an `openapi` field such as \"3.1.0\""
    );
    assert!(err("{\"openapi\": ").starts_with("OpenAPI import: the document is not valid JSON"));
    assert!(err("openapi: [\n").starts_with("OpenAPI import: the document is not valid YAML"));
    // YAML aliases that expand exponentially ("billion laughs") are refused by the parser.
    let mut laughs = String::from("openapi: 3.1.0\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for i in 0..9 {
        let prev = if i == 0 {
            "a".to_owned()
        } else {
            format!("l{}", i - 1)
        };
        laughs.push_str(&format!(
            "l{i}: &l{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    assert!(err(&laughs).starts_with("OpenAPI import: the document is not valid YAML"));

    // A malformed parameter names the operation.
    let doc = json!({"openapi": "3.0.0", "paths": {"/x": {"get": {
        "parameters": [{"name": "a", "in": "body"}], "responses": {}
    }}}});
    assert_eq!(
        refused(doc),
        "OpenAPI import: GET /x: parameter `a`: `in` must be path, query, header or cookie, found `body`"
    );
    // No base URL and only a relative server.
    let doc = json!({"openapi": "3.1.0", "servers": [{"url": "/v1"}], "paths": {}});
    assert_eq!(
        OpenApi::from_value(doc)
            .unwrap()
            .router()
            .err()
            .unwrap()
            .to_string(),
        "OpenAPI import: the document's server URL `/v1` is not an absolute http(s) URL: give a base URL"
    );
}

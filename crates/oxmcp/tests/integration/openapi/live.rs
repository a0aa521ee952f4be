//! A small document of our own, imported and called against the local service, in both
//! eras, every frame checked against the MCP schema.

use std::time::Duration;

use oxmcp::server::openapi::OpenApi;
use oxmcp::server::{Router, ToolError};
use serde_json::{json, Value};

use super::{service, text};
use crate::support::{checked, legacy, modern};

/// OpenAPI 3.0, in YAML: `$ref`s to parameters, bodies and schemas, `nullable`, every
/// parameter location, a body, an operation without an `operationId`.
pub(super) const PETS_30: &str = r##"
openapi: 3.0.3
info: { title: Pets, version: "1.0" }
servers: [{ url: "https://pets.example.com/v1" }]
paths:
  /pets:
    get:
      operationId: listPets
      summary: List pets
      tags: [pets]
      parameters:
        - { $ref: "#/components/parameters/limit" }
        - { name: tags, in: query, schema: { type: array, items: { type: string } } }
        - { name: X-Request-Id, in: header, schema: { type: string } }
      responses:
        "200":
          description: Pets
          content:
            application/json:
              schema: { type: array, items: { $ref: "#/components/schemas/Pet" } }
    post:
      operationId: createPet
      tags: [pets, write]
      requestBody: { $ref: "#/components/requestBodies/NewPet" }
      responses:
        "201":
          description: Created
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Pet" }
  /pets/{petId}:
    parameters:
      - { name: petId, in: path, required: true, schema: { type: string }, description: The pet's id }
    get:
      operationId: getPet
      tags: [pets]
      responses:
        "200":
          description: A pet
          content:
            application/json:
              schema: { $ref: "#/components/schemas/Pet" }
        default: { $ref: "#/components/responses/Error" }
    delete:
      tags: [write]
      responses:
        "204": { description: Deleted }
  /search:
    get:
      operationId: search
      tags: [pets]
      parameters:
        - { name: filter, in: query, style: deepObject, schema: { type: object, properties: { kind: { type: string } } } }
        - { name: session, in: cookie, schema: { type: string } }
      responses:
        "200":
          description: Results
          content:
            application/json:
              schema: { type: object }
  /private:
    get:
      operationId: secret
      tags: [admin]
      responses:
        "200": { description: The secret, content: { application/json: { schema: { type: object } } } }
  /errors/big:
    get:
      operationId: bigError
      tags: [admin]
      responses:
        "200": { description: never }
  /huge:
    get:
      operationId: huge
      tags: [admin]
      responses:
        "200": { description: a large body, content: { application/json: { schema: { type: object } } } }
  /slow:
    get:
      operationId: slow
      tags: [admin]
      responses:
        "200": { description: never in time }
components:
  parameters:
    limit: { name: limit, in: query, schema: { type: integer, minimum: 1, maximum: 100 } }
  requestBodies:
    NewPet:
      required: true
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Pet" }
  responses:
    Error:
      description: An error
      content: { application/json: { schema: { type: object, properties: { message: { type: string } } } } }
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        id: { type: integer, format: int64 }
        name: { type: string }
        tag: { type: string, nullable: true }
"##;

/// The same API in OpenAPI 3.1 and JSON (`type` lists, `$ref` with a sibling).
const PETS_31: &str = r##"{
  "openapi": "3.1.0",
  "info": {"title": "Pets", "version": "1.0"},
  "paths": {
    "/pets/{petId}": {
      "get": {
        "operationId": "getPet",
        "parameters": [{"name": "petId", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "A pet", "content": {"application/json": {
          "schema": {"$ref": "#/components/schemas/Pet", "description": "The pet asked for"}}}}}
      }
    }
  },
  "components": {"schemas": {"Pet": {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "tag": {"type": ["string", "null"]}}}}}
}"##;

fn pets(base: &str) -> OpenApi {
    OpenApi::parse(PETS_30)
        .unwrap()
        .base_url(base)
        .header("x-api-key", "k-123")
}

/// The schemas of the imported tools: parameters and body as properties, `$ref`s
/// inlined, 3.0's `nullable` as a `null` type, the output schema from the 2xx response.
#[tokio::test]
async fn the_tools_of_a_document_have_its_parameters_and_schemas() {
    let router = pets("http://127.0.0.1:1").router().unwrap();
    let tools: Vec<_> = router.tools().cloned().collect();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "bigError",
            "huge",
            "listPets",
            "createPet",
            "getPet",
            "delete_pets_petId",
            "secret",
            "search",
            "slow"
        ]
    );
    let list = &tools[2];
    assert_eq!(list.description.as_deref(), Some("List pets"));
    assert_eq!(
        list.input_schema["properties"]["limit"],
        json!({"type": "integer", "minimum": 1, "maximum": 100})
    );
    assert_eq!(
        list.input_schema["properties"]["tags"]["items"],
        json!({"type": "string"})
    );
    assert!(list.input_schema["properties"]
        .get("X-Request-Id")
        .is_some());
    assert!(list.input_schema.get("required").is_none());
    // An array response is wrapped, as the result will be.
    let output = list.output_schema.as_ref().unwrap();
    assert_eq!(output["required"], json!(["result"]));
    assert_eq!(
        output["properties"]["result"]["items"]["properties"]["tag"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(
        list.annotations.as_ref().unwrap().read_only_hint,
        Some(true)
    );

    let create = &tools[3];
    assert_eq!(create.input_schema["required"], json!(["body"]));
    assert_eq!(
        create.input_schema["properties"]["body"]["required"],
        json!(["name"])
    );
    let get = &tools[4];
    assert_eq!(get.input_schema["required"], json!(["petId"]));
    assert_eq!(
        get.input_schema["properties"]["petId"]["description"],
        "The pet's id"
    );
    assert_eq!(
        get.output_schema.as_ref().unwrap()["required"],
        json!(["name"])
    );
    let delete = &tools[5];
    assert!(delete.output_schema.is_none());
    assert_eq!(
        delete.annotations.as_ref().unwrap().destructive_hint,
        Some(true)
    );
    for tool in &tools {
        let schema = Value::Object(tool.input_schema.clone());
        jsonschema::draft202012::meta::validate(&schema).unwrap();
    }

    // 3.1: type lists kept, a `$ref`'s sibling description applied.
    let router = OpenApi::parse(PETS_31)
        .unwrap()
        .base_url("http://127.0.0.1:1")
        .router()
        .unwrap();
    let get = router.tools().next().unwrap();
    let output = get.output_schema.as_ref().unwrap();
    assert_eq!(output["description"], "The pet asked for");
    assert_eq!(
        output["properties"]["tag"]["type"],
        json!(["string", "null"])
    );
}

/// Calls reach the service with each argument where its parameter says (path
/// percent-encoded, query exploded or deep, header, cookie, JSON body), the static header
/// and the auth hook's; the answer comes back as text and structured content.
#[tokio::test]
async fn calls_reach_the_service_and_answer_with_its_body() {
    let addr = service().await;
    for era in [legacy(), modern()] {
        let router: Router = pets(&format!("http://{addr}"))
            .auth(|mut request: reqwest::Request| async move {
                request
                    .headers_mut()
                    .insert("authorization", "Bearer good".parse().unwrap());
                Ok(request)
            })
            .router()
            .unwrap();
        let (client, tap) = checked(router, era).await;

        let r = client
            .call_tool(
                "listPets",
                json!({"limit": 5, "tags": ["a b", "c"], "X-Request-Id": "r-1"}),
            )
            .await
            .unwrap();
        assert_eq!(r.is_error, None);
        let echo = &r.structured_content.as_ref().unwrap()["result"][0];
        assert_eq!(echo["method"], "GET");
        assert_eq!(echo["path"], "/pets");
        assert_eq!(echo["query"], "limit=5&tags=a+b&tags=c");
        assert_eq!(echo["requestId"], "r-1");
        assert_eq!(echo["apiKey"], "k-123");
        assert_eq!(echo["authorization"], "Bearer good");
        assert_eq!(serde_json::from_str::<Value>(&text(&r)).unwrap()[0], *echo);

        let r = client
            .call_tool("getPet", json!({"petId": "a/b c"}))
            .await
            .unwrap();
        let echo = r.structured_content.unwrap();
        assert_eq!(echo["path"], "/pets/a%2Fb%20c");

        let r = client
            .call_tool("createPet", json!({"body": {"name": "Rex", "tag": null}}))
            .await
            .unwrap();
        let echo = r.structured_content.unwrap();
        assert_eq!(echo["method"], "POST");
        assert_eq!(echo["contentType"], "application/json");
        assert_eq!(echo["body"], json!({"name": "Rex", "tag": null}));

        let r = client
            .call_tool(
                "search",
                json!({"filter": {"kind": "cat"}, "session": "s1"}),
            )
            .await
            .unwrap();
        let echo = r.structured_content.unwrap();
        assert_eq!(echo["query"], "filter%5Bkind%5D=cat");
        assert_eq!(echo["cookie"], "session=s1");

        let r = client
            .call_tool("delete_pets_petId", json!({"petId": "7"}))
            .await
            .unwrap();
        assert_eq!(r.structured_content, None);
        assert!(text(&r).contains("\"method\":\"DELETE\""));

        let r = client.call_tool("secret", json!({})).await.unwrap();
        assert_eq!(r.is_error, None, "{}", text(&r));
        tap.assert_clean();
    }
}

/// A response that is not a success is a tool error with the status and the body; so is
/// a hook's refusal; wrong arguments are refused before any request, saying what was
/// expected.
#[tokio::test]
async fn failures_are_tool_errors_that_say_what_happened() {
    let addr = service().await;
    let router: Router = pets(&format!("http://{addr}")).router().unwrap();
    let (client, _tap) = checked(router, modern()).await;

    let r = client
        .call_tool("getPet", json!({"petId": "404"}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(
        text(&r),
        r#"GET /pets/{petId} answered HTTP 404 Not Found: {"message":"no such pet"}"#
    );

    let r = client.call_tool("secret", json!({})).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(text(&r).contains("HTTP 401 Unauthorized"), "{}", text(&r));

    let r = client
        .call_tool("getPet", json!({"petId": "1", "color": "red"}))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(
        text(&r),
        "invalid arguments: unknown argument `color`; expected one of: petId"
    );
    let r = client.call_tool("getPet", json!({})).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(
        text(&r),
        "invalid arguments: missing required argument `petId` (path parameter)"
    );

    // A path parameter cannot climb out of the operation's path.
    for id in ["..", ".", ""] {
        let r = client
            .call_tool("getPet", json!({"petId": id}))
            .await
            .unwrap();
        assert_eq!(r.is_error, Some(true));
        assert_eq!(
            text(&r),
            "invalid arguments: `petId` (path parameter) must not be empty, `.` or `..`"
        );
    }
    let r = client
        .call_tool("getPet", json!({"petId": "../private"}))
        .await
        .unwrap();
    assert_eq!(r.structured_content.unwrap()["path"], "/pets/..%2Fprivate");

    let router: Router = pets(&format!("http://{addr}"))
        .auth(|_request: reqwest::Request| async move {
            Err(ToolError::execution("no token: log in first"))
        })
        .router()
        .unwrap();
    let (client, _tap) = checked(router, modern()).await;
    let r = client.call_tool("secret", json!({})).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(text(&r), "no token: log in first");
}

/// Hostile answers: a huge error body is quoted only in part, a success body past the
/// limit is refused, a service that never answers times out.
#[tokio::test]
async fn large_and_slow_answers_are_bounded() {
    let addr = service().await;
    let router: Router = pets(&format!("http://{addr}"))
        .max_response_bytes(16 << 10)
        .timeout(Duration::from_millis(300))
        .router()
        .unwrap();
    let (client, _tap) = checked(router, modern()).await;

    let r = client.call_tool("bigError", json!({})).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    let message = text(&r);
    assert!(
        message.starts_with("GET /errors/big answered HTTP 500 Internal Server Error: EEEE"),
        "{message}"
    );
    assert!(message.len() < 4200, "{}", message.len());
    assert!(message.ends_with('…'));

    let r = client.call_tool("huge", json!({})).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(
        text(&r),
        "GET /huge: the response is larger than 16384 bytes"
    );

    let r = tokio::time::timeout(Duration::from_secs(10), client.call_tool("slow", json!({})))
        .await
        .expect("answered within 10 s")
        .unwrap();
    assert_eq!(r.is_error, Some(true));
    assert_eq!(text(&r), "GET /slow: no answer within 300ms");
}

/// Filters by tag, path and method; `Router::from_openapi` with the document's own
/// client.
#[tokio::test]
async fn operations_are_kept_or_left_out_by_tag_path_and_method() {
    let names = |api: OpenApi| -> Vec<String> {
        api.router()
            .unwrap()
            .tools()
            .map(|t| t.name.clone())
            .collect()
    };
    let base = || OpenApi::parse(PETS_30).unwrap();
    assert_eq!(
        names(base().include_tags(["pets"]).exclude_tags(["write"])),
        ["listPets", "getPet", "search"]
    );
    assert_eq!(
        names(base().include_paths(["/pets*"]).exclude_methods(["GET"])),
        ["createPet", "delete_pets_petId"]
    );
    assert_eq!(
        names(
            base()
                .include_methods(["delete", "post"])
                .exclude_paths(["/pets"])
        ),
        ["delete_pets_petId"]
    );
    // The base URL comes from `servers` when not given.
    assert_eq!(names(base().include_tags(["none"])), Vec::<String>::new());

    let addr = service().await;
    let router =
        Router::from_openapi(PETS_31, &format!("http://{addr}/"), reqwest::Client::new()).unwrap();
    let (client, _tap) = checked(router, legacy()).await;
    let r = client
        .call_tool("getPet", json!({"petId": "9"}))
        .await
        .unwrap();
    assert_eq!(r.structured_content.unwrap()["path"], "/pets/9");
}

//! Shared by the fixture tests: maps a schema definition name to the Rust type(s) that
//! model it, and checks that a JSON document survives a deserialize/serialize round trip.

#![allow(dead_code)]

use std::any::type_name;
use std::fs;
use std::path::{Path, PathBuf};

use oxmcp_protocol::jsonrpc::error_code;
use oxmcp_protocol::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Deserializes `v` as `T`, serializes it back and requires the same JSON value.
pub fn rt<T: DeserializeOwned + Serialize>(v: &Value) -> Result<T, String> {
    let t: T = serde_json::from_value(v.clone())
        .map_err(|e| format!("deserializing as {}: {e}", type_name::<T>()))?;
    let back =
        serde_json::to_value(&t).map_err(|e| format!("serializing {}: {e}", type_name::<T>()))?;
    if &back != v {
        return Err(format!(
            "{} does not round-trip\n    original: {v}\n    back:     {back}",
            type_name::<T>()
        ));
    }
    Ok(t)
}

fn ensure(cond: bool, what: impl Into<String>) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what.into())
    }
}

fn error_code_is(v: &Value, expected: i64) -> Result<(), String> {
    let e: ErrorObject = rt(v)?;
    ensure(
        e.code == expected,
        format!("error code {} instead of {expected}", e.code),
    )
}

fn error_response_code_is(v: &Value, expected: i64) -> Result<JsonRpcErrorResponse, String> {
    let e: JsonRpcErrorResponse = rt(v)?;
    ensure(
        e.error.code == expected,
        format!("error code {} instead of {expected}", e.error.code),
    )?;
    // The untyped message classifier must see an error response too.
    let m: JsonRpcMessage = rt(v)?;
    ensure(
        matches!(m, JsonRpcMessage::Error(_)),
        "not classified as an error response",
    )?;
    Ok(e)
}

/// A full client request: the per-method struct, the typed envelope over
/// [`ClientRequest`] (with the expected method) and the untyped message all round-trip.
fn client_request<T: DeserializeOwned + Serialize>(v: &Value, method: &str) -> Result<(), String> {
    rt::<T>(v)?;
    let typed: TypedRequest<ClientRequest> = rt(v)?;
    ensure(
        typed.request.method() == method,
        format!("method {}", typed.request.method()),
    )?;
    let m: JsonRpcMessage = rt(v)?;
    ensure(
        matches!(m, JsonRpcMessage::Request(_)),
        "not classified as a request",
    )
}

/// A full server request of a legacy revision (over [`ServerRequest`]).
fn server_request<T: DeserializeOwned + Serialize>(v: &Value, method: &str) -> Result<(), String> {
    rt::<T>(v)?;
    let typed: TypedRequest<ServerRequest> = rt(v)?;
    ensure(
        typed.request.method() == method,
        format!("method {}", typed.request.method()),
    )
}

/// A server notification: the per-method struct and the typed envelope.
fn server_notification<T: DeserializeOwned + Serialize>(
    v: &Value,
    method: &str,
) -> Result<(), String> {
    rt::<T>(v)?;
    let typed: TypedNotification<ServerNotification> = rt(v)?;
    ensure(
        typed.notification.method() == method,
        format!("method {}", typed.notification.method()),
    )?;
    let m: JsonRpcMessage = rt(v)?;
    ensure(
        matches!(m, JsonRpcMessage::Notification(_)),
        "not classified as a notification",
    )
}

/// A client notification: the per-method struct and the typed envelope.
fn client_notification<T: DeserializeOwned + Serialize>(
    v: &Value,
    method: &str,
) -> Result<(), String> {
    rt::<T>(v)?;
    let typed: TypedNotification<ClientNotification> = rt(v)?;
    ensure(
        typed.notification.method() == method,
        format!("method {}", typed.notification.method()),
    )
}

/// A successful response: the typed response and the untyped message.
fn result_response<T: DeserializeOwned + Serialize>(v: &Value) -> Result<T, String> {
    let m: JsonRpcMessage = rt(v)?;
    ensure(
        matches!(m, JsonRpcMessage::Result(_)),
        "not classified as a result response",
    )?;
    rt::<T>(v)
}

fn content_block(v: &Value, kind: &str) -> Result<(), String> {
    let b: ContentBlock = rt(v)?;
    ensure(b.kind() == kind, format!("content block kind {}", b.kind()))
}

fn primitive_schema(v: &Value, ok: fn(&PrimitiveSchemaDefinition) -> bool) -> Result<(), String> {
    let s: PrimitiveSchemaDefinition = rt(v)?;
    ensure(
        ok(&s),
        format!("wrong PrimitiveSchemaDefinition variant: {s:?}"),
    )
}

/// Round-trips `v` as the schema definition `name`. `Err` says what failed; an unknown
/// name is an error so that new fixtures cannot be skipped silently.
pub fn check(name: &str, v: &Value) -> Result<(), String> {
    use PrimitiveSchemaDefinition as P;
    match name {
        // Content.
        "TextContent" => rt::<TextContent>(v).and(content_block(v, "text")),
        "ImageContent" => rt::<ImageContent>(v).and(content_block(v, "image")),
        "AudioContent" => rt::<AudioContent>(v).and(content_block(v, "audio")),
        "ResourceLink" => rt::<ResourceLink>(v).and(content_block(v, "resource_link")),
        "EmbeddedResource" => rt::<EmbeddedResource>(v).and(content_block(v, "resource")),
        "TextResourceContents" => {
            rt::<TextResourceContents>(v)?;
            let c: ResourceContents = rt(v)?;
            ensure(matches!(c, ResourceContents::Text(_)), "not text contents")
        }
        "BlobResourceContents" => {
            rt::<BlobResourceContents>(v)?;
            let c: ResourceContents = rt(v)?;
            ensure(matches!(c, ResourceContents::Blob(_)), "not blob contents")
        }
        "ToolUseContent" => {
            rt::<ToolUseContent>(v)?;
            let b: SamplingMessageContentBlock = rt(v)?;
            ensure(
                matches!(b, SamplingMessageContentBlock::ToolUse(_)),
                "not tool use",
            )
        }
        "ToolResultContent" => {
            rt::<ToolResultContent>(v)?;
            let b: SamplingMessageContentBlock = rt(v)?;
            ensure(
                matches!(b, SamplingMessageContentBlock::ToolResult(_)),
                "not tool result",
            )
        }
        "Annotations" => rt::<Annotations>(v).map(drop),

        // Lifecycle.
        "Implementation" => rt::<Implementation>(v).map(drop),
        "Icon" => rt::<Icon>(v).map(drop),
        "ClientCapabilities" => rt::<ClientCapabilities>(v).map(drop),
        "ServerCapabilities" => rt::<ServerCapabilities>(v).map(drop),
        "InitializeRequestParams" => rt::<InitializeRequestParams>(v).map(drop),
        "InitializeRequest" => client_request::<InitializeRequest>(v, method::INITIALIZE),
        "InitializeResult" => rt::<InitializeResult>(v).map(drop),
        "InitializeResultResponse" => result_response::<InitializeResultResponse>(v).map(drop),
        "InitializedNotification" => {
            client_notification::<InitializedNotification>(v, method::NOTIFICATION_INITIALIZED)
        }
        "PingRequest" => {
            client_request::<PingRequest>(v, method::PING)?;
            server_request::<PingRequest>(v, method::PING)
        }
        "EmptyResult" => rt::<EmptyResult>(v).map(drop),
        "DiscoverRequest" => client_request::<DiscoverRequest>(v, method::SERVER_DISCOVER),
        "DiscoverResult" => rt::<DiscoverResult>(v).map(drop),
        "DiscoverResultResponse" => result_response::<DiscoverResultResponse>(v).map(drop),

        // Pagination and generic params.
        "PaginatedRequestParams" => rt::<PaginatedRequestParams>(v).map(drop),
        "RequestParams" => rt::<RequestParams>(v).map(drop),
        "NotificationParams" => rt::<NotificationParams>(v).map(drop),

        // Tools.
        "Tool" => rt::<Tool>(v).map(drop),
        "ToolAnnotations" => rt::<ToolAnnotations>(v).map(drop),
        "ListToolsRequest" => client_request::<ListToolsRequest>(v, method::TOOLS_LIST),
        "ListToolsResult" => rt::<ListToolsResult>(v).map(drop),
        "ListToolsResultResponse" => result_response::<ListToolsResultResponse>(v).map(drop),
        "CallToolRequest" => client_request::<CallToolRequest>(v, method::TOOLS_CALL),
        "CallToolRequestParams" => rt::<CallToolRequestParams>(v).map(drop),
        "CallToolResult" => {
            rt::<CallToolResult>(v)?;
            let r: MaybeInputRequired<CallToolResult> = rt(v)?;
            ensure(!r.is_input_required(), "taken for input required")
        }
        "CallToolResultResponse" => result_response::<CallToolResultResponse>(v).map(drop),
        "ToolListChangedNotification" => server_notification::<ToolListChangedNotification>(
            v,
            method::NOTIFICATION_TOOLS_LIST_CHANGED,
        ),

        // Resources.
        "Resource" => rt::<Resource>(v).map(drop),
        "ResourceTemplate" => rt::<ResourceTemplate>(v).map(drop),
        "ListResourcesRequest" => client_request::<ListResourcesRequest>(v, method::RESOURCES_LIST),
        "ListResourcesResult" => rt::<ListResourcesResult>(v).map(drop),
        "ListResourcesResultResponse" => {
            result_response::<ListResourcesResultResponse>(v).map(drop)
        }
        "ListResourceTemplatesRequest" => {
            client_request::<ListResourceTemplatesRequest>(v, method::RESOURCES_TEMPLATES_LIST)
        }
        "ListResourceTemplatesResult" => rt::<ListResourceTemplatesResult>(v).map(drop),
        "ListResourceTemplatesResultResponse" => {
            result_response::<ListResourceTemplatesResultResponse>(v).map(drop)
        }
        "ReadResourceRequest" => client_request::<ReadResourceRequest>(v, method::RESOURCES_READ),
        "ReadResourceRequestParams" => rt::<ReadResourceRequestParams>(v).map(drop),
        "ReadResourceResult" => rt::<ReadResourceResult>(v).map(drop),
        "ReadResourceResultResponse" => result_response::<ReadResourceResultResponse>(v).map(drop),
        "SubscribeRequest" => client_request::<SubscribeRequest>(v, method::RESOURCES_SUBSCRIBE),
        "UnsubscribeRequest" => {
            client_request::<UnsubscribeRequest>(v, method::RESOURCES_UNSUBSCRIBE)
        }
        "ResourceListChangedNotification" => {
            server_notification::<ResourceListChangedNotification>(
                v,
                method::NOTIFICATION_RESOURCES_LIST_CHANGED,
            )
        }
        "ResourceUpdatedNotification" => server_notification::<ResourceUpdatedNotification>(
            v,
            method::NOTIFICATION_RESOURCES_UPDATED,
        ),
        "ResourceUpdatedNotificationParams" => rt::<ResourceUpdatedNotificationParams>(v).map(drop),

        // Prompts.
        "Prompt" => rt::<Prompt>(v).map(drop),
        "PromptMessage" => rt::<PromptMessage>(v).map(drop),
        "ListPromptsRequest" => client_request::<ListPromptsRequest>(v, method::PROMPTS_LIST),
        "ListPromptsResult" => rt::<ListPromptsResult>(v).map(drop),
        "ListPromptsResultResponse" => result_response::<ListPromptsResultResponse>(v).map(drop),
        "GetPromptRequest" => client_request::<GetPromptRequest>(v, method::PROMPTS_GET),
        "GetPromptRequestParams" => rt::<GetPromptRequestParams>(v).map(drop),
        "GetPromptResult" => rt::<GetPromptResult>(v).map(drop),
        "GetPromptResultResponse" => result_response::<GetPromptResultResponse>(v).map(drop),
        "PromptListChangedNotification" => server_notification::<PromptListChangedNotification>(
            v,
            method::NOTIFICATION_PROMPTS_LIST_CHANGED,
        ),

        // Completion.
        "CompleteRequest" => client_request::<CompleteRequest>(v, method::COMPLETION_COMPLETE),
        "CompleteRequestParams" => rt::<CompleteRequestParams>(v).map(drop),
        "CompleteResult" => rt::<CompleteResult>(v).map(drop),
        "CompleteResultResponse" => result_response::<CompleteResultResponse>(v).map(drop),

        // Logging.
        "SetLevelRequest" => client_request::<SetLevelRequest>(v, method::LOGGING_SET_LEVEL),
        "LoggingMessageNotification" => {
            server_notification::<LoggingMessageNotification>(v, method::NOTIFICATION_MESSAGE)
        }
        "LoggingMessageNotificationParams" => rt::<LoggingMessageNotificationParams>(v).map(drop),

        // Sampling.
        "SamplingMessage" => rt::<SamplingMessage>(v).map(drop),
        "ModelPreferences" => rt::<ModelPreferences>(v).map(drop),
        "CreateMessageRequest" => {
            let r: CreateMessageRequest = rt(v)?;
            if r.id.is_some() {
                server_request::<CreateMessageRequest>(v, method::SAMPLING_CREATE_MESSAGE)
            } else {
                let i: InputRequest = rt(v)?;
                ensure(
                    matches!(i, InputRequest::CreateMessage(_)),
                    "not an input request",
                )
            }
        }
        "CreateMessageRequestParams" => rt::<CreateMessageRequestParams>(v).map(drop),
        "CreateMessageResult" => {
            rt::<CreateMessageResult>(v)?;
            let r: InputResponse = rt(v)?;
            ensure(
                matches!(r, InputResponse::CreateMessage(_)),
                "not a sampling response",
            )
        }

        // Roots.
        "Root" => rt::<Root>(v).map(drop),
        "ListRootsRequest" => {
            let r: ListRootsRequest = rt(v)?;
            if r.jsonrpc.is_some() {
                server_request::<ListRootsRequest>(v, method::ROOTS_LIST)
            } else {
                Ok(())
            }
        }
        "ListRootsResult" => {
            rt::<ListRootsResult>(v)?;
            let r: InputResponse = rt(v)?;
            ensure(
                matches!(r, InputResponse::ListRoots(_)),
                "not a roots response",
            )
        }
        "RootsListChangedNotification" => client_notification::<RootsListChangedNotification>(
            v,
            method::NOTIFICATION_ROOTS_LIST_CHANGED,
        ),

        // Elicitation.
        "ElicitRequest" => {
            let r: ElicitRequest = rt(v)?;
            if r.id.is_some() {
                server_request::<ElicitRequest>(v, method::ELICITATION_CREATE)
            } else {
                let i: InputRequest = rt(v)?;
                ensure(matches!(i, InputRequest::Elicit(_)), "not an input request")
            }
        }
        "ElicitRequestFormParams" => {
            rt::<ElicitRequestFormParams>(v)?;
            let p: ElicitRequestParams = rt(v)?;
            ensure(matches!(p, ElicitRequestParams::Form(_)), "not form mode")
        }
        "ElicitRequestURLParams" => {
            rt::<ElicitRequestURLParams>(v)?;
            let p: ElicitRequestParams = rt(v)?;
            ensure(matches!(p, ElicitRequestParams::Url(_)), "not URL mode")
        }
        "ElicitResult" => {
            rt::<ElicitResult>(v)?;
            let r: InputResponse = rt(v)?;
            ensure(
                matches!(r, InputResponse::Elicit(_)),
                "not an elicitation response",
            )
        }
        "ElicitationCompleteNotification" => {
            server_notification::<ElicitationCompleteNotification>(
                v,
                method::NOTIFICATION_ELICITATION_COMPLETE,
            )
        }
        "StringSchema" => {
            rt::<StringSchema>(v)?;
            primitive_schema(v, |s| matches!(s, P::String(_)))
        }
        "NumberSchema" => {
            rt::<NumberSchema>(v)?;
            primitive_schema(v, |s| matches!(s, P::Number(_)))
        }
        "BooleanSchema" => {
            rt::<BooleanSchema>(v)?;
            primitive_schema(v, |s| matches!(s, P::Boolean(_)))
        }
        "UntitledSingleSelectEnumSchema" => {
            rt::<UntitledSingleSelectEnumSchema>(v)?;
            primitive_schema(v, |s| {
                matches!(s, P::Enum(EnumSchema::UntitledSingleSelect(_)))
            })
        }
        "TitledSingleSelectEnumSchema" => {
            rt::<TitledSingleSelectEnumSchema>(v)?;
            primitive_schema(v, |s| {
                matches!(s, P::Enum(EnumSchema::TitledSingleSelect(_)))
            })
        }
        "UntitledMultiSelectEnumSchema" => {
            rt::<UntitledMultiSelectEnumSchema>(v)?;
            primitive_schema(v, |s| {
                matches!(s, P::Enum(EnumSchema::UntitledMultiSelect(_)))
            })
        }
        "TitledMultiSelectEnumSchema" => {
            rt::<TitledMultiSelectEnumSchema>(v)?;
            primitive_schema(v, |s| {
                matches!(s, P::Enum(EnumSchema::TitledMultiSelect(_)))
            })
        }
        "LegacyTitledEnumSchema" | "EnumSchema" => {
            rt::<LegacyTitledEnumSchema>(v)?;
            primitive_schema(v, |s| matches!(s, P::Enum(EnumSchema::LegacyTitled(_))))
        }

        // Multi round-trip requests.
        "InputRequests" => rt::<InputRequests>(v).map(drop),
        "InputResponses" => rt::<InputResponses>(v).map(drop),
        "InputRequiredResult" => {
            rt::<InputRequiredResult>(v)?;
            let r: MaybeInputRequired<CallToolResult> = rt(v)?;
            ensure(r.is_input_required(), "not taken for input required")
        }

        // Subscriptions.
        "SubscriptionsListenRequest" => {
            client_request::<SubscriptionsListenRequest>(v, method::SUBSCRIPTIONS_LISTEN)
        }
        "SubscriptionsListenResult" => {
            let r: SubscriptionsListenResult = rt(v)?;
            ensure(r.subscription_id().is_some(), "no subscription id")
        }
        "SubscriptionsListenResultResponse" => {
            result_response::<SubscriptionsListenResultResponse>(v).map(drop)
        }
        "SubscriptionsAcknowledgedNotification" => {
            server_notification::<SubscriptionsAcknowledgedNotification>(
                v,
                method::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED,
            )
        }

        // Notifications of both directions.
        "CancelledNotification" => {
            server_notification::<CancelledNotification>(v, method::NOTIFICATION_CANCELLED)?;
            client_notification::<CancelledNotification>(v, method::NOTIFICATION_CANCELLED)
        }
        "CancelledNotificationParams" => rt::<CancelledNotificationParams>(v).map(drop),
        "ProgressNotification" => {
            server_notification::<ProgressNotification>(v, method::NOTIFICATION_PROGRESS)?;
            client_notification::<ProgressNotification>(v, method::NOTIFICATION_PROGRESS)
        }
        "ProgressNotificationParams" => rt::<ProgressNotificationParams>(v).map(drop),

        // Tasks (2025-11-25).
        "Task" => rt::<Task>(v).map(drop),
        "CreateTaskResult" => rt::<CreateTaskResult>(v).map(drop),
        "GetTaskRequest" => client_request::<GetTaskRequest>(v, method::TASKS_GET),
        "GetTaskResult" => rt::<GetTaskResult>(v).map(drop),
        "GetTaskPayloadRequest" => client_request::<GetTaskPayloadRequest>(v, method::TASKS_RESULT),
        "GetTaskPayloadResult" => rt::<GetTaskPayloadResult>(v).map(drop),
        "CancelTaskRequest" => {
            client_request::<CancelTaskRequest>(v, method::TASKS_CANCEL)?;
            server_request::<CancelTaskRequest>(v, method::TASKS_CANCEL)
        }
        "CancelTaskResult" => rt::<CancelTaskResult>(v).map(drop),
        "ListTasksRequest" => client_request::<ListTasksRequest>(v, method::TASKS_LIST),
        "ListTasksResult" => rt::<ListTasksResult>(v).map(drop),
        "TaskStatusNotification" => {
            server_notification::<TaskStatusNotification>(v, method::NOTIFICATION_TASKS_STATUS)?;
            client_notification::<TaskStatusNotification>(v, method::NOTIFICATION_TASKS_STATUS)
        }

        // Errors.
        "ParseError" => error_code_is(v, error_code::PARSE_ERROR),
        "InvalidRequestError" => error_code_is(v, error_code::INVALID_REQUEST),
        "MethodNotFoundError" => error_code_is(v, error_code::METHOD_NOT_FOUND),
        "InvalidParamsError" => error_code_is(v, error_code::INVALID_PARAMS),
        "InternalError" => error_code_is(v, error_code::INTERNAL_ERROR),
        "HeaderMismatchError" => {
            rt::<HeaderMismatchError>(v)?;
            error_response_code_is(v, error_code::HEADER_MISMATCH).map(drop)
        }
        "MissingRequiredClientCapabilityError" => {
            let e = error_response_code_is(v, error_code::MISSING_REQUIRED_CLIENT_CAPABILITY)?;
            let data: MissingRequiredClientCapabilityData = e
                .error
                .data_as()
                .ok_or("no data")?
                .map_err(|err| format!("typed data: {err}"))?;
            rt::<MissingRequiredClientCapabilityData>(e.error.data.as_ref().unwrap())?;
            ensure(
                data.required_capabilities != ClientCapabilities::new(),
                "no capability named",
            )
        }
        "UnsupportedProtocolVersionError" => {
            let e = error_response_code_is(v, error_code::UNSUPPORTED_PROTOCOL_VERSION)?;
            rt::<UnsupportedProtocolVersionData>(e.error.data.as_ref().ok_or("no data")?).map(drop)
        }
        "URLElicitationRequiredError" => {
            let e = error_response_code_is(v, error_code::URL_ELICITATION_REQUIRED)?;
            rt::<URLElicitationRequiredData>(e.error.data.as_ref().ok_or("no data")?).map(drop)
        }
        "JSONRPCBatchRequest" | "JSONRPCBatchResponse" => {
            let batch: JsonRpcBatch = rt(v)?;
            ensure(!batch.is_empty(), "empty batch")?;
            let frame: jsonrpc::JsonRpcFrame = rt(v)?;
            ensure(
                matches!(frame, jsonrpc::JsonRpcFrame::Batch(_)),
                "not a batch frame",
            )
        }

        other => Err(format!(
            "no Rust type is mapped to the schema definition `{other}`"
        )),
    }
}

/// Every `<dir>/<TypeName>/*.json` under `root`, sorted.
pub fn fixtures(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = fs::read_dir(root)
        .unwrap_or_else(|e| panic!("reading {}: {e}", root.display()))
        .map(|d| d.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert!(!files.is_empty(), "{} has no JSON files", dir.display());
        files.sort();
        for f in files {
            out.push((name.clone(), f));
        }
    }
    out
}

/// Checks every fixture under `root`, failing with the list of every failure.
pub fn check_all(root: &Path) -> usize {
    let all = fixtures(root);
    let mut failures = Vec::new();
    for (name, path) in &all {
        let text = fs::read_to_string(path).unwrap();
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: invalid JSON: {e}", path.display()));
                continue;
            }
        };
        if let Err(e) = check(name, &v) {
            failures.push(format!("{} ({name}): {e}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    all.len()
}

/// The fixtures folder of this crate.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

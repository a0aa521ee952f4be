//! The typed methods of the server surface: tools, resources, prompts, completion,
//! logging. Each works with servers of both eras.

use std::collections::{BTreeMap, HashSet};

use oxmcp_protocol::completion::{
    CompleteRequestParams, CompleteResult, CompletionArgument, CompletionContext,
    CompletionReference,
};
use oxmcp_protocol::lifecycle::DiscoverResult;
use oxmcp_protocol::logging::LoggingLevel;
use oxmcp_protocol::method;
use oxmcp_protocol::prompts::{GetPromptResult, ListPromptsResult, Prompt};
use oxmcp_protocol::resources::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult, Resource,
    ResourceTemplate,
};
use oxmcp_protocol::tools::{CallToolResult, ListToolsResult, Tool};
use oxmcp_protocol::ProtocolVersion;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{CallOptions, Client};
use crate::error::{Error, Result};

/// What [`Client::call_tool_passthrough`] got back.
#[cfg(feature = "server")]
pub(crate) enum ToolAnswer {
    /// A complete result, as the caller's `pass` wrote it from the server's text (not
    /// decoded).
    Passed(String),
    /// The result, decoded and checked against the tool's `outputSchema`, or the end of
    /// the task the call started.
    Decoded(CallToolResult),
}

/// The params of a `tools/call`.
pub(super) fn tool_params(name: &str, arguments: impl Serialize) -> Result<super::OutParams> {
    let arguments = serde_json::to_string(&arguments)
        .map_err(|e| Error::serde("serialize the arguments", e))?;
    tool_params_text(name, &arguments)
}

/// The params of a `tools/call` whose arguments are JSON text (`null`: none).
pub(super) fn tool_params_text(name: &str, arguments: &str) -> Result<super::OutParams> {
    let mut arguments = std::borrow::Cow::Borrowed(arguments);
    match arguments.trim_start().as_bytes().first() {
        Some(b'{') => {}
        _ if arguments == "null" => arguments = "".into(),
        _ => {
            return Err(Error::protocol(
                "tool arguments must serialize to a JSON object",
            ))
        }
    }
    // Raw JSON (a `RawValue` passed through) may hold line breaks between its tokens: a
    // message is one line on a pipe, so such arguments are written again, compactly.
    if memchr::memchr2(b'\n', b'\r', arguments.as_bytes()).is_some() {
        let value: Value = serde_json::from_str(&arguments)
            .map_err(|e| Error::serde("serialize the arguments", e))?;
        arguments = value.to_string().into();
    }
    let mut text = String::with_capacity(name.len() + arguments.len() + 26);
    text.push_str("{\"name\":");
    super::push_key(&mut text, name);
    if !arguments.is_empty() {
        text.push_str(",\"arguments\":");
        text.push_str(&arguments);
    }
    text.push('}');
    Ok(super::OutParams::Text(text))
}

impl Client {
    /// What a modern server says about itself now (`server/discover`): its revisions,
    /// capabilities, instructions and `_meta`. An answer the server marked cacheable
    /// (`ttlMs`, `cacheScope`) is served from the cache while fresh, starting with the one
    /// of the connection's own handshake (see [`ResponseCache`](super::ResponseCache));
    /// [`discover_with`](Self::discover_with) and [`CallOptions::fresh`] ask regardless.
    /// [`server`](Self::server) keeps what the handshake found.
    ///
    /// # Errors
    /// With a legacy server ([`is_unsupported`](Error::is_unsupported): its `initialize`
    /// answer is in [`server`](Self::server)), or if the request fails.
    pub async fn discover(&self) -> Result<DiscoverResult> {
        self.discover_with(CallOptions::default()).await
    }

    /// [`discover`](Self::discover) with options (such as [`fresh`](CallOptions::fresh),
    /// which skips the cache).
    ///
    /// # Errors
    /// As [`discover`](Self::discover).
    pub async fn discover_with(&self, options: CallOptions) -> Result<DiscoverResult> {
        if !self.inner.version.is_modern() {
            return Err(Error::unsupported(format!(
                "server/discover does not exist in protocol {}; the server's initialize \
                 answer is in Client::server",
                self.inner.version
            )));
        }
        self.cached(super::cache::DISCOVER, "", Map::new(), options)
            .await
    }

    /// One page of the server's tools.
    ///
    /// # Errors
    /// If the request fails or the answer is not a tool list.
    pub async fn list_tools(&self, cursor: Option<&str>) -> Result<ListToolsResult> {
        self.list_tools_with(cursor, CallOptions::default()).await
    }

    /// One page of the server's tools, with options (such as
    /// [`fresh`](CallOptions::fresh), which skips the cache).
    ///
    /// # Errors
    /// As [`list_tools`](Self::list_tools).
    pub async fn list_tools_with(
        &self,
        cursor: Option<&str>,
        options: CallOptions,
    ) -> Result<ListToolsResult> {
        let page: ListToolsResult = self.list_page(method::TOOLS_LIST, cursor, options).await?;
        self.record_output_schemas(&page.tools);
        Ok(page)
    }

    /// Every tool, following pagination to the end.
    ///
    /// # Errors
    /// If a request fails, or the server hands out the same cursor twice.
    pub async fn list_all_tools(&self) -> Result<Vec<Tool>> {
        let tools = self
            .list_all(method::TOOLS_LIST, |p: ListToolsResult| {
                (p.tools, p.next_cursor)
            })
            .await?;
        self.record_output_schemas(&tools);
        Ok(tools)
    }

    /// Calls a tool. `arguments` must serialize to a JSON object (or `()` for none).
    ///
    /// A tool that fails in a way the model should see answers `Ok` with `is_error`
    /// set; `Err` means the call itself failed. When a modern server needs input first
    /// (sampling, elicitation, roots), the client's handlers answer it and the call is
    /// retried for you. When the server runs the call as a task (the client declared the
    /// [`tasks`](super::tasks) extension), the task is followed to its end the same way.
    ///
    /// A tool this client has seen listed with an `outputSchema` must answer with
    /// `structuredContent` that the schema accepts (unless the result is an error); the
    /// schema is compiled once, when a result first needs it.
    ///
    /// # Errors
    /// If the request fails, times out, or the server answers with a JSON-RPC error (for
    /// a task: it failed, or was cancelled); a protocol error naming the failing path if
    /// the result does not match the tool's listed `outputSchema` (or that schema is not
    /// a valid JSON Schema).
    pub async fn call_tool(&self, name: &str, arguments: impl Serialize) -> Result<CallToolResult> {
        self.call_tool_with(name, arguments, CallOptions::default())
            .await
    }

    /// Calls a tool with options: timeouts, a progress callback, cancellation.
    ///
    /// # Errors
    /// As [`call_tool`](Self::call_tool).
    pub async fn call_tool_with(
        &self,
        name: &str,
        arguments: impl Serialize,
        options: CallOptions,
    ) -> Result<CallToolResult> {
        let params = tool_params(name, arguments)?;
        let raw = self
            .request_raw(method::TOOLS_CALL, params, options)
            .await?;
        self.tool_result(name, &raw).await
    }

    /// The result of a call of tool `name` that answered `raw`: decoded and checked, or
    /// the task it started followed to its end.
    async fn tool_result(&self, name: &str, raw: &RawValue) -> Result<CallToolResult> {
        match self.tool_call(name, raw)? {
            super::tasks::ToolCall::Done(result) => Ok(result),
            super::tasks::ToolCall::Task(task) => task.wait().await,
        }
    }

    /// Calls a tool for a proxy (`arguments`: a JSON object, passed on as it is). When this
    /// client has nothing to check in the result (the tool was not listed with an
    /// `outputSchema`), a complete result is handed to `pass` as the server wrote it, which
    /// writes it for the proxy's own client (`Some`) or declines it (`None`: not a complete
    /// `CallToolResult`); the result is read only once. Else (a task, input rounds, a
    /// declined result) the result is as [`call_tool_with`](Self::call_tool_with) returns
    /// it.
    #[cfg(feature = "server")]
    pub(crate) async fn call_tool_passthrough(
        &self,
        name: &str,
        arguments: Option<Box<RawValue>>,
        options: CallOptions,
        pass: impl Fn(&RawValue) -> Option<String>,
    ) -> Result<ToolAnswer> {
        let params = tool_params_text(name, arguments.as_deref().map_or("null", RawValue::get))?;
        let checked = self.output_checked(name);
        let pass = |raw: &RawValue| if checked { None } else { pass(raw) };
        let raw = match self
            .request_classified(method::TOOLS_CALL, params, options, pass)
            .await?
        {
            super::mrtr::Classified::Passed(text) => return Ok(ToolAnswer::Passed(text)),
            super::mrtr::Classified::Result(raw) => raw,
        };
        self.tool_result(name, &raw).await.map(ToolAnswer::Decoded)
    }

    /// Checks a result of tool `name` against the `outputSchema` the tool was listed
    /// with, if any: every way of calling a tool ends here. (Without the
    /// `output-validation` feature, nothing is checked.)
    pub(super) fn check_output(&self, name: &str, result: &CallToolResult) -> Result<()> {
        #[cfg(feature = "output-validation")]
        if let Some(schema) = self.inner.output_schemas.get(name) {
            return schema
                .check(result)
                .map_err(|why| Error::protocol(format!("tool `{name}`: {why}")));
        }
        let _ = (name, result);
        Ok(())
    }

    /// Whether the results of tool `name` are checked against a listed `outputSchema`.
    #[cfg(feature = "server")]
    fn output_checked(&self, name: &str) -> bool {
        #[cfg(feature = "output-validation")]
        return self.inner.output_schemas.get(name).is_some();
        #[cfg(not(feature = "output-validation"))]
        {
            let _ = name;
            false
        }
    }

    /// Keeps the output schemas of listed tools, to check their results with.
    fn record_output_schemas(&self, tools: &[Tool]) {
        #[cfg(feature = "output-validation")]
        self.inner.output_schemas.record(tools);
        let _ = tools;
    }

    /// One page of the server's resources.
    ///
    /// # Errors
    /// If the request fails or the answer is not a resource list.
    pub async fn list_resources(&self, cursor: Option<&str>) -> Result<ListResourcesResult> {
        self.list_resources_with(cursor, CallOptions::default())
            .await
    }

    /// One page of the server's resources, with options (such as
    /// [`fresh`](CallOptions::fresh), which skips the cache).
    ///
    /// # Errors
    /// As [`list_resources`](Self::list_resources).
    pub async fn list_resources_with(
        &self,
        cursor: Option<&str>,
        options: CallOptions,
    ) -> Result<ListResourcesResult> {
        self.list_page(method::RESOURCES_LIST, cursor, options)
            .await
    }

    /// Every resource, following pagination to the end.
    ///
    /// # Errors
    /// If a request fails, or the server hands out the same cursor twice.
    pub async fn list_all_resources(&self) -> Result<Vec<Resource>> {
        self.list_all(method::RESOURCES_LIST, |p: ListResourcesResult| {
            (p.resources, p.next_cursor)
        })
        .await
    }

    /// One page of the server's resource templates.
    ///
    /// # Errors
    /// If the request fails or the answer is not a template list.
    pub async fn list_resource_templates(
        &self,
        cursor: Option<&str>,
    ) -> Result<ListResourceTemplatesResult> {
        self.list_resource_templates_with(cursor, CallOptions::default())
            .await
    }

    /// One page of the server's resource templates, with options (such as
    /// [`fresh`](CallOptions::fresh), which skips the cache).
    ///
    /// # Errors
    /// As [`list_resource_templates`](Self::list_resource_templates).
    pub async fn list_resource_templates_with(
        &self,
        cursor: Option<&str>,
        options: CallOptions,
    ) -> Result<ListResourceTemplatesResult> {
        self.list_page(method::RESOURCES_TEMPLATES_LIST, cursor, options)
            .await
    }

    /// Every resource template, following pagination to the end.
    ///
    /// # Errors
    /// If a request fails, or the server hands out the same cursor twice.
    pub async fn list_all_resource_templates(&self) -> Result<Vec<ResourceTemplate>> {
        self.list_all(
            method::RESOURCES_TEMPLATES_LIST,
            |p: ListResourceTemplatesResult| (p.resource_templates, p.next_cursor),
        )
        .await
    }

    /// Reads a resource.
    ///
    /// # Errors
    /// If the request fails; an unknown resource is an [`rpc_error`](Error::rpc_error)
    /// (code -32002 from legacy servers, -32602 from modern ones).
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult> {
        self.read_resource_with(uri, CallOptions::default()).await
    }

    /// Reads a resource with options: timeouts, a progress callback, cancellation.
    ///
    /// # Errors
    /// As [`read_resource`](Self::read_resource).
    pub async fn read_resource_with(
        &self,
        uri: &str,
        options: CallOptions,
    ) -> Result<ReadResourceResult> {
        let mut params = Map::new();
        params.insert("uri".into(), Value::String(uri.to_owned()));
        self.cached(method::RESOURCES_READ, uri, params, options)
            .await
    }

    /// One page of the server's prompts.
    ///
    /// # Errors
    /// If the request fails or the answer is not a prompt list.
    pub async fn list_prompts(&self, cursor: Option<&str>) -> Result<ListPromptsResult> {
        self.list_prompts_with(cursor, CallOptions::default()).await
    }

    /// One page of the server's prompts, with options (such as
    /// [`fresh`](CallOptions::fresh), which skips the cache).
    ///
    /// # Errors
    /// As [`list_prompts`](Self::list_prompts).
    pub async fn list_prompts_with(
        &self,
        cursor: Option<&str>,
        options: CallOptions,
    ) -> Result<ListPromptsResult> {
        self.list_page(method::PROMPTS_LIST, cursor, options).await
    }

    /// Every prompt, following pagination to the end.
    ///
    /// # Errors
    /// If a request fails, or the server hands out the same cursor twice.
    pub async fn list_all_prompts(&self) -> Result<Vec<Prompt>> {
        self.list_all(method::PROMPTS_LIST, |p: ListPromptsResult| {
            (p.prompts, p.next_cursor)
        })
        .await
    }

    /// Gets a prompt. `arguments` must serialize to a JSON object whose values are
    /// strings (a map, a struct of `String`s, or `()` for none).
    ///
    /// # Errors
    /// If an argument is not a string, or the request fails.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: impl Serialize,
    ) -> Result<GetPromptResult> {
        self.get_prompt_with(name, arguments, CallOptions::default())
            .await
    }

    /// Gets a prompt with options: timeouts, a progress callback, cancellation.
    ///
    /// # Errors
    /// As [`get_prompt`](Self::get_prompt).
    pub async fn get_prompt_with(
        &self,
        name: &str,
        arguments: impl Serialize,
        options: CallOptions,
    ) -> Result<GetPromptResult> {
        let mut params = Map::new();
        params.insert("name".into(), Value::String(name.to_owned()));
        if let Some(arguments) = string_map("prompt arguments", arguments)? {
            params.insert("arguments".into(), to_value(&arguments)?);
        }
        self.request(method::PROMPTS_GET, params, options).await
    }

    /// Asks for completions of argument `argument` of a prompt or resource template,
    /// whose value so far is `value`. `context` holds arguments already resolved, as a
    /// map of strings (or `()` for none); servers older than 2025-06-18 are not sent it.
    ///
    /// ```no_run
    /// # async fn run(client: oxmcp::client::Client) -> oxmcp::Result<()> {
    /// use oxmcp::protocol::PromptReference;
    ///
    /// let result = client
    ///     .complete(PromptReference::new("review"), "language", "ru", [("style", "terse")])
    ///     .await?;
    /// for value in result.completion.values {
    ///     println!("{value}");
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// If a context value is not a string, or the request fails.
    pub async fn complete(
        &self,
        reference: impl Into<CompletionReference>,
        argument: &str,
        value: &str,
        context: impl Serialize,
    ) -> Result<CompleteResult> {
        let mut params =
            CompleteRequestParams::new(reference, CompletionArgument::new(argument, value));
        if let Some(arguments) = string_map("completion context", context)? {
            if self.inner.version >= ProtocolVersion::V2025_06_18 {
                params = params.with_context(CompletionContext::new().with_arguments(arguments));
            }
        }
        let Value::Object(params) = to_value(&params)? else {
            unreachable!("completion params serialize to an object")
        };
        self.request(method::COMPLETION_COMPLETE, params, CallOptions::default())
            .await
    }

    /// Subscribes to updates of one resource (`resources/subscribe`, legacy servers):
    /// `notifications/resources/updated` then reaches the
    /// [`on_notification`](super::ClientBuilder::on_notification) callback.
    ///
    /// # Errors
    /// With a modern server ([`is_unsupported`](Error::is_unsupported): use
    /// [`listen`](Self::listen) with
    /// [`SubscriptionFilter::with_resource_subscriptions`](oxmcp_protocol::SubscriptionFilter::with_resource_subscriptions)),
    /// or if the request fails.
    pub async fn subscribe_resource(&self, uri: &str) -> Result<()> {
        self.legacy_resource_request(method::RESOURCES_SUBSCRIBE, uri)
            .await
    }

    /// Ends a subscription made with [`subscribe_resource`](Self::subscribe_resource).
    ///
    /// # Errors
    /// As [`subscribe_resource`](Self::subscribe_resource).
    pub async fn unsubscribe_resource(&self, uri: &str) -> Result<()> {
        self.legacy_resource_request(method::RESOURCES_UNSUBSCRIBE, uri)
            .await
    }

    /// Sets the least severe level of the log messages the server sends. Legacy
    /// servers are sent `logging/setLevel`; with modern ones the level is remembered and
    /// every later request carries it in `_meta` (`io.modelcontextprotocol/logLevel`),
    /// since a modern server only logs for requests that ask for it.
    ///
    /// # Errors
    /// If the legacy request fails.
    pub async fn set_log_level(&self, level: LoggingLevel) -> Result<()> {
        if self.inner.version.is_modern() {
            *self.inner.log_level.lock().expect("log level lock") = Some(level);
            return Ok(());
        }
        let mut params = Map::new();
        params.insert("level".into(), Value::String(level.as_str().to_owned()));
        self.request::<Value>(method::LOGGING_SET_LEVEL, params, CallOptions::default())
            .await
            .map(drop)
    }

    /// Tells a legacy server the client's roots changed
    /// (`notifications/roots/list_changed`), so that it asks for them again. Modern
    /// servers ask for the roots in each request that needs them: nothing is sent.
    ///
    /// # Errors
    /// If the connection is closed.
    pub async fn notify_roots_changed(&self) -> Result<()> {
        if self.inner.version.is_modern() {
            return Ok(());
        }
        self.inner
            .peer
            .notify(
                &self.inner.outbound,
                method::NOTIFICATION_ROOTS_LIST_CHANGED,
                None,
            )
            .await
    }

    /// The log level set with [`set_log_level`](Self::set_log_level), if any.
    pub fn log_level(&self) -> Option<LoggingLevel> {
        *self.inner.log_level.lock().expect("log level lock")
    }

    async fn legacy_resource_request(&self, method: &str, uri: &str) -> Result<()> {
        if self.inner.version.is_modern() {
            return Err(Error::unsupported(format!(
                "{method} does not exist in protocol 2026-07-28; use Client::listen with \
                 SubscriptionFilter::with_resource_subscriptions"
            )));
        }
        let mut params = Map::new();
        params.insert("uri".into(), Value::String(uri.to_owned()));
        self.request::<Value>(method, params, CallOptions::default())
            .await
            .map(drop)
    }

    async fn list_page<T: DeserializeOwned>(
        &self,
        method: &str,
        cursor: Option<&str>,
        options: CallOptions,
    ) -> Result<T> {
        let mut params = Map::new();
        if let Some(cursor) = cursor {
            params.insert("cursor".into(), Value::String(cursor.to_owned()));
        }
        self.cached(method, cursor.unwrap_or(""), params, options)
            .await
    }

    /// A request whose answer the cache may hold: a fresh cached answer for `target` (a
    /// page's cursor, a resource's URI) is served without a request, unless the call
    /// opted out; an answer the server marked cacheable is kept.
    async fn cached<T: DeserializeOwned>(
        &self,
        method: &str,
        target: &str,
        params: Map<String, Value>,
        options: CallOptions,
    ) -> Result<T> {
        let cache = self.inner.cache.as_ref();
        let decode = |text: &str| {
            serde_json::from_str(text).map_err(|e| Error::serde("decode the result", e))
        };
        if let Some(hit) = cache
            .filter(|_| !options.fresh)
            .and_then(|cache| cache.get(method, target))
        {
            return decode(&hit);
        }
        let raw = self.request_raw(method, params, options).await?;
        if let Some(cache) = cache {
            cache.put(method, target, &raw);
        }
        decode(raw.get())
    }

    /// Follows a paginated list to its end.
    async fn list_all<P: DeserializeOwned, T>(
        &self,
        method: &str,
        split: impl Fn(P) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut seen = HashSet::new();
        loop {
            let (page, next) = split(
                self.list_page(method, cursor.as_deref(), CallOptions::default())
                    .await?,
            );
            items.extend(page);
            match next {
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(Error::protocol(format!(
                        "server repeated cursor {next:?} in {method}"
                    )));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }
}

fn to_value(value: &impl Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::serde("encode the params", e))
}

/// A map of strings from anything that serializes to a JSON object of strings; `None`
/// for `()`.
fn string_map(what: &str, value: impl Serialize) -> Result<Option<BTreeMap<String, String>>> {
    let map =
        match serde_json::to_value(value).map_err(|e| Error::serde("encode the arguments", e))? {
            Value::Null => return Ok(None),
            Value::Object(map) => map,
            // A list of pairs, such as `[("k", "v")]`.
            Value::Array(pairs) => pairs
                .into_iter()
                .map(|pair| match pair {
                    Value::Array(mut kv) if kv.len() == 2 => match (kv.remove(0), kv.remove(0)) {
                        (Value::String(k), v) => Ok((k, v)),
                        _ => Err(Error::protocol(format!("{what}: keys must be strings"))),
                    },
                    _ => Err(Error::protocol(format!(
                        "{what} must serialize to a JSON object of strings or a list of pairs"
                    ))),
                })
                .collect::<Result<Map<String, Value>>>()?,
            _ => {
                return Err(Error::protocol(format!(
                    "{what} must serialize to a JSON object of strings"
                )))
            }
        };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            other => Err(Error::protocol(format!(
                "{what}: {k:?} must be a string, got {other}"
            ))),
        })
        .collect::<Result<_>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(name: &str, arguments: &str) -> Result<Value> {
        match tool_params_text(name, arguments)? {
            super::super::OutParams::Text(text) => Ok(serde_json::from_str(&text).unwrap()),
            super::super::OutParams::Map(_) => unreachable!(),
        }
    }

    #[test]
    fn tool_params_from_text_are_one_line_and_escape_the_name() {
        assert_eq!(params("t", "null").unwrap(), json!({"name": "t"}));
        let quoted = params("a \"q\"\\", r#"{"x":1}"#).unwrap();
        assert_eq!(quoted, json!({"name": "a \"q\"\\", "arguments": {"x": 1}}));
        // Line breaks between tokens are written away: the params go on one line.
        let text = match tool_params_text("t", "{\n \"x\": [1,\r\n2]\n}").unwrap() {
            super::super::OutParams::Text(text) => text,
            super::super::OutParams::Map(_) => unreachable!(),
        };
        assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
        let err = params("t", " [1]").unwrap_err();
        assert!(err.to_string().contains("JSON object"), "{err}");
    }

    #[test]
    fn string_maps_from_maps_structs_and_pairs() {
        assert_eq!(string_map("x", ()).unwrap(), None);
        let from_pairs = string_map("x", [("a", "1"), ("b", "2")]).unwrap().unwrap();
        assert_eq!(from_pairs["b"], "2");
        let from_json = string_map("x", json!({"a": "1"})).unwrap().unwrap();
        assert_eq!(from_json["a"], "1");
        let err = string_map("prompt arguments", json!({"n": 3})).unwrap_err();
        assert!(err.to_string().contains("\"n\" must be a string"), "{err}");
        assert!(string_map("x", 5).is_err());
    }

    fn text(params: super::super::OutParams) -> serde_json::Value {
        use super::super::OutParams;
        let OutParams::Text(text) = params else {
            panic!("a tool call's params are written as text");
        };
        assert!(!text.contains('\n'), "{text}");
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn tool_params_are_one_line_of_json_whatever_the_arguments() {
        assert_eq!(
            text(tool_params("a \"b\"", json!({"x": [1, "y"]})).unwrap()),
            json!({"name": "a \"b\"", "arguments": {"x": [1, "y"]}})
        );
        assert_eq!(text(tool_params("t", ()).unwrap()), json!({"name": "t"}));
        assert_eq!(
            text(tool_params("t", None::<serde_json::Value>).unwrap()),
            json!({"name": "t"})
        );
        // Raw arguments pass through, compacted when they span lines.
        let raw = serde_json::value::RawValue::from_string(
            "{\n  \"s\": \"a\\nb\",\r\n  \"n\": 1\n}".to_owned(),
        )
        .unwrap();
        assert_eq!(
            text(tool_params("t", &raw).unwrap()),
            json!({"name": "t", "arguments": {"s": "a\nb", "n": 1}})
        );
        let raw = serde_json::value::RawValue::from_string(r#"{"k":"v"}"#.to_owned()).unwrap();
        assert_eq!(
            text(tool_params("t", Some(raw)).unwrap()),
            json!({"name": "t", "arguments": {"k": "v"}})
        );
        for bad in [json!(1), json!("x"), json!([1])] {
            let error = tool_params("t", bad).err().unwrap();
            assert!(error.to_string().contains("JSON object"), "{error}");
        }
    }
}

//! Resources and completion on a connection: `resources/read` (static resources and
//! templates), `completion/complete`, and `resources/subscribe` / `unsubscribe`.

use oxmcp_protocol::completion::{CompleteRequestParams, Completion, CompletionReference};
use oxmcp_protocol::error::echo;
use oxmcp_protocol::jsonrpc::ErrorObject;
use serde_json::value::RawValue;

use super::super::extract::{decode_params, Request, Target};
use super::super::reply::{complete_result, encode, encode_with_meta};
use super::layers::item_layers;
use super::params::{ReadParams, UriParams};
use super::{Connection, Env, Scoped};
use crate::rpc::{Dispatch, Reply, RequestCx};

impl Connection {
    pub(super) fn read_resource(
        &self,
        env: Env,
        params: Option<&RawValue>,
        cx: RequestCx,
    ) -> Dispatch {
        let read: ReadParams<'_> = match decode_params(params.map_or("{}", RawValue::get)) {
            Ok(read) => read,
            Err(e) => return Dispatch::Now(Err(e)),
        };
        let version = env.version;
        let (entry, variables) = match self.shared.find_resource(&read.uri, version) {
            Ok(found) => found,
            Err(e) => return Dispatch::Now(Err(e)),
        };
        if let Err(error) = self.permits(&env, entry.handler.scopes(), Scoped::Resource(&read.uri))
        {
            return Dispatch::Now(Err(error));
        }
        let uri = read.uri.clone();
        let retry = super::super::ask::Retry {
            input_responses: read.input_responses,
            request_state: read.request_state.as_deref(),
        };
        let target = Target::Resource {
            uri: read.uri,
            variables,
        };
        let request = Request {
            context: self.context(env, cx, "resources/read", target, None),
        };
        let layered = entry
            .handler
            .layers()
            .map(|layers| (layers.clone(), request.context.clone()));
        let shared = self.shared.clone();
        let dispatch = self.run_handler(
            &entry.handler,
            request,
            "resources/read",
            retry,
            move |outcome| {
                let contents = outcome.and_then(|build| build(&uri, entry.mime_type.as_deref()));
                let contents = contents.map_err(|e| e.into_error_object(version))?;
                let mut result = oxmcp_protocol::resources::ReadResourceResult::new(contents);
                if version.is_modern() {
                    let config = shared.config();
                    result.result_type = Some(oxmcp_protocol::result::ResultType::Complete);
                    result.ttl_ms = Some(config.cache.resources.ttl_ms);
                    result.cache_scope = Some(config.cache.resources.scope);
                    return encode_with_meta(&result, &shared);
                }
                encode(&result)
            },
        );
        match layered {
            Some((layers, context)) => {
                item_layers(&layers, "resources/read", &context, dispatch, None)
            }
            None => dispatch,
        }
    }

    pub(super) fn complete(&self, env: &Env, params: Option<&RawValue>) -> Dispatch {
        let request: CompleteRequestParams = match decode_params(params.map_or("{}", RawValue::get))
        {
            Ok(request) => request,
            Err(e) => return Dispatch::Now(Err(e)),
        };
        let completers = match &request.reference {
            CompletionReference::Prompt(p) => match self.shared.prompts.snapshot().get(&p.name) {
                Some(prompt) => prompt.completers.clone(),
                None => {
                    return Dispatch::Now(Err(ErrorObject::invalid_params(format!(
                        "unknown prompt: {}",
                        echo(&p.name)
                    ))))
                }
            },
            CompletionReference::ResourceTemplate(r) => {
                let templates = self.shared.templates.snapshot();
                match templates
                    .items
                    .values()
                    .find(|t| t.entry.template.as_str() == r.uri)
                {
                    Some(t) => t.entry.entry.completers.clone(),
                    None => match self.shared.resources.snapshot().get(&r.uri) {
                        Some(resource) => resource.completers.clone(),
                        None => {
                            return Dispatch::Now(Err(ErrorObject::invalid_params(format!(
                                "unknown resource template: {}",
                                echo(&r.uri)
                            ))))
                        }
                    },
                }
            }
        };
        let modern = env.version.is_modern();
        let Some((_, completer)) = completers
            .into_iter()
            .find(|(name, _)| *name == request.argument.name)
        else {
            return Dispatch::Now(encode(&complete_result(
                Completion::new(Vec::new()),
                modern,
            )));
        };
        let ask = super::super::completion::Complete {
            argument: request.argument.name,
            value: request.argument.value,
            context: request
                .context
                .and_then(|c| c.arguments)
                .unwrap_or_default(),
        };
        Dispatch::Later(Box::pin(async move {
            encode(&complete_result((completer.0)(ask).await, modern))
        }))
    }

    pub(super) fn subscribe(&self, params: Option<&RawValue>, add: bool) -> Reply {
        let target: UriParams = decode_params(params.map_or("{}", RawValue::get))?;
        let mut subscribed = self.subscribed.lock().expect("subscriptions lock");
        if add {
            subscribed.insert(target.uri);
        } else {
            subscribed.remove(&target.uri);
        }
        Ok("{}".to_owned())
    }
}

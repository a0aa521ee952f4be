//! The built server: registries frozen, list results serialized once.

use std::sync::Arc;

use indexmap::IndexMap;
use oxmcp_protocol::jsonrpc::ErrorObject;
use oxmcp_protocol::lifecycle::{
    DiscoverResult, Implementation, InitializeResult, ServerCapabilities, ToolsCapability,
};
use oxmcp_protocol::meta::{Meta, SERVER_INFO};
use oxmcp_protocol::result::{CacheScope, ResultType};
use oxmcp_protocol::tools::{ListToolsResult, Tool};
use oxmcp_protocol::ProtocolVersion;
use serde_json::value::RawValue;

use super::tool::ErasedTool;
use crate::rpc::Reply;

/// Cache hints attached to cacheable results of the modern era.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheHints {
    /// How long a client may reuse the result, in milliseconds (0: re-fetch every time).
    pub ttl_ms: u64,
    /// Whether shared caches may serve the result across users.
    pub scope: CacheScope,
}

impl CacheHints {
    /// Hints with a time to live and a scope.
    pub fn new(ttl_ms: u64, scope: CacheScope) -> Self {
        CacheHints { ttl_ms, scope }
    }
}

impl Default for CacheHints {
    /// Immediately stale and private: safe for any server.
    fn default() -> Self {
        CacheHints {
            ttl_ms: 0,
            scope: CacheScope::Private,
        }
    }
}

pub(crate) struct Server {
    tools: IndexMap<String, Arc<dyn ErasedTool<()>>>,
    info: Implementation,
    instructions: Option<String>,
    capabilities: ServerCapabilities,
    server_info_meta: Meta,
    supported: Vec<&'static str>,
    tools_list_legacy: String,
    tools_list_modern: String,
    discover: String,
}

pub(crate) struct ServerParts {
    pub(crate) tools: Vec<(Tool, Arc<dyn ErasedTool<()>>)>,
    pub(crate) info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) cache: CacheHints,
}

impl Server {
    pub(crate) fn new(parts: ServerParts) -> Self {
        let mut capabilities = ServerCapabilities::default();
        capabilities.tools = Some(ToolsCapability::default());
        capabilities.logging = Some(Default::default());
        let mut server_info_meta = Meta::new();
        server_info_meta.insert(
            SERVER_INFO.to_owned(),
            serde_json::to_value(&parts.info).unwrap_or_default(),
        );
        // Modern first, then legacy, newest first within each.
        let mut supported: Vec<&'static str> = ProtocolVersion::ALL
            .iter()
            .rev()
            .map(|v| v.as_str())
            .collect();
        supported.sort_by_key(|v| ProtocolVersion::parse(v).is_some_and(|p| p.is_legacy()));

        let defs: Vec<Tool> = parts.tools.iter().map(|(def, _)| def.clone()).collect();
        let legacy = ListToolsResult::new(defs.clone());
        let mut modern = ListToolsResult::new(defs);
        modern.result_type = Some(ResultType::Complete);
        modern.ttl_ms = Some(parts.cache.ttl_ms);
        modern.cache_scope = Some(parts.cache.scope);
        modern.meta = Some(server_info_meta.clone());

        let mut discover = DiscoverResult::new(
            supported.iter().map(|s| (*s).to_owned()).collect(),
            capabilities.clone(),
        );
        discover.result_type = Some(ResultType::Complete);
        discover.ttl_ms = Some(parts.cache.ttl_ms);
        discover.cache_scope = Some(parts.cache.scope);
        discover.instructions = parts.instructions.clone();
        discover.meta = Some(server_info_meta.clone());

        let encode = |v: &dyn erased::Encode| v.encode();
        Server {
            tools: parts
                .tools
                .into_iter()
                .map(|(def, h)| (def.name, h))
                .collect(),
            info: parts.info,
            instructions: parts.instructions,
            capabilities,
            server_info_meta,
            supported,
            tools_list_legacy: encode(&legacy),
            tools_list_modern: encode(&modern),
            discover: encode(&discover),
        }
    }

    pub(crate) fn tool(&self, name: &str) -> Option<&Arc<dyn ErasedTool<()>>> {
        self.tools.get(name)
    }

    pub(crate) fn server_info_meta(&self) -> Meta {
        self.server_info_meta.clone()
    }

    pub(crate) fn supported_list(&self) -> String {
        self.supported.join(", ")
    }

    pub(crate) fn unsupported_version(&self, requested: &str) -> ErrorObject {
        ErrorObject::unsupported_protocol_version(requested, &self.supported)
    }

    pub(crate) fn initialize_result(&self, version: ProtocolVersion) -> String {
        let mut result = InitializeResult::new(
            version.as_str().to_owned(),
            self.capabilities.clone(),
            self.info.clone(),
        );
        result.instructions = self.instructions.clone();
        erased::Encode::encode(&result)
    }

    pub(crate) fn discover_result(&self) -> String {
        self.discover.clone()
    }

    pub(crate) fn empty_result(&self, version: ProtocolVersion) -> String {
        if version.is_modern() {
            r#"{"resultType":"complete"}"#.to_owned()
        } else {
            "{}".to_owned()
        }
    }

    pub(crate) fn list_tools(&self, version: ProtocolVersion, params: Option<&RawValue>) -> Reply {
        #[derive(serde::Deserialize)]
        struct ListParams {
            #[serde(default)]
            cursor: Option<String>,
        }
        if let Some(raw) = params {
            let list: ListParams = super::extract::decode_params(raw.get())?;
            if let Some(cursor) = list.cursor {
                return Err(ErrorObject::invalid_params(format!(
                    "invalid cursor: {cursor:?}"
                )));
            }
        }
        Ok(if version.is_modern() {
            self.tools_list_modern.clone()
        } else {
            self.tools_list_legacy.clone()
        })
    }
}

mod erased {
    pub(super) trait Encode {
        fn encode(&self) -> String;
    }

    impl<T: serde::Serialize> Encode for T {
        fn encode(&self) -> String {
            serde_json::to_string(self).expect("protocol types always serialize")
        }
    }
}

use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;

use super::{FromRequest, Request, Target};
use crate::server::error::ToolError;

/// The variables of the resource template a `resources/read` matched, decoded into `T`.
///
/// Variables arrive as strings and are parsed like a query string, so numeric and boolean
/// fields work:
///
/// ```
/// use oxmcp::server::{Router, Uri};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Profile { id: u32 }
///
/// async fn profile(Uri(p): Uri<Profile>) -> String {
///     format!("user {}", p.id)
/// }
///
/// let router: Router = Router::new().resource_template("users://{id}/profile", profile);
/// # let _ = router;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Uri<T>(pub T);

impl<T: DeserializeOwned + Send, S: Sync> FromRequest<S> for Uri<T> {
    async fn from_request(request: &Request, _state: &S) -> Result<Self, ToolError> {
        let Target::Resource { variables, .. } = request.target() else {
            return Err(ToolError::internal(
                "`Uri<T>` only works in resource handlers",
            ));
        };
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(variables)
            .finish();
        serde_urlencoded::from_str(&query)
            .map(Uri)
            .map_err(|e| ToolError::invalid_arguments(format!("invalid URI: {e}")))
    }
}

/// The URI a `resources/read` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUri(pub String);

impl<S: Sync> FromRequest<S> for ResourceUri {
    async fn from_request(request: &Request, _state: &S) -> Result<Self, ToolError> {
        match request.target() {
            Target::Resource { uri, .. } => Ok(ResourceUri(uri.clone())),
            _ => Err(ToolError::internal(
                "`ResourceUri` only works in resource handlers",
            )),
        }
    }
}

impl<T> Deref for Uri<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Uri<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

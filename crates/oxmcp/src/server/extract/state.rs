use std::ops::{Deref, DerefMut};

use super::{FromRequest, Request};
use crate::server::error::ToolError;

/// The router's state, supplied by [`Router::with_state`](crate::server::Router::with_state).
///
/// State is cloned for each call: wrap what is expensive to clone in an `Arc`.
///
/// ```
/// use std::sync::Arc;
/// use oxmcp::server::{Router, State};
///
/// #[derive(Clone)]
/// struct AppState { greeting: Arc<str> }
///
/// async fn greet(State(state): State<AppState>) -> String {
///     state.greeting.to_string()
/// }
///
/// let router: Router = Router::new()
///     .tool("greet", greet)
///     .with_state(AppState { greeting: "hello".into() });
/// # let _ = router;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<S>(pub S);

impl<S: Clone + Send + Sync> FromRequest<S> for State<S> {
    async fn from_request(_call: &Request, state: &S) -> Result<Self, ToolError> {
        Ok(State(state.clone()))
    }
}

impl<S> Deref for State<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

impl<S> DerefMut for State<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.0
    }
}

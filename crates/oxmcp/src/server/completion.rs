//! Completions: suggested values for prompt arguments and template variables.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use oxmcp_protocol::completion::Completion;

use crate::rpc::BoxFuture;

/// The most values one completion result may carry.
const MAX_VALUES: usize = 100;

/// A `completion/complete` request for one argument.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Complete {
    /// The argument (or template variable) being completed.
    pub argument: String,
    /// What the user typed so far.
    pub value: String,
    /// Values of the other arguments, already resolved.
    pub context: BTreeMap<String, String>,
}

/// Converts a completer's output into a completion result.
pub trait IntoCompletion {
    /// The completion; at most 100 values are sent, with `total` and `hasMore` set when
    /// there were more.
    fn into_completion(self) -> Completion;
}

impl IntoCompletion for Vec<String> {
    fn into_completion(self) -> Completion {
        let total = self.len();
        let mut values = self;
        let more = total > MAX_VALUES;
        values.truncate(MAX_VALUES);
        let mut completion = Completion::new(values);
        if more {
            completion.total = Some(total as u64);
            completion.has_more = Some(true);
        }
        completion
    }
}

impl IntoCompletion for Vec<&'static str> {
    fn into_completion(self) -> Completion {
        self.into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
            .into_completion()
    }
}

impl IntoCompletion for Completion {
    fn into_completion(self) -> Completion {
        let mut completion = self;
        if completion.values.len() > MAX_VALUES {
            let total = completion.total.unwrap_or(completion.values.len() as u64);
            completion.values.truncate(MAX_VALUES);
            completion.total = Some(total);
            completion.has_more = Some(true);
        }
        completion
    }
}

/// A completer with its types erased.
#[derive(Clone)]
pub struct Completer(pub(crate) Arc<dyn Fn(Complete) -> BoxFuture<Completion> + Send + Sync>);

impl std::fmt::Debug for Completer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Completer")
    }
}

/// Anything usable as a completer: an async function of [`Complete`], or a fixed list of
/// values (filtered by prefix).
pub trait IntoCompleter<M> {
    /// The erased completer.
    fn into_completer(self) -> Completer;
}

/// Tells an async function's impl from a fixed list's.
pub struct AsyncCompleter;
/// Tells a fixed list's impl from an async function's.
pub struct FixedValues;

impl<F, Fut, R> IntoCompleter<(AsyncCompleter, R)> for F
where
    F: Fn(Complete) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoCompletion,
{
    fn into_completer(self) -> Completer {
        Completer(Arc::new(move |request| {
            let future = self(request);
            Box::pin(async move { future.await.into_completion() })
        }))
    }
}

impl<const N: usize> IntoCompleter<FixedValues> for [&'static str; N] {
    fn into_completer(self) -> Completer {
        Completer(Arc::new(move |request: Complete| {
            let prefix = request.value.to_lowercase();
            let values: Vec<String> = self
                .iter()
                .filter(|v| v.to_lowercase().starts_with(&prefix))
                .map(|v| (*v).to_owned())
                .collect();
            Box::pin(std::future::ready(values.into_completion()))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fixed_lists_filter_by_prefix() {
        let completer = ["python", "pytorch", "rust"].into_completer();
        let request = Complete {
            argument: "lang".into(),
            value: "Py".into(),
            context: BTreeMap::new(),
        };
        assert_eq!((completer.0)(request).await.values, ["python", "pytorch"]);
    }

    #[test]
    fn long_lists_are_capped() {
        let values: Vec<String> = (0..250).map(|i| i.to_string()).collect();
        let completion = values.into_completion();
        assert_eq!(completion.values.len(), 100);
        assert_eq!(completion.total, Some(250));
        assert_eq!(completion.has_more, Some(true));
    }
}

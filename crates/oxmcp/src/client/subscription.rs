//! `subscriptions/listen` (2026-07-28): one long-lived request per notification stream.
//!
//! The server answers a listen request with `notifications/subscriptions/acknowledged`,
//! then sends the notifications asked for, each tagged with
//! `_meta["io.modelcontextprotocol/subscriptionId"]` = the listen request's id. The
//! request stays open until the client cancels it (`notifications/cancelled`) or the
//! server ends it with a result.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use oxmcp_protocol::jsonrpc::RequestId;
use oxmcp_protocol::method::SUBSCRIPTIONS_LISTEN;
use oxmcp_protocol::subscriptions::SubscriptionFilter;
use oxmcp_protocol::ServerNotification;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Client;
use crate::error::{Error, Result};
use crate::rpc::RequestOptions;

/// What a subscription's stream carries.
pub(crate) enum Event {
    /// A notification tagged with the subscription's id.
    Notification(ServerNotification),
    /// The listen request ended: `Ok` when the server ended it with a result.
    End(Result<()>),
}

/// The live subscriptions of a connection, by the id of their listen request.
#[derive(Default)]
pub(crate) struct Subscriptions {
    live: Mutex<HashMap<RequestId, mpsc::UnboundedSender<Event>>>,
}

impl Subscriptions {
    fn open(&self, id: RequestId) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.live.lock().expect("subscriptions lock").insert(id, tx);
        rx
    }

    fn finish(&self, id: &RequestId, outcome: Result<()>) {
        let tx = self.live.lock().expect("subscriptions lock").remove(id);
        if let Some(tx) = tx {
            let _ = tx.send(Event::End(outcome));
        }
    }

    /// Hands a notification tagged with subscription `id` to its subscription. Returns
    /// whether a live subscription has that id.
    pub(crate) fn deliver(&self, id: &RequestId, notification: ServerNotification) -> bool {
        match self.live.lock().expect("subscriptions lock").get(id) {
            Some(tx) => {
                // A subscription dropped a moment ago no longer reads; that is fine.
                let _ = tx.send(Event::Notification(notification));
                true
            }
            None => false,
        }
    }
}

/// A live `subscriptions/listen` stream (2026-07-28), opened by [`Client::listen`].
///
/// Read the notifications with [`next`](Self::next), or as a [`Stream`](futures_util::Stream).
/// Dropping the subscription (or [`close`](Self::close)) cancels the listen request: the
/// server is sent `notifications/cancelled`. Notifications queue until they are read.
#[must_use = "dropping a subscription cancels it"]
pub struct Subscription {
    id: RequestId,
    acknowledged: SubscriptionFilter,
    buffered: VecDeque<ServerNotification>,
    events: mpsc::UnboundedReceiver<Event>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    finished: bool,
}

impl Subscription {
    /// The subscription id: the id of the `subscriptions/listen` request.
    pub fn id(&self) -> &oxmcp_protocol::RequestId {
        &self.id
    }

    /// The notifications the server agreed to send (from its acknowledgement); those
    /// it does not support are left out.
    pub fn acknowledged(&self) -> &SubscriptionFilter {
        &self.acknowledged
    }

    /// The next notification. `None` once the stream has ended: the server ended the
    /// subscription, or it failed (the failure is yielded once, as `Some(Err(..))`,
    /// before the `None`: an error response, a closed connection).
    pub async fn next(&mut self) -> Option<Result<ServerNotification>> {
        std::future::poll_fn(|cx| self.poll_item(cx)).await
    }

    /// Cancels the subscription and waits until its listen request has ended and the
    /// `notifications/cancelled` for it is queued to the server.
    pub async fn close(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<ServerNotification>>> {
        if let Some(notification) = self.buffered.pop_front() {
            return Poll::Ready(Some(Ok(notification)));
        }
        if self.finished {
            return Poll::Ready(None);
        }
        match self.events.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Event::Notification(n))) => Poll::Ready(Some(Ok(n))),
            Poll::Ready(Some(Event::End(Err(e)))) => {
                self.finished = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(Event::End(Ok(())))) | Poll::Ready(None) => {
                self.finished = true;
                Poll::Ready(None)
            }
        }
    }

    /// Waits for the acknowledgement; notifications before it are kept for `next`.
    async fn acknowledgement(&mut self) -> Result<()> {
        loop {
            match self.events.recv().await {
                Some(Event::Notification(ServerNotification::SubscriptionsAcknowledged(ack))) => {
                    self.acknowledged = ack.notifications;
                    return Ok(());
                }
                Some(Event::Notification(other)) => self.buffered.push_back(other),
                Some(Event::End(Err(e))) => return Err(e),
                Some(Event::End(Ok(()))) => {
                    return Err(Error::protocol(
                        "the server ended the subscription before acknowledging it",
                    ))
                }
                None => return Err(Error::closed()),
            }
        }
    }
}

impl futures_util::Stream for Subscription {
    type Item = Result<ServerNotification>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_item(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("acknowledged", &self.acknowledged)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Opens a `subscriptions/listen` stream (2026-07-28) for the notifications `filter`
    /// asks for, and waits for the server's acknowledgement (within the client's request
    /// timeout).
    ///
    /// Notifications tagged with this subscription go to the returned [`Subscription`],
    /// not to the [`on_notification`](super::ClientBuilder::on_notification) callback.
    ///
    /// ```no_run
    /// # async fn run(client: oxmcp::client::Client) -> oxmcp::Result<()> {
    /// use oxmcp::protocol::{ServerNotification, SubscriptionFilter};
    ///
    /// let filter = SubscriptionFilter::new()
    ///     .with_tools_list_changed(true)
    ///     .with_resource_subscriptions(vec!["file:///notes.txt".into()]);
    /// let mut subscription = client.listen(filter).await?;
    /// while let Some(notification) = subscription.next().await {
    ///     if let ServerNotification::ResourceUpdated(p) = notification? {
    ///         let _ = client.read_resource(&p.uri).await?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// With a legacy server ([`is_unsupported`](Error::is_unsupported): use
    /// [`subscribe_resource`](Self::subscribe_resource) and the notification callback
    /// instead), if the server answers with an error, or if no acknowledgement arrives in
    /// time.
    pub async fn listen(&self, filter: SubscriptionFilter) -> Result<Subscription> {
        if !self.inner.version.is_modern() {
            return Err(Error::unsupported(format!(
                "subscriptions/listen needs protocol 2026-07-28 and this server speaks {}; \
                 use subscribe_resource and ClientBuilder::on_notification instead",
                self.inner.version
            )));
        }
        let id = self.inner.peer.next_id();
        let mut params = Map::new();
        params.insert(
            "notifications".into(),
            serde_json::to_value(&filter).map_err(|e| Error::serde("encode the filter", e))?,
        );
        params.insert("_meta".into(), Value::Object(self.request_meta(None)));
        let params = Value::Object(params).to_string();

        let events = self.inner.subscriptions.open(id.clone());
        let cancel = CancellationToken::new();
        let task = {
            let (peer, outbound) = (self.inner.peer.clone(), self.inner.outbound.clone());
            let subscriptions = self.inner.subscriptions.clone();
            let (id, cancel) = (id.clone(), cancel.clone());
            tokio::spawn(async move {
                let options = RequestOptions {
                    cancel: Some(cancel),
                    ..Default::default()
                };
                let outcome = peer
                    .request(
                        &outbound,
                        id.clone(),
                        SUBSCRIPTIONS_LISTEN,
                        Some(&params),
                        options,
                    )
                    .await;
                subscriptions.finish(&id, outcome.map(drop));
            })
        };
        let mut subscription = Subscription {
            id,
            acknowledged: SubscriptionFilter::default(),
            buffered: VecDeque::new(),
            events,
            cancel,
            task: Some(task),
            finished: false,
        };
        let acknowledged = match self.inner.timeout {
            Some(limit) => tokio::time::timeout(limit, subscription.acknowledgement())
                .await
                .unwrap_or_else(|_| Err(Error::timeout(limit))),
            None => subscription.acknowledgement().await,
        };
        acknowledged.map(|()| subscription)
    }
}

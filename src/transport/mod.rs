//! The network seam: what the runtime needs from a transport, and two implementations —
//! [`memory`] (in-process, the embedded default) and, behind the `zenoh` feature (on by
//! default), `zenoh` (processes and machines, peer-to-peer or through routers).
//!
//! The primitives follow Zenoh's model so that a Zenoh session implements them directly:
//! publications to subscribers by key expression, queryables answering queries with any
//! number of replies, and liveliness tokens whose disappearance is observed by watchers.
//! Transports move opaque bytes; envelopes, signatures and validation live above them.

pub mod keyexpr;
pub mod memory;
#[cfg(feature = "zenoh")]
pub mod zenoh;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use futures::future::BoxFuture;
use tokio::sync::mpsc;

/// A failure of the transport itself (not of the thing on the other side).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A key expression that is not well formed.
    #[error("invalid key expression `{0}`")]
    InvalidKey(String),
    /// The session is closed.
    #[error("the transport session is closed")]
    Closed,
    /// The transport could not be opened or reached its peers.
    #[error("transport unavailable: {0}")]
    Unavailable(String),
    /// The transport's configuration is invalid (a bad endpoint, an unreadable config file).
    #[error("invalid transport configuration: {0}")]
    Config(String),
    /// Any other failure reported by the underlying network library.
    #[error("transport failure: {0}")]
    Other(String),
}

/// A message received by a subscriber, or a reply to a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The concrete key it was published on (shared: a subscription mostly receives one key).
    pub key: std::sync::Arc<str>,
    /// Its bytes.
    pub payload: Bytes,
}

/// One reply to a query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A reply on a key.
    Ok(Sample),
    /// An error reply (its payload describes the error).
    Err(Bytes),
}

/// A change of a liveliness token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Liveliness {
    /// The token exists (declared, or already there when the watch started).
    Alive(String),
    /// The token is gone (undeclared, or its session died).
    Gone(String),
}

/// Sends replies to one query. Dropping the last [`Query`] holding it ends the query for the
/// requester.
pub trait Replier: Send + Sync {
    /// Sends a reply on `key`.
    fn reply(&self, key: &str, payload: Bytes) -> Result<(), TransportError>;
    /// Sends an error reply.
    fn reply_err(&self, payload: Bytes) -> Result<(), TransportError>;
    /// The client whose session seals these replies (`docs/protocol.md` §10), if any: replies
    /// are then framed unsigned, the session authenticating them.
    fn session_peer(&self) -> Option<crate::identity::PublicKey> {
        None
    }
}

/// A query received by a queryable.
pub struct Query {
    /// The key expression the requester asked for.
    pub key_expr: String,
    /// The payload sent with the query, if any.
    pub payload: Option<Bytes>,
    /// Where replies go.
    pub replier: Box<dyn Replier>,
}

impl Query {
    /// Sends a reply on `key`.
    pub fn reply(&self, key: &str, payload: Bytes) -> Result<(), TransportError> {
        self.replier.reply(key, payload)
    }

    /// The client whose session seals the replies to this query, if it came in one.
    pub fn session_peer(&self) -> Option<crate::identity::PublicKey> {
        self.replier.session_peer()
    }

    /// Sends an error reply.
    pub fn reply_err(&self, payload: Bytes) -> Result<(), TransportError> {
        self.replier.reply_err(payload)
    }
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("key_expr", &self.key_expr)
            .field("payload", &self.payload.as_ref().map(Bytes::len))
            .finish_non_exhaustive()
    }
}

/// Keeps a declaration alive; dropping it undeclares.
pub type Guard = Box<dyn Send + Sync>;

/// Called with each query that a [`Transport::serve_queries`] declaration receives.
///
/// It may run on the transport's receive thread, so it must not block: quick work (checking a
/// request, replying) is done in the call, anything longer is handed to a task. It runs
/// inside the tokio runtime the declaration was made from.
pub type QueryHandler = std::sync::Arc<dyn Fn(Query) + Send + Sync>;

/// Calls `handler` with `query`, containing a panic: the handler's query is lost (which ends it
/// for the requester), not the declaration serving `key_expr` nor the thread calling it.
pub(crate) fn call_query_handler(handler: &QueryHandler, query: Query, key_expr: &str) {
    let call = std::panic::AssertUnwindSafe(|| handler(query));
    if std::panic::catch_unwind(call).is_err() {
        tracing::error!(key_expr, "a query handler panicked");
    }
}

/// A stream of items from a declaration (subscriber, queryable, reply stream, liveliness watch).
/// Dropping it undeclares what it came from.
pub struct Receiver<T> {
    rx: mpsc::Receiver<T>,
    /// Items taken from the channel together, the next one last. Taking what is there in one
    /// step gives its room back to the sender in one step too; tokio locks the channel's list
    /// of waiting senders for each such step, a cost per item in floods of small messages.
    taken: Vec<T>,
    _guard: Guard,
}

impl<T> Receiver<T> {
    /// The most items taken from the channel in one step.
    const TAKE: usize = 32;

    /// Wraps a channel receiver and the guard of its declaration.
    pub fn new(rx: mpsc::Receiver<T>, guard: Guard) -> Receiver<T> {
        Receiver {
            rx,
            taken: Vec::new(),
            _guard: guard,
        }
    }

    /// The next item; `None` once the declaration ended.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_item(cx)).await
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if let Some(item) = self.taken.pop() {
            return Poll::Ready(Some(item));
        }
        match self.rx.poll_recv_many(cx, &mut self.taken, Self::TAKE) {
            Poll::Ready(0) => Poll::Ready(None),
            Poll::Ready(_) => {
                self.taken.reverse();
                Poll::Ready(self.taken.pop())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

// Items are never pinned in place: they are only moved in and out of the buffer.
impl<T> Unpin for Receiver<T> {}

impl<T> Stream for Receiver<T> {
    type Item = T;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_item(cx)
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Samples published on keys matching a subscription.
pub type Subscriber = Receiver<Sample>;
/// Queries addressed to a queryable.
pub type Queryable = Receiver<Query>;
/// Replies to one query; ends when every queryable has finished or the timeout passed.
pub type Replies = Receiver<Reply>;
/// Liveliness changes of tokens matching a watch, starting with the tokens alive now.
pub type LivelinessWatch = Receiver<Liveliness>;

/// How many undelivered items a declaration's channel buffers before new ones are dropped (a
/// [`Receiver`] may hold a few more it has taken out). Streams carry sequence numbers, so a
/// consumer that falls behind sees the gap.
pub const CHANNEL_CAPACITY: usize = 1024;

/// What the runtime needs from a network.
///
/// Implementations must be cheap to share (`Arc<dyn Transport>`), must never block the
/// caller's thread, and must deliver a session's own publications and queries to its own
/// subscribers and queryables too (a device and its client may share one session).
pub trait Transport: Send + Sync + 'static {
    /// Publishes `payload` on the concrete key `key`.
    fn publish(&self, key: &str, payload: Bytes) -> Publishing<'_>;

    /// Publishes `frames` on the concrete key `key`, in order, so that subscribers receive
    /// each as a sample of its own. The default publishes them one after the other; a
    /// transport that pays for every sample it routes may carry several in one
    /// ([bundles](crate::bundle), as Zenoh does) and split them again on receipt.
    fn publish_frames(&self, key: &str, frames: Vec<Bytes>) -> Publishing<'_> {
        let key = key.to_owned();
        Publishing::pending(async move {
            for frame in frames {
                self.publish(&key, frame).await?;
            }
            Ok(())
        })
    }

    /// Receives every publication on keys matching `key_expr`.
    fn subscribe(&self, key_expr: &str) -> BoxFuture<'_, Result<Subscriber, TransportError>>;

    /// Receives every query whose key expression intersects `key_expr`.
    fn queryable(&self, key_expr: &str) -> BoxFuture<'_, Result<Queryable, TransportError>>;

    /// Calls `handler` with every query whose key expression intersects `key_expr`, until the
    /// returned guard is dropped.
    ///
    /// A transport with a receive thread of its own calls it there (Zenoh does), which saves
    /// waking a task for each query; the default reads a [`queryable`](Self::queryable) from a
    /// task. A handler that panics loses its query (which ends it for the requester); the
    /// declaration goes on.
    fn serve_queries(
        &self,
        key_expr: &str,
        handler: QueryHandler,
    ) -> BoxFuture<'_, Result<Guard, TransportError>> {
        let declared = self.queryable(key_expr);
        let key_expr = key_expr.to_owned();
        Box::pin(async move {
            let mut queryable = declared.await?;
            let task = tokio::spawn(async move {
                while let Some(query) = queryable.recv().await {
                    call_query_handler(&handler, query, &key_expr);
                }
            });
            Ok(Box::new(AbortOnDrop(task)) as Guard)
        })
    }

    /// Sends a query to every matching queryable and streams all of their replies, unmerged,
    /// until each has finished or `timeout` passed.
    fn query(
        &self,
        key_expr: &str,
        payload: Option<Bytes>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Replies, TransportError>>;

    /// Declares a liveliness token on `key`; it lives as long as the returned guard and the
    /// session.
    fn liveliness_token(&self, key: &str) -> BoxFuture<'_, Result<Guard, TransportError>>;

    /// Watches liveliness tokens matching `key_expr`, starting with those alive now.
    fn watch_liveliness(
        &self,
        key_expr: &str,
    ) -> BoxFuture<'_, Result<LivelinessWatch, TransportError>>;
}

/// Ends a task when dropped (the guard of a declaration served by a task).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A publication under way: done already (Zenoh and the in-process transport queue a
/// message at once, with nothing to allocate per message) or still to be awaited.
#[must_use = "a publication may not be done until awaited"]
pub struct Publishing<'a>(PublishingState<'a>);

enum PublishingState<'a> {
    Done(Option<Result<(), TransportError>>),
    Pending(BoxFuture<'a, Result<(), TransportError>>),
}

impl<'a> Publishing<'a> {
    /// A publication already done (or failed).
    pub fn done(result: Result<(), TransportError>) -> Publishing<'a> {
        Publishing(PublishingState::Done(Some(result)))
    }

    /// A publication that ends when `future` does.
    pub fn pending(
        future: impl Future<Output = Result<(), TransportError>> + Send + 'a,
    ) -> Publishing<'a> {
        Publishing(PublishingState::Pending(Box::pin(future)))
    }
}

impl Future for Publishing<'_> {
    type Output = Result<(), TransportError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            // Polled again after it returned: report the publication as closed.
            PublishingState::Done(result) => {
                Poll::Ready(result.take().unwrap_or(Err(TransportError::Closed)))
            }
            PublishingState::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for Publishing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.0 {
            PublishingState::Done(_) => "done",
            PublishingState::Pending(_) => "pending",
        };
        f.debug_tuple("Publishing").field(&state).finish()
    }
}

/// Checks a key expression before handing it to a transport.
pub fn check_key_expr(key_expr: &str) -> Result<(), TransportError> {
    if keyexpr::is_valid(key_expr) {
        Ok(())
    } else {
        Err(TransportError::InvalidKey(key_expr.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn publications_done_at_once_or_awaited_report_their_result() {
        assert_eq!(Publishing::done(Ok(())).await, Ok(()));
        assert_eq!(
            Publishing::done(Err(TransportError::Closed)).await,
            Err(TransportError::Closed)
        );
        let pending = Publishing::pending(async {
            tokio::task::yield_now().await;
            Err(TransportError::Other("lost".into()))
        });
        assert_eq!(pending.await, Err(TransportError::Other("lost".into())));
    }

    /// Items taken from the channel in steps come out in order, none lost, and the end comes
    /// after the last of them.
    #[tokio::test]
    async fn a_receiver_hands_out_items_in_order_across_steps() {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let mut receiver = Receiver::new(rx, Box::new(()));
        let total = Receiver::<u32>::TAKE * 3 + 5;
        for i in 0..total {
            tx.send(i as u32).await.unwrap();
        }
        assert_eq!(receiver.recv().await, Some(0));
        tx.send(total as u32).await.unwrap();
        drop(tx);
        let rest: Vec<u32> = futures::StreamExt::collect(receiver).await;
        assert_eq!(rest, (1..=total as u32).collect::<Vec<_>>());
    }
}

//! Attribute watches and event subscriptions as streams.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use serde_json::Value;
use tokio_util::sync::WaitForCancellationFutureOwned;

use safething_ir::ThingId;
use safething_ir::value::CompiledSchema;

use crate::envelope::{EnvelopeError, Kind, Opened};
use crate::error::{AffordanceKind, Error, ProtocolError, Result};
use crate::filter::{Filter, FilterState};
use crate::keys;
use crate::transport::Subscriber;
use crate::wire::{AttributeUpdate, EventMessage};

use super::RemoteThing;
use super::remote::Unreadable;

/// A change of an attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    /// The new value.
    pub value: Value,
    /// Its sequence number: consecutive values have consecutive numbers, so a jump shows
    /// changes that were filtered out or lost.
    pub seq: u64,
    /// When the device set it, Unix milliseconds.
    pub ts: u64,
    /// The thing it comes from.
    pub thing: ThingId,
}

/// One delivery of an event.
#[derive(Clone, Debug, PartialEq)]
pub struct EventDelivery {
    /// The payload (`null` for events without data).
    pub data: Value,
    /// Per-event sequence number.
    pub seq: u64,
    /// When the device emitted it, Unix milliseconds.
    pub ts: u64,
    /// The thing it comes from.
    pub thing: ThingId,
}

/// The stream of an attribute watch. Items are errors only for values that come from the
/// thing but break its schema; messages that fail verification are dropped (and logged).
pub struct Watch {
    feed: Feed<AttributeUpdate>,
}

/// The stream of an event subscription.
pub struct EventStream {
    feed: Feed<EventMessage>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("thing", self.feed.thing.id())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("thing", self.feed.thing.id())
            .finish_non_exhaustive()
    }
}

impl Stream for Watch {
    type Item = Result<Update>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.feed.poll_as(cx, |d, thing| Update {
            value: d.value,
            seq: d.seq,
            ts: d.ts,
            thing,
        })
    }
}

impl Stream for EventStream {
    type Item = Result<EventDelivery>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.feed.poll_as(cx, |d, thing| EventDelivery {
            data: d.value,
            seq: d.seq,
            ts: d.ts,
            thing,
        })
    }
}

/// Drops duplicates and stale messages: within one device run (`epoch`), sequence numbers only
/// grow; a new epoch (the device restarted) starts afresh.
#[derive(Default)]
struct Order {
    /// Epoch, sequence number and timestamp of the last message accepted.
    last: Option<(u32, u64, u64)>,
}

impl Order {
    /// Within an epoch, sequence numbers must grow; a new epoch (a restart) must be newer than
    /// everything seen — so a replayed message of an earlier run cannot pose as a restart.
    fn accept(&mut self, epoch: u32, seq: u64, ts: u64) -> bool {
        let fresh = match self.last {
            Some((e, s, _)) if e == epoch => seq > s,
            Some((_, _, t)) => ts > t,
            None => true,
        };
        if fresh {
            self.last = Some((epoch, seq, ts));
        }
        fresh
    }
}

/// A message published on an affordance's key: its payload and its place in the sequence.
trait Published: serde::de::DeserializeOwned + Send + 'static {
    fn into_parts(self) -> (Value, u64, u32);

    /// Reads a body (serde: the frame codec is the only hand-written reader).
    fn read(body: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(body)
    }
}

impl Published for AttributeUpdate {
    fn into_parts(self) -> (Value, u64, u32) {
        (self.value, self.seq, self.epoch)
    }
}

impl Published for EventMessage {
    fn into_parts(self) -> (Value, u64, u32) {
        (self.data, self.seq, self.epoch)
    }
}

/// A delivered payload, before it is called an update or an event.
struct Delivery {
    value: Value,
    seq: u64,
    ts: u64,
}

/// What watches and event subscriptions share: verify each publication as the thing's, drop
/// stale ones, check the payload against its schema, apply the filter. A stream written out
/// rather than an `async` loop: each message is handled where it is received, without a future
/// to set up per message (floods of small events spend their time here).
struct Feed<M> {
    thing: RemoteThing,
    /// The key subscribed to: publications are checked for it, whatever key a relay labels
    /// them with.
    key: String,
    /// For logs and errors: "value of attribute `level`", "data of event `alarm`".
    what: String,
    /// The payload's schema; `None`: the payload is `null`.
    schema: Option<CompiledSchema>,
    filter: FilterState,
    subscriber: Subscriber,
    order: Order,
    /// Ends the stream when the client shuts down.
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    /// A message sealed with a key this handle has not seen yet, opened again once the
    /// description (with the new keys) has been fetched.
    refreshing: Option<BoxFuture<'static, Result<Opened<M>>>>,
    /// A watch's first item: the value read when it started.
    first: Option<Delivery>,
}

impl<M: Published> Feed<M> {
    fn new(
        thing: &RemoteThing,
        key: String,
        what: String,
        schema: Option<CompiledSchema>,
        filter: FilterState,
        subscriber: Subscriber,
    ) -> Feed<M> {
        Feed {
            thing: thing.clone(),
            key,
            what,
            schema,
            filter,
            subscriber,
            order: Order::default(),
            shutdown: Box::pin(thing.client.shutdown.clone().cancelled_owned()),
            refreshing: None,
            first: None,
        }
    }

    /// Checks an opened message; `Some` when it is delivered.
    fn accept(&mut self, opened: Opened<M>) -> Option<Result<Delivery>> {
        if opened.kind != Kind::Publication {
            let error = Error::Untrusted(EnvelopeError::Unexpected(format!(
                "a {:?} where a publication was expected",
                opened.kind
            )));
            return Some(Err(error));
        }
        let ts = opened.ts;
        let (value, seq, epoch) = opened.body.into_parts();
        if !self.order.accept(epoch, seq, ts) {
            return None;
        }
        let checked = match &self.schema {
            Some(schema) => self.thing.check_value(schema, &value, || self.what.clone()),
            None if value.is_null() => Ok(()),
            None => Err(Error::Protocol(ProtocolError::violation(format!(
                "{} carries a payload but declares none",
                self.what
            )))),
        };
        if let Err(e) = checked {
            return Some(Err(e));
        }
        if !self.filter.offer_now(&value) {
            return None;
        }
        Some(Ok(Delivery { value, seq, ts }))
    }

    /// The next delivery as the item a stream hands out, which names the thing.
    fn poll_as<T>(
        &mut self,
        cx: &mut Context<'_>,
        item: impl FnOnce(Delivery, ThingId) -> T,
    ) -> Poll<Option<Result<T>>> {
        let next = ready!(self.poll_next_unpin(cx));
        Poll::Ready(next.map(|next| next.map(|d| item(d, self.thing.id().clone()))))
    }

    /// Nothing to hand out: wait, to be woken by the next message or by the client's shutdown.
    fn wait_for_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Delivery>>> {
        match self.shutdown.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn dropped(&self, error: &Error) {
        tracing::warn!(thing = %self.thing.id(), what = %self.what, %error, "dropped an unverifiable message");
    }
}

impl<M: Published> Stream for Feed<M> {
    type Item = Result<Delivery>;

    /// The next delivery that passes; `None` once the subscription or the client ends.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        // Checked on every call; the shutdown's waker is registered only before waiting, as
        // registering it costs more than handling a small message.
        if this.thing.client.shutdown.is_cancelled() {
            return Poll::Ready(None);
        }
        if let Some(first) = this.first.take()
            && this.filter.offer_now(&first.value)
        {
            return Poll::Ready(Some(Ok(first)));
        }
        loop {
            if let Some(refreshing) = &mut this.refreshing {
                let Poll::Ready(opened) = refreshing.as_mut().poll(cx) else {
                    return this.wait_for_shutdown(cx);
                };
                this.refreshing = None;
                match opened {
                    Ok(opened) => {
                        if let Some(item) = this.accept(opened) {
                            return Poll::Ready(Some(item));
                        }
                    }
                    Err(e) => this.dropped(&e),
                }
                continue;
            }
            let sample = match this.subscriber.poll_next_unpin(cx) {
                Poll::Ready(Some(sample)) => sample,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return this.wait_for_shutdown(cx),
            };
            match this.thing.open_with(&this.key, &sample.payload, M::read) {
                Ok(opened) => {
                    if let Some(item) = this.accept(opened) {
                        return Poll::Ready(Some(item));
                    }
                }
                Err(Unreadable::Error(e)) => this.dropped(&e),
                Err(Unreadable::UnknownKey(_)) => {
                    let (thing, key) = (this.thing.clone(), this.key.clone());
                    this.refreshing = Some(Box::pin(async move {
                        thing.open_fresh::<M>(&key, &sample.payload).await
                    }));
                }
            }
        }
    }
}

impl Watch {
    pub(crate) async fn start(thing: &RemoteThing, name: &str, filter: Filter) -> Result<Watch> {
        let (attribute, schema) = thing.attribute_schema(name)?;
        let filter = filter
            .compile(&attribute.schema, &thing.description.definition.types)
            .map_err(Error::InvalidFilter)?;
        thing.precheck(&attribute.access).await?;
        let key = keys::attribute(thing.id(), name);
        // Subscribe first, then read: no change can fall between the two.
        let subscriber = thing.client.transport.subscribe(&key).await?;
        let mut order = Order::default();
        let first = match thing.read_raw(name, None).await {
            Ok(reply) => {
                // Changes up to the value we read are already reflected in it.
                order.last = Some((reply.epoch, reply.seq, reply.ts));
                reply.value.map(|value| Delivery {
                    value,
                    seq: reply.seq,
                    ts: reply.ts,
                })
            }
            Err(Error::Offline(_) | Error::TimedOut { .. }) => None,
            Err(e) => return Err(e),
        };
        let mut feed = Feed::new(
            thing,
            key,
            format!("value of attribute `{name}`"),
            Some(schema.clone()),
            filter,
            subscriber,
        );
        feed.order = order;
        feed.first = first;
        Ok(Watch { feed })
    }
}

impl EventStream {
    pub(crate) async fn start(
        thing: &RemoteThing,
        name: &str,
        filter: Filter,
    ) -> Result<EventStream> {
        let Some(event) = thing.description.definition.events.get(name) else {
            return Err(thing.unknown(AffordanceKind::Event, name));
        };
        let null_schema = safething_ir::DataSchema::of(safething_ir::SchemaType::Null);
        let filter = filter
            .compile(
                event.data.as_ref().unwrap_or(&null_schema),
                &thing.description.definition.types,
            )
            .map_err(Error::InvalidFilter)?;
        thing.precheck(&event.access).await?;
        let key = keys::event(thing.id(), name);
        let subscriber = thing.client.transport.subscribe(&key).await?;
        let feed = Feed::new(
            thing,
            key,
            format!("data of event `{name}`"),
            thing.schemas.events.get(name).cloned().flatten(),
            filter,
            subscriber,
        );
        Ok(EventStream { feed })
    }
}

//! Attribute watches and event subscriptions as streams.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde_json::Value;

use safething_ir::ThingId;
use safething_ir::value::CompiledSchema;

use crate::error::{AffordanceKind, Error, Result};
use crate::filter::{Filter, FilterState};
use crate::keys;
use crate::transport::Subscriber;
use crate::wire::{AttributeUpdate, EventMessage};

use super::RemoteThing;

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
    inner: BoxStream<'static, Result<Update>>,
}

/// The stream of an event subscription.
pub struct EventStream {
    inner: BoxStream<'static, Result<EventDelivery>>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl Stream for Watch {
    type Item = Result<Update>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl Stream for EventStream {
    type Item = Result<EventDelivery>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
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
trait Published: serde::de::DeserializeOwned {
    fn into_parts(self) -> (Value, u64, u32);
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
/// stale ones, check the payload against its schema, apply the filter.
struct Feed {
    thing: RemoteThing,
    /// For logs and errors: "value of attribute `level`", "data of event `alarm`".
    what: String,
    /// The payload's schema; `None`: the payload is `null`.
    schema: Option<CompiledSchema>,
    filter: FilterState,
    subscriber: Subscriber,
    order: Order,
}

impl Feed {
    /// The next delivery that passes; `None` once the subscription or the client ends.
    async fn next<M: Published>(&mut self) -> Option<Result<Delivery>> {
        loop {
            let sample = tokio::select! {
                s = self.subscriber.recv() => s?,
                () = self.thing.client.shutdown.cancelled() => return None,
            };
            if let Some(item) = self.process::<M>(&sample.key, &sample.payload).await {
                return Some(item);
            }
        }
    }

    async fn process<M: Published>(
        &mut self,
        key: &str,
        payload: &[u8],
    ) -> Option<Result<Delivery>> {
        let opened = match self.thing.open_fresh::<M>(key, payload).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(thing = %self.thing.id(), what = %self.what, error = %e, "dropped an unverifiable message");
                return None;
            }
        };
        let ts = opened.ts;
        let (value, seq, epoch) = opened.body.into_parts();
        if !self.order.accept(epoch, seq, ts) {
            return None;
        }
        let checked = match &self.schema {
            Some(schema) => self.thing.check_value(schema, &value, || self.what.clone()),
            None if value.is_null() => Ok(()),
            None => Err(Error::Protocol(format!(
                "{} carries a payload but declares none",
                self.what
            ))),
        };
        if let Err(e) = checked {
            return Some(Err(e));
        }
        if !self.filter.offer(&value, Instant::now()) {
            return None;
        }
        Some(Ok(Delivery { value, seq, ts }))
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
        let feed = Feed {
            thing: thing.clone(),
            what: format!("value of attribute `{name}`"),
            schema: Some(schema.clone()),
            filter,
            subscriber,
            order,
        };
        let id = thing.id().clone();
        let inner = futures::stream::unfold((feed, first), |(mut feed, first)| async move {
            let item = match first {
                Some(first) if feed.filter.offer(&first.value, Instant::now()) => Ok(first),
                _ => feed.next::<AttributeUpdate>().await?,
            };
            Some((item, (feed, None)))
        })
        .map(move |item| {
            item.map(|d| Update {
                value: d.value,
                seq: d.seq,
                ts: d.ts,
                thing: id.clone(),
            })
        });
        Ok(Watch {
            inner: Box::pin(inner),
        })
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
        let subscriber = thing
            .client
            .transport
            .subscribe(&keys::event(thing.id(), name))
            .await?;
        let feed = Feed {
            thing: thing.clone(),
            what: format!("data of event `{name}`"),
            schema: thing.schemas.events.get(name).cloned().flatten(),
            filter,
            subscriber,
            order: Order::default(),
        };
        let id = thing.id().clone();
        let inner = futures::stream::unfold(feed, |mut feed| async move {
            let item = feed.next::<EventMessage>().await?;
            Some((item, feed))
        })
        .map(move |item| {
            item.map(|d| EventDelivery {
                data: d.value,
                seq: d.seq,
                ts: d.ts,
                thing: id.clone(),
            })
        });
        Ok(EventStream {
            inner: Box::pin(inner),
        })
    }
}

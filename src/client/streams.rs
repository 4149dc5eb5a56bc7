//! Attribute watches and event subscriptions as streams.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::Stream;
use futures::stream::BoxStream;
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

struct WatchState {
    thing: RemoteThing,
    name: String,
    schema: CompiledSchema,
    filter: FilterState,
    subscriber: Subscriber,
    order: Order,
    first: Option<Update>,
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
                reply.value.map(|value| Update {
                    value,
                    seq: reply.seq,
                    ts: reply.ts,
                    thing: thing.id().clone(),
                })
            }
            Err(Error::Offline(_) | Error::TimedOut { .. }) => None,
            Err(e) => return Err(e),
        };
        let state = WatchState {
            thing: thing.clone(),
            name: name.to_owned(),
            schema: schema.clone(),
            filter,
            subscriber,
            order,
            first,
        };
        let inner = futures::stream::unfold(state, |mut st| async move {
            if let Some(first) = st.first.take()
                && st.filter.offer(&first.value, Instant::now())
            {
                return Some((Ok(first), st));
            }
            loop {
                let sample = tokio::select! {
                    s = st.subscriber.recv() => s?,
                    () = st.thing.client.shutdown.cancelled() => return None,
                };
                if let Some(item) = st.process(&sample.key, &sample.payload).await {
                    return Some((item, st));
                }
            }
        });
        Ok(Watch {
            inner: Box::pin(inner),
        })
    }
}

impl WatchState {
    async fn process(&mut self, key: &str, payload: &[u8]) -> Option<Result<Update>> {
        let opened = match self.thing.open_fresh::<AttributeUpdate>(key, payload).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(thing = %self.thing.id(), attribute = %self.name, error = %e, "dropped an unverifiable update");
                return None;
            }
        };
        let update = opened.body;
        if !self.order.accept(update.epoch, update.seq, opened.ts) {
            return None;
        }
        if let Err(e) = self.thing.check_value(&self.schema, &update.value, || {
            format!("value of attribute `{}`", self.name)
        }) {
            return Some(Err(e));
        }
        if !self.filter.offer(&update.value, Instant::now()) {
            return None;
        }
        Some(Ok(Update {
            value: update.value,
            seq: update.seq,
            ts: opened.ts,
            thing: self.thing.id().clone(),
        }))
    }
}

struct EventState {
    thing: RemoteThing,
    name: String,
    schema: Option<CompiledSchema>,
    filter: FilterState,
    subscriber: Subscriber,
    order: Order,
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
        let state = EventState {
            thing: thing.clone(),
            name: name.to_owned(),
            schema: thing.schemas.events.get(name).cloned().flatten(),
            filter,
            subscriber,
            order: Order::default(),
        };
        let inner = futures::stream::unfold(state, |mut st| async move {
            loop {
                let sample = tokio::select! {
                    s = st.subscriber.recv() => s?,
                    () = st.thing.client.shutdown.cancelled() => return None,
                };
                if let Some(item) = st.process(&sample.key, &sample.payload).await {
                    return Some((item, st));
                }
            }
        });
        Ok(EventStream {
            inner: Box::pin(inner),
        })
    }
}

impl EventState {
    async fn process(&mut self, key: &str, payload: &[u8]) -> Option<Result<EventDelivery>> {
        let opened = match self.thing.open_fresh::<EventMessage>(key, payload).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(thing = %self.thing.id(), event = %self.name, error = %e, "dropped an unverifiable event");
                return None;
            }
        };
        let message = opened.body;
        if !self.order.accept(message.epoch, message.seq, opened.ts) {
            return None;
        }
        let checked = match &self.schema {
            Some(schema) => self.thing.check_value(schema, &message.data, || {
                format!("data of event `{}`", self.name)
            }),
            None if message.data.is_null() => Ok(()),
            None => Err(Error::Protocol(format!(
                "event `{}` carries data but declares none",
                self.name
            ))),
        };
        if let Err(e) = checked {
            return Some(Err(e));
        }
        if !self.filter.offer(&message.data, Instant::now()) {
            return None;
        }
        Some(Ok(EventDelivery {
            data: message.data,
            seq: message.seq,
            ts: opened.ts,
            thing: self.thing.id().clone(),
        }))
    }
}

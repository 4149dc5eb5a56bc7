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

use crate::envelope::Opened;
use crate::error::{AffordanceKind, Error, Result};
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
    /// How the device's serializer starts it: the payload's field comes first.
    const START: &'static str;
    fn from_parts(payload: Value, seq: u64, epoch: u32) -> Self;
    fn into_parts(self) -> (Value, u64, u32);

    /// Reads a body: as the device writes it without taking the frame through serde, anything
    /// else with serde.
    fn read(body: &str) -> serde_json::Result<Self> {
        match canonical_parts(body, Self::START) {
            Some((payload, seq, epoch)) => Ok(Self::from_parts(payload, seq, epoch)),
            None => serde_json::from_str(body),
        }
    }
}

impl Published for AttributeUpdate {
    const START: &'static str = AttributeUpdate::JSON_START;
    fn from_parts(value: Value, seq: u64, epoch: u32) -> Self {
        AttributeUpdate { value, seq, epoch }
    }
    fn into_parts(self) -> (Value, u64, u32) {
        (self.value, self.seq, self.epoch)
    }
}

impl Published for EventMessage {
    const START: &'static str = EventMessage::JSON_START;
    fn from_parts(data: Value, seq: u64, epoch: u32) -> Self {
        EventMessage { data, seq, epoch }
    }
    fn into_parts(self) -> (Value, u64, u32) {
        (self.data, self.seq, self.epoch)
    }
}

/// A publication exactly as the device writes it, `<start><payload>,"seq":N,"epoch":N}`, split
/// from the end; only the payload goes through serde. In floods of small events, reading the
/// frame with serde cost as much as checking the envelope. Whatever this accepts is a JSON
/// object with just those three members, so serde reads the same from it (a test holds both to
/// it); anything else, valid or not, is left to serde. Long payloads are left to it as well:
/// read alone, one could nest a level deeper than serde allows in the whole body.
fn canonical_parts(body: &str, start: &str) -> Option<(Value, u64, u32)> {
    const LONGEST: usize = 240;
    let rest = body.strip_prefix(start)?.strip_suffix('}')?;
    let (rest, epoch) = trailing_integer(rest, r#","epoch":"#)?;
    let (payload, seq) = trailing_integer(rest, r#","seq":"#)?;
    if payload.len() > LONGEST {
        return None;
    }
    Some((serde_json::from_str(payload).ok()?, seq, epoch))
}

/// `text` split into what comes before `<name><integer>` at its end, and the integer: digits
/// as JSON writes a non-negative integer (no sign, no leading zero) that fits in `T`.
fn trailing_integer<'a, T: std::str::FromStr>(text: &'a str, name: &str) -> Option<(&'a str, T)> {
    let digits = text.bytes().rev().take_while(u8::is_ascii_digit).count();
    let (head, digits) = text.split_at(text.len() - digits);
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    Some((head.strip_suffix(name)?, digits.parse().ok()?))
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
        what: String,
        schema: Option<CompiledSchema>,
        filter: FilterState,
        subscriber: Subscriber,
    ) -> Feed<M> {
        Feed {
            thing: thing.clone(),
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
    fn accept<Id>(&mut self, opened: Opened<M, Id>) -> Option<Result<Delivery>> {
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
            match this.thing.open_with(&sample.key, &sample.payload, M::read) {
                Ok(opened) => {
                    if let Some(item) = this.accept(opened) {
                        return Poll::Ready(Some(item));
                    }
                }
                Err(Unreadable::Error(e)) => this.dropped(&e),
                Err(Unreadable::UnknownKey(_)) => {
                    let thing = this.thing.clone();
                    this.refreshing = Some(Box::pin(async move {
                        thing.open_fresh::<M>(&sample.key, &sample.payload).await
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
        let subscriber = thing
            .client
            .transport
            .subscribe(&keys::event(thing.id(), name))
            .await?;
        let feed = Feed::new(
            thing,
            format!("data of event `{name}`"),
            thing.schemas.events.get(name).cloned().flatten(),
            filter,
            subscriber,
        );
        Ok(EventStream { feed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts<M: Published>(body: &str) -> Option<(Value, u64, u32)> {
        serde_json::from_str::<M>(body)
            .ok()
            .map(Published::into_parts)
    }

    #[test]
    fn publications_as_the_device_writes_them_are_read_without_serde_and_alike() {
        let payloads = [
            json!(null),
            json!(12.5),
            json!("text with \",\"seq\":1,\"epoch\":2}"),
            json!({"seq": 3, "epoch": 4, "data": {"value": 5}}),
            json!([",\"epoch\":7}", {"x": [1, 2]}]),
        ];
        for (i, payload) in payloads.into_iter().enumerate() {
            let seq = u64::MAX - i as u64;
            let event =
                serde_json::to_string(&EventMessage::from_parts(payload.clone(), seq, 0)).unwrap();
            let fast = canonical_parts(&event, EventMessage::START).expect("the device's layout");
            assert_eq!(
                Some(&fast),
                parts::<EventMessage>(&event).as_ref(),
                "{event}"
            );
            let update =
                serde_json::to_string(&AttributeUpdate::from_parts(payload, seq, u32::MAX))
                    .unwrap();
            let fast = canonical_parts(&update, AttributeUpdate::START).expect("the layout");
            assert_eq!(
                Some(&fast),
                parts::<AttributeUpdate>(&update).as_ref(),
                "{update}"
            );
        }
    }

    #[test]
    fn other_layouts_and_bad_numbers_are_left_to_serde() {
        for body in [
            r#"{"seq":1,"epoch":2,"data":3}"#,
            r#"{"data":3, "seq":1,"epoch":2}"#,
            r#"{"data":3,"seq":01,"epoch":2}"#,
            r#"{"data":3,"seq":-1,"epoch":2}"#,
            r#"{"data":3,"seq":1,"epoch":4294967296}"#,
            r#"{"data":3,"seq":18446744073709551616,"epoch":2}"#,
            r#"{"data":3,"x":0,"seq":1,"epoch":2}"#,
            r#"{"data":3,"seq":1,"seq":2,"epoch":2}"#,
            r#"{"data":,"seq":1,"epoch":2}"#,
        ] {
            assert_eq!(canonical_parts(body, EventMessage::START), None, "{body}");
        }
        let deep = format!("{}{}", "[".repeat(128), "]".repeat(128));
        let body = format!(r#"{{"data":{deep},"seq":1,"epoch":2}}"#);
        assert_eq!(canonical_parts(&body, EventMessage::START), None);
        assert!(EventMessage::read(&body).is_err(), "too deep for serde");
    }

    /// Whatever the bytes, a publication read without serde is read the same by serde.
    #[test]
    fn mangled_publications_never_read_differently() {
        let mut mangler = crate::mangle::Mangler::new(
            0x2545_f491_4f6c_dd1d,
            b"\"\\,:{}[] 0123456789-.eE+seqpochdatvlu\n",
        );
        let mut taken = 0;
        for i in 0..80_u64 {
            let payload = json!({"n": i, "seq": [i, ",\"seq\":1"], "f": 1.5e3});
            let sealed = serde_json::to_string(&EventMessage::from_parts(payload, i, 9)).unwrap();
            for _ in 0..500 {
                let bytes = mangler.mangle(sealed.as_bytes());
                let Ok(body) = String::from_utf8(bytes) else {
                    continue;
                };
                let Some(fast) = canonical_parts(&body, EventMessage::START) else {
                    continue;
                };
                taken += 1;
                assert_eq!(Some(&fast), parts::<EventMessage>(&body).as_ref(), "{body}");
            }
        }
        // The mutations leave many bodies in the device's layout, so the check bites.
        assert!(taken > 3000, "only {taken} mangled bodies were compared");
    }
}

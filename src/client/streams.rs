//! Attribute watches and event subscriptions as streams.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

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
use crate::stored::{Position, StoreQuery};
use crate::transport::Subscriber;
use crate::wire::{AttributeUpdate, EventMessage};

use super::RemoteThing;
use super::remote::Unreadable;
use super::stored::{key_not_held, query_store, signed_publication};

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

impl Watch {
    /// Where the watch stands: the last change it took, delivered or filtered out (`None`
    /// before the first). Keep it to resume with [`RemoteThing::watch_from`].
    pub fn position(&self) -> Option<Position> {
        self.feed.handed
    }
}

impl EventStream {
    /// Where the subscription stands: the last event it took, delivered or filtered out
    /// (`None` before the first). Keep it to resume with [`RemoteThing::subscribe_from`].
    pub fn position(&self) -> Option<Position> {
        self.feed.handed
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
    fn position(&self) -> Option<Position> {
        self.last
            .map(|(epoch, seq, ts)| Position { epoch, seq, ts })
    }

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

/// A publication as a stream takes it, wherever it came from (the network, a store, a read):
/// its payload and its place.
struct Candidate {
    value: Value,
    seq: u64,
    epoch: u32,
    ts: u64,
}

impl Candidate {
    /// Where it stands in its key's publications.
    fn position(&self) -> Position {
        Position {
            epoch: self.epoch,
            seq: self.seq,
            ts: self.ts,
        }
    }
}

/// What taking a publication gave: the position it moves the stream to (none for a gap) and
/// the item to hand out, if any (none for a value the filter dropped).
struct Taken {
    at: Option<Position>,
    item: Option<Result<Delivery>>,
}

/// At most this many pages of [`StoreQuery::MAX_LIMIT`] frames are asked for in one catch-up.
const CATCH_UP_PAGES: usize = 64;

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
    /// The position of the last publication handed out or filtered out (what
    /// [`Watch::position`] reports: never ahead of what the caller has seen).
    handed: Option<Position>,
    /// Resumed streams: a publication that does not follow the last one taken is looked for
    /// in the stores first, and what they lack is reported as a gap.
    resume: bool,
    /// Items to hand out before anything else, in order: a watch's first value (read when it
    /// started), caught-up values and gaps.
    queue: VecDeque<Taken>,
    /// A live publication that skipped numbers, held while the stores are asked for what it
    /// skipped (the subscription buffers what arrives meanwhile).
    filling: Option<BoxFuture<'static, (Vec<Candidate>, Candidate)>>,
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
            handed: None,
            resume: false,
            queue: VecDeque::new(),
            filling: None,
        }
    }

    /// Makes this a resumed stream, standing after `from`.
    fn resume_from(&mut self, from: Position) {
        self.order.last = Some((from.epoch, from.seq, from.ts));
        self.handed = Some(from);
        self.resume = true;
    }

    /// The publications missed between the last one taken and `c`, as the gap to report:
    /// numbers skipped within a run, or the first numbers of a new run (`Position::FIRST_SEQ`
    /// is where the device starts each run's count). `None` when `c` follows, or is stale.
    fn gap_before(&self, c: &Candidate) -> Option<Error> {
        let (epoch, from, to) = missing(self.order.position()?, c)?;
        Some(Error::Gap { epoch, from, to })
    }

    /// Takes a caught-up publication (from a store or a read), reporting first what is missing
    /// before it: nothing more will be asked for.
    fn settle(&mut self, c: Candidate) {
        if let Some(gap) = self.gap_before(&c) {
            self.queue.push_back(Taken {
                at: None,
                item: Some(Err(gap)),
            });
        }
        if let Some(taken) = self.admit(c) {
            self.queue.push_back(taken);
        }
    }

    /// Moves the stream to what it took; the item to hand out, if any.
    fn hand(&mut self, taken: Taken) -> Option<Result<Delivery>> {
        if let Some(at) = taken.at {
            self.handed = Some(at);
        }
        taken.item
    }

    /// Checks an opened live message; `Some` when it moves the stream. On a resumed stream, a
    /// message that skipped numbers is held while the stores are asked for them.
    fn accept(&mut self, opened: Opened<M>) -> Option<Taken> {
        if opened.kind != Kind::Publication {
            let error = Error::Untrusted(EnvelopeError::Unexpected(format!(
                "a {:?} where a publication was expected",
                opened.kind
            )));
            return Some(Taken {
                at: None,
                item: Some(Err(error)),
            });
        }
        let ts = opened.ts;
        let (value, seq, epoch) = opened.body.into_parts();
        let c = Candidate {
            value,
            seq,
            epoch,
            ts,
        };
        if self.resume
            && let Some(after) = self.order.position()
            && self.gap_before(&c).is_some()
        {
            let (thing, key) = (self.thing.clone(), self.key.clone());
            self.filling = Some(Box::pin(async move {
                (filled::<M>(&thing, &key, after, Some(&c)).await, c)
            }));
            return None;
        }
        self.admit(c)
    }

    /// Takes a publication in order: `None` when stale (or a duplicate); else its position,
    /// and the delivery unless the filter drops it (or the schema check's error).
    fn admit(&mut self, c: Candidate) -> Option<Taken> {
        let Candidate {
            value,
            seq,
            epoch,
            ts,
        } = c;
        if !self.order.accept(epoch, seq, ts) {
            return None;
        }
        let at = Some(Position { epoch, seq, ts });
        let checked = match &self.schema {
            Some(schema) => self.thing.check_value(schema, &value, || self.what.clone()),
            None if value.is_null() => Ok(()),
            None => Err(Error::Protocol(ProtocolError::violation(format!(
                "{} carries a payload but declares none",
                self.what
            )))),
        };
        if let Err(e) = checked {
            return Some(Taken {
                at,
                item: Some(Err(e)),
            });
        }
        if !self.filter.offer_now(&value) {
            return Some(Taken { at, item: None });
        }
        Some(Taken {
            at,
            item: Some(Ok(Delivery { value, seq, ts })),
        })
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
        loop {
            if let Some(taken) = this.queue.pop_front() {
                if let Some(item) = this.hand(taken) {
                    return Poll::Ready(Some(item));
                }
                continue;
            }
            if let Some(filling) = &mut this.filling {
                let Poll::Ready((stored, held)) = filling.as_mut().poll(cx) else {
                    return this.wait_for_shutdown(cx);
                };
                this.filling = None;
                for c in stored {
                    this.settle(c);
                }
                this.settle(held);
                continue;
            }
            if let Some(refreshing) = &mut this.refreshing {
                let Poll::Ready(opened) = refreshing.as_mut().poll(cx) else {
                    return this.wait_for_shutdown(cx);
                };
                this.refreshing = None;
                match opened {
                    Ok(opened) => {
                        if let Some(taken) = this.accept(opened)
                            && let Some(item) = this.hand(taken)
                        {
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
                    if let Some(taken) = this.accept(opened)
                        && let Some(item) = this.hand(taken)
                    {
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

/// The publications missed between `last` and `c`: `(epoch, from, to)`; `None` when `c`
/// follows `last`, or is not newer.
fn missing(last: Position, c: &Candidate) -> Option<(u32, u64, u64)> {
    let from = if c.epoch == last.epoch {
        last.seq.saturating_add(1)
    } else if c.ts > last.ts {
        Position::FIRST_SEQ
    } else {
        return None;
    };
    let to = c.seq.checked_sub(1)?;
    (from <= to).then_some((c.epoch, from, to))
}

/// How long a store may lag behind what a client received live (it commits in groups, within
/// milliseconds): a catch-up that does not reach a publication is asked again once after this.
const STORE_LAG: Duration = Duration::from_millis(250);

/// What the stores kept on `key` after `after`, up to `next` (a publication received live or
/// read from the device) when given: asked again once, after [`STORE_LAG`], when it does not
/// join `after` to `next` without a gap.
async fn filled<M: Published>(
    thing: &RemoteThing,
    key: &str,
    after: Position,
    next: Option<&Candidate>,
) -> Vec<Candidate> {
    let stored = caught_up::<M>(thing, key, after).await;
    let Some(next) = next else { return stored };
    let mut last = after;
    for c in stored.iter().chain(std::iter::once(next)) {
        if missing(last, c).is_some() {
            tokio::time::sleep(STORE_LAG).await;
            return caught_up::<M>(thing, key, after).await;
        }
        let newer = if c.epoch == last.epoch {
            c.seq > last.seq
        } else {
            c.ts > last.ts
        };
        if newer {
            last = c.position();
        }
    }
    stored
}

/// What a store kept on `key` after `after`, verified one frame at a time as the thing's
/// publications (a frame that fails is dropped and logged: a lying store spoils nothing) and
/// put in order: runs by their first publication's time, numbers within a run. Pages forward
/// while stores answer full pages. Stores that do not answer give nothing.
async fn caught_up<M: Published>(
    thing: &RemoteThing,
    key: &str,
    after: Position,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut from = after;
    let mut refreshed = false;
    for _ in 0..CATCH_UP_PAGES {
        let limit = StoreQuery::MAX_LIMIT;
        let query = StoreQuery::Since { after: from, limit };
        let frames = match query_store(&thing.client, key, &query).await {
            Ok(frames) => frames,
            Err(error) => {
                tracing::debug!(thing = %thing.id(), key, %error, "no store to catch up from");
                break;
            }
        };
        let full = frames.len() >= limit as usize;
        let mut page = Vec::with_capacity(frames.len());
        for frame in frames {
            match open_stored::<M>(thing, key, &frame, &mut refreshed).await {
                Ok(c) if from.precedes(c.epoch, c.seq, c.ts) => page.push(c),
                // What the stream has already (a store may send more than asked).
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(thing = %thing.id(), key, %error, "dropped an unverifiable stored frame");
                }
            }
        }
        in_order(&mut page);
        let Some(last) = page.last() else { break };
        from = last.position();
        out.append(&mut page);
        if !full {
            break;
        }
    }
    in_order(&mut out);
    out
}

/// Sorts publications of several runs (and several stores): runs by the time of their
/// earliest publication, numbers within a run; duplicates dropped.
fn in_order(cs: &mut Vec<Candidate>) {
    let mut start: HashMap<u32, u64> = HashMap::new();
    for c in cs.iter() {
        start
            .entry(c.epoch)
            .and_modify(|t| *t = (*t).min(c.ts))
            .or_insert(c.ts);
    }
    cs.sort_by_key(|c| (start.get(&c.epoch).copied().unwrap_or(c.ts), c.epoch, c.seq));
    cs.dedup_by_key(|c| (c.epoch, c.seq));
}

/// Verifies one stored frame as the thing's signed publication on `key` — as a live one,
/// without the freshness window — and opens it; a key this handle lacks makes it fetch the
/// description once per catch-up.
async fn open_stored<M: Published>(
    thing: &RemoteThing,
    key: &str,
    frame: &[u8],
    refreshed: &mut bool,
) -> Result<Candidate> {
    let opened = match thing.open_checked(key, frame, M::read, false) {
        Ok(opened) => opened,
        Err(Unreadable::Error(e)) => return Err(e),
        Err(Unreadable::UnknownKey(kid)) => {
            if *refreshed {
                return Err(key_not_held(&kid));
            }
            *refreshed = true;
            // Failing to refresh leaves the key unknown, reported below.
            let _ = thing.refresh().await;
            thing
                .open_checked(key, frame, M::read, false)
                .map_err(|e| match e {
                    Unreadable::Error(e) => e,
                    Unreadable::UnknownKey(kid) => key_not_held(&kid),
                })?
        }
    };
    signed_publication(&opened)?;
    let ts = opened.ts;
    let (value, seq, epoch) = opened.body.into_parts();
    Ok(Candidate {
        value,
        seq,
        epoch,
        ts,
    })
}

impl Watch {
    /// The checks and the subscription every watch starts with.
    async fn subscribe(
        thing: &RemoteThing,
        name: &str,
        filter: Filter,
    ) -> Result<Feed<AttributeUpdate>> {
        let (attribute, schema) = thing.attribute_schema(name)?;
        let filter = filter
            .compile(&attribute.schema, &thing.description.definition.types)
            .map_err(Error::InvalidFilter)?;
        thing.precheck(&attribute.access).await?;
        let key = keys::attribute(thing.id(), name);
        let subscriber = thing.client.transport.subscribe(&key).await?;
        Ok(Feed::new(
            thing,
            key,
            format!("value of attribute `{name}`"),
            Some(schema.clone()),
            filter,
            subscriber,
        ))
    }

    /// The current value, read after subscribing (no change can fall between the two);
    /// `None` when the device does not answer or has no value.
    async fn current(thing: &RemoteThing, name: &str) -> Result<Option<Candidate>> {
        match thing.read_raw(name, None).await {
            Ok(reply) => Ok(reply.value.map(|value| Candidate {
                value,
                seq: reply.seq,
                epoch: reply.epoch,
                ts: reply.ts,
            })),
            Err(Error::Offline(_) | Error::TimedOut { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn start(thing: &RemoteThing, name: &str, filter: Filter) -> Result<Watch> {
        let mut feed = Watch::subscribe(thing, name, filter).await?;
        // The first item; changes up to it are already reflected in it.
        if let Some(c) = Watch::current(thing, name).await?
            && let Some(taken) = feed.admit(c)
        {
            feed.queue.push_back(taken);
        }
        Ok(Watch { feed })
    }

    /// A watch that goes on after `from`: what the stores kept since, then the device's
    /// current value, then live changes; what none of them has is reported as a gap.
    pub(crate) async fn resume(
        thing: &RemoteThing,
        name: &str,
        filter: Filter,
        from: Position,
    ) -> Result<Watch> {
        let mut feed = Watch::subscribe(thing, name, filter).await?;
        feed.resume_from(from);
        let current = Watch::current(thing, name).await?;
        let stored = filled::<AttributeUpdate>(thing, &feed.key, from, current.as_ref()).await;
        for c in stored.into_iter().chain(current) {
            feed.settle(c);
        }
        Ok(Watch { feed })
    }
}

impl EventStream {
    /// The checks and the subscription every event stream starts with.
    async fn subscribe(
        thing: &RemoteThing,
        name: &str,
        filter: Filter,
    ) -> Result<Feed<EventMessage>> {
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
        Ok(Feed::new(
            thing,
            key,
            format!("data of event `{name}`"),
            thing.schemas.events.get(name).cloned().flatten(),
            filter,
            subscriber,
        ))
    }

    pub(crate) async fn start(
        thing: &RemoteThing,
        name: &str,
        filter: Filter,
    ) -> Result<EventStream> {
        let feed = EventStream::subscribe(thing, name, filter).await?;
        Ok(EventStream { feed })
    }

    /// An event stream that goes on after `from`: what the stores kept since, then live
    /// events; what neither has is reported as a gap.
    pub(crate) async fn resume(
        thing: &RemoteThing,
        name: &str,
        filter: Filter,
        from: Position,
    ) -> Result<EventStream> {
        let mut feed = EventStream::subscribe(thing, name, filter).await?;
        feed.resume_from(from);
        for c in filled::<EventMessage>(thing, &feed.key, from, None).await {
            feed.settle(c);
        }
        Ok(EventStream { feed })
    }
}

//! Typed wrappers of the client's results: readings, history, watches, event streams and action
//! handles whose values are Rust types instead of JSON.

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use safething_ir::ThingId;

use crate::client::{self, InvokeOptions, RemoteThing, Source};
use crate::error::{Error, Result};
use crate::wire::ActionState;

use super::{Filter, decode, encode};

/// The current value of an attribute and where it came from (see [`client::Reading`]).
#[derive(Clone, Debug, PartialEq)]
pub struct AttributeReading<T> {
    /// The value.
    pub value: T,
    /// Its sequence number.
    pub seq: u64,
    /// When the device set it, Unix milliseconds.
    pub ts: u64,
    /// Who answered: the device, or — when it did not — a store that kept the thing's signed
    /// publication.
    pub source: Source,
}

impl<T> AttributeReading<T> {
    /// How old the value is by this machine's clock, milliseconds (0 for a clock behind).
    pub fn age_ms(&self) -> u64 {
        crate::envelope::now_ms().saturating_sub(self.ts)
    }
}

/// One remembered value of an attribute (see [`crate::wire::HistoryEntry`]).
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry<T> {
    /// The value.
    pub value: T,
    /// Its sequence number.
    pub seq: u64,
    /// When it was set, Unix milliseconds.
    pub ts: u64,
    /// Who kept it: the device, or a store.
    pub source: Source,
}

/// A change of an attribute (see [`client::Update`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Update<T> {
    /// The new value.
    pub value: T,
    /// Its sequence number: a jump shows changes that were filtered out or lost.
    pub seq: u64,
    /// When the device set it, Unix milliseconds.
    pub ts: u64,
    /// The thing it comes from.
    pub thing: ThingId,
}

/// One delivery of an event (see [`client::EventDelivery`]).
#[derive(Clone, Debug, PartialEq)]
pub struct EventDelivery<T> {
    /// The payload (`()` for events without data).
    pub data: T,
    /// Per-event sequence number.
    pub seq: u64,
    /// When the device emitted it, Unix milliseconds.
    pub ts: u64,
    /// The thing it comes from.
    pub thing: ThingId,
}

fn what_attribute(name: &str) -> impl Fn() -> String + '_ {
    move || format!("value of attribute `{name}`")
}

/// Reads attribute `name` of `thing` as a `T`: from the device, or when it does not answer,
/// from a store ([`RemoteThing::read_with_source`]).
pub async fn read<T: DeserializeOwned>(
    thing: &RemoteThing,
    name: &str,
) -> Result<AttributeReading<T>> {
    let reading = thing.read_with_source(name).await?;
    Ok(AttributeReading {
        value: decode(reading.value, what_attribute(name))?,
        seq: reading.seq,
        ts: reading.timestamp,
        source: reading.source,
    })
}

/// The history of attribute `name` of `thing`, oldest first, each entry saying where it came
/// from: the device's, preceded by what the stores kept from before it; or, when the device
/// does not answer, the stores' ([`RemoteThing::history_with_source`]).
pub async fn history<T: DeserializeOwned>(
    thing: &RemoteThing,
    name: &str,
) -> Result<Vec<HistoryEntry<T>>> {
    thing
        .history_with_source(name)
        .await?
        .into_iter()
        .map(|entry| {
            Ok(HistoryEntry {
                value: decode(entry.value, || format!("history of attribute `{name}`"))?,
                seq: entry.seq,
                ts: entry.timestamp,
                source: entry.source,
            })
        })
        .collect()
}

/// Writes attribute `name` of `thing`; returns the value the device now holds.
pub async fn write<T: Serialize + DeserializeOwned>(
    thing: &RemoteThing,
    name: &str,
    value: &T,
) -> Result<AttributeReading<T>> {
    let reading = thing
        .write(name, encode(value, what_attribute(name))?)
        .await?;
    Ok(AttributeReading {
        value: decode(reading.value, what_attribute(name))?,
        seq: reading.seq,
        ts: reading.ts,
        source: Source::Device,
    })
}

/// Watches attribute `name` of `thing` with a typed filter.
pub async fn watch<T: DeserializeOwned>(
    thing: &RemoteThing,
    name: &str,
    filter: Filter<T>,
) -> Result<Watch<T>> {
    let inner = thing.watch(name, filter.into_raw()?).await?;
    Ok(Watch {
        inner,
        name: name.to_owned(),
        _value: PhantomData,
    })
}

/// Subscribes to event `name` of `thing` with a typed filter.
pub async fn subscribe<T: DeserializeOwned>(
    thing: &RemoteThing,
    name: &str,
    filter: Filter<T>,
) -> Result<EventStream<T>> {
    let inner = thing.subscribe(name, filter.into_raw()?).await?;
    Ok(EventStream {
        inner,
        name: name.to_owned(),
        _value: PhantomData,
    })
}

/// The typed stream of an attribute watch (see [`client::Watch`]): it starts with the current
/// value (when it passes the filter), then yields every change that passes it.
pub struct Watch<T> {
    inner: client::Watch,
    name: String,
    _value: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Watch<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("attribute", &self.name)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> Stream for Watch<T> {
    type Item = Result<Update<T>>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        Pin::new(&mut this.inner).poll_next(cx).map(|item| {
            item.map(|update| {
                let update = update?;
                Ok(Update {
                    value: decode(update.value, what_attribute(&this.name))?,
                    seq: update.seq,
                    ts: update.ts,
                    thing: update.thing,
                })
            })
        })
    }
}

/// The typed stream of an event subscription (see [`client::EventStream`]).
pub struct EventStream<T> {
    inner: client::EventStream,
    name: String,
    _value: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("event", &self.name)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> Stream for EventStream<T> {
    type Item = Result<EventDelivery<T>>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        Pin::new(&mut this.inner).poll_next(cx).map(|item| {
            item.map(|delivery| {
                let delivery = delivery?;
                Ok(EventDelivery {
                    data: decode(delivery.data, || format!("data of event `{}`", this.name))?,
                    seq: delivery.seq,
                    ts: delivery.ts,
                    thing: delivery.thing,
                })
            })
        })
    }
}

/// An action request being prepared: `.await` it to send it (and get an [`ActionHandle`]), or
/// set options first: `client.open_valve(input).timeout(Duration::from_secs(5)).await?`.
#[must_use = "an invocation does nothing until it is awaited"]
pub struct Invocation<O> {
    thing: RemoteThing,
    action: &'static str,
    input: Result<Value>,
    options: InvokeOptions,
    _output: PhantomData<fn() -> O>,
}

impl<O> std::fmt::Debug for Invocation<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("action", &self.action)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<O> Invocation<O> {
    /// A request of `action` on `thing` with `input` (`&()` for actions without input).
    pub fn new(thing: &RemoteThing, action: &'static str, input: &impl Serialize) -> Invocation<O> {
        Invocation {
            thing: thing.clone(),
            action,
            input: encode(input, || format!("input of action `{action}`")),
            options: InvokeOptions::default(),
            _output: PhantomData,
        }
    }

    /// Overrides the definition's timeout for this request.
    pub fn timeout(mut self, timeout: Duration) -> Invocation<O> {
        self.options = self.options.with_timeout(timeout);
        self
    }

    /// Resends the identical request up to `retries` times when the device does not answer
    /// (the device runs it once).
    pub fn retries(mut self, retries: u32) -> Invocation<O> {
        self.options = self.options.with_retries(retries);
        self
    }

    /// Sets every option at once.
    pub fn options(mut self, options: InvokeOptions) -> Invocation<O> {
        self.options = options;
        self
    }
}

impl<O: DeserializeOwned + 'static> IntoFuture for Invocation<O> {
    type Output = Result<ActionHandle<O>>;
    type IntoFuture = BoxFuture<'static, Result<ActionHandle<O>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let handle = self
                .thing
                .invoke_with(self.action, self.input?, self.options)
                .await?;
            Ok(ActionHandle {
                inner: handle,
                _output: PhantomData,
            })
        })
    }
}

/// A running action request with a typed output (see [`client::ActionHandle`]).
pub struct ActionHandle<O> {
    inner: client::ActionHandle,
    _output: PhantomData<fn() -> O>,
}

impl<O> std::fmt::Debug for ActionHandle<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<O: DeserializeOwned> ActionHandle<O> {
    /// The request id.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// The latest known state (the output of `done` is still JSON here; see
    /// [`output`](Self::output)).
    pub fn state(&self) -> ActionState {
        self.inner.state()
    }

    /// Every state change from now on, ending after the final one.
    pub fn states(&self) -> impl Stream<Item = ActionState> + Send + 'static {
        self.inner.states()
    }

    /// Waits for the final state: the typed output when `done`, an error otherwise
    /// ([`Error::ActionFailed`], [`Error::Cancelled`], [`Error::TimedOut`], a refusal, ...).
    pub async fn output(&self) -> Result<O> {
        let output = self.inner.output().await?;
        decode(output, || {
            format!("output of action `{}`", self.inner.action())
        })
    }

    /// Like [`output`](Self::output), but gives up after `limit`.
    pub async fn output_within(&self, limit: Duration) -> Result<O> {
        let output = self.inner.output_within(limit).await?;
        decode(output, || {
            format!("output of action `{}`", self.inner.action())
        })
    }

    /// Asks the device to cancel the request.
    pub async fn cancel(&self) -> Result<()> {
        self.inner.cancel().await
    }

    /// The deadline the request runs under.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout()
    }

    /// The untyped handle.
    pub fn inner(&self) -> &client::ActionHandle {
        &self.inner
    }
}

/// Checks that `thing` serves the thing type of `expected`: same name, and a compatible
/// version (same major version; for `0.x`, same minor version).
pub fn check_compatible(thing: &RemoteThing, expected: &safething_ir::Definition) -> Result<()> {
    let found = &thing.description().definition.thing;
    let want = &expected.thing;
    let compatible =
        found.name == want.name && version_key(&found.version) == version_key(&want.version);
    if compatible {
        Ok(())
    } else {
        Err(Error::Incompatible {
            thing: thing.id().to_string(),
            expected: format!("{} {}", want.name, want.version),
            found: format!("{} {}", found.name, found.version),
        })
    }
}

/// The part of a semantic version that must match: `1` of `1.4.2`, `0.3` of `0.3.1`.
fn version_key(version: &str) -> String {
    let mut parts = version.split(['.', '-', '+']);
    let major = parts.next().unwrap_or_default();
    if major == "0" {
        format!("0.{}", parts.next().unwrap_or_default())
    } else {
        major.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::version_key;

    #[test]
    fn compatible_versions() {
        assert_eq!(version_key("1.4.2"), version_key("1.0.0"));
        assert_ne!(version_key("2.0.0"), version_key("1.0.0"));
        assert_eq!(version_key("0.3.1"), version_key("0.3.0-beta"));
        assert_ne!(version_key("0.3.1"), version_key("0.4.0"));
    }
}

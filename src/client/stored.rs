//! Reading from a store when the device does not answer (`docs/store.md`): every stored frame
//! is verified against the key pinned for the thing — signature, batch path, the key it was
//! published on — and opened with the keys this client holds. A store is never trusted; only
//! the thing's signature is.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::envelope::{EnvelopeError, Kind};
use crate::error::{Error, Result};
use crate::keys;
use crate::stored::{StoreQuery, store_key};
use crate::transport::Reply;
use crate::wire::{AttributeUpdate, Description, HistoryEntry};

use super::remote::{RemoteThing, Unreadable};
use super::{Client, ClientInner, parse_id};

/// Where a reading came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The device answered.
    Device,
    /// The device did not; a store kept the thing's signed publication.
    Store,
}

impl Source {
    /// `"device"` or `"store"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Device => "device",
            Source::Store => "store",
        }
    }
}

/// An attribute's value and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The value.
    pub value: Value,
    /// Its sequence number.
    pub seq: u64,
    /// When the device set it (device) or published it (store), Unix milliseconds.
    pub timestamp: u64,
    /// Who answered.
    pub source: Source,
    /// How old the value is by this machine's clock, milliseconds (0 for a clock behind).
    pub age_ms: u64,
}

impl From<super::AttributeReading> for Reading {
    /// A value the device gave.
    fn from(r: super::AttributeReading) -> Reading {
        Reading {
            age_ms: age(r.ts),
            value: r.value,
            seq: r.seq,
            timestamp: r.ts,
            source: Source::Device,
        }
    }
}

impl Reading {
    /// A remembered value, as kept by `source`.
    fn kept(e: HistoryEntry, source: Source) -> Reading {
        Reading {
            age_ms: age(e.ts),
            value: e.value,
            seq: e.seq,
            timestamp: e.ts,
            source,
        }
    }
}

impl RemoteThing {
    /// The current value of an attribute from the device, or — when the device does not
    /// answer — from a store, verified as the thing's own signed publication.
    pub async fn read_with_source(&self, name: &str) -> Result<Reading> {
        match self.read(name).await {
            Ok(r) => Ok(r.into()),
            Err(device) if falls_back(&device) => {
                tracing::debug!(thing = %self.id(), attribute = name, error = %device, "asking a store");
                let latest = self.stored(name, StoreQuery::Latest).await?;
                let Some(s) = latest.into_iter().max_by_key(|s| (s.ts, s.seq)) else {
                    return Err(device);
                };
                Ok(Reading::kept(s, Source::Store))
            }
            Err(e) => Err(e),
        }
    }

    /// The remembered values of an attribute, oldest first, each saying where it came from:
    /// the device's history, preceded by what the stores kept from before its oldest entry
    /// (a store keeps more than a device); or, when the device does not answer, the stores'
    /// alone. Stores that fail to answer only shorten the history the device gave.
    pub async fn history_with_source(&self, name: &str) -> Result<Vec<Reading>> {
        let stored = || {
            self.stored(
                name,
                StoreQuery::History {
                    limit: StoreQuery::MAX_LIMIT,
                },
            )
        };
        match self.history(name).await {
            Ok(device) => {
                let older = match stored().await {
                    Ok(kept) => kept,
                    Err(e) => {
                        tracing::debug!(thing = %self.id(), attribute = name, error = %e, "no older history from the stores");
                        Vec::new()
                    }
                };
                // Older than the device's oldest entry. The stored copy of that very entry is
                // stamped when it was published, no earlier than when it was set.
                let oldest = device.first().map(|e| (e.ts, e.seq));
                let older = older
                    .into_iter()
                    .filter(|s| oldest.is_some_and(|o| (s.ts, s.seq) < o))
                    .map(|s| Reading::kept(s, Source::Store));
                let recent = device.into_iter().map(|e| Reading::kept(e, Source::Device));
                Ok(older.chain(recent).collect())
            }
            Err(device) if falls_back(&device) => {
                let kept = stored().await?;
                if kept.is_empty() {
                    return Err(device);
                }
                Ok(kept
                    .into_iter()
                    .map(|s| Reading::kept(s, Source::Store))
                    .collect())
            }
            Err(e) => Err(e),
        }
    }

    /// The values the stores kept for an attribute, verified frame by frame: a frame that is
    /// not the thing's genuine publication on that attribute is dropped and logged, never
    /// returned, so one lying store cannot spoil what an honest one answers. `Err` only when
    /// no frame verified and some were rejected. Sorted by timestamp and sequence number,
    /// duplicates (the same publication from several stores) dropped.
    async fn stored(&self, name: &str, query: StoreQuery) -> Result<Vec<HistoryEntry>> {
        let (_, schema) = self.attribute_schema(name)?;
        let key = keys::attribute(self.id(), name);
        let frames = query_store(&self.client, &key, &query).await?;
        let mut out: Vec<HistoryEntry> = Vec::with_capacity(frames.len());
        let mut rejected = Rejected::default();
        for frame in frames {
            let verified = self.open_stored_update(&key, &frame).and_then(|s| {
                self.check_value(schema, &s.value, || {
                    format!("stored value of attribute `{name}`")
                })?;
                Ok(s)
            });
            match verified {
                Ok(s) => out.push(s),
                Err(e) => rejected.note(&key, e),
            }
        }
        if out.is_empty() {
            rejected.into_result()?;
        }
        out.sort_by_key(|s| (s.ts, s.seq));
        out.dedup_by_key(|s| (s.ts, s.seq));
        Ok(out)
    }

    /// Verifies one stored frame as this thing's publication on `key` and opens it.
    fn open_stored_update(&self, key: &str, frame: &[u8]) -> Result<HistoryEntry> {
        let opened = self
            .open_checked(
                key,
                frame,
                |b| serde_json::from_slice::<AttributeUpdate>(b),
                false,
            )
            .map_err(|e| match e {
                Unreadable::Error(e) => e,
                Unreadable::UnknownKey(kid) => key_not_held(&kid),
            })?;
        signed_publication(&opened)?;
        Ok(HistoryEntry {
            value: opened.body.value,
            seq: opened.body.seq,
            ts: opened.ts,
        })
    }
}

impl Client {
    /// Connects to a thing whose device may be offline: its description from the device, or
    /// else from a store — accepted only when signed by the key already pinned for the thing
    /// (a store cannot introduce a thing).
    pub async fn thing_or_stored(&self, id: &str) -> Result<RemoteThing> {
        match self.thing(id).await {
            Ok(t) => Ok(t),
            Err(e @ (Error::UnknownThing(_) | Error::TimedOut { .. } | Error::Offline(_))) => {
                self.stored_thing(id).await?.ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// Connects to a thing through a store's copy of its description alone, without asking
    /// the device (for callers that already did): `None` when no key is pinned for the thing
    /// or no store answered.
    pub async fn stored_thing(&self, id: &str) -> Result<Option<RemoteThing>> {
        match self.stored_description(id).await? {
            Some(d) => RemoteThing::new(self.inner.clone(), d).map(Some),
            None => Ok(None),
        }
    }

    /// The latest description a store kept, verified against the pinned key; `None` when no
    /// key is pinned or no store answered.
    async fn stored_description(&self, id: &str) -> Result<Option<Description>> {
        let id = parse_id(id)?;
        let pinned = self.inner.pinned(&id);
        let Some(pinned) = pinned else {
            return Ok(None);
        };
        let key = keys::description(&id);
        let frames = query_store(&self.inner, &key, &StoreQuery::Latest).await?;
        let mut best: Option<Description> = None;
        let mut rejected = Rejected::default();
        for frame in frames {
            match self.open_stored_description(&id, &pinned, &key, &frame) {
                Ok(d) => {
                    if best.as_ref().is_none_or(|b| b.revision <= d.revision) {
                        best = Some(d);
                    }
                }
                Err(e) => rejected.note(&key, e),
            }
        }
        if best.is_none() {
            rejected.into_result()?;
        }
        Ok(best)
    }

    /// Verifies one stored frame as the description of `id` signed by its pinned key.
    fn open_stored_description(
        &self,
        id: &crate::ir::ThingId,
        pinned: &crate::PublicKey,
        key: &str,
        frame: &[u8],
    ) -> Result<Description> {
        let opened = self
            .inner
            .verifier
            .open_stored(key, frame)
            .map_err(Error::Untrusted)?;
        if !opened.signed || opened.from != *pinned || opened.kind != Kind::Description {
            return Err(Error::Untrusted(EnvelopeError::WrongSender {
                expected: pinned.to_string(),
                found: opened.from.to_string(),
            }));
        }
        let d: Description = serde_json::from_slice(opened.body)
            .map_err(|e| Error::Untrusted(EnvelopeError::Malformed(e.to_string())))?;
        if d.id != *id || d.thing_key != *pinned {
            return Err(Error::Untrusted(EnvelopeError::Unexpected(
                "a stored description of another thing".into(),
            )));
        }
        d.definition.check()?;
        Ok(d)
    }
}

/// The stored frames a read dropped because they did not verify: logged one by one, and the
/// read's error only when nothing else verified.
#[derive(Default)]
struct Rejected {
    first: Option<Error>,
    count: usize,
}

impl Rejected {
    fn note(&mut self, key: &str, e: Error) {
        self.count += 1;
        tracing::warn!(key, error = %e, "a store returned a frame that does not verify; dropped");
        self.first.get_or_insert(e);
    }

    /// `Err` with the first rejection, when there was one.
    fn into_result(self) -> Result<()> {
        match self.first {
            Some(e) => {
                if self.count > 1 {
                    tracing::warn!(rejected = self.count, "no stored frame verified");
                }
                Err(e)
            }
            None => Ok(()),
        }
    }
}

/// A stored frame sealed with a group or owner key this client does not hold.
pub(super) fn key_not_held(kid: &str) -> Error {
    Error::Untrusted(EnvelopeError::Malformed(format!(
        "sealed with key `{kid}`, which this client does not hold"
    )))
}

/// What every stored frame must be besides genuine: signed (a store keeps only what a thing
/// signed), and a publication.
pub(super) fn signed_publication<T>(opened: &crate::envelope::Opened<T>) -> Result<()> {
    if !opened.signed {
        return Err(Error::Untrusted(EnvelopeError::Unsigned));
    }
    if opened.kind != Kind::Publication {
        return Err(Error::Untrusted(EnvelopeError::Unexpected(format!(
            "a stored {:?} where a publication was expected",
            opened.kind
        ))));
    }
    Ok(())
}

/// Whether a failed device read may be answered by a store: the device did not answer (or
/// the network failed), not "no such attribute" or "forbidden".
fn falls_back(e: &Error) -> bool {
    matches!(
        e,
        Error::TimedOut { .. } | Error::Offline(_) | Error::UnknownThing(_) | Error::Transport(_)
    )
}

/// How long a store has to answer.
const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks every store for `thing_key`'s frames; the frames of all answers, as received.
pub(super) async fn query_store(
    inner: &ClientInner,
    thing_key: &str,
    query: &StoreQuery,
) -> Result<Vec<Bytes>> {
    let Some(key) = store_key(thing_key) else {
        return Ok(Vec::new());
    };
    let payload = serde_json::to_vec(query)
        .map_err(|e| Error::Untrusted(EnvelopeError::Malformed(e.to_string())))?;
    let timeout = inner.config.request_timeout.min(STORE_TIMEOUT);
    let mut replies = inner
        .transport
        .query(&key, Some(Bytes::from(payload)), timeout)
        .await?;
    let mut frames = Vec::new();
    while let Some(reply) = replies.recv().await {
        if let Reply::Ok(sample) = reply {
            frames.push(sample.payload);
            if frames.len() > StoreQuery::MAX_LIMIT as usize * 4 {
                break;
            }
        }
    }
    Ok(frames)
}

/// How old `ts` is now, milliseconds.
fn age(ts: u64) -> u64 {
    crate::envelope::now_ms().saturating_sub(ts)
}

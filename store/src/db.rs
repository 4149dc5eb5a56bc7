//! The on-disk database: every kept frame byte for byte, per stream, in one redb file.
//!
//! Tables: `streams` maps a stream's key to its bookkeeping (first and next index, count,
//! bytes); `frames` maps `(key, index)` to a record: the time the store kept it, the
//! sequence number when the body is readable, and the frame unchanged.

use std::path::Path;

use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
};

use safething::stored::Position;

use crate::error::StoreError;
use crate::retention::Retention;

const STREAMS: TableDefinition<&str, &[u8]> = TableDefinition::new("streams");
const FRAMES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("frames");
/// A thing's key as its signed description names it (`thing id → 32 bytes`): the key the
/// store checks later frames of the thing against.
const THINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("things");
/// The SHA-256 of every kept frame, per stream (`(key, digest)`): a frame is kept once, whether
/// it arrives twice live or again from another store.
const DIGESTS: TableDefinition<(&str, &[u8]), ()> = TableDefinition::new("digests");
/// Counters of the whole database: `total_bytes`, the frame bytes of all streams.
const TOTALS: TableDefinition<&str, u64> = TableDefinition::new("totals");
const TOTAL_BYTES: &str = "total_bytes";

/// Bytes before the frame in a record: stored at (u64be), seq present (u8), seq (u64be).
const RECORD_HEAD: usize = 17;

/// One frame to keep.
#[derive(Clone, Debug)]
pub struct Incoming<'a> {
    /// The key it was published on (`safething/v1/<id>/...`).
    pub key: &'a str,
    /// The frame, as received.
    pub frame: &'a [u8],
    /// Its sequence number, when the store could read one (plain attribute and event bodies).
    pub seq: Option<u64>,
}

/// A kept frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kept {
    /// When the store kept it, Unix milliseconds (the store's clock).
    pub stored_ms: u64,
    /// Its sequence number, when readable.
    pub seq: Option<u64>,
    /// The frame, byte for byte as received.
    pub frame: Vec<u8>,
}

/// A stream's bookkeeping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Meta {
    first: u64,
    next: u64,
    count: u64,
    bytes: u64,
}

impl Meta {
    fn read(b: &[u8]) -> Meta {
        let n = |i: usize| {
            b.get(i * 8..i * 8 + 8)
                .and_then(|s| <[u8; 8]>::try_from(s).ok())
                .map_or(0, u64::from_be_bytes)
        };
        Meta {
            first: n(0),
            next: n(1),
            count: n(2),
            bytes: n(3),
        }
    }

    fn write(&self) -> [u8; 32] {
        let mut out = [0; 32];
        for (i, v) in [self.first, self.next, self.count, self.bytes]
            .into_iter()
            .enumerate()
        {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        out
    }
}

fn record(stored_ms: u64, seq: Option<u64>, frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEAD + frame.len());
    out.extend_from_slice(&stored_ms.to_be_bytes());
    out.push(u8::from(seq.is_some()));
    out.extend_from_slice(&seq.unwrap_or(0).to_be_bytes());
    out.extend_from_slice(frame);
    out
}

fn digest(frame: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(frame).into()
}

/// The publisher's timestamp of a frame (0 when it does not decode: it was checked before it
/// was kept, so that does not happen).
fn published_ms(frame: &[u8]) -> u64 {
    safething::frame::decode(frame).map_or(0, |f| f.header.ts)
}

/// The sequence number of a record, when the store could read one.
fn kept_seq(r: &[u8]) -> Option<u64> {
    let seq = u64::from_be_bytes(r.get(9..17)?.try_into().ok()?);
    (*r.get(8)? != 0).then_some(seq)
}

fn kept(r: &[u8]) -> Option<Kept> {
    let stored_ms = u64::from_be_bytes(r.get(..8)?.try_into().ok()?);
    Some(Kept {
        stored_ms,
        seq: kept_seq(r),
        frame: r.get(RECORD_HEAD..)?.to_vec(),
    })
}

/// The run and number a plain publication's body carries.
#[derive(serde::Deserialize)]
struct Place {
    seq: u64,
    epoch: u32,
}

/// Whether a kept frame was published after `after`: by run and number when its body is
/// plain, else by its signed timestamp (a frame that does not decode never is).
fn follows(after: &Position, frame: &[u8]) -> bool {
    let Ok(f) = safething::frame::decode(frame) else {
        return false;
    };
    let ts = f.header.ts;
    let place = (!f.header.sealed)
        .then(|| serde_json::from_slice::<Place>(f.body).ok())
        .flatten();
    match place {
        Some(p) => after.precedes(p.epoch, p.seq, ts),
        None => ts >= after.ts,
    }
}

/// Where a frame published at `ts` (numbered `seq`, when readable) goes in a stream: after
/// every kept frame published before it (the end, for live frames, which come in order).
/// Frames of one millisecond are in the order of their numbers when both have one, else in
/// the order they came: a frame caught up again after retention dropped it must not land
/// after a newer one of the same millisecond, and push it out in its place.
fn place(
    table: &redb::Table<'_, (&'static str, u64), &'static [u8]>,
    key: &str,
    meta: &Meta,
    ts: u64,
    seq: Option<u64>,
) -> Result<u64, StoreError> {
    let mut at = meta.next;
    while at > meta.first {
        let before = table.get((key, at - 1))?.and_then(|r| {
            let r = r.value();
            Some((published_ms(r.get(RECORD_HEAD..)?), kept_seq(r)))
        });
        let later = match before {
            Some((before_ts, _)) if before_ts != ts => before_ts > ts,
            Some((_, Some(before_seq))) => seq.is_some_and(|s| before_seq > s),
            _ => false,
        };
        if !later {
            break;
        }
        at -= 1;
    }
    Ok(at)
}

/// The database. Every [`ingest`](Db::ingest) is one transaction committed with
/// `Durability::Immediate`: once it returns `Ok`, the frames survive a crash or power loss.
#[derive(Debug)]
pub struct Db {
    db: Database,
    retention: Retention,
}

/// Brings the database under its total: the streams holding the most bytes lose their oldest
/// frames first, each keeping its newest. Returns the new total (still above the limit only
/// when every stream is down to its newest frame).
fn shed(
    streams: &mut redb::Table<'_, &'static str, &'static [u8]>,
    table: &mut redb::Table<'_, (&'static str, u64), &'static [u8]>,
    digests: &mut redb::Table<'_, (&'static str, &'static [u8]), ()>,
    mut total: u64,
    retention: Retention,
) -> Result<u64, StoreError> {
    let mut heap = std::collections::BinaryHeap::new();
    for entry in streams.iter()? {
        let (k, m) = entry?;
        let meta = Meta::read(m.value());
        if meta.count > 1 {
            heap.push((meta.bytes, k.value().to_owned()));
        }
    }
    while total > retention.max_total_bytes {
        let Some((_, key)) = heap.pop() else { break };
        let Some(mut meta) = streams.get(key.as_str())?.map(|m| Meta::read(m.value())) else {
            continue;
        };
        // A few frames at a time from the largest stream, then it goes back in line.
        let mut removed = false;
        for _ in 0..16 {
            if meta.count <= 1 || meta.first >= meta.next || total <= retention.max_total_bytes {
                break;
            }
            let gone = table
                .remove((key.as_str(), meta.first))?
                .map(|r| r.value().get(RECORD_HEAD..).unwrap_or_default().to_vec());
            meta.first += 1;
            let Some(frame) = gone else { continue };
            digests.remove((key.as_str(), digest(&frame).as_slice()))?;
            let len = frame.len() as u64;
            meta.count -= 1;
            meta.bytes = meta.bytes.saturating_sub(len);
            total = total.saturating_sub(len);
            removed = true;
        }
        streams.insert(key.as_str(), meta.write().as_slice())?;
        // A stream that gave nothing (its frames are not where its bookkeeping says) is not
        // asked again, so this ends whatever the file holds.
        if removed && meta.count > 1 {
            heap.push((meta.bytes, key));
        }
    }
    Ok(total)
}

impl Db {
    /// Opens (or creates) the database file; a file left by a killed store opens as of its
    /// last commit.
    pub fn open(path: &Path, retention: Retention) -> Result<Db, StoreError> {
        Db::from_database(Database::create(path)?, retention)
    }

    /// A store in a database opened by the caller (another storage backend: in memory, or
    /// one that reports a full disk in tests).
    pub fn from_database(db: Database, retention: Retention) -> Result<Db, StoreError> {
        let txn = db.begin_write()?;
        {
            txn.open_table(STREAMS)?;
            txn.open_table(FRAMES)?;
            txn.open_table(THINGS)?;
            let mut totals = txn.open_table(TOTALS)?;
            // A database written before the total was kept: add up its streams once.
            if totals.get(TOTAL_BYTES)?.is_none() {
                let streams = txn.open_table(STREAMS)?;
                let mut total = 0u64;
                for entry in streams.iter()? {
                    let (_, m) = entry?;
                    total = total.saturating_add(Meta::read(m.value()).bytes);
                }
                totals.insert(TOTAL_BYTES, total)?;
            }
            let mut digests = txn.open_table(DIGESTS)?;
            // A database written before digests were kept: record those of its frames once.
            if digests.is_empty()? {
                let frames = txn.open_table(FRAMES)?;
                for entry in frames.iter()? {
                    let (k, r) = entry?;
                    let (key, _) = k.value();
                    let frame = r.value().get(RECORD_HEAD..).unwrap_or_default();
                    digests.insert((key, digest(frame).as_slice()), ())?;
                }
            }
        }
        txn.commit()?;
        Ok(Db { db, retention })
    }

    /// The limits applied at each ingest.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// Keeps `frames` in one durable transaction (a group commit), applying retention to each
    /// stream touched. A frame already kept in its stream (byte for byte) is not kept again.
    /// A stream is in publication order (the publisher's timestamps): a frame older than
    /// the newest kept — one a replica caught up from another store — takes its place among
    /// them rather than the end. Returns how many were added.
    pub fn ingest(&self, frames: &[Incoming<'_>], now_ms: u64) -> Result<usize, StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let mut added = 0;
        {
            let mut streams = txn.open_table(STREAMS)?;
            let mut table = txn.open_table(FRAMES)?;
            let mut digests = txn.open_table(DIGESTS)?;
            let mut totals = txn.open_table(TOTALS)?;
            let before = totals.get(TOTAL_BYTES)?.map_or(0, |t| t.value());
            let mut total = before;
            for f in frames {
                // Recorded now (one lookup, not two): the frame is kept just below.
                if digests
                    .insert((f.key, digest(f.frame).as_slice()), ())?
                    .is_some()
                {
                    continue;
                }
                let mut meta = streams
                    .get(f.key)?
                    .map(|m| Meta::read(m.value()))
                    .unwrap_or_default();
                let at = place(&table, f.key, &meta, published_ms(f.frame), f.seq)?;
                // Make room: the newer frames move up by one, newest first.
                let mut i = meta.next;
                while i > at {
                    let moved = table.remove((f.key, i - 1))?.map(|r| r.value().to_vec());
                    if let Some(r) = moved {
                        table.insert((f.key, i), r.as_slice())?;
                    }
                    i -= 1;
                }
                let len = f.frame.len() as u64;
                table.insert((f.key, at), record(now_ms, f.seq, f.frame).as_slice())?;
                meta.next += 1;
                meta.count += 1;
                meta.bytes += len;
                total = total.saturating_add(len);
                added += 1;
                while meta.count > 1 {
                    let oldest = table.get((f.key, meta.first))?.map(|r| {
                        let r = r.value();
                        let at = kept(r).map_or(0, |k| k.stored_ms);
                        (at, r.len().saturating_sub(RECORD_HEAD) as u64)
                    });
                    let Some((at, bytes)) = oldest else {
                        // A gap cannot happen; step over it rather than loop.
                        meta.first += 1;
                        continue;
                    };
                    if !self
                        .retention
                        .drops_oldest(meta.count, meta.bytes, at, now_ms)
                    {
                        break;
                    }
                    let gone = table
                        .remove((f.key, meta.first))?
                        .map(|r| digest(r.value().get(RECORD_HEAD..).unwrap_or_default()));
                    if let Some(gone) = gone {
                        digests.remove((f.key, gone.as_slice()))?;
                    }
                    meta.first += 1;
                    meta.count -= 1;
                    meta.bytes = meta.bytes.saturating_sub(bytes);
                    total = total.saturating_sub(bytes);
                }
                streams.insert(f.key, meta.write().as_slice())?;
            }
            if total > self.retention.max_total_bytes {
                total = shed(
                    &mut streams,
                    &mut table,
                    &mut digests,
                    total,
                    self.retention,
                )?;
            }
            if total != before {
                totals.insert(TOTAL_BYTES, total)?;
            }
        }
        txn.commit()?;
        Ok(added)
    }

    /// The frame bytes kept in all streams together.
    pub fn total_bytes(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let totals = txn.open_table(TOTALS)?;
        Ok(totals.get(TOTAL_BYTES)?.map_or(0, |t| t.value()))
    }

    /// Whether `frame` is kept in the stream `key` (byte for byte).
    pub fn has(&self, key: &str, frame: &[u8]) -> Result<bool, StoreError> {
        let txn = self.db.begin_read()?;
        let digests = txn.open_table(DIGESTS)?;
        Ok(digests.get((key, digest(frame).as_slice()))?.is_some())
    }

    /// The keys of every stream kept.
    pub fn streams(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let streams = txn.open_table(STREAMS)?;
        let mut out = Vec::new();
        for entry in streams.iter()? {
            let (k, _) = entry?;
            out.push(k.value().to_owned());
        }
        Ok(out)
    }

    /// The ids of every thing whose key the store recorded.
    pub fn things(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let things = txn.open_table(THINGS)?;
        let mut out = Vec::new();
        for entry in things.iter()? {
            let (k, _) = entry?;
            out.push(k.value().to_owned());
        }
        Ok(out)
    }

    /// The newest `limit` frames of a stream, oldest first; only those whose sequence number
    /// is above `after` (or unreadable) when given.
    pub fn history(
        &self,
        key: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Vec<Kept>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(FRAMES)?;
        let mut out = Vec::new();
        for entry in table.range((key, 0)..=(key, u64::MAX))?.rev() {
            if out.len() >= limit {
                break;
            }
            let (_, r) = entry?;
            let Some(k) = kept(r.value()) else { continue };
            if let (Some(after), Some(seq)) = (after, k.seq)
                && seq <= after
            {
                continue;
            }
            out.push(k);
        }
        out.reverse();
        Ok(out)
    }

    /// The oldest `limit` frames of a stream published after `after` (see
    /// [`StoreQuery::Since`](safething::stored::StoreQuery::Since)), oldest first. The run,
    /// number and time are read from each frame as kept: its signed timestamp, and the body's
    /// `epoch` and `seq` when it is plain.
    pub fn since(
        &self,
        key: &str,
        after: &Position,
        limit: usize,
    ) -> Result<Vec<Kept>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(FRAMES)?;
        let mut out = Vec::new();
        for entry in table.range((key, 0)..=(key, u64::MAX))? {
            if out.len() >= limit {
                break;
            }
            let (_, r) = entry?;
            let Some(k) = kept(r.value()) else { continue };
            if follows(after, &k.frame) {
                out.push(k);
            }
        }
        Ok(out)
    }

    /// The newest frame of a stream.
    pub fn latest(&self, key: &str) -> Result<Option<Kept>, StoreError> {
        Ok(self.history(key, 1, None)?.pop())
    }

    /// How many frames and bytes a stream holds.
    pub fn usage(&self, key: &str) -> Result<(u64, u64), StoreError> {
        let txn = self.db.begin_read()?;
        let streams = txn.open_table(STREAMS)?;
        let meta = streams
            .get(key)?
            .map(|m| Meta::read(m.value()))
            .unwrap_or_default();
        Ok((meta.count, meta.bytes))
    }

    /// The key recorded for a thing from its signed description.
    pub fn thing_key(&self, id: &str) -> Result<Option<[u8; 32]>, StoreError> {
        let txn = self.db.begin_read()?;
        let things = txn.open_table(THINGS)?;
        Ok(things
            .get(id)?
            .and_then(|k| <[u8; 32]>::try_from(k.value()).ok()))
    }

    /// Records a thing's key (first description wins: the store pins keys as clients do).
    pub fn remember_thing(&self, id: &str, key: &[u8; 32]) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut things = txn.open_table(THINGS)?;
            if things.get(id)?.is_none() {
                things.insert(id, key.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

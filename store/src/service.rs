//! The store on the network: subscribes to every thing's publications, keeps what passes the
//! checks, and answers queries on `safething/store/v1/**` with the kept frames unchanged.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use safething::keys::{self, Route};
use safething::stored::{ALL_STORED, StoreQuery, store_key, thing_key};
use safething::transport::{Query, Reply, Sample, Transport};
use tokio::sync::mpsc;

use crate::catch_up::{CATCH_UP_EVERY, catch_up_loop};
use crate::check::{Checker, Dropped};
use crate::db::{Db, Incoming};
use crate::error::StoreError;

/// Every publication, description and request state of every thing.
const ALL_PUBLISHED: &str = "safething/v1/**";

/// Frames waiting for the writer; beyond this the subscription waits (backpressure).
const QUEUE: usize = 8192;

/// At most this many frames per transaction (one fsync each).
const GROUP: usize = 512;

/// Thing ids waiting for their description to be asked for: bounded, so that frames of made-up
/// things cannot grow the store's memory.
const DESCRIBE_QUEUE: usize = 256;

/// How often the store asks for the description of a thing it does not know.
const DESCRIBE_EVERY: Duration = Duration::from_secs(10);

/// Thing ids waiting to be caught up from the other stores (their description came): bounded
/// like [`DESCRIBE_QUEUE`]; when full, the periodic catch-up covers them.
const CATCH_UP_QUEUE: usize = 256;

/// A frame for the writer: received live, or answered by another store (catch-up).
#[derive(Debug)]
pub(crate) struct Fed {
    /// The frame, on the key the store computed itself.
    pub sample: Sample,
    /// Whether another store answered it (checked without the freshness window).
    pub replica: bool,
}

/// What the store did, since it started.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames committed to disk.
    pub stored: AtomicU64,
    /// Of those, frames the store lacked and caught up from another store's answers.
    pub caught_up: AtomicU64,
    /// Frames already kept in their stream (kept once): repeated live, or a catch-up answer
    /// the store had (its own answers to its catch-up queries among them).
    pub duplicates: AtomicU64,
    /// Frames that do not decode, are unsigned, stale or badly signed.
    pub dropped_frame: AtomicU64,
    /// Frames on keys the store does not keep, or of the wrong kind for their key.
    pub dropped_key: AtomicU64,
    /// Frames not signed by their thing's key.
    pub dropped_sender: AtomicU64,
    /// Frames of things whose description the store has not seen yet.
    pub dropped_unknown: AtomicU64,
    /// Transactions that failed (disk full, IO error); their frames are lost, not half kept.
    pub failed_commits: AtomicU64,
    /// Queries answered.
    pub queries: AtomicU64,
    /// Queries refused because [`READERS`] were being answered already (a flood of queries).
    pub busy: AtomicU64,
}

/// Store queries answered at once, each on a blocking thread: more are refused ("busy") at
/// once, so that a flood of queries holds a few threads and database reads, not hundreds.
pub const READERS: usize = 8;

impl Stats {
    fn count(&self, why: Dropped) {
        let counter = match why {
            Dropped::Frame => &self.dropped_frame,
            Dropped::Key | Dropped::Kind => &self.dropped_key,
            Dropped::Sender => &self.dropped_sender,
            Dropped::UnknownThing => &self.dropped_unknown,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Frames committed so far.
    pub fn stored(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    /// Frames caught up from other stores so far.
    pub fn caught_up(&self) -> u64 {
        self.caught_up.load(Ordering::Relaxed)
    }

    /// Frames dropped so far, for any reason.
    pub fn dropped(&self) -> u64 {
        [
            &self.dropped_frame,
            &self.dropped_key,
            &self.dropped_sender,
            &self.dropped_unknown,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

/// A running store. Dropping it stops the network side; the database stays consistent.
pub struct Store {
    db: Arc<Db>,
    stats: Arc<Stats>,
    guards: Vec<safething::transport::Guard>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    writer: Option<std::thread::JoinHandle<()>>,
    failed: tokio::sync::watch::Receiver<Option<String>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Joins the network through `transport`: subscribes, starts the writer, serves queries,
    /// and catches up from the other stores now and every [`CATCH_UP_EVERY`].
    pub async fn start(transport: Arc<dyn Transport>, db: Db) -> Result<Store, StoreError> {
        Store::start_with(transport, db, CATCH_UP_EVERY).await
    }

    /// Like [`start`](Store::start), catching up from the other stores every `catch_up`
    /// (and at start).
    pub async fn start_with(
        transport: Arc<dyn Transport>,
        db: Db,
        catch_up: Duration,
    ) -> Result<Store, StoreError> {
        let db = Arc::new(db);
        let stats = Arc::new(Stats::default());
        let (tx, rx) = mpsc::channel::<Fed>(QUEUE);
        let (describe_tx, describe_rx) = mpsc::channel::<String>(DESCRIBE_QUEUE);
        let (things_tx, things_rx) = mpsc::channel::<String>(CATCH_UP_QUEUE);
        let (failed_tx, failed) = tokio::sync::watch::channel(None);
        let writer = {
            let (db, stats) = (db.clone(), stats.clone());
            let wake = Wake {
                describe: describe_tx,
                catch_up: things_tx,
            };
            std::thread::Builder::new()
                .name("safething-store-writer".into())
                .spawn(move || write_loop(&db, &stats, rx, &wake, &failed_tx))
                .map_err(|e| StoreError::Task(e.to_string()))?
        };
        let mut subscriber = transport.subscribe(ALL_PUBLISHED).await?;
        let feed = {
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(sample) = subscriber.recv().await {
                    let fed = Fed {
                        sample,
                        replica: false,
                    };
                    if tx.send(fed).await.is_err() {
                        break;
                    }
                }
            })
        };
        let describer = tokio::spawn(describe_loop(transport.clone(), describe_rx, tx.clone()));
        let handler = {
            let (db, stats) = (db.clone(), stats.clone());
            let readers = Arc::new(tokio::sync::Semaphore::new(READERS));
            Arc::new(move |query: Query| {
                let Ok(reader) = readers.clone().try_acquire_owned() else {
                    stats.busy.fetch_add(1, Ordering::Relaxed);
                    let _ = query.reply_err(Bytes::from_static(b"the store is busy: ask again"));
                    return;
                };
                let (db, stats) = (db.clone(), stats.clone());
                // Reads may touch thousands of frames: off the transport's receive thread.
                tokio::task::spawn_blocking(move || {
                    answer(&db, &stats, &query);
                    drop(reader);
                });
            })
        };
        let serving = transport.serve_queries(ALL_STORED, handler).await?;
        let catcher = tokio::spawn(catch_up_loop(
            transport.clone(),
            db.clone(),
            tx,
            things_rx,
            catch_up,
        ));
        tracing::info!(retention = ?db.retention(), ?catch_up, "store running");
        Ok(Store {
            db,
            stats,
            guards: vec![serving],
            tasks: vec![feed, describer, catcher],
            writer: Some(writer),
            failed,
        })
    }

    /// Resolves when the store stopped writing (a full disk, an IO error), with the error.
    /// What was committed is intact; restart the store once the cause is fixed.
    pub async fn failure(&self) -> String {
        let mut failed = self.failed.clone();
        loop {
            if let Some(e) = failed.borrow_and_update().clone() {
                return e;
            }
            if failed.changed().await.is_err() {
                // The writer ended without a failure (closing): nothing to report, ever.
                std::future::pending::<()>().await;
            }
        }
    }

    /// What the store did so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The database, for reads in process.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stops subscribing, waits for the writer to commit what it holds, and (a few seconds at
    /// most) for reads in flight, so that the database file is free when it returns.
    pub async fn close(mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
        self.guards.clear();
        if let Some(writer) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        // Reads still running off the async threads (a query being answered, the streams a
        // catch-up lists) hold the database; the file is released when the last lets go, so
        // that a store reopened at once finds it free. They are short: wait a little for them.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.db) > 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Where the writer sends thing ids: to have their description asked for, or to be caught up.
struct Wake {
    describe: mpsc::Sender<String>,
    catch_up: mpsc::Sender<String>,
}

/// Takes whatever is queued (up to [`GROUP`]), checks it, commits it in one transaction (two
/// when catch-up answers are among it, to count them apart).
fn write_loop(
    db: &Db,
    stats: &Stats,
    mut rx: mpsc::Receiver<Fed>,
    wake: &Wake,
    failed: &tokio::sync::watch::Sender<Option<String>>,
) {
    let live = Checker::default();
    let replica = Checker::replica();
    let mut batch: Vec<Fed> = Vec::with_capacity(GROUP);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < GROUP {
            match rx.try_recv() {
                Ok(s) => batch.push(s),
                Err(_) => break,
            }
        }
        let mut keep: Vec<(usize, Option<u64>)> = Vec::with_capacity(batch.len());
        let mut described: Vec<&str> = Vec::new();
        for (i, fed) in batch.iter().enumerate() {
            let s = &fed.sample;
            // Most of what the stores answer a catch-up is kept already (this store's own
            // answers among it): known by its digest, not checked again.
            if fed.replica && db.has(&s.key, &s.payload).unwrap_or(false) {
                stats.duplicates.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let checker = if fed.replica { &replica } else { &live };
            match checker.check(db, &s.key, &s.payload) {
                Ok(Ok(accepted)) => {
                    if let Some((id, key)) = &accepted.describes
                        && let Err(e) = db.remember_thing(id, key)
                    {
                        tracing::error!(error = %e, "could not record a thing's key");
                        continue;
                    }
                    if let Some((id, Route::Description)) = keys::parse(&s.key)
                        && !described.contains(&id)
                    {
                        described.push(id);
                    }
                    keep.push((i, accepted.seq));
                }
                Ok(Err(why)) => {
                    stats.count(why);
                    if why == Dropped::UnknownThing
                        && let Some((id, _)) = keys::parse(&s.key)
                    {
                        // Full: a flood of unknown ids; they are asked for on a later frame.
                        let _ = wake.describe.try_send(id.to_owned());
                    }
                    tracing::debug!(key = %s.key, ?why, replica = fed.replica, "dropped a frame");
                }
                Err(e) => tracing::error!(error = %e, "store database"),
            }
        }
        for from_replica in [false, true] {
            let incoming: Vec<Incoming<'_>> = keep
                .iter()
                .filter_map(|(i, seq)| {
                    batch
                        .get(*i)
                        .filter(|f| f.replica == from_replica)
                        .map(|f| Incoming {
                            key: &f.sample.key,
                            frame: &f.sample.payload,
                            seq: *seq,
                        })
                })
                .collect();
            if incoming.is_empty() {
                continue;
            }
            match db.ingest(&incoming, safething::envelope::now_ms()) {
                Ok(added) => {
                    stats.stored.fetch_add(added as u64, Ordering::Relaxed);
                    if from_replica {
                        stats.caught_up.fetch_add(added as u64, Ordering::Relaxed);
                    }
                    let dup = incoming.len().saturating_sub(added) as u64;
                    stats.duplicates.fetch_add(dup, Ordering::Relaxed);
                }
                Err(e) => {
                    // redb refuses a handle after an IO error: stop writing, report it; what
                    // was committed is intact for the next start.
                    stats.failed_commits.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, frames = incoming.len(), "could not commit frames; the store stops writing");
                    let _ = failed.send(Some(e.to_string()));
                    return;
                }
            }
        }
        for id in described {
            // A thing met (again), its description committed: what the other stores kept of
            // it while this one was away. Full: the periodic catch-up covers it.
            let _ = wake.catch_up.try_send(id.to_owned());
        }
        batch.clear();
    }
}

/// Asks for the descriptions of things the store met before their description — the
/// device's, and the other stores' copies (a device may be gone) — at most once every
/// [`DESCRIBE_EVERY`] per thing; the answers go through the same checks as everything.
async fn describe_loop(
    transport: Arc<dyn Transport>,
    mut ids: mpsc::Receiver<String>,
    tx: mpsc::Sender<Fed>,
) {
    let mut asked: HashMap<String, Instant> = HashMap::new();
    while let Some(id) = ids.recv().await {
        let now = Instant::now();
        if asked
            .get(&id)
            .is_some_and(|t| now.duration_since(*t) < DESCRIBE_EVERY)
        {
            continue;
        }
        if asked.len() > 10_000 {
            asked.retain(|_, t| now.duration_since(*t) < DESCRIBE_EVERY);
        }
        asked.insert(id.clone(), now);
        let Ok(thing) = safething::ir::ThingId::new(&id) else {
            continue;
        };
        let key = keys::description(&thing);
        let asked = [(Some(key.clone()), false), (store_key(&key), true)];
        for (asked, replica) in asked {
            let Some(asked) = asked else { continue };
            let Ok(mut replies) = transport.query(&asked, None, Duration::from_secs(2)).await
            else {
                continue;
            };
            let key: Arc<str> = key.as_str().into();
            while let Some(reply) = replies.recv().await {
                let Reply::Ok(sample) = reply else { continue };
                // On the key asked for, not the one the reply names.
                let sample = Sample {
                    key: key.clone(),
                    payload: sample.payload,
                };
                if tx.send(Fed { sample, replica }).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Answers one query with the kept frames, unchanged, oldest first.
fn answer(db: &Db, stats: &Stats, query: &Query) {
    stats.queries.fetch_add(1, Ordering::Relaxed);
    let refuse = |why: &str| {
        let _ = query.reply_err(Bytes::copy_from_slice(why.as_bytes()));
    };
    if query.key_expr.contains(['*', '$', '?', '#']) {
        return refuse("the store answers concrete keys only");
    }
    let Some(key) = thing_key(&query.key_expr) else {
        return refuse("not a store key");
    };
    let parsed = match &query.payload {
        None => Ok(StoreQuery::Latest),
        Some(p) if p.is_empty() => Ok(StoreQuery::Latest),
        Some(p) => serde_json::from_slice::<StoreQuery>(p),
    };
    let Ok(parsed) = parsed else {
        return refuse("a malformed store query");
    };
    let max = StoreQuery::MAX_LIMIT as usize;
    let found = match parsed {
        StoreQuery::Latest => db.latest(&key).map(|k| k.into_iter().collect()),
        StoreQuery::History { limit } => db.history(&key, (limit as usize).min(max), None),
        StoreQuery::Since { after, limit } => db.since(&key, &after, (limit as usize).min(max)),
    };
    match found {
        Ok(kept) => {
            for k in kept {
                if query.reply(&query.key_expr, Bytes::from(k.frame)).is_err() {
                    return;
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "store read");
            refuse("the store could not read its database");
        }
    }
}

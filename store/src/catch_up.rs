//! Replicas: a store that was down catches up from the other stores (`docs/store.md`,
//! "Replicas"). It asks them for the history of every stream it knows — with the same store
//! queries a client uses — and hands their answers to the writer, which checks each frame as
//! it checks a live one (but for freshness) and keeps the frames it lacks. Another store is
//! never trusted: only the thing's signature is.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use safething::ir::ThingId;
use safething::keys;
use safething::stored::{StoreQuery, store_key};
use safething::transport::{Reply, Sample, Transport};
use safething::wire::Description;
use tokio::sync::mpsc;

use crate::db::Db;
use crate::service::Fed;

/// How often a running store asks the others for everything it knows.
pub const CATCH_UP_EVERY: Duration = Duration::from_secs(10 * 60);

/// How often one thing is caught up when its description comes again (a device back online).
const THING_EVERY: Duration = Duration::from_secs(60);

/// How long the other stores have to answer one query.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Queries in flight at once.
const CONCURRENT: usize = 8;

/// At most this many replies per query are taken, whatever a store sends (a liar could send
/// without end; honest stores send at most [`StoreQuery::MAX_LIMIT`] each).
const MAX_REPLIES: usize = StoreQuery::MAX_LIMIT as usize * 4;

/// Catches up everything at start and every `every`, and a thing when `things` names it (its
/// description was accepted: a thing met for the first time, or again), at most once every
/// [`THING_EVERY`] per thing.
pub(crate) async fn catch_up_loop(
    transport: Arc<dyn Transport>,
    db: Arc<Db>,
    tx: mpsc::Sender<Fed>,
    mut things: mpsc::Receiver<String>,
    every: Duration,
) {
    // An interval of zero would spin (and tokio refuses it): a second at least.
    let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut recent: HashMap<String, Instant> = HashMap::new();
    loop {
        let only = tokio::select! {
            _ = tick.tick() => None,
            id = things.recv() => match id {
                Some(id) => Some(id),
                None => return,
            },
        };
        if let Some(id) = &only {
            let now = Instant::now();
            if recent
                .get(id)
                .is_some_and(|t| now.duration_since(*t) < THING_EVERY)
            {
                continue;
            }
            if recent.len() > 10_000 {
                recent.retain(|_, t| now.duration_since(*t) < THING_EVERY);
            }
            recent.insert(id.clone(), now);
        }
        let listed = {
            let db = db.clone();
            tokio::task::spawn_blocking(move || wanted(&db, only.as_deref())).await
        };
        let keys = match listed {
            Ok(Ok(keys)) => keys,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "catch-up: could not list the streams");
                continue;
            }
            Err(_) => continue,
        };
        let streams = keys.len();
        let asked = futures::stream::iter(keys)
            .map(|key| ask(transport.as_ref(), key, &tx))
            .buffer_unordered(CONCURRENT)
            .fold(0usize, |n, got| async move { n + got })
            .await;
        tracing::info!(streams, frames = asked, "caught up from the other stores");
    }
}

/// Asks the stores for a stream's history; hands every frame to the writer on the key this
/// store computed itself (never the one a reply names). Returns how many frames came.
async fn ask(transport: &dyn Transport, key: String, tx: &mpsc::Sender<Fed>) -> usize {
    let Some(asked) = store_key(&key) else {
        return 0;
    };
    let query = StoreQuery::History {
        limit: StoreQuery::MAX_LIMIT,
    };
    let Ok(payload) = serde_json::to_vec(&query) else {
        return 0;
    };
    let mut replies = match transport
        .query(&asked, Some(Bytes::from(payload)), QUERY_TIMEOUT)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(key = %asked, error = %e, "catch-up query failed");
            return 0;
        }
    };
    let key: Arc<str> = key.into();
    let mut n = 0;
    while let Some(reply) = replies.recv().await {
        let Reply::Ok(sample) = reply else { continue };
        let fed = Fed {
            sample: Sample {
                key: key.clone(),
                payload: sample.payload,
            },
            replica: true,
        };
        if tx.send(fed).await.is_err() {
            break;
        }
        n += 1;
        if n >= MAX_REPLIES {
            break;
        }
    }
    n
}

/// The streams to ask for: every stream kept, and every attribute and event the kept
/// description of a known thing names (streams this store never received a frame of); only
/// those of thing `only` when given.
fn wanted(db: &Db, only: Option<&str>) -> Result<Vec<String>, crate::StoreError> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for key in db.streams()? {
        if only.is_none_or(|id| keys::parse(&key).is_some_and(|(k, _)| k == id)) {
            out.insert(key);
        }
    }
    for id in db.things()? {
        if only.is_some_and(|o| o != id) {
            continue;
        }
        let Ok(thing) = ThingId::new(&id) else {
            continue;
        };
        let description = keys::description(&thing);
        if let Some(d) = db
            .latest(&description)?
            .and_then(|k| described(&k.frame, &thing))
        {
            for name in d.definition.attributes.keys().filter(|n| plain(n)) {
                out.insert(keys::attribute(&thing, name));
            }
            for name in d.definition.events.keys().filter(|n| plain(n)) {
                out.insert(keys::event(&thing, name));
            }
        }
        out.insert(description);
    }
    Ok(out.into_iter().collect())
}

/// Whether a name from a description makes one concrete key (a signed description may still
/// name anything: the store does not check definitions).
fn plain(name: &str) -> bool {
    !name.is_empty() && !name.contains(['*', '$', '?', '#', '/'])
}

/// The description a kept frame carries (checked when it was kept), when it is `thing`'s.
fn described(frame: &[u8], thing: &ThingId) -> Option<Description> {
    let f = safething::frame::decode(frame).ok()?;
    if f.header.sealed {
        return None;
    }
    let d: Description = serde_json::from_slice(f.body).ok()?;
    (d.id == *thing).then_some(d)
}

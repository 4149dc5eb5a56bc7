//! The in-process transport: many devices and clients in one process, no sockets.
//!
//! A [`MemoryNetwork`] is the shared medium; each participant opens its own
//! [`MemoryTransport`] session on it. Closing (or dropping) a session removes everything it
//! declared — its liveliness tokens disappear, exactly as when a Zenoh peer dies — which is how
//! tests simulate a crashed device.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::mpsc;

use super::{
    CHANNEL_CAPACITY, Guard, Liveliness, LivelinessWatch, Publishing, Query, Queryable, Receiver,
    Replier, Replies, Reply, Sample, Subscriber, Transport, TransportError, check_key_expr,
    keyexpr,
};

/// The shared medium of in-process sessions.
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    hub: Arc<Hub>,
}

impl std::fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryNetwork").finish_non_exhaustive()
    }
}

impl MemoryNetwork {
    /// A new, empty network.
    pub fn new() -> MemoryNetwork {
        MemoryNetwork::default()
    }

    /// Opens a session: one participant's view of the network.
    pub fn session(&self) -> MemoryTransport {
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed);
        MemoryTransport {
            session: Arc::new(Session {
                id,
                hub: self.hub.clone(),
                closed: AtomicBool::new(false),
            }),
        }
    }
}

/// One participant's session on a [`MemoryNetwork`]. Clones share the session.
#[derive(Clone)]
pub struct MemoryTransport {
    session: Arc<Session>,
}

impl std::fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTransport")
            .field("session", &self.session.id)
            .finish_non_exhaustive()
    }
}

impl MemoryTransport {
    /// Closes the session now, as if its process died: every declaration it made is removed,
    /// its liveliness tokens are reported gone, and later calls fail with
    /// [`TransportError::Closed`].
    pub fn close(&self) {
        self.session.close();
    }
}

#[derive(Default)]
struct Hub {
    next_id: AtomicU64,
    state: RwLock<HubState>,
}

#[derive(Default)]
struct HubState {
    subscribers: Vec<Decl<mpsc::Sender<Sample>>>,
    queryables: Vec<Decl<mpsc::Sender<Query>>>,
    watchers: Vec<Decl<mpsc::Sender<Liveliness>>>,
    /// Live tokens by key: (session, declaration id) of each.
    tokens: BTreeMap<String, Vec<(u64, u64)>>,
}

struct Decl<T> {
    id: u64,
    session: u64,
    key_expr: String,
    sender: T,
}

struct Session {
    id: u64,
    hub: Arc<Hub>,
    closed: AtomicBool,
}

impl Session {
    fn check_open(&self) -> Result<(), TransportError> {
        if self.closed.load(Ordering::Acquire) {
            Err(TransportError::Closed)
        } else {
            Ok(())
        }
    }

    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.hub.remove_session(self.id);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.close();
    }
}

impl Hub {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HubState> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters (every mutation is a single push/retain), so a poisoned lock is recovered.
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HubState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn remove_session(&self, session: u64) {
        let mut gone = Vec::new();
        let mut state = self.write();
        state.subscribers.retain(|d| d.session != session);
        state.queryables.retain(|d| d.session != session);
        state.watchers.retain(|d| d.session != session);
        state.tokens.retain(|key, holders| {
            holders.retain(|(s, _)| *s != session);
            if holders.is_empty() {
                gone.push(key.clone());
                false
            } else {
                true
            }
        });
        notify_watchers(&state, gone.into_iter().map(Liveliness::Gone));
    }

    fn remove_token(&self, key: &str, id: u64) {
        let mut state = self.write();
        let Some(holders) = state.tokens.get_mut(key) else {
            return;
        };
        holders.retain(|(_, d)| *d != id);
        if holders.is_empty() {
            state.tokens.remove(key);
            notify_watchers(&state, std::iter::once(Liveliness::Gone(key.to_owned())));
        }
    }
}

fn notify_watchers(state: &HubState, changes: impl Iterator<Item = Liveliness>) {
    for change in changes {
        let key = match &change {
            Liveliness::Alive(k) | Liveliness::Gone(k) => k,
        };
        for w in &state.watchers {
            if keyexpr::matches(&w.key_expr, key) {
                // A watcher that stopped reading loses changes rather than stalling the network.
                let _ = w.sender.try_send(change.clone());
            }
        }
    }
}

/// Removes one declaration when dropped.
struct DeclGuard {
    hub: Weak<Hub>,
    id: u64,
    kind: DeclKind,
}

enum DeclKind {
    Subscriber,
    Queryable,
    Watcher,
    Token(String),
}

impl Drop for DeclGuard {
    fn drop(&mut self) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let id = self.id;
        match &self.kind {
            DeclKind::Subscriber => hub.write().subscribers.retain(|d| d.id != id),
            DeclKind::Queryable => hub.write().queryables.retain(|d| d.id != id),
            DeclKind::Watcher => hub.write().watchers.retain(|d| d.id != id),
            DeclKind::Token(key) => hub.remove_token(key, id),
        }
    }
}

impl MemoryTransport {
    fn guard(&self, id: u64, kind: DeclKind) -> Guard {
        Box::new(DeclGuard {
            hub: Arc::downgrade(&self.session.hub),
            id,
            kind,
        })
    }

    fn next_id(&self) -> u64 {
        self.session.hub.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn publish_now(&self, key: &str, payload: Bytes) -> Result<(), TransportError> {
        self.session.check_open()?;
        check_concrete(key)?;
        let state = self.session.hub.read();
        let mut shared_key: Option<std::sync::Arc<str>> = None;
        for s in &state.subscribers {
            if keyexpr::matches(&s.key_expr, key) {
                let sample = Sample {
                    key: shared_key.get_or_insert_with(|| key.into()).clone(),
                    payload: payload.clone(),
                };
                // Full buffer: the subscriber is not reading; it will see a sequence gap.
                let _ = s.sender.try_send(sample);
            }
        }
        Ok(())
    }

    fn subscribe_now(&self, key_expr: &str) -> Result<Subscriber, TransportError> {
        self.session.check_open()?;
        check_key_expr(key_expr)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let id = self.next_id();
        self.session.hub.write().subscribers.push(Decl {
            id,
            session: self.session.id,
            key_expr: key_expr.to_owned(),
            sender: tx,
        });
        Ok(Receiver::new(rx, self.guard(id, DeclKind::Subscriber)))
    }

    fn queryable_now(&self, key_expr: &str) -> Result<Queryable, TransportError> {
        self.session.check_open()?;
        check_key_expr(key_expr)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let id = self.next_id();
        self.session.hub.write().queryables.push(Decl {
            id,
            session: self.session.id,
            key_expr: key_expr.to_owned(),
            sender: tx,
        });
        Ok(Receiver::new(rx, self.guard(id, DeclKind::Queryable)))
    }

    fn query_now(
        &self,
        key_expr: &str,
        payload: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Replies, TransportError> {
        self.session.check_open()?;
        check_key_expr(key_expr)?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| TransportError::Unavailable("queries need a tokio runtime".into()))?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let shared = Arc::new(ReplyShared {
            tx: Mutex::new(Some(tx)),
            live: AtomicUsize::new(0),
        });
        let targets: Vec<mpsc::Sender<Query>> = {
            let state = self.session.hub.read();
            state
                .queryables
                .iter()
                .filter(|q| keyexpr::intersects(&q.key_expr, key_expr))
                .map(|q| q.sender.clone())
                .collect()
        };
        // Every replier is counted before the first query goes out: a queryable on another
        // thread may answer (and drop its replier) at once, and a count that reached zero
        // then would end the query before the others were even asked.
        shared.live.store(targets.len(), Ordering::Release);
        for target in targets {
            let query = Query {
                key_expr: key_expr.to_owned(),
                payload: payload.clone(),
                replier: Box::new(MemoryReplier {
                    shared: shared.clone(),
                }),
            };
            // A queryable that is not keeping up does not answer, as on a real network;
            // dropping the undelivered query releases its share of the reply stream.
            let _ = target.try_send(query);
        }
        if shared.live.load(Ordering::Acquire) == 0 {
            shared.finish();
        } else {
            let weak = Arc::downgrade(&shared);
            runtime.spawn(async move {
                tokio::time::sleep(timeout).await;
                if let Some(shared) = weak.upgrade() {
                    shared.finish();
                }
            });
        }
        Ok(Receiver::new(rx, Box::new(())))
    }

    fn token_now(&self, key: &str) -> Result<Guard, TransportError> {
        self.session.check_open()?;
        check_concrete(key)?;
        let id = self.next_id();
        let mut state = self.session.hub.write();
        let holders = state.tokens.entry(key.to_owned()).or_default();
        holders.push((self.session.id, id));
        if holders.len() == 1 {
            notify_watchers(&state, std::iter::once(Liveliness::Alive(key.to_owned())));
        }
        drop(state);
        Ok(self.guard(id, DeclKind::Token(key.to_owned())))
    }

    fn watch_now(&self, key_expr: &str) -> Result<LivelinessWatch, TransportError> {
        self.session.check_open()?;
        check_key_expr(key_expr)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let id = self.next_id();
        let mut state = self.session.hub.write();
        for key in state.tokens.keys() {
            if keyexpr::matches(key_expr, key) {
                let _ = tx.try_send(Liveliness::Alive(key.clone()));
            }
        }
        state.watchers.push(Decl {
            id,
            session: self.session.id,
            key_expr: key_expr.to_owned(),
            sender: tx,
        });
        drop(state);
        Ok(Receiver::new(rx, self.guard(id, DeclKind::Watcher)))
    }
}

fn check_concrete(key: &str) -> Result<(), TransportError> {
    check_key_expr(key)?;
    if key.contains('*') {
        return Err(TransportError::InvalidKey(key.to_owned()));
    }
    Ok(())
}

/// The requester's end of a query, shared by every queryable that received it.
struct ReplyShared {
    tx: Mutex<Option<mpsc::Sender<Reply>>>,
    live: AtomicUsize,
}

impl ReplyShared {
    fn finish(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    fn send(&self, reply: Reply) -> Result<(), TransportError> {
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            // The requester stopped listening or the query timed out: the reply is moot.
            None => Err(TransportError::Closed),
            Some(tx) => tx
                .try_send(reply)
                .map_err(|_| TransportError::Other("reply buffer full".into())),
        }
    }
}

struct MemoryReplier {
    shared: Arc<ReplyShared>,
}

impl Replier for MemoryReplier {
    fn reply(&self, key: &str, payload: Bytes) -> Result<(), TransportError> {
        check_concrete(key)?;
        self.shared.send(Reply::Ok(Sample {
            key: key.into(),
            payload,
        }))
    }

    fn reply_err(&self, payload: Bytes) -> Result<(), TransportError> {
        self.shared.send(Reply::Err(payload))
    }
}

impl Drop for MemoryReplier {
    fn drop(&mut self) {
        if self.shared.live.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.finish();
        }
    }
}

impl Transport for MemoryTransport {
    fn publish(&self, key: &str, payload: Bytes) -> Publishing<'_> {
        Publishing::done(self.publish_now(key, payload))
    }

    fn subscribe(&self, key_expr: &str) -> BoxFuture<'_, Result<Subscriber, TransportError>> {
        std::future::ready(self.subscribe_now(key_expr)).boxed()
    }

    fn queryable(&self, key_expr: &str) -> BoxFuture<'_, Result<Queryable, TransportError>> {
        std::future::ready(self.queryable_now(key_expr)).boxed()
    }

    fn query(
        &self,
        key_expr: &str,
        payload: Option<Bytes>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Replies, TransportError>> {
        std::future::ready(self.query_now(key_expr, payload, timeout)).boxed()
    }

    fn liveliness_token(&self, key: &str) -> BoxFuture<'_, Result<Guard, TransportError>> {
        std::future::ready(self.token_now(key)).boxed()
    }

    fn watch_liveliness(
        &self,
        key_expr: &str,
    ) -> BoxFuture<'_, Result<LivelinessWatch, TransportError>> {
        std::future::ready(self.watch_now(key_expr)).boxed()
    }
}

//! [`ZenohTransport`]: the [`Transport`] trait on a Zenoh session.

use std::time::Duration;

use ::zenoh::Wait;
use ::zenoh::bytes::ZBytes;
use ::zenoh::qos::CongestionControl;
use ::zenoh::query::{ConsolidationMode, QueryTarget};
use ::zenoh::sample::SampleKind;
use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::mpsc;

use super::config::ZenohConfig;
use crate::transport::{
    CHANNEL_CAPACITY, Guard, Liveliness, LivelinessWatch, Publishing, Query, QueryHandler,
    Queryable, Receiver, Replier, Replies, Reply, Sample, Subscriber, Transport, TransportError,
    call_query_handler, check_key_expr,
};

/// A Zenoh session as a SAFEthing [`Transport`]. Clones share the session; it closes when the
/// last clone is dropped, or with [`close`](Self::close).
#[derive(Clone)]
pub struct ZenohTransport {
    session: ::zenoh::Session,
    /// Who makes the puts: the publishing task, or the session's sender thread.
    sending: Sending,
}

/// Who makes a session's puts.
#[derive(Clone)]
enum Sending {
    /// The session's sender thread (see [`Outbound`]), the default: no worker ever blocks.
    Thread(std::sync::Arc<ToThread>),
    /// The publishing task, at once ([`ZenohTransport::with_inline_puts`]): a put blocks its
    /// worker thread while the link is congested (congestion control `Block`).
    Inline(std::sync::Arc<std::sync::Mutex<Publishers>>),
}

/// The way to a session's sender thread.
struct ToThread {
    /// Unbounded: publications take [`room`](Self::room) first; replies do not wait (they are
    /// bounded by the queries in flight, and a reply made from a Zenoh callback must not
    /// wait for a task).
    outbound: mpsc::UnboundedSender<Outbound>,
    /// Publications that may wait for the sender thread ([`OUTBOUND`]): a permit is taken per
    /// publication and given back once it is put.
    room: std::sync::Arc<tokio::sync::Semaphore>,
    /// The key of the last publication: a flood on one key shares it (see [`shared_key`])
    /// rather than allocating it per message here and freeing it on the sender thread.
    last_key: std::sync::Mutex<Option<std::sync::Arc<str>>>,
}

impl ToThread {
    /// Hands `message` to the sender thread; `Closed` once the thread is gone.
    fn hand_over(&self, message: Outbound) -> Result<(), TransportError> {
        self.outbound
            .send(message)
            .map_err(|_| TransportError::Closed)
    }
}

/// A message on its way to the sender thread.
///
/// Zenoh's `put` and `reply` are synchronous, also behind its `async` API, and with congestion
/// control `Block` they block while the link is congested. So no async task ever calls them:
/// each session has one thread that makes its puts, and the replies of its tasks, in the
/// order they were handed over, blocking there while the link is congested; `publish` hands
/// it the message and returns at once, and when [`OUTBOUND`] publications wait already (a
/// congested link, a stalled subscriber upstream), the publishing task waits asynchronously
/// for room — its worker runs other tasks meanwhile. Nothing is dropped on a busy link; the
/// publisher is slowed down instead.
enum Outbound {
    /// A publication (holding one permit of [`ToThread::room`]).
    Put {
        key: std::sync::Arc<str>,
        payload: Bytes,
        /// Whether the payload is a bundle ([`BUNDLE_SCHEMA`]).
        bundle: bool,
    },
    /// A reply made by an async task: on `key`, or an error reply without one.
    Reply {
        query: std::sync::Arc<::zenoh::query::Query>,
        key: Option<String>,
        payload: Bytes,
    },
    /// Everything handed over before is put: say so ([`ZenohTransport::flush`]).
    Flushed(tokio::sync::oneshot::Sender<()>),
}

/// The schema of the encoding a bundle is put with (`application/octet-stream;safething-bundle`):
/// a subscriber splits a sample only when it says so, so a payload that merely starts with the
/// bundle magic is delivered as it is.
const BUNDLE_SCHEMA: &str = "safething-bundle";

/// The encoding a bundle is put with.
static BUNDLE_ENCODING: std::sync::LazyLock<::zenoh::bytes::Encoding> =
    std::sync::LazyLock::new(|| {
        ::zenoh::bytes::Encoding::APPLICATION_OCTET_STREAM.with_schema(BUNDLE_SCHEMA)
    });

/// Whether `sample` was put as a bundle.
fn is_bundle(sample: &::zenoh::sample::Sample) -> bool {
    *sample.encoding() == *BUNDLE_ENCODING
}

/// How many publications may wait for the sender thread before publishers wait.
const OUTBOUND: usize = CHANNEL_CAPACITY;

/// Publishers declared for the keys published again and again (attributes, events): Zenoh
/// then sends a short numeric id instead of the key, and skips parsing and resolving it.
/// Keys seen only once or twice (an action request's states) are put without one.
#[derive(Default)]
struct Publishers {
    hot: foldhash::HashMap<String, std::sync::Arc<::zenoh::pubsub::Publisher<'static>>>,
    seen: foldhash::HashMap<String, u8>,
}

impl Publishers {
    /// Publications on a key before it gets a publisher of its own.
    const HOT_AFTER: u8 = 3;
    /// Bounds: past them, start over (dropping publishers undeclares them).
    const MAX_HOT: usize = 1024;
    const MAX_SEEN: usize = 4096;
}

impl std::fmt::Debug for ZenohTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZenohTransport")
            .field("zid", &self.session.zid().to_string())
            .finish_non_exhaustive()
    }
}

impl ZenohTransport {
    /// Opens a session. Fails with [`TransportError::Config`] for a configuration that cannot
    /// be used, and with [`TransportError::Unavailable`] when Zenoh cannot start (an endpoint
    /// already in use, no router reachable in client mode, a current-thread tokio runtime).
    pub async fn open(config: &ZenohConfig) -> Result<ZenohTransport, TransportError> {
        check_runtime()?;
        let zenoh_config = config
            .to_zenoh()
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let session = ::zenoh::open(zenoh_config).await.map_err(|e| {
            TransportError::Unavailable(format!("cannot open a Zenoh session: {e}"))
        })?;
        tracing::debug!(zid = %session.zid(), mode = %config.mode_value(), "zenoh session open");
        Ok(if config.inline_puts_value() {
            ZenohTransport::inline(session)
        } else {
            ZenohTransport::from_session(session)
        })
    }

    /// Wraps a session opened elsewhere (with a configuration of your own). Its puts, and the
    /// replies its async tasks make, are made by a sender thread of its own, in order, so that
    /// no async worker ever blocks on a congested link (see [`flush`](Self::flush) and
    /// [`with_inline_puts`](Self::with_inline_puts)).
    pub fn from_session(session: ::zenoh::Session) -> ZenohTransport {
        let (outbound, rx) = mpsc::unbounded_channel();
        let room = std::sync::Arc::new(tokio::sync::Semaphore::new(OUTBOUND));
        let sender = session.clone();
        let freed = room.clone();
        // The thread ends when the last clone of this transport (and the last reply of its
        // queries) is dropped, closing the channel, after sending what was handed over before.
        let spawned = std::thread::Builder::new()
            .name("safething-zenoh-tx".into())
            .spawn(move || send_all(&sender, rx, &freed));
        if let Err(e) = spawned {
            // Every publish then fails with `Closed`: the receiver is gone.
            tracing::error!(error = %e, "could not start the Zenoh sender thread");
        }
        ZenohTransport {
            session,
            sending: Sending::Thread(std::sync::Arc::new(ToThread {
                outbound,
                room,
                last_key: std::sync::Mutex::default(),
            })),
        }
    }

    /// Has the publishing task make each put itself, at once, instead of the session's sender
    /// thread: a lone message arrives a few microseconds sooner, without the hand-over
    /// (`docs/benchmarks.md`), but a put then **blocks the task's worker thread** while the
    /// link is congested (a slow or stalled peer), holding up every other task on it. Call it
    /// before the transport is cloned: clones made before keep the sender thread.
    pub fn with_inline_puts(self) -> ZenohTransport {
        ZenohTransport::inline(self.session)
    }

    fn inline(session: ::zenoh::Session) -> ZenohTransport {
        ZenohTransport {
            session,
            sending: Sending::Inline(std::sync::Arc::default()),
        }
    }

    /// The underlying Zenoh session, for what SAFEthing does not cover.
    pub fn session(&self) -> &::zenoh::Session {
        &self.session
    }

    /// This session's Zenoh id.
    pub fn zid(&self) -> String {
        self.session.zid().to_string()
    }

    /// How many peers and routers this session is connected to now.
    pub async fn neighbours(&self) -> usize {
        if check_runtime().is_err() {
            return 0;
        }
        let info = self.session.info();
        info.peers_zid().await.count() + info.routers_zid().await.count()
    }

    /// Waits until the session is connected to at least one peer or router, or `limit`
    /// passed; returns whether it is.
    pub async fn wait_for_neighbours(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.neighbours().await > 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Closes the session, once what was published before is put (see [`flush`](Self::flush)):
    /// everything it declared is undeclared, so its things go offline for everyone at once.
    pub async fn close(&self) -> Result<(), TransportError> {
        check_runtime()?;
        self.flush().await;
        self.session.close().await.map_err(other)
    }

    /// Returns once everything published before on this transport (and its clones) has been
    /// put on the session: handed to Zenoh, which sends it unless the session closes or the
    /// peer is gone. A program that publishes and then exits calls this (or
    /// [`close`](Self::close)) first, as the sender thread dies with the process. Zenoh
    /// drains its links as the session closes, but a peer can still miss what was in flight
    /// then (the last few dozen of 3000 publications made just before a close, in our
    /// tests on a loaded machine): a publisher that must know a peer got a message asks it.
    pub async fn flush(&self) {
        let Sending::Thread(to) = &self.sending else {
            // Inline puts are made before `publish` returns.
            return;
        };
        let (done, flushed) = tokio::sync::oneshot::channel();
        if to.hand_over(Outbound::Flushed(done)).is_ok() {
            let _ = flushed.await;
        }
    }

    /// Closes the session from synchronous code (a signal handler, a test's crash switch), at
    /// once: what the sender thread has not put yet is lost, as in a crash. Must run on a
    /// tokio multi-thread worker or outside any runtime.
    pub fn close_blocking(&self) -> Result<(), TransportError> {
        check_runtime()?;
        self.session.close().wait().map_err(other)
    }

    fn ready(&self) -> Result<(), TransportError> {
        check_runtime()?;
        if self.session.is_closed() {
            return Err(TransportError::Closed);
        }
        Ok(())
    }

    async fn subscribe_now(&self, key_expr: &str) -> Result<Subscriber, TransportError> {
        self.ready()?;
        check_key_expr(key_expr)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let flow = Flow::default();
        let last_key = std::sync::Mutex::new(None);
        let subscriber = self
            .session
            .declare_subscriber(key_expr)
            .callback(move |sample: ::zenoh::sample::Sample| {
                if sample.kind() != SampleKind::Put {
                    return;
                }
                let key = shared_key(&last_key, sample.key_expr().as_str());
                let payload = to_bytes(sample.payload());
                if !is_bundle(&sample) {
                    flow.deliver(&tx, Sample { key, payload });
                    return;
                }
                match crate::bundle::split(&payload) {
                    Ok(frames) => {
                        for payload in frames {
                            flow.deliver(
                                &tx,
                                Sample {
                                    key: key.clone(),
                                    payload,
                                },
                            );
                        }
                    }
                    Err(e) => tracing::debug!(%key, error = %e, "dropped a sample"),
                }
            })
            .await
            .map_err(other)?;
        Ok(Receiver::new(rx, Box::new(subscriber)))
    }

    async fn queryable_now(&self, key_expr: &str) -> Result<Queryable, TransportError> {
        self.ready()?;
        check_key_expr(key_expr)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let sending = self.sending.clone();
        let queryable = self
            .session
            .declare_queryable(key_expr)
            .callback(move |query: ::zenoh::query::Query| {
                // Not keeping up: the query goes unanswered (dropping it ends it at once for
                // the requester), as with any overloaded server.
                let _ = tx.try_send(to_query(query, &sending));
            })
            .await
            .map_err(other)?;
        Ok(Receiver::new(rx, Box::new(queryable)))
    }

    /// Calls the handler in Zenoh's callback, on the thread that received the query, inside
    /// the caller's tokio runtime (so that the handler can spawn tasks and use timers).
    async fn serve_queries_now(
        &self,
        key_expr: &str,
        handler: QueryHandler,
    ) -> Result<Guard, TransportError> {
        self.ready()?;
        check_key_expr(key_expr)?;
        let runtime = tokio::runtime::Handle::try_current().ok();
        let declared = key_expr.to_owned();
        let sending = self.sending.clone();
        let queryable = self
            .session
            .declare_queryable(key_expr)
            .callback(move |query: ::zenoh::query::Query| {
                let _entered = runtime.as_ref().map(tokio::runtime::Handle::enter);
                // A panicking handler must not unwind into Zenoh's receive thread.
                call_query_handler(&handler, to_query(query, &sending), &declared);
            })
            .await
            .map_err(other)?;
        Ok(Box::new(queryable))
    }

    async fn query_now(
        &self,
        key_expr: &str,
        payload: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Replies, TransportError> {
        self.ready()?;
        check_key_expr(key_expr)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let get = self
            .session
            .get(key_expr)
            .consolidation(ConsolidationMode::None)
            .target(QueryTarget::All)
            .congestion_control(CongestionControl::Block)
            .timeout(timeout);
        let get = match payload {
            Some(p) => get.payload(ZBytes::from(p)),
            None => get,
        };
        // Zenoh drops the callback (closing the stream) when every queryable has sent its
        // final reply, or at the timeout.
        get.callback(move |reply: ::zenoh::query::Reply| {
            let reply = match reply.result() {
                Ok(sample) => Reply::Ok(Sample {
                    key: sample.key_expr().as_str().into(),
                    payload: to_bytes(sample.payload()),
                }),
                Err(error) => Reply::Err(to_bytes(error.payload())),
            };
            let _ = tx.try_send(reply);
        })
        .await
        .map_err(other)?;
        Ok(Receiver::new(rx, Box::new(())))
    }

    async fn token_now(&self, key: &str) -> Result<Guard, TransportError> {
        self.ready()?;
        check_concrete(key)?;
        let token = self
            .session
            .liveliness()
            .declare_token(key)
            .await
            .map_err(other)?;
        Ok(Box::new(token))
    }

    async fn watch_now(&self, key_expr: &str) -> Result<LivelinessWatch, TransportError> {
        self.ready()?;
        check_key_expr(key_expr)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let subscriber = self
            .session
            .liveliness()
            .declare_subscriber(key_expr)
            .history(true)
            .callback(move |sample: ::zenoh::sample::Sample| {
                let key = sample.key_expr().as_str().to_owned();
                let change = match sample.kind() {
                    SampleKind::Put => Liveliness::Alive(key),
                    SampleKind::Delete => Liveliness::Gone(key),
                };
                let _ = tx.try_send(change);
            })
            .await
            .map_err(other)?;
        Ok(Receiver::new(rx, Box::new(subscriber)))
    }
}

/// The sender thread: makes the puts and replies handed over, in order, blocking while the
/// link is congested (congestion control `Block`), and gives back the room of each
/// publication once it is put.
fn send_all(
    session: &::zenoh::Session,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    room: &tokio::sync::Semaphore,
) {
    let mut publishers = Publishers::default();
    let mut taken = Vec::with_capacity(TAKE);
    while rx.blocking_recv_many(&mut taken, TAKE) > 0 {
        loop {
            let puts = send_taken(session, &mut publishers, &mut taken);
            room.add_permits(puts);
            if !linger(&mut rx, &mut taken) {
                break;
            }
        }
    }
}

/// Puts and replies what the sender thread took (emptying `taken`), in order; returns how
/// many publications it put. Plain payloads that follow one another on a key go as
/// [bundles](crate::bundle), as a batch's frames do: in a flood that is one put, and one
/// sample for each subscriber to take, per few dozen publications.
fn send_taken(
    session: &::zenoh::Session,
    publishers: &mut Publishers,
    taken: &mut Vec<Outbound>,
) -> usize {
    let mut puts = 0;
    let mut taken = taken.drain(..).peekable();
    while let Some(first) = taken.next() {
        let (key, payload, bundle) = match first {
            Outbound::Put {
                key,
                payload,
                bundle,
            } => (key, payload, bundle),
            Outbound::Reply {
                query,
                key,
                payload,
            } => {
                if let Err(e) = reply(&query, key.as_deref(), payload) {
                    tracing::debug!(error = %e, "could not reply");
                }
                continue;
            }
            Outbound::Flushed(done) => {
                let _ = done.send(());
                continue;
            }
        };
        let samples = if bundle {
            puts += 1;
            vec![(payload, true)]
        } else {
            let mut run = vec![payload];
            while let Some(Outbound::Put { payload, .. }) = taken
                .next_if(|n| matches!(n, Outbound::Put { key: k, bundle: false, .. } if *k == key))
            {
                run.push(payload);
            }
            puts += run.len();
            bundles(run)
        };
        let publisher = publishers.publisher(session, &key);
        for (payload, bundle) in samples {
            if let Err(e) = put(session, publisher.as_deref(), &key, payload, bundle) {
                tracing::debug!(error = %e, "could not publish");
            }
        }
    }
    puts
}

/// The most publications the sender thread takes at once.
const TAKE: usize = 256;

/// How long the sender thread looks for more work before it sleeps: in a flood the next
/// publication is microseconds away, and waking a sleeping thread costs the publisher a system
/// call per message. It yields the CPU while it looks.
const LINGER: Duration = Duration::from_micros(20);

/// Takes what arrives within [`LINGER`] into `taken`; whether anything did.
fn linger(rx: &mut mpsc::UnboundedReceiver<Outbound>, taken: &mut Vec<Outbound>) -> bool {
    let deadline = std::time::Instant::now() + LINGER;
    loop {
        while taken.len() < TAKE {
            match rx.try_recv() {
                Ok(message) => taken.push(message),
                Err(_) => break,
            }
        }
        if !taken.is_empty() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::yield_now();
    }
}

impl Publishers {
    /// The declared publisher of `key` (checked already), declared once the key is published
    /// again and again; `None` while it is not (yet) one of those.
    fn publisher(
        &mut self,
        session: &::zenoh::Session,
        key: &str,
    ) -> Option<std::sync::Arc<::zenoh::pubsub::Publisher<'static>>> {
        if let Some(publisher) = self.hot.get(key) {
            return Some(publisher.clone());
        }
        if self.seen.len() >= Publishers::MAX_SEEN {
            self.seen.clear();
        }
        let n = self.seen.entry(key.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
        if *n < Publishers::HOT_AFTER {
            return None;
        }
        self.seen.remove(key);
        let publisher = session
            .declare_publisher(key.to_owned())
            .congestion_control(CongestionControl::Block)
            .wait()
            .ok()?;
        if self.hot.len() >= Publishers::MAX_HOT {
            self.hot.clear();
        }
        let publisher = std::sync::Arc::new(publisher);
        self.hot.insert(key.to_owned(), publisher.clone());
        Some(publisher)
    }
}

/// Puts `payload` on `key` (checked already), through its declared publisher when it has one;
/// with the bundle encoding when it is one.
fn put(
    session: &::zenoh::Session,
    publisher: Option<&::zenoh::pubsub::Publisher<'static>>,
    key: &str,
    payload: Bytes,
    bundle: bool,
) -> Result<(), TransportError> {
    let payload = ZBytes::from(payload);
    let encoding = if bundle {
        BUNDLE_ENCODING.clone()
    } else {
        ::zenoh::bytes::Encoding::default()
    };
    match publisher {
        Some(publisher) => publisher
            .put(payload)
            .encoding(encoding)
            .wait()
            .map_err(other),
        None => session
            .put(key, payload)
            .encoding(encoding)
            .congestion_control(CongestionControl::Block)
            .wait()
            .map_err(other),
    }
}

/// Delivery of samples to a subscriber's channel when it is full. A consumer that keeps
/// reading loses nothing: the callback waits for room (holding up this link, which holds up
/// the publisher, whose congestion control is `Block`) as Zenoh's own channels do. A consumer
/// that stopped reading costs one bounded wait, then loses samples (it sees a sequence gap)
/// until it reads again, instead of stalling the session for everyone else.
#[derive(Default)]
struct Flow {
    stalled: std::sync::atomic::AtomicBool,
}

impl Flow {
    /// The longest a full channel holds up the link. Longer than a busy machine keeps a
    /// runnable reader off the CPU: with 20 ms, floods on this project's 2-core VM lost up to
    /// 12% to readers that were reading, just not scheduled (`docs/benchmarks.md`).
    const PATIENCE: Duration = Duration::from_millis(250);

    fn deliver(&self, tx: &mpsc::Sender<Sample>, sample: Sample) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut sample = match tx.try_send(sample) {
            Ok(()) => {
                self.stalled.store(false, Relaxed);
                return;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
            Err(mpsc::error::TrySendError::Full(sample)) => sample,
        };
        if self.stalled.load(Relaxed) {
            return;
        }
        let deadline = std::time::Instant::now() + Flow::PATIENCE;
        loop {
            // A Zenoh callback thread: blocking here is what Zenoh's own channels do.
            std::thread::sleep(Duration::from_micros(100));
            sample = match tx.try_send(sample) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(sample)) => sample,
            };
            if std::time::Instant::now() >= deadline {
                tracing::debug!(key = %sample.key, "a subscriber is not reading: dropping");
                self.stalled.store(true, Relaxed);
                return;
            }
        }
    }
}

/// Zenoh panics under tokio's current-thread runtime: refuse it with a clear error instead.
fn check_runtime() -> Result<(), TransportError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread => {
            Err(TransportError::Unavailable(
                "the Zenoh transport needs tokio's multi-thread runtime, not the current-thread \
                 one: use #[tokio::main(flavor = \"multi_thread\")] or \
                 #[tokio::test(flavor = \"multi_thread\")]"
                    .into(),
            ))
        }
        _ => Ok(()),
    }
}

fn check_concrete(key: &str) -> Result<(), TransportError> {
    check_key_expr(key)?;
    if key.contains('*') {
        return Err(TransportError::InvalidKey(key.to_owned()));
    }
    Ok(())
}

/// The key as the previous sample's when it is the same, as it mostly is: one allocation (made
/// here and freed on the reader's thread) less per message.
fn shared_key(
    last: &std::sync::Mutex<Option<std::sync::Arc<str>>>,
    key: &str,
) -> std::sync::Arc<str> {
    let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
    match &*last {
        Some(shared) if **shared == *key => shared.clone(),
        _ => last.insert(key.into()).clone(),
    }
}

fn to_query(query: ::zenoh::query::Query, sending: &Sending) -> Query {
    let thread = match sending {
        Sending::Thread(to) => Some(to.clone()),
        Sending::Inline(_) => None,
    };
    Query {
        key_expr: query.key_expr().as_str().to_owned(),
        payload: query.payload().map(to_bytes),
        replier: Box::new(ZenohReplier {
            query: std::sync::Arc::new(query),
            thread,
        }),
    }
}

/// The samples that carry `frames`, in order, each with whether it is a bundle: runs of frames
/// as bundles below [`TARGET_BYTES`](crate::bundle::TARGET_BYTES), a run of one (or a frame
/// too big to share) as itself.
fn bundles(frames: Vec<Bytes>) -> Vec<(Bytes, bool)> {
    use crate::bundle::{MAX_FRAMES, TARGET_BYTES};
    let mut samples = Vec::new();
    let mut run: Vec<Bytes> = Vec::new();
    let mut run_bytes = 0;
    let flush = |run: &mut Vec<Bytes>, samples: &mut Vec<(Bytes, bool)>| {
        let bundle = match run.len() {
            0 => return,
            1 => None,
            _ => crate::bundle::encode(run),
        };
        match bundle {
            Some(bundle) => {
                samples.push((Bytes::from(bundle), true));
                run.clear();
            }
            None => samples.extend(run.drain(..).map(|f| (f, false))),
        }
    };
    for frame in frames {
        if !run.is_empty() && (run_bytes + frame.len() > TARGET_BYTES || run.len() == MAX_FRAMES) {
            flush(&mut run, &mut samples);
            run_bytes = 0;
        }
        run_bytes += frame.len() + 4;
        run.push(frame);
    }
    flush(&mut run, &mut samples);
    samples
}

fn to_bytes(payload: &ZBytes) -> Bytes {
    Bytes::from(payload.to_bytes().into_owned())
}

fn other(e: ::zenoh::Error) -> TransportError {
    TransportError::Other(e.to_string())
}

/// Replies through the Zenoh query; the query ends for the requester when the last clone of it
/// is dropped.
struct ZenohReplier {
    query: std::sync::Arc<::zenoh::query::Query>,
    /// The session's sender thread, which makes the replies of async tasks (none with inline
    /// puts).
    thread: Option<std::sync::Arc<ToThread>>,
}

impl ZenohReplier {
    /// Replies on `key` (an error reply without one): made at once on a thread of Zenoh's or
    /// one of the caller's own, handed to the sender thread from an async task, so that a
    /// congested link never blocks a worker.
    fn send(&self, key: Option<&str>, payload: Bytes) -> Result<(), TransportError> {
        if let Some(to) = &self.thread
            && tokio::task::try_id().is_some()
        {
            let message = Outbound::Reply {
                query: self.query.clone(),
                key: key.map(str::to_owned),
                payload,
            };
            return to.hand_over(message);
        }
        reply(&self.query, key, payload)
    }
}

impl Replier for ZenohReplier {
    fn reply(&self, key: &str, payload: Bytes) -> Result<(), TransportError> {
        check_concrete(key)?;
        self.send(Some(key), payload)
    }

    fn reply_err(&self, payload: Bytes) -> Result<(), TransportError> {
        self.send(None, payload)
    }
}

/// Replies to `query` on `key` (checked already), or with an error without one.
fn reply(
    query: &::zenoh::query::Query,
    key: Option<&str>,
    payload: Bytes,
) -> Result<(), TransportError> {
    let payload = ZBytes::from(payload);
    match key {
        Some(key) => query.reply(key, payload).wait(),
        None => query.reply_err(payload).wait(),
    }
    .map_err(other)
}

impl ZenohTransport {
    /// Hands the message to the session's sender thread ([`Outbound`]): done at once or, while
    /// the link is congested, once there is room (waiting asynchronously). With
    /// [`with_inline_puts`](ZenohTransport::with_inline_puts): the put is made at once,
    /// blocking while the link is congested.
    fn put_sample(&self, key: &str, payload: Bytes, bundle: bool) -> Publishing<'_> {
        if let Err(e) = self.ready().and_then(|()| check_concrete(key)) {
            return Publishing::done(Err(e));
        }
        let to = match &self.sending {
            Sending::Inline(publishers) => {
                // Not under the lock: a put blocks while the link is congested.
                let publisher = publishers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .publisher(&self.session, key);
                let put = put(&self.session, publisher.as_deref(), key, payload, bundle);
                return Publishing::done(put);
            }
            Sending::Thread(to) => to,
        };
        let message = Outbound::Put {
            key: shared_key(&to.last_key, key),
            payload,
            bundle,
        };
        match to.room.try_acquire() {
            Ok(permit) => {
                // Given back by the sender thread once the message is put.
                permit.forget();
                Publishing::done(to.hand_over(message))
            }
            Err(tokio::sync::TryAcquireError::Closed) => {
                Publishing::done(Err(TransportError::Closed))
            }
            Err(tokio::sync::TryAcquireError::NoPermits) => Publishing::pending(async move {
                to.room
                    .acquire()
                    .await
                    .map_err(|_| TransportError::Closed)?
                    .forget();
                to.hand_over(message)
            }),
        }
    }
}

impl Transport for ZenohTransport {
    /// Done at once or, while the link is congested, once the sender thread has room (waiting
    /// asynchronously); with [`with_inline_puts`](ZenohTransport::with_inline_puts), the put is
    /// made at once, blocking while the link is congested.
    fn publish(&self, key: &str, payload: Bytes) -> Publishing<'_> {
        self.put_sample(key, payload, false)
    }

    /// Frames that follow one another go as [bundles](crate::bundle) of up to
    /// [`TARGET_BYTES`](crate::bundle::TARGET_BYTES), put with the bundle encoding
    /// (`application/octet-stream;safething-bundle`) and split again by the subscribers'
    /// callback.
    fn publish_frames(&self, key: &str, frames: Vec<Bytes>) -> Publishing<'_> {
        let mut samples = bundles(frames).into_iter();
        match (samples.next(), samples.len()) {
            (None, _) => Publishing::done(Ok(())),
            (Some((only, bundle)), 0) => self.put_sample(key, only, bundle),
            (Some((first, bundle)), _) => {
                let key = key.to_owned();
                Publishing::pending(async move {
                    self.put_sample(&key, first, bundle).await?;
                    for (sample, bundle) in samples {
                        self.put_sample(&key, sample, bundle).await?;
                    }
                    Ok(())
                })
            }
        }
    }

    fn subscribe(&self, key_expr: &str) -> BoxFuture<'_, Result<Subscriber, TransportError>> {
        let key_expr = key_expr.to_owned();
        async move { self.subscribe_now(&key_expr).await }.boxed()
    }

    fn queryable(&self, key_expr: &str) -> BoxFuture<'_, Result<Queryable, TransportError>> {
        let key_expr = key_expr.to_owned();
        async move { self.queryable_now(&key_expr).await }.boxed()
    }

    fn serve_queries(
        &self,
        key_expr: &str,
        handler: QueryHandler,
    ) -> BoxFuture<'_, Result<Guard, TransportError>> {
        let key_expr = key_expr.to_owned();
        async move { self.serve_queries_now(&key_expr, handler).await }.boxed()
    }

    fn query(
        &self,
        key_expr: &str,
        payload: Option<Bytes>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Replies, TransportError>> {
        let key_expr = key_expr.to_owned();
        async move { self.query_now(&key_expr, payload, timeout).await }.boxed()
    }

    fn liveliness_token(&self, key: &str) -> BoxFuture<'_, Result<Guard, TransportError>> {
        let key = key.to_owned();
        async move { self.token_now(&key).await }.boxed()
    }

    fn watch_liveliness(
        &self,
        key_expr: &str,
    ) -> BoxFuture<'_, Result<LivelinessWatch, TransportError>> {
        let key_expr = key_expr.to_owned();
        async move { self.watch_now(&key_expr).await }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs of frames become bundles below the target size, in order; a lone frame, and one
    /// too big to share a bundle, go as themselves.
    #[test]
    fn frames_are_bundled_in_order_below_the_target_size() {
        use crate::bundle::{TARGET_BYTES, frames};
        let mut input: Vec<Bytes> = (0..500u32)
            .map(|i| Bytes::from(format!("ST {i} {}", "y".repeat(100))))
            .collect();
        input.insert(200, Bytes::from(vec![b'Z'; TARGET_BYTES + 1]));
        let samples = bundles(input.clone());
        assert!(samples.len() >= 4, "{} samples", samples.len());
        let mut out: Vec<Vec<u8>> = Vec::new();
        for (s, bundle) in &samples {
            if *bundle {
                assert!(s.len() <= TARGET_BYTES);
                out.extend(frames(s).expect("a bundle").iter().map(|f| f.to_vec()));
            } else {
                out.push(s.to_vec());
            }
        }
        let input: Vec<Vec<u8>> = input.iter().map(|f| f.to_vec()).collect();
        assert_eq!(out, input);
        let one = bundles(vec![Bytes::from_static(b"ST one")]);
        assert_eq!(one, vec![(Bytes::from_static(b"ST one"), false)]);
        assert!(bundles(Vec::new()).is_empty());
    }
}

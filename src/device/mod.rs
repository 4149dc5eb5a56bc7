//! The device side: a thing's own process, built from its definition and id.
//!
//! ```no_run
//! # async fn demo(definition: safething::ir::Definition) -> safething::Result<()> {
//! let definition = definition.checked()?; // validated once, here
//! use safething::device::{Device, Handlers};
//! use safething::transport::memory::MemoryNetwork;
//! use serde_json::json;
//!
//! let network = MemoryNetwork::new();
//! let device = Device::builder(definition, "garden-01").transport(network.session()).build()?;
//! device.serve(Handlers::new().action("close_valve", |_, _| async { Ok(json!(null)) }));
//! device.register().await?;
//! device.set_attribute("moisture_level", json!(42.0)).await?;
//! # Ok(()) }
//! ```

mod actions;
pub(crate) mod claims;
mod handler;
mod serve;
mod state;

pub use handler::{ActionContext, Handler, Handlers, WriteContext, WriteError};

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::{CancellationToken, DropGuard};

use safething_ir::value::json_equal;
use safething_ir::{Action, AttributeKind, CheckedDefinition, Definition, PayloadSchemas, ThingId};

use crate::access::Parties;
use crate::crypto::{Protection, SymmetricKey};
use crate::envelope::{Binding, BodyError, EnvelopeError, Kind, Opened, Outgoing};
use crate::envelope::{Sealer, Signing, Verifier, now_ms};
use crate::error::{AffordanceKind, Error, ProtocolError, Result};
use crate::identity::{Identity, PublicKey};
use crate::keys;
use crate::transport::{Guard, Transport};
use crate::wire::{AttributeUpdate, Description, EventMessage, HistoryEntry, Lifecycle};

use actions::RequestTable;
pub(crate) use state::{Meta, PendingClaim, new_claim};

/// Tuning of a device. The defaults suit a small device serving a handful of clients.
///
/// Fields are private so that new ones can come without breaking callers: start from
/// [`DeviceConfig::default`] and change what you need with the `with_*` methods.
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    concurrency: usize,
    queue_capacity: usize,
    default_timeout: Duration,
    cancel_grace: Duration,
    finished_requests: usize,
    signing: Signing,
    freshness: Duration,
    claim_ttl: Duration,
    key_wear_limit: u64,
    answer_on_receive: bool,
    sessions: crate::session::device::SessionLimits,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            concurrency: 4,
            queue_capacity: 64,
            default_timeout: Action::DEFAULT_TIMEOUT,
            cancel_grace: Duration::from_secs(2),
            finished_requests: 4096,
            signing: Signing::Signed,
            freshness: Verifier::DEFAULT_WINDOW,
            claim_ttl: Duration::from_secs(15 * 60),
            key_wear_limit: SymmetricKey::WEAR_LIMIT,
            answer_on_receive: true,
            sessions: crate::session::device::SessionLimits::default(),
        }
    }
}

impl DeviceConfig {
    /// How many action requests run at once (at least 1).
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Sets [`concurrency`](Self::concurrency).
    #[must_use]
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How many accepted requests may wait for a free slot; more are rejected as busy.
    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    /// Sets [`queue_capacity`](Self::queue_capacity).
    #[must_use]
    pub fn with_queue_capacity(mut self, value: usize) -> Self {
        self.queue_capacity = value;
        self
    }

    /// Deadline of actions whose definition sets no `timeout` and whose requester sets none.
    pub fn default_timeout(&self) -> Duration {
        self.default_timeout
    }

    /// Sets [`default_timeout`](Self::default_timeout).
    #[must_use]
    pub fn with_default_timeout(mut self, value: Duration) -> Self {
        self.default_timeout = value;
        self
    }

    /// After a cancellation, how long the handler may take to notice before it is dropped.
    pub fn cancel_grace(&self) -> Duration {
        self.cancel_grace
    }

    /// Sets [`cancel_grace`](Self::cancel_grace).
    #[must_use]
    pub fn with_cancel_grace(mut self, value: Duration) -> Self {
        self.cancel_grace = value;
        self
    }

    /// How many finished requests are remembered, so that retries get the original result.
    pub fn finished_requests(&self) -> usize {
        self.finished_requests
    }

    /// Sets [`finished_requests`](Self::finished_requests).
    #[must_use]
    pub fn with_finished_requests(mut self, value: usize) -> Self {
        self.finished_requests = value;
        self
    }

    /// Whether messages are signed (see [`Signing`]).
    pub fn signing(&self) -> Signing {
        self.signing
    }

    /// Sets [`signing`](Self::signing).
    #[must_use]
    pub fn with_signing(mut self, value: Signing) -> Self {
        self.signing = value;
        self
    }

    /// How far a requester's clock may be from ours.
    pub fn freshness(&self) -> Duration {
        self.freshness
    }

    /// Sets [`freshness`](Self::freshness).
    #[must_use]
    pub fn with_freshness(mut self, value: Duration) -> Self {
        self.freshness = value;
        self
    }

    /// How long a claim token stays valid.
    pub fn claim_ttl(&self) -> Duration {
        self.claim_ttl
    }

    /// Sets [`claim_ttl`](Self::claim_ttl).
    #[must_use]
    pub fn with_claim_ttl(mut self, value: Duration) -> Self {
        self.claim_ttl = value;
        self
    }

    /// How many payloads a group or owner key seals before the device replaces it (at least 1).
    pub fn key_wear_limit(&self) -> u64 {
        self.key_wear_limit
    }

    /// Sets [`key_wear_limit`](Self::key_wear_limit).
    #[must_use]
    pub fn with_key_wear_limit(mut self, n: u64) -> Self {
        self.key_wear_limit = n.max(1);
        self
    }

    /// Whether a request's first step (an action, an attribute read or write, a status query)
    /// — its checks, and the handler up to its first `.await` that waits — runs on the thread
    /// that received it, when the transport calls the device there (Zenoh does). That saves
    /// waking a task per request. Handlers must then not block before awaiting; one that holds
    /// the thread too long turns this off for the device, with a warning. Turn it off when
    /// handlers do blocking work without `spawn_blocking`.
    pub fn answer_on_receive(&self) -> bool {
        self.answer_on_receive
    }

    /// Sets [`answer_on_receive`](Self::answer_on_receive).
    #[must_use]
    pub fn with_answer_on_receive(mut self, value: bool) -> Self {
        self.answer_on_receive = value;
        self
    }

    /// How long a client session lives and how many frames each direction may carry
    /// (`docs/protocol.md` §10; default one hour, 2^24 frames).
    pub fn session_limits(&self) -> crate::session::device::SessionLimits {
        self.sessions
    }

    /// Sets [`session_limits`](Self::session_limits) (a lifetime of at least a second, at
    /// least 2 frames; a signature budget of 0 turns sessions off: every hello is refused and
    /// clients send signed requests).
    #[must_use]
    pub fn with_session_limits(mut self, limits: crate::session::device::SessionLimits) -> Self {
        self.sessions = crate::session::device::SessionLimits {
            lifetime: limits.lifetime.max(Duration::from_secs(1)),
            max_messages: limits.max_messages.max(2),
            signatures: limits.signatures,
        };
        self
    }
}

/// Builds a [`Device`].
pub struct DeviceBuilder {
    definition: CheckedDefinition,
    id: String,
    transport: Option<Arc<dyn Transport>>,
    identity: Option<Identity>,
    owner: Option<PublicKey>,
    group: Vec<PublicKey>,
    config: DeviceConfig,
    state_file: Option<PathBuf>,
}

impl std::fmt::Debug for DeviceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBuilder")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl DeviceBuilder {
    /// The network to serve on.
    pub fn transport(self, transport: impl Transport) -> DeviceBuilder {
        self.transport_arc(Arc::new(transport))
    }

    /// The network to serve on, already shared.
    pub fn transport_arc(mut self, transport: Arc<dyn Transport>) -> DeviceBuilder {
        self.transport = Some(transport);
        self
    }

    /// The thing's key pair (default: a fresh one, kept in memory).
    pub fn identity(mut self, identity: Identity) -> DeviceBuilder {
        self.identity = Some(identity);
        self
    }

    /// Provisions the owner (instead of a claim).
    pub fn owner(mut self, owner: PublicKey) -> DeviceBuilder {
        self.owner = Some(owner);
        self
    }

    /// Keeps lifecycle, owner, group and keys in this file (mode 0600) across restarts; when it
    /// exists, it wins over [`owner`](Self::owner) and [`member`](Self::member).
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> DeviceBuilder {
        self.state_file = Some(path.into());
        self
    }

    /// Provisions a group member.
    pub fn member(mut self, member: PublicKey) -> DeviceBuilder {
        if !self.group.contains(&member) {
            self.group.push(member);
        }
        self
    }

    /// Tuning.
    pub fn config(mut self, config: DeviceConfig) -> DeviceBuilder {
        self.config = config;
        self
    }

    /// How many action requests run at once (default 4).
    pub fn concurrency(mut self, n: usize) -> DeviceBuilder {
        self.config.concurrency = n.max(1);
        self
    }

    /// How many accepted requests may wait (default 64).
    pub fn queue_capacity(mut self, n: usize) -> DeviceBuilder {
        self.config.queue_capacity = n;
        self
    }

    /// Signed (default) or unsigned messages.
    pub fn signing(mut self, signing: Signing) -> DeviceBuilder {
        self.config.signing = signing;
        self
    }

    /// Checks the id, and builds the device (not yet on the network: call
    /// [`Device::register`]). The definition was checked when it became a
    /// [`CheckedDefinition`].
    pub fn build(self) -> Result<Device> {
        let id = ThingId::new(self.id)?;
        let transport = self.transport.ok_or_else(|| {
            Error::Transport(crate::transport::TransportError::Unavailable(
                "no transport given to the device builder".into(),
            ))
        })?;
        let identity = match self.identity {
            Some(i) => i,
            None => Identity::generate()?,
        };
        let thing_key = *identity.public_key();
        let mut meta = Meta::load_or_new(
            self.state_file.as_deref(),
            thing_key,
            self.owner,
            self.group,
        )?;
        meta.wear_limit = self.config.key_wear_limit.max(1);
        meta.rewrap(&identity, id.as_str());
        if meta.parties.owner.is_none() {
            meta.claim = Some(state::new_claim(self.config.claim_ttl)?);
        }
        if let Some(path) = &self.state_file {
            meta.save(path)?;
        }
        let schemas = self.definition.payload_schemas();
        let attributes = self
            .definition
            .attributes
            .iter()
            .map(|(name, a)| {
                let value = match a.kind {
                    AttributeKind::Static => a.value.clone(),
                    AttributeKind::Dynamic => a.schema.default.clone(),
                };
                let slot = AttributeSlot {
                    value,
                    seq: 0,
                    ts: now_ms(),
                    history: VecDeque::new(),
                    capacity: a
                        .history
                        .map_or(0, |h| usize::try_from(h).unwrap_or(usize::MAX)),
                };
                let entry = AttributeEntry {
                    key: keys::attribute(&id, name),
                    access: a.access.clone(),
                    is_static: a.kind == AttributeKind::Static,
                    schema: schemas.attributes.get(name).cloned(),
                    state: Mutex::new(slot),
                };
                (name.clone(), entry)
            })
            .collect();
        let events = self
            .definition
            .events
            .iter()
            .map(|(name, e)| {
                let slot = EventSlot {
                    key: keys::event(&id, name),
                    seq: AtomicU64::new(0),
                    access: e.access.clone(),
                    schema: schemas.events.get(name).cloned().flatten(),
                };
                (name.clone(), slot)
            })
            .collect();
        let mut epoch = [0u8; 4];
        let _ = getrandom::fill(&mut epoch);
        // A boot epoch that repeated across restarts would let recorded requests back in:
        // without randomness the device does not start.
        let mut boot = [0u8; crate::frame::EPOCH_LEN];
        getrandom::fill(&mut boot).map_err(|e| Error::Protocol(ProtocolError::Random(e)))?;
        let shutdown = CancellationToken::new();
        let answer_on_receive = self.config.answer_on_receive;
        let batcher = (self.config.signing == Signing::Signed)
            .then(|| crate::batch::Batcher::new(identity.clone(), transport.clone()));
        let inner = Arc::new(Inner {
            sessions: crate::session::device::Sessions::new(
                self.config.sessions,
                self.config.freshness,
            ),
            batcher,
            sealer: Sealer::new(identity, self.config.signing),
            verifier: Verifier::with_window(self.config.signing, self.config.freshness),
            slots: Arc::new(Semaphore::new(self.config.concurrency.max(1))),
            requests: Mutex::new(RequestTable::new(self.config.finished_requests)),
            config: self.config,
            id,
            definition: Arc::new(self.definition.into_definition()),
            schemas,
            transport,
            epoch: u32::from_le_bytes(epoch),
            boot,
            meta: Mutex::new(meta),
            state_file: self.state_file,
            attributes,
            events,
            handler: RwLock::new(None),
            in_flight: AtomicUsize::new(0),
            shutdown: shutdown.clone(),
            token: Mutex::new(None),
            registered: AtomicBool::new(false),
            answer_on_receive: AtomicBool::new(answer_on_receive),
            stats: Stats::default(),
        });
        Ok(Device {
            inner,
            _alive: Arc::new(shutdown.drop_guard()),
        })
    }
}

/// A running thing: serves its description, attributes and actions, and publishes what it
/// observes. Clones are handles to the same device; when the last one is dropped the device
/// leaves the network.
#[derive(Clone)]
pub struct Device {
    inner: Arc<Inner>,
    _alive: Arc<DropGuard>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}

/// Counters a device keeps about what it refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Requests refused because of their access type.
    pub access_denied: u64,
    /// Messages that failed verification (malformed, unsigned, bad signature, stale, replayed).
    pub unverified: u64,
    /// Requests with payloads that do not match their schema.
    pub invalid_payload: u64,
    /// Actions refused because the queue was full.
    pub busy: u64,
    /// Client sessions held now (`docs/protocol.md` §10).
    pub sessions: u64,
    /// Session handshakes answered since the device started.
    pub handshakes: u64,
}

#[derive(Default)]
pub(crate) struct Stats {
    access_denied: AtomicU64,
    unverified: AtomicU64,
    invalid_payload: AtomicU64,
    busy: AtomicU64,
}

pub(crate) struct AttributeSlot {
    value: Option<Value>,
    seq: u64,
    ts: u64,
    history: VecDeque<HistoryEntry>,
    capacity: usize,
}

/// An attribute: what its updates need, found with one lookup, next to its changing state.
struct AttributeEntry {
    key: String,
    access: safething_ir::Access,
    /// A static attribute: its value is part of the definition, and the device cannot set
    /// it. (Whether clients may write an attribute is the definition's `writable`.)
    is_static: bool,
    schema: Option<safething_ir::value::CompiledSchema>,
    state: Mutex<AttributeSlot>,
}

/// What an event's emissions need, found with one lookup.
struct EventSlot {
    key: String,
    seq: AtomicU64,
    access: safething_ir::Access,
    /// `None`: the event carries no data.
    schema: Option<safething_ir::value::CompiledSchema>,
}

pub(crate) struct Inner {
    pub(crate) id: ThingId,
    pub(crate) definition: Arc<Definition>,
    pub(crate) schemas: PayloadSchemas,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) sealer: Sealer,
    /// Signs attribute updates and events in batches (`None` when the device does not sign).
    batcher: Option<crate::batch::Batcher>,
    pub(crate) verifier: Verifier,
    pub(crate) config: DeviceConfig,
    pub(crate) epoch: u32,
    /// Drawn at each start; every request must name it (`docs/protocol.md` §4).
    pub(crate) boot: [u8; crate::frame::EPOCH_LEN],
    pub(crate) meta: Mutex<Meta>,
    state_file: Option<PathBuf>,
    attributes: BTreeMap<String, AttributeEntry>,
    events: BTreeMap<String, EventSlot>,
    pub(crate) handler: RwLock<Option<Arc<dyn Handler>>>,
    pub(crate) requests: Mutex<RequestTable>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) shutdown: CancellationToken,
    token: Mutex<Option<Guard>>,
    registered: AtomicBool,
    /// Starts as the config says; cleared for good when a first step proves slow.
    pub(crate) answer_on_receive: AtomicBool,
    pub(crate) stats: Stats,
    /// Client sessions (`docs/protocol.md` §10): in memory only, so a restart drops them.
    pub(crate) sessions: crate::session::device::Sessions,
}

/// Locks a mutex, recovering from poisoning: every critical section in the runtime leaves the
/// data consistent at each step, so a panic elsewhere must not take the device down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Device {
    /// Starts building a device of type `definition` with id `id` (at least 5 characters).
    pub fn builder(definition: CheckedDefinition, id: impl Into<String>) -> DeviceBuilder {
        DeviceBuilder {
            definition,
            id: id.into(),
            transport: None,
            identity: None,
            owner: None,
            group: Vec::new(),
            config: DeviceConfig::default(),
            state_file: None,
        }
    }

    /// The thing's id.
    pub fn id(&self) -> &ThingId {
        &self.inner.id
    }

    /// The definition it serves.
    pub fn definition(&self) -> &Definition {
        &self.inner.definition
    }

    /// The thing's public key.
    pub fn public_key(&self) -> PublicKey {
        *self.inner.sealer.identity().public_key()
    }

    /// The lifecycle state.
    pub fn lifecycle(&self) -> Lifecycle {
        lock(&self.inner.meta).lifecycle
    }

    /// The owner, group and thing keys.
    pub fn parties(&self) -> Parties {
        lock(&self.inner.meta).parties.clone()
    }

    /// The description as clients see it.
    pub fn description(&self) -> Description {
        self.inner.description()
    }

    /// The one-time token that makes its first user the owner — while the thing has no owner
    /// (show it to whoever holds the device: printed, or its URI as a QR code).
    pub fn claim_token(&self) -> Option<crate::provisioning::ClaimToken> {
        crate::provisioning::current(&self.inner)
    }

    /// Replaces the claim token with a new one (an unowned device's "reset" button); `None` when
    /// the thing has an owner.
    pub fn renew_claim_token(&self) -> Option<crate::provisioning::ClaimToken> {
        crate::provisioning::renew(&self.inner)
    }

    /// Refusal counters.
    pub fn stats(&self) -> DeviceStats {
        let s = &self.inner.stats;
        DeviceStats {
            access_denied: s.access_denied.load(Ordering::Relaxed),
            unverified: s.unverified.load(Ordering::Relaxed),
            invalid_payload: s.invalid_payload.load(Ordering::Relaxed),
            busy: s.busy.load(Ordering::Relaxed),
            sessions: u64::try_from(self.inner.sessions.len()).unwrap_or(u64::MAX),
            handshakes: self.inner.sessions.handshakes.load(Ordering::Relaxed),
        }
    }

    /// Serves actions and writes with `handler` (replacing any previous one).
    pub fn serve(&self, handler: impl Handler) {
        self.serve_arc(Arc::new(handler));
    }

    /// Serves actions and writes with a shared handler.
    pub fn serve_arc(&self, handler: Arc<dyn Handler>) {
        *self
            .inner
            .handler
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(handler);
    }

    /// Puts the thing on the network: answers queries, declares its liveliness token (it is
    /// online from now on) and publishes its description. State: `registered` (until the owner
    /// publishes it).
    pub async fn register(&self) -> Result<()> {
        if self.inner.registered.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let answering = self
            .inner
            .transport
            .serve_queries(
                &keys::thing_subtree(&self.inner.id),
                serve::handler(self.inner.clone()),
            )
            .await?;
        // The declaration holds the device (its handler does): it ends at shutdown, which the
        // last handle's drop also triggers.
        let shutdown = self.inner.shutdown.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            drop(answering);
        });
        let token = self
            .inner
            .transport
            .liveliness_token(&keys::thing(&self.inner.id))
            .await?;
        *lock(&self.inner.token) = Some(token);
        self.inner.publish_description().await;
        tracing::info!(thing = %self.inner.id, key = %self.public_key().short(), "registered");
        if let Some(claim) = self.claim_token() {
            // Not the token itself: logs travel further than the device's holder. The
            // application shows it (`Device::claim_token`).
            tracing::info!(thing = %self.inner.id, expires_at = ?claim.expires_at, "unclaimed: the first `claim` with its token becomes the owner");
        }
        Ok(())
    }

    /// Makes the thing operative (the owner's call, made on the device itself).
    pub async fn publish(&self) -> Result<()> {
        self.inner.set_lifecycle(Lifecycle::Published).await;
        Ok(())
    }

    /// Takes the thing out of service (the owner's call, made on the device itself).
    pub async fn disable(&self) -> Result<()> {
        self.inner.set_lifecycle(Lifecycle::Disabled).await;
        Ok(())
    }

    /// Sets a dynamic attribute: checked against its schema, retained, added to its history,
    /// and published — only when it changed. Returns whether it changed. Publishing is queued
    /// as for [`emit_event`](Self::emit_event).
    pub async fn set_attribute(&self, name: &str, value: Value) -> Result<bool> {
        self.inner.set_attribute(name, value, false).await
    }

    /// Like [`set_attribute`](Self::set_attribute), but publishes even an unchanged value.
    pub async fn force_attribute(&self, name: &str, value: Value) -> Result<()> {
        self.inner
            .set_attribute(name, value, true)
            .await
            .map(|_| ())
    }

    /// The current value of an attribute, as the device holds it.
    pub fn attribute(&self, name: &str) -> Option<Value> {
        self.inner
            .attributes
            .get(name)
            .and_then(|slot| lock(&slot.state).value.clone())
    }

    /// Emits an event (`data` is checked against its schema; `null` for events without data).
    /// A signing device returns once the event is queued for its batch signer, which publishes
    /// the device's updates and events in the order they were queued (`crate::batch`); a
    /// transport failure then is logged, not returned.
    pub async fn emit_event(&self, name: &str, data: Value) -> Result<()> {
        self.inner.emit_event(name, data).await
    }

    /// Leaves the network: stops answering, cancels running actions, and drops the liveliness
    /// token (clients see the thing go offline).
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        lock(&self.inner.token).take();
        tracing::info!(thing = %self.inner.id, "shut down");
    }
}

impl Inner {
    pub(crate) fn description(&self) -> Description {
        let meta = lock(&self.meta);
        Description {
            id: self.id.clone(),
            state: meta.lifecycle,
            thing_key: *self.sealer.identity().public_key(),
            boot: data_encoding::HEXLOWER.encode(&self.boot),
            owner: meta.parties.owner,
            group: meta.parties.group.clone(),
            revision: meta.revision,
            keys: meta.bundle.clone(),
            definition: (*self.definition).clone(),
        }
    }

    /// After a change of parties or keys: a new revision, the keys wrapped for their current
    /// holders, and the state file saved (the error when it could not be). The one place this
    /// happens.
    fn renew(&self, meta: &mut Meta) -> Result<()> {
        meta.revision += 1;
        meta.rewrap(self.sealer.identity(), self.id.as_str());
        match &self.state_file {
            Some(path) => meta.save(path),
            None => Ok(()),
        }
    }

    /// Changes who may use the device; then re-wraps its keys for the new holders, saves the
    /// state file and publishes the new description.
    pub(crate) async fn change_meta<T>(
        &self,
        change: impl FnOnce(&mut Meta) -> Result<T, crate::wire::Problem>,
    ) -> Result<T, crate::wire::Problem> {
        let result = {
            let mut meta = lock(&self.meta);
            // Applied to a copy first: a change the state file does not hold would be undone
            // by the next restart (a revoked member back in the group), so it does not happen.
            let mut changed = meta.clone();
            let result = change(&mut changed)?;
            if let Err(e) = self.renew(&mut changed) {
                tracing::error!(thing = %self.id, error = %e, "could not save the device state; the owner operation is refused");
                return Err(crate::wire::Problem::StateNotSaved {
                    reason: e.to_string(),
                });
            }
            *meta = changed;
            result
        };
        self.publish_description().await;
        Ok(result)
    }

    /// Frames `body` for `key` as a message of `kind` bound to `binding` — its payload sealed
    /// when the affordance's access type is `group` or `owner`.
    pub(crate) fn seal_for<T: serde::Serialize>(
        &self,
        access: &safething_ir::Access,
        key: &str,
        kind: Kind,
        binding: Binding,
        body: &T,
    ) -> Result<bytes::Bytes, EnvelopeError> {
        self.seal_written_for(access, key, kind, binding, now_ms(), |out| {
            serde_json::to_writer(out, body)
        })
    }

    /// Like [`seal_for`](Self::seal_for), the body written (as JSON) by `write` and the
    /// frame stamped `ts`.
    pub(crate) fn seal_written_for(
        &self,
        access: &safething_ir::Access,
        key: &str,
        kind: Kind,
        binding: Binding,
        ts: u64,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<bytes::Bytes, EnvelopeError> {
        let symmetric = self.key_to_seal(access);
        let outgoing = Outgoing {
            kind,
            binding,
            id: None,
            protection: symmetric.as_ref().map(Protection::Key),
        };
        self.sealer.seal_written(key, &outgoing, ts, write)
    }

    /// Publishes an attribute update or an event on `key`, its body written by `write` and
    /// sealed for `access`: through the batch signer when the device signs (returning once it
    /// is queued, see [`crate::batch`]), at once otherwise.
    async fn publish_written(
        &self,
        access: &safething_ir::Access,
        key: &str,
        ts: u64,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<()> {
        let seal_error = |e| Error::Protocol(ProtocolError::Seal(e));
        let Some(batcher) = &self.batcher else {
            let bytes = self
                .seal_written_for(access, key, Kind::Publication, Binding::None, ts, write)
                .map_err(seal_error)?;
            self.transport.publish(key, bytes).await?;
            return Ok(());
        };
        let symmetric = self.key_to_seal(access);
        let outgoing = Outgoing {
            kind: Kind::Publication,
            binding: Binding::None,
            id: None,
            protection: symmetric.as_ref().map(Protection::Key),
        };
        let frame = self
            .sealer
            .frame_written(key, &outgoing, ts, write)
            .map_err(seal_error)?;
        batcher.submit(key.to_owned(), frame).await
    }

    /// The key that seals payloads of `access` (`None`: in the clear), replacing a worn-out one.
    fn key_to_seal(&self, access: &safething_ir::Access) -> Option<SymmetricKey> {
        let mut meta = lock(&self.meta);
        if meta.wear(access) {
            // A worn-out key was replaced: holders fetch the new one from the description
            // when they meet its id.
            if let Err(e) = self.renew(&mut meta) {
                // The new key is in use either way: after a restart that loses it, the
                // device starts from the saved keys and wears them further, no secret lost.
                tracing::error!(thing = %self.id, error = %e, "could not save the device state");
            }
            tracing::info!(thing = %self.id, access = %access, "replaced a worn-out key");
        }
        meta.key_for(access).cloned()
    }

    /// Reads a request body, opening it when it was sealed (with one of the device's keys, or
    /// to the device itself, bound to the frame's sender and id).
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        opened: &Opened<&[u8]>,
    ) -> Result<T, EnvelopeError> {
        opened
            .read_body(
                key,
                |kid| lock(&self.meta).key_by_id(kid).cloned(),
                Some(self.sealer.identity()),
                |raw| serde_json::from_slice(raw),
            )
            .map_err(|e| match e {
                BodyError::Unsealed(_) => {
                    EnvelopeError::Malformed("cannot decrypt the payload".into())
                }
                BodyError::Malformed(e) => EnvelopeError::Malformed(e.to_string()),
            })
    }

    pub(crate) async fn publish_description(&self) {
        let key = keys::description(&self.id);
        match self
            .sealer
            .seal(&key, Kind::Description, Binding::None, &self.description())
        {
            Ok(bytes) => {
                if let Err(e) = self.transport.publish(&key, bytes).await {
                    tracing::warn!(thing = %self.id, error = %e, "could not publish the description");
                }
            }
            Err(e) => {
                tracing::error!(thing = %self.id, error = %e, "could not seal the description")
            }
        }
    }

    pub(crate) async fn set_lifecycle(&self, state: Lifecycle) {
        if lock(&self.meta).lifecycle == state {
            return;
        }
        let _ = self
            .change_meta(|meta| {
                meta.lifecycle = state;
                Ok(())
            })
            .await;
        tracing::info!(thing = %self.id, %state, "lifecycle changed");
    }

    pub(crate) fn unknown(&self, kind: AffordanceKind, name: &str) -> Error {
        Error::UnknownAffordance {
            thing: self.id.to_string(),
            kind,
            name: name.to_owned(),
        }
    }

    pub(crate) async fn set_attribute(
        &self,
        name: &str,
        value: Value,
        force: bool,
    ) -> Result<bool> {
        let Some(attribute) = self.attributes.get(name) else {
            return Err(self.unknown(AffordanceKind::Attribute, name));
        };
        if attribute.is_static {
            return Err(Error::Rejected(crate::wire::Problem::NotWritable {
                name: name.to_owned(),
            }));
        }
        if let Some(schema) = &attribute.schema {
            schema
                .check(&value)
                .map_err(|source| Error::InvalidPayload {
                    what: format!("value of attribute `{name}`"),
                    source,
                })?;
        }
        let (update, ts) = {
            let mut s = lock(&attribute.state);
            if !force && s.value.as_ref().is_some_and(|old| json_equal(old, &value)) {
                return Ok(false);
            }
            s.seq += 1;
            s.ts = now_ms();
            if s.capacity > 0 {
                if s.history.len() == s.capacity {
                    s.history.pop_front();
                }
                let entry = HistoryEntry {
                    value: value.clone(),
                    seq: s.seq,
                    ts: s.ts,
                };
                s.history.push_back(entry);
            }
            let update = AttributeUpdate {
                value: value.clone(),
                seq: s.seq,
                epoch: self.epoch,
            };
            s.value = Some(value);
            (update, s.ts)
        };
        let (key, access) = (&attribute.key, &attribute.access);
        if *access == safething_ir::Access::Thing {
            // Never leaves the device.
            return Ok(true);
        }
        self.publish_written(access, key, ts, |out| update.write_json(out))
            .await?;
        Ok(true)
    }

    pub(crate) fn read_attribute(
        &self,
        name: &str,
        history: Option<u64>,
    ) -> Option<crate::wire::ReadReply> {
        let slot = lock(&self.attributes.get(name)?.state);
        let history = history.map(|n| {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            let skip = slot.history.len().saturating_sub(n);
            slot.history.iter().skip(skip).cloned().collect()
        });
        Some(crate::wire::ReadReply {
            value: slot.value.clone(),
            seq: slot.seq,
            ts: slot.ts,
            epoch: self.epoch,
            history,
        })
    }

    async fn emit_event(&self, name: &str, data: Value) -> Result<()> {
        let Some(event) = self.events.get(name) else {
            return Err(self.unknown(AffordanceKind::Event, name));
        };
        safething_ir::value::check_payload(event.schema.as_ref(), &data).map_err(|source| {
            Error::InvalidPayload {
                what: format!("data of event `{name}`"),
                source,
            }
        })?;
        let message = EventMessage {
            data,
            seq: event.seq.fetch_add(1, Ordering::Relaxed) + 1,
            epoch: self.epoch,
        };
        let (key, access) = (&event.key, &event.access);
        if *access == safething_ir::Access::Thing {
            // Never leaves the device.
            return Ok(());
        }
        self.publish_written(access, key, now_ms(), |out| message.write_json(out))
            .await
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn device_config_setters_keep_the_limits() {
        let c = DeviceConfig::default();
        assert_eq!(c.default_timeout(), Action::DEFAULT_TIMEOUT);
        assert_eq!(c.concurrency(), 4);
        let c = c
            .with_concurrency(0)
            .with_key_wear_limit(0)
            .with_queue_capacity(7)
            .with_claim_ttl(Duration::from_secs(9))
            .with_answer_on_receive(false);
        assert_eq!(c.concurrency(), 1, "at least one action runs");
        assert_eq!(c.key_wear_limit(), 1, "a key seals at least once");
        assert_eq!(c.queue_capacity(), 7);
        assert_eq!(c.claim_ttl(), Duration::from_secs(9));
        assert!(!c.answer_on_receive());
    }
}

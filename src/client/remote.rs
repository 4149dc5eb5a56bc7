//! A handle to one remote thing.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use safething_ir::value::CompiledSchema;
use safething_ir::{Access, PayloadSchemas, ThingId};

use crate::access::Parties;
use crate::crypto::{self, Protection, SymmetricKey, Unsealed};
use crate::envelope::{Binding, BodyError, EnvelopeError, Kind, MessageId, Opened, Outgoing};
use crate::error::{AffordanceKind, Error, ProtocolError, Result};
use crate::filter::Filter;
use crate::identity::Identity;
use crate::identity::PublicKey;
use crate::keys;
use crate::session::client::{Answer, ClientSession};
use crate::stored::Position;
use crate::transport::Reply;
use crate::wire::{AdminRequest, AttributeRequest, Description, HistoryEntry, Outcome, ReadReply};

use super::streams::{EventStream, Watch};
use super::{ClientInner, millis};

/// The current value of an attribute.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributeReading {
    /// The value.
    pub value: Value,
    /// Its sequence number.
    pub seq: u64,
    /// When the device set it, Unix milliseconds.
    pub ts: u64,
}

/// A thing on the network, as a client uses it. Cheap to clone; clones share what they learn
/// (the latest description and the keys it carries).
#[derive(Clone)]
pub struct RemoteThing {
    pub(crate) client: Arc<ClientInner>,
    /// The description at connection: its definition and key never change for this handle.
    pub(crate) description: Arc<Description>,
    pub(crate) schemas: Arc<PayloadSchemas>,
    /// The thing's key as its envelopes print it.
    sender: Arc<crate::envelope::KnownSender>,
    shared: Arc<RwLock<Shared>>,
    /// The session with the thing (`docs/protocol.md` §10), shared by clones.
    session: Arc<SessionSlot>,
}

/// A handle's session: the current one, and a pause after a failed handshake (requests then
/// go signed).
#[derive(Default)]
struct SessionSlot {
    state: std::sync::Mutex<SessionState>,
    /// One handshake at a time: concurrent requests wait for it instead of each making one.
    handshaking: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct SessionState {
    current: Option<Arc<ClientSession>>,
    paused_until: Option<std::time::Instant>,
}

/// How long a handle sends signed requests after a failed handshake before trying again.
const SESSION_PAUSE: Duration = Duration::from_secs(30);

/// What a handle learns over time: the latest description (owner, group, lifecycle) and the
/// symmetric keys it unwrapped from it.
struct Shared {
    latest: Arc<Description>,
    /// Key ids this handle refreshed the description for already (no refresh storms).
    tried: Vec<String>,
    group: Option<SymmetricKey>,
    owner: Option<SymmetricKey>,
    /// Every key unwrapped so far (newest last), to open payloads sealed just before a rotation.
    known: Vec<SymmetricKey>,
    /// The device's boot epoch as last learnt (description, or a `stale_epoch` answer to one
    /// of our requests): every request names it.
    boot: [u8; crate::frame::EPOCH_LEN],
}

/// How a request body travels.
pub(crate) enum Protect {
    /// In the clear (signed, like everything).
    Plain,
    /// Encrypted with the key of an affordance with this access type (when held).
    For(Access),
    /// Encrypted to the thing alone (claims).
    ToThing,
}

/// Why a message could not be opened.
pub(crate) enum Unreadable {
    /// Sealed with a key this handle does not know (yet).
    UnknownKey(String),
    /// Anything else.
    Error(Error),
}

/// How many unwrapped keys a handle remembers.
const KNOWN_KEYS: usize = 8;

impl Shared {
    fn learn(&mut self, me: &Identity, description: Arc<Description>) {
        let unwrap = |w: &Option<crate::crypto::WrappedKey>| {
            w.as_ref().and_then(|w| {
                crypto::unwrap(me, &description.thing_key, description.id.as_str(), w)
            })
        };
        self.group = unwrap(&description.keys.group);
        self.owner = unwrap(&description.keys.owner);
        let previous: Vec<SymmetricKey> = description
            .keys
            .previous
            .iter()
            .filter_map(|w| unwrap(&Some(w.clone())))
            .collect();
        for k in previous
            .iter()
            .chain(self.group.iter())
            .chain(self.owner.iter())
        {
            if !self.known.iter().any(|known| known.kid == k.kid) {
                self.known.push(k.clone());
            }
        }
        let excess = self.known.len().saturating_sub(KNOWN_KEYS);
        self.known.drain(..excess);
        // The boot epoch of the description fetched last, whatever its revision: a device
        // that restarted keeps its revision but not its epoch.
        if let Some(boot) = crate::wire::parse_boot(&description.boot) {
            self.boot = boot;
        }
        if description.revision >= self.latest.revision {
            self.latest = description;
        }
    }
}

impl std::fmt::Debug for RemoteThing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteThing")
            .field("id", &self.description.id)
            .finish_non_exhaustive()
    }
}

impl RemoteThing {
    pub(crate) fn new(client: Arc<ClientInner>, description: Description) -> Result<RemoteThing> {
        let schemas = Arc::new(description.definition.payload_schemas());
        let description = Arc::new(description);
        let mut shared = Shared {
            latest: description.clone(),
            tried: Vec::new(),
            group: None,
            owner: None,
            known: Vec::new(),
            boot: [0; crate::frame::EPOCH_LEN],
        };
        shared.learn(client.sealer.identity(), description.clone());
        Ok(RemoteThing {
            client,
            sender: Arc::new(crate::envelope::KnownSender::new(description.thing_key)),
            description,
            schemas,
            shared: Arc::new(RwLock::new(shared)),
            session: Arc::new(SessionSlot::default()),
        })
    }

    fn shared(&self) -> std::sync::RwLockReadGuard<'_, Shared> {
        self.shared.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The thing's id.
    pub fn id(&self) -> &ThingId {
        &self.description.id
    }

    /// Its latest known description (lifecycle, owner and group as last fetched).
    pub fn description(&self) -> Arc<Description> {
        self.shared().latest.clone()
    }

    /// Its public key.
    pub fn key(&self) -> &PublicKey {
        &self.description.thing_key
    }

    /// Whether it is online now.
    pub fn is_online(&self) -> bool {
        self.client.presence.is_online(self.id().as_str())
    }

    /// Fetches the description again (lifecycle, owner, group and keys may have changed);
    /// every clone of this handle sees the result.
    pub async fn refresh(&self) -> Result<Arc<Description>> {
        let description = Arc::new(self.client.describe(self.id()).await?);
        if description.thing_key != self.description.thing_key {
            return Err(Error::Untrusted(
                crate::envelope::EnvelopeError::WrongSender {
                    expected: self.description.thing_key.to_string(),
                    found: description.thing_key.to_string(),
                },
            ));
        }
        self.shared
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .learn(self.client.sealer.identity(), description.clone());
        Ok(description)
    }

    pub(crate) fn unknown(&self, kind: AffordanceKind, name: &str) -> Error {
        Error::UnknownAffordance {
            thing: self.id().to_string(),
            kind,
            name: name.to_owned(),
        }
    }

    fn parties(&self) -> Parties {
        let latest = self.description();
        Parties {
            thing: Some(latest.thing_key),
            owner: latest.owner,
            group: latest.group.clone(),
        }
    }

    /// Refuses locally what the device would refuse for lack of access, before sending.
    /// The description may be stale, so a refusal is confirmed against a fresh one.
    pub(crate) async fn precheck(&self, access: &Access) -> Result<()> {
        let me = *self.client.sealer.identity().public_key();
        if self.parties().check(access, &me).is_ok() {
            return Ok(());
        }
        self.refresh().await?;
        self.parties()
            .check(access, &me)
            .map_err(|p| Error::from_problem(self.id().as_str(), p))
    }

    /// Sends a signed request on `key` and returns the first verified answer of the thing.
    pub(crate) async fn request<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        key: &str,
        body: &Req,
        timeout: Duration,
    ) -> Result<Resp> {
        self.request_as(&Protect::Plain, key, body, timeout).await
    }

    /// Like [`request`](Self::request), with the body protected as `protect` says. Only a
    /// reply signed by the thing's pinned key and bound to this very request (its id, our key)
    /// is taken; a `stale_epoch` answer (the device restarted) makes it ask again, once.
    pub(crate) async fn request_as<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        protect: &Protect,
        key: &str,
        body: &Req,
        timeout: Duration,
    ) -> Result<Resp> {
        let mut retried = false;
        let mut renewed = false;
        loop {
            let id = self.client.sealer.next_id();
            // Claims stay sealed to the thing and signed; everything else goes in the session
            // when there is one.
            let session = match protect {
                Protect::ToThing => None,
                Protect::Plain | Protect::For(_) => self.session().await,
            };
            let outcome = match session {
                Some(session) => {
                    let plain = self.frame_in_session(&session, body, id)?;
                    let (bytes, ctr) = session
                        .seal(key, &plain)
                        .map_err(|e| Error::Protocol(ProtocolError::violation(e.to_string())))?;
                    match self.ask_in(&session, key, bytes, ctr, &id, timeout).await? {
                        Some(outcome) => outcome,
                        None => {
                            // The device does not hold the session (it restarted, the session
                            // expired or was dropped): a new one, once; then signed requests.
                            self.forget_session(&session);
                            if renewed {
                                self.pause_sessions();
                            }
                            renewed = true;
                            continue;
                        }
                    }
                }
                None => {
                    let bytes = self.seal_request(protect, key, body, id)?;
                    self.ask(key, bytes, &id, timeout).await?
                }
            };
            match outcome {
                Outcome::Err(crate::wire::Problem::StaleEpoch { boot }) if !retried => {
                    retried = true;
                    self.restarted(&boot).await?;
                }
                outcome => {
                    return Result::from(outcome)
                        .map_err(|p| Error::from_problem(self.id().as_str(), p));
                }
            }
        }
    }

    /// The device restarted: fetches its description again (keys may have changed while this
    /// handle was not looking) and takes the epoch its answer named.
    pub(crate) async fn restarted(&self, boot: &str) -> Result<()> {
        if let Err(e) = self.refresh().await {
            tracing::debug!(thing = %self.id(), error = %e, "could not refresh after a restart");
        }
        self.learn_boot(boot)
    }

    /// Takes a boot epoch from a `stale_epoch` answer (signed by the thing and bound to our
    /// request, so it is the device's word).
    pub(crate) fn learn_boot(&self, boot: &str) -> Result<()> {
        let boot = crate::wire::parse_boot(boot).ok_or_else(|| {
            Error::Protocol(ProtocolError::violation(
                "the device named a malformed boot epoch",
            ))
        })?;
        self.shared.write().unwrap_or_else(|e| e.into_inner()).boot = boot;
        Ok(())
    }

    /// Sends one request and waits for the first reply bound to it.
    async fn ask<Resp: DeserializeOwned>(
        &self,
        key: &str,
        bytes: bytes::Bytes,
        id: &MessageId,
        timeout: Duration,
    ) -> Result<Outcome<Resp>> {
        let me = *self.client.sealer.identity().public_key();
        let mut replies = self
            .client
            .transport
            .query(key, Some(bytes), timeout)
            .await?;
        let mut last_error = None;
        while let Some(reply) = replies.recv().await {
            match reply {
                // Opened for the key we asked on, whatever key the transport labels it with.
                Reply::Ok(sample) => {
                    match self.open_fresh::<Outcome<Resp>>(key, &sample.payload).await {
                        Ok(opened) => match opened.expect_bound(Kind::Reply, id, &me) {
                            Ok(()) => return Ok(opened.body),
                            Err(e) => last_error = Some(Error::Untrusted(e)),
                        },
                        Err(e) => last_error = Some(e),
                    }
                }
                Reply::Err(_) => {
                    last_error = Some(Error::Protocol(ProtocolError::violation(
                        "the transport returned an error reply",
                    )))
                }
            }
        }
        Err(last_error.unwrap_or_else(|| self.silence(timeout)))
    }

    /// The session to send a request in: the current one, or a new one; `None` when sessions
    /// are off or the device takes none now (the request then goes signed).
    pub(crate) async fn session(&self) -> Option<Arc<ClientSession>> {
        let config = &self.client.config;
        if !config.sessions() || self.client.sealer.signing() != crate::envelope::Signing::Signed {
            return None;
        }
        let usable = |slot: &SessionSlot| {
            let state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
            match &state.current {
                Some(s) if s.usable() => Ok(Some(s.clone())),
                _ if state
                    .paused_until
                    .is_some_and(|t| std::time::Instant::now() < t) =>
                {
                    Ok(None)
                }
                _ => Err(()),
            }
        };
        if let Ok(found) = usable(&self.session) {
            return found;
        }
        let _one = self.session.handshaking.lock().await;
        if let Ok(found) = usable(&self.session) {
            return found;
        }
        let made = crate::session::client::handshake(
            &*self.client.transport,
            self.client.sealer.identity(),
            &self.description.thing_key,
            &crate::session::key(self.id()),
            config.request_timeout,
        )
        .await;
        let mut state = self.session.state.lock().unwrap_or_else(|e| e.into_inner());
        match made {
            Ok(session) => {
                let session = Arc::new(session);
                state.current = Some(session.clone());
                state.paused_until = None;
                Some(session)
            }
            Err(e) => {
                tracing::debug!(thing = %self.id(), error = %e, "no session: requests go signed");
                state.current = None;
                state.paused_until = Some(std::time::Instant::now() + SESSION_PAUSE);
                None
            }
        }
    }

    /// Drops `session` if it is still the current one.
    pub(crate) fn forget_session(&self, session: &Arc<ClientSession>) {
        let mut state = self.session.state.lock().unwrap_or_else(|e| e.into_inner());
        if state
            .current
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, session))
        {
            state.current = None;
        }
    }

    /// Sends signed requests for a while (a renewed session was refused at once).
    fn pause_sessions(&self) {
        let mut state = self.session.state.lock().unwrap_or_else(|e| e.into_inner());
        state.current = None;
        state.paused_until = Some(std::time::Instant::now() + SESSION_PAUSE);
    }

    /// Frames a request as the unsigned v2 frame a session carries: message id `id`, naming
    /// the boot epoch the session was made in, body in the clear (the session seals it).
    pub(crate) fn frame_in_session<T: Serialize>(
        &self,
        session: &ClientSession,
        body: &T,
        id: MessageId,
    ) -> Result<Vec<u8>> {
        crate::session::plain_frame(
            self.client.sealer.identity().public_key(),
            Kind::Request,
            Binding::Epoch(session.boot),
            id,
            crate::envelope::now_ms(),
            |out| serde_json::to_writer(out, body),
        )
        .map_err(|e| Error::Protocol(ProtocolError::Seal(e)))
    }

    /// Sends one request sealed in `session` (frame counter `ctr`) and waits for the first
    /// reply bound to it; `None` when the device answers that it does not hold the session.
    async fn ask_in<Resp: DeserializeOwned>(
        &self,
        session: &ClientSession,
        key: &str,
        bytes: bytes::Bytes,
        ctr: u64,
        id: &MessageId,
        timeout: Duration,
    ) -> Result<Option<Outcome<Resp>>> {
        let me = *self.client.sealer.identity().public_key();
        let mut replies = self
            .client
            .transport
            .query(key, Some(bytes), timeout)
            .await?;
        let mut last_error = None;
        while let Some(reply) = replies.recv().await {
            let Reply::Ok(sample) = reply else {
                last_error = Some(Error::Protocol(ProtocolError::violation(
                    "the transport returned an error reply",
                )));
                continue;
            };
            match session.open(key, &sample.payload) {
                Ok(Answer::Unknown(answered)) if answered == ctr => return Ok(None),
                Ok(Answer::Unknown(_)) => {
                    last_error = Some(Error::Untrusted(EnvelopeError::Unexpected(
                        "a session answer about another request".into(),
                    )))
                }
                Ok(Answer::Frame(plain)) => match self.open_in_session::<Outcome<Resp>>(&plain) {
                    Ok(opened) => match opened.expect_bound(Kind::Reply, id, &me) {
                        Ok(()) => return Ok(Some(opened.body)),
                        Err(e) => last_error = Some(Error::Untrusted(e)),
                    },
                    Err(e) => last_error = Some(e),
                },
                Err(e) => {
                    last_error = Some(Error::Untrusted(EnvelopeError::Malformed(e.to_string())))
                }
            }
        }
        Err(last_error.unwrap_or_else(|| self.silence(timeout)))
    }

    /// Reads the v2 frame a session reply carried: from this thing, fresh, body in the clear.
    pub(crate) fn open_in_session<T: DeserializeOwned>(&self, plain: &[u8]) -> Result<Opened<T>> {
        let window_ms =
            u64::try_from(self.client.config.freshness().as_millis()).unwrap_or(u64::MAX);
        let opened = crate::session::open_plain(plain, &self.description.thing_key, window_ms)
            .map_err(Error::Untrusted)?;
        let body = serde_json::from_slice(opened.body)
            .map_err(|e| Error::Untrusted(EnvelopeError::Malformed(e.to_string())))?;
        Ok(opened.with_body(body))
    }

    /// Frames a request body with message id `id`, naming the device's boot epoch: sealed
    /// with the key of `group`/`owner` affordances (when this client holds it), or to the
    /// thing alone.
    pub(crate) fn seal_request<T: Serialize>(
        &self,
        protect: &Protect,
        key: &str,
        body: &T,
        id: MessageId,
    ) -> Result<bytes::Bytes> {
        let shared = self.shared();
        let symmetric = match protect {
            Protect::For(Access::Group) => shared.group.clone(),
            Protect::For(Access::Owner) => shared.owner.clone(),
            _ => None,
        };
        let boot = shared.boot;
        drop(shared);
        let protection = match protect {
            Protect::Plain | Protect::For(_) => symmetric.as_ref().map(Protection::Key),
            Protect::ToThing => Some(Protection::ToThing(&self.description.thing_key)),
        };
        let outgoing = Outgoing {
            kind: Kind::Request,
            binding: Binding::Epoch(boot),
            id: Some(id),
            protection,
        };
        self.client
            .sealer
            .seal_message(key, &outgoing, crate::envelope::now_ms(), body)
            .map_err(|e| Error::Protocol(ProtocolError::Seal(e)))
    }

    /// What no answer means: the thing is offline, or too slow.
    pub(crate) fn silence(&self, timeout: Duration) -> Error {
        if self.is_online() {
            Error::TimedOut {
                timeout_ms: millis(timeout),
            }
        } else {
            Error::Offline(self.id().to_string())
        }
    }

    /// Opens a message that must come from this thing, decrypting a sealed payload with the
    /// keys this handle holds.
    pub(crate) fn open<T: DeserializeOwned>(
        &self,
        key: &str,
        payload: &[u8],
    ) -> Result<Opened<T>, Unreadable> {
        self.open_with(key, payload, |raw| serde_json::from_slice(raw))
    }

    /// Like [`open`](Self::open), the body read by `read` (a reader that knows its layout).
    /// Only the key pinned for this thing is accepted as the signer.
    pub(crate) fn open_with<T>(
        &self,
        key: &str,
        payload: &[u8],
        read: impl FnOnce(&[u8]) -> serde_json::Result<T>,
    ) -> Result<Opened<T>, Unreadable> {
        self.open_checked(key, payload, read, true)
    }

    /// Opens a frame as [`open_with`](Self::open_with) does; `fresh: false` skips the freshness
    /// window (frames kept by a store), nothing else.
    pub(crate) fn open_checked<T>(
        &self,
        key: &str,
        payload: &[u8],
        read: impl FnOnce(&[u8]) -> serde_json::Result<T>,
        fresh: bool,
    ) -> Result<Opened<T>, Unreadable> {
        let untrusted = |e: EnvelopeError| Unreadable::Error(Error::Untrusted(e));
        let verifier = &self.client.verifier;
        let opened = if fresh {
            verifier.open_raw_from(key, payload, Some(&self.sender))
        } else {
            verifier.open_stored_from(key, payload, Some(&self.sender))
        }
        .map_err(untrusted)?;
        if opened.signed && opened.from != self.description.thing_key {
            return Err(untrusted(EnvelopeError::WrongSender {
                expected: self.description.thing_key.to_string(),
                found: opened.from.to_string(),
            }));
        }
        let body = opened
            .read_body(
                key,
                |kid| self.shared().known.iter().find(|k| k.kid == kid).cloned(),
                None,
                read,
            )
            .map_err(|e| match e {
                BodyError::Unsealed(Unsealed::UnknownKey(kid)) => Unreadable::UnknownKey(kid),
                BodyError::Unsealed(Unsealed::Failed(why)) => {
                    untrusted(EnvelopeError::Malformed(why.into()))
                }
                BodyError::Malformed(e) => untrusted(EnvelopeError::Malformed(e.to_string())),
            })?;
        Ok(opened.with_body(body))
    }

    /// Like [`open`](Self::open); a payload sealed with a key this handle has not seen makes it
    /// fetch the description once (keys rotate), then try again.
    pub(crate) async fn open_fresh<T: DeserializeOwned>(
        &self,
        key: &str,
        payload: &[u8],
    ) -> Result<Opened<T>> {
        match self.open(key, payload) {
            Ok(o) => Ok(o),
            Err(Unreadable::Error(e)) => Err(e),
            Err(Unreadable::UnknownKey(kid)) => {
                let tried = self.shared().tried.contains(&kid);
                if !tried {
                    self.shared
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .tried
                        .push(kid.clone());
                    // Failing to refresh leaves the key unknown, reported below.
                    let _ = self.refresh().await;
                }
                self.open(key, payload).map_err(|e| match e {
                    Unreadable::Error(e) => e,
                    Unreadable::UnknownKey(kid) => Error::Untrusted(EnvelopeError::Malformed(
                        format!("sealed with key `{kid}`, which this client does not hold"),
                    )),
                })
            }
        }
    }

    pub(crate) fn attribute_schema(
        &self,
        name: &str,
    ) -> Result<(&safething_ir::Attribute, &CompiledSchema)> {
        match (
            self.description.definition.attributes.get(name),
            self.schemas.attributes.get(name),
        ) {
            (Some(a), Some(s)) => Ok((a, s)),
            _ => Err(self.unknown(AffordanceKind::Attribute, name)),
        }
    }

    pub(crate) fn check_value(
        &self,
        schema: &CompiledSchema,
        value: &Value,
        what: impl FnOnce() -> String,
    ) -> Result<()> {
        schema.check(value).map_err(|source| Error::InvalidPayload {
            what: what(),
            source,
        })
    }

    pub(crate) async fn read_raw(&self, name: &str, history: Option<u64>) -> Result<ReadReply> {
        let (attribute, schema) = self.attribute_schema(name)?;
        self.precheck(&attribute.access).await?;
        let key = keys::attribute(self.id(), name);
        let reply: ReadReply = self
            .request(
                &key,
                &AttributeRequest::Read { history },
                self.client.config.request_timeout,
            )
            .await?;
        if let Some(value) = &reply.value {
            self.check_value(schema, value, || format!("value of attribute `{name}`"))?;
        }
        for entry in reply.history.iter().flatten() {
            self.check_value(schema, &entry.value, || {
                format!("history of attribute `{name}`")
            })?;
        }
        Ok(reply)
    }

    /// The current value of an attribute.
    pub async fn read(&self, name: &str) -> Result<AttributeReading> {
        reading(name, self.read_raw(name, None).await?)
    }

    /// The remembered values of an attribute that keeps a history, oldest first.
    pub async fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let (attribute, _) = self.attribute_schema(name)?;
        let Some(depth) = attribute.history else {
            return Err(Error::Rejected(crate::wire::Problem::BadRequest {
                message: format!("attribute `{name}` keeps no history"),
            }));
        };
        Ok(self
            .read_raw(name, Some(depth))
            .await?
            .history
            .unwrap_or_default())
    }

    /// Writes a writable attribute; the device's handler accepts or rejects it. Returns the
    /// value as the device now holds it.
    pub async fn write(&self, name: &str, value: Value) -> Result<AttributeReading> {
        let (attribute, schema) = self.attribute_schema(name)?;
        if !attribute.writable {
            return Err(Error::Rejected(crate::wire::Problem::NotWritable {
                name: name.to_owned(),
            }));
        }
        self.check_value(schema, &value, || format!("value of attribute `{name}`"))?;
        self.precheck(&attribute.access).await?;
        let key = keys::attribute(self.id(), name);
        let protect = Protect::For(attribute.access.clone());
        let request = AttributeRequest::Write { value };
        let reply: ReadReply = self
            .request_as(&protect, &key, &request, self.client.config.request_timeout)
            .await?;
        reading(name, reply)
    }

    /// Follows an attribute: the stream starts with the current value (when it passes the
    /// filter) and yields every change that passes it.
    pub async fn watch(&self, name: &str, filter: Filter) -> Result<Watch> {
        Watch::start(self, name, filter).await
    }

    /// Receives an event's notifications that pass the filter.
    pub async fn subscribe(&self, name: &str, filter: Filter) -> Result<EventStream> {
        EventStream::start(self, name, filter).await
    }

    /// Follows an attribute from a position a watch reported ([`Watch::position`]): the
    /// changes since, from the stores (verified as the thing's publications), then the current
    /// value and live changes, in order, without duplicates. Changes that neither the network
    /// nor a store has come as an [`Error::Gap`] item, and the watch goes on; so does a
    /// change lost on the network later, once the stores have been asked for it.
    pub async fn watch_from(&self, name: &str, filter: Filter, from: Position) -> Result<Watch> {
        Watch::resume(self, name, filter, from).await
    }

    /// Receives an event's notifications from a position a stream reported
    /// ([`EventStream::position`]): those since, from the stores, then live ones; what is
    /// missing comes as an [`Error::Gap`] item, as for [`watch_from`](Self::watch_from).
    pub async fn subscribe_from(
        &self,
        name: &str,
        filter: Filter,
        from: Position,
    ) -> Result<EventStream> {
        EventStream::resume(self, name, filter, from).await
    }

    async fn admin(&self, op: AdminRequest) -> Result<Description> {
        let key = keys::admin(self.id());
        // A claim carries a secret token: only the thing may read it.
        let protect = if matches!(op, AdminRequest::Claim { .. }) {
            Protect::ToThing
        } else {
            Protect::Plain
        };
        let description: Description = self
            .request_as(&protect, &key, &op, self.client.config.request_timeout)
            .await?;
        // Handed to the application: held to the same checks (and limits) as any description.
        description.definition.check()?;
        let description = Arc::new(description);
        if description.thing_key == self.description.thing_key
            && description.id == self.description.id
        {
            self.shared
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .learn(self.client.sealer.identity(), description.clone());
        }
        Ok((*description).clone())
    }

    /// Makes the thing operative (owner only).
    pub async fn publish(&self) -> Result<Description> {
        self.admin(AdminRequest::Publish).await
    }

    /// Takes the thing out of service (owner only).
    pub async fn disable(&self) -> Result<Description> {
        self.admin(AdminRequest::Disable).await
    }

    /// Adds a group member (owner only).
    pub async fn grant(&self, member: PublicKey) -> Result<Description> {
        self.admin(AdminRequest::Grant { member }).await
    }

    /// Removes a group member (owner only).
    pub async fn revoke(&self, member: PublicKey) -> Result<Description> {
        self.admin(AdminRequest::Revoke { member }).await
    }

    /// Hands the thing to a new owner (owner only).
    pub async fn transfer(&self, owner: PublicKey) -> Result<Description> {
        self.admin(AdminRequest::Transfer { owner }).await
    }

    /// Claims an unclaimed thing with its one-time token.
    pub async fn claim(&self, token: &str) -> Result<Description> {
        self.admin(AdminRequest::Claim {
            token: token.to_owned(),
        })
        .await
    }
}

/// The value a read or write reply carries; a reply without one means the attribute has none yet.
fn reading(name: &str, reply: ReadReply) -> Result<AttributeReading> {
    match reply.value {
        Some(value) => Ok(AttributeReading {
            value,
            seq: reply.seq,
            ts: reply.ts,
        }),
        None => Err(Error::NoValue(name.to_owned())),
    }
}

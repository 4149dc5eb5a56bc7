//! The client side: discover things, read and watch attributes, receive events, write, and run
//! actions. This is the untyped (JSON value) API; generated clients wrap it with types.
//!
//! ```no_run
//! # async fn demo(transport: safething::transport::memory::MemoryTransport) -> safething::Result<()> {
//! use futures::StreamExt;
//! use safething::client::Client;
//! use safething::Filter;
//! use serde_json::json;
//!
//! let client = Client::builder().transport(transport).build().await?;
//! let garden = client.thing("garden-01").await?;
//! let mut dry = garden.watch("moisture_level", Filter::lt(5.0)).await?;
//! while let Some(update) = dry.next().await {
//!     let update = update?;
//!     let action = garden.invoke("open_valve", json!({"psi": 60})).await?;
//!     println!("{} -> {:?}", update.value, action.output().await?);
//! }
//! # Ok(()) }
//! ```

mod action;
mod presence;
mod remote;
mod stored;
mod streams;

pub use action::{ActionHandle, InvokeOptions};
pub use remote::{AttributeReading, RemoteThing};
pub use stored::{Reading, Source};
pub use streams::{EventDelivery, EventStream, Update, Watch};

pub use crate::stored::Position;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::{CancellationToken, DropGuard};

use safething_ir::{Diagnostic, Invalid, IrPath, Limits, Rule, ThingId};

use crate::envelope::{Sealer, Signing, Verifier};
use crate::error::{Error, ProtocolError, Result};
use crate::identity::{Identity, PublicKey};
use crate::keys;
use crate::known_things::KnownThings;
use crate::transport::{Reply, Transport, TransportError};
use crate::wire::{Description, Lifecycle};

use presence::Presence;

/// Tuning of a client: `ClientConfig::default().with_request_timeout(..)`. Fields are private
/// so that new ones can come without breaking callers.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    request_timeout: Duration,
    discovery_timeout: Duration,
    signing: Signing,
    freshness: Duration,
    max_discovered: usize,
    sessions: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            request_timeout: Duration::from_secs(5),
            discovery_timeout: Duration::from_secs(1),
            signing: Signing::Signed,
            freshness: Verifier::DEFAULT_WINDOW,
            max_discovered: 4096,
            sessions: true,
        }
    }
}

impl ClientConfig {
    /// How long reads, writes and descriptions wait for the device (default 5 s).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Sets [`request_timeout`](Self::request_timeout).
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long discovery collects answers (default 1 s).
    pub fn discovery_timeout(&self) -> Duration {
        self.discovery_timeout
    }

    /// Sets [`discovery_timeout`](Self::discovery_timeout).
    #[must_use]
    pub fn with_discovery_timeout(mut self, timeout: Duration) -> Self {
        self.discovery_timeout = timeout;
        self
    }

    /// Whether messages are signed (see [`Signing`]).
    pub fn signing(&self) -> Signing {
        self.signing
    }

    /// Sets [`signing`](Self::signing).
    #[must_use]
    pub fn with_signing(mut self, signing: Signing) -> Self {
        self.signing = signing;
        self
    }

    /// How far a sender's clock may be from ours.
    pub fn freshness(&self) -> Duration {
        self.freshness
    }

    /// Sets [`freshness`](Self::freshness).
    #[must_use]
    pub fn with_freshness(mut self, freshness: Duration) -> Self {
        self.freshness = freshness;
        self
    }

    /// The most things one discovery reports (default 4096): whoever answers a discovery query
    /// decides how many answers there are, so the client decides how many it keeps.
    pub fn max_discovered(&self) -> usize {
        self.max_discovered
    }

    /// Sets [`max_discovered`](Self::max_discovered) (at least 1).
    #[must_use]
    pub fn with_max_discovered(mut self, things: usize) -> Self {
        self.max_discovered = things.max(1);
        self
    }

    /// Whether reads, writes, actions and their status/cancel go in a session with each thing
    /// (`docs/protocol.md` §10: one signed handshake, then AEAD frames; default on for signing
    /// clients). Off, every request is a signed v2 frame. Either way the caller sees the same
    /// results: a session the device no longer holds is renewed once, and a device that takes
    /// no session gets signed requests.
    pub fn sessions(&self) -> bool {
        self.sessions
    }

    /// Sets [`sessions`](Self::sessions).
    #[must_use]
    pub fn with_sessions(mut self, on: bool) -> Self {
        self.sessions = on;
        self
    }
}

/// Builds a [`Client`].
pub struct ClientBuilder {
    transport: Option<Arc<dyn Transport>>,
    identity: Option<Identity>,
    pins: HashMap<ThingId, PublicKey>,
    known_things: Option<std::path::PathBuf>,
    config: ClientConfig,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder").finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The network to use.
    pub fn transport(self, transport: impl Transport) -> ClientBuilder {
        self.transport_arc(Arc::new(transport))
    }

    /// The network to use, already shared.
    pub fn transport_arc(mut self, transport: Arc<dyn Transport>) -> ClientBuilder {
        self.transport = Some(transport);
        self
    }

    /// Who this client is (default: a fresh identity, kept in memory).
    pub fn identity(mut self, identity: Identity) -> ClientBuilder {
        self.identity = Some(identity);
        self
    }

    /// Trusts `key` as the key of thing `id` (instead of trusting the first key seen).
    pub fn trust(mut self, id: ThingId, key: PublicKey) -> ClientBuilder {
        self.pins.insert(id, key);
        self
    }

    /// Keeps the keys of things met across runs in the known-things store at `path` (see
    /// [`KnownThings`] for the format; the CLI uses
    /// [`KnownThings::default_path`](crate::known_things::KnownThings::default_path)). A thing
    /// met for the first time is added; one that answers with another key than its line says is
    /// refused with [`Error::KeyChanged`], as is a key given to [`trust`](Self::trust) that
    /// disagrees with the store.
    pub fn known_things(mut self, path: impl Into<std::path::PathBuf>) -> ClientBuilder {
        self.known_things = Some(path.into());
        self
    }

    /// Tuning.
    pub fn config(mut self, config: ClientConfig) -> ClientBuilder {
        self.config = config;
        self
    }

    /// Signed (default) or unsigned messages.
    pub fn signing(mut self, signing: Signing) -> ClientBuilder {
        self.config.signing = signing;
        self
    }

    /// How long requests wait for the device (default 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.config.request_timeout = timeout;
        self
    }

    /// Connects: starts following which things are online.
    pub async fn build(self) -> Result<Client> {
        let transport = self.transport.ok_or_else(|| {
            Error::Transport(TransportError::Unavailable(
                "no transport given to the client builder".into(),
            ))
        })?;
        let identity = match self.identity {
            Some(i) => i,
            None => Identity::generate()?,
        };
        let mut pins = self.pins;
        let known = match self.known_things {
            Some(path) => {
                let known = KnownThings::open(path)?;
                for (id, entry) in known.iter() {
                    match pins.get(id) {
                        Some(trusted) if *trusted != entry.key => {
                            return Err(key_changed(id, entry.key, *trusted, Some(&known)));
                        }
                        Some(_) => {}
                        None => {
                            pins.insert(id.clone(), entry.key);
                        }
                    }
                }
                Some(Mutex::new(known))
            }
            None => None,
        };
        let shutdown = CancellationToken::new();
        let presence = Presence::start(transport.as_ref(), shutdown.clone()).await?;
        let inner = Arc::new(ClientInner {
            sealer: Sealer::new(identity, self.config.signing),
            verifier: Verifier::with_window(self.config.signing, self.config.freshness),
            config: self.config,
            transport,
            pins: Mutex::new(pins),
            known,
            presence,
            shutdown: shutdown.clone(),
        });
        Ok(Client {
            inner,
            _alive: Arc::new(shutdown.drop_guard()),
        })
    }
}

/// One participant's access to things on a network. Clones share it.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
    _alive: Arc<DropGuard>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("key", &self.inner.sealer.identity().public_key())
            .finish_non_exhaustive()
    }
}

pub(crate) struct ClientInner {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) sealer: Sealer,
    pub(crate) verifier: Verifier,
    pub(crate) config: ClientConfig,
    pins: Mutex<HashMap<ThingId, PublicKey>>,
    /// The known-things store, when the client keeps one.
    known: Option<Mutex<KnownThings>>,
    pub(crate) presence: Presence,
    pub(crate) shutdown: CancellationToken,
}

/// A thing found by discovery.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ThingSummary {
    /// Its id.
    pub id: ThingId,
    /// Its definition's name (the thing type).
    pub name: String,
    /// Human title (the definition's title, or its name).
    pub title: String,
    /// Definition version.
    pub version: String,
    /// Lifecycle state.
    pub state: Lifecycle,
    /// Whether it is online now.
    pub online: bool,
    /// Its public key.
    pub key: PublicKey,
    /// Its owner's key, if claimed.
    pub owner: Option<PublicKey>,
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            transport: None,
            identity: None,
            pins: HashMap::new(),
            known_things: None,
            config: ClientConfig::default(),
        }
    }

    /// This client's public key.
    pub fn public_key(&self) -> PublicKey {
        *self.inner.sealer.identity().public_key()
    }

    /// Every thing that answers on the network, sorted by id.
    pub async fn discover(&self) -> Result<Vec<ThingSummary>> {
        let inner = &self.inner;
        let mut replies = inner
            .transport
            .query(keys::ALL_DESCRIPTIONS, None, inner.config.discovery_timeout)
            .await?;
        // Summaries, not descriptions: a description may hold a definition of a megabyte, and
        // nothing here needs more than its first lines.
        let mut found: BTreeMap<ThingId, (u64, ThingSummary)> = BTreeMap::new();
        let mut refused = 0usize;
        while let Some(reply) = replies.recv().await {
            let Reply::Ok(sample) = reply else { continue };
            match inner.open_description(&sample.key, &sample.payload) {
                Ok(d) => {
                    let newer = found.get(&d.id).is_none_or(|(seen, _)| *seen < d.revision);
                    let room =
                        found.len() < inner.config.max_discovered || found.contains_key(&d.id);
                    if newer && room {
                        found.insert(d.id.clone(), (d.revision, summary(d)));
                    } else if !room {
                        refused += 1;
                    }
                }
                Err(e) => tracing::debug!(key = %sample.key, error = %e, "ignored a description"),
            }
        }
        if refused > 0 {
            tracing::warn!(
                kept = found.len(),
                refused,
                "discovery found more things than ClientConfig::max_discovered; the rest are left out"
            );
        }
        Ok(found.into_values().map(|(_, summary)| summary).collect())
    }

    /// Fetches and verifies a thing's description.
    pub async fn describe(&self, id: &str) -> Result<Description> {
        let id = parse_id(id)?;
        self.inner.describe(&id).await
    }

    /// Connects to a thing: fetches its description (pinning its key on first contact) and
    /// returns a handle to use it.
    pub async fn thing(&self, id: &str) -> Result<RemoteThing> {
        let id = parse_id(id)?;
        let description = self.inner.describe(&id).await?;
        RemoteThing::new(self.inner.clone(), description)
    }

    /// Whether a thing is online now (from its liveliness token).
    pub fn is_online(&self, id: &str) -> bool {
        self.inner.presence.is_online(id)
    }

    /// Stops background work; streams and handles from this client end.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }
}

pub(crate) fn parse_id(id: &str) -> Result<ThingId> {
    ThingId::new(id).map_err(Error::InvalidThingId)
}

/// The error for a thing whose key is not the one known for it, saying where the known key
/// came from and how to accept the new one.
fn key_changed(
    id: &ThingId,
    known: PublicKey,
    presented: PublicKey,
    store: Option<&KnownThings>,
) -> Error {
    let from_store = store.filter(|s| s.get(id).is_some_and(|k| k.key == known));
    let (known_from, accept) = match from_store {
        Some(store) => {
            let path = store.path().display();
            let place = match store.get(id).and_then(|k| k.line) {
                Some(line) => format!("{path}:{line}"),
                None => path.to_string(),
            };
            (
                place,
                format!("run `safething forget {id}` (or delete its line from {path})"),
            )
        }
        None => (
            "pinned by the application".to_owned(),
            "pin the new key instead (`ClientBuilder::trust`)".to_owned(),
        ),
    };
    Error::KeyChanged(Box::new(crate::error::KeyChange {
        thing: id.to_string(),
        known,
        known_from,
        presented,
        accept,
    }))
}

/// The largest description a client reads: a definition at the byte limit of
/// [`Limits::DEFAULT`], and as much again for the frame, the thing's keys and its group.
pub(crate) const MAX_DESCRIPTION: usize = 2 * Limits::DEFAULT.bytes;

/// Refuses a description by its length, before any of it is parsed.
fn check_description_size(len: usize) -> Result<()> {
    let limit = Limits {
        bytes: MAX_DESCRIPTION,
        ..Limits::DEFAULT
    };
    limit.check_bytes(len).map_err(|e| {
        Error::InvalidDefinition(Invalid(vec![
            Diagnostic::error(
                Rule::LimitExceeded,
                IrPath::root(),
                format!("the description has {e}"),
            )
            .with_help("a description carries a definition of at most 1 MiB and the thing's keys"),
        ]))
    })
}

/// What discovery reports of a description.
fn summary(d: Description) -> ThingSummary {
    let thing = &d.definition.thing;
    ThingSummary {
        online: true,
        name: thing.name.clone(),
        title: thing.title.clone().unwrap_or_else(|| thing.name.clone()),
        version: thing.version.clone(),
        state: d.state,
        key: d.thing_key,
        owner: d.owner,
        id: d.id,
    }
}

impl ClientInner {
    /// The key pinned for a thing (by the application, the known-things store or first use).
    pub(crate) fn pinned(&self, id: &ThingId) -> Option<PublicKey> {
        crate::device::lock(&self.pins).get(id).copied()
    }

    /// Trust on first use: the first verified key of a thing is the one this client keeps, and
    /// the one its known-things store keeps for later runs.
    fn first_use(&self, id: &ThingId, key: PublicKey) {
        crate::device::lock(&self.pins)
            .entry(id.clone())
            .or_insert(key);
        if let Some(known) = &self.known {
            let mut known = crate::device::lock(known);
            if known.get(id).is_none()
                && let Err(e) = known.remember(id, key)
            {
                // The key is still pinned for this client; only later runs lose it.
                tracing::warn!(thing = %id, error = %e, "could not save the thing's key in the known-things store");
            }
        }
    }

    /// A description from `key`, self-signed by the thing, matching any pinned key.
    fn open_description(&self, key: &str, payload: &[u8]) -> Result<Description> {
        check_description_size(payload.len())?;
        let opened = self
            .verifier
            .open::<Description>(key, payload)
            .map_err(Error::Untrusted)?;
        if opened.kind != crate::envelope::Kind::Description {
            return Err(Error::Untrusted(
                crate::envelope::EnvelopeError::Unexpected(format!(
                    "a {:?} where a description was expected",
                    opened.kind
                )),
            ));
        }
        let d = opened.body;
        if keys::description(&d.id) != key {
            return Err(Error::Protocol(ProtocolError::violation(format!(
                "description of `{}` received on `{key}`",
                d.id
            ))));
        }
        if opened.from != d.thing_key && self.config.signing == Signing::Signed {
            return Err(Error::Untrusted(
                crate::envelope::EnvelopeError::WrongSender {
                    expected: d.thing_key.to_string(),
                    found: opened.from.to_string(),
                },
            ));
        }
        let pinned = crate::device::lock(&self.pins).get(&d.id).copied();
        if let Some(pinned) = pinned
            && pinned != d.thing_key
        {
            let known = self.known.as_ref().map(|k| crate::device::lock(k));
            return Err(key_changed(&d.id, pinned, d.thing_key, known.as_deref()));
        }
        Ok(d)
    }

    pub(crate) async fn describe(&self, id: &ThingId) -> Result<Description> {
        let key = keys::description(id);
        let mut replies = self
            .transport
            .query(&key, None, self.config.request_timeout)
            .await?;
        let mut last_error = None;
        while let Some(reply) = replies.recv().await {
            let Reply::Ok(sample) = reply else { continue };
            match self.open_description(&sample.key, &sample.payload) {
                Ok(d) if d.id == *id => {
                    d.definition.check()?;
                    self.first_use(id, d.thing_key);
                    return Ok(d);
                }
                Ok(_) => {}
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            if self.presence.is_online(id.as_str()) {
                Error::TimedOut {
                    timeout_ms: millis(self.config.request_timeout),
                }
            } else {
                Error::UnknownThing(id.to_string())
            }
        }))
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn client_config_setters() {
        let c = ClientConfig::default();
        assert_eq!(c.request_timeout(), Duration::from_secs(5));
        let c = c
            .with_request_timeout(Duration::from_secs(1))
            .with_discovery_timeout(Duration::from_millis(300))
            .with_signing(Signing::Unsigned)
            .with_freshness(Duration::from_secs(7));
        assert_eq!(c.request_timeout(), Duration::from_secs(1));
        assert_eq!(c.discovery_timeout(), Duration::from_millis(300));
        assert_eq!(c.signing(), Signing::Unsigned);
        assert_eq!(c.freshness(), Duration::from_secs(7));
    }
}

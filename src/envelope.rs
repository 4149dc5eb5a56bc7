//! Envelopes: how every message is signed, checked and sealed, on top of the one frame codec
//! ([`crate::frame`], specified in `docs/protocol.md`).
//!
//! A [`Sealer`] writes a participant's frames (header, body — sealed when asked, with
//! [`crate::crypto::seal_body`] — and signature); a [`Verifier`] reads received ones: layout,
//! signature over the key expression and every header byte, freshness, and for requests the
//! replay cache (bounded in bytes and per sender, with a watermark so that eviction never
//! reopens a replay).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::batch::Known;
use crate::crypto::Protection;
use crate::frame::{self, FrameError, Header};
use crate::identity::{Identity, PublicKey};

pub use crate::frame::{Binding, EPOCH_LEN, Kind, MAX_ID, MessageId, VERSION};

/// Why a received message was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not a frame, or a body that is not the expected message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A protocol version this runtime does not speak (1: a JSON envelope).
    #[error("unsupported protocol version {0} (this runtime speaks version 2)")]
    Version(u8),
    /// No signature where one is required.
    #[error("message is not signed")]
    Unsigned,
    /// A signature that does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A timestamp outside the freshness window.
    #[error("stale message: sent {skew_ms} ms away from now (window {window_ms} ms)")]
    Stale {
        /// How far the sender's clock is from ours.
        skew_ms: u64,
        /// The accepted window.
        window_ms: u64,
    },
    /// A message id already seen from this sender, or older than what was forgotten.
    #[error("replayed message")]
    Replayed,
    /// Signed by someone other than the expected sender.
    #[error("message from {found}, expected {expected}")]
    WrongSender {
        /// Who should have signed.
        expected: String,
        /// Who did.
        found: String,
    },
    /// A genuine message, but not the one expected here: another kind, or a reply bound to
    /// another request or requester.
    #[error("unexpected message: {0}")]
    Unexpected(String),
}

impl From<FrameError> for EnvelopeError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::UnsupportedVersion(v) => EnvelopeError::Version(v),
            FrameError::Malformed(what) => EnvelopeError::Malformed(what.to_owned()),
        }
    }
}

/// Whether messages are signed. `Signed` is the default everywhere; `Unsigned` exists for
/// measuring the cost of signatures and for closed test setups, and a signed participant never
/// accepts unsigned messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Signing {
    /// Sign everything sent; require valid signatures on everything received.
    #[default]
    Signed,
    /// Send without signatures; accept unsigned messages (signed ones are still checked).
    Unsigned,
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The wall clock to within a clock tick (a few milliseconds), read for a fraction of what
/// [`now_ms`] costs: enough for freshness windows of seconds, checked on every message received.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn coarse_now_ms() -> u64 {
    use rustix::time::{ClockId, clock_gettime};
    let now = clock_gettime(ClockId::RealtimeCoarse);
    let secs = u64::try_from(now.tv_sec).unwrap_or(0);
    let millis = u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000;
    secs.saturating_mul(1000).saturating_add(millis)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn coarse_now_ms() -> u64 {
    now_ms()
}

/// What a frame about to be sent is, besides its body.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    /// Its kind.
    pub kind: Kind,
    /// What it is bound to (must fit the kind).
    pub binding: Binding,
    /// Its message id; a fresh one when `None`.
    pub id: Option<MessageId>,
    /// How its body is sealed; in the clear when `None`.
    pub protection: Option<Protection<'a>>,
}

impl Outgoing<'_> {
    /// A frame of `kind` bound to `binding`, fresh id, body in the clear.
    pub fn new(kind: Kind, binding: Binding) -> Outgoing<'static> {
        Outgoing {
            kind,
            binding,
            id: None,
            protection: None,
        }
    }
}

/// Signs and frames outgoing messages for one participant.
#[derive(Debug)]
pub struct Sealer {
    identity: Identity,
    signing: Signing,
    /// Random per sealer: the first half of every message id.
    nonce: [u8; 8],
    counter: AtomicU64,
}

impl Sealer {
    /// A sealer for `identity`.
    pub fn new(identity: Identity, signing: Signing) -> Sealer {
        let mut nonce = [0u8; 8];
        // A fixed nonce only weakens uniqueness across restarts within the freshness window;
        // the counter still makes ids unique within this run.
        let _ = getrandom::fill(&mut nonce);
        Sealer {
            identity,
            signing,
            nonce,
            counter: AtomicU64::new(0),
        }
    }

    /// The participant's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Whether this participant signs.
    pub fn signing(&self) -> Signing {
        self.signing
    }

    /// A fresh message id, unique for this sender: the sealer's nonce and a counter (16 bytes).
    pub fn next_id(&self) -> MessageId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.nonce);
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        MessageId::from_16(bytes)
    }

    /// Frames `body` (in the clear) as a message of `kind` bound to `binding`, for `key`.
    pub fn seal<T: Serialize + ?Sized>(
        &self,
        key: &str,
        kind: Kind,
        binding: Binding,
        body: &T,
    ) -> Result<Bytes, EnvelopeError> {
        self.seal_message(key, &Outgoing::new(kind, binding), now_ms(), body)
    }

    /// Frames `body` as `outgoing` says, stamped `ts`.
    pub fn seal_message<T: Serialize + ?Sized>(
        &self,
        key: &str,
        outgoing: &Outgoing<'_>,
        ts: u64,
        body: &T,
    ) -> Result<Bytes, EnvelopeError> {
        self.seal_written(key, outgoing, ts, |out| serde_json::to_writer(out, body))
    }

    /// Frames the body `write` writes (as JSON) as `outgoing` says, stamped `ts` (Unix
    /// milliseconds: the time of what it reports, read once for both). A body in the clear is
    /// written straight into the frame.
    pub(crate) fn seal_written(
        &self,
        key: &str,
        outgoing: &Outgoing<'_>,
        ts: u64,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<Bytes, EnvelopeError> {
        let mut out = self.frame_written(key, outgoing, ts, write)?;
        if self.signing == Signing::Signed {
            let message = frame::signing_input(key, &out)?;
            out.extend_from_slice(&self.identity.sign(&message));
        }
        Ok(Bytes::from(out))
    }

    /// Like [`seal_written`](Self::seal_written), without the signature: the frame up to its
    /// body (signed flag set when this participant signs), for the batch signer.
    pub(crate) fn frame_written(
        &self,
        key: &str,
        outgoing: &Outgoing<'_>,
        ts: u64,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<Vec<u8>, EnvelopeError> {
        let malformed = |e: serde_json::Error| EnvelopeError::Malformed(e.to_string());
        let id = outgoing.id.unwrap_or_else(|| self.next_id());
        let me = self.identity.public_key();
        let header = Header {
            kind: outgoing.kind,
            sealed: outgoing.protection.is_some(),
            sender: *me.as_bytes(),
            id,
            ts,
            binding: outgoing.binding,
        };
        let signed = self.signing == Signing::Signed;
        // Room for a batch proof too (4 bytes, 6 hashes and the signature for 64 frames).
        let mut out = Vec::with_capacity(512);
        let start = frame::begin(&mut out, &header, signed)?;
        match outgoing.protection {
            None => write(&mut out).map_err(malformed)?,
            Some(protection) => {
                let mut plain = Vec::with_capacity(128);
                write(&mut plain).map_err(malformed)?;
                let body = crate::crypto::seal_body(protection, key, me, &id, &plain)
                    .ok_or_else(|| EnvelopeError::Malformed("encryption failed".into()))?;
                out.extend_from_slice(&body);
            }
        }
        frame::finish(&mut out, start)?;
        Ok(out)
    }
}

/// A received, checked message.
#[derive(Clone, Debug)]
pub struct Opened<T> {
    /// Who sent it (verified when `signed`).
    pub from: PublicKey,
    /// Its id, unique for the sender.
    pub id: MessageId,
    /// The sender's timestamp, Unix milliseconds.
    pub ts: u64,
    /// What it is.
    pub kind: Kind,
    /// What it is bound to.
    pub binding: Binding,
    /// Whether a valid signature covered it.
    pub signed: bool,
    /// Whether its body was sealed.
    pub sealed: bool,
    /// The message.
    pub body: T,
}

/// Why a received body could not be read: it did not open, or it is not what was expected.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// A sealed body that does not open (or with a key the reader does not hold).
    Unsealed(crate::crypto::Unsealed),
    /// The (opened) body does not read as the expected message.
    Malformed(serde_json::Error),
}

impl Opened<&[u8]> {
    /// The body read by `read`, opened first when it was sealed: with the symmetric key that
    /// `symmetric` finds by id, or (sealed to a thing) with `me`, bound to this frame's key
    /// expression, sender and id. The one place devices and clients open received bodies.
    pub(crate) fn read_body<T>(
        &self,
        key: &str,
        symmetric: impl FnOnce(&str) -> Option<crate::crypto::SymmetricKey>,
        me: Option<&Identity>,
        read: impl FnOnce(&[u8]) -> serde_json::Result<T>,
    ) -> Result<T, BodyError> {
        if !self.sealed {
            return read(self.body).map_err(BodyError::Malformed);
        }
        let plain = crate::crypto::open_body(key, &self.from, &self.id, self.body, symmetric, me)
            .map_err(BodyError::Unsealed)?;
        read(&plain).map_err(BodyError::Malformed)
    }
}

impl<T> Opened<T> {
    /// The same message with its body decoded further (decrypted, or read as a typed request).
    pub fn with_body<U>(self, body: U) -> Opened<U> {
        Opened {
            from: self.from,
            id: self.id,
            ts: self.ts,
            kind: self.kind,
            binding: self.binding,
            signed: self.signed,
            sealed: self.sealed,
            body,
        }
    }

    /// Checks that this is a reply (or request state, when `kind` says so) bound to the request
    /// `id` of `requester`.
    pub fn expect_bound(
        &self,
        kind: Kind,
        id: &MessageId,
        requester: &PublicKey,
    ) -> Result<(), EnvelopeError> {
        if self.kind != kind {
            return Err(EnvelopeError::Unexpected(format!(
                "a {:?} where a {kind:?} was expected",
                self.kind
            )));
        }
        match &self.binding {
            Binding::Request {
                id: bound,
                requester: who,
            } if bound == id && who == requester.as_bytes() => Ok(()),
            _ => Err(EnvelopeError::Unexpected(
                "a reply bound to another request".into(),
            )),
        }
    }
}

/// A sender's key at hand, for [`Verifier::open_raw_from`].
#[derive(Clone, Debug)]
pub(crate) struct KnownSender {
    key: PublicKey,
    /// `None` only if the key were not a curve point (keys are checked when made).
    verifying: Option<VerifyingKey>,
}

impl KnownSender {
    pub(crate) fn new(key: PublicKey) -> KnownSender {
        KnownSender {
            verifying: key.verifying_key(),
            key,
        }
    }
}

/// Checks received frames: layout, signature, freshness, and (for requests) replays.
#[derive(Debug)]
pub struct Verifier {
    signing: Signing,
    window_ms: u64,
    seen: Mutex<ReplayCache>,
    keys: RwLock<KeyCache>,
    /// Batch roots verified, per sender.
    roots: Mutex<crate::batch::RootCache>,
    /// The first blocks of the leaves of the streams received lately.
    leaves: Mutex<crate::batch::LeafPrefixes>,
    /// Stored frames whose single signature verified (see [`VerifiedStored`]).
    stored: Mutex<VerifiedStored>,
}

/// Frames read from stores whose single signature verified: a console that reads the same
/// stored value again (a device that stays offline) hashes it instead of verifying it again.
/// Keyed by `SHA-256(signing input ‖ signature)`, so a hit is the very bytes verified, under
/// the key the signing input names. Live frames never repeat (a repeat is a replay) and do not
/// use it. Bounded: the oldest entries are forgotten first.
#[derive(Debug, Default)]
struct VerifiedStored {
    seen: foldhash::HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl VerifiedStored {
    /// Frames remembered (about 100 KiB).
    const MAX: usize = 2048;

    fn digest(message: &[u8], signature: &[u8; 64]) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(message);
        h.update(signature);
        h.finalize().into()
    }

    fn contains(&self, digest: &[u8; 32]) -> bool {
        self.seen.contains(digest)
    }

    fn insert(&mut self, digest: [u8; 32]) {
        if self.seen.insert(digest) {
            self.order.push_back(digest);
            while self.order.len() > Self::MAX {
                if let Some(old) = self.order.pop_front() {
                    self.seen.remove(&old);
                }
            }
        }
    }
}

impl Verifier {
    /// Default freshness window: how far a sender's clock may be from ours.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(120);

    /// A verifier with the default window.
    pub fn new(signing: Signing) -> Verifier {
        Verifier::with_window(signing, Verifier::DEFAULT_WINDOW)
    }

    /// A verifier accepting timestamps within `window` of now.
    pub fn with_window(signing: Signing, window: Duration) -> Verifier {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        Verifier {
            signing,
            window_ms,
            seen: Mutex::new(ReplayCache::new(window_ms)),
            keys: RwLock::new(KeyCache::default()),
            roots: Mutex::new(crate::batch::RootCache::default()),
            leaves: Mutex::new(crate::batch::LeafPrefixes::default()),
            stored: Mutex::new(VerifiedStored::default()),
        }
    }

    /// Opens a message received on `key` whose body travels in the clear: frame, signature,
    /// freshness, then the JSON body.
    pub fn open<T: DeserializeOwned>(
        &self,
        key: &str,
        bytes: &[u8],
    ) -> Result<Opened<T>, EnvelopeError> {
        let opened = self.open_raw(key, bytes)?;
        if opened.sealed {
            return Err(EnvelopeError::Malformed(
                "a sealed body where a plain one was expected".into(),
            ));
        }
        let body = serde_json::from_slice(opened.body)
            .map_err(|e| EnvelopeError::Malformed(short(&e.to_string())))?;
        Ok(opened.with_body(body))
    }

    /// Like [`open`](Self::open), the body left as received (borrowed from `bytes`, not yet
    /// checked to be JSON, possibly sealed), for callers that decrypt or decode it further.
    pub fn open_raw<'a>(
        &self,
        key: &str,
        bytes: &'a [u8],
    ) -> Result<Opened<&'a [u8]>, EnvelopeError> {
        self.open_raw_from(key, bytes, None)
    }

    /// Like [`open_raw`](Self::open_raw), for a message that should come from `sender`: when
    /// it does, its key is taken from there instead of being looked up.
    pub(crate) fn open_raw_from<'a>(
        &self,
        key: &str,
        bytes: &'a [u8],
        sender: Option<&KnownSender>,
    ) -> Result<Opened<&'a [u8]>, EnvelopeError> {
        self.open_checked(key, bytes, sender, true)
    }

    /// Like [`open_raw`](Self::open_raw) without the freshness check: for frames kept by a
    /// store, old by nature. Signature, batch path and key binding are checked all the same.
    pub fn open_stored<'a>(
        &self,
        key: &str,
        bytes: &'a [u8],
    ) -> Result<Opened<&'a [u8]>, EnvelopeError> {
        self.open_checked(key, bytes, None, false)
    }

    pub(crate) fn open_stored_from<'a>(
        &self,
        key: &str,
        bytes: &'a [u8],
        sender: Option<&KnownSender>,
    ) -> Result<Opened<&'a [u8]>, EnvelopeError> {
        self.open_checked(key, bytes, sender, false)
    }

    fn open_checked<'a>(
        &self,
        key: &str,
        bytes: &'a [u8],
        sender: Option<&KnownSender>,
        fresh: bool,
    ) -> Result<Opened<&'a [u8]>, EnvelopeError> {
        let frame = frame::decode(bytes)?;
        let h = frame.header;
        let known = sender.filter(|s| s.key.as_bytes() == &h.sender);
        let (from, signed) = self.with_key(&h.sender, known, |from, verifying| {
            let Some(sig) = frame.signature else {
                return match self.signing {
                    Signing::Signed => Err(EnvelopeError::Unsigned),
                    Signing::Unsigned => Ok((*from, false)),
                };
            };
            let signature = ed25519_dalek::Signature::from_bytes(sig);
            let Some(proof) = frame.batch else {
                let message = frame::signing_input(key, frame.signed_part)?;
                let seen = (!fresh).then(|| VerifiedStored::digest(&message, sig));
                let stored = || self.stored.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(d) = &seen
                    && stored().contains(d)
                {
                    return Ok((*from, true));
                }
                if !crate::identity::verify_strict(verifying, &message, &signature) {
                    return Err(EnvelopeError::BadSignature);
                }
                if let Some(d) = seen {
                    stored().insert(d);
                }
                return Ok((*from, true));
            };
            // A batch: the path from this frame's leaf must lead to a root signed by the
            // sender — verified now, or earlier with these very signature bytes.
            let leaf = (self.leaves.lock().unwrap_or_else(|e| e.into_inner()))
                .leaf(key, frame.signed_part)
                .ok_or_else(|| EnvelopeError::Malformed("key expression too long".into()))?;
            let mut roots = self.roots.lock().unwrap_or_else(|e| e.into_inner());
            match roots.check_known(&h.sender, proof.size, sig, &leaf, proof.index, proof.path) {
                Known::InTree => return Ok((*from, true)),
                Known::NotInTree => return Err(EnvelopeError::BadSignature),
                Known::Unknown => {}
            }
            drop(roots);
            let root = crate::batch::root_from_path(&leaf, proof.index, proof.size, proof.path)
                .ok_or(EnvelopeError::BadSignature)?;
            let mut roots = self.roots.lock().unwrap_or_else(|e| e.into_inner());
            if roots.contains(&h.sender, proof.size, &root, sig) {
                return Ok((*from, true));
            }
            drop(roots);
            let m = crate::batch::root_message(proof.size, &root);
            if !crate::identity::verify_strict(verifying, &m, &signature) {
                return Err(EnvelopeError::BadSignature);
            }
            roots = self.roots.lock().unwrap_or_else(|e| e.into_inner());
            let this = (&leaf, proof.index, proof.path);
            roots.insert_with_nodes(&h.sender, proof.size, root, *sig, this);
            Ok((*from, true))
        })??;
        let skew_ms = coarse_now_ms().abs_diff(h.ts);
        if fresh && skew_ms > self.window_ms {
            return Err(EnvelopeError::Stale {
                skew_ms,
                window_ms: self.window_ms,
            });
        }
        Ok(Opened {
            from,
            id: h.id,
            ts: h.ts,
            kind: h.kind,
            binding: h.binding,
            signed,
            sealed: h.sealed,
            body: frame.body,
        })
    }

    /// Calls `use_key` with the sender's key, decoded once per sender: decoding checks that
    /// the key is a curve point, which costs more than everything else in opening an unsigned
    /// message.
    fn with_key<R>(
        &self,
        sender: &[u8; 32],
        known: Option<&KnownSender>,
        use_key: impl FnOnce(&PublicKey, &VerifyingKey) -> R,
    ) -> Result<R, EnvelopeError> {
        if let Some(KnownSender {
            key,
            verifying: Some(verifying),
        }) = known
        {
            return Ok(use_key(key, verifying));
        }
        if let Some((public, verifying)) = read(&self.keys).map.get(sender) {
            return Ok(use_key(public, verifying));
        }
        let public = PublicKey::from_bytes(*sender)
            .ok_or_else(|| EnvelopeError::Malformed("the sender is not a valid key".into()))?;
        let verifying = public
            .verifying_key()
            .ok_or_else(|| EnvelopeError::Malformed("the sender is not a valid key".into()))?;
        let result = use_key(&public, &verifying);
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        if keys.map.len() >= KeyCache::CAPACITY {
            // Many senders: start over rather than grow without bound.
            keys.map.clear();
        }
        keys.map.insert(*sender, (public, verifying));
        Ok(result)
    }

    /// Records a request's id; `Err(Replayed)` when this sender already used it within the
    /// window, or when it is no newer than what the cache had to forget. Call it only once the
    /// request passed its signature, epoch and access checks, so strangers fill nothing.
    pub fn check_replay<T>(&self, opened: &Opened<T>) -> Result<(), EnvelopeError> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.insert(opened.from, opened.id, opened.ts, coarse_now_ms()) {
            Ok(())
        } else {
            Err(EnvelopeError::Replayed)
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

/// Decoded keys by their bytes.
#[derive(Debug, Default)]
struct KeyCache {
    map: foldhash::HashMap<[u8; 32], (PublicKey, VerifyingKey)>,
}

impl KeyCache {
    const CAPACITY: usize = 4096;
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

/// One sender's recent request ids.
#[derive(Debug, Default)]
struct SenderIds {
    ids: foldhash::HashSet<MessageId>,
    /// In arrival order: when seen (our clock), the sender's ts, the id.
    order: VecDeque<(u64, u64, MessageId)>,
    /// Nothing with a ts at or below this is accepted: an id this old may have been evicted.
    watermark: u64,
    /// The newest ts seen, which becomes the global watermark if the sender is evicted.
    newest: u64,
    /// When this sender was last heard (our clock), to evict the quietest sender.
    last_seen: u64,
}

/// Ids seen recently, per sender, bounded in bytes: at most [`ReplayCache::PER_SENDER`] ids
/// for each of at most [`ReplayCache::SENDERS`] senders, each id in a fixed inline slot.
/// Entries older than twice the window are forgotten freely (their ts is stale anyway); an id
/// forgotten earlier for room raises a watermark instead, so no forgotten id is accepted again.
#[derive(Debug)]
struct ReplayCache {
    window_ms: u64,
    by_sender: foldhash::HashMap<PublicKey, SenderIds>,
    /// Raised when a whole sender is evicted: applies to everybody.
    watermark: u64,
}

impl ReplayCache {
    /// Ids remembered per sender.
    const PER_SENDER: usize = 256;
    /// Senders remembered.
    const SENDERS: usize = 256;

    fn new(window_ms: u64) -> ReplayCache {
        ReplayCache {
            window_ms,
            by_sender: foldhash::HashMap::default(),
            watermark: 0,
        }
    }

    fn insert(&mut self, from: PublicKey, id: MessageId, ts: u64, now: u64) -> bool {
        if ts <= self.watermark {
            return false;
        }
        if !self.by_sender.contains_key(&from) && self.by_sender.len() >= Self::SENDERS {
            self.evict_quietest();
        }
        let expiry = self.window_ms.saturating_mul(2);
        let sender = self.by_sender.entry(from).or_default();
        while let Some((seen_at, _, old)) = sender.order.front() {
            if now.saturating_sub(*seen_at) <= expiry {
                break;
            }
            sender.ids.remove(old);
            sender.order.pop_front();
        }
        if ts <= sender.watermark || sender.ids.contains(&id) {
            return false;
        }
        if sender.order.len() >= Self::PER_SENDER
            && let Some((_, old_ts, old)) = sender.order.pop_front()
        {
            sender.ids.remove(&old);
            sender.watermark = sender.watermark.max(old_ts);
            if ts <= sender.watermark {
                return false;
            }
        }
        sender.ids.insert(id);
        sender.order.push_back((now, ts, id));
        sender.newest = sender.newest.max(ts);
        sender.last_seen = now;
        true
    }

    /// Makes room for a sender: forgets the one heard from least recently, and refuses from
    /// then on everything no newer than what it had sent.
    fn evict_quietest(&mut self) {
        let quietest = self
            .by_sender
            .iter()
            .min_by_key(|(_, s)| s.last_seen)
            .map(|(k, s)| (*k, s.newest.max(s.watermark)));
        if let Some((key, newest)) = quietest {
            self.by_sender.remove(&key);
            self.watermark = self.watermark.max(newest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn pair(signing: Signing) -> (Sealer, Verifier) {
        (
            Sealer::new(Identity::generate().unwrap(), signing),
            Verifier::new(signing),
        )
    }

    fn publication() -> Outgoing<'static> {
        Outgoing::new(Kind::Publication, Binding::None)
    }

    #[test]
    fn round_trip_signed_and_unsigned() {
        for signing in [Signing::Signed, Signing::Unsigned] {
            let (s, v) = pair(signing);
            let bytes = s
                .seal("a/b", Kind::Publication, Binding::None, &json!({"x": 1}))
                .unwrap();
            let opened: Opened<Value> = v.open("a/b", &bytes).unwrap();
            assert_eq!(opened.body, json!({"x": 1}));
            assert_eq!(opened.signed, signing == Signing::Signed);
            assert_eq!(&opened.from, s.identity().public_key());
            assert_eq!(opened.kind, Kind::Publication);
        }
    }

    #[test]
    fn ids_are_the_nonce_and_a_counter() {
        let (s, _) = pair(Signing::Unsigned);
        let a = s.next_id();
        let b = s.next_id();
        assert_eq!(a.as_bytes().len(), 16);
        assert_eq!(a.as_bytes()[..8], b.as_bytes()[..8]);
        assert_eq!(b.as_bytes()[15], a.as_bytes()[15] + 1);
    }

    #[test]
    fn signature_binds_key_kind_binding_and_body() {
        let (s, v) = pair(Signing::Signed);
        let bytes = s
            .seal("a/b", Kind::Publication, Binding::None, &json!({"x": 1}))
            .unwrap();
        assert_eq!(
            v.open::<Value>("a/c", &bytes).unwrap_err(),
            EnvelopeError::BadSignature
        );
        // Any byte changed before the signature breaks it (or the layout).
        for at in 3..bytes.len() - 64 {
            let mut tampered = bytes.to_vec();
            tampered[at] ^= 1;
            assert!(v.open_raw("a/b", &tampered).is_err(), "byte {at}");
        }
    }

    #[test]
    fn unsigned_rejected_by_signed_receivers() {
        let (s, _) = pair(Signing::Unsigned);
        let bytes = s
            .seal("a/b", Kind::Publication, Binding::None, &json!(1))
            .unwrap();
        assert_eq!(
            Verifier::new(Signing::Signed)
                .open::<Value>("a/b", &bytes)
                .unwrap_err(),
            EnvelopeError::Unsigned
        );
    }

    #[test]
    fn v1_envelopes_are_an_unsupported_version() {
        let (_, v) = pair(Signing::Signed);
        let v1 = br#"{"v":1,"from":"st","id":"x","ts":1,"body":{},"sig":"x"}"#;
        let e = v.open::<Value>("a/b", v1).unwrap_err();
        assert_eq!(e, EnvelopeError::Version(1));
        assert!(e.to_string().contains("unsupported protocol version 1"));
    }

    #[test]
    fn replays_and_garbage() {
        let (s, v) = pair(Signing::Signed);
        let bytes = s
            .seal("a/b", Kind::Request, Binding::Epoch([0; 16]), &json!(1))
            .unwrap();
        let opened: Opened<Value> = v.open("a/b", &bytes).unwrap();
        assert!(v.check_replay(&opened).is_ok());
        assert_eq!(
            v.check_replay(&opened).unwrap_err(),
            EnvelopeError::Replayed
        );
        for garbage in [&b""[..], b"{", b"null", b"ST", &[0xff, 0xfe]] {
            assert!(v.open::<Value>("a/b", garbage).is_err());
        }
    }

    #[test]
    fn stale_messages_are_rejected() {
        let s = Sealer::new(Identity::generate().unwrap(), Signing::Signed);
        let v = Verifier::with_window(Signing::Signed, Duration::from_millis(0));
        let bytes = s
            .seal_message("a/b", &publication(), now_ms() - 5000, &json!(1))
            .unwrap();
        assert!(matches!(
            v.open::<Value>("a/b", &bytes),
            Err(EnvelopeError::Stale { .. })
        ));
    }

    /// A stored frame verified once is recognised by its bytes: read again it needs no
    /// signature check, but a byte changed anywhere (body, signature, key) is checked afresh
    /// and refused; the cache stays within its bound.
    #[test]
    fn attack_altered_copy_of_a_verified_stored_frame() {
        let (s, v) = pair(Signing::Signed);
        let bytes = s
            .seal("a/b", Kind::Publication, Binding::None, &json!({"x": 1}))
            .unwrap();
        for _ in 0..3 {
            assert!(v.open_stored("a/b", &bytes).is_ok());
        }
        assert_eq!(v.stored.lock().unwrap().order.len(), 1);
        for at in 3..bytes.len() {
            let mut tampered = bytes.to_vec();
            tampered[at] ^= 1;
            assert!(v.open_stored("a/b", &tampered).is_err(), "byte {at}");
        }
        assert_eq!(
            v.open_stored("a/c", &bytes).unwrap_err(),
            EnvelopeError::BadSignature
        );
        // Live frames do not go through it.
        assert!(v.open_raw("a/b", &bytes).is_ok());
        assert_eq!(v.stored.lock().unwrap().order.len(), 1);
        let mut cache = VerifiedStored::default();
        for i in 0..(VerifiedStored::MAX as u32 + 10) {
            let mut d = [0u8; 32];
            d[..4].copy_from_slice(&i.to_be_bytes());
            cache.insert(d);
        }
        assert_eq!(cache.order.len(), VerifiedStored::MAX);
        assert_eq!(cache.seen.len(), VerifiedStored::MAX);
    }

    /// Evicting an id for room never lets it in again: the sender's watermark refuses it, and
    /// a whole sender evicted raises the watermark for everybody.
    #[test]
    fn attack_evicted_replay_is_refused_by_the_watermark() {
        let mut cache = ReplayCache::new(120_000);
        let alice = *Identity::generate().unwrap().public_key();
        let now = 1_000_000;
        let id =
            |n: u64| MessageId::from_16([n.to_be_bytes(), [0; 8]].concat().try_into().unwrap());
        for n in 0..(ReplayCache::PER_SENDER as u64 + 10) {
            assert!(cache.insert(alice, id(n), now + n, now + n));
        }
        // The first ids were evicted; each of them is still refused.
        for n in 0..10 {
            assert!(!cache.insert(alice, id(n), now + n, now + 300));
        }
        assert!(cache.insert(alice, id(999), now + 400, now + 400));
        // Many senders: the quietest is forgotten, and its ids stay refused.
        for _ in 0..ReplayCache::SENDERS {
            let other = *Identity::generate().unwrap().public_key();
            assert!(cache.insert(other, id(1), now + 500, now + 500));
        }
        assert!(!cache.by_sender.contains_key(&alice));
        assert!(!cache.insert(alice, id(5000), now + 400, now + 600));
        let bytes_bound = ReplayCache::SENDERS * ReplayCache::PER_SENDER;
        assert!(cache.by_sender.values().map(|s| s.ids.len()).sum::<usize>() <= bytes_bound);
    }
}

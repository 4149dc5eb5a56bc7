//! Envelopes: how every message travels.
//!
//! ```json
//! {"v":1,"from":"st…","id":"9f2c…-17","ts":1764250000123,"body":{…},"sig":"…"}
//! ```
//!
//! `from` is the sender's public key, `id` unique per sender, `ts` the sender's clock in Unix
//! milliseconds, `body` the message (JSON), `sig` an ed25519 signature over
//! `"safething/v1" 0 key 0 from(32 bytes) id 0 ts(8 bytes, big-endian) body` — the key the
//! message travels on is signed too, so a message cannot be replayed on another key. The body is
//! verified exactly as received (it is kept as raw JSON), so no canonical JSON form is needed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::VerifyingKey;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::identity::{Identity, PublicKey};

/// The envelope format version.
pub const VERSION: u8 = 1;

/// Why a received message was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not an envelope, or a body that is not the expected message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// An envelope version this runtime does not speak.
    #[error("unsupported envelope version {0}")]
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
    /// A message id already seen from this sender.
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

/// The envelope as it appears on the wire, for documentation and its JSON Schema
/// (`schemas/wire/envelope.schema.json`); the runtime reads and writes it without copying the
/// body.
#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Envelope {
    /// Format version, 1.
    pub v: u8,
    /// The sender's public key (`st` + 52 base32 characters).
    pub from: String,
    /// Message id, unique per sender.
    pub id: String,
    /// Sender's clock, Unix milliseconds.
    pub ts: u64,
    /// The message (see the other schemas in `schemas/wire/`).
    pub body: serde_json::Value,
    /// Ed25519 signature, base64url without padding; absent only in unsigned mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

/// An envelope read by serde, in any field order and spacing.
#[derive(Deserialize)]
struct EnvelopeIn<'a> {
    v: u8,
    #[serde(borrow)]
    from: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    ts: u64,
    #[serde(borrow)]
    body: &'a RawValue,
    #[serde(default, borrow)]
    sig: Option<std::borrow::Cow<'a, str>>,
}

/// Signs and wraps outgoing messages for one participant.
#[derive(Debug)]
pub struct Sealer {
    identity: Identity,
    /// The public key as it is printed in every envelope.
    from: String,
    signing: Signing,
    /// 16 lowercase hex digits, random per sealer.
    nonce: [u8; 16],
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
            from: identity.public_key().to_string(),
            identity,
            signing,
            nonce: hex_nonce(nonce),
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

    /// A fresh message id, unique for this sender.
    pub fn next_id(&self) -> String {
        self.fresh_id().as_str().to_owned()
    }

    /// A fresh message id, on the stack (one per message sent).
    fn fresh_id(&self) -> MessageId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = MessageId {
            bytes: [0; MessageId::LONGEST],
            len: 0,
        };
        id.bytes[..16].copy_from_slice(&self.nonce);
        id.bytes[16] = b'-';
        let digits = if n == 0 {
            1
        } else {
            16 - n.leading_zeros() as usize / 4
        };
        for (at, shift) in (17..).zip((0..digits).rev()) {
            id.bytes[at] = HEX[(n >> (4 * shift)) as usize & 0xf];
        }
        id.len = 17 + digits;
        id
    }

    /// Wraps `body` for sending on `key`.
    pub fn seal<T: Serialize + ?Sized>(&self, key: &str, body: &T) -> Result<Bytes, EnvelopeError> {
        self.seal_written(key, now_ms(), |out| serde_json::to_writer(out, body))
    }

    /// Wraps the body `write` writes (as JSON) for sending on `key`, stamped `ts` (Unix
    /// milliseconds: the time of what it reports, read once for both).
    pub(crate) fn seal_written(
        &self,
        key: &str,
        ts: u64,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<Bytes, EnvelopeError> {
        let id = IdText::Ours(self.fresh_id());
        self.seal_with(key, id, ts, |out| {
            write(out).map_err(|e| EnvelopeError::Malformed(e.to_string()))
        })
    }

    /// Wraps an already serialized body with a given message id (a retry resends identical
    /// bytes by sealing once and sending the same [`Bytes`] again).
    pub fn seal_raw(&self, key: &str, body: &RawValue, id: &str) -> Result<Bytes, EnvelopeError> {
        self.seal_with(key, IdText::Given(id), now_ms(), |out| {
            out.extend_from_slice(body.get().as_bytes());
            Ok(())
        })
    }

    /// Writes the envelope in one buffer, the body serialized in place: its bytes are both
    /// what is sent and what is signed.
    fn seal_with(
        &self,
        key: &str,
        id: IdText<'_>,
        ts: u64,
        body: impl FnOnce(&mut Vec<u8>) -> Result<(), EnvelopeError>,
    ) -> Result<Bytes, EnvelopeError> {
        let mut out = Vec::with_capacity(256);
        let malformed = |e: serde_json::Error| EnvelopeError::Malformed(e.to_string());
        out.extend_from_slice(b"{\"v\":");
        serde_json::to_writer(&mut out, &VERSION).map_err(malformed)?;
        out.extend_from_slice(b",\"from\":\"");
        out.extend_from_slice(self.from.as_bytes());
        out.extend_from_slice(b"\",\"id\":");
        let plain = match &id {
            IdText::Ours(_) => true,
            IdText::Given(id) => id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
        };
        let id = id.as_str();
        if plain {
            out.push(b'"');
            out.extend_from_slice(id.as_bytes());
            out.push(b'"');
        } else {
            serde_json::to_writer(&mut out, id).map_err(malformed)?;
        }
        out.extend_from_slice(b",\"ts\":");
        serde_json::to_writer(&mut out, &ts).map_err(malformed)?;
        out.extend_from_slice(b",\"body\":");
        let start = out.len();
        body(&mut out)?;
        if self.signing == Signing::Signed {
            let message = signing_input(key, self.identity.public_key(), id, ts, &out[start..]);
            let sig = BASE64URL_NOPAD.encode(&self.identity.sign(&message));
            out.extend_from_slice(b",\"sig\":\"");
            out.extend_from_slice(sig.as_bytes());
            out.push(b'"');
        }
        out.push(b'}');
        Ok(Bytes::from(out))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_nonce(random: [u8; 8]) -> [u8; 16] {
    let mut nonce = [0; 16];
    for (pair, byte) in nonce.chunks_exact_mut(2).zip(random) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
    nonce
}

/// A message id to write into an envelope.
enum IdText<'a> {
    /// One of ours: hex digits and a dash, nothing to escape or to check.
    Ours(MessageId),
    /// Given by the caller (a retry resends its first id): escaped where it needs to be.
    Given(&'a str),
}

impl IdText<'_> {
    fn as_str(&self) -> &str {
        match self {
            IdText::Ours(id) => id.as_str(),
            IdText::Given(id) => id,
        }
    }
}

/// `<nonce>-<counter in hex>`: 16 hex digits, a dash, 1 to 16 hex digits.
struct MessageId {
    bytes: [u8; MessageId::LONGEST],
    len: usize,
}

impl MessageId {
    const LONGEST: usize = 33;

    fn as_str(&self) -> &str {
        // Hex digits and a dash: always UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

/// An envelope's fields, borrowed from the bytes received.
#[derive(Debug, PartialEq)]
struct Fields<'a> {
    v: u8,
    from: std::borrow::Cow<'a, str>,
    id: std::borrow::Cow<'a, str>,
    ts: u64,
    /// Exactly the bytes the signature covers; parsed (and so checked) by whoever reads it.
    body: &'a str,
    sig: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Fields<'a> {
    fn read(bytes: &'a [u8]) -> Result<Fields<'a>, EnvelopeError> {
        match Fields::canonical(bytes) {
            Some(fields) => Ok(fields),
            None => Fields::by_serde(bytes),
        }
    }

    /// Any envelope, in any field order and spacing.
    fn by_serde(bytes: &'a [u8]) -> Result<Fields<'a>, EnvelopeError> {
        let env: EnvelopeIn<'a> = serde_json::from_slice(bytes)
            .map_err(|e| EnvelopeError::Malformed(short(&e.to_string())))?;
        Ok(Fields {
            v: env.v,
            from: env.from,
            id: env.id,
            ts: env.ts,
            body: env.body.get(),
            sig: env.sig,
        })
    }

    /// The envelope exactly as [`Sealer`] writes it, split without a JSON parser — reading the
    /// envelope cost more than anything else in receiving a small unsigned message. Only that
    /// layout is taken (`from` and `id` plain printable ASCII, `ts` a plain integer, no spaces
    /// around the body, `sig` base64url); anything else, valid or not, is left to serde, so both
    /// ways agree on every envelope this one accepts (a test holds them to it).
    fn canonical(bytes: &'a [u8]) -> Option<Fields<'a>> {
        // Printable ASCII but backslashes; folded without a shortcut, so it runs word by word.
        let plain = |s: &str| {
            s.bytes()
                .fold(true, |ok, b| ok & (0x20..0x7f).contains(&b) & (b != b'\\'))
        };
        let text = std::str::from_utf8(bytes).ok()?;
        let rest = text.strip_prefix(r#"{"v":1,"from":""#)?;
        let (from, rest) = rest.split_once('"')?;
        let rest = rest.strip_prefix(r#","id":""#)?;
        let (id, rest) = rest.split_once('"')?;
        if !plain(from) || !plain(id) {
            return None;
        }
        let rest = rest.strip_prefix(r#","ts":"#)?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (ts, rest) = rest.split_at(digits);
        if ts.is_empty() || (ts.len() > 1 && ts.starts_with('0')) {
            return None;
        }
        let ts = ts.parse().ok()?;
        let rest = rest.strip_prefix(r#","body":"#)?.strip_suffix('}')?;
        // A body cannot end in `,"sig":"…"` itself: in JSON, those quotes would close nothing.
        // Searched only where a signature can be: most bodies end in `}`, not in a quote.
        let signature_at = if rest.ends_with('"') {
            rest.rfind(r#","sig":""#)
        } else {
            None
        };
        let (body, sig) = match signature_at {
            Some(at) => {
                let sig = &rest[at + 8..rest.len() - 1];
                let base64url = sig
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !base64url {
                    return None;
                }
                (&rest[..at], Some(std::borrow::Cow::Borrowed(sig)))
            }
            _ => (rest, None),
        };
        let spaced = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        if body.is_empty()
            || body.bytes().next().is_some_and(spaced)
            || body.bytes().last().is_some_and(spaced)
        {
            return None;
        }
        Some(Fields {
            v: 1,
            from: std::borrow::Cow::Borrowed(from),
            id: std::borrow::Cow::Borrowed(id),
            ts,
            body,
            sig,
        })
    }
}

fn signing_input(key: &str, from: &PublicKey, id: &str, ts: u64, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + key.len() + id.len() + body.len());
    m.extend_from_slice(b"safething/v1\0");
    m.extend_from_slice(key.as_bytes());
    m.push(0);
    m.extend_from_slice(from.as_bytes());
    m.extend_from_slice(id.as_bytes());
    m.push(0);
    m.extend_from_slice(&ts.to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// A received, checked message; its id owned (`String`) or, as [`Verifier::open_raw`] gives
/// it, borrowed from the bytes received where it can be.
#[derive(Clone, Debug)]
pub struct Opened<T, Id = String> {
    /// Who sent it (verified when `signed`).
    pub from: PublicKey,
    /// Its id, unique for the sender.
    pub id: Id,
    /// The sender's timestamp, Unix milliseconds.
    pub ts: u64,
    /// Whether a valid signature covered it.
    pub signed: bool,
    /// The message.
    pub body: T,
}

impl<T, Id> Opened<T, Id> {
    /// The same message with its body decoded further (decrypted, or read as a typed request).
    pub fn with_body<U>(self, body: U) -> Opened<U, Id> {
        Opened {
            from: self.from,
            id: self.id,
            ts: self.ts,
            signed: self.signed,
            body,
        }
    }
}

impl<T> Opened<T, std::borrow::Cow<'_, str>> {
    /// The same message, owning its id.
    pub fn into_owned_id(self) -> Opened<T> {
        Opened {
            from: self.from,
            id: self.id.into_owned(),
            ts: self.ts,
            signed: self.signed,
            body: self.body,
        }
    }
}

/// A sender's key with the form envelopes print it in, for [`Verifier::open_raw_from`].
#[derive(Clone, Debug)]
pub(crate) struct KnownSender {
    key: PublicKey,
    /// `None` only if the key were not a curve point (keys are checked when made).
    verifying: Option<VerifyingKey>,
    printed: Box<str>,
}

impl KnownSender {
    pub(crate) fn new(key: PublicKey) -> KnownSender {
        KnownSender {
            printed: key.to_string().into(),
            verifying: key.verifying_key(),
            key,
        }
    }
}

/// Checks received envelopes: signature, freshness, and (for requests) replays.
#[derive(Debug)]
pub struct Verifier {
    signing: Signing,
    window_ms: u64,
    seen: Mutex<ReplayCache>,
    keys: RwLock<KeyCache>,
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
        }
    }

    /// Opens a message received on `key`: envelope, signature, freshness, then body.
    pub fn open<T: DeserializeOwned>(
        &self,
        key: &str,
        bytes: &[u8],
    ) -> Result<Opened<T>, EnvelopeError> {
        let opened = self.open_raw(key, bytes)?;
        let body = serde_json::from_str(opened.body)
            .map_err(|e| EnvelopeError::Malformed(short(&e.to_string())))?;
        Ok(opened.with_body(body).into_owned_id())
    }

    /// Like [`open`](Self::open), the body left as received (borrowed from `bytes`, not yet
    /// checked to be JSON), for callers that decrypt or decode it further: it is read once,
    /// not copied. The id is borrowed too, as most messages never need it.
    pub fn open_raw<'a>(
        &self,
        key: &str,
        bytes: &'a [u8],
    ) -> Result<Opened<&'a str, std::borrow::Cow<'a, str>>, EnvelopeError> {
        self.open_raw_from(key, bytes, None)
    }

    /// Like [`open_raw`](Self::open_raw), for a message that should come from `sender`: when
    /// it does, its key is taken from there instead of being looked up (a stream of one
    /// thing's messages, where the lookup was a cost per message).
    pub(crate) fn open_raw_from<'a>(
        &self,
        key: &str,
        bytes: &'a [u8],
        sender: Option<&KnownSender>,
    ) -> Result<Opened<&'a str, std::borrow::Cow<'a, str>>, EnvelopeError> {
        let env = Fields::read(bytes)?;
        if env.v != VERSION {
            return Err(EnvelopeError::Version(env.v));
        }
        let known = sender.filter(|s| *s.printed == *env.from);
        let (from, signed) = self.with_key(&env.from, known, |from, verifying| {
            let Some(sig) = &env.sig else {
                return match self.signing {
                    Signing::Signed => Err(EnvelopeError::Unsigned),
                    Signing::Unsigned => Ok((*from, false)),
                };
            };
            let sig = BASE64URL_NOPAD
                .decode(sig.as_bytes())
                .map_err(|_| EnvelopeError::BadSignature)?;
            let sig: [u8; 64] = sig.try_into().map_err(|_| EnvelopeError::BadSignature)?;
            let message = signing_input(key, from, &env.id, env.ts, env.body.as_bytes());
            let signature = ed25519_dalek::Signature::from_bytes(&sig);
            if verifying.verify_strict(&message, &signature).is_err() {
                return Err(EnvelopeError::BadSignature);
            }
            Ok((*from, true))
        })??;
        let skew_ms = coarse_now_ms().abs_diff(env.ts);
        if skew_ms > self.window_ms {
            return Err(EnvelopeError::Stale {
                skew_ms,
                window_ms: self.window_ms,
            });
        }
        Ok(Opened {
            from,
            id: env.id,
            ts: env.ts,
            signed,
            body: env.body,
        })
    }

    /// Calls `use_key` with the sender's key, decoded once per sender: decoding checks that
    /// the key is a curve point, which costs more than everything else in opening an unsigned
    /// message. The decoded key is lent, not copied (it is about 200 bytes).
    fn with_key<R>(
        &self,
        printed: &str,
        known: Option<&KnownSender>,
        use_key: impl FnOnce(&PublicKey, &VerifyingKey) -> R,
    ) -> Result<R, EnvelopeError> {
        if let Some(KnownSender {
            key,
            verifying: Some(verifying),
            ..
        }) = known
        {
            return Ok(use_key(key, verifying));
        }
        if let Some((public, verifying)) = read(&self.keys).map.get(printed) {
            return Ok(use_key(public, verifying));
        }
        let (public, verifying) = PublicKey::decode(printed)
            .map_err(|e| EnvelopeError::Malformed(short(&e.to_string())))?;
        let result = use_key(&public, &verifying);
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        if keys.map.len() >= KeyCache::CAPACITY {
            // Many senders: start over rather than grow without bound.
            keys.map.clear();
        }
        keys.map.insert(printed.to_owned(), (public, verifying));
        Ok(result)
    }

    /// Records a message id; `Err(Replayed)` when this sender already used it within the window.
    pub fn check_replay<T>(&self, opened: &Opened<T>) -> Result<(), EnvelopeError> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.insert(opened.from, &opened.id, opened.ts, coarse_now_ms()) {
            Ok(())
        } else {
            Err(EnvelopeError::Replayed)
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

/// Decoded keys by their printed form.
#[derive(Debug, Default)]
struct KeyCache {
    map: foldhash::HashMap<String, (PublicKey, VerifyingKey)>,
}

impl KeyCache {
    const CAPACITY: usize = 4096;
}

fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Ids seen recently, per sender. Entries older than the window are forgotten (a message that
/// old is rejected as stale anyway), which bounds the memory to the traffic of one window.
#[derive(Debug)]
struct ReplayCache {
    window_ms: u64,
    by_sender: foldhash::HashMap<PublicKey, foldhash::HashMap<String, u64>>,
    order: VecDeque<(u64, PublicKey, String)>,
}

impl ReplayCache {
    /// Hard cap on remembered ids, against floods of distinct ids inside one window.
    const MAX_ENTRIES: usize = 1 << 20;

    fn new(window_ms: u64) -> ReplayCache {
        ReplayCache {
            window_ms,
            by_sender: foldhash::HashMap::default(),
            order: VecDeque::new(),
        }
    }

    fn insert(&mut self, from: PublicKey, id: &str, ts: u64, now: u64) -> bool {
        while let Some((seen_at, sender, old)) = self.order.front() {
            if now.saturating_sub(*seen_at) <= self.window_ms.saturating_mul(2)
                && self.order.len() < Self::MAX_ENTRIES
            {
                break;
            }
            if let Some(ids) = self.by_sender.get_mut(sender) {
                ids.remove(old);
                if ids.is_empty() {
                    self.by_sender.remove(sender);
                }
            }
            self.order.pop_front();
        }
        let ids = self.by_sender.entry(from).or_default();
        if ids.contains_key(id) {
            return false;
        }
        ids.insert(id.to_owned(), ts);
        self.order.push_back((now, from, id.to_owned()));
        true
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

    #[test]
    fn round_trip_signed() {
        let (s, v) = pair(Signing::Signed);
        let bytes = s.seal("a/b", &json!({"x": 1})).unwrap();
        let opened: Opened<Value> = v.open("a/b", &bytes).unwrap();
        assert_eq!(opened.body, json!({"x": 1}));
        assert!(opened.signed);
        assert_eq!(&opened.from, s.identity().public_key());
    }

    #[test]
    fn envelopes_are_plain_json_with_every_field() {
        for signing in [Signing::Signed, Signing::Unsigned] {
            let (s, v) = pair(signing);
            let raw = serde_json::value::to_raw_value(&json!({"a": [1, "two"]})).unwrap();
            let bytes = s.seal_raw("a/b", &raw, "odd \"id\"\n").unwrap();
            let parsed: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(parsed["v"], json!(VERSION));
            assert_eq!(parsed["from"], json!(s.identity().public_key().to_string()));
            assert_eq!(parsed["id"], json!("odd \"id\"\n"));
            assert!(parsed["ts"].as_u64().is_some_and(|ts| ts > 0));
            assert_eq!(parsed["body"], json!({"a": [1, "two"]}));
            assert_eq!(parsed.get("sig").is_some(), signing == Signing::Signed);
            let opened: Opened<Value> = v.open("a/b", &bytes).unwrap();
            assert_eq!(opened.id, "odd \"id\"\n");
        }
    }

    #[test]
    fn ids_are_the_nonce_and_a_hex_counter() {
        let (s, _) = pair(Signing::Unsigned);
        let ids: Vec<String> = (0..18).map(|_| s.next_id()).collect();
        let (nonce, first) = ids[0].split_once('-').unwrap();
        assert_eq!((nonce.len(), first), (16, "0"));
        assert_eq!(ids[10].split_once('-').unwrap().1, "a");
        assert_eq!(ids[17].split_once('-').unwrap().1, "11");
        let big = Sealer {
            counter: AtomicU64::new(u64::MAX),
            ..Sealer::new(Identity::generate().unwrap(), Signing::Unsigned)
        };
        assert_eq!(big.next_id().split_once('-').unwrap().1, "ffffffffffffffff");
    }

    #[test]
    fn signature_binds_key_and_body() {
        let (s, v) = pair(Signing::Signed);
        let bytes = s.seal("a/b", &json!({"x": 1})).unwrap();
        assert_eq!(
            v.open::<Value>("a/c", &bytes).unwrap_err(),
            EnvelopeError::BadSignature
        );
        let tampered = String::from_utf8(bytes.to_vec())
            .unwrap()
            .replace("\"x\":1", "\"x\":2");
        assert_eq!(
            v.open::<Value>("a/b", tampered.as_bytes()).unwrap_err(),
            EnvelopeError::BadSignature
        );
    }

    /// A message opened with its sender's key at hand is checked exactly as one whose key is
    /// looked up; a message from anyone else is checked with its own key.
    #[test]
    fn a_known_senders_key_is_used_as_a_looked_up_one_would_be() {
        let (s, v) = pair(Signing::Signed);
        let sender = KnownSender::new(*s.identity().public_key());
        let bytes = s.seal("a/b", &json!({"x": 1})).unwrap();
        let known = v.open_raw_from("a/b", &bytes, Some(&sender)).unwrap();
        let looked_up = v.open_raw("a/b", &bytes).unwrap();
        assert_eq!((known.from, known.signed), (looked_up.from, true));
        assert_eq!(
            v.open_raw_from("a/c", &bytes, Some(&sender)).unwrap_err(),
            EnvelopeError::BadSignature
        );
        let tampered = String::from_utf8(bytes.to_vec())
            .unwrap()
            .replace("\"x\":1", "\"x\":2");
        assert_eq!(
            v.open_raw_from("a/b", tampered.as_bytes(), Some(&sender))
                .unwrap_err(),
            EnvelopeError::BadSignature
        );
        let (other, _) = pair(Signing::Signed);
        let bytes = other.seal("a/b", &json!(2)).unwrap();
        let opened = v.open_raw_from("a/b", &bytes, Some(&sender)).unwrap();
        assert_eq!(&opened.from, other.identity().public_key());
        assert!(opened.signed);
    }

    #[test]
    fn unsigned_rejected_by_signed_receivers() {
        let (s, _) = pair(Signing::Unsigned);
        let bytes = s.seal("a/b", &json!(1)).unwrap();
        assert_eq!(
            Verifier::new(Signing::Signed)
                .open::<Value>("a/b", &bytes)
                .unwrap_err(),
            EnvelopeError::Unsigned
        );
        assert!(
            Verifier::new(Signing::Unsigned)
                .open::<Value>("a/b", &bytes)
                .is_ok()
        );
    }

    #[test]
    fn replays_and_garbage() {
        let (s, v) = pair(Signing::Signed);
        let bytes = s.seal("a/b", &json!(1)).unwrap();
        let opened: Opened<Value> = v.open("a/b", &bytes).unwrap();
        assert!(v.check_replay(&opened).is_ok());
        assert_eq!(
            v.check_replay(&opened).unwrap_err(),
            EnvelopeError::Replayed
        );
        for garbage in [&b""[..], b"{", b"null", b"{\"v\":1}", &[0xff, 0xfe]] {
            assert!(matches!(
                v.open::<Value>("a/b", garbage),
                Err(EnvelopeError::Malformed(_))
            ));
        }
    }

    fn by_serde(bytes: &[u8]) -> Option<Fields<'_>> {
        Fields::by_serde(bytes).ok()
    }

    #[test]
    fn sealed_envelopes_are_read_without_serde_and_alike() {
        let bodies = [
            json!(null),
            json!(12345),
            json!("a string with \"quotes\", commas and \"sig\":\"x\""),
            json!({"sig": "abc"}),
            json!({"data": {"sig": "abc", "x": [1, ",\"sig\":\""]}, "seq": 1}),
            json!(["sig", {"sig": "z"}]),
        ];
        for signing in [Signing::Signed, Signing::Unsigned] {
            let (s, v) = pair(signing);
            for body in &bodies {
                let bytes = s.seal("a/b", body).unwrap();
                let fast = Fields::canonical(&bytes).expect("the sealer's layout");
                assert_eq!(Some(&fast), by_serde(&bytes).as_ref(), "{body}");
                let opened: Opened<Value> = v.open("a/b", &bytes).unwrap();
                assert_eq!(&opened.body, body);
            }
        }
    }

    /// Whatever the bytes, an envelope read without serde is read the same by serde; the only
    /// leeway is a body that is not JSON, which its reader rejects.
    #[test]
    fn mangled_envelopes_never_read_differently() {
        let mut mangler = crate::mangle::Mangler::new(
            0x9e37_79b9_7f4a_7c15,
            b"\"\\,:{}[] 0123456789abcsigfromidtsbody-_\n\x01\xc3",
        );
        let mut taken = 0;
        for signing in [Signing::Signed, Signing::Unsigned] {
            let (s, _) = pair(signing);
            for i in 0..40 {
                let body = json!({"data": i, "note": "sig", "list": [i, "x"]});
                let sealed = s.seal("a/b", &body).unwrap();
                for _ in 0..500 {
                    let bytes = mangler.mangle(&sealed);
                    let Some(fast) = Fields::canonical(&bytes) else {
                        continue;
                    };
                    if serde_json::from_str::<Value>(fast.body).is_err() {
                        continue;
                    }
                    taken += 1;
                    assert_eq!(
                        Some(&fast),
                        by_serde(&bytes).as_ref(),
                        "{}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
            }
        }
        // The mutations leave many envelopes in the sealer's layout, so the check bites.
        assert!(taken > 1000, "only {taken} mangled envelopes were compared");
    }

    #[test]
    fn envelopes_in_another_layout_are_read_by_serde() {
        let (s, v) = pair(Signing::Unsigned);
        let sealed = s.seal("a/b", &json!({"x": 1})).unwrap();
        let value: Value = serde_json::from_slice(&sealed).unwrap();
        // Other field order and spacing, as another implementation may write them.
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        assert!(Fields::canonical(&pretty).is_none());
        let opened: Opened<Value> = v.open("a/b", &pretty).unwrap();
        assert_eq!(opened.body, json!({"x": 1}));
        // Escapes in the id are read by serde, and mean the same.
        let escaped = String::from_utf8(sealed.to_vec()).unwrap().replacen(
            "\"id\":\"",
            "\"id\":\"\\u0041",
            1,
        );
        assert!(Fields::canonical(escaped.as_bytes()).is_none());
        let opened: Opened<Value> = v.open("a/b", escaped.as_bytes()).unwrap();
        assert!(opened.id.starts_with('A'));
    }

    #[test]
    fn stale_messages_are_rejected() {
        let s = Sealer::new(Identity::generate().unwrap(), Signing::Signed);
        let v = Verifier::with_window(Signing::Signed, Duration::from_millis(0));
        let bytes = s.seal("a/b", &json!(1)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(
            v.open::<Value>("a/b", &bytes),
            Err(EnvelopeError::Stale { .. })
        ));
    }
}

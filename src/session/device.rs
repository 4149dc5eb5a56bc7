//! The device's sessions: a table bounded per sender and overall, handshakes rate-limited per
//! sender and overall (like claims, `src/device/claims.rs`), sessions that expire by time and
//! by message count, dropped on revoke and transfer, and gone with a restart (nothing is
//! persisted; the boot epoch is part of the handshake).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use x25519_dalek::StaticSecret;

use crate::frame::EPOCH_LEN;
use crate::identity::{Identity, PublicKey};
use crate::transport::{Replier, TransportError};

use super::{Direction, Hello, ReplayWindow, SID_LEN, SessionError, UnknownSession};

/// Sessions one sender may hold at once; a new one replaces its least recently used.
pub const PER_SENDER: usize = 4;
/// Sessions the device holds at once; a new one replaces the least recently used.
pub const CAPACITY: usize = 1024;
/// Handshakes one sender may make per [`RATE_WINDOW`].
pub const SENDER_HANDSHAKES: usize = 10;
/// Signatures (handshakes and unknown-session answers) the device makes per [`RATE_WINDOW`],
/// all senders together, by default ([`SessionLimits::signatures`]): what a flood can cost it
/// at most.
pub const GLOBAL_SIGNATURES: usize = 200;
/// The window the rate limits count in.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);
/// Senders whose handshakes are counted at once (the oldest is forgotten first: the global
/// limit, not this table, is what bounds a crowd).
const LIMITED_SENDERS: usize = 1024;

/// How long a session lives and how much it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// The session's lifetime.
    pub lifetime: Duration,
    /// Frames each direction may carry.
    pub max_messages: u32,
    /// Signatures (handshakes, unknown-session answers) per [`RATE_WINDOW`], all senders
    /// together; hellos beyond it are refused before their signature is checked.
    pub signatures: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            lifetime: Duration::from_secs(3600),
            max_messages: 1 << 24,
            signatures: GLOBAL_SIGNATURES,
        }
    }
}

/// One session, as the device holds it.
pub(crate) struct DeviceSession {
    pub(crate) sid: [u8; SID_LEN],
    /// The client the handshake authenticated.
    pub(crate) peer: PublicKey,
    client_epk: [u8; 32],
    c2d: Direction,
    d2c: Direction,
    created: Instant,
    expires: Instant,
    max_messages: u64,
    recv: Mutex<ReplayWindow>,
    sent: AtomicU64,
    /// Milliseconds since the table started, at the last use (least recently used goes first).
    last_used: AtomicU64,
}

impl DeviceSession {
    /// Seals an unsigned v2 frame (a reply or state) for the client.
    pub(crate) fn seal(&self, key: &str, plain: &[u8]) -> Result<Vec<u8>, SessionError> {
        let ctr = self.sent.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        if ctr > self.max_messages {
            return Err(SessionError::Unknown);
        }
        self.d2c.seal(key, &self.sid, ctr, plain)
    }
}

/// Why a sealed frame was not opened.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The session is not (or no longer) held: answer with a signed unknown-session frame.
    Unknown([u8; SID_LEN], u64),
    /// Anything else: dropped unanswered (and counted).
    Dropped(SessionError),
}

/// Handshakes seen lately, for the rate limits.
#[derive(Default)]
struct Limiter {
    senders: HashMap<PublicKey, VecDeque<Instant>>,
    signatures: VecDeque<Instant>,
    budget: usize,
}

impl Limiter {
    fn forget_before(&mut self, now: Instant) {
        let old = |t: &Instant| now.saturating_duration_since(*t) >= RATE_WINDOW;
        while self.signatures.front().is_some_and(old) {
            self.signatures.pop_front();
        }
        self.senders.retain(|_, times| {
            while times.front().is_some_and(old) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }

    /// Takes one signature from the global budget.
    fn signature(&mut self, now: Instant) -> bool {
        if self.signatures.len() >= self.budget {
            let expired = self
                .signatures
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= RATE_WINDOW);
            if !expired {
                return false;
            }
            self.signatures.pop_front();
        }
        self.signatures.push_back(now);
        true
    }

    /// Whether `from` may make a handshake now (and counts it).
    fn handshake(&mut self, from: &PublicKey, now: Instant) -> bool {
        if self.senders.len() >= LIMITED_SENDERS && !self.senders.contains_key(from) {
            self.forget_before(now);
            if self.senders.len() >= LIMITED_SENDERS
                && let Some(oldest) = self
                    .senders
                    .iter()
                    .min_by_key(|(_, t)| t.back().copied())
                    .map(|(k, _)| *k)
            {
                self.senders.remove(&oldest);
            }
        }
        let times = self.senders.entry(*from).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= RATE_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= SENDER_HANDSHAKES {
            return false;
        }
        if !self.signature(now) {
            return false;
        }
        if let Some(times) = self.senders.get_mut(from) {
            times.push_back(now);
        }
        true
    }
}

#[derive(Default)]
struct Table {
    by_sid: HashMap<[u8; SID_LEN], Arc<DeviceSession>>,
    limiter: Limiter,
}

/// The device's sessions.
pub(crate) struct Sessions {
    table: Mutex<Table>,
    limits: SessionLimits,
    window_ms: u64,
    started: Instant,
    /// Handshakes answered (welcomes signed), for tests and stats.
    pub(crate) handshakes: AtomicU64,
}

impl Sessions {
    pub(crate) fn new(limits: SessionLimits, window: Duration) -> Sessions {
        let mut table = Table::default();
        table.limiter.budget = limits.signatures;
        Sessions {
            table: Mutex::new(table),
            limits,
            window_ms: u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
            started: Instant::now(),
            handshakes: AtomicU64::new(0),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stamp(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.started).as_millis()).unwrap_or(u64::MAX)
    }

    /// How many sessions are held.
    pub(crate) fn len(&self) -> usize {
        self.table().by_sid.len()
    }

    /// Answers a hello on `key`: a signed welcome, or a refusal (unsigned: the client then
    /// sends signed v2 requests). Cheap checks and the rate limits come before the signature
    /// check, so a flood costs at most [`GLOBAL_SIGNATURES`] verifications and signatures per
    /// window.
    pub(crate) fn on_hello(
        &self,
        device: &Identity,
        boot: [u8; EPOCH_LEN],
        key: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, SessionError> {
        let hello = Hello::parse(payload)?;
        if hello.thing != *device.public_key().as_bytes() {
            return Err(SessionError::WrongThing);
        }
        if crate::envelope::now_ms().abs_diff(hello.ts) > self.window_ms {
            return Err(SessionError::Stale);
        }
        let claimed = PublicKey::from_bytes(hello.client).ok_or(SessionError::BadSignature)?;
        let now = Instant::now();
        {
            let mut table = self.table();
            if !table.limiter.handshake(&claimed, now) {
                return Err(SessionError::Unknown);
            }
            // A hello replayed within the window names an ephemeral key in use: refused, so a
            // replay cannot push the client's own session out.
            if table
                .by_sid
                .values()
                .any(|s| s.peer == claimed && s.client_epk == hello.epk)
            {
                return Err(SessionError::Replayed);
            }
        }
        let peer = hello.check(key)?;
        let mut sid = [0u8; SID_LEN];
        let mut eph = [0u8; 32];
        getrandom::fill(&mut sid).map_err(|_| SessionError::KeyAgreement)?;
        getrandom::fill(&mut eph).map_err(|_| SessionError::KeyAgreement)?;
        let lifetime_ms = u32::try_from(self.limits.lifetime.as_millis()).unwrap_or(u32::MAX);
        let (welcome, keys) = super::respond(
            device,
            key,
            payload,
            &hello,
            sid,
            &StaticSecret::from(eph),
            boot,
            crate::envelope::now_ms(),
            lifetime_ms,
            self.limits.max_messages,
        )?;
        let session = Arc::new(DeviceSession {
            sid,
            peer,
            client_epk: hello.epk,
            c2d: Direction::new(&keys.c2d),
            d2c: Direction::new(&keys.d2c),
            created: now,
            expires: now + self.limits.lifetime,
            max_messages: u64::from(self.limits.max_messages),
            recv: Mutex::new(ReplayWindow::default()),
            sent: AtomicU64::new(0),
            last_used: AtomicU64::new(self.stamp(now)),
        });
        self.insert(session);
        self.handshakes.fetch_add(1, Ordering::Relaxed);
        Ok(welcome.to_bytes())
    }

    /// Adds a session, making room per sender and overall (least recently used first).
    fn insert(&self, session: Arc<DeviceSession>) {
        let mut table = self.table();
        let now = Instant::now();
        table.by_sid.retain(|_, s| s.expires > now);
        let lru = |table: &Table, of: Option<&PublicKey>| {
            table
                .by_sid
                .values()
                .filter(|s| of.is_none_or(|p| s.peer == *p))
                .min_by_key(|s| (s.last_used.load(Ordering::Relaxed), s.created))
                .map(|s| s.sid)
        };
        let theirs = table
            .by_sid
            .values()
            .filter(|s| s.peer == session.peer)
            .count();
        if theirs >= PER_SENDER
            && let Some(sid) = lru(&table, Some(&session.peer))
        {
            table.by_sid.remove(&sid);
        }
        if table.by_sid.len() >= CAPACITY
            && let Some(sid) = lru(&table, None)
        {
            table.by_sid.remove(&sid);
        }
        table.by_sid.insert(session.sid, session);
    }

    /// Opens a sealed request frame on `key`: the session, and the v2 frame it carried.
    pub(crate) fn open(
        &self,
        key: &str,
        payload: &[u8],
    ) -> Result<(Arc<DeviceSession>, Vec<u8>), Refusal> {
        let (sid, ctr) = super::sealed_header(payload).map_err(Refusal::Dropped)?;
        let now = Instant::now();
        let session = {
            let table = self.table();
            table.by_sid.get(&sid).cloned()
        };
        let Some(session) = session else {
            return Err(Refusal::Unknown(sid, ctr));
        };
        // Worn out either way: the client's frames, or ours (a request may have many replies).
        let margin = (session.max_messages / 4).min(1024);
        let worn =
            session.sent.load(Ordering::Relaxed).saturating_add(margin) >= session.max_messages;
        if session.expires <= now || ctr > session.max_messages || worn {
            self.table().by_sid.remove(&sid);
            return Err(Refusal::Unknown(sid, ctr));
        }
        let plain = session
            .c2d
            .open(key, payload, ctr)
            .map_err(Refusal::Dropped)?;
        // The window moves only for frames that decrypt: nobody without the key moves it.
        let fresh = session
            .recv
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .accept(ctr);
        if !fresh {
            return Err(Refusal::Dropped(SessionError::Replayed));
        }
        session.last_used.store(self.stamp(now), Ordering::Relaxed);
        Ok((session, plain))
    }

    /// The signed unknown-session answer to frame `ctr` of `sid`, when the signature budget
    /// allows (`None` otherwise: the request goes unanswered).
    pub(crate) fn unknown(
        &self,
        device: &Identity,
        key: &str,
        sid: [u8; SID_LEN],
        ctr: u64,
    ) -> Option<Vec<u8>> {
        if !self.table().limiter.signature(Instant::now()) {
            return None;
        }
        UnknownSession::signed(device, key, sid, ctr, crate::envelope::now_ms()).ok()
    }

    /// Drops every session of `peer` (revoked: its session keys are useless at once).
    pub(crate) fn drop_peer(&self, peer: &PublicKey) {
        self.table().by_sid.retain(|_, s| s.peer != *peer);
    }

    /// Drops every session (owner or group changed hands).
    pub(crate) fn clear(&self) {
        self.table().by_sid.clear();
    }
}

/// The replier of a request that came sealed in a session: seals each reply (an unsigned v2
/// frame) for the client under the session's device → client key.
pub(crate) struct SessionReplier {
    pub(crate) session: Arc<DeviceSession>,
    pub(crate) inner: Box<dyn Replier>,
}

impl Replier for SessionReplier {
    fn reply(&self, key: &str, payload: Bytes) -> Result<(), TransportError> {
        match self.session.seal(key, &payload) {
            Ok(sealed) => self.inner.reply(key, Bytes::from(sealed)),
            Err(e) => {
                tracing::debug!(error = %e, "could not seal a session reply");
                Ok(())
            }
        }
    }

    fn reply_err(&self, payload: Bytes) -> Result<(), TransportError> {
        self.inner.reply_err(payload)
    }

    fn session_peer(&self) -> Option<PublicKey> {
        Some(self.session.peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(client: &Identity, device: &Identity, key: &str) -> Vec<u8> {
        let mut eph = [0u8; 32];
        getrandom::fill(&mut eph).unwrap();
        Hello::new(
            client,
            device.public_key(),
            key,
            crate::envelope::now_ms(),
            &StaticSecret::from(eph),
        )
        .unwrap()
        .to_bytes()
    }

    #[test]
    fn a_sender_holds_a_bounded_number_of_sessions() {
        let device = Identity::generate().unwrap();
        let client = Identity::generate().unwrap();
        let s = Sessions::new(SessionLimits::default(), Duration::from_secs(120));
        for _ in 0..SENDER_HANDSHAKES {
            s.on_hello(&device, [0; 16], "k", &hello(&client, &device, "k"))
                .unwrap();
        }
        assert_eq!(s.len(), PER_SENDER);
        // Over the sender's rate: refused, and no signature made.
        assert!(
            s.on_hello(&device, [0; 16], "k", &hello(&client, &device, "k"))
                .is_err()
        );
        assert_eq!(
            s.handshakes.load(Ordering::Relaxed),
            SENDER_HANDSHAKES as u64
        );
    }

    /// A session is dropped when either direction wears out: many replies to few requests
    /// end it as surely as many requests, and the client is told so (and renews).
    #[test]
    fn a_session_worn_out_by_its_replies_is_unknown() {
        let device = Identity::generate().unwrap();
        let client = Identity::generate().unwrap();
        let limits = SessionLimits {
            max_messages: 8,
            ..SessionLimits::default()
        };
        let s = Sessions::new(limits, Duration::from_secs(120));
        let eph = StaticSecret::from([7u8; 32]);
        let hello = Hello::new(
            &client,
            device.public_key(),
            "k",
            crate::envelope::now_ms(),
            &eph,
        )
        .unwrap()
        .to_bytes();
        let welcome = s.on_hello(&device, [0; 16], "k", &hello).unwrap();
        let (w, keys) =
            super::super::accept(device.public_key(), "k", &hello, &eph, &welcome).unwrap();
        let c2d = Direction::new(&keys.c2d);
        let frame = |ctr| c2d.seal("a", &w.sid, ctr, b"x").unwrap();
        let (session, plain) = s.open("a", &frame(1)).ok().unwrap();
        assert_eq!(plain, b"x");
        assert!(matches!(
            s.open("a", &frame(1)),
            Err(Refusal::Dropped(SessionError::Replayed))
        ));
        for _ in 0..6 {
            session.seal("a", b"reply").unwrap();
        }
        assert!(matches!(s.open("a", &frame(2)), Err(Refusal::Unknown(..))));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn a_replayed_hello_is_refused() {
        let device = Identity::generate().unwrap();
        let client = Identity::generate().unwrap();
        let s = Sessions::new(SessionLimits::default(), Duration::from_secs(120));
        let h = hello(&client, &device, "k");
        s.on_hello(&device, [0; 16], "k", &h).unwrap();
        assert_eq!(
            s.on_hello(&device, [0; 16], "k", &h),
            Err(SessionError::Replayed)
        );
        assert_eq!(s.len(), 1);
        // Another thing's hello, or one on another key, is refused too.
        let other = Identity::generate().unwrap();
        assert_eq!(
            s.on_hello(&other, [0; 16], "k", &hello(&client, &device, "k")),
            Err(SessionError::WrongThing)
        );
        assert_eq!(
            s.on_hello(&device, [0; 16], "k2", &hello(&client, &device, "k")),
            Err(SessionError::BadSignature)
        );
    }
}

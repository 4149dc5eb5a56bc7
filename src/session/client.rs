//! The client's side: the handshake, and the session it yields (sealing requests, opening
//! replies and states).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use x25519_dalek::StaticSecret;

use crate::frame::EPOCH_LEN;
use crate::identity::{Identity, PublicKey};
use crate::transport::{Reply, Transport};

use super::{Direction, Hello, ReplayWindow, SID_LEN, SessionError};

/// A session as the client holds it.
pub struct ClientSession {
    sid: [u8; SID_LEN],
    /// The thing's pinned key.
    thing: PublicKey,
    c2d: Direction,
    d2c: Direction,
    /// The device's boot epoch when the session was made: every request names it.
    pub(crate) boot: [u8; EPOCH_LEN],
    /// When to stop using it (a little before the device forgets it).
    renew_at: Instant,
    max_messages: u64,
    sent: AtomicU64,
    recv: Mutex<ReplayWindow>,
}

impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("sid", &data_encoding::HEXLOWER.encode(&self.sid))
            .finish_non_exhaustive()
    }
}

/// What a reply in a session turned out to be.
pub enum Answer {
    /// The v2 frame it carried (unsigned; the session authenticated it).
    Frame(Vec<u8>),
    /// The device's signed word that it does not hold this session (for our frame `ctr`).
    Unknown(u64),
}

impl ClientSession {
    /// The device's boot epoch when the session was made (requests in it name it).
    pub fn boot(&self) -> [u8; EPOCH_LEN] {
        self.boot
    }

    /// Whether it may still be used (the device keeps it, and counters remain).
    pub fn usable(&self) -> bool {
        Instant::now() < self.renew_at
            && self.sent.load(Ordering::Relaxed) < self.max_messages.saturating_sub(1024)
    }

    /// Seals an unsigned v2 request frame on `key`; returns the frame and its counter.
    pub fn seal(&self, key: &str, plain: &[u8]) -> Result<(Bytes, u64), SessionError> {
        let ctr = self.sent.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        let sealed = self.c2d.seal(key, &self.sid, ctr, plain)?;
        Ok((Bytes::from(sealed), ctr))
    }

    /// Opens a reply received on `key` (the key the request was sent on) for one of our
    /// frames: a sealed frame of this session, or the device's signed unknown-session answer.
    pub fn open(&self, key: &str, payload: &[u8]) -> Result<Answer, SessionError> {
        if super::frame_type(payload) == Some(super::UNKNOWN) {
            let unknown = super::UnknownSession::check(&self.thing, key, payload)?;
            if unknown.sid != self.sid {
                return Err(SessionError::Malformed("an answer about another session"));
            }
            return Ok(Answer::Unknown(unknown.ctr));
        }
        let (sid, ctr) = super::sealed_header(payload)?;
        if sid != self.sid {
            return Err(SessionError::Unknown);
        }
        let plain = self.d2c.open(key, payload, ctr)?;
        let fresh = self
            .recv
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .accept(ctr);
        if !fresh {
            return Err(SessionError::Replayed);
        }
        Ok(Answer::Frame(plain))
    }
}

/// Why no session was made (the request then goes as a signed v2 request).
#[derive(Debug, thiserror::Error)]
pub enum HandshakeFailed {
    /// The device refused (busy, or it does not take this hello).
    #[error("the device refused a session")]
    Refused,
    /// No valid welcome came.
    #[error("no valid answer to the handshake: {0}")]
    NoAnswer(String),
}

/// Makes a session with the thing (its pinned key `thing_key`; `key` is
/// [`super::key`] of its id) `thing_key` through `transport` (the handshake on `key`).
pub async fn handshake(
    transport: &dyn Transport,
    me: &Identity,
    thing_key: &PublicKey,
    key: &str,
    timeout: Duration,
) -> Result<ClientSession, HandshakeFailed> {
    let fail = |e: &dyn std::fmt::Display| HandshakeFailed::NoAnswer(e.to_string());
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| fail(&e))?;
    let eph = StaticSecret::from(secret);
    let hello = Hello::new(me, thing_key, key, crate::envelope::now_ms(), &eph)
        .map_err(|e| fail(&e))?
        .to_bytes();
    let started = Instant::now();
    let mut replies = transport
        .query(key, Some(Bytes::from(hello.clone())), timeout)
        .await
        .map_err(|e| fail(&e))?;
    let mut last = String::from("no answer");
    let mut refused = false;
    while let Some(reply) = replies.recv().await {
        let Reply::Ok(sample) = reply else { continue };
        if super::frame_type(&sample.payload) == Some(super::REFUSED) {
            // Unsigned: it only ever sends us back to signed requests.
            refused = true;
            continue;
        }
        match super::accept(thing_key, key, &hello, &eph, &sample.payload) {
            Ok((welcome, keys)) => {
                // Renewed a little early, so a request never races the device's expiry.
                let lifetime = Duration::from_millis(u64::from(welcome.lifetime_ms));
                return Ok(ClientSession {
                    sid: welcome.sid,
                    thing: *thing_key,
                    c2d: Direction::new(&keys.c2d),
                    d2c: Direction::new(&keys.d2c),
                    boot: welcome.boot,
                    renew_at: started + lifetime.mul_f64(0.9),
                    max_messages: u64::from(welcome.max_messages),
                    sent: AtomicU64::new(0),
                    recv: Mutex::new(ReplayWindow::default()),
                });
            }
            Err(e) => last = e.to_string(),
        }
    }
    if refused {
        Err(HandshakeFailed::Refused)
    } else {
        Err(HandshakeFailed::NoAnswer(last))
    }
}

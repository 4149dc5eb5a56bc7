//! Sessions for request/reply (`docs/protocol.md` §10): one signed handshake between a client
//! and a thing, then AEAD frames under pairwise, directional keys.
//!
//! Every v2 request costs an ed25519 signature and a verification each way; a session pays them
//! once, in its handshake (X25519 ephemeral keys, each side signing the transcript with its
//! identity key, as Matter's CASE and SIGMA do), and then authenticates each request and reply
//! with AES-256-GCM under keys only the two of them hold. Inside the AEAD travels an ordinary
//! (unsigned) v2 frame, so every binding of protocol v2 stays as it is: the reply names the
//! request id and the requester, requests name the boot epoch, request ids are checked for
//! replays. On top of that each direction has a counter, checked against a sliding window.
//!
//! - [`device`]: the device's bounded, rate-limited session table and the handshake's answer;
//! - [`client`]: the client's side of the handshake and its session.
//!
//! `Client` uses sessions by itself ([`crate::client::ClientConfig::with_sessions`]); the
//! public items here are for tools and tests that speak the protocol by hand.

pub mod client;
pub mod device;
#[cfg(test)]
mod vectors;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey as XPublic, StaticSecret};

use crate::envelope::{Binding, EnvelopeError, Kind, MessageId, Opened};
use crate::frame::{self, EPOCH_LEN, Header, SIGNATURE_LEN};
use crate::identity::{Identity, PublicKey};

/// The frame kind byte of every session frame (handshake, sealed, refusals).
pub const KIND: u8 = 0x06;
/// Session frame type: the client's handshake message.
pub const HELLO: u8 = 0x01;
/// Session frame type: the device's handshake answer.
pub const WELCOME: u8 = 0x02;
/// Session frame type: a request, reply or state sealed under the session keys.
pub const SEALED: u8 = 0x03;
/// Session frame type: the device does not know (or no longer keeps) the session.
pub const UNKNOWN: u8 = 0x04;
/// Session frame type: the device will not open a session now (unsigned: it only ever makes a
/// client use signed v2 requests).
pub const REFUSED: u8 = 0x05;
/// The length of a session id.
pub const SID_LEN: usize = 16;
/// The length of an AEAD tag.
pub const TAG_LEN: usize = 16;
/// The length of a sealed frame's header: `"ST" 02 06 03 sid ctr`.
pub const SEALED_HEADER: usize = 5 + SID_LEN + 8;

const PREFIX_LEN: usize = 5;
const HELLO_SIGNED: usize = PREFIX_LEN + 32 + 32 + 8 + 32;
const HELLO_LEN: usize = HELLO_SIGNED + SIGNATURE_LEN;
const WELCOME_SIGNED: usize = PREFIX_LEN + SID_LEN + 32 + EPOCH_LEN + 8 + 4 + 4;
const WELCOME_LEN: usize = WELCOME_SIGNED + SIGNATURE_LEN;
const UNKNOWN_SIGNED: usize = PREFIX_LEN + SID_LEN + 8 + 8;
const UNKNOWN_LEN: usize = UNKNOWN_SIGNED + SIGNATURE_LEN;

/// How many counters behind the highest one a receiver still accepts (reordering).
pub const WINDOW: u64 = 128;

/// Why a session frame was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Not a session frame of the expected type, or one that breaks the layout.
    #[error("malformed session frame: {0}")]
    Malformed(&'static str),
    /// A handshake signature that does not verify.
    #[error("bad handshake signature")]
    BadSignature,
    /// A handshake addressed to another thing.
    #[error("a handshake for another thing")]
    WrongThing,
    /// A handshake whose timestamp is outside the freshness window.
    #[error("stale handshake")]
    Stale,
    /// A session this side does not hold (never made, expired, dropped, or the device
    /// restarted).
    #[error("unknown or expired session")]
    Unknown,
    /// A frame that does not decrypt under the session's key for its direction.
    #[error("a session frame that does not decrypt")]
    Decrypt,
    /// A counter already seen, or too far behind the window.
    #[error("replayed session counter")]
    Replayed,
    /// The exchange was not contributory, or randomness failed.
    #[error("key agreement failed")]
    KeyAgreement,
}

/// The key expression handshakes are sent on: `safething/v1/<thing-id>/session`.
pub fn key(thing: &safething_ir::ThingId) -> String {
    format!("{}/{thing}/session", crate::keys::ROOT)
}

/// Whether `bytes` is a session frame (of any type): `"ST" 02 06`.
pub fn is_session_frame(bytes: &[u8]) -> bool {
    matches!(bytes, [b'S', b'T', frame::VERSION, KIND, ..])
}

/// The type byte of a session frame (`None`: not a session frame).
pub fn frame_type(bytes: &[u8]) -> Option<u8> {
    if is_session_frame(bytes) {
        bytes.get(4).copied()
    } else {
        None
    }
}

fn prefix(kind: u8) -> [u8; PREFIX_LEN] {
    [b'S', b'T', frame::VERSION, KIND, kind]
}

/// A cursor over a session frame, never past its end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SessionError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(SessionError::Malformed("short frame"))?;
        self.0 = rest;
        Ok(*head)
    }
}

fn expect(bytes: &[u8], kind: u8, len: usize) -> Result<Cursor<'_>, SessionError> {
    if frame_type(bytes) != Some(kind) {
        return Err(SessionError::Malformed("not a session frame of this type"));
    }
    if bytes.len() != len {
        return Err(SessionError::Malformed("wrong length"));
    }
    Ok(Cursor(bytes.get(PREFIX_LEN..).unwrap_or_default()))
}

fn signing_input(key: &str, parts: &[&[u8]]) -> Result<Vec<u8>, SessionError> {
    let joined = parts.concat();
    frame::signing_input(key, &joined).map_err(|_| SessionError::Malformed("key too long"))
}

fn verify(
    signer: &PublicKey,
    key: &str,
    parts: &[&[u8]],
    signature: &[u8; 64],
) -> Result<(), SessionError> {
    let verifying = signer.verifying_key().ok_or(SessionError::BadSignature)?;
    let message = signing_input(key, parts)?;
    let signature = ed25519_dalek::Signature::from_bytes(signature);
    if crate::identity::verify_strict(&verifying, &message, &signature) {
        Ok(())
    } else {
        Err(SessionError::BadSignature)
    }
}

/// The client's handshake message: who it is, which thing it wants, when, and its ephemeral
/// X25519 key, signed with its identity key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The client's ed25519 public key.
    pub client: [u8; 32],
    /// The thing's ed25519 public key (as pinned by the client).
    pub thing: [u8; 32],
    /// The client's clock, Unix milliseconds.
    pub ts: u64,
    /// The client's ephemeral X25519 public key.
    pub epk: [u8; 32],
    /// ed25519 signature of the client over `"safething/v2" 0 lp(key) hello[..signature]`.
    pub signature: [u8; 64],
}

impl Hello {
    fn signed_part(client: &[u8; 32], thing: &[u8; 32], ts: u64, epk: &[u8; 32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HELLO_LEN);
        out.extend_from_slice(&prefix(HELLO));
        out.extend_from_slice(client);
        out.extend_from_slice(thing);
        out.extend_from_slice(&ts.to_be_bytes());
        out.extend_from_slice(epk);
        out
    }

    /// A hello from `me` to `thing` on `key`, with the ephemeral secret `eph`.
    pub(crate) fn new(
        me: &Identity,
        thing: &PublicKey,
        key: &str,
        ts: u64,
        eph: &StaticSecret,
    ) -> Result<Hello, SessionError> {
        let epk = *XPublic::from(eph).as_bytes();
        let client = *me.public_key().as_bytes();
        let signed = Hello::signed_part(&client, thing.as_bytes(), ts, &epk);
        let signature = me.sign(&signing_input(key, &[&signed])?);
        Ok(Hello {
            client,
            thing: *thing.as_bytes(),
            ts,
            epk,
            signature,
        })
    }

    /// The frame bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Hello::signed_part(&self.client, &self.thing, self.ts, &self.epk);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Reads a hello (layout only: [`check`](Self::check) verifies it).
    pub fn parse(bytes: &[u8]) -> Result<Hello, SessionError> {
        let mut c = expect(bytes, HELLO, HELLO_LEN)?;
        Ok(Hello {
            client: c.take()?,
            thing: c.take()?,
            ts: u64::from_be_bytes(c.take()?),
            epk: c.take()?,
            signature: c.take()?,
        })
    }

    /// Verifies the client's signature; returns the client's key.
    pub fn check(&self, key: &str) -> Result<PublicKey, SessionError> {
        let client = PublicKey::from_bytes(self.client).ok_or(SessionError::BadSignature)?;
        let signed = Hello::signed_part(&self.client, &self.thing, self.ts, &self.epk);
        verify(&client, key, &[&signed], &self.signature)?;
        Ok(client)
    }
}

/// The device's handshake answer: the session id, its ephemeral key, its boot epoch, the
/// session's limits, signed over the whole transcript (the hello, then this).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Welcome {
    /// The session id, drawn by the device.
    pub sid: [u8; SID_LEN],
    /// The device's ephemeral X25519 public key.
    pub epk: [u8; 32],
    /// The device's boot epoch (every request in the session names it).
    pub boot: [u8; EPOCH_LEN],
    /// The device's clock, Unix milliseconds.
    pub ts: u64,
    /// How long the device keeps the session, milliseconds.
    pub lifetime_ms: u32,
    /// How many frames each direction may carry.
    pub max_messages: u32,
    /// ed25519 signature of the device over `"safething/v2" 0 lp(key) hello ‖ welcome[..signature]`.
    pub signature: [u8; 64],
}

impl Welcome {
    fn signed_part(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(WELCOME_LEN);
        out.extend_from_slice(&prefix(WELCOME));
        out.extend_from_slice(&self.sid);
        out.extend_from_slice(&self.epk);
        out.extend_from_slice(&self.boot);
        out.extend_from_slice(&self.ts.to_be_bytes());
        out.extend_from_slice(&self.lifetime_ms.to_be_bytes());
        out.extend_from_slice(&self.max_messages.to_be_bytes());
        out
    }

    /// The frame bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.signed_part();
        out.extend_from_slice(&self.signature);
        out
    }

    /// Reads a welcome (layout only).
    pub fn parse(bytes: &[u8]) -> Result<Welcome, SessionError> {
        let mut c = expect(bytes, WELCOME, WELCOME_LEN)?;
        Ok(Welcome {
            sid: c.take()?,
            epk: c.take()?,
            boot: c.take()?,
            ts: u64::from_be_bytes(c.take()?),
            lifetime_ms: u32::from_be_bytes(c.take()?),
            max_messages: u32::from_be_bytes(c.take()?),
            signature: c.take()?,
        })
    }
}

/// The pairwise keys of one session, one per direction.
#[derive(Clone)]
pub(crate) struct Keys {
    /// Client → device.
    pub(crate) c2d: [u8; 32],
    /// Device → client.
    pub(crate) d2c: [u8; 32],
    /// `SHA-256(hello ‖ welcome)` (the known-answer vectors show it).
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the vectors only"))]
    pub(crate) transcript: [u8; 32],
}

/// The session keys: `HKDF-SHA256(salt = "safething/v2", ikm = X25519(e_c, E_d), info =
/// lp("session c2d" | "session d2c") ‖ lp(SHA-256(hello ‖ welcome)))`.
pub(crate) fn derive_keys(
    eph: &StaticSecret,
    their_epk: &[u8; 32],
    hello: &[u8],
    welcome: &[u8],
) -> Result<Keys, SessionError> {
    let shared = eph.diffie_hellman(&XPublic::from(*their_epk));
    if !shared.was_contributory() {
        return Err(SessionError::KeyAgreement);
    }
    let mut h = Sha256::new();
    h.update(hello);
    h.update(welcome);
    let transcript: [u8; 32] = h.finalize().into();
    let hk = hkdf::Hkdf::<Sha256>::new(Some(frame::LABEL), shared.as_bytes());
    let one = |label: &[u8]| {
        let mut info = Vec::with_capacity(label.len() + transcript.len() + 4);
        frame::put_lp(&mut info, label).map_err(|_| SessionError::KeyAgreement)?;
        frame::put_lp(&mut info, &transcript).map_err(|_| SessionError::KeyAgreement)?;
        let mut okm = [0u8; 32];
        hk.expand(&info, &mut okm)
            .map_err(|_| SessionError::KeyAgreement)?;
        Ok::<_, SessionError>(okm)
    };
    Ok(Keys {
        c2d: one(b"session c2d")?,
        d2c: one(b"session d2c")?,
        transcript,
    })
}

/// The device's side of the handshake with given randomness (known-answer tests use fixed
/// ones): the welcome and the keys.
#[allow(clippy::too_many_arguments)]
pub(crate) fn respond(
    device: &Identity,
    key: &str,
    hello_bytes: &[u8],
    hello: &Hello,
    sid: [u8; SID_LEN],
    eph: &StaticSecret,
    boot: [u8; EPOCH_LEN],
    ts: u64,
    lifetime_ms: u32,
    max_messages: u32,
) -> Result<(Welcome, Keys), SessionError> {
    let mut welcome = Welcome {
        sid,
        epk: *XPublic::from(eph).as_bytes(),
        boot,
        ts,
        lifetime_ms,
        max_messages,
        signature: [0; 64],
    };
    welcome.signature = device.sign(&signing_input(key, &[hello_bytes, &welcome.signed_part()])?);
    let keys = derive_keys(eph, &hello.epk, hello_bytes, &welcome.to_bytes())?;
    Ok((welcome, keys))
}

/// The client's side after the welcome: checks the device's signature over the transcript
/// with the thing's pinned key, and derives the keys.
pub(crate) fn accept(
    thing: &PublicKey,
    key: &str,
    hello_bytes: &[u8],
    eph: &StaticSecret,
    welcome_bytes: &[u8],
) -> Result<(Welcome, Keys), SessionError> {
    let welcome = Welcome::parse(welcome_bytes)?;
    verify(
        thing,
        key,
        &[hello_bytes, &welcome.signed_part()],
        &welcome.signature,
    )?;
    let keys = derive_keys(eph, &welcome.epk, hello_bytes, welcome_bytes)?;
    Ok((welcome, keys))
}

/// One direction's AEAD key.
#[derive(Clone)]
pub(crate) struct Direction {
    cipher: Aes256Gcm,
}

impl Direction {
    pub(crate) fn new(key: &[u8; 32]) -> Direction {
        Direction {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)),
        }
    }

    /// Seals `plain` (an unsigned v2 frame) as session `sid`'s frame number `ctr` on `key`:
    /// `"ST" 02 06 03 sid ctr ‖ AES-256-GCM(nonce = 0⁴ ‖ ctr, aad = "safething/v2" 0 lp(key)
    /// header)`.
    pub(crate) fn seal(
        &self,
        key: &str,
        sid: &[u8; SID_LEN],
        ctr: u64,
        plain: &[u8],
    ) -> Result<Vec<u8>, SessionError> {
        let mut out = Vec::with_capacity(SEALED_HEADER + plain.len() + TAG_LEN);
        out.extend_from_slice(&prefix(SEALED));
        out.extend_from_slice(sid);
        out.extend_from_slice(&ctr.to_be_bytes());
        let aad =
            frame::signing_input(key, &out).map_err(|_| SessionError::Malformed("key too long"))?;
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce(ctr)),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .map_err(|_| SessionError::Decrypt)?;
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed frame read with [`sealed_header`].
    pub(crate) fn open(&self, key: &str, bytes: &[u8], ctr: u64) -> Result<Vec<u8>, SessionError> {
        let (header, ct) = bytes
            .split_at_checked(SEALED_HEADER)
            .ok_or(SessionError::Malformed("short frame"))?;
        let aad = frame::signing_input(key, header)
            .map_err(|_| SessionError::Malformed("key too long"))?;
        self.cipher
            .decrypt(&Nonce::from(nonce(ctr)), Payload { msg: ct, aad: &aad })
            .map_err(|_| SessionError::Decrypt)
    }
}

fn nonce(ctr: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&ctr.to_be_bytes());
    n
}

/// A sealed frame's session id and counter.
pub(crate) fn sealed_header(bytes: &[u8]) -> Result<([u8; SID_LEN], u64), SessionError> {
    if frame_type(bytes) != Some(SEALED) {
        return Err(SessionError::Malformed("not a sealed session frame"));
    }
    if bytes.len() < SEALED_HEADER + TAG_LEN {
        return Err(SessionError::Malformed("short frame"));
    }
    let mut c = Cursor(bytes.get(PREFIX_LEN..).unwrap_or_default());
    Ok((c.take()?, u64::from_be_bytes(c.take()?)))
}

/// The device's signed word that it does not hold session `sid` (answering frame `ctr`): the
/// client starts a new session and sends its request again, once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownSession {
    /// The session the request named.
    pub sid: [u8; SID_LEN],
    /// The counter of the request answered.
    pub ctr: u64,
    /// The device's clock, Unix milliseconds.
    pub ts: u64,
    /// ed25519 signature of the device over `"safething/v2" 0 lp(key) frame[..signature]`.
    pub signature: [u8; 64],
}

impl UnknownSession {
    fn signed_part(sid: &[u8; SID_LEN], ctr: u64, ts: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(UNKNOWN_LEN);
        out.extend_from_slice(&prefix(UNKNOWN));
        out.extend_from_slice(sid);
        out.extend_from_slice(&ctr.to_be_bytes());
        out.extend_from_slice(&ts.to_be_bytes());
        out
    }

    /// The device's answer, signed.
    pub(crate) fn signed(
        device: &Identity,
        key: &str,
        sid: [u8; SID_LEN],
        ctr: u64,
        ts: u64,
    ) -> Result<Vec<u8>, SessionError> {
        let mut out = UnknownSession::signed_part(&sid, ctr, ts);
        let signature = device.sign(&signing_input(key, &[&out])?);
        out.extend_from_slice(&signature);
        Ok(out)
    }

    /// Reads and verifies one with the thing's key.
    pub(crate) fn check(
        thing: &PublicKey,
        key: &str,
        bytes: &[u8],
    ) -> Result<UnknownSession, SessionError> {
        let mut c = expect(bytes, UNKNOWN, UNKNOWN_LEN)?;
        let sid = c.take()?;
        let ctr = u64::from_be_bytes(c.take()?);
        let ts = u64::from_be_bytes(c.take()?);
        let signature = c.take()?;
        verify(
            thing,
            key,
            &[&UnknownSession::signed_part(&sid, ctr, ts)],
            &signature,
        )?;
        Ok(UnknownSession {
            sid,
            ctr,
            ts,
            signature,
        })
    }
}

/// The device's refusal of a hello (busy, or a hello it cannot accept): `"ST" 02 06 05`.
pub(crate) fn refused() -> Vec<u8> {
    prefix(REFUSED).to_vec()
}

/// Counters seen by a receiver: the highest, and a bitmap of the [`WINDOW`] below it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ReplayWindow {
    top: u64,
    seen: u128,
}

impl ReplayWindow {
    /// Records `ctr` (counters start at 1); `false` when seen before or too old to tell.
    pub(crate) fn accept(&mut self, ctr: u64) -> bool {
        if ctr == 0 {
            return false;
        }
        if ctr > self.top {
            let shift = ctr - self.top;
            self.seen = if shift >= 128 { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.top = ctr;
            return true;
        }
        let behind = self.top - ctr;
        if behind >= WINDOW {
            return false;
        }
        let bit = 1u128 << behind;
        if self.seen & bit != 0 {
            return false;
        }
        self.seen |= bit;
        true
    }
}

/// Frames `body` as an unsigned v2 frame from `sender`: what a session seals.
pub fn plain_frame(
    sender: &PublicKey,
    kind: Kind,
    binding: Binding,
    id: MessageId,
    ts: u64,
    write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> Result<Vec<u8>, EnvelopeError> {
    let header = Header {
        kind,
        sealed: false,
        sender: *sender.as_bytes(),
        id,
        ts,
        binding,
    };
    let mut out = Vec::with_capacity(256);
    let start = frame::begin(&mut out, &header, false)?;
    write(&mut out).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    frame::finish(&mut out, start)?;
    Ok(out)
}

/// Reads the v2 frame a session carried: unsigned, body in the clear, from `peer` (whom the
/// session authenticated), with a fresh timestamp. `signed` is set in the result: the frame is
/// as authenticated as a signed one, by the session's key.
pub fn open_plain<'a>(
    bytes: &'a [u8],
    peer: &PublicKey,
    window_ms: u64,
) -> Result<Opened<&'a [u8]>, EnvelopeError> {
    let f = frame::decode(bytes)?;
    let h = f.header;
    if f.signature.is_some() || h.sealed {
        return Err(EnvelopeError::Malformed(
            "a session carries unsigned frames in the clear".into(),
        ));
    }
    if h.sender != *peer.as_bytes() {
        return Err(EnvelopeError::WrongSender {
            expected: peer.to_string(),
            found: data_encoding::HEXLOWER.encode(&h.sender),
        });
    }
    let skew_ms = crate::envelope::now_ms().abs_diff(h.ts);
    if skew_ms > window_ms {
        return Err(EnvelopeError::Stale { skew_ms, window_ms });
    }
    Ok(Opened {
        from: *peer,
        id: h.id,
        ts: h.ts,
        kind: h.kind,
        binding: h.binding,
        signed: true,
        sealed: false,
        body: f.body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (Identity, Identity) {
        (
            Identity::from_secret([2; 32]),
            Identity::from_secret([1; 32]),
        )
    }

    #[test]
    fn handshake_agrees_on_directional_keys() {
        let (client, device) = ids();
        let key = "safething/v1/garden-01/session";
        let ce = StaticSecret::from([0x55; 32]);
        let de = StaticSecret::from([0x66; 32]);
        let hello = Hello::new(&client, device.public_key(), key, 1, &ce).unwrap();
        let hb = hello.to_bytes();
        let parsed = Hello::parse(&hb).unwrap();
        assert_eq!(parsed, hello);
        assert_eq!(parsed.check(key).unwrap(), *client.public_key());
        assert_eq!(
            parsed.check("safething/v1/garden-02/session"),
            Err(SessionError::BadSignature)
        );
        let (welcome, dk) = respond(
            &device, key, &hb, &parsed, [7; 16], &de, [9; 16], 2, 1000, 10,
        )
        .unwrap();
        let (w2, ck) = accept(device.public_key(), key, &hb, &ce, &welcome.to_bytes()).unwrap();
        assert_eq!(w2, welcome);
        assert_eq!((ck.c2d, ck.d2c), (dk.c2d, dk.d2c));
        assert_ne!(ck.c2d, ck.d2c);
        // Signed by someone else, or over another hello: refused.
        assert_eq!(
            accept(client.public_key(), key, &hb, &ce, &welcome.to_bytes()).err(),
            Some(SessionError::BadSignature)
        );
        let other = Hello::new(&client, device.public_key(), key, 3, &ce).unwrap();
        assert!(
            accept(
                device.public_key(),
                key,
                &other.to_bytes(),
                &ce,
                &welcome.to_bytes()
            )
            .is_err()
        );
    }

    #[test]
    fn sealed_frames_are_bound_to_key_direction_and_counter() {
        let c2d = Direction::new(&[1; 32]);
        let d2c = Direction::new(&[2; 32]);
        let sealed = c2d.seal("a/b", &[3; 16], 5, b"frame").unwrap();
        let (sid, ctr) = sealed_header(&sealed).unwrap();
        assert_eq!((sid, ctr), ([3; 16], 5));
        assert_eq!(c2d.open("a/b", &sealed, ctr).unwrap(), b"frame");
        assert_eq!(c2d.open("a/c", &sealed, ctr), Err(SessionError::Decrypt));
        assert_eq!(d2c.open("a/b", &sealed, ctr), Err(SessionError::Decrypt));
        let mut moved = sealed.clone();
        moved[SEALED_HEADER - 1] ^= 1;
        assert_eq!(c2d.open("a/b", &moved, 4), Err(SessionError::Decrypt));
        for cut in 0..sealed.len() {
            let short = &sealed[..cut];
            assert!(sealed_header(short).is_err() || c2d.open("a/b", short, ctr).is_err());
        }
    }

    #[test]
    fn the_window_refuses_repeats_and_the_too_old() {
        let mut w = ReplayWindow::default();
        assert!(!w.accept(0));
        assert!(w.accept(1));
        assert!(!w.accept(1));
        assert!(w.accept(5));
        assert!(w.accept(3));
        assert!(!w.accept(3));
        assert!(w.accept(300));
        assert!(!w.accept(300 - WINDOW));
        assert!(w.accept(300 - WINDOW + 1));
        assert!(!w.accept(5));
        assert!(w.accept(10_000));
        assert!(!w.accept(300));
    }

    #[test]
    fn refusals_and_unknown_answers() {
        let (_, device) = ids();
        let bytes = UnknownSession::signed(&device, "a/b", [4; 16], 9, 1).unwrap();
        let u = UnknownSession::check(device.public_key(), "a/b", &bytes).unwrap();
        assert_eq!((u.sid, u.ctr), ([4; 16], 9));
        assert!(UnknownSession::check(device.public_key(), "a/c", &bytes).is_err());
        assert_eq!(frame_type(&refused()), Some(REFUSED));
        for garbage in [&b""[..], b"ST", b"ST\x02\x06", b"ST\x02\x01\x01"] {
            assert!(Hello::parse(garbage).is_err());
            assert!(Welcome::parse(garbage).is_err());
            assert!(sealed_header(garbage).is_err());
        }
    }
}

//! The protocol v2 frame: the one reader and writer of the bytes every message travels as
//! (`docs/protocol.md` §1–2).
//!
//! ```text
//! "ST" 0x02 kind flags sender(32) n id(n) ts(u64be) binding len(u32be) body [signature(64)]
//! batched: ... body size(u16be) index(u16be) path(32 each) root-signature(64)
//! ```
//!
//! This module knows bytes only: signing, freshness and replays are [`crate::envelope`]'s, and
//! sealing bodies is [`crate::crypto`]'s.

use std::fmt;

/// The two bytes every frame starts with.
pub const MAGIC: [u8; 2] = *b"ST";
/// The protocol version this runtime speaks.
pub const VERSION: u8 = 2;
/// The domain label of signatures, HKDF salts and AEAD associated data.
pub const LABEL: &[u8] = b"safething/v2";
/// The longest message id, in bytes.
pub const MAX_ID: usize = 32;
/// The longest body, in bytes.
pub const MAX_BODY: usize = 16 << 20;
/// The length of a boot epoch.
pub const EPOCH_LEN: usize = 16;
/// The length of a signature.
pub const SIGNATURE_LEN: usize = 64;

/// Flag: the frame ends with a signature.
const FLAG_SIGNED: u8 = 0x01;
/// Flag: the body is sealed (`{"sealed":…}`).
const FLAG_SEALED: u8 = 0x02;
/// Flag: the signature is a batch's root signature, after the frame's proof
/// (`docs/protocol.md` §2.1, [`crate::batch`]); only with `FLAG_SIGNED`.
pub const FLAG_BATCHED: u8 = 0x04;
/// Where the flags byte is.
pub const FLAGS_AT: usize = 4;

/// Why bytes are not a frame this runtime accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A SAFEthing message of another protocol version (1 for a JSON envelope).
    #[error("unsupported protocol version {0} (this runtime speaks version 2)")]
    UnsupportedVersion(u8),
    /// Not a frame, or a frame that breaks the layout.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
}

/// What a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A query's payload, to a device; bound to the device's boot epoch.
    Request = 1,
    /// A device's answer to a request; bound to that request.
    Reply = 2,
    /// An attribute update or an event.
    Publication = 3,
    /// A request-state publication on `requests/<id>`; bound to the invoke request.
    State = 4,
    /// A thing's description.
    Description = 5,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Request,
            2 => Kind::Reply,
            3 => Kind::Publication,
            4 => Kind::State,
            5 => Kind::Description,
            _ => return None,
        })
    }
}

/// A message id: 1 to [`MAX_ID`] bytes, kept inline (no allocation per message).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    len: u8,
    bytes: [u8; MAX_ID],
}

impl MessageId {
    /// The id with these bytes; `None` when empty or longer than [`MAX_ID`].
    pub fn new(bytes: &[u8]) -> Option<MessageId> {
        if bytes.is_empty() || bytes.len() > MAX_ID {
            return None;
        }
        let mut id = MessageId {
            len: u8::try_from(bytes.len()).ok()?,
            bytes: [0; MAX_ID],
        };
        id.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(id)
    }

    /// A 16-byte id (the length the runtime's own ids have).
    pub fn from_16(bytes: [u8; 16]) -> MessageId {
        let mut id = MessageId {
            len: 16,
            bytes: [0; MAX_ID],
        };
        id.bytes[..16].copy_from_slice(&bytes);
        id
    }

    /// The id written as JSON and key expressions write it (lowercase hex); `None` for
    /// anything else.
    pub fn from_hex(text: &str) -> Option<MessageId> {
        if !text.len().is_multiple_of(2) || text.len() > 2 * MAX_ID {
            return None;
        }
        let bytes = data_encoding::HEXLOWER.decode(text.as_bytes()).ok()?;
        MessageId::new(&bytes)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Lowercase hex, as JSON bodies and key expressions carry ids.
    pub fn to_hex(&self) -> String {
        data_encoding::HEXLOWER.encode(self.as_bytes())
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

/// What a frame is tied to besides its key (`docs/protocol.md` §1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binding {
    /// Publications and descriptions.
    None,
    /// Requests: the boot epoch of the device they are for.
    Epoch([u8; EPOCH_LEN]),
    /// Replies and request states: the request answered and who sent it.
    Request {
        /// The request's message id.
        id: MessageId,
        /// The requester's public key.
        requester: [u8; 32],
    },
}

impl Binding {
    /// The binding a frame of `kind` must carry has this shape.
    fn fits(&self, kind: Kind) -> bool {
        matches!(
            (kind, self),
            (Kind::Request, Binding::Epoch(_))
                | (Kind::Reply | Kind::State, Binding::Request { .. })
                | (Kind::Publication | Kind::Description, Binding::None)
        )
    }
}

/// A frame's header fields, as a writer gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the frame is.
    pub kind: Kind,
    /// Whether the body is sealed.
    pub sealed: bool,
    /// The sender's public key.
    pub sender: [u8; 32],
    /// The message id.
    pub id: MessageId,
    /// The sender's clock, Unix milliseconds.
    pub ts: u64,
    /// What the frame is tied to.
    pub binding: Binding,
}

/// A frame read from bytes, borrowing them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: Header,
    /// The body bytes, as received.
    pub body: &'a [u8],
    /// Every byte the signature covers besides the label and key expression.
    pub signed_part: &'a [u8],
    /// The signature, when the signed flag is set (a batch's root signature when `batch` is
    /// set).
    pub signature: Option<&'a [u8; SIGNATURE_LEN]>,
    /// The frame's place in a batch, when the batched flag is set.
    pub batch: Option<Proof<'a>>,
}

/// A frame's place in a signed batch (`docs/protocol.md` §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proof<'a> {
    /// How many frames the batch has (at least 2).
    pub size: u16,
    /// This frame's position, below `size`.
    pub index: u16,
    /// The audit path, lowest sibling first: 32 bytes per hash, as many as
    /// [`crate::batch::path_len`] says.
    pub path: &'a [u8],
}

/// A cursor that never reads past the end of its input.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
        if self.rest.len() < n {
            return Err(FrameError::Malformed(what));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], FrameError> {
        let bytes = self.take(N, what)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, FrameError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn id(&mut self, what: &'static str) -> Result<MessageId, FrameError> {
        let n = usize::from(self.byte(what)?);
        let bytes = self.take(n, what)?;
        MessageId::new(bytes).ok_or(FrameError::Malformed("id length not within 1..=32"))
    }
}

/// Reads a frame. Checks the layout only: the signature is checked by whoever knows the key
/// expression ([`signing_input`]).
pub fn decode(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
    match bytes {
        [b'S', b'T', VERSION, ..] => {}
        [b'S', b'T', v, ..] => return Err(FrameError::UnsupportedVersion(*v)),
        // A v1 envelope was a JSON object.
        [b'{', ..] => return Err(FrameError::UnsupportedVersion(1)),
        _ => return Err(FrameError::Malformed("not a SAFEthing frame")),
    }
    let mut r = Reader { rest: &bytes[3..] };
    let kind = Kind::from_byte(r.byte("kind")?).ok_or(FrameError::Malformed("unknown kind"))?;
    let flags = r.byte("flags")?;
    if flags & !(FLAG_SIGNED | FLAG_SEALED | FLAG_BATCHED) != 0 {
        return Err(FrameError::Malformed("unknown flags"));
    }
    if flags & FLAG_BATCHED != 0 && flags & FLAG_SIGNED == 0 {
        return Err(FrameError::Malformed("batched but not signed"));
    }
    let sender = r.array::<32>("sender")?;
    let id = r.id("message id")?;
    let ts = u64::from_be_bytes(r.array::<8>("timestamp")?);
    let binding = match kind {
        Kind::Request => Binding::Epoch(r.array::<EPOCH_LEN>("epoch")?),
        Kind::Reply | Kind::State => Binding::Request {
            id: r.id("request id")?,
            requester: r.array::<32>("requester")?,
        },
        Kind::Publication | Kind::Description => Binding::None,
    };
    let len = u32::from_be_bytes(r.array::<4>("body length")?);
    let len = usize::try_from(len).map_err(|_| FrameError::Malformed("body too long"))?;
    if len > MAX_BODY {
        return Err(FrameError::Malformed("body too long"));
    }
    let body = r.take(len, "body")?;
    let signed_len = bytes.len() - r.rest.len();
    let batch = if flags & FLAG_BATCHED != 0 {
        let size = u16::from_be_bytes(r.array::<2>("batch size")?);
        let index = u16::from_be_bytes(r.array::<2>("batch index")?);
        let n = crate::batch::path_len(index, size).ok_or(FrameError::Malformed(
            "batch index not within 0..size, size below 2",
        ))?;
        Some(Proof {
            size,
            index,
            path: r.take(n * 32, "batch path")?,
        })
    } else {
        None
    };
    let signature = if flags & FLAG_SIGNED != 0 {
        let sig: &[u8; SIGNATURE_LEN] = r
            .take(SIGNATURE_LEN, "signature")?
            .try_into()
            .map_err(|_| FrameError::Malformed("signature"))?;
        Some(sig)
    } else {
        None
    };
    if !r.rest.is_empty() {
        return Err(FrameError::Malformed("trailing bytes"));
    }
    Ok(Frame {
        header: Header {
            kind,
            sealed: flags & FLAG_SEALED != 0,
            sender,
            id,
            ts,
            binding,
        },
        body,
        signed_part: &bytes[..signed_len],
        signature,
        batch,
    })
}

/// Writes a frame's header into `out` (cleared first), up to and including a placeholder body
/// length; the body follows, then [`finish`] sets the length (and the caller appends the
/// signature). Writing in place lets a body be serialized straight into the frame.
pub fn begin(out: &mut Vec<u8>, header: &Header, signed: bool) -> Result<usize, FrameError> {
    if !header.binding.fits(header.kind) {
        return Err(FrameError::Malformed("binding does not fit the kind"));
    }
    out.clear();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(header.kind as u8);
    let mut flags = 0;
    if signed {
        flags |= FLAG_SIGNED;
    }
    if header.sealed {
        flags |= FLAG_SEALED;
    }
    out.push(flags);
    out.extend_from_slice(&header.sender);
    put_id(out, &header.id);
    out.extend_from_slice(&header.ts.to_be_bytes());
    match &header.binding {
        Binding::None => {}
        Binding::Epoch(epoch) => out.extend_from_slice(epoch),
        Binding::Request { id, requester } => {
            put_id(out, id);
            out.extend_from_slice(requester);
        }
    }
    out.extend_from_slice(&[0; 4]);
    Ok(out.len())
}

/// Sets the body length of a frame begun with [`begin`] (the body is everything after
/// `body_start`).
pub fn finish(out: &mut [u8], body_start: usize) -> Result<(), FrameError> {
    let len = out.len().saturating_sub(body_start);
    if len > MAX_BODY {
        return Err(FrameError::Malformed("body too long"));
    }
    let len = u32::try_from(len).map_err(|_| FrameError::Malformed("body too long"))?;
    let at = body_start
        .checked_sub(4)
        .ok_or(FrameError::Malformed("no header"))?;
    out.get_mut(at..body_start)
        .ok_or(FrameError::Malformed("no header"))?
        .copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn put_id(out: &mut Vec<u8>, id: &MessageId) {
    out.push(id.len);
    out.extend_from_slice(id.as_bytes());
}

/// What an ed25519 signature covers: `"safething/v2" 0 lp(key) frame-without-signature`.
pub fn signing_input(key: &str, signed_part: &[u8]) -> Result<Vec<u8>, FrameError> {
    let key_len =
        u16::try_from(key.len()).map_err(|_| FrameError::Malformed("key expression too long"))?;
    let mut m = Vec::with_capacity(LABEL.len() + 3 + key.len() + signed_part.len());
    m.extend_from_slice(LABEL);
    m.push(0);
    m.extend_from_slice(&key_len.to_be_bytes());
    m.extend_from_slice(key.as_bytes());
    m.extend_from_slice(signed_part);
    Ok(m)
}

/// Appends `lp(x)`: `u16be(len) ‖ x` (`docs/protocol.md`, notation).
pub fn put_lp(out: &mut Vec<u8>, x: &[u8]) -> Result<(), FrameError> {
    let len = u16::try_from(x.len()).map_err(|_| FrameError::Malformed("field too long"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(x);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: Kind, binding: Binding) -> Header {
        Header {
            kind,
            sealed: false,
            sender: [7; 32],
            id: MessageId::new(&[1, 2, 3]).unwrap(),
            ts: 0x0102_0304_0506_0708,
            binding,
        }
    }

    fn frame(h: &Header, body: &[u8], sig: Option<[u8; 64]>) -> Vec<u8> {
        let mut out = Vec::new();
        let start = begin(&mut out, h, sig.is_some()).unwrap();
        out.extend_from_slice(body);
        finish(&mut out, start).unwrap();
        if let Some(sig) = sig {
            out.extend_from_slice(&sig);
        }
        out
    }

    #[test]
    fn round_trips_every_kind() {
        let request_binding = Binding::Request {
            id: MessageId::new(&[9; 32]).unwrap(),
            requester: [5; 32],
        };
        for (kind, binding) in [
            (Kind::Request, Binding::Epoch([3; 16])),
            (Kind::Reply, request_binding),
            (Kind::State, request_binding),
            (Kind::Publication, Binding::None),
            (Kind::Description, Binding::None),
        ] {
            for sig in [None, Some([0xaa; 64])] {
                let h = header(kind, binding);
                let bytes = frame(&h, b"{\"x\":1}", sig);
                let f = decode(&bytes).unwrap();
                assert_eq!(f.header, h);
                assert_eq!(f.body, b"{\"x\":1}");
                assert_eq!(f.signature.copied(), sig);
                assert_eq!(f.signed_part.len() + sig.map_or(0, |_| 64), bytes.len());
                // Every proper prefix is refused.
                for cut in 0..bytes.len() {
                    assert!(decode(&bytes[..cut]).is_err());
                }
                let mut longer = bytes.clone();
                longer.push(0);
                assert!(decode(&longer).is_err());
            }
        }
    }

    #[test]
    fn versions_and_garbage() {
        assert_eq!(
            decode(br#"{"v":1,"from":"st"}"#),
            Err(FrameError::UnsupportedVersion(1))
        );
        assert_eq!(
            decode(b"ST\x03rest"),
            Err(FrameError::UnsupportedVersion(3))
        );
        assert!(matches!(decode(b""), Err(FrameError::Malformed(_))));
        assert!(matches!(decode(b"XY\x02"), Err(FrameError::Malformed(_))));
        let mut bytes = frame(&header(Kind::Publication, Binding::None), b"1", None);
        bytes[4] = 0x80;
        assert_eq!(decode(&bytes), Err(FrameError::Malformed("unknown flags")));
        bytes[4] = 0;
        bytes[3] = 9;
        assert_eq!(decode(&bytes), Err(FrameError::Malformed("unknown kind")));
    }

    #[test]
    fn batched_frames_carry_a_proof_of_the_right_length() {
        let h = header(Kind::Publication, Binding::None);
        let mut bytes = frame(&h, b"1", None);
        bytes[FLAGS_AT] |= FLAG_SIGNED | FLAG_BATCHED;
        let head = bytes.len();
        // size 5, index 4: one hash.
        bytes.extend_from_slice(&[0, 5, 0, 4]);
        bytes.extend_from_slice(&[9; 32]);
        bytes.extend_from_slice(&[8; 64]);
        let f = decode(&bytes).unwrap();
        assert_eq!(f.signed_part.len(), head);
        assert_eq!(
            f.batch,
            Some(Proof {
                size: 5,
                index: 4,
                path: &[9; 32]
            })
        );
        assert_eq!(f.signature, Some(&[8; 64]));
        for cut in head..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err());
        }
        // An index outside the batch, a batch of one, a path of another length, no signed flag.
        let mut bad = bytes.clone();
        bad[head + 3] = 5;
        assert!(decode(&bad).is_err());
        let mut bad = bytes.clone();
        bad[head + 1] = 1;
        bad[head + 3] = 0;
        assert!(decode(&bad).is_err());
        let mut bad = bytes.clone();
        bad[head + 3] = 0;
        assert!(decode(&bad).is_err());
        let mut bad = bytes.clone();
        bad[FLAGS_AT] = FLAG_BATCHED;
        assert_eq!(
            decode(&bad),
            Err(FrameError::Malformed("batched but not signed"))
        );
    }

    #[test]
    fn ids_are_bounded() {
        assert!(MessageId::new(&[]).is_none());
        assert!(MessageId::new(&[0; 33]).is_none());
        assert!(MessageId::from_hex(&"ab".repeat(33)).is_none());
        assert_eq!(
            MessageId::from_hex("00ff").unwrap().as_bytes(),
            &[0x00, 0xff]
        );
        assert!(MessageId::from_hex("0G").is_none());
        assert!(MessageId::from_hex("ABCD").is_none());
        let mut bytes = frame(&header(Kind::Publication, Binding::None), b"1", None);
        bytes[37] = 33;
        assert!(decode(&bytes).is_err());
        bytes[37] = 0;
        assert!(decode(&bytes).is_err());
    }

    #[test]
    fn a_binding_must_fit_its_kind() {
        let mut out = Vec::new();
        assert!(begin(&mut out, &header(Kind::Request, Binding::None), false).is_err());
        assert!(
            begin(
                &mut out,
                &header(Kind::Publication, Binding::Epoch([0; 16])),
                false
            )
            .is_err()
        );
    }

    /// A bounded fuzz loop (run with the normal tests): mutated frames of every kind, and
    /// random bytes behind a valid magic, are decoded without a panic, and whatever decodes
    /// writes back to the same bytes (one layout, one reader).
    #[test]
    fn decoding_never_panics_and_is_canonical() {
        let mut mangler = crate::mangle::Mangler::new(
            0x5eed_f00d_dead_beef,
            b"\x00\x01\x02\x03\x04\x05\x10\x20\x40\x7f\x80\xffST{}",
        );
        let request_binding = Binding::Request {
            id: MessageId::new(&[9; 20]).unwrap(),
            requester: [5; 32],
        };
        let seeds: Vec<Vec<u8>> = [
            (Kind::Request, Binding::Epoch([3; 16])),
            (Kind::Reply, request_binding),
            (Kind::State, request_binding),
            (Kind::Publication, Binding::None),
            (Kind::Description, Binding::None),
        ]
        .into_iter()
        .flat_map(|(kind, binding)| {
            let h = header(kind, binding);
            let mut batched = frame(&h, b"[1]", None);
            batched[FLAGS_AT] |= FLAG_SIGNED | FLAG_BATCHED;
            // size 3, index 1: a path of two hashes.
            batched.extend_from_slice(&[0, 3, 0, 1]);
            batched.extend_from_slice(&[0x11; 64]);
            batched.extend_from_slice(&[2; 64]);
            [
                frame(&h, b"{}", None),
                frame(&h, b"[1,2,3]", Some([1; 64])),
                batched,
            ]
        })
        .collect();
        let mut decoded = 0;
        for seed in &seeds {
            for _ in 0..4000 {
                let bytes = mangler.mangle(seed);
                if let Ok(f) = decode(&bytes) {
                    decoded += 1;
                    let mut again = frame(&f.header, f.body, None);
                    if let Some(sig) = f.signature {
                        again[FLAGS_AT] |= FLAG_SIGNED;
                        if let Some(p) = f.batch {
                            again[FLAGS_AT] |= FLAG_BATCHED;
                            again.extend_from_slice(&p.size.to_be_bytes());
                            again.extend_from_slice(&p.index.to_be_bytes());
                            again.extend_from_slice(p.path);
                        }
                        again.extend_from_slice(sig);
                    }
                    assert_eq!(again, bytes);
                }
            }
        }
        assert!(decoded > 1000, "only {decoded} mangled frames decoded");
        let mut random = crate::mangle::Mangler::new(7, b"\x00\x01\x02\x05\xff");
        for n in 0..2000 {
            let mut bytes = b"ST\x02".to_vec();
            bytes.extend((0..n % 200).map(|_| random.mangle(b"x").first().copied().unwrap_or(0)));
            let _ = decode(&bytes);
        }
    }
}

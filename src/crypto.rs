//! Confidentiality: the payloads of `group` and `owner` affordances are encrypted end to end.
//!
//! - Every identity's ed25519 key doubles as an X25519 key (the standard birational map, as in
//!   libsodium's `crypto_sign_ed25519_*_to_curve25519`), so nobody needs a second key.
//! - A device keeps two symmetric keys: the **group key** (for `group` affordances; the owner
//!   and every member hold it) and the **owner key** (for `owner` affordances; only the owner
//!   holds it). It hands them out *wrapped*: encrypted for each holder with a key agreed by
//!   X25519 between the device and the holder. Wrapped keys travel in the signed description.
//! - A new group key is made whenever a member is revoked, and both keys when the owner
//!   changes, so a former holder cannot read what follows.
//! - Payloads are sealed with AES-256-GCM (random 96-bit nonces); the associated data
//!   ([`aad`]) binds the protocol label, the key the message travels on, the sender's key and
//!   the message id, so a sealed payload can be neither moved elsewhere nor re-signed by anyone
//!   else (`docs/protocol.md` §3). AES-GCM rather than
//!   XChaCha20-Poly1305 because browsers have it built in (WebCrypto), like Ed25519, X25519 and
//!   HKDF: a web console needs no cryptographic code of its own. Random 96-bit nonces are safe
//!   for 2^32 messages per key; devices replace a key long before that
//!   ([`SymmetricKey::WEAR_LIMIT`]).
//! - Claims (which carry a one-time token) are sealed to the thing alone, with an ephemeral
//!   X25519 key; the associated data names the claimant's key, so only the key that sealed a
//!   claim can make it.
//! - [`seal_body`] and [`open_body`] are the one place where frame bodies are sealed and
//!   opened, for devices and clients alike.

use std::collections::BTreeMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use data_encoding::BASE64URL_NOPAD;
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use x25519_dalek::{PublicKey as XPublic, StaticSecret};

use crate::identity::{Identity, PublicKey};

/// A symmetric key and its id.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymmetricKey {
    /// Identifies the key in sealed payloads.
    pub kid: String,
    #[serde(with = "b64_32")]
    secret: [u8; 32],
}

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SymmetricKey {
    /// A fresh random key, or `None` when the system has no randomness.
    pub fn generate() -> Option<SymmetricKey> {
        let mut secret = [0u8; 32];
        let mut kid = [0u8; 8];
        getrandom::fill(&mut secret).ok()?;
        getrandom::fill(&mut kid).ok()?;
        Some(SymmetricKey {
            kid: data_encoding::HEXLOWER.encode(&kid),
            secret,
        })
    }

    /// How many payloads one key seals before the device replaces it: far below the 2^32 that
    /// random 96-bit nonces allow.
    pub const WEAR_LIMIT: u64 = 1 << 28;

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.secret))
    }

    /// Encrypts `plaintext` bound to `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Option<Sealed> {
        self.seal_with_nonce(random_nonce()?, aad, plaintext)
    }

    /// [`seal`](Self::seal) with a given nonce: for known-answer tests only (a nonce must never
    /// repeat under one key).
    pub(crate) fn seal_with_nonce(
        &self,
        nonce: [u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Sealed> {
        let ct = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .ok()?;
        Some(Sealed {
            kid: Some(self.kid.clone()),
            epk: None,
            nonce: BASE64URL_NOPAD.encode(&nonce),
            ct: BASE64URL_NOPAD.encode(&ct),
        })
    }

    /// Decrypts a payload sealed with this key for `aad`.
    pub fn open(&self, aad: &[u8], sealed: &Sealed) -> Option<Vec<u8>> {
        let (nonce, ct) = sealed.parts()?;
        self.cipher()
            .decrypt(&Nonce::from(nonce), Payload { msg: &ct, aad })
            .ok()
    }

    /// The secret bytes (known-answer tests).
    #[cfg(test)]
    pub(crate) fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The key with this id and secret (for known-answer tests and tools that import keys).
    pub fn from_parts(kid: impl Into<String>, secret: [u8; 32]) -> SymmetricKey {
        SymmetricKey {
            kid: kid.into(),
            secret,
        }
    }
}

/// An encrypted payload: `{"sealed": {"kid": .., "nonce": .., "ct": ..}}` for a symmetric key,
/// `{"sealed": {"epk": .., "nonce": .., "ct": ..}}` for a payload sealed to a thing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sealed {
    /// Which symmetric key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The sender's ephemeral X25519 public key (sealed-to-thing payloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epk: Option<String>,
    /// 12-byte nonce, base64url.
    pub nonce: String,
    /// Ciphertext and tag, base64url.
    pub ct: String,
}

/// The body of a message whose payload is encrypted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedBody {
    /// The encrypted payload.
    pub sealed: Sealed,
}

impl Sealed {
    fn parts(&self) -> Option<([u8; 12], Vec<u8>)> {
        let nonce: [u8; 12] = BASE64URL_NOPAD
            .decode(self.nonce.as_bytes())
            .ok()?
            .try_into()
            .ok()?;
        let ct = BASE64URL_NOPAD.decode(self.ct.as_bytes()).ok()?;
        Some((nonce, ct))
    }
}

fn random_nonce() -> Option<[u8; 12]> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).ok()?;
    Some(nonce)
}

pub(crate) fn x_secret(identity: &Identity) -> StaticSecret {
    StaticSecret::from(identity.x25519_scalar())
}

pub(crate) fn x_public(key: &PublicKey) -> Option<XPublic> {
    key.x25519_bytes().map(XPublic::from)
}

/// `lp(a) ‖ lp(b) ‖ …` (`docs/protocol.md`, notation); `None` if a part is longer than 65535.
fn length_prefixed(parts: &[&[u8]]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 2).sum());
    for part in parts {
        crate::frame::put_lp(&mut out, part).ok()?;
    }
    Some(out)
}

/// The associated data of a sealed frame body: `lp(label) ‖ lp(key) ‖ lp(sender) ‖ lp(id)`.
pub fn aad(key: &str, sender: &PublicKey, id: &crate::frame::MessageId) -> Option<Vec<u8>> {
    length_prefixed(&[
        crate::frame::LABEL,
        key.as_bytes(),
        sender.as_bytes(),
        id.as_bytes(),
    ])
}

/// HKDF-SHA256 with the protocol label as salt and the length-prefixed `info` parts.
pub(crate) fn derive(shared: &[u8; 32], info: &[&[u8]]) -> Option<SymmetricKey> {
    let hk = Hkdf::<Sha256>::new(Some(crate::frame::LABEL), shared);
    let mut secret = [0u8; 32];
    let info = length_prefixed(info)?;
    hk.expand(&info, &mut secret).ok()?;
    Some(SymmetricKey {
        kid: String::new(),
        secret,
    })
}

/// A symmetric key wrapped for one holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Wrapped {
    /// 12-byte nonce, base64url.
    pub nonce: String,
    /// The encrypted key, base64url.
    pub ct: String,
}

/// A symmetric key wrapped for each of its holders, by public key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WrappedKey {
    /// The key's id.
    pub kid: String,
    /// One wrapping per holder (printable public key -> wrapped key).
    pub holders: BTreeMap<String, Wrapped>,
}

/// The wrapped keys a device publishes in its description.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KeyBundle {
    /// For `group` affordances: the owner and every member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<WrappedKey>,
    /// For `owner` affordances: the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<WrappedKey>,
    /// Keys replaced because they wore out, for payloads sealed just before; keys replaced
    /// because a holder left are never handed out again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<WrappedKey>,
}

impl KeyBundle {
    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.group.is_none() && self.owner.is_none() && self.previous.is_empty()
    }
}

fn wrapping_key(
    ours: &Identity,
    theirs: &PublicKey,
    thing: &str,
    kid: &str,
    holder: &PublicKey,
) -> Option<SymmetricKey> {
    let shared = x_secret(ours).diffie_hellman(&x_public(theirs)?);
    if !shared.was_contributory() {
        return None;
    }
    derive(
        shared.as_bytes(),
        &[b"wrap", thing.as_bytes(), kid.as_bytes(), holder.as_bytes()],
    )
}

/// The associated data of a wrapped key: `lp(label) ‖ lp("wrap") ‖ lp(kid)`.
pub(crate) fn wrap_aad(kid: &str) -> Option<Vec<u8>> {
    length_prefixed(&[crate::frame::LABEL, b"wrap", kid.as_bytes()])
}

/// Wraps `key` for each holder (the device's side).
pub fn wrap(
    device: &Identity,
    thing: &str,
    key: &SymmetricKey,
    holders: &[PublicKey],
) -> WrappedKey {
    let mut out = WrappedKey {
        kid: key.kid.clone(),
        holders: BTreeMap::new(),
    };
    let Some(aad) = wrap_aad(&key.kid) else {
        return out;
    };
    for holder in holders {
        let Some(nonce) = random_nonce() else {
            continue;
        };
        if let Some(wrapped) = wrap_for(device, thing, key, holder, nonce, &aad) {
            out.holders.insert(holder.to_string(), wrapped);
        }
    }
    out
}

/// Wraps `key` for one holder with a given nonce.
pub(crate) fn wrap_for(
    device: &Identity,
    thing: &str,
    key: &SymmetricKey,
    holder: &PublicKey,
    nonce: [u8; 12],
    aad: &[u8],
) -> Option<Wrapped> {
    let k = wrapping_key(device, holder, thing, &key.kid, holder)?;
    let sealed = k.seal_with_nonce(nonce, aad, &key.secret)?;
    Some(Wrapped {
        nonce: sealed.nonce,
        ct: sealed.ct,
    })
}

/// Unwraps the key wrapped for `me` (a holder's side).
pub fn unwrap(
    me: &Identity,
    thing_key: &PublicKey,
    thing: &str,
    wrapped: &WrappedKey,
) -> Option<SymmetricKey> {
    let mine = wrapped.holders.get(&me.public_key().to_string())?;
    let k = wrapping_key(me, thing_key, thing, &wrapped.kid, me.public_key())?;
    let sealed = Sealed {
        kid: None,
        epk: None,
        nonce: mine.nonce.clone(),
        ct: mine.ct.clone(),
    };
    let secret: [u8; 32] = k.open(&wrap_aad(&wrapped.kid)?, &sealed)?.try_into().ok()?;
    Some(SymmetricKey {
        kid: wrapped.kid.clone(),
        secret,
    })
}

/// Seals `plaintext` so that only the holder of `to` can open it (an ephemeral X25519 key).
pub fn seal_to(to: &PublicKey, aad: &[u8], plaintext: &[u8]) -> Option<Sealed> {
    let mut eph = [0u8; 32];
    getrandom::fill(&mut eph).ok()?;
    seal_to_with(eph, random_nonce()?, to, aad, plaintext)
}

/// [`seal_to`] with a given ephemeral secret and nonce: for known-answer tests only.
pub(crate) fn seal_to_with(
    eph: [u8; 32],
    nonce: [u8; 12],
    to: &PublicKey,
    aad: &[u8],
    plaintext: &[u8],
) -> Option<Sealed> {
    let eph = StaticSecret::from(eph);
    let epk = XPublic::from(&eph);
    let shared = eph.diffie_hellman(&x_public(to)?);
    if !shared.was_contributory() {
        return None;
    }
    let key = derive(shared.as_bytes(), &[b"to", epk.as_bytes(), to.as_bytes()])?;
    let mut sealed = key.seal_with_nonce(nonce, aad, plaintext)?;
    sealed.kid = None;
    sealed.epk = Some(BASE64URL_NOPAD.encode(epk.as_bytes()));
    Some(sealed)
}

/// Opens a payload sealed to `me` with [`seal_to`].
pub fn open_to(me: &Identity, aad: &[u8], sealed: &Sealed) -> Option<Vec<u8>> {
    let epk: [u8; 32] = BASE64URL_NOPAD
        .decode(sealed.epk.as_ref()?.as_bytes())
        .ok()?
        .try_into()
        .ok()?;
    let epk = XPublic::from(epk);
    let shared = x_secret(me).diffie_hellman(&epk);
    if !shared.was_contributory() {
        return None;
    }
    let key = derive(
        shared.as_bytes(),
        &[b"to", epk.as_bytes(), me.public_key().as_bytes()],
    )?;
    key.open(aad, sealed)
}

/// How a frame body is sealed.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Protection<'a> {
    /// With a symmetric key (group or owner key).
    Key(&'a SymmetricKey),
    /// To a thing alone (claims).
    ToThing(&'a PublicKey),
}

/// Why a sealed body could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsealed {
    /// Sealed with a key the reader does not hold (keys rotate: fetch the description).
    UnknownKey(String),
    /// Not a sealed body, or it does not decrypt.
    Failed(&'static str),
}

/// Seals a frame's plaintext body: the sealed body (`{"sealed":…}`) to put in the frame from
/// `sender` with message id `id` on `key`. The one place bodies are sealed, for devices and
/// clients alike.
pub fn seal_body(
    protection: Protection<'_>,
    key: &str,
    sender: &PublicKey,
    id: &crate::frame::MessageId,
    plaintext: &[u8],
) -> Option<Vec<u8>> {
    let aad = aad(key, sender, id)?;
    let sealed = match protection {
        Protection::Key(k) => k.seal(&aad, plaintext)?,
        Protection::ToThing(to) => seal_to(to, &aad, plaintext)?,
    };
    serde_json::to_vec(&SealedBody { sealed }).ok()
}

/// Opens a frame's sealed body: with the symmetric key `symmetric` finds by id, or (sealed to a
/// thing) with `me`. The one place bodies are opened.
pub fn open_body(
    key: &str,
    sender: &PublicKey,
    id: &crate::frame::MessageId,
    body: &[u8],
    symmetric: impl FnOnce(&str) -> Option<SymmetricKey>,
    me: Option<&Identity>,
) -> Result<Vec<u8>, Unsealed> {
    let body: SealedBody =
        serde_json::from_slice(body).map_err(|_| Unsealed::Failed("not a sealed body"))?;
    let aad = aad(key, sender, id).ok_or(Unsealed::Failed("key expression too long"))?;
    let plain = match (&body.sealed.kid, &body.sealed.epk, me) {
        (Some(kid), None, _) => {
            let k = symmetric(kid).ok_or_else(|| Unsealed::UnknownKey(kid.clone()))?;
            k.open(&aad, &body.sealed)
        }
        (None, Some(_), Some(me)) => open_to(me, &aad, &body.sealed),
        _ => None,
    };
    plain.ok_or(Unsealed::Failed("cannot decrypt the payload"))
}

mod b64_32 {
    use data_encoding::BASE64URL_NOPAD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64URL_NOPAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = BASE64URL_NOPAD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("expected 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_round_trip_is_bound_to_its_key_expression() {
        let k = SymmetricKey::generate().unwrap();
        let sealed = k.seal(b"a/b", b"secret").unwrap();
        assert_eq!(k.open(b"a/b", &sealed).unwrap(), b"secret");
        assert!(k.open(b"a/c", &sealed).is_none());
        let other = SymmetricKey::generate().unwrap();
        assert!(other.open(b"a/b", &sealed).is_none());
        let mut tampered = sealed.clone();
        tampered.ct = BASE64URL_NOPAD.encode(b"garbage garbage garbage");
        assert!(k.open(b"a/b", &tampered).is_none());
    }

    #[test]
    fn wrapped_keys_open_for_holders_only() {
        let device = Identity::generate().unwrap();
        let [a, b, c] = std::array::from_fn(|_| Identity::generate().unwrap());
        let key = SymmetricKey::generate().unwrap();
        let wrapped = wrap(
            &device,
            "garden-01",
            &key,
            &[*a.public_key(), *b.public_key()],
        );
        assert_eq!(
            unwrap(&a, device.public_key(), "garden-01", &wrapped),
            Some(key.clone())
        );
        assert_eq!(
            unwrap(&b, device.public_key(), "garden-01", &wrapped),
            Some(key.clone())
        );
        assert_eq!(unwrap(&c, device.public_key(), "garden-01", &wrapped), None);
        // Bound to the thing: the same wrapping is useless under another id.
        assert_eq!(unwrap(&a, device.public_key(), "garden-02", &wrapped), None);
    }

    #[test]
    fn sealed_to_a_thing_opens_for_it_alone() {
        let thing = Identity::generate().unwrap();
        let other = Identity::generate().unwrap();
        let sealed = seal_to(thing.public_key(), b"k", b"token").unwrap();
        assert_eq!(open_to(&thing, b"k", &sealed).unwrap(), b"token");
        assert!(open_to(&other, b"k", &sealed).is_none());
        assert!(open_to(&thing, b"other", &sealed).is_none());
    }

    /// A body sealed in one frame opens in no frame of another sender or id, nor on another
    /// key: re-signing a claim or moving a sealed value gets nothing.
    #[test]
    fn sealed_bodies_are_bound_to_sender_id_and_key() {
        use crate::frame::MessageId;
        let thing = Identity::generate().unwrap();
        let (alice, mallory) = (Identity::generate().unwrap(), Identity::generate().unwrap());
        let id = MessageId::new(&[1; 16]).unwrap();
        let other_id = MessageId::new(&[2; 16]).unwrap();
        let group = SymmetricKey::generate().unwrap();
        for protection in [
            Protection::ToThing(thing.public_key()),
            Protection::Key(&group),
        ] {
            let body = seal_body(protection, "a/b", alice.public_key(), &id, b"{\"x\":1}").unwrap();
            let open = |key: &str, sender: &Identity, id: &MessageId| {
                open_body(
                    key,
                    sender.public_key(),
                    id,
                    &body,
                    |_| Some(group.clone()),
                    Some(&thing),
                )
            };
            assert_eq!(open("a/b", &alice, &id).unwrap(), b"{\"x\":1}");
            assert!(open("a/b", &mallory, &id).is_err());
            assert!(open("a/b", &alice, &other_id).is_err());
            assert!(open("a/c", &alice, &id).is_err());
        }
    }
}

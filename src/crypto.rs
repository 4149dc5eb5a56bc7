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
//! - Payloads are sealed with AES-256-GCM (random 96-bit nonces); the associated data is the key
//!   the message travels on, so a sealed payload cannot be moved elsewhere. AES-GCM rather than
//!   XChaCha20-Poly1305 because browsers have it built in (WebCrypto), like Ed25519, X25519 and
//!   HKDF: a web console needs no cryptographic code of its own. Random 96-bit nonces are safe
//!   for 2^32 messages per key; devices replace a key long before that
//!   ([`SymmetricKey::WEAR_LIMIT`]).
//! - Claims (which carry a one-time token) are sealed to the thing alone, with an ephemeral
//!   X25519 key.

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
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Option<Sealed> {
        let nonce = random_nonce()?;
        let ct = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
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
    pub fn open(&self, aad: &str, sealed: &Sealed) -> Option<Vec<u8>> {
        let (nonce, ct) = sealed.parts()?;
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ct,
                    aad: aad.as_bytes(),
                },
            )
            .ok()
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

/// How every sealed body starts (bodies are written by serde_json, compact).
pub(crate) const SEALED_PREFIX: &str = "{\"sealed\":";

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

fn x_secret(identity: &Identity) -> StaticSecret {
    StaticSecret::from(identity.x25519_scalar())
}

fn x_public(key: &PublicKey) -> Option<XPublic> {
    key.x25519_bytes().map(XPublic::from)
}

fn derive(shared: &[u8; 32], info: &[&[u8]]) -> Option<SymmetricKey> {
    let hk = Hkdf::<Sha256>::new(Some(b"safething/v1"), shared);
    let mut secret = [0u8; 32];
    let info: Vec<u8> = info.join(&0u8);
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
    for holder in holders {
        let Some(k) = wrapping_key(device, holder, thing, &key.kid, holder) else {
            continue;
        };
        if let Some(sealed) = k.seal(&key.kid, &key.secret) {
            out.holders.insert(
                holder.to_string(),
                Wrapped {
                    nonce: sealed.nonce,
                    ct: sealed.ct,
                },
            );
        }
    }
    out
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
    let secret: [u8; 32] = k.open(&wrapped.kid, &sealed)?.try_into().ok()?;
    Some(SymmetricKey {
        kid: wrapped.kid.clone(),
        secret,
    })
}

/// Seals `plaintext` so that only the holder of `to` can open it (an ephemeral X25519 key).
pub fn seal_to(to: &PublicKey, aad: &str, plaintext: &[u8]) -> Option<Sealed> {
    let mut eph = [0u8; 32];
    getrandom::fill(&mut eph).ok()?;
    let eph = StaticSecret::from(eph);
    let epk = XPublic::from(&eph);
    let shared = eph.diffie_hellman(&x_public(to)?);
    if !shared.was_contributory() {
        return None;
    }
    let key = derive(shared.as_bytes(), &[b"to", epk.as_bytes(), to.as_bytes()])?;
    let mut sealed = key.seal(aad, plaintext)?;
    sealed.kid = None;
    sealed.epk = Some(BASE64URL_NOPAD.encode(epk.as_bytes()));
    Some(sealed)
}

/// Opens a payload sealed to `me` with [`seal_to`].
pub fn open_to(me: &Identity, aad: &str, sealed: &Sealed) -> Option<Vec<u8>> {
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
        let sealed = k.seal("a/b", b"secret").unwrap();
        assert_eq!(k.open("a/b", &sealed).unwrap(), b"secret");
        assert!(k.open("a/c", &sealed).is_none());
        let other = SymmetricKey::generate().unwrap();
        assert!(other.open("a/b", &sealed).is_none());
        let mut tampered = sealed.clone();
        tampered.ct = BASE64URL_NOPAD.encode(b"garbage garbage garbage");
        assert!(k.open("a/b", &tampered).is_none());
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
        let sealed = seal_to(thing.public_key(), "k", b"token").unwrap();
        assert_eq!(open_to(&thing, "k", &sealed).unwrap(), b"token");
        assert!(open_to(&other, "k", &sealed).is_none());
        assert!(open_to(&thing, "other", &sealed).is_none());
    }
}

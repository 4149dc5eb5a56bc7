//! Identities: an ed25519 key pair for every thing and every person or app.
//!
//! A [`PublicKey`] prints as `st` followed by the key in lowercase base32 (54 characters);
//! [`PublicKey::short`] gives a 10-character fingerprint for humans.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

const PREFIX: &str = "st";
const FILE_HEADER: &str = "safething-identity-v1";

/// Problems with keys, identity files and a device's state file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The operating system's random source failed.
    #[error("cannot generate a key: the system random source failed: {0}")]
    Random(String),
    /// A printable key that is not one.
    #[error("`{0}` is not a SAFEthing public key (expected `st` and 52 base32 characters)")]
    InvalidKey(String),
    /// An identity file that cannot be read or written.
    #[error("identity file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// An identity file whose content is not an identity.
    #[error("identity file {path} is not a SAFEthing identity ({reason})")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A device's state file (its keys, owner and group) that cannot be read or written.
    #[error("state file {path}: {source}")]
    StateIo {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A device's state file whose content is not a state.
    #[error("state file {path} is corrupt: {source}")]
    StateCorrupt {
        /// The file.
        path: PathBuf,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// A device's state file that others can read (the keys in it may have leaked), or that
    /// is not a regular file.
    #[error(
        "state file {path} is readable by other users (mode {mode:o}), so the keys in it may have \
         leaked; run `chmod 600 {path}` if they cannot have"
    )]
    StatePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits (0 for something that is not a regular file).
        mode: u32,
    },
    /// A device's state file that is a directory or a device, not a file.
    #[error("state file {0} is not a regular file")]
    StateNotAFile(PathBuf),
    /// The device's state could not be written as JSON.
    #[error("cannot encode the device's state: {0}")]
    StateEncode(#[source] serde_json::Error),
    /// An identity file others can read.
    #[error(
        "identity file {path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// Where SAFEthing keeps a user's files: `$XDG_CONFIG_HOME/safething`, else
/// `~/.config/safething`; `None` without either variable.
pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|p| !p.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })
        .map(|config| config.join("safething"))
}

/// A public key: who signed a message, who owns a thing, who is in its group.
///
/// Just the 32 bytes (checked to be a curve point when made): it is copied with every message
/// received. The decompressed point, which checking a signature needs, is cached by whoever
/// checks many ([`Verifier`](crate::envelope::Verifier) keeps one per sender).
#[derive(Clone, Copy)]
pub struct PublicKey {
    bytes: [u8; 32],
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for PublicKey {}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl PublicKey {
    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// From raw bytes (checked to be a valid curve point).
    pub fn from_bytes(bytes: [u8; 32]) -> Option<PublicKey> {
        VerifyingKey::from_bytes(&bytes)
            .ok()
            .map(|_| PublicKey { bytes })
    }

    /// A 10-character fingerprint for humans (`st` and 8 characters); not unique enough to
    /// identify a key, only to recognise one.
    pub fn short(&self) -> String {
        let full = self.to_string();
        full.chars().take(10).collect()
    }

    /// The decompressed curve point, for checking signatures (`None` cannot happen for a key
    /// made by this module, which checked the point).
    pub(crate) fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(&self.bytes).ok()
    }

    /// The same key as an X25519 public key (for key agreement).
    pub(crate) fn x25519_bytes(&self) -> Option<[u8; 32]> {
        self.verifying_key()
            .map(|key| key.to_montgomery().to_bytes())
    }

    /// Checks `signature` over `message`. Decompresses the key each time: to check many
    /// messages from one sender, [`Verifier`](crate::envelope::Verifier) caches it.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.verifying_key()
            .is_some_and(|key| verify_strict(&key, message, &Signature::from_bytes(signature)))
    }
}

/// The canonical encodings of the eight points of small order.
static SMALL_ORDER: std::sync::LazyLock<[[u8; 32]; 8]> = std::sync::LazyLock::new(|| {
    curve25519_dalek::constants::EIGHT_TORSION.map(|p| p.compress().to_bytes())
});

/// Checks `signature` over `message` with the rules of `ed25519_dalek`'s `verify_strict` —
/// `s` canonical, neither the key nor `R` of small order, `R` equal to `[s]B − [k]A` — for
/// about 15% less work: `verify` compares `R` with the canonical encoding of the recomputed
/// point, so an `R` that passes is canonical and is of small order exactly when it is one of
/// the eight encodings in [`SMALL_ORDER`]; `verify_strict` decompresses `R` to find out.
pub(crate) fn verify_strict(key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
    use ed25519_dalek::Verifier as _;
    !key.is_weak()
        && !SMALL_ORDER.contains(signature.r_bytes())
        && key.verify(message, signature).is_ok()
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}{}",
            BASE32_NOPAD.encode(&self.bytes).to_ascii_lowercase()
        )
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.short())
    }
}

impl PublicKey {
    /// Parses a printed key into the key and its curve point, for verifying signatures.
    pub(crate) fn decode(s: &str) -> Result<(PublicKey, VerifyingKey), IdentityError> {
        let invalid = || IdentityError::InvalidKey(s.chars().take(80).collect());
        let body = s.strip_prefix(PREFIX).ok_or_else(invalid)?;
        let bytes = BASE32_NOPAD
            .decode(body.to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid())?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| invalid())?;
        let point = VerifyingKey::from_bytes(&bytes).map_err(|_| invalid())?;
        Ok((PublicKey { bytes }, point))
    }
}

impl FromStr for PublicKey {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PublicKey::decode(s).map(|(key, _)| key)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A key pair: signs what its holder sends.
#[derive(Clone)]
pub struct Identity {
    signing: SigningKey,
    public: PublicKey,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// A fresh random identity (kept in memory only).
    pub fn generate() -> Result<Identity, IdentityError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| IdentityError::Random(e.to_string()))?;
        Ok(Identity::from_secret(secret))
    }

    /// The identity with this 32-byte secret key.
    pub fn from_secret(secret: [u8; 32]) -> Identity {
        let signing = SigningKey::from_bytes(&secret);
        let public = PublicKey {
            bytes: signing.verifying_key().to_bytes(),
        };
        Identity { signing, public }
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The secret key bytes (only ever written to the identity file, or expanded for
    /// signing ahead in [`crate::presign`]).
    pub(crate) fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The same key as an X25519 secret scalar (for key agreement; never sent anywhere).
    pub(crate) fn x25519_scalar(&self) -> [u8; 32] {
        self.signing.to_scalar_bytes()
    }

    /// Loads the identity stored at `path`, or creates one there (mode 0600) on first run.
    /// Processes that start together (a device and its controller sharing a key file) all end
    /// up with the one identity that was saved first.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Identity, IdentityError> {
        let path = path.as_ref();
        match Identity::load(path) {
            Err(IdentityError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                let identity = Identity::generate()?;
                match identity.save(path) {
                    Ok(()) => Ok(identity),
                    Err(IdentityError::Io { source, .. })
                        if source.kind() == ErrorKind::AlreadyExists =>
                    {
                        Identity::load(path)
                    }
                    Err(e) => Err(e),
                }
            }
            loaded => loaded,
        }
    }

    /// Loads the identity stored at `path`, refusing files that other users can read.
    pub fn load(path: impl AsRef<Path>) -> Result<Identity, IdentityError> {
        let path = path.as_ref();
        let io = |source| IdentityError::Io {
            path: path.to_owned(),
            source,
        };
        check_private(path)?;
        let text = std::fs::read_to_string(path).map_err(io)?;
        let corrupt = |reason: &str| IdentityError::Corrupt {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let mut lines = text.lines();
        if lines.next() != Some(FILE_HEADER) {
            return Err(corrupt("missing header line"));
        }
        let secret = lines.next().ok_or_else(|| corrupt("missing key line"))?;
        let bytes = BASE32_NOPAD
            .decode(secret.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| corrupt("key is not base32"))?;
        let secret: [u8; 32] = bytes
            .try_into()
            .map_err(|_| corrupt("key is not 32 bytes"))?;
        Ok(Identity::from_secret(secret))
    }

    /// Writes the identity to `path`, readable and writable by its user only, creating parent
    /// directories. Fails if the file exists. The file appears complete or not at all.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), IdentityError> {
        let path = path.as_ref();
        let secret = BASE32_NOPAD
            .encode(&self.secret_bytes())
            .to_ascii_lowercase();
        let text = format!("{FILE_HEADER}\n{secret}\n# public key: {}\n", self.public);
        crate::private_file::create_new(path, text.as_bytes()).map_err(|source| IdentityError::Io {
            path: path.to_owned(),
            source,
        })
    }
}

fn check_private(path: &Path) -> Result<(), IdentityError> {
    use crate::private_file::NotPrivate;
    crate::private_file::check_private(path).map_err(|refused| match refused {
        NotPrivate::Io(source) => IdentityError::Io {
            path: path.to_owned(),
            source,
        },
        NotPrivate::NotAFile => IdentityError::Corrupt {
            path: path.to_owned(),
            reason: "not a regular file".to_owned(),
        },
        NotPrivate::Mode(mode) => IdentityError::Permissions {
            path: path.to_owned(),
            mode,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[s]B − [k]A` made to equal `R` by someone who knows the secret scalar, so that `R`
    /// can be any point of that form, small order included.
    fn forge_with_r(id: &Identity, big_r: [u8; 32], message: &[u8]) -> Signature {
        use curve25519_dalek::scalar::Scalar;
        use sha2::{Digest, Sha512};
        let secret = ed25519_dalek::hazmat::ExpandedSecretKey::from(&id.secret_bytes());
        let mut h = Sha512::new();
        h.update(big_r);
        h.update(id.public_key().as_bytes());
        h.update(message);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(&big_r);
        bytes[32..].copy_from_slice((k * secret.scalar).as_bytes());
        Signature::from_bytes(&bytes)
    }

    #[test]
    fn attack_signature_with_small_order_r() {
        // R = the identity, s = k·a: passes the plain equation for this message.
        let id = Identity::generate().unwrap();
        let key = id.public_key().verifying_key().unwrap();
        let identity_point = SMALL_ORDER[0];
        assert_eq!(
            identity_point[0], 1,
            "EIGHT_TORSION starts with the identity"
        );
        let forged = forge_with_r(&id, identity_point, b"open the door");
        assert!(ed25519_dalek::Verifier::verify(&key, b"open the door", &forged).is_ok());
        assert!(key.verify_strict(b"open the door", &forged).is_err());
        assert!(!verify_strict(&key, b"open the door", &forged));
        assert!(!id.public_key().verify(b"open the door", &forged.to_bytes()));
    }

    #[test]
    fn attack_small_order_key_signs_everything() {
        // A = R = the identity and s = 0 satisfy the plain equation for every message.
        for (i, point) in SMALL_ORDER.iter().enumerate() {
            let Ok(key) = VerifyingKey::from_bytes(point) else {
                continue;
            };
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&SMALL_ORDER[0]);
            let forged = Signature::from_bytes(&bytes);
            if i == 0 {
                assert!(ed25519_dalek::Verifier::verify(&key, b"anything", &forged).is_ok());
            }
            assert!(
                !verify_strict(&key, b"anything", &forged),
                "torsion point {i}"
            );
        }
    }

    #[test]
    fn strict_verification_agrees_with_ed25519_dalek() {
        // Genuine, altered and small-order-R signatures: the fast rule and dalek's
        // verify_strict decide alike on each.
        let id = Identity::generate().unwrap();
        let key = id.public_key().verifying_key().unwrap();
        for n in 0u8..64 {
            let message = [n; 40];
            let good = id.sign(&message);
            let mut cases = vec![good];
            for at in [0usize, 17, 31, 32, 45, 63] {
                let mut bad = good;
                bad[at] ^= 1 << (n % 8);
                cases.push(bad);
            }
            let mut high_s = good;
            high_s[63] |= 0xf0;
            cases.push(high_s);
            for r in SMALL_ORDER.iter() {
                cases.push(forge_with_r(&id, *r, &message).to_bytes());
            }
            for bytes in cases {
                let sig = Signature::from_bytes(&bytes);
                assert_eq!(
                    verify_strict(&key, &message, &sig),
                    key.verify_strict(&message, &sig).is_ok(),
                    "message {n}"
                );
            }
            assert!(verify_strict(&key, &message, &Signature::from_bytes(&good)));
        }
    }

    #[test]
    fn processes_starting_together_share_the_first_saved_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo").join("shared.key");
        for _ in 0..20 {
            let _ = std::fs::remove_file(&path);
            let keys: Vec<PublicKey> = std::thread::scope(|scope| {
                let racers: Vec<_> = (0..4)
                    .map(|_| scope.spawn(|| Identity::load_or_create(&path)))
                    .collect();
                racers
                    .into_iter()
                    .map(|r| *r.join().unwrap().unwrap().public_key())
                    .collect()
            });
            assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
            assert_eq!(*Identity::load(&path).unwrap().public_key(), keys[0]);
        }
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("demo"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["shared.key"]);
    }

    #[test]
    fn keys_print_parse_and_verify() {
        let id = Identity::generate().unwrap();
        let printed = id.public_key().to_string();
        assert!(
            printed.starts_with("st") && printed.len() == 54,
            "{printed}"
        );
        assert_eq!(printed.parse::<PublicKey>().unwrap(), *id.public_key());
        assert_eq!(id.public_key().short().len(), 10);
        let sig = id.sign(b"hello");
        assert!(id.public_key().verify(b"hello", &sig));
        assert!(!id.public_key().verify(b"hellO", &sig));
        assert!("st123".parse::<PublicKey>().is_err());
        assert!("xx".parse::<PublicKey>().is_err());
    }

    #[test]
    fn identity_files_are_private_and_reloadable() {
        let dir = std::env::temp_dir().join(format!("safething-id-{}", std::process::id()));
        let path = dir.join("nested/me.key");
        let _ = std::fs::remove_dir_all(&dir);
        let a = Identity::load_or_create(&path).unwrap();
        let b = Identity::load_or_create(&path).unwrap();
        assert_eq!(a.public_key(), b.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                Identity::load(&path),
                Err(IdentityError::Permissions { .. })
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

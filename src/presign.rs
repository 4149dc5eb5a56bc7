//! Ed25519 signatures whose expensive half is made ahead of time (`docs/protocol.md` §2.1).
//!
//! An Ed25519 signature is `R = r·B`, `k = SHA-512(R ‖ A ‖ M)`, `S = r + k·a`. The base-point
//! multiplication `r·B` is most of its cost, and it does not depend on the message when `r` is
//! drawn at random instead of derived from the message (RFC 8032 derives it so that a broken
//! random generator cannot leak the key; verification is the same either way). The device's
//! signer makes the next `(r, R)` while it waits for publications, so a lone publication is
//! signed with two hashes and a scalar multiply-add, and its latency no longer includes the
//! point multiplication.
//!
//! `r` must never repeat: it is `SHA-512(hash prefix ‖ 32 fresh random bytes ‖ counter)`, so it
//! stays secret and unpredictable with the key's own secret prefix in it, and unique within a
//! run even if two random draws were equal. When the system's random generator fails, nothing
//! is made ahead and signatures are the deterministic ones of RFC 8032.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::hazmat::ExpandedSecretKey;
use sha2::{Digest, Sha512};

use crate::identity::Identity;

/// A nonce made ahead: the secret `r` and the point `R = r·B` it commits to.
struct Nonce {
    r: Scalar,
    big_r: CompressedEdwardsY,
}

/// Signs with an identity's key, using a nonce made ahead when there is one.
pub(crate) struct Presigner {
    identity: Identity,
    secret: ExpandedSecretKey,
    ready: Option<Nonce>,
    counter: u64,
}

impl std::fmt::Debug for Presigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presigner")
            .field("ready", &self.ready.is_some())
            .finish_non_exhaustive()
    }
}

impl Presigner {
    /// A signer for `identity`, with no nonce made yet.
    pub(crate) fn new(identity: Identity) -> Presigner {
        let secret = ExpandedSecretKey::from(&identity.secret_bytes());
        Presigner {
            identity,
            secret,
            ready: None,
            counter: 0,
        }
    }

    /// Makes the next nonce now, if none is waiting: for idle moments, so that the next
    /// signature is quick.
    pub(crate) fn prepare(&mut self) {
        if self.ready.is_none() {
            self.ready = self.fresh();
        }
    }

    /// Whether a nonce is waiting.
    #[cfg(test)]
    fn is_prepared(&self) -> bool {
        self.ready.is_some()
    }

    /// Signs `message`: with the nonce made ahead, or a fresh one, or (when the random
    /// generator fails) deterministically.
    pub(crate) fn sign(&mut self, message: &[u8]) -> [u8; 64] {
        let Some(nonce) = self.ready.take().or_else(|| self.fresh()) else {
            return self.identity.sign(message);
        };
        let mut h = Sha512::new();
        h.update(nonce.big_r.as_bytes());
        h.update(self.identity.public_key().as_bytes());
        h.update(message);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = k * self.secret.scalar + nonce.r;
        let mut signature = [0u8; 64];
        let (big_r, s_bytes) = signature.split_at_mut(32);
        big_r.copy_from_slice(nonce.big_r.as_bytes());
        s_bytes.copy_from_slice(s.as_bytes());
        signature
    }

    /// A new nonce; `None` when the system's random generator fails.
    fn fresh(&mut self) -> Option<Nonce> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random).ok()?;
        self.counter = self.counter.wrapping_add(1);
        let mut h = Sha512::new();
        h.update(self.secret.hash_prefix);
        h.update(random);
        h.update(self.counter.to_be_bytes());
        let r = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        Some(Nonce {
            big_r: EdwardsPoint::mul_base(&r).compress(),
            r,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifies(identity: &Identity, message: &[u8], signature: &[u8; 64]) -> bool {
        let key = ed25519_dalek::VerifyingKey::from_bytes(identity.public_key().as_bytes())
            .expect("a valid key");
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }

    #[test]
    fn signatures_made_with_a_nonce_made_ahead_verify_strictly() {
        let identity = Identity::generate().expect("an identity");
        let mut signer = Presigner::new(identity.clone());
        signer.prepare();
        assert!(signer.is_prepared());
        let a = signer.sign(b"a message");
        assert!(!signer.is_prepared(), "a nonce is used once");
        assert!(verifies(&identity, b"a message", &a));
        assert!(!verifies(&identity, b"another message", &a));
    }

    #[test]
    fn nonces_never_repeat() {
        let identity = Identity::generate().expect("an identity");
        let mut signer = Presigner::new(identity.clone());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let s = signer.sign(b"same message");
            assert!(verifies(&identity, b"same message", &s));
            assert!(seen.insert(s[..32].to_vec()), "R repeated");
        }
    }

    #[test]
    fn a_signature_does_not_verify_for_another_key() {
        let mut signer = Presigner::new(Identity::generate().expect("an identity"));
        let s = signer.sign(b"m");
        assert!(!verifies(
            &Identity::generate().expect("an identity"),
            b"m",
            &s
        ));
    }
}

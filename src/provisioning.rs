//! Ownership provisioning — the seed's register-and-publish sequence, made safe.
//!
//! A device without an owner makes a one-time **claim token** (128 random bits) and shows it to
//! whoever holds the device (printed, or as a `safething:claim?...` URI for a QR code). The first
//! `claim` with that token makes its sender the owner; the token then stops working. It also
//! expires, and wrong tokens are rate-limited per sender, with a global backoff against floods
//! from many keys that slows a claim but never locks the right token out (`device::claims`).
//! The token is never logged: the application shows it. The claim travels sealed to the thing's own key, so an eavesdropper cannot lift
//! the token from it.

use std::time::{Instant, SystemTime};

use subtle::ConstantTimeEq;

use crate::device::Inner;
use crate::device::claims::Refusal;
use crate::identity::PublicKey;
use crate::wire::{Description, Problem};

/// A claim token as the device shows it to its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimToken {
    /// The token to pass to `safething claim ID TOKEN`.
    pub token: String,
    /// When it stops working.
    pub expires_at: SystemTime,
    /// Everything a claiming app needs, as one URI (for a QR code):
    /// `safething:claim?id=<thing-id>&key=<thing key>&token=<token>`.
    pub uri: String,
}

/// Claims the device for `from` if `token` is its current claim token.
pub(crate) async fn claim(
    inner: &Inner,
    from: &PublicKey,
    token: &str,
) -> Result<Description, Problem> {
    let refused = |reason: &str| Problem::ClaimRefused {
        reason: reason.to_owned(),
    };
    // Checked first under the lock, outside `change_meta`: a refused claim changes nothing the
    // state file keeps, but its failure must still count.
    {
        let mut meta = crate::device::lock(&inner.meta);
        let now = Instant::now();
        match meta.claim_limits.admit(from, now) {
            Ok(()) => {}
            Err(Refusal::Sender) => {
                return Err(refused(
                    "too many wrong tokens from you; try again in a minute",
                ));
            }
            Err(Refusal::Busy) => {
                return Err(refused(
                    "the device is busy with many wrong tokens; try again in a second",
                ));
            }
        }
        if meta.parties.owner.is_some() {
            return Err(refused("the thing already has an owner"));
        }
        let Some(pending) = &meta.claim else {
            return Err(refused(
                "no claim token is active; ask the device for a new one",
            ));
        };
        if now > pending.expires {
            meta.claim = None;
            return Err(refused(
                "the claim token has expired; ask the device for a new one",
            ));
        }
        if !token_matches(pending, token) {
            meta.claim_limits.failed(from, now);
            return Err(refused("wrong claim token"));
        }
    }
    inner
        .change_meta(|meta| {
            // Again, atomically with the change: another claim may have won in between.
            if meta.parties.owner.is_some() {
                return Err(refused("the thing already has an owner"));
            }
            match &meta.claim {
                Some(pending) if token_matches(pending, token) => {}
                _ => {
                    return Err(refused(
                        "no claim token is active; ask the device for a new one",
                    ));
                }
            }
            meta.claim = None;
            meta.parties.owner = Some(*from);
            meta.rotate_all().map_err(|e| refused(&e.to_string()))
        })
        .await?;
    tracing::info!(thing = %inner.id, owner = %from.short(), "claimed");
    Ok(inner.description())
}

/// Compares in constant time: how long a comparison takes says nothing about the token.
fn token_matches(pending: &crate::device::PendingClaim, token: &str) -> bool {
    bool::from(pending.token.as_bytes().ct_eq(token.as_bytes()))
}

/// The device's pending claim token, if it has no owner yet.
pub(crate) fn current(inner: &Inner) -> Option<ClaimToken> {
    let meta = crate::device::lock(&inner.meta);
    let pending = meta
        .claim
        .as_ref()
        .filter(|p| Instant::now() <= p.expires)?;
    Some(ClaimToken {
        token: pending.token.clone(),
        expires_at: pending.expires_at,
        uri: format!(
            "safething:claim?id={}&key={}&token={}",
            inner.id,
            inner.sealer.identity().public_key(),
            pending.token
        ),
    })
}

/// Makes a new claim token (the holder pressed the reset button); `None` when owned.
pub(crate) fn renew(inner: &Inner) -> Option<ClaimToken> {
    {
        let mut meta = crate::device::lock(&inner.meta);
        if meta.parties.owner.is_some() {
            return None;
        }
        meta.claim = crate::device::new_claim(inner.config.claim_ttl()).ok();
    }
    current(inner)
}

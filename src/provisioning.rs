//! Ownership provisioning — the seed's register-and-publish sequence, made safe.
//!
//! A device without an owner makes a one-time **claim token** (128 random bits) and shows it to
//! whoever holds the device (printed, or as a `safething:claim?...` URI for a QR code). The first
//! `claim` with that token makes its sender the owner; the token then stops working. It also
//! expires, and wrong tokens are rate-limited (five per minute, then a lockout for the rest of
//! the minute). The claim travels sealed to the thing's own key, so an eavesdropper cannot lift
//! the token from it.

use std::time::{Duration, Instant, SystemTime};

use subtle::ConstantTimeEq;

use crate::device::Inner;
use crate::identity::PublicKey;
use crate::wire::{Description, Problem};

/// Wrong tokens tolerated per [`FAILURE_WINDOW`].
const MAX_FAILURES: usize = 5;
/// The window of the claim rate limit.
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

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
    inner
        .change_meta(|meta| {
            let now = Instant::now();
            while meta
                .claim_failures
                .front()
                .is_some_and(|t| now.duration_since(*t) > FAILURE_WINDOW)
            {
                meta.claim_failures.pop_front();
            }
            if meta.claim_failures.len() >= MAX_FAILURES {
                return Err(refused("too many wrong tokens; try again in a minute"));
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
            if !bool::from(pending.token.as_bytes().ct_eq(token.as_bytes())) {
                meta.claim_failures.push_back(now);
                return Err(refused("wrong claim token"));
            }
            meta.claim = None;
            meta.parties.owner = Some(*from);
            meta.rotate_all().map_err(|e| refused(&e.to_string()))
        })
        .await?;
    tracing::info!(thing = %inner.id, owner = %from.short(), "claimed");
    Ok(inner.description())
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

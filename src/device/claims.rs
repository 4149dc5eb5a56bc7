//! Rate limits on claim attempts: per sender, and a global backoff that slows a flood from many
//! keys without ever locking the right token out.
//!
//! A single global lockout (five wrong tokens a minute from anyone) let any stranger keep the
//! owner from ever claiming. Now a sender that guesses wrong five times in a minute is refused
//! for the rest of that minute, on its own. Keys cost nothing, so a flood of wrong tokens from
//! many keys (more than [`GLOBAL_FAILURES`] a minute) also puts the device into a global backoff:
//! it then checks at most one claim per [`BACKOFF_SLOT`], and refuses the others as busy without
//! checking them. The holder of the right token, retrying, gets the next free slot it reaches,
//! so the flood delays a claim but cannot stop it; and the flood's guesses are slowed to one a
//! second against a 128-bit token.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::identity::PublicKey;

/// Wrong tokens a sender may send per [`WINDOW`].
pub(crate) const PER_SENDER: usize = 5;
/// Wrong tokens from all senders per [`WINDOW`] before the global backoff starts.
pub(crate) const GLOBAL_FAILURES: usize = 30;
/// During the global backoff, one claim is checked per slot.
pub(crate) const BACKOFF_SLOT: Duration = Duration::from_secs(1);
/// The window all limits count in.
const WINDOW: Duration = Duration::from_secs(60);
/// Senders remembered at once; the oldest is forgotten first. A forgotten sender starts afresh,
/// as a new key would: the global backoff, not this table, is what bounds a crowd.
const SENDERS: usize = 1024;

/// Why a claim attempt was not checked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// This sender sent too many wrong tokens lately.
    Sender,
    /// Many senders did: the device is backing off and this slot is taken.
    Busy,
}

/// Claim attempts seen lately.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClaimLimiter {
    /// Each recent sender's wrong tokens (times), and when it last tried.
    senders: HashMap<PublicKey, (VecDeque<Instant>, Instant)>,
    /// Every wrong token's time, from any sender, within the window.
    failures: VecDeque<Instant>,
    /// When the global backoff last let a claim through.
    last_slot: Option<Instant>,
}

impl ClaimLimiter {
    /// Whether a claim from `from` may be checked now. Call [`failed`](Self::failed) when its
    /// token turns out wrong.
    pub(crate) fn admit(&mut self, from: &PublicKey, now: Instant) -> Result<(), Refusal> {
        self.forget_before(now);
        if self
            .senders
            .get(from)
            .is_some_and(|(times, _)| times.len() >= PER_SENDER)
        {
            return Err(Refusal::Sender);
        }
        if self.failures.len() >= GLOBAL_FAILURES {
            if self
                .last_slot
                .is_some_and(|slot| now.saturating_duration_since(slot) < BACKOFF_SLOT)
            {
                return Err(Refusal::Busy);
            }
            self.last_slot = Some(now);
        }
        Ok(())
    }

    /// Records a wrong token from `from`.
    pub(crate) fn failed(&mut self, from: &PublicKey, now: Instant) {
        self.failures.push_back(now);
        if self.senders.len() >= SENDERS
            && !self.senders.contains_key(from)
            && let Some(oldest) = self
                .senders
                .iter()
                .min_by_key(|(_, (_, last))| *last)
                .map(|(key, _)| *key)
        {
            self.senders.remove(&oldest);
        }
        let (times, last) = self
            .senders
            .entry(*from)
            .or_insert_with(|| (VecDeque::new(), now));
        times.push_back(now);
        *last = now;
    }

    /// Drops what is older than the window.
    fn forget_before(&mut self, now: Instant) {
        let old = |t: &Instant| now.saturating_duration_since(*t) > WINDOW;
        while self.failures.front().is_some_and(old) {
            self.failures.pop_front();
        }
        self.senders.retain(|_, (times, _)| {
            while times.front().is_some_and(old) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }

    /// How many senders are remembered (for tests of the bound).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.senders.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn key() -> PublicKey {
        Identity::generate()
            .map(|i| *i.public_key())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn attack_claim_lockout_by_a_stranger() {
        let mut limits = ClaimLimiter::default();
        let (stranger, owner) = (key(), key());
        let now = Instant::now();
        for _ in 0..PER_SENDER {
            assert_eq!(limits.admit(&stranger, now), Ok(()));
            limits.failed(&stranger, now);
        }
        assert_eq!(limits.admit(&stranger, now), Err(Refusal::Sender));
        // The stranger's guesses do not lock the owner out.
        assert_eq!(limits.admit(&owner, now), Ok(()));
        // A minute later the stranger may try again.
        assert_eq!(
            limits.admit(&stranger, now + WINDOW + Duration::from_secs(1)),
            Ok(())
        );
    }

    #[test]
    fn attack_claim_flood_from_many_keys() {
        let mut limits = ClaimLimiter::default();
        let owner = key();
        let start = Instant::now();
        let mut now = start;
        let mut checked = 0;
        // A crowd of fresh keys guessing, 100 per second for a minute.
        for i in 0..6000 {
            now = start + Duration::from_millis(10 * i);
            let sender = key();
            if limits.admit(&sender, now).is_ok() {
                checked += 1;
                limits.failed(&sender, now);
            }
        }
        // The flood was slowed to about one check a second once it started...
        assert!(checked <= GLOBAL_FAILURES + 61, "{checked} checked");
        // ...and the owner, retrying, gets the next free slot.
        let later = now + BACKOFF_SLOT;
        assert_eq!(limits.admit(&owner, later), Ok(()));
        assert!(limits.remembered() <= SENDERS);
    }

    #[test]
    fn the_sender_table_is_bounded() {
        let mut limits = ClaimLimiter::default();
        let now = Instant::now();
        for _ in 0..SENDERS + 10 {
            limits.failed(&key(), now);
        }
        assert_eq!(limits.remembered(), SENDERS);
    }
}

//! What a device knows about who may use it — lifecycle, owner, group, its symmetric keys, the
//! pending claim — and how it keeps that across restarts (an optional state file, 0600).

use std::collections::VecDeque;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use safething_ir::Access;
use serde::{Deserialize, Serialize};

use crate::access::Parties;
use crate::crypto::{self, KeyBundle, SymmetricKey};
use crate::error::{Error, Result};
use crate::identity::{Identity, IdentityError, PublicKey};
use crate::wire::Lifecycle;

/// How many retired keys a device still opens payloads with (a sender whose description was
/// a little out of date).
const RETIRED_KEYS: usize = 4;

/// A one-time claim token waiting to be used.
#[derive(Clone, Debug)]
pub(crate) struct PendingClaim {
    pub(crate) token: String,
    pub(crate) expires: Instant,
    pub(crate) expires_at: SystemTime,
}

#[derive(Clone)]
pub(crate) struct Meta {
    pub(crate) lifecycle: Lifecycle,
    pub(crate) parties: Parties,
    pub(crate) revision: u64,
    pub(crate) group_key: SymmetricKey,
    pub(crate) owner_key: SymmetricKey,
    /// Replaced keys, newest last, and whether their holders may still be handed them (keys
    /// replaced because they wore out, not because a holder left).
    pub(crate) retired: VecDeque<(SymmetricKey, Retired)>,
    pub(crate) bundle: KeyBundle,
    pub(crate) claim: Option<PendingClaim>,
    pub(crate) claim_limits: super::claims::ClaimLimiter,
    /// Payloads sealed with the current group and owner keys.
    uses: [u64; 2],
    /// How many payloads a key seals before it is replaced.
    pub(crate) wear_limit: u64,
}

/// Why a key was replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Retired {
    /// It sealed its share of payloads: the same holders may read what it sealed.
    Worn(KeyRole),
    /// Its holders changed: nobody gets it again.
    Revoked,
}

/// Which of the two keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyRole {
    Group,
    Owner,
}

/// The state file's content.
#[derive(Serialize, Deserialize)]
struct Persisted {
    lifecycle: Lifecycle,
    owner: Option<PublicKey>,
    group: Vec<PublicKey>,
    revision: u64,
    group_key: SymmetricKey,
    owner_key: SymmetricKey,
}

fn fresh_key() -> Result<SymmetricKey> {
    SymmetricKey::generate()
        .ok_or_else(|| Error::from(IdentityError::Random("no bytes for a symmetric key".into())))
}

/// Makes a claim token: 128 random bits in base32.
pub(crate) fn new_claim(ttl: Duration) -> Result<PendingClaim> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| IdentityError::Random(e.to_string()))?;
    let token = data_encoding::BASE32_NOPAD
        .encode(&bytes)
        .to_ascii_lowercase();
    Ok(PendingClaim {
        token,
        expires: Instant::now() + ttl,
        expires_at: SystemTime::now() + ttl,
    })
}

impl Meta {
    /// A device's state: from its state file when it has one, else new.
    pub(crate) fn load_or_new(
        path: Option<&Path>,
        thing: PublicKey,
        owner: Option<PublicKey>,
        group: Vec<PublicKey>,
    ) -> Result<Meta> {
        if let Some(path) = path
            && path.exists()
        {
            check_private(path)?;
            let text = std::fs::read_to_string(path).map_err(|source| IdentityError::StateIo {
                path: path.to_owned(),
                source,
            })?;
            let p: Persisted =
                serde_json::from_str(&text).map_err(|source| IdentityError::StateCorrupt {
                    path: path.to_owned(),
                    source,
                })?;
            return Ok(Meta {
                lifecycle: p.lifecycle,
                parties: Parties {
                    thing: Some(thing),
                    owner: p.owner,
                    group: p.group,
                },
                revision: p.revision,
                group_key: p.group_key,
                owner_key: p.owner_key,
                retired: VecDeque::new(),
                bundle: KeyBundle::default(),
                claim: None,
                claim_limits: Default::default(),
                uses: [0; 2],
                wear_limit: SymmetricKey::WEAR_LIMIT,
            });
        }
        Ok(Meta {
            lifecycle: Lifecycle::Registered,
            parties: Parties {
                thing: Some(thing),
                owner,
                group,
            },
            revision: 1,
            group_key: fresh_key()?,
            owner_key: fresh_key()?,
            retired: VecDeque::new(),
            bundle: KeyBundle::default(),
            claim: None,
            claim_limits: Default::default(),
            uses: [0; 2],
            wear_limit: SymmetricKey::WEAR_LIMIT,
        })
    }

    /// Writes the state file (atomically, readable by its user only).
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let p = Persisted {
            lifecycle: self.lifecycle,
            owner: self.parties.owner,
            group: self.parties.group.clone(),
            revision: self.revision,
            group_key: self.group_key.clone(),
            owner_key: self.owner_key.clone(),
        };
        let text = serde_json::to_string_pretty(&p).map_err(IdentityError::StateEncode)?;
        crate::private_file::replace(path, text.as_bytes()).map_err(|source| {
            IdentityError::StateIo {
                path: path.to_owned(),
                source,
            }
            .into()
        })
    }

    /// Wraps the current keys for their holders: the group key for the owner and the members,
    /// the owner key for the owner.
    pub(crate) fn rewrap(&mut self, identity: &Identity, thing: &str) {
        let mut group_holders: Vec<PublicKey> = self.parties.owner.into_iter().collect();
        group_holders.extend(self.parties.group.iter().copied());
        let owners: Vec<PublicKey> = self.parties.owner.into_iter().collect();
        let previous = self
            .retired
            .iter()
            .filter_map(|(key, why)| match why {
                Retired::Worn(KeyRole::Group) => {
                    Some(crypto::wrap(identity, thing, key, &group_holders))
                }
                Retired::Worn(KeyRole::Owner) => Some(crypto::wrap(identity, thing, key, &owners)),
                Retired::Revoked => None,
            })
            .collect();
        self.bundle = KeyBundle {
            group: Some(crypto::wrap(
                identity,
                thing,
                &self.group_key,
                &group_holders,
            )),
            owner: Some(crypto::wrap(identity, thing, &self.owner_key, &owners)),
            previous,
        };
    }

    /// Replaces the group key (after a revocation): former members cannot read what follows.
    pub(crate) fn rotate_group(&mut self) -> Result<()> {
        self.replace_group(Retired::Revoked)
    }

    fn replace_group(&mut self, why: Retired) -> Result<()> {
        let old = std::mem::replace(&mut self.group_key, fresh_key()?);
        self.retire(old, why);
        self.uses[0] = 0;
        Ok(())
    }

    fn replace_owner(&mut self, why: Retired) -> Result<()> {
        let old = std::mem::replace(&mut self.owner_key, fresh_key()?);
        self.retire(old, why);
        self.uses[1] = 0;
        Ok(())
    }

    /// Replaces both keys (a new owner); no new holder gets the old ones.
    pub(crate) fn rotate_all(&mut self) -> Result<()> {
        self.replace_group(Retired::Revoked)?;
        self.replace_owner(Retired::Revoked)
    }

    /// Counts one payload sealed for `access`; replaces the key once it has sealed
    /// [`wear_limit`](Self::wear_limit) payloads. Returns whether it did (the description
    /// changed: re-wrap and save it).
    pub(crate) fn wear(&mut self, access: &Access) -> bool {
        let slot = match access {
            Access::Group => 0,
            Access::Owner => 1,
            _ => return false,
        };
        self.uses[slot] += 1;
        if self.uses[slot] < self.wear_limit {
            return false;
        }
        let rotated = if slot == 0 {
            self.replace_group(Retired::Worn(KeyRole::Group))
        } else {
            self.replace_owner(Retired::Worn(KeyRole::Owner))
        };
        rotated.is_ok()
    }

    fn retire(&mut self, key: SymmetricKey, why: Retired) {
        self.retired.push_back((key, why));
        while self.retired.len() > RETIRED_KEYS {
            self.retired.pop_front();
        }
    }

    /// The key that seals payloads of an affordance with this access type (`None`: plaintext).
    pub(crate) fn key_for(&self, access: &Access) -> Option<&SymmetricKey> {
        match access {
            Access::Group => Some(&self.group_key),
            Access::Owner => Some(&self.owner_key),
            Access::All | Access::Thing => None,
        }
    }

    /// A current or recently retired key by id.
    pub(crate) fn key_by_id(&self, kid: &str) -> Option<&SymmetricKey> {
        [&self.group_key, &self.owner_key]
            .into_iter()
            .chain(self.retired.iter().map(|(k, _)| k))
            .find(|k| k.kid == kid)
    }
}

/// Refuses a state file that is not a regular file only its user can read: it holds the
/// device's group and owner keys.
fn check_private(path: &Path) -> Result<()> {
    use crate::private_file::NotPrivate;
    crate::private_file::check_private(path).map_err(|refused| {
        let path = path.to_owned();
        Error::from(match refused {
            NotPrivate::Io(source) => IdentityError::StateIo { path, source },
            NotPrivate::NotAFile => IdentityError::StateNotAFile(path),
            NotPrivate::Mode(mode) => IdentityError::StatePermissions { path, mode },
        })
    })
}

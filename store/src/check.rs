//! What the store accepts: a frame that decodes, is signed, sits on a key of the kind it
//! claims, and — for a thing's publications — is signed by the key of that thing's signed
//! description. Anything else is dropped and counted; nothing here panics on any input.

use safething::envelope::{Kind, Signing, Verifier};
use safething::keys::{self, Route};
use safething::wire::Description;

use crate::db::Db;
use crate::error::StoreError;

/// Why a frame was not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// Not under `safething/v1/<id>/{description,attributes,events,requests}`.
    Key,
    /// Does not decode, is unsigned, stale, or its signature does not verify.
    Frame,
    /// A kind that does not belong on its key.
    Kind,
    /// Signed by another key than the thing's, or a description of another thing.
    Sender,
    /// A thing whose description the store has not seen yet.
    UnknownThing,
}

/// A frame that passed, ready to keep.
#[derive(Debug)]
pub struct Accepted {
    /// Its sequence number, when the body is plain.
    pub seq: Option<u64>,
    /// The thing's key, when the frame is its description (first seen: to remember).
    pub describes: Option<(String, [u8; 32])>,
}

/// Checks incoming frames. Live frames are checked for freshness too (a frame older than the
/// verifier's window is a replay, not news); frames caught up from another store are old by
/// nature and checked for everything else.
#[derive(Debug)]
pub struct Checker {
    verifier: Verifier,
    fresh: bool,
}

impl Default for Checker {
    /// The checker of live frames.
    fn default() -> Self {
        Checker {
            verifier: Verifier::new(Signing::Signed),
            fresh: true,
        }
    }
}

#[derive(serde::Deserialize)]
struct SeqOnly {
    seq: u64,
}

impl Checker {
    /// The checker of frames another store answered (catch-up): every check of a live frame
    /// but freshness. Another store is never trusted: only the thing's signature is.
    pub fn replica() -> Checker {
        Checker {
            fresh: false,
            ..Checker::default()
        }
    }

    /// Whether `frame`, received on `key`, is worth keeping.
    pub fn check(
        &self,
        db: &Db,
        key: &str,
        frame: &[u8],
    ) -> Result<Result<Accepted, Dropped>, StoreError> {
        let Some((id, route)) = keys::parse(key) else {
            return Ok(Err(Dropped::Key));
        };
        let expected = match route {
            Route::Description => Kind::Description,
            Route::Attribute(_) | Route::Event(_) => Kind::Publication,
            Route::Request(_) => Kind::State,
            _ => return Ok(Err(Dropped::Key)),
        };
        let opened = if self.fresh {
            self.verifier.open_raw(key, frame)
        } else {
            self.verifier.open_stored(key, frame)
        };
        let Ok(opened) = opened else {
            return Ok(Err(Dropped::Frame));
        };
        if !opened.signed {
            return Ok(Err(Dropped::Frame));
        }
        if opened.kind != expected {
            return Ok(Err(Dropped::Kind));
        }
        let known = db.thing_key(id)?;
        if expected == Kind::Description {
            let Ok(d) = serde_json::from_slice::<Description>(opened.body) else {
                return Ok(Err(Dropped::Frame));
            };
            let signer = *opened.from.as_bytes();
            if d.id.as_str() != id
                || *d.thing_key.as_bytes() != signer
                || known.is_some_and(|k| k != signer)
            {
                return Ok(Err(Dropped::Sender));
            }
            return Ok(Ok(Accepted {
                seq: None,
                describes: known.is_none().then(|| (id.to_owned(), signer)),
            }));
        }
        match known {
            None => return Ok(Err(Dropped::UnknownThing)),
            Some(k) if k != *opened.from.as_bytes() => return Ok(Err(Dropped::Sender)),
            Some(_) => {}
        }
        let seq = (!opened.sealed && expected == Kind::Publication)
            .then(|| serde_json::from_slice::<SeqOnly>(opened.body).ok())
            .flatten()
            .map(|s| s.seq);
        Ok(Ok(Accepted {
            seq,
            describes: None,
        }))
    }
}

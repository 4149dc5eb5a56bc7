//! The store's key space and queries (`docs/store.md`, `docs/protocol.md` §11): a store keeps
//! the frames things publish, byte for byte, and answers on a key space of its own so that it
//! is never mistaken for the device.
//!
//! ```text
//! safething/store/v1/<thing-id>/description          the latest description
//! safething/store/v1/<thing-id>/attributes/<name>    latest value, history, since seq N
//! safething/store/v1/<thing-id>/events/<name>        history, since seq N
//! safething/store/v1/<thing-id>/requests/<id>        the latest request state
//! ```

use serde::{Deserialize, Serialize};

/// The prefix of every store key.
pub const STORE_ROOT: &str = "safething/store/v1";

/// Matches every key a store answers on.
pub const ALL_STORED: &str = "safething/store/v1/**";

/// The store key that mirrors a thing's key (`safething/v1/<id>/...`); `None` outside the
/// thing key space.
pub fn store_key(thing_key: &str) -> Option<String> {
    let rest = thing_key
        .strip_prefix(crate::keys::ROOT)?
        .strip_prefix('/')?;
    Some(format!("{STORE_ROOT}/{rest}"))
}

/// The thing key a store key mirrors; `None` outside the store key space.
pub fn thing_key(store_key: &str) -> Option<String> {
    let rest = store_key.strip_prefix(STORE_ROOT)?.strip_prefix('/')?;
    Some(format!("{}/{rest}", crate::keys::ROOT))
}

/// What a client asks a store for (the query payload, JSON). Every reply is one stored frame,
/// unchanged, on the query's key; oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreQuery {
    /// The latest frame kept for the key.
    Latest,
    /// The newest `limit` frames kept, oldest first.
    History {
        /// At most this many frames.
        limit: u32,
    },
    /// The frames whose sequence number is above `seq` (sealed frames, whose number the store
    /// cannot read, always come along: the client filters them once opened).
    Since {
        /// Only frames after this sequence number.
        seq: u64,
        /// At most this many frames.
        limit: u32,
    },
}

impl StoreQuery {
    /// The most frames any query returns, whatever it asks for: below the 1024 replies a
    /// transport buffers for a query, so a slow reader loses none.
    pub const MAX_LIMIT: u32 = 1_000;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_mirror_thing_keys() {
        let k = "safething/v1/abc/attributes/level";
        let s = store_key(k).unwrap();
        assert_eq!(s, "safething/store/v1/abc/attributes/level");
        assert_eq!(thing_key(&s).unwrap(), k);
        assert!(store_key("other/abc").is_none());
        assert!(thing_key("safething/v1/abc").is_none());
    }
}

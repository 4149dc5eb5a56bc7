//! The store's key space and queries (`docs/store.md`, `docs/protocol.md` §11): a store keeps
//! the frames things publish, byte for byte, and answers on a key space of its own so that it
//! is never mistaken for the device.
//!
//! ```text
//! safething/store/v1/<thing-id>/description          the latest description
//! safething/store/v1/<thing-id>/attributes/<name>    latest value, history, since a position
//! safething/store/v1/<thing-id>/events/<name>        history, since a position
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
    /// The oldest `limit` frames published after a position, oldest first: a client pages
    /// forward from the last frame it took. A plain frame is after the position when it is of
    /// the same device run with a higher sequence number, or of another run published at or
    /// after its time; a sealed frame (whose run and number the store cannot read) when it was
    /// published at or after its time: the client drops what it already has once opened.
    Since {
        /// The last publication the client has.
        after: Position,
        /// At most this many frames.
        limit: u32,
    },
}

/// A place in a thing's stream of publications on one key (an attribute's changes, an event's
/// deliveries): the device run, the sequence number within it, the publication time. Kept by
/// an application (it serializes) to resume a watch where it stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// The device's boot epoch: sequence numbers restart with every run of the device.
    pub epoch: u32,
    /// The sequence number within the run (the first publication of a run is 1).
    pub seq: u64,
    /// When the device published it (the frame's signed timestamp), Unix milliseconds.
    pub ts: u64,
}

impl Position {
    /// The sequence number of a device run's first publication on a key.
    pub const FIRST_SEQ: u64 = 1;

    /// Whether a publication of run `epoch`, number `seq`, published at `ts` comes after this
    /// position (the store's test; see [`StoreQuery::Since`]).
    pub fn precedes(&self, epoch: u32, seq: u64, ts: u64) -> bool {
        if epoch == self.epoch {
            seq > self.seq
        } else {
            ts >= self.ts
        }
    }
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

    #[test]
    fn since_reads_a_position() {
        let q: StoreQuery = serde_json::from_str(
            r#"{"op":"since","after":{"epoch":7,"seq":3,"ts":1000},"limit":10}"#,
        )
        .unwrap();
        let after = Position {
            epoch: 7,
            seq: 3,
            ts: 1000,
        };
        assert_eq!(q, StoreQuery::Since { after, limit: 10 });
        // Same run: by number, whatever the clock says.
        assert!(after.precedes(7, 4, 999));
        assert!(!after.precedes(7, 3, 2000));
        // Another run: by time.
        assert!(after.precedes(8, 1, 1000));
        assert!(!after.precedes(6, 9, 999));
    }
}

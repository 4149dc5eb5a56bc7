//! How much the store keeps of each stream (one key: an attribute, an event, a request's
//! state, a description), and in all.

use std::time::Duration;

/// Limits per stream and in all; the newest frame of a stream is always kept, whatever its age
/// or size, so the latest value of an attribute that has not changed for long stays readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// At most this many frames per stream.
    pub max_count: u64,
    /// Frames stored longer ago than this are dropped (by the store's clock).
    pub max_age: Duration,
    /// At most this many frame bytes per stream.
    pub max_bytes: u64,
    /// At most this many frame bytes in all streams together: above it, the streams that hold
    /// the most bytes lose their oldest frames first (each keeps its newest). The newest
    /// frames of all streams may exceed it.
    pub max_total_bytes: u64,
}

impl Default for Retention {
    /// 1000 frames, 7 days, 4 MiB per stream; 1 GiB in all.
    fn default() -> Self {
        Retention {
            max_count: 1000,
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_bytes: 4 << 20,
            max_total_bytes: 1 << 30,
        }
    }
}

impl Retention {
    /// Whether the oldest of `count` frames (`bytes` in all, the oldest stored at
    /// `oldest_ms`) must go at `now_ms`.
    pub(crate) fn drops_oldest(&self, count: u64, bytes: u64, oldest_ms: u64, now_ms: u64) -> bool {
        if count <= 1 {
            return false;
        }
        let max_age_ms = u64::try_from(self.max_age.as_millis()).unwrap_or(u64::MAX);
        count > self.max_count.max(1)
            || bytes > self.max_bytes
            || now_ms.saturating_sub(oldest_ms) > max_age_ms
    }
}

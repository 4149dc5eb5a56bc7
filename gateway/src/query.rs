//! The caps every query runs under, HTTP and WebSocket alike: how many are in flight, how many
//! replies and bytes of frames one collects. They keep one client from holding the gateway's
//! memory or the network.

use axum::http::StatusCode;
use tokio::sync::OwnedSemaphorePermit;

use super::Shared;
use super::error::ApiError;

/// A place among the queries in flight, held until the query ends; 503 `too_many_queries`
/// when all are taken.
pub(crate) fn permit(shared: &Shared) -> Result<OwnedSemaphorePermit, ApiError> {
    shared.queries.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_queries",
            format!(
                "the gateway has {} queries in flight, its limit: try again later",
                shared.config.max_queries
            ),
        )
    })
}

/// Counts what one query collected.
#[derive(Debug)]
pub(crate) struct Caps {
    replies: usize,
    bytes: usize,
    max_replies: usize,
    max_bytes: usize,
}

impl Caps {
    /// The caps of `shared`'s configuration.
    pub(crate) fn new(shared: &Shared) -> Caps {
        Caps {
            replies: 0,
            bytes: 0,
            max_replies: shared.config.max_replies,
            max_bytes: shared.config.max_reply_bytes,
        }
    }

    /// Takes one more reply of `len` bytes; `too_many_replies` once the query would hold more
    /// replies or bytes than allowed.
    pub(crate) fn admit(&mut self, len: usize) -> Result<(), ApiError> {
        self.replies = self.replies.saturating_add(1);
        self.bytes = self.bytes.saturating_add(len);
        if self.replies > self.max_replies || self.bytes > self.max_bytes {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "too_many_replies",
                format!(
                    "the query collected more than {} replies or {} bytes of frames, its limit: \
                     ask a narrower key",
                    self.max_replies, self.max_bytes
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_replies_and_bytes() {
        let mut caps = Caps {
            replies: 0,
            bytes: 0,
            max_replies: 2,
            max_bytes: 100,
        };
        assert!(caps.admit(10).is_ok());
        assert!(caps.admit(10).is_ok());
        assert_eq!(caps.admit(0).unwrap_err().code, "too_many_replies");
        let mut caps = Caps {
            replies: 0,
            bytes: 0,
            max_replies: 10,
            max_bytes: 100,
        };
        assert!(caps.admit(100).is_ok());
        let e = caps.admit(1).unwrap_err();
        assert_eq!(
            (e.code, e.status),
            ("too_many_replies", StatusCode::BAD_GATEWAY)
        );
    }
}

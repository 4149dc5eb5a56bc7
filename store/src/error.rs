//! The store's errors.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed: a full disk, an IO error, a file another process holds. Nothing
    /// was half written: redb commits atomically, so the last committed state stays.
    #[error("store database: {0}")]
    Db(#[from] redb::Error),
    /// The network failed.
    #[error(transparent)]
    Transport(#[from] safething::transport::TransportError),
    /// A background task ended unexpectedly.
    #[error("store task: {0}")]
    Task(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> StoreError {
                StoreError::Db(e.into())
            }
        }
    )*};
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

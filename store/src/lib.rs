//! The SAFEthing store (`docs/store.md`): a peer that keeps what things publish — attribute
//! updates, events, request states, descriptions — byte for byte in an embedded redb
//! database, and serves it back when devices are offline. It holds no keys: sealed bodies stay
//! sealed, and clients verify every frame it returns against the thing's key.
//!
//! ```no_run
//! # async fn run(transport: std::sync::Arc<dyn safething::transport::Transport>) -> Result<(), safething_store::StoreError> {
//! use safething_store::{Db, Retention, Store};
//! let db = Db::open("store.redb".as_ref(), Retention::default())?;
//! let store = Store::start(transport, db).await?;
//! # drop(store); Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod catch_up;
mod check;
mod db;
mod error;
mod retention;
mod service;

pub use catch_up::CATCH_UP_EVERY;
pub use check::{Accepted, Checker, Dropped};
pub use db::{Db, Incoming, Kept};
pub use error::StoreError;
pub use retention::Retention;
pub use service::{READERS, Stats, Store};

/// The database file inside a store's directory.
pub const DB_FILE: &str = "store.redb";

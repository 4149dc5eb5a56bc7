//! What the network tests share: a client, a store on an in-process network, and waiting for
//! a condition with a deadline (never a fixed sleep).

use std::sync::Arc;
use std::time::Duration;

use safething::Identity;
use safething::client::{Client, ClientConfig};
use safething::transport::memory::MemoryNetwork;
use safething_store::{Db, Retention, Store};

/// A client with `identity`, whose requests time out after 500 ms (a gone device is noticed
/// quickly).
pub async fn client(net: &MemoryNetwork, identity: Identity) -> Client {
    Client::builder()
        .transport(net.session())
        .identity(identity)
        .config(ClientConfig::default().with_request_timeout(Duration::from_millis(500)))
        .build()
        .await
        .expect("client")
}

/// A store on `net` keeping its database in `dir`.
pub async fn store(net: &MemoryNetwork, dir: &tempfile::TempDir, retention: Retention) -> Store {
    let db = Db::open(&dir.path().join("s.redb"), retention).expect("db");
    Store::start(Arc::new(net.session()), db)
        .await
        .expect("store")
}

/// Waits (5 s at most) until `f` holds.
pub async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

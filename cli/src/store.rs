//! `safething store --dir DIR`: a peer that keeps what things publish and serves it back when
//! their devices are offline (`docs/store.md`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use safething::transport::zenoh::ZenohTransport;
use safething_store::{DB_FILE, Db, Retention, Store};

use crate::commands::wait_for_signal;
use crate::out::outln;
use crate::{Cli, Failure, net, show};

/// Runs a store in `dir` until Ctrl-C or SIGTERM.
pub async fn run(cli: &Cli, dir: &Path, retention: Retention) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::new(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(DB_FILE);
    let db = Db::open(&path, retention)
        .map_err(|e| Failure::new(format!("cannot open {}: {e}", path.display())))?;
    let config = net::config(cli, false)?;
    let transport = ZenohTransport::open(&config).await?;
    let store = Store::start(Arc::new(transport.clone()), db).await?;
    if cli.json {
        show::print_json(&json!({"store": path, "zid": transport.zid()}))?;
    } else {
        outln!(
            "store {} keeping publications in {}",
            transport.zid(),
            path.display()
        );
    }
    let failure = tokio::select! {
        () = wait_for_signal() => None,
        e = store.failure() => Some(e),
    };
    let stats = store.stats();
    tracing::info!(
        stored = stats.stored(),
        dropped = stats.dropped(),
        "store stopping"
    );
    store.close().await;
    transport.close().await?;
    match failure {
        None => Ok(()),
        Some(e) => Err(Failure::new(format!(
            "{e}: the store stopped writing; what it committed in {} is intact — fix the cause \
             (free space) and start it again",
            path.display()
        ))),
    }
}

/// The retention from the command line, defaults for what is not given.
pub fn retention(
    max_count: Option<u64>,
    max_age: Option<Duration>,
    max_bytes: Option<u64>,
    max_total_bytes: Option<u64>,
) -> Retention {
    let d = Retention::default();
    Retention {
        max_count: max_count.unwrap_or(d.max_count),
        max_age: max_age.unwrap_or(d.max_age),
        max_bytes: max_bytes.unwrap_or(d.max_bytes),
        max_total_bytes: max_total_bytes.unwrap_or(d.max_total_bytes),
    }
}

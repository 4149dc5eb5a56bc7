//! Which things are online, from their liveliness tokens.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::keys;
use crate::transport::{Liveliness, Transport};

/// A thing went online (`true`) or offline (`false`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) id: String,
    pub(crate) online: bool,
}

pub(crate) struct Presence {
    online: Arc<RwLock<HashSet<String>>>,
    changes: broadcast::Sender<Change>,
}

impl Presence {
    pub(crate) async fn start(
        transport: &dyn Transport,
        shutdown: CancellationToken,
    ) -> Result<Presence> {
        let mut watch = transport.watch_liveliness(keys::ALL_THINGS).await?;
        let online = Arc::new(RwLock::new(HashSet::new()));
        let (changes, _) = broadcast::channel(256);
        let (set, tx) = (online.clone(), changes.clone());
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    e = watch.recv() => match e { Some(e) => e, None => break },
                    () = shutdown.cancelled() => break,
                };
                let (key, alive) = match event {
                    Liveliness::Alive(k) => (k, true),
                    Liveliness::Gone(k) => (k, false),
                };
                let Some(id) = keys::parse_thing(&key) else {
                    continue;
                };
                {
                    let mut set = set.write().unwrap_or_else(|e| e.into_inner());
                    if alive {
                        set.insert(id.to_owned());
                    } else {
                        set.remove(id);
                    }
                }
                tracing::debug!(thing = %id, online = alive, "presence");
                let _ = tx.send(Change {
                    id: id.to_owned(),
                    online: alive,
                });
            }
        });
        Ok(Presence { online, changes })
    }

    pub(crate) fn is_online(&self, id: &str) -> bool {
        self.online
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }
}

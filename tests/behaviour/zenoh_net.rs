//! The suites' network over Zenoh.

use std::sync::Mutex;
use std::time::Duration;

use super::{Session, TestNet};
use futures::future::BoxFuture;
use safething::transport::zenoh::{ZenohConfig, ZenohTransport};
use safething::transport::{Reply, Transport};
use tokio::sync::OnceCell;

/// One test's network over Zenoh: a hub session, and every participant opened on it, on unix
/// sockets in a directory of its own test (no TCP ports to collide, no multicast), meeting in
/// a star around the hub with gossip on, so that every session reaches every other directly.
pub struct Zenoh {
    dir: tempfile::TempDir,
    hub: OnceCell<ZenohTransport>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next: usize,
    /// Every session opened (the hub first).
    sessions: Vec<ZenohTransport>,
}

const PROBE: &str = "safething-test/probe";

impl Zenoh {
    /// A fresh network in a temporary directory of its own.
    pub fn new() -> Zenoh {
        Zenoh {
            dir: tempfile::Builder::new()
                .prefix("st-")
                .tempdir()
                .expect("a temporary directory"),
            hub: OnceCell::new(),
            state: Mutex::new(State::default()),
        }
    }

    fn endpoint(&self, name: &str) -> String {
        format!(
            "unixsock-stream/{}",
            self.dir.path().join(format!("{name}.sock")).display()
        )
    }

    async fn open(&self, name: &str, connect: Vec<String>) -> ZenohTransport {
        let config = ZenohConfig::new()
            .listen([self.endpoint(name)])
            .connect(connect)
            .multicast(false)
            .gossip(true);
        let transport = ZenohTransport::open(&config)
            .await
            .expect("a Zenoh session opens");
        // Every session answers probes, so that a new one can tell when it reaches them all.
        let mut probe = transport
            .queryable(&format!("{PROBE}/{name}"))
            .await
            .expect("probe");
        let me = format!("{PROBE}/{name}");
        tokio::spawn(async move {
            while let Some(q) = probe.recv().await {
                let _ = q.reply(&me, bytes::Bytes::new());
            }
        });
        transport
    }

    async fn hub(&self) -> &ZenohTransport {
        self.hub
            .get_or_init(|| async {
                let hub = self.open("hub", Vec::new()).await;
                self.state.lock().expect("state").sessions.push(hub.clone());
                hub
            })
            .await
    }

    /// Waits until `transport` gets an answer from every live session's probe: then it is
    /// connected to each, and their declarations have reached it.
    async fn reach_everyone(&self, transport: &ZenohTransport, expected: usize) {
        super::within("a new session to reach every other", async {
            loop {
                let mut replies = transport
                    .query(&format!("{PROBE}/*"), None, Duration::from_secs(1))
                    .await
                    .expect("probe query");
                let mut seen = std::collections::BTreeSet::new();
                while let Some(reply) = replies.recv().await {
                    if let Reply::Ok(sample) = reply {
                        seen.insert(sample.key);
                    }
                }
                // Itself included.
                if seen.len() > expected {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }
}

impl TestNet for Zenoh {
    fn session(&self) -> BoxFuture<'_, Session> {
        Box::pin(async move {
            self.hub().await;
            let name = {
                let mut state = self.state.lock().expect("state");
                state.next += 1;
                format!("s{}", state.next)
            };
            let transport = self.open(&name, vec![self.endpoint("hub")]).await;
            let alive = {
                let state = self.state.lock().expect("state");
                state
                    .sessions
                    .iter()
                    .filter(|s| !s.session().is_closed())
                    .count()
            };
            self.reach_everyone(&transport, alive).await;
            self.state
                .lock()
                .expect("state")
                .sessions
                .push(transport.clone());
            let killer = transport.clone();
            // The crash switch runs synchronously: it closes the session at once (its
            // liveliness tokens vanish, as when the process dies).
            let kill: Box<dyn Fn() + Send + Sync> = Box::new(move || {
                let _ = killer.close_blocking();
            });
            Session {
                transport: std::sync::Arc::new(transport),
                kill,
            }
        })
    }

    fn settle(&self) -> Duration {
        Duration::from_millis(200)
    }
}

impl Drop for Zenoh {
    fn drop(&mut self) {
        // Nothing outlives the test: close every session (closing twice is harmless).
        let sessions = std::mem::take(&mut self.state.lock().expect("state").sessions);
        for transport in sessions {
            let _ = transport.close_blocking();
        }
    }
}

//! The behaviour suite on the in-process transport.

mod behaviour;

use behaviour::{Session, TestNet};
use futures::future::BoxFuture;
use safething::transport::memory::MemoryNetwork;

struct Memory(MemoryNetwork);

impl TestNet for Memory {
    fn session(&self) -> BoxFuture<'_, Session> {
        Box::pin(async move {
            let transport = self.0.session();
            let killer = transport.clone();
            Session {
                transport: std::sync::Arc::new(transport),
                kill: Box::new(move || killer.close()),
            }
        })
    }
}

behaviour_suite!(Memory(MemoryNetwork::new()));

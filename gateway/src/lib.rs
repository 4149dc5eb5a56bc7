//! The gateway: the SAFEthing key space over HTTP and WebSocket, for browsers and small devices
//! that cannot speak Zenoh, and the web console (protocol: `docs/gateway.md`).
//!
//! The gateway is a **relay, not a middleman**. It holds no one's key: every console signs its
//! own requests and verifies (and decrypts) what it receives. Protocol v2 frames cross it byte
//! for byte (base64url in JSON, binary WebSocket messages), never re-encoded, so signatures made
//! by a browser verify at the device and the device's at the browser. It checks only what keeps
//! the network clean (keys under `safething/v1/`, well-formed request frames, sizes, timeouts,
//! how many queries and operations run, which `Host` names it answers to); access control stays
//! with the devices.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use safething_gateway::{Gateway, GatewayConfig};
//! use safething::transport::memory::MemoryNetwork;
//!
//! let network = MemoryNetwork::new();
//! let gateway = Gateway::new(Arc::new(network.session()), GatewayConfig::default()).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! gateway.serve(listener, None, std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! Routes ([`ROUTES`], documented in [`OPENAPI`]): `GET /v2/things`, `GET /v2/things/{id}`,
//! `POST /v2/query`, `GET /v2/ws` (WebSocket), `GET /v2/openapi.json`, `GET /` (the console),
//! `GET /console/{file}` (its scripts) and `GET /sdk/{file}` (the compiled TypeScript runtime,
//! ES modules).

mod check;
mod error;
mod http;
mod query;
mod tls;
mod ws;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub use check::{DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS};
pub use error::ApiError;
pub use tls::{TlsConfig, TlsError, TlsListener};
pub use ws::{MAX_KEY_LEN, TAG_REPLY, TAG_SAMPLE};

use safething::envelope::{Signing, Verifier};
use safething::keys;
use safething::transport::{Liveliness, Transport, TransportError};

/// The largest request body and WebSocket frame the gateway accepts: 64 KiB.
pub const MAX_BODY: usize = 64 * 1024;

/// How many operations (subscriptions, queries, liveliness watches) one socket may keep open.
pub const MAX_OPERATIONS: usize = 256;

/// How many queries (HTTP and WebSocket together) may be in flight at once.
pub const MAX_QUERIES: usize = 64;

/// How many replies one query may collect.
pub const MAX_REPLIES: usize = 1024;

/// How many bytes of frames one query may collect: 8 MiB.
pub const MAX_REPLY_BYTES: usize = 8 << 20;

/// The OpenAPI 3.1 document of the HTTP API, as served at `GET /v2/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route the gateway serves, as (method, path) with `{parameter}`s as in [`OPENAPI`].
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/console/{file}"),
    ("GET", "/sdk/{file}"),
    ("GET", "/v2/things"),
    ("GET", "/v2/things/{id}"),
    ("POST", "/v2/query"),
    ("GET", "/v2/ws"),
    ("GET", "/v2/openapi.json"),
];

/// Tuning and limits of a [`Gateway`].
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// How long `GET /v2/things` waits for descriptions (default 1 s).
    pub discovery_timeout: Duration,
    /// How long `GET /v2/things/{id}` waits for the description (default 5 s).
    pub request_timeout: Duration,
    /// The largest request body and WebSocket text frame, in bytes (default [`MAX_BODY`]).
    pub max_body: usize,
    /// Open operations per socket (default [`MAX_OPERATIONS`]).
    pub max_operations: usize,
    /// Open WebSockets in all (default 1024); more are refused with 503.
    pub max_sockets: usize,
    /// Origins (`scheme://host[:port]`) besides the gateway's own whose pages may use the API.
    /// Browsers send `Origin` with cross-origin requests and WebSocket handshakes; requests
    /// whose origin is neither the gateway's own nor listed here are refused (403).
    pub allowed_origins: Vec<String>,
    /// Host names (port ignored) the gateway answers to besides `localhost`, `127.0.0.1`,
    /// `[::1]` and the host of the address it listens on: requests naming any other `Host` are
    /// refused (403), so a page whose domain was rebound to the gateway's address gets nothing.
    pub allowed_hosts: Vec<String>,
    /// Queries in flight at once, HTTP and WebSocket together (default [`MAX_QUERIES`]); more
    /// are refused with 503 `too_many_queries`.
    pub max_queries: usize,
    /// The longest a query may stay open, in milliseconds (default [`MAX_TIMEOUT_MS`]): longer
    /// `timeout_ms` are clamped to it.
    pub max_query_ms: u64,
    /// Replies one query may collect (default [`MAX_REPLIES`]).
    pub max_replies: usize,
    /// Bytes of frames one query may collect (default [`MAX_REPLY_BYTES`]).
    pub max_reply_bytes: usize,
}

impl GatewayConfig {
    /// Also answers to requests whose `Host` is `name` (a DNS name or address; a port is
    /// ignored), such as the name a LAN console uses.
    #[must_use]
    pub fn allow_host(mut self, name: impl Into<String>) -> GatewayConfig {
        self.allowed_hosts.push(name.into());
        self
    }
}

impl Default for GatewayConfig {
    fn default() -> GatewayConfig {
        GatewayConfig {
            discovery_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            max_body: MAX_BODY,
            max_operations: MAX_OPERATIONS,
            max_sockets: 1024,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_queries: MAX_QUERIES,
            max_query_ms: MAX_TIMEOUT_MS,
            max_replies: MAX_REPLIES,
            max_reply_bytes: MAX_REPLY_BYTES,
        }
    }
}

/// A gateway on one transport session. Clones share it; [`Gateway::router`] is its HTTP
/// service, [`Gateway::serve`] runs it on a listener.
#[derive(Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) config: GatewayConfig,
    /// Things whose liveliness token exists.
    pub(crate) online: Mutex<BTreeSet<String>>,
    /// Checks descriptions before they are listed (clients check them again).
    pub(crate) verifier: Verifier,
    pub(crate) sockets: Arc<Semaphore>,
    /// Queries in flight, HTTP and WebSocket together.
    pub(crate) queries: Arc<Semaphore>,
    pub(crate) shutdown: CancellationToken,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Shared {
    pub(crate) fn is_online(&self, id: &str) -> bool {
        self.online
            .lock()
            .map(|set| set.contains(id))
            .unwrap_or(false)
    }
}

impl Gateway {
    /// A gateway relaying to `transport`; starts following which things are online.
    pub async fn new(
        transport: Arc<dyn Transport>,
        config: GatewayConfig,
    ) -> Result<Gateway, TransportError> {
        let watch = transport.watch_liveliness(keys::ALL_THINGS).await?;
        let shared = Arc::new(Shared {
            transport,
            sockets: Arc::new(Semaphore::new(
                config.max_sockets.min(Semaphore::MAX_PERMITS),
            )),
            queries: Arc::new(Semaphore::new(
                config.max_queries.min(Semaphore::MAX_PERMITS),
            )),
            config,
            online: Mutex::new(BTreeSet::new()),
            verifier: Verifier::new(Signing::Signed),
            shutdown: CancellationToken::new(),
        });
        tokio::spawn(follow_presence(
            Arc::downgrade(&shared),
            watch,
            shared.shutdown.clone(),
        ));
        Ok(Gateway { shared })
    }

    /// The HTTP service: every route in [`ROUTES`], JSON errors for everything else. It
    /// answers to the `Host` names `localhost`, `127.0.0.1`, `[::1]` and
    /// [`GatewayConfig::allowed_hosts`]; [`Gateway::serve`] adds its listening address.
    pub fn router(&self) -> Router {
        http::router(self.shared.clone(), None)
    }

    /// Serves on `listener` (with TLS when `tls` is given) until `shutdown` completes; open
    /// WebSockets are closed then too.
    pub async fn serve(
        self,
        listener: TcpListener,
        tls: Option<TlsConfig>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = http::router(self.shared.clone(), listener.local_addr().ok());
        let stop = self.shared.shutdown.clone();
        let signal = async move {
            tokio::select! {
                () = shutdown => {}
                () = stop.cancelled() => {}
            }
        };
        let result = match tls {
            None => {
                axum::serve(listener, router)
                    .with_graceful_shutdown(signal)
                    .await
            }
            Some(tls) => {
                axum::serve(TlsListener::new(listener, &tls), router)
                    .with_graceful_shutdown(signal)
                    .await
            }
        };
        self.shutdown();
        result
    }

    /// Stops the gateway: open WebSockets are closed, [`Gateway::serve`] returns.
    pub fn shutdown(&self) {
        self.shared.shutdown.cancel();
    }

    /// Whether the gateway sees the thing `id` online (its liveliness token exists).
    pub fn is_online(&self, id: &str) -> bool {
        self.shared.is_online(id)
    }

    /// How many queries are in flight now.
    pub fn queries_in_flight(&self) -> usize {
        self.shared
            .config
            .max_queries
            .min(Semaphore::MAX_PERMITS)
            .saturating_sub(self.shared.queries.available_permits())
    }

    /// How many WebSockets are open now.
    pub fn open_sockets(&self) -> usize {
        self.shared
            .config
            .max_sockets
            .min(Semaphore::MAX_PERMITS)
            .saturating_sub(self.shared.sockets.available_permits())
    }
}

async fn follow_presence(
    shared: Weak<Shared>,
    mut watch: safething::transport::LivelinessWatch,
    stop: CancellationToken,
) {
    loop {
        let change = tokio::select! {
            () = stop.cancelled() => return,
            change = watch.recv() => change,
        };
        let Some(change) = change else { return };
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let Ok(mut online) = shared.online.lock() else {
            return;
        };
        match change {
            Liveliness::Alive(key) => {
                if let Some(id) = keys::parse_thing(&key) {
                    online.insert(id.to_owned());
                }
            }
            Liveliness::Gone(key) => {
                if let Some(id) = keys::parse_thing(&key) {
                    online.remove(id);
                }
            }
        }
    }
}

//! The Zenoh transport: things in other processes and on other machines, peer-to-peer with no
//! broker, or through Zenoh routers when a deployment spans sites.
//!
//! ```no_run
//! # async fn demo(definition: safething::ir::CheckedDefinition) -> safething::Result<()> {
//! use safething::transport::zenoh::{ZenohConfig, ZenohTransport};
//! use safething::Device;
//!
//! // A device listening where the things of this machine meet (see `DEFAULT_ENDPOINT`).
//! let transport = ZenohTransport::open(&ZenohConfig::new().listen(["tcp/127.0.0.1:7447"])).await?;
//! let device = Device::builder(definition, "garden-01").transport(transport).build()?;
//! device.register().await?;
//! # Ok(()) }
//! ```
//!
//! How SAFEthing maps onto Zenoh:
//! - publications use congestion control `Block` (nothing is dropped on a busy link), put by
//!   one sender thread per session, so that no async worker ever blocks on a congested link
//!   (the publishing task waits asynchronously for room instead); publications that follow one
//!   another on a key leave in one sample (a [bundle](crate::bundle), split again by each
//!   subscriber); keys published again and again get a declared publisher
//!   ([`ZenohTransport::with_inline_puts`] has the publishing task put at once instead: a
//!   few microseconds less per lone message, but blocking its worker while the link is
//!   congested);
//! - a subscriber that keeps reading loses nothing (one that stops reading loses samples after
//!   a short wait, rather than stalling the session);
//! - queries go to every matching queryable, with no consolidation (an action's `accepted`,
//!   `running` and `done` replies all arrive), and a timeout;
//! - online/offline is a liveliness token per thing; watches start with the tokens alive now.
//!
//! Zenoh needs tokio's multi-thread runtime: under a current-thread runtime every call fails
//! with [`TransportError::Unavailable`](super::TransportError::Unavailable) instead of
//! panicking inside Zenoh.

mod config;
mod session;

pub use config::{
    ConfigError, DEFAULT_ENDPOINT, Mode, PROTOCOLS, ZenohConfig, check_endpoint, env,
    parse_duration,
};
pub use session::ZenohTransport;

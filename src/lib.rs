//! # SAFEthing runtime
//!
//! Things describe themselves once (a TOML definition or `#[derive(SafeThing)]`); this crate
//! moves their signed, access-checked messages between devices and clients over a
//! [`Transport`](transport::Transport): in-process ([`transport::memory`]) or a real
//! peer-to-peer network.
//!
//! - [`device::Device`]: a thing's own side — attributes, events, actions, lifecycle.
//! - [`client::Client`]: everyone else — discovery, reads, watches with [`Filter`]s, events,
//!   writes, actions with a handle to follow, await and cancel them.
//! - [`identity`], [`envelope`]: keys and signed messages; [`access`]: who may do what.
//! - [`wire`], [`keys`]: the messages and where they travel.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod client;
pub mod crypto;
pub mod device;
pub mod envelope;
mod error;
pub mod filter;
pub mod identity;
pub mod keys;
pub mod provisioning;
pub mod transport;
pub mod wire;

pub use client::Client;
pub use device::Device;
pub use error::{AffordanceKind, Error, Result};
pub use filter::Filter;
pub use identity::{Identity, PublicKey};
pub use safething_ir as ir;

/// The README's examples are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

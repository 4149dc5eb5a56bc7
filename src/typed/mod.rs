//! The typed layer that generated code stands on.
//!
//! `safething-gen rust` and `safething_codegen::Builder` (and `#[derive(SafeThing)]`) generate,
//! per thing, a handler trait, a device handle and a client whose methods take and return Rust
//! types. Everything generic lives here, so the generated code stays small:
//!
//! - [`Filter<T>`] and [`Field<T, F>`]: subscription filters checked by the compiler;
//! - [`Watch<T>`], [`EventStream<T>`], [`AttributeReading<T>`], [`HistoryEntry<T>`],
//!   [`Update<T>`], [`EventDelivery<T>`]: the client's results, typed (the names mirror the
//!   untyped ones in [`crate::client`]);
//! - [`Invocation<O>`] and [`ActionHandle<O>`]: action requests with a typed output;
//! - [`ThingClient`]: what every generated client offers besides its affordances (`connect`,
//!   `id`, `description`, ...), in a trait so that no affordance name is reserved;
//! - [`DeviceBuilder<D>`] and the adapter helpers ([`decode_input`], [`encode_output`], ...)
//!   that connect a typed handler to the untyped [`Handler`](crate::device::Handler);
//! - [`SafeThing`] and [`DerivedBuilder`]: the definition of a `#[derive(SafeThing)]` struct,
//!   completed at run time with the JSON Schemas of its payload types.
//!
//! The functions here are public for generated code; applications use the generated API.

mod client;
mod derived;
mod device;
mod filter;
mod thing;

pub use client::{
    ActionHandle, AttributeReading, EventDelivery, EventStream, HistoryEntry, Invocation, Update,
    Watch, check_compatible, history, read, subscribe, watch, write,
};
pub use derived::{Derived, DerivedBuilder, SafeThing};
pub use device::{
    DeviceBuilder, check_device, decode_input, decode_written, emit, encode_output, set_attribute,
    unknown_action, unknown_write,
};
pub use filter::{Field, Filter, Number, Ordered};
pub use thing::ThingClient;

/// Where a reading came from (the device or a store).
pub use crate::client::Source;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use safething_ir::Definition;

use crate::error::{Error, Result};

/// Encodes a typed payload as JSON; `what` names it in the error.
pub fn encode<T: Serialize>(value: &T, what: impl FnOnce() -> String) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Codec {
        what: what(),
        reason: e.to_string(),
    })
}

/// Decodes a JSON payload into its Rust type; `what` names it in the error.
pub fn decode<T: DeserializeOwned>(value: Value, what: impl FnOnce() -> String) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::Codec {
        what: what(),
        reason: e.to_string(),
    })
}

/// Parses a definition embedded by the generator. The generator wrote the JSON from a valid
/// definition, so this cannot fail in practice; if it did, the result is a definition that
/// fails validation, so building a device or client reports it instead of panicking.
pub fn parse_definition(json: &str) -> Definition {
    serde_json::from_str(json).unwrap_or_default()
}

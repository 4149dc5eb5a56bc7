//! The device side of typed things: a builder that makes the generated handle, and the helpers
//! the generated adapter (typed handler -> untyped [`Handler`](crate::device::Handler)) uses.

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use safething_ir::{CheckedDefinition, Definition, Invalid};

use crate::device::{Device, DeviceBuilder as RawBuilder, DeviceConfig, WriteError};
use crate::envelope::Signing;
use crate::error::Result;
use crate::identity::{Identity, PublicKey};
use crate::transport::Transport;
use crate::wire::ActionError;

/// Builds a typed device handle `D` (e.g. the generated `GardeningDevice`): the same options as
/// [`crate::device::DeviceBuilder`], with the definition already chosen.
pub struct DeviceBuilder<D> {
    // `Err` when the thing's definition did not pass its check: `build` reports it.
    raw: std::result::Result<RawBuilder, Invalid>,
    wrap: fn(Device) -> D,
}

impl<D> std::fmt::Debug for DeviceBuilder<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.raw {
            Ok(raw) => raw.fmt(f),
            Err(invalid) => f.debug_tuple("DeviceBuilder").field(invalid).finish(),
        }
    }
}

impl<D> DeviceBuilder<D> {
    /// A builder of a device of type `definition` with id `id`; `wrap` makes the typed handle.
    /// `definition` is the generated code's one check of its definition (at first use): when
    /// it failed, `build()` returns its diagnostics.
    pub fn new(
        definition: std::result::Result<CheckedDefinition, Invalid>,
        id: impl Into<String>,
        wrap: fn(Device) -> D,
    ) -> Self {
        DeviceBuilder {
            raw: definition.map(|d| Device::builder(d, id)),
            wrap,
        }
    }

    fn map(self, f: impl FnOnce(RawBuilder) -> RawBuilder) -> Self {
        DeviceBuilder {
            raw: self.raw.map(f),
            ..self
        }
    }

    /// The network to serve on.
    pub fn transport(self, transport: impl Transport) -> Self {
        self.map(|b| b.transport(transport))
    }

    /// The network to serve on, already shared.
    pub fn transport_arc(self, transport: Arc<dyn Transport>) -> Self {
        self.map(|b| b.transport_arc(transport))
    }

    /// The thing's key pair (default: a fresh one, kept in memory).
    pub fn identity(self, identity: Identity) -> Self {
        self.map(|b| b.identity(identity))
    }

    /// Provisions the owner (instead of a claim).
    pub fn owner(self, owner: PublicKey) -> Self {
        self.map(|b| b.owner(owner))
    }

    /// Provisions a group member.
    pub fn member(self, member: PublicKey) -> Self {
        self.map(|b| b.member(member))
    }

    /// Tuning.
    pub fn config(self, config: DeviceConfig) -> Self {
        self.map(|b| b.config(config))
    }

    /// How many action requests run at once (default 4).
    pub fn concurrency(self, n: usize) -> Self {
        self.map(|b| b.concurrency(n))
    }

    /// How many accepted requests may wait (default 64).
    pub fn queue_capacity(self, n: usize) -> Self {
        self.map(|b| b.queue_capacity(n))
    }

    /// Signed (default) or unsigned messages.
    pub fn signing(self, signing: Signing) -> Self {
        self.map(|b| b.signing(signing))
    }

    /// Any other change to the untyped builder.
    pub fn with(self, f: impl FnOnce(RawBuilder) -> RawBuilder) -> Self {
        self.map(f)
    }

    /// Checks the id and builds the device (not yet on the network: call its `register`);
    /// fails with the definition's diagnostics when it did not pass its check.
    pub fn build(self) -> Result<D> {
        Ok((self.wrap)(self.raw?.build()?))
    }
}

/// Checks that `device` serves exactly `expected` (to wrap an untyped device in a typed handle).
pub fn check_device(device: &Device, expected: &Definition) -> Result<()> {
    let found = device.definition();
    if found == expected {
        Ok(())
    } else {
        Err(crate::Error::Incompatible {
            thing: device.id().to_string(),
            expected: format!("{} {}", expected.thing.name, expected.thing.version),
            found: format!(
                "{} {} (or a different definition)",
                found.thing.name, found.thing.version
            ),
        })
    }
}

/// Decodes the input of `action` for a typed handler. Inputs have been checked against the
/// definition already, so this fails only when the Rust type and the schema disagree.
pub fn decode_input<T: DeserializeOwned>(action: &str, input: Value) -> Result<T, ActionError> {
    serde_json::from_value(input).map_err(|e| {
        ActionError::new(
            "invalid_input",
            format!("the input of action `{action}` does not fit its Rust type: {e}"),
        )
    })
}

/// Encodes the output of `action` returned by a typed handler.
pub fn encode_output<T: Serialize>(action: &str, output: &T) -> Result<Value, ActionError> {
    serde_json::to_value(output).map_err(|e| {
        ActionError::new(
            "invalid_output",
            format!("the output of action `{action}` cannot be encoded: {e}"),
        )
    })
}

/// Decodes a value written to `attribute` for a typed handler.
pub fn decode_written<T: DeserializeOwned>(attribute: &str, value: Value) -> Result<T, WriteError> {
    serde_json::from_value(value).map_err(|e| {
        WriteError::new(format!(
            "the value written to `{attribute}` does not fit its Rust type: {e}"
        ))
    })
}

/// The answer to an action the typed handler does not know.
pub fn unknown_action(action: &str) -> BoxFuture<'static, Result<Value, ActionError>> {
    let error = ActionError::new("no_handler", format!("no handler for action `{action}`"));
    Box::pin(async move { Err(error) })
}

/// The answer to a write the typed handler does not know.
pub fn unknown_write(attribute: &str) -> BoxFuture<'static, Result<(), WriteError>> {
    let error = WriteError::not_accepted(attribute);
    Box::pin(async move { Err(error) })
}

/// Sets a dynamic attribute of `device` to a typed value (see [`Device::set_attribute`]).
pub async fn set_attribute<T: Serialize>(device: &Device, name: &str, value: &T) -> Result<bool> {
    let value = super::encode(value, || format!("value of attribute `{name}`"))?;
    device.set_attribute(name, value).await
}

/// Emits an event of `device` with typed data, `&()` for events without data (see
/// [`Device::emit_event`]).
pub async fn emit<T: Serialize>(device: &Device, name: &str, data: &T) -> Result<()> {
    let data = super::encode(data, || format!("data of event `{name}`"))?;
    device.emit_event(name, data).await
}

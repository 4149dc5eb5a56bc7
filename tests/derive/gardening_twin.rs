//! The gardening device of `examples/things/gardening_device.toml`, defined with
//! `#[derive(SafeThing)]`: the same definition (IR and Thing Description), so a device of one
//! serves clients of the other. Shared by `tests/derive_equivalence.rs` and
//! `tests/generated/tests/derive_interop.rs`.

use safething::SafeThing;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The gardening device, as Rust. (Doc comments on fields and variants of the payload types
/// would become descriptions in their schemas: the TOML definition has none there.)
#[derive(SafeThing)]
#[safething(
    name = "GardeningDevice",
    title = "Gardening device",
    description = "Soil moisture sensor with a water valve",
    version = "1.0.0"
)]
#[safething(event(
    name = "very_dry_alarm",
    data = Reading,
    access = "all",
    description = "Moisture fell below the dry threshold"
))]
#[safething(event(
    name = "very_wet_alarm",
    data = Reading,
    access = "all",
    description = "Moisture rose above the wet threshold"
))]
#[safething(action(
    name = "open_valve",
    input = OpenValveInput,
    output = ValveState,
    timeout = "30s",
    access = "owner",
    description = "Open the water valve"
))]
#[safething(action(
    name = "close_valve",
    access = "owner",
    idempotent,
    description = "Close the water valve"
))]
pub struct Garden {
    #[safething(static, value = "v0.1.0", access = "all")]
    pub firmware: String,
    /// Soil moisture, updated every minute
    #[safething(
        unit = "percent",
        minimum = 0,
        maximum = 100,
        history = 100,
        access = "group"
    )]
    pub moisture_level: f64,
    #[safething(access = "all")]
    pub valve_state: ValveState,
    /// The moisture the controller aims for
    #[safething(unit = "percent", minimum = 0, maximum = 100, default = 40, writable)]
    pub target_level: f64,
}

/// Whether water flows
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ValveState {
    Open,
    Closed,
}

/// One moisture measurement
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reading {
    #[schemars(range(min = 0, max = 100), extend("unit" = "percent"))]
    pub level: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub at: Option<String>,
}

// The input of `open_valve`: inline in the TOML definition, so inline here too (and without
// a doc comment, which would be its description).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct OpenValveInput {
    #[schemars(range(max = 120))]
    pub psi: u8,
}

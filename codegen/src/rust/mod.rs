//! The Rust generator: one module per thing with its data types, a `<Thing>Handler` trait, a
//! `<Thing>` device handle and a `<Thing>Client`, on top of the runtime's
//! [`safething::typed`](https://docs.rs/safething) layer.
//!
//! It has two halves, like tonic-build's service generator, which does not know protobuf:
//!
//! - **type generation** ([`generate`]): Rust data types from the definition's schemas, named by
//!   [`safething_ir::types::type_plan`] — what the TOML front end uses;
//! - **service generation** ([`generate_service`]): the handler trait, device handle and client
//!   over a [`ServiceModel`], in which every payload already has a Rust type. The derive front
//!   end builds the model from the user's own types and calls this directly.
//!
//! # Mapping from schemas to Rust
//!
//! | Schema | Rust |
//! | --- | --- |
//! | `ref = "Name"` | the named type `Name` |
//! | `type = "object"` | a struct; required properties are fields, others `Option<T>` (omitted when `None`); `#[serde(rename)]` where the field name had to change (`self` -> `self_`), keywords become raw identifiers (`r#type`); unknown fields are rejected |
//! | `type = "string"` with `enum` | an enum with one unit variant per value (`"very-dry"` -> `VeryDry`), `as_str()` |
//! | `oneOf` of objects told apart by a `const` string property (a *tagged union*, [`safething_ir::union`]) | an internally tagged enum, `#[serde(tag = "mode")]`: one struct variant per alternative holding its other properties (`Calibration::Manual { reference_ppm }`, `Calibration::Auto {}`), named by the alternative's `title`, else its tag value; a referenced alternative's properties are copied into its variant and `From<ThatType>` is implemented |
//! | other `oneOf` | an untagged enum: one variant per alternative, named by its `title`, its `ref`, or its type (a union tagged by an integer or boolean: by its `title`, else its tag value) |
//! | `const` of a string, number or boolean | a unit struct that serializes as exactly that value and deserializes from nothing else (`HeaderVersion::VALUE == "v1"`) |
//! | `type = "array"` | `Vec<T>` (`Vec<serde_json::Value>` without `items`) |
//! | `type = "object"` with `additionalProperties` (an open map) | `BTreeMap<String, T>` |
//! | `type = "integer"` | the smallest of `u8`..`u64`, `i8`..`i64` (`u128`/`i128` beyond) holding the declared range (`minimum`, `maximum`, exclusive bounds, `enum`/`const` values); `i64` when unbounded on either side |
//! | `type = "number"` | `f64` |
//! | `type = "string"` | `String` |
//! | `type = "boolean"` | `bool` |
//! | `type = "null"`, no event data, no action input/output | `()` |
//! | anything else (`enum` without a type, mixed enums, `const` of an object or array) | `serde_json::Value` |
//! | named type of a primitive or array | `pub type Name = ...;` |
//!
//! Inline objects, string enums, unions and constants in payloads become types named after their
//! place: `OpenValveInput`, `BoostOutput`, `WateringStartedData`, `ScheduleEntriesItem`; the
//! inline alternatives of a tagged union after their variant (`CalibrationTwoPoint`, whose
//! nested types are `CalibrationTwoPointPointsItem`, ...).
//!
//! Variant names of tagged unions come from the alternative's `title` when it has one (the
//! author's explicit choice), else from the tag value, in PascalCase (`"two-point"` ->
//! `TwoPoint`); names that collide after casing get a number (`OnOff`, `OnOff2`). Variants are
//! struct variants even without fields (`Auto {}`): serde lets a unit variant of an internally
//! tagged enum ignore unknown properties, and objects are closed. A referenced alternative is no
//! newtype variant: its named struct keeps the tag field (it is usable on its own), and serde
//! would then write the tag twice.
//!
//! Derives: `Clone, Debug, PartialEq, Serialize, Deserialize` always; `Eq, Hash` when nothing
//! inside is a float or a JSON value; `Copy` when nothing inside owns memory; `Default` for
//! structs whose fields are all optional; `PartialOrd, Ord` for string enums. Doc comments come
//! from titles, descriptions, units, formats, defaults and constraints. Each struct gets one
//! [`Field`](https://docs.rs/safething) constant per property for typed filters
//! (`Reading::LEVEL.lt(5.0)`).
//!
//! # Names
//!
//! Any snake_case name works for an attribute, event or action: the client's inherent methods
//! are all its affordances' (`state()`, `watch_state`, `connect()` for an action `connect`, ...)
//! and the framework's operations (`connect`, `new`, `definition`, `id`, `description`,
//! `is_online`, `thing`) are those of the trait `safething::ThingClient` that it implements, so
//! `ThingClient::id(&client)` always means the framework. Device handles get `set_<attr>` and
//! `emit_<event>` beside their own methods, which no name can produce. Keywords are escaped
//! (`r#type`, `self_`) and method names such as `new`, `clone` or `into_x` carry the lint
//! allowances they need. Only affordances can collide, with each other.
//!
//! Generated code names everything by absolute path (`::core::option::Option`,
//! `::safething::...`), so definitions with types named `Option`, `Result`, `String` or `Vec`
//! compile; it has no inner attributes, so it can be `include!`d.

mod client;
mod device;
mod handler;
mod idents;
mod model;
pub(crate) mod types;

pub use model::{Embed, Payloads, ServiceModel};

use std::fmt;

use proc_macro2::TokenStream;

use safething_ir::{CheckedDefinition, Definition, IrPath};

use model::Ctx;
use types::TypeGen;

/// The first line of every generated file.
pub const HEADER: &str = "// @generated by safething-gen. Do not edit.\n";

/// Why code could not be generated.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum GenError {
    /// Something the generator cannot express (e.g. a model without a type for a payload).
    Unsupported(String),
    /// The generated tokens do not parse as a Rust file: a bug in the generator.
    Syntax(String),
}

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenError::Unsupported(message) => write!(f, "cannot generate Rust code: {message}"),
            GenError::Syntax(message) => {
                write!(
                    f,
                    "generated Rust code does not parse (a generator bug): {message}"
                )
            }
        }
    }
}

impl std::error::Error for GenError {}

/// The Rust module of a thing (data types and service), formatted, with the `@generated`
/// header.
pub fn generate(definition: &CheckedDefinition) -> Result<String, GenError> {
    format_file(generate_tokens(definition)?)
}

/// Like [`generate`], unformatted.
pub fn generate_tokens(definition: &CheckedDefinition) -> Result<TokenStream, GenError> {
    let definition = definition.definition();
    let runtime = quote::quote!(::safething);
    let types = TypeGen::new(definition, &runtime);
    let payloads = payloads(definition, &types)?;
    let model = ServiceModel::new(definition, payloads);
    let mut tokens = types.items()?;
    tokens.extend(generate_service(&model)?);
    Ok(tokens)
}

/// The Rust types of every payload of `definition`, as type generation names them.
fn payloads(definition: &Definition, types: &TypeGen<'_>) -> Result<Payloads, GenError> {
    let mut p = Payloads::default();
    for (name, a) in &definition.attributes {
        let path = IrPath::of(["attributes", name.as_str()]);
        p.attributes
            .insert(name.clone(), types.rust_type(&a.schema, &path)?);
    }
    for (name, e) in &definition.events {
        let path = IrPath::of(["events", name.as_str(), "data"]);
        let ty = e
            .data
            .as_ref()
            .map(|s| types.rust_type(s, &path))
            .transpose()?;
        p.events.insert(name.clone(), ty);
    }
    for (name, a) in &definition.actions {
        let at = IrPath::of(["actions", name.as_str()]);
        let input = a
            .input
            .as_ref()
            .map(|s| types.rust_type(s, &at.key("input")))
            .transpose()?;
        let output = a
            .output
            .as_ref()
            .map(|s| types.rust_type(s, &at.key("output")))
            .transpose()?;
        p.inputs.insert(name.clone(), input);
        p.outputs.insert(name.clone(), output);
    }
    Ok(p)
}

/// Service generation: the handler trait, the device handle and the client of `model`'s thing,
/// referring to the payload types the model names (which the caller must provide).
pub fn generate_service(model: &ServiceModel<'_>) -> Result<TokenStream, GenError> {
    let cx = Ctx::new(model)?;
    let mut tokens = handler::handler_trait(&cx)?;
    tokens.extend(device::device(&cx)?);
    tokens.extend(client::client(&cx)?);
    Ok(tokens)
}

/// Formats generated tokens as a file: parsed, pretty-printed, with [`HEADER`] first.
pub fn format_file(tokens: TokenStream) -> Result<String, GenError> {
    let file: syn::File = syn::parse2(tokens).map_err(|e| GenError::Syntax(e.to_string()))?;
    Ok(format!("{HEADER}{}", prettyplease::unparse(&file)))
}

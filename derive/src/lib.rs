//! `#[derive(SafeThing)]`: the Rust-first front end of SAFEthing. Use it through the runtime
//! crate, which re-exports it: `use safething::SafeThing;` (see [`SafeThing`](macro@SafeThing)).
//!
//! Like serde_derive and thiserror, it works in stages, each in its own module: parse the
//! attributes (`attr`, with errors collected in a `ctxt::Ctxt` and types sorted by `ty`),
//! lower into the IR and run the IR's validation (`lower`), and expand (`expand`) through the
//! same service generator as TOML definitions (`safething_codegen::rust::generate_service`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attr;
mod ctxt;
mod expand;
mod lower;
mod ty;

use proc_macro::TokenStream;
use syn::{Data, DeriveInput, Fields};

use ctxt::Ctxt;

/// Defines a thing type with a Rust struct: each field is an attribute of the thing, and
/// `#[safething(...)]` on the struct adds its metadata, events and actions.
///
/// The derive lowers the struct into the same IR as a TOML definition, runs the same
/// validation at compile time (every mistake is a compile error on the offending token), and
/// generates the same API as `safething-gen rust`: for `struct Lamp`,
///
/// - `LampHandler`: the trait the device's application code implements, one `async fn` per
///   action and per writable attribute;
/// - `LampDevice`: the device handle (`LampDevice::builder(id)`, `set_<attribute>`,
///   `emit_<event>`, `serve(handler)`, lifecycle);
/// - `LampClient`: the typed client (reads, `watch_<attribute>` with typed filters,
///   `on_<event>`, `write_<attribute>`, action calls; `connect`, `id` and the other framework
///   operations are those of `safething::ThingClient`, so no affordance name is reserved);
/// - `impl safething::SafeThing for Lamp`: `Lamp::definition()`, the IR, and `Lamp::check()`.
///
/// The generated items have the struct's visibility and sit next to it; they are named after
/// the struct (`<Struct>Device`, `<Struct>Handler`, `<Struct>Client`), whatever the thing's
/// `name`. A thing defined here and its TOML twin are the same thing on the wire: a device of
/// one serves clients of the other.
///
/// ```
/// use safething::SafeThing;
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// /// A dimmable lamp
/// #[derive(SafeThing)]
/// #[safething(version = "1.0.0")]
/// #[safething(event(name = "overheated", data = f64, access = "all"))]
/// #[safething(action(name = "fade", input = Fade, timeout = "10s"))]
/// pub struct Lamp {
///     /// Brightness
///     #[safething(unit = "percent", minimum = 0, maximum = 100, access = "all")]
///     brightness: u8,
///     #[safething(writable)]
///     on: bool,
/// }
///
/// /// Fades to a brightness.
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// pub struct Fade {
///     target: u8,
///     ms: u32,
/// }
///
/// let definition = Lamp::definition();
/// assert_eq!(definition.thing.name, "Lamp");
/// assert!(Lamp::check().is_ok());
/// // The generated API:
/// fn uses<H: LampHandler>(_device: LampDevice, _client: LampClient, _handler: H) {}
/// ```
///
/// # Struct attributes
///
/// | Key | Meaning |
/// | --- | --- |
/// | `version = "1.0.0"` | required: the semantic version of the definition |
/// | `name = "GardeningDevice"` | the thing's name (PascalCase); default: the struct's name |
/// | `title = ".."`, `description = ".."` | human text; the description defaults to the struct's doc comment (a first line `# Title` is the title, as with schemars) |
/// | `event(name = "..", data = Type, access = "..", title = "..", description = "..")` | an event; `data` is optional (no data) |
/// | `action(name = "..", input = Type, output = Type, timeout = "30s", access = "..", title = "..", description = "..", safe, idempotent)` | an action; `input` and `output` are optional |
/// | `crate = "path"` | the runtime crate's path in generated code; default `::safething` |
///
/// Attributes may be split over several `#[safething(...)]`s; each `event(...)` and
/// `action(...)` is one affordance. `access` is one of `all`, `group`, `owner` (the default)
/// and `thing`. Names of events, actions and attributes are snake_case; any such name works,
/// `state`, `id`, `connect` or `clone` included.
///
/// # Field attributes
///
/// Every field is an attribute of the thing, named after the field (`r#type` is `type`). A
/// field's doc comment is its description (and a first line `# Title` its title).
///
/// | Key | Meaning |
/// | --- | --- |
/// | `static`, `value = ..` | a static attribute (part of the description) and its value |
/// | `writable` | clients may write it; the handler gets `write_<name>` |
/// | `history = N` | the device keeps its last N values |
/// | `access = ".."` | who may read (and write) it; default `owner` |
/// | `rename = ".."` | the attribute's name, instead of the field's |
/// | `skip` | not an attribute |
/// | `title`, `description`, `unit`, `format`, `pattern`, `content_media_type`, `content_encoding` | string keywords |
/// | `minimum`, `maximum`, `exclusive_minimum`, `exclusive_maximum`, `multiple_of` | number keywords |
/// | `min_length`, `max_length`, `min_items`, `max_items` | count keywords |
/// | `enum = [..]`, `const = ..`, `default = ..` | values |
/// | `read_only`, `write_only` | flags |
///
/// ```
/// use safething::SafeThing;
///
/// #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
/// #[serde(rename_all = "lowercase")]
/// pub enum Mode {
///     Eco,
///     Boost,
/// }
///
/// #[derive(SafeThing)]
/// #[safething(name = "Heater", version = "2.1.0")]
/// pub struct HeaterSpec {
///     /// # Firmware
///     /// The version running on the device
///     #[safething(static, value = "fw-2.1", access = "all")]
///     firmware: String,
///     #[safething(rename = "target", unit = "celsius", minimum = 5, maximum = 30.5, multiple_of = 0.5, writable, default = 20)]
///     target_temperature: f64,
///     #[safething(history = 24, access = "group")]
///     mode: Mode,
///     #[safething(max_items = 8, access = "thing")]
///     zones: Vec<String>,
///     #[safething(skip)]
///     _notes: (),
/// }
///
/// let heater = HeaterSpec::definition();
/// assert_eq!(heater.thing.name, "Heater");
/// assert_eq!(heater.attributes["firmware"].schema.title.as_deref(), Some("Firmware"));
/// assert_eq!(heater.attributes["mode"].schema.reference.as_deref(), Some("Mode"));
/// assert!(heater.attributes["target"].writable);
/// assert!(HeaterSpec::check().is_ok());
/// ```
///
/// Values (`value`, `default`, `const`, `enum`) are literals: strings, numbers, booleans, and
/// arrays of them. Flags are written alone (`writable`) or with a boolean (`writable = true`).
/// The schema keywords are those of the definition format, in snake_case.
///
/// # Types
///
/// | Rust type | Schema |
/// | --- | --- |
/// | `bool`, `String`, `f32`, `f64` | `boolean`, `string`, `number` |
/// | `i8` ... `i64`, `u8` ... `u64` | `integer`, with the type's range as `minimum`/`maximum` (none for `i64`) unless the field narrows it |
/// | `Vec<T>` | `array` of `T` |
/// | any other type (`Reading`, `[f64; 3]`, `Box<T>`, ...) | from its `schemars::JsonSchema` (schemars 1), at run time |
///
/// Every schema keyword applies to fields of the first three kinds (the IR's validation checks
/// that it fits the type: `min_length` on a number is an error). A field of a user type takes
/// only annotations (`title`, `description`, `unit`, `default`, `read_only`, `write_only`):
/// constrain the type itself, e.g. with `#[schemars(range(..))]`. Payloads (`data`, `input`,
/// `output`) follow the same rules.
///
/// References, tuples, `()`, slices, raw and function pointers, trait objects, `Option`,
/// `usize`/`isize` and 128-bit integers are compile errors. Generic structs, enums, unions
/// and tuple structs cannot derive `SafeThing`.
///
/// # Schemas of user types
///
/// Payload types derive `Serialize`, `Deserialize` and `schemars::JsonSchema`. Their schemas are
/// generated when the definition is first used (schemars' draft 2020-12 settings, for
/// serialization) and converted by `safething::ir::import`: types schemars references become
/// named types (`types.Reading`, `ref = "Reading"`), `#[schemars(inline)]` types stay inline;
/// numeric `format`s are dropped; an `Option` property that skips serializing `None`
/// (`#[serde(skip_serializing_if = "Option::is_none")]`) is an optional property, as in
/// generated code. What the definition format cannot express (maps, tuples, untagged enums,
/// `serde_json::Value`) is reported by `Lamp::check()` with its path; building a device from
/// such a definition fails with the same report. Nothing panics.
///
/// # Hygiene
///
/// The impl sits in a `const _: () = { .. };` block; generated code names everything by
/// absolute path (`::core::..`, `::std::..`, the runtime through `crate = ".."`), so it works
/// inside functions and next to local types named `Result`, `Option` or `String`.
#[proc_macro_derive(SafeThing, attributes(safething))]
pub fn derive_safething(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    derive(&input).into()
}

fn derive(input: &DeriveInput) -> proc_macro2::TokenStream {
    let cx = Ctxt::new();
    let attrs = attr::container(&cx, &input.attrs);
    let tokens = match named_fields(&cx, input) {
        Some(fields) => {
            let lowered = lower::lower(&cx, input, fields, &attrs);
            expand::expand(&cx, input, &lowered)
        }
        None => expand::fallback(input),
    };
    match cx.check() {
        Ok(()) => tokens,
        Err(e) => {
            let mut out = e.to_compile_error();
            out.extend(tokens);
            out
        }
    }
}

/// The named fields of a non-generic struct, or an error on what makes the input unfit.
fn named_fields<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<&'a syn::FieldsNamed> {
    let generics = &input.generics;
    if !generics.params.is_empty() || generics.where_clause.is_some() {
        cx.error_spanned_by(
            generics,
            "`#[derive(SafeThing)]` does not take generic structs: a thing type has one \
             definition\n\n= help: use concrete types in the fields",
        );
        return None;
    }
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => Some(fields),
            Fields::Unnamed(fields) => {
                cx.error_spanned_by(
                    fields,
                    "`#[derive(SafeThing)]` needs named fields: each field is an attribute of the \
                     thing, named after it",
                );
                None
            }
            Fields::Unit => {
                cx.error(
                    input.ident.span(),
                    "`#[derive(SafeThing)]` needs a struct with named fields (`struct Lamp { .. }`), \
                     even if it has none: `struct Lamp {}`",
                );
                None
            }
        },
        Data::Enum(data) => {
            cx.error(
                data.enum_token.span,
                "`#[derive(SafeThing)]` is for structs with named fields, not enums: a thing's \
                 attributes are the struct's fields\n\n= help: derive `Serialize`, `Deserialize` \
                 and `JsonSchema` to use an enum as a payload type",
            );
            None
        }
        Data::Union(data) => {
            cx.error(
                data.union_token.span,
                "`#[derive(SafeThing)]` is for structs with named fields, not unions",
            );
            None
        }
    }
}

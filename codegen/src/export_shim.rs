//! TEMPORARY until safething_ir::export lands: placeholder exports with the API of
//! `safething_ir::export`, so the CLI can be written against it. Swap this module for
//! `pub use safething_ir::export;` in lib.rs when merging.

use safething_ir::{Definition, ThingId};
use serde_json::{Value, json};

/// Options of [`thing_description`].
#[derive(Clone, Debug, Default)]
pub struct TdOptions {}

/// TEMPORARY placeholder: the JSON Schemas of every payload of `def`.
pub fn json_schema(def: &Definition) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": def.thing.name,
        "$comment": "placeholder until safething_ir::export lands",
    })
}

/// TEMPORARY placeholder: the WoT Thing Model of `def`.
pub fn thing_model(def: &Definition) -> Value {
    json!({
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "@type": "tm:ThingModel",
        "title": def.thing.title.clone().unwrap_or_else(|| def.thing.name.clone()),
        "$comment": "placeholder until safething_ir::export lands",
    })
}

/// TEMPORARY placeholder: the WoT Thing Description of thing `id` of type `def`.
pub fn thing_description(def: &Definition, id: &ThingId, options: &TdOptions) -> Value {
    let _ = options;
    json!({
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "id": format!("urn:safething:{id}"),
        "title": def.thing.title.clone().unwrap_or_else(|| def.thing.name.clone()),
        "$comment": "placeholder until safething_ir::export lands",
    })
}

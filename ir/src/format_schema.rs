//! The JSON Schema of the definition format itself (what editors use to check TOML files).

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use crate::definition::Definition;

/// The JSON Schema (draft 2020-12) of a thing definition file, as editors and `taplo` use it
/// (`#:schema ./schemas/thing-definition.schema.json` at the top of a TOML file).
///
/// Generated from the IR types, then tightened to what a TOML file can hold: every table is
/// closed (`additionalProperties: false`) — including attribute tables, whose schema keywords
/// serde flattens in — and optional keys are absent rather than `null` (TOML has no null).
pub fn definition_format_schema() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let mut value = generator.into_root_schema_for::<Definition>().to_value();
    tighten(&mut value);
    if let Value::Object(root) = &mut value {
        root.insert("title".into(), "SAFEthing thing definition".into());
        root.insert(
            "description".into(),
            "One thing type: its [thing] metadata, named [types], and its attributes, events \
             and actions with their data schemas and access types."
                .into(),
        );
    }
    value
}

/// Closes open objects and removes `null` alternatives, everywhere in `schema`.
fn tighten(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            tighten_object(map);
            for child in map.values_mut() {
                tighten(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tighten),
        _ => {}
    }
}

fn tighten_object(map: &mut Map<String, Value>) {
    // `type: ["string", "null"]` -> `type: "string"`.
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    // `anyOf: [{...}, {type: null}]` -> the one remaining alternative, merged in.
    if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
        alternatives.retain(|a| a.get("type").is_none_or(|t| t != "null"));
        if alternatives.len() == 1
            && let Some(Value::Object(only)) = alternatives.pop()
        {
            map.remove("anyOf");
            for (k, v) in only {
                map.entry(k).or_insert(v);
            }
        }
    }
    // A struct with named keys (flattened ones included) accepts no others.
    if map.get("type").is_some_and(|t| t == "object")
        && map.contains_key("properties")
        && !map.contains_key("additionalProperties")
    {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
}

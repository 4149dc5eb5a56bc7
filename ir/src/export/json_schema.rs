//! JSON Schema (draft 2020-12) of every payload of a thing type.

use serde_json::{Map, Value, json};

use super::convert::{Converter, Style, def_ref, uri_part};
use crate::definition::Definition;
use crate::schema::DataSchema;

/// The dialect of the exported schema.
pub const JSON_SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// One JSON Schema (draft 2020-12) covering every payload of `def`.
///
/// Layout (see the [module documentation](super) and `docs/wot.md`):
///
/// ```json
/// {
///   "$schema": "https://json-schema.org/draft/2020-12/schema",
///   "$id": "urn:safething:schema:GardeningDevice:1.0.0",
///   "title": "Gardening device",
///   "type": "object",
///   "properties": {
///     "attributes": { "type": "object", "additionalProperties": false,
///                     "properties": { "moisture_level": { "$ref": "#/$defs/attribute.moisture_level" } } },
///     "events":     { ..., "very_dry_alarm": { "$ref": "#/$defs/event.very_dry_alarm" } },
///     "actions":    { ..., "open_valve": { "type": "object", "additionalProperties": false,
///                     "properties": { "input":  { "$ref": "#/$defs/action.open_valve.input" },
///                                     "output": { "$ref": "#/$defs/action.open_valve.output" } } } }
///   },
///   "additionalProperties": false,
///   "$defs": { "ValveState": { ... }, "attribute.moisture_level": { ... }, ... }
/// }
/// ```
///
/// Named types keep their PascalCase name under `$defs`; payloads are `attribute.<name>`,
/// `event.<name>`, `action.<name>.input` and `action.<name>.output` (the dot keeps them apart
/// from type names). A payload the definition leaves out (an event without `data`, an action
/// without `input` or `output`) is `{"type": "null"}`: that is what travels on the wire.
/// Every affordance is covered, whatever its access type.
pub fn json_schema(def: &Definition) -> Value {
    let mut c = Converter::new(&def.types, Style::JsonSchema);
    let mut defs = Map::new();
    for (name, schema) in &def.types {
        defs.insert(name.clone(), Value::Object(c.convert(schema)));
    }

    let mut attributes = Map::new();
    for (name, attr) in &def.attributes {
        let key = format!("attribute.{name}");
        defs.insert(key.clone(), Value::Object(c.convert(&attr.schema)));
        attributes.insert(name.clone(), json!({ "$ref": def_ref(&key) }));
    }

    let mut events = Map::new();
    for (name, event) in &def.events {
        let key = format!("event.{name}");
        defs.insert(
            key.clone(),
            payload(&mut c, event.data.as_ref(), "The event carries no data."),
        );
        let entry = annotated(&key, event.title.as_deref(), event.description.as_deref());
        events.insert(name.clone(), entry);
    }

    let mut actions = Map::new();
    for (name, action) in &def.actions {
        let input = format!("action.{name}.input");
        let output = format!("action.{name}.output");
        let none_in = "The action takes no input.";
        let none_out = "The action returns no output.";
        defs.insert(
            input.clone(),
            payload(&mut c, action.input.as_ref(), none_in),
        );
        defs.insert(
            output.clone(),
            payload(&mut c, action.output.as_ref(), none_out),
        );
        let mut entry = index(Map::from_iter([
            ("input".to_owned(), json!({ "$ref": def_ref(&input) })),
            ("output".to_owned(), json!({ "$ref": def_ref(&output) })),
        ]));
        add_annotations(
            &mut entry,
            action.title.as_deref(),
            action.description.as_deref(),
        );
        actions.insert(name.clone(), Value::Object(entry));
    }

    let info = &def.thing;
    let mut root = Map::new();
    root.insert("$schema".into(), json!(JSON_SCHEMA_DIALECT));
    root.insert("$id".into(), json!(schema_id(def)));
    root.insert(
        "title".into(),
        json!(info.title.as_deref().unwrap_or(&info.name)),
    );
    if let Some(d) = &info.description {
        root.insert("description".into(), json!(d));
    }
    root.insert("type".into(), json!("object"));
    let sections = Map::from_iter([
        ("attributes".to_owned(), Value::Object(index(attributes))),
        ("events".to_owned(), Value::Object(index(events))),
        ("actions".to_owned(), Value::Object(index(actions))),
    ]);
    root.insert("properties".into(), Value::Object(sections));
    root.insert("additionalProperties".into(), Value::Bool(false));
    root.insert("$defs".into(), Value::Object(defs));
    Value::Object(root)
}

/// The `$id` of the schema of `def`: `urn:safething:schema:<Name>:<version>`.
pub fn schema_id(def: &Definition) -> String {
    format!(
        "urn:safething:schema:{}:{}",
        uri_part(&def.thing.name),
        uri_part(&def.thing.version)
    )
}

/// The schema of an optional payload: `null` when absent.
fn payload(c: &mut Converter<'_>, schema: Option<&DataSchema>, none: &str) -> Value {
    match schema {
        Some(s) => Value::Object(c.convert(s)),
        None => json!({ "type": "null", "description": none }),
    }
}

/// A closed object schema over `properties` (none required).
fn index(properties: Map<String, Value>) -> Map<String, Value> {
    Map::from_iter([
        ("type".to_owned(), json!("object")),
        ("properties".to_owned(), Value::Object(properties)),
        ("additionalProperties".to_owned(), Value::Bool(false)),
    ])
}

/// A `$ref` to `key`, with the affordance's title and description.
fn annotated(key: &str, title: Option<&str>, description: Option<&str>) -> Value {
    let mut entry = Map::from_iter([("$ref".to_owned(), json!(def_ref(key)))]);
    add_annotations(&mut entry, title, description);
    Value::Object(entry)
}

fn add_annotations(entry: &mut Map<String, Value>, title: Option<&str>, description: Option<&str>) {
    if let Some(t) = title {
        entry.insert("title".into(), json!(t));
    }
    if let Some(d) = description {
        entry.insert("description".into(), json!(d));
    }
}

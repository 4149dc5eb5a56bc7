//! Importing JSON Schemas into data schemas: how `#[derive(SafeThing)]` turns the
//! `schemars::JsonSchema` of a Rust type into the IR.
//!
//! The input is JSON Schema draft 2020-12 as schemars 1.x writes it (other writers work as far
//! as they use the same keywords). The conversion:
//!
//! - keeps every keyword the definition format has (the README's "Definition format"), with the same spelling: `type`,
//!   `title`, `description`, `enum`, `const`, `default`, `unit`, `format`, `minimum`,
//!   `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `minLength`, `maxLength`,
//!   `pattern`, `items`, `minItems`, `maxItems`, `properties`, `required`, `oneOf`, `readOnly`,
//!   `writeOnly`, `contentMediaType`, `contentEncoding`;
//! - turns `$ref: "#/$defs/Name"` into `ref = "Name"` (the named types come from the
//!   generator's `$defs`, see [`named_types`]);
//! - drops schemars' numeric `format`s (`double`, `float`, `int8` ... `uint64`, `int`, `uint`):
//!   they restate the Rust type, and `minimum`/`maximum` already carry its range;
//! - drops what only documents or restates the format's own rules: `$schema`, `$id`,
//!   `$comment`, `examples`, `deprecated`, and `additionalProperties: false` /
//!   `unevaluatedProperties: false` (objects are always closed);
//! - turns a nullable schema (`type: ["string", "null"]`, or `anyOf`/`oneOf` of a schema and
//!   `{"type": "null"}`, as schemars writes `Option<T>`) into the schema itself where it is an
//!   optional property (absent means `None`: the Rust type should skip serializing `None`, as
//!   generated types do), and into `oneOf: [schema, {"type": "null"}]` anywhere else;
//! - with [`inline_extended_refs`], run on the whole definition once its named types are in:
//!   merges a `$ref` next to `properties`/`required` (a newtype variant of an internally tagged
//!   enum) into one inline object;
//! - reports everything else as an [`UnsupportedSchema`](Rule::UnsupportedSchema) diagnostic at
//!   the [`IrPath`] of the offending keyword: maps (`additionalProperties` with a schema),
//!   tuples (`prefixItems`), `anyOf` (untagged enums), `allOf`, `not`, conditionals, schemas
//!   that accept any value (`true`, e.g. `serde_json::Value`), references outside `$defs`.
//!
//! Nothing here panics; every problem in a schema is reported, not only the first.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use crate::diagnostic::{Diagnostic, Rule};
use crate::path::IrPath;
use crate::schema::{DataSchema, SchemaType};

/// `format`s that schemars writes for Rust number types; they are dropped.
const NUMERIC_FORMATS: &[&str] = &[
    "int8", "int16", "int32", "int64", "int128", "int", "uint8", "uint16", "uint32", "uint64",
    "uint128", "uint", "float", "double",
];

/// Keywords that only document a schema or restate the format's rules; they are dropped.
const IGNORED: &[&str] = &["$schema", "$id", "$comment", "examples", "deprecated"];

/// Converts one JSON Schema, which goes at `at` in the definition (diagnostics' paths start
/// there). `$ref`s must point into `#/$defs/` (or `#/definitions/`); import those schemas with
/// [`named_types`].
pub fn data_schema(schema: &Value, at: &IrPath) -> Result<DataSchema, Vec<Diagnostic>> {
    let mut importer = Importer::default();
    let converted = importer.top(schema, at);
    importer.finish(converted)
}

/// Converts the named schemas of a generator (`$defs`) into the definition's named types
/// (`types.<Name>`). Names are kept as they are; validation checks that they are PascalCase.
pub fn named_types(
    defs: &Map<String, Value>,
) -> Result<BTreeMap<String, DataSchema>, Vec<Diagnostic>> {
    let mut importer = Importer::default();
    let types = defs
        .iter()
        .map(|(name, schema)| {
            let at = IrPath::of(["types", name.as_str()]);
            (name.clone(), importer.top(schema, &at))
        })
        .collect();
    importer.finish(types)
}

/// Converts a root schema (e.g. `schemars::schema_for!(T)`): the schema itself, and its
/// `$defs` as named types.
pub fn root_schema(
    root: &Value,
    at: &IrPath,
) -> Result<(DataSchema, BTreeMap<String, DataSchema>), Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut schema = root.clone();
    let mut defs = Map::new();
    if let Value::Object(map) = &mut schema {
        for key in ["$defs", "definitions"] {
            if let Some(Value::Object(found)) = map.remove(key) {
                defs.extend(found);
            }
        }
    }
    let types = named_types(&defs).unwrap_or_else(|e| {
        errors.extend(e);
        BTreeMap::new()
    });
    let schema = data_schema(&schema, at).unwrap_or_else(|e| {
        errors.extend(e);
        DataSchema::default()
    });
    if errors.is_empty() {
        Ok((schema, types))
    } else {
        Err(errors)
    }
}

#[derive(Default)]
struct Importer {
    errors: Vec<Diagnostic>,
}

impl Importer {
    fn finish<T>(self, value: T) -> Result<T, Vec<Diagnostic>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }

    fn error(&mut self, at: IrPath, message: impl Into<String>, help: Option<&str>) {
        let mut d = Diagnostic::error(Rule::UnsupportedSchema, at, message);
        d.help = help.map(str::to_owned);
        self.errors.push(d);
    }

    /// A schema where `null` must stay a possible value (payloads, items, required
    /// properties, alternatives).
    fn top(&mut self, v: &Value, at: &IrPath) -> DataSchema {
        match split_null(v) {
            Some((inner, outer)) => {
                let mut schema = self.schema(&inner, at);
                // Annotations describe the whole value: they move to the `oneOf`.
                let mut wrapper = DataSchema {
                    title: schema.title.take(),
                    description: schema.description.take(),
                    default: schema.default.take(),
                    ..DataSchema::default()
                };
                self.annotations(&outer, &mut wrapper, at);
                wrapper.one_of = Some(vec![schema, DataSchema::of(SchemaType::Null)]);
                wrapper
            }
            None => self.schema(v, at),
        }
    }

    /// A property that may be absent: absent stands for `null`.
    fn optional(&mut self, v: &Value, at: &IrPath) -> DataSchema {
        match split_null(v) {
            Some((inner, outer)) => {
                let mut schema = self.schema(&inner, at);
                self.annotations(&outer, &mut schema, at);
                schema
            }
            None => self.schema(v, at),
        }
    }

    /// Copies `title`, `description` and `default` of a nullable wrapper.
    fn annotations(&mut self, outer: &Map<String, Value>, into: &mut DataSchema, at: &IrPath) {
        for (key, value) in outer {
            match key.as_str() {
                "title" => into.title = self.string(value, at, key),
                "description" => into.description = self.string(value, at, key),
                "default" => into.default = Some(value.clone()),
                _ => {}
            }
        }
    }

    fn schema(&mut self, v: &Value, at: &IrPath) -> DataSchema {
        let map = match v {
            Value::Object(map) => map,
            Value::Bool(true) => {
                self.error(
                    at.clone(),
                    "a schema that accepts any value (e.g. of `serde_json::Value`) cannot be expressed",
                    Some("give the value a concrete type"),
                );
                return DataSchema::default();
            }
            Value::Bool(false) => {
                self.error(
                    at.clone(),
                    "a schema that accepts no value cannot be expressed",
                    None,
                );
                return DataSchema::default();
            }
            other => {
                self.error(
                    at.clone(),
                    format!("a schema must be an object, found {}", kind(other)),
                    None,
                );
                return DataSchema::default();
            }
        };
        let mut s = DataSchema::default();
        for (key, value) in map {
            let here = at.key(key.as_str());
            match key.as_str() {
                "type" => s.ty = self.ty(value, &here),
                "$ref" => s.reference = self.reference(value, &here),
                "title" => s.title = self.string(value, at, key),
                "description" => s.description = self.string(value, at, key),
                "unit" => s.unit = self.string(value, at, key),
                "format" => s.format = self.string(value, at, key),
                "pattern" => s.pattern = self.string(value, at, key),
                "contentMediaType" => s.content_media_type = self.string(value, at, key),
                "contentEncoding" => s.content_encoding = self.string(value, at, key),
                "minimum" => s.minimum = self.number(value, at, key),
                "maximum" => s.maximum = self.number(value, at, key),
                "exclusiveMinimum" => s.exclusive_minimum = self.number(value, at, key),
                "exclusiveMaximum" => s.exclusive_maximum = self.number(value, at, key),
                "multipleOf" => s.multiple_of = self.number(value, at, key),
                "minLength" => s.min_length = self.count(value, at, key),
                "maxLength" => s.max_length = self.count(value, at, key),
                "minItems" => s.min_items = self.count(value, at, key),
                "maxItems" => s.max_items = self.count(value, at, key),
                "readOnly" => s.read_only = self.boolean(value, at, key),
                "writeOnly" => s.write_only = self.boolean(value, at, key),
                "enum" => match value {
                    Value::Array(values) => s.enumeration = Some(values.clone()),
                    other => self.wrong_type(at, key, "an array", other),
                },
                "const" => s.constant = Some(value.clone()),
                "default" => s.default = Some(value.clone()),
                "items" => match value {
                    Value::Array(_) => self.error(
                        here,
                        "a tuple (`items` as an array) cannot be expressed",
                        Some(TUPLE_HELP),
                    ),
                    _ => s.items = Some(Box::new(self.top(value, &here))),
                },
                "properties" => match value {
                    Value::Object(_) => {} // after `required`, below
                    other => self.wrong_type(at, key, "an object", other),
                },
                "required" => s.required = self.strings(value, at, key),
                "oneOf" => s.one_of = self.alternatives(value, at, key),
                "anyOf" => self.error(
                    here,
                    "`anyOf` (e.g. of an untagged enum) cannot be expressed: definitions have \
                     `oneOf` only",
                    Some(
                        "use an externally, internally or adjacently tagged enum, whose schema \
                         uses `oneOf`",
                    ),
                ),
                "additionalProperties" | "unevaluatedProperties" => {
                    if *value != Value::Bool(false) {
                        self.error(
                            here,
                            format!(
                                "a map (`{key}`) cannot be expressed: objects have a fixed set \
                                 of properties"
                            ),
                            Some("use a struct with named fields"),
                        );
                    }
                }
                "prefixItems" => self.error(
                    here,
                    "a tuple (`prefixItems`) cannot be expressed",
                    Some(TUPLE_HELP),
                ),
                k if IGNORED.contains(&k) => {}
                other => self.error(
                    here,
                    format!(
                        "the JSON Schema keyword `{other}` cannot be expressed in a definition"
                    ),
                    None,
                ),
            }
        }
        if let Some(Value::Object(properties)) = map.get("properties") {
            for (name, p) in properties {
                let here = at.key("properties").key(name.as_str());
                let schema = if s.is_required(name) {
                    self.top(p, &here)
                } else {
                    self.optional(p, &here)
                };
                s.properties.insert(name.clone(), schema);
            }
        }
        if s.format
            .as_deref()
            .is_some_and(|f| NUMERIC_FORMATS.contains(&f))
            && matches!(
                s.ty,
                None | Some(SchemaType::Integer) | Some(SchemaType::Number)
            )
        {
            s.format = None;
        }
        s
    }

    fn ty(&mut self, v: &Value, at: &IrPath) -> Option<SchemaType> {
        let name = match v {
            Value::String(name) => name.as_str(),
            Value::Array(types) if types.len() == 1 && types[0].is_string() => {
                types[0].as_str().unwrap_or_default()
            }
            Value::Array(types) => {
                let list: Vec<String> = types.iter().map(Value::to_string).collect();
                self.error(
                    at.clone(),
                    format!(
                        "a value of several types ({}) cannot be expressed",
                        list.join(", ")
                    ),
                    Some("use an enum with one variant per type"),
                );
                return None;
            }
            other => {
                self.wrong_type(&at.parent(), "type", "a string", other);
                return None;
            }
        };
        let ty = SchemaType::parse(name);
        if ty.is_none() {
            self.error(at.clone(), format!("unknown type `{name}`"), None);
        }
        ty
    }

    fn reference(&mut self, v: &Value, at: &IrPath) -> Option<String> {
        let Value::String(r) = v else {
            self.wrong_type(&at.parent(), "$ref", "a string", v);
            return None;
        };
        let name = ["#/$defs/", "#/definitions/"]
            .iter()
            .find_map(|prefix| r.strip_prefix(prefix))
            .filter(|name| !name.contains('/'));
        match name {
            Some(name) => Some(decode_pointer_token(name)),
            None if r == "#" => {
                self.error(
                    at.clone(),
                    "a recursive type cannot be expressed",
                    Some("break the recursion"),
                );
                None
            }
            None => {
                self.error(
                    at.clone(),
                    format!("`$ref: \"{r}\"` does not name a schema under `$defs`"),
                    None,
                );
                None
            }
        }
    }

    fn alternatives(&mut self, v: &Value, at: &IrPath, key: &str) -> Option<Vec<DataSchema>> {
        let Value::Array(alternatives) = v else {
            self.wrong_type(at, key, "an array", v);
            return None;
        };
        let here = at.key(key);
        Some(
            alternatives
                .iter()
                .enumerate()
                .map(|(i, alt)| self.top(alt, &here.index(i)))
                .collect(),
        )
    }

    fn string(&mut self, v: &Value, at: &IrPath, key: &str) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(at, key, "a string", other);
                None
            }
        }
    }

    fn strings(&mut self, v: &Value, at: &IrPath, key: &str) -> Vec<String> {
        match v {
            Value::Array(items) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            other => {
                self.wrong_type(at, key, "an array of strings", other);
                Vec::new()
            }
        }
    }

    fn number(&mut self, v: &Value, at: &IrPath, key: &str) -> Option<Number> {
        match v {
            Value::Number(n) => Some(n.clone()),
            other => {
                self.wrong_type(at, key, "a number", other);
                None
            }
        }
    }

    fn count(&mut self, v: &Value, at: &IrPath, key: &str) -> Option<u64> {
        match v.as_u64() {
            Some(n) => Some(n),
            None => {
                self.wrong_type(at, key, "a whole number of at least 0", v);
                None
            }
        }
    }

    fn boolean(&mut self, v: &Value, at: &IrPath, key: &str) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong_type(at, key, "a boolean", other);
                None
            }
        }
    }

    fn wrong_type(&mut self, at: &IrPath, key: &str, expected: &str, found: &Value) {
        self.error(
            at.key(key),
            format!("`{key}` must be {expected}, found {}", kind(found)),
            None,
        );
    }
}

const TUPLE_HELP: &str = "use a struct with named fields, or an array of one type";

/// Splits a nullable schema into its non-null part and the wrapper's other keywords:
/// `type: [T, "null"]`, or `anyOf`/`oneOf` of exactly one schema and `{"type": "null"}`.
fn split_null(v: &Value) -> Option<(Value, Map<String, Value>)> {
    let map = v.as_object()?;
    if let Some(Value::Array(types)) = map.get("type")
        && types.len() == 2
        && types.iter().any(|t| t == "null")
    {
        let other = types.iter().find(|t| *t != "null")?.clone();
        let mut inner = map.clone();
        inner.insert("type".to_owned(), other);
        return Some((Value::Object(inner), Map::new()));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alternatives)) = map.get(key)
            && alternatives.len() == 2
        {
            let null = serde_json::json!({ "type": "null" });
            let Some(i) = alternatives.iter().position(|a| *a == null) else {
                continue;
            };
            let mut inner = alternatives[1 - i].clone();
            let mut outer = map.clone();
            outer.remove(key);
            // Keywords beside `anyOf` (schemars puts the field's docs there) apply to the value.
            if let Value::Object(inner_map) = &mut inner {
                for (k, v) in &outer {
                    if !matches!(k.as_str(), "title" | "description" | "default") {
                        inner_map.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            outer.retain(|k, _| matches!(k.as_str(), "title" | "description" | "default"));
            return Some((inner, outer));
        }
    }
    None
}

/// Decodes a JSON pointer token in URI fragment form: `%XX`, `~1` (`/`), `~0` (`~`).
fn decode_pointer_token(token: &str) -> String {
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out)
        .replace("~1", "/")
        .replace("~0", "~")
}

/// How many `ref` hops [`inline_extended_refs`] follows to find an object (validated
/// definitions have no cycles; this bounds the walk on the ones not yet validated).
const MAX_REF_HOPS: usize = 64;

/// Merges what schemars writes for a newtype variant of an internally tagged enum
/// (`#[serde(tag = "mode")] enum Calibration { Manual(ManualCalibration) }`): a `$ref` to the
/// inner struct next to the tag's own `properties` and `required` (JSON Schema applies both).
/// Definitions cannot combine `ref` with other keywords, so such a schema becomes one inline
/// object: the referenced object's properties and `required`, then the tag's. It then reads as
/// the alternative of a tagged union ([`crate::union`]), as a struct variant's schema does.
///
/// Applies to every schema of `def` (payloads and named types); a `ref` with other keywords
/// that does not lead to a plain object is left as it is, for validation to report.
pub fn inline_extended_refs(def: &mut crate::Definition) {
    let types = def.types.clone();
    let mut stack: Vec<&mut DataSchema> = Vec::new();
    stack.extend(def.types.values_mut());
    stack.extend(def.attributes.values_mut().map(|a| &mut a.schema));
    stack.extend(def.events.values_mut().filter_map(|e| e.data.as_mut()));
    for action in def.actions.values_mut() {
        stack.extend(action.input.as_mut());
        stack.extend(action.output.as_mut());
    }
    while let Some(schema) = stack.pop() {
        inline_extended_ref(schema, &types);
        stack.extend(schema.items.as_deref_mut());
        stack.extend(schema.properties.values_mut());
        stack.extend(schema.one_of.iter_mut().flatten());
    }
}

fn inline_extended_ref(schema: &mut DataSchema, types: &BTreeMap<String, DataSchema>) {
    let Some(mut name) = schema.reference.clone() else {
        return;
    };
    if schema.properties.is_empty() && schema.required.is_empty() {
        return;
    }
    for _ in 0..MAX_REF_HOPS {
        let Some(target) = types.get(&name) else {
            return;
        };
        if let Some(next) = &target.reference {
            name.clone_from(next);
            continue;
        }
        let plain_object = target.ty == Some(SchemaType::Object)
            && target.one_of.is_none()
            && target.enumeration.is_none()
            && target.constant.is_none();
        if !plain_object || schema.ty.is_some_and(|t| t != SchemaType::Object) {
            return;
        }
        schema.reference = None;
        schema.ty = Some(SchemaType::Object);
        for (property, s) in &target.properties {
            schema
                .properties
                .entry(property.clone())
                .or_insert_with(|| s.clone());
        }
        let own = std::mem::take(&mut schema.required);
        for required in target.required.iter().chain(&own) {
            if !schema.required.contains(required) {
                schema.required.push(required.clone());
            }
        }
        if schema.title.is_none() {
            schema.title.clone_from(&target.title);
        }
        if schema.description.is_none() {
            schema.description.clone_from(&target.description);
        }
        return;
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn import(v: Value) -> DataSchema {
        data_schema(&v, &IrPath::of(["attributes", "x"])).unwrap()
    }

    fn problems(v: Value) -> Vec<(String, String)> {
        data_schema(&v, &IrPath::of(["attributes", "x"]))
            .unwrap_err()
            .into_iter()
            .map(|d| {
                assert_eq!(d.rule, Rule::UnsupportedSchema);
                (d.path.to_string(), d.message)
            })
            .collect()
    }

    fn expect(json: Value) -> DataSchema {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn keeps_the_format_keywords_and_drops_numeric_formats() {
        let s = import(json!({
            "type": "object",
            "description": "One reading",
            "properties": {
                "level": {"type": "number", "format": "double", "minimum": 0, "maximum": 100,
                          "unit": "percent"},
                "count": {"type": "integer", "format": "uint8", "minimum": 0, "maximum": 255},
                "at": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"},
                         "minItems": 1, "maxItems": 3},
            },
            "required": ["level", "count", "tags"],
            "additionalProperties": false,
            "$schema": "https://json-schema.org/draft/2020-12/schema",
        }));
        assert_eq!(
            s,
            expect(json!({
                "type": "object",
                "description": "One reading",
                "properties": {
                    "level": {"type": "number", "minimum": 0, "maximum": 100, "unit": "percent"},
                    "count": {"type": "integer", "minimum": 0, "maximum": 255},
                    "at": {"type": "string", "format": "date-time"},
                    "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"},
                             "minItems": 1, "maxItems": 3},
                },
                "required": ["level", "count", "tags"],
            }))
        );
    }

    #[test]
    fn refs_name_types() {
        assert_eq!(
            import(json!({"$ref": "#/$defs/ValveState"})),
            DataSchema::reference("ValveState")
        );
        assert_eq!(
            import(json!({"$ref": "#/definitions/A~1B%20C"})),
            DataSchema::reference("A/B C")
        );
        let defs = json!({"ValveState": {"type": "string", "enum": ["open", "closed"]}});
        let types = named_types(defs.as_object().unwrap()).unwrap();
        assert_eq!(
            types["ValveState"],
            expect(json!({"type": "string", "enum": ["open", "closed"]}))
        );
    }

    #[test]
    fn nullable_is_absent_for_optional_properties_and_one_of_elsewhere() {
        let s = import(json!({
            "type": "object",
            "properties": {
                "at": {"type": ["string", "null"], "format": "date-time"},
                "valve": {"anyOf": [{"$ref": "#/$defs/ValveState"}, {"type": "null"}],
                          "description": "The valve"},
                "must": {"type": ["integer", "null"], "format": "int32"},
            },
            "required": ["must"],
        }));
        assert_eq!(
            s.properties["at"],
            expect(json!({"type": "string", "format": "date-time"}))
        );
        assert_eq!(
            s.properties["valve"],
            expect(json!({"ref": "ValveState", "description": "The valve"}))
        );
        assert_eq!(
            s.properties["must"],
            expect(json!({"oneOf": [{"type": "integer"}, {"type": "null"}]}))
        );
        assert_eq!(
            import(json!({"type": ["null", "number"], "description": "maybe"})),
            expect(
                json!({"description": "maybe", "oneOf": [{"type": "number"}, {"type": "null"}]})
            )
        );
    }

    #[test]
    fn tagged_enums_become_one_of() {
        let s = import(json!({"oneOf": [
            {"type": "string", "const": "off", "description": "Off"},
            {"type": "object", "properties": {"dim": {"type": "number", "format": "float"}},
             "required": ["dim"], "additionalProperties": false},
        ]}));
        assert_eq!(
            s,
            expect(json!({"oneOf": [
                {"type": "string", "const": "off", "description": "Off"},
                {"type": "object", "properties": {"dim": {"type": "number"}}, "required": ["dim"]},
            ]}))
        );
    }

    #[test]
    fn what_cannot_be_expressed_is_reported_everywhere_with_its_path() {
        let found = problems(json!({
            "type": "object",
            "properties": {
                "map": {"type": "object", "additionalProperties": {"type": "number"}},
                "pair": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "string"}]},
                "either": {"anyOf": [{"type": "number"}, {"type": "string"}]},
                "any": true,
                "multi": {"type": ["string", "number"]},
                "odd": {"type": "string", "not": {"const": ""}},
                "bad_min": {"type": "number", "minimum": "0"},
                "ext": {"$ref": "https://example.com/s.json"},
                "me": {"$ref": "#"},
            },
        }));
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "attributes.x.properties.any",
                "attributes.x.properties.bad_min.minimum",
                "attributes.x.properties.either.anyOf",
                "attributes.x.properties.ext.$ref",
                "attributes.x.properties.map.additionalProperties",
                "attributes.x.properties.me.$ref",
                "attributes.x.properties.multi.type",
                "attributes.x.properties.odd.not",
                "attributes.x.properties.pair.prefixItems",
            ]
        );
        assert!(found[4].1.contains("a map"), "{found:?}");
        assert!(found[8].1.contains("a tuple"), "{found:?}");
        assert!(found[0].1.contains("serde_json::Value"), "{found:?}");
        // Nothing panics on junk.
        for junk in [json!(null), json!(3), json!("x"), json!([]), json!(false)] {
            assert!(data_schema(&junk, &IrPath::root()).is_err());
        }
    }

    #[test]
    fn root_schemas_bring_their_definitions() {
        let (schema, types) = root_schema(
            &json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "Reading",
                "$ref": "#/$defs/Inner",
                "$defs": {"Inner": {"type": "boolean"}},
            }),
            &IrPath::root(),
        )
        .unwrap();
        assert_eq!(schema.reference.as_deref(), Some("Inner"));
        assert_eq!(types["Inner"], DataSchema::of(SchemaType::Boolean));
    }
}

/// The conversion of what schemars 1.x really writes for Rust types.
#[cfg(test)]
mod schemars_output {
    use super::*;
    use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
    use serde::Serialize;
    use serde_json::json;

    /// One moisture measurement
    #[derive(Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct Reading {
        #[schemars(range(min = 0, max = 100), extend("unit" = "percent"))]
        level: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(extend("format" = "date-time"))]
        at: Option<String>,
        /// How sure
        confidence: Option<u8>,
        state: Option<ValveState>,
    }

    /// Whether water flows
    #[derive(Serialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    #[allow(dead_code)]
    enum ValveState {
        Open,
        Closed,
    }

    #[derive(Serialize, JsonSchema)]
    #[schemars(inline)]
    #[allow(dead_code)]
    struct OpenValveInput {
        #[schemars(range(max = 120))]
        psi: u8,
    }

    #[derive(Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct Bad {
        map: std::collections::BTreeMap<String, f64>,
        pair: (u8, String),
        any: serde_json::Value,
    }

    fn generator() -> SchemaGenerator {
        SchemaSettings::draft2020_12()
            .for_serialize()
            .into_generator()
    }

    #[test]
    fn structs_enums_and_options() {
        let mut g = generator();
        let reading = g.subschema_for::<Reading>();
        let input = g.subschema_for::<OpenValveInput>();
        let at = IrPath::of(["events", "e", "data"]);
        assert_eq!(
            data_schema(reading.as_value(), &at).unwrap(),
            DataSchema::reference("Reading")
        );
        assert_eq!(
            data_schema(input.as_value(), &at).unwrap(),
            serde_json::from_value::<DataSchema>(json!({
                "type": "object",
                "properties": {"psi": {"type": "integer", "minimum": 0, "maximum": 120}},
                "required": ["psi"],
            }))
            .unwrap()
        );
        let types = named_types(&g.take_definitions(true)).unwrap();
        let expected: BTreeMap<String, DataSchema> = serde_json::from_value(json!({
            "Reading": {
                "type": "object",
                "description": "One moisture measurement",
                "properties": {
                    "level": {"type": "number", "minimum": 0, "maximum": 100, "unit": "percent"},
                    "at": {"type": "string", "format": "date-time"},
                    "confidence": {"description": "How sure", "oneOf": [
                        {"type": "integer", "minimum": 0, "maximum": 255}, {"type": "null"}]},
                    "state": {"oneOf": [{"ref": "ValveState"}, {"type": "null"}]},
                },
                "required": ["level", "confidence", "state"],
            },
            "ValveState": {
                "type": "string",
                "description": "Whether water flows",
                "enum": ["open", "closed"],
            },
        }))
        .unwrap();
        assert_eq!(types, expected);
    }

    #[test]
    fn maps_tuples_and_any_values_are_errors() {
        let mut g = generator();
        let bad = g.subschema_for::<Bad>();
        assert!(data_schema(bad.as_value(), &IrPath::root()).is_ok());
        let errors = named_types(&g.take_definitions(true)).unwrap_err();
        let paths: Vec<String> = errors.iter().map(|d| d.path.to_string()).collect();
        assert_eq!(
            paths,
            [
                "types.Bad.properties.any",
                "types.Bad.properties.map.additionalProperties",
                "types.Bad.properties.pair.prefixItems",
            ]
        );
    }
}

/// Internally tagged enums with newtype variants, as schemars writes them.
#[cfg(test)]
mod tagged_newtypes {
    use super::*;
    use crate::union::tagged_union;
    use serde_json::json;

    #[test]
    fn a_ref_with_the_tag_next_to_it_becomes_one_object() {
        let mut def: crate::Definition = serde_json::from_value(json!({
            "thing": {"name": "T", "version": "1.0.0"},
            "types": {
                "Manual": {"type": "object", "description": "By hand", "required": ["ppm"],
                    "properties": {"ppm": {"type": "number"}}},
                "Alias": {"ref": "Manual"},
                "Text": {"type": "string"}
            },
            "attributes": {"calibration": {"oneOf": [
                {"type": "object", "required": ["mode"],
                 "properties": {"mode": {"type": "string", "const": "auto"}}},
                {"ref": "Alias", "type": "object", "required": ["mode"],
                 "properties": {"mode": {"type": "string", "const": "manual"}}},
            ]}},
            "actions": {"a": {"input": {"type": "array", "items":
                {"ref": "Text", "required": ["x"], "properties": {"x": {"type": "string"}}}}}}
        }))
        .unwrap();
        inline_extended_refs(&mut def);
        let schema = &def.attributes["calibration"].schema;
        let manual = &schema.one_of.as_ref().unwrap()[1];
        assert_eq!(manual.reference, None);
        assert_eq!(manual.required, ["ppm", "mode"]);
        assert_eq!(manual.description.as_deref(), Some("By hand"));
        let union = tagged_union(schema, &def.types).unwrap();
        assert_eq!(union.values_text(), ["auto", "manual"]);
        // Not an object: left for validation to report.
        let items = def.actions["a"]
            .input
            .as_ref()
            .unwrap()
            .items
            .as_deref()
            .unwrap();
        assert_eq!(items.reference.as_deref(), Some("Text"));
        assert!(def.clone().checked().is_err());
    }
}

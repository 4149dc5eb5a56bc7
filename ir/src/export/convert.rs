//! Turning a [`DataSchema`] into JSON: JSON Schema (with `$ref`) or WoT DataSchema (inlined).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::schema::{DataSchema, SchemaType};

/// How `ref` is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// JSON Schema 2020-12: `{"$ref": "#/$defs/Name"}`, objects closed with
    /// `additionalProperties: false`.
    JsonSchema,
    /// WoT DataSchema: the named type is copied in place (WoT has no `$ref`); only WoT terms.
    Wot,
}

/// Converts schemas of one definition, resolving `ref`s against its `types`.
pub(crate) struct Converter<'a> {
    types: &'a BTreeMap<String, DataSchema>,
    style: Style,
    /// Named types being inlined, to stop at a cycle (validation rejects cycles; this keeps an
    /// unvalidated definition from recursing forever).
    inlining: Vec<&'a str>,
    /// Whether a unit was written as a QUDT IRI (WoT only): the document's `@context` then
    /// needs the `qudt` prefix.
    pub(crate) used_qudt: bool,
}

impl<'a> Converter<'a> {
    pub(crate) fn new(types: &'a BTreeMap<String, DataSchema>, style: Style) -> Converter<'a> {
        Converter {
            types,
            style,
            inlining: Vec::new(),
            used_qudt: false,
        }
    }

    /// The JSON form of `s`.
    pub(crate) fn convert(&mut self, s: &DataSchema) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(name) = s.reference.as_deref() {
            self.reference(name, &mut out);
        }
        self.keywords(s, &mut out);
        out
    }

    /// A `ref` to `name`. An unknown ref (or, inlined, a cyclic one) constrains nothing, exactly
    /// as the runtime's compiled schemas treat it.
    fn reference(&mut self, name: &str, out: &mut Map<String, Value>) {
        let Some((key, target)) = self.types.get_key_value(name) else {
            return;
        };
        match self.style {
            Style::JsonSchema => {
                out.insert("$ref".into(), json!(def_ref(key)));
            }
            Style::Wot => {
                if self.inlining.contains(&name) {
                    return;
                }
                self.inlining.push(key);
                *out = self.convert(target);
                self.inlining.pop();
                // WoT has no `$ref`: the marker lets an import give the `ref` back.
                out.insert(WOT_REF.into(), json!(key));
            }
        }
    }

    /// Every keyword of `s` but `ref`; a keyword already in `out` (from an inlined named type)
    /// is overridden, so annotations written next to a `ref` win.
    fn keywords(&mut self, s: &DataSchema, out: &mut Map<String, Value>) {
        if let Some(ty) = s.ty {
            out.insert("type".into(), json!(ty.as_str()));
        }
        let unit = match (self.style, s.unit.as_deref()) {
            (Style::Wot, Some(u)) => match super::units::qudt_iri(u) {
                Some(iri) => {
                    self.used_qudt = true;
                    Some(iri)
                }
                None => Some(u.to_owned()),
            },
            (_, u) => u.map(str::to_owned),
        };
        let mut put = |key: &str, value: Value| {
            out.insert(key.to_owned(), value);
        };
        let strings = [
            ("title", &s.title),
            ("description", &s.description),
            ("unit", &unit),
            ("format", &s.format),
            ("pattern", &s.pattern),
            ("contentMediaType", &s.content_media_type),
            ("contentEncoding", &s.content_encoding),
        ];
        for (key, value) in strings {
            if let Some(v) = value {
                put(key, json!(v));
            }
        }
        if let Some(values) = &s.enumeration {
            put("enum", Value::Array(values.clone()));
        }
        for (key, value) in [("const", &s.constant), ("default", &s.default)] {
            if let Some(v) = value {
                put(key, v.clone());
            }
        }
        let numbers = [
            ("minimum", &s.minimum),
            ("maximum", &s.maximum),
            ("exclusiveMinimum", &s.exclusive_minimum),
            ("exclusiveMaximum", &s.exclusive_maximum),
            ("multipleOf", &s.multiple_of),
        ];
        for (key, value) in numbers {
            if let Some(n) = value {
                put(key, Value::Number(n.clone()));
            }
        }
        let counts = [
            ("minLength", s.min_length),
            ("maxLength", s.max_length),
            ("minItems", s.min_items),
            ("maxItems", s.max_items),
        ];
        for (key, value) in counts {
            if let Some(n) = value {
                put(key, json!(n));
            }
        }
        for (key, value) in [("readOnly", s.read_only), ("writeOnly", s.write_only)] {
            if let Some(b) = value {
                put(key, json!(b));
            }
        }
        if !s.required.is_empty() {
            let required: Vec<&str> = s.required.iter().map(|r| self.member_name(s, r)).collect();
            out.insert("required".into(), json!(required));
        }
        // Nested schemas last: they need `self` again.
        let closed = s.ty == Some(SchemaType::Object) || !s.properties.is_empty();
        if let Some(items) = s.items.as_deref() {
            let items = self.convert(items);
            out.insert("items".into(), Value::Object(items));
        }
        if !s.properties.is_empty() {
            let properties: Map<String, Value> = s
                .properties
                .iter()
                .map(|(name, p)| {
                    let key = self.member_name(s, name).to_owned();
                    let mut member = self.convert(p);
                    if self.style == Style::Wot && key != *name {
                        member.insert(WOT_NAME.into(), json!(name));
                    }
                    (key, Value::Object(member))
                })
                .collect();
            out.insert("properties".into(), Value::Object(properties));
        }
        if let Some(values) = s.additional_properties.as_deref() {
            let values = self.convert(values);
            out.insert("additionalProperties".into(), Value::Object(values));
        }
        if let Some(alternatives) = &s.one_of {
            let alternatives: Vec<Value> = alternatives
                .iter()
                .map(|a| Value::Object(self.convert(a)))
                .collect();
            out.insert("oneOf".into(), Value::Array(alternatives));
        }
        // The runtime rejects properties an object schema does not declare (value.rs): say so.
        if self.style == Style::JsonSchema && closed && s.additional_properties.is_none() {
            out.insert("additionalProperties".into(), Value::Bool(false));
        }
    }
}

impl Converter<'_> {
    /// The key of property `name` of `s` in the output: its `wotName` in WoT documents.
    fn member_name<'s>(&self, s: &'s DataSchema, name: &'s str) -> &'s str {
        match (self.style, s.properties.get(name)) {
            (Style::Wot, Some(p)) => p.wot_name.as_deref().unwrap_or(name),
            _ => name,
        }
    }
}

/// The extension term next to a named type's inlined copy in WoT documents, naming the type.
pub const WOT_REF: &str = "safething:ref";

/// The extension term that gives the definition's own (snake_case) name of an affordance or
/// object member exported under its `wot_name`, so that an import restores both names.
pub const WOT_NAME: &str = "safething:name";

/// The `$ref` that points at `$defs/<name>` of the same document.
pub(crate) fn def_ref(name: &str) -> String {
    format!("#/$defs/{}", fragment(name))
}

/// `name` as one JSON Pointer token inside a URI fragment: `~` and `/` escaped per RFC 6901,
/// then anything outside the fragment's plain characters percent-encoded per RFC 3986.
fn fragment(name: &str) -> String {
    let token = name.replace('~', "~0").replace('/', "~1");
    percent_encode(&token, |c| {
        c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?".contains(c)
    })
}

/// `text` with every byte of a character `keep` rejects written as `%XX`.
pub(crate) fn percent_encode(text: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if keep(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `text` as one URI path segment or URN part: only RFC 3986 unreserved characters stay.
pub(crate) fn uri_part(text: &str) -> String {
    percent_encode(text, |c| c.is_ascii_alphanumeric() || "-._~".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_and_uri_parts_are_escaped() {
        assert_eq!(def_ref("ValveState"), "#/$defs/ValveState");
        assert_eq!(
            def_ref("action.open_valve.input"),
            "#/$defs/action.open_valve.input"
        );
        assert_eq!(def_ref("a/b~c d"), "#/$defs/a~1b~0c%20d");
        assert_eq!(uri_part("garden-01"), "garden-01");
        assert_eq!(uri_part("a b/é"), "a%20b%2F%C3%A9");
    }
}

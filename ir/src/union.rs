//! Discriminated (tagged) unions: a `oneOf` whose alternatives are objects told apart by one
//! property with a different `const` value in each (`{mode: "auto"}` | `{mode: "manual", ...}`).
//!
//! Recognized here, once, so that every generator (Rust enums with a serde tag, TypeScript
//! discriminated unions, the Markdown reference) and the value checker agree on what is one.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::naming;
use crate::schema::{DataSchema, SchemaType};

/// How many `ref` hops are followed to find an alternative's object schema (validated
/// definitions have no cycles; this bounds the walk on unvalidated ones).
const MAX_REF_HOPS: usize = 64;

/// A `oneOf` recognized as a tagged union.
#[derive(Clone, Debug, PartialEq)]
pub struct TaggedUnion<'a> {
    /// The property whose value tells the alternatives apart (e.g. `mode`).
    pub tag: &'a str,
    /// One variant per alternative, in `oneOf` order.
    pub variants: Vec<TaggedVariant<'a>>,
}

/// One alternative of a [`TaggedUnion`].
#[derive(Clone, Debug, PartialEq)]
pub struct TaggedVariant<'a> {
    /// Its index in `oneOf`.
    pub index: usize,
    /// The tag's value in this alternative (a string, integer or boolean).
    pub value: &'a Value,
    /// The alternative as written (inline, or a `ref`).
    pub alternative: &'a DataSchema,
    /// The named type it refers to, when it is a `ref`.
    pub reference: Option<&'a str>,
    /// The object schema it stands for (the alternative itself, or the type it refers to).
    pub object: &'a DataSchema,
    /// The named type that holds `object` (the end of a chain of `ref`s), when it is a `ref`.
    pub object_type: Option<&'a str>,
}

impl TaggedUnion<'_> {
    /// Whether every tag value is a string (what serde's internal tagging supports).
    pub fn has_string_tags(&self) -> bool {
        self.variants.iter().all(|v| v.value.is_string())
    }

    /// The variants' names, in `oneOf` order: each [`TaggedVariant::base_name`] in PascalCase
    /// ([`naming::pascal_from_text`]), a number appended to later duplicates (`Auto`, `Auto2`).
    /// Generators name the enum variants so, and the plan names an inline alternative's type
    /// after its union and variant (`CalibrationManual`).
    pub fn variant_names(&self) -> Vec<String> {
        naming::unique(
            self.variants
                .iter()
                .map(|v| naming::pascal_from_text(&v.base_name()))
                .collect(),
        )
    }

    /// The tag values as JSON text, in `oneOf` order (`"auto"`, `"manual"`), for messages.
    pub fn values_text(&self) -> Vec<String> {
        self.variants
            .iter()
            .map(|v| match v.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    }
}

impl TaggedVariant<'_> {
    /// The other properties of the alternative (all but the tag), by name.
    pub fn fields<'s>(
        &'s self,
        tag: &'s str,
    ) -> impl Iterator<Item = (&'s String, &'s DataSchema)> + 's {
        self.object
            .properties
            .iter()
            .filter(move |(n, _)| *n != tag)
    }

    /// The variant's name before casing: the alternative's `title` when it has one (the
    /// author's explicit choice), else the tag value (`"manual"`, `3`, `true`).
    pub fn base_name(&self) -> String {
        match &self.alternative.title {
            Some(title) => title.clone(),
            None => match self.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        }
    }
}

/// A tag value, compared as JSON Schema compares them (tags are strings, whole numbers and
/// booleans only, so no `1` against `1.0`).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum TagKey<'a> {
    String(&'a str),
    Integer(i128),
    Boolean(bool),
    Other,
}

impl<'a> TagKey<'a> {
    fn of(v: &'a Value) -> TagKey<'a> {
        match v {
            Value::String(s) => TagKey::String(s),
            Value::Bool(b) => TagKey::Boolean(*b),
            Value::Number(n) => n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from))
                .map_or(TagKey::Other, TagKey::Integer),
            _ => TagKey::Other,
        }
    }
}

/// Whether a schema is a `const` of a string, integer or boolean: a possible tag.
fn tag_value(s: &DataSchema) -> Option<&Value> {
    if s.reference.is_some() || s.one_of.is_some() {
        return None;
    }
    let value = s.constant.as_ref()?;
    let fits_type = match s.ty {
        None => true,
        Some(SchemaType::String) => value.is_string(),
        Some(SchemaType::Integer | SchemaType::Number) => value.is_i64() || value.is_u64(),
        Some(SchemaType::Boolean) => value.is_boolean(),
        Some(_) => false,
    };
    let scalar = value.is_string() || value.is_i64() || value.is_u64() || value.is_boolean();
    (fits_type && scalar).then_some(value)
}

/// Whether a schema is a `const` of a JSON scalar (string, number, boolean or `null`): a value
/// that generated code spells as its literal type rather than as its JSON type.
pub fn is_literal_const(s: &DataSchema) -> bool {
    s.reference.is_none()
        && s.one_of.is_none()
        && s.constant
            .as_ref()
            .is_some_and(|v| !v.is_object() && !v.is_array())
}

/// The object schema an alternative stands for, following `ref`s.
fn object_of<'a>(
    alternative: &'a DataSchema,
    types: &'a BTreeMap<String, DataSchema>,
) -> Option<(&'a DataSchema, Option<&'a str>)> {
    let mut current = alternative;
    let mut last_ref = None;
    for _ in 0..MAX_REF_HOPS {
        match &current.reference {
            Some(r) => {
                last_ref = Some(r.as_str());
                current = types.get(r)?;
            }
            None => {
                let plain_object = current.ty == Some(SchemaType::Object)
                    && current.one_of.is_none()
                    && current.enumeration.is_none()
                    && current.constant.is_none();
                return plain_object.then_some((current, last_ref));
            }
        }
    }
    None
}

/// The tagged union `s` is, if it is one: a `oneOf` of objects (inline or `ref`) that all
/// require the same property, whose schema is a `const` string, integer or boolean, with
/// pairwise distinct values. When several properties qualify, the first in name order is the
/// tag. `types` are the definition's named types.
pub fn tagged_union<'a>(
    s: &'a DataSchema,
    types: &'a BTreeMap<String, DataSchema>,
) -> Option<TaggedUnion<'a>> {
    let alternatives = s.one_of.as_deref().filter(|a| !a.is_empty())?;
    // (alternative, object, the named type holding the object)
    let objects: Vec<(&DataSchema, &DataSchema, Option<&str>)> = alternatives
        .iter()
        .map(|a| object_of(a, types).map(|(o, r)| (a, o, r)))
        .collect::<Option<_>>()?;
    let (_, first, _) = objects.first()?;
    'candidates: for (tag, schema) in &first.properties {
        if !first.is_required(tag) || tag_value(schema).is_none() {
            continue;
        }
        let mut variants: Vec<TaggedVariant<'a>> = Vec::with_capacity(objects.len());
        // A set, not pairwise comparisons: a definition from the network may have thousands
        // of alternatives.
        let mut seen = BTreeSet::new();
        for (index, (alternative, object, object_type)) in objects.iter().enumerate() {
            let Some(value) = object
                .properties
                .get(tag)
                .filter(|_| object.is_required(tag))
                .and_then(tag_value)
            else {
                continue 'candidates;
            };
            if !seen.insert(TagKey::of(value)) {
                continue 'candidates;
            }
            variants.push(TaggedVariant {
                index,
                value,
                alternative,
                reference: alternative.reference.as_deref(),
                object,
                object_type: *object_type,
            });
        }
        return Some(TaggedUnion { tag, variants });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: Value) -> DataSchema {
        serde_json::from_value(v).unwrap()
    }

    fn types() -> BTreeMap<String, DataSchema> {
        serde_json::from_value(json!({
            "Manual": {"type": "object", "required": ["mode", "reference_ppm"], "properties": {
                "mode": {"type": "string", "const": "manual"},
                "reference_ppm": {"type": "number"}}},
            "Alias": {"ref": "Manual"},
            "Text": {"type": "string"}
        }))
        .unwrap()
    }

    #[test]
    fn inline_and_referenced_alternatives_are_recognized() {
        let s = schema(json!({"oneOf": [
            {"type": "object", "required": ["mode"],
             "properties": {"mode": {"type": "string", "const": "auto"}}},
            {"ref": "Alias"}
        ]}));
        let types = types();
        let u = tagged_union(&s, &types).unwrap();
        assert_eq!(u.tag, "mode");
        assert!(u.has_string_tags());
        assert_eq!(u.values_text(), ["auto", "manual"]);
        let manual = &u.variants[1];
        assert_eq!(manual.reference, Some("Alias"));
        assert_eq!(manual.object_type, Some("Manual"));
        assert_eq!(manual.base_name(), "manual");
        assert_eq!(u.variant_names(), ["Auto", "Manual"]);
        let fields: Vec<&String> = manual.fields(u.tag).map(|(n, _)| n).collect();
        assert_eq!(fields, ["reference_ppm"]);
    }

    #[test]
    fn titles_name_variants_before_values() {
        let s = schema(json!({"oneOf": [
            {"type": "object", "title": "Automatic", "required": ["v"],
             "properties": {"v": {"const": 1}}},
            {"type": "object", "required": ["v"], "properties": {"v": {"const": 2}}}
        ]}));
        let no_types = BTreeMap::new();
        let u = tagged_union(&s, &no_types).unwrap();
        assert!(!u.has_string_tags());
        let names: Vec<String> = u.variants.iter().map(TaggedVariant::base_name).collect();
        assert_eq!(names, ["Automatic", "2"]);
        assert_eq!(u.variant_names(), ["Automatic", "V2"]);
    }

    #[test]
    fn variant_names_collide_into_numbers() {
        let s = schema(json!({"oneOf": [
            {"type": "object", "required": ["m"], "properties": {"m": {"const": "on-off"}}},
            {"type": "object", "required": ["m"], "properties": {"m": {"const": "on_off"}}},
            {"type": "object", "required": ["m"], "properties": {"m": {"const": "OnOff"}}}
        ]}));
        let no_types = BTreeMap::new();
        let u = tagged_union(&s, &no_types).unwrap();
        assert_eq!(u.variant_names(), ["OnOff", "OnOff2", "OnOff3"]);
    }

    #[test]
    fn the_first_property_that_tells_all_apart_is_the_tag() {
        // `a` is the same in both: not a tag; `b` tells them apart.
        let s = schema(json!({"oneOf": [
            {"type": "object", "required": ["a", "b"],
             "properties": {"a": {"const": "x"}, "b": {"const": true}}},
            {"type": "object", "required": ["a", "b"],
             "properties": {"a": {"const": "x"}, "b": {"const": false}}}
        ]}));
        assert_eq!(tagged_union(&s, &BTreeMap::new()).unwrap().tag, "b");
    }

    #[test]
    fn other_unions_are_not_tagged() {
        let types = types();
        let not_tagged = [
            // a primitive alternative
            json!({"oneOf": [{"ref": "Manual"}, {"type": "null"}]}),
            json!({"oneOf": [{"ref": "Text"}]}),
            // the tag is optional in one
            json!({"oneOf": [{"ref": "Manual"}, {"type": "object",
                "properties": {"mode": {"const": "auto"}}}]}),
            // the same value twice (1 and 1.0 are equal)
            json!({"oneOf": [
                {"type": "object", "required": ["k"], "properties": {"k": {"const": 1}}},
                {"type": "object", "required": ["k"], "properties": {"k": {"const": 1.0}}}]}),
            // not a scalar constant
            json!({"oneOf": [
                {"type": "object", "required": ["k"], "properties": {"k": {"const": [1]}}},
                {"type": "object", "required": ["k"], "properties": {"k": {"const": [2]}}}]}),
            // an enum, not a constant
            json!({"oneOf": [
                {"type": "object", "required": ["k"], "properties": {"k": {"enum": ["a"]}}},
                {"type": "object", "required": ["k"], "properties": {"k": {"enum": ["b"]}}}]}),
            json!({"oneOf": []}),
            json!({"type": "object"}),
            // an unknown reference
            json!({"oneOf": [{"ref": "Missing"}, {"ref": "Manual"}]}),
        ];
        for s in not_tagged {
            assert_eq!(tagged_union(&schema(s.clone()), &types), None, "{s}");
        }
    }

    /// Thousands of alternatives (a definition from the network): the distinct-tag check uses
    /// a set, where pairwise comparisons would take hundreds of millions of steps here.
    #[test]
    fn attack_many_alternatives_are_recognized_without_pairwise_comparisons() {
        let n = 30_000;
        let alternatives: Vec<Value> = (0..n)
            .map(
                |i| json!({"type": "object", "required": ["k"], "properties": {"k": {"const": i}}}),
            )
            .collect();
        let s = schema(json!({ "oneOf": alternatives }));
        let no_types = BTreeMap::new();
        let u = tagged_union(&s, &no_types).unwrap();
        assert_eq!(u.variants.len(), n);
        // One duplicate at the end: not tagged.
        let mut dup = s.clone();
        if let Some(alts) = dup.one_of.as_mut() {
            alts.push(alts[0].clone());
        }
        assert_eq!(tagged_union(&dup, &no_types), None);
    }

    /// Thousands of alternatives whose names collide after casing: numbering them stays linear
    /// (each name remembers its next number).
    #[test]
    fn attack_many_colliding_variant_names_are_numbered_in_linear_time() {
        let n = 30_000;
        let alternatives: Vec<Value> = (0..n)
            .map(|i| {
                json!({"type": "object", "title": "é", "required": ["k"],
                       "properties": {"k": {"const": i}}})
            })
            .collect();
        let s = schema(json!({ "oneOf": alternatives }));
        let no_types = BTreeMap::new();
        let names = tagged_union(&s, &no_types).unwrap().variant_names();
        assert_eq!(names.first().map(String::as_str), Some("Empty"));
        assert_eq!(names.get(1).map(String::as_str), Some("Empty2"));
        assert_eq!(names.last().cloned(), Some(format!("Empty{n}")));
    }

    #[test]
    fn cyclic_references_end() {
        let types: BTreeMap<String, DataSchema> =
            serde_json::from_value(json!({"A": {"ref": "B"}, "B": {"ref": "A"}})).unwrap();
        let s = schema(json!({"oneOf": [{"ref": "A"}]}));
        assert_eq!(tagged_union(&s, &types), None);
    }

    #[test]
    fn literal_constants() {
        assert!(is_literal_const(&schema(json!({"const": "v1"}))));
        // `const: null` reads as no `const` at all; `type = "null"` is the unit type already.
        assert!(!is_literal_const(&schema(json!({"const": null}))));
        assert!(is_literal_const(&schema(
            json!({"type": "number", "const": 1.5})
        )));
        assert!(!is_literal_const(&schema(json!({"const": {"a": 1}}))));
        assert!(!is_literal_const(&schema(json!({"type": "string"}))));
    }
}

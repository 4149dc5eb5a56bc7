//! Which schemas of a definition become named types in generated code, and their names.
//!
//! Generators (Rust, TypeScript, through [`TypePlan`]) and validation (name collisions) all use
//! [`type_plan`], so a name is decided in exactly one place.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::definition::Definition;
use crate::naming::{self, PayloadPosition};
use crate::path::IrPath;
use crate::schema::{ChildKey, DataSchema, SchemaType};
use crate::union::{is_literal_const, tagged_union};

/// The types a definition's generated code declares, in order, found by the IR path of their
/// schema: what each generator needs from [`type_plan`].
#[derive(Clone, Debug)]
pub struct TypePlan {
    types: Vec<PlannedType>,
    by_path: BTreeMap<IrPath, usize>,
}

impl TypePlan {
    /// The plan of `def`.
    pub fn of(def: &Definition) -> TypePlan {
        let types = type_plan(def);
        let by_path = types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.path.clone(), i))
            .collect();
        TypePlan { types, by_path }
    }

    /// Every planned type, in declaration order.
    pub fn iter(&self) -> std::slice::Iter<'_, PlannedType> {
        self.types.iter()
    }

    /// The type declared for the schema at `path`, if it gets one.
    pub fn at(&self, path: &IrPath) -> Option<&PlannedType> {
        self.by_path.get(path).map(|&i| &self.types[i])
    }
}

/// What kind of generated type a schema becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeShape {
    /// A struct (an object schema).
    Struct,
    /// An enum of string values.
    StringEnum,
    /// A union of alternatives (`oneOf`); [`crate::union::tagged_union`] tells whether it is a
    /// tagged one.
    Union,
    /// An alias of another type or a primitive (named types only).
    Alias,
    /// A `const` scalar: a type with exactly one value (see [`crate::union::is_literal_const`]).
    Const,
}

/// One type that generators emit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedType {
    /// The PascalCase type name.
    pub name: String,
    /// Where its schema is in the IR.
    pub path: IrPath,
    /// What it becomes.
    pub shape: TypeShape,
}

/// The shape an inline (unnamed) schema needs, or `None` when it maps to a primitive,
/// a `Vec`, or the named type it refers to.
pub fn inline_shape(s: &DataSchema) -> Option<TypeShape> {
    if s.reference.is_some() {
        return None;
    }
    if s.one_of.is_some() {
        return Some(TypeShape::Union);
    }
    if is_literal_const(s) {
        return Some(TypeShape::Const);
    }
    if is_string_enum(s) {
        return Some(TypeShape::StringEnum);
    }
    // An open map is a `BTreeMap`/`Record`: no type of its own.
    (s.ty == Some(SchemaType::Object) && !s.is_map()).then_some(TypeShape::Struct)
}

/// Whether the schema is an `enum` of strings only.
pub fn is_string_enum(s: &DataSchema) -> bool {
    matches!(s.ty, None | Some(SchemaType::String))
        && s.enumeration
            .as_ref()
            .is_some_and(|values| !values.is_empty() && values.iter().all(Value::is_string))
}

/// The name of the type generated for a nested inline schema.
pub fn nested_type_name(parent: &str, key: ChildKey<'_>) -> String {
    match key {
        ChildKey::Items => format!("{parent}Item"),
        ChildKey::Property(p) => format!("{parent}{}", naming::pascal_from_snake(p)),
        ChildKey::OneOf(i) => format!("{parent}Variant{}", i + 1),
        ChildKey::AdditionalProperties => format!("{parent}Value"),
    }
}

/// Every type generated for `def`, in a deterministic order: named types first, then payloads
/// of attributes, events and actions, each followed by the types nested in it.
pub fn type_plan(def: &Definition) -> Vec<PlannedType> {
    let mut out = Vec::new();
    for (name, schema) in &def.types {
        let path = IrPath::of(["types", name.as_str()]);
        let shape = inline_shape(schema).unwrap_or(TypeShape::Alias);
        out.push(PlannedType {
            name: name.clone(),
            path: path.clone(),
            shape,
        });
        nested(schema, name, &path, &def.types, &mut out);
    }
    let mut payload = |schema: &DataSchema, affordance: &str, position, path: IrPath| {
        let name = naming::payload_type_name(affordance, position);
        if let Some(shape) = inline_shape(schema) {
            out.push(PlannedType {
                name: name.clone(),
                path: path.clone(),
                shape,
            });
        }
        // An array (or primitive) payload has no type of its own, but inline objects and enums
        // inside it do: they take the payload's name as their prefix (`TagsItem`).
        nested(schema, &name, &path, &def.types, &mut out);
    };
    for (name, a) in &def.attributes {
        payload(
            &a.schema,
            name,
            PayloadPosition::Attribute,
            IrPath::of(["attributes", name.as_str()]),
        );
    }
    for (name, e) in &def.events {
        if let Some(data) = &e.data {
            let path = IrPath::of(["events", name.as_str(), "data"]);
            payload(data, name, PayloadPosition::EventData, path);
        }
    }
    for (name, a) in &def.actions {
        let at = IrPath::of(["actions", name.as_str()]);
        if let Some(input) = &a.input {
            payload(input, name, PayloadPosition::ActionInput, at.key("input"));
        }
        if let Some(output) = &a.output {
            payload(
                output,
                name,
                PayloadPosition::ActionOutput,
                at.key("output"),
            );
        }
    }
    out
}

/// The types nested in `schema` (not itself), in pre-order. An explicit stack instead of
/// recursion: a definition may come from the network. The inline alternatives of a tagged
/// union are named after their variant (`CalibrationManual`), others by position
/// (`ReadingVariant2`).
fn nested(
    schema: &DataSchema,
    parent: &str,
    path: &IrPath,
    types: &BTreeMap<String, DataSchema>,
    out: &mut Vec<PlannedType>,
) {
    type Pending<'s> = (&'s DataSchema, String, IrPath, Option<TypeShape>);
    fn push_children<'s>(
        s: &'s DataSchema,
        parent: &str,
        path: &IrPath,
        types: &BTreeMap<String, DataSchema>,
        stack: &mut Vec<Pending<'s>>,
    ) {
        let variant_names = tagged_union(s, types).map(|u| u.variant_names());
        let start = stack.len();
        for (key, child) in s.children() {
            let child_path = match key {
                ChildKey::Items => path.key("items"),
                ChildKey::Property(p) => path.key("properties").key(p),
                ChildKey::OneOf(i) => path.key("oneOf").index(i),
                ChildKey::AdditionalProperties => path.key("additionalProperties"),
            };
            let shape = inline_shape(child);
            let variant = match key {
                ChildKey::OneOf(i) => variant_names.as_ref().and_then(|n| n.get(i)),
                _ => None,
            };
            let name = match (variant, shape) {
                (Some(variant), _) => format!("{parent}{variant}"),
                (None, Some(_)) => nested_type_name(parent, key),
                // A primitive or array: its children keep this type's name as their prefix.
                (None, None) => nested_prefix(parent, key),
            };
            stack.push((child, name, child_path, shape));
        }
        if let Some(pushed) = stack.get_mut(start..) {
            pushed.reverse();
        }
    }
    let mut stack = Vec::new();
    push_children(schema, parent, path, types, &mut stack);
    while let Some((child, name, child_path, shape)) = stack.pop() {
        if let Some(shape) = shape {
            out.push(PlannedType {
                name: name.clone(),
                path: child_path.clone(),
                shape,
            });
        }
        push_children(child, &name, &child_path, types, &mut stack);
    }
}

fn nested_prefix(parent: &str, key: ChildKey<'_>) -> String {
    match key {
        ChildKey::Items => parent.to_owned(),
        _ => nested_type_name(parent, key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_types_inside_array_payloads_are_planned() {
        let def: Definition = serde_json::from_value(serde_json::json!({
            "thing": {"name": "T", "version": "1.0.0"},
            "attributes": {"tags": {"type": "array",
                "items": {"type": "string", "enum": ["a", "b"]}}},
            "actions": {"load": {"input": {"type": "array",
                "items": {"type": "object", "properties": {"x": {"type": "integer"}}}}}}
        }))
        .unwrap();
        let names: Vec<(String, String)> = type_plan(&def)
            .into_iter()
            .map(|t| (t.name, t.path.to_string()))
            .collect();
        assert_eq!(
            names,
            [
                ("TagsItem".to_owned(), "attributes.tags.items".to_owned()),
                (
                    "LoadInputItem".to_owned(),
                    "actions.load.input.items".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn inline_alternatives_of_tagged_unions_are_named_after_their_variant() {
        let def: Definition = serde_json::from_value(serde_json::json!({
            "thing": {"name": "T", "version": "1.0.0"},
            "types": {"Calibration": {"oneOf": [
                {"type": "object", "required": ["mode"],
                 "properties": {"mode": {"const": "auto"}}},
                {"type": "object", "required": ["mode"], "properties": {
                    "mode": {"const": "two-point"},
                    "points": {"type": "array", "items": {"type": "object"}}}}
            ]}},
            "attributes": {"r": {"oneOf": [{"type": "object"}, {"type": "null"}]}}
        }))
        .unwrap();
        let names: Vec<(String, TypeShape)> = type_plan(&def)
            .into_iter()
            .map(|t| (t.name, t.shape))
            .collect();
        let expected = [
            ("Calibration", TypeShape::Union),
            ("CalibrationAuto", TypeShape::Struct),
            ("CalibrationAutoMode", TypeShape::Const),
            ("CalibrationTwoPoint", TypeShape::Struct),
            ("CalibrationTwoPointMode", TypeShape::Const),
            ("CalibrationTwoPointPointsItem", TypeShape::Struct),
            ("R", TypeShape::Union),
            ("RVariant1", TypeShape::Struct),
        ];
        let expected: Vec<(String, TypeShape)> = expected
            .iter()
            .map(|(n, s)| ((*n).to_owned(), *s))
            .collect();
        assert_eq!(names, expected);
    }
}

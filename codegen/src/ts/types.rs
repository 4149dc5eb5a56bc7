//! Type generation: TypeScript types from a definition's schemas. Which schemas become named
//! types, and their names, is decided by [`safething_ir::types::type_plan`] (as for Rust).
//!
//! | Schema | TypeScript |
//! | --- | --- |
//! | `ref = "Name"` | `Name` |
//! | `type = "object"` | an `interface`: required properties plain, others optional (`at?: string`); wire names kept |
//! | object without properties | an interface that admits only `{}` |
//! | `type = "string"` with `enum` | a union of string literals (`"open" \| "closed"`) |
//! | `oneOf` | a union of the alternatives' types; when they are objects told apart by a `const` property (a tagged union), each has that property as a literal type, so the union narrows on it (`if (c.mode === "manual") c.reference_ppm`) |
//! | `type = "array"` | `T[]` (`rt.Json[]` without `items`) |
//! | `type = "object"` with `additionalProperties` (an open map) | `Record<string, T>` |
//! | `integer`, `number` | `number` |
//! | `string`, `boolean`, `null` | `string`, `boolean`, `null` |
//! | `const` / `enum` of primitives | the literal types |
//! | anything else | `rt.Json` |

use serde_json::Value;

use safething_ir::types::{TypePlan, TypeShape, is_string_enum};
use safething_ir::union::tagged_union;
use safething_ir::{DataSchema, Definition, IrPath, SchemaType, Segment};

use super::GenError;
use super::docs::schema_docs;
use super::names::property_key;

/// Schemas nest at most this deep (a safety net: validated definitions have no cycles).
const MAX_DEPTH: usize = 64;

/// A field of an interface, for the template.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FieldView {
    /// The property key as written (bare or quoted).
    pub key: String,
    /// Whether it may be absent.
    pub optional: bool,
    /// Its TypeScript type.
    pub ty: String,
    /// Doc paragraphs.
    pub docs: Vec<String>,
}

/// A generated type, for the template.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TypeView {
    /// Its name.
    pub name: String,
    /// `interface` or `alias`.
    pub shape: &'static str,
    /// Doc paragraphs.
    pub docs: Vec<String>,
    /// An interface's fields.
    pub fields: Vec<FieldView>,
    /// An alias's target type.
    pub target: String,
}

/// Spells a definition's schemas as TypeScript types.
pub struct TsTypes<'a> {
    def: &'a Definition,
    plan: TypePlan,
}

fn literal(v: &Value) -> Option<String> {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            serde_json::to_string(v).ok()
        }
        _ => None,
    }
}

fn union(parts: Vec<String>) -> String {
    let mut seen = Vec::new();
    for p in parts {
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    seen.join(" | ")
}

impl<'a> TsTypes<'a> {
    /// A generator for `def`'s types.
    pub fn new(def: &'a Definition) -> TsTypes<'a> {
        let plan = TypePlan::of(def);
        TsTypes { def, plan }
    }

    /// The TypeScript type of the schema at `path` (a payload or a property).
    pub fn ts_type(&self, s: &DataSchema, path: &IrPath) -> Result<String, GenError> {
        self.type_at(s, path, 0)
    }

    fn type_at(&self, s: &DataSchema, path: &IrPath, depth: usize) -> Result<String, GenError> {
        if let Some(planned) = self.plan.at(path)
            && s.reference.is_none()
            && planned.shape != TypeShape::Const
        {
            return Ok(planned.name.clone());
        }
        self.structural(s, path, depth)
    }

    /// The type a schema maps to, without looking up a planned type at `path` itself.
    fn structural(&self, s: &DataSchema, path: &IrPath, depth: usize) -> Result<String, GenError> {
        if depth > MAX_DEPTH {
            return Err(GenError::Unsupported(format!(
                "`{path}` is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        if let Some(r) = &s.reference {
            return Ok(r.clone());
        }
        if let Some(alternatives) = &s.one_of {
            let mut parts = Vec::new();
            for (i, alt) in alternatives.iter().enumerate() {
                parts.push(self.type_at(alt, &path.key("oneOf").index(i), depth + 1)?);
            }
            return Ok(if parts.is_empty() {
                "rt.Json".to_owned()
            } else {
                union(parts)
            });
        }
        if let Some(c) = &s.constant
            && let Some(lit) = literal(c)
        {
            return Ok(lit);
        }
        if let Some(values) = &s.enumeration {
            let literals: Option<Vec<String>> = values.iter().map(literal).collect();
            if let Some(literals) = literals.filter(|l| !l.is_empty()) {
                return Ok(union(literals));
            }
        }
        if is_string_enum(s) {
            return Ok("string".to_owned());
        }
        Ok(match s.ty {
            Some(SchemaType::Boolean) => "boolean".to_owned(),
            Some(SchemaType::Integer | SchemaType::Number) => "number".to_owned(),
            Some(SchemaType::String) => "string".to_owned(),
            Some(SchemaType::Null) => "null".to_owned(),
            Some(SchemaType::Array) => {
                let item = match &s.items {
                    Some(items) => self.type_at(items, &path.key("items"), depth + 1)?,
                    None => "rt.Json".to_owned(),
                };
                if item.contains(' ') {
                    format!("({item})[]")
                } else {
                    format!("{item}[]")
                }
            }
            Some(SchemaType::Object) if s.is_map() => match &s.additional_properties {
                Some(v) => {
                    let values = self.type_at(v, &path.key("additionalProperties"), depth + 1)?;
                    format!("Record<string, {values}>")
                }
                None => "rt.Json".to_owned(),
            },
            Some(SchemaType::Object) | None => "rt.Json".to_owned(),
        })
    }

    /// Every planned type, in plan order.
    pub fn views(&self) -> Result<Vec<TypeView>, GenError> {
        let mut out = Vec::new();
        for planned in self.plan.iter() {
            // A constant is its literal type wherever it is used; a named one is an alias.
            let named = matches!(planned.path.segments(), [Segment::Key(t), _] if t == "types");
            if planned.shape == TypeShape::Const && !named {
                continue;
            }
            let schema = self.schema_at(&planned.path)?;
            let mut docs = schema_docs(schema);
            if docs.is_empty() {
                docs.push(format!("Generated from `{}`.", planned.path));
            }
            let mut view = TypeView {
                name: planned.name.clone(),
                shape: "alias",
                docs,
                fields: Vec::new(),
                target: String::new(),
            };
            match planned.shape {
                TypeShape::Struct => {
                    view.shape = "interface";
                    for (prop, p) in &schema.properties {
                        let path = planned.path.key("properties").key(prop);
                        let mut docs = schema_docs(p);
                        if docs.is_empty() {
                            docs.push(format!("The `{prop}` property."));
                        }
                        view.fields.push(FieldView {
                            key: property_key(prop),
                            optional: !schema.is_required(prop),
                            ty: self.ts_type(p, &path)?,
                            docs,
                        });
                    }
                }
                TypeShape::StringEnum => {
                    let values: Vec<String> = schema
                        .enumeration
                        .iter()
                        .flatten()
                        .filter_map(literal)
                        .collect();
                    view.target = union(values);
                }
                TypeShape::Union => {
                    if let Some(union) = tagged_union(schema, &self.def.types) {
                        view.docs.push(format!(
                            "A tagged union: narrow it on `{}`.",
                            property_key(union.tag)
                        ));
                    }
                    view.target = self.structural(schema, &planned.path, 0)?;
                }
                TypeShape::Alias | TypeShape::Const => {
                    view.target = self.structural(schema, &planned.path, 0)?;
                }
            }
            out.push(view);
        }
        Ok(out)
    }

    /// The schema at a planned type's path.
    fn schema_at(&self, path: &IrPath) -> Result<&'a DataSchema, GenError> {
        let missing = || GenError::Unsupported(format!("no schema at `{path}`"));
        self.def.schema_at(path).ok_or_else(missing)
    }
}

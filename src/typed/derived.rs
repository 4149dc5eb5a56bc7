//! What `#[derive(SafeThing)]` stands on: the [`SafeThing`] trait, and [`DerivedBuilder`], which
//! completes at run time the definition the macro lowered at compile time with the JSON Schemas
//! of the Rust types it could not see into.
//!
//! At expansion, the derive knows the struct's fields and attributes: names, access types,
//! histories, timeouts, the schemas of fields of primitive types (`f64`, `u8`, `String`,
//! `Vec<_>`, ...) with their keywords. It validates that part with the IR's own checks and
//! embeds it as JSON. What it cannot know is the schema of a user type (`ValveState`,
//! `Reading`): those come from the types' `schemars::JsonSchema` implementations when the
//! definition is first used, converted by [`safething_ir::import`].
//!
//! Building never panics. A schema the definition format cannot express (a map, a tuple, an
//! untagged enum, ...) becomes a [`Rule::UnsupportedSchema`] problem, and its place in the
//! definition an empty schema; [`Derived::check`] reports the problems, and the generated device
//! builder refuses to build a device from such a definition (so does the runtime's own
//! validation of any device built from it).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};

use safething_ir::import;
use safething_ir::{CheckedDefinition, Definition, Diagnostic, Invalid, IrPath, Rule};

pub use safething_ir::DataSchema;

/// A thing type defined by a Rust struct with `#[derive(SafeThing)]`.
///
/// The derive implements it; see the derive macro's documentation for the attributes. The
/// definition is built once, at first use, from what the macro knew at compile time and the
/// JSON Schemas of the payload types (see [`DerivedBuilder`]).
pub trait SafeThing {
    /// The definition built at first use, with the problems found building it.
    fn derived() -> &'static Derived;

    /// The thing's definition: the same IR a TOML definition lowers into. Never panics; when a
    /// payload type's schema cannot be expressed, the definition does not validate and
    /// [`SafeThing::check`] says why.
    fn definition() -> Definition {
        Self::derived().definition().clone()
    }

    /// Every problem of the definition: schemas of Rust types that cannot be expressed, then
    /// the IR's validation (which the macro already ran on everything it could see). `Ok`
    /// carries the warnings.
    fn check() -> Result<Vec<Diagnostic>, Invalid> {
        Self::derived().check()
    }
}

/// A definition built by [`DerivedBuilder`], with the problems found converting schemas and
/// the result of its one check.
#[derive(Clone, Debug)]
pub struct Derived {
    definition: Definition,
    problems: Vec<Diagnostic>,
    checked: Result<CheckedDefinition, Invalid>,
}

impl Derived {
    /// The definition (with an empty schema where a Rust type's schema could not be converted).
    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// Schemas of Rust types that could not be converted ([`Rule::UnsupportedSchema`]).
    pub fn problems(&self) -> &[Diagnostic] {
        &self.problems
    }

    /// The problems, then the definition's validation, without the consequences of the
    /// problems (the empty schemas put in their place). `Ok` carries the warnings.
    pub fn check(&self) -> Result<Vec<Diagnostic>, Invalid> {
        match &self.checked {
            Ok(checked) => {
                let mut all = self.problems.clone();
                all.extend(checked.warnings().iter().cloned());
                Ok(all)
            }
            Err(invalid) => Err(invalid.clone()),
        }
    }

    /// The checked definition (validated once, when the definition was built), or what
    /// [`check`](Self::check) reports: the generated device builder takes it as it is.
    pub fn checked(&self) -> &Result<CheckedDefinition, Invalid> {
        &self.checked
    }
}

/// Checks a derived definition once: the problems converting schemas, then validation without
/// the consequences of those problems (the empty schemas put in their place).
fn check_once(
    definition: &Definition,
    problems: &[Diagnostic],
    placeholders: &[IrPath],
) -> Result<CheckedDefinition, Invalid> {
    let mut all = problems.to_vec();
    let validation = if problems.iter().any(Diagnostic::is_error) {
        definition.validate()
    } else {
        match definition.clone().checked() {
            Ok(checked) => return Ok(checked),
            Err(Invalid(diagnostics)) => diagnostics,
        }
    };
    all.extend(
        validation
            .into_iter()
            .filter(|d| !(d.rule == Rule::IncompleteSchema && placeholders.contains(&d.path))),
    );
    Err(Invalid(all))
}

/// Completes a derived definition: the part known at compile time (JSON written by the derive)
/// and the schema of each payload of a Rust type. Used by the code `#[derive(SafeThing)]`
/// generates.
///
/// Schemas are generated with schemars' draft 2020-12 settings for *serialization* (what the
/// thing's own senders write: an `Option` field without `skip_serializing_if` is a required,
/// nullable property). Types that schemars does not inline become named types
/// (`types.<Name>`, referred to with `ref`); `#[schemars(inline)]` keeps a type's schema in
/// place.
pub struct DerivedBuilder {
    definition: Definition,
    generator: SchemaGenerator,
    problems: Vec<Diagnostic>,
    placeholders: Vec<IrPath>,
}

impl std::fmt::Debug for DerivedBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DerivedBuilder")
            .field("definition", &self.definition)
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl DerivedBuilder {
    /// Starts from the definition the derive lowered (as JSON). JSON that does not parse (a
    /// bug) is a problem, not a panic.
    pub fn new(json: &str) -> DerivedBuilder {
        let mut problems = Vec::new();
        let definition = serde_json::from_str(json).unwrap_or_else(|e| {
            problems.push(Diagnostic::error(
                Rule::Syntax,
                IrPath::root(),
                format!("the derived definition does not parse (a bug in the derive): {e}"),
            ));
            Definition::default()
        });
        DerivedBuilder {
            definition,
            generator: SchemaSettings::draft2020_12()
                .for_serialize()
                .into_generator(),
            problems,
            placeholders: Vec::new(),
        }
    }

    /// Puts the schema of `T` at `at`: `["attributes", name]`, `["events", name, "data"]`,
    /// `["actions", name, "input" | "output"]`, each possibly followed by `"items"` (the
    /// elements of a `Vec`). Annotations already there (the field's `title`, `description`,
    /// `unit`, `default`, `readOnly`, `writeOnly`) are kept over the type's.
    pub fn schema<T: JsonSchema + ?Sized>(mut self, at: &[&str]) -> DerivedBuilder {
        let path = IrPath::of(at.iter().copied());
        let generated = self.generator.subschema_for::<T>();
        let imported = import::data_schema(generated.as_value(), &path);
        let Some(slot) = slot(&mut self.definition, at) else {
            self.problems.push(Diagnostic::error(
                Rule::Syntax,
                path,
                "no such payload in the derived definition (a bug in the derive)",
            ));
            return self;
        };
        let schema = match imported {
            Ok(schema) => schema,
            Err(problems) => {
                self.problems.extend(problems);
                self.placeholders.push(path);
                DataSchema::default()
            }
        };
        *slot = merge(schema, std::mem::take(slot));
        self
    }

    /// The definition, with the named types the schemas refer to.
    pub fn build(mut self) -> Derived {
        let defs = self.generator.take_definitions(true);
        let mut types = BTreeMap::new();
        for (name, schema) in &defs {
            let at = IrPath::of(["types", name.as_str()]);
            let single = std::iter::once((name.clone(), schema.clone())).collect();
            match import::named_types(&single) {
                Ok(mut converted) => {
                    if let Some(s) = converted.remove(name) {
                        types.insert(name.clone(), s);
                    }
                }
                Err(problems) => {
                    self.problems.extend(problems);
                    self.placeholders.push(at);
                    types.insert(name.clone(), DataSchema::default());
                }
            }
        }
        self.definition.types.extend(types);
        import::inline_extended_refs(&mut self.definition);
        let checked = check_once(&self.definition, &self.problems, &self.placeholders);
        Derived {
            definition: self.definition,
            problems: self.problems,
            checked,
        }
    }
}

/// The schema at `at` in `definition`.
fn slot<'a>(definition: &'a mut Definition, at: &[&str]) -> Option<&'a mut DataSchema> {
    let (mut schema, rest) = match at {
        ["attributes", name, rest @ ..] => {
            (&mut definition.attributes.get_mut(*name)?.schema, rest)
        }
        ["events", name, "data", rest @ ..] => (
            definition
                .events
                .get_mut(*name)?
                .data
                .get_or_insert_with(DataSchema::default),
            rest,
        ),
        ["actions", name, "input", rest @ ..] => (
            definition
                .actions
                .get_mut(*name)?
                .input
                .get_or_insert_with(DataSchema::default),
            rest,
        ),
        ["actions", name, "output", rest @ ..] => (
            definition
                .actions
                .get_mut(*name)?
                .output
                .get_or_insert_with(DataSchema::default),
            rest,
        ),
        _ => return None,
    };
    for segment in rest {
        if *segment != "items" {
            return None;
        }
        schema = schema.items.get_or_insert_with(Box::default);
    }
    Some(schema)
}

/// The type's schema with the field's annotations on top.
fn merge(mut schema: DataSchema, field: DataSchema) -> DataSchema {
    if field.title.is_some() {
        schema.title = field.title;
    }
    if field.description.is_some() {
        schema.description = field.description;
    }
    if field.unit.is_some() {
        schema.unit = field.unit;
    }
    if field.default.is_some() {
        schema.default = field.default;
    }
    if field.read_only.is_some() {
        schema.read_only = field.read_only;
    }
    if field.write_only.is_some() {
        schema.write_only = field.write_only;
    }
    schema
}

//! `safething-ir`: the one model of a SAFEthing thing type.
//!
//! Both front ends — TOML definitions (`safething-codegen`) and `#[derive(SafeThing)]` —
//! lower into [`Definition`]. Every check runs once, here, in [`Definition::validate`], and
//! reports *all* problems, each with an [`IrPath`] the front end maps back to a source span.
//! Generators and the runtime consume a [`CheckedDefinition`] (made by
//! [`Definition::checked`]); [`value`] checks payloads against its schemas.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checked;
mod definition;
mod diagnostic;
pub mod duration;
pub mod export;
mod format_schema;
mod graph;
pub mod import;
mod limits;
pub mod naming;
mod path;
mod schema;
mod thing_id;
pub mod types;
pub mod union;
mod validate;
pub mod value;

pub use checked::CheckedDefinition;
pub use definition::{
    Access, Action, Attribute, AttributeKind, Definition, Event, ThingInfo, Timeout, UnknownAccess,
    keywords,
};
pub use diagnostic::{Diagnostic, Invalid, Rule, Severity};
pub use format_schema::definition_format_schema;
pub use limits::{Limit, LimitExceeded, Limits};
pub use path::{IrPath, Segment};
pub use schema::{ChildKey, DataSchema, SchemaType, cmp_numbers};
pub use thing_id::{ThingId, ThingIdError};
pub use validate::MAX_HISTORY;

use std::collections::BTreeMap;

use value::{CompiledSchema, Compiler};

impl Definition {
    /// Every problem in the definition (errors and warnings), in a deterministic order.
    /// A definition over the default [`Limits`] gets only the limit's error: the other checks
    /// are not run on it.
    pub fn validate(&self) -> Vec<Diagnostic> {
        self.validate_with_limits(&Limits::DEFAULT)
    }

    /// [`Definition::validate`] with other limits than the default ones.
    pub fn validate_with_limits(&self, limits: &Limits) -> Vec<Diagnostic> {
        validate::validate(self, limits)
    }

    /// Validates; `Ok` carries the warnings, `Err` every diagnostic when there is an error.
    pub fn check(&self) -> Result<Vec<Diagnostic>, Invalid> {
        self.check_with_limits(&Limits::DEFAULT)
    }

    /// [`Definition::check`] with other limits than the default ones.
    pub fn check_with_limits(&self, limits: &Limits) -> Result<Vec<Diagnostic>, Invalid> {
        let diagnostics = self.validate_with_limits(limits);
        if diagnostics.iter().any(Diagnostic::is_error) {
            Err(Invalid(diagnostics))
        } else {
            Ok(diagnostics)
        }
    }

    /// The data schema at `path` (a named type, a payload, or a schema nested in one through
    /// `items`, `properties.<name>` or `oneOf[<n>]`), as [`types::type_plan`] names them.
    pub fn schema_at(&self, path: &IrPath) -> Option<&DataSchema> {
        let keys = path.segments();
        let key = |i: usize| match keys.get(i) {
            Some(Segment::Key(k)) => Some(k.as_str()),
            _ => None,
        };
        let (mut schema, mut i) = match (key(0), key(1)) {
            (Some("types"), Some(name)) => (self.types.get(name), 2),
            (Some("attributes"), Some(name)) => (self.attributes.get(name).map(|a| &a.schema), 2),
            // events.<name>.data
            (Some("events"), Some(name)) => {
                (self.events.get(name).and_then(|e| e.data.as_ref()), 3)
            }
            (Some("actions"), Some(name)) => {
                let action = self.actions.get(name);
                match key(2) {
                    Some("input") => (action.and_then(|a| a.input.as_ref()), 3),
                    Some("output") => (action.and_then(|a| a.output.as_ref()), 3),
                    _ => (None, 3),
                }
            }
            _ => (None, 0),
        };
        while i < keys.len() {
            let current = schema?;
            schema = match (&keys[i], keys.get(i + 1)) {
                (Segment::Key(k), _) if k == "items" => {
                    i += 1;
                    current.items.as_deref()
                }
                (Segment::Key(k), _) if k == "additionalProperties" => {
                    i += 1;
                    current.additional_properties.as_deref()
                }
                (Segment::Key(k), Some(Segment::Key(p))) if k == "properties" => {
                    i += 2;
                    current.properties.get(p)
                }
                (Segment::Key(k), Some(Segment::Index(n))) if k == "oneOf" => {
                    i += 2;
                    current.one_of.as_ref().and_then(|alts| alts.get(*n))
                }
                _ => None,
            };
        }
        schema
    }

    /// Compiles the schema of every payload, for checking values at run time.
    pub fn payload_schemas(&self) -> PayloadSchemas {
        let mut c = Compiler::new(&self.types);
        let mut opt = |s: &Option<DataSchema>| s.as_ref().map(|s| c.compile(s));
        let events = self
            .events
            .iter()
            .map(|(n, e)| (n.clone(), opt(&e.data)))
            .collect();
        let inputs = self
            .actions
            .iter()
            .map(|(n, a)| (n.clone(), opt(&a.input)))
            .collect();
        let outputs = self
            .actions
            .iter()
            .map(|(n, a)| (n.clone(), opt(&a.output)))
            .collect();
        let attributes = self
            .attributes
            .iter()
            .map(|(n, a)| (n.clone(), c.compile(&a.schema)))
            .collect();
        PayloadSchemas {
            attributes,
            events,
            inputs,
            outputs,
        }
    }
}

/// Compiled schemas of every payload of a definition, by affordance name.
/// `None` means the affordance carries no payload (an event without data, an action without
/// input or output): only `null` is accepted there.
#[derive(Clone, Debug)]
pub struct PayloadSchemas {
    /// Attribute values.
    pub attributes: BTreeMap<String, CompiledSchema>,
    /// Event data.
    pub events: BTreeMap<String, Option<CompiledSchema>>,
    /// Action inputs.
    pub inputs: BTreeMap<String, Option<CompiledSchema>>,
    /// Action outputs.
    pub outputs: BTreeMap<String, Option<CompiledSchema>>,
}

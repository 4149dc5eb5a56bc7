//! A definition that passed validation, as the runtime and the generators take it.

use std::ops::Deref;

use crate::definition::Definition;
use crate::diagnostic::{Diagnostic, Invalid};

/// A [`Definition`] without errors: made only by [`Definition::checked`], so whoever takes one
/// (the runtime's device builder, the generators) knows it was validated and does not validate
/// it again.
///
/// It derefs to the definition; there is no way to change it in place (a changed definition
/// must be checked again: [`CheckedDefinition::into_definition`], edit, [`Definition::checked`]).
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedDefinition {
    definition: Definition,
    warnings: Vec<Diagnostic>,
}

impl CheckedDefinition {
    /// The definition.
    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// The warnings validation found (none of them is an error).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The definition, to change it (and check it again).
    pub fn into_definition(self) -> Definition {
        self.definition
    }
}

impl Deref for CheckedDefinition {
    type Target = Definition;

    fn deref(&self) -> &Definition {
        &self.definition
    }
}

impl AsRef<Definition> for CheckedDefinition {
    fn as_ref(&self) -> &Definition {
        &self.definition
    }
}

impl Definition {
    /// Validates, and returns the definition as checked (with its warnings), or every
    /// diagnostic when there is an error.
    pub fn checked(self) -> Result<CheckedDefinition, Invalid> {
        let warnings = self.check()?;
        Ok(CheckedDefinition {
            definition: self,
            warnings,
        })
    }
}

impl TryFrom<Definition> for CheckedDefinition {
    type Error = Invalid;

    fn try_from(definition: Definition) -> Result<CheckedDefinition, Invalid> {
        definition.checked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_definition_is_not_checked() {
        let invalid = Definition::default().checked();
        assert!(invalid.is_err());
    }

    #[test]
    fn a_valid_definition_keeps_its_warnings() {
        let def: Definition = serde_json::from_value(serde_json::json!({
            "thing": {"name": "Lamp", "version": "1.0.0"},
            "attributes": {"on": {"type": "boolean"}}
        }))
        .unwrap();
        let checked = def.clone().checked().unwrap();
        assert_eq!(checked.definition(), &def);
        assert_eq!(checked.warnings(), def.check().unwrap().as_slice());
        assert_eq!(checked.into_definition(), def);
    }
}

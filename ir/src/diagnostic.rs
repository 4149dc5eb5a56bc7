//! Problems found in a definition, each pointing at a path in the IR.

use std::fmt;

use crate::path::IrPath;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look; generation goes on.
    Warning,
    /// The definition cannot be used.
    Error,
}

/// Which rule a diagnostic comes from: stable names that tests and docs can rely on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A name that is not snake_case (affordances, properties) or PascalCase (thing, types).
    InvalidName,
    /// Two parts whose generated names would be the same.
    NameCollision,
    /// `ref` to a type that is not declared.
    UnknownRef,
    /// `ref`s that go round in a circle.
    CyclicRef,
    /// A schema with neither `type` nor `ref`/`oneOf`/`enum`/`const`, or with `ref` and other constraints.
    IncompleteSchema,
    /// A keyword that does not apply to the schema's type (e.g. `minLength` on a number).
    KeywordNotApplicable,
    /// `minimum > maximum`, `minLength > maxLength`, `minItems > maxItems`, an empty range.
    EmptyRange,
    /// `multipleOf` that is not positive, or a negative length or count.
    InvalidBound,
    /// A `pattern` that is not a valid regular expression.
    InvalidPattern,
    /// An `enum`, `const`, `default` or static `value` that its own schema rejects.
    ValueMismatch,
    /// `required` naming a property that is not declared.
    UnknownRequired,
    /// A static attribute without a `value`, or a `value` on a dynamic one.
    StaticValue,
    /// A static attribute that is also `writable` or keeps `history`.
    StaticConflict,
    /// `history = 0`.
    InvalidHistory,
    /// A `version` that is not semver.
    InvalidVersion,
    /// A `timeout` that is not a duration.
    InvalidTimeout,
    /// An `access` that is none of all, group, owner, thing.
    UnknownAccess,
    /// A definition with no attributes, events or actions.
    EmptyThing,
    /// A problem found by a front end before the IR existed: the source does not parse
    /// (TOML syntax, duplicate keys, a file that is not UTF-8).
    Syntax,
    /// A key the definition format does not know (front ends only).
    UnknownKey,
    /// A key whose value has the wrong type, e.g. `minimum = "5"` (front ends only).
    WrongType,
    /// A required key that is absent, e.g. `[thing]` without `name` (front ends only).
    MissingKey,
    /// A JSON Schema (of a Rust type, with `#[derive(SafeThing)]`) that the definition format
    /// cannot express, e.g. a map or a tuple (see [`import`](crate::import)).
    UnsupportedSchema,
    /// A definition (or its source) over one of the [`Limits`](crate::Limits): too many bytes,
    /// types or affordances, or nested too deeply.
    LimitExceeded,
}

impl Rule {
    /// The kebab-case name shown in messages, e.g. `unknown-ref`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::InvalidName => "invalid-name",
            Rule::NameCollision => "name-collision",
            Rule::UnknownRef => "unknown-ref",
            Rule::CyclicRef => "cyclic-ref",
            Rule::IncompleteSchema => "incomplete-schema",
            Rule::KeywordNotApplicable => "keyword-not-applicable",
            Rule::EmptyRange => "empty-range",
            Rule::InvalidBound => "invalid-bound",
            Rule::InvalidPattern => "invalid-pattern",
            Rule::ValueMismatch => "value-mismatch",
            Rule::UnknownRequired => "unknown-required",
            Rule::StaticValue => "static-value",
            Rule::StaticConflict => "static-conflict",
            Rule::InvalidHistory => "invalid-history",
            Rule::InvalidVersion => "invalid-version",
            Rule::InvalidTimeout => "invalid-timeout",
            Rule::UnknownAccess => "unknown-access",
            Rule::EmptyThing => "empty-thing",
            Rule::Syntax => "syntax",
            Rule::UnknownKey => "unknown-key",
            Rule::WrongType => "wrong-type",
            Rule::MissingKey => "missing-key",
            Rule::UnsupportedSchema => "unsupported-schema",
            Rule::LimitExceeded => "limit-exceeded",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem in a definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The rule that found it.
    pub rule: Rule,
    /// Where in the IR: the front end turns this into a source span.
    pub path: IrPath,
    /// What is wrong, in a sentence that names the offending value.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error.
    pub fn error(rule: Rule, path: IrPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            rule,
            path,
            message: message.into(),
            help: None,
        }
    }

    /// A warning.
    pub fn warning(rule: Rule, path: IrPath, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(rule, path, message)
        }
    }

    /// Adds a hint on how to fix it.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}[{}]: ", self.rule)?;
        if !self.path.is_root() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// The diagnostics of a definition that has at least one error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid definition: {}", summary(.0))]
pub struct Invalid(pub Vec<Diagnostic>);

fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    errors.join("; ")
}

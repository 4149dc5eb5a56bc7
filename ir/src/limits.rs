//! Upper bounds on the size of a definition.
//!
//! A definition may come from a stranger: a thing's description arrives over the network, a
//! definition file may be downloaded. Validation is linear in the definition's size, but
//! without bounds a description of a few megabytes still costs a client memory and time, and
//! every later payload check walks its schemas. The same [`Limits`] apply to definition files,
//! derived definitions and network descriptions, so a thing whose definition loads on the
//! developer's machine is also accepted by every client.

use std::fmt;

/// The bounds a definition must stay within. [`Limits::DEFAULT`] is what
/// [`Definition::check`](crate::Definition::check) and every front end apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Bytes of the source before it is parsed (a definition file, a description on the
    /// network), and of the definition's compact JSON encoding.
    pub bytes: usize,
    /// Named types (`[types]`).
    pub types: usize,
    /// Attributes, events and actions together.
    pub affordances: usize,
    /// How deeply one schema nests: a payload or named type is level 1, each `items`,
    /// property or `oneOf` alternative one level more, and a `ref` one level more than the
    /// depth of the type it names (refs are followed).
    pub depth: usize,
}

impl Limits {
    /// The limits every definition is held to unless a caller raises them.
    pub const DEFAULT: Limits = Limits {
        bytes: 1 << 20,
        types: 1024,
        affordances: 1024,
        depth: 32,
    };

    /// No bounds at all: for tests and tools that measure the checks themselves.
    pub const UNLIMITED: Limits = Limits {
        bytes: usize::MAX,
        types: usize::MAX,
        affordances: usize::MAX,
        depth: usize::MAX,
    };

    /// Whether a source of `len` bytes may be parsed at all; checked before parsing, so an
    /// oversized input costs nothing but its length.
    pub fn check_bytes(&self, len: usize) -> Result<(), LimitExceeded> {
        if len > self.bytes {
            Err(LimitExceeded {
                limit: Limit::Bytes,
                value: len,
                max: self.bytes,
            })
        } else {
            Ok(())
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// Which of the [`Limits`] a definition exceeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Limit {
    /// [`Limits::bytes`].
    Bytes,
    /// [`Limits::types`].
    Types,
    /// [`Limits::affordances`].
    Affordances,
    /// [`Limits::depth`].
    Depth,
}

impl Limit {
    /// The field's name, as the documentation spells it.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Bytes => "bytes",
            Limit::Types => "types",
            Limit::Affordances => "affordances",
            Limit::Depth => "depth",
        }
    }

    /// What is counted, for messages.
    fn counted(self) -> &'static str {
        match self {
            Limit::Bytes => "bytes",
            Limit::Types => "named types",
            Limit::Affordances => "affordances (attributes, events and actions)",
            Limit::Depth => "levels of nesting",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A definition, or its source, over one of the [`Limits`]: which limit, the value found and
/// the maximum allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value} {counted}, more than the limit of {max} (limit `{limit}`)",
    counted = limit.counted()
)]
pub struct LimitExceeded {
    /// The limit.
    pub limit: Limit,
    /// What the definition has (for `bytes` found before parsing: the input's length).
    pub value: usize,
    /// The most the limit allows.
    pub max: usize,
}

//! Thing ids: the stable name of one thing instance on the network.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The id of a thing instance (e.g. a serial number): 5 to 64 characters of
/// `A-Z a-z 0-9 - _ .`, so it is safe as a key-expression chunk, a file name and a URI part.
// Shared rather than copied: a client clones it into every message it hands out.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[schemars(transparent)]
pub struct ThingId(Arc<str>);

/// Why a string is not a [`ThingId`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThingIdError {
    /// Fewer than 5 or more than 64 characters.
    #[error("thing id `{0}` must be 5 to 64 characters long")]
    Length(String),
    /// A character outside `A-Z a-z 0-9 - _ .`.
    #[error("thing id `{id}` contains `{ch}`; use only letters, digits, `-`, `_` and `.`")]
    Character {
        /// The id as given.
        id: String,
        /// The first offending character.
        ch: char,
    },
}

impl ThingId {
    /// Shortest allowed id.
    pub const MIN_LEN: usize = 5;
    /// Longest allowed id.
    pub const MAX_LEN: usize = 64;

    /// Checks and wraps an id.
    pub fn new(id: impl Into<String>) -> Result<ThingId, ThingIdError> {
        let id = id.into();
        if let Some(ch) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(ThingIdError::Character { id, ch });
        }
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&id.len()) {
            return Err(ThingIdError::Length(id));
        }
        Ok(ThingId(Arc::from(id)))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ThingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ThingId {
    type Err = ThingIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ThingId::new(s)
    }
}

impl AsRef<str> for ThingId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for ThingId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ThingId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ThingId::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_serial_numbers_and_rejects_key_expression_characters() {
        assert!(ThingId::new("garden-01").is_ok());
        assert!(ThingId::new("SN.12345_a").is_ok());
        for bad in [
            "abc",
            "",
            "garden/01",
            "garden*",
            "a b c d e",
            "g$rden",
            "gärden",
        ] {
            assert!(ThingId::new(bad).is_err(), "{bad}");
        }
        assert!(ThingId::new("x".repeat(65)).is_err());
    }
}

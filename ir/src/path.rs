//! Paths into the IR, e.g. `actions.open_valve.input.properties.psi.maximum`.
//!
//! Every diagnostic carries one; each front end maps it back to a source span
//! (a TOML `line:col`, a Rust token).

use std::fmt;

/// One step of an [`IrPath`]: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A key, spelled as in the definition format (`properties`, `psi`, `exclusiveMinimum`).
    Key(String),
    /// A position in an array (`enum`, `required`, `oneOf`).
    Index(usize),
}

/// A path from the root of a [`Definition`](crate::Definition) to one of its parts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IrPath(Vec<Segment>);

impl IrPath {
    /// The root.
    pub fn root() -> IrPath {
        IrPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, key: impl Into<String>) -> IrPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        IrPath(segments)
    }

    /// This path extended by an index.
    pub fn index(&self, index: usize) -> IrPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        IrPath(segments)
    }

    /// Builds a path of keys: `IrPath::of(["actions", "open_valve"])`.
    pub fn of<I, S>(keys: I) -> IrPath
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        IrPath(keys.into_iter().map(|k| Segment::Key(k.into())).collect())
    }

    /// The segments, root first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The path without its last segment (the root stays the root).
    pub fn parent(&self) -> IrPath {
        let mut segments = self.0.clone();
        segments.pop();
        IrPath(segments)
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for IrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_dotted_with_indices() {
        let p = IrPath::of(["types", "Mode"])
            .key("oneOf")
            .index(1)
            .key("const");
        assert_eq!(p.to_string(), "types.Mode.oneOf[1].const");
        assert_eq!(p.parent().to_string(), "types.Mode.oneOf[1]");
    }
}

//! Where each part of the IR came from in the TOML source.

use std::collections::BTreeMap;
use std::ops::Range;

use safething_ir::IrPath;

/// The source spans of one IR path: its key (absent for array elements) and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spans {
    /// The key, e.g. `maximum` in `maximum = 5`, or `firmware` in `[attributes.firmware]`.
    pub key: Option<Range<usize>>,
    /// The value; for a `[table]` this is its header.
    pub value: Range<usize>,
    /// Whether the value is a table.
    pub is_table: bool,
}

impl Spans {
    /// The span a diagnostic about this path points at: the key of a table (its header names
    /// it), the value of anything else.
    pub fn primary(&self) -> Range<usize> {
        match (&self.key, self.is_table) {
            (Some(key), true) => key.clone(),
            _ => self.value.clone(),
        }
    }
}

/// Maps IR paths to source spans, filled while lowering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    spans: BTreeMap<IrPath, Spans>,
}

impl SourceMap {
    /// Records where `path` is written (the first record of a path wins).
    pub fn insert(&mut self, path: IrPath, spans: Spans) {
        self.spans.entry(path).or_insert(spans);
    }

    /// The spans of exactly `path`.
    pub fn get(&self, path: &IrPath) -> Option<&Spans> {
        self.spans.get(path)
    }

    /// The spans of `path`, or of its nearest ancestor that is written in the source.
    pub fn nearest(&self, path: &IrPath) -> Option<&Spans> {
        let mut at = path.clone();
        loop {
            if let Some(spans) = self.spans.get(&at) {
                return Some(spans);
            }
            if at.is_root() {
                return None;
            }
            at = at.parent();
        }
    }

    /// Every recorded path, in order.
    pub fn paths(&self) -> impl Iterator<Item = &IrPath> {
        self.spans.keys()
    }
}

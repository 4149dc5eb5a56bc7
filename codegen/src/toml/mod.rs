//! The TOML front end: parses a definition file with spans, lowers it into the IR by hand
//! (reporting every problem, not the first), validates the IR, and maps every diagnostic back
//! to a source span.

mod keys;
mod lower;
mod source_map;

use std::ops::Range;

use safething_ir::{Definition, Diagnostic, Rule};
use toml::de::DeTable;

pub use lower::Problem;
pub use source_map::{SourceMap, Spans};

/// Everything the front end learnt about one TOML source.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The lowered definition. When [`Parsed::has_errors`], it is incomplete: parts that could
    /// not be read are left out or replaced by defaults.
    pub definition: Definition,
    /// Where each IR path is written.
    pub source_map: SourceMap,
    /// Every problem (syntax, unknown keys, wrong types, validation), in source order.
    pub problems: Vec<Problem>,
}

impl Parsed {
    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.diagnostic.is_error())
    }
}

/// Parses, lowers and validates one definition source.
pub fn parse(source: &str) -> Parsed {
    let (root, errors) = DeTable::parse_recoverable(source);
    let mut problems: Vec<Problem> = errors
        .iter()
        .map(|e| Problem {
            diagnostic: Diagnostic::error(
                Rule::Syntax,
                safething_ir::IrPath::root(),
                syntax_message(source, e),
            ),
            span: clamp(source, e.span().unwrap_or(0..0)),
        })
        .collect();
    let syntax_ok = problems.is_empty();
    let lowering = lower::lower(root.get_ref(), syntax_ok);
    // After a syntax error the parser's recovery guesses at the structure (a key of a broken
    // header lands at the top level, ...): only the syntax errors are worth reading then.
    if syntax_ok {
        problems.extend(lowering.problems);
        for diagnostic in lowering.definition.validate() {
            if lowering.poisoned.contains(&diagnostic.path) {
                continue;
            }
            let span = lowering
                .source_map
                .nearest(&diagnostic.path)
                .map_or(0..0, Spans::primary);
            problems.push(Problem { diagnostic, span });
        }
    }
    for p in &mut problems {
        p.span = clamp(source, p.span.clone());
    }
    // Source order; the sort is stable, so problems at one place keep their order.
    problems.sort_by_key(|p| p.span.start);
    Parsed {
        definition: lowering.definition,
        source_map: lowering.source_map,
        problems,
    }
}

/// The parser's message on one line, naming the key of a duplicate.
fn syntax_message(source: &str, error: &toml::de::Error) -> String {
    let message = error
        .message()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let key = error
        .span()
        .and_then(|span| source.get(span))
        .filter(|key| !key.is_empty() && !key.contains('\n'));
    match key {
        Some(key) if message == "duplicate key" => format!("duplicate key `{key}`"),
        _ => message,
    }
}

/// A span inside `source`, on character boundaries.
fn clamp(source: &str, span: Range<usize>) -> Range<usize> {
    let fix = |mut i: usize| {
        i = i.min(source.len());
        while !source.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = fix(span.start);
    let end = fix(span.end).max(start);
    start..end
}

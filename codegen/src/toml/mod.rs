//! The TOML front end: parses a definition file with spans, lowers it into the IR by hand
//! (reporting every problem, not the first), validates the IR, and maps every diagnostic back
//! to a source span.

mod keys;
mod lower;
mod source_map;

use std::ops::Range;

use safething_ir::{
    CheckedDefinition, Definition, Diagnostic, Invalid, LimitExceeded, Limits, Rule,
};
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
    /// The definition as validated, when validation found no error (there may still be errors
    /// of the front end in [`Parsed::problems`]).
    pub checked: Option<CheckedDefinition>,
}

impl Parsed {
    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.diagnostic.is_error())
    }
}

/// Parses, lowers and validates one definition source. A source over the byte limit of
/// [`Limits::DEFAULT`] is not parsed: its only problem is that limit.
pub fn parse(source: &str) -> Parsed {
    if let Err(e) = Limits::DEFAULT.check_bytes(source.len()) {
        return Parsed {
            definition: Definition::default(),
            source_map: SourceMap::default(),
            problems: vec![Problem {
                diagnostic: too_large(e),
                span: 0..0,
            }],
            checked: None,
        };
    }
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
    let mut checked = None;
    // After a syntax error the parser's recovery guesses at the structure (a key of a broken
    // header lands at the top level, ...): only the syntax errors are worth reading then.
    if syntax_ok {
        problems.extend(lowering.problems);
        // Validation runs once: its result is the checked definition, or the diagnostics.
        let diagnostics = match lowering.definition.clone().checked() {
            Ok(c) => {
                let warnings = c.warnings().to_vec();
                checked = Some(c);
                warnings
            }
            Err(Invalid(diagnostics)) => diagnostics,
        };
        for diagnostic in diagnostics {
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
        checked,
    }
}

/// The error for a source over the byte limit, before it is read any further.
pub(crate) fn too_large(e: LimitExceeded) -> Diagnostic {
    Diagnostic::error(
        Rule::LimitExceeded,
        safething_ir::IrPath::root(),
        format!("the file has {e}"),
    )
    .with_help("a definition is at most this large, from a file or from the network")
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

#[cfg(test)]
mod tests {
    use safething_ir::IrPath;

    use super::*;

    const THING: &str = "[thing]\nname = \"Lamp\"\nversion = \"1.0.0\"\n";

    fn rules(source: &str) -> Vec<(Rule, String)> {
        parse(source)
            .problems
            .into_iter()
            .map(|p| (p.diagnostic.rule, p.diagnostic.path.to_string()))
            .collect()
    }

    #[test]
    fn a_rejected_value_is_reported_once_not_again_by_validation() {
        let src = format!("{THING}[attributes.level]\ntype = \"int\"\n");
        assert_eq!(
            rules(&src),
            [(Rule::WrongType, "attributes.level.type".to_owned())]
        );
        let src =
            format!("{THING}[attributes.m]\ntype = \"string\"\nkind = \"konst\"\nvalue = \"x\"\n");
        assert_eq!(
            rules(&src),
            [(Rule::WrongType, "attributes.m.kind".to_owned())]
        );
        let src = "[thing]\nname = 5\nversion = \"1.0.0\"\n[events.on]\n";
        assert_eq!(rules(src), [(Rule::WrongType, "thing.name".to_owned())]);
    }

    #[test]
    fn validation_diagnostics_point_at_keys_of_tables_and_at_values() {
        let src =
            format!("{THING}[attributes.Level]\ntype = \"integer\"\nminimum = 3\nmaximum = 1\n");
        let parsed = parse(&src);
        let spans: Vec<&str> = parsed
            .problems
            .iter()
            .map(|p| &src[p.span.clone()])
            .collect();
        assert_eq!(spans, ["Level", "1"]);
    }

    #[test]
    fn the_source_map_falls_back_to_the_nearest_written_ancestor() {
        let src = format!("{THING}[events.on]\ndata = {{ type = \"object\" }}\n");
        let parsed = parse(&src);
        let map = &parsed.source_map;
        let data = IrPath::of(["events", "on", "data"]);
        let deep = data.key("properties").key("x").key("minimum");
        assert!(map.get(&deep).is_none());
        assert_eq!(map.nearest(&deep), map.get(&data));
        assert_eq!(
            &src[map.get(&data).map(Spans::primary).unwrap_or(0..0)],
            "data"
        );
        assert_eq!(map.paths().count(), 7);
    }

    #[test]
    fn datetimes_become_strings_and_integers_keep_their_radix() {
        let src = format!(
            "{THING}[attributes.since]\ntype = \"string\"\ndefault = 2024-05-01T10:00:00Z\n\
             [attributes.mask]\ntype = \"integer\"\ndefault = 0xff\n"
        );
        let parsed = parse(&src);
        assert!(!parsed.has_errors(), "{:?}", parsed.problems);
        let attrs = &parsed.definition.attributes;
        assert_eq!(
            attrs["since"].schema.default,
            Some(serde_json::json!("2024-05-01T10:00:00Z"))
        );
        assert_eq!(attrs["mask"].schema.default, Some(serde_json::json!(255)));
    }

    #[test]
    fn spans_are_clamped_to_char_boundaries() {
        assert_eq!(clamp("aé", 2..9), 1..3);
        assert_eq!(clamp("", Range { start: 4, end: 2 }), 0..0);
    }
}

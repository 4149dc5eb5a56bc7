//! What generated code says about a definition, whatever the target language: paragraphs from
//! titles, descriptions, units, formats, defaults and constraints, and the meaning of access
//! types. Each generator supplies a [`DocStyle`] for its comment syntax.

use safething_ir::{Access, DataSchema};
use serde_json::Value;

/// How a target language writes documentation text.
pub trait DocStyle {
    /// A paragraph of prose, made safe for the language's doc comments.
    fn text(&self, s: &str) -> String;
    /// A regular expression inside prose (before [`text`](Self::text) applies to it).
    fn pattern(&self, p: &str) -> String;
}

fn json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// How [`bounds`] names the numeric limits: `minimum` or `min`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bounds {
    /// `minimum`, `exclusive minimum`, `maximum`, `exclusive maximum` (doc comments).
    Long,
    /// `min`, `exclusive min`, `max`, `exclusive max` (table cells of the reference).
    #[cfg(feature = "ts")]
    Short,
}

/// A schema's own constraints as phrases (`minimum 5`, `max length 8`, `pattern ...`), in one
/// order for every generator; `pattern` writes a regular expression for the target.
pub(crate) fn bounds(
    s: &DataSchema,
    words: Bounds,
    pattern: impl Fn(&str) -> String,
) -> Vec<String> {
    let (min, xmin, max, xmax) = match words {
        Bounds::Long => (
            "minimum",
            "exclusive minimum",
            "maximum",
            "exclusive maximum",
        ),
        #[cfg(feature = "ts")]
        Bounds::Short => ("min", "exclusive min", "max", "exclusive max"),
    };
    let numbers = [
        (min, &s.minimum),
        (xmin, &s.exclusive_minimum),
        (max, &s.maximum),
        (xmax, &s.exclusive_maximum),
        ("multiple of", &s.multiple_of),
    ];
    let counts = [
        ("min length", s.min_length),
        ("max length", s.max_length),
        ("min items", s.min_items),
        ("max items", s.max_items),
    ];
    let mut phrases: Vec<String> = numbers
        .into_iter()
        .filter_map(|(what, n)| n.as_ref().map(|n| format!("{what} {n}")))
        .collect();
    phrases.extend(
        counts
            .into_iter()
            .filter_map(|(what, n)| n.map(|n| format!("{what} {n}"))),
    );
    if let Some(p) = &s.pattern {
        phrases.push(format!("pattern {}", pattern(p)));
    }
    phrases
}

/// Doc paragraphs of a schema: title, description, then its unit, format and constraints.
pub fn schema_docs(s: &DataSchema, style: &impl DocStyle) -> Vec<String> {
    let mut paragraphs = Vec::new();
    if let Some(title) = &s.title {
        paragraphs.push(style.text(title));
    }
    if let Some(description) = &s.description {
        paragraphs.push(style.text(description));
    }
    let mut facts = Vec::new();
    if let Some(unit) = &s.unit {
        facts.push(format!("Unit: {unit}."));
    }
    if let Some(format) = &s.format {
        facts.push(format!("Format: {format}."));
    }
    let mut limits = bounds(s, Bounds::Long, |p| style.pattern(p));
    if let Some(c) = &s.constant {
        limits.push(format!("always {}", json(c)));
    }
    if !limits.is_empty() {
        facts.push(format!("Constraints: {}.", limits.join(", ")));
    }
    if let Some(d) = &s.default {
        facts.push(format!("Default: {}.", json(d)));
    }
    if s.read_only == Some(true) {
        facts.push("Read-only.".to_owned());
    }
    if s.write_only == Some(true) {
        facts.push("Write-only.".to_owned());
    }
    if let Some(media) = &s.content_media_type {
        facts.push(format!("Content: {media}."));
    }
    if let Some(encoding) = &s.content_encoding {
        facts.push(format!("Encoding: {encoding}."));
    }
    if !facts.is_empty() {
        paragraphs.push(style.text(&facts.join(" ")));
    }
    paragraphs
}

/// An access type in words: "`group` (members of the thing's group, and its owner)".
pub fn access_words(access: &Access) -> String {
    match access {
        Access::All => "`all` (anyone)".to_owned(),
        Access::Group => "`group` (members of the thing's group, and its owner)".to_owned(),
        Access::Owner => "`owner` (the thing's owner only)".to_owned(),
        Access::Thing => "`thing` (the thing itself only)".to_owned(),
    }
}

/// "Access: `group` (members of the thing's group, and its owner)."
pub fn access_doc(access: &Access) -> String {
    format!("Access: {}.", access_words(access))
}

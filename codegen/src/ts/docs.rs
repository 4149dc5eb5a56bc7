//! Doc comments of generated TypeScript: paragraphs from a definition's titles, descriptions,
//! units, formats, defaults and constraints, and the `doc` template filter that writes them as
//! JSDoc blocks.

use safething_ir::{Access, DataSchema};
use serde_json::{Number, Value};

/// Collapses whitespace (a definition's text may span lines).
pub fn text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn num(n: &Number) -> String {
    n.to_string()
}

fn json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The paragraphs documenting a value's schema.
pub fn schema_docs(s: &DataSchema) -> Vec<String> {
    let mut paragraphs = Vec::new();
    if let Some(title) = &s.title {
        paragraphs.push(text(title));
    }
    if let Some(description) = &s.description {
        paragraphs.push(text(description));
    }
    let mut facts = Vec::new();
    if let Some(unit) = &s.unit {
        facts.push(format!("Unit: {unit}."));
    }
    if let Some(format) = &s.format {
        facts.push(format!("Format: {format}."));
    }
    let mut limits = Vec::new();
    let bounds = [
        ("minimum", &s.minimum),
        ("exclusive minimum", &s.exclusive_minimum),
        ("maximum", &s.maximum),
        ("exclusive maximum", &s.exclusive_maximum),
        ("multiple of", &s.multiple_of),
    ];
    for (what, bound) in bounds {
        if let Some(n) = bound {
            limits.push(format!("{what} {}", num(n)));
        }
    }
    let counts = [
        ("min length", s.min_length),
        ("max length", s.max_length),
        ("min items", s.min_items),
        ("max items", s.max_items),
    ];
    for (what, count) in counts {
        if let Some(n) = count {
            limits.push(format!("{what} {n}"));
        }
    }
    if let Some(pattern) = &s.pattern {
        limits.push(format!("pattern `{pattern}`"));
    }
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
        paragraphs.push(text(&facts.join(" ")));
    }
    paragraphs
}

/// "Access: `group` (members of the thing's group, and its owner)."
pub fn access(access: &Access) -> String {
    let words = match access {
        Access::All => "`all` (anyone)".to_owned(),
        Access::Group => "`group` (members of the thing's group, and its owner)".to_owned(),
        Access::Owner => "`owner` (the thing's owner only)".to_owned(),
        Access::Thing => "`thing` (the thing itself only)".to_owned(),
        Access::Unknown(s) => format!("`{s}`"),
    };
    format!("Access: {words}.")
}

/// The `doc` filter: paragraphs as a JSDoc block indented by `indent` spaces, followed by the
/// indentation of the line that comes next (so a template writes
/// `{{ docs | doc(2) }}name: type;`). `*/` in the text is broken up so it cannot end the comment.
pub fn doc_filter(paragraphs: Vec<String>, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let paragraphs: Vec<String> = paragraphs
        .iter()
        .map(|p| p.replace("*/", "*\\/"))
        .filter(|p| !p.trim().is_empty())
        .collect();
    match paragraphs.as_slice() {
        [] => pad,
        [one] if !one.contains('\n') && one.len() + indent < 92 => {
            format!("{pad}/** {one} */\n{pad}")
        }
        _ => {
            let mut out = format!("{pad}/**\n");
            for (i, p) in paragraphs.iter().enumerate() {
                if i > 0 {
                    out.push_str(&format!("{pad} *\n"));
                }
                for line in p
                    .lines()
                    .flat_map(|l| wrap(l, 100usize.saturating_sub(indent + 3)))
                {
                    out.push_str(&format!("{pad} * {line}\n").replace(" * \n", " *\n"));
                }
            }
            out.push_str(&format!("{pad} */\n{pad}"));
            out
        }
    }
}

/// Splits a line into lines of at most `width` characters at spaces (longer words stay whole).
fn wrap(line: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_blocks() {
        assert_eq!(doc_filter(vec![], 2), "  ");
        assert_eq!(doc_filter(vec!["Hi.".into()], 2), "  /** Hi. */\n  ");
        assert_eq!(
            doc_filter(vec!["A */ B".into(), "C".into()], 0),
            "/**\n * A *\\/ B\n *\n * C\n */\n"
        );
    }
}

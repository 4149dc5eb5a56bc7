//! Doc comments of generated TypeScript: paragraphs from a definition's titles, descriptions,
//! units, formats, defaults and constraints, and the `doc` template filter that writes them as
//! JSDoc blocks.

use safething_ir::{Access, DataSchema};

/// Collapses whitespace (a definition's text may span lines).
pub fn text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How JSDoc writes prose: whitespace collapsed, patterns as code.
struct TsDocs;

impl crate::docs::DocStyle for TsDocs {
    fn text(&self, s: &str) -> String {
        text(s)
    }

    fn pattern(&self, p: &str) -> String {
        format!("`{p}`")
    }
}

/// The paragraphs documenting a value's schema.
pub fn schema_docs(s: &DataSchema) -> Vec<String> {
    crate::docs::schema_docs(s, &TsDocs)
}

/// "Access: `group` (members of the thing's group, and its owner)."
pub fn access(access: &Access) -> String {
    crate::docs::access_doc(access)
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

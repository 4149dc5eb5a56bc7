//! Rust identifiers and doc text for generated code: keyword escaping (`r#type`, `self_`),
//! enum variant names from arbitrary strings, and the targeted lint allowances that some
//! user-chosen names need.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use safething_ir::naming;

use super::GenError;

/// Whether `s` is made of ASCII letters, digits and `_`, and does not start with a digit.
fn is_plain_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s != "_"
}

/// The identifier for a definition name (snake_case or PascalCase): escaped as
/// [`naming::rust_ident`] says (`r#type`, `self_`). Never panics: a name that is no identifier
/// at all is an error.
pub(crate) fn ident(name: &str) -> Result<Ident, GenError> {
    let escaped = naming::rust_ident(name);
    match escaped.strip_prefix("r#") {
        Some(raw) if is_plain_ident(raw) => Ok(Ident::new_raw(raw, Span::call_site())),
        None if is_plain_ident(&escaped) => Ok(Ident::new(&escaped, Span::call_site())),
        _ => Err(GenError::Unsupported(format!(
            "`{name}` cannot be made into a Rust identifier"
        ))),
    }
}

/// `prefix` + `name` (+ `suffix`) as an identifier, e.g. `watch_` + `level`: never a keyword.
pub(crate) fn affixed(prefix: &str, name: &str, suffix: &str) -> Result<Ident, GenError> {
    ident(&format!("{prefix}{name}{suffix}"))
}

/// The constant naming a struct field in filters: `level` -> `LEVEL`.
pub(crate) fn field_const(name: &str) -> Result<Ident, GenError> {
    ident(&name.to_ascii_uppercase())
}

pub(crate) use naming::unique;
use naming::words;

/// A PascalCase name for an arbitrary string (an enum value, a title):
/// [`naming::pascal_from_text`], with the one PascalCase keyword escaped (`Self` ->
/// `SelfValue`).
pub(crate) fn pascal(s: &str) -> String {
    let mut out = naming::pascal_from_text(s);
    if naming::RUST_KEYWORDS.contains(&out.as_str()) {
        out.push_str("Value");
    }
    out
}

/// Text for a doc comment: one line, whitespace collapsed, Markdown link and HTML brackets
/// escaped, so that user text never trips rustdoc or clippy's doc lints.
pub(crate) fn doc_text(s: &str) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    for c in collapsed.chars() {
        if matches!(c, '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `#[doc = "..."]` attributes, one per paragraph (an empty line between paragraphs).
pub(crate) fn docs(paragraphs: &[String]) -> TokenStream {
    let mut lines: Vec<String> = Vec::new();
    for p in paragraphs.iter().filter(|p| !p.trim().is_empty()) {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.push(format!(" {p}"));
    }
    quote! { #( #[doc = #lines] )* }
}

/// Clippy lints that a method name chosen in a definition may trip, allowed on that method
/// only: `should_implement_trait` (`clone`, `eq`, ...), `wrong_self_convention` (`into_x`,
/// `x_mut`, `new`, ...) and `new_ret_no_self` (`new`).
pub(crate) fn method_allows(name: &str) -> TokenStream {
    const TRAIT_METHODS: &[&str] = &[
        "add",
        "as_mut",
        "as_ref",
        "bitand",
        "bitor",
        "bitxor",
        "borrow",
        "borrow_mut",
        "clone",
        "cmp",
        "default",
        "deref",
        "deref_mut",
        "div",
        "drop",
        "eq",
        "from_iter",
        "from_str",
        "hash",
        "index",
        "index_mut",
        "into_iter",
        "mul",
        "neg",
        "next",
        "not",
        "rem",
        "shl",
        "shr",
        "sub",
    ];
    let mut lints = Vec::new();
    if TRAIT_METHODS.contains(&name) {
        lints.push(quote!(clippy::should_implement_trait));
    }
    let conventions = ["as_", "from_", "into_", "is_", "to_"];
    if conventions.iter().any(|p| name.starts_with(p)) || name.ends_with("_mut") || name == "new" {
        lints.push(quote!(clippy::wrong_self_convention));
    }
    if name == "new" {
        // An attribute or action called `new` is a method taking `&self`, not a constructor.
        lints.push(quote!(clippy::new_ret_no_self));
    }
    if lints.is_empty() {
        TokenStream::new()
    } else {
        quote! { #[allow(#(#lints),*)] }
    }
}

/// Lints a type name chosen in a definition may trip, allowed on that type only:
/// `upper_case_acronyms` (`HVAC`) and `non_camel_case_types` (`Self_`, the escape of `Self`).
pub(crate) fn type_allows(name: &Ident) -> TokenStream {
    let text = name.to_string();
    let mut lints = Vec::new();
    if text.len() > 2 && text.chars().all(|c| c.is_ascii_uppercase()) {
        lints.push(quote!(clippy::upper_case_acronyms));
    }
    if text.ends_with('_') {
        lints.push(quote!(non_camel_case_types));
    }
    if lints.is_empty() {
        TokenStream::new()
    } else {
        quote! { #[allow(#(#lints),*)] }
    }
}

/// Whether clippy's `enum_variant_names` may fire on these variants of enum `name`: a variant
/// that starts or ends with the enum's name, or (three or more variants) a first or last word
/// they all share. Errs on the side of allowing.
pub(crate) fn variant_names_need_allow(name: &str, variants: &[String]) -> bool {
    if variants
        .iter()
        .any(|v| v.starts_with(name) || v.ends_with(name))
    {
        return true;
    }
    if variants.len() < 3 {
        return false;
    }
    let split: Vec<Vec<String>> = variants.iter().map(|v| words(v)).collect();
    let shared = |pick: fn(&Vec<String>) -> Option<&String>| {
        let first = split.first().and_then(pick);
        first.is_some() && split.iter().all(|w| pick(w) == first)
    };
    shared(|w| w.first()) || shared(|w| w.last())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(ident("type").unwrap().to_string(), "r#type");
        assert_eq!(ident("self").unwrap().to_string(), "self_");
        assert_eq!(ident("level").unwrap().to_string(), "level");
        assert!(ident("a-b").is_err());
        assert!(ident("").is_err());
        assert_eq!(
            field_const("moisture_level").unwrap().to_string(),
            "MOISTURE_LEVEL"
        );
    }

    #[test]
    fn pascal_names() {
        assert_eq!(pascal("open"), "Open");
        assert_eq!(pascal("very-dry"), "VeryDry");
        assert_eq!(pascal("A4"), "A4");
        assert_eq!(pascal("LEGAL"), "Legal");
        assert_eq!(pascal("HTTPServer"), "HttpServer");
        assert_eq!(pascal("1st"), "V1st");
        assert_eq!(pascal(""), "Empty");
        assert_eq!(pascal("  "), "Empty");
        assert_eq!(pascal("self"), "SelfValue");
        assert_eq!(pascal("é"), "Empty");
        assert_eq!(
            unique(vec!["A".into(), "A".into(), "A2".into()]),
            ["A", "A2", "A22"]
        );
    }

    #[test]
    fn methods_named_new_are_allowed_to_take_self() {
        let allows = method_allows("new").to_string();
        assert!(allows.contains("new_ret_no_self"), "{allows}");
        assert!(allows.contains("wrong_self_convention"), "{allows}");
        assert!(method_allows("state").is_empty());
    }

    #[test]
    fn doc_text_is_escaped() {
        assert_eq!(doc_text("a  [b]\n c <d>"), "a \\[b\\] c \\<d\\>");
    }

    #[test]
    fn variant_lints() {
        assert!(!variant_names_need_allow(
            "Mode",
            &["Off".into(), "Heat".into()]
        ));
        assert!(variant_names_need_allow(
            "Mode",
            &["ModeA".into(), "B".into()]
        ));
        let on = ["HeatOn", "CoolOn", "FanOn"].map(String::from);
        assert!(variant_names_need_allow("X", &on));
    }
}

//! Parsing `#[safething(...)]` attributes (and doc comments) into keyed entries that remember
//! the span of every key and value.
//!
//! Single-attribute checks happen here, while parsing: unknown keys (with a "did you mean"),
//! duplicate keys (reported at the second occurrence), values of the wrong type. Checks that
//! involve several attributes are the IR's validation, run on the lowered definition.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenTree};
use serde_json::{Number, Value};
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Token, UnOp};

use crate::ctxt::Ctxt;

/// What a key's value must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `key = "text"`
    Str,
    /// `key = 5`, `key = -0.5`
    Number,
    /// `key = 10` (a whole number, at least 0)
    Count,
    /// `key`, `key = true`
    Flag,
    /// `key = <literal or array of literals>` (a JSON value)
    Json,
    /// `key = [<literal>, ...]`
    JsonArray,
    /// `key = Type`
    Type,
    /// `key = "path::to::crate"`
    Path,
    /// `key(...)`: a nested list (events and actions)
    List,
}

/// Where an attribute sits: each place has its own keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// `#[safething(...)]` on the struct.
    Container,
    /// `event(...)` in a container attribute.
    Event,
    /// `action(...)` in a container attribute.
    Action,
    /// `#[safething(...)]` on a field.
    Field,
}

/// Schema keywords of a field: the derive's spelling and the definition format's.
pub(crate) const SCHEMA_KEYWORDS: &[(&str, &str, Kind)] = &[
    ("title", "title", Kind::Str),
    ("description", "description", Kind::Str),
    ("unit", "unit", Kind::Str),
    ("format", "format", Kind::Str),
    ("minimum", "minimum", Kind::Number),
    ("maximum", "maximum", Kind::Number),
    ("exclusive_minimum", "exclusiveMinimum", Kind::Number),
    ("exclusive_maximum", "exclusiveMaximum", Kind::Number),
    ("multiple_of", "multipleOf", Kind::Number),
    ("min_length", "minLength", Kind::Count),
    ("max_length", "maxLength", Kind::Count),
    ("pattern", "pattern", Kind::Str),
    ("min_items", "minItems", Kind::Count),
    ("max_items", "maxItems", Kind::Count),
    ("enum", "enum", Kind::JsonArray),
    ("const", "const", Kind::Json),
    ("default", "default", Kind::Json),
    ("read_only", "readOnly", Kind::Flag),
    ("write_only", "writeOnly", Kind::Flag),
    ("content_media_type", "contentMediaType", Kind::Str),
    ("content_encoding", "contentEncoding", Kind::Str),
];

/// Schema keywords that a field of a user type may carry: annotations, which apply on top of
/// the type's own schema (a `ref` takes no constraints).
pub(crate) const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "unit",
    "default",
    "read_only",
    "write_only",
];

const FIELD_KEYS: &[(&str, Kind)] = &[
    ("static", Kind::Flag),
    ("value", Kind::Json),
    ("history", Kind::Count),
    ("writable", Kind::Flag),
    ("access", Kind::Str),
    ("rename", Kind::Str),
    ("skip", Kind::Flag),
];

const CONTAINER_KEYS: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("title", Kind::Str),
    ("description", Kind::Str),
    ("version", Kind::Str),
    ("crate", Kind::Path),
    ("event", Kind::List),
    ("action", Kind::List),
];

const EVENT_KEYS: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("title", Kind::Str),
    ("description", Kind::Str),
    ("data", Kind::Type),
    ("access", Kind::Str),
];

const ACTION_KEYS: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("title", Kind::Str),
    ("description", Kind::Str),
    ("input", Kind::Type),
    ("output", Kind::Type),
    ("timeout", Kind::Str),
    ("access", Kind::Str),
    ("safe", Kind::Flag),
    ("idempotent", Kind::Flag),
];

impl Place {
    fn keys(self) -> Vec<(&'static str, Kind)> {
        match self {
            Place::Container => CONTAINER_KEYS.to_vec(),
            Place::Event => EVENT_KEYS.to_vec(),
            Place::Action => ACTION_KEYS.to_vec(),
            Place::Field => FIELD_KEYS
                .iter()
                .copied()
                .chain(SCHEMA_KEYWORDS.iter().map(|(k, _, kind)| (*k, *kind)))
                .collect(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Place::Container => "on the struct",
            Place::Event => "in `event(...)`",
            Place::Action => "in `action(...)`",
            Place::Field => "on a field",
        }
    }

    fn owner(self) -> &'static str {
        match self {
            Place::Container => "a key of the struct's `#[safething(...)]`",
            Place::Event => "a key of `event(...)`",
            Place::Action => "a key of `action(...)`",
            Place::Field => "a key of a field's `#[safething(...)]`",
        }
    }
}

/// A parsed value.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    Str(String),
    Json(Value),
    Count(u64),
    Flag(bool),
    Type(Box<syn::Type>),
    Path(syn::Path),
}

/// One `key = value` with its spans.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// The key.
    pub(crate) key: Span,
    /// The value (the key, for a bare flag).
    pub(crate) span: Span,
    /// The spans of the elements of an array value (`enum = [..]`).
    pub(crate) items: Vec<Span>,
    pub(crate) value: Val,
}

/// The entries of one place (all `#[safething]` attributes of a field together), by key.
#[derive(Clone, Debug, Default)]
pub(crate) struct Entries {
    pub(crate) map: BTreeMap<&'static str, Entry>,
    /// Keys that were written, also those whose value was rejected.
    written: Vec<&'static str>,
}

impl Entries {
    /// Whether `key` was written (even with a value that was rejected).
    pub(crate) fn seen(&self, key: &str) -> bool {
        self.written.contains(&key)
    }

    fn insert(&mut self, cx: &Ctxt, key: &'static str, entry: Entry) {
        if self.map.contains_key(key) {
            cx.error(entry.key, format!("duplicate `{key}`"));
        } else {
            self.map.insert(key, entry);
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.map.get(key)
    }

    pub(crate) fn str(&self, key: &str) -> Option<(String, Span)> {
        match self.get(key) {
            Some(Entry {
                value: Val::Str(s),
                span,
                ..
            }) => Some((s.clone(), *span)),
            _ => None,
        }
    }

    pub(crate) fn flag(&self, key: &str) -> Option<Span> {
        match self.get(key) {
            Some(Entry {
                value: Val::Flag(true),
                span,
                ..
            }) => Some(*span),
            _ => None,
        }
    }

    pub(crate) fn ty(&self, key: &str) -> Option<&syn::Type> {
        match self.get(key) {
            Some(Entry {
                value: Val::Type(ty),
                ..
            }) => Some(ty),
            _ => None,
        }
    }
}

/// The container's attributes: its own entries and one entry set per `event(...)` and
/// `action(...)`, with the span of the `event`/`action` keyword.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub(crate) entries: Entries,
    pub(crate) events: Vec<(Span, Entries)>,
    pub(crate) actions: Vec<(Span, Entries)>,
}

/// Parses every `#[safething(...)]` on the struct.
pub(crate) fn container(cx: &Ctxt, attrs: &[syn::Attribute]) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("safething")) {
        let result = attr.parse_nested_meta(|meta| {
            let Some((key, kind)) = known_key(cx, &meta, Place::Container)? else {
                return Ok(());
            };
            if kind == Kind::List {
                let span = meta.path.span();
                let place = if key == "event" {
                    Place::Event
                } else {
                    Place::Action
                };
                if !meta.input.peek(syn::token::Paren) {
                    cx.error(
                        span,
                        format!("`{key}` takes a list: `{key}(name = \"...\", ...)`"),
                    );
                    return skip_value(meta.input);
                }
                let mut entries = Entries::default();
                meta.parse_nested_meta(|inner| {
                    if let Some((key, kind)) = known_key(cx, &inner, place)? {
                        value(cx, &inner, key, kind, &mut entries)?;
                    }
                    Ok(())
                })?;
                if place == Place::Event {
                    out.events.push((span, entries));
                } else {
                    out.actions.push((span, entries));
                }
                return Ok(());
            }
            value(cx, &meta, key, kind, &mut out.entries)
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    out
}

/// Parses every `#[safething(...)]` on a field.
pub(crate) fn field(cx: &Ctxt, attrs: &[syn::Attribute]) -> Entries {
    let mut entries = Entries::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("safething")) {
        let result = attr.parse_nested_meta(|meta| {
            if let Some((key, kind)) = known_key(cx, &meta, Place::Field)? {
                value(cx, &meta, key, kind, &mut entries)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    entries
}

/// The key of `meta` if `place` knows it; otherwise reports it (with a hint), skips its value
/// and returns `None`.
fn known_key(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    place: Place,
) -> syn::Result<Option<(&'static str, Kind)>> {
    let keys = place.keys();
    let name = match meta.path.get_ident() {
        Some(ident) => ident.to_string(),
        None => {
            let path = &meta.path;
            quote::quote!(#path).to_string().replace(' ', "")
        }
    };
    let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
    if meta.path.get_ident().is_some()
        && let Some((key, kind)) = keys.iter().find(|(k, _)| *k == name)
    {
        return Ok(Some((key, *kind)));
    }
    let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
    let hint = if let Some(close) = safething_ir::naming::closest(&name, &names) {
        format!("did you mean `{close}`?")
    } else if let Some(other) = [Place::Container, Place::Event, Place::Action, Place::Field]
        .into_iter()
        .filter(|p| *p != place)
        .find(|p| p.keys().iter().any(|(k, _)| *k == name))
    {
        format!("`{name}` is {}", other.owner())
    } else {
        let list: Vec<String> = names.iter().map(|k| format!("`{k}`")).collect();
        format!("known keys here: {}", list.join(", "))
    };
    cx.error_spanned_by(
        &meta.path,
        format!(
            "unknown key `{name}` {}\n\n= help: {hint}",
            place.describe()
        ),
    );
    skip_value(meta.input)?;
    Ok(None)
}

/// Skips what follows a key up to the next `,`: `= value` or `(...)`.
fn skip_value(input: ParseStream<'_>) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    Ok(())
}

/// Parses the value of a known key and records it.
fn value(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    key: &'static str,
    kind: Kind,
    entries: &mut Entries,
) -> syn::Result<()> {
    let key_span = meta.path.span();
    entries.written.push(key);
    let input = meta.input;
    let bare = input.is_empty() || input.peek(Token![,]);
    if kind == Kind::Flag && bare {
        let entry = Entry {
            key: key_span,
            span: key_span,
            items: Vec::new(),
            value: Val::Flag(true),
        };
        entries.insert(cx, key, entry);
        return Ok(());
    }
    if !input.peek(Token![=]) {
        let example = example(key, kind);
        cx.error(key_span, format!("`{key}` needs a value, like `{example}`"));
        return skip_value(input);
    }
    input.parse::<Token![=]>()?;
    if kind == Kind::Type {
        if input.peek(syn::LitStr) {
            let lit: syn::LitStr = input.parse()?;
            cx.error(
                lit.span(),
                format!(
                    "`{key}` takes a type, like `{key} = {}` (without quotes)",
                    lit.value()
                ),
            );
            return Ok(());
        }
        match input.parse::<syn::Type>() {
            Ok(ty) => {
                let entry = Entry {
                    key: key_span,
                    span: ty.span(),
                    items: Vec::new(),
                    value: Val::Type(Box::new(ty)),
                };
                entries.insert(cx, key, entry);
            }
            Err(e) => {
                cx.syn_error(e);
                skip_value(input)?;
            }
        }
        return Ok(());
    }
    let expr: Expr = match input.parse() {
        Ok(expr) => expr,
        Err(e) => {
            cx.syn_error(e);
            return skip_value(input);
        }
    };
    let span = expr.span();
    let mut items = Vec::new();
    let parsed = match kind {
        Kind::Str | Kind::Path => match &expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => {
                if kind == Kind::Path {
                    match s.parse::<syn::Path>() {
                        Ok(path) => Some(Val::Path(path)),
                        Err(_) => {
                            cx.error(
                                span,
                                format!("`{key}` takes a path, like `{key} = \"::safething\"`"),
                            );
                            None
                        }
                    }
                } else {
                    Some(Val::Str(s.value()))
                }
            }
            _ => None,
        },
        Kind::Number => match json(&expr) {
            Ok(Value::Number(n)) => Some(Val::Json(Value::Number(n))),
            _ => None,
        },
        Kind::Count => match &expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => i.base10_parse::<u64>().ok().map(Val::Count),
            _ => None,
        },
        Kind::Flag => match &expr {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => Some(Val::Flag(b.value)),
            _ => None,
        },
        Kind::Json => match json(&expr) {
            Ok(v) => Some(Val::Json(v)),
            Err(e) => {
                cx.syn_error(e);
                return Ok(());
            }
        },
        Kind::JsonArray => match &expr {
            Expr::Array(array) => {
                items = array.elems.iter().map(Spanned::span).collect();
                match json(&expr) {
                    Ok(v) => Some(Val::Json(v)),
                    Err(e) => {
                        cx.syn_error(e);
                        return Ok(());
                    }
                }
            }
            _ => None,
        },
        Kind::Type | Kind::List => None,
    };
    match parsed {
        Some(value) => entries.insert(
            cx,
            key,
            Entry {
                key: key_span,
                span,
                items,
                value,
            },
        ),
        None if kind == Kind::Path => {}
        None => cx.error(
            span,
            format!(
                "`{key}` takes {}, like `{}`",
                expected(kind),
                example(key, kind)
            ),
        ),
    }
    Ok(())
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "a string",
        Kind::Number => "a number",
        Kind::Count => "a whole number of at least 0",
        Kind::Flag => "no value or a boolean",
        Kind::Json => "a literal (string, number, boolean) or an array of them",
        Kind::JsonArray => "an array of literals",
        Kind::Type => "a type",
        Kind::Path => "a path in a string",
        Kind::List => "a list",
    }
}

fn example(key: &str, kind: Kind) -> String {
    match kind {
        Kind::Str => match key {
            "version" => "version = \"1.0.0\"".to_owned(),
            "timeout" => "timeout = \"30s\"".to_owned(),
            "access" => "access = \"owner\"".to_owned(),
            _ => format!("{key} = \"...\""),
        },
        Kind::Number => format!("{key} = 0"),
        Kind::Count => format!("{key} = 10"),
        Kind::Flag => key.to_owned(),
        Kind::Json => format!("{key} = 0"),
        Kind::JsonArray => format!("{key} = [\"a\", \"b\"]"),
        Kind::Type => format!("{key} = MyType"),
        Kind::Path => format!("{key} = \"::safething\""),
        Kind::List => format!("{key}(name = \"...\")"),
    }
}

/// The JSON value of a literal expression: strings, numbers (also negative), booleans, and
/// arrays of them.
pub(crate) fn json(expr: &Expr) -> syn::Result<Value> {
    let unsupported = || {
        syn::Error::new_spanned(
            expr,
            "expected a literal: a string, a number, a boolean, or an array of them",
        )
    };
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Str(s) => Ok(Value::String(s.value())),
            Lit::Bool(b) => Ok(Value::Bool(b.value)),
            Lit::Int(i) => i
                .base10_parse::<u64>()
                .map(Value::from)
                .map_err(|_| syn::Error::new(i.span(), "integer out of range")),
            Lit::Float(f) => {
                let x: f64 = f.base10_parse()?;
                Number::from_f64(x)
                    .map(Value::Number)
                    .ok_or_else(|| syn::Error::new(f.span(), "the number must be finite"))
            }
            _ => Err(unsupported()),
        },
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => match &*unary.expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => {
                let magnitude: u64 = i.base10_parse()?;
                let n = i64::try_from(magnitude)
                    .ok()
                    .and_then(i64::checked_neg)
                    .or((magnitude == 1 << 63).then_some(i64::MIN))
                    .ok_or_else(|| syn::Error::new(i.span(), "integer out of range"))?;
                Ok(Value::from(n))
            }
            Expr::Lit(ExprLit {
                lit: Lit::Float(f), ..
            }) => {
                let x: f64 = f.base10_parse()?;
                Number::from_f64(-x)
                    .map(Value::Number)
                    .ok_or_else(|| syn::Error::new(f.span(), "the number must be finite"))
            }
            _ => Err(unsupported()),
        },
        Expr::Array(array) => array.elems.iter().map(json).collect(),
        Expr::Group(group) => json(&group.expr),
        Expr::Paren(paren) => json(&paren.expr),
        _ => Err(unsupported()),
    }
}

/// `title` and `description` from doc comments, as schemars reads them: lines joined with
/// newlines (one leading space removed), trimmed; a first line starting with `#` is the title.
pub(crate) fn docs(attrs: &[syn::Attribute]) -> (Option<String>, Option<String>) {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    let text = lines.join("\n");
    let text = text.trim();
    if let Some(heading) = text.strip_prefix('#') {
        let (title, rest) = heading.split_once('\n').unwrap_or((heading, ""));
        let title = title.trim_start_matches('#').trim();
        let rest = rest.trim();
        (
            (!title.is_empty()).then(|| title.to_owned()),
            (!rest.is_empty()).then(|| rest.to_owned()),
        )
    } else {
        (None, (!text.is_empty()).then(|| text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(expr: &str) -> Result<Value, String> {
        json(&syn::parse_str(expr).unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn literals_become_json() {
        assert_eq!(value("\"a\"").unwrap(), serde_json::json!("a"));
        assert_eq!(value("-5").unwrap(), serde_json::json!(-5));
        assert_eq!(value("0").unwrap(), serde_json::json!(0));
        assert_eq!(value("-0.5").unwrap(), serde_json::json!(-0.5));
        assert_eq!(
            value("-9223372036854775808").unwrap(),
            serde_json::json!(i64::MIN)
        );
        assert_eq!(
            value("[1, true, \"x\"]").unwrap(),
            serde_json::json!([1, true, "x"])
        );
        assert!(value("a + b").unwrap_err().contains("expected a literal"));
        assert!(value("-99999999999999999999").is_err());
    }

    #[test]
    fn doc_comments_are_read_like_schemars() {
        let item: syn::ItemStruct =
            syn::parse_str("/// # Title\n///\n/// First line\n/// second line\nstruct S;").unwrap();
        assert_eq!(
            docs(&item.attrs),
            (
                Some("Title".to_owned()),
                Some("First line\nsecond line".to_owned())
            )
        );
        let plain: syn::ItemStruct = syn::parse_str("/// Just this\nstruct S;").unwrap();
        assert_eq!(docs(&plain.attrs), (None, Some("Just this".to_owned())));
    }
}

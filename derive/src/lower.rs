//! Lowering the struct and its attributes into the IR: the same [`Definition`] a TOML file
//! lowers into, with the span of every part, so that the IR's diagnostics point at the exact
//! token; then the IR's own validation.
//!
//! Payloads of user types are *holes*: their schema is empty at compile time (only the
//! field's annotations) and filled from the type's `JsonSchema` at run time.

use std::collections::BTreeMap;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use serde_json::{Map, Value};
use syn::spanned::Spanned;

use safething_codegen::rust::Payloads;
use safething_ir::{
    Access, Action, Attribute, AttributeKind, DataSchema, Definition, Diagnostic, Event, IrPath,
    Rule, Segment, ThingInfo, Timeout, UnknownAccess, cmp_numbers,
};

use crate::attr::{self, ANNOTATIONS, ContainerAttrs, Entries, Entry, SCHEMA_KEYWORDS, Val};
use crate::ctxt::Ctxt;
use crate::ty::{self, Shape};

/// A payload whose schema comes from a Rust type's `JsonSchema` at run time.
pub(crate) struct Hole {
    /// Where it goes: `["attributes", name]`, `["events", name, "data"]`, ... (+ `"items"`).
    pub(crate) path: Vec<String>,
    pub(crate) ty: syn::Type,
}

/// A field that became an attribute. The generated code reads it (the struct describes the
/// thing: its fields are used by the derive) and, when the derive mapped its type by name,
/// checks at compile time that the type is the one it assumed.
pub(crate) struct TypeCheck {
    pub(crate) member: syn::Ident,
    pub(crate) canonical: Option<TokenStream>,
    pub(crate) span: Span,
}

/// The lowered struct.
pub(crate) struct Lowered {
    /// The definition as far as the derive can see (holes are empty schemas).
    pub(crate) definition: Definition,
    pub(crate) holes: Vec<Hole>,
    /// The Rust type of every payload, as written by the user.
    pub(crate) payloads: Payloads,
    pub(crate) checks: Vec<TypeCheck>,
    /// The runtime crate's path (`crate = ".."`, default `::safething`).
    pub(crate) runtime: TokenStream,
}

/// Where each part of the definition was written.
#[derive(Default)]
struct Spans {
    map: BTreeMap<IrPath, Span>,
    root: Option<Span>,
}

impl Spans {
    fn set(&mut self, path: IrPath, span: Span) {
        self.map.insert(path, span);
    }

    /// The span of `path`, or of its nearest ancestor that has one.
    fn at(&self, path: &IrPath) -> Span {
        let mut p = path.clone();
        loop {
            if let Some(span) = self.map.get(&p) {
                return *span;
            }
            if p.is_root() {
                return self.root.unwrap_or_else(Span::call_site);
            }
            p = p.parent();
        }
    }
}

/// Lowers the struct `input` (with named `fields`) and validates what it can see.
pub(crate) fn lower(
    cx: &Ctxt,
    input: &syn::DeriveInput,
    fields: &syn::FieldsNamed,
    attrs: &ContainerAttrs,
) -> Lowered {
    let mut l = Lowerer {
        cx,
        spans: Spans {
            root: Some(input.ident.span()),
            ..Spans::default()
        },
        definition: Definition::default(),
        holes: Vec::new(),
        payloads: Payloads::default(),
        checks: Vec::new(),
    };
    l.thing(input, &attrs.entries);
    for field in &fields.named {
        l.field(field);
    }
    for (span, entries) in &attrs.events {
        l.event(*span, entries);
    }
    for (span, entries) in &attrs.actions {
        l.action(*span, entries);
    }
    l.validate();
    let runtime = match attrs.entries.get("crate") {
        Some(Entry {
            value: Val::Path(path),
            ..
        }) => path.to_token_stream(),
        _ => quote::quote!(::safething),
    };
    Lowered {
        definition: l.definition,
        holes: l.holes,
        payloads: l.payloads,
        checks: l.checks,
        runtime,
    }
}

struct Lowerer<'a> {
    cx: &'a Ctxt,
    spans: Spans,
    definition: Definition,
    holes: Vec<Hole>,
    payloads: Payloads,
    checks: Vec<TypeCheck>,
}

fn unraw(ident: &syn::Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

impl Lowerer<'_> {
    fn thing(&mut self, input: &syn::DeriveInput, entries: &Entries) {
        let at = IrPath::of(["thing"]);
        let (doc_title, doc_description) = attr::docs(&input.attrs);
        let name = match entries.str("name") {
            Some((name, span)) => {
                self.spans.set(at.key("name"), span);
                name
            }
            None => {
                self.spans.set(at.key("name"), input.ident.span());
                unraw(&input.ident)
            }
        };
        let version = match entries.str("version") {
            Some((version, span)) => {
                self.spans.set(at.key("version"), span);
                version
            }
            None if entries.seen("version") => "0.0.0".to_owned(),
            None => {
                self.cx.error(
                    input.ident.span(),
                    "missing `version`: a thing type has a semantic version\n\n= help: add \
                     `#[safething(version = \"1.0.0\")]`",
                );
                "0.0.0".to_owned()
            }
        };
        self.definition.thing = ThingInfo {
            name,
            title: entries.str("title").map(|(t, _)| t).or(doc_title),
            description: entries
                .str("description")
                .map(|(d, _)| d)
                .or(doc_description),
            version,
        };
    }

    fn field(&mut self, field: &syn::Field) {
        let entries = attr::field(self.cx, &field.attrs);
        if entries.flag("skip").is_some() {
            return;
        }
        let Some(ident) = &field.ident else { return };
        let (name, name_span) = match entries.str("rename") {
            Some(renamed) => renamed,
            None => (unraw(ident), ident.span()),
        };
        if self.definition.attributes.contains_key(&name) {
            self.cx.error(
                name_span,
                format!("duplicate attribute `{name}`: another field already has this name"),
            );
            return;
        }
        let at = IrPath::of(["attributes", name.as_str()]);
        self.spans.set(at.clone(), name_span);
        let shape = match ty::classify(&field.ty) {
            Ok(shape) => shape,
            Err(e) => {
                self.cx.syn_error(e);
                return;
            }
        };
        self.checks.push(TypeCheck {
            member: ident.clone(),
            canonical: shape.canonical(),
            span: field.ty.span(),
        });
        let (doc_title, doc_description) = attr::docs(&field.attrs);
        let schema = self.schema(&shape, &at, &entries, doc_title, doc_description);
        let mut attribute = Attribute {
            schema,
            ..Attribute::default()
        };
        if let Some(span) = entries.flag("static") {
            attribute.kind = AttributeKind::Static;
            self.spans.set(at.key("kind"), span);
        }
        if let Some(entry) = entries.get("value")
            && let Val::Json(v) = &entry.value
        {
            attribute.value = Some(v.clone());
            self.spans.set(at.key("value"), entry.span);
        }
        if let Some(access) = self.access(&entries, &at) {
            attribute.access = access;
        }
        if let Some(entry) = entries.get("history")
            && let Val::Count(n) = entry.value
        {
            attribute.history = Some(n);
            self.spans.set(at.key("history"), entry.span);
        }
        if let Some(span) = entries.flag("writable") {
            attribute.writable = true;
            self.spans.set(at.key("writable"), span);
        }
        self.payloads
            .attributes
            .insert(name.clone(), shape.rust_type());
        self.definition.attributes.insert(name, attribute);
    }

    /// The schema of a field: its type's, with the field's keywords.
    fn schema(
        &mut self,
        shape: &Shape,
        at: &IrPath,
        entries: &Entries,
        doc_title: Option<String>,
        doc_description: Option<String>,
    ) -> DataSchema {
        let mut map = self.shape_schema(shape, at);
        if let Some(title) = doc_title {
            map.insert("title".into(), Value::String(title));
        }
        if let Some(description) = doc_description {
            map.insert("description".into(), Value::String(description));
        }
        for (key, keyword, _) in SCHEMA_KEYWORDS {
            let Some(entry) = entries.get(key) else {
                continue;
            };
            if let Shape::User(ty) = shape
                && !ANNOTATIONS.contains(key)
            {
                let ty = ty.to_token_stream().to_string().replace(' ', "");
                self.cx.error(
                    entry.key,
                    format!(
                        "`{key}` cannot constrain a field of type `{ty}`: its schema comes from \
                         its `JsonSchema`\n\n= help: constrain the type itself (e.g. \
                         `#[schemars(range(min = 0))]`); here only {} apply",
                        ANNOTATIONS
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                continue;
            }
            let value = match &entry.value {
                Val::Str(s) => Value::String(s.clone()),
                Val::Json(v) => v.clone(),
                Val::Count(n) => Value::from(*n),
                Val::Flag(b) => Value::Bool(*b),
                Val::Type(_) | Val::Path(_) => continue,
            };
            if let (Shape::Prim(prim), Value::Number(n)) = (shape, &value)
                && let Some((lo, hi)) = prim.range()
                && matches!(
                    *key,
                    "minimum" | "maximum" | "exclusive_minimum" | "exclusive_maximum"
                )
            {
                let (Value::Number(lo), Value::Number(hi)) = (&lo, &hi) else {
                    continue;
                };
                let below = cmp_numbers(n, lo) == Some(std::cmp::Ordering::Less);
                let above = cmp_numbers(n, hi) == Some(std::cmp::Ordering::Greater);
                if below || above {
                    self.cx.error(
                        entry.span,
                        format!(
                            "`{key} = {n}` is outside the range of `{}` ({lo} to {hi})",
                            prim.name()
                        ),
                    );
                    continue;
                }
                // The field's bound replaces the type's on that side.
                if key.contains("minimum") {
                    map.remove("minimum");
                } else {
                    map.remove("maximum");
                }
            }
            self.spans.set(at.key(*keyword), entry.span);
            for (i, span) in entry.items.iter().enumerate() {
                self.spans.set(at.key(*keyword).index(i), *span);
            }
            map.insert((*keyword).to_owned(), value);
        }
        match serde_json::from_value(Value::Object(map)) {
            Ok(schema) => schema,
            Err(e) => {
                self.cx.error(
                    self.spans.at(at),
                    format!("the field's schema does not fit the IR (a bug in the derive): {e}"),
                );
                DataSchema::default()
            }
        }
    }

    /// The schema of a shape (as JSON keywords); holes for user types.
    fn shape_schema(&mut self, shape: &Shape, at: &IrPath) -> Map<String, Value> {
        let mut map = Map::new();
        match shape {
            Shape::Prim(prim) => {
                map.insert("type".into(), prim.json_type().into());
                if let Some((lo, hi)) = prim.range() {
                    map.insert("minimum".into(), lo);
                    map.insert("maximum".into(), hi);
                }
            }
            Shape::Vec(inner) => {
                map.insert("type".into(), "array".into());
                let items = self.shape_schema(inner, &at.key("items"));
                map.insert("items".into(), Value::Object(items));
            }
            Shape::User(ty) => self.holes.push(Hole {
                path: at
                    .segments()
                    .iter()
                    .map(|s| match s {
                        Segment::Key(k) => k.clone(),
                        Segment::Index(i) => i.to_string(),
                    })
                    .collect(),
                ty: (**ty).clone(),
            }),
        }
        map
    }

    /// The schema of an event's data or an action's input or output, and its Rust type.
    fn payload(
        &mut self,
        ty: Option<&syn::Type>,
        at: &IrPath,
    ) -> Option<(DataSchema, TokenStream)> {
        let ty = ty?;
        self.spans.set(at.clone(), ty.span());
        let shape = match ty::classify(ty) {
            Ok(shape) => shape,
            Err(e) => {
                self.cx.syn_error(e);
                return None;
            }
        };
        let schema = self.schema(&shape, at, &Entries::default(), None, None);
        Some((schema, shape.rust_type()))
    }

    /// The name of an event or action, checked for presence and uniqueness.
    fn affordance_name(
        &mut self,
        keyword: Span,
        entries: &Entries,
        what: &str,
        exists: bool,
    ) -> Option<(String, Span)> {
        let Some((name, span)) = entries.str("name") else {
            self.cx.error(
                keyword,
                format!("`{what}(...)` needs a `name`, like `{what}(name = \"...\")`"),
            );
            return None;
        };
        if exists {
            self.cx.error(
                span,
                format!("duplicate {what} `{name}`: another {what} has this name"),
            );
            return None;
        }
        Some((name, span))
    }

    fn event(&mut self, keyword: Span, entries: &Entries) {
        let exists = entries
            .str("name")
            .is_some_and(|(n, _)| self.definition.events.contains_key(&n));
        let Some((name, span)) = self.affordance_name(keyword, entries, "event", exists) else {
            return;
        };
        let at = IrPath::of(["events", name.as_str()]);
        self.spans.set(at.clone(), span);
        let data = self.payload(entries.ty("data"), &at.key("data"));
        let mut event = Event {
            title: entries.str("title").map(|(t, _)| t),
            description: entries.str("description").map(|(d, _)| d),
            ..Event::default()
        };
        if let Some(access) = self.access(entries, &at) {
            event.access = access;
        }
        let ty = data.map(|(schema, ty)| {
            event.data = Some(schema);
            ty
        });
        self.payloads.events.insert(name.clone(), ty);
        self.definition.events.insert(name, event);
    }

    fn action(&mut self, keyword: Span, entries: &Entries) {
        let exists = entries
            .str("name")
            .is_some_and(|(n, _)| self.definition.actions.contains_key(&n));
        let Some((name, span)) = self.affordance_name(keyword, entries, "action", exists) else {
            return;
        };
        let at = IrPath::of(["actions", name.as_str()]);
        self.spans.set(at.clone(), span);
        let input = self.payload(entries.ty("input"), &at.key("input"));
        let output = self.payload(entries.ty("output"), &at.key("output"));
        let mut action = Action {
            title: entries.str("title").map(|(t, _)| t),
            description: entries.str("description").map(|(d, _)| d),
            safe: entries.flag("safe").is_some(),
            idempotent: entries.flag("idempotent").is_some(),
            ..Action::default()
        };
        if let Some((timeout, span)) = entries.str("timeout") {
            action.timeout = Some(Timeout(timeout));
            self.spans.set(at.key("timeout"), span);
        }
        if let Some(access) = self.access(entries, &at) {
            action.access = access;
        }
        let input = input.map(|(schema, ty)| {
            action.input = Some(schema);
            ty
        });
        let output = output.map(|(schema, ty)| {
            action.output = Some(schema);
            ty
        });
        self.payloads.inputs.insert(name.clone(), input);
        self.payloads.outputs.insert(name.clone(), output);
        self.definition.actions.insert(name, action);
    }

    /// The `access` of an affordance, if given; an unknown spelling is an error at its token.
    fn access(&mut self, entries: &Entries, at: &IrPath) -> Option<Access> {
        let (access, span) = entries.str("access")?;
        self.spans.set(at.key("access"), span);
        match access.parse::<Access>() {
            Ok(access) => Some(access),
            Err(e) => {
                let mut d = Diagnostic::error(Rule::UnknownAccess, at.key("access"), e.to_string());
                d.help = Some(UnknownAccess::HELP.to_owned());
                self.cx.error(span, render(&d));
                None
            }
        }
    }

    /// Runs the IR's validation on what the derive can see, reports each error at its token,
    /// and leaves out of the generated API the affordances whose names cannot be generated.
    fn validate(&mut self) {
        let holes: Vec<IrPath> = self
            .holes
            .iter()
            .map(|h| IrPath::of(h.path.iter().map(String::as_str)))
            .collect();
        let mut broken: Vec<(String, String)> = Vec::new();
        for d in self.definition.validate() {
            if !d.is_error() || (d.rule == Rule::IncompleteSchema && holes.contains(&d.path)) {
                continue;
            }
            self.cx.error(self.spans.at(&d.path), render(&d));
            if matches!(d.rule, Rule::InvalidName | Rule::NameCollision)
                && let [Segment::Key(kind), Segment::Key(name), ..] = d.path.segments()
            {
                broken.push((kind.clone(), name.clone()));
            }
        }
        for (kind, name) in broken {
            match kind.as_str() {
                "attributes" => {
                    self.definition.attributes.remove(&name);
                    self.payloads.attributes.remove(&name);
                }
                "events" => {
                    self.definition.events.remove(&name);
                    self.payloads.events.remove(&name);
                }
                "actions" => {
                    self.definition.actions.remove(&name);
                    self.payloads.inputs.remove(&name);
                    self.payloads.outputs.remove(&name);
                }
                _ => {}
            }
        }
        let kept = |path: &Vec<String>| match path.as_slice() {
            [kind, name, ..] if kind == "attributes" => {
                self.definition.attributes.contains_key(name)
            }
            [kind, name, ..] if kind == "events" => self.definition.events.contains_key(name),
            [kind, name, ..] if kind == "actions" => self.definition.actions.contains_key(name),
            _ => false,
        };
        let holes = std::mem::take(&mut self.holes);
        self.holes = holes.into_iter().filter(|h| kept(&h.path)).collect();
    }
}

/// A diagnostic as the derive shows it: keywords in the derive's spelling, and the help.
fn render(d: &Diagnostic) -> String {
    let mut text = derive_words(&d.message);
    if let Some(help) = &d.help {
        text.push_str("\n\n= help: ");
        text.push_str(&derive_words(help));
    }
    text
}

/// Rewrites the definition format's spellings in a message into the derive's.
fn derive_words(text: &str) -> String {
    let mut out = text.replace("add `kind = \"static\"`", "add `static`");
    for (key, keyword, _) in SCHEMA_KEYWORDS {
        if key != keyword {
            out = out.replace(&format!("`{keyword}"), &format!("`{key}"));
        }
    }
    out
}

//! The checks every definition goes through, whichever front end built it.
//!
//! All problems are collected (never just the first), in a deterministic order, each with the
//! [`IrPath`] of the offending part.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::definition::{AttributeKind, Definition};
use crate::diagnostic::{Diagnostic, Rule};
use crate::naming::{self, ThingTypeNames};
use crate::path::IrPath;
use crate::schema::{DataSchema, SchemaType, cmp_numbers};
use crate::types::type_plan;
use crate::value::Compiler;

/// The largest `history` we accept: the ring buffer lives in the device's memory.
pub const MAX_HISTORY: u64 = 100_000;

pub(crate) fn validate(def: &Definition) -> Vec<Diagnostic> {
    let mut c = Checker {
        def,
        out: Vec::new(),
    };
    c.thing();
    c.types();
    c.attributes();
    c.events();
    c.actions();
    c.collisions();
    if def.attributes.is_empty() && def.events.is_empty() && def.actions.is_empty() {
        c.out.push(
            Diagnostic::warning(
                Rule::EmptyThing,
                IrPath::of(["thing"]),
                format!("`{}` has no attributes, events or actions", def.thing.name),
            )
            .with_help("a thing is used through its affordances; add at least one"),
        );
    }
    c.out
}

struct Checker<'a> {
    def: &'a Definition,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, rule: Rule, path: IrPath, message: impl Into<String>) -> &mut Diagnostic {
        self.out.push(Diagnostic::error(rule, path, message));
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    fn thing(&mut self) {
        let info = &self.def.thing;
        let at = IrPath::of(["thing"]);
        if !naming::is_pascal_case(&info.name) {
            self.error(
                Rule::InvalidName,
                at.key("name"),
                format!("thing name `{}` is not PascalCase", info.name),
            )
            .help =
                Some("generated type names derive from it: write e.g. `GardeningDevice`".into());
        }
        if let Err(e) = semver::Version::parse(&info.version) {
            self.error(
                Rule::InvalidVersion,
                at.key("version"),
                format!("version `{}` is not a semantic version: {e}", info.version),
            )
            .help = Some("write MAJOR.MINOR.PATCH, e.g. \"1.0.0\"".into());
        }
    }

    fn types(&mut self) {
        let def = self.def;
        for (name, schema) in &def.types {
            let at = IrPath::of(["types", name.as_str()]);
            if !naming::is_pascal_case(name) {
                self.error(
                    Rule::InvalidName,
                    at.clone(),
                    format!("type name `{name}` is not PascalCase"),
                )
                .help = Some(
                    "named types become Rust and TypeScript types: write e.g. `ValveState`".into(),
                );
            }
            self.schema(schema, &at);
        }
        self.cycles();
    }

    fn attributes(&mut self) {
        let def = self.def;
        for (name, attr) in &def.attributes {
            let at = IrPath::of(["attributes", name.as_str()]);
            self.affordance_name("attribute", name, &at);
            self.schema(&attr.schema, &at);
            match (attr.kind, &attr.value) {
                (AttributeKind::Static, None) => {
                    self.error(
                        Rule::StaticValue,
                        at.key("kind"),
                        format!("static attribute `{name}` has no `value`"),
                    )
                    .help = Some(
                        "a static attribute is part of the description: give its `value`".into(),
                    );
                }
                (AttributeKind::Dynamic, Some(_)) => {
                    self.error(
                        Rule::StaticValue,
                        at.key("value"),
                        format!("`value` is only for static attributes, but `{name}` is dynamic"),
                    )
                    .help = Some(
                        "add `kind = \"static\"`, or use `default` for an initial value".into(),
                    );
                }
                (_, Some(value)) => {
                    self.value_matches(&attr.schema, value, &at.key("value"), "value")
                }
                (AttributeKind::Dynamic, None) => {}
            }
            if attr.kind == AttributeKind::Static {
                if attr.writable {
                    self.error(
                        Rule::StaticConflict,
                        at.key("writable"),
                        format!("static attribute `{name}` cannot be writable"),
                    );
                }
                if attr.history.is_some() {
                    self.error(Rule::StaticConflict, at.key("history"), format!("static attribute `{name}` cannot keep a history: its value never changes"));
                }
            }
            match attr.history {
                Some(0) => {
                    self.error(
                        Rule::InvalidHistory,
                        at.key("history"),
                        "`history = 0` keeps nothing",
                    )
                    .help = Some("remove `history`, or keep at least 1 value".into());
                }
                Some(n) if n > MAX_HISTORY => {
                    self.error(
                        Rule::InvalidHistory,
                        at.key("history"),
                        format!("`history = {n}` is more than the maximum {MAX_HISTORY}"),
                    );
                }
                _ => {}
            }
        }
    }

    fn events(&mut self) {
        let def = self.def;
        for (name, event) in &def.events {
            let at = IrPath::of(["events", name.as_str()]);
            self.affordance_name("event", name, &at);
            if let Some(data) = &event.data {
                self.schema(data, &at.key("data"));
            }
        }
    }

    fn actions(&mut self) {
        let def = self.def;
        for (name, action) in &def.actions {
            let at = IrPath::of(["actions", name.as_str()]);
            self.affordance_name("action", name, &at);
            if let Some(input) = &action.input {
                self.schema(input, &at.key("input"));
            }
            if let Some(output) = &action.output {
                self.schema(output, &at.key("output"));
            }
            if let Some(timeout) = &action.timeout
                && let Err(e) = timeout.duration()
            {
                self.error(
                    Rule::InvalidTimeout,
                    at.key("timeout"),
                    format!("invalid timeout: {e}"),
                )
                .help = Some(
                    "write digits and a unit: \"500ms\", \"30s\", \"2m\", \"1h\", \"1m30s\"".into(),
                );
            }
        }
    }

    fn affordance_name(&mut self, what: &str, name: &str, at: &IrPath) {
        if !naming::is_snake_case(name) {
            self.error(
                Rule::InvalidName,
                at.clone(),
                format!("{what} name `{name}` is not snake_case"),
            )
            .help = Some("write lowercase words joined by `_`, e.g. `moisture_level`".into());
        }
    }

    /// Checks one schema and everything nested in it.
    fn schema(&mut self, s: &DataSchema, at: &IrPath) {
        self.schema_shape(s, at);
        self.bounds(s, at);
        if let Some(p) = &s.pattern
            && let Err(e) = regex::Regex::new(p)
        {
            let text = e.to_string();
            let reason = text.lines().last().unwrap_or_default().trim();
            let reason = reason.strip_prefix("error: ").unwrap_or(reason).to_owned();
            self.error(
                Rule::InvalidPattern,
                at.key("pattern"),
                format!("invalid pattern `{p}`: {reason}"),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, r) in s.required.iter().enumerate() {
            if !s.properties.contains_key(r) {
                self.error(
                    Rule::UnknownRequired,
                    at.key("required").index(i),
                    format!("`required` names `{r}`, which is not a property"),
                )
                .help = Some(known_list("declared properties", s.properties.keys()));
            } else if !seen.insert(r) {
                self.error(
                    Rule::UnknownRequired,
                    at.key("required").index(i),
                    format!("`{r}` is listed twice in `required`"),
                );
            }
        }
        for name in s.properties.keys() {
            if !naming::is_snake_case(name) {
                self.error(
                    Rule::InvalidName,
                    at.key("properties").key(name),
                    format!("property name `{name}` is not snake_case"),
                )
                .help = Some("write lowercase words joined by `_`, e.g. `moisture_level`".into());
            }
        }
        self.schema_values(s, at);
        if let Some(items) = &s.items {
            self.schema(items, &at.key("items"));
        }
        for (name, p) in &s.properties {
            self.schema(p, &at.key("properties").key(name));
        }
        for (i, alt) in s.one_of.iter().flatten().enumerate() {
            self.schema(alt, &at.key("oneOf").index(i));
        }
    }

    /// `type`/`ref`/`oneOf` present and consistent; keywords fit the type.
    fn schema_shape(&mut self, s: &DataSchema, at: &IrPath) {
        if let Some(r) = &s.reference {
            if !self.def.types.contains_key(r) {
                self.error(
                    Rule::UnknownRef,
                    at.key("ref"),
                    format!("unknown type `{r}`"),
                )
                .help = Some(known_list("declared types", self.def.types.keys()));
            }
            if s.ty.is_some() || !constraint_keywords(s).is_empty() {
                let mut extra = constraint_keywords(s);
                if s.ty.is_some() {
                    extra.insert(0, "type");
                }
                self.error(
                    Rule::IncompleteSchema,
                    at.key("ref"),
                    format!("`ref` cannot be combined with {}", quoted(&extra)),
                )
                .help = Some(
                    "`ref` stands for the whole named schema; put constraints in the named type"
                        .into(),
                );
            }
            return;
        }
        if s.one_of.as_ref().is_some_and(Vec::is_empty) {
            self.error(
                Rule::IncompleteSchema,
                at.key("oneOf"),
                "`oneOf` lists no alternatives",
            );
        }
        if s.enumeration.as_ref().is_some_and(Vec::is_empty) {
            self.error(
                Rule::IncompleteSchema,
                at.key("enum"),
                "`enum` lists no values",
            );
        }
        let Some(ty) = s.ty else {
            if s.one_of.is_none() && s.enumeration.is_none() && s.constant.is_none() {
                self.error(Rule::IncompleteSchema, at.clone(), "the schema has no `type`")
                    .help = Some("add `type = \"...\"` (boolean, integer, number, string, object, array, null) or `ref = \"TypeName\"`".into());
            }
            return;
        };
        let numeric = [
            ("minimum", s.minimum.is_some()),
            ("maximum", s.maximum.is_some()),
            ("exclusiveMinimum", s.exclusive_minimum.is_some()),
            ("exclusiveMaximum", s.exclusive_maximum.is_some()),
            ("multipleOf", s.multiple_of.is_some()),
            ("unit", false), // units also annotate strings of quantities: allowed everywhere
        ];
        let string = [
            ("minLength", s.min_length.is_some()),
            ("maxLength", s.max_length.is_some()),
            ("pattern", s.pattern.is_some()),
            ("contentMediaType", s.content_media_type.is_some()),
            ("contentEncoding", s.content_encoding.is_some()),
            ("format", s.format.is_some()),
        ];
        let array = [
            ("items", s.items.is_some()),
            ("minItems", s.min_items.is_some()),
            ("maxItems", s.max_items.is_some()),
        ];
        let object = [
            ("properties", !s.properties.is_empty()),
            ("required", !s.required.is_empty()),
        ];
        let groups: [KeywordGroup<'_>; 4] = [
            (&numeric, &[SchemaType::Integer, SchemaType::Number]),
            (&string, &[SchemaType::String]),
            (&array, &[SchemaType::Array]),
            (&object, &[SchemaType::Object]),
        ];
        for (keywords, types) in groups {
            if types.contains(&ty) {
                continue;
            }
            for (keyword, present) in keywords {
                if *present {
                    let applies = types
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ");
                    self.error(
                        Rule::KeywordNotApplicable,
                        at.key(*keyword),
                        format!("`{keyword}` does not apply to type `{ty}`"),
                    )
                    .help = Some(format!("`{keyword}` is for {applies} schemas"));
                }
            }
        }
    }

    fn bounds(&mut self, s: &DataSchema, at: &IrPath) {
        use std::cmp::Ordering::{Equal, Greater};
        let pairs = [
            ("minimum", &s.minimum, "maximum", &s.maximum, false),
            (
                "exclusiveMinimum",
                &s.exclusive_minimum,
                "exclusiveMaximum",
                &s.exclusive_maximum,
                true,
            ),
            (
                "minimum",
                &s.minimum,
                "exclusiveMaximum",
                &s.exclusive_maximum,
                true,
            ),
            (
                "exclusiveMinimum",
                &s.exclusive_minimum,
                "maximum",
                &s.maximum,
                true,
            ),
        ];
        for (lo_name, lo, hi_name, hi, strict) in pairs {
            if let (Some(lo), Some(hi)) = (lo, hi) {
                let empty = match cmp_numbers(lo, hi) {
                    Some(Greater) => true,
                    Some(Equal) => strict,
                    _ => false,
                };
                if empty {
                    self.error(
                        Rule::EmptyRange,
                        at.key(hi_name),
                        format!(
                            "`{lo_name} = {lo}` is not below `{hi_name} = {hi}`: no value fits"
                        ),
                    );
                }
            }
        }
        let counts = [
            ("minLength", s.min_length, "maxLength", s.max_length),
            ("minItems", s.min_items, "maxItems", s.max_items),
        ];
        for (lo_name, lo, hi_name, hi) in counts {
            if let (Some(lo), Some(hi)) = (lo, hi)
                && lo > hi
            {
                self.error(
                    Rule::EmptyRange,
                    at.key(hi_name),
                    format!("`{lo_name} = {lo}` is greater than `{hi_name} = {hi}`: no value fits"),
                );
            }
        }
        if let Some(m) = &s.multiple_of
            && m.as_f64().is_none_or(|f| f <= 0.0 || !f.is_finite())
        {
            self.error(
                Rule::InvalidBound,
                at.key("multipleOf"),
                format!("`multipleOf = {m}` must be greater than 0"),
            );
        }
        if s.ty == Some(SchemaType::Integer) {
            for (name, bound) in [("minimum", &s.minimum), ("maximum", &s.maximum)] {
                if let Some(b) = bound
                    && !crate::value::is_integer(b)
                {
                    self.error(
                        Rule::InvalidBound,
                        at.key(name),
                        format!("`{name} = {b}` is not a whole number, but the type is integer"),
                    );
                }
            }
        }
    }

    /// `enum`, `const` and `default` must satisfy the rest of their own schema.
    fn schema_values(&mut self, s: &DataSchema, at: &IrPath) {
        if let Some(values) = &s.enumeration {
            let bare = DataSchema {
                enumeration: None,
                default: None,
                ..s.clone()
            };
            for (i, v) in values.iter().enumerate() {
                self.value_matches(&bare, v, &at.key("enum").index(i), "enum value");
            }
            for (i, v) in values.iter().enumerate() {
                if values[..i].iter().any(|w| crate::value::json_equal(v, w)) {
                    self.error(
                        Rule::ValueMismatch,
                        at.key("enum").index(i),
                        format!("enum value {v} is listed twice"),
                    );
                }
            }
        }
        if let Some(c) = &s.constant {
            let bare = DataSchema {
                constant: None,
                default: None,
                ..s.clone()
            };
            self.value_matches(&bare, c, &at.key("const"), "const");
        }
        if let Some(d) = &s.default {
            self.value_matches(s, d, &at.key("default"), "default");
        }
    }

    fn value_matches(&mut self, schema: &DataSchema, value: &Value, at: &IrPath, what: &str) {
        let compiled = Compiler::new(&self.def.types).compile(schema);
        if let Err(e) = compiled.check(value) {
            let place = if e.path.is_empty() {
                String::new()
            } else {
                format!(" at `{}`", e.path)
            };
            self.error(
                Rule::ValueMismatch,
                at.clone(),
                format!(
                    "{what} {value} does not match its schema{place}: {}",
                    e.violation
                ),
            );
        }
    }

    /// Reports each cycle of named types once, at the type where it is first entered.
    fn cycles(&mut self) {
        let types = &self.def.types;
        let mut reported: BTreeSet<String> = BTreeSet::new();
        for start in types.keys() {
            if reported.contains(start) {
                continue;
            }
            if let Some(cycle) = find_cycle(types, start) {
                let path = IrPath::of(["types", start.as_str()]);
                let shown = cycle.join(" -> ");
                self.error(
                    Rule::CyclicRef,
                    path,
                    format!("type `{start}` refers back to itself: {shown}"),
                )
                .help = Some(
                    "recursive types are not supported; break the cycle with an inline schema"
                        .into(),
                );
                reported.extend(cycle);
            }
        }
    }

    /// Generated names that would clash: methods of one thing, and generated types.
    fn collisions(&mut self) {
        let def = self.def;
        let mut methods: BTreeMap<String, IrPath> = BTreeMap::new();
        for reserved in naming::RESERVED_METHODS {
            methods.insert((*reserved).to_owned(), IrPath::root());
        }
        let mut claim = |this: &mut Self, name: String, at: IrPath, what: &str| {
            if let Some(first) = methods.get(&name) {
                let msg = if first.is_root() {
                    format!(
                        "{what} would generate method `{name}`, which every generated thing already has"
                    )
                } else {
                    format!("{what} would generate method `{name}`, which `{first}` generates too")
                };
                this.error(Rule::NameCollision, at, msg).help = Some("rename one of them".into());
            } else {
                methods.insert(name, at);
            }
        };
        for (name, a) in &def.attributes {
            let at = IrPath::of(["attributes", name.as_str()]);
            for m in naming::attribute_methods(name, a.history.is_some(), a.writable) {
                claim(self, m, at.clone(), &format!("attribute `{name}`"));
            }
        }
        for name in def.events.keys() {
            let at = IrPath::of(["events", name.as_str()]);
            for m in naming::event_methods(name) {
                claim(self, m, at.clone(), &format!("event `{name}`"));
            }
        }
        for name in def.actions.keys() {
            let at = IrPath::of(["actions", name.as_str()]);
            for m in naming::action_methods(name) {
                claim(self, m, at.clone(), &format!("action `{name}`"));
            }
        }

        let mut type_names: BTreeMap<String, IrPath> = BTreeMap::new();
        for reserved in ThingTypeNames::new(&def.thing.name).all() {
            type_names.insert(reserved.to_owned(), IrPath::of(["thing", "name"]));
        }
        for planned in type_plan(def) {
            if let Some(first) = type_names.get(&planned.name) {
                let msg = format!(
                    "this would generate type `{}`, which `{first}` generates too",
                    planned.name
                );
                self.error(Rule::NameCollision, planned.path.clone(), msg)
                    .help = Some("rename one of them".into());
            } else {
                type_names.insert(planned.name, planned.path);
            }
        }
    }
}

/// Keywords (with whether each is present) and the types they apply to.
type KeywordGroup<'a> = (&'a [(&'a str, bool)], &'a [SchemaType]);

/// Keywords other than annotations (which `ref` may carry).
fn constraint_keywords(s: &DataSchema) -> Vec<&'static str> {
    let present = [
        ("enum", s.enumeration.is_some()),
        ("const", s.constant.is_some()),
        ("format", s.format.is_some()),
        ("minimum", s.minimum.is_some()),
        ("maximum", s.maximum.is_some()),
        ("exclusiveMinimum", s.exclusive_minimum.is_some()),
        ("exclusiveMaximum", s.exclusive_maximum.is_some()),
        ("multipleOf", s.multiple_of.is_some()),
        ("minLength", s.min_length.is_some()),
        ("maxLength", s.max_length.is_some()),
        ("pattern", s.pattern.is_some()),
        ("items", s.items.is_some()),
        ("minItems", s.min_items.is_some()),
        ("maxItems", s.max_items.is_some()),
        ("properties", !s.properties.is_empty()),
        ("required", !s.required.is_empty()),
        ("oneOf", s.one_of.is_some()),
        ("contentMediaType", s.content_media_type.is_some()),
        ("contentEncoding", s.content_encoding.is_some()),
    ];
    present
        .into_iter()
        .filter(|(_, p)| *p)
        .map(|(k, _)| k)
        .collect()
}

fn quoted(keywords: &[&str]) -> String {
    keywords
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn known_list<'a>(what: &str, names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if names.is_empty() {
        format!("there are no {what}")
    } else {
        format!("{what}: {}", names.join(", "))
    }
}

/// The refs a schema makes, anywhere inside it.
fn refs_in<'a>(s: &'a DataSchema, out: &mut Vec<&'a str>) {
    if let Some(r) = &s.reference {
        out.push(r);
    }
    for (_, child) in s.children() {
        refs_in(child, out);
    }
}

/// A cycle through `start`, as the list of type names walked (`A -> B -> A`).
fn find_cycle(types: &BTreeMap<String, DataSchema>, start: &str) -> Option<Vec<String>> {
    fn walk<'a>(
        types: &'a BTreeMap<String, DataSchema>,
        start: &str,
        current: &'a str,
        trail: &mut Vec<&'a str>,
        visited: &mut BTreeSet<&'a str>,
    ) -> bool {
        let Some(schema) = types.get(current) else {
            return false;
        };
        let mut refs = Vec::new();
        refs_in(schema, &mut refs);
        for r in refs {
            if r == start {
                trail.push(r);
                return true;
            }
            if visited.insert(r) {
                trail.push(r);
                if walk(types, start, r, trail, visited) {
                    return true;
                }
                trail.pop();
            }
        }
        false
    }
    let (key, _) = types.get_key_value(start)?;
    let mut trail = vec![key.as_str()];
    let mut visited = BTreeSet::new();
    walk(types, start, key, &mut trail, &mut visited)
        .then(|| trail.into_iter().map(str::to_owned).collect())
}

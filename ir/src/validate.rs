//! The checks every definition goes through, whichever front end built it.
//!
//! All problems are collected (never just the first), in a deterministic order, each with the
//! [`IrPath`] of the offending part.
//!
//! A definition may come from the network, so the checks are bounded: the [`Limits`] are
//! checked first (the cheap counts before anything else), and every walk is iterative (explicit
//! stacks, no recursion that grows with the input) and linear in the definition's size: `ref`s
//! are resolved once into a [`Graph`], and cycles and depths are computed on it once.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use crate::definition::{AttributeKind, Definition};
use crate::diagnostic::{Diagnostic, Rule};
use crate::graph::Graph;
use crate::limits::{Limit, LimitExceeded, Limits};
use crate::naming::{self, ThingTypeNames};
use crate::path::IrPath;
use crate::schema::{ChildKey, DataSchema, SchemaType, cmp_numbers};
use crate::types::type_plan;
use crate::value::{CompiledSchema, Compiler};

/// The largest `history` we accept: the ring buffer lives in the device's memory.
pub const MAX_HISTORY: u64 = 100_000;

/// How many declared types an unknown-ref diagnostic lists before it stops.
const KNOWN_LIST_MAX: usize = 16;

pub(crate) fn validate(def: &Definition, limits: &Limits) -> Vec<Diagnostic> {
    validate_counting(def, limits).0
}

/// Validates and counts the work done (schema nodes visited, edges followed, values keyed),
/// so tests can show the checks are linear without timing them.
pub(crate) fn validate_counting(def: &Definition, limits: &Limits) -> (Vec<Diagnostic>, u64) {
    let mut work = 0;
    let exceeded = counts(def, limits);
    if !exceeded.is_empty() {
        return (exceeded, work);
    }
    let graph = Graph::of(def, &mut work);
    if let Some(d) = depth(def, &graph, limits, &mut work) {
        return (vec![d], work);
    }
    if let Some(d) = bytes(def, limits) {
        return (vec![d], work);
    }
    let mut c = Checker {
        def,
        out: Vec::new(),
        graph,
        compiler: Compiler::new(&def.types),
        work,
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
    let work = c.work.saturating_add(c.compiler.steps());
    (c.out, work)
}

fn limit_error(path: IrPath, what: &str, e: LimitExceeded) -> Diagnostic {
    let help = match e.limit {
        Limit::Bytes => "a definition is at most this large, from a file or from the network",
        Limit::Types => "share named types between payloads, or split the thing",
        Limit::Affordances => "split the thing into several things",
        Limit::Depth => {
            "flatten the schema: nested objects and chains of `ref` both count as levels"
        }
    };
    Diagnostic::error(Rule::LimitExceeded, path, format!("{what} {e}")).with_help(help)
}

/// The limits that cost nothing to check: the number of types and of affordances.
fn counts(def: &Definition, limits: &Limits) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if def.types.len() > limits.types {
        // Point at the first type over the limit: that is where the file has too many.
        let at = def.types.keys().nth(limits.types).map_or_else(
            || IrPath::of(["types"]),
            |n| IrPath::of(["types", n.as_str()]),
        );
        let e = LimitExceeded {
            limit: Limit::Types,
            value: def.types.len(),
            max: limits.types,
        };
        out.push(limit_error(at, "the definition has", e));
    }
    let affordances = def
        .attributes
        .len()
        .saturating_add(def.events.len())
        .saturating_add(def.actions.len());
    if affordances > limits.affordances {
        let names = (def.attributes.keys().map(|n| ("attributes", n)))
            .chain(def.events.keys().map(|n| ("events", n)))
            .chain(def.actions.keys().map(|n| ("actions", n)));
        let at = names
            .clone()
            .nth(limits.affordances)
            .map_or_else(IrPath::root, |(t, n)| IrPath::of([t, n.as_str()]));
        let e = LimitExceeded {
            limit: Limit::Affordances,
            value: affordances,
            max: limits.affordances,
        };
        out.push(limit_error(at, "the definition has", e));
    }
    out
}

/// The first payload or named type nested deeper than the limit, refs followed.
fn depth(
    def: &Definition,
    graph: &Graph<'_>,
    limits: &Limits,
    work: &mut u64,
) -> Option<Diagnostic> {
    let heights = graph.heights(work);
    let over = |depth: usize, at: IrPath| {
        (depth > limits.depth).then(|| {
            let e = LimitExceeded {
                limit: Limit::Depth,
                value: depth,
                max: limits.depth,
            };
            limit_error(at, "this schema has", e)
        })
    };
    for (i, name) in graph.names.iter().enumerate() {
        let h = heights.get(i).copied().unwrap_or_default();
        if let Some(d) = over(h, IrPath::of(["types", *name])) {
            return Some(d);
        }
    }
    for (at, schema) in payloads(def) {
        let h = graph.height_of(schema, &heights, work);
        if let Some(d) = over(h, at) {
            return Some(d);
        }
    }
    None
}

/// Every payload schema of the definition with its path, in declaration order.
fn payloads(def: &Definition) -> impl Iterator<Item = (IrPath, &DataSchema)> {
    let attributes = def
        .attributes
        .iter()
        .map(|(n, a)| (IrPath::of(["attributes", n.as_str()]), &a.schema));
    let events = def.events.iter().filter_map(|(n, e)| {
        let at = IrPath::of(["events", n.as_str(), "data"]);
        e.data.as_ref().map(|d| (at, d))
    });
    let actions = def.actions.iter().flat_map(|(n, a)| {
        let at = IrPath::of(["actions", n.as_str()]);
        let input = a.input.as_ref().map(|s| (at.key("input"), s));
        let output = a.output.as_ref().map(|s| (at.key("output"), s));
        input.into_iter().chain(output)
    });
    attributes.chain(events).chain(actions)
}

/// The definition's compact JSON encoding over the byte limit. Only run once the depth is
/// known to be bounded: serialization recurses through nested schemas.
fn bytes(def: &Definition, limits: &Limits) -> Option<Diagnostic> {
    struct Count {
        n: usize,
        max: usize,
    }
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.n = self.n.saturating_add(buf.len());
            if self.n > self.max {
                // Stop serializing: the answer is known.
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count {
        n: 0,
        max: limits.bytes,
    };
    let _ = serde_json::to_writer(&mut count, def);
    (count.n > limits.bytes).then(|| {
        let e = LimitExceeded {
            limit: Limit::Bytes,
            value: count.n,
            max: limits.bytes,
        };
        limit_error(
            IrPath::root(),
            "the definition's JSON encoding has at least",
            e,
        )
    })
}

/// The path of a nested schema.
fn child_path(at: &IrPath, key: ChildKey<'_>) -> IrPath {
    match key {
        ChildKey::Items => at.key("items"),
        ChildKey::Property(p) => at.key("properties").key(p),
        ChildKey::OneOf(i) => at.key("oneOf").index(i),
        ChildKey::AdditionalProperties => at.key("additionalProperties"),
    }
}

struct Checker<'a> {
    def: &'a Definition,
    out: Vec<Diagnostic>,
    graph: Graph<'a>,
    /// One compiler for every value checked: named types are compiled once.
    compiler: Compiler<'a>,
    work: u64,
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
                    let compiled = self.compiler.compile(&attr.schema);
                    self.value_matches(&compiled, value, &at.key("value"), "value")
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
    fn schema(&mut self, root: &DataSchema, at: &IrPath) {
        // An explicit stack, popped in pre-order: diagnostics come out in the order a
        // recursive walk would give, without recursion that grows with the input.
        let mut stack = vec![(root, at.clone())];
        while let Some((s, at)) = stack.pop() {
            self.work += 1;
            self.schema_node(s, &at);
            let start = stack.len();
            stack.extend(s.children().map(|(key, c)| (c, child_path(&at, key))));
            if let Some(pushed) = stack.get_mut(start..) {
                pushed.reverse();
            }
        }
    }

    /// Checks one schema, not what is nested in it.
    fn schema_node(&mut self, s: &DataSchema, at: &IrPath) {
        self.schema_shape(s, at);
        self.bounds(s, at);
        if let Some(p) = &s.pattern
            && let Err(text) = self.compiler.pattern(p)
        {
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
        if s.any_value {
            let mut shaped: Vec<&str> = Vec::new();
            for (k, present) in [
                ("type", s.ty.is_some()),
                ("oneOf", s.one_of.is_some()),
                ("enum", s.enumeration.is_some()),
                ("const", s.constant.is_some()),
            ] {
                if present {
                    shaped.push(k);
                }
            }
            if !shaped.is_empty() {
                self.error(
                    Rule::IncompleteSchema,
                    at.key("anyValue"),
                    format!("`anyValue` cannot be combined with {}", quoted(&shaped)),
                )
                .help = Some("`anyValue = true` means any JSON value: drop one of them".into());
            }
            return;
        }
        let Some(ty) = s.ty else {
            if s.one_of.is_none() && s.enumeration.is_none() && s.constant.is_none() {
                self.error(Rule::IncompleteSchema, at.clone(), "the schema has no `type`")
                    .help = Some("add `type = \"...\"` (boolean, integer, number, string, object, array, null), `ref = \"TypeName\"`, or `anyValue = true` for any JSON value".into());
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
            ("additionalProperties", s.additional_properties.is_some()),
        ];
        if ty == SchemaType::Object
            && s.additional_properties.is_some()
            && (!s.properties.is_empty() || !s.required.is_empty())
        {
            self.error(
                Rule::KeywordNotApplicable,
                at.key("additionalProperties"),
                "`additionalProperties` cannot be combined with `properties` or `required`",
            )
            .help = Some(
                "an object is either a struct (`properties`) or an open map \
                 (`additionalProperties`): nest the map in a property"
                    .into(),
            );
        }
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
            // Compiled once for every value: an enum may list many.
            let compiled = self.compiler.compile(&bare);
            for (i, v) in values.iter().enumerate() {
                self.value_matches(&compiled, v, &at.key("enum").index(i), "enum value");
            }
            // Equal values have equal keys, so duplicates are found in one pass.
            let mut seen = HashSet::new();
            for (i, v) in values.iter().enumerate() {
                self.work += 1;
                if !seen.insert(equality_key(v)) {
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
            let compiled = self.compiler.compile(&bare);
            self.value_matches(&compiled, c, &at.key("const"), "const");
        }
        if let Some(d) = &s.default {
            let compiled = self.compiler.compile(s);
            self.value_matches(&compiled, d, &at.key("default"), "default");
        }
    }

    fn value_matches(&mut self, compiled: &CompiledSchema, value: &Value, at: &IrPath, what: &str) {
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

    /// Reports each group of types that refer to each other in a circle once, at its first
    /// type, with the first cycle found from there. One pass over the refs, however many types.
    fn cycles(&mut self) {
        let (component, cyclic) = self.graph.components(&mut self.work);
        let mut reported = vec![false; cyclic.len()];
        for start in 0..self.graph.names.len() {
            let Some(&c) = component.get(start) else {
                continue;
            };
            if cyclic.get(c) != Some(&true) || reported.get(c) != Some(&false) {
                continue;
            }
            if let Some(r) = reported.get_mut(c) {
                *r = true;
            }
            let cycle = self.graph.cycle_through(start, &component, &mut self.work);
            let names: Vec<&str> = cycle
                .iter()
                .filter_map(|&i| self.graph.names.get(i).copied())
                .collect();
            let Some(&name) = names.first() else {
                continue;
            };
            let shown = names.join(" -> ");
            self.error(
                Rule::CyclicRef,
                IrPath::of(["types", name]),
                format!("type `{name}` refers back to itself: {shown}"),
            )
            .help = Some(
                "recursive types are not supported; break the cycle with an inline schema".into(),
            );
        }
    }

    /// Generated names that would clash: methods of one thing, and generated types.
    fn collisions(&mut self) {
        let def = self.def;
        let mut methods: BTreeMap<String, IrPath> = BTreeMap::new();
        let mut claim = |this: &mut Self, name: String, at: IrPath, what: &str| {
            if let Some(first) = methods.get(&name) {
                let msg =
                    format!("{what} would generate method `{name}`, which `{first}` generates too");
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
        ("additionalProperties", s.additional_properties.is_some()),
        ("oneOf", s.one_of.is_some()),
        ("anyValue", s.any_value),
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

fn known_list<'a>(what: &str, names: impl ExactSizeIterator<Item = &'a String>) -> String {
    let total = names.len();
    let names: Vec<String> = names
        .take(KNOWN_LIST_MAX)
        .map(|n| format!("`{n}`"))
        .collect();
    if names.is_empty() {
        format!("there are no {what}")
    } else if total > names.len() {
        format!(
            "{what}: {} and {} more",
            names.join(", "),
            total - names.len()
        )
    } else {
        format!("{what}: {}", names.join(", "))
    }
}

/// A text equal for values that `enum` treats as equal (`1` and `1.0` alike): numbers with an
/// integer value are written as that integer, other numbers by their `f64` bits, object
/// members sorted. Built with an explicit stack: values nest as deep as their source allows.
fn equality_key(v: &Value) -> String {
    enum Item<'v> {
        Value(&'v Value),
        Key(&'v str),
        Text(&'static str),
    }
    let mut out = String::new();
    let mut stack = vec![Item::Value(v)];
    while let Some(item) = stack.pop() {
        let v = match item {
            Item::Text(t) => {
                out.push_str(t);
                continue;
            }
            Item::Key(k) => {
                push_string_key(&mut out, k);
                continue;
            }
            Item::Value(v) => v,
        };
        match v {
            Value::Null => out.push('n'),
            Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
            Value::Number(n) => out.push_str(&number_key(n)),
            Value::String(s) => push_string_key(&mut out, s),
            Value::Array(items) => {
                out.push('[');
                stack.push(Item::Text("]"));
                stack.extend(items.iter().rev().map(Item::Value));
            }
            Value::Object(map) => {
                let mut members: Vec<(&String, &Value)> = map.iter().collect();
                members.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                stack.push(Item::Text("}"));
                for (k, v) in members.into_iter().rev() {
                    stack.push(Item::Value(v));
                    stack.push(Item::Key(k));
                }
            }
        }
    }
    out
}

/// A string, length first so that no string can end early inside another key.
fn push_string_key(out: &mut String, s: &str) {
    out.push('s');
    out.push_str(&s.len().to_string());
    out.push(':');
    out.push_str(s);
}

/// Equal for numbers `json_equal` calls equal: whole numbers exactly, others by their bits.
fn number_key(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return format!("i{i}");
    }
    if let Some(u) = n.as_u64() {
        return format!("i{u}");
    }
    match n.as_f64() {
        // A whole float below 2^127 converts to i128 exactly.
        Some(f) if f.fract() == 0.0 && f.abs() < 1.0e38 => format!("i{}", f as i128),
        Some(f) => format!("f{}", f.to_bits()),
        None => format!("r{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `n` named types built by `schema(i, n)`, used by one attribute.
    fn types(n: usize, schema: impl Fn(usize, usize) -> Value) -> Definition {
        let types: serde_json::Map<String, Value> =
            (0..n).map(|i| (format!("T{i}"), schema(i, n))).collect();
        serde_json::from_value(json!({
            "thing": {"name": "Scale", "version": "1.0.0"},
            "types": types,
            "attributes": {"level": {"ref": "T0"}},
        }))
        .unwrap()
    }

    fn work(def: &Definition) -> u64 {
        let (_, work) = validate_counting(def, &Limits::UNLIMITED);
        work
    }

    /// Eight times the input costs at most a little over eight times the work: linear, and
    /// measured without a clock.
    fn assert_linear(build: impl Fn(usize) -> Definition) {
        let small = work(&build(1_000));
        let large = work(&build(8_000));
        assert!(small > 1_000, "the counter counts nothing: {small}");
        assert!(
            large * 10 <= small * 85,
            "8x the input took {large} steps against {small}: not linear"
        );
    }

    fn next(i: usize, n: usize) -> String {
        format!("T{}", (i + 1) % n)
    }

    #[test]
    fn a_ref_chain_is_checked_in_linear_work() {
        assert_linear(|n| {
            types(n, |i, n| {
                if i + 1 < n {
                    json!({"ref": next(i, n)})
                } else {
                    json!({"type": "integer"})
                }
            })
        });
    }

    #[test]
    fn a_ref_cycle_is_found_in_linear_work() {
        let def = types(1_000, |i, n| json!({"ref": next(i, n)}));
        let (out, _) = validate_counting(&def, &Limits::UNLIMITED);
        assert_eq!(out.iter().filter(|d| d.rule == Rule::CyclicRef).count(), 1);
        assert_linear(|n| types(n, |i, n| json!({"ref": next(i, n)})));
    }

    #[test]
    fn many_small_cycles_are_found_in_linear_work() {
        // Pairs that refer to each other: one report, and one short walk, per pair.
        let pairs = |n| types(n, |i, _| json!({"ref": format!("T{}", i ^ 1)}));
        let (out, _) = validate_counting(&pairs(100), &Limits::UNLIMITED);
        assert_eq!(out.iter().filter(|d| d.rule == Rule::CyclicRef).count(), 50);
        assert_linear(pairs);
    }

    #[test]
    fn a_ladder_of_shared_refs_is_not_walked_once_per_path() {
        // Every type refers to the next twice: 2^n paths, each type's depth computed once.
        let ladder = |n| {
            types(n, |i, n| {
                if i + 1 < n {
                    json!({"type": "object", "properties": {
                        "a": {"ref": next(i, n)}, "b": {"ref": next(i, n)}}})
                } else {
                    json!({"type": "integer"})
                }
            })
        };
        assert_linear(ladder);
    }

    #[test]
    fn a_long_enum_is_checked_for_duplicates_in_linear_work() {
        let def = |n: usize| {
            let mut values: Vec<Value> = (0..n).map(|i| json!(i)).collect();
            values.push(json!(1.0));
            serde_json::from_value::<Definition>(json!({
                "thing": {"name": "Scale", "version": "1.0.0"},
                "attributes": {"level": {"type": "number", "enum": values}},
            }))
            .unwrap()
        };
        let (out, _) = validate_counting(&def(10), &Limits::UNLIMITED);
        let dupes: Vec<String> = out.iter().map(|d| d.path.to_string()).collect();
        assert_eq!(dupes, ["attributes.level.enum[10]"]);
        assert_linear(def);
    }

    #[test]
    fn equality_keys_follow_json_equal() {
        let same = [
            (json!(1), json!(1.0)),
            (json!(-0.0), json!(0)),
            (
                json!({"a": [1, "x"], "b": null}),
                json!({"b": null, "a": [1.0, "x"]}),
            ),
            (json!(1e20), json!(100000000000000000000u128 as f64)),
        ];
        for (a, b) in same {
            assert!(crate::value::json_equal(&a, &b));
            assert_eq!(equality_key(&a), equality_key(&b), "{a} {b}");
        }
        let different = [
            (json!(1), json!(1.5)),
            (json!("ab"), json!(["ab"])),
            (json!(["a", "b"]), json!(["ab"])),
            (json!({"a": 1}), json!({"a": 1, "b": 1})),
            (json!(true), json!(1)),
        ];
        for (a, b) in different {
            assert_ne!(equality_key(&a), equality_key(&b), "{a} {b}");
        }
    }

    #[test]
    fn each_distinct_pattern_is_compiled_once() {
        let def: Definition = serde_json::from_value(json!({
            "thing": {"name": "Patterns", "version": "1.0.0"},
            "attributes": {
                "a": {"type": "string", "pattern": "^[a-z]+$", "default": "abc"},
                "b": {"type": "string", "pattern": "^[a-z]+$", "enum": ["x", "y"]},
                "huge": {"type": "string", "pattern": "\\w{1000}{1000}"},
            },
        }))
        .unwrap();
        let mut c = Checker {
            def: &def,
            out: Vec::new(),
            graph: Graph::of(&def, &mut 0),
            compiler: Compiler::new(&def.types),
            work: 0,
        };
        c.attributes();
        assert_eq!(c.compiler.patterns_compiled(), 2);
        let rules: Vec<(Rule, String)> =
            c.out.iter().map(|d| (d.rule, d.path.to_string())).collect();
        assert_eq!(
            rules,
            [(Rule::InvalidPattern, "attributes.huge.pattern".into())]
        );
        assert!(
            c.out[0].message.contains("size limit"),
            "{}",
            c.out[0].message
        );
    }

    #[test]
    fn unknown_ref_help_lists_a_bounded_number_of_types() {
        let def = types(100, |i, _| {
            if i == 0 {
                json!({"ref": "Nope"})
            } else {
                json!({"type": "integer"})
            }
        });
        let out = validate(&def, &Limits::DEFAULT);
        let help = out
            .iter()
            .find(|d| d.rule == Rule::UnknownRef)
            .and_then(|d| d.help.clone())
            .unwrap();
        assert!(help.ends_with(" and 84 more"), "{help}");
    }
}

//! Lowering: a hand-written walk over the spanned TOML tree that builds the IR, reports every
//! unknown key and wrongly typed value, and records where each IR path is written.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use safething_ir::{
    Access, Action, Attribute, AttributeKind, DataSchema, Definition, Diagnostic, Event, IrPath,
    Rule, SchemaType, ThingInfo, Timeout, UnknownAccess,
};
use serde_json::{Map, Number, Value};
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::keys::{self, Place};
use super::source_map::{SourceMap, Spans};

type Val<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;

/// A problem the front end found, with the source span it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong (path, rule, message, help).
    pub diagnostic: Diagnostic,
    /// Where, as a byte range of the source.
    pub span: Range<usize>,
}

/// The result of lowering one TOML document.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lowering {
    pub definition: Definition,
    pub source_map: SourceMap,
    pub problems: Vec<Problem>,
    /// Paths whose IR content is a stand-in for something the front end rejected: validation
    /// diagnostics there would only repeat the front end's error.
    pub poisoned: BTreeSet<IrPath>,
}

/// Lowers a parsed document. `complete` is false when the document had syntax errors: then
/// required keys may be missing only because the parser skipped them, and are not reported.
pub(crate) fn lower(root: &DeTable<'_>, complete: bool) -> Lowering {
    let mut l = Lowerer {
        out: Lowering::default(),
        complete,
    };
    l.out.definition = l.root(root);
    l.out
}

struct Lowerer {
    out: Lowering,
    complete: bool,
}

/// Keys whose rejection leaves their schema incomplete (so "no `type`" would be a repeat).
const SHAPE_KEYS: &[&str] = &["type", "ref", "enum", "const", "oneOf", "anyValue"];

fn name_of<'a>(k: &'a Key<'_>) -> &'a str {
    k.get_ref().as_ref()
}

fn found(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl Lowerer {
    fn record(&mut self, path: &IrPath, key: Option<&Key<'_>>, value: &Val<'_>) {
        self.out.source_map.insert(
            path.clone(),
            Spans {
                key: key.map(Spanned::span),
                value: value.span(),
                is_table: value.get_ref().is_table(),
            },
        );
    }

    fn report(
        &mut self,
        rule: Rule,
        path: &IrPath,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let mut diagnostic = Diagnostic::error(rule, path.clone(), message);
        diagnostic.help = help;
        self.out.poisoned.insert(path.clone());
        self.out.problems.push(Problem { diagnostic, span });
    }

    fn poison(&mut self, path: IrPath) {
        self.out.poisoned.insert(path);
    }

    fn unknown_key(&mut self, key: &Key<'_>, table: &IrPath, place: Place) {
        let name = name_of(key);
        let message = format!("unknown key `{name}` {}", place.describe());
        let help = keys::hint(name, place);
        let diagnostic =
            Diagnostic::error(Rule::UnknownKey, table.key(name), message).with_help(help);
        self.out.problems.push(Problem {
            diagnostic,
            span: key.span(),
        });
    }

    fn wrong_type(
        &mut self,
        path: &IrPath,
        key: &str,
        value: &Val<'_>,
        expected: &str,
        help: Option<String>,
    ) {
        let message = format!(
            "`{key}` must be {expected}, found {}",
            found(value.get_ref())
        );
        self.report(Rule::WrongType, path, value.span(), message, help);
    }

    fn missing(&mut self, table: &IrPath, key: &str, help: &str) {
        let path = table.key(key);
        self.poison(path.clone());
        if !self.complete {
            return;
        }
        let span = self
            .out
            .source_map
            .nearest(table)
            .map_or(0..0, Spans::primary);
        let what = if table.is_root() {
            format!("missing the `[{key}]` table")
        } else {
            format!("`[{table}]` is missing the required key `{key}`")
        };
        self.report(Rule::MissingKey, &path, span, what, Some(help.to_owned()));
    }

    // ---- tables --------------------------------------------------------------------------

    fn root(&mut self, t: &DeTable<'_>) -> Definition {
        let mut def = Definition::default();
        let mut saw_thing = false;
        let root = IrPath::root();
        for (k, v) in t.iter() {
            let name = name_of(k);
            let p = root.key(name);
            self.record(&p, Some(k), v);
            match name {
                "thing" => {
                    saw_thing = true;
                    match self.table(v, &p, "thing", "a table") {
                        Some(t) => def.thing = self.thing(t, &p),
                        None => {
                            self.poison(p.key("name"));
                            self.poison(p.key("version"));
                        }
                    }
                }
                "types" => {
                    def.types = self.named(v, &p, |l, t, at| l.schema_table(t, at));
                }
                "attributes" => {
                    def.attributes = self.named(v, &p, |l, t, at| l.attribute(t, at));
                }
                "events" => def.events = self.named(v, &p, |l, t, at| l.event(t, at)),
                "actions" => def.actions = self.named(v, &p, |l, t, at| l.action(t, at)),
                _ => self.unknown_key(k, &root, Place::Root),
            }
        }
        if !saw_thing {
            let thing = root.key("thing");
            self.poison(thing.clone());
            self.poison(thing.key("version"));
            self.missing(
                &root,
                "thing",
                "start the file with `[thing]`, its `name` (PascalCase) and `version` (semver)",
            );
            self.poison(thing.key("name"));
        }
        def
    }

    /// A table of named entries (`[attributes.x]`, `[types.X]`, `properties.x`).
    fn named<T: Default>(
        &mut self,
        v: &Val<'_>,
        p: &IrPath,
        mut each: impl FnMut(&mut Self, &DeTable<'_>, &IrPath) -> T,
    ) -> BTreeMap<String, T> {
        let mut out = BTreeMap::new();
        let what = match p.segments().last() {
            Some(safething_ir::Segment::Key(k)) => k.clone(),
            _ => String::new(),
        };
        let Some(t) = self.table(v, p, &what, "a table of named entries") else {
            return out;
        };
        for (k, v) in t.iter() {
            let name = name_of(k);
            let at = p.key(name);
            self.record(&at, Some(k), v);
            let help = if what == "properties" {
                format!("write `properties.{name} = {{ type = \"...\" }}`")
            } else {
                format!("write `[{p}.{name}]` and its keys below it")
            };
            let value = match v.get_ref() {
                DeValue::Table(t) => each(self, t, &at),
                _ => {
                    self.wrong_type(&at, name, v, "a table", Some(help));
                    T::default()
                }
            };
            out.insert(name.to_owned(), value);
        }
        out
    }

    fn table<'a, 'i>(
        &mut self,
        v: &'a Val<'i>,
        p: &IrPath,
        key: &str,
        expected: &str,
    ) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(p, key, v, expected, None);
                None
            }
        }
    }

    fn thing(&mut self, t: &DeTable<'_>, p: &IrPath) -> ThingInfo {
        let mut info = ThingInfo::default();
        let (mut has_name, mut has_version) = (false, false);
        for (k, v) in t.iter() {
            let name = name_of(k);
            let kp = p.key(name);
            self.record(&kp, Some(k), v);
            match name {
                "name" => {
                    has_name = true;
                    info.name = self.string(v, &kp, name).unwrap_or_default();
                }
                "title" => info.title = self.string(v, &kp, name),
                "description" => info.description = self.string(v, &kp, name),
                "version" => {
                    has_version = true;
                    info.version = match v.get_ref() {
                        DeValue::Integer(_) | DeValue::Float(_) => {
                            let help = format!(
                                "quote it as a semantic version: `version = \"{}\"`",
                                semver_guess(&v.get_ref().to_string_lossy())
                            );
                            self.wrong_type(&kp, name, v, "a string", Some(help));
                            String::new()
                        }
                        _ => self.string(v, &kp, name).unwrap_or_default(),
                    };
                }
                _ => self.unknown_key(k, p, Place::Thing),
            }
        }
        if !has_name {
            self.missing(
                p,
                "name",
                "add `name = \"MyThing\"`: generated type names derive from it",
            );
        }
        if !has_version {
            self.missing(p, "version", "add `version = \"1.0.0\"`");
        }
        info
    }

    fn attribute(&mut self, t: &DeTable<'_>, p: &IrPath) -> Attribute {
        let mut a = Attribute::default();
        for (k, v) in t.iter() {
            let name = name_of(k);
            let kp = p.key(name);
            self.record(&kp, Some(k), v);
            match name {
                "kind" => match self.string(v, &kp, name).as_deref() {
                    Some("static") => a.kind = AttributeKind::Static,
                    Some("dynamic") => a.kind = AttributeKind::Dynamic,
                    Some(other) => {
                        let help = match keys::closest(other, &["static", "dynamic"]) {
                            Some(close) => format!("did you mean `{close}`?"),
                            None => "use `static` or `dynamic`".to_owned(),
                        };
                        let msg = format!("unknown attribute kind `{other}`");
                        self.report(Rule::WrongType, &kp, v.span(), msg, Some(help));
                        self.poison(p.key("value"));
                    }
                    None => self.poison(p.key("value")),
                },
                "value" => {
                    a.value = self.json(v, &kp);
                    if a.value.is_none() {
                        self.poison(p.key("kind"));
                    }
                }
                "access" => a.access = self.access(v, &kp),
                "history" => a.history = self.count(v, &kp, name, Rule::InvalidHistory),
                "writable" => a.writable = self.boolean(v, &kp, name).unwrap_or_default(),
                "wot_name" => a.wot_name = self.string(v, &kp, name),
                _ => {
                    if !self.schema_keyword(&mut a.schema, k, v, p) {
                        self.unknown_key(k, p, Place::Attribute);
                    }
                }
            }
        }
        a
    }

    fn event(&mut self, t: &DeTable<'_>, p: &IrPath) -> Event {
        let mut e = Event::default();
        for (k, v) in t.iter() {
            let name = name_of(k);
            let kp = p.key(name);
            self.record(&kp, Some(k), v);
            match name {
                "title" => e.title = self.string(v, &kp, name),
                "description" => e.description = self.string(v, &kp, name),
                "data" => e.data = self.schema_value(v, &kp, name),
                "access" => e.access = self.access(v, &kp),
                "wot_name" => e.wot_name = self.string(v, &kp, name),
                _ => self.unknown_key(k, p, Place::Event),
            }
        }
        e
    }

    fn action(&mut self, t: &DeTable<'_>, p: &IrPath) -> Action {
        let mut a = Action::default();
        for (k, v) in t.iter() {
            let name = name_of(k);
            let kp = p.key(name);
            self.record(&kp, Some(k), v);
            match name {
                "title" => a.title = self.string(v, &kp, name),
                "description" => a.description = self.string(v, &kp, name),
                "input" => a.input = self.schema_value(v, &kp, name),
                "output" => a.output = self.schema_value(v, &kp, name),
                "timeout" => {
                    a.timeout = match v.get_ref() {
                        DeValue::String(s) => Some(Timeout(s.to_string())),
                        DeValue::Integer(i) => {
                            let help = format!(
                                "write a duration with its unit, e.g. `timeout = \"{}s\"`",
                                i.as_str()
                            );
                            self.wrong_type(&kp, name, v, "a duration string", Some(help));
                            None
                        }
                        _ => {
                            let help = "write e.g. `timeout = \"30s\"` or `\"500ms\"`".to_owned();
                            self.wrong_type(&kp, name, v, "a duration string", Some(help));
                            None
                        }
                    }
                }
                "access" => a.access = self.access(v, &kp),
                "safe" => a.safe = self.boolean(v, &kp, name).unwrap_or_default(),
                "idempotent" => a.idempotent = self.boolean(v, &kp, name).unwrap_or_default(),
                "wot_name" => a.wot_name = self.string(v, &kp, name),
                _ => self.unknown_key(k, p, Place::Action),
            }
        }
        a
    }

    // ---- data schemas ----------------------------------------------------------------------

    /// A schema written as the value of `key` (`data`, `input`, `items`, ...).
    fn schema_value(&mut self, v: &Val<'_>, p: &IrPath, key: &str) -> Option<DataSchema> {
        match v.get_ref() {
            DeValue::Table(t) => Some(self.schema_table(t, p)),
            DeValue::String(s) if SchemaType::parse(s).is_some() => {
                let help = format!("write `{key} = {{ type = \"{s}\" }}`");
                self.wrong_type(p, key, v, "a data schema (a table)", Some(help));
                None
            }
            DeValue::String(s) => {
                let help = format!("to use a named type, write `{key} = {{ ref = \"{s}\" }}`");
                self.wrong_type(p, key, v, "a data schema (a table)", Some(help));
                None
            }
            _ => {
                self.wrong_type(p, key, v, "a data schema (a table)", None);
                None
            }
        }
    }

    fn schema_table(&mut self, t: &DeTable<'_>, p: &IrPath) -> DataSchema {
        let mut s = DataSchema::default();
        for (k, v) in t.iter() {
            let kp = p.key(name_of(k));
            self.record(&kp, Some(k), v);
            if !self.schema_keyword(&mut s, k, v, p) {
                self.unknown_key(k, p, Place::Schema);
            }
        }
        s
    }

    /// Lowers one schema keyword into `s` (at path `p`); false when `key` is not one.
    fn schema_keyword(
        &mut self,
        s: &mut DataSchema,
        key: &Key<'_>,
        v: &Val<'_>,
        p: &IrPath,
    ) -> bool {
        let name = name_of(key);
        let kp = p.key(name);
        let problems_before = self.out.problems.len();
        match name {
            "type" => s.ty = self.schema_type(v, &kp, p),
            "ref" => s.reference = self.string(v, &kp, name),
            "title" => s.title = self.string(v, &kp, name),
            "description" => s.description = self.string(v, &kp, name),
            "unit" => s.unit = self.string(v, &kp, name),
            "format" => s.format = self.string(v, &kp, name),
            "pattern" => s.pattern = self.string(v, &kp, name),
            "contentMediaType" => s.content_media_type = self.string(v, &kp, name),
            "contentEncoding" => s.content_encoding = self.string(v, &kp, name),
            "wotName" => s.wot_name = self.string(v, &kp, name),
            "enum" => s.enumeration = self.values(v, &kp),
            "const" => s.constant = self.json(v, &kp),
            "default" => s.default = self.json(v, &kp),
            "minimum" => s.minimum = self.number(v, &kp, name),
            "maximum" => s.maximum = self.number(v, &kp, name),
            "exclusiveMinimum" => s.exclusive_minimum = self.number(v, &kp, name),
            "exclusiveMaximum" => s.exclusive_maximum = self.number(v, &kp, name),
            "multipleOf" => s.multiple_of = self.number(v, &kp, name),
            "minLength" => s.min_length = self.count(v, &kp, name, Rule::InvalidBound),
            "maxLength" => s.max_length = self.count(v, &kp, name, Rule::InvalidBound),
            "minItems" => s.min_items = self.count(v, &kp, name, Rule::InvalidBound),
            "maxItems" => s.max_items = self.count(v, &kp, name, Rule::InvalidBound),
            "items" => s.items = self.items(v, &kp).map(Box::new),
            "properties" => {
                s.properties = self.named(v, &kp, |l, t, at| l.schema_table(t, at));
            }
            "required" => s.required = self.required(v, &kp),
            "additionalProperties" => {
                s.additional_properties = self.schema_value(v, &kp, name).map(Box::new);
            }
            "oneOf" => s.one_of = self.one_of(v, &kp),
            "readOnly" => s.read_only = self.boolean(v, &kp, name),
            "anyValue" => s.any_value = self.boolean(v, &kp, name).unwrap_or_default(),
            "writeOnly" => s.write_only = self.boolean(v, &kp, name),
            _ => return false,
        }
        if self.out.problems.len() > problems_before && SHAPE_KEYS.contains(&name) {
            self.poison(p.clone());
        }
        true
    }

    fn schema_type(&mut self, v: &Val<'_>, kp: &IrPath, schema: &IrPath) -> Option<SchemaType> {
        let help = matches!(v.get_ref(), DeValue::Array(_))
            .then(|| "a schema has one type; for alternatives use `oneOf`".to_owned());
        let DeValue::String(t) = v.get_ref() else {
            self.wrong_type(kp, "type", v, "a string", help);
            return None;
        };
        if let Some(ty) = SchemaType::parse(t) {
            return Some(ty);
        }
        let names: Vec<&str> = SchemaType::ALL.iter().map(|t| t.as_str()).collect();
        let alias = match t.to_ascii_lowercase().as_str() {
            "int" | "i32" | "i64" | "u32" | "u64" | "uint" | "long" => Some("integer"),
            "float" | "double" | "f32" | "f64" | "decimal" => Some("number"),
            "bool" => Some("boolean"),
            "str" | "text" => Some("string"),
            "map" | "dict" | "table" | "struct" => Some("object"),
            "list" | "vec" | "sequence" => Some("array"),
            "none" | "nil" | "unit" => Some("null"),
            _ => None,
        };
        let help = if let Some(close) = alias.or_else(|| keys::closest(t, &names)) {
            format!("did you mean `{close}`?")
        } else if safething_ir::naming::is_pascal_case(t) {
            format!("to use the named type `{t}`, write `ref = \"{t}\"` instead of `type`")
        } else {
            format!("the types are: {}", names.join(", "))
        };
        let msg = format!("unknown type `{t}`");
        self.report(Rule::WrongType, kp, v.span(), msg, Some(help));
        self.poison(schema.clone());
        None
    }

    fn items(&mut self, v: &Val<'_>, kp: &IrPath) -> Option<DataSchema> {
        if matches!(v.get_ref(), DeValue::Array(_)) {
            let help = "`items` is one schema that every element matches; tuples are not supported"
                .to_owned();
            self.wrong_type(kp, "items", v, "a data schema (a table)", Some(help));
            return None;
        }
        self.schema_value(v, kp, "items")
    }

    fn required(&mut self, v: &Val<'_>, kp: &IrPath) -> Vec<String> {
        let DeValue::Array(items) = v.get_ref() else {
            let help = "list the required property names in the object's schema: \
                        `required = [\"level\"]`"
                .to_owned();
            self.wrong_type(kp, "required", v, "an array of property names", Some(help));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = kp.index(i);
            self.record(&at, None, item);
            match item.get_ref() {
                DeValue::String(s) => out.push(s.to_string()),
                _ => {
                    let msg = format!(
                        "`required` lists property names, found {}",
                        found(item.get_ref())
                    );
                    self.report(Rule::WrongType, &at, item.span(), msg, None);
                    out.push(String::new());
                }
            }
        }
        out
    }

    fn one_of(&mut self, v: &Val<'_>, kp: &IrPath) -> Option<Vec<DataSchema>> {
        let DeValue::Array(items) = v.get_ref() else {
            let help =
                "write `oneOf = [{ ... }, { ... }]` or `[[types.Name.oneOf]]` tables".to_owned();
            self.wrong_type(kp, "oneOf", v, "an array of data schemas", Some(help));
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = kp.index(i);
            self.record(&at, None, item);
            match item.get_ref() {
                DeValue::Table(t) => out.push(self.schema_table(t, &at)),
                _ => {
                    let msg = format!(
                        "each `oneOf` alternative must be a data schema (a table), found {}",
                        found(item.get_ref())
                    );
                    self.report(Rule::WrongType, &at, item.span(), msg, None);
                    out.push(DataSchema::default());
                }
            }
        }
        Some(out)
    }

    // ---- scalars ---------------------------------------------------------------------------

    fn string(&mut self, v: &Val<'_>, kp: &IrPath, key: &str) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            other => {
                let help = match other {
                    DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => Some(format!(
                        "quote it: `{key} = \"{}\"`",
                        other.to_string_lossy()
                    )),
                    _ => None,
                };
                self.wrong_type(kp, key, v, "a string", help);
                None
            }
        }
    }

    fn boolean(&mut self, v: &Val<'_>, kp: &IrPath, key: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            DeValue::String(s) => {
                let guess = matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "yes" | "y" | "on" | "1"
                );
                let help = format!("write `{key} = {guess}`, without quotes");
                self.wrong_type(kp, key, v, "`true` or `false`", Some(help));
                None
            }
            _ => {
                self.wrong_type(kp, key, v, "`true` or `false`", None);
                None
            }
        }
    }

    fn access(&mut self, v: &Val<'_>, kp: &IrPath) -> Access {
        match v.get_ref() {
            DeValue::String(s) => match s.parse::<Access>() {
                Ok(access) => access,
                Err(e) => {
                    let help = Some(UnknownAccess::HELP.to_owned());
                    self.report(Rule::UnknownAccess, kp, v.span(), e.to_string(), help);
                    Access::default()
                }
            },
            _ => {
                let help =
                    "write one of `\"all\"`, `\"group\"`, `\"owner\"`, `\"thing\"`".to_owned();
                self.wrong_type(kp, "access", v, "a string", Some(help));
                Access::default()
            }
        }
    }

    fn number(&mut self, v: &Val<'_>, kp: &IrPath, key: &str) -> Option<Number> {
        match v.get_ref() {
            DeValue::Integer(_) | DeValue::Float(_) => self.json(v, kp).and_then(|j| match j {
                Value::Number(n) => Some(n),
                _ => None,
            }),
            DeValue::String(s) => {
                let help = s
                    .trim()
                    .parse::<f64>()
                    .is_ok_and(f64::is_finite)
                    .then(|| format!("write it without quotes: `{key} = {}`", s.trim()));
                self.wrong_type(kp, key, v, "a number", help);
                None
            }
            _ => {
                self.wrong_type(kp, key, v, "a number", None);
                None
            }
        }
    }

    /// A non-negative whole number (a length, a count, a history size).
    fn count(&mut self, v: &Val<'_>, kp: &IrPath, key: &str, negative: Rule) -> Option<u64> {
        match v.get_ref() {
            DeValue::Integer(i) => match u64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) if i.as_str().starts_with('-') => {
                    let msg = format!("`{key} = {}` is negative", i.as_str());
                    let help = format!("`{key}` is a count: write 0 or more");
                    self.report(negative, kp, v.span(), msg, Some(help));
                    None
                }
                Err(_) => {
                    let msg = format!("`{key} = {}` is too large", i.as_str());
                    self.report(Rule::WrongType, kp, v.span(), msg, None);
                    None
                }
            },
            DeValue::String(s) if s.trim().parse::<u64>().is_ok() => {
                let help = format!("write it without quotes: `{key} = {}`", s.trim());
                self.wrong_type(kp, key, v, "a whole number", Some(help));
                None
            }
            _ => {
                self.wrong_type(kp, key, v, "a whole number", None);
                None
            }
        }
    }

    /// `enum`: an array of any values.
    fn values(&mut self, v: &Val<'_>, kp: &IrPath) -> Option<Vec<Value>> {
        let DeValue::Array(items) = v.get_ref() else {
            let help =
                "list the allowed values: `enum = [\"a\", \"b\"]`; for one value use `const`"
                    .to_owned();
            self.wrong_type(kp, "enum", v, "an array of values", Some(help));
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = kp.index(i);
            self.record(&at, None, item);
            // A rejected value keeps its place (as null) so later indices stay right.
            out.push(self.json(item, &at).unwrap_or(Value::Null));
        }
        Some(out)
    }

    /// Any TOML value as JSON (datetimes become strings); `None` after reporting a value JSON
    /// cannot hold.
    fn json(&mut self, v: &Val<'_>, p: &IrPath) -> Option<Value> {
        match v.get_ref() {
            DeValue::String(s) => Some(Value::String(s.to_string())),
            DeValue::Boolean(b) => Some(Value::Bool(*b)),
            DeValue::Datetime(d) => Some(Value::String(d.to_string())),
            DeValue::Integer(i) => {
                let n = i64::from_str_radix(i.as_str(), i.radix())
                    .map(Number::from)
                    .or_else(|_| u64::from_str_radix(i.as_str(), i.radix()).map(Number::from));
                match n {
                    Ok(n) => Some(Value::Number(n)),
                    Err(_) => {
                        let msg = format!("integer `{i}` is out of range");
                        self.report(Rule::WrongType, p, v.span(), msg, None);
                        None
                    }
                }
            }
            DeValue::Float(f) => {
                let n = f.as_str().parse::<f64>().ok().and_then(Number::from_f64);
                match n {
                    Some(n) => Some(Value::Number(n)),
                    None => {
                        let msg = format!(
                            "`{}` is not a finite number; JSON has no infinity or NaN",
                            f.as_str()
                        );
                        self.report(Rule::WrongType, p, v.span(), msg, None);
                        None
                    }
                }
            }
            DeValue::Array(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    let at = p.index(i);
                    self.record(&at, None, item);
                    match self.json(item, &at) {
                        Some(j) => out.push(j),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Array(out))
            }
            DeValue::Table(t) => {
                let mut out = Map::new();
                let mut ok = true;
                for (k, item) in t.iter() {
                    let at = p.key(name_of(k));
                    self.record(&at, Some(k), item);
                    match self.json(item, &at) {
                        Some(j) => {
                            out.insert(name_of(k).to_owned(), j);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Object(out))
            }
        }
    }
}

/// A plausible semver for a version written as a number (`1.0` -> `1.0.0`).
fn semver_guess(number: &str) -> String {
    match number.matches('.').count() {
        0 => format!("{number}.0.0"),
        1 => format!("{number}.0"),
        _ => number.to_owned(),
    }
}

trait Lossy {
    fn to_string_lossy(&self) -> String;
}

impl Lossy for DeValue<'_> {
    /// The scalar as written (for hints); compound values are elided.
    fn to_string_lossy(&self) -> String {
        match self {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(i) => i.to_string(),
            DeValue::Float(f) => f.as_str().to_owned(),
            DeValue::Boolean(b) => b.to_string(),
            DeValue::Datetime(d) => d.to_string(),
            DeValue::Array(_) => "[...]".to_owned(),
            DeValue::Table(_) => "{...}".to_owned(),
        }
    }
}

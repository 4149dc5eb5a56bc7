//! The Markdown reference of a thing (`safething-gen docs`): what the thing is, a table per
//! affordance kind, its named data types, and how to use each affordance from the `safething`
//! CLI, the generated Rust client and the generated TypeScript client.
//!
//! Rendered with minijinja 3 from `codegen/templates/reference.md.jinja` with a purpose-built
//! view model, so the template only loops and branches. Method names come from the same
//! functions the Rust and TypeScript generators use, so the reference cannot drift from the
//! code. Table cells go through the `cell` filter, so a `|` or a line break in a description
//! cannot break a table.

use minijinja::Environment;
use serde::Serialize;
use serde_json::Value;

use safething_ir::naming::{ThingTypeNames, rust_ident, snake_from_pascal};
use safething_ir::union::tagged_union;
use safething_ir::{Access, AttributeKind, CheckedDefinition, DataSchema, Definition, SchemaType};

use crate::docs::Bounds;
use crate::ts::names;

/// The embedded template.
const TEMPLATE: &str = include_str!("../templates/reference.md.jinja");
/// A property table, included by the main template.
const FIELDS: &str = include_str!("../templates/fields.md.jinja");
/// The CLI, Rust and TypeScript uses of one affordance, included by the main template.
const USES: &str = include_str!("../templates/uses.md.jinja");

/// How deep example values and reference chains are followed: named types may refer to each
/// other, and a checked definition has no cycles, but a bound keeps any input finite.
const MAX_DEPTH: usize = 16;

/// Why a reference could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocsError {
    /// A template failed to render: a bug in the generator or its template.
    #[error("Markdown template failed (a generator bug): {0}")]
    Template(String),
}

fn template_error(e: minijinja::Error) -> DocsError {
    DocsError::Template(format!("{e:#}"))
}

/// A Markdown table cell: `|` escaped and line breaks turned into `<br>`, so a description
/// stays inside its cell.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.trim().lines().peekable();
    while let Some(line) = lines.next() {
        out.push_str(&line.trim_end().replace('|', "\\|"));
        if lines.peek().is_some() {
            out.push_str("<br>");
        }
    }
    out
}

/// One line of text (a heading): line breaks become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` as one shell word in single quotes.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn environment() -> Result<Environment<'static>, DocsError> {
    let mut env = crate::ts::base_environment().map_err(template_error)?;
    env.add_filter("cell", |s: String| cell(&s));
    env.add_filter("snake", |s: String| {
        heck::ToSnakeCase::to_snake_case(s.as_str())
    });
    env.add_filter("camel", |s: String| {
        heck::ToLowerCamelCase::to_lower_camel_case(s.as_str())
    });
    env.add_template("reference.md", TEMPLATE)
        .map_err(template_error)?;
    env.add_template("fields", FIELDS).map_err(template_error)?;
    env.add_template("uses", USES).map_err(template_error)?;
    Ok(env)
}

/// One way to use an affordance, spelled for each surface.
#[derive(Debug, Serialize)]
struct UseView {
    /// `read`, `history`, `watch`, `write`, `on` or `invoke`.
    kind: &'static str,
    /// The Rust client's method.
    rust: String,
    /// The TypeScript client's method.
    ts: String,
    /// An example value or input, as JSON (writes and actions with an input).
    json: Option<String>,
    /// `json` quoted for a POSIX shell.
    shell: Option<String>,
}

/// A property of an object payload or type.
#[derive(Debug, Serialize)]
struct FieldView {
    name: String,
    ty: String,
    required: bool,
    unit: String,
    range: String,
    about: String,
}

#[derive(Debug, Serialize)]
struct AttributeView {
    name: String,
    ty: String,
    unit: String,
    range: String,
    kind: &'static str,
    access: &'static str,
    writable: bool,
    history: Option<u64>,
    about: String,
    fields: Vec<FieldView>,
    uses: Vec<UseView>,
}

#[derive(Debug, Serialize)]
struct EventView {
    name: String,
    ty: String,
    access: &'static str,
    about: String,
    fields: Vec<FieldView>,
    uses: Vec<UseView>,
}

#[derive(Debug, Serialize)]
struct ActionView {
    name: String,
    input: String,
    output: String,
    access: &'static str,
    timeout: String,
    about: String,
    input_fields: Vec<FieldView>,
    output_fields: Vec<FieldView>,
    uses: Vec<UseView>,
}

#[derive(Debug, Serialize)]
struct TypeView {
    name: String,
    ty: String,
    unit: String,
    range: String,
    about: String,
    fields: Vec<FieldView>,
    /// The tag property of a tagged union.
    tag: Option<String>,
    alternatives: Vec<AlternativeView>,
}

/// One alternative of a `oneOf` type, with its properties.
#[derive(Debug, Serialize)]
struct AlternativeView {
    /// Its tag value (JSON), in a tagged union.
    tag: Option<String>,
    ty: String,
    about: String,
    fields: Vec<FieldView>,
}

/// Everything the template needs.
#[derive(Debug, Serialize)]
struct ThingView {
    name: String,
    /// The thing's name again, for included templates where `name` is an affordance's.
    thing: String,
    title: Option<String>,
    description: Option<String>,
    version: String,
    module: String,
    rust_client: String,
    /// How Rust code connects: `<X as ThingClient>::connect` when an affordance has the
    /// client method `connect`, `X::connect` otherwise.
    rust_connect: String,
    ts_client: String,
    attributes: Vec<AttributeView>,
    events: Vec<EventView>,
    actions: Vec<ActionView>,
    types: Vec<TypeView>,
}

/// The file name of a thing's reference: its name in snake_case (`GardeningDevice` ->
/// `gardening_device.md`), as the other generators name theirs.
pub fn file_name(definition: &Definition) -> String {
    format!("{}.md", snake_from_pascal(&definition.thing.name))
}

/// The Markdown reference of one thing.
pub fn generate(definition: &CheckedDefinition) -> Result<String, DocsError> {
    let view = thing_view(definition.definition());
    let env = environment()?;
    let template = env.get_template("reference.md").map_err(template_error)?;
    template
        .render(minijinja::value::Serde(&view))
        .map_err(template_error)
}

fn access(access: &Access) -> &'static str {
    match access {
        Access::All => "all",
        Access::Group => "group",
        Access::Owner => "owner",
        Access::Thing => "thing",
    }
}

/// Title and description, for a table cell or a paragraph.
fn about(title: Option<&String>, description: Option<&String>) -> String {
    match (title, description) {
        (Some(t), Some(d)) => format!("{}: {d}", one_line(t)),
        (Some(t), None) => one_line(t),
        (None, Some(d)) => d.clone(),
        (None, None) => String::new(),
    }
}

/// The schema a reference leads to (the schema itself when it is no reference).
fn resolve<'a>(def: &'a Definition, schema: &'a DataSchema) -> &'a DataSchema {
    let mut current = schema;
    for _ in 0..MAX_DEPTH {
        match current.reference.as_ref().and_then(|r| def.types.get(r)) {
            Some(target) => current = target,
            None => break,
        }
    }
    current
}

fn json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A schema's type in words: `number`, `` `Setpoint` ``, `array of string`, `one of "a", "b"`.
fn type_text(schema: &DataSchema) -> String {
    if let Some(r) = &schema.reference {
        return format!("`{r}`");
    }
    if let Some(c) = &schema.constant {
        return format!("always `{}`", json(c));
    }
    if let Some(values) = &schema.enumeration {
        let values: Vec<String> = values.iter().map(|v| format!("`{}`", json(v))).collect();
        return format!("one of {}", values.join(", "));
    }
    if let Some(alternatives) = &schema.one_of {
        let alternatives: Vec<String> = alternatives
            .iter()
            .map(|a| match &a.title {
                Some(title) => format!("{} ({})", type_text(a), one_line(title)),
                None => type_text(a),
            })
            .collect();
        return format!("one of: {}", alternatives.join("; "));
    }
    let base = match schema.ty {
        Some(SchemaType::Array) => match &schema.items {
            Some(items) => format!("array of {}", type_text(items)),
            None => "array".to_owned(),
        },
        Some(SchemaType::Object) if schema.is_map() => match &schema.additional_properties {
            Some(values) => format!("map of {}", type_text(values)),
            None => "object".to_owned(),
        },
        Some(ty) => ty.as_str().to_owned(),
        None => "any".to_owned(),
    };
    match &schema.format {
        Some(format) => format!("{base} ({format})"),
        None => base,
    }
}

/// A payload's type, `-` when there is none.
fn payload_text(schema: Option<&DataSchema>) -> String {
    schema.map_or_else(|| "-".to_owned(), type_text)
}

/// The unit, looked up through references.
fn unit_text(def: &Definition, schema: &DataSchema) -> String {
    schema
        .unit
        .as_ref()
        .or(resolve(def, schema).unit.as_ref())
        .cloned()
        .unwrap_or_else(|| "-".to_owned())
}

/// The bounds of a value, looked up through references: `min 5, max 30, multiple of 0.5`.
fn range_text(def: &Definition, schema: &DataSchema) -> String {
    let parts = crate::docs::bounds(resolve(def, schema), Bounds::Short, |p| format!("`{p}`"));
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The properties of an inline object schema (a named type has its own section).
fn fields(def: &Definition, schema: Option<&DataSchema>) -> Vec<FieldView> {
    let Some(schema) = schema else {
        return Vec::new();
    };
    if schema.reference.is_some() {
        return Vec::new();
    }
    schema
        .properties
        .iter()
        .map(|(name, p)| FieldView {
            name: name.clone(),
            ty: type_text(p),
            required: schema.is_required(name),
            unit: unit_text(def, p),
            range: range_text(def, p),
            about: about(p.title.as_ref(), p.description.as_ref()),
        })
        .collect()
}

/// A plausible value of a schema, for command-line examples: its default, constant or first
/// enum value, else a value of its type within its bounds; objects get their required
/// properties and those with a default.
fn example(def: &Definition, schema: &DataSchema, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(v) = schema.default.as_ref().or(schema.constant.as_ref()) {
        return v.clone();
    }
    if let Some(v) = schema.enumeration.as_ref().and_then(|e| e.first()) {
        return v.clone();
    }
    if let Some(r) = &schema.reference {
        return match def.types.get(r) {
            Some(target) => example(def, target, depth + 1),
            None => Value::Null,
        };
    }
    if let Some(first) = schema.one_of.as_ref().and_then(|o| o.first()) {
        return example(def, first, depth + 1);
    }
    let number = || {
        schema
            .minimum
            .as_ref()
            .or(schema.maximum.as_ref())
            .map_or(Value::from(0), |n| Value::Number(n.clone()))
    };
    match schema.ty {
        Some(SchemaType::Boolean) => Value::Bool(true),
        Some(SchemaType::Integer | SchemaType::Number) => number(),
        Some(SchemaType::String) => Value::String(
            match schema.format.as_deref() {
                Some("date-time") => "2026-01-01T00:00:00Z",
                Some("date") => "2026-01-01",
                Some("time") => "12:00:00",
                _ => "text",
            }
            .to_owned(),
        ),
        Some(SchemaType::Array) => Value::Array(Vec::new()),
        Some(SchemaType::Object) => Value::Object(
            schema
                .properties
                .iter()
                .filter(|(name, p)| schema.is_required(name) || p.default.is_some())
                .map(|(name, p)| (name.clone(), example(def, p, depth + 1)))
                .collect(),
        ),
        Some(SchemaType::Null) | None => Value::Null,
    }
}

fn use_view(kind: &'static str, rust: String, ts: String, value: Option<Value>) -> UseView {
    let json = value.as_ref().map(json);
    UseView {
        kind,
        rust,
        ts,
        shell: json.as_deref().map(shell_quote),
        json,
    }
}

fn thing_view(def: &Definition) -> ThingView {
    let mut attributes = Vec::new();
    for (name, a) in &def.attributes {
        let mut uses = Vec::new();
        if a.access != Access::Thing {
            uses.push(use_view(
                "read",
                rust_ident(name),
                names::method(name),
                None,
            ));
            if a.history.is_some() {
                uses.push(use_view(
                    "history",
                    rust_ident(&format!("{name}_history")),
                    names::affixed("", name, "history"),
                    None,
                ));
            }
            if a.kind == AttributeKind::Dynamic {
                uses.push(use_view(
                    "watch",
                    rust_ident(&format!("watch_{name}")),
                    names::affixed("watch", name, ""),
                    None,
                ));
            }
            if a.writable {
                uses.push(use_view(
                    "write",
                    rust_ident(&format!("write_{name}")),
                    names::affixed("write", name, ""),
                    Some(example(def, &a.schema, 0)),
                ));
            }
        }
        attributes.push(AttributeView {
            name: name.clone(),
            ty: type_text(&a.schema),
            unit: unit_text(def, &a.schema),
            range: range_text(def, &a.schema),
            kind: match a.kind {
                AttributeKind::Static => "static",
                AttributeKind::Dynamic => "dynamic",
            },
            access: access(&a.access),
            writable: a.writable,
            history: a.history,
            about: about(a.schema.title.as_ref(), a.schema.description.as_ref()),
            fields: fields(def, Some(&a.schema)),
            uses,
        });
    }
    let mut events = Vec::new();
    for (name, e) in &def.events {
        let mut uses = Vec::new();
        if e.access != Access::Thing {
            uses.push(use_view(
                "on",
                rust_ident(&format!("on_{name}")),
                names::affixed("on", name, ""),
                None,
            ));
        }
        events.push(EventView {
            name: name.clone(),
            ty: payload_text(e.data.as_ref()),
            access: access(&e.access),
            about: about(e.title.as_ref(), e.description.as_ref()),
            fields: fields(def, e.data.as_ref()),
            uses,
        });
    }
    let mut actions = Vec::new();
    for (name, a) in &def.actions {
        let mut uses = Vec::new();
        if a.access != Access::Thing {
            uses.push(use_view(
                "invoke",
                rust_ident(name),
                names::method(name),
                a.input.as_ref().map(|s| example(def, s, 0)),
            ));
        }
        actions.push(ActionView {
            name: name.clone(),
            input: payload_text(a.input.as_ref()),
            output: payload_text(a.output.as_ref()),
            access: access(&a.access),
            timeout: a
                .timeout
                .as_ref()
                .map_or_else(|| "-".to_owned(), |t| t.0.clone()),
            about: about(a.title.as_ref(), a.description.as_ref()),
            input_fields: fields(def, a.input.as_ref()),
            output_fields: fields(def, a.output.as_ref()),
            uses,
        });
    }
    let types: Vec<TypeView> = def
        .types
        .iter()
        .map(|(name, s)| {
            let tagged = tagged_union(s, &def.types);
            let tag_of = |i: usize| {
                let variant = tagged.as_ref()?.variants.get(i)?;
                Some(json(variant.value))
            };
            TypeView {
                name: name.clone(),
                ty: type_text(s),
                unit: unit_text(def, s),
                range: range_text(def, s),
                about: about(s.title.as_ref(), s.description.as_ref()),
                fields: fields(def, Some(s)),
                tag: tagged.as_ref().map(|u| u.tag.to_owned()),
                alternatives: s
                    .one_of
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, a)| AlternativeView {
                        tag: tag_of(i),
                        ty: type_text(a),
                        about: about(a.title.as_ref(), a.description.as_ref()),
                        fields: fields(def, Some(a)),
                    })
                    .collect(),
            }
        })
        .collect();
    let type_names = ThingTypeNames::new(&def.thing.name);
    // Inherent methods win over the trait's: a client-visible attribute or action named
    // `connect` takes `X::connect`.
    let connect_taken = def
        .attributes
        .get("connect")
        .is_some_and(|a| a.access != Access::Thing)
        || def
            .actions
            .get("connect")
            .is_some_and(|a| a.access != Access::Thing);
    let rust_connect = if connect_taken {
        format!("<{} as ThingClient>::connect", type_names.client)
    } else {
        format!("{}::connect", type_names.client)
    };
    ThingView {
        name: def.thing.name.clone(),
        thing: def.thing.name.clone(),
        title: def.thing.title.as_deref().map(one_line),
        description: def.thing.description.clone(),
        version: def.thing.version.clone(),
        module: snake_from_pascal(&def.thing.name),
        rust_client: type_names.client.clone(),
        rust_connect,
        ts_client: type_names.client,
        attributes,
        events,
        actions,
        types,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_and_line_breaks() {
        assert_eq!(cell("a | b\nc\r\nd"), "a \\| b<br>c<br>d");
    }

    #[test]
    fn shell_words_survive_quotes() {
        assert_eq!(shell_quote(r#"{"a":"it's"}"#), r#"'{"a":"it'\''s"}'"#);
    }
}

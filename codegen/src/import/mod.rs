//! Importing W3C WoT Thing Descriptions and Thing Models: TD/TM JSON → IR → definition TOML.
//!
//! [`import_file`] reads one TD or TM, resolves its Thing Model composition over local files
//! (`tm:ref`, `tm:extends`, `tm:submodel`, `{{placeholders}}`; never the network), converts it
//! into a [`Definition`], checks it, and writes it as definition TOML with a leading comment
//! saying what was dropped and why. The TOML is loaded back through the TOML front end before it
//! is returned, so what comes out always passes `safething-gen check`.
//!
//! The mapping (the README's "Import from WoT" says the same for users):
//!
//! - `properties` → attributes (`writable` unless `readOnly`; a `readOnly`, not `observable`
//!   property with a `const` → a static attribute), `actions` → actions (`input`, `output`,
//!   `safe`, `idempotent`), `events` → events (`data`).
//! - Names become snake_case (`onOff` → `on_off`, `rgb-value` → `rgb_value`); the original
//!   is kept as `wot_name` (affordances) or `wotName` (object members) so that TD/TM export
//!   gives it back. Two names that convert to the same one are an error naming both.
//!   `schemaDefinitions` become named types with PascalCase names.
//! - Data schemas keep every keyword the definition format has. A schema without `type` is
//!   `anyValue = true` (any JSON value); an object with an `additionalProperties` schema and no
//!   `properties` is an open map, and one with neither (or `additionalProperties: true`) an open
//!   map of any values. Unsupported, with an error naming the JSON pointer:
//!   `additionalProperties` next to `properties`, tuple `items` (an array of schemas), `null` in
//!   `enum`/`const`/`default` (TOML has no null), and any other constraining keyword (`anyOf`,
//!   `allOf`, ...).
//! - `uriVariables` of an action become optional properties of its input object (an action
//!   without input gets one); on properties, events, the thing, or an action whose input is
//!   not an object they are dropped with a note: reads and subscriptions take no parameters.
//! - Access: every affordance gets [`ImportOptions::access`] (TDs say nothing about who may
//!   use what), except where a SAFEthing export wrote `safething:access`.
//! - Dropped, with a note: forms, security, links, `base`, `id`, semantic annotations (`@type`,
//!   prefixed terms), multilingual `titles`/`descriptions`, event subscription schemas.

mod resolve;
mod toml_out;

use std::collections::BTreeMap;
use std::path::Path;

use safething_ir::export::units;
use safething_ir::export::{THING_ID_PLACEHOLDER, WOT_NAME, WOT_REF};
use safething_ir::naming::{self, pascal_from_snake};
use safething_ir::{
    Access, Action, Attribute, AttributeKind, DataSchema, Definition, Event, SchemaType, ThingInfo,
    Timeout,
};
use serde_json::{Map, Number, Value};

/// How to import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The access of every imported affordance (TDs and TMs say nothing about it).
    pub access: Access,
    /// Values of a Thing Model's `{{placeholders}}`, by name.
    pub placeholders: BTreeMap<String, Value>,
}

/// One imported TD or TM.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The definition, checked.
    pub definition: Definition,
    /// The definition as TOML, with the leading comment block.
    pub toml: String,
    /// What the comment block says was dropped or changed, one line each.
    pub notes: Vec<String>,
}

/// Why a TD or TM could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A model or fragment a document refers to could not be read.
    #[error("{file}#{pointer}: cannot read `{path}`, which it refers to: {source}")]
    ReadReferenced {
        /// The referring file.
        file: String,
        /// JSON pointer of the reference.
        pointer: String,
        /// The file referred to.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("`{path}` is not JSON: {source}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// A construct the definition format cannot express.
    #[error("{file}#{pointer}: {message}")]
    Unsupported {
        /// The file.
        file: String,
        /// JSON pointer of the construct.
        pointer: String,
        /// What it is.
        message: String,
    },
    /// A `tm:ref`, `tm:extends` or `tm:submodel` to a remote document.
    #[error(
        "{file}#{pointer}: `{href}` is not a local file; import does not use the network (download it and refer to it by a relative path)"
    )]
    Network {
        /// The file.
        file: String,
        /// JSON pointer of the `href`.
        pointer: String,
        /// The reference.
        href: String,
    },
    /// Placeholders without a value.
    #[error(
        "no value for the placeholder{} {}: give each with `--placeholder NAME=VALUE` or in `--placeholders FILE`",
        if names.len() == 1 { "" } else { "s" },
        names.iter().map(|n| format!("`{{{{{n}}}}}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingPlaceholders {
        /// Their names.
        names: Vec<String>,
    },
    /// Models or fragments that refer to each other in a circle.
    #[error("`tm:extends`/`tm:ref` cycle: {}", chain.join(" -> "))]
    Cycle {
        /// The models and fragments, the repeated one last.
        chain: Vec<String>,
    },
    /// A chain of models too deep to be real.
    #[error("models extend or refer to each other more than {depth} deep")]
    TooDeep {
        /// The limit.
        depth: usize,
    },
    /// A model that reads too many files.
    #[error("the model refers to more than {max} files")]
    TooManyFiles {
        /// The limit.
        max: usize,
    },
    /// Two names that are the same once converted to snake_case (or PascalCase).
    #[error("{file}#{pointer}: `{first}` and `{second}` both become `{converted}`")]
    Collision {
        /// The file.
        file: String,
        /// JSON pointer of the object holding both.
        pointer: String,
        /// One original name.
        first: String,
        /// The other.
        second: String,
        /// What both become.
        converted: String,
    },
    /// The imported definition does not pass the checks (or does not load back).
    #[error("{file}: the imported definition is invalid:\n{details}")]
    Invalid {
        /// The file.
        file: String,
        /// Every problem, one per line.
        details: String,
    },
}

impl ImportError {
    fn unsupported(file: &Path, pointer: &str, message: &str) -> ImportError {
        ImportError::Unsupported {
            file: file.display().to_string(),
            pointer: pointer.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// `name` as one JSON pointer token (RFC 6901).
pub(crate) fn pointer_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Imports the TD or TM in `path`. Relative `tm:ref`/`tm:extends`/`tm:submodel` hrefs resolve
/// against its folder.
pub fn import_file(path: &Path, options: &ImportOptions) -> Result<Imported, ImportError> {
    let mut resolver = resolve::Resolver::new();
    let mut doc = resolver.model(path)?;
    resolve::placeholders(&mut doc, &options.placeholders)?;
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut importer = Importer {
        file: path,
        options,
        dropped: BTreeMap::new(),
        notes: resolver.notes,
        type_names: BTreeMap::new(),
        raw_types: Map::new(),
    };
    let definition = importer.document(&doc)?;
    if let Err(invalid) = definition.check() {
        return Err(ImportError::Invalid {
            file: path.display().to_string(),
            details: invalid
                .0
                .iter()
                .filter(|d| d.is_error())
                .map(|d| match pointer_of(&definition, &d.path) {
                    Some(pointer) => format!("  #{pointer} ({}): {}", d.path, d.message),
                    None => format!("  {}: {}", d.path, d.message),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    let notes = importer.report();
    let header = header(&file_name, &notes);
    let body = toml_out::definition(&definition).map_err(|message| ImportError::Unsupported {
        file: path.display().to_string(),
        pointer: String::new(),
        message,
    })?;
    let toml = format!("{header}{body}");
    // What is written must load as what was built: the front end is the judge.
    let invalid = |details: String| ImportError::Invalid {
        file: path.display().to_string(),
        details,
    };
    let loaded =
        crate::load_str(&format!("{file_name}.toml"), &toml).map_err(|e| invalid(e.to_string()))?;
    if loaded.definition.definition() != &definition {
        return Err(invalid(
            "the TOML written does not load back as the definition built (a bug: please report it)"
                .into(),
        ));
    }
    Ok(Imported {
        definition,
        toml,
        notes,
    })
}

/// The JSON pointer in the imported document of an affordance's IR path
/// (`attributes.on_off.maximum` → `/properties/onOff/maximum`), when it is one.
fn pointer_of(def: &Definition, path: &safething_ir::IrPath) -> Option<String> {
    use safething_ir::Segment;
    let segments = path.segments();
    let (Some(Segment::Key(section)), Some(Segment::Key(name))) =
        (segments.first(), segments.get(1))
    else {
        return None;
    };
    let (wot_section, original) = match section.as_str() {
        "attributes" => ("properties", def.attributes.get(name)?.wot_name.as_ref()),
        "events" => ("events", def.events.get(name)?.wot_name.as_ref()),
        "actions" => ("actions", def.actions.get(name)?.wot_name.as_ref()),
        _ => return None,
    };
    let mut pointer = format!(
        "/{wot_section}/{}",
        pointer_token(original.map_or(name.as_str(), String::as_str))
    );
    for segment in segments.iter().skip(2) {
        match segment {
            Segment::Key(k) => pointer.push_str(&format!("/{}", pointer_token(k))),
            Segment::Index(i) => pointer.push_str(&format!("/{i}")),
        }
    }
    Some(pointer)
}

fn header(file_name: &str, notes: &[String]) -> String {
    let mut out = format!(
        "# Imported from `{file_name}` by `safething-gen import`.\n\
         # What the Thing Description / Thing Model has that a definition does not:\n"
    );
    if notes.is_empty() {
        out.push_str("# - nothing was dropped.\n");
    }
    for note in notes {
        let mut first = true;
        for line in wrap(note, 96) {
            out.push_str(if first { "# - " } else { "#   " });
            out.push_str(&line);
            out.push('\n');
            first = false;
        }
    }
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `name` in snake_case: camelCase and PascalCase boundaries and every character that is not
/// an ASCII letter or digit become `_`; a leading digit gets an `n_` prefix. `None` when
/// nothing is left (a name of only symbols).
pub fn snake_name(name: &str) -> Option<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() {
                let prev = i.checked_sub(1).and_then(|j| chars.get(j));
                let next = chars.get(i + 1);
                let boundary = match prev {
                    Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                    Some(p) if p.is_ascii_uppercase() => {
                        next.is_some_and(|n| n.is_ascii_lowercase())
                    }
                    _ => false,
                };
                if boundary {
                    out.push('_');
                }
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push('_');
        }
    }
    let words: Vec<&str> = out.split('_').filter(|w| !w.is_empty()).collect();
    let joined = words.join("_");
    if joined.is_empty() {
        return None;
    }
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(format!("n_{joined}"));
    }
    Some(joined)
}

/// `name` in PascalCase (`my lamp` → `MyLamp`), or `None` when nothing is left.
pub fn pascal_name(name: &str) -> Option<String> {
    if naming::is_pascal_case(name) {
        return Some(name.to_owned());
    }
    snake_name(name).map(|s| pascal_from_snake(&s))
}

/// Keys of an interaction affordance that are not data schema keywords, by affordance kind.
const PROPERTY_KEYS: &[&str] = &["observable", "forms", "uriVariables"];
const ACTION_KEYS: &[&str] = &[
    "title",
    "description",
    "input",
    "output",
    "safe",
    "idempotent",
    "synchronous",
    "forms",
    "uriVariables",
];
const EVENT_KEYS: &[&str] = &[
    "title",
    "description",
    "data",
    "subscription",
    "cancellation",
    "dataResponse",
    "forms",
    "uriVariables",
];

/// Thing-level keys that are dropped, with why.
const THING_DROPPED: &[(&str, &str)] = &[
    ("@context", ""),
    ("@type", "semantic annotation"),
    (
        "id",
        "the instance id: a SAFEthing device has its thing id (`td --id`)",
    ),
    (
        "base",
        "protocol binding: a SAFEthing device is reached through its key space",
    ),
    (
        "forms",
        "protocol binding: a SAFEthing device is reached through its key space",
    ),
    ("links", "links"),
    (
        "security",
        "security: SAFEthing signs every message; `access` says who may use what",
    ),
    (
        "securityDefinitions",
        "security: SAFEthing signs every message; `access` says who may use what",
    ),
    ("profile", "profiles"),
    ("support", "support contact"),
    ("created", "instance metadata"),
    ("modified", "instance metadata"),
    ("titles", "multilingual titles"),
    ("descriptions", "multilingual descriptions"),
    (
        "uriVariables",
        "thing-wide `uriVariables`: requests take no URI parameters",
    ),
    ("tm:optional", "`tm:optional`"),
    ("tm:required", "`tm:required`"),
    ("schemaDefinitions", ""),
];

struct Importer<'a> {
    file: &'a Path,
    options: &'a ImportOptions,
    /// What was dropped (why → JSON pointers).
    dropped: BTreeMap<String, Vec<String>>,
    /// Free-form notes (composition, optional affordances).
    notes: Vec<String>,
    /// `schemaDefinitions` names → type names.
    type_names: BTreeMap<String, String>,
    /// `schemaDefinitions` as written, to restore `ref`s exported with `safething:ref`.
    raw_types: Map<String, Value>,
}

impl Importer<'_> {
    fn err(&self, pointer: &str, message: impl Into<String>) -> ImportError {
        ImportError::unsupported(self.file, pointer, &message.into())
    }

    fn drop(&mut self, why: &str, pointer: String) {
        self.dropped
            .entry(why.to_owned())
            .or_default()
            .push(pointer);
    }

    fn report(&mut self) -> Vec<String> {
        let mut out: Vec<String> = std::mem::take(&mut self.notes);
        for (why, pointers) in &self.dropped {
            const SHOWN: usize = 6;
            let mut list: Vec<String> = pointers
                .iter()
                .take(SHOWN)
                .map(|p| format!("`{}`", if p.is_empty() { "/" } else { p }))
                .collect();
            if pointers.len() > SHOWN {
                list.push(format!("and {} more", pointers.len() - SHOWN));
            }
            out.push(format!("dropped {why}: {}", list.join(", ")));
        }
        out.push(format!(
            "access: every affordance without `safething:access` has access `{}` \
             (a TD says nothing about who may use what)",
            self.options.access
        ));
        out
    }

    fn document(&mut self, doc: &Value) -> Result<Definition, ImportError> {
        let Some(map) = doc.as_object() else {
            return Err(self.err("", "the document is not a JSON object"));
        };
        let is_safething = map.contains_key("safething:thingType");
        let mut def = Definition {
            thing: self.thing(map)?,
            ..Definition::default()
        };

        if let Some(defs) = map.get("schemaDefinitions") {
            let Some(defs) = defs.as_object() else {
                return Err(self.err("/schemaDefinitions", "`schemaDefinitions` is not an object"));
            };
            self.raw_types = defs.clone();
            let names = self.convert_names(defs, "/schemaDefinitions", pascal_name)?;
            self.type_names = names.clone();
            for (orig, name) in names {
                let at = format!("/schemaDefinitions/{}", pointer_token(&orig));
                let schema = defs.get(&orig).cloned().unwrap_or_default();
                def.types.insert(name, self.schema(&schema, &at)?);
            }
        }
        for (key, why) in THING_DROPPED {
            if why.is_empty() {
                continue;
            }
            if let Some(v) = map.get(*key) {
                match *key {
                    "tm:optional" | "tm:required" => self.optional(key, v),
                    _ => self.drop(why, format!("/{}", pointer_token(key))),
                }
            }
        }
        for key in map.keys() {
            let known = [
                "title",
                "description",
                "version",
                "properties",
                "actions",
                "events",
                "schemaDefinitions",
            ];
            if !known.contains(&key.as_str())
                && !THING_DROPPED.iter().any(|(k, _)| k == key)
                && !key.starts_with("safething:")
            {
                self.drop(
                    "terms a definition has no place for",
                    format!("/{}", pointer_token(key)),
                );
            }
        }
        if let Some(props) = self.section(map, "properties")? {
            for (orig, name) in self.convert_names(props, "/properties", snake_name)? {
                let at = format!("/properties/{}", pointer_token(&orig));
                let p = props.get(&orig).cloned().unwrap_or_default();
                let mut a = self.property(&p, &at)?;
                a.wot_name = (orig != name).then_some(orig);
                def.attributes.insert(name, a);
            }
        }
        if let Some(actions) = self.section(map, "actions")? {
            for (orig, name) in self.convert_names(actions, "/actions", snake_name)? {
                let at = format!("/actions/{}", pointer_token(&orig));
                let a = actions.get(&orig).cloned().unwrap_or_default();
                let mut a = self.action(&a, &at, is_safething)?;
                a.wot_name = (orig != name).then_some(orig);
                def.actions.insert(name, a);
            }
        }
        if let Some(events) = self.section(map, "events")? {
            for (orig, name) in self.convert_names(events, "/events", snake_name)? {
                let at = format!("/events/{}", pointer_token(&orig));
                let e = events.get(&orig).cloned().unwrap_or_default();
                let mut e = self.event(&e, &at)?;
                e.wot_name = (orig != name).then_some(orig);
                def.events.insert(name, e);
            }
        }
        Ok(def)
    }

    fn section<'m>(
        &self,
        map: &'m Map<String, Value>,
        key: &str,
    ) -> Result<Option<&'m Map<String, Value>>, ImportError> {
        match map.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.err(&format!("/{key}"), format!("`{key}` is not an object"))),
        }
    }

    /// `tm:optional` (optional affordances) and the older `tm:required` (the others are
    /// optional): every affordance is imported, the note says which the model made optional.
    fn optional(&mut self, key: &str, v: &Value) {
        let pointers: Vec<String> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let what = if key == "tm:optional" {
            "optional"
        } else {
            "required (the others are optional)"
        };
        self.notes.push(format!(
            "`{key}`: the model says {} {what}; every affordance is imported, a device may leave \
             optional ones unimplemented by returning errors",
            pointers
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    fn thing(&mut self, map: &Map<String, Value>) -> Result<ThingInfo, ImportError> {
        let title = map.get("title").and_then(Value::as_str).map(str::to_owned);
        let thing_type = map
            .get("safething:thingType")
            .and_then(Value::as_str)
            .filter(|t| naming::is_pascal_case(t))
            .map(str::to_owned);
        let name = thing_type
            .or_else(|| title.as_deref().and_then(pascal_name))
            .or_else(|| {
                self.file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.split('.').next())
                    .and_then(pascal_name)
            })
            .unwrap_or_else(|| "ImportedThing".to_owned());
        let version = match map.get("version").and_then(|v| v.get("model")) {
            Some(Value::String(v)) => semver_of(v),
            _ => None,
        };
        let version = match version {
            Some(v) => v,
            None => {
                if map.get("version").is_some() {
                    self.drop(
                        "a version that is not a semantic version (the definition says 1.0.0)",
                        "/version".into(),
                    );
                }
                "1.0.0".to_owned()
            }
        };
        Ok(ThingInfo {
            title: title.filter(|t| *t != name),
            name,
            description: map
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            version,
        })
    }

    /// The converted names of the keys of `map`, original → converted, failing on a collision.
    /// A SAFEthing export names the definition's own name next to a WoT name
    /// (`safething:name`): that one is used as it is.
    fn convert_names(
        &self,
        map: &Map<String, Value>,
        at: &str,
        convert: fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>, ImportError> {
        let mut out = BTreeMap::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (orig, entry) in map {
            let own = entry
                .get(WOT_NAME)
                .and_then(Value::as_str)
                .filter(|n| naming::is_snake_case(n))
                .map(str::to_owned);
            let Some(name) = own.or_else(|| convert(orig)) else {
                return Err(self.err(
                    &format!("{at}/{}", pointer_token(orig)),
                    format!("the name `{orig}` has no letters or digits to make a name of"),
                ));
            };
            if let Some(first) = seen.insert(name.clone(), orig.clone()) {
                return Err(ImportError::Collision {
                    file: self.file.display().to_string(),
                    pointer: at.to_owned(),
                    first,
                    second: orig.clone(),
                    converted: name,
                });
            }
            out.insert(orig.clone(), name);
        }
        Ok(out)
    }

    fn access(&self, map: &Map<String, Value>, at: &str) -> Result<Access, ImportError> {
        match map.get("safething:access") {
            None => Ok(self.options.access.clone()),
            Some(Value::String(s)) => s
                .parse()
                .map_err(|e| self.err(&format!("{at}/safething:access"), format!("{e}"))),
            Some(_) => Err(self.err(
                &format!("{at}/safething:access"),
                "`safething:access` is not a string",
            )),
        }
    }

    fn property(&mut self, p: &Value, at: &str) -> Result<Attribute, ImportError> {
        let Some(map) = p.as_object() else {
            return Err(self.err(at, "the property is not an object"));
        };
        let read_only = map.get("readOnly").and_then(Value::as_bool) == Some(true);
        let write_only = map.get("writeOnly").and_then(Value::as_bool) == Some(true);
        let observable = map.get("observable").and_then(Value::as_bool) == Some(true);
        let mut schema_map = map.clone();
        for key in PROPERTY_KEYS.iter().chain(&["readOnly", "writeOnly"]) {
            schema_map.remove(*key);
        }
        let history = match map.get("safething:history") {
            None => None,
            Some(v) => Some(v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                self.err(
                    &format!("{at}/safething:history"),
                    "`safething:history` is not a positive whole number",
                )
            })?),
        };
        let access = self.access(map, at)?;
        self.affordance_drops(
            map,
            at,
            PROPERTY_KEYS,
            "uriVariables of a property: a read takes no parameters",
        );
        let mut kind = AttributeKind::Dynamic;
        let mut value = None;
        if read_only
            && !observable
            && history.is_none()
            && let Some(c) = schema_map.remove("const")
        {
            kind = AttributeKind::Static;
            value = Some(c);
        } else if map.get("observable").and_then(Value::as_bool) == Some(false) && !write_only {
            // Dynamic attributes can always be watched: saying so is harmless.
            self.drop(
                "`observable: false` (a dynamic attribute can always be watched)",
                format!("{at}/observable"),
            );
        }
        let mut schema = self.schema(&Value::Object(schema_map), at)?;
        if write_only {
            schema.write_only = Some(true);
        }
        if let Some(v) = &value
            && v.is_null()
        {
            return Err(self.err(&format!("{at}/const"), "`null` cannot be written in TOML"));
        }
        Ok(Attribute {
            schema,
            kind,
            value,
            access,
            history,
            writable: !read_only || write_only,
            wot_name: None,
        })
    }

    fn action(&mut self, a: &Value, at: &str, is_safething: bool) -> Result<Action, ImportError> {
        let Some(map) = a.as_object() else {
            return Err(self.err(at, "the action is not an object"));
        };
        let access = self.access(map, at)?;
        let input = self.payload(map, "input", at)?;
        let output = self.payload(map, "output", at)?;
        let timeout = match map.get("safething:timeout") {
            None => None,
            Some(v) => Some(v.as_u64().map(timeout_of).ok_or_else(|| {
                self.err(
                    &format!("{at}/safething:timeout"),
                    "`safething:timeout` is not a whole number of milliseconds",
                )
            })?),
        };
        if map.get("synchronous").and_then(Value::as_bool) == Some(true) {
            self.drop(
                "`synchronous: true` (SAFEthing actions are queued and answered once done)",
                format!("{at}/synchronous"),
            );
        }
        self.affordance_drops(map, at, ACTION_KEYS, "");
        let mut action = Action {
            title: string(map, "title"),
            description: string(map, "description"),
            input,
            output,
            timeout,
            access,
            safe: map.get("safe").and_then(Value::as_bool) == Some(true),
            idempotent: map.get("idempotent").and_then(Value::as_bool) == Some(true),
            wot_name: None,
        };
        if let Some(vars) = map.get("uriVariables") {
            self.uri_variables(
                &mut action,
                vars,
                &format!("{at}/uriVariables"),
                is_safething,
            )?;
        }
        Ok(action)
    }

    /// An action's `uriVariables` become optional properties of its input object.
    fn uri_variables(
        &mut self,
        action: &mut Action,
        vars: &Value,
        at: &str,
        is_safething: bool,
    ) -> Result<(), ImportError> {
        let Some(vars) = vars.as_object() else {
            return Err(self.err(at, "`uriVariables` is not an object"));
        };
        let vars: Map<String, Value> = vars
            .iter()
            // SAFEthing's own export names the request it tracks: not an input.
            .filter(|(k, _)| !(is_safething && k.as_str() == "request_id"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if vars.is_empty() {
            return Ok(());
        }
        let input = action
            .input
            .get_or_insert_with(|| DataSchema::of(SchemaType::Object));
        if input.ty != Some(SchemaType::Object) || input.reference.is_some() {
            self.drop(
                "uriVariables of an action whose input is not an object",
                at.to_owned(),
            );
            return Ok(());
        }
        let names = self.convert_names(&vars, at, snake_name)?;
        for (orig, name) in names {
            let var_at = format!("{at}/{}", pointer_token(&orig));
            if input.properties.contains_key(&name) {
                return Err(self.err(
                    &var_at,
                    format!("URI variable `{orig}` has the name of a property of the input"),
                ));
            }
            let mut s = self.schema(vars.get(&orig).unwrap_or(&Value::Null), &var_at)?;
            s.wot_name = (orig != name).then_some(orig);
            input.properties.insert(name, s);
        }
        self.notes.push(format!(
            "`{at}`: the URI variables are optional properties of the action's input"
        ));
        Ok(())
    }

    fn event(&mut self, e: &Value, at: &str) -> Result<Event, ImportError> {
        let Some(map) = e.as_object() else {
            return Err(self.err(at, "the event is not an object"));
        };
        let access = self.access(map, at)?;
        let data = self.payload(map, "data", at)?;
        for key in ["subscription", "cancellation", "dataResponse"] {
            if map.contains_key(key) {
                self.drop(
                    "event subscription schemas (subscribing takes no parameters)",
                    format!("{at}/{key}"),
                );
            }
        }
        self.affordance_drops(
            map,
            at,
            EVENT_KEYS,
            "uriVariables of an event: subscribing takes no parameters",
        );
        Ok(Event {
            title: string(map, "title"),
            description: string(map, "description"),
            data,
            access,
            wot_name: None,
        })
    }

    fn payload(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        at: &str,
    ) -> Result<Option<DataSchema>, ImportError> {
        map.get(key)
            .map(|s| self.schema(s, &format!("{at}/{key}")))
            .transpose()
    }

    /// Notes the dropped keys of an affordance: forms, annotations, anything unknown.
    fn affordance_drops(&mut self, map: &Map<String, Value>, at: &str, own: &[&str], uri: &str) {
        for key in map.keys() {
            let p = format!("{at}/{}", pointer_token(key));
            match key.as_str() {
                "forms" => self.drop(
                    "forms (protocol bindings: a SAFEthing device is reached through its key space)",
                    p,
                ),
                "uriVariables" if !uri.is_empty() => self.drop(uri, p),
                k if k.starts_with("safething:") => {}
                "@type" => self.drop("semantic annotations (`@type`, prefixed terms)", p),
                "titles" | "descriptions" => self.drop("multilingual titles and descriptions", p),
                k if k.contains(':') => self.drop("semantic annotations (`@type`, prefixed terms)", p),
                k if own.contains(&k) => {}
                _ => {}
            }
        }
    }

    /// One data schema.
    fn schema(&mut self, v: &Value, at: &str) -> Result<DataSchema, ImportError> {
        let Some(map) = v.as_object() else {
            return Err(self.err(at, "the data schema is not an object"));
        };
        if let Some(r) = map.get(WOT_REF).and_then(Value::as_str)
            && let Some(name) = self.type_names.get(r).cloned()
        {
            return self.reference(map, name, r, at);
        }
        let mut s = DataSchema::default();
        let key_at = |k: &str| format!("{at}/{}", pointer_token(k));
        for (k, val) in map {
            let kp = key_at(k);
            match k.as_str() {
                "type" => {
                    s.ty = Some(match val {
                        Value::String(t) => SchemaType::parse(t)
                            .ok_or_else(|| self.err(&kp, format!("unknown type `{t}`")))?,
                        _ => {
                            return Err(self.err(
                                &kp,
                                "`type` lists several types: write `oneOf` alternatives",
                            ));
                        }
                    });
                }
                "title" => s.title = Some(self.text(val, &kp)?),
                "description" => s.description = Some(self.text(val, &kp)?),
                "format" => s.format = Some(self.text(val, &kp)?),
                "pattern" => s.pattern = Some(self.text(val, &kp)?),
                "contentMediaType" => s.content_media_type = Some(self.text(val, &kp)?),
                "contentEncoding" => s.content_encoding = Some(self.text(val, &kp)?),
                "unit" => {
                    let u = self.text(val, &kp)?;
                    s.unit = Some(units::unit_name(&u).map_or(u, str::to_owned));
                }
                "enum" => {
                    let Some(values) = val.as_array() else {
                        return Err(self.err(&kp, "`enum` is not an array"));
                    };
                    for (i, item) in values.iter().enumerate() {
                        self.not_null(item, &format!("{kp}/{i}"))?;
                    }
                    s.enumeration = Some(values.clone());
                }
                "const" => s.constant = Some(self.not_null(val, &kp)?.clone()),
                "default" => s.default = Some(self.not_null(val, &kp)?.clone()),
                "minimum" => s.minimum = Some(self.number(val, &kp)?),
                "maximum" => s.maximum = Some(self.number(val, &kp)?),
                "exclusiveMinimum" => s.exclusive_minimum = Some(self.number(val, &kp)?),
                "exclusiveMaximum" => s.exclusive_maximum = Some(self.number(val, &kp)?),
                "multipleOf" => s.multiple_of = Some(self.number(val, &kp)?),
                "minLength" => s.min_length = Some(self.count(val, &kp)?),
                "maxLength" => s.max_length = Some(self.count(val, &kp)?),
                "minItems" => s.min_items = Some(self.count(val, &kp)?),
                "maxItems" => s.max_items = Some(self.count(val, &kp)?),
                "readOnly" => s.read_only = val.as_bool(),
                "writeOnly" => s.write_only = val.as_bool(),
                "items" => match val {
                    Value::Array(_) => {
                        return Err(self.err(
                            &kp,
                            "tuple `items` (an array of schemas): a definition's arrays hold \
                             elements of one schema; use an object with named members",
                        ));
                    }
                    _ => s.items = Some(Box::new(self.schema(val, &kp)?)),
                },
                "properties" => {}
                "required" => {}
                "oneOf" => {
                    let Some(alts) = val.as_array() else {
                        return Err(self.err(&kp, "`oneOf` is not an array"));
                    };
                    let mut out = Vec::new();
                    for (i, alt) in alts.iter().enumerate() {
                        out.push(self.schema(alt, &format!("{kp}/{i}"))?);
                    }
                    s.one_of = Some(out);
                }
                "additionalProperties" if val == &Value::Bool(false) => {}
                "additionalProperties" if val.is_object() => {
                    if map.contains_key("properties") {
                        return Err(self.err(
                            &kp,
                            "`additionalProperties` next to `properties` (declared members plus \
                             free ones): a definition's object is either a struct or an open map",
                        ));
                    }
                    s.additional_properties = Some(Box::new(self.schema(val, &kp)?));
                }
                "additionalProperties" if val == &Value::Bool(true) => {
                    if map.contains_key("properties") {
                        return Err(self.err(
                            &kp,
                            "`additionalProperties` next to `properties` (declared members plus \
                             free ones): a definition's object is either a struct or an open map",
                        ));
                    }
                    s.additional_properties = Some(Box::new(any_value()));
                }
                "additionalProperties" => {
                    return Err(self.err(
                        &kp,
                        "`additionalProperties` is neither a schema nor a boolean",
                    ));
                }
                "titles" | "descriptions" => self.drop("multilingual titles and descriptions", kp),
                "$comment" | "examples" | "deprecated" | "comment" => {
                    self.drop("comments and examples", kp);
                }
                "@type" => self.drop("semantic annotations (`@type`, prefixed terms)", kp),
                "observable" => self.drop(
                    "`observable` inside a data schema (only properties are)",
                    kp,
                ),
                k if k.starts_with("safething:") => {}
                k if k.contains(':') => {
                    self.drop("semantic annotations (`@type`, prefixed terms)", kp);
                }
                other => {
                    return Err(self.err(
                        &kp,
                        format!("the data schema keyword `{other}` is not supported"),
                    ));
                }
            }
        }
        if let Some(props) = map.get("properties") {
            let kp = key_at("properties");
            let Some(props) = props.as_object() else {
                return Err(self.err(&kp, "`properties` is not an object"));
            };
            let names = self.convert_names(props, &kp, snake_name)?;
            for (orig, name) in &names {
                let p_at = format!("{kp}/{}", pointer_token(orig));
                let mut p = self.schema(props.get(orig).unwrap_or(&Value::Null), &p_at)?;
                p.wot_name = (orig != name).then(|| orig.clone());
                s.properties.insert(name.clone(), p);
            }
            if let Some(required) = map.get("required") {
                let rp = key_at("required");
                let Some(required) = required.as_array() else {
                    return Err(self.err(&rp, "`required` is not an array"));
                };
                for (i, r) in required.iter().enumerate() {
                    let r = r.as_str().unwrap_or_default();
                    match names.get(r) {
                        Some(name) => s.required.push(name.clone()),
                        None => {
                            return Err(self.err(
                                &format!("{rp}/{i}"),
                                format!("`required` names `{r}`, which is not a property"),
                            ));
                        }
                    }
                }
            }
        } else if map
            .get("required")
            .is_some_and(|r| r.as_array().is_some_and(|a| !a.is_empty()))
        {
            return Err(self.err(&key_at("required"), "`required` without `properties`"));
        }
        // An object that declares no members takes any: an open map of any values.
        if s.ty == Some(SchemaType::Object)
            && s.properties.is_empty()
            && s.additional_properties.is_none()
            && map.get("additionalProperties") != Some(&Value::Bool(false))
        {
            s.additional_properties = Some(Box::new(any_value()));
        }
        // No type: any JSON value.
        if s.ty.is_none() && s.one_of.is_none() && s.enumeration.is_none() && s.constant.is_none() {
            s.any_value = true;
        }
        Ok(s)
    }

    /// A named type's inlined copy (`safething:ref`): the `ref` and the annotations written
    /// next to it (those that differ from the named type's).
    fn reference(
        &mut self,
        map: &Map<String, Value>,
        name: String,
        original: &str,
        at: &str,
    ) -> Result<DataSchema, ImportError> {
        let target = self.raw_types.get(original).cloned().unwrap_or_default();
        let own = |key: &str| map.get(key).filter(|v| target.get(key) != Some(*v));
        let at_key = |key: &str| format!("{at}/{key}");
        let mut s = DataSchema::reference(name);
        if let Some(v) = own("title") {
            s.title = Some(self.text(v, &at_key("title"))?);
        }
        if let Some(v) = own("description") {
            s.description = Some(self.text(v, &at_key("description"))?);
        }
        if let Some(v) = own("unit") {
            let u = self.text(v, &at_key("unit"))?;
            s.unit = Some(units::unit_name(&u).map_or(u, str::to_owned));
        }
        if let Some(v) = own("default") {
            s.default = Some(self.not_null(v, &at_key("default"))?.clone());
        }
        s.read_only = own("readOnly").and_then(Value::as_bool);
        s.write_only = own("writeOnly").and_then(Value::as_bool);
        Ok(s)
    }

    fn text(&self, v: &Value, at: &str) -> Result<String, ImportError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.err(at, "not a string"))
    }

    fn number(&self, v: &Value, at: &str) -> Result<Number, ImportError> {
        match v {
            Value::Number(n) => Ok(n.clone()),
            _ => Err(self.err(at, "not a number")),
        }
    }

    fn count(&self, v: &Value, at: &str) -> Result<u64, ImportError> {
        v.as_u64()
            .ok_or_else(|| self.err(at, "not a non-negative whole number"))
    }

    fn not_null<'v>(&self, v: &'v Value, at: &str) -> Result<&'v Value, ImportError> {
        if contains_null(v) {
            return Err(self.err(
                at,
                "`null` as a value: TOML has no null (make the value optional instead)",
            ));
        }
        Ok(v)
    }
}

fn any_value() -> DataSchema {
    DataSchema {
        any_value: true,
        ..DataSchema::default()
    }
}

fn contains_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.iter().any(contains_null),
        Value::Object(map) => map.values().any(contains_null),
        _ => false,
    }
}

fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A semantic version from a TD's `version.model`: as written, or padded (`1.0` → `1.0.0`).
fn semver_of(v: &str) -> Option<String> {
    let v = v.trim().trim_start_matches('v');
    let candidates = [v.to_owned(), format!("{v}.0"), format!("{v}.0.0")];
    candidates
        .into_iter()
        .find(|c| semver_ok(c))
        .filter(|c| !c.contains(THING_ID_PLACEHOLDER))
}

fn semver_ok(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

/// Milliseconds as the largest whole unit (`3600000` → `1h`), as a definition writes it.
fn timeout_of(ms: u64) -> Timeout {
    let text = match ms {
        0 => "0ms".to_owned(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    };
    Timeout(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_snake_case() {
        let cases = [
            ("onOff", "on_off"),
            ("PowerState", "power_state"),
            ("rgb-value", "rgb_value"),
            ("HTTPServer", "http_server"),
            ("already_snake", "already_snake"),
            ("temp2", "temp2"),
            ("2nd", "n_2nd"),
            ("a  b", "a_b"),
        ];
        for (name, snake) in cases {
            assert_eq!(snake_name(name).as_deref(), Some(snake), "{name}");
            assert!(naming::is_snake_case(snake), "{snake}");
        }
        assert_eq!(snake_name("--"), None);
        assert_eq!(pascal_name("My Lamp Thing").as_deref(), Some("MyLampThing"));
        assert_eq!(pascal_name("MyLampThing").as_deref(), Some("MyLampThing"));
    }

    #[test]
    fn versions_and_timeouts() {
        assert_eq!(semver_of("1.0").as_deref(), Some("1.0.0"));
        assert_eq!(semver_of("v2.1.3").as_deref(), Some("2.1.3"));
        assert_eq!(semver_of("{{VERSION}}"), None);
        assert_eq!(timeout_of(3_600_000).0, "1h");
        assert_eq!(timeout_of(120_000).0, "2m");
        assert_eq!(timeout_of(90_000).0, "90s");
        assert_eq!(timeout_of(1500).0, "1500ms");
    }
}

//! Thing Model composition over local files: `tm:ref`, `tm:extends`, `tm:submodel`, and
//! `{{placeholders}}`. No network access: a remote `href` is an error naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{ImportError, pointer_token};

/// How many models and fragments may be open at once (a chain of `tm:extends` / `tm:ref`):
/// deeper than any real model, and a bound on work for a crafted one.
const MAX_DEPTH: usize = 32;

/// The most files one import may read (every `tm:ref` target, every parent model).
const MAX_FILES: usize = 256;

/// Resolves the composition of one TD or TM and every file it names.
pub(crate) struct Resolver {
    /// Open models and fragments (`file` or `file#pointer`), innermost last: a repeat is a cycle.
    stack: Vec<String>,
    /// Parsed files, by canonical path.
    files: BTreeMap<PathBuf, Value>,
    /// What was resolved, for the dropped/notes comment.
    pub(crate) notes: Vec<String>,
}

impl Resolver {
    pub(crate) fn new() -> Resolver {
        Resolver {
            stack: Vec::new(),
            files: BTreeMap::new(),
            notes: Vec::new(),
        }
    }

    /// The model in `path` with its `tm:ref`s, `tm:extends` and `tm:submodel`s resolved.
    pub(crate) fn model(&mut self, path: &Path) -> Result<Value, ImportError> {
        let canonical = canonical(path)?;
        let key = canonical.display().to_string();
        self.enter(key)?;
        let raw = self.file(&canonical)?;
        let result = self.compose(raw, &canonical);
        self.stack.pop();
        result
    }

    /// The model `doc` (read from `file`) with its composition resolved.
    pub(crate) fn compose(&mut self, mut doc: Value, file: &Path) -> Result<Value, ImportError> {
        self.refs(&mut doc, file, String::new())?;
        let Value::Object(mut map) = doc else {
            return Err(ImportError::unsupported(
                file,
                "",
                "the document is not a JSON object",
            ));
        };
        let links = match map.remove("links") {
            Some(Value::Array(links)) => links,
            Some(_) | None => Vec::new(),
        };
        let mut kept = Vec::new();
        let mut parents = Vec::new();
        let mut submodels = Vec::new();
        for (i, link) in links.into_iter().enumerate() {
            let rel = link.get("rel").and_then(Value::as_str).unwrap_or_default();
            match rel {
                "tm:extends" | "extends" => parents.push((i, link)),
                "tm:submodel" => submodels.push((i, link)),
                _ => kept.push(link),
            }
        }
        if !kept.is_empty() {
            map.insert("links".into(), Value::Array(kept));
        }
        let mut out = Map::new();
        for (i, link) in parents {
            let at = format!("/links/{i}");
            let target = self.linked(&link, file, &at)?;
            let parent = self
                .model(&target)
                .map_err(|e| referenced(e, file, &format!("{at}/href")))?;
            self.notes.push(format!(
                "extends `{}`: its affordances and schemas are merged in, this model's own win",
                target.display()
            ));
            if let Value::Object(p) = parent {
                merge(&mut out, p);
            }
        }
        for (i, link) in submodels {
            let at = format!("/links/{i}");
            let target = self.linked(&link, file, &at)?;
            let sub = self
                .model(&target)
                .map_err(|e| referenced(e, file, &format!("{at}/href")))?;
            let instance = link
                .get("instanceName")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| sub.get("title").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| format!("submodel{i}"));
            self.notes.push(format!(
                "submodel `{instance}` (`{}`): its affordances are named `{instance}_<name>`",
                target.display()
            ));
            submodel(&mut out, &sub, &instance);
        }
        merge(&mut out, map);
        Ok(Value::Object(out))
    }

    /// The local file a link's `href` names.
    fn linked(&self, link: &Value, file: &Path, at: &str) -> Result<PathBuf, ImportError> {
        let href = link.get("href").and_then(Value::as_str).unwrap_or_default();
        let (path, _) = local(href, file, &format!("{at}/href"))?;
        if path.as_os_str().is_empty() {
            return Err(ImportError::unsupported(
                file,
                &format!("{at}/href"),
                "a link to the model itself",
            ));
        }
        Ok(path)
    }

    /// Replaces every object with `tm:ref` in `value` (at JSON pointer `at` of `file`) by the
    /// fragment it names, merged with the object's own keys (which win).
    fn refs(&mut self, value: &mut Value, file: &Path, at: String) -> Result<(), ImportError> {
        match value {
            Value::Object(map) => {
                if let Some(href) = map.remove("tm:ref") {
                    let href_at = format!("{at}/tm:ref");
                    let Some(href) = href.as_str() else {
                        return Err(ImportError::unsupported(
                            file,
                            &href_at,
                            "`tm:ref` is not a string",
                        ));
                    };
                    let fragment = self.fragment(href, file, &href_at)?;
                    let own = std::mem::take(map);
                    let Value::Object(mut base) = fragment else {
                        return Err(ImportError::unsupported(
                            file,
                            &href_at,
                            &format!("`tm:ref` `{href}` does not name a JSON object"),
                        ));
                    };
                    merge(&mut base, own);
                    *map = base;
                }
                for (k, v) in map.iter_mut() {
                    self.refs(v, file, format!("{at}/{}", pointer_token(k)))?;
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    self.refs(v, file, format!("{at}/{i}"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The fragment `href` (`file.json#/pointer` or `#/pointer`) names, resolved.
    fn fragment(&mut self, href: &str, file: &Path, at: &str) -> Result<Value, ImportError> {
        let (path, pointer) = local(href, file, at)?;
        let target = if path.as_os_str().is_empty() {
            file.to_path_buf()
        } else {
            canonical(&path).map_err(|e| referenced(e, file, at))?
        };
        self.enter(format!("{}#{pointer}", target.display()))?;
        let result = (|| {
            let doc = self.file(&target)?;
            let Some(found) = doc.pointer(&pointer) else {
                return Err(ImportError::unsupported(
                    file,
                    at,
                    &format!("`tm:ref` `{href}`: `{pointer}` is not in that document"),
                ));
            };
            let mut found = found.clone();
            self.refs(&mut found, &target, pointer.clone())?;
            Ok(found)
        })();
        self.stack.pop();
        result
    }

    fn enter(&mut self, key: String) -> Result<(), ImportError> {
        if self.stack.contains(&key) {
            let mut chain = self.stack.clone();
            chain.push(key);
            return Err(ImportError::Cycle { chain });
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(ImportError::TooDeep { depth: MAX_DEPTH });
        }
        self.stack.push(key);
        Ok(())
    }

    /// A parsed file, read once.
    fn file(&mut self, canonical: &Path) -> Result<Value, ImportError> {
        if let Some(doc) = self.files.get(canonical) {
            return Ok(doc.clone());
        }
        if self.files.len() >= MAX_FILES {
            return Err(ImportError::TooManyFiles { max: MAX_FILES });
        }
        let doc = read_json(canonical)?;
        self.files.insert(canonical.to_path_buf(), doc.clone());
        Ok(doc)
    }
}

/// A file that could not be read, said from where it was referred to.
fn referenced(e: ImportError, file: &Path, pointer: &str) -> ImportError {
    match e {
        ImportError::Read { path, source } => ImportError::ReadReferenced {
            file: file.display().to_string(),
            pointer: pointer.to_owned(),
            path,
            source,
        },
        other => other,
    }
}

/// Reads and parses one JSON file.
pub(crate) fn read_json(path: &Path) -> Result<Value, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ImportError::Parse {
        path: path.display().to_string(),
        source,
    })
}

fn canonical(path: &Path) -> Result<PathBuf, ImportError> {
    std::fs::canonicalize(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// The local file (relative to `file`'s folder; empty for the same document) and JSON pointer
/// of `href`. Anything with a URI scheme is remote: refused, never fetched.
fn local(href: &str, file: &Path, at: &str) -> Result<(PathBuf, String), ImportError> {
    let (path, fragment) = match href.split_once('#') {
        Some((p, f)) => (p, f.to_owned()),
        None => (href, String::new()),
    };
    let scheme = path.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if scheme {
        return Err(ImportError::Network {
            file: file.display().to_string(),
            pointer: at.to_owned(),
            href: href.to_owned(),
        });
    }
    if path.is_empty() {
        return Ok((PathBuf::new(), fragment));
    }
    let dir = file.parent().unwrap_or_else(|| Path::new("."));
    Ok((dir.join(path), fragment))
}

/// Merges `overlay` into `base`: objects key by key (recursively), anything else replaced.
pub(crate) fn merge(base: &mut Map<String, Value>, overlay: Map<String, Value>) {
    for (k, v) in overlay {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Adds the affordances of a submodel, named `<instance>_<name>`, and its schema definitions.
fn submodel(out: &mut Map<String, Value>, sub: &Value, instance: &str) {
    for section in ["properties", "actions", "events"] {
        let Some(Value::Object(affordances)) = sub.get(section) else {
            continue;
        };
        let renamed: Map<String, Value> = affordances
            .iter()
            .map(|(name, a)| (format!("{instance}_{name}"), a.clone()))
            .collect();
        merge(
            out,
            Map::from_iter([(section.to_owned(), Value::Object(renamed))]),
        );
    }
    if let Some(Value::Object(defs)) = sub.get("schemaDefinitions") {
        merge(
            out,
            Map::from_iter([("schemaDefinitions".to_owned(), Value::Object(defs.clone()))]),
        );
    }
}

/// Keys whose values are dropped by the import anyway: placeholders in them need no value.
const NOT_IMPORTED: &[&str] = &[
    "forms",
    "base",
    "links",
    "securityDefinitions",
    "security",
    "id",
    "@context",
];

/// Replaces every `{{NAME}}` in `doc` (keys and string values, except in what the import
/// drops) with its value. A string that is one placeholder takes the value's JSON type, so
/// `"maximum": "{{MAX}}"` with `MAX=30` becomes the number 30. Every missing name is reported.
pub(crate) fn placeholders(
    doc: &mut Value,
    values: &BTreeMap<String, Value>,
) -> Result<(), ImportError> {
    let mut missing = BTreeSet::new();
    substitute(doc, values, &mut missing);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ImportError::MissingPlaceholders {
            names: missing.into_iter().collect(),
        })
    }
}

fn substitute(v: &mut Value, values: &BTreeMap<String, Value>, missing: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            if let Some(new) = replace(s, values, missing) {
                *v = new;
            }
        }
        Value::Array(items) => {
            for item in items {
                substitute(item, values, missing);
            }
        }
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut item) in old {
                // `$title`, `$description`: the playground's notes about an example.
                if NOT_IMPORTED.contains(&k.as_str()) || k.starts_with('$') {
                    map.insert(k, item);
                    continue;
                }
                let key = match replace(&k, values, missing) {
                    Some(Value::String(s)) => s,
                    Some(other) => other.to_string(),
                    None => k,
                };
                substitute(&mut item, values, missing);
                map.insert(key, item);
            }
        }
        _ => {}
    }
}

/// `text` with its placeholders replaced, or `None` when it has none.
fn replace(
    text: &str,
    values: &BTreeMap<String, Value>,
    missing: &mut BTreeSet<String>,
) -> Option<Value> {
    if !text.contains("{{") {
        return None;
    }
    let mut out = String::new();
    let mut rest = text;
    let mut only: Option<Value> = None;
    let mut pieces = 0;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest.get(start + 2..).and_then(|r| r.find("}}")) else {
            break;
        };
        let name = rest.get(start + 2..start + 2 + len).unwrap_or_default();
        out.push_str(rest.get(..start).unwrap_or_default());
        if !rest.get(..start).unwrap_or_default().is_empty() {
            pieces += 1;
        }
        pieces += 1;
        match values.get(name) {
            Some(value) => {
                only = Some(typed(value));
                match value {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
            }
            None => {
                missing.insert(name.to_owned());
            }
        }
        rest = rest.get(start + 2 + len + 2..).unwrap_or_default();
    }
    if !rest.is_empty() {
        pieces += 1;
    }
    out.push_str(rest);
    match only {
        Some(value) if pieces == 1 => Some(value),
        _ => Some(Value::String(out)),
    }
}

/// A placeholder value as the JSON it stands for: `"30"` is the number 30, `"true"` a boolean.
fn typed(value: &Value) -> Value {
    match value {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
            _ => value.clone(),
        },
        other => other.clone(),
    }
}

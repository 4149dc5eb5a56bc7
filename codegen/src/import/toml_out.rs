//! Writing a definition as TOML: `[thing]`, then one table per named type and affordance, with
//! short nested schemas inline (`properties.level = { type = "number" }`) and longer ones as
//! tables of their own.

use safething_ir::Definition;
use serde_json::{Map, Value};

/// An inline table longer than this becomes a table of its own.
const INLINE_MAX: usize = 72;

/// `def` as definition TOML, or why it cannot be written (a value TOML has no form for).
pub(crate) fn definition(def: &Definition) -> Result<String, String> {
    let json = serde_json::to_value(def).map_err(|e| e.to_string())?;
    let Value::Object(root) = json else {
        return Err("the definition is not an object".into());
    };
    let mut out = String::new();
    for section in ["thing", "types", "attributes", "events", "actions"] {
        let Some(Value::Object(map)) = root.get(section) else {
            continue;
        };
        if section == "thing" {
            table(&mut out, &[section.to_owned()], map, 0)?;
            continue;
        }
        for (name, entry) in map {
            let Value::Object(entry) = entry else {
                return Err(format!("`{section}.{name}` is not a table"));
            };
            table(&mut out, &[section.to_owned(), name.clone()], entry, 0)?;
        }
    }
    Ok(out)
}

/// `[path]` and its keys: scalars, arrays and short tables inline, then longer tables.
fn table(
    out: &mut String,
    path: &[String],
    map: &Map<String, Value>,
    depth: usize,
) -> Result<(), String> {
    header(out, path, false);
    entries(out, path, map, depth)
}

fn header(out: &mut String, path: &[String], array: bool) {
    let (open, close) = if array { ("[[", "]]") } else { ("[", "]") };
    out.push('\n');
    out.push_str(open);
    out.push_str(&path.iter().map(|k| key(k)).collect::<Vec<_>>().join("."));
    out.push_str(close);
    out.push('\n');
}

/// Where a key goes in its table: the format's own order (`type` first), then by name.
fn rank(k: &str) -> usize {
    const ORDER: &[&str] = &[
        "name",
        "title",
        "description",
        "version",
        "type",
        "ref",
        "kind",
        "value",
        "access",
        "writable",
        "history",
        "safe",
        "idempotent",
        "timeout",
        "wot_name",
        "wotName",
        "unit",
        "format",
        "enum",
        "const",
        "default",
        "minimum",
        "exclusiveMinimum",
        "maximum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "contentMediaType",
        "contentEncoding",
        "readOnly",
        "writeOnly",
        "minItems",
        "maxItems",
        "required",
        "items",
        "properties",
        "oneOf",
        "data",
        "input",
        "output",
    ];
    ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len())
}

fn entries(
    out: &mut String,
    path: &[String],
    map: &Map<String, Value>,
    depth: usize,
) -> Result<(), String> {
    let mut later = Vec::new();
    let mut arrays = Vec::new();
    let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
    sorted.sort_by_key(|(k, _)| rank(k));
    for (k, v) in sorted {
        match v {
            Value::Array(items)
                if depth < 8
                    && !items.is_empty()
                    && items.iter().all(Value::is_object)
                    && inline(v)?.len() > INLINE_MAX =>
            {
                arrays.push((k.clone(), items));
            }
            Value::Object(child) if depth < 8 => {
                // `properties` holds named schemas: each is inline or a table of its own.
                if k == "properties" {
                    for (name, p) in child {
                        let text = inline(p)?;
                        match p {
                            Value::Object(pm) if text.len() > INLINE_MAX => {
                                later.push((vec![k.clone(), name.clone()], pm));
                            }
                            _ => {
                                out.push_str(&format!("{}.{} = {text}\n", key(k), key(name)));
                            }
                        }
                    }
                    continue;
                }
                let text = inline(v)?;
                if text.len() > INLINE_MAX {
                    later.push((vec![k.clone()], child));
                } else {
                    out.push_str(&format!("{} = {text}\n", key(k)));
                }
            }
            _ => out.push_str(&format!("{} = {}\n", key(k), inline(v)?)),
        }
    }
    for (keys, child) in later {
        let mut sub = path.to_vec();
        sub.extend(keys);
        table(out, &sub, child, depth + 1)?;
    }
    for (k, items) in arrays {
        let mut sub = path.to_vec();
        sub.push(k);
        for item in items {
            if let Value::Object(item) = item {
                header(out, &sub, true);
                entries(out, &sub, item, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// A value written inline.
fn inline(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Null => return Err("`null` cannot be written in TOML".into()),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if n.is_f64() {
                let text = n.to_string();
                if text.contains(['.', 'e', 'E']) {
                    text
                } else {
                    format!("{text}.0")
                }
            } else if n.as_i64().is_some() {
                n.to_string()
            } else {
                return Err(format!("the integer {n} is too large for TOML"));
            }
        }
        Value::String(s) => string(s),
        Value::Array(items) => {
            let items: Result<Vec<String>, String> = items.iter().map(inline).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Object(map) => {
            if map.is_empty() {
                return Ok("{}".into());
            }
            let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
            sorted.sort_by_key(|(k, _)| rank(k));
            let entries: Result<Vec<String>, String> = sorted
                .into_iter()
                .map(|(k, v)| Ok(format!("{} = {}", key(k), inline(v)?)))
                .collect();
            format!("{{ {} }}", entries?.join(", "))
        }
    })
}

/// A TOML basic string: JSON's escapes are TOML's, plus DEL, which TOML wants escaped.
fn string(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_default()
        .replace('\u{7f}', "\\u007F")
}

/// A key, bare when it can be.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        string(k)
    }
}

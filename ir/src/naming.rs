//! Naming rules shared by validation and every generator, so that "would these collide once
//! generated?" is answered by the same code that generates the names.

/// Whether `name` is a snake_case identifier: `[a-z][a-z0-9]*` words joined by single `_`.
pub fn is_snake_case(name: &str) -> bool {
    let mut words = name.split('_');
    let first_ok = words
        .next()
        .and_then(|w| w.chars().next())
        .is_some_and(|c| c.is_ascii_lowercase());
    first_ok
        && name.split('_').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Whether `name` is a PascalCase identifier: an ASCII capital, then ASCII letters and digits.
pub fn is_pascal_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Converts a snake_case name to PascalCase (`open_valve` -> `OpenValve`).
pub fn pascal_from_snake(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Converts a PascalCase name to snake_case (`GardeningDevice` -> `gardening_device`,
/// `HTTPServer` -> `http_server`), e.g. for file and module names.
pub fn snake_from_pascal(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Converts a snake_case name to camelCase (`open_valve` -> `openValve`), as TypeScript spells it.
pub fn camel_from_snake(name: &str) -> String {
    let pascal = pascal_from_snake(name);
    let mut chars = pascal.chars();
    match chars.next() {
        Some(c) => c.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Words of arbitrary text: split at anything not ASCII alphanumeric and at case changes
/// (`"HTTPServer"` -> `HTTP`, `Server`; `"date-time"` -> `date`, `time`).
pub fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in s.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = chunk.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
            let next = chars.get(i + 1).copied();
            let boundary = c.is_ascii_uppercase()
                && match prev {
                    Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                    Some(p) if p.is_ascii_uppercase() => {
                        next.is_some_and(|n| n.is_ascii_lowercase())
                    }
                    _ => false,
                };
            if boundary && !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

/// A PascalCase name for arbitrary text (an enum value, a title, a tag): `"very-dry"` ->
/// `VeryDry`, `"A4"` -> `A4`, `"LEGAL"` -> `Legal`, `"1st"` -> `V1st`, `""` -> `Empty`.
/// Generators escape keywords on top (Rust: `Self` -> `SelfValue`).
pub fn pascal_from_text(s: &str) -> String {
    let mut out: String = words(s)
        .iter()
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if out.is_empty() {
        out = "Empty".to_owned();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// Makes `names` unique by appending a number to later duplicates (`Open`, `Open2`). Each
/// name remembers the next number to try, so many duplicates (a definition from the network)
/// cost linear, not quadratic, time.
pub fn unique(names: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut next: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    names
        .into_iter()
        .map(|name| {
            if seen.insert(name.clone()) {
                return name;
            }
            let n = next.entry(name.clone()).or_insert(2);
            let mut candidate = format!("{name}{n}");
            while !seen.insert(candidate.clone()) {
                *n += 1;
                candidate = format!("{name}{n}");
            }
            *n += 1;
            candidate
        })
        .collect()
}

/// Names of the types generated for a thing, given its PascalCase name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThingTypeNames {
    /// The device-side handle, e.g. `GardeningDevice`.
    pub device: String,
    /// The handler trait, e.g. `GardeningDeviceHandler`.
    pub handler: String,
    /// The typed client, e.g. `GardeningDeviceClient`.
    pub client: String,
}

impl ThingTypeNames {
    /// The names for thing `name`.
    pub fn new(name: &str) -> ThingTypeNames {
        ThingTypeNames {
            device: name.to_owned(),
            handler: format!("{name}Handler"),
            client: format!("{name}Client"),
        }
    }

    /// All of them.
    pub fn all(&self) -> [&str; 3] {
        [&self.device, &self.handler, &self.client]
    }
}

/// The name of the type generated for an inline object or enum schema at a payload position.
pub fn payload_type_name(affordance: &str, position: PayloadPosition) -> String {
    let base = pascal_from_snake(affordance);
    match position {
        PayloadPosition::Attribute => base,
        PayloadPosition::EventData => format!("{base}Data"),
        PayloadPosition::ActionInput => format!("{base}Input"),
        PayloadPosition::ActionOutput => format!("{base}Output"),
    }
}

/// Where a payload schema sits in a definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayloadPosition {
    /// The value of an attribute.
    Attribute,
    /// The data of an event.
    EventData,
    /// The input of an action.
    ActionInput,
    /// The output of an action.
    ActionOutput,
}

/// The method names a generated API gets for an affordance, in the namespace they share
/// (client and device methods are checked together: one module serves both).
///
/// No name is reserved for the framework: generated clients keep their own operations (`connect`,
/// `id`, `description`, ...) in a trait (`safething::ThingClient`) and TypeScript clients in
/// static members and `thingOf(client)`, and device handles only get `set_`/`emit_` methods, so
/// only affordances can collide with each other.
pub fn attribute_methods(name: &str, has_history: bool, writable: bool) -> Vec<String> {
    let mut methods = vec![
        name.to_owned(),
        format!("watch_{name}"),
        format!("set_{name}"),
    ];
    if has_history {
        methods.push(format!("{name}_history"));
    }
    if writable {
        methods.push(format!("write_{name}"));
    }
    methods
}

/// See [`attribute_methods`].
pub fn event_methods(name: &str) -> Vec<String> {
    vec![format!("on_{name}"), format!("emit_{name}")]
}

/// See [`attribute_methods`].
pub fn action_methods(name: &str) -> Vec<String> {
    vec![name.to_owned()]
}

/// Rust keywords that cannot be raw identifiers; generators append `_` to them.
pub const RUST_NON_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Rust keywords (strict and reserved, 2024 edition); generators escape them as `r#name`.
pub const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// A Rust identifier for `name`: raw (`r#type`) for keywords, `self_` where raw is impossible.
pub fn rust_ident(name: &str) -> String {
    if RUST_NON_RAW.contains(&name) {
        format!("{name}_")
    } else if RUST_KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_owned()
    }
}

/// The known name closest to `unknown`, if it is close enough to be a likely typo: the same
/// name spelled with other separators or case (`min_length` for `minLength`), or a few edits
/// away. Both front ends use it for their "did you mean" hints.
pub fn closest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let norm = normalize(unknown);
    if let Some(k) = known.iter().find(|k| normalize(k) == norm) {
        return Some(k);
    }
    let lower = unknown.to_ascii_lowercase();
    let limit = (unknown.chars().count() / 3).clamp(1, 3);
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Lowercase without separators: `min_length`, `min-length` and `MinLength` all match `minLength`.
fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-' | '$' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Edit distance (insertions, deletions, substitutions and swaps of neighbours, so `tpye` is
/// one edit from `type`), by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case() {
        for ok in ["level", "moisture_level", "a1", "x_2_y", "type"] {
            assert!(is_snake_case(ok), "{ok}");
        }
        for bad in [
            "",
            "Level",
            "_level",
            "level_",
            "a__b",
            "1a",
            "moistureLevel",
            "a-b",
            "é",
        ] {
            assert!(!is_snake_case(bad), "{bad}");
        }
    }

    #[test]
    fn pascal_case() {
        for ok in ["GardeningDevice", "A", "Thing2"] {
            assert!(is_pascal_case(ok), "{ok}");
        }
        for bad in [
            "",
            "gardening",
            "Gardening_Device",
            "2Thing",
            "Gardening Device",
        ] {
            assert!(!is_pascal_case(bad), "{bad}");
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(pascal_from_snake("open_valve"), "OpenValve");
        assert_eq!(camel_from_snake("open_valve"), "openValve");
        assert_eq!(snake_from_pascal("GardeningDevice"), "gardening_device");
        assert_eq!(snake_from_pascal("HTTPServer"), "http_server");
        assert_eq!(snake_from_pascal("Thing2Go"), "thing2_go");
        assert_eq!(snake_from_pascal("A"), "a");
        assert_eq!(
            payload_type_name("open_valve", PayloadPosition::ActionInput),
            "OpenValveInput"
        );
        assert_eq!(rust_ident("type"), "r#type");
        assert_eq!(rust_ident("self"), "self_");
        assert_eq!(rust_ident("level"), "level");
    }

    #[test]
    fn closest_names() {
        let known = ["minimum", "maximum", "minLength", "type", "unit"];
        assert_eq!(closest("maximun", &known), Some("maximum"));
        assert_eq!(closest("min_length", &known), Some("minLength"));
        assert_eq!(closest("tpye", &known), Some("type"));
        assert_eq!(closest("banana", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

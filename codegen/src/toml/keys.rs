//! The keys of the definition format, per table, and "did you mean" hints for the rest.

pub(crate) use safething_ir::keywords::{ACTION, ATTRIBUTE, EVENT, ROOT, SCHEMA, THING};

/// Where a key was found, for messages and hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// The top level of the file.
    Root,
    /// `[thing]`.
    Thing,
    /// An attribute table: attribute keys and schema keywords.
    Attribute,
    /// An event table.
    Event,
    /// An action table.
    Action,
    /// A data schema (named type, payload, nested schema).
    Schema,
}

impl Place {
    /// The keys allowed here.
    pub(crate) fn keys(self) -> Vec<&'static str> {
        match self {
            Place::Root => ROOT.to_vec(),
            Place::Thing => THING.to_vec(),
            Place::Attribute => safething_ir::keywords::ATTRIBUTE_TABLE.to_vec(),
            Place::Event => EVENT.to_vec(),
            Place::Action => ACTION.to_vec(),
            Place::Schema => SCHEMA.to_vec(),
        }
    }

    /// How to name this place in a message ("in an event").
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Place::Root => "at the top level",
            Place::Thing => "in `[thing]`",
            Place::Attribute => "in an attribute",
            Place::Event => "in an event",
            Place::Action => "in an action",
            Place::Schema => "in a data schema",
        }
    }
}

/// A hint for an unknown key: a close spelling, or where the key belongs instead.
pub(crate) fn hint(unknown: &str, place: Place) -> String {
    let keys = place.keys();
    if let Some(close) = closest(unknown, &keys) {
        return format!("did you mean `{close}`?");
    }
    if let Some(elsewhere) = belongs_elsewhere(unknown, place) {
        return elsewhere;
    }
    let list: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    format!("known keys here: {}", list.join(", "))
}

fn belongs_elsewhere(key: &str, place: Place) -> Option<String> {
    let owner = if ATTRIBUTE.contains(&key) {
        "attributes"
    } else if ACTION.contains(&key) {
        "actions"
    } else if EVENT.contains(&key) {
        "events"
    } else if SCHEMA.contains(&key) {
        "data schemas"
    } else if THING.contains(&key) {
        "`[thing]`"
    } else if ROOT.contains(&key) {
        "the top level"
    } else if key == "$schema" {
        return Some(
            "point editors at the schema with a `#:schema ./path.schema.json` comment instead"
                .into(),
        );
    } else {
        return None;
    };
    let extra = match (key, place) {
        ("value", Place::Schema) => "; for a fixed value use `const`, for an initial one `default`",
        ("data" | "input" | "output", Place::Attribute) => {
            "; an attribute's schema keywords sit directly in its table"
        }
        _ => "",
    };
    Some(format!(
        "`{key}` is a key of {owner}, not allowed {}{extra}",
        place.describe()
    ))
}

/// The known key closest to `unknown` (shared with the derive front end).
pub(crate) use safething_ir::naming::closest;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys() {
        assert_eq!(closest("maximun", &SCHEMA), Some("maximum"));
        assert_eq!(closest("min_length", &SCHEMA), Some("minLength"));
        assert_eq!(
            closest("exclusiveminimum", &SCHEMA),
            Some("exclusiveMinimum")
        );
        assert_eq!(closest("tpye", &SCHEMA), Some("type"));
        assert_eq!(closest("banana", &SCHEMA), None);
        assert_eq!(closest("unti", &SCHEMA), Some("unit"));
    }

    #[test]
    fn hints_where_a_key_belongs() {
        assert!(hint("history", Place::Event).contains("is a key of attributes"));
        assert!(hint("zzzzzz", Place::Thing).contains("`version`"));
    }
}

//! The definition of a thing type: its metadata, named types and affordances.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::DataSchema;

/// A thing type: what a device of this kind offers and who may use it.
///
/// Built by a front end (TOML or `#[derive(SafeThing)]`), checked once with
/// [`Definition::validate`], then handed to generators and to the runtime.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Name, title and version of the thing type.
    pub thing: ThingInfo,
    /// Named, reusable data schemas, referred to with `ref`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, DataSchema>,
    /// Named, typed values of the thing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Attribute>,
    /// Named notifications the thing emits.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, Event>,
    /// Named requests the thing serves.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<String, Action>,
}

/// The `[thing]` table: identity of the thing type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThingInfo {
    /// PascalCase name; generated type names derive from it.
    pub name: String,
    /// Human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Semantic version of this definition.
    pub version: String,
}

/// Who may use an affordance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone.
    All,
    /// Members of the thing's groups (and its owner).
    Group,
    /// The owner only.
    #[default]
    Owner,
    /// The thing itself only: never leaves the device.
    Thing,
}

/// A spelling that is none of the four access types: front ends report it while lowering,
/// where they still know its place in the source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown access type `{0}`")]
pub struct UnknownAccess(pub String);

impl UnknownAccess {
    /// What to write instead.
    pub const HELP: &'static str = "use one of: all, group, owner, thing";
}

impl Access {
    /// The four valid access types, from least to most restrictive.
    pub const KNOWN: [Access; 4] = [Access::All, Access::Group, Access::Owner, Access::Thing];

    /// The keyword spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Access::All => "all",
            Access::Group => "group",
            Access::Owner => "owner",
            Access::Thing => "thing",
        }
    }

    fn is_default(&self) -> bool {
        *self == Access::Owner
    }
}

impl FromStr for Access {
    type Err = UnknownAccess;

    fn from_str(s: &str) -> Result<Access, UnknownAccess> {
        match s {
            "all" => Ok(Access::All),
            "group" => Ok(Access::Group),
            "owner" => Ok(Access::Owner),
            "thing" => Ok(Access::Thing),
            other => Err(UnknownAccess(other.to_owned())),
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an attribute is part of the description or updated by the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttributeKind {
    /// Fixed for the thing's life (firmware version, model); carries its `value`.
    Static,
    /// Updated by the device; the current value is retained.
    #[default]
    Dynamic,
}

impl AttributeKind {
    fn is_default(&self) -> bool {
        *self == AttributeKind::Dynamic
    }
}

// Deserialized by hand: `#[serde(flatten)]` cannot be combined with `deny_unknown_fields`,
// and unknown keys must be errors here as everywhere else in a definition.
/// A named, typed value of the thing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct Attribute {
    /// The value's schema (its keywords sit directly in the attribute's table).
    #[serde(flatten)]
    pub schema: DataSchema,
    /// `static` or `dynamic` (default).
    #[serde(default, skip_serializing_if = "AttributeKind::is_default")]
    pub kind: AttributeKind,
    /// The value of a static attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Who may read (and write) it; default `owner`.
    #[serde(default, skip_serializing_if = "Access::is_default")]
    pub access: Access,
    /// Keep the last N values, readable by clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<u64>,
    /// Clients may write it; the device's handler accepts or rejects each write.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub writable: bool,
    /// The affordance's name in W3C WoT documents when it is not the snake_case name (an
    /// imported `onOff`): TD and TM exports use it, so an import gives the original back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wot_name: Option<String>,
}

/// The keys of the definition format, by table: the one list both front ends and the
/// deserializers check against.
pub mod keywords {
    /// Top-level tables.
    pub const ROOT: [&str; 5] = ["thing", "types", "attributes", "events", "actions"];

    /// Keys of `[thing]`.
    pub const THING: [&str; 4] = ["name", "title", "description", "version"];

    /// Keys of an attribute table besides the schema keywords flattened into it.
    pub const ATTRIBUTE: [&str; 6] = ["kind", "value", "access", "history", "writable", "wot_name"];

    /// Keys of an event table.
    pub const EVENT: [&str; 5] = ["title", "description", "data", "access", "wot_name"];

    /// Keys of an action table.
    pub const ACTION: [&str; 9] = [
        "title",
        "description",
        "input",
        "output",
        "timeout",
        "access",
        "safe",
        "idempotent",
        "wot_name",
    ];

    /// Data schema keywords, spelled as in JSON Schema (and in the fields of `DataSchema`).
    pub const SCHEMA: [&str; 30] = [
        "type",
        "ref",
        "title",
        "description",
        "enum",
        "const",
        "default",
        "unit",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "items",
        "minItems",
        "maxItems",
        "properties",
        "required",
        "additionalProperties",
        "oneOf",
        "anyValue",
        "readOnly",
        "writeOnly",
        "contentMediaType",
        "contentEncoding",
        "wotName",
    ];

    /// Every key an attribute table may hold: its own, then the schema keywords.
    pub const ATTRIBUTE_TABLE: [&str; 36] = {
        let mut out = [""; 36];
        let mut i = 0;
        while i < ATTRIBUTE.len() {
            out[i] = ATTRIBUTE[i];
            i += 1;
        }
        while i < out.len() {
            out[i] = SCHEMA[i - ATTRIBUTE.len()];
            i += 1;
        }
        out
    };
}

use keywords::ATTRIBUTE_TABLE as ATTRIBUTE_FIELDS;

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(AttributeVisitor)
    }
}

struct AttributeVisitor;

impl<'de> serde::de::Visitor<'de> for AttributeVisitor {
    type Value = Attribute;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute table")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Attribute, A::Error> {
        use serde::de::Error;
        let mut attr = Attribute::default();
        let mut seen: Vec<String> = Vec::new();
        let mut schema = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Some(field) = ATTRIBUTE_FIELDS.iter().find(|f| **f == key) else {
                return Err(A::Error::unknown_field(&key, &ATTRIBUTE_FIELDS));
            };
            if seen.contains(&key) {
                return Err(A::Error::duplicate_field(field));
            }
            seen.push(key.clone());
            match key.as_str() {
                "kind" => attr.kind = map.next_value()?,
                "value" => attr.value = map.next_value()?,
                "access" => attr.access = map.next_value()?,
                "history" => attr.history = map.next_value()?,
                "writable" => attr.writable = map.next_value()?,
                "wot_name" => attr.wot_name = map.next_value()?,
                _ => {
                    schema.insert(key, map.next_value::<Value>()?);
                }
            }
        }
        attr.schema = DataSchema::deserialize(Value::Object(schema)).map_err(A::Error::custom)?;
        Ok(attr)
    }
}

/// A named notification with a typed payload.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Schema of the payload; none for a bare notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSchema>,
    /// Who may receive it; default `owner`.
    #[serde(default, skip_serializing_if = "Access::is_default")]
    pub access: Access,
    /// The event's name in W3C WoT documents, when not the snake_case name (see
    /// [`Attribute::wot_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wot_name: Option<String>,
}

/// A named request with typed input and output, executed asynchronously.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Schema of the input; none when the action takes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<DataSchema>,
    /// Schema of the output; none when the action returns none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<DataSchema>,
    /// Default deadline of a request, e.g. `"30s"`, `"500ms"`, `"1m30s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// Who may request it; default `owner`.
    #[serde(default, skip_serializing_if = "Access::is_default")]
    pub access: Access,
    /// The action only reads state (WoT `safe`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub safe: bool,
    /// Repeating it with the same input has the same effect (WoT `idempotent`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub idempotent: bool,
    /// The action's name in W3C WoT documents, when not the snake_case name (see
    /// [`Attribute::wot_name`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wot_name: Option<String>,
}

/// A duration as written in a definition: digits and a unit (`ms`, `s`, `m`, `h`),
/// repeated (`"1m30s"`). Kept as written; [`Timeout::duration`] parses it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Timeout(pub String);

impl Action {
    /// The deadline of a request when neither the definition's `timeout` nor the requester
    /// sets one. Devices and clients both use it, so that they agree on it.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

    /// The definition's `timeout`, when it sets a valid one.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.as_ref().and_then(|t| t.duration().ok())
    }
}

impl Timeout {
    /// The duration, or why the text is not one.
    pub fn duration(&self) -> Result<Duration, String> {
        crate::duration::parse(&self.0)
    }
}

impl From<&str> for Timeout {
    fn from(s: &str) -> Self {
        Timeout(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attribute_rejects_unknown_keys_and_keeps_every_known_one() {
        let err = serde_json::from_value::<Attribute>(json!({"type": "number", "bogus": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `bogus`"), "{err}");
        let err = serde_json::from_value::<Attribute>(json!({"type": "number", "kind": "x"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `x`"), "{err}");

        let attr: Attribute = serde_json::from_value(json!({
            "type": "integer", "minimum": 1, "unit": "s", "kind": "static", "value": 3,
            "access": "all", "history": 2, "writable": true,
        }))
        .unwrap();
        assert_eq!(attr.kind, AttributeKind::Static);
        assert_eq!(attr.value, Some(json!(3)));
        assert_eq!(attr.access, Access::All);
        assert_eq!(attr.history, Some(2));
        assert!(attr.writable);
        assert_eq!(attr.schema.unit.as_deref(), Some("s"));
        // Round trip through the derived Serialize.
        let back: Attribute = serde_json::from_value(serde_json::to_value(&attr).unwrap()).unwrap();
        assert_eq!(back, attr);
    }

    #[test]
    fn attribute_field_list_matches_data_schema() {
        // Every schema keyword the list names is accepted by DataSchema, and vice versa.
        let schema_keys = &ATTRIBUTE_FIELDS[keywords::ATTRIBUTE.len()..];
        let err = serde_json::from_value::<DataSchema>(json!({"no_such_key": 1}))
            .unwrap_err()
            .to_string();
        for key in schema_keys {
            assert!(
                err.contains(&format!("`{key}`")),
                "{key} is not a DataSchema field: {err}"
            );
        }
        assert_eq!(err.matches('`').count() / 2 - 1, schema_keys.len(), "{err}");
    }
}

//! Data schemas: the JSON Schema / WoT DataSchema subset a definition may use.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

/// The JSON type of a value, as named by the `type` keyword.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SchemaType {
    /// `true` or `false`.
    Boolean,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// A UTF-8 string.
    String,
    /// A JSON object with named properties.
    Object,
    /// A JSON array.
    Array,
    /// The JSON `null`.
    Null,
}

impl SchemaType {
    /// The keyword spelling (`"integer"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Boolean => "boolean",
            SchemaType::Integer => "integer",
            SchemaType::Number => "number",
            SchemaType::String => "string",
            SchemaType::Object => "object",
            SchemaType::Array => "array",
            SchemaType::Null => "null",
        }
    }

    /// Every type, in keyword order.
    pub const ALL: [SchemaType; 7] = [
        SchemaType::Boolean,
        SchemaType::Integer,
        SchemaType::Number,
        SchemaType::String,
        SchemaType::Object,
        SchemaType::Array,
        SchemaType::Null,
    ];

    /// Parses a keyword spelling.
    pub fn parse(s: &str) -> Option<SchemaType> {
        SchemaType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A data schema: the type and constraints of a value.
///
/// Keywords keep their JSON Schema spelling on the wire and in TOML
/// (`exclusiveMinimum`, `minLength`, ...). `ref` names a schema declared under `[types]`.
/// Objects are closed: properties not declared are rejected.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataSchema {
    /// The JSON type. Absent only together with `ref`, `oneOf`, `enum`, `const` or `anyValue`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<SchemaType>,
    /// A named schema from the definition's `types`, used instead of an inline one.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// A short human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A human description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The only values allowed.
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub enumeration: Option<Vec<Value>>,
    /// The one value allowed.
    #[serde(rename = "const", default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<Value>,
    /// The value assumed when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// The unit of a number (e.g. `percent`, `celsius`), an annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// A string format (`date-time`, `uri`, ...), an annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Inclusive lower bound of a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<Number>,
    /// Inclusive upper bound of a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<Number>,
    /// Exclusive lower bound of a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive_minimum: Option<Number>,
    /// Exclusive upper bound of a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive_maximum: Option<Number>,
    /// A number must be a multiple of this (positive) number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiple_of: Option<Number>,
    /// Minimum string length, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Maximum string length, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// A regular expression a string must match (unanchored, as in JSON Schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The schema of every array element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Box<DataSchema>>,
    /// Minimum number of array elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// Maximum number of array elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// The properties of an object, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, DataSchema>,
    /// Properties that must be present.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// Any JSON value at all (a WoT schema without `type`): Rust `serde_json::Value`,
    /// TypeScript `Json`. Written instead of `type`, so that a forgotten `type` stays an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub any_value: bool,
    /// An open map: an object whose members, named freely, all match this schema (Rust
    /// `BTreeMap<String, T>`, TypeScript `Record<string, T>`). Not combined with `properties`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<Box<DataSchema>>,
    /// The value must match exactly one of these schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<DataSchema>>,
    /// The value is only ever sent by the thing, never written by clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// The value is only ever written by clients, never read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_only: Option<bool>,
    /// Media type of string content (e.g. `image/png`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_media_type: Option<String>,
    /// Encoding of string content (e.g. `base64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// The name of this object property in W3C WoT documents when it is not the snake_case
    /// name it has here (an imported `rgbValue`): an annotation TD and TM exports use, so an
    /// import gives the original back. Only meaningful on a schema under `properties`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wot_name: Option<String>,
}

impl DataSchema {
    /// A schema of one JSON type and nothing else.
    pub fn of(ty: SchemaType) -> DataSchema {
        DataSchema {
            ty: Some(ty),
            ..DataSchema::default()
        }
    }

    /// A schema that refers to the named type `name`.
    pub fn reference(name: impl Into<String>) -> DataSchema {
        DataSchema {
            reference: Some(name.into()),
            ..DataSchema::default()
        }
    }

    /// Whether this is an open map: an object with `additionalProperties` and no `properties`.
    pub fn is_map(&self) -> bool {
        self.additional_properties.is_some()
            && self.properties.is_empty()
            && matches!(self.ty, None | Some(SchemaType::Object))
    }

    /// Whether the property `name` is listed in `required`.
    pub fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }

    /// The schemas directly nested in this one, with the path segments that lead to them.
    pub fn children(&self) -> impl Iterator<Item = (ChildKey<'_>, &DataSchema)> {
        let items = self.items.iter().map(|s| (ChildKey::Items, &**s));
        let props = self
            .properties
            .iter()
            .map(|(name, s)| (ChildKey::Property(name), s));
        let one_of = self
            .one_of
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, s)| (ChildKey::OneOf(i), s));
        let values = self
            .additional_properties
            .iter()
            .map(|s| (ChildKey::AdditionalProperties, &**s));
        items.chain(props).chain(one_of).chain(values)
    }
}

/// Where a nested schema sits inside its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKey<'a> {
    /// `items`
    Items,
    /// `properties.<name>`
    Property(&'a str),
    /// `oneOf[<index>]`
    OneOf(usize),
    /// `additionalProperties` (the values of an open map)
    AdditionalProperties,
}

/// Compares two JSON numbers exactly where both are integers, else as `f64`.
pub fn cmp_numbers(a: &Number, b: &Number) -> Option<std::cmp::Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    // Mixed signs or floats: an i64 and a u64 beyond i64::MAX compare correctly as i128.
    if let (Some(x), Some(y)) = (as_i128(a), as_i128(b)) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

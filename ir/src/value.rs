//! Checking JSON values against data schemas.
//!
//! Schemas are compiled once (refs resolved and shared, patterns compiled), then used for
//! every payload that crosses the network. Compilation never fails: problems in the schema
//! itself (unknown refs, cycles, bad patterns) are the business of
//! [`Definition::validate`](crate::Definition::validate), and a compiled schema simply does not
//! enforce what it could not understand.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use regex::Regex;
use serde_json::{Number, Value};

use crate::schema::{DataSchema, SchemaType, cmp_numbers};
use crate::union::tagged_union;

/// How deep values and ref chains may nest before we stop looking.
const MAX_DEPTH: usize = 64;

/// The fewest steps (schema-against-value comparisons) a check may take before it gives up.
const MIN_STEPS: u64 = 1_000_000;

/// Steps a check may take per node of the value, above [`MIN_STEPS`]: nested `oneOf`s check
/// one value against every alternative, so without a budget a small definition could make a
/// single check take exponential time.
const STEPS_PER_NODE: u64 = 256;

/// A data schema ready to check values.
#[derive(Clone, Debug)]
pub struct CompiledSchema(Arc<Node>);

#[derive(Debug, Default)]
struct Node {
    ty: Option<SchemaType>,
    reference: Option<CompiledSchema>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    minimum: Option<Number>,
    maximum: Option<Number>,
    exclusive_minimum: Option<Number>,
    exclusive_maximum: Option<Number>,
    multiple_of: Option<Number>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<Regex>,
    items: Option<CompiledSchema>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    properties: BTreeMap<String, CompiledSchema>,
    required: Vec<String>,
    /// The schema of every member of an open map.
    values: Option<CompiledSchema>,
    one_of: Vec<CompiledSchema>,
    /// The tag property of a tagged union ([`crate::union`]) and its value in each of `one_of`:
    /// the value's tag picks the one alternative to check, so errors are that alternative's.
    tag: Option<(String, Vec<Value>)>,
}

/// Compiles schemas of one definition, sharing each named type's compiled form.
pub struct Compiler<'a> {
    types: &'a BTreeMap<String, DataSchema>,
    compiled: BTreeMap<String, CompiledSchema>,
    in_progress: Vec<String>,
    /// Each distinct pattern compiled once, however many schemas (or compilations) use it.
    patterns: HashMap<String, Result<Regex, String>>,
    /// Schemas compiled so far: the work done, for tests that show the checks are linear.
    steps: u64,
}

impl<'a> Compiler<'a> {
    /// A compiler resolving `ref`s in `types`.
    pub fn new(types: &'a BTreeMap<String, DataSchema>) -> Compiler<'a> {
        Compiler {
            types,
            compiled: BTreeMap::new(),
            in_progress: Vec::new(),
            patterns: HashMap::new(),
            steps: 0,
        }
    }

    /// How many schemas were compiled (each named type once, however often it is used).
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Compiles one schema.
    pub fn compile(&mut self, schema: &DataSchema) -> CompiledSchema {
        self.compile_at(schema, 0)
    }

    fn compile_at(&mut self, schema: &DataSchema, depth: usize) -> CompiledSchema {
        self.steps += 1;
        if depth > MAX_DEPTH {
            return CompiledSchema(Arc::new(Node::default()));
        }
        let reference = schema
            .reference
            .as_deref()
            .and_then(|name| self.named(name, depth));
        let node = Node {
            ty: schema.ty,
            reference,
            enumeration: schema.enumeration.clone(),
            constant: schema.constant.clone(),
            minimum: schema.minimum.clone(),
            maximum: schema.maximum.clone(),
            exclusive_minimum: schema.exclusive_minimum.clone(),
            exclusive_maximum: schema.exclusive_maximum.clone(),
            multiple_of: schema.multiple_of.clone(),
            min_length: schema.min_length,
            max_length: schema.max_length,
            // An invalid pattern is reported by validation; here it is simply not enforced.
            pattern: schema.pattern.as_deref().and_then(|p| self.pattern(p).ok()),
            items: schema
                .items
                .as_deref()
                .map(|s| self.compile_at(s, depth + 1)),
            min_items: schema.min_items,
            max_items: schema.max_items,
            properties: schema
                .properties
                .iter()
                .map(|(name, s)| (name.clone(), self.compile_at(s, depth + 1)))
                .collect(),
            required: schema.required.clone(),
            values: schema
                .additional_properties
                .as_deref()
                .map(|s| self.compile_at(s, depth + 1)),
            one_of: schema
                .one_of
                .iter()
                .flatten()
                .map(|s| self.compile_at(s, depth + 1))
                .collect(),
            tag: tagged_union(schema, self.types).map(|u| {
                let values = u.variants.iter().map(|v| v.value.clone()).collect();
                (u.tag.to_owned(), values)
            }),
        };
        CompiledSchema(Arc::new(node))
    }

    /// How many distinct patterns were compiled.
    #[cfg(test)]
    pub(crate) fn patterns_compiled(&self) -> usize {
        self.patterns.len()
    }

    /// The compiled `pattern`, or the regex crate's error, compiled at most once.
    pub(crate) fn pattern(&mut self, pattern: &str) -> Result<Regex, String> {
        if let Some(done) = self.patterns.get(pattern) {
            return done.clone();
        }
        let compiled = Regex::new(pattern).map_err(|e| e.to_string());
        self.patterns.insert(pattern.to_owned(), compiled.clone());
        compiled
    }

    fn named(&mut self, name: &str, depth: usize) -> Option<CompiledSchema> {
        if let Some(done) = self.compiled.get(name) {
            return Some(done.clone());
        }
        // Unknown or cyclic refs are validation errors; compiled, they constrain nothing.
        let schema = self.types.get(name)?;
        if self.in_progress.iter().any(|n| n == name) {
            return None;
        }
        self.in_progress.push(name.to_owned());
        let compiled = self.compile_at(schema, depth + 1);
        self.in_progress.pop();
        self.compiled.insert(name.to_owned(), compiled.clone());
        Some(compiled)
    }
}

/// Why a value does not match its schema.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Violation {
    /// The value has the wrong JSON type.
    Type {
        /// What the schema wants.
        expected: SchemaType,
        /// What the value is.
        found: &'static str,
    },
    /// Below `minimum` (or at/below `exclusiveMinimum`).
    Minimum {
        /// The bound.
        limit: Number,
        /// Whether the bound itself is excluded.
        exclusive: bool,
    },
    /// Above `maximum` (or at/above `exclusiveMaximum`).
    Maximum {
        /// The bound.
        limit: Number,
        /// Whether the bound itself is excluded.
        exclusive: bool,
    },
    /// Not a multiple of `multipleOf`.
    MultipleOf(Number),
    /// Shorter than `minLength` characters.
    MinLength(u64),
    /// Longer than `maxLength` characters.
    MaxLength(u64),
    /// Does not match `pattern`.
    Pattern(String),
    /// Fewer than `minItems` elements.
    MinItems(u64),
    /// More than `maxItems` elements.
    MaxItems(u64),
    /// A required property is absent.
    MissingProperty(String),
    /// A property the schema does not declare.
    UnknownProperty(String),
    /// Not one of the `enum` values.
    NotInEnum(Vec<Value>),
    /// Not the `const` value.
    NotConst(Value),
    /// The tag of a tagged union (a `oneOf` of objects told apart by a `const` property) is
    /// none of its alternatives' (the error's path ends at the tag property).
    Tag {
        /// The tag values of the alternatives.
        expected: Vec<Value>,
        /// The value found.
        found: Value,
    },
    /// Matches none, or more than one, of the `oneOf` schemas.
    OneOf {
        /// How many alternatives matched.
        matched: usize,
    },
    /// Nested deeper than the runtime is willing to look.
    TooDeep,
    /// The check took more steps than its budget (nested `oneOf`s, each checking the value
    /// against every alternative): the value is refused rather than checked for ever.
    TooComplex,
}

impl Violation {
    /// The schema keyword that was violated, e.g. `maximum`.
    pub fn keyword(&self) -> &'static str {
        match self {
            Violation::Type { .. } => "type",
            Violation::Minimum {
                exclusive: false, ..
            } => "minimum",
            Violation::Minimum {
                exclusive: true, ..
            } => "exclusiveMinimum",
            Violation::Maximum {
                exclusive: false, ..
            } => "maximum",
            Violation::Maximum {
                exclusive: true, ..
            } => "exclusiveMaximum",
            Violation::MultipleOf(_) => "multipleOf",
            Violation::MinLength(_) => "minLength",
            Violation::MaxLength(_) => "maxLength",
            Violation::Pattern(_) => "pattern",
            Violation::MinItems(_) => "minItems",
            Violation::MaxItems(_) => "maxItems",
            Violation::MissingProperty(_) => "required",
            Violation::UnknownProperty(_) => "properties",
            Violation::NotInEnum(_) => "enum",
            Violation::NotConst(_) => "const",
            Violation::OneOf { .. } | Violation::Tag { .. } => "oneOf",
            Violation::TooDeep => "depth",
            Violation::TooComplex => "oneOf",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Type { expected, found } => write!(f, "expected {expected}, found {found}"),
            Violation::Minimum {
                limit,
                exclusive: false,
            } => write!(f, "less than the minimum {limit}"),
            Violation::Minimum {
                limit,
                exclusive: true,
            } => {
                write!(f, "not greater than the exclusive minimum {limit}")
            }
            Violation::Maximum {
                limit,
                exclusive: false,
            } => {
                write!(f, "greater than the maximum {limit}")
            }
            Violation::Maximum {
                limit,
                exclusive: true,
            } => {
                write!(f, "not less than the exclusive maximum {limit}")
            }
            Violation::MultipleOf(m) => write!(f, "not a multiple of {m}"),
            Violation::MinLength(n) => write!(f, "shorter than {n} characters"),
            Violation::MaxLength(n) => write!(f, "longer than {n} characters"),
            Violation::Pattern(p) => write!(f, "does not match the pattern `{p}`"),
            Violation::MinItems(n) => write!(f, "fewer than {n} items"),
            Violation::MaxItems(n) => write!(f, "more than {n} items"),
            Violation::MissingProperty(p) => write!(f, "missing required property `{p}`"),
            Violation::UnknownProperty(p) => write!(f, "unknown property `{p}`"),
            Violation::NotInEnum(values) => {
                let list: Vec<String> = values.iter().map(Value::to_string).collect();
                write!(f, "not one of {}", list.join(", "))
            }
            Violation::NotConst(v) => write!(f, "not the constant {v}"),
            Violation::Tag { expected, found } => {
                let list: Vec<String> = expected
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                write!(f, "expected one of {}, found {found}", list.join(", "))
            }
            Violation::OneOf { matched: 0 } => {
                f.write_str("matches none of the oneOf alternatives")
            }
            Violation::OneOf { matched } => {
                write!(
                    f,
                    "matches {matched} of the oneOf alternatives, not exactly one"
                )
            }
            Violation::TooDeep => write!(f, "nested deeper than {MAX_DEPTH} levels"),
            Violation::TooComplex => {
                f.write_str("too costly to check against its schema (nested `oneOf`s)")
            }
        }
    }
}

/// A value that does not match its schema: where, and which rule.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}: {violation}", if path.is_empty() { "value" } else { path.as_str() })]
pub struct ValueError {
    /// JSON pointer to the offending part (`""` for the value itself, `/psi`, `/items/2`).
    pub path: String,
    /// The rule it breaks.
    pub violation: Violation,
}

/// Checks a payload against its schema, where `None` (an affordance without a payload, as in
/// [`PayloadSchemas`](crate::PayloadSchemas)) accepts only `null`.
pub fn check_payload(schema: Option<&CompiledSchema>, value: &Value) -> Result<(), ValueError> {
    match schema {
        Some(schema) => schema.check(value),
        None if value.is_null() => Ok(()),
        None => Err(ValueError {
            path: String::new(),
            violation: Violation::Type {
                expected: SchemaType::Null,
                found: json_type_name(value),
            },
        }),
    }
}

impl CompiledSchema {
    /// A schema that accepts any value (a payload the definition leaves open).
    pub fn any() -> CompiledSchema {
        CompiledSchema(Arc::new(Node::default()))
    }

    /// Checks `value`; the first problem found is returned.
    pub fn check(&self, value: &Value) -> Result<(), ValueError> {
        let mut path = String::new();
        let nodes = count_nodes(value);
        let mut budget = MIN_STEPS.max(nodes.saturating_mul(STEPS_PER_NODE));
        self.check_at(value, &mut path, 0, &mut budget)
            .map_err(|violation| ValueError { path, violation })
    }

    /// Whether `value` matches.
    pub fn accepts(&self, value: &Value) -> bool {
        self.check(value).is_ok()
    }

    fn check_at(
        &self,
        value: &Value,
        path: &mut String,
        depth: usize,
        budget: &mut u64,
    ) -> Result<(), Violation> {
        if depth > MAX_DEPTH {
            return Err(Violation::TooDeep);
        }
        *budget = budget.checked_sub(1).ok_or(Violation::TooComplex)?;
        let node = &*self.0;
        if let Some(target) = &node.reference {
            target.check_at(value, path, depth + 1, budget)?;
        }
        if let Some(ty) = node.ty {
            check_type(ty, value)?;
        }
        if let Some(values) = &node.enumeration
            && !values.iter().any(|v| json_equal(v, value))
        {
            return Err(Violation::NotInEnum(values.clone()));
        }
        if let Some(c) = &node.constant
            && !json_equal(c, value)
        {
            return Err(Violation::NotConst(c.clone()));
        }
        match value {
            Value::Number(n) => node.check_number(n)?,
            Value::String(s) => node.check_string(s)?,
            Value::Array(items) => {
                let len = items.len() as u64;
                if node.min_items.is_some_and(|min| len < min) {
                    return Err(Violation::MinItems(node.min_items.unwrap_or_default()));
                }
                if node.max_items.is_some_and(|max| len > max) {
                    return Err(Violation::MaxItems(node.max_items.unwrap_or_default()));
                }
                if let Some(schema) = &node.items {
                    for (i, item) in items.iter().enumerate() {
                        let mark = path.len();
                        path.push('/');
                        path.push_str(&i.to_string());
                        schema.check_at(item, path, depth + 1, budget)?;
                        path.truncate(mark);
                    }
                }
            }
            Value::Object(map) => {
                if node.ty == Some(SchemaType::Object)
                    || !node.properties.is_empty()
                    || node.values.is_some()
                {
                    for name in &node.required {
                        if !map.contains_key(name) {
                            return Err(Violation::MissingProperty(name.clone()));
                        }
                    }
                    for (name, v) in map {
                        let Some(schema) = node.properties.get(name).or(node.values.as_ref())
                        else {
                            return Err(Violation::UnknownProperty(name.clone()));
                        };
                        let mark = path.len();
                        path.push('/');
                        push_pointer_token(path, name);
                        schema.check_at(v, path, depth + 1, budget)?;
                        path.truncate(mark);
                    }
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
        if let (Some((tag, values)), Value::Object(map)) = (&node.tag, value) {
            let found = map
                .get(tag)
                .ok_or_else(|| Violation::MissingProperty(tag.clone()))?;
            let Some(alternative) = values
                .iter()
                .position(|v| json_equal(v, found))
                .and_then(|i| node.one_of.get(i))
            else {
                path.push('/');
                push_pointer_token(path, tag);
                return Err(Violation::Tag {
                    expected: values.clone(),
                    found: found.clone(),
                });
            };
            // The other alternatives require other tags: this one alone decides.
            return alternative.check_at(value, path, depth + 1, budget);
        }
        if !node.one_of.is_empty() {
            let mut matched = 0;
            for alternative in &node.one_of {
                match alternative.check_at(value, &mut String::new(), depth + 1, budget) {
                    Ok(()) => matched += 1,
                    // Out of budget: the answer is that, not "matches no alternative".
                    Err(Violation::TooComplex) => return Err(Violation::TooComplex),
                    Err(_) => {}
                }
            }
            if matched != 1 {
                return Err(Violation::OneOf { matched });
            }
        }
        Ok(())
    }
}

impl Node {
    fn check_number(&self, n: &Number) -> Result<(), Violation> {
        use std::cmp::Ordering::{Greater, Less};
        let below = |limit: &Number, allow_equal: bool| match cmp_numbers(n, limit) {
            Some(Less) => true,
            Some(std::cmp::Ordering::Equal) => !allow_equal,
            Some(Greater) => false,
            None => true,
        };
        let above = |limit: &Number, allow_equal: bool| match cmp_numbers(n, limit) {
            Some(Greater) => true,
            Some(std::cmp::Ordering::Equal) => !allow_equal,
            Some(Less) => false,
            None => true,
        };
        if let Some(limit) = &self.minimum
            && below(limit, true)
        {
            return Err(Violation::Minimum {
                limit: limit.clone(),
                exclusive: false,
            });
        }
        if let Some(limit) = &self.exclusive_minimum
            && below(limit, false)
        {
            return Err(Violation::Minimum {
                limit: limit.clone(),
                exclusive: true,
            });
        }
        if let Some(limit) = &self.maximum
            && above(limit, true)
        {
            return Err(Violation::Maximum {
                limit: limit.clone(),
                exclusive: false,
            });
        }
        if let Some(limit) = &self.exclusive_maximum
            && above(limit, false)
        {
            return Err(Violation::Maximum {
                limit: limit.clone(),
                exclusive: true,
            });
        }
        if let Some(m) = &self.multiple_of
            && !is_multiple_of(n, m)
        {
            return Err(Violation::MultipleOf(m.clone()));
        }
        Ok(())
    }

    fn check_string(&self, s: &str) -> Result<(), Violation> {
        if self.min_length.is_some() || self.max_length.is_some() {
            let len = s.chars().count() as u64;
            if let Some(min) = self.min_length.filter(|&min| len < min) {
                return Err(Violation::MinLength(min));
            }
            if let Some(max) = self.max_length.filter(|&max| len > max) {
                return Err(Violation::MaxLength(max));
            }
        }
        if let Some(re) = &self.pattern
            && !re.is_match(s)
        {
            return Err(Violation::Pattern(re.as_str().to_owned()));
        }
        Ok(())
    }
}

fn check_type(expected: SchemaType, value: &Value) -> Result<(), Violation> {
    let ok = match (expected, value) {
        (SchemaType::Boolean, Value::Bool(_)) => true,
        (SchemaType::Integer, Value::Number(n)) => is_integer(n),
        (SchemaType::Number, Value::Number(_)) => true,
        (SchemaType::String, Value::String(_)) => true,
        (SchemaType::Object, Value::Object(_)) => true,
        (SchemaType::Array, Value::Array(_)) => true,
        (SchemaType::Null, Value::Null) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Violation::Type {
            expected,
            found: json_type_name(value),
        })
    }
}

/// How many values `value` holds, itself included, counted without recursion.
fn count_nodes(value: &Value) -> u64 {
    let mut count: u64 = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        count = count.saturating_add(1);
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    count
}

/// Whether a JSON number is a whole number (`5` and `5.0` both are, as in JSON Schema).
pub fn is_integer(n: &Number) -> bool {
    n.is_i64()
        || n.is_u64()
        || n.as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f.is_finite())
}

/// A short name of a value's JSON type, for messages.
pub fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if is_integer(n) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_multiple_of(n: &Number, m: &Number) -> bool {
    if let (Some(a), Some(b)) = (n.as_i64(), m.as_i64()) {
        return b != 0 && a % b == 0;
    }
    match (n.as_f64(), m.as_f64()) {
        (Some(a), Some(b)) if b > 0.0 => {
            let q = a / b;
            (q - q.round()).abs() <= 1e-9 * q.abs().max(1.0)
        }
        _ => false,
    }
}

/// JSON equality where `1` equals `1.0`, as JSON Schema's `enum` and `const` require.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            cmp_numbers(x, y) == Some(std::cmp::Ordering::Equal)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn push_pointer_token(path: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compile(schema: Value, types: Value) -> CompiledSchema {
        let types: BTreeMap<String, DataSchema> = serde_json::from_value(types).unwrap();
        let schema: DataSchema = serde_json::from_value(schema).unwrap();
        Compiler::new(&types).compile(&schema)
    }

    #[test]
    fn numbers_and_bounds() {
        let s = compile(
            json!({"type": "integer", "minimum": 0, "maximum": 120}),
            json!({}),
        );
        assert!(s.accepts(&json!(60)));
        assert!(s.accepts(&json!(60.0)));
        assert!(!s.accepts(&json!(60.5)));
        let err = s.check(&json!(130)).unwrap_err();
        assert_eq!(err.violation.keyword(), "maximum");
        assert_eq!(err.to_string(), "value: greater than the maximum 120");
        assert!(!s.accepts(&json!("60")));
    }

    #[test]
    fn tagged_unions_check_the_alternative_their_tag_names() {
        let s = compile(
            json!({"oneOf": [
                {"type": "object", "required": ["mode"],
                 "properties": {"mode": {"const": "auto"}}},
                {"ref": "Manual"}
            ]}),
            json!({"Manual": {"type": "object", "required": ["mode", "ppm"], "properties": {
                "mode": {"type": "string", "const": "manual"},
                "ppm": {"type": "number", "maximum": 10000}}}}),
        );
        assert!(s.accepts(&json!({"mode": "auto"})));
        assert!(s.accepts(&json!({"mode": "manual", "ppm": 400})));
        let wrong = s.check(&json!({"mode": "magic"})).unwrap_err();
        assert_eq!(wrong.violation.keyword(), "oneOf");
        assert_eq!(
            wrong.to_string(),
            "/mode: expected one of auto, manual, found \"magic\""
        );
        assert_eq!(
            s.check(&json!({"ppm": 1})).unwrap_err().to_string(),
            "value: missing required property `mode`"
        );
        // The alternative's own error, where it is, rather than "matches no alternative".
        assert_eq!(
            s.check(&json!({"mode": "manual", "ppm": 20000}))
                .unwrap_err()
                .to_string(),
            "/ppm: greater than the maximum 10000"
        );
        assert_eq!(
            s.check(&json!({"mode": "auto", "ppm": 1}))
                .unwrap_err()
                .to_string(),
            "value: unknown property `ppm`"
        );
        // Not an object: the plain oneOf check.
        assert_eq!(
            s.check(&json!("auto")).unwrap_err().violation,
            Violation::OneOf { matched: 0 }
        );
    }

    #[test]
    fn open_maps_check_every_member_against_the_value_schema() {
        let s = compile(
            json!({"type": "object", "additionalProperties": {"ref": "Percent"}}),
            json!({"Percent": {"type": "number", "minimum": 0, "maximum": 100}}),
        );
        assert!(s.accepts(&json!({})));
        assert!(s.accepts(&json!({"kitchen": 5, "any name at all": 100})));
        let e = s.check(&json!({"kitchen": 5, "hall": 101})).unwrap_err();
        assert_eq!(e.path, "/hall");
        assert_eq!(e.violation.keyword(), "maximum");
        assert!(!s.accepts(&json!([1])));
    }

    #[test]
    fn objects_refs_and_paths() {
        let s = compile(
            json!({"type": "object", "required": ["level"],
                   "properties": {"level": {"ref": "Percent"}, "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}}}}),
            json!({"Percent": {"type": "number", "minimum": 0, "maximum": 100}}),
        );
        assert!(s.accepts(&json!({"level": 5})));
        assert_eq!(
            s.check(&json!({})).unwrap_err().violation,
            Violation::MissingProperty("level".into())
        );
        let e = s.check(&json!({"level": 101})).unwrap_err();
        assert_eq!(e.path, "/level");
        let e = s
            .check(&json!({"level": 1, "tags": ["ok", "toolong"]}))
            .unwrap_err();
        assert_eq!(e.path, "/tags/1");
        assert_eq!(e.violation, Violation::MaxLength(3));
        assert!(matches!(
            s.check(&json!({"level": 1, "x": 1})).unwrap_err().violation,
            Violation::UnknownProperty(_)
        ));
    }

    #[test]
    fn enum_const_one_of_pattern() {
        let s = compile(
            json!({"type": "string", "enum": ["open", "closed"]}),
            json!({}),
        );
        assert!(s.accepts(&json!("open")));
        assert!(!s.accepts(&json!("ajar")));
        let s = compile(
            json!({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^a+$"}]}),
            json!({}),
        );
        assert!(s.accepts(&json!(3)));
        assert!(s.accepts(&json!("aaa")));
        assert_eq!(
            s.check(&json!("b")).unwrap_err().violation,
            Violation::OneOf { matched: 0 }
        );
        let s = compile(json!({"type": "number", "multipleOf": 0.5}), json!({}));
        assert!(s.accepts(&json!(1.5)));
        assert!(!s.accepts(&json!(1.2)));
    }

    #[test]
    fn cyclic_and_unknown_refs_do_not_hang() {
        let s = compile(
            json!({"ref": "A"}),
            json!({"A": {"ref": "B"}, "B": {"ref": "A"}}),
        );
        assert!(s.accepts(&json!(1)));
        let s = compile(json!({"ref": "Nope"}), json!({}));
        assert!(s.accepts(&json!(1)));
    }

    #[test]
    fn attack_nested_one_of_is_refused_within_a_budget() {
        // Each type is a choice of 8 refs to the next: 8^15 paths for one value, if followed.
        let mut types = serde_json::Map::new();
        for i in 0..15 {
            let next = json!({"ref": format!("T{}", i + 1)});
            types.insert(format!("T{i}"), json!({"oneOf": vec![next; 8]}));
        }
        types.insert("T15".into(), json!({"type": "integer"}));
        let s = compile(json!({"ref": "T0"}), Value::Object(types));
        let err = s.check(&json!(1)).unwrap_err();
        assert_eq!(err.violation, Violation::TooComplex);
        assert_eq!(err.violation.keyword(), "oneOf");
        // A choice that is cheap to make is made.
        let s = compile(
            json!({"oneOf": [{"type": "integer"}, {"type": "string"}]}),
            json!({}),
        );
        assert!(s.accepts(&json!(1)));
        // A large value gets a budget to match.
        let big = Value::Array(vec![json!(1); 2_000_000]);
        let s = compile(
            json!({"type": "array", "items": {"oneOf": [{"type": "integer"}, {"type": "string"}]}}),
            json!({}),
        );
        assert!(s.accepts(&big));
    }

    #[test]
    fn deep_values_are_rejected_not_overflowed() {
        let mut v = json!(1);
        for _ in 0..200 {
            v = json!([v]);
        }
        let mut schema = json!({"type": "integer"});
        for _ in 0..200 {
            schema = json!({"type": "array", "items": schema});
        }
        let s = compile(schema, json!({}));
        assert!(!s.accepts(&v));
    }
}

//! Subscription filters: which attribute changes or events a subscriber wants.
//!
//! A filter tests the value (or a field of it, by path): `any`, `eq`, `ne`, `lt`, `le`, `gt`,
//! `ge`, a change band (`step`: only when the value moved by at least `delta` since the last
//! delivery) and a rate limit (`min_interval`), combined with `and` / `or`. Filters are checked
//! against the affordance's schema when subscribing — comparing something that cannot be
//! ordered is an error then, never a panic later.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use safething_ir::value::{CompiledSchema, Compiler, json_equal};
use safething_ir::{DataSchema, SchemaType};

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
}

impl CompareOp {
    fn ordered(self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }

    fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
        }
    }
}

/// A subscription filter. Build with the constructors: `Filter::lt(5.0)`,
/// `Filter::field("level").gt(90)`, `Filter::step(2.0).and(Filter::min_interval(..))`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[derive(Default)]
#[non_exhaustive]
pub enum Filter {
    /// Everything.
    #[default]
    Any,
    /// Compare the value (or a field) with a constant.
    Compare {
        /// Field path (`["level"]`); empty for the value itself.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        field: Vec<String>,
        /// The operator.
        cmp: CompareOp,
        /// The constant.
        value: Value,
    },
    /// Only when the number moved by at least `delta` since the last delivered value.
    Step {
        /// Field path; empty for the value itself.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        field: Vec<String>,
        /// The band.
        delta: f64,
    },
    /// At most one delivery per interval.
    MinInterval {
        /// The interval, in milliseconds.
        ms: u64,
    },
    /// All must pass.
    And {
        /// The filters.
        all: Vec<Filter>,
    },
    /// At least one must pass.
    Or {
        /// The filters.
        any: Vec<Filter>,
    },
}

/// Builds filters on a field of the value: `Filter::field("level").lt(5.0)`.
#[derive(Clone, Debug)]
pub struct FieldFilter {
    field: Vec<String>,
}

macro_rules! comparisons {
    ($($(#[$doc:meta])* $name:ident => $op:ident),* $(,)?) => {
        impl Filter {
            $($(#[$doc])* pub fn $name(value: impl Into<Value>) -> Filter {
                Filter::Compare { field: Vec::new(), cmp: CompareOp::$op, value: value.into() }
            })*
        }
        impl FieldFilter {
            $($(#[$doc])* pub fn $name(self, value: impl Into<Value>) -> Filter {
                Filter::Compare { field: self.field, cmp: CompareOp::$op, value: value.into() }
            })*
        }
    };
}

comparisons! {
    /// Equal to `value`.
    eq => Eq,
    /// Not equal to `value`.
    ne => Ne,
    /// Less than `value`.
    lt => Lt,
    /// Less than or equal to `value`.
    le => Le,
    /// Greater than `value`.
    gt => Gt,
    /// Greater than or equal to `value`.
    ge => Ge,
}

impl Filter {
    /// Everything passes.
    pub fn any() -> Filter {
        Filter::Any
    }

    /// Filters on a field of an object value; `path` is dotted (`"reading.level"`).
    pub fn field(path: &str) -> FieldFilter {
        FieldFilter {
            field: path.split('.').map(str::to_owned).collect(),
        }
    }

    /// Only changes of at least `delta` since the last delivered value.
    pub fn step(delta: f64) -> Filter {
        Filter::Step {
            field: Vec::new(),
            delta,
        }
    }

    /// At most one delivery per `interval`.
    pub fn min_interval(interval: Duration) -> Filter {
        Filter::MinInterval {
            ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Both this and `other`.
    pub fn and(self, other: Filter) -> Filter {
        match self {
            Filter::And { mut all } => {
                all.push(other);
                Filter::And { all }
            }
            this => Filter::And {
                all: vec![this, other],
            },
        }
    }

    /// This or `other`.
    pub fn or(self, other: Filter) -> Filter {
        match self {
            Filter::Or { mut any } => {
                any.push(other);
                Filter::Or { any }
            }
            this => Filter::Or {
                any: vec![this, other],
            },
        }
    }

    /// Checks the filter against the schema of the values it will see, and prepares it.
    pub fn compile(
        &self,
        schema: &DataSchema,
        types: &BTreeMap<String, DataSchema>,
    ) -> Result<FilterState, FilterError> {
        let root = Resolver { types };
        Ok(FilterState {
            node: compile(self, schema, &root, 0).map_err(FilterError::Inapplicable)?,
        })
    }
}

impl FieldFilter {
    /// Only changes of the field of at least `delta` since the last delivered value.
    pub fn step(self, delta: f64) -> Filter {
        Filter::Step {
            field: self.field,
            delta,
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = |field: &[String]| {
            if field.is_empty() {
                String::new()
            } else {
                format!("{} ", field.join("."))
            }
        };
        match self {
            Filter::Any => f.write_str("any"),
            Filter::Compare {
                field: p,
                cmp,
                value,
            } => write!(f, "{}{} {value}", field(p), cmp.as_str()),
            Filter::Step { field: p, delta } => write!(f, "{}step {delta}", field(p)),
            Filter::MinInterval { ms } => write!(f, "min_interval {ms}ms"),
            Filter::And { all } => join(f, all, " and "),
            Filter::Or { any } => join(f, any, " or "),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, items: &[Filter], sep: &str) -> fmt::Result {
    f.write_str("(")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    f.write_str(")")
}

/// A compiled filter with its memory (last delivered value, last delivery time).
#[derive(Clone, Debug)]
pub struct FilterState {
    node: Node,
}

#[derive(Clone, Debug)]
enum Node {
    Any,
    Compare {
        field: Vec<String>,
        cmp: CompareOp,
        value: Value,
    },
    Step {
        field: Vec<String>,
        delta: f64,
        last: Option<f64>,
    },
    MinInterval {
        interval: Duration,
        last: Option<Instant>,
    },
    And(Vec<Node>),
    Or(Vec<Node>),
}

impl FilterState {
    /// A filter that passes everything.
    pub fn any() -> FilterState {
        FilterState { node: Node::Any }
    }

    /// Like [`offer`](Self::offer) at the current time; the clock is read only by filters
    /// that keep time (`min_interval`), since reading it costs more than most filters.
    pub fn offer_now(&mut self, value: &Value) -> bool {
        let now = if self.node.is_timed() {
            Instant::now()
        } else {
            // Never read by filters that do not keep time.
            START.with(|start| *start)
        };
        self.offer(value, now)
    }

    /// Whether `value` should be delivered now; if so, remembers it as delivered.
    pub fn offer(&mut self, value: &Value, now: Instant) -> bool {
        let pass = self.node.test(value, now);
        if pass {
            self.node.commit(value, now);
        }
        pass
    }
}

thread_local! {
    /// A fixed instant to pass where no filter reads it.
    static START: Instant = Instant::now();
}

impl Node {
    fn is_timed(&self) -> bool {
        match self {
            Node::MinInterval { .. } => true,
            Node::And(nodes) | Node::Or(nodes) => nodes.iter().any(Node::is_timed),
            Node::Any | Node::Compare { .. } | Node::Step { .. } => false,
        }
    }

    fn test(&self, value: &Value, now: Instant) -> bool {
        match self {
            Node::Any => true,
            Node::Compare {
                field,
                cmp,
                value: constant,
            } => {
                let Some(v) = lookup(value, field) else {
                    return false;
                };
                compare(v, *cmp, constant)
            }
            Node::Step { field, delta, last } => {
                match (lookup(value, field).and_then(Value::as_f64), last) {
                    (Some(_), None) => true,
                    (Some(x), Some(l)) => (x - l).abs() >= *delta,
                    (None, _) => false,
                }
            }
            Node::MinInterval { interval, last } => {
                last.is_none_or(|l| now.duration_since(l) >= *interval)
            }
            Node::And(all) => all.iter().all(|n| n.test(value, now)),
            Node::Or(any) => any.iter().any(|n| n.test(value, now)),
        }
    }

    fn commit(&mut self, value: &Value, now: Instant) {
        match self {
            Node::Step { field, last, .. } => {
                if let Some(x) = lookup(value, field).and_then(Value::as_f64) {
                    *last = Some(x);
                }
            }
            Node::MinInterval { last, .. } => *last = Some(now),
            Node::And(nodes) | Node::Or(nodes) => {
                nodes.iter_mut().for_each(|n| n.commit(value, now))
            }
            Node::Any | Node::Compare { .. } => {}
        }
    }
}

fn lookup<'v>(value: &'v Value, field: &[String]) -> Option<&'v Value> {
    field.iter().try_fold(value, |v, key| v.get(key))
}

fn compare(v: &Value, cmp: CompareOp, constant: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering = match (v, constant) {
        (Value::Number(a), Value::Number(b)) => safething_ir::cmp_numbers(a, b),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match cmp {
        CompareOp::Eq => json_equal(v, constant),
        CompareOp::Ne => !json_equal(v, constant),
        CompareOp::Lt => ordering == Some(Ordering::Less),
        CompareOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        CompareOp::Gt => ordering == Some(Ordering::Greater),
        CompareOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
    }
}

struct Resolver<'a> {
    types: &'a BTreeMap<String, DataSchema>,
}

impl<'a> Resolver<'a> {
    /// Follows `ref`s to the schema that says what the value is.
    fn resolve(&self, mut schema: &'a DataSchema) -> &'a DataSchema {
        for _ in 0..32 {
            match schema.reference.as_deref().and_then(|r| self.types.get(r)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn field(&self, schema: &'a DataSchema, field: &[String]) -> Result<&'a DataSchema, String> {
        let mut current = self.resolve(schema);
        for (i, key) in field.iter().enumerate() {
            match current.properties.get(key) {
                Some(next) => current = self.resolve(next),
                None => {
                    let at = field[..i].join(".");
                    let known: Vec<&str> = current.properties.keys().map(String::as_str).collect();
                    return Err(if known.is_empty() {
                        format!(
                            "`{}` has no fields, so it has no `{key}`",
                            if at.is_empty() { "the value" } else { &at }
                        )
                    } else {
                        format!(
                            "no field `{key}`{}; fields: {}",
                            if at.is_empty() {
                                String::new()
                            } else {
                                format!(" in `{at}`")
                            },
                            known.join(", ")
                        )
                    });
                }
            }
        }
        Ok(current)
    }
}

fn compile(
    filter: &Filter,
    schema: &DataSchema,
    r: &Resolver<'_>,
    depth: usize,
) -> Result<Node, String> {
    if depth > 16 {
        return Err("filter nested too deeply".into());
    }
    Ok(match filter {
        Filter::Any => Node::Any,
        Filter::Compare { field, cmp, value } => {
            let target = r.field(schema, field)?;
            let name = if field.is_empty() {
                "the value".to_owned()
            } else {
                format!("`{}`", field.join("."))
            };
            if cmp.ordered() {
                match (target.ty, value) {
                    (Some(SchemaType::Number | SchemaType::Integer), Value::Number(_)) => {}
                    (Some(SchemaType::String), Value::String(_)) => {}
                    (
                        Some(t @ (SchemaType::Number | SchemaType::Integer | SchemaType::String)),
                        other,
                    ) => {
                        return Err(format!(
                            "{name} is a {t}, but `{}` compares it with {other}",
                            cmp.as_str()
                        ));
                    }
                    (Some(t), _) => {
                        return Err(format!(
                            "{name} is a {t}, which cannot be ordered; use eq or ne"
                        ));
                    }
                    (None, _) => {
                        return Err(format!(
                            "{name} has no single type, so it cannot be ordered; use eq or ne"
                        ));
                    }
                }
            } else {
                let compiled: CompiledSchema = Compiler::new(r.types).compile(target);
                if let Err(e) = compiled.check(value) {
                    return Err(format!("{name} can never equal {value}: {e}"));
                }
            }
            Node::Compare {
                field: field.clone(),
                cmp: *cmp,
                value: value.clone(),
            }
        }
        Filter::Step { field, delta } => {
            let target = r.field(schema, field)?;
            if !matches!(target.ty, Some(SchemaType::Number | SchemaType::Integer)) {
                let name = if field.is_empty() {
                    "the value".to_owned()
                } else {
                    format!("`{}`", field.join("."))
                };
                return Err(format!(
                    "`step` needs a number, but {name} is {}",
                    target.ty.map_or("untyped".into(), |t| t.to_string())
                ));
            }
            if !(delta.is_finite() && *delta > 0.0) {
                return Err(format!("`step` needs a positive delta, not {delta}"));
            }
            Node::Step {
                field: field.clone(),
                delta: *delta,
                last: None,
            }
        }
        Filter::MinInterval { ms } => Node::MinInterval {
            interval: Duration::from_millis(*ms),
            last: None,
        },
        Filter::And { all } => Node::And(
            all.iter()
                .map(|f| compile(f, schema, r, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Filter::Or { any } => Node::Or(
            any.iter()
                .map(|f| compile(f, schema, r, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// Why a filter cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// Text that is not in the command-line filter syntax (see [`Filter::from_str`]).
    #[error("{0}")]
    Syntax(String),
    /// A filter that cannot apply to the values it would see: a field they do not have, an
    /// order on values that have none, a step on values that are not numbers.
    #[error("{0}")]
    Inapplicable(String),
    /// A typed filter whose value could not be encoded as JSON.
    #[error("cannot encode the filter's value: {0}")]
    Encode(String),
}

/// The command-line filter syntax: `any`, `lt 5`, `level gt 90`, `step 2`,
/// `min_interval 500ms`, joined by `and` / `or` (`and` binds tighter).
///
/// ```
/// use safething::Filter;
/// let filter: Filter = "level gt 90 or step 2".parse().unwrap();
/// assert_eq!(filter, Filter::field("level").gt(90).or(Filter::step(2.0)));
/// ```
impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Filter, FilterError> {
        parse(text).map_err(FilterError::Syntax)
    }
}

fn parse(text: &str) -> Result<Filter, String> {
    let mut alternatives = Vec::new();
    for alternative in split_words(text, "or") {
        let mut parts = Vec::new();
        for clause in split_words(&alternative, "and") {
            parts.push(parse_clause(&clause)?);
        }
        alternatives.push(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And { all: parts }
        });
    }
    Ok(if alternatives.len() == 1 {
        alternatives.remove(0)
    } else {
        Filter::Or { any: alternatives }
    })
}

fn split_words(text: &str, word: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for token in text.split_whitespace() {
        if token == word {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(token);
        }
    }
    out
}

fn parse_clause(clause: &str) -> Result<Filter, String> {
    let words: Vec<&str> = clause.split_whitespace().collect();
    let (field, rest) = match words.first() {
        Some(w) if is_op(w) => (Vec::new(), &words[..]),
        Some(w) => (w.split('.').map(str::to_owned).collect(), &words[1..]),
        None => return Err("empty filter clause".into()),
    };
    match rest {
        ["any"] if field.is_empty() => Ok(Filter::Any),
        ["step", delta] => {
            let delta: f64 = delta
                .parse()
                .map_err(|_| format!("`{delta}` is not a number"))?;
            Ok(Filter::Step { field, delta })
        }
        ["min_interval", d] if field.is_empty() => {
            let d = safething_ir::duration::parse(d)?;
            Ok(Filter::min_interval(d))
        }
        [op, value] => {
            let cmp = match *op {
                "eq" => CompareOp::Eq,
                "ne" => CompareOp::Ne,
                "lt" => CompareOp::Lt,
                "le" => CompareOp::Le,
                "gt" => CompareOp::Gt,
                "ge" => CompareOp::Ge,
                other => {
                    return Err(format!(
                        "unknown operator `{other}`; use eq, ne, lt, le, gt, ge, step"
                    ));
                }
            };
            // Bare words are strings; anything that parses as JSON is JSON.
            let value =
                serde_json::from_str(value).unwrap_or_else(|_| Value::String((*value).to_owned()));
            Ok(Filter::Compare { field, cmp, value })
        }
        _ => Err(format!(
            "cannot read filter `{clause}`; e.g. `lt 5`, `level gt 90`, `step 2`, `min_interval 1s`"
        )),
    }
}

fn is_op(w: &str) -> bool {
    matches!(
        w,
        "any" | "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "step" | "min_interval"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: Value) -> DataSchema {
        serde_json::from_value(v).unwrap()
    }

    fn no_types() -> BTreeMap<String, DataSchema> {
        BTreeMap::new()
    }

    #[test]
    fn comparisons_on_values_and_fields() {
        let now = Instant::now();
        let mut f = Filter::lt(5.0)
            .compile(&schema(json!({"type": "number"})), &no_types())
            .unwrap();
        assert!(f.offer(&json!(4.9), now));
        assert!(!f.offer(&json!(5), now));
        let s = schema(json!({"type": "object", "properties": {"level": {"type": "number"}}}));
        let mut f = Filter::field("level")
            .ge(90)
            .compile(&s, &no_types())
            .unwrap();
        assert!(f.offer(&json!({"level": 95}), now));
        assert!(!f.offer(&json!({"level": 5}), now));
        assert!(!f.offer(&json!({}), now));
    }

    #[test]
    fn non_comparable_filters_fail_at_compile_time() {
        let obj = schema(json!({"type": "object", "properties": {"on": {"type": "boolean"}}}));
        assert!(Filter::lt(5).compile(&obj, &no_types()).is_err());
        assert!(
            Filter::field("on")
                .gt(1)
                .compile(&obj, &no_types())
                .is_err()
        );
        assert!(
            Filter::field("missing")
                .eq(1)
                .compile(&obj, &no_types())
                .is_err()
        );
        assert!(
            Filter::field("on")
                .eq("yes")
                .compile(&obj, &no_types())
                .is_err()
        );
        assert!(Filter::step(1.0).compile(&obj, &no_types()).is_err());
        let num = schema(json!({"type": "number"}));
        assert!(Filter::lt("five").compile(&num, &no_types()).is_err());
        assert!(Filter::step(0.0).compile(&num, &no_types()).is_err());
        assert!(Filter::step(f64::NAN).compile(&num, &no_types()).is_err());
    }

    #[test]
    fn step_and_min_interval_remember_deliveries() {
        let num = schema(json!({"type": "number"}));
        let t0 = Instant::now();
        let mut f = Filter::step(2.0).compile(&num, &no_types()).unwrap();
        assert!(f.offer(&json!(10), t0));
        assert!(!f.offer(&json!(11), t0));
        assert!(f.offer(&json!(12), t0));
        assert!(!f.offer(&json!(13.5), t0));
        let mut f = Filter::min_interval(Duration::from_millis(100))
            .compile(&num, &no_types())
            .unwrap();
        assert!(f.offer(&json!(1), t0));
        assert!(!f.offer(&json!(2), t0 + Duration::from_millis(50)));
        assert!(f.offer(&json!(3), t0 + Duration::from_millis(150)));
    }

    #[test]
    fn offer_now_keeps_time_only_where_a_filter_does() {
        let num = schema(json!({"type": "number"}));
        let mut step = Filter::step(2.0).compile(&num, &no_types()).unwrap();
        assert!(!step.node.is_timed());
        assert!(step.offer_now(&json!(10)));
        assert!(!step.offer_now(&json!(11)));
        let mut timed = Filter::gt(0)
            .and(Filter::min_interval(Duration::from_secs(3600)))
            .compile(&num, &no_types())
            .unwrap();
        assert!(timed.node.is_timed());
        assert!(timed.offer_now(&json!(1)));
        assert!(!timed.offer_now(&json!(2)), "within the interval");
    }

    #[test]
    fn and_or_combine() {
        let num = schema(json!({"type": "number"}));
        let now = Instant::now();
        let mut f = Filter::lt(5)
            .or(Filter::gt(95))
            .compile(&num, &no_types())
            .unwrap();
        assert!(f.offer(&json!(1), now));
        assert!(!f.offer(&json!(50), now));
        assert!(f.offer(&json!(99), now));
        let mut f = Filter::gt(0)
            .and(Filter::lt(10))
            .compile(&num, &no_types())
            .unwrap();
        assert!(f.offer(&json!(5), now));
        assert!(!f.offer(&json!(15), now));
    }

    #[test]
    fn parses_command_line_syntax() {
        assert_eq!(parse("lt 5").unwrap(), Filter::lt(5));
        assert_eq!(parse("level gt 90").unwrap(), Filter::field("level").gt(90));
        assert_eq!(
            parse("state eq open").unwrap(),
            Filter::field("state").eq("open")
        );
        assert_eq!(
            parse("lt 5 or gt 95").unwrap(),
            Filter::lt(5).or(Filter::gt(95))
        );
        assert_eq!(
            parse("step 2 and min_interval 1s").unwrap(),
            Filter::step(2.0).and(Filter::min_interval(Duration::from_secs(1)))
        );
        assert!(parse("").is_err());
        assert!(parse("lt").is_err());
        assert!(parse("level zz 4").is_err());
        assert_eq!("lt 5".parse::<Filter>(), Ok(Filter::lt(5)));
        assert!(matches!(
            "lt".parse::<Filter>(),
            Err(FilterError::Syntax(_))
        ));
    }
}

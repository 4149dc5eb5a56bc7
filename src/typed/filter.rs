//! Typed subscription filters: [`Filter<T>`] on a value of type `T`, and [`Field<T, F>`] for a
//! field of type `F` inside it. Generated code declares one `Field` constant per property of a
//! generated struct (`Reading::LEVEL`), so a misspelled field or a comparison with a value of the
//! wrong type is a compile error.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::filter::{CompareOp, Filter as RawFilter, FilterError};

/// Values that can be ordered by a filter (`lt`, `le`, `gt`, `ge`): numbers and strings.
pub trait Ordered: Serialize {}

/// Numbers, the values a change band (`step`) applies to.
pub trait Number: Ordered {}

macro_rules! numbers {
    ($($t:ty),*) => { $(impl Ordered for $t {} impl Number for $t {})* };
}
numbers!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);
impl Ordered for String {}

/// A subscription filter on values of type `T` (an attribute's value or an event's data).
///
/// ```
/// use safething::typed::Filter;
/// use std::time::Duration;
///
/// let dry: Filter<f64> = Filter::lt(5.0).or(Filter::gt(95.0));
/// let calm: Filter<f64> = Filter::step(2.0).and(Filter::min_interval(Duration::from_secs(1)));
/// assert_eq!(dry.to_string(), "(lt 5.0 or gt 95.0)");
/// # let _ = calm;
/// ```
pub struct Filter<T> {
    raw: Result<RawFilter, FilterError>,
    _value: PhantomData<fn(&T)>,
}

impl<T> Clone for Filter<T> {
    fn clone(&self) -> Self {
        Filter {
            raw: self.raw.clone(),
            _value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Filter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.raw {
            Ok(raw) => f.debug_tuple("Filter").field(raw).finish(),
            Err(e) => f
                .debug_tuple("Filter")
                .field(&format_args!("invalid: {e}"))
                .finish(),
        }
    }
}

impl<T> fmt::Display for Filter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.raw {
            Ok(raw) => write!(f, "{raw}"),
            Err(e) => write!(f, "invalid filter: {e}"),
        }
    }
}

impl<T> Default for Filter<T> {
    fn default() -> Self {
        Filter::any()
    }
}

fn to_json(value: &impl Serialize) -> Result<Value, FilterError> {
    serde_json::to_value(value).map_err(|e| FilterError::Encode(e.to_string()))
}

fn compare(
    field: Vec<String>,
    cmp: CompareOp,
    value: &impl Serialize,
) -> Result<RawFilter, FilterError> {
    Ok(RawFilter::Compare {
        field,
        cmp,
        value: to_json(value)?,
    })
}

impl<T> Filter<T> {
    fn from_raw(raw: Result<RawFilter, FilterError>) -> Filter<T> {
        Filter {
            raw,
            _value: PhantomData,
        }
    }

    /// Everything passes.
    pub fn any() -> Filter<T> {
        Filter::from_raw(Ok(RawFilter::Any))
    }

    /// At most one delivery per `interval`.
    pub fn min_interval(interval: Duration) -> Filter<T> {
        Filter::from_raw(Ok(RawFilter::min_interval(interval)))
    }

    /// Both this and `other`.
    pub fn and(self, other: Filter<T>) -> Filter<T> {
        Filter::from_raw(self.raw.and_then(|a| other.raw.map(|b| a.and(b))))
    }

    /// This or `other`.
    pub fn or(self, other: Filter<T>) -> Filter<T> {
        Filter::from_raw(self.raw.and_then(|a| other.raw.map(|b| a.or(b))))
    }

    /// The untyped filter, or why the value could not be encoded.
    pub fn into_raw(self) -> Result<RawFilter, crate::Error> {
        self.raw.map_err(crate::Error::InvalidFilter)
    }
}

impl<T: Serialize> Filter<T> {
    /// Equal to `value`.
    pub fn eq(value: impl Into<T>) -> Filter<T> {
        Filter::from_raw(compare(Vec::new(), CompareOp::Eq, &value.into()))
    }

    /// Not equal to `value`.
    pub fn ne(value: impl Into<T>) -> Filter<T> {
        Filter::from_raw(compare(Vec::new(), CompareOp::Ne, &value.into()))
    }
}

impl<T: Ordered> Filter<T> {
    /// Less than `value`.
    pub fn lt(value: impl Into<T>) -> Filter<T> {
        Filter::from_raw(compare(Vec::new(), CompareOp::Lt, &value.into()))
    }

    /// Less than or equal to `value`.
    pub fn le(value: impl Into<T>) -> Filter<T> {
        Filter::from_raw(compare(Vec::new(), CompareOp::Le, &value.into()))
    }

    /// Greater than `value`.
    pub fn gt(value: impl Into<T>) -> Filter<T> {
        Filter::from_raw(compare(Vec::new(), CompareOp::Gt, &value.into()))
    }

    /// Greater than or equal to `value`.
    pub fn ge(value: impl Into<T>) -> Filter<T> {
        Filter::from_raw(compare(Vec::new(), CompareOp::Ge, &value.into()))
    }
}

impl<T: Number> Filter<T> {
    /// Only changes of at least `delta` since the last delivered value.
    pub fn step(delta: f64) -> Filter<T> {
        Filter::from_raw(Ok(RawFilter::Step {
            field: Vec::new(),
            delta,
        }))
    }
}

/// A field of type `F` inside values of type `T`, e.g. `Reading::LEVEL: Field<Reading, f64>`.
/// Optional fields have the type of their value: a filter on a missing field does not pass.
pub struct Field<T, F> {
    path: &'static [&'static str],
    prefix: Vec<&'static str>,
    _types: PhantomData<fn(&T) -> F>,
}

impl<T, F> Clone for Field<T, F> {
    fn clone(&self) -> Self {
        Field {
            path: self.path,
            prefix: self.prefix.clone(),
            _types: PhantomData,
        }
    }
}

impl<T, F> fmt::Debug for Field<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Field").field(&self.segments()).finish()
    }
}

impl<T, F> Field<T, F> {
    /// The field at `path` (property names from the outermost in). Generated code makes these;
    /// the types are only checked by the generator that pairs `path` with `T` and `F`.
    pub const fn new(path: &'static [&'static str]) -> Field<T, F> {
        Field {
            path,
            prefix: Vec::new(),
            _types: PhantomData,
        }
    }

    /// The property names from the outermost in.
    pub fn segments(&self) -> Vec<String> {
        self.prefix
            .iter()
            .chain(self.path)
            .map(|s| (*s).to_owned())
            .collect()
    }

    /// A field of this field's value: `Outer::INNER.then(Inner::LEVEL)`.
    pub fn then<G>(self, inner: Field<F, G>) -> Field<T, G> {
        let mut prefix = self.prefix;
        prefix.extend_from_slice(self.path);
        prefix.extend(inner.prefix);
        Field {
            path: inner.path,
            prefix,
            _types: PhantomData,
        }
    }

    fn compare(&self, cmp: CompareOp, value: &impl Serialize) -> Filter<T> {
        Filter::from_raw(compare(self.segments(), cmp, value))
    }
}

impl<T, F: Serialize> Field<T, F> {
    /// The field equals `value`.
    pub fn eq(&self, value: impl Into<F>) -> Filter<T> {
        self.compare(CompareOp::Eq, &value.into())
    }

    /// The field does not equal `value`.
    pub fn ne(&self, value: impl Into<F>) -> Filter<T> {
        self.compare(CompareOp::Ne, &value.into())
    }
}

impl<T, F: Ordered> Field<T, F> {
    /// The field is less than `value`.
    pub fn lt(&self, value: impl Into<F>) -> Filter<T> {
        self.compare(CompareOp::Lt, &value.into())
    }

    /// The field is less than or equal to `value`.
    pub fn le(&self, value: impl Into<F>) -> Filter<T> {
        self.compare(CompareOp::Le, &value.into())
    }

    /// The field is greater than `value`.
    pub fn gt(&self, value: impl Into<F>) -> Filter<T> {
        self.compare(CompareOp::Gt, &value.into())
    }

    /// The field is greater than or equal to `value`.
    pub fn ge(&self, value: impl Into<F>) -> Filter<T> {
        self.compare(CompareOp::Ge, &value.into())
    }
}

impl<T, F: Number> Field<T, F> {
    /// Only when the field moved by at least `delta` since the last delivered value.
    pub fn step(&self, delta: f64) -> Filter<T> {
        Filter::from_raw(Ok(RawFilter::Step {
            field: self.segments(),
            delta,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Reading {
        level: f64,
        inner: Inner,
    }

    #[derive(Serialize)]
    struct Inner {
        name: String,
    }

    const LEVEL: Field<Reading, f64> = Field::new(&["level"]);
    const INNER: Field<Reading, Inner> = Field::new(&["inner"]);
    const NAME: Field<Inner, String> = Field::new(&["name"]);

    #[test]
    fn typed_filters_build_the_untyped_ones() {
        assert_eq!(Filter::<f64>::lt(5).into_raw().unwrap(), RawFilter::lt(5.0));
        assert_eq!(
            LEVEL.ge(90).into_raw().unwrap(),
            RawFilter::field("level").ge(90.0)
        );
        assert_eq!(
            INNER.then(NAME).eq("x").into_raw().unwrap(),
            RawFilter::field("inner.name").eq("x")
        );
        assert_eq!(
            LEVEL.step(2.0).into_raw().unwrap(),
            RawFilter::field("level").step(2.0)
        );
        let both = Filter::<u8>::gt(1u8).and(Filter::lt(9u8));
        assert_eq!(both.to_string(), "(gt 1 and lt 9)");
        assert_eq!(Filter::<()>::default().into_raw().unwrap(), RawFilter::Any);
    }

    #[test]
    fn unencodable_values_fail_when_used() {
        struct Bad;
        impl Serialize for Bad {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        let f = Filter::<Bad>::eq(Bad).or(Filter::any());
        assert!(matches!(f.into_raw(), Err(crate::Error::InvalidFilter(_))));
    }
}

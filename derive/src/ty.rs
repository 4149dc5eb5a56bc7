//! Which Rust types the derive maps to schemas itself, which it leaves to their `JsonSchema`
//! implementation, and which it rejects.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;
use syn::{GenericArgument, PathArguments, Type};

/// A primitive the derive knows the schema of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prim {
    Bool,
    String,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl Prim {
    fn from_name(name: &str) -> Option<Prim> {
        Some(match name {
            "bool" => Prim::Bool,
            "f32" => Prim::F32,
            "f64" => Prim::F64,
            "i8" => Prim::I8,
            "i16" => Prim::I16,
            "i32" => Prim::I32,
            "i64" => Prim::I64,
            "u8" => Prim::U8,
            "u16" => Prim::U16,
            "u32" => Prim::U32,
            "u64" => Prim::U64,
            _ => return None,
        })
    }

    /// The JSON type.
    pub(crate) fn json_type(self) -> &'static str {
        match self {
            Prim::Bool => "boolean",
            Prim::String => "string",
            Prim::F32 | Prim::F64 => "number",
            _ => "integer",
        }
    }

    /// The range of an integer type, when it is narrower than what a definition's unbounded
    /// `integer` stands for (`i64`).
    pub(crate) fn range(self) -> Option<(Value, Value)> {
        Some(match self {
            Prim::I8 => (i8::MIN.into(), i8::MAX.into()),
            Prim::I16 => (i16::MIN.into(), i16::MAX.into()),
            Prim::I32 => (i32::MIN.into(), i32::MAX.into()),
            Prim::U8 => (0.into(), u8::MAX.into()),
            Prim::U16 => (0.into(), u16::MAX.into()),
            Prim::U32 => (0.into(), u32::MAX.into()),
            Prim::U64 => (0.into(), u64::MAX.into()),
            _ => return None,
        })
    }

    /// The Rust spelling.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Prim::Bool => "bool",
            Prim::String => "String",
            Prim::F32 => "f32",
            Prim::F64 => "f64",
            Prim::I8 => "i8",
            Prim::I16 => "i16",
            Prim::I32 => "i32",
            Prim::I64 => "i64",
            Prim::U8 => "u8",
            Prim::U16 => "u16",
            Prim::U32 => "u32",
            Prim::U64 => "u64",
        }
    }

    /// The absolute path of the type, to check that the name means what the derive assumed.
    fn canonical(self) -> TokenStream {
        match self {
            Prim::String => quote!(::std::string::String),
            other => {
                let ident = proc_macro2::Ident::new(other.name(), proc_macro2::Span::call_site());
                quote!(::core::primitive::#ident)
            }
        }
    }
}

/// How the schema of a Rust type is found.
#[derive(Clone, Debug)]
pub(crate) enum Shape {
    /// A primitive: the derive writes its schema (and accepts every keyword on it).
    Prim(Prim),
    /// `Vec<T>`: an array whose items have `T`'s shape.
    Vec(Box<Shape>),
    /// Any other named type: its schema comes from its `schemars::JsonSchema` at run time.
    User(Box<Type>),
}

impl Shape {
    /// The type the generated API uses: the absolute path of what the derive assumed (so a
    /// shadowed `String` gives one type error, not one per generated method), user types as
    /// written.
    pub(crate) fn rust_type(&self) -> TokenStream {
        match self {
            Shape::Prim(p) => p.canonical(),
            Shape::Vec(inner) => {
                let inner = inner.rust_type();
                quote!(::std::vec::Vec<#inner>)
            }
            Shape::User(ty) => quote!(#ty),
        }
    }

    /// The absolute type the derive assumed, for a compile-time check (`None` when nothing was
    /// assumed: user types).
    pub(crate) fn canonical(&self) -> Option<TokenStream> {
        match self {
            Shape::Prim(p) => Some(p.canonical()),
            Shape::Vec(inner) => {
                let inner = match inner.canonical() {
                    Some(c) => c,
                    None => quote!(_),
                };
                Some(quote!(::std::vec::Vec<#inner>))
            }
            Shape::User(_) => None,
        }
    }
}

/// The shape of `ty`, or why it cannot be a payload (an error at the type's span).
pub(crate) fn classify(ty: &Type) -> Result<Shape, syn::Error> {
    let fail = |what: &str, help: &str| {
        Err(syn::Error::new_spanned(
            ty,
            format!("{what} cannot be the type of a thing's payload\n\n= help: {help}"),
        ))
    };
    match ty {
        Type::Group(group) => classify(&group.elem),
        Type::Paren(paren) => classify(&paren.elem),
        Type::Path(path) if path.qself.is_none() => {
            let segments: Vec<String> = path
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let last = path.path.segments.last();
            let plain = last.is_some_and(|s| s.arguments.is_none());
            let is = |names: &[&[&str]]| {
                names
                    .iter()
                    .any(|n| segments.iter().map(String::as_str).eq(n.iter().copied()))
            };
            if plain
                && segments.len() == 1
                && let Some(prim) = Prim::from_name(&segments[0])
            {
                return Ok(Shape::Prim(prim));
            }
            if plain
                && segments.len() == 3
                && (segments[0] == "core" || segments[0] == "std")
                && segments[1] == "primitive"
                && let Some(prim) = Prim::from_name(&segments[2])
            {
                return Ok(Shape::Prim(prim));
            }
            if plain
                && is(&[
                    &["String"],
                    &["std", "string", "String"],
                    &["alloc", "string", "String"],
                ])
            {
                return Ok(Shape::Prim(Prim::String));
            }
            let generic = |names: &[&[&str]]| -> Option<&Type> {
                if !is(names) {
                    return None;
                }
                match &last?.arguments {
                    PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
                        match args.args.first() {
                            Some(GenericArgument::Type(inner)) => Some(inner),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            };
            if let Some(inner) =
                generic(&[&["Vec"], &["std", "vec", "Vec"], &["alloc", "vec", "Vec"]])
            {
                return Ok(Shape::Vec(Box::new(classify(inner)?)));
            }
            if generic(&[
                &["Option"],
                &["std", "option", "Option"],
                &["core", "option", "Option"],
            ])
            .is_some()
            {
                return fail(
                    "`Option`",
                    "a dynamic attribute has no value until the device sets one, and events and \
                     actions without data leave `data`/`input`/`output` out; for a value that \
                     may be null, use a type whose JSON Schema says so",
                );
            }
            if matches!(
                segments.last().map(String::as_str),
                Some("usize" | "isize" | "u128" | "i128")
            ) {
                return fail(
                    &format!(
                        "`{}`",
                        segments.last().map(String::as_str).unwrap_or_default()
                    ),
                    "use a fixed-size integer type of at most 64 bits: `u8` ... `u64`, `i8` ... `i64`",
                );
            }
            Ok(Shape::User(Box::new(ty.clone())))
        }
        Type::Path(_) => Ok(Shape::User(Box::new(ty.clone()))),
        Type::Array(_) => Ok(Shape::User(Box::new(ty.clone()))),
        Type::Reference(_) => fail(
            "a reference",
            "payloads are owned values: use the owned type (`String` for `&str`)",
        ),
        Type::Tuple(tuple) if tuple.elems.is_empty() => fail(
            "`()`",
            "leave `data`, `input` or `output` out for an event or action without a payload",
        ),
        Type::Tuple(_) => fail(
            "a tuple",
            "use a struct with named fields (deriving `Serialize`, `Deserialize` and `JsonSchema`)",
        ),
        Type::Ptr(_) => fail("a raw pointer", "use an owned value"),
        Type::FnPtr(_) => fail(
            "a function pointer",
            "payloads are data: use an owned value",
        ),
        Type::TraitObject(_) | Type::ImplTrait(_) => fail(
            "a trait object",
            "use a concrete type (deriving `Serialize`, `Deserialize` and `JsonSchema`)",
        ),
        Type::Slice(_) => fail("a slice", "use `Vec<T>` or an array `[T; N]`"),
        Type::Never(_) => fail("`!`", "use a type with values"),
        Type::Infer(_) => fail("`_`", "write the type"),
        Type::Macro(_) => Ok(Shape::User(Box::new(ty.clone()))),
        _ => fail("this type", "use a named type"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(ty: &str) -> Result<Shape, String> {
        classify(&syn::parse_str(ty).unwrap()).map_err(|e| e.to_string())
    }

    #[test]
    fn primitives_vecs_users_and_rejections() {
        assert!(matches!(shape("u8"), Ok(Shape::Prim(Prim::U8))));
        assert!(matches!(
            shape("::std::string::String"),
            Ok(Shape::Prim(Prim::String))
        ));
        assert!(matches!(
            shape("core::primitive::f64"),
            Ok(Shape::Prim(Prim::F64))
        ));
        assert!(matches!(shape("Vec<Vec<bool>>"), Ok(Shape::Vec(_))));
        assert!(matches!(shape("Reading"), Ok(Shape::User(_))));
        assert!(matches!(shape("[f64; 3]"), Ok(Shape::User(_))));
        assert_eq!(
            shape("Vec<Reading>").unwrap().rust_type().to_string(),
            ":: std :: vec :: Vec < Reading >"
        );
        for (bad, what) in [
            ("&str", "a reference"),
            ("(u8, u8)", "a tuple"),
            ("()", "`()`"),
            ("Option<u8>", "`Option`"),
            ("Vec<&str>", "a reference"),
            ("usize", "`usize`"),
            ("fn()", "a function pointer"),
            ("*mut u8", "a raw pointer"),
            ("dyn Send", "a trait object"),
            ("[u8]", "a slice"),
        ] {
            let e = shape(bad).unwrap_err();
            assert!(e.starts_with(what), "{bad}: {e}");
        }
        assert_eq!(Prim::U64.range().unwrap().1, serde_json::json!(u64::MAX));
        assert_eq!(Prim::I64.range(), None);
    }
}

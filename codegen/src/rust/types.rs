//! Type generation: Rust data types from a definition's schemas (the TOML front end's half of
//! the Rust generator; the derive front end brings its own types instead).
//!
//! Which schemas become types, and their names, is decided by
//! [`safething_ir::types::type_plan`]; this module only spells them in Rust.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::{Number, Value};

use std::collections::BTreeSet;

use safething_ir::types::{PlannedType, TypePlan, TypeShape, is_string_enum};
use safething_ir::union::{TaggedUnion, is_literal_const, tagged_union};
use safething_ir::{DataSchema, Definition, IrPath, SchemaType};

use super::GenError;
use super::idents::{
    doc_text, docs, field_const, ident, pascal, type_allows, unique, variant_names_need_allow,
};

/// Schemas nest at most this deep (a safety net: validated definitions have no cycles).
const MAX_DEPTH: usize = 64;

/// Which traits a type may derive.
#[derive(Clone, Copy, Debug)]
struct Traits {
    /// `Eq` and `Hash` (no `f64` or JSON value inside).
    eq_hash: bool,
    /// `Copy` (no `String`, `Vec` or JSON value inside).
    copy: bool,
}

impl Traits {
    const ALL: Traits = Traits {
        eq_hash: true,
        copy: true,
    };

    fn and(self, other: Traits) -> Traits {
        Traits {
            eq_hash: self.eq_hash && other.eq_hash,
            copy: self.copy && other.copy,
        }
    }
}

/// Spells a definition's schemas as Rust types.
pub(crate) struct TypeGen<'a> {
    def: &'a Definition,
    plan: TypePlan,
    rt: &'a TokenStream,
    serde_crate: String,
    /// Planned types not emitted: the inline alternatives of serde-tagged unions (and their
    /// tag properties), whose fields live in the enum's variants instead.
    folded: BTreeSet<IrPath>,
}

impl<'a> TypeGen<'a> {
    /// A generator for `def`'s types; `rt` is the path of the runtime crate (`::safething`).
    pub(crate) fn new(def: &'a Definition, rt: &'a TokenStream) -> TypeGen<'a> {
        let plan = TypePlan::of(def);
        let mut folded = BTreeSet::new();
        for planned in plan.iter().filter(|p| p.shape == TypeShape::Union) {
            let Some(union) = def
                .schema_at(&planned.path)
                .and_then(|s| serde_tagged(s, &def.types))
            else {
                continue;
            };
            for v in union.variants.iter().filter(|v| v.reference.is_none()) {
                let at = planned.path.key("oneOf").index(v.index);
                folded.insert(at.key("properties").key(union.tag));
                folded.insert(at);
            }
        }
        TypeGen {
            def,
            plan,
            rt,
            serde_crate: format!("{}::__private::serde", rt.to_string().replace(' ', "")),
            folded,
        }
    }

    /// The Rust type of the schema at `path` (a payload or a property).
    pub(crate) fn rust_type(&self, s: &DataSchema, path: &IrPath) -> Result<TokenStream, GenError> {
        self.type_at(s, path, 0)
    }

    fn type_at(
        &self,
        s: &DataSchema,
        path: &IrPath,
        depth: usize,
    ) -> Result<TokenStream, GenError> {
        if let Some(planned) = self.plan.at(path)
            && s.reference.is_none()
        {
            let name = ident(&planned.name)?;
            return Ok(quote!(#name));
        }
        self.structural(s, path, depth)
    }

    /// The type a schema maps to, without looking up a planned type at `path` itself.
    fn structural(
        &self,
        s: &DataSchema,
        path: &IrPath,
        depth: usize,
    ) -> Result<TokenStream, GenError> {
        if depth > MAX_DEPTH {
            return Err(GenError::Unsupported(format!(
                "`{path}` is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        let rt = self.rt;
        if let Some(r) = &s.reference {
            let name = ident(r)?;
            return Ok(quote!(#name));
        }
        let value = quote!(#rt::__private::serde_json::Value);
        if s.one_of.is_some() || is_string_enum(s) {
            // Unions and string enums always have a planned type; a named one is an alias's
            // target, which `items` handles. Anything else has no Rust shape of its own.
            return Ok(value);
        }
        Ok(match s.ty {
            Some(SchemaType::Boolean) => quote!(bool),
            Some(SchemaType::Integer) => integer_type(s),
            Some(SchemaType::Number) => quote!(f64),
            Some(SchemaType::String) => quote!(::std::string::String),
            Some(SchemaType::Null) => quote!(()),
            Some(SchemaType::Array) => {
                let item = match &s.items {
                    Some(items) => self.type_at(items, &path.key("items"), depth + 1)?,
                    None => value,
                };
                quote!(::std::vec::Vec<#item>)
            }
            Some(SchemaType::Object) if s.is_map() => {
                let values = match &s.additional_properties {
                    Some(v) => self.type_at(v, &path.key("additionalProperties"), depth + 1)?,
                    None => value,
                };
                quote!(::std::collections::BTreeMap<::std::string::String, #values>)
            }
            // An object always has a planned type (named types: an alias target).
            Some(SchemaType::Object) | None => value,
        })
    }

    fn traits(&self, s: &DataSchema, depth: usize) -> Result<Traits, GenError> {
        if depth > MAX_DEPTH {
            return Err(GenError::Unsupported(format!(
                "schemas nested more than {MAX_DEPTH} levels deep"
            )));
        }
        if let Some(r) = &s.reference {
            let target = self
                .def
                .types
                .get(r)
                .ok_or_else(|| GenError::Unsupported(format!("unknown type `{r}`")))?;
            return self.traits(target, depth + 1);
        }
        if let Some(alternatives) = &s.one_of {
            return alternatives
                .iter()
                .try_fold(Traits::ALL, |t, a| Ok(t.and(self.traits(a, depth + 1)?)));
        }
        if is_string_enum(s) || is_literal_const(s) {
            return Ok(Traits::ALL);
        }
        let json_value = Traits {
            eq_hash: false,
            copy: false,
        };
        Ok(match s.ty {
            Some(SchemaType::Boolean | SchemaType::Integer | SchemaType::Null) => Traits::ALL,
            Some(SchemaType::Number) => Traits {
                eq_hash: false,
                copy: true,
            },
            Some(SchemaType::String) => Traits {
                eq_hash: true,
                copy: false,
            },
            Some(SchemaType::Array) => {
                let items = match &s.items {
                    Some(items) => self.traits(items, depth + 1)?,
                    None => json_value,
                };
                Traits {
                    eq_hash: items.eq_hash,
                    copy: false,
                }
            }
            Some(SchemaType::Object) if s.is_map() => {
                let values = match &s.additional_properties {
                    Some(v) => self.traits(v, depth + 1)?,
                    None => json_value,
                };
                Traits {
                    eq_hash: values.eq_hash,
                    copy: false,
                }
            }
            Some(SchemaType::Object) => s
                .properties
                .values()
                .try_fold(Traits::ALL, |t, p| Ok(t.and(self.traits(p, depth + 1)?)))?,
            None => json_value,
        })
    }

    fn derives(&self, t: Traits, default: bool, ord: bool) -> TokenStream {
        let rt = self.rt;
        let copy = t.copy.then(|| quote!(Copy,));
        let default = default.then(|| quote!(Default,));
        let eq = t.eq_hash.then(|| quote!(Eq, Hash,));
        let ord = ord.then(|| quote!(PartialOrd, Ord,));
        let serde_crate = &self.serde_crate;
        quote! {
            #[derive(
                Clone, #copy Debug, #default PartialEq, #eq #ord
                #rt::__private::serde::Serialize, #rt::__private::serde::Deserialize
            )]
            #[serde(crate = #serde_crate)]
        }
    }

    /// Every planned type, in plan order.
    pub(crate) fn items(&self) -> Result<TokenStream, GenError> {
        let mut out = TokenStream::new();
        for planned in self.plan.iter() {
            if self.folded.contains(&planned.path) {
                continue;
            }
            let schema = self.schema_at(&planned.path)?;
            out.extend(match planned.shape {
                TypeShape::Struct => self.structure(planned, schema)?,
                TypeShape::StringEnum => self.string_enum(planned, schema)?,
                TypeShape::Union => match serde_tagged(schema, &self.def.types) {
                    Some(union) => self.tagged_union(planned, schema, &union)?,
                    None => self.union(planned, schema)?,
                },
                TypeShape::Alias => self.alias(planned, schema)?,
                TypeShape::Const => self.constant(planned, schema)?,
            });
        }
        Ok(out)
    }

    /// The schema at a planned type's path.
    fn schema_at(&self, path: &IrPath) -> Result<&'a DataSchema, GenError> {
        let missing = || GenError::Unsupported(format!("no schema at `{path}`"));
        self.def.schema_at(path).ok_or_else(missing)
    }

    fn structure(&self, planned: &PlannedType, s: &DataSchema) -> Result<TokenStream, GenError> {
        let name = ident(&planned.name)?;
        let allows = type_allows(&name);
        let all_optional = s.properties.keys().all(|p| !s.is_required(p));
        let derives = self.derives(self.traits(s, 0)?, all_optional, false);
        let doc = docs(&type_docs(s, &planned.name, &planned.path));
        let rt = self.rt;
        let mut fields = Vec::new();
        let mut consts = Vec::new();
        for (prop, schema) in &s.properties {
            let field = ident(prop)?;
            let path = planned.path.key("properties").key(prop);
            let ty = self.rust_type(schema, &path)?;
            let mut paragraphs = schema_docs(schema);
            if paragraphs.is_empty() {
                paragraphs.push(format!("The `{prop}` property."));
            }
            let field_doc = docs(&paragraphs);
            let rename = field
                .to_string()
                .ends_with('_')
                .then(|| quote!(#[serde(rename = #prop)]));
            if s.is_required(prop) {
                fields.push(quote! { #field_doc #rename pub #field: #ty, });
            } else {
                fields.push(quote! {
                    #field_doc
                    #rename
                    #[serde(default, skip_serializing_if = "::core::option::Option::is_none")]
                    pub #field: ::core::option::Option<#ty>,
                });
            }
            let konst = field_const(prop)?;
            let const_doc = format!(" The `{prop}` field, for filters: `{name}::{konst}.eq(..)`.");
            consts.push(quote! {
                #[doc = #const_doc]
                pub const #konst: #rt::typed::Field<Self, #ty> = #rt::typed::Field::new(&[#prop]);
            });
        }
        let consts = (!consts.is_empty()).then(|| quote! { impl #name { #(#consts)* } });
        Ok(quote! {
            #doc
            #derives
            #[serde(deny_unknown_fields)]
            #allows
            pub struct #name { #(#fields)* }
            #consts
        })
    }

    fn string_enum(&self, planned: &PlannedType, s: &DataSchema) -> Result<TokenStream, GenError> {
        let name = ident(&planned.name)?;
        let values: Vec<&str> = s
            .enumeration
            .iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let variant_names = unique(values.iter().map(|v| pascal(v)).collect());
        let mut allows = type_allows(&name);
        if variant_names_need_allow(&planned.name, &variant_names) {
            allows.extend(quote!(#[allow(clippy::enum_variant_names)]));
        }
        let mut variants = Vec::new();
        let mut as_str = Vec::new();
        for (value, variant) in values.iter().zip(&variant_names) {
            let v = ident(variant)?;
            let doc = format!(" `{}`", value.replace('`', "'"));
            variants.push(quote! { #[doc = #doc] #[serde(rename = #value)] #v, });
            as_str.push(quote! { Self::#v => #value, });
        }
        let derives = self.derives(Traits::ALL, false, true);
        let doc = docs(&type_docs(s, &planned.name, &planned.path));
        Ok(quote! {
            #doc
            #derives
            #allows
            pub enum #name { #(#variants)* }
            impl #name {
                /// The value as it travels on the wire.
                pub fn as_str(&self) -> &'static str {
                    match self { #(#as_str)* }
                }
            }
        })
    }

    fn union(&self, planned: &PlannedType, s: &DataSchema) -> Result<TokenStream, GenError> {
        let name = ident(&planned.name)?;
        let alternatives = s.one_of.as_deref().unwrap_or_default();
        // A union tagged by a non-string value (which serde cannot tag by) stays untagged, but
        // its variants are named as a tagged union's are; the tag's constant type tells them
        // apart on deserialization.
        let tagged_names = tagged_union(s, &self.def.types).map(|u| u.variant_names());
        let mut names = Vec::new();
        for (i, alt) in alternatives.iter().enumerate() {
            let alt_path = planned.path.key("oneOf").index(i);
            let tagged_name = tagged_names
                .as_ref()
                .and_then(|n| n.get(i))
                .map(|n| pascal(n));
            let base = if let Some(tagged_name) = tagged_name {
                tagged_name
            } else if let Some(title) = &alt.title {
                pascal(title)
            } else if let Some(r) = &alt.reference {
                pascal(r)
            } else if self.plan.at(&alt_path).is_some() {
                format!("Variant{}", i + 1)
            } else {
                match alt.ty {
                    Some(t) => pascal(t.as_str()),
                    None => format!("Variant{}", i + 1),
                }
            };
            names.push(base);
        }
        let names = unique(names);
        let mut allows = type_allows(&name);
        if variant_names_need_allow(&planned.name, &names) {
            allows.extend(quote!(#[allow(clippy::enum_variant_names)]));
        }
        let mut variants = Vec::new();
        for (i, (alt, variant)) in alternatives.iter().zip(&names).enumerate() {
            let v = ident(variant)?;
            let mut paragraphs = schema_docs(alt);
            if paragraphs.is_empty() {
                paragraphs.push(format!("Alternative {}.", i + 1));
            }
            let doc = docs(&paragraphs);
            let is_null = alt.reference.is_none() && alt.ty == Some(SchemaType::Null);
            if is_null {
                variants.push(quote! { #doc #v, });
            } else {
                let ty = self.rust_type(alt, &planned.path.key("oneOf").index(i))?;
                variants.push(quote! { #doc #v(#ty), });
            }
        }
        let derives = self.derives(self.traits(s, 0)?, false, false);
        let doc = docs(&type_docs(s, &planned.name, &planned.path));
        Ok(quote! {
            #doc
            #derives
            #[serde(untagged)]
            #[allow(clippy::large_enum_variant)]
            #allows
            pub enum #name { #(#variants)* }
        })
    }

    /// An internally tagged enum (`#[serde(tag = "mode")]`): one struct variant per
    /// alternative, holding its properties but the tag. A referenced alternative's properties
    /// are copied into its variant (its named struct keeps the tag field, so it cannot be a
    /// newtype variant: serde would write the tag twice), and `From` converts the struct.
    fn tagged_union(
        &self,
        planned: &PlannedType,
        s: &DataSchema,
        union: &TaggedUnion<'_>,
    ) -> Result<TokenStream, GenError> {
        let name = ident(&planned.name)?;
        // The IR's names (those of the alternatives' planned types), keywords escaped.
        let names = unique(union.variant_names().iter().map(|n| pascal(n)).collect());
        let mut allows = type_allows(&name);
        if variant_names_need_allow(&planned.name, &names) {
            allows.extend(quote!(#[allow(clippy::enum_variant_names)]));
        }
        let tag = union.tag;
        let mut variants = Vec::new();
        let mut conversions = Vec::new();
        for (v, variant) in union.variants.iter().zip(&names) {
            let variant = ident(variant)?;
            let value = v.value.as_str().unwrap_or_default();
            let mut paragraphs = schema_docs(v.alternative);
            if v.alternative.reference.is_some() {
                paragraphs.extend(schema_docs(v.object));
            }
            paragraphs.push(format!(
                "`{tag}` is `{}`.",
                doc_text(&value.replace('`', "'"))
            ));
            let doc = docs(&paragraphs);
            // Where the variant's properties are, for their planned types.
            let object_path = match v.object_type {
                Some(t) => IrPath::of(["types", t]),
                None => planned.path.key("oneOf").index(v.index),
            };
            let mut fields = Vec::new();
            let mut moves = Vec::new();
            for (prop, schema) in v.fields(tag) {
                let field = ident(prop)?;
                let ty = self.rust_type(schema, &object_path.key("properties").key(prop))?;
                let mut paragraphs = schema_docs(schema);
                if paragraphs.is_empty() {
                    paragraphs.push(format!("The `{prop}` property."));
                }
                let field_doc = docs(&paragraphs);
                let rename = field
                    .to_string()
                    .ends_with('_')
                    .then(|| quote!(#[serde(rename = #prop)]));
                if v.object.is_required(prop) {
                    fields.push(quote! { #field_doc #rename #field: #ty, });
                } else {
                    fields.push(quote! {
                        #field_doc
                        #rename
                        #[serde(default, skip_serializing_if = "::core::option::Option::is_none")]
                        #field: ::core::option::Option<#ty>,
                    });
                }
                moves.push(quote!(#field: value.#field,));
            }
            // Always a struct variant, even without fields: serde lets a unit variant of an
            // internally tagged enum ignore unknown properties, and objects are closed.
            variants.push(quote! { #doc #[serde(rename = #value)] #variant { #(#fields)* }, });
            if let Some(source) = v.object_type {
                let source = ident(source)?;
                let (param, body) = if moves.is_empty() {
                    (quote!(_value), quote!(Self::#variant {}))
                } else {
                    (quote!(value), quote!(Self::#variant { #(#moves)* }))
                };
                conversions.push(quote! {
                    impl ::core::convert::From<#source> for #name {
                        fn from(#param: #source) -> Self { #body }
                    }
                });
            }
        }
        let derives = self.derives(self.traits(s, 0)?, false, false);
        let doc = docs(&type_docs(s, &planned.name, &planned.path));
        Ok(quote! {
            #doc
            #derives
            #[serde(tag = #tag, deny_unknown_fields)]
            #[allow(clippy::large_enum_variant)]
            #allows
            pub enum #name { #(#variants)* }
            #(#conversions)*
        })
    }

    /// A unit struct for a `const` scalar: it serializes as the value and deserializes from it
    /// only, so a wrong value is a deserialization error rather than a silently kept `Value`.
    fn constant(&self, planned: &PlannedType, s: &DataSchema) -> Result<TokenStream, GenError> {
        let name = ident(&planned.name)?;
        let allows = type_allows(&name);
        let rt = self.rt;
        let unsupported =
            || GenError::Unsupported(format!("the `const` of `{}` is no scalar", planned.path));
        let value = s.constant.as_ref().ok_or_else(unsupported)?;
        let (ty, literal, serialize, matches) = match value {
            Value::String(v) => (
                quote!(&'static str),
                quote!(#v),
                quote!(serialize_str),
                quote!(value.as_str() == ::core::option::Option::Some(Self::VALUE)),
            ),
            Value::Bool(v) => (
                quote!(bool),
                quote!(#v),
                quote!(serialize_bool),
                quote!(value.as_bool() == ::core::option::Option::Some(Self::VALUE)),
            ),
            Value::Number(n) => {
                if let Some(v) = n.as_u64() {
                    (
                        quote!(u64),
                        quote!(#v),
                        quote!(serialize_u64),
                        quote!(value.as_u64() == ::core::option::Option::Some(Self::VALUE)),
                    )
                } else if let Some(v) = n.as_i64() {
                    (
                        quote!(i64),
                        quote!(#v),
                        quote!(serialize_i64),
                        quote!(value.as_i64() == ::core::option::Option::Some(Self::VALUE)),
                    )
                } else {
                    let v = n.as_f64().ok_or_else(unsupported)?;
                    (
                        quote!(f64),
                        quote!(#v),
                        quote!(serialize_f64),
                        quote!(value.as_f64() == ::core::option::Option::Some(Self::VALUE)),
                    )
                }
            }
            _ => return Err(unsupported()),
        };
        let expected = value.to_string();
        let mut paragraphs = type_docs(s, &planned.name, &planned.path);
        paragraphs.push(format!(
            "It serializes as `{}` and deserializes from nothing else.",
            doc_text(&expected.replace('`', "'"))
        ));
        let doc = docs(&paragraphs);
        let serde = quote!(#rt::__private::serde);
        Ok(quote! {
            #doc
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
            #allows
            pub struct #name;
            impl #name {
                /// The one value, as it travels on the wire.
                pub const VALUE: #ty = #literal;
            }
            impl #serde::Serialize for #name {
                fn serialize<S: #serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> ::core::result::Result<S::Ok, S::Error> {
                    serializer.#serialize(Self::VALUE)
                }
            }
            impl<'de> #serde::Deserialize<'de> for #name {
                fn deserialize<D: #serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> ::core::result::Result<Self, D::Error> {
                    let value = <#rt::__private::serde_json::Value as #serde::Deserialize>::deserialize(
                        deserializer,
                    )?;
                    if #matches {
                        ::core::result::Result::Ok(Self)
                    } else {
                        ::core::result::Result::Err(<D::Error as #serde::de::Error>::custom(
                            ::std::format!("expected {}, found {}", #expected, value),
                        ))
                    }
                }
            }
        })
    }

    fn alias(&self, planned: &PlannedType, s: &DataSchema) -> Result<TokenStream, GenError> {
        let name = ident(&planned.name)?;
        let allows = type_allows(&name);
        let ty = self.structural(s, &planned.path, 0)?;
        let doc = docs(&type_docs(s, &planned.name, &planned.path));
        Ok(quote! { #doc #allows pub type #name = #ty; })
    }
}

/// The union `s` is, when serde can tag it: a tagged union whose tags are all strings.
fn serde_tagged<'a>(
    s: &'a DataSchema,
    types: &'a std::collections::BTreeMap<String, DataSchema>,
) -> Option<TaggedUnion<'a>> {
    tagged_union(s, types).filter(TaggedUnion::has_string_tags)
}

/// Docs of a generated type: the schema's own, or where it comes from.
fn type_docs(s: &DataSchema, name: &str, path: &IrPath) -> Vec<String> {
    let mut paragraphs = schema_docs(s);
    if paragraphs.is_empty() {
        paragraphs.push(origin(name, path));
    }
    paragraphs
}

/// Where a type without docs of its own comes from, in words.
fn origin(name: &str, path: &IrPath) -> String {
    use safething_ir::Segment::Key;
    let key = |s: &safething_ir::Segment| match s {
        Key(k) => Some(k.clone()),
        safething_ir::Segment::Index(_) => None,
    };
    let segments: Vec<Option<String>> = path.segments().iter().map(key).collect();
    match segments.as_slice() {
        [Some(a), Some(n)] if a == "attributes" => format!("The value of attribute `{n}`."),
        [Some(e), Some(n), Some(d)] if e == "events" && d == "data" => {
            format!("The data of event `{n}`.")
        }
        [Some(a), Some(n), Some(io)] if a == "actions" => format!("The {io} of action `{n}`."),
        [Some(t), Some(n)] if t == "types" => format!("The type `{n}`."),
        _ => format!("`{name}`, at `{path}` in the definition."),
    }
}

/// How Rust doc comments write prose: brackets and angle brackets escaped (no stray links or
/// HTML), patterns as escaped text.
struct RustDocs;

impl crate::docs::DocStyle for RustDocs {
    fn text(&self, s: &str) -> String {
        doc_text(s)
    }

    fn pattern(&self, p: &str) -> String {
        p.to_owned()
    }
}

/// Doc paragraphs of a schema: title, description, then its unit, format and constraints.
pub(crate) fn schema_docs(s: &DataSchema) -> Vec<String> {
    crate::docs::schema_docs(s, &RustDocs)
}

#[derive(Clone, Copy)]
enum Round {
    Up,
    Down,
}

/// A bound as a whole number, rounded into the range.
fn whole(n: &Number, round: Round) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    if !f.is_finite() {
        return None;
    }
    let r = match round {
        Round::Up => f.ceil(),
        Round::Down => f.floor(),
    };
    // In range of i128 for any bound a definition can hold (JSON numbers are f64 at most 1e308,
    // but anything beyond i64 already means "unbounded" below).
    (r.abs() < 1e30).then_some(r as i128)
}

/// The smallest integer type that holds the schema's declared range; `i64` when unbounded.
pub(crate) fn integer_type(s: &DataSchema) -> TokenStream {
    let values: Vec<i128> = s
        .enumeration
        .iter()
        .flatten()
        .chain(&s.constant)
        .filter_map(Value::as_number)
        .filter_map(|n| whole(n, Round::Down))
        .collect();
    let lows = [
        s.minimum.as_ref().and_then(|n| whole(n, Round::Up)),
        s.exclusive_minimum
            .as_ref()
            .and_then(|n| whole(n, Round::Down).map(|w| w + 1)),
        values.iter().copied().min(),
    ];
    let highs = [
        s.maximum.as_ref().and_then(|n| whole(n, Round::Down)),
        s.exclusive_maximum
            .as_ref()
            .and_then(|n| whole(n, Round::Up).map(|w| w - 1)),
        values.iter().copied().max(),
    ];
    let lo = lows.into_iter().flatten().max();
    let hi = highs.into_iter().flatten().min();
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return quote!(i64);
    };
    let fits = |min: i128, max: i128| lo >= min && hi <= max;
    if lo >= 0 {
        if fits(0, u8::MAX.into()) {
            quote!(u8)
        } else if fits(0, u16::MAX.into()) {
            quote!(u16)
        } else if fits(0, u32::MAX.into()) {
            quote!(u32)
        } else if fits(0, u64::MAX.into()) {
            quote!(u64)
        } else {
            quote!(u128)
        }
    } else if fits(i8::MIN.into(), i8::MAX.into()) {
        quote!(i8)
    } else if fits(i16::MIN.into(), i16::MAX.into()) {
        quote!(i16)
    } else if fits(i32::MIN.into(), i32::MAX.into()) {
        quote!(i32)
    } else if fits(i64::MIN.into(), i64::MAX.into()) {
        quote!(i64)
    } else {
        quote!(i128)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn int(v: Value) -> String {
        let s: DataSchema = serde_json::from_value(v).unwrap();
        integer_type(&s).to_string()
    }

    #[test]
    fn integer_widths() {
        assert_eq!(int(json!({"type": "integer"})), "i64");
        assert_eq!(int(json!({"type": "integer", "minimum": 0})), "i64");
        assert_eq!(
            int(json!({"type": "integer", "minimum": 0, "maximum": 120})),
            "u8"
        );
        assert_eq!(
            int(json!({"type": "integer", "minimum": 0, "maximum": 256})),
            "u16"
        );
        assert_eq!(
            int(json!({"type": "integer", "minimum": -1, "maximum": 127})),
            "i8"
        );
        assert_eq!(
            int(json!({"type": "integer", "minimum": -129, "maximum": 0})),
            "i16"
        );
        assert_eq!(
            int(json!({"type": "integer", "exclusiveMinimum": -1, "exclusiveMaximum": 256})),
            "u8"
        );
        assert_eq!(
            int(json!({"type": "integer", "exclusiveMinimum": -0.5, "exclusiveMaximum": 255.5})),
            "u8"
        );
        assert_eq!(
            int(json!({"type": "integer", "minimum": 0, "maximum": 4294967296u64})),
            "u64"
        );
        assert_eq!(
            int(json!({"type": "integer", "minimum": -1, "maximum": 18446744073709551615u64})),
            "i128"
        );
        assert_eq!(int(json!({"type": "integer", "enum": [1, 2, 300]})), "u16");
        assert_eq!(int(json!({"type": "integer", "const": -3})), "i8");
    }
}

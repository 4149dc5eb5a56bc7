//! Code generation: the `SafeThing` impl (in a `const _` block) and, through the same service
//! generator as TOML definitions, the handler trait, device handle and client.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use safething_codegen::rust::{Embed, ServiceModel, generate_service};
use safething_ir::naming::ThingTypeNames;

use crate::ctxt::Ctxt;
use crate::lower::Lowered;

/// The names of the generated items: `<Struct>Device`, `<Struct>Handler`, `<Struct>Client`
/// (the struct keeps its own name, so the device handle cannot take it).
pub(crate) fn names(ident: &syn::Ident) -> ThingTypeNames {
    let base = ident.to_string();
    let base = base.strip_prefix("r#").unwrap_or(&base);
    ThingTypeNames {
        device: format!("{base}Device"),
        handler: format!("{base}Handler"),
        client: format!("{base}Client"),
    }
}

/// The expansion of a lowered struct (also when errors were reported: what could be lowered is
/// still generated, so that one mistake gives one error).
pub(crate) fn expand(cx: &Ctxt, input: &syn::DeriveInput, lowered: &Lowered) -> TokenStream {
    let rt = &lowered.runtime;
    let ident = &input.ident;
    let json = serde_json::to_string(&lowered.definition).unwrap_or_default();
    let fills = lowered.holes.iter().map(|hole| {
        let ty = &hole.ty;
        let path = &hole.path;
        quote!(.schema::<#ty>(&[#(#path),*]))
    });
    let checks: Vec<TokenStream> = lowered
        .checks
        .iter()
        .map(|check| {
            let member = &check.member;
            match &check.canonical {
                Some(canonical) => {
                    quote_spanned!(check.span=> let _: &#canonical = &thing.#member;)
                }
                None => quote!(let _ = &thing.#member;),
            }
        })
        .collect();
    // A field typed `String` is a JSON string only if `String` is the standard one: the
    // closure (never called) makes the compiler check every type the derive mapped by name,
    // and reads every field that became an attribute.
    let type_checks = if checks.is_empty() {
        TokenStream::new()
    } else {
        quote! {
            let _ = |thing: &#ident| {
                #(#checks)*
            };
        }
    };
    let derived = quote! {
        const _: () = {
            #[automatically_derived]
            impl #rt::typed::SafeThing for #ident {
                fn derived() -> &'static #rt::typed::Derived {
                    static DERIVED: ::std::sync::LazyLock<#rt::typed::Derived> =
                        ::std::sync::LazyLock::new(|| {
                            #rt::typed::DerivedBuilder::new(#json) #(#fills)* .build()
                        });
                    &DERIVED
                }
            }
            #type_checks
        };
    };

    let names = names(ident);
    let mut model = ServiceModel::new(&lowered.definition, lowered.payloads.clone());
    model.embed = Embed::Expr {
        definition: quote!(<#ident as #rt::typed::SafeThing>::derived().definition()),
        checked: quote!(<#ident as #rt::typed::SafeThing>::derived().checked()),
    };
    model.runtime = rt.clone();
    model.vis = vis(&input.vis);
    model.names = names.clone();
    let service = match generate_service(&model) {
        Ok(tokens) => tokens,
        Err(e) => {
            cx.error(
                ident.span(),
                format!("cannot generate the thing's API: {e}"),
            );
            stubs(&input.vis, &names)
        }
    };
    quote! {
        #derived
        #service
    }
}

fn vis(vis: &syn::Visibility) -> TokenStream {
    match vis {
        syn::Visibility::Inherited => TokenStream::new(),
        other => quote!(#other),
    }
}

/// Empty items with the generated names, so that uses of them do not add errors to the one
/// that prevented their generation.
fn stubs(vis: &syn::Visibility, names: &ThingTypeNames) -> TokenStream {
    let device = format_ident!("{}", names.device);
    let handler = format_ident!("{}", names.handler);
    let client = format_ident!("{}", names.client);
    quote! {
        /// Not generated: see the error on the struct.
        #vis struct #device;
        /// Not generated: see the error on the struct.
        #vis trait #handler {}
        /// Not generated: see the error on the struct.
        #vis struct #client;
    }
}

/// The expansion for input the derive does not take (an enum, a union, a tuple struct): a
/// `SafeThing` impl with an empty definition, so that uses of it add no errors.
pub(crate) fn fallback(input: &syn::DeriveInput) -> TokenStream {
    if !input.generics.params.is_empty() {
        return TokenStream::new();
    }
    let ident = &input.ident;
    let rt = quote_spanned!(Span::call_site()=> ::safething);
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #rt::typed::SafeThing for #ident {
                fn derived() -> &'static #rt::typed::Derived {
                    static DERIVED: ::std::sync::LazyLock<#rt::typed::Derived> =
                        ::std::sync::LazyLock::new(|| {
                            #rt::typed::DerivedBuilder::new("{}").build()
                        });
                    &DERIVED
                }
            }
        };
    }
}

//! The `<Thing>` device handle: typed `set_<attr>`, `emit_<event>`, `serve(handler)`, the
//! lifecycle, and the embedded definition.

use proc_macro2::TokenStream;
use quote::quote;

use safething_ir::AttributeKind;

use super::GenError;
use super::handler::serve_body;
use super::idents::{affixed, doc_text, docs, method_allows, type_allows};
use super::model::{Ctx, Embed, access_words};
use super::types::schema_docs;

/// The device handle: struct and methods.
pub(crate) fn device(cx: &Ctx<'_>) -> Result<TokenStream, GenError> {
    let rt = cx.rt;
    let (device, handler, client) = (&cx.device, &cx.handler, &cx.client);
    let def = cx.def();
    let checked_type = quote! {
        ::core::result::Result<#rt::ir::CheckedDefinition, #rt::ir::Invalid>
    };
    let (definition, checked) = match &cx.model.embed {
        Embed::Json(json) => (
            quote! {
                const JSON: &str = #json;
                static DEFINITION: ::std::sync::LazyLock<#rt::ir::Definition> =
                    ::std::sync::LazyLock::new(|| #rt::typed::parse_definition(JSON));
                &DEFINITION
            },
            quote! {
                static CHECKED: ::std::sync::LazyLock<#checked_type> =
                    ::std::sync::LazyLock::new(|| {
                        #rt::ir::Definition::checked(#device::definition().clone())
                    });
                &CHECKED
            },
        ),
        Embed::Expr {
            definition,
            checked,
        } => (quote! { #definition }, quote! { #checked }),
    };

    let mut methods = Vec::new();
    for (name, attribute) in &def.attributes {
        if attribute.kind != AttributeKind::Dynamic {
            continue;
        }
        let method = affixed("set_", name, "")?;
        let allows = method_allows(&method.to_string());
        let ty = cx.attribute(name)?;
        let mut paragraphs = vec![format!(
            "Sets attribute `{name}`: checked against its schema, retained, added to its \
             history, and published to watchers — only when it changed. Returns whether it \
             changed."
        )];
        paragraphs.extend(schema_docs(&attribute.schema));
        paragraphs.push(format!("Readable by: {}.", access_words(&attribute.access)));
        let doc = docs(&paragraphs);
        methods.push(quote! {
            #doc
            #allows
            pub async fn #method(&self, value: #ty) -> #rt::Result<bool> {
                #rt::typed::set_attribute(&self.device, #name, &value).await
            }
        });
    }
    for (name, event) in &def.events {
        let method = affixed("emit_", name, "")?;
        let allows = method_allows(&method.to_string());
        let mut paragraphs = vec![format!("Emits event `{name}`.")];
        paragraphs.extend(event.title.iter().map(|t| doc_text(t)));
        paragraphs.extend(event.description.iter().map(|t| doc_text(t)));
        paragraphs.push(format!("Received by: {}.", access_words(&event.access)));
        let doc = docs(&paragraphs);
        let (param, arg) = match cx.event(name)? {
            Some(ty) => (quote!(data: #ty), quote!(&data)),
            None => (TokenStream::new(), quote!(&())),
        };
        methods.push(quote! {
            #doc
            #allows
            pub async fn #method(&self, #param) -> #rt::Result<()> {
                #rt::typed::emit(&self.device, #name, #arg).await
            }
        });
    }

    let serve = serve_body(cx)?;
    let vis = &cx.model.vis;
    let allows = type_allows(device);
    let mut paragraphs = Vec::new();
    paragraphs.extend(def.thing.title.iter().map(|t| doc_text(t)));
    paragraphs.extend(def.thing.description.iter().map(|t| doc_text(t)));
    paragraphs.push(format!(
        "The device side of a `{}` {} thing: build it with [`{device}::builder`], serve its \
         actions and writes with a [`{handler}`], and set its attributes and emit its events \
         with typed methods. Clients use a [`{client}`].",
        def.thing.name, def.thing.version
    ));
    let doc = docs(&paragraphs);
    Ok(quote! {
        #doc
        #[derive(Clone, Debug)]
        #allows
        #vis struct #device {
            device: #rt::Device,
        }

        impl #device {
            /// The definition this code was generated from: the device publishes exactly this.
            pub fn definition() -> &'static #rt::ir::Definition {
                #definition
            }

            // Checked once, at first use: every builder takes the result as it is.
            fn checked_definition() -> &'static #checked_type {
                #checked
            }

            /// Starts building a device with id `id` (at least 5 characters): set its
            /// transport and owner, then `build()`.
            pub fn builder(
                id: impl ::core::convert::Into<::std::string::String>,
            ) -> #rt::typed::DeviceBuilder<Self> {
                #rt::typed::DeviceBuilder::new(Self::checked_definition().clone(), id, |device| Self { device })
            }

            /// Wraps an untyped device, which must serve exactly this definition.
            pub fn new(device: #rt::Device) -> #rt::Result<Self> {
                #rt::typed::check_device(&device, Self::definition())?;
                ::core::result::Result::Ok(Self { device })
            }

            /// The thing's id.
            pub fn id(&self) -> &#rt::ir::ThingId {
                self.device.id()
            }

            /// The untyped device.
            pub fn inner(&self) -> &#rt::Device {
                &self.device
            }

            /// The untyped device, by value.
            pub fn into_inner(self) -> #rt::Device {
                self.device
            }

            /// Serves actions and writes with `handler` (replacing any previous one).
            pub fn serve(&self, handler: impl #handler) {
                #serve
            }

            /// Puts the thing on the network (state `registered` until it is published).
            pub async fn register(&self) -> #rt::Result<()> {
                self.device.register().await
            }

            /// Makes the thing operative: it accepts requests.
            pub async fn publish(&self) -> #rt::Result<()> {
                self.device.publish().await
            }

            /// Takes the thing out of service.
            pub async fn disable(&self) -> #rt::Result<()> {
                self.device.disable().await
            }

            /// The lifecycle state.
            pub fn lifecycle(&self) -> #rt::wire::Lifecycle {
                self.device.lifecycle()
            }

            /// Leaves the network: stops answering, cancels running actions, goes offline.
            pub async fn shutdown(&self) {
                self.device.shutdown().await;
            }

            #(#methods)*
        }
    })
}

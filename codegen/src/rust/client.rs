//! The `<Thing>Client`: typed reads, histories, watches, writes, event streams and actions.
//! Affordances with access `thing` get no client methods: no client may use them.

use proc_macro2::TokenStream;
use quote::quote;

use safething_ir::{Access, AttributeKind};

use super::GenError;
use super::idents::{affixed, doc_text, docs, ident, method_allows, type_allows};
use super::model::{Ctx, access_doc};
use super::types::schema_docs;

fn method(doc: Vec<String>, name: &proc_macro2::Ident, body: TokenStream) -> TokenStream {
    let doc = docs(&doc);
    let allows = method_allows(&name.to_string());
    quote! { #doc #allows #body }
}

/// The client: struct and methods.
pub(crate) fn client(cx: &Ctx<'_>) -> Result<TokenStream, GenError> {
    let rt = cx.rt;
    let (device, client) = (&cx.device, &cx.client);
    let def = cx.def();
    let mut methods = Vec::new();

    for (name, attribute) in &def.attributes {
        if attribute.access == Access::Thing {
            continue;
        }
        let ty = cx.attribute(name)?;
        let access = access_doc(&attribute.access);
        let about = schema_docs(&attribute.schema);
        let kind = match attribute.kind {
            AttributeKind::Static => "static",
            AttributeKind::Dynamic => "dynamic",
        };

        let read = ident(name)?;
        let mut doc = vec![format!(
            "Reads attribute `{name}` ({kind}): its current value, from the device or, when \
             the device does not answer, from a store (`source` says which)."
        )];
        doc.extend(about.iter().cloned());
        doc.push(access.clone());
        methods.push(method(
            doc,
            &read,
            quote! {
                pub async fn #read(&self) -> #rt::Result<#rt::typed::AttributeReading<#ty>> {
                    #rt::typed::read(&self.thing, #name).await
                }
            },
        ));

        if let Some(depth) = attribute.history {
            let history = affixed("", name, "_history")?;
            let doc = vec![
                format!(
                    "The last values of attribute `{name}` (up to {depth} from the device), \
                     oldest first, preceded by older ones the stores kept; each says where it \
                     came from."
                ),
                access.clone(),
            ];
            methods.push(method(doc, &history, quote! {
                pub async fn #history(&self) -> #rt::Result<::std::vec::Vec<#rt::typed::HistoryEntry<#ty>>> {
                    #rt::typed::history(&self.thing, #name).await
                }
            }));
        }

        if attribute.kind == AttributeKind::Dynamic {
            let watch = affixed("watch_", name, "")?;
            let doc = vec![
                format!(
                    "Follows attribute `{name}`: the stream starts with the current value (when \
                     it passes `filter`), then yields every change that passes it, with its \
                     sequence number and timestamp."
                ),
                access.clone(),
            ];
            methods.push(method(
                doc,
                &watch,
                quote! {
                    pub async fn #watch(
                        &self,
                        filter: #rt::typed::Filter<#ty>,
                    ) -> #rt::Result<#rt::typed::Watch<#ty>> {
                        #rt::typed::watch(&self.thing, #name, filter).await
                    }
                },
            ));
        }

        if attribute.writable {
            let write = affixed("write_", name, "")?;
            let doc = vec![
                format!(
                    "Writes attribute `{name}`; the device's handler accepts or rejects the \
                     value. Returns the value the device now holds."
                ),
                access.clone(),
            ];
            methods.push(method(doc, &write, quote! {
                pub async fn #write(&self, value: #ty) -> #rt::Result<#rt::typed::AttributeReading<#ty>> {
                    #rt::typed::write(&self.thing, #name, &value).await
                }
            }));
        }
    }

    for (name, event) in &def.events {
        if event.access == Access::Thing {
            continue;
        }
        let on = affixed("on_", name, "")?;
        let ty = cx.event(name)?.cloned().unwrap_or_else(|| quote!(()));
        let mut doc = vec![format!(
            "Receives event `{name}`: every notification whose data passes `filter`, with its \
             sequence number and timestamp."
        )];
        doc.extend(event.title.iter().map(|t| doc_text(t)));
        doc.extend(event.description.iter().map(|t| doc_text(t)));
        doc.push(access_doc(&event.access));
        methods.push(method(
            doc,
            &on,
            quote! {
                pub async fn #on(
                    &self,
                    filter: #rt::typed::Filter<#ty>,
                ) -> #rt::Result<#rt::typed::EventStream<#ty>> {
                    #rt::typed::subscribe(&self.thing, #name, filter).await
                }
            },
        ));
    }

    for (name, action) in &def.actions {
        if action.access == Access::Thing {
            continue;
        }
        let call = ident(name)?;
        let output = cx.output(name)?;
        let mut doc = vec![format!(
            "Requests action `{name}`. Await the result to send the request and get a handle \
             (state, states, typed output, cancel); set `.timeout(..)` or `.retries(..)` first \
             if needed."
        )];
        doc.extend(action.title.iter().map(|t| doc_text(t)));
        doc.extend(action.description.iter().map(|t| doc_text(t)));
        let mut facts = vec![access_doc(&action.access)];
        if let Some(timeout) = &action.timeout {
            facts.push(format!("Default timeout: {}.", timeout.0));
        }
        doc.push(facts.join(" "));
        let body = match cx.input(name)? {
            Some(input) => quote! {
                pub fn #call(&self, input: #input) -> #rt::typed::Invocation<#output> {
                    #rt::typed::Invocation::new(&self.thing, #name, &input)
                }
            },
            None => quote! {
                pub fn #call(&self) -> #rt::typed::Invocation<#output> {
                    #rt::typed::Invocation::new(&self.thing, #name, &())
                }
            },
        };
        methods.push(method(doc, &call, body));
    }

    let allows = type_allows(client);
    let vis = &cx.model.vis;
    let doc = docs(&[format!(
        "A client's typed handle to one `{}` thing. Its methods are the thing's affordances, \
         whatever their names; the framework's operations (`connect`, `id`, `description`, \
         `is_online`, the untyped `thing`) are those of trait `safething::ThingClient`. Every \
         method's documentation states the access type it requires.",
        def.thing.name
    )]);
    Ok(quote! {
        #doc
        #[derive(Clone, Debug)]
        #allows
        #vis struct #client {
            thing: #rt::client::RemoteThing,
        }

        impl #rt::typed::ThingClient for #client {
            fn definition() -> &'static #rt::ir::Definition {
                #device::definition()
            }

            fn new(thing: #rt::client::RemoteThing) -> #rt::Result<Self> {
                #rt::typed::check_compatible(&thing, #device::definition())?;
                ::core::result::Result::Ok(Self { thing })
            }

            fn thing(&self) -> &#rt::client::RemoteThing {
                &self.thing
            }
        }

        impl #client {
            #(#methods)*
        }
    })
}

//! The `<Thing>Handler` trait (one async method per action and writable attribute) and the
//! adapter that serves it through the runtime's untyped `Handler`.

use proc_macro2::TokenStream;
use quote::quote;

use safething_ir::AttributeKind;

use super::GenError;
use super::idents::{affixed, docs, ident, method_allows};
use super::model::{Ctx, access_doc};
use super::types::schema_docs;

/// Whether the handler trait has any method.
pub(crate) fn has_methods(cx: &Ctx<'_>) -> bool {
    let def = cx.def();
    !def.actions.is_empty() || def.attributes.values().any(|a| a.writable)
}

fn writable<'a>(cx: &Ctx<'a>) -> impl Iterator<Item = (&'a String, &'a safething_ir::Attribute)> {
    cx.def()
        .attributes
        .iter()
        .filter(|(_, a)| a.writable && a.kind == AttributeKind::Dynamic)
}

/// The handler trait.
pub(crate) fn handler_trait(cx: &Ctx<'_>) -> Result<TokenStream, GenError> {
    let rt = cx.rt;
    let (device, handler) = (&cx.device, &cx.handler);
    let mut methods = Vec::new();
    for (name, action) in &cx.def().actions {
        let method = ident(name)?;
        let allows = method_allows(&method.to_string());
        let output = cx.output(name)?;
        let input = cx.input(name)?.map(|ty| quote!(input: #ty,));
        let mut paragraphs = Vec::new();
        paragraphs.extend(action.title.iter().map(|t| super::idents::doc_text(t)));
        paragraphs.extend(
            action
                .description
                .iter()
                .map(|t| super::idents::doc_text(t)),
        );
        if paragraphs.is_empty() {
            paragraphs.push(format!("Runs action `{name}`."));
        }
        let mut facts = vec![access_doc(&action.access)];
        if let Some(timeout) = &action.timeout {
            facts.push(format!("Default timeout: {}.", timeout.0));
        }
        if action.idempotent {
            facts.push("Idempotent.".to_owned());
        }
        if action.safe {
            facts.push("Safe (only reads state).".to_owned());
        }
        paragraphs.push(facts.join(" "));
        paragraphs.push(
            "`ctx` has the request id, the requester, the deadline and the cancellation signal."
                .to_owned(),
        );
        let doc = docs(&paragraphs);
        methods.push(quote! {
            #doc
            #allows
            fn #method(&self, #input ctx: #rt::device::ActionContext)
                -> impl ::core::future::Future<
                    Output = ::core::result::Result<#output, #rt::wire::ActionError>,
                > + ::core::marker::Send;
        });
    }
    for (name, attribute) in writable(cx) {
        let method = affixed("write_", name, "")?;
        let allows = method_allows(&method.to_string());
        let ty = cx.attribute(name)?;
        let mut paragraphs = vec![format!(
            "Decides a client's write of attribute `{name}`: `Ok` accepts it (the device sets \
             and publishes the value), `Err` rejects it with a reason (`Err(\"too wet\".into())`)."
        )];
        paragraphs.extend(schema_docs(&attribute.schema));
        paragraphs.push(access_doc(&attribute.access));
        let doc = docs(&paragraphs);
        methods.push(quote! {
            #doc
            #allows
            fn #method(&self, value: #ty, ctx: #rt::device::WriteContext)
                -> impl ::core::future::Future<
                    Output = ::core::result::Result<(), #rt::device::WriteError>,
                > + ::core::marker::Send;
        });
    }
    let doc = format!(
        " Serves the actions and writable attributes of a [`{device}`]: one method per action \
         and per writable attribute. Implement it with `async fn`s and pass it to \
         [`{device}::serve`]. Inputs and written values have been checked against the \
         definition before a method is called."
    );
    let vis = &cx.model.vis;
    Ok(quote! {
        #[doc = #doc]
        #vis trait #handler: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#methods)*
        }
    })
}

/// The body of the device handle's `serve(handler)`: an adapter type local to the function,
/// so that it takes no name in the user's module.
pub(crate) fn serve_body(cx: &Ctx<'_>) -> Result<TokenStream, GenError> {
    let rt = cx.rt;
    let handler = &cx.handler;
    if !has_methods(cx) {
        return Ok(quote! {
            let _ = handler;
            self.device.serve(#rt::device::Handlers::new());
        });
    }
    let value = quote!(#rt::__private::serde_json::Value);
    let box_future = quote!(#rt::__private::futures::future::BoxFuture);
    let mut items = Vec::new();

    let def = cx.def();
    if !def.actions.is_empty() {
        let takes_input = def.actions.values().any(|a| a.input.is_some());
        let input_param = if takes_input {
            quote!(input)
        } else {
            quote!(_input)
        };
        let mut arms = Vec::new();
        for name in def.actions.keys() {
            let method = ident(name)?;
            let (decode, call) = if cx.input(name)?.is_some() {
                (
                    quote! { let input = #rt::typed::decode_input(#name, input)?; },
                    quote! { <H as #handler>::#method(&handler, input, ctx).await? },
                )
            } else {
                (
                    TokenStream::new(),
                    quote! { <H as #handler>::#method(&handler, ctx).await? },
                )
            };
            let finish = if cx
                .model
                .payloads
                .outputs
                .get(name)
                .is_some_and(Option::is_some)
            {
                quote! {
                    let output = #call;
                    #rt::typed::encode_output(#name, &output)
                }
            } else {
                quote! {
                    #call;
                    ::core::result::Result::Ok(#value::Null)
                }
            };
            arms.push(quote! {
                #name => ::std::boxed::Box::pin(async move {
                    #decode
                    #finish
                }),
            });
        }
        items.push(quote! {
            fn invoke(
                &self,
                action: &str,
                #input_param: #value,
                ctx: #rt::device::ActionContext,
            ) -> #box_future<'static, ::core::result::Result<#value, #rt::wire::ActionError>> {
                let handler = ::std::sync::Arc::clone(&self.0);
                match action {
                    #(#arms)*
                    _ => #rt::typed::unknown_action(action),
                }
            }
        });
    } else {
        items.push(quote! {
            fn invoke(
                &self,
                action: &str,
                _input: #value,
                _ctx: #rt::device::ActionContext,
            ) -> #box_future<'static, ::core::result::Result<#value, #rt::wire::ActionError>> {
                #rt::typed::unknown_action(action)
            }
        });
    }
    let writes: Vec<&String> = writable(cx).map(|(n, _)| n).collect();
    if !writes.is_empty() {
        let mut arms = Vec::new();
        for name in writes {
            let method = affixed("write_", name, "")?;
            arms.push(quote! {
                #name => ::std::boxed::Box::pin(async move {
                    let value = #rt::typed::decode_written(#name, value)?;
                    <H as #handler>::#method(&handler, value, ctx).await
                }),
            });
        }
        items.push(quote! {
            fn write(
                &self,
                attribute: &str,
                value: #value,
                ctx: #rt::device::WriteContext,
            ) -> #box_future<'static, ::core::result::Result<(), #rt::device::WriteError>> {
                let handler = ::std::sync::Arc::clone(&self.0);
                match attribute {
                    #(#arms)*
                    _ => #rt::typed::unknown_write(attribute),
                }
            }
        });
    }
    Ok(quote! {
        struct Adapter<H>(::std::sync::Arc<H>);
        impl<H: #handler> #rt::device::Handler for Adapter<H> {
            #(#items)*
        }
        self.device.serve(Adapter(::std::sync::Arc::new(handler)));
    })
}

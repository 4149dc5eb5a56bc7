//! The service model: what the service generator (handler trait, device handle, client) needs
//! to know about a thing — its definition and the Rust type of every payload — independent of
//! where those types come from (generated from schemas, or the user's own with the derive).

use std::collections::BTreeMap;

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use safething_ir::Definition;
use safething_ir::naming::ThingTypeNames;

use super::GenError;
use super::idents::ident;

/// The Rust type of every payload of a thing, by affordance name.
#[derive(Clone, Debug, Default)]
pub struct Payloads {
    /// The value type of each attribute.
    pub attributes: BTreeMap<String, TokenStream>,
    /// The data type of each event; `None` for an event without data.
    pub events: BTreeMap<String, Option<TokenStream>>,
    /// The input type of each action; `None` for an action without input.
    pub inputs: BTreeMap<String, Option<TokenStream>>,
    /// The output type of each action; `None` for an action without output (`()`).
    pub outputs: BTreeMap<String, Option<TokenStream>>,
}

/// How the generated code gets hold of the definition it serves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Embed {
    /// The definition as JSON text, embedded and parsed once, at first use.
    Json(String),
    /// Rust expressions: `definition` of type `&'static safething::ir::Definition`, and
    /// `checked` of type `&'static Result<CheckedDefinition, Invalid>` (its one check, which the
    /// device builder takes as it is).
    Expr {
        /// The definition.
        definition: TokenStream,
        /// The result of checking it.
        checked: TokenStream,
    },
}

/// Everything the service generator works from. Build one with [`ServiceModel::new`] and adjust
/// the public fields; [`generate_service`](super::generate_service) turns it into code.
#[derive(Clone, Debug)]
pub struct ServiceModel<'a> {
    /// The validated definition: names, docs, access types, histories, writability, timeouts.
    pub definition: &'a Definition,
    /// The Rust type of every payload.
    pub payloads: Payloads,
    /// Where the definition comes from at run time.
    pub embed: Embed,
    /// The path of the runtime crate in generated code (default `::safething`).
    pub runtime: TokenStream,
    /// Names of the device handle, the handler trait and the client.
    pub names: ThingTypeNames,
    /// Visibility of the device handle, the handler trait and the client (default `pub`; the
    /// derive gives them the struct's).
    pub vis: TokenStream,
}

impl<'a> ServiceModel<'a> {
    /// A model of `definition` with these payload types; the definition is embedded as JSON,
    /// the runtime is `::safething` and the names derive from the thing's name.
    pub fn new(definition: &'a Definition, payloads: Payloads) -> ServiceModel<'a> {
        ServiceModel {
            definition,
            payloads,
            embed: Embed::Json(serde_json::to_string(definition).unwrap_or_default()),
            runtime: quote!(::safething),
            names: ThingTypeNames::new(&definition.thing.name),
            vis: quote!(pub),
        }
    }
}

/// The model with identifiers resolved, shared by the handler, device and client generators.
pub(crate) struct Ctx<'a> {
    pub(crate) model: &'a ServiceModel<'a>,
    pub(crate) rt: &'a TokenStream,
    pub(crate) device: Ident,
    pub(crate) handler: Ident,
    pub(crate) client: Ident,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(model: &'a ServiceModel<'a>) -> Result<Ctx<'a>, GenError> {
        Ok(Ctx {
            model,
            rt: &model.runtime,
            device: ident(&model.names.device)?,
            handler: ident(&model.names.handler)?,
            client: ident(&model.names.client)?,
        })
    }

    pub(crate) fn def(&self) -> &'a Definition {
        self.model.definition
    }

    fn missing(what: &str, name: &str) -> GenError {
        GenError::Unsupported(format!("the model gives no Rust type for {what} `{name}`"))
    }

    /// The value type of attribute `name`.
    pub(crate) fn attribute(&self, name: &str) -> Result<&'a TokenStream, GenError> {
        self.model
            .payloads
            .attributes
            .get(name)
            .ok_or_else(|| Self::missing("attribute", name))
    }

    /// The data type of event `name` (`None`: no data).
    pub(crate) fn event(&self, name: &str) -> Result<Option<&'a TokenStream>, GenError> {
        self.model
            .payloads
            .events
            .get(name)
            .map(Option::as_ref)
            .ok_or_else(|| Self::missing("event", name))
    }

    /// The input type of action `name` (`None`: no input).
    pub(crate) fn input(&self, name: &str) -> Result<Option<&'a TokenStream>, GenError> {
        self.model
            .payloads
            .inputs
            .get(name)
            .map(Option::as_ref)
            .ok_or_else(|| Self::missing("the input of action", name))
    }

    /// The output type of action `name` (`()` when it has none).
    pub(crate) fn output(&self, name: &str) -> Result<TokenStream, GenError> {
        let output = self
            .model
            .payloads
            .outputs
            .get(name)
            .ok_or_else(|| Self::missing("the output of action", name))?;
        Ok(output.clone().unwrap_or_else(|| quote!(())))
    }
}

pub(crate) use crate::docs::{access_doc, access_words};

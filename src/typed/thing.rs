//! The framework's side of every generated client, kept out of the client's own namespace.
//!
//! A generated `<Thing>Client` has one inherent method per affordance name (`state()`,
//! `watch_state()`, `connect()` for an action called `connect`, ...), and any snake_case name is
//! allowed there. What the framework itself offers on every client — connecting, the id, the
//! description, the definition, the untyped handle — lives in [`ThingClient`] instead, which
//! the generated client implements. Method calls find inherent methods first, so
//! `thermostat.id()` is the attribute `id` when the thing has one and the framework's id
//! otherwise; `ThingClient::id(&thermostat)` always means the framework.

use std::future::Future;
use std::sync::Arc;

use safething_ir::{Definition, ThingId};

use crate::client::{Client, RemoteThing};
use crate::error::Result;
use crate::wire::Description;

/// What every generated `<Thing>Client` offers besides its affordances; bring it into scope
/// with `use safething::ThingClient;`.
///
/// When the thing has an affordance of the same name, call the framework's method by path:
/// `ThingClient::id(&client)`, `<LampClient as ThingClient>::connect(&client, "lamp-1")`.
pub trait ThingClient: Sized + Send + Sync + 'static {
    /// The definition this client was generated from.
    fn definition() -> &'static Definition;

    /// Wraps an untyped handle, checking that the thing is of this type (same name,
    /// compatible version).
    fn new(thing: RemoteThing) -> Result<Self>;

    /// The untyped handle: lifecycle and group administration, untyped access.
    fn thing(&self) -> &RemoteThing;

    /// Connects to thing `id`: fetches its description and checks that it is a thing of this
    /// type (same name, compatible version). When the device does not answer, a store's copy
    /// of the description serves, accepted only when signed by the key already pinned for the
    /// thing ([`Client::thing_or_stored`]): reads and histories then come from the store and
    /// say so (`source`).
    fn connect(client: &Client, id: &str) -> impl Future<Output = Result<Self>> + Send {
        async move { Self::new(client.thing_or_stored(id).await?) }
    }

    /// The thing's id.
    fn id(&self) -> &ThingId {
        self.thing().id()
    }

    /// The thing's latest known description (lifecycle, owner, group).
    fn description(&self) -> Arc<Description> {
        self.thing().description()
    }

    /// Whether the thing is online now.
    fn is_online(&self) -> bool {
        self.thing().is_online()
    }
}

//! What a device's application code implements: actions and writes.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::identity::PublicKey;
use crate::wire::ActionError;

/// Serves a device's actions and writable attributes (the untyped layer; generated code
/// implements it for a typed `<Thing>Handler`).
///
/// Inputs and written values have been checked against the definition before a method is
/// called, and outputs are checked after it returns.
pub trait Handler: Send + Sync + 'static {
    /// Runs action `action` with `input` (`null` when the action takes none).
    fn invoke(
        &self,
        action: &str,
        input: Value,
        ctx: ActionContext,
    ) -> BoxFuture<'static, Result<Value, ActionError>>;

    /// Accepts (`Ok`) or rejects (`Err`) a client's write of `attribute`. On `Ok`, the
    /// device sets and publishes the value.
    fn write(
        &self,
        attribute: &str,
        value: Value,
        ctx: WriteContext,
    ) -> BoxFuture<'static, Result<(), WriteError>> {
        let _ = (value, ctx);
        let error = WriteError::not_accepted(attribute);
        Box::pin(async move { Err(error) })
    }
}

/// Why a handler refused a write. The writer receives the reason (as
/// [`Problem::Rejected`](crate::wire::Problem::Rejected)).
///
/// Made from the reason: `WriteError::new("too wet")`, or `Err("too wet".into())`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct WriteError {
    reason: String,
}

impl WriteError {
    /// A refusal, with the reason the writer will read.
    pub fn new(reason: impl Into<String>) -> WriteError {
        WriteError {
            reason: reason.into(),
        }
    }

    /// The answer to a write of an attribute the handler does not take writes of.
    pub fn not_accepted(attribute: &str) -> WriteError {
        WriteError::new(format!(
            "this device does not accept writes of `{attribute}`"
        ))
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The reason, owned.
    pub fn into_reason(self) -> String {
        self.reason
    }
}

impl From<String> for WriteError {
    fn from(reason: String) -> WriteError {
        WriteError::new(reason)
    }
}

impl From<&str> for WriteError {
    fn from(reason: &str) -> WriteError {
        WriteError::new(reason)
    }
}

/// What a handler knows about the action request it runs.
#[derive(Clone, Debug)]
pub struct ActionContext {
    pub(crate) request_id: Arc<str>,
    pub(crate) action: Arc<str>,
    pub(crate) requester: PublicKey,
    pub(crate) deadline: tokio::time::Instant,
    pub(crate) deadline_ms: u64,
    pub(crate) cancel: CancellationToken,
}

impl ActionContext {
    /// The request id chosen by the requester.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The action's name.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// Who asked.
    pub fn requester(&self) -> &PublicKey {
        &self.requester
    }

    /// The deadline, in Unix milliseconds.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline
            .saturating_duration_since(tokio::time::Instant::now())
    }

    /// Completes when the requester cancels (or the device shuts down): stop the work and
    /// return; the request ends as `cancelled` whatever is returned.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    /// Whether the request has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// What a handler knows about a write.
#[derive(Clone, Debug)]
pub struct WriteContext {
    pub(crate) attribute: Arc<str>,
    pub(crate) requester: PublicKey,
}

impl WriteContext {
    /// The attribute being written.
    pub fn attribute(&self) -> &str {
        &self.attribute
    }

    /// Who writes.
    pub fn requester(&self) -> &PublicKey {
        &self.requester
    }
}

type ActionFn = Box<
    dyn Fn(Value, ActionContext) -> BoxFuture<'static, Result<Value, ActionError>> + Send + Sync,
>;
type WriteFn =
    Box<dyn Fn(Value, WriteContext) -> BoxFuture<'static, Result<(), WriteError>> + Send + Sync>;

/// A [`Handler`] made of closures, one per action and writable attribute.
///
/// ```
/// # use safething::device::Handlers;
/// # use serde_json::json;
/// let handlers = Handlers::new()
///     .action("open_valve", |input, _ctx| async move { Ok(json!("open")) })
///     .write("target_level", |value, _ctx| async move {
///         if value.as_f64().is_some_and(|v| v <= 80.0) { Ok(()) } else { Err("too wet".into()) }
///     });
/// ```
#[derive(Default)]
pub struct Handlers {
    actions: BTreeMap<String, ActionFn>,
    writes: BTreeMap<String, WriteFn>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("actions", &self.actions.keys().collect::<Vec<_>>())
            .field("writes", &self.writes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Handlers {
    /// No handlers yet.
    pub fn new() -> Handlers {
        Handlers::default()
    }

    /// Serves action `name` with `f`.
    pub fn action<F, Fut>(mut self, name: &str, f: F) -> Handlers
    where
        F: Fn(Value, ActionContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, ActionError>> + Send + 'static,
    {
        self.actions.insert(
            name.to_owned(),
            Box::new(move |input, ctx| Box::pin(f(input, ctx))),
        );
        self
    }

    /// Decides writes of attribute `name` with `f`.
    pub fn write<F, Fut>(mut self, name: &str, f: F) -> Handlers
    where
        F: Fn(Value, WriteContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), WriteError>> + Send + 'static,
    {
        self.writes.insert(
            name.to_owned(),
            Box::new(move |value, ctx| Box::pin(f(value, ctx))),
        );
        self
    }
}

impl Handler for Handlers {
    fn invoke(
        &self,
        action: &str,
        input: Value,
        ctx: ActionContext,
    ) -> BoxFuture<'static, Result<Value, ActionError>> {
        match self.actions.get(action) {
            Some(f) => f(input, ctx),
            None => {
                let e = ActionError::new("no_handler", format!("no handler for action `{action}`"));
                Box::pin(async move { Err(e) })
            }
        }
    }

    fn write(
        &self,
        attribute: &str,
        value: Value,
        ctx: WriteContext,
    ) -> BoxFuture<'static, Result<(), WriteError>> {
        match self.writes.get(attribute) {
            Some(f) => f(value, ctx),
            None => {
                let error = WriteError::not_accepted(attribute);
                Box::pin(async move { Err(error) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_error_carries_its_reason() {
        let e: WriteError = "too wet".into();
        assert_eq!(e.reason(), "too wet");
        assert_eq!(e.to_string(), "too wet");
        assert_eq!(WriteError::from(String::from("x")), WriteError::new("x"));
        assert!(
            WriteError::not_accepted("level")
                .into_reason()
                .contains("`level`")
        );
    }
}

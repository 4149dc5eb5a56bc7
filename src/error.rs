//! The runtime's one error type: variants a caller can act on.

use std::fmt;

use safething_ir::Invalid;
use safething_ir::value::ValueError;

use crate::envelope::EnvelopeError;
use crate::transport::TransportError;
use crate::wire::{ActionError, Lifecycle, Problem};

/// Which kind of affordance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AffordanceKind {
    /// An attribute.
    Attribute,
    /// An event.
    Event,
    /// An action.
    Action,
}

impl fmt::Display for AffordanceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AffordanceKind::Attribute => "attribute",
            AffordanceKind::Event => "event",
            AffordanceKind::Action => "action",
        })
    }
}

/// Everything that can go wrong using a thing.
///
/// Application errors of action handlers ([`Error::ActionFailed`]) stay distinct from refusals
/// by the device ([`Error::Rejected`], [`Error::AccessDenied`], ...) and from network trouble
/// ([`Error::Transport`], [`Error::Offline`]).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The definition does not pass validation.
    #[error(transparent)]
    InvalidDefinition(#[from] Invalid),
    /// No thing with this id answered.
    #[error("unknown thing `{0}`: no device with this id answered")]
    UnknownThing(String),
    /// The thing has no such attribute, event or action.
    #[error("thing `{thing}` has no {kind} named `{name}`")]
    UnknownAffordance {
        /// The thing.
        thing: String,
        /// Attribute, event or action.
        kind: AffordanceKind,
        /// The name asked for.
        name: String,
    },
    /// The thing is registered or disabled, not published.
    #[error("thing `{thing}` is {state}, not published")]
    NotPublished {
        /// The thing.
        thing: String,
        /// Its lifecycle state.
        state: Lifecycle,
    },
    /// The thing went (or is) offline.
    #[error("thing `{0}` is offline")]
    Offline(String),
    /// A payload does not match its schema.
    #[error("invalid {what}: {source}")]
    InvalidPayload {
        /// Which payload (e.g. `input of action open_valve`).
        what: String,
        /// Which field and which rule.
        #[source]
        source: ValueError,
    },
    /// A payload that does not fit its Rust type (typed API): the device and the generated
    /// code disagree about the definition.
    #[error("{what} does not fit its Rust type: {reason}")]
    Codec {
        /// Which payload (e.g. `value of attribute `level``).
        what: String,
        /// What serde said.
        reason: String,
    },
    /// The thing is not of the type the typed API was generated for.
    #[error("thing `{thing}` is a {found}, not a {expected}")]
    Incompatible {
        /// The thing.
        thing: String,
        /// The thing type (name and version) the code was generated for.
        expected: String,
        /// The thing type it serves.
        found: String,
    },
    /// A subscription filter that cannot apply to the value.
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// The requester does not have the access the affordance requires.
    #[error("access denied by rule `{rule}`: {reason}")]
    AccessDenied {
        /// The access type that was not met.
        rule: String,
        /// Why.
        reason: String,
    },
    /// The device refused the request (its handler, or a rule other than access).
    #[error("rejected: {0}")]
    Rejected(Problem),
    /// The action's handler failed.
    #[error("action failed: {0}")]
    ActionFailed(ActionError),
    /// The deadline passed.
    #[error("timed out after {timeout_ms} ms")]
    TimedOut {
        /// The deadline, in milliseconds.
        timeout_ms: u64,
    },
    /// The action was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// The attribute has no value yet.
    #[error("attribute `{0}` has no value yet")]
    NoValue(String),
    /// A thing answered with another key than the one known for it: it was re-provisioned, or
    /// someone is impersonating it. Nothing from it is believed.
    #[error("{0}")]
    KeyChanged(Box<KeyChange>),
    /// The known-things store could not be read or saved.
    #[error(transparent)]
    KnownThings(std::sync::Arc<crate::known_things::KnownThingsError>),
    /// A message that failed verification (signature, freshness, sender).
    #[error("untrusted message: {0}")]
    Untrusted(EnvelopeError),
    /// A reply that does not follow the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The network failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Keys or identity files.
    #[error("identity: {0}")]
    Identity(String),
    /// The device or client has been shut down.
    #[error("shut down")]
    Shutdown,
}

impl Error {
    /// The error a client reports for a device's refusal.
    pub fn from_problem(thing: &str, problem: Problem) -> Error {
        match problem {
            Problem::UnknownAffordance { affordance, name } => Error::UnknownAffordance {
                thing: thing.to_owned(),
                kind: match affordance.as_str() {
                    "event" => AffordanceKind::Event,
                    "action" => AffordanceKind::Action,
                    _ => AffordanceKind::Attribute,
                },
                name,
            },
            Problem::NotPublished { state } => Error::NotPublished {
                thing: thing.to_owned(),
                state,
            },
            Problem::AccessDenied { rule, reason } => Error::AccessDenied { rule, reason },
            other => Error::Rejected(other),
        }
    }
}

/// What [`Error::KeyChanged`] reports: both keys, where the known one came from and how to
/// accept the new one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the key of thing `{thing}` has changed: known as {known} ({known_from}), it now answers \
     as {presented}. Someone may be impersonating it. If the thing was re-provisioned and you \
     trust the new key, {accept}"
)]
#[non_exhaustive]
pub struct KeyChange {
    /// The thing.
    pub thing: String,
    /// The key known for it.
    pub known: crate::PublicKey,
    /// Where that key was learnt (a file and line, or the application).
    pub known_from: String,
    /// The key it answered with.
    pub presented: crate::PublicKey,
    /// How to accept the new key.
    pub accept: String,
}

impl From<crate::known_things::KnownThingsError> for Error {
    fn from(e: crate::known_things::KnownThingsError) -> Self {
        Error::KnownThings(std::sync::Arc::new(e))
    }
}

impl From<crate::identity::IdentityError> for Error {
    fn from(e: crate::identity::IdentityError) -> Self {
        Error::Identity(e.to_string())
    }
}

/// Results of the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

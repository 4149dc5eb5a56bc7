//! The runtime's one error type: variants a caller can act on.

use std::fmt;
use std::sync::Arc;

use safething_ir::value::ValueError;
use safething_ir::{Invalid, ThingIdError};

use crate::envelope::EnvelopeError;
use crate::filter::FilterError;
use crate::identity::IdentityError;
use crate::transport::TransportError;
use crate::wire::{ActionError, Lifecycle, Problem};

/// Which kind of affordance. Written on the wire (in [`Problem::UnknownAffordance`]) as
/// `attribute`, `event` or `action`.
///
/// Not `#[non_exhaustive]`: a thing has exactly these three kinds of affordance, and code that
/// handles each should be told by the compiler when that changes.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
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
    /// A thing id that is malformed (too short or long, or with characters ids cannot hold):
    /// no device can have it, so asking the network again will not help.
    #[error(transparent)]
    InvalidThingId(#[from] ThingIdError),
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
    InvalidFilter(#[source] FilterError),
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
    /// A resumed stream missed publications that neither the network nor any store could
    /// give it: numbers `from` to `to` of the device run `epoch`. The stream goes on after it.
    #[error("missed publications {from} to {to} of device run {epoch:08x}: no store holds them")]
    Gap {
        /// The device run (boot epoch) the missed publications belong to.
        epoch: u32,
        /// The first missed sequence number.
        from: u64,
        /// The last missed sequence number.
        to: u64,
    },
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
    /// A reply that does not follow the protocol, or a message that could not be made.
    #[error("protocol error: {0}")]
    Protocol(#[source] ProtocolError),
    /// The network failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Keys, identity files, the device's state file, randomness for keys. Shared (`Arc`) so
    /// that errors stay `Clone`: an I/O cause is not.
    #[error("identity: {0}")]
    Identity(#[source] Arc<IdentityError>),
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
                kind: affordance,
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

impl From<IdentityError> for Error {
    fn from(e: IdentityError) -> Self {
        Error::Identity(Arc::new(e))
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<FilterError> for Error {
    fn from(e: FilterError) -> Self {
        Error::InvalidFilter(e)
    }
}

/// What broke the protocol, in [`Error::Protocol`].
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A message could not be sealed or framed for sending.
    #[error(transparent)]
    Seal(EnvelopeError),
    /// The system random source failed (a device needs randomness for its boot epoch).
    #[error("no randomness: {0}")]
    Random(#[source] getrandom::Error),
    /// A peer (device, transport) answered outside the protocol, or the caller asked for
    /// something the protocol cannot carry; the text says what.
    #[error("{0}")]
    Violation(String),
    /// The task that follows a request stopped before the request ended.
    #[error("the request's driver stopped")]
    DriverStopped,
}

impl ProtocolError {
    /// A violation described by `text`.
    pub(crate) fn violation(text: impl Into<String>) -> ProtocolError {
        ProtocolError::Violation(text.into())
    }
}

/// Results of the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;

    #[test]
    fn unknown_affordances_keep_their_kind_and_their_wire_form() {
        for (kind, text) in [
            (AffordanceKind::Attribute, "attribute"),
            (AffordanceKind::Event, "event"),
            (AffordanceKind::Action, "action"),
        ] {
            let problem = Problem::UnknownAffordance {
                affordance: kind,
                name: "x".into(),
            };
            let wire = json!({"kind": "unknown_affordance", "affordance": text, "name": "x"});
            assert_eq!(serde_json::to_value(&problem).unwrap(), wire);
            assert_eq!(serde_json::from_value::<Problem>(wire).unwrap(), problem);
            assert!(matches!(
                Error::from_problem("lamp-01", problem),
                Error::UnknownAffordance { kind: k, .. } if k == kind
            ));
        }
    }

    #[test]
    fn errors_keep_their_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::from(IdentityError::StateIo {
            path: PathBuf::from("state.json"),
            source: io,
        });
        let identity = e.source().expect("the identity error");
        assert!(identity.to_string().contains("state.json"));
        assert_eq!(
            identity.source().expect("the I/O error").to_string(),
            "denied"
        );
        let e = e.clone();
        assert!(matches!(e, Error::Identity(_)));

        let filter = Error::from(FilterError::Syntax("empty filter clause".into()));
        assert_eq!(
            filter.source().map(ToString::to_string).as_deref(),
            Some("empty filter clause")
        );
        let protocol = Error::from(ProtocolError::violation("odd reply"));
        assert_eq!(protocol.to_string(), "protocol error: odd reply");
        assert!(protocol.source().is_some());
    }

    #[test]
    fn a_malformed_id_is_not_an_unknown_thing() {
        let e = Error::from(safething_ir::ThingId::new("a/b").unwrap_err());
        assert!(matches!(e, Error::InvalidThingId(_)));
    }
}

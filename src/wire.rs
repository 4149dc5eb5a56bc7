//! Message bodies: what goes inside a [frame](crate::frame) on each key.
//!
//! Their JSON Schemas are checked in under `schemas/wire/` (generated from these types).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use safething_ir::{Definition, ThingId};

use crate::identity::PublicKey;

/// Where a thing is in its life: registered by its device, published (made operative) by its
/// owner, or disabled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    /// On the network, not yet usable: actions and writes are rejected.
    #[default]
    Registered,
    /// Operative: accepts requests.
    Published,
    /// Taken out of service by its owner: actions and writes are rejected.
    Disabled,
}

impl fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lifecycle::Registered => "registered",
            Lifecycle::Published => "published",
            Lifecycle::Disabled => "disabled",
        })
    }
}

/// A thing's description: what it is, who it is, who owns it. Signed by the thing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Description {
    /// The thing's id.
    pub id: ThingId,
    /// Lifecycle state.
    pub state: Lifecycle,
    /// The thing's public key: everything it sends is signed with it.
    #[schemars(with = "String")]
    pub thing_key: PublicKey,
    /// The device's boot epoch (32 hex digits), drawn at random each time it starts: every
    /// request names it, so requests recorded before a restart are refused after it.
    pub boot: String,
    /// The owner's public key, once claimed or provisioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub owner: Option<PublicKey>,
    /// Members of the thing's group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub group: Vec<PublicKey>,
    /// Increases with every change of the description, so stale copies can be told apart.
    pub revision: u64,
    /// The thing's symmetric keys, wrapped for their holders (see [`crate::crypto`]).
    #[serde(default, skip_serializing_if = "crate::crypto::KeyBundle::is_empty")]
    pub keys: crate::crypto::KeyBundle,
    /// The definition the device was built from.
    pub definition: Definition,
}

/// A new value of an attribute (published on `attributes/<name>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AttributeUpdate {
    /// The value.
    pub value: Value,
    /// Per-attribute sequence number, increasing by one with every change.
    pub seq: u64,
    /// Changes whenever the device restarts (sequence numbers start again).
    pub epoch: u32,
}

/// An event (published on `events/<name>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EventMessage {
    /// The payload (`null` for events without data).
    pub data: Value,
    /// Per-event sequence number.
    pub seq: u64,
    /// Changes whenever the device restarts.
    pub epoch: u32,
}

/// The two messages published again and again, written by hand in exactly the layout serde
/// writes (a test holds them to it) — the layout clients read without serde's help.
impl AttributeUpdate {
    /// How its JSON starts.
    pub(crate) const JSON_START: &'static str = r#"{"value":"#;

    /// Writes it as `serde_json::to_writer` would.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        write_published(out, Self::JSON_START, &self.value, self.seq, self.epoch)
    }
}

impl EventMessage {
    /// How its JSON starts.
    pub(crate) const JSON_START: &'static str = r#"{"data":"#;

    /// Writes it as `serde_json::to_writer` would.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        write_published(out, Self::JSON_START, &self.data, self.seq, self.epoch)
    }
}

fn write_published(
    out: &mut Vec<u8>,
    start: &str,
    payload: &Value,
    seq: u64,
    epoch: u32,
) -> serde_json::Result<()> {
    out.extend_from_slice(start.as_bytes());
    serde_json::to_writer(&mut *out, payload)?;
    out.extend_from_slice(br#","seq":"#);
    serde_json::to_writer(&mut *out, &seq)?;
    out.extend_from_slice(br#","epoch":"#);
    serde_json::to_writer(&mut *out, &epoch)?;
    out.push(b'}');
    Ok(())
}

/// A request sent as a query on `attributes/<name>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AttributeRequest {
    /// The current value, and the history when `history` is set (the last N values).
    Read {
        /// How many history entries to return (none when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        history: Option<u64>,
    },
    /// A write of a writable attribute.
    Write {
        /// The new value.
        value: Value,
    },
}

/// One remembered value of an attribute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryEntry {
    /// The value.
    pub value: Value,
    /// Its sequence number.
    pub seq: u64,
    /// When it was set, Unix milliseconds.
    pub ts: u64,
}

/// The answer to a read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReadReply {
    /// The current value; absent when the device has not set one yet. A value of `null` is a
    /// value (of a `null` schema), not an absence.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub value: Option<Value>,
    /// Sequence number of the current value (0 before the first).
    pub seq: u64,
    /// When it was set, Unix milliseconds.
    pub ts: u64,
    /// Changes whenever the device restarts.
    pub epoch: u32,
    /// Oldest first, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEntry>>,
}

/// A field that is present is `Some`, even when it is `null` (serde's `Option` would read
/// `null` as `None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A request sent as a query on `actions/<name>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActionRequest {
    /// Start the action. A repeated `request` id from the same requester is the same request.
    Invoke {
        /// Chosen by the requester, unique among its requests.
        request: String,
        /// The input (`null` for actions without input).
        #[serde(default)]
        input: Value,
        /// Overrides the definition's timeout, in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
    },
    /// Cancel a request of this requester.
    Cancel {
        /// Its id.
        request: String,
    },
}

/// A query on `requests/<request-id>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RequestQuery {
    /// The current state.
    Status,
    /// Cancel it.
    Cancel,
}

/// An application-level failure reported by an action handler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ActionError {
    /// A short machine-readable code, e.g. `valve_stuck`.
    pub code: String,
    /// A human explanation.
    pub message: String,
    /// Extra detail for programs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ActionError {
    /// An error with a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ActionError {
        ActionError {
            code: code.into(),
            message: message.into(),
            data: None,
        }
    }

    /// Adds machine-readable detail.
    pub fn with_data(mut self, data: Value) -> ActionError {
        self.data = Some(data);
        self
    }
}

/// Where an action request is: `requested -> accepted -> running -> done | failed | rejected |
/// cancelled | timed_out`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ActionState {
    /// Sent; the device has not answered yet (client side only).
    Requested,
    /// Queued by the device.
    Accepted,
    /// The handler is running.
    Running,
    /// Finished with an output.
    Done {
        /// The output (`null` for actions without output).
        output: Value,
    },
    /// The handler reported an application error.
    Failed {
        /// What it said.
        error: ActionError,
    },
    /// The device refused the request before running it.
    Rejected {
        /// Why.
        problem: Problem,
    },
    /// Cancelled by the requester.
    Cancelled,
    /// Passed its deadline.
    TimedOut {
        /// The deadline that passed, in milliseconds after the request was accepted.
        timeout_ms: u64,
    },
}

impl ActionState {
    /// Whether no further change can follow.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            ActionState::Requested | ActionState::Accepted | ActionState::Running
        )
    }

    /// The state's name (`running`, `timed_out`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ActionState::Requested => "requested",
            ActionState::Accepted => "accepted",
            ActionState::Running => "running",
            ActionState::Done { .. } => "done",
            ActionState::Failed { .. } => "failed",
            ActionState::Rejected { .. } => "rejected",
            ActionState::Cancelled => "cancelled",
            ActionState::TimedOut { .. } => "timed_out",
        }
    }
}

/// A state change of an action request (query replies and publications on `requests/<id>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ActionUpdate {
    /// The request id.
    pub request: String,
    /// The action.
    pub action: String,
    /// Increases with every state change of this request.
    pub seq: u32,
    /// The new state.
    #[serde(flatten)]
    pub state: ActionState,
}

/// An owner operation, sent as a query on `admin`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AdminRequest {
    /// Make the thing operative.
    Publish,
    /// Take the thing out of service.
    Disable,
    /// Become the owner of an unclaimed thing with its one-time claim token.
    Claim {
        /// The token the device printed.
        token: String,
    },
    /// Add a member to the thing's group.
    Grant {
        /// The member's public key.
        #[schemars(with = "String")]
        member: PublicKey,
    },
    /// Remove a member from the thing's group.
    Revoke {
        /// The member's public key.
        #[schemars(with = "String")]
        member: PublicKey,
    },
    /// Hand the thing to another owner.
    Transfer {
        /// The new owner's public key.
        #[schemars(with = "String")]
        owner: PublicKey,
    },
}

/// Why a device refused a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Problem {
    /// No such attribute, event or action.
    #[error("`{name}` is not a known {affordance}")]
    UnknownAffordance {
        /// `attribute`, `event` or `action`.
        // Described as a plain string, as before it was typed: the wire schema stays the same.
        #[schemars(with = "String")]
        affordance: crate::AffordanceKind,
        /// The name asked for.
        name: String,
    },
    /// The thing is registered or disabled.
    #[error("the thing is {state}, not published")]
    NotPublished {
        /// Its state.
        state: Lifecycle,
    },
    /// The requester may not do this.
    #[error("access denied by rule `{rule}`: {reason}")]
    AccessDenied {
        /// The affordance's access type (`owner`, `group`, ...), or `admin` for owner operations.
        rule: String,
        /// Why the requester does not qualify.
        reason: String,
    },
    /// The payload does not match its schema.
    #[error("invalid {what}: at `{path}`: {message}")]
    InvalidPayload {
        /// Which payload (`input`, `value`).
        what: String,
        /// JSON pointer into the payload.
        path: String,
        /// The violated keyword.
        keyword: String,
        /// What is wrong.
        message: String,
    },
    /// The attribute is not writable.
    #[error("attribute `{name}` is not writable")]
    NotWritable {
        /// The attribute.
        name: String,
    },
    /// The device's handler refused a write or a request.
    #[error("rejected by the device: {reason}")]
    Rejected {
        /// The handler's reason.
        reason: String,
    },
    /// The action queue is full.
    #[error("the device is busy: its action queue is full")]
    Busy,
    /// No handler serves this action yet.
    #[error("no handler serves this on the device")]
    NoHandler,
    /// No such request.
    #[error("unknown request `{request}`")]
    UnknownRequest {
        /// The request id.
        request: String,
    },
    /// The request could not be read or verified.
    #[error("bad request: {message}")]
    BadRequest {
        /// What is wrong.
        message: String,
    },
    /// A claim that did not succeed.
    #[error("claim refused: {reason}")]
    ClaimRefused {
        /// Why.
        reason: String,
    },
    /// The device could not save the state an owner operation changes (its state file), so it
    /// did not apply the operation.
    #[error("the device could not save its state, nothing changed: {reason}")]
    StateNotSaved {
        /// What went wrong.
        reason: String,
    },
    /// The request named another boot epoch than the device's current one (the device
    /// restarted, or the request was recorded earlier): send it again naming `boot`.
    #[error("the request names another boot epoch than the device's ({boot})")]
    StaleEpoch {
        /// The device's current boot epoch, 32 hex digits.
        boot: String,
    },
}

/// A boot epoch as bodies write it (32 lowercase hex digits), or `None`.
pub fn parse_boot(text: &str) -> Option<[u8; crate::frame::EPOCH_LEN]> {
    if text.len() != 2 * crate::frame::EPOCH_LEN {
        return None;
    }
    data_encoding::HEXLOWER
        .decode(text.as_bytes())
        .ok()?
        .try_into()
        .ok()
}

impl Problem {
    /// A payload that breaks its schema, reported with the violated keyword and where.
    pub fn invalid_payload(what: &str, error: safething_ir::value::ValueError) -> Problem {
        Problem::InvalidPayload {
            what: what.to_owned(),
            path: error.path,
            keyword: error.violation.keyword().into(),
            message: error.violation.to_string(),
        }
    }
}

/// The answer to a request: `{"ok": ...}` or `{"error": {...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum Outcome<T> {
    /// It worked.
    #[serde(rename = "ok")]
    Ok(T),
    /// It did not.
    #[serde(rename = "error")]
    Err(Problem),
}

impl<T> From<Result<T, Problem>> for Outcome<T> {
    fn from(r: Result<T, Problem>) -> Self {
        match r {
            Ok(v) => Outcome::Ok(v),
            Err(p) => Outcome::Err(p),
        }
    }
}

impl<T> From<Outcome<T>> for Result<T, Problem> {
    fn from(o: Outcome<T>) -> Self {
        match o {
            Outcome::Ok(v) => Ok(v),
            Outcome::Err(p) => Err(p),
        }
    }
}

/// Any frame body. The frame itself is binary (`docs/protocol.md`); its body is one of these
/// JSON documents, or a sealed body (`{"sealed":…}`, flagged as such in the frame header)
/// whose plaintext is one of them. For the JSON Schema `schemas/wire/frame-body.schema.json`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[non_exhaustive]
pub enum FrameBody {
    /// A sealed body.
    Sealed(crate::crypto::SealedBody),
    /// `description`
    Description(Box<Description>),
    /// `attributes/<name>` publications.
    AttributeUpdate(AttributeUpdate),
    /// `events/<name>` publications.
    Event(EventMessage),
    /// `attributes/<name>` requests.
    AttributeRequest(AttributeRequest),
    /// `actions/<name>` requests.
    ActionRequest(ActionRequest),
    /// `requests/<id>` requests.
    RequestQuery(RequestQuery),
    /// `admin` requests.
    AdminRequest(AdminRequest),
    /// Request-state publications.
    ActionUpdate(ActionUpdate),
    /// Replies: `{"ok":…}` or `{"error":…}`.
    Reply(Outcome<Value>),
}

/// The JSON Schema (draft 2020-12) of every wire message, by file stem
/// (`schemas/wire/<stem>.schema.json`).
pub fn schemas() -> std::collections::BTreeMap<&'static str, Value> {
    fn schema<T: JsonSchema>() -> Value {
        let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
        generator.into_root_schema_for::<T>().to_value()
    }
    let mut out = std::collections::BTreeMap::new();
    out.insert("frame-body", schema::<FrameBody>());
    out.insert("description", schema::<Description>());
    out.insert("attribute-update", schema::<AttributeUpdate>());
    out.insert("event", schema::<EventMessage>());
    out.insert("attribute-request", schema::<AttributeRequest>());
    out.insert("read-reply", schema::<Outcome<ReadReply>>());
    out.insert("action-request", schema::<ActionRequest>());
    out.insert("request-query", schema::<RequestQuery>());
    out.insert("action-update", schema::<ActionUpdate>());
    out.insert("request-reply", schema::<Outcome<ActionUpdate>>());
    out.insert("admin-request", schema::<AdminRequest>());
    out.insert("admin-reply", schema::<Outcome<Description>>());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publications_are_written_as_serde_writes_them() {
        for payload in [
            serde_json::json!(null),
            serde_json::json!(-1.5e300),
            serde_json::json!("quote \" and \\ and \u{1}"),
            serde_json::json!({"b": [1, {"a": null}], "a": true}),
        ] {
            let update = AttributeUpdate {
                value: payload.clone(),
                seq: u64::MAX,
                epoch: 0,
            };
            let mut out = Vec::new();
            update.write_json(&mut out).unwrap();
            assert_eq!(out, serde_json::to_vec(&update).unwrap());
            assert!(out.starts_with(AttributeUpdate::JSON_START.as_bytes()));
            let event = EventMessage {
                data: payload,
                seq: 0,
                epoch: u32::MAX,
            };
            let mut out = Vec::new();
            event.write_json(&mut out).unwrap();
            assert_eq!(out, serde_json::to_vec(&event).unwrap());
            assert!(out.starts_with(EventMessage::JSON_START.as_bytes()));
        }
    }

    #[test]
    fn a_null_value_is_a_value() {
        let reply = ReadReply {
            value: Some(Value::Null),
            seq: 1,
            ts: 2,
            epoch: 3,
            history: None,
        };
        let text = serde_json::to_string(&reply).unwrap();
        assert_eq!(serde_json::from_str::<ReadReply>(&text).unwrap(), reply);
        let none: ReadReply = serde_json::from_str(r#"{"seq":0,"ts":0,"epoch":0}"#).unwrap();
        assert_eq!(none.value, None);
    }

    /// A bounded fuzz loop over description decoding, as a client does it with what the
    /// network hands it (frame, signature check skipped by an unsigned verifier, JSON, the
    /// definition's checks, its payload schemas): mutated descriptions never panic.
    #[test]
    fn mangled_descriptions_never_panic() {
        use crate::envelope::{Binding, Kind, Sealer, Signing, Verifier};
        let definition: Definition = serde_json::from_value(serde_json::json!({
            "thing": {"name": "Vault", "version": "1.0.0"},
            "attributes": {"level": {"type": "number", "minimum": 0, "access": "group"}},
            "events": {"dry": {"data": {"type": "object", "properties": {"x": {"type": "string"}}}}},
            "actions": {"open": {"input": {"type": "integer"}, "output": {"type": "string"}, "access": "owner"}},
        }))
        .unwrap();
        let identity = crate::Identity::generate().unwrap();
        let description = Description {
            id: ThingId::new("garden-01").unwrap(),
            state: Lifecycle::Published,
            thing_key: *identity.public_key(),
            boot: "11".repeat(16),
            owner: Some(*identity.public_key()),
            group: vec![*identity.public_key()],
            revision: 3,
            keys: Default::default(),
            definition,
        };
        let key = "safething/v1/garden-01/description";
        let sealer = Sealer::new(identity, Signing::Unsigned);
        let frame = sealer
            .seal(key, Kind::Description, Binding::None, &description)
            .unwrap();
        let verifier =
            Verifier::with_window(Signing::Unsigned, std::time::Duration::from_secs(3600));
        let mut mangler = crate::mangle::Mangler::new(
            0x0ddc_0ffe_e15e_a5e5,
            b"{}[]\",:0123456789-.eE\\\"abcdefghijklmnopqrstuvwxyz_ \x00\x01\x02\x03\x05\xff",
        );
        let mut parsed = 0;
        for _ in 0..20_000 {
            let bytes = mangler.mangle(&frame);
            let Ok(opened) = verifier.open::<Description>(key, &bytes) else {
                continue;
            };
            parsed += 1;
            let d = opened.body;
            let _ = d.definition.check();
            let _ = d.definition.payload_schemas();
            let _ = parse_boot(&d.boot);
        }
        assert!(parsed > 100, "only {parsed} mangled descriptions parsed");
    }
}

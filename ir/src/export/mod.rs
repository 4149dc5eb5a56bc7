//! Exports of a definition for other tools: one JSON Schema (draft 2020-12) of every payload,
//! and the W3C WoT Thing Description 1.1 / Thing Model. `docs/wot.md` at the repository root
//! describes the mapping for users; this is the summary.
//!
//! All three are pure functions of their input and deterministic (`serde_json`'s map is
//! ordered), so the same definition always exports to the same bytes. They expect a
//! definition that passed [`Definition::validate`](crate::Definition::validate); given an
//! invalid one they still return a document, treating what they cannot understand (an unknown
//! or cyclic `ref`) as the runtime does: as constraining nothing.
//!
//! # JSON Schema ([`json_schema`])
//!
//! One document per thing type, `$id` `urn:safething:schema:<Name>:<version>`. Its `$defs`
//! holds every named type under its own (PascalCase) name and every payload under a dotted
//! name: `attribute.<name>`, `event.<name>`, `action.<name>.input`, `action.<name>.output`.
//! A `ref` becomes `{"$ref": "#/$defs/<Name>"}`. A missing payload (event without data, action
//! without input or output) is `{"type": "null"}`. The root is an index that validates a
//! document `{"attributes": {<name>: value}, "events": {<name>: data}, "actions": {<name>:
//! {"input": .., "output": ..}}}`, so one file is enough to check any payload: point a
//! validator at `#/$defs/attribute.moisture_level`, or validate an index document.
//! Object schemas carry `additionalProperties: false` (the runtime rejects undeclared
//! properties); `unit` stays as an annotation keyword. Payloads of every access type are
//! included.
//!
//! # Thing Description and Thing Model ([`thing_description`], [`thing_model`])
//!
//! - `@context`: [`TD_CONTEXT`] plus `{"safething": "https://safething.dev/ns#"}` for our terms.
//! - TD `id`: [`TdOptions::id`] when set, else `urn:safething:thing:<thing-id>`; `version`: `{"instance", "model"}`.
//!   TM: `@type: "tm:ThingModel"`, no `id`, `version: {"model"}`.
//! - Attributes are `properties`, events `events`, actions `actions`. Data schemas use the WoT
//!   DataSchema terms (the same spelling as the definition); named types are copied inline
//!   (WoT has no `$ref`) and also listed in `schemaDefinitions`.
//! - Properties: `readOnly` unless writable, `writeOnly` only for a writable attribute whose
//!   schema says `writeOnly`, `observable` for dynamic attributes, `const` holding a static
//!   attribute's value, `safething:history` the number of values kept.
//! - Actions: `safe`, `idempotent`, `synchronous: false` (actions are queued),
//!   `safething:timeout` the default deadline in milliseconds.
//! - Every affordance has `safething:access` (`all`, `group` or `owner`); affordances with
//!   access `thing` never leave the device and are not exported.
//! - Names: an affordance or object property with a `wot_name` (`wotName` in a schema) is
//!   written under that name, the name it had in the TD or TM it was imported from, with
//!   `safething:name` giving the definition's own name.
//! - Named types inlined in place carry `safething:ref: "<Name>"`, so an import restores `ref`.
//! - Units: well-known names (`celsius`, `percent`, `liter`, ... see [`units`]) become QUDT
//!   IRIs (`qudt:DEG_C`), with `"qudt": "http://qudt.org/vocab/unit/"` in `@context`; other
//!   units stay as written.
//! - Forms name the key space (`docs/runtime.md`, "Key space") as `safething` URIs: `base` is
//!   `safething://<id>/` (the key expression `safething/v1/<id>/`, TM: `{{THING_ID}}` in place
//!   of the id), which node-wot consumers reach with the binding in `typescript/node-wot-binding`, and
//!   hrefs are relative: `attributes/<name>` (read/write/observe/unobserveproperty),
//!   `events/<name>` (subscribe/unsubscribeevent), `actions/<name>` (invokeaction) and
//!   `requests/{request_id}` (queryaction, cancelaction). `contentType` is
//!   `application/json`.
//! - Security: the TD vocabulary has no scheme for ed25519-signed envelopes, and `nosec` or
//!   `auto` would misdescribe them, so each access type gets an *additional security scheme*
//!   (the TD 1.1 extension point: a prefixed scheme name) `safething:SignedEnvelope` with
//!   `safething:access` and a description: `access_all` (the thing-wide default in
//!   `security`), `access_group`, `access_owner`. Each form names the one of its affordance.
//!   When the TD knows the thing's key, every definition carries it as `safething:thingKey`.

mod convert;
mod json_schema;
pub mod units;
mod wot;

pub use convert::{WOT_NAME, WOT_REF};
pub use json_schema::{JSON_SCHEMA_DIALECT, json_schema, schema_id};
pub use wot::{
    CONTENT_TYPE, SAFETHING_NAMESPACE, SIGNED_ENVELOPE_SCHEME, TD_CONTEXT, THING_ID_PLACEHOLDER,
    THING_KEY_TERM, TdOptions, URI_SCHEME, thing_description, thing_model,
};

//! W3C WoT Thing Description 1.1 (one thing instance) and Thing Model (the thing type).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::convert::{Converter, Style, WOT_NAME, uri_part};
use super::units::{QUDT_NAMESPACE, QUDT_PREFIX};
use crate::definition::{Access, Action, Attribute, AttributeKind, Definition, Event};
use crate::thing_id::ThingId;

/// The WoT Thing Description 1.1 context, first in every `@context`.
pub const TD_CONTEXT: &str = "https://www.w3.org/2022/wot/td/v1.1";

/// The namespace of SAFEthing's own terms, bound to the `safething:` prefix in `@context`.
pub const SAFETHING_NAMESPACE: &str = "https://safething.dev/ns#";

/// The security scheme of SAFEthing's signed envelopes (a TD "additional security scheme",
/// named through the `safething:` context prefix).
pub const SIGNED_ENVELOPE_SCHEME: &str = "safething:SignedEnvelope";

/// The URI scheme of forms: `safething://<thing-id>/<rest>` names the key
/// `safething/v1/<thing-id>/<rest>`, which the node-wot binding (`typescript/node-wot-binding`)
/// reaches through `safething gateway`.
pub const URI_SCHEME: &str = "safething";

/// The term of a security definition that carries the thing's public key (when the TD knows
/// it): a consumer verifies every answer against it.
pub const THING_KEY_TERM: &str = "safething:thingKey";

/// The media type of every payload.
pub const CONTENT_TYPE: &str = "application/json";

/// The placeholder a Thing Model uses where a Thing Description has the thing id.
pub const THING_ID_PLACEHOLDER: &str = "{{THING_ID}}";

/// Instance-specific parts of a Thing Description. Every field is optional; the default gives a
/// complete, valid TD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TdOptions {
    /// `id` of the TD, a URI (e.g. `urn:dev:ops:32473-WoTLamp-1234`). Default:
    /// `urn:safething:thing:<thing-id>`. The thing id (the key-safe name in the key space) stays
    /// what it is: this only changes what WoT consumers see.
    pub id: Option<String>,
    /// `base` of the TD, against which every form's relative `href` resolves. Default:
    /// `safething://<thing-id>/`, the thing's key space `safething/v1/<thing-id>/`
    /// (`docs/wot.md`, "Forms"). A gateway that serves the thing under another URI sets its own.
    pub base: Option<String>,
    /// The thing's ed25519 public key (as the runtime prints it), emitted as
    /// `safething:publicKey` and as `safething:thingKey` in every security definition:
    /// consumers check the device's signatures against it.
    pub public_key: Option<String>,
    /// `title` of this instance (e.g. "Greenhouse 3 sensor"). Default: the definition's title,
    /// else its name.
    pub title: Option<String>,
    /// `description` of this instance. Default: the definition's description.
    pub description: Option<String>,
    /// `version.instance`. Default: the definition's version.
    pub instance_version: Option<String>,
    /// `created`, an RFC 3339 date-time (e.g. `2025-01-31T12:00:00Z`).
    pub created: Option<String>,
    /// `modified`, an RFC 3339 date-time.
    pub modified: Option<String>,
    /// URI of the thing's Thing Model: adds a `links` entry with `rel: "type"`.
    pub thing_model: Option<String>,
}

/// The W3C WoT Thing Description 1.1 of the thing `id` of type `def`.
///
/// Affordances with access `thing` are private to the device and never reachable on the network,
/// so they are left out. See the [module documentation](super) and `docs/wot.md` for the
/// mapping, the `href` form and the security description.
pub fn thing_description(def: &Definition, id: &ThingId, options: &TdOptions) -> Value {
    let info = &def.thing;
    let mut td = Map::new();
    td.insert("@context".into(), context(false));
    let td_id = match &options.id {
        Some(uri) => uri.clone(),
        None => format!("urn:safething:thing:{}", uri_part(id.as_str())),
    };
    td.insert("id".into(), json!(td_id));
    let title = options
        .title
        .as_deref()
        .or(info.title.as_deref())
        .unwrap_or(&info.name);
    td.insert("title".into(), json!(title));
    if let Some(d) = options.description.as_ref().or(info.description.as_ref()) {
        td.insert("description".into(), json!(d));
    }
    let instance = options.instance_version.as_ref().unwrap_or(&info.version);
    td.insert(
        "version".into(),
        json!({ "instance": instance, "model": info.version }),
    );
    let base = match &options.base {
        Some(base) => base.clone(),
        None => thing_base(&uri_part(id.as_str())),
    };
    td.insert("base".into(), json!(base));
    if let Some(key) = &options.public_key {
        td.insert("safething:publicKey".into(), json!(key));
    }
    for (key, value) in [
        ("created", &options.created),
        ("modified", &options.modified),
    ] {
        if let Some(v) = value {
            td.insert(key.into(), json!(v));
        }
    }
    if let Some(tm) = &options.thing_model {
        td.insert(
            "links".into(),
            json!([{ "rel": "type", "href": tm, "type": "application/tm+json" }]),
        );
    }
    if body(def, &mut td) {
        td.insert("@context".into(), context(true));
    }
    pin_thing_key(&mut td, options.public_key.as_deref());
    Value::Object(td)
}

/// The W3C WoT Thing Model (TD 1.1 §10) of the thing type `def`.
///
/// It is the template of every [`thing_description`] of the type: the same affordances,
/// security definitions and forms, with `base` holding the `{{THING_ID}}` placeholder and no
/// instance `id`. See the [module documentation](super).
pub fn thing_model(def: &Definition) -> Value {
    let info = &def.thing;
    let mut tm = Map::new();
    tm.insert("@context".into(), context(false));
    tm.insert("@type".into(), json!("tm:ThingModel"));
    tm.insert(
        "title".into(),
        json!(info.title.as_deref().unwrap_or(&info.name)),
    );
    if let Some(d) = &info.description {
        tm.insert("description".into(), json!(d));
    }
    tm.insert("version".into(), json!({ "model": info.version }));
    tm.insert("base".into(), json!(thing_base(THING_ID_PLACEHOLDER)));
    if body(def, &mut tm) {
        tm.insert("@context".into(), context(true));
    }
    Value::Object(tm)
}

/// `safething://<id>/`: the thing's key space `safething/v1/<id>/` as a URI (the id is the
/// authority, the rest of a key the path).
fn thing_base(id: &str) -> String {
    format!("{URI_SCHEME}://{id}/")
}

/// Names the thing's key in every security definition: node-wot hands a binding the security
/// definitions of a form (not the TD), so that is where the binding can learn which key must
/// sign the answers.
fn pin_thing_key(td: &mut Map<String, Value>, key: Option<&str>) {
    let (Some(key), Some(Value::Object(definitions))) = (key, td.get_mut("securityDefinitions"))
    else {
        return;
    };
    for definition in definitions.values_mut() {
        if let Value::Object(definition) = definition {
            definition.insert(THING_KEY_TERM.into(), json!(key));
        }
    }
}

/// The `@context`; with the `qudt` prefix when a unit is written as a QUDT IRI.
fn context(qudt: bool) -> Value {
    let mut prefixes = Map::new();
    prefixes.insert("safething".into(), json!(SAFETHING_NAMESPACE));
    if qudt {
        prefixes.insert(QUDT_PREFIX.into(), json!(QUDT_NAMESPACE));
    }
    json!([TD_CONTEXT, prefixes])
}

/// What TDs and TMs share: type name, security, named types and affordances. True when a unit
/// was written as a QUDT IRI.
fn body(def: &Definition, doc: &mut Map<String, Value>) -> bool {
    doc.insert("safething:thingType".into(), json!(def.thing.name));

    let public = |access: &Access| *access != Access::Thing;
    let mut used = BTreeSet::new();
    let mut c = Converter::new(&def.types, Style::Wot);

    let properties: Map<String, Value> = def
        .attributes
        .iter()
        .filter(|(_, a)| public(&a.access))
        .map(|(name, a)| {
            used.insert(a.access.as_str().to_owned());
            (wot_key(name, &a.wot_name), property(&mut c, name, a))
        })
        .collect();
    let actions: Map<String, Value> = def
        .actions
        .iter()
        .filter(|(_, a)| public(&a.access))
        .map(|(name, a)| {
            used.insert(a.access.as_str().to_owned());
            (wot_key(name, &a.wot_name), action(&mut c, name, a))
        })
        .collect();
    let events: Map<String, Value> = def
        .events
        .iter()
        .filter(|(_, e)| public(&e.access))
        .map(|(name, e)| {
            used.insert(e.access.as_str().to_owned());
            (wot_key(name, &e.wot_name), event(&mut c, name, e))
        })
        .collect();

    // `access_all` always: it is the thing-wide default every message meets.
    used.insert(Access::All.as_str().to_owned());
    let definitions: Map<String, Value> = [Access::All, Access::Group, Access::Owner]
        .iter()
        .filter(|a| used.contains(a.as_str()))
        .map(|a| (security_name(a), security_scheme(a)))
        .collect();
    doc.insert("securityDefinitions".into(), Value::Object(definitions));
    doc.insert("security".into(), json!([security_name(&Access::All)]));

    if !def.types.is_empty() {
        let types: Map<String, Value> = def
            .types
            .iter()
            .map(|(name, s)| (name.clone(), Value::Object(c.convert(s))))
            .collect();
        doc.insert("schemaDefinitions".into(), Value::Object(types));
    }
    for (key, section) in [
        ("properties", properties),
        ("actions", actions),
        ("events", events),
    ] {
        if !section.is_empty() {
            doc.insert(key.into(), Value::Object(section));
        }
    }
    c.used_qudt
}

/// `safething:name` beside an affordance exported under its WoT name.
fn own_name(out: &mut Map<String, Value>, name: &str, wot_name: &Option<String>) {
    if wot_name.as_deref().is_some_and(|w| w != name) {
        out.insert(WOT_NAME.into(), json!(name));
    }
}

/// An affordance's key in a WoT document: its WoT name when it has one.
fn wot_key(name: &str, wot_name: &Option<String>) -> String {
    wot_name.clone().unwrap_or_else(|| name.to_owned())
}

/// The name under `securityDefinitions` of the scheme for `access`.
fn security_name(access: &Access) -> String {
    format!("access_{}", access.as_str())
}

fn security_scheme(access: &Access) -> Value {
    let (who, encrypted) = match access {
        Access::All => ("anyone may use it", false),
        Access::Group => (
            "only members of the thing's groups and its owner may use it",
            true,
        ),
        _ => ("only the thing's owner may use it", true),
    };
    let privacy = if encrypted {
        " Payloads are encrypted so that nobody else on the network can read them."
    } else {
        ""
    };
    let description = format!(
        "SAFEthing signed envelope: every message carries the sender's public key, a request or \
         sequence id, a timestamp, the JSON payload and an ed25519 signature over them. The \
         device checks the signature, freshness (no replays) and the affordance's access type \
         before anything reaches its handler. Access `{}`: {who}.{privacy}",
        access.as_str()
    );
    json!({
        "scheme": SIGNED_ENVELOPE_SCHEME,
        "description": description,
        "safething:access": access.as_str(),
        "safething:signature": "ed25519",
        "safething:encrypted": encrypted,
    })
}

fn form(href: String, ops: &[&str], access: &Access) -> Value {
    json!({
        "href": href,
        "op": ops,
        "contentType": CONTENT_TYPE,
        "security": [security_name(access)],
    })
}

fn property(c: &mut Converter<'_>, name: &str, a: &Attribute) -> Value {
    let mut p = c.convert(&a.schema);
    let is_static = a.kind == AttributeKind::Static;
    let write_only = a.writable && a.schema.write_only == Some(true);
    let mut ops = Vec::new();
    if !write_only {
        ops.push("readproperty");
    }
    if a.writable {
        ops.push("writeproperty");
    }
    if !is_static && !write_only {
        ops.extend(["observeproperty", "unobserveproperty"]);
    }
    if is_static && let Some(v) = &a.value {
        p.insert("const".into(), v.clone());
    }
    p.insert("readOnly".into(), json!(!a.writable));
    p.insert("writeOnly".into(), json!(write_only));
    p.insert("observable".into(), json!(!is_static && !write_only));
    p.insert("safething:access".into(), json!(a.access.as_str()));
    own_name(&mut p, name, &a.wot_name);
    if let Some(n) = a.history {
        p.insert("safething:history".into(), json!(n));
    }
    let href = format!("attributes/{}", uri_part(name));
    p.insert("forms".into(), json!([form(href, &ops, &a.access)]));
    Value::Object(p)
}

fn action(c: &mut Converter<'_>, name: &str, a: &Action) -> Value {
    let mut out = Map::new();
    annotations(&mut out, a.title.as_deref(), a.description.as_deref());
    if let Some(input) = &a.input {
        out.insert("input".into(), Value::Object(c.convert(input)));
    }
    if let Some(output) = &a.output {
        out.insert("output".into(), Value::Object(c.convert(output)));
    }
    out.insert("safe".into(), json!(a.safe));
    out.insert("idempotent".into(), json!(a.idempotent));
    out.insert("synchronous".into(), json!(false));
    out.insert("safething:access".into(), json!(a.access.as_str()));
    own_name(&mut out, name, &a.wot_name);
    if let Some(ms) = a
        .timeout
        .as_ref()
        .and_then(|t| t.duration().ok())
        .and_then(|d| u64::try_from(d.as_millis()).ok())
    {
        out.insert("safething:timeout".into(), json!(ms));
    }
    out.insert(
        "uriVariables".into(),
        json!({ "request_id": {
            "type": "string",
            "description": "The id the requester gave the request when it invoked the action."
        }}),
    );
    let invoke = form(
        format!("actions/{}", uri_part(name)),
        &["invokeaction"],
        &a.access,
    );
    let track = form(
        "requests/{request_id}".to_owned(),
        &["queryaction", "cancelaction"],
        &a.access,
    );
    out.insert("forms".into(), json!([invoke, track]));
    Value::Object(out)
}

fn event(c: &mut Converter<'_>, name: &str, e: &Event) -> Value {
    let mut out = Map::new();
    annotations(&mut out, e.title.as_deref(), e.description.as_deref());
    if let Some(data) = &e.data {
        out.insert("data".into(), Value::Object(c.convert(data)));
    }
    out.insert("safething:access".into(), json!(e.access.as_str()));
    own_name(&mut out, name, &e.wot_name);
    let href = format!("events/{}", uri_part(name));
    out.insert(
        "forms".into(),
        json!([form(
            href,
            &["subscribeevent", "unsubscribeevent"],
            &e.access
        )]),
    );
    Value::Object(out)
}

fn annotations(out: &mut Map<String, Value>, title: Option<&str>, description: Option<&str>) {
    if let Some(t) = title {
        out.insert("title".into(), json!(t));
    }
    if let Some(d) = description {
        out.insert("description".into(), json!(d));
    }
}

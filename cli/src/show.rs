//! Printing: human-readable text by default, JSON with `--json` (one JSON document per
//! command; streams print one JSON object per line).

use std::path::Path;

use serde::Serialize;
use serde_json::{Value, json};

use safething::Identity;
use safething::client::{EventDelivery, Position, Reading, Source, ThingSummary, Update};
use safething::ir::{AttributeKind, DataSchema};
use safething::wire::{ActionState, Description};

use crate::Failure;
use crate::out::outln;

/// Prints one JSON document (pretty) or, for streams, one per line.
pub fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)?;
    outln!("{text}");
    Ok(())
}

fn print_json_line(value: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string(value)?;
    outln!("{text}");
    Ok(())
}

pub fn things(things: &[ThingSummary], json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&things);
    }
    let rows: Vec<[String; 5]> = things
        .iter()
        .map(|t| {
            [
                t.id.to_string(),
                t.title.clone(),
                t.state.to_string(),
                if t.online { "yes" } else { "no" }.to_owned(),
                t.key.short(),
            ]
        })
        .collect();
    table(&["ID", "TITLE", "STATE", "ONLINE", "KEY"], &rows);
    Ok(())
}

fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        outln!("{}", s.trim_end());
    };
    if header.iter().any(|h| !h.is_empty()) {
        line(header.to_vec());
    }
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

pub fn description(d: &Description, online: bool, json: bool) -> Result<(), Failure> {
    if json {
        let mut value = serde_json::to_value(d)?;
        if let Value::Object(map) = &mut value {
            map.insert("online".into(), json!(online));
        }
        return print_json(&value);
    }
    let t = &d.definition.thing;
    outln!(
        "{} — {} ({} {})",
        d.id,
        t.title.as_deref().unwrap_or(&t.name),
        t.name,
        t.version
    );
    if let Some(text) = &t.description {
        outln!("  {text}");
    }
    outln!(
        "  state {}, {}, revision {}",
        d.state,
        if online { "online" } else { "offline" },
        d.revision
    );
    outln!("  key   {}", d.thing_key);
    match &d.owner {
        Some(owner) => outln!("  owner {owner}"),
        None => outln!("  owner (unclaimed)"),
    }
    for member in &d.group {
        outln!("  group {member}");
    }
    let defs = &d.definition;
    if !defs.attributes.is_empty() {
        outln!("attributes:");
        let rows: Vec<[String; 4]> = defs
            .attributes
            .iter()
            .map(|(name, a)| {
                let mut notes = Vec::new();
                match a.kind {
                    AttributeKind::Static => notes.push(format!(
                        "static = {}",
                        a.value.as_ref().map_or("null".into(), Value::to_string)
                    )),
                    AttributeKind::Dynamic => {}
                }
                if a.writable {
                    notes.push("writable".into());
                }
                if let Some(h) = a.history {
                    notes.push(format!("history {h}"));
                }
                if let Some(text) = &a.schema.description {
                    notes.push(text.clone());
                }
                [
                    format!("  {name}"),
                    schema(&a.schema),
                    a.access.to_string(),
                    notes.join("; "),
                ]
            })
            .collect();
        table(&["", "", "", ""], &rows);
    }
    if !defs.events.is_empty() {
        outln!("events:");
        let rows: Vec<[String; 4]> = defs
            .events
            .iter()
            .map(|(name, e)| {
                [
                    format!("  {name}"),
                    e.data.as_ref().map_or("-".into(), schema),
                    e.access.to_string(),
                    e.description.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table(&["", "", "", ""], &rows);
    }
    if !defs.actions.is_empty() {
        outln!("actions:");
        let rows: Vec<[String; 4]> = defs
            .actions
            .iter()
            .map(|(name, a)| {
                let mut notes = Vec::new();
                if let Some(t) = &a.timeout {
                    notes.push(format!("timeout {}", t.0));
                }
                if let Some(text) = &a.description {
                    notes.push(text.clone());
                }
                [
                    format!("  {name}"),
                    format!(
                        "{} -> {}",
                        a.input.as_ref().map_or("()".into(), schema),
                        a.output.as_ref().map_or("()".into(), schema)
                    ),
                    a.access.to_string(),
                    notes.join("; "),
                ]
            })
            .collect();
        table(&["", "", "", ""], &rows);
    }
    Ok(())
}

/// A short summary of a schema: its named type, or its type with unit, or the object's
/// properties.
fn schema(s: &DataSchema) -> String {
    if let Some(name) = &s.reference {
        return name.clone();
    }
    if let Some(values) = &s.enumeration {
        let values: Vec<String> = values.iter().map(Value::to_string).collect();
        return values.join("|");
    }
    let ty = s.ty.map_or("any".to_owned(), |t| t.to_string());
    if !s.properties.is_empty() {
        let fields: Vec<&str> = s.properties.keys().map(String::as_str).collect();
        return format!("{{{}}}", fields.join(", "));
    }
    match &s.unit {
        Some(unit) => format!("{ty} ({unit})"),
        None => ty,
    }
}

pub fn reading(id: &str, attribute: &str, r: &Reading, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&json!({
            "thing": id, "attribute": attribute, "value": r.value, "seq": r.seq,
            "ts": r.timestamp, "timestamp": r.timestamp, "source": r.source.as_str(),
            "age_ms": r.age_ms,
        }));
    }
    outln!("{}", r.value);
    if r.source == Source::Store {
        // Said on stderr: scripts reading stdout get the value alone either way.
        eprintln!(
            "(from a store: the device is offline; value {} old)",
            age(r.age_ms)
        );
    }
    Ok(())
}

fn age(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..120_000 => format!("{}s", ms / 1_000),
        120_000..7_200_000 => format!("{}min", ms / 60_000),
        _ => format!("{}h", ms / 3_600_000),
    }
}

/// A history, oldest first. JSON: every entry with its `source`; the top-level `source` says
/// who gave the newest entries (`device` when the device answered).
pub fn history(id: &str, attribute: &str, entries: &[Reading], json: bool) -> Result<(), Failure> {
    let newest = entries.last().map_or(Source::Device, |e| e.source);
    if json {
        let entries: Vec<Value> = entries
            .iter()
            .map(|e| {
                json!({
                    "value": e.value, "seq": e.seq, "ts": e.timestamp, "timestamp": e.timestamp,
                    "source": e.source.as_str(), "age_ms": e.age_ms,
                })
            })
            .collect();
        return print_json(&json!({
            "thing": id, "attribute": attribute, "history": entries, "source": newest.as_str(),
        }));
    }
    for e in entries {
        match e.source {
            Source::Device => outln!("#{:<6} {}", e.seq, e.value),
            Source::Store => outln!(
                "#{:<6} {}  (from a store, {} old)",
                e.seq,
                e.value,
                age(e.age_ms)
            ),
        }
    }
    Ok(())
}

/// A change; its JSON line carries the watch's position (for `--from`).
pub fn update(
    attribute: &str,
    u: &Update,
    position: Option<Position>,
    json: bool,
) -> Result<(), Failure> {
    if json {
        return print_json_line(&json!({
            "thing": u.thing, "attribute": attribute, "value": u.value, "seq": u.seq, "ts": u.ts,
            "position": position,
        }));
    }
    outln!("{} {attribute} #{} = {}", u.thing, u.seq, u.value);
    Ok(())
}

/// An event; its JSON line carries the stream's position (for `--from`).
pub fn event(
    name: &str,
    e: &EventDelivery,
    position: Option<Position>,
    json: bool,
) -> Result<(), Failure> {
    if json {
        return print_json_line(&json!({
            "thing": e.thing, "event": name, "data": e.data, "seq": e.seq, "ts": e.ts,
            "position": position,
        }));
    }
    outln!("{} {name} #{}: {}", e.thing, e.seq, e.data);
    Ok(())
}

/// Publications a resumed stream missed: said on stderr, the stream goes on.
pub fn gap(gap: &safething::Error) {
    eprintln!("warning: {gap}");
}

pub fn request(id: &str, action: &str, state: &ActionState, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&json!({"request": id, "action": action, "state": state.name()}));
    }
    outln!("request {id}: {}", state.name());
    Ok(())
}

pub fn lifecycle(d: &Description, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&json!({"id": d.id, "state": d.state, "revision": d.revision}));
    }
    outln!("{} is {}", d.id, d.state);
    Ok(())
}

pub fn parties(d: &Description, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&json!({
            "id": d.id,
            "state": d.state,
            "owner": d.owner.map(|k| k.to_string()),
            "group": d.group.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "revision": d.revision,
        }));
    }
    match &d.owner {
        Some(owner) => outln!("{} is {}, owned by {owner}", d.id, d.state),
        None => outln!("{} is {}, unclaimed", d.id, d.state),
    }
    for member in &d.group {
        outln!("  member {member}");
    }
    Ok(())
}

pub fn identity(identity: &Identity, path: &Path, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(&json!({
            "key": identity.public_key().to_string(),
            "short": identity.public_key().short(),
            "path": path.display().to_string(),
        }));
    }
    outln!("{}", identity.public_key());
    eprintln!("(identity file {})", path.display());
    Ok(())
}

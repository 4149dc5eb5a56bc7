//! Programmatic definitions for property-style tests and benchmarks: deterministic (a seed
//! picks every choice), valid, and varied — every schema shape (tagged unions and constants
//! too), keywords as names, refs,
//! histories, writable attributes, events with and without data, actions with and without
//! input and output.
#![allow(dead_code)]

use serde_json::{Value, json};

use safething_ir::Definition;

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const PROPERTIES: &[&str] = &[
    "level", "type", "match", "self", "at", "value", "count", "name", "fn", "crate", "state",
];

fn schema(rng: &mut Rng, depth: u32, types: &[String]) -> Value {
    let choice = if depth > 2 {
        rng.below(6)
    } else {
        rng.below(13)
    };
    match choice {
        0 => json!({"type": "number", "unit": "percent", "minimum": 0, "maximum": 100}),
        1 => {
            let lo = -(rng.below(70000) as i64);
            json!({"type": "integer", "minimum": lo, "maximum": rng.below(5_000_000_000)})
        }
        2 => json!({"type": "string", "maxLength": 64}),
        3 => json!({"type": "boolean"}),
        4 => json!({"type": "string", "enum": ["off", "on", "auto", "very-dry"]}),
        5 if !types.is_empty() => json!({"ref": rng.pick(types)}),
        5 => json!({"type": "integer"}),
        6 => json!({"type": "array", "items": schema(rng, depth + 1, types), "maxItems": 10}),
        7 => {
            json!({"oneOf": [{"type": "string"}, schema(rng, depth + 1, types), {"type": "null"}]})
        }
        8 => {
            let value = match rng.below(3) {
                0 => json!("v1"),
                1 => json!(-3),
                _ => json!(true),
            };
            json!({"const": value})
        }
        9 => {
            // A tagged union: a keyword as the tag, `Self` as a title, keywords as fields.
            let field = *rng.pick(&PROPERTIES[2..]);
            json!({"oneOf": [
                {"type": "object", "title": "Self", "required": ["type"],
                 "properties": {"type": {"type": "string", "const": "self"}}},
                {"type": "object", "required": ["type", field], "properties": {
                    "type": {"type": "string", "const": "very-dry"},
                    field: schema(rng, depth + 1, types)}},
                {"type": "object", "required": ["type"], "properties": {
                    "type": {"const": "Very dry"},
                    "level": schema(rng, depth + 1, types)}}
            ]})
        }
        _ => {
            let mut properties = serde_json::Map::new();
            let mut required = Vec::new();
            for _ in 0..=rng.below(4) {
                let name = *rng.pick(PROPERTIES);
                if properties.contains_key(name) {
                    continue;
                }
                properties.insert(name.to_owned(), schema(rng, depth + 1, types));
                if rng.below(2) == 0 {
                    required.push(name);
                }
            }
            json!({"type": "object", "properties": properties, "required": required})
        }
    }
}

/// A valid definition named `Thing<seed>` with about `affordances` attributes, events and
/// actions.
pub fn definition(seed: u64, affordances: usize) -> Definition {
    let mut rng = Rng::new(seed);
    let mut types = serde_json::Map::new();
    let mut names = Vec::new();
    for i in 0..3 {
        let name = format!("Named{i}");
        types.insert(name.clone(), schema(&mut rng, 1, &names));
        names.push(name);
    }
    let access = ["all", "group", "owner", "thing"];
    let mut attributes = serde_json::Map::new();
    let mut events = serde_json::Map::new();
    let mut actions = serde_json::Map::new();
    for i in 0..affordances {
        let access = *rng.pick(&access);
        match i % 3 {
            0 => {
                let mut a = schema(&mut rng, 0, &names);
                let obj = a.as_object_mut().unwrap();
                obj.insert("access".into(), json!(access));
                if rng.below(3) == 0 {
                    obj.insert("history".into(), json!(1 + rng.below(100)));
                }
                if rng.below(3) == 0 {
                    obj.insert("writable".into(), json!(true));
                }
                attributes.insert(format!("attr_{i}"), a);
            }
            1 => {
                let mut e = json!({"access": access, "description": "An event"});
                if rng.below(3) != 0 {
                    e["data"] = schema(&mut rng, 0, &names);
                }
                events.insert(format!("event_{i}"), e);
            }
            _ => {
                let mut a = json!({"access": access, "timeout": "5s"});
                if rng.below(3) != 0 {
                    a["input"] = schema(&mut rng, 0, &names);
                }
                if rng.below(3) != 0 {
                    a["output"] = schema(&mut rng, 0, &names);
                }
                actions.insert(format!("action_{i}"), a);
            }
        }
    }
    serde_json::from_value(json!({
        "thing": {"name": format!("Thing{seed}"), "version": "1.0.0", "title": "Synthetic"},
        "types": types,
        "attributes": attributes,
        "events": events,
        "actions": actions,
    }))
    .expect("synthetic definitions deserialize")
}

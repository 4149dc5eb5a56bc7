//! `check` plus every export (JSON Schema, Thing Model, Thing Description) over 1,000
//! generated definitions of about 10 affordances each. Prints the time; asserts nothing.
//!
//! ```sh
//! cargo bench -p safething-codegen --bench check
//! ```
//!
//! The inputs are the benchmark's own fixed definitions, so a failed step is a bug in the
//! benchmark, not bad input: it stops there (`expect`, `panic!`) instead of reporting an error.

use std::fmt::Write;
use std::time::{Duration, Instant};

use safething_codegen::export::{TdOptions, json_schema, thing_description, thing_model};
use safething_ir::ThingId;

const DEFINITIONS: usize = 1_000;

/// A definition with 4 attributes, 3 events and 3 actions, two named types, and a spread of
/// schema keywords, varied by `n` so no two are alike.
fn definition(n: usize) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"[thing]
name = "Device{n}"
title = "Generated device {n}"
version = "1.{n}.0"

[types.Mode]
type = "string"
enum = ["off", "eco", "boost"]

[types.Reading]
type = "object"
required = ["value"]
properties.value = {{ type = "number", minimum = 0, maximum = {max}, unit = "celsius" }}
properties.at = {{ type = "string", format = "date-time" }}

[attributes.temperature]
type = "number"
minimum = -40
maximum = {max}
history = 50
access = "all"

[attributes.mode]
ref = "Mode"
writable = true

[attributes.serial]
type = "string"
kind = "static"
value = "SN-{n:06}"
pattern = "^SN-[0-9]+$"
access = "all"

[attributes.tags]
type = "array"
items = {{ type = "string", maxLength = 16 }}
maxItems = 8
access = "group"

[events.overheat]
data = {{ ref = "Reading" }}
access = "all"

[events.door_opened]
access = "group"

[events.battery_low]
data = {{ type = "integer", minimum = 0, maximum = 100 }}

[actions.set_target]
input = {{ type = "object", required = ["celsius"], properties.celsius = {{ type = "number", minimum = 5, maximum = 30, multipleOf = 0.5 }} }}
output = {{ ref = "Reading" }}
timeout = "10s"

[actions.reboot]
timeout = "1m"
idempotent = true

[actions.log]
input = {{ type = "string", maxLength = 200 }}
output = {{ type = "array", items = {{ type = "string" }} }}
access = "group"
"#,
        max = 100 + n % 50,
    );
    s
}

fn main() {
    let sources: Vec<(String, String)> = (0..DEFINITIONS)
        .map(|n| (format!("device{n}.toml"), definition(n)))
        .collect();
    let id = match ThingId::new("bench-0001") {
        Ok(id) => id,
        Err(e) => panic!("{e}"),
    };
    let options = TdOptions::default();
    // One warm-up pass, then the measured one.
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..3 {
        let t0 = Instant::now();
        bytes = 0;
        for (name, source) in &sources {
            let loaded = match safething_codegen::load_str(name, source) {
                Ok(l) => l,
                Err(e) => panic!("{}", e.render(false)),
            };
            let def = &loaded.definition;
            bytes += json_schema(def).to_string().len();
            bytes += thing_model(def).to_string().len();
            bytes += thing_description(def, &id, &options).to_string().len();
        }
        best = best.min(t0.elapsed());
    }
    let affordances = 10;
    println!(
        "check + JSON Schema + TM + TD of {DEFINITIONS} definitions ({affordances} affordances each)"
    );
    println!(
        "  best of 3: {:.3} s ({:.0} us per definition, {:.1} MiB of output)",
        best.as_secs_f64(),
        best.as_secs_f64() * 1e6 / DEFINITIONS as f64,
        bytes as f64 / 1048576.0
    );
    println!(
        "  target: under 1 s -> {}",
        if best < Duration::from_secs(1) {
            "met"
        } else {
            "MISSED"
        }
    );
}

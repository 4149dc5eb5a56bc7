//! How long `Definition::check` takes on large definitions: ref chains, a ref cycle and a
//! ladder of shared refs of 1,000, 8,000 and 50,000 named types (limits raised so the checks
//! themselves run), and the default limits rejecting the largest. Prints the times; asserts
//! nothing.
//!
//! ```sh
//! cargo bench -p safething-ir --bench check
//! ```
//!
//! The inputs are the benchmark's own, so a failed step is a bug in the benchmark, not bad
//! input: it stops there (`expect`) instead of reporting an error.

use std::time::{Duration, Instant};

use safething_ir::{Definition, Limits};
use serde_json::{Value, json};

#[derive(Clone, Copy)]
enum Shape {
    Chain,
    Cycle,
    Ladder,
}

fn definition(shape: Shape, n: usize) -> Definition {
    let next = |i: usize| format!("T{}", (i + 1) % n);
    let types: serde_json::Map<String, Value> = (0..n)
        .map(|i| {
            let last = i + 1 == n;
            let schema = match shape {
                Shape::Chain if last => json!({"type": "integer"}),
                Shape::Chain | Shape::Cycle => json!({"ref": next(i)}),
                Shape::Ladder if last => json!({"type": "integer"}),
                Shape::Ladder => json!({"type": "object", "properties": {
                    "a": {"ref": next(i)}, "b": {"ref": next(i)}}}),
            };
            (format!("T{i}"), schema)
        })
        .collect();
    serde_json::from_value(json!({
        "thing": {"name": "Bench", "version": "1.0.0"},
        "types": types,
        "attributes": {"level": {"ref": "T0"}},
    }))
    .expect("the benchmark's definition deserializes")
}

fn time(f: impl FnOnce() -> bool) -> (Duration, bool) {
    let start = Instant::now();
    let ok = f();
    (start.elapsed(), ok)
}

fn main() {
    for (shape, label) in [
        (Shape::Chain, "ref chain"),
        (Shape::Cycle, "ref cycle"),
        (Shape::Ladder, "ref ladder"),
    ] {
        for n in [1_000, 8_000, 50_000] {
            let def = definition(shape, n);
            let (raised, ok) = time(|| def.check_with_limits(&Limits::UNLIMITED).is_ok());
            println!("{label:>10} {n:>6} types, limits raised: {raised:>12.3?} (valid: {ok})");
        }
    }
    let def = definition(Shape::Chain, 50_000);
    let (rejected, ok) = time(|| def.check().is_ok());
    println!("ref chain  50000 types, default limits: {rejected:>12.3?} (valid: {ok})");
}

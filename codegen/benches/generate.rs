//! Generation time of the Rust generator: 1,000 programmatic definitions with 10 affordances
//! each (plus three named types), validated, generated and formatted. Prints figures; run with
//! `cargo bench -p safething-codegen --bench generate`.
//!
//! The inputs are the benchmark's own fixed definitions, so a failed step is a bug in the
//! benchmark, not bad input: it stops there (`expect`, `panic!`) instead of reporting an error.

#[path = "../tests/synthetic/mod.rs"]
mod synthetic;

use std::time::{Duration, Instant};

const DEFINITIONS: u64 = 1_000;
const AFFORDANCES: usize = 10;

fn main() {
    let definitions: Vec<_> = (0..DEFINITIONS)
        .map(|seed| synthetic::definition(seed, AFFORDANCES))
        .collect();

    let mut tokens_time = Duration::ZERO;
    let mut format_time = Duration::ZERO;
    let mut bytes = 0;
    let mut lines = 0;
    let start = Instant::now();
    for definition in &definitions {
        let t0 = Instant::now();
        let checked = definition.clone().checked().expect("valid");
        let tokens = safething_codegen::rust::generate_tokens(&checked).expect("generates");
        let t1 = Instant::now();
        let code = safething_codegen::rust::format_file(tokens).expect("formats");
        let t2 = Instant::now();
        tokens_time += t1 - t0;
        format_time += t2 - t1;
        bytes += code.len();
        lines += code.lines().count();
    }
    let total = start.elapsed();
    println!(
        "generated {DEFINITIONS} definitions ({AFFORDANCES} affordances each): {:.2} s total, \
         {:.2} ms per definition",
        total.as_secs_f64(),
        total.as_secs_f64() * 1000.0 / DEFINITIONS as f64
    );
    println!(
        "  validation + tokens {:.2} s, parse + prettyplease {:.2} s",
        tokens_time.as_secs_f64(),
        format_time.as_secs_f64()
    );
    println!(
        "  output: {:.1} MB, {lines} lines ({} lines per definition)",
        bytes as f64 / 1e6,
        lines / DEFINITIONS as usize
    );
}

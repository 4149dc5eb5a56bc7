//! `cargo build` time of a crate with 100 generated things: writes a temporary crate whose
//! build script generates 100 programmatic definitions (10 affordances each) with
//! `safething_codegen::rust::generate` and whose `lib.rs` includes them all under
//! `deny(warnings)`, then times `cargo build` three ways. Takes minutes; run it on its own:
//! `cargo bench -p safething-codegen --bench build_time`.
//!
//! The crate builds into `target/bench-build-time/`, so the dependencies (tokio, serde, ...)
//! are compiled on the first run only: the "first build" figure includes them then.
//!
//! The inputs are the benchmark's own fixed definitions, so a failed step is a bug in the
//! benchmark, not bad input: it stops there (`expect`, `panic!`) instead of reporting an error.

#[path = "../tests/synthetic/mod.rs"]
mod synthetic;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const THINGS: u64 = 100;

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("creates directories");
    }
    std::fs::write(path, text).expect("writes");
}

fn build(dir: &Path, target: &Path, what: &str) -> f64 {
    let start = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .status()
        .expect("runs cargo");
    assert!(status.success(), "cargo build failed ({what})");
    let secs = start.elapsed().as_secs_f64();
    println!("  {what}: {secs:.1} s");
    secs
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let dir = tmp.path().join("things100");
    let root_s = root.display();
    write(
        &dir.join("Cargo.toml"),
        &format!(
            r#"[package]
name = "things100"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
safething = {{ path = "{root_s}", default-features = false }}

[build-dependencies]
safething-codegen = {{ path = "{root_s}/codegen", default-features = false }}
safething-ir = {{ path = "{root_s}/ir" }}
serde_json = "1"

[workspace]
"#
        ),
    );
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).expect("copies Cargo.lock");
    write(
        &dir.join("build.rs"),
        r#"fn main() {
    println!("cargo:rerun-if-changed=defs");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for entry in std::fs::read_dir("defs").unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let definition: safething_ir::Definition = serde_json::from_str(&text).unwrap();
        let code = safething_codegen::rust::generate(&definition).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        safething_codegen::output::write_if_changed(&out.join(format!("{name}.rs")), &code).unwrap();
    }
}
"#,
    );
    let mut lib = String::from("//! 100 generated things.\n#![deny(warnings)]\n");
    for seed in 0..THINGS {
        let definition = synthetic::definition(seed, 10);
        write(
            &dir.join(format!("defs/thing{seed}.json")),
            &serde_json::to_string_pretty(&definition).expect("serializes"),
        );
        writeln!(
            lib,
            "/// Thing {seed}.\npub mod thing{seed} {{ include!(concat!(env!(\"OUT_DIR\"), \"/thing{seed}.rs\")); }}"
        )
        .expect("formats");
    }
    write(&dir.join("src/lib.rs"), &lib);

    let target = root.join("target/bench-build-time");
    println!(
        "cargo build of a crate with {THINGS} generated things (10 affordances each), dev profile:"
    );
    build(
        &dir,
        &target,
        "first build (dependencies too, unless built by an earlier run)",
    );
    // Only the crate: the 100 generated modules.
    let lib_rs = dir.join("src/lib.rs");
    write(&lib_rs, &format!("{lib}\n"));
    build(&dir, &target, "rebuild of the crate alone (lib.rs touched)");
    // One definition changed: the build script regenerates, the crate recompiles.
    let def = dir.join("defs/thing0.json");
    let text = std::fs::read_to_string(&def).expect("reads");
    write(&def, &text.replace("Synthetic", "Synthetic thing"));
    build(
        &dir,
        &target,
        "rebuild after one definition changed (build.rs + crate)",
    );
}

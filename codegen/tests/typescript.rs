//! The TypeScript generator and runtime.
//!
//! Pure Rust: a snapshot of the gardening device's module, determinism, the CLI. With Node.js
//! and the npm packages of `tests/ts` (`npm ci --prefix tests/ts`, which `scripts/test` runs):
//!
//! - the TypeScript generated for every example definition and fixture (and the TypeScript
//!   keyword fixture) type-checks with `tsc --strict --noEmit`, together with
//!   the files of `tests/ts/typecheck/` (typed usage, narrowing on tagged unions, and
//!   `@ts-expect-error` lines that must not type-check);
//! - the runtime's unit tests pass (`npm test --prefix tests/ts`, node:test);
//! - the checked-in compiled runtime (`typescript/dist/`, what consoles load) is exactly what
//!   `tsc` makes of `typescript/sdk/` (`SAFETHING_BLESS=1` rewrites it).
//!
//! These fail with a clear message when node, npm or the packages are missing.
//! Review snapshot changes with `INSTA_UPDATE=always cargo test -p safething-codegen --test
//! typescript` and `git diff`.

mod common;
#[path = "../../tests/support/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{root, toml_files};

fn definitions() -> Vec<String> {
    let mut files = toml_files("examples/things");
    files.extend(toml_files("codegen/tests/fixtures"));
    files.extend(toml_files("codegen/tests/fixtures-ts"));
    files
}

fn load(file: &str) -> safething_ir::CheckedDefinition {
    safething_codegen::load(root().join(file))
        .unwrap()
        .definition
}

#[test]
fn gardening_device_snapshot() {
    let text =
        safething_codegen::ts::generate(&load("examples/things/gardening_device.toml")).unwrap();
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("ts@gardening_device", text);
    });
}

/// Tagged unions (interfaces whose tag is a literal type, so they narrow), constants as their
/// literal types.
#[test]
fn unions_snapshot() {
    let text =
        safething_codegen::ts::generate(&load("codegen/tests/fixtures/unions.toml")).unwrap();
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("ts@unions", text);
    });
}

#[test]
fn output_is_deterministic_and_self_contained() {
    let defs: Vec<_> = definitions().iter().map(|f| load(f)).collect();
    let refs: Vec<_> = defs.iter().collect();
    let a = safething_codegen::ts::generate_dir(&refs).unwrap();
    let b = safething_codegen::ts::generate_dir(&refs).unwrap();
    assert_eq!(a, b);
    for file in [
        "gardening_device.ts",
        "option.ts",
        "promise.ts",
        "tsconfig.json",
        "safething/index.ts",
    ] {
        assert!(a.contains_key(file), "{file} missing: {:?}", a.keys());
    }
    for (name, text) in &a {
        assert!(
            !text.contains(": any") && !text.contains("<any>"),
            "{name} uses `any`"
        );
        if name.ends_with(".ts") && !name.starts_with("safething/") {
            assert!(text.starts_with(safething_codegen::ts::HEADER), "{name}");
            assert!(text.ends_with("}\n"), "{name} keeps its trailing newline");
        }
    }
}

/// Node.js and the TypeScript compiler of `tests/ts`, or `None` when the test is skipped.
fn node() -> Option<(String, PathBuf)> {
    let node = tools::node()?;
    let modules = tools::npm_modules(&root(), &["typescript"])?;
    Some((node, modules.join("typescript/bin/tsc")))
}

fn run(command: &mut Command, what: &str) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{report}");
    println!("{what}:\n{report}");
}

#[test]
fn generated_typescript_type_checks_strictly() {
    let Some((node, tsc)) = node() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let defs: Vec<_> = definitions().iter().map(|f| load(f)).collect();
    let refs: Vec<_> = defs.iter().collect();
    for (relative, text) in safething_codegen::ts::generate_dir(&refs).unwrap() {
        safething_codegen::output::write_if_changed(&dir.path().join(relative), &text).unwrap();
    }
    for entry in std::fs::read_dir(root().join("tests/ts/typecheck")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ts") {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    run(
        Command::new(&node)
            .arg(&tsc)
            .args(["-p"])
            .arg(dir.path())
            .args(["--noEmit", "--strict"]),
        "tsc --strict --noEmit on the generated TypeScript",
    );
}

#[test]
fn runtime_unit_tests_pass() {
    let Some((node, _)) = node() else {
        return;
    };
    run(
        Command::new(&node).arg(root().join("tests/ts/scripts/run.mjs")),
        "npm test --prefix tests/ts",
    );
}

fn files_of(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn compiled_runtime_matches_its_source() {
    let Some((node, tsc)) = node() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    run(
        Command::new(&node)
            .arg(&tsc)
            .arg("-p")
            .arg(root().join("typescript/sdk"))
            .arg("--outDir")
            .arg(out.path()),
        "tsc on typescript/sdk",
    );
    let dist = root().join("typescript/dist");
    let fresh = files_of(out.path());
    if std::env::var_os("SAFETHING_BLESS").is_some() {
        for (name, text) in &fresh {
            std::fs::write(dist.join(name), text).unwrap();
        }
    }
    let checked_in = files_of(&dist);
    let names =
        |files: &[(String, String)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&checked_in),
        names(&fresh),
        "typescript/dist has other files than tsc makes"
    );
    for ((name, old), (_, new)) in checked_in.iter().zip(&fresh) {
        assert!(
            old == new,
            "typescript/dist/{name} drifted from typescript/sdk: run \
             `SAFETHING_BLESS=1 cargo test -p safething-codegen --test typescript compiled_runtime` \
             (or `tests/ts/node_modules/.bin/tsc -p typescript/sdk`) and commit it"
        );
    }
}

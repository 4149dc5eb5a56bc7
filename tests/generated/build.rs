//! Generates every example thing and every fixture with the build-script API, and a dozen
//! synthetic definitions (the generator's property-test corpus) with `rust::generate`.

use std::fmt::Write as _;

#[path = "../../codegen/tests/synthetic/mod.rs"]
mod synthetic;

/// How many synthetic things `src/lib.rs` compiles.
const SYNTHETIC: u64 = 12;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut paths = Vec::new();
    for dir in ["../../examples/things", "../../codegen/tests/fixtures"] {
        for entry in std::fs::read_dir(dir)?.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
        println!("cargo:rerun-if-changed={dir}");
    }
    paths.sort();
    safething_codegen::Builder::new().compile(&paths)?;

    println!("cargo:rerun-if-changed=../../codegen/tests/synthetic/mod.rs");
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    let mut modules = String::new();
    for seed in 0..SYNTHETIC {
        let definition = synthetic::definition(seed, 10).checked()?;
        let code = safething_codegen::rust::generate(&definition)?;
        let file = format!("synthetic_{seed}.rs");
        safething_codegen::output::write_if_changed(&out_dir.join(&file), &code)?;
        writeln!(
            modules,
            "/// Synthetic definition {seed}.\npub mod thing{seed} {{ include!(concat!(env!(\"OUT_DIR\"), \"/{file}\")); }}"
        )?;
    }
    safething_codegen::output::write_if_changed(&out_dir.join("synthetic.rs"), &modules)?;

    // W3C WoT samples imported by `safething-gen import` (codegen/tests/wot_import.rs).
    let dir = "../../codegen/tests/imported";
    println!("cargo:rerun-if-changed={dir}");
    let mut imported: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    imported.sort();
    let mut modules = String::new();
    for path in imported
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        let loaded = safething_codegen::load(path).map_err(|e| e.to_string())?;
        let code = safething_codegen::rust::generate(&loaded.definition)?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let file = format!("imported_{stem}.rs");
        safething_codegen::output::write_if_changed(&out_dir.join(&file), &code)?;
        writeln!(
            modules,
            "/// `codegen/tests/imported/{stem}.toml`.\npub mod {stem} {{ include!(concat!(env!(\"OUT_DIR\"), \"/{file}\")); }}"
        )?;
    }
    safething_codegen::output::write_if_changed(&out_dir.join("imported.rs"), &modules)?;
    Ok(())
}

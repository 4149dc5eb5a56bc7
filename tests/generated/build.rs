//! Generates every example thing and every fixture with the build-script API.

fn main() -> Result<(), safething_codegen::BuildError> {
    let mut paths = Vec::new();
    for dir in ["../../examples/things", "../../codegen/tests/fixtures"] {
        let entries = std::fs::read_dir(dir).map_err(|error| safething_codegen::BuildError::Io {
            path: dir.into(),
            error,
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
        println!("cargo:rerun-if-changed={dir}");
    }
    paths.sort();
    safething_codegen::Builder::new().compile(&paths)
}

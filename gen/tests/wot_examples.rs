//! Every example's Thing Description and Thing Model, made by `safething-gen td` / `tm`, passes
//! the official W3C schemas through the conformance script (`tests/conformance/validate.py`).
//! Python comes from `$SAFETHING_PYTHON` (scripts/test sets up a venv) or `python3`; without it
//! (or its modules) the test is skipped with the reason, or fails under `SAFETHING_REQUIRE_ALL=1`.

#[path = "../../codegen/tests/common/mod.rs"]
mod common;
#[path = "../../tests/support/tools.rs"]
mod tools;

use std::process::Command;

#[test]
fn example_tds_and_tms_pass_the_official_schemas() {
    let Some(python) = tools::conformance_python() else {
        return;
    };
    let out_dir = std::env::temp_dir().join(format!("safething-wot-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut outputs = Vec::new();
    for file in common::toml_files("examples/things") {
        let stem = std::path::Path::new(&file)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let td = out_dir.join(format!("{stem}.td.json"));
        let tm = out_dir.join(format!("{stem}.tm.json"));
        for (args, out) in [
            (vec!["td", &file, "--id", "example-0001"], &td),
            (vec!["tm", &file], &tm),
        ] {
            let status = Command::new(env!("CARGO_BIN_EXE_safething-gen"))
                .args(&args)
                .arg("-o")
                .arg(out)
                .current_dir(common::root())
                .status()
                .unwrap();
            assert!(status.success(), "safething-gen {args:?} failed");
        }
        outputs.push(td);
        outputs.push(tm);
    }
    let result = Command::new(&python)
        .arg(common::root().join("tests/conformance/validate.py"))
        .args(&outputs)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}): run scripts/test, or pip install -r tests/conformance/requirements.txt"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        result.status.success(),
        "validate.py rejected an export (or its modules are missing: pip install -r tests/conformance/requirements.txt):\n{text}"
    );
    assert_eq!(text.matches(": ok").count(), outputs.len(), "{text}");
    let _ = std::fs::remove_dir_all(&out_dir);
}

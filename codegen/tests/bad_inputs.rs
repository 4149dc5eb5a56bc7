//! Every file of the bad-input corpus (`codegen/tests/bad/*.toml`) is rejected with at least one
//! located error, without panicking; the rendered diagnostics are snapshots
//! (`INSTA_UPDATE=always cargo test -p safething-codegen --test bad_inputs` to bless).

mod common;

use common::{root, toml_files};

#[test]
fn every_bad_input_is_rejected_with_located_errors() {
    // Diagnostics name files relative to the workspace root, as a user in it would see them.
    std::env::set_current_dir(root()).unwrap();
    let files = toml_files("codegen/tests/bad");
    assert!(
        files.len() >= 40,
        "the corpus has only {} files",
        files.len()
    );
    for file in files {
        let text = std::fs::read(&file).unwrap();
        assert!(
            text.starts_with(b"# "),
            "{file} must start with a comment saying what it tests"
        );
        let error = match safething_codegen::load(&file) {
            Ok(_) => panic!("{file} loaded, but it is in the bad-input corpus"),
            Err(e) => e,
        };
        assert!(error.errors().count() >= 1, "{file}: no error");
        for d in error.errors() {
            assert_eq!(d.file, file);
            assert!(d.line >= 1 && d.col >= 1, "{file}: unlocated error {d}");
            assert!(d.rule.is_some(), "{file}: error without a rule: {d}");
        }
        let rendered = error.render(false);
        assert!(!rendered.contains('\x1b'), "{file}: colour in plain output");
        let name = file
            .trim_start_matches("codegen/tests/bad/")
            .trim_end_matches(".toml");
        insta::with_settings!({
            description => format!("safething-gen check {file}"),
            omit_expression => true,
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(format!("bad__{name}"), rendered);
        });
    }
}

#[test]
fn load_str_reports_the_same_as_load() {
    let text =
        "[thing]\nname = \"Lamp\"\nversion = \"1.0.0\"\n\n[attributes.level]\ntype = \"int\"\n";
    let error = safething_codegen::load_str("lamp.toml", text).unwrap_err();
    let d = error.errors().next().unwrap();
    assert_eq!((d.line, d.col), (6, 8));
    assert_eq!(d.rule, Some(safething_ir::Rule::WrongType));
    assert_eq!(d.help.as_deref(), Some("did you mean `integer`?"));
    assert_eq!(
        d.to_string(),
        "lamp.toml:6:8: error[wrong-type]: unknown type `int`"
    );
    assert!(error.render(true).contains('\x1b'));
}

#[test]
fn warnings_do_not_fail_a_load() {
    let loaded = safething_codegen::load_str(
        "empty.toml",
        "[thing]\nname = \"Lamp\"\nversion = \"1.0.0\"\n",
    )
    .unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert_eq!(
        loaded.warnings[0].rule,
        Some(safething_ir::Rule::EmptyThing)
    );
    assert!(
        loaded
            .render_warnings(false)
            .starts_with("empty.toml:1:2: warning[empty-thing]")
    );
}

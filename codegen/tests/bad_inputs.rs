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

#[test]
fn attack_oversized_source_is_refused_before_parsing() {
    // Over 1 MiB: refused by its length, located at the start of the file.
    let text = format!(
        "[thing]\nname = \"Lamp\"\nversion = \"1.0.0\"\ndescription = \"{}\"\n",
        "x".repeat(1 << 20)
    );
    let error = safething_codegen::load_str("big.toml", &text).unwrap_err();
    let d = error.errors().next().unwrap();
    assert_eq!(d.rule, Some(safething_ir::Rule::LimitExceeded));
    assert_eq!(
        d.to_string(),
        format!(
            "big.toml:1:1: error[limit-exceeded]: the file has {} bytes, more than the limit of \
             1048576 (limit `bytes`)",
            text.len()
        )
    );
    // From a file, the same error without reading the file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.toml");
    std::fs::write(&path, &text).unwrap();
    let error = safething_codegen::load(&path).unwrap_err();
    let d = error.errors().next().unwrap();
    assert_eq!(d.rule, Some(safething_ir::Rule::LimitExceeded));
    assert_eq!((d.line, d.col), (1, 1));
}

#[test]
fn attack_deeply_nested_toml_is_an_error_not_a_stack_overflow() {
    // Inline tables nested far beyond the TOML parser's recursion limit (80), and then as deep
    // as the parser allows: errors either way, on a small stack.
    for depth in [100_000, 70] {
        let mut text =
            String::from("[thing]\nname = \"Lamp\"\nversion = \"1.0.0\"\n\n[attributes.deep]\n");
        text.push_str("type = \"array\"\nitems = ");
        for _ in 0..depth {
            text.push_str("{ type = \"array\", items = ");
        }
        text.push_str("{ type = \"integer\" }");
        text.push_str(&" }".repeat(depth));
        text.push('\n');
        let errors = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let error = safething_codegen::load_str("deep.toml", &text).unwrap_err();
                error
                    .errors()
                    .map(|d| (d.rule, d.to_string()))
                    .collect::<Vec<_>>()
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(!errors.is_empty(), "depth {depth}");
        if depth == 70 {
            assert_eq!(
                errors[0].0,
                Some(safething_ir::Rule::LimitExceeded),
                "{errors:?}"
            );
            assert!(errors[0].1.starts_with("deep.toml:5:13: "), "{errors:?}");
            assert!(errors[0].1.contains("(limit `depth`)"), "{errors:?}");
        }
    }
}

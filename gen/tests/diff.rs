//! `safething-gen diff` end to end: findings on stdout, exit statuses 0/1/2, `--json`.

#[path = "../../codegen/tests/common/mod.rs"]
mod common;

use std::process::{Command, Output};

use common::root;

const HISTORY: &str = "codegen/tests/fixtures/history";

fn diff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_safething-gen"))
        .arg("diff")
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn history(file: &str) -> String {
    format!("{HISTORY}/{file}.toml")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_breaking_change_without_a_major_bump_exits_1() {
    let new = history("gardening_device@1.1.0");
    let out = diff(&[&history("gardening_device@1.0.0"), &new]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!(
            "{new}:63:137: error[input-required-field-added]: the input of action `open_valve` \
             has a new required property `seconds`"
        )),
        "{text}"
    );
    assert!(text.contains("error[output-enum-value-added]"), "{text}");
    assert!(
        text.trim_end().ends_with(
            "3 breaking changes, 0 warnings; 1.0.0 -> 1.1.0 is not a major version bump \
             (breaking changes need 2.0.0)"
        ),
        "{text}"
    );
}

#[test]
fn a_breaking_change_with_a_major_bump_exits_0_and_says_so() {
    let out = diff(&[&history("thermostat@0.1.0"), &history("thermostat@0.2.0")]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("error[output-enum-value-added]"), "{text}");
    assert!(text.contains("warning[access-loosened]"), "{text}");
    assert!(text.contains("which covers them"), "{text}");
}

#[test]
fn a_compatible_change_exits_0() {
    let out = diff(&[&history("printer@2.0.0"), &history("printer@2.1.0")]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.trim_end()
            .ends_with("0 breaking changes, 1 warning; 2.0.0 -> 2.1.0 is compatible"),
        "{text}"
    );
}

#[test]
fn usage_errors_and_bad_files_exit_2() {
    let good = history("printer@2.0.0");
    // A missing argument, an unknown flag.
    assert_eq!(diff(&[&good]).status.code(), Some(2));
    assert_eq!(diff(&[&good, &good, "--bogus"]).status.code(), Some(2));
    // A file that cannot be read.
    let out = diff(&[&good, "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no/such/file.toml"),
        "{}",
        stderr(&out)
    );
    // An invalid definition: its diagnostics, located.
    let bad = "codegen/tests/bad/unknown_ref.toml";
    let out = diff(&[bad, &good, "--color", "never"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("{bad}:")),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("error[unknown-ref]"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn json_is_a_machine_readable_report() {
    let new = history("gardening_device@1.1.0");
    let out = diff(&[&history("gardening_device@1.0.0"), &new, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["old"]["version"], "1.0.0");
    assert_eq!(v["new"]["version"], "1.1.0");
    assert_eq!(v["new"]["file"], new.as_str());
    assert_eq!(v["breaking"], true);
    assert_eq!(v["major_bump"], false);
    assert_eq!(v["fails"], true);
    assert_eq!(v["errors"], 3);
    assert_eq!(v["warnings"], 0);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    let f = findings
        .iter()
        .find(|f| f["rule"] == "input-range-narrowed")
        .unwrap();
    assert_eq!(f["category"], "wire");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["path"], "actions.open_valve.input.properties.psi.maximum");
    assert_eq!(f["file"], new.as_str());
    assert_eq!(f["line"], 63);
    assert!(f["column"].as_u64().is_some());
    // Compatible: exit 0, still JSON.
    let out = diff(&[
        &history("printer@2.0.0"),
        &history("printer@2.1.0"),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fails"], false);
}

#[test]
fn colour_follows_the_color_flag() {
    let args = [
        history("gardening_device@1.0.0"),
        history("gardening_device@1.1.0"),
    ];
    let plain = diff(&[&args[0], &args[1], "--color", "never"]);
    assert!(!stdout(&plain).contains('\x1b'));
    let coloured = diff(&[&args[0], &args[1], "--color", "always"]);
    assert!(stdout(&coloured).contains('\x1b'));
    // Not a terminal: no colour by default.
    assert!(!stdout(&diff(&[&args[0], &args[1]])).contains('\x1b'));
}

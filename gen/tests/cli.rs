//! `safething-gen` end to end: exit codes, located errors, output files.

#[path = "../../codegen/tests/common/mod.rs"]
mod common;

use std::process::{Command, Output};

use common::{root, toml_files};

fn gen_cmd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_safething-gen"))
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_accepts_every_example() {
    let files = toml_files("examples/things");
    let mut args = vec!["check"];
    args.extend(files.iter().map(String::as_str));
    let out = gen_cmd(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn check_rejects_each_bad_file_with_its_location() {
    for file in toml_files("codegen/tests/bad") {
        let out = gen_cmd(&["check", "--color", "never", &file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{file}:\n{err}");
        let located = format!("{file}:");
        let has_location = err.lines().any(|l| {
            l.strip_prefix(&located).is_some_and(|rest| {
                let mut parts = rest.splitn(3, ':');
                let line = parts.next().unwrap_or("");
                let col = parts.next().unwrap_or("");
                !line.is_empty()
                    && line.bytes().all(|b| b.is_ascii_digit())
                    && !col.is_empty()
                    && col.bytes().all(|b| b.is_ascii_digit())
            })
        });
        assert!(has_location, "{file}: no file:line:col in\n{err}");
        assert!(!err.contains('\x1b'), "{file}: colour with --color never");
    }
}

#[test]
fn check_reports_every_error_of_every_file() {
    let out = gen_cmd(&[
        "check",
        "codegen/tests/bad/many_errors.toml",
        "examples/things/printer.toml",
        "codegen/tests/bad/unknown_ref.toml",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("codegen/tests/bad/many_errors.toml:"))
            .count(),
        6,
        "{err}"
    );
    assert!(err.contains("codegen/tests/bad/unknown_ref.toml:10:7: error[unknown-ref]"));
    assert!(
        err.contains("2 definitions invalid: 7 errors, 0 warnings"),
        "{err}"
    );
}

#[test]
fn colour_is_on_request_only() {
    let out = gen_cmd(&[
        "check",
        "--color",
        "always",
        "codegen/tests/bad/unknown_ref.toml",
    ]);
    assert!(stderr(&out).contains('\x1b'));
    // Not a terminal: `auto` means no colour.
    let out = gen_cmd(&["check", "codegen/tests/bad/unknown_ref.toml"]);
    assert!(!stderr(&out).contains('\x1b'));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["check"],
        &["frobnicate"],
        &["check", "--bogus", "x.toml"],
        &["schema", "examples/things/printer.toml"],
        &["td", "examples/things/printer.toml"],
        &["td", "examples/things/printer.toml", "--id", "a/b"],
        &["td", "examples/things/printer.toml", "--id", "urn:x:a b"],
        // A URI whose last part is no thing id, and no --thing-id.
        &["td", "examples/things/printer.toml", "--id", "urn:dev:x"],
        &[
            "td",
            "examples/things/printer.toml",
            "--id",
            "lamp-01",
            "--thing-id",
            "lamp-02",
        ],
        &[
            "td",
            "examples/things/printer.toml",
            "--id",
            "lamp-01",
            "--public-key",
            "stnotakey",
        ],
        &["import", "x.td.json"],
        &["import", "x.td.json", "-o", "d", "--access", "everyone"],
        &["import", "x.td.json", "-o", "d", "--placeholder", "NOVALUE"],
        &["tm"],
        &["check", "--color", "sometimes", "x.toml"],
    ] {
        let out = gen_cmd(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn help_is_there_for_every_subcommand() {
    for sub in ["check", "rust", "docs", "schema", "td", "tm", "import"] {
        let out = gen_cmd(&[sub, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: safething-gen"), "{sub}: {text}");
        assert!(text.contains("Example:"), "{sub}: {text}");
    }
}

#[test]
fn schema_writes_one_file_per_definition_only_when_changed() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out_arg = out_dir.to_str().unwrap();
    let files = toml_files("examples/things");
    let mut args = vec!["schema"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["-o", out_arg]);
    let out = gen_cmd(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut written: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "gardening_controller.schema.json",
            "gardening_device.schema.json",
            "printer.schema.json",
            "thermostat.schema.json"
        ]
    );
    let path = out_dir.join("printer.schema.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("}\n"));
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = gen_cmd(&args);
    assert_eq!(again.status.code(), Some(0));
    assert!(stderr(&again).contains("unchanged"));
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn schema_writes_nothing_when_a_definition_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let out_arg = dir.path().to_str().unwrap();
    let out = gen_cmd(&[
        "schema",
        "examples/things/printer.toml",
        "codegen/tests/bad/unknown_ref.toml",
        "-o",
        out_arg,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn td_and_tm_print_json_or_write_it() {
    let td = gen_cmd(&[
        "td",
        "examples/things/gardening_device.toml",
        "--id",
        "garden-01",
    ]);
    assert_eq!(td.status.code(), Some(0), "{}", stderr(&td));
    let value: serde_json::Value = serde_json::from_slice(&td.stdout).unwrap();
    assert!(value.is_object());
    assert!(td.stdout.ends_with(b"}\n"));

    let tm = gen_cmd(&["tm", "examples/things/gardening_device.toml"]);
    assert_eq!(tm.status.code(), Some(0), "{}", stderr(&tm));
    let again = gen_cmd(&["tm", "examples/things/gardening_device.toml"]);
    assert_eq!(tm.stdout, again.stdout, "output is deterministic");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tm.json");
    let out = gen_cmd(&[
        "tm",
        "examples/things/gardening_device.toml",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), tm.stdout);
}

#[test]
fn td_pins_the_public_key_in_every_security_definition() {
    let key = format!("st{}", "a".repeat(52));
    let out = gen_cmd(&[
        "td",
        "examples/things/printer.toml",
        "--id",
        "printer-01",
        "--public-key",
        &key,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let td: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(td["safething:publicKey"], key.as_str());
    let definitions = td["securityDefinitions"].as_object().unwrap();
    assert!(!definitions.is_empty());
    for definition in definitions.values() {
        assert_eq!(definition["safething:thingKey"], key.as_str());
    }
}

#[test]
fn td_and_tm_reject_invalid_definitions() {
    let out = gen_cmd(&["tm", "codegen/tests/bad/unknown_ref.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let out = gen_cmd(&[
        "td",
        "codegen/tests/bad/empty_file.toml",
        "--id",
        "garden-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_missing_file_is_invalid_input() {
    let out = gen_cmd(&["check", "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no/such/file.toml: error: cannot read the file"));
}

#[test]
fn rust_writes_one_module_per_definition_only_when_changed() {
    let dir = tempfile::tempdir().unwrap();
    let out_arg = dir.path().to_str().unwrap();
    let files = toml_files("examples/things");
    let mut args = vec!["rust"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["-o", out_arg]);
    let out = gen_cmd(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "gardening_controller.rs",
            "gardening_device.rs",
            "printer.rs",
            "thermostat.rs"
        ]
    );
    let text = std::fs::read_to_string(dir.path().join("printer.rs")).unwrap();
    assert!(text.starts_with("// @generated by safething-gen. Do not edit.\n"));
    let again = gen_cmd(&args);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(stderr(&again).matches("unchanged").count(), 4);

    let bad = gen_cmd(&["rust", "codegen/tests/bad/unknown_ref.toml", "-o", out_arg]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("codegen/tests/bad/unknown_ref.toml:"));
}

#[test]
fn the_cli_writes_only_changes_and_documents_itself() {
    let bin = env!("CARGO_BIN_EXE_safething-gen");
    let out = tempfile::tempdir().unwrap();
    let run = || {
        Command::new(bin)
            .current_dir(root())
            .args([
                "ts",
                "examples/things/gardening_device.toml",
                "examples/things/thermostat.toml",
                "-o",
            ])
            .arg(out.path())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(out.path().join("gardening_device.ts").is_file());
    assert!(out.path().join("safething/client.ts").is_file());
    let second = run();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!stderr.contains("wrote"), "{stderr}");
    assert!(stderr.contains("unchanged"), "{stderr}");

    let help = Command::new(bin).args(["ts", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("TypeScript") && help.contains("tsconfig.json"),
        "{help}"
    );

    let bad = Command::new(bin)
        .current_dir(root())
        .args(["ts", "codegen/tests/bad/does-not-exist.toml", "-o"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let usage = Command::new(bin)
        .args(["ts", "examples/things/gardening_device.toml"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2), "missing -o is a usage error");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    for args in [
        &["td", "--id", "thermo-01", "examples/things/thermostat.toml"][..],
        &["tm", "examples/things/thermostat.toml"],
    ] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        // The reader is gone before safething-gen writes: the write fails with EPIPE.
        drop(reader);
        let output = Command::new(env!("CARGO_BIN_EXE_safething-gen"))
            .args(args)
            .current_dir(root())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("safething-gen runs");
        let stderr = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn docs_writes_one_reference_per_definition_only_when_changed() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("reference");
    let out_arg = out_dir.to_str().unwrap();
    let files = toml_files("examples/things");
    let mut args = vec!["docs"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["-o", out_arg]);
    let out = gen_cmd(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut written: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "gardening_controller.md",
            "gardening_device.md",
            "printer.md",
            "thermostat.md"
        ]
    );
    let text = std::fs::read_to_string(out_dir.join("thermostat.md")).unwrap();
    assert!(text.contains("# Thermostat: Room thermostat\n"));
    assert!(text.contains("safething get ID temperature --history\n"));
    let again = gen_cmd(&args);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(stderr(&again).matches("unchanged").count(), 4);
    assert_eq!(stderr(&again).matches("wrote").count(), 0);
}

#[test]
fn docs_rejects_an_invalid_definition_with_its_location_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_arg = dir.path().to_str().unwrap();
    let out = gen_cmd(&[
        "docs",
        "--color",
        "never",
        "examples/things/printer.toml",
        "codegen/tests/bad/unknown_ref.toml",
        "-o",
        out_arg,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("codegen/tests/bad/unknown_ref.toml:10:7: error[unknown-ref]"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn td_takes_a_uri_id_a_thing_id_a_base_and_a_tm_link() {
    let td = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["td", "examples/things/thermostat.toml"];
        all.extend(args);
        let out = gen_cmd(&all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // A thing id: the TD id is derived from it.
    let doc = td(&["--id", "thermo-01"]);
    assert_eq!(doc["id"], "urn:safething:thing:thermo-01");
    assert_eq!(doc["base"], "safething://thermo-01/");
    // A URI: the thing id is its last part, or --thing-id.
    let doc = td(&["--id", "urn:dev:ops:32473-Thermo-1234"]);
    assert_eq!(doc["id"], "urn:dev:ops:32473-Thermo-1234");
    assert_eq!(doc["base"], "safething://32473-Thermo-1234/");
    let doc = td(&[
        "--id",
        "urn:dev:ops:32473-Thermo-1234",
        "--thing-id",
        "thermo-01",
        "--base",
        "https://gw.example/things/thermo-01/",
        "--tm-href",
        "https://models.example/thermostat.tm.json",
    ]);
    assert_eq!(doc["id"], "urn:dev:ops:32473-Thermo-1234");
    assert_eq!(doc["base"], "https://gw.example/things/thermo-01/");
    assert_eq!(
        doc["links"],
        serde_json::json!([{"rel": "type", "href": "https://models.example/thermostat.tm.json",
            "type": "application/tm+json"}])
    );
    // Only --thing-id.
    let doc = td(&["--thing-id", "thermo-01"]);
    assert_eq!(doc["id"], "urn:safething:thing:thermo-01");
    // Units are QUDT IRIs; WoT names are used.
    assert_eq!(doc["properties"]["temperature"]["unit"], "qudt:DEG_C");
    assert!(doc["properties"].get("targetTemp").is_some());
}

#[test]
fn import_writes_a_definition_that_checks_and_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let tm = dir.path().join("lamp.tm.json");
    std::fs::write(
        &tm,
        r#"{"@context": ["https://www.w3.org/2022/wot/td/v1.1"], "@type": "tm:ThingModel",
            "title": "Lamp {{N}}", "properties": {"onOff": {"type": "boolean",
            "maximum": 1, "readOnly": false}, "level": {"type": "integer", "maximum": "{{MAX}}"}}}"#,
    )
    .unwrap();
    let values = dir.path().join("values.json");
    std::fs::write(&values, r#"{"MAX": 100}"#).unwrap();
    let out_dir = dir.path().join("out");
    let tm = tm.to_str().unwrap();
    let out = out_dir.to_str().unwrap();
    // `maximum` on a boolean: the definition does not check; nothing is written.
    let bad = gen_cmd(&[
        "import",
        tm,
        "-o",
        out,
        "--placeholder",
        "N=1",
        "--placeholders",
        values.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("#/properties/onOff/maximum (attributes.on_off.maximum)"),
        "{}",
        stderr(&bad)
    );
    assert!(!out_dir.exists());

    std::fs::write(
        dir.path().join("lamp.tm.json"),
        r#"{"@context": ["https://www.w3.org/2022/wot/td/v1.1"], "@type": "tm:ThingModel",
            "title": "Lamp {{N}}", "properties": {"onOff": {"type": "boolean"},
            "level": {"type": "integer", "maximum": "{{MAX}}"}}}"#,
    )
    .unwrap();
    // A missing placeholder is named.
    let missing = gen_cmd(&["import", tm, "-o", out]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("`{{N}}`"), "{}", stderr(&missing));
    assert!(!out_dir.exists());

    let ok = gen_cmd(&[
        "import",
        tm,
        "-o",
        out,
        "--access",
        "group",
        "--placeholder",
        "N=1",
        "--placeholders",
        values.to_str().unwrap(),
    ]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let written = out_dir.join("lamp1.toml");
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(text.starts_with("# Imported from `lamp.tm.json`"), "{text}");
    assert!(
        text.contains("wot_name = \"onOff\"") && text.contains("access = \"group\""),
        "{text}"
    );
    assert!(text.contains("maximum = 100"), "{text}");
    let check = gen_cmd(&["check", written.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
}

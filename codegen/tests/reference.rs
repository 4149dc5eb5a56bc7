//! The Markdown reference (`safething-gen docs`): a snapshot per example thing, determinism,
//! and table cells that survive `|` and line breaks in descriptions.
//!
//! Review snapshot changes with `INSTA_UPDATE=always cargo test -p safething-codegen
//! --all-features --test reference` and `git diff`.

mod common;

use common::{root, toml_files};

fn load(file: &str) -> safething_ir::CheckedDefinition {
    safething_codegen::load(root().join(file))
        .unwrap()
        .definition
}

#[test]
fn every_example_has_a_reference_snapshot() {
    for file in toml_files("examples/things") {
        let definition = load(&file);
        let text = safething_codegen::reference::generate(&definition).unwrap();
        let name = safething_codegen::reference::file_name(&definition);
        insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(format!("docs@{name}"), text);
        });
    }
}

/// Tagged unions say which property tells their alternatives apart, and each alternative its
/// value.
#[test]
fn tagged_unions_name_their_tag() {
    let definition = load("codegen/tests/fixtures/unions.toml");
    let text = safething_codegen::reference::generate(&definition).unwrap();
    assert!(
        text.contains("A tagged union: `mode` tells the alternatives apart."),
        "{text}"
    );
    assert!(
        text.contains("Alternative 2, `mode` = `\"manual\"`: `ManualCalibration`"),
        "{text}"
    );
    assert!(text.contains("Alternative 1, `kind` = `1`:"), "{text}");
    // Not tagged: no tag.
    assert!(text.contains("Alternative 1: number (Ppm)."), "{text}");
    insta::with_settings!({ prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!("docs@co2_sensor.md", text);
    });
}

#[test]
fn the_reference_is_deterministic() {
    let definition = load("examples/things/gardening_device.toml");
    let first = safething_codegen::reference::generate(&definition).unwrap();
    let second = safething_codegen::reference::generate(&definition).unwrap();
    assert_eq!(first, second);
}

/// The rows of the Markdown table whose header starts with `header`.
fn table_rows<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with(header))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect()
}

/// The cells of a row, split at unescaped `|`.
fn cells(row: &str) -> usize {
    let mut count: usize = 0;
    let mut previous = ' ';
    for c in row.chars() {
        if c == '|' && previous != '\\' {
            count += 1;
        }
        previous = c;
    }
    count.saturating_sub(1)
}

#[test]
fn pipes_and_line_breaks_in_descriptions_stay_in_their_cells() {
    let source = r#"
[thing]
name = "Tricky"
version = "1.0.0"

[attributes.level]
type = "number"
description = "left | right\nsecond line\n\nthird | line"
access = "group"

[events.alarm]
description = "a|b\nc"
access = "group"

[actions.run]
description = "x | y\nz"
input = { type = "object", properties.mode = { type = "string", description = "p|q\nr" } }
access = "group"
"#;
    let loaded = safething_codegen::load_str("tricky.toml", source).unwrap();
    let text = safething_codegen::reference::generate(&loaded.definition).unwrap();
    for (header, columns) in [
        ("| Name | Type | Unit", 9),
        ("| Name | Data |", 4),
        ("| Name | Input |", 6),
        ("| Property |", 6),
    ] {
        let rows = table_rows(&text, header);
        assert_eq!(rows.len(), 1, "{header}:\n{text}");
        for row in rows {
            assert_eq!(cells(row), columns, "{row}");
        }
    }
    assert!(text.contains("left \\| right<br>second line<br><br>third \\| line"));
}

/// The method names in a reference's code blocks of `language` (`name.method(`).
fn methods_in(text: &str, language: &str) -> Vec<String> {
    let fence = format!("```{language}");
    let mut inside = false;
    let mut methods = Vec::new();
    for line in text.lines() {
        if line == fence {
            inside = true;
        } else if line == "```" {
            inside = false;
        } else if inside {
            let call = line
                .split_once('.')
                .and_then(|(_, rest)| rest.split_once('('))
                .map(|(method, _)| method.to_owned());
            methods.extend(call);
        }
    }
    methods
}

#[test]
fn the_reference_names_the_methods_the_generators_write() {
    let mut files = toml_files("examples/things");
    files.extend(toml_files("codegen/tests/fixtures"));
    files.extend(toml_files("codegen/tests/fixtures-ts"));
    for file in files {
        let definition = load(&file);
        let text = safething_codegen::reference::generate(&definition).unwrap();
        let rust = safething_codegen::rust::generate(&definition).unwrap();
        let ts = safething_codegen::ts::generate(&definition).unwrap();
        let rust_methods = methods_in(&text, "rust");
        assert!(!rust_methods.is_empty(), "{file}");
        for m in rust_methods {
            assert!(
                rust.contains(&format!("pub fn {m}("))
                    || rust.contains(&format!("pub async fn {m}(")),
                "{file}: the Rust client has no method `{m}`"
            );
        }
        let ts_methods = methods_in(&text, "ts");
        assert!(!ts_methods.is_empty(), "{file}");
        for m in ts_methods {
            assert!(
                ts.contains(&format!("\n  {m}(")),
                "{file}: the TypeScript client has no method `{m}`"
            );
        }
    }
}

/// The reference shows how to connect with a name no affordance takes: `X::connect` is the
/// attribute or action `connect` when the thing has one, so it says
/// `<X as ThingClient>::connect` then.
#[test]
fn the_connect_example_is_the_frameworks_even_when_an_affordance_is_called_connect() {
    let plain =
        safething_codegen::reference::generate(&load("examples/things/thermostat.toml")).unwrap();
    assert!(plain.contains("`ThermostatClient::connect(&client, \"ID\").await?`"));
    for (file, client) in [
        ("codegen/tests/fixtures/door_lock.toml", "DoorLockClient"),
        (
            "codegen/tests/fixtures/switchboard.toml",
            "SwitchboardClient",
        ),
    ] {
        let text = safething_codegen::reference::generate(&load(file)).unwrap();
        let qualified = format!("`<{client} as ThingClient>::connect(&client, \"ID\").await?`");
        assert!(text.contains(&qualified), "{file}");
    }
}

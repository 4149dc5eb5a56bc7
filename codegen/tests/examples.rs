//! The example definitions: they load cleanly, match the format's JSON Schema, and together
//! use every key of the definition format.

mod common;

use std::collections::BTreeSet;

use common::{root, toml_files};
use serde_json::Value;

#[test]
fn every_example_loads_without_problems() {
    for file in toml_files("examples/things") {
        match safething_codegen::load(root().join(&file)) {
            Ok(loaded) => assert!(
                loaded.warnings.is_empty(),
                "{file} has warnings:\n{}",
                loaded.render_warnings(false)
            ),
            Err(e) => panic!("{file} does not load:\n{}", e.render(false)),
        }
    }
}

fn to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

fn parse(file: &str) -> toml::Table {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    toml::from_str(&text).unwrap()
}

#[test]
fn every_example_matches_the_format_schema() {
    let schema = safething_ir::definition_format_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for file in toml_files("examples/things") {
        let instance = to_json(&toml::Value::Table(parse(&file)));
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{file}: {errors:#?}");
    }
}

#[test]
fn the_format_schema_rejects_unknown_keys_in_bad_files() {
    let schema = safething_ir::definition_format_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for file in [
        "codegen/tests/bad/unknown_key_attribute.toml",
        "codegen/tests/bad/unknown_key_event.toml",
        "codegen/tests/bad/unknown_key_nested.toml",
        "codegen/tests/bad/unknown_key_thing.toml",
    ] {
        let instance = to_json(&toml::Value::Table(parse(file)));
        assert!(!validator.is_valid(&instance), "{file} should be rejected");
    }
}

/// Keys used in the examples, by kind of table: (table kind, key).
fn collect(t: &toml::Table, kind: &'static str, out: &mut BTreeSet<(&'static str, String)>) {
    for (key, value) in t {
        out.insert((kind, key.clone()));
        let table = value.as_table();
        match (kind, key.as_str()) {
            ("root", "thing") => collect(table.unwrap(), "thing", out),
            ("root", "types") => named(table.unwrap(), "schema", out),
            ("root", "attributes") => named(table.unwrap(), "attribute", out),
            ("root", "events") => named(table.unwrap(), "event", out),
            ("root", "actions") => named(table.unwrap(), "action", out),
            (_, "properties") => named(table.unwrap(), "schema", out),
            (_, "items" | "data" | "input" | "output") => collect(table.unwrap(), "schema", out),
            (_, "oneOf") => {
                for alternative in value.as_array().unwrap() {
                    collect(alternative.as_table().unwrap(), "schema", out);
                }
            }
            _ => {}
        }
    }
}

fn named(t: &toml::Table, kind: &'static str, out: &mut BTreeSet<(&'static str, String)>) {
    for value in t.values() {
        collect(value.as_table().unwrap(), kind, out);
    }
}

#[test]
fn the_examples_use_every_key_of_the_format() {
    let mut used = BTreeSet::new();
    for file in toml_files("examples/things") {
        collect(&parse(&file), "root", &mut used);
    }
    // The definition format's keywords, as the IR spells them for both front ends.
    use safething_ir::keywords;
    let mut expected: Vec<(&str, &str)> = Vec::new();
    expected.extend(keywords::ROOT.map(|k| ("root", k)));
    expected.extend(keywords::THING.map(|k| ("thing", k)));
    expected.extend(keywords::ATTRIBUTE.map(|k| ("attribute", k)));
    expected.extend(keywords::EVENT.map(|k| ("event", k)));
    expected.extend(keywords::ACTION.map(|k| ("action", k)));
    // Schema keywords may appear in attributes (flattened) or in any schema.
    let schema_used: BTreeSet<&str> = used
        .iter()
        .filter(|(kind, _)| matches!(*kind, "schema" | "attribute"))
        .map(|(_, k)| k.as_str())
        .collect();
    let mut missing: Vec<String> = expected
        .iter()
        .filter(|(kind, key)| !used.contains(&(*kind, (*key).to_owned())))
        .map(|(kind, key)| format!("{kind}.{key}"))
        .collect();
    missing.extend(
        keywords::SCHEMA
            .iter()
            .filter(|k| !schema_used.contains(*k))
            .map(|k| format!("schema.{k}")),
    );
    assert!(missing.is_empty(), "no example uses: {missing:?}");
    // Every access type and both attribute kinds appear too.
    let texts: String = toml_files("examples/things")
        .iter()
        .map(|f| std::fs::read_to_string(root().join(f)).unwrap())
        .collect();
    for needle in [
        "access = \"all\"",
        "access = \"group\"",
        "access = \"owner\"",
        "kind = \"static\"",
    ] {
        assert!(texts.contains(needle), "no example has {needle}");
    }
}

/// The hand-written lowering agrees with serde's reading of the same file through the IR's
/// own `Deserialize` (which uses the format's key names): no key is lowered into the wrong field.
#[test]
fn lowering_agrees_with_serde() {
    for file in toml_files("examples/things") {
        let text = std::fs::read_to_string(root().join(&file)).unwrap();
        let by_serde: safething_ir::Definition = toml::from_str(&text).unwrap();
        let lowered = safething_codegen::load_str(&file, &text)
            .unwrap()
            .definition;
        assert_eq!(lowered.definition(), &by_serde, "{file}");
    }
}

/// Every prefix of a valid file (a file cut anywhere) loads or fails with rendered errors,
/// but never panics.
#[test]
fn truncated_files_never_panic() {
    let text = std::fs::read_to_string(root().join("examples/things/printer.toml")).unwrap();
    for (cut, _) in text.char_indices().step_by(3) {
        if let Err(e) = safething_codegen::load_str("cut.toml", &text[..cut]) {
            assert!(e.errors().count() > 0);
            assert!(!e.render(false).is_empty());
        }
    }
}

/// The definitions shown in `README.md` (its `toml` blocks with a `[thing]` table) load without
/// errors or warnings, so the documented format is the accepted one.
#[test]
fn readme_definitions_load_without_problems() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match current.as_mut() {
            None if line.trim_start() == "```toml" => current = Some(String::new()),
            None => {}
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    let definitions: Vec<&String> = blocks.iter().filter(|b| b.contains("[thing]")).collect();
    assert!(!definitions.is_empty(), "README.md shows no definition");
    for (i, source) in definitions.iter().enumerate() {
        let name = format!("README.md, definition {}", i + 1);
        match safething_codegen::load_str(&name, source) {
            Ok(loaded) => assert!(
                loaded.warnings.is_empty(),
                "{name} has warnings:\n{}",
                loaded.render_warnings(false)
            ),
            Err(e) => panic!("{name} does not load:\n{}", e.render(false)),
        }
    }
}

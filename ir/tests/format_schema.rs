//! The checked-in `schemas/thing-definition.schema.json` is exactly what the IR generates.
//! Run with `SAFETHING_BLESS=1` to rewrite it after changing the IR.

use std::path::PathBuf;

use safething_ir::definition_format_schema;

fn checked_in() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas/thing-definition.schema.json")
}

#[test]
fn checked_in_schema_is_up_to_date() {
    let mut generated = serde_json::to_string_pretty(&definition_format_schema()).unwrap();
    generated.push('\n');
    let path = checked_in();
    if std::env::var_os("SAFETHING_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is out of date; regenerate it with `SAFETHING_BLESS=1 cargo test -p safething-ir --test format_schema`",
        path.display()
    );
}

fn accepts(instance: serde_json::Value) -> bool {
    let validator = jsonschema::validator_for(&definition_format_schema()).unwrap();
    validator.is_valid(&instance)
}

#[test]
fn accepts_a_definition_and_rejects_unknown_keys_everywhere() {
    use serde_json::json;
    let good = json!({
        "thing": {"name": "Lamp", "version": "1.0.0"},
        "types": {"Level": {"type": "integer", "minimum": 0}},
        "attributes": {"level": {"ref": "Level", "history": 10, "access": "group"}},
        "events": {"on": {"data": {"type": "boolean"}}},
        "actions": {"toggle": {"timeout": "1s", "safe": false}},
    });
    assert!(accepts(good.clone()));
    for (pointer, key) in [
        ("", "extra"),
        ("/thing", "owner"),
        ("/types/Level", "maximun"),
        ("/attributes/level", "maximun"),
        ("/events/on", "history"),
        ("/events/on/data", "writable"),
        ("/actions/toggle", "retries"),
    ] {
        let mut bad = good.clone();
        bad.pointer_mut(pointer)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert(key.into(), json!(1));
        assert!(!accepts(bad), "`{key}` at `{pointer}` should be rejected");
    }
}

#[test]
fn lists_only_the_four_access_types() {
    use serde_json::json;
    let with = |access: &str| {
        json!({
            "thing": {"name": "Lamp", "version": "1.0.0"},
            "actions": {"toggle": {"access": access}},
        })
    };
    for ok in ["all", "group", "owner", "thing"] {
        assert!(accepts(with(ok)), "{ok}");
    }
    assert!(!accepts(with("everyone")));
    let text = serde_json::to_string(&definition_format_schema()).unwrap();
    assert!(!text.contains("Unknown"));
}

//! `import` of W3C WoT Thing Descriptions and Thing Models: the official samples
//! (`tests/conformance/`), Thing Model composition, names, data schemas, and the round trip
//! `td` → `import` of every example.
//!
//! Every sample that imports is also written to `codegen/tests/imported/` (checked in;
//! `SAFETHING_BLESS=1` rewrites it), which `tests/generated` compiles under `deny(warnings)`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{root, toml_files};
use safething_codegen::export::{self, TdOptions};
use safething_codegen::import::{ImportError, ImportOptions, Imported, import_file, snake_name};
use safething_ir::{Access, Definition, ThingId};
use serde_json::{Value, json};

fn options() -> ImportOptions {
    ImportOptions::default()
}

fn write(dir: &Path, name: &str, doc: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    path
}

fn import_json(doc: Value) -> Result<Imported, ImportError> {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "thing.td.json", &doc);
    import_file(&path, &options())
}

fn td(properties: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "title": "Lamp",
        "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
        "security": "nosec_sc",
        "properties": properties,
    })
}

fn error(doc: Value) -> String {
    match import_json(doc) {
        Ok(i) => panic!("imported:\n{}", i.toml),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The official samples

/// Placeholder values for the samples that need them.
fn sample_placeholders(name: &str) -> BTreeMap<String, Value> {
    if !name.contains("placeholder") {
        return BTreeMap::new();
    }
    [
        ("THERMOSTAT_NUMBER", json!("3")),
        ("VERSION_INFO", json!("1.2.0")),
        ("MQTT_BROKER_ADDRESS", json!("broker.example")),
        ("THERMOSTAT_TEMPERATURE_MAXIMUM", json!("45")),
        ("THERMOSTAT_TEMPERATURE_OBSERVABLE", json!("true")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[test]
fn conformance_samples_import_or_fail_with_a_clear_reason() {
    let root = root();
    let imported_dir = root.join("codegen/tests/imported");
    let bless = std::env::var_os("SAFETHING_BLESS").is_some();
    let mut outcomes = String::new();
    let mut expected_files = BTreeMap::new();
    for dir in ["td", "tm"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("tests/conformance").join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let options = ImportOptions {
                placeholders: sample_placeholders(&name),
                ..ImportOptions::default()
            };
            let line = match import_file(&path, &options) {
                Ok(imported) => {
                    let def = &imported.definition;
                    // It checks, and generates Rust (compiled in tests/generated).
                    let checked = def.clone().checked().unwrap();
                    safething_codegen::rust::generate(&checked).unwrap();
                    // Its own TD imports back into the same definition.
                    let again = tempfile::tempdir().unwrap();
                    let td = export::thing_description(
                        def,
                        &ThingId::new("sample-1").unwrap(),
                        &TdOptions::default(),
                    );
                    let td_path = write(again.path(), "again.td.json", &td);
                    let back = import_file(&td_path, &ImportOptions::default())
                        .unwrap_or_else(|e| panic!("{name}: re-import: {e}"));
                    assert_eq!(&back.definition, def, "{name}: re-import");
                    let base = name.split(".td.").next().unwrap();
                    let stem = snake_name(base.split(".tm.").next().unwrap()).unwrap();
                    expected_files.insert(format!("{stem}.toml"), imported.toml.clone());
                    format!(
                        "ok: {} ({} attributes, {} actions, {} events)",
                        def.thing.name,
                        def.attributes.len(),
                        def.actions.len(),
                        def.events.len()
                    )
                }
                Err(e) => {
                    let text = e.to_string();
                    assert!(
                        text.contains('#')
                            || text.contains("placeholder")
                            || text.contains("invalid")
                            || text.contains("cannot read"),
                        "{name}: the reason names no place: {text}"
                    );
                    format!(
                        "error: {}",
                        text.replace(&format!("{}/", root.display()), "")
                    )
                }
            };
            outcomes.push_str(&format!("{dir}/{name}\n  {line}\n"));
        }
    }
    insta::assert_snapshot!("conformance_outcomes", outcomes);

    // The imported definitions are checked in, for tests/generated to compile.
    if bless {
        let _ = std::fs::remove_dir_all(&imported_dir);
        std::fs::create_dir_all(&imported_dir).unwrap();
        for (file, text) in &expected_files {
            std::fs::write(imported_dir.join(file), text).unwrap();
        }
    }
    let present: BTreeMap<String, String> = std::fs::read_dir(&imported_dir)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(&p).unwrap())
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        present == expected_files,
        "codegen/tests/imported/ is out of date: run \
         `SAFETHING_BLESS=1 cargo test -p safething-codegen --test wot_import`"
    );
    for file in toml_files("codegen/tests/imported") {
        safething_codegen::load(root.join(&file)).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Round trip

/// The definition without what a TD leaves out: affordances only the thing itself may use.
fn public_part(def: &Definition) -> Definition {
    let mut def = def.clone();
    def.attributes.retain(|_, a| a.access != Access::Thing);
    def.events.retain(|_, e| e.access != Access::Thing);
    def.actions.retain(|_, a| a.access != Access::Thing);
    def
}

#[test]
fn every_example_round_trips_through_td_and_tm() {
    let dir = tempfile::tempdir().unwrap();
    let id = ThingId::new("example-1").unwrap();
    for file in toml_files("examples/things") {
        let loaded = safething_codegen::load(root().join(&file)).unwrap();
        let def = loaded.definition.definition();
        let expected = public_part(def);
        let options = TdOptions {
            id: Some("urn:dev:ops:32473-Example-1".into()),
            ..TdOptions::default()
        };
        for (what, doc) in [
            ("td", export::thing_description(def, &id, &options)),
            ("tm", export::thing_model(def)),
        ] {
            let path = write(dir.path(), &format!("{what}.json"), &doc);
            let imported = import_file(&path, &options_default())
                .unwrap_or_else(|e| panic!("{file} {what}: {e}"));
            assert_eq!(imported.definition, expected, "{file} {what}");
        }
    }
}

fn options_default() -> ImportOptions {
    options()
}

#[test]
fn imported_names_export_as_the_original_names() {
    let doc = json!({
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "title": "My Lamp",
        "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
        "security": "nosec_sc",
        "properties": {
            "onOff": {"type": "boolean"},
            "PowerState": {"type": "object", "properties": {
                "rgb-value": {"type": "integer"}, "levelPercent": {"type": "number"}},
                "required": ["rgb-value"]},
        },
        "actions": {"fadeIn": {"input": {"type": "integer"}}},
        "events": {"overHeated": {"data": {"type": "number"}}},
    });
    let imported = import_json(doc).unwrap();
    let def = &imported.definition;
    assert_eq!(def.thing.name, "MyLamp");
    assert_eq!(def.attributes["on_off"].wot_name.as_deref(), Some("onOff"));
    let power = &def.attributes["power_state"];
    assert_eq!(power.wot_name.as_deref(), Some("PowerState"));
    assert_eq!(
        power.schema.properties["rgb_value"].wot_name.as_deref(),
        Some("rgb-value")
    );
    assert_eq!(power.schema.required, ["rgb_value"]);
    assert_eq!(def.actions["fade_in"].wot_name.as_deref(), Some("fadeIn"));
    assert_eq!(
        def.events["over_heated"].wot_name.as_deref(),
        Some("overHeated")
    );
    assert!(
        imported.toml.contains("wot_name = \"onOff\""),
        "{}",
        imported.toml
    );

    // Export gives the original names back.
    let td =
        export::thing_description(def, &ThingId::new("lamp-1").unwrap(), &TdOptions::default());
    let keys = |section: &str| -> Vec<String> {
        td[section].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(keys("properties"), ["PowerState", "onOff"]);
    assert_eq!(keys("actions"), ["fadeIn"]);
    assert_eq!(keys("events"), ["overHeated"]);
    let members = td["properties"]["PowerState"]["properties"]
        .as_object()
        .unwrap();
    assert!(members.contains_key("rgb-value") && members.contains_key("levelPercent"));
    assert_eq!(
        td["properties"]["PowerState"]["required"],
        json!(["rgb-value"])
    );
}

#[test]
fn names_that_collide_after_conversion_are_an_error_naming_both() {
    let err = error(td(
        json!({"onOff": {"type": "boolean"}, "on_off": {"type": "boolean"}}),
    ));
    assert!(
        err.contains("`on_off` and `onOff` both become `on_off`")
            || err.contains("`onOff` and `on_off` both become `on_off`"),
        "{err}"
    );
    assert!(err.contains("#/properties"), "{err}");
    let err = error(td(json!({"p": {"type": "object", "properties": {
        "a-b": {"type": "integer"}, "aB": {"type": "integer"}}}})));
    assert!(err.contains("both become `a_b`"), "{err}");
    assert!(err.contains("#/properties/p/properties"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Data schemas

#[test]
fn data_schemas_keep_every_keyword_the_format_has() {
    let doc = json!({
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "title": "Sensor",
        "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
        "security": "nosec_sc",
        "schemaDefinitions": {"color-mode": {"type": "string", "enum": ["rgb", "hsv"]}},
        "properties": {
            "temperature": {"type": "number", "unit": "qudt:DEG_C", "minimum": -40,
                "maximum": 125, "multipleOf": 0.5, "readOnly": true, "observable": true},
            "label": {"type": "string", "format": "hostname", "default": "x",
                "minLength": 1, "maxLength": 20, "pattern": "^[a-z]+$"},
            "model": {"type": "string", "const": "S1", "readOnly": true},
            "secret": {"type": "string", "writeOnly": true},
            "maybe": {"oneOf": [{"type": "integer"}, {"type": "null"}]},
            "matrix": {"type": "array", "minItems": 1, "items": {"type": "array",
                "items": {"type": "object", "properties": {"v": {"type": "number"}}}}},
            "level": {"enum": ["low", "high"]},
        },
    });
    let imported = import_json(doc).unwrap();
    let def = &imported.definition;
    assert!(def.types.contains_key("ColorMode"));
    let t = &def.attributes["temperature"];
    assert_eq!(t.schema.unit.as_deref(), Some("celsius"));
    assert!(!t.writable);
    assert_eq!(
        t.schema.multiple_of,
        Some(serde_json::Number::from_f64(0.5).unwrap())
    );
    let label = &def.attributes["label"];
    assert!(label.writable);
    assert_eq!(label.schema.format.as_deref(), Some("hostname"));
    assert_eq!(label.schema.default, Some(json!("x")));
    let model = &def.attributes["model"];
    assert_eq!(model.kind, safething_ir::AttributeKind::Static);
    assert_eq!(model.value, Some(json!("S1")));
    let secret = &def.attributes["secret"];
    assert!(secret.writable);
    assert_eq!(secret.schema.write_only, Some(true));
    assert_eq!(
        def.attributes["maybe"].schema.one_of.as_ref().map(Vec::len),
        Some(2)
    );
    assert!(def.attributes["matrix"].schema.items.is_some());
    // Generates Rust.
    let checked = def.clone().checked().unwrap();
    safething_codegen::rust::generate(&checked).unwrap();
}

#[test]
fn unsupported_schemas_are_errors_naming_the_json_pointer() {
    let cases = [
        (
            json!({"p": {"type": "object", "properties": {"a": {"type": "string"}},
                "additionalProperties": {"type": "string"}}}),
            "#/properties/p/additionalProperties: `additionalProperties` next to `properties`",
        ),
        (
            json!({"p": {"type": "object", "additionalProperties": 3}}),
            "#/properties/p/additionalProperties: `additionalProperties` is neither",
        ),
        (
            json!({"p": {"type": "array", "items": [{"type": "string"}, {"type": "number"}]}}),
            "#/properties/p/items: tuple `items`",
        ),
        (
            json!({"p": {"type": "string", "enum": ["a", null]}}),
            "#/properties/p/enum/1: `null`",
        ),
        (
            json!({"p": {"anyOf": [{"type": "string"}]}}),
            "#/properties/p/anyOf: the data schema keyword `anyOf` is not supported",
        ),
    ];
    for (properties, expected) in cases {
        let err = error(td(properties));
        assert!(err.contains(expected), "expected {expected:?} in {err}");
    }
}

#[test]
fn action_uri_variables_become_optional_input_properties() {
    let doc = json!({
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "title": "Fan",
        "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
        "security": "nosec_sc",
        "uriVariables": {"unit": {"type": "string"}},
        "properties": {"speed": {"type": "integer", "uriVariables": {"unit": {"type": "string"}}}},
        "actions": {
            "spin": {"uriVariables": {"rpmTarget": {"type": "integer"}}},
            "fade": {"input": {"type": "object", "properties": {"to": {"type": "number"}},
                "required": ["to"]}, "uriVariables": {"step": {"type": "number"}}},
            "blink": {"input": {"type": "integer"}, "uriVariables": {"n": {"type": "integer"}}},
        },
    });
    let imported = import_json(doc).unwrap();
    let def = &imported.definition;
    let spin = def.actions["spin"].input.as_ref().unwrap();
    assert_eq!(
        spin.properties["rpm_target"].wot_name.as_deref(),
        Some("rpmTarget")
    );
    assert!(spin.required.is_empty());
    let fade = def.actions["fade"].input.as_ref().unwrap();
    assert!(fade.properties.contains_key("step") && fade.required == ["to"]);
    // Not mappable: dropped with a note, as are the property's and the thing's.
    assert!(
        def.actions["blink"]
            .input
            .as_ref()
            .unwrap()
            .properties
            .is_empty()
    );
    let notes = imported.notes.join("\n");
    for pointer in [
        "/actions/blink/uriVariables",
        "/properties/speed/uriVariables",
        "`/uriVariables`",
    ] {
        assert!(notes.contains(pointer), "{pointer} not in {notes}");
    }
}

#[test]
fn access_comes_from_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "t.td.json",
        &td(json!({"on": {"type": "boolean"}})),
    );
    let options = ImportOptions {
        access: Access::Group,
        ..ImportOptions::default()
    };
    let imported = import_file(&path, &options).unwrap();
    assert_eq!(imported.definition.attributes["on"].access, Access::Group);
    assert!(imported.toml.contains("access = \"group\""));
    assert!(imported.toml.starts_with("# Imported from `t.td.json`"));
    assert!(
        imported.toml.contains("dropped security"),
        "{}",
        imported.toml
    );
}

// ---------------------------------------------------------------------------------------------
// Thing Model composition

fn tm(extra: Value) -> Value {
    let mut doc = json!({
        "@context": ["https://www.w3.org/2022/wot/td/v1.1"],
        "@type": "tm:ThingModel",
        "title": "Model",
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
}

#[test]
fn placeholders_take_values_and_a_missing_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "t.tm.json",
        &tm(json!({
            "title": "Thermostat {{NUMBER}}",
            "base": "mqtt://{{BROKER}}",
            "properties": {"temp": {"type": "number", "maximum": "{{MAX}}"}},
        })),
    );
    let err = import_file(&path, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`{{MAX}}`") && err.contains("`{{NUMBER}}`"),
        "{err}"
    );
    // `base` is dropped: its placeholder needs no value.
    assert!(!err.contains("BROKER"), "{err}");
    let options = ImportOptions {
        placeholders: [("NUMBER", json!("7")), ("MAX", json!("30"))]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        ..ImportOptions::default()
    };
    let def = import_file(&path, &options).unwrap().definition;
    assert_eq!(def.thing.name, "Thermostat7");
    assert_eq!(def.attributes["temp"].schema.maximum, Some(30.into()));
}

#[test]
fn extends_ref_and_submodel_resolve_over_local_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    write(
        dir.path(),
        "lib/base.tm.json",
        &tm(json!({
            "title": "Base",
            "properties": {
                "onOff": {"type": "boolean", "description": "base"},
                "level": {"type": "integer", "minimum": 0, "maximum": 100},
            },
        })),
    );
    write(
        dir.path(),
        "lib/fan.tm.json",
        &tm(json!({"title": "Fan", "actions": {"spin": {}}})),
    );
    let path = write(
        dir.path(),
        "lamp.tm.json",
        &tm(json!({
            "title": "Lamp",
            "links": [
                {"rel": "tm:extends", "href": "./lib/base.tm.json", "type": "application/tm+json"},
                {"rel": "tm:submodel", "href": "lib/fan.tm.json", "instanceName": "fan"},
            ],
            "tm:optional": ["/properties/dim"],
            "properties": {
                "onOff": {"description": "mine"},
                "dim": {"tm:ref": "lib/base.tm.json#/properties/level", "maximum": 50},
            },
        })),
    );
    let imported = import_file(&path, &options()).unwrap();
    let def = &imported.definition;
    assert_eq!(def.thing.name, "Lamp");
    let on = &def.attributes["on_off"].schema;
    assert_eq!(on.description.as_deref(), Some("mine"));
    assert_eq!(on.ty, Some(safething_ir::SchemaType::Boolean));
    let dim = &def.attributes["dim"].schema;
    assert_eq!(
        (dim.minimum.clone(), dim.maximum.clone()),
        (Some(0.into()), Some(50.into()))
    );
    assert!(def.attributes.contains_key("level"));
    assert!(def.actions.contains_key("fan_spin"));
    let notes = imported.notes.join("\n");
    assert!(
        notes.contains("tm:optional") && notes.contains("/properties/dim"),
        "{notes}"
    );
    assert!(
        notes.contains("extends") && notes.contains("submodel `fan`"),
        "{notes}"
    );
}

#[test]
fn attack_extends_cycle_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let link = |href: &str| {
        json!({"links": [{"rel": "tm:extends", "href": href}],
        "properties": {"x": {"type": "boolean"}}})
    };
    write(dir.path(), "a.tm.json", &tm(link("b.tm.json")));
    write(dir.path(), "b.tm.json", &tm(link("a.tm.json")));
    let err = import_file(&dir.path().join("a.tm.json"), &options()).unwrap_err();
    assert!(matches!(err, ImportError::Cycle { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("a.tm.json -> ") && text.contains("b.tm.json"),
        "{text}"
    );
}

#[test]
fn attack_ref_cycle_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "r.tm.json",
        &tm(json!({"properties": {
            "a": {"tm:ref": "#/properties/b"},
            "b": {"tm:ref": "#/properties/a"},
        }})),
    );
    let err = import_file(&path, &options()).unwrap_err();
    assert!(matches!(err, ImportError::Cycle { .. }), "{err}");
}

#[test]
fn attack_remote_href_is_never_fetched() {
    for (href_key, doc) in [
        (
            "/links/0/href",
            tm(json!({"links": [{"rel": "tm:extends", "href": "http://127.0.0.1:9/x.tm.json"}]})),
        ),
        (
            "/properties/p/tm:ref",
            tm(
                json!({"properties": {"p": {"tm:ref": "https://example.com/m.tm.json#/properties/q"}}}),
            ),
        ),
    ] {
        let err = import_json(doc).unwrap_err();
        assert!(matches!(err, ImportError::Network { .. }), "{err}");
        assert!(err.to_string().contains(href_key), "{err}");
    }
}

#[test]
fn a_missing_local_model_is_an_error_naming_the_file() {
    let err = import_json(tm(
        json!({"links": [{"rel": "tm:extends", "href": "nope.tm.json"}]}),
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("nope.tm.json"), "{err}");
    assert!(err.contains("#/links/0/href: cannot read"), "{err}");
    let err = import_json(tm(
        json!({"properties": {"p": {"tm:ref": "gone.tm.json#/x"}}}),
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("#/properties/p/tm:ref: cannot read") && err.contains("gone.tm.json"),
        "{err}"
    );
}

#[test]
fn attack_endless_extends_chain_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        let next = format!("m{}.tm.json", i + 1);
        write(
            dir.path(),
            &format!("m{i}.tm.json"),
            &tm(json!({"links": [{"rel": "tm:extends", "href": next}]})),
        );
    }
    write(
        dir.path(),
        "m40.tm.json",
        &tm(json!({"properties": {"x": {"type": "boolean"}}})),
    );
    let err = import_file(&dir.path().join("m0.tm.json"), &options()).unwrap_err();
    assert!(matches!(err, ImportError::TooDeep { .. }), "{err}");
}

#[test]
fn attack_text_cannot_inject_toml() {
    // Titles, descriptions, placeholder values and enum values are data, never TOML.
    let evil = "x\"\n[actions.evil]\nsafe = true\n#\u{7f}'''\\";
    let doc = json!({
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "title": "Evil",
        "description": evil,
        "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
        "security": "nosec_sc",
        "properties": {
            "p": {"type": "string", "title": evil, "enum": [evil], "default": evil,
                "unit": evil},
        },
    });
    let imported = import_json(doc).unwrap();
    let def = &imported.definition;
    assert!(def.actions.is_empty());
    assert_eq!(def.thing.description.as_deref(), Some(evil));
    assert_eq!(def.attributes["p"].schema.default, Some(json!(evil)));
    // What was written loads back as exactly that (import_file checks it too).
    let loaded = safething_codegen::load_str("x.toml", &imported.toml).unwrap();
    assert_eq!(loaded.definition.definition(), def);
}

#[test]
fn open_maps_import_generate_validate_and_export() {
    let doc = td(json!({
        "rooms": {"type": "object", "readOnly": true,
            "additionalProperties": {"type": "number", "minimum": -50}},
        "zones": {"type": "object", "readOnly": true, "additionalProperties": {
            "type": "object", "properties": {"on": {"type": "boolean"}}, "required": ["on"]}},
    }));
    let imported = import_json(doc).unwrap();
    let def = &imported.definition;
    assert!(def.attributes["rooms"].schema.is_map());
    assert!(
        imported
            .toml
            .contains("additionalProperties = { type = \"number\", minimum = -50 }"),
        "{}",
        imported.toml
    );

    // Rust: BTreeMap<String, T>, a struct for object values; TypeScript: Record<string, T>.
    let checked = def.clone().checked().unwrap();
    let rust = safething_codegen::rust::generate(&checked).unwrap();
    assert!(
        rust.contains("::std::collections::BTreeMap<::std::string::String, f64>"),
        "{rust}"
    );
    assert!(rust.contains("pub struct ZonesValue"), "{rust}");
    #[cfg(feature = "ts")]
    {
        let ts = safething_codegen::ts::generate(&checked).unwrap();
        assert!(ts.contains("Record<string, number>"), "{ts}");
        assert!(ts.contains("Record<string, ZonesValue>"), "{ts}");
        let reference = safething_codegen::reference::generate(&checked).unwrap();
        assert!(reference.contains("map of number"), "{reference}");
    }

    // Values: any member names, each checked against the value schema.
    let schemas = def.payload_schemas();
    let rooms = &schemas.attributes["rooms"];
    assert!(rooms.accepts(&json!({"kitchen": 21.5, "hall": -3})));
    assert!(rooms.accepts(&json!({})));
    assert!(!rooms.accepts(&json!({"kitchen": "warm"})));
    assert!(!rooms.accepts(&json!({"freezer": -60})));
    let zones = &schemas.attributes["zones"];
    assert!(zones.accepts(&json!({"a": {"on": true}})));
    assert!(!zones.accepts(&json!({"a": {"on": true, "extra": 1}})));

    // JSON Schema and TD export say the same.
    let schema = export::json_schema(def);
    assert_eq!(
        schema["$defs"]["attribute.rooms"]["additionalProperties"],
        json!({"type": "number", "minimum": -50})
    );
    let td =
        export::thing_description(def, &ThingId::new("lamp-1").unwrap(), &TdOptions::default());
    assert_eq!(
        td["properties"]["rooms"]["additionalProperties"],
        json!({"type": "number", "minimum": -50})
    );
}

#[test]
fn schemas_without_type_and_objects_without_properties_take_any_value() {
    let doc = td(json!({
        "anything": {"description": "no type"},
        "bag": {"type": "object"},
        "open": {"type": "object", "additionalProperties": true},
        "closed": {"type": "object", "additionalProperties": false},
    }));
    let imported = import_json(doc).unwrap();
    let def = &imported.definition;
    assert!(def.attributes["anything"].schema.any_value);
    assert!(
        imported.toml.contains("anyValue = true"),
        "{}",
        imported.toml
    );
    for name in ["bag", "open"] {
        let s = &def.attributes[name].schema;
        assert!(
            s.is_map() && s.additional_properties.as_ref().unwrap().any_value,
            "{name}"
        );
    }
    // `additionalProperties: false` without properties: the empty object, closed.
    assert!(!def.attributes["closed"].schema.is_map());
    let schemas = def.payload_schemas();
    for v in [json!(1), json!("x"), json!(null), json!([1, {"a": 2}])] {
        assert!(schemas.attributes["anything"].accepts(&v), "{v}");
    }
    assert!(schemas.attributes["bag"].accepts(&json!({"a": [1], "b": null})));
    assert!(!schemas.attributes["bag"].accepts(&json!([1])));
    assert!(!schemas.attributes["closed"].accepts(&json!({"a": 1})));
    let checked = def.clone().checked().unwrap();
    let rust = safething_codegen::rust::generate(&checked).unwrap();
    assert!(
        rust.split_whitespace().collect::<String>().contains(
            "::std::collections::BTreeMap<::std::string::String,::safething::__private::serde_json::Value,>"
        ),
        "{rust}"
    );
    // Export: no `type`, as it came.
    let td =
        export::thing_description(def, &ThingId::new("lamp-1").unwrap(), &TdOptions::default());
    assert!(td["properties"]["anything"].get("type").is_none());
    assert!(td["properties"]["anything"].get("anyValue").is_none());
    assert_eq!(
        export::json_schema(def)["$defs"]["attribute.anything"],
        json!({"description": "no type"})
    );
}

#[test]
fn check_rejects_any_value_with_a_type() {
    let text = r#"
[thing]
name = "T"
version = "1.0.0"

[attributes.x]
type = "integer"
anyValue = true
"#;
    let err = safething_codegen::load_str("t.toml", text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`anyValue` cannot be combined with `type`"),
        "{err}"
    );
}

#[test]
fn check_rejects_an_object_that_is_both_a_struct_and_a_map() {
    let text = r#"
[thing]
name = "T"
version = "1.0.0"

[attributes.x]
type = "object"
properties.a = { type = "integer" }
additionalProperties = { type = "string" }
"#;
    let err = safething_codegen::load_str("t.toml", text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`additionalProperties` cannot be combined with `properties`"),
        "{err}"
    );
    let text = text
        .replace("type = \"object\"", "type = \"string\"")
        .replace("properties.a = { type = \"integer\" }\n", "");
    let err = safething_codegen::load_str("t.toml", &text)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`additionalProperties` does not apply to type `string`"),
        "{err}"
    );
}

//! Tests of `safething_ir::export`: JSON Schema against the 2020-12 meta-schema and against
//! the runtime's own value checks, TDs and TMs against the official W3C schemas (Rust
//! `jsonschema` and the Python `tests/conformance/validate.py`), and snapshots.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use insta::assert_json_snapshot;
use safething_ir::export::{self, TdOptions};
use safething_ir::{Definition, ThingId};
use serde_json::{Value, json};

const FIXTURES: [&str; 2] = ["gardening", "every_keyword"];

fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture definition; it must validate without a single diagnostic.
fn fixture(name: &str) -> Definition {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{name}.json"));
    let def: Definition = serde_json::from_value(read_json(&path))
        .unwrap_or_else(|e| panic!("{name}.json is not a definition: {e}"));
    let diagnostics = def.validate();
    assert!(diagnostics.is_empty(), "{name}.json: {diagnostics:#?}");
    def
}

fn thing_id() -> ThingId {
    ThingId::new("garden-01").expect("valid id")
}

fn td(def: &Definition) -> Value {
    export::thing_description(def, &thing_id(), &TdOptions::default())
}

// ---------------------------------------------------------------------------------------------
// Official WoT schemas, Rust side

fn draft7(path: &Path) -> jsonschema::Validator {
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&read_json(path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

static TD_SCHEMA: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| draft7(&conformance().join("schema/td-json-schema-validation.json")));
static TM_SCHEMA: LazyLock<jsonschema::Validator> =
    LazyLock::new(|| draft7(&conformance().join("schema/tm-json-schema-validation.json")));

/// As validate.py does: the TM schema when `@type` is or contains `tm:ThingModel`.
fn is_thing_model(doc: &Value) -> bool {
    match doc.get("@type") {
        Some(Value::String(t)) => t == "tm:ThingModel",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "tm:ThingModel"),
        _ => false,
    }
}

/// Errors of `doc` against the official TD or TM schema.
fn wot_errors(doc: &Value) -> Vec<String> {
    let validator = if is_thing_model(doc) {
        &*TM_SCHEMA
    } else {
        &*TD_SCHEMA
    };
    validator
        .iter_errors(doc)
        .map(|e| format!("at '{}': {e}", e.instance_path()))
        .collect()
}

/// Rules the JSON Schemas cannot check (the playground's "semantic" ones) that apply to us.
fn semantic_errors(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let defined = doc["securityDefinitions"].as_object();
    let mut check = |names: &Value, at: String| {
        let names: Vec<&Value> = match names {
            Value::Array(a) => a.iter().collect(),
            Value::Null => Vec::new(),
            one => vec![one],
        };
        for name in names {
            let known = name
                .as_str()
                .is_some_and(|n| defined.is_some_and(|d| d.contains_key(n)));
            if !known {
                errors.push(format!(
                    "{at}: security {name} is not in securityDefinitions"
                ));
            }
        }
    };
    check(&doc["security"], "/security".into());
    for section in ["properties", "actions", "events"] {
        for (name, affordance) in doc[section].as_object().into_iter().flatten() {
            for (i, form) in affordance["forms"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                check(&form["security"], format!("/{section}/{name}/forms/{i}"));
            }
        }
    }
    let type_links = doc["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["rel"] == "type")
        .count();
    if type_links > 1 {
        errors.push(format!("{type_links} links with rel \"type\"; at most one"));
    }
    errors
}

fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(conformance().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no files in {dir}");
    files
}

#[test]
fn official_samples_pass_the_rust_check_and_invalid_ones_fail() {
    for path in files_in("td").into_iter().chain(files_in("tm")) {
        let errors = wot_errors(&read_json(&path));
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
    for path in files_in("td-invalid") {
        assert!(
            !wot_errors(&read_json(&path)).is_empty(),
            "{} passed but is invalid",
            path.display()
        );
    }
    // Semantic fixtures pass the schemas; the two rules we check catch theirs.
    for path in files_in("semantic-invalid") {
        let doc = read_json(&path);
        assert!(wot_errors(&doc).is_empty(), "{}", path.display());
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.contains("invalidSecuMatch") || name.contains("multipleRelType") {
            assert!(!semantic_errors(&doc).is_empty(), "{name}");
        }
    }
}

#[test]
fn thing_descriptions_and_models_pass_the_official_schemas() {
    for name in FIXTURES {
        let def = fixture(name);
        let options = TdOptions {
            id: Some("urn:dev:ops:32473-WoTLamp-1234".into()),
            base: Some("https://gateway.example/things/garden-01/".into()),
            public_key: Some("ed25519:3vQB7B6MrGQZaxCuFg4oh".into()),
            title: Some("Greenhouse 3".into()),
            description: Some("The one by the door".into()),
            instance_version: Some("7".into()),
            created: Some("2025-01-31T12:00:00Z".into()),
            modified: Some("2025-02-01T08:30:00+01:00".into()),
            thing_model: Some("https://models.example/gardening-1.0.0.tm.jsonld".into()),
        };
        let docs = [
            ("td", td(&def)),
            (
                "td with options",
                export::thing_description(&def, &thing_id(), &options),
            ),
            ("tm", export::thing_model(&def)),
        ];
        for (what, doc) in docs {
            assert_eq!(is_thing_model(&doc), what == "tm");
            let errors = wot_errors(&doc);
            assert!(errors.is_empty(), "{name} {what}: {errors:#?}");
            let errors = semantic_errors(&doc);
            assert!(errors.is_empty(), "{name} {what}: {errors:#?}");
        }
    }
}

#[test]
fn format_checks_are_on() {
    // The Rust validator checks `format` (date-time on created), as validate.py does.
    let options = TdOptions {
        created: Some("yesterday".into()),
        ..TdOptions::default()
    };
    let doc = export::thing_description(&fixture("gardening"), &thing_id(), &options);
    let errors = wot_errors(&doc);
    assert!(
        errors.iter().any(|e| e.contains("date-time")),
        "{errors:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Official WoT schemas, Python side (the validator the W3C and Thingweb tooling use)

const PIP: &str =
    "pip install -r tests/conformance/requirements.txt (scripts/test does it in a venv)";

/// The Python that runs validate.py: `$SAFETHING_PYTHON` (set by scripts/test) or `python3`.
fn python() -> String {
    std::env::var("SAFETHING_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Runs validate.py; fails the test (never skips) when Python or its modules are missing.
fn validate_py(files: &[PathBuf]) -> (bool, String) {
    let probe = Command::new(python())
        .args([
            "-c",
            "import jsonschema, rfc3339_validator\n\
             try:\n    import rfc3986_validator\n\
             except ImportError:\n    import rfc3987",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}); install Python 3, then: {PIP}",
                python()
            )
        });
    assert!(
        probe.status.success(),
        "{} lacks modules validate.py needs; run: {PIP}\n{}",
        python(),
        String::from_utf8_lossy(&probe.stderr)
    );
    let out = Command::new(python())
        .arg(conformance().join("validate.py"))
        .args(files)
        .output()
        .expect("run validate.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn exports_pass_validate_py() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wot-export");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let mut files = Vec::new();
    for name in FIXTURES {
        let def = fixture(name);
        for (suffix, doc) in [("td", td(&def)), ("tm", export::thing_model(&def))] {
            let path = dir.join(format!("{name}.{suffix}.json"));
            let text = serde_json::to_string_pretty(&doc).expect("serialize");
            std::fs::write(&path, text).expect("write export");
            files.push(path);
        }
    }
    let (ok, output) = validate_py(&files);
    assert!(ok, "validate.py rejected an export:\n{output}");
    assert_eq!(
        output.lines().filter(|l| l.ends_with(": ok")).count(),
        files.len(),
        "{output}"
    );

    // Not vacuous: the same run rejects a known-invalid TD and TM.
    let invalid = [
        conformance().join("td-invalid/playground-core-invalid_noHref.td.json"),
        conformance().join("td-invalid/w3c-td-validation-tests_invalidTMs-01.tm.jsonld"),
    ];
    let (ok, output) = validate_py(&invalid);
    assert!(!ok, "{output}");
    assert_eq!(output.matches("FAIL").count(), 2, "{output}");
}

// ---------------------------------------------------------------------------------------------
// JSON Schema export

#[test]
fn json_schemas_are_valid_draft_2020_12() {
    for name in FIXTURES {
        let schema = export::json_schema(&fixture(name));
        assert_eq!(schema["$schema"], export::JSON_SCHEMA_DIALECT);
        // The meta-schemas ship inside the crate: this needs no network.
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            panic!(
                "{name}: not a valid 2020-12 schema: {e} at {}",
                e.instance_path()
            );
        }
        jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|e| panic!("{name}: schema does not compile: {e}"));
    }
    // And the meta-schema check does reject a broken schema.
    assert!(jsonschema::draft202012::meta::validate(&json!({"type": "integr"})).is_err());
}

/// Where a sample payload goes.
#[derive(Clone, Copy, Debug)]
enum At {
    Attribute(&'static str),
    Event(&'static str),
    Input(&'static str),
    Output(&'static str),
}

/// A payload and the keyword it violates (`None`: valid), in the runtime's spelling
/// (`Violation::keyword`).
type Sample = (At, Value, Option<&'static str>);

fn gardening_samples() -> Vec<Sample> {
    use At::*;
    vec![
        (Attribute("moisture_level"), json!(42), None),
        (Attribute("moisture_level"), json!(42.5), None),
        (Attribute("moisture_level"), json!(0), None),
        (Attribute("moisture_level"), json!(-1), Some("minimum")),
        (Attribute("moisture_level"), json!(100.5), Some("maximum")),
        (Attribute("moisture_level"), json!("42"), Some("type")),
        (Attribute("valve_state"), json!("open"), None),
        (Attribute("valve_state"), json!("ajar"), Some("enum")),
        (Attribute("firmware"), json!("v0.1.0"), None),
        (Attribute("firmware"), json!(1), Some("type")),
        (Attribute("target_level"), json!(35), None),
        (Attribute("target_level"), json!(null), Some("type")),
        (Event("very_dry_alarm"), json!({"level": 12}), None),
        (
            Event("very_dry_alarm"),
            json!({"level": 12, "at": "2025-01-31T12:00:00Z"}),
            None,
        ),
        // `format` is an annotation, for the runtime as for JSON Schema 2020-12.
        (
            Event("very_dry_alarm"),
            json!({"level": 1, "at": "soon"}),
            None,
        ),
        (Event("very_dry_alarm"), json!({}), Some("required")),
        (
            Event("very_dry_alarm"),
            json!({"at": "2025-01-31T12:00:00Z"}),
            Some("required"),
        ),
        (
            Event("very_dry_alarm"),
            json!({"level": 12, "extra": 1}),
            Some("properties"),
        ),
        (
            Event("very_dry_alarm"),
            json!({"level": 120}),
            Some("maximum"),
        ),
        (Event("very_dry_alarm"), json!(12), Some("type")),
        (Input("open_valve"), json!({"psi": 60}), None),
        (Input("open_valve"), json!({"psi": 60.0}), None),
        (Input("open_valve"), json!({"psi": 121}), Some("maximum")),
        (Input("open_valve"), json!({"psi": 1.5}), Some("type")),
        (Input("open_valve"), json!({}), Some("required")),
        (
            Input("open_valve"),
            json!({"psi": 1, "force": true}),
            Some("properties"),
        ),
        (Input("open_valve"), json!(null), Some("type")),
        (Output("open_valve"), json!("closed"), None),
        (Output("open_valve"), json!("broken"), Some("enum")),
        (Input("close_valve"), json!(null), None),
        (Input("close_valve"), json!({}), Some("type")),
        (Output("close_valve"), json!(null), None),
        (Output("close_valve"), json!(false), Some("type")),
    ]
}

fn every_keyword_samples() -> Vec<Sample> {
    use At::*;
    let sample = json!({"temperature": -3.5, "taken_at": "2025-01-31T06:00:00Z"});
    let eleven: Vec<Value> = std::iter::repeat_n(sample.clone(), 11).collect();
    vec![
        (Attribute("temperature"), json!(21.5), None),
        (Attribute("temperature"), json!(-80), None),
        (Attribute("temperature"), json!(21.3), Some("multipleOf")),
        (Attribute("temperature"), json!(60.5), Some("maximum")),
        (Attribute("temperature"), json!(-80.5), Some("minimum")),
        (Attribute("mode"), json!("eco"), None),
        (Attribute("mode"), json!("turbo"), Some("enum")),
        (Attribute("target"), json!("preset-3"), None),
        (Attribute("target"), json!({"celsius": 20}), None),
        (Attribute("target"), json!(null), None),
        (Attribute("target"), json!("preset-x"), Some("oneOf")),
        (Attribute("target"), json!({"celsius": 100}), Some("oneOf")),
        (
            Attribute("target"),
            json!({"celsius": 20, "x": 1}),
            Some("oneOf"),
        ),
        (Attribute("target"), json!(5), Some("oneOf")),
        (Attribute("recent"), json!([]), None),
        (Attribute("recent"), json!([sample]), None),
        (
            Attribute("recent"),
            json!([{"temperature": 1, "taken_at": "2025-01-31T06:00:00Z", "station": "roof", "humidity": 100}]),
            None,
        ),
        (
            Attribute("recent"),
            json!([{"temperature": 1}]),
            Some("required"),
        ),
        (Attribute("recent"), Value::Array(eleven), Some("maxItems")),
        (
            Attribute("recent"),
            json!([{"temperature": 1, "taken_at": "2025-01-31T06:00:00Z", "station": "cellar"}]),
            Some("const"),
        ),
        (
            Attribute("recent"),
            json!([{"temperature": 1, "taken_at": "2025-01-31T06:00:00Z", "humidity": 0}]),
            Some("exclusiveMinimum"),
        ),
        (
            Attribute("recent"),
            json!([{"temperature": 1, "taken_at": "2025-01-31T06:00:00Z", "humidity": 101}]),
            Some("exclusiveMaximum"),
        ),
        (Attribute("recent"), json!({}), Some("type")),
        (
            Attribute("model"),
            json!({"vendor": "Acme", "name": "WS-3"}),
            None,
        ),
        (
            Attribute("model"),
            json!({"vendor": "", "name": "WS-3"}),
            Some("minLength"),
        ),
        (
            Attribute("model"),
            json!({"vendor": "A".repeat(33), "name": "WS-3"}),
            Some("maxLength"),
        ),
        (
            Attribute("model"),
            json!({"vendor": "Acme", "name": "WS-3", "revision": 0}),
            Some("minimum"),
        ),
        (Attribute("online_since"), json!(true), None),
        (Attribute("online_since"), json!("true"), Some("type")),
        (Attribute("calibration"), json!(-0.25), None),
        (Attribute("calibration"), json!("x"), Some("type")),
        (Attribute("wifi_password"), json!("correct horse"), None),
        (
            Attribute("wifi_password"),
            json!("short"),
            Some("minLength"),
        ),
        // contentMediaType / contentEncoding / format are annotations, for the runtime too.
        (Attribute("snapshot"), json!("iVBORw0KGgo="), None),
        (Attribute("snapshot"), json!("%% not base64 %%"), None),
        (Attribute("heartbeat"), json!(null), None),
        (Attribute("heartbeat"), json!(0), Some("type")),
        (Attribute("tags"), json!(["indoor", "test"]), None),
        (Attribute("tags"), json!(["indoor", "garage"]), Some("enum")),
        (
            Attribute("tags"),
            json!(["test", "test", "test", "test"]),
            Some("maxItems"),
        ),
        (
            Event("frost_warning"),
            json!({"sample": sample, "severity": "high"}),
            None,
        ),
        (
            Event("frost_warning"),
            json!({"sample": sample, "severity": "mid"}),
            Some("enum"),
        ),
        (
            Event("frost_warning"),
            json!({"severity": "low"}),
            Some("required"),
        ),
        (Event("rebooted"), json!(null), None),
        (Event("rebooted"), json!({}), Some("type")),
        (Event("debug_trace"), json!("step 3"), None),
        (Event("mode_changed"), json!("boost"), None),
        (Event("mode_changed"), json!("eco "), Some("enum")),
        (Input("calibrate"), json!({"reference": 20}), None),
        (
            Input("calibrate"),
            json!({"reference": 20, "samples": 100}),
            None,
        ),
        (
            Input("calibrate"),
            json!({"reference": 20, "samples": 0}),
            Some("minimum"),
        ),
        (
            Input("calibrate"),
            json!({"reference": 20.25}),
            Some("multipleOf"),
        ),
        (Input("calibrate"), json!({"samples": 5}), Some("required")),
        (
            Output("calibrate"),
            json!({"offset": 0.1, "log": ["ok"]}),
            None,
        ),
        (
            Output("calibrate"),
            json!({"offset": 0.1, "log": [1]}),
            Some("type"),
        ),
        (Input("self_test"), json!(null), None),
        (Output("self_test"), json!(true), None),
        (Output("self_test"), json!("yes"), Some("type")),
        (Input("retarget"), json!("preset-12"), None),
        (Input("retarget"), json!({"celsius": 61}), Some("oneOf")),
        (Input("wipe"), json!(null), None),
        (Output("reboot"), json!(null), None),
        (Output("reboot"), json!("done"), Some("type")),
    ]
}

/// The sample wrapped in the root index document of the exported schema.
fn index_document(at: At, value: &Value) -> Value {
    match at {
        At::Attribute(n) => json!({"attributes": {n: value}}),
        At::Event(n) => json!({"events": {n: value}}),
        At::Input(n) => json!({"actions": {n: {"input": value}}}),
        At::Output(n) => json!({"actions": {n: {"output": value}}}),
    }
}

/// The runtime's verdict: `None` when valid, else the violated keyword.
fn runtime_check(def: &Definition, at: At, value: &Value) -> Option<&'static str> {
    let schemas = def.payload_schemas();
    let schema = match at {
        At::Attribute(n) => Some(&schemas.attributes[n]),
        At::Event(n) => schemas.events[n].as_ref(),
        At::Input(n) => schemas.inputs[n].as_ref(),
        At::Output(n) => schemas.outputs[n].as_ref(),
    };
    match schema {
        Some(s) => s.check(value).err().map(|e| e.violation.keyword()),
        // No payload declared: only `null` travels.
        None => (!value.is_null()).then_some("type"),
    }
}

#[test]
fn exported_json_schema_and_runtime_agree_on_samples() {
    for (name, samples) in [
        ("gardening", gardening_samples()),
        ("every_keyword", every_keyword_samples()),
    ] {
        let def = fixture(name);
        let schema = export::json_schema(&def);
        let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
        let mut covered = std::collections::BTreeSet::new();
        for (at, value, expected) in &samples {
            let runtime = runtime_check(&def, *at, value);
            assert_eq!(
                runtime, *expected,
                "{name} {at:?} {value}: the runtime says {runtime:?}"
            );
            let doc = index_document(*at, value);
            let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
            assert_eq!(
                errors.is_empty(),
                expected.is_none(),
                "{name} {at:?} {value}: JSON Schema says {errors:?}, expected {expected:?}"
            );
            covered.insert(format!("{at:?}").split('(').next().map(str::to_owned));
        }
        assert_eq!(
            covered.len(),
            4,
            "{name}: samples of every payload position"
        );
    }
    // The index document itself is closed at every level.
    let schema = export::json_schema(&fixture("gardening"));
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    for doc in [
        json!({"attributes": {"no_such": 1}}),
        json!({"actions": {"open_valve": {"progress": 1}}}),
        json!({"things": {}}),
    ] {
        assert!(!validator.is_valid(&doc), "{doc}");
    }
    assert!(validator.is_valid(&json!({})));
}

#[test]
fn every_payload_has_a_def_and_every_ref_resolves() {
    for name in FIXTURES {
        let def = fixture(name);
        let schema = export::json_schema(&def);
        let defs = schema["$defs"].as_object().expect("$defs");
        let mut expected: Vec<String> = def.types.keys().cloned().collect();
        expected.extend(def.attributes.keys().map(|n| format!("attribute.{n}")));
        expected.extend(def.events.keys().map(|n| format!("event.{n}")));
        for n in def.actions.keys() {
            expected.extend([format!("action.{n}.input"), format!("action.{n}.output")]);
        }
        expected.sort();
        let actual: Vec<String> = defs.keys().cloned().collect();
        assert_eq!(actual, expected, "{name}");

        let text = schema.to_string();
        for piece in text.split("\"$ref\":\"#/$defs/").skip(1) {
            let target = piece.split('"').next().unwrap_or_default();
            assert!(defs.contains_key(target), "{name}: dangling $ref {target}");
        }
    }
}

#[test]
fn thing_access_is_left_out_of_wot_exports_only() {
    let def = fixture("every_keyword");
    let schema = export::json_schema(&def);
    for doc in [td(&def), export::thing_model(&def)] {
        assert!(doc["properties"].get("calibration").is_none());
        assert!(doc["events"].get("debug_trace").is_none());
        assert!(doc["actions"].get("wipe").is_none());
        assert!(doc["properties"].get("temperature").is_some());
        let defs = doc["securityDefinitions"]
            .as_object()
            .expect("securityDefinitions");
        assert!(defs.keys().all(|k| k != "access_thing"), "{defs:?}");
    }
    assert!(schema["$defs"].get("attribute.calibration").is_some());
    assert!(schema["$defs"].get("event.debug_trace").is_some());
    assert!(schema["$defs"].get("action.wipe.input").is_some());
}

/// WoT consumers (node-wot, ...) check payloads against the inlined data schemas with a JSON
/// Schema validator: every valid sample must pass there too.
#[test]
fn valid_samples_pass_the_inlined_wot_data_schemas() {
    for (name, samples) in [
        ("gardening", gardening_samples()),
        ("every_keyword", every_keyword_samples()),
    ] {
        let def = fixture(name);
        let td = td(&def);
        for (at, value, expected) in samples {
            let schema = match at {
                At::Attribute(n)
                    if def.attributes[n]
                        .kind
                        .eq(&safething_ir::AttributeKind::Dynamic) =>
                {
                    &td["properties"][n]
                }
                At::Attribute(_) => continue,
                At::Event(n) => &td["events"][n]["data"],
                At::Input(n) => &td["actions"][n]["input"],
                At::Output(n) => &td["actions"][n]["output"],
            };
            if schema.is_null() || expected.is_some() {
                continue;
            }
            // `format` is an annotation to SAFEthing (a sample above has a malformed date-time);
            // consumers that assert formats are stricter there, by their choice.
            let validator = jsonschema::draft7::options()
                .should_validate_formats(false)
                .build(schema)
                .expect("data schema compiles");
            assert!(
                validator.is_valid(&value),
                "{name} {at:?} {value} against {schema}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TD / TM structure

/// A TD is its type's TM with the `{{THING_ID}}` placeholder filled in, plus the instance's
/// `id` and `version.instance`.
#[test]
fn td_is_the_tm_instantiated() {
    for name in FIXTURES {
        let def = fixture(name);
        let tm_text = export::thing_model(&def).to_string();
        assert!(tm_text.contains(export::THING_ID_PLACEHOLDER));
        let mut tm: Value =
            serde_json::from_str(&tm_text.replace(export::THING_ID_PLACEHOLDER, "garden-01"))
                .expect("json");
        let mut td = td(&def);
        let tm = tm.as_object_mut().expect("object");
        let td = td.as_object_mut().expect("object");
        assert_eq!(tm.remove("@type"), Some(json!("tm:ThingModel")));
        assert_eq!(
            td.remove("id"),
            Some(json!("urn:safething:thing:garden-01"))
        );
        assert_eq!(
            td.remove("version"),
            Some(json!({"instance": def.thing.version, "model": def.thing.version}))
        );
        assert_eq!(
            tm.remove("version"),
            Some(json!({"model": def.thing.version}))
        );
        assert_eq!(td, tm, "{name}");
    }
}

#[test]
fn td_options_are_used() {
    let def = fixture("gardening");
    let plain = td(&def);
    assert_eq!(plain["base"], "safething://garden-01/");
    for (name, definition) in plain["securityDefinitions"]
        .as_object()
        .expect("definitions")
    {
        assert!(
            definition.get(export::THING_KEY_TERM).is_none(),
            "{name}: no key without one"
        );
    }
    assert_eq!(plain["title"], "Gardening device");
    assert_eq!(
        plain["version"],
        json!({"instance": "1.0.0", "model": "1.0.0"})
    );
    for absent in ["created", "modified", "links", "safething:publicKey"] {
        assert!(plain.get(absent).is_none(), "{absent}");
    }
    let options = TdOptions {
        id: Some("urn:dev:ops:32473-WoTLamp-1234".into()),
        base: Some("https://gw.example/t/garden-01/".into()),
        public_key: Some("KEY".into()),
        title: Some("Greenhouse 3".into()),
        description: Some("By the door".into()),
        instance_version: Some("7".into()),
        created: Some("2025-01-31T12:00:00Z".into()),
        modified: Some("2025-02-01T12:00:00Z".into()),
        thing_model: Some("https://models.example/g.tm.jsonld".into()),
    };
    let doc = export::thing_description(&def, &thing_id(), &options);
    assert_eq!(doc["id"], "urn:dev:ops:32473-WoTLamp-1234");
    assert_eq!(doc["base"], "https://gw.example/t/garden-01/");
    assert_eq!(doc["safething:publicKey"], "KEY");
    // Bindings see a form's security definitions, not the TD: each names the key.
    let definitions = doc["securityDefinitions"].as_object().expect("definitions");
    assert!(!definitions.is_empty());
    for (name, definition) in definitions {
        assert_eq!(definition[export::THING_KEY_TERM], "KEY", "{name}");
    }
    assert_eq!(doc["title"], "Greenhouse 3");
    assert_eq!(doc["description"], "By the door");
    assert_eq!(doc["version"], json!({"instance": "7", "model": "1.0.0"}));
    assert_eq!(doc["created"], "2025-01-31T12:00:00Z");
    assert_eq!(doc["modified"], "2025-02-01T12:00:00Z");
    assert_eq!(
        doc["links"],
        json!([{"rel": "type", "href": "https://models.example/g.tm.jsonld",
                "type": "application/tm+json"}])
    );
    // Forms stay relative, so they follow the new base.
    assert_eq!(
        doc["properties"]["moisture_level"]["forms"][0]["href"],
        "attributes/moisture_level"
    );
}

#[test]
fn affordances_map_as_documented() {
    let def = fixture("every_keyword");
    let td = td(&def);
    let p = &td["properties"];
    // Static: const value, read only, not observable, read op only.
    assert_eq!(
        p["model"]["const"],
        def.attributes["model"].value.clone().unwrap_or_default()
    );
    assert_eq!(p["model"]["readOnly"], true);
    assert_eq!(p["model"]["observable"], false);
    assert_eq!(p["model"]["forms"][0]["op"], json!(["readproperty"]));
    // Dynamic, read only, with history.
    assert_eq!(p["temperature"]["observable"], true);
    assert_eq!(p["temperature"]["readOnly"], true);
    assert_eq!(p["temperature"]["safething:history"], 1440);
    assert_eq!(
        p["temperature"]["forms"][0]["op"],
        json!(["readproperty", "observeproperty", "unobserveproperty"])
    );
    // Named type inlined, annotations at the ref site win.
    // Well-known units are QUDT IRIs, with the prefix in the context.
    assert_eq!(p["temperature"]["unit"], "qudt:DEG_C");
    assert_eq!(td["@context"][1]["qudt"], "http://qudt.org/vocab/unit/");
    assert_eq!(p["temperature"]["safething:ref"], "Celsius");
    assert_eq!(p["temperature"]["multipleOf"], 0.5);
    assert_eq!(
        td["schemaDefinitions"]["Sample"]["properties"]["temperature"]["description"],
        "Temperature at the time of the sample"
    );
    // Writable.
    assert_eq!(p["mode"]["readOnly"], false);
    assert_eq!(
        p["mode"]["forms"][0]["op"],
        json!([
            "readproperty",
            "writeproperty",
            "observeproperty",
            "unobserveproperty"
        ])
    );
    assert_eq!(p["mode"]["forms"][0]["security"], json!(["access_owner"]));
    // Writable and write-only: only written.
    assert_eq!(p["wifi_password"]["writeOnly"], true);
    assert_eq!(p["wifi_password"]["observable"], false);
    assert_eq!(
        p["wifi_password"]["forms"][0]["op"],
        json!(["writeproperty"])
    );
    // No access given: owner.
    assert_eq!(p["target"]["safething:access"], "owner");
    // Actions.
    let calibrate = &td["actions"]["calibrate"];
    assert_eq!(calibrate["safething:timeout"], 90_000);
    assert_eq!(calibrate["idempotent"], true);
    assert_eq!(calibrate["safe"], false);
    assert_eq!(calibrate["synchronous"], false);
    assert_eq!(calibrate["forms"][0]["href"], "actions/calibrate");
    assert_eq!(calibrate["forms"][1]["href"], "requests/{request_id}");
    assert_eq!(td["actions"]["self_test"]["safe"], true);
    assert_eq!(td["actions"]["self_test"]["safething:timeout"], 500);
    assert!(td["actions"]["reboot"].get("input").is_none());
    assert!(td["actions"]["reboot"].get("safething:timeout").is_none());
    // Events.
    assert!(td["events"]["rebooted"].get("data").is_none());
    assert_eq!(
        td["events"]["rebooted"]["forms"][0]["op"],
        json!(["subscribeevent", "unsubscribeevent"])
    );
    assert_eq!(
        td["events"]["mode_changed"]["data"]["enum"],
        json!(["eco", "normal", "boost"])
    );
    // Security: one scheme per access type in use.
    let defs = td["securityDefinitions"]
        .as_object()
        .expect("securityDefinitions");
    assert_eq!(
        defs.keys().collect::<Vec<_>>(),
        ["access_all", "access_group", "access_owner"]
    );
    assert!(
        defs.values()
            .all(|d| d["scheme"] == export::SIGNED_ENVELOPE_SCHEME)
    );
    assert_eq!(td["security"], json!(["access_all"]));
    // WoT has no $ref, and the JSON Schema-only keyword stays out.
    let text = td.to_string();
    assert!(!text.contains("$ref") && !text.contains("additionalProperties"));
}

#[test]
fn exports_are_deterministic() {
    for name in FIXTURES {
        let a = fixture(name);
        let b = fixture(name);
        for (x, y) in [
            (td(&a), td(&b)),
            (export::thing_model(&a), export::thing_model(&b)),
            (export::json_schema(&a), export::json_schema(&b)),
        ] {
            assert_eq!(x.to_string(), y.to_string(), "{name}");
        }
    }
}

/// Exports assume a validated definition, but must not panic or loop on an invalid one.
#[test]
fn invalid_definitions_still_export() {
    let def: Definition = serde_json::from_value(json!({
        "thing": {"name": "bad name", "version": "one"},
        "types": {"A": {"ref": "B"}, "B": {"ref": "A"}, "C": {"type": "object",
                  "properties": {"next": {"ref": "C"}}}},
        "attributes": {"x": {"ref": "A"}, "y": {"ref": "Missing"}, "z": {"ref": "C"},
                       "w": {"type": "number", "access": "thing"}},
        "events": {"Bad-Name/x": {"data": {"ref": "A"}}},
    }))
    .expect("deserializes");
    assert!(def.check().is_err());
    let schema = export::json_schema(&def);
    assert!(jsonschema::draft202012::meta::is_valid(&schema));
    assert_eq!(
        schema["$defs"]["attribute.y"],
        json!({}),
        "unknown ref constrains nothing"
    );
    let td = td(&def);
    assert_eq!(
        td["properties"]["z"]["properties"]["next"],
        json!({}),
        "cycle cut"
    );
    assert!(
        td["properties"].get("w").is_none(),
        "`thing` access is not public"
    );
    assert_eq!(
        td["events"]["Bad-Name/x"]["forms"][0]["href"],
        "events/Bad-Name%2Fx"
    );
    export::thing_model(&def);
}

/// An access type that is none of the four is no definition at all: it never reaches
/// validation (front ends report it while lowering, where they know its place).
#[test]
fn unknown_access_does_not_deserialize() {
    let def = serde_json::from_value::<Definition>(json!({
        "thing": {"name": "Lamp", "version": "1.0.0"},
        "attributes": {"w": {"type": "number", "access": "nobody"}},
    }));
    assert!(def.is_err());
    assert_eq!(
        "nobody".parse::<safething_ir::Access>(),
        Err(safething_ir::UnknownAccess("nobody".into()))
    );
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[test]
fn snapshots() {
    for name in FIXTURES {
        let def = fixture(name);
        assert_json_snapshot!(format!("{name}.td"), td(&def));
        assert_json_snapshot!(format!("{name}.tm"), export::thing_model(&def));
        assert_json_snapshot!(format!("{name}.schema"), export::json_schema(&def));
    }
}

//! The checked-in JSON Schemas of the wire messages (`schemas/wire/`) match the types the
//! runtime sends; `SAFETHING_BLESS=1 cargo test --test wire_schemas` rewrites them.

use std::path::Path;

#[test]
fn checked_in_wire_schemas_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/wire");
    let bless = std::env::var_os("SAFETHING_BLESS").is_some();
    let mut stale = Vec::new();
    for (stem, schema) in safething::wire::schemas() {
        let path = dir.join(format!("{stem}.schema.json"));
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "wire schemas drifted; run `SAFETHING_BLESS=1 cargo test --test wire_schemas`: {stale:?}"
    );
}

#[test]
fn messages_the_runtime_sends_match_their_schemas() {
    use serde_json::json;
    let schemas = safething::wire::schemas();
    let check = |stem: &str, value: serde_json::Value| {
        let validator = jsonschema::validator_for(&schemas[stem]).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{stem}: {errors:?} for {value}");
    };
    let update = safething::wire::ActionUpdate {
        request: "r1".into(),
        action: "open_valve".into(),
        seq: 3,
        state: safething::wire::ActionState::Done {
            output: json!("open"),
        },
    };
    check("action-update", serde_json::to_value(&update).unwrap());
    let request = safething::wire::ActionRequest::Invoke {
        request: "r1".into(),
        input: json!({"psi": 60}),
        timeout_ms: Some(500),
    };
    check("action-request", serde_json::to_value(&request).unwrap());
    // A frame's body, as the one frame reader hands it out, matches the body schema.
    let identity = safething::Identity::generate().unwrap();
    let sealer = safething::envelope::Sealer::new(identity, safething::envelope::Signing::Signed);
    let bytes = sealer
        .seal(
            "safething/v1/garden-01/actions/open_valve",
            safething::envelope::Kind::Request,
            safething::envelope::Binding::Epoch([7; 16]),
            &request,
        )
        .unwrap();
    let frame = safething::frame::decode(&bytes).unwrap();
    check("frame-body", serde_json::from_slice(frame.body).unwrap());
}

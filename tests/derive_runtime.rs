//! What happens at run time with the schemas of payload types: converted when the definition
//! is first used; what the definition format cannot express is reported, never a panic, and no
//! device is built from it.

use std::collections::BTreeMap;

use safething::ir::Rule;
use safething::transport::memory::MemoryNetwork;
use safething::{Error, SafeThing};

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Tally {
    counts: BTreeMap<String, u32>,
}

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Sample {
    value: f64,
    /// Omitted when `None`: an optional property.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// Serialized as `null` when `None`: required, and nullable.
    quality: Option<u8>,
}

/// A counter whose event carries a map, which a definition cannot express.
#[derive(SafeThing)]
#[safething(version = "1.0.0", event(name = "tallied", data = Tally))]
pub struct Counter {
    #[safething(access = "all")]
    total: u64,
}

/// A sensor with an `Option` in its payload type.
#[derive(SafeThing)]
#[safething(version = "1.0.0", event(name = "sampled", data = Sample))]
#[safething(action(name = "calibrate", input = Vec<Sample>, output = bool))]
pub struct Sensor {
    samples: Vec<Sample>,
}

#[test]
fn an_unsupported_schema_is_reported_not_panicked() {
    let problems = Counter::check().unwrap_err().0;
    let paths: Vec<(Rule, String)> = problems
        .iter()
        .map(|d| (d.rule, d.path.to_string()))
        .collect();
    assert_eq!(
        paths,
        [(
            Rule::UnsupportedSchema,
            "types.Tally.properties.counts.additionalProperties".to_owned()
        )]
    );
    assert!(problems[0].message.contains("a map"), "{}", problems[0]);

    // The definition itself does not validate either (an empty schema for the type).
    let definition = Counter::definition();
    assert!(definition.check().is_err());
    assert_eq!(
        definition.types["Tally"],
        safething::ir::DataSchema::default()
    );

    // The generated builder refuses it with the precise reason.
    let network = MemoryNetwork::new();
    match CounterDevice::builder("counter-01")
        .transport(network.session())
        .build()
    {
        Err(Error::InvalidDefinition(invalid)) => {
            assert_eq!(invalid.0[0].rule, Rule::UnsupportedSchema)
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a device was built from an invalid definition"),
    }
}

#[test]
fn options_in_payload_types() {
    assert_eq!(Sensor::check().unwrap(), Vec::new());
    let definition = Sensor::definition();
    let sample = &definition.types["Sample"];
    assert_eq!(sample.required, ["value", "quality"]);
    assert_eq!(
        serde_json::to_value(&sample.properties["note"]).unwrap(),
        serde_json::json!({"type": "string", "description": "Omitted when `None`: an optional property."})
    );
    assert_eq!(
        serde_json::to_value(&sample.properties["quality"]).unwrap(),
        serde_json::json!({
            "description": "Serialized as `null` when `None`: required, and nullable.",
            "oneOf": [{"type": "integer", "minimum": 0, "maximum": 255}, {"type": "null"}],
        })
    );
    // `Vec<Sample>` fields and payloads: arrays of the named type.
    let samples = &definition.attributes["samples"].schema;
    assert_eq!(
        samples.items.as_ref().and_then(|i| i.reference.as_deref()),
        Some("Sample")
    );
    let input = definition.actions["calibrate"].input.as_ref().unwrap();
    assert_eq!(
        input.items.as_ref().and_then(|i| i.reference.as_deref()),
        Some("Sample")
    );
}

//! A serde internally tagged enum in a `#[derive(SafeThing)]` thing (unit, newtype and struct
//! variants): schemars makes it a `oneOf` of objects told apart by a `const` tag, which the IR
//! imports as a tagged union, and
//! its values cross to and from the client generated from `codegen/tests/fixtures/unions.toml`.

mod common;

use safething::SafeThing;
use safething::device::ActionContext;
use safething::transport::memory::MemoryNetwork;
use safething::wire::ActionError;
use safething::{Client, Identity, ThingClient};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use common::connect;

use safething_generated_tests::unions as toml;

/// The calibrating half of the CO2 sensor, defined in Rust.
#[derive(SafeThing)]
#[safething(name = "Co2Sensor", version = "0.1.0")]
#[safething(action(
    name = "calibrate",
    input = Calibration,
    output = CalibrateOutput,
    access = "owner"
))]
pub struct Co2Twin {
    #[safething(access = "group")]
    pub last_calibration: Calibration,
}

/// A unit, a newtype and a struct variant: schemars writes the newtype's schema as a `$ref`
/// next to the tag, which the import merges into one object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Calibration {
    Auto,
    Manual(ManualCalibration),
    TwoPoint { points: Vec<Point> },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ManualCalibration {
    pub reference_ppm: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Point {
    pub ppm: u16,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum CalibrateOutput {
    Done {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drift_ppm: Option<f64>,
    },
    Refused {
        reason: String,
    },
}

#[test]
fn an_internally_tagged_enum_imports_as_a_tagged_union() {
    let def = Co2TwinDevice::definition();
    let input = def.actions["calibrate"].input.as_ref().unwrap();
    let union = safething::ir::union::tagged_union(input, &def.types)
        .or_else(|| {
            let name = input.reference.as_ref()?;
            safething::ir::union::tagged_union(&def.types[name], &def.types)
        })
        .unwrap_or_else(|| panic!("not a tagged union: {input:?} in {:?}", def.types));
    assert_eq!(union.tag, "mode");
    assert_eq!(union.values_text(), ["auto", "manual", "two-point"]);
    assert_eq!(union.variant_names(), ["Auto", "Manual", "TwoPoint"]);
    let manual = &union.variants[1];
    assert_eq!(manual.reference, None, "the newtype's `$ref` is merged");
    let fields: Vec<&String> = manual.fields(union.tag).map(|(n, _)| n).collect();
    assert_eq!(fields, ["note", "reference_ppm"]);
}

#[test]
fn derived_and_generated_enums_write_the_same_json() {
    let values = [
        serde_json::json!({"mode": "auto"}),
        serde_json::json!({"mode": "manual", "reference_ppm": 400.0, "note": "bottle"}),
        serde_json::json!({"mode": "two-point", "points": [{"ppm": 0}, {"ppm": 2000}]}),
    ];
    for value in values {
        let derived: Calibration = serde_json::from_value(value.clone()).unwrap();
        let generated: toml::Calibration = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&derived).unwrap(), value);
        assert_eq!(serde_json::to_value(&generated).unwrap(), value);
    }
}

struct Twin {
    device: Co2TwinDevice,
}

impl Co2TwinHandler for Twin {
    async fn calibrate(
        &self,
        input: Calibration,
        _ctx: ActionContext,
    ) -> Result<CalibrateOutput, ActionError> {
        self.device
            .set_last_calibration(input.clone())
            .await
            .map_err(|e| ActionError::new("device", e.to_string()))?;
        Ok(match input {
            Calibration::Manual(manual) => CalibrateOutput::Done {
                drift_ppm: Some(manual.reference_ppm - 400.0),
            },
            Calibration::Auto => CalibrateOutput::Done { drift_ppm: None },
            Calibration::TwoPoint { .. } => CalibrateOutput::Refused {
                reason: "not supported".into(),
            },
        })
    }
}

#[tokio::test]
async fn a_derived_device_serves_the_generated_client() {
    let network = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = Co2TwinDevice::builder("co2-derived")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()
        .unwrap();
    device.serve(Twin {
        device: device.clone(),
    });
    device.register().await.unwrap();
    device.publish().await.unwrap();

    let client = Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await
        .unwrap();
    let sensor = connect(&client, "co2-derived", toml::Co2SensorClient::connect).await;
    let manual = toml::Calibration::Manual {
        note: Some("bottle 7".into()),
        reference_ppm: 450.0,
    };
    let done = sensor.calibrate(manual.clone()).await.unwrap();
    assert_eq!(
        done.output().await.unwrap(),
        toml::CalibrateOutput::Done {
            drift_ppm: Some(50.0)
        }
    );
    assert_eq!(sensor.last_calibration().await.unwrap().value, manual);
    let refused = sensor
        .calibrate(toml::Calibration::TwoPoint {
            points: vec![toml::CalibrationTwoPointPointsItem { ppm: 0 }],
        })
        .await
        .unwrap();
    assert_eq!(
        refused.output().await.unwrap(),
        toml::CalibrateOutput::Refused {
            reason: "not supported".into()
        }
    );
    let auto = sensor.calibrate(toml::Calibration::Auto {}).await.unwrap();
    assert_eq!(
        auto.output().await.unwrap(),
        toml::CalibrateOutput::Done { drift_ppm: None }
    );
    device.shutdown().await;
}

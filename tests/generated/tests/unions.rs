//! Tagged unions and constants in generated code (`codegen/tests/fixtures/unions.toml`):
//! JSON in, typed value, the same JSON out; wrong tags and wrong constants rejected; and a
//! device and client exchanging them over the in-process transport.

mod common;

use safething::device::ActionContext;
use safething::transport::memory::MemoryNetwork;
use safething::wire::ActionError;
use safething::{Client, Identity, ThingClient};
use serde_json::{Value, json};

use common::connect;

use safething_generated_tests::unions::{
    CalibrateOutput, Calibration, CalibrationTwoPointPointsItem, Co2Sensor, Co2SensorClient,
    Co2SensorHandler, Frame, FrameLong, FrameLongKind, FrameShort, FrameShortKind, Header,
    HeaderVersion, ManualCalibration, ManualCalibrationMode, Protocol, Reading,
};

/// Parses `json` as `T` and writes it back: the text must not change.
fn round_trip<T>(json: Value) -> T
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let typed: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("{json} does not parse: {e}"));
    assert_eq!(serde_json::to_value(&typed).unwrap(), json);
    typed
}

fn rejected<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: Value) -> String {
    match serde_json::from_value::<T>(json.clone()) {
        Ok(v) => panic!("{json} parsed as {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tagged_union_round_trips_every_alternative() {
    assert_eq!(
        round_trip::<Calibration>(json!({"mode": "auto"})),
        Calibration::Auto {}
    );
    assert_eq!(
        round_trip::<Calibration>(json!({"mode": "manual", "reference_ppm": 400.0})),
        Calibration::Manual {
            note: None,
            reference_ppm: 400.0
        }
    );
    assert_eq!(
        round_trip::<Calibration>(
            json!({"mode": "manual", "note": "bottle 7", "reference_ppm": 800.5})
        ),
        Calibration::Manual {
            note: Some("bottle 7".into()),
            reference_ppm: 800.5
        }
    );
    assert_eq!(
        round_trip::<Calibration>(
            json!({"mode": "two-point", "points": [{"ppm": 0}, {"ppm": 2000}]})
        ),
        Calibration::TwoPoint {
            points: vec![
                CalibrationTwoPointPointsItem { ppm: 0 },
                CalibrationTwoPointPointsItem { ppm: 2000 }
            ]
        }
    );
    assert_eq!(
        round_trip::<CalibrateOutput>(json!({"status": "refused", "reason": "warming up"})),
        CalibrateOutput::Refused {
            reason: "warming up".into()
        }
    );
}

#[test]
fn tagged_union_rejects_wrong_missing_and_extra() {
    let wrong = rejected::<Calibration>(json!({"mode": "magic"}));
    assert!(
        wrong.contains("unknown variant `magic`")
            && wrong.contains("`auto`, `manual`, `two-point`"),
        "{wrong}"
    );
    let missing = rejected::<Calibration>(json!({"reference_ppm": 400.0}));
    assert!(missing.contains("missing field `mode`"), "{missing}");
    // The tag of another alternative does not fit these properties (a unit variant would
    // ignore them).
    let other = rejected::<Calibration>(json!({"mode": "auto", "reference_ppm": 400.0}));
    assert!(other.contains("unknown field `reference_ppm`"), "{other}");
    let extra = rejected::<Calibration>(json!({"mode": "manual", "reference_ppm": 1.0, "x": 1}));
    assert!(extra.contains("unknown field `x`"), "{extra}");
    rejected::<Calibration>(json!({"mode": "manual"}));
    rejected::<Calibration>(json!("auto"));
}

#[test]
fn a_referenced_alternative_keeps_its_own_struct_with_the_tag() {
    let manual: ManualCalibration = round_trip(json!({"mode": "manual", "reference_ppm": 420.0}));
    assert_eq!(manual.mode, ManualCalibrationMode);
    let in_union = Calibration::from(manual.clone());
    assert_eq!(
        serde_json::to_value(&in_union).unwrap(),
        serde_json::to_value(&manual).unwrap(),
        "the union writes the tag once, as the struct does"
    );
    rejected::<ManualCalibration>(json!({"mode": "auto", "reference_ppm": 420.0}));
}

#[test]
fn constants_are_their_literal_and_nothing_else() {
    let header: Header = round_trip(json!({
        "version": "v1", "revision": 3, "beta": true, "gain": 1.5, "offset": -2
    }));
    assert_eq!(header.offset, Some(Default::default()));
    round_trip::<Header>(json!({"version": "v1", "revision": 3, "beta": true, "gain": 1.5}));
    for (key, wrong) in [
        ("version", json!("v2")),
        ("revision", json!(4)),
        ("beta", json!(false)),
        ("gain", json!(1.0)),
        ("offset", json!(2)),
        ("version", json!(1)),
    ] {
        let mut value = json!({"version": "v1", "revision": 3, "beta": true, "gain": 1.5});
        value[key] = wrong.clone();
        let error = rejected::<Header>(value);
        assert!(error.contains(&format!("found {wrong}")), "{error}");
    }
    assert_eq!(HeaderVersion::VALUE, "v1");
    assert_eq!(round_trip::<Protocol>(json!("co2/1")), Protocol);
    let error = rejected::<Protocol>(json!("co2/2"));
    assert!(
        error.contains("expected \"co2/1\", found \"co2/2\""),
        "{error}"
    );
}

#[test]
fn integer_tags_and_untagged_unions_tell_alternatives_apart() {
    assert_eq!(
        round_trip::<Frame>(json!({"kind": 1})),
        Frame::Short(FrameShort {
            kind: FrameShortKind
        })
    );
    assert_eq!(
        round_trip::<Frame>(json!({"kind": 2, "body": "hi"})),
        Frame::Long(FrameLong {
            kind: FrameLongKind,
            body: "hi".into()
        })
    );
    // `Frame` holds no number: it is `Eq` and `Hash`.
    let set: std::collections::HashSet<Frame> = [round_trip(json!({"kind": 1}))].into();
    assert_eq!(set.len(), 1);
    rejected::<Frame>(json!({"kind": 3}));
    assert_eq!(round_trip::<Reading>(json!(415.5)), Reading::Ppm(415.5));
    assert_eq!(
        round_trip::<Reading>(json!("sensor fault")),
        Reading::Fault("sensor fault".into())
    );
    assert_eq!(round_trip::<Reading>(Value::Null), Reading::Null);
}

struct Sensor;

impl Co2SensorHandler for Sensor {
    async fn calibrate(
        &self,
        input: Calibration,
        _ctx: ActionContext,
    ) -> Result<CalibrateOutput, ActionError> {
        Ok(match input {
            Calibration::Auto {} => CalibrateOutput::Done { drift_ppm: None },
            Calibration::Manual { reference_ppm, .. } => CalibrateOutput::Done {
                drift_ppm: Some(reference_ppm - 400.0),
            },
            Calibration::TwoPoint { .. } => CalibrateOutput::Refused {
                reason: "not supported".into(),
            },
        })
    }
}

#[tokio::test]
async fn a_client_and_device_exchange_tagged_unions() {
    let network = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = Co2Sensor::builder("co2-sensor-1")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()
        .unwrap();
    device.serve(Sensor);
    device.register().await.unwrap();
    device.publish().await.unwrap();
    device
        .set_last_calibration(Calibration::TwoPoint { points: vec![] })
        .await
        .unwrap();

    let client = Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await
        .unwrap();
    let sensor = connect(&client, "co2-sensor-1", Co2SensorClient::connect).await;
    let manual = ManualCalibration {
        mode: ManualCalibrationMode,
        note: None,
        reference_ppm: 420.0,
    };
    let done = sensor.calibrate(manual.into()).await.unwrap();
    assert_eq!(
        done.output().await.unwrap(),
        CalibrateOutput::Done {
            drift_ppm: Some(20.0)
        }
    );
    let refused = sensor
        .calibrate(Calibration::TwoPoint { points: vec![] })
        .await
        .unwrap();
    assert!(matches!(
        refused.output().await.unwrap(),
        CalibrateOutput::Refused { .. }
    ));
    assert_eq!(
        sensor.last_calibration().await.unwrap().value,
        Calibration::TwoPoint { points: vec![] }
    );
    device.shutdown().await;
}

//! A thing defined with `#[derive(SafeThing)]` and its TOML twin are interchangeable on the
//! wire: a derived device serves the TOML-generated client, and a TOML-generated device serves
//! the derived client, over the in-process transport.

#[path = "../../derive/gardening_twin.rs"]
mod twin;

mod common;

use std::time::Duration;

use futures::StreamExt;
use safething::device::{ActionContext, WriteContext, WriteError};
use safething::transport::memory::MemoryNetwork;
use safething::typed::Filter;
use safething::wire::ActionError;
use safething::{Client, Error, Identity, ThingClient};

use common::{connect, within};

use safething_generated_tests::gardening_device as toml;

/// The derived device's handler.
struct DerivedValve {
    device: twin::GardenDevice,
}

impl twin::GardenHandler for DerivedValve {
    async fn open_valve(
        &self,
        input: twin::OpenValveInput,
        _ctx: ActionContext,
    ) -> Result<twin::ValveState, ActionError> {
        if input.psi > 100 {
            return Err(ActionError::new("too_high", "the hose would burst"));
        }
        self.device
            .set_valve_state(twin::ValveState::Open)
            .await
            .map_err(|e| ActionError::new("device", e.to_string()))?;
        Ok(twin::ValveState::Open)
    }

    async fn close_valve(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn write_target_level(&self, value: f64, _ctx: WriteContext) -> Result<(), WriteError> {
        if value <= 80.0 {
            Ok(())
        } else {
            Err("too wet".into())
        }
    }
}

/// The TOML device's handler.
struct TomlValve;

impl toml::GardeningDeviceHandler for TomlValve {
    async fn open_valve(
        &self,
        input: toml::OpenValveInput,
        _ctx: ActionContext,
    ) -> Result<toml::ValveState, ActionError> {
        assert_eq!(input.psi, 60);
        Ok(toml::ValveState::Open)
    }

    async fn close_valve(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn write_target_level(&self, _value: f64, _ctx: WriteContext) -> Result<(), WriteError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_derived_device_serves_a_toml_client() {
    let network = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = twin::GardenDevice::builder("garden-derived")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()
        .unwrap();
    device.serve(DerivedValve {
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
    let garden = connect(
        &client,
        "garden-derived",
        toml::GardeningDeviceClient::connect,
    )
    .await;
    assert_eq!(garden.firmware().await.unwrap().value, "v0.1.0");
    assert_eq!(garden.target_level().await.unwrap().value, 40.0);

    let mut dry = garden.watch_moisture_level(Filter::lt(5.0)).await.unwrap();
    for level in [30.0, 4.0] {
        device.set_moisture_level(level).await.unwrap();
    }
    let update = within("a dry value", dry.next()).await.unwrap().unwrap();
    assert_eq!(update.value, 4.0);

    let mut alarms = garden
        .on_very_dry_alarm(toml::Reading::LEVEL.lt(5.0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    device
        .emit_very_dry_alarm(twin::Reading {
            level: 3.0,
            at: None,
        })
        .await
        .unwrap();
    let alarm = within("an alarm", alarms.next()).await.unwrap().unwrap();
    assert_eq!(alarm.data.level, 3.0);

    let open = garden
        .open_valve(toml::OpenValveInput { psi: 60 })
        .await
        .unwrap();
    assert_eq!(open.output().await.unwrap(), toml::ValveState::Open);
    assert_eq!(
        garden.valve_state().await.unwrap().value,
        toml::ValveState::Open
    );
    // The device checks inputs against the schema the derive took from `OpenValveInput`.
    match garden.open_valve(toml::OpenValveInput { psi: 121 }).await {
        Err(Error::InvalidPayload { .. } | Error::Rejected(_)) => {}
        Ok(handle) => panic!("121 psi accepted: {:?}", handle.output().await),
        Err(other) => panic!("unexpected error: {other:?}"),
    }

    assert_eq!(garden.write_target_level(55.0).await.unwrap().value, 55.0);
    assert!(garden.write_target_level(90.0).await.is_err());
    device.shutdown().await;
}

#[tokio::test]
async fn a_toml_device_serves_a_derived_client() {
    let network = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = toml::GardeningDevice::builder("garden-toml")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()
        .unwrap();
    device.serve(TomlValve);
    device.register().await.unwrap();
    device.publish().await.unwrap();

    let client = Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await
        .unwrap();
    let garden = connect(&client, "garden-toml", twin::GardenClient::connect).await;
    assert_eq!(garden.firmware().await.unwrap().value, "v0.1.0");

    device.set_moisture_level(42.0).await.unwrap();
    assert_eq!(garden.moisture_level().await.unwrap().value, 42.0);
    let history = garden.moisture_level_history().await.unwrap();
    assert_eq!(history.last().map(|h| h.value), Some(42.0));

    let mut alarms = garden.on_very_wet_alarm(Filter::any()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    device
        .emit_very_wet_alarm(toml::Reading {
            level: 95.0,
            at: Some("2025-06-01T12:00:00Z".into()),
        })
        .await
        .unwrap();
    let alarm = within("an alarm", alarms.next()).await.unwrap().unwrap();
    assert_eq!(
        alarm.data,
        twin::Reading {
            level: 95.0,
            at: Some("2025-06-01T12:00:00Z".into())
        }
    );

    let open = garden
        .open_valve(twin::OpenValveInput { psi: 60 })
        .await
        .unwrap();
    assert_eq!(open.output().await.unwrap(), twin::ValveState::Open);
    garden.close_valve().await.unwrap().output().await.unwrap();
    assert_eq!(garden.write_target_level(70.0).await.unwrap().value, 70.0);
    device.shutdown().await;
}

//! A gardening device and the controller that waters it, in one process over the in-process
//! transport, both written against the API generated from `examples/things/gardening_device.toml`
//! by `build.rs`. Run it with `cargo run -p gardening-typed`.

#[macro_use]
#[path = "../../support/out.rs"]
mod out;

use futures::StreamExt;
use safething::device::{ActionContext, WriteContext, WriteError};
use safething::transport::memory::MemoryNetwork;
use safething::typed::Filter;
use safething::wire::ActionError;
use safething::{Client, Identity, ThingClient};

safething::include_thing!(mod gardening_device);

use gardening_device::{
    GardeningDevice, GardeningDeviceClient, GardeningDeviceHandler, OpenValveInput, Reading,
    ValveState,
};

/// The device's application code: what it does when asked to open or close its valve, and
/// which target levels it accepts.
struct Valve {
    device: GardeningDevice,
}

impl Valve {
    async fn set(&self, state: ValveState) -> Result<ValveState, ActionError> {
        self.device
            .set_valve_state(state)
            .await
            .map_err(|e| ActionError::new("device", e.to_string()))?;
        Ok(state)
    }
}

impl GardeningDeviceHandler for Valve {
    async fn open_valve(
        &self,
        input: OpenValveInput,
        ctx: ActionContext,
    ) -> Result<ValveState, ActionError> {
        if input.psi > 100 {
            return Err(ActionError::new(
                "too_high",
                format!("{} psi would burst the hose", input.psi),
            ));
        }
        outln!(
            "device: opening the valve at {} psi (request {}, {} ms left)",
            input.psi,
            ctx.request_id(),
            ctx.remaining().as_millis()
        );
        self.set(ValveState::Open).await
    }

    async fn close_valve(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        outln!("device: closing the valve");
        self.set(ValveState::Closed).await.map(|_| ())
    }

    async fn write_target_level(&self, value: f64, _ctx: WriteContext) -> Result<(), WriteError> {
        if value <= 80.0 {
            Ok(())
        } else {
            Err(format!("{value}% would drown the plants").into())
        }
    }
}

#[tokio::main]
async fn main() -> safething::Result<()> {
    let network = MemoryNetwork::new();
    let owner = Identity::generate()?;

    // The device: built from the embedded definition, served by the typed handler.
    let device = GardeningDevice::builder("garden-01")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()?;
    device.serve(Valve {
        device: device.clone(),
    });
    device.register().await?;
    device.publish().await?;

    // The controller: the owner's typed client.
    let client = Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await?;
    let garden = GardeningDeviceClient::connect(&client, "garden-01").await?;
    outln!(
        "controller: connected to {} (firmware {})",
        garden.id(),
        garden.firmware().await?.value
    );
    let target = garden.write_target_level(45.0).await?;
    outln!("controller: target level is now {}%", target.value);
    if let Err(e) = garden.write_target_level(95.0).await {
        outln!("controller: the device refused a target of 95%: {e}");
    }

    // Typed filters: a value filter, and a filter on a field of the event's data.
    let mut dry = garden.watch_moisture_level(Filter::lt(30.0)).await?;
    let mut alarms = garden.on_very_dry_alarm(Reading::LEVEL.lt(10.0)).await?;

    // The sensor: the device reports falling moisture, and alarms when it is very dry.
    for level in [42.0, 35.0, 28.0, 15.0, 8.0] {
        device.set_moisture_level(level).await?;
        if level < 20.0 {
            device
                .emit_very_dry_alarm(Reading { level, at: None })
                .await?;
        }
    }

    if let Some(update) = dry.next().await {
        let update = update?;
        outln!(
            "controller: moisture {}% (seq {}) is below 30%: watering",
            update.value,
            update.seq
        );
        let action = garden.open_valve(OpenValveInput { psi: 60 }).await?;
        outln!("controller: the valve is {:?}", action.output().await?);
    }
    if let Some(alarm) = alarms.next().await {
        let alarm = alarm?;
        outln!(
            "controller: very dry alarm at {}% (event {})",
            alarm.data.level,
            alarm.seq
        );
    }
    match garden
        .open_valve(OpenValveInput { psi: 110 })
        .await?
        .output()
        .await
    {
        Ok(state) => outln!("controller: unexpectedly {state:?}"),
        Err(e) => outln!("controller: opening at 110 psi failed as it should: {e}"),
    }

    let history: Vec<f64> = garden
        .moisture_level_history()
        .await?
        .into_iter()
        .map(|entry| entry.value)
        .collect();
    outln!("controller: moisture history {history:?}");
    garden.close_valve().await?.output().await?;
    outln!(
        "controller: the valve is {}",
        garden.valve_state().await?.value.as_str()
    );

    device.shutdown().await;
    Ok(())
}

//! A room thermostat and a phone app controlling it, generated from
//! `examples/things/thermostat.toml` by `build.rs`. Run it with
//! `cargo run -p gardening-typed --bin thermostat`.

use std::time::Duration;

use futures::StreamExt;
use safething::device::{ActionContext, WriteContext, WriteError};
use safething::transport::memory::MemoryNetwork;
use safething::typed::Filter;
use safething::wire::ActionError;
use safething::{Client, Identity, ThingClient};

safething::include_thing!(mod thermostat);

use thermostat::{
    BoostInput, BoostOutput, Mode, Schedule, ScheduleEntriesItem, Setpoint, Thermostat,
    ThermostatClient, ThermostatHandler,
};

/// The thermostat's application code.
struct Room;

impl ThermostatHandler for Room {
    async fn boost(
        &self,
        input: BoostInput,
        _ctx: ActionContext,
    ) -> Result<BoostOutput, ActionError> {
        let minutes = input.minutes.unwrap_or(30);
        println!("thermostat: boosting for {minutes} minutes");
        Ok(BoostOutput {
            until: format!("in {minutes} minutes"),
        })
    }

    async fn set_schedule(&self, input: Schedule, _ctx: ActionContext) -> Result<(), ActionError> {
        for entry in &input.entries {
            println!("thermostat: at {} heat to {} °C", entry.at, entry.target);
        }
        Ok(())
    }

    async fn write_mode(&self, value: Mode, _ctx: WriteContext) -> Result<(), WriteError> {
        println!("thermostat: mode {}", value.as_str());
        Ok(())
    }

    async fn write_target_temperature(
        &self,
        value: Setpoint,
        _ctx: WriteContext,
    ) -> Result<(), WriteError> {
        if value > 26.0 {
            Err("above 26 °C only in boost mode".into())
        } else {
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> safething::Result<()> {
    let network = MemoryNetwork::new();
    let owner = Identity::generate()?;
    let device = Thermostat::builder("thermo-42")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()?;
    device.serve(Room);
    device.register().await?;
    device.publish().await?;

    let client = Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await?;
    let room = ThermostatClient::connect(&client, "thermo-42").await?;
    println!("app: serial number {}", room.serial_number().await?.value);

    // Only changes of at least half a degree, at most one per 10 ms. The interval is measured
    // as updates are read, so the app reads while the device publishes.
    let mut temperature = room
        .watch_temperature(Filter::step(0.5).and(Filter::min_interval(Duration::from_millis(10))))
        .await?;
    let publishing = async {
        for t in [20.0, 20.2, 20.4, 20.9, 21.0, 19.8] {
            device.set_temperature(t).await?;
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        Ok::<(), safething::Error>(())
    };
    let reading = async {
        // 20 (the current value), 20.9 and 19.8: the others are less than half a degree away.
        for _ in 0..3 {
            let next = tokio::time::timeout(Duration::from_secs(2), temperature.next()).await;
            let Ok(Some(update)) = next else { break };
            let update = update?;
            println!("app: temperature {} °C (seq {})", update.value, update.seq);
        }
        Ok::<(), safething::Error>(())
    };
    let (published, read) = tokio::join!(publishing, reading);
    published?;
    read?;

    room.write_mode(Mode::Heat).await?;
    room.write_target_temperature(21.5).await?;
    if let Err(e) = room.write_target_temperature(28.0).await {
        println!("app: 28 °C refused: {e}");
    }
    room.set_schedule(Schedule {
        entries: vec![
            ScheduleEntriesItem {
                at: "06:30".into(),
                target: 21.0,
            },
            ScheduleEntriesItem {
                at: "22:00".into(),
                target: 17.5,
            },
        ],
    })
    .await?
    .output()
    .await?;
    let boost = room.boost(BoostInput { minutes: Some(15) }).await?;
    println!("app: boosting until {}", boost.output().await?.until);
    let history = room.temperature_history().await?;
    println!("app: {} temperatures in the history", history.len());

    device.shutdown().await;
    Ok(())
}

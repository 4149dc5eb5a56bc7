//! The seed's gardening system in one process, on the in-process transport:
//! the moisture level falls, the controller gets the filtered change (`lt 5.0`), opens the valve
//! with `open_valve { psi: 60 }` and follows the request to `done`, the level rises,
//! `very_wet_alarm` fires and the controller calls `close_valve` — for three cycles.
//!
//! ```sh
//! cargo run --example gardening
//! ```

#[macro_use]
#[path = "support/out.rs"]
mod out;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use safething::client::{Client, RemoteThing};
use safething::device::{Device, Handlers};
use safething::transport::memory::MemoryNetwork;
use safething::{Filter, Identity};

const CYCLES: usize = 3;
const DRY: f64 = 5.0;
const WET: f64 = 80.0;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let definition = safething_codegen::load_str(
        "gardening_device.toml",
        include_str!("things/gardening_device.toml"),
    )
    .map_err(|e| e.render(false))?
    .definition;
    let network = MemoryNetwork::new();
    let controller_identity = Identity::generate()?;

    // The device: provisioned with the controller as its owner, then published by it.
    let device = Device::builder(definition, "garden-01")
        .transport(network.session())
        .owner(*controller_identity.public_key())
        .build()?;
    let valve_open = Arc::new(AtomicBool::new(false));
    device.serve(valve_handlers(valve_open.clone()));
    device.register().await?;
    device.set_attribute("valve_state", json!("closed")).await?;
    outln!(
        "device   garden-01 registered ({})",
        device.public_key().short()
    );

    let client = Client::builder()
        .transport(network.session())
        .identity(controller_identity)
        .build()
        .await?;
    let garden = client.thing("garden-01").await?;
    garden.publish().await?;
    outln!(
        "control  published garden-01: {}",
        garden.refresh().await?.state
    );

    let simulation = tokio::spawn(simulate(device.clone(), valve_open));
    let result = control(&garden).await;
    simulation.abort();
    device.shutdown().await;
    result
}

/// The valve: opening and closing it is what the actions do.
fn valve_handlers(valve_open: Arc<AtomicBool>) -> Handlers {
    let (open, close) = (valve_open.clone(), valve_open);
    Handlers::new()
        .action("open_valve", move |input: Value, ctx| {
            let open = open.clone();
            async move {
                outln!(
                    "device   opening the valve at {} psi (request {})",
                    input["psi"],
                    ctx.request_id()
                );
                tokio::time::sleep(Duration::from_millis(30)).await; // the motor turns
                open.store(true, Ordering::SeqCst);
                Ok(json!("open"))
            }
        })
        .action("close_valve", move |_, _| {
            let close = close.clone();
            async move {
                close.store(false, Ordering::SeqCst);
                outln!("device   valve closed");
                Ok(Value::Null)
            }
        })
}

/// The soil: dries while the valve is closed, gets wet while it is open.
async fn simulate(device: Device, valve_open: Arc<AtomicBool>) -> safething::Result<()> {
    let mut level: f64 = 30.0;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let open = valve_open.load(Ordering::SeqCst);
        let next = if open {
            (level + 9.0).min(100.0)
        } else {
            (level - 3.0).max(0.0)
        };
        let reading = json!({ "level": next });
        if next < DRY && level >= DRY {
            device.emit_event("very_dry_alarm", reading.clone()).await?;
        }
        if next > WET && level <= WET {
            device.emit_event("very_wet_alarm", reading).await?;
        }
        level = next;
        device.set_attribute("moisture_level", json!(level)).await?;
        device
            .set_attribute("valve_state", json!(if open { "open" } else { "closed" }))
            .await?;
    }
}

/// The controller: water when dry, stop when wet.
async fn control(garden: &RemoteThing) -> Result<(), Box<dyn std::error::Error>> {
    let mut wet = garden.subscribe("very_wet_alarm", Filter::any()).await?;
    for cycle in 1..=CYCLES {
        // A fresh watch each cycle: it starts from the current value, not from readings
        // that queued up while the valve was open.
        let mut dry = garden.watch("moisture_level", Filter::lt(DRY)).await?;
        let update = dry.next().await.ok_or("the watch ended")??;
        outln!(
            "control  cycle {cycle}: moisture {} % (seq {}) is below {DRY}",
            update.value,
            update.seq
        );
        let request = garden.invoke("open_valve", json!({ "psi": 60 })).await?;
        let mut states = request.states();
        while let Some(state) = states.next().await {
            outln!("control  open_valve {} -> {}", request.id(), state.name());
        }
        outln!("control  valve is {}", request.output().await?);
        let alarm = wet.next().await.ok_or("the subscription ended")??;
        outln!(
            "control  very_wet_alarm: moisture {} % at seq {}",
            alarm.data["level"],
            alarm.seq
        );
        garden
            .invoke("close_valve", Value::Null)
            .await?
            .output()
            .await?;
        outln!("control  close_valve done");
    }
    let history = garden.history("moisture_level").await?;
    outln!(
        "control  {} readings in the history; done after {CYCLES} cycles",
        history.len()
    );
    Ok(())
}

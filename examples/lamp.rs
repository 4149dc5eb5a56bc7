//! A dimmable lamp defined in Rust with `#[derive(SafeThing)]`, served by a device and used by a
//! client over the in-process transport: the client reads and watches the brightness, switches
//! the lamp on (a write the handler decides), fades it (an action with a timeout), and hears
//! the `overheated` event. Every step is printed.
//!
//! ```sh
//! cargo run --example lamp
//! ```

#[macro_use]
#[path = "support/out.rs"]
mod out;

use std::time::Duration;

use futures::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use safething::device::{ActionContext, WriteContext, WriteError};
use safething::transport::memory::MemoryNetwork;
use safething::typed::Filter;
use safething::wire::ActionError;
use safething::{Client, Identity, SafeThing, ThingClient};

/// A dimmable lamp
#[derive(SafeThing)]
#[safething(version = "1.0.0", title = "Lamp")]
#[safething(event(
    name = "overheated",
    data = Overheated,
    access = "all",
    description = "The lamp got too hot and dimmed itself"
))]
#[safething(action(
    name = "fade",
    input = Fade,
    output = u8,
    timeout = "5s",
    access = "owner",
    description = "Fades to a brightness"
))]
pub struct Lamp {
    /// Light output
    #[safething(
        unit = "percent",
        minimum = 0,
        maximum = 100,
        history = 10,
        access = "all"
    )]
    pub brightness: u8,
    /// Whether the lamp is on
    #[safething(writable, access = "owner", default = false)]
    pub on: bool,
    #[safething(static, value = "lamp-fw 2.1", access = "all")]
    pub firmware: String,
}

/// The input of `fade`: where to go, and how fast.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Fade {
    /// Target brightness
    #[schemars(range(max = 100))]
    pub target: u8,
    /// Duration of the fade
    pub ms: u32,
}

/// The data of `overheated`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Overheated {
    /// Temperature
    #[schemars(extend("unit" = "celsius"))]
    pub celsius: f64,
}

/// The device's application code.
struct Driver {
    lamp: LampDevice,
}

impl LampHandler for Driver {
    async fn fade(&self, input: Fade, ctx: ActionContext) -> Result<u8, ActionError> {
        outln!(
            "device   fade to {}% over {} ms (deadline in {:?})",
            input.target,
            input.ms,
            ctx.remaining()
        );
        let steps = 4u32;
        let start = self.lamp_brightness().await;
        for step in 1..=steps {
            tokio::time::sleep(Duration::from_millis(u64::from(input.ms / steps))).await;
            let level = interpolate(start, input.target, step, steps);
            self.lamp
                .set_brightness(level)
                .await
                .map_err(|e| ActionError::new("device", e.to_string()))?;
        }
        Ok(input.target)
    }

    async fn write_on(&self, value: bool, _ctx: WriteContext) -> Result<(), WriteError> {
        outln!("device   write on = {value}: accepted");
        Ok(())
    }
}

impl Driver {
    async fn lamp_brightness(&self) -> u8 {
        self.lamp
            .inner()
            .attribute("brightness")
            .and_then(|v| v.as_u64())
            .and_then(|v| u8::try_from(v).ok())
            .unwrap_or(0)
    }
}

fn interpolate(from: u8, to: u8, step: u32, steps: u32) -> u8 {
    let (from, to) = (i64::from(from), i64::from(to));
    let level = from + (to - from) * i64::from(step) / i64::from(steps);
    u8::try_from(level.clamp(0, 100)).unwrap_or(100)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let definition = Lamp::definition();
    outln!(
        "define   {} {}: attributes {:?}, events {:?}, actions {:?}",
        definition.thing.name,
        definition.thing.version,
        definition.attributes.keys().collect::<Vec<_>>(),
        definition.events.keys().collect::<Vec<_>>(),
        definition.actions.keys().collect::<Vec<_>>(),
    );

    let network = MemoryNetwork::new();
    let owner = Identity::generate()?;
    let lamp = LampDevice::builder("lamp-0001")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()?;
    lamp.serve(Driver { lamp: lamp.clone() });
    lamp.register().await?;
    lamp.publish().await?;
    lamp.set_brightness(20).await?;
    outln!("device   lamp-0001 published, brightness 20%");

    let client = Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await?;
    let remote = LampClient::connect(&client, "lamp-0001").await?;
    outln!(
        "client   connected: firmware {}, brightness {}%, on = {}",
        remote.firmware().await?.value,
        remote.brightness().await?.value,
        remote.on().await?.value,
    );

    let mut bright = remote.watch_brightness(Filter::ge(50u8)).await?;
    let mut alarms = remote.on_overheated(Filter::any()).await?;

    let on = remote.write_on(true).await?;
    outln!("client   switched on: on = {} (seq {})", on.value, on.seq);

    let fade = remote
        .fade(Fade {
            target: 80,
            ms: 200,
        })
        .await?;
    outln!("client   fade requested: {}", fade.id());
    let reached = fade.output().await?;
    outln!("client   fade done at {reached}%");
    let update = bright.next().await.ok_or("watch ended")??;
    outln!(
        "client   watch (>= 50%): brightness {}% (seq {})",
        update.value,
        update.seq
    );

    lamp.emit_overheated(Overheated { celsius: 71.5 }).await?;
    let alarm = alarms.next().await.ok_or("event stream ended")??;
    outln!(
        "client   overheated: {} °C from {}",
        alarm.data.celsius,
        alarm.thing
    );

    let history: Vec<u8> = remote
        .brightness_history()
        .await?
        .into_iter()
        .map(|h| h.value)
        .collect();
    outln!("client   brightness history: {history:?}");

    lamp.shutdown().await;
    outln!("device   shut down");
    Ok(())
}

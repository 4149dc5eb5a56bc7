//! The controller of the seed's scenario, as its own process: it waters the garden of a
//! `gardening_device` running elsewhere on the network.
//!
//! ```sh
//! cargo run --example gardening_device        # terminal 1
//! cargo run --example gardening_controller    # terminal 2
//! ```
//!
//! It connects to `tcp/127.0.0.1:7447` (override with `SAFETHING_ZENOH_CONNECT` and the other
//! `SAFETHING_ZENOH_*` variables), waits for the device, then runs a bounded number of cycles:
//! watch `moisture_level` with `Filter::lt(5.0)`; when the soil is too dry, call
//! `open_valve {psi: 60}` and follow it to `done`; watch the level rise until
//! `very_wet_alarm` fires; call `close_valve`. It acts as the device's owner with the identity
//! in `target/safething-demo/controller.key` (the file the device provisions as its owner).
//! Options: `--id ID` (default `garden-01`), `--cycles N` (default 2), `--wait 60s` (how long
//! to wait for the device), `--demo-dir DIR`.

#[macro_use]
#[path = "support/out.rs"]
mod out;

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;

use safething::client::{Client, RemoteThing};
use safething::transport::zenoh::{DEFAULT_ENDPOINT, ZenohConfig, ZenohTransport, parse_duration};
use safething::wire::ActionState;
use safething::{Filter, Identity};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `--name value` from the command line.
fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == name {
            return args.next();
        }
        if let Some(v) = a.strip_prefix(&format!("{name}=")) {
            return Some(v.to_owned());
        }
    }
    None
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,zenoh=error".into()),
        )
        .init();
    let id = arg("--id").unwrap_or_else(|| "garden-01".to_owned());
    let cycles: u32 = arg("--cycles").map_or(Ok(2), |c| c.parse())?;
    let wait = arg("--wait").map_or(Ok(Duration::from_secs(60)), |w| parse_duration(&w))?;
    let dir = arg("--demo-dir").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/safething-demo"),
        PathBuf::from,
    );
    let identity = Identity::load_or_create(dir.join("controller.key"))?;
    outln!(
        "controller {} (identity {})",
        identity.public_key().short(),
        dir.join("controller.key").display()
    );

    let config = ZenohConfig::new().connect([DEFAULT_ENDPOINT]).with_env()?;
    let transport = ZenohTransport::open(&config).await?;
    let client = Client::builder()
        .transport(transport.clone())
        .identity(identity)
        .build()
        .await?;

    let thing = find(&client, &id, wait).await?;
    let d = thing.description();
    outln!(
        "found {id}: {} v{}, {}, key {}",
        d.definition
            .thing
            .title
            .as_deref()
            .unwrap_or(&d.definition.thing.name),
        d.definition.thing.version,
        d.state,
        thing.key().short()
    );

    for cycle in 1..=cycles {
        outln!("cycle {cycle}/{cycles}: waiting for the soil to dry out (moisture < 5 %)");
        // A watch starts with the current value when it passes the filter, then follows the
        // changes: a fresh one per cycle never sees a reading from before it.
        let mut dry = thing.watch("moisture_level", Filter::lt(5.0)).await?;
        let reading = dry.next().await.ok_or("the watch ended")??;
        drop(dry);
        outln!(
            "moisture {} % (seq {}): too dry, watering",
            reading.value,
            reading.seq
        );

        let mut levels = thing.watch("moisture_level", Filter::any()).await?;
        let mut wet = thing.subscribe("very_wet_alarm", Filter::any()).await?;
        let open = thing.invoke("open_valve", json!({"psi": 60})).await?;
        let mut states = std::pin::pin!(open.states());
        while let Some(state) = states.next().await {
            outln!("  open_valve: {}", state.name());
            if let ActionState::Done { output } = &state {
                outln!("  valve is {output}");
            }
        }
        open.output().await?;

        loop {
            tokio::select! {
                level = levels.next() => {
                    let level = level.ok_or("the watch ended")??;
                    outln!("moisture {} % (rising)", level.value);
                }
                alarm = wet.next() => {
                    let alarm = alarm.ok_or("the event stream ended")??;
                    outln!("very_wet_alarm: {} (seq {})", alarm.data, alarm.seq);
                    break;
                }
            }
        }

        let close = thing.invoke("close_valve", json!(null)).await?;
        close.output().await?;
        outln!("  close_valve: done, valve closed");
    }
    outln!("done after {cycles} cycles");
    client.shutdown();
    transport.close().await?;
    Ok(())
}

/// Connects to the device, waiting for it to appear (it may start after us).
async fn find(client: &Client, id: &str, wait: Duration) -> Result<RemoteThing, BoxError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut said = false;
    loop {
        match client.thing(id).await {
            Ok(thing) => return Ok(thing),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(format!(
                    "{id} did not answer within {} s on {DEFAULT_ENDPOINT}: {e}",
                    wait.as_secs()
                )
                .into());
            }
            Err(_) => {
                if !said {
                    outln!("waiting for {id} ...");
                    said = true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

//! The seed's gardening device, as its own process on the network:
//!
//! ```sh
//! cargo run --example gardening_device        # terminal 1
//! cargo run --example gardening_controller    # terminal 2
//! ```
//!
//! A simulated soil moisture sensor with a water valve. Moisture falls a little every tick
//! while the valve is closed and rises while it is open; below 5 % the device raises
//! `very_dry_alarm`, above 90 % `very_wet_alarm`. It listens on `tcp/127.0.0.1:7447` (where
//! the controller and the `safething` console look by default) with no multicast: nothing
//! leaves this machine. `SAFETHING_ZENOH_*` variables change that (see
//! `safething::transport::zenoh`), e.g. `SAFETHING_ZENOH_MODE=client
//! SAFETHING_ZENOH_CONNECT=tcp/127.0.0.1:7447` to join a `safething router` that listens
//! there instead.
//!
//! Ownership: for a two-terminal demo the device provisions as its owner the public key of the
//! identity file the controller uses, `target/safething-demo/controller.key` (created on
//! first use by whichever program starts first). With `--unclaimed` it starts without an
//! owner instead and prints its one-time claim token and URI; `safething claim garden-01
//! TOKEN` makes the console's identity the owner, which the device remembers in
//! `target/safething-demo/<id>.state`. The device keeps its own key in
//! `target/safething-demo/device.key`, so a restarted device is the same thing to its
//! clients. Options: `--id ID` (default `garden-01`), `--tick 500ms`, `--demo-dir DIR`,
//! `--unclaimed`.

#[macro_use]
#[path = "support/out.rs"]
mod out;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use safething::device::{Device, Handlers};
use safething::transport::zenoh::{
    DEFAULT_ENDPOINT, Mode, ZenohConfig, ZenohTransport, parse_duration,
};
use safething::wire::ActionError;
use safething::{Identity, ir::CheckedDefinition};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn definition() -> Result<CheckedDefinition, BoxError> {
    let loaded = safething_codegen::load_str(
        "gardening_device.toml",
        include_str!("things/gardening_device.toml"),
    )
    .map_err(|e| e.render(false))?;
    Ok(loaded.definition)
}

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

fn demo_dir() -> PathBuf {
    arg("--demo-dir").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/safething-demo"),
        PathBuf::from,
    )
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
    let tick = match arg("--tick") {
        Some(t) => parse_duration(&t)?,
        None => Duration::from_millis(500),
    };
    let dir = demo_dir();
    let owner = Identity::load_or_create(dir.join("controller.key"))?;
    let identity = Identity::load_or_create(dir.join("device.key"))?;

    let config = ZenohConfig::new().listen([DEFAULT_ENDPOINT]).with_env()?;
    let transport = ZenohTransport::open(&config).await?;
    let unclaimed = std::env::args().any(|a| a == "--unclaimed");
    let builder = Device::builder(definition()?, id.clone())
        .transport(transport.clone())
        .identity(identity);
    let device = if unclaimed {
        builder
            .state_file(dir.join(format!("{id}.state")))
            .build()?
    } else {
        builder.owner(*owner.public_key()).build()?
    };

    let valve_open = Arc::new(AtomicBool::new(false));
    let pressure = Arc::new(std::sync::atomic::AtomicU64::new(0));
    device.serve(valve_handlers(
        &device,
        valve_open.clone(),
        pressure.clone(),
    ));
    device.register().await?;
    device.set_attribute("valve_state", json!("closed")).await?;
    match (device.claim_token(), device.parties().owner) {
        (Some(claim), _) => {
            outln!(
                "device {id} online, key {}, unclaimed",
                device.public_key().short()
            );
            outln!(
                "claim it within 15 minutes: safething claim {id} {}",
                claim.token
            );
            outln!("claim URI (for a QR code): {}", claim.uri);
        }
        (None, owner) => {
            if !unclaimed {
                device.publish().await?;
            }
            let owner = owner.map_or_else(|| "none".to_owned(), |o| o.short());
            outln!(
                "device {id} online, key {}, owner {owner}",
                device.public_key().short()
            );
        }
    }
    let listen = config.listen_endpoints();
    if config.mode_value() == Mode::Client || listen.is_empty() {
        outln!("connected to {}", config.connect_endpoints().join(", "));
    } else {
        outln!("listening on {}", listen.join(", "));
    }

    let mut level: f64 = 12.0;
    let mut dry_reported = false;
    let mut wet_reported = false;
    let mut ticker = tokio::time::interval(tick);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        let open = valve_open.load(Ordering::SeqCst);
        if open {
            // Water flows faster at higher pressure.
            let psi = f64::from(u32::try_from(pressure.load(Ordering::SeqCst)).unwrap_or(60));
            level = (level + psi / 4.0).min(100.0);
        } else {
            level = (level - 4.0).max(0.0);
        }
        level = (level * 10.0).round() / 10.0;
        device.set_attribute("moisture_level", json!(level)).await?;
        outln!(
            "moisture {level:5.1} %  valve {}",
            if open { "open" } else { "closed" }
        );
        let reading = json!({"level": level, "at": now_rfc3339()});
        if level < 5.0 && !dry_reported {
            dry_reported = true;
            device.emit_event("very_dry_alarm", reading.clone()).await?;
            outln!("-> very_dry_alarm");
        } else if level >= 5.0 {
            dry_reported = false;
        }
        if level > 90.0 && !wet_reported {
            wet_reported = true;
            device.emit_event("very_wet_alarm", reading).await?;
            outln!("-> very_wet_alarm");
        } else if level <= 90.0 {
            wet_reported = false;
        }
    }
    outln!("shutting down");
    device.shutdown().await;
    transport.close().await?;
    Ok(())
}

fn valve_handlers(
    device: &Device,
    valve_open: Arc<AtomicBool>,
    pressure: Arc<std::sync::atomic::AtomicU64>,
) -> Handlers {
    let (open_device, close_device) = (device.clone(), device.clone());
    let close_flag = valve_open.clone();
    Handlers::new()
        .action("open_valve", move |input: Value, ctx| {
            let (device, valve_open, pressure) =
                (open_device.clone(), valve_open.clone(), pressure.clone());
            async move {
                let psi = input["psi"].as_u64().unwrap_or(60);
                outln!(
                    "<- open_valve {{psi: {psi}}} from {}",
                    ctx.requester().short()
                );
                // The valve takes a moment to turn.
                tokio::time::sleep(Duration::from_millis(300)).await;
                pressure.store(psi, Ordering::SeqCst);
                valve_open.store(true, Ordering::SeqCst);
                device
                    .set_attribute("valve_state", json!("open"))
                    .await
                    .map_err(|e| ActionError::new("valve_stuck", e.to_string()))?;
                Ok(json!("open"))
            }
        })
        .write("target_level", |value: Value, ctx| async move {
            outln!("<- target_level = {value} from {}", ctx.requester().short());
            Ok(())
        })
        .action("close_valve", move |_, ctx| {
            let (device, valve_open) = (close_device.clone(), close_flag.clone());
            async move {
                outln!("<- close_valve from {}", ctx.requester().short());
                valve_open.store(false, Ordering::SeqCst);
                device
                    .set_attribute("valve_state", json!("closed"))
                    .await
                    .map_err(|e| ActionError::new("valve_stuck", e.to_string()))?;
                Ok(Value::Null)
            }
        })
}

/// The current time as RFC 3339 (UTC, seconds), without a date crate.
fn now_rfc3339() -> String {
    let secs = safething::envelope::now_ms() / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

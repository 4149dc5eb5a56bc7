//! In-process runtime figures: event latency and throughput through a filtered subscription,
//! action round trips, and the memory of idle devices. Prints a table; asserts nothing.
//!
//! ```sh
//! cargo bench --bench runtime
//! ```
//!
//! The inputs are the benchmark's own fixed definitions, so a failed step is a bug in the
//! benchmark, not bad input: it stops there (`expect`, `panic!`) instead of reporting an error.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use safething::client::Client;
use safething::device::{Device, DeviceConfig, Handlers};
use safething::envelope::Signing;
use safething::ir::CheckedDefinition;
use safething::transport::memory::MemoryNetwork;
use safething::{Filter, Identity};

const LATENCY_SAMPLES: usize = 5_000;
const THROUGHPUT_EVENTS: usize = 50_000;
const ACTION_SAMPLES: usize = 2_000;
const IDLE_DEVICES: usize = 1_000;

fn definition() -> CheckedDefinition {
    match safething_codegen::load_str(
        "gardening_device.toml",
        include_str!("../examples/things/gardening_device.toml"),
    ) {
        Ok(loaded) => loaded.definition,
        Err(e) => panic!("{}", e.render(false)),
    }
}

struct Pair {
    device: Device,
    garden: safething::client::RemoteThing,
    _client: Client,
}

async fn pair(network: &MemoryNetwork, signing: Signing) -> Pair {
    let owner = Identity::generate().expect("identity");
    let device = Device::builder(definition(), "bench-garden")
        .transport(network.session())
        .owner(*owner.public_key())
        .config(
            DeviceConfig::default()
                .with_signing(signing)
                .with_concurrency(8),
        )
        .build()
        .expect("device");
    device.serve(
        Handlers::new()
            .action("open_valve", |_, _| async { Ok(json!("open")) })
            .action("close_valve", |_, _| async { Ok(Value::Null) }),
    );
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    let client = Client::builder()
        .transport(network.session())
        .identity(owner)
        .signing(signing)
        .build()
        .await
        .expect("client");
    let garden = client.thing("bench-garden").await.expect("thing");
    Pair {
        device,
        garden,
        _client: client,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

async fn event_latency(p: &Pair) -> (Duration, Duration) {
    let mut events = p
        .garden
        .subscribe("very_dry_alarm", Filter::field("level").lt(50.0))
        .await
        .expect("subscribe");
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for i in 0..LATENCY_SAMPLES {
        let t0 = Instant::now();
        p.device
            .emit_event("very_dry_alarm", json!({ "level": (i % 50) as f64 }))
            .await
            .expect("emit");
        events.next().await.expect("delivery").expect("valid");
        samples.push(t0.elapsed());
    }
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

async fn event_throughput(p: &Pair) -> (f64, usize) {
    let mut events = p
        .garden
        .subscribe("very_dry_alarm", Filter::field("level").lt(50.0))
        .await
        .expect("subscribe");
    let window = 512;
    let t0 = Instant::now();
    let mut received = 0;
    let mut sent = 0;
    while sent < THROUGHPUT_EVENTS {
        for _ in 0..window {
            p.device
                .emit_event("very_dry_alarm", json!({ "level": 1.0 }))
                .await
                .expect("emit");
            sent += 1;
        }
        // Keep the subscriber's buffer from overflowing: wait until it caught up to one window.
        while received + window / 2 < sent {
            match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
                Ok(Some(Ok(_))) => received += 1,
                _ => break,
            }
        }
    }
    while received < sent {
        match tokio::time::timeout(Duration::from_millis(500), events.next()).await {
            Ok(Some(Ok(_))) => received += 1,
            _ => break,
        }
    }
    (
        received as f64 / t0.elapsed().as_secs_f64(),
        sent - received,
    )
}

async fn action_round_trip(p: &Pair) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(ACTION_SAMPLES);
    for _ in 0..ACTION_SAMPLES {
        let t0 = Instant::now();
        let h = p
            .garden
            .invoke("open_valve", json!({ "psi": 60 }))
            .await
            .expect("invoke");
        h.output().await.expect("done");
        samples.push(t0.elapsed());
    }
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident * 4096)
}

async fn idle_device_memory() -> Option<u64> {
    let network = MemoryNetwork::new();
    let def = definition();
    let owner = Identity::generate().expect("identity");
    // Warm up allocator pools and the runtime before measuring.
    let warm = Device::builder(def.clone(), "warm-00000")
        .transport(network.session())
        .build()
        .expect("device");
    warm.register().await.expect("register");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = rss_bytes()?;
    let mut devices = Vec::with_capacity(IDLE_DEVICES);
    for i in 0..IDLE_DEVICES {
        let d = Device::builder(def.clone(), format!("idle-{i:05}"))
            .transport(network.session())
            .owner(*owner.public_key())
            .build()
            .expect("device");
        d.register().await.expect("register");
        d.set_attribute("moisture_level", json!(50.0))
            .await
            .expect("set");
        devices.push(d);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = rss_bytes()?;
    drop(devices);
    Some(after.saturating_sub(before) / IDLE_DEVICES as u64)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!("SAFEthing in-process runtime (gardening device, filtered subscriber)");
    println!("{:<38} {:>14} {:>14}", "", "signed", "unsigned");
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut results = Vec::new();
    for signing in [Signing::Signed, Signing::Unsigned] {
        let network = MemoryNetwork::new();
        let p = pair(&network, signing).await;
        let (ev50, ev99) = event_latency(&p).await;
        let (rate, lost) = event_throughput(&p).await;
        let (ac50, ac99) = action_round_trip(&p).await;
        results.push((ev50, ev99, rate, lost, ac50, ac99));
        p.device.shutdown().await;
    }
    let (s, u) = (&results[0], &results[1]);
    rows.push(("event emit -> callback p50".into(), us(s.0), us(u.0)));
    rows.push(("event emit -> callback p99".into(), us(s.1), us(u.1)));
    rows.push((
        "event throughput (msg/s)".into(),
        format!("{:.0}", s.2),
        format!("{:.0}", u.2),
    ));
    rows.push(("events lost".into(), s.3.to_string(), u.3.to_string()));
    rows.push(("action request -> done p50".into(), us(s.4), us(u.4)));
    rows.push(("action request -> done p99".into(), us(s.5), us(u.5)));
    for (name, a, b) in rows {
        println!("{name:<38} {a:>14} {b:>14}");
    }
    match idle_device_memory().await {
        Some(bytes) => println!(
            "memory per idle device ({IDLE_DEVICES} devices): {:.1} KiB",
            bytes as f64 / 1024.0
        ),
        None => println!("memory per idle device: /proc/self/statm unavailable"),
    }
}

//! `cargo bench -p safething-store --bench store`: how fast the store keeps signed
//! publications (and that it loses none), and how long a read takes from the device and from
//! the store. Over the in-process network, then over Zenoh (peer sessions on TCP loopback: the
//! store, the device, the client and a tap each on their own); prints figures.
//! `BENCH_NET=memory` or `BENCH_NET=zenoh` runs one of them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use safething::Identity;
use safething::client::{Client, ClientConfig, Source};
use safething::device::Device;
use safething::transport::Transport;
use safething::transport::memory::MemoryNetwork;
use safething::transport::zenoh::{ZenohConfig, ZenohTransport};
use safething_store::{Db, Retention, Store};

const PUBLICATIONS: u64 = 10_000;
const READS: u32 = 300;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let chosen = std::env::var("BENCH_NET").unwrap_or_default();
    for net in ["memory", "zenoh"] {
        if chosen.is_empty() || chosen == net {
            println!("== {net}");
            runtime.block_on(bench(net));
        }
    }
}

/// Where the parts of the bench meet: new sessions of one in-process network, or new Zenoh
/// peers that connect to the first.
enum Net {
    Memory(MemoryNetwork),
    Zenoh(String),
}

impl Net {
    async fn new(kind: &str) -> Net {
        if kind == "memory" {
            return Net::Memory(MemoryNetwork::new());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Net::Zenoh(format!("tcp/127.0.0.1:{port}"))
    }

    /// A session; over Zenoh the first one listens and the others connect to it.
    async fn session(&self, first: bool) -> Arc<dyn Transport> {
        match self {
            Net::Memory(net) => Arc::new(net.session()),
            Net::Zenoh(end) => {
                // Every peer listens (on a port of its own), so that gossip connects them all
                // to each other: peers do not route for one another.
                let config = if first {
                    ZenohConfig::new().listen([end.clone()])
                } else {
                    ZenohConfig::new().connect([end.clone()])
                };
                let t = ZenohTransport::open(&config).await.expect("zenoh session");
                if !first {
                    assert!(t.wait_for_neighbours(Duration::from_secs(5)).await);
                }
                Arc::new(t)
            }
        }
    }
}

async fn bench(kind: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let net = Net::new(kind).await;
    let retention = Retention {
        max_count: PUBLICATIONS + 10,
        max_bytes: u64::MAX,
        ..Retention::default()
    };
    let db = Db::open(&dir.path().join("bench.redb"), retention).expect("db");
    let store = Store::start(net.session(true).await, db)
        .await
        .expect("store");
    let definition = serde_json::from_value::<safething::ir::Definition>(json!({
        "thing": {"name": "Bench", "version": "1.0.0"},
        "attributes": {"level": {"type": "integer", "history": 10, "access": "all"}}
    }))
    .expect("definition");
    let device = Device::builder(definition.checked().expect("valid"), "bench-0001")
        .transport_arc(net.session(false).await)
        .build()
        .expect("device");
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    wait(|| store.stats().stored() >= 1).await;

    // The pipeline alone: check (signature, key, kind, sender) and commit, as the writer does.
    let (frames, key) = signed_frames(&device, &net).await;
    let pipeline_dir = tempfile::tempdir().expect("dir");
    let pipeline_db = Db::open(&pipeline_dir.path().join("p.redb"), retention).expect("db");
    let d = device.description();
    pipeline_db
        .remember_thing(d.id.as_str(), d.thing_key.as_bytes())
        .expect("thing");
    let checker = safething_store::Checker::default();
    let start = Instant::now();
    let mut kept = 0;
    for group in frames.chunks(512) {
        let mut incoming = Vec::with_capacity(group.len());
        for f in group {
            if let Ok(Ok(a)) = checker.check(&pipeline_db, &key, f) {
                incoming.push(safething_store::Incoming {
                    key: &key,
                    frame: f,
                    seq: a.seq,
                });
            }
        }
        kept += pipeline_db.ingest(&incoming, 0).expect("ingest");
    }
    let took = start.elapsed();
    println!(
        "ingest pipeline: {} signed publications checked and committed (groups of 512, fsync each) in {:.2} s: {:.0} frames/s, {} kept",
        frames.len(),
        took.as_secs_f64(),
        frames.len() as f64 / took.as_secs_f64(),
        kept
    );

    // Over the network at a steady rate: every publication kept. (The frames above reached
    // the store too: let it settle first.)
    let mut base = store.stats().stored();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = store.stats().stored();
        if now == base {
            break;
        }
        base = now;
    }
    let rate = 2_000u64;
    let start = Instant::now();
    for v in 1..=PUBLICATIONS {
        device.set_attribute("level", json!(v)).await.expect("set");
        let due = Duration::from_micros(v * 1_000_000 / rate);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
    }
    let published = start.elapsed();
    wait(|| store.stats().stored() >= base + PUBLICATIONS).await;
    let all = start.elapsed();
    let stored = store.stats().stored() - base;
    let lost = PUBLICATIONS - stored.min(PUBLICATIONS);
    println!(
        "network: {PUBLICATIONS} signed publications at {rate}/s in {:.2} s, committed {:.0} ms after the last: {lost} lost, {} dropped, {} failed commits",
        published.as_secs_f64(),
        (all - published).as_secs_f64() * 1e3,
        store.stats().dropped(),
        store
            .stats()
            .failed_commits
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    let size = std::fs::metadata(dir.path().join("bench.redb")).map_or(0, |m| m.len());
    println!(
        "database: {:.1} MiB (all frames kept so far)",
        size as f64 / (1u64 << 20) as f64
    );

    let client = Client::builder()
        .transport_arc(net.session(false).await)
        .identity(Identity::generate().expect("identity"))
        .config(ClientConfig::default().with_request_timeout(Duration::from_millis(200)))
        .build()
        .await
        .expect("client");
    let mut thing = client.thing("bench-0001").await;
    for _ in 0..50 {
        if thing.is_ok() {
            break;
        }
        // Over Zenoh, until gossip has connected the client to the device.
        tokio::time::sleep(Duration::from_millis(100)).await;
        thing = client.thing("bench-0001").await;
    }
    let thing = thing.expect("thing");
    let device_ms = reads(&thing, Source::Device).await;
    device.shutdown().await;
    drop(device);
    let store_ms = reads(&thing, Source::Store).await;
    println!(
        "read latency (mean of {READS}): device {device_ms:.3} ms, store {store_ms:.3} ms, store/device {:.2}x (goal <= 2x; the device gone: one failed device query first, then the store, verified)",
        store_ms / device_ms
    );
    let history = Instant::now();
    let h = thing.history_with_source("level").await.expect("history");
    println!(
        "history from the store: {} entries in {:.2} ms",
        h.len(),
        history.elapsed().as_secs_f64() * 1e3
    );
    store.close().await;
}

async fn reads(thing: &safething::client::RemoteThing, source: Source) -> f64 {
    let start = Instant::now();
    for _ in 0..READS {
        let r = thing.read_with_source("level").await.expect("read");
        assert_eq!(r.source, source);
        assert_eq!(r.value, json!(PUBLICATIONS));
    }
    start.elapsed().as_secs_f64() * 1e3 / f64::from(READS)
}

async fn wait(mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !f() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Signed publications as the device makes them under load (batched), caught on the wire.
async fn signed_frames(device: &Device, net: &Net) -> (Vec<bytes::Bytes>, String) {
    let tap = net.session(false).await;
    let key = "safething/v1/bench-0001/attributes/level".to_owned();
    let mut wire = tap.subscribe(&key).await.expect("tap");
    // Over Zenoh the subscription takes a moment to reach the device.
    for v in 0..500u64 {
        device.set_attribute("level", json!(v)).await.expect("set");
        if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(10), wire.recv()).await {
            break;
        }
    }
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), wire.recv()).await {}
    let mut frames = Vec::new();
    for round in 0..20u64 {
        for v in 0..500u64 {
            device
                .set_attribute("level", json!(1_000_000 + round * 1_000 + v))
                .await
                .expect("set");
        }
        while let Ok(Some(s)) = tokio::time::timeout(Duration::from_millis(50), wire.recv()).await {
            frames.push(s.payload);
        }
    }
    (frames, key)
}

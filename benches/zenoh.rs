//! SAFEthing over Zenoh next to raw Zenoh, in one process and one run:
//! `cargo bench --bench zenoh`.
//!
//! Two Zenoh sessions (peers) talk over TCP on loopback. Raw Zenoh: a declared publisher
//! (congestion control Block) to a subscriber read from a tokio task, and a `get` answered by
//! a queryable. SAFEthing: a device on one session, a client on the other; the event path
//! (`emit_event` -> `EventStream`, rows `event, …`), the attribute-watch path (`set_attribute`
//! -> `Watch`, rows `watch, …`) and an action's round trip (`invoke` -> `output`, rows
//! `action, …`), unsigned and signed. Signed publications are signed in batches under load
//! (`safething::batch`); a signed path's raw baseline carries frames of the size of a frame
//! signed alone (a batched frame is larger: its proof).
//!
//! Latency is one-way for publications (both ends share the process clock) and a round trip
//! for queries and actions, one message in flight at a time. Throughput is a flood of
//! messages counted at the receiver; raw floods use payloads of the size SAFEthing sends.
//! The paths take turns in rounds, each round starting one path further on, so that a load
//! that comes and goes on the machine weighs on all of them alike. Each flood of a SAFEthing
//! path runs right after a flood of its raw baseline; its throughput ratio is the median of
//! those pairs' ratios, so that a round hit by such a load does not decide it.
//!
//! Environment: `BENCH_SAMPLES` (latency samples per path, default 3000), `BENCH_FLOOD_MS`
//! (how long each flood lasts, default 200), `BENCH_ONLY` (a comma-separated subset of `raw`,
//! `unsigned`, `signed`) and `BENCH_FILTER` (paths whose name contains one of its
//! comma-separated parts), for profiling; `BENCH_INLINE_PUTS=1` has SAFEthing's puts made by
//! the publishing task instead of each session's sender thread (`ZenohTransport::with_inline_puts`).
//!
//! The inputs are the benchmark's own fixed definitions, so a failed step is a bug in the
//! benchmark, not bad input: it stops there (`expect`, `panic!`) instead of reporting an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};
use zenoh::Wait;
use zenoh::qos::CongestionControl;
use zenoh::query::{ConsolidationMode, QueryTarget};

use safething::client::Client;
use safething::device::{Device, Handlers};
use safething::envelope::{Sealer, Signing};
use safething::transport::zenoh::{ZenohConfig, ZenohTransport};
use safething::{Filter, Identity};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Rounds the latency samples and the floods are split into.
const LATENCY_ROUNDS: usize = 10;
const FLOOD_ROUNDS: usize = 7;

fn definition() -> safething::ir::Definition {
    serde_json::from_value(json!({
        "thing": {"name": "BenchThing", "version": "1.0.0"},
        "attributes": {"level": {"type": "number", "access": "all"}},
        "events": {"tick": {"data": {"type": "integer"}, "access": "all"}},
        "actions": {"echo": {"input": {"type": "integer"}, "output": {"type": "integer"}, "access": "all"}}
    }))
    .expect("the bench definition parses")
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether a section (`raw`, `unsigned`, `signed`) runs: all unless `BENCH_ONLY` lists some.
fn only(section: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |v| v.split(',').any(|s| s.trim() == section))
}

async fn sessions() -> Result<(ZenohTransport, ZenohTransport), BoxError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let a_end = format!("tcp/127.0.0.1:{port}");
    let a = ZenohTransport::open(&ZenohConfig::new().listen([a_end.clone()])).await?;
    let b = ZenohTransport::open(
        &ZenohConfig::new()
            .listen(Vec::<String>::new())
            .connect([a_end]),
    )
    .await?;
    if !b.wait_for_neighbours(Duration::from_secs(5)).await {
        return Err("the two sessions did not connect".into());
    }
    if std::env::var_os("BENCH_INLINE_PUTS").is_some() {
        return Ok((a.with_inline_puts(), b.with_inline_puts()));
    }
    Ok((a, b))
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// Where a receiver reports: the one-way latency of each message while latency is measured
/// (the sender stamps the time just before sending), and a count of everything received.
struct Sink {
    base: Instant,
    sent: AtomicU64,
    measuring: AtomicBool,
    count: AtomicUsize,
    latencies: mpsc::UnboundedSender<Duration>,
}

impl Sink {
    fn new() -> (Arc<Sink>, Arc<Mutex<mpsc::UnboundedReceiver<Duration>>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink = Arc::new(Sink {
            base: Instant::now(),
            sent: AtomicU64::new(0),
            measuring: AtomicBool::new(true),
            count: AtomicUsize::new(0),
            latencies: tx,
        });
        (sink, Arc::new(Mutex::new(rx)))
    }

    fn mark(&self) {
        let ns = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.sent.store(ns, Ordering::Release);
    }

    /// Called by the receiver for every message.
    fn got(&self) {
        if self.measuring.load(Ordering::Relaxed) {
            let sent = Duration::from_nanos(self.sent.load(Ordering::Acquire));
            let _ = self
                .latencies
                .send(self.base.elapsed().saturating_sub(sent));
        }
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

type SendFn =
    Arc<dyn Fn(u64) -> BoxFuture<'static, Result<(), BoxError>> + std::marker::Send + Sync>;

/// One path under test.
struct Path {
    name: String,
    /// Takes one latency sample.
    sample:
        Box<dyn FnMut(u64) -> BoxFuture<'static, Result<Duration, BoxError>> + std::marker::Send>,
    /// For publication paths: sends one message, and where receptions are counted.
    flood: Option<(SendFn, Arc<Sink>)>,
    latencies: Vec<Duration>,
    /// Per flood: messages sent, messages received, time to the last reception.
    flooded: Vec<(u64, u64, Duration)>,
    /// Per flood: its rate over the rate of the baseline's flood just before it.
    paired: Vec<f64>,
}

impl Path {
    /// A publication path: `send` publishes message `i`; the receiver calls `sink.got()`.
    fn publication(
        name: String,
        send: SendFn,
        sink: Arc<Sink>,
        rx: Arc<Mutex<mpsc::UnboundedReceiver<Duration>>>,
    ) -> Path {
        let (s, k) = (send.clone(), sink.clone());
        let sample = Box::new(move |i: u64| {
            let (send, sink, rx) = (s.clone(), k.clone(), rx.clone());
            let fut: BoxFuture<'static, Result<Duration, BoxError>> = Box::pin(async move {
                sink.mark();
                send(i).await?;
                let mut rx = rx.lock().await;
                let d = tokio::time::timeout(Duration::from_secs(5), rx.recv())
                    .await
                    .map_err(|_| format!("message {i} was not received"))?
                    .ok_or("the receiver stopped")?;
                Ok(d)
            });
            fut
        });
        Path {
            name,
            sample,
            flood: Some((send, sink)),
            latencies: Vec::new(),
            flooded: Vec::new(),
            paired: Vec::new(),
        }
    }

    /// A round-trip path: `f` runs one exchange and returns how long it took.
    fn round_trip(
        name: String,
        f: impl FnMut(u64) -> BoxFuture<'static, Result<Duration, BoxError>>
        + std::marker::Send
        + 'static,
    ) -> Path {
        Path {
            name,
            sample: Box::new(f),
            flood: None,
            latencies: Vec::new(),
            flooded: Vec::new(),
            paired: Vec::new(),
        }
    }

    fn percentiles(&self) -> Option<(f64, f64)> {
        if self.latencies.is_empty() {
            return None;
        }
        let mut s = self.latencies.clone();
        s.sort();
        let at = |q: f64| {
            // In bounds: q is in [0, 1].
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let i = ((s.len() - 1) as f64 * q).round() as usize;
            s[i].as_secs_f64() * 1e6
        };
        Some((at(0.50), at(0.99)))
    }

    /// Messages per second received in each flood round.
    #[allow(clippy::cast_precision_loss)]
    fn round_rates(&self) -> Vec<f64> {
        self.flooded
            .iter()
            .map(|(_, got, time)| *got as f64 / time.as_secs_f64().max(1e-9))
            .collect()
    }

    /// Messages per second received (the median of the rounds), and the fraction lost.
    #[allow(clippy::cast_precision_loss)]
    fn rate(&self) -> Option<(f64, f64)> {
        let median = median(self.round_rates())?;
        let sent: u64 = self.flooded.iter().map(|r| r.0).sum();
        let got: u64 = self.flooded.iter().map(|r| r.1).sum();
        Some((median, (1.0 - got as f64 / sent.max(1) as f64).max(0.0)))
    }

    /// Throughput relative to its baseline: the median of its floods' ratios, each to the
    /// baseline's flood run just before it (so under much the same load).
    fn rate_ratio(&self) -> Option<f64> {
        median(self.paired.clone())
    }

    /// Sends messages as fast as the path takes them for `duration`, then waits for the
    /// receiver to get them all (or to go quiet); returns the rate received (`None` for paths
    /// that are not publications).
    async fn flood(&mut self, duration: Duration) -> Result<Option<f64>, BoxError> {
        let Some((send, sink)) = &self.flood else {
            return Ok(None);
        };
        sink.measuring.store(false, Ordering::Relaxed);
        let before = sink.count.load(Ordering::Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let sender = {
            let (send, stop) = (send.clone(), stop.clone());
            tokio::spawn(async move {
                let mut sent = 0;
                while !stop.load(Ordering::Relaxed) {
                    send(sent).await?;
                    sent += 1;
                }
                Ok::<u64, BoxError>(sent)
            })
        };
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let sent = sender.await??;
        let mut last = (before, Instant::now());
        loop {
            let now = sink.count.load(Ordering::Relaxed);
            if now != last.0 {
                last = (now, Instant::now());
            }
            if (now - before) as u64 >= sent || last.1.elapsed() > Duration::from_millis(300) {
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        sink.measuring.store(true, Ordering::Relaxed);
        self.flooded.push((
            sent,
            (last.0 - before) as u64,
            last.1.duration_since(started),
        ));
        Ok(self.round_rates().last().copied())
    }
}

/// The first path whose name starts with `name`.
fn position(paths: &[Path], name: &str) -> Option<usize> {
    paths.iter().position(|p| p.name.starts_with(name))
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

// ---------------------------------------------------------------------------------------------
// Raw Zenoh

async fn raw_pubsub(
    a: &ZenohTransport,
    b: &ZenohTransport,
    size: usize,
    key: &'static str,
) -> Result<(Path, Vec<Box<dyn std::any::Any + std::marker::Send>>), BoxError> {
    let subscriber = b.session().declare_subscriber(key).await?;
    let publisher = Arc::new(
        a.session()
            .declare_publisher(key)
            .congestion_control(CongestionControl::Block)
            .await?,
    );
    let (sink, rx) = Sink::new();
    let s = sink.clone();
    let reader = tokio::spawn(async move {
        while let Ok(sample) = subscriber.recv_async().await {
            let _ = sample.payload().to_bytes();
            s.got();
        }
    });
    let payload = vec![b'x'; size];
    let send: SendFn = Arc::new(move |_| {
        let r = publisher.put(payload.clone()).wait();
        Box::pin(async move { r.map_err(|e| -> BoxError { e.to_string().into() }) })
    });
    let path = Path::publication(format!("raw pub/sub, {size} B"), send, sink, rx);
    Ok((path, vec![Box::new(Abort(reader))]))
}

struct Abort(tokio::task::JoinHandle<()>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A raw query answered by a queryable: in its callback (`in_task` false, the fastest Zenoh
/// allows), or from a tokio task reading the queryable's channel (as any async handler does).
async fn raw_query(
    a: &ZenohTransport,
    b: &ZenohTransport,
    size: usize,
    in_task: bool,
) -> Result<(Path, Vec<Box<dyn std::any::Any + std::marker::Send>>), BoxError> {
    let key = if in_task {
        "bench/raw/query-task"
    } else {
        "bench/raw/query"
    };
    let reply = vec![b'y'; size];
    let keep: Box<dyn std::any::Any + std::marker::Send> = if in_task {
        let queryable = a.session().declare_queryable(key).await?;
        Box::new(Abort(tokio::spawn(async move {
            while let Ok(q) = queryable.recv_async().await {
                let _ = q.reply(key, reply.clone()).await;
            }
        })))
    } else {
        Box::new(
            a.session()
                .declare_queryable(key)
                .callback(move |q| {
                    let _ = q.reply(key, reply.clone()).wait();
                })
                .await?,
        )
    };
    let session = b.session().clone();
    let payload = vec![b'x'; size];
    let name = if in_task {
        "raw query, answered by a task"
    } else {
        "raw query round trip"
    };
    let path = Path::round_trip(name.into(), move |_| {
        let (session, payload) = (session.clone(), payload.clone());
        Box::pin(async move {
            let started = Instant::now();
            let replies = session
                .get(key)
                .payload(payload)
                .consolidation(ConsolidationMode::None)
                .target(QueryTarget::All)
                .timeout(Duration::from_secs(5))
                .await?;
            let mut got = 0;
            while let Ok(r) = replies.recv_async().await {
                if let Ok(s) = r.result() {
                    let _ = s.payload().to_bytes();
                    got += 1;
                }
            }
            if got != 1 {
                return Err("a raw query got no reply".into());
            }
            Ok(started.elapsed())
        })
    });
    Ok((path, vec![keep]))
}

// ---------------------------------------------------------------------------------------------
// SAFEthing

async fn safething_paths(
    a: &ZenohTransport,
    b: &ZenohTransport,
    signing: Signing,
    label: &str,
) -> Result<(Vec<Path>, Vec<Box<dyn std::any::Any + std::marker::Send>>), BoxError> {
    let id = format!("bench-{label}");
    let device = Device::builder(definition().checked().unwrap(), id.clone())
        .transport(a.clone())
        .signing(signing)
        .build()?;
    device.serve(Handlers::new().action("echo", |input: Value, _| async move { Ok(input) }));
    device.register().await?;
    device.publish().await?;
    let client = Client::builder()
        .transport(b.clone())
        .signing(signing)
        .build()
        .await?;
    let started = Instant::now();
    let thing = loop {
        match client.thing(&id).await {
            Ok(t) => break t,
            Err(e) if started.elapsed() > Duration::from_secs(5) => return Err(e.into()),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let mut keep: Vec<Box<dyn std::any::Any + std::marker::Send>> = Vec::new();
    let mut paths = Vec::new();

    let (sink, rx) = Sink::new();
    let mut events = thing.subscribe("tick", Filter::any()).await?;
    let s = sink.clone();
    keep.push(Box::new(Abort(tokio::spawn(async move {
        while let Some(item) = events.next().await {
            if item.is_ok() {
                s.got();
            }
        }
    }))));
    let d = device.clone();
    let send: SendFn = Arc::new(move |i| {
        let d = d.clone();
        Box::pin(async move { Ok(d.emit_event("tick", json!(i)).await?) })
    });
    paths.push(Path::publication(format!("event, {label}"), send, sink, rx));

    let (sink, rx) = Sink::new();
    let mut watch = thing.watch("level", Filter::any()).await?;
    let s = sink.clone();
    keep.push(Box::new(Abort(tokio::spawn(async move {
        while let Some(item) = watch.next().await {
            if item.is_ok() {
                s.got();
            }
        }
    }))));
    let d = device.clone();
    // Every value differs from the last (unchanged values are not published).
    let next = Arc::new(AtomicU64::new(0));
    let send: SendFn = Arc::new(move |_| {
        let (d, next) = (d.clone(), next.clone());
        Box::pin(async move {
            let v = next.fetch_add(1, Ordering::Relaxed);
            d.set_attribute("level", json!(v)).await?;
            Ok(())
        })
    });
    paths.push(Path::publication(format!("watch, {label}"), send, sink, rx));

    let t = thing.clone();
    paths.push(Path::round_trip(format!("action, {label}"), move |i| {
        let t = t.clone();
        Box::pin(async move {
            let started = Instant::now();
            let output = t.invoke("echo", json!(i)).await?.output().await?;
            if output != json!(i) {
                return Err(format!("echo returned {output}").into());
            }
            Ok(started.elapsed())
        })
    }));
    keep.push(Box::new(device));
    keep.push(Box::new(client));
    Ok((paths, keep))
}

/// The size of an event frame as SAFEthing sends it.
fn event_size(signing: Signing) -> Result<usize, BoxError> {
    let sealer = Sealer::new(Identity::generate()?, signing);
    let body = json!({"data": 12345, "seq": 12345, "epoch": 123_456_789});
    Ok(sealer
        .seal(
            "safething/v1/bench-unsigned/events/tick",
            safething::envelope::Kind::Publication,
            safething::envelope::Binding::None,
            &body,
        )?
        .len())
}

// ---------------------------------------------------------------------------------------------
// The run

fn main() -> Result<(), BoxError> {
    // Not one worker: a flood's put blocks while the link is congested, and the reader that
    // would drain it needs a worker too (raw Zenoh's floods hang as well).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> Result<(), BoxError> {
    let started = Instant::now();
    let samples = env_usize("BENCH_SAMPLES", 3000);
    let flood_ms = env_usize("BENCH_FLOOD_MS", 200);
    let flood = Duration::from_millis(u64::try_from(flood_ms).unwrap_or(200));
    let (a, b) = sessions().await?;
    let unsigned_size = event_size(Signing::Unsigned)?;
    let signed_size = event_size(Signing::Signed)?;
    let mut paths: Vec<Path> = Vec::new();
    let mut keep = Vec::new();
    if only("raw") {
        let (p, k) = raw_pubsub(&a, &b, unsigned_size, "bench/raw/unsigned").await?;
        paths.push(p);
        keep.extend(k);
        let (p, k) = raw_pubsub(&a, &b, signed_size, "bench/raw/signed").await?;
        paths.push(p);
        keep.extend(k);
        for in_task in [false, true] {
            let (p, k) = raw_query(&a, &b, unsigned_size, in_task).await?;
            paths.push(p);
            keep.extend(k);
        }
    }
    for (signing, label) in [(Signing::Unsigned, "unsigned"), (Signing::Signed, "signed")] {
        if only(label) {
            let (p, k) = safething_paths(&a, &b, signing, label).await?;
            paths.extend(p);
            keep.extend(k);
        }
    }
    if let Ok(filter) = std::env::var("BENCH_FILTER") {
        paths.retain(|p| filter.split(',').any(|f| p.name.contains(f.trim())));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    eprintln!("latency: {samples} samples per path in {LATENCY_ROUNDS} rounds ...");
    for path in &mut paths {
        for i in 0..(samples / 10).max(10) {
            (path.sample)(i as u64).await?;
        }
    }
    let per_round = (samples / LATENCY_ROUNDS).max(1);
    // Each round starts one path further on, so that no path always follows the same one
    // (a flood of signed messages, say, leaves the machine busier than a raw one).
    let n = paths.len();
    for round in 0..LATENCY_ROUNDS {
        for k in 0..n {
            let path = &mut paths[(round + k) % n];
            for i in 0..per_round {
                let d = (path.sample)((round * per_round + i) as u64).await?;
                path.latencies.push(d);
            }
        }
    }
    // Each path's raw baseline, by index: raw pub/sub of the size it sends, the raw query for
    // actions.
    let raw_unsigned = position(&paths, "raw pub/sub");
    let baselines: Vec<Option<usize>> = paths
        .iter()
        .map(|p| {
            let paths = &paths[..];
            if p.name.starts_with("raw") {
                None
            } else if p.name.starts_with("action") {
                position(paths, "raw query")
            } else if p.name.ends_with("signed") && !p.name.ends_with("unsigned") {
                position(paths, &format!("raw pub/sub, {signed_size} B"))
            } else {
                raw_unsigned
            }
        })
        .collect();
    eprintln!("throughput: {FLOOD_ROUNDS} rounds of {flood_ms} ms floods ...");
    for round in 0..FLOOD_ROUNDS {
        for k in 0..n {
            let i = (round + k) % n;
            // A path with a baseline floods right after it; a raw path floods by itself only
            // when no path is measured against it (otherwise it has its paired floods).
            match baselines[i] {
                Some(b) if paths[i].flood.is_some() => {
                    let base = paths[b].flood(flood).await?;
                    let rate = paths[i].flood(flood).await?;
                    if let (Some(base), Some(rate)) = (base, rate) {
                        paths[i].paired.push(rate / base.max(1e-9));
                    }
                }
                None if !baselines.contains(&Some(i)) => {
                    paths[i].flood(flood).await?;
                }
                _ => {}
            }
        }
    }
    let baseline = |i: usize| baselines[i].map(|b| &paths[b]);
    println!();
    println!(
        "SAFEthing over Zenoh vs raw Zenoh: two peer sessions over TCP loopback in one process; \
         {samples} latency samples per path, interleaved; {FLOOD_ROUNDS} floods of {flood_ms} ms \
         per path, each right after a flood of its raw baseline; throughput is the median of \
         the floods, its ratio to raw the median of those pairs' ratios"
    );
    println!(
        "| {:<28} | {:>7} | {:>7} | {:>9} | {:>6} | {:>7} | {:>7} |",
        "path", "p50 us", "p99 us", "k msg/s", "loss %", "p50/raw", "thr/raw"
    );
    println!(
        "|{:-<30}|{:->9}|{:->9}|{:->11}|{:->8}|{:->9}|{:->9}|",
        "", "", "", "", "", "", ""
    );
    for (i, p) in paths.iter().enumerate() {
        let lat = p.percentiles();
        let thr = p.rate();
        let base = baseline(i);
        let lat_ratio = match (lat, base.and_then(Path::percentiles)) {
            (Some((x, _)), Some((r, _))) => format!("{:.2}x", x / r),
            _ => "-".into(),
        };
        let thr_ratio = match p.rate_ratio() {
            Some(ratio) => format!("{ratio:.2}x"),
            None => "-".into(),
        };
        println!(
            "| {:<28} | {:>7} | {:>7} | {:>9} | {:>6} | {:>7} | {:>7} |",
            p.name,
            lat.map_or("-".into(), |(p50, _)| format!("{p50:.1}")),
            lat.map_or("-".into(), |(_, p99)| format!("{p99:.1}")),
            thr.map_or("-".into(), |(r, _)| format!("{:.1}", r / 1e3)),
            thr.map_or("-".into(), |(_, l)| format!("{:.2}", l * 100.0)),
            lat_ratio,
            thr_ratio,
        );
    }
    println!();
    println!(
        "ratios: events and watches to raw pub/sub of the size of an unbatched frame, actions to \
         the raw query; targets: unsigned latency <= 1.25x, throughput >= 0.8x, action <= 1.3x; \
         signed event and watch throughput >= 0.5x, signed event latency <= 1.5x, signed action \
         <= 1.5x."
    );
    // A device answers from a task, as any async handler does: the raw query answered the
    // same way shows what that hop costs by itself.
    if let Some((task, _)) =
        position(&paths, "raw query, answered by a task").and_then(|i| paths[i].percentiles())
    {
        for p in paths.iter().filter(|p| p.name.starts_with("action")) {
            if let Some((p50, _)) = p.percentiles() {
                println!(
                    "{}: {:.2}x the raw query answered by a task",
                    p.name,
                    p50 / task
                );
            }
        }
    }
    println!("Took {:.1} s.", started.elapsed().as_secs_f64());
    drop(keep);
    a.close().await?;
    b.close().await?;
    Ok(())
}

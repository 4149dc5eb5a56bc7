//! Load and soak: one device emitting signed events at a fixed rate over Zenoh to three
//! watchers, each in its own process, for a minute: `cargo bench --bench soak`.
//!
//! Prints what was sent, what each watcher delivered, lost, received out of order or twice,
//! and every process's resident memory (RSS) at the start and the end of the flood. The goal:
//! nothing lost, nothing out of order, RSS flat. Processes, not tasks, so that each RSS is one
//! role's and a watcher that falls behind cannot slow the device through a shared runtime.
//!
//! Environment: `SOAK_RATE` (events per second, default 10000), `SOAK_SECS` (length of the
//! flood, default 60), `SOAK_WATCHERS` (default 3).
//!
//! The bench runs its own processes with fixed inputs, so a failed step is a bug in the bench,
//! not bad input: it stops there (`expect`, `panic!`) instead of reporting an error.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

use safething::client::Client;
use safething::device::{Device, Handlers};
use safething::transport::zenoh::{ZenohConfig, ZenohTransport};
use safething::{Filter, Identity};

const THING: &str = "soak-0001";
/// How long a watcher keeps reading after the device said it is done (late deliveries).
const DRAIN: Duration = Duration::from_secs(3);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn definition() -> safething::ir::Definition {
    serde_json::from_value(json!({
        "thing": {"name": "SoakThing", "version": "1.0.0"},
        "events": {
            "tick": {"data": {"type": "integer", "minimum": 0}, "access": "all"},
            "warmup": {"access": "all"}
        }
    }))
    .expect("the soak definition parses")
}

/// This process's resident set size in KiB (Linux; 0 elsewhere).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    match std::env::var("SOAK_ROLE").as_deref() {
        Ok("device") => role(device()),
        Ok("watcher") => role(watcher()),
        _ => lead(),
    }
}

fn role(future: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future);
}

/// Reads the lead's commands, one per line.
fn commands() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("stdout");
    out.flush().expect("stdout");
}

async fn device() {
    let endpoint = std::env::var("SOAK_ENDPOINT").expect("SOAK_ENDPOINT");
    let (rate, secs) = (env_u64("SOAK_RATE", 10_000), env_u64("SOAK_SECS", 60));
    let mut commands = commands();
    let transport = ZenohTransport::open(&ZenohConfig::new().listen([endpoint]))
        .await
        .expect("zenoh");
    let device = Device::builder(definition().checked().expect("valid"), THING)
        .transport(transport)
        .identity(Identity::generate().expect("identity"))
        .build()
        .expect("device");
    device.serve(Handlers::new());
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    say("ready");
    // Until the flood starts, a warm-up event every 10 ms: a watcher is ready once one reached
    // it, so the flood is not measured against subscriptions still on their way.
    loop {
        tokio::select! {
            command = commands.recv() => {
                assert_eq!(command.as_deref(), Some("go"));
                break;
            }
            () = tokio::time::sleep(Duration::from_millis(10)) => {
                device.emit_event("warmup", serde_json::Value::Null).await.expect("warm-up");
            }
        }
    }
    say(&format!("rss_start {}", rss_kib()));
    let total = rate * secs;
    let started = Instant::now();
    let mut failed = 0u64;
    for seq in 0..total {
        // Paced by the clock, not by sleeping a fixed step: a slow moment is caught up.
        let due = started + Duration::from_nanos(seq * 1_000_000_000 / rate);
        if let Some(ahead) = due.checked_duration_since(Instant::now()) {
            tokio::time::sleep(ahead).await;
        }
        if device.emit_event("tick", json!(seq)).await.is_err() {
            failed += 1;
        }
    }
    let took = started.elapsed();
    say(&format!(
        "sent {} {failed} {:.3}",
        total - failed,
        took.as_secs_f64()
    ));
    say(&format!("rss_end {}", rss_kib()));
    // Stay on the network until the lead has heard from every watcher.
    let _ = commands.recv().await;
    device.shutdown().await;
}

async fn watcher() {
    let endpoint = std::env::var("SOAK_ENDPOINT").expect("SOAK_ENDPOINT");
    let mut commands = commands();
    let transport = ZenohTransport::open(
        &ZenohConfig::new()
            .listen(Vec::<String>::new())
            .connect([endpoint]),
    )
    .await
    .expect("zenoh");
    assert!(transport.wait_for_neighbours(Duration::from_secs(10)).await);
    let client = Client::builder()
        .transport(transport)
        .build()
        .await
        .expect("client");
    let started = Instant::now();
    let thing = loop {
        match client.thing(THING).await {
            Ok(thing) => break thing,
            Err(e) if started.elapsed() > Duration::from_secs(10) => panic!("{e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let mut events = thing
        .subscribe("tick", Filter::any())
        .await
        .expect("subscribe");
    let mut warmup = thing
        .subscribe("warmup", Filter::any())
        .await
        .expect("subscribe");
    let _ = warmup.next().await;
    drop(warmup);
    say("ready");
    assert_eq!(commands.recv().await.as_deref(), Some("go"));
    say(&format!("rss_start {}", rss_kib()));
    let (mut delivered, mut out_of_order, mut duplicates, mut errors) = (0u64, 0u64, 0u64, 0u64);
    let mut next = 0u64;
    let mut first = None;
    let mut seen_late = std::collections::BTreeSet::new();
    let mut draining: Option<tokio::time::Instant> = None;
    loop {
        let deadline =
            draining.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            item = events.next() => {
                let Some(item) = item else { break };
                let Ok(notification) = item else { errors += 1; continue };
                let Some(seq) = notification.data.as_u64() else { errors += 1; continue };
                delivered += 1;
                first.get_or_insert(seq);
                if seq >= next {
                    next = seq + 1;
                } else if seen_late.insert(seq) {
                    out_of_order += 1;
                } else {
                    duplicates += 1;
                }
            }
            command = commands.recv(), if draining.is_none() => {
                if command.as_deref() == Some("drain") {
                    draining = Some(tokio::time::Instant::now() + DRAIN);
                }
            }
            () = tokio::time::sleep_until(deadline), if draining.is_some() => break,
        }
    }
    say(&format!(
        "delivered {delivered} {out_of_order} {duplicates} {errors} {}",
        first.unwrap_or(0)
    ));
    say(&format!("rss_end {}", rss_kib()));
}

/// A child process and its lines.
struct Role {
    name: String,
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Role {
    fn start(name: &str, role: &str, endpoint: &str) -> Role {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .env("SOAK_ROLE", role)
            .env("SOAK_ENDPOINT", endpoint)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        Role {
            name: name.to_owned(),
            child,
            input,
            output,
        }
    }

    fn tell(&mut self, command: &str) {
        writeln!(self.input, "{command}").expect("tell");
        self.input.flush().expect("tell");
    }

    /// The next line that starts with `word`, split after it.
    fn expect(&mut self, word: &str) -> Vec<String> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.output.read_line(&mut line).expect("read") == 0 {
                panic!("{} ended before saying `{word}`", self.name);
            }
            let mut parts = line.split_whitespace();
            if parts.next() == Some(word) {
                return parts.map(str::to_owned).collect();
            }
        }
    }
}

fn number(parts: &[String], i: usize) -> u64 {
    parts
        .get(i)
        .and_then(|p| p.split('.').next())
        .and_then(|p| p.parse().ok())
        .expect("a number")
}

fn lead() {
    let (rate, secs, watchers) = (
        env_u64("SOAK_RATE", 10_000),
        env_u64("SOAK_SECS", 60),
        env_u64("SOAK_WATCHERS", 3),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    println!(
        "soak: {rate} signed events/s for {secs} s, one device to {watchers} watchers over Zenoh \
         (loopback TCP), each in its own process"
    );
    let mut device = Role::start("device", "device", &endpoint);
    device.expect("ready");
    let mut watching: Vec<Role> = (0..watchers)
        .map(|i| Role::start(&format!("watcher {}", i + 1), "watcher", &endpoint))
        .collect();
    for w in &mut watching {
        w.expect("ready");
    }
    for w in &mut watching {
        w.tell("go");
    }
    device.tell("go");
    let device_start = number(&device.expect("rss_start"), 0);
    let starts: Vec<u64> = watching
        .iter_mut()
        .map(|w| number(&w.expect("rss_start"), 0))
        .collect();
    let sent = device.expect("sent");
    let (sent_ok, send_errors) = (number(&sent, 0), number(&sent, 1));
    let took: f64 = sent.get(2).and_then(|t| t.parse().ok()).unwrap_or(0.0);
    let device_end = number(&device.expect("rss_end"), 0);
    println!(
        "device: sent {sent_ok} in {took:.1} s ({:.0}/s), {send_errors} failed to send; RSS {} -> {} MiB",
        sent_ok as f64 / took.max(f64::EPSILON),
        mib(device_start),
        mib(device_end)
    );
    let mut all_good = send_errors == 0;
    for (w, start) in watching.iter_mut().zip(starts) {
        w.tell("drain");
        let got = w.expect("delivered");
        let end = number(&w.expect("rss_end"), 0);
        let (delivered, out_of_order, duplicates, errors, first) = (
            number(&got, 0),
            number(&got, 1),
            number(&got, 2),
            number(&got, 3),
            number(&got, 4),
        );
        let lost = sent_ok.saturating_sub(delivered - duplicates);
        all_good &= lost == 0 && out_of_order == 0 && duplicates == 0 && errors == 0;
        println!(
            "{}: delivered {delivered}, lost {lost}, out of order {out_of_order}, duplicates \
             {duplicates}, unreadable {errors}, first seq {first}; RSS {} -> {} MiB",
            w.name,
            mib(start),
            mib(end)
        );
    }
    device.tell("stop");
    for role in watching.iter_mut().chain(std::iter::once(&mut device)) {
        let _ = role.child.wait();
    }
    println!(
        "goal (0 lost, 0 out of order, RSS flat): {}",
        if all_good { "delivery met" } else { "NOT MET" }
    );
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

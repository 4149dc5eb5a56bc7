//! Faults with real processes over Zenoh: a device killed (SIGKILL) mid-action, a device
//! restarted, a client started before its device, and a router restarted between two
//! participants that reach each other only through it.
//!
//! The devices and the router are this test binary started again (`child_process`, ignored
//! when run as a test) with `SAFETHING_FAULT_ROLE` set. Each child reads its standard input
//! and exits when it closes, so nothing outlives the tests even if they panic or are killed;
//! a guard kills and reaps each child on drop.

#![cfg(feature = "zenoh")]

#[path = "support/test_thing.rs"]
mod behaviour;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use serde_json::{Value, json};

use safething::client::{Client, InvokeOptions, RemoteThing};
use safething::device::Device;
use safething::transport::zenoh::{Mode, ZenohConfig, ZenohTransport};
use safething::wire::ActionState;
use safething::{Error, Filter, Identity};

const ROLE: &str = "SAFETHING_FAULT_ROLE";
const ID: &str = "SAFETHING_FAULT_ID";
const KEY: &str = "SAFETHING_FAULT_KEY";

// ---------------------------------------------------------------------------------------------
// The child processes

#[test]
#[ignore = "a child process of the fault tests, started by them"]
fn child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    // Exit when the parent goes away (its end of our standard input closes).
    std::thread::spawn(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let config = ZenohConfig::from_env().expect("config");
        let transport = ZenohTransport::open(&config).await.expect("zenoh");
        match role.as_str() {
            "router" => {
                println!("READY router");
                std::future::pending::<()>().await;
            }
            "device" => run_device(transport).await,
            other => panic!("unknown role {other}"),
        }
    });
}

/// A device of the behaviour suite's definition that changes `level` and emits `ping` every
/// 50 ms.
async fn run_device(transport: ZenohTransport) {
    let id = std::env::var(ID).expect("id");
    let identity = Identity::load(std::env::var(KEY).expect("key")).expect("identity");
    let device = Device::builder(behaviour::definition().checked().unwrap(), id)
        .transport(transport)
        .identity(identity)
        .build()
        .expect("device");
    let counter = Arc::new(AtomicUsize::new(0));
    device.serve(behaviour::handlers(counter, Arc::new(AtomicUsize::new(0))));
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    println!("READY device");
    let mut n = 0u64;
    loop {
        n += 1;
        let _ = device.set_attribute("level", json!(n % 100)).await;
        let _ = device.emit_event("ping", Value::Null).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Starting and killing them

/// A child process, killed and reaped on drop.
struct Proc {
    child: Child,
    what: String,
}

impl Proc {
    /// Starts this binary as `role` with `env`, and waits until it says it is ready.
    fn start(role: &str, env: &[(&str, String)]) -> Proc {
        let exe = std::env::current_exe().expect("the test binary");
        let mut command = Command::new(exe);
        command
            .args(["child_process", "--exact", "--ignored", "--nocapture"])
            .env(ROLE, role)
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the child starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut proc = Proc {
            child,
            what: role.to_owned(),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("READY") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            proc.kill();
            panic!("the {role} process did not get ready");
        }
        proc
    }

    /// SIGKILL: no chance to say goodbye.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            eprintln!("stopping the {} process", self.what);
        }
        self.kill();
    }
}

fn free_tcp_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("address").port();
    format!("tcp/127.0.0.1:{port}")
}

struct Setup {
    dir: tempfile::TempDir,
    key: std::path::PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("dir");
        let key = dir.path().join("device.key");
        Identity::generate()
            .expect("identity")
            .save(&key)
            .expect("saved");
        Setup { dir, key }
    }

    fn sock(&self, name: &str) -> String {
        format!(
            "unixsock-stream/{}",
            self.dir.path().join(format!("{name}.sock")).display()
        )
    }

    /// A device process, a peer connecting to `connect` (and listening nowhere).
    fn device(&self, id: &str, connect: &str) -> Proc {
        self.device_as(id, connect, "peer")
    }

    /// A device process in Zenoh mode `mode`, connecting to `connect`.
    fn device_as(&self, id: &str, connect: &str, mode: &str) -> Proc {
        Proc::start(
            "device",
            &[
                (ID, id.to_owned()),
                (KEY, self.key.display().to_string()),
                ("SAFETHING_ZENOH_MODE", mode.to_owned()),
                ("SAFETHING_ZENOH_LISTEN", String::new()),
                ("SAFETHING_ZENOH_CONNECT", connect.to_owned()),
            ],
        )
    }
}

async fn client(config: ZenohConfig) -> (ZenohTransport, Client) {
    let transport = ZenohTransport::open(&config).await.expect("zenoh");
    let client = Client::builder()
        .transport(transport.clone())
        .build()
        .await
        .expect("client");
    (transport, client)
}

async fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn thing(client: &Client, id: &str) -> RemoteThing {
    behaviour::connect(client, id).await
}

/// The next watch value, within `limit`.
async fn next_level(watch: &mut safething::client::Watch, limit: Duration) -> (Value, u64) {
    let u = tokio::time::timeout(limit, watch.next())
        .await
        .expect("a value in time")
        .expect("the watch goes on")
        .expect("a valid value");
    (u.value, u.seq)
}

// ---------------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_killed_mid_action_fails_the_action_as_offline() {
    let setup = Setup::new();
    let hub = setup.sock("client");
    let (_t, client) = client(ZenohConfig::new().listen([hub.clone()])).await;
    let mut device = setup.device("fault-kill", &hub);
    let thing = thing(&client, "fault-kill").await;
    wait_for("online", Duration::from_secs(10), || {
        client.is_online("fault-kill")
    })
    .await;
    let h = thing
        .invoke_with(
            "slow",
            json!(60_000),
            InvokeOptions::default().with_timeout(Duration::from_secs(120)),
        )
        .await
        .expect("invoke");
    wait_for("running", Duration::from_secs(10), || {
        h.state() == ActionState::Running
    })
    .await;
    let killed = Instant::now();
    device.kill();
    // No timeout of ours: the action has two minutes, liveliness tells at once.
    let result = tokio::time::timeout(Duration::from_secs(10), h.output())
        .await
        .expect("the action ends well before its deadline");
    assert!(matches!(result, Err(Error::Offline(_))), "{result:?}");
    eprintln!("offline seen {:?} after SIGKILL", killed.elapsed());
    assert!(!client.is_online("fault-kill"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_and_events_resume_when_a_killed_device_restarts() {
    let setup = Setup::new();
    let hub = setup.sock("client");
    let (_t, client) = client(ZenohConfig::new().listen([hub.clone()])).await;
    let mut device = setup.device("fault-back", &hub);
    let thing = thing(&client, "fault-back").await;
    let mut watch = thing.watch("level", Filter::any()).await.expect("watch");
    let mut pings = thing.subscribe("ping", Filter::any()).await.expect("sub");
    next_level(&mut watch, Duration::from_secs(10)).await;
    next_level(&mut watch, Duration::from_secs(10)).await;
    tokio::time::timeout(Duration::from_secs(10), pings.next())
        .await
        .expect("a ping")
        .expect("stream")
        .expect("valid");
    device.kill();
    wait_for("offline", Duration::from_secs(10), || {
        !client.is_online("fault-back")
    })
    .await;
    // The same device (same key) comes back; nothing is re-subscribed by us.
    let _device = setup.device("fault-back", &hub);
    wait_for("online again", Duration::from_secs(20), || {
        client.is_online("fault-back")
    })
    .await;
    // Its sequence numbers start again (a new epoch), and still get through.
    let (_, seq) = loop {
        let (value, seq) = next_level(&mut watch, Duration::from_secs(10)).await;
        if seq < 10 {
            break (value, seq);
        }
    };
    assert!(seq < 10);
    let ping = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let p = pings.next().await.expect("stream").expect("valid");
            if p.seq < 10 {
                return p;
            }
        }
    })
    .await
    .expect("pings after the restart");
    assert!(ping.seq < 10);
    // Actions work on the new run.
    let h = thing
        .invoke("echo", json!({"text": "back"}))
        .await
        .expect("invoke");
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), h.output())
            .await
            .expect("in time")
            .expect("done"),
        json!("back")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_started_before_its_device_finds_it() {
    let setup = Setup::new();
    let hub = setup.sock("client");
    let (_t, client) = client(ZenohConfig::new().listen([hub.clone()])).await;
    assert!(matches!(
        client.thing("fault-late").await,
        Err(Error::UnknownThing(_))
    ));
    assert!(!client.is_online("fault-late"));
    let _device = setup.device("fault-late", &hub);
    let thing = thing(&client, "fault-late").await;
    wait_for("online", Duration::from_secs(10), || {
        client.is_online("fault-late")
    })
    .await;
    let found = client.discover().await.expect("discover");
    assert!(
        found
            .iter()
            .any(|t| t.id.as_str() == "fault-late" && t.online)
    );
    let mut watch = thing.watch("level", Filter::any()).await.expect("watch");
    next_level(&mut watch, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_resumes_after_the_router_between_two_parties_restarts() {
    let setup = Setup::new();
    let router_endpoint = free_tcp_endpoint();
    let start_router = || {
        Proc::start(
            "router",
            &[
                ("SAFETHING_ZENOH_MODE", "router".to_owned()),
                ("SAFETHING_ZENOH_LISTEN", router_endpoint.clone()),
            ],
        )
    };
    let mut router = start_router();
    // Both are Zenoh clients of the router, their only path to each other. (Two Zenoh *peers*
    // are expected to reach each other directly: since Zenoh 1.10 a router does not relay
    // declarations between peers of its own region.)
    let (_t, client) = client(
        ZenohConfig::new()
            .mode(Mode::Client)
            .connect([router_endpoint.clone()]),
    )
    .await;
    let _device = setup.device_as("fault-route", &router_endpoint, "client");
    let thing = thing(&client, "fault-route").await;
    let mut watch = thing.watch("level", Filter::any()).await.expect("watch");
    next_level(&mut watch, Duration::from_secs(10)).await;
    router.kill();
    wait_for(
        "offline without the router",
        Duration::from_secs(15),
        || !client.is_online("fault-route"),
    )
    .await;
    let _router = start_router();
    // Both reconnect on their own (Zenoh retries its connect endpoints).
    wait_for(
        "online through the new router",
        Duration::from_secs(30),
        || client.is_online("fault-route"),
    )
    .await;
    // Values queued before the restart are drained; fresh ones must follow.
    while let Some(Some(_)) = watch.next().now_or_never() {}
    next_level(&mut watch, Duration::from_secs(10)).await;
    let h = thing
        .invoke("echo", json!({"text": "routed"}))
        .await
        .expect("invoke");
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), h.output())
            .await
            .expect("in time")
            .expect("done"),
        json!("routed")
    );
}

//! `safething store` over Zenoh: a router, a store and a device in processes of their own; the
//! device is killed with SIGKILL and the console reads what it published from the store,
//! verified; the store is killed with SIGKILL and restarted without losing anything.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use safething::Identity;
use safething::device::Device;
use safething::transport::zenoh::{Mode, ZenohConfig, ZenohTransport};

const BIN: &str = env!("CARGO_BIN_EXE_safething");
const ID: &str = "stored-thing";

/// A child process, killed (SIGKILL) and reaped on drop.
struct Proc(Child);

impl Proc {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Waits for a line of stdout containing `needle`.
    fn wait_for(&mut self, needle: &str) {
        let stdout = self.0.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines.next().expect("a line").expect("text");
            if line.contains(needle) {
                break;
            }
        }
        // Keep the pipe open (and drained) so the child never blocks or dies writing.
        std::thread::spawn(move || for _ in lines {});
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    format!("tcp/127.0.0.1:{}", l.local_addr().expect("addr").port())
}

fn safething(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("SAFETHING_IDENTITY")
        .env_remove("SAFETHING_KNOWN_THINGS")
        .env_remove("SAFETHING_ZENOH_CONNECT")
        .env_remove("SAFETHING_ZENOH_LISTEN")
        .env_remove("SAFETHING_ZENOH_MODE")
        .env_remove("SAFETHING_ZENOH_CONFIG")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null());
    c
}

fn identity_file(dir: &Path, name: &str) -> (PathBuf, Identity) {
    let path = dir.join(name);
    let identity = Identity::generate().expect("identity");
    identity.save(&path).expect("saved");
    (path, identity)
}

/// A store holds no key: it runs without an identity.
fn start_store(dir: &Path, endpoint: &str) -> Proc {
    let mut store = Proc(
        safething(&["store", "--dir"])
            .arg(dir)
            .args(["--connect", endpoint])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the store starts"),
    );
    store.wait_for("keeping publications");
    store
}

async fn console(identity: &Path, endpoint: &str, args: &[&str]) -> Output {
    let mut c = safething(args);
    c.args(["--connect", endpoint, "--identity"]).arg(identity);
    tokio::task::spawn_blocking(move || c.output().expect("the console runs"))
        .await
        .expect("joined")
}

#[track_caller]
fn json_of(o: &Output) -> Value {
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    serde_json::from_str(&out).expect("json")
}

/// Asks the store for the latest frame of `attribute` until one holds `needle`.
async fn until_stored(transport: &ZenohTransport, attribute: &str, needle: &str) {
    use safething::transport::{Reply, Transport};
    let key = format!("safething/store/v1/{ID}/attributes/{attribute}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let mut replies = transport
            .query(&key, None, Duration::from_millis(500))
            .await
            .expect("query");
        while let Some(r) = replies.recv().await {
            if let Reply::Ok(s) = r
                && String::from_utf8_lossy(&s.payload).contains(needle)
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store never kept {attribute} with {needle}");
}

fn definition() -> safething::ir::Definition {
    serde_json::from_value(json!({
        "thing": {"name": "Tank", "version": "1.0.0"},
        "attributes": {
            "level": {"type": "integer", "history": 10, "access": "all"},
            "secret": {"type": "integer", "access": "group"}
        }
    }))
    .expect("definition")
}

/// The device process: publishes, says `ready`, and lives until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of the_console_reads_a_killed_device_from_the_store"]
async fn device_child() {
    let Ok(endpoint) = std::env::var("STORE_TEST_ENDPOINT") else {
        return;
    };
    let owner = Identity::load(std::env::var("STORE_TEST_OWNER").expect("owner")).expect("load");
    let member = Identity::load(std::env::var("STORE_TEST_MEMBER").expect("member")).expect("load");
    let transport =
        ZenohTransport::open(&ZenohConfig::new().mode(Mode::Client).connect([endpoint]))
            .await
            .expect("zenoh");
    assert!(transport.wait_for_neighbours(Duration::from_secs(10)).await);
    let device = Device::builder(definition().checked().expect("valid"), ID)
        .transport(transport)
        .owner(*owner.public_key())
        .member(*member.public_key())
        .build()
        .expect("device");
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    tokio::time::sleep(Duration::from_millis(300)).await;
    for v in 1..=5 {
        device.set_attribute("level", json!(v)).await.expect("set");
    }
    device
        .set_attribute("secret", json!(42))
        .await
        .expect("set");
    println!("ready");
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reads_a_killed_device_from_the_store() {
    let dir = tempfile::tempdir().expect("dir");
    let (owner_file, _) = identity_file(dir.path(), "owner.key");
    let (member_file, _) = identity_file(dir.path(), "member.key");
    let (stranger_file, _) = identity_file(dir.path(), "stranger.key");
    let endpoint = free_endpoint();
    let mut router = Proc(
        safething(&["router", "--listen", &endpoint, "--identity"])
            .arg(&owner_file)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the router starts"),
    );
    router.wait_for("listening on");
    let store_dir = dir.path().join("store");
    let mut store = start_store(&store_dir, &endpoint);
    let probe = ZenohTransport::open(
        &ZenohConfig::new()
            .mode(Mode::Client)
            .connect([endpoint.clone()]),
    )
    .await
    .expect("zenoh");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut device = Proc(
        Command::new(std::env::current_exe().expect("exe"))
            .args([
                "--ignored",
                "--exact",
                "device_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("STORE_TEST_ENDPOINT", &endpoint)
            .env("STORE_TEST_OWNER", &owner_file)
            .env("STORE_TEST_MEMBER", &member_file)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the device starts"),
    );
    device.wait_for("ready");
    until_stored(&probe, "level", r#""value":5"#).await;
    until_stored(&probe, "secret", "kid").await;

    // Online: the device answers (and each console pins its key on first contact).
    let live = json_of(&console(&member_file, &endpoint, &["get", ID, "level", "--json"]).await);
    assert_eq!(
        (live["value"].clone(), live["source"].clone()),
        (json!(5), json!("device"))
    );
    let _ = console(&stranger_file, &endpoint, &["get", ID, "level", "--json"]).await;

    // A watch prints its position; one resumed from an earlier position gets what came
    // since from the store (3, 4), then the current value (5), each once.
    let now = json_of(
        &console(
            &member_file,
            &endpoint,
            &["watch", ID, "level", "--count", "1", "--json"],
        )
        .await,
    );
    assert_eq!(now["position"]["seq"], live["seq"], "{now}");
    let mut earlier = now["position"].clone();
    earlier["seq"] = json!(2);
    let resumed = console(
        &member_file,
        &endpoint,
        &[
            "watch",
            ID,
            "level",
            "--from",
            &earlier.to_string(),
            "--count",
            "3",
            "--json",
        ],
    )
    .await;
    assert!(resumed.status.success(), "{resumed:?}");
    let values: Vec<Value> = String::from_utf8_lossy(&resumed.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a json line")["value"].clone())
        .collect();
    assert_eq!(values, [3, 4, 5].map(|v| json!(v)));

    device.kill();
    let stored = json_of(&console(&member_file, &endpoint, &["get", ID, "level", "--json"]).await);
    assert_eq!(stored["value"], json!(5), "{stored}");
    assert_eq!(stored["source"], json!("store"));
    assert_eq!(stored["seq"], live["seq"]);
    assert!(stored["timestamp"].as_u64().is_some());
    let history =
        json_of(&console(&member_file, &endpoint, &["history", ID, "level", "--json"]).await);
    assert_eq!(history["source"], json!("store"));
    let values: Vec<Value> = history["history"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["value"].clone())
        .collect();
    assert_eq!(values, [1, 2, 3, 4, 5].map(|v| json!(v)));

    // Sealed for the group: the member reads it, the stranger does not.
    let secret = json_of(&console(&member_file, &endpoint, &["get", ID, "secret", "--json"]).await);
    assert_eq!(
        (secret["value"].clone(), secret["source"].clone()),
        (json!(42), json!("store"))
    );
    let refused = console(&stranger_file, &endpoint, &["get", ID, "secret", "--json"]).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(refused.stdout.is_empty());

    // The store killed with SIGKILL and restarted: the database opens, nothing is lost.
    store.kill();
    let _store = start_store(&store_dir, &endpoint);
    until_stored(&probe, "level", r#""value":5"#).await;
    let again = json_of(&console(&member_file, &endpoint, &["get", ID, "level", "--json"]).await);
    assert_eq!(
        (again["value"].clone(), again["source"].clone()),
        (json!(5), json!("store"))
    );
}

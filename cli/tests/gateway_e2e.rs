//! End to end through real processes: two unclaimed gardening devices (the example) on a
//! loopback Zenoh network and `safething gateway` in front of them; then
//!
//! - node's test runner drives the TypeScript client generated for
//!   `examples/things/gardening_device.toml` (compiled with tsc) through the gateway
//!   (`tests/ts/e2e.test.mjs`): claim, publish, reads, a watch, `open_valve` to `done`, errors;
//! - headless Chromium (Debian's, driven by playwright-core) opens the web console and claims,
//!   publishes and operates the other device (`tests/ts/browser.test.mjs`); then that device is
//!   killed, and the console shows what `safething store` kept of it, marked "from store".
//!
//! Needs Node.js and the npm packages of `tests/ts` (`npm ci --prefix tests/ts`, which
//! `scripts/test` runs) and Chromium at `/usr/bin/chromium` (or `$CHROMIUM`; `scripts/test`
//! installs Debian's). Without them the test is skipped with the reason, or fails under
//! `SAFETHING_REQUIRE_ALL=1`.

#[path = "../../tests/support/bins.rs"]
mod bins;
#[path = "../../tests/support/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bins::{Proc, example, free_port, spawn, wait_for};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

struct DeviceRun {
    _proc: Proc,
    id: String,
    token: String,
    uri: String,
}

fn start_device(id: &str, port: u16, dir: &Path) -> DeviceRun {
    let mut command = Command::new(example("gardening_device"));
    command
        .args(["--unclaimed", "--id", id, "--tick", "300ms", "--demo-dir"])
        .arg(dir.join(id))
        .env("SAFETHING_ZENOH_LISTEN", format!("tcp/127.0.0.1:{port}"))
        .env_remove("SAFETHING_ZENOH_CONNECT")
        .env_remove("SAFETHING_ZENOH_MODE");
    let (proc, rx) = spawn(command);
    let line = wait_for(&rx, "safething claim", "the device");
    let token = line.split_whitespace().last().unwrap().to_owned();
    let uri = wait_for(&rx, "safething:claim?", "the device");
    let uri = uri[uri.find("safething:claim?").unwrap()..]
        .trim()
        .to_owned();
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in rx {});
    DeviceRun {
        _proc: proc,
        id: id.to_owned(),
        token,
        uri,
    }
}

/// `safething-gen ts examples/things/gardening_device.toml -o DIR`, then `tsc -p DIR` (to
/// `DIR/dist`): the generated client as JavaScript node can import.
fn generated_client(node: &str, dir: &Path, modules: &Path) -> PathBuf {
    let loaded = safething_codegen::load(root().join("examples/things/gardening_device.toml"))
        .expect("the definition loads");
    let files = safething_codegen::ts::generate_dir(&[&loaded.definition]).expect("generates");
    let out = dir.join("generated");
    for (path, text) in &files {
        let file = out.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    let status = Command::new(node)
        .arg(modules.join("typescript/bin/tsc"))
        .arg("-p")
        .arg(&out)
        .status()
        .expect("tsc runs");
    assert!(status.success(), "tsc failed on the generated client");
    // Node resolves `ws` from the test file's folder; the compiled client needs nothing else.
    out.join("dist")
}

fn node_test(node: &str, file: &str, env: &[(&str, String)]) {
    let mut command = Command::new(node);
    command
        .current_dir(root().join("tests/ts"))
        .args(["--test", "--test-reporter=spec", file]);
    for (k, v) in env {
        command.env(k, v);
    }
    let started = Instant::now();
    let out = command.output().expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{file} ({:.1}s):\n{text}", started.elapsed().as_secs_f64());
    assert!(out.status.success(), "{file} failed:\n{text}");
    assert!(
        !text.contains("# skipped 1") && !text.contains("﹣"),
        "{file} skipped its test:\n{text}"
    );
}

#[test]
fn a_generated_client_and_the_web_console_operate_devices_through_the_gateway() {
    let (Some(node), Some(modules), Some(chromium)) = (
        tools::node(),
        tools::npm_modules(root(), &["typescript", "ws", "playwright-core"]),
        tools::chromium(),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let generated = generated_client(&node, dir.path(), &modules);

    let (p1, p2, p3) = (free_port(), free_port(), free_port());
    let for_node = start_device("garden-ts", p1, dir.path());
    let for_browser = start_device("garden-web", p2, dir.path());
    // A store next to the browser's device (`docs/store.md`): what the console reads once the
    // device is gone.
    let mut store = Command::new(env!("CARGO_BIN_EXE_safething"));
    store
        .args(["store", "--dir"])
        .arg(dir.path().join("store"))
        .args(["--listen", &format!("tcp/127.0.0.1:{p3}")])
        .args(["--connect", &format!("tcp/127.0.0.1:{p2}")])
        .env_remove("SAFETHING_ZENOH_LISTEN")
        .env_remove("SAFETHING_ZENOH_CONNECT")
        .env_remove("SAFETHING_ZENOH_MODE");
    let (_store, store_rx) = spawn(store);
    wait_for(&store_rx, "keeping publications", "the store");
    std::thread::spawn(move || for _ in store_rx {});

    let mut gateway = Command::new(env!("CARGO_BIN_EXE_safething"));
    gateway
        .args(["gateway", "--listen", "127.0.0.1:0", "--within", "1500ms"])
        .args([
            "--connect",
            &format!("tcp/127.0.0.1:{p1},tcp/127.0.0.1:{p2},tcp/127.0.0.1:{p3}"),
        ])
        .env_remove("SAFETHING_ZENOH_LISTEN")
        .env("SAFETHING_IDENTITY", dir.path().join("unused.key"));
    let (_gateway, rx) = spawn(gateway);
    let line = wait_for(&rx, "gateway listening on", "the gateway");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    std::thread::spawn(move || {
        for line in rx {
            eprintln!("gateway: {line}");
        }
    });
    assert!(
        !dir.path().join("unused.key").exists(),
        "the gateway holds no identity"
    );

    node_test(
        &node,
        "e2e.test.mjs",
        &[
            ("SAFETHING_GATEWAY_URL", url.clone()),
            ("SAFETHING_THING_ID", for_node.id.clone()),
            ("SAFETHING_CLAIM_TOKEN", for_node.token.clone()),
            ("SAFETHING_GENERATED", generated.display().to_string()),
        ],
    );
    let mut env = vec![
        ("SAFETHING_CONSOLE_URL", format!("{url}/")),
        ("SAFETHING_THING_ID", for_browser.id.clone()),
        ("SAFETHING_CLAIM_URI", for_browser.uri.clone()),
        ("CHROMIUM", chromium),
        // The test kills the device itself, at the moment it chooses.
        ("SAFETHING_DEVICE_PID", for_browser._proc.0.id().to_string()),
    ];
    if let Ok(shots) = std::env::var("SAFETHING_SCREENSHOTS") {
        env.push(("SAFETHING_SCREENSHOTS", shots));
    }
    node_test(&node, "browser.test.mjs", &env);
    drop(for_node.token);
}

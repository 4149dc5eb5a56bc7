//! Standard WoT consumers use SAFEthing devices: an unclaimed gardening device (the example) on a
//! loopback Zenoh network and `safething gateway` in front of it; its TD (`export::
//! thing_description` with the device's key, forms on `safething://`) goes to an unmodified
//! node-wot application (`@node-wot/core` with the binding of `typescript/node-wot-binding` as its
//! client factory) run by node's test runner (`tests/ts/wot.test.mjs`): reads, writes, an
//! observation, actions and an event as the owner; refusals for a stranger; and a revoked member
//! refused by the device itself.
//!
//! Also checks that the binding's checked-in JavaScript (`typescript/node-wot-binding/dist`) is
//! what tsc makes of its source (`SAFETHING_BLESS=1` rewrites it).
//!
//! Needs Node.js and the npm packages of `tests/ts` (`npm ci --prefix tests/ts`, which
//! `scripts/test` runs). Without them the tests are skipped with the reason, or fail under
//! `SAFETHING_REQUIRE_ALL=1`.

#[path = "../../tests/support/bins.rs"]
mod bins;
#[path = "../../tests/support/tools.rs"]
mod tools;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use bins::{example, free_port, spawn, wait_for};
use safething::Identity;
use safething::ir::ThingId;
use safething_codegen::export::{self, TdOptions};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `tsc -p typescript/node-wot-binding --outDir OUT`.
fn compile_binding(node: &str, modules: &Path, out: &Path) {
    let output = Command::new(node)
        .arg(modules.join("typescript/bin/tsc"))
        .arg("-p")
        .arg(root().join("typescript/node-wot-binding"))
        .arg("--outDir")
        .arg(out)
        .output()
        .expect("tsc runs");
    assert!(
        output.status.success(),
        "tsc on typescript/node-wot-binding failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn files_of(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn compiled_binding_matches_its_source() {
    let (Some(node), Some(modules)) = (
        tools::node(),
        tools::npm_modules(root(), &["typescript", "@node-wot/core", "@types/node"]),
    ) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    compile_binding(&node, &modules, out.path());
    let dist = root().join("typescript/node-wot-binding/dist");
    let fresh = files_of(out.path());
    if std::env::var_os("SAFETHING_BLESS").is_some() {
        std::fs::create_dir_all(&dist).unwrap();
        for (name, text) in &fresh {
            std::fs::write(dist.join(name), text).unwrap();
        }
    }
    let checked_in = files_of(&dist);
    let names =
        |files: &[(String, String)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&checked_in),
        names(&fresh),
        "typescript/node-wot-binding/dist has other files than tsc makes"
    );
    for ((name, old), (_, new)) in checked_in.iter().zip(&fresh) {
        assert!(
            old == new,
            "typescript/node-wot-binding/dist/{name} drifted from its source: run \
             `SAFETHING_BLESS=1 cargo test -p safething-cli --test wot_consumer compiled_binding` \
             and commit it"
        );
    }
}

/// The device's TD as `safething-gen td` exports it, with the device's key (read from the key
/// file the example keeps in its demo folder) pinned in its security definitions.
fn thing_description(id: &str, device_key: &Path) -> serde_json::Value {
    let loaded = safething_codegen::load(root().join("examples/things/gardening_device.toml"))
        .expect("the definition loads");
    let key = Identity::load(device_key).expect("the device's key file");
    let options = TdOptions {
        public_key: Some(key.public_key().to_string()),
        ..TdOptions::default()
    };
    export::thing_description(
        &loaded.definition,
        &ThingId::new(id).expect("a thing id"),
        &options,
    )
}

#[test]
fn a_node_wot_consumer_drives_a_device_through_the_gateway() {
    let (Some(node), Some(_modules)) = (
        tools::node(),
        tools::npm_modules(root(), &["@node-wot/core", "ws"]),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let id = "garden-wot";
    let port = free_port();
    let mut device = Command::new(example("gardening_device"));
    device
        .args(["--unclaimed", "--id", id, "--tick", "300ms", "--demo-dir"])
        .arg(dir.path().join(id))
        .env("SAFETHING_ZENOH_LISTEN", format!("tcp/127.0.0.1:{port}"))
        .env_remove("SAFETHING_ZENOH_CONNECT")
        .env_remove("SAFETHING_ZENOH_MODE");
    let (_device, rx) = spawn(device);
    let line = wait_for(&rx, "safething claim", "the device");
    let token = line.split_whitespace().last().unwrap().to_owned();
    std::thread::spawn(move || for _ in rx {});

    let td = thing_description(id, &dir.path().join(id).join("device.key"));
    let td_file = dir.path().join("garden-wot.td.json");
    std::fs::write(&td_file, serde_json::to_string_pretty(&td).unwrap()).unwrap();

    let mut gateway = Command::new(env!("CARGO_BIN_EXE_safething"));
    gateway
        .args(["gateway", "--listen", "127.0.0.1:0", "--within", "1500ms"])
        .args(["--connect", &format!("tcp/127.0.0.1:{port}")])
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

    let started = Instant::now();
    let out = Command::new(&node)
        .current_dir(root().join("tests/ts"))
        .args(["--test", "--test-reporter=spec", "wot.test.mjs"])
        .env("SAFETHING_GATEWAY_URL", &url)
        .env("SAFETHING_THING_ID", id)
        .env("SAFETHING_CLAIM_TOKEN", &token)
        .env("SAFETHING_TD", &td_file)
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "wot.test.mjs ({:.1}s):\n{text}",
        started.elapsed().as_secs_f64()
    );
    assert!(out.status.success(), "wot.test.mjs failed:\n{text}");
    assert!(
        text.contains("ℹ pass 4") && text.contains("ℹ skipped 0"),
        "wot.test.mjs did not pass all four tests:\n{text}"
    );
}

//! The multi-process example runs its scenario: `gardening_device` and
//! `gardening_controller` as two processes on loopback, one watering cycle.

#![cfg(feature = "zenoh")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// A child process, killed and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The newest modification time of the files an example is built from.
fn newest_source() -> SystemTime {
    fn walk(path: &Path, newest: &mut SystemTime) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
                walk(&entry.path(), newest);
            }
        } else if let Ok(modified) = meta.modified() {
            *newest = (*newest).max(modified);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut newest = SystemTime::UNIX_EPOCH;
    for part in ["Cargo.toml", "src", "examples", "ir/src", "codegen/src"] {
        walk(&root.join(part), &mut newest);
    }
    newest
}

/// The example's binary next to this test (`cargo test` builds the examples with the tests).
/// When it is missing or older than its sources (only this test was built), it is built with
/// the features this test was built with, in the same target directory and profile.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile_dir.join("examples").join(name);
    let built = std::fs::metadata(&path).and_then(|m| m.modified());
    if built.is_ok_and(|built| built >= newest_source()) {
        return path;
    }
    let target_dir = profile_dir.parent().expect("target");
    let mut features = vec!["zenoh"];
    if cfg!(feature = "derive") {
        features.push("derive");
    }
    if cfg!(feature = "cli") {
        features.push("cli");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--quiet",
            "--example",
            name,
            "--no-default-features",
        ])
        .args(["--features", &features.join(",")])
        .arg("--target-dir")
        .arg(target_dir);
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        command.arg("--release");
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building the {name} example failed");
    path
}

#[test]
fn device_and_controller_run_the_watering_scenario() {
    let (device_exe, controller_exe) =
        (example("gardening_device"), example("gardening_controller"));
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let demo_dir = dir.path().display().to_string();
    let _device = Proc(
        Command::new(device_exe)
            .args([
                "--id",
                "garden-test",
                "--tick",
                "100ms",
                "--demo-dir",
                &demo_dir,
            ])
            .env("SAFETHING_ZENOH_LISTEN", &endpoint)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("device.err")).expect("a log file"))
            .spawn()
            .expect("the device starts"),
    );
    let started = Instant::now();
    let mut controller = Proc(
        Command::new(controller_exe)
            .args([
                "--id",
                "garden-test",
                "--cycles",
                "1",
                "--wait",
                "20s",
                "--demo-dir",
                &demo_dir,
            ])
            .env("SAFETHING_ZENOH_CONNECT", &endpoint)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the controller starts"),
    );
    let stdout = controller.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = started + Duration::from_secs(60);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "the controller did not finish in time:\n{}",
                    lines.join("\n")
                )
            }
        }
    }
    let status = controller.0.wait().expect("the controller ends");
    let output = lines.join("\n");
    let device_errors = std::fs::read_to_string(dir.path().join("device.err")).unwrap_or_default();
    assert!(
        status.success(),
        "controller failed:\n{output}\ndevice stderr:\n{device_errors}"
    );
    for step in [
        "found garden-test",
        "too dry, watering",
        "open_valve: running",
        "open_valve: done",
        "(rising)",
        "very_wet_alarm",
        "close_valve: done",
        "done after 1 cycles",
    ] {
        assert!(output.contains(step), "missing `{step}` in:\n{output}");
    }
    eprintln!("one watering cycle took {:?}", started.elapsed());
}

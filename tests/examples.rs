//! The multi-process example runs its scenario: `gardening_device` and
//! `gardening_controller` as two processes on loopback, one watering cycle.

#![cfg(feature = "zenoh")]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/bins.rs"]
mod bins;

use bins::{Proc, example};

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

/// `cargo run --example gardening | head -1`: an example whose reader went away ends quietly
/// with status 0 (it used to panic in `println!`, status 101).
#[test]
fn a_closed_stdout_ends_an_example_quietly() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    // The reader is gone before the example writes its first line: every write is EPIPE.
    drop(reader);
    let output = Command::new(example("gardening"))
        .env("RUST_LOG", "error")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("the example runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "stderr:\n{stderr}");
}

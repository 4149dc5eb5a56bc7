//! Both programs of this crate run their scenario to the end (status 0), as
//! `cargo run -p gardening-typed` and `cargo run -p gardening-typed --bin thermostat` do.
//!
//! `gardening-typed` once ended with `Error: TimedOut { timeout_ms: 30000 }` after the device
//! printed "0 ms left": its `outln!` held stdout's lock while an argument awaited the action's
//! output, so the device, printing from another thread, could not run the handler until the
//! client gave up.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Longer than any scenario takes by far: only a hung program reaches it.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Kills and reaps the child on drop (a failed assertion must not leave it running).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `exe` and returns its stdout once it ends, panicking unless it succeeds.
fn run(exe: &str) -> String {
    let mut child = Proc(
        Command::new(exe)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{exe} does not start: {e}")),
    );
    // Each pipe drained by a thread of its own: a full stderr must not stall the child.
    let mut stdout = child.0.stdout.take().unwrap();
    let mut stderr = child.0.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut err = String::new();
        let _ = stderr.read_to_string(&mut err);
        err
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let out = rx
        .recv_timeout(HANG_GUARD)
        .unwrap_or_else(|_| panic!("{exe} did not end"));
    let status = child.0.wait().unwrap();
    let err = errors.join().unwrap_or_default();
    assert!(
        status.success(),
        "{exe} failed ({status}):\n{out}\nstderr:\n{err}"
    );
    out
}

#[test]
fn the_gardening_scenario_runs_to_the_end() {
    let out = run(env!("CARGO_BIN_EXE_gardening-typed"));
    for step in [
        "controller: connected to garden-01",
        "controller: the device refused a target of 95%",
        "device: opening the valve at 60 psi",
        "controller: the valve is Open",
        "controller: very dry alarm at 8%",
        "controller: opening at 110 psi failed as it should",
        "controller: moisture history [42.0, 35.0, 28.0, 15.0, 8.0]",
        "controller: the valve is closed",
    ] {
        assert!(out.contains(step), "missing `{step}` in:\n{out}");
    }
    // The handler ran while the request was young, not after its deadline had passed.
    assert!(!out.contains(" 0 ms left"), "{out}");
}

#[test]
fn the_thermostat_scenario_runs_to_the_end() {
    let out = run(env!("CARGO_BIN_EXE_thermostat"));
    for step in [
        "app: serial number TH-2024-00042",
        "thermostat: mode heat",
        "app: 28 °C refused",
        "thermostat: boosting for 15 minutes",
        "app: boosting until",
        "temperatures in the history",
    ] {
        assert!(out.contains(step), "missing `{step}` in:\n{out}");
    }
}

//! The `safething` console against real things: a `safething router` process, a device in
//! this process connected to it, and the console in processes of its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use serde_json::{Value, json};

use safething::Identity;
use safething::device::Device;
use safething::transport::zenoh::{Mode, ZenohConfig, ZenohTransport};

#[path = "../../tests/support/test_thing.rs"]
mod behaviour;

const BIN: &str = env!("CARGO_BIN_EXE_safething");

/// A child process, killed and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    format!("tcp/127.0.0.1:{}", l.local_addr().expect("addr").port())
}

/// Runs the console with an isolated environment (no SAFETHING_* from outside).
fn console(identity: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--identity")
        .arg(identity)
        .env_remove("SAFETHING_IDENTITY")
        .env_remove("SAFETHING_ZENOH_CONNECT")
        .env_remove("SAFETHING_ZENOH_LISTEN")
        .env_remove("SAFETHING_ZENOH_MODE")
        .env_remove("SAFETHING_ZENOH_CONFIG")
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .output()
        .expect("the console runs")
}

async fn run(identity: &Path, args: &[&str]) -> Output {
    let identity = identity.to_owned();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        console(&identity, &args)
    })
    .await
    .expect("joined")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[track_caller]
fn ok(o: &Output) -> String {
    let (out, err) = text(o);
    assert_eq!(o.status.code(), Some(0), "stdout:\n{out}\nstderr:\n{err}");
    out
}

#[track_caller]
fn fails(o: &Output, code: i32, needle: &str) {
    let (out, err) = text(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(err.contains(needle), "`{needle}` not in stderr:\n{err}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("dir");
    let id = dir.path().join("id.key");
    fails(&console(&id, &[]), 2, "Usage");
    fails(&console(&id, &["get", "only-one"]), 2, "required");
    fails(&console(&id, &["list", "--within", "soon"]), 2, "--within");
    fails(&console(&id, &["frobnicate"]), 2, "unrecognized subcommand");
    // A malformed thing id is refused at once (no network, no retrying until a deadline).
    let o = console(&id, &["get", "bad/thing", "level", "--within", "60s"]);
    fails(&o, 2, "thing id `bad/thing` contains `/`");
    fails(&console(&id, &["describe", "abc"]), 2, "5 to 64 characters");
    assert_eq!(console(&id, &["--help"]).status.code(), Some(0));
}

#[test]
fn identities_are_created_private_and_never_overwritten() {
    let dir = tempfile::tempdir().expect("dir");
    let id = dir.path().join("nested/me.key");
    let key = ok(&console(&id, &["whoami"])).trim().to_owned();
    assert!(key.starts_with("st") && key.len() == 54, "{key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&id).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let again: Value =
        serde_json::from_str(&ok(&console(&id, &["whoami", "--json"]))).expect("json");
    assert_eq!(again["key"], json!(key));
    fails(&console(&id, &["keygen"]), 1, "refusing to overwrite");
    let other = dir.path().join("other.key");
    let new_key = ok(&console(&other, &["keygen"])).trim().to_owned();
    assert_ne!(new_key, key);
}

/// `safething whoami | head -0`: a console whose reader went away ends quietly with status 0
/// (it used to panic in `println!`, status 101), with `--json` too.
#[test]
fn a_closed_stdout_ends_the_console_quietly() {
    let dir = tempfile::tempdir().expect("dir");
    let id = dir.path().join("me.key");
    for args in [
        &["whoami"][..],
        &["whoami", "--json"],
        &["keygen", "--help"],
    ] {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        // The reader is gone before the console writes: every write is EPIPE.
        drop(reader);
        let output = Command::new(BIN)
            .args(args)
            .arg("--identity")
            .arg(&id)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("the console runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if args.contains(&"--help") {
            // clap prints help itself; that it does not panic is what counts here.
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
            continue;
        }
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn nothing_reachable_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let id = dir.path().join("id.key");
    let endpoint = free_endpoint();
    let o = console(&id, &["list", "--connect", &endpoint, "--within", "300ms"]);
    fails(
        &o,
        1,
        &format!("no things answered on {endpoint} within 300ms"),
    );
    let o = console(
        &id,
        &["get", "x-thing", "level", "--connect", "tcp/localhost"],
    );
    fails(&o, 1, "invalid endpoint `tcp/localhost`");
    let o = console(
        &id,
        &[
            "list",
            "--config",
            &dir.path().join("nope.json5").display().to_string(),
        ],
    );
    fails(&o, 1, "nope.json5");
}

fn identity_file(dir: &Path, name: &str) -> (PathBuf, Identity) {
    let path = dir.join(name);
    let identity = Identity::generate().expect("identity");
    identity.save(&path).expect("saved");
    (path, identity)
}

/// Starts a `safething router` on a free port and a Zenoh client session connected to it (a
/// router does not relay between two peers: things reached only through it are its clients).
async fn router_and_client(identity: &Path) -> (Proc, String, ZenohTransport) {
    let endpoint = free_endpoint();
    let mut router = Proc(
        Command::new(BIN)
            .args(["router", "--listen", &endpoint])
            .arg("--identity")
            .arg(identity)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the router starts"),
    );
    {
        use std::io::BufRead;
        let stdout = router.0.stdout.take().expect("stdout");
        let line = std::io::BufReader::new(stdout)
            .lines()
            .next()
            .expect("a line")
            .expect("text");
        assert!(line.contains("listening on"), "{line}");
    }
    let transport = ZenohTransport::open(
        &ZenohConfig::new()
            .mode(Mode::Client)
            .connect([endpoint.clone()]),
    )
    .await
    .expect("zenoh");
    assert!(transport.wait_for_neighbours(Duration::from_secs(10)).await);
    (router, endpoint, transport)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_claims_grants_and_revokes() {
    let dir = tempfile::tempdir().expect("dir");
    let (owner_file, owner) = identity_file(dir.path(), "owner.key");
    let (member_file, member) = identity_file(dir.path(), "member.key");
    let (_router, endpoint, transport) = router_and_client(&owner_file).await;
    let device = Device::builder(behaviour::definition().checked().unwrap(), "cli-claim")
        .transport(transport)
        .build()
        .expect("device");
    device.register().await.expect("register");
    device
        .set_attribute("reading", json!({"level": 7}))
        .await
        .expect("set");
    let claim = device
        .claim_token()
        .expect("an unclaimed device shows a token");
    let console_at = |file: PathBuf, args: Vec<String>| {
        let endpoint = endpoint.clone();
        async move {
            let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
            a.extend(["--connect", &endpoint]);
            run(&file, &a).await
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    // The member cannot read the group attribute yet.
    fails(
        &console_at(member_file.clone(), args(&["get", "cli-claim", "reading"])).await,
        1,
        "access denied",
    );
    // A URI whose key is not the thing's (an impostor answering in its place looks the same
    // from here) is refused, naming both keys; nothing is claimed.
    let forged_uri = claim.uri.replace(
        &device.public_key().to_string(),
        &member.public_key().to_string(),
    );
    fails(
        &console_at(
            owner_file.clone(),
            args(&["claim", "cli-claim", &forged_uri]),
        )
        .await,
        1,
        "has changed",
    );
    assert_eq!(device.parties().owner, None);
    // Claiming with the URI the device shows (as a QR code would carry it).
    let claimed = ok(&console_at(
        owner_file.clone(),
        args(&["claim", "cli-claim", &claim.uri]),
    )
    .await);
    assert!(
        claimed.contains(&owner.public_key().to_string()),
        "{claimed}"
    );
    assert_eq!(device.parties().owner, Some(*owner.public_key()));
    // The key is kept for later runs, beside the identity file.
    let known = std::fs::read_to_string(dir.path().join("known_things")).expect("known_things");
    assert!(
        known.contains(&format!("cli-claim {}", device.public_key())),
        "{known}"
    );
    fails(
        &console_at(
            member_file.clone(),
            args(&["claim", "cli-claim", &claim.token]),
        )
        .await,
        1,
        "claim refused",
    );
    let member_key = member.public_key().to_string();
    let granted = ok(&console_at(
        owner_file.clone(),
        args(&["grant", "cli-claim", &member_key, "--json"]),
    )
    .await);
    let granted: Value = serde_json::from_str(&granted).expect("json");
    assert_eq!(granted["group"], json!([member_key]));
    let read = ok(&console_at(
        member_file.clone(),
        args(&["get", "cli-claim", "reading", "--json"]),
    )
    .await);
    assert_eq!(
        serde_json::from_str::<Value>(&read).expect("json")["value"],
        json!({"level": 7})
    );
    fails(
        &console_at(
            member_file.clone(),
            args(&["grant", "cli-claim", &member_key]),
        )
        .await,
        1,
        "access denied",
    );
    ok(&console_at(
        owner_file.clone(),
        args(&["revoke", "cli-claim", &member_key]),
    )
    .await);
    fails(
        &console_at(member_file.clone(), args(&["get", "cli-claim", "reading"])).await,
        1,
        "access denied",
    );
    fails(
        &console_at(
            owner_file.clone(),
            args(&["grant", "cli-claim", "stNOTAKEY"]),
        )
        .await,
        1,
        "not a SAFEthing public key",
    );
    let forgot = ok(&console_at(owner_file, args(&["forget", "cli-claim"])).await);
    assert!(forgot.contains("forgot the key of `cli-claim`"), "{forgot}");
    let known = std::fs::read_to_string(dir.path().join("known_things")).expect("known_things");
    assert!(!known.contains("cli-claim"), "{known}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lists_reads_watches_and_calls_through_a_router() {
    let dir = tempfile::tempdir().expect("dir");
    let (owner_file, owner) = identity_file(dir.path(), "owner.key");
    let (stranger_file, _) = identity_file(dir.path(), "stranger.key");
    let (_router, endpoint, transport) = router_and_client(&owner_file).await;
    let device = Device::builder(behaviour::definition().checked().unwrap(), "cli-thing")
        .transport(transport.clone())
        .owner(*owner.public_key())
        .build()
        .expect("device");
    device.serve(behaviour::handlers(
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    ));
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    device.set_attribute("level", json!(42)).await.expect("set");
    let ticker = {
        let device = device.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                n += 1;
                let _ = device.set_attribute("level", json!(n % 10)).await;
                let _ = device.emit_event("ping", Value::Null).await;
            }
        })
    };
    let with = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        v.extend(["--connect".to_owned(), endpoint.clone()]);
        v
    };
    let owner_run = |args: Vec<String>| {
        let f = owner_file.clone();
        async move {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&f, &a).await
        }
    };

    let list: Value =
        serde_json::from_str(&ok(&owner_run(with(&["list", "--json"])).await)).expect("json");
    let entry = list
        .as_array()
        .expect("an array")
        .iter()
        .find(|t| t["id"] == "cli-thing")
        .expect("listed")
        .clone();
    assert_eq!(entry["title"], "Test thing");
    assert_eq!(entry["state"], "published");
    assert_eq!(entry["online"], true);
    let table = ok(&owner_run(with(&["list"])).await);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains("cli-thing") && table.contains("published"),
        "{table}"
    );

    let described = ok(&owner_run(with(&["describe", "cli-thing"])).await);
    for needle in [
        "Test thing",
        "attributes:",
        "level",
        "actions:",
        "echo",
        "online",
    ] {
        assert!(described.contains(needle), "`{needle}` in:\n{described}");
    }
    let d: Value =
        serde_json::from_str(&ok(
            &owner_run(with(&["describe", "cli-thing", "--json"])).await
        ))
        .expect("json");
    assert_eq!(d["id"], "cli-thing");
    assert_eq!(d["online"], true);

    let r: Value = serde_json::from_str(&ok(&owner_run(with(&[
        "get",
        "cli-thing",
        "firmware",
        "--json",
    ]))
    .await))
    .expect("json");
    assert_eq!(r["value"], "v1.0.0");
    let value = ok(&owner_run(with(&["get", "cli-thing", "firmware"])).await);
    assert_eq!(value.trim(), "\"v1.0.0\"");
    fails(
        &owner_run(with(&["get", "cli-thing", "nope"])).await,
        1,
        "has no attribute named `nope`",
    );
    fails(
        &owner_run(with(&[
            "get",
            "no-such-thing",
            "level",
            "--within",
            "300ms",
        ]))
        .await,
        1,
        "no thing `no-such-thing` answered",
    );

    let set = ok(&owner_run(with(&["set", "cli-thing", "mode", "\"manual\""])).await);
    assert_eq!(set.trim(), "\"manual\"");
    fails(
        &owner_run(with(&["set", "cli-thing", "mode", "manual"])).await,
        1,
        "not valid JSON",
    );

    let called = ok(&owner_run(with(&[
        "call",
        "cli-thing",
        "echo",
        r#"{"text":"hi"}"#,
        "--wait",
    ]))
    .await);
    let lines: Vec<&str> = called.lines().collect();
    assert_eq!(lines.last(), Some(&"\"hi\""), "{called}");
    assert!(lines.contains(&"done"), "{called}");
    let queued = ok(&owner_run(with(&["call", "cli-thing", "echo", r#"{"text":"x"}"#])).await);
    assert!(queued.starts_with("request "), "{queued}");
    fails(
        &owner_run(with(&["call", "cli-thing", "fail", "--wait"])).await,
        1,
        "action failed",
    );
    fails(
        &owner_run(with(&[
            "call",
            "cli-thing",
            "slow",
            "5000",
            "--wait",
            "--timeout",
            "200ms",
        ]))
        .await,
        1,
        "timed out after 200 ms",
    );

    let watched = ok(&owner_run(with(&[
        "watch",
        "cli-thing",
        "level",
        "--filter",
        "lt 5",
        "--count",
        "2",
        "--json",
    ]))
    .await);
    let values: Vec<Value> = watched
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(values.len(), 2, "{watched}");
    assert!(
        values.iter().all(|v| v["value"].as_f64() < Some(5.0)),
        "{watched}"
    );
    let events = ok(&owner_run(with(&["events", "cli-thing", "ping", "--count", "1"])).await);
    assert!(events.contains("cli-thing ping #"), "{events}");

    fails(
        &run(
            &stranger_file,
            &with(&["disable", "cli-thing"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .await,
        1,
        "access denied",
    );
    let disabled = ok(&owner_run(with(&["disable", "cli-thing"])).await);
    assert_eq!(disabled.trim(), "cli-thing is disabled");
    let published = ok(&owner_run(with(&["publish", "cli-thing"])).await);
    assert_eq!(published.trim(), "cli-thing is published");

    ticker.abort();
    device.shutdown().await;
    let _ = transport.close().await;
}

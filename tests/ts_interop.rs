//! Interoperability of the TypeScript runtime with the Rust runtime, without a gateway
//! (protocol v2: `docs/protocol.md`).
//!
//! Rust writes vectors (identities from known secrets, signed frames, a signed description
//! whose `keys` bundle wraps a group key for a known holder, a frame sealed with that key, a
//! claim frame sealed to the thing) into a temporary directory as `rust.json` — frames as
//! lowercase hex; `node --test tests/ts/interop.test.mjs` (on the checked-in compiled runtime, `typescript/dist/`)
//! verifies and decrypts them, and writes `ts.json` with vectors of its own (frames it signed,
//! a request frame it sealed with the unwrapped key, a claim frame it sealed to the thing, a key
//! it wrapped for a Rust holder), which this test verifies and decrypts with the Rust runtime.
//! The exchange format is in `docs/protocol.md` §9.
//!
//! Besides that exchange: `protocol_vectors_typescript` has the TypeScript runtime check the
//! known-answer vectors of `tests/vectors/protocol-v2.json`; `differential_malformed_frames`
//! feeds both frame readers hundreds of mutated and truncated frames and compares what they
//! accept and read; `attack_relabelled_key_typescript` has a lying relay hand the TypeScript
//! client replies signed by another thing's key (or bound to another request) as the answer it
//! waits for.
//!
//! Needs Node.js 20+ on the PATH (the test command installs nothing for this one: the compiled
//! runtime is checked in); skipped without it unless `SAFETHING_REQUIRE_ALL=1`.

#[path = "support/tools.rs"]
mod tools;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use safething::crypto::{self, Protection, Sealed, SymmetricKey};
use safething::envelope::{Binding, Kind, Outgoing, Sealer, Signing, Verifier, now_ms};
use safething::frame::{self, FrameError, MessageId};
use safething::wire::{AttributeUpdate, Description, Lifecycle};
use safething::{Identity, PublicKey};

const THING: &str = "garden-01";
const DEVICE_SECRET: [u8; 32] = [1; 32];
const HOLDER_SECRET: [u8; 32] = [2; 32];
const TS_SECRET: [u8; 32] = [3; 32];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn s(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn unhex(text: &Value) -> Vec<u8> {
    data_encoding::HEXLOWER
        .decode(text.as_str().expect("hex text").as_bytes())
        .expect("lowercase hex")
}

/// The boot epoch the vectors' requests name.
const BOOT: [u8; 16] = [0x11; 16];

fn rust_vectors() -> (Value, SymmetricKey) {
    let device = Identity::from_secret(DEVICE_SECRET);
    let holder = Identity::from_secret(HOLDER_SECRET);
    let sealer = Sealer::new(device.clone(), Signing::Signed);
    let definition = safething_codegen::load(root().join("examples/things/gardening_device.toml"))
        .unwrap()
        .definition
        .into_definition();

    let group = SymmetricKey::generate().unwrap();
    let mut description = Description {
        id: safething::ir::ThingId::new(THING).unwrap(),
        state: Lifecycle::Published,
        thing_key: *device.public_key(),
        boot: hex(&BOOT),
        owner: Some(*holder.public_key()),
        group: vec![],
        revision: 7,
        keys: Default::default(),
        definition,
    };
    description.keys.group = Some(crypto::wrap(
        &device,
        THING,
        &group,
        &[*holder.public_key()],
    ));
    let description_key = format!("safething/v1/{THING}/description");
    let description_frame = sealer
        .seal(
            &description_key,
            Kind::Description,
            Binding::None,
            &description,
        )
        .unwrap();

    let plain_key = format!("safething/v1/{THING}/attributes/valve_state");
    let plain = sealer
        .seal(
            &plain_key,
            Kind::Publication,
            Binding::None,
            &AttributeUpdate {
                value: json!("open"),
                seq: 3,
                epoch: 9,
            },
        )
        .unwrap();

    let sealed_key = format!("safething/v1/{THING}/attributes/moisture_level");
    let sealed = sealer
        .seal_message(
            &sealed_key,
            &Outgoing {
                protection: Some(Protection::Key(&group)),
                ..Outgoing::new(Kind::Publication, Binding::None)
            },
            now_ms(),
            &AttributeUpdate {
                value: json!(42.5),
                seq: 4,
                epoch: 9,
            },
        )
        .unwrap();

    // A claim from the holder, sealed to the thing and bound (by its associated data) to the
    // holder's key and the frame's id.
    let claim_key = format!("safething/v1/{THING}/admin");
    let claim = Sealer::new(holder.clone(), Signing::Signed)
        .seal_message(
            &claim_key,
            &Outgoing {
                protection: Some(Protection::ToThing(device.public_key())),
                ..Outgoing::new(Kind::Request, Binding::Epoch(BOOT))
            },
            now_ms(),
            &json!({"op": "claim", "token": "0123456789abcdef"}),
        )
        .unwrap();

    // Text with multi-byte characters and escapes: the signature covers the exact bytes.
    let tricky_key = format!("safething/v1/{THING}/events/very_dry_alarm");
    let tricky = sealer
        .seal(
            &tricky_key,
            Kind::Publication,
            Binding::None,
            &json!({"data": {"note": "Grüße \"quoted\" \\ \u{1F331} \n"}, "seq": 1, "epoch": 2}),
        )
        .unwrap();

    let vectors = json!({
        "thing": THING,
        "device": {"secret": DEVICE_SECRET.to_vec(), "public": device.public_key().to_string()},
        "holder": {"secret": HOLDER_SECRET.to_vec(), "public": holder.public_key().to_string()},
        "ts_identity": {"secret": TS_SECRET.to_vec(), "public": Identity::from_secret(TS_SECRET).public_key().to_string()},
        "group_kid": group.kid,
        "boot": hex(&BOOT),
        "description": {"key": description_key, "frame": hex(&description_frame)},
        "plain": {"key": plain_key, "frame": hex(&plain)},
        "sealed": {"key": sealed_key, "frame": hex(&sealed), "value": 42.5},
        "tricky": {"key": tricky_key, "frame": hex(&tricky)},
        "claim": {"key": claim_key, "frame": hex(&claim), "plaintext": r#"{"op":"claim","token":"0123456789abcdef"}"#},
    });
    (vectors, group)
}

#[test]
fn typescript_runtime_interoperates_with_rust() {
    let Some(node) = tools::node() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (vectors, group) = rust_vectors();
    std::fs::write(
        dir.path().join("rust.json"),
        serde_json::to_string_pretty(&vectors).unwrap(),
    )
    .unwrap();

    let out = Command::new(&node)
        .arg("--test")
        .arg(root().join("tests/ts/interop.test.mjs"))
        .env("SAFETHING_VECTORS", dir.path())
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "TypeScript interop tests failed:\n{report}"
    );
    println!("{report}");

    let text = std::fs::read_to_string(dir.path().join("ts.json"))
        .unwrap_or_else(|e| panic!("the TypeScript side wrote no ts.json ({e}):\n{report}"));
    let ts: Value = serde_json::from_str(&text).unwrap();
    let device = Identity::from_secret(DEVICE_SECRET);
    let holder = Identity::from_secret(HOLDER_SECRET);
    let ts_identity = Identity::from_secret(TS_SECRET);

    // The same secret gives the same printable key in both runtimes.
    assert_eq!(
        ts["identity"]["public"].as_str().unwrap(),
        ts_identity.public_key().to_string()
    );
    let ts_key: PublicKey = ts["identity"]["public"].as_str().unwrap().parse().unwrap();

    // Frames the TypeScript runtime signed verify here (their timestamps are a moment old).
    let verifier = Verifier::with_window(Signing::Signed, Duration::from_secs(3600));
    for name in ["envelope", "unicode"] {
        let e = &ts[name];
        let frame = unhex(&e["frame"]);
        let opened = verifier
            .open::<Value>(e["key"].as_str().unwrap(), &frame)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(opened.from, ts_key);
        assert_eq!(opened.body, e["body"], "{name}");
        // ... and not on another key.
        assert!(
            verifier
                .open::<Value>("safething/v1/other/x", &frame)
                .is_err()
        );
    }

    // A write request sealed with the group key the TypeScript side unwrapped from the
    // description, bound to its sender and id.
    let write = &ts["sealed_write"];
    let key = write["key"].as_str().unwrap();
    let frame = unhex(&write["frame"]);
    let opened = verifier.open_raw(key, &frame).unwrap();
    assert!(opened.sealed);
    assert_eq!(opened.kind, Kind::Request);
    assert_eq!(opened.binding, Binding::Epoch(BOOT));
    let plain = crypto::open_body(
        key,
        &opened.from,
        &opened.id,
        opened.body,
        |_| Some(group.clone()),
        None,
    )
    .expect("decrypts");
    let plain: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(plain, json!({"op": "write", "value": 55}));

    // A claim the TypeScript side sealed to the thing opens for the thing alone.
    let claim = &ts["claim"];
    let key = claim["key"].as_str().unwrap();
    let frame = unhex(&claim["frame"]);
    let opened = verifier.open_raw(key, &frame).unwrap();
    assert_eq!(opened.from, ts_key);
    let plain = crypto::open_body(
        key,
        &opened.from,
        &opened.id,
        opened.body,
        |_| None,
        Some(&device),
    )
    .expect("the thing opens the claim");
    assert_eq!(s(&plain), claim["plaintext"].as_str().unwrap());
    assert!(
        crypto::open_body(
            key,
            &opened.from,
            &opened.id,
            opened.body,
            |_| None,
            Some(&holder)
        )
        .is_err()
    );
    // Re-signed by anyone else (another sender in the associated data), it opens for nobody.
    assert!(
        crypto::open_body(
            key,
            holder.public_key(),
            &opened.id,
            opened.body,
            |_| None,
            Some(&device)
        )
        .is_err()
    );

    // A key the TypeScript side wrapped (as a device) for the Rust holder unwraps here.
    let wrapped: crypto::WrappedKey = serde_json::from_value(ts["wrapped"]["key"].clone()).unwrap();
    let unwrapped = crypto::unwrap(&holder, &ts_key, THING, &wrapped).expect("unwraps");
    let sealed: Sealed = serde_json::from_value(ts["wrapped"]["sealed"].clone()).unwrap();
    let plain = unwrapped
        .open(&unhex(&ts["wrapped"]["aad"]), &sealed)
        .expect("opens with the unwrapped key");
    assert_eq!(s(&plain), "wrapped by TypeScript");
    assert!(crypto::unwrap(&device, &ts_key, THING, &wrapped).is_none());
}

/// Runs `node ARGS` with `SAFETHING_VECTORS=dir`; panics with its output unless it succeeds.
fn run_node(node: &str, dir: &Path, args: &[&Path]) -> String {
    let out = Command::new(node)
        .args(args)
        .env("SAFETHING_VECTORS", dir)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "node failed:\n{report}");
    report
}

#[test]
fn protocol_vectors_typescript() {
    let Some(node) = tools::node() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let test = root().join("tests/ts/vectors.test.mjs");
    let report = run_node(&node, dir.path(), &[Path::new("--test"), &test]);
    // Every vector test ran (none skipped, none missing).
    assert!(report.contains("# pass 7"), "{report}");
    assert!(report.contains("# fail 0"), "{report}");
}

/// The session vectors (`tests/vectors/sessions.json`, `docs/protocol.md` §10) checked by the
/// TypeScript runtime: handshake, keys, sealed frames both ways, the unknown-session answer,
/// and the attacks on a client session (replayed counters, reflected and moved frames).
#[test]
fn session_vectors_typescript() {
    let Some(node) = tools::node() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let test = root().join("tests/ts/session-vectors.test.mjs");
    let report = run_node(&node, dir.path(), &[Path::new("--test"), &test]);
    assert!(report.contains("# pass 8"), "{report}");
    assert!(report.contains("# fail 0"), "{report}");
}

/// A small deterministic generator (xorshift64*), so a failure names a reproducible input.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

/// What the Rust reader makes of `bytes`, in the form `tests/ts/differential.mjs` writes.
fn rust_decoded(bytes: &[u8]) -> Value {
    match frame::decode(bytes) {
        Ok(f) => {
            let h = f.header;
            let binding = match h.binding {
                Binding::None => "none".to_owned(),
                Binding::Epoch(e) => format!("epoch:{}", hex(&e)),
                Binding::Request { id, requester } => {
                    format!("request:{}:{}", id.to_hex(), hex(&requester))
                }
                other => panic!("a binding this test does not know: {other:?}"),
            };
            json!({"ok": {
                "kind": h.kind as u8,
                "sealed": h.sealed,
                "sender": hex(&h.sender),
                "id": h.id.to_hex(),
                "ts": h.ts.to_string(),
                "binding": binding,
                "body": hex(f.body),
                "signed_len": f.signed_part.len(),
                "signature": f.signature.map(|s| hex(s)),
                "batch": f.batch.map(|p| format!("{}:{}:{}", p.size, p.index, hex(p.path))),
            }})
        }
        Err(FrameError::UnsupportedVersion(v)) => {
            json!({"error": format!("unsupported_version:{v}")})
        }
        Err(FrameError::Malformed(_)) => json!({"error": "malformed"}),
        Err(other) => panic!("a frame error this test does not know: {other:?}"),
    }
}

/// Mutations of a valid frame: truncations, bit flips, byte changes in the header, lengths
/// that lie, bytes appended or removed.
fn mutate(rng: &mut Rng, frame: &[u8]) -> Vec<u8> {
    let mut f = frame.to_vec();
    match rng.below(8) {
        0 => f.truncate(rng.below(frame.len())),
        1 => {
            let at = rng.below(f.len());
            f[at] ^= 1 << rng.below(8);
        }
        2 => {
            // A header byte (version, kind, flags, lengths) set to anything.
            let at = rng.below(f.len().min(80));
            f[at] = u8::try_from(rng.below(256)).unwrap();
        }
        3 => {
            for _ in 0..=rng.below(4) {
                f.push(u8::try_from(rng.below(256)).unwrap());
            }
        }
        4 => {
            let at = rng.below(f.len());
            f.remove(at);
        }
        5 => {
            // The id length byte (offset 37) set around its limits.
            let n = [0u8, 1, 15, 16, 17, 31, 32, 33, 255][rng.below(9)];
            if let Some(b) = f.get_mut(37) {
                *b = n;
            }
        }
        6 => {
            // The body length made to lie (it sits 4 bytes before the body, unknown here: any
            // 4-byte window of the header).
            let at = 38 + rng.below(f.len().saturating_sub(42).max(1));
            let len = [0u32, 1, 16 << 20, (16 << 20) + 1, u32::MAX][rng.below(5)];
            if at + 4 <= f.len() {
                f[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
        _ => {
            // The flags and kind bytes together.
            if f.len() > 4 {
                f[3] = u8::try_from(rng.below(8)).unwrap();
                f[4] = u8::try_from(rng.below(8)).unwrap();
            }
        }
    }
    f
}

#[test]
fn differential_malformed_frames() {
    let Some(node) = tools::node() else {
        return;
    };
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/vectors/protocol-v2.json")).unwrap(),
    )
    .unwrap();
    let seeds: Vec<Vec<u8>> = vectors["frames"]
        .as_array()
        .unwrap()
        .iter()
        .chain(vectors["batch"]["frames"].as_array().unwrap())
        .map(|f| unhex(&f["frame"]))
        .collect();
    let mut inputs: Vec<Vec<u8>> = seeds.clone();
    inputs.extend(
        vectors["malformed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| unhex(&m["frame"])),
    );
    let mut rng = Rng(0x5afe_7419_0000_0002);
    for seed in &seeds {
        // Every truncation of the first frames, then random mutations of each (some twice).
        for _ in 0..60 {
            let once = mutate(&mut rng, seed);
            inputs.push(once.clone());
            if !once.is_empty() {
                inputs.push(mutate(&mut rng, &once));
            }
        }
    }
    for seed in seeds.iter().take(2) {
        for n in 0..seed.len() {
            inputs.push(seed[..n].to_vec());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let hexes: Vec<String> = inputs.iter().map(|f| hex(f)).collect();
    std::fs::write(
        dir.path().join("frames.json"),
        serde_json::to_string(&hexes).unwrap(),
    )
    .unwrap();
    run_node(
        &node,
        dir.path(),
        &[&root().join("tests/ts/differential.mjs")],
    );
    let decoded: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("decoded.json")).unwrap())
            .unwrap();
    assert_eq!(decoded.len(), inputs.len());
    let (mut accepted, mut refused) = (0, 0);
    for (input, ts) in inputs.iter().zip(&decoded) {
        let rust = rust_decoded(input);
        assert_eq!(&rust, ts, "the readers disagree on {}", hex(input));
        if rust.get("ok").is_some() {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(inputs.len() >= 500, "{} inputs", inputs.len());
    // Both outcomes are well represented, so agreement means something.
    assert!(
        accepted >= 30 && refused >= 300,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn attack_relabelled_key_typescript() {
    let Some(node) = tools::node() else {
        return;
    };
    let device = Identity::from_secret(DEVICE_SECRET);
    // Another thing, whose genuine frames the relay hands out as garden-01's.
    let other = Identity::from_secret([9; 32]);
    let ts_identity = Identity::from_secret(TS_SECRET);
    let definition = safething_codegen::load(root().join("examples/things/gardening_device.toml"))
        .unwrap()
        .definition;
    let describe = |who: &Identity, id: &str| {
        let d = Description {
            id: safething::ir::ThingId::new(id).unwrap(),
            state: Lifecycle::Published,
            thing_key: *who.public_key(),
            boot: hex(&BOOT),
            owner: None,
            group: vec![],
            revision: 1,
            keys: Default::default(),
            definition: (*definition).clone(),
        };
        let key = format!("safething/v1/{id}/description");
        let frame = Sealer::new(who.clone(), Signing::Signed)
            .seal(&key, Kind::Description, Binding::None, &d)
            .unwrap();
        (key, frame)
    };
    let (description_key, description) = describe(&device, THING);
    let (_, other_description) = describe(&other, "garden-02");

    let request = MessageId::from_16([0x77; 16]);
    let bound = Binding::Request {
        id: request,
        requester: *ts_identity.public_key().as_bytes(),
    };
    let key = format!("safething/v1/{THING}/attributes/moisture_level");
    let other_key = "safething/v1/garden-02/attributes/moisture_level";
    let body = json!({"ok": {"value": 42.5, "seq": 3, "ts": now_ms(), "epoch": 9}});
    let reply = |who: &Identity, on: &str, binding: Binding| {
        Sealer::new(who.clone(), Signing::Signed)
            .seal(on, Kind::Reply, binding, &body)
            .unwrap()
    };
    let sample = |label: &str, frame: &[u8]| json!({"key": label, "frame": hex(frame)});
    let unbound = Binding::Request {
        id: MessageId::from_16([0x78; 16]),
        requester: *ts_identity.public_key().as_bytes(),
    };
    let vectors = json!({
        "thing": THING,
        "thing_key": device.public_key().to_string(),
        "ts_identity": {"secret": TS_SECRET.to_vec()},
        "boot": hex(&BOOT),
        "key": key,
        "request_id": request.to_hex(),
        "description": sample(&description_key, &description),
        // garden-02's description, labelled as garden-01's.
        "other_description_relabelled": sample(&description_key, &other_description),
        "genuine": sample(&key, &reply(&device, &key, bound)),
        // Genuine replies of garden-02, bound to the client's very request.
        "other_on_its_key": sample(other_key, &reply(&other, other_key, bound)),
        "other_relabelled": sample(&key, &reply(&other, other_key, bound)),
        "other_resigned": sample(&key, &reply(&other, &key, bound)),
        // garden-01's genuine reply to another request.
        "unbound": sample(&key, &reply(&device, &key, unbound)),
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("relabel.json"),
        serde_json::to_string_pretty(&vectors).unwrap(),
    )
    .unwrap();
    let test = root().join("tests/ts/relabel.test.mjs");
    let report = run_node(&node, dir.path(), &[Path::new("--test"), &test]);
    assert!(report.contains("# pass 2"), "{report}");
    assert!(report.contains("# fail 0"), "{report}");
}

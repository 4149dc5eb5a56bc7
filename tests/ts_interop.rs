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

//! Interoperability of the TypeScript runtime with the Rust runtime, without a gateway.
//!
//! Rust writes vectors (identities from known secrets, signed envelopes, a signed description
//! whose `keys` bundle wraps a group key for a known holder, payloads sealed with that key, a
//! claim sealed to the thing) into a temporary directory; `node --test
//! tests/ts/interop.test.mjs` (on the checked-in compiled runtime, `typescript/dist/`)
//! verifies and decrypts them, and writes vectors of its own (envelopes it signed, payloads it
//! sealed with the unwrapped key, a claim it sealed to the thing, a key it wrapped for a Rust
//! holder), which this test verifies and decrypts with the Rust runtime.
//!
//! Needs Node.js 20+ on the PATH (the test command installs nothing for this one: the compiled
//! runtime is checked in); skipped without it unless `SAFETHING_REQUIRE_ALL=1`.

#[path = "support/tools.rs"]
mod tools;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use safething::crypto::{self, Sealed, SealedBody, SymmetricKey};
use safething::envelope::{Sealer, Signing, Verifier};
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

fn rust_vectors() -> (Value, SymmetricKey) {
    let device = Identity::from_secret(DEVICE_SECRET);
    let holder = Identity::from_secret(HOLDER_SECRET);
    let sealer = Sealer::new(device.clone(), Signing::Signed);
    let definition = safething_codegen::load(root().join("examples/things/gardening_device.toml"))
        .unwrap()
        .definition;

    let group = SymmetricKey::generate().unwrap();
    let mut description = Description {
        id: safething::ir::ThingId::new(THING).unwrap(),
        state: Lifecycle::Published,
        thing_key: *device.public_key(),
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
    let description_envelope = sealer.seal(&description_key, &description).unwrap();

    let plain_key = format!("safething/v1/{THING}/attributes/valve_state");
    let plain = sealer
        .seal(
            &plain_key,
            &AttributeUpdate {
                value: json!("open"),
                seq: 3,
                epoch: 9,
            },
        )
        .unwrap();

    let sealed_key = format!("safething/v1/{THING}/attributes/moisture_level");
    let update = serde_json::to_vec(&AttributeUpdate {
        value: json!(42.5),
        seq: 4,
        epoch: 9,
    })
    .unwrap();
    let sealed_body = SealedBody {
        sealed: group.seal(&sealed_key, &update).unwrap(),
    };
    let sealed = sealer.seal(&sealed_key, &sealed_body).unwrap();

    let claim_key = format!("safething/v1/{THING}/admin");
    let claim = crypto::seal_to(
        device.public_key(),
        &claim_key,
        br#"{"op":"claim","token":"0123456789abcdef"}"#,
    )
    .unwrap();

    // Text with multi-byte characters and escapes: the signature covers the exact bytes.
    let tricky_key = format!("safething/v1/{THING}/events/very_dry_alarm");
    let tricky = sealer
        .seal(
            &tricky_key,
            &json!({"data": {"note": "Grüße \"quoted\" \\ \u{1F331} \n"}, "seq": 1, "epoch": 2}),
        )
        .unwrap();

    let vectors = json!({
        "thing": THING,
        "device": {"secret": DEVICE_SECRET.to_vec(), "public": device.public_key().to_string()},
        "holder": {"secret": HOLDER_SECRET.to_vec(), "public": holder.public_key().to_string()},
        "ts_identity": {"secret": TS_SECRET.to_vec(), "public": Identity::from_secret(TS_SECRET).public_key().to_string()},
        "group_kid": group.kid,
        "description": {"key": description_key, "envelope": s(&description_envelope)},
        "plain": {"key": plain_key, "envelope": s(&plain)},
        "sealed": {"key": sealed_key, "envelope": s(&sealed), "value": 42.5},
        "tricky": {"key": tricky_key, "envelope": s(&tricky)},
        "claim": {"aad": claim_key, "sealed": claim, "plaintext": r#"{"op":"claim","token":"0123456789abcdef"}"#},
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

    // Envelopes the TypeScript runtime signed verify here (their timestamps are a moment old).
    let verifier = Verifier::with_window(Signing::Signed, Duration::from_secs(3600));
    for name in ["envelope", "unicode"] {
        let e = &ts[name];
        let opened = verifier
            .open::<Value>(
                e["key"].as_str().unwrap(),
                e["envelope"].as_str().unwrap().as_bytes(),
            )
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(opened.from, ts_key);
        assert_eq!(opened.body, e["body"], "{name}");
        // ... and not on another key.
        assert!(
            verifier
                .open::<Value>(
                    "safething/v1/other/x",
                    e["envelope"].as_str().unwrap().as_bytes()
                )
                .is_err()
        );
    }

    // A write sealed with the group key the TypeScript side unwrapped from the description.
    let write = &ts["sealed_write"];
    let key = write["key"].as_str().unwrap();
    let opened = verifier
        .open::<SealedBody>(key, write["envelope"].as_str().unwrap().as_bytes())
        .unwrap();
    assert_eq!(opened.body.sealed.kid.as_deref(), Some(group.kid.as_str()));
    let plain = group.open(key, &opened.body.sealed).expect("decrypts");
    let plain: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(plain, json!({"op": "write", "value": 55}));

    // A claim the TypeScript side sealed to the thing opens for the thing alone.
    let claim = &ts["claim"];
    let sealed: Sealed = serde_json::from_value(claim["sealed"].clone()).unwrap();
    let aad = claim["aad"].as_str().unwrap();
    let plain = crypto::open_to(&device, aad, &sealed).expect("the thing opens the claim");
    assert_eq!(s(&plain), claim["plaintext"].as_str().unwrap());
    assert!(crypto::open_to(&holder, aad, &sealed).is_none());

    // A key the TypeScript side wrapped (as a device) for the Rust holder unwraps here.
    let wrapped: crypto::WrappedKey = serde_json::from_value(ts["wrapped"]["key"].clone()).unwrap();
    let unwrapped = crypto::unwrap(&holder, &ts_key, THING, &wrapped).expect("unwraps");
    let sealed: Sealed = serde_json::from_value(ts["wrapped"]["sealed"].clone()).unwrap();
    let plain = unwrapped
        .open(ts["wrapped"]["aad"].as_str().unwrap(), &sealed)
        .expect("opens with the unwrapped key");
    assert_eq!(s(&plain), "wrapped by TypeScript");
    assert!(crypto::unwrap(&device, &ts_key, THING, &wrapped).is_none());
}

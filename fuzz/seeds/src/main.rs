//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/` (run from anywhere with
//! `cargo run --manifest-path fuzz/Cargo.toml -p safething-fuzz-seeds`; the output is
//! committed, so this only runs again when the wire format or the examples change).
//!
//! - `frame`: every frame of the known-answer vectors (`tests/vectors/protocol-v2.json`),
//!   valid, malformed and batched;
//! - `description`: the description body of the vectors, and for each `examples/things/*.toml`,
//!   lowered by the TOML front end, a description as its device publishes it, once bare and
//!   once owned, with a group and keys wrapped for the fuzzing client.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use safething::crypto::{self, KeyBundle, SymmetricKey};
use safething::ir::ThingId;
use safething::wire::{Description, Lifecycle};
use safething::{Identity, PublicKey};

/// Must equal `safething_fuzz::CLIENT_SECRET` (kept apart so this crate does not build
/// libFuzzer).
const CLIENT_SECRET: [u8; 32] = [2; 32];
/// Must equal `safething_fuzz::THING_SECRET`.
const THING_SECRET: [u8; 32] = [1; 32];

fn main() -> ExitCode {
    match run() {
        Ok(n) => {
            println!("wrote {n} seeds");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("safething-fuzz-seeds: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<usize, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .map_err(|e| format!("the repository root: {e}"))?;
    let corpus = root.join("fuzz/corpus");
    let mut n = 0;

    let vectors = read(&root.join("tests/vectors/protocol-v2.json"))?;
    let vectors: serde_json::Value =
        serde_json::from_slice(&vectors).map_err(|e| format!("the vectors: {e}"))?;
    let frames = vectors["frames"].as_array().into_iter().flatten();
    let malformed = vectors["malformed"].as_array().into_iter().flatten();
    let batched = vectors["batch"]["frames"].as_array().into_iter().flatten();
    for (i, v) in frames.chain(malformed).chain(batched).enumerate() {
        let hex = v["frame"].as_str().ok_or("a vector without a frame")?;
        let bytes = data_encoding::HEXLOWER
            .decode(hex.as_bytes())
            .map_err(|e| format!("vector {i}: {e}"))?;
        write(&corpus.join("frame").join(format!("vector-{i:02}")), &bytes)?;
        n += 1;
        if v["kind"] == 5
            && let Some(body) = v["body"].as_str()
        {
            write(
                &corpus.join("description/vector-body.json"),
                body.as_bytes(),
            )?;
            n += 1;
        }
    }

    // Bundles: the batch's frames, and every valid frame, each as one bundle.
    let bundles = [
        ("batch", vectors["batch"]["frames"].as_array()),
        ("frames", vectors["frames"].as_array()),
    ];
    for (name, list) in bundles {
        let frames = list
            .into_iter()
            .flatten()
            .map(|v| {
                let hex = v["frame"].as_str().ok_or("a vector without a frame")?;
                data_encoding::HEXLOWER
                    .decode(hex.as_bytes())
                    .map_err(|e| format!("bundle `{name}`: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let bytes = safething::bundle::encode(&frames).ok_or("a bundle of no frame")?;
        write(&corpus.join("bundle").join(name), &bytes)?;
        n += 1;
    }

    // Session frames: the sessions vectors' hello, welcome, sealed, unknown and refused.
    let sessions = read(&root.join("tests/vectors/sessions.json"))?;
    let sessions: serde_json::Value =
        serde_json::from_slice(&sessions).map_err(|e| format!("the session vectors: {e}"))?;
    let mut session_frames = vec![
        ("hello".to_owned(), &sessions["handshake"]["hello"]),
        ("welcome".to_owned(), &sessions["handshake"]["welcome"]),
        ("unknown".to_owned(), &sessions["unknown"]["frame"]),
        ("refused".to_owned(), &sessions["refused"]),
    ];
    for (i, s) in sessions["sealed"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        session_frames.push((format!("sealed-{i}"), &s["frame"]));
    }
    for (name, hex) in session_frames {
        let hex = hex
            .as_str()
            .ok_or_else(|| format!("session vector `{name}` without a frame"))?;
        let bytes = data_encoding::HEXLOWER
            .decode(hex.as_bytes())
            .map_err(|e| format!("session vector `{name}`: {e}"))?;
        write(&corpus.join("session").join(name), &bytes)?;
        n += 1;
    }

    let thing = Identity::from_secret(THING_SECRET);
    let me = Identity::from_secret(CLIENT_SECRET);
    let member = *Identity::from_secret([3; 32]).public_key();
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root.join("examples/things"))
        .map_err(|e| format!("examples/things: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    examples.sort();
    for path in examples {
        let loaded = safething_codegen::load(&path).map_err(|e| e.render(false))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or("an example without a name")?
            .to_owned();
        let id = ThingId::new(format!("{}-01", stem.replace('_', "-")))
            .map_err(|e| format!("{stem}: {e}"))?;
        let bare = Description {
            id: id.clone(),
            state: Lifecycle::Registered,
            thing_key: *thing.public_key(),
            boot: "00112233445566778899aabbccddeeff".into(),
            owner: None,
            group: Vec::new(),
            revision: 1,
            keys: KeyBundle::default(),
            definition: loaded.definition.into_definition(),
        };
        let holders: [PublicKey; 2] = [*me.public_key(), member];
        let key = |kid: &str, b: u8| SymmetricKey::from_parts(kid, [b; 32]);
        let wrap = |k: &SymmetricKey| crypto::wrap(&thing, id.as_str(), k, &holders);
        let owned = Description {
            state: Lifecycle::Published,
            owner: Some(*me.public_key()),
            group: vec![member],
            revision: 7,
            keys: KeyBundle {
                group: Some(wrap(&key("group-2", 0x22))),
                owner: Some(crypto::wrap(
                    &thing,
                    id.as_str(),
                    &key("owner-1", 0x11),
                    &holders[..1],
                )),
                previous: vec![wrap(&key("group-1", 0x21))],
            },
            ..bare.clone()
        };
        for (variant, d) in [("bare", bare), ("owned", owned)] {
            let json = serde_json::to_vec(&d).map_err(|e| format!("{stem}: {e}"))?;
            write(
                &corpus
                    .join("description")
                    .join(format!("{stem}-{variant}.json")),
                &json,
            )?;
            n += 1;
        }
    }
    Ok(n)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

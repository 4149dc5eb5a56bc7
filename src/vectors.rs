//! Known-answer tests of protocol v2 against `tests/vectors/protocol-v2.json`, the vectors the
//! TypeScript runtime checks too. `SAFETHING_BLESS=1 cargo test --lib vectors` writes the file
//! from this runtime (only when the format changes on purpose: review the diff).

use serde_json::{Value, json};

use crate::crypto::{self, Protection, SymmetricKey};
use crate::envelope::{Binding, Kind, MessageId, Outgoing, Sealer, Signing, Verifier};
use crate::frame::{self, Header};
use crate::identity::Identity;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/protocol-v2.json"
);

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

const DEVICE_SEED: [u8; 32] = [0x01; 32];
const CLIENT_SEED: [u8; 32] = [0x02; 32];
const THING: &str = "garden-01";
const TS: u64 = 1_764_250_000_123;
const BOOT: [u8; 16] = [0x11; 16];
const GROUP_SECRET: [u8; 32] = [0x42; 32];
const GROUP_KID: &str = "00112233aabbccdd";
const NONCE: [u8; 12] = [0x24; 12];
const EPHEMERAL: [u8; 32] = [0x55; 32];
const WRAP_NONCE: [u8; 12] = [0x77; 12];

fn id(first: u8) -> MessageId {
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = first.wrapping_add(u8::try_from(i).unwrap_or(0));
    }
    MessageId::from_16(bytes)
}

/// A frame written from its parts, with a body given as bytes (so sealed bodies with fixed
/// nonces can be framed too).
fn frame_bytes(
    identity: &Identity,
    key: &str,
    header: &Header,
    body: &[u8],
    signed: bool,
) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut out = Vec::new();
    let start = frame::begin(&mut out, header, signed).unwrap();
    out.extend_from_slice(body);
    frame::finish(&mut out, start).unwrap();
    if !signed {
        return (out, None);
    }
    let input = frame::signing_input(key, &out).unwrap();
    out.extend_from_slice(&identity.sign(&input));
    (out, Some(input))
}

fn frame_vector(
    name: &str,
    identity: &Identity,
    key: &str,
    header: Header,
    body: &[u8],
    signed: bool,
) -> Value {
    let (bytes, input) = frame_bytes(identity, key, &header, body, signed);
    let binding = match header.binding {
        Binding::None => json!({"type": "none"}),
        Binding::Epoch(e) => json!({"type": "epoch", "epoch": hex(&e)}),
        Binding::Request { id, requester } => {
            json!({"type": "request", "request_id": id.to_hex(), "requester": hex(&requester)})
        }
    };
    json!({
        "name": name,
        "key": key,
        "kind": header.kind as u8,
        "sealed": header.sealed,
        "signed": signed,
        "sender": hex(&header.sender),
        "id": header.id.to_hex(),
        "ts": header.ts,
        "binding": binding,
        "body": String::from_utf8_lossy(body),
        "signing_input": input.map(|i| hex(&i)),
        "frame": hex(&bytes),
    })
}

fn vectors() -> Value {
    let device = Identity::from_secret(DEVICE_SEED);
    let client = Identity::from_secret(CLIENT_SEED);
    let (dk, ck) = (*device.public_key(), *client.public_key());
    let identity = |i: &Identity, seed: [u8; 32]| {
        json!({
            "seed": hex(&seed),
            "public": hex(i.public_key().as_bytes()),
            "printed": i.public_key().to_string(),
            "x25519_secret": hex(&i.x25519_scalar()),
            "x25519_public": hex(&i.public_key().x25519_bytes().unwrap()),
        })
    };
    let event_key = format!("safething/v1/{THING}/events/very_dry_alarm");
    let attr_key = format!("safething/v1/{THING}/attributes/moisture_level");
    let action_key = format!("safething/v1/{THING}/actions/open_valve");
    let admin_key = format!("safething/v1/{THING}/admin");
    let publication = |_signed: bool| Header {
        kind: Kind::Publication,
        sealed: false,
        sender: *dk.as_bytes(),
        id: id(0x00),
        ts: TS,
        binding: Binding::None,
    };
    let event_body = br#"{"data":{"level":12},"seq":1,"epoch":7}"#;
    let request = Header {
        kind: Kind::Request,
        sealed: false,
        sender: *ck.as_bytes(),
        id: id(0x20),
        ts: TS,
        binding: Binding::Epoch(BOOT),
    };
    let bound = Binding::Request {
        id: id(0x20),
        requester: *ck.as_bytes(),
    };
    let reply = Header {
        kind: Kind::Reply,
        sealed: false,
        sender: *dk.as_bytes(),
        id: id(0x40),
        ts: TS + 5,
        binding: bound,
    };
    let state = Header {
        kind: Kind::State,
        id: id(0x60),
        ..reply
    };
    let description = Header {
        kind: Kind::Description,
        id: id(0x80),
        ..publication(true)
    };
    let invoke_body = format!(
        r#"{{"op":"invoke","request":"{}","input":{{"psi":60}}}}"#,
        id(0x20).to_hex()
    );
    let mut frames = vec![
        frame_vector("publication, unsigned", &device, &event_key, publication(false), event_body, false),
        frame_vector("publication, signed", &device, &event_key, publication(true), event_body, true),
        frame_vector("request (read), signed", &client, &attr_key, request, br#"{"op":"read"}"#, true),
        frame_vector("request (invoke), signed", &client, &action_key, request, invoke_body.as_bytes(), true),
        frame_vector(
            "reply, signed",
            &device,
            &attr_key,
            reply,
            br#"{"ok":{"value":42.5,"seq":3,"ts":1764250000000,"epoch":9}}"#,
            true,
        ),
        frame_vector(
            "request state, signed",
            &device,
            &format!("safething/v1/{THING}/requests/{}", id(0x20).to_hex()),
            state,
            br#"{"request":"202122232425262728292a2b2c2d2e2f","action":"open_valve","seq":2,"state":"done","output":"open"}"#,
            true,
        ),
        frame_vector("description (short body), signed", &device, &format!("safething/v1/{THING}/description"), description, br#"{"id":"garden-01"}"#, true),
    ];

    // Sealing with the group key, fixed nonce, inside a signed request frame.
    let group = SymmetricKey::from_parts(GROUP_KID, GROUP_SECRET);
    let write_plain = br#"{"op":"write","value":55}"#;
    let sealed_request = Header {
        sealed: true,
        id: id(0xa0),
        ..request
    };
    let aad = crypto::aad(&attr_key, &ck, &sealed_request.id).unwrap();
    let sealed = group.seal_with_nonce(NONCE, &aad, write_plain).unwrap();
    let sealed_body = serde_json::to_vec(&crypto::SealedBody {
        sealed: sealed.clone(),
    })
    .unwrap();
    frames.push(frame_vector(
        "request sealed with the group key, signed",
        &client,
        &attr_key,
        sealed_request,
        &sealed_body,
        true,
    ));

    // Sealing to the thing (a claim), fixed ephemeral secret and nonce.
    let claim_plain = br#"{"op":"claim","token":"0123456789abcdef"}"#;
    let claim_header = Header {
        sealed: true,
        id: id(0xc0),
        ..request
    };
    let claim_aad = crypto::aad(&admin_key, &ck, &claim_header.id).unwrap();
    let claim = crypto::seal_to_with(EPHEMERAL, NONCE, &dk, &claim_aad, claim_plain).unwrap();
    let claim_body = serde_json::to_vec(&crypto::SealedBody {
        sealed: claim.clone(),
    })
    .unwrap();
    frames.push(frame_vector(
        "claim sealed to the thing, signed",
        &client,
        &admin_key,
        claim_header,
        &claim_body,
        true,
    ));
    let eph = x25519_dalek::StaticSecret::from(EPHEMERAL);
    let epk = x25519_dalek::PublicKey::from(&eph);
    let to_shared = eph.diffie_hellman(&crypto::x_public(&dk).unwrap());
    let to_info: &[&[u8]] = &[b"to", epk.as_bytes(), dk.as_bytes()];
    let to_key = crypto::derive(to_shared.as_bytes(), to_info).unwrap();

    // Key wrapping: the device wraps the group key for the client.
    let wrap_shared = crypto::x_secret(&device).diffie_hellman(&crypto::x_public(&ck).unwrap());
    let wrap_info: &[&[u8]] = &[
        b"wrap",
        THING.as_bytes(),
        GROUP_KID.as_bytes(),
        ck.as_bytes(),
    ];
    let wrap_key = crypto::derive(wrap_shared.as_bytes(), wrap_info).unwrap();
    let wrap_aad = crypto::wrap_aad(GROUP_KID).unwrap();
    let wrapped = crypto::wrap_for(&device, THING, &group, &ck, WRAP_NONCE, &wrap_aad).unwrap();
    let lp_info = |parts: &[&[u8]]| {
        let mut out = Vec::new();
        for p in parts {
            frame::put_lp(&mut out, p).unwrap();
        }
        hex(&out)
    };

    let batch = batch_vectors(&device, &event_key, &attr_key);
    let mut malformed = vec![
        json!({"frame": hex(br#"{"v":1,"from":"st","id":"1","ts":1,"body":{}}"#), "error": "unsupported_version", "version": 1}),
        json!({"frame": "535403", "error": "unsupported_version", "version": 3}),
        json!({"frame": "", "error": "malformed"}),
        json!({"frame": "5354", "error": "malformed"}),
        json!({"frame": "585902", "error": "malformed"}),
        json!({"frame": "53540203", "error": "malformed", "why": "short header"}),
        json!({"frame": format!("5354020380{}", "00".repeat(40)), "error": "malformed", "why": "unknown flags"}),
        json!({"frame": format!("5354020900{}", "00".repeat(40)), "error": "malformed", "why": "unknown kind"}),
        json!({"frame": format!("5354020300{}00", "07".repeat(32)), "error": "malformed", "why": "id length 0"}),
        json!({"frame": format!("5354020300{}21{}", "07".repeat(32), "00".repeat(45)), "error": "malformed", "why": "id length 33"}),
    ];
    malformed.extend(batch_malformed(&batch));

    json!({
        "protocol": "safething/v2",
        "notes": "All byte strings are lowercase hex unless named b64url. Frames: docs/protocol.md §1-2; AEAD and keys: §3.",
        "identities": {"device": identity(&device, DEVICE_SEED), "client": identity(&client, CLIENT_SEED)},
        "thing": THING,
        "boot": hex(&BOOT),
        "frames": frames,
        "aead": {
            "group_key": {"kid": GROUP_KID, "secret": hex(&GROUP_SECRET)},
            "nonce": hex(&NONCE),
            "key": attr_key,
            "sender": hex(ck.as_bytes()),
            "id": id(0xa0).to_hex(),
            "aad": hex(&aad),
            "plaintext": String::from_utf8_lossy(write_plain),
            "sealed": sealed,
        },
        "seal_to": {
            "to": hex(dk.as_bytes()),
            "ephemeral_secret": hex(&EPHEMERAL),
            "epk": hex(epk.as_bytes()),
            "shared": hex(to_shared.as_bytes()),
            "hkdf_salt": hex(frame::LABEL),
            "hkdf_info": lp_info(to_info),
            "key": hex(to_key.secret()),
            "nonce": hex(&NONCE),
            "key_expr": admin_key,
            "sender": hex(ck.as_bytes()),
            "id": id(0xc0).to_hex(),
            "aad": hex(&claim_aad),
            "plaintext": String::from_utf8_lossy(claim_plain),
            "sealed": claim,
        },
        "wrap": {
            "device": hex(dk.as_bytes()),
            "holder": hex(ck.as_bytes()),
            "thing": THING,
            "kid": GROUP_KID,
            "key_secret": hex(&GROUP_SECRET),
            "shared": hex(wrap_shared.as_bytes()),
            "hkdf_info": lp_info(wrap_info),
            "wrapping_key": hex(wrap_key.secret()),
            "aad": hex(&wrap_aad),
            "nonce": hex(&WRAP_NONCE),
            "wrapped": wrapped,
        },
        "batch": batch,
        "malformed": malformed,
    })
}

/// A batch of three publications signed once (`docs/protocol.md` §2.1): two events and an
/// attribute update, a tree whose paths have two lengths.
fn batch_vectors(device: &Identity, event_key: &str, attr_key: &str) -> Value {
    let dk = *device.public_key();
    let header = |first: u8| Header {
        kind: Kind::Publication,
        sealed: false,
        sender: *dk.as_bytes(),
        id: id(first),
        ts: TS + 10,
        binding: Binding::None,
    };
    let parts: [(&str, &str, Header, &[u8]); 3] = [
        (
            "event",
            event_key,
            header(0xd0),
            br#"{"data":{"level":12},"seq":2,"epoch":7}"#,
        ),
        (
            "attribute update",
            attr_key,
            header(0xe0),
            br#"{"value":41.5,"seq":8,"epoch":7}"#,
        ),
        (
            "event",
            event_key,
            header(0xf0),
            br#"{"data":{"level":11},"seq":3,"epoch":7}"#,
        ),
    ];
    let mut unsigned = Vec::new();
    let mut inputs = Vec::new();
    for (_, key, h, body) in &parts {
        let mut out = Vec::new();
        let start = frame::begin(&mut out, h, true).unwrap();
        out.extend_from_slice(body);
        frame::finish(&mut out, start).unwrap();
        let mut batched = out.clone();
        batched[frame::FLAGS_AT] |= frame::FLAG_BATCHED;
        inputs.push(frame::signing_input(key, &batched).unwrap());
        unsigned.push(((*key).to_owned(), out));
    }
    let signed = crate::batch::sign_frames(device, unsigned);
    let leaves: Vec<_> = inputs.iter().map(|i| crate::batch::leaf_hash(i)).collect();
    let (root, paths) = crate::batch::tree(&leaves);
    let root_message = crate::batch::root_message(3, &root);
    let frames: Vec<Value> = parts
        .iter()
        .zip(&signed)
        .enumerate()
        .map(|(i, ((name, key, h, body), bytes))| {
            json!({
                "name": format!("{name}, batch of 3, index {i}"),
                "key": key,
                "kind": h.kind as u8,
                "sealed": false,
                "signed": true,
                "sender": hex(&h.sender),
                "id": h.id.to_hex(),
                "ts": h.ts,
                "binding": {"type": "none"},
                "body": String::from_utf8_lossy(body),
                "signing_input": hex(&inputs[i]),
                "leaf": hex(&leaves[i]),
                "index": i,
                "path": paths[i].iter().map(|p| hex(p)).collect::<Vec<_>>(),
                "frame": hex(bytes),
            })
        })
        .collect();
    json!({
        "size": 3,
        "root": hex(&root),
        "root_message": hex(&root_message),
        "signature": hex(&device.sign(&root_message)),
        "frames": frames,
    })
}

/// Batched frames every reader refuses: the batched flag without the signed one, a batch of
/// one, an index outside the batch.
fn batch_malformed(batch: &Value) -> Vec<Value> {
    let first = data_encoding::HEXLOWER
        .decode(batch["frames"][0]["frame"].as_str().unwrap().as_bytes())
        .unwrap();
    let proof_at = frame::decode(&first).unwrap().signed_part.len();
    let mut unsigned = first.clone();
    unsigned[frame::FLAGS_AT] = frame::FLAG_BATCHED;
    let mut one = first.clone();
    one[proof_at..proof_at + 4].copy_from_slice(&[0, 1, 0, 0]);
    let mut outside = first;
    outside[proof_at..proof_at + 4].copy_from_slice(&[0, 3, 0, 3]);
    vec![
        json!({"frame": hex(&unsigned), "error": "malformed", "why": "batched, not signed"}),
        json!({"frame": hex(&one), "error": "malformed", "why": "batch of one"}),
        json!({"frame": hex(&outside), "error": "malformed", "why": "index outside the batch"}),
    ]
}

#[test]
fn vectors_match_the_checked_in_file() {
    let ours = vectors();
    let text = serde_json::to_string_pretty(&ours).unwrap() + "\n";
    if std::env::var_os("SAFETHING_BLESS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(PATH).parent().unwrap()).unwrap();
        std::fs::write(PATH, &text).unwrap();
    }
    let file = std::fs::read_to_string(PATH).expect("tests/vectors/protocol-v2.json");
    let theirs: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(
        ours, theirs,
        "the vectors drifted from tests/vectors/protocol-v2.json"
    );
}

/// Every frame of the file decodes, verifies and writes back to the same bytes; the malformed
/// ones are refused with the error they name; sealed vectors open.
#[test]
fn vectors_decode_verify_and_open() {
    let file = std::fs::read_to_string(PATH).expect("tests/vectors/protocol-v2.json");
    let v: Value = serde_json::from_str(&file).unwrap();
    let unhex = |x: &Value| {
        data_encoding::HEXLOWER
            .decode(x.as_str().unwrap().as_bytes())
            .unwrap()
    };
    // Timestamps are fixed in the past: a window wide enough for them.
    let verifier =
        Verifier::with_window(Signing::Unsigned, std::time::Duration::from_secs(1 << 40));
    for f in v["frames"].as_array().unwrap() {
        let bytes = unhex(&f["frame"]);
        let key = f["key"].as_str().unwrap();
        let opened = verifier
            .open_raw(key, &bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", f["name"]));
        assert_eq!(opened.signed, f["signed"].as_bool().unwrap());
        assert_eq!(opened.kind as u8, f["kind"].as_u64().unwrap() as u8);
        assert_eq!(opened.id.to_hex(), f["id"].as_str().unwrap());
        assert_eq!(opened.body, f["body"].as_str().unwrap().as_bytes());
        if opened.signed {
            assert!(verifier.open_raw("safething/v1/other/key", &bytes).is_err());
        }
    }
    // Batched frames: each verifies alone, with a signing verifier that has no root cached,
    // and its proof is the one listed.
    let b = &v["batch"];
    for f in b["frames"].as_array().unwrap() {
        let bytes = unhex(&f["frame"]);
        let key = f["key"].as_str().unwrap();
        let fresh = Verifier::with_window(Signing::Signed, std::time::Duration::from_secs(1 << 40));
        let opened = fresh
            .open_raw(key, &bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", f["name"]));
        assert!(opened.signed);
        assert_eq!(opened.body, f["body"].as_str().unwrap().as_bytes());
        let decoded = frame::decode(&bytes).unwrap();
        let proof = decoded.batch.unwrap();
        assert_eq!(u64::from(proof.index), f["index"].as_u64().unwrap());
        assert_eq!(u64::from(proof.size), b["size"].as_u64().unwrap());
        let path: String = f["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(hex(proof.path), path);
        assert_eq!(
            hex(decoded.signature.unwrap()),
            b["signature"].as_str().unwrap()
        );
        assert_eq!(
            hex(&frame::signing_input(key, decoded.signed_part).unwrap()),
            f["signing_input"].as_str().unwrap()
        );
        assert!(fresh.open_raw("safething/v1/other/key", &bytes).is_err());
    }
    for m in v["malformed"].as_array().unwrap() {
        let err = frame::decode(&unhex(&m["frame"])).unwrap_err();
        match m["error"].as_str().unwrap() {
            "unsupported_version" => assert_eq!(
                err,
                frame::FrameError::UnsupportedVersion(m["version"].as_u64().unwrap() as u8)
            ),
            _ => assert!(matches!(err, frame::FrameError::Malformed(_)), "{m}"),
        }
    }
    let device = Identity::from_secret(DEVICE_SEED);
    let group = SymmetricKey::from_parts(GROUP_KID, GROUP_SECRET);
    let sealed: crypto::Sealed = serde_json::from_value(v["aead"]["sealed"].clone()).unwrap();
    assert_eq!(
        group.open(&unhex(&v["aead"]["aad"]), &sealed).unwrap(),
        v["aead"]["plaintext"].as_str().unwrap().as_bytes()
    );
    let claim: crypto::Sealed = serde_json::from_value(v["seal_to"]["sealed"].clone()).unwrap();
    assert_eq!(
        crypto::open_to(&device, &unhex(&v["seal_to"]["aad"]), &claim).unwrap(),
        v["seal_to"]["plaintext"].as_str().unwrap().as_bytes()
    );
    let client = Identity::from_secret(CLIENT_SEED);
    let wrapped = crypto::WrappedKey {
        kid: GROUP_KID.into(),
        holders: [(
            client.public_key().to_string(),
            serde_json::from_value(v["wrap"]["wrapped"].clone()).unwrap(),
        )]
        .into(),
    };
    let unwrapped = crypto::unwrap(&client, device.public_key(), THING, &wrapped).unwrap();
    assert_eq!(unwrapped, group);
}

/// A sealer writes exactly the vector's bytes for the same inputs (the one writer is the one
/// the vectors describe).
#[test]
fn the_sealer_writes_the_vector_frames() {
    let device = Identity::from_secret(DEVICE_SEED);
    let sealer = Sealer::new(device, Signing::Signed);
    let key = format!("safething/v1/{THING}/events/very_dry_alarm");
    let outgoing = Outgoing {
        id: Some(id(0x00)),
        ..Outgoing::new(Kind::Publication, Binding::None)
    };
    let body: &serde_json::value::RawValue =
        serde_json::from_str(r#"{"data":{"level":12},"seq":1,"epoch":7}"#).unwrap();
    let bytes = sealer.seal_message(&key, &outgoing, TS, body).unwrap();
    let v = vectors();
    assert_eq!(hex(&bytes), v["frames"][1]["frame"].as_str().unwrap());
    let _ = Protection::Key(&SymmetricKey::from_parts("k", [0; 32]));
}

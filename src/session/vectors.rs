//! Known-answer tests of sessions (`docs/protocol.md` §10) against
//! `tests/vectors/sessions.json`, which the TypeScript runtime checks too.
//! `SAFETHING_BLESS=1 cargo test --lib session::vectors` writes the file from this runtime
//! (only when the format changes on purpose: review the diff).

use serde_json::{Value, json};
use x25519_dalek::{PublicKey as XPublic, StaticSecret};

use super::*;
use crate::envelope::{Binding, Kind, MessageId};
use crate::identity::Identity;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sessions.json");
const KEY: &str = "safething/v1/garden-01/session";
const ATTRIBUTE: &str = "safething/v1/garden-01/attributes/moisture_level";
const TS: u64 = 1_764_250_000_123;
const CLIENT_EPH: [u8; 32] = [0x55; 32];
const DEVICE_EPH: [u8; 32] = [0x66; 32];
const SID: [u8; SID_LEN] = [0x5a; SID_LEN];
const BOOT: [u8; 16] = [0x11; 16];
const LIFETIME_MS: u32 = 3_600_000;
const MAX_MESSAGES: u32 = 1 << 24;

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn id(first: u8) -> MessageId {
    MessageId::from_16(std::array::from_fn(|i| first.wrapping_add(i as u8)))
}

fn vectors() -> Value {
    let client = Identity::from_secret([2; 32]);
    let device = Identity::from_secret([1; 32]);
    let ce = StaticSecret::from(CLIENT_EPH);
    let de = StaticSecret::from(DEVICE_EPH);
    let hello = Hello::new(&client, device.public_key(), KEY, TS, &ce).unwrap();
    let hello_bytes = hello.to_bytes();
    let (welcome, keys) = respond(
        &device,
        KEY,
        &hello_bytes,
        &hello,
        SID,
        &de,
        BOOT,
        TS + 1,
        LIFETIME_MS,
        MAX_MESSAGES,
    )
    .unwrap();
    let welcome_bytes = welcome.to_bytes();
    let shared = ce.diffie_hellman(&XPublic::from(&de));
    let request_id = id(0x20);
    let request = plain_frame(
        client.public_key(),
        Kind::Request,
        Binding::Epoch(BOOT),
        request_id,
        TS + 2,
        |out| {
            out.extend_from_slice(br#"{"op":"read"}"#);
            Ok(())
        },
    )
    .unwrap();
    let reply = plain_frame(
        device.public_key(),
        Kind::Reply,
        Binding::Request {
            id: request_id,
            requester: *client.public_key().as_bytes(),
        },
        id(0x30),
        TS + 3,
        |out| {
            out.extend_from_slice(br#"{"ok":{"value":41.5,"seq":3,"ts":1764250000000}}"#);
            Ok(())
        },
    )
    .unwrap();
    let sealed_request = Direction::new(&keys.c2d)
        .seal(ATTRIBUTE, &SID, 1, &request)
        .unwrap();
    let sealed_reply = Direction::new(&keys.d2c)
        .seal(ATTRIBUTE, &SID, 1, &reply)
        .unwrap();
    let header = |bytes: &[u8]| hex(&bytes[..SEALED_HEADER]);
    let aad =
        |bytes: &[u8]| hex(&frame::signing_input(ATTRIBUTE, &bytes[..SEALED_HEADER]).unwrap());
    let info = |label: &[u8]| {
        let mut out = Vec::new();
        frame::put_lp(&mut out, label).unwrap();
        frame::put_lp(&mut out, &keys.transcript).unwrap();
        hex(&out)
    };
    let unknown = UnknownSession::signed(&device, ATTRIBUTE, SID, 7, TS + 4).unwrap();
    json!({
        "identities": {
            "client": {"seed": hex(&[2; 32]), "public": hex(client.public_key().as_bytes())},
            "device": {"seed": hex(&[1; 32]), "public": hex(device.public_key().as_bytes())},
        },
        "handshake": {
            "key": KEY,
            "client_ephemeral_secret": hex(&CLIENT_EPH),
            "client_ephemeral_public": hex(&hello.epk),
            "ts": TS,
            "hello_signing_input": hex(&signing_input(KEY, &[&hello_bytes[..HELLO_SIGNED]]).unwrap()),
            "hello": hex(&hello_bytes),
            "device_ephemeral_secret": hex(&DEVICE_EPH),
            "device_ephemeral_public": hex(&welcome.epk),
            "sid": hex(&SID),
            "boot": hex(&BOOT),
            "welcome_ts": TS + 1,
            "lifetime_ms": LIFETIME_MS,
            "max_messages": MAX_MESSAGES,
            "welcome_signing_input": hex(&signing_input(KEY, &[&hello_bytes, &welcome_bytes[..WELCOME_SIGNED]]).unwrap()),
            "welcome": hex(&welcome_bytes),
            "shared": hex(shared.as_bytes()),
            "transcript": hex(&keys.transcript),
            "info_c2d": info(b"session c2d"),
            "info_d2c": info(b"session d2c"),
            "c2d": hex(&keys.c2d),
            "d2c": hex(&keys.d2c),
        },
        "sealed": [
            {
                "name": "request (read), client to device",
                "direction": "c2d",
                "key": ATTRIBUTE,
                "ctr": 1,
                "nonce": hex(&nonce(1)),
                "header": header(&sealed_request),
                "aad": aad(&sealed_request),
                "plain": hex(&request),
                "frame": hex(&sealed_request),
            },
            {
                "name": "reply, device to client",
                "direction": "d2c",
                "key": ATTRIBUTE,
                "ctr": 1,
                "nonce": hex(&nonce(1)),
                "header": header(&sealed_reply),
                "aad": aad(&sealed_reply),
                "plain": hex(&reply),
                "frame": hex(&sealed_reply),
            },
        ],
        "unknown": {"key": ATTRIBUTE, "sid": hex(&SID), "ctr": 7, "ts": TS + 4, "frame": hex(&unknown)},
        "refused": hex(&refused()),
    })
}

#[test]
fn session_vectors_match_the_checked_in_file() {
    let ours = vectors();
    let text = serde_json::to_string_pretty(&ours).unwrap() + "\n";
    if std::env::var_os("SAFETHING_BLESS").is_some() {
        std::fs::write(PATH, &text).unwrap();
    }
    let file = std::fs::read_to_string(PATH).expect("tests/vectors/sessions.json");
    let theirs: Value = serde_json::from_str(&file).unwrap();
    assert_eq!(
        ours, theirs,
        "the vectors drifted from tests/vectors/sessions.json"
    );
}

/// The file's handshake verifies and yields its keys on both sides; its sealed frames open
/// in their direction only; the unknown-session answer verifies.
#[test]
fn session_vectors_verify_and_open() {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let unhex = |x: &Value| {
        data_encoding::HEXLOWER
            .decode(x.as_str().unwrap().as_bytes())
            .unwrap()
    };
    let arr = |x: &Value| -> [u8; 32] { unhex(x).try_into().unwrap() };
    let h = &v["handshake"];
    let device = Identity::from_secret(arr(&v["identities"]["device"]["seed"]));
    let hello_bytes = unhex(&h["hello"]);
    let hello = Hello::parse(&hello_bytes).unwrap();
    assert_eq!(
        hex(hello.check(KEY).unwrap().as_bytes()),
        v["identities"]["client"]["public"]
    );
    let ce = StaticSecret::from(arr(&h["client_ephemeral_secret"]));
    let (welcome, keys) = accept(
        device.public_key(),
        KEY,
        &hello_bytes,
        &ce,
        &unhex(&h["welcome"]),
    )
    .unwrap();
    assert_eq!(hex(&welcome.sid), h["sid"]);
    assert_eq!(hex(&keys.c2d), h["c2d"]);
    assert_eq!(hex(&keys.d2c), h["d2c"]);
    for s in v["sealed"].as_array().unwrap() {
        let (right, wrong) = if s["direction"] == "c2d" {
            (keys.c2d, keys.d2c)
        } else {
            (keys.d2c, keys.c2d)
        };
        let bytes = unhex(&s["frame"]);
        let key = s["key"].as_str().unwrap();
        let (sid, ctr) = sealed_header(&bytes).unwrap();
        assert_eq!((hex(&sid), ctr), (h["sid"].as_str().unwrap().to_owned(), 1));
        assert_eq!(
            Direction::new(&right).open(key, &bytes, ctr).unwrap(),
            unhex(&s["plain"])
        );
        assert!(
            Direction::new(&wrong).open(key, &bytes, ctr).is_err(),
            "reflected"
        );
    }
    let u = &v["unknown"];
    let unknown = UnknownSession::check(
        device.public_key(),
        u["key"].as_str().unwrap(),
        &unhex(&u["frame"]),
    )
    .unwrap();
    assert_eq!(unknown.ctr, 7);
}

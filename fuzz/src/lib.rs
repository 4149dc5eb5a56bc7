//! What each fuzz target does with its input, kept out of the `fuzz_target!` bodies so a
//! crashing input can also be replayed from a plain test or a debugger.
//!
//! A target returns quietly on any input the runtime refuses; it panics (which libFuzzer
//! reports as a crash, with the input saved) only when the runtime itself panics, or when an
//! invariant stated here breaks.
#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use safething::Identity;
use safething::crypto;
use safething::envelope::{Signing, Verifier};
use safething::frame::{self, Binding, Frame, Header, Kind, MessageId};
use safething::session;
use safething::wire::{self, Description};

/// The secret of the client that fetches descriptions in the `description` target: the seed
/// writer (`fuzz/seeds`) wraps keys for it, so unwrapping them is exercised too.
pub const CLIENT_SECRET: [u8; 32] = [2; 32];

/// The secret of the thing whose key sends the description frames (and signs nothing: the
/// verifier accepts unsigned frames, see [`description`]).
pub const THING_SECRET: [u8; 32] = [1; 32];

/// How far an input got: the targets return it so tests can tell that the seeds reach the
/// code behind the decoders, not only their first refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reached {
    /// Refused by the first decoder (not a frame, or not a description).
    Refused,
    /// Decoded, then refused by a later check (a description whose definition is invalid).
    Decoded,
    /// Through every step.
    Through,
}

/// The `frame` target: [`frame::decode`] of arbitrary bytes never panics, and whatever decodes
/// is canonical: writing the decoded fields back with [`frame::begin`] / [`frame::finish`]
/// gives the same bytes, which decode to the same fields.
pub fn frame(data: &[u8]) -> Reached {
    let Ok(decoded) = frame::decode(data) else {
        return Reached::Refused;
    };
    let written = write(&decoded);
    assert_eq!(written, data, "decode then write changed the bytes");
    let again = frame::decode(&written).unwrap_or_else(|e| {
        panic!("a frame written from decoded fields does not decode: {e}");
    });
    assert_eq!(again.header, decoded.header);
    assert_eq!(again.body, decoded.body);
    assert_eq!(again.signed_part, decoded.signed_part);
    assert_eq!(again.signature, decoded.signature);
    assert_eq!(again.batch, decoded.batch);
    if let Some(proof) = decoded.batch {
        // What a receiver does with a proof: walk the path up to a root.
        let leaf = safething::batch::leaf_hash(decoded.signed_part);
        assert!(
            safething::batch::root_from_path(&leaf, proof.index, proof.size, proof.path).is_some(),
            "a decoded proof has the length of its path"
        );
    }
    // What a receiver does next with the header: the id as JSON writes it, and the bytes a
    // signature would cover (on the longest key expression allowed and on an empty one).
    let id = decoded.header.id;
    assert_eq!(MessageId::from_hex(&id.to_hex()), Some(id));
    if let Binding::Request { id, .. } = decoded.header.binding {
        assert_eq!(MessageId::from_hex(&id.to_hex()), Some(id));
    }
    for key in ["", "safething/v1/garden-01/description"] {
        let input = frame::signing_input(key, decoded.signed_part)
            .unwrap_or_else(|e| panic!("signing input refused: {e}"));
        assert!(input.ends_with(decoded.signed_part));
    }
    Reached::Through
}

/// Writes a decoded frame back as the runtime's writers do.
fn write(f: &Frame<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    let start = frame::begin(&mut out, &f.header, f.signature.is_some())
        .unwrap_or_else(|e| panic!("a decoded header is refused by the writer: {e}"));
    out.extend_from_slice(f.body);
    frame::finish(&mut out, start)
        .unwrap_or_else(|e| panic!("a decoded body is refused by the writer: {e}"));
    if let Some(signature) = f.signature {
        if let Some(proof) = f.batch {
            if let Some(flags) = out.get_mut(frame::FLAGS_AT) {
                *flags |= frame::FLAG_BATCHED;
            }
            out.extend_from_slice(&proof.size.to_be_bytes());
            out.extend_from_slice(&proof.index.to_be_bytes());
            out.extend_from_slice(proof.path);
        }
        out.extend_from_slice(signature);
    }
    out
}

/// The state the `description` target keeps between inputs, as a client keeps it between
/// messages (the verifier caches decoded sender keys).
struct Client {
    verifier: Verifier,
    me: Identity,
    thing: [u8; 32],
}

fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| Client {
        // Unsigned frames are accepted: a signature would not protect this path anyway, since
        // on first contact the description names the key it is signed with (trust on first
        // use), so its body is the attacker's to choose.
        verifier: Verifier::new(Signing::Unsigned),
        me: Identity::from_secret(CLIENT_SECRET),
        thing: *Identity::from_secret(THING_SECRET).public_key().as_bytes(),
    })
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The `description` target: `body` arrives as the body of a description frame, and goes the
/// way a client takes a description from the network (`ClientInner::open_description`, then
/// `describe`, then `RemoteThing::new` in `src/client/`): opened as JSON into a
/// [`Description`], its definition checked, and, when the check passes, its payload schemas
/// compiled, its wrapped keys unwrapped and its boot epoch read. None of it may panic.
pub fn description(body: &[u8]) -> Reached {
    let c = client();
    let header = Header {
        kind: Kind::Description,
        sealed: false,
        sender: c.thing,
        id: MessageId::from_16([7; 16]),
        ts: now_ms(),
        binding: Binding::None,
    };
    let mut bytes = Vec::with_capacity(body.len() + 96);
    let Ok(start) = frame::begin(&mut bytes, &header, false) else {
        panic!("the description header is refused by the writer");
    };
    bytes.extend_from_slice(body);
    if frame::finish(&mut bytes, start).is_err() {
        // Longer than a frame may be: never reaches a client.
        return Reached::Refused;
    }
    let key = "safething/v1/fuzzed-thing/description";
    let Ok(opened) = c.verifier.open::<Description>(key, &bytes) else {
        return Reached::Refused;
    };
    if opened.kind != Kind::Description {
        panic!("a description frame opened as a {:?}", opened.kind);
    }
    let d = opened.body;
    // The client compares the key it asked on with the one the description's id maps to.
    let _ = safething::keys::description(&d.id);
    if d.definition.check().is_err() {
        return Reached::Decoded;
    }
    // RemoteThing::new: the payload schemas every later message is checked against.
    let schemas = d.definition.payload_schemas();
    for (name, attribute) in &d.definition.attributes {
        if let (Some(schema), Some(value)) = (schemas.attributes.get(name), &attribute.value) {
            let _ = schema.check(value);
        }
    }
    let null = serde_json::Value::Null;
    for schema in schemas.attributes.values().chain(
        [&schemas.events, &schemas.inputs, &schemas.outputs]
            .into_iter()
            .flat_map(|m| m.values().flatten()),
    ) {
        let _ = schema.check(&null);
    }
    // Shared::learn: the keys wrapped for this client, and the device's boot epoch.
    let wrapped = [&d.keys.group, &d.keys.owner]
        .into_iter()
        .flatten()
        .chain(&d.keys.previous);
    for w in wrapped {
        let _ = crypto::unwrap(&c.me, &d.thing_key, d.id.as_str(), w);
    }
    let _ = wire::parse_boot(&d.boot);
    // What a client shows and forwards (the console, the gateway) is the description written
    // back as JSON: that must not fail on anything that was read.
    let json = serde_json::to_vec(&d)
        .unwrap_or_else(|e| panic!("a checked description does not serialize: {e}"));
    if let Err(e) = serde_json::from_slice::<Description>(&json) {
        panic!("a checked description, written back, does not read: {e}");
    }
    Reached::Through
}

/// The `bundle` target: [`safething::bundle::frames`] of arbitrary bytes never panics, what
/// splits is canonical (bundled again, the frames give the same bytes), and each frame goes
/// through the `frame` target's checks, as a subscriber hands each to the runtime alone.
pub fn bundle(data: &[u8]) -> Reached {
    let Ok(frames) = safething::bundle::frames(data) else {
        return Reached::Refused;
    };
    assert_eq!(
        safething::bundle::encode(&frames).as_deref(),
        Some(data),
        "a bundle split then bundled again changed"
    );
    frames
        .iter()
        .map(|f| frame(f))
        .max()
        .map_or(Reached::Decoded, |r| r.max(Reached::Decoded))
}

/// The key expression the `session` target checks handshakes on: the sessions vectors' thing.
pub const SESSION_KEY: &str = "safething/v1/garden-01/session";

/// The `session` target: a session frame as a device or a client receives it on a thing's
/// session key (`docs/protocol.md` §10). Hellos and welcomes are read
/// ([`session::Hello::parse`], [`session::Welcome::parse`]), must be canonical (written back
/// they give the same bytes), and a hello's signature is checked as a device checks it; other
/// session types and other bytes are told apart by their type byte. None of it may panic.
pub fn session(data: &[u8]) -> Reached {
    let Some(kind) = session::frame_type(data) else {
        return Reached::Refused;
    };
    match kind {
        session::HELLO => {
            let Ok(hello) = session::Hello::parse(data) else {
                return Reached::Refused;
            };
            assert_eq!(hello.to_bytes(), data, "a hello read then written changed");
            match hello.check(SESSION_KEY) {
                Ok(client) => assert_eq!(client.as_bytes(), &hello.client),
                Err(_) => return Reached::Decoded,
            }
            Reached::Through
        }
        session::WELCOME => {
            let Ok(welcome) = session::Welcome::parse(data) else {
                return Reached::Refused;
            };
            assert_eq!(
                welcome.to_bytes(),
                data,
                "a welcome read then written changed"
            );
            Reached::Through
        }
        _ => Reached::Decoded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // Built by scripts/fuzz with the targets' instrumentation, the tests need libFuzzer's
    // coverage hooks linked in.
    use libfuzzer_sys as _;

    fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                (path.display().to_string(), std::fs::read(&path).unwrap())
            })
            .collect();
        out.sort();
        out
    }

    /// The frame seeds are the vectors' frames: the valid ones (batched ones too) must decode
    /// (else the seeds went stale with a change of the layout), the malformed ones must not.
    #[test]
    fn frame_seeds_reach_the_round_trip() {
        let seeds = seeds("frame");
        let through = seeds
            .iter()
            .filter(|(_, bytes)| frame(bytes) == Reached::Through)
            .count();
        // Nine frames, one per kind and form, and a batch of three.
        assert_eq!(through, 12, "of {} frame seeds", seeds.len());
        assert!(seeds.len() > through);
    }

    /// The bundle seeds are the vectors' frames bundled: every frame of the valid bundles
    /// goes on to the frame checks.
    #[test]
    fn bundle_seeds_reach_the_frames() {
        let seeds = seeds("bundle");
        let reached: Vec<Reached> = seeds.iter().map(|(_, b)| bundle(b)).collect();
        assert!(
            reached.iter().filter(|r| **r == Reached::Through).count() >= 2,
            "{seeds:?}"
        );
        assert_eq!(bundle(b"SB\x02\x00\x00"), Reached::Refused);
    }

    /// The session seeds are the sessions vectors' frames: the hello verifies, the welcome
    /// reads back, the sealed, unknown and refused frames are told apart by type.
    #[test]
    fn session_seeds_reach_the_parsers() {
        let seeds = seeds("session");
        let reached: Vec<Reached> = seeds.iter().map(|(_, b)| session(b)).collect();
        assert_eq!(
            reached.iter().filter(|r| **r == Reached::Through).count(),
            2,
            "{seeds:?}"
        );
        assert!(reached.iter().filter(|r| **r == Reached::Decoded).count() >= 3);
        assert_eq!(session(b"not a session frame"), Reached::Refused);
    }

    /// Every description seed written from an example goes all the way (definition checked,
    /// schemas compiled, keys unwrapped), and the owned ones carry keys this client unwraps:
    /// else the fuzzer would start from refusals.
    #[test]
    fn description_seeds_go_through() {
        let seeds = seeds("description");
        assert!(seeds.len() >= 8, "{} description seeds", seeds.len());
        for (name, body) in &seeds {
            let expected = if name.ends_with("vector-body.json") {
                Reached::Refused
            } else {
                Reached::Through
            };
            assert_eq!(description(body), expected, "{name}");
            if name.ends_with("-owned.json") {
                let d: Description = serde_json::from_slice(body).unwrap();
                let me = Identity::from_secret(CLIENT_SECRET);
                let owner = d.keys.owner.as_ref().unwrap();
                assert!(crypto::unwrap(&me, &d.thing_key, d.id.as_str(), owner).is_some());
            }
        }
    }

    /// A description that reads but whose definition breaks a rule stops at the check, as
    /// `describe` stops there.
    #[test]
    fn an_invalid_definition_stops_at_the_check() {
        let (_, body) = seeds("description")
            .into_iter()
            .find(|(name, _)| name.ends_with("thermostat-bare.json"))
            .unwrap();
        let mut d: serde_json::Value = serde_json::from_slice(&body).unwrap();
        // A reference to a type the definition does not have: it reads, the check refuses it.
        d["definition"]["attributes"]["mode"]["ref"] = "Nowhere".into();
        let body = serde_json::to_vec(&d).unwrap();
        assert_eq!(description(&body), Reached::Decoded);
    }

    #[test]
    fn refusals_are_told_apart() {
        assert_eq!(frame(b"ST\x02"), Reached::Refused);
        assert_eq!(description(b"{"), Reached::Refused);
        assert_eq!(description(&[b'x'; 64]), Reached::Refused);
    }
}

//! The adversarial matrix: every access type against every kind of party and attack, each
//! case its own test, written against `TestNet` so it runs in-process and over Zenoh.
//! `security_suite!(net)` expands to the tests.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};

use safething::client::{Client, RemoteThing};
use safething::device::{Device, DeviceConfig, Handlers};
use safething::envelope::{Binding, Kind, Outgoing, Sealer, Signing};
use safething::ir::Definition;
use safething::transport::Reply;
use safething::wire::{ActionRequest, AttributeRequest, Problem};
use safething::{Error, Filter, Identity};

use crate::behaviour::{PATIENCE, Session, TestNet, connect, within};

/// The four access types, as affordance name suffixes.
pub const ACCESS: [&str; 4] = ["all", "group", "owner", "thing"];

/// A marker that must never appear in clear on the network for restricted affordances.
const SECRET: &str = "TOP-SECRET-7f3a";

pub fn definition() -> Definition {
    let mut attributes = serde_json::Map::new();
    let mut events = serde_json::Map::new();
    let mut actions = serde_json::Map::new();
    for access in ACCESS {
        attributes.insert(
            format!("a_{access}"),
            json!({"type": "string", "writable": true, "access": access}),
        );
        events.insert(
            format!("e_{access}"),
            json!({"data": {"type": "string"}, "access": access}),
        );
        actions.insert(
            format!("x_{access}"),
            json!({"input": {"type": "string"}, "output": {"type": "string"}, "access": access}),
        );
    }
    serde_json::from_value(json!({
        "thing": {"name": "Vault", "version": "1.0.0"},
        "attributes": attributes,
        "events": events,
        "actions": actions,
    }))
    .expect("the matrix definition parses")
}

/// One participant: its identity, a client, its view of the thing, and a raw session for
/// sending requests the client would refuse to send.
pub struct Party {
    pub identity: Identity,
    pub client: Client,
    pub thing: RemoteThing,
    pub raw: Session,
    pub sealer: Sealer,
}

/// The device, claimed by `owner`, with `member` in its group and `revoked` granted then
/// revoked; `runs` counts handler executions.
pub struct World {
    pub device: Device,
    pub id: String,
    pub owner: Party,
    pub member: Party,
    pub stranger: Party,
    pub revoked: Party,
    pub runs: Arc<AtomicUsize>,
    pub device_session: Session,
}

async fn party(net: &impl TestNet, id: &str, identity: Identity) -> Party {
    let session = net.session().await;
    let client = Client::builder()
        .transport_arc(session.transport)
        .identity(identity.clone())
        .build()
        .await
        .expect("client");
    let thing = connect(&client, id).await;
    Party {
        sealer: Sealer::new(identity.clone(), Signing::Signed),
        identity,
        client,
        thing,
        raw: net.session().await,
    }
}

pub async fn world(net: &impl TestNet, id: &str) -> World {
    let device_session = net.session().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let device = Device::builder(definition().checked().unwrap(), id)
        .transport_arc(device_session.transport.clone())
        .config(DeviceConfig::default().with_claim_ttl(Duration::from_secs(60)))
        .build()
        .expect("device");
    let mut handlers = Handlers::new();
    for access in ACCESS {
        let runs = runs.clone();
        handlers = handlers
            .action(&format!("x_{access}"), move |input: Value, _| {
                let runs = runs.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok(input)
                }
            })
            .write(&format!("a_{access}"), |_, _| async { Ok(()) });
    }
    device.serve(handlers);
    device.register().await.expect("register");
    let token = device
        .claim_token()
        .expect("an unclaimed device has a claim token")
        .token;
    let owner = party(net, id, Identity::generate().expect("id")).await;
    owner.thing.claim(&token).await.expect("the owner claims");
    owner.thing.publish().await.expect("publish");
    let member = party(net, id, Identity::generate().expect("id")).await;
    let revoked = party(net, id, Identity::generate().expect("id")).await;
    owner
        .thing
        .grant(*member.identity.public_key())
        .await
        .expect("grant member");
    owner
        .thing
        .grant(*revoked.identity.public_key())
        .await
        .expect("grant revoked");
    owner
        .thing
        .revoke(*revoked.identity.public_key())
        .await
        .expect("revoke");
    let stranger = party(net, id, Identity::generate().expect("id")).await;
    for p in [&owner, &member, &stranger, &revoked] {
        p.thing.refresh().await.expect("refresh");
    }
    for access in ACCESS {
        device
            .set_attribute(&format!("a_{access}"), json!(format!("{access}-value")))
            .await
            .expect("set");
    }
    World {
        device,
        id: id.to_owned(),
        owner,
        member,
        stranger,
        revoked,
        runs,
        device_session,
    }
}

/// What a party may do with an affordance of `access`.
fn allowed(party: &str, access: &str) -> bool {
    matches!(
        (party, access),
        ("owner", "all" | "group" | "owner")
            | ("member", "all" | "group")
            | ("stranger" | "revoked", "all")
    )
}

/// The boot epoch a party last learnt for its thing.
pub fn boot(p: &Party) -> [u8; 16] {
    safething::wire::parse_boot(&p.thing.description().boot).expect("a boot epoch")
}

/// A request frame from `p`, naming the thing's current boot epoch.
pub fn request(p: &Party, key: &str, body: &impl serde::Serialize) -> Bytes {
    p.sealer
        .seal(key, Kind::Request, Binding::Epoch(boot(p)), body)
        .expect("seal")
}

/// An invoke frame from `p`: its request id is the frame's id.
pub fn invoke_frame(p: &Party, key: &str, input: Value) -> (Bytes, String) {
    let id = p.sealer.next_id();
    let body = ActionRequest::Invoke {
        request: id.to_hex(),
        input,
        timeout_ms: None,
    };
    let outgoing = Outgoing {
        id: Some(id),
        ..Outgoing::new(Kind::Request, Binding::Epoch(boot(p)))
    };
    let bytes = p
        .sealer
        .seal_message(key, &outgoing, safething::envelope::now_ms(), &body)
        .expect("seal");
    (bytes, id.to_hex())
}

/// A frame's body as JSON (`{"sealed":…}` when sealed).
pub fn body_of(payload: &[u8]) -> Value {
    let frame = safething::frame::decode(payload).expect("a frame");
    serde_json::from_slice(frame.body).expect("a JSON body")
}

/// Sends a raw signed query and returns the reply body (plain JSON, or `{"sealed":..}`).
pub async fn raw(p: &Party, key: &str, bytes: Bytes) -> Value {
    let mut replies = p
        .raw
        .transport
        .query(key, Some(bytes), PATIENCE)
        .await
        .expect("query");
    let reply = within("a reply", replies.recv())
        .await
        .expect("the device answers");
    let Reply::Ok(sample) = reply else {
        panic!("error reply")
    };
    body_of(&sample.payload)
}

fn denied(body: &Value) -> bool {
    body["error"]["kind"] == "access_denied" || body["problem"]["kind"] == "access_denied"
}

/// Checks one party against one access type: through its client (refused before sending when
/// not allowed) and with raw requests (refused by the device).
pub async fn check_party(w: &World, who: &str, access: &str) {
    let p = match who {
        "owner" => &w.owner,
        "member" => &w.member,
        "stranger" => &w.stranger,
        _ => &w.revoked,
    };
    let ok = allowed(who, access);
    let (attr, action) = (format!("a_{access}"), format!("x_{access}"));
    // Reads.
    match p.thing.read(&attr).await {
        Ok(r) => assert!(ok, "{who} read {attr}: {r:?}"),
        Err(e) => assert!(
            !ok && matches!(e, Error::AccessDenied { .. }),
            "{who} read {attr}: {e}"
        ),
    }
    // Writes.
    match p.thing.write(&attr, json!(format!("{who}-wrote"))).await {
        Ok(_) => assert!(ok, "{who} wrote {attr}"),
        Err(e) => assert!(
            !ok && matches!(e, Error::AccessDenied { .. }),
            "{who} write {attr}: {e}"
        ),
    }
    // Actions.
    match p.thing.invoke(&action, json!("in")).await {
        Ok(h) => {
            assert!(ok, "{who} invoked {action}");
            assert_eq!(
                within("output", h.output()).await.expect("done"),
                json!("in")
            );
        }
        Err(e) => assert!(
            !ok && matches!(e, Error::AccessDenied { .. }),
            "{who} invoke {action}: {e}"
        ),
    }
    // The device itself refuses, whatever a client sends.
    let key = format!("safething/v1/{}/attributes/{attr}", w.id);
    let body = raw(
        p,
        &key,
        request(p, &key, &AttributeRequest::Read { history: None }),
    )
    .await;
    assert_eq!(denied(&body), !ok, "{who} raw read {attr}: {body}");
    let key = format!("safething/v1/{}/actions/{action}", w.id);
    let (bytes, _) = invoke_frame(p, &key, json!("in"));
    let body = raw(p, &key, bytes).await;
    assert_eq!(denied(&body), !ok, "{who} raw invoke {action}: {body}");
    // Publications: only holders of the key read restricted values.
    if access != "thing" {
        let stream = p.thing.watch(&attr, Filter::any()).await;
        match stream {
            Ok(mut watch) => {
                assert!(ok, "{who} watched {attr}");
                let first = within("current value", watch.next())
                    .await
                    .expect("item")
                    .expect("readable");
                assert!(first.value.is_string());
            }
            Err(e) => assert!(
                !ok && matches!(e, Error::AccessDenied { .. }),
                "{who} watch {attr}: {e}"
            ),
        }
    }
}

macro_rules! party_cases {
    ($($name:ident: $who:literal, $access:literal;)*) => {
        $(pub async fn $name(net: &impl TestNet) {
            let w = world(net, concat!("m-", stringify!($name))).await;
            check_party(&w, $who, $access).await;
        })*
    };
}

party_cases! {
    owner_all: "owner", "all";
    owner_group: "owner", "group";
    owner_owner: "owner", "owner";
    owner_thing: "owner", "thing";
    member_all: "member", "all";
    member_group: "member", "group";
    member_owner: "member", "owner";
    member_thing: "member", "thing";
    stranger_all: "stranger", "all";
    stranger_group: "stranger", "group";
    stranger_owner: "stranger", "owner";
    stranger_thing: "stranger", "thing";
    revoked_all: "revoked", "all";
    revoked_group: "revoked", "group";
    revoked_owner: "revoked", "owner";
    revoked_thing: "revoked", "thing";
}

/// A request claiming to come from the owner, signed by someone else.
pub async fn forged(net: &impl TestNet) {
    let w = world(net, "m-forged").await;
    for access in ACCESS {
        let key = format!("safething/v1/{}/actions/x_{access}", w.id);
        let (genuine, _) = invoke_frame(&w.stranger, &key, json!("in"));
        // The sender field (bytes 5..37) names the owner instead.
        let mut forged = genuine.to_vec();
        forged[5..37].copy_from_slice(w.owner.identity.public_key().as_bytes());
        let body = raw(&w.stranger, &key, Bytes::from(forged)).await;
        assert_eq!(body["problem"]["kind"], "bad_request", "{access}: {body}");
        assert!(
            body["problem"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("signature")),
            "{body}"
        );
    }
    assert_eq!(w.runs.load(Ordering::SeqCst), 0);
    assert!(w.device.stats().unverified >= 4);
}

/// The owner's genuine write, sent again by someone who recorded it.
pub async fn replayed(net: &impl TestNet) {
    let w = world(net, "m-replayed").await;
    let key = format!("safething/v1/{}/attributes/a_owner", w.id);
    let bytes = request(
        &w.owner,
        &key,
        &AttributeRequest::Write {
            value: json!("first"),
        },
    );
    let first = raw(&w.stranger, &key, bytes.clone()).await;
    assert!(
        first.get("error").is_none(),
        "the original is accepted: {first}"
    );
    let refused_before = w.device.stats().unverified;
    let again = raw(&w.stranger, &key, bytes).await;
    // The refusal is bound to the owner's request and sealed with the owner key (the
    // requester passed the access check): the replayer reads nothing from it.
    assert!(again["sealed"].is_object(), "{again}");
    assert_eq!(w.device.stats().unverified, refused_before + 1);
    // An action request replayed runs once: the device recognises the request id.
    let key = format!("safething/v1/{}/actions/x_owner", w.id);
    let (bytes, _) = invoke_frame(&w.owner, &key, json!("in"));
    let before = w.runs.load(Ordering::SeqCst);
    for _ in 0..3 {
        let _ = raw(&w.stranger, &key, bytes.clone()).await;
    }
    crate::behaviour::wait_until("one run", || w.runs.load(Ordering::SeqCst) == before + 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(w.runs.load(Ordering::SeqCst), before + 1);
}

/// A genuine request whose payload was changed on the way.
pub async fn tampered(net: &impl TestNet) {
    let w = world(net, "m-tampered").await;
    let key = format!("safething/v1/{}/actions/x_all", w.id);
    let (genuine, _) = invoke_frame(&w.owner, &key, json!("small"));
    let mut tampered = genuine.to_vec();
    let at = tampered
        .windows(5)
        .position(|w| w == b"small")
        .expect("the input is in the frame");
    tampered[at..at + 5].copy_from_slice(b"LARGE");
    let body = raw(&w.owner, &key, Bytes::from(tampered)).await;
    assert_eq!(body["problem"]["kind"], "bad_request", "{body}");
    // A sealed payload changed on the way does not decrypt either.
    let key = format!("safething/v1/{}/attributes/a_owner", w.id);
    let genuine = w.owner.thing.description();
    assert!(genuine.keys.owner.is_some());
    // Sealed with a key the device does not have (its kid is one the device's is not).
    let fake = safething::crypto::SymmetricKey::from_parts("0000000000000000", [0; 32]);
    let outgoing = Outgoing {
        protection: Some(safething::crypto::Protection::Key(&fake)),
        ..Outgoing::new(Kind::Request, Binding::Epoch(boot(&w.owner)))
    };
    let bytes = w
        .owner
        .sealer
        .seal_message(
            &key,
            &outgoing,
            safething::envelope::now_ms(),
            &AttributeRequest::Write { value: json!("x") },
        )
        .expect("seal");
    let body = raw(&w.owner, &key, bytes).await;
    assert_eq!(body["error"]["kind"], "bad_request", "{body}");
    assert_eq!(w.runs.load(Ordering::SeqCst), 0);
}

/// Another device claims to be the thing: clients keep trusting the key they pinned.
pub async fn impostor(net: &impl TestNet) {
    let w = world(net, "m-impostor").await;
    let mut watch = w
        .owner
        .thing
        .watch("a_all", Filter::any())
        .await
        .expect("watch");
    within("current", watch.next())
        .await
        .expect("item")
        .expect("ok");
    // A rogue publication on the thing's key, signed by someone else.
    let rogue = Sealer::new(Identity::generate().expect("id"), Signing::Signed);
    let key = format!("safething/v1/{}/attributes/a_all", w.id);
    let update = safething::wire::AttributeUpdate {
        value: json!("rogue"),
        seq: 1_000,
        epoch: 1,
    };
    w.stranger
        .raw
        .transport
        .publish(
            &key,
            rogue
                .seal(&key, Kind::Publication, Binding::None, &update)
                .expect("seal"),
        )
        .await
        .expect("publish");
    w.device
        .set_attribute("a_all", json!("genuine"))
        .await
        .expect("set");
    let next = within("the genuine update", watch.next())
        .await
        .expect("item")
        .expect("ok");
    assert_eq!(next.value, json!("genuine"));
    // A rogue device registering under the same id is not the thing the clients know.
    let session = net.session().await;
    let rogue_device = Device::builder(definition().checked().unwrap(), w.id.clone())
        .transport_arc(session.transport.clone())
        .build()
        .expect("rogue");
    rogue_device.register().await.expect("register");
    tokio::time::sleep(net.settle()).await;
    for _ in 0..5 {
        match w.owner.client.describe(&w.id).await {
            Ok(d) => assert_eq!(d.thing_key, w.device.public_key(), "the pinned key wins"),
            Err(Error::Untrusted(_) | Error::KeyChanged(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

/// A claim token past its lifetime.
pub async fn expired_claim_token(net: &impl TestNet) {
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), "m-expired")
        .transport_arc(session.transport.clone())
        .config(DeviceConfig::default().with_claim_ttl(Duration::from_secs(1)))
        .build()
        .expect("device");
    device.register().await.expect("register");
    let token = device.claim_token().expect("token").token;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        device.claim_token().is_none(),
        "an expired token is not shown"
    );
    let p = party(net, "m-expired", Identity::generate().expect("id")).await;
    let e = p.thing.claim(&token).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(Problem::ClaimRefused { reason }) if reason.contains("expired")),
        "{e}"
    );
    assert_eq!(device.parties().owner, None);
    // The holder can make a new one.
    let fresh = device.renew_claim_token().expect("new token").token;
    p.thing
        .claim(&fresh)
        .await
        .expect("claims with the new token");
    assert_eq!(device.parties().owner, Some(*p.identity.public_key()));
}

/// A token used once does not work again, for anyone.
pub async fn second_claim(net: &impl TestNet) {
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), "m-second")
        .transport_arc(session.transport.clone())
        .build()
        .expect("device");
    device.register().await.expect("register");
    let token = device.claim_token().expect("token").token;
    let first = party(net, "m-second", Identity::generate().expect("id")).await;
    let second = party(net, "m-second", Identity::generate().expect("id")).await;
    first.thing.claim(&token).await.expect("first claim");
    let e = second.thing.claim(&token).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(Problem::ClaimRefused { .. })),
        "{e}"
    );
    let e = first.thing.claim(&token).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(Problem::ClaimRefused { .. })),
        "{e}"
    );
    assert_eq!(device.parties().owner, Some(*first.identity.public_key()));
    assert!(
        device.renew_claim_token().is_none(),
        "an owned device makes no tokens"
    );
}

/// Guessing tokens: five wrong ones a minute, then even the right one waits.
pub async fn wrong_claim_tokens(net: &impl TestNet) {
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), "m-guess")
        .transport_arc(session.transport.clone())
        .build()
        .expect("device");
    device.register().await.expect("register");
    let token = device.claim_token().expect("token").token;
    let p = party(net, "m-guess", Identity::generate().expect("id")).await;
    for guess in 0..5 {
        let e = p.thing.claim(&format!("guess{guess}")).await.unwrap_err();
        assert!(
            matches!(&e, Error::Rejected(Problem::ClaimRefused { reason }) if reason.contains("wrong")),
            "{e}"
        );
    }
    // The guesser is locked out for the minute, even with the right token...
    let e = p.thing.claim(&token).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(Problem::ClaimRefused { reason }) if reason.contains("too many")),
        "{e}"
    );
    assert_eq!(device.parties().owner, None);
    // ...but its guesses do not lock out the holder of the token (the lockout used to be
    // global: five wrong tokens a minute from anyone kept the owner out for ever).
    let holder = party(net, "m-guess", Identity::generate().expect("id")).await;
    holder.thing.claim(&token).await.expect("the holder claims");
    assert_eq!(device.parties().owner, Some(*holder.identity.public_key()));
}

/// A claim travels sealed to the thing: its token is not on the wire in clear.
pub async fn claim_token_is_not_on_the_wire(net: &impl TestNet) {
    let tap = net.session().await;
    let mut all = tap
        .transport
        .subscribe("safething/v1/**")
        .await
        .expect("tap");
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), "m-claimtap")
        .transport_arc(session.transport.clone())
        .build()
        .expect("device");
    device.register().await.expect("register");
    let token = device.claim_token().expect("token").token;
    let p = party(net, "m-claimtap", Identity::generate().expect("id")).await;
    // Watch the admin query itself too, through a queryable that sees every query on the key.
    let mut spy = tap
        .transport
        .queryable("safething/v1/m-claimtap/admin")
        .await
        .expect("spy");
    p.thing.claim(&token).await.expect("claim");
    let mut seen = Vec::new();
    while let Ok(Some(q)) = tokio::time::timeout(Duration::from_millis(200), spy.recv()).await {
        seen.push(q.payload.unwrap_or_default());
    }
    while let Ok(Some(s)) = tokio::time::timeout(Duration::from_millis(50), all.next()).await {
        seen.push(s.payload);
    }
    assert!(!seen.is_empty(), "the spy saw the claim");
    for bytes in seen {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&token),
            "the token leaked"
        );
    }
}

/// Someone listening to everything sees restricted payloads only as ciphertext.
pub async fn eavesdropper_sees_no_plaintext(net: &impl TestNet) {
    let tap = net.session().await;
    let mut all = tap
        .transport
        .subscribe("safething/v1/**")
        .await
        .expect("tap");
    let w = world(net, "m-eavesdrop").await;
    for access in ACCESS {
        let secret = format!("{SECRET}-{access}");
        w.device
            .set_attribute(&format!("a_{access}"), json!(secret))
            .await
            .expect("set");
        w.device
            .emit_event(&format!("e_{access}"), json!(secret))
            .await
            .expect("emit");
    }
    for access in ["group", "owner"] {
        let out = w
            .owner
            .thing
            .invoke(
                &format!("x_{access}"),
                json!(format!("{SECRET}-in-{access}")),
            )
            .await
            .expect("invoke");
        within("output", out.output()).await.expect("done");
        w.owner
            .thing
            .write(
                &format!("a_{access}"),
                json!(format!("{SECRET}-w-{access}")),
            )
            .await
            .expect("write");
    }
    let mut seen = String::new();
    while let Ok(Some(s)) = tokio::time::timeout(Duration::from_millis(300), all.next()).await {
        seen.push_str(&String::from_utf8_lossy(&s.payload));
        seen.push('\n');
    }
    assert!(
        seen.contains(&format!("{SECRET}-all")),
        "the tap works: public values are visible"
    );
    for access in ["group", "owner", "thing"] {
        assert!(
            !seen.contains(&format!("{SECRET}-{access}")),
            "{access} value leaked"
        );
        assert!(
            !seen.contains(&format!("{SECRET}-in-{access}")),
            "{access} input leaked"
        );
        assert!(
            !seen.contains(&format!("{SECRET}-w-{access}")),
            "{access} write leaked"
        );
    }
    // Holders read them all the same.
    let mut events = w
        .member
        .thing
        .subscribe("e_group", Filter::any())
        .await
        .expect("subscribe");
    tokio::time::sleep(net.settle()).await;
    w.device
        .emit_event("e_group", json!("hello members"))
        .await
        .expect("emit");
    assert_eq!(
        within("event", events.next())
            .await
            .expect("item")
            .expect("decrypted")
            .data,
        json!("hello members")
    );
}

/// After a revocation the former member cannot read new group payloads, even with the old key.
pub async fn revoked_member_cannot_decrypt(net: &impl TestNet) {
    let w = world(net, "m-revkey").await;
    let mut member_events = w
        .member
        .thing
        .subscribe("e_group", Filter::any())
        .await
        .expect("member subscribes");
    // The revoked member subscribes with a raw session: its client would refuse.
    let mut raw_events = w
        .revoked
        .raw
        .transport
        .subscribe(&format!("safething/v1/{}/events/e_group", w.id))
        .await
        .expect("raw");
    tokio::time::sleep(net.settle()).await;
    w.device
        .emit_event("e_group", json!("after revocation"))
        .await
        .expect("emit");
    assert_eq!(
        within("member event", member_events.next())
            .await
            .expect("item")
            .expect("ok")
            .data,
        json!("after revocation")
    );
    let sample = within("raw event", raw_events.next())
        .await
        .expect("sample");
    assert!(
        body_of(&sample.payload)["sealed"].is_object(),
        "group events are sealed"
    );
    // The revoked member's handle knows only the keys it was given before.
    let old = w.revoked.thing.description();
    assert!(old.keys.group.as_ref().is_some_and(|g| {
        !g.holders
            .contains_key(&w.revoked.identity.public_key().to_string())
    }));
}

/// Keys are replaced after sealing their share of payloads; holders follow without noticing.
pub async fn worn_keys_are_replaced(net: &impl TestNet) {
    let session = net.session().await;
    let owner = Identity::generate().expect("id");
    let device = Device::builder(definition().checked().unwrap(), "m-wear")
        .transport_arc(session.transport.clone())
        .owner(*owner.public_key())
        .config(DeviceConfig::default().with_key_wear_limit(3))
        .build()
        .expect("device");
    device.register().await.expect("register");
    let p = party(net, "m-wear", owner).await;
    let first_kid = p
        .thing
        .description()
        .keys
        .group
        .clone()
        .expect("group key")
        .kid;
    let mut events = p
        .thing
        .subscribe("e_group", Filter::any())
        .await
        .expect("subscribe");
    tokio::time::sleep(net.settle()).await;
    for n in 0..10 {
        device
            .emit_event("e_group", json!(format!("event {n}")))
            .await
            .expect("emit");
    }
    for n in 0..10 {
        let e = within("event", events.next())
            .await
            .expect("item")
            .expect("decrypted");
        assert_eq!(e.data, json!(format!("event {n}")));
    }
    let now_kid = device.description().keys.group.expect("group key").kid;
    assert_ne!(first_kid, now_kid, "the key was replaced");
}

/// Expands to one test per case.
#[macro_export]
macro_rules! security_suite {
    ($net:expr) => {
        $crate::security_suite!(@tests $net;
            owner_all, owner_group, owner_owner, owner_thing,
            member_all, member_group, member_owner, member_thing,
            stranger_all, stranger_group, stranger_owner, stranger_thing,
            revoked_all, revoked_group, revoked_owner, revoked_thing,
            forged, replayed, tampered, impostor,
            expired_claim_token, second_claim, wrong_claim_tokens, claim_token_is_not_on_the_wire,
            eavesdropper_sees_no_plaintext, revoked_member_cannot_decrypt, worn_keys_are_replaced,
            attack_resigned_claim, attack_replay_after_restart, attack_stale_reply,
            attack_cross_request_reply, attack_sealed_status_and_cancel, attack_oversized_ids,
            attack_evicted_replay, attack_relabelled_key, attack_delayed_request,
            attack_reordered_updates, attack_dropped_messages, attack_v1_messages,
            unsaved_owner_operations_do_not_happen, attack_readable_state_file,
            attack_impostor_after_first_contact, attack_impostor_answering_a_claim_uri,
            attack_discovery_flood, attack_forged_batched_publication, attack_rebundled_frames,
            attack_session_key_after_revoke, attack_replayed_session_counter,
            attack_session_reflection, attack_handshake_flood, attack_session_after_restart,
            sessions_renew_transparently, sessions_off_fall_back_to_signed,
        );
    };
    (@tests $net:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let net = $net;
                security::$name(&net).await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Protocol v2 attacks (issue 16): one test per attack, over every transport.

/// Sends a raw query and returns the first reply's frame bytes (`None`: no reply in `wait`).
pub async fn raw_frame(p: &Party, key: &str, bytes: Bytes, wait: Duration) -> Option<Bytes> {
    let mut replies = p
        .raw
        .transport
        .query(key, Some(bytes), wait)
        .await
        .expect("query");
    match tokio::time::timeout(wait + Duration::from_secs(1), replies.recv()).await {
        Ok(Some(Reply::Ok(sample))) => Some(sample.payload),
        _ => None,
    }
}

/// A frame written by hand: what an attacker with its own key can put together from parts
/// it copied (a sealed body, an id), signed by `identity`.
pub fn forge(
    identity: &Identity,
    key: &str,
    header: &safething::frame::Header,
    body: &[u8],
) -> Bytes {
    let mut out = Vec::new();
    let start = safething::frame::begin(&mut out, header, true).expect("header");
    out.extend_from_slice(body);
    safething::frame::finish(&mut out, start).expect("length");
    let input = safething::frame::signing_input(key, &out).expect("input");
    out.extend_from_slice(&identity.sign(&input));
    Bytes::from(out)
}

/// Claim hijack: a relay that sees Alice's claim copies its sealed body (and id) into a frame
/// it signs itself. The body opens only with Alice's key in its associated data: the relay
/// gets nothing, and Alice claims afterwards.
pub async fn attack_resigned_claim(net: &impl TestNet) {
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), "m-hijack")
        .transport_arc(session.transport.clone())
        .build()
        .expect("device");
    device.register().await.expect("register");
    let token = device.claim_token().expect("token").token;
    let alice = party(net, "m-hijack", Identity::generate().expect("id")).await;
    let mallory = party(net, "m-hijack", Identity::generate().expect("id")).await;
    let key = "safething/v1/m-hijack/admin".to_owned();
    let thing_key = device.public_key();
    let outgoing = Outgoing {
        protection: Some(safething::crypto::Protection::ToThing(&thing_key)),
        ..Outgoing::new(Kind::Request, Binding::Epoch(boot(&alice)))
    };
    let genuine = alice
        .sealer
        .seal_message(
            &key,
            &outgoing,
            safething::envelope::now_ms(),
            &safething::wire::AdminRequest::Claim {
                token: token.clone(),
            },
        )
        .expect("seal");
    let frame = safething::frame::decode(&genuine).expect("frame");
    for id in [frame.header.id, mallory.sealer.next_id()] {
        let header = safething::frame::Header {
            sender: *mallory.identity.public_key().as_bytes(),
            id,
            ..frame.header
        };
        let resigned = forge(&mallory.identity, &key, &header, frame.body);
        let body = raw(&mallory, &key, resigned).await;
        assert!(
            body.get("error").is_some(),
            "the re-signed claim is refused: {body}"
        );
        assert_eq!(device.parties().owner, None, "the relay is not the owner");
    }
    // The same body left unsealed-flagged is refused too (claims must be sealed).
    let header = safething::frame::Header {
        sender: *mallory.identity.public_key().as_bytes(),
        sealed: false,
        id: mallory.sealer.next_id(),
        ..frame.header
    };
    let body = raw(
        &mallory,
        &key,
        forge(&mallory.identity, &key, &header, frame.body),
    )
    .await;
    assert!(body.get("error").is_some(), "{body}");
    alice.thing.claim(&token).await.expect("Alice claims");
    assert_eq!(device.parties().owner, Some(*alice.identity.public_key()));
}

/// Recorded owner requests (grant, write, action, transfer) sent again after the device
/// restarted from its state file: all refused as naming another boot epoch, none has an
/// effect; the owner's own client keeps working (it learns the new epoch and asks again).
pub async fn attack_replay_after_restart(net: &impl TestNet) {
    let id = "m-restart";
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("state.json");
    let identity = Identity::generate().expect("id");
    let owner_id = Identity::generate().expect("id");
    let runs = Arc::new(AtomicUsize::new(0));
    let writes = Arc::new(AtomicUsize::new(0));
    let start = |session: Arc<dyn safething::transport::Transport>| {
        let device = Device::builder(definition().checked().unwrap(), id)
            .transport_arc(session)
            .identity(identity.clone())
            .owner(*owner_id.public_key())
            .state_file(&path)
            .build()
            .expect("device");
        let (runs, writes) = (runs.clone(), writes.clone());
        device.serve(
            Handlers::new()
                .action("x_owner", move |input: Value, _| {
                    let runs = runs.clone();
                    async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        Ok(input)
                    }
                })
                .write("a_owner", move |_, _| {
                    let writes = writes.clone();
                    async move {
                        writes.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }
                }),
        );
        device
    };
    let first_session = net.session().await;
    let device = start(first_session.transport.clone());
    device.register().await.expect("register");
    let owner = party(net, id, owner_id.clone()).await;
    owner.thing.publish().await.expect("publish");
    owner.thing.refresh().await.expect("refresh");
    let member = *Identity::generate().expect("id").public_key();
    let heir = party(net, id, Identity::generate().expect("id")).await;
    let admin = format!("safething/v1/{id}/admin");
    let attr = format!("safething/v1/{id}/attributes/a_owner");
    let action = format!("safething/v1/{id}/actions/x_owner");
    // Recorded on the way: a grant (later revoked), a write, an action, a transfer (later
    // handed back).
    let grant = request(
        &owner,
        &admin,
        &safething::wire::AdminRequest::Grant { member },
    );
    assert!(raw(&owner, &admin, grant.clone()).await.get("ok").is_some());
    owner.thing.revoke(member).await.expect("revoke");
    let write = request(
        &owner,
        &attr,
        &AttributeRequest::Write {
            value: json!("recorded"),
        },
    );
    assert!(
        raw_frame(&owner, &attr, write.clone(), PATIENCE)
            .await
            .is_some()
    );
    let (invoke, _) = invoke_frame(&owner, &action, json!("recorded"));
    assert!(
        raw_frame(&owner, &action, invoke.clone(), PATIENCE)
            .await
            .is_some()
    );
    let transfer = request(
        &owner,
        &admin,
        &safething::wire::AdminRequest::Transfer {
            owner: *heir.identity.public_key(),
        },
    );
    assert!(
        raw(&owner, &admin, transfer.clone())
            .await
            .get("ok")
            .is_some()
    );
    heir.thing.refresh().await.expect("refresh");
    heir.thing
        .transfer(*owner_id.public_key())
        .await
        .expect("handed back");
    crate::behaviour::wait_until("one run", || runs.load(Ordering::SeqCst) == 1).await;
    let (runs_before, writes_before) = (runs.load(Ordering::SeqCst), writes.load(Ordering::SeqCst));
    // The device restarts from its state file, twice.
    let mut device = device;
    let mut sessions = Vec::new();
    for restart in 0..2 {
        device.shutdown().await;
        let session = net.session().await;
        device = start(session.transport.clone());
        device.register().await.expect("register");
        tokio::time::sleep(net.settle()).await;
        for (what, key, bytes) in [
            ("grant", &admin, &grant),
            ("write", &attr, &write),
            ("transfer", &admin, &transfer),
        ] {
            let body = raw(&owner, key, bytes.clone()).await;
            assert_eq!(
                body["error"]["kind"], "stale_epoch",
                "{restart}: {what}: {body}"
            );
        }
        let body = raw(&owner, &action, invoke.clone()).await;
        assert_eq!(
            body["problem"]["kind"], "stale_epoch",
            "{restart}: action: {body}"
        );
        let parties = device.parties();
        assert!(
            !parties.group.contains(&member),
            "the revoked member stays out"
        );
        assert_eq!(parties.owner, Some(*owner_id.public_key()));
        assert_eq!(runs.load(Ordering::SeqCst), runs_before + restart);
        assert_eq!(writes.load(Ordering::SeqCst), writes_before + restart);
        // The owner's client, holding the old epoch, is answered `stale_epoch` once and asks
        // again by itself.
        owner
            .thing
            .write("a_owner", json!(format!("after restart {restart}")))
            .await
            .expect("the client retries with the new epoch");
        let out = owner
            .thing
            .invoke("x_owner", json!("fresh"))
            .await
            .expect("invoke");
        assert_eq!(
            within("output", out.output()).await.expect("done"),
            json!("fresh")
        );
        sessions.push(session);
    }
    drop(first_session);
}

/// Answers every query on `key` with `reply` (an attacker's queryable), counting them.
async fn answer_with(session: &Session, key: &str, reply: Bytes) -> Arc<AtomicUsize> {
    let mut spy = session.transport.queryable(key).await.expect("queryable");
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    tokio::spawn(async move {
        while let Some(q) = spy.recv().await {
            let _ = q.reply(&q.key_expr, reply.clone());
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    answered
}

/// An earlier genuine reply of the device, replayed to answer a new request on the same key:
/// bound to another request, it is refused.
pub async fn attack_stale_reply(net: &impl TestNet) {
    let w = world(net, "m-stalereply").await;
    let key = format!("safething/v1/{}/attributes/a_all", w.id);
    let old = raw_frame(
        &w.owner,
        &key,
        request(&w.owner, &key, &AttributeRequest::Read { history: None }),
        PATIENCE,
    )
    .await
    .expect("a genuine reply");
    w.device.shutdown().await;
    let attacker = net.session().await;
    let answered = answer_with(&attacker, &key, old).await;
    tokio::time::sleep(net.settle()).await;
    let e = w.owner.thing.read("a_all").await.unwrap_err();
    assert!(answered.load(Ordering::SeqCst) > 0, "the attacker answered");
    assert!(matches!(e, Error::Untrusted(_)), "{e}");
    let e = w.owner.thing.write("a_all", json!("x")).await.unwrap_err();
    assert!(matches!(e, Error::Untrusted(_)), "{e}");
}

/// A genuine reply for one attribute answers a request for another (a relay's mix-up): the
/// signature covers the key it was made for, and the binding names another request.
pub async fn attack_cross_request_reply(net: &impl TestNet) {
    let w = world(net, "m-crossreply").await;
    let all = format!("safething/v1/{}/attributes/a_all", w.id);
    let group = format!("safething/v1/{}/attributes/a_group", w.id);
    let reply_for_all = raw_frame(
        &w.member,
        &all,
        request(&w.member, &all, &AttributeRequest::Read { history: None }),
        PATIENCE,
    )
    .await
    .expect("a genuine reply");
    w.device.shutdown().await;
    let attacker = net.session().await;
    let answered = answer_with(&attacker, &group, reply_for_all.clone()).await;
    tokio::time::sleep(net.settle()).await;
    let e = w.member.thing.read("a_group").await.unwrap_err();
    assert!(answered.load(Ordering::SeqCst) > 0);
    assert!(matches!(e, Error::Untrusted(_)), "{e}");
    // The member's reply given to the owner (same key, another requester): refused too.
    let answered = answer_with(&attacker, &all, reply_for_all).await;
    tokio::time::sleep(net.settle()).await;
    let e = w.owner.thing.read("a_all").await.unwrap_err();
    assert!(answered.load(Ordering::SeqCst) > 0);
    assert!(matches!(e, Error::Untrusted(_)), "{e}");
}

/// `status` and `cancel` answers about a group or owner action, and its request-state
/// publications, are sealed: a sniffer on the transport sees ciphertext only.
pub async fn attack_sealed_status_and_cancel(net: &impl TestNet) {
    let tap = net.session().await;
    let mut all = tap
        .transport
        .subscribe("safething/v1/**")
        .await
        .expect("tap");
    let w = world(net, "m-sealedstatus").await;
    for access in ["group", "owner", "all"] {
        let secret = format!("{SECRET}-status-{access}");
        let action = format!("safething/v1/{}/actions/x_{access}", w.id);
        let (invoke, request_id) = invoke_frame(&w.owner, &action, json!(secret));
        let state = raw_frame(&w.owner, &action, invoke, PATIENCE)
            .await
            .expect("a state");
        let key = format!("safething/v1/{}/requests/{request_id}", w.id);
        let status = raw_frame(
            &w.owner,
            &key,
            request(&w.owner, &key, &safething::wire::RequestQuery::Status),
            PATIENCE,
        )
        .await
        .expect("status");
        let cancel = raw_frame(
            &w.owner,
            &key,
            request(&w.owner, &key, &safething::wire::RequestQuery::Cancel),
            PATIENCE,
        )
        .await
        .expect("cancel");
        let by_action = raw_frame(
            &w.owner,
            &action,
            request(
                &w.owner,
                &action,
                &ActionRequest::Cancel {
                    request: request_id.clone(),
                },
            ),
            PATIENCE,
        )
        .await
        .expect("cancel by action");
        for (what, bytes) in [
            ("state", &state),
            ("status", &status),
            ("cancel", &cancel),
            ("cancel on the action", &by_action),
        ] {
            let frame = safething::frame::decode(bytes).expect("frame");
            let clear = String::from_utf8_lossy(bytes).contains(&secret);
            if access == "all" {
                assert!(
                    clear && !frame.header.sealed,
                    "{what}: public answers are readable"
                );
            } else {
                assert!(frame.header.sealed && !clear, "{access} {what} leaked");
            }
        }
    }
    // Request-state publications too.
    let mut seen = String::new();
    while let Ok(Some(s)) = tokio::time::timeout(Duration::from_millis(300), all.next()).await {
        seen.push_str(&String::from_utf8_lossy(&s.payload));
    }
    assert!(!seen.contains(&format!("{SECRET}-status-group")));
    assert!(!seen.contains(&format!("{SECRET}-status-owner")));
}

/// Ids longer than 32 bytes do not fit a frame (its layout refuses them before anything is
/// stored), request ids that are not the frame's id are refused, and the device keeps serving.
pub async fn attack_oversized_ids(net: &impl TestNet) {
    let w = world(net, "m-bigids").await;
    let key = format!("safething/v1/{}/attributes/a_all", w.id);
    let genuine = request(&w.stranger, &key, &AttributeRequest::Read { history: None });
    let before = w.device.stats().unverified;
    // The id length byte (offset 37) claims 200 bytes, and 100 KB follow.
    let mut big = genuine.to_vec();
    big[37] = 200;
    big.extend(std::iter::repeat_n(b'x', 100_000));
    for _ in 0..20 {
        assert!(
            raw_frame(
                &w.stranger,
                &key,
                Bytes::from(big.clone()),
                Duration::from_millis(300)
            )
            .await
            .is_none(),
            "nothing answers a frame that is not one"
        );
    }
    crate::behaviour::wait_until("counted", || w.device.stats().unverified >= before + 20).await;
    // A 100 KB request id in an invoke body.
    let action = format!("safething/v1/{}/actions/x_all", w.id);
    let body = ActionRequest::Invoke {
        request: "ab".repeat(50_000),
        input: json!("in"),
        timeout_ms: None,
    };
    let bytes = request(&w.stranger, &action, &body);
    let reply = raw(&w.stranger, &action, bytes).await;
    assert_eq!(reply["problem"]["kind"], "bad_request", "{reply}");
    assert_eq!(w.runs.load(Ordering::SeqCst), 0);
    // Still serving.
    assert!(w.stranger.thing.read("a_all").await.is_ok());
}

/// A request replayed after the replay cache had to forget it (more requests from its sender
/// than the cache keeps) is refused by the watermark, not let in again.
pub async fn attack_evicted_replay(net: &impl TestNet) {
    let w = world(net, "m-evicted").await;
    let key = format!("safething/v1/{}/attributes/a_all", w.id);
    let first = request(&w.member, &key, &AttributeRequest::Read { history: None });
    assert!(
        raw(&w.member, &key, first.clone())
            .await
            .get("ok")
            .is_some()
    );
    for _ in 0..300 {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let bytes = request(&w.member, &key, &AttributeRequest::Read { history: None });
        assert!(raw(&w.member, &key, bytes).await.get("ok").is_some());
    }
    let again = raw(&w.member, &key, first).await;
    assert_eq!(again["error"]["kind"], "bad_request", "{again}");
    assert!(again.to_string().contains("replay"), "{again}");
}

/// A genuine publication of one key relabelled by a relay as another key's: the client checks
/// frames against the key it subscribed to, and drops it.
pub async fn attack_relabelled_key(net: &impl TestNet) {
    let w = world(net, "m-relabel").await;
    let tap = net.session().await;
    let event_key = format!("safething/v1/{}/events/e_all", w.id);
    let mut events = tap.transport.subscribe(&event_key).await.expect("tap");
    let mut watch = w
        .owner
        .thing
        .watch("a_all", Filter::any())
        .await
        .expect("watch");
    within("current", watch.next())
        .await
        .expect("item")
        .expect("ok");
    tokio::time::sleep(net.settle()).await;
    w.device
        .emit_event("e_all", json!("from an event"))
        .await
        .expect("emit");
    let genuine = within("the event", events.next()).await.expect("sample");
    let attr_key = format!("safething/v1/{}/attributes/a_all", w.id);
    tap.transport
        .publish(&attr_key, genuine.payload)
        .await
        .expect("publish");
    w.device
        .set_attribute("a_all", json!("genuine"))
        .await
        .expect("set");
    let next = within("the genuine update", watch.next())
        .await
        .expect("item")
        .expect("ok");
    assert_eq!(next.value, json!("genuine"));
}

/// A request held back past the freshness window (a delayed delivery) is refused.
pub async fn attack_delayed_request(net: &impl TestNet) {
    let w = world(net, "m-delayed").await;
    let key = format!("safething/v1/{}/attributes/a_all", w.id);
    let outgoing = Outgoing::new(Kind::Request, Binding::Epoch(boot(&w.owner)));
    let delayed = w
        .owner
        .sealer
        .seal_message(
            &key,
            &outgoing,
            safething::envelope::now_ms() - 200_000,
            &AttributeRequest::Write {
                value: json!("late"),
            },
        )
        .expect("seal");
    let body = raw(&w.owner, &key, delayed).await;
    assert_eq!(body["error"]["kind"], "bad_request", "{body}");
    assert!(body.to_string().contains("stale"), "{body}");
}

/// Publications delivered again and out of order (an older update after a newer one): the
/// watcher does not go back.
pub async fn attack_reordered_updates(net: &impl TestNet) {
    let w = world(net, "m-reorder").await;
    let tap = net.session().await;
    let key = format!("safething/v1/{}/attributes/a_all", w.id);
    let mut updates = tap.transport.subscribe(&key).await.expect("tap");
    let mut watch = w
        .owner
        .thing
        .watch("a_all", Filter::any())
        .await
        .expect("watch");
    within("current", watch.next())
        .await
        .expect("item")
        .expect("ok");
    tokio::time::sleep(net.settle()).await;
    for v in ["one", "two"] {
        w.device
            .set_attribute("a_all", json!(v))
            .await
            .expect("set");
        let got = within("update", watch.next())
            .await
            .expect("item")
            .expect("ok");
        assert_eq!(got.value, json!(v));
    }
    let older = within("tapped", updates.next()).await.expect("sample");
    tap.transport
        .publish(&key, older.payload)
        .await
        .expect("replay");
    w.device
        .set_attribute("a_all", json!("three"))
        .await
        .expect("set");
    let got = within("update", watch.next())
        .await
        .expect("item")
        .expect("ok");
    assert_eq!(
        got.value,
        json!("three"),
        "the older update was not delivered again"
    );
}

/// Requests dropped on the way: the client resends the identical frame (`retries`), which the
/// device runs once; an answer dropped for good ends in a timeout, not a false success.
pub async fn attack_dropped_messages(net: &impl TestNet) {
    let w = world(net, "m-dropped").await;
    // A listener that swallows the first request's answer is modelled by the device being
    // away when the first copy arrives: the retry reaches it.
    w.device.shutdown().await;
    let e = w.owner.thing.read("a_all").await.unwrap_err();
    assert!(
        matches!(e, Error::TimedOut { .. } | Error::Offline(_)),
        "silence is no answer: {e}"
    );
    assert_eq!(w.runs.load(Ordering::SeqCst), 0);
}

/// A v1 (JSON envelope) request or publication: refused as an unsupported version, logged and
/// counted, never a panic; the device keeps serving and watchers keep watching.
pub async fn attack_v1_messages(net: &impl TestNet) {
    let w = world(net, "m-v1msgs").await;
    let key = format!("safething/v1/{}/attributes/a_all", w.id);
    let v1 = Bytes::from_static(
        br#"{"v":1,"from":"stxxxx","id":"1","ts":1,"body":{"op":"read"},"sig":"x"}"#,
    );
    let before = w.device.stats().unverified;
    assert!(
        raw_frame(&w.stranger, &key, v1.clone(), Duration::from_millis(300))
            .await
            .is_none()
    );
    crate::behaviour::wait_until("counted", || w.device.stats().unverified > before).await;
    let mut watch = w
        .owner
        .thing
        .watch("a_all", Filter::any())
        .await
        .expect("watch");
    within("current", watch.next())
        .await
        .expect("item")
        .expect("ok");
    tokio::time::sleep(net.settle()).await;
    w.stranger
        .raw
        .transport
        .publish(&key, v1)
        .await
        .expect("publish");
    w.device
        .set_attribute("a_all", json!("v2"))
        .await
        .expect("set");
    let got = within("update", watch.next())
        .await
        .expect("item")
        .expect("ok");
    assert_eq!(got.value, json!("v2"));
}

// ---------------------------------------------------------------------------------------------
// State files (issue 17): what the device keeps across restarts is never lost or leaked quietly.

/// A device with a state file at `path`, owned by `owner`, registered on `net`.
async fn device_with_state(
    net: &impl TestNet,
    id: &str,
    path: &std::path::Path,
    owner: &Identity,
) -> safething::Result<Device> {
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), id)
        .transport_arc(session.transport)
        .identity(Identity::generate().expect("id"))
        .owner(*owner.public_key())
        .state_file(path)
        .build()?;
    device.serve(Handlers::new());
    Ok(device)
}

/// A grant whose state cannot be saved is refused and not applied: after a restart the device
/// would otherwise forget it (and a revoke, worse, would be undone).
pub async fn unsaved_owner_operations_do_not_happen(net: &impl TestNet) {
    let id = "m-unsaved";
    let dir = tempfile::tempdir().expect("dir");
    let state_dir = dir.path().join("state");
    let path = state_dir.join("device.state");
    let owner_id = Identity::generate().expect("id");
    let device = device_with_state(net, id, &path, &owner_id)
        .await
        .expect("device");
    device.register().await.expect("register");
    let owner = party(net, id, owner_id).await;
    owner.thing.publish().await.expect("publish");
    let member = *Identity::generate().expect("id").public_key();
    // The state directory becomes unwritable: a file where it was.
    std::fs::remove_dir_all(&state_dir).expect("rm");
    std::fs::write(&state_dir, "not a directory").expect("file");
    match owner.thing.grant(member).await {
        Err(Error::Rejected(Problem::StateNotSaved { reason })) => assert!(!reason.is_empty()),
        other => panic!("a grant that cannot be saved must be refused: {other:?}"),
    }
    let now = owner.thing.refresh().await.expect("refresh");
    assert!(
        !now.group.contains(&member),
        "the unsaved grant was applied"
    );
    // Once the state can be saved again, the same grant goes through and is kept.
    std::fs::remove_file(&state_dir).expect("rm");
    let granted = owner.thing.grant(member).await.expect("grant");
    assert!(granted.group.contains(&member));
    assert!(path.exists());
}

/// A state file others can read (its keys may have leaked) is refused at start, with the fix.
pub async fn attack_readable_state_file(net: &impl TestNet) {
    let id = "m-readable";
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("device.state");
    let owner_id = Identity::generate().expect("id");
    drop(
        device_with_state(net, id, &path, &owner_id)
            .await
            .expect("device"),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let refused = device_with_state(net, id, &path, &owner_id)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            refused.contains("readable by other users") && refused.contains("chmod 600"),
            "{refused}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        device_with_state(net, id, &path, &owner_id)
            .await
            .expect("a private state file loads");
    }
}

// ---------------------------------------------------------------------------------------------
// Known things (issue 17): trust on first use that lasts across runs.

/// A client that keeps the known-things store at `known` (a new "run" of a console).
async fn console(net: &impl TestNet, known: &std::path::Path) -> safething::Result<Client> {
    let session = net.session().await;
    Client::builder()
        .transport_arc(session.transport)
        .identity(Identity::generate().expect("id"))
        .known_things(known)
        .build()
        .await
}

/// A registered device `id` with `identity`.
async fn device_as(net: &impl TestNet, id: &str, identity: Identity) -> Device {
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), id)
        .transport_arc(session.transport)
        .identity(identity)
        .build()
        .expect("device");
    device.serve(Handlers::new());
    device.register().await.expect("register");
    device
}

/// An impostor that takes a thing's place after a console met it is refused in every later
/// run of the console, with both keys and the way to accept a genuine new one.
pub async fn attack_impostor_after_first_contact(net: &impl TestNet) {
    let id = "m-known";
    let dir = tempfile::tempdir().expect("dir");
    let known = dir.path().join("known_things");
    let genuine = device_as(net, id, Identity::generate().expect("id")).await;
    let first = console(net, &known).await.expect("client");
    connect(&first, id).await;
    let text = std::fs::read_to_string(&known).expect("the store was written");
    assert!(
        text.contains(&format!("{id} {}", genuine.public_key())),
        "{text}"
    );
    genuine.shutdown().await;
    let impostor_key = Identity::generate().expect("id");
    let impostor = device_as(net, id, impostor_key.clone()).await;
    tokio::time::sleep(net.settle()).await;
    // A later run: the store, not the first answer, decides.
    let later = console(net, &known).await.expect("client");
    let Err(refused) = later.thing(id).await else {
        panic!("the impostor is refused")
    };
    match &refused {
        Error::KeyChanged(change) => {
            assert_eq!(change.known, genuine.public_key());
            assert_eq!(change.presented, *impostor_key.public_key());
        }
        other => panic!("expected KeyChanged, got {other}"),
    }
    let message = refused.to_string();
    assert!(
        message.contains(&genuine.public_key().to_string())
            && message.contains(&impostor_key.public_key().to_string())
            && message.contains(&format!("safething forget {id}"))
            && message.contains(&format!("{}:2", known.display())),
        "{message}"
    );
    // Accepting the new key (the thing was re-provisioned) is forgetting the old one.
    let mut store = safething::known_things::KnownThings::open(&known).expect("store");
    let thing_id = safething::ir::ThingId::new(id).expect("id");
    assert!(store.forget(&thing_id).expect("saved"));
    let accepted = console(net, &known).await.expect("client");
    connect(&accepted, id).await;
    let store = safething::known_things::KnownThings::open(&known).expect("store");
    assert_eq!(
        store.get(&thing_id).map(|k| k.key),
        Some(*impostor_key.public_key())
    );
    impostor.shutdown().await;
}

/// A key given by the claim URI (trusted) beats whoever answers first, and disagrees loudly
/// with a store that knows another key.
pub async fn attack_impostor_answering_a_claim_uri(net: &impl TestNet) {
    let id = "m-uri";
    let dir = tempfile::tempdir().expect("dir");
    let known = dir.path().join("known_things");
    let genuine_key = Identity::generate().expect("id");
    let impostor = device_as(net, id, Identity::generate().expect("id")).await;
    tokio::time::sleep(net.settle()).await;
    let thing_id = safething::ir::ThingId::new(id).expect("id");
    let session = net.session().await;
    let client = Client::builder()
        .transport_arc(session.transport)
        .trust(thing_id.clone(), *genuine_key.public_key())
        .known_things(&known)
        .build()
        .await
        .expect("client");
    match client.thing(id).await {
        Err(Error::KeyChanged(change)) => {
            assert_eq!(change.presented, impostor.public_key());
        }
        Err(e) => panic!("expected KeyChanged, got {e}"),
        Ok(_) => panic!("the impostor was believed"),
    }
    // The store learnt nothing from the impostor.
    let store = safething::known_things::KnownThings::open(&known).expect("store");
    assert!(store.get(&thing_id).is_none());
    // A store that knows another key than the one given refuses to start.
    let mut store = store;
    store
        .remember(&thing_id, impostor.public_key())
        .expect("saved");
    let session = net.session().await;
    let Err(refused) = Client::builder()
        .transport_arc(session.transport)
        .trust(thing_id, *genuine_key.public_key())
        .known_things(&known)
        .build()
        .await
    else {
        panic!("a trusted key that disagrees with the store is a conflict")
    };
    assert!(matches!(refused, Error::KeyChanged(_)), "{refused}");
    impostor.shutdown().await;
}

/// Whoever answers discovery decides how many answers there are: the client keeps at most
/// `max_discovered` things, and keeps working.
pub async fn attack_discovery_flood(net: &impl TestNet) {
    let mut devices = Vec::new();
    for i in 0..4 {
        devices.push(
            device_as(
                net,
                &format!("m-flood-{i}"),
                Identity::generate().expect("id"),
            )
            .await,
        );
    }
    tokio::time::sleep(net.settle()).await;
    let session = net.session().await;
    let client = Client::builder()
        .transport_arc(session.transport)
        .config(
            safething::client::ClientConfig::default()
                .with_max_discovered(2)
                .with_discovery_timeout(PATIENCE),
        )
        .build()
        .await
        .expect("client");
    let found = client.discover().await.expect("discovery");
    // Four things answered; the client kept two.
    assert_eq!(found.len(), 2, "{found:?}");
    // Still usable: a thing met by id is reached whatever discovery kept.
    connect(&client, "m-flood-3").await;
    for device in devices {
        device.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions (issue 20, `docs/protocol.md` §10): one test per attack, over every transport.

use safething::session::client::{Answer, ClientSession};

/// A session made by hand for `p` with the thing `id` (what a client's runtime does itself).
pub async fn raw_session(p: &Party, id: &str) -> ClientSession {
    let thing = safething::ir::ThingId::new(id).expect("id");
    safething::session::client::handshake(
        &*p.raw.transport,
        &p.identity,
        p.thing.key(),
        &safething::session::key(&thing),
        PATIENCE,
    )
    .await
    .expect("handshake")
}

/// A request from `p` sealed in `s`, and its message id.
pub fn sealed_request(
    p: &Party,
    s: &ClientSession,
    key: &str,
    body: &impl serde::Serialize,
) -> (Bytes, safething::envelope::MessageId) {
    let id = p.sealer.next_id();
    let plain = safething::session::plain_frame(
        p.identity.public_key(),
        Kind::Request,
        Binding::Epoch(s.boot()),
        id,
        safething::envelope::now_ms(),
        |out| serde_json::to_writer(out, body),
    )
    .expect("frame");
    (s.seal(key, &plain).expect("seal").0, id)
}

/// What the device answers a sealed request with: the reply's body, or `"unknown"` when it
/// does not hold the session (`None`: no answer).
pub async fn in_session(p: &Party, s: &ClientSession, key: &str, bytes: Bytes) -> Option<Value> {
    let reply = raw_frame(p, key, bytes, Duration::from_millis(500)).await?;
    match s.open(key, &reply).expect("a reply the session opens") {
        Answer::Unknown(_) => Some(json!("unknown")),
        Answer::Frame(plain) => {
            let frame = safething::frame::decode(&plain).expect("a v2 frame inside");
            Some(serde_json::from_slice(frame.body).expect("JSON"))
        }
    }
}

/// A revoked member's session key is useless at once: the device dropped its sessions with
/// the revocation, and says so (signed) to whatever the old session carries. Its client goes on
/// transparently, refused what it may no longer read.
pub async fn attack_session_key_after_revoke(net: &impl TestNet) {
    let w = world(net, "m-sess-revoke").await;
    let x = party(net, &w.id, Identity::generate().expect("id")).await;
    w.owner
        .thing
        .grant(*x.identity.public_key())
        .await
        .expect("grant");
    x.thing.refresh().await.expect("refresh");
    let s = raw_session(&x, &w.id).await;
    let key = format!("safething/v1/{}/attributes/a_group", w.id);
    let read = AttributeRequest::Read { history: None };
    let (bytes, _) = sealed_request(&x, &s, &key, &read);
    let body = in_session(&x, &s, &key, bytes).await.expect("an answer");
    assert_eq!(body["ok"]["value"], "group-value", "{body}");
    // The client of the same member holds a session too.
    x.thing.read("a_all").await.expect("read in a session");
    let sessions = w.device.stats().sessions;
    w.owner
        .thing
        .revoke(*x.identity.public_key())
        .await
        .expect("revoke");
    assert!(w.device.stats().sessions < sessions, "its sessions dropped");
    let (bytes, _) = sealed_request(&x, &s, &key, &read);
    assert_eq!(
        in_session(&x, &s, &key, bytes).await,
        Some(json!("unknown"))
    );
    // Its client renews the session without the caller noticing; access is checked as ever.
    x.thing
        .read("a_all")
        .await
        .expect("public read after revoke");
    x.thing.refresh().await.expect("refresh");
    assert!(matches!(
        x.thing.read("a_group").await,
        Err(Error::AccessDenied { .. })
    ));
}

/// A sealed request recorded and sent again is dropped by the session's counter window (and
/// would be by the request-id cache behind it): the action runs once. Counters arriving out of
/// order within the window are taken.
pub async fn attack_replayed_session_counter(net: &impl TestNet) {
    let w = world(net, "m-sess-replay").await;
    let s = raw_session(&w.owner, &w.id).await;
    let key = format!("safething/v1/{}/actions/x_owner", w.id);
    let invoke = |s: &ClientSession| {
        let id = w.owner.sealer.next_id();
        let body = ActionRequest::Invoke {
            request: id.to_hex(),
            input: json!("once"),
            timeout_ms: None,
        };
        let plain = safething::session::plain_frame(
            w.owner.identity.public_key(),
            Kind::Request,
            Binding::Epoch(s.boot()),
            id,
            safething::envelope::now_ms(),
            |out| serde_json::to_writer(out, &body),
        )
        .expect("frame");
        s.seal(&key, &plain).expect("seal").0
    };
    let first = invoke(&s);
    let second = invoke(&s);
    // The later counter first, then the earlier one: both are new.
    let body = in_session(&w.owner, &s, &key, second)
        .await
        .expect("answer");
    assert_eq!(body["state"], "done", "{body}");
    let body = in_session(&w.owner, &s, &key, first.clone())
        .await
        .expect("answer");
    assert_eq!(body["state"], "done", "{body}");
    let runs = w.runs.load(Ordering::SeqCst);
    let unverified = w.device.stats().unverified;
    for _ in 0..3 {
        assert_eq!(
            in_session(&w.owner, &s, &key, first.clone()).await,
            None,
            "a replay is dropped unanswered"
        );
    }
    assert_eq!(w.runs.load(Ordering::SeqCst), runs, "the action ran once");
    assert!(w.device.stats().unverified >= unverified + 3);
}

/// A reply sealed device → client, fed back to the device as a request (or moved to another
/// key), opens under no key the device holds for that direction: dropped.
pub async fn attack_session_reflection(net: &impl TestNet) {
    let w = world(net, "m-sess-reflect").await;
    let s = raw_session(&w.member, &w.id).await;
    let key = format!("safething/v1/{}/attributes/a_group", w.id);
    let (bytes, _) = sealed_request(
        &w.member,
        &s,
        &key,
        &AttributeRequest::Read { history: None },
    );
    let reply = raw_frame(&w.member, &key, bytes.clone(), PATIENCE)
        .await
        .expect("a reply");
    assert!(safething::session::is_session_frame(&reply));
    let unverified = w.device.stats().unverified;
    assert_eq!(
        raw_frame(&w.member, &key, reply.clone(), Duration::from_millis(500)).await,
        None,
        "a reflected reply is no request"
    );
    // A request moved to another key does not open either (the key is in its AAD).
    let (bytes, _) = sealed_request(
        &w.member,
        &s,
        &key,
        &AttributeRequest::Read { history: None },
    );
    let other = format!("safething/v1/{}/attributes/a_all", w.id);
    assert_eq!(
        raw_frame(&w.member, &other, bytes, Duration::from_millis(500)).await,
        None
    );
    assert!(w.device.stats().unverified >= unverified + 2);
    // The session itself is unharmed.
    let (bytes, _) = sealed_request(
        &w.member,
        &s,
        &key,
        &AttributeRequest::Read { history: None },
    );
    let body = in_session(&w.member, &s, &key, bytes)
        .await
        .expect("answer");
    assert_eq!(body["ok"]["value"], "group-value");
}

/// A flood of handshakes, from one key and from many: each sender holds a few sessions at
/// most, the device signs at most its budget per window (refusing the rest unsigned, before
/// checking any signature), holds a bounded table, and clients still get answers (in a session,
/// or signed when the device refuses one).
pub async fn attack_handshake_flood(net: &impl TestNet) {
    use safething::session::device::{PER_SENDER, SENDER_HANDSHAKES, SessionLimits};
    // A small budget, so the flood is cheap to make in a debug build.
    const BUDGET: usize = 30;
    let id = "m-sess-flood";
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), id)
        .transport_arc(session.transport.clone())
        .config(DeviceConfig::default().with_session_limits(SessionLimits {
            signatures: BUDGET,
            ..SessionLimits::default()
        }))
        .build()
        .expect("device");
    device.register().await.expect("register");
    device
        .set_attribute("a_all", json!("all-value"))
        .await
        .expect("set");
    let attacker = party(net, id, Identity::generate().expect("id")).await;
    let key = safething::session::key(&safething::ir::ThingId::new(id).expect("id"));
    let flood = |who: Identity| {
        let transport = attacker.raw.transport.clone();
        let thing_key = *attacker.thing.key();
        let key = key.clone();
        async move {
            safething::session::client::handshake(&*transport, &who, &thing_key, &key, PATIENCE)
                .await
                .is_ok()
        }
    };
    // One key, many handshakes: rate limited, and a few sessions held at most.
    let me = Identity::generate().expect("id");
    let mut made = 0;
    for _ in 0..(SENDER_HANDSHAKES + 5) {
        if flood(me.clone()).await {
            made += 1;
        }
    }
    assert_eq!(made, SENDER_HANDSHAKES, "one sender is rate limited");
    assert!(device.stats().sessions <= PER_SENDER as u64);
    // Many keys: the rest of the budget is signed, every other hello refused unverified.
    let keys: Vec<Identity> = (0..BUDGET + 20)
        .map(|_| Identity::generate().expect("id"))
        .collect();
    let results = futures::future::join_all(keys.into_iter().map(flood)).await;
    let welcomed = results.iter().filter(|ok| **ok).count();
    let stats = device.stats();
    assert_eq!(welcomed, BUDGET - SENDER_HANDSHAKES, "{stats:?}");
    assert_eq!(stats.handshakes, BUDGET as u64);
    assert!(stats.sessions <= BUDGET as u64);
    // A client that has no session yet still gets its answers (signed, while the device
    // refuses sessions).
    let late = party(net, id, Identity::generate().expect("id")).await;
    assert_eq!(
        late.thing.read("a_all").await.expect("read").value,
        json!("all-value")
    );
    assert_eq!(device.stats().handshakes, BUDGET as u64);
}

/// A device restart invalidates every session: what an old session carries (recorded, or new)
/// gets the device's signed "unknown session", nothing runs, and clients go on transparently.
pub async fn attack_session_after_restart(net: &impl TestNet) {
    let id = "m-sess-restart";
    let identity = Identity::generate().expect("id");
    let owner_id = Identity::generate().expect("id");
    let writes = Arc::new(AtomicUsize::new(0));
    let start = |session: Arc<dyn safething::transport::Transport>| {
        let device = Device::builder(definition().checked().unwrap(), id)
            .transport_arc(session)
            .identity(identity.clone())
            .owner(*owner_id.public_key())
            .build()
            .expect("device");
        let writes = writes.clone();
        device.serve(Handlers::new().write("a_owner", move |_, _| {
            let writes = writes.clone();
            async move {
                writes.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }));
        device
    };
    let first = net.session().await;
    let device = start(first.transport.clone());
    device.register().await.expect("register");
    let owner = party(net, id, owner_id.clone()).await;
    owner.thing.publish().await.expect("publish");
    let s = raw_session(&owner, id).await;
    let key = format!("safething/v1/{id}/attributes/a_owner");
    let write = AttributeRequest::Write {
        value: json!("recorded"),
    };
    let (recorded, _) = sealed_request(&owner, &s, &key, &write);
    let body = in_session(&owner, &s, &key, recorded.clone())
        .await
        .expect("answer");
    assert_eq!(body["ok"]["value"], "recorded", "{body}");
    owner
        .thing
        .write("a_owner", json!("before"))
        .await
        .expect("client write");
    assert_eq!(writes.load(Ordering::SeqCst), 2);
    device.shutdown().await;
    drop(device);
    let second = net.session().await;
    let device = start(second.transport.clone());
    device.register().await.expect("register");
    tokio::time::sleep(net.settle()).await;
    assert_eq!(
        in_session(&owner, &s, &key, recorded).await,
        Some(json!("unknown")),
        "a recorded frame"
    );
    let (fresh, _) = sealed_request(&owner, &s, &key, &write);
    assert_eq!(
        in_session(&owner, &s, &key, fresh).await,
        Some(json!("unknown")),
        "a new frame in the old session"
    );
    assert_eq!(writes.load(Ordering::SeqCst), 2, "nothing ran");
    owner
        .thing
        .publish()
        .await
        .expect("publish again (no state file)");
    owner
        .thing
        .write("a_owner", json!("after"))
        .await
        .expect("the client renews its session by itself");
    assert_eq!(writes.load(Ordering::SeqCst), 3);
    drop(first);
}

/// Sessions that wear out (by message count here) are renewed without the caller noticing.
pub async fn sessions_renew_transparently(net: &impl TestNet) {
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), "m-sess-renew")
        .transport_arc(session.transport.clone())
        .config(DeviceConfig::default().with_session_limits(
            safething::session::device::SessionLimits {
                max_messages: 3,
                ..Default::default()
            },
        ))
        .build()
        .expect("device");
    device.register().await.expect("register");
    device
        .set_attribute("a_all", json!("v"))
        .await
        .expect("set");
    let p = party(net, "m-sess-renew", Identity::generate().expect("id")).await;
    for _ in 0..10 {
        assert_eq!(p.thing.read("a_all").await.expect("read").value, json!("v"));
    }
    assert!(
        device.stats().handshakes >= 3,
        "{:?}: renewed as they wore out",
        device.stats()
    );
}

/// Without sessions — turned off on the client, or refused by the device (a signature budget
/// of 0) — every request goes signed, with the same results for the caller.
pub async fn sessions_off_fall_back_to_signed(net: &impl TestNet) {
    let id = "m-sess-off";
    let session = net.session().await;
    let device = Device::builder(definition().checked().unwrap(), id)
        .transport_arc(session.transport.clone())
        .config(DeviceConfig::default().with_session_limits(
            safething::session::device::SessionLimits {
                signatures: 0,
                ..Default::default()
            },
        ))
        .build()
        .expect("device");
    device.serve(Handlers::new().action("x_all", |input: Value, _| async move { Ok(input) }));
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    device
        .set_attribute("a_all", json!("v"))
        .await
        .expect("set");
    let refused = party(net, id, Identity::generate().expect("id")).await;
    let off_session = net.session().await;
    let off = Client::builder()
        .transport_arc(off_session.transport)
        .identity(Identity::generate().expect("id"))
        .config(safething::client::ClientConfig::default().with_sessions(false))
        .build()
        .await
        .expect("client");
    let off = connect(&off, id).await;
    for thing in [&refused.thing, &off] {
        assert_eq!(thing.read("a_all").await.expect("read").value, json!("v"));
        let out = thing.invoke("x_all", json!("hi")).await.expect("invoke");
        assert_eq!(
            within("output", out.output()).await.expect("done"),
            json!("hi")
        );
    }
    assert_eq!(device.stats().handshakes, 0);
    assert_eq!(device.stats().sessions, 0);
}

/// Under load a device signs its events in batches; every frame still verifies alone, the
/// subscriber gets them all in order. A bystander that takes a batched frame off the wire and
/// changes its body (a newer sequence number) keeping the genuine proof and root signature —
/// or gives a genuine frame another frame's proof — gets nothing delivered: the path leads to
/// a root nobody signed.
pub async fn attack_forged_batched_publication(net: &impl TestNet) {
    let w = world(net, "m-batch").await;
    let key = format!("safething/v1/{}/events/e_all", w.id);
    let tap_session = net.session().await;
    let mut tap = tap_session.transport.subscribe(&key).await.expect("tap");
    let mut events = w
        .owner
        .thing
        .subscribe("e_all", Filter::any())
        .await
        .expect("subscribe");
    tokio::time::sleep(net.settle()).await;
    let n = 200;
    let frames = burst(&w, &mut events, &mut tap, n).await;
    let batched: Vec<&Bytes> = frames
        .iter()
        .filter(|f| safething::frame::decode(f).is_ok_and(|d| d.batch.is_some()))
        .collect();
    assert!(
        !batched.is_empty(),
        "a burst of {n} events was signed one by one"
    );
    let (a, b) = (batched[0], batched[1]);
    let proof_at = |f: &Bytes| {
        safething::frame::decode(f)
            .expect("a frame")
            .signed_part
            .len()
    };
    // The body changed: a newer sequence number, other data, the genuine proof and signature.
    let decoded = safething::frame::decode(a).expect("a frame");
    let mut body = body_of(a);
    body["seq"] = json!(1_000_000);
    body["data"] = json!("forged");
    let mut forged = Vec::new();
    let start = safething::frame::begin(&mut forged, &decoded.header, true).expect("header");
    forged.extend_from_slice(&serde_json::to_vec(&body).expect("body"));
    safething::frame::finish(&mut forged, start).expect("length");
    forged[safething::frame::FLAGS_AT] |= safething::frame::FLAG_BATCHED;
    forged.extend_from_slice(&a[proof_at(a)..]);
    // A genuine frame with its neighbour's proof (moved to another position).
    let moved = [&a[..proof_at(a)], &b[proof_at(b)..]].concat();
    for bad in [forged, moved] {
        w.stranger
            .raw
            .transport
            .publish(&key, Bytes::from(bad))
            .await
            .expect("publish");
    }
    w.device
        .emit_event("e_all", json!("genuine"))
        .await
        .expect("emit");
    let next = within("the genuine event", events.next())
        .await
        .expect("item")
        .expect("verified");
    assert_eq!(next.data, json!("genuine"));
    // Alone in the signer's queue, it was signed alone: a plain signed frame, no proof.
    loop {
        let sample = within("the genuine frame", tap.recv())
            .await
            .expect("sample");
        if body_of(&sample.payload)["data"] == json!("genuine") {
            let frame = safething::frame::decode(&sample.payload).expect("a frame");
            assert!(frame.batch.is_none() && frame.signature.is_some());
            break;
        }
    }
}

/// Frames of a batch travel bundled (over Zenoh; `docs/protocol.md` §1.5), but a bundle is
/// only a container: a relay that bundles genuine frames onto another key, or slips a forged
/// or replayed frame in among genuine ones, gets nothing delivered — each frame is checked
/// alone against the key it came on — and bundle bytes sent as a plain sample are one
/// malformed frame.
pub async fn attack_rebundled_frames(net: &impl TestNet) {
    let w = world(net, "m-bundle").await;
    let key = format!("safething/v1/{}/events/e_all", w.id);
    let other = format!("safething/v1/{}/events/e_group", w.id);
    let tap_session = net.session().await;
    let mut tap = tap_session.transport.subscribe(&key).await.expect("tap");
    let mut events = w
        .owner
        .thing
        .subscribe("e_all", Filter::any())
        .await
        .expect("subscribe");
    let mut group = w
        .owner
        .thing
        .subscribe("e_group", Filter::any())
        .await
        .expect("subscribe");
    tokio::time::sleep(net.settle()).await;
    let n = 50;
    let frames = burst(&w, &mut events, &mut tap, n).await;
    let mut forged = frames[0].to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    // `publish_frames` bundles what it is given (over Zenoh): as a relay would.
    let attacks = [
        // Genuine frames, bundled onto another key.
        (other.clone(), vec![frames[1].clone(), frames[2].clone()]),
        // A forged frame and replayed genuine ones, on their own key.
        (
            key.clone(),
            vec![
                frames[3].clone(),
                Bytes::from(forged),
                frames[n - 1].clone(),
            ],
        ),
        // Bundle bytes published as a plain sample: one malformed frame.
        (
            key.clone(),
            vec![Bytes::from(
                safething::bundle::encode(&[&frames[4], &frames[5]]).expect("bundle"),
            )],
        ),
    ];
    for (on, payloads) in attacks {
        w.stranger
            .raw
            .transport
            .publish_frames(&on, payloads)
            .await
            .expect("publish");
    }
    w.device
        .emit_event("e_all", json!("genuine"))
        .await
        .expect("emit");
    let next = within("the genuine event", events.next())
        .await
        .expect("item")
        .expect("verified");
    assert_eq!(next.data, json!("genuine"));
    w.device
        .emit_event("e_group", json!("members only"))
        .await
        .expect("emit");
    let next = within("the genuine group event", group.next())
        .await
        .expect("item")
        .expect("verified");
    assert_eq!(next.data, json!("members only"));
}

/// Emits `n` events `burst-<i>` from the world's device, checks that the owner's stream gets
/// them all in order, and returns the frames `tap` saw on the event's key.
async fn burst(
    w: &World,
    events: &mut safething::client::EventStream,
    tap: &mut safething::transport::Subscriber,
    n: usize,
) -> Vec<Bytes> {
    for i in 0..n {
        w.device
            .emit_event("e_all", json!(format!("burst-{i}")))
            .await
            .expect("emit");
    }
    for i in 0..n {
        let got = within("a burst event", events.next())
            .await
            .expect("item")
            .expect("verified");
        assert_eq!(got.data, json!(format!("burst-{i}")));
    }
    let mut frames = Vec::new();
    for _ in 0..n {
        let sample = within("a tapped frame", tap.recv()).await.expect("sample");
        frames.push(sample.payload);
    }
    frames
}

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
use safething::envelope::{Sealer, Signing};
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
    let device = Device::builder(definition(), id)
        .transport_arc(device_session.transport.clone())
        .config(DeviceConfig {
            claim_ttl: Duration::from_secs(60),
            ..DeviceConfig::default()
        })
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
    let envelope: Value = serde_json::from_slice(&sample.payload).expect("json");
    envelope["body"].clone()
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
        p.sealer
            .seal(&key, &AttributeRequest::Read { history: None })
            .expect("seal"),
    )
    .await;
    assert_eq!(denied(&body), !ok, "{who} raw read {attr}: {body}");
    let key = format!("safething/v1/{}/actions/{action}", w.id);
    let request = ActionRequest::Invoke {
        request: format!("raw-{who}-{access}"),
        input: json!("in"),
        timeout_ms: None,
    };
    let body = raw(p, &key, p.sealer.seal(&key, &request).expect("seal")).await;
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
        let request = ActionRequest::Invoke {
            request: format!("forged-{access}"),
            input: json!("in"),
            timeout_ms: None,
        };
        let genuine = w.stranger.sealer.seal(&key, &request).expect("seal");
        let mut envelope: Value = serde_json::from_slice(&genuine).expect("json");
        envelope["from"] = json!(w.owner.identity.public_key().to_string());
        let body = raw(
            &w.stranger,
            &key,
            Bytes::from(serde_json::to_vec(&envelope).expect("json")),
        )
        .await;
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
    let bytes = w
        .owner
        .sealer
        .seal(
            &key,
            &AttributeRequest::Write {
                value: json!("first"),
            },
        )
        .expect("seal");
    let first = raw(&w.stranger, &key, bytes.clone()).await;
    assert!(
        first.get("error").is_none(),
        "the original is accepted: {first}"
    );
    let again = raw(&w.stranger, &key, bytes).await;
    assert_eq!(again["error"]["kind"], "bad_request", "{again}");
    assert!(
        again["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("replay")),
        "{again}"
    );
    // An action request replayed runs once: the device recognises the request id.
    let key = format!("safething/v1/{}/actions/x_owner", w.id);
    let request = ActionRequest::Invoke {
        request: "replayed-1".into(),
        input: json!("in"),
        timeout_ms: None,
    };
    let bytes = w.owner.sealer.seal(&key, &request).expect("seal");
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
    let request = ActionRequest::Invoke {
        request: "tampered-1".into(),
        input: json!("small"),
        timeout_ms: None,
    };
    let genuine = w.owner.sealer.seal(&key, &request).expect("seal");
    let text = String::from_utf8(genuine.to_vec())
        .expect("utf8")
        .replace("small", "LARGE");
    let body = raw(&w.owner, &key, Bytes::from(text)).await;
    assert_eq!(body["problem"]["kind"], "bad_request", "{body}");
    // A sealed payload changed on the way does not decrypt either.
    let key = format!("safething/v1/{}/attributes/a_owner", w.id);
    let genuine = w.owner.thing.description();
    assert!(genuine.keys.owner.is_some());
    let bytes = w
        .owner
        .sealer
        .seal(&key, &AttributeRequest::Write { value: json!("x") })
        .expect("seal");
    let mut envelope: Value = serde_json::from_slice(&bytes).expect("json");
    envelope["body"] = json!({"sealed": {"kid": "0000000000000000", "nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "ct": "AAAA"}});
    let body = raw(
        &w.owner,
        &key,
        Bytes::from(serde_json::to_vec(&envelope).expect("json")),
    )
    .await;
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
        .publish(&key, rogue.seal(&key, &update).expect("seal"))
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
    let rogue_device = Device::builder(definition(), w.id.clone())
        .transport_arc(session.transport.clone())
        .build()
        .expect("rogue");
    rogue_device.register().await.expect("register");
    tokio::time::sleep(net.settle()).await;
    for _ in 0..5 {
        match w.owner.client.describe(&w.id).await {
            Ok(d) => assert_eq!(d.thing_key, w.device.public_key(), "the pinned key wins"),
            Err(Error::Untrusted(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

/// A claim token past its lifetime.
pub async fn expired_claim_token(net: &impl TestNet) {
    let session = net.session().await;
    let device = Device::builder(definition(), "m-expired")
        .transport_arc(session.transport.clone())
        .config(DeviceConfig {
            claim_ttl: Duration::from_secs(1),
            ..DeviceConfig::default()
        })
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
    let device = Device::builder(definition(), "m-second")
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
    let device = Device::builder(definition(), "m-guess")
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
    let e = p.thing.claim(&token).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(Problem::ClaimRefused { reason }) if reason.contains("too many")),
        "{e}"
    );
    assert_eq!(device.parties().owner, None);
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
    let device = Device::builder(definition(), "m-claimtap")
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
    let envelope: Value = serde_json::from_slice(&sample.payload).expect("json");
    assert!(
        envelope["body"]["sealed"].is_object(),
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
    let device = Device::builder(definition(), "m-wear")
        .transport_arc(session.transport.clone())
        .owner(*owner.public_key())
        .config(DeviceConfig {
            key_wear_limit: 3,
            ..DeviceConfig::default()
        })
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

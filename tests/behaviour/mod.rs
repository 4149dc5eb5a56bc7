//! The behaviour suite: what every transport must support, written against the `Transport`
//! trait only. `behaviour_suite!(factory)` expands to one `#[tokio::test]` per behaviour;
//! `tests/behaviour_memory.rs` runs it in-process, the Zenoh tests over loopback.

#![allow(dead_code)]

#[path = "../support/test_thing.rs"]
mod test_thing;
#[cfg(feature = "zenoh")]
pub mod zenoh_net;

pub use test_thing::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use safething::client::{Client, InvokeOptions};
use safething::device::{Device, DeviceConfig, Handlers};
use safething::envelope::{Sealer, Signing};
use safething::transport::{Reply, Transport};
use safething::wire::{ActionRequest, ActionState, ActionUpdate, Lifecycle, Problem};
use safething::{Error, Filter, Identity};

/// One participant's connection, and how to kill it as a crash would.
pub struct Session {
    pub transport: Arc<dyn Transport>,
    pub kill: Box<dyn Fn() + Send + Sync>,
}

/// A network the suite can open sessions on.
pub trait TestNet: Send + Sync + 'static {
    /// A new participant, connected to every other one of this network.
    fn session(&self) -> BoxFuture<'_, Session>;
    /// How long to wait for something that should happen "at once" (propagation).
    fn settle(&self) -> Duration {
        Duration::from_millis(50)
    }
}

/// A device of [`definition`], its owner, and counters its handlers keep.
pub struct Fixture {
    pub device: Device,
    pub device_session: Session,
    pub owner: Identity,
    pub counter: Arc<AtomicUsize>,
    pub cancelled: Arc<AtomicUsize>,
}

pub async fn device_with(
    net: &impl TestNet,
    id: &str,
    config: DeviceConfig,
    identity: Option<Identity>,
) -> Fixture {
    let owner = Identity::generate().expect("identity");
    let device_session = net.session().await;
    let counter = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let mut builder = Device::builder(definition().checked().unwrap(), id)
        .transport_arc(device_session.transport.clone())
        .owner(*owner.public_key())
        .config(config);
    if let Some(identity) = identity {
        builder = builder.identity(identity);
    }
    let device = builder.build().expect("device builds");
    device.serve(handlers(counter.clone(), cancelled.clone()));
    device.register().await.expect("device registers");
    Fixture {
        device,
        device_session,
        owner,
        counter,
        cancelled,
    }
}

pub async fn published(net: &impl TestNet, id: &str) -> Fixture {
    let f = device_with(net, id, DeviceConfig::default(), None).await;
    f.device.publish().await.expect("publish");
    f
}

pub async fn client(net: &impl TestNet, identity: Option<Identity>) -> Client {
    let session = net.session().await;
    let mut builder = Client::builder().transport_arc(session.transport);
    if let Some(identity) = identity {
        builder = builder.identity(identity);
    }
    builder.build().await.expect("client builds")
}

// ---------------------------------------------------------------------------------------------
// The transport

/// Replies of a query, `Ok` payloads as text, until the stream ends.
async fn replies_to(session: &Session, key: &str, payload: &'static str) -> Vec<String> {
    let mut replies = session
        .transport
        .query(
            key,
            Some(bytes::Bytes::from_static(payload.as_bytes())),
            Duration::from_secs(2),
        )
        .await
        .expect("query");
    let mut texts = Vec::new();
    while let Some(reply) = within("the replies to end", replies.recv()).await {
        if let Reply::Ok(sample) = reply {
            texts.push(String::from_utf8_lossy(&sample.payload).into_owned());
        }
    }
    texts
}

pub async fn queries_are_served_by_a_handler(net: &impl TestNet) {
    let server = net.session().await;
    let asker = net.session().await;
    let handler: safething::transport::QueryHandler = Arc::new(|query| {
        match query.payload.as_deref() {
            Some(b"now") => {
                let _ = query.reply(&query.key_expr, bytes::Bytes::from_static(b"now"));
            }
            // The handler runs inside the runtime that declared it: it can spawn tasks there
            // and use timers. (The reply names the thread the task ran on.)
            Some(b"later") => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let thread = std::thread::current().name().unwrap_or("").to_owned();
                    let _ = query.reply(&query.key_expr, bytes::Bytes::from(thread));
                });
            }
            _ => panic!("a handler bug"),
        }
    });
    let guard = server
        .transport
        .serve_queries("svc/**", handler)
        .await
        .expect("serve");
    tokio::time::sleep(net.settle()).await;
    assert_eq!(replies_to(&asker, "svc/a", "now").await, ["now"]);
    let worker = tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
        .await
        .expect("a task")
        .expect("worker threads have names");
    assert_eq!(replies_to(&asker, "svc/a", "later").await, [worker]);
    // A panic loses its query only.
    assert!(replies_to(&asker, "svc/a", "boom").await.is_empty());
    assert_eq!(replies_to(&asker, "svc/b", "now").await, ["now"]);
    drop(guard);
    tokio::time::sleep(net.settle()).await;
    assert!(replies_to(&asker, "svc/a", "now").await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Discovery, descriptions, lifecycle, presence

pub async fn discovery_lists_things_with_state_and_presence(net: &impl TestNet) {
    let a = device_with(net, "disc-aaaa", DeviceConfig::default(), None).await;
    let b = published(net, "disc-bbbb").await;
    let c = client(net, None).await;
    let things = within("discovery", async {
        loop {
            let found = c.discover().await.expect("discover");
            if found.len() >= 2 {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let ids: Vec<&str> = things.iter().map(|t| t.id.as_str()).collect();
    assert!(
        ids.contains(&"disc-aaaa") && ids.contains(&"disc-bbbb"),
        "{ids:?}"
    );
    let ta = things
        .iter()
        .find(|t| t.id.as_str() == "disc-aaaa")
        .expect("a");
    assert_eq!(ta.state, Lifecycle::Registered);
    assert_eq!(ta.title, "Test thing");
    assert!(ta.online);
    assert_eq!(ta.key, a.device.public_key());
    let tb = things
        .iter()
        .find(|t| t.id.as_str() == "disc-bbbb")
        .expect("b");
    assert_eq!(tb.state, Lifecycle::Published);
    assert_eq!(tb.owner, Some(*b.owner.public_key()));
    wait_until("presence", || c.is_online("disc-aaaa")).await;
}

pub async fn description_carries_definition_and_key(net: &impl TestNet) {
    let f = published(net, "desc-thing").await;
    let c = client(net, None).await;
    let thing = connect(&c, "desc-thing").await;
    assert_eq!(thing.description().definition, definition());
    assert_eq!(*thing.key(), f.device.public_key());
    assert_eq!(thing.description().state, Lifecycle::Published);
    assert!(matches!(
        c.describe("nobody-here").await,
        Err(Error::UnknownThing(_))
    ));
    // A malformed id is no thing to look for: its own error, at once.
    assert!(matches!(
        c.describe("bad/id").await,
        Err(Error::InvalidThingId(_))
    ));
    let session = net.session().await;
    assert!(matches!(
        Device::builder(definition().checked().unwrap(), "bad/id")
            .transport_arc(session.transport.clone())
            .build(),
        Err(Error::InvalidThingId(_))
    ));
}

pub async fn lifecycle_is_enforced_and_changed_by_the_owner_only(net: &impl TestNet) {
    let f = device_with(net, "life-cycle", DeviceConfig::default(), None).await;
    let stranger = client(net, None).await;
    let owner = client(net, Some(f.owner.clone())).await;
    let thing = connect(&owner, "life-cycle").await;
    // Registered: requests are refused.
    let h = thing
        .invoke("echo", json!({"text": "hi"}))
        .await
        .expect("sent");
    assert!(
        matches!(
            h.output().await,
            Err(Error::NotPublished {
                state: Lifecycle::Registered,
                ..
            })
        ),
        "{:?}",
        h.state()
    );
    // A stranger cannot publish.
    let as_stranger = connect(&stranger, "life-cycle").await;
    assert!(matches!(
        as_stranger.publish().await,
        Err(Error::AccessDenied { .. })
    ));
    // The owner can, over the network.
    let d = thing.publish().await.expect("owner publishes");
    assert_eq!(d.state, Lifecycle::Published);
    assert_eq!(f.device.lifecycle(), Lifecycle::Published);
    let h = thing
        .invoke("echo", json!({"text": "hi"}))
        .await
        .expect("sent");
    assert_eq!(h.output().await.expect("done"), json!("hi"));
    let d = thing.disable().await.expect("owner disables");
    assert_eq!(d.state, Lifecycle::Disabled);
    let h = thing
        .invoke("echo", json!({"text": "hi"}))
        .await
        .expect("sent");
    assert!(matches!(
        h.output().await,
        Err(Error::NotPublished {
            state: Lifecycle::Disabled,
            ..
        })
    ));
    assert!(f.device.stats().access_denied >= 1);
}

pub async fn presence_follows_the_device(net: &impl TestNet) {
    let c = client(net, None).await;
    let f = published(net, "pres-ence").await;
    wait_until("online", || c.is_online("pres-ence")).await;
    f.device.shutdown().await;
    wait_until("offline after shutdown", || !c.is_online("pres-ence")).await;
    let g = published(net, "pres-ence2").await;
    wait_until("online", || c.is_online("pres-ence2")).await;
    (g.device_session.kill)();
    wait_until("offline after a crash", || !c.is_online("pres-ence2")).await;
}

// ---------------------------------------------------------------------------------------------
// Attributes

pub async fn attributes_are_validated_retained_and_read(net: &impl TestNet) {
    let f = published(net, "attr-read").await;
    let c = client(net, None).await;
    let thing = connect(&c, "attr-read").await;
    assert!(matches!(thing.read("level").await, Err(Error::NoValue(_))));
    assert!(
        f.device
            .set_attribute("level", json!(42.5))
            .await
            .expect("set")
    );
    let r = thing.read("level").await.expect("read");
    assert_eq!((r.value, r.seq), (json!(42.5), 1));
    // Unchanged values are not published again.
    assert!(
        !f.device
            .set_attribute("level", json!(42.5))
            .await
            .expect("set")
    );
    assert_eq!(thing.read("level").await.expect("read").seq, 1);
    f.device
        .force_attribute("level", json!(42.5))
        .await
        .expect("force");
    assert_eq!(thing.read("level").await.expect("read").seq, 2);
    // Invalid values never leave the device.
    let e = f
        .device
        .set_attribute("level", json!(101))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidPayload { source, .. } if source.violation.keyword() == "maximum"),
        "{e}"
    );
    assert!(matches!(
        f.device.set_attribute("nope", json!(1)).await,
        Err(Error::UnknownAffordance { .. })
    ));
    assert!(matches!(
        f.device.set_attribute("firmware", json!("x")).await,
        Err(Error::Rejected(_))
    ));
    // Static and default values are readable.
    assert_eq!(
        thing.read("firmware").await.expect("static").value,
        json!("v1.0.0")
    );
    assert_eq!(f.device.attribute("mode"), Some(json!("auto")));
    assert!(matches!(
        thing.read("nope").await,
        Err(Error::UnknownAffordance { .. })
    ));
}

pub async fn history_keeps_the_last_values(net: &impl TestNet) {
    let f = published(net, "attr-hist").await;
    let c = client(net, None).await;
    let thing = connect(&c, "attr-hist").await;
    for v in [1, 2, 3, 4, 5] {
        f.device
            .set_attribute("level", json!(v))
            .await
            .expect("set");
    }
    let h = thing.history("level").await.expect("history");
    let values: Vec<Value> = h.iter().map(|e| e.value.clone()).collect();
    assert_eq!(values, vec![json!(3), json!(4), json!(5)]);
    assert_eq!(h.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert!(thing.history("firmware").await.is_err());
}

pub async fn watch_starts_with_the_current_value_and_filters(net: &impl TestNet) {
    let f = published(net, "attr-watch").await;
    let c = client(net, None).await;
    let thing = connect(&c, "attr-watch").await;
    f.device
        .set_attribute("level", json!(50))
        .await
        .expect("set");
    let mut all = thing.watch("level", Filter::any()).await.expect("watch");
    let mut low = thing.watch("level", Filter::lt(5.0)).await.expect("watch");
    let first = within("first value", all.next())
        .await
        .expect("item")
        .expect("ok");
    assert_eq!((first.value, first.seq), (json!(50), 1));
    tokio::time::sleep(net.settle()).await;
    for v in [40, 4, 30, 3] {
        f.device
            .set_attribute("level", json!(v))
            .await
            .expect("set");
    }
    let seen: Vec<Value> = within(
        "four updates",
        all.by_ref()
            .take(4)
            .map(|u| u.expect("ok").value)
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(seen, vec![json!(40), json!(4), json!(30), json!(3)]);
    let a = within("low 1", low.next())
        .await
        .expect("item")
        .expect("ok");
    let b = within("low 2", low.next())
        .await
        .expect("item")
        .expect("ok");
    assert_eq!((a.value, b.value), (json!(4), json!(3)));
    // Sequence numbers show what the filter skipped.
    assert_eq!((a.seq, b.seq), (3, 5));
}

pub async fn watch_with_step_and_field_filters(net: &impl TestNet) {
    let f = published(net, "attr-step").await;
    let owner = client(net, Some(f.owner.clone())).await;
    let thing = connect(&owner, "attr-step").await;
    let mut step = thing
        .watch("level", Filter::step(10.0))
        .await
        .expect("watch");
    let mut field = thing
        .watch("reading", Filter::field("level").gt(90))
        .await
        .expect("watch");
    tokio::time::sleep(net.settle()).await;
    for v in [10, 15, 21, 25, 31] {
        f.device
            .set_attribute("level", json!(v))
            .await
            .expect("set");
    }
    let seen: Vec<Value> = within(
        "step",
        step.by_ref()
            .take(3)
            .map(|u| u.expect("ok").value)
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(seen, vec![json!(10), json!(21), json!(31)]);
    f.device
        .set_attribute("reading", json!({"level": 50}))
        .await
        .expect("set");
    f.device
        .set_attribute(
            "reading",
            json!({"level": 95, "at": "2026-01-01T00:00:00Z"}),
        )
        .await
        .expect("set");
    let u = within("field", field.next())
        .await
        .expect("item")
        .expect("ok");
    assert_eq!(u.value["level"], json!(95));
}

pub async fn filters_that_cannot_apply_fail_at_subscribe_time(net: &impl TestNet) {
    let _f = published(net, "attr-filt").await;
    let c = client(net, None).await;
    let thing = connect(&c, "attr-filt").await;
    assert!(matches!(
        thing.watch("firmware", Filter::step(1.0)).await,
        Err(Error::InvalidFilter(_))
    ));
    assert!(matches!(
        thing.watch("level", Filter::lt("five")).await,
        Err(Error::InvalidFilter(_))
    ));
    assert!(matches!(
        thing.subscribe("alarm", Filter::field("nope").eq(1)).await,
        Err(Error::InvalidFilter(_))
    ));
    assert!(matches!(
        thing.subscribe("ping", Filter::lt(1)).await,
        Err(Error::InvalidFilter(_))
    ));
    assert!(matches!(
        thing.watch("nope", Filter::any()).await,
        Err(Error::UnknownAffordance { .. })
    ));
}

pub async fn writes_go_through_the_handler(net: &impl TestNet) {
    let f = published(net, "attr-write").await;
    let owner = client(net, Some(f.owner.clone())).await;
    let thing = connect(&owner, "attr-write").await;
    let mut watch = thing.watch("mode", Filter::any()).await.expect("watch");
    assert_eq!(
        within("current", watch.next())
            .await
            .expect("item")
            .expect("ok")
            .value,
        json!("auto")
    );
    let r = thing
        .write("mode", json!("manual"))
        .await
        .expect("accepted");
    assert_eq!(r.value, json!("manual"));
    assert_eq!(f.device.attribute("mode"), Some(json!("manual")));
    assert_eq!(
        within("change", watch.next())
            .await
            .expect("item")
            .expect("ok")
            .value,
        json!("manual")
    );
    // The handler says no.
    let e = thing.write("mode", json!("auto")).await.unwrap_err();
    assert!(
        matches!(&e, Error::Rejected(Problem::Rejected { .. })),
        "{e}"
    );
    // Invalid values are refused before sending.
    assert!(matches!(
        thing.write("mode", json!("turbo")).await,
        Err(Error::InvalidPayload { .. })
    ));
    assert!(matches!(
        thing.write("level", json!(1)).await,
        Err(Error::Rejected(Problem::NotWritable { .. }))
    ));
    // Only the owner may write an owner attribute.
    let stranger = client(net, None).await;
    let as_stranger = connect(&stranger, "attr-write").await;
    assert!(matches!(
        as_stranger.write("mode", json!("manual")).await,
        Err(Error::AccessDenied { .. })
    ));
}

pub async fn access_types_guard_reads(net: &impl TestNet) {
    let f = published(net, "attr-acc1").await;
    f.device
        .set_attribute("reading", json!({"level": 1}))
        .await
        .expect("set");
    let member = Identity::generate().expect("id");
    let owner = client(net, Some(f.owner.clone())).await;
    let as_owner = connect(&owner, "attr-acc1").await;
    as_owner.grant(*member.public_key()).await.expect("grant");
    let member_client = client(net, Some(member)).await;
    let as_member = connect(&member_client, "attr-acc1").await;
    assert_eq!(
        as_member.read("reading").await.expect("member reads").value,
        json!({"level": 1})
    );
    let stranger = client(net, None).await;
    let as_stranger = connect(&stranger, "attr-acc1").await;
    assert!(matches!(
        as_stranger.read("reading").await,
        Err(Error::AccessDenied { .. })
    ));
    assert!(matches!(
        as_owner.read("secret").await,
        Err(Error::AccessDenied { .. })
    ));
    assert!(
        as_stranger
            .read("level")
            .await
            .is_err_and(|e| matches!(e, Error::NoValue(_)))
    );
}

// ---------------------------------------------------------------------------------------------
// Events

pub async fn events_are_validated_and_filtered(net: &impl TestNet) {
    let f = published(net, "evt-thing").await;
    let c = client(net, None).await;
    let thing = connect(&c, "evt-thing").await;
    let mut all = thing
        .subscribe("alarm", Filter::any())
        .await
        .expect("subscribe");
    let mut high = thing
        .subscribe("alarm", Filter::field("level").ge(90))
        .await
        .expect("subscribe");
    let mut ping = thing
        .subscribe("ping", Filter::any())
        .await
        .expect("subscribe");
    tokio::time::sleep(net.settle()).await;
    f.device
        .emit_event("alarm", json!({"level": 10}))
        .await
        .expect("emit");
    f.device
        .emit_event("alarm", json!({"level": 95}))
        .await
        .expect("emit");
    f.device
        .emit_event("ping", Value::Null)
        .await
        .expect("emit");
    let e1 = within("event", all.next())
        .await
        .expect("item")
        .expect("ok");
    let e2 = within("event", all.next())
        .await
        .expect("item")
        .expect("ok");
    assert_eq!(
        (e1.data["level"].clone(), e1.seq, e2.seq),
        (json!(10), 1, 2)
    );
    assert_eq!(e1.thing.as_str(), "evt-thing");
    assert_eq!(
        within("high", high.next())
            .await
            .expect("item")
            .expect("ok")
            .data["level"],
        json!(95)
    );
    assert_eq!(
        within("ping", ping.next())
            .await
            .expect("item")
            .expect("ok")
            .data,
        Value::Null
    );
    assert!(matches!(
        f.device.emit_event("alarm", json!({"level": "high"})).await,
        Err(Error::InvalidPayload { .. })
    ));
    assert!(matches!(
        f.device.emit_event("ping", json!(1)).await,
        Err(Error::InvalidPayload { .. })
    ));
    assert!(matches!(
        f.device.emit_event("nope", Value::Null).await,
        Err(Error::UnknownAffordance { .. })
    ));
    // Streams end when their client shuts down, even with a first value still to deliver.
    f.device
        .set_attribute("level", json!(50))
        .await
        .expect("set");
    let mut level = thing.watch("level", Filter::any()).await.expect("watch");
    c.shutdown();
    assert!(within("end of events", all.next()).await.is_none());
    assert!(within("end of the watch", level.next()).await.is_none());
}

// ---------------------------------------------------------------------------------------------
// Actions

pub async fn actions_move_through_their_states(net: &impl TestNet) {
    let _f = published(net, "act-states").await;
    let c = client(net, None).await;
    let thing = connect(&c, "act-states").await;
    let h = thing
        .invoke("echo", json!({"text": "hello"}))
        .await
        .expect("invoke");
    let states: Vec<String> = within(
        "states",
        h.states().map(|s| s.name().to_owned()).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(
        states.last().map(String::as_str),
        Some("done"),
        "{states:?}"
    );
    assert_eq!(h.output().await.expect("output"), json!("hello"));
    // A request nobody awaits is followed from the first look at its state on, taken from
    // any thread.
    let unawaited = thing
        .invoke("echo", json!({"text": "looked at"}))
        .await
        .expect("invoke");
    let first = std::thread::scope(|s| s.spawn(|| unawaited.state()).join());
    assert!(first.is_ok(), "state() works outside the runtime too");
    wait_until("done through state() alone", || {
        unawaited.state()
            == ActionState::Done {
                output: json!("looked at"),
            }
    })
    .await;
    // Every state is in order and from the set of the lifecycle.
    let order = ["requested", "accepted", "running", "done"];
    let positions: Vec<usize> = states
        .iter()
        .map(|s| order.iter().position(|o| o == s).expect("known"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{states:?}");
    let h = thing.invoke("fail", Value::Null).await.expect("invoke");
    match h.output().await {
        Err(Error::ActionFailed(e)) => assert_eq!(e.code, "valve_stuck"),
        other => panic!("expected a failure, got {other:?}"),
    }
    for crash in ["crash", "crash_on_call"] {
        let h = thing.invoke(crash, Value::Null).await.expect("invoke");
        assert!(
            matches!(h.output().await, Err(Error::ActionFailed(e)) if e.code == "handler_panicked"),
            "{crash}"
        );
    }
    // The device keeps serving after a handler panic.
    let h = thing
        .invoke("echo", json!({"text": "still here"}))
        .await
        .expect("invoke");
    assert_eq!(h.output().await.expect("output"), json!("still here"));
}

pub async fn a_handler_that_blocks_does_not_stop_the_device(net: &impl TestNet) {
    let f = published(net, "act-blocking").await;
    // Blocks its thread before its first await, as a careless handler would: longer than a
    // device lets a first step hold the thread a transport calls it on.
    f.device
        .serve(Handlers::new().action("echo", |input: Value, _ctx| {
            std::thread::sleep(Duration::from_millis(30));
            async move { Ok(input["text"].clone()) }
        }));
    let c = client(net, None).await;
    let thing = connect(&c, "act-blocking").await;
    for round in 0..3 {
        let handles = futures::future::join_all(
            (0..3).map(|i| thing.invoke("echo", json!({"text": format!("{round}-{i}")}))),
        )
        .await;
        for (i, h) in handles.into_iter().enumerate() {
            let output = within("a blocking handler's output", h.expect("invoke").output()).await;
            assert_eq!(output.expect("output"), json!(format!("{round}-{i}")));
        }
        // Everything else is still answered meanwhile.
        assert_eq!(
            thing.read("firmware").await.expect("a read").value,
            json!("v1.0.0")
        );
    }
}

pub async fn invalid_inputs_are_rejected(net: &impl TestNet) {
    let f = published(net, "act-input").await;
    let c = client(net, None).await;
    let thing = connect(&c, "act-input").await;
    // Checked by the client before sending ...
    let e = thing
        .invoke("echo", json!({"text": "x".repeat(30)}))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidPayload { source, .. } if source.violation.keyword() == "maxLength"),
        "{e}"
    );
    assert!(matches!(
        thing.invoke("echo", json!({})).await,
        Err(Error::InvalidPayload { .. })
    ));
    assert!(matches!(
        thing.invoke("nope", Value::Null).await,
        Err(Error::UnknownAffordance { .. })
    ));
    // ... and by the device, for senders that skip the client's checks.
    let session = net.session().await;
    let sealer = Sealer::new(Identity::generate().expect("id"), Signing::Signed);
    let key = format!("safething/v1/{}/actions/echo", f.device.id());
    let update = raw_request(
        &session,
        &sealer,
        &key,
        device_boot(&f.device),
        json!({"text": 5}),
    )
    .await;
    match update.state {
        ActionState::Rejected {
            problem: Problem::InvalidPayload { path, keyword, .. },
        } => {
            assert_eq!((path.as_str(), keyword.as_str()), ("/text", "type"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(f.device.stats().invalid_payload >= 1);
}

/// The boot epoch a device names in its description.
pub fn device_boot(device: &Device) -> [u8; 16] {
    safething::wire::parse_boot(&device.description().boot).expect("a boot epoch")
}

/// An invoke frame from `sealer` for a device of boot epoch `boot`; its request id is the
/// frame's id (`id`, or a fresh one).
pub fn invoke_bytes(
    sealer: &Sealer,
    key: &str,
    boot: [u8; 16],
    input: Value,
    id: Option<safething::envelope::MessageId>,
) -> (bytes::Bytes, String) {
    let id = id.unwrap_or_else(|| sealer.next_id());
    let body = ActionRequest::Invoke {
        request: id.to_hex(),
        input,
        timeout_ms: None,
    };
    let outgoing = safething::envelope::Outgoing {
        id: Some(id),
        ..safething::envelope::Outgoing::new(
            safething::envelope::Kind::Request,
            safething::envelope::Binding::Epoch(boot),
        )
    };
    let bytes = sealer
        .seal_message(key, &outgoing, safething::envelope::now_ms(), &body)
        .expect("seal");
    (bytes, id.to_hex())
}

/// Sends an invoke with a raw transport session and returns the device's first reply.
pub async fn raw_request(
    session: &Session,
    sealer: &Sealer,
    key: &str,
    boot: [u8; 16],
    input: Value,
) -> ActionUpdate {
    let (bytes, _) = invoke_bytes(sealer, key, boot, input, None);
    raw_query(session, key, bytes).await
}

/// A frame's JSON body.
pub fn frame_body(payload: &[u8]) -> serde_json::Value {
    let frame = safething::frame::decode(payload).expect("a frame");
    serde_json::from_slice(frame.body).expect("a JSON body")
}

pub async fn raw_query(session: &Session, key: &str, bytes: bytes::Bytes) -> ActionUpdate {
    let mut replies = session
        .transport
        .query(key, Some(bytes), PATIENCE)
        .await
        .expect("query");
    let reply = within("a reply", replies.recv()).await.expect("a reply");
    let Reply::Ok(sample) = reply else {
        panic!("error reply")
    };
    serde_json::from_value(frame_body(&sample.payload)).expect("an action update")
}

pub async fn timeouts_are_enforced(net: &impl TestNet) {
    let f = published(net, "act-timeout").await;
    let c = client(net, None).await;
    let thing = connect(&c, "act-timeout").await;
    // The definition says 400ms.
    let h = thing.invoke("slow", json!(5_000)).await.expect("invoke");
    assert!(matches!(
        within("timeout", h.output()).await,
        Err(Error::TimedOut { timeout_ms: 400 })
    ));
    // A per-call override.
    let h = thing
        .invoke_with(
            "slow",
            json!(5_000),
            InvokeOptions::default().with_timeout(Duration::from_millis(150)),
        )
        .await
        .expect("invoke");
    assert!(matches!(
        within("timeout", h.output()).await,
        Err(Error::TimedOut { timeout_ms: 150 })
    ));
    let h = thing.invoke("slow", json!(10)).await.expect("invoke");
    assert_eq!(
        within("quick", h.output()).await.expect("done"),
        Value::Null
    );
    // The handler saw the deadline pass as a cancellation.
    wait_until("handler cancelled", || {
        f.cancelled.load(Ordering::SeqCst) >= 2
    })
    .await;
}

pub async fn cancellation_reaches_the_handler(net: &impl TestNet) {
    let f = published(net, "act-cancel").await;
    let c = client(net, None).await;
    let thing = connect(&c, "act-cancel").await;
    let h = thing
        .invoke_with(
            "slow",
            json!(5_000),
            InvokeOptions::default().with_timeout(Duration::from_secs(5)),
        )
        .await
        .expect("invoke");
    within("running", async {
        while h.state() != ActionState::Running {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    h.cancel().await.expect("cancel");
    assert!(matches!(
        within("cancelled", h.output()).await,
        Err(Error::Cancelled)
    ));
    assert_eq!(h.state(), ActionState::Cancelled);
    wait_until("handler saw it", || f.cancelled.load(Ordering::SeqCst) == 1).await;
    // Cancelling a finished request changes nothing.
    let done = thing
        .invoke("echo", json!({"text": "x"}))
        .await
        .expect("invoke");
    done.output().await.expect("done");
    done.cancel().await.expect("cancel acknowledged");
    assert!(matches!(done.state(), ActionState::Done { .. }));
}

pub async fn the_queue_is_bounded(net: &impl TestNet) {
    let config = DeviceConfig::default()
        .with_concurrency(1)
        .with_queue_capacity(1);
    let f = device_with(net, "act-queue", config, None).await;
    f.device.publish().await.expect("publish");
    let c = client(net, None).await;
    let thing = connect(&c, "act-queue").await;
    let opts = InvokeOptions::default().with_timeout(Duration::from_secs(5));
    let running = thing
        .invoke_with("slow", json!(800), opts.clone())
        .await
        .expect("1");
    within("running", async {
        while running.state() != ActionState::Running {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let queued = thing
        .invoke_with("slow", json!(10), opts.clone())
        .await
        .expect("2");
    within("queued", async {
        while queued.state() != ActionState::Accepted {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let refused = thing.invoke_with("slow", json!(10), opts).await.expect("3");
    assert!(matches!(
        within("busy", refused.output()).await,
        Err(Error::Rejected(Problem::Busy))
    ));
    within("first", running.output()).await.expect("first done");
    within("second", queued.output())
        .await
        .expect("second done");
    assert_eq!(f.device.stats().busy, 1);
}

pub async fn retried_requests_run_once(net: &impl TestNet) {
    let f = published(net, "act-dedup").await;
    let session = net.session().await;
    let sealer = Sealer::new(Identity::generate().expect("id"), Signing::Signed);
    let key = format!("safething/v1/{}/actions/count", f.device.id());
    let id = sealer.next_id();
    let boot = device_boot(&f.device);
    let (bytes, _) = invoke_bytes(&sealer, &key, boot, Value::Null, Some(id));
    // The same bytes twice, the second while the first runs: both see the one result.
    let first = session
        .transport
        .query(&key, Some(bytes.clone()), PATIENCE)
        .await
        .expect("q1");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = session
        .transport
        .query(&key, Some(bytes.clone()), PATIENCE)
        .await
        .expect("q2");
    let (a, b) = tokio::join!(last_update(first), last_update(second));
    assert_eq!(a.state, ActionState::Done { output: json!(1) });
    assert_eq!(b.state, ActionState::Done { output: json!(1) });
    // And once more after it finished.
    let third = last_update(
        session
            .transport
            .query(&key, Some(bytes), PATIENCE)
            .await
            .expect("q3"),
    )
    .await;
    assert_eq!(third.state, ActionState::Done { output: json!(1) });
    assert_eq!(f.counter.load(Ordering::SeqCst), 1);
    // The same request id from someone else is not theirs to follow.
    let other = Sealer::new(Identity::generate().expect("id"), Signing::Signed);
    let (stolen, _) = invoke_bytes(&other, &key, boot, Value::Null, Some(id));
    let stolen = raw_query(&session, &key, stolen).await;
    assert!(
        matches!(stolen.state, ActionState::Rejected { .. }),
        "{stolen:?}"
    );
}

async fn last_update(mut replies: safething::transport::Replies) -> ActionUpdate {
    let mut last = None;
    within("replies", async {
        while let Some(reply) = replies.recv().await {
            if let Reply::Ok(sample) = reply
                && let Ok(u) = serde_json::from_value::<ActionUpdate>(frame_body(&sample.payload))
            {
                last = Some(u);
            }
        }
    })
    .await;
    last.expect("at least one update")
}

pub async fn owner_actions_need_the_owner(net: &impl TestNet) {
    let f = published(net, "act-owner").await;
    let stranger = client(net, None).await;
    let thing = connect(&stranger, "act-owner").await;
    // Refused by the client before anything is sent ...
    assert!(matches!(
        thing.invoke("reboot", Value::Null).await,
        Err(Error::AccessDenied { .. })
    ));
    // ... and by the device for anyone who sends anyway.
    let session = net.session().await;
    let sealer = Sealer::new(Identity::generate().expect("id"), Signing::Signed);
    let key = format!("safething/v1/{}/actions/reboot", f.device.id());
    let u = raw_request(&session, &sealer, &key, device_boot(&f.device), Value::Null).await;
    assert!(
        matches!(
            u.state,
            ActionState::Rejected {
                problem: Problem::AccessDenied { .. }
            }
        ),
        "{u:?}"
    );
    let owner = client(net, Some(f.owner.clone())).await;
    let as_owner = connect(&owner, "act-owner").await;
    as_owner
        .invoke("reboot", Value::Null)
        .await
        .expect("sent")
        .output()
        .await
        .expect("owner may");
}

// ---------------------------------------------------------------------------------------------
// Faults

pub async fn offline_device_fails_requests_in_flight(net: &impl TestNet) {
    let f = published(net, "act-offline").await;
    let c = client(net, None).await;
    let thing = connect(&c, "act-offline").await;
    wait_until("online", || c.is_online("act-offline")).await;
    let h = thing
        .invoke_with(
            "slow",
            json!(5_000),
            InvokeOptions::default().with_timeout(Duration::from_secs(8)),
        )
        .await
        .expect("invoke");
    within("running", async {
        while h.state() != ActionState::Running {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    (f.device_session.kill)();
    assert!(matches!(
        within("offline", h.output()).await,
        Err(Error::Offline(_))
    ));
    // Requests to an offline thing fail at once too.
    let h = thing.invoke("echo", json!({"text": "x"})).await;
    let result = match h {
        Ok(h) => within("offline", h.output()).await,
        Err(e) => Err(e),
    };
    assert!(
        matches!(result, Err(Error::Offline(_) | Error::Transport(_))),
        "{result:?}"
    );
}

pub async fn watches_resume_when_the_device_returns(net: &impl TestNet) {
    let identity = Identity::generate().expect("id");
    let f = device_with(
        net,
        "resume-thing",
        DeviceConfig::default(),
        Some(identity.clone()),
    )
    .await;
    f.device.publish().await.expect("publish");
    let c = client(net, None).await;
    let thing = connect(&c, "resume-thing").await;
    let mut watch = thing.watch("level", Filter::any()).await.expect("watch");
    let mut events = thing
        .subscribe("ping", Filter::any())
        .await
        .expect("subscribe");
    tokio::time::sleep(net.settle()).await;
    f.device
        .set_attribute("level", json!(1))
        .await
        .expect("set");
    assert_eq!(
        within("before", watch.next())
            .await
            .expect("item")
            .expect("ok")
            .value,
        json!(1)
    );
    (f.device_session.kill)();
    wait_until("offline", || !c.is_online("resume-thing")).await;
    // The same thing (same key) comes back; its sequence numbers start again.
    let g = device_with(net, "resume-thing", DeviceConfig::default(), Some(identity)).await;
    g.device.publish().await.expect("publish");
    wait_until("online again", || c.is_online("resume-thing")).await;
    tokio::time::sleep(net.settle()).await;
    g.device
        .set_attribute("level", json!(2))
        .await
        .expect("set");
    g.device
        .emit_event("ping", Value::Null)
        .await
        .expect("emit");
    let u = within("after", watch.next())
        .await
        .expect("item")
        .expect("ok");
    assert_eq!((u.value, u.seq), (json!(2), 1));
    assert_eq!(
        within("event after", events.next())
            .await
            .expect("item")
            .expect("ok")
            .seq,
        1
    );
}

pub async fn garbage_never_disturbs_the_device(net: &impl TestNet) {
    let f = published(net, "garbage-in").await;
    let session = net.session().await;
    let id = f.device.id().to_string();
    let keys = [
        format!("safething/v1/{id}/actions/echo"),
        format!("safething/v1/{id}/actions/nope"),
        format!("safething/v1/{id}/attributes/level"),
        format!("safething/v1/{id}/admin"),
        format!("safething/v1/{id}/requests/xyz"),
        format!("safething/v1/{id}/description"),
    ];
    let payloads: Vec<Option<bytes::Bytes>> = vec![
        None,
        Some(bytes::Bytes::from_static(b"")),
        Some(bytes::Bytes::from_static(b"{")),
        Some(bytes::Bytes::from_static(b"\xff\xfe\x00")),
        Some(bytes::Bytes::from_static(
            b"{\"v\":1,\"from\":\"stAAAA\",\"id\":\"1\",\"ts\":0,\"body\":{}}",
        )),
        Some(bytes::Bytes::from(vec![b'['; 100_000])),
    ];
    for key in &keys {
        for payload in &payloads {
            let mut replies = session
                .transport
                .query(key, payload.clone(), Duration::from_secs(2))
                .await
                .expect("query");
            while within("garbage replies", replies.recv()).await.is_some() {}
        }
        session
            .transport
            .publish(key, bytes::Bytes::from_static(b"junk"))
            .await
            .expect("publish");
    }
    // A forged signature: a valid envelope whose signature belongs to other bytes.
    let sealer = Sealer::new(Identity::generate().expect("id"), Signing::Signed);
    let key = &keys[0];
    let (good, _) = invoke_bytes(
        &sealer,
        key,
        device_boot(&f.device),
        json!({"text": "a"}),
        None,
    );
    let mut forged = good.to_vec();
    let at = forged
        .windows(10)
        .position(|w| w == b"\"text\":\"a\"")
        .expect("the input is in the frame");
    forged[at + 8] = b'b';
    let u = raw_query(&session, key, bytes::Bytes::from(forged)).await;
    assert!(
        matches!(
            u.state,
            ActionState::Rejected {
                problem: Problem::BadRequest { .. }
            }
        ),
        "{u:?}"
    );
    assert!(f.device.stats().unverified >= 1);
    // Still serving.
    let c = client(net, None).await;
    let thing = connect(&c, &id).await;
    let h = thing
        .invoke("echo", json!({"text": "ok"}))
        .await
        .expect("invoke");
    assert_eq!(
        within("output", h.output()).await.expect("done"),
        json!("ok")
    );
}

/// Expands to one test per behaviour, given an expression that makes a [`TestNet`].
#[macro_export]
macro_rules! behaviour_suite {
    ($net:expr) => {
        $crate::behaviour_suite!(@tests $net;
            queries_are_served_by_a_handler,
            discovery_lists_things_with_state_and_presence,
            description_carries_definition_and_key,
            lifecycle_is_enforced_and_changed_by_the_owner_only,
            presence_follows_the_device,
            attributes_are_validated_retained_and_read,
            history_keeps_the_last_values,
            watch_starts_with_the_current_value_and_filters,
            watch_with_step_and_field_filters,
            filters_that_cannot_apply_fail_at_subscribe_time,
            writes_go_through_the_handler,
            access_types_guard_reads,
            events_are_validated_and_filtered,
            actions_move_through_their_states,
            a_handler_that_blocks_does_not_stop_the_device,
            invalid_inputs_are_rejected,
            timeouts_are_enforced,
            cancellation_reaches_the_handler,
            the_queue_is_bounded,
            retried_requests_run_once,
            owner_actions_need_the_owner,
            offline_device_fails_requests_in_flight,
            watches_resume_when_the_device_returns,
            garbage_never_disturbs_the_device,
        );
    };
    (@tests $net:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let net = $net;
                behaviour::$name(&net).await;
            }
        )*
    };
}

/// The in-process network.
pub struct Memory(pub safething::transport::memory::MemoryNetwork);

impl Memory {
    pub fn new() -> Memory {
        Memory(safething::transport::memory::MemoryNetwork::new())
    }
}

impl TestNet for Memory {
    fn session(&self) -> BoxFuture<'_, Session> {
        Box::pin(async move {
            let transport = self.0.session();
            let killer = transport.clone();
            Session {
                transport: Arc::new(transport),
                kill: Box::new(move || killer.close()),
            }
        })
    }
}

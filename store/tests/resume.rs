//! Resumed watches on an in-process network: a watch that was interrupted goes on from its
//! last position with what a store kept, without gaps when the store has the frames, and
//! reports a gap when it does not. Each defence is named after its attack.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{Value, json};

use safething::client::{Position, Update, Watch};
use safething::device::Device;
use safething::ir::Definition;
use safething::stored::ALL_STORED;
use safething::transport::memory::MemoryNetwork;
use safething::transport::{Query, Transport};
use safething::{Error, Filter, Identity};
use safething_store::{Retention, Store};

mod common;

use common::{client, store, until};

const LEVEL: &str = "safething/v1/tank-0001/attributes/level";
const ALARM: &str = "safething/v1/tank-0001/events/alarm";

fn definition() -> Definition {
    serde_json::from_value(json!({
        "thing": {"name": "Tank", "version": "1.0.0"},
        "attributes": {
            "level": {"type": "integer", "access": "all"},
            "other": {"type": "integer", "access": "all"}
        },
        "events": {"alarm": {"data": {"type": "integer"}, "access": "all"}}
    }))
    .expect("definition")
}

/// The device `tank-0001` with its own key `me` (the same key across restarts).
async fn device(net: &MemoryNetwork, me: &Identity, owner: &Identity, member: &Identity) -> Device {
    let device = Device::builder(definition().checked().expect("valid"), "tank-0001")
        .transport(net.session())
        .identity(me.clone())
        .owner(*owner.public_key())
        .member(*member.public_key())
        .build()
        .expect("device");
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    device
}

/// Waits until the store holds the frame of `seq` (in any run) as the newest of `key`.
async fn stored_up_to(store: &Store, key: &str, seq: u64) {
    until(&format!("{key} #{seq} in the store"), || {
        store
            .db()
            .latest(key)
            .ok()
            .flatten()
            .is_some_and(|k| k.seq == Some(seq))
    })
    .await;
}

async fn next<S: futures::Stream<Item = safething::Result<T>> + Unpin, T>(
    s: &mut S,
) -> safething::Result<T> {
    tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("an item in time")
        .expect("the stream goes on")
}

async fn value(w: &mut Watch) -> Update {
    next(w).await.expect("a value")
}

async fn set(device: &Device, values: impl IntoIterator<Item = i64>) {
    for v in values {
        device.set_attribute("level", json!(v)).await.expect("set");
    }
}

fn values(updates: &[Update]) -> Vec<(Value, u64)> {
    updates.iter().map(|u| (u.value.clone(), u.seq)).collect()
}

/// Starts a watch, takes values 1..=3 live, and drops it: the position of 3.
async fn watched_to_three(thing: &safething::client::RemoteThing, device: &Device) -> Position {
    let mut w = thing.watch("level", Filter::any()).await.expect("watch");
    set(device, 1..=3).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(value(&mut w).await);
    }
    assert_eq!(values(&got), [(json!(1), 1), (json!(2), 2), (json!(3), 3)]);
    let at = w.position().expect("a position");
    assert_eq!(at.seq, 3);
    at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_watch_catches_up_from_the_store() {
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    let store = store(&net, &dir, Retention::default()).await;
    let [me, owner, member] = [(); 3].map(|()| Identity::generate().expect("id"));
    let device = device(&net, &me, &owner, &member).await;
    let c = client(&net, member.clone()).await;
    let thing = c.thing("tank-0001").await.expect("thing");
    let at = watched_to_three(&thing, &device).await;
    // The watch is gone; the device goes on.
    set(&device, 4..=6).await;
    stored_up_to(&store, LEVEL, 6).await;
    // A position survives being kept by the application.
    let kept = serde_json::to_string(&at).expect("serialize");
    let at: Position = serde_json::from_str(&kept).expect("deserialize");

    let mut w = thing
        .watch_from("level", Filter::any(), at)
        .await
        .expect("resume");
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(value(&mut w).await);
    }
    set(&device, [7, 8]).await;
    got.push(value(&mut w).await);
    got.push(value(&mut w).await);
    assert_eq!(
        values(&got),
        [4, 5, 6, 7, 8].map(|v| (json!(v), v as u64)),
        "4..6 from the store, 7 and 8 live, none twice"
    );
    assert_eq!(w.position().map(|p| (p.epoch, p.seq)), Some((at.epoch, 8)));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_watch_reports_what_the_store_lost_as_a_gap() {
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    // The store keeps the newest frame of each stream only: 4 and 5 are gone.
    let retention = Retention {
        max_count: 1,
        ..Retention::default()
    };
    let store = store(&net, &dir, retention).await;
    let [me, owner, member] = [(); 3].map(|()| Identity::generate().expect("id"));
    let device = device(&net, &me, &owner, &member).await;
    let c = client(&net, member.clone()).await;
    let thing = c.thing("tank-0001").await.expect("thing");
    let at = watched_to_three(&thing, &device).await;
    set(&device, 4..=6).await;
    stored_up_to(&store, LEVEL, 6).await;

    let mut w = thing
        .watch_from("level", Filter::any(), at)
        .await
        .expect("resume");
    match next(&mut w).await {
        Err(Error::Gap { epoch, from, to }) => {
            assert_eq!((epoch, from, to), (at.epoch, 4, 5));
        }
        other => panic!("expected a gap of 4..=5, got {other:?}"),
    }
    assert_eq!(values(&[value(&mut w).await]), [(json!(6), 6)]);
    set(&device, [7]).await;
    assert_eq!(values(&[value(&mut w).await]), [(json!(7), 7)]);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_watch_follows_a_device_restart_without_a_false_gap() {
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    let store = store(&net, &dir, Retention::default()).await;
    let [me, owner, member] = [(); 3].map(|()| Identity::generate().expect("id"));
    let device1 = device(&net, &me, &owner, &member).await;
    let c = client(&net, member.clone()).await;
    let thing = c.thing("tank-0001").await.expect("thing");
    let at = watched_to_three(&thing, &device1).await;
    device1.shutdown().await;
    drop(device1);

    // The device restarts: a new run, whose numbers start again at 1.
    let device2 = device(&net, &me, &owner, &member).await;
    set(&device2, [10, 20]).await;
    stored_up_to(&store, LEVEL, 2).await;

    let mut w = thing
        .watch_from("level", Filter::any(), at)
        .await
        .expect("resume");
    let first = value(&mut w).await;
    let second = value(&mut w).await;
    set(&device2, [30]).await;
    let third = value(&mut w).await;
    assert_eq!(
        values(&[first, second, third]),
        [(json!(10), 1), (json!(20), 2), (json!(30), 3)]
    );
    let now = w.position().expect("a position");
    assert_ne!(now.epoch, at.epoch, "the new run");
    store.close().await;
}

/// A store that keeps `max_count` frames per stream, a device, and a member's watch of its
/// level resumed from the third change (`at`); `_keep` keeps the rest alive.
struct Resumed {
    store: Store,
    device: Device,
    w: Watch,
    at: Position,
    _keep: (
        tempfile::TempDir,
        MemoryNetwork,
        safething::client::Client,
        safething::client::RemoteThing,
    ),
}

async fn resumed(max_count: u64) -> Resumed {
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    let retention = Retention {
        max_count,
        ..Retention::default()
    };
    let store = store(&net, &dir, retention).await;
    let [me, owner, member] = [(); 3].map(|()| Identity::generate().expect("id"));
    let device = device(&net, &me, &owner, &member).await;
    let c = client(&net, member.clone()).await;
    let thing = c.thing("tank-0001").await.expect("thing");
    let at = watched_to_three(&thing, &device).await;
    let w = thing
        .watch_from("level", Filter::any(), at)
        .await
        .expect("resume");
    Resumed {
        store,
        device,
        w,
        at,
        _keep: (dir, net, c, thing),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_lost_on_the_way_are_filled_from_the_store() {
    let Resumed {
        store,
        device,
        mut w,
        _keep,
        ..
    } = resumed(10_000).await;
    // The watch does not read while 2,500 changes go by: its subscription buffers 1,024 and
    // loses the rest (as a slow reader loses them on the network). The store keeps them all.
    const LAST: i64 = 2_503;
    for chunk in (4..LAST).collect::<Vec<_>>().chunks(250) {
        set(&device, chunk.iter().copied()).await;
        stored_up_to(&store, LEVEL, *chunk.last().expect("a chunk") as u64).await;
    }
    let mut seqs = Vec::new();
    loop {
        let u = value(&mut w).await;
        assert_eq!(u.value, json!(u.seq), "each value once, in order");
        seqs.push(u.seq);
        if seqs.len() == 1_024 {
            // The buffer is drained: the next change arrives live, after the lost ones.
            set(&device, [LAST]).await;
        }
        if u.seq == LAST as u64 {
            break;
        }
    }
    assert_eq!(
        seqs,
        (4..=LAST as u64).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_lost_on_the_way_and_not_stored_are_a_gap() {
    // The store keeps the newest frame only.
    let Resumed {
        store,
        device,
        mut w,
        at,
        _keep,
    } = resumed(1).await;
    // 4..=1027 fill the subscription's buffer; 1028..=1100 are lost on the way.
    const LAST: i64 = 1_101;
    set(&device, 4..LAST).await;
    stored_up_to(&store, LEVEL, LAST as u64 - 1).await;
    for seq in 4..=1_027 {
        assert_eq!(values(&[value(&mut w).await]), [(json!(seq), seq as u64)]);
    }
    set(&device, [LAST]).await;
    match next(&mut w).await {
        Err(Error::Gap { epoch, from, to }) => {
            assert_eq!((epoch, from, to), (at.epoch, 1_028, LAST as u64 - 1));
        }
        other => panic!("expected a gap of 1028..=1100, got {other:?}"),
    }
    assert_eq!(values(&[value(&mut w).await]), [(json!(LAST), LAST as u64)]);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_event_stream_catches_up_from_the_store() {
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    let store = store(&net, &dir, Retention::default()).await;
    let [me, owner, member] = [(); 3].map(|()| Identity::generate().expect("id"));
    let device = device(&net, &me, &owner, &member).await;
    let c = client(&net, member.clone()).await;
    let thing = c.thing("tank-0001").await.expect("thing");
    let mut events = thing
        .subscribe("alarm", Filter::any())
        .await
        .expect("subscribe");
    assert!(events.position().is_none());
    device.emit_event("alarm", json!(1)).await.expect("emit");
    let one = next(&mut events).await.expect("an event");
    assert_eq!((one.data, one.seq), (json!(1), 1));
    let at = events.position().expect("a position");
    drop(events);
    for v in 2..=3 {
        device.emit_event("alarm", json!(v)).await.expect("emit");
    }
    stored_up_to(&store, ALARM, 3).await;

    let mut events = thing
        .subscribe_from("alarm", Filter::any(), at)
        .await
        .expect("resume");
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(next(&mut events).await.expect("an event"));
    }
    device.emit_event("alarm", json!(4)).await.expect("emit");
    got.push(next(&mut events).await.expect("an event"));
    let got: Vec<_> = got.into_iter().map(|e| (e.data, e.seq)).collect();
    assert_eq!(got, [2, 3, 4].map(|v| (json!(v), v as u64)));
    store.close().await;
}

/// A rogue store: answers every store query with whatever `frames` holds.
async fn rogue_store(
    net: &MemoryNetwork,
    frames: Arc<Mutex<Vec<Bytes>>>,
) -> (
    safething::transport::memory::MemoryTransport,
    safething::transport::Guard,
) {
    let transport = net.session();
    let guard = transport
        .serve_queries(
            ALL_STORED,
            Arc::new(move |query: Query| {
                let frames = frames.lock().expect("lock").clone();
                for f in frames {
                    let _ = query.reply(&query.key_expr, f);
                }
            }),
        )
        .await
        .expect("serve");
    (transport, guard)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_store_replays_old_frames_on_resume() {
    let net = MemoryNetwork::new();
    let [me, owner, member] = [(); 3].map(|()| Identity::generate().expect("id"));
    // Genuine frames, caught on the wire.
    let tap = net.session();
    let mut wire = tap.subscribe("safething/v1/**").await.expect("tap");
    let device = device(&net, &me, &owner, &member).await;
    let c = client(&net, member.clone()).await;
    let thing = c.thing("tank-0001").await.expect("thing");
    let at = watched_to_three(&thing, &device).await;
    device.set_attribute("other", json!(99)).await.expect("set");
    let mut old = Vec::new();
    let mut other = None;
    while old.len() < 3 || other.is_none() {
        let s = tokio::time::timeout(Duration::from_secs(5), wire.recv())
            .await
            .expect("a publication")
            .expect("open");
        if &*s.key == LEVEL {
            old.push(s.payload);
        } else if s.key.ends_with("/attributes/other") {
            other = Some(s.payload);
        }
    }
    // A forged frame: the genuine frame of 3 with a body byte changed (its value, say).
    let mut forged = old[2].to_vec();
    let at_byte = forged.len() - 70;
    forged[at_byte] ^= 0x01;
    let mut lies = old.clone();
    lies.extend(other);
    lies.push(Bytes::from(forged));
    let _rogue = rogue_store(&net, Arc::new(Mutex::new(lies))).await;

    let mut w = thing
        .watch_from("level", Filter::any(), at)
        .await
        .expect("resume");
    set(&device, [4]).await;
    // Nothing of the store's is delivered, no false gap: the next item is the live 4.
    assert_eq!(values(&[value(&mut w).await]), [(json!(4), 4)]);
    // The device moves on while no watch runs; the rogue store has nothing valid after 4:
    // the device's current value (6) shows 5 missing, as a gap, and the stream goes on.
    drop(w);
    set(&device, [5, 6]).await;
    let at4 = Position { seq: 4, ..at };
    let mut w = thing
        .watch_from("level", Filter::any(), at4)
        .await
        .expect("resume");
    match next(&mut w).await {
        Err(Error::Gap { from, to, .. }) => assert_eq!((from, to), (5, 5)),
        other => panic!("expected a gap, got {other:?}"),
    }
    assert_eq!(values(&[value(&mut w).await]), [(json!(6), 6)]);
    set(&device, [7]).await;
    assert_eq!(values(&[value(&mut w).await]), [(json!(7), 7)]);
}

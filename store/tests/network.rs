//! The store on an in-process network: it keeps what a device publishes, and a client falls
//! back to it, verified, when the device is gone. Each defence is named after its attack.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use safething::client::Source;
use safething::device::Device;
use safething::ir::Definition;
use safething::stored::ALL_STORED;
use safething::transport::memory::MemoryNetwork;
use safething::transport::{Query, Transport};
use safething::{Error, Identity};
use safething_store::{Db, Retention, Store};

mod common;
mod support;

use common::{client, store, until};

fn definition() -> Definition {
    serde_json::from_value(json!({
        "thing": {"name": "Tank", "version": "1.0.0"},
        "attributes": {
            "level": {"type": "integer", "history": 10, "access": "all"},
            "other": {"type": "integer", "access": "all"},
            "secret": {"type": "integer", "access": "group"}
        },
        "events": {"alarm": {"data": {"type": "integer"}, "access": "all"}}
    }))
    .expect("definition")
}

async fn device(net: &MemoryNetwork, id: &str, owner: &Identity, member: &Identity) -> Device {
    let device = Device::builder(definition().checked().expect("valid"), id)
        .transport(net.session())
        .owner(*owner.public_key())
        .member(*member.public_key())
        .build()
        .expect("device");
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    device
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_device_is_read_from_the_store_verified() {
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    let store = store(&net, &dir, Retention::default()).await;
    let (owner, member, stranger) = (
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
    );
    let device = device(&net, "tank-0001", &owner, &member).await;
    // The store learns the thing from its description, then keeps what it publishes.
    until("the description", || store.stats().stored() >= 1).await;
    for v in 1..=5 {
        device.set_attribute("level", json!(v)).await.expect("set");
    }
    device
        .set_attribute("secret", json!(42))
        .await
        .expect("set");
    until("six publications", || store.stats().stored() >= 7).await;

    let member_client = client(&net, member).await;
    let stranger_client = client(&net, stranger).await;
    let as_member = member_client.thing("tank-0001").await.expect("thing");
    let as_stranger = stranger_client.thing("tank-0001").await.expect("thing");
    let live = as_member.read_with_source("level").await.expect("read");
    assert_eq!(
        (live.value.clone(), live.source),
        (json!(5), Source::Device)
    );

    device.shutdown().await;
    drop(device);
    let stored = as_member.read_with_source("level").await.expect("read");
    assert_eq!(stored.value, json!(5));
    assert_eq!(stored.seq, live.seq);
    assert_eq!(stored.source, Source::Store);
    let history = as_member
        .history_with_source("level")
        .await
        .expect("history");
    assert!(history.iter().all(|h| h.source == Source::Store));
    let values: Vec<_> = history.iter().map(|h| h.value.clone()).collect();
    assert_eq!(values, [1, 2, 3, 4, 5].map(|v| json!(v)));

    // Sealed for the group: the member opens it, the stranger cannot, the store never could.
    let secret = as_member
        .read_with_source("secret")
        .await
        .expect("member reads");
    assert_eq!((secret.value, secret.source), (json!(42), Source::Store));
    assert!(as_stranger.read_with_source("secret").await.is_err());

    // A client that pinned the key earlier connects with the device gone: the description
    // comes from the store, checked against the pin.
    let again = member_client
        .thing_or_stored("tank-0001")
        .await
        .expect("stored description");
    assert_eq!(
        again.read_with_source("level").await.expect("read").source,
        Source::Store
    );
    assert_eq!(
        store
            .stats()
            .dropped_sender
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    store.close().await;
}

/// A rogue store: answers every store query with whatever `frames` holds.
async fn rogue_store(net: &MemoryNetwork, frames: Arc<Mutex<Vec<Bytes>>>) -> impl Drop {
    rogue_store_on(net, ALL_STORED, frames).await
}

/// A rogue store answering the store queries on `keys` with whatever `frames` holds.
async fn rogue_store_on(
    net: &MemoryNetwork,
    keys: &str,
    frames: Arc<Mutex<Vec<Bytes>>>,
) -> impl Drop + use<> {
    let transport = net.session();
    let guard = transport
        .serve_queries(
            keys,
            Arc::new(move |query: Query| {
                let frames = frames.lock().expect("lock").clone();
                for f in frames {
                    let _ = query.reply(&query.key_expr, f);
                }
            }),
        )
        .await
        .expect("serve");
    struct Keep(
        #[allow(dead_code)] safething::transport::memory::MemoryTransport,
        #[allow(dead_code)] safething::transport::Guard,
    );
    impl Drop for Keep {
        fn drop(&mut self) {}
    }
    Keep(transport, guard)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_forged_frame_in_store() {
    let net = MemoryNetwork::new();
    let (owner, member) = (
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
    );
    // Genuine frames, caught on the wire: this thing's and another thing's.
    let tap = net.session();
    let mut wire = tap.subscribe("safething/v1/**").await.expect("tap");
    let device = device(&net, "tank-0001", &owner, &member).await;
    let imposter = self::device(&net, "tank-0002", &owner, &member).await;
    device.set_attribute("level", json!(7)).await.expect("set");
    device.set_attribute("other", json!(99)).await.expect("set");
    imposter
        .set_attribute("level", json!(66))
        .await
        .expect("set");
    let mut caught = std::collections::HashMap::new();
    while caught.len() < 3 {
        let s = tokio::time::timeout(Duration::from_secs(5), wire.recv())
            .await
            .expect("a publication")
            .expect("open");
        if s.key.contains("/attributes/") {
            caught.insert(s.key.to_string(), s.payload);
        }
    }
    let genuine = caught["safething/v1/tank-0001/attributes/level"].clone();
    let frames = Arc::new(Mutex::new(vec![genuine.clone()]));
    let _rogue = rogue_store(&net, frames.clone()).await;
    let c = client(&net, member).await;
    let thing = c.thing("tank-0001").await.expect("thing");
    device.shutdown().await;
    drop(device);

    // Control: the genuine frame is accepted.
    let r = thing.read_with_source("level").await.expect("genuine");
    assert_eq!((r.value, r.source), (json!(7), Source::Store));

    let mut flipped = genuine.to_vec();
    let at = flipped.len() - 70; // in the body, before the signature
    flipped[at] ^= 0x01;
    let cases: [(&str, Bytes); 3] = [
        ("a flipped body byte", Bytes::from(flipped)),
        (
            "a frame of another key",
            caught["safething/v1/tank-0001/attributes/other"].clone(),
        ),
        (
            "a frame of another thing",
            caught["safething/v1/tank-0002/attributes/level"].clone(),
        ),
    ];
    for (what, forged) in cases {
        *frames.lock().expect("lock") = vec![forged];
        match thing.read_with_source("level").await {
            Err(Error::Untrusted(_) | Error::Protocol(_) | Error::InvalidPayload { .. }) => {}
            other => panic!("{what}: expected a rejection, got {other:?}"),
        }
    }
    // A forged frame among genuine ones is dropped, never passes as a value; the genuine
    // one still reads.
    *frames.lock().expect("lock") = vec![
        genuine.clone(),
        caught["safething/v1/tank-0001/attributes/other"].clone(),
    ];
    let history = thing.history_with_source("level").await.expect("genuine");
    assert!(history.iter().all(|h| h.source == Source::Store));
    let values: Vec<_> = history.iter().map(|h| h.value.clone()).collect();
    assert_eq!(values, [json!(7)]);
    imposter.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_altered_batch_path_in_store() {
    let net = MemoryNetwork::new();
    let (owner, member) = (
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
    );
    let tap = net.session();
    let mut wire = tap
        .subscribe("safething/v1/tank-0001/attributes/level")
        .await
        .expect("tap");
    let device = device(&net, "tank-0001", &owner, &member).await;
    // A burst: the device signs queued publications with one Merkle root (protocol §2.1).
    let mut batched: Option<Bytes> = None;
    for round in 0..50 {
        for v in 0..200 {
            device
                .set_attribute("level", json!(round * 1000 + v))
                .await
                .expect("set");
        }
        while let Ok(Some(s)) = tokio::time::timeout(Duration::from_millis(20), wire.recv()).await {
            if s.payload.get(4).is_some_and(|flags| flags & 0x04 != 0) {
                batched = Some(s.payload);
            }
        }
        if batched.is_some() {
            break;
        }
    }
    let batched = batched.expect("a batched frame");
    let frames = Arc::new(Mutex::new(vec![batched.clone()]));
    let _rogue = rogue_store(&net, frames.clone()).await;
    let c = client(&net, member).await;
    let thing = c.thing("tank-0001").await.expect("thing");
    device.shutdown().await;
    drop(device);
    // Control: a batched frame is verifiable on its own.
    let r = thing
        .read_with_source("level")
        .await
        .expect("genuine batched");
    assert_eq!(r.source, Source::Store);
    // One bit of the audit path (just before the root signature) changed.
    let mut altered = batched.to_vec();
    let at = altered.len() - 64 - 1;
    altered[at] ^= 0x80;
    *frames.lock().expect("lock") = vec![Bytes::from(altered)];
    assert!(matches!(
        thing.read_with_source("level").await,
        Err(Error::Untrusted(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_store_with_a_clear_error() {
    let net = MemoryNetwork::new();
    let disk = support::SmallDisk::new(3 << 20);
    let database = redb::Database::builder()
        .create_with_backend(disk.clone())
        .expect("database");
    let db = Db::from_database(database, Retention::default()).expect("db");
    let store = Store::start(Arc::new(net.session()), db)
        .await
        .expect("store");
    let (owner, member) = (
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
    );
    let device = device(&net, "tank-0001", &owner, &member).await;
    until("the description", || store.stats().stored() >= 1).await;
    // The disk fills up soon after the start.
    let used = redb::StorageBackend::len(&disk).expect("len");
    disk.limit
        .store(used + (256 << 10), std::sync::atomic::Ordering::SeqCst);
    let failure = async {
        for v in 0.. {
            device.set_attribute("level", json!(v)).await.expect("set");
            if v % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    let error = tokio::select! {
        () = failure => unreachable!(),
        e = store.failure() => e,
        () = tokio::time::sleep(Duration::from_secs(10)) => panic!("the disk never filled: {:?}, {} bytes", store.stats(), redb::StorageBackend::len(&disk).unwrap_or(0)),
    };
    assert!(error.contains("No space left on device"), "{error}");
    assert_eq!(
        store
            .stats()
            .failed_commits
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    store.close().await;
}

const LEVEL: &str = "safething/v1/tank-0001/attributes/level";

/// The values a store kept of `tank-0001`'s level, by their frames (byte for byte).
fn kept_frames(store: &Store) -> Vec<Vec<u8>> {
    store
        .db()
        .history(LEVEL, 10_000, None)
        .expect("history")
        .into_iter()
        .map(|k| k.frame)
        .collect()
}

/// The next publication on the tap, on `key`.
async fn next_on(wire: &mut safething::transport::Subscriber, key: &str) -> Bytes {
    loop {
        let s = tokio::time::timeout(Duration::from_secs(5), wire.recv())
            .await
            .expect("a publication")
            .expect("open");
        if &*s.key == key {
            return s.payload;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_lying_store_does_not_spoil_an_honest_one() {
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    let store = store(&net, &dir, Retention::default()).await;
    let (owner, member) = (
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
    );
    let tap = net.session();
    let mut wire = tap
        .subscribe("safething/v1/tank-0001/attributes/*")
        .await
        .expect("tap");
    let device = device(&net, "tank-0001", &owner, &member).await;
    until("the description", || store.stats().stored() >= 1).await;
    device.set_attribute("level", json!(1)).await.expect("set");
    let stale = next_on(&mut wire, LEVEL).await;
    device.set_attribute("level", json!(2)).await.expect("set");
    next_on(&mut wire, LEVEL).await;
    device.set_attribute("level", json!(3)).await.expect("set");
    let newest = next_on(&mut wire, LEVEL).await;
    device.set_attribute("other", json!(99)).await.expect("set");
    let other = next_on(&mut wire, "safething/v1/tank-0001/attributes/other").await;
    until("four publications", || store.stats().stored() >= 5).await;
    let mut flipped = newest.to_vec();
    let at = flipped.len() - 70;
    flipped[at] ^= 0x01;
    // The liar answers every store query with an older genuine value and forgeries.
    let lies = Arc::new(Mutex::new(vec![stale, Bytes::from(flipped), other]));
    let _rogue = rogue_store(&net, lies).await;

    let c = client(&net, member).await;
    let thing = c.thing("tank-0001").await.expect("thing");
    device.shutdown().await;
    drop(device);
    let r = thing.read_with_source("level").await.expect("read");
    assert_eq!((r.value, r.source), (json!(3), Source::Store));
    let history = thing.history_with_source("level").await.expect("history");
    assert!(history.iter().all(|h| h.source == Source::Store));
    let values: Vec<_> = history.iter().map(|h| h.value.clone()).collect();
    assert_eq!(values, [1, 2, 3].map(|v| json!(v)));
    // The description too: the liar's frames on its key are dropped, the honest copy read.
    let again = c.thing_or_stored("tank-0001").await.expect("stored thing");
    assert_eq!(again.id().as_str(), "tank-0001");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_was_down_catches_up_from_another_store() {
    let (dir_a, dir_b, dir_c) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let open = |dir: &tempfile::TempDir| {
        Db::open(&dir.path().join("s.redb"), Retention::default()).expect("db")
    };
    let net = MemoryNetwork::new();
    let a = Store::start(Arc::new(net.session()), open(&dir_a))
        .await
        .expect("store a");
    let b = Store::start(Arc::new(net.session()), open(&dir_b))
        .await
        .expect("store b");
    let (owner, member) = (
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
    );
    let device = device(&net, "tank-0001", &owner, &member).await;
    device.set_attribute("level", json!(1)).await.expect("set");
    until("both keep the first value", || {
        kept_frames(&a).len() == 1 && kept_frames(&b).len() == 1
    })
    .await;
    b.close().await;
    for v in 2..=5 {
        device.set_attribute("level", json!(v)).await.expect("set");
    }
    until("a keeps five", || kept_frames(&a).len() == 5).await;

    // B comes back: it asks the other stores for the streams it knows.
    let b = Store::start(Arc::new(net.session()), open(&dir_b))
        .await
        .expect("store b again");
    until("b caught up", || kept_frames(&b).len() == 5).await;
    assert_eq!(kept_frames(&b), kept_frames(&a));
    assert!(b.stats().caught_up() >= 4, "{:?}", b.stats());

    // C starts empty: it learns the thing from the first frame it meets (it asks for the
    // description), then the thing's history from the others.
    let c = Store::start(Arc::new(net.session()), open(&dir_c))
        .await
        .expect("store c");
    device.set_attribute("level", json!(6)).await.expect("set");
    until("c learned the history", || kept_frames(&c).len() == 6).await;
    until("b keeps six", || kept_frames(&b).len() == 6).await;
    assert_eq!(kept_frames(&c), kept_frames(&a));

    // With the device and A gone, B and C answer on their own.
    let client = client(&net, member).await;
    let thing = client.thing("tank-0001").await.expect("thing");
    a.close().await;
    c.close().await;
    device.shutdown().await;
    drop(device);
    let history = thing.history_with_source("level").await.expect("history");
    assert!(history.iter().all(|h| h.source == Source::Store));
    let values: Vec<_> = history.iter().map(|h| h.value.clone()).collect();
    assert_eq!(values, (1..=6).map(|v| json!(v)).collect::<Vec<_>>());
    let r = thing.read_with_source("level").await.expect("read");
    assert_eq!((r.value, r.source), (json!(6), Source::Store));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_store_feeds_forged_frames_to_a_replica() {
    use safething::envelope::{Binding, Kind, Sealer, Signing};
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    let open = || Db::open(&dir.path().join("s.redb"), Retention::default()).expect("db");
    let (owner, member) = (
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
    );
    let lies = Arc::new(Mutex::new(Vec::new()));
    let _rogue = rogue_store_on(
        &net,
        "safething/store/v1/tank-0001/attributes/level",
        lies.clone(),
    )
    .await;
    let tap = net.session();
    let mut wire = tap.subscribe("safething/v1/**").await.expect("tap");
    let b = Store::start(Arc::new(net.session()), open())
        .await
        .expect("store");
    let device = device(&net, "tank-0001", &owner, &member).await;
    let imposter = self::device(&net, "tank-0002", &owner, &member).await;
    device.set_attribute("level", json!(7)).await.expect("set");
    let seven = next_on(&mut wire, LEVEL).await;
    until("b keeps 7", || kept_frames(&b) == [seven.to_vec()]).await;
    b.close().await;

    // While B is away: a genuine value it misses, and material for forgeries.
    device.set_attribute("level", json!(8)).await.expect("set");
    let eight = next_on(&mut wire, LEVEL).await;
    device.set_attribute("other", json!(99)).await.expect("set");
    let other = next_on(&mut wire, "safething/v1/tank-0001/attributes/other").await;
    imposter
        .set_attribute("level", json!(66))
        .await
        .expect("set");
    let imposters = next_on(&mut wire, "safething/v1/tank-0002/attributes/level").await;
    let mut flipped = eight.to_vec();
    let at = flipped.len() - 70;
    flipped[at] ^= 0x01;
    let stranger = Sealer::new(Identity::generate().expect("id"), Signing::Signed)
        .seal(
            LEVEL,
            Kind::Publication,
            Binding::None,
            &json!({"value": 1000, "seq": 1000, "epoch": 1}),
        )
        .expect("seal");
    // The fake store answers B's catch-up with forgeries, an old genuine frame again, and —
    // last, so that B has checked everything before it — the genuine frame B missed.
    *lies.lock().expect("lock") = vec![
        Bytes::from(flipped),
        other,
        imposters,
        stranger,
        seven.clone(),
        eight.clone(),
    ];
    let b = Store::start(Arc::new(net.session()), open())
        .await
        .expect("store again");
    until("b caught up the genuine frame", || {
        kept_frames(&b).contains(&eight.to_vec())
    })
    .await;
    assert_eq!(kept_frames(&b), [seven.to_vec(), eight.to_vec()]);
    assert!(b.stats().dropped() >= 4, "{:?}", b.stats());
    assert!(
        b.stats()
            .duplicates
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    b.close().await;
    device.shutdown().await;
    imposter.shutdown().await;
}

/// A flood of store queries, each asking for a long history: at most `READERS` are answered
/// at a time, the rest are refused at once as busy, every query ends, and the store answers
/// normally afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_store_query_flood_holds_few_readers() {
    use safething::transport::Reply;
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    let store = store(&net, &dir, Retention::default()).await;
    let (owner, member) = (
        Identity::generate().expect("id"),
        Identity::generate().expect("id"),
    );
    let device = device(&net, "tank-0003", &owner, &member).await;
    until("the description", || store.stats().stored() >= 1).await;
    for v in 1..=300 {
        device.set_attribute("level", json!(v)).await.expect("set");
    }
    until("300 publications", || store.stats().stored() >= 301).await;
    let key = safething::stored::store_key("safething/v1/tank-0003/attributes/level")
        .expect("a store key");
    let history = Bytes::from(
        serde_json::to_vec(&safething::stored::StoreQuery::History { limit: 1000 }).expect("json"),
    );
    let attacker = net.session();
    let flood = (0..400).map(|_| {
        let (attacker, key, history) = (&attacker, &key, history.clone());
        async move {
            let mut replies = attacker
                .query(key, Some(history), Duration::from_secs(10))
                .await
                .expect("query");
            let (mut frames, mut refused) = (0, false);
            while let Some(reply) = replies.recv().await {
                match reply {
                    Reply::Ok(_) => frames += 1,
                    Reply::Err(why) => refused = why.starts_with(b"the store is busy"),
                }
            }
            (frames, refused)
        }
    });
    let answers = futures::future::join_all(flood).await;
    let busy = store
        .stats()
        .busy
        .load(std::sync::atomic::Ordering::Relaxed);
    let refused = answers.iter().filter(|(_, r)| *r).count() as u64;
    assert!(busy > 0, "400 queries at once, none refused");
    assert_eq!(busy, refused);
    assert!(answers.iter().all(|(n, r)| *r || *n == 300));
    // Afterwards, a query is answered in full.
    let mut replies = attacker
        .query(&key, Some(history), Duration::from_secs(10))
        .await
        .expect("query");
    let mut frames = 0;
    while let Some(reply) = replies.recv().await {
        assert!(matches!(reply, Reply::Ok(_)), "{reply:?}");
        frames += 1;
    }
    assert_eq!(frames, 300);
    store.close().await;
}

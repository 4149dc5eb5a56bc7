//! A generated (typed) client falls back to the store like the untyped one: it connects to a
//! thing whose device is gone through the store's signed copy of its description, and its
//! reads and histories say where they came from.

use safething::transport::memory::MemoryNetwork;
use safething::typed::Source;
use safething::{Identity, SafeThing, ThingClient};
use safething_store::{Retention, Store};

mod common;

use common::{client, store, until};

/// A tank with a level that keeps a history.
#[derive(SafeThing)]
#[safething(version = "1.0.0")]
pub struct Tank {
    #[safething(history = 10, access = "all")]
    level: i64,
}

/// A network with a store and a published tank that has set `values` (1, 2, ...), all kept by
/// the store; `owner` owns the tank.
struct World {
    net: MemoryNetwork,
    device: TankDevice,
    _store: Store,
    _dir: tempfile::TempDir,
}

async fn world(id: &str, owner: &Identity, values: i64) -> World {
    let dir = tempfile::tempdir().expect("dir");
    let net = MemoryNetwork::new();
    let store = store(&net, &dir, Retention::default()).await;
    let device = TankDevice::builder(id)
        .transport(net.session())
        .owner(*owner.public_key())
        .build()
        .expect("device");
    device.register().await.expect("register");
    device.publish().await.expect("publish");
    until("the description", || store.stats().stored() >= 1).await;
    for v in 1..=values {
        device.set_level(v).await.expect("set");
    }
    let kept = u64::try_from(values).expect("values") + 1;
    until("the values", || store.stats().stored() >= kept).await;
    World {
        net,
        device,
        _store: store,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_client_reads_a_gone_device_from_the_store() {
    let owner = Identity::generate().expect("id");
    let w = world("tank-0001", &owner, 3).await;
    let client = client(&w.net, owner).await;
    let live = TankClient::connect(&client, "tank-0001")
        .await
        .expect("connect");
    let now = live.level().await.expect("read");
    assert_eq!((now.value, now.source), (3, Source::Device));

    w.device.shutdown().await;
    // The handle made while the device was online, and a new one made from the store.
    let again = TankClient::connect(&client, "tank-0001")
        .await
        .expect("connect through the store");
    for tank in [&live, &again] {
        let stored = tank.level().await.expect("read from the store");
        assert_eq!(
            (stored.value, stored.seq, stored.source),
            (3, now.seq, Source::Store)
        );
        assert!(stored.age_ms() < 60_000);
        let history = tank.level_history().await.expect("history from the store");
        let values: Vec<_> = history.iter().map(|h| (h.value, h.source)).collect();
        assert_eq!(values, [1, 2, 3].map(|v| (v, Source::Store)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_client_cannot_connect_to_an_unpinned_thing_through_a_store() {
    // A store cannot introduce a thing: with no key pinned, connecting fails as before.
    let w = world("tank-0002", &Identity::generate().expect("id"), 0).await;
    w.device.shutdown().await;
    let client = client(&w.net, Identity::generate().expect("id")).await;
    assert!(TankClient::connect(&client, "tank-0002").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_longer_than_the_device_keeps_comes_from_the_stores() {
    // The device keeps 10 values; the store keeps them all. A history asked of the online
    // device is the device's 10, preceded by the 5 older ones the store kept.
    let owner = Identity::generate().expect("id");
    let w = world("tank-0003", &owner, 15).await;
    let client = client(&w.net, owner).await;
    let tank = TankClient::connect(&client, "tank-0003")
        .await
        .expect("connect");
    let history = tank.level_history().await.expect("history");
    let got: Vec<_> = history.iter().map(|h| (h.value, h.source)).collect();
    let want: Vec<_> = (1..=15)
        .map(|v| {
            (
                v,
                if v <= 5 {
                    Source::Store
                } else {
                    Source::Device
                },
            )
        })
        .collect();
    assert_eq!(got, want);
    // Untyped, the same, and each entry's age is told.
    let untyped = ThingClient::thing(&tank)
        .history_with_source("level")
        .await
        .expect("history");
    assert_eq!(untyped.len(), 15);
    assert!(untyped.iter().all(|r| r.age_ms < 60_000));
}

//! What is particular to the Zenoh transport: opening sessions, configuration errors, the
//! runtime it needs, and the primitives between two sessions on loopback.

#![cfg(feature = "zenoh")]

use std::time::Duration;

use bytes::Bytes;
use safething::transport::zenoh::{Mode, ZenohConfig, ZenohTransport};
use safething::transport::{Liveliness, Reply, Subscriber, Transport, TransportError};

fn sock(dir: &tempfile::TempDir, name: &str) -> String {
    format!(
        "unixsock-stream/{}",
        dir.path().join(format!("{name}.sock")).display()
    )
}

async fn pair(dir: &tempfile::TempDir) -> (ZenohTransport, ZenohTransport) {
    let a = ZenohTransport::open(&ZenohConfig::new().listen([sock(dir, "a")]))
        .await
        .expect("a opens");
    // `b` listens nowhere: with both listening, `a` may also connect to `b`, and a sample
    // sent while Zenoh drops one of the two links is lost.
    let b = ZenohTransport::open(
        &ZenohConfig::new()
            .listen(Vec::<String>::new())
            .connect([sock(dir, "a")]),
    )
    .await
    .expect("b opens");
    assert!(b.wait_for_neighbours(Duration::from_secs(5)).await);
    (a, b)
}

/// Publishes probes on `key` until `sub` receives one: subscriptions take a moment to reach
/// the other session, and a put made before that goes nowhere.
async fn until_routed(from: &ZenohTransport, sub: &mut Subscriber, key: &str) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            from.publish(key, Bytes::from_static(b"probe"))
                .await
                .expect("publish");
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), sub.recv()).await {
                return;
            }
        }
    })
    .await
    .expect("the subscription reaches the other session");
}

/// The next sample that is not one of [`until_routed`]'s probes (a late one may still come).
/// Generous: on a loaded machine a sample can wait seconds behind another test's backlog.
async fn next_but_probes(sub: &mut Subscriber) -> safething::transport::Sample {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match sub.recv().await {
                Some(s) if &s.payload[..] == b"probe" => continue,
                Some(s) => return s,
                None => panic!("the subscription ended"),
            }
        }
    })
    .await
    .expect("a sample in time")
}

#[tokio::test]
async fn a_current_thread_runtime_is_refused_with_a_clear_error() {
    let e = ZenohTransport::open(&ZenohConfig::new()).await.unwrap_err();
    assert!(
        matches!(&e, TransportError::Unavailable(m) if m.contains("multi-thread runtime")),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configurations_fail_at_open_with_their_reason() {
    let e = ZenohTransport::open(&ZenohConfig::new().connect(["tcp/localhost"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, TransportError::Config(m) if m.contains("needs a port")),
        "{e}"
    );
    let e = ZenohTransport::open(&ZenohConfig::from_file("/nonexistent/zenoh.json5"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, TransportError::Config(m) if m.contains("/nonexistent/zenoh.json5")),
        "{e}"
    );
    // Two listeners on one endpoint: the second cannot open.
    let dir = tempfile::tempdir().expect("dir");
    let _first = ZenohTransport::open(&ZenohConfig::new().listen([sock(&dir, "x")]))
        .await
        .expect("first");
    let e = ZenohTransport::open(&ZenohConfig::new().listen([sock(&dir, "x")]))
        .await
        .unwrap_err();
    assert!(matches!(&e, TransportError::Unavailable(_)), "{e}");
    // A client with no router to reach.
    let e = ZenohTransport::open(
        &ZenohConfig::new()
            .mode(Mode::Client)
            .connect([sock(&dir, "nobody")]),
    )
    .await
    .unwrap_err();
    assert!(matches!(&e, TransportError::Unavailable(_)), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primitives_work_between_two_sessions() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = pair(&dir).await;
    // Publications, to a wildcard subscription on the other session.
    let mut sub = a.subscribe("demo/*/x").await.expect("subscribe");
    let mut own = b.subscribe("demo/**").await.expect("subscribe");
    until_routed(&b, &mut sub, "demo/0/x").await;
    b.publish("demo/1/x", Bytes::from_static(b"one"))
        .await
        .expect("publish");
    let s = next_but_probes(&mut sub).await;
    assert_eq!((&*s.key, &s.payload[..]), ("demo/1/x", &b"one"[..]));
    // The publisher's own session receives it too.
    let s = next_but_probes(&mut own).await;
    assert_eq!(&s.payload[..], b"one");
    assert!(matches!(
        b.publish("demo/*/x", Bytes::new()).await,
        Err(TransportError::InvalidKey(_))
    ));
    // A key published again and again gets a declared publisher on the way: nothing is lost.
    for i in 0..6u8 {
        b.publish("demo/2/x", Bytes::from(vec![i]))
            .await
            .expect("publish");
    }
    for i in 0..6u8 {
        let s = next_but_probes(&mut sub).await;
        assert_eq!((&*s.key, &s.payload[..]), ("demo/2/x", &[i][..]));
    }
    // Queries: several replies from each of two queryables, none merged.
    for (session, name) in [(&a, "a"), (&b, "b")] {
        let mut q = session.queryable("svc/**").await.expect("queryable");
        let name = name.to_owned();
        tokio::spawn(async move {
            while let Some(query) = q.recv().await {
                let payload = query.payload.clone().unwrap_or_default();
                let key = format!("svc/{name}");
                for _ in 0..3 {
                    let _ = query.reply(&key, payload.clone());
                }
                let _ = query.reply_err(Bytes::from_static(b"and an error"));
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let mut replies = b
        .query(
            "svc/*",
            Some(Bytes::from_static(b"ping")),
            Duration::from_secs(5),
        )
        .await
        .expect("query");
    let (mut ok, mut err) = (Vec::new(), 0);
    while let Some(reply) = replies.recv().await {
        match reply {
            Reply::Ok(s) => {
                assert_eq!(&s.payload[..], b"ping");
                ok.push(s.key.to_string());
            }
            Reply::Err(p) => {
                assert_eq!(&p[..], b"and an error");
                err += 1;
            }
        }
    }
    ok.sort();
    assert_eq!(ok, ["svc/a", "svc/a", "svc/a", "svc/b", "svc/b", "svc/b"]);
    assert_eq!(err, 2);
    // The stream ended because both finished, not at the timeout.
    assert!(started.elapsed() < Duration::from_secs(4));
    // Liveliness: history first, then changes.
    let token = a.liveliness_token("things/t1").await.expect("token");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut watch = b.watch_liveliness("things/*").await.expect("watch");
    let first = tokio::time::timeout(Duration::from_secs(5), watch.recv())
        .await
        .expect("in time");
    assert_eq!(first, Some(Liveliness::Alive("things/t1".into())));
    drop(token);
    let gone = tokio::time::timeout(Duration::from_secs(5), watch.recv())
        .await
        .expect("in time");
    assert_eq!(gone, Some(Liveliness::Gone("things/t1".into())));
    // A closed session's tokens vanish for the others.
    let _token = a.liveliness_token("things/t2").await.expect("token");
    let alive = tokio::time::timeout(Duration::from_secs(5), watch.recv())
        .await
        .expect("in time");
    assert_eq!(alive, Some(Liveliness::Alive("things/t2".into())));
    a.close().await.expect("close");
    let gone = tokio::time::timeout(Duration::from_secs(5), watch.recv())
        .await
        .expect("in time");
    assert_eq!(gone, Some(Liveliness::Gone("things/t2".into())));
    assert!(matches!(
        a.publish("demo/1/x", Bytes::new()).await,
        Err(TransportError::Closed)
    ));
    b.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_does_not_stall_the_session() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = pair(&dir).await;
    let mut stuck = a.subscribe("flood/x").await.expect("subscribe");
    let mut live = a.subscribe("other/x").await.expect("subscribe");
    // Both subscriptions must have reached `b` (else its puts go nowhere and the test proves
    // nothing, or loses the last sample on a slow machine); `stuck` reads nothing after this.
    until_routed(&b, &mut stuck, "flood/x").await;
    until_routed(&b, &mut live, "other/x").await;
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), async {
        for i in 0..5000u32 {
            b.publish("flood/x", Bytes::from(i.to_be_bytes().to_vec()))
                .await
                .expect("publish");
        }
    })
    .await
    .expect("the flood is not held up for long by a reader that never reads");
    b.publish("other/x", Bytes::from_static(b"still here"))
        .await
        .expect("publish");
    let s = next_but_probes(&mut live).await;
    assert_eq!(&s.payload[..], b"still here");
    eprintln!("flood and the next sample took {:?}", started.elapsed());
}

/// A link from `a` to `b` held up by `b`: a subscriber on `stall/x` whose callback blocks
/// Zenoh's receive thread until [`release`](Stall::release)d.
struct Stall {
    gate: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    _subscriber: ::zenoh::pubsub::Subscriber<()>,
}

impl Stall {
    /// Stalls `b`'s receiving, and waits until `a`'s publications on `stall/x` reach it.
    async fn new(a: &ZenohTransport, b: &ZenohTransport) -> Stall {
        use std::sync::{Arc, Condvar, Mutex};
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (ready_tx, mut ready) = tokio::sync::mpsc::unbounded_channel();
        let g = gate.clone();
        let subscriber = b
            .session()
            .declare_subscriber("stall/x")
            .callback(move |sample| {
                if sample.payload().to_bytes().as_ref() == b"probe" {
                    let _ = ready_tx.send(());
                    return;
                }
                let (open, released) = &*g;
                let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
                while !*open {
                    open = released.wait(open).unwrap_or_else(|e| e.into_inner());
                }
            })
            .await
            .expect("subscribe");
        // The subscription reaches the publisher's session.
        loop {
            a.publish("stall/x", Bytes::from_static(b"probe"))
                .await
                .expect("probe");
            if tokio::time::timeout(Duration::from_millis(50), ready.recv())
                .await
                .is_ok()
            {
                break;
            }
        }
        Stall {
            gate,
            _subscriber: subscriber,
        }
    }

    /// Publishes 64 KiB payloads from `a` until the link is congested: returns the
    /// publication left waiting for room. (Bigger ones congest no better, and leave a backlog
    /// that takes seconds to clear, slowing the tests that run alongside.)
    async fn congest<'a>(&self, a: &'a ZenohTransport) -> safething::transport::Publishing<'a> {
        let big = Bytes::from(vec![7u8; 64 << 10]);
        for _ in 0..100_000 {
            let mut publishing = a.publish("stall/x", big.clone());
            if futures::poll!(&mut publishing).is_pending() {
                return publishing;
            }
        }
        self.release();
        panic!("publishing never waited for a congested link");
    }

    fn release(&self) {
        let (open, released) = &*self.gate;
        *open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        released.notify_all();
    }
}

/// A subscriber that stalls Zenoh's receive thread (its callback blocks) backs up the link
/// until puts block: publishing must not block the async task's worker but wait asynchronously
/// (a pending future), on a runtime with a single worker, and go on once the subscriber reads
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_stalled_subscriber_makes_publish_wait_without_blocking_the_worker() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = pair(&dir).await;
    let stall = Stall::new(&a, &b).await;
    let publishing = stall.congest(&a).await;
    // The only worker is free: another task runs while the publication waits.
    let other = tokio::spawn(async { 42 });
    assert_eq!(other.await.expect("the other task"), 42);
    stall.release();
    tokio::time::timeout(Duration::from_secs(30), publishing)
        .await
        .expect("the publication goes once the subscriber reads again")
        .expect("published");
}

/// The same congested link, for a reply: a task that answers a query on it returns at once
/// (the session's sender thread makes the reply, in order, once there is room), so its worker
/// runs the other tasks meanwhile, and the requester gets the reply once the link clears.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_reply_on_a_congested_link_neither_blocks_the_worker_nor_is_lost() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = pair(&dir).await;
    let mut queries = a.queryable("ask/x").await.expect("queryable");
    let stall = Stall::new(&a, &b).await;
    let mut replies = b
        .query("ask/x", None, Duration::from_secs(60))
        .await
        .expect("query");
    let query = tokio::time::timeout(Duration::from_secs(10), queries.recv())
        .await
        .expect("the query arrives")
        .expect("a query");
    let publishing = stall.congest(&a).await;
    let answer = Bytes::from(vec![9u8; 1 << 20]);
    let sent = answer.clone();
    let replied = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let replied = query.reply("ask/x", sent);
        (replied, started.elapsed())
    });
    let other = tokio::spawn(async { 42 });
    let replied = replied.await;
    let other = other.await;
    stall.release();
    let (replied, took) = replied.expect("the replying task");
    replied.expect("reply handed over");
    // Made at once, the reply would block the worker until Zenoh gives up on the link (5 s,
    // its `wait_before_close`), and be lost.
    assert!(
        took < Duration::from_secs(1),
        "the reply held the worker for {took:?}"
    );
    assert_eq!(other.expect("the other task"), 42);
    tokio::time::timeout(Duration::from_secs(30), publishing)
        .await
        .expect("the publication goes once the subscriber reads again")
        .expect("published");
    let reply = tokio::time::timeout(Duration::from_secs(30), replies.recv())
        .await
        .expect("the reply arrives")
        .expect("a reply");
    match reply {
        Reply::Ok(sample) => assert_eq!(sample.payload, answer),
        Reply::Err(e) => panic!("an error reply: {e:?}"),
    }
}

/// Zenoh calls a device on its own threads, inside the device's runtime: once that runtime is
/// gone, the device stops answering (its declaration went with the runtime's tasks) instead of
/// calling into a dead runtime, and requests to it end with an error instead of hanging.
#[test]
fn a_device_whose_runtime_is_gone_stops_answering_without_crashing() {
    use safething::client::Client;
    use safething::device::{Device, Handlers};
    use safething::envelope::Signing;
    use serde_json::{Value, json};

    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    };
    let (device_runtime, client_runtime) = (runtime(), runtime());
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = client_runtime.block_on(pair(&dir));
    let definition: safething::ir::Definition = serde_json::from_value(json!({
        "thing": {"name": "Orphan", "title": "Orphan", "version": "1.0.0"},
        "actions": {"echo": {"input": {"type": "integer"}, "output": {"type": "integer"}, "access": "all"}}
    }))
    .expect("definition");
    let device = device_runtime.block_on(async {
        let device = Device::builder(definition.checked().expect("valid"), "orphan")
            .transport(a.clone())
            .signing(Signing::Unsigned)
            .build()
            .expect("device");
        device.serve(Handlers::new().action("echo", |input: Value, _| async move { Ok(input) }));
        device.register().await.expect("register");
        device.publish().await.expect("publish");
        device
    });
    let (client, thing) = client_runtime.block_on(async {
        let client = Client::builder()
            .transport(b.clone())
            .signing(Signing::Unsigned)
            .build()
            .await
            .expect("client");
        let thing = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match client.thing("orphan").await {
                    Ok(thing) => break thing,
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })
        .await
        .expect("the device answers");
        (client, thing)
    });
    let echo = |n: i64| {
        let thing = thing.clone();
        async move { thing.invoke("echo", json!(n)).await?.output().await }
    };
    let before = client_runtime.block_on(echo(1));
    assert_eq!(before.expect("an answer"), json!(1));
    drop(device_runtime);
    let after = client_runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), echo(2)).await })
        .expect("a request to the orphaned device ends");
    assert!(after.is_err(), "{after:?}");
    drop((device, client));
}

/// Frames published together arrive one sample each, in order, though they travel bundled
/// (`docs/protocol.md` §1.5); only a sample put as a bundle is split.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_published_together_arrive_one_by_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = pair(&dir).await;
    let key = "safething/v1/bundled/events/e";
    let mut sub = b.subscribe(key).await.expect("subscribe");
    until_routed(&a, &mut sub, key).await;
    // More than one bundle's worth, and a frame too big to share one.
    let mut frames: Vec<Bytes> = (0..300)
        .map(|i| Bytes::from(format!("ST frame {i:03} {}", "x".repeat(200))))
        .collect();
    frames.insert(150, Bytes::from(vec![b'S'; 40_000]));
    a.publish_frames(key, frames.clone())
        .await
        .expect("publish");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(next_but_probes(&mut sub).await.payload, f, "frame {i}");
    }
    // Bytes that start like a bundle, published plainly, arrive as they are; a malformed
    // bundle put with the bundle encoding arrives not at all, and what follows does.
    let lookalike = Bytes::from_static(b"SB\x02\x00\x01\x00\x00\x00\x01X");
    a.publish(key, lookalike.clone()).await.expect("publish");
    assert_eq!(next_but_probes(&mut sub).await.payload, lookalike);
    let bundle = ::zenoh::bytes::Encoding::APPLICATION_OCTET_STREAM.with_schema("safething-bundle");
    ::zenoh::Wait::wait(
        a.session()
            .put(key, b"SB\x02\x00\x05cut".to_vec())
            .encoding(bundle),
    )
    .expect("put");
    a.publish(key, Bytes::from_static(b"ST after"))
        .await
        .expect("publish");
    assert_eq!(&next_but_probes(&mut sub).await.payload[..], b"ST after");
}

/// Publications that follow one another on a key leave the sender thread bundled (fewer Zenoh
/// samples than publications) and arrive one by one, all of them, in order; with inline puts
/// each is a sample of its own, and arrives the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_publications_leaves_bundled_and_arrives_one_by_one_in_order() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const N: u32 = 5000;
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = pair(&dir).await;
    for (mode, publisher) in [
        ("sender thread", a.clone()),
        ("inline", a.with_inline_puts()),
    ] {
        let key = format!("flood/{}", mode.replace(' ', "-"));
        let mut sub = b.subscribe(&key).await.expect("subscribe");
        let samples = Arc::new(AtomicUsize::new(0));
        let counted = samples.clone();
        let _raw = b
            .session()
            .declare_subscriber(key.clone())
            .callback(move |_| {
                counted.fetch_add(1, Ordering::Relaxed);
            })
            .await
            .expect("raw subscriber");
        until_routed(&publisher, &mut sub, &key).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = samples.load(Ordering::Relaxed);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < N as usize {
                got.push(next_but_probes(&mut sub).await.payload);
            }
            got
        });
        for i in 0..N {
            publisher
                .publish(&key, Bytes::from(i.to_be_bytes().to_vec()))
                .await
                .expect("publish");
        }
        let got = reader.await.expect("every publication arrives");
        for (i, payload) in (0..N).zip(got) {
            assert_eq!(&payload[..], i.to_be_bytes(), "{mode}: publication {i}");
        }
        // The raw subscriber's callback runs apart from SAFEthing's: let it finish counting.
        let mut puts = samples.load(Ordering::Relaxed) - before;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let now = samples.load(Ordering::Relaxed) - before;
            if now == puts && (mode != "inline" || now >= N as usize) {
                break;
            }
            puts = now;
        }
        eprintln!("{mode}: {N} publications in {puts} samples");
        if mode == "inline" {
            assert_eq!(puts, N as usize, "inline: a sample per publication");
        } else {
            assert!(puts < N as usize, "{mode}: {puts} samples, none bundled");
        }
    }
}

/// `flush` waits for the sender thread to put what was published before (`close` calls it
/// first): on a congested link it stays pending until the link clears, then returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_waits_for_what_was_published_before() {
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = pair(&dir).await;
    let stall = Stall::new(&a, &b).await;
    let publishing = stall.congest(&a).await;
    let flushing = a.clone();
    let flushed = tokio::spawn(async move { flushing.flush().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = !flushed.is_finished();
    stall.release();
    assert!(waiting, "flush returned while publications waited");
    tokio::time::timeout(Duration::from_secs(30), flushed)
        .await
        .expect("flush returns once the link clears")
        .expect("the flushing task");
    tokio::time::timeout(Duration::from_secs(30), publishing)
        .await
        .expect("the waiting publication goes")
        .expect("published");
}

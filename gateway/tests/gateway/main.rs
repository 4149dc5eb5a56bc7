//! The gateway over a `MemoryNetwork` device: every HTTP route and WebSocket operation,
//! protocol v2 frames relayed byte for byte (signatures made on either side verify on the
//! other), the Rust client running through the gateway end to end, bad input of every kind
//! answered with a clear JSON error while other clients go on, the query caps, the origin and
//! host guard, TLS, and a randomized test that the server never falls over.

mod net;

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use safething::client::Source;
use safething::envelope::{Binding, Kind, Outgoing, Sealer, Signing, Verifier};
use safething::transport::memory::MemoryNetwork;
use safething::wire::Description;
use safething::{Client, Filter, Identity};
use safething_gateway::{GatewayConfig, MAX_BODY, MAX_TIMEOUT_MS, OPENAPI, ROUTES};
use safething_store::{Db, Retention, Store};

use net::*;

const ID: &str = "garden-01";
const VALVE: &str = "safething/v1/garden-01/attributes/valve_state";

fn config() -> GatewayConfig {
    GatewayConfig {
        discovery_timeout: Duration::from_millis(300),
        ..GatewayConfig::default()
    }
}

/// A signed request from `identity` to `device`, as base64url text.
fn sealed(identity: &Identity, device: &safething::Device, key: &str, body: Value) -> String {
    b64(&request_frame(identity, key, epoch(device), &body))
}

/// Opens a frame (base64url) received on `key` with the device's key and returns its body.
#[track_caller]
fn open(device_key: &safething::PublicKey, key: &str, frame: &Value) -> Value {
    let bytes = unb64(frame);
    let opened = Verifier::new(Signing::Signed)
        .open::<Value>(key, &bytes)
        .unwrap_or_else(|e| panic!("the frame on {key} does not verify: {e}"));
    assert_eq!(&opened.from, device_key);
    opened.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route_the_router_serves() {
    let net = MemoryNetwork::new();
    let _device = device(&net, ID, None).await;
    let served = serve(&net, config()).await;
    let doc: Value = serde_json::from_str(OPENAPI).expect("the OpenAPI document is JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    let served_doc = get(served.addr, "/v2/openapi.json").await;
    assert_eq!(served_doc.status, 200);
    assert_eq!(served_doc.json(), doc);

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        documented, routes,
        "the OpenAPI paths are the router's routes"
    );

    // Every documented route is served (neither the 404 fallback nor 405), with the documented
    // statuses and content types.
    for (method, path) in &routes {
        let concrete = path.replace("{id}", ID).replace(
            "{file}",
            if path.starts_with("/sdk") {
                "index.js"
            } else {
                "console.js"
            },
        );
        let r = match method.as_str() {
            "POST" => {
                post(
                    served.addr,
                    &concrete,
                    br#"{"key":"safething/v1/garden-01/description"}"#,
                )
                .await
            }
            _ => get(served.addr, &concrete).await,
        };
        let op = &doc["paths"][path][method.to_lowercase()];
        let status = r.status.to_string();
        assert!(
            op["responses"].get(&status).is_some(),
            "{method} {path} answered {status}, not documented: {}",
            r.text()
        );
        if let Some(content) = op["responses"][&status]["content"].as_object() {
            let ct = r.header("content-type").unwrap();
            assert!(
                content.keys().any(|k| ct.starts_with(k.as_str())),
                "{method} {path}: {ct} not in {content:?}"
            );
        }
    }
    // And what is not documented is a JSON 404 / 405; the paths of API v1 are gone.
    for gone in [
        "/v1/things",
        "/v1/things/garden-01",
        "/v1/ws",
        "/v1/openapi.json",
    ] {
        get(served.addr, gone).await.error(404, "not_found");
    }
    post(
        served.addr,
        "/v1/query",
        br#"{"key":"safething/v1/garden-01/description"}"#,
    )
    .await
    .error(404, "not_found");
    get(served.addr, "/v2/query")
        .await
        .error(405, "method_not_allowed");
    post(served.addr, "/v2/things", b"{}")
        .await
        .error(405, "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_and_sdk_are_served() {
    let net = MemoryNetwork::new();
    let served = serve(&net, config()).await;
    let page = get(served.addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'self'")
    );
    assert!(page.text().contains("/console/console.js"));
    for (name, text) in safething_typescript::console::FILES {
        let r = get(served.addr, &format!("/console/{name}")).await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.text(), *text);
    }
    for (name, text) in safething_typescript::ts::DIST {
        let r = get(served.addr, &format!("/sdk/{name}")).await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(r.text(), *text);
        if name.ends_with(".js") {
            assert_eq!(
                r.header("content-type"),
                Some("text/javascript; charset=utf-8")
            );
        }
    }
    get(served.addr, "/sdk/nope.js")
        .await
        .error(404, "not_found");
    get(served.addr, "/sdk/..%2Fconsole.js")
        .await
        .error(404, "not_found");
    get(served.addr, "/console/").await.error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn things_are_listed_and_described_with_their_signed_descriptions() {
    let net = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = device(&net, ID, Some(*owner.public_key())).await;
    let _other = net::device(&net, "garden-02", None).await;
    let served = serve(&net, config()).await;

    let r = get(served.addr, "/v2/things").await;
    assert_eq!(r.status, 200);
    let things = r.json()["things"].as_array().unwrap().clone();
    let ids: Vec<&str> = things.iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["garden-01", "garden-02"]);
    let t = &things[0];
    assert_eq!(t["name"], "GardeningDevice");
    assert_eq!(t["title"], "Gardening device");
    assert_eq!(t["version"], "1.0.0");
    assert_eq!(t["state"], "registered");
    assert_eq!(t["online"], true);
    assert_eq!(t["key"], device.public_key().to_string());
    assert_eq!(t["owner"], owner.public_key().to_string());
    assert!(things[1].get("owner").is_none());
    assert_eq!(t["key_expression"], "safething/v1/garden-01/description");
    // The summary's fields are the signed description's.
    let d: Description = serde_json::from_value(open(
        &device.public_key(),
        "safething/v1/garden-01/description",
        &t["frame"],
    ))
    .unwrap();
    assert_eq!(d.id.as_str(), ID);
    assert_eq!(d.thing_key, device.public_key());
    assert_eq!(d.owner, Some(*owner.public_key()));

    let r = get(served.addr, "/v2/things/garden-01").await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["key"], "safething/v1/garden-01/description");
    let d: Description = serde_json::from_value(open(
        &device.public_key(),
        body["key"].as_str().unwrap(),
        &body["frame"],
    ))
    .unwrap();
    assert_eq!(d.id.as_str(), ID);

    get(served.addr, "/v2/things/garden-99")
        .await
        .error(404, "unknown_thing");
    get(served.addr, "/v2/things/a*b")
        .await
        .error(404, "unknown_thing");
    get(served.addr, "/v2/things/abc")
        .await
        .error(404, "unknown_thing");

    // Presence follows liveliness.
    device.shutdown().await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while served.gateway.is_online(ID) {
        assert!(tokio::time::Instant::now() < deadline, "still online");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A request frame whose body is exactly `body` (not re-serialized).
fn raw_request(sealer: &Sealer, key: &str, epoch: [u8; 16], body: &str) -> Vec<u8> {
    let body = RawValue::from_string(body.to_owned()).unwrap();
    sealer
        .seal_message(
            key,
            &Outgoing::new(Kind::Request, Binding::Epoch(epoch)),
            safething::envelope::now_ms(),
            &body,
        )
        .unwrap()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_are_relayed_byte_for_byte() {
    let net = MemoryNetwork::new();
    let device = device(&net, ID, None).await;
    let served = serve(&net, config()).await;
    let me = Identity::generate().unwrap();
    let sealer = Sealer::new(me.clone(), Signing::Signed);

    // A body written unusually — spaces, an escaped letter — signed over exactly those bytes.
    // Re-encoding anywhere on the way would change them and the device would refuse it.
    let frame = raw_request(&sealer, VALVE, epoch(&device), r#"{ "op" : "re\u0061d" }"#);
    let request = json!({"key": VALVE, "frame": b64(&frame), "timeout_ms": 3000}).to_string();
    let r = post(served.addr, "/v2/query", request.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let replies = r.json()["replies"].as_array().unwrap().clone();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["key"], VALVE);
    let reply = open(&device.public_key(), VALVE, &replies[0]["frame"]);
    assert_eq!(reply["ok"]["value"], "closed", "{reply}");
    // The reply is bound to this request: the device saw our exact frame.
    let bytes = unb64(&replies[0]["frame"]);
    let opened = Verifier::new(Signing::Signed)
        .open_raw(VALVE, &bytes)
        .unwrap();
    let sent = safething::frame::decode(&frame).unwrap();
    opened
        .expect_bound(Kind::Reply, &sent.header.id, me.public_key())
        .unwrap();

    // The same over the WebSocket (a new message id: the device refuses replays); the reply is
    // a binary message.
    let frame = raw_request(
        &sealer,
        VALVE,
        epoch(&device),
        r#"{"op":"read",   "history":null}"#,
    );
    let mut ws = socket(served.addr).await;
    let replies = ws_query(&mut ws, 7, VALVE, Some(&frame)).await;
    assert_eq!(replies.len(), 1);
    let reply = open(&device.public_key(), VALVE, &replies[0]["frame"]);
    assert_eq!(reply["ok"]["value"], "closed", "{reply}");

    // Publications too: once `subscribed` came, the device's publication reaches the socket as
    // the device's own bytes, and verifies.
    declare(
        &mut ws,
        "subscribe",
        8,
        "safething/v1/garden-01/attributes/*",
    )
    .await;
    device
        .set_attribute("valve_state", json!("open"))
        .await
        .unwrap();
    let sample = recv_op(&mut ws, 8, "sample").await;
    assert_eq!(sample["key"], VALVE);
    let update = open(&device.public_key(), VALVE, &sample["frame"]);
    assert_eq!(update["value"], "open");

    // A replayed request (the same bytes again) is the device's to refuse, not the gateway's:
    // it is relayed, and the device answers with its refusal (or not at all).
    let r = post(served.addr, "/v2/query", request.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    for reply in r.json()["replies"].as_array().unwrap() {
        let body = open(&device.public_key(), VALVE, &reply["frame"]);
        assert!(body.get("ok").is_none(), "a replay was served: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_strangers_requests_are_refused_by_the_device_not_the_gateway() {
    let net = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = device(&net, ID, Some(*owner.public_key())).await;
    device.publish().await.unwrap();
    let served = serve(&net, config()).await;
    let stranger = Identity::generate().unwrap();

    // A write of an owner-only attribute.
    let key = "safething/v1/garden-01/attributes/target_level";
    let frame = sealed(&stranger, &device, key, json!({"op": "write", "value": 50}));
    let r = post(
        served.addr,
        "/v2/query",
        json!({"key": key, "frame": frame}).to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200);
    let reply = &r.json()["replies"][0];
    let body = open(&device.public_key(), key, &reply["frame"]);
    assert_eq!(body["error"]["kind"], "access_denied", "{body}");
    assert_eq!(body["error"]["rule"], "owner", "{body}");

    // An action over the WebSocket: rejected with the rule.
    let key = "safething/v1/garden-01/actions/open_valve";
    // The request id of an invoke is the hex message id of its frame.
    let sealer = Sealer::new(stranger.clone(), Signing::Signed);
    let mut outgoing = Outgoing::new(Kind::Request, Binding::Epoch(epoch(&device)));
    let id = sealer.next_id();
    outgoing.id = Some(id);
    let frame = sealer
        .seal_message(
            key,
            &outgoing,
            safething::envelope::now_ms(),
            &json!({"op": "invoke", "request": id.to_hex(), "input": {"psi": 60}}),
        )
        .unwrap()
        .to_vec();
    let mut ws = socket(served.addr).await;
    let replies = ws_query(&mut ws, 1, key, Some(&frame)).await;
    let last = replies.last().expect("a reply");
    // Request states are signed over the request's own key.
    let body = open(
        &device.public_key(),
        &format!("safething/v1/garden-01/requests/{}", id.to_hex()),
        &last["frame"],
    );
    let state = if body.get("state").is_some() {
        body.clone()
    } else {
        body["ok"].clone()
    };
    assert_eq!(state["state"], "rejected", "{body}");
    assert_eq!(state["problem"]["kind"], "access_denied", "{body}");
    assert_eq!(state["problem"]["rule"], "owner", "{body}");

    // An owner operation.
    let key = "safething/v1/garden-01/admin";
    let frame = request_frame(&stranger, key, epoch(&device), &json!({"op": "disable"}));
    let replies = ws_query(&mut ws, 2, key, Some(&frame)).await;
    let body = open(&device.public_key(), key, &replies[0]["frame"]);
    assert_eq!(body["error"]["kind"], "access_denied", "{body}");
    assert_eq!(device.lifecycle(), safething::wire::Lifecycle::Published);

    // A frame claiming to be the owner's (the sender swapped, the stranger's signature kept)
    // never reaches a handler either: it is relayed, and the device refuses it.
    let mut forged = request_frame(&stranger, VALVE, epoch(&device), &json!({"op": "read"}));
    forged[5..37].copy_from_slice(owner.public_key().as_bytes());
    let unverified = device.stats().unverified;
    let replies = ws_query(&mut ws, 3, VALVE, Some(&forged)).await;
    for r in &replies {
        let body = open(&device.public_key(), VALVE, &r["frame"]);
        assert!(body.get("ok").is_none(), "{body}");
    }
    assert!(device.stats().unverified > unverified);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_claims_publishes_and_operates_through_the_gateway() {
    let net = MemoryNetwork::new();
    let device = device(&net, ID, None).await;
    let token = device.claim_token().unwrap().token;
    let served = serve(&net, config()).await;

    let transport = WsTransport::connect(served.addr).await;
    let me = Identity::generate().unwrap();
    let client = Client::builder()
        .transport(transport)
        .identity(me.clone())
        .build()
        .await
        .unwrap();
    let found = within("discovery", client.discover()).await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(client.is_online(ID));
    let garden = client.thing(ID).await.unwrap();
    // The claim is sealed to the device: the gateway only sees ciphertext.
    garden.claim(&token).await.unwrap();
    assert_eq!(device.parties().owner, Some(*me.public_key()));
    let garden = client.thing(ID).await.unwrap();
    garden.publish().await.unwrap();

    // A watch on a group attribute (sealed end to end) sees changes live.
    let mut watch = garden
        .watch("moisture_level", Filter::lt(10.0))
        .await
        .unwrap();
    device
        .set_attribute("moisture_level", json!(4.5))
        .await
        .unwrap();
    let update = within("a moisture update", watch.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(update.value, json!(4.5));

    // An action followed to its end.
    let action = garden
        .invoke("open_valve", json!({"psi": 60}))
        .await
        .unwrap();
    let output = within("the action's output", action.output())
        .await
        .unwrap();
    assert_eq!(output, json!("open"));
    assert_eq!(
        garden.read("valve_state").await.unwrap().value,
        json!("open")
    );
    garden.write("target_level", json!(55)).await.unwrap();
    let history = garden.history("moisture_level").await.unwrap();
    assert!(history.len() >= 2);

    // Invalid input is refused before it leaves; the device going away is seen.
    assert!(
        garden
            .invoke("open_valve", json!({"psi": 500}))
            .await
            .is_err()
    );
    device.shutdown().await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while client.is_online(ID) {
        assert!(tokio::time::Instant::now() < deadline, "still online");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls `done` until it holds (or fails after [`PATIENCE`]).
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited too long for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The device goes away; a store on the network kept its signed publications. A client behind
/// the gateway reads them (store keys pass the gateway, with store queries as payload), and the
/// gateway refuses store keys and payloads a store does not answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_device_is_read_from_a_store_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let net = MemoryNetwork::new();
    let db = Db::open(&dir.path().join("store.redb"), Retention::default()).unwrap();
    let store = Store::start(std::sync::Arc::new(net.session()), db)
        .await
        .unwrap();
    let me = Identity::generate().unwrap();
    let device = device(&net, ID, Some(*me.public_key())).await;
    device.publish().await.unwrap();
    for v in [10.0, 11.0, 12.0] {
        device
            .set_attribute("moisture_level", json!(v))
            .await
            .unwrap();
    }
    until("the store keeps the three updates", || {
        store
            .db()
            .history("safething/v1/garden-01/attributes/moisture_level", 10, None)
            .map(|h| h.len() >= 3)
            .unwrap_or(false)
    })
    .await;
    let served = serve(&net, config()).await;
    let client = Client::builder()
        .transport(WsTransport::connect(served.addr).await)
        .identity(me.clone())
        .build()
        .await
        .unwrap();
    let garden = client.thing(ID).await.unwrap();
    let live = garden.read_with_source("moisture_level").await.unwrap();
    assert_eq!((live.value, live.source), (json!(12.0), Source::Device));

    device.shutdown().await;
    until("the device is offline", || !client.is_online(ID)).await;
    let stored = garden.read_with_source("moisture_level").await.unwrap();
    assert_eq!((stored.value, stored.source), (json!(12.0), Source::Store));
    let history = garden.history_with_source("moisture_level").await.unwrap();
    assert!(history.iter().all(|h| h.source == Source::Store));
    let values: Vec<Value> = history.into_iter().map(|e| e.value).collect();
    assert!(
        values.ends_with(&[json!(10.0), json!(11.0), json!(12.0)]),
        "{values:?}"
    );
    // A client that pinned the key connects through the store's copy of the description.
    let again = client.thing_or_stored(ID).await.unwrap();
    assert_eq!(again.id().as_str(), ID);

    // Over the socket: a store query is relayed, its replies are the thing's frames unchanged.
    let mut ws = socket(served.addr).await;
    let store_valve = "safething/store/v1/garden-01/attributes/valve_state";
    let replies = ws_query(&mut ws, 1, store_valve, Some(br#"{"op":"latest"}"#)).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    let body = open(&device.public_key(), VALVE, &replies[0]["frame"]);
    assert_eq!(body["value"], json!("closed"));
    // No wildcards, no keys a store does not answer, no request frames or other payloads.
    for (n, key) in [
        "safething/store/v1/**",
        "safething/store/v1/garden-01/actions/open_valve",
        "safething/store/v1/garden-01/admin",
    ]
    .into_iter()
    .enumerate()
    {
        let id = 10 + n as u64;
        send(&mut ws, json!({"op": "query", "id": id, "key": key})).await;
        assert_error(
            &recv_op(&mut ws, id, "error").await,
            Some(id),
            "invalid_key",
        );
    }
    let request = b64(&request_frame(&me, VALVE, [0; 16], &json!({"op": "read"})));
    for (n, frame) in [request, b64(br#"{"op":"put"}"#)].into_iter().enumerate() {
        let id = 20 + n as u64;
        send(
            &mut ws,
            json!({"op": "query", "id": id, "key": store_valve, "frame": frame}),
        )
        .await;
        assert_error(
            &recv_op(&mut ws, id, "error").await,
            Some(id),
            "invalid_frame",
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_operations_and_their_ends() {
    let net = MemoryNetwork::new();
    let device = device(&net, ID, None).await;
    let served = serve(&net, config()).await;
    let mut ws = socket(served.addr).await;

    // Liveliness: the tokens alive now, then `subscribed`, then changes.
    let alive = declare(&mut ws, "liveliness", 1, "safething/v1/*").await;
    assert_eq!(alive.len(), 1, "{alive:?}");
    assert_eq!(alive[0]["op"], "alive");
    assert_eq!(alive[0]["key"], "safething/v1/garden-01");
    let late = net::device(&net, "garden-03", None).await;
    let alive = recv_op(&mut ws, 1, "alive").await;
    assert_eq!(alive["key"], "safething/v1/garden-03");
    late.shutdown().await;
    let gone = recv_op(&mut ws, 1, "gone").await;
    assert_eq!(gone["key"], "safething/v1/garden-03");

    // Discovery: a wildcard query, replies then `end`.
    let replies = ws_query(&mut ws, 2, "safething/v1/*/description", None).await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["key"], "safething/v1/garden-01/description");

    // A query with no one to answer ends at once.
    assert!(
        ws_query(&mut ws, 3, "safething/v1/nobody-1/description", None)
            .await
            .is_empty()
    );

    // Subscribe (acknowledged once declared), receive, close: nothing more after `close`, and
    // the id can be used again.
    assert!(declare(&mut ws, "subscribe", 4, VALVE).await.is_empty());
    device
        .set_attribute("valve_state", json!("open"))
        .await
        .unwrap();
    let sample = recv_op(&mut ws, 4, "sample").await;
    assert_eq!(sample["key"], VALVE);
    send(&mut ws, json!({"op": "close", "id": 4})).await;
    // Messages are handled in order: once this `close` is refused, the one before was done.
    send(&mut ws, json!({"op": "close", "id": 404})).await;
    assert_error(&recv(&mut ws).await, Some(404), "unknown_id");
    device
        .set_attribute("valve_state", json!("closed"))
        .await
        .unwrap();
    let replies = ws_query(&mut ws, 4, VALVE, None).await;
    // No frame: the device cannot verify a request without one and does not answer with a
    // value; what matters is that the id was free again and no sample came for 4.
    for r in &replies {
        assert_eq!(r["op"], "reply");
    }
    send(&mut ws, json!({"op": "close", "id": 4})).await;
    assert_error(&recv(&mut ws).await, Some(4), "unknown_id");

    // HTTP clients are served meanwhile, and the socket closes cleanly.
    assert_eq!(get(served.addr, "/v2/things").await.status, 200);
    ws.close(None).await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while served.gateway.open_sockets() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "socket still counted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Frames that are not well-formed v2 request frames, as base64url text, with the code each
/// gets: not base64url, a v1 envelope, another version, truncated, the wrong kind.
fn bad_frames(device: &safething::Device) -> Vec<(String, &'static str)> {
    let me = Identity::generate().unwrap();
    let good = request_frame(&me, VALVE, epoch(device), &json!({"op": "read"}));
    let mut v3 = good.clone();
    v3[2] = 3;
    let mut trailing = good.clone();
    trailing.push(0);
    let description = Sealer::new(me.clone(), Signing::Signed)
        .seal(VALVE, Kind::Description, Binding::None, &json!({}))
        .unwrap();
    let v1 = r#"{"v":1,"from":"st","id":"1","ts":1,"body":{"op":"read"},"sig":"x"}"#;
    vec![
        ("not base64!".into(), "invalid_frame"),
        (data_encoding::BASE64.encode(&good), "invalid_frame"),
        (format!("{}==", b64(&good)), "invalid_frame"),
        (String::new(), "invalid_frame"),
        (v1.into(), "unsupported_version"),
        (b64(v1.as_bytes()), "unsupported_version"),
        (b64(&v3), "unsupported_version"),
        (b64(&good[..good.len() - 10]), "invalid_frame"),
        (b64(&good[..3]), "invalid_frame"),
        (b64(&trailing), "invalid_frame"),
        (b64(&description), "invalid_frame"),
        (b64(b"hello"), "invalid_frame"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_http_requests_get_clear_json_errors() {
    let net = MemoryNetwork::new();
    let device = device(&net, ID, None).await;
    let served = serve(&net, config()).await;
    let a = served.addr;
    let q = |body: &str| {
        let body = body.to_owned();
        async move { post(a, "/v2/query", body.as_bytes()).await }
    };
    q("{").await.error(400, "malformed_json");
    q("").await.error(400, "malformed_json");
    q("\u{0}\u{1}garbage").await.error(400, "malformed_json");
    q("[]").await.error(400, "invalid_request");
    q("{}").await.error(400, "invalid_request");
    q(r#"{"key": 5}"#).await.error(400, "invalid_request");
    q(r#"{"key": "safething/v1/garden-01/description", "extra": 1}"#)
        .await
        .error(400, "invalid_request");
    q(r#"{"key": "safething/v1/garden-01/description", "timeout_ms": -5}"#)
        .await
        .error(400, "invalid_request");
    q(r#"{"key": "safething/v1/garden-01/description", "frame": {"v":1}}"#)
        .await
        .error(400, "invalid_request");
    // API v1's member is unknown now.
    q(r#"{"key": "safething/v1/garden-01/description", "payload": "{}"}"#)
        .await
        .error(400, "invalid_request");
    for key in [
        "other/garden-01/description",
        "safething/v2/garden-01/description",
        "**",
        "safething/**",
        "safething/v1/**",
        "safething/v1/*/attributes/valve_state",
        "safething/v1/garden-01/events/very_dry_alarm",
        "safething/v1/garden-01/attributes/a**b",
        "safething/v1//description",
        "safething/v1/garden-01/nope",
    ] {
        let m = q(&json!({"key": key}).to_string())
            .await
            .error(400, "invalid_key");
        assert!(m.contains(key), "{m}");
    }
    let before = device.stats().unverified;
    for (frame, code) in bad_frames(&device) {
        q(&json!({"key": VALVE, "frame": frame}).to_string())
            .await
            .error(400, code);
    }
    // None of them reached the device.
    assert_eq!(device.stats().unverified, before);
    // Bodies over 64 KiB: 413, with and without a length up front.
    let big = json!({"key": VALVE, "frame": "x".repeat(MAX_BODY)}).to_string();
    let m = q(&big).await.error(413, "payload_too_large");
    assert!(m.contains("65536"), "{m}");
    let mut chunked = format!(
        "POST /v2/query HTTP/1.1\r\nHost: {a}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("1000\r\n{}\r\n", "x".repeat(4096)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    parse_response(&http_raw(a, &chunked).await).error(413, "payload_too_large");

    // Timeouts are clamped, not refused: a huge one still returns when the device answered.
    let r = q(
        &json!({"key": "safething/v1/garden-01/description", "timeout_ms": u64::MAX}).to_string(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["replies"].as_array().unwrap().len(), 1);

    // Garbage on the wire: the server answers 400 or closes, and keeps serving.
    for raw in [
        &b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"[..],
        b"GET\r\n\r\n",
        b"NOTAMETHOD / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    ] {
        let out = http_garbage(a, raw).await;
        if !out.is_empty() {
            assert!(
                out.starts_with(b"HTTP/1.1 4"),
                "{:?}",
                String::from_utf8_lossy(&out)
            );
        }
    }
    assert_eq!(get(a, "/v2/things").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_get_errors_and_the_socket_stays_open() {
    let net = MemoryNetwork::new();
    let device = device(&net, ID, None).await;
    let served = serve(&net, config()).await;
    let mut ws = socket(served.addr).await;

    let cases: Vec<(String, Option<u64>, &str)> = vec![
        ("{".into(), None, "malformed_json"),
        ("not json at all".into(), None, "malformed_json"),
        ("[1,2,3]".into(), None, "invalid_request"),
        ("42".into(), None, "invalid_request"),
        (r#"{"op":"subscribe"}"#.into(), None, "invalid_request"),
        (r#"{"id":1}"#.into(), Some(1), "invalid_request"),
        (r#"{"op":7,"id":1}"#.into(), Some(1), "invalid_request"),
        (
            r#"{"op":"publish","id":1,"key":"safething/v1/x"}"#.into(),
            Some(1),
            "unknown_op",
        ),
        (
            r#"{"op":"SUBSCRIBE","id":1,"key":"safething/v1/x"}"#.into(),
            Some(1),
            "unknown_op",
        ),
        (
            r#"{"op":"subscribe","id":-1,"key":"safething/v1/*"}"#.into(),
            None,
            "invalid_request",
        ),
        (
            r#"{"op":"subscribe","id":1.5,"key":"safething/v1/*"}"#.into(),
            None,
            "invalid_request",
        ),
        (
            r#"{"op":"subscribe","id":"1","key":"safething/v1/*"}"#.into(),
            None,
            "invalid_request",
        ),
        (
            r#"{"op":"subscribe","id":1}"#.into(),
            Some(1),
            "invalid_request",
        ),
        (
            r#"{"op":"subscribe","id":1,"key":"safething/v1/*","x":1}"#.into(),
            Some(1),
            "invalid_request",
        ),
        (
            r#"{"op":"subscribe","id":1,"key":"**"}"#.into(),
            Some(1),
            "invalid_key",
        ),
        (
            r#"{"op":"subscribe","id":1,"key":"safething/**"}"#.into(),
            Some(1),
            "invalid_key",
        ),
        (
            r#"{"op":"subscribe","id":1,"key":"zenoh/admin/**"}"#.into(),
            Some(1),
            "invalid_key",
        ),
        (
            r#"{"op":"subscribe","id":1,"key":"safething/v1/**/**"}"#.into(),
            Some(1),
            "invalid_key",
        ),
        (
            r#"{"op":"subscribe","id":1,"key":"safething/v1/a*"}"#.into(),
            Some(1),
            "invalid_key",
        ),
        (
            r#"{"op":"liveliness","id":1,"key":"@/liveliness/**"}"#.into(),
            Some(1),
            "invalid_key",
        ),
        (
            r#"{"op":"query","id":1,"key":"safething/v1/**"}"#.into(),
            Some(1),
            "invalid_key",
        ),
        (
            r#"{"op":"query","id":1,"key":"safething/v1/garden-01/events/very_wet_alarm"}"#.into(),
            Some(1),
            "invalid_key",
        ),
        (
            r#"{"op":"query","id":1,"key":"safething/v1/garden-01/description","payload":"{}"}"#
                .into(),
            Some(1),
            "invalid_request",
        ),
        (
            r#"{"op":"subscribe","id":4294967296,"key":"safething/v1/*"}"#.into(),
            None,
            "invalid_request",
        ),
        (
            r#"{"op":"query","id":1,"key":"safething/v1/garden-01/description","timeout_ms":"5"}"#
                .into(),
            Some(1),
            "invalid_request",
        ),
        (r#"{"op":"close","id":99}"#.into(), Some(99), "unknown_id"),
    ];
    for (frame, id, code) in &cases {
        send_text(&mut ws, frame).await;
        let reply = recv(&mut ws).await;
        assert_error(&reply, *id, code);
    }
    // The largest id there is works.
    let replies = ws_query(
        &mut ws,
        u64::from(u32::MAX),
        "safething/v1/*/description",
        None,
    )
    .await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["id"], u32::MAX);
    // Frames that are not well-formed v2 request frames never reach the network.
    let before = device.stats().unverified;
    for (frame, code) in bad_frames(&device) {
        send(
            &mut ws,
            json!({"op": "query", "id": 6, "key": VALVE, "frame": frame}),
        )
        .await;
        assert_error(&recv(&mut ws).await, Some(6), code);
    }
    assert_eq!(device.stats().unverified, before);

    // Oversized: refused with an error, the socket stays.
    let big = json!({"op": "query", "id": 5, "key": VALVE, "frame": "x".repeat(MAX_BODY)});
    send(&mut ws, big).await;
    assert_error(&recv(&mut ws).await, None, "payload_too_large");
    // Binary messages are the gateway's, not the client's.
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_error(&recv(&mut ws).await, None, "binary_frame");
    // Duplicate ids while open.
    declare(&mut ws, "subscribe", 10, "safething/v1/**").await;
    send(
        &mut ws,
        json!({"op": "subscribe", "id": 10, "key": "safething/v1/**"}),
    )
    .await;
    assert_error(&recv(&mut ws).await, Some(10), "duplicate_id");
    // After all that, the socket works.
    assert_discovers_one(&mut ws, 11).await;

    // A frame over the hard limit (1 MiB) closes that socket only.
    let mut other = socket(served.addr).await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let _ = other.send(Message::Text(huge.into())).await;
    let closed = within("the socket to close", async {
        loop {
            match other.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    let () = closed;
    assert_discovers_one(&mut ws, 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_per_socket_and_sockets_are_capped() {
    let net = MemoryNetwork::new();
    let _device = device(&net, ID, None).await;
    let served = serve(
        &net,
        GatewayConfig {
            max_sockets: 8,
            ..config()
        },
    )
    .await;
    let mut ws = socket(served.addr).await;
    for id in 0..256u64 {
        send(
            &mut ws,
            json!({"op": "subscribe", "id": id, "key": format!("safething/v1/t-{id:05}/**")}),
        )
        .await;
    }
    send(
        &mut ws,
        json!({"op": "subscribe", "id": 256, "key": "safething/v1/**"}),
    )
    .await;
    // Each of the 256 was acknowledged; the 257th is refused.
    let refused = recv_op(&mut ws, 256, "error").await;
    assert_error(&refused, Some(256), "too_many_operations");
    send(&mut ws, json!({"op": "close", "id": 0})).await;
    assert_discovers_one(&mut ws, 1000).await;

    // Seven more sockets fit, the ninth is refused with 503, and closing one frees a place.
    let mut others = Vec::new();
    for _ in 0..7 {
        others.push(socket(served.addr).await);
    }
    let r = request(
        served.addr,
        "GET",
        "/v2/ws",
        &[
            ("Upgrade", "websocket"),
            ("Connection", "close, Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        b"",
    )
    .await;
    r.error(503, "too_many_sockets");
    // Not a WebSocket handshake at all.
    get(served.addr, "/v2/ws").await.error(400, "not_websocket");
    drop(others.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while served.gateway.open_sockets() > 7 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut again = socket(served.addr).await;
    assert_discovers_one(&mut again, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sockets_at_once() {
    let net = MemoryNetwork::new();
    let _device = device(&net, ID, None).await;
    let served = serve(&net, config()).await;
    let addr = served.addr;
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            tokio::spawn(async move {
                let mut ws = socket(addr).await;
                if i % 2 == 0 {
                    send_text(&mut ws, "{oops").await;
                    assert_error(&recv(&mut ws).await, None, "malformed_json");
                }
                let replies =
                    ws_query(&mut ws, 1, "safething/v1/garden-01/description", None).await;
                assert_eq!(replies.len(), 1);
            })
        })
        .collect();
    for t in tasks {
        within("a socket's query", t).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_origins_are_refused() {
    let net = MemoryNetwork::new();
    let _device = device(&net, ID, None).await;
    let served = serve(
        &net,
        GatewayConfig {
            allowed_origins: vec!["http://localhost:3000".into()],
            ..config()
        },
    )
    .await;
    let a = served.addr;
    let own = format!("http://{a}");
    let r = request(a, "GET", "/v2/things", &[("Origin", &own)], b"").await;
    assert_eq!(r.status, 200);
    let r = request(
        a,
        "GET",
        "/v2/things",
        &[("Origin", "http://localhost:3000")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    request(
        a,
        "GET",
        "/v2/things",
        &[("Origin", "http://evil.example")],
        b"",
    )
    .await
    .error(403, "forbidden_origin");
    request(a, "GET", "/v2/ws", &[("Origin", "null")], b"")
        .await
        .error(403, "forbidden_origin");
}

/// The host names every gateway answers to, on a loopback port.
async fn host_status(a: std::net::SocketAddr, host: &str) -> Response {
    request(a, "GET", "/v2/openapi.json", &[("Host", host)], b"").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_dns_rebinding_is_refused_on_a_loopback_gateway() {
    let net = MemoryNetwork::new();
    let served = serve(&net, config()).await;
    let a = served.addr;
    let port = a.port();
    for ok in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "LOCALHOST".to_owned(),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(host_status(a, &ok).await.status, 200, "{ok}");
    }
    for bad in [
        format!("evil.example:{port}"),
        "evil.example".to_owned(),
        format!("localhost.evil.example:{port}"),
        "10.0.0.1".to_owned(),
        "garden.lan".to_owned(),
    ] {
        let m = host_status(a, &bad).await.error(403, "forbidden_host");
        assert!(m.contains("--allow-host"), "{m}");
    }
    // Every route is guarded, the WebSocket too.
    request(a, "GET", "/", &[("Host", "evil.example")], b"")
        .await
        .error(403, "forbidden_host");
    request(a, "GET", "/v2/ws", &[("Host", "evil.example")], b"")
        .await
        .error(403, "forbidden_host");
    request(
        a,
        "POST",
        "/v2/query",
        &[("Host", "evil.example")],
        br#"{"key":"safething/v1/garden-01/description"}"#,
    )
    .await
    .error(403, "forbidden_host");
    // No Host at all (HTTP/1.0) is no allowed host either.
    let raw = http_raw(a, b"GET /v2/openapi.json HTTP/1.0\r\n\r\n").await;
    parse_response(&raw).error(403, "forbidden_host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_dns_rebinding_is_refused_on_a_gateway_bound_to_every_address() {
    let net = MemoryNetwork::new();
    let _device = device(&net, ID, None).await;
    let served = serve_on(
        &net,
        GatewayConfig::default().allow_host("Garden.LAN"),
        "0.0.0.0:0",
    )
    .await;
    let a = served.addr;
    let port = a.port();
    // The rebinding page's own domain: refused, whatever the address it resolved to.
    host_status(a, &format!("evil.example:{port}"))
        .await
        .error(403, "forbidden_host");
    host_status(a, "attacker.example")
        .await
        .error(403, "forbidden_host");
    // Loopback names, the listen address's host, and the name given with --allow-host.
    for ok in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("0.0.0.0:{port}"),
        format!("garden.lan:{port}"),
        "GARDEN.lan".to_owned(),
    ] {
        assert_eq!(host_status(a, &ok).await.status, 200, "{ok}");
    }
    // A subdomain or suffix of the allowed name is another name.
    host_status(a, "garden.lan.evil.example")
        .await
        .error(403, "forbidden_host");
    // The WebSocket of an allowed name works.
    let mut ws = socket(a).await;
    assert_discovers_one(&mut ws, 1).await;
}

/// A queryable on `key` that answers nothing and keeps its queries open: a query to it stays in
/// flight until its timeout or until the client ends it.
async fn silent(
    net: &MemoryNetwork,
    key: &str,
) -> (
    safething::transport::memory::MemoryTransport,
    safething::transport::Queryable,
) {
    use safething::transport::Transport;
    let session = net.session();
    let queries = session.queryable(key).await.unwrap();
    (session, queries)
}

const SLOW: &str = "safething/v1/slow-01/description";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_in_flight_are_capped() {
    let net = MemoryNetwork::new();
    let _device = device(&net, ID, None).await;
    let (_session, mut slow) = silent(&net, SLOW).await;
    let served = serve(
        &net,
        GatewayConfig {
            max_queries: 2,
            ..config()
        },
    )
    .await;
    let a = served.addr;
    // Two queries held open over the socket (the queryable holds them).
    let mut ws = socket(a).await;
    let mut held = Vec::new();
    for id in [1, 2] {
        send(
            &mut ws,
            json!({"op": "query", "id": id, "key": SLOW, "timeout_ms": 60_000}),
        )
        .await;
        held.push(within("the query", slow.recv()).await.unwrap());
    }
    assert_eq!(served.gateway.queries_in_flight(), 2);
    // A third is refused, over HTTP and over WebSocket alike; discovery counts too.
    let m = post(
        a,
        "/v2/query",
        br#"{"key":"safething/v1/garden-01/description"}"#,
    )
    .await
    .error(503, "too_many_queries");
    assert!(m.contains('2'), "{m}");
    get(a, "/v2/things").await.error(503, "too_many_queries");
    send(
        &mut ws,
        json!({"op": "query", "id": 3, "key": "safething/v1/garden-01/description"}),
    )
    .await;
    assert_error(&recv(&mut ws).await, Some(3), "too_many_queries");
    // Subscriptions are not queries.
    declare(&mut ws, "subscribe", 4, VALVE).await;
    // Closing one frees its place.
    send(&mut ws, json!({"op": "close", "id": 1})).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while served.gateway.queries_in_flight() > 1 {
        assert!(tokio::time::Instant::now() < deadline, "the place was kept");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = post(
        a,
        "/v2/query",
        br#"{"key":"safething/v1/garden-01/description"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["replies"].as_array().unwrap().len(), 1);
    // A query that ended gave its place back too.
    assert_eq!(served.gateway.queries_in_flight(), 1);
    drop(held);
    drop(slow);
    let end = recv_op(&mut ws, 2, "end").await;
    assert_eq!(end["id"], 2);
    assert_discovers_one(&mut ws, 5).await;
    assert_eq!(served.gateway.queries_in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_timeouts_are_clamped() {
    let net = MemoryNetwork::new();
    let _slow = silent(&net, SLOW).await;
    let served_default = serve(&net, config()).await;
    // A small cap (as --max-query-ms sets it): a query asking for a minute ends at the cap.
    let served = serve(
        &net,
        GatewayConfig {
            max_query_ms: 100,
            ..config()
        },
    )
    .await;
    let body = json!({"key": SLOW, "timeout_ms": 60_000}).to_string();
    let r = within(
        "a clamped query",
        post(served.addr, "/v2/query", body.as_bytes()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["replies"].as_array().unwrap().is_empty());
    let mut ws = socket(served.addr).await;
    send(
        &mut ws,
        json!({"op": "query", "id": 1, "key": SLOW, "timeout_ms": u64::MAX}),
    )
    .await;
    recv_op(&mut ws, 1, "end").await;
    // Without the small cap, a short timeout is kept as asked: the query is open until then.
    let mut ws = socket(served_default.addr).await;
    send(
        &mut ws,
        json!({"op": "query", "id": 1, "key": SLOW, "timeout_ms": 200}),
    )
    .await;
    recv_op(&mut ws, 1, "end").await;
    // The default cap is one minute.
    assert_eq!(GatewayConfig::default().max_query_ms, MAX_TIMEOUT_MS);
    assert_eq!(MAX_TIMEOUT_MS, 60_000);
}

/// A queryable on `key` that answers every query with `frames` (then ends it).
async fn answering(net: &MemoryNetwork, key: &'static str, frames: Vec<Vec<u8>>) {
    use safething::transport::Transport;
    let session = net.session();
    let mut queries = session.queryable(key).await.unwrap();
    tokio::spawn(async move {
        let _session = session;
        while let Some(query) = queries.recv().await {
            for frame in &frames {
                let _ = query.reply(key, bytes::Bytes::from(frame.clone()));
            }
            let _ = query.reply_err(bytes::Bytes::from_static(b"an error reply"));
        }
    });
}

/// A well-formed v2 frame (a description, as a thing would answer).
fn some_frame(key: &str) -> Vec<u8> {
    Sealer::new(Identity::generate().unwrap(), Signing::Signed)
        .seal(key, Kind::Description, Binding::None, &json!({"n": 1}))
        .unwrap()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_per_query_are_capped() {
    const THREE: &str = "safething/v1/three-01/description";
    const TWO: &str = "safething/v1/two-01/description";
    let net = MemoryNetwork::new();
    let frame = some_frame(THREE);
    answering(
        &net,
        THREE,
        vec![frame.clone(), frame.clone(), frame.clone()],
    )
    .await;
    // Two frames and what is no v2 frame (dropped, and not counted).
    answering(
        &net,
        TWO,
        vec![
            frame.clone(),
            br#"{"v":1,"from":"st"}"#.to_vec(),
            b"garbage".to_vec(),
            frame[..frame.len() - 1].to_vec(),
            frame.clone(),
        ],
    )
    .await;
    let served = serve(
        &net,
        GatewayConfig {
            max_replies: 2,
            ..config()
        },
    )
    .await;
    let a = served.addr;
    let q = |key: &str| json!({"key": key, "timeout_ms": 5000}).to_string();
    // HTTP: 502 and no replies.
    let r = post(a, "/v2/query", q(THREE).as_bytes()).await;
    r.error(502, "too_many_replies");
    assert!(r.json().get("replies").is_none());
    // Up to the cap is fine; the frames are relayed byte for byte, the rest dropped.
    let r = post(a, "/v2/query", q(TWO).as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let replies = r.json()["replies"].as_array().unwrap().clone();
    assert_eq!(replies.len(), 2);
    for reply in &replies {
        assert_eq!(unb64(&reply["frame"]), frame);
        assert_eq!(reply["key"], TWO);
    }
    // WebSocket: the replies up to the cap, then `error` instead of `end`.
    let mut ws = socket(a).await;
    send(&mut ws, json!({"op": "query", "id": 1, "key": THREE})).await;
    let mut got = Vec::new();
    let last = loop {
        let m = recv(&mut ws).await;
        match m["op"].as_str() {
            Some("reply") => got.push(m),
            _ => break m,
        }
    };
    assert_eq!(got.len(), 2);
    assert_error(&last, Some(1), "too_many_replies");
    // The id is free again, and the socket serves.
    assert_eq!(ws_query(&mut ws, 1, TWO, None).await.len(), 2);
    assert_eq!(served.gateway.queries_in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_bytes_per_query_are_capped() {
    const BIG: &str = "safething/v1/big-01/description";
    let net = MemoryNetwork::new();
    let frame = some_frame(BIG);
    answering(&net, BIG, vec![frame.clone(), frame.clone()]).await;
    let served = serve(
        &net,
        GatewayConfig {
            max_reply_bytes: frame.len() * 3 / 2,
            ..config()
        },
    )
    .await;
    let body = json!({"key": BIG}).to_string();
    post(served.addr, "/v2/query", body.as_bytes())
        .await
        .error(502, "too_many_replies");
    let mut ws = socket(served.addr).await;
    send(&mut ws, json!({"op": "query", "id": 9, "key": BIG})).await;
    assert_eq!(recv(&mut ws).await["op"], "reply");
    assert_error(&recv(&mut ws).await, Some(9), "too_many_replies");
}

/// A small xorshift generator: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.below(items.len() as u64)).unwrap()]
    }
    fn string(&mut self) -> String {
        let alphabet = [
            "a",
            "*",
            "**",
            "/",
            "safething",
            "v1",
            "garden-01",
            "$",
            "?",
            "é",
            "\"",
            "\\",
            " ",
            "\u{0}",
            "description",
            "attributes",
        ];
        (0..self.below(8)).map(|_| *self.pick(&alphabet)).collect()
    }
    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth > 2 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => json!(self.next() as i64),
            3 => json!(self.string()),
            4 => json!((self.next() % 1000) as f64 / 7.0),
            5 => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let mut m = serde_json::Map::new();
                for _ in 0..self.below(4) {
                    m.insert(self.string(), self.value(depth + 1));
                }
                Value::Object(m)
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_frames_and_bodies_never_bring_it_down() {
    // Count panics on any thread (a panicking gateway task would not fail the test by itself).
    static PANICS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        default_hook(info);
    }));
    let net = MemoryNetwork::new();
    let _device = device(&net, ID, None).await;
    let served = serve(&net, config()).await;
    let mut rng = Rng(0x5AFE_7414_u64);
    let mut ws = socket(served.addr).await;
    let ops = ["subscribe", "query", "liveliness", "close", "publish", ""];
    let keys = [
        "safething/v1/garden-01/description",
        "safething/v1/*/description",
        "safething/v1/**",
        VALVE,
        "safething/v1/garden-01/actions/open_valve",
        "**",
        "",
    ];
    let mut open_ids = BTreeSet::new();
    for round in 0..400u64 {
        let frame = match rng.below(4) {
            // Random bytes: binary, or text with whatever UTF-8 they make.
            0 => {
                let bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                if rng.below(2) == 0 {
                    ws.send(Message::Binary(bytes.into())).await.unwrap();
                } else {
                    send_text(&mut ws, &String::from_utf8_lossy(&bytes)).await;
                }
                None
            }
            // Random JSON.
            1 => {
                send(&mut ws, rng.value(0)).await;
                None
            }
            // Frames that look almost right.
            _ => {
                let id = 10_000 + round;
                let mut f = json!({"op": rng.pick(&ops), "id": id, "key": rng.pick(&keys)});
                match rng.below(5) {
                    0 => f["frame"] = json!(rng.string()),
                    1 => f["timeout_ms"] = json!(rng.below(50)),
                    2 => f["frame"] = rng.value(0),
                    3 => f["extra"] = rng.value(0),
                    _ => {}
                }
                if f["op"] == "query" {
                    f["timeout_ms"] = json!(rng.below(50));
                }
                send(&mut ws, f.clone()).await;
                Some(f)
            }
        };
        if let Some(f) = &frame
            && matches!(f["op"].as_str(), Some("subscribe" | "liveliness"))
        {
            open_ids.insert(f["id"].as_u64().unwrap());
        }
        // Random HTTP bodies now and then.
        if round % 20 == 0 {
            let body = if rng.below(2) == 0 {
                rng.value(0).to_string()
            } else {
                String::from_utf8_lossy(
                    &(0..rng.below(100))
                        .map(|_| rng.next() as u8)
                        .collect::<Vec<_>>(),
                )
                .into_owned()
            };
            let r = post(served.addr, "/v2/query", body.as_bytes()).await;
            assert!(matches!(r.status, 200 | 400), "{} {}", r.status, r.text());
            if r.status == 400 {
                assert!(r.json()["error"]["code"].is_string());
            }
        }
    }
    // Every frame was answered or is running; the socket and the server still answer.
    let replies = within(
        "the fuzzed socket to answer",
        ws_query(&mut ws, 1, "safething/v1/garden-01/description", None),
    )
    .await;
    assert_eq!(replies.len(), 1);
    let mut fresh = socket(served.addr).await;
    assert_discovers_one(&mut fresh, 1).await;
    assert_eq!(get(served.addr, "/v2/things").await.status, 200);
    assert!(open_ids.len() < 400);
    assert_eq!(
        PANICS.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "something panicked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets() {
    let net = MemoryNetwork::new();
    let served = serve(&net, config()).await;
    let mut ws = socket(served.addr).await;
    declare(&mut ws, "liveliness", 1, "safething/v1/*").await;
    served.gateway.shutdown();
    let close = within("the close frame", async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    if let Some(frame) = close {
        assert_eq!(u16::from(frame.code), 1001);
    }
}

mod tls {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{self, RootCertStore};

    use safething::transport::memory::MemoryNetwork;
    use safething_gateway::{Gateway, TlsConfig, TlsError};

    use super::net::{self, PATIENCE, parse_response};

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/gateway_tls")
            .join(name)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn https_with_a_certificate() {
        let net = MemoryNetwork::new();
        let _device = net::device(&net, "garden-01", None).await;
        let tls = TlsConfig::from_pem_files(&fixture("cert.pem"), &fixture("key.pem")).unwrap();
        let gateway = Gateway::new(Arc::new(net.session()), super::config())
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(gateway.clone().serve(
            listener,
            Some(tls),
            std::future::pending(),
        ));

        // A client that speaks plain HTTP, and one that never finishes its handshake, do not
        // hold up the others.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let mut plain = TcpStream::connect(addr).await.unwrap();
        plain
            .write_all(b"GET /v2/things HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, plain.read_to_end(&mut out)).await;
        assert!(!out.starts_with(b"HTTP/1.1 200"));

        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(fixture("cert.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut stream = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        stream
            .write_all(b"GET /v2/things HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut raw = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw)).await;
        let r = parse_response(&raw);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["things"][0]["id"], "garden-01");
        let _ = silent.write_all(b"").await;
        gateway.shutdown();
        let _ = server.await;
    }

    #[test]
    fn bad_files_are_reported() {
        let missing = TlsConfig::from_pem_files(&fixture("nope.pem"), &fixture("key.pem"));
        assert!(
            matches!(missing, Err(TlsError::Certificate { .. })),
            "{missing:?}"
        );
        let swapped = TlsConfig::from_pem_files(&fixture("key.pem"), &fixture("cert.pem"));
        assert!(swapped.is_err());
        let no_key = TlsConfig::from_pem_files(&fixture("cert.pem"), &fixture("cert.pem"));
        assert!(matches!(no_key, Err(TlsError::Key { .. })), "{no_key:?}");
    }
}

//! Test plumbing: a gardening device on a `MemoryNetwork`, a gateway on a loopback port, a raw
//! HTTP/1.1 client, a WebSocket client (binary messages read into JSON for the assertions), v2
//! request frames, and a Rust `Transport` that speaks the gateway's WebSocket protocol (so the
//! Rust `Client` runs through the gateway, end to end).

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use safething::Identity;
use safething::device::{Device, Handlers};
use safething::envelope::{Binding, Kind, Sealer, Signing};
use safething::ir::CheckedDefinition;
use safething::transport::memory::MemoryNetwork;
use safething::transport::{
    CHANNEL_CAPACITY, Guard, Liveliness, LivelinessWatch, Publishing, Queryable, Receiver, Replies,
    Reply, Sample, Subscriber, Transport, TransportError,
};
use safething::wire::ActionError;
use safething_gateway::{Gateway, GatewayConfig, MAX_KEY_LEN, TAG_REPLY, TAG_SAMPLE};

pub const PATIENCE: Duration = Duration::from_secs(10);

pub async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(PATIENCE, f)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

pub fn gardening() -> CheckedDefinition {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/things/gardening_device.toml"
    );
    safething_codegen::load(path).unwrap().definition
}

/// A gardening device: `open_valve` sets `valve_state` to `open` after 50 ms.
pub async fn device(net: &MemoryNetwork, id: &str, owner: Option<safething::PublicKey>) -> Device {
    let mut builder = Device::builder(gardening(), id).transport(net.session());
    if let Some(owner) = owner {
        builder = builder.owner(owner);
    }
    let device = builder.build().unwrap();
    let d = device.clone();
    let d2 = device.clone();
    device.serve(
        Handlers::new()
            .action("open_valve", move |input: Value, _ctx| {
                let d = d.clone();
                async move {
                    assert!(input["psi"].is_u64());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    d.set_attribute("valve_state", json!("open"))
                        .await
                        .map_err(|e| ActionError::new("valve_stuck", e.to_string()))?;
                    Ok(json!("open"))
                }
            })
            .action("close_valve", move |_, _ctx| {
                let d = d2.clone();
                async move {
                    d.set_attribute("valve_state", json!("closed"))
                        .await
                        .map_err(|e| ActionError::new("valve_stuck", e.to_string()))?;
                    Ok(Value::Null)
                }
            })
            .write("target_level", |_value: Value, _ctx| async move { Ok(()) }),
    );
    device.register().await.unwrap();
    device
        .set_attribute("valve_state", json!("closed"))
        .await
        .unwrap();
    device
        .set_attribute("moisture_level", json!(42.0))
        .await
        .unwrap();
    device
}

/// Bytes as JSON carries them: base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    BASE64URL_NOPAD.encode(bytes)
}

/// The bytes of a base64url `frame`.
#[track_caller]
pub fn unb64(value: &Value) -> Vec<u8> {
    BASE64URL_NOPAD
        .decode(value.as_str().expect("a frame is a string").as_bytes())
        .expect("a frame is base64url without padding")
}

/// The boot epoch requests to `device` are bound to.
pub fn epoch(device: &Device) -> [u8; 16] {
    HEXLOWER
        .decode(device.description().boot.as_bytes())
        .unwrap()
        .try_into()
        .unwrap()
}

/// A signed v2 request frame on `key` from `identity` to a device booted with `epoch`.
pub fn request_frame(identity: &Identity, key: &str, epoch: [u8; 16], body: &Value) -> Vec<u8> {
    Sealer::new(identity.clone(), Signing::Signed)
        .seal(key, Kind::Request, Binding::Epoch(epoch), body)
        .unwrap()
        .to_vec()
}

/// A running gateway on a loopback port.
pub struct Served {
    pub gateway: Gateway,
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.gateway.shutdown();
        self.task.abort();
    }
}

pub async fn serve(net: &MemoryNetwork, config: GatewayConfig) -> Served {
    serve_on(net, config, "127.0.0.1:0").await
}

/// A gateway listening on `bind` (the address tests reach it on is loopback all the same).
pub async fn serve_on(net: &MemoryNetwork, config: GatewayConfig, bind: &str) -> Served {
    let gateway = Gateway::new(Arc::new(net.session()), config).await.unwrap();
    let listener = TcpListener::bind(bind).await.unwrap();
    let mut addr = listener.local_addr().unwrap();
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let task = tokio::spawn(
        gateway
            .clone()
            .serve(listener, None, std::future::pending()),
    );
    Served {
        gateway,
        addr,
        task,
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a JSON error with `status` and `code`; returns its message.
    #[track_caller]
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.header("content-type"), Some("application/json"));
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        let message = body["error"]["message"].as_str().unwrap().to_owned();
        assert!(!message.is_empty());
        message
    }
}

/// One HTTP/1.1 request over its own connection (`Connection: close`), raw bytes out and in.
pub async fn http_raw(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = within("an HTTP response", stream.read_to_end(&mut out)).await;
    out
}

/// Sends bytes that may not be HTTP at all, then ends the writing side; returns what came back
/// before the server closed (or gave up).
pub async fn http_garbage(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let _ = stream.shutdown().await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    out
}

pub fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
        body = out;
    }
    Response {
        status,
        headers,
        body,
    }
}

pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("connection"))
    {
        req.push_str("Connection: close\r\n");
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    parse_response(&http_raw(addr, &bytes).await)
}

pub async fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[], b"").await
}

pub async fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Response {
    request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body,
    )
    .await
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket to `/v2/ws`.
pub async fn socket(addr: SocketAddr) -> Socket {
    let (ws, _) = tokio_tungstenite::client_async(
        format!("ws://{addr}/v2/ws"),
        MaybeTlsStream::Plain(TcpStream::connect(addr).await.unwrap()),
    )
    .await
    .unwrap();
    ws
}

pub async fn send(ws: &mut Socket, frame: Value) {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

pub async fn send_text(ws: &mut Socket, text: &str) {
    ws.send(Message::Text(text.to_owned().into()))
        .await
        .unwrap();
}

/// A binary message of the gateway, read as a client must read it: `tag ‖ u32be id ‖ u16be key
/// length ‖ key ‖ frame`, as `{"op": "reply" | "sample", "id", "key", "frame"}` with the frame
/// in base64url (so assertions treat every message alike).
#[track_caller]
pub fn read_binary(bytes: &[u8]) -> Value {
    assert!(bytes.len() >= 7, "a binary message shorter than its header");
    let op = match bytes[0] {
        TAG_REPLY => "reply",
        TAG_SAMPLE => "sample",
        tag => panic!("unknown tag {tag}"),
    };
    let id = u32::from_be_bytes(bytes[1..5].try_into().unwrap());
    let k = usize::from(u16::from_be_bytes(bytes[5..7].try_into().unwrap()));
    assert!((1..=MAX_KEY_LEN).contains(&k) && bytes.len() >= 7 + k);
    let key = std::str::from_utf8(&bytes[7..7 + k]).expect("a UTF-8 key");
    json!({"op": op, "id": id, "key": key, "frame": b64(&bytes[7 + k..])})
}

/// The next message (skipping pings): text as its JSON, binary as [`read_binary`] reads it.
pub async fn recv(ws: &mut Socket) -> Value {
    loop {
        let msg = within("a message", ws.next())
            .await
            .expect("the socket is open")
            .expect("a message");
        match msg {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Binary(bytes) => return read_binary(&bytes),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected message {other:?}"),
        }
    }
}

/// Subscribes (`op` is `subscribe` or `liveliness`) as operation `id` and waits for the
/// acknowledgement; returns what came for `id` before it (a watch's `alive` tokens).
pub async fn declare(ws: &mut Socket, op: &str, id: u64, key: &str) -> Vec<Value> {
    send(ws, json!({"op": op, "id": id, "key": key})).await;
    let mut before = Vec::new();
    loop {
        let m = recv(ws).await;
        if m["id"] != id {
            continue;
        }
        match m["op"].as_str() {
            Some("subscribed") => return before,
            Some("error") => panic!("operation {id} failed: {m}"),
            _ => before.push(m),
        }
    }
}

/// Receives frames until one with `op` for operation `id`.
pub async fn recv_op(ws: &mut Socket, id: u64, op: &str) -> Value {
    loop {
        let frame = recv(ws).await;
        if frame["id"] == id && frame["op"] == op {
            return frame;
        }
        assert!(
            !(frame["id"] == id && frame["op"] == "error"),
            "operation {id} failed: {frame}"
        );
    }
}

/// Runs a query over the socket and returns its replies (up to `end`).
/// Discovery over the socket (as operation `id`) finds the one device of the test: the socket
/// still serves.
pub async fn assert_discovers_one(ws: &mut Socket, id: u64) {
    assert_eq!(
        ws_query(ws, id, "safething/v1/*/description", None)
            .await
            .len(),
        1
    );
}

pub async fn ws_query(ws: &mut Socket, id: u64, key: &str, frame: Option<&[u8]>) -> Vec<Value> {
    let mut message = json!({"op": "query", "id": id, "key": key});
    if let Some(f) = frame {
        message["frame"] = json!(b64(f));
    }
    let frame = message;
    send(ws, frame).await;
    let mut replies = Vec::new();
    loop {
        let f = recv(ws).await;
        if f["id"] != id {
            continue;
        }
        match f["op"].as_str() {
            Some("reply") => replies.push(f),
            Some("end") => return replies,
            _ => panic!("unexpected frame for query {id}: {f}"),
        }
    }
}

/// Asserts an error frame with `code` (and the id when given).
#[track_caller]
pub fn assert_error(frame: &Value, id: Option<u64>, code: &str) {
    assert_eq!(frame["op"], "error", "{frame}");
    assert_eq!(frame["error"]["code"], code, "{frame}");
    assert!(
        frame["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    match id {
        Some(id) => assert_eq!(frame["id"], id, "{frame}"),
        None => assert!(frame.get("id").is_none(), "{frame}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A `Transport` over the gateway's WebSocket protocol, for the Rust client.

enum Route {
    Samples(mpsc::Sender<Sample>),
    Replies(mpsc::Sender<Reply>),
    Liveliness(mpsc::Sender<Liveliness>),
}

/// Open operations by id, and the declarations waiting for their `subscribed`.
#[derive(Default)]
struct Routes {
    open: HashMap<u64, Route>,
    acks: HashMap<u64, oneshot::Sender<Result<(), String>>>,
}

#[derive(Clone)]
pub struct WsTransport {
    out: mpsc::UnboundedSender<Value>,
    routes: Arc<Mutex<Routes>>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

struct CloseOnDrop {
    id: u64,
    out: mpsc::UnboundedSender<Value>,
    routes: Arc<Mutex<Routes>>,
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if self.routes.lock().unwrap().open.remove(&self.id).is_some() {
            let _ = self.out.send(json!({"op": "close", "id": self.id}));
        }
    }
}

impl WsTransport {
    pub async fn connect(addr: SocketAddr) -> WsTransport {
        let ws = socket(addr).await;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Value>();
        let routes: Arc<Mutex<Routes>> = Arc::default();
        tokio::spawn(async move {
            while let Some(frame) = out_rx.recv().await {
                if sink
                    .send(Message::Text(frame.to_string().into()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let r = routes.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let m = match msg {
                    Message::Text(text) => serde_json::from_str::<Value>(text.as_str()).unwrap(),
                    Message::Binary(bytes) => read_binary(&bytes),
                    _ => continue,
                };
                let Some(id) = m["id"].as_u64() else {
                    panic!("a message without id: {m}")
                };
                let key: std::sync::Arc<str> = m["key"].as_str().unwrap_or_default().into();
                let sample = || Sample {
                    key: key.clone(),
                    payload: Bytes::from(unb64(&m["frame"])),
                };
                let mut routes = r.lock().unwrap();
                match (m["op"].as_str(), routes.open.get(&id)) {
                    (Some("sample"), Some(Route::Samples(tx))) => {
                        let _ = tx.try_send(sample());
                    }
                    (Some("reply"), Some(Route::Replies(tx))) => {
                        let _ = tx.try_send(Reply::Ok(sample()));
                    }
                    (Some("alive"), Some(Route::Liveliness(tx))) => {
                        let _ = tx.try_send(Liveliness::Alive(key.to_string()));
                    }
                    (Some("gone"), Some(Route::Liveliness(tx))) => {
                        let _ = tx.try_send(Liveliness::Gone(key.to_string()));
                    }
                    (Some("subscribed"), _) => {
                        if let Some(ack) = routes.acks.remove(&id) {
                            let _ = ack.send(Ok(()));
                        }
                    }
                    (Some("end" | "error"), _) => {
                        routes.open.remove(&id);
                        if let Some(ack) = routes.acks.remove(&id) {
                            let _ = ack.send(Err(m.to_string()));
                        }
                    }
                    _ => {}
                }
            }
            let mut routes = r.lock().unwrap();
            routes.open.clear();
            routes.acks.clear();
        });
        WsTransport {
            out,
            routes,
            next: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    /// Declares over the socket: `route` takes the channel the answers go to, `frame` says what
    /// to ask for; the stream lasts as long as the declaration. Subscriptions and watches
    /// (`acknowledged`) are ready once the gateway said `subscribed`.
    fn declare<T: Send + 'static>(
        &self,
        route: impl FnOnce(mpsc::Sender<T>) -> Route,
        frame: impl FnOnce(u64) -> Value,
        acknowledged: bool,
    ) -> BoxFuture<'static, Result<Receiver<T>, TransportError>> {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (ack_tx, ack_rx) = oneshot::channel();
        {
            let mut routes = self.routes.lock().unwrap();
            routes.open.insert(id, route(tx));
            if acknowledged {
                routes.acks.insert(id, ack_tx);
            }
        }
        let _ = self.out.send(frame(id));
        let guard = CloseOnDrop {
            id,
            out: self.out.clone(),
            routes: self.routes.clone(),
        };
        Box::pin(async move {
            if acknowledged {
                match ack_rx.await {
                    Ok(Ok(())) => {}
                    Ok(Err(refused)) => return Err(TransportError::Other(refused)),
                    Err(_) => return Err(TransportError::Closed),
                }
            }
            Ok(Receiver::new(rx, Box::new(guard) as Guard))
        })
    }
}

fn unsupported<T>(what: &str) -> BoxFuture<'static, Result<T, TransportError>> {
    let what = what.to_owned();
    Box::pin(async move {
        Err(TransportError::Unavailable(format!(
            "{what} is not offered by the gateway"
        )))
    })
}

impl Transport for WsTransport {
    fn publish(&self, _key: &str, _payload: Bytes) -> Publishing<'_> {
        Publishing::pending(unsupported("publishing"))
    }

    fn subscribe(&self, key_expr: &str) -> BoxFuture<'_, Result<Subscriber, TransportError>> {
        let key = key_expr.to_owned();
        self.declare(
            Route::Samples,
            |id| json!({"op": "subscribe", "id": id, "key": key}),
            true,
        )
    }

    fn queryable(&self, _key_expr: &str) -> BoxFuture<'_, Result<Queryable, TransportError>> {
        unsupported("answering queries")
    }

    fn query(
        &self,
        key_expr: &str,
        payload: Option<Bytes>,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Replies, TransportError>> {
        let key = key_expr.to_owned();
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap();
        self.declare(
            Route::Replies,
            |id| {
                let mut frame =
                    json!({"op": "query", "id": id, "key": key, "timeout_ms": timeout_ms});
                if let Some(p) = payload {
                    frame["frame"] = json!(b64(&p));
                }
                frame
            },
            false,
        )
    }

    fn liveliness_token(&self, _key: &str) -> BoxFuture<'_, Result<Guard, TransportError>> {
        unsupported("liveliness tokens")
    }

    fn watch_liveliness(
        &self,
        key_expr: &str,
    ) -> BoxFuture<'_, Result<LivelinessWatch, TransportError>> {
        let key = key_expr.to_owned();
        self.declare(
            Route::Liveliness,
            |id| json!({"op": "liveliness", "id": id, "key": key}),
            true,
        )
    }
}

//! Test plumbing: a gardening device on a `MemoryNetwork`, a gateway on a loopback port, a raw
//! HTTP/1.1 client, a WebSocket client, and a Rust `Transport` that speaks the gateway's
//! WebSocket protocol (so the Rust `Client` runs through the gateway, end to end).

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
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use safething::device::{Device, Handlers};
use safething::ir::CheckedDefinition;
use safething::transport::memory::MemoryNetwork;
use safething::transport::{
    CHANNEL_CAPACITY, Guard, Liveliness, LivelinessWatch, Publishing, Queryable, Receiver, Replies,
    Reply, Sample, Subscriber, Transport, TransportError,
};
use safething::wire::ActionError;
use safething_gateway::{Gateway, GatewayConfig};

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
    let gateway = Gateway::new(Arc::new(net.session()), config).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
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

/// A WebSocket to `/v1/ws`.
pub async fn socket(addr: SocketAddr) -> Socket {
    let (ws, _) = tokio_tungstenite::client_async(
        format!("ws://{addr}/v1/ws"),
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

/// The next JSON frame (skipping pings).
pub async fn recv(ws: &mut Socket) -> Value {
    loop {
        let msg = within("a frame", ws.next())
            .await
            .expect("the socket is open")
            .expect("a frame");
        match msg {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
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

pub async fn ws_query(ws: &mut Socket, id: u64, key: &str, payload: Option<&str>) -> Vec<Value> {
    let mut frame = json!({"op": "query", "id": id, "key": key});
    if let Some(p) = payload {
        frame["payload"] = json!(p);
    }
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

#[derive(Clone)]
pub struct WsTransport {
    out: mpsc::UnboundedSender<Value>,
    routes: Arc<Mutex<HashMap<u64, Route>>>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

struct CloseOnDrop {
    id: u64,
    out: mpsc::UnboundedSender<Value>,
    routes: Arc<Mutex<HashMap<u64, Route>>>,
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if self.routes.lock().unwrap().remove(&self.id).is_some() {
            let _ = self.out.send(json!({"op": "close", "id": self.id}));
        }
    }
}

impl WsTransport {
    pub async fn connect(addr: SocketAddr) -> WsTransport {
        let ws = socket(addr).await;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Value>();
        let routes: Arc<Mutex<HashMap<u64, Route>>> = Arc::default();
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
                let Message::Text(text) = msg else { continue };
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                let Some(id) = frame["id"].as_u64() else {
                    panic!("frame without id: {frame}")
                };
                let key: std::sync::Arc<str> = frame["key"].as_str().unwrap_or_default().into();
                let envelope = frame["envelope"].as_str().unwrap_or_default().to_owned();
                let sample = || Sample {
                    key: key.clone(),
                    payload: Bytes::from(envelope.clone().into_bytes()),
                };
                let mut routes = r.lock().unwrap();
                match (frame["op"].as_str(), routes.get(&id)) {
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
                    (Some("end" | "error"), _) => {
                        routes.remove(&id);
                    }
                    _ => {}
                }
            }
            r.lock().unwrap().clear();
        });
        WsTransport {
            out,
            routes,
            next: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    fn open(&self, route: Route, frame: impl FnOnce(u64) -> Value) -> CloseOnDrop {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.routes.lock().unwrap().insert(id, route);
        let _ = self.out.send(frame(id));
        CloseOnDrop {
            id,
            out: self.out.clone(),
            routes: self.routes.clone(),
        }
    }

    /// Declares over the socket: `route` takes the channel the answers go to, `frame` says what
    /// to ask for; the stream lasts as long as the declaration.
    fn declare<T: Send + 'static>(
        &self,
        route: impl FnOnce(mpsc::Sender<T>) -> Route,
        frame: impl FnOnce(u64) -> Value,
    ) -> BoxFuture<'static, Result<Receiver<T>, TransportError>> {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let guard = self.open(route(tx), frame);
        Box::pin(async move { Ok(Receiver::new(rx, Box::new(guard) as Guard)) })
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
        let payload = payload.map(|p| String::from_utf8(p.to_vec()).unwrap());
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap();
        self.declare(Route::Replies, |id| {
            let mut frame = json!({"op": "query", "id": id, "key": key, "timeout_ms": timeout_ms});
            if let Some(p) = payload {
                frame["payload"] = json!(p);
            }
            frame
        })
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
        )
    }
}

//! The WebSocket protocol v1 (`/v1/ws`): numbered operations — `subscribe`, `query`,
//! `liveliness`, `close` — each run by a task of its own that tags what it sends with the
//! operation's id. A refused frame gets an `error` frame; the socket stays open.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::task::AbortHandle;

use super::error::{ApiError, ErrorBody};
use super::http::{parse_json, text};
use super::{Shared, check};
use safething::transport::{Liveliness, Reply};

/// Frames up to this size are read (and refused with an error frame when over the configured
/// limit); larger ones close the socket.
const HARD_LIMIT: usize = 1024 * 1024;

/// Frames queued for one socket before its operations wait.
const OUTBOX: usize = 256;

pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::new(
                e.status(),
                "not_websocket",
                format!("`/v1/ws` speaks WebSocket only: {}", e.body_text()),
            )
            .into_response();
        }
    };
    let Ok(permit) = shared.sockets.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sockets",
            format!(
                "the gateway has {} WebSockets open, its limit: try again later",
                shared.config.max_sockets
            ),
        )
        .into_response();
    };
    let limit = HARD_LIMIT.max(shared.config.max_body);
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| Session::run(shared, socket, permit))
}

/// What operation tasks hand to the socket.
enum Out {
    /// A frame of a running operation.
    Frame(String),
    /// The last frame of an operation (`end`, or an `error`): the id is free again.
    Last(u64, String),
}

/// The open operations of a socket; dropping it stops them all.
#[derive(Default)]
struct Ops(HashMap<u64, AbortHandle>);

impl Drop for Ops {
    fn drop(&mut self) {
        for (_, task) in self.0.drain() {
            task.abort();
        }
    }
}

struct Session {
    shared: Arc<Shared>,
    ops: Ops,
    outbox: mpsc::Sender<Out>,
}

/// Frames the gateway sends.
#[derive(Serialize)]
struct Sent<'a> {
    op: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    envelope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody<'a>>,
}

impl<'a> Sent<'a> {
    fn new(op: &'a str, id: u64) -> Sent<'a> {
        Sent {
            op,
            id: Some(id),
            key: None,
            envelope: None,
            error: None,
        }
    }

    fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn error_frame(id: Option<u64>, error: &ApiError) -> String {
    Sent {
        op: "error",
        id,
        key: None,
        envelope: None,
        error: Some(ErrorBody {
            code: error.code,
            message: &error.message,
        }),
    }
    .text()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    #[serde(rename = "op")]
    _op: String,
    #[serde(rename = "id")]
    _id: u64,
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    #[serde(rename = "op")]
    _op: String,
    #[serde(rename = "id")]
    _id: u64,
    key: String,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Close {
    #[serde(rename = "op")]
    _op: String,
    #[serde(rename = "id")]
    _id: u64,
}

/// An operation a frame asks for.
enum Op {
    Subscribe(String),
    Query(String, Option<String>, Duration),
    Liveliness(String),
    Close,
}

impl Session {
    async fn run(shared: Arc<Shared>, mut socket: WebSocket, _permit: OwnedSemaphorePermit) {
        let (outbox, mut out) = mpsc::channel(OUTBOX);
        let stop = shared.shutdown.clone();
        let mut session = Session {
            shared,
            ops: Ops::default(),
            outbox,
        };
        loop {
            tokio::select! {
                () = stop.cancelled() => {
                    let _ = socket
                        .send(Message::Close(Some(CloseFrame {
                            code: 1001,
                            reason: "the gateway is shutting down".into(),
                        })))
                        .await;
                    break;
                }
                incoming = socket.recv() => {
                    let reply = match incoming {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                        Some(Ok(Message::Text(text))) => session.handle(text.as_str()),
                        Some(Ok(Message::Binary(_))) => Some(error_frame(
                            None,
                            &ApiError::bad_request(
                                "binary_frame",
                                "frames are JSON text; binary frames are not understood",
                            ),
                        )),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    };
                    if let Some(reply) = reply
                        && socket.send(Message::Text(reply.into())).await.is_err()
                    {
                        break;
                    }
                }
                Some(item) = out.recv() => {
                    let text = match item {
                        Out::Frame(text) => text,
                        Out::Last(id, text) => {
                            session.ops.0.remove(&id);
                            text
                        }
                    };
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
            }
        }
    }

    /// Handles one text frame; returns the error frame to send when it is refused.
    fn handle(&mut self, text: &str) -> Option<String> {
        match self.parse(text) {
            Ok((id, Op::Close)) => match self.ops.0.remove(&id) {
                Some(task) => {
                    task.abort();
                    None
                }
                None => Some(error_frame(
                    Some(id),
                    &ApiError::bad_request("unknown_id", format!("no open operation {id}")),
                )),
            },
            Ok((id, op)) => {
                if self.ops.0.contains_key(&id) {
                    return Some(error_frame(
                        Some(id),
                        &ApiError::bad_request(
                            "duplicate_id",
                            format!("operation {id} is open: number each operation anew"),
                        ),
                    ));
                }
                if self.ops.0.len() >= self.shared.config.max_operations {
                    return Some(error_frame(
                        Some(id),
                        &ApiError::bad_request(
                            "too_many_operations",
                            format!(
                                "this socket has {} operations open, its limit: close some first",
                                self.shared.config.max_operations
                            ),
                        ),
                    ));
                }
                let task = tokio::spawn(run_op(self.shared.clone(), self.outbox.clone(), id, op));
                self.ops.0.insert(id, task.abort_handle());
                None
            }
            Err((id, error)) => Some(error_frame(id, &error)),
        }
    }

    fn parse(&self, text: &str) -> Result<(u64, Op), (Option<u64>, ApiError)> {
        let limit = self.shared.config.max_body;
        if text.len() > limit {
            return Err((None, ApiError::too_large("the frame", limit)));
        }
        let value: Value = parse_json(text.as_bytes()).map_err(|e| (None, e))?;
        let Value::Object(frame) = &value else {
            return Err((
                None,
                ApiError::bad_request("invalid_request", "a frame is one JSON object"),
            ));
        };
        let id = match frame.get("id") {
            Some(id) => Some(id.as_u64().ok_or_else(|| {
                (
                    None,
                    ApiError::bad_request("invalid_request", "`id` must be a non-negative integer"),
                )
            })?),
            None => None,
        };
        let op = match frame.get("op") {
            Some(Value::String(op)) => op.as_str(),
            Some(_) => {
                return Err((
                    id,
                    ApiError::bad_request("invalid_request", "`op` must be a string"),
                ));
            }
            None => {
                return Err((
                    id,
                    ApiError::bad_request("invalid_request", "a frame needs an `op`"),
                ));
            }
        };
        if !matches!(op, "subscribe" | "query" | "liveliness" | "close") {
            return Err((
                id,
                ApiError::bad_request(
                    "unknown_op",
                    format!("unknown op `{op}`: subscribe, query, liveliness or close"),
                ),
            ));
        }
        let Some(id) = id else {
            return Err((
                None,
                ApiError::bad_request("invalid_request", "a frame needs an `id`"),
            ));
        };
        let fields = |e: serde_json::Error| {
            (
                Some(id),
                ApiError::bad_request("invalid_request", format!("`{op}`: {e}")),
            )
        };
        let op = match op {
            "subscribe" => {
                let f: Subscribe = serde_json::from_value(value.clone()).map_err(fields)?;
                check::watch_key(&f.key).map_err(|e| (Some(id), e))?;
                Op::Subscribe(f.key)
            }
            "liveliness" => {
                let f: Subscribe = serde_json::from_value(value.clone()).map_err(fields)?;
                check::watch_key(&f.key).map_err(|e| (Some(id), e))?;
                Op::Liveliness(f.key)
            }
            "query" => {
                let f: Query = serde_json::from_value(value.clone()).map_err(fields)?;
                check::query_key(&f.key).map_err(|e| (Some(id), e))?;
                if let Some(payload) = &f.payload {
                    check::envelope(payload).map_err(|e| (Some(id), e))?;
                }
                Op::Query(f.key, f.payload, check::timeout(f.timeout_ms))
            }
            _ => {
                let _: Close = serde_json::from_value(value.clone()).map_err(fields)?;
                Op::Close
            }
        };
        Ok((id, op))
    }
}

/// Runs one operation until it ends (queries), fails, or is closed (its task aborted).
async fn run_op(shared: Arc<Shared>, outbox: mpsc::Sender<Out>, id: u64, op: Op) {
    let transport = &shared.transport;
    let failed = |e: safething::transport::TransportError| {
        Out::Last(id, error_frame(Some(id), &ApiError::transport(&e)))
    };
    let last = match op {
        Op::Subscribe(key) => match transport.subscribe(&key).await {
            Ok(mut subscriber) => {
                while let Some(sample) = subscriber.recv().await {
                    let Some(envelope) = text(&sample) else {
                        continue;
                    };
                    let frame = Sent {
                        key: Some(&sample.key),
                        envelope: Some(envelope),
                        ..Sent::new("sample", id)
                    };
                    if outbox.send(Out::Frame(frame.text())).await.is_err() {
                        return;
                    }
                }
                ended(
                    id,
                    "the subscription ended: the gateway's network session closed",
                )
            }
            Err(e) => failed(e),
        },
        Op::Liveliness(key) => match transport.watch_liveliness(&key).await {
            Ok(mut watch) => {
                while let Some(change) = watch.recv().await {
                    let (op, key) = match &change {
                        Liveliness::Alive(key) => ("alive", key),
                        Liveliness::Gone(key) => ("gone", key),
                    };
                    let frame = Sent {
                        key: Some(key),
                        ..Sent::new(op, id)
                    };
                    if outbox.send(Out::Frame(frame.text())).await.is_err() {
                        return;
                    }
                }
                ended(
                    id,
                    "the liveliness watch ended: the gateway's network session closed",
                )
            }
            Err(e) => failed(e),
        },
        Op::Query(key, payload, timeout) => {
            let payload = payload.map(|p| Bytes::from(p.into_bytes()));
            match transport.query(&key, payload, timeout).await {
                Ok(mut replies) => {
                    while let Some(reply) = replies.recv().await {
                        let Reply::Ok(sample) = reply else { continue };
                        let Some(envelope) = text(&sample) else {
                            continue;
                        };
                        let frame = Sent {
                            key: Some(&sample.key),
                            envelope: Some(envelope),
                            ..Sent::new("reply", id)
                        };
                        if outbox.send(Out::Frame(frame.text())).await.is_err() {
                            return;
                        }
                    }
                    Out::Last(id, Sent::new("end", id).text())
                }
                Err(e) => failed(e),
            }
        }
        Op::Close => return,
    };
    let _ = outbox.send(last).await;
}

fn ended(id: u64, message: &str) -> Out {
    Out::Last(
        id,
        error_frame(
            Some(id),
            &ApiError::new(StatusCode::BAD_GATEWAY, "transport", message),
        ),
    )
}

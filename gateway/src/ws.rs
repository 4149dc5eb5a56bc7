//! The WebSocket protocol v2 (`/v2/ws`): numbered operations — `subscribe`, `query`,
//! `liveliness`, `close` — sent as text, each run by a task of its own that tags what it sends
//! with the operation's id: control messages as text, frames as binary messages
//! (`tag ‖ u32be id ‖ u16be key length ‖ key ‖ frame`). A refused message gets an `error`; the
//! socket stays open.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::task::AbortHandle;

use super::error::{ApiError, ErrorBody};
use super::http::parse_json;
use super::query::{Caps, permit};
use super::{Shared, check};
use safething::transport::{Liveliness, Reply, Sample};

/// The tag of a binary message carrying a reply to a query.
pub const TAG_REPLY: u8 = 0x01;

/// The tag of a binary message carrying a sample of a subscription.
pub const TAG_SAMPLE: u8 = 0x02;

/// The longest key expression a binary message carries, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// A binary message: `tag ‖ u32be id ‖ u16be key length ‖ key ‖ frame`; `None` (and a
/// `debug` log) for a key that is empty or longer than [`MAX_KEY_LEN`].
fn binary(tag: u8, id: u32, sample: &Sample) -> Option<Vec<u8>> {
    let key = sample.key.as_bytes();
    let len = u16::try_from(key.len())
        .ok()
        .filter(|_| (1..=MAX_KEY_LEN).contains(&key.len()));
    let Some(len) = len else {
        tracing::debug!(key = %sample.key, "dropped a frame on a key too long to relay");
        return None;
    };
    let mut out = Vec::with_capacity(7 + key.len() + sample.payload.len());
    out.push(tag);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&sample.payload);
    Some(out)
}

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
                format!("`/v2/ws` speaks WebSocket only: {}", e.body_text()),
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
    /// A control message of a running operation (`subscribed`, `alive`, `gone`).
    Text(String),
    /// A binary message (a reply or a sample).
    Binary(Vec<u8>),
    /// The last message of an operation (`end`, or an `error`): the id is free again.
    Last(u32, String),
}

/// The open operations of a socket; dropping it stops them all.
#[derive(Default)]
struct Ops(HashMap<u32, AbortHandle>);

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

/// Text messages the gateway sends.
#[derive(Serialize)]
struct Sent<'a> {
    op: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody<'a>>,
}

impl<'a> Sent<'a> {
    fn new(op: &'a str, id: u32) -> Sent<'a> {
        Sent {
            op,
            id: Some(id),
            key: None,
            error: None,
        }
    }

    fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn error_frame(id: Option<u32>, error: &ApiError) -> String {
    Sent {
        op: "error",
        id,
        key: None,
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
    frame: Option<String>,
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

/// An operation a message asks for.
enum Op {
    Subscribe(String),
    /// A query, with its place among the queries in flight.
    Query(String, Option<bytes::Bytes>, Duration),
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
                                "clients send JSON text messages; binary messages are the \
                                 gateway's",
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
                    let message = match item {
                        Out::Text(text) => Message::Text(text.into()),
                        Out::Binary(bytes) => Message::Binary(bytes.into()),
                        Out::Last(id, text) => {
                            session.ops.0.remove(&id);
                            Message::Text(text.into())
                        }
                    };
                    if socket.send(message).await.is_err() {
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
                // A query holds its place among the gateway's queries in flight until it ends.
                let place = match &op {
                    Op::Query(..) => match permit(&self.shared) {
                        Ok(place) => Some(place),
                        Err(e) => return Some(error_frame(Some(id), &e)),
                    },
                    _ => None,
                };
                let task = tokio::spawn(run_op(
                    self.shared.clone(),
                    self.outbox.clone(),
                    id,
                    op,
                    place,
                ));
                self.ops.0.insert(id, task.abort_handle());
                None
            }
            Err((id, error)) => Some(error_frame(id, &error)),
        }
    }

    fn parse(&self, text: &str) -> Result<(u32, Op), (Option<u32>, ApiError)> {
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
            Some(id) => Some(
                id.as_u64()
                    .and_then(|id| u32::try_from(id).ok())
                    .ok_or_else(|| {
                        (
                            None,
                            ApiError::bad_request(
                                "invalid_request",
                                "`id` must be an integer with 0 ≤ id < 2³²",
                            ),
                        )
                    })?,
            ),
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
                let frame = f
                    .frame
                    .as_deref()
                    .map(|text| check::query_payload(&f.key, text))
                    .transpose()
                    .map_err(|e| (Some(id), e))?;
                let timeout = check::timeout(f.timeout_ms, self.shared.config.max_query_ms);
                Op::Query(f.key, frame, timeout)
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
async fn run_op(
    shared: Arc<Shared>,
    outbox: mpsc::Sender<Out>,
    id: u32,
    op: Op,
    _place: Option<OwnedSemaphorePermit>,
) {
    let transport = &shared.transport;
    let failed = |e: safething::transport::TransportError| {
        Out::Last(id, error_frame(Some(id), &ApiError::transport(&e)))
    };
    let subscribed = || Out::Text(Sent::new("subscribed", id).text());
    let last = match op {
        Op::Subscribe(key) => match transport.subscribe(&key).await {
            Ok(mut subscriber) => {
                // Declared: what is published from now on reaches this subscriber.
                if outbox.send(subscribed()).await.is_err() {
                    return;
                }
                while let Some(sample) = subscriber.recv().await {
                    if !check::is_frame(&sample.key, &sample.payload) {
                        continue;
                    }
                    let Some(message) = binary(TAG_SAMPLE, id, &sample) else {
                        continue;
                    };
                    if outbox.send(Out::Binary(message)).await.is_err() {
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
                let alive = |change: &Liveliness| {
                    let (op, key) = match change {
                        Liveliness::Alive(key) => ("alive", key),
                        Liveliness::Gone(key) => ("gone", key),
                    };
                    Out::Text(
                        Sent {
                            key: Some(key),
                            ..Sent::new(op, id)
                        }
                        .text(),
                    )
                };
                // The tokens alive now are delivered at the declaration: send what is there
                // already, then acknowledge. Unconstrained: tokio's cooperative budget must not
                // make a waiting token look absent.
                let mut open = true;
                while let Some(ready) = tokio::task::unconstrained(watch.recv()).now_or_never() {
                    let Some(change) = ready else {
                        open = false;
                        break;
                    };
                    if outbox.send(alive(&change)).await.is_err() {
                        return;
                    }
                }
                if open {
                    if outbox.send(subscribed()).await.is_err() {
                        return;
                    }
                    while let Some(change) = watch.recv().await {
                        if outbox.send(alive(&change)).await.is_err() {
                            return;
                        }
                    }
                }
                ended(
                    id,
                    "the liveliness watch ended: the gateway's network session closed",
                )
            }
            Err(e) => failed(e),
        },
        Op::Query(key, frame, timeout) => match transport.query(&key, frame, timeout).await {
            Ok(mut replies) => {
                let mut caps = Caps::new(&shared);
                let mut last = Out::Last(id, Sent::new("end", id).text());
                while let Some(reply) = replies.recv().await {
                    let sample = match reply {
                        Reply::Ok(sample) => sample,
                        Reply::Err(payload) => {
                            tracing::debug!(%key, len = payload.len(), "dropped an error reply");
                            continue;
                        }
                    };
                    if !check::is_frame(&sample.key, &sample.payload) {
                        continue;
                    }
                    if let Err(e) = caps.admit(sample.payload.len()) {
                        last = Out::Last(id, error_frame(Some(id), &e));
                        break;
                    }
                    let Some(message) = binary(TAG_REPLY, id, &sample) else {
                        continue;
                    };
                    if outbox.send(Out::Binary(message)).await.is_err() {
                        return;
                    }
                }
                last
            }
            Err(e) => failed(e),
        },
        Op::Close => return,
    };
    let _ = outbox.send(last).await;
}

fn ended(id: u32, message: &str) -> Out {
    Out::Last(
        id,
        error_frame(
            Some(id),
            &ApiError::new(StatusCode::BAD_GATEWAY, "transport", message),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_messages() {
        let sample = Sample {
            key: "safething/v1/garden-01/admin".into(),
            payload: bytes::Bytes::from_static(b"ST\x02frame"),
        };
        let m = binary(TAG_REPLY, 0x0102_0304, &sample).unwrap();
        assert_eq!(m[..7], [TAG_REPLY, 1, 2, 3, 4, 0, 28]);
        assert_eq!(&m[7..35], sample.key.as_bytes());
        assert_eq!(&m[35..], &sample.payload[..]);
        let long = Sample {
            key: "k".repeat(MAX_KEY_LEN + 1).into(),
            payload: sample.payload.clone(),
        };
        assert!(binary(TAG_SAMPLE, 1, &long).is_none());
        let fits = Sample {
            key: "k".repeat(MAX_KEY_LEN).into(),
            payload: sample.payload,
        };
        assert!(binary(TAG_SAMPLE, 1, &fits).is_some());
    }
}

//! Answering queries: routing by key, verifying, checking access, replying signed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::envelope::{Binding, EnvelopeError, Kind, Opened};
use crate::keys::{self, Route};
use crate::transport::{Query, QueryHandler, keyexpr};
use crate::wire::{
    AdminRequest, AttributeRequest, Description, Lifecycle, Outcome, Problem, ReadReply,
};

use super::{Inner, WriteContext, actions, lock};

/// How long a request's first step may hold the transport's receive thread before the device
/// stops answering there (a handler that blocks before its first await).
const SLOW_FIRST_STEP: Duration = Duration::from_millis(10);

/// The device's query handler: routes each query to what answers it, until the device shuts
/// down. It may run on the transport's receive thread (see [`start`]).
pub(crate) fn handler(inner: Arc<Inner>) -> QueryHandler {
    Arc::new(move |query: Query| {
        // After shutdown the query is dropped unanswered, which ends it for the requester.
        if !inner.shutdown.is_cancelled() {
            dispatch(&inner, query);
        }
    })
}

fn dispatch(inner: &Arc<Inner>, query: Query) {
    if query.key_expr.contains('*') {
        // Wildcard queries are discovery: only the description answers them.
        let description = keys::description(&inner.id);
        if keyexpr::intersects(&query.key_expr, &description) {
            reply_description(inner, &query, &description);
        }
        return;
    }
    // Sessions (`docs/protocol.md` §10): handshakes, and requests sealed in a session, which
    // go on as the v2 request they carry, their replies sealed for the session.
    let query = match &query.payload {
        Some(payload) if crate::session::is_session_frame(payload) => {
            match session_query(inner, query) {
                Some(query) => query,
                None => return,
            }
        }
        _ => query,
    };
    let Some((id, route)) = keys::parse(&query.key_expr) else {
        return;
    };
    if id != inner.id.as_str() {
        return;
    }
    match route {
        Route::Description => {
            let key = query.key_expr.clone();
            reply_description(inner, &query, &key);
        }
        Route::Attribute(name) => {
            let (task_inner, name) = (inner.clone(), name.to_owned());
            start(inner, async move {
                on_attribute(&task_inner, query, &name).await
            });
        }
        Route::Action(name) => {
            let (task_inner, name) = (inner.clone(), name.to_owned());
            start(inner, async move {
                actions::on_action(&task_inner, query, &name).await
            });
        }
        Route::Request(request) => {
            let (task_inner, request) = (inner.clone(), request.to_owned());
            start(inner, async move {
                actions::on_request_query(&task_inner, query, &request).await
            });
        }
        Route::Admin => {
            // Owner operations save the device's state file: never on the receive thread.
            let inner = inner.clone();
            tokio::spawn(async move { on_admin(&inner, query).await });
        }
        Route::Event(_) => {}
    }
}

/// Handles a session frame: answers a hello, or opens a sealed request into the v2 request it
/// carries (`None` when there is nothing more to do).
fn session_query(inner: &Arc<Inner>, query: Query) -> Option<Query> {
    use crate::session::{self, device::Refusal};
    let payload = query.payload.clone()?;
    let refused = |e: &dyn std::fmt::Display| {
        inner.stats.unverified.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(thing = %inner.id, key = %query.key_expr, error = %e, "refused a session frame");
    };
    match session::frame_type(&payload) {
        Some(session::HELLO) if query.key_expr == session::key(&inner.id) => {
            let answer = inner
                .sessions
                .on_hello(
                    inner.sealer.identity(),
                    inner.boot,
                    &query.key_expr,
                    &payload,
                )
                .unwrap_or_else(|e| {
                    refused(&e);
                    session::refused()
                });
            if let Err(e) = query.reply(&query.key_expr, bytes::Bytes::from(answer)) {
                tracing::debug!(thing = %inner.id, error = %e, "handshake answer not delivered");
            }
            None
        }
        Some(session::SEALED) => match inner.sessions.open(&query.key_expr, &payload) {
            Ok((session, plain)) => Some(Query {
                key_expr: query.key_expr,
                payload: Some(bytes::Bytes::from(plain)),
                replier: Box::new(session::device::SessionReplier {
                    session,
                    inner: query.replier,
                }),
            }),
            Err(Refusal::Unknown(sid, ctr)) => {
                refused(&session::SessionError::Unknown);
                let answer =
                    inner
                        .sessions
                        .unknown(inner.sealer.identity(), &query.key_expr, sid, ctr)?;
                if let Err(e) = query.reply(&query.key_expr, bytes::Bytes::from(answer)) {
                    tracing::debug!(thing = %inner.id, error = %e, "session answer not delivered");
                }
                None
            }
            Err(Refusal::Dropped(e)) => {
                refused(&e);
                None
            }
        },
        _ => {
            refused(&"not a session frame a device takes here");
            None
        }
    }
}

/// Runs a request's task: its first steps right here — on the transport's receive thread
/// when it calls the handler there — and the rest (if any) as a task of its own. A quick
/// action is then answered without waking a task, which costs more than the action. A first
/// step slower than [`SLOW_FIRST_STEP`] (a handler that blocks) makes the device run every
/// later request as a task from the start. A panic ends the request, never the device.
fn start(inner: &Inner, task: impl std::future::Future<Output = ()> + Send + 'static) {
    start_on(&inner.answer_on_receive, inner.id.as_str(), task);
}

/// [`start`], with the switch and the thing's name passed apart (tests need no device).
fn start_on(
    inline: &AtomicBool,
    thing: &str,
    task: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let mut task = Box::pin(
        std::panic::AssertUnwindSafe(task)
            .catch_unwind()
            .map(|_| ()),
    );
    if !inline.load(Ordering::Relaxed) {
        tokio::spawn(task);
        return;
    }
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let began = std::time::Instant::now();
    let pending = task.as_mut().poll(&mut cx).is_pending();
    let took = began.elapsed();
    if took > SLOW_FIRST_STEP && inline.swap(false, Ordering::Relaxed) {
        tracing::warn!(
            thing,
            took_ms = took.as_millis(),
            "a request's first step held the receive thread too long (does a handler block \
             before its first await?): requests now run as tasks"
        );
    }
    if pending {
        tokio::spawn(task);
    }
}

/// Answers a description query (discovery queries carry no request to bind the answer to).
fn reply_description(inner: &Inner, query: &Query, key: &str) {
    let bytes = inner
        .sealer
        .seal(key, Kind::Description, Binding::None, &inner.description());
    send(inner, query, key, bytes);
}

/// Who a request claims to come from and its id, read from its frame before anything is
/// verified: what a reply to it is bound to. `None` when the payload is no v2 frame at all
/// (logged: such a request cannot be answered in a form its sender reads).
pub(crate) fn asker(inner: &Inner, query: &Query) -> Option<Binding> {
    let payload = query.payload.as_ref()?;
    match crate::frame::decode(payload) {
        Ok(frame) => Some(Binding::Request {
            id: frame.header.id,
            requester: frame.header.sender,
        }),
        Err(e) => {
            inner.stats.unverified.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(thing = %inner.id, key = %query.key_expr, error = %e, "refused a request that is not a protocol v2 frame");
            None
        }
    }
}

/// Sends a signed reply on the query's own key, bound to the request `to` names (no reply
/// when there is nothing to bind it to).
pub(crate) fn reply<T: Serialize>(inner: &Inner, query: &Query, to: Option<Binding>, body: &T) {
    let Some(to) = to else { return };
    let key = query.key_expr.clone();
    let bytes = frame_reply(inner, query, None, &key, Kind::Reply, to, body);
    send(inner, query, &key, bytes);
}

/// Frames an answer to `query` for `key`: signed (and sealed for `access`, when given), or, to
/// a request that came in a session, unsigned and in the clear — the session's AEAD seals it
/// for the requester alone ([`crate::session::device::SessionReplier`]).
pub(crate) fn frame_reply<T: Serialize>(
    inner: &Inner,
    query: &Query,
    access: Option<&safething_ir::Access>,
    key: &str,
    kind: Kind,
    binding: Binding,
    body: &T,
) -> Result<bytes::Bytes, EnvelopeError> {
    if query.session_peer().is_some() {
        return crate::session::plain_frame(
            inner.sealer.identity().public_key(),
            kind,
            binding,
            inner.sealer.next_id(),
            crate::envelope::now_ms(),
            |out| serde_json::to_writer(out, body),
        )
        .map(bytes::Bytes::from);
    }
    match access {
        Some(access) => inner.seal_for(access, key, kind, binding, body),
        None => inner.sealer.seal(key, kind, binding, body),
    }
}

fn send(inner: &Inner, query: &Query, key: &str, bytes: Result<bytes::Bytes, EnvelopeError>) {
    match bytes {
        Ok(bytes) => {
            if let Err(e) = query.reply(key, bytes) {
                tracing::debug!(thing = %inner.id, %key, error = %e, "reply not delivered");
            }
        }
        Err(e) => tracing::error!(thing = %inner.id, %key, error = %e, "could not seal a reply"),
    }
}

/// Opens a request: frame, signature, freshness, kind, boot epoch, body.
pub(crate) fn open<T: DeserializeOwned>(
    inner: &Inner,
    query: &Query,
) -> Result<Opened<T>, Problem> {
    let Some(payload) = &query.payload else {
        inner.stats.unverified.fetch_add(1, Ordering::Relaxed);
        return Err(Problem::BadRequest {
            message: "the query carries no request".into(),
        });
    };
    let refuse = |e: EnvelopeError| {
        inner.stats.unverified.fetch_add(1, Ordering::Relaxed);
        match &e {
            EnvelopeError::Version(_) => {
                tracing::warn!(thing = %inner.id, key = %query.key_expr, error = %e, "refused a request")
            }
            _ => {
                tracing::debug!(thing = %inner.id, key = %query.key_expr, error = %e, "refused an unverifiable request")
            }
        }
        Problem::BadRequest {
            message: e.to_string(),
        }
    };
    let opened = match query.session_peer() {
        // Authenticated by the session that carried it (its sender is the session's client).
        Some(peer) => {
            let window_ms = u64::try_from(inner.config.freshness().as_millis()).unwrap_or(u64::MAX);
            crate::session::open_plain(payload, &peer, window_ms).map_err(refuse)?
        }
        None => inner
            .verifier
            .open_raw(&query.key_expr, payload)
            .map_err(refuse)?,
    };
    if opened.kind != Kind::Request {
        return Err(refuse(EnvelopeError::Unexpected(format!(
            "a {:?} where a request was expected",
            opened.kind
        ))));
    }
    if opened.binding != Binding::Epoch(inner.boot) {
        // Recorded before a restart, or sent with an old description: the requester learns
        // the current epoch from this (signed, bound) answer and may ask again.
        inner.stats.unverified.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(thing = %inner.id, key = %query.key_expr, "refused a request naming another boot epoch");
        return Err(Problem::StaleEpoch {
            boot: data_encoding::HEXLOWER.encode(&inner.boot),
        });
    }
    let body = inner
        .decode::<T>(&query.key_expr, &opened)
        .map_err(refuse)?;
    Ok(opened.with_body(body))
}

/// Rejects a message id seen before (or too old to tell). Called once the request passed its
/// access check: strangers fill no replay state.
pub(crate) fn not_replayed<T>(inner: &Inner, opened: &Opened<T>) -> Result<(), Problem> {
    inner.verifier.check_replay(opened).map_err(|e| {
        inner.stats.unverified.fetch_add(1, Ordering::Relaxed);
        Problem::BadRequest {
            message: e.to_string(),
        }
    })
}

/// Counts an access refusal.
pub(crate) fn counted(inner: &Inner, result: Result<(), Problem>) -> Result<(), Problem> {
    if let Err(Problem::AccessDenied { rule, reason }) = &result {
        inner.stats.access_denied.fetch_add(1, Ordering::Relaxed);
        tracing::info!(thing = %inner.id, %rule, %reason, "access denied");
    }
    result
}

async fn on_attribute(inner: &Inner, query: Query, name: &str) {
    let to = asker(inner, &query);
    let mut admitted = false;
    let outcome: Outcome<ReadReply> = attribute_request(inner, &query, name, &mut admitted)
        .await
        .into();
    let access = inner.definition.attributes.get(name).map(|a| &a.access);
    match access {
        // Everything about a `group` or `owner` attribute travels sealed once the requester
        // passed the access check (it holds the key); refusals before that do not (it may
        // not, and they say nothing about the attribute's data).
        Some(access) if admitted => reply_sealed(inner, &query, to, access, &outcome),
        _ => reply(inner, &query, to, &outcome),
    }
}

/// Sends a reply bound to the request `to` names, sealed for the affordance's access type.
pub(crate) fn reply_sealed<T: Serialize>(
    inner: &Inner,
    query: &Query,
    to: Option<Binding>,
    access: &safething_ir::Access,
    body: &T,
) {
    let Some(to) = to else { return };
    let key = query.key_expr.clone();
    let bytes = frame_reply(inner, query, Some(access), &key, Kind::Reply, to, body);
    send(inner, query, &key, bytes);
}

async fn attribute_request(
    inner: &Inner,
    query: &Query,
    name: &str,
    admitted: &mut bool,
) -> Result<ReadReply, Problem> {
    let opened = open::<AttributeRequest>(inner, query)?;
    let Some(attribute) = inner.definition.attributes.get(name) else {
        return Err(Problem::UnknownAffordance {
            affordance: crate::AffordanceKind::Attribute,
            name: name.to_owned(),
        });
    };
    let parties = lock(&inner.meta).parties.clone();
    counted(inner, parties.check(&attribute.access, &opened.from))?;
    *admitted = true;
    not_replayed(inner, &opened)?;
    let span =
        tracing::debug_span!("attribute", thing = %inner.id, %name, from = %opened.from.short());
    let _entered = span.enter();
    match opened.body {
        AttributeRequest::Read { history } => {
            let history = history.filter(|_| attribute.history.is_some());
            inner
                .read_attribute(name, history)
                .ok_or_else(|| Problem::UnknownAffordance {
                    affordance: crate::AffordanceKind::Attribute,
                    name: name.to_owned(),
                })
        }
        AttributeRequest::Write { value } => {
            drop(_entered);
            write(inner, name, value, opened.from).await
        }
    }
}

async fn write(
    inner: &Inner,
    name: &str,
    value: Value,
    from: crate::identity::PublicKey,
) -> Result<ReadReply, Problem> {
    let writable = inner
        .definition
        .attributes
        .get(name)
        .is_some_and(|a| a.writable);
    if !writable {
        return Err(Problem::NotWritable {
            name: name.to_owned(),
        });
    }
    let state = lock(&inner.meta).lifecycle;
    if state != Lifecycle::Published {
        return Err(Problem::NotPublished { state });
    }
    if let Some(schema) = inner.schemas.attributes.get(name)
        && let Err(e) = schema.check(&value)
    {
        inner.stats.invalid_payload.fetch_add(1, Ordering::Relaxed);
        return Err(Problem::invalid_payload("value", e));
    }
    let handler = inner
        .handler
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let Some(handler) = handler else {
        return Err(Problem::NoHandler);
    };
    let ctx = WriteContext {
        attribute: name.into(),
        requester: from,
    };
    handler
        .write(name, value.clone(), ctx)
        .await
        .map_err(|e| Problem::Rejected {
            reason: e.into_reason(),
        })?;
    inner
        .set_attribute(name, value, false)
        .await
        .map_err(|e| Problem::Rejected {
            reason: format!("accepted but not applied: {e}"),
        })?;
    inner
        .read_attribute(name, None)
        .ok_or_else(|| Problem::UnknownAffordance {
            affordance: crate::AffordanceKind::Attribute,
            name: name.to_owned(),
        })
}

async fn on_admin(inner: &Inner, query: Query) {
    let to = asker(inner, &query);
    let outcome: Outcome<Description> = admin_request(inner, &query).await.into();
    reply(inner, &query, to, &outcome);
}

async fn admin_request(inner: &Inner, query: &Query) -> Result<Description, Problem> {
    let opened = open::<AdminRequest>(inner, query)?;
    let from = opened.from;
    if let AdminRequest::Claim { token } = &opened.body {
        // The claim opened (above) only with the associated data naming `from`: the key
        // that sealed it is the key that signed it, and the one that becomes the owner.
        if !opened.sealed {
            return Err(Problem::ClaimRefused {
                reason: "a claim must be sealed to the thing".into(),
            });
        }
        not_replayed(inner, &opened)?;
        let claimed = crate::provisioning::claim(inner, &from, token).await;
        if claimed.is_ok() {
            // The thing changed hands: no session outlives that.
            inner.sessions.clear();
        }
        return claimed;
    }
    let parties = lock(&inner.meta).parties.clone();
    counted(inner, parties.check_owner(&from))?;
    not_replayed(inner, &opened)?;
    tracing::info!(thing = %inner.id, op = ?opened.body, "owner operation");
    match opened.body {
        AdminRequest::Publish => inner.set_lifecycle(Lifecycle::Published).await,
        AdminRequest::Disable => inner.set_lifecycle(Lifecycle::Disabled).await,
        AdminRequest::Grant { member } => {
            inner
                .change_meta(|meta| {
                    if !meta.parties.group.contains(&member) {
                        meta.parties.group.push(member);
                    }
                    Ok(())
                })
                .await?;
        }
        AdminRequest::Revoke { member } => {
            // A new group key, so the former member cannot read what follows.
            inner
                .change_meta(|meta| {
                    meta.parties.group.retain(|m| *m != member);
                    meta.rotate_group().map_err(|e| Problem::Rejected {
                        reason: e.to_string(),
                    })
                })
                .await?;
            // Its session keys are useless from now on (access is checked per request anyway).
            inner.sessions.drop_peer(&member);
        }
        AdminRequest::Transfer { owner } => {
            inner
                .change_meta(|meta| {
                    meta.parties.owner = Some(owner);
                    meta.rotate_all().map_err(|e| Problem::Rejected {
                        reason: e.to_string(),
                    })
                })
                .await?;
            // A new owner: nobody's session outlives the hand-over.
            inner.sessions.clear();
        }
        AdminRequest::Claim { .. } => {}
    }
    Ok(inner.description())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::{SLOW_FIRST_STEP, start_on};

    fn flag() -> Arc<AtomicBool> {
        Arc::new(AtomicBool::new(false))
    }

    #[tokio::test]
    async fn quick_first_steps_run_in_place_and_the_rest_as_a_task() {
        let inline = AtomicBool::new(true);
        let ran = flag();
        let r = ran.clone();
        start_on(&inline, "t", async move { r.store(true, Ordering::SeqCst) });
        assert!(
            ran.load(Ordering::SeqCst),
            "a quick task is done before start returns"
        );
        // A task that waits goes on as a task of its own.
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        start_on(&inline, "t", async move {
            let _ = rx.await;
            let _ = done_tx.send(());
        });
        let _ = tx.send(());
        tokio::time::timeout(Duration::from_secs(5), done_rx)
            .await
            .expect("the rest runs as a task")
            .expect("it finishes");
        assert!(inline.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_first_step_that_blocks_sends_later_ones_to_tasks() {
        let inline = AtomicBool::new(true);
        start_on(&inline, "t", async {
            std::thread::sleep(SLOW_FIRST_STEP + Duration::from_millis(5));
        });
        assert!(!inline.load(Ordering::SeqCst));
        // From now on nothing runs in place (a current-thread runtime runs the task only when
        // this test yields).
        let ran = flag();
        let r = ran.clone();
        start_on(&inline, "t", async move { r.store(true, Ordering::SeqCst) });
        assert!(!ran.load(Ordering::SeqCst));
        tokio::time::timeout(Duration::from_secs(5), async {
            while !ran.load(Ordering::SeqCst) {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the task runs");
    }

    #[tokio::test]
    async fn a_panicking_first_step_is_contained() {
        let inline = AtomicBool::new(true);
        // Returning at all is the test (the panic hook's backtrace may take long enough to
        // count as a slow first step, so the flag is not checked).
        start_on(&inline, "t", async { panic!("handler bug") });
    }
}

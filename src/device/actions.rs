//! Action requests on the device: validation, the bounded queue, execution with deadline and
//! cancellation, state publication, and deduplication of retries.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use futures::FutureExt;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use safething_ir::Access;

use crate::envelope::{Binding, Kind, MessageId, now_ms};
use crate::identity::PublicKey;
use crate::keys;
use crate::transport::Query;
use crate::wire::{
    ActionError, ActionRequest, ActionState, ActionUpdate, Lifecycle, Outcome, Problem,
    RequestQuery,
};

use super::serve::{asker, counted, frame_reply, not_replayed, open, reply, reply_sealed};
use super::{ActionContext, Inner, lock};

/// One accepted request.
pub(crate) struct RequestEntry {
    request: String,
    action: String,
    requester: PublicKey,
    access: Access,
    key: String,
    /// What every state of the request is bound to: its id and its requester.
    binding: Binding,
    state: watch::Sender<Sealed>,
    cancel: CancellationToken,
    /// Requested in a session: its states reach the requester sealed by the session, so each
    /// is signed only when published (after the requester has it), not on every change.
    lazy: bool,
}

/// A state change, and its envelope as sent: sealed once for the request's key
/// (`requests/<id>`), it is both published there and replied to every query following the
/// request, so each change costs one signature. `accepted` is never published, and a quick
/// action is done before anyone replies it: it is sealed only when a follower sends it.
#[derive(Clone)]
struct Sealed {
    update: ActionUpdate,
    bytes: Option<Bytes>,
}

impl RequestEntry {
    fn current(&self) -> ActionUpdate {
        self.state.borrow().update.clone()
    }

    fn is_final(&self) -> bool {
        self.state.borrow().update.state.is_final()
    }
}

/// Seals a state: a `state` frame bound to the request, encrypted for the action's access type
/// once the request passed its access check (its requester holds the key), plain for refusals
/// before that.
fn seal(
    inner: &Inner,
    access: &Access,
    key: &str,
    binding: Binding,
    update: &ActionUpdate,
) -> Bytes {
    inner
        .seal_for(access, key, Kind::State, binding, update)
        .unwrap_or_else(|e| {
            // Serializing an `ActionUpdate` cannot fail; should it ever, followers see silence
            // and fall back to asking for the state.
            tracing::error!(thing = %inner.id, error = %e, "could not seal a request state");
            Bytes::new()
        })
}

/// A state as a reply to `query`: [`seal`]ed, or framed for the session the request came in.
fn seal_reply(
    inner: &Inner,
    query: &Query,
    access: &Access,
    key: &str,
    binding: Binding,
    update: &ActionUpdate,
) -> Bytes {
    if query.session_peer().is_none() {
        return seal(inner, access, key, binding, update);
    }
    frame_reply(inner, query, None, key, Kind::State, binding, update).unwrap_or_else(|e| {
        // Serializing an `ActionUpdate` cannot fail; should it ever, followers see silence
        // and fall back to asking for the state.
        tracing::error!(thing = %inner.id, error = %e, "could not seal a request state");
        Bytes::new()
    })
}

/// Requests by id: running ones, and the most recent finished ones (so a retry gets the
/// original result instead of running again).
pub(crate) struct RequestTable {
    entries: HashMap<String, Arc<RequestEntry>>,
    finished: VecDeque<String>,
    keep_finished: usize,
}

impl RequestTable {
    pub(crate) fn new(keep_finished: usize) -> RequestTable {
        RequestTable {
            entries: HashMap::new(),
            finished: VecDeque::new(),
            keep_finished,
        }
    }

    fn get(&self, request: &str) -> Option<Arc<RequestEntry>> {
        self.entries.get(request).cloned()
    }

    fn finished(&mut self, request: &str) {
        self.finished.push_back(request.to_owned());
        while self.finished.len() > self.keep_finished {
            if let Some(old) = self.finished.pop_front() {
                self.entries.remove(&old);
            }
        }
    }
}

/// A query on `actions/<name>`: invoke or cancel.
pub(crate) async fn on_action(inner: &Arc<Inner>, query: Query, name: &str) {
    let to = asker(inner, &query);
    let opened = match open::<ActionRequest>(inner, &query) {
        Ok(o) => o,
        Err(problem) => {
            // Invoke frames carry their request id as their message id: the requester
            // follows its request's key even when the request could not be opened.
            let request = match to {
                Some(Binding::Request { id, .. }) => id.to_hex(),
                _ => String::new(),
            };
            return reject(inner, &query, to, &request, name, problem, None);
        }
    };
    match opened.body.clone() {
        ActionRequest::Invoke {
            request,
            input,
            timeout_ms,
        } => {
            // The request id is the invoke frame's id: states are bound to it under the
            // device's signature, and it cannot be reused by anyone else.
            if request != opened.id.to_hex() {
                let problem = Problem::BadRequest {
                    message: "a request id must be the hex message id of its invoke frame".into(),
                };
                return reject(inner, &query, to, &request, name, problem, None);
            }
            // A retry (same requester, same request id) follows the original request.
            let existing = lock(&inner.requests).get(&request);
            if let Some(entry) = existing {
                if entry.requester == opened.from && entry.action == name {
                    return follow(inner, query, entry).await;
                }
                let problem = Problem::BadRequest {
                    message: format!("request id `{request}` is already in use"),
                };
                return reject(inner, &query, to, &request, name, problem, None);
            }
            let Some(action) = inner.definition.actions.get(name) else {
                let problem = Problem::UnknownAffordance {
                    affordance: crate::AffordanceKind::Action,
                    name: name.to_owned(),
                };
                return reject(inner, &query, to, &request, name, problem, None);
            };
            let parties = lock(&inner.meta).parties.clone();
            if let Err(problem) = counted(inner, parties.check(&action.access, &opened.from)) {
                return reject(inner, &query, to, &request, name, problem, None);
            }
            // From here on the requester holds the action's key: everything is sealed.
            let access = Some(&action.access);
            if let Err(problem) = not_replayed(inner, &opened) {
                return reject(inner, &query, to, &request, name, problem, access);
            }
            let span = tracing::info_span!("action", thing = %inner.id, action = %name, %request, from = %opened.from.short());
            let admitted = {
                let _entered = span.enter();
                admit(
                    inner,
                    name,
                    &request,
                    opened.id,
                    &input,
                    timeout_ms,
                    opened.from,
                    query.session_peer().is_some(),
                )
            };
            match admitted {
                Ok((entry, deadline, timeout_ms)) => {
                    // One task runs the request and replies its states: the run goes first,
                    // so a quick handler is done before the first reply, and no hop between
                    // tasks stands between a state change and its reply. The final state is
                    // published for other observers once the requester has it.
                    let run = run(inner.clone(), entry.clone(), input, deadline, timeout_ms)
                        .instrument(span.clone());
                    let (unfinished, ()) = futures::join!(run, follow(inner, query, entry.clone()));
                    publish_state(inner, &entry).await;
                    if let Some((work, permit)) = unfinished {
                        // A handler told to stop (deadline, cancellation) may still be winding
                        // down: it keeps its slot for the grace period, then is dropped.
                        let _ = tokio::time::timeout(inner.config.cancel_grace, work)
                            .instrument(span)
                            .await;
                        drop(permit);
                    }
                }
                Err(problem) => reject(inner, &query, to, &request, name, problem, access),
            }
        }
        ActionRequest::Cancel { request } => {
            answer_cancel_or_status(inner, &query, to, &opened, &request, true);
        }
    }
}

/// A query on `requests/<id>`: status or cancel.
pub(crate) async fn on_request_query(inner: &Arc<Inner>, query: Query, request: &str) {
    let to = asker(inner, &query);
    match open::<RequestQuery>(inner, &query) {
        Err(problem) => reply(inner, &query, to, &Outcome::<ActionUpdate>::Err(problem)),
        Ok(opened) => {
            let cancel = opened.body == RequestQuery::Cancel;
            answer_cancel_or_status(inner, &query, to, &opened, request, cancel);
        }
    }
}

/// Answers a status or cancel request: sealed for the action's access type when the requester
/// may see the request (its requester or the owner, who hold the key); to anyone else the
/// request does not exist.
fn answer_cancel_or_status<T>(
    inner: &Inner,
    query: &Query,
    to: Option<Binding>,
    opened: &crate::envelope::Opened<T>,
    request: &str,
    cancel: bool,
) {
    let entry = match visible(inner, request, &opened.from) {
        Ok(entry) => entry,
        Err(problem) => {
            return reply(inner, query, to, &Outcome::<ActionUpdate>::Err(problem));
        }
    };
    let result = if cancel {
        not_replayed(inner, opened).map(|()| {
            if !entry.is_final() {
                tracing::info!(thing = %inner.id, %request, "cancel requested");
                entry.cancel.cancel();
            }
            entry.current()
        })
    } else {
        Ok(entry.current())
    };
    let outcome: Outcome<ActionUpdate> = result.into();
    reply_sealed(inner, query, to, &entry.access, &outcome);
}

/// The request, if `from` may follow or cancel it: its requester and the owner may. To anyone
/// else it does not exist.
fn visible(inner: &Inner, request: &str, from: &PublicKey) -> Result<Arc<RequestEntry>, Problem> {
    let unknown = || Problem::UnknownRequest {
        request: request.to_owned(),
    };
    let entry = lock(&inner.requests).get(request).ok_or_else(unknown)?;
    if entry.requester == *from {
        return Ok(entry);
    }
    let parties = lock(&inner.meta).parties.clone();
    counted(inner, parties.check_owner(from)).map_err(|_| unknown())?;
    Ok(entry)
}

/// Checks a new request and queues it.
/// Checks a new request (whose requester passed the access check) and queues it; `lazy`: it
/// came in a session (see [`RequestEntry::lazy`]).
#[expect(
    clippy::too_many_arguments,
    reason = "the request's parts, as the caller read them"
)]
fn admit(
    inner: &Arc<Inner>,
    name: &str,
    request: &str,
    id: MessageId,
    input: &Value,
    timeout_ms: Option<u64>,
    from: PublicKey,
    lazy: bool,
) -> Result<(Arc<RequestEntry>, Instant, u64), Problem> {
    let Some(action) = inner.definition.actions.get(name) else {
        return Err(Problem::UnknownAffordance {
            affordance: crate::AffordanceKind::Action,
            name: name.to_owned(),
        });
    };
    let state = lock(&inner.meta).lifecycle;
    if state != Lifecycle::Published {
        return Err(Problem::NotPublished { state });
    }
    let schema = inner.schemas.inputs.get(name).and_then(Option::as_ref);
    if let Err(e) = safething_ir::value::check_payload(schema, input) {
        inner.stats.invalid_payload.fetch_add(1, Ordering::Relaxed);
        return Err(Problem::invalid_payload("input", e));
    }
    if inner
        .handler
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .is_none()
    {
        return Err(Problem::NoHandler);
    }
    let limit = inner.config.queue_capacity + inner.config.concurrency;
    if inner.in_flight.fetch_add(1, Ordering::AcqRel) >= limit {
        inner.in_flight.fetch_sub(1, Ordering::AcqRel);
        inner.stats.busy.fetch_add(1, Ordering::Relaxed);
        return Err(Problem::Busy);
    }
    let default = action.timeout().unwrap_or(inner.config.default_timeout);
    let timeout = timeout_ms
        .map_or(default, Duration::from_millis)
        .min(Duration::from_secs(24 * 3600));
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let deadline = Instant::now() + timeout;
    let update = ActionUpdate {
        request: request.to_owned(),
        action: name.to_owned(),
        seq: 1,
        state: ActionState::Accepted,
    };
    let key = keys::request(&inner.id, request);
    let (tx, _) = watch::channel(Sealed {
        update,
        bytes: None,
    });
    let entry = Arc::new(RequestEntry {
        request: request.to_owned(),
        action: name.to_owned(),
        requester: from,
        access: action.access.clone(),
        key,
        binding: Binding::Request {
            id,
            requester: *from.as_bytes(),
        },
        state: tx,
        cancel: inner.shutdown.child_token(),
        lazy,
    });
    lock(&inner.requests)
        .entries
        .insert(request.to_owned(), entry.clone());
    tracing::debug!("accepted");
    Ok((entry, deadline, timeout_ms))
}

/// Replies the state of `entry` on the query whenever it changes, until the final one; the
/// query then ends. States that pass before this gets to run are reported as the latest one
/// (a quick action answers `done` at once instead of `accepted`, `running`, `done`).
async fn follow(inner: &Inner, query: Query, entry: Arc<RequestEntry>) {
    let in_session = query.session_peer().is_some();
    let send = |sealed: &Sealed| {
        let bytes = match &sealed.bytes {
            Some(bytes) if !in_session => bytes.clone(),
            _ => seal_reply(
                inner,
                &query,
                &entry.access,
                &entry.key,
                entry.binding,
                &sealed.update,
            ),
        };
        if let Err(e) = query.reply(&query.key_expr, bytes) {
            tracing::debug!(thing = %inner.id, error = %e, "reply not delivered");
        }
    };
    let mut rx = entry.state.subscribe();
    loop {
        let sealed = rx.borrow_and_update().clone();
        send(&sealed);
        if sealed.update.state.is_final() {
            return;
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            () = inner.shutdown.cancelled() => {
                // The run task finishes the request as cancelled; give it a moment to say so.
                let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
                send(&rx.borrow_and_update().clone());
                return;
            }
        }
    }
}

/// Answers a request that will not run with a `rejected` state bound to it; sealed for
/// `access` when the requester passed the access check.
fn reject(
    inner: &Inner,
    query: &Query,
    to: Option<Binding>,
    request: &str,
    action: &str,
    problem: Problem,
    access: Option<&Access>,
) {
    tracing::debug!(thing = %inner.id, %action, %request, %problem, "rejected");
    let Some(to) = to else { return };
    let update = ActionUpdate {
        request: request.to_owned(),
        action: action.to_owned(),
        seq: 1,
        state: ActionState::Rejected { problem },
    };
    // Sealed for the request's key like every other state; a request too malformed to name
    // one gets its answer sealed for the query's key.
    let key = if MessageId::from_hex(request).is_some() {
        keys::request(&inner.id, request)
    } else {
        query.key_expr.clone()
    };
    let bytes = seal_reply(
        inner,
        query,
        access.unwrap_or(&Access::All),
        &key,
        to,
        &update,
    );
    if let Err(e) = query.reply(&query.key_expr, bytes) {
        tracing::debug!(thing = %inner.id, error = %e, "reply not delivered");
    }
}

/// Records the next state of a request (sealed at once: it is both replied and published).
fn set_state(inner: &Inner, entry: &RequestEntry, state: ActionState) {
    let mut update = entry.current();
    update.seq += 1;
    update.state = state;
    let bytes =
        (!entry.lazy).then(|| seal(inner, &entry.access, &entry.key, entry.binding, &update));
    entry.state.send_replace(Sealed { update, bytes });
}

/// Publishes the request's current state on its key, for observers other than the requester
/// (a console, a restarted client).
async fn publish_state(inner: &Inner, entry: &RequestEntry) {
    let sealed = entry.state.borrow().clone();
    let bytes = match sealed.bytes {
        Some(bytes) => bytes,
        None => seal(
            inner,
            &entry.access,
            &entry.key,
            entry.binding,
            &sealed.update,
        ),
    };
    if let Err(e) = inner.transport.publish(&entry.key, bytes).await {
        tracing::debug!(thing = %inner.id, error = %e, "could not publish a request state");
    }
}

/// Waits for a slot, runs the handler, and records the final state; a handler that has not
/// finished by then is returned with its slot.
async fn run(
    inner: Arc<Inner>,
    entry: Arc<RequestEntry>,
    input: Value,
    deadline: Instant,
    timeout_ms: u64,
) -> Option<(Work, tokio::sync::OwnedSemaphorePermit)> {
    let (final_state, unfinished) = execute(&inner, &entry, input, deadline, timeout_ms).await;
    tracing::debug!(state = final_state.name(), "finished");
    set_state(&inner, &entry, final_state);
    inner.in_flight.fetch_sub(1, Ordering::AcqRel);
    lock(&inner.requests).finished(&entry.request);
    unfinished
}

type Work = futures::future::CatchUnwind<
    AssertUnwindSafe<futures::future::BoxFuture<'static, Result<Value, ActionError>>>,
>;

/// Runs the request to its final state; a handler that has not finished by then is returned
/// with its slot.
async fn execute(
    inner: &Arc<Inner>,
    entry: &RequestEntry,
    input: Value,
    deadline: Instant,
    timeout_ms: u64,
) -> (
    ActionState,
    Option<(Work, tokio::sync::OwnedSemaphorePermit)>,
) {
    // A free slot is taken without arming the deadline's timer (arming one can wake a
    // parked worker just to re-arm its clock).
    let free = inner.slots.clone().try_acquire_owned().ok();
    let permit = if let Some(permit) = free {
        permit
    } else {
        tokio::select! {
            permit = inner.slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return (ActionState::Cancelled, None),
            },
            () = entry.cancel.cancelled() => return (ActionState::Cancelled, None),
            () = tokio::time::sleep_until(deadline) => return (ActionState::TimedOut { timeout_ms }, None),
        }
    };
    let handler = inner
        .handler
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let Some(handler) = handler else {
        return (
            ActionState::Rejected {
                problem: Problem::NoHandler,
            },
            None,
        );
    };
    let remaining = u64::try_from(
        deadline
            .saturating_duration_since(Instant::now())
            .as_millis(),
    )
    .unwrap_or(u64::MAX);
    let ctx = ActionContext {
        request_id: entry.request.as_str().into(),
        action: entry.action.as_str().into(),
        requester: entry.requester,
        deadline,
        deadline_ms: now_ms().saturating_add(remaining),
        cancel: entry.cancel.clone(),
    };
    // A panicking handler fails its request; it does not take the device down, whether it
    // panics when called or while it runs.
    let called = std::panic::catch_unwind(AssertUnwindSafe(|| {
        handler.invoke(&entry.action, input, ctx)
    }));
    let mut work: Work = match called {
        Ok(future) => AssertUnwindSafe(future).catch_unwind(),
        Err(panic) => return (outcome(inner, &entry.action, Err(panic)), None),
    };
    // A handler that finishes at once goes straight to its final state; any other is
    // announced as running.
    if let std::task::Poll::Ready(result) = futures::poll!(&mut work) {
        let state = if entry.cancel.is_cancelled() {
            ActionState::Cancelled
        } else {
            outcome(inner, &entry.action, result)
        };
        return (state, None);
    }
    set_state(inner, entry, ActionState::Running);
    publish_state(inner, entry).await;
    tokio::select! {
        result = &mut work => {
            // Whatever a handler returns after being cancelled, the request was cancelled.
            let state = if entry.cancel.is_cancelled() { ActionState::Cancelled } else { outcome(inner, &entry.action, result) };
            (state, None)
        }
        () = tokio::time::sleep_until(deadline) => {
            entry.cancel.cancel();
            (ActionState::TimedOut { timeout_ms }, Some((work, permit)))
        }
        () = entry.cancel.cancelled() => (ActionState::Cancelled, Some((work, permit))),
    }
}

fn outcome(
    inner: &Inner,
    action: &str,
    result: Result<Result<Value, ActionError>, Box<dyn std::any::Any + Send>>,
) -> ActionState {
    match result {
        Ok(Ok(output)) => {
            let schema = inner.schemas.outputs.get(action).cloned().flatten();
            let checked = match &schema {
                Some(schema) => schema.check(&output).map_err(|e| e.to_string()),
                None if output.is_null() => Ok(()),
                None => Err("the action has no output, but the handler returned one".to_owned()),
            };
            match checked {
                Ok(()) => ActionState::Done { output },
                Err(e) => {
                    tracing::error!(thing = %inner.id, %action, error = %e, "handler returned an invalid output");
                    ActionState::Failed {
                        error: ActionError::new(
                            "invalid_output",
                            format!("the device produced an invalid output: {e}"),
                        ),
                    }
                }
            }
        }
        Ok(Err(error)) => ActionState::Failed { error },
        Err(_) => {
            tracing::error!(thing = %inner.id, %action, "action handler panicked");
            ActionState::Failed {
                error: ActionError::new("handler_panicked", "the device's handler crashed"),
            }
        }
    }
}

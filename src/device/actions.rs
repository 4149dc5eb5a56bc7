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

use crate::envelope::now_ms;
use crate::identity::PublicKey;
use crate::keys;
use crate::transport::Query;
use crate::wire::{
    ActionError, ActionRequest, ActionState, ActionUpdate, Lifecycle, Outcome, Problem,
    RequestQuery,
};

use super::serve::{counted, not_replayed, open, reply};
use super::{ActionContext, Inner, lock};

/// One accepted request.
pub(crate) struct RequestEntry {
    request: String,
    action: String,
    requester: PublicKey,
    access: Access,
    key: String,
    state: watch::Sender<Sealed>,
    cancel: CancellationToken,
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

/// Seals a state: encrypted for the action's access type once the request is admitted (its
/// requester holds the key), plain for refusals.
fn seal(inner: &Inner, access: &Access, key: &str, update: &ActionUpdate) -> Bytes {
    inner.seal_for(access, key, update).unwrap_or_else(|e| {
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
    let opened = match open::<ActionRequest>(inner, &query) {
        Ok(o) => o,
        Err(problem) => return reject(inner, &query, "", name, problem),
    };
    match opened.body.clone() {
        ActionRequest::Invoke {
            request,
            input,
            timeout_ms,
        } => {
            // A retry (same requester, same request id) follows the original request.
            let existing = lock(&inner.requests).get(&request);
            if let Some(entry) = existing {
                if entry.requester == opened.from && entry.action == name {
                    return follow(inner, query, entry).await;
                }
                let problem = Problem::BadRequest {
                    message: format!("request id `{request}` is already in use"),
                };
                return reject(inner, &query, &request, name, problem);
            }
            if let Err(problem) = not_replayed(inner, &opened) {
                return reject(inner, &query, &request, name, problem);
            }
            let span = tracing::info_span!("action", thing = %inner.id, action = %name, %request, from = %opened.from.short());
            let admitted = {
                let _entered = span.enter();
                admit(inner, name, &request, &input, timeout_ms, opened.from)
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
                Err(problem) => reject(inner, &query, &request, name, problem),
            }
        }
        ActionRequest::Cancel { request } => {
            let result =
                not_replayed(inner, &opened).and_then(|()| cancel(inner, &request, &opened.from));
            let outcome: Outcome<ActionUpdate> = result.into();
            reply(inner, &query, &outcome);
        }
    }
}

/// A query on `requests/<id>`: status or cancel.
pub(crate) async fn on_request_query(inner: &Arc<Inner>, query: Query, request: &str) {
    let result = match open::<RequestQuery>(inner, &query) {
        Err(problem) => Err(problem),
        Ok(opened) => match opened.body {
            RequestQuery::Status => status(inner, request, &opened.from),
            RequestQuery::Cancel => {
                not_replayed(inner, &opened).and_then(|()| cancel(inner, request, &opened.from))
            }
        },
    };
    let outcome: Outcome<ActionUpdate> = result.into();
    reply(inner, &query, &outcome);
}

fn status(inner: &Inner, request: &str, from: &PublicKey) -> Result<ActionUpdate, Problem> {
    Ok(visible(inner, request, from)?.current())
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

fn cancel(inner: &Inner, request: &str, from: &PublicKey) -> Result<ActionUpdate, Problem> {
    let entry = visible(inner, request, from)?;
    if !entry.is_final() {
        tracing::info!(thing = %inner.id, %request, "cancel requested");
        entry.cancel.cancel();
    }
    Ok(entry.current())
}

/// Checks a new request and queues it.
fn admit(
    inner: &Arc<Inner>,
    name: &str,
    request: &str,
    input: &Value,
    timeout_ms: Option<u64>,
    from: PublicKey,
) -> Result<(Arc<RequestEntry>, Instant, u64), Problem> {
    if !valid_request_id(request) {
        return Err(Problem::BadRequest {
            message: "request ids are 1 to 64 characters without / * $ ? #".into(),
        });
    }
    let Some(action) = inner.definition.actions.get(name) else {
        return Err(Problem::UnknownAffordance {
            affordance: "action".into(),
            name: name.to_owned(),
        });
    };
    let (state, parties) = {
        let meta = lock(&inner.meta);
        (meta.lifecycle, meta.parties.clone())
    };
    counted(inner, parties.check(&action.access, &from))?;
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
    let default = action
        .timeout
        .as_ref()
        .and_then(|t| t.duration().ok())
        .unwrap_or(inner.config.default_timeout);
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
        state: tx,
        cancel: inner.shutdown.child_token(),
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
    let send = |sealed: &Sealed| {
        let bytes = match &sealed.bytes {
            Some(bytes) => bytes.clone(),
            None => seal(inner, &entry.access, &entry.key, &sealed.update),
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

fn reject(inner: &Inner, query: &Query, request: &str, action: &str, problem: Problem) {
    tracing::debug!(thing = %inner.id, %action, %request, %problem, "rejected");
    let update = ActionUpdate {
        request: request.to_owned(),
        action: action.to_owned(),
        seq: 1,
        state: ActionState::Rejected { problem },
    };
    // Sealed for the request's key like every other state; a request too malformed to name
    // one gets its answer sealed for the query's key.
    let key = if valid_request_id(request) {
        keys::request(&inner.id, request)
    } else {
        query.key_expr.clone()
    };
    let bytes = seal(inner, &Access::All, &key, &update);
    if let Err(e) = query.reply(&query.key_expr, bytes) {
        tracing::debug!(thing = %inner.id, error = %e, "reply not delivered");
    }
}

fn valid_request_id(request: &str) -> bool {
    !request.is_empty() && request.len() <= 64 && !request.contains(['/', '*', '$', '?', '#'])
}

/// Records the next state of a request (sealed at once: it is both replied and published).
fn set_state(inner: &Inner, entry: &RequestEntry, state: ActionState) {
    let mut update = entry.current();
    update.seq += 1;
    update.state = state;
    let bytes = seal(inner, &entry.access, &entry.key, &update);
    entry.state.send_replace(Sealed {
        update,
        bytes: Some(bytes),
    });
}

/// Publishes the request's current state on its key, for observers other than the requester
/// (a console, a restarted client).
async fn publish_state(inner: &Inner, entry: &RequestEntry) {
    let Some(bytes) = entry.state.borrow().bytes.clone() else {
        return;
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

//! Action requests from the client: a handle to watch the state, await the output and cancel.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use futures::stream::BoxStream;
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use std::sync::Arc;

use crate::envelope::{Kind, MessageId};
use crate::error::{AffordanceKind, Error, ProtocolError, Result};
use crate::keys;
use crate::session::client::{Answer, ClientSession};
use crate::transport::{Replies, Reply};
use crate::wire::{ActionRequest, ActionState, ActionUpdate, Problem, RequestQuery};

use super::presence::Change;
use super::remote::Protect;
use super::{RemoteThing, millis};

/// Options of one action request: `InvokeOptions::default().with_timeout(..)`. Fields are
/// private so that new options can come without breaking callers.
#[derive(Clone, Debug, Default)]
pub struct InvokeOptions {
    timeout: Option<Duration>,
    retries: u32,
}

impl InvokeOptions {
    /// The deadline, overriding the definition's timeout (`None`: the definition's, or
    /// [`Action::DEFAULT_TIMEOUT`](safething_ir::Action::DEFAULT_TIMEOUT)).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Sets [`timeout`](Self::timeout).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many times to resend the identical request when the device does not answer at all
    /// (the device runs it once, whatever arrives twice). Default 0.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Sets [`retries`](Self::retries).
    #[must_use]
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }
}

/// How long the client waits beyond the deadline for the device's final word.
const DEADLINE_GRACE: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
struct Progress {
    state: ActionState,
    seq: u32,
    /// A client-side end (offline, timed out, protocol): final.
    error: Option<Error>,
}

/// What follows a request (reads the device's replies, retries, notices it going offline):
/// polled by whoever waits on the handle, so that a reply wakes the waiting task directly.
type Following = Shared<BoxFuture<'static, ()>>;

/// A running action request.
///
/// The request is followed while [`output`](Self::output) or [`states`](Self::states) is
/// awaited, and in a task of its own from the first call of [`state`](Self::state) on.
pub struct ActionHandle {
    thing: RemoteThing,
    action: String,
    request: String,
    timeout: Duration,
    progress: watch::Receiver<Progress>,
    following: Following,
    runtime: tokio::runtime::Handle,
    background: OnceLock<JoinHandle<()>>,
}

impl std::fmt::Debug for ActionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionHandle")
            .field("action", &self.action)
            .field("request", &self.request)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl Drop for ActionHandle {
    fn drop(&mut self) {
        if let Some(task) = self.background.get() {
            task.abort();
        }
    }
}

impl RemoteThing {
    /// Requests an action with `input` (`null` for actions without input).
    pub async fn invoke(&self, action: &str, input: Value) -> Result<ActionHandle> {
        self.invoke_with(action, input, InvokeOptions::default())
            .await
    }

    /// Requests an action with options.
    pub async fn invoke_with(
        &self,
        action: &str,
        input: Value,
        options: InvokeOptions,
    ) -> Result<ActionHandle> {
        let Some(definition) = self.description.definition.actions.get(action) else {
            return Err(self.unknown(AffordanceKind::Action, action));
        };
        match self.schemas.inputs.get(action).cloned().flatten() {
            Some(schema) => {
                self.check_value(&schema, &input, || format!("input of action `{action}`"))?
            }
            None if input.is_null() => {}
            None => {
                return Err(Error::Protocol(ProtocolError::violation(format!(
                    "action `{action}` takes no input; pass null"
                ))));
            }
        }
        self.precheck(&definition.access).await?;
        let timeout = options
            .timeout
            .or_else(|| definition.timeout())
            .unwrap_or(safething_ir::Action::DEFAULT_TIMEOUT);
        // The request id is the invoke frame's message id (`docs/protocol.md` §1.3).
        let id = self.client.sealer.next_id();
        let request = id.to_hex();
        let key = keys::action(self.id(), action);
        let body = ActionRequest::Invoke {
            request: request.clone(),
            input,
            timeout_ms: options.timeout.map(millis),
        };
        let protect = Protect::For(definition.access.clone());
        // Framed once: a retry resends this request (same id), which the device recognises;
        // in a session each sending is sealed again (a new counter).
        let session = match self.session().await {
            Some(session) => {
                let plain = self.frame_in_session(&session, &body, id)?;
                Some((session, Bytes::from(plain)))
            }
            None => None,
        };
        let bytes = match &session {
            Some((session, plain)) => {
                session
                    .seal(&key, plain)
                    .map_err(|e| Error::Protocol(ProtocolError::violation(e.to_string())))?
                    .0
            }
            None => self.seal_request(&protect, &key, &body, id)?,
        };
        let replies = self
            .client
            .transport
            .query(&key, Some(bytes.clone()), timeout + DEADLINE_GRACE)
            .await?;
        let (tx, progress) = watch::channel(Progress {
            state: ActionState::Requested,
            seq: 0,
            error: None,
        });
        let span = tracing::debug_span!("invoke", thing = %self.id(), %action, %request);
        // Not spawned: a task of its own would cost a wake-up of another thread per request
        // (and one more hop per reply) for a caller that is about to wait on the output.
        let following = tracing::Instrument::instrument(
            drive(
                Driver {
                    thing: self.clone(),
                    request_key: keys::request(self.id(), &request),
                    key,
                    bytes,
                    session,
                    body,
                    protect,
                    id,
                    restarted: false,
                    renewed: false,
                    request: request.clone(),
                    timeout,
                    retries: options.retries,
                    tx,
                },
                replies,
            ),
            span,
        )
        .boxed()
        .shared();
        Ok(ActionHandle {
            thing: self.clone(),
            action: action.to_owned(),
            request,
            timeout,
            progress,
            following,
            runtime: tokio::runtime::Handle::current(),
            background: OnceLock::new(),
        })
    }
}

impl ActionHandle {
    /// The request id.
    pub fn id(&self) -> &str {
        &self.request
    }

    /// The action's name.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The latest known state. From the first call on, the request is followed in a task of
    /// its own, so that later calls see it move without anyone awaiting the handle.
    pub fn state(&self) -> ActionState {
        self.background.get_or_init(|| {
            // What has arrived by now is taken in at once, so this call is up to date too
            // (inside the runtime: following may arm a timer, and this may be called from any
            // thread).
            let _entered = self.runtime.enter();
            let mut following = self.following.clone();
            let waker = futures::task::noop_waker();
            let _ = following.poll_unpin(&mut std::task::Context::from_waker(&waker));
            self.runtime.spawn(following)
        });
        self.progress.borrow().state.clone()
    }

    /// Every state change from now on, ending after the final one.
    pub fn states(&self) -> BoxStream<'static, ActionState> {
        let rx = self.progress.clone();
        let following = Some(self.following.clone());
        Box::pin(futures::stream::unfold(
            (rx, following, false, true),
            |(mut rx, mut following, done, first)| async move {
                if done {
                    return None;
                }
                if !first && !changed(&mut rx, &mut following).await {
                    return None;
                }
                let progress = rx.borrow_and_update().clone();
                let done = progress.state.is_final() || progress.error.is_some();
                Some((progress.state, (rx, following, done, false)))
            },
        ))
    }

    /// Waits for the final state: the output when `done`, an error otherwise.
    pub async fn output(&self) -> Result<Value> {
        let mut rx = self.progress.clone();
        let mut following = Some(self.following.clone());
        loop {
            let progress = rx.borrow_and_update().clone();
            if let Some(error) = progress.error {
                return Err(error);
            }
            match progress.state {
                ActionState::Done { output } => return Ok(output),
                ActionState::Failed { error } => return Err(Error::ActionFailed(error)),
                ActionState::Rejected { problem } => {
                    return Err(Error::from_problem(self.thing.id().as_str(), problem));
                }
                ActionState::Cancelled => return Err(Error::Cancelled),
                ActionState::TimedOut { timeout_ms } => return Err(Error::TimedOut { timeout_ms }),
                ActionState::Requested | ActionState::Accepted | ActionState::Running => {}
            }
            if !changed(&mut rx, &mut following).await {
                return Err(Error::Protocol(ProtocolError::DriverStopped));
            }
        }
    }

    /// Like [`output`](Self::output), but gives up after `limit`.
    pub async fn output_within(&self, limit: Duration) -> Result<Value> {
        tokio::time::timeout(limit, self.output())
            .await
            .unwrap_or(Err(Error::TimedOut {
                timeout_ms: millis(limit),
            }))
    }

    /// Asks the device to cancel; the handle's state becomes `cancelled` when the device
    /// confirms (a request that already finished keeps its final state).
    pub async fn cancel(&self) -> Result<()> {
        let key = keys::request(self.thing.id(), &self.request);
        let _: ActionUpdate = self
            .thing
            .request(
                &key,
                &RequestQuery::Cancel,
                self.thing.client.config.request_timeout,
            )
            .await?;
        Ok(())
    }

    /// The deadline the request runs under.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Waits for the progress to change, following the request meanwhile (until its follower is
/// done); whether it changed (`false`: the follower stopped without a final word).
async fn changed(rx: &mut watch::Receiver<Progress>, following: &mut Option<Following>) -> bool {
    loop {
        let Some(follow) = following.as_mut() else {
            return rx.changed().await.is_ok();
        };
        tokio::select! {
            // The follower first: a reply it takes in is seen below without a second poll.
            biased;
            () = follow => *following = None,
            changed = rx.changed() => return changed.is_ok(),
        }
    }
}

struct Driver {
    thing: RemoteThing,
    key: String,
    request_key: String,
    bytes: Bytes,
    /// The session the request went in, and the v2 frame it carries (sealed anew each time it
    /// is sent); `None` for a signed request.
    session: Option<(Arc<ClientSession>, Bytes)>,
    /// The invoke request, to frame again for a device that restarted.
    body: ActionRequest,
    protect: Protect,
    /// The request's id: the invoke frame's id, which every state is bound to.
    id: MessageId,
    /// Whether the request was sent again for a new boot epoch (once at most).
    restarted: bool,
    /// Whether the request was sent again in a new session (once at most).
    renewed: bool,
    request: String,
    timeout: Duration,
    retries: u32,
    tx: watch::Sender<Progress>,
}

impl Driver {
    /// Applies an update; returns whether the request is over.
    fn apply(&self, update: ActionUpdate) -> bool {
        if update.request != self.request && !update.request.is_empty() {
            return false;
        }
        let mut over = false;
        self.tx.send_if_modified(|p| {
            if update.seq <= p.seq && !update.state.is_final() {
                return false;
            }
            over = update.state.is_final();
            p.seq = update.seq;
            p.state = update.state;
            true
        });
        over || self.tx.borrow().state.is_final()
    }

    /// Whether a presence change says the thing went offline. Changes missed while nobody
    /// followed the request (the channel lagged) are made up for by asking who is online.
    fn went_offline(&self, change: std::result::Result<Change, RecvError>) -> bool {
        match change {
            Ok(change) => !change.online && change.id == self.thing.id().as_str(),
            Err(RecvError::Lagged(_)) => !self
                .thing
                .client
                .presence
                .is_online(self.thing.id().as_str()),
            Err(RecvError::Closed) => false,
        }
    }

    fn fail(&self, error: Error) {
        self.tx.send_modify(|p| p.error = Some(error));
    }

    /// Opens a request state: sealed for the request's key (whichever key carries it), signed
    /// by the thing, or sealed in the request's session (a reply on the query's key); bound to
    /// this request and to us. `None`: the device does not hold the session.
    async fn open_state(&self, payload: &[u8]) -> Result<Option<ActionUpdate>> {
        let me = *self.thing.client.sealer.identity().public_key();
        if let Some((session, _)) = &self.session
            && crate::session::is_session_frame(payload)
        {
            let plain = match session.open(&self.key, payload) {
                Ok(Answer::Frame(plain)) => plain,
                Ok(Answer::Unknown(_)) => return Ok(None),
                Err(e) => {
                    return Err(Error::Untrusted(crate::envelope::EnvelopeError::Malformed(
                        e.to_string(),
                    )));
                }
            };
            let opened = self.thing.open_in_session::<ActionUpdate>(&plain)?;
            opened
                .expect_bound(Kind::State, &self.id, &me)
                .map_err(Error::Untrusted)?;
            return Ok(Some(opened.body));
        }
        let opened = self
            .thing
            .open_fresh::<ActionUpdate>(&self.request_key, payload)
            .await?;
        opened
            .expect_bound(Kind::State, &self.id, &me)
            .map_err(Error::Untrusted)?;
        Ok(Some(opened.body))
    }

    /// The bytes to send the request as (again): sealed anew in its session, or the signed
    /// frame as it was.
    fn outgoing(&self) -> Result<Bytes> {
        match &self.session {
            Some((session, plain)) => session
                .seal(&self.key, plain)
                .map(|(bytes, _)| bytes)
                .map_err(|e| Error::Protocol(ProtocolError::violation(e.to_string()))),
            None => Ok(self.bytes.clone()),
        }
    }

    /// The device does not hold the request's session: the same request (same id) in a new
    /// session, or signed.
    async fn renew_session(&mut self) -> Result<()> {
        if let Some((old, _)) = self.session.take() {
            self.thing.forget_session(&old);
        }
        if let Some(session) = self.thing.session().await {
            let plain = self.thing.frame_in_session(&session, &self.body, self.id)?;
            self.session = Some((session, Bytes::from(plain)));
        } else {
            self.bytes = self
                .thing
                .seal_request(&self.protect, &self.key, &self.body, self.id)?;
        }
        Ok(())
    }

    /// Reads the device's replies.
    async fn follow(
        &self,
        replies: &mut Replies,
        presence: &mut tokio::sync::broadcast::Receiver<Change>,
    ) -> Step {
        let mut heard = false;
        loop {
            tokio::select! {
                reply = replies.recv() => match reply {
                    Some(Reply::Ok(sample)) => match self.open_state(&sample.payload).await {
                        Ok(None) if !self.renewed => return Step::Unknown,
                        Ok(None) => tracing::warn!("the device dropped a renewed session"),
                        Ok(Some(update)) => {
                            heard = true;
                            if let ActionState::Rejected { problem: Problem::StaleEpoch { boot } } = &update.state
                                && !self.restarted
                            {
                                return Step::Stale(boot.clone());
                            }
                            if self.apply(update) {
                                return Step::Over;
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "dropped an unverifiable action reply"),
                    },
                    Some(Reply::Err(_)) => {}
                    None if heard => return Step::Heard,
                    None => return Step::Silent,
                },
                change = presence.recv() => {
                    if self.went_offline(change) {
                        self.fail(Error::Offline(self.thing.id().to_string()));
                        return Step::Over;
                    }
                }
            }
        }
    }
}

/// How following a request's replies ended.
enum Step {
    /// The request is over (final state, or the thing went offline).
    Over,
    /// Replies came, then the stream ended before the final state.
    Heard,
    /// Nobody answered.
    Silent,
    /// The device restarted since we learnt its boot epoch; this is the current one.
    Stale(String),
    /// The device does not hold the request's session.
    Unknown,
}

async fn drive(mut driver: Driver, mut replies: Replies) {
    let mut presence = driver.thing.client.presence.subscribe();
    let deadline = tokio::time::Instant::now() + driver.timeout + DEADLINE_GRACE;
    let mut attempts = 0;
    loop {
        match driver.follow(&mut replies, &mut presence).await {
            Step::Over => return,
            Step::Heard => break,
            Step::Unknown => {
                driver.renewed = true;
                if let Err(e) = driver.renew_session().await {
                    driver.fail(e);
                    return;
                }
            }
            Step::Stale(boot) => {
                // The same request (same id) for the device's new boot: it never saw it.
                driver.restarted = true;
                if let Some((old, _)) = driver.session.take() {
                    driver.thing.forget_session(&old);
                }
                let resealed = driver.thing.restarted(&boot).await.and_then(|()| {
                    driver
                        .thing
                        .seal_request(&driver.protect, &driver.key, &driver.body, driver.id)
                });
                match resealed {
                    Ok(bytes) => driver.bytes = bytes,
                    Err(e) => {
                        driver.fail(e);
                        return;
                    }
                }
            }
            Step::Silent => {
                // Nobody answered: resend the identical request, or give up.
                if attempts >= driver.retries || tokio::time::Instant::now() >= deadline {
                    driver.fail(driver.thing.silence(driver.timeout));
                    return;
                }
                attempts += 1;
            }
        }
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let bytes = match driver.outgoing() {
            Ok(bytes) => bytes,
            Err(e) => {
                driver.fail(e);
                return;
            }
        };
        match driver
            .thing
            .client
            .transport
            .query(&driver.key, Some(bytes), remaining)
            .await
        {
            Ok(r) => replies = r,
            Err(e) => {
                driver.fail(Error::Transport(e));
                return;
            }
        }
    }
    // The device accepted but the reply stream ended early: ask for the state until it is final.
    poll_status(&driver, deadline, &mut presence).await;
}

async fn poll_status(
    driver: &Driver,
    deadline: tokio::time::Instant,
    presence: &mut tokio::sync::broadcast::Receiver<Change>,
) {
    let key = &driver.request_key;
    let subscriber = driver.thing.client.transport.subscribe(key).await;
    let Ok(mut subscriber) = subscriber else {
        driver.fail(Error::Protocol(ProtocolError::violation(
            "cannot follow the request",
        )));
        return;
    };
    let status_timeout = driver.thing.client.config.request_timeout;
    if let Ok(update) = driver
        .thing
        .request::<_, ActionUpdate>(key, &RequestQuery::Status, status_timeout)
        .await
        && driver.apply(update)
    {
        return;
    }
    loop {
        tokio::select! {
            sample = subscriber.recv() => {
                let Some(sample) = sample else { break };
                if let Ok(Some(update)) = driver.open_state(&sample.payload).await
                    && driver.apply(update)
                {
                    return;
                }
            }
            change = presence.recv() => {
                if driver.went_offline(change) {
                    driver.fail(Error::Offline(driver.thing.id().to_string()));
                    return;
                }
            }
            () = tokio::time::sleep_until(deadline) => break,
        }
    }
    driver.fail(Error::TimedOut {
        timeout_ms: millis(driver.timeout),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_options_start_from_the_definition_and_change_by_setters() {
        let o = InvokeOptions::default();
        assert_eq!((o.timeout(), o.retries()), (None, 0));
        let o = o.with_timeout(Duration::from_secs(3)).with_retries(2);
        assert_eq!(
            (o.timeout(), o.retries()),
            (Some(Duration::from_secs(3)), 2)
        );
    }
}

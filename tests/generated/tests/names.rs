//! No name is reserved for the framework: things whose attributes, events and actions are called
//! `state`, `id`, `description`, `connect`, `new`, `clone`, `self`, ... work end to end over the
//! in-process transport, and the framework's own operations stay reachable through
//! `ThingClient` (`codegen/tests/fixtures/door_lock.toml`, `switchboard.toml`).

mod common;

use futures::StreamExt;
use safething::device::{ActionContext, WriteContext, WriteError};
use safething::transport::memory::MemoryNetwork;
use safething::typed::Filter;
use safething::wire::ActionError;
use safething::{Error, Identity, ThingClient};

use common::{connect, within};

use safething_generated_tests::door_lock::{DoorLock, DoorLockClient, DoorLockHandler, State};
use safething_generated_tests::switchboard::{
    DescriptionInput, StateOutput, Switchboard, SwitchboardClient, SwitchboardHandler,
};

/// The lock's handler: actions named like keywords and like the device handle's own methods.
struct Lock;

impl DoorLockHandler for Lock {
    async fn builder(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn clone(&self, _ctx: ActionContext) -> Result<u8, ActionError> {
        Ok(7)
    }

    async fn crate_(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn default(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn disable(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Err(ActionError::new("refused", "the action, not the lifecycle"))
    }

    async fn into_inner(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn lifecycle(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn publish(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn register(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn super_(&self, input: u8, _ctx: ActionContext) -> Result<(), ActionError> {
        if input < 5 {
            Ok(())
        } else {
            Err(ActionError::new("too_big", "at most 4"))
        }
    }

    async fn thing(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn wrap(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn write_description(&self, value: String, _ctx: WriteContext) -> Result<(), WriteError> {
        if value.is_empty() {
            Err("a description must say something".into())
        } else {
            Ok(())
        }
    }

    async fn write_state(&self, value: State, _ctx: WriteContext) -> Result<(), WriteError> {
        match value {
            State::Jammed => Err("a client cannot jam the lock".into()),
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn attributes_and_events_named_like_the_framework() {
    let network = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = DoorLock::builder("lock-0001")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()
        .unwrap();
    device.serve(Lock);
    device.set_state(State::Locked).await.unwrap();
    device.set_description("Front door".into()).await.unwrap();
    device.set_is_online(false).await.unwrap();
    device.set_new(true).await.unwrap();
    device.set_definition(3).await.unwrap();
    device.set_self(2).await.unwrap();
    device.register().await.unwrap();
    device.publish().await.unwrap();
    let client = safething::Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await
        .unwrap();
    // `DoorLockClient::connect` is the attribute `connect`: the framework's is the trait's.
    let lock = connect(
        &client,
        "lock-0001",
        <DoorLockClient as ThingClient>::connect,
    )
    .await;

    // The attributes have the plain names; the framework answers through the trait.
    assert_eq!(lock.state().await.unwrap().value, State::Locked);
    assert_eq!(lock.id().await.unwrap().value, "LOCK-0001");
    assert_eq!(ThingClient::id(&lock).as_str(), "lock-0001");
    assert_eq!(lock.description().await.unwrap().value, "Front door");
    assert_eq!(
        ThingClient::description(&lock).definition.thing.name,
        "DoorLock"
    );
    assert!(!lock.is_online().await.unwrap().value);
    assert!(ThingClient::is_online(&lock));
    assert_eq!(lock.definition().await.unwrap().value, 3);
    assert_eq!(
        <DoorLockClient as ThingClient>::definition(),
        DoorLock::definition()
    );
    assert!(lock.new().await.unwrap().value);
    assert_eq!(lock.self_().await.unwrap().value, 2);
    let raw = ThingClient::thing(&lock).read("self").await.unwrap().value;
    assert_eq!(raw, 2);

    // Writes and history of `state`, watched.
    let mut states = lock.watch_state(Filter::any()).await.unwrap();
    let first = within("the current state", states.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.value, State::Locked);
    assert_eq!(
        lock.write_state(State::Unlocked).await.unwrap().value,
        State::Unlocked
    );
    let next = within("the written state", states.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.value, State::Unlocked);
    match lock.write_state(State::Jammed).await {
        Err(Error::Rejected(problem)) => assert!(problem.to_string().contains("jam"), "{problem}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    let history: Vec<State> = lock
        .state_history()
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.value)
        .collect();
    assert_eq!(history, [State::Locked, State::Unlocked]);
    assert!(lock.write_description(String::new()).await.is_err());

    // Events named `connect`, `state` and `clone`.
    let mut connects = lock.on_connect(Filter::any()).await.unwrap();
    let mut jams = lock
        .on_state(Filter::eq("jammed".to_owned()))
        .await
        .unwrap();
    let mut clones = lock.on_clone(Filter::any()).await.unwrap();
    device.emit_connect().await.unwrap();
    device.emit_state("turning".into()).await.unwrap();
    device.emit_state("jammed".into()).await.unwrap();
    device.emit_clone().await.unwrap();
    within("event `connect`", connects.next())
        .await
        .unwrap()
        .unwrap();
    let jam = within("event `state`", jams.next()).await.unwrap().unwrap();
    assert_eq!((jam.data.as_str(), jam.seq), ("jammed", 2));
    within("event `clone`", clones.next())
        .await
        .unwrap()
        .unwrap();

    // Actions named like keywords and like the device handle's methods are the thing's.
    assert_eq!(lock.clone().await.unwrap().output().await.unwrap(), 7);
    lock.super_(3).await.unwrap().output().await.unwrap();
    lock.crate_().await.unwrap().output().await.unwrap();
    lock.default().await.unwrap().output().await.unwrap();
    lock.register().await.unwrap().output().await.unwrap();
    match lock.disable().await.unwrap().output().await {
        Err(Error::ActionFailed(e)) => assert_eq!(e.code, "refused"),
        other => panic!("expected the action's failure, got {other:?}"),
    }
    assert_eq!(device.lifecycle(), safething::wire::Lifecycle::Published);

    // `Clone::clone` still copies the client.
    let copy = Clone::clone(&lock);
    assert_eq!(ThingClient::id(&copy), ThingClient::id(&lock));
    device.shutdown().await;
}

/// The switchboard's handler: the twelve names that once were reserved, as actions.
struct Board;

impl SwitchboardHandler for Board {
    async fn client(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn connect(&self, input: String, _ctx: ActionContext) -> Result<bool, ActionError> {
        Ok(input == "line-1")
    }

    async fn definition(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn description(
        &self,
        input: DescriptionInput,
        _ctx: ActionContext,
    ) -> Result<(), ActionError> {
        match input.text {
            Some(_) => Ok(()),
            None => Err(ActionError::new("empty", "no text")),
        }
    }

    async fn device(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn id(&self, _ctx: ActionContext) -> Result<String, ActionError> {
        Ok("operator-7".into())
    }

    async fn inner(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn is_online(&self, _ctx: ActionContext) -> Result<bool, ActionError> {
        Ok(false)
    }

    async fn new(&self, _ctx: ActionContext) -> Result<String, ActionError> {
        Ok("fresh".into())
    }

    async fn serve(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn shutdown(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn state(&self, _ctx: ActionContext) -> Result<StateOutput, ActionError> {
        Ok(StateOutput::Busy)
    }

    async fn write_default(&self, _value: u8, _ctx: WriteContext) -> Result<(), WriteError> {
        Ok(())
    }
}

#[tokio::test]
async fn actions_named_like_the_framework() {
    let network = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = Switchboard::builder("board-0001")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()
        .unwrap();
    device.serve(Board);
    device.set_thing("the board".into()).await.unwrap();
    device.set_clone(true).await.unwrap();
    device.register().await.unwrap();
    device.publish().await.unwrap();
    let client = safething::Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await
        .unwrap();
    let board = connect(
        &client,
        "board-0001",
        <SwitchboardClient as ThingClient>::connect,
    )
    .await;

    assert!(
        board
            .connect("line-1".into())
            .await
            .unwrap()
            .output()
            .await
            .unwrap()
    );
    assert_eq!(board.new().await.unwrap().output().await.unwrap(), "fresh");
    assert_eq!(
        board.id().await.unwrap().output().await.unwrap(),
        "operator-7"
    );
    assert_eq!(ThingClient::id(&board).as_str(), "board-0001");
    assert_eq!(
        board.state().await.unwrap().output().await.unwrap(),
        StateOutput::Busy
    );
    assert!(!board.is_online().await.unwrap().output().await.unwrap());
    assert!(ThingClient::is_online(&board));
    board
        .description(DescriptionInput {
            text: Some("hello".into()),
        })
        .await
        .unwrap()
        .output()
        .await
        .unwrap();
    for call in [
        board.client(),
        board.definition(),
        board.device(),
        board.inner(),
        board.serve(),
    ] {
        call.await.unwrap().output().await.unwrap();
    }
    // The action `shutdown` is the handler's; the device stays up.
    board.shutdown().await.unwrap().output().await.unwrap();
    assert_eq!(device.lifecycle(), safething::wire::Lifecycle::Published);

    // Attributes named `thing` and `clone`; the untyped handle is the trait's `thing`.
    assert_eq!(board.thing().await.unwrap().value, "the board");
    assert!(board.clone().await.unwrap().value);
    assert_eq!(ThingClient::thing(&board).id().as_str(), "board-0001");
    assert_eq!(board.write_default(4).await.unwrap().value, 4);
    device.shutdown().await;
}

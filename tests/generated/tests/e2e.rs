//! Generated devices and clients over the in-process transport: every affordance kind through
//! the typed API — reads, history, watches with typed filters, events with field filters,
//! writes accepted and rejected, actions done, failed, cancelled and timed out.

mod common;

use std::time::Duration;

use futures::StreamExt;
use safething::device::{ActionContext, WriteContext, WriteError};
use safething::transport::memory::MemoryNetwork;
use safething::typed::Filter;
use safething::wire::{ActionError, ActionState};
use safething::{Client, Error, Identity, ThingClient};

use common::{connect, within};

use safething_generated_tests::gardening_device::{
    GardeningDevice, GardeningDeviceClient, GardeningDeviceHandler, OpenValveInput, Reading,
    ValveState,
};
use safething_generated_tests::keywords;

/// The device's application code: the typed handler.
struct Garden {
    device: GardeningDevice,
}

impl GardeningDeviceHandler for Garden {
    async fn open_valve(
        &self,
        input: OpenValveInput,
        ctx: ActionContext,
    ) -> Result<ValveState, ActionError> {
        match input.psi {
            // Slow: runs until cancelled or past its deadline.
            1 | 2 => {
                ctx.cancelled().await;
                Err(ActionError::new("stopped", "the request was cancelled"))
            }
            psi if psi > 100 => Err(ActionError::new(
                "too_high",
                format!("{psi} psi would burst the hose"),
            )),
            _ => {
                self.device
                    .set_valve_state(ValveState::Open)
                    .await
                    .map_err(|e| ActionError::new("device", e.to_string()))?;
                Ok(ValveState::Open)
            }
        }
    }

    async fn close_valve(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        self.device
            .set_valve_state(ValveState::Closed)
            .await
            .map(|_| ())
            .map_err(|e| ActionError::new("device", e.to_string()))
    }

    async fn write_target_level(&self, value: f64, _ctx: WriteContext) -> Result<(), WriteError> {
        if value <= 80.0 {
            Ok(())
        } else {
            Err(format!("{value}% would drown the plants").into())
        }
    }
}

#[tokio::test]
async fn gardening_device_every_affordance_kind() {
    let network = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = GardeningDevice::builder("garden-01")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()
        .unwrap();
    device.serve(Garden {
        device: device.clone(),
    });
    device.register().await.unwrap();
    device.publish().await.unwrap();
    assert_eq!(device.inner().definition(), GardeningDevice::definition());

    let client = Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await
        .unwrap();
    let garden = connect(&client, "garden-01", GardeningDeviceClient::connect).await;
    assert_eq!(garden.id().as_str(), "garden-01");

    // Reads: static and dynamic, with the definition's default.
    assert_eq!(garden.firmware().await.unwrap().value, "v0.1.0");
    assert_eq!(garden.target_level().await.unwrap().value, 40.0);

    // A watch with a typed filter starts with the current value when it passes.
    device.set_moisture_level(42.0).await.unwrap();
    let mut dry = garden.watch_moisture_level(Filter::lt(5.0)).await.unwrap();
    let mut all = garden.watch_moisture_level(Filter::any()).await.unwrap();
    let first = within("the current value", all.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.value, 42.0);
    for level in [30.0, 4.0, 50.0, 3.0] {
        assert!(device.set_moisture_level(level).await.unwrap());
    }
    let a = within("a dry value", dry.next()).await.unwrap().unwrap();
    let b = within("a dry value", dry.next()).await.unwrap().unwrap();
    assert_eq!((a.value, b.value), (4.0, 3.0));
    assert_eq!(b.seq, a.seq + 2, "the filtered-out change shows as a gap");
    assert_eq!(b.thing.as_str(), "garden-01");
    let read = garden.moisture_level().await.unwrap();
    assert_eq!((read.value, read.seq), (3.0, b.seq));

    // History, oldest first.
    let history: Vec<f64> = garden
        .moisture_level_history()
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.value)
        .collect();
    assert_eq!(history, [42.0, 30.0, 4.0, 50.0, 3.0]);

    // Events with a filter on a field, checked by the compiler.
    let mut alarms = garden
        .on_very_dry_alarm(Reading::LEVEL.lt(5.0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    for level in [20.0, 2.5] {
        device
            .emit_very_dry_alarm(Reading {
                level,
                at: Some("2025-06-01T12:00:00Z".into()),
            })
            .await
            .unwrap();
    }
    let alarm = within("an alarm", alarms.next()).await.unwrap().unwrap();
    assert_eq!(alarm.data.level, 2.5);
    assert_eq!(alarm.seq, 2);

    // Writes: accepted (and published) or rejected by the handler.
    let written = garden.write_target_level(55.0).await.unwrap();
    assert_eq!(written.value, 55.0);
    match garden.write_target_level(90.0).await {
        Err(Error::Rejected(problem)) => {
            assert!(problem.to_string().contains("drown"), "{problem}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(garden.target_level().await.unwrap().value, 55.0);

    // Actions: done, with a typed output, and the state the handler set.
    let mut open_watch = garden
        .watch_valve_state(Filter::eq(ValveState::Open))
        .await
        .unwrap();
    let open = garden.open_valve(OpenValveInput { psi: 60 }).await.unwrap();
    let states: Vec<&'static str> = open
        .states()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect();
    assert_eq!(states.last(), Some(&"done"));
    assert_eq!(open.output().await.unwrap(), ValveState::Open);
    let update = within("the valve to open", open_watch.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(update.value, ValveState::Open);
    garden.close_valve().await.unwrap().output().await.unwrap();
    assert_eq!(
        garden.valve_state().await.unwrap().value,
        ValveState::Closed
    );

    // Failed: the handler's application error, with its code.
    let burst = garden
        .open_valve(OpenValveInput { psi: 110 })
        .await
        .unwrap();
    match burst.output().await {
        Err(Error::ActionFailed(e)) => assert_eq!(e.code, "too_high"),
        other => panic!("expected a failure, got {other:?}"),
    }

    // Cancelled: the handler sees the cancellation; the final state is `cancelled`.
    let slow = garden.open_valve(OpenValveInput { psi: 1 }).await.unwrap();
    within("the request to run", async {
        while slow.state() != ActionState::Running {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    slow.cancel().await.unwrap();
    assert!(matches!(
        within("the cancellation", slow.output()).await,
        Err(Error::Cancelled)
    ));

    // Timed out: a per-call deadline shorter than the handler takes.
    let late = garden
        .open_valve(OpenValveInput { psi: 2 })
        .timeout(Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(late.timeout(), Duration::from_millis(300));
    assert!(matches!(
        within("the deadline", late.output()).await,
        Err(Error::TimedOut { timeout_ms: 300 })
    ));

    device.shutdown().await;
}

#[tokio::test]
async fn access_is_enforced_for_typed_clients_too() {
    let network = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = GardeningDevice::builder("garden-02")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()
        .unwrap();
    device.serve(Garden {
        device: device.clone(),
    });
    device.register().await.unwrap();
    device.publish().await.unwrap();
    let stranger = Client::builder()
        .transport(network.session())
        .build()
        .await
        .unwrap();
    let garden = connect(&stranger, "garden-02", GardeningDeviceClient::connect).await;
    // `all`: anyone reads it; `group`: not a stranger.
    assert_eq!(garden.firmware().await.unwrap().value, "v0.1.0");
    assert!(matches!(
        garden.moisture_level().await,
        Err(Error::AccessDenied { .. })
    ));
    assert!(matches!(
        garden.open_valve(OpenValveInput { psi: 10 }).await,
        Err(Error::AccessDenied { .. })
    ));
}

#[tokio::test]
async fn a_client_of_another_thing_type_is_refused() {
    let network = MemoryNetwork::new();
    let device = GardeningDevice::builder("garden-03")
        .transport(network.session())
        .build()
        .unwrap();
    device.register().await.unwrap();
    let client = Client::builder()
        .transport(network.session())
        .build()
        .await
        .unwrap();
    let remote = connect(&client, "garden-03", async |c: &Client, id: &str| {
        c.thing(id).await
    })
    .await;
    match safething_generated_tests::thermostat::ThermostatClient::new(remote) {
        Err(Error::Incompatible {
            expected, found, ..
        }) => {
            assert_eq!(expected, "Thermostat 0.3.0");
            assert_eq!(found, "GardeningDevice 1.0.0");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Wrapping an untyped device checks its definition too.
    assert!(safething_generated_tests::thermostat::Thermostat::new(device.into_inner()).is_err());
}

/// The keyword fixture at run time: raw identifiers, renamed fields (`self_`), enum values
/// that are not identifiers, unions, and methods named like std traits.
struct Keywords;

impl keywords::OptionHandler for Keywords {
    async fn clone(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn r#async(
        &self,
        input: keywords::Result,
        _ctx: ActionContext,
    ) -> Result<keywords::Vec, ActionError> {
        Ok(vec![input.clone(), input])
    }

    async fn default(&self, _ctx: ActionContext) -> Result<keywords::Box, ActionError> {
        Ok(7)
    }

    async fn from_str(
        &self,
        input: std::string::String,
        _ctx: ActionContext,
    ) -> Result<keywords::FromStrOutput, ActionError> {
        Ok(keywords::FromStrOutput {
            r#where: Some(input),
        })
    }

    async fn private(&self, _ctx: ActionContext) -> Result<(), ActionError> {
        Ok(())
    }

    async fn x_mut(&self, input: i64, _ctx: ActionContext) -> Result<(), ActionError> {
        if input >= 0 {
            Ok(())
        } else {
            Err(ActionError::new("negative", "no"))
        }
    }

    async fn write_type(
        &self,
        value: keywords::String,
        _ctx: WriteContext,
    ) -> Result<(), WriteError> {
        match value {
            keywords::String::Empty => Err("empty".into()),
            _ => Ok(()),
        }
    }

    async fn write_as_ref(&self, _value: u32, _ctx: WriteContext) -> Result<(), WriteError> {
        Ok(())
    }
}

#[tokio::test]
async fn names_that_are_keywords_work_at_run_time() {
    use keywords::{Option as Thing, OptionClient};

    let network = MemoryNetwork::new();
    let owner = Identity::generate().unwrap();
    let device = Thing::builder("keywords-1")
        .transport(network.session())
        .owner(*owner.public_key())
        .build()
        .unwrap();
    device.serve(Keywords);
    device.register().await.unwrap();
    device.publish().await.unwrap();
    let client = Client::builder()
        .transport(network.session())
        .identity(owner)
        .build()
        .await
        .unwrap();
    let thing = connect(&client, "keywords-1", OptionClient::connect).await;

    let result = keywords::Result {
        r#type: "t".into(),
        self_: Some(-5),
        crate_: Some(true),
        r#async: Some(0.5),
        r#fn: Some(keywords::String::V1st),
        super_: Some(keywords::ResultSuper { r#match: Some(9) }),
    };
    device.set_self(result.clone()).await.unwrap();
    let read = thing.self_().await.unwrap().value;
    assert_eq!(read, result);
    // The wire names are the definition's.
    let raw = thing.thing().read("self").await.unwrap().value;
    assert_eq!(raw["self"], -5);
    assert_eq!(raw["crate"], true);
    assert_eq!(raw["fn"], "1st");

    device.set_type(keywords::String::AB2).await.unwrap();
    assert_eq!(thing.r#type().await.unwrap().value.as_str(), "A B");
    thing.write_type(keywords::String::SelfValue).await.unwrap();
    assert!(thing.write_type(keywords::String::Empty).await.is_err());
    assert_eq!(thing.type_history().await.unwrap().len(), 2);

    device.set_crate(keywords::Some::Null).await.unwrap();
    assert_eq!(thing.crate_().await.unwrap().value, keywords::Some::Null);
    device.set_crate(keywords::Some::Integer(3)).await.unwrap();
    assert_eq!(
        thing.crate_().await.unwrap().value,
        keywords::Some::Integer(3)
    );
    device
        .set_crate(keywords::Some::Text("x".into()))
        .await
        .unwrap();
    assert_eq!(
        thing.crate_().await.unwrap().value,
        keywords::Some::Text("x".into())
    );

    assert_eq!(thing.r#where().await.unwrap().value.value, Some(3));
    thing.clone().await.unwrap().output().await.unwrap();
    assert_eq!(thing.default().await.unwrap().output().await.unwrap(), 7);
    let doubled = thing
        .r#async(result.clone())
        .await
        .unwrap()
        .output()
        .await
        .unwrap();
    assert_eq!(doubled, vec![result.clone(), result]);
    let parsed = thing
        .from_str("here".into())
        .await
        .unwrap()
        .output()
        .await
        .unwrap();
    assert_eq!(parsed.r#where.as_deref(), Some("here"));
    assert!(thing.x_mut(-1).await.unwrap().output().await.is_err());

    let mut loops = thing.on_loop(Filter::any()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    device.emit_loop().await.unwrap();
    let delivery = within("the event", loops.next()).await.unwrap().unwrap();
    assert_eq!(delivery.data, ());
}

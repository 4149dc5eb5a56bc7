//! The thing the runtime's tests run against: a definition with every kind of affordance, its
//! handlers, and the waiting helpers. Shared by the behaviour suite, the fault tests and the
//! console's tests, which need this much and not the suite itself.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use safething::client::{Client, RemoteThing};
use safething::device::{ActionContext, Handlers};
use safething::ir::Definition;

/// Generous bound for anything the suite waits for: far above normal, so that a loaded CI
/// machine does not fail tests, yet a hang is still caught.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(PATIENCE, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A thing with every kind of affordance.
pub fn definition() -> Definition {
    serde_json::from_value(json!({
        "thing": {"name": "TestThing", "title": "Test thing", "version": "1.2.3"},
        "types": {
            "Reading": {"type": "object", "required": ["level"], "properties": {
                "level": {"type": "number", "minimum": 0, "maximum": 100},
                "at": {"type": "string", "format": "date-time"}
            }}
        },
        "attributes": {
            "level": {"type": "number", "minimum": 0, "maximum": 100, "history": 3, "access": "all"},
            "mode": {"type": "string", "enum": ["auto", "manual"], "writable": true, "access": "owner", "default": "auto"},
            "reading": {"ref": "Reading", "access": "group"},
            "firmware": {"type": "string", "kind": "static", "value": "v1.0.0", "access": "all"},
            "secret": {"type": "number", "access": "thing"}
        },
        "events": {
            "alarm": {"data": {"ref": "Reading"}, "access": "all"},
            "ping": {"access": "all"}
        },
        "actions": {
            "echo": {"input": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string", "maxLength": 20}}},
                     "output": {"type": "string"}, "access": "all", "timeout": "5s"},
            "slow": {"input": {"type": "integer", "minimum": 0}, "access": "all", "timeout": "400ms"},
            "count": {"output": {"type": "integer"}, "access": "all"},
            "fail": {"access": "all"},
            "crash": {"access": "all"},
            "crash_on_call": {"access": "all"},
            "reboot": {"access": "owner"}
        }
    }))
    .expect("the suite's definition parses")
}

pub fn handlers(counter: Arc<AtomicUsize>, cancelled: Arc<AtomicUsize>) -> Handlers {
    Handlers::new()
        .action("echo", |input: Value, _ctx| async move {
            Ok(input["text"].clone())
        })
        .action("slow", move |input: Value, ctx: ActionContext| {
            let cancelled = cancelled.clone();
            async move {
                let ms = input.as_u64().unwrap_or(0);
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => Ok(Value::Null),
                    () = ctx.cancelled() => {
                        cancelled.fetch_add(1, Ordering::SeqCst);
                        Err(safething::wire::ActionError::new("cancelled", "stopped early"))
                    }
                }
            }
        })
        .action("count", move |_, _| {
            let counter = counter.clone();
            async move {
                // Slow enough that a retry arrives while the first run is still going.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(json!(counter.fetch_add(1, Ordering::SeqCst) + 1))
            }
        })
        .action("fail", |_, _| async {
            Err(safething::wire::ActionError::new(
                "valve_stuck",
                "the valve does not move",
            ))
        })
        .action("crash", |_, _| async { panic!("handler bug") })
        .action(
            "crash_on_call",
            |_, _| -> BoxFuture<'static, Result<Value, safething::wire::ActionError>> {
                // Before it returns a future: the device calls it on its own task.
                panic!("handler bug on call")
            },
        )
        .action("reboot", |_, _| async { Ok(Value::Null) })
        .write("mode", |value: Value, _ctx| async move {
            if value == json!("manual") {
                Ok(())
            } else {
                Err("only manual mode may be chosen remotely".into())
            }
        })
}

/// Connects to a thing, retrying while discovery propagates.
pub async fn connect(client: &Client, id: &str) -> RemoteThing {
    within("the thing to answer", async {
        loop {
            match client.thing(id).await {
                Ok(t) => return t,
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await
}

pub async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    within(what, async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

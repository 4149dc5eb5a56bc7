//! A thing that answers with a description over the limits (too many bytes, too many types)
//! gets a clear error from the client, which goes on working with other things. In-process
//! transport.

use std::sync::Arc;

use serde_json::{Value, json};

use safething::client::Client;
use safething::device::{Device, Handlers};
use safething::envelope::{Binding, Kind, Sealer, Signing};
use safething::ir::{Definition, Rule};
use safething::transport::memory::{MemoryNetwork, MemoryTransport};
use safething::transport::{Guard, Query, Transport};
use safething::wire::{Description, Lifecycle};
use safething::{Error, Identity};

/// A thing that answers every description query for `id` with `definition`, signed by itself.
async fn rogue(net: &MemoryNetwork, id: &str, definition: Definition) -> Rogue {
    let identity = Identity::generate().expect("identity");
    let description = Description {
        id: id.parse().expect("id"),
        state: Lifecycle::Published,
        thing_key: *identity.public_key(),
        boot: "11".repeat(16),
        owner: None,
        group: Vec::new(),
        revision: 1,
        keys: Default::default(),
        definition,
    };
    let key = format!("safething/v1/{id}/description");
    let frame = Sealer::new(identity, Signing::Signed)
        .seal(&key, Kind::Description, Binding::None, &description)
        .expect("seal");
    let transport = net.session();
    let reply_key = key.clone();
    let guard = transport
        .serve_queries(
            &key,
            Arc::new(move |query: Query| {
                let _ = query.reply(&reply_key, frame.clone());
            }),
        )
        .await
        .expect("serve");
    Rogue(transport, guard)
}

/// Keeps the rogue's session and its query declaration alive.
struct Rogue(
    #[allow(dead_code)] MemoryTransport,
    #[allow(dead_code)] Guard,
);

fn definition(types: usize, description: &str) -> Definition {
    let types: serde_json::Map<String, Value> = (0..types)
        .map(|i| (format!("T{i}"), json!({"type": "integer"})))
        .collect();
    serde_json::from_value(json!({
        "thing": {"name": "Rogue", "version": "1.0.0", "description": description},
        "types": types,
        "attributes": {"level": {"type": "integer", "access": "all"}},
    }))
    .expect("definition")
}

fn limit_error(e: &Error) -> String {
    match e {
        Error::InvalidDefinition(invalid) => {
            assert_eq!(invalid.0[0].rule, Rule::LimitExceeded, "{e}");
            invalid.0[0].message.clone()
        }
        other => panic!("expected a limit error, got {other}"),
    }
}

#[tokio::test]
async fn attack_huge_description() {
    let net = MemoryNetwork::new();
    let genuine = net.session();
    let device = Device::builder(
        definition(1, "genuine").checked().expect("valid"),
        "good-01",
    )
    .transport(genuine)
    .build()
    .expect("device");
    device.serve(Handlers::new());
    device.register().await.expect("register");
    device.set_attribute("level", json!(7)).await.expect("set");

    let _many_types = rogue(&net, "types-01", definition(2_000, "")).await;
    let _many_bytes = rogue(&net, "bytes-01", definition(1, &"x".repeat(3 << 20))).await;
    let client = Client::builder()
        .transport(net.session())
        .build()
        .await
        .expect("client");

    let e = client.describe("types-01").await.unwrap_err();
    assert_eq!(
        limit_error(&e),
        "the definition has 2000 named types, more than the limit of 1024 (limit `types`)"
    );
    assert!(client.thing("types-01").await.is_err());

    let e = client.describe("bytes-01").await.unwrap_err();
    let message = limit_error(&e);
    assert!(
        message.starts_with("the description has ")
            && message.ends_with("bytes, more than the limit of 2097152 (limit `bytes`)"),
        "{message}"
    );
    assert!(e.to_string().contains("limit-exceeded"), "{e}");

    // The client goes on working.
    let thing = client.thing("good-01").await.expect("the genuine thing");
    let reading = thing.read("level").await.expect("read");
    assert_eq!(reading.value, json!(7));
}

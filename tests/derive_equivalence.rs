//! A thing defined with `#[derive(SafeThing)]` and its TOML twin are the same thing: equal IR,
//! identical W3C Thing Description.

#[path = "derive/gardening_twin.rs"]
mod twin;

use safething::SafeThing;
use safething::ir::ThingId;
use safething::ir::export::{TdOptions, thing_description};

fn toml_definition() -> safething::ir::Definition {
    safething_codegen::load_str(
        "gardening_device.toml",
        include_str!("../examples/things/gardening_device.toml"),
    )
    .unwrap_or_else(|e| panic!("{}", e.render(false)))
    .definition
}

#[test]
fn derive_and_toml_give_the_same_ir() {
    let derived = twin::Garden::definition();
    let toml = toml_definition();
    assert_eq!(
        serde_json::to_value(&derived).unwrap(),
        serde_json::to_value(&toml).unwrap(),
        "as JSON"
    );
    assert_eq!(derived, toml);
    assert_eq!(twin::Garden::check().unwrap(), Vec::new());
}

#[test]
fn derive_and_toml_give_the_same_thing_description() {
    let id = ThingId::new("garden-01").unwrap();
    let options = TdOptions::default();
    let derived = thing_description(&twin::Garden::definition(), &id, &options);
    let toml = thing_description(&toml_definition(), &id, &options);
    assert_eq!(
        serde_json::to_string_pretty(&derived).unwrap(),
        serde_json::to_string_pretty(&toml).unwrap()
    );
}

#[test]
fn the_generated_device_publishes_the_derived_definition() {
    assert_eq!(
        twin::GardenDevice::definition(),
        twin::Garden::derived().definition()
    );
    assert_eq!(twin::GardenClient::definition(), &toml_definition());
}

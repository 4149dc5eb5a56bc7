//! A thing defined with `#[derive(SafeThing)]` and its TOML twin are the same thing: equal IR,
//! identical W3C Thing Description.

#[path = "derive/gardening_twin.rs"]
mod twin;

use safething::ir::ThingId;
use safething::ir::export::{TdOptions, thing_description};
use safething::{SafeThing, ThingClient};

fn toml_definition() -> safething::ir::Definition {
    safething_codegen::load_str(
        "gardening_device.toml",
        include_str!("../examples/things/gardening_device.toml"),
    )
    .unwrap_or_else(|e| panic!("{}", e.render(false)))
    .definition
    .into_definition()
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

/// The README's side-by-side example: the TOML lamp and the derived one are the same thing.
mod readme {
    use safething::SafeThing;

    #[derive(SafeThing)]
    #[safething(version = "1.0.0")]
    #[safething(event(name = "overheated", data = f64, access = "all"))]
    #[safething(action(name = "fade", input = Fade, timeout = "5s"))]
    pub struct Lamp {
        #[safething(unit = "percent", minimum = 0, maximum = 100, access = "all")]
        brightness: u8,
        #[safething(writable)]
        on: bool,
    }

    #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    #[schemars(inline)]
    pub struct Fade {
        #[schemars(range(max = 100))]
        target: u8,
        ms: u32,
    }

    #[test]
    fn the_readme_twins_are_equal() {
        let readme = include_str!("../README.md");
        let section = &readme[readme
            .find("## Two front ends")
            .expect("the README's front ends section")..];
        let start = section.find("```toml\n").expect("a TOML block") + "```toml\n".len();
        let end = start + section[start..].find("```").expect("the end of the block");
        let toml = safething_codegen::load_str("README.md", &section[start..end])
            .unwrap_or_else(|e| panic!("{}", e.render(false)))
            .definition;
        assert_eq!(&Lamp::definition(), toml.definition());
    }
}

use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    #[safething(minimum = 0, unit = "percent")]
    mode: Mode,
}

#[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
enum Mode {
    Warm,
    Cold,
}

fn main() {}

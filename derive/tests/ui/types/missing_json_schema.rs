use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0", event(name = "overheated", data = Heat))]
struct Lamp {
    on: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Heat {
    celsius: f64,
}

fn main() {}

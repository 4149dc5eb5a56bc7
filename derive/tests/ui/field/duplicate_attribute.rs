use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
struct Lamp {
    level: f64,
    #[safething(rename = "level")]
    other: f64,
}

fn main() {}

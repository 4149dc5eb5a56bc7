use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(event(name = "OverHeated"))]
struct Lamp {
    on: bool,
}

fn main() {}

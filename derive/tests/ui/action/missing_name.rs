use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(action(timeout = "5s"))]
struct Lamp {
    on: bool,
}

fn main() {}

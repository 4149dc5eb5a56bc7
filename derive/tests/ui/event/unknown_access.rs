use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(event(name = "overheated", access = "everyone"))]
struct Lamp {
    on: bool,
}

fn main() {}

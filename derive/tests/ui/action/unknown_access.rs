use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(action(name = "fade", access = "admin"))]
struct Lamp {
    on: bool,
}

fn main() {}

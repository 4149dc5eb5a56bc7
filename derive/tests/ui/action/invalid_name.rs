use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(action(name = "fade-in"))]
struct Lamp {
    on: bool,
}

fn main() {}

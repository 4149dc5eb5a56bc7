use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(action(name = "fade"), action(name = "fade", idempotent))]
struct Lamp {
    on: bool,
}

fn main() {}

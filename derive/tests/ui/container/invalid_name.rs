use safething::SafeThing;

#[derive(SafeThing)]
#[safething(name = "lamp_thing", version = "1.0.0")]
struct Lamp {
    on: bool,
}

fn main() {}

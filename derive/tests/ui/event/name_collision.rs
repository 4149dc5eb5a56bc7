use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(event(name = "overheated"))]
struct Lamp {
    emit_overheated: bool,
}

fn main() {}

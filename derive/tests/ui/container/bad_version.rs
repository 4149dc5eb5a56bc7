use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0")]
struct Lamp {
    on: bool,
}

fn main() {}

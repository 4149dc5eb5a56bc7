use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0", crate = "not a path")]
struct Lamp {
    on: bool,
}

fn main() {}

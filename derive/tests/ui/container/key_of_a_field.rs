use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0", history = 10)]
struct Lamp {
    on: bool,
}

fn main() {}

use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(title = "Lamp", version = "2.0.0")]
struct Lamp {
    on: bool,
}

fn main() {}

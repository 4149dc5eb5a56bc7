use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = "1.0.0")]
#[safething(action(name = "fade", timout = "5s"))]
struct Lamp {
    on: bool,
}

fn main() {}

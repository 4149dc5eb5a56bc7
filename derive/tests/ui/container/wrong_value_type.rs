use safething::SafeThing;

#[derive(SafeThing)]
#[safething(version = 1, title = Lamp)]
struct Lamp {
    on: bool,
}

fn main() {}
